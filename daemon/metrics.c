// SPDX-License-Identifier: MIT
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "metrics.h"
#include "names.h"

/* Label values: backslash, double quote and newline are escaped. */
static void label(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fputc('\\', f), fputc(*s, f);
		else if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
}

static const struct pw_img_pod *pod_of_ep(const struct pw_image *img, uint32_t ep_id)
{
	if (!img || !ep_id)
		return NULL;
	for (size_t i = 0; i < img->n_eps; i++)
		if (img->eps[i].val.ep_id == ep_id && img->eps[i].pod < img->n_pods)
			return &img->pods[img->eps[i].pod];
	return NULL;
}

static void endpoint_label(FILE *f, const struct pw_image *img, uint32_t ep_id)
{
	const struct pw_img_pod *p = pod_of_ep(img, ep_id);

	if (p) {
		label(f, p->ns);
		fputc('/', f);
		label(f, p->name);
	} else if (ep_id) {
		fprintf(f, "ep-%u", ep_id);
	} else {
		fputs("none", f);
	}
}

static void header(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void ep_series(FILE *f, const struct pw_metrics_in *in, int bytes)
{
	const char *name = bytes ? "podwall_bytes_total" : "podwall_packets_total";

	header(f, name, "counter",
	       bytes ? "Bytes seen by the datapath, by endpoint, direction, verdict and reason."
		     : "Packets seen by the datapath, by endpoint, direction, verdict and reason.");
	for (size_t i = 0; in->eps && i < in->eps->n_eps; i++) {
		for (unsigned int dir = 0; dir < 2; dir++) {
			for (unsigned int code = 0; code < PW_CNT_CODES; code++) {
				const struct pw_counter *c =
					&in->eps->cnt[(i * 2 + dir) * PW_CNT_CODES + code];
				uint64_t v = bytes ? c->bytes : c->packets;
				unsigned int reason = code, verdict;

				if (!v)
					continue;
				if (code >= PW_CNT_AUDIT(PW_REASON_FIRST_DROP)) {
					verdict = PW_VERDICT_AUDIT;
					reason = code - 16;
				} else {
					verdict = pw_reason_is_drop(code) ? PW_VERDICT_DROP
									  : PW_VERDICT_ALLOW;
				}
				fprintf(f, "%s{endpoint=\"", name);
				endpoint_label(f, in->img, in->eps->ep_ids[i]);
				fprintf(f,
					"\",direction=\"%s\",verdict=\"%s\",reason=\"%s\"} %llu\n",
					pw_dir_name(dir), pw_verdict_name(verdict),
					pw_reason_name(reason), (unsigned long long)v);
			}
		}
	}
}

static void rule_label(FILE *f, const struct pw_image *img, size_t id)
{
	const struct pw_img_rule *r;
	const struct pw_img_policy *p;

	if (!img || id == 0 || id > img->n_rules || img->rules[id - 1].policy >= img->n_policies) {
		fprintf(f, "policy=\"\",rule=\"%zu\"", id);
		return;
	}
	r = &img->rules[id - 1];
	p = &img->policies[r->policy];
	fputs("policy=\"", f);
	label(f, p->ns);
	fputc('/', f);
	label(f, p->name);
	fprintf(f, "\",rule=\"%s[%u]\"", r->dir == PW_DIR_INGRESS ? "ingress" : "egress", r->index);
}

int pw_metrics_format(const struct pw_metrics_in *in, char **ret_text)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (!f)
		return -ENOMEM;
	ep_series(f, in, 0);
	ep_series(f, in, 1);

	header(f, "podwall_rule_packets_total", "counter", "Packets allowed by each policy rule.");
	for (size_t id = 1; in->rules && id <= in->n_rules; id++) {
		if (!in->rules[id].packets)
			continue;
		fputs("podwall_rule_packets_total{", f);
		rule_label(f, in->img, id);
		fprintf(f, "} %llu\n", (unsigned long long)in->rules[id].packets);
	}
	header(f, "podwall_rule_bytes_total", "counter", "Bytes allowed by each policy rule.");
	for (size_t id = 1; in->rules && id <= in->n_rules; id++) {
		if (!in->rules[id].packets)
			continue;
		fputs("podwall_rule_bytes_total{", f);
		rule_label(f, in->img, id);
		fprintf(f, "} %llu\n", (unsigned long long)in->rules[id].bytes);
	}

	header(f, "podwall_reloads_total", "counter", "Successful policy reloads.");
	fprintf(f, "podwall_reloads_total %llu\n", (unsigned long long)in->reloads);
	header(f, "podwall_reload_errors_total", "counter",
	       "Policy reloads rejected (bad input) or failed to apply.");
	fprintf(f, "podwall_reload_errors_total %llu\n", (unsigned long long)in->reload_errors);
	header(f, "podwall_reload_duration_seconds", "gauge",
	       "Duration of the last reload (parse, compile, apply).");
	fprintf(f, "podwall_reload_duration_seconds %.6f\n", in->reload_duration_s);

	header(f, "podwall_map_entries", "gauge", "Entries of each BPF map in force.");
	for (size_t i = 0; i < in->n_maps; i++)
		fprintf(f, "podwall_map_entries{map=\"%s\"} %llu\n", in->maps[i].name,
			(unsigned long long)in->maps[i].entries);
	header(f, "podwall_map_capacity", "gauge", "Capacity (max_entries) of each BPF map.");
	for (size_t i = 0; i < in->n_maps; i++)
		fprintf(f, "podwall_map_capacity{map=\"%s\"} %llu\n", in->maps[i].name,
			(unsigned long long)in->maps[i].capacity);

	header(f, "podwall_events_suppressed_total", "counter",
	       "Flow events not emitted because of the in-kernel rate limit.");
	fprintf(f, "podwall_events_suppressed_total %llu\n",
		(unsigned long long)in->events_suppressed);
	header(f, "podwall_flow_records_total", "counter",
	       "Flow records read from the ring buffer.");
	fprintf(f, "podwall_flow_records_total %llu\n", (unsigned long long)in->flow_records);
	header(f, "podwall_stream_dropped_records_total", "counter",
	       "Flow records not sent to slow `flows --follow` clients.");
	fprintf(f, "podwall_stream_dropped_records_total %llu\n",
		(unsigned long long)in->stream_dropped);

	if (fclose(f) != 0) {
		free(text);
		return -ENOMEM;
	}
	*ret_text = text;
	return 0;
}

int pw_metrics_write_file(const char *path, const char *text)
{
	char tmp[4096];
	size_t len = strlen(text), off = 0;
	int fd, r = 0;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	while (off < len) {
		ssize_t n = write(fd, text + off, len - off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			break;
		}
		off += (size_t)n;
	}
	if (!r && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && !r)
		r = -errno;
	if (!r && rename(tmp, path) < 0)
		r = -errno;
	if (r)
		unlink(tmp);
	return r;
}

/* Element `key` of a per-CPU array whose values are `per` struct pw_counter
 * (1 for pw_rcnt_v1, PW_CNT_CODES for pw_cnt_v2): ret[0..per) gets each
 * counter summed over CPUs.  vals holds ncpu * per counters. */
static int sum_percpu(int fd, uint32_t key, struct pw_counter *vals, int ncpu, uint32_t per,
		      struct pw_counter *ret)
{
	if (bpf_map_lookup_elem(fd, &key, vals))
		return -errno;
	for (uint32_t k = 0; k < per; k++) {
		struct pw_counter s = { 0, 0 };

		for (int c = 0; c < ncpu; c++) {
			s.packets += vals[(size_t)c * per + k].packets;
			s.bytes += vals[(size_t)c * per + k].bytes;
		}
		ret[k] = s;
	}
	return 0;
}

void pw_metrics_counters_free(struct pw_ep_counters *c)
{
	free(c->ep_ids);
	free(c->cnt);
	memset(c, 0, sizeof(*c));
}

int pw_metrics_read_eps(int cnt_fd, const struct pw_image *img, struct pw_ep_counters *ret)
{
	int ncpu = libbpf_num_possible_cpus();
	struct pw_ep_counters c = { 0 };
	struct pw_counter *vals;
	size_t max = 1 + (img ? img->n_eps : 0);
	int r = 0;

	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	vals = calloc((size_t)ncpu * PW_CNT_CODES, sizeof(*vals));
	c.ep_ids = calloc(max, sizeof(*c.ep_ids));
	if (!vals || !c.ep_ids) {
		r = -ENOMEM;
		goto out;
	}
	c.ep_ids[c.n_eps++] = 0;
	for (size_t i = 0; img && i < img->n_eps; i++) {
		uint32_t id = img->eps[i].val.ep_id;
		bool seen = false;

		if (!id || id >= PW_MAX_LOCAL_EPS)
			continue;
		for (size_t k = 0; k < c.n_eps && !seen; k++)
			seen = c.ep_ids[k] == id;
		if (!seen)
			c.ep_ids[c.n_eps++] = id;
	}
	c.cnt = calloc(c.n_eps * 2 * PW_CNT_CODES, sizeof(*c.cnt));
	if (!c.cnt) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < c.n_eps && !r; i++)
		for (uint32_t dir = 0; dir < 2 && !r; dir++)
			r = sum_percpu(cnt_fd, PW_CNT_SLOT(c.ep_ids[i], dir), vals, ncpu,
				       PW_CNT_CODES, &c.cnt[(i * 2 + dir) * PW_CNT_CODES]);
out:
	free(vals);
	if (r)
		pw_metrics_counters_free(&c);
	else
		*ret = c;
	return r;
}

int pw_metrics_read_rules(int rcnt_fd, size_t n_rules, struct pw_counter **ret)
{
	int ncpu = libbpf_num_possible_cpus();
	struct pw_counter *vals, *out;
	int r = 0;

	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	if (n_rules >= PW_MAX_RULES)
		n_rules = PW_MAX_RULES - 1;
	vals = calloc((size_t)ncpu, sizeof(*vals));
	out = calloc(n_rules + 1, sizeof(*out));
	if (!vals || !out) {
		r = -ENOMEM;
		goto fail;
	}
	for (uint32_t id = 1; id <= n_rules && !r; id++)
		r = sum_percpu(rcnt_fd, id, vals, ncpu, 1, &out[id]);
	if (r)
		goto fail;
	free(vals);
	*ret = out;
	return 0;
fail:
	free(vals);
	free(out);
	return r;
}

int pw_metrics_read_suppressed(int rl_fd, uint64_t *ret)
{
	int ncpu = libbpf_num_possible_cpus();
	struct pw_rl *vals;
	uint32_t key = 0;
	uint64_t sum = 0;

	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	vals = calloc((size_t)ncpu, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	if (bpf_map_lookup_elem(rl_fd, &key, vals)) {
		int r = -errno;

		free(vals);
		return r;
	}
	for (int c = 0; c < ncpu; c++)
		sum += vals[c].suppressed;
	free(vals);
	*ret = sum;
	return 0;
}
