// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Benchmark helpers (not part of podwall):
 *  pwb_gen      live-frames traffic generator: run by BPF_PROG_TEST_RUN with
 *               BPF_F_TEST_XDP_LIVE_FRAMES on the pod-side veth; it rewrites
 *               the whole 60-byte UDP frame on every run (the page pool
 *               recycles frames, with whatever the stack wrote into them) and
 *               spreads frames over many destinations and ports.
 *  pwb_tc_drop  the tc floor: count and drop everything.
 *  pwb_xdp_drop the XDP floor: count and drop everything.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct pwb_cfg {
	__u8 dmac[6];
	__u8 smac[6];
	__u32 saddr; /* network order */
	__u32 nsrc; /* source addresses saddr .. saddr+nsrc-1 (>= 1) */
	__u32 daddr; /* first destination, host order */
	__u32 ndst; /* destinations daddr .. daddr+ndst-1 (>= 1) */
	__u16 dport; /* first destination port */
	__u16 nports; /* destination ports dport .. dport+nports-1 (>= 1) */
	__u16 sport; /* first source port */
	__u16 nsports; /* source ports (>= 1) */
	__u32 nflows; /* > 0: cycle over this many flows only (allow path) */
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pwb_cfg);
} pwb_cfg_map SEC(".maps");

/* [0] frames generated (XDP_TX) on this CPU */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} pwb_gen_cnt SEC(".maps");

/* [0] frames dropped by the floor program on this CPU */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} pwb_drop_cnt SEC(".maps");

#define FRAME_LEN 60

static __always_inline __u16 csum_fold(__u32 s)
{
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (__u16)~s;
}

SEC("xdp")
int pwb_gen(struct xdp_md *x)
{
	void *data = (void *)(long)x->data;
	void *end = (void *)(long)x->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = data + sizeof(*eth);
	struct udphdr *udp = (void *)(ip + 1);
	__u32 zero = 0, h, sum = 0, f;
	struct pwb_cfg *cfg;
	__u64 *cnt, seq;
	__u16 *w;
	int i;

	if (data + FRAME_LEN > end)
		return XDP_ABORTED;
	cfg = bpf_map_lookup_elem(&pwb_cfg_map, &zero);
	cnt = bpf_map_lookup_elem(&pwb_gen_cnt, &zero);
	if (!cfg || !cnt)
		return XDP_ABORTED;
	seq = (*cnt)++;
	f = (__u32)seq;
	if (cfg->nflows)
		f %= cfg->nflows;
	/* Scramble so consecutive frames hit unrelated map buckets. */
	h = f * 2654435761u;

	__builtin_memcpy(eth->h_dest, cfg->dmac, 6);
	__builtin_memcpy(eth->h_source, cfg->smac, 6);
	eth->h_proto = bpf_htons(ETH_P_IP);

	ip->version = 4;
	ip->ihl = 5;
	ip->tos = 0;
	ip->tot_len = bpf_htons(FRAME_LEN - sizeof(*eth));
	ip->id = bpf_htons((__u16)seq);
	ip->frag_off = 0;
	ip->ttl = 64;
	ip->protocol = IPPROTO_UDP;
	ip->check = 0;
	ip->saddr = cfg->nsrc > 1 ? bpf_htonl(bpf_ntohl(cfg->saddr) + (h >> 8) % cfg->nsrc) :
				    cfg->saddr;
	ip->daddr = bpf_htonl(cfg->daddr + (cfg->ndst ? h % cfg->ndst : 0));
	w = (__u16 *)ip;
#pragma unroll
	for (i = 0; i < 10; i++)
		sum += w[i];
	ip->check = csum_fold(sum);

	udp->source = bpf_htons(cfg->sport + (cfg->nsports ? (h >> 12) % cfg->nsports : 0));
	udp->dest = bpf_htons(cfg->dport + (cfg->nports ? (h >> 4) % cfg->nports : 0));
	udp->len = bpf_htons(FRAME_LEN - sizeof(*eth) - sizeof(*ip));
	udp->check = 0;
	return XDP_TX;
}

static __always_inline void count_drop(void)
{
	__u32 zero = 0;
	__u64 *c = bpf_map_lookup_elem(&pwb_drop_cnt, &zero);

	if (c)
		(*c)++;
}

SEC("tc")
int pwb_tc_drop(struct __sk_buff *skb)
{
	count_drop();
	return TC_ACT_SHOT;
}

SEC("xdp")
int pwb_xdp_drop(struct xdp_md *x)
{
	count_drop();
	return XDP_DROP;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
