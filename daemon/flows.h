/* SPDX-License-Identifier: MIT */
/*
 * Flow records: the ring buffer's pw_event records, explained with the
 * image in force (pods by address, policy and rule by rule id), stamped
 * with wall-clock time, written as JSON lines to the flow log, kept in an
 * in-memory history and handed to subscribers (flows --follow).
 */
#ifndef PODWALL_DAEMON_FLOWS_H
#define PODWALL_DAEMON_FLOWS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "podwall/abi.h"
#include "podwall/image.h"

#define PW_FLOWS_DEFAULT_HISTORY 4096
#define PW_FLOWS_MAX_HISTORY (1u << 20)

struct pw_flow_rec {
	struct pw_event ev;
	uint64_t wall_ns; /* ns since the epoch */
	char *src_pod; /* "ns/name" or NULL */
	char *dst_pod;
	char *line; /* the record as one compact JSON object, no newline */
	size_t line_len;
};

/* Filters shared by `flows` and `flows --follow`.  Unset fields match all. */
struct pw_flow_filter {
	int verdict; /* enum pw_verdict, -1: any */
	char *pod; /* "ns/name": source or destination */
	bool has_ip;
	union pw_addr ip; /* source or destination */
	int port; /* source or destination port, -1: any */
	uint64_t since_ns; /* wall clock, 0: any */
	unsigned int limit; /* history: at most the newest N, 0: all */
};

/*
 * Read filter fields from a request object: "verdict": "allow|drop|audit",
 * "pod": "ns/name", "ip": "addr", "port": N, "since": RFC 3339 time or a
 * duration ago ("30s", "5m", "2h", "1d"), "limit": N.  now_ns is the wall
 * clock for durations.  0, or -EINVAL with a message.  Free with
 * pw_flow_filter_clear even on failure.
 */
int pw_flow_filter_from_json(const json_t *req, uint64_t now_ns, struct pw_flow_filter *ret,
			     char *err, size_t errlen);
void pw_flow_filter_clear(struct pw_flow_filter *f);
bool pw_flow_match(const struct pw_flow_filter *f, const struct pw_flow_rec *r);

/* RFC 3339 UTC with microseconds: 2025-01-02T03:04:05.123456Z */
void pw_rfc3339(uint64_t wall_ns, char *buf, size_t len);
/* Inverse (accepts Z or +hh:mm, optional fraction); 0 or -EINVAL. */
int pw_rfc3339_parse(const char *s, uint64_t *ret_ns);

struct pw_flows_opts {
	const char *log_path; /* NULL: no flow log */
	uint64_t log_max_bytes; /* rotate to log_path.1 beyond this; 0: never */
	size_t history; /* records kept in memory; 0: the default */
};

struct pw_flows_stats {
	uint64_t records; /* events turned into records */
	uint64_t bad_events; /* records of the wrong size */
	uint64_t log_errors; /* flow log writes that failed */
	uint64_t rotations;
};

struct pw_flows;

int pw_flows_new(const struct pw_flows_opts *opts, struct pw_flows **ret);
void pw_flows_free(struct pw_flows *fl);

/* The image used to name pods and rules; borrowed until the next call
 * (NULL: none).  Records already made keep their names. */
int pw_flows_set_image(struct pw_flows *fl, const struct pw_image *img);

/* Called for every new record (after history and log). */
typedef void (*pw_flow_sink_fn)(void *ctx, const struct pw_flow_rec *rec);
void pw_flows_set_sink(struct pw_flows *fl, pw_flow_sink_fn fn, void *ctx);

/* Consume the pinned pw_events_v1 ring buffer (map_fd may be closed after
 * this returns: libbpf's mappings keep the map alive).
 * Returns the epoll fd to watch, or -errno. */
int pw_flows_open_ringbuf(struct pw_flows *fl, int map_fd);
/* Drain the ring buffer (call when its epoll fd is readable); number of
 * records or -errno. */
int pw_flows_poll(struct pw_flows *fl);

/* Turn one raw ring buffer record into a flow record (the ring buffer
 * callback; also fed directly by tests).  0 or -errno. */
int pw_flows_handle_event(struct pw_flows *fl, const void *data, size_t size);

/* wall = mono + offset; recomputed at each poll.  Tests set it. */
void pw_flows_set_clock_offset(struct pw_flows *fl, int64_t offset_ns);

/* Visit the history, oldest first, records matching f (NULL: all),
 * honouring f->limit.  Stops early if fn returns non-zero. */
void pw_flows_foreach(struct pw_flows *fl, const struct pw_flow_filter *f,
		      int (*fn)(void *ctx, const struct pw_flow_rec *rec), void *ctx);

void pw_flows_get_stats(const struct pw_flows *fl, struct pw_flows_stats *ret);

#endif
