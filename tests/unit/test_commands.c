// SPDX-License-Identifier: MIT
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "daemon.h"
#include "names.h"

static struct pw_img_ep eps[1];
static struct pw_img_pod pods[2] = {
	{ .ns = "shop", .name = "api", .first_ep = 0, .n_eps = 1, .set_id = { 5, 0 } },
	{ .ns = "shop", .name = "job", .skip_reason = "phase Succeeded" },
};
static struct pw_img_policy pols[1] = {
	{ .ns = "shop",
	  .name = "api-allow",
	  .file = "shop.yaml",
	  .line = 3,
	  .isolates = { 1, 0 },
	  .n_rules = { 1, 0 },
	  .n_entries = 4,
	  .n_selected = 1 },
};
static struct pw_img_rule rules[1] = {
	{ .policy = 0, .dir = PW_DIR_INGRESS, .index = 0, .text = "from pod=frontend, TCP 8080" }
};
static struct pw_image the_img;
static bool fail_build;

static int build(void *ctx, const char *dir, char *const *ch, size_t n, struct pw_image **ret,
		 char **errs)
{
	(void)ctx, (void)dir, (void)ch, (void)n;
	if (fail_build) {
		*errs = strdup("x.yaml:4:7: bad port\n");
		return -EINVAL;
	}
	*ret = &the_img;
	return 0;
}

static int apply(void *ctx, struct pw_image *img, char **errs)
{
	(void)ctx, (void)img, (void)errs;
	return 0;
}

static void no_free(struct pw_image *img)
{
	(void)img;
}

static struct pw_config cfg;
static struct pw_daemon d;

static int setup(void **state)
{
	static const struct pw_reload_ops ops = { .build = build,
						  .apply = apply,
						  .free_image = no_free };
	char err[128];
	char *argv[] = { "podwalld", "--policy-dir", "/p", "--uplink", "eth0", NULL };

	(void)state;
	pw_addr_parse("10.0.0.2", &eps[0].addr, NULL);
	eps[0].val.flags = PW_EP_LOCAL;
	eps[0].val.ifindex = 9;
	eps[0].val.ep_id = 1;
	the_img = (struct pw_image){ .eps = eps,
				     .n_eps = 1,
				     .pods = pods,
				     .n_pods = 2,
				     .policies = pols,
				     .n_policies = 1,
				     .rules = rules,
				     .n_rules = 1 };
	assert_int_equal(pw_config_parse(&cfg, 5, argv, NULL, err, sizeof(err)), 0);
	memset(&d, 0, sizeof(d));
	d.cfg = &cfg;
	d.cnt_fd = d.rcnt_fd = d.rl_fd = -1;
	assert_int_equal(pw_reload_new(NULL, "/p", &ops, &d.rl), 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	pw_reload_free(d.rl);
	pw_config_free(&cfg);
	return 0;
}

static json_t *call(const char *cmd, const char *req_text)
{
	json_t *req = json_loads(req_text, 0, NULL), *rep = NULL;

	assert_non_null(req);
	for (const struct pw_srv_cmd *c = pw_daemon_cmds; c->name; c++)
		if (strcmp(c->name, cmd) == 0)
			rep = c->fn(&d, req);
	json_decref(req);
	assert_non_null(rep);
	return rep;
}

static void test_before_first_policy(void **state)
{
	json_t *r;

	(void)state;
	r = call("endpoints", "{}");
	assert_non_null(strstr(json_string_value(json_object_get(r, "error")), "no policy"));
	json_decref(r);
	r = call("status", "{}");
	assert_true(json_is_null(json_object_get(r, "policy")));
	assert_string_equal(json_string_value(json_object_get(r, "mode")), "enforce");
	json_decref(r);
}

static void test_reload_status_and_error(void **state)
{
	json_t *r, *rel;

	(void)state;
	r = call("reload", "{}");
	assert_true(json_is_true(json_object_get(r, "ok")));
	json_decref(r);
	fail_build = true;
	r = call("reload", "{}");
	fail_build = false;
	assert_non_null(strstr(json_string_value(json_object_get(r, "error")), "x.yaml:4:7"));
	json_decref(r);
	r = call("status", "{}");
	rel = json_object_get(r, "reload");
	assert_int_equal(json_integer_value(json_object_get(rel, "reloads")), 1);
	assert_int_equal(json_integer_value(json_object_get(rel, "errors")), 1);
	assert_false(json_is_true(json_object_get(rel, "last_ok")));
	assert_non_null(strstr(json_string_value(json_object_get(rel, "last_error")), "bad port"));
	/* the policy in force stays */
	assert_int_equal(
		json_integer_value(json_object_get(json_object_get(r, "policy"), "policies")), 1);
	assert_string_equal(json_string_value(json_array_get(json_object_get(r, "uplinks"), 0)),
			    "eth0");
	json_decref(r);
}

static void test_endpoints_policies_policy(void **state)
{
	json_t *r, *e;

	(void)state;
	assert_int_equal(pw_reload_now(d.rl, "test"), 0);
	r = call("endpoints", "{}");
	e = json_array_get(json_object_get(r, "endpoints"), 0);
	assert_string_equal(json_string_value(json_object_get(e, "name")), "api");
	assert_string_equal(json_string_value(json_array_get(json_object_get(e, "ips"), 0)),
			    "10.0.0.2");
	assert_true(json_is_true(json_object_get(e, "local")));
	assert_true(json_is_true(json_object_get(json_object_get(e, "isolated"), "ingress")));
	assert_false(json_is_true(json_object_get(json_object_get(e, "isolated"), "egress")));
	e = json_array_get(json_object_get(r, "endpoints"), 1);
	assert_string_equal(json_string_value(json_object_get(e, "skipped")), "phase Succeeded");
	json_decref(r);

	r = call("policies", "{}");
	e = json_array_get(json_object_get(r, "policies"), 0);
	assert_string_equal(json_string_value(json_object_get(e, "name")), "api-allow");
	assert_int_equal(json_array_size(json_object_get(e, "policy_types")), 1);
	json_decref(r);

	r = call("policy", "{\"ns\":\"shop\",\"name\":\"api-allow\"}");
	e = json_array_get(json_object_get(json_object_get(r, "policy"), "rules"), 0);
	assert_int_equal(json_integer_value(json_object_get(e, "rule_id")), 1);
	assert_string_equal(json_string_value(json_object_get(e, "text")),
			    "from pod=frontend, TCP 8080");
	json_decref(r);
	r = call("policy", "{\"ns\":\"shop\",\"name\":\"nope\"}");
	assert_string_equal(json_string_value(json_object_get(r, "error")), "no policy shop/nope");
	json_decref(r);
	r = call("policy", "{\"ns\":\"shop\"}");
	assert_non_null(json_object_get(r, "error"));
	json_decref(r);
}

static void test_counters_trace_metrics_without_maps(void **state)
{
	json_t *r;

	(void)state;
	r = call("counters", "{}");
	assert_non_null(strstr(json_string_value(json_object_get(r, "error")), "not available"));
	json_decref(r);
	r = call("trace", "{\"src\":\"shop/a\",\"dst\":\"shop/b\",\"port\":80}");
	assert_non_null(json_object_get(r, "error"));
	json_decref(r);
	r = call("trace", "{}");
	assert_non_null(strstr(json_string_value(json_object_get(r, "error")), "required"));
	json_decref(r);
	r = call("metrics", "{}");
	assert_non_null(
		strstr(json_string_value(json_object_get(r, "metrics")), "podwall_reloads_total "));
	json_decref(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_before_first_policy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reload_status_and_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_endpoints_policies_policy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_counters_trace_metrics_without_maps, setup,
						teardown),
	};

	pw_log_set_level(PW_LOG_ERROR);
	{
		FILE *devnull = fopen("/dev/null", "w");

		pw_log_set_stream(devnull);
	}
	return cmocka_run_group_tests_name("commands", tests, NULL, NULL);
}
