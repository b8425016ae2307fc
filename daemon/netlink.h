/* SPDX-License-Identifier: MIT */
/*
 * Interface discovery and network events (libnl-3 / libnl-route-3).
 *
 * Which host interface serves a local pod address (first rule that hits):
 *  (a) annotation: the pod's podwall.io/interface names it (caller passes
 *      the name; resolved with if_nametoindex);
 *  (b) routed: a route to exactly that address (/32, /128) in the main
 *      table whose output device is a veth (ptp, kindnet, Calico style);
 *  (c) bridged: a neighbour entry for the address on a bridge (cni0,
 *      docker0) gives its MAC, and the bridge FDB maps the MAC to the
 *      bridge port, which must be a veth.
 * An address none of these resolves is a remote pod, or a local pod on a
 * bridge that has not talked yet: for an address in the subnet of a
 * bridge's address, pw_nl_resolve() asks the kernel to resolve it
 * (RTM_NEWNEIGH with NTF_USE, as `ip neigh replace ADDR dev BR use`: an
 * ARP / neighbour solicitation, no application traffic), so the answer
 * creates the neighbour entry and the FDB entry and its NEIGH event
 * resolves the pod.  Per address with backoff (1 s doubling to 64 s),
 * reset by any link event (a new bridge port may be that pod).
 * Every resolution dumps the kernel tables afresh (links, routes,
 * neighbours, FDB): no long-lived libnl cache is trusted to be complete.
 *
 * Events: a nonblocking NETLINK_ROUTE socket subscribed to link, IPv4/IPv6
 * route, neighbour and IPv4/IPv6 address groups; pw_nl_process() drains it
 * and says what kind of thing changed, so the caller re-resolves.
 */
#ifndef PODWALL_NETLINK_H
#define PODWALL_NETLINK_H

#include <stddef.h>
#include <stdint.h>

#include "podwall/abi.h"

#define PW_NL_LINK_ADDED (1u << 0)
#define PW_NL_LINK_REMOVED (1u << 1)
#define PW_NL_ROUTE (1u << 2)
#define PW_NL_NEIGH (1u << 3)
#define PW_NL_ADDR (1u << 4)
#define PW_NL_OVERRUN (1u << 5) /* events were lost: assume everything changed */

#define PW_NL_MAX_LINKS_REPORTED 64

struct pw_nl_changes {
	uint32_t mask; /* PW_NL_* */
	uint32_t n_added, n_removed; /* may exceed the arrays: then see mask */
	uint32_t added[PW_NL_MAX_LINKS_REPORTED]; /* ifindexes */
	uint32_t removed[PW_NL_MAX_LINKS_REPORTED];
};

/* How an address was resolved. */
enum pw_nl_how {
	PW_NL_NONE = 0,
	PW_NL_ANNOTATION,
	PW_NL_ROUTE_VETH,
	PW_NL_BRIDGE_FDB,
	/* was PW_NL_BRIDGE_FDB, its neighbour or FDB entry is gone (a bridge
	 * whose MAC changed flushes its neighbours; FDB entries age out) while
	 * its veth is still there: kept attached, being re-resolved
	 * (daemon/dataplane.c) */
	PW_NL_BRIDGE_KEPT,
};

struct pw_nl;

/* events: also open the event socket (0: queries only). */
int pw_nl_open(int events, struct pw_nl **ret);
void pw_nl_close(struct pw_nl *nl);

/* The event socket's fd (for epoll; EPOLLIN), or -EBADF without events. */
int pw_nl_fd(const struct pw_nl *nl);

/* Drain pending events (never blocks). */
int pw_nl_process(struct pw_nl *nl, struct pw_nl_changes *ret);

/*
 * Resolve n addresses at once (one dump of each table).  ifnames[i] (may be
 * NULL, or an entry NULL) is the annotation for addrs[i].  ret_ifindex[i]
 * gets the host interface or 0, ret_how[i] (may be NULL) how.
 */
int pw_nl_resolve(struct pw_nl *nl, const union pw_addr *addrs, const char *const *ifnames,
		  size_t n, uint32_t *ret_ifindex, enum pw_nl_how *ret_how);

/* How many resolution requests (NTF_USE) were sent so far. */
uint64_t pw_nl_solicits(const struct pw_nl *nl);

/* Addresses asked for that are not resolved yet, and the milliseconds until
 * the earliest may be asked again (0: now, -1: none). Nothing but a
 * resolution asks again: the caller re-resolves when that time comes. */
size_t pw_nl_solicit_pending(const struct pw_nl *nl);
int pw_nl_solicit_due_ms(const struct pw_nl *nl);

/* Every address of every interface of this network namespace; *ret is
 * malloc()ed. */
int pw_nl_host_addrs(struct pw_nl *nl, union pw_addr **ret, size_t *ret_n);

/* "veth", "bridge", ... of an interface (empty for a device without a kind). */
int pw_nl_link_kind(struct pw_nl *nl, int ifindex, char *buf, size_t len);

const char *pw_nl_how_name(enum pw_nl_how how);

#endif
