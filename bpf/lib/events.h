/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Events to user space through the ring buffer, limited per CPU by a token
 * bucket so that a flood of drops costs the daemon a bounded rate.
 */
#ifndef PW_BPF_EVENTS_H
#define PW_BPF_EVENTS_H

#include "lib/maps.h"
#include "lib/parse.h"

#define PW_EV_DEFAULT_RATE 10000
#define PW_EV_DEFAULT_BURST 1000
#define PW_EV_MAX_RATE 100000000ull /* keeps tokens * ns far from overflow */

/* What an event needs from the packet's context and the global state, as
 * plain scalars (it is passed to a global subprogram, see hooks.h). */
struct pw_evctx {
	__u32 len;
	__u32 ifindex;
	__u32 rate; /* pw_state.events_per_sec */
	__u32 burst; /* pw_state.events_burst */
	__u32 gen;
	__u32 flags; /* pw_state.flags */
	__u8 hook;
	__u8 pad[3];
};

/* An empty bucket looks at the clock only on every PW_RL_CLOCK_EVERY-th
 * suppressed event: under a flood of drops, the very case the bucket is for,
 * the rest cost no clock read (a helper call).  The refill is noticed at
 * most that many packets late. */
#define PW_RL_CLOCK_EVERY 64

/* Take one token; returns 1 if the event may be sent. */
static __always_inline int pw_rl_take(const struct pw_evctx *x)
{
	struct pw_rl *rl;
	__u32 zero = 0;
	__u64 rate = x->rate, burst = x->burst, cap, elapsed, now;

	rl = bpf_map_lookup_elem(&pw_rl_v1, &zero);
	if (!rl)
		return 0;
	if (rl->tokens < PW_NS && (rl->suppressed % PW_RL_CLOCK_EVERY) != 0) {
		rl->suppressed++;
		return 0;
	}
	/* The bucket runs on the coarse clock (tick resolution, a fraction of
	 * the cost of bpf_ktime_get_ns()). */
	now = bpf_ktime_get_coarse_ns();
	if (!rate)
		rate = PW_EV_DEFAULT_RATE;
	if (rate > PW_EV_MAX_RATE)
		rate = PW_EV_MAX_RATE;
	if (!burst)
		burst = PW_EV_DEFAULT_BURST;
	if (burst > PW_EV_MAX_RATE)
		burst = PW_EV_MAX_RATE;
	cap = burst * PW_NS;
	elapsed = now - rl->last_ns;
	rl->last_ns = now;
	/* Long idle (or the first event): a full bucket. */
	if (elapsed >= 16 * PW_NS || elapsed * rate >= cap)
		rl->tokens = cap;
	else if (rl->tokens + elapsed * rate >= cap)
		rl->tokens = cap;
	else
		rl->tokens += elapsed * rate;
	if (rl->tokens < PW_NS) {
		rl->suppressed++;
		return 0;
	}
	rl->tokens -= PW_NS;
	return 1;
}

static __always_inline void pw_event(const struct pw_evctx *x, const struct pw_pkt *p, __u8 type,
				     __u8 verdict, __u8 reason, __u8 dir, __u32 ep_id,
				     __u32 rule_id)
{
	struct pw_event *e;

	if (!pw_rl_take(x))
		return;
	e = bpf_ringbuf_reserve(&pw_events_v1, sizeof(*e), 0);
	if (!e) {
		struct pw_rl *rl;
		__u32 zero = 0;

		rl = bpf_map_lookup_elem(&pw_rl_v1, &zero);
		if (rl)
			rl->suppressed++;
		return;
	}
	e->ts_ns = bpf_ktime_get_ns();
	e->src = p->src;
	e->dst = p->dst;
	e->sport = p->sport;
	e->dport = p->dport;
	e->proto = p->proto;
	e->hook = x->hook;
	e->type = type;
	e->reason = reason;
	e->verdict = verdict;
	e->dir = dir;
	e->len = x->len > 0xffff ? 0xffff : x->len;
	e->ifindex = x->ifindex;
	e->ep_id = ep_id;
	e->rule_id = rule_id;
	e->gen = x->gen;
	bpf_ringbuf_submit(e, 0);
}

#endif
