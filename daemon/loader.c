// SPDX-License-Identifier: MIT
/* Loader: see loader.h for the pin layout and the re-adoption rules. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <linux/magic.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "attach.h"
#include "loader.h"

#if __has_include("podwall_tc.skel.h")
#include "podwall_tc.skel.h"
#define PW_HAVE_TC_SKEL 1
#endif
#if __has_include("podwall_xdp.skel.h")
#include "podwall_xdp.skel.h"
#define PW_HAVE_XDP_SKEL 1
#endif

#ifndef BPF_FS_MAGIC
#define BPF_FS_MAGIC 0xcafe4a11
#endif

/* What this build expects of each map, from abi.h (0 = whatever the object
 * declares). */
static const struct pw_map_spec {
	const char *name;
	enum bpf_map_type type;
	__u32 key_size;
	__u32 value_size;
} map_specs[PW_MAP__COUNT] = {
	[PW_MAP_STATE] = { "pw_state_v1", BPF_MAP_TYPE_ARRAY, 4, sizeof(struct pw_state) },
	[PW_MAP_EP] = { "pw_ep_v1", BPF_MAP_TYPE_HASH, sizeof(struct pw_ep_key),
			sizeof(struct pw_endpoint) },
	[PW_MAP_IF] = { "pw_if_v1", BPF_MAP_TYPE_HASH, sizeof(struct pw_if_key),
			sizeof(struct pw_endpoint) },
	[PW_MAP_PEER] = { "pw_peer_v1", BPF_MAP_TYPE_LPM_TRIE, sizeof(struct pw_peer_key),
			  sizeof(struct pw_peer_val) },
	[PW_MAP_POL] = { "pw_pol_v1", BPF_MAP_TYPE_HASH, sizeof(struct pw_pol_key),
			 sizeof(struct pw_pol_val) },
	[PW_MAP_RANGE] = { "pw_range_v1", BPF_MAP_TYPE_HASH, sizeof(struct pw_pol_key),
			   sizeof(struct pw_range_val) },
	[PW_MAP_CT] = { "pw_ct_v1", BPF_MAP_TYPE_LRU_HASH, sizeof(struct pw_ct_key),
			sizeof(struct pw_ct_val) },
	[PW_MAP_FRAG] = { "pw_frag_v1", BPF_MAP_TYPE_LRU_HASH, sizeof(struct pw_frag_key),
			  sizeof(struct pw_frag_val) },
	[PW_MAP_CNT] = { "pw_cnt_v2", BPF_MAP_TYPE_PERCPU_ARRAY, 4, sizeof(struct pw_counters) },
	[PW_MAP_RCNT] = { "pw_rcnt_v1", BPF_MAP_TYPE_PERCPU_ARRAY, 4, sizeof(struct pw_counter) },
	[PW_MAP_EVENTS] = { "pw_events_v1", BPF_MAP_TYPE_RINGBUF, 0, 0 },
	[PW_MAP_RL] = { "pw_rl_v1", BPF_MAP_TYPE_PERCPU_ARRAY, 4, sizeof(struct pw_rl) },
	[PW_MAP_HOST] = { "pw_host_v1", BPF_MAP_TYPE_ARRAY, 4, sizeof(struct pw_hosts) },
	[PW_MAP_ATTACH] = { PW_ATTACH_MAP_NAME, BPF_MAP_TYPE_HASH, sizeof(struct pw_att_key),
			    sizeof(struct pw_att_val) },
};

/* Pins of maps that only the datapath writes, renamed by a layout change
 * (abi.h): the programs loaded here no longer use them, so they are removed
 * once this build's programs and maps are in place.  What they counted is
 * lost; policy and conntrack maps are not affected. */
static const char *const retired_pins[] = {
	"pw_cnt_v1", /* counters, one element per counter (now pw_cnt_v2) */
};

#define PW_MAX_OBJS 2
#define PW_MAX_PROGS 16

struct pw_loader {
	char dir[PATH_MAX];
	int lock_fd;
	struct bpf_object *objs[PW_MAX_OBJS];
	/* Programs re-adopted from their pins (reused): names and fds. */
	char prog_names[PW_MAX_PROGS][BPF_OBJ_NAME_LEN * 4];
	int prog_fds[PW_MAX_PROGS];
	int nprogs;
	int reused;
	char build_id[32]; /* "build-<hash of the objects' bytes>" */
	int map_fds[PW_MAP__COUNT];
	__u32 map_max[PW_MAP__COUNT];
	struct pw_state *state;
	size_t state_len;
	int adopted;
	int migrated;
	int migrate;
	void (*log)(int level, const char *fmt, ...);
};

static void default_log(int level, const char *fmt, ...)
{
	va_list ap;

	if (level > PW_DLOG_INFO)
		return;
	va_start(ap, fmt);
	fprintf(stderr, "podwall: %s: ",
		level <= PW_DLOG_ERR	? "error"
		: level == PW_DLOG_WARN ? "warning"
					: "info");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

#define LOG(l, lvl, ...) ((l)->log ? (l)->log : default_log)(lvl, __VA_ARGS__)

const char *pw_map_name(enum pw_map_id id)
{
	if ((unsigned)id >= PW_MAP__COUNT)
		return NULL;
	return map_specs[id].name;
}

static int map_id_by_name(const char *name)
{
	for (int i = 0; i < PW_MAP__COUNT; i++)
		if (!strcmp(map_specs[i].name, name))
			return i;
	return -1;
}

static int mkdir_p(const char *path, mode_t mode)
{
	char buf[PATH_MAX];
	size_t n = strlen(path);

	if (n == 0 || n >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, n + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, mode) && errno != EEXIST)
		return -errno;
	return 0;
}

int pw_bpffs_prepare(const char *dir)
{
	char parent[PATH_MAX];
	struct statfs sfs;
	char *slash;
	int err;

	if (!dir || dir[0] != '/' || strlen(dir) >= sizeof(parent))
		return -EINVAL;
	strcpy(parent, dir);
	while (strlen(parent) > 1 && parent[strlen(parent) - 1] == '/')
		parent[strlen(parent) - 1] = '\0';
	slash = strrchr(parent, '/');
	if (slash == parent)
		slash[1] = '\0';
	else
		*slash = '\0';
	err = mkdir_p(parent, 0755);
	if (err)
		return err;
	if (statfs(parent, &sfs))
		return -errno;
	if ((unsigned long)sfs.f_type != BPF_FS_MAGIC) {
		/* The usual reason is a container without /sys/fs/bpf mounted. */
		if (mount("bpf", parent, "bpf", 0, "mode=0700"))
			return -errno;
	}
	err = mkdir_p(dir, 0700);
	if (err)
		return err;
	if (statfs(dir, &sfs))
		return -errno;
	if ((unsigned long)sfs.f_type != BPF_FS_MAGIC)
		return -ENOTSUP; /* dir is a mount point of something else */
	return 0;
}

int pw_dir_lock(const char *dir, int *ret_fd)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		int err = errno == EWOULDBLOCK ? -EBUSY : -errno;

		close(fd);
		return err;
	}
	*ret_fd = fd;
	return 0;
}

static int path_join(char *buf, size_t len, const char *a, const char *b)
{
	int n = snprintf(buf, len, "%s/%s", a, b);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* Compare a pinned map with the definition this build will create. */
static int check_pin(struct pw_loader *l, const char *path, const char *name, __u32 type, __u32 key,
		     __u32 val, __u32 max, __u32 flags, int *ret_mismatch)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	char why[160] = "";
	int fd, err = 0;

	*ret_mismatch = 0;
	fd = bpf_obj_get(path);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	if (bpf_obj_get_info_by_fd(fd, &info, &len)) {
		err = -errno;
		goto out;
	}
	if (info.type != type)
		snprintf(why, sizeof(why), "type %u, expected %u", info.type, type);
	else if (info.key_size != key)
		snprintf(why, sizeof(why), "key size %u, expected %u", info.key_size, key);
	else if (info.value_size != val)
		snprintf(why, sizeof(why), "value size %u, expected %u", info.value_size, val);
	else if (info.max_entries != max)
		snprintf(why, sizeof(why), "max_entries %u, expected %u", info.max_entries, max);
	else if (info.map_flags != flags)
		snprintf(why, sizeof(why), "flags %#x, expected %#x", info.map_flags, flags);
	if (why[0]) {
		*ret_mismatch = 1;
		LOG(l, l->migrate ? PW_DLOG_WARN : PW_DLOG_ERR,
		    "pinned map %s (%s) has a different layout: %s%s", name, path, why,
		    l->migrate ? "; migrating: it is recreated empty"
			       : "; refusing to reinterpret it (use --migrate to replace it, "
				 "or --uninstall)");
	}
out:
	close(fd);
	return err;
}

static void remove_retired_pins(struct pw_loader *l)
{
	char path[PATH_MAX];

	for (size_t i = 0; i < sizeof(retired_pins) / sizeof(retired_pins[0]); i++) {
		if (path_join(path, sizeof(path), l->dir, retired_pins[i]))
			continue;
		if (!unlink(path))
			LOG(l, PW_DLOG_INFO,
			    "removed %s, a map of an earlier podwall layout (its counters restart "
			    "from zero in its successor)",
			    path);
		else if (errno != ENOENT)
			LOG(l, PW_DLOG_WARN, "cannot remove %s, a map of an earlier layout: %s",
			    path, strerror(errno));
	}
}

/* Unlink every map pin in dir except the attachment record. */
static void unpin_all_maps(struct pw_loader *l)
{
	char path[PATH_MAX];

	for (int i = 0; i < PW_MAP__COUNT; i++) {
		if (i == PW_MAP_ATTACH)
			continue;
		if (!path_join(path, sizeof(path), l->dir, map_specs[i].name))
			unlink(path);
	}
}

/* pw_state_v1 carries the writer's ABI version; other maps may have the
 * same sizes but a different meaning. */
static int check_abi(struct pw_loader *l)
{
	char path[PATH_MAX];
	struct pw_state st = {};
	__u32 zero = 0;
	int fd, err;

	err = path_join(path, sizeof(path), l->dir, map_specs[PW_MAP_STATE].name);
	if (err)
		return err;
	fd = bpf_obj_get(path);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	l->adopted = 1;
	err = bpf_map_lookup_elem(fd, &zero, &st) ? -errno : 0;
	close(fd);
	if (err)
		return 0; /* layout check reports a wrong-sized state map */
	if (st.abi_version == 0 || st.abi_version == PW_ABI_VERSION)
		return 0;
	if (!l->migrate) {
		LOG(l, PW_DLOG_ERR,
		    "pinned map pw_state_v1 (%s) was written by ABI version %u, this build is "
		    "version %u; refusing to reinterpret the pinned maps (use --migrate to replace "
		    "them, losing conntrack, or --uninstall)",
		    path, st.abi_version, PW_ABI_VERSION);
		return -EPROTO;
	}
	LOG(l, PW_DLOG_WARN,
	    "pinned maps were written by ABI version %u, this build is %u: migrating (all maps "
	    "recreated; conntrack and counters are lost, established flows are re-decided)",
	    st.abi_version, PW_ABI_VERSION);
	unpin_all_maps(l);
	l->migrated = 1;
	l->adopted = 0;
	return 0;
}

static int check_object_pins(struct pw_loader *l, struct bpf_object *obj)
{
	char path[PATH_MAX];
	struct bpf_map *map;
	int err, bad = 0;

	bpf_object__for_each_map (map, obj) {
		const char *name = bpf_map__name(map);
		int id, mismatch;

		if (bpf_map__is_internal(map))
			continue;
		id = map_id_by_name(name);
		if (id >= 0 && map_specs[id].key_size &&
		    (bpf_map__type(map) != map_specs[id].type ||
		     bpf_map__key_size(map) != map_specs[id].key_size ||
		     bpf_map__value_size(map) != map_specs[id].value_size)) {
			/* The object disagrees with abi.h: a build error, not a pin issue. */
			LOG(l, PW_DLOG_ERR,
			    "BPF object %s declares map %s with type %u key %u value %u, abi.h "
			    "says "
			    "type %u key %u value %u",
			    bpf_object__name(obj), name, bpf_map__type(map), bpf_map__key_size(map),
			    bpf_map__value_size(map), map_specs[id].type, map_specs[id].key_size,
			    map_specs[id].value_size);
			return -EPROTO;
		}
		err = path_join(path, sizeof(path), l->dir, name);
		if (err)
			return err;
		err = check_pin(l, path, name, bpf_map__type(map), bpf_map__key_size(map),
				bpf_map__value_size(map), bpf_map__max_entries(map),
				bpf_map__map_flags(map), &mismatch);
		if (err)
			return err;
		if (mismatch) {
			if (!l->migrate) {
				bad = 1;
				continue;
			}
			if (unlink(path) && errno != ENOENT)
				return -errno;
			l->migrated = 1;
		}
		err = bpf_map__set_pin_path(map, path);
		if (err)
			return err;
	}
	return bad ? -EPROTO : 0;
}

static int open_object(struct pw_loader *l, const char *path, int xdp, struct bpf_object **ret)
{
	struct bpf_object *obj = NULL;
	const void *buf = NULL;
	size_t sz = 0;
	int err;

	if (path) {
		obj = bpf_object__open_file(path, NULL);
	} else {
#ifdef PW_HAVE_TC_SKEL
		if (!xdp)
			buf = podwall_tc__elf_bytes(&sz);
#endif
#ifdef PW_HAVE_XDP_SKEL
		if (xdp)
			buf = podwall_xdp__elf_bytes(&sz);
#endif
		if (!buf) {
			LOG(l, PW_DLOG_ERR, "this build has no %s datapath object",
			    xdp ? "podwall_xdp" : "podwall_tc");
			return -ENOENT;
		}
		LIBBPF_OPTS(bpf_object_open_opts, oo,
			    .object_name = xdp ? "podwall_xdp" : "podwall_tc");
		obj = bpf_object__open_mem(buf, sz, &oo);
	}
	err = libbpf_get_error(obj);
	if (err) {
		LOG(l, PW_DLOG_ERR, "cannot open BPF object %s: %s",
		    path ? path : (xdp ? "podwall_xdp" : "podwall_tc"), strerror(-err));
		return err;
	}
	*ret = obj;
	return 0;
}

static int pin_programs(struct pw_loader *l, struct bpf_object *obj)
{
	char dir[PATH_MAX], path[PATH_MAX];
	struct bpf_program *prog;
	int err;

	err = path_join(dir, sizeof(dir), l->dir, "progs");
	if (err)
		return err;
	if (mkdir(dir, 0700) && errno != EEXIST)
		return -errno;
	bpf_object__for_each_program (prog, obj) {
		err = path_join(path, sizeof(path), dir, bpf_program__name(prog));
		if (err)
			return err;
		/* The old program stays attached until its filter is replaced. */
		if (unlink(path) && errno != ENOENT)
			return -errno;
		err = bpf_program__pin(prog, path);
		if (err) {
			LOG(l, PW_DLOG_ERR, "cannot pin program %s at %s: %s",
			    bpf_program__name(prog), path, strerror(-err));
			return err;
		}
	}
	return 0;
}

/* pw_attach_v1 is created here, not by a BPF object. */
static int open_attach_record(struct pw_loader *l)
{
	const struct pw_map_spec *s = &map_specs[PW_MAP_ATTACH];
	char path[PATH_MAX];
	int err, mismatch, fd;

	err = path_join(path, sizeof(path), l->dir, s->name);
	if (err)
		return err;
	err = check_pin(l, path, s->name, s->type, s->key_size, s->value_size,
			PW_ATTACH_MAX_ENTRIES, 0, &mismatch);
	if (err)
		return err;
	if (mismatch) {
		/* No migration: uninstall must be able to read it. */
		LOG(l, PW_DLOG_ERR, "run --uninstall with the podwalld that created %s", path);
		return -EPROTO;
	}
	fd = bpf_obj_get(path);
	if (fd < 0) {
		if (errno != ENOENT)
			return -errno;
		err = pw_attach_record_create(&fd);
		if (err)
			return err;
		if (bpf_obj_pin(fd, path)) {
			err = -errno;
			close(fd);
			return err;
		}
	}
	l->map_fds[PW_MAP_ATTACH] = fd;
	l->map_max[PW_MAP_ATTACH] = PW_ATTACH_MAX_ENTRIES;
	return 0;
}

static int collect_maps(struct pw_loader *l)
{
	for (int o = 0; o < PW_MAX_OBJS; o++) {
		struct bpf_map *map;

		if (!l->objs[o])
			continue;
		bpf_object__for_each_map (map, l->objs[o]) {
			int id = map_id_by_name(bpf_map__name(map));

			if (id < 0 || l->map_fds[id] >= 0)
				continue;
			l->map_fds[id] = dup(bpf_map__fd(map));
			if (l->map_fds[id] < 0)
				return -errno;
			fcntl(l->map_fds[id], F_SETFD, FD_CLOEXEC);
			l->map_max[id] = bpf_map__max_entries(map);
		}
	}
	return 0;
}

static int map_state(struct pw_loader *l)
{
	long page = sysconf(_SC_PAGESIZE);
	void *p;

	if (l->map_fds[PW_MAP_STATE] < 0) {
		LOG(l, PW_DLOG_ERR, "the BPF objects have no pw_state_v1 map");
		return -ENOENT;
	}
	l->state_len = (sizeof(struct pw_state) + page - 1) / page * page;
	p = mmap(NULL, l->state_len, PROT_READ | PROT_WRITE, MAP_SHARED, l->map_fds[PW_MAP_STATE],
		 0);
	if (p == MAP_FAILED) {
		LOG(l, PW_DLOG_ERR, "cannot mmap pw_state_v1 (BPF_F_MMAPABLE missing?): %s",
		    strerror(errno));
		return -errno;
	}
	l->state = p;
	return 0;
}

/* ---- build identity and program re-adoption ----
 *
 * Verifying the programs costs far more than everything else a start does.
 * A fresh load pins the programs and then records which build they came
 * from as an empty directory DIR/build-<hash> (bpffs holds no regular
 * files), the hash being FNV-1a 64 over the bytes of the objects.  A start
 * of the same build that finds the marker, every program pin and every
 * map pin re-adopts the pinned programs instead of loading them again.
 */
#define PW_MAX_OBJ_BYTES (64u << 20)

static __u64 fnv1a(__u64 h, const void *buf, size_t n)
{
	const unsigned char *b = buf;

	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

/* Hash one object: the ELF file at path, or the built-in skeleton. */
static int hash_object(const char *path, int xdp, __u64 *h)
{
	const void *buf = NULL;
	size_t sz = 0;

	if (path) {
		char chunk[65536];
		size_t total = 0;
		ssize_t n;
		int fd = open(path, O_RDONLY | O_CLOEXEC);

		if (fd < 0)
			return -errno;
		while ((n = read(fd, chunk, sizeof(chunk))) > 0) {
			total += (size_t)n;
			if (total > PW_MAX_OBJ_BYTES) {
				close(fd);
				return -EFBIG;
			}
			*h = fnv1a(*h, chunk, (size_t)n);
		}
		close(fd);
		return n < 0 ? -EIO : 0;
	}
#ifdef PW_HAVE_TC_SKEL
	if (!xdp)
		buf = podwall_tc__elf_bytes(&sz);
#endif
#ifdef PW_HAVE_XDP_SKEL
	if (xdp)
		buf = podwall_xdp__elf_bytes(&sz);
#endif
	if (!buf)
		return -ENOENT;
	*h = fnv1a(*h, buf, sz);
	return 0;
}

static int build_identity(struct pw_loader *l, const struct pw_loader_opts *opts)
{
	__u64 h = 0xcbf29ce484222325ull;
	int err;

	err = hash_object(opts->tc_obj_path, 0, &h);
	if (!err && !opts->no_xdp)
		err = hash_object(opts->xdp_obj_path, 1, &h);
	if (err)
		return err;
	h = fnv1a(h, opts->no_xdp ? "no-xdp" : "xdp", opts->no_xdp ? 6 : 3);
	snprintf(l->build_id, sizeof(l->build_id), "build-%016llx", (unsigned long long)h);
	return 0;
}

/* Remove every build marker (before the programs' pins change). */
static int remove_markers(struct pw_loader *l)
{
	DIR *d = opendir(l->dir);
	struct dirent *de;
	int err = 0;

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		char path[PATH_MAX];

		if (strncmp(de->d_name, "build-", 6))
			continue;
		if (path_join(path, sizeof(path), l->dir, de->d_name) ||
		    (rmdir(path) && errno != ENOENT)) {
			err = -errno;
			break;
		}
	}
	closedir(d);
	return err;
}

static int write_marker(struct pw_loader *l)
{
	char path[PATH_MAX];
	int err = path_join(path, sizeof(path), l->dir, l->build_id);

	if (err)
		return err;
	if (mkdir(path, 0700) && errno != EEXIST)
		return -errno;
	return 0;
}

static int pin_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

/*
 * Re-adopt the pinned programs of this very build.  Returns 0 when every
 * program was taken from its pin, 1 when they must be loaded (no marker of
 * this build, a pin missing or not what it should be), or -errno.
 */
static int try_reuse(struct pw_loader *l)
{
	char path[PATH_MAX];
	int err;

	err = path_join(path, sizeof(path), l->dir, l->build_id);
	if (err)
		return err;
	if (l->migrated || !pin_exists(path))
		return 1;
	for (int o = 0; o < PW_MAX_OBJS; o++) {
		struct bpf_program *prog;
		struct bpf_map *map;

		if (!l->objs[o])
			continue;
		bpf_object__for_each_map (map, l->objs[o]) {
			if (!bpf_map__is_internal(map) &&
			    (!bpf_map__pin_path(map) || !pin_exists(bpf_map__pin_path(map))))
				return 1;
		}
		bpf_object__for_each_program (prog, l->objs[o]) {
			struct bpf_prog_info info = {};
			__u32 len = sizeof(info);
			char dir[PATH_MAX];
			const char *name = bpf_program__name(prog);
			int fd;

			if (l->nprogs >= PW_MAX_PROGS || strlen(name) >= sizeof(l->prog_names[0]))
				return -E2BIG;
			err = path_join(dir, sizeof(dir), l->dir, "progs");
			if (!err)
				err = path_join(path, sizeof(path), dir, name);
			if (err)
				return err;
			fd = bpf_obj_get(path);
			if (fd < 0)
				return errno == ENOENT ? 1 : -errno;
			/* The kernel keeps the first BPF_OBJ_NAME_LEN - 1 bytes. */
			if (bpf_obj_get_info_by_fd(fd, &info, &len) ||
			    info.type != (__u32)bpf_program__type(prog) ||
			    strncmp(info.name, name, BPF_OBJ_NAME_LEN - 1)) {
				close(fd);
				return 1;
			}
			strcpy(l->prog_names[l->nprogs], name);
			l->prog_fds[l->nprogs++] = fd;
		}
	}
	return 0;
}

static void drop_reused(struct pw_loader *l)
{
	for (int i = 0; i < l->nprogs; i++)
		close(l->prog_fds[i]);
	l->nprogs = 0;
}

/* The maps of re-adopted programs: their pins. */
static int collect_pinned_maps(struct pw_loader *l)
{
	for (int o = 0; o < PW_MAX_OBJS; o++) {
		struct bpf_map *map;

		if (!l->objs[o])
			continue;
		bpf_object__for_each_map (map, l->objs[o]) {
			struct bpf_map_info info = {};
			__u32 len = sizeof(info);
			int id = map_id_by_name(bpf_map__name(map));

			if (id < 0 || l->map_fds[id] >= 0 || bpf_map__is_internal(map))
				continue;
			l->map_fds[id] = bpf_obj_get(bpf_map__pin_path(map));
			if (l->map_fds[id] < 0)
				return -errno;
			if (bpf_obj_get_info_by_fd(l->map_fds[id], &info, &len))
				return -errno;
			l->map_max[id] = info.max_entries;
		}
	}
	return 0;
}

int pw_loader_open(const struct pw_loader_opts *opts, struct pw_loader **ret)
{
	struct pw_loader *l;
	const char *paths[PW_MAX_OBJS];
	int err;

	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->lock_fd = -1;
	for (int i = 0; i < PW_MAP__COUNT; i++)
		l->map_fds[i] = -1;
	l->log = opts->log;
	l->migrate = opts->migrate;
	if (strlen(opts->bpffs ? opts->bpffs : PW_BPFFS_DEFAULT) >= sizeof(l->dir)) {
		err = -ENAMETOOLONG;
		goto fail;
	}
	strcpy(l->dir, opts->bpffs ? opts->bpffs : PW_BPFFS_DEFAULT);

	err = pw_bpffs_prepare(l->dir);
	if (err) {
		LOG(l, PW_DLOG_ERR, "cannot prepare bpffs directory %s: %s", l->dir,
		    strerror(-err));
		goto fail;
	}
	err = pw_dir_lock(l->dir, &l->lock_fd);
	if (err) {
		LOG(l, PW_DLOG_ERR, "%s: %s", l->dir,
		    err == -EBUSY ? "another podwalld holds this bpffs directory" : strerror(-err));
		goto fail;
	}
	err = check_abi(l);
	if (err)
		goto fail;
	err = build_identity(l, opts);
	if (err) {
		LOG(l, PW_DLOG_ERR, "cannot read the BPF objects: %s", strerror(-err));
		goto fail;
	}

	paths[0] = opts->tc_obj_path;
	paths[1] = opts->xdp_obj_path;
	for (int o = 0; o < PW_MAX_OBJS; o++) {
		if (o == 1 && opts->no_xdp)
			continue;
		err = open_object(l, paths[o], o, &l->objs[o]);
		if (err)
			goto fail;
		err = check_object_pins(l, l->objs[o]);
		if (err)
			goto fail;
	}
	/* The same build's programs, pinned: no load, no verification. */
	err = try_reuse(l);
	if (err < 0)
		goto fail;
	if (err == 0) {
		l->reused = 1;
		err = collect_pinned_maps(l);
		if (err)
			goto fail;
		LOG(l, PW_DLOG_INFO, "re-adopted the pinned programs of this build (%s)",
		    l->build_id);
	} else {
		drop_reused(l);
		/* Load only after every pin was checked: a refusal changes nothing. */
		for (int o = 0; o < PW_MAX_OBJS; o++) {
			if (!l->objs[o])
				continue;
			err = bpf_object__load(l->objs[o]);
			if (err) {
				LOG(l, PW_DLOG_ERR, "cannot load BPF object %s: %s",
				    bpf_object__name(l->objs[o]), strerror(-err));
				goto fail;
			}
		}
		/* No marker while the program pins change. */
		err = remove_markers(l);
		if (err)
			goto fail;
		for (int o = 0; o < PW_MAX_OBJS; o++) {
			if (!l->objs[o])
				continue;
			err = pin_programs(l, l->objs[o]);
			if (err)
				goto fail;
		}
		err = write_marker(l);
		if (err)
			goto fail;
		err = collect_maps(l);
		if (err)
			goto fail;
	}
	remove_retired_pins(l);
	err = open_attach_record(l);
	if (err)
		goto fail;
	err = map_state(l);
	if (err)
		goto fail;
	*ret = l;
	return 0;
fail:
	pw_loader_close(l);
	return err;
}

void pw_loader_close(struct pw_loader *l)
{
	if (!l)
		return;
	if (l->state)
		munmap(l->state, l->state_len);
	for (int i = 0; i < PW_MAP__COUNT; i++)
		if (l->map_fds[i] >= 0)
			close(l->map_fds[i]);
	drop_reused(l);
	for (int o = 0; o < PW_MAX_OBJS; o++)
		bpf_object__close(l->objs[o]);
	if (l->lock_fd >= 0)
		close(l->lock_fd);
	free(l);
}

int pw_loader_map_fd(const struct pw_loader *l, enum pw_map_id id)
{
	if ((unsigned)id >= PW_MAP__COUNT || l->map_fds[id] < 0)
		return -ENOENT;
	return l->map_fds[id];
}

uint32_t pw_loader_map_max(const struct pw_loader *l, enum pw_map_id id)
{
	if ((unsigned)id >= PW_MAP__COUNT)
		return 0;
	return l->map_max[id];
}

int pw_loader_prog_fd(const struct pw_loader *l, const char *name)
{
	if (l->reused) {
		for (int i = 0; i < l->nprogs; i++)
			if (!strcmp(l->prog_names[i], name))
				return l->prog_fds[i];
		return -ENOENT;
	}
	for (int o = 0; o < PW_MAX_OBJS; o++) {
		struct bpf_program *p;

		if (!l->objs[o])
			continue;
		p = bpf_object__find_program_by_name(l->objs[o], name);
		if (p)
			return bpf_program__fd(p);
	}
	return -ENOENT;
}

struct pw_state *pw_loader_state(const struct pw_loader *l)
{
	return l->state;
}

int pw_loader_adopted(const struct pw_loader *l)
{
	return l->adopted;
}

int pw_loader_reused(const struct pw_loader *l)
{
	return l->reused;
}

int pw_loader_migrated(const struct pw_loader *l)
{
	return l->migrated;
}

const char *pw_loader_dir(const struct pw_loader *l)
{
	return l->dir;
}

/* Remove every pin below dir (bpffs holds only pins and directories). */
static int remove_tree(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int err = 0;

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		char path[PATH_MAX];

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (path_join(path, sizeof(path), dir, de->d_name)) {
			err = -ENAMETOOLONG;
			continue;
		}
		if (de->d_type == DT_DIR) {
			int e = remove_tree(path);

			if (e && !err)
				err = e;
		} else if (unlink(path) && !err) {
			err = -errno;
		}
	}
	closedir(d);
	if (rmdir(dir) && !err)
		err = -errno;
	return err;
}

int pw_uninstall(const char *bpffs, void (*log)(int level, const char *fmt, ...))
{
	struct pw_loader tmp = { .log = log };
	char path[PATH_MAX];
	struct stat st;
	int lock_fd, fd, err;

	if (!bpffs)
		bpffs = PW_BPFFS_DEFAULT;
	if (stat(bpffs, &st))
		return errno == ENOENT ? 0 : -errno;
	err = pw_dir_lock(bpffs, &lock_fd);
	if (err) {
		LOG(&tmp, PW_DLOG_ERR, "%s: %s", bpffs,
		    err == -EBUSY ? "a podwalld is running on this directory; stop it first"
				  : strerror(-err));
		return err;
	}
	err = path_join(path, sizeof(path), bpffs, PW_ATTACH_MAP_NAME);
	if (err)
		goto out;
	fd = bpf_obj_get(path);
	if (fd >= 0) {
		err = pw_detach_all(fd);
		close(fd);
		if (err) {
			/* Keep the record so that a second run can finish the job. */
			LOG(&tmp, PW_DLOG_ERR, "some attachments could not be removed: %s",
			    strerror(-err));
			goto out;
		}
	} else if (errno != ENOENT) {
		err = -errno;
		LOG(&tmp, PW_DLOG_ERR, "cannot open %s: %s", path, strerror(errno));
		goto out;
	}
	err = remove_tree(bpffs);
	if (err)
		LOG(&tmp, PW_DLOG_ERR, "cannot remove %s: %s", bpffs, strerror(-err));
out:
	close(lock_fd);
	return err;
}
