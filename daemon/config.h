/* SPDX-License-Identifier: MIT */
/*
 * podwalld's settings: command line, then environment (PODWALL_<OPTION>,
 * e.g. PODWALL_POLICY_DIR), then defaults.  The command line wins over the
 * environment.  One table (config.c) names every option, its handler and
 * its help text; --help, the man page and the parser all follow it.
 */
#ifndef PODWALL_DAEMON_CONFIG_H
#define PODWALL_DAEMON_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "log.h"
#include "podwall/abi.h"

#define PW_DEFAULT_BPFFS "/sys/fs/bpf/podwall"
#define PW_DEFAULT_SOCKET "/run/podwall/podwalld.sock"
#define PW_DEFAULT_FLOW_LOG_MAX (100ull << 20)
#define PW_DEFAULT_METRICS_INTERVAL 15

#define PW_MAX_UPLINKS 16
#define PW_MAX_SERVICE_CIDRS 16

enum pw_mode { PW_MODE_ENFORCE = 0, PW_MODE_AUDIT = 1 };
enum pw_hook { PW_HOOK_TC = 0, PW_HOOK_XDP = 1 };

enum pw_action {
	PW_ACT_RUN = 0, /* enforce (and keep running unless oneshot) */
	PW_ACT_UNINSTALL,
	PW_ACT_HELP,
	PW_ACT_VERSION,
};

#include "podwall/model.h" /* struct pw_cidr, pw_cidr_parse() */

struct pw_config {
	enum pw_action action;
	char *policy_dir;
	enum pw_mode mode;
	enum pw_hook hook;
	char *uplinks[PW_MAX_UPLINKS];
	unsigned int n_uplinks;
	struct pw_cidr service_cidrs[PW_MAX_SERVICE_CIDRS];
	unsigned int n_service_cidrs;
	char *bpffs;
	char *socket_path;
	char *flow_log;
	uint64_t flow_log_max_bytes; /* 0: never rotate */
	char *metrics_file;
	unsigned int metrics_interval; /* seconds, >= 1 */
	char *node_name;
	enum pw_log_level log_level;
	bool oneshot;
	bool log_allowed;
};

/*
 * Parse argv and the environment (envp: NULL-terminated "K=V" strings, may be
 * NULL) into *cfg (which is initialised here; free with pw_config_free even
 * on failure).  Returns 0, or -EINVAL with a one-line message in err (usage
 * error: the caller prints it and exits 2).
 */
int pw_config_parse(struct pw_config *cfg, int argc, char **argv, char **envp, char *err,
		    size_t errlen);
void pw_config_free(struct pw_config *cfg);

void pw_config_usage(FILE *f);

/* Where a daemon writes its pid (and bpffs directory): "<socket path>.pid",
 * one per socket, so daemons sharing a socket directory do not overwrite
 * each other's.  Returns 0 or -ENAMETOOLONG. */
int pw_config_pidfile(const struct pw_config *cfg, char *buf, size_t len);

/* The pid file of a daemon serving cfg->bpffs: this socket's, else any
 * "*.pid" in the socket's directory naming cfg->bpffs (a daemon started with
 * another --socket).  Path in buf, pid in *ret_pid; 0, -ENOENT (none) or
 * -errno.  The pid may be stale. */
int pw_config_find_daemon(const struct pw_config *cfg, char *buf, size_t len, int *ret_pid);

const char *pw_mode_name(enum pw_mode m);
const char *pw_hook_opt_name(enum pw_hook h);

/* "10.0.0.0/8", "fd00::/108", a bare address (host prefix); host bits set
 * are masked.  0 or -EINVAL. */
int pw_cfg_cidr_parse(const char *s, struct pw_cidr *ret_cidr);

#endif
