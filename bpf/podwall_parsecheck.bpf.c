// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Test object, NOT part of the datapath: runs the full parser (pw_parse)
 * and the inline fast path (pw_parse_tcp) on the same packet and leaves
 * both results in a map, for tests/bpf/test_parse_fast.c to compare.
 * Returns pw_parse's result, plus 0x100 when the fast path took the packet.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include "lib/ctx.h"
#include "lib/parse.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2); /* 0: pw_parse, 1: pw_parse_tcp */
	__type(key, __u32);
	__type(value, struct pw_pkt);
} pw_parsecheck_out SEC(".maps");

SEC("tc")
int pw_parse_check(struct __sk_buff *skb)
{
	__u32 k0 = 0, k1 = 1;
	struct pw_pkt *full, *fast;
	struct pw_ctx c;
	int ret, took;

	full = bpf_map_lookup_elem(&pw_parsecheck_out, &k0);
	fast = bpf_map_lookup_elem(&pw_parsecheck_out, &k1);
	if (!full || !fast)
		return -1;
	__builtin_memset(full, 0, sizeof(*full));
	__builtin_memset(fast, 0, sizeof(*fast));
	pw_ctx_from_skb(&c, skb, PW_HOOK_TO_POD);
	ret = pw_parse(&c, full);
	took = pw_parse_tcp(&c, fast);
	return ret | (took ? 0x100 : 0);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
