/* SPDX-License-Identifier: MIT */
/*
 * Dataplane: the thin orchestration the daemon's event loop calls.  It ties
 * loader (pins), map writer (policy), netlink (which pods are local) and
 * attach (tc/XDP) together in the order that keeps every pod enforced:
 * policy in the maps first, then the veth attached.
 */
#ifndef PODWALL_DATAPLANE_H
#define PODWALL_DATAPLANE_H

#include <jansson.h>

#include "loader.h"
#include "map_writer.h"

struct pw_dp_opts {
	const char *bpffs; /* NULL: PW_BPFFS_DEFAULT */
	int migrate; /* replace pins of a different layout (loses conntrack) */
	int hook_xdp; /* --hook xdp: pod-sent direction on XDP, not tc ingress */
	const char *const *uplinks; /* --uplink names */
	size_t n_uplinks;
	uint32_t state_flags; /* PW_STATE_AUDIT (--mode audit), PW_STATE_LOG_ALLOW */
	const char *tc_obj_path, *xdp_obj_path; /* tests: ELF files instead of skeletons */
	/* --node-name: a pod whose spec.nodeName is set to another node is never
	 * local (not resolved, not attached); NULL: every pod may be local.
	 * Copied. */
	const char *node_name;
	void (*log)(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
};

struct pw_dp;

/* Lock, bpffs, load or re-adopt; the netlink event socket; no attaching
 * yet (the first pw_dp_apply does it, after writing the maps). */
int pw_dp_open(const struct pw_dp_opts *opts, struct pw_dp **ret);

/*
 * Resolve local endpoints, write the image as the next generation, attach
 * every local veth (after its policy is in the maps), detach veths that no
 * longer serve a pod, forget records of vanished interfaces.  The image is
 * borrowed: it must stay valid until the next pw_dp_apply or pw_dp_close
 * (pw_dp_on_netlink re-resolves against it).
 */
int pw_dp_apply(struct pw_dp *dp, const struct pw_image *img);

/* fd for epoll (EPOLLIN); then call pw_dp_on_netlink. */
int pw_dp_netlink_fd(const struct pw_dp *dp);
/* Drain netlink events; when the set of local endpoints or node addresses
 * changed, write a new generation and attach/detach.  *ret_changed (may be
 * NULL) says whether a new generation was written. */
int pw_dp_on_netlink(struct pw_dp *dp, int *ret_changed);

/* Silent bridged pods (netlink.c solicits): how many addresses are still
 * unresolved, and in how many ms pw_dp_resync should ask again (-1: never).
 * pw_dp_resync re-resolves without an event, as pw_dp_on_netlink does. */
size_t pw_dp_solicit_pending(const struct pw_dp *dp);
int pw_dp_solicit_due_ms(const struct pw_dp *dp);
int pw_dp_resync(struct pw_dp *dp, int *ret_changed);

/* {"bpffs","mode","hook","epoch","adopted","migrated","entries":{..},
 *  "max_entries":{..},"interfaces":[{"ifindex","name","how","hooks":[..],
 *  "other_filters"}], "last_update":{...}} */
int pw_dp_status(struct pw_dp *dp, json_t **ret);

/* Where the last pw_dp_apply/pw_dp_on_netlink spent its time: interface
 * discovery, building + diffing + writing the inactive slot up to the epoch
 * store (enforcement starts there), the RCU grace period after it, and the
 * attach/detach pass. */
struct pw_dp_timing {
	uint64_t resolve_ns;
	uint64_t write_ns;
	uint64_t grace_ns;
	uint64_t attach_ns;
};
void pw_dp_last_timing(const struct pw_dp *dp, struct pw_dp_timing *ret);

struct pw_loader *pw_dp_loader(struct pw_dp *dp);

/* SIGTERM path: close everything, leave enforcement in place. */
void pw_dp_close(struct pw_dp *dp);

/* --uninstall */
int pw_dp_uninstall(const char *bpffs, void (*log)(int level, const char *fmt, ...));

#endif
