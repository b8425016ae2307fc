/* SPDX-License-Identifier: MIT */
/*
 * Read podwall's pinned BPF maps directly (like bpftool) when the daemon is
 * not running.  The maps hold addresses, identities, policy-set ids and
 * counters; names (pods, policies, rules) live only in the daemon, and the
 * callers say so.
 *
 * Pins are looked up as <bpffs>/<map name> and then <bpffs>/maps/<map name>.
 * A map whose key or value size differs from include/podwall/abi.h is
 * refused (-EPROTO), never reinterpreted.
 */
#ifndef PODWALLCTL_PINNED_H
#define PODWALLCTL_PINNED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "podwall/abi.h"

struct pw_pinned;

int pw_pinned_open(const char *dir, struct pw_pinned **ret);
void pw_pinned_close(struct pw_pinned *p);

/* pw_state_v1[0]; -ENOENT if the map is not pinned */
int pw_pinned_state(struct pw_pinned *p, struct pw_state *ret);

struct pw_pinned_ep {
	union pw_addr addr;
	struct pw_endpoint val;
};

/* Endpoints of one slot (epoch & 1), sorted by address.  Caller frees. */
int pw_pinned_endpoints(struct pw_pinned *p, uint32_t slot, struct pw_pinned_ep **ret,
			size_t *ret_n);

/* One non-zero counter of pw_cnt_v2, summed over CPUs. */
struct pw_pinned_cnt {
	uint32_t ep_id;
	uint8_t dir; /* PW_DIR_* */
	uint8_t verdict; /* PW_VERDICT_* */
	uint8_t reason; /* enum pw_reason */
	uint64_t packets, bytes;
};

/* Decode a flat counter index (PW_CNT_INDEX) into endpoint, direction, verdict
 * and reason. */
void pw_cnt_decode(uint32_t index, uint32_t *ep_id, uint8_t *dir, uint8_t *verdict,
		   uint8_t *reason);

/* Non-zero counters, in index order.  Caller frees. */
int pw_pinned_counters(struct pw_pinned *p, struct pw_pinned_cnt **ret, size_t *ret_n);

struct pw_pinned_rcnt {
	uint32_t rule_id;
	uint64_t packets, bytes;
};

/* Non-zero per-rule counters (pw_rcnt_v1), by rule id.  Caller frees. */
int pw_pinned_rule_counters(struct pw_pinned *p, struct pw_pinned_rcnt **ret, size_t *ret_n);

struct pw_pinned_fill {
	const char *name; /* static */
	bool present;
	bool countable; /* ring buffers and arrays have no entry count */
	uint32_t entries;
	uint32_t max_entries;
};

#define PW_PINNED_NMAPS 13

/* Fill of every podwall map (entries counted by walking the keys). */
int pw_pinned_fill(struct pw_pinned *p, struct pw_pinned_fill ret[PW_PINNED_NMAPS]);

/* Policy entries (pw_pol_v1 + pw_range_v1) per policy set in one slot. */
struct pw_pinned_set {
	uint32_t set_id;
	uint32_t entries;
};
int pw_pinned_sets(struct pw_pinned *p, uint32_t slot, struct pw_pinned_set **ret, size_t *ret_n);

/*
 * pw_attach_v1: the daemon's pinned record of every tc filter / XDP program
 * it attached (key/value as in daemon/attach.h; the sizes are checked).
 */
struct pw_pinned_att_key {
	uint32_t ifindex;
	uint32_t hook; /* 0 tc ingress, 1 tc egress, 2 xdp */
};

struct pw_pinned_att_val {
	uint32_t prog_id;
	uint32_t handle;
	uint32_t priority;
	uint32_t flags; /* 1 created clsact, 2 uplink, 4 xdp skb mode */
	uint64_t attached_at; /* CLOCK_REALTIME ns */
	char ifname[16];
};

struct pw_pinned_att {
	struct pw_pinned_att_key key;
	struct pw_pinned_att_val val;
};

int pw_pinned_attachments(struct pw_pinned *p, struct pw_pinned_att **ret, size_t *ret_n);

/* Short stable names (the words of daemon/names.c): "not-isolated", "policy", ... (also used in
 * JSON). */
const char *pw_ctl_reason_name(unsigned int reason);
const char *pw_ctl_verdict_name(unsigned int verdict);
const char *pw_ctl_dir_name(unsigned int dir);

/* "10.0.0.1" for IPv4-mapped addresses, else the IPv6 text. */
void pw_ctl_addr_format(const union pw_addr *a, char *buf, size_t len);
/* Text (v4 or v6) -> pw_addr (v4 mapped); 0 or -EINVAL. */
int pw_ctl_addr_parse(const char *s, union pw_addr *ret);

#endif
