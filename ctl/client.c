// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "client.h"

struct pw_client {
	int fd;
	char *buf;
	size_t len, cap;
};

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

bool pw_client_not_running(int err)
{
	err = err < 0 ? -err : err;
	return err == ENOENT || err == ECONNREFUSED || err == ENOTDIR;
}

int pw_client_connect(const char *path, int timeout_ms, struct pw_client **ret)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct pw_client *c;
	struct pollfd pfd;
	int fd, err = 0, r;
	socklen_t sl = sizeof(err);

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		/* a Unix socket whose backlog is full says EAGAIN; wait for it */
		if (errno != EAGAIN && errno != EINPROGRESS) {
			err = -errno;
			goto out_close;
		}
		pfd.fd = fd;
		pfd.events = POLLOUT;
		r = poll(&pfd, 1, timeout_ms);
		if (r <= 0) {
			err = r == 0 ? -ETIMEDOUT : -errno;
			goto out_close;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &sl) < 0 || err) {
			err = err ? -err : -errno;
			goto out_close;
		}
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		err = -ENOMEM;
		goto out_close;
	}
	c->fd = fd;
	*ret = c;
	return 0;
out_close:
	close(fd);
	return err;
}

int pw_client_send(struct pw_client *c, const json_t *req)
{
	char *s = json_dumps(req, JSON_COMPACT);
	size_t len, off = 0;
	int err = 0;

	if (!s)
		return -ENOMEM;
	len = strlen(s);
	s[len++] = '\n'; /* replaces the NUL; json_dumps output is never used as a string again */
	while (off < len) {
		ssize_t n = send(c->fd, s + off, len - off, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				struct pollfd pfd = { .fd = c->fd, .events = POLLOUT };

				if (poll(&pfd, 1, PW_CLIENT_TIMEOUT_MS) <= 0) {
					err = -ETIMEDOUT;
					break;
				}
				continue;
			}
			err = -errno;
			break;
		}
		off += n;
	}
	free(s);
	return err;
}

/* Take one complete line out of the buffer, if there is one. */
static int take_line(struct pw_client *c, json_t **ret)
{
	char *nl = memchr(c->buf, '\n', c->len);
	json_error_t jerr;
	json_t *v;
	size_t l;

	if (!nl)
		return -EAGAIN;
	*nl = 0;
	l = nl - c->buf + 1;
	v = json_loads(c->buf, JSON_DECODE_ANY, &jerr);
	memmove(c->buf, c->buf + l, c->len - l);
	c->len -= l;
	if (!v)
		return -EPROTO;
	*ret = v;
	return 0;
}

int pw_client_recv(struct pw_client *c, int timeout_ms, volatile sig_atomic_t *stop, json_t **ret)
{
	long long deadline = timeout_ms >= 0 ? now_ms() + timeout_ms : 0;

	for (;;) {
		struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
		int r, wait = -1;
		ssize_t n;

		if (c->len) {
			r = take_line(c, ret);
			if (r != -EAGAIN)
				return r;
		}
		if (stop && *stop)
			return -EINTR;
		if (timeout_ms >= 0) {
			wait = (int)(deadline - now_ms());
			if (wait <= 0)
				return -ETIMEDOUT;
		}
		r = poll(&pfd, 1, wait);
		if (r < 0) {
			if (errno == EINTR)
				continue; /* re-checks *stop */
			return -errno;
		}
		if (r == 0)
			return -ETIMEDOUT;
		if (c->len + 65536 > c->cap) {
			size_t cap = c->cap ? c->cap * 2 : 65536 * 2;
			char *b;

			if (c->len + 65536 > PW_CLIENT_MAX_LINE)
				return -E2BIG;
			b = realloc(c->buf, cap);
			if (!b)
				return -ENOMEM;
			c->buf = b;
			c->cap = cap;
		}
		n = recv(c->fd, c->buf + c->len, c->cap - c->len - 1, 0);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -errno;
		}
		if (n == 0) {
			/* a last line without its newline still counts */
			if (c->len) {
				c->buf[c->len++] = '\n';
				continue;
			}
			return -EPIPE;
		}
		c->len += n;
	}
}

void pw_client_close(struct pw_client *c)
{
	if (!c)
		return;
	close(c->fd);
	free(c->buf);
	free(c);
}

int pw_client_request(const char *path, const json_t *req, json_t **ret_reply)
{
	struct pw_client *c;
	int err;

	err = pw_client_connect(path, PW_CLIENT_TIMEOUT_MS, &c);
	if (err)
		return err;
	err = pw_client_send(c, req);
	if (!err)
		err = pw_client_recv(c, PW_CLIENT_TIMEOUT_MS, NULL, ret_reply);
	pw_client_close(c);
	return err;
}

const char *pw_reply_error(const json_t *reply)
{
	json_t *e;

	if (!json_is_object(reply))
		return NULL;
	e = json_object_get(reply, "error");
	if (!e)
		return NULL;
	return json_is_string(e) ? json_string_value(e) : "error (no message)";
}

static volatile sig_atomic_t stream_stop;

static void on_stop(int sig)
{
	(void)sig;
	stream_stop = 1;
}

int pw_client_stream(struct pw_client *c, const json_t *req, int (*cb)(json_t *msg, void *ud),
		     void *ud)
{
	struct sigaction sa = { .sa_handler = on_stop }, old_int, old_term;
	int err, r;

	stream_stop = 0;
	sigemptyset(&sa.sa_mask);
	/* no SA_RESTART: poll() must return so the loop sees the flag */
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	err = pw_client_send(c, req);
	while (!err) {
		json_t *msg;

		err = pw_client_recv(c, -1, &stream_stop, &msg);
		if (err)
			break;
		r = cb(msg, ud);
		json_decref(msg);
		if (r) {
			err = r > 0 ? 0 : r; /* > 0: the callback asked to stop */
			break;
		}
		if (stream_stop)
			break;
	}
	if (err == -EINTR)
		err = 0;
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	return err;
}
