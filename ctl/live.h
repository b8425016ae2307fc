/* SPDX-License-Identifier: MIT */
/*
 * What the live-state commands share: ask the daemon, fall back to the
 * pinned maps when it is not running, and render replies whose exact shape
 * belongs to the daemon (unknown fields are shown, never dropped).
 */
#ifndef PODWALLCTL_LIVE_H
#define PODWALLCTL_LIVE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "pinned.h"

#define PW_DAEMON_DOWN (-1) /* distinct from every exit status */

/*
 * Send `req` (reference stolen) to the daemon.  0 with the reply; -1
 * (PW_DAEMON_DOWN) if no daemon listens on pw_socket_path; otherwise a
 * reported failure: the return is the exit status to return (after
 * pw_error()).  A reply {"error": ...} is reported and returns PW_EXIT_FAIL.
 */
int pw_daemon_ask(json_t *req, json_t **ret_reply);

/* "podwalld is not running (no socket at PATH); reading pinned maps" on
 * stderr (text mode only: JSON output carries "source": "pinned"). */
void pw_note_fallback(void);

/* Open the pinned maps or report why not; 0 or an exit status. */
int pw_open_pinned(struct pw_pinned **ret);

/*
 * A read-only view answered by the daemon, or from the pinned maps when it is
 * not running: sends `req` (taking ownership), prints the reply (-j: as JSON,
 * else through print_daemon), or falls back to from_pins/print_pinned.
 */
struct pw_live_view {
	const char *what; /* command name, for messages */
	void (*print_daemon)(const json_t *reply);
	json_t *(*from_pins)(struct pw_pinned *p, int *ret_err);
	void (*print_pinned)(const json_t *o);
	bool tag_source; /* -j: add "source": "daemon" to the daemon's reply */
};

int pw_live_show(const struct pw_live_view *v, json_t *req);

/* Message used when something needs the daemon and has no fallback. */
int pw_need_daemon(const char *what);

/* Getters tolerant of the daemon's reply shape. */
const char *pw_jstr(const json_t *o, const char *key); /* NULL if absent / not a string */
long long pw_jint(const json_t *o, const char *key, long long dflt);
/* Any scalar as text ("-" when absent); arrays of scalars joined with ",". */
void pw_jtext(const json_t *v, char *buf, size_t len);

/* Print an arbitrary JSON object for people: scalars as "Key: value",
 * arrays of objects as aligned tables. */
void pw_render_generic(const json_t *v, FILE *f, int indent);

#endif
