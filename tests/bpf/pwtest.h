/* SPDX-License-Identifier: MIT */
/*
 * Helpers for the datapath tests: load the real objects without pinning
 * (maps shared between tc and XDP by fd), fill the policy maps of a slot by
 * hand, build packets, run programs with BPF_PROG_TEST_RUN, and read
 * counters, conntrack and events back.
 *
 * Tests run in a private network namespace (pwt_netns) that holds the veth
 * devices whose ifindex the programs see; it disappears with the process.
 */
#ifndef PWTEST_H
#define PWTEST_H

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/if_ether.h>
#include <linux/pkt_cls.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "podwall/abi.h"
#include "podwall_tc.skel.h"
#include "podwall_xdp.skel.h"

#define PWT_MAX_EVENTS 256

struct pwt {
	struct podwall_tc *tc;
	struct podwall_xdp *xdp;
	struct ring_buffer *rb;
	struct pw_event ev[PWT_MAX_EVENTS];
	int n_ev;
	int ncpu;
};

/* Devices of the private namespace (ifindex > 1: test_run needs a device). */
static int pwt_if[4];

static __attribute__((unused)) int pwt_quiet(enum libbpf_print_level l, const char *f, va_list a)
{
	if (l == LIBBPF_DEBUG || l == LIBBPF_INFO)
		return 0;
	return vfprintf(stderr, f, a);
}

/* Enter a private netns with veth devices pwt1..pwt3; 0 or -errno. */
static __attribute__((unused)) int pwt_netns(void)
{
	char cmd[128];
	int i;

	if (unshare(CLONE_NEWNET))
		return -errno;
	for (i = 1; i <= 3; i++) {
		snprintf(cmd, sizeof(cmd),
			 "ip link add pwt%d type veth peer name pwt%dp 2>/dev/null", i, i);
		if (system(cmd) != 0)
			return -ENODEV;
		snprintf(cmd, sizeof(cmd), "pwt%d", i);
		pwt_if[i] = (int)if_nametoindex(cmd);
		if (pwt_if[i] <= 1)
			return -ENODEV;
	}
	return 0;
}

static __attribute__((unused)) void pwt_no_pins(struct bpf_object *obj)
{
	struct bpf_map *m;

	bpf_object__for_each_map (m, obj)
		bpf_map__set_pin_path(m, NULL);
}

static __attribute__((unused)) int pwt_on_event(void *ctx, void *data, size_t len)
{
	struct pwt *t = ctx;

	if (len >= sizeof(struct pw_event) && t->n_ev < PWT_MAX_EVENTS)
		memcpy(&t->ev[t->n_ev++], data, sizeof(struct pw_event));
	return 0;
}

static __attribute__((unused)) void pwt_destroy(struct pwt *t)
{
	if (!t)
		return;
	ring_buffer__free(t->rb);
	podwall_xdp__destroy(t->xdp);
	podwall_tc__destroy(t->tc);
	free(t);
}

/* Load tc and XDP objects; XDP reuses the tc object's maps.  mult scales
 * every max_entries (1 = abi.h sizes). */
static __attribute__((unused)) struct pwt *pwt_load(unsigned int mult)
{
	struct pwt *t = calloc(1, sizeof(*t));
	struct bpf_map *m, *tm;

	if (!t)
		return NULL;
	libbpf_set_print(pwt_quiet);
	t->ncpu = libbpf_num_possible_cpus();
	t->tc = podwall_tc__open();
	if (!t->tc)
		goto fail;
	pwt_no_pins(t->tc->obj);
	if (mult > 1) {
		bpf_object__for_each_map (m, t->tc->obj) {
			if (bpf_map__max_entries(m) > 1)
				bpf_map__set_max_entries(m, bpf_map__max_entries(m) * mult);
		}
	}
	if (podwall_tc__load(t->tc))
		goto fail;
	t->xdp = podwall_xdp__open();
	if (!t->xdp)
		goto fail;
	pwt_no_pins(t->xdp->obj);
	bpf_object__for_each_map (m, t->xdp->obj) {
		tm = bpf_object__find_map_by_name(t->tc->obj, bpf_map__name(m));
		if (!tm || bpf_map__reuse_fd(m, bpf_map__fd(tm)))
			goto fail;
	}
	if (podwall_xdp__load(t->xdp))
		goto fail;
	t->rb = ring_buffer__new(bpf_map__fd(t->tc->maps.pw_events_v1), pwt_on_event, t, NULL);
	if (!t->rb)
		goto fail;
	return t;
fail:
	pwt_destroy(t);
	return NULL;
}

/* ---- addresses and map filling ---- */

static __attribute__((unused)) union pw_addr pwt_addr(const char *s)
{
	union pw_addr a = {};
	struct in_addr v4;

	if (inet_pton(AF_INET, s, &v4) == 1) {
		a.b[10] = 0xff;
		a.b[11] = 0xff;
		memcpy(&a.b[12], &v4, 4);
	} else if (inet_pton(AF_INET6, s, &a) != 1) {
		fprintf(stderr, "bad address %s\n", s);
		abort();
	}
	return a;
}

static __attribute__((unused)) void pwt_state(struct pwt *t, uint64_t epoch, uint32_t flags)
{
	struct pw_state st = { .epoch = epoch, .abi_version = PW_ABI_VERSION, .flags = flags };
	uint32_t zero = 0;

	if (bpf_map__update_elem(t->tc->maps.pw_state_v1, &zero, 4, &st, sizeof(st), 0))
		abort();
}

static __attribute__((unused)) void pwt_state_rl(struct pwt *t, uint64_t epoch, uint32_t flags,
						 uint32_t rate, uint32_t burst)
{
	struct pw_state st = { .epoch = epoch,
			       .abi_version = PW_ABI_VERSION,
			       .flags = flags,
			       .events_per_sec = rate,
			       .events_burst = burst };
	uint32_t zero = 0;

	if (bpf_map__update_elem(t->tc->maps.pw_state_v1, &zero, 4, &st, sizeof(st), 0))
		abort();
}

struct pwt_ep {
	const char *addr;
	uint32_t identity, ifindex, flags, ep_id;
	uint32_t set_in, set_out, sflags_in, sflags_out;
};

static __attribute__((unused)) void pwt_add_ep(struct pwt *t, uint32_t slot, const struct pwt_ep *e)
{
	struct pw_ep_key k = { .slot = slot, .addr = pwt_addr(e->addr) };
	struct pw_endpoint v = { .identity = e->identity,
				 .ifindex = e->ifindex,
				 .flags = e->flags,
				 .ep_id = e->ep_id,
				 .set_id = { e->set_in, e->set_out },
				 .set_flags = { e->sflags_in, e->sflags_out } };

	if (bpf_map__update_elem(t->tc->maps.pw_ep_v1, &k, sizeof(k), &v, sizeof(v), 0))
		abort();
}

static __attribute__((unused)) void pwt_add_if(struct pwt *t, uint32_t slot, uint32_t ifindex,
					       const struct pwt_ep *e)
{
	struct pw_if_key k = { .slot = slot, .ifindex = ifindex };
	struct pw_endpoint v = { .identity = e->identity,
				 .ifindex = e->ifindex,
				 .flags = e->flags,
				 .ep_id = e->ep_id,
				 .set_id = { e->set_in, e->set_out },
				 .set_flags = { e->sflags_in, e->sflags_out } };

	if (bpf_map__update_elem(t->tc->maps.pw_if_v1, &k, sizeof(k), &v, sizeof(v), 0))
		abort();
}

/* pw_host_v1[slot]: the node's addresses (n of them), complete or not. */
static __attribute__((unused)) void pwt_set_hosts(struct pwt *t, uint32_t slot,
						  const char *const *addrs, int n, int complete)
{
	struct pw_hosts h = { .flags = complete ? PW_HOSTS_COMPLETE : 0 };

	for (int i = 0; i < n && i < PW_MAX_HOST_ADDRS; i++)
		h.addr[h.n++] = pwt_addr(addrs[i]);
	if (bpf_map__update_elem(t->tc->maps.pw_host_v1, &slot, sizeof(slot), &h, sizeof(h), 0))
		abort();
}

/* pw_host_v1[slot] with one service prefix (IPv4 plen in IPv4 terms), each
 * list complete or not. */
static __attribute__((unused)) void pwt_set_node(struct pwt *t, uint32_t slot,
						 const char *const *addrs, int n, int complete,
						 const char *svc, unsigned int plen,
						 int svc_complete)
{
	struct pw_hosts h = { .flags = (complete ? PW_HOSTS_COMPLETE : 0) |
				       (svc_complete ? PW_HOSTS_DEFER_COMPLETE : 0) };
	union pw_addr a = pwt_addr(svc);

	for (int i = 0; i < n && i < PW_MAX_HOST_ADDRS; i++)
		h.addr[h.n++] = pwt_addr(addrs[i]);
	if (!strchr(svc, ':'))
		plen += 96;
	for (int w = 0; w < 4; w++) {
		unsigned int bits = plen > 32u * w ? plen - 32u * w : 0;
		uint32_t m = bits >= 32 ? 0xffffffffu : bits ? ~(0xffffffffu >> bits) : 0;

		h.defer[0].mask.w[w] = htonl(m);
		h.defer[0].addr.w[w] = a.w[w] & htonl(m);
	}
	h.n_defer = 1;
	if (bpf_map__update_elem(t->tc->maps.pw_host_v1, &slot, sizeof(slot), &h, sizeof(h), 0))
		abort();
}

/* plen in the address family's own terms (IPv4 /12 -> /108 inside). */
static __attribute__((unused)) void pwt_add_peer(struct pwt *t, uint32_t slot, const char *addr,
						 unsigned int plen, uint32_t identity,
						 uint32_t flags)
{
	struct pw_peer_key k = { .slot = slot, .addr = pwt_addr(addr) };
	struct pw_peer_val v = { .identity = identity, .flags = flags };

	k.prefixlen = 32 + (strchr(addr, ':') ? plen : 96 + plen);
	if (bpf_map__update_elem(t->tc->maps.pw_peer_v1, &k, sizeof(k), &v, sizeof(v), 0))
		abort();
}

static __attribute__((unused)) void pwt_add_pol(struct pwt *t, uint32_t slot, uint32_t set,
						uint32_t peer, uint8_t dir, uint8_t proto,
						uint16_t port, uint32_t rule)
{
	struct pw_pol_key k = { .slot = slot,
				.set_id = set,
				.peer_id = peer,
				.dir = dir,
				.proto = proto,
				.port = port };
	struct pw_pol_val v = { .rule_id = rule };

	if (bpf_map__update_elem(t->tc->maps.pw_pol_v1, &k, sizeof(k), &v, sizeof(v), 0))
		abort();
}

static __attribute__((unused)) void pwt_del_pol(struct pwt *t, uint32_t slot, uint32_t set,
						uint32_t peer, uint8_t dir, uint8_t proto,
						uint16_t port)
{
	struct pw_pol_key k = { .slot = slot,
				.set_id = set,
				.peer_id = peer,
				.dir = dir,
				.proto = proto,
				.port = port };

	bpf_map__delete_elem(t->tc->maps.pw_pol_v1, &k, sizeof(k), 0);
}

static __attribute__((unused)) void pwt_add_range(struct pwt *t, uint32_t slot, uint32_t set,
						  uint32_t peer, uint8_t dir, uint8_t proto,
						  uint16_t lo, uint16_t hi, uint32_t rule)
{
	struct pw_pol_key k = {
		.slot = slot, .set_id = set, .peer_id = peer, .dir = dir, .proto = proto, .port = 0
	};
	struct pw_range_val v = {};

	bpf_map__lookup_elem(t->tc->maps.pw_range_v1, &k, sizeof(k), &v, sizeof(v), 0);
	if (v.n >= PW_MAX_RANGES)
		abort();
	v.r[v.n].lo = lo;
	v.r[v.n].hi = hi;
	v.r[v.n].rule_id = rule;
	v.n++;
	if (bpf_map__update_elem(t->tc->maps.pw_range_v1, &k, sizeof(k), &v, sizeof(v), 0))
		abort();
}

/* ---- counters, conntrack, events ---- */

/* Counter `pos` of element `key` of a per-CPU array whose values are `per`
 * struct pw_counter, summed over CPUs (packets, or bytes). */
static __attribute__((unused)) uint64_t pwt_sum(struct pwt *t, struct bpf_map *map, uint32_t key,
						uint32_t per, uint32_t pos, int bytes)
{
	struct pw_counter *c = calloc((size_t)t->ncpu * per, sizeof(*c));
	uint64_t sum = 0;
	int i;

	if (!c)
		abort();
	if (bpf_map__lookup_elem(map, &key, 4, c, sizeof(*c) * per * t->ncpu, 0) == 0) {
		for (i = 0; i < t->ncpu; i++)
			sum += bytes ? c[(size_t)i * per + pos].bytes
				     : c[(size_t)i * per + pos].packets;
	}
	free(c);
	return sum;
}

/* Packets counted for endpoint ep_id, direction dir, code (reason or
 * PW_CNT_AUDIT(reason)). */
static __attribute__((unused)) uint64_t pwt_cnt(struct pwt *t, uint32_t ep_id, uint32_t dir,
						uint32_t code)
{
	return pwt_sum(t, t->tc->maps.pw_cnt_v2, PW_CNT_SLOT(ep_id, dir), PW_CNT_CODES,
		       code % PW_CNT_CODES, 0);
}

static __attribute__((unused)) uint64_t pwt_rcnt(struct pwt *t, uint32_t rule)
{
	return pwt_sum(t, t->tc->maps.pw_rcnt_v1, rule, 1, 0, 0);
}

static __attribute__((unused)) uint64_t pwt_suppressed(struct pwt *t)
{
	struct pw_rl *rl = calloc(t->ncpu, sizeof(*rl));
	uint32_t zero = 0;
	uint64_t sum = 0;
	int i;

	if (!rl)
		abort();
	if (bpf_map__lookup_elem(t->tc->maps.pw_rl_v1, &zero, 4, rl, sizeof(*rl) * t->ncpu, 0) ==
	    0) {
		for (i = 0; i < t->ncpu; i++)
			sum += rl[i].suppressed;
	}
	free(rl);
	return sum;
}

/* The conntrack entry of a tuple at a hook; 0 if found. */
static __attribute__((unused)) int pwt_ct(struct pwt *t, const char *src, const char *dst,
					  uint16_t sport, uint16_t dport, uint8_t proto,
					  uint8_t hook, struct pw_ct_val *ret)
{
	struct pw_ct_key k = { .src = pwt_addr(src),
			       .dst = pwt_addr(dst),
			       .sport = sport,
			       .dport = dport,
			       .proto = proto,
			       .hook = hook };

	return bpf_map__lookup_elem(t->tc->maps.pw_ct_v1, &k, sizeof(k), ret, sizeof(*ret), 0);
}

static __attribute__((unused)) int pwt_events(struct pwt *t)
{
	t->n_ev = 0;
	ring_buffer__consume(t->rb);
	return t->n_ev;
}

/* ---- packets ---- */

struct pk {
	const char *src, *dst;
	uint8_t proto; /* IPPROTO_* */
	uint16_t sport, dport; /* ICMP: sport is the echo id */
	uint8_t tcp_flags; /* default SYN */
	uint8_t icmp_type, icmp_code;
	int vlan; /* 802.1Q tags: 0..2 */
	int ipopts; /* 32-bit words of IPv4 options */
	int frag; /* 0 none, 1 first, 2 later */
	uint32_t frag_id;
	int exthdrs; /* IPv6 destination-options headers before L4 */
	int hbh; /* IPv6 hop-by-hop header first */
	const struct pk *inner; /* ICMP error: quoted datagram */
	int truncate; /* bytes cut off the end */
	int bad_ihl; /* IPv4 ihl < 5 */
	int tcp_doff; /* override TCP data offset */
};

static __attribute__((unused)) void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static __attribute__((unused)) void put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, v & 0xffff);
}

static __attribute__((unused)) size_t pk_ip(uint8_t *b, const struct pk *o);

static __attribute__((unused)) size_t pk_l4(uint8_t *b, const struct pk *o, int v6)
{
	size_t n = 0;

	switch (o->proto) {
	case IPPROTO_TCP:
		memset(b, 0, 20);
		put16(b, o->sport);
		put16(b + 2, o->dport);
		b[12] = (o->tcp_doff ? o->tcp_doff : 5) << 4;
		b[13] = o->tcp_flags ? o->tcp_flags : 0x02;
		n = 20;
		break;
	case IPPROTO_UDP:
		memset(b, 0, 8);
		put16(b, o->sport);
		put16(b + 2, o->dport);
		put16(b + 4, 16);
		n = 8;
		break;
	case IPPROTO_SCTP:
		memset(b, 0, 12);
		put16(b, o->sport);
		put16(b + 2, o->dport);
		n = 12;
		break;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		memset(b, 0, 8);
		b[0] = o->icmp_type ? o->icmp_type : (v6 ? 128 : 8);
		b[1] = o->icmp_code;
		put16(b + 4, o->sport);
		n = 8;
		if (o->inner)
			n += pk_ip(b + 8, o->inner);
		break;
	default:
		break;
	}
	memcpy(b + n, "podwall!", 8);
	return n + 8;
}

static __attribute__((unused)) size_t pk_ip(uint8_t *b, const struct pk *o)
{
	int v6 = strchr(o->src, ':') != NULL;
	union pw_addr s = pwt_addr(o->src), d = pwt_addr(o->dst);
	size_t hl, l4;

	if (!v6) {
		hl = 20 + 4 * o->ipopts;
		memset(b, 0, hl);
		b[0] = 0x40 | (o->bad_ihl ? 4 : (uint8_t)(hl / 4));
		b[8] = 64;
		b[9] = o->proto;
		memcpy(b + 12, &s.b[12], 4);
		memcpy(b + 16, &d.b[12], 4);
		for (int i = 20; i < (int)hl; i++)
			b[i] = 1; /* NOP options */
		put16(b + 4, (uint16_t)o->frag_id);
		if (o->frag == 1)
			put16(b + 6, 0x2000);
		else if (o->frag == 2)
			put16(b + 6, 0x2000 | 185); /* offset 1480 */
		l4 = o->frag == 2 ? 16 : pk_l4(b + hl, o, 0);
		if (o->frag == 2)
			memset(b + hl, 0xab, 16);
		put16(b + 2, (uint16_t)(hl + l4));
		return hl + l4;
	}
	memset(b, 0, 40);
	b[0] = 0x60;
	b[7] = 64;
	memcpy(b + 8, &s, 16);
	memcpy(b + 24, &d, 16);
	hl = 40;
	uint8_t *nh = b + 6;
	if (o->hbh) {
		*nh = 0;
		memset(b + hl, 0, 8);
		b[hl + 2] = 5; /* router alert */
		b[hl + 3] = 2;
		nh = b + hl;
		hl += 8;
	}
	for (int i = 0; i < o->exthdrs; i++) {
		*nh = 60;
		memset(b + hl, 0, 8);
		b[hl + 1] = 0; /* 8 bytes */
		b[hl + 2] = 1; /* PadN */
		b[hl + 3] = 4;
		nh = b + hl;
		hl += 8;
	}
	if (o->frag) {
		*nh = 44;
		memset(b + hl, 0, 8);
		put16(b + hl + 2, o->frag == 1 ? 1 : (185 << 3) | 1);
		put32(b + hl + 4, o->frag_id);
		nh = b + hl;
		hl += 8;
	}
	*nh = o->proto;
	if (o->frag == 2) {
		memset(b + hl, 0xab, 16);
		l4 = 16;
	} else {
		l4 = pk_l4(b + hl, o, 1);
	}
	put16(b + 4, (uint16_t)(hl - 40 + l4));
	return hl + l4;
}

/* A full frame; returns its length. */
static __attribute__((unused)) size_t pk_build(uint8_t *b, const struct pk *o)
{
	int v6 = strchr(o->src, ':') != NULL;
	size_t off = 12;

	memcpy(b, "\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01", 12);
	for (int i = 0; i < o->vlan; i++) {
		put16(b + off, 0x8100);
		put16(b + off + 2, 100 + i);
		off += 4;
	}
	put16(b + off, v6 ? ETH_P_IPV6 : ETH_P_IP);
	off += 2;
	off += pk_ip(b + off, o);
	return off - (size_t)o->truncate;
}

static __attribute__((unused)) int pwt_run_raw(int prog_fd, const uint8_t *buf, size_t len,
					       int ifindex, int xdp)
{
	struct __sk_buff skb = { .ifindex = (uint32_t)ifindex };
	/* XDP test_run takes data_end as the size of the linear data. */
	struct xdp_md xmd = { .ingress_ifindex = (uint32_t)ifindex, .data_end = (uint32_t)len };
	uint8_t out[2048];
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = buf, .data_size_in = (uint32_t)len,
		    .data_out = out, .data_size_out = sizeof(out), .repeat = 1);
	int err;

	if (xdp) {
		opts.ctx_in = &xmd;
		opts.ctx_size_in = sizeof(xmd);
	} else {
		opts.ctx_in = &skb;
		opts.ctx_size_in = sizeof(skb);
	}
	err = bpf_prog_test_run_opts(prog_fd, &opts);
	if (err) {
		fprintf(stderr, "test_run: %s\n", strerror(-err));
		return -1;
	}
	return (int)opts.retval;
}

static __attribute__((unused)) int pwt_run(struct bpf_program *prog, const struct pk *o,
					   int ifindex)
{
	uint8_t buf[1024];
	size_t len = pk_build(buf, o);
	enum bpf_prog_type type = bpf_program__type(prog);

	return pwt_run_raw(bpf_program__fd(prog), buf, len, ifindex, type == BPF_PROG_TYPE_XDP);
}

#endif
