// SPDX-License-Identifier: MIT
/*
 * The lab's pods from a policy directory, and the plan (names, addresses).
 *
 * Only what the lab needs is read: Namespace names and, for each Pod, its
 * namespace, name, status.podIP/podIPs, container ports and hostNetwork.
 * Validation of everything else is the policy parser's job
 * (`podwallctl policy check`); a directory podwalld rejects still builds a
 * lab, which is useful to see what the policies would do once fixed.
 */
#include <arpa/inet.h>
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

#include "lab.h"

#define LAB_MAX_FILE_BYTES (16u << 20)
#define LAB_MAX_FILES 4096

static void seterr(char *err, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void seterr(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
}

size_t lab_strlcpy(char *dst, const char *src, size_t len)
{
	size_t n = strlen(src);

	if (len) {
		size_t c = n < len - 1 ? n : len - 1;

		memcpy(dst, src, c);
		dst[c] = 0;
	}
	return n;
}

bool lab_name_valid(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > LAB_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      (c == '-' && i > 0) || (c == '_' && i > 0)))
			return false;
	}
	return true;
}

const char *lab_proto_name(uint8_t proto)
{
	switch (proto) {
	case IPPROTO_TCP:
		return "tcp";
	case IPPROTO_UDP:
		return "udp";
	case IPPROTO_SCTP:
		return "sctp";
	}
	return "?";
}

int lab_proto_parse(const char *s, uint8_t *ret_proto)
{
	if (!strcasecmp(s, "tcp"))
		*ret_proto = IPPROTO_TCP;
	else if (!strcasecmp(s, "udp"))
		*ret_proto = IPPROTO_UDP;
	else if (!strcasecmp(s, "sctp"))
		*ret_proto = IPPROTO_SCTP;
	else
		return -EINVAL;
	return 0;
}

/* ---- a tiny view over a libyaml document ---- */

static yaml_node_t *ymap_get(yaml_document_t *d, yaml_node_t *map, const char *key)
{
	yaml_node_pair_t *p;

	if (!map || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(d, p->key);

		if (k && k->type == YAML_SCALAR_NODE && !strcmp((char *)k->data.scalar.value, key))
			return yaml_document_get_node(d, p->value);
	}
	return NULL;
}

static const char *yscalar(yaml_node_t *n)
{
	if (!n || n->type != YAML_SCALAR_NODE)
		return NULL;
	return (const char *)n->data.scalar.value;
}

static const char *ypath(yaml_document_t *d, yaml_node_t *n, const char *a, const char *b)
{
	n = ymap_get(d, n, a);
	if (b)
		n = ymap_get(d, n, b);
	return yscalar(n);
}

struct loader {
	struct lab *lab;
	const char *file;
	char *err;
	size_t errlen;
};

static int add_k8s_ns(struct lab *lab, const char *ns, char *err, size_t errlen)
{
	for (int i = 0; i < lab->n_k8s_ns; i++)
		if (!strcmp(lab->k8s_ns[i], ns))
			return 0;
	if (lab->n_k8s_ns >= LAB_MAX_NSS) {
		seterr(err, errlen, "more than %d namespaces (lab limit)", LAB_MAX_NSS);
		return -E2BIG;
	}
	if (strlen(ns) >= sizeof(lab->k8s_ns[0])) {
		seterr(err, errlen, "namespace name too long: %.80s", ns);
		return -EINVAL;
	}
	strcpy(lab->k8s_ns[lab->n_k8s_ns++], ns);
	return 0;
}

static int pod_add_addr(struct lab_pod *p, const char *s, const struct loader *L)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (inet_pton(AF_INET, s, &a4) == 1) {
		if (p->has4 && p->a4.s_addr != a4.s_addr) {
			seterr(L->err, L->errlen,
			       "%s: Pod %s/%s: the lab takes one IPv4 address per pod (%s)",
			       L->file, p->ns, p->name, s);
			return -EINVAL;
		}
		p->has4 = true;
		p->a4 = a4;
		return 0;
	}
	if (inet_pton(AF_INET6, s, &a6) == 1) {
		if (p->has6 && memcmp(&p->a6, &a6, sizeof(a6))) {
			seterr(L->err, L->errlen,
			       "%s: Pod %s/%s: the lab takes one IPv6 address per pod (%s)",
			       L->file, p->ns, p->name, s);
			return -EINVAL;
		}
		p->has6 = true;
		p->a6 = a6;
		return 0;
	}
	seterr(L->err, L->errlen, "%s: Pod %s/%s: status.podIP: malformed address '%s'", L->file,
	       p->ns, p->name, s);
	return -EINVAL;
}

static int pod_add_ports(yaml_document_t *d, yaml_node_t *containers, struct lab_pod *p,
			 const struct loader *L)
{
	yaml_node_item_t *c, *q;

	if (!containers || containers->type != YAML_SEQUENCE_NODE)
		return 0;
	for (c = containers->data.sequence.items.start; c < containers->data.sequence.items.top;
	     c++) {
		yaml_node_t *ports = ymap_get(d, yaml_document_get_node(d, *c), "ports");

		if (!ports || ports->type != YAML_SEQUENCE_NODE)
			continue;
		for (q = ports->data.sequence.items.start; q < ports->data.sequence.items.top;
		     q++) {
			yaml_node_t *pn = yaml_document_get_node(d, *q);
			const char *num = yscalar(ymap_get(d, pn, "containerPort"));
			const char *proto = yscalar(ymap_get(d, pn, "protocol"));
			const char *name = yscalar(ymap_get(d, pn, "name"));
			struct lab_port lp = { 0 };
			char *end;
			long v;

			if (!num)
				continue;
			v = strtol(num, &end, 10);
			if (*end || v < 1 || v > 65535) {
				seterr(L->err, L->errlen, "%s: Pod %s/%s: bad containerPort '%s'",
				       L->file, p->ns, p->name, num);
				return -EINVAL;
			}
			lp.port = (uint16_t)v;
			lp.proto = IPPROTO_TCP;
			if (proto && lab_proto_parse(proto, &lp.proto)) {
				seterr(L->err, L->errlen, "%s: Pod %s/%s: bad protocol '%s'",
				       L->file, p->ns, p->name, proto);
				return -EINVAL;
			}
			if (name)
				snprintf(lp.name, sizeof(lp.name), "%s", name);
			for (int i = 0; i < p->n_ports; i++)
				if (p->ports[i].port == lp.port && p->ports[i].proto == lp.proto)
					goto next;
			if (p->n_ports >= LAB_MAX_PORTS) {
				seterr(L->err, L->errlen,
				       "%s: Pod %s/%s: more than %d container ports", L->file,
				       p->ns, p->name, LAB_MAX_PORTS);
				return -E2BIG;
			}
			p->ports[p->n_ports++] = lp;
		next:;
		}
	}
	return 0;
}

static int load_pod(yaml_document_t *d, yaml_node_t *obj, const struct loader *L)
{
	struct lab *lab = L->lab;
	const char *name = ypath(d, obj, "metadata", "name");
	const char *ns = ypath(d, obj, "metadata", "namespace");
	const char *hostnet = ypath(d, obj, "spec", "hostNetwork");
	const char *phase = ypath(d, obj, "status", "phase");
	const char *ip = ypath(d, obj, "status", "podIP");
	yaml_node_t *ips = ymap_get(d, ymap_get(d, obj, "status"), "podIPs");
	yaml_node_t *spec = ymap_get(d, obj, "spec");
	struct lab_pod *p;
	int r;

	if (!ns)
		ns = "default";
	if (!name) {
		seterr(L->err, L->errlen, "%s: Pod without metadata.name", L->file);
		return -EINVAL;
	}
	if (strlen(name) >= sizeof(p->name) || strlen(ns) >= sizeof(p->ns)) {
		seterr(L->err, L->errlen, "%s: Pod %.64s/%.64s: name too long", L->file, ns, name);
		return -EINVAL;
	}
	if (hostnet && !strcmp(hostnet, "true")) {
		fprintf(stderr, "lab: Pod %s/%s uses hostNetwork: not built\n", ns, name);
		return 0;
	}
	if (phase && (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed"))) {
		fprintf(stderr, "lab: Pod %s/%s is %s: not built\n", ns, name, phase);
		return 0;
	}
	for (int i = 0; i < lab->n_pods; i++)
		if (!strcmp(lab->pods[i].ns, ns) && !strcmp(lab->pods[i].name, name)) {
			seterr(L->err, L->errlen, "%s: Pod %s/%s defined twice", L->file, ns, name);
			return -EINVAL;
		}
	if (lab->n_pods >= LAB_MAX_PODS) {
		seterr(L->err, L->errlen, "more than %d pods (lab limit)", LAB_MAX_PODS);
		return -E2BIG;
	}
	r = add_k8s_ns(lab, ns, L->err, L->errlen);
	if (r)
		return r;
	p = &lab->pods[lab->n_pods];
	memset(p, 0, sizeof(*p));
	strcpy(p->ns, ns);
	strcpy(p->name, name);
	if (ip && (r = pod_add_addr(p, ip, L)))
		return r;
	if (ips && ips->type == YAML_SEQUENCE_NODE) {
		for (yaml_node_item_t *it = ips->data.sequence.items.start;
		     it < ips->data.sequence.items.top; it++) {
			const char *s = yscalar(ymap_get(d, yaml_document_get_node(d, *it), "ip"));

			if (s && (r = pod_add_addr(p, s, L)))
				return r;
		}
	}
	r = pod_add_ports(d, ymap_get(d, spec, "containers"), p, L);
	if (!r)
		r = pod_add_ports(d, ymap_get(d, spec, "initContainers"), p, L);
	if (r)
		return r;
	lab->n_pods++;
	return 0;
}

static int load_object(yaml_document_t *d, yaml_node_t *obj, const struct loader *L, int depth)
{
	const char *kind = yscalar(ymap_get(d, obj, "kind"));

	if (!kind)
		return 0;
	if (!strcmp(kind, "Namespace")) {
		const char *name = ypath(d, obj, "metadata", "name");

		return name ? add_k8s_ns(L->lab, name, L->err, L->errlen) : 0;
	}
	if (!strcmp(kind, "Pod"))
		return load_pod(d, obj, L);
	if (!strcmp(kind, "List") && depth == 0) {
		yaml_node_t *items = ymap_get(d, obj, "items");

		if (!items || items->type != YAML_SEQUENCE_NODE)
			return 0;
		for (yaml_node_item_t *it = items->data.sequence.items.start;
		     it < items->data.sequence.items.top; it++) {
			int r = load_object(d, yaml_document_get_node(d, *it), L, depth + 1);

			if (r)
				return r;
		}
	}
	return 0;
}

static int load_file(struct lab *lab, const char *path, char *err, size_t errlen)
{
	struct loader L = { lab, path, err, errlen };
	yaml_parser_t parser;
	struct stat st;
	FILE *f;
	int r = 0;

	f = fopen(path, "re");
	if (!f) {
		r = -errno;
		seterr(err, errlen, "%s: %s", path, strerror(errno));
		return r;
	}
	if (fstat(fileno(f), &st) == 0 && (size_t)st.st_size > LAB_MAX_FILE_BYTES) {
		seterr(err, errlen, "%s: larger than %u bytes", path, LAB_MAX_FILE_BYTES);
		fclose(f);
		return -EFBIG;
	}
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_file(&parser, f);
	for (;;) {
		yaml_document_t doc;
		yaml_node_t *root;

		if (!yaml_parser_load(&parser, &doc)) {
			seterr(err, errlen, "%s:%zu:%zu: YAML: %s", path,
			       parser.problem_mark.line + 1, parser.problem_mark.column + 1,
			       parser.problem ? parser.problem : "parse error");
			r = -EINVAL;
			break;
		}
		root = yaml_document_get_root_node(&doc);
		if (!root) {
			yaml_document_delete(&doc);
			break;
		}
		r = load_object(&doc, root, &L, 0);
		yaml_document_delete(&doc);
		if (r)
			break;
	}
	yaml_parser_delete(&parser);
	fclose(f);
	return r;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_pod(const void *a, const void *b)
{
	const struct lab_pod *x = a, *y = b;
	int c = strcmp(x->ns, y->ns);

	return c ? c : strcmp(x->name, y->name);
}

int lab_spec_load(struct lab *lab, const char *dir, char *err, size_t errlen)
{
	char *names[LAB_MAX_FILES];
	size_t n = 0;
	struct dirent *de;
	DIR *dh;
	int r = 0;

	if (!realpath(dir, lab->dir)) {
		r = -errno;
		seterr(err, errlen, "%s: %s", dir, strerror(errno));
		return r;
	}
	dh = opendir(lab->dir);
	if (!dh) {
		r = -errno;
		seterr(err, errlen, "%s: %s", dir, strerror(errno));
		return r;
	}
	lab->pods = calloc(LAB_MAX_PODS, sizeof(*lab->pods));
	lab->k8s_ns = calloc(LAB_MAX_NSS, sizeof(*lab->k8s_ns));
	if (!lab->pods || !lab->k8s_ns) {
		closedir(dh);
		seterr(err, errlen, "out of memory");
		return -ENOMEM;
	}
	while ((de = readdir(dh))) {
		size_t l = strlen(de->d_name);

		if (de->d_name[0] == '.')
			continue;
		if (!((l > 5 && !strcmp(de->d_name + l - 5, ".yaml")) ||
		      (l > 4 && !strcmp(de->d_name + l - 4, ".yml"))))
			continue;
		if (n >= LAB_MAX_FILES) {
			seterr(err, errlen, "%s: more than %d YAML files", dir, LAB_MAX_FILES);
			r = -E2BIG;
			goto out;
		}
		if (asprintf(&names[n], "%s/%s", lab->dir, de->d_name) < 0) {
			seterr(err, errlen, "out of memory");
			r = -ENOMEM;
			goto out;
		}
		n++;
	}
	qsort(names, n, sizeof(names[0]), cmp_str);
	for (size_t i = 0; i < n && !r; i++)
		r = load_file(lab, names[i], err, errlen);
	if (!r && lab->n_pods == 0) {
		seterr(err, errlen, "%s: no Pod objects (a lab needs pods)", dir);
		r = -ENOENT;
	}
	if (!r)
		qsort(lab->pods, lab->n_pods, sizeof(lab->pods[0]), cmp_pod);
out:
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	closedir(dh);
	return r;
}

void lab_free(struct lab *lab)
{
	free(lab->pods);
	free(lab->k8s_ns);
	lab->pods = NULL;
	lab->k8s_ns = NULL;
	lab->n_pods = 0;
	lab->n_k8s_ns = 0;
}

/* ---- the plan ---- */

/* FNV-1a: short, stable names derived from long ones */
static uint32_t fnv1a(const char *a, const char *b, const char *c)
{
	const char *parts[3] = { a, b, c };
	uint32_t h = 2166136261u;

	for (int i = 0; i < 3; i++) {
		for (const char *s = parts[i]; *s; s++) {
			h ^= (uint8_t)*s;
			h *= 16777619u;
		}
		h ^= '/';
		h *= 16777619u;
	}
	return h;
}

static bool addr4_used(const struct lab *lab, uint32_t a_host)
{
	for (int i = 0; i < lab->n_pods; i++) {
		const struct lab_pod *p = &lab->pods[i];

		if ((p->has4 && ntohl(p->a4.s_addr) == a_host) ||
		    (p->has_svc4 && ntohl(p->svc4.s_addr) == a_host))
			return true;
	}
	return false;
}

static bool addr6_used(const struct lab *lab, const struct in6_addr *a)
{
	for (int i = 0; i < lab->n_pods; i++) {
		const struct lab_pod *p = &lab->pods[i];

		if ((p->has6 && !memcmp(&p->a6, a, sizeof(*a))) ||
		    (p->has_svc6 && !memcmp(&p->svc6, a, sizeof(*a))))
			return true;
	}
	return false;
}

static bool in_net4(uint32_t a, uint32_t net, int plen)
{
	uint32_t mask = plen ? ~0u << (32 - plen) : 0;

	return (a & mask) == (net & mask);
}

static bool in_net6(const struct in6_addr *a, const struct in6_addr *net, int plen)
{
	for (int i = 0; i < 16; i++) {
		int bits = plen - i * 8;
		uint8_t mask;

		if (bits <= 0)
			break;
		mask = bits >= 8 ? 0xff : (uint8_t)(0xff << (8 - bits));
		if ((a->s6_addr[i] & mask) != (net->s6_addr[i] & mask))
			return false;
	}
	return true;
}

/* Bridge topology: one IPv4 /24 and one IPv6 /64, as a bridge CNI gives a
 * node; the first pod with an address picks it. */
static int plan_bridge(struct lab *lab, char *err, size_t errlen)
{
	const struct lab_pod *first4 = NULL, *first6 = NULL;
	char b1[INET6_ADDRSTRLEN], b2[INET6_ADDRSTRLEN];
	uint32_t net, gw;

	for (int i = 0; i < lab->n_pods; i++) {
		if (!first4 && lab->pods[i].has4)
			first4 = &lab->pods[i];
		if (!first6 && lab->pods[i].has6)
			first6 = &lab->pods[i];
	}
	net = first4 ? ntohl(first4->a4.s_addr) & 0xffffff00u : 0x0afa0000u; /* 10.250.0.0 */
	lab->plen4 = 24;
	lab->net4.s_addr = htonl(net);
	for (int i = 0; i < lab->n_pods; i++) {
		const struct lab_pod *p = &lab->pods[i];

		if (p->has4 && !in_net4(ntohl(p->a4.s_addr), net, 24)) {
			inet_ntop(AF_INET, &p->a4, b1, sizeof(b1));
			inet_ntop(AF_INET, &lab->net4, b2, sizeof(b2));
			seterr(err, errlen,
			       "bridge topology: Pod %s/%s address %s is outside the bridge subnet "
			       "%s/24 (taken from Pod %s/%s); use the routed topology",
			       p->ns, p->name, b1, b2, first4->ns, first4->name);
			return -EINVAL;
		}
	}
	gw = net | 1;
	if (addr4_used(lab, gw))
		gw = net | 254;
	if (addr4_used(lab, gw)) {
		seterr(err, errlen,
		       "bridge topology: both .1 and .254 of the subnet are pod addresses");
		return -EINVAL;
	}
	lab->gw4.s_addr = htonl(gw);
	if (first6) {
		lab->has_net6 = true;
		lab->plen6 = 64;
		memset(&lab->net6, 0, sizeof(lab->net6));
		memcpy(&lab->net6, &first6->a6, 8);
		for (int i = 0; i < lab->n_pods; i++) {
			const struct lab_pod *p = &lab->pods[i];

			if (p->has6 && !in_net6(&p->a6, &lab->net6, 64)) {
				inet_ntop(AF_INET6, &p->a6, b1, sizeof(b1));
				inet_ntop(AF_INET6, &lab->net6, b2, sizeof(b2));
				seterr(err, errlen,
				       "bridge topology: Pod %s/%s address %s is outside the "
				       "bridge "
				       "subnet %s/64; use the routed topology",
				       p->ns, p->name, b1, b2);
				return -EINVAL;
			}
		}
		lab->gw6 = lab->net6;
		lab->gw6.s6_addr[15] = 1;
		if (addr6_used(lab, &lab->gw6)) {
			seterr(err, errlen, "bridge topology: the subnet's ::1 is a pod address");
			return -EINVAL;
		}
	}
	return 0;
}

int lab_spec_plan(struct lab *lab, char *err, size_t errlen)
{
	uint32_t next4;
	int r;

	snprintf(lab->node_ns, sizeof(lab->node_ns), "%s-node", lab->name);
	if (lab->topology == LAB_BRIDGE) {
		r = plan_bridge(lab, err, errlen);
		if (r)
			return r;
		next4 = ntohl(lab->net4.s_addr) + 2;
	} else {
		next4 = 0x0afa0002u; /* 10.250.0.2: the lab's own range */
	}
	for (int i = 0; i < lab->n_pods; i++) {
		struct lab_pod *p = &lab->pods[i];
		uint32_t h = fnv1a(lab->name, p->ns, p->name);
		char full[600];

		snprintf(full, sizeof(full), "%s-%s-%s", lab->name, p->ns, p->name);
		if (strlen(full) <= LAB_NETNS_MAX)
			lab_strlcpy(p->netns, full, sizeof(p->netns));
		else
			snprintf(p->netns, sizeof(p->netns), "%.*s-%08x", LAB_NETNS_MAX - 9, full,
				 h);
		for (int tries = 0;; tries++) {
			bool dup = false;

			snprintf(p->veth, sizeof(p->veth), "pw%08x", h);
			for (int j = 0; j < i; j++)
				dup |= !strcmp(lab->pods[j].veth, p->veth) ||
				       !strcmp(lab->pods[j].netns, p->netns);
			if (!dup)
				break;
			if (tries > 100) {
				seterr(err, errlen, "cannot find unique names for Pod %s/%s", p->ns,
				       p->name);
				return -EINVAL;
			}
			h = h * 16777619u + 1;
			snprintf(p->netns, sizeof(p->netns), "%.*s-%08x", LAB_NETNS_MAX - 9, full,
				 h);
		}
		/* every pod gets an IPv4 address: the one in the YAML or one of ours */
		if (!p->has4) {
			uint32_t limit = lab->topology == LAB_BRIDGE ? ntohl(lab->net4.s_addr) + 254
								     : 0x0afaffffu;

			while (next4 < limit && addr4_used(lab, next4))
				next4++;
			if (next4 >= limit) {
				seterr(err, errlen, "no free address left for Pod %s/%s", p->ns,
				       p->name);
				return -ENOSPC;
			}
			p->a4.s_addr = htonl(next4++);
			p->has4 = p->alloc4 = true;
		}
	}
	if (lab->services) {
		int n = 0;

		for (int i = 0; i < lab->n_pods; i++) {
			struct lab_pod *p = &lab->pods[i];
			uint32_t a;

			do {
				n++;
				a = 0x0a600000u | (uint32_t)n; /* 10.96.0.0/16 */
			} while (addr4_used(lab, a) && n < 65000);
			p->svc4.s_addr = htonl(a);
			p->has_svc4 = true;
			if (p->has6) {
				memset(&p->svc6, 0, sizeof(p->svc6));
				p->svc6.s6_addr[0] = 0xfd;
				p->svc6.s6_addr[1] = 0x00;
				p->svc6.s6_addr[5] = 0x96; /* fd00:0:96::/112 */
				p->svc6.s6_addr[14] = (uint8_t)(n >> 8);
				p->svc6.s6_addr[15] = (uint8_t)n;
				p->has_svc6 = true;
			}
		}
	}
	return 0;
}
