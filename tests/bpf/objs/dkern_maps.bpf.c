// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Stand-in for the datapath objects in the dkern tests (loader, map writer,
 * attach): every map of include/podwall/abi.h, declared as the real objects
 * declare them, and trivial programs with the real program names.  Built at
 * test time by tests/bpf/dkern_util.h (clang -target bpf), twice: once as the
 * tc object, once with -DPW_TEST_XDP as the xdp object.  -DPW_TEST_BAD_EP
 * builds a layout-mismatched pw_ep_v1 (for the refuse/migrate tests).
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

#include "podwall/abi.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct pw_state);
} pw_state_v1 SEC(".maps");

#ifdef PW_TEST_BAD_EP
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PW_MAX_ENDPOINTS);
	__type(key, struct pw_ep_key);
	__type(value, __u64);
} pw_ep_v1 SEC(".maps");
#else
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PW_MAX_ENDPOINTS);
	__type(key, struct pw_ep_key);
	__type(value, struct pw_endpoint);
} pw_ep_v1 SEC(".maps");
#endif

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PW_MAX_IFACES);
	__type(key, struct pw_if_key);
	__type(value, struct pw_endpoint);
} pw_if_v1 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, PW_MAX_PREFIXES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct pw_peer_key);
	__type(value, struct pw_peer_val);
} pw_peer_v1 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PW_MAX_POLICY_ENTRIES);
	__type(key, struct pw_pol_key);
	__type(value, struct pw_pol_val);
} pw_pol_v1 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PW_MAX_RANGE_ENTRIES);
	__type(key, struct pw_pol_key);
	__type(value, struct pw_range_val);
} pw_range_v1 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, PW_MAX_CT);
	__type(key, struct pw_ct_key);
	__type(value, struct pw_ct_val);
} pw_ct_v1 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, PW_MAX_FRAGS);
	__type(key, struct pw_frag_key);
	__type(value, struct pw_frag_val);
} pw_frag_v1 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PW_CNT_SLOTS);
	__type(key, __u32);
	__type(value, struct pw_counters);
} pw_cnt_v2 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PW_MAX_RULES);
	__type(key, __u32);
	__type(value, struct pw_counter);
} pw_rcnt_v1 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, PW_EVENTS_BYTES);
} pw_events_v1 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pw_rl);
} pw_rl_v1 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct pw_hosts);
} pw_host_v1 SEC(".maps");

/* Touch the state so the programs reference a map (and are not empty). */
static __always_inline int pw_test_pass(void)
{
	__u32 zero = 0;
	struct pw_state *st = bpf_map_lookup_elem(&pw_state_v1, &zero);

	return st && st->epoch == 0xdeadbeefULL;
}

#ifdef PW_TEST_XDP
SEC("xdp")
int pw_xdp_from_pod(struct xdp_md *ctx)
{
	(void)ctx;
	return pw_test_pass() ? XDP_DROP : XDP_PASS;
}
#else
SEC("tc")
int pw_from_pod(struct __sk_buff *skb)
{
	(void)skb;
	return pw_test_pass() ? TC_ACT_SHOT : TC_ACT_OK;
}

SEC("tc")
int pw_to_pod(struct __sk_buff *skb)
{
	(void)skb;
	return pw_test_pass() ? TC_ACT_SHOT : TC_ACT_OK;
}
#endif

char LICENSE[] SEC("license") = "Dual BSD/GPL";
