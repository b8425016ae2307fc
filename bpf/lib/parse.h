/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Packet parsing: Ethernet (up to two 802.1Q/802.1ad tags), IPv4 (options,
 * fragments), IPv6 (extension-header walk, fragment header), TCP, UDP, SCTP
 * ports, ICMP/ICMPv6 echo identifiers and the inner tuple of ICMP errors.
 *
 * pw_parse() returns 0 for an IP packet it understood, or the reason that
 * decides the packet without policy: PW_ALLOW_NON_IP, PW_ALLOW_ND,
 * PW_DROP_MALFORMED, PW_DROP_EXTHDR.  Only headers are checked; a packet
 * longer than its IP length or a non-linear skb tail is not an error.
 */
#ifndef PW_BPF_PARSE_H
#define PW_BPF_PARSE_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <linux/icmp.h>
#include <linux/icmpv6.h>
#include <bpf/bpf_endian.h>
#include "podwall/abi.h"
#include "lib/ctx.h"

/* Extension headers walked before PW_DROP_EXTHDR. */
#define PW_MAX_EXTHDRS 6

#define PW_FRAG_NONE 0
#define PW_FRAG_FIRST 1 /* offset 0, more fragments: carries the L4 header */
#define PW_FRAG_LATER 2 /* offset > 0: no L4 header */

#define PW_TCP_FIN 0x01
#define PW_TCP_SYN 0x02
#define PW_TCP_RST 0x04
#define PW_TCP_ACK 0x10

struct pw_pkt {
	union pw_addr src;
	union pw_addr dst;
	union pw_addr isrc; /* inner tuple of an ICMP error (icmp_err) */
	union pw_addr idst;
	__u32 frag_id;
	__u16 sport; /* ICMP echo: identifier in both */
	__u16 dport;
	__u16 isport;
	__u16 idport;
	__u8 proto;
	__u8 iproto;
	__u8 family; /* 4 or 6 */
	__u8 frag; /* PW_FRAG_* */
	__u8 icmp_err; /* an ICMP error whose inner tuple was parsed */
	__u8 tcp_flags;
	__u16 pad;
};

static __always_inline void pw_addr_v4(union pw_addr *a, __be32 v4)
{
	a->w[0] = 0;
	a->w[1] = 0;
	a->w[2] = bpf_htonl(0x0000ffff);
	a->w[3] = v4;
}

static __always_inline void pw_addr_v6(union pw_addr *a, const struct in6_addr *v6)
{
	a->w[0] = v6->in6_u.u6_addr32[0];
	a->w[1] = v6->in6_u.u6_addr32[1];
	a->w[2] = v6->in6_u.u6_addr32[2];
	a->w[3] = v6->in6_u.u6_addr32[3];
}

static __always_inline int pw_addr_eq(const union pw_addr *a, const union pw_addr *b)
{
	return ((a->w[0] ^ b->w[0]) | (a->w[1] ^ b->w[1]) | (a->w[2] ^ b->w[2]) |
		(a->w[3] ^ b->w[3])) == 0;
}

/* Ports of a transport header at p (4 readable bytes). */
static __always_inline void pw_ports(const void *p, __u16 *sp, __u16 *dp)
{
	const __be16 *ports = p;

	*sp = bpf_ntohs(ports[0]);
	*dp = bpf_ntohs(ports[1]);
}

/*
 * Inner tuple of an ICMP error: the start of the datagram that caused it.
 * Leaves icmp_err 0 when the quote is too short or not understood, and the
 * error is then judged as an ordinary packet.
 */
static __always_inline void pw_parse_icmp_inner(struct pw_ctx *c, struct pw_pkt *p, __u32 off)
{
	void *end = c->data_end;
	__u8 proto;

	off &= 0x3fff;
	if (p->family == 4) {
		struct iphdr *ip = c->data + off;
		__u32 hl;

		if ((void *)(ip + 1) > end || ip->version != 4 || ip->ihl < 5)
			return;
		hl = ip->ihl * 4;
		pw_addr_v4(&p->isrc, ip->saddr);
		pw_addr_v4(&p->idst, ip->daddr);
		proto = ip->protocol;
		off += hl;
	} else {
		struct ipv6hdr *ip6 = c->data + off;

		if ((void *)(ip6 + 1) > end)
			return;
		pw_addr_v6(&p->isrc, &ip6->saddr);
		pw_addr_v6(&p->idst, &ip6->daddr);
		proto = ip6->nexthdr;
		off += sizeof(*ip6);
	}
	off &= 0x3fff;
	p->iproto = proto;
	if (proto == IPPROTO_TCP || proto == IPPROTO_UDP || proto == IPPROTO_SCTP) {
		void *l4 = c->data + off;

		if (l4 + 4 > end)
			return;
		pw_ports(l4, &p->isport, &p->idport);
	} else if ((proto == IPPROTO_ICMP && p->family == 4) ||
		   (proto == IPPROTO_ICMPV6 && p->family == 6)) {
		struct icmphdr *ic = c->data + off;

		if ((void *)(ic + 1) > end)
			return;
		/* Only an echo can be quoted by an error (errors never quote
		 * errors); its identifier is the "port". */
		p->isport = bpf_ntohs(ic->un.echo.id);
		p->idport = p->isport;
	} else {
		p->isport = 0;
		p->idport = 0;
	}
	p->icmp_err = 1;
}

static __always_inline int pw_parse_l4(struct pw_ctx *c, struct pw_pkt *p, __u32 off)
{
	void *end = c->data_end;
	void *l4;

	off &= 0x7fff;
	l4 = c->data + off;
	switch (p->proto) {
	case IPPROTO_TCP: {
		struct tcphdr *th = l4;

		if ((void *)(th + 1) > end || th->doff < 5)
			return PW_DROP_MALFORMED;
		pw_ports(th, &p->sport, &p->dport);
		p->tcp_flags = ((__u8 *)th)[13];
		return 0;
	}
	case IPPROTO_UDP:
		if (l4 + sizeof(struct udphdr) > end)
			return PW_DROP_MALFORMED;
		pw_ports(l4, &p->sport, &p->dport);
		return 0;
	case IPPROTO_SCTP:
		if (l4 + 12 > end) /* common header: ports, tag, checksum */
			return PW_DROP_MALFORMED;
		pw_ports(l4, &p->sport, &p->dport);
		return 0;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6: {
		struct icmphdr *ic = l4; /* type, code, csum, id, seq: same in v6 */
		__u8 type;

		if ((void *)(ic + 1) > end)
			return PW_DROP_MALFORMED;
		type = ic->type;
		if (p->proto == IPPROTO_ICMP && p->family == 4) {
			if (type == ICMP_ECHO || type == ICMP_ECHOREPLY) {
				p->sport = bpf_ntohs(ic->un.echo.id);
				p->dport = p->sport;
			} else if (type == ICMP_DEST_UNREACH || type == ICMP_TIME_EXCEEDED ||
				   type == ICMP_PARAMETERPROB || type == ICMP_SOURCE_QUENCH) {
				pw_parse_icmp_inner(c, p, off + sizeof(*ic));
			}
		} else if (p->proto == IPPROTO_ICMPV6 && p->family == 6) {
			if (type == ICMPV6_ECHO_REQUEST || type == ICMPV6_ECHO_REPLY) {
				p->sport = bpf_ntohs(ic->un.echo.id);
				p->dport = p->sport;
			} else if (type >= 133 && type <= 137) {
				return PW_ALLOW_ND; /* RS, RA, NS, NA, redirect */
			} else if (type == 130 || type == 131 || type == 132 || type == 143) {
				return PW_ALLOW_ND; /* MLD query, report, done, MLDv2 report */
			} else if (type >= ICMPV6_DEST_UNREACH && type <= ICMPV6_PARAMPROB) {
				pw_parse_icmp_inner(c, p, off + sizeof(*ic));
			}
		}
		return 0;
	}
	default:
		return 0; /* no ports */
	}
}

static __always_inline int pw_parse_ipv4(struct pw_ctx *c, struct pw_pkt *p, __u32 off)
{
	struct iphdr *ip = c->data + off;
	__u32 hl, frag, tot;

	if ((void *)(ip + 1) > c->data_end)
		return PW_DROP_MALFORMED;
	if (ip->version != 4 || ip->ihl < 5)
		return PW_DROP_MALFORMED;
	hl = ip->ihl * 4;
	tot = bpf_ntohs(ip->tot_len);
	/* tot_len 0 is a BIG TCP super-packet (GSO beyond 64 KiB), not an error. */
	if ((tot && tot < hl) || (void *)ip + hl > c->data_end)
		return PW_DROP_MALFORMED;
	p->family = 4;
	pw_addr_v4(&p->src, ip->saddr);
	pw_addr_v4(&p->dst, ip->daddr);
	p->proto = ip->protocol;
	frag = bpf_ntohs(ip->frag_off);
	if (frag & 0x1fff) {
		p->frag = PW_FRAG_LATER;
		p->frag_id = bpf_ntohs(ip->id);
		return 0;
	}
	if (frag & 0x2000) {
		p->frag = PW_FRAG_FIRST;
		p->frag_id = bpf_ntohs(ip->id);
	}
	return pw_parse_l4(c, p, off + hl);
}

static __always_inline int pw_parse_ipv6(struct pw_ctx *c, struct pw_pkt *p, __u32 off)
{
	struct ipv6hdr *ip6 = c->data + off;
	__u8 nh;
	int i;

	if ((void *)(ip6 + 1) > c->data_end)
		return PW_DROP_MALFORMED;
	if (ip6->version != 6)
		return PW_DROP_MALFORMED;
	p->family = 6;
	pw_addr_v6(&p->src, &ip6->saddr);
	pw_addr_v6(&p->dst, &ip6->daddr);
	nh = ip6->nexthdr;
	off += sizeof(*ip6);

#pragma unroll
	for (i = 0; i < PW_MAX_EXTHDRS; i++) {
		__u8 *h;

		off &= 0x3fff; /* 6 headers of at most 2 KiB each */
		h = c->data + off;
		switch (nh) {
		case IPPROTO_HOPOPTS:
		case IPPROTO_ROUTING:
		case IPPROTO_DSTOPTS:
		case 135: /* mobility */
			if ((void *)(h + 2) > c->data_end)
				return PW_DROP_MALFORMED;
			nh = h[0];
			off += ((__u32)h[1] + 1) * 8;
			break;
		case IPPROTO_AH:
			if ((void *)(h + 2) > c->data_end)
				return PW_DROP_MALFORMED;
			nh = h[0];
			off += ((__u32)h[1] + 2) * 4;
			break;
		case IPPROTO_FRAGMENT: {
			__u16 fo;

			if ((void *)(h + 8) > c->data_end)
				return PW_DROP_MALFORMED;
			nh = h[0];
			fo = bpf_ntohs(*(__be16 *)(h + 2));
			p->frag_id = bpf_ntohl(*(__be32 *)(h + 4));
			off += 8;
			if (fo & 0xfff8) {
				p->proto = nh;
				p->frag = PW_FRAG_LATER;
				return 0;
			}
			if (fo & 1)
				p->frag = PW_FRAG_FIRST;
			break;
		}
		default:
			goto l4;
		}
	}
	switch (nh) {
	case IPPROTO_HOPOPTS:
	case IPPROTO_ROUTING:
	case IPPROTO_DSTOPTS:
	case IPPROTO_AH:
	case IPPROTO_FRAGMENT:
	case 135:
		return PW_DROP_EXTHDR;
	}
l4:
	p->proto = nh;
	return pw_parse_l4(c, p, off & 0x3fff);
}

/*
 * The commonest packets, parsed inline by the hooks before they call the
 * full parser (a global subprogram, whose call costs more than this whole
 * function): untagged Ethernet, IPv4 without options and not a fragment,
 * TCP or UDP with 20 bytes of transport header in the linear data (a
 * shorter UDP datagram goes to pw_parse()).  Returns 1 with *p filled exactly as pw_parse() fills
 * it (returning 0) for such a packet, or 0 with *p untouched for anything else, which pw_parse()
 * then decides, errors included (tests/bpf/test_parse_fast.c compares the two).  The same for IPv6
 * (no extension headers) was tried and left out: it made the verifier process 11-19% more
 * instructions per program (its states do not merge with the others'), where this one costs about
 * 1%; IPv6 goes through the global parser.
 */
static __always_inline int pw_parse_tcp(const struct pw_ctx *c, struct pw_pkt *p)
{
	const struct ethhdr *eth = c->data;
	const struct iphdr *ip = (const void *)(eth + 1);
	const struct tcphdr *th = (const void *)(ip + 1);
	__u32 tot;
	__u8 proto;

	if ((const void *)(th + 1) > c->data_end)
		return 0;
	if (eth->h_proto != bpf_htons(ETH_P_IP) || ((const __u8 *)ip)[0] != 0x45 ||
	    (ip->frag_off & bpf_htons(0x3fff)))
		return 0;
	proto = ip->protocol;
	if (proto != IPPROTO_TCP && proto != IPPROTO_UDP)
		return 0;
	if (proto == IPPROTO_TCP && th->doff < 5)
		return 0;
	tot = bpf_ntohs(ip->tot_len);
	if (tot && tot < sizeof(*ip))
		return 0;
	if (proto == IPPROTO_TCP)
		p->tcp_flags = ((const __u8 *)th)[13];
	p->family = 4;
	pw_addr_v4(&p->src, ip->saddr);
	pw_addr_v4(&p->dst, ip->daddr);
	p->proto = proto;
	pw_ports(th, &p->sport, &p->dport);
	return 1;
}

static __always_inline int pw_parse(struct pw_ctx *c, struct pw_pkt *p)
{
	struct ethhdr *eth = c->data;
	__u16 proto;
	__u32 off = sizeof(*eth);
	int i;

	if ((void *)(eth + 1) > c->data_end)
		return PW_DROP_MALFORMED;
	proto = eth->h_proto;
#pragma unroll
	for (i = 0; i < 2; i++) {
		if (proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD)) {
			__be16 *tag = c->data + off;

			if ((void *)(tag + 2) > c->data_end)
				return PW_DROP_MALFORMED;
			proto = tag[1];
			off += 4;
		}
	}
	if (proto == bpf_htons(ETH_P_IP))
		return pw_parse_ipv4(c, p, off);
	if (proto == bpf_htons(ETH_P_IPV6))
		return pw_parse_ipv6(c, p, off);
	return PW_ALLOW_NON_IP;
}

#endif
