// SPDX-License-Identifier: MIT
/*
 * podwallctl trace SRC DST PORT/PROTO [--policy-dir DIR] [--audit]
 *
 * With --policy-dir the directory is compiled offline and the decision is
 * made by the evaluator over the image, with the datapath's own lookups
 * (decide.h).  Without it, the live maps answer (not implemented yet).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../daemon/eval.h"
#include "../daemon/policy_compile.h"
#include "podwall/model.h"
#include "podwallctl.h"

static void trace_help(void)
{
	printf("Usage: podwallctl trace SRC DST PORT/PROTO [--policy-dir DIR] [--audit]\n"
	       "\n"
	       "  SRC, DST      NS/POD or an IP address (a pod's address is that pod)\n"
	       "  PORT/PROTO    destination port and tcp, udp or sctp (any case)\n"
	       "  --policy-dir  compile DIR offline and decide from it\n"
	       "  --audit       as if the daemon ran with --mode audit\n"
	       "\n"
	       "Prints the combined verdict (egress at SRC and ingress at DST) and the\n"
	       "policy and rule that decide each side.\n");
}

struct end {
	const char *arg;
	union pw_addr addr;
	long pod; /* index in img->pods, -1 = not a pod */
};

static int resolve(const struct pw_image *img, const char *arg, struct end *e)
{
	const char *slash = strchr(arg, '/');
	struct pw_cidr cd;
	long i;

	e->arg = arg;
	e->pod = -1;
	if (!pw_addr_parse(arg, &e->addr, NULL)) {
		e->pod = pw_image_pod_by_addr(img, &e->addr);
		return 0;
	}
	if (slash && !pw_cidr_parse(arg, &cd, NULL))
		return pw_error(PW_EXIT_USAGE, "trace: '%s' is a CIDR; give one address", arg);
	if (!slash || slash == arg || !slash[1] || strchr(slash + 1, '/'))
		return pw_error(PW_EXIT_USAGE, "trace: '%s' is neither NS/POD nor an IP address",
				arg);
	{
		char ns[256];

		snprintf(ns, sizeof(ns), "%.*s", (int)(slash - arg), arg);
		i = pw_image_pod_by_name(img, ns, slash + 1);
	}
	if (i < 0)
		return pw_error(PW_EXIT_FAIL, "trace: unknown pod %s", arg);
	if (img->pods[i].skip_reason || !img->pods[i].n_eps)
		return pw_error(PW_EXIT_FAIL, "trace: pod %s is not an endpoint (%s)", arg,
				img->pods[i].skip_reason ? img->pods[i].skip_reason : "no IP");
	e->pod = i;
	e->addr = img->eps[img->pods[i].first_ep].addr;
	return 0;
}

static int parse_port(const char *s, uint16_t *ret_port, uint8_t *ret_proto)
{
	char *end;
	unsigned long p;

	p = strtoul(s, &end, 10);
	if (end == s || p < 1 || p > 65535)
		return -EINVAL;
	if (!*end) {
		*ret_proto = PW_PROTO_TCP;
	} else if (*end == '/') {
		if (!strcasecmp(end + 1, "tcp"))
			*ret_proto = PW_PROTO_TCP;
		else if (!strcasecmp(end + 1, "udp"))
			*ret_proto = PW_PROTO_UDP;
		else if (!strcasecmp(end + 1, "sctp"))
			*ret_proto = PW_PROTO_SCTP;
		else
			return -EINVAL;
	} else {
		return -EINVAL;
	}
	*ret_port = (uint16_t)p;
	return 0;
}

static const char *verdict_word(uint8_t v)
{
	return v == PW_VERDICT_ALLOW ? "allow" : "deny";
}

static char *pod_name(const struct pw_image *img, long i)
{
	char *s = NULL;

	if (i < 0 || asprintf(&s, "%s/%s", img->pods[i].ns, img->pods[i].name) < 0)
		return NULL;
	return s;
}

static json_t *end_json(const struct pw_image *img, const struct end *e, uint32_t id)
{
	const struct pw_img_identity *ii = pw_image_identity(img, id);
	json_t *o = json_object();
	char buf[64], *pn = pod_name(img, e->pod);

	json_object_set_new(o, "pod", pn ? json_string(pn) : json_null());
	json_object_set_new(o, "address", json_string(pw_addr_str(&e->addr, buf, sizeof(buf))));
	json_object_set_new(o, "identity", json_integer(id));
	if (ii)
		json_object_set_new(o, "identity_text", json_string(ii->text));
	free(pn);
	return o;
}

/* The policies isolating pod `pod` in `dir`, as "ns/name" strings. */
static json_t *isolating(const struct pw_image *img, long pod, int dir)
{
	json_t *a = json_array();
	const struct pw_img_set *s;
	uint32_t i;

	if (pod < 0)
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
	const struct pw_img_rule *r = pw_image_rule(img, sd->rule_id);
	json_t *o = json_object();

	json_object_set_new(o, "verdict", json_string(verdict_word(sd->verdict)));
	json_object_set_new(o, "reason", json_string(pw_reason_name(sd->reason)));
	if (sd->verdict == PW_VERDICT_AUDIT)
		json_object_set_new(o, "audit", json_true());
	if (r) {
		const struct pw_img_policy *p = &img->policies[r->policy];
		char *n = NULL;

		if (asprintf(&n, "%s/%s", p->ns, p->name) >= 0) {
			json_object_set_new(o, "policy", json_string(n));
			free(n);
		}
		json_object_set_new(o, "rule", json_integer(r->index));
		json_object_set_new(o, "rule_id", json_integer(sd->rule_id));
		json_object_set_new(o, "rule_text", json_string(r->text));
	}
	if (sd->reason == PW_DROP_POLICY || sd->reason == PW_ALLOW_POLICY)
		json_object_set_new(o, "policies", isolating(img, pod, sd->dir));
	return o;
}

static void side_text(const struct pw_image *img, const char *what, const struct pw_side *sd,
		      long pod)
{
	const struct pw_img_rule *r = pw_image_rule(img, sd->rule_id);
	char *pn = pod_name(img, pod);

	printf("  %-7s at %-24s %s", what, pn ? pn : "(not a pod)",
	       sd->verdict == PW_VERDICT_ALLOW ? "allow" : "deny");
	free(pn);
	if (r) {
		const struct pw_img_policy *p = &img->policies[r->policy];

		printf(" by NetworkPolicy %s/%s %s[%u]: %s\n", p->ns, p->name,
		       r->dir == PW_DIR_INGRESS ? "ingress" : "egress", r->index, r->text);
		return;
	}
	switch (sd->reason) {
	case PW_ALLOW_NOT_ISOLATED:
		printf(" (no policy isolates it)\n");
		break;
	case PW_REASON_NONE:
		printf(" (no policy of its own)\n");
		break;
	case PW_ALLOW_HOST:
		printf(" (the node is always allowed)\n");
		break;
	case PW_DROP_POLICY: {
		json_t *a = isolating(img, pod, sd->dir), *v;
		size_t i;

		printf(": no rule of");
		for (i = 0; i < json_array_size(a); i++) {
			v = json_array_get(a, i);
			printf("%s %s", i ? "," : "", json_string_value(v));
		}
		printf(" allows it%s\n", sd->verdict == PW_VERDICT_AUDIT ? " (audit: passed)" : "");
		json_decref(a);
		break;
	}
	default:
		printf(" (%s)\n", pw_reason_name(sd->reason));
	}
}

int do_trace(int argc, char **argv)
{
	const char *dir = NULL, *pos[3];
	struct pw_diags diags;
	struct pw_model *m = NULL;
	struct pw_image *img = NULL;
	struct pw_eval_backend be = {};
	struct pw_flow_result res;
	struct end src, dst;
	bool audit = false, opened = false;
	int n_pos = 0, i, ret = PW_EXIT_FAIL, r;
	uint16_t port;
	uint8_t proto;

	for (i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "help") || !strcmp(argv[i], "-h") ||
		    !strcmp(argv[i], "--help")) {
			trace_help();
			return PW_EXIT_OK;
		} else if (!strcmp(argv[i], "--policy-dir") || !strcmp(argv[i], "-d")) {
			if (++i >= argc)
				return pw_error(PW_EXIT_USAGE,
						"trace: --policy-dir needs a directory");
			dir = argv[i];
		} else if (!strncmp(argv[i], "--policy-dir=", 13)) {
			dir = argv[i] + 13;
		} else if (!strcmp(argv[i], "--audit")) {
			audit = true;
		} else if (argv[i][0] == '-' && argv[i][1] && !strchr(argv[i], '/') &&
			   !strchr(argv[i], ':')) {
			return pw_error(PW_EXIT_USAGE, "trace: unknown option '%s'", argv[i]);
		} else if (n_pos < 3) {
			pos[n_pos++] = argv[i];
		} else {
			return pw_error(PW_EXIT_USAGE, "trace: unexpected argument '%s'", argv[i]);
		}
	}
	if (n_pos != 3)
		return pw_error(PW_EXIT_USAGE,
				"trace: usage: trace SRC DST PORT/PROTO [--policy-dir DIR]");
	if (parse_port(pos[2], &port, &proto))
		return pw_error(PW_EXIT_USAGE,
				"trace: bad PORT/PROTO '%s' (e.g. 8080/tcp, 53/udp, 80/sctp)",
				pos[2]);
	if (!dir)
		return pw_error(PW_EXIT_FAIL, "trace: live trace (without --policy-dir) is not "
					      "implemented yet; use --policy-dir DIR");

	pw_diags_init(&diags);
	r = pw_model_load_dir(dir, NULL, &m, &diags);
	if (!r)
		r = pw_compile(m, NULL, &img, &diags);
	if (r) {
		if (!pw_json)
			pw_diags_print(&diags, stderr, pw_color);
		if (diags.n_errors && diags.n) {
			char *first = pw_diag_format(&diags.v[0]);

			pw_error(PW_EXIT_FAIL, "%s: invalid policy directory (%zu errors): %s", dir,
				 diags.n_errors, first ? first : "");
			free(first);
		} else {
			pw_error(PW_EXIT_FAIL, "%s: %s", dir, strerror(-r));
		}
		goto out;
	}
	if ((r = resolve(img, pos[0], &src)) || (r = resolve(img, pos[1], &dst))) {
		ret = r;
		goto out;
	}
	if (pw_eval_image_open(img, &be)) {
		pw_error(PW_EXIT_FAIL, "trace: out of memory");
		goto out;
	}
	opened = true;
	be.state_flags = audit ? PW_STATE_AUDIT : 0;
	pw_eval_flow(&be, &src.addr, &dst.addr, proto, port, &res);
	if (pw_json) {
		json_t *o = json_object();

		json_object_set_new(o, "verdict", json_string(verdict_word(res.verdict)));
		json_object_set_new(o, "audit", json_boolean(res.verdict == PW_VERDICT_AUDIT));
		json_object_set_new(o, "src", end_json(img, &src, res.src_id));
		json_object_set_new(o, "dst", end_json(img, &dst, res.dst_id));
		json_object_set_new(o, "port", json_integer(port));
		json_object_set_new(o, "proto",
				    json_string(proto == PW_PROTO_TCP	? "tcp"
						: proto == PW_PROTO_UDP ? "udp"
									: "sctp"));
		json_object_set_new(o, "egress", side_json(img, &res.egress, src.pod));
		json_object_set_new(o, "ingress", side_json(img, &res.ingress, dst.pod));
		pw_json_print(o);
	} else {
		char a[64], b[64];
		const char *c0 = "", *c1 = "";

		if (pw_color) {
			c0 = res.verdict == PW_VERDICT_ALLOW ? "\033[1;32m" : "\033[1;31m";
			c1 = "\033[0m";
		}
		printf("%s (%s) -> %s (%s) %s/%u: %s%s%s%s\n", src.pod >= 0 ? pos[0] : "address",
		       pw_addr_str(&src.addr, a, sizeof(a)), dst.pod >= 0 ? pos[1] : "address",
		       pw_addr_str(&dst.addr, b, sizeof(b)), pw_proto_name(proto), port, c0,
		       res.verdict == PW_VERDICT_ALLOW ? "ALLOW" : "DENY", c1,
		       res.verdict == PW_VERDICT_AUDIT ? " (audit: would be dropped, passes)" : "");
		side_text(img, "egress", &res.egress, src.pod);
		side_text(img, "ingress", &res.ingress, dst.pod);
	}
	ret = PW_EXIT_OK;
out:
	if (opened)
		pw_eval_image_close(&be);
	pw_image_free(img);
	pw_model_free(m);
	pw_diags_free(&diags);
	return ret;
}
