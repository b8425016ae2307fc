// SPDX-License-Identifier: MIT
/*
 * Parser and validation: verbatim kubectl output, defaulting, every
 * malformed input of tests/data/bad with its file:line:col, limits.
 */
#include <dirent.h>
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

#include "podwall/model.h"

/* tests/data, found from this file's path (tests run from the repo root) */
static char data_dir[512];

static void find_data(void)
{
	const char *f = __FILE__, *slash = strrchr(f, '/');

	snprintf(data_dir, sizeof(data_dir), "%.*s/../data", slash ? (int)(slash - f) : 1,
		 slash ? f : ".");
}

static struct pw_model *load_str(const char *yaml, struct pw_diags *d, int want)
{
	struct pw_model *m = NULL;

	pw_diags_init(d);
	assert_int_equal(pw_model_load_buffer("t.yaml", yaml, strlen(yaml), NULL, &m, d), want);
	if (!want)
		assert_non_null(m);
	else
		assert_null(m);
	return m;
}

static bool has_diag(const struct pw_diags *d, enum pw_severity sev, const char *frag)
{
	size_t i;

	for (i = 0; i < d->n; i++) {
		char *s = pw_diag_format(&d->v[i]);
		bool hit = d->v[i].sev == sev && strstr(s, frag);

		free(s);
		if (hit)
			return true;
	}
	return false;
}

static void test_kubectl_verbatim(void **state)
{
	char dir[600];
	struct pw_diags d;
	struct pw_model *m = NULL;
	const struct pw_pod *p;
	const struct pw_ns *ns;
	union pw_addr a;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/kubectl", data_dir);
	pw_diags_init(&d);
	assert_int_equal(pw_model_load_dir(dir, NULL, &m, &d), 0);
	assert_int_equal(d.n_errors, 0);
	assert_true(has_diag(&d, PW_SEV_WARNING, "skipping v1 Service"));
	assert_int_equal(m->n_pods, 2);
	assert_int_equal(m->n_policies, 1);
	p = pw_model_pod(m, "shop", "api-7d9f8b6c5-xk2lp");
	assert_non_null(p);
	assert_int_equal(p->n_addrs, 2);
	pw_addr_parse("fd00:10:244:1::17", &a, NULL);
	assert_memory_equal(&p->addrs[1], &a, sizeof(a));
	assert_int_equal(p->phase, PW_PHASE_RUNNING);
	assert_string_equal(p->iface, "veth1a2b3c");
	assert_string_equal(p->node_name, "node-1");
	assert_int_equal(pw_pod_named_port(p, "http", PW_PROTO_TCP), 8080);
	assert_int_equal(pw_pod_named_port(p, "metrics", PW_PROTO_TCP), 9090);
	assert_int_equal(pw_pod_named_port(p, "http", PW_PROTO_UDP), 0);
	assert_string_equal(pw_labels_get(&p->labels, "app"), "api");
	ns = pw_model_ns(m, "shop");
	assert_true(ns->defined);
	assert_string_equal(pw_labels_get(&ns->labels, "env"), "prod");
	assert_string_equal(pw_labels_get(&ns->labels, "kubernetes.io/metadata.name"), "shop");
	assert_int_equal(m->policies[0]->pos.line, 3);
	assert_non_null(strstr(m->policies[0]->pos.file, "policies.yaml"));
	pw_model_free(m);
	pw_diags_free(&d);
}

static void test_defaults(void **state)
{
	struct pw_diags d;
	struct pw_model *m;
	const struct pw_policy *p;
	const struct pw_ns *ns;

	(void)state;
	m = load_str("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p}\n"
		     "spec:\n  egress: [{ports: [{port: 80}, {protocol: UDP}]}]\n",
		     &d, 0);
	p = m->policies[0];
	assert_string_equal(p->ns, "default");
	assert_true(p->types[PW_DIR_INGRESS]); /* the egress-only trap, as the API server */
	assert_true(p->types[PW_DIR_EGRESS]);
	assert_true(p->pod_sel.present);
	assert_int_equal(p->rules[PW_DIR_EGRESS][0].ports[0].proto, PW_PROTO_TCP);
	assert_int_equal(p->rules[PW_DIR_EGRESS][0].ports[1].proto, PW_PROTO_UDP);
	assert_int_equal(p->rules[PW_DIR_EGRESS][0].ports[1].port, 0);
	/* the namespace exists implicitly with only its name label */
	ns = pw_model_ns(m, "default");
	assert_non_null(ns);
	assert_false(ns->defined);
	assert_int_equal(ns->labels.n, 1);
	assert_string_equal(pw_labels_get(&ns->labels, "kubernetes.io/metadata.name"), "default");
	pw_model_free(m);
	pw_diags_free(&d);

	/* empty egress list: Ingress only */
	m = load_str("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p}\n"
		     "spec:\n  podSelector: {}\n  egress: []\n",
		     &d, 0);
	assert_true(m->policies[0]->types[PW_DIR_INGRESS]);
	assert_false(m->policies[0]->types[PW_DIR_EGRESS]);
	pw_model_free(m);
	pw_diags_free(&d);
}

static void test_host_bits_masked(void **state)
{
	struct pw_diags d;
	struct pw_model *m;
	char s[64];
	const struct pw_cidr *c;

	(void)state;
	m = load_str("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p, "
		     "namespace: x}\n"
		     "spec:\n  ingress: [{from: [{ipBlock: {cidr: 10.1.2.3/4}}, {ipBlock: {cidr: "
		     "'fd00::1/64'}}]}]\n",
		     &d, 0);
	assert_true(has_diag(
		&d, PW_SEV_WARNING,
		"t.yaml:5:38: warning: NetworkPolicy x/p: spec.ingress[0].from[0].ipBlock.cidr: "
		"CIDR \"10.1.2.3/4\" has host bits set; using 0.0.0.0/4"));
	c = &m->policies[0]->rules[0][0].peers[0].ipblock.cidr;
	assert_string_equal(pw_cidr_str(&c->addr, c->plen, s, sizeof(s)), "0.0.0.0/4");
	c = &m->policies[0]->rules[0][0].peers[1].ipblock.cidr;
	assert_string_equal(pw_cidr_str(&c->addr, c->plen, s, sizeof(s)), "fd00::/64");
	pw_model_free(m);
	pw_diags_free(&d);
}

static void test_list_and_multidoc(void **state)
{
	struct pw_diags d;
	struct pw_model *m;

	(void)state;
	m = load_str("---\n# comment\n---\napiVersion: v1\nkind: List\nitems:\n"
		     "- {apiVersion: v1, kind: Namespace, metadata: {name: a}}\n"
		     "- {apiVersion: v1, kind: ConfigMap, metadata: {name: c}}\n"
		     "---\napiVersion: v1\nkind: PodList\nitems: [{apiVersion: v1, kind: Pod, "
		     "metadata: {name: p, namespace: a}}]\n"
		     "---\napiVersion: v1\nkind: Namespace\nmetadata: {name: b}\n...\n",
		     &d, 0);
	assert_int_equal(m->n_nss, 2);
	assert_int_equal(m->n_pods, 1);
	assert_true(has_diag(&d, PW_SEV_WARNING, "t.yaml:8:3: warning: skipping v1 ConfigMap"));
	pw_model_free(m);
	pw_diags_free(&d);
	/* an old API version of a known kind is skipped, not misread */
	m = load_str("apiVersion: extensions/v1beta1\nkind: NetworkPolicy\nmetadata: {name: "
		     "p}\nspec: {}\n",
		     &d, 0);
	assert_int_equal(m->n_policies, 0);
	assert_int_equal(d.n_warnings, 1);
	pw_model_free(m);
	pw_diags_free(&d);
}

static void test_pod_addresses(void **state)
{
	struct pw_diags d;
	struct pw_model *m;

	(void)state;
	m = load_str("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n"
		     "status: {podIP: 10.0.0.1, podIPs: [{ip: 10.0.0.1}, {ip: 'fd00::1'}]}\n",
		     &d, 0);
	assert_int_equal(m->pods[0]->n_addrs, 2);
	assert_int_equal(m->pods[0]->phase, PW_PHASE_UNKNOWN);
	assert_null(pw_pod_skip_reason(m->pods[0]));
	pw_model_free(m);
	pw_diags_free(&d);
	load_str("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nstatus: {podIPs: [{ip: "
		 "10.0.0.1/24}]}\n",
		 &d, -EINVAL);
	assert_true(has_diag(
		&d, PW_SEV_ERROR,
		"t.yaml:4:24: error: Pod default/p: status.podIPs[0].ip: invalid IP address"));
	pw_diags_free(&d);
}

/* Every file of tests/data/bad is rejected with the location and message
 * its first line names: "# expect: LINE:COL: fragment". */
static void test_bad_corpus(void **state)
{
	char dir[600], path[1200], line[512], want[2000];
	struct dirent *de;
	size_t n = 0;
	DIR *dp;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/bad", data_dir);
	dp = opendir(dir);
	assert_non_null(dp);
	while ((de = readdir(dp))) {
		struct pw_diags d;
		struct pw_model *m = NULL;
		const char *paths[1] = { path };
		char *colon;
		FILE *f;

		if (!strstr(de->d_name, ".yaml"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		f = fopen(path, "re");
		assert_non_null(f);
		assert_non_null(fgets(line, sizeof(line), f));
		fclose(f);
		line[strcspn(line, "\n")] = 0;
		assert_int_equal(strncmp(line, "# expect: ", 10), 0);
		/* "LINE:COL: frag" -> "path:LINE:COL: error: " ... "frag" */
		colon = strchr(line + 10, ' ');
		assert_non_null(colon);
		*colon = 0;
		snprintf(want, sizeof(want), "%s:%s error: ", path, line + 10);
		pw_diags_init(&d);
		if (pw_model_load_files(paths, 1, NULL, &m, &d) != -EINVAL)
			fail_msg("%s: accepted", de->d_name);
		if (!has_diag(&d, PW_SEV_ERROR, want) || !has_diag(&d, PW_SEV_ERROR, colon + 1)) {
			pw_diags_print(&d, stderr, false);
			fail_msg("%s: expected '%s' ... '%s'", de->d_name, want, colon + 1);
		}
		pw_diags_free(&d);
		n++;
	}
	closedir(dp);
	assert_true(n >= 20);
}

/* A directory with errors in several files reports all of them. */
static void test_all_errors_reported(void **state)
{
	char dir[600];
	struct pw_diags d;
	struct pw_model *m = NULL;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/bad", data_dir);
	pw_diags_init(&d);
	assert_int_equal(pw_model_load_dir(dir, NULL, &m, &d), -EINVAL);
	assert_null(m);
	assert_true(d.n_errors >= 25);
	pw_diags_free(&d);
}

static void test_limits(void **state)
{
	struct pw_limits l = {
		.max_labels = 2, .max_rules = 2, .max_objects = 3, .max_file_bytes = 4096
	};
	struct pw_diags d;
	struct pw_model *m = NULL;
	const char *y;
	char *big;

	(void)state;
	pw_diags_init(&d);
	y = "apiVersion: v1\nkind: Pod\nmetadata: {name: p, labels: {a: b, c: d, e: f}}\n";
	assert_int_equal(pw_model_load_buffer("t.yaml", y, strlen(y), &l, &m, &d), -EINVAL);
	assert_true(has_diag(&d, PW_SEV_ERROR,
			     "t.yaml:3:29: error: Pod default/p: metadata.labels: too many labels: "
			     "3 (limit 2)"));
	pw_diags_free(&d);
	pw_diags_init(&d);
	y = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p}\nspec: "
	    "{ingress: [{}, {}], egress: [{}]}\n";
	assert_int_equal(pw_model_load_buffer("t.yaml", y, strlen(y), &l, &m, &d), -EINVAL);
	assert_true(has_diag(&d, PW_SEV_ERROR, "too many rules: 3 (limit 2)"));
	pw_diags_free(&d);
	pw_diags_init(&d);
	y = "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\napiVersion: v1\nkind: "
	    "Namespace\nmetadata: {name: b}\n"
	    "---\napiVersion: v1\nkind: Namespace\nmetadata: {name: c}\n---\napiVersion: v1\nkind: "
	    "Namespace\nmetadata: {name: d}\n";
	assert_int_equal(pw_model_load_buffer("t.yaml", y, strlen(y), &l, &m, &d), -EINVAL);
	assert_true(has_diag(&d, PW_SEV_ERROR,
			     "t.yaml:13:1: error: Namespace d: too many objects (limit 3)"));
	pw_diags_free(&d);
	pw_diags_init(&d);
	big = calloc(1, 5000);
	memset(big, '#', 4999);
	assert_int_equal(pw_model_load_buffer("big.yaml", big, 4999, &l, &m, &d), -EINVAL);
	assert_true(has_diag(&d, PW_SEV_ERROR,
			     "big.yaml: error: file too large: 4999 bytes (limit 4096)"));
	free(big);
	pw_diags_free(&d);
}

/* Aliases are shared nodes: walking them is bounded by the node budget. */
static void test_alias_bomb(void **state)
{
	struct pw_limits l = { .max_nodes = 100000 };
	struct pw_diags d;
	struct pw_model *m = NULL;
	const char *y = "a: &a [{apiVersion: v1, kind: Namespace, metadata: {name: x}}]\n"
			"b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
			"c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
			"---\napiVersion: v1\nkind: List\nitems: &d [*c, *c, *c, *c, *c, *c, *c, "
			"*c, *c, *c]\n";
	const char *y2 = "apiVersion: v1\nkind: List\nitems:\n- &n {apiVersion: v1, kind: "
			 "Namespace, metadata: {name: x}}\n- *n\n";

	(void)state;
	pw_diags_init(&d);
	assert_int_equal(pw_model_load_buffer("t.yaml", y, strlen(y), &l, &m, &d), -EINVAL);
	assert_null(m);
	pw_diags_free(&d);
	/* a legitimate alias (the same namespace twice) is a duplicate */
	pw_diags_init(&d);
	assert_int_equal(pw_model_load_buffer("t.yaml", y2, strlen(y2), &l, &m, &d), -EINVAL);
	assert_true(has_diag(&d, PW_SEV_ERROR, "duplicate object"));
	pw_diags_free(&d);
}

static void write_file(const char *path, const char *s)
{
	FILE *f = fopen(path, "we");

	assert_non_null(f);
	fputs(s, f);
	fclose(f);
}

static void test_dir_order_and_incremental(void **state)
{
	char dir[] = "/tmp/pw-parse-XXXXXX", p1[128], p2[128], p3[128];
	struct pw_diags d;
	struct pw_model *m = NULL, *parts[2] = {}, *v = NULL;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(p1, sizeof(p1), "%s/b.yaml", dir);
	snprintf(p2, sizeof(p2), "%s/a.yml", dir);
	snprintf(p3, sizeof(p3), "%s/c.json", dir);
	write_file(p1, "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: x}\n");
	write_file(p2, "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: x}\n");
	write_file(p3, "garbage: [");
	pw_diags_init(&d);
	assert_int_equal(pw_model_load_dir(dir, NULL, &m, &d), -EINVAL);
	/* a.yml comes first: the duplicate is the one in b.yaml */
	assert_true(has_diag(
		&d, PW_SEV_ERROR,
		"b.yaml:1:1: error: Pod x/p: metadata.name: duplicate object (first defined at"));
	pw_diags_free(&d);

	/* incremental: parse files separately, fix one, merge again */
	write_file(p1, "apiVersion: v1\nkind: Pod\nmetadata: {name: q, namespace: x}\n");
	pw_diags_init(&d);
	assert_int_equal(pw_model_parse_file(p1, NULL, &parts[0], &d), 0);
	assert_int_equal(pw_model_parse_file(p2, NULL, &parts[1], &d), 0);
	assert_int_equal(pw_model_merge(parts, 2, NULL, &v, &d), 0);
	assert_true(v->borrowed);
	assert_int_equal(v->n_pods, 2);
	assert_non_null(pw_model_pod(v, "x", "q"));
	assert_non_null(pw_model_ns(v, "x"));
	pw_model_free(v);
	pw_model_free(parts[0]);
	pw_model_free(parts[1]);
	pw_diags_free(&d);
	unlink(p1);
	unlink(p2);
	unlink(p3);
	rmdir(dir);
}

static void test_diag_format(void **state)
{
	struct pw_diags d;
	struct pw_pos pos = { .file = "f.yaml", .line = 3, .col = 7 };
	char *s;

	(void)state;
	pw_diags_init(&d);
	pw_diag_add(&d, PW_SEV_ERROR, &pos, "Pod x/a", "status.podIP", "bad %s", "thing");
	pw_diag_add(&d, PW_SEV_WARNING, NULL, NULL, NULL, "no place");
	s = pw_diag_format(&d.v[0]);
	assert_string_equal(s, "f.yaml:3:7: error: Pod x/a: status.podIP: bad thing");
	free(s);
	s = pw_diag_format(&d.v[1]);
	assert_string_equal(s, "warning: no place");
	free(s);
	assert_int_equal(d.n_errors, 1);
	assert_int_equal(d.n_warnings, 1);
	pw_diags_free(&d);
}

static void test_cidr_parse(void **state)
{
	struct pw_cidr c;
	bool hb;

	(void)state;
	assert_int_equal(pw_cidr_parse("10.0.0.0/8", &c, &hb), 0);
	assert_false(hb);
	assert_int_equal(c.plen, 104);
	assert_true(c.v4);
	assert_int_equal(pw_cidr_parse("10.0.0.0/33", &c, &hb), -EINVAL);
	assert_int_equal(pw_cidr_parse("10.0.0.0", &c, &hb), -EINVAL);
	assert_int_equal(pw_cidr_parse("10.0.0.0/", &c, &hb), -EINVAL);
	assert_int_equal(pw_cidr_parse("10.0.0.0/08", &c, &hb), -EINVAL);
	assert_int_equal(pw_cidr_parse("fd00::/129", &c, &hb), -EINVAL);
	assert_int_equal(pw_cidr_parse("fd00::1/128", &c, &hb), 0);
	assert_false(c.v4);
	assert_int_equal(pw_cidr_parse("0.0.0.0/0", &c, &hb), 0);
	assert_int_equal(c.plen, 96);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kubectl_verbatim),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_host_bits_masked),
		cmocka_unit_test(test_list_and_multidoc),
		cmocka_unit_test(test_pod_addresses),
		cmocka_unit_test(test_bad_corpus),
		cmocka_unit_test(test_all_errors_reported),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_alias_bomb),
		cmocka_unit_test(test_dir_order_and_incremental),
		cmocka_unit_test(test_diag_format),
		cmocka_unit_test(test_cidr_parse),
	};

	find_data();
	return cmocka_run_group_tests_name("policy_parse", tests, NULL, NULL);
}
