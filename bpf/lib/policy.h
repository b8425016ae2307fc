/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The policy decision over the maps: the lookups decide.h asks for, and the
 * datapath's view of an address (identity and flags).  decide.h is the same
 * code the user-space evaluator runs.
 */
#ifndef PW_BPF_POLICY_H
#define PW_BPF_POLICY_H

#include "lib/maps.h"

#define PW_INLINE __always_inline

static __always_inline const struct pw_endpoint *pw_lookup_ep(void *lctx, const struct pw_ep_key *k)
{
	return bpf_map_lookup_elem(&pw_ep_v1, k);
}

static __always_inline const struct pw_peer_val *pw_lookup_peer(void *lctx,
								const struct pw_peer_key *k)
{
	return bpf_map_lookup_elem(&pw_peer_v1, k);
}

static __always_inline const struct pw_pol_val *pw_lookup_pol(void *lctx,
							      const struct pw_pol_key *k)
{
	return bpf_map_lookup_elem(&pw_pol_v1, k);
}

static __always_inline const struct pw_range_val *pw_lookup_range(void *lctx,
								  const struct pw_pol_key *k)
{
	return bpf_map_lookup_elem(&pw_range_v1, k);
}

#include "podwall/decide.h"

static __always_inline struct pw_endpoint *pw_ep_lookup(__u32 slot, const union pw_addr *a)
{
	struct pw_ep_key k = { .slot = slot, .addr = *a };

	return bpf_map_lookup_elem(&pw_ep_v1, &k);
}

static __always_inline struct pw_endpoint *pw_if_lookup(__u32 slot, __u32 ifindex)
{
	struct pw_if_key k = { .slot = slot, .ifindex = ifindex };

	return bpf_map_lookup_elem(&pw_if_v1, &k);
}

/* Identity of a peer address: a known pod or node address, else its ipBlock
 * partition prefix, else world.  *ret_pflags gets the prefix's PW_PEER_*. */
static __always_inline __u32 pw_identity(__u32 slot, const union pw_addr *a, __u32 *ret_pflags)
{
	const struct pw_endpoint *ep = pw_ep_lookup(slot, a);

	if (ep) {
		*ret_pflags = 0;
		return ep->identity;
	}
	return pw_prefix_identity(NULL, slot, a, ret_pflags);
}

/* What pw_node_class() says of an address. */
#define PW_NODE_UNKNOWN (-1) /* a list is incomplete: ask the hash maps */
#define PW_NODE_OTHER 0 /* neither */
#define PW_NODE_HOST 1 /* one of the node's addresses */
#define PW_NODE_DEFER 2 /* in a service prefix (egress only) */

/* The node's addresses and, with `defer`, the service prefixes
 * (pw_host_v1), without a hash lookup. */
static __always_inline int pw_node_class(__u32 slot, const union pw_addr *a, int defer)
{
	const struct pw_hosts *h;
	__u32 key = slot & 1, i, need = PW_HOSTS_COMPLETE;

	if (defer)
		need |= PW_HOSTS_DEFER_COMPLETE;
	h = bpf_map_lookup_elem(&pw_host_v1, &key);
	if (!h || (h->flags & need) != need)
		return PW_NODE_UNKNOWN;
	for (i = 0; i < PW_MAX_HOST_ADDRS; i++) {
		if (i >= h->n)
			break;
		if (h->addr[i].w[0] == a->w[0] && h->addr[i].w[1] == a->w[1] &&
		    h->addr[i].w[2] == a->w[2] && h->addr[i].w[3] == a->w[3])
			return PW_NODE_HOST;
	}
	if (!defer)
		return PW_NODE_OTHER;
	for (i = 0; i < PW_MAX_DEFER_PREFIXES; i++) {
		const struct pw_prefix_mask *d = &h->defer[i];

		if (i >= h->n_defer)
			break;
		if ((a->w[0] & d->mask.w[0]) == d->addr.w[0] &&
		    (a->w[1] & d->mask.w[1]) == d->addr.w[1] &&
		    (a->w[2] & d->mask.w[2]) == d->addr.w[2] &&
		    (a->w[3] & d->mask.w[3]) == d->addr.w[3])
			return PW_NODE_DEFER;
	}
	return PW_NODE_OTHER;
}

/* What pw_decide_local() learnt about the peer address on the way. */
#define PW_PEER_UNKNOWN 0 /* not looked up (the direction is not isolated) */
#define PW_PEER_NOT_EP 1 /* not in pw_ep_v1 */
#define PW_PEER_EP 2 /* in pw_ep_v1: *ret_peer holds its value */

/* Decide one direction of a flow for the local endpoint ep against peer
 * address `peer`.  A denied egress to a PW_PEER_DEFER prefix becomes an
 * allow with PW_ALLOW_DEFERRED: the real destination is not known yet.
 * *ret_peer_state (PW_PEER_*) and *ret_peer let the caller skip looking
 * the peer's endpoint up a second time. */
static __always_inline void pw_decide_local(__u32 slot, __u32 state_flags,
					    const struct pw_endpoint *ep, __u8 dir,
					    const union pw_addr *peer, __u8 proto, __u16 port,
					    struct pw_side *ret, struct pw_endpoint *ret_peer,
					    __u32 *ret_peer_state)
{
	__u32 pflags = 0, id = PW_ID_WORLD;

	*ret_peer_state = PW_PEER_UNKNOWN;
	/* A port no rule of the set names: the peer's identity cannot matter,
	 * only whether it is the node (always allowed) or, for egress, a
	 * service address (the decision is deferred). */
	if (ep->set_id[dir & 1] &&
	    pw_ports_impossible(ep->set_flags[dir & 1], pw_proto_class(proto),
				pw_proto_class(proto) == PW_PROTO_OTHER ? 0 : port)) {
		int cls = pw_node_class(slot, peer, dir == PW_DIR_EGRESS);

		if (cls != PW_NODE_UNKNOWN) {
			pw_decide_dir(NULL, slot, state_flags, ep, dir,
				      cls == PW_NODE_HOST ? PW_ID_HOST : PW_ID_WORLD, proto, port,
				      ret);
			if (cls == PW_NODE_DEFER && ret->reason == PW_DROP_POLICY) {
				ret->verdict = PW_VERDICT_ALLOW;
				ret->reason = PW_ALLOW_DEFERRED;
			}
			return;
		}
	}
	if (ep->set_id[dir & 1]) {
		const struct pw_endpoint *pe = pw_ep_lookup(slot, peer);

		if (pe) {
			*ret_peer = *pe;
			*ret_peer_state = PW_PEER_EP;
			id = pe->identity;
		} else {
			*ret_peer_state = PW_PEER_NOT_EP;
			id = pw_prefix_identity(NULL, slot, peer, &pflags);
		}
	}
	pw_decide_dir(NULL, slot, state_flags, ep, dir, id, proto, port, ret);
	if (ret->reason == PW_DROP_POLICY && dir == PW_DIR_EGRESS && (pflags & PW_PEER_DEFER)) {
		ret->verdict = PW_VERDICT_ALLOW;
		ret->reason = PW_ALLOW_DEFERRED;
	}
}

#endif
