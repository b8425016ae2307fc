/* SPDX-License-Identifier: MIT */
/*
 * Evaluator backend over the live pinned maps: `podwallctl trace` without
 * --policy-dir.  The decision is decide.h's pw_decide_flow(), the same code
 * the BPF programs run, with pw_lookup_* served by bpf_map_lookup_elem() on
 * pins opened read-only (BPF_F_RDONLY) from a bpffs directory, in the slot
 * of the epoch read from pw_state_v1.
 */
#ifndef PODWALL_EVAL_MAPS_H
#define PODWALL_EVAL_MAPS_H

#include <stdint.h>

/* struct pw_side lives in decide.h, which wants its lookups defined first.
 * A file that only needs the types gets decide.h with lookups that always
 * miss (never called: nothing here calls the inline deciders).  A file that
 * includes decide.h itself with real lookups must do so before this. */
#ifndef PODWALL_DECIDE_H
#ifndef PW_INLINE
#define PW_INLINE inline
#endif
#define pw_lookup_ep(l, k) ((void)(l), (void)(k), (const struct pw_endpoint *)0)
#define pw_lookup_peer(l, k) ((void)(l), (void)(k), (const struct pw_peer_val *)0)
#define pw_lookup_pol(l, k) ((void)(l), (void)(k), (const struct pw_pol_val *)0)
#define pw_lookup_range(l, k) ((void)(l), (void)(k), (const struct pw_range_val *)0)
#include "podwall/decide.h"
#undef pw_lookup_ep
#undef pw_lookup_peer
#undef pw_lookup_pol
#undef pw_lookup_range
#endif

struct pw_eval_maps;

/* -ENOENT if nothing is installed there; -EPROTO for another ABI version. */
int pw_eval_maps_open(const char *bpffs, struct pw_eval_maps **ret);
void pw_eval_maps_close(struct pw_eval_maps *em);

/* The epoch and state flags in force now. */
int pw_eval_maps_state(struct pw_eval_maps *em, uint64_t *ret_epoch, uint32_t *ret_flags);

/* Decide src -> dst proto/dport against the generation in force.  Returns
 * 0; *ret_verdict gets the combined PW_VERDICT_*; the pw_side structs and
 * identities as in pw_decide_flow().  Not enforcing yet (no policy
 * written): both sides allow with PW_ALLOW_NOT_ISOLATED. */
int pw_eval_maps_flow(struct pw_eval_maps *em, const union pw_addr *src, const union pw_addr *dst,
		      uint8_t proto, uint16_t dport, struct pw_side *ret_egress,
		      struct pw_side *ret_ingress, uint32_t *ret_src_id, uint32_t *ret_dst_id,
		      uint8_t *ret_verdict, uint64_t *ret_epoch);

/* Look up one endpoint in the slot in force (for naming a pod in output). */
int pw_eval_maps_endpoint(struct pw_eval_maps *em, const union pw_addr *addr,
			  struct pw_endpoint *ret);

#endif
