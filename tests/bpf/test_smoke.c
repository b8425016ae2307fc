// SPDX-License-Identifier: MIT
/*
 * Harness smoke test: load bpf/podwall_smoke.bpf.c through its skeleton,
 * run it on hand-built packets with BPF_PROG_TEST_RUN and check verdicts and
 * counters. Skips (with the reason) when not root or BPF is unavailable.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>
#include <linux/udp.h>
#include <netinet/in.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "podwall_smoke.skel.h"

enum { SMOKE_SEEN = 0, SMOKE_DROPPED = 1 }; /* as in bpf/podwall_smoke.bpf.c */

struct udp_pkt {
	struct ethhdr eth;
	struct iphdr ip;
	struct udphdr udp;
	char payload[8];
} __attribute__((packed));

static void build_udp(struct udp_pkt *p, uint16_t dport)
{
	memset(p, 0, sizeof(*p));
	memcpy(p->eth.h_dest, "\x02\x00\x00\x00\x00\x02", ETH_ALEN);
	memcpy(p->eth.h_source, "\x02\x00\x00\x00\x00\x01", ETH_ALEN);
	p->eth.h_proto = htons(ETH_P_IP);
	p->ip.version = 4;
	p->ip.ihl = 5;
	p->ip.ttl = 64;
	p->ip.protocol = IPPROTO_UDP;
	p->ip.tot_len = htons(sizeof(*p) - sizeof(p->eth));
	p->ip.saddr = htonl(0x0ac70001); /* 10.199.0.1 */
	p->ip.daddr = htonl(0x0ac70002); /* 10.199.0.2 */
	p->udp.source = htons(40000);
	p->udp.dest = htons(dport);
	p->udp.len = htons(sizeof(p->udp) + sizeof(p->payload));
	memcpy(p->payload, "podwall", 8);
}

static int setup(void **state)
{
	struct podwall_smoke *skel;

	if (geteuid() != 0) {
		printf("# SKIP reason: not root (BPF_PROG_TEST_RUN needs CAP_BPF/CAP_NET_ADMIN)\n");
		*state = NULL;
		return 0;
	}
	skel = podwall_smoke__open_and_load();
	if (!skel) {
		printf("# SKIP reason: cannot load BPF program: %s\n", strerror(errno));
		*state = NULL;
		return 0;
	}
	*state = skel;
	return 0;
}

static int teardown(void **state)
{
	podwall_smoke__destroy(*state);
	return 0;
}

static uint32_t run(struct podwall_smoke *skel, uint16_t dport)
{
	struct udp_pkt pkt;
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = &pkt, .data_size_in = sizeof(pkt),
		    .repeat = 1);
	int err;

	build_udp(&pkt, dport);
	err = bpf_prog_test_run_opts(bpf_program__fd(skel->progs.podwall_smoke), &opts);
	assert_int_equal(err, 0);
	return opts.retval;
}

static uint64_t counter(struct podwall_smoke *skel, uint32_t idx)
{
	uint64_t v = 0;

	assert_int_equal(bpf_map__lookup_elem(skel->maps.smoke_counters, &idx, sizeof(idx), &v,
					      sizeof(v), 0),
			 0);
	return v;
}

static void test_udp_port9_dropped_port10_passes(void **state)
{
	struct podwall_smoke *skel = *state;

	if (!skel)
		skip();
	assert_int_equal(run(skel, 9), TC_ACT_SHOT);
	assert_int_equal(run(skel, 10), TC_ACT_OK);
	assert_int_equal(counter(skel, SMOKE_SEEN), 2);
	assert_int_equal(counter(skel, SMOKE_DROPPED), 1);
}

static void test_short_packet_passes(void **state)
{
	struct podwall_smoke *skel = *state;
	struct udp_pkt pkt;
	/* Ethernet + IPv4 header only: the UDP header is cut off. */
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = &pkt,
		    .data_size_in = sizeof(pkt.eth) + sizeof(pkt.ip), .repeat = 1);

	if (!skel)
		skip();
	build_udp(&pkt, 9);
	assert_int_equal(bpf_prog_test_run_opts(bpf_program__fd(skel->progs.podwall_smoke), &opts),
			 0);
	assert_int_equal(opts.retval, TC_ACT_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_udp_port9_dropped_port10_passes, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_short_packet_passes, setup, teardown),
	};

	return cmocka_run_group_tests_name("bpf_smoke", tests, NULL, NULL);
}
