/* SPDX-License-Identifier: MIT */
/* Run build/podwallctl (BUILD_DIR) and capture exit status, stdout, stderr.
 * #include after cmocka.h. */
#ifndef PODWALL_CTLTEST_H
#define PODWALL_CTLTEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char ctl_bin[512], ctl_data[512];
static char ctl_out[65536], ctl_err[65536];

static void ctl_init(void)
{
	const char *bd = getenv("BUILD_DIR"), *f = __FILE__, *slash = strrchr(f, '/');

	snprintf(ctl_bin, sizeof(ctl_bin), "%s/podwallctl", bd ? bd : "build");
	snprintf(ctl_data, sizeof(ctl_data), "%.*s/../data", slash ? (int)(slash - f) : 1,
		 slash ? f : ".");
}

static int ctl_setup(void **state)
{
	(void)state;
	ctl_init();
	return 0;
}

static void slurp(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");
	size_t n = f ? fread(buf, 1, len - 1, f) : 0;

	buf[n] = 0;
	if (f)
		fclose(f);
}

/* Runs podwallctl with `args` (shell words); returns its exit status. */
static int ctl_run(const char *args)
{
	char cmd[4096], o[64], e[64];
	int st;

	if (access(ctl_bin, X_OK))
		skip();
	snprintf(o, sizeof(o), "/tmp/pwctl-out-%d", (int)getpid());
	snprintf(e, sizeof(e), "/tmp/pwctl-err-%d", (int)getpid());
	snprintf(cmd, sizeof(cmd), "NO_COLOR=1 timeout 60 %s %s >%s 2>%s </dev/null", ctl_bin, args,
		 o, e);
	st = system(cmd);
	slurp(o, ctl_out, sizeof(ctl_out));
	slurp(e, ctl_err, sizeof(ctl_err));
	unlink(o);
	unlink(e);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

#endif
