// SPDX-License-Identifier: MIT
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "names.h"

#define ARGV(...) ((char *[]){ "podwalld", __VA_ARGS__, NULL })
#define ARGC(...) ((int)(sizeof((char *[]){ "podwalld", __VA_ARGS__ }) / sizeof(char *)))

static char err[256];

static int parse(struct pw_config *c, int argc, char **argv, char **envp)
{
	return pw_config_parse(c, argc, argv, envp, err, sizeof(err));
}

static void test_defaults(void **state)
{
	struct pw_config c;

	(void)state;
	assert_int_equal(parse(&c, ARGC("--policy-dir", "/p"), ARGV("--policy-dir", "/p"), NULL),
			 0);
	assert_int_equal(c.action, PW_ACT_RUN);
	assert_string_equal(c.policy_dir, "/p");
	assert_string_equal(c.bpffs, "/sys/fs/bpf/podwall");
	assert_string_equal(c.socket_path, "/run/podwall/podwalld.sock");
	assert_int_equal(c.mode, PW_MODE_ENFORCE);
	assert_int_equal(c.hook, PW_HOOK_TC);
	assert_int_equal(c.metrics_interval, 15);
	assert_int_equal(c.flow_log_max_bytes, 100u << 20);
	assert_false(c.oneshot);
	assert_null(c.flow_log);
	pw_config_free(&c);
}

static void test_all_options(void **state)
{
	struct pw_config c;
	char **argv = ARGV("--policy-dir=/pol", "--mode", "audit", "--hook", "xdp", "--uplink",
			   "eth0,flannel.1", "--service-cidr", "10.96.0.1/12,fd00::/108", "--bpffs",
			   "/sys/fs/bpf/x", "--socket", "/tmp/s.sock", "--flow-log", "/tmp/f.log",
			   "--flow-log-max-bytes", "2M", "--metrics-file", "/tmp/m.prom",
			   "--metrics-interval", "5", "--node-name", "node-1", "--log-level",
			   "debug", "--oneshot", "--log-allowed");
	int argc = 0;
	char buf[INET6_ADDRSTRLEN];

	(void)state;
	while (argv[argc])
		argc++;
	assert_int_equal(parse(&c, argc, argv, NULL), 0);
	assert_int_equal(c.mode, PW_MODE_AUDIT);
	assert_int_equal(c.hook, PW_HOOK_XDP);
	assert_int_equal(c.n_uplinks, 2);
	assert_string_equal(c.uplinks[1], "flannel.1");
	assert_int_equal(c.n_service_cidrs, 2);
	/* host bits masked, IPv4 prefix in the mapped space */
	assert_int_equal(c.service_cidrs[0].plen, 96 + 12);
	assert_string_equal(pw_addr_str(&c.service_cidrs[0].addr, buf, sizeof(buf)), "10.96.0.0");
	assert_int_equal(c.service_cidrs[1].plen, 108);
	assert_string_equal(c.bpffs, "/sys/fs/bpf/x");
	assert_string_equal(c.socket_path, "/tmp/s.sock");
	assert_string_equal(c.flow_log, "/tmp/f.log");
	assert_int_equal(c.flow_log_max_bytes, 2u << 20);
	assert_string_equal(c.metrics_file, "/tmp/m.prom");
	assert_int_equal(c.metrics_interval, 5);
	assert_string_equal(c.node_name, "node-1");
	assert_int_equal(c.log_level, PW_LOG_DEBUG);
	assert_true(c.oneshot);
	assert_true(c.log_allowed);
	pw_config_free(&c);
}

static void test_env_and_precedence(void **state)
{
	struct pw_config c;
	char *envp[] = { "PATH=/bin",
			 "PODWALL_POLICY_DIR=/env/pol",
			 "PODWALL_MODE=audit",
			 "PODWALL_UPLINK=eth0,eth1",
			 "PODWALL_ONESHOT=true",
			 "PODWALL_FLOW_LOG=",
			 "PODWALL_SOCKET=/env.sock",
			 NULL };

	(void)state;
	assert_int_equal(parse(&c, ARGC("--mode", "enforce", "--uplink", "bond0"),
			       ARGV("--mode", "enforce", "--uplink", "bond0"), envp),
			 0);
	assert_string_equal(c.policy_dir, "/env/pol");
	assert_int_equal(c.mode, PW_MODE_ENFORCE); /* command line wins */
	assert_int_equal(c.n_uplinks, 1); /* replaced, not appended */
	assert_string_equal(c.uplinks[0], "bond0");
	assert_true(c.oneshot);
	assert_null(c.flow_log); /* empty variable = unset */
	assert_string_equal(c.socket_path, "/env.sock");
	pw_config_free(&c);
}

static void test_env_bad_value_names_variable(void **state)
{
	struct pw_config c;
	char *envp[] = { "PODWALL_POLICY_DIR=/p", "PODWALL_HOOK=ebpf", NULL };

	(void)state;
	assert_int_equal(parse(&c, 1, ARGV(NULL), envp), -EINVAL);
	assert_non_null(strstr(err, "PODWALL_HOOK"));
	assert_non_null(strstr(err, "ebpf"));
	pw_config_free(&c);
}

static void test_uninstall_needs_no_policy_dir(void **state)
{
	struct pw_config c;

	(void)state;
	assert_int_equal(parse(&c, ARGC("--uninstall", "--bpffs", "/sys/fs/bpf/t"),
			       ARGV("--uninstall", "--bpffs", "/sys/fs/bpf/t"), NULL),
			 0);
	assert_int_equal(c.action, PW_ACT_UNINSTALL);
	assert_string_equal(c.bpffs, "/sys/fs/bpf/t");
	pw_config_free(&c);
}

static void test_help_version(void **state)
{
	struct pw_config c;

	(void)state;
	assert_int_equal(parse(&c, ARGC("--help"), ARGV("--help"), NULL), 0);
	assert_int_equal(c.action, PW_ACT_HELP);
	pw_config_free(&c);
	assert_int_equal(parse(&c, ARGC("-V"), ARGV("-V"), NULL), 0);
	assert_int_equal(c.action, PW_ACT_VERSION);
	pw_config_free(&c);
	assert_int_equal(parse(&c, ARGC("-h", "-V"), ARGV("-h", "-V"), NULL), 0);
	assert_int_equal(c.action, PW_ACT_HELP);
	pw_config_free(&c);
}

static void test_prefix(void **state)
{
	struct pw_config c;

	(void)state;
	assert_int_equal(
		parse(&c, ARGC("--policy", "/p", "--one"), ARGV("--policy", "/p", "--one"), NULL),
		0);
	assert_string_equal(c.policy_dir, "/p");
	assert_true(c.oneshot);
	pw_config_free(&c);
	/* --m could be --mode or --metrics-* */
	assert_int_equal(parse(&c, ARGC("--m", "x"), ARGV("--m", "x"), NULL), -EINVAL);
	assert_non_null(strstr(err, "ambiguous"));
	pw_config_free(&c);
}

struct bad_case {
	const char *a, *b, *needle;
};

static void test_usage_errors(void **state)
{
	static const struct bad_case cases[] = {
		{ "--mode", "block", "enforce, audit" },
		{ "--hook", "tcx", "tc, xdp" },
		{ "--log-level", "trace", "error, warn" },
		{ "--metrics-interval", "0", "between 1" },
		{ "--metrics-interval", "abc", "not a number" },
		{ "--flow-log-max-bytes", "10", "below 4096" },
		{ "--flow-log-max-bytes", "5X", "not a number" },
		{ "--service-cidr", "10.0.0.0/33", "not a CIDR" },
		{ "--service-cidr", "10.0.0.0/8,,fd00::/8", "empty item" },
		{ "--uplink", "averyveryverylongifname0", "interface name" },
		{ "--bpffs", "relative/dir", "absolute" },
		{ "--bogus", "x", "unknown option '--bogus'" },
		{ "--oneshot=1", "x", "takes no value" },
		{ "stray", "x", "unexpected argument 'stray'" },
		{ "-x", "y", "unknown option '-x'" },
	};
	struct pw_config c;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *argv[] = { "podwalld",	     "--policy-dir",	 "/p",
				 (char *)cases[i].a, (char *)cases[i].b, NULL };

		assert_int_equal(parse(&c, 5, argv, NULL), -EINVAL);
		if (!strstr(err, cases[i].needle))
			fail_msg("%s %s: error '%s' lacks '%s'", cases[i].a, cases[i].b, err,
				 cases[i].needle);
		pw_config_free(&c);
	}
	assert_int_equal(parse(&c, ARGC("--mode", "audit"), ARGV("--mode", "audit"), NULL),
			 -EINVAL);
	assert_non_null(strstr(err, "--policy-dir is required"));
	pw_config_free(&c);
	assert_int_equal(parse(&c, ARGC("--policy-dir"), ARGV("--policy-dir"), NULL), -EINVAL);
	assert_non_null(strstr(err, "needs a value"));
	pw_config_free(&c);
}

static void test_pidfile(void **state)
{
	struct pw_config c;
	char buf[256];

	(void)state;
	assert_int_equal(parse(&c, ARGC("--uninstall"), ARGV("--uninstall"), NULL), 0);
	assert_int_equal(pw_config_pidfile(&c, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/run/podwall/podwalld.sock.pid");
	pw_config_free(&c);
	/* Two daemons sharing a socket directory get two pid files. */
	assert_int_equal(parse(&c, ARGC("--uninstall", "--socket", "/run/podwall/b.sock"),
			       ARGV("--uninstall", "--socket", "/run/podwall/b.sock"), NULL),
			 0);
	assert_int_equal(pw_config_pidfile(&c, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/run/podwall/b.sock.pid");
	pw_config_free(&c);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "we");

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static void test_find_daemon(void **state)
{
	char dir[] = "/tmp/pwcfgtestXXXXXX", sock[256], p1[300], p2[300], p3[300], buf[300];
	struct pw_config c;
	int pid = 0;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(sock, sizeof(sock), "%s/podwalld.sock", dir);
	snprintf(p1, sizeof(p1), "%s/a.sock.pid", dir);
	snprintf(p2, sizeof(p2), "%s/b.sock.pid", dir);
	snprintf(p3, sizeof(p3), "%s/podwalld.sock.pid", dir);
	write_file(p1, "1234\n/sys/fs/bpf/one\n");
	write_file(p2, "2345\n/sys/fs/bpf/two\n");
	/* Found by scanning (uninstall without the daemon's --socket). */
	assert_int_equal(
		parse(&c, ARGC("--uninstall", "--socket", sock, "--bpffs", "/sys/fs/bpf/two"),
		      ARGV("--uninstall", "--socket", sock, "--bpffs", "/sys/fs/bpf/two"), NULL),
		0);
	assert_int_equal(pw_config_find_daemon(&c, buf, sizeof(buf), &pid), 0);
	assert_string_equal(buf, p2);
	assert_int_equal(pid, 2345);
	pw_config_free(&c);
	/* Our own socket's pid file first. */
	write_file(p3, "3456\n/sys/fs/bpf/one\n");
	assert_int_equal(
		parse(&c, ARGC("--uninstall", "--socket", sock, "--bpffs", "/sys/fs/bpf/one"),
		      ARGV("--uninstall", "--socket", sock, "--bpffs", "/sys/fs/bpf/one"), NULL),
		0);
	assert_int_equal(pw_config_find_daemon(&c, buf, sizeof(buf), &pid), 0);
	assert_string_equal(buf, p3);
	assert_int_equal(pid, 3456);
	pw_config_free(&c);
	/* No daemon for this bpffs. */
	assert_int_equal(
		parse(&c, ARGC("--uninstall", "--socket", sock, "--bpffs", "/sys/fs/bpf/x"),
		      ARGV("--uninstall", "--socket", sock, "--bpffs", "/sys/fs/bpf/x"), NULL),
		0);
	assert_int_equal(pw_config_find_daemon(&c, buf, sizeof(buf), &pid), -ENOENT);
	pw_config_free(&c);
	unlink(p1);
	unlink(p2);
	unlink(p3);
	rmdir(dir);
}

static void test_usage_lists_every_option(void **state)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	static const char *const names[] = { "--policy-dir",
					     "--mode",
					     "--hook",
					     "--uplink",
					     "--service-cidr",
					     "--bpffs",
					     "--socket",
					     "--flow-log ",
					     "--flow-log-max-bytes",
					     "--metrics-file",
					     "--metrics-interval",
					     "--node-name",
					     "--log-level",
					     "--oneshot",
					     "--log-allowed",
					     "--uninstall",
					     "--help",
					     "--version" };

	(void)state;
	assert_non_null(f);
	pw_config_usage(f);
	fclose(f);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strstr(text, names[i]))
			fail_msg("usage lacks %s", names[i]);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_all_options),
		cmocka_unit_test(test_env_and_precedence),
		cmocka_unit_test(test_env_bad_value_names_variable),
		cmocka_unit_test(test_uninstall_needs_no_policy_dir),
		cmocka_unit_test(test_help_version),
		cmocka_unit_test(test_prefix),
		cmocka_unit_test(test_usage_errors),
		cmocka_unit_test(test_pidfile),
		cmocka_unit_test(test_find_daemon),
		cmocka_unit_test(test_usage_lists_every_option),
	};

	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
