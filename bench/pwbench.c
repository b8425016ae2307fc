// SPDX-License-Identifier: MIT
/*
 * pwbench: the packet-rate, swap and update-latency measurements of
 * `make bench` (scripts/bench.sh builds the namespaces and the nftables /
 * iptables baselines, and calls this tool).  See /work/shared/BENCH-NOTES.md.
 *
 *   pwbench gen    live-frames traffic from a pod namespace into its host
 *                  veth, optionally with a BPF enforcement attached there
 *                  (floors, podwall tc/XDP); prints one JSON object.
 *   pwbench swap   podwall tc on allowed traffic while the policy is swapped
 *                  (double-buffered slots) N times; counts lost packets.
 *   pwbench update one rule change -> first packet decided by it, through
 *                  the map writer path (inactive slot, epoch store), with
 *                  BPF_PROG_TEST_RUN probes.
 *
 * Every frame is accounted for: frames generated (the generator's counter),
 * frames the host veth took in (its rx statistics), frames the enforcement
 * dropped (its own counter), frames forwarded (the next device's tx).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/if_link.h>
#include <linux/membarrier.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "podwall/abi.h"

#define MAX_WINDOWS 64
#define FRAME_LEN 60

struct pwb_cfg {
	uint8_t dmac[6];
	uint8_t smac[6];
	uint32_t saddr;
	uint32_t nsrc;
	uint32_t daddr;
	uint32_t ndst;
	uint16_t dport;
	uint16_t nports;
	uint16_t sport;
	uint16_t nsports;
	uint32_t nflows;
};

struct opts {
	const char *pod_ns, *node_ns, *gen_if, *rx_if, *fwd_if, *attach, *objdir, *pin, *label;
	const char *benchobj, *peer_if;
	const char *pair; /* tc-drop | xdp-drop: alternate windows with this floor */
	int windows, window_ms, warmup_ms, entries, cpu, swaps, trials;
	uint32_t ndst, nflows, nsrc;
	uint16_t dport, nports;
	int allow; /* fill allow entries for the generated traffic */
	int uplink; /* destinations are local pods (uplink prefilter) */
};

static struct opts o = {
	.gen_if = "eth0",
	.windows = 7,
	.window_ms = 400,
	.warmup_ms = 300,
	.entries = 10,
	.cpu = 1,
	.ndst = 4096,
	.dport = 1000,
	.nports = 1000,
	.nsrc = 1,
	.swaps = 1000,
	.trials = 200,
	.objdir = "build",
	.label = "run",
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static int enter_ns(const char *name)
{
	char path[256];
	int fd, err = 0;

	snprintf(path, sizeof(path), "/var/run/netns/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (setns(fd, CLONE_NEWNET))
		err = -errno;
	close(fd);
	return err;
}

/* Device counters of the calling thread's namespace. */
struct devstat {
	uint64_t rx, rx_drop, tx, tx_drop;
};

static int dev_stats(const char *ifname, struct devstat *ret)
{
	char line[512], name[64];
	FILE *f = fopen("/proc/thread-self/net/dev", "re");
	unsigned long long v[16];
	int err = -ENODEV;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *c = strchr(line, ':');

		if (!c)
			continue;
		*c = ' ';
		if (sscanf(line, " %63s %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu",
			   name, &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8],
			   &v[9], &v[10], &v[11]) != 13)
			continue;
		if (strcmp(name, ifname))
			continue;
		ret->rx = v[1];
		ret->rx_drop = v[3];
		ret->tx = v[9];
		ret->tx_drop = v[11];
		err = 0;
		break;
	}
	fclose(f);
	return err;
}

static int dev_mac(const char *ifname, uint8_t mac[6])
{
	struct ifreq ifr = {};
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), err = 0;

	if (s < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(s, SIOCGIFHWADDR, &ifr))
		err = -errno;
	else
		memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	close(s);
	return err;
}

/* Busy nanoseconds of one CPU (USER_HZ jiffies). */
static uint64_t cpu_busy_ns(int cpu)
{
	char line[512], want[16];
	unsigned long long u, n, s, idle, io, irq, sirq, st;
	uint64_t busy = 0;
	FILE *f = fopen("/proc/stat", "re");

	if (!f)
		return 0;
	snprintf(want, sizeof(want), "cpu%d ", cpu);
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, want, strlen(want)))
			continue;
		if (sscanf(line + strlen(want), "%llu %llu %llu %llu %llu %llu %llu %llu", &u, &n,
			   &s, &idle, &io, &irq, &sirq, &st) == 8)
			busy = (u + n + s + irq + sirq) * (1000000000ull / sysconf(_SC_CLK_TCK));
		break;
	}
	fclose(f);
	return busy;
}

static uint64_t percpu_sum(int map_fd, uint32_t key, int words)
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t vals[ncpu * words], sum = 0;

	if (bpf_map_lookup_elem(map_fd, &key, vals))
		return 0;
	for (int i = 0; i < ncpu; i++)
		sum += vals[i * words];
	return sum;
}

/* ---- podwall maps ---- */

struct pw {
	struct bpf_object *tc, *xdp;
	int state, ep, ifm, pol, cnt, ct, host;
};

static void addr4(union pw_addr *a, uint32_t host_order)
{
	memset(a, 0, sizeof(*a));
	a->b[10] = 0xff;
	a->b[11] = 0xff;
	a->w[3] = htonl(host_order);
}

static struct bpf_object *open_pw(const char *name)
{
	char path[512];
	struct bpf_object *obj;
	LIBBPF_OPTS(bpf_object_open_opts, oo, .pin_root_path = o.pin);

	snprintf(path, sizeof(path), "%s/bpf/%s.bpf.o", o.objdir, name);
	obj = bpf_object__open_file(path, &oo);
	if (!obj || libbpf_get_error(obj)) {
		fprintf(stderr, "pwbench: cannot open %s\n", path);
		return NULL;
	}
	if (bpf_object__load(obj)) {
		fprintf(stderr, "pwbench: cannot load %s\n", path);
		bpf_object__close(obj);
		return NULL;
	}
	return obj;
}

static int map_fd(struct bpf_object *obj, const char *name)
{
	struct bpf_map *m = bpf_object__find_map_by_name(obj, name);

	return m ? bpf_map__fd(m) : -1;
}

static int prog_fd(struct bpf_object *obj, const char *name)
{
	struct bpf_program *p = bpf_object__find_program_by_name(obj, name);

	return p ? bpf_program__fd(p) : -1;
}

#define POD_ADDR 0x0ac80002u /* 10.200.0.2 */
#define POD_ID 16u
#define DST_ID0 100u
#define SET_EGRESS 1u
#define SET_INGRESS 2u

static int pw_write_state(struct pw *pw, uint64_t epoch)
{
	struct pw_state st = {
		.epoch = epoch,
		.abi_version = PW_ABI_VERSION,
		.flags = PW_STATE_ENFORCING,
		.events_per_sec = 1000,
		.events_burst = 100,
	};
	uint32_t zero = 0;

	return bpf_map_update_elem(pw->state, &zero, &st, BPF_ANY);
}

/* The policy entry number i of an N-entry policy: TCP entries for the
 * destinations' identities (the generated UDP traffic never matches them). */
static void pol_entry(uint32_t slot, uint32_t i, struct pw_pol_key *k)
{
	memset(k, 0, sizeof(*k));
	k->slot = slot;
	k->set_id = i & 1 ? SET_INGRESS : SET_EGRESS;
	k->dir = i & 1 ? PW_DIR_INGRESS : PW_DIR_EGRESS;
	k->peer_id = i & 1 ? POD_ID : DST_ID0 + (i / 2) % o.ndst;
	k->proto = PW_PROTO_TCP;
	k->port = 1 + (uint16_t)((i / 2) / o.ndst);
}

/* One slot's worth of the benchmark policy. */
static int pw_fill_slot(struct pw *pw, uint32_t slot, uint32_t ifindex, uint32_t dbase)
{
	struct pw_ep_key ek = { .slot = slot };
	struct pw_endpoint ev = {};
	struct pw_pol_key pk;
	struct pw_pol_val pv = {};
	/* no service prefixes in this world: an empty, complete list */
	struct pw_hosts hosts = { .n = 2, .flags = PW_HOSTS_COMPLETE | PW_HOSTS_DEFER_COMPLETE };
	uint32_t bloom = PW_SET_PORT_BLOOM, i;
	int err;

	/* The hints the compiler derives from the entries below: the port
	 * summary of every exact-port entry (both sets, as a superset), and the
	 * node's addresses (scripts/bench.sh: 10.200.0.1, 10.250.0.1 or
	 * 10.200.1.1) in pw_host_v1 as the daemon writes them. */
	for (i = 0; i < (uint32_t)o.entries; i++) {
		pol_entry(slot, i, &pk);
		bloom |= pw_port_bloom_bit(pk.proto, pk.port);
	}
	if (o.allow)
		for (uint32_t p = 0; p < o.nports; p++)
			bloom |= pw_port_bloom_bit(PW_PROTO_UDP, (uint16_t)(o.dport + p));
	addr4(&hosts.addr[0], 0x0ac80001);
	addr4(&hosts.addr[1], o.uplink ? 0x0afa0001 : 0x0ac80101);
	if ((err = bpf_map_update_elem(pw->host, &slot, &hosts, BPF_ANY)))
		return err;

	/* the sending pod: local, egress-isolated by set 1.  Hints: PEER and
	 * ANY (every lookup the order allows, also in deny mode where no ANY
	 * entry exists), NO_PORT0 as the compiler sets it (no port-0 entry). */
	addr4(&ek.addr, POD_ADDR);
	ev.identity = POD_ID;
	ev.ifindex = ifindex;
	ev.flags = PW_EP_LOCAL;
	ev.ep_id = 1;
	ev.set_id[PW_DIR_EGRESS] = SET_EGRESS;
	ev.set_flags[PW_DIR_EGRESS] = PW_SET_PEER | PW_SET_ANY | PW_SET_NO_PORT0_ALL | bloom;
	if ((err = bpf_map_update_elem(pw->ep, &ek, &ev, BPF_ANY)))
		return err;
	/* destinations: pods, ingress-isolated by set 2 (local ones for the
	 * uplink prefilter, remote ones otherwise) */
	for (uint32_t i = 0; i < o.ndst; i++) {
		addr4(&ek.addr, dbase + i);
		memset(&ev, 0, sizeof(ev));
		ev.identity = DST_ID0 + i;
		ev.flags = o.uplink ? PW_EP_LOCAL : 0;
		ev.ifindex = o.uplink ? 999999 : 0;
		ev.ep_id = o.uplink ? 2 + i % (PW_MAX_LOCAL_EPS - 2) : 0;
		ev.set_id[PW_DIR_INGRESS] = SET_INGRESS;
		ev.set_flags[PW_DIR_INGRESS] = PW_SET_PEER | PW_SET_ANY | PW_SET_NO_PORT0_ALL | bloom;
		if ((err = bpf_map_update_elem(pw->ep, &ek, &ev, BPF_ANY)))
			return err;
	}
	for (uint32_t i = 0; i < (uint32_t)o.entries; i++) {
		pol_entry(slot, i, &pk);
		pv.rule_id = 1 + i % (PW_MAX_RULES - 1);
		if ((err = bpf_map_update_elem(pw->pol, &pk, &pv, BPF_ANY)))
			return err;
	}
	if (o.allow) {
		/* the generated flows are allowed: UDP to any peer on the ports */
		for (uint32_t p = 0; p < o.nports; p++) {
			memset(&pk, 0, sizeof(pk));
			pk.slot = slot;
			pk.set_id = SET_EGRESS;
			pk.dir = PW_DIR_EGRESS;
			pk.peer_id = PW_ID_ANY;
			pk.proto = PW_PROTO_UDP;
			pk.port = o.dport + p;
			pv.rule_id = 1;
			if ((err = bpf_map_update_elem(pw->pol, &pk, &pv, BPF_ANY)))
				return err;
		}
	}
	return 0;
}

static int pw_open(struct pw *pw, uint32_t ifindex, uint32_t dbase)
{
	int err;

	memset(pw, 0, sizeof(*pw));
	pw->tc = open_pw("podwall_tc");
	if (!pw->tc)
		return -ENOENT;
	pw->xdp = open_pw("podwall_xdp"); /* optional */
	pw->state = map_fd(pw->tc, "pw_state_v1");
	pw->ep = map_fd(pw->tc, "pw_ep_v1");
	pw->ifm = map_fd(pw->tc, "pw_if_v1");
	pw->pol = map_fd(pw->tc, "pw_pol_v1");
	pw->cnt = map_fd(pw->tc, "pw_cnt_v2");
	pw->ct = map_fd(pw->tc, "pw_ct_v1");
	pw->host = map_fd(pw->tc, "pw_host_v1");
	if (pw->state < 0 || pw->ep < 0 || pw->pol < 0 || pw->cnt < 0 || pw->host < 0)
		return -ENOENT;
	/* both slots hold the policy, as after a writer's steady state */
	if ((err = pw_fill_slot(pw, 0, ifindex, dbase)) || (err = pw_fill_slot(pw, 1, ifindex, dbase)))
		return err;
	return pw_write_state(pw, 2);
}

static void pw_close(struct pw *pw)
{
	if (pw->xdp)
		bpf_object__close(pw->xdp);
	if (pw->tc)
		bpf_object__close(pw->tc);
}

/* podwall's verdict counters: drops (reasons 32..47) and allows (< 32). */
static void pw_counts(struct pw *pw, uint64_t *ret_drop, uint64_t *ret_allow)
{
	int ncpu = libbpf_num_possible_cpus();
	uint32_t n = PW_CNT_SLOTS, out = 0, got = n;
	uint32_t *keys = calloc(n, sizeof(*keys));
	struct pw_counters *v = calloc((size_t)n * ncpu, sizeof(*v));
	uint64_t drop = 0, allow = 0;
	LIBBPF_OPTS(bpf_map_batch_opts, bo);

	/* one batched read: the counters are read while traffic flows */
	if (keys && v && !bpf_map_lookup_batch(pw->cnt, NULL, &out, keys, v, &got, &bo)) {
		for (uint32_t i = 0; i < got; i++) {
			for (uint32_t code = 0; code < PW_CNT_AUDIT(PW_REASON_FIRST_DROP); code++) {
				for (int c = 0; c < ncpu; c++) {
					uint64_t pk = v[(size_t)i * ncpu + c].code[code].packets;

					if (code >= PW_REASON_FIRST_DROP)
						drop += pk;
					else
						allow += pk;
				}
			}
		}
	} else {
		fprintf(stderr, "pwbench: cannot read podwall counters\n");
	}
	free(keys);
	free(v);
	*ret_drop = drop;
	*ret_allow = allow;
}

/* ---- the generator ---- */

struct gen {
	int prog, cnt_fd;
	uint32_t ifindex;
	pthread_t th;
	volatile int done;
	int err;
	uint64_t calls;
};

static void on_sigusr1(int sig)
{
	(void)sig;
}

static void *gen_main(void *arg)
{
	struct gen *g = arg;
	uint8_t frame[FRAME_LEN] = {};
	struct xdp_md ctx = { .data_end = FRAME_LEN, .ingress_ifindex = g->ifindex };
	cpu_set_t cs;

	CPU_ZERO(&cs);
	CPU_SET(o.cpu, &cs);
	pthread_setaffinity_np(pthread_self(), sizeof(cs), &cs);
	/* Bounded: one call of at most 2^30 frames, stopped by a signal. */
	while (!g->done && g->calls < 1000) {
		LIBBPF_OPTS(bpf_test_run_opts, t, .data_in = frame, .data_size_in = sizeof(frame),
			    .ctx_in = &ctx, .ctx_size_in = sizeof(ctx),
			    .flags = BPF_F_TEST_XDP_LIVE_FRAMES, .repeat = 1 << 30);
		int err = bpf_prog_test_run_opts(g->prog, &t);

		g->calls++;
		if (err && errno != EINTR) {
			g->err = -errno;
			break;
		}
	}
	return NULL;
}

struct win {
	double pps, ns_per_pkt, cpu_ns;
};

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double pct(double *v, int n, double p)
{
	double s[MAX_WINDOWS];
	int i;

	if (n <= 0)
		return 0;
	memcpy(s, v, n * sizeof(double));
	qsort(s, n, sizeof(double), cmp_d);
	i = (int)(p * (n - 1) + 0.5);
	return s[i];
}

static int tc_attach(int ifindex, int fd, enum bpf_tc_attach_point where)
{
	LIBBPF_OPTS(bpf_tc_hook, h, .ifindex = ifindex, .attach_point = where);
	LIBBPF_OPTS(bpf_tc_opts, to, .prog_fd = fd, .handle = 1, .priority = 1,
		    .flags = BPF_TC_F_REPLACE);
	int err = bpf_tc_hook_create(&h);

	if (err && err != -EEXIST)
		return err;
	return bpf_tc_attach(&h, &to);
}

static int tc_remove(int ifindex)
{
	LIBBPF_OPTS(bpf_tc_hook, h, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, to, .handle = 1, .priority = 1);

	return bpf_tc_detach(&h, &to);
}

static void tc_detach(int ifindex)
{
	LIBBPF_OPTS(bpf_tc_hook, h, .ifindex = ifindex,
		    .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);
	bpf_tc_hook_destroy(&h);
}

struct rig {
	struct bpf_object *pwb;
	struct pw pw;
	int have_pw;
	struct gen g;
	int rx_ifindex;
	int xdp_attached, tc_attached;
	int subject_fd; /* the program under test, -1 for none (netfilter) */
	uint32_t dbase;
};

/* Put the paired floor (on) or the subject (off) on the host veth. */
static int rig_floor(struct rig *r, int on)
{
	int xdp = !strcmp(o.pair, "xdp-drop");
	int floor = prog_fd(r->pwb, xdp ? "pwb_xdp_drop" : "pwb_tc_drop");

	if (xdp) {
		if (on)
			return bpf_xdp_attach(r->rx_ifindex, floor, XDP_FLAGS_DRV_MODE, NULL);
		if (r->xdp_attached)
			return bpf_xdp_attach(r->rx_ifindex, r->subject_fd, XDP_FLAGS_DRV_MODE, NULL);
		return bpf_xdp_detach(r->rx_ifindex, XDP_FLAGS_DRV_MODE, NULL);
	}
	if (on)
		return tc_attach(r->rx_ifindex, floor, BPF_TC_INGRESS);
	if (r->tc_attached)
		return tc_attach(r->rx_ifindex, r->subject_fd, BPF_TC_INGRESS);
	return tc_remove(r->rx_ifindex);
}

static int rig_setup(struct rig *r)
{
	char path[512];
	struct pwb_cfg cfg = {};
	uint32_t zero = 0;
	int err, cfg_fd;

	memset(r, 0, sizeof(*r));
	r->subject_fd = -1;
	if (!o.pod_ns || !o.node_ns || !o.rx_if) {
		fprintf(stderr, "pwbench: --pod-ns, --node-ns and --rx-if are required\n");
		return -EINVAL;
	}
	if ((err = enter_ns(o.node_ns))) {
		fprintf(stderr, "pwbench: netns %s: %s\n", o.node_ns, strerror(-err));
		return err;
	}
	r->rx_ifindex = if_nametoindex(o.rx_if);
	if (!r->rx_ifindex || dev_mac(o.rx_if, cfg.dmac)) {
		fprintf(stderr, "pwbench: no device %s in %s\n", o.rx_if, o.node_ns);
		return -ENODEV;
	}
	snprintf(path, sizeof(path), "%s", o.benchobj ? o.benchobj : "build/bench/pwb.bpf.o");
	r->pwb = bpf_object__open_file(path, NULL);
	if (!r->pwb || libbpf_get_error(r->pwb) || bpf_object__load(r->pwb)) {
		fprintf(stderr, "pwbench: cannot load %s\n", path);
		r->pwb = NULL;
		return -ENOENT;
	}
	r->dbase = o.uplink ? 0x0ac90000u : 0x0ac90000u; /* 10.201.0.0 */
	cfg.saddr = htonl(o.uplink ? 0x0a640001u /* 10.100.0.1: world */ : POD_ADDR);
	cfg.nsrc = o.nsrc;
	cfg.daddr = r->dbase;
	cfg.ndst = o.ndst;
	cfg.dport = o.dport;
	cfg.nports = o.nports;
	cfg.sport = 10000;
	cfg.nsports = 50000;
	cfg.nflows = o.nflows;
	cfg.smac[0] = 0x02;
	cfg.smac[5] = 0x02;
	cfg_fd = map_fd(r->pwb, "pwb_cfg_map");
	if (bpf_map_update_elem(cfg_fd, &zero, &cfg, BPF_ANY))
		return -errno;
	r->g.prog = prog_fd(r->pwb, "pwb_gen");
	r->g.cnt_fd = map_fd(r->pwb, "pwb_gen_cnt");

	if (o.attach && strcmp(o.attach, "none")) {
		int fd = -1;

		if (!strncmp(o.attach, "pw-", 3)) {
			if (!o.pin) {
				fprintf(stderr, "pwbench: --pin is required for podwall\n");
				return -EINVAL;
			}
			o.uplink = !strcmp(o.attach, "pw-uplink");
			if ((err = pw_open(&r->pw, r->rx_ifindex, r->dbase))) {
				fprintf(stderr, "pwbench: podwall maps: %s\n", strerror(-err));
				return err;
			}
			r->have_pw = 1;
		}
		if (!strcmp(o.attach, "tc-drop")) {
			fd = prog_fd(r->pwb, "pwb_tc_drop");
			r->tc_attached = 1;
		} else if (!strcmp(o.attach, "xdp-drop")) {
			fd = prog_fd(r->pwb, "pwb_xdp_drop");
			r->xdp_attached = 1;
		} else if (!strcmp(o.attach, "pw-tc")) {
			fd = prog_fd(r->pw.tc, "pw_from_pod");
			r->tc_attached = 1;
		} else if (!strcmp(o.attach, "pw-xdp") || !strcmp(o.attach, "pw-uplink")) {
			if (!r->pw.xdp)
				return -ENOENT;
			fd = prog_fd(r->pw.xdp, !strcmp(o.attach, "pw-xdp") ? "pw_xdp_from_pod" :
									     "pw_xdp_uplink");
			r->xdp_attached = 1;
		} else {
			fprintf(stderr, "pwbench: unknown --attach %s\n", o.attach);
			return -EINVAL;
		}
		if (fd < 0)
			return -ENOENT;
		r->subject_fd = fd;
		if (r->tc_attached)
			err = tc_attach(r->rx_ifindex, fd, BPF_TC_INGRESS);
		else
			err = bpf_xdp_attach(r->rx_ifindex, fd, XDP_FLAGS_DRV_MODE, NULL);
		if (err) {
			fprintf(stderr, "pwbench: attach %s: %s\n", o.attach, strerror(-err));
			r->tc_attached = r->xdp_attached = 0;
			return err;
		}
	}
	return 0;
}

static void rig_teardown(struct rig *r)
{
	if (r->tc_attached || o.pair)
		tc_detach(r->rx_ifindex);
	if (r->xdp_attached || o.pair)
		bpf_xdp_detach(r->rx_ifindex, XDP_FLAGS_DRV_MODE, NULL);
	if (r->have_pw)
		pw_close(&r->pw);
	if (r->pwb)
		bpf_object__close(r->pwb);
}

/* The generator runs in its own thread, in the pod namespace. */
static void *gen_thread(void *arg)
{
	struct gen *g = arg;
	int err = enter_ns(o.pod_ns);

	if (err) {
		g->err = err;
		return NULL;
	}
	g->ifindex = if_nametoindex(o.gen_if);
	if (!g->ifindex) {
		g->err = -ENODEV;
		return NULL;
	}
	return gen_main(g);
}

static int gen_start(struct gen *g)
{
	struct sigaction sa = { .sa_handler = on_sigusr1 }; /* no SA_RESTART */

	sigaction(SIGUSR1, &sa, NULL);
	return -pthread_create(&g->th, NULL, gen_thread, g);
}

static void gen_stop(struct gen *g)
{
	g->done = 1;
	for (int i = 0; i < 200; i++) {
		if (pthread_tryjoin_np(g->th, NULL) == 0)
			return;
		pthread_kill(g->th, SIGUSR1);
		sleep_ms(10);
	}
	pthread_join(g->th, NULL);
}

static uint64_t gen_count(struct gen *g)
{
	return percpu_sum(g->cnt_fd, 0, 1);
}

static int cmd_gen(void)
{
	struct rig r;
	struct devstat a, b, f0 = {}, f1 = {}, end;
	struct win w[MAX_WINDOWS];
	double pps[MAX_WINDOWS], ns[MAX_WINDOWS], cpu[MAX_WINDOWS];
	double fpps[MAX_WINDOWS] = {}, rat[MAX_WINDOWS] = {};
	int nf = 0;
	uint64_t g1, t0, t1, c0, c1, dsum = 0, drop0 = 0, drop1 = 0, allow0 = 0, allow1 = 0;
	uint64_t start_rx, start_gen;
	int err, n = 0, drop_fd;

	if (o.windows > MAX_WINDOWS)
		o.windows = MAX_WINDOWS;
	err = rig_setup(&r);
	if (err)
		goto out;
	drop_fd = map_fd(r.pwb, "pwb_drop_cnt");
	/* whole-run totals: from before the first frame to after the last */
	if (r.have_pw)
		pw_counts(&r.pw, &drop0, &allow0);
	dsum = percpu_sum(drop_fd, 0, 1);
	dev_stats(o.rx_if, &a);
	if (o.fwd_if)
		dev_stats(o.fwd_if, &f0);
	start_rx = a.rx;
	start_gen = gen_count(&r.g);
	if ((err = gen_start(&r.g)))
		goto out;
	sleep_ms(o.warmup_ms);
	if (r.g.err) {
		err = r.g.err;
		fprintf(stderr, "pwbench: generator: %s\n", strerror(-err));
		gen_stop(&r.g);
		goto out;
	}
	/* whole-run counters start after the warm-up */
	for (int i = 0; i < o.windows; i++) {
		if (o.pair) {
			/* floor window, then the subject's window right after */
			if ((err = rig_floor(&r, 1))) {
				fprintf(stderr, "pwbench: pair: %s\n", strerror(-err));
				break;
			}
			sleep_ms(30);
			dev_stats(o.rx_if, &a);
			t0 = now_ns();
			sleep_ms(o.window_ms);
			dev_stats(o.rx_if, &b);
			t1 = now_ns();
			fpps[nf++] = (double)(b.rx - a.rx) * 1e9 / (double)(t1 - t0);
			if ((err = rig_floor(&r, 0)))
				break;
			sleep_ms(30);
		}
		t0 = now_ns();
		c0 = cpu_busy_ns(o.cpu);
		dev_stats(o.rx_if, &a);
		sleep_ms(o.window_ms);
		dev_stats(o.rx_if, &b);
		c1 = cpu_busy_ns(o.cpu);
		t1 = now_ns();
		if (b.rx <= a.rx)
			continue;
		w[n].pps = (double)(b.rx - a.rx) * 1e9 / (double)(t1 - t0);
		w[n].ns_per_pkt = 1e9 / w[n].pps;
		w[n].cpu_ns = (double)(c1 - c0) / (double)(b.rx - a.rx);
		pps[n] = w[n].pps;
		if (o.pair && nf == n + 1 && fpps[n] > 0)
			rat[n] = w[n].pps / fpps[n];
		ns[n] = w[n].ns_per_pkt;
		cpu[n] = w[n].cpu_ns;
		n++;
	}
	/* Stop the generator first, then let the receiver drain (bounded). */
	gen_stop(&r.g);
	g1 = gen_count(&r.g);
	for (int i = 0; i < 50; i++) {
		dev_stats(o.rx_if, &a);
		sleep_ms(10);
		dev_stats(o.rx_if, &end);
		if (end.rx == a.rx)
			break;
	}
	if (o.fwd_if)
		dev_stats(o.fwd_if, &f1);
	dsum = percpu_sum(drop_fd, 0, 1) - dsum;
	if (r.have_pw)
		pw_counts(&r.pw, &drop1, &allow1);
	if (r.g.err)
		fprintf(stderr, "pwbench: generator: %s\n", strerror(-r.g.err));
	printf("{\"label\":\"%s\",\"attach\":\"%s\",\"entries\":%d,\"windows\":%d,"
	       "\"pps_med\":%.0f,\"pps_p10\":%.0f,\"ns_med\":%.2f,\"ns_p90\":%.2f,"
	       "\"cpu_ns_med\":%.2f,\"cpu_ns_p90\":%.2f,\"generated\":%llu,\"rx\":%llu,"
	       "\"gen_lost\":%lld,\"rx_dropped\":%llu,\"fwd_tx\":%llu,\"own_drop\":%llu,"
	       "\"pw_drop\":%llu,\"pw_allow\":%llu,\"pair\":\"%s\",\"floor_pps_med\":%.0f,"
	       "\"vs_floor_med\":%.4f,\"vs_floor_p10\":%.4f}\n",
	       o.label, o.attach ? o.attach : "none", o.entries, n, pct(pps, n, 0.5),
	       pct(pps, n, 0.1), pct(ns, n, 0.5), pct(ns, n, 0.9), pct(cpu, n, 0.5),
	       pct(cpu, n, 0.9), (unsigned long long)(g1 - start_gen),
	       (unsigned long long)(end.rx - start_rx),
	       (long long)((g1 - start_gen) - (end.rx - start_rx)),
	       (unsigned long long)(end.rx_drop - a.rx_drop),
	       (unsigned long long)(f1.tx - f0.tx), (unsigned long long)dsum,
	       (unsigned long long)(drop1 - drop0), (unsigned long long)(allow1 - allow0),
	       o.pair ? o.pair : "", pct(fpps, nf, 0.5), pct(rat, o.pair ? n : 0, 0.5),
	       pct(rat, o.pair ? n : 0, 0.1));
	err = n ? 0 : -EIO;
	if (!n)
		fprintf(stderr, "pwbench: %s: the host veth received nothing\n", o.label);
out:
	rig_teardown(&r);
	return err ? 1 : 0;
}

/* ---- swaps under allowed traffic ---- */

/* An RCU grace period: updating a map-in-map waits for synchronize_rcu(). */
static int grace_fds[2] = { -1, -1 };

static int grace_init(void)
{
	LIBBPF_OPTS(bpf_map_create_opts, mo);
	uint32_t zero = 0;

	grace_fds[1] = bpf_map_create(BPF_MAP_TYPE_ARRAY, "pwb_inner", 4, 4, 1, NULL);
	if (grace_fds[1] < 0)
		return -errno;
	mo.inner_map_fd = grace_fds[1];
	grace_fds[0] = bpf_map_create(BPF_MAP_TYPE_ARRAY_OF_MAPS, "pwb_outer", 4, 4, 1, &mo);
	if (grace_fds[0] < 0)
		return -errno;
	(void)zero;
	return 0;
}

static int grace(void)
{
	uint32_t zero = 0;

	return bpf_map_update_elem(grace_fds[0], &zero, &grace_fds[1], BPF_ANY) ? -errno : 0;
}

static int cmd_swap(void)
{
	struct rig r;
	struct devstat a, b, f0 = {}, f1 = {};
	uint64_t g0, g1, d0, d1, al0, al1, epoch = 2, t0, t1;
	uint64_t swap_ns[1];
	int err;

	o.allow = 1;
	if (!o.nflows)
		o.nflows = 1024;
	o.attach = "pw-tc";
	err = rig_setup(&r);
	if (err)
		goto out;
	if ((err = grace_init()))
		goto out;
	pw_counts(&r.pw, &d0, &al0);
	dev_stats(o.rx_if, &a);
	if (o.fwd_if)
		dev_stats(o.fwd_if, &f0);
	g0 = gen_count(&r.g);
	if ((err = gen_start(&r.g)))
		goto out;
	sleep_ms(o.warmup_ms);
	t0 = now_ns();
	for (int i = 0; i < o.swaps && !r.g.err; i++) {
		/* refill the inactive slot with the same policy, publish, wait */
		uint32_t inactive = (epoch + 1) & 1;

		if ((err = pw_fill_slot(&r.pw, inactive, r.rx_ifindex, r.dbase)))
			break;
		epoch++;
		if ((err = pw_write_state(&r.pw, epoch)) || (err = grace()))
			break;
	}
	t1 = now_ns();
	swap_ns[0] = t1 - t0;
	sleep_ms(50);
	gen_stop(&r.g);
	sleep_ms(100); /* the receiver drains the ring */
	g1 = gen_count(&r.g);
	dev_stats(o.rx_if, &b);
	if (o.fwd_if)
		dev_stats(o.fwd_if, &f1);
	pw_counts(&r.pw, &d1, &al1);
	/* Lost to the swaps: what podwall dropped, and what it saw but did
	 * not count as allowed. */
	{
		uint64_t rx = b.rx - a.rx, drop = d1 - d0, allow = al1 - al0;
		long long unaccounted = (long long)rx - (long long)(drop + allow);

		printf("{\"label\":\"swap\",\"swaps\":%d,\"entries\":%d,\"flows\":%u,"
		       "\"swap_ms_mean\":%.3f,\"generated\":%llu,\"rx\":%llu,\"gen_lost\":%lld,"
		       "\"pw_drop\":%llu,\"pw_allow\":%llu,\"unaccounted\":%lld,\"fwd_tx\":%llu,"
		       "\"swap_lost_packets\":%llu}\n",
		       o.swaps, o.entries, o.nflows, (double)swap_ns[0] / 1e6 / o.swaps,
		       (unsigned long long)(g1 - g0), (unsigned long long)rx,
		       (long long)((g1 - g0) - rx), (unsigned long long)drop,
		       (unsigned long long)allow, unaccounted, (unsigned long long)(f1.tx - f0.tx),
		       (unsigned long long)(drop + (unaccounted > 0 ? unaccounted : 0)));
	}
out:
	if (err)
		fprintf(stderr, "pwbench: swap: %s\n", strerror(-err));
	rig_teardown(&r);
	return err ? 1 : 0;
}

/* ---- one rule change to the first packet decided by it ---- */

static void probe_frame(uint8_t *f, uint16_t sport, uint16_t dport)
{
	uint8_t *ip = f + 14, *udp = ip + 20;
	uint32_t s = htonl(POD_ADDR), d = htonl(0x0ac90005u), sum = 0;

	memset(f, 0, FRAME_LEN);
	f[12] = 0x08;
	ip[0] = 0x45;
	ip[3] = FRAME_LEN - 14;
	ip[8] = 64;
	ip[9] = 17;
	memcpy(ip + 12, &s, 4);
	memcpy(ip + 16, &d, 4);
	for (int i = 0; i < 20; i += 2)
		sum += (ip[i] << 8) | ip[i + 1];
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	ip[10] = (uint8_t)(~sum >> 8);
	ip[11] = (uint8_t)~sum;
	udp[0] = sport >> 8;
	udp[1] = (uint8_t)sport;
	udp[2] = dport >> 8;
	udp[3] = (uint8_t)dport;
	udp[5] = FRAME_LEN - 34;
}

static int probe(int prog, uint16_t sport, uint16_t dport, uint32_t *ret)
{
	uint8_t f[FRAME_LEN];
	struct __sk_buff ctx = { .ifindex = 1 };
	LIBBPF_OPTS(bpf_test_run_opts, t, .data_in = f, .data_size_in = sizeof(f),
		    .ctx_in = &ctx, .ctx_size_in = sizeof(ctx), .repeat = 1);

	probe_frame(f, sport, dport);
	if (bpf_prog_test_run_opts(prog, &t))
		return -errno;
	*ret = t.retval;
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int cmd_update(void)
{
	struct pw pw;
	uint64_t *lat, epoch = 2;
	int prog, err, n = 0;
	struct pw_pol_key pk = {};
	struct pw_pol_val pv = { .rule_id = 7 };
	uint16_t prev_port = 0;

	if (!o.pin) {
		fprintf(stderr, "pwbench: --pin is required\n");
		return 1;
	}
	lat = calloc(o.trials, sizeof(*lat));
	if (!lat || grace_init())
		return 1;
	o.ndst = 1024;
	err = pw_open(&pw, 1 /* lo: BPF_PROG_TEST_RUN's default device */, 0x0ac90000u);
	if (err) {
		fprintf(stderr, "pwbench: update: podwall maps: %s\n", strerror(-err));
		return 1;
	}
	prog = prog_fd(pw.tc, "pw_from_pod");
	for (int i = 0; i < o.trials; i++) {
		uint16_t port = 40000 + i, sport = 20000 + i;
		uint32_t inactive = (epoch + 1) & 1, rv = 0;
		uint64_t t0, t1;
		int tries = 0;

		/* precondition: the probe is denied now */
		if ((err = probe(prog, sport, port, &rv)) || rv != 2 /* TC_ACT_SHOT */) {
			fprintf(stderr, "pwbench: update: probe not denied before the change (%d)\n",
				rv);
			err = -EPROTO;
			break;
		}
		t0 = now_ns();
		/* the writer's diff for the inactive slot: catch up with the
		 * previous change, apply this one; then publish the epoch */
		pk.slot = inactive;
		pk.set_id = SET_EGRESS;
		pk.dir = PW_DIR_EGRESS;
		pk.peer_id = PW_ID_ANY;
		pk.proto = PW_PROTO_UDP;
		if (prev_port) {
			pk.port = prev_port;
			bpf_map_update_elem(pw.pol, &pk, &pv, BPF_ANY);
		}
		pk.port = port;
		bpf_map_update_elem(pw.pol, &pk, &pv, BPF_ANY);
		/* the set's port summary gains the new ports, in the sending
		 * pod's endpoint value, as the compiler's hints would */
		{
			struct pw_ep_key ek = { .slot = inactive };
			struct pw_endpoint ev;

			addr4(&ek.addr, POD_ADDR);
			if (!bpf_map_lookup_elem(pw.ep, &ek, &ev)) {
				ev.set_flags[PW_DIR_EGRESS] |= pw_port_bloom_bit(PW_PROTO_UDP, port);
				if (prev_port)
					ev.set_flags[PW_DIR_EGRESS] |=
						pw_port_bloom_bit(PW_PROTO_UDP, prev_port);
				bpf_map_update_elem(pw.ep, &ek, &ev, BPF_ANY);
			}
		}
		epoch++;
		pw_write_state(&pw, epoch);
		do {
			if ((err = probe(prog, sport + 1000, port, &rv)))
				break;
		} while (rv != 0 && ++tries < 1000);
		t1 = now_ns();
		if (err || rv != 0) {
			fprintf(stderr, "pwbench: update: new rule never decided the probe\n");
			err = err ? err : -EPROTO;
			break;
		}
		lat[n++] = t1 - t0;
		prev_port = port;
		/* before the next change may touch the other slot */
		grace();
	}
	if (n) {
		qsort(lat, n, sizeof(*lat), cmp_u64);
		printf("{\"label\":\"update_pw\",\"entries\":%d,\"trials\":%d,\"p50_ms\":%.4f,"
		       "\"p99_ms\":%.4f,\"max_ms\":%.4f}\n",
		       o.entries, n, lat[n / 2] / 1e6, lat[(n * 99) / 100] / 1e6, lat[n - 1] / 1e6);
	}
	pw_close(&pw);
	free(lat);
	return err ? 1 : 0;
}

/*
 * Two pods A (10.200.0.2 behind --rx-if) and B (10.200.1.2 behind --peer-if),
 * each isolated both ways; A may open TCP to B on --dport.  Pins the two
 * programs under --pin (from_pod, to_pod) for `tc ... object-pinned`, so the
 * script can attach and detach them between iperf3 runs.
 */
static int cmd_pw_pin(void)
{
	struct pw pw;
	struct pw_ep_key ek = {};
	struct pw_endpoint a = {}, b = {};
	struct pw_pol_key pk = {};
	struct pw_pol_val pv = { .rule_id = 3 };
	char path[512];
	int err, ia, ib;

	if (!o.pin || !o.node_ns || !o.rx_if || !o.peer_if)
		return 2;
	if ((err = enter_ns(o.node_ns)))
		return 1;
	ia = if_nametoindex(o.rx_if);
	ib = if_nametoindex(o.peer_if);
	o.entries = 0;
	o.ndst = 1;
	if (!ia || !ib || pw_open(&pw, ia, 0x0ac90000u))
		return 1;
	a.identity = 20;
	a.ifindex = ia;
	a.flags = PW_EP_LOCAL;
	a.ep_id = 1;
	a.set_id[0] = 11;
	a.set_id[1] = 12;
	a.set_flags[0] = a.set_flags[1] = PW_SET_PEER;
	b = a;
	b.identity = 21;
	b.ifindex = ib;
	b.ep_id = 2;
	b.set_id[0] = 21;
	b.set_id[1] = 22;
	for (uint32_t slot = 0; slot < 2 && !err; slot++) {
		ek.slot = slot;
		addr4(&ek.addr, POD_ADDR);
		err = bpf_map_update_elem(pw.ep, &ek, &a, BPF_ANY);
		addr4(&ek.addr, 0x0ac80102u);
		err = err ?: bpf_map_update_elem(pw.ep, &ek, &b, BPF_ANY);
		pk.slot = slot;
		pk.proto = PW_PROTO_TCP;
		pk.port = o.dport;
		pk.set_id = 12; /* A's egress: B */
		pk.peer_id = 21;
		pk.dir = PW_DIR_EGRESS;
		err = err ?: bpf_map_update_elem(pw.pol, &pk, &pv, BPF_ANY);
		pk.set_id = 21; /* B's ingress: from A */
		pk.peer_id = 20;
		pk.dir = PW_DIR_INGRESS;
		err = err ?: bpf_map_update_elem(pw.pol, &pk, &pv, BPF_ANY);
	}
	snprintf(path, sizeof(path), "%s/prog_from_pod", o.pin);
	err = err ?: bpf_program__pin(bpf_object__find_program_by_name(pw.tc, "pw_from_pod"), path);
	snprintf(path, sizeof(path), "%s/prog_to_pod", o.pin);
	err = err ?: bpf_program__pin(bpf_object__find_program_by_name(pw.tc, "pw_to_pod"), path);
	pw_close(&pw);
	if (err)
		fprintf(stderr, "pwbench: pin: %s\n", strerror(errno));
	return err ? 1 : 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: pwbench gen|swap|update|pw-pin [options]\n"
		"  --pod-ns NS --node-ns NS --rx-if DEV [--gen-if eth0] [--fwd-if DEV]\n"
		"  --attach none|tc-drop|xdp-drop|pw-tc|pw-xdp|pw-uplink  --pin BPFFS-DIR\n"
		"  --entries N --ndst N --nports N --nflows N --windows N --window-ms MS\n"
		"  --warmup-ms MS --cpu N --swaps N --trials N --objdir BUILD --label S\n"
		"  --bench-obj PWB.BPF.O --peer-if DEV --dport PORT --allow\n");
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "pod-ns", 1, 0, 'p' },   { "node-ns", 1, 0, 'n' }, { "gen-if", 1, 0, 'g' },
		{ "rx-if", 1, 0, 'r' },	   { "fwd-if", 1, 0, 'f' },  { "attach", 1, 0, 'a' },
		{ "pin", 1, 0, 'P' },	   { "entries", 1, 0, 'e' }, { "ndst", 1, 0, 'd' },
		{ "nports", 1, 0, 'o' },   { "nflows", 1, 0, 'F' },  { "windows", 1, 0, 'w' },
		{ "window-ms", 1, 0, 'W' }, { "warmup-ms", 1, 0, 'u' }, { "cpu", 1, 0, 'c' },
		{ "swaps", 1, 0, 's' },	   { "trials", 1, 0, 't' },  { "objdir", 1, 0, 'O' },
		{ "label", 1, 0, 'l' },	   { "bench-obj", 1, 0, 'B' }, { "peer-if", 1, 0, 'i' },
		{ "dport", 1, 0, 'D' },	   { "allow", 0, 0, 'A' },   { "pair", 1, 0, 'R' },
		{ 0 }
	};
	const char *cmd;
	int c;

	if (argc < 2) {
		usage();
		return 2;
	}
	cmd = argv[1];
	optind = 2;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'p': o.pod_ns = optarg; break;
		case 'n': o.node_ns = optarg; break;
		case 'g': o.gen_if = optarg; break;
		case 'r': o.rx_if = optarg; break;
		case 'f': o.fwd_if = optarg; break;
		case 'a': o.attach = optarg; break;
		case 'P': o.pin = optarg; break;
		case 'e': o.entries = atoi(optarg); break;
		case 'd': o.ndst = (uint32_t)atoi(optarg); break;
		case 'o': o.nports = (uint16_t)atoi(optarg); break;
		case 'F': o.nflows = (uint32_t)atoi(optarg); break;
		case 'w': o.windows = atoi(optarg); break;
		case 'W': o.window_ms = atoi(optarg); break;
		case 'u': o.warmup_ms = atoi(optarg); break;
		case 'c': o.cpu = atoi(optarg); break;
		case 's': o.swaps = atoi(optarg); break;
		case 't': o.trials = atoi(optarg); break;
		case 'O': o.objdir = optarg; break;
		case 'l': o.label = optarg; break;
		case 'B': o.benchobj = optarg; break;
		case 'i': o.peer_if = optarg; break;
		case 'D': o.dport = (uint16_t)atoi(optarg); break;
		case 'A': o.allow = 1; break;
		case 'R': o.pair = optarg; break;
		default: usage(); return 2;
		}
	}
	if (o.entries < 0 || o.entries > 120000 || !o.ndst || o.ndst > 16384 || !o.nports ||
	    o.windows < 1 || o.window_ms < 10 || o.window_ms > 5000 || o.swaps < 0 ||
	    o.swaps > 100000 || o.trials < 1 || o.trials > 100000) {
		fprintf(stderr, "pwbench: option out of range\n");
		return 2;
	}
	libbpf_set_print(NULL);
	if (!strcmp(cmd, "gen"))
		return cmd_gen();
	if (!strcmp(cmd, "swap"))
		return cmd_swap();
	if (!strcmp(cmd, "update"))
		return cmd_update();
	if (!strcmp(cmd, "pw-pin"))
		return cmd_pw_pin();
	usage();
	return 2;
}
