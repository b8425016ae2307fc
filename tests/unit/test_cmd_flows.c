// SPDX-License-Identifier: MIT
/* podwallctl flows: argument parsing, record normalisation, filters, text
 * and JSON output, and reading a flow log offline. */
#include "ctl_test.h"

#include "../../ctl/human.c"
#include "../../ctl/pinned.c"
#include "../../ctl/client.c"
#include "../../ctl/live.c"
#include "../../ctl/cmd_flows.c"

#define NOW 1714557600 /* 2024-05-01T10:00:00Z */

static int parse(struct pw_flow_args *a, int argc, char **argv)
{
	return pw_flows_parse_args(argc, argv, NOW, a);
}

static void test_parse_all_options(void **state)
{
	char *argv[] = { "--follow", "--verdict", "drop",   "--pod", "shop/api",
			 "--ip",     "10.0.0.7",  "--port", "8080",  "--since",
			 "5m",	     "--file",	  "/tmp/x" };
	struct pw_flow_args a;

	(void)state;
	t_reset();
	assert_int_equal(parse(&a, 13, argv), 0);
	assert_true(a.follow);
	assert_string_equal(a.f.verdict, "drop");
	assert_string_equal(a.f.pod, "shop/api");
	assert_true(a.f.has_ip);
	assert_true(a.f.has_port);
	assert_int_equal(a.f.port, 8080);
	assert_true(a.f.has_since);
	assert_true(a.f.since_ns == (int64_t)(NOW - 300) * 1000000000LL);
	assert_string_equal(a.file, "/tmp/x");
}

static void test_parse_prefixes(void **state)
{
	char *argv[] = { "--verd", "au", "-f", "--por", "8" };
	struct pw_flow_args a;

	(void)state;
	t_reset();
	assert_int_equal(parse(&a, 5, argv), 0);
	assert_string_equal(a.f.verdict, "audit");
	assert_true(a.follow);
	assert_int_equal(a.f.port, 8);
}

static void test_parse_errors_are_usage(void **state)
{
	char *bad[][2] = {
		{ "--verdict", "maybe" }, { "--pod", "nopod" }, { "--pod", "a/b/c" },
		{ "--ip", "10.0.0.300" }, { "--port", "0" },	{ "--port", "65536" },
		{ "--port", "80x" },	  { "--since", "5w" },	{ "--since", "yesterday" },
		{ "--bogus", "1" },	  { "extra", "args" },	{ "--p", "1" }, /* ambiguous */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct pw_flow_args a;

		t_reset();
		if (parse(&a, 2, bad[i]) != PW_EXIT_USAGE)
			fail_msg("'%s %s' was accepted", bad[i][0], bad[i][1]);
		assert_int_equal(t_last_err_code, PW_EXIT_USAGE);
	}
	/* an option that needs an argument, at the end */
	{
		char *argv[] = { "--port" };
		struct pw_flow_args a;

		t_reset();
		assert_int_equal(parse(&a, 1, argv), PW_EXIT_USAGE);
	}
}

static void test_usage_error_is_json_in_json_mode(void **state)
{
	char *argv[] = { "--verdict", "nope" };

	(void)state;
	t_reset();
	pw_json = true;
	assert_int_equal(do_flows(2, argv), PW_EXIT_USAGE);
	assert_non_null(t_last_json);
	assert_true(json_is_string(json_object_get(t_last_json, "error")));
	t_reset();
}

static void test_record_flat(void **state)
{
	json_t *r =
		json_loads("{\"ts\":\"2024-05-01T10:00:01.5Z\",\"src\":\"10.0.0.5\","
			   "\"src_pod\":\"shop/frontend\",\"sport\":43210,\"dst\":\"10.0.0.7\","
			   "\"dst_pod\":\"shop/api\",\"dport\":8080,\"proto\":\"tcp\","
			   "\"dir\":\"egress\",\"verdict\":\"drop\",\"reason\":\"policy-denied\","
			   "\"policy\":\"shop/deny\",\"rule\":2}",
			   0, NULL);
	struct pw_flow fl;

	(void)state;
	assert_non_null(r);
	assert_int_equal(pw_flow_from_json(r, &fl), 0);
	assert_true(fl.ts_ns == (int64_t)(NOW + 1) * 1000000000LL + 500000000LL);
	assert_string_equal(fl.src, "10.0.0.5");
	assert_string_equal(fl.src_pod, "shop/frontend");
	assert_int_equal(fl.sport, 43210);
	assert_string_equal(fl.dst_pod, "shop/api");
	assert_int_equal(fl.dport, 8080);
	assert_string_equal(fl.verdict, "drop");
	assert_string_equal(fl.reason, "policy-denied");
	assert_string_equal(fl.policy, "shop/deny");
	assert_string_equal(fl.rule, "2");
	json_decref(r);
}

static void test_record_nested_and_numeric(void **state)
{
	json_t *r = json_loads(
		"{\"time\":1714557601000000000,\"src\":{\"ip\":\"fd00::5\","
		"\"port\":1000,\"ns\":\"a\",\"pod\":\"x\"},\"dst\":{\"addr\":\"fd00::7\","
		"\"port\":53,\"pod\":\"b/y\"},\"verdict\":1,\"reason\":33,"
		"\"direction\":\"ingress\",\"policy\":{\"ns\":\"b\",\"name\":\"p\"}}",
		0, NULL);
	struct pw_flow fl;

	(void)state;
	assert_non_null(r);
	assert_int_equal(pw_flow_from_json(r, &fl), 0);
	assert_true(fl.ts_ns == (int64_t)(NOW + 1) * 1000000000LL);
	assert_string_equal(fl.src_pod, "a/x");
	assert_string_equal(fl.dst_pod, "b/y");
	assert_string_equal(fl.dst, "fd00::7");
	assert_int_equal(fl.sport, 1000);
	assert_string_equal(fl.verdict, "drop");
	assert_string_equal(fl.reason, "spoofed");
	assert_string_equal(fl.dir, "ingress");
	assert_string_equal(fl.policy, "b/p");
	json_decref(r);
	r = json_integer(3);
	assert_int_equal(pw_flow_from_json(r, &fl), -EINVAL);
	json_decref(r);
}

static struct pw_flow mk(const char *verdict, const char *src, const char *spod, int sport,
			 const char *dst, const char *dpod, int dport, int64_t ts_s)
{
	struct pw_flow fl = { .sport = sport, .dport = dport, .ts_ns = ts_s * 1000000000LL };

	snprintf(fl.verdict, sizeof(fl.verdict), "%s", verdict);
	snprintf(fl.src, sizeof(fl.src), "%s", src);
	snprintf(fl.src_pod, sizeof(fl.src_pod), "%s", spod);
	snprintf(fl.dst, sizeof(fl.dst), "%s", dst);
	snprintf(fl.dst_pod, sizeof(fl.dst_pod), "%s", dpod);
	return fl;
}

static void test_filters(void **state)
{
	struct pw_flow a =
		mk("drop", "10.0.0.5", "shop/fe", 40000, "10.0.0.7", "shop/api", 8080, NOW - 10);
	struct pw_flow b = mk("allow", "fd00::1", "", 53, "fd00::2", "kube/dns", 5353, NOW - 4000);
	struct pw_flow_filter f = { 0 };

	(void)state;
	assert_true(pw_flow_match(&f, &a));
	assert_true(pw_flow_match(&f, &b));
	f.verdict = "drop";
	assert_true(pw_flow_match(&f, &a));
	assert_false(pw_flow_match(&f, &b));
	memset(&f, 0, sizeof(f));
	f.pod = "shop/api"; /* destination side */
	assert_true(pw_flow_match(&f, &a));
	assert_false(pw_flow_match(&f, &b));
	f.pod = "shop/f"; /* not a prefix match */
	assert_false(pw_flow_match(&f, &a));
	memset(&f, 0, sizeof(f));
	f.has_ip = true;
	assert_int_equal(pw_ctl_addr_parse("fd00:0::2", &f.ip), 0); /* other spelling */
	assert_false(pw_flow_match(&f, &a));
	assert_true(pw_flow_match(&f, &b));
	memset(&f, 0, sizeof(f));
	f.has_port = true;
	f.port = 53; /* source side */
	assert_true(pw_flow_match(&f, &b));
	assert_false(pw_flow_match(&f, &a));
	memset(&f, 0, sizeof(f));
	f.has_since = true;
	f.since_ns = (int64_t)(NOW - 60) * 1000000000LL;
	assert_true(pw_flow_match(&f, &a));
	assert_false(pw_flow_match(&f, &b));
}

static void test_endpoint_text(void **state)
{
	char b[128];

	(void)state;
	pw_flow_endpoint_text("shop/api", "10.0.0.7", 8080, b, sizeof(b));
	assert_string_equal(b, "shop/api 10.0.0.7:8080");
	pw_flow_endpoint_text("", "fd00::7", 53, b, sizeof(b));
	assert_string_equal(b, "[fd00::7]:53");
	pw_flow_endpoint_text(NULL, "10.0.0.9", -1, b, sizeof(b));
	assert_string_equal(b, "10.0.0.9");
}

static void test_request_shape(void **state)
{
	char *argv[] = { "--verdict", "drop", "--ip",	 "10.0.0.7",
			 "--port",    "80",   "--since", "2024-05-01T09:00:00Z",
			 "-f" };
	struct pw_flow_args a;
	json_t *r;

	(void)state;
	t_reset();
	assert_int_equal(parse(&a, 9, argv), 0);
	r = pw_flows_request(&a);
	assert_string_equal(pw_jstr(r, "cmd"), "flows");
	assert_string_equal(pw_jstr(r, "verdict"), "drop");
	assert_string_equal(pw_jstr(r, "ip"), "10.0.0.7");
	assert_int_equal(pw_jint(r, "port", -1), 80);
	assert_string_equal(pw_jstr(r, "since"), "2024-05-01T09:00:00.000Z");
	assert_true(json_is_true(json_object_get(r, "follow")));
	assert_null(json_object_get(r, "pod"));
	json_decref(r);
}

static const char flowlog[] =
	"{\"ts\":\"2024-05-01T09:59:00Z\",\"src\":\"10.0.0.5\",\"src_pod\":\"shop/fe\","
	"\"sport\":1,\"dst\":\"10.0.0.7\",\"dst_pod\":\"shop/api\",\"dport\":8080,"
	"\"proto\":\"tcp\",\"dir\":\"egress\",\"verdict\":\"allow\",\"reason\":\"policy\","
	"\"policy\":\"shop/allow-fe\",\"rule\":0}\n"
	"not json at all\n"
	"\n"
	"{\"ts\":\"2024-05-01T09:59:30Z\",\"src\":\"10.0.0.6\",\"src_pod\":\"shop/db\","
	"\"sport\":2,\"dst\":\"10.0.0.7\",\"dst_pod\":\"shop/api\",\"dport\":8080,"
	"\"proto\":\"tcp\",\"dir\":\"ingress\",\"verdict\":\"drop\","
	"\"reason\":\"policy-denied\"}\n"
	"{\"ts\":\"2024-05-01T09:00:00Z\",\"src\":\"10.0.0.6\",\"src_pod\":\"shop/db\","
	"\"sport\":3,\"dst\":\"10.0.0.7\",\"dport\":8080,\"verdict\":\"drop\"}\n";

static FILE *flowlog_file(void)
{
	FILE *f = fmemopen((void *)flowlog, sizeof(flowlog) - 1, "r");

	assert_non_null(f);
	return f;
}

static void test_file_json_filtered(void **state)
{
	char *argv[] = { "--verdict", "drop", "--since", "2024-05-01T09:30:00Z" };
	struct pw_flow_args a;
	FILE *f = flowlog_file();
	json_t *arr;

	(void)state;
	t_reset();
	pw_json = true;
	assert_int_equal(parse(&a, 4, argv), 0);
	assert_int_equal(pw_flows_from_file(&a, f, NULL), 0);
	fclose(f);
	arr = t_last_json;
	assert_true(json_is_array(arr));
	assert_int_equal(json_array_size(arr), 1);
	assert_int_equal(pw_jint(json_array_get(arr, 0), "sport", -1), 2);
	t_reset();
}

static void test_file_text_aligned(void **state)
{
	char *argv[] = { "--pod", "shop/api" };
	struct pw_flow_args a;
	FILE *f = flowlog_file();
	char *out, *l1, *l2, *l3;

	(void)state;
	t_reset();
	assert_int_equal(parse(&a, 2, argv), 0);
	t_capture_start();
	assert_int_equal(pw_flows_from_file(&a, f, NULL), 0);
	out = t_capture_end();
	fclose(f);
	/* header + 2 records (the third has no pod names); newest last */
	l1 = out;
	l2 = strchr(l1, '\n') + 1;
	l3 = strchr(l2, '\n') + 1;
	assert_non_null(strstr(l1, "VERDICT"));
	assert_non_null(strstr(l2, "shop/fe 10.0.0.5:1"));
	assert_non_null(strstr(l2, "shop/allow-fe rule 0"));
	assert_non_null(strstr(l3, "shop/db 10.0.0.6:2"));
	assert_non_null(strstr(l3, "drop"));
	assert_null(strchr(l3, '\n') ? strchr(strchr(l3, '\n') + 1, '\n') : NULL);
	/* columns are aligned: DESTINATION starts at the same offset */
	assert_int_equal(strstr(l2, "shop/api") - l2, strstr(l3, "shop/api") - l3);
	assert_int_equal(strstr(l1, "DESTINATION") - l1, strstr(l2, "shop/api") - l2);
	assert_null(strstr(out, "\033[")); /* no colour when not asked */
	free(out);
}

static void test_file_missing(void **state)
{
	char *argv[] = { "--file", "/nonexistent/flows.jsonl" };

	(void)state;
	t_reset();
	pw_json = true;
	assert_int_equal(do_flows(2, argv), PW_EXIT_FAIL);
	assert_non_null(strstr(t_last_err, "/nonexistent/flows.jsonl"));
	assert_true(json_is_object(t_last_json));
	t_reset();
}

static void test_no_daemon_says_so(void **state)
{
	char *argv[] = { "--verdict", "drop" };

	(void)state;
	t_reset();
	assert_int_equal(do_flows(2, argv), PW_EXIT_FAIL);
	assert_non_null(strstr(t_last_err, "podwalld is not running (no socket at "));
	assert_non_null(strstr(t_last_err, "--file"));
}

static void test_help(void **state)
{
	char *argv[] = { "help" };
	char *out;

	(void)state;
	t_reset();
	t_capture_start();
	assert_int_equal(do_flows(1, argv), PW_EXIT_OK);
	out = t_capture_end();
	assert_non_null(strstr(out, "--since"));
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_all_options),
		cmocka_unit_test(test_parse_prefixes),
		cmocka_unit_test(test_parse_errors_are_usage),
		cmocka_unit_test(test_usage_error_is_json_in_json_mode),
		cmocka_unit_test(test_record_flat),
		cmocka_unit_test(test_record_nested_and_numeric),
		cmocka_unit_test(test_filters),
		cmocka_unit_test(test_endpoint_text),
		cmocka_unit_test(test_request_shape),
		cmocka_unit_test(test_file_json_filtered),
		cmocka_unit_test(test_file_text_aligned),
		cmocka_unit_test(test_file_missing),
		cmocka_unit_test(test_no_daemon_says_so),
		cmocka_unit_test(test_help),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
