/* SPDX-License-Identifier: MIT */
/*
 * Prometheus text exposition (format 0.0.4) of podwall's counters, for the
 * socket's "metrics" command and the node_exporter textfile collector
 * (--metrics-file, replaced atomically).  Formatting is separate from
 * reading the per-CPU maps so it is tested without BPF.
 */
#ifndef PODWALL_DAEMON_METRICS_H
#define PODWALL_DAEMON_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "podwall/abi.h"
#include "podwall/image.h"

struct pw_map_fill {
	const char *name; /* "pw_ep_v1" */
	uint64_t entries;
	uint64_t capacity;
};

/* Per-endpoint counters summed over CPUs: ep_ids[i] owns
 * cnt[i * 2 * PW_CNT_CODES .. (i + 1) * 2 * PW_CNT_CODES). */
struct pw_ep_counters {
	uint32_t *ep_ids;
	size_t n_eps;
	struct pw_counter *cnt;
};

struct pw_metrics_in {
	const struct pw_image *img; /* names; NULL: ids only */
	const struct pw_ep_counters *eps;
	const struct pw_counter *rules; /* indexed by rule id, n_rules + 1 entries */
	size_t n_rules;
	uint64_t reloads;
	uint64_t reload_errors;
	double reload_duration_s;
	const struct pw_map_fill *maps;
	size_t n_maps;
	uint64_t events_suppressed;
	uint64_t flow_records;
	uint64_t stream_dropped;
};

/* The exposition text (malloc'd) into *ret_text.  0 or -ENOMEM. */
int pw_metrics_format(const struct pw_metrics_in *in, char **ret_text);

/* Write text to path atomically (path.tmp, fsync, rename): the textfile
 * collector never reads half a file.  0 or -errno. */
int pw_metrics_write_file(const char *path, const char *text);

/* Read the per-CPU counter maps (fds of pw_cnt_v2, pw_rcnt_v1, pw_rl_v1)
 * for the local endpoints of img (and ep_id 0), summing over CPUs.  Free
 * with pw_metrics_counters_free. */
int pw_metrics_read_eps(int cnt_fd, const struct pw_image *img, struct pw_ep_counters *ret);
void pw_metrics_counters_free(struct pw_ep_counters *c);
int pw_metrics_read_rules(int rcnt_fd, size_t n_rules, struct pw_counter **ret);
int pw_metrics_read_suppressed(int rl_fd, uint64_t *ret);

#endif
