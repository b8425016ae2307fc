// SPDX-License-Identifier: MIT
/*
 * pwt_udp — tiny UDP helper for e2e tests.
 *   pwt_udp send ADDR PORT MSG        send one datagram
 *   pwt_udp recv PORT TIMEOUT_MS      print the first datagram to stdout;
 *                                     exit 1 on timeout
 * recv binds to 0.0.0.0:PORT and, once bound, prints "ready" on stderr.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int parse_port(const char *s, unsigned short *ret_port)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v < 1 || v > 65535)
		return -EINVAL;
	*ret_port = (unsigned short)v;
	return 0;
}

static int do_send(const char *addr, const char *port, const char *msg)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	unsigned short p;
	int fd;

	if (parse_port(port, &p) < 0 || inet_pton(AF_INET, addr, &sin.sin_addr) != 1) {
		fprintf(stderr, "pwt_udp: bad address or port '%s' '%s'\n", addr, port);
		return 2;
	}
	sin.sin_port = htons(p);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		perror("pwt_udp: socket");
		return 1;
	}
	if (sendto(fd, msg, strlen(msg), 0, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		perror("pwt_udp: sendto");
		close(fd);
		return 1;
	}
	close(fd);
	return 0;
}

static int do_recv(const char *port, const char *timeout)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_ANY) };
	char buf[2048];
	struct pollfd pfd;
	unsigned short p;
	long ms = strtol(timeout, NULL, 10);
	ssize_t n;
	int fd, r;

	if (parse_port(port, &p) < 0 || ms <= 0) {
		fprintf(stderr, "pwt_udp: bad port or timeout '%s' '%s'\n", port, timeout);
		return 2;
	}
	sin.sin_port = htons(p);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		perror("pwt_udp: bind");
		return 1;
	}
	fprintf(stderr, "ready\n");
	pfd.fd = fd;
	pfd.events = POLLIN;
	r = poll(&pfd, 1, (int)ms);
	if (r <= 0) {
		fprintf(stderr, "pwt_udp: %s\n", r == 0 ? "timeout" : strerror(errno));
		close(fd);
		return 1;
	}
	n = recv(fd, buf, sizeof(buf) - 1, 0);
	close(fd);
	if (n < 0) {
		perror("pwt_udp: recv");
		return 1;
	}
	buf[n] = '\0';
	printf("%s\n", buf);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 5 && strcmp(argv[1], "send") == 0)
		return do_send(argv[2], argv[3], argv[4]);
	if (argc == 4 && strcmp(argv[1], "recv") == 0)
		return do_recv(argv[2], argv[3]);
	fprintf(stderr, "usage: pwt_udp send ADDR PORT MSG | pwt_udp recv PORT TIMEOUT_MS\n");
	return 2;
}
