// SPDX-License-Identifier: MIT
/*
 * Policy directory parser: Kubernetes YAML (Namespace, Pod, NetworkPolicy,
 * List) into the model, validated as the API server validates it, every
 * error with file:line:col, object and field path.
 *
 * libyaml's document API keeps aliases as shared nodes, so loading cannot
 * explode; walking could (an alias bomb), which the node budget bounds.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "podwall/model.h"

void pw_ns_free(struct pw_ns *n);
void pw_pod_free(struct pw_pod *p);
void pw_policy_free(struct pw_policy *p);
int pw_labels_sort(struct pw_labels *l);

#define NS_NAME_LABEL "kubernetes.io/metadata.name"
#define MAX_PATH_LEN 512

struct pctx {
	yaml_document_t *doc;
	const char *file; /* owned by part->files[0] */
	struct pw_diags *diags;
	const struct pw_limits *lim;
	struct pw_model *part;
	size_t caps[3]; /* nss, pods, policies */
	size_t budget; /* nodes left */
	size_t n_cidrs;
	char object[600]; /* "Pod x/a" */
	char path[MAX_PATH_LEN];
	size_t path_len;
	int oom;
	int budget_hit;
};

/* ---- small helpers ---- */

static char *xstrdup(struct pctx *c, const char *s)
{
	char *r = strdup(s);

	if (!r)
		c->oom = 1;
	return r;
}

static void *xcalloc(struct pctx *c, size_t n, size_t sz)
{
	void *r = calloc(n ? n : 1, sz);

	if (!r)
		c->oom = 1;
	return r;
}

static struct pw_pos pos_of(struct pctx *c, const yaml_node_t *n)
{
	struct pw_pos p = { .file = c->file };

	if (n) {
		p.line = (int)n->start_mark.line + 1;
		p.col = (int)n->start_mark.column + 1;
	}
	return p;
}

/* Field path: push appends ".name" or "[i]"; pop restores the length. */
static size_t path_push(struct pctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static size_t path_push(struct pctx *c, const char *fmt, ...)
{
	size_t old = c->path_len;
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vsnprintf(c->path + old, sizeof(c->path) - old, fmt, ap);
	va_end(ap);
	if (r > 0)
		c->path_len =
			old + (size_t)r < sizeof(c->path) ? old + (size_t)r : sizeof(c->path) - 1;
	return old;
}

static void path_pop(struct pctx *c, size_t old)
{
	c->path_len = old;
	c->path[old] = 0;
}

/* A diagnostic at node n, for the object and field path being parsed. */
static void pdiag(struct pctx *c, enum pw_severity sev, const yaml_node_t *n, const char *fmt,
		  va_list ap) __attribute__((format(printf, 4, 0)));
static void pdiag(struct pctx *c, enum pw_severity sev, const yaml_node_t *n, const char *fmt,
		  va_list ap)
{
	struct pw_pos p = pos_of(c, n);
	char msg[1024];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (pw_diag_add(c->diags, sev, &p, c->object[0] ? c->object : NULL,
			c->path[0] ? c->path : NULL, "%s", msg))
		c->oom = 1;
}

static void perr(struct pctx *c, const yaml_node_t *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void perr(struct pctx *c, const yaml_node_t *n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	pdiag(c, PW_SEV_ERROR, n, fmt, ap);
	va_end(ap);
}

static void pwarn(struct pctx *c, const yaml_node_t *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void pwarn(struct pctx *c, const yaml_node_t *n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	pdiag(c, PW_SEV_WARNING, n, fmt, ap);
	va_end(ap);
}

static yaml_node_t *node(struct pctx *c, int idx)
{
	if (!c->budget) {
		c->budget_hit = 1;
		return NULL;
	}
	c->budget--;
	return yaml_document_get_node(c->doc, idx);
}

static bool is_null(const yaml_node_t *n)
{
	const char *v;

	if (!n)
		return true;
	if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	v = (const char *)n->data.scalar.value;
	return !*v || !strcmp(v, "null") || !strcmp(v, "~") || !strcmp(v, "Null") ||
	       !strcmp(v, "NULL");
}

static const char *type_name(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_SCALAR_NODE:
		return "a scalar";
	case YAML_SEQUENCE_NODE:
		return "a list";
	case YAML_MAPPING_NODE:
		return "a mapping";
	default:
		return "nothing";
	}
}

/* Value of key `key` in mapping n, or NULL (absent or null). */
static yaml_node_t *map_get(struct pctx *c, yaml_node_t *n, const char *key)
{
	yaml_node_pair_t *p;

	if (!n || n->type != YAML_MAPPING_NODE)
		return NULL;
	for (p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(c->doc, p->key);

		if (k && k->type == YAML_SCALAR_NODE &&
		    !strcmp((char *)k->data.scalar.value, key)) {
			yaml_node_t *v = node(c, p->value);

			return is_null(v) ? NULL : v;
		}
	}
	return NULL;
}

static bool want(struct pctx *c, yaml_node_t *n, yaml_node_type_t t)
{
	if (n->type == t)
		return true;
	perr(c, n, "expected %s, found %s",
	     t == YAML_MAPPING_NODE    ? "a mapping"
	     : t == YAML_SEQUENCE_NODE ? "a list"
				       : "a string",
	     type_name(n));
	return false;
}

/* A string field; quoted or plain.  NULL (with an error) for another type. */
static const char *str_of(struct pctx *c, yaml_node_t *n)
{
	if (!want(c, n, YAML_SCALAR_NODE))
		return NULL;
	return (const char *)n->data.scalar.value;
}

static const char *get_str(struct pctx *c, yaml_node_t *map, const char *key, yaml_node_t **ret_n)
{
	yaml_node_t *n = map_get(c, map, key);
	const char *s;
	size_t old;

	if (ret_n)
		*ret_n = n;
	if (!n)
		return NULL;
	old = path_push(c, "%s%s", c->path_len ? "." : "", key);
	s = str_of(c, n);
	path_pop(c, old);
	return s;
}

/* An integer in a plain scalar.  0 or -EINVAL (error reported). */
static int int_of(struct pctx *c, yaml_node_t *n, long *ret)
{
	const char *s;
	char *end;
	long v;

	if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) {
		perr(c, n, "expected an integer, found %s",
		     n->type == YAML_SCALAR_NODE ? "a string" : type_name(n));
		return -EINVAL;
	}
	s = (const char *)n->data.scalar.value;
	errno = 0;
	v = strtol(s, &end, 10);
	if (!*s || *end || errno) {
		perr(c, n, "expected an integer, found \"%s\"", s);
		return -EINVAL;
	}
	*ret = v;
	return 0;
}

static int bool_of(struct pctx *c, yaml_node_t *n, bool *ret)
{
	const char *s;

	if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) {
		perr(c, n, "expected a boolean, found %s",
		     n->type == YAML_SCALAR_NODE ? "a string" : type_name(n));
		return -EINVAL;
	}
	s = (const char *)n->data.scalar.value;
	if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE")) {
		*ret = true;
		return 0;
	}
	if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE")) {
		*ret = false;
		return 0;
	}
	perr(c, n, "expected a boolean, found \"%s\"", s);
	return -EINVAL;
}

/* ---- syntax checks (k8s.io/apimachinery validation) ---- */

static bool is_alnum(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
}

static bool is_lower_alnum(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
}

/* qualified name part / label value: [A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?, <= 63 */
static bool valid_label_name(const char *s, bool allow_empty)
{
	size_t n = strlen(s), i;

	if (!n)
		return allow_empty;
	if (n > 63 || !is_alnum(s[0]) || !is_alnum(s[n - 1]))
		return false;
	for (i = 0; i < n; i++)
		if (!is_alnum(s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
			return false;
	return true;
}

/* DNS-1123 subdomain: lowercase alnum, '-' and '.', alnum at both ends, <= 253 */
static bool valid_dns_subdomain(const char *s, size_t n)
{
	size_t i;

	if (!n || n > 253 || !is_lower_alnum(s[0]) || !is_lower_alnum(s[n - 1]))
		return false;
	for (i = 0; i < n; i++)
		if (!is_lower_alnum(s[i]) && s[i] != '-' && s[i] != '.')
			return false;
	return true;
}

static bool valid_label_key(const char *s)
{
	const char *slash = strchr(s, '/');

	if (!slash)
		return valid_label_name(s, false);
	return valid_dns_subdomain(s, (size_t)(slash - s)) && valid_label_name(slash + 1, false);
}

/* IANA_SVC_NAME: 1-15 of [a-z0-9-], a letter somewhere, no leading,
 * trailing or doubled '-' */
static bool valid_port_name(const char *s)
{
	size_t n = strlen(s), i;
	bool letter = false;

	if (!n || n > 15 || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (i = 0; i < n; i++) {
		if (s[i] >= 'a' && s[i] <= 'z')
			letter = true;
		else if (!(s[i] >= '0' && s[i] <= '9') && s[i] != '-')
			return false;
		if (s[i] == '-' && i && s[i - 1] == '-')
			return false;
	}
	return letter;
}

/* ---- labels and selectors ---- */

static int parse_labels(struct pctx *c, yaml_node_t *n, const char *field, struct pw_labels *out)
{
	yaml_node_pair_t *p;
	size_t old = path_push(c, "%s%s", c->path_len ? "." : "", field), cnt;
	int r = -EINVAL;

	if (!want(c, n, YAML_MAPPING_NODE))
		goto out;
	cnt = (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
	if (cnt > c->lim->max_labels) {
		perr(c, n, "too many labels: %zu (limit %zu)", cnt, c->lim->max_labels);
		goto out;
	}
	out->v = xcalloc(c, cnt, sizeof(*out->v));
	if (!out->v)
		goto out;
	r = 0;
	for (p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		yaml_node_t *k = node(c, p->key), *v = node(c, p->value);
		const char *ks, *vs;
		size_t o2;

		if (!k || !v)
			return -EINVAL;
		ks = str_of(c, k);
		if (!ks) {
			r = -EINVAL;
			continue;
		}
		o2 = path_push(c, "[%s]", ks);
		if (!valid_label_key(ks)) {
			perr(c, k, "invalid label key \"%s\"", ks);
			r = -EINVAL;
		}
		vs = is_null(v) ? "" : str_of(c, v);
		if (!vs) {
			r = -EINVAL;
		} else if (!valid_label_name(vs, true)) {
			perr(c, v, "invalid label value \"%s\"", vs);
			r = -EINVAL;
		}
		path_pop(c, o2);
		if (!ks || !vs)
			continue;
		out->v[out->n].key = xstrdup(c, ks);
		out->v[out->n].value = xstrdup(c, vs);
		out->n++;
	}
	if (!r && pw_labels_sort(out)) {
		perr(c, n, "duplicate label key");
		r = -EINVAL;
	}
out:
	path_pop(c, old);
	return r;
}

static int parse_selector(struct pctx *c, yaml_node_t *n, const char *field,
			  struct pw_selector *out)
{
	size_t old = path_push(c, "%s%s", c->path_len ? "." : "", field), i;
	yaml_node_t *ml, *me;
	int r = 0;

	out->present = true;
	out->pos = pos_of(c, n);
	if (!want(c, n, YAML_MAPPING_NODE)) {
		r = -EINVAL;
		goto out;
	}
	ml = map_get(c, n, "matchLabels");
	if (ml && parse_labels(c, ml, "matchLabels", &out->match_labels))
		r = -EINVAL;
	me = map_get(c, n, "matchExpressions");
	if (me) {
		size_t o2 = path_push(c, ".matchExpressions"), cnt;

		if (!want(c, me, YAML_SEQUENCE_NODE)) {
			r = -EINVAL;
			path_pop(c, o2);
			goto out;
		}
		cnt = (size_t)(me->data.sequence.items.top - me->data.sequence.items.start);
		if (cnt > c->lim->max_exprs) {
			perr(c, me, "too many expressions: %zu (limit %zu)", cnt,
			     c->lim->max_exprs);
			r = -EINVAL;
			path_pop(c, o2);
			goto out;
		}
		out->exprs = xcalloc(c, cnt, sizeof(*out->exprs));
		if (!out->exprs) {
			r = -ENOMEM;
			path_pop(c, o2);
			goto out;
		}
		for (i = 0; i < cnt; i++) {
			yaml_node_t *e = node(c, me->data.sequence.items.start[i]), *kn, *on, *vn;
			struct pw_sel_expr *x = &out->exprs[out->n_exprs];
			size_t o3 = path_push(c, "[%zu]", i), j, nv = 0;
			const char *key, *op;

			if (!e || !want(c, e, YAML_MAPPING_NODE)) {
				r = -EINVAL;
				path_pop(c, o3);
				continue;
			}
			key = get_str(c, e, "key", &kn);
			op = get_str(c, e, "operator", &on);
			vn = map_get(c, e, "values");
			if (!kn || !key) {
				if (!kn)
					perr(c, e, "key: required");
				r = -EINVAL;
			} else if (!valid_label_key(key)) {
				perr(c, kn, "invalid label key \"%s\"", key);
				r = -EINVAL;
			}
			if (!on || !op) {
				if (!on)
					perr(c, e, "operator: required");
				r = -EINVAL;
				path_pop(c, o3);
				continue;
			}
			if (!strcmp(op, "In"))
				x->op = PW_SEL_IN;
			else if (!strcmp(op, "NotIn"))
				x->op = PW_SEL_NOTIN;
			else if (!strcmp(op, "Exists"))
				x->op = PW_SEL_EXISTS;
			else if (!strcmp(op, "DoesNotExist"))
				x->op = PW_SEL_DOESNOTEXIST;
			else {
				size_t o4 = path_push(c, ".operator");

				perr(c, on,
				     "unknown operator \"%s\" (In, NotIn, Exists, DoesNotExist)",
				     op);
				path_pop(c, o4);
				r = -EINVAL;
				path_pop(c, o3);
				continue;
			}
			if (vn) {
				size_t o4 = path_push(c, ".values");

				if (!want(c, vn, YAML_SEQUENCE_NODE)) {
					r = -EINVAL;
					path_pop(c, o4);
					path_pop(c, o3);
					continue;
				}
				nv = (size_t)(vn->data.sequence.items.top -
					      vn->data.sequence.items.start);
				if (nv > c->lim->max_exprs) {
					perr(c, vn, "too many values: %zu (limit %zu)", nv,
					     c->lim->max_exprs);
					r = -EINVAL;
					nv = 0;
				}
				path_pop(c, o4);
			}
			if ((x->op == PW_SEL_IN || x->op == PW_SEL_NOTIN) && !nv) {
				perr(c, vn ? vn : e,
				     "values: must be non-empty when operator is %s", op);
				r = -EINVAL;
			}
			if ((x->op == PW_SEL_EXISTS || x->op == PW_SEL_DOESNOTEXIST) && nv) {
				perr(c, vn, "values: must be empty when operator is %s", op);
				r = -EINVAL;
				nv = 0;
			}
			x->values = xcalloc(c, nv, sizeof(*x->values));
			if (!x->values) {
				path_pop(c, o3);
				continue;
			}
			for (j = 0; j < nv; j++) {
				yaml_node_t *v = node(c, vn->data.sequence.items.start[j]);
				size_t o4 = path_push(c, ".values[%zu]", j);
				const char *vs = v ? str_of(c, v) : NULL;

				if (!vs) {
					r = -EINVAL;
				} else if (!valid_label_name(vs, true)) {
					perr(c, v, "invalid label value \"%s\"", vs);
					r = -EINVAL;
				} else {
					x->values[x->n_values++] = xstrdup(c, vs);
				}
				path_pop(c, o4);
			}
			if (key)
				x->key = xstrdup(c, key);
			else
				x->key = xstrdup(c, "");
			out->n_exprs++;
			path_pop(c, o3);
		}
		path_pop(c, o2);
	}
out:
	path_pop(c, old);
	return r;
}

/* ---- metadata ---- */

struct meta {
	const char *name;
	const char *ns;
	yaml_node_t *labels;
	yaml_node_t *annotations;
	yaml_node_t *name_node;
};

static int parse_meta(struct pctx *c, yaml_node_t *obj, const char *kind, bool namespaced,
		      struct meta *m)
{
	yaml_node_t *md = map_get(c, obj, "metadata"), *nsn;
	int r = 0;

	memset(m, 0, sizeof(*m));
	snprintf(c->object, sizeof(c->object), "%s", kind);
	if (!md) {
		perr(c, obj, "metadata: required");
		return -EINVAL;
	}
	if (!want(c, md, YAML_MAPPING_NODE))
		return -EINVAL;
	path_push(c, "metadata");
	m->name = get_str(c, md, "name", &m->name_node);
	m->ns = namespaced ? get_str(c, md, "namespace", &nsn) : NULL;
	if (namespaced && !m->ns)
		m->ns = "default";
	if (m->name)
		snprintf(c->object, sizeof(c->object), namespaced ? "%s %s/%s" : "%s %s%s", kind,
			 namespaced ? m->ns : m->name, namespaced ? m->name : "");
	if (!m->name) {
		if (!m->name_node)
			perr(c, md, "name: required");
		r = -EINVAL;
	} else if (!valid_dns_subdomain(m->name, strlen(m->name))) {
		path_push(c, ".name");
		perr(c, m->name_node, "invalid name \"%s\"", m->name);
		path_pop(c, 0);
		path_push(c, "metadata");
		r = -EINVAL;
	}
	if (namespaced && m->ns &&
	    (strlen(m->ns) > 63 || !valid_dns_subdomain(m->ns, strlen(m->ns)) ||
	     strchr(m->ns, '.'))) {
		path_push(c, ".namespace");
		perr(c, nsn, "invalid namespace \"%s\"", m->ns);
		path_pop(c, 0);
		path_push(c, "metadata");
		r = -EINVAL;
	}
	m->labels = map_get(c, md, "labels");
	m->annotations = map_get(c, md, "annotations");
	if (m->annotations && !want(c, m->annotations, YAML_MAPPING_NODE))
		r = -EINVAL;
	path_pop(c, 0);
	return r;
}

static const char *annotation(struct pctx *c, struct meta *m, const char *key, yaml_node_t **ret_n)
{
	const char *s;

	*ret_n = NULL;
	if (!m->annotations || m->annotations->type != YAML_MAPPING_NODE)
		return NULL;
	path_push(c, "metadata.annotations");
	s = get_str(c, m->annotations, key, ret_n);
	path_pop(c, 0);
	return s;
}

/* ---- adding objects to the part ---- */

static int grow(struct pctx *c, void ***v, size_t n, size_t *cap)
{
	if (n < *cap)
		return 0;
	{
		size_t nc = *cap ? *cap * 2 : 16;
		void **nv = realloc(*v, nc * sizeof(**v));

		if (!nv) {
			c->oom = 1;
			return -ENOMEM;
		}
		*v = nv;
		*cap = nc;
	}
	return 0;
}

static size_t n_objects(struct pctx *c)
{
	return c->part->n_nss + c->part->n_pods + c->part->n_policies;
}

static bool objects_full(struct pctx *c, yaml_node_t *obj)
{
	if (n_objects(c) < c->lim->max_objects)
		return false;
	perr(c, obj, "too many objects (limit %zu)", c->lim->max_objects);
	return true;
}

/* ---- Namespace ---- */

static void parse_namespace(struct pctx *c, yaml_node_t *obj)
{
	struct meta m;
	struct pw_ns *ns;
	int r;
	size_t i;
	bool have_name_label = false;

	if (parse_meta(c, obj, "Namespace", false, &m) || objects_full(c, obj))
		return;
	ns = xcalloc(c, 1, sizeof(*ns));
	if (!ns)
		return;
	ns->name = xstrdup(c, m.name);
	ns->pos = pos_of(c, obj);
	ns->defined = true;
	path_push(c, "metadata");
	r = m.labels ? parse_labels(c, m.labels, "labels", &ns->labels) : 0;
	path_pop(c, 0);
	if (!r) {
		/* The API server sets this label; a file may carry it already. */
		for (i = 0; i < ns->labels.n; i++)
			if (!strcmp(ns->labels.v[i].key, NS_NAME_LABEL)) {
				have_name_label = true;
				if (strcmp(ns->labels.v[i].value, m.name))
					pwarn(c, m.labels,
					      "label %s=%s replaced by the namespace name %s",
					      NS_NAME_LABEL, ns->labels.v[i].value, m.name);
				free(ns->labels.v[i].value);
				ns->labels.v[i].value = xstrdup(c, m.name);
			}
		if (!have_name_label) {
			struct pw_label *v = realloc(ns->labels.v, (ns->labels.n + 1) * sizeof(*v));

			if (!v) {
				c->oom = 1;
			} else {
				ns->labels.v = v;
				v[ns->labels.n].key = xstrdup(c, NS_NAME_LABEL);
				v[ns->labels.n].value = xstrdup(c, m.name);
				ns->labels.n++;
				pw_labels_sort(&ns->labels);
			}
		}
	}
	if (r || c->oom || grow(c, (void ***)&c->part->nss, c->part->n_nss, &c->caps[0])) {
		pw_ns_free(ns);
		return;
	}
	c->part->nss[c->part->n_nss++] = ns;
}

/* ---- Pod ---- */

static int add_addr(struct pctx *c, struct pw_pod *p, yaml_node_t *n, const char *s)
{
	union pw_addr a;
	size_t i;

	if (pw_addr_parse(s, &a, NULL)) {
		perr(c, n, "invalid IP address \"%s\"", s);
		return -EINVAL;
	}
	for (i = 0; i < p->n_addrs; i++)
		if (!memcmp(&p->addrs[i], &a, sizeof(a)))
			return 0;
	if (p->n_addrs >= c->lim->max_addrs) {
		perr(c, n, "too many addresses (limit %zu)", c->lim->max_addrs);
		return -EINVAL;
	}
	p->addrs[p->n_addrs++] = a;
	return 0;
}

static int parse_proto(struct pctx *c, yaml_node_t *n, uint8_t *ret)
{
	const char *s = str_of(c, n);

	if (!s)
		return -EINVAL;
	if (!strcmp(s, "TCP"))
		*ret = PW_PROTO_TCP;
	else if (!strcmp(s, "UDP"))
		*ret = PW_PROTO_UDP;
	else if (!strcmp(s, "SCTP"))
		*ret = PW_PROTO_SCTP;
	else {
		perr(c, n, "unsupported protocol \"%s\" (TCP, UDP, SCTP)", s);
		return -EINVAL;
	}
	return 0;
}

static int parse_containers(struct pctx *c, struct pw_pod *p, yaml_node_t *spec, const char *key)
{
	yaml_node_t *cs = map_get(c, spec, key);
	size_t i, j, nc;
	int r = 0;

	if (!cs)
		return 0;
	path_push(c, "spec.%s", key);
	if (!want(c, cs, YAML_SEQUENCE_NODE)) {
		path_pop(c, 0);
		return -EINVAL;
	}
	nc = (size_t)(cs->data.sequence.items.top - cs->data.sequence.items.start);
	for (i = 0; i < nc; i++) {
		yaml_node_t *ct = node(c, cs->data.sequence.items.start[i]), *ps;
		size_t o = path_push(c, "[%zu]", i), np;

		if (!ct || !want(c, ct, YAML_MAPPING_NODE)) {
			r = -EINVAL;
			path_pop(c, o);
			continue;
		}
		ps = map_get(c, ct, "ports");
		if (!ps) {
			path_pop(c, o);
			continue;
		}
		path_push(c, ".ports");
		if (!want(c, ps, YAML_SEQUENCE_NODE)) {
			r = -EINVAL;
			path_pop(c, o);
			continue;
		}
		np = (size_t)(ps->data.sequence.items.top - ps->data.sequence.items.start);
		for (j = 0; j < np; j++) {
			yaml_node_t *pn = node(c, ps->data.sequence.items.start[j]), *nn, *cp, *pr;
			size_t o2 = path_push(c, "[%zu]", j);
			struct pw_cport cport = { .proto = PW_PROTO_TCP };
			const char *name;
			long port;

			if (!pn || !want(c, pn, YAML_MAPPING_NODE)) {
				r = -EINVAL;
				path_pop(c, o2);
				continue;
			}
			name = get_str(c, pn, "name", &nn);
			if (nn && !name)
				r = -EINVAL;
			if (name && !valid_port_name(name)) {
				path_push(c, ".name");
				perr(c, nn, "invalid port name \"%s\"", name);
				r = -EINVAL;
				name = NULL;
			}
			path_pop(c, o2);
			path_push(c, "[%zu]", j);
			cp = map_get(c, pn, "containerPort");
			path_push(c, ".containerPort");
			if (!cp) {
				perr(c, pn, "required");
				r = -EINVAL;
			} else if (!int_of(c, cp, &port)) {
				if (port < 1 || port > 65535) {
					perr(c, cp, "port %ld out of range 1-65535", port);
					r = -EINVAL;
				}
				cport.port = (uint16_t)port;
			} else {
				r = -EINVAL;
			}
			path_pop(c, o2);
			path_push(c, "[%zu].protocol", j);
			pr = map_get(c, pn, "protocol");
			if (pr && parse_proto(c, pr, &cport.proto))
				r = -EINVAL;
			path_pop(c, o2);
			if (!cport.port)
				continue;
			if (p->n_cports >= c->lim->max_cports) {
				perr(c, pn, "too many container ports (limit %zu)",
				     c->lim->max_cports);
				r = -EINVAL;
				continue;
			}
			{
				struct pw_cport *v =
					realloc(p->cports, (p->n_cports + 1) * sizeof(*v));

				if (!v) {
					c->oom = 1;
					continue;
				}
				p->cports = v;
			}
			cport.name = name ? xstrdup(c, name) : NULL;
			p->cports[p->n_cports++] = cport;
		}
		path_pop(c, o);
	}
	path_pop(c, 0);
	return r;
}

static void parse_pod(struct pctx *c, yaml_node_t *obj)
{
	yaml_node_t *spec, *status, *n;
	struct meta m;
	struct pw_pod *p;
	const char *s;
	int r = 0;

	if (parse_meta(c, obj, "Pod", true, &m) || objects_full(c, obj))
		return;
	p = xcalloc(c, 1, sizeof(*p));
	if (!p)
		return;
	p->ns = xstrdup(c, m.ns);
	p->name = xstrdup(c, m.name);
	p->pos = pos_of(c, obj);
	p->addrs = xcalloc(c, c->lim->max_addrs, sizeof(*p->addrs));
	if (c->oom)
		goto fail;
	path_push(c, "metadata");
	if (m.labels && parse_labels(c, m.labels, "labels", &p->labels))
		r = -EINVAL;
	path_pop(c, 0);
	s = annotation(c, &m, "podwall.io/interface", &n);
	if (s)
		p->iface = xstrdup(c, s);
	else if (n)
		r = -EINVAL;

	spec = map_get(c, obj, "spec");
	if (spec) {
		path_push(c, "spec");
		if (!want(c, spec, YAML_MAPPING_NODE)) {
			r = -EINVAL;
			spec = NULL;
		}
		path_pop(c, 0);
	}
	if (spec) {
		n = map_get(c, spec, "hostNetwork");
		path_push(c, "spec.hostNetwork");
		if (n && bool_of(c, n, &p->host_network))
			r = -EINVAL;
		path_pop(c, 0);
		path_push(c, "spec");
		s = get_str(c, spec, "nodeName", &n);
		path_pop(c, 0);
		if (s)
			p->node_name = xstrdup(c, s);
		else if (n)
			r = -EINVAL;
		if (parse_containers(c, p, spec, "containers"))
			r = -EINVAL;
		if (parse_containers(c, p, spec, "initContainers"))
			r = -EINVAL;
	}
	status = map_get(c, obj, "status");
	if (status) {
		path_push(c, "status");
		if (!want(c, status, YAML_MAPPING_NODE)) {
			r = -EINVAL;
			status = NULL;
		}
		path_pop(c, 0);
	}
	if (status) {
		path_push(c, "status");
		s = get_str(c, status, "phase", &n);
		path_pop(c, 0);
		if (s) {
			p->phase_text = xstrdup(c, s);
			if (!strcmp(s, "Running"))
				p->phase = PW_PHASE_RUNNING;
			else if (!strcmp(s, "Pending"))
				p->phase = PW_PHASE_PENDING;
			else if (!strcmp(s, "Succeeded"))
				p->phase = PW_PHASE_SUCCEEDED;
			else if (!strcmp(s, "Failed"))
				p->phase = PW_PHASE_FAILED;
		} else if (n) {
			r = -EINVAL;
		}
		path_push(c, "status");
		s = get_str(c, status, "podIP", &n);
		path_pop(c, 0);
		path_push(c, "status.podIP");
		if (s && add_addr(c, p, n, s))
			r = -EINVAL;
		else if (!s && n)
			r = -EINVAL;
		path_pop(c, 0);
		n = map_get(c, status, "podIPs");
		if (n) {
			size_t i, cnt;

			path_push(c, "status.podIPs");
			if (!want(c, n, YAML_SEQUENCE_NODE)) {
				r = -EINVAL;
				cnt = 0;
			} else {
				cnt = (size_t)(n->data.sequence.items.top -
					       n->data.sequence.items.start);
			}
			for (i = 0; i < cnt; i++) {
				yaml_node_t *e = node(c, n->data.sequence.items.start[i]), *ipn;
				size_t o = path_push(c, "[%zu]", i);

				if (!e || !want(c, e, YAML_MAPPING_NODE)) {
					r = -EINVAL;
					path_pop(c, o);
					continue;
				}
				s = get_str(c, e, "ip", &ipn);
				path_push(c, ".ip");
				if (s && add_addr(c, p, ipn, s))
					r = -EINVAL;
				else if (!s && ipn)
					r = -EINVAL;
				path_pop(c, o);
			}
			path_pop(c, 0);
		}
	}
	if (r || c->oom || grow(c, (void ***)&c->part->pods, c->part->n_pods, &c->caps[1]))
		goto fail;
	c->part->pods[c->part->n_pods++] = p;
	return;
fail:
	pw_pod_free(p);
}

/* ---- NetworkPolicy ---- */

static int parse_cidr(struct pctx *c, yaml_node_t *n, struct pw_cidr *out)
{
	const char *s = str_of(c, n);
	bool host_bits;
	char buf[64];

	if (!s)
		return -EINVAL;
	if (++c->n_cidrs > c->lim->max_cidrs) {
		perr(c, n, "too many CIDRs (limit %zu)", c->lim->max_cidrs);
		return -EINVAL;
	}
	if (pw_cidr_parse(s, out, &host_bits)) {
		perr(c, n, "invalid CIDR \"%s\"", s);
		return -EINVAL;
	}
	out->pos = pos_of(c, n);
	if (host_bits)
		pwarn(c, n, "CIDR \"%s\" has host bits set; using %s", s,
		      pw_cidr_str(&out->addr, out->plen, buf, sizeof(buf)));
	return 0;
}

static int parse_ipblock(struct pctx *c, yaml_node_t *n, struct pw_ipblock *out)
{
	yaml_node_t *cn, *en;
	size_t old = path_push(c, ".ipBlock"), i, cnt;
	bool cidr_ok = false;
	int r = 0;

	out->present = true;
	if (!want(c, n, YAML_MAPPING_NODE)) {
		r = -EINVAL;
		goto out;
	}
	cn = map_get(c, n, "cidr");
	path_push(c, ".cidr");
	if (!cn) {
		perr(c, n, "required");
		r = -EINVAL;
	} else if (parse_cidr(c, cn, &out->cidr)) {
		r = -EINVAL;
	} else {
		cidr_ok = true;
	}
	path_pop(c, old + strlen(".ipBlock"));
	en = map_get(c, n, "except");
	if (!en)
		goto out;
	path_push(c, ".except");
	if (!want(c, en, YAML_SEQUENCE_NODE)) {
		r = -EINVAL;
		goto out;
	}
	cnt = (size_t)(en->data.sequence.items.top - en->data.sequence.items.start);
	out->except = xcalloc(c, cnt, sizeof(*out->except));
	if (!out->except) {
		r = -ENOMEM;
		goto out;
	}
	for (i = 0; i < cnt; i++) {
		yaml_node_t *e = node(c, en->data.sequence.items.start[i]);
		size_t o = path_push(c, "[%zu]", i);
		struct pw_cidr *x = &out->except[out->n_except];

		if (!e || parse_cidr(c, e, x)) {
			r = -EINVAL;
		} else if (cidr_ok && (x->v4 != out->cidr.v4 || x->plen <= out->cidr.plen ||
				       !pw_cidr_contains(&out->cidr, &x->addr))) {
			char b1[64], b2[64];

			perr(c, e, "except %s must be a strict subset of cidr %s",
			     pw_cidr_str(&x->addr, x->plen, b1, sizeof(b1)),
			     pw_cidr_str(&out->cidr.addr, out->cidr.plen, b2, sizeof(b2)));
			r = -EINVAL;
		} else {
			out->n_except++;
		}
		path_pop(c, o);
	}
out:
	path_pop(c, old);
	return r;
}

static int parse_peer(struct pctx *c, yaml_node_t *n, struct pw_peer *out)
{
	yaml_node_t *ps, *ns, *ib;
	int r = 0;

	out->pos = pos_of(c, n);
	if (!want(c, n, YAML_MAPPING_NODE))
		return -EINVAL;
	ps = map_get(c, n, "podSelector");
	ns = map_get(c, n, "namespaceSelector");
	ib = map_get(c, n, "ipBlock");
	if (!ps && !ns && !ib) {
		perr(c, n, "must specify a peer (podSelector, namespaceSelector or ipBlock)");
		return -EINVAL;
	}
	if (ib && (ps || ns)) {
		perr(c, n, "may not specify both ipBlock and another peer");
		return -EINVAL;
	}
	if (ps && parse_selector(c, ps, "podSelector", &out->pod_sel))
		r = -EINVAL;
	if (ns && parse_selector(c, ns, "namespaceSelector", &out->ns_sel))
		r = -EINVAL;
	if (ib && parse_ipblock(c, ib, &out->ipblock))
		r = -EINVAL;
	return r;
}

static int parse_port(struct pctx *c, yaml_node_t *n, struct pw_port *out)
{
	yaml_node_t *pr, *pn, *en;
	size_t old = c->path_len;
	long v;
	int r = 0;

	out->proto = PW_PROTO_TCP;
	out->pos = pos_of(c, n);
	if (!want(c, n, YAML_MAPPING_NODE))
		return -EINVAL;
	pr = map_get(c, n, "protocol");
	path_push(c, ".protocol");
	if (pr && parse_proto(c, pr, &out->proto))
		r = -EINVAL;
	path_pop(c, old);
	pn = map_get(c, n, "port");
	path_push(c, ".port");
	if (pn && pn->type == YAML_SCALAR_NODE &&
	    pn->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && pn->data.scalar.value[0] >= '0' &&
	    pn->data.scalar.value[0] <= '9') {
		if (int_of(c, pn, &v)) {
			r = -EINVAL;
		} else if (v < 1 || v > 65535) {
			perr(c, pn, "port %ld out of range 1-65535", v);
			r = -EINVAL;
		} else {
			out->port = (uint16_t)v;
		}
	} else if (pn && pn->type == YAML_SCALAR_NODE &&
		   pn->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
		   pn->data.scalar.value[0] == '-') {
		perr(c, pn, "port %s out of range 1-65535", (char *)pn->data.scalar.value);
		r = -EINVAL;
	} else if (pn) {
		const char *s = str_of(c, pn);

		if (!s) {
			r = -EINVAL;
		} else if (!valid_port_name(s)) {
			perr(c, pn, "invalid port name \"%s\"", s);
			r = -EINVAL;
		} else {
			out->name = xstrdup(c, s);
		}
	}
	path_pop(c, old);
	en = map_get(c, n, "endPort");
	path_push(c, ".endPort");
	if (en) {
		if (int_of(c, en, &v)) {
			r = -EINVAL;
		} else if (v < 1 || v > 65535) {
			perr(c, en, "endPort %ld out of range 1-65535", v);
			r = -EINVAL;
		} else if (!pn) {
			perr(c, en, "may not be specified without port");
			r = -EINVAL;
		} else if (out->name) {
			perr(c, en, "may not be specified when port is a named port");
			r = -EINVAL;
		} else if (out->port && v < out->port) {
			perr(c, en, "endPort %ld must be greater than or equal to port %u", v,
			     out->port);
			r = -EINVAL;
		} else {
			out->end_port = (uint16_t)v;
		}
	}
	path_pop(c, old);
	return r;
}

typedef int (*item_parser)(struct pctx *c, yaml_node_t *x, void *out);

static int parse_peer_item(struct pctx *c, yaml_node_t *x, void *out)
{
	return parse_peer(c, x, out);
}

static int parse_port_item(struct pctx *c, yaml_node_t *x, void *out)
{
	return parse_port(c, x, out);
}

/*
 * The sequence `seq` at field `name`: at most `limit` items of `size` bytes,
 * each parsed by `fn`.  Items that fail still count (their errors are
 * reported), so every error of the sequence is listed.
 */
static int parse_seq(struct pctx *c, yaml_node_t *seq, const char *name, const char *what,
		     size_t limit, size_t size, item_parser fn, void **ret_items, size_t *ret_n)
{
	size_t o = path_push(c, ".%s", name), n, j;
	char *items;
	int r = 0;

	if (!want(c, seq, YAML_SEQUENCE_NODE)) {
		path_pop(c, o);
		return -EINVAL;
	}
	n = (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start);
	if (n > limit) {
		perr(c, seq, "too many %s: %zu (limit %zu)", what, n, limit);
		path_pop(c, o);
		return -EINVAL;
	}
	items = xcalloc(c, n, size);
	*ret_items = items;
	for (j = 0; items && j < n; j++) {
		yaml_node_t *x = node(c, seq->data.sequence.items.start[j]);
		size_t o2 = path_push(c, "[%zu]", j);

		if (!x || fn(c, x, items + (*ret_n)++ * size))
			r = -EINVAL;
		path_pop(c, o2);
	}
	path_pop(c, o);
	return r;
}

static int parse_rules(struct pctx *c, struct pw_policy *p, yaml_node_t *spec, int dir)
{
	const char *key = dir == PW_DIR_INGRESS ? "ingress" : "egress";
	const char *peers_key = dir == PW_DIR_INGRESS ? "from" : "to";
	yaml_node_t *rs = map_get(c, spec, key);
	size_t i, cnt;
	int r = 0;

	if (!rs)
		return 0;
	path_push(c, "spec.%s", key);
	if (!want(c, rs, YAML_SEQUENCE_NODE)) {
		path_pop(c, 0);
		return -EINVAL;
	}
	cnt = (size_t)(rs->data.sequence.items.top - rs->data.sequence.items.start);
	if (cnt + p->n_rules[0] > c->lim->max_rules) {
		perr(c, rs, "too many rules: %zu (limit %zu)", cnt + p->n_rules[0],
		     c->lim->max_rules);
		path_pop(c, 0);
		return -EINVAL;
	}
	p->rules[dir] = xcalloc(c, cnt, sizeof(*p->rules[dir]));
	if (!p->rules[dir]) {
		path_pop(c, 0);
		return -ENOMEM;
	}
	for (i = 0; i < cnt; i++) {
		yaml_node_t *rn = node(c, rs->data.sequence.items.start[i]), *pe, *po;
		struct pw_rule *rule = &p->rules[dir][p->n_rules[dir]++];
		size_t o = path_push(c, "[%zu]", i);

		if (!rn) {
			r = -EINVAL;
			path_pop(c, o);
			continue;
		}
		rule->pos = pos_of(c, rn);
		if (is_null(rn)) {
			path_pop(c, o);
			continue;
		}
		if (!want(c, rn, YAML_MAPPING_NODE)) {
			r = -EINVAL;
			path_pop(c, o);
			continue;
		}
		pe = map_get(c, rn, peers_key);
		po = map_get(c, rn, "ports");
		if (pe &&
		    parse_seq(c, pe, peers_key, "peers", c->lim->max_peers, sizeof(*rule->peers),
			      parse_peer_item, (void **)&rule->peers, &rule->n_peers))
			r = -EINVAL;
		if (po &&
		    parse_seq(c, po, "ports", "ports", c->lim->max_ports, sizeof(*rule->ports),
			      parse_port_item, (void **)&rule->ports, &rule->n_ports))
			r = -EINVAL;
		path_pop(c, o);
	}
	path_pop(c, 0);
	return r;
}

static void parse_policy(struct pctx *c, yaml_node_t *obj)
{
	yaml_node_t *spec, *n;
	struct meta m;
	struct pw_policy *p;
	const char *s;
	int r = 0;

	if (parse_meta(c, obj, "NetworkPolicy", true, &m) || objects_full(c, obj))
		return;
	p = xcalloc(c, 1, sizeof(*p));
	if (!p)
		return;
	p->ns = xstrdup(c, m.ns);
	p->name = xstrdup(c, m.name);
	p->pos = pos_of(c, obj);
	if (c->oom)
		goto fail;
	if (m.labels) {
		struct pw_labels tmp = {};

		path_push(c, "metadata");
		if (parse_labels(c, m.labels, "labels", &tmp))
			r = -EINVAL;
		path_pop(c, 0);
		for (size_t i = 0; i < tmp.n; i++) {
			free(tmp.v[i].key);
			free(tmp.v[i].value);
		}
		free(tmp.v);
	}
	s = annotation(c, &m, "podwall.io/audit", &n);
	if (s) {
		if (!strcmp(s, "true"))
			p->audit = true;
		else if (strcmp(s, "false")) {
			path_push(c, "metadata.annotations[podwall.io/audit]");
			perr(c, n, "expected \"true\" or \"false\", found \"%s\"", s);
			path_pop(c, 0);
			r = -EINVAL;
		}
	} else if (n) {
		r = -EINVAL;
	}
	spec = map_get(c, obj, "spec");
	if (!spec) {
		perr(c, obj, "spec: required");
		goto fail;
	}
	path_push(c, "spec");
	if (!want(c, spec, YAML_MAPPING_NODE)) {
		path_pop(c, 0);
		goto fail;
	}
	path_pop(c, 0);
	n = map_get(c, spec, "podSelector");
	path_push(c, "spec");
	if (n) {
		if (parse_selector(c, n, "podSelector", &p->pod_sel))
			r = -EINVAL;
	} else {
		p->pod_sel.present = true;
		p->pod_sel.pos = pos_of(c, spec);
	}
	path_pop(c, 0);
	if (parse_rules(c, p, spec, PW_DIR_INGRESS))
		r = -EINVAL;
	if (parse_rules(c, p, spec, PW_DIR_EGRESS))
		r = -EINVAL;
	n = map_get(c, spec, "policyTypes");
	if (n) {
		size_t i, cnt;

		path_push(c, "spec.policyTypes");
		if (!want(c, n, YAML_SEQUENCE_NODE)) {
			r = -EINVAL;
			cnt = 0;
		} else {
			cnt = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
		}
		for (i = 0; i < cnt; i++) {
			yaml_node_t *t = node(c, n->data.sequence.items.start[i]);
			size_t o = path_push(c, "[%zu]", i);

			s = t ? str_of(c, t) : NULL;
			if (!s)
				r = -EINVAL;
			else if (!strcmp(s, "Ingress"))
				p->types[PW_DIR_INGRESS] = true;
			else if (!strcmp(s, "Egress"))
				p->types[PW_DIR_EGRESS] = true;
			else {
				perr(c, t, "unknown policy type \"%s\" (Ingress, Egress)", s);
				r = -EINVAL;
			}
			path_pop(c, o);
		}
		path_pop(c, 0);
	}
	/* SetDefaults_NetworkPolicy: no types -> Ingress, plus Egress when
	 * spec.egress is non-empty. */
	if (!p->types[0] && !p->types[1]) {
		p->types[PW_DIR_INGRESS] = true;
		if (p->n_rules[PW_DIR_EGRESS])
			p->types[PW_DIR_EGRESS] = true;
	}
	if (r || c->oom || grow(c, (void ***)&c->part->policies, c->part->n_policies, &c->caps[2]))
		goto fail;
	c->part->policies[c->part->n_policies++] = p;
	return;
fail:
	pw_policy_free(p);
}

/* ---- documents ---- */

static void parse_object(struct pctx *c, yaml_node_t *obj, int depth)
{
	const char *api, *kind;
	yaml_node_t *an, *kn;

	c->object[0] = 0;
	path_pop(c, 0);
	if (!obj || is_null(obj))
		return;
	if (obj->type != YAML_MAPPING_NODE) {
		perr(c, obj, "expected a Kubernetes object (a mapping), found %s", type_name(obj));
		return;
	}
	api = get_str(c, obj, "apiVersion", &an);
	kind = get_str(c, obj, "kind", &kn);
	if (!kind) {
		if (!kn)
			perr(c, obj, "kind: required");
		return;
	}
	if (!api) {
		if (!an)
			perr(c, obj, "apiVersion: required");
		return;
	}
	if (!strcmp(kind, "List") ||
	    (strlen(kind) > 4 && !strcmp(kind + strlen(kind) - 4, "List"))) {
		yaml_node_t *items = map_get(c, obj, "items");
		size_t i, cnt;

		if (depth > 0) {
			perr(c, obj, "a List inside a List is not supported");
			return;
		}
		if (!items)
			return;
		path_push(c, "items");
		if (!want(c, items, YAML_SEQUENCE_NODE)) {
			path_pop(c, 0);
			return;
		}
		path_pop(c, 0);
		cnt = (size_t)(items->data.sequence.items.top - items->data.sequence.items.start);
		for (i = 0; i < cnt && !c->budget_hit && !c->oom; i++)
			parse_object(c, node(c, items->data.sequence.items.start[i]), depth + 1);
		return;
	}
	if (!strcmp(kind, "NetworkPolicy") && !strcmp(api, "networking.k8s.io/v1"))
		parse_policy(c, obj);
	else if (!strcmp(kind, "Pod") && !strcmp(api, "v1"))
		parse_pod(c, obj);
	else if (!strcmp(kind, "Namespace") && !strcmp(api, "v1"))
		parse_namespace(c, obj);
	else
		pwarn(c, obj,
		      "skipping %s %s: podwall reads v1 Namespace, v1 Pod and "
		      "networking.k8s.io/v1 NetworkPolicy",
		      api, kind);
	c->object[0] = 0;
	path_pop(c, 0);
}

static struct pw_model *new_part(const char *name)
{
	struct pw_model *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->files = calloc(1, sizeof(*m->files));
	if (m->files)
		m->files[0] = strdup(name);
	if (!m->files || !m->files[0]) {
		pw_model_free(m);
		return NULL;
	}
	m->n_files = 1;
	return m;
}

static int parse_buffer_part(const char *name, const char *buf, size_t len,
			     const struct pw_limits *lim, struct pw_model **ret_part,
			     struct pw_diags *diags)
{
	struct pw_limits l = lim ? *lim : (struct pw_limits){};
	struct pctx c = {};
	yaml_parser_t parser;
	size_t errs = diags->n_errors;
	struct pw_model *part;
	int r = 0;

	pw_limits_fill(&l);
	part = new_part(name);
	if (!part)
		return -ENOMEM;
	c.file = part->files[0];
	c.diags = diags;
	c.lim = &l;
	c.part = part;
	c.budget = l.max_nodes;
	if (len > l.max_file_bytes) {
		struct pw_pos p = { .file = c.file };

		pw_diag_add(diags, PW_SEV_ERROR, &p, NULL, NULL,
			    "file too large: %zu bytes (limit %zu)", len, l.max_file_bytes);
		pw_model_free(part);
		return -EINVAL;
	}
	if (!yaml_parser_initialize(&parser)) {
		pw_model_free(part);
		return -ENOMEM;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	for (;;) {
		yaml_document_t doc;
		yaml_node_t *root;

		if (!yaml_parser_load(&parser, &doc)) {
			struct pw_pos p = { .file = c.file,
					    .line = (int)parser.problem_mark.line + 1,
					    .col = (int)parser.problem_mark.column + 1 };

			if (parser.error == YAML_MEMORY_ERROR) {
				r = -ENOMEM;
				break;
			}
			pw_diag_add(diags, PW_SEV_ERROR, &p, NULL, NULL, "YAML: %s%s%s",
				    parser.problem ? parser.problem : "syntax error",
				    parser.context ? " " : "",
				    parser.context ? parser.context : "");
			break;
		}
		root = yaml_document_get_root_node(&doc);
		if (!root) {
			yaml_document_delete(&doc);
			break;
		}
		c.doc = &doc;
		parse_object(&c, root, 0);
		yaml_document_delete(&doc);
		c.doc = NULL;
		if (c.oom || c.budget_hit)
			break;
	}
	yaml_parser_delete(&parser);
	if (c.budget_hit) {
		struct pw_pos p = { .file = c.file };

		pw_diag_add(diags, PW_SEV_ERROR, &p, NULL, NULL,
			    "too many YAML nodes to visit (limit %zu; alias bomb?)", l.max_nodes);
	}
	if (c.oom)
		r = -ENOMEM;
	if (!r && diags->n_errors > errs)
		r = -EINVAL;
	if (r) {
		pw_model_free(part);
		return r;
	}
	*ret_part = part;
	return 0;
}

static int read_file(const char *path, size_t max, char **ret_buf, size_t *ret_len,
		     struct pw_diags *diags)
{
	struct pw_pos p = { .file = path };
	struct stat st;
	size_t len = 0;
	char *buf;
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		pw_diag_add(diags, PW_SEV_ERROR, &p, NULL, NULL, "cannot open: %s", strerror(-r));
		return r;
	}
	if (fstat(fd, &st)) {
		r = -errno;
		goto out_close;
	}
	if ((size_t)st.st_size > max) {
		pw_diag_add(diags, PW_SEV_ERROR, &p, NULL, NULL,
			    "file too large: %lld bytes (limit %zu)", (long long)st.st_size, max);
		r = -EINVAL;
		goto out_close;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		r = -ENOMEM;
		goto out_close;
	}
	while (len <= max) {
		ssize_t n = read(fd, buf + len, (size_t)st.st_size + 1 - len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			free(buf);
			pw_diag_add(diags, PW_SEV_ERROR, &p, NULL, NULL, "read: %s", strerror(-r));
			goto out_close;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > (size_t)st.st_size) {
			/* grew while reading: treat as too large rather than loop */
			free(buf);
			pw_diag_add(diags, PW_SEV_ERROR, &p, NULL, NULL,
				    "file changed while reading");
			r = -EAGAIN;
			goto out_close;
		}
	}
	*ret_buf = buf;
	*ret_len = len;
	r = 0;
out_close:
	close(fd);
	return r;
}

int pw_model_parse_file(const char *path, const struct pw_limits *lim, struct pw_model **ret_part,
			struct pw_diags *diags)
{
	struct pw_limits l = lim ? *lim : (struct pw_limits){};
	char *buf;
	size_t len;
	int r;

	buf = NULL;
	len = 0;
	pw_limits_fill(&l);
	r = read_file(path, l.max_file_bytes, &buf, &len, diags);
	if (r)
		return r;
	r = parse_buffer_part(path, buf, len, &l, ret_part, diags);
	free(buf);
	return r;
}

/* Merge parts into one model that owns everything, freeing the parts' shells. */
static int merge_owned(struct pw_model **parts, size_t n, const struct pw_limits *lim,
		       struct pw_model **ret_model, struct pw_diags *diags)
{
	struct pw_model *m;
	size_t i;
	int r;

	r = pw_model_merge(parts, n, lim, &m, diags);
	if (r)
		return r;
	m->borrowed = false;
	for (i = 0; i < n; i++) {
		free(parts[i]->files);
		free(parts[i]->nss);
		free(parts[i]->pods);
		free(parts[i]->policies);
		free(parts[i]);
		parts[i] = NULL;
	}
	*ret_model = m;
	return 0;
}

int pw_model_load_files(const char *const *paths, size_t n, const struct pw_limits *lim,
			struct pw_model **ret_model, struct pw_diags *diags)
{
	struct pw_limits l = lim ? *lim : (struct pw_limits){};
	struct pw_model **parts;
	size_t i, n_parts = 0, n_cidrs = 0;
	int r = 0, r2;

	pw_limits_fill(&l);
	if (n > l.max_files) {
		pw_diag_add(diags, PW_SEV_ERROR, NULL, NULL, NULL,
			    "too many files: %zu (limit %zu)", n, l.max_files);
		return -EINVAL;
	}
	parts = calloc(n ? n : 1, sizeof(*parts));
	if (!parts)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		r2 = pw_model_parse_file(paths[i], &l, &parts[n_parts], diags);
		if (!r2)
			n_parts++;
		else if (!r || r == -EINVAL)
			r = r2;
		if (r2 == -ENOMEM)
			break;
	}
	(void)n_cidrs;
	if (!r) {
		r = merge_owned(parts, n_parts, &l, ret_model, diags);
	} else if (r == -EINVAL) {
		struct pw_model *v = NULL;

		/* report duplicates among the files that parsed, too */
		if (!pw_model_merge(parts, n_parts, &l, &v, diags))
			pw_model_free(v);
	}
	for (i = 0; i < n_parts; i++)
		pw_model_free(parts[i]);
	free(parts);
	return r;
}

int pw_model_load_buffer(const char *name, const char *buf, size_t len, const struct pw_limits *lim,
			 struct pw_model **ret_model, struct pw_diags *diags)
{
	struct pw_model *part = NULL;
	int r;

	r = parse_buffer_part(name, buf, len, lim, &part, diags);
	if (r)
		return r;
	r = merge_owned(&part, 1, lim, ret_model, diags);
	pw_model_free(part);
	return r;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool yaml_name(const char *n)
{
	size_t l = strlen(n);

	if (n[0] == '.')
		return false;
	return (l > 5 && !strcmp(n + l - 5, ".yaml")) || (l > 4 && !strcmp(n + l - 4, ".yml"));
}

int pw_model_load_dir(const char *dir, const struct pw_limits *lim, struct pw_model **ret_model,
		      struct pw_diags *diags)
{
	struct pw_limits l = lim ? *lim : (struct pw_limits){};
	struct pw_pos p = { .file = dir };
	char **names = NULL;
	size_t n = 0, cap = 0, i;
	struct dirent *de;
	DIR *d;
	int r = 0;

	pw_limits_fill(&l);
	d = opendir(dir);
	if (!d) {
		r = -errno;
		pw_diag_add(diags, PW_SEV_ERROR, &p, NULL, NULL, "cannot open directory: %s",
			    strerror(-r));
		return r;
	}
	while ((de = readdir(d))) {
		char *full;

		if (!yaml_name(de->d_name))
			continue;
		if (n >= l.max_files) {
			pw_diag_add(diags, PW_SEV_ERROR, &p, NULL, NULL,
				    "too many files (limit %zu)", l.max_files);
			r = -EINVAL;
			break;
		}
		if (n == cap) {
			size_t c = cap ? cap * 2 : 16;
			char **v = realloc(names, c * sizeof(*v));

			if (!v) {
				r = -ENOMEM;
				break;
			}
			names = v;
			cap = c;
		}
		if (asprintf(&full, "%s/%s", dir, de->d_name) < 0) {
			r = -ENOMEM;
			break;
		}
		names[n++] = full;
	}
	closedir(d);
	if (!r) {
		if (n)
			qsort(names, n, sizeof(*names), name_cmp);
		r = pw_model_load_files((const char *const *)names, n, &l, ret_model, diags);
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return r;
}
