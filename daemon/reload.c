// SPDX-License-Identifier: MIT
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "reload.h"

#define WATCH_MASK                                                                               \
	(IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_CREATE | IN_DELETE_SELF | \
	 IN_MOVE_SELF | IN_ONLYDIR)

struct pw_reload {
	struct pw_loop *loop;
	char *dir;
	struct pw_reload_ops ops;
	struct pw_watch in_w; /* inotify */
	struct pw_watch tm_w; /* debounce timerfd */
	int wd;
	struct pw_image *img;

	char **changed;
	size_t n_changed;
	bool all_changed;
	bool armed;
	bool slow; /* the pending burst removed a file, overflowed, ... */
	uint64_t first_ns; /* first event of the pending burst (monotonic) */
	uint64_t last_end_ns; /* when the last reload attempt ended */

	struct pw_reload_stats st;
	char *last_error;
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static bool is_policy_file(const char *name)
{
	size_t n = strlen(name);

	if (name[0] == '.')
		return false; /* editor swap files, kubectl/ConfigMap temporaries */
	return (n > 5 && strcmp(name + n - 5, ".yaml") == 0) ||
	       (n > 4 && strcmp(name + n - 4, ".yml") == 0);
}

static void clear_changed(struct pw_reload *rl)
{
	for (size_t i = 0; i < rl->n_changed; i++)
		free(rl->changed[i]);
	rl->n_changed = 0;
	rl->all_changed = false;
}

static void note_changed(struct pw_reload *rl, const char *name)
{
	char *s;

	if (rl->all_changed)
		return;
	for (size_t i = 0; i < rl->n_changed; i++)
		if (strcmp(rl->changed[i], name) == 0)
			return;
	if (rl->n_changed >= PW_RELOAD_MAX_CHANGED || !(s = strdup(name))) {
		clear_changed(rl);
		rl->all_changed = true;
		return;
	}
	rl->changed[rl->n_changed++] = s;
}

static void arm(struct pw_reload *rl, unsigned int delay_ms)
{
	uint64_t now = mono_ns(), when;
	struct itimerspec its = { 0 };

	if (!rl->armed) {
		rl->first_ns = now;
		rl->armed = true;
	}
	when = now + (uint64_t)delay_ms * 1000000ull;
	if (when > rl->first_ns + PW_RELOAD_MAX_DELAY_MS * 1000000ull)
		when = rl->first_ns + PW_RELOAD_MAX_DELAY_MS * 1000000ull;
	if (when <= now)
		when = now + 1;
	its.it_value.tv_sec = (time_t)(when / 1000000000ull);
	its.it_value.tv_nsec = (long)(when % 1000000000ull);
	if (timerfd_settime(rl->tm_w.fd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
		pw_err("reload: timerfd_settime: %m");
}

static int add_watch(struct pw_reload *rl)
{
	rl->wd = inotify_add_watch(rl->in_w.fd, rl->dir, WATCH_MASK);
	rl->st.watching = rl->wd >= 0;
	return rl->wd < 0 ? -errno : 0;
}

static void inotify_cb(struct pw_watch *w, uint32_t events)
{
	struct pw_reload *rl = (struct pw_reload *)((char *)w - offsetof(struct pw_reload, in_w));
	char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool quick = false; /* the last policy-file event completed a file */

	(void)events;
	for (int rounds = 0; rounds < 64; rounds++) {
		ssize_t n = read(w->fd, buf, sizeof(buf));

		if (n <= 0)
			break;
		for (char *p = buf; p < buf + n;) {
			struct inotify_event *ev = (struct inotify_event *)p;
			const char *name = ev->len ? ev->name : "";

			p += sizeof(*ev) + ev->len;
			if (ev->mask & IN_Q_OVERFLOW) {
				pw_warn("reload: inotify queue overflowed; re-reading everything");
				clear_changed(rl);
				rl->all_changed = true;
				rl->slow = true;
				arm(rl, PW_RELOAD_DEBOUNCE_MS);
				continue;
			}
			if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)) {
				if (rl->st.watching)
					pw_err("reload: policy directory %s went away; the policy "
					       "in force stays; send SIGHUP when it is back",
					       rl->dir);
				if (rl->wd >= 0 && !(ev->mask & IN_IGNORED))
					inotify_rm_watch(w->fd, rl->wd);
				rl->wd = -1;
				rl->st.watching = false;
				continue;
			}
			/* A ConfigMap volume swaps its "..data" symlink: everything may
			 * have changed at once. */
			if (strcmp(name, "..data") == 0 && (ev->mask & (IN_MOVED_TO | IN_CREATE))) {
				clear_changed(rl);
				rl->all_changed = true;
				rl->slow = true;
				arm(rl, PW_RELOAD_DEBOUNCE_MS);
				continue;
			}
			if (!is_policy_file(name))
				continue;
			pw_dbg("reload: %s%s%s%s%s %s",
			       ev->mask & IN_CLOSE_WRITE ? "close-write " : "",
			       ev->mask & IN_MOVED_TO ? "moved-to " : "",
			       ev->mask & IN_MOVED_FROM ? "moved-from " : "",
			       ev->mask & IN_DELETE ? "delete " : "",
			       ev->mask & IN_CREATE ? "create " : "", name);
			note_changed(rl, name);
			/* Created but not yet closed: a writer is probably still at it,
			 * and its IN_CLOSE_WRITE will shorten the wait.  A file that is
			 * complete (closed after writing, renamed into place) is read
			 * almost at once: the wait is the reload latency users see.  A
			 * file that went away waits longer, since editors rename the
			 * old file away before writing the new one. */
			if (ev->mask & IN_CREATE) {
				quick = false;
				arm(rl, PW_RELOAD_CREATE_GRACE_MS);
			} else if (ev->mask & (IN_CLOSE_WRITE | IN_MOVED_TO)) {
				quick = true;
				arm(rl, PW_RELOAD_SETTLE_MS);
			} else {
				rl->slow = true;
				arm(rl, PW_RELOAD_DEBOUNCE_MS);
			}
		}
	}
	/* Every queued event has been read.  A burst that only completed files
	 * (closed after writing, renamed into place), arriving after a quiet
	 * spell, is reloaded now: the settle timer's wait and wake-up are the
	 * reload latency users see.  Within a storm of changes the timer
	 * coalesces them. */
	if (quick && rl->armed && !rl->slow &&
	    mono_ns() - rl->last_end_ns >= PW_RELOAD_DEBOUNCE_MS * 1000000ull)
		pw_reload_now(rl, "directory changed");
}

static void timer_cb(struct pw_watch *w, uint32_t events)
{
	struct pw_reload *rl = (struct pw_reload *)((char *)w - offsetof(struct pw_reload, tm_w));
	uint64_t ticks;

	(void)events;
	if (read(w->fd, &ticks, sizeof(ticks)) != sizeof(ticks))
		return;
	rl->armed = false;
	pw_reload_now(rl, "directory changed");
}

static void log_errors(const char *why, const char *what, const char *errors)
{
	const char *p = errors;

	pw_err("reload (%s): %s; the policy in force stays", why, what);
	if (!p)
		return;
	while (*p) {
		const char *nl = strchr(p, '\n');
		int len = nl ? (int)(nl - p) : (int)strlen(p);

		if (len)
			pw_err("  %.*s", len, p);
		p += len + (nl ? 1 : 0);
	}
}

static void fail(struct pw_reload *rl, const char *why, const char *what, int err, char *errors)
{
	rl->st.errors++;
	rl->st.last_ok = false;
	rl->st.last_error_ns = wall_ns();
	free(rl->last_error);
	if (!errors && asprintf(&errors, "%s", strerror(-err)) < 0)
		errors = NULL;
	rl->last_error = errors;
	rl->st.last_error = errors;
	log_errors(why, what, errors);
}

int pw_reload_now(struct pw_reload *rl, const char *why)
{
	uint64_t t0 = mono_ns();
	struct pw_image *img = NULL;
	char *errors = NULL;
	int r;

	/* from the first event of the burst: the debounce as it really was */
	rl->st.last_wait_ns = rl->armed || rl->first_ns ? t0 - rl->first_ns : 0;
	rl->first_ns = 0;
	rl->slow = false;
	if (rl->armed) {
		struct itimerspec off = { 0 };

		timerfd_settime(rl->tm_w.fd, 0, &off, NULL);
		rl->armed = false;
	}
	if (rl->loop && rl->wd < 0 && add_watch(rl) == 0)
		pw_info("reload: watching %s again", rl->dir);

	rl->st.last_changed = rl->all_changed ? 0 : (unsigned int)rl->n_changed;
	r = rl->ops.build(rl->ops.ctx, rl->dir, rl->all_changed || !rl->img ? NULL : rl->changed,
			  rl->n_changed, &img, &errors);
	if (r) {
		rl->st.last_duration_ns = mono_ns() - t0;
		rl->last_end_ns = mono_ns();
		fail(rl, why, "policy directory rejected", r, errors);
		/* the files stay "changed": the next attempt re-reads them */
		return r;
	}
	r = rl->ops.apply(rl->ops.ctx, img, &errors);
	rl->st.last_duration_ns = mono_ns() - t0;
	rl->last_end_ns = mono_ns();
	if (r) {
		rl->ops.free_image(img);
		fail(rl, why, "applying the new policy failed", r, errors);
		return r;
	}
	if (rl->img)
		rl->ops.free_image(rl->img);
	rl->img = img;
	clear_changed(rl);
	rl->st.reloads++;
	rl->st.last_ok = true;
	rl->st.last_ok_ns = wall_ns();
	if (rl->ops.applied)
		rl->ops.applied(rl->ops.ctx, img);
	pw_info("reload (%s): policy applied in %.1f ms after %.2f ms of debounce (%zu pods, "
		"%zu policies, %zu rules)",
		why, (double)rl->st.last_duration_ns / 1e6, (double)rl->st.last_wait_ns / 1e6,
		img->n_pods, img->n_policies, img->n_rules);
	return 0;
}

int pw_reload_all(struct pw_reload *rl, const char *why)
{
	clear_changed(rl);
	rl->all_changed = true;
	return pw_reload_now(rl, why);
}

int pw_reload_new(struct pw_loop *loop, const char *dir, const struct pw_reload_ops *ops,
		  struct pw_reload **ret)
{
	struct pw_reload *rl = calloc(1, sizeof(*rl));
	int r = -ENOMEM;

	if (!rl)
		return -ENOMEM;
	rl->loop = loop;
	rl->ops = *ops;
	rl->wd = -1;
	rl->in_w.fd = rl->tm_w.fd = -1;
	rl->dir = strdup(dir);
	rl->changed = calloc(PW_RELOAD_MAX_CHANGED, sizeof(*rl->changed));
	if (!rl->dir || !rl->changed)
		goto fail;
	if (loop) {
		rl->in_w.fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
		rl->tm_w.fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
		if (rl->in_w.fd < 0 || rl->tm_w.fd < 0) {
			r = -errno;
			goto fail;
		}
		rl->in_w.fn = inotify_cb;
		rl->tm_w.fn = timer_cb;
		r = add_watch(rl);
		if (r) {
			pw_err("reload: cannot watch %s: %s", dir, strerror(-r));
			goto fail;
		}
		r = pw_loop_add(loop, &rl->in_w, EPOLLIN);
		if (!r)
			r = pw_loop_add(loop, &rl->tm_w, EPOLLIN);
		if (r)
			goto fail;
	}
	*ret = rl;
	return 0;
fail:
	pw_reload_free(rl);
	return r;
}

void pw_reload_free(struct pw_reload *rl)
{
	if (!rl)
		return;
	if (rl->in_w.fd >= 0) {
		if (rl->loop)
			pw_loop_del(rl->loop, &rl->in_w);
		close(rl->in_w.fd);
	}
	if (rl->tm_w.fd >= 0) {
		if (rl->loop)
			pw_loop_del(rl->loop, &rl->tm_w);
		close(rl->tm_w.fd);
	}
	if (rl->changed)
		clear_changed(rl);
	free(rl->changed);
	if (rl->img)
		rl->ops.free_image(rl->img);
	free(rl->last_error);
	free(rl->dir);
	free(rl);
}

const struct pw_image *pw_reload_image(const struct pw_reload *rl)
{
	return rl->img;
}

void pw_reload_get_stats(const struct pw_reload *rl, struct pw_reload_stats *ret)
{
	*ret = rl->st;
}

size_t pw_reload_pending(const struct pw_reload *rl, char *const **ret_names, bool *ret_all)
{
	*ret_names = rl->changed;
	*ret_all = rl->all_changed;
	return rl->n_changed;
}
