// SPDX-License-Identifier: MIT
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "names.h"

static void test_every_reason_named_and_reversible(void **state)
{
	(void)state;
	for (unsigned int r = 0; r < PW_REASON_MAX; r++) {
		const char *n = pw_reason_name(r);
		unsigned int back;

		assert_non_null(n);
		if (strncmp(n, "reason-", 7) == 0)
			continue;
		assert_int_equal(pw_reason_parse(n, &back), 0);
		assert_int_equal(back, r);
	}
	assert_string_equal(pw_reason_name(PW_DROP_POLICY), "policy-denied");
	assert_string_equal(pw_reason_name(PW_DROP_SPOOFED), "spoofed");
	assert_string_equal(pw_reason_name(200), "reason-200");
	assert_ptr_equal(pw_reason_name(200), pw_reason_name(200)); /* stable pointer */
	assert_int_equal(pw_reason_parse("nonsense", &(unsigned int){ 0 }), -EINVAL);
}

static void test_verdicts_dirs_protos(void **state)
{
	unsigned int v;
	char buf[8];

	(void)state;
	assert_string_equal(pw_verdict_name(PW_VERDICT_AUDIT), "audit");
	assert_int_equal(pw_verdict_parse("drop", &v), 0);
	assert_int_equal(v, PW_VERDICT_DROP);
	assert_int_equal(pw_verdict_parse("deny", &v), -EINVAL);
	assert_string_equal(pw_dir_name(PW_DIR_EGRESS), "egress");
	assert_string_equal(pw_hook_name(PW_HOOK_UPLINK), "uplink");
	assert_string_equal(pw_proto_word(132, buf, sizeof(buf)), "sctp");
	assert_string_equal(pw_proto_word(47, buf, sizeof(buf)), "47");
}

static void test_addr(void **state)
{
	union pw_addr a;
	char buf[INET6_ADDRSTRLEN];

	(void)state;
	assert_int_equal(pw_addr_parse("10.1.2.3", &a, NULL), 0);
	assert_int_equal(a.w[2], htonl(0xffff));
	assert_string_equal(pw_addr_str(&a, buf, sizeof(buf)), "10.1.2.3");
	assert_int_equal(pw_addr_parse("fd00::1", &a, NULL), 0);
	assert_string_equal(pw_addr_str(&a, buf, sizeof(buf)), "fd00::1");
	assert_int_equal(pw_addr_parse("10.1.2", &a, NULL), -EINVAL);
	assert_int_equal(pw_addr_parse("", &a, NULL), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_reason_named_and_reversible),
		cmocka_unit_test(test_verdicts_dirs_protos),
		cmocka_unit_test(test_addr),
	};

	return cmocka_run_group_tests_name("names", tests, NULL, NULL);
}
