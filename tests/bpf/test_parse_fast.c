// SPDX-License-Identifier: MIT
/*
 * The hooks' inline parser for the commonest packet (pw_parse_tcp in
 * bpf/lib/parse.h) against the full parser (pw_parse), both run by
 * bpf/podwall_parsecheck.bpf.c on the same packet through
 * BPF_PROG_TEST_RUN: whenever the fast path takes a packet, the full parser
 * must accept it and fill the same struct pw_pkt, byte for byte; when it
 * declines, it must leave the struct untouched.  Checked on crafted
 * packets (which it must take, which it must leave to pw_parse) and on
 * random mutations of a TCP SYN and a UDP datagram.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "pwtest.h"
#include "podwall_parsecheck.skel.h"

static struct podwall_parsecheck *g_obj;
static const char *g_skip;

/* Run one frame; *took: the fast path took it.  Fails the test on any
 * disagreement. */
static int check_frame(const uint8_t *buf, size_t len, int *took)
{
	/* struct pw_pkt is the BPF side's (bpf/lib/parse.h): compared as bytes */
	uint8_t full[256], fast[256], zero[256] = { 0 };
	size_t sz = bpf_map__value_size(g_obj->maps.pw_parsecheck_out);
	uint32_t k0 = 0, k1 = 1;
	int ret = pwt_run_raw(bpf_program__fd(g_obj->progs.pw_parse_check), buf, len, pwt_if[0], 0);

	assert_true(ret >= 0);
	assert_true(sz >= 64 && sz <= sizeof(full));
	assert_int_equal(bpf_map__lookup_elem(g_obj->maps.pw_parsecheck_out, &k0, 4, full, sz, 0),
			 0);
	assert_int_equal(bpf_map__lookup_elem(g_obj->maps.pw_parsecheck_out, &k1, 4, fast, sz, 0),
			 0);
	*took = !!(ret & 0x100);
	if (*took) {
		assert_int_equal(ret & 0xff, 0);
		assert_memory_equal(full, fast, sz);
	} else {
		assert_memory_equal(fast, zero, sz);
	}
	return ret & 0xff;
}

static int check_pk(const struct pk *o)
{
	uint8_t buf[512];
	int took;

	check_frame(buf, pk_build(buf, o), &took);
	return took;
}

#define NEED()                                                 \
	do {                                                   \
		if (g_skip) {                                  \
			printf("# SKIP reason: %s\n", g_skip); \
			skip();                                \
		}                                              \
	} while (0)

static void test_takes_plain_ipv4_tcp(void **state)
{
	(void)state;
	NEED();
	struct pk syn = { .src = "10.0.0.1",
			  .dst = "10.0.0.2",
			  .proto = IPPROTO_TCP,
			  .sport = 40000,
			  .dport = 80 };
	struct pk ack = syn;

	ack.tcp_flags = 0x10;
	assert_true(check_pk(&syn));
	assert_true(check_pk(&ack));
	ack.tcp_doff = 15; /* options beyond the frame: headers only are checked */
	assert_true(check_pk(&ack));
	{
		/* UDP in a minimum-size Ethernet frame (60 bytes: padded) */
		uint8_t buf[512] = { 0 };
		int took;

		syn.proto = IPPROTO_UDP;
		pk_build(buf, &syn);
		assert_int_equal(check_frame(buf, 60, &took), 0);
		assert_true(took);
	}
}

static void test_leaves_the_rest_to_pw_parse(void **state)
{
	(void)state;
	NEED();
	const struct pk base = { .src = "10.0.0.1",
				 .dst = "10.0.0.2",
				 .proto = IPPROTO_TCP,
				 .sport = 40000,
				 .dport = 80 };
	struct pk o;

#define DECLINED(field, value)              \
	do {                                \
		o = base;                   \
		o.field = value;            \
		assert_false(check_pk(&o)); \
	} while (0)
	DECLINED(vlan, 1);
	DECLINED(ipopts, 1);
	DECLINED(frag, 1);
	DECLINED(frag, 2);
	DECLINED(bad_ihl, 1);
	DECLINED(tcp_doff, 4);
	DECLINED(proto, IPPROTO_SCTP);
	DECLINED(proto, IPPROTO_ICMP);
	DECLINED(src, "fd00::1");
	o = base;
	o.src = "fd00::1";
	o.dst = "fd00::2";
	assert_false(check_pk(&o)); /* IPv6: the global parser's */
#undef DECLINED
	{
		/* tot_len shorter than the IP header: pw_parse's malformed */
		uint8_t buf[512];
		size_t n = pk_build(buf, &base);
		int took;

		buf[14 + 2] = 0;
		buf[14 + 3] = 19;
		assert_int_equal(check_frame(buf, n, &took), PW_DROP_MALFORMED);
		assert_false(took);
		buf[14 + 3] = 0; /* 0: BIG TCP, not an error */
		assert_int_equal(check_frame(buf, n, &took), 0);
		assert_true(took);
		/* the TCP header cut short by a byte */
		pk_build(buf, &base);
		assert_int_equal(check_frame(buf, 14 + 20 + 19, &took), PW_DROP_MALFORMED);
		assert_false(took);
		/* a whole UDP header but less than 20 bytes: pw_parse's */
		o = base;
		o.proto = IPPROTO_UDP;
		n = pk_build(buf, &o);
		assert_int_equal(check_frame(buf, 14 + 20 + 8, &took), 0);
		assert_false(took);
	}
}

/* Random corruption of the headers of a TCP SYN and of a UDP datagram:
 * whatever the bytes, the fast path either agrees with pw_parse or stays
 * out of it. */
static void test_mutations_agree(void **state)
{
	(void)state;
	NEED();
	struct pk base = { .src = "10.1.2.3", .dst = "10.4.5.6", .sport = 1234, .dport = 443 };
	uint8_t orig[2][512], buf[512];
	size_t n[2];
	unsigned int seed = 42, took_n = 0, declined_n = 0;
	int took;

	base.proto = IPPROTO_TCP;
	n[0] = pk_build(orig[0], &base);
	base.proto = IPPROTO_UDP;
	memset(orig[1], 0, sizeof(orig[1]));
	n[1] = pk_build(orig[1], &base) + 18; /* padded to 60 bytes */
	for (int i = 0; i < 4000; i++) {
		int flips = 1 + (int)(rand_r(&seed) % 3), b = i & 1;
		size_t len = n[b];

		memcpy(buf, orig[b], n[b]);
		for (int f = 0; f < flips; f++)
			buf[12 + rand_r(&seed) % (n[b] - 12)] = (uint8_t)rand_r(&seed);
		/* BPF_PROG_TEST_RUN refuses an IPv4 frame shorter than an IP
		 * header: cut within the transport header */
		if (rand_r(&seed) % 8 == 0)
			len = 34 + rand_r(&seed) % (n[b] - 34);
		check_frame(buf, len, &took);
		if (took)
			took_n++;
		else
			declined_n++;
	}
	/* both sides of the fast path were exercised */
	assert_true(took_n > 200);
	assert_true(declined_n > 200);
}

static int group_setup(void **state)
{
	(void)state;
	if (pwt_netns()) {
		g_skip = "cannot create a private netns with veth devices (not root?)";
		return 0;
	}
	g_obj = podwall_parsecheck__open_and_load();
	if (!g_obj)
		g_skip = "cannot load bpf/podwall_parsecheck.bpf.c (not root?)";
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	podwall_parsecheck__destroy(g_obj);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_takes_plain_ipv4_tcp),
		cmocka_unit_test(test_leaves_the_rest_to_pw_parse),
		cmocka_unit_test(test_mutations_agree),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
