// SPDX-License-Identifier: MIT
#include <bpf/bpf.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "caps.h"

static int has_cap(cap_value_t c)
{
	cap_t caps = cap_get_proc();
	cap_flag_value_t v = CAP_CLEAR;

	cap_get_flag(caps, c, CAP_EFFECTIVE, &v);
	cap_free(caps);
	return v == CAP_SET;
}

/* Dropping is irreversible, so it happens in a child; the child reports
 * which check failed through its exit status. */
static int child(bool keep_sys_admin)
{
	int held, fd;
	uint32_t k = 0;
	uint64_t v = 1;

	held = bpf_map_create(BPF_MAP_TYPE_ARRAY, "pwtest_held", 4, 8, 1, NULL);
	if (held < 0)
		return 10;
	if (pw_caps_drop(keep_sys_admin))
		return 11;
	if (!has_cap(CAP_BPF) || !has_cap(CAP_NET_ADMIN))
		return 12;
	if (has_cap(CAP_SYS_ADMIN) != keep_sys_admin)
		return 13;
	if (has_cap(CAP_DAC_OVERRIDE) || has_cap(CAP_SYS_MODULE) || has_cap(CAP_SETPCAP))
		return 14;
	/* what the running daemon does: update through a held fd, create maps */
	if (bpf_map_update_elem(held, &k, &v, 0))
		return 15;
	fd = bpf_map_create(BPF_MAP_TYPE_HASH, "pwtest_new", 4, 8, 4, NULL);
	if (fd < 0)
		return 16;
	return 0;
}

static void run(bool keep)
{
	pid_t pid;
	int st;

	if (geteuid() != 0 || !has_cap(CAP_SYS_ADMIN))
		skip();
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(child(keep));
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	if (WEXITSTATUS(st) == 10)
		skip(); /* no BPF here at all */
	assert_int_equal(WEXITSTATUS(st), 0);
}

static void test_drop_keeps_bpf_and_net_admin(void **state)
{
	(void)state;
	run(false);
}

static void test_drop_keeping_sys_admin(void **state)
{
	(void)state;
	run(true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_drop_keeps_bpf_and_net_admin),
		cmocka_unit_test(test_drop_keeping_sys_admin),
	};

	return cmocka_run_group_tests_name("caps", tests, NULL, NULL);
}
