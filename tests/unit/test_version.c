// SPDX-License-Identifier: MIT
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "version.h"

static void test_version_not_empty(void **state)
{
	const char *v = pw_version();

	(void)state;
	assert_non_null(v);
	assert_true(strlen(v) > 0);
}

/* MAJOR.MINOR.PATCH, optionally followed by "-<git describe suffix>". */
static void test_version_pattern(void **state)
{
	regex_t re;
	const char *v = pw_version();

	(void)state;
	assert_int_equal(regcomp(&re, "^[0-9]+\\.[0-9]+\\.[0-9]+(-[0-9A-Za-z.-]+)?$",
				 REG_EXTENDED | REG_NOSUB),
			 0);
	if (regexec(&re, v, 0, NULL, 0) != 0)
		fail_msg("version '%s' does not look like MAJOR.MINOR.PATCH[-suffix]", v);
	regfree(&re);
}

static void test_version_stable(void **state)
{
	(void)state;
	assert_string_equal(pw_version(), pw_version());
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_version_not_empty),
		cmocka_unit_test(test_version_pattern),
		cmocka_unit_test(test_version_stable),
	};

	return cmocka_run_group_tests_name("version", tests, NULL, NULL);
}
