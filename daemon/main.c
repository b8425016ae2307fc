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
#include <poll.h>
#include <signal.h>
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
#include "ext_api.h" /* TEMPORARY: engine + dkern APIs, see ext_api.h */
#include "log.h"
#include "version.h"

extern char **environ;

#define UNINSTALL_WAIT_MS 10000

struct ctx {
	struct pw_daemon d;
	struct pw_config cfg;
	struct pw_dp *dp;
	struct pw_watch sig_w, nl_w, rb_w, met_w;
	char pidfile[PATH_MAX];
	bool pidfile_written;
};

/* ---- adapters between reload.c and the engine/dataplane APIs ---- */

static int build_cb(void *p, const char *dir, char *const *changed, size_t n_changed,
		    struct pw_image **ret_img, char **ret_errors)
{
	struct pw_model *m = NULL;
	int r;

	/* The engine parses whole directories for now; changed names are
	 * logged so incremental parsing can be checked against them later. */
	(void)p;
	for (size_t i = 0; changed && i < n_changed; i++)
		pw_dbg("reload: changed %s", changed[i]);
	r = pw_model_load_dir(dir, &m, ret_errors);
	if (r)
		return r;
	r = pw_compile(m, ret_img, ret_errors);
	pw_model_free(m);
	return r;
}

static int apply_cb(void *p, struct pw_image *img, char **ret_errors)
{
	struct ctx *c = p;
	int r = pw_dp_apply(c->dp, img);

	if (r && asprintf(ret_errors, "dataplane: %s", strerror(-r)) < 0)
		*ret_errors = NULL;
	return r;
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

static int dp_status_cb(void *dp, json_t **ret)
{
	return pw_dp_status(dp, ret);
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
			pw_reload_now(c->d.rl, "SIGHUP");
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

static void nl_cb(struct pw_watch *w, uint32_t events)
{
	struct ctx *c = (struct ctx *)((char *)w - offsetof(struct ctx, nl_w));
	int r;

	(void)events;
	r = pw_dp_on_netlink(c->dp);
	if (r)
		pw_warn("netlink: %s", strerror(-r));
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
	char path[PATH_MAX], bpffs[PATH_MAX] = "";
	struct pollfd pfd;
	int pid = 0, pidfd, r;
	FILE *f;

	if (pw_config_pidfile(cfg, path, sizeof(path)))
		return -ENAMETOOLONG;
	f = fopen(path, "re");
	if (!f)
		return 0; /* none running */
	r = fscanf(f, "%d\n%4095[^\n]", &pid, bpffs);
	fclose(f);
	if (r != 2 || pid <= 1 || strcmp(bpffs, cfg->bpffs) != 0)
		return 0; /* another installation's, or garbage */
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

static int do_uninstall(const struct pw_config *cfg)
{
	int r = stop_running(cfg);

	if (r)
		return 1;
	r = pw_dp_uninstall(cfg->bpffs);
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
		.audit = cfg->mode == PW_MODE_AUDIT,
		.xdp = cfg->hook == PW_HOOK_XDP,
		.log_allowed = cfg->log_allowed,
		.uplinks = cfg->uplinks,
		.n_uplinks = cfg->n_uplinks,
		.node_name = cfg->node_name,
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
	c->d.dp = c->dp;
	c->d.dp_status = dp_status_cb;

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
	c->d.cnt_fd = pinned(cfg->bpffs, "pw_cnt_v1");
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
		r = pw_loop_once(&c->d.loop, -1);
		if (r < 0) {
			pw_err("event loop: %s", strerror(-r));
			return r;
		}
	}
	return 0;
}

static void cleanup(struct ctx *c)
{
	if (c->pidfile_written)
		unlink(c->pidfile);
	pw_server_free(c->d.srv);
	pw_reload_free(c->d.rl);
	pw_flows_free(c->d.fl);
	if (c->dp)
		pw_dp_close(c->dp); /* enforcement stays */
	for (int *fd = &c->d.cnt_fd; fd <= &c->d.rl_fd; fd++)
		if (*fd >= 0)
			close(*fd);
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
