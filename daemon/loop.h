/* SPDX-License-Identifier: MIT */
/*
 * The daemon's single-threaded epoll loop.  Each source embeds a pw_watch
 * and is called back with the epoll events of its fd.  Events are fetched
 * one at a time, so a callback may remove (and free) any watch, its own
 * included, without a stale pointer reaching a later callback.
 */
#ifndef PODWALL_DAEMON_LOOP_H
#define PODWALL_DAEMON_LOOP_H

#include <stdbool.h>
#include <stdint.h>

struct pw_watch;
typedef void (*pw_watch_fn)(struct pw_watch *w, uint32_t events);

struct pw_watch {
	int fd;
	pw_watch_fn fn;
};

struct pw_loop {
	int epfd;
	bool quit;
};

int pw_loop_init(struct pw_loop *l);
void pw_loop_fini(struct pw_loop *l);
int pw_loop_add(struct pw_loop *l, struct pw_watch *w, uint32_t events);
int pw_loop_mod(struct pw_loop *l, struct pw_watch *w, uint32_t events);
void pw_loop_del(struct pw_loop *l, struct pw_watch *w);
/* Wait up to timeout_ms (-1: forever) and dispatch at most one event.
 * Returns 1 if one was dispatched, 0 on timeout or EINTR, -errno. */
int pw_loop_once(struct pw_loop *l, int timeout_ms);

#endif
