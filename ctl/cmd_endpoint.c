// SPDX-License-Identifier: MIT
/*
 * podwallctl endpoint list: every pod with its addresses, veth, isolation per
 * direction and policy set; pods that are not endpoints with the reason.
 * Without podwalld: the pinned endpoint map (addresses, identities,
 * interfaces, policy sets; no pod names).
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "human.h"
#include "live.h"
#include "pinned.h"
#include "podwallctl.h"

static void endpoint_help(void)
{
	printf("Usage: podwallctl endpoint { list | help }\n"
	       "\n"
	       "  list    pods with addresses, veth, isolation per direction and policy set,\n"
	       "          and pods that are not endpoints with the reason (hostNetwork, no IP)\n");
}

/* First present key of `keys` (NULL-terminated). */
static const json_t *jany(const json_t *o, const char *const *keys)
{
	for (; *keys; keys++) {
		const json_t *v = json_object_get(o, *keys);

		if (v && !json_is_null(v))
			return v;
	}
	return NULL;
}

#define JANY(o, ...) jany(o, (const char *const[]){ __VA_ARGS__, NULL })

static void pod_name(const json_t *e, char *buf, size_t len)
{
	const char *pod = pw_jstr(e, "pod"), *ns = pw_jstr(e, "ns"), *name = pw_jstr(e, "name");

	if (!ns)
		ns = pw_jstr(e, "namespace");
	if (pod && strchr(pod, '/'))
		snprintf(buf, len, "%s", pod);
	else if (ns && (pod || name))
		snprintf(buf, len, "%s/%s", ns, pod ? pod : name);
	else
		snprintf(buf, len, "%s", pod ? pod : name ? name : "-");
}

static void isolation(const json_t *e, const char *dir, char *buf, size_t len)
{
	char k[32];
	const json_t *v;

	v = json_object_get(e, dir);
	if (!v) {
		snprintf(k, sizeof(k), "%s_isolated", dir);
		v = json_object_get(e, k);
	}
	if (!v) {
		const json_t *iso = json_object_get(e, "isolated");

		v = json_is_object(iso) ? json_object_get(iso, dir) : NULL;
	}
	if (json_is_boolean(v))
		snprintf(buf, len, "%s", json_is_true(v) ? "isolated" : "open");
	else if (v)
		pw_jtext(v, buf, len);
	else
		snprintf(buf, len, "-");
}

/* Policy sets per direction as "in:3 out:-" (0 = not isolated). */
static void set_text(const json_t *v, char *buf, size_t len)
{
	if (json_is_object(v)) {
		json_int_t in = json_integer_value(json_object_get(v, "ingress"));
		json_int_t out = json_integer_value(json_object_get(v, "egress"));
		char si[24] = "-", so[24] = "-";

		if (in)
			snprintf(si, sizeof(si), "%lld", (long long)in);
		if (out)
			snprintf(so, sizeof(so), "%lld", (long long)out);
		snprintf(buf, len, "in:%s out:%s", si, so);
		return;
	}
	pw_jtext(v, buf, len);
}

static void print_daemon_endpoints(const json_t *reply)
{
	const json_t *eps = json_is_array(reply) ? reply : JANY(reply, "endpoints", "pods");
	const json_t *skipped = JANY(reply, "skipped", "not_endpoints", "non_endpoints");
	struct pw_table *t =
		pw_table_new(7, "POD", "IPS", "VETH", "INGRESS", "EGRESS", "SET", "NOTE");
	size_t i;
	json_t *e;

	json_array_foreach(eps, i, e)
	{
		char b[512];
		const json_t *reason = JANY(e, "skip_reason", "reason", "not_endpoint");

		pod_name(e, b, sizeof(b));
		pw_table_cell(t, NULL, "%s", b);
		pw_jtext(JANY(e, "ips", "addresses", "ip"), b, sizeof(b));
		pw_table_cell(t, NULL, "%s", *b ? b : "-");
		pw_jtext(JANY(e, "veth", "interface", "iface", "ifname"), b, sizeof(b));
		pw_table_cell(t, NULL, "%s", *b ? b : "-");
		isolation(e, "ingress", b, sizeof(b));
		pw_table_cell(t, NULL, "%s", b);
		isolation(e, "egress", b, sizeof(b));
		pw_table_cell(t, NULL, "%s", b);
		set_text(JANY(e, "policy_set", "set_id", "sets", "set"), b, sizeof(b));
		pw_table_cell(t, NULL, "%s", *b ? b : "-");
		pw_jtext(reason, b, sizeof(b));
		pw_table_cell(t, reason ? PW_C_YELLOW : NULL, "%s",
			      reason					   ? b
			      : json_is_false(json_object_get(e, "local")) ? "remote"
									   : "");
	}
	json_array_foreach(skipped, i, e)
	{
		char b[512];

		pod_name(e, b, sizeof(b));
		pw_table_cell(t, NULL, "%s", b);
		for (int c = 0; c < 5; c++)
			pw_table_cell(t, NULL, "-");
		pw_jtext(JANY(e, "reason", "skip_reason"), b, sizeof(b));
		pw_table_cell(t, PW_C_YELLOW, "not an endpoint: %s", b);
	}
	if (pw_table_rows(t))
		pw_table_print(t, stdout);
	else
		printf("no endpoints\n");
	pw_table_free(t);
}

static json_t *pinned_endpoints(struct pw_pinned *p, int *ret_err)
{
	struct pw_pinned_ep *eps = NULL;
	struct pw_state st;
	size_t n = 0;
	json_t *arr;
	int err;

	err = pw_pinned_state(p, &st);
	if (!err)
		err = pw_pinned_endpoints(p, st.epoch & 1, &eps, &n);
	if (err) {
		*ret_err = err;
		return NULL;
	}
	arr = json_array();
	for (size_t i = 0; i < n; i++) {
		const struct pw_endpoint *v = &eps[i].val;
		char a[64], ifn[IF_NAMESIZE] = "";
		json_t *o;

		pw_ctl_addr_format(&eps[i].addr, a, sizeof(a));
		if (v->ifindex)
			if_indextoname(v->ifindex, ifn);
		o = json_pack("{s:s, s:i, s:b, s:b, s:i, s:i, s:i, s:i}", "ip", a, "identity",
			      (int)v->identity, "local", !!(v->flags & PW_EP_LOCAL), "host",
			      !!(v->flags & PW_EP_HOST), "ifindex", (int)v->ifindex, "ep_id",
			      (int)v->ep_id, "ingress_set", (int)v->set_id[PW_DIR_INGRESS],
			      "egress_set", (int)v->set_id[PW_DIR_EGRESS]);
		if (*ifn)
			json_object_set_new(o, "veth", json_string(ifn));
		json_object_set_new(o, "ingress_audit", json_boolean(v->flags & PW_EP_AUDIT_IN));
		json_object_set_new(o, "egress_audit", json_boolean(v->flags & PW_EP_AUDIT_OUT));
		json_array_append_new(arr, o);
	}
	free(eps);
	return json_pack("{s:s, s:b, s:I, s:o, s:s}", "source", "pinned", "daemon", 0, "generation",
			 (json_int_t)st.epoch, "endpoints", arr, "unavailable",
			 "pod names and non-endpoint pods are known only to podwalld");
}

static void iso_text(const json_t *e, const char *dir, char *buf, size_t len)
{
	char k[32];
	long long set;
	bool audit;

	snprintf(k, sizeof(k), "%s_set", dir);
	set = pw_jint(e, k, 0);
	snprintf(k, sizeof(k), "%s_audit", dir);
	audit = json_is_true(json_object_get(e, k));
	if (!set)
		snprintf(buf, len, "open");
	else
		snprintf(buf, len, "isolated (set %lld%s)", set, audit ? ", audit" : "");
}

static void print_pinned_endpoints(const json_t *o)
{
	struct pw_table *t = pw_table_new(6, "IP", "KIND", "VETH", "IDENTITY", "INGRESS", "EGRESS");
	size_t i;
	json_t *e;

	json_array_foreach(json_object_get(o, "endpoints"), i, e)
	{
		char b[96];
		bool local = json_is_true(json_object_get(e, "local"));

		pw_table_cell(t, NULL, "%s", pw_jstr(e, "ip"));
		pw_table_cell(t, NULL, "%s",
			      json_is_true(json_object_get(e, "host")) ? "node"
			      : local				       ? "local pod"
								       : "remote pod");
		if (pw_jstr(e, "veth"))
			pw_table_cell(t, NULL, "%s", pw_jstr(e, "veth"));
		else if (pw_jint(e, "ifindex", 0))
			pw_table_cell(t, NULL, "ifindex %lld", pw_jint(e, "ifindex", 0));
		else
			pw_table_cell(t, NULL, "-");
		pw_table_cell(t, NULL, "%lld", pw_jint(e, "identity", 0));
		if (local) {
			iso_text(e, "ingress", b, sizeof(b));
			pw_table_cell(t, NULL, "%s", b);
			iso_text(e, "egress", b, sizeof(b));
			pw_table_cell(t, NULL, "%s", b);
		} else {
			pw_table_cell(t, NULL, "-");
			pw_table_cell(t, NULL, "-");
		}
	}
	if (pw_table_rows(t))
		pw_table_print(t, stdout);
	else
		printf("no endpoints in generation %lld\n", pw_jint(o, "generation", 0));
	pw_table_free(t);
	printf("\npod names and pods that are not endpoints (hostNetwork, no IP) are known only to "
	       "podwalld\n");
}

static int endpoint_list(int argc, char **argv)
{
	static const struct pw_live_view view = {
		.what = "endpoint list",
		.print_daemon = print_daemon_endpoints,
		.from_pins = pinned_endpoints,
		.print_pinned = print_pinned_endpoints,
	};

	if (pw_wants_help(argc, argv)) {
		endpoint_help();
		return PW_EXIT_OK;
	}
	if (argc > 0)
		return pw_error(PW_EXIT_USAGE, "endpoint list: unexpected argument '%s'", argv[0]);
	return pw_live_show(&view, json_pack("{s:s}", "cmd", "endpoints"));
}

static int endpoint_help_cmd(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	endpoint_help();
	return PW_EXIT_OK;
}

int do_endpoint(int argc, char **argv)
{
	static const struct pw_cmd cmds[] = {
		{ "list", endpoint_list, "list    list endpoints and pods that are not endpoints" },
		{ "help", endpoint_help_cmd, "help    show this help" },
		{ NULL, NULL, NULL },
	};

	if (argc == 0)
		return endpoint_list(0, argv); /* like `ip link` with no command */
	return pw_cmd_select(cmds, argc, argv, "endpoint", endpoint_help);
}
