// SPDX-License-Identifier: MIT
/*
 * podwalld — placeholder entry point. The real daemon (config, policy
 * compiler, loader, attach, server) is being written; this only answers
 * --help and --version so the build and packaging can be tested.
 */
#include <getopt.h>
#include <stdio.h>

#include "version.h"

static void usage(FILE *f)
{
	fprintf(f, "Usage: podwalld [OPTIONS]\n"
		   "\n"
		   "Kubernetes NetworkPolicy enforcer using eBPF on pod veths.\n"
		   "\n"
		   "  -h, --help       show this help and exit\n"
		   "  -V, --version    show the version and exit\n"
		   "\n"
		   "Note: this build is a placeholder; the daemon is not implemented yet.\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "hV", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("podwalld %s\n", pw_version());
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "podwalld: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	usage(stdout);
	return 0;
}
