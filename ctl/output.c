// SPDX-License-Identifier: MIT
/* podwallctl output helpers and command selection (see podwallctl.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "podwallctl.h"

bool pw_is_prefix(const char *arg, const char *full)
{
	size_t n = strlen(arg);

	return n && n <= strlen(full) && !strncmp(arg, full, n);
}

int pw_cmd_select(const struct pw_cmd *cmds, int argc, char **argv, const char *object,
		  void (*help_fn)(void))
{
	const struct pw_cmd *hit = NULL;
	int n_hits = 0, i;

	if (argc < 1 || !strcmp(argv[0], "help") || !strcmp(argv[0], "-h") ||
	    !strcmp(argv[0], "--help")) {
		if (help_fn)
			help_fn();
		return PW_EXIT_OK;
	}
	for (i = 0; cmds[i].name; i++) {
		if (!strcmp(argv[0], cmds[i].name)) {
			hit = &cmds[i];
			n_hits = 1;
			break;
		}
		if (pw_is_prefix(argv[0], cmds[i].name)) {
			hit = &cmds[i];
			n_hits++;
		}
	}
	if (n_hits == 1)
		return hit->fn(argc - 1, argv + 1);
	if (n_hits > 1)
		pw_error(PW_EXIT_USAGE, "%s%s'%s' is ambiguous", object ? object : "",
			 object ? ": " : "", argv[0]);
	else
		pw_error(PW_EXIT_USAGE, "%s%sunknown command '%s' (try '%s%shelp')",
			 object ? object : "", object ? ": " : "", argv[0], object ? object : "",
			 object ? " " : "");
	return PW_EXIT_USAGE;
}

int pw_error(int code, const char *fmt, ...)
{
	char *msg = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	if (pw_json) {
		json_t *o = json_object();

		json_object_set_new(o, "error", json_string(msg ? msg : "out of memory"));
		pw_json_print(o);
	} else {
		fprintf(stderr, "podwallctl: %s%s%s\n", pw_color ? "\033[1;31m" : "",
			msg ? msg : "out of memory", pw_color ? "\033[0m" : "");
	}
	free(msg);
	return code;
}

void pw_json_print(json_t *v)
{
	size_t flags = JSON_PRESERVE_ORDER | (pw_pretty ? JSON_INDENT(2) : JSON_COMPACT);

	if (!v)
		return;
	json_dumpf(v, stdout, flags);
	fputc('\n', stdout);
	fflush(stdout);
	json_decref(v);
}
