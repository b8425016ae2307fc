// SPDX-License-Identifier: MIT
/*
 * Building and removing the lab's namespaces.
 *
 * Every command runs inside a namespace the lab created: a child process
 * enters it with setns() and runs `ip -batch -` (or nft, or writes a sysctl).
 * We never use `ip -n`/`ip netns exec`: they remount /sys in a private mount
 * namespace, which fails where / is not a mount point and hides the host's
 * bpffs.  Veth pairs are created inside the node namespace with their peer
 * moved straight into the pod namespace, so nothing ever appears in the
 * root namespace.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lab.h"

#define NETNS_RUN_DIR "/run/netns"

static int enter_netns(const char *ns)
{
	char path[256];
	int fd, r = 0;

	if (!ns || !*ns)
		return 0;
	snprintf(path, sizeof(path), NETNS_RUN_DIR "/%s", ns);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (setns(fd, CLONE_NEWNET))
		r = -errno;
	close(fd);
	return r;
}

bool lab_netns_exists(const char *ns)
{
	char path[256];

	snprintf(path, sizeof(path), NETNS_RUN_DIR "/%s", ns);
	return access(path, F_OK) == 0;
}

int lab_run_in(const char *ns, const char *input, char *const argv[])
{
	int pfd[2] = { -1, -1 }, status;
	pid_t pid;

	if (input && pipe2(pfd, O_CLOEXEC))
		return -errno;
	pid = fork();
	if (pid < 0) {
		int r = -errno;

		if (input) {
			close(pfd[0]);
			close(pfd[1]);
		}
		return r;
	}
	if (pid == 0) {
		if (enter_netns(ns))
			_exit(126);
		if (input)
			dup2(pfd[0], 0);
		else {
			int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

			if (fd >= 0)
				dup2(fd, 0);
		}
		dup2(2, 1);
		execvp(argv[0], argv);
		_exit(127);
	}
	if (input) {
		size_t len = strlen(input), off = 0;

		close(pfd[0]);
		signal(SIGPIPE, SIG_IGN);
		while (off < len) {
			ssize_t n = write(pfd[1], input + off, len - off);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			off += (size_t)n;
		}
		close(pfd[1]);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}

int lab_sysctl_in(const char *ns, const char *path, const char *value)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		char full[512];
		int fd;

		if (enter_netns(ns))
			_exit(1);
		snprintf(full, sizeof(full), "/proc/sys/%s", path);
		fd = open(full, O_WRONLY | O_CLOEXEC);
		if (fd < 0)
			_exit(2);
		if (write(fd, value, strlen(value)) != (ssize_t)strlen(value))
			_exit(3);
		_exit(0);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO;
}

bool lab_have_sctp(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_SCTP);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

long long lab_pid_start_time(pid_t pid)
{
	char path[64], buf[1024], *p;
	long long start = 0;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	p = strrchr(buf, ')'); /* comm may contain spaces */
	if (!p)
		return 0;
	/* ') ' is followed by field 3 (state); 20 spaces on is field 22 (starttime) */
	for (int field = 2; field < 22 && p; field++)
		p = strchr(p + 1, ' ');
	if (p)
		start = strtoll(p + 1, NULL, 10);
	return start;
}

bool lab_pid_is(pid_t pid, long long start_time)
{
	return pid > 1 && start_time > 0 && lab_pid_start_time(pid) == start_time;
}

/* ---- building ---- */

struct buf {
	char *s;
	size_t len, cap;
};

static void bprintf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void bprintf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? b->cap - b->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0)
			return;
		if (b->s && b->len + (size_t)n < b->cap) {
			b->len += (size_t)n;
			return;
		}
		size_t ncap = (b->cap ? b->cap * 2 : 4096) + (size_t)n;
		char *s = realloc(b->s, ncap);

		if (!s)
			abort(); /* a few KiB; nothing sensible to do without them */
		b->s = s;
		b->cap = ncap;
	}
}

static const char *a4s(const struct in_addr *a, char *buf)
{
	return inet_ntop(AF_INET, a, buf, INET6_ADDRSTRLEN);
}

static const char *a6s(const struct in6_addr *a, char *buf)
{
	return inet_ntop(AF_INET6, a, buf, INET6_ADDRSTRLEN);
}

static int run_batch(const char *ns, const char *tool, struct buf *b, char *err, size_t errlen)
{
	char *argv_ip[] = { "ip", "-batch", "-", NULL };
	char *argv_nft[] = { "nft", "-f", "-", NULL };
	int r = lab_run_in(ns, b->s ? b->s : "", !strcmp(tool, "nft") ? argv_nft : argv_ip);

	b->len = 0;
	if (b->s)
		b->s[0] = 0;
	if (r) {
		snprintf(err, errlen, "%s in netns %s failed (%s %d)", tool, ns,
			 r < 0 ? "error" : "exit status", r < 0 ? -r : r);
		return r < 0 ? r : -EIO;
	}
	return 0;
}

static int netns_add(const char *ns, char *err, size_t errlen)
{
	char *argv[] = { "ip", "netns", "add", (char *)ns, NULL };
	int r;

	if (lab_netns_exists(ns)) {
		snprintf(err, errlen, "netns %s already exists (another lab? try `lab down`)", ns);
		return -EEXIST;
	}
	r = lab_run_in("", NULL, argv);
	if (r) {
		snprintf(err, errlen, "ip netns add %s failed", ns);
		return -EIO;
	}
	return 0;
}

static int node_sysctls(const struct lab *lab, char *err, size_t errlen)
{
	static const char *const kv[][2] = {
		{ "net/ipv4/ip_forward", "1" },
		{ "net/ipv6/conf/all/forwarding", "1" },
		{ "net/ipv6/conf/default/accept_dad", "0" },
		{ "net/ipv6/conf/all/accept_dad", "0" },
		{ "net/ipv4/conf/all/rp_filter", "0" },
		{ "net/ipv4/conf/default/rp_filter", "0" },
	};

	for (size_t i = 0; i < sizeof(kv) / sizeof(kv[0]); i++) {
		if (lab_sysctl_in(lab->node_ns, kv[i][0], kv[i][1])) {
			snprintf(err, errlen, "netns %s: cannot set %s", lab->node_ns, kv[i][0]);
			return -EIO;
		}
	}
	return 0;
}

static int services_up(struct lab *lab, char *err, size_t errlen)
{
	struct buf b = { 0 };
	char x[INET6_ADDRSTRLEN], y[INET6_ADDRSTRLEN];
	int r;

	if (lab->topology == LAB_BRIDGE) {
		/* replies from a backend to a client on the same bridge are bridged,
		 * not routed: without br_netfilter the DNAT is never undone */
		if (lab_sysctl_in(lab->node_ns, "net/bridge/bridge-nf-call-iptables", "1") ||
		    lab_sysctl_in(lab->node_ns, "net/bridge/bridge-nf-call-ip6tables", "1")) {
			snprintf(err, errlen,
				 "--services with --topology bridge needs the br_netfilter module "
				 "(the lab does not load kernel modules: modprobe br_netfilter)");
			return -ENOTSUP;
		}
	}
	lab->nft_table = true;
	bprintf(&b, "table inet podwall_lab {\n"
		    "  chain prerouting {\n"
		    "    type nat hook prerouting priority dstnat; policy accept;\n");
	for (int i = 0; i < lab->n_pods; i++) {
		const struct lab_pod *p = &lab->pods[i];

		for (int j = 0; j < p->n_ports; j++) {
			const struct lab_port *lp = &p->ports[j];
			int sport = lp->svc_port ? lp->svc_port : lp->port;

			if (lp->proto == IPPROTO_SCTP)
				continue;
			if (p->has_svc4 && p->has4)
				bprintf(&b, "    ip daddr %s %s dport %d dnat ip to %s:%d\n",
					a4s(&p->svc4, x), lab_proto_name(lp->proto), sport,
					a4s(&p->a4, y), lp->port);
			if (p->has_svc6 && p->has6)
				bprintf(&b, "    ip6 daddr %s %s dport %d dnat ip6 to [%s]:%d\n",
					a6s(&p->svc6, x), lab_proto_name(lp->proto), sport,
					a6s(&p->a6, y), lp->port);
		}
	}
	bprintf(&b, "  }\n}\n");
	r = run_batch(lab->node_ns, "nft", &b, err, errlen);
	free(b.s);
	return r;
}

int lab_net_up(struct lab *lab, char *err, size_t errlen)
{
	struct buf b = { 0 };
	char x[INET6_ADDRSTRLEN], g[INET6_ADDRSTRLEN];
	int r;

	r = netns_add(lab->node_ns, err, errlen);
	for (int i = 0; i < lab->n_pods && !r; i++)
		r = netns_add(lab->pods[i].netns, err, errlen);
	if (r)
		goto out;
	r = node_sysctls(lab, err, errlen);
	for (int i = 0; i < lab->n_pods && !r; i++) {
		if (lab_sysctl_in(lab->pods[i].netns, "net/ipv6/conf/default/accept_dad", "0")) {
			snprintf(err, errlen, "netns %s: cannot disable IPv6 DAD",
				 lab->pods[i].netns);
			r = -EIO;
		}
	}
	if (r)
		goto out;

	/* the node: lo, veths (peers go straight into the pods), routes or a bridge */
	bprintf(&b, "link set lo up\n");
	if (lab->topology == LAB_ROUTED)
		/* the node has no default route for proxy ARP to use: owning the
		 * pods' gateway address makes it answer their ARP requests */
		bprintf(&b, "address add 169.254.1.1/32 dev lo\n");
	if (lab->topology == LAB_BRIDGE) {
		bprintf(&b, "link add pwbr0 type bridge\n");
		bprintf(&b, "address add %s/%d dev pwbr0\n", a4s(&lab->gw4, x), lab->plen4);
		if (lab->has_net6)
			bprintf(&b, "address add %s/%d dev pwbr0 nodad\n", a6s(&lab->gw6, x),
				lab->plen6);
		bprintf(&b, "link set pwbr0 up\n");
	}
	for (int i = 0; i < lab->n_pods; i++) {
		const struct lab_pod *p = &lab->pods[i];

		bprintf(&b, "link add %s type veth peer name eth0 netns %s\n", p->veth, p->netns);
		if (lab->topology == LAB_BRIDGE) {
			bprintf(&b, "link set %s master pwbr0\n", p->veth);
			bprintf(&b, "link set %s up\n", p->veth);
			continue;
		}
		bprintf(&b, "link set %s up\n", p->veth);
		/* Calico-style: the pod's gateway is answered by proxy ARP (IPv4)
		 * and by fe80::1 on every host veth (IPv6) */
		bprintf(&b, "address add fe80::1/64 dev %s nodad\n", p->veth);
		if (p->has4)
			bprintf(&b, "route add %s/32 dev %s\n", a4s(&p->a4, x), p->veth);
		if (p->has6)
			bprintf(&b, "route add %s/128 dev %s\n", a6s(&p->a6, x), p->veth);
	}
	r = run_batch(lab->node_ns, "ip", &b, err, errlen);
	for (int i = 0; i < lab->n_pods && !r && lab->topology == LAB_ROUTED; i++) {
		char path[96];

		snprintf(path, sizeof(path), "net/ipv4/conf/%s/proxy_arp", lab->pods[i].veth);
		if (lab_sysctl_in(lab->node_ns, path, "1")) {
			snprintf(err, errlen, "netns %s: cannot enable proxy_arp on %s",
				 lab->node_ns, lab->pods[i].veth);
			r = -EIO;
		}
	}
	if (r)
		goto out;

	for (int i = 0; i < lab->n_pods && !r; i++) {
		const struct lab_pod *p = &lab->pods[i];

		bprintf(&b, "link set lo up\nlink set eth0 up\n");
		if (lab->topology == LAB_BRIDGE) {
			if (p->has4) {
				bprintf(&b, "address add %s/%d dev eth0\n", a4s(&p->a4, x),
					lab->plen4);
				bprintf(&b, "route add default via %s dev eth0\n",
					a4s(&lab->gw4, g));
			}
			if (p->has6) {
				bprintf(&b, "address add %s/%d dev eth0 nodad\n", a6s(&p->a6, x),
					lab->plen6);
				bprintf(&b, "route add ::/0 via %s dev eth0\n", a6s(&lab->gw6, g));
			}
		} else {
			if (p->has4) {
				bprintf(&b, "address add %s/32 dev eth0\n", a4s(&p->a4, x));
				bprintf(&b, "route add 169.254.1.1 dev eth0 scope link\n");
				bprintf(&b, "route add default via 169.254.1.1 dev eth0\n");
			}
			if (p->has6) {
				bprintf(&b, "address add %s/128 dev eth0 nodad\n", a6s(&p->a6, x));
				bprintf(&b, "route add ::/0 via fe80::1 dev eth0\n");
			}
		}
		r = run_batch(p->netns, "ip", &b, err, errlen);
	}
	if (!r && lab->services)
		r = services_up(lab, err, errlen);
out:
	free(b.s);
	return r;
}

int lab_net_down(const struct lab *lab, bool verbose)
{
	int failed = 0;

	if (lab->nft_table && lab_netns_exists(lab->node_ns)) {
		char *argv[] = { "nft", "delete", "table", "inet", "podwall_lab", NULL };
		int fd = fcntl(2, F_DUPFD_CLOEXEC, 3),
		    devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);

		/* the table may never have been created: keep nft's complaint quiet */
		if (devnull >= 0)
			dup2(devnull, 2);
		lab_run_in(lab->node_ns, NULL, argv);
		if (fd >= 0) {
			dup2(fd, 2);
			close(fd);
		}
		if (devnull >= 0)
			close(devnull);
	}
	for (int i = -1; i < lab->n_pods; i++) {
		const char *ns = i < 0 ? lab->node_ns : lab->pods[i].netns;
		char *argv[] = { "ip", "netns", "delete", (char *)ns, NULL };

		if (!ns[0] || !lab_netns_exists(ns))
			continue;
		if (lab_run_in("", NULL, argv)) {
			failed++;
			continue;
		}
		if (verbose)
			fprintf(stderr, "lab: deleted netns %s\n", ns);
	}
	return failed;
}
