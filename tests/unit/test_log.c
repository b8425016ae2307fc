// SPDX-License-Identifier: MIT
#include <errno.h>
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "log.h"

static char *capture(enum pw_log_level set, enum pw_log_level level, const char *msg)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	pw_log_set_stream(f);
	pw_log_set_level(set);
	pw_log(level, "%s", msg);
	pw_log_set_stream(NULL);
	pw_log_set_level(PW_LOG_INFO);
	fclose(f);
	return text;
}

static void test_line_format(void **state)
{
	char *t;
	regex_t re;

	(void)state;
	unsetenv("JOURNAL_STREAM");
	t = capture(PW_LOG_INFO, PW_LOG_WARN, "two\nlines");
	assert_int_equal(
		regcomp(&re,
			"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z "
			"warn: two lines\n$",
			REG_EXTENDED | REG_NOSUB),
		0);
	if (regexec(&re, t, 0, NULL, 0))
		fail_msg("bad log line: '%s'", t);
	regfree(&re);
	free(t);
}

static void test_level_filter_and_journal_prefix(void **state)
{
	char *t;
	enum pw_log_level l;

	(void)state;
	t = capture(PW_LOG_WARN, PW_LOG_INFO, "hidden");
	assert_string_equal(t, "");
	free(t);
	setenv("JOURNAL_STREAM", "8:1234", 1);
	t = capture(PW_LOG_DEBUG, PW_LOG_ERROR, "boom");
	unsetenv("JOURNAL_STREAM");
	assert_true(strncmp(t, "<3>", 3) == 0);
	assert_non_null(strstr(t, "error: boom"));
	free(t);
	assert_int_equal(pw_log_level_parse("debug", &l), 0);
	assert_int_equal(l, PW_LOG_DEBUG);
	assert_int_equal(pw_log_level_parse("trace", &l), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_line_format),
		cmocka_unit_test(test_level_filter_and_journal_prefix),
	};

	return cmocka_run_group_tests_name("log", tests, NULL, NULL);
}
