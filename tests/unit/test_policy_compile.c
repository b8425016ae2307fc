// SPDX-License-Identifier: MIT
/*
 * NetworkPolicy semantics, one test each (DESIGN.md "Semantics"), through
 * parse -> compile -> evaluate; plus the image's structure (sharing of
 * identities and sets, the partition, limits).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "pwtest.h"

#define TCP PW_PROTO_TCP
#define UDP PW_PROTO_UDP
#define SCTP PW_PROTO_SCTP

/* x, y, z with pods a, b, c (label pod=<name>), named ports serve-80-tcp,
 * serve-81-tcp, serve-80-udp, serve-80-sctp on 80/81; z/c on 10.0.3.3. */
#define POD(ns, n, ip, ip6)                                                      \
	"---\napiVersion: v1\nkind: Pod\nmetadata: {name: " n ", namespace: " ns \
	", labels: {pod: " n "}}\n"                                              \
	"spec:\n  containers:\n  - name: c\n    ports:\n"                        \
	"    - {name: serve-80-tcp, containerPort: 80}\n"                        \
	"    - {name: serve-81-tcp, containerPort: 81, protocol: TCP}\n"         \
	"    - {name: serve-80-udp, containerPort: 80, protocol: UDP}\n"         \
	"    - {name: serve-80-sctp, containerPort: 80, protocol: SCTP}\n"       \
	"status: {phase: Running, podIPs: [{ip: " ip "}, {ip: '" ip6 "'}]}\n"

#define TOPO                                                                                  \
	"apiVersion: v1\nkind: Namespace\nmetadata: {name: x, labels: {ns: x}}\n"             \
	"---\napiVersion: v1\nkind: Namespace\nmetadata: {name: y, labels: {ns: y}}\n"        \
	"---\napiVersion: v1\nkind: Namespace\nmetadata: {name: z, labels: {ns: z}}\n" POD(   \
		"x", "a", "10.0.1.1", "fd00::101") POD("x", "b", "10.0.1.2", "fd00::102")     \
		POD("x", "c", "10.0.1.3", "fd00::103") POD("y", "a", "10.0.2.1", "fd00::201") \
			POD("y", "b", "10.0.2.2", "fd00::202")                                \
				POD("y", "c", "10.0.2.3", "fd00::203")                        \
					POD("z", "a", "10.0.3.1", "fd00::301")                \
						POD("z", "b", "10.0.3.2", "fd00::302")        \
							POD("z", "c", "10.0.3.3", "fd00::303")

#define NP(ns, name)                                                                         \
	"---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: " name \
	", namespace: " ns "}\nspec:\n"

static struct pwt T;

static void load(const char *yaml)
{
	if (pwt_load(&T, yaml, NULL))
		fail_msg("input rejected");
}

static void done(void)
{
	pwt_free(&T);
}

static const char *const all_pods[] = { "x/a", "x/b", "x/c", "y/a", "y/b",
					"y/c", "z/a", "z/b", "z/c" };

#define ok(s, d, p, pr) pwt_ok(&T, s, d, p, pr)

static void test_no_policy_allows_all(void **state)
{
	size_t i, j;

	(void)state;
	load(TOPO);
	for (i = 0; i < 9; i++)
		for (j = 0; j < 9; j++)
			if (i != j)
				assert_true(ok(all_pods[i], all_pods[j], 80, TCP));
	assert_int_equal(T.img->n_sets, 0);
	done();
}

static void test_policytypes_default_ingress(void **state)
{
	(void)state;
	/* no policyTypes, no egress: ingress only */
	load(TOPO NP("x", "p") "  podSelector: {}\n");
	assert_false(ok("y/a", "x/a", 80, TCP));
	assert_true(ok("x/a", "y/a", 80, TCP));
	assert_true(T.img->policies[0].isolates[PW_DIR_INGRESS]);
	assert_false(T.img->policies[0].isolates[PW_DIR_EGRESS]);
	done();
}

static void test_policytypes_egress_only_trap(void **state)
{
	(void)state;
	/* egress rules without policyTypes: [Ingress, Egress] with no ingress
	 * rule, so all ingress is denied */
	load(TOPO NP("x", "p") "  podSelector: {matchLabels: {pod: a}}\n  egress: [{}]\n");
	assert_false(ok("y/a", "x/a", 80, TCP));
	assert_false(ok("x/b", "x/a", 80, TCP));
	assert_true(ok("x/a", "y/a", 80, TCP));
	done();
	/* explicit [Egress]: ingress untouched */
	load(TOPO NP("x", "p") "  podSelector: {matchLabels: {pod: a}}\n  policyTypes: [Egress]\n  "
			       "egress: []\n");
	assert_true(ok("y/a", "x/a", 80, TCP));
	assert_false(ok("x/a", "y/a", 80, TCP));
	done();
}

static void test_union_of_policies(void **state)
{
	(void)state;
	load(TOPO NP("x", "p1") "  podSelector: {matchLabels: {pod: a}}\n  ingress: [{ports: "
				"[{port: 81}], from: [{namespaceSelector: {matchLabels: {ns: "
				"y}}}]}]\n" NP(
					"x", "p2") "  podSelector: {matchLabels: {pod: a}}\n  "
						   "ingress: [{ports: [{port: 80}], from: "
						   "[{namespaceSelector: {matchLabels: {ns: "
						   "y}}}]}]\n" NP(
							   "x", "deny") "  podSelector: {}\n  "
									"policyTypes: [Ingress]\n");
	assert_true(ok("y/a", "x/a", 80, TCP));
	assert_true(ok("y/b", "x/a", 81, TCP));
	assert_false(ok("y/b", "x/a", 82, TCP));
	assert_false(ok("z/a", "x/a", 80, TCP));
	assert_false(ok("y/a", "x/b", 80, TCP));
	done();
}

static void test_both_ends_must_allow(void **state)
{
	struct pw_flow_result r;

	(void)state;
	load(TOPO NP("x", "eg") "  podSelector: {matchLabels: {pod: a}}\n  policyTypes: [Egress]\n "
				" egress: [{ports: [{port: 80}]}]\n" NP(
					"y", "in") "  podSelector: {matchLabels: {pod: b}}\n  "
						   "ingress: [{ports: [{port: 81}]}]\n");
	/* egress allows 80, ingress at y/b allows only 81 */
	r = pwt_flow(&T, "x/a", "y/b", 80, TCP);
	assert_int_equal(r.egress.verdict, PW_VERDICT_ALLOW);
	assert_int_equal(r.ingress.verdict, PW_VERDICT_DROP);
	assert_int_equal(r.verdict, PW_VERDICT_DROP);
	/* ingress allows 81, egress denies it */
	r = pwt_flow(&T, "x/a", "y/b", 81, TCP);
	assert_int_equal(r.egress.verdict, PW_VERDICT_DROP);
	assert_int_equal(r.ingress.verdict, PW_VERDICT_ALLOW);
	assert_int_equal(r.verdict, PW_VERDICT_DROP);
	assert_true(ok("x/a", "y/a", 80, TCP));
	done();
}

static void test_empty_vs_missing(void **state)
{
	(void)state;
	/* ingress: [] denies all; [{}] allows all, outsiders too */
	load(TOPO NP("x", "p") "  podSelector: {}\n  ingress: []\n");
	assert_false(ok("y/a", "x/a", 80, TCP));
	assert_false(ok("192.168.0.1", "x/a", 80, TCP));
	done();
	load(TOPO NP("x", "p") "  podSelector: {}\n  ingress: [{}]\n");
	assert_true(ok("y/a", "x/a", 80, TCP));
	assert_true(ok("192.168.0.1", "x/a", 80, TCP));
	done();
	/* podSelector {} peer: every pod of the policy's namespace only */
	load(TOPO NP("x", "p") "  podSelector: {}\n  ingress: [{from: [{podSelector: {}}]}]\n");
	assert_true(ok("x/b", "x/a", 80, TCP));
	assert_false(ok("y/a", "x/a", 80, TCP));
	assert_false(ok("192.168.0.1", "x/a", 80, TCP));
	done();
	/* namespaceSelector {}: every pod, but not outside addresses */
	load(TOPO NP("x",
		     "p") "  podSelector: {}\n  ingress: [{from: [{namespaceSelector: {}}]}]\n");
	assert_true(ok("x/b", "x/a", 80, TCP));
	assert_true(ok("z/c", "x/a", 80, TCP));
	assert_false(ok("192.168.0.1", "x/a", 80, TCP));
	done();
	/* ports: [] in a rule is every port */
	load(TOPO NP(
		"x",
		"p") "  podSelector: {}\n  ingress: [{ports: [], from: [{podSelector: {}}]}]\n");
	assert_true(ok("x/b", "x/a", 9999, UDP));
	done();
}

static void test_ns_and_pod_one_peer_vs_two(void **state)
{
	(void)state;
	/* #10: one peer = AND */
	load(TOPO NP("x",
		     "p") "  podSelector: {matchLabels: {pod: a}}\n  ingress:\n  - from:\n    - "
			  "namespaceSelector: {matchExpressions: [{key: ns, operator: NotIn, "
			  "values: [x]}]}\n      podSelector: {matchLabels: {pod: b}}\n");
	assert_true(ok("y/b", "x/a", 80, TCP));
	assert_true(ok("z/b", "x/a", 80, TCP));
	assert_false(ok("x/b", "x/a", 80, TCP));
	assert_false(ok("y/a", "x/a", 80, TCP));
	done();
	/* #9: two peers = OR */
	load(TOPO NP("x",
		     "p") "  podSelector: {matchLabels: {pod: a}}\n  ingress:\n  - from:\n    - "
			  "namespaceSelector: {matchExpressions: [{key: ns, operator: NotIn, "
			  "values: [x]}]}\n    - podSelector: {matchLabels: {pod: b}}\n");
	assert_true(ok("y/b", "x/a", 80, TCP));
	assert_true(ok("x/b", "x/a", 80, TCP));
	assert_true(ok("y/a", "x/a", 80, TCP));
	assert_false(ok("x/c", "x/a", 80, TCP));
	done();
}

static void test_selector_operators(void **state)
{
	(void)state;
	load(TOPO NP("x", "p") "  podSelector: {matchLabels: {pod: a}}\n  ingress:\n  - from:\n"
			       "    - {podSelector: {matchExpressions: [{key: pod, operator: In, "
			       "values: [b]}]}}\n"
			       "    - {namespaceSelector: {matchExpressions: [{key: ns, operator: "
			       "DoesNotExist}]}}\n"
			       "    - {namespaceSelector: {matchExpressions: [{key: "
			       "kubernetes.io/metadata.name, operator: In, values: [z]}]}, "
			       "podSelector: {matchExpressions: [{key: pod, operator: Exists}, "
			       "{key: pod, operator: NotIn, values: [a]}]}}\n");
	assert_true(ok("x/b", "x/a", 80, TCP));
	assert_false(ok("x/c", "x/a", 80, TCP));
	assert_false(ok("y/b", "x/a", 80, TCP));
	assert_true(ok("z/b", "x/a", 80, TCP));
	assert_true(ok("z/c", "x/a", 80, TCP));
	assert_false(ok("z/a", "x/a", 80, TCP));
	done();
}

static void test_ipblock_matches_pods(void **state)
{
	(void)state;
	/* #34: egress to y/b's address only */
	load(TOPO NP("x", "p") "  podSelector: {matchLabels: {pod: a}}\n  policyTypes: [Egress]\n  "
			       "egress: [{to: [{ipBlock: {cidr: 10.0.2.2/32}}]}]\n");
	assert_true(ok("x/a", "y/b", 80, TCP));
	assert_false(ok("x/a", "y/a", 80, TCP));
	assert_false(ok("x/a", "8.8.8.8", 53, UDP));
	done();
}

static void test_ipblock_except(void **state)
{
	(void)state;
	/* #35: /4 except x/b */
	load(TOPO NP(
		"x",
		"p") "  podSelector: {matchLabels: {pod: a}}\n  policyTypes: [Egress]\n  egress: "
		     "[{to: [{ipBlock: {cidr: 10.0.1.2/4, except: [10.0.1.2/32]}}]}]\n");
	assert_false(ok("x/a", "x/b", 80, TCP));
	assert_true(ok("x/a", "x/c", 80, TCP));
	assert_true(ok("x/a", "11.1.1.1", 80, TCP));
	assert_false(ok("x/a", "192.168.0.1", 80, TCP));
	done();
	/* an excepted address allowed by another peer is allowed (union) */
	load(TOPO NP("x", "p") "  podSelector: {matchLabels: {pod: a}}\n  policyTypes: [Egress]\n  "
			       "egress: [{to: [{ipBlock: {cidr: 10.0.0.0/8, except: "
			       "[10.0.1.0/24]}}, {ipBlock: {cidr: 10.0.1.2/32}}]}]\n");
	assert_true(ok("x/a", "x/b", 80, TCP));
	assert_false(ok("x/a", "x/c", 80, TCP));
	assert_true(ok("x/a", "y/c", 80, TCP));
	done();
}

static void test_named_ports(void **state)
{
	(void)state;
	/* #17 ingress on a named port, resolved on the selected pod */
	load(TOPO NP("x", "p") "  podSelector: {}\n  ingress: [{ports: [{port: serve-81-tcp}]}]\n");
	assert_true(ok("y/a", "x/a", 81, TCP));
	assert_false(ok("y/a", "x/a", 80, TCP));
	done();
	/* #19 egress on a named port, resolved on the destination */
	load(TOPO NP("x", "p") "  podSelector: {}\n  policyTypes: [Egress]\n  egress: [{ports: "
			       "[{port: serve-80-tcp}]}]\n");
	assert_true(ok("x/a", "y/a", 80, TCP));
	assert_false(ok("x/a", "y/a", 81, TCP));
	assert_false(ok("x/a", "8.8.8.8", 80, TCP)); /* not a pod: a name never matches */
	done();
	/* the name with the wrong protocol allows nothing, yet isolates */
	load(TOPO NP("x", "p") "  podSelector: {}\n  ingress: [{ports: [{port: serve-80-udp}]}]\n");
	assert_false(ok("y/a", "x/a", 80, TCP));
	assert_false(ok("y/a", "x/a", 81, TCP));
	done();
}

/* Two pods with equal labels map `http` to different numbers: sharing of
 * policy sets (ingress) and identities (egress) must key on it. */
static void test_named_port_same_labels_differ(void **state)
{
	static const char *pods =
		"apiVersion: v1\nkind: Pod\nmetadata: {name: s1, namespace: x, labels: {app: "
		"srv}}\n"
		"spec: {containers: [{name: c, ports: [{name: http, containerPort: 8080}]}]}\n"
		"status: {phase: Running, podIP: 10.0.0.1}\n"
		"---\napiVersion: v1\nkind: Pod\nmetadata: {name: s2, namespace: x, labels: {app: "
		"srv}}\n"
		"spec: {containers: [{name: c, ports: [{name: http, containerPort: 9090}]}]}\n"
		"status: {phase: Running, podIP: 10.0.0.2}\n"
		"---\napiVersion: v1\nkind: Pod\nmetadata: {name: s3, namespace: x, labels: {app: "
		"srv}}\n"
		"spec: {containers: [{name: c, ports: [{name: http, containerPort: 8080}]}]}\n"
		"status: {phase: Running, podIP: 10.0.0.3}\n"
		"---\napiVersion: v1\nkind: Pod\nmetadata: {name: cl, namespace: x, labels: {app: "
		"cl}}\n"
		"status: {phase: Running, podIP: 10.0.0.9}\n";
	char yaml[4096];

	(void)state;
	snprintf(yaml, sizeof(yaml), "%s%s", pods,
		 NP("x",
		    "in") "  podSelector: {matchLabels: {app: srv}}\n  ingress: [{ports: [{port: "
			  "http}]}]\n" NP("x", "out") "  podSelector: {matchLabels: {app: cl}}\n  "
						      "policyTypes: [Egress]\n  egress: [{to: "
						      "[{podSelector: {matchLabels: {app: srv}}}], "
						      "ports: [{port: http}]}]\n");
	load(yaml);
	assert_true(ok("x/cl", "x/s1", 8080, TCP));
	assert_false(ok("x/cl", "x/s1", 9090, TCP));
	assert_true(ok("x/cl", "x/s2", 9090, TCP));
	assert_false(ok("x/cl", "x/s2", 8080, TCP));
	assert_true(ok("x/cl", "x/s3", 8080, TCP));
	/* s1 and s3 resolve alike and share; s2 does not */
	{
		long s1 = pw_image_pod_by_name(T.img, "x", "s1"),
		     s2 = pw_image_pod_by_name(T.img, "x", "s2"),
		     s3 = pw_image_pod_by_name(T.img, "x", "s3");

		assert_int_equal(T.img->pods[s1].set_id[0], T.img->pods[s3].set_id[0]);
		assert_int_not_equal(T.img->pods[s1].set_id[0], T.img->pods[s2].set_id[0]);
		assert_int_equal(T.img->pods[s1].identity, T.img->pods[s3].identity);
		assert_int_not_equal(T.img->pods[s1].identity, T.img->pods[s2].identity);
	}
	done();
}

static void test_endport(void **state)
{
	(void)state;
	load(TOPO NP("x", "p") "  podSelector: {}\n  ingress: [{ports: [{port: 53, endPort: 80}, "
			       "{protocol: UDP, port: 1000, endPort: 2000}]}]\n");
	assert_true(ok("y/a", "x/a", 53, TCP));
	assert_true(ok("y/a", "x/a", 70, TCP));
	assert_true(ok("y/a", "x/a", 80, TCP));
	assert_false(ok("y/a", "x/a", 81, TCP));
	assert_false(ok("y/a", "x/a", 52, TCP));
	assert_false(ok("y/a", "x/a", 70, UDP));
	assert_true(ok("y/a", "x/a", 1500, UDP));
	assert_false(ok("y/a", "x/a", 1500, TCP));
	assert_true(T.img->n_ranges > 0);
	assert_true(T.img->n_pols + T.img->n_ranges < 10); /* never one entry per port */
	done();
}

static void test_tcp_default_and_proto_only(void **state)
{
	(void)state;
	load(TOPO NP(
		"x",
		"p") "  podSelector: {}\n  ingress: [{ports: [{port: 80}, {protocol: UDP}]}]\n");
	assert_true(ok("y/a", "x/a", 80, TCP));
	assert_false(ok("y/a", "x/a", 80, SCTP));
	assert_true(ok("y/a", "x/a", 80, UDP));
	assert_true(ok("y/a", "x/a", 5353, UDP));
	assert_false(ok("y/a", "x/a", 81, TCP));
	done();
}

static void test_sctp_udp_isolate_tcp(void **state)
{
	(void)state;
	/* #38 */
	load(TOPO NP("x", "deny") "  podSelector: {}\n  policyTypes: [Ingress]\n" NP(
		"x", "sctp") "  podSelector: {matchLabels: {pod: a}}\n  ingress: [{ports: "
			     "[{protocol: SCTP, port: 81}]}]\n");
	assert_false(ok("y/a", "x/a", 81, TCP));
	assert_true(ok("y/a", "x/a", 81, SCTP));
	done();
	/* #39 */
	load(TOPO NP("x", "sctp") "  podSelector: {matchLabels: {pod: a}}\n  ingress: [{ports: "
				  "[{protocol: SCTP, port: 80}]}]\n");
	assert_false(ok("y/a", "x/a", 81, TCP));
	assert_false(ok("y/a", "x/a", 80, TCP));
	done();
	/* #40 */
	load(TOPO NP("x", "udp") "  podSelector: {matchLabels: {pod: a}}\n  ingress: [{ports: "
				 "[{protocol: UDP, port: 81}]}]\n");
	assert_false(ok("y/a", "x/a", 81, TCP));
	assert_true(ok("y/a", "x/a", 81, UDP));
	done();
}

/* The set's NO_PORT0 hints: set for a protocol without a port-0 entry,
 * cleared by a rule that admits every port of it, and never wrong. */
static void test_no_port0_hints(void **state)
{
	(void)state;
	uint32_t f;

	load(TOPO NP("x", "p") "  podSelector: {matchLabels: {pod: a}}\n  ingress: [{ports: "
			       "[{port: 80}, {protocol: UDP}]}]\n");
	assert_int_equal(T.img->n_sets, 1);
	f = T.img->sets[0].flags;
	assert_true(f & PW_SET_NO_PORT0_TCP);
	assert_false(f & PW_SET_NO_PORT0_UDP);
	assert_true(f & PW_SET_NO_PORT0_SCTP);
	assert_true(f & PW_SET_NO_PORT0_OTHER);
	assert_true(ok("y/a", "x/a", 80, TCP));
	assert_false(ok("y/a", "x/a", 81, TCP));
	assert_true(ok("y/a", "x/a", 5353, UDP));
	assert_false(ok("y/a", "x/a", 0, PW_PROTO_ICMP));
	for (size_t i = 0; i < T.img->n_eps; i++)
		if (T.img->eps[i].val.set_id[PW_DIR_INGRESS])
			assert_int_equal(T.img->eps[i].val.set_flags[PW_DIR_INGRESS], f);
	/* The port summary holds every exact port, and only those bits. */
	assert_true(f & PW_SET_PORT_BLOOM);
	assert_int_equal(f & PW_SET_BLOOM_MASK, pw_port_bloom_bit(TCP, 80));
	done();
	/* Several ports and peers: each exact-port entry has its bit. */
	load(TOPO NP("x", "p") "  podSelector: {matchLabels: {pod: a}}\n  ingress:\n"
			       "  - from: [{podSelector: {matchLabels: {pod: b}}}]\n"
			       "    ports: [{port: 443}, {port: 53, protocol: UDP}]\n"
			       "  - ports: [{port: 9000, protocol: SCTP}]\n");
	assert_int_equal(T.img->n_sets, 1);
	f = T.img->sets[0].flags;
	assert_true(f & PW_SET_PORT_BLOOM);
	for (size_t i = 0; i < T.img->n_pols; i++)
		if (T.img->pols[i].key.port)
			assert_true(f & pw_port_bloom_bit(T.img->pols[i].key.proto,
							  T.img->pols[i].key.port));
	assert_int_equal(f & PW_SET_BLOOM_MASK, pw_port_bloom_bit(TCP, 443) |
							pw_port_bloom_bit(UDP, 53) |
							pw_port_bloom_bit(SCTP, 9000));
	assert_true(ok("x/b", "x/a", 443, TCP));
	assert_false(ok("x/b", "x/a", 444, TCP));
	assert_true(ok("y/a", "x/a", 9000, SCTP));
	done();
	/* A rule without ports: every protocol class has port-0 entries. */
	load(TOPO NP("x", "p") "  podSelector: {matchLabels: {pod: a}}\n  ingress: [{from: "
			       "[{podSelector: {matchLabels: {pod: b}}}]}]\n");
	assert_int_equal(T.img->n_sets, 1);
	assert_int_equal(T.img->sets[0].flags & PW_SET_NO_PORT0_ALL, 0);
	assert_true(ok("x/b", "x/a", 0, PW_PROTO_ICMP));
	assert_true(ok("x/b", "x/a", 9, SCTP));
	assert_false(ok("y/b", "x/a", 9, SCTP));
	done();
}

static void test_other_protocols(void **state)
{
	(void)state;
	load(TOPO NP("x",
		     "p") "  podSelector: {matchLabels: {pod: a}}\n  ingress: [{ports: [{port: "
			  "80}]}, {from: [{podSelector: {matchLabels: {pod: b}}}]}]\n");
	assert_false(ok("y/a", "x/a", 0, PW_PROTO_ICMP));
	assert_true(ok("x/b", "x/a", 0, PW_PROTO_ICMP));
	done();
}

static void test_ipv6(void **state)
{
	(void)state;
	load(TOPO NP("x", "p") "  podSelector: {matchLabels: {pod: a}}\n  ingress: [{from: "
			       "[{podSelector: {matchLabels: {pod: b}}}, {ipBlock: {cidr: "
			       "'fd00::300/120', except: ['fd00::303/128']}}]}]\n");
	assert_true(ok("fd00::102", "fd00::101", 80, TCP)); /* x/b by its v6 address */
	assert_false(ok("fd00::201", "fd00::101", 80, TCP));
	assert_true(ok("fd00::301", "fd00::101", 80, TCP));
	assert_false(ok("fd00::303", "fd00::101", 80, TCP));
	assert_false(ok("10.0.3.1", "10.0.1.1", 80, TCP)); /* z/a's v4 is not in the v6 block */
	assert_true(ok("10.0.1.2", "10.0.1.1", 80, TCP));
	done();
}

/* The node is always allowed: the daemon adds its addresses as PW_EP_HOST
 * endpoints with identity PW_ID_HOST; the decision must let them through. */
static void test_node_always_allowed(void **state)
{
	struct pw_img_ep *eps;
	struct pw_flow_result r;
	union pw_addr node;

	(void)state;
	load(TOPO NP("x", "p") "  podSelector: {}\n  policyTypes: [Ingress, Egress]\n");
	pw_eval_image_close(&T.be);
	eps = realloc(T.img->eps, (T.img->n_eps + 1) * sizeof(*eps));
	assert_non_null(eps);
	T.img->eps = eps;
	pw_addr_parse("192.168.50.1", &node, NULL);
	memset(&eps[T.img->n_eps], 0, sizeof(*eps));
	eps[T.img->n_eps].addr = node;
	eps[T.img->n_eps].val.identity = PW_ID_HOST;
	eps[T.img->n_eps].val.flags = PW_EP_HOST;
	T.img->n_eps++;
	assert_int_equal(pw_eval_image_open(T.img, &T.be), 0);
	r = pwt_flow(&T, "192.168.50.1", "x/a", 80, TCP);
	assert_int_equal(r.verdict, PW_VERDICT_ALLOW);
	assert_int_equal(r.ingress.reason, PW_ALLOW_HOST);
	r = pwt_flow(&T, "x/a", "192.168.50.1", 10250, TCP);
	assert_int_equal(r.verdict, PW_VERDICT_ALLOW);
	assert_int_equal(r.egress.reason, PW_ALLOW_HOST);
	assert_false(ok("y/a", "x/a", 80, TCP));
	done();
}

static void test_not_endpoints(void **state)
{
	static const char *yaml =
		"apiVersion: v1\nkind: Pod\nmetadata: {name: hn, namespace: x}\nspec: "
		"{hostNetwork: true}\nstatus: {phase: Running, podIP: 192.168.1.5}\n"
		"---\napiVersion: v1\nkind: Pod\nmetadata: {name: done, namespace: x}\nstatus: "
		"{phase: Succeeded, podIP: 10.0.0.7}\n"
		"---\napiVersion: v1\nkind: Pod\nmetadata: {name: new, namespace: x}\nstatus: "
		"{phase: Pending}\n"
		"---\napiVersion: v1\nkind: Pod\nmetadata: {name: ok, namespace: x}\nstatus: "
		"{phase: Pending, podIP: 10.0.0.8}\n";

	(void)state;
	load(yaml);
	assert_int_equal(T.img->n_pods, 4);
	assert_int_equal(T.img->n_eps, 1);
	assert_string_equal(T.img->pods[pw_image_pod_by_name(T.img, "x", "hn")].skip_reason,
			    "hostNetwork");
	assert_string_equal(T.img->pods[pw_image_pod_by_name(T.img, "x", "done")].skip_reason,
			    "phase Succeeded");
	assert_string_equal(T.img->pods[pw_image_pod_by_name(T.img, "x", "new")].skip_reason,
			    "no IP");
	assert_null(T.img->pods[pw_image_pod_by_name(T.img, "x", "ok")].skip_reason);
	done();
}

/* Two running pods claiming one address (pod churn): the first keeps it. */
static void test_duplicate_address(void **state)
{
	(void)state;
	load("apiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: x}\nstatus: {phase: "
	     "Running, podIP: 10.0.0.1}\n"
	     "---\napiVersion: v1\nkind: Pod\nmetadata: {name: b, namespace: x}\nstatus: {phase: "
	     "Running, podIPs: [{ip: 10.0.0.1}, {ip: 10.0.0.2}]}\n");
	assert_int_equal(T.img->n_eps, 2);
	assert_int_equal(T.diags.n_warnings, 1);
	assert_non_null(strstr(T.diags.v[0].msg, "already belongs to pod x/a"));
	assert_int_equal(pw_image_pod_by_addr(T.img, &T.m->pods[0]->addrs[0]), 0);
	assert_int_equal(T.img->pods[1].n_eps, 1);
	assert_int_equal(T.img->pods[1].identity, T.img->eps[1].val.identity);
	done();
}

static void test_audit(void **state)
{
	struct pw_flow_result r;

	(void)state;
	load(TOPO "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p, "
		  "namespace: x, annotations: {podwall.io/audit: 'true'}}\nspec:\n  podSelector: "
		  "{matchLabels: {pod: a}}\n");
	r = pwt_flow(&T, "y/a", "x/a", 80, TCP);
	assert_int_equal(r.verdict, PW_VERDICT_AUDIT);
	assert_int_equal(r.ingress.reason, PW_DROP_POLICY);
	done();
	/* one non-audit policy isolating the pod: enforced */
	load(TOPO "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p, "
		  "namespace: x, annotations: {podwall.io/audit: 'true'}}\nspec:\n  podSelector: "
		  "{matchLabels: {pod: a}}\n" NP("x", "q") "  podSelector: {}\n");
	r = pwt_flow(&T, "y/a", "x/a", 80, TCP);
	assert_int_equal(r.verdict, PW_VERDICT_DROP);
	/* global audit mode */
	T.be.state_flags = PW_STATE_AUDIT;
	r = pwt_flow(&T, "y/a", "x/a", 80, TCP);
	assert_int_equal(r.verdict, PW_VERDICT_AUDIT);
	done();
}

static void test_rule_attribution(void **state)
{
	struct pw_flow_result r;
	const struct pw_img_rule *rule;

	(void)state;
	load(TOPO NP("x", "p") "  podSelector: {}\n  ingress:\n  - ports: [{port: 80}]\n  - ports: "
			       "[{port: 81}]\n");
	r = pwt_flow(&T, "y/a", "x/a", 81, TCP);
	rule = pw_image_rule(T.img, r.ingress.rule_id);
	assert_non_null(rule);
	assert_string_equal(T.img->policies[rule->policy].name, "p");
	assert_int_equal(rule->index, 1);
	assert_int_equal(rule->dir, PW_DIR_INGRESS);
	done();
}

static void test_sharing(void **state)
{
	(void)state;
	load(TOPO NP("x", "p") "  podSelector: {}\n  ingress: [{from: [{namespaceSelector: "
			       "{matchLabels: {ns: y}}}]}]\n");
	/* x/a, x/b, x/c share one ingress set; y pods share an identity */
	assert_int_equal(T.img->n_sets, 1);
	assert_int_equal(T.img->pods[pw_image_pod_by_name(T.img, "y", "a")].identity,
			 T.img->pods[pw_image_pod_by_name(T.img, "y", "c")].identity);
	assert_int_not_equal(T.img->pods[pw_image_pod_by_name(T.img, "y", "a")].identity,
			     T.img->pods[pw_image_pod_by_name(T.img, "z", "a")].identity);
	done();
}

static void test_partition_disjoint(void **state)
{
	size_t i, j;

	(void)state;
	load(TOPO NP("x", "p") "  podSelector: {}\n  ingress: [{from: [{ipBlock: {cidr: "
			       "10.0.0.0/8, except: [10.1.0.0/16, 10.1.2.0/24]}}, {ipBlock: {cidr: "
			       "10.1.0.0/16}}, {ipBlock: {cidr: 0.0.0.0/0}}]}]\n");
	assert_true(T.img->n_prefixes > 0);
	for (i = 0; i < T.img->n_prefixes; i++)
		for (j = 0; j < T.img->n_prefixes; j++) {
			struct pw_cidr a = { .addr = T.img->prefixes[i].addr,
					     .plen = T.img->prefixes[i].plen };

			if (i != j)
				assert_false(pw_cidr_contains(&a, &T.img->prefixes[j].addr));
		}
	assert_true(ok("10.1.2.3", "x/a", 80, TCP));
	assert_true(ok("172.16.0.1", "x/a", 80, TCP));
	assert_false(ok("fd00::1:1", "x/a", 80, TCP));
	done();
}

static void test_service_cidr_defer(void **state)
{
	struct pw_compile_opts o = {};
	struct pw_cidr svc;
	size_t i, n = 0;

	(void)state;
	pw_cidr_parse("10.96.0.0/12", &svc, NULL);
	o.service_cidrs = &svc;
	o.n_service_cidrs = 1;
	assert_int_equal(pwt_load(&T, TOPO, &o), 0);
	for (i = 0; i < T.img->n_prefixes; i++)
		if (T.img->prefixes[i].val.flags & PW_PEER_DEFER) {
			n++;
			assert_int_equal(T.img->prefixes[i].plen, 96 + 12);
		}
	assert_int_equal(n, 1);
	done();
}

static void test_range_limit(void **state)
{
	char yaml[16384];
	size_t len;
	int i;

	(void)state;
	len = (size_t)snprintf(yaml, sizeof(yaml), "%s",
			       TOPO NP("x", "p") "  podSelector: {}\n  ingress: [{ports: [");
	for (i = 0; i < PW_MAX_RANGES + 1; i++)
		len += (size_t)snprintf(yaml + len, sizeof(yaml) - len, "%s{port: %d, endPort: %d}",
					i ? ", " : "", 1000 + i * 10, 1001 + i * 10);
	snprintf(yaml + len, sizeof(yaml) - len, "]}]\n");
	memset(&T, 0, sizeof(T));
	pw_diags_init(&T.diags);
	assert_int_equal(pw_model_load_buffer("t.yaml", yaml, strlen(yaml), NULL, &T.m, &T.diags),
			 0);
	assert_int_equal(pw_compile(T.m, NULL, &T.img, &T.diags), -E2BIG);
	assert_null(T.img);
	assert_true(T.diags.n_errors > 0);
	assert_non_null(strstr(T.diags.v[T.diags.n - 1].msg, "port ranges"));
	assert_string_equal(T.diags.v[T.diags.n - 1].object, "NetworkPolicy x/p");
	pw_model_free(T.m);
	pw_diags_free(&T.diags);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_policy_allows_all),
		cmocka_unit_test(test_policytypes_default_ingress),
		cmocka_unit_test(test_policytypes_egress_only_trap),
		cmocka_unit_test(test_union_of_policies),
		cmocka_unit_test(test_both_ends_must_allow),
		cmocka_unit_test(test_empty_vs_missing),
		cmocka_unit_test(test_ns_and_pod_one_peer_vs_two),
		cmocka_unit_test(test_selector_operators),
		cmocka_unit_test(test_ipblock_matches_pods),
		cmocka_unit_test(test_ipblock_except),
		cmocka_unit_test(test_named_ports),
		cmocka_unit_test(test_named_port_same_labels_differ),
		cmocka_unit_test(test_endport),
		cmocka_unit_test(test_tcp_default_and_proto_only),
		cmocka_unit_test(test_sctp_udp_isolate_tcp),
		cmocka_unit_test(test_no_port0_hints),
		cmocka_unit_test(test_other_protocols),
		cmocka_unit_test(test_ipv6),
		cmocka_unit_test(test_node_always_allowed),
		cmocka_unit_test(test_not_endpoints),
		cmocka_unit_test(test_duplicate_address),
		cmocka_unit_test(test_audit),
		cmocka_unit_test(test_rule_attribution),
		cmocka_unit_test(test_sharing),
		cmocka_unit_test(test_partition_disjoint),
		cmocka_unit_test(test_service_cidr_defer),
		cmocka_unit_test(test_range_limit),
	};

	return cmocka_run_group_tests_name("policy_compile", tests, NULL, NULL);
}
