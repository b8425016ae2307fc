// SPDX-License-Identifier: MIT
/*
 * podwallctl: podwallctl [OPTIONS] OBJECT COMMAND [ARGS]
 * Global options, then the object table; each object is ctl/cmd_<object>.c.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../daemon/version.h"
#include "podwallctl.h"

bool pw_json;
bool pw_pretty;
bool pw_color;
const char *pw_socket_path = "/run/podwall/podwalld.sock";
const char *pw_bpffs_dir = "/sys/fs/bpf/podwall";

static const struct pw_cmd objects[] = {
	{ "status", do_status, "status      mode, hook, generation, counts, attach state" },
	{ "endpoint", do_endpoint, "endpoint    list endpoints and their isolation" },
	{ "policy", do_policy, "policy      check a policy directory; list/show policies" },
	{ "counters", do_counters,
	  "counters    packets and bytes by endpoint, verdict, reason, rule" },
	{ "flows", do_flows, "flows       flow records (allowed and dropped)" },
	{ "trace", do_trace,
	  "trace       would SRC reach DST on PORT/PROTO, and which rule decides" },
	{ "metrics", do_metrics, "metrics     Prometheus text exposition" },
	{ "lab", do_lab, "lab         network-namespace lab from a policy directory" },
	{ NULL, NULL, NULL },
};

static void usage(FILE *f)
{
	int i;

	fprintf(f, "Usage: podwallctl [OPTIONS] OBJECT COMMAND [ARGS]\n"
		   "       podwallctl OBJECT help\n"
		   "\n"
		   "Objects (unambiguous prefixes accepted):\n");
	for (i = 0; objects[i].name; i++)
		fprintf(f, "  %s\n", objects[i].help);
	fprintf(f, "\n"
		   "Options:\n"
		   "  -j, --json          JSON output (errors too, as {\"error\": ...})\n"
		   "  -p, --pretty        indented JSON output (implies -j)\n"
		   "      --socket PATH   podwalld socket (default /run/podwall/podwalld.sock)\n"
		   "      --bpffs DIR     pinned maps directory (default /sys/fs/bpf/podwall)\n"
		   "      --no-color      no colour in text output\n"
		   "  -h, --help          show this help and exit\n"
		   "  -V, --version       show the version and exit\n"
		   "\n"
		   "Exit status: 0 success, 1 failure, 2 usage error.\n");
}

static void help_stdout(void)
{
	usage(stdout);
}

int main(int argc, char **argv)
{
	enum { OPT_SOCKET = 256, OPT_BPFFS, OPT_NO_COLOR };
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "pretty", no_argument, NULL, 'p' },
		{ "socket", required_argument, NULL, OPT_SOCKET },
		{ "bpffs", required_argument, NULL, OPT_BPFFS },
		{ "no-color", no_argument, NULL, OPT_NO_COLOR },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	bool no_color = getenv("NO_COLOR") != NULL;
	int c;

	/* '+': stop at the object name; later options belong to the command */
	while ((c = getopt_long(argc, argv, "+jphV", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			pw_json = true;
			break;
		case 'p':
			pw_json = true;
			pw_pretty = true;
			break;
		case OPT_SOCKET:
			pw_socket_path = optarg;
			break;
		case OPT_BPFFS:
			pw_bpffs_dir = optarg;
			break;
		case OPT_NO_COLOR:
			no_color = true;
			break;
		case 'h':
			usage(stdout);
			return PW_EXIT_OK;
		case 'V':
			if (pw_json) {
				json_t *o = json_object();

				json_object_set_new(o, "version", json_string(pw_version()));
				pw_json_print(o);
			} else {
				printf("podwallctl %s\n", pw_version());
			}
			return PW_EXIT_OK;
		default:
			usage(stderr);
			return PW_EXIT_USAGE;
		}
	}
	pw_color = !no_color && !pw_json && isatty(STDOUT_FILENO) && isatty(STDERR_FILENO);
	if (optind >= argc) {
		usage(stderr);
		return PW_EXIT_USAGE;
	}
	return pw_cmd_select(objects, argc - optind, argv + optind, NULL, help_stdout);
}
