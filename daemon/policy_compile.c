// SPDX-License-Identifier: MIT
/*
 * The compiler: model -> image (see abi.h for the lookup order it serves).
 *
 *  - Peer atoms: every selector peer and every ipBlock peer of every rule.
 *  - An address's signature: the atoms it matches plus, for pod addresses,
 *    how the port names used by egress rules resolve on its pod.  Addresses
 *    with equal signatures share an identity.  Addresses that are not pods
 *    get the identity of their partition region (ipBlock/except/service
 *    CIDR boundaries split the address space into disjoint prefixes).
 *  - A policy set per direction: the isolating policies, plus (ingress) how
 *    the port names their rules use resolve on the pod.  Pods with the same
 *    key share the set and its entries.
 *  - Entries: for each set, rule, peer identity (or PW_ID_ANY) and port.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hidx.h"
#include "policy_compile.h"

/* abi.h PW_SET_NO_PORT0_*: the hint cleared by a port-0 entry of a protocol
 * class (the same mapping as decide.h's pw_no_port0_flag()). */
static uint32_t no_port0_flag(uint8_t proto_class)
{
	switch (proto_class) {
	case PW_PROTO_TCP:
		return PW_SET_NO_PORT0_TCP;
	case PW_PROTO_UDP:
		return PW_SET_NO_PORT0_UDP;
	case PW_PROTO_SCTP:
		return PW_SET_NO_PORT0_SCTP;
	default:
		return PW_SET_NO_PORT0_OTHER;
	}
}

/* ---- growable byte string ---- */

struct buf {
	unsigned char *p;
	size_t len;
	size_t cap;
	int oom;
};

static void buf_add(struct buf *b, const void *d, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 256;
		unsigned char *p;

		while (cap < b->len + n)
			cap *= 2;
		p = realloc(b->p, cap);
		if (!p) {
			b->oom = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, d, n);
	b->len += n;
}

static void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void buf_printf(struct buf *b, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n > 0)
		buf_add(b, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

static char *buf_str(struct buf *b)
{
	char *s;

	buf_add(b, "", 1);
	if (b->oom)
		return NULL;
	s = strdup((char *)b->p);
	b->len = 0;
	return s;
}

/* ---- interning variable-length keys ---- */

struct intern_ent {
	size_t off;
	size_t len;
	uint64_t h;
};

struct intern {
	struct buf data;
	struct intern_ent *e;
	size_t n;
	size_t cap;
	uint32_t *slots;
	size_t mask;
};

static void intern_free(struct intern *t)
{
	free(t->data.p);
	free(t->e);
	free(t->slots);
}

/* Index of key (added if new), *ret_new set when added; -1 on ENOMEM. */
static long intern_get(struct intern *t, const void *key, size_t len, int *ret_new)
{
	uint64_t h = hidx_hash(key, len);
	size_t i;

	*ret_new = 0;
	if (!t->mask || (t->n + 1) * 4 > (t->mask + 1) * 3) {
		size_t cap = t->mask ? (t->mask + 1) * 2 : 64, j, k;
		uint32_t *s = calloc(cap, sizeof(*s));

		if (!s)
			return -1;
		for (k = 0; k < t->n; k++) {
			for (j = t->e[k].h & (cap - 1); s[j]; j = (j + 1) & (cap - 1))
				;
			s[j] = (uint32_t)k + 1;
		}
		free(t->slots);
		t->slots = s;
		t->mask = cap - 1;
	}
	for (i = h & t->mask; t->slots[i]; i = (i + 1) & t->mask) {
		struct intern_ent *e = &t->e[t->slots[i] - 1];

		if (e->h == h && e->len == len && !memcmp(t->data.p + e->off, key, len))
			return (long)(t->slots[i] - 1);
	}
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		struct intern_ent *e = realloc(t->e, cap * sizeof(*e));

		if (!e)
			return -1;
		t->e = e;
		t->cap = cap;
	}
	t->e[t->n] = (struct intern_ent){ .off = t->data.len, .len = len, .h = h };
	buf_add(&t->data, key, len);
	if (t->data.oom)
		return -1;
	t->slots[i] = (uint32_t)t->n + 1;
	*ret_new = 1;
	return (long)t->n++;
}

/* ---- compiler state ---- */

struct atom {
	const struct pw_policy *pol;
	const struct pw_peer *peer;
};

struct pname {
	const char *name;
	uint8_t proto;
};

struct ident {
	uint32_t id;
	long sig; /* index in sigs */
	uint32_t first_pod; /* UINT32_MAX when not a pod identity */
	uint32_t n_pods;
};

struct region {
	union pw_addr addr;
	uint8_t plen;
	long ident; /* index into idents, -1 = WORLD */
	uint32_t flags;
};

struct setinfo {
	uint32_t id;
	uint8_t dir;
	uint32_t *pols;
	uint32_t n_pols;
	uint16_t *ports; /* ingress name resolution per pname_in of the union */
	bool audit;
	uint32_t flags;
};

struct rangeacc {
	struct pw_pol_key key;
	uint32_t n;
	struct pw_port_range r[64];
	uint32_t policy;
};

struct cc {
	const struct pw_model *m;
	struct pw_diags *diags;
	size_t max_eps, max_prefixes, max_pols, max_ranges, max_rules;

	struct atom *atoms;
	size_t n_atoms;
	size_t sig_bytes; /* bitset bytes */
	uint32_t (*rule_atoms)[2]; /* per rule id - 1: first atom, count */

	struct pname *pn_out; /* names used by egress rules */
	size_t n_pn_out;

	struct intern sigs;
	struct ident *idents;
	size_t n_idents;
	size_t cap_idents;

	struct region *regions;
	size_t n_regions;
	size_t cap_regions;

	struct intern setkeys;
	struct setinfo *sets;
	size_t n_sets;
	size_t cap_sets;

	struct pw_image *img;
	size_t cap_eps, cap_pols, cap_ranges, cap_prefixes;
	struct hidx pol_idx;
	struct rangeacc *racc;
	size_t n_racc, cap_racc;
	struct hidx racc_idx;

	/* Pods with the same namespace and labels are selected by the same
	 * selectors: each class is matched once against every policy and atom
	 * (a deployment's replicas share one class). */
	uint32_t *pod_cls; /* per pod; UINT32_MAX for pods that are not endpoints */
	uint32_t *cls_rep; /* a pod of each class */
	size_t n_cls;
	size_t pol_bytes;
	uint8_t *cls_pols; /* n_cls x pol_bytes: policy i selects the class */
	uint8_t *cls_atoms; /* n_cls x sig_bytes: selector atom a selects the class */
	struct clsset *clsset; /* n_cls x 2 (direction) */
	uint32_t *ipb_atoms; /* the atoms that are ipBlocks */
	size_t n_ipb_atoms;
	int err;
};

static bool bit(const uint8_t *b, size_t i)
{
	return b[i / 8] & (1u << (i % 8));
}

static void setbit(uint8_t *b, size_t i)
{
	b[i / 8] |= (uint8_t)(1u << (i % 8));
}

static int grow_arr(void **p, size_t *cap, size_t n, size_t sz)
{
	void *np;
	size_t c;

	if (n < *cap)
		return 0;
	c = *cap ? *cap * 2 : 64;
	np = realloc(*p, c * sz);
	if (!np)
		return -ENOMEM;
	*p = np;
	*cap = c;
	return 0;
}

static int limit_err(struct cc *c, const struct pw_policy *p, const char *what, size_t lim)
{
	char obj[600];

	if (p) {
		struct pw_pos pos = p->pos;

		snprintf(obj, sizeof(obj), "NetworkPolicy %s/%s", p->ns, p->name);
		pw_diag_add(c->diags, PW_SEV_ERROR, &pos, obj, NULL,
			    "compiled policy exceeds the limit of %zu %s", lim, what);
	} else {
		pw_diag_add(c->diags, PW_SEV_ERROR, NULL, NULL, NULL,
			    "compiled policy exceeds the limit of %zu %s", lim, what);
	}
	c->err = -E2BIG;
	return -E2BIG;
}

/* ---- matching ---- */

static bool peer_selects_pod(const struct pw_model *m, const struct pw_policy *pol,
			     const struct pw_peer *pe, const struct pw_pod *pod)
{
	if (pe->ipblock.present)
		return false;
	if (pe->ns_sel.present) {
		const struct pw_ns *ns = pw_model_ns(m, pod->ns);

		if (!ns || !pw_selector_matches(&pe->ns_sel, &ns->labels))
			return false;
	} else if (strcmp(pod->ns, pol->ns)) {
		return false;
	}
	return !pe->pod_sel.present || pw_selector_matches(&pe->pod_sel, &pod->labels);
}

static bool ipblock_contains(const struct pw_ipblock *b, const union pw_addr *a)
{
	size_t i;

	if (!b->present || !pw_cidr_contains(&b->cidr, a))
		return false;
	for (i = 0; i < b->n_except; i++)
		if (pw_cidr_contains(&b->except[i], a))
			return false;
	return true;
}

static bool policy_selects(const struct pw_model *m, const struct pw_policy *pol,
			   const struct pw_pod *pod)
{
	(void)m;
	return !strcmp(pol->ns, pod->ns) && pw_selector_matches(&pol->pod_sel, &pod->labels);
}

/* ---- pod classes ---- */

static int pod_classes(struct cc *c)
{
	const struct pw_model *m = c->m;
	struct intern keys = {};
	struct buf key = {};
	size_t i, j, cap = 0;
	int is_new, r = -ENOMEM;

	c->pod_cls = calloc(m->n_pods + 1, sizeof(*c->pod_cls));
	if (!c->pod_cls)
		goto out;
	for (i = 0; i < m->n_pods; i++) {
		const struct pw_pod *pod = m->pods[i];
		long k;

		c->pod_cls[i] = UINT32_MAX;
		if (pw_pod_skip_reason(pod))
			continue;
		key.len = 0;
		buf_add(&key, pod->ns, strlen(pod->ns) + 1);
		for (j = 0; j < pod->labels.n; j++) {
			buf_add(&key, pod->labels.v[j].key, strlen(pod->labels.v[j].key) + 1);
			buf_add(&key, pod->labels.v[j].value, strlen(pod->labels.v[j].value) + 1);
		}
		if (key.oom)
			goto out;
		k = intern_get(&keys, key.p, key.len, &is_new);
		if (k < 0)
			goto out;
		if (is_new) {
			if (grow_arr((void **)&c->cls_rep, &cap, c->n_cls, sizeof(*c->cls_rep)))
				goto out;
			c->cls_rep[c->n_cls++] = (uint32_t)i;
		}
		c->pod_cls[i] = (uint32_t)k;
	}
	c->pol_bytes = (m->n_policies + 7) / 8;
	c->cls_pols = calloc(c->n_cls * c->pol_bytes + 1, 1);
	if (!c->cls_pols)
		goto out;
	for (i = 0; i < c->n_cls; i++) {
		const struct pw_pod *pod = m->pods[c->cls_rep[i]];

		for (j = 0; j < m->n_policies; j++)
			if (policy_selects(m, m->policies[j], pod))
				setbit(c->cls_pols + i * c->pol_bytes, j);
	}
	r = 0;
out:
	free(key.p);
	intern_free(&keys);
	return r;
}

/* After collect_atoms: which selector atoms select each class. */
static int class_atoms(struct cc *c)
{
	const struct pw_model *m = c->m;
	size_t i, a;

	c->cls_atoms = calloc(c->n_cls * c->sig_bytes + 1, 1);
	c->ipb_atoms = calloc(c->n_atoms + 1, sizeof(*c->ipb_atoms));
	if (!c->cls_atoms || !c->ipb_atoms)
		return -ENOMEM;
	for (a = 0; a < c->n_atoms; a++)
		if (c->atoms[a].peer->ipblock.present)
			c->ipb_atoms[c->n_ipb_atoms++] = (uint32_t)a;
	for (i = 0; i < c->n_cls; i++) {
		const struct pw_pod *pod = m->pods[c->cls_rep[i]];

		for (a = 0; a < c->n_atoms; a++)
			if (peer_selects_pod(m, c->atoms[a].pol, c->atoms[a].peer, pod))
				setbit(c->cls_atoms + i * c->sig_bytes, a);
	}
	return 0;
}

/* policy_selects() for pod i (an endpoint), from its class. */
static bool pol_selects_pod(const struct cc *c, size_t pol, size_t pod)
{
	return bit(c->cls_pols + (size_t)c->pod_cls[pod] * c->pol_bytes, pol);
}

/* ---- identities ---- */

static long pname_index(const struct pname *v, size_t n, const char *name, uint8_t proto)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (v[i].proto == proto && !strcmp(v[i].name, name))
			return (long)i;
	return -1;
}

static int add_pname(struct pname **v, size_t *n, size_t *cap, const char *name, uint8_t proto)
{
	if (pname_index(*v, *n, name, proto) >= 0)
		return 0;
	if (grow_arr((void **)v, cap, *n, sizeof(**v)))
		return -ENOMEM;
	(*v)[*n].name = name;
	(*v)[*n].proto = proto;
	(*n)++;
	return 0;
}

static int collect_atoms(struct cc *c)
{
	const struct pw_model *m = c->m;
	size_t i, d, r, k, cap = 0, cap_pn = 0, rid = 0;

	c->rule_atoms = calloc(c->img->n_rules + 1, sizeof(*c->rule_atoms));
	if (!c->rule_atoms)
		return -ENOMEM;
	for (i = 0; i < m->n_policies; i++) {
		const struct pw_policy *p = m->policies[i];

		for (d = 0; d < 2; d++) {
			for (r = 0; r < p->n_rules[d]; r++, rid++) {
				const struct pw_rule *rule = &p->rules[d][r];

				c->rule_atoms[rid][0] = (uint32_t)c->n_atoms;
				c->rule_atoms[rid][1] = (uint32_t)rule->n_peers;
				for (k = 0; k < rule->n_peers; k++) {
					if (grow_arr((void **)&c->atoms, &cap, c->n_atoms,
						     sizeof(*c->atoms)))
						return -ENOMEM;
					c->atoms[c->n_atoms].pol = p;
					c->atoms[c->n_atoms].peer = &rule->peers[k];
					c->n_atoms++;
				}
				if (d != PW_DIR_EGRESS)
					continue;
				for (k = 0; k < rule->n_ports; k++)
					if (rule->ports[k].name &&
					    add_pname(&c->pn_out, &c->n_pn_out, &cap_pn,
						      rule->ports[k].name, rule->ports[k].proto))
						return -ENOMEM;
			}
		}
	}
	c->sig_bytes = (c->n_atoms + 7) / 8;
	return 0;
}

/* Signature layout: [flag byte: 1 = pod][atom bits][uint16 ports per pn_out (pods)] */
/* Index of the identity with this signature (interned: index == ident index). */
static long identity_for(struct cc *c, const uint8_t *sig, size_t len)
{
	int is_new;
	long k = intern_get(&c->sigs, sig, len, &is_new);
	struct ident *id;

	if (k < 0)
		return -ENOMEM;
	if (!is_new)
		return k;
	if (grow_arr((void **)&c->idents, &c->cap_idents, c->n_idents, sizeof(*c->idents)))
		return -ENOMEM;
	id = &c->idents[c->n_idents];
	memset(id, 0, sizeof(*id));
	id->id = PW_ID_FIRST_DYNAMIC + (uint32_t)c->n_idents;
	id->sig = k;
	id->first_pod = UINT32_MAX;
	c->n_idents++;
	return k;
}

static int pod_identities(struct cc *c, uint32_t **ret_ep_ident)
{
	const struct pw_model *m = c->m;
	size_t len = 1 + c->sig_bytes + 2 * c->n_pn_out, i, j, a, n_eps = 0;
	uint8_t *sig = calloc(1, len), *podbits = calloc(1, c->sig_bytes + 1);
	uint32_t *ep_ident;

	for (i = 0; i < m->n_pods; i++)
		n_eps += pw_pod_skip_reason(m->pods[i]) ? 0 : m->pods[i]->n_addrs;
	ep_ident = calloc(n_eps + 1, sizeof(*ep_ident));
	if (!sig || !podbits || !ep_ident)
		goto nomem;
	n_eps = 0;
	for (i = 0; i < m->n_pods; i++) {
		const struct pw_pod *pod = m->pods[i];

		if (pw_pod_skip_reason(pod))
			continue;
		memcpy(podbits, c->cls_atoms + (size_t)c->pod_cls[i] * c->sig_bytes, c->sig_bytes);
		for (j = 0; j < pod->n_addrs; j++) {
			long k;

			memset(sig, 0, len);
			sig[0] = 1;
			memcpy(sig + 1, podbits, c->sig_bytes);
			for (a = 0; a < c->n_ipb_atoms; a++)
				if (ipblock_contains(&c->atoms[c->ipb_atoms[a]].peer->ipblock,
						     &pod->addrs[j]))
					setbit(sig + 1, c->ipb_atoms[a]);
			for (a = 0; a < c->n_pn_out; a++) {
				uint16_t p = pw_pod_named_port(pod, c->pn_out[a].name,
							       c->pn_out[a].proto);

				memcpy(sig + 1 + c->sig_bytes + 2 * a, &p, 2);
			}
			k = identity_for(c, sig, len);
			if (k < 0)
				goto nomem;
			if (c->idents[k].first_pod == UINT32_MAX)
				c->idents[k].first_pod = (uint32_t)i;
			c->idents[k].n_pods++;
			ep_ident[n_eps++] = (uint32_t)k;
		}
	}
	free(sig);
	free(podbits);
	*ret_ep_ident = ep_ident;
	return 0;
nomem:
	free(sig);
	free(podbits);
	free(ep_ident);
	return -ENOMEM;
}

/* ---- the partition ---- */

struct bound {
	union pw_addr addr;
	uint8_t plen;
	bool service;
};

static int cmp_bound(const void *a, const void *b)
{
	const struct bound *x = a, *y = b;
	int r = memcmp(&x->addr, &y->addr, sizeof(x->addr));

	if (r)
		return r;
	return (int)x->plen - (int)y->plen;
}

static bool prefix_inside(const union pw_addr *a, uint8_t plen, const union pw_addr *outer,
			  uint8_t oplen)
{
	struct pw_cidr c = { .addr = *outer, .plen = oplen };

	return plen >= oplen && pw_cidr_contains(&c, a);
}

static int add_region(struct cc *c, const union pw_addr *addr, uint8_t plen,
		      const struct bound *owner, const struct bound *all, size_t n_all)
{
	size_t len = 1 + c->sig_bytes + 2 * c->n_pn_out, a, i;
	uint8_t *sig;
	struct region *rg;
	uint32_t flags = 0;
	long k = -1;
	bool any = false;

	if (!owner)
		return 0;
	sig = calloc(1, len);
	if (!sig)
		return -ENOMEM;
	/* Membership is constant over the region: test its first address. */
	for (a = 0; a < c->n_atoms; a++)
		if (ipblock_contains(&c->atoms[a].peer->ipblock, addr)) {
			setbit(sig + 1, a);
			any = true;
		}
	for (i = 0; i < n_all; i++)
		if (all[i].service && prefix_inside(addr, plen, &all[i].addr, all[i].plen))
			flags |= PW_PEER_DEFER;
	if (any) {
		k = identity_for(c, sig, len);
		if (k < 0) {
			free(sig);
			return -ENOMEM;
		}
	}
	free(sig);
	if (k < 0 && !flags)
		return 0; /* world: no prefix needed */
	if (grow_arr((void **)&c->regions, &c->cap_regions, c->n_regions, sizeof(*c->regions)))
		return -ENOMEM;
	rg = &c->regions[c->n_regions++];
	rg->addr = *addr;
	rg->plen = plen;
	rg->ident = k;
	rg->flags = flags;
	return 0;
}

/*
 * Emit the disjoint prefixes covering addr/plen: each gets the region of the
 * longest boundary prefix containing it (owner).  b[0..n) are the boundary
 * prefixes strictly inside addr/plen, sorted.
 */
static int partition(struct cc *c, const union pw_addr *addr, uint8_t plen,
		     const struct bound *owner, const struct bound *b, size_t n,
		     const struct bound *all, size_t n_all)
{
	union pw_addr half[2];
	size_t split, i;
	int h, r;

	if (!n)
		return add_region(c, addr, plen, owner, all, n_all);
	if (c->n_regions > c->max_prefixes)
		return limit_err(c, NULL, "prefixes", c->max_prefixes);
	half[0] = *addr;
	half[1] = *addr;
	half[1].b[plen / 8] |= (uint8_t)(0x80 >> (plen % 8));
	/* sorted by address: the first half's prefixes come first */
	for (split = 0; split < n; split++)
		if (b[split].addr.b[plen / 8] & (0x80 >> (plen % 8)))
			break;
	for (h = 0; h < 2; h++) {
		const struct bound *sub = h ? b + split : b;
		size_t ns = h ? n - split : split;
		const struct bound *own = owner;

		/* boundaries equal to the half itself (sorted first, shortest) */
		for (i = 0; i < ns && sub[i].plen == plen + 1; i++)
			own = &sub[i];
		r = partition(c, &half[h], (uint8_t)(plen + 1), own, sub + i, ns - i, all, n_all);
		if (r)
			return r;
	}
	return 0;
}

static int build_partition(struct cc *c, const struct pw_compile_opts *opts)
{
	const struct pw_model *m = c->m;
	struct bound *b = NULL;
	size_t n = 0, cap = 0, i, j, k, d, r;
	const struct bound *owner = NULL;
	union pw_addr zero = {};
	int ret;

	for (i = 0; i < m->n_policies; i++)
		for (d = 0; d < 2; d++)
			for (r = 0; r < m->policies[i]->n_rules[d]; r++) {
				const struct pw_rule *rule = &m->policies[i]->rules[d][r];

				for (k = 0; k < rule->n_peers; k++) {
					const struct pw_ipblock *ib = &rule->peers[k].ipblock;

					if (!ib->present)
						continue;
					for (j = 0; j <= ib->n_except; j++) {
						const struct pw_cidr *cd =
							j ? &ib->except[j - 1] : &ib->cidr;

						if (grow_arr((void **)&b, &cap, n, sizeof(*b)))
							goto nomem;
						b[n].addr = cd->addr;
						b[n].plen = cd->plen;
						b[n].service = false;
						n++;
					}
				}
			}
	for (i = 0; opts && i < opts->n_service_cidrs; i++) {
		if (grow_arr((void **)&b, &cap, n, sizeof(*b)))
			goto nomem;
		b[n].addr = opts->service_cidrs[i].addr;
		b[n].plen = opts->service_cidrs[i].plen;
		b[n].service = true;
		n++;
	}
	if (n)
		qsort(b, n, sizeof(*b), cmp_bound);
	/* dedupe (a service range equal to an ipBlock keeps its flag) */
	for (i = 0, j = 0; i < n; i++) {
		if (j && !cmp_bound(&b[j - 1], &b[i])) {
			b[j - 1].service |= b[i].service;
			continue;
		}
		b[j++] = b[i];
	}
	n = j;
	i = 0;
	if (n && b[0].plen == 0)
		owner = &b[i++];
	ret = partition(c, &zero, 0, owner, b + i, n - i, b, n);
	free(b);
	return ret;
nomem:
	free(b);
	return -ENOMEM;
}

/* ---- sets ---- */

struct setkey_hdr {
	uint8_t dir;
	uint8_t pad[3];
	uint32_t n_pols;
};

/* The isolating policies of a class in one direction, and the port names
 * their ingress rules use: computed once per class. */
struct clsset {
	bool done;
	uint32_t *pols;
	size_t n_pols;
	struct pname *pn;
	size_t n_pn;
	long memo; /* the set, when no named port makes pods of the class differ */
};

static int class_set(struct cc *c, size_t cls, size_t d, struct clsset *cs)
{
	const struct pw_model *m = c->m;
	size_t cap_pn = 0, i, r, k;

	cs->done = true;
	cs->memo = -1;
	cs->pols = malloc((m->n_policies + 1) * sizeof(*cs->pols));
	if (!cs->pols)
		return -ENOMEM;
	for (i = 0; i < m->n_policies; i++) {
		const struct pw_policy *p = m->policies[i];

		if (!p->types[d] || !bit(c->cls_pols + cls * c->pol_bytes, i))
			continue;
		cs->pols[cs->n_pols++] = (uint32_t)i;
		if (d != PW_DIR_INGRESS)
			continue;
		for (r = 0; r < p->n_rules[d]; r++)
			for (k = 0; k < p->rules[d][r].n_ports; k++) {
				const struct pw_port *pt = &p->rules[d][r].ports[k];

				if (pt->name &&
				    add_pname(&cs->pn, &cs->n_pn, &cap_pn, pt->name, pt->proto))
					return -ENOMEM;
			}
	}
	return 0;
}

static int pod_sets(struct cc *c, size_t pod_i, uint32_t set_idx[2])
{
	const struct pw_model *m = c->m;
	const struct pw_pod *pod = m->pods[pod_i];
	size_t cls = c->pod_cls[pod_i], i, d;
	struct buf key = {};
	int is_new, ret = -ENOMEM;

	for (d = 0; d < 2; d++) {
		struct setkey_hdr h = { .dir = (uint8_t)d };
		struct clsset *cs = &c->clsset[cls * 2 + d];
		long s;

		set_idx[d] = UINT32_MAX;
		if (!cs->done && class_set(c, cls, d, cs))
			goto out;
		if (!cs->n_pols)
			continue;
		if (cs->memo >= 0) {
			set_idx[d] = (uint32_t)cs->memo;
			continue;
		}
		key.len = 0;
		h.n_pols = (uint32_t)cs->n_pols;
		buf_add(&key, &h, sizeof(h));
		buf_add(&key, cs->pols, cs->n_pols * sizeof(*cs->pols));
		for (i = 0; i < cs->n_pn; i++) {
			uint16_t port = pw_pod_named_port(pod, cs->pn[i].name, cs->pn[i].proto);

			buf_add(&key, cs->pn[i].name, strlen(cs->pn[i].name) + 1);
			buf_add(&key, &cs->pn[i].proto, 1);
			buf_add(&key, &port, 2);
		}
		if (key.oom)
			goto out;
		s = intern_get(&c->setkeys, key.p, key.len, &is_new);
		if (s < 0)
			goto out;
		if (is_new) {
			struct setinfo *si;
			uint32_t *pols = malloc(cs->n_pols * sizeof(*pols));

			if (!pols)
				goto out;
			memcpy(pols, cs->pols, cs->n_pols * sizeof(*pols));
			if (grow_arr((void **)&c->sets, &c->cap_sets, c->n_sets,
				     sizeof(*c->sets))) {
				free(pols);
				goto out;
			}
			si = &c->sets[c->n_sets++];
			memset(si, 0, sizeof(*si));
			si->id = (uint32_t)c->n_sets;
			si->dir = (uint8_t)d;
			si->pols = pols;
			si->n_pols = (uint32_t)cs->n_pols;
			si->audit = true;
			for (i = 0; i < cs->n_pols; i++)
				if (!m->policies[cs->pols[i]]->audit)
					si->audit = false;
		}
		if (!cs->n_pn)
			cs->memo = s;
		set_idx[d] = (uint32_t)s;
	}
	ret = 0;
out:
	free(key.p);
	return ret;
}

/* ---- entries ---- */

static int add_pol(struct cc *c, uint32_t set, uint32_t peer, uint8_t dir, uint8_t proto,
		   uint16_t port, uint32_t rule_id, uint32_t policy)
{
	struct pw_image *img = c->img;
	struct pw_pol_key k = {
		.set_id = set, .peer_id = peer, .dir = dir, .proto = proto, .port = port
	};

	if (hidx_find(&c->pol_idx, img->pols, &k) >= 0)
		return 0; /* an earlier rule already allows it */
	if (img->n_pols >= c->max_pols)
		return limit_err(c, c->m->policies[policy], "policy entries", c->max_pols);
	if (grow_arr((void **)&img->pols, &c->cap_pols, img->n_pols, sizeof(*img->pols)))
		return -ENOMEM;
	img->pols[img->n_pols].key = k;
	img->pols[img->n_pols].val.rule_id = rule_id;
	img->pols[img->n_pols].val.flags = 0;
	if (hidx_add(&c->pol_idx, img->pols, (uint32_t)img->n_pols))
		return -ENOMEM;
	img->n_pols++;
	img->policies[policy].n_entries++;
	return 0;
}

static int add_range(struct cc *c, uint32_t set, uint32_t peer, uint8_t dir, uint8_t proto,
		     uint16_t lo, uint16_t hi, uint32_t rule_id, uint32_t policy)
{
	struct pw_pol_key k = { .set_id = set, .peer_id = peer, .dir = dir, .proto = proto };
	struct rangeacc *ra;
	long i = hidx_find(&c->racc_idx, c->racc, &k);
	uint32_t j;

	if (i < 0) {
		if (grow_arr((void **)&c->racc, &c->cap_racc, c->n_racc, sizeof(*c->racc)))
			return -ENOMEM;
		ra = &c->racc[c->n_racc];
		memset(ra, 0, sizeof(*ra));
		ra->key = k;
		ra->policy = policy;
		if (hidx_add(&c->racc_idx, c->racc, (uint32_t)c->n_racc))
			return -ENOMEM;
		c->n_racc++;
		c->img->policies[policy].n_entries++;
	} else {
		ra = &c->racc[i];
	}
	for (j = 0; j < ra->n; j++)
		if (ra->r[j].lo <= lo && ra->r[j].hi >= hi)
			return 0;
	if (ra->n >= sizeof(ra->r) / sizeof(ra->r[0]))
		return limit_err(c, c->m->policies[policy], "port ranges per peer and protocol",
				 PW_MAX_RANGES);
	ra->r[ra->n].lo = lo;
	ra->r[ra->n].hi = hi;
	ra->r[ra->n].rule_id = rule_id;
	ra->n++;
	return 0;
}

static int cmp_range(const void *a, const void *b)
{
	const struct pw_port_range *x = a, *y = b;

	return x->lo != y->lo ? (x->lo < y->lo ? -1 : 1) : (x->hi < y->hi ? -1 : x->hi > y->hi);
}

/* Ranges into the image: drop those a port-0 entry already covers, merge
 * overlapping ones (the first rule keeps the credit), enforce PW_MAX_RANGES. */
static int finish_ranges(struct cc *c)
{
	struct pw_image *img = c->img;
	size_t i;
	uint32_t j, n;

	for (i = 0; i < c->n_racc; i++) {
		struct rangeacc *ra = &c->racc[i];
		struct pw_img_range *ir;

		if (hidx_find(&c->pol_idx, img->pols, &ra->key) >= 0)
			continue;
		qsort(ra->r, ra->n, sizeof(ra->r[0]), cmp_range);
		for (j = 1, n = 1; j < ra->n; j++) {
			if (ra->r[j].lo <= (uint32_t)ra->r[n - 1].hi + 1) {
				if (ra->r[j].hi > ra->r[n - 1].hi)
					ra->r[n - 1].hi = ra->r[j].hi;
				continue;
			}
			ra->r[n++] = ra->r[j];
		}
		ra->n = n;
		if (ra->n > PW_MAX_RANGES)
			return limit_err(c, c->m->policies[ra->policy],
					 "port ranges (endPort) per peer and protocol",
					 PW_MAX_RANGES);
		if (img->n_ranges >= c->max_ranges)
			return limit_err(c, c->m->policies[ra->policy], "range entries",
					 c->max_ranges);
		if (grow_arr((void **)&img->ranges, &c->cap_ranges, img->n_ranges,
			     sizeof(*img->ranges)))
			return -ENOMEM;
		ir = &img->ranges[img->n_ranges++];
		memset(ir, 0, sizeof(*ir));
		ir->key = ra->key;
		ir->val.n = ra->n;
		memcpy(ir->val.r, ra->r, ra->n * sizeof(ra->r[0]));
	}
	return 0;
}

/* The egress name resolution in a pod identity's signature (unaligned). */
static const uint8_t *ident_ports(struct cc *c, const struct ident *id)
{
	const uint8_t *sig = c->sigs.data.p + c->sigs.e[id->sig].off;

	if (!sig[0])
		return NULL;
	return sig + 1 + c->sig_bytes;
}

static const uint8_t *ident_bits(struct cc *c, const struct ident *id)
{
	return c->sigs.data.p + c->sigs.e[id->sig].off + 1;
}

/* Emit one port spec of a rule for a given peer identity (or ANY). */
static int emit_port(struct cc *c, const struct setinfo *si, uint32_t peer,
		     const struct ident *peer_ident, const struct pw_port *pt, uint32_t rule_id,
		     uint32_t policy, const struct pname *set_pn, const uint16_t *set_ports,
		     size_t n_set_pn)
{
	uint16_t port = pt->port;

	if (pt->name) {
		long k;

		if (si->dir == PW_DIR_INGRESS) {
			k = pname_index(set_pn, n_set_pn, pt->name, pt->proto);
			port = k >= 0 ? set_ports[k] : 0;
		} else {
			const uint8_t *pp = peer_ident ? ident_ports(c, peer_ident) : NULL;

			k = pname_index(c->pn_out, c->n_pn_out, pt->name, pt->proto);
			port = 0;
			if (pp && k >= 0)
				memcpy(&port, pp + 2 * k, 2);
		}
		if (!port)
			return 0; /* the name does not resolve: matches nothing */
	}
	if (pt->end_port && pt->end_port != port)
		return add_range(c, si->id, peer, si->dir, pt->proto, port, pt->end_port, rule_id,
				 policy);
	return add_pol(c, si->id, peer, si->dir, pt->proto, port, rule_id, policy);
}

static int emit_rule(struct cc *c, const struct setinfo *si, uint32_t policy, size_t ridx,
		     uint32_t rule_id, const struct pname *set_pn, const uint16_t *set_ports,
		     size_t n_set_pn)
{
	const struct pw_rule *rule = &c->m->policies[policy]->rules[si->dir][ridx];
	uint32_t first = c->rule_atoms[rule_id - 1][0], cnt = c->rule_atoms[rule_id - 1][1];
	static const uint8_t all_protos[] = { PW_PROTO_TCP, PW_PROTO_UDP, PW_PROTO_SCTP,
					      PW_PROTO_OTHER };
	bool named_egress = false;
	size_t i, k, a;
	int r;

	for (k = 0; k < rule->n_ports; k++)
		if (rule->ports[k].name && si->dir == PW_DIR_EGRESS)
			named_egress = true;
	/* peer ANY: rules without peers */
	if (!cnt) {
		for (k = 0; k < rule->n_ports || (!rule->n_ports && k < 4); k++) {
			if (!rule->n_ports) {
				r = add_pol(c, si->id, PW_ID_ANY, si->dir, all_protos[k], 0,
					    rule_id, policy);
			} else if (rule->ports[k].name && si->dir == PW_DIR_EGRESS) {
				continue; /* per destination identity below */
			} else {
				r = emit_port(c, si, PW_ID_ANY, NULL, &rule->ports[k], rule_id,
					      policy, set_pn, set_ports, n_set_pn);
			}
			if (r)
				return r;
		}
		if (!named_egress)
			return 0;
	}
	for (i = 0; i < c->n_idents; i++) {
		const struct ident *id = &c->idents[i];
		const uint8_t *bits = ident_bits(c, id);
		bool match = !cnt;

		for (a = first; !match && a < first + cnt; a++)
			if (bit(bits, a))
				match = true;
		if (!match)
			continue;
		if (!rule->n_ports) {
			for (k = 0; k < 4; k++) {
				r = add_pol(c, si->id, id->id, si->dir, all_protos[k], 0, rule_id,
					    policy);
				if (r)
					return r;
			}
			continue;
		}
		for (k = 0; k < rule->n_ports; k++) {
			if (!cnt && !rule->ports[k].name)
				continue; /* already emitted for ANY */
			r = emit_port(c, si, id->id, id, &rule->ports[k], rule_id, policy, set_pn,
				      set_ports, n_set_pn);
			if (r)
				return r;
		}
	}
	return 0;
}

static uint32_t rule_base(const struct pw_model *m, size_t policy, int dir, uint32_t *bases)
{
	(void)m;
	return bases[policy * 2 + (size_t)dir];
}

static int emit_sets(struct cc *c, uint32_t *bases)
{
	const struct pw_model *m = c->m;
	size_t s, i, r;
	int ret;

	for (s = 0; s < c->n_sets; s++) {
		struct setinfo *si = &c->sets[s];
		struct pname *pn = NULL;
		uint16_t *ports = NULL;
		size_t n_pn = 0, cap_pn = 0;
		const uint8_t *key = c->setkeys.data.p + c->setkeys.e[s].off;
		const uint8_t *end = key + c->setkeys.e[s].len;
		const uint8_t *q = key + sizeof(struct setkey_hdr) + si->n_pols * sizeof(uint32_t);

		/* decode the ingress name resolution stored in the key */
		while (q < end) {
			const char *name = (const char *)q;
			uint8_t proto;
			uint16_t port;

			q += strlen(name) + 1;
			proto = *q++;
			memcpy(&port, q, 2);
			q += 2;
			if (grow_arr((void **)&pn, &cap_pn, n_pn, sizeof(*pn))) {
				free(pn);
				free(ports);
				return -ENOMEM;
			}
			{
				uint16_t *np = realloc(ports, cap_pn * sizeof(*np));

				if (!np) {
					free(pn);
					free(ports);
					return -ENOMEM;
				}
				ports = np;
			}
			pn[n_pn].name = name;
			pn[n_pn].proto = proto;
			ports[n_pn] = port;
			n_pn++;
		}
		for (i = 0; i < si->n_pols; i++) {
			uint32_t p = si->pols[i];

			for (r = 0; r < m->policies[p]->n_rules[si->dir]; r++) {
				uint32_t rid = rule_base(m, p, si->dir, bases) + (uint32_t)r;

				ret = emit_rule(c, si, p, r, rid, pn, ports, n_pn);
				if (ret) {
					free(pn);
					free(ports);
					return ret;
				}
			}
		}
		free(pn);
		free(ports);
	}
	return 0;
}

/* ---- human text ---- */

static void sel_text(struct buf *b, const struct pw_selector *s)
{
	size_t i, j;
	bool first = true;

	if (!s->match_labels.n && !s->n_exprs) {
		buf_printf(b, "*");
		return;
	}
	for (i = 0; i < s->match_labels.n; i++, first = false)
		buf_printf(b, "%s%s=%s", first ? "" : ",", s->match_labels.v[i].key,
			   s->match_labels.v[i].value);
	for (i = 0; i < s->n_exprs; i++, first = false) {
		const struct pw_sel_expr *e = &s->exprs[i];

		if (!first)
			buf_printf(b, ",");
		switch (e->op) {
		case PW_SEL_EXISTS:
			buf_printf(b, "%s", e->key);
			break;
		case PW_SEL_DOESNOTEXIST:
			buf_printf(b, "!%s", e->key);
			break;
		default:
			buf_printf(b, "%s %s (", e->key, e->op == PW_SEL_IN ? "in" : "notin");
			for (j = 0; j < e->n_values; j++)
				buf_printf(b, "%s%s", j ? "," : "", e->values[j]);
			buf_printf(b, ")");
		}
	}
}

static void peer_text(struct buf *b, const struct pw_policy *p, const struct pw_peer *pe)
{
	char s[64];
	size_t i;

	if (pe->ipblock.present) {
		buf_printf(
			b, "%s",
			pw_cidr_str(&pe->ipblock.cidr.addr, pe->ipblock.cidr.plen, s, sizeof(s)));
		for (i = 0; i < pe->ipblock.n_except; i++)
			buf_printf(b, "%s%s", i ? "," : " except ",
				   pw_cidr_str(&pe->ipblock.except[i].addr,
					       pe->ipblock.except[i].plen, s, sizeof(s)));
		return;
	}
	if (pe->ns_sel.present) {
		buf_printf(b, "ns(");
		sel_text(b, &pe->ns_sel);
		buf_printf(b, ")");
	} else {
		buf_printf(b, "ns=%s", p->ns);
	}
	buf_printf(b, " pod(");
	if (pe->pod_sel.present)
		sel_text(b, &pe->pod_sel);
	else
		buf_printf(b, "*");
	buf_printf(b, ")");
}

static char *rule_text(const struct pw_policy *p, int dir, const struct pw_rule *r)
{
	struct buf b = {};
	size_t i;
	char *s;

	buf_printf(&b, "%s ", dir == PW_DIR_INGRESS ? "from" : "to");
	if (!r->n_peers)
		buf_printf(&b, "any");
	for (i = 0; i < r->n_peers; i++) {
		if (i)
			buf_printf(&b, " or ");
		peer_text(&b, p, &r->peers[i]);
	}
	buf_printf(&b, "; ");
	if (!r->n_ports)
		buf_printf(&b, "any port");
	for (i = 0; i < r->n_ports; i++) {
		const struct pw_port *pt = &r->ports[i];

		buf_printf(&b, "%s%s", i ? ", " : "", pw_proto_name(pt->proto));
		if (pt->name)
			buf_printf(&b, " %s", pt->name);
		else if (pt->end_port)
			buf_printf(&b, " %u-%u", pt->port, pt->end_port);
		else if (pt->port)
			buf_printf(&b, " %u", pt->port);
	}
	s = buf_str(&b);
	free(b.p);
	return s;
}

/* ---- image ---- */

void pw_image_free(struct pw_image *img)
{
	size_t i;

	if (!img)
		return;
	for (i = 0; i < img->n_pods; i++) {
		free(img->pods[i].ns);
		free(img->pods[i].name);
		free(img->pods[i].iface);
		free(img->pods[i].node_name);
	}
	for (i = 0; i < img->n_policies; i++) {
		free(img->policies[i].ns);
		free(img->policies[i].name);
		free(img->policies[i].file);
	}
	for (i = 0; i < img->n_rules; i++)
		free(img->rules[i].text);
	for (i = 0; i < img->n_sets; i++)
		free(img->sets[i].policies);
	for (i = 0; i < img->n_ids; i++)
		free(img->ids[i].text);
	free(img->eps);
	free(img->prefixes);
	free(img->pols);
	free(img->ranges);
	free(img->pods);
	free(img->policies);
	free(img->rules);
	free(img->sets);
	free(img->ids);
	free(img);
}

static char *xstrdup0(const char *s)
{
	return s ? strdup(s) : NULL;
}

static int fill_tables(struct cc *c, uint32_t **ret_bases)
{
	const struct pw_model *m = c->m;
	struct pw_image *img = c->img;
	size_t i, d, r, n_rules = 0;
	uint32_t *bases;

	for (i = 0; i < m->n_policies; i++)
		n_rules += m->policies[i]->n_rules[0] + m->policies[i]->n_rules[1];
	if (n_rules > c->max_rules)
		return limit_err(c, NULL, "rules", c->max_rules);
	img->policies = calloc(m->n_policies + 1, sizeof(*img->policies));
	img->rules = calloc(n_rules + 1, sizeof(*img->rules));
	img->pods = calloc(m->n_pods + 1, sizeof(*img->pods));
	bases = calloc(m->n_policies * 2 + 1, sizeof(*bases));
	if (!img->policies || !img->rules || !img->pods || !bases) {
		free(bases);
		return -ENOMEM;
	}
	for (i = 0; i < m->n_policies; i++) {
		const struct pw_policy *p = m->policies[i];
		struct pw_img_policy *ip = &img->policies[img->n_policies++];

		ip->ns = strdup(p->ns);
		ip->name = strdup(p->name);
		ip->file = xstrdup0(p->pos.file);
		ip->line = p->pos.line;
		ip->audit = p->audit;
		if (!ip->ns || !ip->name || (p->pos.file && !ip->file))
			goto nomem;
		for (d = 0; d < 2; d++) {
			ip->isolates[d] = p->types[d];
			ip->n_rules[d] = (uint32_t)p->n_rules[d];
			bases[i * 2 + d] = (uint32_t)img->n_rules + 1;
			for (r = 0; r < p->n_rules[d]; r++) {
				struct pw_img_rule *ir = &img->rules[img->n_rules++];

				ir->policy = (uint32_t)i;
				ir->dir = (uint8_t)d;
				ir->index = (uint32_t)r;
				ir->text = rule_text(p, (int)d, &p->rules[d][r]);
				if (!ir->text)
					goto nomem;
			}
		}
		for (r = 0; r < m->n_pods; r++)
			if (c->pod_cls[r] != UINT32_MAX && pol_selects_pod(c, i, r))
				ip->n_selected++;
	}
	*ret_bases = bases;
	return 0;
nomem:
	free(bases);
	return -ENOMEM;
}

static int fill_ids(struct cc *c)
{
	struct pw_image *img = c->img;
	size_t i;

	img->ids = calloc(c->n_idents + 2, sizeof(*img->ids));
	if (!img->ids)
		return -ENOMEM;
	img->ids[0].id = PW_ID_WORLD;
	img->ids[0].text = strdup("world (no pod, no ipBlock)");
	img->ids[1].id = PW_ID_HOST;
	img->ids[1].text = strdup("host (the node)");
	img->n_ids = 2;
	if (!img->ids[0].text || !img->ids[1].text)
		return -ENOMEM;
	for (i = 0; i < c->n_idents; i++) {
		struct ident *id = &c->idents[i];
		struct pw_img_identity *ii = &img->ids[img->n_ids++];
		struct buf b = {};

		ii->id = id->id;
		if (id->first_pod != UINT32_MAX) {
			const struct pw_pod *p = c->m->pods[id->first_pod];

			buf_printf(&b, "pod %s/%s", p->ns, p->name);
			if (id->n_pods > 1)
				buf_printf(&b, " (+%u more)", id->n_pods - 1);
		} else {
			size_t j, n = 0;
			char s[64];

			for (j = 0; j < c->n_regions; j++)
				if (c->regions[j].ident == (long)i && !n++)
					buf_printf(&b, "addresses in %s",
						   pw_cidr_str(&c->regions[j].addr,
							       c->regions[j].plen, s, sizeof(s)));
			if (n > 1)
				buf_printf(&b, " (+%zu more prefixes)", n - 1);
			if (!n)
				buf_printf(&b, "ipBlock region");
		}
		ii->text = buf_str(&b);
		free(b.p);
		if (!ii->text)
			return -ENOMEM;
	}
	return 0;
}

int pw_compile(const struct pw_model *m, const struct pw_compile_opts *opts,
	       struct pw_image **ret_img, struct pw_diags *diags)
{
	struct cc c = { .m = m, .diags = diags };
	struct hidx ep_idx;
	uint32_t *ep_ident = NULL, *bases = NULL, (*pod_set)[2] = NULL;
	struct pw_image *img;
	size_t i, j, n_ep = 0;
	int r = -ENOMEM;

	c.max_eps = opts && opts->max_eps ? opts->max_eps : PW_MAX_ENDPOINTS / 2;
	c.max_prefixes = opts && opts->max_prefixes ? opts->max_prefixes : PW_MAX_PREFIXES / 2;
	c.max_pols = opts && opts->max_pols ? opts->max_pols : PW_MAX_POLICY_ENTRIES / 2;
	c.max_ranges = opts && opts->max_ranges ? opts->max_ranges : PW_MAX_RANGE_ENTRIES / 2;
	c.max_rules = opts && opts->max_rules ? opts->max_rules : PW_MAX_RULES - 1;
	img = calloc(1, sizeof(*img));
	if (!img)
		return -ENOMEM;
	c.img = img;
	hidx_init(&ep_idx, sizeof(struct pw_img_ep), offsetof(struct pw_img_ep, addr),
		  sizeof(union pw_addr));
	hidx_init(&c.pol_idx, sizeof(struct pw_img_pol), offsetof(struct pw_img_pol, key),
		  sizeof(struct pw_pol_key));
	hidx_init(&c.racc_idx, sizeof(struct rangeacc), offsetof(struct rangeacc, key),
		  sizeof(struct pw_pol_key));

	r = pod_classes(&c);
	if (r)
		goto out;
	r = fill_tables(&c, &bases);
	if (r)
		goto out;
	r = collect_atoms(&c);
	if (r)
		goto out;
	r = class_atoms(&c);
	if (r)
		goto out;
	r = pod_identities(&c, &ep_ident);
	if (r)
		goto out;
	r = build_partition(&c, opts);
	if (r)
		goto out;

	/* endpoints and their sets */
	pod_set = calloc(m->n_pods + 1, sizeof(*pod_set));
	c.clsset = calloc(c.n_cls * 2 + 1, sizeof(*c.clsset));
	if (!pod_set || !c.clsset) {
		r = -ENOMEM;
		goto out;
	}
	for (i = 0; i < m->n_pods; i++) {
		const struct pw_pod *pod = m->pods[i];

		pod_set[i][0] = pod_set[i][1] = UINT32_MAX;
		if (pw_pod_skip_reason(pod))
			continue;
		n_ep += pod->n_addrs;
		r = pod_sets(&c, i, pod_set[i]);
		if (r)
			goto out;
	}
	if (n_ep > c.max_eps) {
		r = limit_err(&c, NULL, "endpoints (pod addresses)", c.max_eps);
		goto out;
	}
	r = emit_sets(&c, bases);
	if (r)
		goto out;
	r = finish_ranges(&c);
	if (r)
		goto out;
	for (i = 0; i < c.n_sets; i++) {
		struct setinfo *si = &c.sets[i];

		si->flags = PW_SET_NO_PORT0_ALL | PW_SET_PORT_BLOOM;
	}
	for (i = 0; i < img->n_pols; i++) {
		const struct pw_pol_key *k = &img->pols[i].key;
		struct setinfo *si = &c.sets[k->set_id - 1];

		si->flags |= k->peer_id == PW_ID_ANY ? PW_SET_ANY : PW_SET_PEER;
		if (k->port == 0)
			si->flags &= ~no_port0_flag(k->proto);
		else
			si->flags |= pw_port_bloom_bit(k->proto, k->port);
	}
	for (i = 0; i < img->n_ranges; i++) {
		struct setinfo *si = &c.sets[img->ranges[i].key.set_id - 1];

		si->flags |= PW_SET_RANGES;
		si->flags |= img->ranges[i].key.peer_id == PW_ID_ANY ? PW_SET_ANY : PW_SET_PEER;
	}

	img->eps = calloc(n_ep + 1, sizeof(*img->eps));
	if (!img->eps) {
		r = -ENOMEM;
		goto out;
	}
	n_ep = 0;
	for (i = 0; i < m->n_pods; i++) {
		const struct pw_pod *pod = m->pods[i];
		struct pw_img_pod *ip = &img->pods[img->n_pods++];
		int d;

		ip->ns = strdup(pod->ns);
		ip->name = strdup(pod->name);
		ip->iface = xstrdup0(pod->iface);
		ip->node_name = xstrdup0(pod->node_name);
		if (!ip->ns || !ip->name || (pod->iface && !ip->iface) ||
		    (pod->node_name && !ip->node_name)) {
			r = -ENOMEM;
			goto out;
		}
		ip->skip_reason = pw_pod_skip_reason(pod);
		ip->first_ep = (uint32_t)img->n_eps;
		if (ip->skip_reason)
			continue;
		for (j = 0; j < pod->n_addrs; j++) {
			struct pw_img_ep *e = &img->eps[img->n_eps];
			long dup;

			e->addr = pod->addrs[j];
			dup = hidx_find(&ep_idx, img->eps, &e->addr);
			if (dup >= 0) {
				/* pod churn: a stale object still holds a reused address */
				const struct pw_img_pod *o = &img->pods[img->eps[dup].pod];
				char obj[600], a[64];

				snprintf(obj, sizeof(obj), "Pod %s/%s", pod->ns, pod->name);
				pw_diag_add(diags, PW_SEV_WARNING, &pod->pos, obj, "status.podIPs",
					    "address %s already belongs to pod %s/%s; ignored here",
					    pw_addr_str(&e->addr, a, sizeof(a)), o->ns, o->name);
				memset(e, 0, sizeof(*e));
				n_ep++;
				continue;
			}
			if (hidx_add(&ep_idx, img->eps, (uint32_t)img->n_eps)) {
				r = -ENOMEM;
				goto out;
			}
			img->n_eps++;
			e->pod = (uint32_t)i;
			e->val.identity = c.idents[ep_ident[n_ep++]].id;
			for (d = 0; d < 2; d++) {
				uint32_t s = pod_set[i][d];

				if (s == UINT32_MAX)
					continue;
				e->val.set_id[d] = c.sets[s].id;
				e->val.set_flags[d] = c.sets[s].flags;
				if (c.sets[s].audit)
					e->val.flags |= d == PW_DIR_INGRESS ? PW_EP_AUDIT_IN
									    : PW_EP_AUDIT_OUT;
			}
			if (img->n_eps - 1 == ip->first_ep) {
				ip->identity = e->val.identity;
				ip->set_id[0] = e->val.set_id[0];
				ip->set_id[1] = e->val.set_id[1];
			}
		}
		ip->n_eps = (uint32_t)(img->n_eps - ip->first_ep);
	}

	img->prefixes = calloc(c.n_regions + 1, sizeof(*img->prefixes));
	img->sets = calloc(c.n_sets + 1, sizeof(*img->sets));
	if (!img->prefixes || !img->sets) {
		r = -ENOMEM;
		goto out;
	}
	for (i = 0; i < c.n_regions; i++) {
		struct pw_img_prefix *p = &img->prefixes[img->n_prefixes++];

		p->addr = c.regions[i].addr;
		p->plen = c.regions[i].plen;
		p->val.identity =
			c.regions[i].ident < 0 ? PW_ID_WORLD : c.idents[c.regions[i].ident].id;
		p->val.flags = c.regions[i].flags;
	}
	for (i = 0; i < c.n_sets; i++) {
		struct pw_img_set *s = &img->sets[img->n_sets++];

		s->id = c.sets[i].id;
		s->dir = c.sets[i].dir;
		s->policies = c.sets[i].pols;
		s->n_policies = c.sets[i].n_pols;
		s->flags = c.sets[i].flags;
		c.sets[i].pols = NULL;
	}
	r = fill_ids(&c);
	if (r)
		goto out;
	*ret_img = img;
	img = NULL;
	r = 0;
out:
	if (c.sigs.data.oom || c.setkeys.data.oom)
		r = r ? r : -ENOMEM;
	if (r == -ENOMEM)
		pw_diag_add(diags, PW_SEV_ERROR, NULL, NULL, NULL, "compile: out of memory");
	pw_image_free(img);
	for (i = 0; i < c.n_sets; i++)
		free(c.sets[i].pols);
	free(c.sets);
	free(c.atoms);
	free(c.rule_atoms);
	free(c.pn_out);
	free(c.idents);
	free(c.regions);
	free(c.racc);
	hidx_free(&c.pol_idx);
	hidx_free(&c.racc_idx);
	hidx_free(&ep_idx);
	intern_free(&c.sigs);
	intern_free(&c.setkeys);
	free(c.pod_cls);
	free(c.cls_rep);
	free(c.cls_pols);
	free(c.cls_atoms);
	free(c.ipb_atoms);
	for (i = 0; c.clsset && i < c.n_cls * 2; i++) {
		free(c.clsset[i].pols);
		free(c.clsset[i].pn);
	}
	free(c.clsset);
	free(ep_ident);
	free(bases);
	free(pod_set);
	return r;
}
