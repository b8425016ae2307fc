/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Per-CPU counters: endpoint x direction x verdict/reason, and per rule. */
#ifndef PW_BPF_COUNTERS_H
#define PW_BPF_COUNTERS_H

#include "lib/maps.h"

static __always_inline void pw_counter_add(struct pw_counter *c, __u32 len)
{
	c->packets++;
	c->bytes += len;
}

/* code: the reason for allow and drop, PW_CNT_AUDIT(reason) for audit. */
static __always_inline void pw_count(__u32 ep_id, __u8 dir, __u8 verdict, __u8 reason, __u32 len)
{
	__u32 code = reason, slot;
	struct pw_counters *cs;

	if (verdict == PW_VERDICT_AUDIT)
		code = PW_CNT_AUDIT(reason);
	if (ep_id > PW_MAX_LOCAL_EPS)
		ep_id = 0;
	slot = PW_CNT_SLOT(ep_id, dir & 1);
	cs = bpf_map_lookup_elem(&pw_cnt_v2, &slot);
	if (cs)
		pw_counter_add(&cs->code[code & (PW_CNT_CODES - 1)], len);
}

static __always_inline void pw_count_rule(__u32 rule_id, __u32 len)
{
	struct pw_counter *c;

	if (rule_id == PW_RULE_NONE)
		return;
	c = bpf_map_lookup_elem(&pw_rcnt_v1, &rule_id);
	if (c)
		pw_counter_add(c, len);
}

#endif
