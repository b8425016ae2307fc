/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The datapath's decisions, one function per hook, shared by the tc and XDP
 * entry points (docs/datapath.md describes the order of the checks).
 *
 *  pw_pod_hook(FROM_POD)  what a pod sends (host-veth tc ingress or XDP):
 *                         anti-spoofing, then the pod's egress policy.
 *  pw_pod_hook(TO_POD)    what is delivered to a pod (host-veth tc egress):
 *                         the pod's ingress policy, and the egress policy of
 *                         a local source whose decision was deferred.
 *  pw_uplink_hook         uplink tc egress: deferred egress of local pods to
 *                         remote destinations (after DNAT).
 *  pw_xdp_prefilter       uplink XDP: early drop of what no local pod's
 *                         ingress policy admits.
 *
 * The epoch is read once per packet and every lookup uses its slot.
 */
#ifndef PW_BPF_HOOKS_H
#define PW_BPF_HOOKS_H

#include "lib/ctx.h"
#include "lib/maps.h"
#include "lib/parse.h"
#include "lib/policy.h"
#include "lib/conntrack.h"
#include "lib/counters.h"
#include "lib/events.h"

/* What happened to one packet: counted, reported and enforced by pw_finish. */
struct pw_res {
	__u32 ep_id;
	__u32 rule_id;
	__u32 rule_id2;
	__u8 verdict; /* enum pw_verdict */
	__u8 reason;
	__u8 dir; /* PW_DIR_* counted and reported */
	__u8 new_flow; /* a flow was created (event with PW_STATE_LOG_ALLOW) */
};

/* One packet's view of the global state. */
struct pw_env {
	const struct pw_state *st;
	__u32 slot;
	__u32 gen;
	__u32 flags;
	__u64 now;
};

static __always_inline int pw_env_load(struct pw_env *e)
{
	__u32 zero = 0;
	__u64 epoch;

	e->st = bpf_map_lookup_elem(&pw_state_v1, &zero);
	if (!e->st)
		return -1;
	epoch = READ_ONCE(e->st->epoch);
	e->slot = epoch & 1;
	e->gen = (__u32)epoch;
	e->flags = READ_ONCE(e->st->flags);
	e->now = 0;
	return 0;
}

/*
 * Global subprograms.  The verifier checks a global (non-static, noinline)
 * function once, on its own, knowing only its arguments' types, instead of
 * once for every path of the caller that reaches it; the caller continues
 * with the callee's writes to its arguments as unknown values.  This keeps
 * the parser's many outcomes from multiplying the states of the decision
 * code after it.  Arguments are the program context, scalars and pointers
 * to the caller's stack (the verifier passes them as nullable memory of
 * the argument's size, hence the NULL checks).
 */

/* Count, report (rate-limited) and return PW_PASS or PW_DROP. */
__noinline int pw_finish_g(const struct pw_evctx *x, const struct pw_pkt *p, struct pw_res *r)
{
	__u8 type = 0;

	if (!x || !p || !r)
		return PW_PASS;
	/* Global audit mode passes every would-be drop, whatever the reason. */
	if (r->verdict == PW_VERDICT_DROP && (x->flags & PW_STATE_AUDIT))
		r->verdict = PW_VERDICT_AUDIT;
	pw_count(r->ep_id, r->dir, r->verdict, r->reason, x->len);
	if (r->verdict == PW_VERDICT_ALLOW) {
		pw_count_rule(r->rule_id, x->len);
		pw_count_rule(r->rule_id2, x->len);
		if (r->new_flow && (x->flags & PW_STATE_LOG_ALLOW))
			type = PW_EV_NEW_FLOW;
	} else {
		type = r->verdict == PW_VERDICT_DROP ? PW_EV_DROP : PW_EV_AUDIT;
	}
	if (type)
		pw_event(x, p, type, r->verdict, r->reason, r->dir, r->ep_id,
			 r->rule_id ? r->rule_id : r->rule_id2);
	return r->verdict == PW_VERDICT_DROP ? PW_DROP : PW_PASS;
}

static __always_inline int pw_finish(const struct pw_env *e, const struct pw_ctx *c,
				     const struct pw_pkt *p, struct pw_res *r)
{
	struct pw_evctx x;

	x.len = c->len;
	x.ifindex = c->ifindex;
	x.rate = e->st->events_per_sec;
	x.burst = e->st->events_burst;
	x.gen = e->gen;
	x.flags = e->flags;
	x.hook = c->hook;
	x.pad[0] = x.pad[1] = x.pad[2] = 0;
	return pw_finish_g(&x, p, r);
}

/*
 * A drop under a flood: when the event bucket is empty and this drop would
 * not read the clock (events.h), pw_finish() would only count it and the
 * suppression; do that here and save the call.  Not for audit (the
 * caller's verdict is a plain drop).
 */
static __always_inline int pw_drop_counted(const struct pw_env *e, const struct pw_ctx *c,
					   const struct pw_pkt *p, struct pw_res *r)
{
	__u32 zero = 0;
	struct pw_rl *rl = bpf_map_lookup_elem(&pw_rl_v1, &zero);

	if (rl && rl->tokens < PW_NS && (rl->suppressed % PW_RL_CLOCK_EVERY) != 0 &&
	    !(e->flags & PW_STATE_AUDIT)) {
		pw_count(r->ep_id, r->dir, PW_VERDICT_DROP, r->reason, c->len);
		rl->suppressed++;
		return PW_DROP;
	}
	return pw_finish(e, c, p, r);
}

/* The parser, for this object's context type (PW_CTX_XDP: struct xdp_md). */
#ifdef PW_CTX_XDP
__noinline int pw_parse_g(struct xdp_md *ctx, struct pw_pkt *p)
{
	struct pw_ctx c;

	if (!p)
		return PW_DROP_MALFORMED;
	c.data = (void *)(long)ctx->data;
	c.data_end = (void *)(long)ctx->data_end;
	return pw_parse(&c, p);
}
#else
__noinline int pw_parse_g(struct __sk_buff *ctx, struct pw_pkt *p)
{
	struct pw_ctx c;

	if (!p)
		return PW_DROP_MALFORMED;
	c.data = (void *)(long)ctx->data;
	c.data_end = (void *)(long)ctx->data_end;
	return pw_parse(&c, p);
}
#endif

/* The packet's headers: the commonest inline, the rest by the global parser. */
static __always_inline int pw_parse_fast(struct pw_ctx *c, struct pw_pkt *p)
{
	return pw_parse_tcp(c, p) ? 0 : pw_parse_g(c->raw, p);
}

/* pw_decide_local()'s arguments, copied to the stack for a global call. */
struct pw_dreq {
	struct pw_endpoint ep;
	union pw_addr peer;
	__u32 slot;
	__u32 state_flags;
	__u16 port;
	__u8 dir;
	__u8 proto;
};

/* The decision, and the peer's endpoint if it was looked up (PW_PEER_*). */
struct pw_dres {
	struct pw_side s;
	struct pw_endpoint peer;
	__u32 peer_state;
};

__noinline int pw_decide_g(const struct pw_dreq *q, struct pw_dres *r)
{
	if (!q || !r)
		return 0;
	pw_decide_local(q->slot, q->state_flags, &q->ep, q->dir, &q->peer, q->proto, q->port, &r->s,
			&r->peer, &r->peer_state);
	return 0;
}

static __always_inline void pw_decide_r(__u32 slot, __u32 state_flags, const struct pw_endpoint *ep,
					__u8 dir, const union pw_addr *peer, __u8 proto, __u16 port,
					struct pw_dres *r)
{
	struct pw_dreq q;

	q.ep = *ep;
	q.peer = *peer;
	q.slot = slot;
	q.state_flags = state_flags;
	q.port = port;
	q.dir = dir;
	q.proto = proto;
	__builtin_memset(r, 0, sizeof(*r));
	pw_decide_g(&q, r);
}

static __always_inline void pw_decide(__u32 slot, __u32 state_flags, const struct pw_endpoint *ep,
				      __u8 dir, const union pw_addr *peer, __u8 proto, __u16 port,
				      struct pw_side *ret)
{
	struct pw_dres r;

	pw_decide_r(slot, state_flags, ep, dir, peer, proto, port, &r);
	*ret = r.s;
}

static __always_inline __u64 pw_now(struct pw_env *e)
{
	if (!e->now)
		e->now = bpf_ktime_get_ns();
	return e->now;
}

/* The two sides of a decision combined: the first dropping side, else the
 * first auditing side, else the primary side. */
static __always_inline void pw_res_from_sides(struct pw_res *r, const struct pw_side *s,
					      __u32 ep_id, const struct pw_side *s2, __u32 ep_id2)
{
	const struct pw_side *d = s;
	__u32 id = ep_id;

	if (s2->verdict == PW_VERDICT_DROP ||
	    (s2->verdict == PW_VERDICT_AUDIT && s->verdict == PW_VERDICT_ALLOW)) {
		d = s2;
		id = ep_id2;
	}
	r->verdict = d->verdict;
	r->reason = d->reason;
	r->dir = d->dir;
	r->ep_id = id;
	r->rule_id = s->rule_id;
	r->rule_id2 = s2->rule_id;
}

static __always_inline void pw_side_allow(struct pw_side *s, __u8 dir)
{
	s->rule_id = PW_RULE_NONE;
	s->verdict = PW_VERDICT_ALLOW;
	s->reason = PW_REASON_NONE;
	s->dir = dir;
	s->pad = 0;
}

/*
 * A packet of a known flow.  Returns 1 when r is filled, 0 when the entry
 * is stale (expired, or a new TCP connection reusing a closing tuple) and
 * the packet must be decided as a new flow.  Under a new generation the
 * flow is decided again in its original direction, with the policy
 * direction it was decided in; a denial deletes both entries.
 */
static __always_inline int pw_ct_hit(struct pw_env *e, const struct pw_pkt *p,
				     const struct pw_endpoint *lep, const struct pw_ct_key *k,
				     struct pw_ct_val *v, struct pw_res *r)
{
	__u64 now = pw_now(e);
	const union pw_addr *peer, *self;
	__u16 port;
	__u8 hdir = k->hook == PW_HOOK_TO_POD ? PW_DIR_INGRESS : PW_DIR_EGRESS;

	if (pw_ct_expired(k, v, now))
		return 0;
	if (p->proto == PW_PROTO_TCP && v->dir == PW_CT_ORIG && (v->flags & PW_CT_F_CLOSING) &&
	    (p->tcp_flags & (PW_TCP_SYN | PW_TCP_ACK)) == PW_TCP_SYN)
		return 0;
	r->ep_id = lep->ep_id;
	r->dir = hdir;
	r->verdict = PW_VERDICT_ALLOW;
	r->reason = v->dir == PW_CT_ORIG ? PW_ALLOW_ESTABLISHED : PW_ALLOW_REPLY;
	if (v->gen != e->gen) {
		struct pw_side s, s2;
		const struct pw_endpoint *oep;

		if (k->hook == PW_HOOK_TO_POD) {
			peer = &p->src;
			self = &p->dst;
		} else {
			peer = &p->dst;
			self = &p->src;
		}
		port = v->dir == PW_CT_ORIG ? p->dport : p->sport;
		pw_decide(e->slot, e->flags, lep, v->policy_dir, peer, p->proto, port, &s);
		pw_side_allow(&s2, PW_DIR_EGRESS);
		if ((v->flags & PW_CT_F_EGRESS_TOO) && s.verdict != PW_VERDICT_DROP) {
			oep = pw_ep_lookup(e->slot, peer);
			if (oep && (oep->flags & PW_EP_LOCAL))
				pw_decide(e->slot, e->flags, oep, PW_DIR_EGRESS, self, p->proto,
					  port, &s2);
		}
		if (s.verdict == PW_VERDICT_DROP || s2.verdict == PW_VERDICT_DROP) {
			pw_ct_delete_both(k, v);
			r->verdict = PW_VERDICT_DROP;
			r->reason = PW_DROP_REVOKED;
			return 1;
		}
		if (s.verdict == PW_VERDICT_AUDIT || s2.verdict == PW_VERDICT_AUDIT) {
			v->flags |= PW_CT_F_AUDIT;
			r->verdict = PW_VERDICT_AUDIT;
			r->reason = PW_DROP_REVOKED;
		} else {
			v->flags &= ~PW_CT_F_AUDIT;
		}
		v->gen = e->gen;
		v->rule_id = s.rule_id;
		v->rule_id2 = s2.rule_id;
	}
	if (p->proto == PW_PROTO_TCP && (p->tcp_flags & (PW_TCP_FIN | PW_TCP_RST)))
		pw_ct_flag_both(k, v, PW_CT_F_CLOSING);
	if (v->dir == PW_CT_REPLY)
		pw_ct_flag_both(k, v, PW_CT_F_SEEN_REPLY);
	if (now - v->last_seen_ns > PW_CT_REFRESH_NS)
		v->last_seen_ns = now;
	r->rule_id = v->rule_id;
	r->rule_id2 = v->rule_id2;
	return 1;
}

/* A TCP segment that opens a connection: SYN without ACK. */
static __always_inline int pw_tcp_syn_only(const struct pw_pkt *p)
{
	return p->proto == PW_PROTO_TCP && (p->tcp_flags & (PW_TCP_SYN | PW_TCP_ACK)) == PW_TCP_SYN;
}

/*
 * The short way to the commonest denial under a flood: a new flow to a
 * port no rule of the local pod's set for this direction names
 * (pw_ports_impossible()), with a peer that is neither the node nor, for
 * egress, a service address.  Nothing else is looked up; the answer is the
 * one pw_decide_local() would give, which the full path still computes for
 * everything else (audit included).  The caller knows that the flow is
 * new: a TCP SYN, or a packet conntrack does not know.
 */
static __always_inline int pw_denied_early(const struct pw_env *e, const struct pw_endpoint *lep,
					   const struct pw_pkt *p, __u8 dir)
{
	__u32 audit = dir == PW_DIR_INGRESS ? PW_EP_AUDIT_IN : PW_EP_AUDIT_OUT;
	__u8 cls = pw_proto_class(p->proto);

	return lep->set_id[dir & 1] && !((e->flags & PW_STATE_AUDIT) || (lep->flags & audit)) &&
	       pw_ports_impossible(lep->set_flags[dir & 1], cls,
				   cls == PW_PROTO_OTHER ? 0 : p->dport) &&
	       pw_node_class(e->slot, dir == PW_DIR_INGRESS ? &p->src : &p->dst,
			     dir == PW_DIR_EGRESS) == PW_NODE_OTHER;
}

static __always_inline void pw_frag_key(struct pw_frag_key *fk, const struct pw_pkt *p, __u8 hook)
{
	fk->src = p->src;
	fk->dst = p->dst;
	fk->id = p->frag_id;
	fk->proto = p->proto;
	fk->hook = hook;
	fk->pad = 0;
}

/* First fragment that passes: later fragments of its datagram may follow. */
static __always_inline void pw_frag_remember(struct pw_env *e, const struct pw_pkt *p, __u8 hook,
					     __u32 rule_id)
{
	struct pw_frag_key fk;
	struct pw_frag_val fv = {};

	pw_frag_key(&fk, p, hook);
	fv.last_seen_ns = pw_now(e);
	fv.sport = p->sport;
	fv.dport = p->dport;
	fv.rule_id = rule_id;
	bpf_map_update_elem(&pw_frag_v1, &fk, &fv, BPF_ANY);
}

static __always_inline struct pw_frag_val *pw_frag_find(const struct pw_pkt *p, __u8 hook)
{
	struct pw_frag_key fk;

	pw_frag_key(&fk, p, hook);
	return bpf_map_lookup_elem(&pw_frag_v1, &fk);
}

/* ICMP error whose quoted datagram belongs to a flow this hook tracks. */
static __always_inline int pw_icmp_related(const struct pw_pkt *p, __u8 hook)
{
	struct pw_ct_key k;

	pw_ct_key(&k, &p->idst, &p->isrc, p->idport, p->isport, p->iproto, hook);
	return bpf_map_lookup_elem(&pw_ct_v1, &k) != NULL;
}

/* FROM_POD and TO_POD; c->hook is a constant after inlining. */
static __always_inline int pw_pod_hook(struct pw_ctx *c)
{
	struct pw_env e;
	struct pw_pkt p = {};
	struct pw_res r = {};
	struct pw_side s, s2;
	struct pw_ct_key k;
	struct pw_ct_val *v;
	struct pw_endpoint *lep, *sep;
	struct pw_frag_val *fv;
	const __u8 hook = c->hook;
	const int from_pod = hook == PW_HOOK_FROM_POD;
	const __u8 dir = from_pod ? PW_DIR_EGRESS : PW_DIR_INGRESS; /* the policy's */
	__u32 ep_id2 = 0;
	__u8 ctflags = 0;
	int ret, syn;

	r.dir = dir;
	if (pw_env_load(&e))
		return PW_PASS;
	ret = pw_parse_fast(c, &p);
	if (!(e.flags & PW_STATE_ENFORCING)) {
		r.reason = PW_ALLOW_NOT_ISOLATED;
		return pw_finish(&e, c, &p, &r);
	}
	if (ret) {
		r.reason = ret;
		r.verdict = pw_reason_is_drop(ret) ? PW_VERDICT_DROP : PW_VERDICT_ALLOW;
		return pw_finish(&e, c, &p, &r);
	}

	/* The local endpoint: the sender (anti-spoofing) or the receiver. */
	if (from_pod) {
		lep = pw_ep_lookup(e.slot, &p.src);
		if (!lep || !(lep->flags & PW_EP_LOCAL) || lep->ifindex != c->ifindex) {
			r.verdict = PW_VERDICT_DROP;
			r.reason = PW_DROP_SPOOFED;
			return pw_finish(&e, c, &p, &r);
		}
	} else {
		lep = pw_ep_lookup(e.slot, &p.dst);
		if (!lep || !(lep->flags & PW_EP_LOCAL) || lep->ifindex != c->ifindex)
			lep = pw_if_lookup(e.slot, c->ifindex);
		if (!lep) {
			r.verdict = PW_VERDICT_DROP;
			r.reason = PW_DROP_NO_ENDPOINT;
			return pw_finish(&e, c, &p, &r);
		}
	}
	r.ep_id = lep->ep_id;

	if (pw_addr_eq(&p.src, &p.dst)) {
		r.reason = PW_ALLOW_LOOPBACK;
		return pw_finish(&e, c, &p, &r);
	}
	if (p.frag == PW_FRAG_LATER) {
		fv = pw_frag_find(&p, hook);
		if (!fv) {
			r.verdict = PW_VERDICT_DROP;
			r.reason = PW_DROP_FRAG_UNKNOWN;
		} else {
			r.reason = PW_ALLOW_FRAGMENT;
			r.rule_id = fv->rule_id;
			fv->last_seen_ns = pw_now(&e);
		}
		return pw_finish(&e, c, &p, &r);
	}
	if (p.icmp_err && pw_icmp_related(&p, hook)) {
		r.reason = PW_ALLOW_ICMP_RELATED;
		return pw_finish(&e, c, &p, &r);
	}

	/* A new flow to a port no rule names is dropped the short way: a
	 * TCP SYN before conntrack is asked, anything else once conntrack
	 * has said it is not a known flow (a reply, say). */
	syn = pw_tcp_syn_only(&p);
	if (syn && pw_denied_early(&e, lep, &p, dir))
		goto early_drop;
	pw_ct_key(&k, &p.src, &p.dst, p.sport, p.dport, p.proto, hook);
	if (!syn) {
		v = bpf_map_lookup_elem(&pw_ct_v1, &k);
		if (v && pw_ct_hit(&e, &p, lep, &k, v, &r))
			goto out;
		if (pw_denied_early(&e, lep, &p, dir))
			goto early_drop;
	}

	/* A new flow.  A TCP SYN without ACK opens a connection: it is decided
	 * before conntrack is asked, so a denied SYN costs no conntrack lookup
	 * (the only tracked SYN it could be is a simultaneous open's, which the
	 * peers complete with SYN-ACKs).  An allowed SYN may still be the
	 * retransmission of a tracked one: conntrack is asked below. */
	if (from_pod) {
		pw_decide(e.slot, e.flags, lep, PW_DIR_EGRESS, &p.dst, p.proto, p.dport, &s);
		pw_side_allow(&s2, PW_DIR_INGRESS);
		if (s.reason == PW_ALLOW_DEFERRED)
			ctflags |= PW_CT_F_DEFERRED;
	} else {
		struct pw_dres dr;

		pw_decide_r(e.slot, e.flags, lep, PW_DIR_INGRESS, &p.src, p.proto, p.dport, &dr);
		s = dr.s;
		pw_side_allow(&s2, PW_DIR_EGRESS);
		/* A local source's egress not decided at its own veth (the
		 * destination was a service address there): decide it here,
		 * where the real destination is visible.  The source's endpoint
		 * is looked up only if the decision above did not. */
		if (s.verdict != PW_VERDICT_DROP && dr.peer_state == PW_PEER_UNKNOWN) {
			sep = pw_ep_lookup(e.slot, &p.src);
			if (sep) {
				dr.peer = *sep;
				dr.peer_state = PW_PEER_EP;
			}
		}
		if (s.verdict != PW_VERDICT_DROP && dr.peer_state == PW_PEER_EP &&
		    (dr.peer.flags & PW_EP_LOCAL) && dr.peer.set_id[PW_DIR_EGRESS]) {
			/* The source's own flow (k as its veth saw it); k is
			 * reused to keep the stack small. */
			k.hook = PW_HOOK_FROM_POD;
			v = bpf_map_lookup_elem(&pw_ct_v1, &k);
			k.hook = hook;
			if (!v) {
				/* dr is reused (stack): the source's value is copied
				 * into the request before dr is overwritten. */
				ep_id2 = dr.peer.ep_id;
				pw_decide_r(e.slot, e.flags, &dr.peer, PW_DIR_EGRESS, &p.dst,
					    p.proto, p.dport, &dr);
				s2 = dr.s;
				ctflags |= PW_CT_F_EGRESS_TOO;
			}
		}
	}
	pw_res_from_sides(&r, &s, lep->ep_id, &s2, ep_id2);
	if (r.verdict == PW_VERDICT_DROP)
		return pw_finish(&e, c, &p, &r);
	if (syn) {
		v = bpf_map_lookup_elem(&pw_ct_v1, &k);
		if (v) {
			struct pw_res rh = {};

			if (pw_ct_hit(&e, &p, lep, &k, v, &rh)) {
				r = rh;
				goto out;
			}
		}
	}
	if (r.verdict == PW_VERDICT_AUDIT)
		ctflags |= PW_CT_F_AUDIT;
	pw_ct_create(&k, from_pod ? PW_HOOK_TO_POD : PW_HOOK_FROM_POD, pw_now(&e), e.gen, s.rule_id,
		     s2.rule_id, lep->ep_id, dir, ctflags, s.reason);
	r.new_flow = 1;
	/* The flow's counters belong to the local endpoint of this hook. */
	if (r.verdict == PW_VERDICT_ALLOW) {
		r.reason = s.reason;
		r.dir = s.dir;
		r.ep_id = lep->ep_id;
	}
out:
	if (p.frag == PW_FRAG_FIRST && r.verdict != PW_VERDICT_DROP)
		pw_frag_remember(&e, &p, hook, r.rule_id);
	return pw_finish(&e, c, &p, &r);
early_drop:
	r.verdict = PW_VERDICT_DROP;
	r.reason = PW_DROP_POLICY;
	return pw_drop_counted(&e, c, &p, &r);
}

/*
 * Uplink tc egress: a local pod's packet leaving the node.  Its egress was
 * decided at its own veth unless the destination was a service address
 * there; then it is decided here, after DNAT.  Flows of pods isolated in
 * either direction are tracked here so that the reply (from the real
 * backend, before netfilter restores the service address) is known to the
 * XDP prefilter.  Nothing else is touched or counted.
 */
static __always_inline int pw_uplink_hook(struct pw_ctx *c)
{
	struct pw_env e;
	struct pw_pkt p = {};
	struct pw_res r = {};
	struct pw_side s;
	struct pw_ct_key k;
	struct pw_ct_val *v;
	struct pw_endpoint *lep;
	__u8 ctflags = 0;

	if (pw_env_load(&e) || !(e.flags & PW_STATE_ENFORCING))
		return PW_PASS;
	if (pw_parse_fast(c, &p))
		return PW_PASS;
	lep = pw_ep_lookup(e.slot, &p.src);
	if (!lep || !(lep->flags & PW_EP_LOCAL) ||
	    !(lep->set_id[PW_DIR_EGRESS] | lep->set_id[PW_DIR_INGRESS]))
		return PW_PASS;
	if (pw_addr_eq(&p.src, &p.dst))
		return PW_PASS;
	r.ep_id = lep->ep_id;
	r.dir = PW_DIR_EGRESS;
	if (p.frag == PW_FRAG_LATER) {
		if (pw_frag_find(&p, PW_HOOK_FROM_POD))
			return PW_PASS;
		if (pw_frag_find(&p, PW_HOOK_UPLINK)) {
			r.reason = PW_ALLOW_FRAGMENT;
		} else {
			r.verdict = PW_VERDICT_DROP;
			r.reason = PW_DROP_FRAG_UNKNOWN;
		}
		return pw_finish(&e, c, &p, &r);
	}
	if (p.icmp_err && pw_icmp_related(&p, PW_HOOK_FROM_POD))
		return PW_PASS;
	pw_ct_key(&k, &p.src, &p.dst, p.sport, p.dport, p.proto, PW_HOOK_FROM_POD);
	v = bpf_map_lookup_elem(&pw_ct_v1, &k);
	if (v && !(v->flags & PW_CT_F_DEFERRED))
		return PW_PASS; /* decided at the source */
	k.hook = PW_HOOK_UPLINK;
	v = bpf_map_lookup_elem(&pw_ct_v1, &k);
	if (v && pw_ct_hit(&e, &p, lep, &k, v, &r))
		goto out;

	pw_decide(e.slot, e.flags, lep, PW_DIR_EGRESS, &p.dst, p.proto, p.dport, &s);
	if (s.reason == PW_ALLOW_DEFERRED) {
		/* Still a service address after DNAT: nothing to defer to. */
		s.reason = PW_DROP_POLICY;
		s.verdict = (e.flags & PW_STATE_AUDIT) || (lep->flags & PW_EP_AUDIT_OUT)
				    ? PW_VERDICT_AUDIT
				    : PW_VERDICT_DROP;
	}
	r.verdict = s.verdict;
	r.reason = s.reason;
	r.rule_id = s.rule_id;
	if (r.verdict == PW_VERDICT_DROP)
		return pw_finish(&e, c, &p, &r);
	if (r.verdict == PW_VERDICT_AUDIT)
		ctflags |= PW_CT_F_AUDIT;
	pw_ct_create(&k, PW_HOOK_TO_POD, pw_now(&e), e.gen, s.rule_id, 0, lep->ep_id, PW_DIR_EGRESS,
		     ctflags, s.reason);
	r.new_flow = 1;
out:
	if (p.frag == PW_FRAG_FIRST && r.verdict != PW_VERDICT_DROP)
		pw_frag_remember(&e, &p, PW_HOOK_UPLINK, r.rule_id);
	return pw_finish(&e, c, &p, &r);
}

/*
 * Uplink XDP prefilter: drop before an skb exists what the destination
 * pod's ingress policy would drop at its veth anyway.  Only new flows to
 * ingress-isolated local pods are judged; conntrack stays with the TO_POD
 * hook, and audit verdicts pass without being counted here (TO_POD counts
 * them).
 */
static __always_inline int pw_xdp_prefilter(struct pw_ctx *c)
{
	struct pw_env e;
	struct pw_pkt p = {};
	struct pw_res r = {};
	struct pw_side s;
	struct pw_ct_key k;
	struct pw_endpoint *lep;
	int syn;

	if (pw_env_load(&e) || !(e.flags & PW_STATE_ENFORCING))
		return PW_PASS;
	if (pw_parse_fast(c, &p) || p.frag == PW_FRAG_LATER)
		return PW_PASS;
	lep = pw_ep_lookup(e.slot, &p.dst);
	if (!lep || !(lep->flags & PW_EP_LOCAL) || !lep->set_id[PW_DIR_INGRESS])
		return PW_PASS;
	if (pw_addr_eq(&p.src, &p.dst))
		return PW_PASS;
	if (p.icmp_err && pw_icmp_related(&p, PW_HOOK_TO_POD))
		return PW_PASS;
	r.dir = PW_DIR_INGRESS;
	r.ep_id = lep->ep_id;
	/* A SYN opens a connection: decided without asking conntrack (see
	 * pw_pod_hook()); anything else is new if conntrack does not know it. */
	syn = pw_tcp_syn_only(&p);
	if (!syn) {
		pw_ct_key(&k, &p.src, &p.dst, p.sport, p.dport, p.proto, PW_HOOK_TO_POD);
		if (bpf_map_lookup_elem(&pw_ct_v1, &k))
			return PW_PASS;
	}
	if (pw_denied_early(&e, lep, &p, PW_DIR_INGRESS)) {
		r.verdict = PW_VERDICT_DROP;
		r.reason = PW_DROP_POLICY;
		return pw_drop_counted(&e, c, &p, &r);
	}
	pw_decide(e.slot, e.flags, lep, PW_DIR_INGRESS, &p.src, p.proto, p.dport, &s);
	if (s.verdict != PW_VERDICT_DROP)
		return PW_PASS;
	r.verdict = PW_VERDICT_DROP;
	r.reason = s.reason;
	r.dir = PW_DIR_INGRESS;
	r.ep_id = lep->ep_id;
	return pw_finish(&e, c, &p, &r);
}

#endif
