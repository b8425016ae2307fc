// SPDX-License-Identifier: MIT
/*
 * podwallctl lab: a network-namespace lab built from a policy directory.
 *
 *   lab up DIR      namespaces, veths, echo servers (and podwalld) for its pods
 *   lab probe       every pod pair and port: observed next to predicted
 *   lab show        what a lab is made of
 *   lab down        remove everything `up` made (also after a failed `up`)
 *
 * Everything the lab creates is named after --name (default "podwall") and
 * listed in /run/podwall/lab-<NAME>.json before it is created, so `down`
 * removes exactly that and nothing else.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lab.h"
#include "podwallctl.h"

#define DEFAULT_NAME "podwall"
/* podwalld start is BPF verification bound (~9 s on 2 busy cores today) */
#define DAEMON_READY_MS 30000
#define STOP_WAIT_MS 3000

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	interrupted = sig;
}

static void help_lab(void)
{
	fprintf(stdout,
		"Usage: podwallctl lab COMMAND [OPTIONS]\n"
		"\n"
		"A network-namespace lab built from a policy directory: one netns per pod,\n"
		"a node netns with no route out, echo servers on every container port, and\n"
		"optionally podwalld enforcing the policies on the pods' host veths.\n"
		"\n"
		"Commands:\n"
		"  up DIR [--name NAME] [--topology routed|bridge] [--services] [--force]\n"
		"         [--no-daemon] [--podwalld PATH]\n"
		"                   build the lab from DIR's Namespace and Pod objects\n"
		"  probe [--name NAME] [--ports LIST] [--pods LIST] [--family 4|6|both]\n"
		"        [--services] [--timeout-ms N] [--html FILE]\n"
		"                   probe every ordered pod pair and port; print the observed\n"
		"                   matrix next to the predicted one\n"
		"  show [--name NAME]\n"
		"                   what the lab is made of (pods, addresses, namespaces, PIDs)\n"
		"  down [--name NAME]\n"
		"                   stop the daemon and echo servers, delete the namespaces\n"
		"  help             this text; `podwallctl lab COMMAND help` for a command\n"
		"\n"
		"NAME defaults to \"%s\"; the node netns is NAME-node and pod namespaces\n"
		"are NAME-<namespace>-<pod>.  State: %s/lab-NAME.json.\n",
		DEFAULT_NAME, LAB_STATE_DIR);
}

static void help_up(void)
{
	fputs("Usage: podwallctl lab up DIR [OPTIONS]\n"
	      "\n"
	      "Build a lab from the Namespace and Pod objects of the YAML files in DIR.\n"
	      "Pods keep status.podIP/podIPs; pods without one get an address from\n"
	      "10.250.0.0/16 (routed) or the bridge subnet, which is reported.\n"
	      "\n"
	      "  -n, --name NAME          lab name (default podwall; [A-Za-z0-9_-], at most 24)\n"
	      "  -t, --topology T         routed (default: /32 per pod, gateway 169.254.1.1 and\n"
	      "                           fe80::1, proxy ARP) or bridge (a bridge pwbr0 with a\n"
	      "                           gateway in the pods' /24 and /64)\n"
	      "  -s, --services           give each pod a ClusterIP-style address (10.96.0.0/16,\n"
	      "                           fd00:0:96::/112) DNATed to it by nftables in the node\n"
	      "  -f, --force              replace a lab of the same name\n"
	      "      --no-daemon          do not start podwalld (no enforcement)\n"
	      "      --podwalld PATH      the daemon to start (default: next to podwallctl,\n"
	      "                           then $PATH); it runs in the node netns with\n"
	      "                           --bpffs /sys/fs/bpf/NAME --socket "
	      "/run/podwall/NAME.sock\n",
	      stdout);
}

static void help_probe(void)
{
	fputs("Usage: podwallctl lab probe [OPTIONS]\n"
	      "\n"
	      "Probe every ordered pair of distinct pods on each port, from inside the\n"
	      "source pod: TCP counts when connect() completes, UDP when a reply comes\n"
	      "back.  A refusal (RST, port unreachable) is \"refused\": the network let the\n"
	      "flow through but no server listens; it agrees with an \"allowed\" prediction.\n"
	      "Prints the observed matrix next to the predicted one, per port, protocol\n"
	      "and address family; differences are marked.\n"
	      "With -j: [{\"src\",\"dst\",\"port\",\"proto\",\"observed\" (connected),\n"
	      "\"reachable\" (connected or refused), \"result\" (connected, refused, timeout,\n"
	      "error), \"predicted\",...}].\n"
	      "\n"
	      "  -n, --name NAME          lab name (default podwall)\n"
	      "  -P, --ports LIST         e.g. 80/tcp,81/udp,53 (protocol defaults to tcp);\n"
	      "                           default: each destination's container ports\n"
	      "  -p, --pods LIST          only pairs of these pods, e.g. x/a,y/b (default all)\n"
	      "  -F, --family F           4, 6 or both (default both, where both pods have it)\n"
	      "  -s, --services           probe the service addresses (lab up --services)\n"
	      "  -T, --timeout-ms N       per attempt, one retry on a timeout (default 400)\n"
	      "  -H, --html FILE          also write a self-contained HTML report\n",
	      stdout);
}

static void help_down(void)
{
	fputs("Usage: podwallctl lab down [--name NAME]\n"
	      "\n"
	      "Stop the lab's podwalld (SIGTERM, then podwalld --uninstall) and echo servers\n"
	      "(by their recorded PIDs only), delete its namespaces (with the veths, bridge\n"
	      "and nftables table inside them) and its state file.  Works after a failed\n"
	      "or interrupted `lab up` as well.\n",
	      stdout);
}

static void help_show(void)
{
	fputs("Usage: podwallctl lab show [--name NAME]\n"
	      "\n"
	      "Print the lab's pods, namespaces, addresses and processes.\n",
	      stdout);
}

static bool wants_help(int argc, char **argv)
{
	for (int i = 0; i < argc; i++)
		if (!strcmp(argv[i], "help") || !strcmp(argv[i], "--help") ||
		    !strcmp(argv[i], "-h"))
			return true;
	return false;
}

/* ---- stopping processes we started (by recorded PID and start time only) ---- */

static void stop_pid(pid_t pid, long long start, const char *what)
{
	int st;

	if (!lab_pid_is(pid, start))
		return;
	kill(pid, SIGTERM);
	for (int waited = 0; waited < STOP_WAIT_MS; waited += 20) {
		/* our child when `up` fails: reap it, or it stays a zombie */
		if (waitpid(pid, &st, WNOHANG) == pid || !lab_pid_is(pid, start))
			return;
		usleep(20000);
	}
	fprintf(stderr, "lab: %s (pid %d) ignored SIGTERM; killing it\n", what, (int)pid);
	kill(pid, SIGKILL);
	waitpid(pid, &st, WNOHANG);
}

static void daemon_uninstall(const struct lab *lab)
{
	char *argv[] = { (char *)lab->daemon_path, "--uninstall", "--bpffs", (char *)lab->bpffs,
			 NULL };

	if (!lab->daemon_path[0] || !lab->bpffs[0] || access(lab->daemon_path, X_OK))
		return;
	if (lab_run_in(lab_netns_exists(lab->node_ns) ? lab->node_ns : "", NULL, argv))
		fprintf(stderr, "lab: %s --uninstall --bpffs %s failed\n", lab->daemon_path,
			lab->bpffs);
	rmdir(lab->bpffs); /* only if podwalld left it empty */
}

/* Undo everything recorded in lab; returns the number of leftovers. */
static int lab_teardown(struct lab *lab, bool verbose)
{
	int left;

	signal(SIGINT, SIG_IGN); /* finish cleaning up, whatever happens */
	signal(SIGTERM, SIG_IGN);
	if (lab->daemon_pid) {
		stop_pid(lab->daemon_pid, lab->daemon_start, "podwalld");
		lab->daemon_pid = 0;
	}
	daemon_uninstall(lab);
	for (int i = 0; i < lab->n_pods; i++) {
		if (lab->pods[i].server_pid)
			stop_pid(lab->pods[i].server_pid, lab->pods[i].server_start, "echo server");
		lab->pods[i].server_pid = 0;
	}
	left = lab_net_down(lab, verbose);
	if (left == 0) {
		char log[512];

		snprintf(log, sizeof(log), LAB_STATE_DIR "/lab-%s-podwalld.log", lab->name);
		unlink(log);
		lab_state_remove(lab->name);
	}
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	return left;
}

/* ---- the daemon ---- */

static int find_podwalld(const char *given, char *out, size_t len)
{
	char self[PATH_MAX];
	ssize_t n;

	if (given) {
		if (access(given, X_OK))
			return -errno;
		if (!realpath(given, out))
			snprintf(out, len, "%s", given);
		return 0;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		char *slash;

		self[n] = 0;
		slash = strrchr(self, '/');
		if (slash) {
			*slash = 0;
			if (strlen(self) + 10 < len) {
				memcpy(out, self, strlen(self));
				memcpy(out + strlen(self), "/podwalld", 10);
			}
			if (strlen(self) + 10 < len && !access(out, X_OK))
				return 0;
		}
	}
	{
		const char *path = getenv("PATH");
		char *copy = strdup(path ? path : "/usr/sbin:/usr/bin:/sbin:/bin"), *save = NULL;

		for (char *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
			snprintf(out, len, "%s/podwalld", d);
			if (!access(out, X_OK)) {
				free(copy);
				return 0;
			}
		}
		free(copy);
	}
	return -ENOENT;
}

static bool socket_ready(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool ok;

	if (fd < 0)
		return false;
	if (lab_strlcpy(sa.sun_path, path, sizeof(sa.sun_path)) >= sizeof(sa.sun_path)) {
		close(fd);
		return false;
	}
	ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return ok;
}

static int daemon_start(struct lab *lab, char *err, size_t errlen)
{
	char logpath[512], svc[64] = "";
	char *argv[16];
	int argc = 0, st;
	pid_t pid;

	snprintf(lab->bpffs, sizeof(lab->bpffs), "/sys/fs/bpf/%s", lab->name);
	snprintf(lab->socket, sizeof(lab->socket), LAB_STATE_DIR "/%s.sock", lab->name);
	snprintf(logpath, sizeof(logpath), LAB_STATE_DIR "/lab-%s-podwalld.log", lab->name);
	argv[argc++] = lab->daemon_path;
	argv[argc++] = "--policy-dir";
	argv[argc++] = lab->dir;
	argv[argc++] = "--bpffs";
	argv[argc++] = lab->bpffs;
	argv[argc++] = "--socket";
	argv[argc++] = lab->socket;
	if (lab->services) {
		snprintf(svc, sizeof(svc), "10.96.0.0/16,fd00:0:96::/112");
		argv[argc++] = "--service-cidr";
		argv[argc++] = svc;
	}
	argv[argc] = NULL;
	lab_state_save(lab); /* the paths, before anything can be left behind */

	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		char nspath[256];
		int fd, log;

		setsid();
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		snprintf(nspath, sizeof(nspath), "/run/netns/%s", lab->node_ns);
		fd = open(nspath, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || setns(fd, CLONE_NEWNET))
			_exit(126);
		log = open(logpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (fd >= 0)
			dup2(fd, 0);
		if (log >= 0) {
			dup2(log, 1);
			dup2(log, 2);
		}
		execv(lab->daemon_path, argv);
		_exit(127);
	}
	lab->daemon_pid = pid;
	lab->daemon_start = lab_pid_start_time(pid);
	lab_state_save(lab);
	for (int waited = 0; waited < DAEMON_READY_MS; waited += 50) {
		if (waitpid(pid, &st, WNOHANG) == pid) {
			lab->daemon_pid = 0;
			snprintf(err, errlen,
				 "podwalld exited (%s %d) before it was ready; its log: %s",
				 WIFEXITED(st) ? "status" : "signal",
				 WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st), logpath);
			return -EIO;
		}
		if (socket_ready(lab->socket))
			return 0;
		if (interrupted)
			break;
		usleep(50000);
	}
	if (interrupted) {
		snprintf(err, errlen, "interrupted by signal %d", (int)interrupted);
		return -EINTR;
	}
	snprintf(err, errlen, "podwalld did not become ready within %d ms (socket %s; log %s)",
		 DAEMON_READY_MS, lab->socket, logpath);
	return -ETIMEDOUT;
}

/* ---- up ---- */

static void print_up(const struct lab *lab, bool daemon_skipped, const char *daemon_note)
{
	char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];

	if (pw_json) {
		pw_json_print(lab_state_json(lab));
		return;
	}
	printf("lab %s is up: %s topology, node netns %s, %d pods\n", lab->name,
	       lab->topology == LAB_BRIDGE ? "bridge" : "routed", lab->node_ns, lab->n_pods);
	for (int i = 0; i < lab->n_pods; i++) {
		const struct lab_pod *p = &lab->pods[i];
		char label[400], addrs[200] = "", ports[400] = "";

		snprintf(label, sizeof(label), "%s/%s", p->ns, p->name);
		if (p->has4)
			snprintf(addrs, sizeof(addrs), "%s%s",
				 inet_ntop(AF_INET, &p->a4, a, sizeof(a)),
				 p->alloc4 ? "(allocated)" : "");
		if (p->has6)
			snprintf(addrs + strlen(addrs), sizeof(addrs) - strlen(addrs), " %s",
				 inet_ntop(AF_INET6, &p->a6, b, sizeof(b)));
		if (p->has_svc4 || p->has_svc6)
			snprintf(addrs + strlen(addrs), sizeof(addrs) - strlen(addrs),
				 " svc %s%s%s",
				 p->has_svc4 ? inet_ntop(AF_INET, &p->svc4, a, sizeof(a)) : "",
				 p->has_svc6 ? " " : "",
				 p->has_svc6 ? inet_ntop(AF_INET6, &p->svc6, b, sizeof(b)) : "");
		for (int j = 0; j < p->n_ports; j++)
			snprintf(ports + strlen(ports), sizeof(ports) - strlen(ports), "%s%u/%s",
				 j ? "," : "", p->ports[j].port, lab_proto_name(p->ports[j].proto));
		printf("  %-28s %-26s %-10s %-40s %s\n", label, p->netns, p->veth, addrs,
		       ports[0] ? ports : "(no ports)");
	}
	if (lab->daemon_pid)
		printf("podwalld: pid %d, socket %s, bpffs %s\n", (int)lab->daemon_pid, lab->socket,
		       lab->bpffs);
	else if (daemon_skipped)
		printf("podwalld: not started (--no-daemon)\n");
	else
		printf("podwalld: not started: %s\n", daemon_note);
	printf("next: podwallctl lab probe%s%s; podwallctl lab down%s%s\n",
	       strcmp(lab->name, DEFAULT_NAME) ? " --name " : "",
	       strcmp(lab->name, DEFAULT_NAME) ? lab->name : "",
	       strcmp(lab->name, DEFAULT_NAME) ? " --name " : "",
	       strcmp(lab->name, DEFAULT_NAME) ? lab->name : "");
}

/* Remove a lab of this name: from its state file, or (no state file) the
 * namespaces that carry its names.  0 when nothing is left. */
static int remove_lab(const char *name, bool verbose);

static int cmd_up(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "topology", required_argument, NULL, 't' },
		{ "services", no_argument, NULL, 's' },
		{ "force", no_argument, NULL, 'f' },
		{ "no-daemon", no_argument, NULL, 'D' },
		{ "podwalld", required_argument, NULL, 'W' },
		{ NULL, 0, NULL, 0 },
	};
	const char *name = DEFAULT_NAME, *podwalld = NULL, *dir = NULL;
	struct lab lab = { 0 };
	char err[1024] = "", daemon_note[256] = "";
	bool force = false, no_daemon = false, sctp_missing = false;
	struct sigaction sa = { .sa_handler = on_signal };
	char statepath[512], node[LAB_NETNS_MAX + 8];
	int c, r;

	if (wants_help(argc, argv)) {
		help_up();
		return PW_EXIT_OK;
	}
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc + 1, argv - 1, "n:t:sf", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			name = optarg;
			break;
		case 't':
			if (pw_is_prefix(optarg, "routed"))
				lab.topology = LAB_ROUTED;
			else if (pw_is_prefix(optarg, "bridge"))
				lab.topology = LAB_BRIDGE;
			else
				return pw_error(PW_EXIT_USAGE,
						"lab up: --topology is routed or bridge, not '%s'",
						optarg);
			break;
		case 's':
			lab.services = true;
			break;
		case 'f':
			force = true;
			break;
		case 'D':
			no_daemon = true;
			break;
		case 'W':
			podwalld = optarg;
			break;
		default:
			return pw_error(PW_EXIT_USAGE, "lab up: bad option (see `lab up help`)");
		}
	}
	for (int i = optind - 1; i < argc; i++) {
		if (dir)
			return pw_error(PW_EXIT_USAGE, "lab up: unexpected argument '%s'", argv[i]);
		dir = argv[i];
	}
	if (!dir)
		return pw_error(PW_EXIT_USAGE, "lab up: which policy directory? (lab up DIR)");
	if (!lab_name_valid(name))
		return pw_error(PW_EXIT_USAGE,
				"lab up: bad --name '%s' (letters, digits, '-', '_'; at most %d)",
				name, LAB_NAME_MAX);
	if (geteuid() != 0)
		return pw_error(PW_EXIT_FAIL, "lab up: needs root (it creates network namespaces)");

	snprintf(lab.name, sizeof(lab.name), "%s", name);
	lab_state_path(name, statepath, sizeof(statepath));
	snprintf(node, sizeof(node), "%s-node", name);
	if (!access(statepath, F_OK) || lab_netns_exists(node)) {
		if (!force)
			return pw_error(PW_EXIT_FAIL,
					"lab %s already exists; `podwallctl lab down --name %s` "
					"first, or lab up --force to replace it",
					name, name);
		if (remove_lab(name, false))
			return pw_error(PW_EXIT_FAIL, "lab %s: could not remove the old lab", name);
	}

	r = lab_spec_load(&lab, dir, err, sizeof(err));
	if (!r)
		r = lab_spec_plan(&lab, err, sizeof(err));
	if (r) {
		lab_free(&lab);
		return pw_error(PW_EXIT_FAIL, "lab up: %s", err);
	}
	for (int i = 0; i < lab.n_pods; i++)
		for (int j = 0; j < lab.pods[i].n_ports; j++)
			sctp_missing |= lab.pods[i].ports[j].proto == IPPROTO_SCTP;
	if (sctp_missing && !lab_have_sctp())
		fprintf(stderr, "lab: this kernel has no SCTP sockets: SCTP ports get no echo "
				"server and are not probed\n");
	for (int i = 0; i < lab.n_pods; i++) {
		char a[INET_ADDRSTRLEN];

		if (lab.pods[i].alloc4 && !pw_json)
			fprintf(stderr,
				"lab: Pod %s/%s has no status.podIP: allocated %s (podwalld and "
				"the "
				"prediction only know addresses written in the YAML)\n",
				lab.pods[i].ns, lab.pods[i].name,
				inet_ntop(AF_INET, &lab.pods[i].a4, a, sizeof(a)));
	}

	/* record every name before creating anything: `down` must find it all */
	snprintf(lab.status, sizeof(lab.status), "building");
	r = lab_state_save(&lab);
	if (r) {
		lab_free(&lab);
		return pw_error(PW_EXIT_FAIL, "lab up: cannot write %s: %s", statepath,
				strerror(-r));
	}
	interrupted = 0;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	r = lab_net_up(&lab, err, sizeof(err));
	lab_state_save(&lab); /* nft_table */
	for (int i = 0; i < lab.n_pods && !r && !interrupted; i++) {
		r = lab_serve_start(&lab, i, err, sizeof(err));
		lab_state_save(&lab);
	}
	if (!r && !interrupted && !no_daemon) {
		int f = find_podwalld(podwalld, lab.daemon_path, sizeof(lab.daemon_path));

		if (f && podwalld) {
			snprintf(err, sizeof(err), "--podwalld %s: %s", podwalld, strerror(-f));
			r = f;
		} else if (f) {
			lab.daemon_path[0] = 0;
			snprintf(daemon_note, sizeof(daemon_note),
				 "podwalld not found next to podwallctl or in $PATH (the lab runs "
				 "without enforcement; --podwalld PATH, or --no-daemon to say so)");
			fprintf(stderr, "lab: %s\n", daemon_note);
		} else {
			r = daemon_start(&lab, err, sizeof(err));
		}
	}
	if (!r && interrupted)
		snprintf(err, sizeof(err), "interrupted by signal %d", (int)interrupted),
			r = -EINTR;
	if (r) {
		int left = lab_teardown(&lab, false);

		if (left)
			fprintf(stderr,
				"lab: %d namespaces could not be removed; run `podwallctl lab "
				"down --name %s`\n",
				left, lab.name);
		lab_free(&lab);
		return pw_error(PW_EXIT_FAIL, "lab up: %s (everything built was removed)", err);
	}
	snprintf(lab.status, sizeof(lab.status), "up");
	lab_state_save(&lab);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	print_up(&lab, no_daemon, daemon_note);
	lab_free(&lab);
	return PW_EXIT_OK;
}

/* ---- down ---- */

/* Is netns `ns` listed by the state file of a lab other than `name`? */
static bool claimed_by_other_lab(const char *ns, const char *name)
{
	char dirpath[512], *slash;
	struct dirent *de;
	bool claimed = false;
	DIR *d;

	lab_state_path("x", dirpath, sizeof(dirpath));
	slash = strrchr(dirpath, '/');
	if (slash)
		*slash = 0;
	d = opendir(dirpath);
	if (!d)
		return false;
	while (!claimed && (de = readdir(d))) {
		char other[LAB_NAME_MAX + 1], err[256];
		size_t l = strlen(de->d_name);
		struct lab ol;

		if (strncmp(de->d_name, "lab-", 4) || l < 10 ||
		    strcmp(de->d_name + l - 5, ".json") || l - 9 > LAB_NAME_MAX)
			continue;
		snprintf(other, sizeof(other), "%.*s", (int)(l - 9), de->d_name + 4);
		if (!strcmp(other, name) || lab_state_load(other, &ol, err, sizeof(err)))
			continue;
		claimed = !strcmp(ol.node_ns, ns);
		for (int i = 0; i < ol.n_pods && !claimed; i++)
			claimed = !strcmp(ol.pods[i].netns, ns);
		lab_free(&ol);
	}
	closedir(d);
	return claimed;
}

static int remove_lab(const char *name, bool verbose)
{
	char err[1024];
	struct lab lab;
	int r = lab_state_load(name, &lab, err, sizeof(err));

	if (r == 0) {
		r = lab_teardown(&lab, verbose);
		lab_free(&lab);
		return r;
	}
	if (r != -ENOENT) {
		fprintf(stderr, "lab: %s\n", err);
		return 1;
	}
	/* no state file: the namespaces named NAME-node and NAME-*, unless
	 * another lab's state file claims them */
	{
		DIR *d = opendir("/run/netns");
		struct dirent *de;
		struct lab fake = { 0 };
		size_t nl = strlen(name);
		int cap = 0;

		snprintf(fake.name, sizeof(fake.name), "%s", name);
		snprintf(fake.node_ns, sizeof(fake.node_ns), "%s-node", name);
		if (!lab_netns_exists(fake.node_ns) || !d) {
			if (d)
				closedir(d);
			return 0; /* nothing of ours */
		}
		fake.pods = calloc(LAB_MAX_PODS, sizeof(*fake.pods));
		while (fake.pods && (de = readdir(d)) && cap < LAB_MAX_PODS) {
			if (strncmp(de->d_name, name, nl) || de->d_name[nl] != '-' ||
			    !strcmp(de->d_name, fake.node_ns) ||
			    strlen(de->d_name) > LAB_NETNS_MAX ||
			    claimed_by_other_lab(de->d_name, name))
				continue;
			lab_strlcpy(fake.pods[cap++].netns, de->d_name, sizeof(fake.pods[0].netns));
		}
		closedir(d);
		fake.n_pods = cap;
		r = lab_net_down(&fake, verbose);
		free(fake.pods);
		return r;
	}
}

static const char *opt_name(int argc, char **argv, int *ret_status, const char *cmd)
{
	static const struct option opts[] = {
		{ "name", required_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	const char *name = DEFAULT_NAME;
	int c;

	*ret_status = 0;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc + 1, argv - 1, "n:", opts, NULL)) != -1) {
		if (c != 'n') {
			*ret_status = pw_error(PW_EXIT_USAGE,
					       "lab %s: bad option (see `lab %s help`)", cmd, cmd);
			return NULL;
		}
		name = optarg;
	}
	if (optind - 1 < argc) {
		*ret_status = pw_error(PW_EXIT_USAGE, "lab %s: unexpected argument '%s'", cmd,
				       argv[optind - 1]);
		return NULL;
	}
	if (!lab_name_valid(name)) {
		*ret_status = pw_error(PW_EXIT_USAGE, "lab %s: bad --name '%s'", cmd, name);
		return NULL;
	}
	return name;
}

static int cmd_down(int argc, char **argv)
{
	const char *name;
	char statepath[512], node[LAB_NETNS_MAX + 8];
	int st, left;

	if (wants_help(argc, argv)) {
		help_down();
		return PW_EXIT_OK;
	}
	name = opt_name(argc, argv, &st, "down");
	if (!name)
		return st;
	if (geteuid() != 0)
		return pw_error(PW_EXIT_FAIL, "lab down: needs root");
	lab_state_path(name, statepath, sizeof(statepath));
	snprintf(node, sizeof(node), "%s-node", name);
	if (access(statepath, F_OK) && !lab_netns_exists(node))
		return pw_error(PW_EXIT_FAIL, "no lab named '%s'", name);
	left = remove_lab(name, !pw_json);
	if (left)
		return pw_error(PW_EXIT_FAIL, "lab %s: %d namespaces could not be removed", name,
				left);
	if (pw_json)
		pw_json_print(json_pack("{s:s,s:s}", "name", name, "status", "down"));
	else
		printf("lab %s is down\n", name);
	return PW_EXIT_OK;
}

/* ---- probe ---- */

static int parse_ports(const char *list, struct lab_port **ret, int *ret_n)
{
	char *copy = strdup(list), *save = NULL;
	struct lab_port *v = calloc(LAB_MAX_PORTS, sizeof(*v));
	int n = 0, r = 0;

	if (!copy || !v) {
		r = -ENOMEM;
		goto out;
	}
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *slash = strchr(tok, '/'), *end;
		long port;

		if (n >= LAB_MAX_PORTS) {
			r = -E2BIG;
			goto out;
		}
		if (slash)
			*slash = 0;
		port = strtol(tok, &end, 10);
		if (*end || port < 1 || port > 65535) {
			r = -EINVAL;
			goto out;
		}
		v[n].port = (uint16_t)port;
		v[n].proto = IPPROTO_TCP;
		if (slash && lab_proto_parse(slash + 1, &v[n].proto)) {
			r = -EINVAL;
			goto out;
		}
		n++;
	}
	if (n == 0)
		r = -EINVAL;
out:
	free(copy);
	if (r) {
		free(v);
		return r;
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

/* select_pods: "ns/name,ns/name" -> sel[i] for lab->pods[i]; an unknown pod is an error */
static int select_pods(const struct lab *lab, const char *list, bool *sel, char *err, size_t errlen)
{
	const char *p = list;

	memset(sel, 0, sizeof(bool) * LAB_MAX_PODS);
	while (*p) {
		size_t len = strcspn(p, ",");
		int found = -1;

		for (int i = 0; i < lab->n_pods && found < 0; i++) {
			const struct lab_pod *q = &lab->pods[i];
			size_t nl = strlen(q->ns);

			if (len == nl + 1 + strlen(q->name) && !strncmp(p, q->ns, nl) &&
			    p[nl] == '/' && !strncmp(p + nl + 1, q->name, len - nl - 1))
				found = i;
		}
		if (found < 0) {
			snprintf(err, errlen, "--pods: no pod '%.*s' in lab %s (want ns/name,...)",
				 (int)(len > 200 ? 200 : len), p, lab->name);
			return -ENOENT;
		}
		sel[found] = true;
		p += len;
		if (*p == ',')
			p++;
	}
	return 0;
}

static int cmd_probe(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "ports", required_argument, NULL, 'P' },
		{ "pods", required_argument, NULL, 'p' },
		{ "family", required_argument, NULL, 'F' },
		{ "services", no_argument, NULL, 's' },
		{ "timeout-ms", required_argument, NULL, 'T' },
		{ "html", required_argument, NULL, 'H' },
		{ NULL, 0, NULL, 0 },
	};
	struct lab_probe_opts o = { .timeout_ms = 400 };
	struct lab_port *ports = NULL;
	const char *name = DEFAULT_NAME, *pods = NULL;
	bool sel[LAB_MAX_PODS];
	char err[1024];
	struct lab lab;
	int c, r;

	if (wants_help(argc, argv)) {
		help_probe();
		return PW_EXIT_OK;
	}
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc + 1, argv - 1, "n:P:p:F:sT:H:", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			name = optarg;
			break;
		case 'p':
			pods = optarg;
			break;
		case 'P':
			free(ports);
			ports = NULL;
			if (parse_ports(optarg, &ports, &o.n_ports))
				return pw_error(
					PW_EXIT_USAGE,
					"lab probe: bad --ports '%s' (e.g. 80/tcp,81/udp; at "
					"most %d)",
					optarg, LAB_MAX_PORTS);
			break;
		case 'F':
			if (!strcmp(optarg, "4"))
				o.family = 4;
			else if (!strcmp(optarg, "6"))
				o.family = 6;
			else if (!strcmp(optarg, "both"))
				o.family = 0;
			else {
				free(ports);
				return pw_error(PW_EXIT_USAGE,
						"lab probe: --family is 4, 6 or both");
			}
			break;
		case 's':
			o.services = true;
			break;
		case 'T': {
			char *end;
			long v = strtol(optarg, &end, 10);

			if (*end || v < 10 || v > 60000) {
				free(ports);
				return pw_error(PW_EXIT_USAGE,
						"lab probe: --timeout-ms is 10..60000, not '%s'",
						optarg);
			}
			o.timeout_ms = (int)v;
			break;
		}
		case 'H':
			o.html = optarg;
			break;
		default:
			free(ports);
			return pw_error(PW_EXIT_USAGE,
					"lab probe: bad option (see `lab probe help`)");
		}
	}
	if (optind - 1 < argc) {
		free(ports);
		return pw_error(PW_EXIT_USAGE, "lab probe: unexpected argument '%s'",
				argv[optind - 1]);
	}
	if (!lab_name_valid(name)) {
		free(ports);
		return pw_error(PW_EXIT_USAGE, "lab probe: bad --name '%s'", name);
	}
	if (geteuid() != 0) {
		free(ports);
		return pw_error(PW_EXIT_FAIL,
				"lab probe: needs root (it enters the pods' namespaces)");
	}
	r = lab_state_load(name, &lab, err, sizeof(err));
	if (r) {
		free(ports);
		return pw_error(PW_EXIT_FAIL, "lab probe: %s", err);
	}
	if (strcmp(lab.status, "up")) {
		free(ports);
		lab_free(&lab);
		return pw_error(PW_EXIT_FAIL, "lab probe: lab %s is not up (status %s)", name,
				lab.status);
	}
	if (pods) {
		r = select_pods(&lab, pods, sel, err, sizeof(err));
		if (r) {
			free(ports);
			lab_free(&lab);
			return pw_error(PW_EXIT_USAGE, "lab probe: %s", err);
		}
		o.pods = sel;
	}
	o.ports = ports;
	r = lab_probe_run(&lab, &o);
	free(ports);
	lab_free(&lab);
	return r;
}

/* ---- show ---- */

static int cmd_show(int argc, char **argv)
{
	const char *name;
	char err[1024];
	struct lab lab;
	int st;

	if (wants_help(argc, argv)) {
		help_show();
		return PW_EXIT_OK;
	}
	name = opt_name(argc, argv, &st, "show");
	if (!name)
		return st;
	if (lab_state_load(name, &lab, err, sizeof(err)))
		return pw_error(PW_EXIT_FAIL, "lab show: %s", err);
	if (pw_json) {
		pw_json_print(lab_state_json(&lab));
	} else {
		printf("status: %s; dir %s\n", lab.status, lab.dir);
		print_up(&lab, !lab.daemon_path[0], "no daemon recorded");
	}
	lab_free(&lab);
	return PW_EXIT_OK;
}

static int cmd_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	help_lab();
	return PW_EXIT_OK;
}

int do_lab(int argc, char **argv)
{
	static const struct pw_cmd cmds[] = {
		{ "up", cmd_up, "up DIR      build the lab" },
		{ "probe", cmd_probe, "probe       observed vs predicted connectivity" },
		{ "show", cmd_show, "show        the lab's pods and processes" },
		{ "down", cmd_down, "down        remove the lab" },
		{ "help", cmd_help, "help        this text" },
		{ NULL, NULL, NULL },
	};

	/* hidden: the echo server lab up starts in each pod */
	if (argc > 0 && !strcmp(argv[0], "serve"))
		return lab_serve_main(argc - 1, argv + 1);
	return pw_cmd_select(cmds, argc, argv, "lab", help_lab);
}
