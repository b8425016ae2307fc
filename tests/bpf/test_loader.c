// SPDX-License-Identifier: MIT
/*
 * Loader against the kernel, in private bpffs directories: fresh load pins
 * maps and programs; a second load re-adopts the same maps; one instance per
 * directory; a layout mismatch (value size, ABI version) is refused with
 * nothing changed, and replaced only with migrate; the pin of a retired
 * counter map is removed on upgrade; uninstall leaves nothing.
 */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <bpf/bpf.h>

#include "dkern_util.h"
#include "loader.h"

static void quiet(int level, const char *fmt, ...)
{
	(void)level;
	(void)fmt;
}

static char last_err[512];
static void capture(int level, const char *fmt, ...)
{
	va_list ap;

	if (level > PW_DLOG_ERR)
		return;
	va_start(ap, fmt);
	vsnprintf(last_err, sizeof(last_err), fmt, ap);
	va_end(ap);
}

static int exists(const char *dir, const char *name)
{
	char p[512];
	struct stat st;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return stat(p, &st) == 0;
}

static __u32 map_id(int fd)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);

	assert_int_equal(bpf_obj_get_info_by_fd(fd, &info, &len), 0);
	return info.id;
}

static void test_fresh_load_pins_everything(void **state)
{
	(void)state;
	char dir[128];
	struct pw_loader *l;

	DK_SKIP_UNLESS_READY();
	dk_bpffs_name(dir, sizeof(dir), "fresh");
	struct pw_loader_opts o = {
		.bpffs = dir, .tc_obj_path = dk_objs.tc, .xdp_obj_path = dk_objs.xdp, .log = quiet
	};
	assert_int_equal(pw_loader_open(&o, &l), 0);
	assert_false(pw_loader_adopted(l));
	for (int i = 0; i < PW_MAP__COUNT; i++) {
		assert_true(exists(dir, pw_map_name(i)));
		assert_true(pw_loader_map_fd(l, i) >= 0);
	}
	assert_true(exists(dir, "progs/pw_from_pod"));
	assert_true(exists(dir, "progs/pw_to_pod"));
	assert_true(exists(dir, "progs/pw_xdp_from_pod"));
	assert_true(pw_loader_prog_fd(l, "pw_xdp_from_pod") >= 0);
	assert_int_equal(pw_loader_prog_fd(l, "nope"), -ENOENT);
	assert_non_null(pw_loader_state(l));
	assert_int_equal(pw_loader_state(l)->epoch, 0);
	/* the mmap is the map: a store is visible through the syscall */
	pw_loader_state(l)->epoch = 42;
	struct pw_state st;
	__u32 zero = 0;
	assert_int_equal(bpf_map_lookup_elem(pw_loader_map_fd(l, PW_MAP_STATE), &zero, &st), 0);
	assert_int_equal(st.epoch, 42);
	pw_loader_close(l);
	assert_int_equal(pw_uninstall(dir, quiet), 0);
	assert_false(exists(dir, ""));
}

static void test_readopt_same_maps_and_lock(void **state)
{
	(void)state;
	char dir[128];
	struct pw_loader *l, *l2;
	__u32 ep_id;

	DK_SKIP_UNLESS_READY();
	dk_bpffs_name(dir, sizeof(dir), "adopt");
	struct pw_loader_opts o = {
		.bpffs = dir, .tc_obj_path = dk_objs.tc, .xdp_obj_path = dk_objs.xdp, .log = quiet
	};
	assert_int_equal(pw_loader_open(&o, &l), 0);
	ep_id = map_id(pw_loader_map_fd(l, PW_MAP_EP));
	/* a second instance on the same directory is refused */
	assert_int_equal(pw_loader_open(&o, &l2), -EBUSY);
	assert_int_equal(pw_uninstall(dir, quiet), -EBUSY);
	pw_loader_state(l)->epoch = 7;
	pw_loader_state(l)->abi_version = PW_ABI_VERSION;
	pw_loader_close(l);

	assert_int_equal(pw_loader_open(&o, &l), 0);
	assert_true(pw_loader_adopted(l));
	assert_int_equal(map_id(pw_loader_map_fd(l, PW_MAP_EP)), ep_id);
	assert_int_equal(pw_loader_state(l)->epoch, 7);
	pw_loader_close(l);
	assert_int_equal(pw_uninstall(dir, quiet), 0);
}

static __u32 prog_id(int fd)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	assert_int_equal(bpf_obj_get_info_by_fd(fd, &info, &len), 0);
	return info.id;
}

/* The name of the build-* marker in dir (exactly one expected). */
static void marker_name(const char *dir, char *buf, size_t len)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, "build-", 6))
			continue;
		snprintf(buf, len, "%s", de->d_name);
		n++;
	}
	closedir(d);
	assert_int_equal(n, 1);
}

/* A restart of the same build takes the pinned programs: no load. */
static void test_same_build_reuses_pinned_programs(void **state)
{
	(void)state;
	char dir[128], m1[256], m2[256];
	struct pw_loader *l;
	__u32 from_id, xdp_id, ep_id;

	DK_SKIP_UNLESS_READY();
	dk_bpffs_name(dir, sizeof(dir), "reuse");
	struct pw_loader_opts o = {
		.bpffs = dir, .tc_obj_path = dk_objs.tc, .xdp_obj_path = dk_objs.xdp, .log = quiet
	};
	assert_int_equal(pw_loader_open(&o, &l), 0);
	assert_false(pw_loader_reused(l));
	marker_name(dir, m1, sizeof(m1));
	from_id = prog_id(pw_loader_prog_fd(l, "pw_from_pod"));
	xdp_id = prog_id(pw_loader_prog_fd(l, "pw_xdp_from_pod"));
	ep_id = map_id(pw_loader_map_fd(l, PW_MAP_EP));
	pw_loader_state(l)->epoch = 5;
	pw_loader_close(l);

	assert_int_equal(pw_loader_open(&o, &l), 0);
	assert_true(pw_loader_reused(l));
	assert_true(pw_loader_adopted(l));
	marker_name(dir, m2, sizeof(m2));
	assert_string_equal(m1, m2);
	assert_int_equal(prog_id(pw_loader_prog_fd(l, "pw_from_pod")), from_id);
	assert_int_equal(prog_id(pw_loader_prog_fd(l, "pw_xdp_from_pod")), xdp_id);
	assert_true(pw_loader_prog_fd(l, "pw_to_pod") >= 0);
	assert_int_equal(pw_loader_prog_fd(l, "nope"), -ENOENT);
	assert_int_equal(map_id(pw_loader_map_fd(l, PW_MAP_EP)), ep_id);
	for (int i = 0; i < PW_MAP__COUNT; i++)
		assert_true(pw_loader_map_fd(l, i) >= 0);
	assert_true(pw_loader_map_max(l, PW_MAP_POL) > 0);
	assert_int_equal(pw_loader_state(l)->epoch, 5);
	pw_loader_close(l);

	/* Without xdp the identity differs: loaded again. */
	o.no_xdp = 1;
	assert_int_equal(pw_loader_open(&o, &l), 0);
	assert_false(pw_loader_reused(l));
	assert_int_not_equal(prog_id(pw_loader_prog_fd(l, "pw_from_pod")), from_id);
	pw_loader_close(l);
	assert_int_equal(pw_uninstall(dir, quiet), 0);
}

/* A marker of another build (or a missing program pin): load and replace. */
static void test_other_build_reloads_and_replaces_marker(void **state)
{
	(void)state;
	char dir[128], m1[256], m2[256], p1[512], p2[512];
	struct pw_loader *l;
	__u32 from_id, from_id2, ep_id;

	DK_SKIP_UNLESS_READY();
	dk_bpffs_name(dir, sizeof(dir), "rebuild");
	struct pw_loader_opts o = {
		.bpffs = dir, .tc_obj_path = dk_objs.tc, .xdp_obj_path = dk_objs.xdp, .log = quiet
	};
	assert_int_equal(pw_loader_open(&o, &l), 0);
	marker_name(dir, m1, sizeof(m1));
	from_id = prog_id(pw_loader_prog_fd(l, "pw_from_pod"));
	ep_id = map_id(pw_loader_map_fd(l, PW_MAP_EP));
	pw_loader_close(l);

	/* Pretend the pins came from another build. */
	snprintf(p1, sizeof(p1), "%s/%s", dir, m1);
	snprintf(p2, sizeof(p2), "%s/build-0123456789abcdef", dir);
	assert_int_equal(rename(p1, p2), 0);
	assert_int_equal(pw_loader_open(&o, &l), 0);
	assert_false(pw_loader_reused(l));
	assert_true(pw_loader_adopted(l));
	from_id2 = prog_id(pw_loader_prog_fd(l, "pw_from_pod"));
	assert_int_not_equal(from_id2, from_id);
	assert_int_equal(map_id(pw_loader_map_fd(l, PW_MAP_EP)), ep_id); /* maps kept */
	marker_name(dir, m2, sizeof(m2)); /* the other build's marker is gone */
	assert_string_equal(m1, m2);
	pw_loader_close(l);

	/* A program pin missing: loaded again although the marker matches. */
	snprintf(p1, sizeof(p1), "%s/progs/pw_to_pod", dir);
	assert_int_equal(unlink(p1), 0);
	assert_int_equal(pw_loader_open(&o, &l), 0);
	assert_false(pw_loader_reused(l));
	assert_int_not_equal(prog_id(pw_loader_prog_fd(l, "pw_from_pod")), from_id2);
	assert_true(exists(dir, "progs/pw_to_pod"));
	pw_loader_close(l);
	assert_int_equal(pw_uninstall(dir, quiet), 0);
}

static void test_layout_mismatch_refused_then_migrated(void **state)
{
	(void)state;
	char dir[128];
	struct pw_loader *l;
	__u32 ep_id, ct_id;

	DK_SKIP_UNLESS_READY();
	dk_bpffs_name(dir, sizeof(dir), "mismatch");
	/* pins made by a "different build" whose pw_ep_v1 value is 8 bytes */
	struct pw_loader_opts bad = {
		.bpffs = dir, .tc_obj_path = dk_objs.bad, .no_xdp = 1, .log = quiet
	};
	/* the loader refuses an object that disagrees with abi.h */
	assert_int_equal(pw_loader_open(&bad, &l), -EPROTO);
	/* so make the stale pin by hand */
	int fd = bpf_map_create(BPF_MAP_TYPE_HASH, "pw_ep_v1", sizeof(struct pw_ep_key), 8, 16,
				NULL);
	char path[256];
	assert_true(fd >= 0);
	snprintf(path, sizeof(path), "%s/pw_ep_v1", dir);
	assert_int_equal(bpf_obj_pin(fd, path), 0);
	ep_id = map_id(fd);
	close(fd);

	struct pw_loader_opts o = {
		.bpffs = dir, .tc_obj_path = dk_objs.tc, .xdp_obj_path = dk_objs.xdp, .log = capture
	};
	last_err[0] = 0;
	assert_int_equal(pw_loader_open(&o, &l), -EPROTO);
	assert_non_null(strstr(last_err, "pw_ep_v1"));
	assert_non_null(strstr(last_err, "value size 8"));
	/* nothing else was created or changed */
	assert_false(exists(dir, "pw_pol_v1"));
	fd = bpf_obj_get(path);
	assert_int_equal(map_id(fd), ep_id);
	close(fd);

	o.migrate = 1;
	o.log = quiet;
	assert_int_equal(pw_loader_open(&o, &l), 0);
	assert_true(pw_loader_migrated(l));
	assert_int_not_equal(map_id(pw_loader_map_fd(l, PW_MAP_EP)), ep_id);
	ct_id = map_id(pw_loader_map_fd(l, PW_MAP_CT));
	/* ABI version written by a "future" writer: refused, then migrated */
	pw_loader_state(l)->abi_version = PW_ABI_VERSION + 1;
	pw_loader_close(l);
	o.migrate = 0;
	o.log = capture;
	last_err[0] = 0;
	assert_int_equal(pw_loader_open(&o, &l), -EPROTO);
	assert_non_null(strstr(last_err, "pw_state_v1"));
	assert_non_null(strstr(last_err, "ABI version"));
	o.migrate = 1;
	o.log = quiet;
	assert_int_equal(pw_loader_open(&o, &l), 0);
	assert_int_not_equal(map_id(pw_loader_map_fd(l, PW_MAP_CT)), ct_id); /* recreated */
	pw_loader_close(l);
	assert_int_equal(pw_uninstall(dir, quiet), 0);
	assert_false(exists(dir, ""));
}

static int retired_logged;
static void note_retired(int level, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (level == PW_DLOG_INFO && strstr(buf, "pw_cnt_v1") && strstr(buf, "removed"))
		retired_logged++;
}

/* An upgrade from the per-counter layout: the old pw_cnt_v1 pin is removed,
 * everything else is re-adopted as it was (policy, conntrack, state). */
static void test_retired_counter_pin_removed_on_upgrade(void **state)
{
	(void)state;
	char dir[128], path[256];
	struct pw_loader *l;
	__u32 ep_id;
	int fd;

	DK_SKIP_UNLESS_READY();
	dk_bpffs_name(dir, sizeof(dir), "retired");
	struct pw_loader_opts o = {
		.bpffs = dir, .tc_obj_path = dk_objs.tc, .xdp_obj_path = dk_objs.xdp, .log = quiet
	};
	assert_int_equal(pw_loader_open(&o, &l), 0);
	ep_id = map_id(pw_loader_map_fd(l, PW_MAP_EP));
	pw_loader_state(l)->epoch = 9;
	pw_loader_state(l)->abi_version = PW_ABI_VERSION;
	pw_loader_close(l);
	/* what an earlier podwall left: pw_cnt_v1, one element per counter */
	fd = bpf_map_create(BPF_MAP_TYPE_PERCPU_ARRAY, "pw_cnt_v1", 4, sizeof(struct pw_counter),
			    PW_CNT_INDEX(4, 0, 0), NULL);
	assert_true(fd >= 0);
	snprintf(path, sizeof(path), "%s/pw_cnt_v1", dir);
	assert_int_equal(bpf_obj_pin(fd, path), 0);
	close(fd);
	assert_true(exists(dir, "pw_cnt_v1"));

	o.log = note_retired;
	retired_logged = 0;
	assert_int_equal(pw_loader_open(&o, &l), 0);
	assert_false(exists(dir, "pw_cnt_v1"));
	assert_true(exists(dir, "pw_cnt_v2"));
	assert_int_equal(retired_logged, 1);
	assert_true(pw_loader_adopted(l));
	assert_int_equal(map_id(pw_loader_map_fd(l, PW_MAP_EP)), ep_id);
	assert_int_equal(pw_loader_state(l)->epoch, 9);
	pw_loader_close(l);
	/* nothing left to remove the next time */
	retired_logged = 0;
	assert_int_equal(pw_loader_open(&o, &l), 0);
	assert_int_equal(retired_logged, 0);
	pw_loader_close(l);
	assert_int_equal(pw_uninstall(dir, quiet), 0);
	assert_false(exists(dir, ""));
}

static void test_uninstall_missing_dir_is_success(void **state)
{
	(void)state;
	char dir[128];

	DK_SKIP_UNLESS_READY();
	dk_bpffs_name(dir, sizeof(dir), "none");
	assert_int_equal(pw_uninstall(dir, quiet), 0);
}

static int teardown(void **state)
{
	(void)state;
	dk_cleanup_objs();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fresh_load_pins_everything),
		cmocka_unit_test(test_readopt_same_maps_and_lock),
		cmocka_unit_test(test_same_build_reuses_pinned_programs),
		cmocka_unit_test(test_other_build_reloads_and_replaces_marker),
		cmocka_unit_test(test_layout_mismatch_refused_then_migrated),
		cmocka_unit_test(test_retired_counter_pin_removed_on_upgrade),
		cmocka_unit_test(test_uninstall_missing_dir_is_success),
	};

	return cmocka_run_group_tests(tests, NULL, teardown);
}
