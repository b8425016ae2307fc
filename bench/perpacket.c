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
 * Interleaving.  The machine is a shared 2-vCPU VM: other tenants take the
 * core, the shared L3 and memory for tenths of a second to seconds at a
 * time, and a lookup's cost moves with them, so programs and policy sizes
 * measured one after the other saw different machines: the floor, which
 * does the same work at every size, came out anywhere between 58 and 236 ns
 * net, and deny/floor between 5 and 12.  So all four policy sizes are
 * loaded at once (a private podwall_tc object each), and every program of
 * every size (a "lane": empty, floor, deny, deny_peer, deny_udp, allow,
 * ct_hit, deny_reported) runs in every pass, interleaved in chunks of CHUNK frames: at
 * step c, lane l of each size runs over its chunk
 * (c + l * nchunks / NLANE) mod nchunks.  A slow spell then lands on all
 * lanes and sizes alike, and every lane still covers each of its frames
 * once per pass.  The offsets are spread over the batch, not adjacent, so
 * that no lane runs over frames (map entries) another lane touched just
 * before: whichever the lane, its chunk was last touched about
 * nchunks / NLANE steps earlier.
 *
 * Order.  Within a step the sizes take turns going first, and the lanes of
 * each size run in the order of a Williams design: over 8 steps, every
 * lane runs once in each position and once right after each other lane.
 * A fixed order biases: the first pw_to_pod lane of a size in a step ran
 * 100-300 ns a frame slower than the next one over the very same frames,
 * whatever came before it (the floor or not), with chunks of 128 or 1024
 * frames, and even after 128 unmeasured frames of its own.  Balanced, two
 * lanes over the same frames agree to within the noise (+-40 ns).  So every
 * figure is the cost within a mix of the other lanes, the same mix for all.
 *
 * Figures.  The process is pinned to the CPU it started on.  Each pass
 * yields per-lane means net of the empty lane of the same size and pass,
 * and their ratios to the floor lane of the same size and pass; the figures
 * are medians over PASSES passes, after one unmeasured warm-up pass.  Every
 * run's verdict is checked (deny lanes TC_ACT_SHOT, the others TC_ACT_OK),
 * and so are the counters at the end (each deny frame counted as
 * PW_DROP_POLICY, each allow frame as PW_ALLOW_POLICY, each ct_hit frame as
 * PW_ALLOW_ESTABLISHED) and the conntrack entries after each pass: a figure
 * for the wrong path is worthless.
 *
 * Cache regime.  With four sizes' maps in play, the entries a lane needs
 * are reliably out of L1/L2 (and often L3) when it runs, whatever the
 * neighbours do; one size at a time (-s, or this tool before), they
 * sometimes are and sometimes are not, which is what made the figures
 * swing.  The price: these are the figures of a colder machine, higher in
 * ns than the old ones, with a lower deny/floor: compare figures of one
 * method only (numbers: git log of this file).  The absolute ns still
 * follow the machine's state from run to run: on 2026-11-24 the floor's
 * net cost sat either near 120-160 ns or near 230-270 ns for a whole run
 * (the same binary, back to back), and deny/floor is higher in the warmer
 * state, where the fixed costs weigh more than the cache misses; read a
 * ratio together with the floor's ns.
 *
 * Events.  A drop is reported through the ring buffer unless the per-CPU
 * token bucket (pw_state.events_per_sec) is empty, which it is under any
 * flood of drops faster than that rate, the regime a per-packet cost is
 * about.  The bench runs about 4k drops a second per size, below the
 * production rate of 10000/s, so the lanes run with the rate set to 1/s
 * (-r): the bucket empty as in a flood (a drop costs no event, and reads
 * the clock once in 64).  The deny_reported lane shows the other case.
 *
 * Paths, for 10, 1k, 10k and 100k pw_pol_v1 entries:
 *   deny       new flow (TCP SYN to port 81) that no rule of any set allows
 *              (PW_DROP_POLICY), in a flood (the event bucket empty)
 *   deny_reported  the same frames with a full bucket (no rate limit) and a
 *              ring drained after each chunk, as a daemon drains it: every
 *              drop writes an event (checked: every one is read back)
 *   deny_peer  TCP SYN to port 80, a port the destination's set allows, but
 *              only to other peer identities
 *   deny_udp   UDP to port 81
 *   allow      new flow allowed by a rule (creates the conntrack pair; the
 *              pairs are deleted after each pass, so that every pass sees
 *              new flows and conntrack does not fill up)
 *   ct_hit     established flows (opened by a SYN each before the warm-up,
 *              measured with ACKs): one CT lookup
 * Baselines: empty (returns TC_ACT_OK), floor (parse + one hash lookup),
 * both over the deny frames.
 *
 * -r RATE sets pw_state.events_per_sec (and the burst) of the lanes other
 * than deny_reported: the default 1 is the flood regime above; 0 is
 * production's 10000/s, which at this bench's rate reports every drop.
 *
 * BENCH_QUICK=1 (scripts/bench.sh's quick mode) runs at most QUICK_PASSES
 * passes of at most 4096 frames.  Output: one flat JSON object,
 * name -> number (per_packet_*).
 *
 * -R REPEAT runs each frame REPEAT times per call (default 1); with -n 1 and a
 * large REPEAT this is the cache-hot mode (one flow, map entries in L1; the
 * allow figure is then mostly conntrack hits).  -c sets CHUNK (128); -v
 * prints every pass's figures on stderr.  -s measures one size at a time
 * (its 7 lanes interleaved, the sizes one after the other; see "Cache
 * regime").
 *
 * Usage: perpacket [-o FILE] [-p PASSES] [-n NPKT] [-r RATE] [-R REPEAT] [-c CHUNK] [-s] [-v]
 */
#include <getopt.h>
#include <math.h>
#include <time.h>

#include "../tests/bpf/pwtest.h"
#include "podwall_bench.skel.h"

#define NEP 1024 /* local endpoints (destinations) */
#define NPEER 4096 /* remote peers (sources) */
#define MAX_NPKT 16384
#define MAX_PASSES 64
#define QUICK_PASSES 9
#define ALLOW_SPORT 1024 /* allow lane: source ports ALLOW_SPORT + i */
#define EST_SPORT 40000 /* ct_hit lane: source ports EST_SPORT + i */
#define NFRAMES 6 /* frame arrays per world */
#define MAX_RATE 100000000ull /* events.h: PW_EV_MAX_RATE */
#define RB_REPEATS 4096 /* a reported lane's repeats per call (-R) */

static int g_if;
static unsigned int g_repeat = 1; /* -R: repeats per frame (cache-hot mode) */
static int g_chunk = 128; /* -c: frames per lane per interleaving step */
static int g_verbose; /* -v: per-pass figures on stderr */
static int g_one_size; /* -s: one policy size at a time */

struct frame {
	uint8_t buf[128];
	uint32_t len;
};

/* The programs measured in a pass (lanes). */
enum { L_EMPTY, L_FLOOR, L_DENY, L_DENY_PEER, L_DENY_UDP, L_ALLOW, L_CT_HIT, L_DENY_REP, NLANE };

struct lane {
	const char *name;
	int fd;
	const struct frame *f; /* npkt frames */
	int expect; /* the verdict of every run */
	int reported; /* every drop is reported (event bucket full, ring drained) */
	struct ring_buffer *rb; /* reported: the ring to drain */
	uint64_t runs; /* frames run so far */
	int64_t ns; /* this pass's total */
};

static const unsigned int sizes[] = { 10, 1000, 10000, 100000 };
#define NSIZES (int)(sizeof(sizes) / sizeof(sizes[0]))

/* One policy size: its maps, programs, frames and per-pass figures. */
struct world {
	unsigned int entries, nsets, per_set;
	struct pwt *t;
	struct podwall_bench *b;
	struct frame *frames; /* NFRAMES arrays of npkt, see build_frames() */
	struct ring_buffer *rb; /* pw_events_v1, drained after each reported chunk */
	uint64_t reported; /* PW_DROP_POLICY events read from it */
	unsigned int rate; /* events_per_sec of the other lanes */
	struct lane ln[NLANE];
	double empty[MAX_PASSES]; /* the empty lane's mean */
	double net[NLANE][MAX_PASSES]; /* lane mean - empty mean */
	double ratio[NLANE][MAX_PASSES]; /* net / floor's net */
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

/* Kernel-measured ns of running frames [lo, hi) of a lane once each; -1 on
 * error or an unexpected verdict. */
static int64_t run_chunk(struct lane *l, int lo, int hi)
{
	struct __sk_buff skb = { .ifindex = (uint32_t)g_if };
	/* A reported lane's events must fit the ring (1 MiB, ~100 bytes an
	 * event) between drains: with -R its repeats are split into calls of
	 * at most RB_REPEATS, the ring drained after each. */
	unsigned int step = l->rb && g_repeat > RB_REPEATS ? RB_REPEATS : g_repeat, done, n;
	int64_t total = 0, sum;
	int i;

	for (i = lo; i < hi; i++) {
		for (done = 0, sum = 0; done < g_repeat; done += n) {
			n = g_repeat - done < step ? g_repeat - done : step;
			LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = l->f[i].buf,
				    .data_size_in = l->f[i].len, .ctx_in = &skb,
				    .ctx_size_in = sizeof(skb), .repeat = n);

			if (bpf_prog_test_run_opts(l->fd, &o)) {
				fprintf(stderr, "perpacket: %s: test run: %s\n", l->name,
					strerror(errno));
				return -1;
			}
			if ((int)o.retval != l->expect) {
				fprintf(stderr, "perpacket: %s frame %d: verdict %d, expected %d\n",
					l->name, i, (int)o.retval, l->expect);
				return -1;
			}
			sum += (int64_t)o.duration * n; /* o.duration: ns per repeat */
			if (n < g_repeat && ring_buffer__consume(l->rb) < 0)
				return -1;
		}
		total += sum / g_repeat;
	}
	l->runs += (uint64_t)(hi - lo);
	return total;
}

static int on_event(void *ctx, void *data, size_t len)
{
	struct world *w = ctx;
	const struct pw_event *e = data;

	if (len >= sizeof(*e) && e->type == PW_EV_DROP && e->reason == PW_DROP_POLICY)
		w->reported++;
	return 0;
}

/*
 * The event limiter of world w.  full: every drop is reported (no limit,
 * a full bucket).  Else the ring is drained (what a daemon does) and the
 * bucket left empty under the world's rate: with the default rate of 1/s,
 * the state of any flood of drops above pw_state.events_per_sec per CPU,
 * where a drop costs no event and reads the clock once in
 * PW_RL_CLOCK_EVERY (events.h).
 */
static int rl_set(struct world *w, int full)
{
	struct pw_rl *v = calloc((size_t)w->t->ncpu, sizeof(*v));
	struct timespec ts;
	uint32_t zero = 0;
	int c, err = 0;

	if (!v)
		return -1;
	if (full) {
		/* events.h's PW_EV_MAX_RATE, and a bucket as full as it gets */
		pwt_state_rl(w->t, 2, PW_STATE_ENFORCING, MAX_RATE, MAX_RATE);
	} else {
		if (ring_buffer__consume(w->rb) < 0)
			err = -1;
		pwt_state_rl(w->t, 2, PW_STATE_ENFORCING, w->rate, w->rate);
	}
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	for (c = 0; c < w->t->ncpu; c++) {
		v[c].last_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
		v[c].tokens = full ? MAX_RATE * 1000000000ull : 0;
		v[c].suppressed = 1;
	}
	if (bpf_map__update_elem(w->t->tc->maps.pw_rl_v1, &zero, 4, v,
				 sizeof(*v) * (size_t)w->t->ncpu, 0))
		err = -1;
	free(v);
	if (err)
		fprintf(stderr, "perpacket: cannot reset the event limiter or drain the ring\n");
	return err;
}

/*
 * One pass: every lane of every world over its npkt frames once,
 * interleaved chunk by chunk (see the header); each lane's total in ->ns.
 */
static int run_pass(struct world *w, int nw, int npkt)
{
	/* Williams design for an even NLANE: row r of NLANE is williams[m] + r
	 * mod NLANE; over NLANE steps every lane runs once in every position
	 * and once right after every other lane. */
	static const int williams[NLANE] = { 0, 1, 7, 2, 6, 3, 5, 4 };
	static unsigned int row; /* carries on from pass to pass */
	int nchunk = (npkt + g_chunk - 1) / g_chunk, c, i, j, l, m, k, lo, r;
	struct lane *ln;
	int64_t ns;

	for (i = 0; i < nw; i++)
		for (l = 0; l < NLANE; l++)
			w[i].ln[l].ns = 0;
	for (c = 0; c < nchunk; c++) {
		row++;
		for (j = 0; j < nw; j++) {
			/* Whichever position in a step costs, all worlds share it. */
			i = (j + c) % nw;
			for (m = 0; m < NLANE; m++) {
				r = (int)(row % NLANE);
				l = (williams[m] + r) % NLANE;
				ln = &w[i].ln[l];
				k = (c + l * nchunk / NLANE) % nchunk;
				lo = k * g_chunk;
				if (ln->reported)
					rl_set(&w[i], 1);
				ns = run_chunk(ln, lo, lo + g_chunk < npkt ? lo + g_chunk : npkt);
				if (ln->reported && rl_set(&w[i], 0))
					return -1;
				if (ns < 0)
					return -1;
				ln->ns += ns;
			}
		}
	}
	return 0;
}

/*
 * Delete the conntrack entries of the allow lane's flows (a port in
 * [ALLOW_SPORT, ALLOW_SPORT + npkt)), both directions, so that the next
 * pass's allow frames are new flows again.  *ret_kept: entries left.
 */
static int ct_forget(struct pwt *t, int npkt, unsigned int *ret_deleted, unsigned int *ret_kept)
{
	static struct pw_ct_key del[4 * MAX_NPKT];
	struct pw_ct_key k, next;
	int fd = bpf_map__fd(t->tc->maps.pw_ct_v1);
	unsigned int n = 0, kept = 0, i;
	void *prev = NULL;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		if ((next.sport >= ALLOW_SPORT && next.sport < ALLOW_SPORT + npkt) ||
		    (next.dport >= ALLOW_SPORT && next.dport < ALLOW_SPORT + npkt)) {
			if (n == sizeof(del) / sizeof(del[0]))
				return -E2BIG;
			del[n++] = next;
		} else {
			kept++;
		}
		k = next;
		prev = &k;
	}
	for (i = 0; i < n; i++)
		if (bpf_map_delete_elem(fd, &del[i]))
			return -errno;
	*ret_deleted = n;
	*ret_kept = kept;
	return 0;
}

/* Packets counted at ingress with code (a reason), all endpoints. */
static uint64_t count_in(struct pwt *t, uint32_t code)
{
	uint64_t n = 0;
	uint32_t ep;

	for (ep = 0; ep <= PW_MAX_LOCAL_EPS; ep++)
		n += pwt_cnt(t, ep, PW_DIR_INGRESS, code);
	return n;
}

/* Pin the process to the CPU it runs on: a migration in the middle of a
 * pass would change the caches under some lanes only. */
static int pin_cpu(int *ret_cpu)
{
	cpu_set_t set;
	int cpu = sched_getcpu();

	if (cpu < 0)
		return -errno;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		return -errno;
	*ret_cpu = cpu;
	return 0;
}

static void addr_of(char *s, size_t n, int local, unsigned int i)
{
	if (local)
		snprintf(s, n, "10.%u.%u.%u", 20 + (i >> 16), (i >> 8) & 0xff, i & 0xff);
	else
		snprintf(s, n, "10.%u.%u.%u", 100 + (i >> 16), (i >> 8) & 0xff, i & 0xff);
}

/* tcp_flags 0: SYN. */
static void build(struct frame *fr, unsigned int src, unsigned int dst, uint8_t proto,
		  uint8_t tcp_flags, uint16_t sport, uint16_t dport)
{
	char s[32], d[32];
	struct pk p = { .src = s,
			.dst = d,
			.proto = proto,
			.sport = sport,
			.dport = dport,
			.tcp_flags = tcp_flags };

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
		struct pwt_ep e = { a, 10 + i, (uint32_t)g_if, PW_EP_LOCAL,
				    1 + (i % PW_MAX_LOCAL_EPS), 1 + (i % nsets), 0,
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

/* Whether fill() lets peer i into the set of endpoint dst (tcp/80). */
static int peer_allowed(unsigned int i, unsigned int dst, unsigned int nsets, unsigned int per_set)
{
	return i % nsets == dst % nsets && i / nsets < per_set;
}

/*
 * Frames of every lane of world w.  The ct_hit lane's flows are opened by
 * SYNs (est_syn, run once by world_open()) and measured with ACKs (est):
 * established traffic, whatever the datapath does for SYNs.
 */
static void build_frames(struct world *w, int npkt)
{
	struct frame *deny = w->frames, *deny_peer = deny + npkt, *deny_udp = deny_peer + npkt,
		     *allow = deny_udp + npkt, *est = allow + npkt, *est_syn = est + npkt;
	int to_pod = bpf_program__fd(w->t->tc->progs.pw_to_pod);
	unsigned int dst, src, set;
	int i;

	for (i = 0; i < npkt; i++) {
		dst = ((unsigned int)i * 7) % NEP;
		/* Deny: tcp/81 (no rule for it) from peer i to endpoint i*7. */
		build(&deny[i], (unsigned int)i % NPEER, dst, IPPROTO_TCP, 0, (uint16_t)(10000 + i),
		      81);
		build(&deny_udp[i], (unsigned int)i % NPEER, dst, IPPROTO_UDP, 0,
		      (uint16_t)(10000 + i), 81);
		/* Deny_peer: tcp/80 from the first peer from i on that the
		 * destination's set does not allow. */
		for (src = (unsigned int)i % NPEER; peer_allowed(src, dst, w->nsets, w->per_set);)
			src = (src + 1) % NPEER;
		build(&deny_peer[i], src, dst, IPPROTO_TCP, 0, (uint16_t)(10000 + i), 80);
		/* Allow and ct_hit: tcp/80 from an allowed peer of the
		 * destination's set, each lane with its own source ports. */
		set = dst % w->nsets;
		src = set + ((unsigned int)i % w->per_set) * w->nsets;
		if (src >= NPEER)
			src = set;
		build(&allow[i], src, dst, IPPROTO_TCP, 0, (uint16_t)(ALLOW_SPORT + i), 80);
		build(&est_syn[i], src, dst, IPPROTO_TCP, 0, (uint16_t)(EST_SPORT + i), 80);
		build(&est[i], src, dst, IPPROTO_TCP, 0x10, (uint16_t)(EST_SPORT + i), 80);
	}
	w->ln[L_EMPTY] = (struct lane){ .name = "empty",
					.fd = bpf_program__fd(w->b->progs.pw_bench_empty),
					.f = deny,
					.expect = TC_ACT_OK };
	w->ln[L_FLOOR] = (struct lane){ .name = "floor",
					.fd = bpf_program__fd(w->b->progs.pw_bench_floor),
					.f = deny,
					.expect = TC_ACT_OK };
	w->ln[L_DENY] =
		(struct lane){ .name = "deny", .fd = to_pod, .f = deny, .expect = TC_ACT_SHOT };
	w->ln[L_DENY_PEER] = (struct lane){
		.name = "deny_peer", .fd = to_pod, .f = deny_peer, .expect = TC_ACT_SHOT
	};
	w->ln[L_DENY_UDP] = (struct lane){
		.name = "deny_udp", .fd = to_pod, .f = deny_udp, .expect = TC_ACT_SHOT
	};
	w->ln[L_ALLOW] =
		(struct lane){ .name = "allow", .fd = to_pod, .f = allow, .expect = TC_ACT_OK };
	w->ln[L_CT_HIT] =
		(struct lane){ .name = "ct_hit", .fd = to_pod, .f = est, .expect = TC_ACT_OK };
	w->ln[L_DENY_REP] = (struct lane){ .name = "deny_reported",
					   .fd = to_pod,
					   .f = deny,
					   .expect = TC_ACT_SHOT,
					   .reported = 1 };
}

static void world_close(struct world *w)
{
	ring_buffer__free(w->rb);
	w->rb = NULL;
	podwall_bench__destroy(w->b);
	pwt_destroy(w->t);
	free(w->frames);
	w->b = NULL;
	w->t = NULL;
	w->frames = NULL;
}

/* Load, fill and build world w; 0 or -1 (message printed). */
static int world_open(struct world *w, unsigned int entries, int npkt, unsigned int rate)
{
	struct bpf_map *m, *tm;
	struct lane syn;

	w->entries = entries;
	w->t = pwt_load(1);
	if (!w->t) {
		fprintf(stderr, "perpacket: cannot load podwall_tc\n");
		return -1;
	}
	w->b = podwall_bench__open();
	if (!w->b)
		return -1;
	bpf_object__for_each_map (m, w->b->obj) {
		bpf_map__set_pin_path(m, NULL);
		tm = bpf_object__find_map_by_name(w->t->tc->obj, bpf_map__name(m));
		if (tm)
			bpf_map__reuse_fd(m, bpf_map__fd(tm));
	}
	if (podwall_bench__load(w->b)) {
		fprintf(stderr, "perpacket: cannot load podwall_bench\n");
		return -1;
	}
	w->frames = calloc(NFRAMES * (size_t)npkt, sizeof(*w->frames));
	if (!w->frames)
		return -1;
	fill(w->t, entries, &w->nsets, &w->per_set);
	w->rate = rate;
	w->rb = ring_buffer__new(bpf_map__fd(w->t->tc->maps.pw_events_v1), on_event, w, NULL);
	if (!w->rb || rl_set(w, 0))
		return -1;
	build_frames(w, npkt);
	w->ln[L_DENY_REP].rb = w->rb;
	/* Open the ct_hit lane's flows. */
	syn = w->ln[L_CT_HIT];
	syn.name = "ct_hit SYN";
	syn.f = w->frames + (NFRAMES - 1) * npkt; /* est_syn */
	if (run_chunk(&syn, 0, npkt) < 0)
		return -1;
	return 0;
}

/* After pass p (-1: the warm-up): forget the allow lane's flows, check
 * them, and record the pass's figures. */
static int world_end_pass(struct world *w, int npkt, int p)
{
	unsigned int deleted = 0, kept = 0;
	double mean[NLANE];
	int err, l;

	err = ct_forget(w->t, npkt, &deleted, &kept);
	if (err) {
		fprintf(stderr, "perpacket: conntrack cleanup: %s\n", strerror(-err));
		return -1;
	}
	/* Every allow frame made a new flow (at least one entry), and the
	 * established flows are still there. */
	if (deleted < (unsigned int)npkt || kept < (unsigned int)npkt) {
		fprintf(stderr, "perpacket: conntrack: %u allow entries for %d frames, %u others\n",
			deleted, npkt, kept);
		return -1;
	}
	if (p < 0)
		return 0;
	for (l = 0; l < NLANE; l++)
		mean[l] = (double)w->ln[l].ns / npkt;
	w->empty[p] = mean[L_EMPTY];
	for (l = L_FLOOR; l < NLANE; l++)
		w->net[l][p] = mean[l] - mean[L_EMPTY];
	for (l = L_FLOOR; l < NLANE; l++)
		w->ratio[l][p] = w->net[l][p] / w->net[L_FLOOR][p];
	if (g_verbose) {
		fprintf(stderr, "pass %2d %6u: empty %.1f", p, w->entries, mean[L_EMPTY]);
		for (l = L_FLOOR; l < NLANE; l++)
			fprintf(stderr, " %s %.1f", w->ln[l].name, w->net[l][p]);
		fprintf(stderr, " deny/floor %.2f\n", w->ratio[L_DENY][p]);
	}
	return 0;
}

/*
 * The counters agree with the lanes (the maps are fresh): every deny frame
 * dropped with PW_DROP_POLICY, every allow frame a new flow allowed by a
 * rule, every ct_hit frame an established flow.  With -R, the repeats of an
 * allowed frame are established flows.
 */
static int world_check_counts(struct world *w, int npkt)
{
	const struct {
		uint32_t code;
		uint64_t want;
	} c[] = {
		{ PW_DROP_POLICY, (w->ln[L_DENY].runs + w->ln[L_DENY_PEER].runs +
				   w->ln[L_DENY_UDP].runs + w->ln[L_DENY_REP].runs) *
					  g_repeat },
		{ PW_ALLOW_POLICY, w->ln[L_ALLOW].runs + (uint64_t)npkt },
		{ PW_ALLOW_ESTABLISHED,
		  w->ln[L_CT_HIT].runs * g_repeat +
			  (w->ln[L_ALLOW].runs + (uint64_t)npkt) * (g_repeat - 1) },
	};
	uint64_t got;
	size_t i;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		got = count_in(w->t, c[i].code);
		if (got != c[i].want) {
			fprintf(stderr,
				"perpacket: %u entries: %llu packets counted with reason %u, "
				"expected %llu\n",
				w->entries, (unsigned long long)got, c[i].code,
				(unsigned long long)c[i].want);
			return -1;
		}
	}
	/* Every drop of the reported lane reached user space (the others may
	 * add the few events their empty bucket lets through). */
	if (ring_buffer__consume(w->rb) < 0 || w->reported < w->ln[L_DENY_REP].runs * g_repeat) {
		fprintf(stderr, "perpacket: %u entries: %llu drop events read, %llu expected\n",
			w->entries, (unsigned long long)w->reported,
			(unsigned long long)(w->ln[L_DENY_REP].runs * g_repeat));
		return -1;
	}
	if (g_verbose)
		fprintf(stderr, "perpacket: %u entries: %llu drop events, %llu of other lanes\n",
			w->entries, (unsigned long long)w->reported,
			(unsigned long long)(w->reported - w->ln[L_DENY_REP].runs * g_repeat));
	return 0;
}

/* Per size: the empty lane's median raw ns, the other lanes' medians net of
 * it, and medians of their per-pass ratios to the floor lane. */
struct result {
	unsigned int entries;
	double empty;
	double net[NLANE];
	double vs_floor[NLANE];
};

static void world_result(struct world *w, int passes, struct result *r)
{
	int l;

	r->entries = w->entries;
	r->empty = median(w->empty, passes);
	for (l = L_FLOOR; l < NLANE; l++) {
		r->net[l] = median(w->net[l], passes);
		r->vs_floor[l] = median(w->ratio[l], passes);
	}
}

/*
 * Open the worlds for entries[0..nw), run the warm-up pass and the passes
 * over all of them together, check them, and close them; res[i] gets world
 * i's figures.
 */
static int measure(struct world *w, int nw, const unsigned int *entries, int npkt, int passes,
		   unsigned int rate, struct result *res)
{
	int i, p;

	for (i = 0; i < nw; i++)
		if (world_open(&w[i], entries[i], npkt, rate))
			return -1;
	/* Pass -1 warms up (code, frames, map entries) and is not counted. */
	for (p = -1; p < passes; p++) {
		if (run_pass(w, nw, npkt))
			return -1;
		for (i = 0; i < nw; i++)
			if (world_end_pass(&w[i], npkt, p))
				return -1;
	}
	for (i = 0; i < nw; i++) {
		if (world_check_counts(&w[i], npkt))
			return -1;
		world_result(&w[i], passes, &res[i]);
		world_close(&w[i]);
	}
	return 0;
}

static void print_json(FILE *fo, const struct result *res, int npkt, int passes, int cpu,
		       unsigned int rate)
{
	const struct result *r0 = &res[0], *rn = &res[NSIZES - 1];
	double empty = 0, floor_ns = 0;
	char pin[32] = "not pinned";
	int s;

	for (s = 0; s < NSIZES; s++) {
		empty += res[s].empty / NSIZES;
		floor_ns += res[s].net[L_FLOOR] / NSIZES;
	}
	if (cpu >= 0)
		snprintf(pin, sizeof(pin), "pinned to CPU %d", cpu);
	/* One flat object (name -> number): scripts/bench.sh merges it as
	 * is.  Ratios to the floor are medians of per-pass ratios. */
	fprintf(fo,
		"{\n  \"per_packet_method\": \"BPF_PROG_TEST_RUN repeat %u over %d distinct frames "
		"(%d endpoints, %d peers) in turn; the %d programs of %s interleaved in chunks of "
		"%d frames in every pass, %s; medians over %d passes (after a warm-up pass) of "
		"batch means net of an empty tc program and of ratios to the floor, both from the "
		"same pass\",\n",
		g_repeat, npkt, NEP, NPEER, NLANE,
		g_one_size ? "one size at a time" : "all 4 sizes", g_chunk, pin, passes);
	fprintf(fo, "  \"per_packet_events_per_sec\": %u,\n", rate);
	fprintf(fo, "  \"per_packet_ns_empty\": %.1f,\n", empty);
	fprintf(fo, "  \"per_packet_ns_floor\": %.1f,\n", floor_ns);
	for (s = 0; s < NSIZES; s++) {
		const struct result *r = &res[s];
		unsigned int n = r->entries;

		fprintf(fo, "  \"per_packet_ns_floor_%u\": %.1f,\n", n, r->net[L_FLOOR]);
		fprintf(fo, "  \"per_packet_ns_deny_%u\": %.1f,\n", n, r->net[L_DENY]);
		fprintf(fo, "  \"per_packet_ns_deny_peer_%u\": %.1f,\n", n, r->net[L_DENY_PEER]);
		fprintf(fo, "  \"per_packet_ns_deny_udp_%u\": %.1f,\n", n, r->net[L_DENY_UDP]);
		fprintf(fo, "  \"per_packet_ns_allow_%u\": %.1f,\n", n, r->net[L_ALLOW]);
		fprintf(fo, "  \"per_packet_ns_ct_hit_%u\": %.1f,\n", n, r->net[L_CT_HIT]);
		fprintf(fo, "  \"per_packet_deny_vs_floor_%u\": %.3f,\n", n, r->vs_floor[L_DENY]);
		fprintf(fo, "  \"per_packet_deny_peer_vs_floor_%u\": %.3f,\n", n,
			r->vs_floor[L_DENY_PEER]);
		fprintf(fo, "  \"per_packet_deny_udp_vs_floor_%u\": %.3f,\n", n,
			r->vs_floor[L_DENY_UDP]);
		fprintf(fo, "  \"per_packet_ns_deny_reported_%u\": %.1f,\n", n,
			r->net[L_DENY_REP]);
		fprintf(fo, "  \"per_packet_deny_reported_vs_floor_%u\": %.3f,\n", n,
			r->vs_floor[L_DENY_REP]);
	}
	fprintf(fo, "  \"per_packet_growth_10_to_100k\": %.3f,\n",
		rn->net[L_DENY] / r0->net[L_DENY]);
	fprintf(fo, "  \"per_packet_growth_10_to_100k_floor_normalised\": %.3f,\n",
		rn->vs_floor[L_DENY] / r0->vs_floor[L_DENY]);
	fprintf(fo, "  \"per_packet_vs_floor\": %.3f,\n", rn->vs_floor[L_DENY]);
	fprintf(fo, "  \"per_packet_vs_floor_deny_peer\": %.3f,\n", rn->vs_floor[L_DENY_PEER]);
	fprintf(fo, "  \"per_packet_vs_floor_deny_udp\": %.3f,\n", rn->vs_floor[L_DENY_UDP]);
	fprintf(fo, "  \"per_packet_vs_floor_deny_reported\": %.3f,\n",
		rn->vs_floor[L_DENY_REP]);
	fprintf(fo, "  \"per_packet_ct_hit_vs_floor_100000\": %.3f\n}\n", rn->vs_floor[L_CT_HIT]);
}

int main(int argc, char **argv)
{
	static struct world w[NSIZES];
	struct result res[NSIZES];
	const char *out = NULL;
	int passes = 41, npkt = 8192, c, s, cpu = -1, err;
	unsigned int rate = 1;
	FILE *fo = stdout;

	while ((c = getopt(argc, argv, "o:p:n:r:R:c:sv")) != -1) {
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
		case 'c':
			g_chunk = atoi(optarg);
			break;
		case 's':
			g_one_size = 1;
			break;
		case 'v':
			g_verbose = 1;
			break;
		default:
			fprintf(stderr,
				"usage: perpacket [-o FILE] [-p PASSES] [-n NPKT] [-r RATE] "
				"[-R REPEAT] [-c CHUNK] [-s] [-v]\n");
			return 2;
		}
	}
	/* scripts/bench.sh QUICK mode. */
	if (getenv("BENCH_QUICK") && strcmp(getenv("BENCH_QUICK"), "0") != 0) {
		passes = passes < QUICK_PASSES ? passes : QUICK_PASSES;
		npkt = npkt < 4096 ? npkt : 4096;
	}
	if (passes < 1 || passes > MAX_PASSES || npkt < 1 || npkt > MAX_NPKT || g_chunk < 1 ||
	    g_repeat < 1) {
		fprintf(stderr, "perpacket: -p 1..%d, -n 1..%d, -c >= 1, -R >= 1\n", MAX_PASSES,
			MAX_NPKT);
		return 2;
	}
	err = pin_cpu(&cpu);
	if (err)
		fprintf(stderr, "perpacket: not pinned to a CPU: %s\n", strerror(-err));
	if (pwt_netns()) {
		fprintf(stderr, "perpacket: cannot create a private netns (root needed)\n");
		return 1;
	}
	g_if = pwt_if[1];

	if (g_one_size) {
		for (s = 0; s < NSIZES; s++)
			if (measure(&w[s], 1, &sizes[s], npkt, passes, rate, &res[s]))
				return 1;
	} else if (measure(w, NSIZES, sizes, npkt, passes, rate, res)) {
		return 1;
	}
	if (out) {
		fo = fopen(out, "we");
		if (!fo) {
			perror(out);
			return 1;
		}
	}
	print_json(fo, res, npkt, passes, cpu, rate);
	if (fo != stdout)
		fclose(fo);
	return 0;
}
