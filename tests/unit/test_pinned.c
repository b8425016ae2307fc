// SPDX-License-Identifier: MIT
/*
 * Reading podwall's pinned maps without the daemon: real maps pinned in a
 * private bpffs directory (a fresh bpffs mount when /sys/fs/bpf is not
 * bpffs), then pinned.c and the fallback paths of status, endpoint list,
 * counters, metrics and policy list read them.
 */
#include <errno.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <linux/magic.h>

#include "ctl_test.h"

#include "../../ctl/human.c"
#include "../../ctl/pinned.c"
#include "../../ctl/client.c"
#include "../../ctl/live.c"
#include "../../ctl/cmd_status.c"
#include "../../ctl/cmd_endpoint.c"
#include "../../ctl/cmd_counters.c"
#include "../../ctl/cmd_metrics.c"
#include "../../ctl/cmd_policy_live.c"

static char dir[256];
static char mnt[256]; /* set when we mounted bpffs ourselves */
static const char *skip_why;

static int pin_map(const char *name, enum bpf_map_type type, uint32_t ks, uint32_t vs, uint32_t max,
		   uint32_t flags)
{
	LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = flags);
	char path[PATH_MAX];
	int fd = bpf_map_create(type, name, ks, vs, max, &o);

	if (fd < 0)
		return -errno;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (bpf_obj_pin(fd, path)) {
		close(fd);
		return -errno;
	}
	return fd;
}

static union pw_addr v4(const char *s)
{
	union pw_addr a;

	assert_int_equal(pw_ctl_addr_parse(s, &a), 0);
	return a;
}

static int setup(void **state)
{
	struct statfs sfs;
	int ncpu = libbpf_num_possible_cpus();
	int fd_state, fd_ep, fd_pol, fd_cnt, fd_rcnt;
	struct pw_state st = { .epoch = 3,
			       .abi_version = PW_ABI_VERSION,
			       .flags = PW_STATE_ENFORCING };
	uint32_t k0 = 0;

	(void)state;
	if (geteuid() != 0) {
		skip_why = "needs root (bpf maps and bpffs)";
		return 0;
	}
	if (statfs("/sys/fs/bpf", &sfs) == 0 && sfs.f_type == BPF_FS_MAGIC) {
		snprintf(dir, sizeof(dir), "/sys/fs/bpf/pwtest-ctl-%d", getpid());
		if (mkdir(dir, 0700)) {
			skip_why = "cannot create a directory in /sys/fs/bpf";
			return 0;
		}
	} else {
		snprintf(mnt, sizeof(mnt), "/tmp/pwtest-ctl-bpffs-%d", getpid());
		if (mkdir(mnt, 0700) || mount("bpffs", mnt, "bpf", 0, "mode=0700")) {
			rmdir(mnt);
			mnt[0] = 0;
			skip_why = "cannot mount a private bpffs";
			return 0;
		}
		snprintf(dir, sizeof(dir), "%s", mnt);
	}
	fd_state = pin_map("pw_state_v1", BPF_MAP_TYPE_ARRAY, 4, sizeof(struct pw_state), 1, 0);
	fd_ep = pin_map("pw_ep_v1", BPF_MAP_TYPE_HASH, sizeof(struct pw_ep_key),
			sizeof(struct pw_endpoint), 64, 0);
	fd_pol = pin_map("pw_pol_v1", BPF_MAP_TYPE_HASH, sizeof(struct pw_pol_key),
			 sizeof(struct pw_pol_val), 64, 0);
	fd_cnt = pin_map("pw_cnt_v2", BPF_MAP_TYPE_PERCPU_ARRAY, 4, sizeof(struct pw_counters),
			 PW_CNT_SLOT(8, 0), 0);
	fd_rcnt = pin_map("pw_rcnt_v1", BPF_MAP_TYPE_PERCPU_ARRAY, 4, sizeof(struct pw_counter), 16,
			  0);
	if (fd_state < 0 || fd_ep < 0 || fd_pol < 0 || fd_cnt < 0 || fd_rcnt < 0) {
		skip_why = "cannot create BPF maps";
		return 0;
	}
	assert_int_equal(bpf_map_update_elem(fd_state, &k0, &st, 0), 0);
	{
		/* slot 1 is current (epoch 3): two local addresses of one pod, a
		 * remote pod; slot 0 holds a stale entry that must not show */
		struct pw_ep_key k = { .slot = 1, .addr = v4("10.0.0.5") };
		struct pw_endpoint e = { .identity = 17,
					 .ifindex = 1,
					 .flags = PW_EP_LOCAL,
					 .ep_id = 1,
					 .set_id = { 4, 0 } };

		assert_int_equal(bpf_map_update_elem(fd_ep, &k, &e, 0), 0);
		k.addr = v4("fd00::5");
		assert_int_equal(bpf_map_update_elem(fd_ep, &k, &e, 0), 0);
		k.addr = v4("10.0.1.9");
		e = (struct pw_endpoint){ .identity = 18 };
		assert_int_equal(bpf_map_update_elem(fd_ep, &k, &e, 0), 0);
		k.slot = 0;
		k.addr = v4("10.9.9.9");
		assert_int_equal(bpf_map_update_elem(fd_ep, &k, &e, 0), 0);
	}
	{
		struct pw_pol_key k = {
			.slot = 1, .set_id = 4, .peer_id = 17, .proto = 6, .port = 80
		};
		struct pw_pol_val v = { .rule_id = 1 };

		assert_int_equal(bpf_map_update_elem(fd_pol, &k, &v, 0), 0);
		k.port = 443;
		assert_int_equal(bpf_map_update_elem(fd_pol, &k, &v, 0), 0);
		k.slot = 0; /* other slot: not counted for generation 3 */
		assert_int_equal(bpf_map_update_elem(fd_pol, &k, &v, 0), 0);
	}
	{
		/* per-CPU values: every CPU counts, the reader must sum them */
		struct pw_counter vals[ncpu];
		struct pw_counters *cs = calloc((size_t)ncpu, sizeof(*cs));
		uint32_t idx;

		assert_non_null(cs);
		for (int c = 0; c < ncpu; c++) {
			vals[c] = (struct pw_counter){ .packets = 2, .bytes = 100 };
			cs[c].code[PW_DROP_POLICY] = vals[c];
		}
		idx = PW_CNT_SLOT(1, PW_DIR_INGRESS);
		assert_int_equal(bpf_map_update_elem(fd_cnt, &idx, cs, 0), 0);
		/* two codes in one element: each is its own counter */
		for (int c = 0; c < ncpu; c++) {
			cs[c].code[PW_DROP_POLICY] = (struct pw_counter){ 0, 0 };
			cs[c].code[PW_CNT_AUDIT(PW_DROP_SPOOFED)] = vals[c];
		}
		idx = PW_CNT_SLOT(1, PW_DIR_EGRESS);
		assert_int_equal(bpf_map_update_elem(fd_cnt, &idx, cs, 0), 0);
		for (int c = 0; c < ncpu; c++) {
			cs[c].code[PW_CNT_AUDIT(PW_DROP_SPOOFED)] = (struct pw_counter){ 0, 0 };
			cs[c].code[PW_ALLOW_POLICY] = vals[c];
		}
		idx = PW_CNT_SLOT(2, PW_DIR_EGRESS);
		assert_int_equal(bpf_map_update_elem(fd_cnt, &idx, cs, 0), 0);
		free(cs);
		idx = 1;
		assert_int_equal(bpf_map_update_elem(fd_rcnt, &idx, vals, 0), 0);
	}
	close(fd_state);
	close(fd_ep);
	close(fd_pol);
	close(fd_cnt);
	close(fd_rcnt);
	pw_bpffs_dir = dir;
	return 0;
}

static int teardown(void **state)
{
	static const char *names[] = { "pw_state_v1", "pw_ep_v1", "pw_pol_v1", "pw_cnt_v2",
				       "pw_rcnt_v1" };
	char path[PATH_MAX];

	(void)state;
	t_reset();
	if (!dir[0])
		return 0;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		unlink(path);
	}
	if (mnt[0]) {
		umount2(mnt, MNT_DETACH);
		rmdir(mnt);
	} else {
		rmdir(dir);
	}
	return 0;
}

#define NEED_MAPS()                                 \
	do {                                        \
		if (skip_why) {                     \
			printf("# %s\n", skip_why); \
			skip();                     \
		}                                   \
	} while (0)

static void test_cnt_decode(void **state)
{
	uint32_t ep;
	uint8_t dir_, verdict, reason;

	(void)state;
	pw_cnt_decode(PW_CNT_INDEX(7, PW_DIR_EGRESS, PW_CNT_AUDIT(PW_DROP_REVOKED)), &ep, &dir_,
		      &verdict, &reason);
	assert_int_equal(ep, 7);
	assert_int_equal(dir_, PW_DIR_EGRESS);
	assert_int_equal(verdict, PW_VERDICT_AUDIT);
	assert_int_equal(reason, PW_DROP_REVOKED);
	pw_cnt_decode(PW_CNT_INDEX(0, PW_DIR_INGRESS, PW_ALLOW_REPLY), &ep, &dir_, &verdict,
		      &reason);
	assert_int_equal(ep, 0);
	assert_int_equal(verdict, PW_VERDICT_ALLOW);
	assert_int_equal(reason, PW_ALLOW_REPLY);
	pw_cnt_decode(PW_CNT_INDEX(3, PW_DIR_INGRESS, PW_DROP_MALFORMED), &ep, &dir_, &verdict,
		      &reason);
	assert_int_equal(verdict, PW_VERDICT_DROP);
	assert_int_equal(reason, PW_DROP_MALFORMED);
}

static void test_addr_roundtrip(void **state)
{
	union pw_addr a;
	char b[64];

	(void)state;
	assert_int_equal(pw_ctl_addr_parse("192.168.1.2", &a), 0);
	assert_int_equal(a.b[10], 0xff);
	pw_ctl_addr_format(&a, b, sizeof(b));
	assert_string_equal(b, "192.168.1.2");
	assert_int_equal(pw_ctl_addr_parse("fd00::1", &a), 0);
	pw_ctl_addr_format(&a, b, sizeof(b));
	assert_string_equal(b, "fd00::1");
	assert_int_equal(pw_ctl_addr_parse("1.2.3", &a), -EINVAL);
	assert_string_equal(pw_ctl_reason_name(PW_DROP_POLICY), "policy-denied");
	assert_string_equal(pw_ctl_reason_name(200), "unknown");
}

static void test_open_missing_dir(void **state)
{
	struct pw_pinned *p = NULL;

	(void)state;
	assert_int_equal(pw_pinned_open("/nonexistent/podwall", &p), -ENOENT);
	assert_null(p);
}

static void test_state_endpoints_sets(void **state)
{
	struct pw_pinned *p;
	struct pw_state st;
	struct pw_pinned_ep *eps;
	struct pw_pinned_set *sets;
	size_t n, ns;
	char b[64];

	(void)state;
	NEED_MAPS();
	assert_int_equal(pw_pinned_open(dir, &p), 0);
	assert_int_equal(pw_pinned_state(p, &st), 0);
	assert_int_equal(st.epoch, 3);
	assert_int_equal(pw_pinned_endpoints(p, st.epoch & 1, &eps, &n), 0);
	assert_int_equal(n, 3);
	pw_ctl_addr_format(&eps[2].addr, b, sizeof(b)); /* sorted: v4-mapped after fd00:: ? */
	for (size_t i = 0; i < n; i++) {
		pw_ctl_addr_format(&eps[i].addr, b, sizeof(b));
		assert_string_not_equal(b, "10.9.9.9");
	}
	free(eps);
	assert_int_equal(pw_pinned_sets(p, 1, &sets, &ns), 0);
	assert_int_equal(ns, 1);
	assert_int_equal(sets[0].set_id, 4);
	assert_int_equal(sets[0].entries, 2);
	free(sets);
	pw_pinned_close(p);
}

static void test_counters_summed(void **state)
{
	struct pw_pinned *p;
	struct pw_pinned_cnt *c = NULL;
	struct pw_pinned_rcnt *rc = NULL;
	size_t n, nr;
	int ncpu = libbpf_num_possible_cpus();

	(void)state;
	NEED_MAPS();
	assert_int_equal(pw_pinned_open(dir, &p), 0);
	assert_int_equal(pw_pinned_counters(p, &c, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(c[0].ep_id, 1);
	assert_int_equal(c[0].verdict, PW_VERDICT_DROP);
	assert_int_equal(c[0].reason, PW_DROP_POLICY);
	assert_int_equal(c[0].packets, 2 * ncpu);
	assert_int_equal(c[0].bytes, 100 * ncpu);
	assert_int_equal(c[1].verdict, PW_VERDICT_AUDIT);
	assert_int_equal(c[1].reason, PW_DROP_SPOOFED);
	assert_int_equal(c[2].ep_id, 2);
	free(c);
	assert_int_equal(pw_pinned_rule_counters(p, &rc, &nr), 0);
	assert_int_equal(nr, 1);
	assert_int_equal(rc[0].rule_id, 1);
	free(rc);
	pw_pinned_close(p);
}

static void test_fill(void **state)
{
	struct pw_pinned *p;
	struct pw_pinned_fill f[PW_PINNED_NMAPS];

	(void)state;
	NEED_MAPS();
	assert_int_equal(pw_pinned_open(dir, &p), 0);
	assert_int_equal(pw_pinned_fill(p, f), 0);
	for (int i = 0; i < PW_PINNED_NMAPS; i++) {
		if (!strcmp(f[i].name, "pw_ep_v1")) {
			assert_true(f[i].present);
			assert_int_equal(f[i].entries, 4); /* both slots */
			assert_int_equal(f[i].max_entries, 64);
		}
		if (!strcmp(f[i].name, "pw_ct_v1"))
			assert_false(f[i].present);
	}
	pw_pinned_close(p);
}

static void test_status_json_fallback(void **state)
{
	json_t *o;

	(void)state;
	NEED_MAPS();
	t_reset();
	pw_json = true;
	assert_int_equal(do_status(0, NULL), PW_EXIT_OK);
	o = t_last_json;
	assert_string_equal(pw_jstr(o, "source"), "pinned");
	assert_int_equal(pw_jint(o, "generation", -1), 3);
	assert_int_equal(pw_jint(o, "endpoints", -1), 3);
	assert_int_equal(pw_jint(o, "local_endpoints", -1), 2);
	assert_int_equal(pw_jint(o, "entries", -1), 2);
	assert_string_equal(pw_jstr(o, "mode"), "enforce");
	assert_true(json_is_array(json_object_get(o, "maps")));
	assert_non_null(pw_jstr(o, "unavailable"));
	t_reset();
}

static void test_status_text_fallback(void **state)
{
	char *out;

	(void)state;
	NEED_MAPS();
	t_reset();
	t_capture_start();
	assert_int_equal(do_status(0, NULL), PW_EXIT_OK);
	out = t_capture_end();
	assert_non_null(strstr(out, "generation:  3"));
	assert_non_null(strstr(out, "pw_ep_v1"));
	assert_non_null(strstr(out, "6.2%")); /* 4 of 64 */
	free(out);
}

static void test_endpoint_list_fallback(void **state)
{
	json_t *arr, *e;
	size_t i;
	int local = 0;
	char *argv[] = { "list" };
	char *out;

	(void)state;
	NEED_MAPS();
	t_reset();
	pw_json = true;
	assert_int_equal(do_endpoint(1, argv), PW_EXIT_OK);
	arr = json_object_get(t_last_json, "endpoints");
	assert_int_equal(json_array_size(arr), 3);
	json_array_foreach(arr, i, e)
	{
		if (json_is_true(json_object_get(e, "local"))) {
			local++;
			assert_int_equal(pw_jint(e, "ingress_set", -1), 4);
			assert_string_equal(pw_jstr(e, "veth"), "lo"); /* ifindex 1 */
		}
	}
	assert_int_equal(local, 2);
	t_reset();
	t_capture_start();
	assert_int_equal(do_endpoint(1, argv), PW_EXIT_OK);
	out = t_capture_end();
	assert_non_null(strstr(out, "isolated (set 4)"));
	assert_non_null(strstr(out, "remote pod"));
	assert_non_null(strstr(out, "known only to podwalld"));
	free(out);
}

static void test_counters_fallback(void **state)
{
	char *a1[] = { "--endpoint", "10.0.0.5" };
	char *a2[] = { "--endpoint", "shop/api" };
	char *a3[] = { "--endpoint", "2" };
	char *a4[] = { "--bogus" };
	json_t *eps;
	char *out;

	(void)state;
	NEED_MAPS();
	t_reset();
	pw_json = true;
	assert_int_equal(do_counters(2, a1), PW_EXIT_OK);
	eps = json_object_get(t_last_json, "endpoints");
	assert_int_equal(json_array_size(eps), 2);
	assert_string_equal(pw_jstr(json_array_get(eps, 0), "reason"), "policy-denied");
	assert_string_equal(pw_jstr(json_array_get(eps, 1), "verdict"), "audit");
	assert_int_equal(do_counters(2, a3), PW_EXIT_OK);
	assert_int_equal(json_array_size(json_object_get(t_last_json, "endpoints")), 1);
	assert_int_equal(do_counters(2, a2), PW_EXIT_FAIL);
	assert_non_null(strstr(t_last_err, "known only to the daemon"));
	assert_non_null(pw_jstr(t_last_json, "error"));
	assert_int_equal(do_counters(1, a4), PW_EXIT_USAGE);
	t_reset();
	t_capture_start();
	assert_int_equal(do_counters(0, NULL), PW_EXIT_OK);
	out = t_capture_end();
	assert_non_null(strstr(out, "10.0.0.5"));
	assert_non_null(strstr(out, " pkts"));
	assert_non_null(strstr(out, "RULE"));
	free(out);
}

static void test_metrics_fallback(void **state)
{
	char *text = NULL;
	struct pw_pinned *p;
	json_t *arr, *e;
	size_t i;
	bool found = false;

	(void)state;
	NEED_MAPS();
	assert_int_equal(pw_pinned_open(dir, &p), 0);
	assert_int_equal(pw_metrics_from_pinned(p, &text), 0);
	pw_pinned_close(p);
	assert_non_null(strstr(text, "# TYPE podwall_packets_total counter"));
	assert_non_null(strstr(text, "podwall_policy_generation 3\n"));
	arr = pw_metrics_to_json(text);
	json_array_foreach(arr, i, e)
	{
		json_t *l = json_object_get(e, "labels");

		if (!strcmp(pw_jstr(e, "name"), "podwall_packets_total") &&
		    !strcmp(pw_jstr(l, "reason"), "policy-denied")) {
			found = true;
			assert_true(json_real_value(json_object_get(e, "value")) ==
				    2.0 * libbpf_num_possible_cpus());
		}
	}
	assert_true(found);
	json_decref(arr);
	free(text);
}

static void test_metrics_parse(void **state)
{
	json_t *arr = pw_metrics_to_json("# HELP x y\nup 1\nm{a=\"b\\\"c\",d=\"\"} 2.5\n"
					 "garbage{\nm2{a=\"1\"} notanumber\n");

	(void)state;
	assert_int_equal(json_array_size(arr), 2);
	assert_string_equal(pw_jstr(json_array_get(arr, 1), "name"), "m");
	assert_string_equal(pw_jstr(json_object_get(json_array_get(arr, 1), "labels"), "a"),
			    "b\"c");
	json_decref(arr);
}

static void test_policy_fallback(void **state)
{
	char *argv[] = { "shop/api" };

	(void)state;
	NEED_MAPS();
	t_reset();
	pw_json = true;
	assert_int_equal(cmd_policy_list(0, NULL), PW_EXIT_OK);
	assert_true(json_is_null(json_object_get(t_last_json, "policies")));
	assert_int_equal(json_array_size(json_object_get(t_last_json, "policy_sets")), 1);
	assert_int_equal(cmd_policy_show(1, argv), PW_EXIT_FAIL);
	assert_non_null(strstr(t_last_err, "needs the daemon"));
	t_reset();
}

static void test_no_maps_no_daemon(void **state)
{
	const char *saved = pw_bpffs_dir;

	(void)state;
	t_reset();
	pw_bpffs_dir = "/nonexistent/podwall";
	pw_json = true;
	assert_int_equal(do_status(0, NULL), PW_EXIT_FAIL);
	assert_non_null(strstr(t_last_err, "podwalld is not running (no socket at"));
	assert_non_null(strstr(t_last_err, "no podwall maps are pinned under /nonexistent"));
	pw_bpffs_dir = saved;
	t_reset();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cnt_decode),
		cmocka_unit_test(test_addr_roundtrip),
		cmocka_unit_test(test_open_missing_dir),
		cmocka_unit_test(test_state_endpoints_sets),
		cmocka_unit_test(test_counters_summed),
		cmocka_unit_test(test_fill),
		cmocka_unit_test(test_status_json_fallback),
		cmocka_unit_test(test_status_text_fallback),
		cmocka_unit_test(test_endpoint_list_fallback),
		cmocka_unit_test(test_counters_fallback),
		cmocka_unit_test(test_metrics_fallback),
		cmocka_unit_test(test_metrics_parse),
		cmocka_unit_test(test_policy_fallback),
		cmocka_unit_test(test_no_maps_no_daemon),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
