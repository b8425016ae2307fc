// SPDX-License-Identifier: MIT
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "metrics.h"

static struct pw_img_ep eps[2];
static struct pw_img_pod pods[1] = { { .ns = "shop", .name = "api\"x" } };
static struct pw_img_policy pols[1] = { { .ns = "shop", .name = "allow-fe" } };
static struct pw_img_rule rules[2] = { { .policy = 0, .dir = PW_DIR_INGRESS, .index = 1 },
				       { .policy = 0, .dir = PW_DIR_EGRESS, .index = 0 } };
static struct pw_image img = { .eps = eps,
			       .n_eps = 2,
			       .pods = pods,
			       .n_pods = 1,
			       .policies = pols,
			       .n_policies = 1,
			       .rules = rules,
			       .n_rules = 2 };

static char *format_sample(void)
{
	static uint32_t ids[2] = { 0, 3 };
	static struct pw_counter cnt[2 * 2 * PW_CNT_CODES];
	static struct pw_counter rc[3] = { { 0, 0 }, { 0, 0 }, { 7, 700 } };
	static const struct pw_map_fill maps[] = { { "pw_ep_v1", 12, 65536 },
						   { "pw_pol_v1", 40, 262144 } };
	struct pw_ep_counters ec = { .ep_ids = ids, .n_eps = 2, .cnt = cnt };
	struct pw_metrics_in in = { .img = &img,
				    .eps = &ec,
				    .rules = rc,
				    .n_rules = 2,
				    .reloads = 4,
				    .reload_errors = 1,
				    .reload_duration_s = 0.0125,
				    .maps = maps,
				    .n_maps = 2,
				    .events_suppressed = 9 };
	char *text;

	eps[0].val.ep_id = 3;
	eps[0].pod = 0;
	memset(cnt, 0, sizeof(cnt));
	/* ep 3 ingress: 5 packets dropped by policy, 2 audited */
	cnt[(1 * 2 + PW_DIR_INGRESS) * PW_CNT_CODES + PW_DROP_POLICY] =
		(struct pw_counter){ 5, 500 };
	cnt[(1 * 2 + PW_DIR_INGRESS) * PW_CNT_CODES + PW_CNT_AUDIT(PW_DROP_POLICY)] =
		(struct pw_counter){ 2, 120 };
	/* ep 0 (no endpoint) egress: 3 allowed, host */
	cnt[(0 * 2 + PW_DIR_EGRESS) * PW_CNT_CODES + PW_ALLOW_HOST] = (struct pw_counter){ 3, 9 };
	assert_int_equal(pw_metrics_format(&in, &text), 0);
	return text;
}

static void has(const char *text, const char *line)
{
	if (!strstr(text, line))
		fail_msg("metrics lack: %s\n---\n%s", line, text);
}

static void test_format_series(void **state)
{
	char *t = format_sample();

	(void)state;
	has(t, "podwall_packets_total{endpoint=\"shop/api\\\"x\",direction=\"ingress\","
	       "verdict=\"drop\",reason=\"policy-denied\"} 5\n");
	has(t, "podwall_packets_total{endpoint=\"shop/api\\\"x\",direction=\"ingress\","
	       "verdict=\"audit\",reason=\"policy-denied\"} 2\n");
	has(t, "podwall_packets_total{endpoint=\"none\",direction=\"egress\",verdict=\"allow\","
	       "reason=\"host\"} 3\n");
	has(t, "podwall_bytes_total{endpoint=\"shop/api\\\"x\",direction=\"ingress\","
	       "verdict=\"drop\",reason=\"policy-denied\"} 500\n");
	has(t, "podwall_rule_packets_total{policy=\"shop/allow-fe\",rule=\"egress[0]\"} 7\n");
	has(t, "podwall_reloads_total 4\n");
	has(t, "podwall_reload_errors_total 1\n");
	has(t, "podwall_reload_duration_seconds 0.012500\n");
	has(t, "podwall_map_entries{map=\"pw_pol_v1\"} 40\n");
	has(t, "podwall_map_capacity{map=\"pw_ep_v1\"} 65536\n");
	has(t, "podwall_events_suppressed_total 9\n");
	has(t, "# TYPE podwall_packets_total counter\n");
	/* zero series are left out */
	assert_null(strstr(t, "rule=\"ingress[1]\""));
	free(t);
}

/* Every line is a comment or `name{labels} value` (exposition format). */
static void test_format_grammar(void **state)
{
	char *t = format_sample(), *save = NULL;
	regex_t re;

	(void)state;
	assert_int_equal(regcomp(&re,
				 "^(# (HELP|TYPE) [a-z_]+ "
				 ".+|[a-z_]+(\\{([a-z_]+=\"([^\"\\\\]|\\\\.)*\",?)+\\})? "
				 "[0-9.e+-]+)$",
				 REG_EXTENDED | REG_NOSUB),
			 0);
	for (char *l = strtok_r(t, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		if (regexec(&re, l, 0, NULL, 0))
			fail_msg("bad exposition line: %s", l);
	regfree(&re);
	free(t);
}

static void test_write_file_atomic(void **state)
{
	char dir[] = "/tmp/pwmetXXXXXX", path[128], tmp[140], buf[64];
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/podwall.prom", dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	assert_int_equal(pw_metrics_write_file(path, "a 1\n"), 0);
	assert_int_equal(pw_metrics_write_file(path, "b 2\n"), 0);
	assert_int_equal(access(tmp, F_OK), -1);
	f = fopen(path, "r");
	assert_non_null(f);
	assert_non_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	assert_string_equal(buf, "b 2\n");
	assert_int_equal(pw_metrics_write_file("/nonexistent-dir/x.prom", "x"), -ENOENT);
	unlink(path);
	rmdir(dir);
}

static void test_read_percpu(void **state)
{
	int ncpu = libbpf_num_possible_cpus();
	int fd = bpf_map_create(BPF_MAP_TYPE_PERCPU_ARRAY, "pwtest_cnt", 4,
				sizeof(struct pw_counters), 2 * 2, NULL);
	struct pw_counters *vals;
	struct pw_ep_counters ec;
	uint32_t slot = PW_CNT_SLOT(1, PW_DIR_EGRESS);
	uint32_t key = PW_CNT_INDEX(1, PW_DIR_EGRESS, PW_DROP_SPOOFED);
	uint32_t other = PW_CNT_INDEX(1, PW_DIR_EGRESS, PW_ALLOW_POLICY);

	(void)state;
	if (fd < 0)
		skip(); /* no BPF permission here */
	eps[0].val.ep_id = 1;
	vals = calloc((size_t)ncpu, sizeof(*vals));
	for (int c = 0; c < ncpu; c++) {
		vals[c].code[PW_DROP_SPOOFED] = (struct pw_counter){ (uint64_t)c + 1, 100 };
		vals[c].code[PW_ALLOW_POLICY] = (struct pw_counter){ 1, 7 };
	}
	assert_int_equal(bpf_map_update_elem(fd, &slot, vals, 0), 0);
	assert_int_equal(pw_metrics_read_eps(fd, &img, &ec), 0);
	assert_int_equal(ec.n_eps, 2);
	assert_int_equal(ec.ep_ids[1], 1);
	/* ec.cnt is indexed like PW_CNT_INDEX for ep_ids[i] = i */
	assert_int_equal(ec.cnt[key].packets, (uint64_t)ncpu * (ncpu + 1) / 2);
	assert_int_equal(ec.cnt[key].bytes, (uint64_t)ncpu * 100);
	assert_int_equal(ec.cnt[other].packets, (uint64_t)ncpu);
	assert_int_equal(ec.cnt[other].bytes, (uint64_t)ncpu * 7);
	assert_int_equal(ec.cnt[PW_CNT_INDEX(1, PW_DIR_INGRESS, PW_DROP_SPOOFED)].packets, 0);
	pw_metrics_counters_free(&ec);
	free(vals);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_series),
		cmocka_unit_test(test_format_grammar),
		cmocka_unit_test(test_write_file_atomic),
		cmocka_unit_test(test_read_percpu),
	};

	return cmocka_run_group_tests_name("metrics", tests, NULL, NULL);
}
