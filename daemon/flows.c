// SPDX-License-Identifier: MIT
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "flows.h"
#include "log.h"
#include "names.h"

struct addr_slot {
	union pw_addr addr;
	uint32_t ep; /* index into img->eps, + 1; 0 = empty */
};

struct pw_flows {
	const struct pw_image *img;
	struct addr_slot *tab; /* open addressing, power-of-two size */
	size_t tab_mask;

	struct pw_flow_rec *hist;
	size_t hist_cap, hist_head, hist_n; /* head: next slot to write */

	char *log_path;
	char *log_path1;
	uint64_t log_max;
	int log_fd;
	uint64_t log_size;
	bool log_failing; /* a write failed: logged once until one succeeds */

	struct ring_buffer *rb;
	int64_t clock_off;
	bool clock_set;

	pw_flow_sink_fn sink;
	void *sink_ctx;
	struct pw_flows_stats st;
};

static uint64_t addr_hash(const union pw_addr *a)
{
	uint64_t h = 1469598103934665603ull;

	for (int i = 0; i < 16; i++)
		h = (h ^ a->b[i]) * 1099511628211ull;
	return h;
}

static const struct pw_img_ep *find_ep(const struct pw_flows *fl, const union pw_addr *a)
{
	if (!fl->tab)
		return NULL;
	for (size_t i = addr_hash(a) & fl->tab_mask, n = 0; n <= fl->tab_mask;
	     i = (i + 1) & fl->tab_mask, n++) {
		if (!fl->tab[i].ep)
			return NULL;
		if (memcmp(&fl->tab[i].addr, a, sizeof(*a)) == 0)
			return &fl->img->eps[fl->tab[i].ep - 1];
	}
	return NULL;
}

int pw_flows_set_image(struct pw_flows *fl, const struct pw_image *img)
{
	struct addr_slot *tab = NULL;
	size_t size = 16;

	if (img && img->n_eps) {
		while (size < img->n_eps * 2)
			size <<= 1;
		tab = calloc(size, sizeof(*tab));
		if (!tab)
			return -ENOMEM;
		for (size_t e = 0; e < img->n_eps; e++) {
			size_t i = addr_hash(&img->eps[e].addr) & (size - 1);

			while (tab[i].ep && memcmp(&tab[i].addr, &img->eps[e].addr, 16) != 0)
				i = (i + 1) & (size - 1);
			tab[i].addr = img->eps[e].addr;
			tab[i].ep = (uint32_t)e + 1;
		}
	}
	free(fl->tab);
	fl->tab = tab;
	fl->tab_mask = size - 1;
	fl->img = img;
	return 0;
}

static char *pod_name(const struct pw_flows *fl, const struct pw_img_ep *ep)
{
	const struct pw_img_pod *p;
	char *s;

	if (!ep || ep->pod >= fl->img->n_pods)
		return NULL;
	p = &fl->img->pods[ep->pod];
	if (asprintf(&s, "%s/%s", p->ns, p->name) < 0)
		return NULL;
	return s;
}

void pw_rfc3339(uint64_t wall_ns, char *buf, size_t len)
{
	time_t sec = (time_t)(wall_ns / 1000000000ull);
	struct tm tm;
	char base[32];

	gmtime_r(&sec, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%06uZ", base, (unsigned int)(wall_ns % 1000000000ull / 1000));
}

int pw_rfc3339_parse(const char *s, uint64_t *ret_ns)
{
	struct tm tm;
	const char *p;
	uint64_t frac = 0, scale = 1000000000ull;
	long off = 0;
	time_t t;

	memset(&tm, 0, sizeof(tm));
	p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!p)
		return -EINVAL;
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return -EINVAL;
		while (*p >= '0' && *p <= '9') {
			if (scale > 1) {
				scale /= 10;
				frac += (uint64_t)(*p - '0') * scale;
			}
			p++;
		}
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if ((*p == '+' || *p == '-') && p[1] && p[2] && p[3] == ':' && p[4] && p[5]) {
		int hh, mm;

		if (sscanf(p + 1, "%2d:%2d", &hh, &mm) != 2 || hh > 23 || mm > 59)
			return -EINVAL;
		off = (hh * 3600L + mm * 60L) * (*p == '-' ? -1 : 1);
		p += 6;
	} else {
		return -EINVAL;
	}
	if (*p)
		return -EINVAL;
	t = timegm(&tm);
	if (t < 0 || t - off < 0)
		return -EINVAL;
	*ret_ns = (uint64_t)(t - off) * 1000000000ull + frac;
	return 0;
}

static int set_pod(json_t *o, const char *key, const char *v)
{
	return json_object_set_new(o, key, v ? json_string(v) : json_null());
}

/* The policies that isolate the local endpoint of a drop without a rule:
 * "nothing allowed it" is more useful with the names of what was looked at. */
static json_t *isolating_policies(const struct pw_flows *fl, const struct pw_img_ep *local,
				  unsigned int dir)
{
	const struct pw_image *img = fl->img;
	uint32_t set;
	json_t *arr;

	if (!local || dir > 1)
		return NULL;
	set = local->val.set_id[dir];
	if (!set)
		return NULL;
	for (size_t i = 0; i < img->n_sets; i++) {
		if (img->sets[i].id != set || img->sets[i].dir != dir)
			continue;
		arr = json_array();
		for (uint32_t k = 0; arr && k < img->sets[i].n_policies; k++) {
			const struct pw_img_policy *p;
			char *s;

			if (img->sets[i].policies[k] >= img->n_policies)
				continue;
			p = &img->policies[img->sets[i].policies[k]];
			if (asprintf(&s, "%s/%s", p->ns, p->name) >= 0) {
				json_array_append_new(arr, json_string(s));
				free(s);
			}
		}
		return arr;
	}
	return NULL;
}

static int format_rec(struct pw_flows *fl, struct pw_flow_rec *r)
{
	const struct pw_event *ev = &r->ev;
	const struct pw_img_ep *sep = NULL, *dep = NULL;
	char ts[48], sip[64], dip[64], pbuf[8];
	const char *type;
	json_t *o;
	int err = -ENOMEM;

	if (fl->img) {
		sep = find_ep(fl, &ev->src);
		dep = find_ep(fl, &ev->dst);
	}
	r->src_pod = pod_name(fl, sep);
	r->dst_pod = pod_name(fl, dep);

	pw_rfc3339(r->wall_ns, ts, sizeof(ts));
	type = ev->type == PW_EV_DROP	    ? "drop"
	       : ev->type == PW_EV_AUDIT    ? "audit"
	       : ev->type == PW_EV_NEW_FLOW ? "new-flow"
					    : "unknown";

	o = json_object();
	if (!o)
		return -ENOMEM;
	json_object_set_new(o, "time", json_string(ts));
	json_object_set_new(o, "verdict", json_string(pw_verdict_name(ev->verdict)));
	json_object_set_new(o, "reason", json_string(pw_reason_name(ev->reason)));
	json_object_set_new(o, "event", json_string(type));
	json_object_set_new(o, "direction", json_string(pw_dir_name(ev->dir)));
	json_object_set_new(o, "hook", json_string(pw_hook_name(ev->hook)));
	json_object_set_new(o, "proto", json_string(pw_proto_word(ev->proto, pbuf, sizeof(pbuf))));
	json_object_set_new(o, "src_ip", json_string(pw_addr_str(&ev->src, sip, sizeof(sip))));
	json_object_set_new(o, "dst_ip", json_string(pw_addr_str(&ev->dst, dip, sizeof(dip))));
	/* Ports only where the protocol has them (ICMP carries the echo id). */
	if (ev->proto == PW_PROTO_TCP || ev->proto == PW_PROTO_UDP || ev->proto == PW_PROTO_SCTP) {
		json_object_set_new(o, "src_port", json_integer(ev->sport));
		json_object_set_new(o, "dst_port", json_integer(ev->dport));
	}
	set_pod(o, "src_pod", r->src_pod);
	set_pod(o, "dst_pod", r->dst_pod);

	if (ev->rule_id != PW_RULE_NONE && fl->img && ev->rule_id <= fl->img->n_rules &&
	    fl->img->rules[ev->rule_id - 1].policy < fl->img->n_policies) {
		const struct pw_img_rule *rule = &fl->img->rules[ev->rule_id - 1];
		const struct pw_img_policy *p = &fl->img->policies[rule->policy];
		char *s;

		if (asprintf(&s, "%s/%s", p->ns, p->name) >= 0) {
			json_object_set_new(o, "policy", json_string(s));
			free(s);
		}
		json_object_set_new(o, "rule", json_integer(rule->index));
		if (rule->text)
			json_object_set_new(o, "rule_text", json_string(rule->text));
	} else {
		json_t *iso = NULL;

		json_object_set_new(o, "policy", json_null());
		json_object_set_new(o, "rule", json_null());
		if (fl->img && ev->verdict != PW_VERDICT_ALLOW)
			iso = isolating_policies(fl, ev->dir == PW_DIR_INGRESS ? dep : sep,
						 ev->dir);
		if (iso)
			json_object_set_new(o, "isolated_by", iso);
	}
	json_object_set_new(o, "rule_id", json_integer(ev->rule_id));
	json_object_set_new(o, "ifindex", json_integer(ev->ifindex));
	json_object_set_new(o, "len", json_integer(ev->len));
	json_object_set_new(o, "gen", json_integer(ev->gen));

	r->line = json_dumps(o, JSON_COMPACT);
	if (r->line) {
		r->line_len = strlen(r->line);
		err = 0;
	}
	json_decref(o);
	return err;
}

static void rec_clear(struct pw_flow_rec *r)
{
	free(r->src_pod);
	free(r->dst_pod);
	free(r->line);
	memset(r, 0, sizeof(*r));
}

static int log_open(struct pw_flows *fl)
{
	struct stat st;

	fl->log_fd = open(fl->log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fl->log_fd < 0)
		return -errno;
	fl->log_size = fstat(fl->log_fd, &st) == 0 ? (uint64_t)st.st_size : 0;
	return 0;
}

static int log_rotate(struct pw_flows *fl)
{
	close(fl->log_fd);
	fl->log_fd = -1;
	if (rename(fl->log_path, fl->log_path1) < 0 && errno != ENOENT)
		pw_warn("flow log: cannot rotate %s: %m", fl->log_path);
	fl->st.rotations++;
	return log_open(fl);
}

static void log_write(struct pw_flows *fl, const struct pw_flow_rec *r)
{
	size_t len = r->line_len + 1;
	char *buf;
	ssize_t n;

	if (fl->log_fd < 0 && log_open(fl) < 0)
		goto fail;
	if (fl->log_max && fl->log_size > 0 && fl->log_size + len > fl->log_max &&
	    log_rotate(fl) < 0)
		goto fail;
	buf = malloc(len);
	if (!buf)
		goto fail;
	memcpy(buf, r->line, r->line_len);
	buf[r->line_len] = '\n';
	/* one write per record, O_APPEND: a reader never sees half a line
	 * unless the disk fills up */
	n = write(fl->log_fd, buf, len);
	free(buf);
	if (n != (ssize_t)len)
		goto fail;
	fl->log_size += len;
	if (fl->log_failing)
		pw_info("flow log: writing %s again", fl->log_path);
	fl->log_failing = false;
	return;
fail:
	fl->st.log_errors++;
	if (!fl->log_failing)
		pw_err("flow log: cannot write %s: %m (further errors counted, not logged)",
		       fl->log_path);
	fl->log_failing = true;
}

static void refresh_clock(struct pw_flows *fl)
{
	struct timespec rt, mono;

	clock_gettime(CLOCK_REALTIME, &rt);
	clock_gettime(CLOCK_MONOTONIC, &mono);
	fl->clock_off =
		((int64_t)rt.tv_sec - mono.tv_sec) * 1000000000ll + (rt.tv_nsec - mono.tv_nsec);
	fl->clock_set = true;
}

void pw_flows_set_clock_offset(struct pw_flows *fl, int64_t offset_ns)
{
	fl->clock_off = offset_ns;
	fl->clock_set = true;
}

int pw_flows_handle_event(struct pw_flows *fl, const void *data, size_t size)
{
	struct pw_flow_rec r;
	int err;

	if (size < sizeof(struct pw_event)) {
		fl->st.bad_events++;
		return -EINVAL;
	}
	memset(&r, 0, sizeof(r));
	memcpy(&r.ev, data, sizeof(r.ev));
	if (!fl->clock_set)
		refresh_clock(fl);
	r.wall_ns = (uint64_t)((int64_t)r.ev.ts_ns + fl->clock_off);
	err = format_rec(fl, &r);
	if (err) {
		rec_clear(&r);
		return err;
	}
	fl->st.records++;
	if (fl->log_path)
		log_write(fl, &r);

	if (fl->hist_n == fl->hist_cap)
		rec_clear(&fl->hist[fl->hist_head]);
	else
		fl->hist_n++;
	fl->hist[fl->hist_head] = r;
	fl->hist_head = (fl->hist_head + 1) % fl->hist_cap;
	if (fl->sink)
		fl->sink(fl->sink_ctx,
			 &fl->hist[(fl->hist_head + fl->hist_cap - 1) % fl->hist_cap]);
	return 0;
}

static int rb_cb(void *ctx, void *data, size_t size)
{
	pw_flows_handle_event(ctx, data, size);
	return 0; /* a bad record must not stop the drain */
}

int pw_flows_open_ringbuf(struct pw_flows *fl, int map_fd)
{
	if (fl->rb)
		return -EBUSY;
	fl->rb = ring_buffer__new(map_fd, rb_cb, fl, NULL);
	if (!fl->rb)
		return errno ? -errno : -EINVAL;
	return ring_buffer__epoll_fd(fl->rb);
}

int pw_flows_poll(struct pw_flows *fl)
{
	int n;

	if (!fl->rb)
		return -EBADF;
	refresh_clock(fl);
	n = ring_buffer__consume(fl->rb);
	return n < 0 ? n : n;
}

void pw_flows_set_sink(struct pw_flows *fl, pw_flow_sink_fn fn, void *ctx)
{
	fl->sink = fn;
	fl->sink_ctx = ctx;
}

int pw_flows_new(const struct pw_flows_opts *o, struct pw_flows **ret)
{
	struct pw_flows *fl = calloc(1, sizeof(*fl));
	int err = -ENOMEM;

	if (!fl)
		return -ENOMEM;
	fl->log_fd = -1;
	fl->hist_cap = o->history ? o->history : PW_FLOWS_DEFAULT_HISTORY;
	if (fl->hist_cap > PW_FLOWS_MAX_HISTORY) {
		err = -E2BIG;
		goto fail;
	}
	fl->hist = calloc(fl->hist_cap, sizeof(*fl->hist));
	if (!fl->hist)
		goto fail;
	if (o->log_path) {
		fl->log_path = strdup(o->log_path);
		if (!fl->log_path || asprintf(&fl->log_path1, "%s.1", o->log_path) < 0) {
			fl->log_path1 = NULL;
			goto fail;
		}
		fl->log_max = o->log_max_bytes;
		err = log_open(fl);
		if (err)
			goto fail;
	}
	*ret = fl;
	return 0;
fail:
	pw_flows_free(fl);
	return err;
}

void pw_flows_free(struct pw_flows *fl)
{
	if (!fl)
		return;
	if (fl->rb)
		ring_buffer__free(fl->rb);
	for (size_t i = 0; fl->hist && i < fl->hist_cap; i++)
		rec_clear(&fl->hist[i]);
	free(fl->hist);
	free(fl->tab);
	if (fl->log_fd >= 0)
		close(fl->log_fd);
	free(fl->log_path);
	free(fl->log_path1);
	free(fl);
}

void pw_flows_get_stats(const struct pw_flows *fl, struct pw_flows_stats *ret)
{
	*ret = fl->st;
}

void pw_flows_foreach(struct pw_flows *fl, const struct pw_flow_filter *f,
		      int (*fn)(void *ctx, const struct pw_flow_rec *rec), void *ctx)
{
	size_t start = (fl->hist_head + fl->hist_cap - fl->hist_n) % fl->hist_cap;
	size_t first = 0;

	/* With a limit, find the oldest of the newest `limit` matches first, so
	 * the answer is still oldest first. */
	if (f && f->limit) {
		size_t seen = 0;

		for (size_t k = fl->hist_n; k-- > 0;) {
			if (!pw_flow_match(f, &fl->hist[(start + k) % fl->hist_cap]))
				continue;
			if (++seen == f->limit) {
				first = k;
				break;
			}
		}
	}
	for (size_t k = first; k < fl->hist_n; k++) {
		const struct pw_flow_rec *r = &fl->hist[(start + k) % fl->hist_cap];

		if (f && !pw_flow_match(f, r))
			continue;
		if (fn(ctx, r))
			break;
	}
}

void pw_flow_filter_clear(struct pw_flow_filter *f)
{
	free(f->pod);
	f->pod = NULL;
}

bool pw_flow_match(const struct pw_flow_filter *f, const struct pw_flow_rec *r)
{
	if (f->verdict >= 0 && r->ev.verdict != f->verdict)
		return false;
	if (f->pod && !((r->src_pod && strcmp(r->src_pod, f->pod) == 0) ||
			(r->dst_pod && strcmp(r->dst_pod, f->pod) == 0)))
		return false;
	if (f->has_ip && memcmp(&r->ev.src, &f->ip, 16) != 0 && memcmp(&r->ev.dst, &f->ip, 16) != 0)
		return false;
	if (f->port >= 0) {
		bool ports = r->ev.proto == PW_PROTO_TCP || r->ev.proto == PW_PROTO_UDP ||
			     r->ev.proto == PW_PROTO_SCTP;

		if (!ports || (r->ev.sport != f->port && r->ev.dport != f->port))
			return false;
	}
	if (f->since_ns && r->wall_ns < f->since_ns)
		return false;
	return true;
}

static int parse_ago(const char *s, uint64_t now_ns, uint64_t *ret)
{
	unsigned long long n;
	uint64_t unit;
	char *end;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	n = strtoull(s, &end, 10);
	if (errno || end[0] == 0 || end[1] != 0)
		return -EINVAL;
	switch (*end) {
	case 's':
		unit = 1;
		break;
	case 'm':
		unit = 60;
		break;
	case 'h':
		unit = 3600;
		break;
	case 'd':
		unit = 86400;
		break;
	default:
		return -EINVAL;
	}
	if (n > now_ns / 1000000000ull / unit)
		return -EINVAL;
	*ret = now_ns - (uint64_t)n * unit * 1000000000ull;
	return 0;
}

int pw_flow_filter_from_json(const json_t *req, uint64_t now_ns, struct pw_flow_filter *f,
			     char *err, size_t errlen)
{
	const json_t *v;
	unsigned int verdict;

	memset(f, 0, sizeof(*f));
	f->verdict = -1;
	f->port = -1;

	v = json_object_get(req, "verdict");
	if (v && !json_is_null(v)) {
		if (!json_is_string(v) || pw_verdict_parse(json_string_value(v), &verdict)) {
			snprintf(err, errlen, "verdict: expected \"allow\", \"drop\" or \"audit\"");
			return -EINVAL;
		}
		f->verdict = (int)verdict;
	}
	v = json_object_get(req, "pod");
	if (v && !json_is_null(v)) {
		const char *s = json_is_string(v) ? json_string_value(v) : NULL;
		const char *slash = s ? strchr(s, '/') : NULL;

		if (!slash || slash == s || !slash[1] || strchr(slash + 1, '/') ||
		    strlen(s) > 320) {
			snprintf(err, errlen, "pod: expected \"namespace/name\"");
			return -EINVAL;
		}
		f->pod = strdup(s);
		if (!f->pod)
			return -ENOMEM;
	}
	v = json_object_get(req, "ip");
	if (v && !json_is_null(v)) {
		if (!json_is_string(v) || pw_addr_parse(json_string_value(v), &f->ip, NULL)) {
			snprintf(err, errlen, "ip: expected an IPv4 or IPv6 address");
			return -EINVAL;
		}
		f->has_ip = true;
	}
	v = json_object_get(req, "port");
	if (v && !json_is_null(v)) {
		if (!json_is_integer(v) || json_integer_value(v) < 1 ||
		    json_integer_value(v) > 65535) {
			snprintf(err, errlen, "port: expected a number from 1 to 65535");
			return -EINVAL;
		}
		f->port = (int)json_integer_value(v);
	}
	v = json_object_get(req, "since");
	if (v && !json_is_null(v)) {
		const char *s = json_is_string(v) ? json_string_value(v) : "";

		if (pw_rfc3339_parse(s, &f->since_ns) && parse_ago(s, now_ns, &f->since_ns)) {
			snprintf(
				err, errlen,
				"since: expected an RFC 3339 time or a duration (30s, 5m, 2h, 1d)");
			return -EINVAL;
		}
	}
	v = json_object_get(req, "limit");
	if (v && !json_is_null(v)) {
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    json_integer_value(v) > PW_FLOWS_MAX_HISTORY) {
			snprintf(err, errlen, "limit: expected a number from 0 to %u",
				 PW_FLOWS_MAX_HISTORY);
			return -EINVAL;
		}
		f->limit = (unsigned int)json_integer_value(v);
	}
	return 0;
}
