// SPDX-License-Identifier: MIT
/*
 * Seeded random generator of policy directories as YAML text: namespaces,
 * pods (labels, IPv4/IPv6 addresses, named container ports that differ
 * between pods with the same labels) and NetworkPolicies covering every
 * feature (selectors with all operators, ipBlock/except over pod addresses,
 * named ports, endPort, protocols, defaulted policyTypes, audit).
 *
 * #include this file (the test Makefile rule compiles one source per test).
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct gen_opts {
	unsigned n_ns; /* 1..26 */
	unsigned n_pods;
	unsigned n_policies;
	unsigned max_rules; /* per direction */
	int v6; /* give some pods IPv6 addresses */
	int odd_pods; /* include hostNetwork / Succeeded / no-IP pods */
};

struct gen_buf {
	char *p;
	size_t len;
	size_t cap;
};

static void gb_printf(struct gen_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void gb_printf(struct gen_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0)
			abort();
		if (b->p && b->len + (size_t)n < b->cap) {
			b->len += (size_t)n;
			return;
		}
		b->cap = (b->cap + (size_t)n + 1) * 2;
		b->p = realloc(b->p, b->cap);
		if (!b->p)
			abort();
	}
}

/* xorshift64*: deterministic across platforms */
static uint64_t gen_rng;

static uint32_t rnd(uint32_t n)
{
	gen_rng ^= gen_rng >> 12;
	gen_rng ^= gen_rng << 25;
	gen_rng ^= gen_rng >> 27;
	return n ? (uint32_t)((gen_rng * 2685821657736338717ull) >> 33) % n : 0;
}

static const char *const gen_apps[] = { "a", "b", "c", "d" };
static const char *const gen_tiers[] = { "web", "db" };
static const char *const gen_teams[] = { "red", "blue", "green" };
static const char *const gen_pnames[] = { "http", "dns", "metrics" };
static const char *const gen_protos[] = { "TCP", "UDP", "SCTP" };

/* The ports probes use, so rules hit them often. */
static const unsigned gen_ports[] = { 80, 81, 53, 8080 };

static void gen_ns_name(char *out, unsigned i)
{
	sprintf(out, "ns%c", 'a' + (int)(i % 26));
}

static void gen_pod_addr(char *out, unsigned i, int v6)
{
	if (v6)
		sprintf(out, "fd00::%x", i + 1);
	else
		sprintf(out, "10.%u.%u.%u", (i >> 14) & 0xff, (i >> 7) & 0x7f, (i & 0x7f) + 1);
}

static void gen_selector(struct gen_buf *b, int ns_level)
{
	unsigned k = rnd(6);

	if (k == 0) {
		gb_printf(b, "{}");
		return;
	}
	if (ns_level) {
		switch (k) {
		case 1:
		case 2:
			gb_printf(b, "{matchLabels: {team: %s}}", gen_teams[rnd(3)]);
			return;
		case 3:
			gb_printf(
				b,
				"{matchExpressions: [{key: team, operator: %s, values: [%s, %s]}]}",
				rnd(2) ? "In" : "NotIn", gen_teams[rnd(3)], gen_teams[rnd(3)]);
			return;
		case 4:
			gb_printf(b, "{matchExpressions: [{key: team, operator: %s}]}",
				  rnd(2) ? "Exists" : "DoesNotExist");
			return;
		default:
			gb_printf(b, "{matchLabels: {kubernetes.io/metadata.name: nsa}}");
			return;
		}
	}
	switch (k) {
	case 1:
	case 2:
		gb_printf(b, "{matchLabels: {app: %s}}", gen_apps[rnd(4)]);
		return;
	case 3:
		gb_printf(b,
			  "{matchLabels: {app: %s}, matchExpressions: [{key: tier, operator: %s, "
			  "values: [%s]}]}",
			  gen_apps[rnd(4)], rnd(2) ? "In" : "NotIn", gen_tiers[rnd(2)]);
		return;
	case 4:
		gb_printf(b, "{matchExpressions: [{key: tier, operator: %s}]}",
			  rnd(2) ? "Exists" : "DoesNotExist");
		return;
	default:
		gb_printf(b, "{matchExpressions: [{key: app, operator: In, values: [%s, %s]}]}",
			  gen_apps[rnd(4)], gen_apps[rnd(4)]);
		return;
	}
}

static void gen_peer(struct gen_buf *b, const struct gen_opts *o)
{
	char a[64];

	switch (rnd(5)) {
	case 0:
		gb_printf(b, "{podSelector: ");
		gen_selector(b, 0);
		gb_printf(b, "}");
		break;
	case 1:
		gb_printf(b, "{namespaceSelector: ");
		gen_selector(b, 1);
		gb_printf(b, "}");
		break;
	case 2:
		gb_printf(b, "{namespaceSelector: ");
		gen_selector(b, 1);
		gb_printf(b, ", podSelector: ");
		gen_selector(b, 0);
		gb_printf(b, "}");
		break;
	default:
		/* ipBlocks around pod addresses so they match pods and outsiders */
		if (o->v6 && rnd(4) == 0) {
			gen_pod_addr(a, rnd(o->n_pods + 2), 1);
			if (rnd(2))
				gb_printf(b, "{ipBlock: {cidr: '%s/%u'}}", a, 124 + rnd(5));
			else
				gb_printf(b, "{ipBlock: {cidr: 'fd00::/64', except: ['%s/128']}}",
					  a);
			break;
		}
		gen_pod_addr(a, rnd(o->n_pods + 2), 0);
		switch (rnd(4)) {
		case 0:
			gb_printf(b, "{ipBlock: {cidr: %s/32}}", a);
			break;
		case 1:
			gb_printf(b, "{ipBlock: {cidr: %s/%u}}", a, 26 + rnd(6));
			break;
		case 2:
			gb_printf(b, "{ipBlock: {cidr: 10.0.0.0/8, except: [%s/32, %s/30]}}", a, a);
			break;
		default:
			gb_printf(b, "{ipBlock: {cidr: 0.0.0.0/0, except: [%s/%u]}}", a,
				  28 + rnd(5));
		}
	}
}

static void gen_port(struct gen_buf *b)
{
	const char *proto = rnd(3) ? NULL : gen_protos[rnd(3)];
	unsigned k = rnd(6), p = gen_ports[rnd(4)];

	gb_printf(b, "{");
	if (proto)
		gb_printf(b, "protocol: %s, ", proto);
	switch (k) {
	case 0:
	case 1:
		gb_printf(b, "port: %u", p);
		break;
	case 2:
		gb_printf(b, "port: %s", gen_pnames[rnd(3)]);
		break;
	case 3:
		gb_printf(b, "port: %u, endPort: %u", p, p + rnd(40));
		break;
	case 4:
		gb_printf(b, "port: %u, endPort: %u", 50 + rnd(20), 70 + rnd(20));
		break;
	default:
		if (!proto)
			gb_printf(b, "protocol: %s", gen_protos[rnd(3)]);
		else
			b->len -= 2; /* protocol only: every port of it */
	}
	gb_printf(b, "}");
}

/* After "  ingress:" / "  egress:" (no newline yet). */
static void gen_rules(struct gen_buf *b, const struct gen_opts *o, const char *peers)
{
	unsigned n = rnd(o->max_rules + 1), i, j, np;

	if (!n) {
		gb_printf(b, " []\n");
		return;
	}
	gb_printf(b, "\n");
	for (i = 0; i < n; i++) {
		gb_printf(b, "    - {");
		np = rnd(4);
		if (np || rnd(2)) {
			gb_printf(b, "%s: [", peers);
			for (j = 0; j < np; j++) {
				if (j)
					gb_printf(b, ", ");
				gen_peer(b, o);
			}
			gb_printf(b, "]");
		}
		np = rnd(4);
		if (np || rnd(2)) {
			if (b->p[b->len - 1] != '{')
				gb_printf(b, ", ");
			gb_printf(b, "ports: [");
			for (j = 0; j < np; j++) {
				if (j)
					gb_printf(b, ", ");
				gen_port(b);
			}
			gb_printf(b, "]");
		}
		gb_printf(b, "}\n");
	}
}

/*
 * One NetworkPolicy pol<i> in namespace ns.  The caller draws t (policyTypes
 * form), ing and egr before the namespace, so every generator built on this
 * keeps its random sequence.
 */
static void gen_policy(struct gen_buf *b, const struct gen_opts *o, unsigned i, const char *ns,
		       unsigned t, int ing, int egr)
{
	gb_printf(b,
		  "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
		  "metadata:\n  name: pol%u\n  namespace: %s\n",
		  i, ns);
	if (rnd(8) == 0)
		gb_printf(b, "  annotations: {podwall.io/audit: \"true\"}\n");
	gb_printf(b, "spec:\n  podSelector: ");
	gen_selector(b, 0);
	gb_printf(b, "\n");
	/* t == 0: no policyTypes (defaulting, incl. the egress-only trap) */
	if (t == 1)
		gb_printf(b, "  policyTypes: [Ingress]\n");
	else if (t == 2)
		gb_printf(b, "  policyTypes: [Egress]\n");
	else if (t >= 3)
		gb_printf(b, "  policyTypes: [Ingress, Egress]\n");
	if (ing) {
		gb_printf(b, "  ingress:");
		gen_rules(b, o, "from");
	}
	if (egr) {
		gb_printf(b, "  egress:");
		gen_rules(b, o, "to");
	}
}

/* Returns malloc'd YAML text (caller frees). */
static char *gen_yaml(uint64_t seed, const struct gen_opts *o, size_t *ret_len)
{
	struct gen_buf b = {};
	char ns[16], a[64];
	unsigned i, j;

	gen_rng = seed * 0x9e3779b97f4a7c15ull + 0x1234567;
	if (!gen_rng)
		gen_rng = 1;
	for (i = 0; i < o->n_ns; i++) {
		gen_ns_name(ns, i);
		gb_printf(&b, "---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: %s\n", ns);
		if (rnd(4))
			gb_printf(&b, "  labels: {team: %s}\n", gen_teams[rnd(3)]);
	}
	for (i = 0; i < o->n_pods; i++) {
		unsigned odd = o->odd_pods ? rnd(12) : 99;

		gen_ns_name(ns, rnd(o->n_ns));
		gb_printf(
			&b,
			"---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: p%u\n  namespace: %s\n",
			i, ns);
		gb_printf(&b, "  labels: {app: %s", gen_apps[rnd(4)]);
		if (rnd(2))
			gb_printf(&b, ", tier: %s", gen_tiers[rnd(2)]);
		gb_printf(&b, "}\nspec:\n");
		if (odd == 0)
			gb_printf(&b, "  hostNetwork: true\n");
		gb_printf(&b, "  containers:\n  - name: c\n    ports:\n");
		/* the same name maps to different numbers on different pods */
		for (j = 0; j < 3; j++)
			if (rnd(3))
				gb_printf(&b, "    - {name: %s, containerPort: %u, protocol: %s}\n",
					  gen_pnames[j], gen_ports[rnd(4)],
					  gen_protos[rnd(2) ? 0 : rnd(3)]);
		gb_printf(&b, "    - {containerPort: 9}\n");
		gb_printf(&b, "status:\n  phase: %s\n", odd == 1 ? "Succeeded" : "Running");
		if (odd == 2)
			continue;
		gen_pod_addr(a, i, 0);
		gb_printf(&b, "  podIP: %s\n  podIPs:\n  - ip: %s\n", a, a);
		if (o->v6 && rnd(2)) {
			gen_pod_addr(a, i, 1);
			gb_printf(&b, "  - ip: %s\n", a);
		}
	}
	for (i = 0; i < o->n_policies; i++) {
		unsigned t = rnd(5);
		int ing = rnd(4) != 0, egr = rnd(2);

		gen_ns_name(ns, rnd(o->n_ns));
		gb_printf(&b, "---\n");
		gen_policy(&b, o, i, ns, t, ing, egr);
	}
	*ret_len = b.len;
	return b.p;
}

/*
 * A deployment-like cluster: pods are replicas of apps (about 10 per app),
 * replicas share labels and container ports, policies select apps and let
 * other apps, namespaces or CIDRs in.  This is the shape of real clusters,
 * used by the compile benchmark; gen_yaml() is the adversarial shape (every
 * pod its own labels and port names) used by the differential test.
 */
static char *gen_yaml_cluster(uint64_t seed, const struct gen_opts *o, size_t *ret_len)
{
	struct gen_buf b = {};
	unsigned n_apps = o->n_pods / 10 < 4 ? 4 : o->n_pods / 10, i, j;
	char ns[16], a[64];

	gen_rng = seed * 0x9e3779b97f4a7c15ull + 0x7654321;
	if (!gen_rng)
		gen_rng = 1;
	for (i = 0; i < o->n_ns; i++) {
		gen_ns_name(ns, i);
		gb_printf(&b,
			  "---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: %s\n"
			  "  labels: {team: %s}\n",
			  ns, gen_teams[i % 3]);
	}
	for (i = 0; i < o->n_pods; i++) {
		unsigned app = rnd(n_apps);

		gen_ns_name(ns, app % o->n_ns);
		gb_printf(&b,
			  "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: app%u-%u\n"
			  "  namespace: %s\n  labels: {app: app%u, tier: %s}\n",
			  app, i, ns, app, gen_tiers[app % 2]);
		gb_printf(&b,
			  "spec:\n  containers:\n  - name: c\n    ports:\n"
			  "    - {name: http, containerPort: %u}\n"
			  "    - {name: metrics, containerPort: 9090}\n",
			  app % 2 ? 8080 : 80);
		if (app % 5 == 0)
			gb_printf(&b, "    - {name: dns, containerPort: 53, protocol: UDP}\n");
		gen_pod_addr(a, i, 0);
		gb_printf(&b, "status:\n  phase: Running\n  podIP: %s\n  podIPs:\n  - ip: %s\n", a,
			  a);
		if (o->v6 && app % 3 == 0) {
			gen_pod_addr(a, i, 1);
			gb_printf(&b, "  - ip: '%s'\n", a);
		}
	}
	for (i = 0; i < o->n_policies; i++) {
		unsigned nsi = rnd(o->n_ns), app = nsi + o->n_ns * rnd(n_apps / o->n_ns + 1);
		unsigned nr = 1 + rnd(o->max_rules ? o->max_rules : 1), k = rnd(10);

		if (app >= n_apps)
			app = nsi;
		gen_ns_name(ns, nsi);
		gb_printf(&b,
			  "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
			  "metadata:\n  name: pol%u\n  namespace: %s\nspec:\n",
			  i, ns);
		if (k < 7)
			gb_printf(&b, "  podSelector: {matchLabels: {app: app%u}}\n", app);
		else if (k < 9)
			gb_printf(&b, "  podSelector: {}\n");
		else
			gb_printf(&b, "  podSelector: {matchExpressions: [{key: tier, operator: "
				      "In, values: [db]}]}\n");
		gb_printf(&b, "  policyTypes: [Ingress%s]\n  ingress:\n", rnd(3) ? "" : ", Egress");
		for (j = 0; j < nr; j++) {
			unsigned peer = rnd(10), other = nsi + o->n_ns * rnd(n_apps / o->n_ns + 1);

			if (other >= n_apps)
				other = nsi;
			gb_printf(&b, "  - from: [");
			if (peer < 5)
				gb_printf(&b, "{podSelector: {matchLabels: {app: app%u}}}", other);
			else if (peer < 7)
				gb_printf(&b,
					  "{namespaceSelector: {matchLabels: {team: %s}}, "
					  "podSelector: {matchLabels: {tier: web}}}",
					  gen_teams[rnd(3)]);
			else if (peer < 9)
				gb_printf(&b,
					  "{namespaceSelector: {matchLabels: "
					  "{kubernetes.io/metadata.name: %s}}}",
					  ns);
			else {
				unsigned net = rnd(40);

				gb_printf(
					&b,
					"{ipBlock: {cidr: 10.0.%u.0/24, except: [10.0.%u.%u/30]}}",
					net, net, 4 * rnd(64));
			}
			gb_printf(&b, "]\n    ports: [%s]\n",
				  rnd(2)   ? "{port: http}"
				  : rnd(2) ? "{port: 8080}, {port: 9090}"
					   : "{protocol: UDP, port: 53}");
		}
		/* egress (ignored unless policyTypes has it): DNS plus one app */
		gb_printf(&b,
			  "  egress:\n  - ports: [{protocol: UDP, port: 53}, {protocol: TCP, port: "
			  "53}]\n"
			  "  - to: [{podSelector: {matchLabels: {app: app%u}}}]\n    ports: "
			  "[{port: http}]\n",
			  app);
	}
	*ret_len = b.len;
	return b.p;
}
