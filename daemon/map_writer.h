/* SPDX-License-Identifier: MIT */
/*
 * Map writer: the only writer of the policy maps (pw_ep_v1, pw_if_v1,
 * pw_peer_v1, pw_pol_v1, pw_range_v1, pw_host_v1) and of pw_state_v1.
 *
 * One update (pw_mw_apply) with the epoch E in force (slot E & 1):
 *  1. build the desired contents of slot s = (E + 1) & 1 from the image and
 *     the daemon's local view (local pod addresses -> ifindex, ep_id; node
 *     addresses -> PW_EP_HOST entries with identity PW_ID_HOST);
 *  2. diff them against the shadow of slot s (generation E - 1) and write
 *     only the difference: removed keys deleted first (room), then added and
 *     changed entries updated (batched where the kernel allows);
 *  3. publish E + 1 with one atomic 8-byte store of pw_state.epoch (abi
 *     version before, PW_STATE_ENFORCING and the mode flags after);
 *  4. wait for an RCU grace period: no program still runs with E, so slot
 *     (E & 1) may be written by the next update.
 * A failure before step 3 leaves the epoch (and so the policy in force)
 * untouched; the shadow of slot s is then marked unknown and re-read from
 * the map before the next diff.
 *
 * The map operations are a small vtable (struct pw_mw_ops) so the diff logic
 * is tested against an in-memory fake; pw_mw_open_bpf() gives the real one.
 *
 * ep_id (counter slot) of a local endpoint is stable across generations:
 * keyed by the pod (ns/name), seeded after a restart from the ep_ids found
 * in the active slot (by address).  A newly allocated ep_id gets its
 * counters zeroed.  More than PW_MAX_LOCAL_EPS local pods: the rest get
 * ep_id 0 (counted as "no endpoint") and stats.ep_ids_exhausted says so.
 */
#ifndef PODWALL_MAP_WRITER_H
#define PODWALL_MAP_WRITER_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

#include "podwall/abi.h"
#include "podwall/image.h"

enum pw_mw_kind {
	PW_MW_EP, /* pw_ep_v1: struct pw_ep_key -> struct pw_endpoint */
	PW_MW_IF, /* pw_if_v1: struct pw_if_key -> struct pw_endpoint */
	PW_MW_PEER, /* pw_peer_v1: struct pw_peer_key -> struct pw_peer_val */
	PW_MW_POL, /* pw_pol_v1: struct pw_pol_key -> struct pw_pol_val */
	PW_MW_RANGE, /* pw_range_v1: struct pw_pol_key -> struct pw_range_val */
	PW_MW_HOST, /* pw_host_v1 (ARRAY): slot -> struct pw_hosts; always written */
	PW_MW__KINDS,
};

struct pw_mw_ops {
	/* Write n packed entries; *ret_done = how many were written (prefix). */
	int (*update)(void *ctx, enum pw_mw_kind kind, const void *keys, const void *vals,
		      uint32_t n, uint32_t *ret_done);
	int (*remove)(void *ctx, enum pw_mw_kind kind, const void *keys, uint32_t n,
		      uint32_t *ret_done);
	/* Call cb for every entry (both slots); a non-zero cb result stops and
	 * is returned. */
	int (*iterate)(void *ctx, enum pw_mw_kind kind,
		       int (*cb)(void *arg, const void *key, const void *val), void *arg);
	uint32_t (*max_entries)(void *ctx, enum pw_mw_kind kind); /* 0 = unknown */
	int (*read_state)(void *ctx, struct pw_state *ret);
	/* abi_version, then epoch (one atomic 8-byte store), then flags. */
	int (*publish)(void *ctx, uint64_t epoch, uint32_t flags);
	int (*grace)(void *ctx); /* RCU grace period */
	int (*reset_counters)(void *ctx, uint32_t ep_id); /* may be NULL */
};

/* A local pod address and the host-side interface it resolves to. */
struct pw_mw_local {
	union pw_addr addr;
	uint32_t ifindex;
};

struct pw_mw_view {
	const struct pw_mw_local *local;
	size_t n_local;
	const union pw_addr *host; /* the node's own addresses */
	size_t n_host;
	uint32_t state_flags; /* PW_STATE_AUDIT, PW_STATE_LOG_ALLOW */
	/* Return right after the epoch store; the grace period is owed and
	 * waited for by pw_mw_settle() or at the start of the next apply (the
	 * only thing that needs it is writing that slot again).  Lets the caller
	 * attach new veths without waiting for it. */
	bool defer_grace;
};

struct pw_mw_stats {
	uint64_t epoch; /* published */
	uint32_t slot;
	uint32_t entries[PW_MW__KINDS]; /* in the new generation */
	uint32_t updated[PW_MW__KINDS];
	uint32_t removed[PW_MW__KINDS];
	uint32_t local_eps; /* local endpoints with an ep_id */
	uint32_t ep_ids_exhausted; /* local pods left with ep_id 0 */
	uint32_t duplicates; /* image keys seen twice (last wins) */
	uint64_t write_ns; /* diff + writes */
	uint64_t grace_ns; /* RCU grace period wait */
};

struct pw_mw;
struct pw_loader;

/* Read the state and the contents of both slots (re-adoption: the first
 * apply is a diff too), then wait one grace period (a previous writer may
 * have died right after a publish). */
int pw_mw_new(const struct pw_mw_ops *ops, void *ctx, struct pw_mw **ret);
void pw_mw_free(struct pw_mw *mw);

/* The real backend over the loader's maps (ctx owned by the writer). */
int pw_mw_open_bpf(struct pw_loader *l, struct pw_mw **ret);

int pw_mw_apply(struct pw_mw *mw, const struct pw_image *img, const struct pw_mw_view *view,
		struct pw_mw_stats *ret_stats);

uint64_t pw_mw_epoch(const struct pw_mw *mw);
/* Entries of one kind in one slot as the writer believes them to be. */
uint32_t pw_mw_count(const struct pw_mw *mw, enum pw_mw_kind kind, uint32_t slot);
/* ep_id of a local address in the generation in force (0 = none). */
uint32_t pw_mw_ep_id(const struct pw_mw *mw, const union pw_addr *addr);

/* Key and value sizes per kind; offset of the slot field in the key. */
size_t pw_mw_key_size(enum pw_mw_kind kind);
size_t pw_mw_val_size(enum pw_mw_kind kind);
size_t pw_mw_slot_offset(enum pw_mw_kind kind);

/* Measure one grace period of the real backend's map-in-map update. */
int pw_mw_grace_ns(struct pw_mw *mw, uint64_t *ret_ns);
/* The grace period a defer_grace apply owes, if any (*ret_ns = 0 if none). */
int pw_mw_settle(struct pw_mw *mw, uint64_t *ret_ns);

#endif
