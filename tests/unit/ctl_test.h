/* SPDX-License-Identifier: MIT */
/*
 * Test support for podwallctl sources: the ctl sources are not in libpodwall.a, so a
 * test includes the sources it exercises and this header, which supplies
 * the output interface of ctl/podwallctl.h (owned by ctl/main.c and
 * ctl/output.c) in a form tests can inspect: the last JSON printed and the
 * last error are kept, and stdout can be captured.
 */
#ifndef PODWALL_CTL_TEST_H
#define PODWALL_CTL_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "../../ctl/podwallctl.h"

bool pw_json;
bool pw_pretty;
bool pw_color;
const char *pw_socket_path = "/nonexistent/podwalld.sock";
const char *pw_bpffs_dir = "/nonexistent/podwall";

static json_t *t_last_json; /* every pw_json_print() call appends to t_printed */
static json_t *t_printed;
static int t_last_err_code = -1;
static char t_last_err[1024];

int pw_error(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(t_last_err, sizeof(t_last_err), fmt, ap);
	va_end(ap);
	t_last_err_code = code;
	if (pw_json) {
		json_t *e = json_pack("{s:s}", "error", t_last_err);

		json_decref(t_last_json);
		t_last_json = e;
	}
	return code;
}

void pw_json_print(json_t *v)
{
	if (!t_printed)
		t_printed = json_array();
	json_array_append(t_printed, v);
	json_decref(t_last_json);
	t_last_json = v;
}

bool pw_is_prefix(const char *arg, const char *full)
{
	return *arg && !strncmp(arg, full, strlen(arg));
}

int pw_cmd_select(const struct pw_cmd *cmds, int argc, char **argv, const char *object,
		  void (*help_fn)(void))
{
	const struct pw_cmd *hit = NULL;

	(void)object;
	if (argc < 1 || !strcmp(argv[0], "help")) {
		if (help_fn)
			help_fn();
		return PW_EXIT_OK;
	}
	for (const struct pw_cmd *c = cmds; c->name; c++) {
		if (!strcmp(argv[0], c->name))
			return c->fn(argc - 1, argv + 1);
		if (pw_is_prefix(argv[0], c->name)) {
			if (hit)
				return PW_EXIT_USAGE;
			hit = c;
		}
	}
	return hit ? hit->fn(argc - 1, argv + 1) : PW_EXIT_USAGE;
}

static void t_reset(void)
{
	json_decref(t_last_json);
	json_decref(t_printed);
	t_last_json = NULL;
	t_printed = NULL;
	t_last_err_code = -1;
	t_last_err[0] = 0;
	pw_json = false;
	pw_pretty = false;
	pw_color = false;
}

/* Capture stdout into a memfd between t_capture_start() and t_capture_end(). */
static int t_saved_stdout = -1;
static int t_memfd = -1;

static void t_capture_start(void)
{
	fflush(stdout);
	t_memfd = memfd_create("ctl-test-out", MFD_CLOEXEC);
	assert_true(t_memfd >= 0);
	t_saved_stdout = dup(STDOUT_FILENO);
	assert_true(t_saved_stdout >= 0);
	assert_true(dup2(t_memfd, STDOUT_FILENO) >= 0);
}

/* Returns a malloc'd string with what was printed. */
static char *t_capture_end(void)
{
	off_t len;
	char *s;

	fflush(stdout);
	dup2(t_saved_stdout, STDOUT_FILENO);
	close(t_saved_stdout);
	len = lseek(t_memfd, 0, SEEK_END);
	s = calloc(1, len + 1);
	assert_non_null(s);
	assert_int_equal(pread(t_memfd, s, len, 0), len);
	close(t_memfd);
	return s;
}

#endif
