// SPDX-License-Identifier: MIT
/*
 * conf_random: seeded random NetworkPolicy scenarios for the lab, checked
 * against the reference evaluator (tests/unit/refeval.c), which reads
 * Kubernetes semantics straight off the model and shares nothing with the
 * compiler or the datapath.
 *
 *   conf_random gen SEED DIR        write the scenario as one YAML file per object
 *   conf_random expect DIR          the reference verdict of every probe the lab makes
 *   conf_random check DIR PROBE.json
 *                                   compare `podwallctl -j lab probe` output (observed
 *                                   and predicted) with the reference; exit 1 on a
 *                                   difference
 *
 * The lab's pods are fixed when it comes up, so every seed has the same
 * pods (names, namespaces, dual-stack addresses, container ports: named ports
 * whose numbers differ between pods) and one lab serves all seeds: a seed
 * varies the namespace and pod labels and the policies (the generator of
 * tests/unit/gen.c: every selector operator, ipBlock/except around pod
 * addresses, named ports, endPort, protocols, defaulted policyTypes, audit).
 */
#pragma GCC diagnostic ignored "-Wunused-function"
#include "../tests/unit/gen.c"
#include "../tests/unit/refeval.c"
#pragma GCC diagnostic warning "-Wunused-function"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <unistd.h>

#include "podwall/model.h"

#define N_NS 3
#define N_PODS 8
#define MAX_POLICIES 6

static const char *const ns_names[N_NS] = { "nsa", "nsb", "nsc" };

static int write_file(const char *dir, const char *name, const struct gen_buf *b)
{
	char path[4096];
	FILE *f;
	int r = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "we");
	if (!f)
		return -errno;
	if (fwrite(b->p, 1, b->len, f) != b->len)
		r = -EIO;
	if (fclose(f) && !r)
		r = -errno;
	return r;
}

/* pod i's container ports: the same names on every pod, different numbers */
static void pod_ports(struct gen_buf *b, unsigned i)
{
	gb_printf(b, "    - {name: http, containerPort: %u, protocol: TCP}\n", gen_ports[i % 4]);
	gb_printf(b, "    - {name: dns, containerPort: %u, protocol: UDP}\n", i % 2 ? 81 : 53);
	gb_printf(b, "    - {name: metrics, containerPort: %u, protocol: TCP}\n",
		  i % 4 == 3 ? 81 : 8080);
	gb_printf(b, "    - {containerPort: 9}\n");
}

static int cmd_gen(uint64_t seed, const char *dir)
{
	struct gen_opts o = { .n_ns = N_NS, .n_pods = N_PODS, .max_rules = 2, .v6 = 1 };
	char name[128], a4[64], a6[64];
	unsigned i, n_pol;
	int r;

	gen_rng = seed * 0x9e3779b97f4a7c15ull + 0x51ed270b;
	if (!gen_rng)
		gen_rng = 1;
	for (i = 0; i < N_NS; i++) {
		struct gen_buf b = {};

		gb_printf(&b, "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: %s\n",
			  ns_names[i]);
		gb_printf(&b, "  labels:\n    kubernetes.io/metadata.name: %s\n", ns_names[i]);
		if (rnd(4))
			gb_printf(&b, "    team: %s\n", gen_teams[rnd(3)]);
		snprintf(name, sizeof(name), "ns-%s.yaml", ns_names[i]);
		r = write_file(dir, name, &b);
		free(b.p);
		if (r)
			return r;
	}
	for (i = 0; i < N_PODS; i++) {
		struct gen_buf b = {};
		const char *ns = ns_names[i % N_NS];

		gb_printf(&b,
			  "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p%u\n  namespace: %s\n", i,
			  ns);
		gb_printf(&b, "  labels: {app: %s", gen_apps[rnd(4)]);
		if (rnd(2))
			gb_printf(&b, ", tier: %s", gen_tiers[rnd(2)]);
		gb_printf(&b, "}\nspec:\n  containers:\n  - name: c\n    ports:\n");
		pod_ports(&b, i);
		gen_pod_addr(a4, i, 0);
		gen_pod_addr(a6, i, 1);
		gb_printf(&b,
			  "status:\n  phase: Running\n  podIP: %s\n  podIPs:\n  - ip: %s\n"
			  "  - ip: '%s'\n",
			  a4, a4, a6);
		snprintf(name, sizeof(name), "pod-%s-p%u.yaml", ns, i);
		r = write_file(dir, name, &b);
		free(b.p);
		if (r)
			return r;
	}
	n_pol = 1 + rnd(MAX_POLICIES);
	for (i = 0; i < n_pol; i++) {
		struct gen_buf b = {};
		unsigned t = rnd(5);
		int ing = rnd(4) != 0, egr = rnd(2);
		const char *ns = ns_names[rnd(N_NS)];

		gen_policy(&b, &o, i, ns, t, ing, egr);
		snprintf(name, sizeof(name), "netpol-%s-pol%u.yaml", ns, i);
		r = write_file(dir, name, &b);
		free(b.p);
		if (r)
			return r;
	}
	return 0;
}

static int load(const char *dir, struct pw_model **ret)
{
	struct pw_diags d;
	int r;

	pw_diags_init(&d);
	r = pw_model_load_dir(dir, NULL, ret, &d);
	if (r)
		pw_diags_print(&d, stderr, false);
	pw_diags_free(&d);
	return r;
}

static const struct pw_pod *find_pod(const struct pw_model *m, const char *nsname)
{
	const char *slash = strchr(nsname, '/');

	if (!slash)
		return NULL;
	for (size_t i = 0; i < m->n_pods; i++) {
		const struct pw_pod *p = m->pods[i];

		if (strlen(p->ns) == (size_t)(slash - nsname) &&
		    !strncmp(p->ns, nsname, (size_t)(slash - nsname)) &&
		    !strcmp(p->name, slash + 1))
			return p;
	}
	return NULL;
}

static const union pw_addr *pod_addr(const struct pw_pod *p, int family)
{
	for (size_t i = 0; i < p->n_addrs; i++) {
		char buf[64];

		pw_addr_str(&p->addrs[i], buf, sizeof(buf));
		if ((family == 6) == (strchr(buf, ':') != NULL))
			return &p->addrs[i];
	}
	return NULL;
}

/* the reference: does a connection get through (audit verdicts let it through) */
static bool ref_connected(const struct pw_model *m, const union pw_addr *s, const union pw_addr *d,
			  uint8_t proto, uint16_t port)
{
	struct ref_side e, i;

	ref_decide(m, s, d, proto, port, &e, &i);
	return (e.allowed || e.audit) && (i.allowed || i.audit);
}

static int cmd_check(const char *dir, const char *json_path)
{
	struct pw_model *m = NULL;
	json_error_t jerr;
	json_t *root, *it;
	size_t idx, n = 0, diffs = 0, conn = 0;
	int r;

	r = load(dir, &m);
	if (r) {
		fprintf(stderr, "conf_random: %s: %s\n", dir, strerror(-r));
		return 2;
	}
	root = json_load_file(json_path, 0, &jerr);
	if (!root || !json_is_array(root)) {
		fprintf(stderr, "conf_random: %s: not a probe array (%s)\n", json_path, jerr.text);
		pw_model_free(m);
		json_decref(root);
		return 2;
	}
	json_array_foreach(root, idx, it)
	{
		const char *src = json_string_value(json_object_get(it, "src"));
		const char *dst = json_string_value(json_object_get(it, "dst"));
		const char *proto = json_string_value(json_object_get(it, "proto"));
		json_int_t port = json_integer_value(json_object_get(it, "port"));
		json_int_t fam = json_integer_value(json_object_get(it, "family"));
		json_t *obs = json_object_get(it, "observed"),
		       *pred = json_object_get(it, "predicted");
		const struct pw_pod *sp = src ? find_pod(m, src) : NULL;
		const struct pw_pod *dp = dst ? find_pod(m, dst) : NULL;
		const union pw_addr *sa, *da;
		uint8_t pr;
		bool want;

		if (!sp || !dp || !proto || !json_is_boolean(obs)) {
			printf("DIFF entry %zu: malformed or unknown pod\n", idx);
			diffs++;
			continue;
		}
		pr = !strcmp(proto, "tcp")   ? PW_PROTO_TCP
		     : !strcmp(proto, "udp") ? PW_PROTO_UDP
					     : 0;
		sa = pod_addr(sp, (int)fam);
		da = pod_addr(dp, (int)fam);
		if (!pr || !sa || !da) {
			printf("DIFF %s -> %s %s/%lld IPv%lld: no such protocol/address\n", src,
			       dst, proto, (long long)port, (long long)fam);
			diffs++;
			continue;
		}
		n++;
		want = ref_connected(m, sa, da, pr, (uint16_t)port);
		conn += want;
		if (json_is_true(obs) != want || !json_is_boolean(pred) ||
		    json_is_true(pred) != want) {
			if (diffs < 30)
				printf("DIFF %s -> %s %lld/%s IPv%lld: reference %s, observed %s, "
				       "predicted %s\n",
				       src, dst, (long long)port, proto, (long long)fam,
				       want ? "connected" : "blocked",
				       json_is_true(obs) ? "connected" : "blocked",
				       json_is_boolean(pred)
					       ? (json_is_true(pred) ? "connected" : "blocked")
					       : "null");
			diffs++;
		}
	}
	printf("%zu probes (%zu connected per the reference), %zu differ\n", n, conn, diffs);
	json_decref(root);
	pw_model_free(m);
	return diffs || !n ? 1 : 0;
}

static int cmd_expect(const char *dir)
{
	struct pw_model *m = NULL;
	int r = load(dir, &m);

	if (r) {
		fprintf(stderr, "conf_random: %s: %s\n", dir, strerror(-r));
		return 2;
	}
	for (size_t s = 0; s < m->n_pods; s++)
		for (size_t d = 0; d < m->n_pods; d++) {
			const struct pw_pod *sp = m->pods[s], *dp = m->pods[d];

			if (s == d)
				continue;
			for (size_t k = 0; k < dp->n_cports; k++)
				for (int fam = 4; fam <= 6; fam += 2) {
					const union pw_addr *sa = pod_addr(sp, fam),
							    *da = pod_addr(dp, fam);
					const struct pw_cport *cp = &dp->cports[k];

					if (!sa || !da || cp->proto == PW_PROTO_SCTP)
						continue;
					printf("%s/%s %s/%s %u/%s %d %s\n", sp->ns, sp->name,
					       dp->ns, dp->name, cp->port,
					       cp->proto == PW_PROTO_UDP ? "udp" : "tcp", fam,
					       ref_connected(m, sa, da, cp->proto, cp->port) ? "X"
											     : ".");
				}
		}
	pw_model_free(m);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "gen")) {
		char *end;
		unsigned long long seed = strtoull(argv[2], &end, 10);
		int r;

		if (*end || !argv[2][0]) {
			fprintf(stderr, "conf_random: bad seed '%s'\n", argv[2]);
			return 2;
		}
		r = cmd_gen(seed, argv[3]);
		if (r)
			fprintf(stderr, "conf_random: writing %s: %s\n", argv[3], strerror(-r));
		return r ? 1 : 0;
	}
	if (argc == 3 && !strcmp(argv[1], "expect"))
		return cmd_expect(argv[2]);
	if (argc == 4 && !strcmp(argv[1], "check"))
		return cmd_check(argv[2], argv[3]);
	fprintf(stderr, "usage: conf_random gen SEED DIR | expect DIR | check DIR PROBE.json\n");
	return 2;
}
