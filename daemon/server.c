// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "server.h"

struct client {
	struct pw_watch w;
	struct pw_server *srv;
	struct client *prev, *next;
	char *in;
	size_t in_len;
	char *out;
	size_t out_off, out_len, out_cap;
	uint32_t mask; /* epoll events registered */
	bool rd_closed; /* peer shut down its side: close once drained */
	bool closing; /* close once drained, read nothing more */
	bool follow;
	struct pw_flow_filter filt;
	uint64_t dropped; /* records not sent since the last notice */
};

struct pw_server {
	struct pw_loop *loop;
	struct pw_watch lw; /* listening socket */
	char *path;
	struct pw_server_opts o;
	struct pw_flows *fl;
	struct client *clients;
	struct pw_server_stats st;
};

json_t *pw_srv_error(const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return json_pack("{s:s}", "error", msg);
}

static void client_free(struct client *c)
{
	struct pw_server *srv = c->srv;

	pw_loop_del(srv->loop, &c->w);
	close(c->w.fd);
	if (c->prev)
		c->prev->next = c->next;
	else
		srv->clients = c->next;
	if (c->next)
		c->next->prev = c->prev;
	srv->st.clients--;
	pw_flow_filter_clear(&c->filt);
	free(c->in);
	free(c->out);
	free(c);
}

static void update_mask(struct client *c)
{
	uint32_t m = 0;

	if (!c->rd_closed && !c->closing)
		m |= EPOLLIN;
	if (c->out_len > c->out_off)
		m |= EPOLLOUT;
	if (m != c->mask) {
		pw_loop_mod(c->srv->loop, &c->w, m);
		c->mask = m;
	}
}

/* Write what the socket takes.  0, or -errno: the client is gone (freed). */
static int flush(struct client *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->w.fd, c->out + c->out_off, c->out_len - c->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			client_free(c);
			return -EPIPE;
		}
		c->out_off += (size_t)n;
	}
	if (c->out_off == c->out_len) {
		c->out_off = c->out_len = 0;
		/* a large reply's buffer is not kept for a long-lived client */
		if (c->out_cap > (256u << 10)) {
			free(c->out);
			c->out = NULL;
			c->out_cap = 0;
		}
		if (c->closing || (c->rd_closed && !c->follow)) {
			client_free(c);
			return -EPIPE;
		}
	}
	update_mask(c);
	return 0;
}

static int queue(struct client *c, const char *data, size_t len)
{
	size_t need;

	if (c->out_off && c->out_off == c->out_len)
		c->out_off = c->out_len = 0;
	if (c->out_off > c->out_cap / 2) {
		memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
		c->out_len -= c->out_off;
		c->out_off = 0;
	}
	need = c->out_len + len + 1;
	if (need > c->out_cap) {
		size_t cap = c->out_cap ? c->out_cap : 4096;
		char *p;

		while (cap < need)
			cap *= 2;
		p = realloc(c->out, cap);
		if (!p)
			return -ENOMEM;
		c->out = p;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, data, len);
	c->out[c->out_len + len] = '\n';
	c->out_len += len + 1;
	return 0;
}

static size_t pending(const struct client *c)
{
	return c->out_len - c->out_off;
}

/* Queue a reply; a client that lets replies pile up beyond out_cap is
 * dropped.  0, or -EPIPE when the client was freed. */
static int reply_raw(struct client *c, const char *s, size_t len)
{
	if (pending(c) + len + 1 > c->srv->o.out_cap || queue(c, s, len)) {
		pw_warn("control socket: client not reading its replies (%zu bytes queued), "
			"dropping it",
			pending(c));
		c->srv->st.slow_dropped_clients++;
		client_free(c);
		return -EPIPE;
	}
	return 0;
}

static int reply(struct client *c, json_t *v)
{
	char *s;
	int r;

	if (!v)
		v = pw_srv_error("out of memory");
	if (json_object_get(v, "error"))
		c->srv->st.errors++;
	s = json_dumps(v, JSON_COMPACT);
	json_decref(v);
	if (!s)
		return reply_raw(c, "{\"error\":\"out of memory\"}", 25);
	r = reply_raw(c, s, strlen(s));
	free(s);
	return r;
}

/* A record for a --follow client: dropped, not queued, when the client is
 * behind; the count is reported once there is room again. */
static int stream(struct client *c, const char *s, size_t len)
{
	size_t cap = c->srv->o.stream_cap;

	if (c->dropped) {
		char note[96];
		int n = snprintf(
			note, sizeof(note),
			"{\"dropped\":%llu,\"note\":\"records not sent: client too slow\"}",
			(unsigned long long)c->dropped);

		if (pending(c) + (size_t)n + len + 2 > cap) {
			c->dropped++;
			c->srv->st.dropped_records++;
			return 0;
		}
		if (queue(c, note, (size_t)n))
			return 0;
		c->dropped = 0;
	}
	if (pending(c) + len + 1 > cap || queue(c, s, len)) {
		c->dropped++;
		c->srv->st.dropped_records++;
	}
	return 0;
}

struct hist_ctx {
	struct client *c;
	char *buf;
	size_t len, cap;
	int err;
};

static int append(struct hist_ctx *h, const char *s, size_t len)
{
	if (h->len + len + 1 > h->cap) {
		size_t cap = h->cap ? h->cap : 4096;
		char *p;

		while (cap < h->len + len + 1)
			cap *= 2;
		p = realloc(h->buf, cap);
		if (!p)
			return -ENOMEM;
		h->buf = p;
		h->cap = cap;
	}
	memcpy(h->buf + h->len, s, len);
	h->len += len;
	h->buf[h->len] = 0;
	return 0;
}

static int hist_array_fn(void *ctx, const struct pw_flow_rec *r)
{
	struct hist_ctx *h = ctx;

	if (h->buf[h->len - 1] != '[' && append(h, ",", 1))
		return h->err = -ENOMEM;
	if (append(h, r->line, r->line_len))
		return h->err = -ENOMEM;
	return 0;
}

static int hist_stream_fn(void *ctx, const struct pw_flow_rec *r)
{
	struct hist_ctx *h = ctx;

	return stream(h->c, r->line, r->line_len);
}

static uint64_t now_wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int handle_flows(struct client *c, const json_t *req)
{
	struct pw_server *srv = c->srv;
	struct pw_flow_filter f;
	struct hist_ctx h = { .c = c };
	const json_t *follow = json_object_get(req, "follow");
	char err[160];
	int r;

	if (follow && !json_is_boolean(follow))
		return reply(c, pw_srv_error("follow: expected true or false"));
	if (pw_flow_filter_from_json(req, now_wall_ns(), &f, err, sizeof(err))) {
		pw_flow_filter_clear(&f);
		return reply(c, pw_srv_error("%s", err));
	}
	if (json_is_true(follow)) {
		pw_flow_filter_clear(&c->filt);
		c->filt = f;
		c->follow = true;
		r = reply(c, json_pack("{s:b}", "follow", 1));
		if (r)
			return r;
		/* replay the newest `limit` matches (default none), then stream */
		if (srv->fl && f.limit)
			pw_flows_foreach(srv->fl, &c->filt, hist_stream_fn, &h);
		return flush(c);
	}
	if (append(&h, "{\"flows\":[", 10)) {
		pw_flow_filter_clear(&f);
		return reply(c, NULL);
	}
	if (srv->fl)
		pw_flows_foreach(srv->fl, &f, hist_array_fn, &h);
	pw_flow_filter_clear(&f);
	if (h.err || append(&h, "]}", 2)) {
		free(h.buf);
		return reply(c, NULL);
	}
	r = reply_raw(c, h.buf, h.len);
	free(h.buf);
	return r;
}

static json_t *known_cmds(const struct pw_server *srv)
{
	json_t *a = json_array();

	json_array_append_new(a, json_string("flows"));
	for (const struct pw_srv_cmd *k = srv->o.cmds; k && k->name; k++)
		json_array_append_new(a, json_string(k->name));
	return a;
}

/* 0, or -EPIPE when the client was freed. */
static int handle_line(struct client *c, char *line, size_t len)
{
	struct pw_server *srv = c->srv;
	json_error_t jerr;
	const char *cmd;
	json_t *req, *rep;
	int r;

	if (len && line[len - 1] == '\r')
		len--;
	if (!len)
		return 0;
	srv->st.requests++;
	req = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!req)
		return reply(c, pw_srv_error("bad JSON at column %d: %s", jerr.column, jerr.text));
	if (!json_is_object(req)) {
		json_decref(req);
		return reply(c, pw_srv_error("a request is a JSON object with \"cmd\""));
	}
	cmd = json_string_value(json_object_get(req, "cmd"));
	if (!cmd) {
		json_decref(req);
		return reply(c, pw_srv_error("missing \"cmd\" (a string)"));
	}
	if (strcmp(cmd, "flows") == 0) {
		r = handle_flows(c, req);
		json_decref(req);
		return r;
	}
	for (const struct pw_srv_cmd *k = srv->o.cmds; k && k->name; k++) {
		if (strcmp(k->name, cmd) == 0) {
			rep = k->fn(srv->o.ctx, req);
			json_decref(req);
			return reply(c, rep);
		}
	}
	rep = pw_srv_error("unknown command '%.64s'", cmd);
	if (rep)
		json_object_set_new(rep, "commands", known_cmds(srv));
	json_decref(req);
	return reply(c, rep);
}

static void client_read(struct client *c)
{
	size_t max = c->srv->o.max_request;

	for (;;) {
		ssize_t n;
		char *nl;

		n = recv(c->w.fd, c->in + c->in_len, max + 1 - c->in_len, MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			client_free(c);
			return;
		}
		if (n == 0) {
			/* a last request without its newline still counts */
			c->rd_closed = true;
			if (c->in_len) {
				size_t len = c->in_len;

				c->in_len = 0;
				if (handle_line(c, c->in, len))
					return;
			}
			break;
		}
		c->in_len += (size_t)n;
		while ((nl = memchr(c->in, '\n', c->in_len))) {
			size_t len = (size_t)(nl - c->in);

			if (handle_line(c, c->in, len))
				return;
			memmove(c->in, nl + 1, c->in_len - len - 1);
			c->in_len -= len + 1;
			if (c->closing)
				break;
		}
		if (c->in_len > max) {
			if (reply(c, pw_srv_error("request larger than %zu bytes; closing", max)))
				return;
			c->closing = true;
			c->in_len = 0;
		}
		if (c->closing)
			break;
	}
	flush(c);
}

static void client_cb(struct pw_watch *w, uint32_t events)
{
	struct client *c = (struct client *)w;

	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		if (!c->rd_closed && !c->closing) {
			client_read(c);
			return;
		}
		if (events & (EPOLLHUP | EPOLLERR)) {
			client_free(c);
			return;
		}
	}
	if (events & EPOLLOUT)
		flush(c);
}

int pw_server_add_fd(struct pw_server *srv, int fd)
{
	struct client *c;
	int r;

	if (srv->st.clients >= srv->o.max_clients) {
		static const char msg[] = "{\"error\":\"too many clients\"}\n";

		srv->st.rejected_clients++;
		(void)!send(fd, msg, sizeof(msg) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
		close(fd);
		return -EMFILE;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		goto fail;
	c->in = malloc(srv->o.max_request + 1);
	if (!c->in)
		goto fail;
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	c->w.fd = fd;
	c->w.fn = client_cb;
	c->srv = srv;
	c->filt.verdict = -1;
	c->filt.port = -1;
	c->mask = EPOLLIN;
	r = pw_loop_add(srv->loop, &c->w, c->mask);
	if (r) {
		free(c->in);
		free(c);
		close(fd);
		return r;
	}
	c->next = srv->clients;
	if (c->next)
		c->next->prev = c;
	srv->clients = c;
	srv->st.clients++;
	return 0;
fail:
	if (c)
		free(c->in);
	free(c);
	close(fd);
	return -ENOMEM;
}

static void listen_cb(struct pw_watch *w, uint32_t events)
{
	struct pw_server *srv = (struct pw_server *)((char *)w - offsetof(struct pw_server, lw));

	(void)events;
	for (int i = 0; i < 64; i++) {
		int fd = accept4(w->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR)
				pw_warn("control socket: accept: %m");
			return;
		}
		pw_server_add_fd(srv, fd);
	}
}

void pw_server_flow(void *p, const struct pw_flow_rec *rec)
{
	struct pw_server *srv = p;
	struct client *c, *next;

	for (c = srv->clients; c; c = next) {
		next = c->next;
		if (!c->follow || !pw_flow_match(&c->filt, rec))
			continue;
		stream(c, rec->line, rec->line_len);
		flush(c);
	}
}

static int mkdir_parent(const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	size_t len;

	if (!slash || slash == path)
		return 0;
	len = (size_t)(slash - path);
	if (len >= sizeof(dir))
		return -ENAMETOOLONG;
	memcpy(dir, path, len);
	dir[len] = 0;
	/* one level: /run exists; /run/podwall may not */
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static int listen_socket(const char *path, mode_t mode, int *ret_fd)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, r;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	r = mkdir_parent(path);
	if (r)
		return r;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int probe;

		if (errno != EADDRINUSE)
			goto fail;
		/* Stale (nobody accepts) or live (another daemon): ask it. */
		probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			close(probe);
			close(fd);
			return -EADDRINUSE;
		}
		if (probe >= 0)
			close(probe);
		unlink(path);
		if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			goto fail;
	}
	/* bind() created the file with the umask; set the mode we promise */
	if (chmod(path, mode) < 0 || listen(fd, 64) < 0)
		goto fail;
	*ret_fd = fd;
	return 0;
fail:
	r = -errno;
	close(fd);
	return r;
}

int pw_server_new(struct pw_loop *loop, const struct pw_server_opts *opts, struct pw_flows *fl,
		  struct pw_server **ret)
{
	struct pw_server *srv = calloc(1, sizeof(*srv));
	int r;

	if (!srv)
		return -ENOMEM;
	srv->loop = loop;
	srv->fl = fl;
	srv->o = *opts;
	srv->lw.fd = -1;
	if (!srv->o.mode)
		srv->o.mode = 0600;
	if (!srv->o.max_request)
		srv->o.max_request = PW_SRV_MAX_REQUEST;
	if (!srv->o.out_cap)
		srv->o.out_cap = PW_SRV_OUT_CAP;
	if (!srv->o.stream_cap)
		srv->o.stream_cap = PW_SRV_STREAM_CAP;
	if (!srv->o.max_clients)
		srv->o.max_clients = PW_SRV_MAX_CLIENTS;
	if (opts->path) {
		srv->path = strdup(opts->path);
		if (!srv->path) {
			free(srv);
			return -ENOMEM;
		}
		r = listen_socket(opts->path, srv->o.mode, &srv->lw.fd);
		if (r)
			goto fail;
		srv->lw.fn = listen_cb;
		r = pw_loop_add(loop, &srv->lw, EPOLLIN);
		if (r)
			goto fail;
	}
	*ret = srv;
	return 0;
fail:
	if (srv->lw.fd >= 0) {
		close(srv->lw.fd);
		unlink(srv->path);
	}
	free(srv->path);
	free(srv);
	return r;
}

void pw_server_free(struct pw_server *srv)
{
	if (!srv)
		return;
	while (srv->clients)
		client_free(srv->clients);
	if (srv->lw.fd >= 0) {
		pw_loop_del(srv->loop, &srv->lw);
		close(srv->lw.fd);
		unlink(srv->path);
	}
	free(srv->path);
	free(srv);
}

void pw_server_get_stats(const struct pw_server *srv, struct pw_server_stats *ret)
{
	*ret = srv->st;
}
