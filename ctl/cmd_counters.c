// SPDX-License-Identifier: MIT
/*
 * podwallctl counters [--endpoint X]: packets and bytes per endpoint,
 * direction, verdict and reason, and per rule.  Without podwalld the per-CPU
 * counters are read from the pinned maps and summed (endpoints by address
 * and veth; rules by id only: rule texts live in the daemon).
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "human.h"
#include "live.h"
#include "pinned.h"
#include "podwallctl.h"

static void counters_help(void)
{
	printf("Usage: podwallctl counters [--endpoint NS/NAME|IP|VETH|EP_ID]\n"
	       "\n"
	       "Packets and bytes per endpoint, direction, verdict and reason, and per rule.\n"
	       "Without a running podwalld, the pinned per-CPU counters are summed; then\n"
	       "--endpoint takes an address, a veth name or a counter slot (EP_ID).\n");
}

struct ep_names {
	uint32_t ep_id;
	char ips[256];
	char veth[IF_NAMESIZE];
};

/* ep_id -> addresses and veth, from the current slot of pw_ep_v1 */
static int ep_names(struct pw_pinned *p, struct ep_names **ret, size_t *ret_n)
{
	struct pw_pinned_ep *eps = NULL;
	struct ep_names *v;
	struct pw_state st;
	size_t n = 0, m = 0;
	int err;

	err = pw_pinned_state(p, &st);
	if (!err)
		err = pw_pinned_endpoints(p, st.epoch & 1, &eps, &n);
	if (err)
		return err;
	v = calloc(n + 1, sizeof(*v));
	if (!v) {
		free(eps);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		struct ep_names *e = NULL;
		char a[64];
		size_t l;

		if (!eps[i].val.ep_id)
			continue;
		for (size_t j = 0; j < m; j++)
			if (v[j].ep_id == eps[i].val.ep_id)
				e = &v[j];
		if (!e) {
			e = &v[m++];
			e->ep_id = eps[i].val.ep_id;
			if (eps[i].val.ifindex)
				if_indextoname(eps[i].val.ifindex, e->veth);
		}
		pw_ctl_addr_format(&eps[i].addr, a, sizeof(a));
		l = strlen(e->ips);
		snprintf(e->ips + l, sizeof(e->ips) - l, "%s%s", l ? "," : "", a);
	}
	free(eps);
	*ret = v;
	*ret_n = m;
	return 0;
}

/* --endpoint for the pinned view: an ep_id, an address or a veth name. */
static int resolve_endpoint(const char *x, const struct ep_names *names, size_t n, uint32_t *ret_ep)
{
	union pw_addr want;
	uint32_t id;

	if (!pw_parse_u32(x, UINT32_MAX, &id)) {
		*ret_ep = id;
		return 0;
	}
	if (!pw_ctl_addr_parse(x, &want)) {
		char t[64];

		pw_ctl_addr_format(&want, t, sizeof(t));
		for (size_t i = 0; i < n; i++) {
			char ips[256], *save = NULL;

			snprintf(ips, sizeof(ips), "%s", names[i].ips);
			for (char *s = strtok_r(ips, ",", &save); s; s = strtok_r(NULL, ",", &save))
				if (!strcmp(s, t)) {
					*ret_ep = names[i].ep_id;
					return 0;
				}
		}
		return -ENOENT;
	}
	for (size_t i = 0; i < n; i++)
		if (!strcmp(names[i].veth, x)) {
			*ret_ep = names[i].ep_id;
			return 0;
		}
	return strchr(x, '/') ? -EOPNOTSUPP : -ENOENT;
}

static int pinned_counters(struct pw_pinned *p, const char *endpoint, json_t **ret)
{
	struct pw_pinned_cnt *c = NULL;
	struct pw_pinned_rcnt *rc = NULL;
	struct ep_names *names = NULL;
	size_t nc = 0, nrc = 0, nn = 0;
	uint32_t only = 0;
	json_t *eps, *rules;
	int err;

	err = ep_names(p, &names, &nn);
	if (err)
		return err;
	if (endpoint) {
		err = resolve_endpoint(endpoint, names, nn, &only);
		if (err) {
			free(names);
			return err;
		}
	}
	err = pw_pinned_counters(p, &c, &nc);
	if (!err && !endpoint)
		err = pw_pinned_rule_counters(p, &rc, &nrc);
	if (err)
		goto out;
	eps = json_array();
	for (size_t i = 0; i < nc; i++) {
		json_t *o;

		if (endpoint && c[i].ep_id != only)
			continue;
		o = json_pack("{s:i, s:s, s:s, s:s, s:I, s:I}", "ep_id", (int)c[i].ep_id,
			      "direction", pw_ctl_dir_name(c[i].dir), "verdict",
			      pw_ctl_verdict_name(c[i].verdict), "reason",
			      pw_ctl_reason_name(c[i].reason), "packets", (json_int_t)c[i].packets,
			      "bytes", (json_int_t)c[i].bytes);
		for (size_t j = 0; j < nn; j++) {
			if (names[j].ep_id != c[i].ep_id)
				continue;
			json_object_set_new(o, "ips", json_string(names[j].ips));
			if (*names[j].veth)
				json_object_set_new(o, "veth", json_string(names[j].veth));
		}
		json_array_append_new(eps, o);
	}
	rules = json_array();
	for (size_t i = 0; i < nrc; i++)
		json_array_append_new(rules,
				      json_pack("{s:i, s:I, s:I}", "rule", (int)rc[i].rule_id,
						"packets", (json_int_t)rc[i].packets, "bytes",
						(json_int_t)rc[i].bytes));
	*ret = json_pack("{s:s, s:b, s:o, s:o, s:s}", "source", "pinned", "daemon", 0, "endpoints",
			 eps, "rules", rules, "unavailable",
			 "pod names and rule texts are known only to podwalld");
out:
	free(c);
	free(rc);
	free(names);
	return err;
}

/* One row of the endpoint table: `c` holds direction..bytes; `ep` names it
 * (the daemon's element, or the pinned row itself). */
static void endpoint_row(struct pw_table *t, const json_t *ep, const json_t *c, const json_t *pods)
{
	char b[512], pk[16], by[16];
	const char *verdict = pw_jstr(c, "verdict");
	const char *name = pw_jstr(ep, "endpoint") ? pw_jstr(ep, "endpoint") : pw_jstr(ep, "pod");
	const json_t *pod = name ? json_object_get(pods, name) : NULL;
	const char *veth = pw_jstr(ep, "veth") ? pw_jstr(ep, "veth") : pw_jstr(pod, "veth");

	if ((name && !strcmp(name, "none")) || (!name && pw_jint(ep, "ep_id", 1) == 0))
		snprintf(b, sizeof(b), "(no local endpoint)");
	else if (name && *name)
		snprintf(b, sizeof(b), "%s", name);
	else
		snprintf(b, sizeof(b), "ep %lld", pw_jint(ep, "ep_id", 0));
	pw_table_cell(t, NULL, "%s", b);
	pw_jtext(json_object_get(ep, "ips") ? json_object_get(ep, "ips")
					    : json_object_get(pod, "ips"),
		 b, sizeof(b));
	pw_table_cell(t, NULL, "%s", *b ? b : "-");
	pw_table_cell(t, NULL, "%s", veth ? veth : "-");
	pw_table_cell(t, NULL, "%s", pw_jstr(c, "direction") ? pw_jstr(c, "direction") : "-");
	pw_table_cell(t, pw_verdict_color(verdict), "%s", verdict ? verdict : "-");
	pw_table_cell(t, NULL, "%s", pw_jstr(c, "reason") ? pw_jstr(c, "reason") : "-");
	pw_human_count(pw_jint(c, "packets", 0), pk, sizeof(pk));
	pw_human_bytes(pw_jint(c, "bytes", 0), by, sizeof(by));
	pw_table_cell(t, NULL, "%s pkts", pk);
	pw_table_cell(t, NULL, "%sB", by);
}

/*
 * Counters as people read them.  Two shapes: the daemon's
 * ({endpoint, ep_id, counters:[{direction, verdict, reason, packets, bytes}]},
 * rules {namespace, policy, direction, index, ...}) and the pinned fallback's
 * (one flat row per counter, rules by id).  `pods` maps "ns/name" to the
 * daemon's endpoint object (ips, interface) or is NULL.
 */
static void print_counters(const json_t *o, const json_t *pods)
{
	const json_t *eps = json_object_get(o, "endpoints");
	const json_t *rules = json_object_get(o, "rules");
	struct pw_table *t;
	size_t i, j;
	json_t *e, *c;

	if (!json_is_array(eps) && !json_is_array(rules)) {
		pw_render_generic(o, stdout, 0);
		return;
	}
	t = pw_table_new(8, "ENDPOINT", "IPS", "VETH", "DIR", "VERDICT", "REASON", "PACKETS",
			 "BYTES");
	json_array_foreach(eps, i, e)
	{
		const json_t *list = json_object_get(e, "counters");

		if (!json_is_array(list)) {
			endpoint_row(t, e, e, pods);
			continue;
		}
		json_array_foreach(list, j, c) endpoint_row(t, e, c, pods);
	}
	if (pw_table_rows(t))
		pw_table_print(t, stdout);
	else
		printf("no packets counted\n");
	pw_table_free(t);
	if (!json_array_size(rules))
		return;
	printf("\n");
	t = pw_table_new(5, "POLICY", "DIR", "RULE", "PACKETS", "BYTES");
	json_array_foreach(rules, i, e)
	{
		char pk[16], by[16], b[512];
		const char *ns = pw_jstr(e, "namespace"), *pol = pw_jstr(e, "policy");

		if (ns && pol)
			pw_table_cell(t, NULL, "%s/%s", ns, pol);
		else
			pw_table_cell(t, NULL, "%s", pol ? pol : "-");
		pw_table_cell(t, NULL, "%s",
			      pw_jstr(e, "direction") ? pw_jstr(e, "direction") : "-");
		/* the daemon names a rule by its index in spec.ingress/egress; the
		 * pinned view knows only the rule id */
		pw_jtext(json_object_get(e, json_object_get(e, "index") ? "index" : "rule"), b,
			 sizeof(b));
		pw_table_cell(t, NULL, "%s%s", json_object_get(e, "index") ? "" : "id ", b);
		pw_human_count(pw_jint(e, "packets", 0), pk, sizeof(pk));
		pw_human_bytes(pw_jint(e, "bytes", 0), by, sizeof(by));
		pw_table_cell(t, NULL, "%s pkts", pk);
		pw_table_cell(t, NULL, "%sB", by);
	}
	pw_table_print(t, stdout);
	pw_table_free(t);
}

/* "ns/name" -> the daemon's endpoint object, for addresses and veths next to
 * pod names; NULL when the daemon does not answer (the table shows "-"). */
static json_t *daemon_pods(void)
{
	json_t *req = json_pack("{s:s}", "cmd", "endpoints"), *reply = NULL, *map, *e;
	const json_t *list;
	size_t i;

	if (!req)
		return NULL;
	if (pw_client_request(pw_socket_path, req, &reply) != 0) {
		json_decref(req);
		return NULL;
	}
	json_decref(req);
	list = json_object_get(reply, "endpoints");
	map = json_object();
	json_array_foreach(list, i, e)
	{
		char k[512];

		if (!pw_jstr(e, "namespace") || !pw_jstr(e, "name"))
			continue;
		snprintf(k, sizeof(k), "%s/%s", pw_jstr(e, "namespace"), pw_jstr(e, "name"));
		json_object_set(map, k, e);
	}
	json_decref(reply);
	return map;
}

int do_counters(int argc, char **argv)
{
	const char *endpoint = NULL;
	const struct pw_opt opts[] = {
		{ "endpoint", 'e', true, &endpoint },
		{ NULL, 0, false, NULL },
	};
	const char *pos[1];
	struct pw_pinned *p;
	json_t *req, *reply = NULL, *o = NULL;
	int r, err;

	if (pw_wants_help(argc, argv)) {
		counters_help();
		return PW_EXIT_OK;
	}
	/* `counters show ...` reads like bpftool; accept it */
	if (argc > 0 && pw_is_prefix(argv[0], "show")) {
		argc--;
		argv++;
	}
	if (pw_opts_parse("counters", opts, argc, argv, pos, 0, NULL))
		return PW_EXIT_USAGE;
	req = json_pack("{s:s}", "cmd", "counters");
	if (req && endpoint)
		json_object_set_new(req, "endpoint", json_string(endpoint));
	r = pw_daemon_ask(req, &reply);
	if (r == 0) {
		if (pw_json) {
			pw_json_print(reply);
		} else {
			json_t *pods = daemon_pods();

			print_counters(reply, pods);
			json_decref(pods);
			json_decref(reply);
		}
		return PW_EXIT_OK;
	}
	if (r != PW_DAEMON_DOWN)
		return r;
	pw_note_fallback();
	r = pw_open_pinned(&p);
	if (r)
		return r;
	err = pinned_counters(p, endpoint, &o);
	pw_pinned_close(p);
	if (err == -EOPNOTSUPP)
		return pw_error(PW_EXIT_FAIL,
				"counters: podwalld is not running (no socket at %s); pod names "
				"like '%s' are known only to the daemon: give an address, veth or "
				"EP_ID",
				pw_socket_path, endpoint);
	if (err == -ENOENT && endpoint)
		return pw_error(PW_EXIT_FAIL, "counters: no endpoint '%s' in the pinned maps",
				endpoint);
	if (err)
		return pw_error(PW_EXIT_FAIL, "counters: reading pinned maps under %s: %s",
				pw_bpffs_dir, strerror(-err));
	if (pw_json) {
		pw_json_print(o);
	} else {
		print_counters(o, NULL);
		json_decref(o);
	}
	return PW_EXIT_OK;
}
