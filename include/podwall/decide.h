/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The policy decision, written once and compiled twice: into the BPF
 * programs (bpf/lib/policy.h) and into the user-space evaluator behind
 * `podwallctl trace` (daemon/eval.c), so that trace answers with exactly the
 * lookups the datapath does.  The lookup order is documented in abi.h.
 *
 * The including file defines, before including this header:
 *   PW_INLINE   the inline attribute (__always_inline in BPF)
 *   const struct pw_endpoint *pw_lookup_ep(void *lctx, const struct pw_ep_key *k);
 *   const struct pw_peer_val *pw_lookup_peer(void *lctx, const struct pw_peer_key *k);
 *   const struct pw_pol_val  *pw_lookup_pol(void *lctx, const struct pw_pol_key *k);
 *   const struct pw_range_val *pw_lookup_range(void *lctx, const struct pw_pol_key *k);
 * Each returns NULL on a miss; a returned pointer must stay valid until the
 * next call of the same function.  lctx is passed through untouched (NULL in
 * BPF; the evaluator's backend in user space).
 */
#ifndef PODWALL_DECIDE_H
#define PODWALL_DECIDE_H

#include "podwall/abi.h"

/* One side's decision: egress at the source, or ingress at the destination. */
struct pw_side {
	__u32 rule_id; /* allowing rule, PW_RULE_NONE for implicit decisions and denials */
	__u8 verdict; /* enum pw_verdict, audit mode applied */
	__u8 reason; /* enum pw_reason */
	__u8 dir; /* PW_DIR_* */
	__u8 pad;
};

/* TCP, UDP and SCTP keep their number; everything else is PW_PROTO_OTHER. */
static PW_INLINE __u8 pw_proto_class(__u8 proto)
{
	if (proto == PW_PROTO_TCP || proto == PW_PROTO_UDP || proto == PW_PROTO_SCTP)
		return proto;
	return PW_PROTO_OTHER;
}

/* The set hint saying that no port-0 (every port) entry exists for a
 * protocol class (pw_proto_class()). */
static PW_INLINE __u32 pw_no_port0_flag(__u8 proto_class)
{
	switch (proto_class) {
	case PW_PROTO_TCP:
		return PW_SET_NO_PORT0_TCP;
	case PW_PROTO_UDP:
		return PW_SET_NO_PORT0_UDP;
	case PW_PROTO_SCTP:
		return PW_SET_NO_PORT0_SCTP;
	default:
		return PW_SET_NO_PORT0_OTHER;
	}
}

/*
 * Whether the set's hints prove that step 3 cannot find an entry for this
 * protocol class and port, for any peer: every lookup pw_match_ports() would
 * make is either skipped by a hint or, for the exact port, excluded by the
 * port summary (abi.h, PW_SET_PORT_BLOOM).  port is 0 for PW_PROTO_OTHER.
 */
static PW_INLINE int pw_ports_impossible(__u32 hints, __u8 proto_class, __u16 port)
{
	if (!(hints & pw_no_port0_flag(proto_class)))
		return 0; /* an every-port entry may exist */
	if (!port)
		return 1; /* PW_PROTO_OTHER (or port 0): only port-0 entries could match */
	if ((hints & PW_SET_RANGES) || !(hints & PW_SET_PORT_BLOOM))
		return 0;
	return !(hints & pw_port_bloom_bit(proto_class, port));
}

/* Identity of an address that is not a known pod or node address. */
static PW_INLINE __u32 pw_prefix_identity(void *lctx, __u32 slot, const union pw_addr *a,
					  __u32 *ret_peer_flags)
{
	struct pw_peer_key pk = {};
	const struct pw_peer_val *pv;

	pk.prefixlen = 32 + 128;
	pk.slot = slot;
	pk.addr = *a;
	pv = pw_lookup_peer(lctx, &pk);
	if (pv) {
		*ret_peer_flags = pv->flags;
		return pv->identity;
	}
	*ret_peer_flags = 0;
	return PW_ID_WORLD;
}

/*
 * Step 3 for one peer identity (already in k->peer_id): exact port, any
 * port (unless the set has none for this protocol), then ranges.  Returns the allowing rule id or
 * PW_RULE_NONE.
 */
static PW_INLINE __u32 pw_match_ports(void *lctx, struct pw_pol_key *k, __u16 port, __u32 hints)
{
	const struct pw_pol_val *v;
	const struct pw_range_val *rv;
	__u32 i;

	if (port) {
		k->port = port;
		v = pw_lookup_pol(lctx, k);
		if (v)
			return v->rule_id;
	}
	k->port = 0;
	if (!(hints & pw_no_port0_flag(k->proto))) {
		v = pw_lookup_pol(lctx, k);
		if (v)
			return v->rule_id;
	}
	if (!(hints & PW_SET_RANGES) || !port)
		return PW_RULE_NONE;
	rv = pw_lookup_range(lctx, k);
	if (!rv)
		return PW_RULE_NONE;
	for (i = 0; i < PW_MAX_RANGES; i++) {
		if (i >= rv->n)
			break;
		if (port >= rv->r[i].lo && port <= rv->r[i].hi)
			return rv->r[i].rule_id;
	}
	return PW_RULE_NONE;
}

/*
 * Decide direction `dir` of a new flow for endpoint `ep` (the pod whose
 * policy applies) against a peer of identity `peer_id`, for IP protocol
 * `proto` and destination port `port` (the server's port).  Audit mode is
 * applied: a denial becomes PW_VERDICT_AUDIT when the global state or the
 * endpoint says so.
 */
static PW_INLINE void pw_decide_dir(void *lctx, __u32 slot, __u32 state_flags,
				    const struct pw_endpoint *ep, __u8 dir, __u32 peer_id,
				    __u8 proto, __u16 port, struct pw_side *ret)
{
	struct pw_pol_key k = {};
	__u32 set, hints, rule = PW_RULE_NONE, audit_flag;

	dir &= 1;
	set = ep->set_id[dir];
	hints = ep->set_flags[dir];
	ret->dir = dir;
	ret->rule_id = PW_RULE_NONE;
	ret->verdict = PW_VERDICT_ALLOW;
	ret->pad = 0;
	if (!set) {
		ret->reason = PW_ALLOW_NOT_ISOLATED;
		return;
	}
	if (peer_id == PW_ID_HOST) {
		ret->reason = PW_ALLOW_HOST;
		return;
	}
	k.slot = slot;
	k.set_id = set;
	k.dir = dir;
	k.proto = pw_proto_class(proto);
	if (k.proto == PW_PROTO_OTHER)
		port = 0;
	if (pw_ports_impossible(hints, k.proto, port))
		goto deny;
	if (hints & PW_SET_PEER) {
		k.peer_id = peer_id;
		rule = pw_match_ports(lctx, &k, port, hints);
	}
	if (rule == PW_RULE_NONE && (hints & PW_SET_ANY)) {
		k.peer_id = PW_ID_ANY;
		rule = pw_match_ports(lctx, &k, port, hints);
	}
	if (rule != PW_RULE_NONE) {
		ret->reason = PW_ALLOW_POLICY;
		ret->rule_id = rule;
		return;
	}
deny:
	ret->reason = PW_DROP_POLICY;
	audit_flag = dir == PW_DIR_INGRESS ? PW_EP_AUDIT_IN : PW_EP_AUDIT_OUT;
	if ((state_flags & PW_STATE_AUDIT) || (ep->flags & audit_flag))
		ret->verdict = PW_VERDICT_AUDIT;
	else
		ret->verdict = PW_VERDICT_DROP;
}

/*
 * The combined decision for a new flow src -> dst, as Kubernetes defines it:
 * egress allowed at the source pod AND ingress allowed at the destination
 * pod.  Every pod endpoint in the maps carries its policy sets, local or
 * not, so this answers for any pair; the datapath calls pw_decide_dir()
 * for the local side(s) only.  A side whose address is not a pod (node,
 * ipBlock, unknown) has no policy of its own: its side is allowed with
 * PW_REASON_NONE, or PW_ALLOW_HOST for the node.
 *
 * ret_src_id/ret_dst_id get the identities used.  Returns the combined
 * verdict: DROP if either side drops, else AUDIT if either side audits,
 * else ALLOW.
 */
static PW_INLINE __u8 pw_decide_flow(void *lctx, __u32 slot, __u32 state_flags,
				     const union pw_addr *src, const union pw_addr *dst, __u8 proto,
				     __u16 dport, struct pw_side *egress, struct pw_side *ingress,
				     __u32 *ret_src_id, __u32 *ret_dst_id)
{
	struct pw_ep_key ek = {};
	const struct pw_endpoint *ep;
	struct pw_endpoint src_ep = {}, dst_ep = {};
	int src_is_pod = 0, dst_is_pod = 0;
	__u32 src_id, dst_id, pflags;

	ek.slot = slot;
	ek.addr = *src;
	ep = pw_lookup_ep(lctx, &ek);
	if (ep) {
		src_ep = *ep;
		src_id = ep->identity;
		src_is_pod = !(ep->flags & PW_EP_HOST);
	} else {
		src_id = pw_prefix_identity(lctx, slot, src, &pflags);
	}
	ek.addr = *dst;
	ep = pw_lookup_ep(lctx, &ek);
	if (ep) {
		dst_ep = *ep;
		dst_id = ep->identity;
		dst_is_pod = !(ep->flags & PW_EP_HOST);
	} else {
		dst_id = pw_prefix_identity(lctx, slot, dst, &pflags);
	}
	*ret_src_id = src_id;
	*ret_dst_id = dst_id;

	if (src_is_pod) {
		pw_decide_dir(lctx, slot, state_flags, &src_ep, PW_DIR_EGRESS, dst_id, proto, dport,
			      egress);
	} else {
		egress->dir = PW_DIR_EGRESS;
		egress->rule_id = PW_RULE_NONE;
		egress->verdict = PW_VERDICT_ALLOW;
		egress->reason = src_id == PW_ID_HOST ? PW_ALLOW_HOST : PW_REASON_NONE;
		egress->pad = 0;
	}
	if (dst_is_pod) {
		pw_decide_dir(lctx, slot, state_flags, &dst_ep, PW_DIR_INGRESS, src_id, proto,
			      dport, ingress);
	} else {
		ingress->dir = PW_DIR_INGRESS;
		ingress->rule_id = PW_RULE_NONE;
		ingress->verdict = PW_VERDICT_ALLOW;
		ingress->reason = dst_id == PW_ID_HOST ? PW_ALLOW_HOST : PW_REASON_NONE;
		ingress->pad = 0;
	}
	if (egress->verdict == PW_VERDICT_DROP || ingress->verdict == PW_VERDICT_DROP)
		return PW_VERDICT_DROP;
	if (egress->verdict == PW_VERDICT_AUDIT || ingress->verdict == PW_VERDICT_AUDIT)
		return PW_VERDICT_AUDIT;
	return PW_VERDICT_ALLOW;
}

#endif
