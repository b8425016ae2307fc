// SPDX-License-Identifier: MIT
/* podwallctl counters against a fake podwalld whose replies were captured
 * from a real one (podwallctl -j counters / endpoint list on examples/shop). */
#include "ctl_test.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "../../ctl/human.c"
#include "../../ctl/pinned.c"
#include "../../ctl/client.c"
#include "../../ctl/live.c"
#include "../../ctl/cmd_counters.c"

/* captured from podwalld (trimmed to two endpoints) */
static const char counters_reply[] =
	"{\"endpoints\":[{\"endpoint\":\"none\",\"ep_id\":0,\"counters\":[{\"direction\":"
	"\"ingress\",\"verdict\":"
	"\"allow\",\"reason\":\"non-ip\",\"packets\":4,\"bytes\":168},{\"direction\":\"ingress\","
	"\"verdict\":\"all"
	"ow\",\"reason\":\"neighbour-discovery\",\"packets\":4,\"bytes\":344},{\"direction\":"
	"\"egress\",\"verdi"
	"ct\":\"allow\",\"reason\":\"non-ip\",\"packets\":4,\"bytes\":168},{\"direction\":"
	"\"egress\",\"verdict\":\""
	"allow\",\"reason\":\"neighbour-discovery\",\"packets\":4,\"bytes\":344}]},{\"endpoint\":"
	"\"shop/api\","
	"\"ep_id\":2,\"counters\":[{\"direction\":\"ingress\",\"verdict\":\"allow\",\"reason\":"
	"\"policy\",\"packet"
	"s\":2,\"bytes\":168},{\"direction\":\"ingress\",\"verdict\":\"allow\",\"reason\":"
	"\"established\",\"packe"
	"ts\":6,\"bytes\":456},{\"direction\":\"ingress\",\"verdict\":\"allow\",\"reason\":"
	"\"reply\",\"packets\":1"
	"8,\"bytes\":1420},{\"direction\":\"ingress\",\"verdict\":\"drop\",\"reason\":\"policy-"
	"denied\",\"packet"
	"s\":20,\"bytes\":1680},{\"direction\":\"egress\",\"verdict\":\"allow\",\"reason\":\"not-"
	"isolated\",\"pac"
	"kets\":10,\"bytes\":788},{\"direction\":\"egress\",\"verdict\":\"allow\",\"reason\":"
	"\"established\",\"pa"
	"ckets\":12,\"bytes\":912},{\"direction\":\"egress\",\"verdict\":\"allow\",\"reason\":"
	"\"reply\",\"packets"
	"\":8,\"bytes\":642}]}],\"rules\":[{\"namespace\":\"shop\",\"policy\":\"allow-api-to-db\","
	"\"direction\":"
	"\"ingress\",\"index\":0,\"packets\":16,\"bytes\":1264},{\"namespace\":\"shop\",\"policy\":"
	"\"allow-front"
	"end-to-api\",\"direction\":\"ingress\",\"index\":0,\"packets\":16,\"bytes\":1266}]}";
static const char endpoints_reply[] = "{\"endpoints\":[{\"namespace\":\"shop\",\"name\":\"api\","
				      "\"ips\":[\"10.244.1.11\",\"fd00:10:244:1::b\"],"
				      "\"local\":true,\"ifindex\":3,\"ep_id\":2,\"isolated\":{"
				      "\"ingress\":true,\"egress\":false},\"policy_se"
				      "t\":{\"ingress\":1,\"egress\":0},\"veth\":\"pw46697608\"}]}";

static char sock_path[108];
static pid_t fake_pid;

/* Answer each request line with the captured reply for its "cmd". */
static void fake_daemon(int lfd)
{
	for (int n = 0; n < 8; n++) {
		char buf[4096];
		int c = accept(lfd, NULL, NULL);
		ssize_t len;

		if (c < 0)
			_exit(1);
		len = read(c, buf, sizeof(buf) - 1);
		if (len > 0) {
			const char *r = "{\"error\":\"unknown\"}";

			buf[len] = 0;
			if (strstr(buf, "\"counters\""))
				r = counters_reply;
			else if (strstr(buf, "\"endpoints\""))
				r = endpoints_reply;
			if (write(c, r, strlen(r)) < 0 || write(c, "\n", 1) < 0)
				_exit(1);
		}
		close(c);
	}
	_exit(0);
}

static int setup(void **state)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd;

	(void)state;
	snprintf(sock_path, sizeof(sock_path), "/tmp/pwctltest-counters-%d.sock", (int)getpid());
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", sock_path);
	unlink(sock_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fd, 8), 0);
	fake_pid = fork();
	assert_true(fake_pid >= 0);
	if (fake_pid == 0)
		fake_daemon(fd);
	close(fd);
	pw_socket_path = sock_path;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	kill(fake_pid, SIGTERM);
	waitpid(fake_pid, NULL, 0);
	unlink(sock_path);
	pw_socket_path = "/nonexistent/podwalld.sock";
	return 0;
}

/* the table row holding all the words, in order */
static int has_row(const char *out, const char *const *words)
{
	char *copy = strdup(out), *save = NULL;
	int found = 0;

	for (char *l = strtok_r(copy, "\n", &save); l && !found; l = strtok_r(NULL, "\n", &save)) {
		const char *p = l;
		int i;

		for (i = 0; words[i]; i++) {
			p = strstr(p, words[i]);
			if (!p)
				break;
			p += strlen(words[i]);
		}
		found = !words[i];
	}
	free(copy);
	return found;
}

static void test_text_daemon_reply(void **state)
{
	char *argv[] = { "show" };
	char *out;

	(void)state;
	t_reset();
	t_capture_start();
	assert_int_equal(do_counters(1, argv), PW_EXIT_OK);
	out = t_capture_end();
	/* pod names, addresses and veth from the daemon, never "ep N" */
	assert_null(strstr(out, "ep 2"));
	assert_true(has_row(out, (const char *const[]){ "shop/api", "10.244.1.11", "pw46697608",
							"ingress", "drop", "policy-denied",
							"20 pkts", "1.6KB", NULL }));
	assert_true(has_row(out, (const char *const[]){ "shop/api", "egress", "allow", "reply",
							"8 pkts", "642B", NULL }));
	assert_true(has_row(out, (const char *const[]){ "(no local endpoint)", "ingress",
							"neighbour-discovery", "4 pkts", "344B",
							NULL }));
	/* per-rule counters with policy names */
	assert_true(has_row(out, (const char *const[]){ "POLICY", "DIR", "RULE", NULL }));
	assert_true(has_row(out, (const char *const[]){ "shop/allow-api-to-db", "ingress", "0",
							"16 pkts", "1.2KB", NULL }));
	assert_null(strstr(out, " 0 pkts"));
	free(out);
}

static void test_json_daemon_reply(void **state)
{
	json_t *eps, *e;

	(void)state;
	t_reset();
	pw_json = true;
	assert_int_equal(do_counters(0, NULL), PW_EXIT_OK);
	assert_non_null(t_last_json);
	eps = json_object_get(t_last_json, "endpoints");
	assert_int_equal(json_array_size(eps), 2);
	e = json_array_get(eps, 1);
	assert_string_equal(pw_jstr(e, "endpoint"), "shop/api");
	assert_int_equal(json_array_size(json_object_get(e, "counters")), 7);
	assert_int_equal(json_array_size(json_object_get(t_last_json, "rules")), 2);
}

/* The pinned fallback's flat rows print through the same table. */
static void test_text_pinned_shape(void **state)
{
	json_t *o = json_loads("{\"source\":\"pinned\",\"endpoints\":[{\"ep_id\":2,\"direction\":"
			       "\"ingress\",\"verdict\":\"drop\",\"reason\":\"policy-denied\","
			       "\"packets\":3,\"bytes\":180,\"ips\":\"10.0.0.2\",\"veth\":\"v2\"}],"
			       "\"rules\":[{\"rule\":5,\"packets\":1,\"bytes\":60}]}",
			       0, NULL);
	char *out;

	(void)state;
	assert_non_null(o);
	t_reset();
	t_capture_start();
	print_counters(o, NULL);
	out = t_capture_end();
	assert_true(has_row(out, (const char *const[]){ "ep 2", "10.0.0.2", "v2", "ingress", "drop",
							"policy-denied", "3 pkts", "180B", NULL }));
	assert_true(has_row(out, (const char *const[]){ "-", "-", "id 5", "1 pkts", "60B", NULL }));
	free(out);
	json_decref(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_text_daemon_reply, setup, teardown),
		cmocka_unit_test_setup_teardown(test_json_daemon_reply, setup, teardown),
		cmocka_unit_test(test_text_pinned_shape),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
