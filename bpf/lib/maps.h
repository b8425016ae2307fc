/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Every map of include/podwall/abi.h, declared once.  Pinned by name so the
 * tc and the XDP object share them (the daemon points the pin path at its
 * bpffs directory; tests turn pinning off).  max_entries are the ABI limits;
 * user space may change them before load.
 */
#ifndef PW_BPF_MAPS_H
#define PW_BPF_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "podwall/abi.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct pw_state);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pw_state_v1 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PW_MAX_ENDPOINTS);
	__type(key, struct pw_ep_key);
	__type(value, struct pw_endpoint);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pw_ep_v1 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PW_MAX_IFACES);
	__type(key, struct pw_if_key);
	__type(value, struct pw_endpoint);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pw_if_v1 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct pw_hosts);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pw_host_v1 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, PW_MAX_PREFIXES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct pw_peer_key);
	__type(value, struct pw_peer_val);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pw_peer_v1 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PW_MAX_POLICY_ENTRIES);
	__type(key, struct pw_pol_key);
	__type(value, struct pw_pol_val);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pw_pol_v1 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PW_MAX_RANGE_ENTRIES);
	__type(key, struct pw_pol_key);
	__type(value, struct pw_range_val);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pw_range_v1 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, PW_MAX_CT);
	__type(key, struct pw_ct_key);
	__type(value, struct pw_ct_val);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pw_ct_v1 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, PW_MAX_FRAGS);
	__type(key, struct pw_frag_key);
	__type(value, struct pw_frag_val);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pw_frag_v1 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PW_CNT_SLOTS);
	__type(key, __u32);
	__type(value, struct pw_counters);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pw_cnt_v2 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PW_MAX_RULES);
	__type(key, __u32);
	__type(value, struct pw_counter);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pw_rcnt_v1 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, PW_EVENTS_BYTES);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pw_events_v1 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pw_rl);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pw_rl_v1 SEC(".maps");

#endif
