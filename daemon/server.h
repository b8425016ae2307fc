/* SPDX-License-Identifier: MIT */
/*
 * The control socket: a Unix stream socket, one JSON request per line, one
 * JSON reply per line (docs/socket-api.md).  Requests other than "flows"
 * go to a command table given by the caller; "flows" (history and
 * --follow subscriptions) is served here from pw_flows.
 *
 * Nothing a client does can stall the daemon: sockets are non-blocking,
 * requests are bounded (max_request), replies queue per client up to
 * out_cap (beyond: the client is dropped), and streamed flow records queue
 * up to stream_cap (beyond: records are dropped for that client, and it is
 * told how many with {"dropped": N} once it catches up).
 */
#ifndef PODWALL_DAEMON_SERVER_H
#define PODWALL_DAEMON_SERVER_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "flows.h"
#include "loop.h"

#define PW_SRV_MAX_REQUEST (64u << 10)
#define PW_SRV_OUT_CAP (32u << 20) /* a full flows history fits */
#define PW_SRV_STREAM_CAP (1u << 20)
#define PW_SRV_MAX_CLIENTS 128

struct pw_srv_cmd {
	const char *name;
	/* The reply (owned by the server), or NULL for {"error": "out of memory"}.
	 * A handler reports failure with pw_srv_error(). */
	json_t *(*fn)(void *ctx, const json_t *req);
	const char *help;
};

struct pw_server_opts {
	const char *path; /* NULL: no listening socket (tests add fds) */
	mode_t mode; /* socket file mode, 0: 0600 */
	size_t max_request; /* 0: PW_SRV_MAX_REQUEST */
	size_t out_cap; /* 0: PW_SRV_OUT_CAP */
	size_t stream_cap; /* 0: PW_SRV_STREAM_CAP */
	unsigned int max_clients; /* 0: PW_SRV_MAX_CLIENTS */
	const struct pw_srv_cmd *cmds; /* terminated by name == NULL */
	void *ctx;
};

struct pw_server_stats {
	unsigned int clients;
	uint64_t requests;
	uint64_t errors; /* error replies */
	uint64_t slow_dropped_clients;
	uint64_t dropped_records; /* stream records not sent to slow clients */
	uint64_t rejected_clients; /* over max_clients */
};

struct pw_server;

/* Create the socket (its directory 0755 if missing, a stale socket file
 * removed; a live one is -EADDRINUSE) and serve it through loop. */
int pw_server_new(struct pw_loop *loop, const struct pw_server_opts *opts, struct pw_flows *fl,
		  struct pw_server **ret);
/* Close every client and the socket, and remove the socket file. */
void pw_server_free(struct pw_server *srv);

/* Serve an already connected stream socket (tests: a socketpair). */
int pw_server_add_fd(struct pw_server *srv, int fd);

/* Hand a new flow record to the --follow subscribers (pw_flows sink). */
void pw_server_flow(void *srv, const struct pw_flow_rec *rec);

void pw_server_get_stats(const struct pw_server *srv, struct pw_server_stats *ret);

/* {"error": "..."} */
json_t *pw_srv_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
