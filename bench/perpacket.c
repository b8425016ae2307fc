// SPDX-License-Identifier: MIT
/*
 * Per-packet cost of the podwall datapath (pw_to_pod) with BPF_PROG_TEST_RUN.
 *
 * Method.  A batch of NPKT distinct frames (different sources, destinations
 * and ports: NEP local endpoints, NPEER remote peers) is run in turn, one
 * BPF_PROG_TEST_RUN call per frame with repeat = 1, and the kernel-measured
 * duration of each run is averaged.  Running one frame with a large repeat
 * would measure a single flow whose map entries stay in L1; cycling through
 * thousands of flows keeps the hash buckets, endpoint entries and conntrack
 * entries out of the hottest caches, as on a node with many pods.  The
 * per-call fixed overhead inside the timed region (ktime reads, the loop)
 * is removed by subtracting the same measurement of an empty tc program.
 *
 * Paths, for 10, 1k, 10k and 100k pw_pol_v1 entries:
 *   deny    new flow that no rule allows (PW_DROP_POLICY; events are
 *           rate-limited as in production, so most are suppressed)
 *   allow   new flow allowed by a rule (creates the conntrack pair)
 *   ct_hit  the same frames again: established flows, one CT lookup
 * Baselines: empty (returns TC_ACT_OK), floor (parse + one hash lookup).
 * Each figure is the median over PASSES passes of the batch mean.
 *
 * -r RATE sets pw_state.events_per_sec (and the burst) for the run: the
 * default 0 is production's 10000/s; -r 1 shows the path without events.
 *
 * BENCH_QUICK=1 (scripts/bench.sh's quick mode) runs 3 passes of 4096 frames.
 * Output: one flat JSON object, name -> number (per_packet_*).
 *
 * -R REPEAT runs each frame REPEAT times per call (default 1); with -n 1 and a
 * large REPEAT this is the cache-hot mode (one flow, map entries in L1; the
 * allow figure is then mostly conntrack hits).
 *
 * Usage: perpacket [-o FILE] [-p PASSES] [-n NPKT] [-r RATE] [-R REPEAT]   (prints one JSON object)
 */
#include <getopt.h>
#include <math.h>

#include "../tests/bpf/pwtest.h"
#include "podwall_bench.skel.h"

#define NEP 1024 /* local endpoints (destinations) */
#define NPEER 4096 /* remote peers (sources) */
#define MAX_NPKT 16384

static int g_if;
static unsigned int g_repeat = 1; /* -R: repeats per frame (cache-hot mode) */

struct frame {
	uint8_t buf[128];
	uint32_t len;
};

static int cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_dbl);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Mean kernel-measured ns per run over the batch; -1 on error. */
static double run_batch(int fd, struct frame *f, int n)
{
	struct __sk_buff skb = { .ifindex = (uint32_t)g_if };
	uint64_t total = 0;
	int i;

	for (i = 0; i < n; i++) {
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = f[i].buf, .data_size_in = f[i].len,
			    .ctx_in = &skb, .ctx_size_in = sizeof(skb), .repeat = g_repeat);

		if (bpf_prog_test_run_opts(fd, &o))
			return -1;
		total += o.duration;
	}
	return (double)total / n;
}

static void addr_of(char *s, size_t n, int local, unsigned int i)
{
	if (local)
		snprintf(s, n, "10.%u.%u.%u", 20 + (i >> 16), (i >> 8) & 0xff, i & 0xff);
	else
		snprintf(s, n, "10.%u.%u.%u", 100 + (i >> 16), (i >> 8) & 0xff, i & 0xff);
}

static void build(struct frame *fr, unsigned int src, unsigned int dst, uint16_t sport,
		  uint16_t dport)
{
	char s[32], d[32];
	struct pk p = { .src = s, .dst = d, .proto = IPPROTO_TCP, .sport = sport, .dport = dport };

	addr_of(s, sizeof(s), 0, src);
	addr_of(d, sizeof(d), 1, dst);
	fr->len = (uint32_t)pk_build(fr->buf, &p);
}

/*
 * World for `entries` policy entries: NEP local endpoints, NPEER remote
 * peers with identities 1000 + i; nsets ingress policy sets, each allowing
 * tcp/80 from `entries / nsets` peer identities.  Peer i is allowed into
 * set s when (i % nsets) == s - 1 and i / nsets < per_set.
 */
static int fill(struct pwt *t, unsigned int entries, unsigned int *ret_nsets,
		unsigned int *ret_per_set)
{
	unsigned int nsets = entries >= 1000 ? entries / 100 : 1, per_set, i, j;
	char a[32];

	if (nsets > NEP)
		nsets = NEP;
	per_set = entries / nsets;
	for (i = 0; i < NEP; i++) {
		struct pwt_ep e = { a,
				    10 + i,
				    (uint32_t)g_if,
				    PW_EP_LOCAL,
				    1 + (i % PW_MAX_LOCAL_EPS),
				    1 + (i % nsets),
				    0,
				    /* the hints the compiler sets for these sets */
				    PW_SET_PEER | PW_SET_NO_PORT0_ALL | PW_SET_PORT_BLOOM |
					    pw_port_bloom_bit(IPPROTO_TCP, 80),
				    0 };

		addr_of(a, sizeof(a), 1, i);
		pwt_add_ep(t, 0, &e);
	}
	for (i = 0; i < NPEER; i++) {
		struct pwt_ep e = { a, 1000 + i, 0, 0, 0, 0, 0, 0, 0 };

		addr_of(a, sizeof(a), 0, i);
		pwt_add_ep(t, 0, &e);
	}
	/* The node's addresses, as the daemon writes them. */
	for (i = 0; i < 2; i++) {
		struct pwt_ep e = { a, PW_ID_HOST, 0, PW_EP_HOST, 0, 0, 0, 0, 0 };

		a[0] = 0;
		strcat(a, i ? "10.0.0.1" : "fd00::1");
		pwt_add_ep(t, 0, &e);
	}
	{
		static const char *const hosts[] = { "fd00::1", "10.0.0.1" };

		pwt_set_hosts(t, 0, hosts, 2, 1);
	}
	/* Peer identities beyond NPEER fill the map for the big sizes. */
	for (i = 0; i < nsets; i++)
		for (j = 0; j < per_set; j++)
			pwt_add_pol(t, 0, 1 + i, 1000 + i + j * nsets, PW_DIR_INGRESS, IPPROTO_TCP,
				    80, 1 + ((i * per_set + j) % (PW_MAX_RULES - 1)));
	*ret_nsets = nsets;
	*ret_per_set = per_set;
	return 0;
}

struct result {
	unsigned int entries;
	double deny, allow, ct_hit;
	double empty, floor_ns; /* baselines measured in the same passes */
	double vs_floor; /* median over passes of deny_net / floor_net */
};

int main(int argc, char **argv)
{
	static const unsigned int sizes[] = { 10, 1000, 10000, 100000 };
	static struct frame deny[MAX_NPKT], allow[MAX_NPKT];
	struct result res[4];
	double empty = 0, floor_ns = 0, v[64], ve[64], vf[64], vr[64];
	const char *out = NULL;
	int passes = 7, npkt = 8192, c, s, p, i;
	unsigned int rate = 0;
	FILE *fo = stdout;

	while ((c = getopt(argc, argv, "o:p:n:r:R:")) != -1) {
		switch (c) {
		case 'o':
			out = optarg;
			break;
		case 'p':
			passes = atoi(optarg);
			break;
		case 'n':
			npkt = atoi(optarg);
			break;
		case 'r':
			rate = (unsigned int)strtoul(optarg, NULL, 10);
			break;
		case 'R':
			g_repeat = (unsigned int)strtoul(optarg, NULL, 10);
			break;
		default:
			fprintf(stderr,
				"usage: perpacket [-o FILE] [-p PASSES] [-n NPKT] [-r RATE] [-R REPEAT]\n");
			return 2;
		}
	}
	/* scripts/bench.sh QUICK mode. */
	if (getenv("BENCH_QUICK") && strcmp(getenv("BENCH_QUICK"), "0") != 0) {
		passes = passes < 3 ? passes : 3;
		npkt = npkt < 4096 ? npkt : 4096;
	}
	if (passes < 1 || passes > 64 || npkt < 1 || npkt > MAX_NPKT) {
		fprintf(stderr, "perpacket: -p 1..64, -n 1..%d\n", MAX_NPKT);
		return 2;
	}
	if (pwt_netns()) {
		fprintf(stderr, "perpacket: cannot create a private netns (root needed)\n");
		return 1;
	}
	g_if = pwt_if[1];

	for (s = 0; s < 4; s++) {
		struct pwt *t = pwt_load(1);
		struct podwall_bench *b;
		struct bpf_map *m, *tm;
		unsigned int nsets, per_set;
		int fd_to;

		if (!t) {
			fprintf(stderr, "perpacket: cannot load podwall_tc\n");
			return 1;
		}
		b = podwall_bench__open();
		if (!b)
			return 1;
		bpf_object__for_each_map (m, b->obj) {
			bpf_map__set_pin_path(m, NULL);
			tm = bpf_object__find_map_by_name(t->tc->obj, bpf_map__name(m));
			if (tm)
				bpf_map__reuse_fd(m, bpf_map__fd(tm));
		}
		if (podwall_bench__load(b)) {
			fprintf(stderr, "perpacket: cannot load podwall_bench\n");
			return 1;
		}
		fill(t, sizes[s], &nsets, &per_set);
		pwt_state_rl(t, 2, PW_STATE_ENFORCING, rate, rate);
		fd_to = bpf_program__fd(t->tc->progs.pw_to_pod);

		/* Deny: tcp/81 (no rule for it) from peer i to endpoint i*7. */
		for (i = 0; i < npkt; i++)
			build(&deny[i], (unsigned int)i % NPEER, ((unsigned int)i * 7) % NEP,
			      (uint16_t)(10000 + i), 81);
		for (p = 0; p < passes; p++) {
			v[p] = run_batch(fd_to, deny, npkt);
			ve[p] = run_batch(bpf_program__fd(b->progs.pw_bench_empty), deny, npkt);
			vf[p] = run_batch(bpf_program__fd(b->progs.pw_bench_floor), deny, npkt);
			vr[p] = (v[p] - ve[p]) / (vf[p] - ve[p]);
		}
		res[s].entries = sizes[s];
		res[s].vs_floor = median(vr, passes);
		res[s].deny = median(v, passes);
		res[s].empty = median(ve, passes);
		res[s].floor_ns = median(vf, passes);
		empty += res[s].empty / 4;
		floor_ns += res[s].floor_ns / 4;

		/* Allow: tcp/80 from an allowed peer of the destination's set;
		 * a fresh source port per pass makes every packet a new flow. */
		for (p = 0; p < passes; p++) {
			for (i = 0; i < npkt; i++) {
				unsigned int dst = ((unsigned int)i * 7) % NEP, set = dst % nsets;
				unsigned int peer = set + ((unsigned int)i % per_set) * nsets;

				build(&allow[i], peer % NPEER == peer ? peer : set, dst,
				      (uint16_t)(1024 + p * npkt + i), 80);
			}
			v[p] = run_batch(fd_to, allow, npkt);
		}
		res[s].allow = median(v, passes);
		/* Conntrack hit: the last pass's frames again. */
		for (p = 0; p < passes; p++)
			v[p] = run_batch(fd_to, allow, npkt);
		res[s].ct_hit = median(v, passes);
		/* Sanity: the allow frames really are allowed and the deny
		 * frames denied (a figure for the wrong path is worthless). */
		{
			LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = deny[0].buf,
				    .data_size_in = deny[0].len, .repeat = 1);
			struct __sk_buff skb = { .ifindex = (uint32_t)g_if };

			o.ctx_in = &skb;
			o.ctx_size_in = sizeof(skb);
			if (bpf_prog_test_run_opts(fd_to, &o) || o.retval != TC_ACT_SHOT) {
				fprintf(stderr, "perpacket: deny frame not denied\n");
				return 1;
			}
			o.data_in = allow[npkt - 1].buf;
			o.data_size_in = allow[npkt - 1].len;
			if (bpf_prog_test_run_opts(fd_to, &o) || o.retval != TC_ACT_OK) {
				fprintf(stderr, "perpacket: allow frame not allowed\n");
				return 1;
			}
		}
		podwall_bench__destroy(b);
		pwt_destroy(t);
	}

	if (out) {
		fo = fopen(out, "we");
		if (!fo) {
			perror(out);
			return 1;
		}
	}
	{
		/* Each size is net of the baselines measured in its own passes;
		 * the machine is shared, and minutes separate the sizes.  One flat
		 * object (name -> number): scripts/bench.sh merges it as is. */
		double d10 = res[0].deny - res[0].empty, d100k = res[3].deny - res[3].empty;
		double f100k = res[3].floor_ns - res[3].empty;

		fprintf(fo,
			"{\n  \"per_packet_method\": \"BPF_PROG_TEST_RUN repeat 1 over %d distinct "
			"frames (%d endpoints, %d peers) in turn; median of %d batch means; ns net "
			"of "
			"an empty tc program measured in the same passes\",\n",
			npkt, NEP, NPEER, passes);
		fprintf(fo, "  \"per_packet_events_per_sec\": %u,\n", rate);
		fprintf(fo, "  \"per_packet_ns_empty\": %.1f,\n", empty);
		fprintf(fo, "  \"per_packet_ns_floor\": %.1f,\n", floor_ns - empty);
		for (s = 0; s < 4; s++) {
			double e = res[s].empty;
			unsigned int n = res[s].entries;

			fprintf(fo, "  \"per_packet_ns_deny_%u\": %.1f,\n", n, res[s].deny - e);
			fprintf(fo, "  \"per_packet_ns_allow_%u\": %.1f,\n", n, res[s].allow - e);
			fprintf(fo, "  \"per_packet_ns_ct_hit_%u\": %.1f,\n", n, res[s].ct_hit - e);
			fprintf(fo, "  \"per_packet_deny_vs_floor_%u\": %.3f,\n", n,
				res[s].vs_floor);
		}
		fprintf(fo, "  \"per_packet_growth_10_to_100k\": %.3f,\n", d100k / d10);
		fprintf(fo, "  \"per_packet_growth_10_to_100k_floor_normalised\": %.3f,\n",
			res[3].vs_floor / res[0].vs_floor);
		fprintf(fo, "  \"per_packet_vs_floor\": %.3f,\n", d100k / f100k);
		fprintf(fo, "  \"per_packet_ct_hit_vs_floor_100000\": %.3f\n}\n",
			(res[3].ct_hit - res[3].empty) / f100k);
	}
	if (fo != stdout)
		fclose(fo);
	return 0;
}
