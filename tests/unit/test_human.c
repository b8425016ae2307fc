// SPDX-License-Identifier: MIT
/* Units, --since parsing, RFC 3339 and aligned tables (ctl/human.c). */
#include "ctl_test.h"

#include "../../ctl/human.c"

static void test_units(void **state)
{
	char b[16];

	(void)state;
	pw_human_count(999, b, sizeof(b));
	assert_string_equal(b, "999");
	pw_human_count(1500, b, sizeof(b));
	assert_string_equal(b, "1.5K");
	pw_human_count(34000000, b, sizeof(b));
	assert_string_equal(b, "34M");
	pw_human_bytes(1023, b, sizeof(b));
	assert_string_equal(b, "1023");
	pw_human_bytes(5ull << 30, b, sizeof(b));
	assert_string_equal(b, "5.0G");
	pw_human_count(UINT64_MAX, b, sizeof(b));
	assert_string_equal(b, "18E");
}

static void test_since(void **state)
{
	int64_t ns;
	const int64_t now = 1714557600;

	(void)state;
	assert_int_equal(pw_parse_since("30s", now, &ns), 0);
	assert_true(ns == (now - 30) * 1000000000LL);
	assert_int_equal(pw_parse_since("5m", now, &ns), 0);
	assert_true(ns == (now - 300) * 1000000000LL);
	assert_int_equal(pw_parse_since("1h", now, &ns), 0);
	assert_true(ns == (now - 3600) * 1000000000LL);
	assert_int_equal(pw_parse_since("2d", now, &ns), 0);
	assert_true(ns == (now - 172800) * 1000000000LL);
	assert_int_equal(pw_parse_since("2024-05-01T12:00:00+02:00", now, &ns), 0);
	assert_true(ns == now * 1000000000LL);
	assert_int_equal(pw_parse_since("2024-05-01T10:00:00.25Z", now, &ns), 0);
	assert_true(ns == now * 1000000000LL + 250000000LL);
	assert_int_equal(pw_parse_since("5x", now, &ns), -EINVAL);
	assert_int_equal(pw_parse_since("-5m", now, &ns), -EINVAL);
	assert_int_equal(pw_parse_since("", now, &ns), -EINVAL);
	assert_int_equal(pw_parse_since("99999999999999999999d", now, &ns), -EINVAL);
	assert_int_equal(pw_parse_since("999999999999d", now, &ns), -ERANGE);
	assert_int_equal(pw_parse_since("2024-13-01T00:00:00Z", now, &ns), -EINVAL);
	assert_int_equal(pw_parse_since("2024-05-01T10:00:00", now, &ns), -EINVAL); /* no zone */
	assert_int_equal(pw_parse_since("2024-05-01T10:00:00Zjunk", now, &ns), -EINVAL);
}

static void test_rfc3339_roundtrip(void **state)
{
	char b[64];
	int64_t ns;

	(void)state;
	pw_format_rfc3339(1714557600123000000LL, b, sizeof(b));
	assert_string_equal(b, "2024-05-01T10:00:00.123Z");
	assert_int_equal(pw_parse_rfc3339(b, &ns), 0);
	assert_true(ns == 1714557600123000000LL);
}

static void test_table_aligned_colour(void **state)
{
	struct pw_table *t = pw_table_new(3, "A", "LONGER", "C");
	char *out;

	(void)state;
	assert_non_null(t);
	pw_table_cell(t, NULL, "%s", "x");
	pw_table_cell(t, PW_C_RED, "%s", "drop");
	pw_table_cell(t, NULL, "%d", 1);
	pw_table_cell(t, NULL, "%s", "yyyy");
	pw_table_cell(t, NULL, "%s", "y");
	pw_table_cell(t, NULL, "%d", 22);
	assert_int_equal(pw_table_rows(t), 2);
	t_reset();
	t_capture_start();
	pw_table_print(t, stdout);
	out = t_capture_end();
	assert_string_equal(out, "A     LONGER  C\n"
				 "x     drop    1\n"
				 "yyyy  y       22\n");
	free(out);
	pw_color = true; /* colour codes do not count towards widths */
	t_capture_start();
	pw_table_print(t, stdout);
	out = t_capture_end();
	assert_non_null(strstr(out, "x     " PW_C_RED "drop" PW_C_OFF "    1\n"));
	free(out);
	pw_color = false;
	pw_table_free(t);
	assert_null(pw_table_new(0));
}

static void test_u32_and_help(void **state)
{
	uint32_t v;
	char *h[] = { "help" }, *n[] = { "list" };

	(void)state;
	assert_int_equal(pw_parse_u32("65535", 65535, &v), 0);
	assert_int_equal(v, 65535);
	assert_int_equal(pw_parse_u32("65536", 65535, &v), -EINVAL);
	assert_int_equal(pw_parse_u32("-1", 65535, &v), -EINVAL);
	assert_int_equal(pw_parse_u32("", 65535, &v), -EINVAL);
	assert_true(pw_wants_help(1, h));
	assert_false(pw_wants_help(1, n));
	assert_false(pw_wants_help(0, NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_units),
		cmocka_unit_test(test_since),
		cmocka_unit_test(test_rfc3339_roundtrip),
		cmocka_unit_test(test_table_aligned_colour),
		cmocka_unit_test(test_u32_and_help),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
