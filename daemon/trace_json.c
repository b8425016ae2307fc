// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "podwall/model.h"
#include "trace_json.h"

int pw_trace_resolve(const struct pw_image *img, const char *arg, struct pw_trace_end *ret,
		     char *err, size_t errlen)
{
	const char *slash = strchr(arg, '/');
	struct pw_trace_end e = { .pod = -1 };
	struct pw_cidr cd;
	char ns[256];
	long i;

	if (!pw_addr_parse(arg, &e.addr, NULL)) {
		e.pod = pw_image_pod_by_addr(img, &e.addr);
		*ret = e;
		return 0;
	}
	if (slash && !pw_cidr_parse(arg, &cd, NULL)) {
		snprintf(err, errlen, "'%s' is a CIDR; give one address", arg);
		return -EINVAL;
	}
	if (!slash || slash == arg || !slash[1] || strchr(slash + 1, '/') ||
	    (size_t)(slash - arg) >= sizeof(ns)) {
		snprintf(err, errlen, "'%s' is neither NS/POD nor an IP address", arg);
		return -EINVAL;
	}
	snprintf(ns, sizeof(ns), "%.*s", (int)(slash - arg), arg);
	i = pw_image_pod_by_name(img, ns, slash + 1);
	if (i < 0) {
		snprintf(err, errlen, "unknown pod %s", arg);
		return -ENOENT;
	}
	if (img->pods[i].skip_reason || !img->pods[i].n_eps) {
		snprintf(err, errlen, "pod %s is not an endpoint (%s)", arg,
			 img->pods[i].skip_reason ? img->pods[i].skip_reason : "no IP");
		return -ENOENT;
	}
	e.pod = i;
	e.addr = img->eps[img->pods[i].first_ep].addr;
	*ret = e;
	return 0;
}

int pw_trace_parse_port(const char *s, uint16_t *ret_port, uint8_t *ret_proto)
{
	char *end;
	unsigned long p;
	uint8_t proto;

	p = strtoul(s, &end, 10);
	if (end == s || p < 1 || p > 65535)
		return -EINVAL;
	if (!*end)
		proto = PW_PROTO_TCP;
	else if (*end == '/' && !strcasecmp(end + 1, "tcp"))
		proto = PW_PROTO_TCP;
	else if (*end == '/' && !strcasecmp(end + 1, "udp"))
		proto = PW_PROTO_UDP;
	else if (*end == '/' && !strcasecmp(end + 1, "sctp"))
		proto = PW_PROTO_SCTP;
	else
		return -EINVAL;
	*ret_port = (uint16_t)p;
	*ret_proto = proto;
	return 0;
}

static const char *verdict_word(uint8_t v)
{
	return v == PW_VERDICT_ALLOW ? "allow" : "deny";
}

char *pw_trace_pod_name(const struct pw_image *img, long i)
{
	char *s = NULL;

	if (i < 0 || (size_t)i >= img->n_pods ||
	    asprintf(&s, "%s/%s", img->pods[i].ns, img->pods[i].name) < 0)
		return NULL;
	return s;
}

static json_t *end_json(const struct pw_image *img, const struct pw_trace_end *e, uint32_t id)
{
	const struct pw_img_identity *ii = img ? pw_image_identity(img, id) : NULL;
	json_t *o = json_object();
	char buf[64], *pn = img ? pw_trace_pod_name(img, e->pod) : NULL;

	json_object_set_new(o, "pod", pn ? json_string(pn) : json_null());
	json_object_set_new(o, "address", json_string(pw_addr_str(&e->addr, buf, sizeof(buf))));
	json_object_set_new(o, "identity", json_integer(id));
	if (ii)
		json_object_set_new(o, "identity_text", json_string(ii->text));
	free(pn);
	return o;
}

json_t *pw_trace_isolating(const struct pw_image *img, long pod, int dir)
{
	json_t *a = json_array();
	const struct pw_img_set *s;
	uint32_t i;

	if (!img || pod < 0)
		return a;
	s = pw_image_set(img, img->pods[pod].set_id[dir]);
	for (i = 0; s && i < s->n_policies; i++) {
		const struct pw_img_policy *p = &img->policies[s->policies[i]];
		char *n = NULL;

		if (asprintf(&n, "%s/%s", p->ns, p->name) >= 0) {
			json_array_append_new(a, json_string(n));
			free(n);
		}
	}
	return a;
}

static json_t *side_json(const struct pw_image *img, const struct pw_side *sd, long pod)
{
	const struct pw_img_rule *r = img ? pw_image_rule(img, sd->rule_id) : NULL;
	json_t *o = json_object();

	json_object_set_new(o, "verdict", json_string(verdict_word(sd->verdict)));
	json_object_set_new(o, "reason", json_string(pw_reason_name(sd->reason)));
	if (sd->verdict == PW_VERDICT_AUDIT)
		json_object_set_new(o, "audit", json_true());
	if (r && r->policy < img->n_policies) {
		const struct pw_img_policy *p = &img->policies[r->policy];
		char *n = NULL;

		if (asprintf(&n, "%s/%s", p->ns, p->name) >= 0) {
			json_object_set_new(o, "policy", json_string(n));
			free(n);
		}
		json_object_set_new(o, "rule", json_integer(r->index));
		json_object_set_new(o, "rule_id", json_integer(sd->rule_id));
		json_object_set_new(o, "rule_text", json_string(r->text));
	} else if (sd->rule_id) {
		json_object_set_new(o, "rule_id", json_integer(sd->rule_id));
	}
	if (sd->reason == PW_DROP_POLICY || sd->reason == PW_ALLOW_POLICY)
		json_object_set_new(o, "policies", pw_trace_isolating(img, pod, sd->dir));
	return o;
}

json_t *pw_trace_json(const struct pw_image *img, const struct pw_trace_end *src,
		      const struct pw_trace_end *dst, uint16_t port, uint8_t proto,
		      const struct pw_flow_result *res)
{
	json_t *o = json_object();

	if (!o)
		return NULL;
	json_object_set_new(o, "verdict", json_string(verdict_word(res->verdict)));
	json_object_set_new(o, "audit", json_boolean(res->verdict == PW_VERDICT_AUDIT));
	json_object_set_new(o, "src", end_json(img, src, res->src_id));
	json_object_set_new(o, "dst", end_json(img, dst, res->dst_id));
	json_object_set_new(o, "port", json_integer(port));
	json_object_set_new(o, "proto",
			    json_string(proto == PW_PROTO_TCP	? "tcp"
					: proto == PW_PROTO_UDP ? "udp"
								: "sctp"));
	json_object_set_new(o, "egress", side_json(img, &res->egress, src->pod));
	json_object_set_new(o, "ingress", side_json(img, &res->ingress, dst->pod));
	return o;
}
