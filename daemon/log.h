/* SPDX-License-Identifier: MIT */
/*
 * podwalld logging: one line per event on stderr, with a timestamp and a
 * level.  Under systemd (JOURNAL_STREAM set) each line also starts with the
 * syslog priority prefix "<N>", which journald strips and uses as the
 * entry's priority.
 */
#ifndef PODWALL_DAEMON_LOG_H
#define PODWALL_DAEMON_LOG_H

#include <stdio.h>

enum pw_log_level {
	PW_LOG_ERROR = 0,
	PW_LOG_WARN = 1,
	PW_LOG_INFO = 2,
	PW_LOG_DEBUG = 3,
};

/* Messages above `level` are discarded (default PW_LOG_INFO). */
void pw_log_set_level(enum pw_log_level level);
enum pw_log_level pw_log_get_level(void);

/* Send log lines to `f` instead of stderr (tests); NULL restores stderr. */
void pw_log_set_stream(FILE *f);

/* "error", "warn", "info", "debug" -> level; 0 or -EINVAL. */
int pw_log_level_parse(const char *s, enum pw_log_level *ret_level);
const char *pw_log_level_name(enum pw_log_level level);

/* Newlines in the message are replaced by spaces: one event, one line. */
void pw_log(enum pw_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define pw_err(...) pw_log(PW_LOG_ERROR, __VA_ARGS__)
#define pw_warn(...) pw_log(PW_LOG_WARN, __VA_ARGS__)
#define pw_info(...) pw_log(PW_LOG_INFO, __VA_ARGS__)
#define pw_dbg(...) pw_log(PW_LOG_DEBUG, __VA_ARGS__)

#endif
