// SPDX-License-Identifier: MIT
/*
 * podwalld: the node daemon.  One thread, one epoll loop:
 *   signalfd (TERM, INT, HUP), inotify + debounce timer (reload.c), the
 *   dataplane's netlink socket, the flow ring buffer, the control socket and
 *   its clients (server.c), the metrics timer.
 * Start-up: open the dataplane (lock, load or re-adopt the pins), compile,
 * apply (maps first, then attach: the dataplane orders it), drop
 * capabilities, then serve.  SIGTERM leaves enforcement in place.
 */
#include <bpf/bpf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <dirent.h>
#include <sys/stat.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "caps.h"
#include "config.h"
#include "daemon.h"
#include "dataplane.h"
#include "policy_cache.h"
#include "policy_compile.h"
#include "podwall/model.h"
#include "trace_json.h" /* before eval_maps.h: decide.h with the real lookups */
#include "eval_maps.h"
#include "log.h"
#include "version.h"

extern char **environ;

#define UNINSTALL_WAIT_MS 10000

struct ctx {
	struct pw_daemon d;
	struct pw_config cfg;
	struct pw_dp *dp;
	struct pw_eval_maps *em; /* read-only view of the maps in force (trace, ep ids) */
	struct pw_watch sig_w, nl_w, rb_w, met_w;
	char pidfile[PATH_MAX];
	bool pidfile_written;
	struct pw_pcache *pc; /* parsed policy files, for incremental reloads */
	uint64_t st_parse_ns, st_merge_ns, st_compile_ns; /* the last build */
};

/* ---- adapters between reload.c and the engine/dataplane APIs ---- */

/* The dataplane logs with syslog levels (loader.h PW_DLOG_*). */
static void dp_log(int level, const char *fmt, ...)
{
	enum pw_log_level l = level <= PW_DLOG_ERR    ? PW_LOG_ERROR
			      : level <= PW_DLOG_WARN ? PW_LOG_WARN
			      : level <= PW_DLOG_INFO ? PW_LOG_INFO
						      : PW_LOG_DEBUG;
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	pw_log(l, "dataplane: %s", buf);
}

/* Every error of diags, one "file:line:col: ..." per line (malloc'd). */
static char *diags_text(const struct pw_diags *d)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	for (size_t i = 0; i < d->n; i++) {
		char *line;

		if (d->v[i].sev != PW_SEV_ERROR)
			continue;
		line = pw_diag_format(&d->v[i]);
		if (line)
			fprintf(f, "%s%s", len || ftell(f) ? "\n" : "", line);
		free(line);
	}
	if (d->n_errors > d->n)
		fprintf(f, "\n... %zu more errors", d->n_errors - d->n);
	fclose(f);
	return buf;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Incremental: only the files reload.c names are parsed again; the parts of
 * the others come from the cache, and the merge re-checks the whole
 * directory (duplicates across files, limits), so any error still rejects
 * all of it. */
static int build_cb(void *p, const char *dir, char *const *changed, size_t n_changed,
		    struct pw_image **ret_img, char **ret_errors)
{
	struct ctx *c = p;
	struct pw_compile_opts co = { .service_cidrs = c->cfg.service_cidrs,
				      .n_service_cidrs = c->cfg.n_service_cidrs };
	struct pw_pcache_stats st = { 0 };
	struct pw_model *m = NULL;
	struct pw_diags diags;
	uint64_t t0;
	int r = 0;

	for (size_t i = 0; changed && i < n_changed; i++)
		pw_dbg("reload: changed %s", changed[i]);
	pw_diags_init(&diags);
	if (!c->pc)
		r = pw_pcache_new(dir, NULL, &c->pc);
	if (!r)
		r = pw_pcache_update(c->pc, changed, n_changed, &m, &diags, &st);
	t0 = mono_ns();
	if (!r)
		r = pw_compile(m, &co, ret_img, &diags);
	c->st_parse_ns = st.parse_ns;
	c->st_merge_ns = st.merge_ns;
	c->st_compile_ns = mono_ns() - t0;
	pw_info("reload: parsed %zu of %zu files in %.2f ms (%zu removed), merge %.2f ms, "
		"compile %.2f ms",
		st.parsed, st.files, (double)st.parse_ns / 1e6, st.removed,
		(double)st.merge_ns / 1e6, (double)c->st_compile_ns / 1e6);
	for (size_t i = 0; i < diags.n; i++) {
		char *line;

		if (diags.v[i].sev != PW_SEV_WARNING)
			continue;
		line = pw_diag_format(&diags.v[i]);
		pw_warn("policy: %s", line ? line : "(out of memory)");
		free(line);
	}
	if (r) {
		*ret_errors = diags.n_errors ? diags_text(&diags) : NULL;
		if (!*ret_errors && asprintf(ret_errors, "%s: %s", dir, strerror(-r)) < 0)
			*ret_errors = NULL;
	}
	pw_diags_free(&diags);
	pw_model_free(m);
	return r;
}

/* The compiler leaves ep_id, ifindex and PW_EP_LOCAL to the dataplane; copy
 * them back from the maps in force so flows, counters, metrics and
 * `endpoints` name local pods. */
static void fill_eps(struct ctx *c, struct pw_image *img)
{
	if (!img)
		return;
	if (!c->em) {
		int r = pw_eval_maps_open(c->cfg.bpffs, &c->em);

		if (r) {
			pw_warn("cannot read back the endpoint map: %s", strerror(-r));
			c->em = NULL;
			return;
		}
	}
	for (size_t i = 0; i < img->n_eps; i++) {
		struct pw_endpoint *v = &img->eps[i].val, got;

		if (pw_eval_maps_endpoint(c->em, &img->eps[i].addr, &got) == 0) {
			v->ifindex = got.ifindex;
			v->ep_id = got.ep_id;
			v->flags = got.flags;
		} else {
			v->ifindex = 0;
			v->ep_id = 0;
			v->flags &= ~PW_EP_LOCAL;
		}
	}
}

static int apply_cb(void *p, struct pw_image *img, char **ret_errors)
{
	struct ctx *c = p;
	uint64_t t0 = mono_ns();
	int r = pw_dp_apply(c->dp, img);

	struct pw_dp_timing tm;

	pw_dp_last_timing(c->dp, &tm);
	pw_info("reload: dataplane apply %.2f ms (discovery %.2f, maps to epoch %.2f, grace %.2f, "
		"attach %.2f)",
		(double)(mono_ns() - t0) / 1e6, (double)tm.resolve_ns / 1e6,
		(double)tm.write_ns / 1e6, (double)tm.grace_ns / 1e6, (double)tm.attach_ns / 1e6);

	if (r) {
		/* The dataplane keeps a pointer to the image it was given; the
		 * rejected one is freed by reload.c, so hand back the one in force
		 * (whose generation is still published). */
		const struct pw_image *old = pw_reload_image(c->d.rl);

		if (pw_dp_apply(c->dp, old))
			pw_warn("dataplane: re-applying the policy in force failed too");
		if (asprintf(ret_errors, "dataplane: %s", strerror(-r)) < 0)
			*ret_errors = NULL;
		return r;
	}
	fill_eps(c, img);
	return 0;
}

static void applied_cb(void *p, const struct pw_image *img)
{
	struct ctx *c = p;

	if (c->d.fl && pw_flows_set_image(c->d.fl, img))
		pw_warn("flows: out of memory indexing the new image; pods unnamed");
}

static void free_image_cb(struct pw_image *img)
{
	pw_image_free(img);
}

static int dp_status_cb(void *p, json_t **ret)
{
	struct ctx *c = p;

	return pw_dp_status(c->dp, ret);
}

static int dp_map_fill_cb(void *p, struct pw_map_fill **ret, size_t *ret_n)
{
	static const char *const kinds[][2] = { { "endpoints", "pw_ep_v1" },
						{ "interfaces", "pw_if_v1" },
						{ "prefixes", "pw_peer_v1" },
						{ "policy", "pw_pol_v1" },
						{ "ranges", "pw_range_v1" } };
	const size_t n = sizeof(kinds) / sizeof(kinds[0]);
	struct ctx *c = p;
	struct pw_map_fill *v;
	json_t *st = NULL, *ent, *max;
	int r = pw_dp_status(c->dp, &st);

	if (r)
		return r;
	v = calloc(n, sizeof(*v));
	if (!v) {
		json_decref(st);
		return -ENOMEM;
	}
	ent = json_object_get(st, "entries");
	max = json_object_get(st, "max_entries");
	for (size_t i = 0; i < n; i++) {
		v[i].name = kinds[i][1];
		v[i].entries = (uint64_t)json_integer_value(json_object_get(ent, kinds[i][0]));
		v[i].capacity = (uint64_t)json_integer_value(json_object_get(max, kinds[i][0]));
	}
	json_decref(st);
	*ret = v;
	*ret_n = n;
	return 0;
}

/* The socket's "trace": decided over the live maps (the datapath's own
 * decision code on the generation in force), explained with the image. */
static int trace_cb(void *p, const struct pw_image *img, const json_t *req, json_t **ret)
{
	struct ctx *c = p;
	const char *s = json_string_value(json_object_get(req, "src"));
	const char *d = json_string_value(json_object_get(req, "dst"));
	const json_t *jport = json_object_get(req, "port"), *jproto = json_object_get(req, "proto");
	struct pw_trace_end src, dst;
	struct pw_flow_result res = { 0 };
	char err[400], pp[32];
	uint64_t epoch = 0;
	uint16_t port;
	uint8_t proto;
	int r;

	snprintf(pp, sizeof(pp), "%lld/%s", json_is_integer(jport) ? json_integer_value(jport) : 0,
		 json_is_string(jproto) ? json_string_value(jproto) : "tcp");
	if (pw_trace_parse_port(pp, &port, &proto)) {
		*ret = pw_srv_error("trace: bad port/proto '%s'", pp);
		return -EINVAL;
	}
	if ((r = pw_trace_resolve(img, s, &src, err, sizeof(err))) ||
	    (r = pw_trace_resolve(img, d, &dst, err, sizeof(err)))) {
		*ret = pw_srv_error("trace: %s", err);
		return r;
	}
	if (!c->em && (r = pw_eval_maps_open(c->cfg.bpffs, &c->em))) {
		c->em = NULL;
		*ret = pw_srv_error("trace: cannot open the maps in %s: %s", c->cfg.bpffs,
				    strerror(-r));
		return r;
	}
	r = pw_eval_maps_flow(c->em, &src.addr, &dst.addr, proto, port, &res.egress, &res.ingress,
			      &res.src_id, &res.dst_id, &res.verdict, &epoch);
	if (r) {
		*ret = pw_srv_error("trace: reading the maps: %s", strerror(-r));
		return r;
	}
	*ret = pw_trace_json(img, &src, &dst, port, proto, &res);
	if (!*ret)
		return -ENOMEM;
	json_object_set_new(*ret, "source", json_string("live"));
	json_object_set_new(*ret, "epoch", json_integer((json_int_t)epoch));
	return 0;
}

/* ---- event sources ---- */

static void sig_cb(struct pw_watch *w, uint32_t events)
{
	struct ctx *c = (struct ctx *)((char *)w - offsetof(struct ctx, sig_w));
	struct signalfd_siginfo si;

	(void)events;
	while (read(w->fd, &si, sizeof(si)) == sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGHUP:
			pw_info("SIGHUP: reloading %s", c->cfg.policy_dir);
			pw_reload_all(c->d.rl, "SIGHUP");
			break;
		case SIGTERM:
		case SIGINT:
			pw_info("%s: stopping; the policy stays enforced",
				si.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT");
			c->d.loop.quit = true;
			break;
		}
	}
}

static void local_set_changed(struct ctx *c, int changed)
{
	if (changed) {
		/* reload.c owns it; it was allocated writable (build_cb) */
		struct pw_image *img = (struct pw_image *)pw_reload_image(c->d.rl);

		fill_eps(c, img);
		if (img && c->d.fl && pw_flows_set_image(c->d.fl, img))
			pw_warn("flows: out of memory indexing the image; pods unnamed");
	}
}

static void nl_cb(struct pw_watch *w, uint32_t events)
{
	struct ctx *c = (struct ctx *)((char *)w - offsetof(struct ctx, nl_w));
	int r;

	int changed = 0;

	(void)events;
	r = pw_dp_on_netlink(c->dp, &changed);
	if (r)
		pw_warn("netlink: %s", strerror(-r));
	local_set_changed(c, changed);
}

/* A silent bridged pod's backoff ran out with no netlink event (its entry
 * failed earlier, or was flushed while being resolved): ask again. */
static void solicit_due(struct ctx *c)
{
	int changed = 0, r = pw_dp_resync(c->dp, &changed);

	if (r)
		pw_warn("netlink: %s", strerror(-r));
	local_set_changed(c, changed);
}

static void rb_cb(struct pw_watch *w, uint32_t events)
{
	struct ctx *c = (struct ctx *)((char *)w - offsetof(struct ctx, rb_w));

	(void)events;
	if (pw_flows_poll(c->d.fl) < 0)
		pw_warn("flows: ring buffer read failed");
}

static void write_metrics(struct ctx *c)
{
	char *text;
	int r = pw_daemon_metrics(&c->d, &text);

	if (!r) {
		r = pw_metrics_write_file(c->cfg.metrics_file, text);
		free(text);
	}
	if (r)
		pw_warn("metrics: cannot write %s: %s", c->cfg.metrics_file, strerror(-r));
}

static void met_cb(struct pw_watch *w, uint32_t events)
{
	struct ctx *c = (struct ctx *)((char *)w - offsetof(struct ctx, met_w));
	uint64_t ticks;

	(void)events;
	if (read(w->fd, &ticks, sizeof(ticks)) == sizeof(ticks))
		write_metrics(c);
}

/* ---- helpers ---- */

static int pinned(const char *bpffs, const char *name)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", bpffs, name);
	return bpf_obj_get(path);
}

static int write_pidfile(struct ctx *c)
{
	char tmp[PATH_MAX + 8];
	FILE *f;

	if (pw_config_pidfile(&c->cfg, c->pidfile, sizeof(c->pidfile)))
		return -ENAMETOOLONG;
	snprintf(tmp, sizeof(tmp), "%s.tmp", c->pidfile);
	f = fopen(tmp, "we");
	if (!f)
		return -errno;
	fprintf(f, "%d\n%s\n", (int)getpid(), c->cfg.bpffs);
	if (fclose(f) != 0 || rename(tmp, c->pidfile) < 0) {
		unlink(tmp);
		return -errno;
	}
	c->pidfile_written = true;
	return 0;
}

static uint64_t wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Stop a daemon that serves the same bpffs directory: SIGTERM, then wait
 * for it to exit (pidfd, bounded). */
static int stop_running(const struct pw_config *cfg)
{
	char path[PATH_MAX];
	struct pollfd pfd;
	int pid = 0, pidfd, r;

	r = pw_config_find_daemon(cfg, path, sizeof(path), &pid);
	if (r == -ENOENT)
		return 0; /* none running */
	if (r)
		return r;
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0)
		return errno == ESRCH ? 0 : -errno; /* stale pid file */
	pw_info("uninstall: stopping podwalld (pid %d)", pid);
	if (kill(pid, SIGTERM) < 0) {
		r = errno == ESRCH ? 0 : -errno;
		close(pidfd);
		return r;
	}
	pfd.fd = pidfd;
	pfd.events = POLLIN;
	r = poll(&pfd, 1, UNINSTALL_WAIT_MS);
	close(pidfd);
	if (r == 0) {
		pw_err("uninstall: podwalld (pid %d) did not exit within %d s", pid,
		       UNINSTALL_WAIT_MS / 1000);
		return -ETIMEDOUT;
	}
	return r < 0 ? -errno : 0;
}

/*
 * The attachment record keys on ifindexes, which are per network namespace.
 * Run in another namespace than the daemon that attached (the root one,
 * say, for a daemon in a node netns), --uninstall would detach by number
 * from unrelated interfaces and then drop the pins, leaving the real
 * filters orphaned.  The daemon marks its bpffs directory with its netns
 * (an empty directory "netns-DEV-INO": bpffs holds only pins and
 * directories, and uninstall's tree removal takes it away).
 */
#define NETNS_MARK_PREFIX "netns-"

static int netns_mark(char *buf, size_t len)
{
	struct stat st;

	if (stat("/proc/self/ns/net", &st))
		return -errno;
	snprintf(buf, len, NETNS_MARK_PREFIX "%lu-%lu", (unsigned long)st.st_dev,
		 (unsigned long)st.st_ino);
	return 0;
}

static void mark_netns(const char *bpffs)
{
	char mark[64], path[PATH_MAX];
	struct dirent *de;
	DIR *d;

	if (netns_mark(mark, sizeof(mark)))
		return;
	d = opendir(bpffs);
	while (d && (de = readdir(d))) /* one mark: the last daemon's netns */
		if (!strncmp(de->d_name, NETNS_MARK_PREFIX, strlen(NETNS_MARK_PREFIX)) &&
		    strcmp(de->d_name, mark)) {
			snprintf(path, sizeof(path), "%s/%s", bpffs, de->d_name);
			rmdir(path);
		}
	if (d)
		closedir(d);
	snprintf(path, sizeof(path), "%s/%s", bpffs, mark);
	if (mkdir(path, 0700) && errno != EEXIST)
		pw_warn("cannot mark %s with the network namespace: %s", bpffs, strerror(errno));
}

static int check_same_netns(const char *bpffs)
{
	char mark[64], found[256] = "";
	struct dirent *de;
	DIR *d = opendir(bpffs);

	if (!d)
		return 0; /* nothing installed */
	while ((de = readdir(d)))
		if (!strncmp(de->d_name, NETNS_MARK_PREFIX, strlen(NETNS_MARK_PREFIX)))
			snprintf(found, sizeof(found), "%s", de->d_name);
	closedir(d);
	if (!found[0] || netns_mark(mark, sizeof(mark)) || !strcmp(found, mark))
		return 0;
	pw_err("uninstall: %s was installed from another network namespace (%s, this is %s); "
	       "its interfaces are not visible here: run --uninstall in that namespace "
	       "(nsenter --net=...)",
	       bpffs, found, mark);
	return -EXDEV;
}

static int do_uninstall(const struct pw_config *cfg)
{
	int r = check_same_netns(cfg->bpffs);

	if (r)
		return 1;
	r = stop_running(cfg);
	if (r)
		return 1;
	r = pw_dp_uninstall(cfg->bpffs, dp_log);
	if (r) {
		pw_err("uninstall: %s: %s", cfg->bpffs, strerror(-r));
		return 1;
	}
	pw_info("uninstall: nothing of podwall is left under %s", cfg->bpffs);
	return 0;
}

static int setup_signals(struct ctx *c)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -errno;
	signal(SIGPIPE, SIG_IGN);
	c->sig_w.fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (c->sig_w.fd < 0)
		return -errno;
	c->sig_w.fn = sig_cb;
	return pw_loop_add(&c->d.loop, &c->sig_w, EPOLLIN);
}

static int setup_metrics_timer(struct ctx *c)
{
	struct itimerspec its = { 0 };

	c->met_w.fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (c->met_w.fd < 0)
		return -errno;
	its.it_value.tv_sec = c->cfg.metrics_interval;
	its.it_interval.tv_sec = c->cfg.metrics_interval;
	if (timerfd_settime(c->met_w.fd, 0, &its, NULL) < 0)
		return -errno;
	c->met_w.fn = met_cb;
	return pw_loop_add(&c->d.loop, &c->met_w, EPOLLIN);
}

static int run(struct ctx *c)
{
	const struct pw_config *cfg = &c->cfg;
	struct pw_dp_opts dpo = {
		.bpffs = cfg->bpffs,
		.hook_xdp = cfg->hook == PW_HOOK_XDP,
		.uplinks = (const char *const *)cfg->uplinks,
		.n_uplinks = cfg->n_uplinks,
		.state_flags = (cfg->mode == PW_MODE_AUDIT ? PW_STATE_AUDIT : 0) |
			       (cfg->log_allowed ? PW_STATE_LOG_ALLOW : 0),
		.node_name = cfg->node_name,
		.log = dp_log,
	};
	struct pw_reload_ops ops = {
		.build = build_cb,
		.apply = apply_cb,
		.applied = applied_cb,
		.free_image = free_image_cb,
		.ctx = c,
	};
	struct pw_flows_opts fo = { .log_path = cfg->flow_log,
				    .log_max_bytes = cfg->flow_log_max_bytes };
	struct pw_server_opts so = { .path = cfg->socket_path,
				     .cmds = pw_daemon_cmds,
				     .ctx = &c->d };
	int r, fd;

	pw_info("podwalld %s starting: policy %s, mode %s, hook %s, bpffs %s", pw_version(),
		cfg->policy_dir, pw_mode_name(cfg->mode), pw_hook_opt_name(cfg->hook), cfg->bpffs);
	r = pw_loop_init(&c->d.loop);
	if (r)
		return r;
	if (!cfg->oneshot) {
		r = setup_signals(c);
		if (r)
			return r;
	}

	r = pw_dp_open(&dpo, &c->dp);
	if (r) {
		pw_err("dataplane: cannot open %s: %s", cfg->bpffs, strerror(-r));
		return r;
	}
	mark_netns(cfg->bpffs);
	c->d.dp = c;
	c->d.dp_status = dp_status_cb;
	c->d.dp_map_fill = dp_map_fill_cb;
	c->d.trace = trace_cb;

	r = pw_flows_new(&fo, &c->d.fl);
	if (r) {
		pw_err("flows: %s: %s", cfg->flow_log ? cfg->flow_log : "history", strerror(-r));
		return r;
	}
	r = pw_reload_new(cfg->oneshot ? NULL : &c->d.loop, cfg->policy_dir, &ops, &c->d.rl);
	if (r)
		return r;
	/* compile, write maps, attach; a bad directory at start is fatal, but a
	 * re-adopted policy from the last run stays enforced */
	r = pw_reload_now(c->d.rl, "start");
	if (r)
		return r;
	if (cfg->oneshot) {
		/* Silent bridged pods were just asked for (ARP/ND): wait, bounded
		 * (the kernel gives up after 3 probes, 1 s apart), for them to
		 * answer, so they are attached before we exit. Pods that never
		 * answer (on another node) are remote. */
		for (int i = 0; i < 40 && pw_dp_solicit_pending(c->dp); i++) {
			struct timespec ts = { 0, 100 * 1000000L };

			nanosleep(&ts, NULL);
			r = pw_dp_resync(c->dp, NULL);
			if (r)
				pw_warn("netlink: %s", strerror(-r));
		}
		if (pw_dp_solicit_pending(c->dp))
			pw_info("oneshot: %zu pod address(es) on a bridge did not answer; remote",
				pw_dp_solicit_pending(c->dp));
		pw_info("oneshot: policy applied; exiting, enforcement stays");
		return 0;
	}

	fd = pw_dp_netlink_fd(c->dp);
	if (fd >= 0) {
		c->nl_w.fd = fd;
		c->nl_w.fn = nl_cb;
		r = pw_loop_add(&c->d.loop, &c->nl_w, EPOLLIN);
		if (r)
			return r;
	}
	fd = pinned(cfg->bpffs, "pw_events_v1");
	if (fd >= 0) {
		c->rb_w.fd = pw_flows_open_ringbuf(c->d.fl, fd);
		close(fd);
		if (c->rb_w.fd >= 0) {
			c->rb_w.fn = rb_cb;
			pw_loop_add(&c->d.loop, &c->rb_w, EPOLLIN);
		} else {
			pw_warn("flows: cannot read the ring buffer: %s", strerror(-c->rb_w.fd));
		}
	} else {
		pw_warn("flows: %s/pw_events_v1 is not pinned; no flow records", cfg->bpffs);
	}
	c->d.cnt_fd = pinned(cfg->bpffs, "pw_cnt_v2");
	c->d.rcnt_fd = pinned(cfg->bpffs, "pw_rcnt_v1");
	c->d.rl_fd = pinned(cfg->bpffs, "pw_rl_v1");

	/* Everything is loaded and attached: keep only what the loop needs. */
	r = pw_caps_drop(false);
	if (r)
		pw_warn("capabilities: cannot drop: %s", strerror(-r));
	c->d.caps = pw_caps_text();
	pw_info("capabilities now: %s", c->d.caps ? c->d.caps : "?");

	r = pw_server_new(&c->d.loop, &so, c->d.fl, &c->d.srv);
	if (r) {
		pw_err("control socket %s: %s", cfg->socket_path,
		       r == -EADDRINUSE ? "another podwalld is serving it" : strerror(-r));
		return r;
	}
	pw_flows_set_sink(c->d.fl, pw_server_flow, c->d.srv);
	r = write_pidfile(c);
	if (r)
		pw_warn("pid file %s: %s (--uninstall cannot stop this daemon)", c->pidfile,
			strerror(-r));
	if (cfg->metrics_file) {
		r = setup_metrics_timer(c);
		if (r)
			return r;
		write_metrics(c);
	}
	pw_info("serving %s", cfg->socket_path);

	while (!c->d.loop.quit) {
		int due = pw_dp_solicit_due_ms(c->dp);

		r = pw_loop_once(&c->d.loop, due);
		if (r < 0) {
			pw_err("event loop: %s", strerror(-r));
			return r;
		}
		if (due >= 0 && pw_dp_solicit_due_ms(c->dp) == 0)
			solicit_due(c);
	}
	return 0;
}

static void cleanup(struct ctx *c)
{
	if (c->pidfile_written)
		unlink(c->pidfile);
	pw_server_free(c->d.srv);
	pw_reload_free(c->d.rl);
	pw_pcache_free(c->pc);
	pw_flows_free(c->d.fl);
	if (c->em)
		pw_eval_maps_close(c->em);
	if (c->dp)
		pw_dp_close(c->dp); /* enforcement stays */
	int *fds[] = { &c->d.cnt_fd, &c->d.rcnt_fd, &c->d.rl_fd };

	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (*fds[i] >= 0)
			close(*fds[i]);
	if (c->sig_w.fd >= 0)
		close(c->sig_w.fd);
	if (c->met_w.fd >= 0)
		close(c->met_w.fd);
	free(c->d.caps);
	pw_loop_fini(&c->d.loop);
}

int main(int argc, char **argv)
{
	static struct ctx c;
	char err[512];
	int r;

	c.d.cnt_fd = c.d.rcnt_fd = c.d.rl_fd = -1;
	c.sig_w.fd = c.met_w.fd = c.rb_w.fd = -1;
	c.d.loop.epfd = -1;
	if (pw_config_parse(&c.cfg, argc, argv, environ, err, sizeof(err))) {
		fprintf(stderr, "podwalld: %s\nTry 'podwalld --help'.\n", err);
		pw_config_free(&c.cfg);
		return 2;
	}
	c.d.cfg = &c.cfg;
	c.d.start_ns = wall_ns();
	pw_log_set_level(c.cfg.log_level);
	switch (c.cfg.action) {
	case PW_ACT_HELP:
		pw_config_usage(stdout);
		pw_config_free(&c.cfg);
		return 0;
	case PW_ACT_VERSION:
		printf("podwalld %s\n", pw_version());
		pw_config_free(&c.cfg);
		return 0;
	case PW_ACT_UNINSTALL:
		r = do_uninstall(&c.cfg);
		pw_config_free(&c.cfg);
		return r;
	case PW_ACT_RUN:
		break;
	}
	r = run(&c);
	cleanup(&c);
	pw_config_free(&c.cfg);
	return r ? 1 : 0;
}
