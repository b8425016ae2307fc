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
const char *pw_dir_name(unsigned int dir); /* ingress, egress */
const char *pw_hook_name(unsigned int hook); /* from-pod, to-pod, uplink */
/* tcp, udp, sctp, icmp, icmpv6 (lower case, as in flow records); else
 * writes the number into buf.  model.h's pw_proto_name() is the upper-case
 * Kubernetes spelling. */
const char *pw_proto_word(unsigned int proto, char *buf, size_t len);

/* Addresses: pw_addr_str() and pw_addr_parse() of podwall/model.h. */
#include "podwall/model.h"

#endif
