// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"
#include "reload.h"

struct fake {
	int builds, applies, applied_cb;
	bool fail_apply;
	char last_changed[1024]; /* sorted, comma separated; "*" = all */
	const char *dir;
};

static struct fake fk;

static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A file containing "bad" is an error at line 2, column 3. */
static int fake_build(void *ctx, const char *dir, char *const *changed, size_t n,
		      struct pw_image **ret_img, char **ret_errors)
{
	struct fake *f = ctx;
	char *names[64], path[512], buf[64];
	int bad = 0;

	f->builds++;
	f->last_changed[0] = 0;
	if (!changed) {
		strcpy(f->last_changed, "*");
	} else {
		assert_true(n < 64);
		memcpy(names, changed, n * sizeof(char *));
		qsort(names, n, sizeof(char *), cmp);
		for (size_t i = 0; i < n; i++) {
			strcat(f->last_changed, i ? "," : "");
			strcat(f->last_changed, names[i]);
		}
	}
	for (int i = 0; i < 8; i++) {
		FILE *fp;

		snprintf(path, sizeof(path), "%s/p%d.yaml", dir, i);
		fp = fopen(path, "r");
		if (!fp)
			continue;
		if (fgets(buf, sizeof(buf), fp) && strstr(buf, "bad")) {
			bad = 1;
			if (asprintf(ret_errors, "p%d.yaml:2:3: spec.ingress: expected a list\n",
				     i) < 0)
				*ret_errors = NULL;
		}
		fclose(fp);
	}
	if (bad)
		return -EINVAL;
	*ret_img = calloc(1, sizeof(struct pw_image));
	return 0;
}

static int fake_apply(void *ctx, struct pw_image *img, char **ret_errors)
{
	struct fake *f = ctx;

	(void)img;
	f->applies++;
	if (f->fail_apply) {
		*ret_errors = strdup("map pw_pol_v1 is full (262144 entries)");
		return -ENOSPC;
	}
	return 0;
}

static void fake_applied(void *ctx, const struct pw_image *img)
{
	(void)img;
	((struct fake *)ctx)->applied_cb++;
}

static void fake_free(struct pw_image *img)
{
	free(img);
}

static const struct pw_reload_ops ops = {
	.build = fake_build,
	.apply = fake_apply,
	.applied = fake_applied,
	.free_image = fake_free,
	.ctx = &fk,
};

struct fx {
	char dir[64];
	struct pw_loop loop;
	struct pw_reload *rl;
};

static int setup(void **state)
{
	struct fx *x = calloc(1, sizeof(*x));

	strcpy(x->dir, "/tmp/pwreloadXXXXXX");
	assert_non_null(mkdtemp(x->dir));
	memset(&fk, 0, sizeof(fk));
	fk.dir = x->dir;
	assert_int_equal(pw_loop_init(&x->loop), 0);
	assert_int_equal(pw_reload_new(&x->loop, x->dir, &ops, &x->rl), 0);
	*state = x;
	return 0;
}

static int teardown(void **state)
{
	struct fx *x = *state;
	char cmd[128];

	pw_reload_free(x->rl);
	pw_loop_fini(&x->loop);
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

static void mv(struct fx *x, const char *from, const char *to)
{
	char a[256], b[256];

	snprintf(a, sizeof(a), "%s/%s", x->dir, from);
	snprintf(b, sizeof(b), "%s/%s", x->dir, to);
	assert_int_equal(rename(a, b), 0);
}

/* Run the loop until `builds` reaches want or ms pass; returns builds. */
static int wait_builds(struct fx *x, int want, int ms)
{
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (fk.builds >= want ||
		    (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 > ms)
			return fk.builds;
		pw_loop_once(&x->loop, 10);
	}
}

static void test_rename_into_place(void **state)
{
	struct fx *x = *state;

	/* kubectl ... > tmp && mv tmp cluster.yaml */
	put(x, "tmp", "kind: List\n");
	mv(x, "tmp", "p0.yaml");
	assert_int_equal(wait_builds(x, 1, 2000), 1);
	assert_string_equal(fk.last_changed, "*"); /* first build reads everything */
	put(x, ".p1.yaml.swp", "vim");
	put(x, "p1.yaml.tmp", "x");
	mv(x, "p1.yaml.tmp", "p1.yaml");
	assert_int_equal(wait_builds(x, 2, 2000), 2);
	assert_string_equal(fk.last_changed, "p1.yaml");
	/* and nothing more comes */
	assert_int_equal(wait_builds(x, 3, 100), 2);
}

static void test_burst_coalesced(void **state)
{
	struct fx *x = *state;
	struct pw_reload_stats st;

	assert_int_equal(pw_reload_now(x->rl, "start"), 0);
	for (int i = 0; i < 5; i++) {
		char name[16];

		snprintf(name, sizeof(name), "p%d.yaml", i);
		put(x, name, "kind: Pod\n");
	}
	put(x, "p2.yaml", "kind: Pod\n"); /* again */
	assert_int_equal(wait_builds(x, 2, 2000), 2);
	assert_string_equal(fk.last_changed, "p0.yaml,p1.yaml,p2.yaml,p3.yaml,p4.yaml");
	assert_int_equal(wait_builds(x, 3, 100), 2);
	pw_reload_get_stats(x->rl, &st);
	assert_int_equal(st.reloads, 2);
	assert_true(st.watching);
	assert_int_equal(fk.applied_cb, 2);
}

static void test_irrelevant_files_ignored(void **state)
{
	struct fx *x = *state;

	put(x, "README.txt", "hi");
	put(x, ".hidden.yaml", "x");
	put(x, "4913", "vim probe");
	assert_int_equal(wait_builds(x, 1, 150), 0);
}

static void test_error_keeps_policy_and_is_reported(void **state)
{
	struct fx *x = *state;
	struct pw_reload_stats st;
	const struct pw_image *before;
	int applies;
	uint64_t reloads;
	char *log = NULL;
	size_t loglen = 0;
	FILE *lf = open_memstream(&log, &loglen);

	put(x, "p0.yaml", "kind: Pod\n");
	assert_int_equal(pw_reload_now(x->rl, "start"), 0);
	wait_builds(x, 99, 60); /* swallow the events of the setup */
	fk.builds = 1;
	before = pw_reload_image(x->rl);
	assert_non_null(before);
	applies = fk.applies;
	pw_reload_get_stats(x->rl, &st);
	reloads = st.reloads;
	pw_log_set_stream(lf);
	put(x, "p3.yaml", "bad\n");
	assert_int_equal(wait_builds(x, 2, 2000), 2);
	pw_log_set_stream(NULL);
	fclose(lf);
	assert_non_null(strstr(log, "p3.yaml:2:3: spec.ingress"));
	free(log);
	pw_reload_get_stats(x->rl, &st);
	assert_int_equal(st.errors, 1);
	assert_false(st.last_ok);
	assert_ptr_equal(pw_reload_image(x->rl), before);
	assert_non_null(strstr(st.last_error, "p3.yaml:2:3"));
	assert_int_equal(fk.applies, applies); /* never applied */

	/* fixing it reloads the file again (it stayed pending) */
	put(x, "p3.yaml.new", "kind: Pod\n");
	mv(x, "p3.yaml.new", "p3.yaml");
	assert_int_equal(wait_builds(x, 3, 2000), 3);
	assert_string_equal(fk.last_changed, "p3.yaml");
	pw_reload_get_stats(x->rl, &st);
	assert_true(st.last_ok);
	assert_int_equal(st.reloads, reloads + 1);
	assert_non_null(st.last_error); /* kept for status */
}

static void test_delete_and_move_away(void **state)
{
	struct fx *x = *state;
	char path[256];

	put(x, "p0.yaml", "kind: Pod\n");
	put(x, "p1.yaml", "kind: Pod\n");
	assert_int_equal(pw_reload_now(x->rl, "start"), 0);
	wait_builds(x, 99, 60); /* swallow the events of the setup */
	fk.builds = 0;
	snprintf(path, sizeof(path), "%s/p0.yaml", x->dir);
	assert_int_equal(unlink(path), 0);
	mv(x, "p1.yaml", "p1.yaml.disabled");
	assert_int_equal(wait_builds(x, 1, 2000), 1);
	assert_string_equal(fk.last_changed, "p0.yaml,p1.yaml");
}

static void test_apply_failure(void **state)
{
	struct fx *x = *state;
	struct pw_reload_stats st;

	fk.fail_apply = true;
	assert_int_equal(pw_reload_now(x->rl, "SIGHUP"), -ENOSPC);
	pw_reload_get_stats(x->rl, &st);
	assert_int_equal(st.errors, 1);
	assert_null(pw_reload_image(x->rl));
	assert_non_null(strstr(st.last_error, "pw_pol_v1 is full"));
}

static void test_create_waits_for_close(void **state)
{
	struct fx *x = *state;
	char path[256];
	int fd;

	assert_int_equal(pw_reload_now(x->rl, "start"), 0);
	wait_builds(x, 99, 60);
	fk.builds = 1;
	snprintf(path, sizeof(path), "%s/p5.yaml", x->dir);
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	/* open, not closed: no reload within the short debounce */
	assert_int_equal(wait_builds(x, 2, 100), 1);
	assert_int_equal(write(fd, "kind: Pod\n", 10), 10);
	close(fd);
	assert_int_equal(wait_builds(x, 2, 2000), 2);
	assert_string_equal(fk.last_changed, "p5.yaml");
}

/* After a quiet spell, a file renamed into place is reloaded as its event is
 * read (no settle timer); a removal still waits for the debounce. */
static void test_quick_after_quiet(void **state)
{
	struct fx *x = *state;
	char path[256];

	put(x, "p0.yaml", "kind: Pod\n");
	assert_int_equal(pw_reload_now(x->rl, "start"), 0);
	wait_builds(x, 99, 60); /* swallow the setup's events; also the quiet spell */
	fk.builds = 0;
	put(x, "p1.yaml.tmp", "kind: Pod\n");
	mv(x, "p1.yaml.tmp", "p1.yaml");
	pw_loop_once(&x->loop, 100); /* one pass: the inotify event, no timer yet */
	assert_int_equal(fk.builds, 1);
	assert_string_equal(fk.last_changed, "p1.yaml");
	wait_builds(x, 99, 60);
	fk.builds = 0;
	snprintf(path, sizeof(path), "%s/p0.yaml", x->dir);
	assert_int_equal(unlink(path), 0);
	pw_loop_once(&x->loop, 100); /* reads the event, arms the debounce */
	assert_int_equal(fk.builds, 0);
	assert_int_equal(wait_builds(x, 1, 2000), 1);
	assert_string_equal(fk.last_changed, "p0.yaml");
}

/* SIGHUP / the socket's reload re-read everything, even with nothing pending
 * or with some names pending. */
static void test_reload_all_rereads_everything(void **state)
{
	struct fx *x = *state;

	assert_int_equal(pw_reload_now(x->rl, "start"), 0);
	put(x, "p1.yaml", "kind: Pod\n");
	pw_loop_once(&x->loop, 0); /* the event is pending, maybe reloaded already */
	assert_int_equal(pw_reload_all(x->rl, "SIGHUP"), 0);
	assert_string_equal(fk.last_changed, "*");
	assert_int_equal(pw_reload_now(x->rl, "again"), 0);
	assert_string_equal(fk.last_changed, ""); /* nothing pending any more */
}

static void test_no_loop(void **state)
{
	struct pw_reload *rl;

	(void)state;
	memset(&fk, 0, sizeof(fk));
	assert_int_equal(pw_reload_new(NULL, "/nonexistent", &ops, &rl), 0);
	assert_int_equal(pw_reload_now(rl, "oneshot"), 0);
	assert_int_equal(fk.builds, 1);
	pw_reload_free(rl);
	/* watching a missing directory is an error */
	{
		struct pw_loop loop;

		assert_int_equal(pw_loop_init(&loop), 0);
		FILE *devnull = fopen("/dev/null", "w");

		pw_log_set_stream(devnull);
		assert_int_equal(pw_reload_new(&loop, "/nonexistent-pw", &ops, &rl), -ENOENT);
		pw_log_set_stream(NULL);
		fclose(devnull);
		pw_loop_fini(&loop);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_rename_into_place, setup, teardown),
		cmocka_unit_test_setup_teardown(test_burst_coalesced, setup, teardown),
		cmocka_unit_test_setup_teardown(test_irrelevant_files_ignored, setup, teardown),
		cmocka_unit_test_setup_teardown(test_error_keeps_policy_and_is_reported, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_delete_and_move_away, setup, teardown),
		cmocka_unit_test_setup_teardown(test_apply_failure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_waits_for_close, setup, teardown),
		cmocka_unit_test_setup_teardown(test_quick_after_quiet, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reload_all_rereads_everything, setup,
						teardown),
		cmocka_unit_test(test_no_loop),
	};

	pw_log_set_level(PW_LOG_WARN);
	return cmocka_run_group_tests_name("reload", tests, NULL, NULL);
}
