/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the live-state commands of podwallctl (status, endpoint,
 * counters, flows, metrics, policy list/show): units, aligned tables,
 * colour, time parsing and option parsing in the bpftool style (argv[0] is
 * the first argument after the object name).
 */
#ifndef PODWALLCTL_HUMAN_H
#define PODWALLCTL_HUMAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* "1.2K", "34M", "5.0G": powers of 1000 for packets, 1024 for bytes ("KiB"
 * style suffixes are not used: bpftool and ip -h print K/M/G). */
void pw_human_count(uint64_t v, char *buf, size_t len);
void pw_human_bytes(uint64_t v, char *buf, size_t len);

/* ANSI colours, used only when pw_color is set (a TTY, no NO_COLOR). */
#define PW_C_RED "\033[31m"
#define PW_C_GREEN "\033[32m"
#define PW_C_YELLOW "\033[33m"
#define PW_C_BOLD "\033[1m"
#define PW_C_DIM "\033[2m"
#define PW_C_OFF "\033[0m"

/* Colour for a verdict word ("allow", "drop", "audit"), or NULL. */
const char *pw_verdict_color(const char *verdict);

/*
 * A table of strings printed with aligned columns.  Cells may carry a
 * colour, which does not count towards the column width.
 */
#define PW_TABLE_MAX_COLS 12
#define PW_TABLE_MAX_ROWS 1000000 /* a bound on memory for huge outputs */

struct pw_table;

struct pw_table *pw_table_new(int ncols, ...); /* header strings */
/* Append a cell to the current row (a new row starts after ncols cells). */
int pw_table_cell(struct pw_table *t, const char *color, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
size_t pw_table_rows(const struct pw_table *t);
void pw_table_print(const struct pw_table *t, FILE *f);
void pw_table_free(struct pw_table *t);

/*
 * --since T: "30s", "5m", "1h", "2d" (relative to `now`, seconds since the
 * epoch) or RFC 3339 ("2024-05-01T10:00:00Z", "...+02:00", fractional
 * seconds allowed).  Result in nanoseconds since the epoch.
 */
int pw_parse_since(const char *s, int64_t now, int64_t *ret_ns);
/* RFC 3339 time (seconds and fraction, any offset) -> ns since the epoch. */
int pw_parse_rfc3339(const char *s, int64_t *ret_ns);
/* ns since the epoch -> "2024-05-01T10:00:00.123Z" */
void pw_format_rfc3339(int64_t ns, char *buf, size_t len);

/*
 * Option parsing for argv that starts at the first argument after the
 * object/command name.  Long options accept unambiguous prefixes (getopt_long
 * semantics).  Positional arguments are collected into ret_pos (at most
 * max_pos).  Returns 0, or -EINVAL after reporting a usage error through
 * pw_error() — callers return PW_EXIT_USAGE.
 */
struct pw_opt {
	const char *name; /* long name without "--" */
	char short_name; /* 0 for none */
	bool has_arg;
	const char **ret_val; /* set to the argument, or to "" for flags */
};

int pw_opts_parse(const char *cmd, const struct pw_opt *opts, int argc, char **argv,
		  const char **ret_pos, int max_pos, int *ret_npos);

/* "help", "-h", "--help" as the first argument */
bool pw_wants_help(int argc, char **argv);

/* Parse a decimal port/number with bounds; 0 or -EINVAL. */
int pw_parse_u32(const char *s, uint32_t max, uint32_t *ret);

#endif
