// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "names.h"
#include "server.h"

static int status_calls;

static json_t *cmd_status(void *ctx, const json_t *req)
{
	(void)req;
	status_calls++;
	return json_pack("{s:s,s:i}", "mode", (const char *)ctx, "generation", 3);
}

static json_t *cmd_fail(void *ctx, const json_t *req)
{
	(void)ctx, (void)req;
	return pw_srv_error("no such %s", "thing");
}

static const struct pw_srv_cmd cmds[] = {
	{ "status", cmd_status, "daemon state" },
	{ "fail", cmd_fail, "always fails" },
	{ NULL, NULL, NULL },
};

struct fixture {
	struct pw_loop loop;
	struct pw_server *srv;
	struct pw_flows *fl;
	int cli; /* our end of the socketpair */
};

static void pump(struct fixture *f)
{
	/* bounded: every pending event is handled well within this */
	for (int i = 0; i < 10000 && pw_loop_once(&f->loop, 0) > 0; i++)
		;
}

static void fixture_up(struct fixture *f, size_t stream_cap, size_t out_cap)
{
	struct pw_server_opts o = { .cmds = cmds,
				    .ctx = "enforce",
				    .max_request = 1024,
				    .stream_cap = stream_cap,
				    .out_cap = out_cap };
	struct pw_flows_opts fo = { .history = 64 };
	int sv[2];

	memset(f, 0, sizeof(*f));
	assert_int_equal(pw_loop_init(&f->loop), 0);
	assert_int_equal(pw_flows_new(&fo, &f->fl), 0);
	assert_int_equal(pw_server_new(&f->loop, &o, f->fl, &f->srv), 0);
	pw_flows_set_sink(f->fl, pw_server_flow, f->srv);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(pw_server_add_fd(f->srv, sv[1]), 0);
	f->cli = sv[0];
}

static void fixture_down(struct fixture *f)
{
	pw_server_free(f->srv);
	pw_flows_free(f->fl);
	pw_loop_fini(&f->loop);
	if (f->cli >= 0)
		close(f->cli);
}

static void say(struct fixture *f, const char *s)
{
	assert_int_equal(write(f->cli, s, strlen(s)), (ssize_t)strlen(s));
	pump(f);
}

/* Read one line (bounded wait, pumping the server); NULL on EOF. */
static json_t *hear(struct fixture *f)
{
	static char buf[1 << 20];
	size_t len = 0;

	for (int tries = 0; tries < 2000 && len < sizeof(buf) - 1; tries++) {
		struct pollfd p = { .fd = f->cli, .events = POLLIN };
		ssize_t n;

		pump(f);
		if (poll(&p, 1, 1) <= 0)
			continue;
		n = read(f->cli, buf + len, 1);
		if (n <= 0)
			return NULL;
		if (buf[len] == '\n') {
			json_t *v;

			buf[len] = 0;
			v = json_loads(buf, 0, NULL);
			if (!v)
				fail_msg("reply is not JSON: %s", buf);
			return v;
		}
		len++;
	}
	fail_msg("no reply line");
	return NULL;
}

static const char *err_of(json_t *v)
{
	return json_string_value(json_object_get(v, "error"));
}

static void test_command_and_errors_keep_connection(void **state)
{
	struct fixture f;
	json_t *v;

	(void)state;
	fixture_up(&f, 0, 0);
	status_calls = 0;
	say(&f, "{\"cmd\":\"status\"}\n");
	v = hear(&f);
	assert_string_equal(json_string_value(json_object_get(v, "mode")), "enforce");
	json_decref(v);

	say(&f, "{not json\n");
	v = hear(&f);
	assert_non_null(strstr(err_of(v), "bad JSON"));
	json_decref(v);

	say(&f, "[1,2]\n");
	v = hear(&f);
	assert_non_null(err_of(v));
	json_decref(v);

	say(&f, "{\"cmd\":\"frobnicate\"}\n");
	v = hear(&f);
	assert_non_null(strstr(err_of(v), "unknown command 'frobnicate'"));
	assert_true(json_array_size(json_object_get(v, "commands")) == 3);
	json_decref(v);

	say(&f, "{\"cmd\":\"fail\"}\n");
	v = hear(&f);
	assert_string_equal(err_of(v), "no such thing");
	json_decref(v);

	/* two requests in one write, a third split across writes, CRLF */
	say(&f, "{\"cmd\":\"status\"}\n{\"cmd\":\"status\"}\r\n{\"cmd\":");
	say(&f, "\"status\"}\n");
	for (int i = 0; i < 3; i++) {
		v = hear(&f);
		assert_non_null(json_object_get(v, "generation"));
		json_decref(v);
	}
	assert_int_equal(status_calls, 4);
	fixture_down(&f);
}

static void test_oversized_request_closes(void **state)
{
	struct fixture f;
	char big[3000];
	json_t *v;
	struct pw_server_stats st;

	(void)state;
	fixture_up(&f, 0, 0);
	memset(big, 'x', sizeof(big));
	assert_int_equal(write(f.cli, big, sizeof(big)), (ssize_t)sizeof(big));
	pump(&f);
	v = hear(&f);
	assert_non_null(strstr(err_of(v), "larger than 1024"));
	json_decref(v);
	assert_null(hear(&f)); /* then EOF */
	pw_server_get_stats(f.srv, &st);
	assert_int_equal(st.clients, 0);
	fixture_down(&f);
}

static void test_half_close_gets_reply(void **state)
{
	struct fixture f;
	json_t *v;

	(void)state;
	fixture_up(&f, 0, 0);
	/* like `printf '{"cmd":"status"}' | socat - UNIX:...`: no newline, then EOF */
	assert_int_equal(write(f.cli, "{\"cmd\":\"status\"}", 16), 16);
	shutdown(f.cli, SHUT_WR);
	pump(&f);
	v = hear(&f);
	assert_non_null(json_object_get(v, "mode"));
	json_decref(v);
	assert_null(hear(&f));
	fixture_down(&f);
}

static struct pw_event ev_drop(uint16_t dport)
{
	struct pw_event ev;

	memset(&ev, 0, sizeof(ev));
	pw_addr_parse("10.0.0.1", &ev.src, NULL);
	pw_addr_parse("10.0.0.2", &ev.dst, NULL);
	ev.sport = 1234;
	ev.dport = dport;
	ev.proto = PW_PROTO_TCP;
	ev.verdict = dport % 2 ? PW_VERDICT_DROP : PW_VERDICT_ALLOW;
	ev.reason = dport % 2 ? PW_DROP_POLICY : PW_ALLOW_POLICY;
	ev.type = PW_EV_DROP;
	return ev;
}

static void feed(struct fixture *f, uint16_t dport)
{
	struct pw_event ev = ev_drop(dport);

	assert_int_equal(pw_flows_handle_event(f->fl, &ev, sizeof(ev)), 0);
}

static void test_flows_history_and_filter(void **state)
{
	struct fixture f;
	json_t *v, *arr;

	(void)state;
	fixture_up(&f, 0, 0);
	for (uint16_t p = 1; p <= 6; p++)
		feed(&f, p);
	say(&f, "{\"cmd\":\"flows\"}\n");
	v = hear(&f);
	assert_int_equal(json_array_size(json_object_get(v, "flows")), 6);
	json_decref(v);
	say(&f, "{\"cmd\":\"flows\",\"verdict\":\"drop\",\"limit\":2}\n");
	v = hear(&f);
	arr = json_object_get(v, "flows");
	assert_int_equal(json_array_size(arr), 2);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(arr, 0), "dst_port")),
			 3);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(arr, 1), "dst_port")),
			 5);
	json_decref(v);
	say(&f, "{\"cmd\":\"flows\",\"verdict\":\"maybe\"}\n");
	v = hear(&f);
	assert_non_null(strstr(err_of(v), "verdict"));
	json_decref(v);
	fixture_down(&f);
}

static void test_follow_streams_matching(void **state)
{
	struct fixture f;
	json_t *v;

	(void)state;
	fixture_up(&f, 0, 0);
	feed(&f, 1);
	say(&f, "{\"cmd\":\"flows\",\"follow\":true,\"verdict\":\"drop\",\"limit\":1}\n");
	v = hear(&f);
	assert_true(json_is_true(json_object_get(v, "follow")));
	json_decref(v);
	v = hear(&f); /* replayed history */
	assert_int_equal(json_integer_value(json_object_get(v, "dst_port")), 1);
	json_decref(v);
	feed(&f, 2); /* allow: filtered out */
	feed(&f, 3);
	v = hear(&f);
	assert_int_equal(json_integer_value(json_object_get(v, "dst_port")), 3);
	json_decref(v);
	/* still answers requests while following */
	say(&f, "{\"cmd\":\"status\"}\n");
	v = hear(&f);
	assert_non_null(json_object_get(v, "mode"));
	json_decref(v);
	fixture_down(&f);
}

static void test_slow_follower_loses_records_not_daemon(void **state)
{
	struct fixture f;
	struct pw_server_stats st;
	int sz = 4096, got_notice = 0, n = 0;
	json_t *v;

	(void)state;
	fixture_up(&f, 8192, 0);
	setsockopt(f.cli, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	say(&f, "{\"cmd\":\"flows\",\"follow\":true}\n");
	v = hear(&f);
	json_decref(v);
	/* the client does not read: far more than socket buffers + cap */
	for (int i = 0; i < 3000; i++)
		feed(&f, (uint16_t)(i % 60000 + 1));
	pump(&f);
	pw_server_get_stats(f.srv, &st);
	assert_true(st.dropped_records > 0);
	assert_int_equal(st.clients, 1); /* kept, just behind */

	/* drain everything queued, then one more record brings the notice */
	fcntl(f.cli, F_SETFL, O_NONBLOCK);
	for (int i = 0; i < 1000; i++) {
		char buf[65536];

		pump(&f);
		if (read(f.cli, buf, sizeof(buf)) <= 0 && i > 10)
			break;
	}
	fcntl(f.cli, F_SETFL, 0);
	feed(&f, 9);
	while (n++ < 10 && (v = hear(&f))) {
		if (json_object_get(v, "dropped")) {
			assert_true(json_integer_value(json_object_get(v, "dropped")) > 0);
			got_notice = 1;
		}
		json_decref(v);
		if (got_notice)
			break;
	}
	assert_true(got_notice);
	fixture_down(&f);
}

static void test_client_not_reading_replies_is_dropped(void **state)
{
	struct fixture f;
	struct pw_server_stats st;
	int sz = 4096;

	(void)state;
	fixture_up(&f, 0, 16384);
	setsockopt(f.cli, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	/* replies fill the server's socket buffer (~200 KiB), then its queue */
	fcntl(f.cli, F_SETFL, O_NONBLOCK);
	for (int i = 0; i < 100000; i++) {
		if (write(f.cli, "{\"cmd\":\"status\"}\n", 17) != 17)
			pump(&f);
		if (i % 50 == 0)
			pump(&f);
		pw_server_get_stats(f.srv, &st);
		if (st.clients == 0)
			break;
	}
	pump(&f);
	pw_server_get_stats(f.srv, &st);
	assert_int_equal(st.clients, 0);
	assert_int_equal(st.slow_dropped_clients, 1);
	fixture_down(&f);
}

static void test_listen_socket(void **state)
{
	char dir[] = "/tmp/pwsrvXXXXXX", path[96], sub[64];
	struct pw_server_opts o = { .cmds = cmds, .ctx = "audit" };
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct pw_server *srv, *srv2;
	struct fixture f;
	struct stat st;
	int fd;
	json_t *v;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(sub, sizeof(sub), "%s/sub", dir);
	snprintf(path, sizeof(path), "%s/pw.sock", sub);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	o.path = path;
	memset(&f, 0, sizeof(f));
	assert_int_equal(pw_loop_init(&f.loop), 0);

	/* the directory is created 0755 when missing */
	assert_int_equal(pw_server_new(&f.loop, &o, NULL, &srv), 0);
	assert_int_equal(stat(sub, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0755);
	pw_server_free(srv);
	assert_int_equal(access(path, F_OK), -1); /* removed on free */

	/* a stale socket file (nobody listening) is replaced */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	assert_int_equal(pw_server_new(&f.loop, &o, NULL, &srv), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* a live one is not */
	assert_int_equal(pw_server_new(&f.loop, &o, NULL, &srv2), -EADDRINUSE);

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	f.srv = srv;
	f.cli = fd;
	say(&f, "{\"cmd\":\"status\"}\n");
	v = hear(&f);
	assert_string_equal(json_string_value(json_object_get(v, "mode")), "audit");
	json_decref(v);
	close(fd);
	pump(&f);
	pw_server_free(srv);
	pw_loop_fini(&f.loop);
	rmdir(sub);
	rmdir(dir);
}

static void test_too_many_clients(void **state)
{
	struct pw_server_opts o = { .cmds = cmds, .ctx = "x", .max_clients = 2 };
	struct pw_server *srv;
	struct pw_loop loop;
	int sv[3][2];
	char buf[128];
	ssize_t n;

	(void)state;
	assert_int_equal(pw_loop_init(&loop), 0);
	assert_int_equal(pw_server_new(&loop, &o, NULL, &srv), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv[i]), 0);
	assert_int_equal(pw_server_add_fd(srv, sv[0][1]), 0);
	assert_int_equal(pw_server_add_fd(srv, sv[1][1]), 0);
	assert_int_equal(pw_server_add_fd(srv, sv[2][1]), -EMFILE);
	n = read(sv[2][0], buf, sizeof(buf) - 1);
	assert_true(n > 0);
	buf[n] = 0;
	assert_non_null(strstr(buf, "too many clients"));
	pw_server_free(srv);
	pw_loop_fini(&loop);
	for (int i = 0; i < 3; i++)
		close(sv[i][0]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_command_and_errors_keep_connection),
		cmocka_unit_test(test_oversized_request_closes),
		cmocka_unit_test(test_half_close_gets_reply),
		cmocka_unit_test(test_flows_history_and_filter),
		cmocka_unit_test(test_follow_streams_matching),
		cmocka_unit_test(test_slow_follower_loses_records_not_daemon),
		cmocka_unit_test(test_client_not_reading_replies_is_dropped),
		cmocka_unit_test(test_listen_socket),
		cmocka_unit_test(test_too_many_clients),
	};

	return cmocka_run_group_tests_name("server", tests, NULL, NULL);
}
