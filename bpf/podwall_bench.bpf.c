// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Baselines for bench/perpacket.c, NOT part of the datapath:
 *  - pw_bench_empty: a tc program that does nothing (the cost of running
 *    any program, subtracted from every figure);
 *  - pw_bench_floor: the least a policy program can do: parse the packet
 *    with the datapath's parser and do one hash lookup (the destination
 *    endpoint), on the same maps.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include "lib/ctx.h"
#include "lib/maps.h"
#include "lib/parse.h"

SEC("tc")
int pw_bench_empty(struct __sk_buff *skb)
{
	return TC_ACT_OK;
}

SEC("tc")
int pw_bench_floor(struct __sk_buff *skb)
{
	struct pw_ctx c;
	struct pw_pkt p = {};
	struct pw_ep_key k = {};

	pw_ctx_from_skb(&c, skb, PW_HOOK_TO_POD);
	if (pw_parse(&c, &p))
		return TC_ACT_OK;
	k.addr = p.dst;
	return bpf_map_lookup_elem(&pw_ep_v1, &k) ? TC_ACT_OK : TC_ACT_SHOT;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
