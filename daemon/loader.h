/* SPDX-License-Identifier: MIT */
/*
 * Loader: the BPF objects and their pins under one bpffs directory.
 *
 * Layout under DIR (--bpffs, default /sys/fs/bpf/podwall):
 *   DIR/<map name>          every non-internal map of the tc and xdp objects
 *                           (pw_state_v1, pw_ep_v1, ... as in abi.h)
 *   DIR/pw_attach_v1        HASH created here: record of every tc filter and
 *                           XDP program podwall attached (see attach.h)
 *   DIR/progs/<prog name>   every program (pw_from_pod, pw_to_pod, ...)
 * DIR itself is flock()ed (LOCK_EX) by the running instance: one instance
 * per bpffs directory; the lock goes with the process.
 *
 * Re-adoption: each map gets bpf_map__set_pin_path() so libbpf reuses an
 * existing pin.  Before that, every existing pin is compared with what this
 * build declares (type, key size, value size, max_entries, flags, and for
 * known maps the abi.h struct sizes; pw_state_v1.abi_version).  A mismatch
 * is refused (-EPROTO, the map named in the message) unless opts.migrate is
 * set: then the mismatching pins are removed and recreated (for an ABI
 * version change: all pins) and their contents, conntrack included, are
 * lost.
 *
 * Programs: a fresh load pins them under DIR/progs and then marks the
 * directory with an empty directory DIR/build-<hash>, the hash (FNV-1a 64)
 * of the bytes of the BPF objects (and whether xdp was loaded).  A start of
 * the same build that finds its marker, every program pin (of the right
 * type and name) and every map pin re-adopts the pinned programs with
 * bpf_obj_get() and skips loading and verification; any other start loads
 * this build's programs, replaces their pins and the marker (attach then
 * replaces the tc filters with BPF_TC_F_REPLACE).  tc filters and XDP
 * attachments hold their own references, so enforcement does not depend on
 * the daemon or on the program pins.
 */
#ifndef PODWALL_LOADER_H
#define PODWALL_LOADER_H

#include <stddef.h>
#include <stdint.h>

#include "podwall/abi.h"

#define PW_BPFFS_DEFAULT "/sys/fs/bpf/podwall"
#define PW_ATTACH_MAP_NAME "pw_attach_v1"

enum pw_map_id {
	PW_MAP_STATE,
	PW_MAP_EP,
	PW_MAP_IF,
	PW_MAP_PEER,
	PW_MAP_POL,
	PW_MAP_RANGE,
	PW_MAP_CT,
	PW_MAP_FRAG,
	PW_MAP_CNT,
	PW_MAP_RCNT,
	PW_MAP_EVENTS,
	PW_MAP_RL,
	PW_MAP_HOST,
	PW_MAP_ATTACH, /* created by the loader, not by a BPF object */
	PW_MAP__COUNT,
};

/* The name a map is pinned under (abi.h names). */
const char *pw_map_name(enum pw_map_id id);

struct pw_loader_opts {
	const char *bpffs; /* pin directory; NULL = PW_BPFFS_DEFAULT */
	int migrate; /* replace pins whose layout differs (contents lost) */
	int no_xdp; /* do not load the xdp object */
	/* Load these ELF files instead of the built-in skeletons (tests, and
	 * builds without the datapath objects). */
	const char *tc_obj_path;
	const char *xdp_obj_path;
	/* Logging: a printf-like sink for warnings and errors (NULL: stderr). */
	void (*log)(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
};

#define PW_DLOG_ERR 3
#define PW_DLOG_WARN 4
#define PW_DLOG_INFO 6
#define PW_DLOG_DEBUG 7

struct pw_loader;

/*
 * Take the directory lock (-EBUSY if another instance holds it), mount bpffs
 * on the parent of the directory if it is not bpffs, check existing pins,
 * load both objects with maps pinned (reused when compatible), pin the
 * programs, create/open pw_attach_v1 and mmap pw_state_v1.
 */
int pw_loader_open(const struct pw_loader_opts *opts, struct pw_loader **ret);

/* Close fds and unmap; pins, attachments and enforcement stay. */
void pw_loader_close(struct pw_loader *l);

/* fd of a map (owned by the loader), or -ENOENT if this build has no such map. */
int pw_loader_map_fd(const struct pw_loader *l, enum pw_map_id id);
/* max_entries of a map as loaded, 0 if unknown. */
uint32_t pw_loader_map_max(const struct pw_loader *l, enum pw_map_id id);

/* fd of a program by name (pw_from_pod, pw_to_pod, pw_xdp_from_pod, ...). */
int pw_loader_prog_fd(const struct pw_loader *l, const char *name);

/* The mmap()ed pw_state_v1 value (shared with the kernel). */
struct pw_state *pw_loader_state(const struct pw_loader *l);

/* 1 if pins were re-adopted (pw_state_v1 existed), 0 if created fresh. */
int pw_loader_adopted(const struct pw_loader *l);
/* 1 if the pinned programs of this same build were re-adopted (not loaded). */
int pw_loader_reused(const struct pw_loader *l);
/* 1 if a layout mismatch was migrated (contents such as conntrack lost). */
int pw_loader_migrated(const struct pw_loader *l);

const char *pw_loader_dir(const struct pw_loader *l);

/* ---- pieces usable without a loader ---- */

/* statfs the parent of dir; mount bpffs there if it is not bpffs; mkdir
 * dir (0700).  Returns 0 or -errno. */
int pw_bpffs_prepare(const char *dir);

/* Open dir and flock it (LOCK_EX|LOCK_NB).  -EBUSY if held elsewhere. */
int pw_dir_lock(const char *dir, int *ret_fd);

/*
 * Remove everything podwall installed for this directory: every tc filter
 * and XDP program listed in pw_attach_v1 (and the clsact qdiscs podwall
 * created, when nothing else uses them), every pin, the directory.  Needs
 * no BPF object.  -EBUSY if a daemon holds the lock (stop it first).
 * A directory that does not exist is success.
 */
int pw_uninstall(const char *bpffs, void (*log)(int level, const char *fmt, ...));

#endif
