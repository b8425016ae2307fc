// SPDX-License-Identifier: MIT
/* podwallctl policy (and the dispatcher in ctl/main.c), run as a program. */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "ctltest.h"

static void test_check_valid(void **state)
{
	char args[1024];

	(void)state;
	snprintf(args, sizeof(args), "policy check %s/kubectl", ctl_data);
	assert_int_equal(ctl_run(args), 0);
	assert_non_null(strstr(ctl_out, "valid: 1 namespaces, 2 pods, 1 policies"));
	assert_non_null(strstr(ctl_err, "warning: skipping v1 Service"));
	/* prefixes */
	snprintf(args, sizeof(args), "po ch %s/kubectl", ctl_data);
	assert_int_equal(ctl_run(args), 0);
}

static void test_check_invalid_lists_every_error(void **state)
{
	char args[1024], want[1024];

	(void)state;
	snprintf(args, sizeof(args), "policy check %s/bad", ctl_data);
	assert_int_equal(ctl_run(args), 1);
	snprintf(want, sizeof(want),
		 "%s/bad/01-bad-cidr.yaml:9:23: error: NetworkPolicy x/p: "
		 "spec.ingress[0].from[0].ipBlock.cidr: invalid CIDR \"10.0.0.300/8\"",
		 ctl_data);
	assert_non_null(strstr(ctl_err, want));
	snprintf(want, sizeof(want), "%s/bad/25-bad-audit.yaml:4:67: error:", ctl_data);
	assert_non_null(strstr(ctl_err, want));
	assert_non_null(strstr(ctl_err, "invalid: 25 errors"));
}

static void test_check_json(void **state)
{
	char args[1024];
	json_t *j, *errs;
	size_t i;

	(void)state;
	snprintf(args, sizeof(args), "-j policy check %s/bad", ctl_data);
	assert_int_equal(ctl_run(args), 1);
	j = json_loads(ctl_out, 0, NULL);
	assert_non_null(j);
	assert_true(json_is_false(json_object_get(j, "valid")));
	assert_true(json_is_string(json_object_get(j, "error")));
	errs = json_object_get(j, "errors");
	assert_int_equal(json_array_size(errs), 25);
	for (i = 0; i < json_array_size(errs); i++) {
		json_t *e = json_array_get(errs, i);

		assert_true(json_integer_value(json_object_get(e, "line")) > 0);
		assert_true(json_integer_value(json_object_get(e, "col")) > 0);
		assert_true(json_is_string(json_object_get(e, "file")));
		assert_true(json_is_string(json_object_get(e, "message")));
	}
	json_decref(j);
}

static void test_usage(void **state)
{
	(void)state;
	assert_int_equal(ctl_run("policy check"), 2);
	assert_int_equal(ctl_run("policy frobnicate"), 2);
	assert_int_equal(ctl_run("policy help"), 0);
	assert_non_null(strstr(ctl_out, "check DIR"));
	assert_int_equal(ctl_run("--bogus"), 2);
	assert_int_equal(ctl_run(""), 2);
	assert_int_equal(ctl_run("nosuchobject"), 2);
	assert_int_equal(ctl_run("-j nosuchobject"), 2);
	assert_non_null(strstr(ctl_out, "{\"error\":"));
	assert_int_equal(ctl_run("-h"), 0);
	assert_non_null(strstr(ctl_out, "Usage: podwallctl"));
	assert_int_equal(ctl_run("help"), 0);
	assert_int_equal(ctl_run("-V"), 0);
	assert_non_null(strstr(ctl_out, "podwallctl "));
}

static void test_check_missing_dir(void **state)
{
	(void)state;
	assert_int_equal(ctl_run("policy check /nonexistent-pw-dir"), 1);
	assert_non_null(strstr(ctl_err, "cannot open directory"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_valid),
		cmocka_unit_test(test_check_invalid_lists_every_error),
		cmocka_unit_test(test_check_json),
		cmocka_unit_test(test_usage),
		cmocka_unit_test(test_check_missing_dir),
	};

	return cmocka_run_group_tests_name("cmd_policy", tests, ctl_setup, NULL);
}
