// SPDX-License-Identifier: MIT
/* The policy model: limits, queries, address helpers, merge and free. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "podwall/model.h"

#define NS_NAME_LABEL "kubernetes.io/metadata.name"

void pw_limits_fill(struct pw_limits *l)
{
#define DEF(f, v)                   \
	do {                        \
		if (!l->f)          \
			l->f = (v); \
	} while (0)
	DEF(max_file_bytes, 64u << 20);
	DEF(max_files, 10000);
	DEF(max_objects, 100000);
	DEF(max_rules, 1000);
	DEF(max_peers, 1000);
	DEF(max_ports, 1000);
	DEF(max_cidrs, 100000);
	DEF(max_labels, 256);
	DEF(max_exprs, 256);
	DEF(max_addrs, 16);
	DEF(max_cports, 1024);
	DEF(max_nodes, 10000000);
#undef DEF
}

/* ---- addresses ---- */

bool pw_addr_is_v4(const union pw_addr *a)
{
	static const __u8 pfx[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	return memcmp(a->b, pfx, 12) == 0;
}

int pw_addr_parse(const char *s, union pw_addr *ret_addr, bool *ret_v4)
{
	union pw_addr a = {};
	struct in_addr a4;

	if (!s)
		return -EINVAL;
	if (inet_pton(AF_INET, s, &a4) == 1) {
		a.b[10] = a.b[11] = 0xff;
		memcpy(&a.b[12], &a4, 4);
		*ret_addr = a;
		if (ret_v4)
			*ret_v4 = true;
		return 0;
	}
	if (inet_pton(AF_INET6, s, a.b) == 1) {
		*ret_addr = a;
		if (ret_v4)
			*ret_v4 = pw_addr_is_v4(&a);
		return 0;
	}
	return -EINVAL;
}

static void mask_addr(union pw_addr *a, unsigned plen)
{
	unsigned i;

	for (i = 0; i < 16; i++) {
		if (plen >= 8) {
			plen -= 8;
			continue;
		}
		a->b[i] &= (__u8)(0xff00 >> plen);
		plen = 0;
	}
}

int pw_cidr_parse(const char *s, struct pw_cidr *ret_cidr, bool *ret_host_bits)
{
	char buf[64], *slash, *end;
	struct pw_cidr c = {};
	union pw_addr m;
	unsigned long plen;
	bool v4;

	if (!s || strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (!slash || !slash[1])
		return -EINVAL;
	*slash = 0;
	if (slash[1] < '0' || slash[1] > '9' || (slash[1] == '0' && slash[2]))
		return -EINVAL;
	errno = 0;
	plen = strtoul(slash + 1, &end, 10);
	if (*end || errno)
		return -EINVAL;
	/* "::ffff:1.2.3.4/n" is an IPv6 CIDR for the API server; keep it v6 */
	if (strchr(buf, ':')) {
		if (inet_pton(AF_INET6, buf, c.addr.b) != 1 || plen > 128)
			return -EINVAL;
		v4 = false;
	} else {
		if (pw_addr_parse(buf, &c.addr, &v4) || plen > 32)
			return -EINVAL;
		plen += 96;
	}
	c.plen = (uint8_t)plen;
	c.v4 = v4;
	m = c.addr;
	mask_addr(&c.addr, c.plen);
	if (ret_host_bits)
		*ret_host_bits = memcmp(&m, &c.addr, sizeof(m)) != 0;
	*ret_cidr = c;
	return 0;
}

const char *pw_addr_str(const union pw_addr *a, char *buf, size_t len)
{
	if (pw_addr_is_v4(a))
		inet_ntop(AF_INET, &a->b[12], buf, len);
	else
		inet_ntop(AF_INET6, a->b, buf, len);
	return buf;
}

const char *pw_cidr_str(const union pw_addr *a, uint8_t plen, char *buf, size_t len)
{
	char s[INET6_ADDRSTRLEN];

	if (pw_addr_is_v4(a) && plen >= 96)
		snprintf(buf, len, "%s/%u", pw_addr_str(a, s, sizeof(s)), (unsigned)(plen - 96));
	else
		snprintf(buf, len, "%s/%u", inet_ntop(AF_INET6, a->b, s, sizeof(s)), plen);
	return buf;
}

bool pw_cidr_contains(const struct pw_cidr *c, const union pw_addr *a)
{
	union pw_addr m = *a;

	mask_addr(&m, c->plen);
	return memcmp(&m, &c->addr, sizeof(m)) == 0;
}

const char *pw_proto_name(uint8_t proto)
{
	switch (proto) {
	case PW_PROTO_TCP:
		return "TCP";
	case PW_PROTO_UDP:
		return "UDP";
	case PW_PROTO_SCTP:
		return "SCTP";
	default:
		return "OTHER";
	}
}

/* ---- queries ---- */

static int cmp_label_key(const void *k, const void *e)
{
	return strcmp(k, ((const struct pw_label *)e)->key);
}

const char *pw_labels_get(const struct pw_labels *l, const char *key)
{
	const struct pw_label *x;

	if (!l->n)
		return NULL;
	x = bsearch(key, l->v, l->n, sizeof(*l->v), cmp_label_key);
	return x ? x->value : NULL;
}

bool pw_selector_matches(const struct pw_selector *s, const struct pw_labels *l)
{
	size_t i, j;

	for (i = 0; i < s->match_labels.n; i++) {
		const char *v = pw_labels_get(l, s->match_labels.v[i].key);

		if (!v || strcmp(v, s->match_labels.v[i].value))
			return false;
	}
	for (i = 0; i < s->n_exprs; i++) {
		const struct pw_sel_expr *e = &s->exprs[i];
		const char *v = pw_labels_get(l, e->key);
		bool in = false;

		switch (e->op) {
		case PW_SEL_EXISTS:
			if (!v)
				return false;
			break;
		case PW_SEL_DOESNOTEXIST:
			if (v)
				return false;
			break;
		case PW_SEL_IN:
		case PW_SEL_NOTIN:
			for (j = 0; v && j < e->n_values; j++)
				if (!strcmp(v, e->values[j]))
					in = true;
			if ((e->op == PW_SEL_IN) != in)
				return false;
			break;
		}
	}
	return true;
}

const char *pw_pod_skip_reason(const struct pw_pod *p)
{
	if (p->host_network)
		return "hostNetwork";
	if (!p->n_addrs)
		return "no IP";
	switch (p->phase) {
	case PW_PHASE_RUNNING:
	case PW_PHASE_PENDING:
		return NULL;
	case PW_PHASE_SUCCEEDED:
		return "phase Succeeded";
	case PW_PHASE_FAILED:
		return "phase Failed";
	default:
		/* A pod with an IP but no phase is a hand-written manifest: treat
		 * it as running, as that is what the author means. */
		return p->phase_text ? "phase unknown" : NULL;
	}
}

uint16_t pw_pod_named_port(const struct pw_pod *p, const char *name, uint8_t proto)
{
	size_t i;

	for (i = 0; i < p->n_cports; i++)
		if (p->cports[i].name && p->cports[i].proto == proto &&
		    !strcmp(p->cports[i].name, name))
			return p->cports[i].port;
	return 0;
}

static int cmp_ns_ptr(const void *a, const void *b)
{
	return strcmp((*(struct pw_ns *const *)a)->name, (*(struct pw_ns *const *)b)->name);
}

static int cmp_nsname(const char *ns1, const char *n1, const char *ns2, const char *n2)
{
	int r = strcmp(ns1, ns2);

	return r ? r : strcmp(n1, n2);
}

static int cmp_pod_ptr(const void *a, const void *b)
{
	const struct pw_pod *x = *(struct pw_pod *const *)a, *y = *(struct pw_pod *const *)b;

	return cmp_nsname(x->ns, x->name, y->ns, y->name);
}

static int cmp_pol_ptr(const void *a, const void *b)
{
	const struct pw_policy *x = *(struct pw_policy *const *)a;
	const struct pw_policy *y = *(struct pw_policy *const *)b;

	return cmp_nsname(x->ns, x->name, y->ns, y->name);
}

/* Order of definition (file name, line, column), to break ties between
 * duplicates so the error points at the later one. */
static int cmp_pos(const struct pw_pos *a, const struct pw_pos *b)
{
	int r = strcmp(a->file ? a->file : "", b->file ? b->file : "");

	if (r)
		return r;
	if (a->line != b->line)
		return a->line < b->line ? -1 : 1;
	return a->col < b->col ? -1 : a->col > b->col;
}

static int sort_ns(const void *a, const void *b)
{
	int r = cmp_ns_ptr(a, b);

	return r ? r
		 : cmp_pos(&(*(struct pw_ns *const *)a)->pos, &(*(struct pw_ns *const *)b)->pos);
}

static int sort_pod(const void *a, const void *b)
{
	int r = cmp_pod_ptr(a, b);

	return r ? r
		 : cmp_pos(&(*(struct pw_pod *const *)a)->pos, &(*(struct pw_pod *const *)b)->pos);
}

static int sort_pol(const void *a, const void *b)
{
	int r = cmp_pol_ptr(a, b);

	return r ? r
		 : cmp_pos(&(*(struct pw_policy *const *)a)->pos,
			   &(*(struct pw_policy *const *)b)->pos);
}

const struct pw_ns *pw_model_ns(const struct pw_model *m, const char *name)
{
	size_t lo = 0, hi = m->n_nss;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int r = strcmp(name, m->nss[mid]->name);

		if (!r)
			return m->nss[mid];
		if (r < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

const struct pw_pod *pw_model_pod(const struct pw_model *m, const char *ns, const char *name)
{
	size_t lo = 0, hi = m->n_pods;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int r = cmp_nsname(ns, name, m->pods[mid]->ns, m->pods[mid]->name);

		if (!r)
			return m->pods[mid];
		if (r < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/* ---- free ---- */

static void labels_free(struct pw_labels *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		free(l->v[i].key);
		free(l->v[i].value);
	}
	free(l->v);
}

static void selector_free(struct pw_selector *s)
{
	size_t i, j;

	labels_free(&s->match_labels);
	for (i = 0; i < s->n_exprs; i++) {
		free(s->exprs[i].key);
		for (j = 0; j < s->exprs[i].n_values; j++)
			free(s->exprs[i].values[j]);
		free(s->exprs[i].values);
	}
	free(s->exprs);
}

void pw_ns_free(struct pw_ns *n);
void pw_pod_free(struct pw_pod *p);
void pw_policy_free(struct pw_policy *p);

void pw_ns_free(struct pw_ns *n)
{
	if (!n)
		return;
	free(n->name);
	labels_free(&n->labels);
	free(n);
}

void pw_pod_free(struct pw_pod *p)
{
	size_t i;

	if (!p)
		return;
	free(p->ns);
	free(p->name);
	labels_free(&p->labels);
	free(p->addrs);
	for (i = 0; i < p->n_cports; i++)
		free(p->cports[i].name);
	free(p->cports);
	free(p->phase_text);
	free(p->node_name);
	free(p->iface);
	free(p);
}

void pw_policy_free(struct pw_policy *p)
{
	size_t d, i, j;

	if (!p)
		return;
	free(p->ns);
	free(p->name);
	selector_free(&p->pod_sel);
	for (d = 0; d < 2; d++) {
		for (i = 0; i < p->n_rules[d]; i++) {
			struct pw_rule *r = &p->rules[d][i];

			for (j = 0; j < r->n_peers; j++) {
				selector_free(&r->peers[j].pod_sel);
				selector_free(&r->peers[j].ns_sel);
				free(r->peers[j].ipblock.except);
			}
			free(r->peers);
			for (j = 0; j < r->n_ports; j++)
				free(r->ports[j].name);
			free(r->ports);
		}
		free(p->rules[d]);
	}
	free(p);
}

void pw_model_free(struct pw_model *m)
{
	size_t i;

	if (!m)
		return;
	for (i = 0; i < m->n_nss; i++)
		if (!m->borrowed || !m->nss[i]->defined)
			pw_ns_free(m->nss[i]);
	if (!m->borrowed) {
		for (i = 0; i < m->n_pods; i++)
			pw_pod_free(m->pods[i]);
		for (i = 0; i < m->n_policies; i++)
			pw_policy_free(m->policies[i]);
		for (i = 0; i < m->n_files; i++)
			free(m->files[i]);
	}
	free(m->files);
	free(m->nss);
	free(m->pods);
	free(m->policies);
	free(m);
}

/* ---- merge ---- */

static int label_cmp(const void *a, const void *b)
{
	return strcmp(((const struct pw_label *)a)->key, ((const struct pw_label *)b)->key);
}

static struct pw_ns *implicit_ns(const char *name)
{
	struct pw_ns *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->name = strdup(name);
	n->labels.v = calloc(1, sizeof(*n->labels.v));
	if (n->labels.v) {
		n->labels.v[0].key = strdup(NS_NAME_LABEL);
		n->labels.v[0].value = strdup(name);
		n->labels.n = 1;
	}
	if (!n->name || !n->labels.v || !n->labels.v[0].key || !n->labels.v[0].value) {
		pw_ns_free(n);
		return NULL;
	}
	return n;
}

/* Add ns `name` as implicit unless present (nss sorted up to *n_sorted). */
static int want_ns(struct pw_model *m, size_t n_defined, const char *name, size_t *cap)
{
	size_t i;
	struct pw_ns key = { .name = (char *)name }, *kp = &key, *n;

	if (bsearch(&kp, m->nss, n_defined, sizeof(*m->nss), cmp_ns_ptr))
		return 0;
	for (i = n_defined; i < m->n_nss; i++)
		if (!strcmp(m->nss[i]->name, name))
			return 0;
	if (m->n_nss == *cap) {
		size_t c = *cap ? *cap * 2 : 16;
		struct pw_ns **v = realloc(m->nss, c * sizeof(*v));

		if (!v)
			return -ENOMEM;
		m->nss = v;
		*cap = c;
	}
	n = implicit_ns(name);
	if (!n)
		return -ENOMEM;
	m->nss[m->n_nss++] = n;
	return 0;
}

static void dup_error(struct pw_diags *diags, const char *kind, const char *ns, const char *name,
		      const struct pw_pos *pos, const struct pw_pos *first)
{
	char obj[600];

	if (ns)
		snprintf(obj, sizeof(obj), "%s %s/%s", kind, ns, name);
	else
		snprintf(obj, sizeof(obj), "%s %s", kind, name);
	pw_diag_add(diags, PW_SEV_ERROR, pos, obj, "metadata.name",
		    "duplicate object (first defined at %s:%d:%d)", first->file ? first->file : "?",
		    first->line, first->col);
}

int pw_model_merge(struct pw_model *const *parts, size_t n_parts, const struct pw_limits *lim,
		   struct pw_model **ret_model, struct pw_diags *diags)
{
	struct pw_limits l = lim ? *lim : (struct pw_limits){};
	struct pw_model *m;
	size_t i, j, n_ns = 0, n_pods = 0, n_pols = 0, n_files = 0, cap, n_def;
	size_t errs = diags->n_errors;
	int r = -ENOMEM;

	pw_limits_fill(&l);
	for (i = 0; i < n_parts; i++) {
		n_ns += parts[i]->n_nss;
		n_pods += parts[i]->n_pods;
		n_pols += parts[i]->n_policies;
		n_files += parts[i]->n_files;
	}
	if (n_ns + n_pods + n_pols > l.max_objects) {
		pw_diag_add(diags, PW_SEV_ERROR, NULL, NULL, NULL,
			    "too many objects: %zu (limit %zu)", n_ns + n_pods + n_pols,
			    l.max_objects);
		return -EINVAL;
	}
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->borrowed = true;
	cap = n_ns + 16;
	m->nss = calloc(cap, sizeof(*m->nss));
	m->pods = calloc(n_pods + 1, sizeof(*m->pods));
	m->policies = calloc(n_pols + 1, sizeof(*m->policies));
	m->files = calloc(n_files + 1, sizeof(*m->files));
	if (!m->nss || !m->pods || !m->policies || !m->files)
		goto fail;
	for (i = 0; i < n_parts; i++) {
		for (j = 0; j < parts[i]->n_nss; j++)
			m->nss[m->n_nss++] = parts[i]->nss[j];
		for (j = 0; j < parts[i]->n_pods; j++)
			m->pods[m->n_pods++] = parts[i]->pods[j];
		for (j = 0; j < parts[i]->n_policies; j++)
			m->policies[m->n_policies++] = parts[i]->policies[j];
		for (j = 0; j < parts[i]->n_files; j++)
			m->files[m->n_files++] = parts[i]->files[j];
	}
	if (m->n_nss)
		qsort(m->nss, m->n_nss, sizeof(*m->nss), sort_ns);
	if (m->n_pods)
		qsort(m->pods, m->n_pods, sizeof(*m->pods), sort_pod);
	if (m->n_policies)
		qsort(m->policies, m->n_policies, sizeof(*m->policies), sort_pol);
	for (i = 1; i < m->n_nss; i++)
		if (!cmp_ns_ptr(&m->nss[i - 1], &m->nss[i]))
			dup_error(diags, "Namespace", NULL, m->nss[i]->name, &m->nss[i]->pos,
				  &m->nss[i - 1]->pos);
	for (i = 1; i < m->n_pods; i++)
		if (!cmp_pod_ptr(&m->pods[i - 1], &m->pods[i]))
			dup_error(diags, "Pod", m->pods[i]->ns, m->pods[i]->name, &m->pods[i]->pos,
				  &m->pods[i - 1]->pos);
	for (i = 1; i < m->n_policies; i++)
		if (!cmp_pol_ptr(&m->policies[i - 1], &m->policies[i]))
			dup_error(diags, "NetworkPolicy", m->policies[i]->ns, m->policies[i]->name,
				  &m->policies[i]->pos, &m->policies[i - 1]->pos);
	if (diags->n_errors > errs) {
		r = -EINVAL;
		goto fail;
	}
	n_def = m->n_nss;
	for (i = 0; i < m->n_pods; i++)
		if (want_ns(m, n_def, m->pods[i]->ns, &cap))
			goto fail_implicit;
	for (i = 0; i < m->n_policies; i++)
		if (want_ns(m, n_def, m->policies[i]->ns, &cap))
			goto fail_implicit;
	if (m->n_nss > n_def)
		qsort(m->nss, m->n_nss, sizeof(*m->nss), cmp_ns_ptr);
	*ret_model = m;
	return 0;

fail_implicit:
	r = -ENOMEM;
fail:
	pw_model_free(m);
	return r;
}

/* Used by the parser: sort labels and reject duplicate keys. */
int pw_labels_sort(struct pw_labels *l);
int pw_labels_sort(struct pw_labels *l)
{
	size_t i;

	if (l->n > 1)
		qsort(l->v, l->n, sizeof(*l->v), label_cmp);
	for (i = 1; i < l->n; i++)
		if (!strcmp(l->v[i - 1].key, l->v[i].key))
			return -EEXIST;
	return 0;
}
