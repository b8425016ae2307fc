/* SPDX-License-Identifier: MIT */
/*
 * Names of reasons, verdicts, directions, hooks and protocols as they appear
 * in flow records, counters, metrics and podwallctl output.  Shared by the
 * daemon and podwallctl so the words never differ.
 */
#ifndef PODWALL_DAEMON_NAMES_H
#define PODWALL_DAEMON_NAMES_H

#include <stddef.h>
#include <stdint.h>

#include "podwall/abi.h"

/* "policy", "not-isolated", ...; "reason-N" for a number without a name
 * (a newer datapath), never NULL.  The returned string for unknown numbers
 * is in a static buffer per call site class: copy it if you keep it. */
const char *pw_reason_name(unsigned int reason);
/* Reverse lookup; 0 or -EINVAL. */
int pw_reason_parse(const char *name, unsigned int *ret_reason);

const char *pw_verdict_name(unsigned int verdict); /* allow, drop, audit */
int pw_verdict_parse(const char *name, unsigned int *ret_verdict);
const char *pw_dir_name(unsigned int dir);   /* ingress, egress */
const char *pw_hook_name(unsigned int hook); /* from-pod, to-pod, uplink */
/* tcp, udp, sctp, icmp, icmpv6; else writes the number into buf */
const char *pw_proto_name(unsigned int proto, char *buf, size_t len);

/* Address text: dotted quad for IPv4-mapped addresses, RFC 5952 otherwise.
 * buf must hold INET6_ADDRSTRLEN bytes. */
const char *pw_addr_str(const union pw_addr *a, char *buf, size_t len);
/* Parse an IPv4 or IPv6 address into the mapped layout; 0 or -EINVAL. */
int pw_addr_parse(const char *s, union pw_addr *ret_addr);

#endif
