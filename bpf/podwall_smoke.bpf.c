// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Test-harness smoke object, NOT part of the podwall datapath.
 *
 * Drops IPv4 UDP packets to port 9 (discard) and lets everything else
 * through, counting what it sees. tests/bpf/test_smoke.c and
 * tests/e2e/test_netns_smoke.sh use it to prove that the toolchain, the
 * skeleton generation, BPF_PROG_TEST_RUN and tc attachment all work.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#define SMOKE_DROP_PORT 9

/* Indexes into smoke_counters; keep in sync with tests/bpf/test_smoke.c. */
enum {
	SMOKE_SEEN = 0,
	SMOKE_DROPPED = 1,
	SMOKE_NR_COUNTERS,
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SMOKE_NR_COUNTERS);
	__type(key, __u32);
	__type(value, __u64);
} smoke_counters SEC(".maps");

static __always_inline void count(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&smoke_counters, &idx);

	if (v)
		__sync_fetch_and_add(v, 1);
}

SEC("tc")
int podwall_smoke(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip;
	struct udphdr *udp;

	count(SMOKE_SEEN);

	if ((void *)(eth + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
		return TC_ACT_OK;
	ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > data_end || ip->protocol != IPPROTO_UDP || ip->ihl < 5)
		return TC_ACT_OK;
	/* Only the first fragment carries the UDP header. */
	if (ip->frag_off & bpf_htons(0x1fff))
		return TC_ACT_OK;
	udp = (void *)ip + ip->ihl * 4;
	if ((void *)(udp + 1) > data_end)
		return TC_ACT_OK;
	if (udp->dest != bpf_htons(SMOKE_DROP_PORT))
		return TC_ACT_OK;

	count(SMOKE_DROPPED);
	return TC_ACT_SHOT;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
