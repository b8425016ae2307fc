// SPDX-License-Identifier: MIT
/*
 * pwt_net — tiny TCP/UDP probe and server for e2e tests.
 *   pwt_net tcp ADDR PORT TIMEOUT_MS   exit 0 if a TCP connection is
 *                                      established within the timeout, else 1
 *   pwt_net udp ADDR PORT TIMEOUT_MS   send one datagram, exit 0 if an echo
 *                                      comes back within the timeout, else 1
 *   pwt_net serve PORT[/udp]...        accept TCP (reply "ok", close) and echo
 *                                      UDP on every given port, IPv4 and IPv6;
 *                                      prints "ready" on stderr once bound
 * Exit status 2 on usage or system errors.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_PORTS 64

static int parse_addr(const char *s, const char *port, struct sockaddr_storage *ss, socklen_t *len)
{
	char *end;
	long p = strtol(port, &end, 10);
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;

	if (*port == '\0' || *end || p < 1 || p > 65535)
		return -EINVAL;
	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, s, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons((unsigned short)p);
		*len = sizeof(*a4);
		return 0;
	}
	if (inet_pton(AF_INET6, s, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((unsigned short)p);
		*len = sizeof(*a6);
		return 0;
	}
	return -EINVAL;
}

static int do_tcp(const char *addr, const char *port, int timeout_ms)
{
	struct sockaddr_storage ss;
	struct pollfd pfd;
	socklen_t len;
	int fd, err = 0;
	socklen_t el = sizeof(err);

	if (parse_addr(addr, port, &ss, &len))
		return 2;
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 2;
	if (connect(fd, (struct sockaddr *)&ss, len) < 0 && errno != EINPROGRESS) {
		close(fd);
		return 1;
	}
	pfd.fd = fd;
	pfd.events = POLLOUT;
	if (poll(&pfd, 1, timeout_ms) != 1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) ||
	    err) {
		close(fd);
		return 1;
	}
	close(fd);
	return 0;
}

static int do_udp(const char *addr, const char *port, int timeout_ms)
{
	struct sockaddr_storage ss;
	struct pollfd pfd;
	socklen_t len;
	char buf[64];
	int fd;

	if (parse_addr(addr, port, &ss, &len))
		return 2;
	fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 2;
	if (connect(fd, (struct sockaddr *)&ss, len) < 0 || send(fd, "ping", 4, 0) != 4) {
		close(fd);
		return 1;
	}
	pfd.fd = fd;
	pfd.events = POLLIN;
	if (poll(&pfd, 1, timeout_ms) != 1 || recv(fd, buf, sizeof(buf), 0) <= 0) {
		close(fd);
		return 1;
	}
	close(fd);
	return 0;
}

static int bind_one(int type, unsigned short port)
{
	struct sockaddr_in6 a = { .sin6_family = AF_INET6,
				  .sin6_port = htons(port),
				  .sin6_addr = IN6ADDR_ANY_INIT };
	int fd = socket(AF_INET6, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1, zero = 0;

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    (type == SOCK_STREAM && listen(fd, 64) < 0)) {
		close(fd);
		return -1;
	}
	return fd;
}

static int do_serve(int argc, char **argv)
{
	struct pollfd pfd[MAX_PORTS];
	int types[MAX_PORTS], n = 0;

	for (int i = 0; i < argc && n < MAX_PORTS; i++) {
		char *end;
		long p = strtol(argv[i], &end, 10);
		int udp = !strcmp(end, "/udp");

		if (p < 1 || p > 65535 || (*end && !udp && strcmp(end, "/tcp"))) {
			fprintf(stderr, "pwt_net: bad port '%s'\n", argv[i]);
			return 2;
		}
		types[n] = udp ? SOCK_DGRAM : SOCK_STREAM;
		pfd[n].fd = bind_one(types[n], (unsigned short)p);
		pfd[n].events = POLLIN;
		if (pfd[n].fd < 0) {
			fprintf(stderr, "pwt_net: cannot bind %s: %s\n", argv[i], strerror(errno));
			return 2;
		}
		n++;
	}
	fprintf(stderr, "ready\n");
	for (;;) {
		if (poll(pfd, (nfds_t)n, -1) < 0 && errno != EINTR)
			return 2;
		for (int i = 0; i < n; i++) {
			struct sockaddr_storage from;
			socklen_t fl = sizeof(from);
			char buf[2048];
			ssize_t r;
			int c;

			if (!(pfd[i].revents & POLLIN))
				continue;
			if (types[i] == SOCK_DGRAM) {
				r = recvfrom(pfd[i].fd, buf, sizeof(buf), 0,
					     (struct sockaddr *)&from, &fl);
				if (r > 0)
					sendto(pfd[i].fd, buf, (size_t)r, 0,
					       (struct sockaddr *)&from, fl);
				continue;
			}
			c = accept4(pfd[i].fd, NULL, NULL, SOCK_CLOEXEC);
			if (c >= 0) {
				if (write(c, "ok\n", 3) < 0) {
					/* the peer went away: nothing to do */
				}
				close(c);
			}
		}
	}
}

int main(int argc, char **argv)
{
	if (argc >= 3 && !strcmp(argv[1], "serve"))
		return do_serve(argc - 2, argv + 2);
	if (argc == 5 && !strcmp(argv[1], "tcp"))
		return do_tcp(argv[2], argv[3], atoi(argv[4]));
	if (argc == 5 && !strcmp(argv[1], "udp"))
		return do_udp(argv[2], argv[3], atoi(argv[4]));
	fprintf(stderr,
		"usage: pwt_net tcp|udp ADDR PORT TIMEOUT_MS | pwt_net serve PORT[/udp]...\n");
	return 2;
}
