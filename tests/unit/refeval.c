// SPDX-License-Identifier: MIT
/*
 * Reference evaluator (see refeval.h).  Reads NetworkPolicy v1 as written:
 * isolation per direction, union of rules, peers, ports, named ports
 * resolved on the destination pod.  Quadratic and proud of it.
 * #include this file from a test.
 */
#include <string.h>

#include "refeval.h"

static const struct pw_pod *ref_pod_of(const struct pw_model *m, const union pw_addr *a)
{
	size_t i, j;

	for (i = 0; i < m->n_pods; i++) {
		const struct pw_pod *p = m->pods[i];

		if (pw_pod_skip_reason(p))
			continue;
		for (j = 0; j < p->n_addrs; j++)
			if (!memcmp(&p->addrs[j], a, sizeof(*a)))
				return p;
	}
	return NULL;
}

static bool ref_peer_matches(const struct pw_model *m, const struct pw_policy *pol,
			     const struct pw_peer *pe, const struct pw_pod *pod,
			     const union pw_addr *addr)
{
	size_t i;

	if (pe->ipblock.present) {
		if (!pw_cidr_contains(&pe->ipblock.cidr, addr))
			return false;
		for (i = 0; i < pe->ipblock.n_except; i++)
			if (pw_cidr_contains(&pe->ipblock.except[i], addr))
				return false;
		return true;
	}
	if (!pod)
		return false; /* selectors select pods only */
	if (pe->ns_sel.present) {
		if (!pw_selector_matches(&pe->ns_sel, &pw_model_ns(m, pod->ns)->labels))
			return false;
	} else if (strcmp(pol->ns, pod->ns)) {
		return false;
	}
	return !pe->pod_sel.present || pw_selector_matches(&pe->pod_sel, &pod->labels);
}

static bool ref_port_matches(const struct pw_port *pt, const struct pw_pod *dst_pod, uint8_t proto,
			     uint16_t port)
{
	uint16_t want;

	if (pt->proto != proto)
		return false;
	if (pt->name) {
		size_t i;

		if (!dst_pod)
			return false;
		for (i = 0; i < dst_pod->n_cports; i++)
			if (dst_pod->cports[i].name && !strcmp(dst_pod->cports[i].name, pt->name) &&
			    dst_pod->cports[i].proto == proto)
				return dst_pod->cports[i].port == port;
		return false;
	}
	want = pt->port;
	if (!want)
		return true;
	if (pt->end_port)
		return port >= want && port <= pt->end_port;
	return port == want;
}

static void ref_side_decide(const struct pw_model *m, const struct pw_pod *self, int dir,
			    const struct pw_pod *peer_pod, const union pw_addr *peer_addr,
			    const struct pw_pod *dst_pod, uint8_t proto, uint16_t port,
			    struct ref_side *out)
{
	size_t i, r, k;
	bool all_audit = true;

	memset(out, 0, sizeof(*out));
	out->allowed = true;
	if (!self)
		return;
	for (i = 0; i < m->n_policies; i++) {
		const struct pw_policy *p = m->policies[i];

		if (!p->types[dir] || strcmp(p->ns, self->ns) ||
		    !pw_selector_matches(&p->pod_sel, &self->labels))
			continue;
		if (!out->isolated)
			out->allowed = false;
		out->isolated = true;
		if (!p->audit)
			all_audit = false;
		for (r = 0; r < p->n_rules[dir]; r++) {
			const struct pw_rule *rule = &p->rules[dir][r];
			bool peer_ok = !rule->n_peers, port_ok = !rule->n_ports;

			for (k = 0; k < rule->n_peers && !peer_ok; k++)
				peer_ok = ref_peer_matches(m, p, &rule->peers[k], peer_pod,
							   peer_addr);
			for (k = 0; k < rule->n_ports && !port_ok; k++)
				port_ok = ref_port_matches(&rule->ports[k], dst_pod, proto, port);
			if (peer_ok && port_ok)
				out->allowed = true;
		}
	}
	out->audit = out->isolated && !out->allowed && all_audit;
}

void ref_decide(const struct pw_model *m, const union pw_addr *src, const union pw_addr *dst,
		uint8_t proto, uint16_t port, struct ref_side *egress, struct ref_side *ingress)
{
	const struct pw_pod *sp = ref_pod_of(m, src), *dp = ref_pod_of(m, dst);

	ref_side_decide(m, sp, PW_DIR_EGRESS, dp, dst, dp, proto, port, egress);
	ref_side_decide(m, dp, PW_DIR_INGRESS, sp, src, dp, proto, port, ingress);
}
