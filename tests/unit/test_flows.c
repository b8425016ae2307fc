// SPDX-License-Identifier: MIT
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "flows.h"
#include "names.h"

/* A small image: pods shop/frontend (10.0.0.1) and shop/api (10.0.0.2,
 * fd00::2), policy shop/api-allow with two ingress rules. */
static struct pw_img_ep eps[3];
static struct pw_img_pod pods[2] = {
	{ .ns = "shop", .name = "frontend", .first_ep = 0, .n_eps = 1 },
	{ .ns = "shop", .name = "api", .first_ep = 1, .n_eps = 2 },
};
static struct pw_img_policy policies[2] = {
	{ .ns = "shop", .name = "api-allow" },
	{ .ns = "shop", .name = "deny-all" },
};
static struct pw_img_rule rules[2] = {
	{ .policy = 0, .dir = PW_DIR_INGRESS, .index = 0, .text = "from pod=frontend, TCP 8080" },
	{ .policy = 0, .dir = PW_DIR_INGRESS, .index = 1, .text = NULL },
};
static uint32_t set_pols[2] = { 0, 1 };
static struct pw_img_set sets[1] = {
	{ .id = 7, .dir = PW_DIR_INGRESS, .policies = set_pols, .n_policies = 2 },
};
static struct pw_image img;

static void addr(union pw_addr *a, const char *s)
{
	assert_int_equal(pw_addr_parse(s, a, NULL), 0);
}

static int setup(void **state)
{
	(void)state;
	memset(&img, 0, sizeof(img));
	addr(&eps[0].addr, "10.0.0.1");
	eps[0].pod = 0;
	addr(&eps[1].addr, "10.0.0.2");
	eps[1].pod = 1;
	eps[1].val.set_id[PW_DIR_INGRESS] = 7;
	addr(&eps[2].addr, "fd00::2");
	eps[2].pod = 1;
	img.eps = eps;
	img.n_eps = 3;
	img.pods = pods;
	img.n_pods = 2;
	img.policies = policies;
	img.n_policies = 2;
	img.rules = rules;
	img.n_rules = 2;
	img.sets = sets;
	img.n_sets = 1;
	return 0;
}

static struct pw_event mkev(const char *src, const char *dst, uint16_t sport, uint16_t dport,
			    uint8_t proto, uint8_t verdict, uint8_t reason, uint32_t rule)
{
	struct pw_event ev;

	memset(&ev, 0, sizeof(ev));
	addr(&ev.src, src);
	addr(&ev.dst, dst);
	ev.sport = sport;
	ev.dport = dport;
	ev.proto = proto;
	ev.verdict = verdict;
	ev.reason = reason;
	ev.rule_id = rule;
	ev.type = verdict == PW_VERDICT_DROP	? PW_EV_DROP
		  : verdict == PW_VERDICT_AUDIT ? PW_EV_AUDIT
						: PW_EV_NEW_FLOW;
	ev.dir = PW_DIR_INGRESS;
	ev.hook = PW_HOOK_TO_POD;
	ev.len = 60;
	ev.ts_ns = 5000000000ull; /* 5 s after boot */
	return ev;
}

struct collect {
	const struct pw_flow_rec *recs[64];
	int n;
};

static int collect_fn(void *ctx, const struct pw_flow_rec *r)
{
	struct collect *c = ctx;

	if (c->n < 64)
		c->recs[c->n++] = r;
	return 0;
}

static struct pw_flows *mkflows(const char *log, uint64_t max, size_t hist)
{
	struct pw_flows_opts o = { .log_path = log, .log_max_bytes = max, .history = hist };
	struct pw_flows *fl;

	assert_int_equal(pw_flows_new(&o, &fl), 0);
	/* 2025-01-02T03:04:00Z at boot, so ts 5 s is 03:04:05 */
	pw_flows_set_clock_offset(fl, 1735787040ll * 1000000000ll);
	assert_int_equal(pw_flows_set_image(fl, &img), 0);
	return fl;
}

static void test_record_names_pods_policy_rule(void **state)
{
	struct pw_flows *fl = mkflows(NULL, 0, 0);
	struct pw_event ev = mkev("10.0.0.1", "10.0.0.2", 40000, 8080, PW_PROTO_TCP,
				  PW_VERDICT_ALLOW, PW_ALLOW_POLICY, 1);
	struct collect c = { .n = 0 };
	json_t *o;

	(void)state;
	ev.ts_ns += 123456000; /* .123456 */
	assert_int_equal(pw_flows_handle_event(fl, &ev, sizeof(ev)), 0);
	pw_flows_foreach(fl, NULL, collect_fn, &c);
	assert_int_equal(c.n, 1);
	o = json_loads(c.recs[0]->line, 0, NULL);
	assert_non_null(o);
	assert_string_equal(json_string_value(json_object_get(o, "time")),
			    "2025-01-02T03:04:05.123456Z");
	assert_string_equal(json_string_value(json_object_get(o, "verdict")), "allow");
	assert_string_equal(json_string_value(json_object_get(o, "reason")), "policy");
	assert_string_equal(json_string_value(json_object_get(o, "direction")), "ingress");
	assert_string_equal(json_string_value(json_object_get(o, "proto")), "tcp");
	assert_string_equal(json_string_value(json_object_get(o, "src_ip")), "10.0.0.1");
	assert_string_equal(json_string_value(json_object_get(o, "dst_ip")), "10.0.0.2");
	assert_int_equal(json_integer_value(json_object_get(o, "src_port")), 40000);
	assert_int_equal(json_integer_value(json_object_get(o, "dst_port")), 8080);
	assert_string_equal(json_string_value(json_object_get(o, "src_pod")), "shop/frontend");
	assert_string_equal(json_string_value(json_object_get(o, "dst_pod")), "shop/api");
	assert_string_equal(json_string_value(json_object_get(o, "policy")), "shop/api-allow");
	assert_int_equal(json_integer_value(json_object_get(o, "rule")), 0);
	assert_string_equal(json_string_value(json_object_get(o, "rule_text")),
			    "from pod=frontend, TCP 8080");
	json_decref(o);
	pw_flows_free(fl);
}

static void test_drop_without_rule_names_isolating_policies(void **state)
{
	struct pw_flows *fl = mkflows(NULL, 0, 0);
	struct pw_event ev = mkev("192.168.9.9", "10.0.0.2", 1, 22, PW_PROTO_TCP, PW_VERDICT_DROP,
				  PW_DROP_POLICY, 0);
	struct collect c = { .n = 0 };
	json_t *o, *iso;

	(void)state;
	assert_int_equal(pw_flows_handle_event(fl, &ev, sizeof(ev)), 0);
	pw_flows_foreach(fl, NULL, collect_fn, &c);
	o = json_loads(c.recs[0]->line, 0, NULL);
	assert_non_null(o);
	assert_string_equal(json_string_value(json_object_get(o, "verdict")), "drop");
	assert_string_equal(json_string_value(json_object_get(o, "reason")), "policy-denied");
	assert_true(json_is_null(json_object_get(o, "src_pod")));
	assert_true(json_is_null(json_object_get(o, "policy")));
	assert_true(json_is_null(json_object_get(o, "rule")));
	iso = json_object_get(o, "isolated_by");
	assert_int_equal(json_array_size(iso), 2);
	assert_string_equal(json_string_value(json_array_get(iso, 1)), "shop/deny-all");
	json_decref(o);
	pw_flows_free(fl);
}

static void test_icmp_and_v6_and_unknown_reason(void **state)
{
	struct pw_flows *fl = mkflows(NULL, 0, 0);
	struct pw_event ev =
		mkev("fd00::2", "fd00::99", 7, 7, PW_PROTO_ICMPV6, PW_VERDICT_AUDIT, 47, 0);
	struct collect c = { .n = 0 };
	json_t *o;

	(void)state;
	ev.dir = PW_DIR_EGRESS;
	assert_int_equal(pw_flows_handle_event(fl, &ev, sizeof(ev)), 0);
	pw_flows_foreach(fl, NULL, collect_fn, &c);
	o = json_loads(c.recs[0]->line, 0, NULL);
	assert_string_equal(json_string_value(json_object_get(o, "src_ip")), "fd00::2");
	assert_string_equal(json_string_value(json_object_get(o, "src_pod")), "shop/api");
	assert_string_equal(json_string_value(json_object_get(o, "proto")), "icmpv6");
	assert_string_equal(json_string_value(json_object_get(o, "verdict")), "audit");
	assert_string_equal(json_string_value(json_object_get(o, "reason")), "reason-47");
	assert_null(json_object_get(o, "src_port"));
	json_decref(o);
	pw_flows_free(fl);
}

static void test_short_record_rejected(void **state)
{
	struct pw_flows *fl = mkflows(NULL, 0, 0);
	char junk[8] = { 0 };
	struct pw_flows_stats st;

	(void)state;
	assert_int_equal(pw_flows_handle_event(fl, junk, sizeof(junk)), -EINVAL);
	pw_flows_get_stats(fl, &st);
	assert_int_equal(st.bad_events, 1);
	assert_int_equal(st.records, 0);
	pw_flows_free(fl);
}

static void feed_mix(struct pw_flows *fl)
{
	struct pw_event evs[] = {
		mkev("10.0.0.1", "10.0.0.2", 1000, 80, PW_PROTO_TCP, PW_VERDICT_ALLOW, 2, 1),
		mkev("10.0.0.1", "10.0.0.2", 1001, 81, PW_PROTO_TCP, PW_VERDICT_DROP, 32, 0),
		mkev("10.9.9.9", "10.0.0.1", 53, 2000, PW_PROTO_UDP, PW_VERDICT_DROP, 32, 0),
		mkev("10.0.0.2", "10.9.9.9", 0, 0, PW_PROTO_ICMP, PW_VERDICT_AUDIT, 32, 0),
	};

	for (size_t i = 0; i < 4; i++) {
		evs[i].ts_ns += i * 60000000000ull; /* one a minute */
		assert_int_equal(pw_flows_handle_event(fl, &evs[i], sizeof(evs[i])), 0);
	}
}

static int count_match(struct pw_flows *fl, const char *req_json, int *ret)
{
	json_t *req = json_loads(req_json, 0, NULL);
	struct pw_flow_filter f;
	struct collect c = { .n = 0 };
	char err[128];
	int r;

	assert_non_null(req);
	/* "now" is 03:10:05, i.e. one minute after the last record */
	r = pw_flow_filter_from_json(req, 1735787405ull * 1000000000ull, &f, err, sizeof(err));
	if (r == 0) {
		pw_flows_foreach(fl, &f, collect_fn, &c);
		*ret = c.n;
	}
	pw_flow_filter_clear(&f);
	json_decref(req);
	return r;
}

static void test_filters(void **state)
{
	struct pw_flows *fl = mkflows(NULL, 0, 0);
	int n;

	(void)state;
	feed_mix(fl);
	assert_int_equal(count_match(fl, "{}", &n), 0);
	assert_int_equal(n, 4);
	assert_int_equal(count_match(fl, "{\"verdict\":\"drop\"}", &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(count_match(fl, "{\"verdict\":\"drop\",\"pod\":\"shop/api\"}", &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(count_match(fl, "{\"pod\":\"shop/frontend\"}", &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(count_match(fl, "{\"ip\":\"10.9.9.9\"}", &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(count_match(fl, "{\"port\":80}", &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(count_match(fl, "{\"port\":53}", &n), 0); /* source port too */
	assert_int_equal(n, 1);
	assert_int_equal(count_match(fl, "{\"since\":\"2025-01-02T03:06:05Z\"}", &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(count_match(fl, "{\"since\":\"2025-01-02T04:06:05+01:00\"}", &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(count_match(fl, "{\"since\":\"4m\"}", &n), 0);
	assert_int_equal(n, 2); /* 03:06:05 and later */
	assert_int_equal(count_match(fl, "{\"limit\":1,\"verdict\":\"drop\"}", &n), 0);
	assert_int_equal(n, 1);

	assert_int_equal(count_match(fl, "{\"verdict\":\"deny\"}", &n), -EINVAL);
	assert_int_equal(count_match(fl, "{\"pod\":\"api\"}", &n), -EINVAL);
	assert_int_equal(count_match(fl, "{\"ip\":\"10.0.0\"}", &n), -EINVAL);
	assert_int_equal(count_match(fl, "{\"port\":0}", &n), -EINVAL);
	assert_int_equal(count_match(fl, "{\"port\":\"80\"}", &n), -EINVAL);
	assert_int_equal(count_match(fl, "{\"since\":\"yesterday\"}", &n), -EINVAL);
	pw_flows_free(fl);
}

static void test_limit_keeps_newest_oldest_first(void **state)
{
	struct pw_flows *fl = mkflows(NULL, 0, 0);
	struct pw_flow_filter f = { .verdict = -1, .port = -1, .limit = 2 };
	struct collect c = { .n = 0 };

	(void)state;
	feed_mix(fl);
	pw_flows_foreach(fl, &f, collect_fn, &c);
	assert_int_equal(c.n, 2);
	assert_true(c.recs[0]->wall_ns < c.recs[1]->wall_ns);
	assert_int_equal(c.recs[1]->ev.proto, PW_PROTO_ICMP); /* the newest */
	pw_flows_free(fl);
}

static void test_history_wraps(void **state)
{
	struct pw_flows *fl = mkflows(NULL, 0, 3);
	struct collect c = { .n = 0 };

	(void)state;
	for (int i = 0; i < 10; i++) {
		struct pw_event ev = mkev("10.0.0.1", "10.0.0.2", (uint16_t)(1000 + i), 80,
					  PW_PROTO_TCP, PW_VERDICT_DROP, 32, 0);
		assert_int_equal(pw_flows_handle_event(fl, &ev, sizeof(ev)), 0);
	}
	pw_flows_foreach(fl, NULL, collect_fn, &c);
	assert_int_equal(c.n, 3);
	assert_int_equal(c.recs[0]->ev.sport, 1007);
	assert_int_equal(c.recs[2]->ev.sport, 1009);
	pw_flows_free(fl);
}

static int sink_calls;
static void sink(void *ctx, const struct pw_flow_rec *r)
{
	(void)ctx;
	assert_non_null(r->line);
	sink_calls++;
}

static void test_sink(void **state)
{
	struct pw_flows *fl = mkflows(NULL, 0, 2);

	(void)state;
	sink_calls = 0;
	pw_flows_set_sink(fl, sink, NULL);
	feed_mix(fl);
	assert_int_equal(sink_calls, 4);
	pw_flows_free(fl);
}

static off_t fsize(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 ? st.st_size : -1;
}

static void test_flow_log_and_rotation(void **state)
{
	char dir[] = "/tmp/pwflowsXXXXXX", path[128], path1[128], line[4096];
	struct pw_flows *fl;
	FILE *f;
	int lines = 0;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/flows.log", dir);
	snprintf(path1, sizeof(path1), "%s/flows.log.1", dir);
	fl = mkflows(path, 4096, 0);
	for (int i = 0; i < 40; i++)
		feed_mix(fl); /* 160 records of ~450 bytes: several rotations */
	pw_flows_free(fl);

	assert_true(fsize(path) > 0);
	assert_true(fsize(path) <= 4096);
	assert_true(fsize(path1) > 0);
	assert_true(fsize(path1) <= 4096);
	f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		json_t *o = json_loads(line, 0, NULL);

		if (!o)
			fail_msg("not JSON: %s", line);
		json_decref(o);
		lines++;
	}
	fclose(f);
	assert_true(lines > 0);
	unlink(path);
	unlink(path1);
	rmdir(dir);
}

static void test_flow_log_unwritable(void **state)
{
	struct pw_flows_opts o = { .log_path = "/nonexistent-dir/flows.log" };
	struct pw_flows *fl;

	(void)state;
	assert_int_equal(pw_flows_new(&o, &fl), -ENOENT);
}

static void test_rfc3339(void **state)
{
	uint64_t ns;
	char buf[64];

	(void)state;
	assert_int_equal(pw_rfc3339_parse("2025-01-02T03:04:05.5Z", &ns), 0);
	pw_rfc3339(ns, buf, sizeof(buf));
	assert_string_equal(buf, "2025-01-02T03:04:05.500000Z");
	assert_int_equal(pw_rfc3339_parse("2025-01-02T03:04:05-02:30", &ns), 0);
	pw_rfc3339(ns, buf, sizeof(buf));
	assert_string_equal(buf, "2025-01-02T05:34:05.000000Z");
	assert_int_equal(pw_rfc3339_parse("2025-01-02 03:04:05Z", &ns), -EINVAL);
	assert_int_equal(pw_rfc3339_parse("2025-01-02T03:04:05", &ns), -EINVAL);
	assert_int_equal(pw_rfc3339_parse("2025-01-02T03:04:05Zjunk", &ns), -EINVAL);
}

/* The reader side of a real ring buffer map: opening and draining an empty
 * one works and yields an epoll fd. */
static void test_ringbuf_open(void **state)
{
	struct pw_flows *fl = mkflows(NULL, 0, 0);
	int fd = bpf_map_create(BPF_MAP_TYPE_RINGBUF, "pwtest_rb", 0, 0, 4096, NULL);
	int epfd;

	(void)state;
	if (fd < 0) {
		pw_flows_free(fl);
		skip(); /* no BPF permission here */
	}
	epfd = pw_flows_open_ringbuf(fl, fd);
	assert_true(epfd >= 0);
	assert_int_equal(pw_flows_poll(fl), 0);
	pw_flows_free(fl);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_record_names_pods_policy_rule),
		cmocka_unit_test(test_drop_without_rule_names_isolating_policies),
		cmocka_unit_test(test_icmp_and_v6_and_unknown_reason),
		cmocka_unit_test(test_short_record_rejected),
		cmocka_unit_test(test_filters),
		cmocka_unit_test(test_limit_keeps_newest_oldest_first),
		cmocka_unit_test(test_history_wraps),
		cmocka_unit_test(test_sink),
		cmocka_unit_test(test_flow_log_and_rotation),
		cmocka_unit_test(test_flow_log_unwritable),
		cmocka_unit_test(test_rfc3339),
		cmocka_unit_test(test_ringbuf_open),
	};

	return cmocka_run_group_tests_name("flows", tests, setup, NULL);
}
