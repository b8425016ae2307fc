/* SPDX-License-Identifier: MIT */
/*
 * Policy reload: watches the policy directory (inotify) and turns changes
 * into parse -> compile -> apply, debounced so that a burst of writes (an
 * editor's save, kubectl's write-then-rename, a `cp -r`) costs one reload.
 * SIGHUP and the socket's "reload" call pw_reload_all() (every file re-read).
 *
 * A directory with any error is rejected whole: the image in force stays,
 * every diagnostic is logged, and the text is kept for `status`.
 *
 * The engine and the dataplane are reached through pw_reload_ops, so this
 * module is tested without either.
 */
#ifndef PODWALL_DAEMON_RELOAD_H
#define PODWALL_DAEMON_RELOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "loop.h"
#include "podwall/image.h"

#define PW_RELOAD_DEBOUNCE_MS 20 /* a file removed or renamed away, overflow, ..data */
#define PW_RELOAD_SETTLE_MS 1 /* a file closed after writing or renamed into place */
#define PW_RELOAD_CREATE_GRACE_MS 500 /* created, not yet closed: wait longer */
#define PW_RELOAD_MAX_DELAY_MS 1000 /* a steady stream of events still reloads */
#define PW_RELOAD_MAX_CHANGED 4096 /* beyond: treated as "everything changed" */

struct pw_reload_ops {
	/*
	 * Parse and compile the directory.  changed/n_changed name the files
	 * (basenames) touched since the last successful build; changed == NULL
	 * means "assume everything changed" (start-up, SIGHUP, lost events).
	 * On failure returns -errno and may set *ret_errors to a malloc'd text,
	 * one "file:line:col: message" per line.
	 */
	int (*build)(void *ctx, const char *dir, char *const *changed, size_t n_changed,
		     struct pw_image **ret_img, char **ret_errors);
	/* Make img the policy in force (atomic).  Same error convention. */
	int (*apply)(void *ctx, struct pw_image *img, char **ret_errors);
	/* Optional: img is now in force (flows, metrics re-index). */
	void (*applied)(void *ctx, const struct pw_image *img);
	void (*free_image)(struct pw_image *img);
	void *ctx;
};

struct pw_reload_stats {
	uint64_t reloads; /* successful */
	uint64_t errors; /* rejected directories and failed applies */
	uint64_t last_duration_ns; /* of the last attempt */
	uint64_t last_wait_ns; /* first event -> that attempt (debounce), 0: not event-driven */
	uint64_t last_ok_ns; /* wall clock of the last success, 0: never */
	uint64_t last_error_ns; /* wall clock of the last failure, 0: never */
	bool last_ok; /* the last attempt succeeded */
	bool watching; /* the directory watch is in place */
	unsigned int last_changed; /* files the last attempt was told about */
	const char *last_error; /* text of the last failure (kept), or NULL */
};

struct pw_reload;

/* loop may be NULL (no watching: --oneshot). */
int pw_reload_new(struct pw_loop *loop, const char *dir, const struct pw_reload_ops *ops,
		  struct pw_reload **ret);
void pw_reload_free(struct pw_reload *rl);

/* Reload now, synchronously.  `why` goes into the log ("start", "SIGHUP").
 * 0, or the build/apply error. */
int pw_reload_now(struct pw_reload *rl, const char *why);

/* The same, re-reading every file (SIGHUP, the socket's "reload": the
 * operator asks for it, perhaps because events were missed). */
int pw_reload_all(struct pw_reload *rl, const char *why);

/* The image in force (NULL before the first success). */
const struct pw_image *pw_reload_image(const struct pw_reload *rl);
void pw_reload_get_stats(const struct pw_reload *rl, struct pw_reload_stats *ret);

/* Names pending for the next reload (tests and debug logs). */
size_t pw_reload_pending(const struct pw_reload *rl, char *const **ret_names, bool *ret_all);

#endif
