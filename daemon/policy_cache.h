/* SPDX-License-Identifier: MIT */
/*
 * The parsed policy directory, one part per file (pw_model_parse_file), so a
 * reload re-parses only the files inotify named and merges the rest from
 * memory (pw_model_merge).  The merge re-runs every cross-file check
 * (duplicates, implicit namespaces, object limits), so the merged model is
 * exactly what pw_model_load_dir() would have built from the same files.
 */
#ifndef PODWALL_DAEMON_POLICY_CACHE_H
#define PODWALL_DAEMON_POLICY_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "podwall/model.h"

struct pw_pcache;

struct pw_pcache_stats {
	size_t files; /* policy files in the directory */
	size_t parsed; /* files parsed by the last update */
	size_t removed; /* files dropped by the last update */
	uint64_t parse_ns; /* reading + parsing them */
	uint64_t merge_ns; /* merging every part */
};

/* lim may be NULL (defaults); it is copied. */
int pw_pcache_new(const char *dir, const struct pw_limits *lim, struct pw_pcache **ret);
void pw_pcache_free(struct pw_pcache *pc);

/*
 * Bring the cache up to date and merge it.  changed names basenames touched
 * since the last call (created, rewritten, renamed or removed); changed ==
 * NULL re-reads the whole directory.  A file that failed to parse is parsed
 * again by every later call until it parses.  On success *ret_model is a
 * borrowing view (model->borrowed) valid until the next update or free:
 * pw_model_free() it before then.  -EINVAL with diags when any file or the
 * merge has an error (the cache keeps what it read: the next call after a fix
 * re-parses only the fixed file).
 */
int pw_pcache_update(struct pw_pcache *pc, char *const *changed, size_t n_changed,
		     struct pw_model **ret_model, struct pw_diags *diags,
		     struct pw_pcache_stats *ret_stats);

#endif
