// SPDX-License-Identifier: MIT
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "policy_cache.h"

struct pc_file {
	char *name; /* basename */
	struct pw_model *part; /* NULL when it did not parse */
};

struct pw_pcache {
	char *dir;
	struct pw_limits lim;
	struct pc_file *v; /* sorted by name (the order pw_model_load_dir uses) */
	size_t n, cap;
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The same rule as pw_model_load_dir and reload.c. */
static bool policy_name(const char *n)
{
	size_t l = strlen(n);

	if (!l || n[0] == '.' || strchr(n, '/'))
		return false;
	return (l > 5 && !strcmp(n + l - 5, ".yaml")) || (l > 4 && !strcmp(n + l - 4, ".yml"));
}

int pw_pcache_new(const char *dir, const struct pw_limits *lim, struct pw_pcache **ret)
{
	struct pw_pcache *pc = calloc(1, sizeof(*pc));

	if (!pc)
		return -ENOMEM;
	pc->dir = strdup(dir);
	if (!pc->dir) {
		free(pc);
		return -ENOMEM;
	}
	if (lim)
		pc->lim = *lim;
	pw_limits_fill(&pc->lim);
	*ret = pc;
	return 0;
}

static void drop_all(struct pw_pcache *pc)
{
	for (size_t i = 0; i < pc->n; i++) {
		pw_model_free(pc->v[i].part);
		free(pc->v[i].name);
	}
	pc->n = 0;
}

void pw_pcache_free(struct pw_pcache *pc)
{
	if (!pc)
		return;
	drop_all(pc);
	free(pc->v);
	free(pc->dir);
	free(pc);
}

/* Index of name, or where it would go (*found = false). */
static size_t find(const struct pw_pcache *pc, const char *name, bool *found)
{
	size_t lo = 0, hi = pc->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(pc->v[mid].name, name);

		if (!c) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

static void remove_at(struct pw_pcache *pc, size_t i)
{
	pw_model_free(pc->v[i].part);
	free(pc->v[i].name);
	memmove(&pc->v[i], &pc->v[i + 1], (pc->n - i - 1) * sizeof(pc->v[0]));
	pc->n--;
}

static int insert_at(struct pw_pcache *pc, size_t i, const char *name)
{
	char *s;

	if (pc->n == pc->cap) {
		size_t c = pc->cap ? pc->cap * 2 : 64;
		struct pc_file *nv = realloc(pc->v, c * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		pc->v = nv;
		pc->cap = c;
	}
	s = strdup(name);
	if (!s)
		return -ENOMEM;
	memmove(&pc->v[i + 1], &pc->v[i], (pc->n - i) * sizeof(pc->v[0]));
	pc->v[i] = (struct pc_file){ .name = s };
	pc->n++;
	return 0;
}

/* Parse file i again.  0 (parsed or failed with diags) or -ENOMEM. */
static int reparse(struct pw_pcache *pc, size_t i, struct pw_diags *diags)
{
	struct pw_model *part = NULL;
	char *path;
	int r;

	if (asprintf(&path, "%s/%s", pc->dir, pc->v[i].name) < 0)
		return -ENOMEM;
	r = pw_model_parse_file(path, &pc->lim, &part, diags);
	free(path);
	pw_model_free(pc->v[i].part);
	pc->v[i].part = r ? NULL : part;
	return r == -ENOMEM ? r : 0;
}

/* One changed name: gone -> forget it; present -> (re)parse it. */
static int update_one(struct pw_pcache *pc, const char *name, struct pw_diags *diags,
		      struct pw_pcache_stats *st)
{
	bool found, exists;
	size_t i;
	char *path;
	FILE *f;
	int r;

	if (!policy_name(name))
		return 0;
	if (asprintf(&path, "%s/%s", pc->dir, name) < 0)
		return -ENOMEM;
	/* the parser reports open errors itself; here only "is it there" */
	f = fopen(path, "re");
	exists = f || errno != ENOENT;
	if (f)
		fclose(f);
	free(path);
	i = find(pc, name, &found);
	if (!exists) {
		if (found) {
			remove_at(pc, i);
			st->removed++;
		}
		return 0;
	}
	if (!found) {
		r = insert_at(pc, i, name);
		if (r)
			return r;
	}
	st->parsed++;
	return reparse(pc, i, diags);
}

static int rescan(struct pw_pcache *pc, struct pw_diags *diags, struct pw_pcache_stats *st)
{
	struct pw_pos p = { .file = pc->dir };
	struct dirent *de;
	DIR *d;
	int r = 0;

	st->removed = pc->n;
	drop_all(pc);
	d = opendir(pc->dir);
	if (!d) {
		r = -errno;
		pw_diag_add(diags, PW_SEV_ERROR, &p, NULL, NULL, "cannot open directory: %s",
			    strerror(-r));
		return r;
	}
	while ((de = readdir(d))) {
		bool found;
		size_t i;

		if (!policy_name(de->d_name))
			continue;
		if (pc->n >= pc->lim.max_files) {
			pw_diag_add(diags, PW_SEV_ERROR, &p, NULL, NULL,
				    "too many files (limit %zu)", pc->lim.max_files);
			r = -EINVAL;
			break;
		}
		i = find(pc, de->d_name, &found);
		if (!found && (r = insert_at(pc, i, de->d_name)))
			break;
	}
	closedir(d);
	for (size_t i = 0; !r && i < pc->n; i++) {
		st->parsed++;
		r = reparse(pc, i, diags);
	}
	return r;
}

int pw_pcache_update(struct pw_pcache *pc, char *const *changed, size_t n_changed,
		     struct pw_model **ret_model, struct pw_diags *diags,
		     struct pw_pcache_stats *ret_stats)
{
	struct pw_pcache_stats st = { 0 };
	struct pw_model **parts = NULL, *m = NULL;
	size_t n_parts = 0;
	bool broken = false;
	uint64_t t0 = mono_ns(), t1;
	int r = 0;

	if (!changed) {
		r = rescan(pc, diags, &st);
	} else {
		for (size_t i = 0; !r && i < n_changed; i++)
			r = update_one(pc, changed[i], diags, &st);
		/* a file that failed before and was not named again: its errors
		 * must be reported again, and it may have been fixed meanwhile */
		for (size_t i = 0; !r && i < pc->n; i++)
			if (!pc->v[i].part) {
				st.parsed++;
				r = reparse(pc, i, diags);
			}
	}
	t1 = mono_ns();
	st.parse_ns = t1 - t0;
	if (r)
		goto out;
	if (pc->n > pc->lim.max_files) {
		pw_diag_add(diags, PW_SEV_ERROR, NULL, NULL, NULL,
			    "too many files: %zu (limit %zu)", pc->n, pc->lim.max_files);
		r = -EINVAL;
		goto out;
	}
	parts = calloc(pc->n ? pc->n : 1, sizeof(*parts));
	if (!parts) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < pc->n; i++) {
		if (pc->v[i].part)
			parts[n_parts++] = pc->v[i].part;
		else
			broken = true;
	}
	/* merge even when a file is broken: duplicates among the others are
	 * reported in the same pass, as pw_model_load_dir does */
	r = pw_model_merge(parts, n_parts, &pc->lim, &m, diags);
	if (!r && broken) {
		pw_model_free(m);
		m = NULL;
		r = -EINVAL;
	}
	st.merge_ns = mono_ns() - t1;
out:
	free(parts);
	st.files = pc->n;
	if (ret_stats)
		*ret_stats = st;
	if (!r)
		*ret_model = m;
	return r;
}
