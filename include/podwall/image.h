/* SPDX-License-Identifier: MIT */
/*
 * The compiled image: what policy_compile.c produces from the model (a pure
 * function: no I/O, no BPF) and what map_writer.c writes into the maps.
 *
 * The datapath arrays hold the ABI's own key/value structs with slot = 0;
 * the writer sets the slot.  Everything else explains the datapath contents
 * to people (trace, policy show, flow records).
 *
 * Ownership: one pw_image owns all of its memory; pw_image_free() frees it.
 */
#ifndef PODWALL_IMAGE_H
#define PODWALL_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "podwall/abi.h"

/* A pod address with its endpoint value.  The compiler leaves ifindex 0,
 * ep_id 0 and PW_EP_LOCAL clear; the daemon fills them from interface
 * discovery before writing. */
struct pw_img_ep {
	union pw_addr addr;
	struct pw_endpoint val;
	uint32_t pod; /* index into pods[] */
};

/* One prefix of the ipBlock partition (disjoint from every other). */
struct pw_img_prefix {
	union pw_addr addr; /* masked */
	uint8_t plen; /* 0..128 in the IPv4-mapped IPv6 space */
	struct pw_peer_val val;
};

struct pw_img_pol {
	struct pw_pol_key key; /* slot 0 */
	struct pw_pol_val val;
};

struct pw_img_range {
	struct pw_pol_key key; /* slot 0, port 0 */
	struct pw_range_val val;
};

struct pw_img_pod {
	char *ns;
	char *name;
	char *iface; /* podwall.io/interface annotation or NULL */
	char *node_name; /* spec.nodeName or NULL */
	uint32_t first_ep; /* its addresses: eps[first_ep .. first_ep + n_eps) */
	uint32_t n_eps;
	uint32_t identity; /* shared by all of its addresses */
	uint32_t set_id[2]; /* per PW_DIR_* */
	const char *skip_reason; /* not an endpoint: "no IP", "hostNetwork",
				    "phase Succeeded", ...; static string */
};

struct pw_img_policy {
	char *ns;
	char *name;
	char *file; /* where it was defined */
	int line;
	int audit; /* podwall.io/audit: "true" */
	int isolates[2]; /* policyTypes (after defaulting) include ingress / egress */
	uint32_t n_rules[2]; /* rules per direction */
	uint32_t n_entries; /* pw_pol_v1 + pw_range_v1 entries it produced */
	uint32_t n_selected; /* pods its podSelector selects */
};

/* rule ids start at 1; rules[id - 1] */
struct pw_img_rule {
	uint32_t policy; /* index into policies[] */
	uint8_t dir; /* PW_DIR_* */
	uint32_t index; /* position in spec.ingress / spec.egress */
	char *text; /* short human summary: "from ns=y pod=a, TCP 80" */
};

struct pw_img_set {
	uint32_t id;
	uint8_t dir;
	uint32_t *policies; /* indexes into policies[] that isolate its pods */
	uint32_t n_policies;
	uint32_t flags; /* PW_SET_* */
};

struct pw_img_identity {
	uint32_t id;
	char *text; /* "pod x/a (+3 more)", "ipBlock 10.0.0.0/8 except ..." */
};

struct pw_image {
	struct pw_img_ep *eps;
	size_t n_eps;
	struct pw_img_prefix *prefixes;
	size_t n_prefixes;
	struct pw_img_pol *pols;
	size_t n_pols;
	struct pw_img_range *ranges;
	size_t n_ranges;

	struct pw_img_pod *pods;
	size_t n_pods;
	struct pw_img_policy *policies;
	size_t n_policies;
	struct pw_img_rule *rules;
	size_t n_rules;
	struct pw_img_set *sets;
	size_t n_sets;
	struct pw_img_identity *ids;
	size_t n_ids;
};

void pw_image_free(struct pw_image *img);

#endif
