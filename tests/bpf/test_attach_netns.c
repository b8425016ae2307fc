// SPDX-License-Identifier: MIT
/*
 * Attach, discovery and uninstall in a private network namespace (this
 * process setns()es into it, so the host bpffs stays shared, as with
 * `nsenter --net`): routed and bridged discovery, tc filters on both hooks,
 * idempotent re-attach, a foreign filter reported and left alone, a new veth
 * picked up from netlink events, and uninstall leaving no filter and no pin.
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

#include <cmocka.h>

#include <bpf/libbpf.h>

#include "attach.h"
#include "dataplane.h"
#include "dkern_util.h"
#include "netlink.h"

static char ns[64];
static int host_ns = -1;

static void quiet(int level, const char *fmt, ...)
{
	(void)level;
	(void)fmt;
}

static int sh(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(cmd, sizeof(cmd), fmt, ap);
	assert_true(n > 0 && (size_t)n < sizeof(cmd));
	va_end(ap);
	return system(cmd);
}

static union pw_addr v4(uint32_t a)
{
	union pw_addr x = { .w = { 0, 0, 0, 0 } };

	x.b[10] = 0xff;
	x.b[11] = 0xff;
	x.b[12] = a >> 24;
	x.b[13] = a >> 16;
	x.b[14] = a >> 8;
	x.b[15] = a;
	return x;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static int setup(void **state)
{
	char path[128];
	int fd;

	(void)state;
	if (dk_prepare())
		return 0; /* tests skip */
	snprintf(ns, sizeof(ns), "dkern%d", (int)getpid());
	if (sh("ip netns add %s", ns))
		return -1;
	host_ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	snprintf(path, sizeof(path), "/var/run/netns/%s", ns);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWNET))
		return -1;
	close(fd);
	/* routed pod: veth host side dkA0, /32 route; bridged pod: br dkbr, port dkB0 */
	return sh("ip link set lo up && "
		  "ip link add dkA0 type veth peer name dkA1 && ip link set dkA0 up && "
		  "ip link set dkA1 up && ip route add 10.77.0.1/32 dev dkA0 && "
		  "ip link add dkbr type bridge && ip link set dkbr up && "
		  "ip addr add 10.78.0.254/24 dev dkbr && "
		  "ip link add dkB0 type veth peer name dkB1 address 02:00:00:00:78:05 && "
		  "ip link set dkB0 master dkbr && ip link set dkB0 up && ip link set dkB1 up && "
		  "ip neigh replace 10.78.0.5 lladdr 02:00:00:00:78:05 dev dkbr nud permanent && "
		  "bridge fdb replace 02:00:00:00:78:05 dev dkB0 master static");
}

static int teardown(void **state)
{
	(void)state;
	if (host_ns >= 0) {
		setns(host_ns, CLONE_NEWNET);
		close(host_ns);
		sh("ip netns del %s", ns);
	}
	dk_cleanup_objs();
	return 0;
}

static void test_discovery_routed_bridged_annotation(void **state)
{
	(void)state;
	struct pw_nl *nl;
	union pw_addr a[4] = { v4(0x0a4d0001), v4(0x0a4e0005), v4(0x0a4f0009), v4(0x0a4d0002) };
	const char *names[4] = { NULL, NULL, "dkA1", NULL };
	uint32_t ifx[4];
	enum pw_nl_how how[4];
	union pw_addr *host;
	size_t nh;
	int found = 0;
	char kind[32];

	DK_SKIP_UNLESS_READY();
	assert_int_equal(pw_nl_open(0, &nl), 0);
	assert_int_equal(pw_nl_resolve(nl, a, names, 4, ifx, how), 0);
	assert_int_equal(ifx[0], if_nametoindex("dkA0"));
	assert_int_equal(how[0], PW_NL_ROUTE_VETH);
	assert_int_equal(ifx[1], if_nametoindex("dkB0"));
	assert_int_equal(how[1], PW_NL_BRIDGE_FDB);
	assert_int_equal(ifx[2], if_nametoindex("dkA1"));
	assert_int_equal(how[2], PW_NL_ANNOTATION);
	assert_int_equal(ifx[3], 0); /* not local */
	assert_int_equal(pw_nl_link_kind(nl, if_nametoindex("dkbr"), kind, sizeof(kind)), 0);
	assert_string_equal(kind, "bridge");
	assert_int_equal(pw_nl_host_addrs(nl, &host, &nh), 0);
	for (size_t i = 0; i < nh; i++)
		found |= !memcmp(
			&host[i],
			&(union pw_addr){ .b = { [10] = 0xff, [11] = 0xff, 10, 78, 0, 254 } }, 16);
	assert_true(found);
	free(host);
	pw_nl_close(nl);
}

static void one_pod_image(struct pw_image *img, struct pw_img_ep *eps, struct pw_img_pod *pods,
			  uint32_t n, const uint32_t *addrs)
{
	memset(img, 0, sizeof(*img));
	for (uint32_t i = 0; i < n; i++) {
		memset(&eps[i], 0, sizeof(eps[i]));
		memset(&pods[i], 0, sizeof(pods[i]));
		eps[i].addr = v4(addrs[i]);
		eps[i].pod = i;
		eps[i].val.identity = 16 + i;
		pods[i].ns = "t";
		pods[i].name = i ? "b" : "a";
		pods[i].first_ep = i;
		pods[i].n_eps = 1;
	}
	img->eps = eps;
	img->n_eps = n;
	img->pods = pods;
	img->n_pods = n;
}

static void test_attach_reattach_events_uninstall(void **state)
{
	(void)state;
	char dir[128];
	struct pw_dp *dp;
	struct pw_image img;
	struct pw_img_ep eps[3];
	struct pw_img_pod pods[3];
	uint32_t addrs[3] = { 0x0a4d0001, 0x0a4e0005, 0x0a4d0003 };
	int a0, b0, others = -1, changed = 0;
	__u32 id_in, id_eg, id2;
	json_t *st;
	struct stat sb;

	DK_SKIP_UNLESS_READY();
	dk_bpffs_name(dir, sizeof(dir), "attach");
	struct pw_dp_opts o = {
		.bpffs = dir, .tc_obj_path = dk_objs.tc, .xdp_obj_path = dk_objs.xdp, .log = quiet
	};
	a0 = if_nametoindex("dkA0");
	b0 = if_nametoindex("dkB0");
	/* someone else's clsact on dkA0 */
	assert_int_equal(sh("tc qdisc add dev dkA0 clsact"), 0);
	assert_int_equal(pw_dp_open(&o, &dp), 0);
	/* and their filter on dkA0 egress, at a later priority */
	LIBBPF_OPTS(bpf_tc_hook, fh, .ifindex = a0, .attach_point = BPF_TC_EGRESS);
	LIBBPF_OPTS(bpf_tc_opts, fo, .handle = 7, .priority = 10,
		    .prog_fd = pw_loader_prog_fd(pw_dp_loader(dp), "pw_to_pod"));
	assert_int_equal(bpf_tc_attach(&fh, &fo), 0);
	one_pod_image(&img, eps, pods, 2, addrs);
	assert_int_equal(pw_dp_apply(dp, &img), 0);
	assert_int_equal(pw_attach_query(a0, PW_ATT_TC_INGRESS, &id_in), 0);
	assert_int_equal(pw_attach_query(a0, PW_ATT_TC_EGRESS, &id_eg), 0);
	assert_true(id_in && id_eg && id_in != id_eg);
	assert_int_equal(pw_attach_query(b0, PW_ATT_TC_INGRESS, &id2), 0);
	assert_int_equal(id2, id_in);
	assert_int_equal(pw_tc_count_others(a0, PW_ATT_TC_EGRESS, &others), 0);
	assert_int_equal(others, 1);
	assert_int_equal(pw_dp_status(dp, &st), 0);
	assert_int_equal(json_integer_value(json_object_get(st, "epoch")), 1);
	assert_int_equal(json_array_size(json_object_get(st, "interfaces")), 2);
	json_decref(st);

	/* idempotent re-apply: same filters (replaced in place), new generation */
	assert_int_equal(pw_dp_apply(dp, &img), 0);
	assert_int_equal(pw_attach_query(a0, PW_ATT_TC_INGRESS, &id2), 0);
	assert_int_equal(id2, id_in);
	assert_int_equal(sh("test $(tc filter show dev dkA0 ingress | grep -c 'handle 0x5057') "
			    "-eq 1"),
			 0);

	/* a new pod veth appears: netlink event -> maps -> attach */
	one_pod_image(&img, eps, pods, 3, addrs);
	assert_int_equal(pw_dp_apply(dp, &img), 0); /* 10.77.0.3 not yet local */
	uint64_t t0 = mono_ns();
	assert_int_equal(sh("ip link add dkC0 type veth peer name dkC1 && ip link set dkC0 up && "
			    "ip link set dkC1 up && ip route add 10.77.0.3/32 dev dkC0"),
			 0);
	uint64_t t1 = mono_ns();
	for (int i = 0; i < 50 && !changed; i++) {
		struct timespec ts = { 0, 2000000 };

		assert_int_equal(pw_dp_on_netlink(dp, &changed), 0);
		if (!changed)
			nanosleep(&ts, NULL);
	}
	uint64_t t2 = mono_ns();
	assert_true(changed);
	assert_int_equal(pw_attach_query(if_nametoindex("dkC0"), PW_ATT_TC_INGRESS, &id2), 0);
	assert_int_equal(id2, id_in);
	print_message("new veth: created in %.1f ms (ip), enforced %.1f ms after the route\n",
		      (t1 - t0) / 1e6, (t2 - t1) / 1e6);
	/* the pod goes away (route removed): its veth is detached */
	assert_int_equal(sh("ip route del 10.77.0.3/32 dev dkC0"), 0);
	changed = 0;
	for (int i = 0; i < 50 && !changed; i++) {
		struct timespec ts = { 0, 2000000 };

		assert_int_equal(pw_dp_on_netlink(dp, &changed), 0);
		if (!changed)
			nanosleep(&ts, NULL);
	}
	assert_true(changed);
	assert_int_equal(pw_attach_query(if_nametoindex("dkC0"), PW_ATT_TC_INGRESS, &id2), 0);
	assert_int_equal(id2, 0);
	pw_dp_close(dp); /* SIGTERM: enforcement stays */
	assert_int_equal(pw_attach_query(a0, PW_ATT_TC_INGRESS, &id2), 0);
	assert_int_equal(id2, id_in);

	/* restart with --hook xdp: re-adopts, moves pod-sent direction to XDP */
	o.hook_xdp = 1;
	assert_int_equal(pw_dp_open(&o, &dp), 0);
	assert_int_equal(pw_dp_apply(dp, &img), 0);
	assert_int_equal(pw_attach_query(a0, PW_ATT_XDP, &id2), 0);
	assert_true(id2 != 0);
	assert_int_equal(pw_attach_query(a0, PW_ATT_TC_INGRESS, &id2), 0);
	assert_int_equal(id2, 0);
	pw_dp_close(dp);

	assert_int_equal(pw_dp_uninstall(dir, quiet), 0);
	assert_true(stat(dir, &sb) != 0);
	for (int i = 0; i < 3; i++) {
		int ifx = if_nametoindex(i == 0 ? "dkA0" : i == 1 ? "dkB0" : "dkC0");

		for (int h = PW_ATT_TC_INGRESS; h <= PW_ATT_XDP; h++) {
			assert_int_equal(pw_attach_query(ifx, h, &id2), 0);
			assert_int_equal(id2, 0);
		}
	}
	/* the foreign filter and its qdisc stay; qdiscs we created are gone */
	assert_int_equal(sh("tc filter show dev dkA0 egress | grep -q 'handle 0x7 '"), 0);
	assert_int_equal(sh("tc qdisc show dev dkB0 | grep -q clsact"), 256);
	assert_int_equal(sh("ip link show dkA0 | grep -q xdp"), 256);
}

/* A silent pod in a bridge's subnet: the resolution asks the kernel to
 * resolve it (a neighbour entry appears, no traffic of ours), once per
 * backoff period; an address outside every bridge subnet is not asked. */
static void test_solicit_silent_bridged(void **state)
{
	(void)state;
	struct pw_nl *nl;
	union pw_addr a[2] = { v4(0x0a4e0006), v4(0x0a500006) }; /* 10.78.0.6, 10.80.0.6 */
	uint32_t ifx[2];

	DK_SKIP_UNLESS_READY();
	assert_int_equal(pw_nl_open(0, &nl), 0);
	assert_int_equal(sh("ip neigh show 10.78.0.6 dev dkbr | grep -q ."), 256);
	assert_int_equal(pw_nl_resolve(nl, a, NULL, 2, ifx, NULL), 0);
	assert_int_equal(ifx[0], 0);
	assert_int_equal(ifx[1], 0);
	assert_int_equal(pw_nl_solicits(nl), 1);
	/* the kernel is resolving it now */
	assert_int_equal(sh("ip neigh show 10.78.0.6 dev dkbr | grep -q ."), 0);
	assert_int_equal(sh("ip neigh show 10.80.0.6 | grep -q ."), 256);
	/* backoff: not asked again right away, but the caller knows when to */
	assert_int_equal(pw_nl_resolve(nl, a, NULL, 2, ifx, NULL), 0);
	assert_int_equal(pw_nl_solicits(nl), 1);
	assert_int_equal(pw_nl_solicit_pending(nl), 1);
	assert_true(pw_nl_solicit_due_ms(nl) > 0 && pw_nl_solicit_due_ms(nl) <= 1001);
	pw_nl_close(nl);
	sh("ip neigh del 10.78.0.6 dev dkbr 2>/dev/null");
}

/* A bridged pod whose neighbour entry vanished stays attached while its
 * veth exists; --node-name keeps pods of other nodes from being local. */
static void test_bridged_kept_and_node_name(void **state)
{
	(void)state;
	char dir[128];
	struct pw_dp *dp;
	struct pw_image img;
	struct pw_img_ep eps[2];
	struct pw_img_pod pods[2];
	uint32_t addrs[2] = { 0x0a4d0001, 0x0a4e0005 }; /* routed a, bridged b */
	int a0, b0, changed = 0;
	__u32 id;
	json_t *st;

	DK_SKIP_UNLESS_READY();
	dk_bpffs_name(dir, sizeof(dir), "kept");
	struct pw_dp_opts o = { .bpffs = dir,
				.tc_obj_path = dk_objs.tc,
				.xdp_obj_path = dk_objs.xdp,
				.log = quiet,
				.node_name = "node-1" };
	a0 = if_nametoindex("dkA0");
	b0 = if_nametoindex("dkB0");
	one_pod_image(&img, eps, pods, 2, addrs);
	pods[0].node_name = "node-2"; /* a: scheduled elsewhere */
	pods[1].node_name = "node-1";
	assert_int_equal(pw_dp_open(&o, &dp), 0);
	assert_int_equal(pw_dp_apply(dp, &img), 0);
	assert_int_equal(pw_attach_query(a0, PW_ATT_TC_EGRESS, &id), 0);
	assert_int_equal(id, 0); /* routed to a veth here, but not this node's pod */
	assert_int_equal(pw_attach_query(b0, PW_ATT_TC_EGRESS, &id), 0);
	assert_true(id != 0);

	/* b's neighbour entry goes (a bridge MAC change flushes them) */
	assert_int_equal(sh("ip neigh del 10.78.0.5 dev dkbr"), 0);
	for (int i = 0; i < 20; i++) {
		struct timespec ts = { 0, 2000000 };

		assert_int_equal(pw_dp_on_netlink(dp, &changed), 0);
		nanosleep(&ts, NULL);
	}
	assert_int_equal(pw_attach_query(b0, PW_ATT_TC_EGRESS, &id), 0);
	assert_true(id != 0); /* still attached */
	assert_int_equal(pw_dp_status(dp, &st), 0);
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(json_object_get(st, "interfaces"), 0), "how")),
			    "bridge-kept");
	assert_true(json_integer_value(json_object_get(st, "neighbour_solicits")) >= 1);
	json_decref(st);

	/* without --node-name a is local as well */
	pw_dp_close(dp);
	o.node_name = NULL;
	assert_int_equal(pw_dp_open(&o, &dp), 0);
	assert_int_equal(pw_dp_apply(dp, &img), 0);
	assert_int_equal(pw_attach_query(a0, PW_ATT_TC_EGRESS, &id), 0);
	assert_true(id != 0);
	pw_dp_close(dp);
	assert_int_equal(pw_dp_uninstall(dir, quiet), 0);
	sh("ip neigh replace 10.78.0.5 lladdr 02:00:00:00:78:05 dev dkbr nud permanent");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_discovery_routed_bridged_annotation),
		cmocka_unit_test(test_attach_reattach_events_uninstall),
		cmocka_unit_test(test_solicit_silent_bridged),
		cmocka_unit_test(test_bridged_kept_and_node_name),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
