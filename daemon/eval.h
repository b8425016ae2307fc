/* SPDX-License-Identifier: MIT */
/*
 * The user-space evaluator: decide.h's decision over a backend that answers
 * the four datapath lookups.  Backends: the compiled image (eval.c, used by
 * `trace --policy-dir`) and the live pinned maps (eval_maps.c).
 */
#ifndef PODWALL_EVAL_H
#define PODWALL_EVAL_H

#include "podwall/abi.h"
#include "podwall/image.h"

/* decide.h's lookups, defined in eval.c: lctx is a struct pw_eval_backend,
 * whose ops answer them. */
#ifndef PW_INLINE
#define PW_INLINE inline
#endif
const struct pw_endpoint *pw_lookup_ep(void *lctx, const struct pw_ep_key *k);
const struct pw_peer_val *pw_lookup_peer(void *lctx, const struct pw_peer_key *k);
const struct pw_pol_val *pw_lookup_pol(void *lctx, const struct pw_pol_key *k);
const struct pw_range_val *pw_lookup_range(void *lctx, const struct pw_pol_key *k);
#include "podwall/decide.h"

/* Same contract as decide.h's pw_lookup_*: NULL on a miss; the returned
 * pointer stays valid until the next call of the same function. */
struct pw_eval_ops {
	const struct pw_endpoint *(*ep)(void *ctx, const struct pw_ep_key *k);
	const struct pw_peer_val *(*peer)(void *ctx, const struct pw_peer_key *k);
	const struct pw_pol_val *(*pol)(void *ctx, const struct pw_pol_key *k);
	const struct pw_range_val *(*range)(void *ctx, const struct pw_pol_key *k);
};

struct pw_eval_backend {
	const struct pw_eval_ops *ops;
	void *ctx;
	uint32_t slot; /* slot to read (0 for an image) */
	uint32_t state_flags; /* PW_STATE_* (PW_STATE_AUDIT for global audit) */
};

struct pw_flow_result {
	uint8_t verdict; /* combined enum pw_verdict */
	struct pw_side egress; /* at the source */
	struct pw_side ingress; /* at the destination */
	uint32_t src_id;
	uint32_t dst_id;
};

/* Decide a new flow src -> dst:dport/proto exactly as the datapath does. */
void pw_eval_flow(const struct pw_eval_backend *b, const union pw_addr *src,
		  const union pw_addr *dst, uint8_t proto, uint16_t dport,
		  struct pw_flow_result *ret);

/* Image backend: build lookup tables over img (which must outlive it). */
int pw_eval_image_open(const struct pw_image *img, struct pw_eval_backend *ret_backend);
void pw_eval_image_close(struct pw_eval_backend *b);

/* Helpers for explaining results from an image. */
const struct pw_img_rule *pw_image_rule(const struct pw_image *img, uint32_t rule_id);
const struct pw_img_set *pw_image_set(const struct pw_image *img, uint32_t set_id);
const struct pw_img_identity *pw_image_identity(const struct pw_image *img, uint32_t id);
/* Index of the pod owning address a, or -1. */
long pw_image_pod_by_addr(const struct pw_image *img, const union pw_addr *a);
/* Short stable name of an enum pw_reason ("policy", "not-isolated", ...). */
const char *pw_reason_name(unsigned int reason);

long pw_image_pod_by_name(const struct pw_image *img, const char *ns, const char *name);

#endif
