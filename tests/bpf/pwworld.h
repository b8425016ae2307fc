/* SPDX-License-Identifier: MIT */
/*
 * The small world the datapath tests share (slot 0 unless a test says
 * otherwise):
 *   A 10.0.0.1 fd00::1  local on pwt1, ep 1, id 100, egress set 20
 *   B 10.0.0.2 fd00::2  local on pwt2, ep 2, id 200, ingress set 10
 *   C 10.0.0.3          local on pwt3, ep 3, id 300, not isolated
 *   R 10.1.0.5 fd01::5  remote pod, id 101
 *   N 10.0.0.254        the node (PW_ID_HOST)
 *   10.96.0.0/12 services (id 50, PW_PEER_DEFER), 192.168.0.0/16 id 60
 *   set 10 ingress: from 100 tcp/80 r1, udp/any r2, tcp/8000-8100 r3,
 *                   sctp/9000 r6; from 60 tcp/80 r7
 *   set 20 egress:  to 200 tcp/any r4, udp/any r8, sctp/9000 r9; to any udp/53 r5
 */
#ifndef PWWORLD_H
#define PWWORLD_H

#include "pwtest.h"

#define A "10.0.0.1"
#define B "10.0.0.2"
#define C "10.0.0.3"
#define R "10.1.0.5"
#define N "10.0.0.254"
#define VIP "10.96.0.10"
#define A6 "fd00::1"
#define B6 "fd00::2"
#define R6 "fd01::5"

#define EPOCH 2
#define ENF PW_STATE_ENFORCING
#define IF_A (pwt_if[1])
#define IF_B (pwt_if[2])
#define IF_C (pwt_if[3])
#define TCP IPPROTO_TCP
#define UDP IPPROTO_UDP
#define SCTP IPPROTO_SCTP
#define ICMP IPPROTO_ICMP
#define ICMP6 IPPROTO_ICMPV6
#define EG PW_DIR_EGRESS
#define IN PW_DIR_INGRESS

static void world(struct pwt *t, uint32_t slot)
{
	const struct pwt_ep eps[] = {
		{ A, 100, IF_A, PW_EP_LOCAL, 1, 0, 20, 0, PW_SET_PEER | PW_SET_ANY },
		{ A6, 100, IF_A, PW_EP_LOCAL, 1, 0, 20, 0, PW_SET_PEER | PW_SET_ANY },
		{ B, 200, IF_B, PW_EP_LOCAL, 2, 10, 0, PW_SET_PEER | PW_SET_RANGES, 0 },
		{ B6, 200, IF_B, PW_EP_LOCAL, 2, 10, 0, PW_SET_PEER | PW_SET_RANGES, 0 },
		{ C, 300, IF_C, PW_EP_LOCAL, 3, 0, 0, 0, 0 },
		{ R, 101, 0, 0, 0, 0, 0, 0, 0 },
		{ R6, 101, 0, 0, 0, 0, 0, 0, 0 },
		{ N, PW_ID_HOST, 0, PW_EP_HOST, 0, 0, 0, 0, 0 },
	};

	for (size_t i = 0; i < sizeof(eps) / sizeof(eps[0]); i++)
		pwt_add_ep(t, slot, &eps[i]);
	pwt_add_peer(t, slot, "10.96.0.0", 12, 50, PW_PEER_DEFER);
	pwt_add_peer(t, slot, "192.168.0.0", 16, 60, 0);
	pwt_add_pol(t, slot, 10, 100, IN, TCP, 80, 1);
	pwt_add_pol(t, slot, 10, 100, IN, UDP, 0, 2);
	pwt_add_range(t, slot, 10, 100, IN, TCP, 8000, 8100, 3);
	pwt_add_pol(t, slot, 10, 100, IN, SCTP, 9000, 6);
	pwt_add_pol(t, slot, 10, 60, IN, TCP, 80, 7);
	pwt_add_pol(t, slot, 20, 200, EG, TCP, 0, 4);
	pwt_add_pol(t, slot, 20, 200, EG, UDP, 0, 8);
	pwt_add_pol(t, slot, 20, 200, EG, SCTP, 9000, 9);
	pwt_add_pol(t, slot, 20, PW_ID_ANY, EG, UDP, 53, 5);
}

#endif
