// SPDX-License-Identifier: MIT
/*
 * A stand-alone `podwallctl` that knows only the lab object, for testing the
 * lab before ctl/main.c (the dispatcher) is merged.  Built by
 * tests/lab/build-harness.sh; not part of the product.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "podwallctl.h"

int main(int argc, char **argv)
{
	int i = 1;

	pw_color = isatty(1) && !getenv("NO_COLOR");
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "-j"))
			pw_json = true;
		else if (!strcmp(argv[i], "-p"))
			pw_json = pw_pretty = true;
		else if (!strcmp(argv[i], "--no-color"))
			pw_color = false;
		else {
			fprintf(stderr, "harness: unknown option %s\n", argv[i]);
			return 2;
		}
	}
	if (i >= argc || !pw_is_prefix(argv[i], "lab")) {
		fprintf(stderr, "harness: only the lab object (podwallctl [-j] lab ...)\n");
		return 2;
	}
	return do_lab(argc - i - 1, argv + i + 1);
}
