// SPDX-License-Identifier: MIT
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "names.h"

static const char *const reason_names[PW_REASON_MAX] = {
	[PW_REASON_NONE] = "none",
	[PW_ALLOW_NOT_ISOLATED] = "not-isolated",
	[PW_ALLOW_POLICY] = "policy",
	[PW_ALLOW_ESTABLISHED] = "established",
	[PW_ALLOW_REPLY] = "reply",
	[PW_ALLOW_HOST] = "host",
	[PW_ALLOW_NON_IP] = "non-ip",
	[PW_ALLOW_ICMP_RELATED] = "icmp-related",
	[PW_ALLOW_ND] = "neighbour-discovery",
	[PW_ALLOW_DEFERRED] = "deferred",
	[PW_ALLOW_FRAGMENT] = "fragment",
	[PW_ALLOW_LOOPBACK] = "loopback",
	[PW_DROP_POLICY] = "policy-denied",
	[PW_DROP_SPOOFED] = "spoofed",
	[PW_DROP_MALFORMED] = "malformed",
	[PW_DROP_FRAG_UNKNOWN] = "fragment-unknown",
	[PW_DROP_EXTHDR] = "ext-header",
	[PW_DROP_NO_ENDPOINT] = "no-endpoint",
	[PW_DROP_REVOKED] = "revoked",
};

/* Unknown numbers get a fixed name per number so callers may keep the
 * pointer: a table of "reason-N" strings built on first use. */
const char *pw_reason_name(unsigned int reason)
{
	static char unknown[256][12];

	if (reason < PW_REASON_MAX && reason_names[reason])
		return reason_names[reason];
	if (reason > 255)
		return "reason-unknown";
	if (!unknown[reason][0])
		snprintf(unknown[reason], sizeof(unknown[reason]), "reason-%u", reason);
	return unknown[reason];
}

int pw_reason_parse(const char *name, unsigned int *ret_reason)
{
	for (unsigned int i = 0; i < PW_REASON_MAX; i++) {
		if (reason_names[i] && strcmp(reason_names[i], name) == 0) {
			*ret_reason = i;
			return 0;
		}
	}
	return -EINVAL;
}

static const char *const verdict_names[] = { "allow", "drop", "audit" };

const char *pw_verdict_name(unsigned int verdict)
{
	return verdict < 3 ? verdict_names[verdict] : "unknown";
}

int pw_verdict_parse(const char *name, unsigned int *ret_verdict)
{
	for (unsigned int i = 0; i < 3; i++) {
		if (strcmp(name, verdict_names[i]) == 0) {
			*ret_verdict = i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *pw_dir_name(unsigned int dir)
{
	return dir == PW_DIR_INGRESS ? "ingress" : dir == PW_DIR_EGRESS ? "egress" : "unknown";
}

const char *pw_hook_name(unsigned int hook)
{
	switch (hook) {
	case PW_HOOK_FROM_POD:
		return "from-pod";
	case PW_HOOK_TO_POD:
		return "to-pod";
	case PW_HOOK_UPLINK:
		return "uplink";
	}
	return "unknown";
}

const char *pw_proto_word(unsigned int proto, char *buf, size_t len)
{
	switch (proto) {
	case PW_PROTO_TCP:
		return "tcp";
	case PW_PROTO_UDP:
		return "udp";
	case PW_PROTO_SCTP:
		return "sctp";
	case PW_PROTO_ICMP:
		return "icmp";
	case PW_PROTO_ICMPV6:
		return "icmpv6";
	}
	snprintf(buf, len, "%u", proto);
	return buf;
}
