// SPDX-License-Identifier: MIT
/*
 * The upstream Kubernetes e2e NetworkPolicy cases that can be checked
 * offline (tests/data/e2e/<NN-name>/: a 3x3 topology, the case's policies
 * and an `expect` truth table).  Every ordered pod pair of every probe is
 * decided by the evaluator over the compiled directory; a sample of them
 * also through `podwallctl -j trace --policy-dir` (the stable interface).
 */
#include <dirent.h>
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "eval.h"
#include "policy_compile.h"
#include "podwall/model.h"

static char data_dir[512];
static const char *const pods[9] = {
	"x/a", "x/b", "x/c", "y/a", "y/b", "y/c", "z/a", "z/b", "z/c"
};

static bool match(const char *pat, const char *pod)
{
	if (!strcmp(pat, "*"))
		return true;
	if (strlen(pat) == 3 && pat[2] == '*')
		return !strncmp(pat, pod, 2);
	return !strcmp(pat, pod);
}

struct probe {
	uint16_t port;
	uint8_t proto;
	const char *proto_name;
	bool allow[9][9];
};

static int parse_expect(const char *path, struct probe *pr, int max)
{
	char line[256], a[64], b[64], p[16];
	int n = -1, i, j;
	FILE *f = fopen(path, "re");

	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		unsigned port;

		if (line[0] == '#' || line[0] == '\n')
			continue;
		if (sscanf(line, "probe %u/%15s", &port, p) == 2) {
			assert_true(++n < max);
			pr[n].port = (uint16_t)port;
			pr[n].proto = !strcmp(p, "tcp")	  ? PW_PROTO_TCP
				      : !strcmp(p, "udp") ? PW_PROTO_UDP
							  : PW_PROTO_SCTP;
			pr[n].proto_name = !strcmp(p, "tcp")   ? "tcp"
					   : !strcmp(p, "udp") ? "udp"
							       : "sctp";
			for (i = 0; i < 9; i++)
				for (j = 0; j < 9; j++)
					pr[n].allow[i][j] = true;
			continue;
		}
		assert_true(n >= 0);
		if (sscanf(line, "%15s %63s %63s", p, a, b) != 3)
			fail_msg("%s: bad line %s", path, line);
		for (i = 0; i < 9; i++)
			for (j = 0; j < 9; j++)
				if (match(a, pods[i]) && match(b, pods[j]))
					pr[n].allow[i][j] = !strcmp(p, "allow");
	}
	fclose(f);
	return n + 1;
}

/* podwallctl -j trace SRC DST PORT/PROTO --policy-dir DIR -> verdict */
static int ctl_verdict(const char *ctl, const char *dir, const char *s, const char *d,
		       const struct probe *pr)
{
	char cmd[2048], out[8192];
	size_t n;
	json_t *j;
	FILE *p;
	int v = -1;

	snprintf(cmd, sizeof(cmd), "%s -j trace %s %s %u/%s --policy-dir '%s'", ctl, s, d, pr->port,
		 pr->proto_name, dir);
	p = popen(cmd, "re");
	assert_non_null(p);
	n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = 0;
	assert_int_equal(pclose(p), 0);
	j = json_loads(out, 0, NULL);
	assert_non_null(j);
	if (json_is_string(json_object_get(j, "verdict")))
		v = !strcmp(json_string_value(json_object_get(j, "verdict")), "allow");
	assert_non_null(json_object_get(j, "egress"));
	assert_non_null(json_object_get(j, "ingress"));
	json_decref(j);
	return v;
}

static void test_e2e_cases(void **state)
{
	char dir[600], path[1400], ctl[600];
	const char *bd = getenv("BUILD_DIR");
	struct dirent *de;
	size_t n_cases = 0, n_checks = 0, n_ctl = 0, bad = 0;
	bool have_ctl;
	DIR *dp;

	(void)state;
	snprintf(ctl, sizeof(ctl), "%s/podwallctl", bd ? bd : "build");
	have_ctl = access(ctl, X_OK) == 0;
	snprintf(dir, sizeof(dir), "%s/e2e", data_dir);
	dp = opendir(dir);
	assert_non_null(dp);
	while ((de = readdir(dp))) {
		struct probe pr[4];
		struct pw_diags d;
		struct pw_model *m = NULL;
		struct pw_image *img = NULL;
		struct pw_eval_backend be;
		int np, k, i, j;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s/expect", dir, de->d_name);
		np = parse_expect(path, pr, 4);
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		pw_diags_init(&d);
		if (pw_model_load_dir(path, NULL, &m, &d) || pw_compile(m, NULL, &img, &d)) {
			pw_diags_print(&d, stderr, false);
			fail_msg("%s rejected", de->d_name);
		}
		assert_int_equal(pw_eval_image_open(img, &be), 0);
		for (k = 0; k < np; k++)
			for (i = 0; i < 9; i++)
				for (j = 0; j < 9; j++) {
					const struct pw_pod *s, *t;
					struct pw_flow_result r;
					char ns[2][2] = { { pods[i][0], 0 }, { pods[j][0], 0 } };
					bool got;

					if (i == j)
						continue; /* loopback is not part of the suite */
					s = pw_model_pod(m, ns[0], pods[i] + 2);
					t = pw_model_pod(m, ns[1], pods[j] + 2);
					pw_eval_flow(&be, &s->addrs[0], &t->addrs[0], pr[k].proto,
						     pr[k].port, &r);
					got = r.verdict == PW_VERDICT_ALLOW;
					n_checks++;
					if (got != pr[k].allow[i][j] && bad++ < 20)
						fprintf(stderr,
							"%s: %s -> %s %u/%s: got %s, want %s\n",
							de->d_name, pods[i], pods[j], pr[k].port,
							pr[k].proto_name, got ? "allow" : "deny",
							pr[k].allow[i][j] ? "allow" : "deny");
					/* the CLI on a sample: x/a's row and column */
					if (have_ctl && (i == 0 || j == 0) && (i + j) % 2 == 1) {
						int v = ctl_verdict(ctl, path, pods[i], pods[j],
								    &pr[k]);

						n_ctl++;
						if (v != (int)pr[k].allow[i][j] && bad++ < 20)
							fprintf(stderr,
								"%s: podwallctl %s -> %s: %d\n",
								de->d_name, pods[i], pods[j], v);
					}
				}
		pw_eval_image_close(&be);
		pw_image_free(img);
		pw_model_free(m);
		pw_diags_free(&d);
		n_cases++;
	}
	closedir(dp);
	print_message("e2e: %zu cases, %zu pair decisions, %zu through podwallctl%s\n", n_cases,
		      n_checks, n_ctl, have_ctl ? "" : " (podwallctl not built)");
	assert_true(n_cases >= 40);
	assert_int_equal(bad, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_e2e_cases),
	};
	const char *f = __FILE__, *slash = strrchr(f, '/');

	snprintf(data_dir, sizeof(data_dir), "%.*s/../data", slash ? (int)(slash - f) : 1,
		 slash ? f : ".");
	return cmocka_run_group_tests_name("netpol_e2e", tests, NULL, NULL);
}
