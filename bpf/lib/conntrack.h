/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Conntrack (abi.h pw_ct_v1): two entries per flow, the original direction
 * and the reply, each keyed by the tuple on the wire and the hook that will
 * see it, so one lookup classifies a packet.  An entry doubles as the flow's
 * verdict cache: it records the policy generation it was decided under.
 *
 * Timeouts (checked on lookup; the LRU reclaims what is never seen again):
 *   TCP: SYN seen, no reply 60 s; established 6 h; FIN or RST seen 10 s.
 *   UDP, SCTP: unreplied 60 s, replied 180 s.  ICMP: 30 s.  Others: 60 s.
 * last_seen is written at most once a second per entry, to keep the hot
 * path free of cache-line bouncing between CPUs.
 */
#ifndef PW_BPF_CONNTRACK_H
#define PW_BPF_CONNTRACK_H

#include "lib/maps.h"
#include "lib/parse.h"

#define PW_CT_TCP_EST_NS (6ull * 3600 * PW_NS)
#define PW_CT_TCP_CLOSE_NS (10ull * PW_NS)
#define PW_CT_NEW_NS (60ull * PW_NS)
#define PW_CT_REPLIED_NS (180ull * PW_NS)
#define PW_CT_ICMP_NS (30ull * PW_NS)
#define PW_CT_REFRESH_NS PW_NS

static __always_inline void pw_ct_key(struct pw_ct_key *k, const union pw_addr *src,
				      const union pw_addr *dst, __u16 sport, __u16 dport,
				      __u8 proto, __u8 hook)
{
	k->src = *src;
	k->dst = *dst;
	k->sport = sport;
	k->dport = dport;
	k->proto = proto;
	k->hook = hook;
	k->pad = 0;
}

/* The key of the same flow seen in the other direction at hook `hook`. */
static __always_inline void pw_ct_key_rev(struct pw_ct_key *r, const struct pw_ct_key *k, __u8 hook)
{
	pw_ct_key(r, &k->dst, &k->src, k->dport, k->sport, k->proto, hook);
}

static __always_inline __u64 pw_ct_timeout(__u8 proto, __u8 flags)
{
	switch (proto) {
	case PW_PROTO_TCP:
		if (flags & PW_CT_F_CLOSING)
			return PW_CT_TCP_CLOSE_NS;
		return (flags & PW_CT_F_SEEN_REPLY) ? PW_CT_TCP_EST_NS : PW_CT_NEW_NS;
	case PW_PROTO_UDP:
	case PW_PROTO_SCTP:
		return (flags & PW_CT_F_SEEN_REPLY) ? PW_CT_REPLIED_NS : PW_CT_NEW_NS;
	case PW_PROTO_ICMP:
	case PW_PROTO_ICMPV6:
		return PW_CT_ICMP_NS;
	default:
		return PW_CT_NEW_NS;
	}
}

/*
 * The partner of an entry: the same flow's entry for the other direction.
 * Flows decided at FROM_POD and UPLINK keep their reply at TO_POD; flows
 * decided at TO_POD keep theirs at FROM_POD.  A REPLY entry at TO_POD can
 * therefore belong to a FROM_POD or an UPLINK flow: both are tried.  Only
 * rare paths (expiry, first reply, FIN/RST, revocation) look a partner up.
 */
static __always_inline struct pw_ct_val *
pw_ct_partner(const struct pw_ct_key *k, const struct pw_ct_val *v, struct pw_ct_key *rk)
{
	struct pw_ct_val *pv;

	if (k->hook == PW_HOOK_TO_POD) {
		pw_ct_key_rev(rk, k, PW_HOOK_FROM_POD);
		pv = bpf_map_lookup_elem(&pw_ct_v1, rk);
		if (pv || v->dir == PW_CT_ORIG)
			return pv;
		rk->hook = PW_HOOK_UPLINK;
		return bpf_map_lookup_elem(&pw_ct_v1, rk);
	}
	pw_ct_key_rev(rk, k, PW_HOOK_TO_POD);
	return bpf_map_lookup_elem(&pw_ct_v1, rk);
}

/* The two entries are refreshed independently and a one-way stream keeps
 * only one of them fresh: a flow is alive while either entry is. */
static __always_inline int pw_ct_expired(const struct pw_ct_key *k, struct pw_ct_val *v, __u64 now)
{
	struct pw_ct_key rk;
	struct pw_ct_val *pv;
	__u64 to = pw_ct_timeout(k->proto, v->flags);

	if (now - v->last_seen_ns <= to)
		return 0;
	pv = pw_ct_partner(k, v, &rk);
	if (pv && now - pv->last_seen_ns <= to) {
		v->last_seen_ns = pv->last_seen_ns;
		return 0;
	}
	return 1;
}

/* Set flag on an entry and its partner, once per flow and flag. */
static __always_inline void pw_ct_flag_both(const struct pw_ct_key *k, struct pw_ct_val *v,
					    __u8 flag)
{
	struct pw_ct_key rk;
	struct pw_ct_val *pv;

	if (v->flags & flag)
		return;
	v->flags |= flag;
	pv = pw_ct_partner(k, v, &rk);
	if (pv)
		pv->flags |= flag;
}

static __always_inline void pw_ct_delete_both(const struct pw_ct_key *k, struct pw_ct_val *v)
{
	struct pw_ct_key rk;

	if (pw_ct_partner(k, v, &rk))
		bpf_map_delete_elem(&pw_ct_v1, &rk);
	bpf_map_delete_elem(&pw_ct_v1, k);
}

/*
 * Create a flow: the ORIG entry under key k, and (when reply_hook is not
 * 0xff) the REPLY entry for the reversed tuple at reply_hook.
 */
static __always_inline void pw_ct_create(const struct pw_ct_key *k, __u8 reply_hook, __u64 now,
					 __u32 gen, __u32 rule_id, __u32 rule_id2, __u32 ep_id,
					 __u8 policy_dir, __u8 flags, __u8 reason)
{
	struct pw_ct_val v = {};
	struct pw_ct_key rk;

	v.created_ns = now;
	v.last_seen_ns = now;
	v.gen = gen;
	v.rule_id = rule_id;
	v.rule_id2 = rule_id2;
	v.ep_id = ep_id;
	v.dir = PW_CT_ORIG;
	v.policy_dir = policy_dir;
	v.flags = flags;
	v.reason = reason;
	bpf_map_update_elem(&pw_ct_v1, k, &v, BPF_ANY);
	if (reply_hook == 0xff)
		return;
	v.dir = PW_CT_REPLY;
	pw_ct_key_rev(&rk, k, reply_hook);
	bpf_map_update_elem(&pw_ct_v1, &rk, &v, BPF_ANY);
}

#endif
