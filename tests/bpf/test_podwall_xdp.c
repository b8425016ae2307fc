// SPDX-License-Identifier: MIT
/*
 * Datapath tests for bpf/podwall_xdp.bpf.c: pw_xdp_from_pod makes the same
 * decisions as the tc pw_from_pod (and shares its conntrack), pw_xdp_uplink
 * drops early what the destination pod's ingress policy would drop.  The
 * world is described in pwworld.h.
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

#define GET(t)                                                                                   \
	struct pwt *t = *state;                                                                  \
	if (!t) {                                                                                \
		printf("# SKIP reason: %s\n", g_netns_err ? "no private netns with veth devices" \
							  : "cannot load the BPF objects");      \
		skip();                                                                          \
	}

#define XFROM(t) ((t)->xdp->progs.pw_xdp_from_pod)
#define XUP(t) ((t)->xdp->progs.pw_xdp_uplink)
#define TO(t) ((t)->tc->progs.pw_to_pod)
#define FROM(t) ((t)->tc->progs.pw_from_pod)

static void test_xdp_from_pod_same_decisions_as_tc(void **state)
{
	GET(t);
	struct pk ok = { .src = A, .dst = B, .proto = TCP, .sport = 50000, .dport = 80 };
	struct pk deny = { .src = A, .dst = R, .proto = TCP, .sport = 50000, .dport = 80 };
	struct pk spoof = { .src = B, .dst = R, .proto = TCP, .sport = 50000, .dport = 80 };
	struct pk svc = { .src = A6, .dst = R6, .proto = UDP, .sport = 50000, .dport = 53 };
	struct pk rep = {
		.src = B, .dst = A, .proto = TCP, .sport = 80, .dport = 50000, .tcp_flags = 0x12
	};
	struct pw_ct_val v;

	assert_int_equal(pwt_run(XFROM(t), &ok, IF_A), XDP_PASS);
	assert_int_equal(pwt_run(XFROM(t), &deny, IF_A), XDP_DROP);
	assert_int_equal(pwt_run(XFROM(t), &spoof, IF_A), XDP_DROP);
	assert_int_equal(pwt_run(XFROM(t), &svc, IF_A), XDP_PASS);
	assert_int_equal(pwt_cnt(t, 1, EG, PW_ALLOW_POLICY), 2);
	assert_int_equal(pwt_cnt(t, 1, EG, PW_DROP_POLICY), 1);
	assert_int_equal(pwt_cnt(t, 0, EG, PW_DROP_SPOOFED), 1);
	/* Shared conntrack: the XDP-created flow's reply passes at tc. */
	assert_int_equal(pwt_ct(t, A, B, 50000, 80, TCP, PW_HOOK_FROM_POD, &v), 0);
	assert_int_equal(pwt_run(TO(t), &rep, IF_A), TC_ACT_OK);
	assert_int_equal(pwt_cnt(t, 1, IN, PW_ALLOW_REPLY), 1);
	pwt_events(t);
	assert_int_equal(t->n_ev, 2);
}

static void test_xdp_from_pod_nonip_and_malformed(void **state)
{
	GET(t);
	uint8_t arp[42] = { 0 };
	struct pk cut = {
		.src = A, .dst = B, .proto = UDP, .sport = 1, .dport = 2, .truncate = 8 + 4
	};

	memcpy(arp + 12, "\x08\x06", 2);
	assert_int_equal(pwt_run_raw(bpf_program__fd(XFROM(t)), arp, sizeof(arp), IF_A, 1),
			 XDP_PASS);
	assert_int_equal(pwt_run(XFROM(t), &cut, IF_A), XDP_DROP);
	assert_int_equal(pwt_cnt(t, 0, EG, PW_ALLOW_NON_IP), 1);
	assert_int_equal(pwt_cnt(t, 0, EG, PW_DROP_MALFORMED), 1);
}

static void test_xdp_uplink_prefilter(void **state)
{
	GET(t);
	struct pk deny = { .src = R, .dst = B, .proto = TCP, .sport = 1, .dport = 81 };
	struct pk allow = { .src = "192.168.3.3", .dst = B, .proto = TCP, .sport = 1, .dport = 80 };
	struct pk open = { .src = R, .dst = C, .proto = TCP, .sport = 1, .dport = 81 };
	struct pk away = { .src = R, .dst = "10.1.0.9", .proto = TCP, .sport = 1, .dport = 81 };
	struct pk deny6 = { .src = R6, .dst = B6, .proto = UDP, .sport = 1, .dport = 53 };
	struct pk later = deny;
	struct pk out = { .src = B, .dst = R, .proto = UDP, .sport = 5000, .dport = 7000 };
	struct pk back = { .src = R, .dst = B, .proto = UDP, .sport = 7000, .dport = 5000 };
	const struct pw_event *ev = NULL;
	struct pw_ct_val v;

	later.frag = 2;
	later.frag_id = 5;
	assert_int_equal(pwt_run(XUP(t), &deny, 1), XDP_DROP);
	assert_int_equal(pwt_run(XUP(t), &deny6, 1), XDP_DROP);
	assert_int_equal(pwt_cnt(t, 2, IN, PW_DROP_POLICY), 2);
	pwt_events(t);
	assert_int_equal(t->n_ev, 2);
	ev = &t->ev[0];
	assert_int_equal(ev->hook, PW_HOOK_UPLINK);
	assert_int_equal(ev->dir, IN);
	assert_int_equal(ev->reason, PW_DROP_POLICY);
	assert_int_equal(pwt_run(XUP(t), &allow, 1), XDP_PASS);
	assert_int_equal(pwt_run(XUP(t), &open, 1), XDP_PASS);
	assert_int_equal(pwt_run(XUP(t), &away, 1), XDP_PASS);
	assert_int_equal(pwt_run(XUP(t), &later, 1), XDP_PASS); /* TO_POD decides */
	/* No conntrack is created at the uplink. */
	assert_int_not_equal(pwt_ct(t, "192.168.3.3", B, 1, 80, TCP, PW_HOOK_TO_POD, &v), 0);
	/* A reply to a flow B opened passes. */
	assert_int_equal(pwt_run(XUP(t), &back, 1), XDP_DROP);
	assert_int_equal(pwt_run(FROM(t), &out, IF_B), TC_ACT_OK);
	assert_int_equal(pwt_run(XUP(t), &back, 1), XDP_PASS);
}

static void test_xdp_uplink_audit_and_not_enforcing(void **state)
{
	GET(t);
	struct pk deny = { .src = R, .dst = B, .proto = TCP, .sport = 1, .dport = 81 };

	pwt_state(t, EPOCH, ENF | PW_STATE_AUDIT);
	assert_int_equal(pwt_run(XUP(t), &deny, 1), XDP_PASS);
	assert_int_equal(pwt_cnt(t, 2, IN, PW_CNT_AUDIT(PW_DROP_POLICY)), 0);
	pwt_state(t, EPOCH, 0);
	assert_int_equal(pwt_run(XUP(t), &deny, 1), XDP_PASS);
	pwt_state(t, EPOCH, ENF);
	assert_int_equal(pwt_run(XUP(t), &deny, 1), XDP_DROP);
}

static void test_xdp_uplink_sees_new_slot(void **state)
{
	GET(t);
	struct pk p = { .src = R, .dst = B, .proto = TCP, .sport = 1, .dport = 81 };

	world(t, 1);
	pwt_add_pol(t, 1, 10, 101, IN, TCP, 81, 11);
	assert_int_equal(pwt_run(XUP(t), &p, 1), XDP_DROP);
	pwt_state(t, EPOCH + 1, ENF);
	assert_int_equal(pwt_run(XUP(t), &p, 1), XDP_PASS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_xdp_from_pod_same_decisions_as_tc),
		T(test_xdp_from_pod_nonip_and_malformed),
		T(test_xdp_uplink_prefilter),
		T(test_xdp_uplink_audit_and_not_enforcing),
		T(test_xdp_uplink_sees_new_slot),
#undef T
	};

	if (geteuid() != 0)
		g_netns_err = -EPERM;
	else
		g_netns_err = pwt_netns();
	if (g_netns_err)
		printf("# private netns: %s\n", strerror(-g_netns_err));
	return cmocka_run_group_tests_name("podwall_xdp", tests, NULL, NULL);
}
