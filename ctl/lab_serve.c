// SPDX-License-Identifier: MIT
/*
 * The lab's echo servers: `podwallctl lab serve` (hidden) enters a pod's
 * network namespace and answers on its container ports with the pod's name,
 * TCP (a line on accept, then close) and UDP (a datagram back), IPv4 and
 * IPv6.  One process per pod, single-threaded, one poll loop.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/prctl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lab.h"

#define SERVE_MAX_FDS (LAB_MAX_PORTS * 2)

struct lsock {
	int fd;
	uint8_t proto;
};

static int open_listener(int af, uint8_t proto, uint16_t port, int *ret_fd)
{
	int type = proto == IPPROTO_UDP ? SOCK_DGRAM : SOCK_STREAM;
	int fd, one = 1;
	struct sockaddr_storage ss = { 0 };
	socklen_t sl;

	fd = socket(af, type | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (af == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		sl = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		sl = sizeof(*s4);
	}
	if (bind(fd, (struct sockaddr *)&ss, sl) || (type == SOCK_STREAM && listen(fd, 128))) {
		int r = -errno;

		close(fd);
		return r;
	}
	*ret_fd = fd;
	return 0;
}

static void serve_loop(struct lsock *socks, int n, const char *reply)
{
	struct pollfd pfd[SERVE_MAX_FDS];
	char line[300], buf[2048];
	size_t rlen;

	snprintf(line, sizeof(line), "%s\n", reply);
	rlen = strlen(line);
	for (int i = 0; i < n; i++)
		pfd[i] = (struct pollfd){ .fd = socks[i].fd, .events = POLLIN };
	for (;;) {
		int k = poll(pfd, (nfds_t)n, -1);

		if (k < 0 && errno != EINTR)
			return;
		for (int i = 0; i < n && k > 0; i++) {
			if (!(pfd[i].revents & POLLIN))
				continue;
			if (socks[i].proto == IPPROTO_UDP) {
				struct sockaddr_storage from;
				socklen_t fl = sizeof(from);
				/* drain what is queued; each datagram gets one answer */
				for (int m = 0; m < 64; m++) {
					fl = sizeof(from);
					if (recvfrom(pfd[i].fd, buf, sizeof(buf), 0,
						     (struct sockaddr *)&from, &fl) < 0)
						break;
					sendto(pfd[i].fd, line, rlen, MSG_DONTWAIT,
					       (struct sockaddr *)&from, fl);
				}
			} else {
				for (int m = 0; m < 64; m++) {
					int c = accept4(pfd[i].fd, NULL, NULL,
							SOCK_NONBLOCK | SOCK_CLOEXEC);

					if (c < 0)
						break;
					/* a short line fits in any socket buffer */
					if (send(c, line, rlen, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
						/* nothing to do: the prober counts the connect */
					}
					close(c);
				}
			}
		}
	}
}

/* lab serve --netns NS --reply TEXT [--ready-fd FD] PORT/PROTO... */
int lab_serve_main(int argc, char **argv)
{
	const char *ns = NULL, *reply = "podwall-lab";
	struct lsock socks[SERVE_MAX_FDS];
	int n = 0, ready_fd = -1, r;
	char msg[256] = "ok\n";

	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--netns") && i + 1 < argc)
			ns = argv[++i];
		else if (!strcmp(argv[i], "--reply") && i + 1 < argc)
			reply = argv[++i];
		else if (!strcmp(argv[i], "--ready-fd") && i + 1 < argc)
			ready_fd = atoi(argv[++i]);
		else {
			char *slash = strchr(argv[i], '/');
			uint8_t proto;
			long port;

			if (!slash || lab_proto_parse(slash + 1, &proto) ||
			    (port = strtol(argv[i], NULL, 10)) < 1 || port > 65535) {
				fprintf(stderr, "lab serve: bad argument '%s'\n", argv[i]);
				return 2;
			}
		}
	}
	if (!ns) {
		fprintf(stderr, "lab serve: --netns is required\n");
		return 2;
	}
	prctl(PR_SET_NAME, "pwlab-serve", 0, 0, 0); /* "exe" (from /proc/self/exe) says nothing */
	{
		char path[256];
		int fd;

		snprintf(path, sizeof(path), "/run/netns/%s", ns);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || setns(fd, CLONE_NEWNET)) {
			snprintf(msg, sizeof(msg), "cannot enter netns %s: %s\n", ns,
				 strerror(errno));
			if (fd >= 0)
				close(fd);
			goto report;
		}
		close(fd);
	}
	for (int i = 0; i < argc; i++) {
		char *slash;
		uint8_t proto;
		uint16_t port;

		if (!strcmp(argv[i], "--netns") || !strcmp(argv[i], "--reply") ||
		    !strcmp(argv[i], "--ready-fd")) {
			i++;
			continue;
		}
		slash = strchr(argv[i], '/');
		lab_proto_parse(slash + 1, &proto);
		port = (uint16_t)strtol(argv[i], NULL, 10);
		for (int k = 0; k < 2; k++) {
			int af = k ? AF_INET6 : AF_INET, fd = -1;

			if (n >= SERVE_MAX_FDS) {
				snprintf(msg, sizeof(msg), "more than %d sockets\n", SERVE_MAX_FDS);
				goto report;
			}
			r = open_listener(af, proto, port, &fd);
			if (r == -EAFNOSUPPORT && af == AF_INET6)
				continue; /* no IPv6 in this kernel: IPv4 only */
			if (r) {
				snprintf(msg, sizeof(msg), "%s %s port %u: %s\n",
					 af == AF_INET ? "IPv4" : "IPv6", lab_proto_name(proto),
					 port, strerror(-r));
				goto report;
			}
			socks[n++] = (struct lsock){ fd, proto };
		}
	}
report:
	if (ready_fd >= 0) {
		if (write(ready_fd, msg, strlen(msg)) < 0) {
			/* the parent is gone; it will not record us, so stop */
			return 1;
		}
		close(ready_fd);
	}
	if (strcmp(msg, "ok\n")) {
		fprintf(stderr, "lab serve: %s", msg);
		return 1;
	}
	serve_loop(socks, n, reply);
	return 1;
}

int lab_serve_start(struct lab *lab, int i, char *err, size_t errlen)
{
	struct lab_pod *p = &lab->pods[i];
	char reply[330], fdstr[16], msg[256];
	char *argv[8 + LAB_MAX_PORTS];
	char portbuf[LAB_MAX_PORTS][16];
	int pfd[2], argc = 0, n_ports = 0, status;
	ssize_t len;
	pid_t pid;

	for (int j = 0; j < p->n_ports; j++) {
		const struct lab_port *lp = &p->ports[j];

		if (lp->proto == IPPROTO_SCTP && !lab_have_sctp())
			continue;
		snprintf(portbuf[n_ports], sizeof(portbuf[0]), "%u/%s", lp->port,
			 lab_proto_name(lp->proto));
		n_ports++;
	}
	if (n_ports == 0)
		return 0; /* nothing to serve */
	if (pipe2(pfd, O_CLOEXEC))
		return -errno;
	snprintf(reply, sizeof(reply), "%s/%s", p->ns, p->name);
	snprintf(fdstr, sizeof(fdstr), "%d", pfd[1]);
	argv[argc++] = "podwallctl";
	argv[argc++] = "lab";
	argv[argc++] = "serve";
	argv[argc++] = "--netns";
	argv[argc++] = p->netns;
	argv[argc++] = "--reply";
	argv[argc++] = reply;
	argv[argc++] = "--ready-fd";
	argv[argc++] = fdstr;
	for (int j = 0; j < n_ports; j++)
		argv[argc++] = portbuf[j];
	argv[argc] = NULL;

	pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return -errno;
	}
	if (pid == 0) {
		int fd = open("/dev/null", O_RDWR | O_CLOEXEC);

		setsid(); /* a Ctrl-C in the terminal must not reach the servers */
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		if (fd >= 0) {
			dup2(fd, 0);
			dup2(fd, 1);
			dup2(fd, 2);
		}
		fcntl(pfd[1], F_SETFD, 0); /* the ready pipe survives exec */
		execv("/proc/self/exe", argv);
		_exit(127);
	}
	close(pfd[1]);
	p->server_pid = pid;
	p->server_start = lab_pid_start_time(pid);
	do
		len = read(pfd[0], msg, sizeof(msg) - 1);
	while (len < 0 && errno == EINTR);
	close(pfd[0]);
	if (len > 0 && !strncmp(msg, "ok\n", 3)) {
		/* re-read: the start time of the exec'd image is the fork's */
		if (!p->server_start)
			p->server_start = lab_pid_start_time(pid);
		return 0;
	}
	msg[len > 0 ? len : 0] = 0;
	if (msg[0] && msg[strlen(msg) - 1] == '\n')
		msg[strlen(msg) - 1] = 0;
	snprintf(err, errlen, "echo server for Pod %s/%s: %s", p->ns, p->name,
		 len > 0 ? msg : "exited before it was ready");
	kill(pid, SIGTERM);
	waitpid(pid, &status, 0);
	p->server_pid = 0;
	p->server_start = 0;
	return -EIO;
}
