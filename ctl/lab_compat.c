// SPDX-License-Identifier: MIT
/*
 * Weak stand-ins for the shared podwallctl helpers (ctl/output.c, ctl/main.c)
 * while they are not on this branch, so the lab links and can be tested on
 * its own.  The real definitions override these; delete this file once
 * ctl/output.c is merged.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "podwallctl.h"

__attribute__((weak)) bool pw_json;
__attribute__((weak)) bool pw_pretty;
__attribute__((weak)) bool pw_color;

__attribute__((weak)) bool pw_is_prefix(const char *arg, const char *full)
{
	size_t n = strlen(arg);

	return n > 0 && !strncmp(arg, full, n);
}

__attribute__((weak)) void pw_json_print(json_t *v)
{
	char *s = json_dumps(v, pw_pretty ? JSON_INDENT(2) : JSON_COMPACT);

	if (s)
		puts(s);
	free(s);
	json_decref(v);
}

__attribute__((weak)) int pw_error(int code, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (pw_json)
		pw_json_print(json_pack("{s:s}", "error", msg));
	else
		fprintf(stderr, "podwallctl: %s\n", msg);
	return code;
}

__attribute__((weak)) int pw_cmd_select(const struct pw_cmd *cmds, int argc, char **argv,
					const char *object, void (*help_fn)(void))
{
	const struct pw_cmd *hit = NULL;

	if (argc < 1 || !strcmp(argv[0], "help") || !strcmp(argv[0], "--help") ||
	    !strcmp(argv[0], "-h")) {
		help_fn();
		return PW_EXIT_OK;
	}
	for (const struct pw_cmd *c = cmds; c->name; c++) {
		if (!strcmp(argv[0], c->name)) {
			hit = c;
			break;
		}
		if (pw_is_prefix(argv[0], c->name)) {
			if (hit)
				return pw_error(PW_EXIT_USAGE, "%s: ambiguous command '%s'", object,
						argv[0]);
			hit = c;
		}
	}
	if (!hit) {
		pw_error(PW_EXIT_USAGE, "%s: unknown command '%s'", object, argv[0]);
		if (!pw_json)
			help_fn();
		return PW_EXIT_USAGE;
	}
	return hit->fn(argc - 1, argv + 1);
}
