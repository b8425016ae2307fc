// SPDX-License-Identifier: MIT
/*
 * The daemon socket client against a fake podwalld (a child process on a
 * temporary Unix socket): one request line, one reply line, errors,
 * timeouts, a streamed `flows --follow` ended by SIGINT, and the daemon
 * paths of status, endpoint list, policy list/show and metrics.
 */
#include <errno.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "ctl_test.h"

#include "../../ctl/human.c"
#include "../../ctl/pinned.c"
#include "../../ctl/client.c"
#include "../../ctl/live.c"
#include "../../ctl/cmd_flows.c"
#include "../../ctl/cmd_status.c"
#include "../../ctl/cmd_endpoint.c"
#include "../../ctl/cmd_metrics.c"
#include "../../ctl/cmd_policy_live.c"

static char sock_dir[64];
static char sock_path[100];
static pid_t daemon_pid = -1;

static const char *reply_for(const char *cmd)
{
	if (!strcmp(cmd, "status"))
		return "{\"mode\":\"enforce\",\"hook\":\"tc\",\"generation\":7,\"endpoints\":3,"
		       "\"interfaces\":[{\"name\":\"veth1\",\"pod\":\"shop/"
		       "api\",\"attached\":true}]}";
	if (!strcmp(cmd, "endpoints"))
		return "{\"endpoints\":[{\"ns\":\"shop\",\"name\":\"api\",\"ips\":[\"10.0.0.7\"],"
		       "\"veth\":\"veth1\",\"ingress\":true,\"egress\":false,\"policy_set\":4}],"
		       "\"skipped\":[{\"pod\":\"kube/proxy\",\"reason\":\"hostNetwork\"}]}";
	if (!strcmp(cmd, "policies"))
		return "{\"policies\":[{\"ns\":\"shop\",\"name\":\"allow-fe\",\"types\":"
		       "[\"Ingress\"],\"ingress_rules\":1,\"entries\":4,\"selected\":1}]}";
	if (!strcmp(cmd, "policy"))
		return "{\"error\":\"no policy shop/nope\"}";
	if (!strcmp(cmd, "metrics"))
		return "{\"text\":\"# TYPE podwall_up gauge\\npodwall_up 1\\n\"}";
	if (!strcmp(cmd, "flows"))
		return "{\"flows\":[{\"ts\":\"2024-05-01T10:00:00Z\",\"src\":\"10.0.0.5\","
		       "\"src_pod\":\"shop/fe\",\"dst\":\"10.0.0.7\",\"dst_pod\":\"shop/api\","
		       "\"dport\":8080,\"verdict\":\"drop\",\"reason\":\"policy-denied\"},"
		       "{\"ts\":\"2024-05-01T10:00:01Z\",\"src\":\"10.0.0.6\",\"dst\":\"10.0.0.7\","
		       "\"dport\":8080,\"verdict\":\"allow\"}]}";
	return "{\"error\":\"unknown command\"}";
}

/* The fake daemon: answers one request per connection; "slow" never
 * answers; "follow" streams three records, then waits to be closed. */
static void serve(int lfd)
{
	for (;;) {
		int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		char buf[4096];
		ssize_t n;
		json_t *req;
		const char *cmd;

		if (c < 0)
			_exit(0);
		n = recv(c, buf, sizeof(buf) - 1, 0);
		if (n <= 0) {
			close(c);
			continue;
		}
		buf[n] = 0;
		req = json_loads(buf, JSON_DISABLE_EOF_CHECK, NULL);
		cmd = req ? json_string_value(json_object_get(req, "cmd")) : NULL;
		if (cmd && !strcmp(cmd, "slow")) {
			sleep(3);
		} else if (cmd && !strcmp(cmd, "flows") &&
			   json_is_true(json_object_get(req, "follow"))) {
			for (int i = 0; i < 3; i++) {
				dprintf(c,
					"{\"ts\":%d,\"src\":\"10.0.0.%d\",\"dst\":\"10.0.0.7\","
					"\"dport\":80,\"verdict\":\"%s\"}\n",
					1714557600 + i, i + 1, i == 1 ? "allow" : "drop");
			}
			/* stay silent until the client goes away */
			while (recv(c, buf, sizeof(buf), 0) > 0)
				;
		} else if (cmd && !strcmp(cmd, "garbage")) {
			dprintf(c, "this is not json\n");
		} else if (cmd) {
			dprintf(c, "%s\n", reply_for(cmd));
		}
		json_decref(req);
		close(c);
	}
}

static int setup(void **state)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int lfd;

	(void)state;
	snprintf(sock_dir, sizeof(sock_dir), "/tmp/pwtest-ctl-sock-XXXXXX");
	if (!mkdtemp(sock_dir))
		return -1;
	snprintf(sock_path, sizeof(sock_path), "%s/podwalld.sock", sock_dir);
	memcpy(sa.sun_path, sock_path, sizeof(sock_path));
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(lfd, 8))
		return -1;
	daemon_pid = fork();
	if (daemon_pid < 0)
		return -1;
	if (daemon_pid == 0) {
		alarm(60); /* never outlive a stuck test run */
		serve(lfd);
		_exit(0);
	}
	close(lfd);
	pw_socket_path = sock_path;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	t_reset();
	if (daemon_pid > 0) {
		kill(daemon_pid, SIGTERM);
		waitpid(daemon_pid, NULL, 0);
	}
	unlink(sock_path);
	rmdir(sock_dir);
	return 0;
}

static void test_request_reply(void **state)
{
	json_t *req = json_pack("{s:s}", "cmd", "status"), *reply = NULL;

	(void)state;
	assert_int_equal(pw_client_request(sock_path, req, &reply), 0);
	assert_int_equal(pw_jint(reply, "generation", -1), 7);
	assert_null(pw_reply_error(reply));
	json_decref(reply);
	json_decref(req);
}

static void test_not_running(void **state)
{
	json_t *req = json_pack("{s:s}", "cmd", "status"), *reply = NULL;
	int err = pw_client_request("/nonexistent/dir/podwalld.sock", req, &reply);

	(void)state;
	assert_true(pw_client_not_running(err));
	assert_null(reply);
	json_decref(req);
}

static void test_refused_is_not_running(void **state)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char path[100];
	struct pw_client *c = NULL;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	(void)state;
	/* a stale socket file nobody listens on: what a crashed daemon leaves */
	snprintf(path, sizeof(path), "%s/stale.sock", sock_dir);
	memcpy(sa.sun_path, path, sizeof(path));
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	assert_true(pw_client_not_running(pw_client_connect(path, 1000, &c)));
	assert_null(c);
	unlink(path);
}

static void test_timeout(void **state)
{
	struct pw_client *c;
	json_t *req = json_pack("{s:s}", "cmd", "slow"), *reply = NULL;

	(void)state;
	assert_int_equal(pw_client_connect(sock_path, 1000, &c), 0);
	assert_int_equal(pw_client_send(c, req), 0);
	assert_int_equal(pw_client_recv(c, 200, NULL, &reply), -ETIMEDOUT);
	assert_null(reply);
	pw_client_close(c);
	json_decref(req);
}

static void test_garbage_reply(void **state)
{
	json_t *req = json_pack("{s:s}", "cmd", "garbage"), *reply = NULL;

	(void)state;
	assert_int_equal(pw_client_request(sock_path, req, &reply), -EPROTO);
	json_decref(req);
}

static int count_cb(json_t *msg, void *ud)
{
	int *n = ud;

	(void)msg;
	if (++*n == 3)
		kill(getpid(), SIGINT); /* what the user's Ctrl-C does */
	return 0;
}

static void test_stream_until_sigint(void **state)
{
	struct pw_client *c;
	json_t *req = json_pack("{s:s, s:b}", "cmd", "flows", "follow", 1);
	int n = 0;

	(void)state;
	assert_int_equal(pw_client_connect(sock_path, 1000, &c), 0);
	assert_int_equal(pw_client_stream(c, req, count_cb, &n), 0);
	assert_int_equal(n, 3);
	pw_client_close(c);
	json_decref(req);
	/* the default SIGINT disposition is back */
	{
		struct sigaction sa;

		sigaction(SIGINT, NULL, &sa);
		assert_true(sa.sa_handler == SIG_DFL);
	}
}

static void test_flows_history(void **state)
{
	char *argv[] = { "--verdict", "drop" };
	char *out;

	(void)state;
	t_reset();
	pw_json = true;
	assert_int_equal(do_flows(2, argv), PW_EXIT_OK);
	/* the daemon sent 2 records; the client filters again */
	assert_int_equal(json_array_size(t_last_json), 1);
	t_reset();
	t_capture_start();
	assert_int_equal(do_flows(0, NULL), PW_EXIT_OK);
	out = t_capture_end();
	assert_non_null(strstr(out, "shop/fe 10.0.0.5"));
	assert_non_null(strstr(out, "shop/api 10.0.0.7:8080"));
	assert_non_null(strstr(out, "10.0.0.6"));
	free(out);
}

static void test_status_endpoints_policies(void **state)
{
	char *list[] = { "list" };
	char *show[] = { "shop/nope" };
	char *out;

	(void)state;
	t_reset();
	pw_json = true;
	assert_int_equal(do_status(0, NULL), PW_EXIT_OK);
	assert_string_equal(pw_jstr(t_last_json, "source"), "daemon");
	assert_int_equal(cmd_policy_show(1, show), PW_EXIT_FAIL);
	assert_string_equal(pw_jstr(t_last_json, "error"), "podwalld: no policy shop/nope");
	t_reset();
	t_capture_start();
	assert_int_equal(do_status(0, NULL), PW_EXIT_OK);
	assert_int_equal(do_endpoint(1, list), PW_EXIT_OK);
	assert_int_equal(cmd_policy_list(0, NULL), PW_EXIT_OK);
	assert_int_equal(do_metrics(0, NULL), PW_EXIT_OK);
	out = t_capture_end();
	assert_non_null(strstr(out, "generation: 7"));
	assert_non_null(strstr(out, "veth1"));
	assert_non_null(strstr(out, "shop/api"));
	assert_non_null(strstr(out, "not an endpoint: hostNetwork"));
	assert_non_null(strstr(out, "shop/allow-fe"));
	assert_non_null(strstr(out, "podwall_up 1\n"));
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_reply),
		cmocka_unit_test(test_not_running),
		cmocka_unit_test(test_refused_is_not_running),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_garbage_reply),
		cmocka_unit_test(test_stream_until_sigint),
		cmocka_unit_test(test_flows_history),
		cmocka_unit_test(test_status_endpoints_policies),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
