// SPDX-License-Identifier: MIT
/*
 * The evaluator over compiled images against the reference evaluator over
 * the model, on random policy directories (differential test), plus the
 * evaluator's own lookups.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "pwtest.h"
#include "gen.c"
#include "refeval.c"

#ifndef DIFF_SEEDS
#define DIFF_SEEDS 300
#endif

static const struct {
	uint8_t proto;
	uint16_t port;
} probes[] = {
	{ PW_PROTO_TCP, 80 }, { PW_PROTO_TCP, 81 },   { PW_PROTO_TCP, 53 },  { PW_PROTO_TCP, 8080 },
	{ PW_PROTO_TCP, 60 }, { PW_PROTO_TCP, 100 },  { PW_PROTO_UDP, 53 },  { PW_PROTO_UDP, 80 },
	{ PW_PROTO_UDP, 81 }, { PW_PROTO_SCTP, 80 },  { PW_PROTO_SCTP, 53 }, { PW_PROTO_ICMP, 0 },
	{ PW_PROTO_TCP, 9 },  { PW_PROTO_UDP, 8080 },
};

static const char *const outsiders[] = { "10.0.0.3", "10.0.0.200", "192.168.1.1", "10.1.0.1",
					 "fd00::2",  "fd00::ff",   "2001:db8::1", "0.0.0.1" };

static void collect_addrs(const struct pw_model *m, union pw_addr **ret, size_t *ret_n)
{
	size_t i, j, n = 0;
	union pw_addr *v = calloc(m->n_pods * 16 + 16, sizeof(*v));

	assert_non_null(v);
	for (i = 0; i < m->n_pods; i++)
		for (j = 0; j < m->pods[i]->n_addrs; j++)
			v[n++] = m->pods[i]->addrs[j];
	for (i = 0; i < sizeof(outsiders) / sizeof(outsiders[0]); i++)
		assert_int_equal(pw_addr_parse(outsiders[i], &v[n++], NULL), 0);
	*ret = v;
	*ret_n = n;
}

/* outcome counts: the test is only meaningful if every kind occurs */
static size_t n_denied, n_allowed_isolated, n_audit;

typedef char *(*gen_fn)(uint64_t seed, const struct gen_opts *o, size_t *ret_len);

static int check_seed(gen_fn gen, uint64_t seed, const struct gen_opts *o, size_t *ret_checked)
{
	struct pw_diags d;
	struct pw_model *m = NULL;
	struct pw_image *img = NULL;
	struct pw_eval_backend be;
	union pw_addr *addrs;
	size_t len, n, i, j, k, bad = 0;
	char *y = gen(seed, o, &len);
	int r;

	pw_diags_init(&d);
	r = pw_model_load_buffer("gen.yaml", y, len, NULL, &m, &d);
	if (r) {
		pw_diags_print(&d, stderr, false);
		fail_msg("seed %llu: generated input rejected", (unsigned long long)seed);
	}
	r = pw_compile(m, NULL, &img, &d);
	if (r) {
		pw_diags_print(&d, stderr, false);
		fail_msg("seed %llu: compile failed %d", (unsigned long long)seed, r);
	}
	assert_int_equal(pw_eval_image_open(img, &be), 0);
	collect_addrs(m, &addrs, &n);
	for (i = 0; i < n; i++)
		for (j = 0; j < n; j++) {
			if (i == j)
				continue;
			for (k = 0; k < sizeof(probes) / sizeof(probes[0]); k++) {
				struct pw_flow_result res;
				struct ref_side re, ri;
				bool eg, in;

				pw_eval_flow(&be, &addrs[i], &addrs[j], probes[k].proto,
					     probes[k].port, &res);
				ref_decide(m, &addrs[i], &addrs[j], probes[k].proto, probes[k].port,
					   &re, &ri);
				eg = res.egress.verdict == PW_VERDICT_ALLOW;
				in = res.ingress.verdict == PW_VERDICT_ALLOW;
				(*ret_checked)++;
				n_denied += !re.allowed || !ri.allowed;
				n_allowed_isolated +=
					(re.isolated && re.allowed) || (ri.isolated && ri.allowed);
				n_audit += re.audit || ri.audit;
				if (eg == re.allowed && in == ri.allowed &&
				    (res.egress.verdict == PW_VERDICT_AUDIT) == re.audit &&
				    (res.ingress.verdict == PW_VERDICT_AUDIT) == ri.audit)
					continue;
				if (bad++ < 5) {
					char a[64], b[64];

					fprintf(stderr,
						"seed %llu: %s -> %s %s/%u: eval egress %d ingress "
						"%d, "
						"reference egress %d(audit %d) ingress %d(audit "
						"%d)\n",
						(unsigned long long)seed,
						pw_addr_str(&addrs[i], a, sizeof(a)),
						pw_addr_str(&addrs[j], b, sizeof(b)),
						pw_proto_name(probes[k].proto), probes[k].port,
						res.egress.verdict, res.ingress.verdict, re.allowed,
						re.audit, ri.allowed, ri.audit);
				}
			}
		}
	if (bad && getenv("PW_DUMP"))
		fwrite(y, 1, len, stderr);
	free(addrs);
	pw_eval_image_close(&be);
	pw_image_free(img);
	pw_model_free(m);
	pw_diags_free(&d);
	free(y);
	return bad ? -1 : 0;
}

static void test_differential(void **state)
{
	struct gen_opts o = {
		.n_ns = 3, .n_pods = 10, .n_policies = 5, .max_rules = 3, .v6 = 1, .odd_pods = 1
	};
	size_t checked = 0, failed = 0;
	uint64_t seed, first = 1;
	const char *env = getenv("PW_SEED");

	(void)state;
	if (env)
		first = strtoull(env, NULL, 0);
	for (seed = first; seed < first + (env ? 1 : DIFF_SEEDS); seed++) {
		o.n_pods = 4 + (unsigned)(seed % 12);
		o.n_policies = 1 + (unsigned)(seed % 7);
		if (check_seed(gen_yaml, seed, &o, &checked))
			failed++;
	}
	print_message("differential: %zu decisions over %d seeds, %zu seeds differ "
		      "(%zu denied, %zu allowed by a rule, %zu audited)\n",
		      checked, env ? 1 : DIFF_SEEDS, failed, n_denied, n_allowed_isolated, n_audit);
	if (!env) {
		assert_true(n_denied > checked / 20);
		assert_true(n_allowed_isolated > checked / 20);
		assert_true(n_audit > 0);
	}
	assert_int_equal(failed, 0);
	assert_true(checked > 100000);
}

/* The deployment-like shape too (replicas sharing identities and sets). */
static void test_differential_cluster(void **state)
{
	struct gen_opts o = { .n_ns = 3, .n_pods = 40, .n_policies = 8, .max_rules = 2, .v6 = 1 };
	size_t checked = 0, failed = 0;
	uint64_t seed;

	(void)state;
	for (seed = 1; seed <= 30; seed++)
		if (check_seed(gen_yaml_cluster, seed, &o, &checked))
			failed++;
	print_message("differential (cluster): %zu decisions, %zu seeds differ\n", checked, failed);
	assert_int_equal(failed, 0);
}

/* The evaluator must see exactly the image: a hand-built image. */
static void test_image_lookups(void **state)
{
	struct pw_image img = {};
	struct pw_img_ep eps[2] = {};
	struct pw_img_prefix pf[1] = {};
	struct pw_img_pol pol[1] = {};
	struct pw_img_range rg[1] = {};
	struct pw_eval_backend be;
	struct pw_flow_result res;
	union pw_addr a, b, w;
	struct pw_cidr cd;

	(void)state;
	pw_addr_parse("10.0.0.1", &a, NULL);
	pw_addr_parse("10.0.0.2", &b, NULL);
	pw_addr_parse("172.16.0.9", &w, NULL);
	pw_cidr_parse("172.16.0.0/12", &cd, NULL);
	eps[0].addr = a;
	eps[0].val.identity = 20;
	eps[1].addr = b;
	eps[1].val.identity = 21;
	eps[1].val.set_id[PW_DIR_INGRESS] = 1;
	eps[1].val.set_flags[PW_DIR_INGRESS] = PW_SET_PEER | PW_SET_RANGES;
	pf[0].addr = cd.addr;
	pf[0].plen = cd.plen;
	pf[0].val.identity = 22;
	pol[0].key = (struct pw_pol_key){
		.set_id = 1, .peer_id = 20, .dir = PW_DIR_INGRESS, .proto = PW_PROTO_TCP, .port = 80
	};
	pol[0].val.rule_id = 7;
	rg[0].key = (struct pw_pol_key){
		.set_id = 1, .peer_id = 22, .dir = PW_DIR_INGRESS, .proto = PW_PROTO_UDP
	};
	rg[0].val.n = 1;
	rg[0].val.r[0] = (struct pw_port_range){ .lo = 1000, .hi = 2000, .rule_id = 9 };
	img.eps = eps;
	img.n_eps = 2;
	img.prefixes = pf;
	img.n_prefixes = 1;
	img.pols = pol;
	img.n_pols = 1;
	img.ranges = rg;
	img.n_ranges = 1;
	assert_int_equal(pw_eval_image_open(&img, &be), 0);
	pw_eval_flow(&be, &a, &b, PW_PROTO_TCP, 80, &res);
	assert_int_equal(res.verdict, PW_VERDICT_ALLOW);
	assert_int_equal(res.ingress.rule_id, 7);
	assert_int_equal(res.ingress.reason, PW_ALLOW_POLICY);
	assert_int_equal(res.egress.reason, PW_ALLOW_NOT_ISOLATED);
	pw_eval_flow(&be, &a, &b, PW_PROTO_TCP, 81, &res);
	assert_int_equal(res.verdict, PW_VERDICT_DROP);
	assert_int_equal(res.ingress.reason, PW_DROP_POLICY);
	pw_eval_flow(&be, &w, &b, PW_PROTO_UDP, 1500, &res);
	assert_int_equal(res.src_id, 22);
	assert_int_equal(res.ingress.rule_id, 9);
	pw_eval_flow(&be, &w, &b, PW_PROTO_UDP, 2001, &res);
	assert_int_equal(res.verdict, PW_VERDICT_DROP);
	pw_addr_parse("8.8.8.8", &w, NULL);
	pw_eval_flow(&be, &w, &b, PW_PROTO_UDP, 1500, &res);
	assert_int_equal(res.src_id, PW_ID_WORLD);
	assert_int_equal(res.verdict, PW_VERDICT_DROP);
	pw_eval_image_close(&be);
}

/* decide.h's pw_ports_impossible(): only hints that prove every lookup of
 * step 3 misses make it true. */
static void test_ports_impossible(void **state)
{
	(void)state;
	const uint32_t sum = PW_SET_PORT_BLOOM | PW_SET_NO_PORT0_ALL | PW_SET_PEER |
			     pw_port_bloom_bit(PW_PROTO_TCP, 80);
	uint16_t other = 81;

	/* a port whose bit differs from 80's */
	while (pw_port_bloom_bit(PW_PROTO_TCP, other) == pw_port_bloom_bit(PW_PROTO_TCP, 80))
		other++;
	assert_false(pw_ports_impossible(sum, PW_PROTO_TCP, 80));
	assert_true(pw_ports_impossible(sum, PW_PROTO_TCP, other));
	/* no summary (an older writer), ranges, or an every-port entry: look */
	assert_false(pw_ports_impossible(sum & ~PW_SET_PORT_BLOOM, PW_PROTO_TCP, other));
	assert_false(pw_ports_impossible(sum | PW_SET_RANGES, PW_PROTO_TCP, other));
	assert_false(pw_ports_impossible(sum & ~PW_SET_NO_PORT0_TCP, PW_PROTO_TCP, other));
	/* the other classes have their own port-0 hint */
	assert_true(pw_ports_impossible(sum & ~PW_SET_NO_PORT0_TCP, PW_PROTO_UDP, other) ==
		    !(sum & pw_port_bloom_bit(PW_PROTO_UDP, other)));
	/* ICMP & co.: port 0 only, so the port-0 hint alone decides */
	assert_true(pw_ports_impossible(PW_SET_NO_PORT0_OTHER, PW_PROTO_OTHER, 0));
	assert_false(pw_ports_impossible(sum & ~PW_SET_NO_PORT0_OTHER, PW_PROTO_OTHER, 0));
	/* every bit lands in the summary's bits */
	for (uint32_t port = 1; port < 65536; port += 7) {
		uint32_t b = pw_port_bloom_bit(PW_PROTO_SCTP, (uint16_t)port);

		assert_true(b & PW_SET_BLOOM_MASK);
		assert_int_equal(b & (b - 1), 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_image_lookups),
		cmocka_unit_test(test_ports_impossible),
		cmocka_unit_test(test_differential),
		cmocka_unit_test(test_differential_cluster),
	};

	return cmocka_run_group_tests_name("eval", tests, NULL, NULL);
}
