/* SPDX-License-Identifier: MIT */
/*
 * podwallctl's side of the daemon socket: one JSON request per line, one
 * JSON reply per line (DESIGN.md, "Daemon").  `flows --follow` keeps the
 * connection open and reads one record per line until interrupted.
 */
#ifndef PODWALLCTL_CLIENT_H
#define PODWALLCTL_CLIENT_H

#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#define PW_CLIENT_TIMEOUT_MS 5000 /* connect + one reply */
#define PW_CLIENT_MAX_LINE (64u << 20) /* one reply line (endpoints of a big node) */

struct pw_client;

/* Connect to the daemon socket.  -ENOENT / -ECONNREFUSED mean "not running"
 * (see pw_client_not_running()); -ETIMEDOUT if it does not accept in time. */
int pw_client_connect(const char *path, int timeout_ms, struct pw_client **ret);
/* Send one request (one line).  Does not take ownership of `req`. */
int pw_client_send(struct pw_client *c, const json_t *req);
/*
 * Read one reply line and parse it.  timeout_ms < 0 waits forever (follow
 * mode); `stop`, if set, is checked whenever a signal interrupts the wait
 * and makes the call return -EINTR.  -EPIPE at end of stream, -ETIMEDOUT,
 * -EPROTO for a line that is not JSON, -E2BIG for an over-long line.
 */
int pw_client_recv(struct pw_client *c, int timeout_ms, volatile sig_atomic_t *stop, json_t **ret);
void pw_client_close(struct pw_client *c);

/* Connect, send one request, read one reply.  Returns 0 with the reply
 * (which may be an {"error": ...} object; see pw_reply_error()). */
int pw_client_request(const char *path, const json_t *req, json_t **ret_reply);

/* The daemon answered {"error": "..."}: the message, else NULL. */
const char *pw_reply_error(const json_t *reply);

/* Is this connect error "the daemon is not running"? */
bool pw_client_not_running(int err);

/*
 * Run `cb` for every line the daemon streams after `req` until the stream
 * ends, `cb` returns non-zero, or SIGINT/SIGTERM arrives (then 0: a clean
 * exit).  The handlers are installed for the duration of the call only.
 */
int pw_client_stream(struct pw_client *c, const json_t *req, int (*cb)(json_t *msg, void *ud),
		     void *ud);

#endif
