// SPDX-License-Identifier: MIT
/*
 * Map writer against real pinned maps (private bpffs directory): two
 * generations land in the two slots, the epoch is published through the
 * mmap, the grace period is a real wait, a restarted writer re-adopts both
 * slots, and 100k policy entries are written and timed.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#include <bpf/bpf.h>

#include "dkern_util.h"
#include "loader.h"
#include "eval_maps.h"
#include "map_writer.h"

static void quiet(int level, const char *fmt, ...)
{
	(void)level;
	(void)fmt;
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

static int open_loader(const char *what, char *dir, size_t len, struct pw_loader **l)
{
	dk_bpffs_name(dir, len, what);
	struct pw_loader_opts o = {
		.bpffs = dir, .tc_obj_path = dk_objs.tc, .no_xdp = 1, .log = quiet
	};
	return pw_loader_open(&o, l);
}

static void image_n(struct pw_image *img, uint32_t npol, uint32_t rule_base)
{
	static struct pw_img_ep eps[2];
	static struct pw_img_prefix pfx[1];

	memset(img, 0, sizeof(*img));
	img->pols = calloc(npol, sizeof(*img->pols));
	assert_non_null(img->pols);
	for (uint32_t i = 0; i < npol; i++) {
		img->pols[i].key.set_id = 1 + i / 1000;
		img->pols[i].key.peer_id = 16 + i % 1000;
		img->pols[i].key.proto = PW_PROTO_TCP;
		img->pols[i].key.port = 80;
		img->pols[i].val.rule_id = rule_base + i;
	}
	img->n_pols = npol;
	memset(eps, 0, sizeof(eps));
	eps[0].addr = v4(0x0a000001);
	eps[0].val.identity = 16;
	eps[0].val.set_id[0] = 1;
	eps[0].val.set_flags[0] = PW_SET_PEER;
	eps[1].addr = v4(0x0a000002);
	eps[1].val.identity = 17;
	img->eps = eps;
	img->n_eps = 2;
	pfx[0].addr = v4(0x0a000000);
	pfx[0].plen = 96 + 8;
	pfx[0].val.identity = 99;
	img->prefixes = pfx;
	img->n_prefixes = 1;
}

static uint32_t rule_of(int fd, uint32_t slot, uint32_t i)
{
	struct pw_pol_key k = { .slot = slot,
				.set_id = 1 + i / 1000,
				.peer_id = 16 + i % 1000,
				.proto = PW_PROTO_TCP,
				.port = 80 };
	struct pw_pol_val v;

	if (bpf_map_lookup_elem(fd, &k, &v))
		return 0;
	return v.rule_id;
}

static void test_two_generations_and_epoch(void **state)
{
	(void)state;
	char dir[128];
	struct pw_loader *l;
	struct pw_mw *mw;
	struct pw_mw_stats st;
	struct pw_image a, b;
	struct pw_mw_local loc = { v4(0x0a000001), 1 /* lo: any existing ifindex */ };
	struct pw_mw_view view = { &loc, 1, NULL, 0, 0, false };
	int pol;

	DK_SKIP_UNLESS_READY();
	assert_int_equal(open_loader("gen", dir, sizeof(dir), &l), 0);
	pol = pw_loader_map_fd(l, PW_MAP_POL);
	assert_int_equal(pw_mw_open_bpf(l, &mw), 0);
	image_n(&a, 100, 1000);
	image_n(&b, 50, 5000);
	assert_int_equal(pw_mw_apply(mw, &a, &view, &st), 0);
	assert_int_equal(pw_loader_state(l)->epoch, 1);
	assert_true(pw_loader_state(l)->flags & PW_STATE_ENFORCING);
	assert_int_equal(pw_loader_state(l)->abi_version, PW_ABI_VERSION);
	assert_int_equal(rule_of(pol, 1, 7), 1007);
	assert_int_equal(rule_of(pol, 0, 7), 0);
	assert_int_equal(pw_mw_apply(mw, &b, &view, &st), 0);
	assert_int_equal(pw_loader_state(l)->epoch, 2);
	assert_int_equal(rule_of(pol, 0, 7), 5007);
	assert_int_equal(rule_of(pol, 1, 7), 1007); /* previous generation intact */
	assert_int_equal(rule_of(pol, 0, 70), 0);
	/* LPM: a /8 written with its slot */
	struct pw_peer_key pk = { .prefixlen = 32 + 128, .slot = 0, .addr = v4(0x0a010203) };
	struct pw_peer_val pv;
	assert_int_equal(bpf_map_lookup_elem(pw_loader_map_fd(l, PW_MAP_PEER), &pk, &pv), 0);
	assert_int_equal(pv.identity, 99);
	/* local endpoint */
	struct pw_ep_key ek = { .slot = 0, .addr = v4(0x0a000001) };
	struct pw_endpoint ev;
	assert_int_equal(bpf_map_lookup_elem(pw_loader_map_fd(l, PW_MAP_EP), &ek, &ev), 0);
	assert_true(ev.flags & PW_EP_LOCAL);
	assert_int_equal(ev.ifindex, 1);
	assert_int_equal(ev.ep_id, 1);
	struct pw_if_key ik = { .slot = 0, .ifindex = 1 };
	assert_int_equal(bpf_map_lookup_elem(pw_loader_map_fd(l, PW_MAP_IF), &ik, &ev), 0);

	/* gen 3 = a again into slot 1: only what differs from gen 1 (nothing) */
	assert_int_equal(pw_mw_apply(mw, &a, &view, &st), 0);
	assert_int_equal(st.updated[PW_MW_POL] + st.removed[PW_MW_POL], 0);

	/* restart: a new writer re-adopts both slots; gen 4 (b) into slot 0 is a no-op */
	pw_mw_free(mw);
	pw_loader_close(l);
	struct pw_loader_opts o = {
		.bpffs = dir, .tc_obj_path = dk_objs.tc, .no_xdp = 1, .log = quiet
	};
	assert_int_equal(pw_loader_open(&o, &l), 0);
	assert_int_equal(pw_mw_open_bpf(l, &mw), 0);
	assert_int_equal(pw_mw_epoch(mw), 3);
	assert_int_equal(pw_mw_count(mw, PW_MW_POL, 0), 50);
	assert_int_equal(pw_mw_count(mw, PW_MW_POL, 1), 100);
	assert_int_equal(pw_mw_ep_id(mw, &loc.addr), 1);
	assert_int_equal(pw_mw_apply(mw, &b, &view, &st), 0);
	for (int k = 0; k < PW_MW__KINDS; k++)
		assert_int_equal(st.updated[k] + st.removed[k], 0);
	assert_int_equal(pw_loader_state(l)->epoch, 4);
	pw_mw_free(mw);
	pw_loader_close(l);
	free(a.pols);
	free(b.pols);
	assert_int_equal(pw_uninstall(dir, quiet), 0);
}

static void test_grace_period_waits(void **state)
{
	(void)state;
	char dir[128];
	struct pw_loader *l;
	struct pw_mw *mw;
	uint64_t ns[21], tmp;

	DK_SKIP_UNLESS_READY();
	assert_int_equal(open_loader("grace", dir, sizeof(dir), &l), 0);
	assert_int_equal(pw_mw_open_bpf(l, &mw), 0);
	for (int i = 0; i < 21; i++)
		assert_int_equal(pw_mw_grace_ns(mw, &ns[i]), 0);
	for (int i = 0; i < 21; i++)
		for (int j = i + 1; j < 21; j++)
			if (ns[j] < ns[i]) {
				tmp = ns[i];
				ns[i] = ns[j];
				ns[j] = tmp;
			}
	/* synchronize_rcu() cannot return in under a microsecond; a plain
	 * array update takes well under that. */
	print_message("grace period: min %.3f ms, median %.3f ms, max %.3f ms\n", ns[0] / 1e6,
		      ns[10] / 1e6, ns[20] / 1e6);
	assert_true(ns[0] > 1000);
	pw_mw_free(mw);
	pw_loader_close(l);
	assert_int_equal(pw_uninstall(dir, quiet), 0);
}

static void test_write_100k_entries(void **state)
{
	(void)state;
	char dir[128];
	struct pw_loader *l;
	struct pw_mw *mw;
	struct pw_mw_stats st;
	struct pw_image a, b;

	DK_SKIP_UNLESS_READY();
	assert_int_equal(open_loader("100k", dir, sizeof(dir), &l), 0);
	assert_int_equal(pw_mw_open_bpf(l, &mw), 0);
	image_n(&a, 100000, 1);
	assert_int_equal(pw_mw_apply(mw, &a, NULL, &st), 0);
	print_message("100k pw_pol_v1 entries (empty slot): write %.1f ms, grace %.3f ms\n",
		      st.write_ns / 1e6, st.grace_ns / 1e6);
	assert_int_equal(st.updated[PW_MW_POL], 100000);
	assert_int_equal(rule_of(pw_loader_map_fd(l, PW_MAP_POL), 1, 99999), 100000);
	assert_int_equal(pw_mw_apply(mw, &a, NULL, &st), 0);
	/* gen 3: one entry changed relative to gen 1 */
	image_n(&b, 100000, 1);
	b.pols[500].val.rule_id = 7;
	assert_int_equal(pw_mw_apply(mw, &b, NULL, &st), 0);
	assert_int_equal(st.updated[PW_MW_POL], 1);
	print_message("100k entries, 1 changed: diff+write %.2f ms, grace %.3f ms\n",
		      st.write_ns / 1e6, st.grace_ns / 1e6);
	assert_int_equal(rule_of(pw_loader_map_fd(l, PW_MAP_POL), 1, 500), 7);
	free(a.pols);
	free(b.pols);
	pw_mw_free(mw);
	pw_loader_close(l);
	assert_int_equal(pw_uninstall(dir, quiet), 0);
}

static void test_eval_over_live_maps(void **state)
{
	(void)state;
	char dir[128];
	struct pw_loader *l;
	struct pw_mw *mw;
	struct pw_eval_maps *em;
	struct pw_image a, b;
	struct pw_side eg, in;
	uint32_t sid, did;
	uint8_t v;
	uint64_t epoch;
	union pw_addr pod1 = v4(0x0a000001), pod2 = v4(0x0a000002);

	DK_SKIP_UNLESS_READY();
	assert_int_equal(open_loader("eval", dir, sizeof(dir), &l), 0);
	assert_int_equal(pw_mw_open_bpf(l, &mw), 0);
	assert_int_equal(pw_eval_maps_open(dir, &em), 0);
	/* nothing written yet: not enforcing, everything allowed */
	assert_int_equal(pw_eval_maps_flow(em, &pod2, &pod1, PW_PROTO_TCP, 81, &eg, &in, &sid, &did,
					   &v, &epoch),
			 0);
	assert_int_equal(v, PW_VERDICT_ALLOW);
	image_n(&a, 10, 1000);
	assert_int_equal(pw_mw_apply(mw, &a, NULL, NULL), 0);
	assert_int_equal(pw_eval_maps_flow(em, &pod2, &pod1, PW_PROTO_TCP, 80, &eg, &in, &sid, &did,
					   &v, &epoch),
			 0);
	assert_int_equal(epoch, 1);
	assert_int_equal(v, PW_VERDICT_ALLOW);
	assert_int_equal(in.reason, PW_ALLOW_POLICY);
	assert_int_equal(in.rule_id, 1001);
	assert_int_equal(sid, 17);
	assert_int_equal(did, 16);
	assert_int_equal(pw_eval_maps_flow(em, &pod2, &pod1, PW_PROTO_TCP, 81, &eg, &in, &sid, &did,
					   &v, &epoch),
			 0);
	assert_int_equal(v, PW_VERDICT_DROP);
	assert_int_equal(in.reason, PW_DROP_POLICY);
	/* the next generation is what trace sees */
	image_n(&b, 10, 2000);
	assert_int_equal(pw_mw_apply(mw, &b, NULL, NULL), 0);
	assert_int_equal(pw_eval_maps_flow(em, &pod2, &pod1, PW_PROTO_TCP, 80, &eg, &in, &sid, &did,
					   &v, &epoch),
			 0);
	assert_int_equal(in.rule_id, 2001);
	pw_eval_maps_close(em);
	free(a.pols);
	free(b.pols);
	pw_mw_free(mw);
	pw_loader_close(l);
	assert_int_equal(pw_uninstall(dir, quiet), 0);
	assert_int_equal(pw_eval_maps_open(dir, &em), -ENOENT);
}

static int teardown(void **state)
{
	(void)state;
	dk_cleanup_objs();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_two_generations_and_epoch),
		cmocka_unit_test(test_grace_period_waits),
		cmocka_unit_test(test_write_100k_entries),
		cmocka_unit_test(test_eval_over_live_maps),
	};

	return cmocka_run_group_tests(tests, NULL, teardown);
}
