// SPDX-License-Identifier: MIT
/*
 * Datapath tests: bpf/podwall_tc.bpf.c (and the shared bpf/lib) through
 * BPF_PROG_TEST_RUN.  Each test loads the real object (no pinning), writes a
 * small world into the maps, runs crafted packets and checks the verdict,
 * the counters, conntrack and the events.
 *
 * The world is described in pwworld.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "pwworld.h"

static int g_netns_err;

static int setup(void **state)
{
	struct pwt *t;

	*state = NULL;
	if (g_netns_err)
		return 0;
	t = pwt_load(1);
	if (!t)
		return 0;
	world(t, 0);
	pwt_state(t, EPOCH, ENF);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	pwt_destroy(*state);
	return 0;
}

#define GET(t)                                                                         \
	struct pwt *t = *state;                                                        \
	if (!t) {                                                                      \
		printf("# SKIP reason: %s\n",                                          \
		       g_netns_err ? "cannot create a private netns with veth devices" \
				   : "cannot load the BPF objects (not root?)");       \
		skip();                                                                \
	}

#define FROM(t) ((t)->tc->progs.pw_from_pod)
#define TO(t) ((t)->tc->progs.pw_to_pod)
#define UPL(t) ((t)->tc->progs.pw_uplink_egress)
#define OK TC_ACT_OK
#define SHOT TC_ACT_SHOT

/* The one event of the last batch with this type and reason. */
static const struct pw_event *find_ev(struct pwt *t, uint8_t type, uint8_t reason)
{
	pwt_events(t);
	for (int i = 0; i < t->n_ev; i++)
		if (t->ev[i].type == type && t->ev[i].reason == reason)
			return &t->ev[i];
	return NULL;
}

/* ---------------------------------------------------------------- */

static void test_not_enforcing_passes_everything(void **state)
{
	GET(t);
	struct pk p = { .src = R, .dst = B, .proto = TCP, .sport = 1000, .dport = 81 };

	pwt_state(t, EPOCH, 0);
	assert_int_equal(pwt_run(TO(t), &p, IF_B), OK);
	assert_int_equal(pwt_cnt(t, 0, IN, PW_ALLOW_NOT_ISOLATED), 1);
	pwt_state(t, EPOCH, ENF);
	assert_int_equal(pwt_run(TO(t), &p, IF_B), SHOT);
}

static void test_arp_passes(void **state)
{
	GET(t);
	uint8_t arp[42] = { 0 };

	memcpy(arp + 12, "\x08\x06", 2);
	assert_int_equal(pwt_run_raw(bpf_program__fd(FROM(t)), arp, sizeof(arp), IF_A, 0), OK);
	assert_int_equal(pwt_run_raw(bpf_program__fd(TO(t)), arp, sizeof(arp), IF_B, 0), OK);
	assert_int_equal(pwt_cnt(t, 0, EG, PW_ALLOW_NON_IP), 1);
	assert_int_equal(pwt_cnt(t, 0, IN, PW_ALLOW_NON_IP), 1);
}

static void test_nd_and_mld_pass(void **state)
{
	GET(t);
	/* Neighbour solicitation from a stranger to the isolated B. */
	struct pk ns = { .src = "fe80::99", .dst = B6, .proto = ICMP6, .icmp_type = 135 };
	/* MLDv2 report behind a hop-by-hop header. */
	struct pk mld = {
		.src = "fe80::99", .dst = "ff02::16", .proto = ICMP6, .icmp_type = 143, .hbh = 1
	};
	struct pk echo = { .src = "fe80::99", .dst = B6, .proto = ICMP6, .icmp_type = 128 };

	assert_int_equal(pwt_run(TO(t), &ns, IF_B), OK);
	assert_int_equal(pwt_run(TO(t), &mld, IF_B), OK);
	assert_int_equal(pwt_cnt(t, 0, IN, PW_ALLOW_ND), 2);
	/* An echo from the same stranger is policy's business: denied. */
	assert_int_equal(pwt_run(TO(t), &echo, IF_B), SHOT);
}

static void test_malformed_dropped(void **state)
{
	GET(t);
	struct pk cut = {
		.src = A, .dst = B, .proto = TCP, .sport = 1, .dport = 80, .truncate = 8 + 12
	}; /* payload and 12 bytes of TCP */
	struct pk ihl = { .src = A, .dst = B, .proto = TCP, .sport = 1, .dport = 80, .bad_ihl = 1 };
	struct pk doff = {
		.src = A, .dst = B, .proto = TCP, .sport = 1, .dport = 80, .tcp_doff = 4
	};
	struct pk cut6 = {
		.src = A6, .dst = B6, .proto = UDP, .sport = 1, .dport = 53, .truncate = 8 + 4
	};
	const struct pw_event *ev;

	assert_int_equal(pwt_run(FROM(t), &cut, IF_A), SHOT);
	assert_int_equal(pwt_run(FROM(t), &ihl, IF_A), SHOT);
	assert_int_equal(pwt_run(TO(t), &doff, IF_B), SHOT);
	assert_int_equal(pwt_run(TO(t), &cut6, IF_B), SHOT);
	assert_int_equal(pwt_cnt(t, 0, EG, PW_DROP_MALFORMED), 2);
	assert_int_equal(pwt_cnt(t, 0, IN, PW_DROP_MALFORMED), 2);
	ev = find_ev(t, PW_EV_DROP, PW_DROP_MALFORMED);
	assert_non_null(ev);
	assert_int_equal(t->n_ev, 4);
	assert_int_equal(ev->verdict, PW_VERDICT_DROP);
}

static void test_ipv6_exthdr_chain(void **state)
{
	GET(t);
	struct pk ok = { .src = A6,
			 .dst = B6,
			 .proto = TCP,
			 .sport = 1000,
			 .dport = 80,
			 .hbh = 1,
			 .exthdrs = 3 };
	struct pk lng = {
		.src = A6, .dst = B6, .proto = TCP, .sport = 1000, .dport = 80, .exthdrs = 7
	};

	assert_int_equal(pwt_run(TO(t), &ok, IF_B), OK);
	assert_int_equal(pwt_cnt(t, 2, IN, PW_ALLOW_POLICY), 1);
	assert_int_equal(pwt_run(TO(t), &lng, IF_B), SHOT);
	assert_int_equal(pwt_cnt(t, 0, IN, PW_DROP_EXTHDR), 1);
	assert_non_null(find_ev(t, PW_EV_DROP, PW_DROP_EXTHDR));
}

static void test_vlan_and_ip_options_parsed(void **state)
{
	GET(t);
	struct pk p = {
		.src = A, .dst = B, .proto = TCP, .sport = 1000, .dport = 80, .vlan = 2, .ipopts = 3
	};
	struct pk q = { .src = A,
			.dst = B,
			.proto = TCP,
			.sport = 1000,
			.dport = 81,
			.vlan = 1,
			.ipopts = 10 };

	assert_int_equal(pwt_run(TO(t), &p, IF_B), OK);
	assert_int_equal(pwt_run(TO(t), &q, IF_B), SHOT);
	assert_int_equal(pwt_cnt(t, 2, IN, PW_ALLOW_POLICY), 1);
	assert_int_equal(pwt_cnt(t, 2, IN, PW_DROP_POLICY), 1);
}

static void test_spoofed_source_dropped(void **state)
{
	GET(t);
	struct pk p = { .src = A, .dst = B, .proto = TCP, .sport = 1000, .dport = 80 };
	struct pk q = { .src = "10.0.0.77", .dst = B, .proto = TCP, .sport = 1000, .dport = 80 };

	assert_int_equal(pwt_run(FROM(t), &p, IF_B), SHOT); /* A's address on B's veth */
	assert_int_equal(pwt_run(FROM(t), &q, IF_A), SHOT); /* unknown address */
	assert_int_equal(pwt_run(FROM(t), &p, IF_A), OK);
	assert_int_equal(pwt_cnt(t, 0, EG, PW_DROP_SPOOFED), 2);
	assert_non_null(find_ev(t, PW_EV_DROP, PW_DROP_SPOOFED));
}

static void test_no_endpoint_dropped(void **state)
{
	GET(t);
	struct pwt_ep cep = { C, 300, IF_C, PW_EP_LOCAL, 3, 0, 0, 0, 0 };
	/* A broadcast to C's veth: not C's address. */
	struct pk p = { .src = R, .dst = "10.0.0.255", .proto = UDP, .sport = 1, .dport = 9 };

	assert_int_equal(pwt_run(TO(t), &p, IF_C), SHOT);
	assert_int_equal(pwt_cnt(t, 0, IN, PW_DROP_NO_ENDPOINT), 1);
	assert_non_null(find_ev(t, PW_EV_DROP, PW_DROP_NO_ENDPOINT));
	pwt_add_if(t, 0, IF_C, &cep);
	assert_int_equal(pwt_run(TO(t), &p, IF_C), OK);
	assert_int_equal(pwt_cnt(t, 3, IN, PW_ALLOW_NOT_ISOLATED), 1);
	/* From the egress-isolated A, which did not decide it at its own veth:
	 * A's egress is decided here and has no rule for it. */
	p.src = A;
	assert_int_equal(pwt_run(TO(t), &p, IF_C), SHOT);
	assert_int_equal(pwt_cnt(t, 1, EG, PW_DROP_POLICY), 1);
}

static void test_egress_allow_creates_flow(void **state)
{
	GET(t);
	struct pk p = { .src = A, .dst = B, .proto = TCP, .sport = 40000, .dport = 80 };
	struct pk rep = {
		.src = B, .dst = A, .proto = TCP, .sport = 80, .dport = 40000, .tcp_flags = 0x12
	};
	struct pw_ct_val v;
	const struct pw_event *ev;

	pwt_state(t, EPOCH, ENF | PW_STATE_LOG_ALLOW);
	assert_int_equal(pwt_run(FROM(t), &p, IF_A), OK);
	assert_int_equal(pwt_cnt(t, 1, EG, PW_ALLOW_POLICY), 1);
	assert_int_equal(pwt_rcnt(t, 4), 1);
	assert_int_equal(pwt_ct(t, A, B, 40000, 80, TCP, PW_HOOK_FROM_POD, &v), 0);
	assert_int_equal(v.dir, PW_CT_ORIG);
	assert_int_equal(v.policy_dir, EG);
	assert_int_equal(v.rule_id, 4);
	assert_int_equal(v.gen, EPOCH);
	assert_int_equal(v.ep_id, 1);
	assert_int_equal(pwt_ct(t, B, A, 80, 40000, TCP, PW_HOOK_TO_POD, &v), 0);
	assert_int_equal(v.dir, PW_CT_REPLY);
	ev = find_ev(t, PW_EV_NEW_FLOW, PW_ALLOW_POLICY);
	assert_non_null(ev);
	assert_int_equal(ev->rule_id, 4);
	assert_int_equal(ev->hook, PW_HOOK_FROM_POD);
	assert_int_equal(ev->dport, 80);
	assert_int_equal(ev->ifindex, IF_A);
	/* Later packets: established, counted for the rule; no new event. */
	p.tcp_flags = 0x10;
	assert_int_equal(pwt_run(FROM(t), &p, IF_A), OK);
	assert_int_equal(pwt_cnt(t, 1, EG, PW_ALLOW_ESTABLISHED), 1);
	assert_int_equal(pwt_rcnt(t, 4), 2);
	assert_int_equal(pwt_events(t), 0);
	/* The reply reaches A: A is not ingress-isolated, but it is a reply. */
	assert_int_equal(pwt_run(TO(t), &rep, IF_A), OK);
	assert_int_equal(pwt_cnt(t, 1, IN, PW_ALLOW_REPLY), 1);
	assert_int_equal(pwt_ct(t, A, B, 40000, 80, TCP, PW_HOOK_FROM_POD, &v), 0);
	assert_true(v.flags & PW_CT_F_SEEN_REPLY);
}

static void test_egress_deny(void **state)
{
	GET(t);
	struct pk p = { .src = A, .dst = R, .proto = TCP, .sport = 40000, .dport = 80 };
	struct pk dns = { .src = A, .dst = R, .proto = UDP, .sport = 40000, .dport = 53 };
	struct pk p6 = { .src = A6, .dst = R6, .proto = TCP, .sport = 40000, .dport = 80 };
	struct pw_ct_val v;
	const struct pw_event *ev;

	assert_int_equal(pwt_run(FROM(t), &p, IF_A), SHOT);
	assert_int_equal(pwt_run(FROM(t), &p, IF_A), SHOT); /* per packet, no state */
	assert_int_equal(pwt_run(FROM(t), &p6, IF_A), SHOT);
	assert_int_equal(pwt_cnt(t, 1, EG, PW_DROP_POLICY), 3);
	assert_int_not_equal(pwt_ct(t, A, R, 40000, 80, TCP, PW_HOOK_FROM_POD, &v), 0);
	ev = find_ev(t, PW_EV_DROP, PW_DROP_POLICY);
	assert_non_null(ev);
	assert_int_equal(ev->dir, EG);
	assert_int_equal(ev->ep_id, 1);
	assert_int_equal(ev->rule_id, 0);
	assert_int_equal(t->n_ev, 3);
	/* The any-peer rule: udp/53 anywhere. */
	assert_int_equal(pwt_run(FROM(t), &dns, IF_A), OK);
	assert_int_equal(pwt_rcnt(t, 5), 1);
}

static void test_ingress_rules_ports_ranges_prefixes(void **state)
{
	GET(t);
	struct {
		const char *src, *dst;
		uint8_t proto;
		uint16_t dport;
		int want;
		uint32_t rule;
	} c[] = {
		{ A, B, TCP, 80, OK, 1 },
		{ A, B, TCP, 81, SHOT, 0 },
		{ A, B, TCP, 8000, OK, 3 },
		{ A, B, TCP, 8100, OK, 3 },
		{ A, B, TCP, 8101, SHOT, 0 },
		{ A, B, UDP, 5353, OK, 2 },
		{ A, B, SCTP, 9000, OK, 6 },
		{ A, B, SCTP, 9001, SHOT, 0 },
		{ R, B, TCP, 80, SHOT, 0 },
		{ "192.168.1.1", B, TCP, 80, OK, 7 },
		{ "192.168.1.1", B, TCP, 81, SHOT, 0 },
		{ "8.8.8.8", B, TCP, 80, SHOT, 0 },
		{ A6, B6, TCP, 8050, OK, 3 },
		{ R6, B6, UDP, 53, SHOT, 0 },
		{ N, B, TCP, 22, OK, 0 },
	};

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct pk p = { .src = c[i].src,
				.dst = c[i].dst,
				.proto = c[i].proto,
				.sport = (uint16_t)(30000 + i),
				.dport = c[i].dport };
		uint64_t before = c[i].rule ? pwt_rcnt(t, c[i].rule) : 0;

		printf("# case %zu: %s -> %s %u/%u\n", i, c[i].src, c[i].dst, c[i].dport,
		       c[i].proto);
		assert_int_equal(pwt_run(TO(t), &p, IF_B), c[i].want);
		if (c[i].rule)
			assert_int_equal(pwt_rcnt(t, c[i].rule), before + 1);
	}
	assert_int_equal(pwt_cnt(t, 2, IN, PW_DROP_POLICY), 7);
	assert_int_equal(pwt_cnt(t, 2, IN, PW_ALLOW_POLICY), 7);
	assert_int_equal(pwt_cnt(t, 2, IN, PW_ALLOW_HOST), 1);
}

static void test_ingress_flow_reply_and_close(void **state)
{
	GET(t);
	struct pk syn = { .src = A, .dst = B, .proto = TCP, .sport = 41000, .dport = 80 };
	struct pk synack = {
		.src = B, .dst = A, .proto = TCP, .sport = 80, .dport = 41000, .tcp_flags = 0x12
	};
	struct pk fin = syn;
	struct pw_ct_val v;

	fin.tcp_flags = 0x11;
	assert_int_equal(pwt_run(TO(t), &syn, IF_B), OK);
	assert_int_equal(pwt_ct(t, A, B, 41000, 80, TCP, PW_HOOK_TO_POD, &v), 0);
	assert_int_equal(v.policy_dir, IN);
	assert_int_equal(v.rule_id, 1);
	assert_int_equal(v.ep_id, 2);
	assert_int_equal(pwt_ct(t, B, A, 80, 41000, TCP, PW_HOOK_FROM_POD, &v), 0);
	assert_int_equal(v.dir, PW_CT_REPLY);
	/* B answers: its veth sees a reply. */
	assert_int_equal(pwt_run(FROM(t), &synack, IF_B), OK);
	assert_int_equal(pwt_cnt(t, 2, EG, PW_ALLOW_REPLY), 1);
	assert_int_equal(pwt_rcnt(t, 1), 2);
	assert_int_equal(pwt_run(TO(t), &fin, IF_B), OK);
	assert_int_equal(pwt_cnt(t, 2, IN, PW_ALLOW_ESTABLISHED), 1);
	assert_int_equal(pwt_ct(t, A, B, 41000, 80, TCP, PW_HOOK_TO_POD, &v), 0);
	assert_true(v.flags & PW_CT_F_CLOSING);
	assert_true(v.flags & PW_CT_F_SEEN_REPLY);
	assert_int_equal(pwt_ct(t, B, A, 80, 41000, TCP, PW_HOOK_FROM_POD, &v), 0);
	assert_true(v.flags & PW_CT_F_CLOSING);
}

static void test_reply_of_denied_direction_is_not_a_new_flow(void **state)
{
	GET(t);
	/* R may not open to B, but B (not egress-isolated) may open to R:
	 * R's answers pass as replies. */
	struct pk out = { .src = B, .dst = R, .proto = UDP, .sport = 5000, .dport = 7000 };
	struct pk back = { .src = R, .dst = B, .proto = UDP, .sport = 7000, .dport = 5000 };
	struct pk stranger = { .src = R, .dst = B, .proto = UDP, .sport = 7001, .dport = 5000 };

	assert_int_equal(pwt_run(TO(t), &back, IF_B), SHOT);
	assert_int_equal(pwt_run(FROM(t), &out, IF_B), OK);
	assert_int_equal(pwt_cnt(t, 2, EG, PW_ALLOW_NOT_ISOLATED), 1);
	assert_int_equal(pwt_run(TO(t), &back, IF_B), OK);
	assert_int_equal(pwt_cnt(t, 2, IN, PW_ALLOW_REPLY), 1);
	assert_int_equal(pwt_run(TO(t), &stranger, IF_B), SHOT);
}

static void test_icmp_echo_tracked(void **state)
{
	GET(t);
	struct pk req = { .src = C, .dst = A, .proto = ICMP, .sport = 77 };
	struct pk rep = { .src = A, .dst = C, .proto = ICMP, .sport = 77, .icmp_type = 0 };
	struct pk req6 = { .src = R6, .dst = B6, .proto = ICMP6, .sport = 5 };
	struct pw_ct_val v;

	assert_int_equal(pwt_run(TO(t), &req, IF_A), OK);
	assert_int_equal(pwt_ct(t, C, A, 77, 77, ICMP, PW_HOOK_TO_POD, &v), 0);
	/* A is egress-isolated with no ICMP rule, but this is a reply. */
	assert_int_equal(pwt_run(FROM(t), &rep, IF_A), OK);
	assert_int_equal(pwt_cnt(t, 1, EG, PW_ALLOW_REPLY), 1);
	/* ICMPv6 echo to the ingress-isolated B: no rule allows it. */
	assert_int_equal(pwt_run(TO(t), &req6, IF_B), SHOT);
}

static void test_icmp_error_related(void **state)
{
	GET(t);
	struct pk out = { .src = B, .dst = R, .proto = UDP, .sport = 5000, .dport = 7000 };
	struct pk quoted = out;
	struct pk other = { .src = B, .dst = R, .proto = UDP, .sport = 5000, .dport = 7001 };
	struct pk err = {
		.src = R, .dst = B, .proto = ICMP, .icmp_type = 3, .icmp_code = 3, .inner = &quoted
	};
	struct pk unrel = {
		.src = R, .dst = B, .proto = ICMP, .icmp_type = 3, .icmp_code = 3, .inner = &other
	};
	struct pk out6 = { .src = B6, .dst = R6, .proto = TCP, .sport = 5000, .dport = 443 };
	struct pk err6 = {
		.src = "fd09::1", .dst = B6, .proto = ICMP6, .icmp_type = 1, .inner = &out6
	};

	assert_int_equal(pwt_run(TO(t), &err, IF_B), SHOT); /* no flow yet */
	assert_int_equal(pwt_run(FROM(t), &out, IF_B), OK);
	assert_int_equal(pwt_run(TO(t), &err, IF_B), OK);
	assert_int_equal(pwt_cnt(t, 2, IN, PW_ALLOW_ICMP_RELATED), 1);
	assert_int_equal(pwt_run(TO(t), &unrel, IF_B), SHOT);
	assert_int_equal(pwt_run(FROM(t), &out6, IF_B), OK);
	assert_int_equal(pwt_run(TO(t), &err6, IF_B), OK);
	assert_int_equal(pwt_cnt(t, 2, IN, PW_ALLOW_ICMP_RELATED), 2);
}

static void test_fragments_v4_v6(void **state)
{
	GET(t);
	struct pk f1 = {
		.src = A, .dst = B, .proto = UDP, .sport = 1, .dport = 9, .frag = 1, .frag_id = 4242
	};
	struct pk f2 = f1, lost = f1, d1, d2;
	struct pk g1 = { .src = A6,
			 .dst = B6,
			 .proto = UDP,
			 .sport = 1,
			 .dport = 9,
			 .frag = 1,
			 .frag_id = 0x10203 };
	struct pk g2 = g1;

	f2.frag = 2;
	lost.frag = 2;
	lost.frag_id = 4243;
	d1 = f1;
	d1.src = R;
	d1.frag_id = 99;
	d2 = d1;
	d2.frag = 2;
	g2.frag = 2;
	/* A later fragment first: nothing to go by. */
	assert_int_equal(pwt_run(TO(t), &f2, IF_B), SHOT);
	assert_int_equal(pwt_run(TO(t), &f1, IF_B), OK);
	assert_int_equal(pwt_run(TO(t), &f2, IF_B), OK);
	assert_int_equal(pwt_run(TO(t), &f2, IF_B), OK);
	assert_int_equal(pwt_run(TO(t), &lost, IF_B), SHOT);
	assert_int_equal(pwt_cnt(t, 2, IN, PW_ALLOW_FRAGMENT), 2);
	assert_int_equal(pwt_cnt(t, 2, IN, PW_DROP_FRAG_UNKNOWN), 2);
	assert_int_equal(pwt_rcnt(t, 2), 3);
	/* A denied first fragment does not open the door for the rest. */
	assert_int_equal(pwt_run(TO(t), &d1, IF_B), SHOT);
	assert_int_equal(pwt_run(TO(t), &d2, IF_B), SHOT);
	assert_non_null(find_ev(t, PW_EV_DROP, PW_DROP_FRAG_UNKNOWN));
	/* IPv6 fragment header, egress side. */
	assert_int_equal(pwt_run(FROM(t), &g2, IF_A), SHOT);
	assert_int_equal(pwt_run(FROM(t), &g1, IF_A), OK);
	assert_int_equal(pwt_run(FROM(t), &g2, IF_A), OK);
	assert_int_equal(pwt_cnt(t, 1, EG, PW_ALLOW_FRAGMENT), 1);
}

static void test_loopback_and_host(void **state)
{
	GET(t);
	struct pk self = { .src = A, .dst = A, .proto = TCP, .sport = 1, .dport = 9999 };
	struct pk probe = { .src = N, .dst = B, .proto = TCP, .sport = 1, .dport = 10250 };
	struct pk tohost = { .src = A, .dst = N, .proto = TCP, .sport = 1, .dport = 10250 };

	assert_int_equal(pwt_run(FROM(t), &self, IF_A), OK);
	assert_int_equal(pwt_cnt(t, 1, EG, PW_ALLOW_LOOPBACK), 1);
	assert_int_equal(pwt_run(TO(t), &probe, IF_B), OK);
	assert_int_equal(pwt_cnt(t, 2, IN, PW_ALLOW_HOST), 1);
	assert_int_equal(pwt_run(FROM(t), &tohost, IF_A), OK);
	assert_int_equal(pwt_cnt(t, 1, EG, PW_ALLOW_HOST), 1);
}

static void test_not_isolated(void **state)
{
	GET(t);
	struct pk p = { .src = R, .dst = C, .proto = TCP, .sport = 1, .dport = 1234 };

	assert_int_equal(pwt_run(TO(t), &p, IF_C), OK);
	assert_int_equal(pwt_cnt(t, 3, IN, PW_ALLOW_NOT_ISOLATED), 1);
	assert_int_equal(pwt_run(TO(t), &p, IF_C), OK);
	assert_int_equal(pwt_cnt(t, 3, IN, PW_ALLOW_ESTABLISHED), 1);
}

static void test_service_deferred_to_local_backend(void **state)
{
	GET(t);
	/* A opens to a ClusterIP; kube-proxy DNATs to B:80 (allowed both
	 * ways) or to C:80 (A's egress has no rule for C). */
	struct pk svc = { .src = A, .dst = VIP, .proto = TCP, .sport = 42000, .dport = 80 };
	struct pk tob = { .src = A, .dst = B, .proto = TCP, .sport = 42000, .dport = 80 };
	struct pk toc = { .src = A, .dst = C, .proto = TCP, .sport = 42000, .dport = 80 };
	struct pk back = {
		.src = VIP, .dst = A, .proto = TCP, .sport = 80, .dport = 42000, .tcp_flags = 0x12
	};
	struct pw_ct_val v;

	assert_int_equal(pwt_run(FROM(t), &svc, IF_A), OK);
	assert_int_equal(pwt_cnt(t, 1, EG, PW_ALLOW_DEFERRED), 1);
	assert_int_equal(pwt_ct(t, A, VIP, 42000, 80, TCP, PW_HOOK_FROM_POD, &v), 0);
	assert_true(v.flags & PW_CT_F_DEFERRED);
	assert_int_equal(pwt_ct(t, VIP, A, 80, 42000, TCP, PW_HOOK_TO_POD, &v), 0);
	assert_true(v.flags & PW_CT_F_DEFERRED);

	assert_int_equal(pwt_run(TO(t), &toc, IF_C), SHOT);
	assert_int_equal(pwt_cnt(t, 1, EG, PW_DROP_POLICY), 1);
	assert_non_null(find_ev(t, PW_EV_DROP, PW_DROP_POLICY));
	assert_int_equal(t->ev[0].dir, EG);
	assert_int_equal(t->ev[0].ep_id, 1);

	assert_int_equal(pwt_run(TO(t), &tob, IF_B), OK);
	assert_int_equal(pwt_ct(t, A, B, 42000, 80, TCP, PW_HOOK_TO_POD, &v), 0);
	assert_true(v.flags & PW_CT_F_EGRESS_TOO);
	assert_int_equal(v.rule_id, 1);
	assert_int_equal(v.rule_id2, 4);
	assert_int_equal(pwt_rcnt(t, 4), 1);
	/* The reply, with the source netfilter rewrote back. */
	assert_int_equal(pwt_run(TO(t), &back, IF_A), OK);
	assert_int_equal(pwt_cnt(t, 1, IN, PW_ALLOW_REPLY), 1);
}

static void test_service_deferred_to_remote_backend(void **state)
{
	GET(t);
	struct pk svc = { .src = A, .dst = VIP, .proto = TCP, .sport = 43000, .dport = 80 };
	struct pk tor = { .src = A, .dst = R, .proto = TCP, .sport = 43000, .dport = 80 };
	struct pk dsvc = { .src = A, .dst = VIP, .proto = UDP, .sport = 43000, .dport = 53 };
	struct pk dns = { .src = A, .dst = R, .proto = UDP, .sport = 43000, .dport = 53 };
	struct pk direct = { .src = A, .dst = B, .proto = TCP, .sport = 43001, .dport = 80 };
	struct pk other = { .src = R, .dst = "10.1.0.6", .proto = TCP, .sport = 1, .dport = 2 };
	struct pw_ct_val v;

	assert_int_equal(pwt_run(FROM(t), &svc, IF_A), OK);
	assert_int_equal(pwt_run(UPL(t), &tor, 1), SHOT);
	assert_int_equal(pwt_cnt(t, 1, EG, PW_DROP_POLICY), 1);
	assert_int_equal(pwt_run(FROM(t), &dsvc, IF_A), OK);
	assert_int_equal(pwt_run(UPL(t), &dns, 1), OK);
	assert_int_equal(pwt_ct(t, A, R, 43000, 53, UDP, PW_HOOK_UPLINK, &v), 0);
	assert_int_equal(v.rule_id, 5);
	/* The backend's reply is known before netfilter restores the VIP. */
	assert_int_equal(pwt_ct(t, R, A, 53, 43000, UDP, PW_HOOK_TO_POD, &v), 0);
	assert_int_equal(v.dir, PW_CT_REPLY);
	assert_int_equal(pwt_run(UPL(t), &dns, 1), OK);
	assert_int_equal(pwt_cnt(t, 1, EG, PW_ALLOW_ESTABLISHED), 1);
	/* Decided at the source: no uplink state. */
	assert_int_equal(pwt_run(FROM(t), &direct, IF_A), OK);
	assert_int_equal(pwt_run(UPL(t), &direct, 1), OK);
	assert_int_not_equal(pwt_ct(t, A, B, 43001, 80, TCP, PW_HOOK_UPLINK, &v), 0);
	/* Not a local pod's packet: untouched. */
	assert_int_equal(pwt_run(UPL(t), &other, 1), OK);
}

static void test_slot_swap(void **state)
{
	GET(t);
	struct pk p = { .src = R, .dst = B, .proto = TCP, .sport = 1, .dport = 81 };
	struct pk q = { .src = A, .dst = B, .proto = TCP, .sport = 2, .dport = 80 };

	/* Slot 1: the same world, plus R may reach B on 81, minus A's tcp/80. */
	world(t, 1);
	pwt_add_pol(t, 1, 10, 101, IN, TCP, 81, 11);
	pwt_del_pol(t, 1, 10, 100, IN, TCP, 80);
	assert_int_equal(pwt_run(TO(t), &p, IF_B), SHOT);
	pwt_state(t, EPOCH + 1, ENF);
	assert_int_equal(pwt_run(TO(t), &p, IF_B), OK);
	assert_int_equal(pwt_rcnt(t, 11), 1);
	assert_int_equal(pwt_run(TO(t), &q, IF_B), SHOT);
	p.sport = 3;
	pwt_state(t, EPOCH + 2, ENF);
	assert_int_equal(pwt_run(TO(t), &p, IF_B), SHOT);
}

static void test_revoke_cuts_established_flow(void **state)
{
	GET(t);
	struct pk p = { .src = A, .dst = B, .proto = TCP, .sport = 44000, .dport = 80 };
	struct pk rep = {
		.src = B, .dst = A, .proto = TCP, .sport = 80, .dport = 44000, .tcp_flags = 0x10
	};
	struct pk ack = {
		.src = A, .dst = B, .proto = TCP, .sport = 44000, .dport = 80, .tcp_flags = 0x10
	};
	struct pk r2 = { .src = A, .dst = B, .proto = TCP, .sport = 44001, .dport = 80 };
	struct pk r3 = { .src = A, .dst = B, .proto = TCP, .sport = 44002, .dport = 80 };
	struct pk rep2 = {
		.src = B, .dst = A, .proto = TCP, .sport = 80, .dport = 44001, .tcp_flags = 0x10
	};
	struct pw_ct_val v;

	assert_int_equal(pwt_run(TO(t), &p, IF_B), OK);
	assert_int_equal(pwt_run(TO(t), &r2, IF_B), OK);
	assert_int_equal(pwt_run(TO(t), &r3, IF_B), OK);
	/* New generation, same slot contents: the flow is re-decided and kept;
	 * the reply is judged in the original direction (as B's ingress from
	 * A to port 80), not as a new flow from B. */
	pwt_state(t, EPOCH + 2, ENF);
	assert_int_equal(pwt_run(FROM(t), &rep, IF_B), OK);
	assert_int_equal(pwt_ct(t, B, A, 80, 44000, TCP, PW_HOOK_FROM_POD, &v), 0);
	assert_int_equal(v.gen, EPOCH + 2);
	/* Next generation drops the rule.  The next segment of the flow (an
	 * ACK) is judged again and cut, with its conntrack entries. */
	pwt_del_pol(t, 0, 10, 100, IN, TCP, 80);
	pwt_state(t, EPOCH + 4, ENF);
	assert_int_equal(pwt_run(TO(t), &ack, IF_B), SHOT);
	assert_int_equal(pwt_cnt(t, 2, IN, PW_DROP_REVOKED), 1);
	assert_non_null(find_ev(t, PW_EV_DROP, PW_DROP_REVOKED));
	assert_int_not_equal(pwt_ct(t, A, B, 44000, 80, TCP, PW_HOOK_TO_POD, &v), 0);
	assert_int_not_equal(pwt_ct(t, B, A, 80, 44000, TCP, PW_HOOK_FROM_POD, &v), 0);
	/* A reply of another revoked flow is cut too. */
	assert_int_equal(pwt_run(FROM(t), &rep2, IF_B), SHOT);
	assert_int_equal(pwt_cnt(t, 2, EG, PW_DROP_REVOKED), 1);
	/* A SYN on a tuple still tracked is a new connection: decided by the
	 * policy in force without conntrack, and denied as such. */
	assert_int_equal(pwt_ct(t, A, B, 44002, 80, TCP, PW_HOOK_TO_POD, &v), 0);
	assert_int_equal(pwt_run(TO(t), &r3, IF_B), SHOT);
	assert_int_equal(pwt_cnt(t, 2, IN, PW_DROP_POLICY), 1);
}

/* PW_SET_NO_PORT0_<proto>: the any-port lookup is skipped for that protocol
 * only (the compiler sets the bit only when no such entry exists; here a
 * wrong bit shows that the datapath honours it). */
static void test_no_port0_hint(void **state)
{
	GET(t);
	struct pk p = { .src = A, .dst = B, .proto = UDP, .sport = 1, .dport = 5000 };
	struct pwt_ep b = { B, 200, IF_B, PW_EP_LOCAL,
			    2, 10,  0,	  PW_SET_PEER | PW_SET_RANGES | PW_SET_NO_PORT0_TCP,
			    0 };

	pwt_add_ep(t, 0, &b);
	assert_int_equal(pwt_run(TO(t), &p, IF_B), OK); /* UDP port 0 entry, rule 2 */
	assert_int_equal(pwt_cnt(t, 2, IN, PW_ALLOW_POLICY), 1);
	b.sflags_in |= PW_SET_NO_PORT0_UDP;
	pwt_add_ep(t, 0, &b);
	p.sport = 2;
	assert_int_equal(pwt_run(TO(t), &p, IF_B), SHOT);
	assert_int_equal(pwt_cnt(t, 2, IN, PW_DROP_POLICY), 1);
	/* exact-port entries are still looked up */
	p = (struct pk){ .src = A, .dst = B, .proto = TCP, .sport = 3, .dport = 80 };
	assert_int_equal(pwt_run(TO(t), &p, IF_B), OK);
	assert_int_equal(pwt_cnt(t, 2, IN, PW_ALLOW_POLICY), 2);
}

/* B, ingress-isolated by set `set` with a port summary: hints besides
 * PW_SET_PEER | PW_SET_PORT_BLOOM, and the summary's bits. */
static struct pwt_ep summary_ep(uint32_t set, uint32_t hints)
{
	struct pwt_ep b = { .addr = B, .identity = 200, .flags = PW_EP_LOCAL, .ep_id = 2 };

	b.ifindex = (uint32_t)IF_B;
	b.set_in = set;
	b.sflags_in = PW_SET_PEER | PW_SET_PORT_BLOOM | hints;
	return b;
}

/* The port summary (PW_SET_PORT_BLOOM): a port no rule of the set names is
 * denied without looking up the peer or the policy, except from the node. */
static void test_port_summary(void **state)
{
	GET(t);
	static const char *const hosts[] = { N };
	struct pwt_ep b =
		summary_ep(10, PW_SET_NO_PORT0_TCP | PW_SET_NO_PORT0_SCTP | PW_SET_NO_PORT0_OTHER |
				       pw_port_bloom_bit(TCP, 80) | pw_port_bloom_bit(SCTP, 9000));
	struct pk p = { .src = A, .dst = B, .proto = TCP, .sport = 1, .dport = 80 };
	struct pk icmp = { .src = N, .dst = B, .proto = ICMP, .sport = 7 };

	/* The test relies on 80 and 81 having different summary bits. */
	assert_int_not_equal(pw_port_bloom_bit(TCP, 80), pw_port_bloom_bit(TCP, 81));
	pwt_add_ep(t, 0, &b);
	pwt_set_hosts(t, 0, hosts, 1, 1);
	/* A port in the summary is looked up as before. */
	assert_int_equal(pwt_run(TO(t), &p, IF_B), OK);
	assert_int_equal(pwt_cnt(t, 2, IN, PW_ALLOW_POLICY), 1);
	/* A port no rule names: denied. */
	p.dport = 81;
	p.sport = 2;
	assert_int_equal(pwt_run(TO(t), &p, IF_B), SHOT);
	assert_int_equal(pwt_cnt(t, 2, IN, PW_DROP_POLICY), 1);
	assert_non_null(find_ev(t, PW_EV_DROP, PW_DROP_POLICY));
	/* ... except from the node, allowed on every port. */
	p.src = N;
	assert_int_equal(pwt_run(TO(t), &p, IF_B), OK);
	assert_int_equal(pwt_cnt(t, 2, IN, PW_ALLOW_HOST), 1);
	/* No rule without ports: ICMP from the node passes, from a pod not. */
	assert_int_equal(pwt_run(TO(t), &icmp, IF_B), OK);
	assert_int_equal(pwt_cnt(t, 2, IN, PW_ALLOW_HOST), 2);
	icmp.src = A;
	assert_int_equal(pwt_run(TO(t), &icmp, IF_B), SHOT);
	assert_int_equal(pwt_cnt(t, 2, IN, PW_DROP_POLICY), 2);
	/* The datapath trusts the summary: an entry whose bit it lacks is not
	 * looked up (the compiler sets a bit for every exact-port entry). */
	pwt_add_pol(t, 0, 10, 100, IN, TCP, 81, 11);
	p = (struct pk){ .src = A, .dst = B, .proto = TCP, .sport = 3, .dport = 81 };
	assert_int_equal(pwt_run(TO(t), &p, IF_B), SHOT);
	/* Without PW_SET_PORT_BLOOM (an older writer) the entry is found. */
	b.sflags_in &= ~PW_SET_PORT_BLOOM;
	pwt_add_ep(t, 0, &b);
	p.sport = 4;
	assert_int_equal(pwt_run(TO(t), &p, IF_B), OK);
	assert_int_equal(pwt_cnt(t, 2, IN, PW_ALLOW_POLICY), 2);
	/* An incomplete list of node addresses: the node is recognised through
	 * pw_ep_v1 instead. */
	b.sflags_in |= PW_SET_PORT_BLOOM;
	pwt_add_ep(t, 0, &b);
	pwt_set_hosts(t, 0, hosts, 0, 0);
	p = (struct pk){ .src = N, .dst = B, .proto = TCP, .sport = 5, .dport = 82 };
	assert_int_equal(pwt_run(TO(t), &p, IF_B), OK);
	assert_int_equal(pwt_cnt(t, 2, IN, PW_ALLOW_HOST), 3);
	p.src = A;
	assert_int_equal(pwt_run(TO(t), &p, IF_B), SHOT);
	assert_int_equal(pwt_cnt(t, 2, IN, PW_DROP_POLICY), 4);
	/* A complete list is used on its own: an address only it names is the
	 * node's. */
	{
		static const char *const other[] = { "10.0.0.253" };

		pwt_set_hosts(t, 0, other, 1, 1);
		p.src = other[0];
		p.sport = 6;
		assert_int_equal(pwt_run(TO(t), &p, IF_B), OK);
		assert_int_equal(pwt_cnt(t, 2, IN, PW_ALLOW_HOST), 4);
	}
	/* A flood of early denials with an empty event bucket: each drop is
	 * counted, each suppressed event too (most without pw_finish()). */
	{
		uint64_t before = pwt_cnt(t, 2, IN, PW_DROP_POLICY), sup;
		int ev;

		pwt_events(t);
		sup = pwt_suppressed(t);
		pwt_state_rl(t, EPOCH, ENF, 1, 1);
		p = (struct pk){ .src = A, .dst = B, .proto = TCP, .dport = 81 };
		for (int i = 0; i < 70; i++) {
			p.sport = (uint16_t)(100 + i);
			assert_int_equal(pwt_run(TO(t), &p, IF_B), SHOT);
		}
		assert_int_equal(pwt_cnt(t, 2, IN, PW_DROP_POLICY), before + 70);
		/* every drop either sent its event or counted its suppression */
		ev = pwt_events(t);
		assert_true(ev >= 1 && ev < 70);
		assert_int_equal((uint64_t)ev + pwt_suppressed(t) - sup, 70);
	}
}

/* The port summary on the egress side: the destination is checked against
 * the node's addresses and the service prefixes (pw_host_v1) only. */
static void test_egress_port_summary(void **state)
{
	GET(t);
	static const char *const hosts[] = { N };
	struct pwt_ep a = {
		A,
		100,
		IF_A,
		PW_EP_LOCAL,
		1,
		0,
		20,
		0,
		PW_SET_PEER | PW_SET_NO_PORT0_ALL | PW_SET_PORT_BLOOM | pw_port_bloom_bit(TCP, 80)
	};
	struct pk p = { .src = A, .dst = B, .proto = TCP, .sport = 1, .dport = 80 };
	struct pk u = { .src = A, .dst = R, .proto = UDP, .sport = 1, .dport = 5000 };

	assert_int_not_equal(pw_port_bloom_bit(TCP, 80), pw_port_bloom_bit(TCP, 81));
	assert_false(a.sflags_out & pw_port_bloom_bit(UDP, 5000));
	pwt_add_ep(t, 0, &a);
	pwt_set_node(t, 0, hosts, 1, 1, "10.96.0.0", 12, 1);
	/* The hints above say set 20 has only exact tcp/80 entries: give it
	 * one (its tcp/any entry is then never looked up). */
	pwt_add_pol(t, 0, 20, 200, EG, TCP, 80, 10);
	/* A port in the summary: looked up. */
	assert_int_equal(pwt_run(FROM(t), &p, IF_A), OK);
	assert_int_equal(pwt_cnt(t, 1, EG, PW_ALLOW_POLICY), 1);
	/* Elsewhere: the node is allowed, a service deferred, the rest denied. */
	p.dport = 81;
	p.dst = R;
	assert_int_equal(pwt_run(FROM(t), &p, IF_A), SHOT);
	assert_int_equal(pwt_cnt(t, 1, EG, PW_DROP_POLICY), 1);
	p.dst = N;
	assert_int_equal(pwt_run(FROM(t), &p, IF_A), OK);
	assert_int_equal(pwt_cnt(t, 1, EG, PW_ALLOW_HOST), 1);
	p.dst = VIP;
	assert_int_equal(pwt_run(FROM(t), &p, IF_A), OK);
	assert_int_equal(pwt_cnt(t, 1, EG, PW_ALLOW_DEFERRED), 1);
	assert_int_equal(pwt_run(FROM(t), &u, IF_A), SHOT);
	assert_int_equal(pwt_cnt(t, 1, EG, PW_DROP_POLICY), 2);
	/* The datapath trusts the lists: a service prefix it lacks is not a
	 * service (the writer lists every one, or marks the list incomplete). */
	pwt_set_node(t, 0, hosts, 1, 1, "10.97.0.0", 16, 1);
	p.sport = 2;
	assert_int_equal(pwt_run(FROM(t), &p, IF_A), SHOT);
	assert_int_equal(pwt_cnt(t, 1, EG, PW_DROP_POLICY), 3);
	/* Incomplete: pw_peer_v1 is asked, and knows 10.96/12. */
	pwt_set_node(t, 0, hosts, 1, 1, "10.97.0.0", 16, 0);
	p.sport = 3;
	assert_int_equal(pwt_run(FROM(t), &p, IF_A), OK);
	assert_int_equal(pwt_cnt(t, 1, EG, PW_ALLOW_DEFERRED), 2);
}

/* A TCP SYN is decided before conntrack is asked: an allowed retransmitted
 * SYN still finds its flow; in a simultaneous open the crossing SYN is a new
 * connection (denied here) and the SYN-ACKs complete it. */
static void test_syn_decided_before_conntrack(void **state)
{
	GET(t);
	struct pk syn = { .src = A, .dst = B, .proto = TCP, .sport = 45000, .dport = 80 };
	struct pk bsyn = { .src = B, .dst = A, .proto = TCP, .sport = 5555, .dport = 6666 };
	struct pk asyn = { .src = A, .dst = B, .proto = TCP, .sport = 6666, .dport = 5555 };
	struct pk asynack = {
		.src = A, .dst = B, .proto = TCP, .sport = 6666, .dport = 5555, .tcp_flags = 0x12
	};
	struct pw_ct_val v1, v2;

	assert_int_equal(pwt_run(TO(t), &syn, IF_B), OK);
	assert_int_equal(pwt_ct(t, A, B, 45000, 80, TCP, PW_HOOK_TO_POD, &v1), 0);
	assert_int_equal(pwt_run(TO(t), &syn, IF_B), OK);
	assert_int_equal(pwt_cnt(t, 2, IN, PW_ALLOW_POLICY), 1);
	assert_int_equal(pwt_cnt(t, 2, IN, PW_ALLOW_ESTABLISHED), 1);
	assert_int_equal(pwt_ct(t, A, B, 45000, 80, TCP, PW_HOOK_TO_POD, &v2), 0);
	assert_true(v2.created_ns == v1.created_ns);

	/* B (egress not isolated) opens to A:6666 while A opens to B:5555. */
	assert_int_equal(pwt_run(FROM(t), &bsyn, IF_B), OK);
	assert_int_equal(pwt_run(TO(t), &asyn, IF_B), SHOT);
	assert_int_equal(pwt_cnt(t, 2, IN, PW_DROP_POLICY), 1);
	assert_int_equal(pwt_run(TO(t), &asynack, IF_B), OK);
	assert_int_equal(pwt_cnt(t, 2, IN, PW_ALLOW_REPLY), 1);
}

/*
 * A packet other than a SYN to a port no rule of the set names is dropped
 * the short way once conntrack has said that it is not a known flow: the
 * reply of a flow the pod opened still passes, on a port that is not in
 * its ingress summary; a stray UDP datagram or TCP ACK is dropped with
 * PW_DROP_POLICY and leaves no conntrack entry; audit still takes the
 * full path.
 */
static void test_new_flow_denied_early_after_conntrack(void **state)
{
	GET(t);
	static const char *const hosts[] = { N };
	/* B's ingress: set 30, one rule, tcp/80 from A; egress not isolated */
	struct pwt_ep b =
		summary_ep(30, PW_SET_NO_PORT0_TCP | PW_SET_NO_PORT0_UDP | PW_SET_NO_PORT0_SCTP |
				       PW_SET_NO_PORT0_OTHER | pw_port_bloom_bit(TCP, 80));
	struct pk query = { .src = B, .dst = A, .proto = UDP, .sport = 5353, .dport = 53 };
	struct pk reply = { .src = A, .dst = B, .proto = UDP, .sport = 53, .dport = 5353 };
	struct pk stray = { .src = A, .dst = B, .proto = UDP, .sport = 53, .dport = 5354 };
	struct pk ack = {
		.src = A, .dst = B, .proto = TCP, .sport = 7000, .dport = 81, .tcp_flags = 0x10
	};
	struct pw_ct_val v;

	assert_int_not_equal(pw_port_bloom_bit(UDP, 5353), pw_port_bloom_bit(TCP, 80));
	assert_int_not_equal(pw_port_bloom_bit(UDP, 5354), pw_port_bloom_bit(TCP, 80));
	pwt_add_pol(t, 0, 30, 100, IN, TCP, 80, 12);
	pwt_add_ep(t, 0, &b);
	pwt_set_hosts(t, 0, hosts, 1, 1);

	/* B asks A; A's answer is a reply, whatever B's ingress says */
	assert_int_equal(pwt_run(FROM(t), &query, IF_B), OK);
	assert_int_equal(pwt_run(TO(t), &reply, IF_B), OK);
	assert_int_equal(pwt_cnt(t, 2, IN, PW_ALLOW_REPLY), 1);
	/* no flow: dropped, counted, reported, not tracked */
	assert_int_equal(pwt_run(TO(t), &stray, IF_B), SHOT);
	assert_int_equal(pwt_cnt(t, 2, IN, PW_DROP_POLICY), 1);
	assert_non_null(find_ev(t, PW_EV_DROP, PW_DROP_POLICY));
	assert_int_not_equal(pwt_ct(t, A, B, 53, 5354, UDP, PW_HOOK_TO_POD, &v), 0);
	assert_int_equal(pwt_run(TO(t), &ack, IF_B), SHOT);
	assert_int_equal(pwt_cnt(t, 2, IN, PW_DROP_POLICY), 2);
	assert_int_not_equal(pwt_ct(t, A, B, 7000, 81, TCP, PW_HOOK_TO_POD, &v), 0);
	/* from the node: allowed on every port, as before */
	stray.src = N;
	assert_int_equal(pwt_run(TO(t), &stray, IF_B), OK);
	assert_int_equal(pwt_cnt(t, 2, IN, PW_ALLOW_HOST), 1);
	/* per-endpoint audit: the would-be drop passes as an audit */
	b.flags |= PW_EP_AUDIT_IN;
	pwt_add_ep(t, 0, &b);
	stray.src = A;
	stray.sport = 54;
	assert_int_equal(pwt_run(TO(t), &stray, IF_B), OK);
	assert_int_equal(pwt_cnt(t, 2, IN, PW_CNT_AUDIT(PW_DROP_POLICY)), 1);
	assert_int_equal(pwt_cnt(t, 2, IN, PW_DROP_POLICY), 2);
}

static void test_audit_global_and_per_endpoint(void **state)
{
	GET(t);
	struct pk p = { .src = R, .dst = B, .proto = TCP, .sport = 1, .dport = 81 };
	struct pk sp = { .src = A, .dst = B, .proto = TCP, .sport = 1, .dport = 80 };
	struct pwt_ep baudit = { B, 200, IF_B, PW_EP_LOCAL | PW_EP_AUDIT_IN,
				 2, 10,	 0,    PW_SET_PEER | PW_SET_RANGES,
				 0 };
	const struct pw_event *ev;
	struct pw_ct_val v;

	pwt_state(t, EPOCH, ENF | PW_STATE_AUDIT);
	assert_int_equal(pwt_run(TO(t), &p, IF_B), OK);
	assert_int_equal(pwt_cnt(t, 2, IN, PW_CNT_AUDIT(PW_DROP_POLICY)), 1);
	ev = find_ev(t, PW_EV_AUDIT, PW_DROP_POLICY);
	assert_non_null(ev);
	assert_int_equal(ev->verdict, PW_VERDICT_AUDIT);
	assert_int_equal(pwt_ct(t, R, B, 1, 81, TCP, PW_HOOK_TO_POD, &v), 0);
	assert_true(v.flags & PW_CT_F_AUDIT);
	/* Global audit passes other would-be drops too. */
	assert_int_equal(pwt_run(FROM(t), &sp, IF_B), OK);
	assert_int_equal(pwt_cnt(t, 0, EG, PW_CNT_AUDIT(PW_DROP_SPOOFED)), 1);

	pwt_state(t, EPOCH, ENF);
	p.sport = 2;
	assert_int_equal(pwt_run(TO(t), &p, IF_B), SHOT);
	pwt_add_ep(t, 0, &baudit);
	p.sport = 3;
	assert_int_equal(pwt_run(TO(t), &p, IF_B), OK);
	assert_int_equal(pwt_cnt(t, 2, IN, PW_CNT_AUDIT(PW_DROP_POLICY)), 2);
	/* Per-endpoint audit does not cover spoofing. */
	assert_int_equal(pwt_run(FROM(t), &sp, IF_B), SHOT);
}

static void test_event_rate_limit(void **state)
{
	GET(t);
	struct pk p = { .src = R, .dst = B, .proto = TCP, .sport = 1, .dport = 81 };

	pwt_state_rl(t, EPOCH, ENF, 1, 3);
	for (int i = 0; i < 10; i++)
		assert_int_equal(pwt_run(TO(t), &p, IF_B), SHOT);
	assert_int_equal(pwt_events(t), 3);
	assert_int_equal(pwt_suppressed(t), 7);
	assert_int_equal(pwt_cnt(t, 2, IN, PW_DROP_POLICY), 10);
}

/* An empty bucket reads the clock only every PW_RL_CLOCK_EVERY (64)
 * suppressions: a refill is seen at most that many drops late. */
static void test_event_rate_limit_refill(void **state)
{
	GET(t);
	struct pk p = { .src = R, .dst = B, .proto = TCP, .sport = 1, .dport = 81 };
	int i;

	pwt_state_rl(t, EPOCH, ENF, 1000, 1);
	assert_int_equal(pwt_run(TO(t), &p, IF_B), SHOT);
	for (i = 0; i < 5; i++)
		assert_int_equal(pwt_run(TO(t), &p, IF_B), SHOT);
	assert_int_equal(pwt_events(t), 1);
	assert_int_equal(pwt_suppressed(t), 5);
	usleep(20000); /* 20 tokens' worth; the bucket holds 1 */
	for (i = 0; i < 59; i++)
		assert_int_equal(pwt_run(TO(t), &p, IF_B), SHOT);
	assert_int_equal(pwt_events(t), 0); /* events since the last call */
	assert_int_equal(pwt_suppressed(t), 64);
	assert_int_equal(pwt_run(TO(t), &p, IF_B), SHOT);
	assert_int_equal(pwt_events(t), 1);
	assert_int_equal(pwt_suppressed(t), 64);
	assert_int_equal(pwt_cnt(t, 2, IN, PW_DROP_POLICY), 66);
}

static void test_conntrack_timeouts(void **state)
{
	GET(t);
	struct pk p = { .src = A, .dst = B, .proto = UDP, .sport = 45000, .dport = 5000 };
	struct pw_ct_key k = { .src = pwt_addr(A),
			       .dst = pwt_addr(B),
			       .sport = 45000,
			       .dport = 5000,
			       .proto = UDP,
			       .hook = PW_HOOK_TO_POD };
	struct pw_ct_key rk = { .src = pwt_addr(B),
				.dst = pwt_addr(A),
				.sport = 5000,
				.dport = 45000,
				.proto = UDP,
				.hook = PW_HOOK_FROM_POD };
	struct pw_ct_val v;
	struct bpf_map *ct = t->tc->maps.pw_ct_v1;

	assert_int_equal(pwt_run(TO(t), &p, IF_B), OK);
	/* Age both entries past the unreplied UDP timeout (60 s). */
	assert_int_equal(bpf_map__lookup_elem(ct, &k, sizeof(k), &v, sizeof(v), 0), 0);
	v.last_seen_ns -= 61ull * 1000000000ull;
	v.rule_id = 999; /* a fresh decision overwrites it */
	assert_int_equal(bpf_map__update_elem(ct, &k, sizeof(k), &v, sizeof(v), 0), 0);
	assert_int_equal(bpf_map__lookup_elem(ct, &rk, sizeof(rk), &v, sizeof(v), 0), 0);
	v.last_seen_ns -= 61ull * 1000000000ull;
	assert_int_equal(bpf_map__update_elem(ct, &rk, sizeof(rk), &v, sizeof(v), 0), 0);
	assert_int_equal(pwt_run(TO(t), &p, IF_B), OK);
	assert_int_equal(pwt_cnt(t, 2, IN, PW_ALLOW_POLICY), 2);
	assert_int_equal(bpf_map__lookup_elem(ct, &k, sizeof(k), &v, sizeof(v), 0), 0);
	assert_int_equal(v.rule_id, 2);
	/* Only one entry old: the flow is alive through its partner. */
	v.last_seen_ns -= 61ull * 1000000000ull;
	assert_int_equal(bpf_map__update_elem(ct, &k, sizeof(k), &v, sizeof(v), 0), 0);
	assert_int_equal(pwt_run(TO(t), &p, IF_B), OK);
	assert_int_equal(pwt_cnt(t, 2, IN, PW_ALLOW_ESTABLISHED), 1);
}

static void test_egress_too_revoked(void **state)
{
	GET(t);
	struct pk svc = { .src = A, .dst = VIP, .proto = TCP, .sport = 46000, .dport = 80 };
	struct pk tob = { .src = A, .dst = B, .proto = TCP, .sport = 46000, .dport = 80 };
	struct pk rep = {
		.src = B, .dst = A, .proto = TCP, .sport = 80, .dport = 46000, .tcp_flags = 0x10
	};

	assert_int_equal(pwt_run(FROM(t), &svc, IF_A), OK);
	assert_int_equal(pwt_run(TO(t), &tob, IF_B), OK);
	/* B's ingress still allows it, A's egress no longer does. */
	pwt_del_pol(t, 0, 20, 200, EG, TCP, 0);
	pwt_state(t, EPOCH + 2, ENF);
	assert_int_equal(pwt_run(FROM(t), &rep, IF_B), SHOT);
	assert_int_equal(pwt_cnt(t, 2, EG, PW_DROP_REVOKED), 1);
	assert_int_equal(pwt_run(TO(t), &tob, IF_B), SHOT);
	assert_int_equal(pwt_cnt(t, 1, EG, PW_DROP_POLICY), 1);
}

static void test_uplink_fragments_and_icmp(void **state)
{
	GET(t);
	struct pk f1 = {
		.src = A, .dst = R, .proto = UDP, .sport = 1, .dport = 53, .frag = 1, .frag_id = 77
	};
	struct pk f2 = f1, stray = f1;
	struct pk in = { .src = R, .dst = A, .proto = UDP, .sport = 9, .dport = 9 };
	struct pk quoted = in;
	struct pk err = {
		.src = A, .dst = R, .proto = ICMP, .icmp_type = 3, .icmp_code = 3, .inner = &quoted
	};
	struct pk err6in = { .src = R6, .dst = A6, .proto = UDP, .sport = 9, .dport = 9 };
	struct pk err6 = { .src = A6, .dst = R6, .proto = ICMP6, .icmp_type = 1, .inner = &err6in };

	f2.frag = 2;
	stray.frag = 2;
	stray.frag_id = 78;
	/* Decided at A's veth: the later fragment passes the uplink too. */
	assert_int_equal(pwt_run(FROM(t), &f1, IF_A), OK);
	assert_int_equal(pwt_run(UPL(t), &f2, 1), OK);
	assert_int_equal(pwt_run(UPL(t), &stray, 1), SHOT);
	assert_int_equal(pwt_cnt(t, 1, EG, PW_DROP_FRAG_UNKNOWN), 1);
	/* A's port-unreachable for a datagram it was sent (A is not
	 * ingress-isolated: the datagram made a flow at A's TO_POD). */
	assert_int_equal(pwt_run(TO(t), &in, IF_A), OK);
	assert_int_equal(pwt_run(FROM(t), &err, IF_A), OK);
	assert_int_equal(pwt_cnt(t, 1, EG, PW_ALLOW_ICMP_RELATED), 1);
	assert_int_equal(pwt_run(UPL(t), &err, 1), OK);
	/* Without the flow, A's egress policy (no ICMP rule) decides. */
	assert_int_equal(pwt_run(FROM(t), &err6, IF_A), SHOT);
}

static void test_load_at_4x_sizes(void **state)
{
	struct pwt *t;

	(void)state;
	if (g_netns_err)
		skip();
	t = pwt_load(4);
	assert_non_null(t);
	assert_int_equal(bpf_map__max_entries(t->tc->maps.pw_pol_v1), 4 * PW_MAX_POLICY_ENTRIES);
	assert_int_equal(bpf_map__max_entries(t->xdp->maps.pw_ct_v1), 4 * PW_MAX_CT);
	pwt_destroy(t);
}

static void test_load_at_abi_sizes(void **state)
{
	GET(t);
	assert_int_equal(bpf_map__max_entries(t->tc->maps.pw_pol_v1), PW_MAX_POLICY_ENTRIES);
	assert_int_equal(bpf_map__max_entries(t->tc->maps.pw_peer_v1), PW_MAX_PREFIXES);
	assert_int_equal(bpf_map__max_entries(t->tc->maps.pw_ct_v1), PW_MAX_CT);
	assert_int_equal(bpf_map__max_entries(t->tc->maps.pw_events_v1), PW_EVENTS_BYTES);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_load_at_abi_sizes),
		cmocka_unit_test(test_load_at_4x_sizes),
		T(test_not_enforcing_passes_everything),
		T(test_arp_passes),
		T(test_nd_and_mld_pass),
		T(test_malformed_dropped),
		T(test_ipv6_exthdr_chain),
		T(test_vlan_and_ip_options_parsed),
		T(test_spoofed_source_dropped),
		T(test_no_endpoint_dropped),
		T(test_egress_allow_creates_flow),
		T(test_egress_deny),
		T(test_ingress_rules_ports_ranges_prefixes),
		T(test_ingress_flow_reply_and_close),
		T(test_reply_of_denied_direction_is_not_a_new_flow),
		T(test_icmp_echo_tracked),
		T(test_icmp_error_related),
		T(test_fragments_v4_v6),
		T(test_loopback_and_host),
		T(test_not_isolated),
		T(test_service_deferred_to_local_backend),
		T(test_service_deferred_to_remote_backend),
		T(test_slot_swap),
		T(test_revoke_cuts_established_flow),
		T(test_audit_global_and_per_endpoint),
		T(test_no_port0_hint),
		T(test_port_summary),
		T(test_egress_port_summary),
		T(test_syn_decided_before_conntrack),
		T(test_new_flow_denied_early_after_conntrack),
		T(test_event_rate_limit),
		T(test_event_rate_limit_refill),
		T(test_conntrack_timeouts),
		T(test_egress_too_revoked),
		T(test_uplink_fragments_and_icmp),
#undef T
	};

	if (geteuid() != 0)
		g_netns_err = -EPERM;
	else
		g_netns_err = pwt_netns();
	if (g_netns_err)
		printf("# private netns: %s\n", strerror(-g_netns_err));
	return cmocka_run_group_tests_name("podwall_tc", tests, NULL, NULL);
}
