// SPDX-License-Identifier: MIT
/* Interface discovery and events: see netlink.h for the rules. */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <linux/neighbour.h>
#include <linux/rtnetlink.h>

#include <netlink/addr.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/neighbour.h>
#include <netlink/route/route.h>

#include "netlink.h"

/* A bridge-subnet address podwall asked the kernel to resolve, and when it
 * may ask again (backoff, so an address no pod answers for costs one ARP/ND
 * exchange per 1, 2, 4 ... 64 s, not one per event). */
struct solicit {
	union pw_addr a;
	uint64_t next_ns;
	uint32_t tries;
	int seen; /* still a candidate in the last resolution */
};

struct pw_nl {
	struct nl_sock *q; /* queries */
	struct nl_sock *ev; /* events (NULL without) */
	struct pw_nl_changes *cur; /* filled while processing */
	struct solicit *sol;
	size_t n_sol, cap_sol;
	uint64_t solicits; /* requests sent */
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

const char *pw_nl_how_name(enum pw_nl_how how)
{
	switch (how) {
	case PW_NL_ANNOTATION:
		return "annotation";
	case PW_NL_ROUTE_VETH:
		return "route";
	case PW_NL_BRIDGE_FDB:
		return "bridge-fdb";
	case PW_NL_BRIDGE_KEPT:
		return "bridge-kept";
	case PW_NL_NONE:
		break;
	}
	return "none";
}

static int nle_to_errno(int nle)
{
	switch (-nle) {
	case NLE_NOMEM:
		return -ENOMEM;
	case NLE_AGAIN:
		return -EAGAIN;
	case NLE_PERM:
		return -EPERM;
	case NLE_OBJ_NOTFOUND:
		return -ENOENT;
	default:
		return -EIO;
	}
}

static void changes_note(struct pw_nl_changes *c, int type, uint32_t ifindex)
{
	switch (type) {
	case RTM_NEWLINK:
		c->mask |= PW_NL_LINK_ADDED;
		if (c->n_added < PW_NL_MAX_LINKS_REPORTED)
			c->added[c->n_added] = ifindex;
		c->n_added++;
		break;
	case RTM_DELLINK:
		c->mask |= PW_NL_LINK_REMOVED;
		if (c->n_removed < PW_NL_MAX_LINKS_REPORTED)
			c->removed[c->n_removed] = ifindex;
		c->n_removed++;
		break;
	case RTM_NEWROUTE:
	case RTM_DELROUTE:
		c->mask |= PW_NL_ROUTE;
		break;
	case RTM_NEWNEIGH:
	case RTM_DELNEIGH:
		c->mask |= PW_NL_NEIGH;
		break;
	case RTM_NEWADDR:
	case RTM_DELADDR:
		c->mask |= PW_NL_ADDR;
		break;
	}
}

static int event_cb(struct nl_msg *msg, void *arg)
{
	struct pw_nl *nl = arg;
	struct nlmsghdr *h = nlmsg_hdr(msg);
	uint32_t ifindex = 0;

	if (!nl->cur)
		return NL_OK;
	if ((h->nlmsg_type == RTM_NEWLINK || h->nlmsg_type == RTM_DELLINK) &&
	    nlmsg_datalen(h) >= (int)sizeof(struct ifinfomsg))
		ifindex = ((struct ifinfomsg *)nlmsg_data(h))->ifi_index;
	changes_note(nl->cur, h->nlmsg_type, ifindex);
	return NL_OK;
}

int pw_nl_open(int events, struct pw_nl **ret)
{
	struct pw_nl *nl = calloc(1, sizeof(*nl));
	int err;

	if (!nl)
		return -ENOMEM;
	nl->q = nl_socket_alloc();
	if (!nl->q) {
		err = -ENOMEM;
		goto fail;
	}
	err = nl_connect(nl->q, NETLINK_ROUTE);
	if (err) {
		err = nle_to_errno(err);
		goto fail;
	}
	fcntl(nl_socket_get_fd(nl->q), F_SETFD, FD_CLOEXEC);
	if (events) {
		nl->ev = nl_socket_alloc();
		if (!nl->ev) {
			err = -ENOMEM;
			goto fail;
		}
		nl_socket_disable_seq_check(nl->ev);
		nl_socket_modify_cb(nl->ev, NL_CB_VALID, NL_CB_CUSTOM, event_cb, nl);
		err = nl_connect(nl->ev, NETLINK_ROUTE);
		if (err) {
			err = nle_to_errno(err);
			goto fail;
		}
		fcntl(nl_socket_get_fd(nl->ev), F_SETFD, FD_CLOEXEC);
		err = nl_socket_add_memberships(nl->ev, RTNLGRP_LINK, RTNLGRP_IPV4_ROUTE,
						RTNLGRP_IPV6_ROUTE, RTNLGRP_NEIGH,
						RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR, 0);
		if (err) {
			err = nle_to_errno(err);
			goto fail;
		}
		nl_socket_set_buffer_size(nl->ev, 4 << 20, 0);
		err = nl_socket_set_nonblocking(nl->ev);
		if (err) {
			err = nle_to_errno(err);
			goto fail;
		}
	}
	*ret = nl;
	return 0;
fail:
	pw_nl_close(nl);
	return err;
}

void pw_nl_close(struct pw_nl *nl)
{
	if (!nl)
		return;
	if (nl->q)
		nl_socket_free(nl->q);
	if (nl->ev)
		nl_socket_free(nl->ev);
	free(nl->sol);
	free(nl);
}

int pw_nl_fd(const struct pw_nl *nl)
{
	return nl->ev ? nl_socket_get_fd(nl->ev) : -EBADF;
}

int pw_nl_process(struct pw_nl *nl, struct pw_nl_changes *ret)
{
	struct pw_nl_changes c = {};
	int err = 0;

	if (!nl->ev)
		return -EBADF;
	/* the callbacks collect into c; reset to NULL before returning */
	nl->cur = &c; // cppcheck-suppress autoVariables
	for (int i = 0; i < 4096; i++) { /* bounded: the rest waits for the next wakeup */
		err = nl_recvmsgs_default(nl->ev);
		if (err == -NLE_AGAIN) {
			err = 0;
			break;
		}
		if (err == -NLE_NOMEM || err == -NLE_MSG_OVERFLOW || err == -NLE_DUMP_INTR) {
			/* ENOBUFS: the kernel dropped events; resync by re-resolving */
			c.mask |= PW_NL_OVERRUN | PW_NL_LINK_ADDED | PW_NL_LINK_REMOVED |
				  PW_NL_ROUTE | PW_NL_NEIGH | PW_NL_ADDR;
			err = 0;
			continue;
		}
		if (err < 0) {
			err = nle_to_errno(err);
			break;
		}
	}
	nl->cur = NULL;
	/* A link appeared or changed (a veth joined a bridge, say): it may be
	 * the silent pod we gave up on, so ask again now. */
	if (c.mask & PW_NL_LINK_ADDED)
		for (size_t i = 0; i < nl->n_sol; i++) {
			nl->sol[i].next_ns = 0;
			nl->sol[i].tries = 0;
		}
	if (!err)
		*ret = c;
	return err;
}

/* ---- addresses ---- */

static int to_pw_addr(struct nl_addr *a, union pw_addr *out)
{
	const uint8_t *b;

	if (!a)
		return -EINVAL;
	b = nl_addr_get_binary_addr(a);
	memset(out, 0, sizeof(*out));
	if (nl_addr_get_family(a) == AF_INET && nl_addr_get_len(a) == 4) {
		out->b[10] = 0xff;
		out->b[11] = 0xff;
		memcpy(&out->b[12], b, 4);
		return 0;
	}
	if (nl_addr_get_family(a) == AF_INET6 && nl_addr_get_len(a) == 16) {
		memcpy(out->b, b, 16);
		return 0;
	}
	return -EAFNOSUPPORT;
}

static int is_veth(struct nl_cache *links, int ifindex)
{
	struct rtnl_link *l = rtnl_link_get(links, ifindex);
	int r = 0;

	if (l) {
		const char *t = rtnl_link_get_type(l);

		r = t && !strcmp(t, "veth");
		rtnl_link_put(l);
	}
	return r;
}

int pw_nl_link_kind(struct pw_nl *nl, int ifindex, char *buf, size_t len)
{
	struct rtnl_link *l = NULL;
	const char *t;
	int err = rtnl_link_get_kernel(nl->q, ifindex, NULL, &l);

	if (err)
		return nle_to_errno(err);
	t = rtnl_link_get_type(l);
	snprintf(buf, len, "%s", t ? t : "");
	rtnl_link_put(l);
	return 0;
}

/* small addr -> ifindex table (linear; pod counts are bounded by the image) */
struct amap {
	union pw_addr *a;
	uint32_t *ifx;
	size_t n, cap;
};

static int amap_put(struct amap *m, const union pw_addr *a, uint32_t ifx)
{
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 64;
		union pw_addr *na = realloc(m->a, cap * sizeof(*na));

		if (!na)
			return -ENOMEM;
		m->a = na;
		uint32_t *ni = realloc(m->ifx, cap * sizeof(*ni));
		if (!ni)
			return -ENOMEM;
		m->ifx = ni;
		m->cap = cap;
	}
	m->a[m->n] = *a;
	m->ifx[m->n++] = ifx;
	return 0;
}

static uint32_t amap_get(const struct amap *m, const union pw_addr *a)
{
	for (size_t i = 0; i < m->n; i++)
		if (!memcmp(&m->a[i], a, sizeof(*a)))
			return m->ifx[i];
	return 0;
}

static void amap_free(struct amap *m)
{
	free(m->a);
	free(m->ifx);
	memset(m, 0, sizeof(*m));
}

/* routed: /32 and /128 routes in the main table out of a veth */
static int collect_routes(struct pw_nl *nl, struct nl_cache *links, struct amap *out)
{
	struct nl_cache *routes = NULL;
	struct nl_object *o;
	int err = rtnl_route_alloc_cache(nl->q, AF_UNSPEC, 0, &routes);

	if (err)
		return nle_to_errno(err);
	for (o = nl_cache_get_first(routes); o; o = nl_cache_get_next(o)) {
		struct rtnl_route *r = (struct rtnl_route *)o;
		struct nl_addr *dst = rtnl_route_get_dst(r);
		struct rtnl_nexthop *nh;
		union pw_addr a;
		int full;

		if (rtnl_route_get_table(r) != RT_TABLE_MAIN || !dst ||
		    rtnl_route_get_nnexthops(r) != 1)
			continue;
		full = nl_addr_get_family(dst) == AF_INET ? 32 : 128;
		if ((int)nl_addr_get_prefixlen(dst) != full || to_pw_addr(dst, &a))
			continue;
		nh = rtnl_route_nexthop_n(r, 0);
		if (!nh || !is_veth(links, rtnl_route_nh_get_ifindex(nh)))
			continue;
		err = amap_put(out, &a, rtnl_route_nh_get_ifindex(nh));
		if (err)
			break;
	}
	nl_cache_free(routes);
	return err;
}

struct fdb_ent {
	uint8_t mac[6];
	uint32_t bridge, port;
};

struct fdb {
	struct fdb_ent *e;
	size_t n, cap;
};

static int fdb_cb(struct nl_msg *msg, void *arg)
{
	struct fdb *f = arg;
	struct nlmsghdr *h = nlmsg_hdr(msg);
	struct nlattr *tb[NDA_MAX + 1];
	struct ndmsg *nd;

	if (h->nlmsg_type != RTM_NEWNEIGH || nlmsg_parse(h, sizeof(*nd), tb, NDA_MAX, NULL) < 0)
		return NL_OK;
	nd = nlmsg_data(h);
	if (nd->ndm_family != AF_BRIDGE || !tb[NDA_LLADDR] || !tb[NDA_MASTER] ||
	    nla_len(tb[NDA_LLADDR]) != 6)
		return NL_OK;
	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 128;
		struct fdb_ent *ne = realloc(f->e, cap * sizeof(*ne));

		if (!ne)
			return NL_STOP;
		f->e = ne;
		f->cap = cap;
	}
	memcpy(f->e[f->n].mac, nla_data(tb[NDA_LLADDR]), 6);
	f->e[f->n].bridge = nla_get_u32(tb[NDA_MASTER]);
	f->e[f->n].port = nd->ndm_ifindex;
	f->n++;
	return NL_OK;
}

static int dump_fdb(struct pw_nl *nl, struct fdb *f)
{
	struct ndmsg nd = { .ndm_family = AF_BRIDGE };
	struct nl_sock *sk = nl_socket_alloc();
	int err;

	if (!sk)
		return -ENOMEM;
	(void)nl;
	err = nl_connect(sk, NETLINK_ROUTE);
	if (!err) {
		nl_socket_modify_cb(sk, NL_CB_VALID, NL_CB_CUSTOM, fdb_cb, f);
		err = nl_send_simple(sk, RTM_GETNEIGH, NLM_F_DUMP, &nd, sizeof(nd));
		if (err >= 0)
			err = nl_recvmsgs_default(sk);
	}
	nl_socket_free(sk);
	return err < 0 ? nle_to_errno(err) : 0;
}

/* bridged: neighbour on a bridge -> MAC -> FDB port that is a veth */
static int collect_bridged(struct pw_nl *nl, struct nl_cache *links, struct amap *out)
{
	struct nl_cache *neighs = NULL;
	struct fdb f = {};
	struct nl_object *o;
	int err;

	err = rtnl_neigh_alloc_cache(nl->q, &neighs);
	if (err)
		return nle_to_errno(err);
	err = dump_fdb(nl, &f);
	if (err)
		goto out;
	for (o = nl_cache_get_first(neighs); o; o = nl_cache_get_next(o)) {
		struct rtnl_neigh *n = (struct rtnl_neigh *)o;
		struct nl_addr *ll = rtnl_neigh_get_lladdr(n);
		struct rtnl_link *br;
		union pw_addr a;
		int bridge = rtnl_neigh_get_ifindex(n), isbr;

		if (!ll || nl_addr_get_len(ll) != 6 || to_pw_addr(rtnl_neigh_get_dst(n), &a))
			continue;
		if (rtnl_neigh_get_state(n) & (NUD_FAILED | NUD_INCOMPLETE))
			continue;
		br = rtnl_link_get(links, bridge);
		isbr = br && rtnl_link_get_type(br) && !strcmp(rtnl_link_get_type(br), "bridge");
		if (br)
			rtnl_link_put(br);
		if (!isbr)
			continue;
		for (size_t i = 0; i < f.n; i++) {
			if (f.e[i].bridge != (uint32_t)bridge ||
			    memcmp(f.e[i].mac, nl_addr_get_binary_addr(ll), 6) ||
			    !is_veth(links, f.e[i].port))
				continue;
			err = amap_put(out, &a, f.e[i].port);
			if (err)
				goto out;
			break;
		}
	}
out:
	free(f.e);
	nl_cache_free(neighs);
	return err;
}

/* ---- silent pods on a bridge ---- */

struct brnet {
	union pw_addr a; /* the bridge's own address */
	unsigned int plen; /* in the 128-bit (IPv4-mapped) space */
	uint32_t bridge;
};

static int in_prefix(const union pw_addr *net, unsigned int plen, const union pw_addr *a)
{
	unsigned int full = plen / 8, rest = plen % 8;

	if (memcmp(net->b, a->b, full))
		return 0;
	return !rest || !((net->b[full] ^ a->b[full]) & (uint8_t)(0xff << (8 - rest)));
}

/* The subnets of every bridge's addresses (cni0 10.244.1.1/24 ...). */
static int bridge_nets(struct pw_nl *nl, struct nl_cache *links, struct brnet **ret, size_t *ret_n)
{
	struct nl_cache *addrs = NULL;
	struct brnet *v = NULL;
	size_t n = 0, cap = 0;
	struct nl_object *o;
	int err = rtnl_addr_alloc_cache(nl->q, &addrs);

	if (err)
		return nle_to_errno(err);
	for (o = nl_cache_get_first(addrs); o; o = nl_cache_get_next(o)) {
		struct rtnl_addr *ad = (struct rtnl_addr *)o;
		struct rtnl_link *l = rtnl_link_get(links, rtnl_addr_get_ifindex(ad));
		int isbr = l && rtnl_link_get_type(l) && !strcmp(rtnl_link_get_type(l), "bridge");
		union pw_addr a;

		if (l)
			rtnl_link_put(l);
		if (!isbr || to_pw_addr(rtnl_addr_get_local(ad), &a))
			continue;
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 8;
			struct brnet *nv = realloc(v, nc * sizeof(*nv));

			if (!nv) {
				err = -ENOMEM;
				break;
			}
			v = nv;
			cap = nc;
		}
		v[n].a = a;
		v[n].plen = rtnl_addr_get_prefixlen(ad) +
			    (rtnl_addr_get_family(ad) == AF_INET ? 96 : 0);
		v[n].bridge = rtnl_addr_get_ifindex(ad);
		n++;
	}
	nl_cache_free(addrs);
	if (err) {
		free(v);
		return err;
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

/* `ip neigh replace ADDR dev BRIDGE use`: the kernel creates the entry if
 * needed and starts resolving it (ARP / neighbour solicitation), without
 * podwall sending any traffic itself; the answer fills the neighbour table
 * and teaches the bridge FDB the pod's port, and its NEIGH event resolves
 * the pod. */
static int solicit_one(struct pw_nl *nl, const union pw_addr *a, uint32_t bridge, int fresh)
{
	static const uint8_t v4pre[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	int v4 = !memcmp(a->b, v4pre, sizeof(v4pre));
	struct ndmsg nd = { .ndm_family = v4 ? AF_INET : AF_INET6,
			    .ndm_ifindex = (int)bridge,
			    .ndm_state = NUD_NONE,
			    .ndm_flags = NTF_USE };
	struct nl_msg *m;
	int err;

	/* NTF_USE on an entry still INCOMPLETE from an earlier request (sent
	 * before the pod's veth joined the bridge) sends nothing: the kernel
	 * waits for its next retransmit, up to 1 s, while the pod's peers may
	 * already reach it. A first request drops the old entry, so the new
	 * one is probed now. */
	if (fresh) {
		struct ndmsg dn = { .ndm_family = nd.ndm_family, .ndm_ifindex = (int)bridge };

		m = nlmsg_alloc_simple(RTM_DELNEIGH, 0);
		if (!m)
			return -ENOMEM;
		err = nlmsg_append(m, &dn, sizeof(dn), NLMSG_ALIGNTO);
		if (!err)
			err = nla_put(m, NDA_DST, v4 ? 4 : 16, v4 ? &a->b[12] : a->b);
		if (!err)
			nl_send_sync(nl->q, m); /* frees m; ENOENT: nothing to drop */
		else
			nlmsg_free(m);
	}
	m = nlmsg_alloc_simple(RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_REPLACE);
	if (!m)
		return -ENOMEM;
	err = nlmsg_append(m, &nd, sizeof(nd), NLMSG_ALIGNTO);
	if (!err)
		err = nla_put(m, NDA_DST, v4 ? 4 : 16, v4 ? &a->b[12] : a->b);
	if (!err)
		err = nl_send_sync(nl->q, m); /* frees m */
	else
		nlmsg_free(m);
	if (!err)
		nl->solicits++;
	return err < 0 ? nle_to_errno(err) : 0;
}

static struct solicit *solicit_slot(struct pw_nl *nl, const union pw_addr *a)
{
	for (size_t i = 0; i < nl->n_sol; i++)
		if (!memcmp(&nl->sol[i].a, a, sizeof(*a)))
			return &nl->sol[i];
	if (nl->n_sol == nl->cap_sol) {
		size_t cap = nl->cap_sol ? nl->cap_sol * 2 : 16;
		struct solicit *ns = realloc(nl->sol, cap * sizeof(*ns));

		if (!ns)
			return NULL;
		nl->sol = ns;
		nl->cap_sol = cap;
	}
	memset(&nl->sol[nl->n_sol], 0, sizeof(nl->sol[0]));
	nl->sol[nl->n_sol].a = *a;
	return &nl->sol[nl->n_sol++];
}

/*
 * Addresses nothing resolved that lie in a bridge's subnet may be local pods
 * that have not talked yet: ask the kernel to resolve them (backoff per
 * address).  Forget the addresses that are no longer candidates.
 */
static void solicit_silent(struct pw_nl *nl, struct nl_cache *links, const union pw_addr *addrs,
			   const uint32_t *ifx, size_t n)
{
	struct brnet *br = NULL;
	size_t nbr = 0;
	uint64_t now = mono_ns();

	for (size_t i = 0; i < nl->n_sol; i++)
		nl->sol[i].seen = 0;
	if (bridge_nets(nl, links, &br, &nbr) == 0) {
		for (size_t i = 0; i < n; i++) {
			struct solicit *s;
			size_t b;

			if (ifx[i])
				continue;
			for (b = 0; b < nbr; b++)
				if (in_prefix(&br[b].a, br[b].plen, &addrs[i]) &&
				    memcmp(&br[b].a, &addrs[i], sizeof(addrs[i])))
					break;
			if (b == nbr)
				continue;
			s = solicit_slot(nl, &addrs[i]);
			if (!s)
				break;
			s->seen = 1;
			if (now < s->next_ns)
				continue;
			/* a failed request waits too: the caller's timer must not spin */
			s->next_ns = now + (1000000000ull << (s->tries < 6 ? s->tries : 6));
			if (solicit_one(nl, &addrs[i], br[b].bridge, s->tries == 0) == 0)
				s->tries++;
		}
	}
	free(br);
	for (size_t i = 0; i < nl->n_sol;) {
		if (!nl->sol[i].seen)
			nl->sol[i] = nl->sol[--nl->n_sol];
		else
			i++;
	}
}

uint64_t pw_nl_solicits(const struct pw_nl *nl)
{
	return nl->solicits;
}

size_t pw_nl_solicit_pending(const struct pw_nl *nl)
{
	return nl->n_sol;
}

int pw_nl_solicit_due_ms(const struct pw_nl *nl)
{
	uint64_t now = mono_ns(), first = UINT64_MAX;

	for (size_t i = 0; i < nl->n_sol; i++)
		if (nl->sol[i].next_ns < first)
			first = nl->sol[i].next_ns;
	if (first == UINT64_MAX)
		return -1;
	if (first <= now)
		return 0;
	return (int)((first - now) / 1000000u) + 1;
}

int pw_nl_resolve(struct pw_nl *nl, const union pw_addr *addrs, const char *const *ifnames,
		  size_t n, uint32_t *ret_ifindex, enum pw_nl_how *ret_how)
{
	struct nl_cache *links = NULL;
	struct amap routed = {}, bridged = {};
	int err;

	err = rtnl_link_alloc_cache(nl->q, AF_UNSPEC, &links);
	if (err)
		return nle_to_errno(err);
	err = collect_routes(nl, links, &routed);
	if (!err)
		err = collect_bridged(nl, links, &bridged);
	if (err)
		goto out;
	for (size_t i = 0; i < n; i++) {
		enum pw_nl_how how = PW_NL_NONE;
		uint32_t ifx = 0;

		if (ifnames && ifnames[i] && ifnames[i][0]) {
			ifx = if_nametoindex(ifnames[i]);
			if (ifx)
				how = PW_NL_ANNOTATION;
		}
		if (!ifx && (ifx = amap_get(&routed, &addrs[i])))
			how = PW_NL_ROUTE_VETH;
		if (!ifx && (ifx = amap_get(&bridged, &addrs[i])))
			how = PW_NL_BRIDGE_FDB;
		ret_ifindex[i] = ifx;
		if (ret_how)
			ret_how[i] = how;
	}
	solicit_silent(nl, links, addrs, ret_ifindex, n);
out:
	amap_free(&routed);
	amap_free(&bridged);
	nl_cache_free(links);
	return err;
}

int pw_nl_host_addrs(struct pw_nl *nl, union pw_addr **ret, size_t *ret_n)
{
	struct nl_cache *addrs = NULL;
	struct nl_object *o;
	union pw_addr *v = NULL;
	size_t n = 0, cap = 0;
	int err = rtnl_addr_alloc_cache(nl->q, &addrs);

	if (err)
		return nle_to_errno(err);
	for (o = nl_cache_get_first(addrs); o; o = nl_cache_get_next(o)) {
		union pw_addr a;

		if (to_pw_addr(rtnl_addr_get_local((struct rtnl_addr *)o), &a))
			continue;
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 16;
			union pw_addr *nv = realloc(v, nc * sizeof(*nv));

			if (!nv) {
				free(v);
				nl_cache_free(addrs);
				return -ENOMEM;
			}
			v = nv;
			cap = nc;
		}
		v[n++] = a;
	}
	nl_cache_free(addrs);
	*ret = v;
	*ret_n = n;
	return 0;
}
