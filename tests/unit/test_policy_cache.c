// SPDX-License-Identifier: MIT
/* The incremental policy cache: the merged model equals a full load of the
 * directory, only named files are parsed again, and errors (also across
 * files) reject the whole directory until fixed. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "policy_cache.h"

static const char *const POD_A = "apiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: x, "
				 "labels: {app: a}}\nstatus: {podIP: 10.0.0.1}\n";
static const char *const POD_B = "apiVersion: v1\nkind: Pod\nmetadata: {name: b, namespace: x}\n"
				 "status: {podIP: 10.0.0.2}\n";
static const char *const POL = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
			       "metadata: {name: deny, namespace: x}\nspec: {podSelector: {}}\n";
static const char *const BAD = "apiVersion: v1\nkind: Pod\nmetadata: {name: c, namespace: x}\n"
			       "status: {podIP: not-an-ip}\n";

struct fx {
	char dir[64];
	struct pw_pcache *pc;
	struct pw_diags d;
	struct pw_pcache_stats st;
};

static int setup(void **state)
{
	struct fx *x = calloc(1, sizeof(*x));

	strcpy(x->dir, "/tmp/pwpcacheXXXXXX");
	assert_non_null(mkdtemp(x->dir));
	assert_int_equal(pw_pcache_new(x->dir, NULL, &x->pc), 0);
	pw_diags_init(&x->d);
	*state = x;
	return 0;
}

static int teardown(void **state)
{
	struct fx *x = *state;
	char cmd[128];

	pw_pcache_free(x->pc);
	pw_diags_free(&x->d);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", x->dir);
	assert_int_equal(system(cmd), 0);
	free(x);
	return 0;
}

static void put(struct fx *x, const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", x->dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void rm(struct fx *x, const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", x->dir, name);
	assert_int_equal(unlink(path), 0);
}

/* update; returns the error, or 0 with the pod/policy counts checked */
static int upd(struct fx *x, char *const *changed, size_t n, size_t pods, size_t pols)
{
	struct pw_model *m = NULL;
	int r;

	pw_diags_free(&x->d);
	pw_diags_init(&x->d);
	r = pw_pcache_update(x->pc, changed, n, &m, &x->d, &x->st);
	if (r)
		return r;
	assert_true(m->borrowed);
	assert_int_equal(m->n_pods, pods);
	assert_int_equal(m->n_policies, pols);
	pw_model_free(m);
	return 0;
}

static bool has_error(const struct pw_diags *d, const char *needle)
{
	for (size_t i = 0; i < d->n; i++)
		if (d->v[i].sev == PW_SEV_ERROR && strstr(d->v[i].msg, needle))
			return true;
	return false;
}

static void test_only_changed_files_parsed(void **state)
{
	struct fx *x = *state;
	char *b[] = { "b.yaml" }, *p[] = { "p.yaml", "ignored.txt", ".swp.yaml" };

	put(x, "a.yaml", POD_A);
	put(x, "b.yaml", POD_B);
	put(x, "notes.txt", "not yaml");
	assert_int_equal(upd(x, NULL, 0, 2, 0), 0);
	assert_int_equal(x->st.parsed, 2);
	assert_int_equal(x->st.files, 2);
	put(x, "p.yaml", POL);
	assert_int_equal(upd(x, p, 3, 2, 1), 0);
	assert_int_equal(x->st.parsed, 1); /* only p.yaml; the others are not policy files */
	assert_int_equal(x->st.files, 3);
	rm(x, "b.yaml");
	assert_int_equal(upd(x, b, 1, 1, 1), 0);
	assert_int_equal(x->st.parsed, 0);
	assert_int_equal(x->st.removed, 1);
	assert_int_equal(x->st.files, 2);
}

/* The merged model is the one pw_model_load_dir builds: same order. */
static void test_same_as_full_load(void **state)
{
	struct fx *x = *state;
	char *c[] = { "a.yaml" };
	struct pw_model *m = NULL, *full = NULL;
	struct pw_diags d;

	put(x, "b.yaml", POD_B);
	put(x, "a.yaml", POL);
	put(x, "c.yml", POD_A);
	assert_int_equal(upd(x, NULL, 0, 2, 1), 0);
	put(x, "a.yaml", POD_A); /* a moves from a.yaml to c.yml: duplicate */
	assert_int_equal(upd(x, c, 1, 0, 0), -EINVAL);
	assert_true(has_error(&x->d, "duplicate"));
	put(x, "c.yml", POL);
	c[0] = "c.yml";
	assert_int_equal(upd(x, c, 1, 2, 1), 0);
	assert_int_equal(x->st.parsed, 1);
	pw_diags_init(&d);
	assert_int_equal(pw_pcache_update(x->pc, c, 0, &m, &d, NULL), 0);
	assert_int_equal(pw_model_load_dir(x->dir, NULL, &full, &d), 0);
	assert_int_equal(m->n_pods, full->n_pods);
	assert_int_equal(m->n_nss, full->n_nss);
	for (size_t i = 0; i < m->n_pods; i++) {
		assert_string_equal(m->pods[i]->name, full->pods[i]->name);
		assert_string_equal(m->pods[i]->pos.file, full->pods[i]->pos.file);
	}
	assert_int_equal(m->n_files, full->n_files);
	pw_model_free(m);
	pw_model_free(full);
	pw_diags_free(&d);
}

static void test_broken_file_rejects_until_fixed(void **state)
{
	struct fx *x = *state;
	char *c[] = { "c.yaml" }, *a[] = { "a.yaml" };

	put(x, "a.yaml", POD_A);
	assert_int_equal(upd(x, NULL, 0, 1, 0), 0);
	put(x, "c.yaml", BAD);
	assert_int_equal(upd(x, c, 1, 0, 0), -EINVAL);
	assert_true(x->d.n_errors > 0);
	/* another file changes, the broken one is not named: still rejected,
	 * with its error reported again */
	put(x, "a.yaml", POD_B);
	assert_int_equal(upd(x, a, 1, 0, 0), -EINVAL);
	assert_true(x->d.n_errors > 0);
	/* fixed without being named (it is re-read because it was broken) */
	put(x, "c.yaml", POD_A);
	assert_int_equal(upd(x, NULL, 0, 2, 0), 0);
	rm(x, "c.yaml");
	assert_int_equal(upd(x, c, 1, 1, 0), 0);
	/* removed while broken */
	put(x, "c.yaml", BAD);
	assert_int_equal(upd(x, c, 1, 0, 0), -EINVAL);
	rm(x, "c.yaml");
	assert_int_equal(upd(x, c, 1, 1, 0), 0);
}

static void test_missing_dir(void **state)
{
	struct fx *x = *state;
	struct pw_pcache *pc;
	struct pw_model *m = NULL;

	assert_int_equal(pw_pcache_new("/nonexistent/pw-pcache", NULL, &pc), 0);
	assert_int_equal(pw_pcache_update(pc, NULL, 0, &m, &x->d, NULL), -ENOENT);
	assert_null(m);
	pw_pcache_free(pc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_only_changed_files_parsed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_same_as_full_load, setup, teardown),
		cmocka_unit_test_setup_teardown(test_broken_file_rejects_until_fixed, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_missing_dir, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
