// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

static enum pw_log_level cur_level = PW_LOG_INFO;
static FILE *log_stream;

static const char *const level_names[] = {
	[PW_LOG_ERROR] = "error",
	[PW_LOG_WARN] = "warn",
	[PW_LOG_INFO] = "info",
	[PW_LOG_DEBUG] = "debug",
};

/* syslog priorities: err, warning, info, debug */
static const int level_prio[] = { 3, 4, 6, 7 };

void pw_log_set_level(enum pw_log_level level)
{
	cur_level = level;
}

enum pw_log_level pw_log_get_level(void)
{
	return cur_level;
}

void pw_log_set_stream(FILE *f)
{
	log_stream = f;
}

int pw_log_level_parse(const char *s, enum pw_log_level *ret_level)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (strcmp(s, level_names[i]) == 0) {
			*ret_level = (enum pw_log_level)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *pw_log_level_name(enum pw_log_level level)
{
	if ((unsigned int)level > PW_LOG_DEBUG)
		return "?";
	return level_names[level];
}

void pw_log(enum pw_log_level level, const char *fmt, ...)
{
	char msg[2048], ts[40];
	struct timespec now;
	struct tm tm;
	va_list ap;
	FILE *f = log_stream ? log_stream : stderr;

	if (level > cur_level)
		return;
	if ((unsigned int)level > PW_LOG_DEBUG)
		level = PW_LOG_DEBUG;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	for (char *p = msg; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';

	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);

	/* One fprintf per line: stdio writes it with a single write(2), so
	 * lines of concurrent writers (a forked helper) do not interleave. */
	if (getenv("JOURNAL_STREAM"))
		fprintf(f, "<%d>%s.%03ldZ %s: %s\n", level_prio[level], ts, now.tv_nsec / 1000000,
			level_names[level], msg);
	else
		fprintf(f, "%s.%03ldZ %s: %s\n", ts, now.tv_nsec / 1000000, level_names[level],
			msg);
	fflush(f);
}
