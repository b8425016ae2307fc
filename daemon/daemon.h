/* SPDX-License-Identifier: MIT */
/*
 * The running daemon's state, shared by main.c (which owns and wires it)
 * and commands.c (the socket commands that read it).  The dataplane is
 * reached through function pointers so commands.c is tested without BPF.
 */
#ifndef PODWALL_DAEMON_DAEMON_H
#define PODWALL_DAEMON_DAEMON_H

#include <jansson.h>
#include <stdint.h>

#include "config.h"
#include "flows.h"
#include "loop.h"
#include "metrics.h"
#include "reload.h"
#include "server.h"

struct pw_daemon {
	const struct pw_config *cfg;
	struct pw_loop loop;
	struct pw_reload *rl;
	struct pw_flows *fl;
	struct pw_server *srv;
	uint64_t start_ns; /* wall clock */

	/* pinned maps read by metrics and counters; -1 when unavailable */
	int cnt_fd, rcnt_fd, rl_fd;

	/* dataplane hooks (main.c binds them; NULL: absent) */
	int (*dp_status)(void *dp, json_t **ret);
	int (*dp_map_fill)(void *dp, struct pw_map_fill **ret, size_t *ret_n);
	int (*trace)(void *dp, const struct pw_image *img, const json_t *req, json_t **ret);
	void *dp;
	char *caps; /* capabilities after the drop, for status */
};

/* The socket commands (terminated by name == NULL); ctx is a pw_daemon. */
extern const struct pw_srv_cmd pw_daemon_cmds[];

/* The metrics text (malloc'd) from the live state.  0 or -errno. */
int pw_daemon_metrics(struct pw_daemon *d, char **ret_text);

#endif
