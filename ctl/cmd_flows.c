// SPDX-License-Identifier: MIT
/*
 * podwallctl flows [--follow] [--verdict allow|drop|audit] [--pod NS/NAME]
 *                  [--ip IP] [--port N] [--since T] [--file FLOWLOG]
 *
 * Filters are sent to the daemon and applied again here, so the output is
 * right whichever filters the daemon implements; --file reads a flow log
 * offline with the same filters.  Newest records last.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "flows.h"
#include "human.h"
#include "live.h"
#include "pinned.h"
#include "podwallctl.h"

static void flows_help(void)
{
	fprintf(stdout,
		"Usage: podwallctl flows [--follow] [--verdict allow|drop|audit] [--pod NS/NAME]\n"
		"                        [--ip IP] [--port N] [--since T] [--file FLOWLOG]\n"
		"\n"
		"Show flow records (allowed, dropped and audited packets), newest last.\n"
		"\n"
		"  -f, --follow         keep printing new records until interrupted\n"
		"  -v, --verdict V      only records with verdict allow, drop or audit\n"
		"      --pod NS/NAME    only records with this pod as source or destination\n"
		"      --ip IP          only records with this address as source or destination\n"
		"      --port N         only records with this port on either side\n"
		"      --since T        only records newer than T: 30s, 5m, 1h, 2d or RFC 3339\n"
		"      --file FLOWLOG   read a JSON-lines flow log instead of asking podwalld\n"
		"\n"
		"Without --file the records come from podwalld's in-memory history.\n");
}

int pw_flows_parse_args(int argc, char **argv, int64_t now, struct pw_flow_args *ret)
{
	const char *follow = NULL, *verdict = NULL, *pod = NULL, *ip = NULL, *port = NULL,
		   *since = NULL, *file = NULL;
	const struct pw_opt opts[] = {
		{ "follow", 'f', false, &follow }, { "verdict", 'v', true, &verdict },
		{ "pod", 0, true, &pod },	   { "ip", 0, true, &ip },
		{ "port", 0, true, &port },	   { "since", 0, true, &since },
		{ "file", 0, true, &file },	   { NULL, 0, false, NULL },
	};
	struct pw_flow_args a = { 0 };
	const char *pos[1];
	int npos;

	if (pw_opts_parse("flows", opts, argc, argv, pos, 0, &npos))
		return PW_EXIT_USAGE;
	a.follow = follow != NULL;
	a.file = file;
	if (verdict) {
		if (pw_is_prefix(verdict, "allow"))
			a.f.verdict = "allow";
		else if (pw_is_prefix(verdict, "drop"))
			a.f.verdict = "drop";
		else if (pw_is_prefix(verdict, "audit"))
			a.f.verdict = "audit";
		else
			return pw_error(PW_EXIT_USAGE,
					"flows: --verdict must be allow, drop or audit, not '%s'",
					verdict);
	}
	if (pod) {
		const char *slash = strchr(pod, '/');

		if (!slash || slash == pod || !slash[1] || strchr(slash + 1, '/'))
			return pw_error(PW_EXIT_USAGE,
					"flows: --pod must be NAMESPACE/NAME, not '%s'", pod);
		a.f.pod = pod;
	}
	if (ip) {
		if (pw_ctl_addr_parse(ip, &a.f.ip))
			return pw_error(PW_EXIT_USAGE,
					"flows: --ip '%s' is not an IPv4 or IPv6 address", ip);
		a.f.has_ip = true;
		a.ip_text = ip;
	}
	if (port) {
		if (pw_parse_u32(port, 65535, &a.f.port) || a.f.port == 0)
			return pw_error(PW_EXIT_USAGE, "flows: --port must be 1..65535, not '%s'",
					port);
		a.f.has_port = true;
	}
	if (since) {
		if (pw_parse_since(since, now, &a.f.since_ns))
			return pw_error(
				PW_EXIT_USAGE,
				"flows: --since '%s' is neither a duration (30s, 5m, 1h, 2d) "
				"nor an RFC 3339 time",
				since);
		a.f.has_since = true;
		a.since_text = since;
	}
	*ret = a;
	return 0;
}

/* ---- normalising records ------------------------------------------------ */

static void copy_str(char *dst, size_t len, const json_t *v)
{
	if (json_is_string(v))
		snprintf(dst, len, "%s", json_string_value(v));
	else if (json_is_integer(v))
		snprintf(dst, len, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
}

static int64_t ts_from_number(double d)
{
	/* by magnitude: ns (> 1e17), us (> 1e14), ms (> 1e11), else seconds */
	if (d > 1e17)
		return (int64_t)d;
	if (d > 1e14)
		return (int64_t)(d * 1e3);
	if (d > 1e11)
		return (int64_t)(d * 1e6);
	return (int64_t)(d * 1e9);
}

static void pod_from(const json_t *o, char *buf, size_t len)
{
	const json_t *p = json_object_get(o, "pod");
	const char *ns = json_string_value(json_object_get(o, "ns"));
	const char *name = json_string_value(json_object_get(o, "name"));

	if (!ns)
		ns = json_string_value(json_object_get(o, "namespace"));
	if (json_is_string(p) && strchr(json_string_value(p), '/'))
		snprintf(buf, len, "%s", json_string_value(p));
	else if (json_is_string(p) && ns)
		snprintf(buf, len, "%s/%s", ns, json_string_value(p));
	else if (ns && name)
		snprintf(buf, len, "%s/%s", ns, name);
}

static void side_from(const json_t *rec, const char *side, char *addr, size_t alen, char *pod,
		      size_t plen, int *port)
{
	char k[32];
	const json_t *v = json_object_get(rec, side);

	if (json_is_object(v)) {
		const json_t *a = json_object_get(v, "ip");

		if (!a)
			a = json_object_get(v, "addr");
		copy_str(addr, alen, a);
		if (json_is_integer(json_object_get(v, "port")))
			*port = (int)json_integer_value(json_object_get(v, "port"));
		pod_from(v, pod, plen);
	} else {
		copy_str(addr, alen, v);
	}
	if (!*addr) {
		snprintf(k, sizeof(k), "%s_ip", side);
		copy_str(addr, alen, json_object_get(rec, k));
	}
	if (!*pod) {
		snprintf(k, sizeof(k), "%s_pod", side);
		v = json_object_get(rec, k);
		if (json_is_string(v))
			copy_str(pod, plen, v);
		else if (json_is_object(v))
			pod_from(v, pod, plen);
	}
	if (*port < 0) {
		snprintf(k, sizeof(k), "%s_port", side);
		v = json_object_get(rec, k);
		if (!v)
			v = json_object_get(rec, side[0] == 's' ? "sport" : "dport");
		if (json_is_integer(v))
			*port = (int)json_integer_value(v);
	}
}

int pw_flow_from_json(const json_t *rec, struct pw_flow *ret)
{
	struct pw_flow fl;
	const json_t *v;

	if (!json_is_object(rec))
		return -EINVAL;
	memset(&fl, 0, sizeof(fl));
	fl.sport = fl.dport = -1;
	v = json_object_get(rec, "ts");
	if (!v)
		v = json_object_get(rec, "time");
	if (!v)
		v = json_object_get(rec, "timestamp");
	if (json_is_string(v))
		pw_parse_rfc3339(json_string_value(v), &fl.ts_ns);
	else if (json_is_number(v))
		fl.ts_ns = ts_from_number(json_number_value(v));
	side_from(rec, "src", fl.src, sizeof(fl.src), fl.src_pod, sizeof(fl.src_pod), &fl.sport);
	side_from(rec, "dst", fl.dst, sizeof(fl.dst), fl.dst_pod, sizeof(fl.dst_pod), &fl.dport);
	copy_str(fl.proto, sizeof(fl.proto), json_object_get(rec, "proto"));
	v = json_object_get(rec, "dir");
	copy_str(fl.dir, sizeof(fl.dir), v ? v : json_object_get(rec, "direction"));
	v = json_object_get(rec, "verdict");
	if (json_is_integer(v))
		snprintf(fl.verdict, sizeof(fl.verdict), "%s",
			 pw_ctl_verdict_name((unsigned)json_integer_value(v)));
	else
		copy_str(fl.verdict, sizeof(fl.verdict), v);
	v = json_object_get(rec, "reason");
	if (json_is_integer(v))
		snprintf(fl.reason, sizeof(fl.reason), "%s",
			 pw_ctl_reason_name((unsigned)json_integer_value(v)));
	else
		copy_str(fl.reason, sizeof(fl.reason), v);
	v = json_object_get(rec, "policy");
	if (json_is_object(v))
		pod_from(v, fl.policy, sizeof(fl.policy));
	else
		copy_str(fl.policy, sizeof(fl.policy), v);
	/* a drop no rule decided: name the policies that isolate the pod */
	v = json_object_get(rec, "isolated_by");
	if (!fl.policy[0] && json_is_array(v) && json_array_size(v)) {
		const json_t *it;
		size_t i, n = 0;

		n += (size_t)snprintf(fl.policy, sizeof(fl.policy), "isolated by ");
		json_array_foreach(v, i, it)
		{
			if (n >= sizeof(fl.policy) || !json_is_string(it))
				break;
			n += (size_t)snprintf(fl.policy + n, sizeof(fl.policy) - n, "%s%s",
					      i ? "," : "", json_string_value(it));
		}
	}
	copy_str(fl.rule, sizeof(fl.rule), json_object_get(rec, "rule"));
	*ret = fl;
	return 0;
}

static bool addr_eq(const char *text, const union pw_addr *want)
{
	union pw_addr a;

	return *text && !pw_ctl_addr_parse(text, &a) && !memcmp(&a, want, sizeof(a));
}

bool pw_flow_match(const struct pw_flow_filter *f, const struct pw_flow *fl)
{
	if (f->verdict && strcmp(f->verdict, fl->verdict))
		return false;
	if (f->pod && strcmp(f->pod, fl->src_pod) && strcmp(f->pod, fl->dst_pod))
		return false;
	if (f->has_ip && !addr_eq(fl->src, &f->ip) && !addr_eq(fl->dst, &f->ip))
		return false;
	if (f->has_port && fl->sport != (int)f->port && fl->dport != (int)f->port)
		return false;
	/* a record without a time cannot be shown as newer than T */
	if (f->has_since && fl->ts_ns < f->since_ns)
		return false;
	return true;
}

void pw_flow_endpoint_text(const char *pod, const char *addr, int port, char *buf, size_t len)
{
	char a[80];
	bool v6 = strchr(addr, ':') != NULL;

	if (!*addr)
		snprintf(a, sizeof(a), "?");
	else if (port >= 0 && v6)
		snprintf(a, sizeof(a), "[%s]:%d", addr, port);
	else if (port >= 0)
		snprintf(a, sizeof(a), "%s:%d", addr, port);
	else
		snprintf(a, sizeof(a), "%s", addr);
	if (pod && *pod)
		snprintf(buf, len, "%s %s", pod, a);
	else
		snprintf(buf, len, "%s", a);
}

json_t *pw_flows_request(const struct pw_flow_args *a)
{
	json_t *r = json_pack("{s:s}", "cmd", "flows");

	if (!r)
		return NULL;
	if (a->f.verdict)
		json_object_set_new(r, "verdict", json_string(a->f.verdict));
	if (a->f.pod)
		json_object_set_new(r, "pod", json_string(a->f.pod));
	if (a->ip_text)
		json_object_set_new(r, "ip", json_string(a->ip_text));
	if (a->f.has_port)
		json_object_set_new(r, "port", json_integer(a->f.port));
	if (a->f.has_since) {
		char b[64];

		pw_format_rfc3339(a->f.since_ns, b, sizeof(b));
		json_object_set_new(r, "since", json_string(b));
	}
	if (a->follow)
		json_object_set_new(r, "follow", json_true());
	return r;
}

/* ---- output ------------------------------------------------------------- */

static void time_text(int64_t ns, char *buf, size_t len)
{
	time_t t = (time_t)(ns / 1000000000LL), now = time(NULL);
	struct tm tm, tn;
	char b[32];

	if (!ns) {
		snprintf(buf, len, "-");
		return;
	}
	localtime_r(&t, &tm);
	localtime_r(&now, &tn);
	if (tm.tm_year == tn.tm_year && tm.tm_yday == tn.tm_yday)
		strftime(b, sizeof(b), "%H:%M:%S", &tm);
	else
		strftime(b, sizeof(b), "%Y-%m-%d %H:%M:%S", &tm);
	snprintf(buf, len, "%s.%03d", b, (int)((ns % 1000000000LL) / 1000000));
}

static void decided_text(const struct pw_flow *fl, char *buf, size_t len)
{
	if (*fl->policy && *fl->rule)
		snprintf(buf, len, "%s rule %s", fl->policy, fl->rule);
	else if (*fl->policy)
		snprintf(buf, len, "%s", fl->policy);
	else if (*fl->rule)
		snprintf(buf, len, "rule %s", fl->rule);
	else
		snprintf(buf, len, "-");
}

#define FLOW_COLS \
	"TIME", "VERDICT", "DIR", "PROTO", "SOURCE", "DESTINATION", "REASON", "POLICY/RULE"

static void flow_cells(const struct pw_flow *fl, char cells[8][640])
{
	time_text(fl->ts_ns, cells[0], 640);
	snprintf(cells[1], 640, "%s", *fl->verdict ? fl->verdict : "-");
	snprintf(cells[2], 640, "%s", *fl->dir ? fl->dir : "-");
	snprintf(cells[3], 640, "%s", *fl->proto ? fl->proto : "-");
	pw_flow_endpoint_text(fl->src_pod, fl->src, fl->sport, cells[4], 640);
	pw_flow_endpoint_text(fl->dst_pod, fl->dst, fl->dport, cells[5], 640);
	snprintf(cells[6], 640, "%s", *fl->reason ? fl->reason : "-");
	decided_text(fl, cells[7], 640);
}

/* Follow mode cannot align on widths it has not seen: fixed widths. */
static void print_flow_line(const struct pw_flow *fl)
{
	char c[8][640];
	const char *col = pw_verdict_color(fl->verdict);

	flow_cells(fl, c);
	printf("%-12s  %s%-7s%s  %-7s  %-5s  %-32s  %-32s  %-14s  %s\n", c[0], col ? col : "", c[1],
	       col ? PW_C_OFF : "", c[2], c[3], c[4], c[5], c[6], c[7]);
	fflush(stdout);
}

struct flow_list {
	json_t **recs; /* ring of the newest PW_FLOWS_MAX_KEEP matching records */
	size_t start, n, dropped;
};

static int list_add(struct flow_list *l, json_t *rec)
{
	if (!l->recs) {
		l->recs = calloc(PW_FLOWS_MAX_KEEP, sizeof(*l->recs));
		if (!l->recs)
			return -ENOMEM;
	}
	json_incref(rec);
	if (l->n < PW_FLOWS_MAX_KEEP) {
		l->recs[(l->start + l->n++) % PW_FLOWS_MAX_KEEP] = rec;
	} else {
		json_decref(l->recs[l->start]);
		l->recs[l->start] = rec;
		l->start = (l->start + 1) % PW_FLOWS_MAX_KEEP;
		l->dropped++;
	}
	return 0;
}

static void list_free(struct flow_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		json_decref(l->recs[(l->start + i) % PW_FLOWS_MAX_KEEP]);
	free(l->recs);
}

/* Print every kept record: JSON array, or one aligned table. */
static int list_print(struct flow_list *l)
{
	struct pw_table *t;

	if (pw_json) {
		json_t *arr = json_array();

		for (size_t i = 0; i < l->n; i++)
			json_array_append(arr, l->recs[(l->start + i) % PW_FLOWS_MAX_KEEP]);
		pw_json_print(arr);
		return 0;
	}
	if (l->dropped)
		fprintf(stderr, "flows: %zu older matching records not shown (limit %d)\n",
			l->dropped, PW_FLOWS_MAX_KEEP);
	if (!l->n) {
		printf("no flow records match\n");
		return 0;
	}
	t = pw_table_new(8, FLOW_COLS);
	if (!t)
		return -ENOMEM;
	for (size_t i = 0; i < l->n; i++) {
		struct pw_flow fl;
		char c[8][640];

		pw_flow_from_json(l->recs[(l->start + i) % PW_FLOWS_MAX_KEEP], &fl);
		flow_cells(&fl, c);
		for (int j = 0; j < 8; j++)
			pw_table_cell(t, j == 1 ? pw_verdict_color(fl.verdict) : NULL, "%s", c[j]);
	}
	pw_table_print(t, stdout);
	pw_table_free(t);
	return 0;
}

struct stream_ctx {
	const struct pw_flow_args *a;
	struct flow_list *list; /* NULL: print as records arrive */
	int err;
};

static int on_record(json_t *rec, struct stream_ctx *ctx)
{
	struct pw_flow fl;

	if (pw_flow_from_json(rec, &fl) || !pw_flow_match(&ctx->a->f, &fl))
		return 0;
	if (ctx->list)
		return list_add(ctx->list, rec);
	if (pw_json)
		pw_json_print(json_incref(rec));
	else
		print_flow_line(&fl);
	return 0;
}

/* A daemon message: a record, an array of records, {"flows": [...]}, or an
 * {"error": ...}; anything else (e.g. {"ok": true} acknowledgements) is
 * ignored. */
static int on_message(json_t *msg, void *ud)
{
	struct stream_ctx *ctx = ud;
	json_t *arr = json_is_array(msg) ? msg : json_object_get(msg, "flows");
	const char *emsg = pw_reply_error(msg);
	size_t i;
	json_t *rec;
	int err;

	if (emsg) {
		ctx->err = pw_error(PW_EXIT_FAIL, "podwalld: %s", emsg);
		return 1;
	}
	if (json_is_array(arr)) {
		json_array_foreach(arr, i, rec)
		{
			err = on_record(rec, ctx);
			if (err)
				return err;
		}
		return 0;
	}
	if (json_object_get(msg, "verdict") || json_object_get(msg, "src"))
		return on_record(msg, ctx);
	return 0;
}

int pw_flows_from_file(const struct pw_flow_args *a, FILE *f, volatile sig_atomic_t *stop);

static volatile sig_atomic_t file_stop;

static void on_file_stop(int sig)
{
	(void)sig;
	file_stop = 1;
}

/* Read a flow log; with --follow keep reading what is appended (tail -f). */
int pw_flows_from_file(const struct pw_flow_args *a, FILE *f, volatile sig_atomic_t *stop)
{
	struct flow_list list = { 0 };
	struct stream_ctx ctx = { .a = a, .list = a->follow ? NULL : &list };
	char *line = NULL;
	size_t cap = 0, lineno = 0, bad = 0;
	ssize_t n;
	int err = 0;

	for (;;) {
		json_t *rec;

		n = getline(&line, &cap, f);
		if (n < 0) {
			if (!a->follow || (stop && *stop))
				break;
			clearerr(f);
			usleep(200 * 1000);
			continue;
		}
		lineno++;
		if ((size_t)n > PW_FLOWS_MAX_LINE) {
			bad++;
			continue;
		}
		if (n <= 1)
			continue;
		rec = json_loads(line, 0, NULL);
		if (!rec) {
			bad++;
			continue;
		}
		err = on_message(rec, &ctx);
		json_decref(rec);
		if (err)
			break;
	}
	free(line);
	if (bad && !pw_json)
		fprintf(stderr, "flows: skipped %zu of %zu lines that are not JSON records\n", bad,
			lineno);
	if (!err && !a->follow)
		err = list_print(&list);
	list_free(&list);
	return err;
}

static int flows_file(const struct pw_flow_args *a)
{
	struct sigaction sa = { .sa_handler = on_file_stop }, oi, ot;
	FILE *f = fopen(a->file, "re");
	int err;

	if (!f)
		return pw_error(PW_EXIT_FAIL, "flows: cannot open %s: %s", a->file,
				strerror(errno));
	file_stop = 0;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &oi);
	sigaction(SIGTERM, &sa, &ot);
	err = pw_flows_from_file(a, f, &file_stop);
	sigaction(SIGINT, &oi, NULL);
	sigaction(SIGTERM, &ot, NULL);
	fclose(f);
	if (err < 0)
		return pw_error(PW_EXIT_FAIL, "flows: %s", strerror(-err));
	return err ? PW_EXIT_FAIL : PW_EXIT_OK;
}

static int flows_daemon(const struct pw_flow_args *a)
{
	struct flow_list list = { 0 };
	struct stream_ctx ctx = { .a = a, .list = a->follow ? NULL : &list };
	struct pw_client *c;
	json_t *req = pw_flows_request(a), *reply = NULL;
	int err;

	if (!req)
		return pw_error(PW_EXIT_FAIL, "out of memory");
	if (!a->follow) {
		err = pw_daemon_ask(req, &reply);
		if (err == PW_DAEMON_DOWN)
			return pw_error(
				PW_EXIT_FAIL,
				"podwalld is not running (no socket at %s); flow records "
				"come from the daemon: use --file FLOWLOG to read a flow log",
				pw_socket_path);
		if (err)
			return err;
		err = on_message(reply, &ctx);
		json_decref(reply);
		if (!err && !ctx.err)
			err = list_print(&list);
		list_free(&list);
		if (ctx.err)
			return ctx.err;
		return err < 0 ? pw_error(PW_EXIT_FAIL, "flows: %s", strerror(-err)) : 0;
	}
	err = pw_client_connect(pw_socket_path, PW_CLIENT_TIMEOUT_MS, &c);
	if (err) {
		json_decref(req);
		if (pw_client_not_running(err))
			return pw_error(PW_EXIT_FAIL,
					"podwalld is not running (no socket at %s); use --file "
					"FLOWLOG --follow to follow a flow log",
					pw_socket_path);
		return pw_error(PW_EXIT_FAIL, "cannot connect to podwalld at %s: %s",
				pw_socket_path, strerror(-err));
	}
	if (!pw_json) {
		printf("%-12s  %-7s  %-7s  %-5s  %-32s  %-32s  %-14s  %s\n", FLOW_COLS);
		fflush(stdout);
	}
	err = pw_client_stream(c, req, on_message, &ctx);
	pw_client_close(c);
	json_decref(req);
	if (ctx.err)
		return ctx.err;
	if (err == -EPIPE)
		return pw_error(PW_EXIT_FAIL, "podwalld closed the flow stream");
	if (err)
		return pw_error(PW_EXIT_FAIL, "flows: %s", strerror(-err));
	return PW_EXIT_OK;
}

int do_flows(int argc, char **argv)
{
	struct pw_flow_args a;
	int r;

	if (pw_wants_help(argc, argv)) {
		flows_help();
		return PW_EXIT_OK;
	}
	r = pw_flows_parse_args(argc, argv, time(NULL), &a);
	if (r)
		return r;
	return a.file ? flows_file(&a) : flows_daemon(&a);
}
