/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Per-CPU counters: endpoint x direction x verdict/reason, and per rule. */
#ifndef PW_BPF_COUNTERS_H
#define PW_BPF_COUNTERS_H

#include "lib/maps.h"

static __always_inline void pw_count_idx(void *map, __u32 idx, __u32 len)
{
	struct pw_counter *c = bpf_map_lookup_elem(map, &idx);

	if (c) {
		c->packets++;
		c->bytes += len;
	}
}

/* code: the reason for allow and drop, PW_CNT_AUDIT(reason) for audit. */
static __always_inline void pw_count(__u32 ep_id, __u8 dir, __u8 verdict, __u8 reason, __u32 len)
{
	__u32 code = reason;

	if (verdict == PW_VERDICT_AUDIT)
		code = PW_CNT_AUDIT(reason);
	if (ep_id > PW_MAX_LOCAL_EPS)
		ep_id = 0;
	pw_count_idx(&pw_cnt_v1, PW_CNT_INDEX(ep_id, dir & 1, code & (PW_CNT_CODES - 1)), len);
}

static __always_inline void pw_count_rule(__u32 rule_id, __u32 len)
{
	if (rule_id != PW_RULE_NONE)
		pw_count_idx(&pw_rcnt_v1, rule_id, len);
}

#endif
