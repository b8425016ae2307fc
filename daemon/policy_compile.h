/* SPDX-License-Identifier: MIT */
/*
 * The compiler: a pure function from a validated model to a compiled image
 * (include/podwall/image.h).  No I/O, no BPF.
 */
#ifndef PODWALL_POLICY_COMPILE_H
#define PODWALL_POLICY_COMPILE_H

#include "podwall/image.h"
#include "podwall/model.h"

struct pw_compile_opts {
	/* Service (ClusterIP) ranges: partitioned like ipBlocks and flagged
	 * PW_PEER_DEFER so a denied egress decision to them is deferred. */
	const struct pw_cidr *service_cidrs;
	size_t n_service_cidrs;
	/* Optional previous image: ids are kept stable where cheap (unused yet). */
	const struct pw_image *prev;
	/* Limits on the image (0 = abi.h's PW_MAX_*). */
	size_t max_eps;
	size_t max_prefixes;
	size_t max_pols;
	size_t max_ranges;
	size_t max_rules;
};

/*
 * Compile m into *ret_img.  opts may be NULL.  Returns 0, -E2BIG when a limit
 * is reached (the error is in diags, naming the object that reached it),
 * -ENOMEM.  Warnings (for example pods that are not endpoints) are not
 * recorded; the image's pods[].skip_reason says why.
 */
int pw_compile(const struct pw_model *m, const struct pw_compile_opts *opts,
	       struct pw_image **ret_img, struct pw_diags *diags);

#endif
