/* SPDX-License-Identifier: MIT */
/*
 * Flow records as podwallctl sees them: from the daemon (history or
 * --follow) or from a JSON-lines flow log (--file).  The record shape
 * belongs to the daemon's flow writer; pw_flow_from_json() accepts the
 * spellings below so a renamed field does not silently empty the output:
 *   time:     "ts" | "time" | "timestamp"  (RFC 3339 string, or a number:
 *             seconds, or ns / ms / us since the epoch by magnitude)
 *   addrs:    "src"/"dst" as a string, or an object {"ip"|"addr", "port",
 *             "pod" ("ns/name") | "ns"+"name"}; or "src_ip"/"dst_ip"
 *   pods:     "src_pod"/"dst_pod" ("ns/name")
 *   ports:    "sport"/"dport" | "src_port"/"dst_port"
 *   others:   "proto", "dir"|"direction", "verdict", "reason",
 *             "policy" ("ns/name" or {"ns","name"}), "rule" (index or text)
 */
#ifndef PODWALLCTL_FLOWS_H
#define PODWALLCTL_FLOWS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "podwall/abi.h"

#define PW_FLOWS_MAX_KEEP 100000 /* newest records kept for one listing */
#define PW_FLOWS_MAX_LINE (1u << 20) /* one flow-log line */

struct pw_flow_filter {
	const char *verdict; /* "allow" | "drop" | "audit" | NULL */
	const char *pod; /* "ns/name" | NULL */
	bool has_ip;
	union pw_addr ip;
	bool has_port;
	uint32_t port;
	bool has_since;
	int64_t since_ns;
};

struct pw_flow_args {
	struct pw_flow_filter f;
	bool follow;
	const char *file;
	const char *ip_text;
	const char *since_text;
};

struct pw_flow {
	int64_t ts_ns; /* 0 if unknown */
	char src[48], dst[48]; /* address text */
	char src_pod[256], dst_pod[256]; /* "ns/name" or "" */
	int sport, dport; /* -1 if unknown */
	char proto[16];
	char dir[16];
	char verdict[16];
	char reason[32];
	char policy[256];
	char rule[64];
};

/* Parse the flows arguments (argv after "flows"); 0 or an exit status
 * (usage errors reported).  `now` is seconds since the epoch. */
int pw_flows_parse_args(int argc, char **argv, int64_t now, struct pw_flow_args *ret);

/* Normalise one record; -EINVAL if it is not an object. */
int pw_flow_from_json(const json_t *rec, struct pw_flow *ret);

bool pw_flow_match(const struct pw_flow_filter *f, const struct pw_flow *fl);

/* "shop/api 10.0.0.7:8080", "[fd00::7]:8080", "10.0.0.9" */
void pw_flow_endpoint_text(const char *pod, const char *addr, int port, char *buf, size_t len);

/* The daemon request for these arguments (new reference). */
json_t *pw_flows_request(const struct pw_flow_args *a);

#endif
