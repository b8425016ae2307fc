/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Verdict reasons: why a packet was allowed, dropped or (audit mode) passed
 * although policy would drop it.  One fixed enum for the datapath, the
 * daemon, podwallctl and the flow log.
 *
 * NUMBERS ARE NEVER REUSED OR RENUMBERED: they are stored in flow logs and
 * counters.  Add new reasons at the end of their range; retire a reason by
 * leaving its number in place with a _RETIRED suffix.
 *
 *   1 .. 31   allow reasons (verdict allow)
 *  32 .. 47   drop reasons (verdict drop; verdict audit when audit mode
 *             passes a packet that would be dropped for that reason)
 */
#ifndef PODWALL_DROP_REASONS_H
#define PODWALL_DROP_REASONS_H

enum pw_reason {
	PW_REASON_NONE = 0,

	/* --- allowed --- */
	PW_ALLOW_NOT_ISOLATED = 1, /* no policy isolates the pod in this direction */
	PW_ALLOW_POLICY = 2, /* a rule allows the first packet of a flow */
	PW_ALLOW_ESTABLISHED = 3, /* conntrack: later packet of an allowed flow */
	PW_ALLOW_REPLY = 4, /* conntrack: reply of an allowed flow */
	PW_ALLOW_HOST = 5, /* to or from the node itself (kubelet probes) */
	PW_ALLOW_NON_IP = 6, /* ARP and other non-IP frames */
	PW_ALLOW_ICMP_RELATED = 7, /* ICMP error about an allowed flow */
	PW_ALLOW_ND = 8, /* IPv6 neighbour discovery, MLD */
	PW_ALLOW_DEFERRED = 9, /* egress decided later, where the real (post-DNAT)
				  destination is visible */
	PW_ALLOW_FRAGMENT = 10, /* non-first fragment of an allowed datagram */
	PW_ALLOW_LOOPBACK = 11, /* pod to itself */

	/* --- dropped (or audited) --- */
	PW_DROP_POLICY = 32, /* no rule of the policies isolating the pod allows it */
	PW_DROP_SPOOFED = 33, /* source address is not the pod's on this veth */
	PW_DROP_MALFORMED = 34, /* truncated or invalid header */
	PW_DROP_FRAG_UNKNOWN = 35, /* non-first fragment without an allowed first one */
	PW_DROP_EXTHDR = 36, /* IPv6 extension header chain too long to parse */
	PW_DROP_NO_ENDPOINT = 37, /* enforced interface has no endpoint in the policy */
	PW_DROP_REVOKED = 38, /* established flow no longer allowed by new policy */

	PW_REASON_MAX = 48,
};

#define PW_REASON_FIRST_DROP 32

enum pw_verdict {
	PW_VERDICT_ALLOW = 0,
	PW_VERDICT_DROP = 1,
	PW_VERDICT_AUDIT = 2, /* would be dropped; passed because of audit mode */
};

static inline int pw_reason_is_drop(unsigned int r)
{
	return r >= PW_REASON_FIRST_DROP && r < PW_REASON_MAX;
}

#endif
