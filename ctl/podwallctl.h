/* SPDX-License-Identifier: MIT */
/*
 * podwallctl's internal interface: the command tables and output helpers
 * every ctl/cmd_<object>.c uses.  bpftool/iproute2 conventions:
 *   podwallctl [OPTIONS] OBJECT COMMAND [ARGS]
 * unambiguous prefixes accepted at every level, `help` at every level,
 * -j (JSON) and -p (pretty JSON) for every command, errors in JSON mode as
 * {"error": "..."}, exit status 0 success, 1 failure, 2 usage error.
 */
#ifndef PODWALLCTL_H
#define PODWALLCTL_H

#include <jansson.h>
#include <stdbool.h>

#define PW_EXIT_OK 0
#define PW_EXIT_FAIL 1
#define PW_EXIT_USAGE 2

/* global options (ctl/main.c) */
extern bool pw_json; /* -j / -p */
extern bool pw_pretty; /* -p */
extern bool pw_color; /* colour on a TTY, off with --no-color or NO_COLOR */
extern const char *pw_socket_path; /* --socket, default /run/podwall/podwalld.sock */
extern const char *pw_bpffs_dir; /* --bpffs, default /sys/fs/bpf/podwall */

struct pw_cmd {
	const char *name;
	int (*fn)(int argc, char **argv); /* argv[0] is the first argument after the name */
	const char *help; /* one line: "list    list endpoints" */
};

/*
 * Pick the command named by argv[0] (unambiguous prefixes accepted; "help"
 * or no argument calls help_fn) and run it with the remaining arguments.
 * Returns its exit status, or PW_EXIT_USAGE for an unknown/ambiguous name.
 */
int pw_cmd_select(const struct pw_cmd *cmds, int argc, char **argv, const char *object,
		  void (*help_fn)(void));

/* Report an error (text on stderr, or {"error": msg} on stdout with -j) and
 * return `code` so callers can `return pw_error(PW_EXIT_FAIL, "...")`. */
int pw_error(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Print a JSON value (compact with -j, indented with -p) and a newline;
 * takes ownership of `v`. */
void pw_json_print(json_t *v);

/* Does `arg` abbreviate `full` (non-empty prefix)? */
bool pw_is_prefix(const char *arg, const char *full);

/* Object entry points, one per ctl/cmd_<object>.c */
int do_status(int argc, char **argv);
int do_endpoint(int argc, char **argv);
int do_policy(int argc, char **argv);
int do_counters(int argc, char **argv);
int do_flows(int argc, char **argv);
int do_trace(int argc, char **argv);
int do_metrics(int argc, char **argv);
int do_lab(int argc, char **argv);

#endif
