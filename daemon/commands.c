// SPDX-License-Identifier: MIT
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon.h"
#include "names.h"
#include "version.h"

static json_t *addr_json(const union pw_addr *a)
{
	char buf[64];

	return json_string(pw_addr_str(a, buf, sizeof(buf)));
}

static json_t *time_or_null(uint64_t ns)
{
	char buf[48];

	if (!ns)
		return json_null();
	pw_rfc3339(ns, buf, sizeof(buf));
	return json_string(buf);
}

static json_t *cmd_status(void *ctx, const json_t *req)
{
	struct pw_daemon *d = ctx;
	const struct pw_image *img = pw_reload_image(d->rl);
	struct pw_reload_stats rs;
	struct pw_flows_stats fs = { 0 };
	struct pw_server_stats ss = { 0 };
	json_t *o, *dp = NULL, *up = json_array();

	(void)req;
	pw_reload_get_stats(d->rl, &rs);
	if (d->fl)
		pw_flows_get_stats(d->fl, &fs);
	if (d->srv)
		pw_server_get_stats(d->srv, &ss);
	for (unsigned int i = 0; i < d->cfg->n_uplinks; i++)
		json_array_append_new(up, json_string(d->cfg->uplinks[i]));
	o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:o,s:o}", "version", pw_version(), "mode",
		      pw_mode_name(d->cfg->mode), "hook", pw_hook_opt_name(d->cfg->hook),
		      "policy_dir", d->cfg->policy_dir ? d->cfg->policy_dir : "", "bpffs",
		      d->cfg->bpffs, "uplinks", up, "started", time_or_null(d->start_ns));
	if (!o)
		return NULL;
	json_object_set_new(
		o, "reload",
		json_pack("{s:I,s:I,s:f,s:b,s:b,s:o,s:o,s:o}", "reloads", (json_int_t)rs.reloads,
			  "errors", (json_int_t)rs.errors, "last_duration_s",
			  (double)rs.last_duration_ns / 1e9, "last_ok", rs.last_ok, "watching",
			  rs.watching, "last_ok_time", time_or_null(rs.last_ok_ns),
			  "last_error_time", time_or_null(rs.last_error_ns), "last_error",
			  rs.last_error ? json_string(rs.last_error) : json_null()));
	if (img)
		json_object_set_new(
			o, "policy",
			json_pack("{s:I,s:I,s:I,s:I,s:I,s:I}", "pods", (json_int_t)img->n_pods,
				  "endpoints", (json_int_t)img->n_eps, "policies",
				  (json_int_t)img->n_policies, "rules", (json_int_t)img->n_rules,
				  "policy_entries", (json_int_t)(img->n_pols + img->n_ranges),
				  "prefixes", (json_int_t)img->n_prefixes));
	else
		json_object_set_new(o, "policy", json_null());
	json_object_set_new(o, "flows",
			    json_pack("{s:I,s:I,s:I,s:I}", "records", (json_int_t)fs.records,
				      "bad_events", (json_int_t)fs.bad_events, "log_errors",
				      (json_int_t)fs.log_errors, "stream_dropped",
				      (json_int_t)ss.dropped_records));
	json_object_set_new(o, "clients", json_integer(ss.clients));
	if (d->caps)
		json_object_set_new(o, "capabilities", json_string(d->caps));
	if (d->dp_status && d->dp_status(d->dp, &dp) == 0 && dp)
		json_object_set_new(o, "dataplane", dp);
	return o;
}

static json_t *no_policy(void)
{
	return pw_srv_error("no policy loaded yet");
}

static json_t *cmd_endpoints(void *ctx, const json_t *req)
{
	struct pw_daemon *d = ctx;
	const struct pw_image *img = pw_reload_image(d->rl);
	json_t *arr;

	(void)req;
	if (!img)
		return no_policy();
	arr = json_array();
	for (size_t i = 0; i < img->n_pods; i++) {
		const struct pw_img_pod *p = &img->pods[i];
		json_t *ips = json_array(), *o;
		uint32_t ifindex = 0, flags = 0, ep_id = 0;

		for (uint32_t k = p->first_ep; k < p->first_ep + p->n_eps && k < img->n_eps; k++) {
			json_array_append_new(ips, addr_json(&img->eps[k].addr));
			ifindex = img->eps[k].val.ifindex ? img->eps[k].val.ifindex : ifindex;
			flags |= img->eps[k].val.flags;
			ep_id = img->eps[k].val.ep_id ? img->eps[k].val.ep_id : ep_id;
		}
		o = json_pack("{s:s,s:s,s:o,s:b,s:i,s:i,s:{s:b,s:b},s:{s:i,s:i}}", "namespace",
			      p->ns, "name", p->name, "ips", ips, "local",
			      (flags & PW_EP_LOCAL) != 0, "ifindex", ifindex, "ep_id", ep_id,
			      "isolated", "ingress", p->set_id[PW_DIR_INGRESS] != 0, "egress",
			      p->set_id[PW_DIR_EGRESS] != 0, "policy_set", "ingress",
			      p->set_id[PW_DIR_INGRESS], "egress", p->set_id[PW_DIR_EGRESS]);
		if (!o)
			continue;
		if (p->iface)
			json_object_set_new(o, "interface", json_string(p->iface));
		if (ifindex) {
			char ifn[IF_NAMESIZE];

			/* the daemon's netns: the pod's host-side veth */
			if (if_indextoname(ifindex, ifn))
				json_object_set_new(o, "veth", json_string(ifn));
		}
		/* not an endpoint: say why rather than leave it out silently */
		if (p->skip_reason)
			json_object_set_new(o, "skipped", json_string(p->skip_reason));
		json_array_append_new(arr, o);
	}
	return json_pack("{s:o}", "endpoints", arr);
}

static json_t *policy_json(const struct pw_image *img, size_t i, bool rules)
{
	const struct pw_img_policy *p = &img->policies[i];
	json_t *o =
		json_pack("{s:s,s:s,s:s?,s:i,s:b,s:[s*s*],s:i,s:i,s:i,s:i}", "namespace", p->ns,
			  "name", p->name, "file", p->file, "line", p->line, "audit", p->audit != 0,
			  "policy_types", p->isolates[PW_DIR_INGRESS] ? "Ingress" : NULL,
			  p->isolates[PW_DIR_EGRESS] ? "Egress" : NULL, "ingress_rules",
			  p->n_rules[PW_DIR_INGRESS], "egress_rules", p->n_rules[PW_DIR_EGRESS],
			  "entries", p->n_entries, "selected_pods", p->n_selected);

	if (o && rules) {
		json_t *arr = json_array();

		for (size_t r = 0; r < img->n_rules; r++) {
			if (img->rules[r].policy != i)
				continue;
			json_array_append_new(
				arr, json_pack("{s:I,s:s,s:i,s:s?}", "rule_id", (json_int_t)(r + 1),
					       "direction", pw_dir_name(img->rules[r].dir), "index",
					       img->rules[r].index, "text", img->rules[r].text));
		}
		json_object_set_new(o, "rules", arr);
	}
	return o;
}

static json_t *cmd_policies(void *ctx, const json_t *req)
{
	struct pw_daemon *d = ctx;
	const struct pw_image *img = pw_reload_image(d->rl);
	json_t *arr;

	(void)req;
	if (!img)
		return no_policy();
	arr = json_array();
	for (size_t i = 0; i < img->n_policies; i++)
		json_array_append_new(arr, policy_json(img, i, false));
	return json_pack("{s:o}", "policies", arr);
}

static json_t *cmd_policy(void *ctx, const json_t *req)
{
	struct pw_daemon *d = ctx;
	const struct pw_image *img = pw_reload_image(d->rl);
	const char *ns = json_string_value(json_object_get(req, "ns"));
	const char *name = json_string_value(json_object_get(req, "name"));

	if (!ns || !name)
		return pw_srv_error("policy: \"ns\" and \"name\" (strings) are required");
	if (!img)
		return no_policy();
	for (size_t i = 0; i < img->n_policies; i++)
		if (strcmp(img->policies[i].ns, ns) == 0 &&
		    strcmp(img->policies[i].name, name) == 0)
			return json_pack("{s:o}", "policy", policy_json(img, i, true));
	return pw_srv_error("no policy %s/%s", ns, name);
}

static json_t *counters_json(const struct pw_image *img, const struct pw_ep_counters *ec,
			     const char *only)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < ec->n_eps; i++) {
		const char *pod = NULL;
		char name[400];
		json_t *list = json_array();

		snprintf(name, sizeof(name), "%s", ec->ep_ids[i] ? "" : "none");
		for (size_t k = 0; img && ec->ep_ids[i] && k < img->n_eps; k++)
			if (img->eps[k].val.ep_id == ec->ep_ids[i] &&
			    img->eps[k].pod < img->n_pods) {
				snprintf(name, sizeof(name), "%s/%s", img->pods[img->eps[k].pod].ns,
					 img->pods[img->eps[k].pod].name);
				pod = name;
				break;
			}
		if (only && (!pod || strcmp(only, pod) != 0)) {
			json_decref(list);
			continue;
		}
		for (unsigned int dir = 0; dir < 2; dir++)
			for (unsigned int code = 0; code < PW_CNT_CODES; code++) {
				const struct pw_counter *c =
					&ec->cnt[(i * 2 + dir) * PW_CNT_CODES + code];
				unsigned int verdict = pw_reason_is_drop(code) ? PW_VERDICT_DROP
									       : PW_VERDICT_ALLOW;
				unsigned int reason = code;

				if (!c->packets)
					continue;
				if (code >= PW_CNT_AUDIT(PW_REASON_FIRST_DROP)) {
					verdict = PW_VERDICT_AUDIT;
					reason = code - 16;
				}
				json_array_append_new(list,
						      json_pack("{s:s,s:s,s:s,s:I,s:I}",
								"direction", pw_dir_name(dir),
								"verdict", pw_verdict_name(verdict),
								"reason", pw_reason_name(reason),
								"packets", (json_int_t)c->packets,
								"bytes", (json_int_t)c->bytes));
			}
		json_array_append_new(arr, json_pack("{s:s,s:i,s:o}", "endpoint", name, "ep_id",
						     ec->ep_ids[i], "counters", list));
	}
	return arr;
}

static json_t *cmd_counters(void *ctx, const json_t *req)
{
	struct pw_daemon *d = ctx;
	const struct pw_image *img = pw_reload_image(d->rl);
	const json_t *ep = json_object_get(req, "endpoint");
	struct pw_ep_counters ec;
	struct pw_counter *rc = NULL;
	json_t *o, *rules;
	int r;

	if (ep && !json_is_null(ep) && !json_is_string(ep))
		return pw_srv_error("counters: \"endpoint\" is \"namespace/name\"");
	if (d->cnt_fd < 0)
		return pw_srv_error("counters: the counter maps are not available");
	r = pw_metrics_read_eps(d->cnt_fd, img, &ec);
	if (r)
		return pw_srv_error("counters: reading pw_cnt_v2: %s", strerror(-r));
	o = json_pack("{s:o}", "endpoints", counters_json(img, &ec, json_string_value(ep)));
	pw_metrics_counters_free(&ec);
	if (o && img && d->rcnt_fd >= 0 &&
	    pw_metrics_read_rules(d->rcnt_fd, img->n_rules, &rc) == 0) {
		rules = json_array();
		for (size_t id = 1; id <= img->n_rules && id < PW_MAX_RULES; id++) {
			const struct pw_img_rule *ru = &img->rules[id - 1];

			if (!rc[id].packets || ru->policy >= img->n_policies)
				continue;
			json_array_append_new(rules,
					      json_pack("{s:s,s:s,s:s,s:i,s:I,s:I}", "namespace",
							img->policies[ru->policy].ns, "policy",
							img->policies[ru->policy].name, "direction",
							pw_dir_name(ru->dir), "index", ru->index,
							"packets", (json_int_t)rc[id].packets,
							"bytes", (json_int_t)rc[id].bytes));
		}
		free(rc);
		json_object_set_new(o, "rules", rules);
	}
	return o;
}

static json_t *cmd_trace(void *ctx, const json_t *req)
{
	struct pw_daemon *d = ctx;
	const struct pw_image *img = pw_reload_image(d->rl);
	json_t *ret = NULL;
	int r;

	if (!json_is_string(json_object_get(req, "src")) ||
	    !json_is_string(json_object_get(req, "dst")))
		return pw_srv_error("trace: \"src\" and \"dst\" (ns/pod or address) are required");
	if (!d->trace)
		return pw_srv_error("trace: the evaluator is not built in; use podwallctl trace "
				    "--policy-dir");
	if (!img)
		return no_policy();
	r = d->trace(d->dp, img, req, &ret);
	if (r)
		return ret ? ret : pw_srv_error("trace: %s", strerror(-r));
	return ret;
}

static json_t *cmd_reload(void *ctx, const json_t *req)
{
	struct pw_daemon *d = ctx;
	struct pw_reload_stats rs;
	int r;

	(void)req;
	r = pw_reload_all(d->rl, "socket request");
	pw_reload_get_stats(d->rl, &rs);
	if (r)
		return json_pack("{s:s,s:f}", "error",
				 rs.last_error ? rs.last_error : "reload failed", "duration_s",
				 (double)rs.last_duration_ns / 1e9);
	return json_pack("{s:b,s:f}", "ok", 1, "duration_s", (double)rs.last_duration_ns / 1e9);
}

int pw_daemon_metrics(struct pw_daemon *d, char **ret_text)
{
	const struct pw_image *img = pw_reload_image(d->rl);
	struct pw_metrics_in in = { .img = img };
	struct pw_reload_stats rs;
	struct pw_flows_stats fs = { 0 };
	struct pw_server_stats ss = { 0 };
	struct pw_ep_counters ec = { 0 };
	struct pw_counter *rc = NULL;
	struct pw_map_fill *maps = NULL;
	size_t n_maps = 0;
	int r;

	pw_reload_get_stats(d->rl, &rs);
	if (d->fl)
		pw_flows_get_stats(d->fl, &fs);
	if (d->srv)
		pw_server_get_stats(d->srv, &ss);
	in.reloads = rs.reloads;
	in.reload_errors = rs.errors;
	in.reload_duration_s = (double)rs.last_duration_ns / 1e9;
	in.flow_records = fs.records;
	in.stream_dropped = ss.dropped_records;
	if (d->cnt_fd >= 0 && pw_metrics_read_eps(d->cnt_fd, img, &ec) == 0)
		in.eps = &ec;
	if (img && d->rcnt_fd >= 0 && pw_metrics_read_rules(d->rcnt_fd, img->n_rules, &rc) == 0) {
		in.rules = rc;
		in.n_rules = img->n_rules < PW_MAX_RULES ? img->n_rules : PW_MAX_RULES - 1;
	}
	if (d->rl_fd >= 0)
		pw_metrics_read_suppressed(d->rl_fd, &in.events_suppressed);
	if (d->dp_map_fill && d->dp_map_fill(d->dp, &maps, &n_maps) == 0) {
		in.maps = maps;
		in.n_maps = n_maps;
	}
	r = pw_metrics_format(&in, ret_text);
	pw_metrics_counters_free(&ec);
	free(rc);
	free(maps);
	return r;
}

static json_t *cmd_metrics(void *ctx, const json_t *req)
{
	char *text;
	json_t *o;
	int r;

	(void)req;
	r = pw_daemon_metrics(ctx, &text);
	if (r)
		return pw_srv_error("metrics: %s", strerror(-r));
	o = json_pack("{s:s}", "metrics", text);
	free(text);
	return o;
}

const struct pw_srv_cmd pw_daemon_cmds[] = {
	{ "status", cmd_status, "mode, hook, reload state and last error, counts, dataplane" },
	{ "endpoints", cmd_endpoints, "pods with addresses, interface and isolation" },
	{ "policies", cmd_policies, "policies with rule and entry counts" },
	{ "policy", cmd_policy, "one policy (ns, name) with its compiled rules" },
	{ "counters", cmd_counters, "per-endpoint and per-rule counters (endpoint filter)" },
	{ "trace", cmd_trace, "the decision for src, dst, port, proto" },
	{ "reload", cmd_reload, "reload the policy directory now" },
	{ "metrics", cmd_metrics, "Prometheus text exposition" },
	{ NULL, NULL, NULL },
};
