// SPDX-License-Identifier: MIT
/* podwallctl trace --policy-dir: the stable JSON interface, run as a program. */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "ctltest.h"

static json_t *trace_json(const char *what, const char *dir, int want_rc)
{
	char args[1024];
	json_t *j;

	snprintf(args, sizeof(args), "-j trace %s --policy-dir %s/%s", what, ctl_data, dir);
	assert_int_equal(ctl_run(args), want_rc);
	j = json_loads(ctl_out, 0, NULL);
	if (!j)
		fail_msg("not JSON: %s", ctl_out);
	return j;
}

static const char *jstr(json_t *j, const char *a, const char *b)
{
	json_t *v = json_object_get(j, a);

	if (b)
		v = json_object_get(v, b);
	return json_string_value(v);
}

static void test_allow_names_rule(void **state)
{
	json_t *j;

	(void)state;
	j = trace_json("shop/frontend-1 shop/api-7d9f8b6c5-xk2lp 8080/TCP", "kubectl", 0);
	assert_string_equal(jstr(j, "verdict", NULL), "allow");
	assert_true(json_is_false(json_object_get(j, "audit")));
	assert_string_equal(jstr(j, "ingress", "verdict"), "allow");
	assert_string_equal(jstr(j, "ingress", "policy"), "shop/api-allow");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "ingress"), "rule")),
			 0);
	assert_string_equal(jstr(j, "egress", "reason"), "not-isolated");
	assert_string_equal(jstr(j, "proto", NULL), "tcp");
	json_decref(j);
}

static void test_deny_lists_isolating_policies(void **state)
{
	json_t *j, *p;

	(void)state;
	j = trace_json("shop/frontend-1 shop/api-7d9f8b6c5-xk2lp 9090/tcp", "kubectl", 0);
	assert_string_equal(jstr(j, "verdict", NULL), "deny");
	assert_string_equal(jstr(j, "ingress", "verdict"), "deny");
	assert_string_equal(jstr(j, "ingress", "reason"), "policy-deny");
	p = json_object_get(json_object_get(j, "ingress"), "policies");
	assert_int_equal(json_array_size(p), 1);
	assert_string_equal(json_string_value(json_array_get(p, 0)), "shop/api-allow");
	json_decref(j);
}

static void test_address_is_pod_and_proto_case(void **state)
{
	json_t *j;

	(void)state;
	/* 10.244.1.18 is shop/frontend-1; the IPv6 address is the api pod */
	j = trace_json("10.244.1.18 fd00:10:244:1::17 8080/Tcp", "kubectl", 0);
	assert_string_equal(jstr(j, "src", "pod"), "shop/frontend-1");
	assert_string_equal(jstr(j, "dst", "pod"), "shop/api-7d9f8b6c5-xk2lp");
	assert_string_equal(jstr(j, "verdict", NULL), "allow");
	json_decref(j);
	j = trace_json("192.168.7.7 shop/api-7d9f8b6c5-xk2lp 8080/tcp", "kubectl", 0);
	assert_true(json_is_null(json_object_get(json_object_get(j, "src"), "pod")));
	assert_string_equal(jstr(j, "verdict", NULL), "deny");
	json_decref(j);
	j = trace_json("shop/frontend-1 shop/api-7d9f8b6c5-xk2lp 53/UDP", "kubectl", 0);
	assert_string_equal(jstr(j, "proto", NULL), "udp");
	assert_string_equal(jstr(j, "verdict", NULL), "deny");
	json_decref(j);
}

static void test_errors(void **state)
{
	json_t *j;

	(void)state;
	j = trace_json("shop/nope shop/frontend-1 80/tcp", "kubectl", 1);
	assert_non_null(strstr(jstr(j, "error", NULL), "unknown pod shop/nope"));
	json_decref(j);
	j = trace_json("shop/frontend-1 shop/frontend-1 80/icmp", "kubectl", 2);
	assert_non_null(jstr(j, "error", NULL));
	json_decref(j);
	j = trace_json("shop/frontend-1 shop/frontend-1 0/tcp", "kubectl", 2);
	json_decref(j);
	j = trace_json("shop/frontend-1 shop/frontend-1 80/tcp", "bad", 1);
	assert_non_null(strstr(jstr(j, "error", NULL), "invalid policy directory"));
	json_decref(j);
	assert_int_equal(ctl_run("-j trace shop/a shop/b 80/tcp"), 1);
	assert_non_null(strstr(ctl_out, "--policy-dir"));
	assert_int_equal(ctl_run("trace shop/a"), 2);
	assert_int_equal(ctl_run("trace help"), 0);
}

static void test_audit(void **state)
{
	char dir[] = "/tmp/pw-trace-XXXXXX", path[128], args[512];
	json_t *j;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/p.yaml", dir);
	f = fopen(path, "we");
	assert_non_null(f);
	fputs("apiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: x}\nstatus: {phase: "
	      "Running, podIP: 10.0.0.1}\n"
	      "---\napiVersion: v1\nkind: Pod\nmetadata: {name: b, namespace: x}\nstatus: {phase: "
	      "Running, podIP: 10.0.0.2}\n"
	      "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
	      "metadata: {name: p, namespace: x, annotations: {podwall.io/audit: \"true\"}}\nspec: "
	      "{podSelector: {}}\n",
	      f);
	fclose(f);
	snprintf(args, sizeof(args), "-j trace x/a x/b 80/tcp --policy-dir %s", dir);
	assert_int_equal(ctl_run(args), 0);
	j = json_loads(ctl_out, 0, NULL);
	assert_non_null(j);
	assert_string_equal(jstr(j, "verdict", NULL), "deny");
	assert_true(json_is_true(json_object_get(j, "audit")));
	json_decref(j);
	/* text output for people */
	snprintf(args, sizeof(args), "trace x/a x/b 80/tcp --policy-dir %s", dir);
	assert_int_equal(ctl_run(args), 0);
	assert_non_null(strstr(ctl_out, "DENY (audit"));
	assert_non_null(strstr(ctl_out, "no rule of x/p allows it"));
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_allow_names_rule),
		cmocka_unit_test(test_deny_lists_isolating_policies),
		cmocka_unit_test(test_address_is_pod_and_proto_case),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_audit),
	};

	return cmocka_run_group_tests_name("cmd_trace", tests, ctl_setup, NULL);
}
