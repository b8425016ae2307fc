/* SPDX-License-Identifier: MIT */
/*
 * Attaching the datapath programs to interfaces, and the pinned record of
 * every attachment (DIR/pw_attach_v1, a HASH map: bpffs holds no regular
 * files) so that `--uninstall` and a restarted daemon find them again.
 *
 * tc: clsact qdisc (created if missing; recorded so uninstall removes it
 * when nothing else uses it), one bpf filter in direct-action mode at the
 * fixed podwall priority and handle, per hook.  Re-attaching replaces our
 * own filter in place (BPF_TC_F_REPLACE): no window without a program.
 * Filters of others on the same hook are counted and reported, never
 * touched (a filter with a lower priority number runs first and can bypass
 * podwall by returning a final verdict).
 *
 * Pod veth (host side): PW_ATT_TC_INGRESS runs pw_from_pod (the pod sent
 * it), PW_ATT_TC_EGRESS runs pw_to_pod; with --hook xdp, PW_ATT_XDP runs
 * pw_xdp_from_pod instead of the tc ingress filter.  Uplink: the uplink
 * programs (see docs/daemon-dataplane.md) on the same hooks with
 * PW_ATT_F_UPLINK in the record.
 */
#ifndef PODWALL_ATTACH_H
#define PODWALL_ATTACH_H

#include <stdint.h>
#include <linux/types.h>

#define PW_TC_PRIORITY 1 /* runs before filters with larger numbers */
#define PW_TC_HANDLE 0x5057 /* "PW" */
#define PW_ATTACH_MAX_ENTRIES (2048 * 3) /* PW_MAX_IFACES x hooks */

enum pw_att_hook {
	PW_ATT_TC_INGRESS = 0,
	PW_ATT_TC_EGRESS = 1,
	PW_ATT_XDP = 2,
};

#define PW_ATT_F_CREATED_CLSACT (1u << 0) /* podwall created the clsact qdisc */
#define PW_ATT_F_UPLINK (1u << 1) /* an uplink device, not a pod veth */
#define PW_ATT_F_XDP_SKB (1u << 2) /* XDP in generic (skb) mode */

struct pw_att_key {
	__u32 ifindex;
	__u32 hook; /* enum pw_att_hook */
};

struct pw_att_val {
	__u32 prog_id; /* program attached (bpf prog id) */
	__u32 handle; /* tc: PW_TC_HANDLE */
	__u32 priority; /* tc: PW_TC_PRIORITY */
	__u32 flags; /* PW_ATT_F_* */
	__u64 attached_at; /* CLOCK_REALTIME ns of the last (re)attach */
	char ifname[16]; /* for messages; the ifindex is the key */
};

/* Create the record map (not pinned; the loader pins it).  */
int pw_attach_record_create(int *ret_fd);

/*
 * Attach prog_fd on one hook of ifindex, replacing our own earlier program
 * there, and record it.  ret_others (may be NULL) gets the number of
 * filters of others on the same tc hook (0 for XDP).  flags: PW_ATT_F_UPLINK
 * and/or PW_ATT_F_XDP_SKB.
 */
int pw_attach_hook(int rec_fd, int ifindex, enum pw_att_hook hook, int prog_fd, __u32 flags,
		   int *ret_others);

/* Remove our program from one hook (and the record entry).  A hook with
 * nothing of ours is success; a vanished interface only loses its record. */
int pw_detach_hook(int rec_fd, int ifindex, enum pw_att_hook hook);

/* Every hook of one interface (and the clsact qdisc if we created it and it
 * is otherwise empty). */
int pw_detach_ifindex(int rec_fd, int ifindex);

/* Everything in the record; returns the first error but tries them all. */
int pw_detach_all(int rec_fd);

/* Forget record entries whose interface no longer exists; *ret_n gets how
 * many (may be NULL). */
int pw_attach_forget_stale(int rec_fd, int *ret_n);

/* Filters on a tc hook that are not ours (netlink dump).  hook is
 * PW_ATT_TC_INGRESS or PW_ATT_TC_EGRESS. */
int pw_tc_count_others(int ifindex, enum pw_att_hook hook, int *ret_n);

/* Our program id on a hook as the kernel sees it now (0 if none). */
int pw_attach_query(int ifindex, enum pw_att_hook hook, __u32 *ret_prog_id);

const char *pw_att_hook_name(enum pw_att_hook hook);

#endif
