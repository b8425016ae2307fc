// SPDX-License-Identifier: MIT
#include <errno.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "loop.h"

int pw_loop_init(struct pw_loop *l)
{
	l->quit = false;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	return l->epfd < 0 ? -errno : 0;
}

void pw_loop_fini(struct pw_loop *l)
{
	if (l->epfd >= 0)
		close(l->epfd);
	l->epfd = -1;
}

int pw_loop_add(struct pw_loop *l, struct pw_watch *w, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = w };

	return epoll_ctl(l->epfd, EPOLL_CTL_ADD, w->fd, &ev) ? -errno : 0;
}

int pw_loop_mod(struct pw_loop *l, struct pw_watch *w, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = w };

	return epoll_ctl(l->epfd, EPOLL_CTL_MOD, w->fd, &ev) ? -errno : 0;
}

void pw_loop_del(struct pw_loop *l, struct pw_watch *w)
{
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, w->fd, NULL);
}

int pw_loop_once(struct pw_loop *l, int timeout_ms)
{
	struct epoll_event ev;
	int n = epoll_wait(l->epfd, &ev, 1, timeout_ms);
	struct pw_watch *w;

	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	if (n == 0)
		return 0;
	w = ev.data.ptr;
	w->fn(w, ev.events);
	return 1;
}
