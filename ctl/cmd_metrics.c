// SPDX-License-Identifier: MIT
/*
 * podwallctl metrics: Prometheus text exposition from podwalld, or computed
 * from the pinned counters and map fill when it is not running.  With -j the
 * samples are printed as [{"name", "labels", "value"}].
 */
#include <ctype.h>
#include <stdarg.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "human.h"
#include "live.h"
#include "pinned.h"
#include "podwallctl.h"

static void metrics_help(void)
{
	printf("Usage: podwallctl metrics\n"
	       "\n"
	       "Print podwall's metrics in the Prometheus text format (from podwalld, or\n"
	       "computed from the pinned maps when it is not running).  -j prints the samples\n"
	       "as JSON.\n");
}

/* Append printf output to a growing string. */
struct sbuf {
	char *s;
	size_t len, cap;
	int err;
};

static void sb_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->err)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? b->cap - b->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->err = -EINVAL;
			return;
		}
		if (b->s && b->len + n < b->cap) {
			b->len += n;
			return;
		}
		{
			size_t cap = (b->cap + n + 1) * 2;
			char *s = realloc(b->s, cap);

			if (!s) {
				b->err = -ENOMEM;
				return;
			}
			b->s = s;
			b->cap = cap;
		}
	}
}

int pw_metrics_from_pinned(struct pw_pinned *p, char **ret_text);

int pw_metrics_from_pinned(struct pw_pinned *p, char **ret_text)
{
	struct pw_pinned_fill fill[PW_PINNED_NMAPS];
	struct pw_pinned_cnt *c = NULL;
	struct pw_pinned_rcnt *rc = NULL;
	size_t nc = 0, nrc = 0;
	struct pw_state st;
	struct sbuf b = { 0 };
	int err;

	err = pw_pinned_state(p, &st);
	if (!err)
		err = pw_pinned_counters(p, &c, &nc);
	if (!err)
		err = pw_pinned_rule_counters(p, &rc, &nrc);
	if (!err)
		err = pw_pinned_fill(p, fill);
	if (err)
		goto out;
	sb_printf(&b, "# HELP podwall_daemon_up Whether podwalld answered on its socket.\n"
		      "# TYPE podwall_daemon_up gauge\npodwall_daemon_up 0\n");
	sb_printf(&b,
		  "# HELP podwall_policy_generation Policy generation in force.\n"
		  "# TYPE podwall_policy_generation gauge\npodwall_policy_generation %" PRIu64 "\n",
		  (uint64_t)st.epoch);
	sb_printf(&b,
		  "# HELP podwall_audit_mode Whether global audit mode is on.\n"
		  "# TYPE podwall_audit_mode gauge\npodwall_audit_mode %d\n",
		  !!(st.flags & PW_STATE_AUDIT));
	sb_printf(&b, "# HELP podwall_packets_total Packets by endpoint slot, direction, verdict "
		      "and reason.\n# TYPE podwall_packets_total counter\n");
	for (size_t i = 0; i < nc; i++)
		sb_printf(&b,
			  "podwall_packets_total{ep_id=\"%u\",direction=\"%s\",verdict=\"%s\","
			  "reason=\"%s\"} %" PRIu64 "\n",
			  c[i].ep_id, pw_ctl_dir_name(c[i].dir), pw_ctl_verdict_name(c[i].verdict),
			  pw_ctl_reason_name(c[i].reason), c[i].packets);
	sb_printf(&b, "# HELP podwall_bytes_total Bytes by endpoint slot, direction, verdict and "
		      "reason.\n# TYPE podwall_bytes_total counter\n");
	for (size_t i = 0; i < nc; i++)
		sb_printf(&b,
			  "podwall_bytes_total{ep_id=\"%u\",direction=\"%s\",verdict=\"%s\","
			  "reason=\"%s\"} %" PRIu64 "\n",
			  c[i].ep_id, pw_ctl_dir_name(c[i].dir), pw_ctl_verdict_name(c[i].verdict),
			  pw_ctl_reason_name(c[i].reason), c[i].bytes);
	sb_printf(&b, "# HELP podwall_rule_packets_total Packets by deciding rule id.\n"
		      "# TYPE podwall_rule_packets_total counter\n");
	for (size_t i = 0; i < nrc; i++)
		sb_printf(&b, "podwall_rule_packets_total{rule=\"%u\"} %" PRIu64 "\n",
			  rc[i].rule_id, rc[i].packets);
	sb_printf(&b, "# HELP podwall_rule_bytes_total Bytes by deciding rule id.\n"
		      "# TYPE podwall_rule_bytes_total counter\n");
	for (size_t i = 0; i < nrc; i++)
		sb_printf(&b, "podwall_rule_bytes_total{rule=\"%u\"} %" PRIu64 "\n", rc[i].rule_id,
			  rc[i].bytes);
	sb_printf(&b, "# HELP podwall_map_entries Entries in a pinned map (both slots).\n"
		      "# TYPE podwall_map_entries gauge\n");
	for (int i = 0; i < PW_PINNED_NMAPS; i++)
		if (fill[i].present && fill[i].countable)
			sb_printf(&b, "podwall_map_entries{map=\"%s\"} %u\n", fill[i].name,
				  fill[i].entries);
	sb_printf(&b, "# HELP podwall_map_max_entries Capacity of a pinned map.\n"
		      "# TYPE podwall_map_max_entries gauge\n");
	for (int i = 0; i < PW_PINNED_NMAPS; i++)
		if (fill[i].present)
			sb_printf(&b, "podwall_map_max_entries{map=\"%s\"} %u\n", fill[i].name,
				  fill[i].max_entries);
	err = b.err;
out:
	free(c);
	free(rc);
	if (err) {
		free(b.s);
		return err;
	}
	*ret_text = b.s;
	return 0;
}

/*
 * Prometheus text -> [{"name", "labels": {..}, "value"}].  Comments and
 * lines it cannot read are skipped; label values may contain escaped quotes.
 */
json_t *pw_metrics_to_json(const char *text);

json_t *pw_metrics_to_json(const char *text)
{
	json_t *arr = json_array();
	const char *p = text;

	while (p && *p) {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);
		char *line = strndup(p, len), *s = line, *name, *val, *end;
		json_t *labels = json_object();
		double v;

		p = eol ? eol + 1 : NULL;
		if (!line || !labels)
			goto next;
		while (isspace((unsigned char)*s))
			s++;
		if (!*s || *s == '#')
			goto next;
		name = s;
		while (*s && (isalnum((unsigned char)*s) || *s == '_' || *s == ':'))
			s++;
		if (s == name)
			goto next;
		if (*s == '{') {
			*s++ = 0;
			while (*s && *s != '}') {
				char *k = s, *lv, *w;

				while (*s && *s != '=')
					s++;
				if (*s != '=' || s[1] != '"')
					goto next;
				*s = 0;
				s += 2;
				lv = w = s;
				while (*s && *s != '"') {
					if (*s == '\\' && s[1]) {
						s++;
						*w++ = *s == 'n' ? '\n' : *s;
						s++;
						continue;
					}
					*w++ = *s++;
				}
				if (*s != '"')
					goto next;
				s++;
				*w = 0;
				json_object_set_new(labels, k, json_string(lv));
				if (*s == ',')
					s++;
			}
			if (*s != '}')
				goto next;
			s++;
		} else {
			if (!isspace((unsigned char)*s))
				goto next;
			*s++ = 0;
		}
		while (isspace((unsigned char)*s))
			s++;
		val = s;
		v = strtod(val, &end);
		if (end == val)
			goto next;
		json_array_append_new(arr, json_pack("{s:s, s:O, s:f}", "name", name, "labels",
						     labels, "value", v));
	next:
		json_decref(labels);
		free(line);
	}
	return arr;
}

int do_metrics(int argc, char **argv)
{
	struct pw_pinned *p;
	json_t *reply = NULL;
	const char *text = NULL;
	char *own = NULL;
	int r, err;

	if (pw_wants_help(argc, argv)) {
		metrics_help();
		return PW_EXIT_OK;
	}
	if (argc > 0)
		return pw_error(PW_EXIT_USAGE, "metrics: unexpected argument '%s'", argv[0]);
	r = pw_daemon_ask(json_pack("{s:s}", "cmd", "metrics"), &reply);
	if (r == 0) {
		if (json_is_string(reply))
			text = json_string_value(reply);
		else if (pw_jstr(reply, "text"))
			text = pw_jstr(reply, "text");
		else if (pw_jstr(reply, "metrics"))
			text = pw_jstr(reply, "metrics");
		if (!text) {
			json_decref(reply);
			return pw_error(PW_EXIT_FAIL,
					"podwalld's metrics reply has no \"text\" member");
		}
	} else if (r == PW_DAEMON_DOWN) {
		pw_note_fallback();
		r = pw_open_pinned(&p);
		if (r)
			return r;
		err = pw_metrics_from_pinned(p, &own);
		pw_pinned_close(p);
		if (err)
			return pw_error(PW_EXIT_FAIL, "metrics: reading pinned maps under %s: %s",
					pw_bpffs_dir, strerror(-err));
		text = own;
	} else {
		return r;
	}
	if (pw_json)
		pw_json_print(pw_metrics_to_json(text));
	else
		fputs(text, stdout);
	free(own);
	json_decref(reply);
	return PW_EXIT_OK;
}
