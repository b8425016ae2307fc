// SPDX-License-Identifier: MIT
/*
 * Map writer logic against an in-memory fake of the maps: which slot is
 * written, that only the difference is written, deletions, the publish /
 * grace order, ep_id stability, re-adoption, failure handling, limits.
 */
#include <errno.h>
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "map_writer.h"

#define FAKE_MAX 4096

struct fake_map {
	uint8_t keys[FAKE_MAX][64];
	uint8_t vals[FAKE_MAX][sizeof(struct pw_hosts) > sizeof(struct pw_range_val)
				       ? sizeof(struct pw_hosts)
				       : sizeof(struct pw_range_val)];
	int n;
	uint32_t max;
};

struct fake {
	struct fake_map m[PW_MW__KINDS];
	struct pw_state st;
	int updates[PW_MW__KINDS]; /* entries written by update */
	int removes[PW_MW__KINDS];
	int publishes, graces;
	char log[256]; /* 'u' update, 'r' remove, 'p' publish, 'g' grace, 'c' reset */
	int fail_update_after; /* -1: never; else fail once that many entries were written */
	uint32_t resets[64];
	int n_resets;
};

static void logc(struct fake *f, char c)
{
	size_t n = strlen(f->log);

	if (n + 1 < sizeof(f->log) && (n == 0 || f->log[n - 1] != c)) {
		f->log[n] = c;
		f->log[n + 1] = 0;
	}
}

static int fm_find(struct fake_map *m, enum pw_mw_kind k, const void *key)
{
	for (int i = 0; i < m->n; i++)
		if (!memcmp(m->keys[i], key, pw_mw_key_size(k)))
			return i;
	return -1;
}

static int f_update(void *c, enum pw_mw_kind k, const void *keys, const void *vals, uint32_t n,
		    uint32_t *ret_done)
{
	struct fake *f = c;
	struct fake_map *m = &f->m[k];
	size_t ks = pw_mw_key_size(k), vs = pw_mw_val_size(k);
	uint32_t i;

	logc(f, 'u');
	for (i = 0; i < n; i++) {
		const uint8_t *key = (const uint8_t *)keys + i * ks;
		int j = fm_find(m, k, key);

		if (f->fail_update_after == 0) {
			if (i)
				break; /* partial write; the next call fails */
			f->fail_update_after = -1;
			return -ENOSPC;
		}
		if (f->fail_update_after > 0)
			f->fail_update_after--;
		if (j < 0) {
			if ((uint32_t)m->n >= m->max)
				return i ? 0 : -E2BIG;
			j = m->n++;
			memcpy(m->keys[j], key, ks);
		}
		memcpy(m->vals[j], (const uint8_t *)vals + i * vs, vs);
		f->updates[k]++;
	}
	*ret_done = i;
	return 0;
}

static int f_remove(void *c, enum pw_mw_kind k, const void *keys, uint32_t n, uint32_t *ret_done)
{
	struct fake *f = c;
	struct fake_map *m = &f->m[k];
	size_t ks = pw_mw_key_size(k);

	logc(f, 'r');
	for (uint32_t i = 0; i < n; i++) {
		int j = fm_find(m, k, (const uint8_t *)keys + i * ks);

		assert_true(j >= 0); /* the writer deletes only what it knows is there */
		m->n--;
		memcpy(m->keys[j], m->keys[m->n], sizeof(m->keys[0]));
		memcpy(m->vals[j], m->vals[m->n], sizeof(m->vals[0]));
		f->removes[k]++;
	}
	*ret_done = n;
	return 0;
}

static int f_iterate(void *c, enum pw_mw_kind k, int (*cb)(void *, const void *, const void *),
		     void *arg)
{
	struct fake *f = c;

	for (int i = 0; i < f->m[k].n; i++) {
		int err = cb(arg, f->m[k].keys[i], f->m[k].vals[i]);

		if (err)
			return err;
	}
	return 0;
}

static uint32_t f_max(void *c, enum pw_mw_kind k)
{
	return ((struct fake *)c)->m[k].max;
}

static int f_read_state(void *c, struct pw_state *ret)
{
	*ret = ((struct fake *)c)->st;
	return 0;
}

static int f_publish(void *c, uint64_t epoch, uint32_t flags)
{
	struct fake *f = c;

	logc(f, 'p');
	f->st.epoch = epoch;
	f->st.flags = flags;
	f->st.abi_version = PW_ABI_VERSION;
	f->publishes++;
	return 0;
}

static int f_grace(void *c)
{
	struct fake *f = c;

	logc(f, 'g');
	f->graces++;
	return 0;
}

static int f_reset(void *c, uint32_t ep_id)
{
	struct fake *f = c;

	logc(f, 'c');
	if (f->n_resets < 64)
		f->resets[f->n_resets++] = ep_id;
	return 0;
}

static const struct pw_mw_ops fake_ops = {
	.update = f_update,
	.remove = f_remove,
	.iterate = f_iterate,
	.max_entries = f_max,
	.read_state = f_read_state,
	.publish = f_publish,
	.grace = f_grace,
	.reset_counters = f_reset,
};

static struct fake *fake_new(void)
{
	struct fake *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	for (int k = 0; k < PW_MW__KINDS; k++)
		f->m[k].max = FAKE_MAX;
	f->fail_update_after = -1;
	return f;
}

static void fake_clear_counts(struct fake *f)
{
	memset(f->updates, 0, sizeof(f->updates));
	memset(f->removes, 0, sizeof(f->removes));
	f->log[0] = 0;
	f->n_resets = 0;
}

/* entries of kind k in slot s of the fake */
static int fake_count(struct fake *f, enum pw_mw_kind k, uint32_t s)
{
	int n = 0;

	for (int i = 0; i < f->m[k].n; i++) {
		uint32_t slot;

		memcpy(&slot, f->m[k].keys[i] + pw_mw_slot_offset(k), 4);
		n += slot == s;
	}
	return n;
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

static const struct pw_endpoint *fake_ep(struct fake *f, uint32_t slot, union pw_addr a)
{
	struct pw_ep_key k = { .slot = slot, .addr = a };
	int j = fm_find(&f->m[PW_MW_EP], PW_MW_EP, &k);

	return j < 0 ? NULL : (const struct pw_endpoint *)f->m[PW_MW_EP].vals[j];
}

/* An image of `npods` pods (10.0.0.i), one policy entry per pod plus `extra`. */
struct img_buf {
	struct pw_image img;
	struct pw_img_ep eps[64];
	struct pw_img_pod pods[64];
	char names[64][16];
	struct pw_img_pol pols[128];
	struct pw_img_prefix pfx[8];
	struct pw_img_range rng[2];
};

static void make_image(struct img_buf *b, int npods, int first_pod, uint32_t rule_base)
{
	memset(b, 0, sizeof(*b));
	for (int i = 0; i < npods; i++) {
		int p = first_pod + i;

		snprintf(b->names[i], sizeof(b->names[i]), "pod%d", p);
		b->pods[i].ns = "default";
		b->pods[i].name = b->names[i];
		b->pods[i].first_ep = i;
		b->pods[i].n_eps = 1;
		b->eps[i].addr = v4(0x0a000000 + p);
		b->eps[i].pod = i;
		b->eps[i].val.identity = 16 + p;
		b->eps[i].val.set_id[PW_DIR_INGRESS] = 1;
		b->eps[i].val.set_flags[PW_DIR_INGRESS] = PW_SET_PEER | PW_SET_RANGES;
		b->pols[i].key.set_id = 1;
		b->pols[i].key.peer_id = 16 + p;
		b->pols[i].key.dir = PW_DIR_INGRESS;
		b->pols[i].key.proto = PW_PROTO_TCP;
		b->pols[i].key.port = 80;
		b->pols[i].val.rule_id = rule_base + i;
	}
	b->pfx[0].addr = v4(0xc0a80000);
	b->pfx[0].plen = 96 + 16;
	b->pfx[0].val.identity = 100;
	b->rng[0].key.set_id = 1;
	b->rng[0].key.peer_id = PW_ID_ANY;
	b->rng[0].key.proto = PW_PROTO_UDP;
	b->rng[0].val.n = 1;
	b->rng[0].val.r[0].lo = 1000;
	b->rng[0].val.r[0].hi = 2000;
	b->rng[0].val.r[0].rule_id = 7;
	b->img.eps = b->eps;
	b->img.n_eps = npods;
	b->img.pods = b->pods;
	b->img.n_pods = npods;
	b->img.pols = b->pols;
	b->img.n_pols = npods;
	b->img.prefixes = b->pfx;
	b->img.n_prefixes = 1;
	b->img.ranges = b->rng;
	b->img.n_ranges = 1;
}

static void test_first_apply_fills_inactive_slot_then_publishes(void **state)
{
	(void)state;
	struct fake *f = fake_new();
	struct img_buf ib;
	struct pw_mw *mw;
	struct pw_mw_stats st;

	make_image(&ib, 4, 1, 100);
	assert_int_equal(pw_mw_new(&fake_ops, f, &mw), 0);
	assert_int_equal(f->graces, 1); /* a grace period at adoption */
	fake_clear_counts(f);
	assert_int_equal(pw_mw_apply(mw, &ib.img, NULL, &st), 0);
	assert_int_equal(st.epoch, 1);
	assert_int_equal(st.slot, 1);
	assert_int_equal(f->st.epoch, 1);
	assert_true(f->st.flags & PW_STATE_ENFORCING);
	assert_int_equal(f->st.abi_version, PW_ABI_VERSION);
	assert_int_equal(fake_count(f, PW_MW_EP, 1), 4);
	assert_int_equal(fake_count(f, PW_MW_EP, 0), 0);
	assert_int_equal(fake_count(f, PW_MW_POL, 1), 4);
	assert_int_equal(fake_count(f, PW_MW_PEER, 1), 1);
	assert_int_equal(fake_count(f, PW_MW_RANGE, 1), 1);
	/* writes, then one publish, then the grace period */
	assert_string_equal(f->log, "upg");
	/* peer key: prefixlen counts the slot bits */
	const struct pw_peer_key *pk = (const void *)f->m[PW_MW_PEER].keys[0];
	assert_int_equal(pk->prefixlen, 32 + 112);
	assert_int_equal(pk->slot, 1);
	pw_mw_free(mw);
	free(f);
}

/* defer_grace: publish without waiting; the wait comes from pw_mw_settle()
 * or, at the latest, before the next apply writes anything. */
static void test_deferred_grace(void **state)
{
	(void)state;
	struct fake *f = fake_new();
	struct img_buf a, b;
	struct pw_mw *mw;
	struct pw_mw_stats st;
	struct pw_mw_view v = { .defer_grace = true };
	uint64_t ns = 1;

	make_image(&a, 4, 1, 100);
	make_image(&b, 5, 1, 100);
	assert_int_equal(pw_mw_new(&fake_ops, f, &mw), 0);
	fake_clear_counts(f);
	assert_int_equal(pw_mw_apply(mw, &a.img, &v, &st), 0);
	assert_string_equal(f->log, "up"); /* published, no grace */
	assert_int_equal(pw_mw_settle(mw, &ns), 0);
	assert_string_equal(f->log, "upg");
	assert_int_equal(pw_mw_settle(mw, &ns), 0); /* nothing owed any more */
	assert_int_equal(ns, 0);
	assert_string_equal(f->log, "upg");
	fake_clear_counts(f);
	assert_int_equal(pw_mw_apply(mw, &a.img, &v, &st), 0);
	assert_string_equal(f->log, "up");
	/* the next apply waits before its first write */
	assert_int_equal(pw_mw_apply(mw, &b.img, &v, &st), 0);
	assert_int_equal(f->log[2], 'g');
	assert_int_equal(f->log[strlen(f->log) - 1], 'p');
	pw_mw_free(mw);
	free(f);
}

static void test_only_difference_is_written(void **state)
{
	(void)state;
	struct fake *f = fake_new();
	struct img_buf a, b;
	struct pw_mw *mw;
	struct pw_mw_stats st;

	make_image(&a, 8, 1, 100);
	assert_int_equal(pw_mw_new(&fake_ops, f, &mw), 0);
	assert_int_equal(pw_mw_apply(mw, &a.img, NULL, &st), 0); /* gen 1 -> slot 1 */
	assert_int_equal(pw_mw_apply(mw, &a.img, NULL, &st), 0); /* gen 2 -> slot 0 */
	assert_int_equal(fake_count(f, PW_MW_POL, 0), 8);
	fake_clear_counts(f);
	/* gen 3 equals gen 1 (what slot 1 holds): nothing to write, still published */
	assert_int_equal(pw_mw_apply(mw, &a.img, NULL, &st), 0);
	for (int k = 0; k < PW_MW__KINDS; k++) {
		assert_int_equal(f->updates[k], 0);
		assert_int_equal(f->removes[k], 0);
	}
	assert_string_equal(f->log, "pg");
	assert_int_equal(f->st.epoch, 3);

	/* gen 4 -> slot 0 (holds gen 2): one rule changed, pod 8 removed */
	b = a;
	b.img.eps = b.eps;
	b.img.pods = b.pods;
	b.img.pols = b.pols;
	b.img.prefixes = b.pfx;
	b.img.ranges = b.rng;
	b.pols[2].val.rule_id = 999;
	b.img.n_eps = 7;
	b.img.n_pods = 7;
	b.img.n_pols = 7;
	fake_clear_counts(f);
	assert_int_equal(pw_mw_apply(mw, &b.img, NULL, &st), 0);
	assert_int_equal(st.slot, 0);
	assert_int_equal(f->updates[PW_MW_POL], 1);
	assert_int_equal(f->removes[PW_MW_POL], 1);
	assert_int_equal(f->removes[PW_MW_EP], 1);
	assert_int_equal(f->updates[PW_MW_EP], 0);
	assert_int_equal(st.updated[PW_MW_POL], 1);
	assert_int_equal(st.removed[PW_MW_EP], 1);
	/* deletions before updates */
	assert_string_equal(f->log, "rupg");
	/* slot 1 (gen 3) untouched */
	assert_int_equal(fake_count(f, PW_MW_POL, 1), 8);
	assert_int_equal(fake_count(f, PW_MW_POL, 0), 7);
	pw_mw_free(mw);
	free(f);
}

static void test_local_view_host_and_ifaces(void **state)
{
	(void)state;
	struct fake *f = fake_new();
	struct img_buf a;
	struct pw_mw *mw;
	struct pw_mw_stats st;
	struct pw_mw_local loc[2] = { { v4(0x0a000001), 11 }, { v4(0x0a000003), 13 } };
	union pw_addr host[2] = { v4(0x0a0000fe), v4(0x0a000002) /* also a pod */ };
	struct pw_mw_view view = { loc, 2, host, 2, PW_STATE_AUDIT, false };
	const struct pw_endpoint *e;

	make_image(&a, 4, 1, 100);
	assert_int_equal(pw_mw_new(&fake_ops, f, &mw), 0);
	assert_int_equal(pw_mw_apply(mw, &a.img, &view, &st), 0);
	assert_int_equal(st.local_eps, 2);
	assert_true(f->st.flags & PW_STATE_AUDIT);
	e = fake_ep(f, 1, v4(0x0a000001));
	assert_non_null(e);
	assert_true(e->flags & PW_EP_LOCAL);
	assert_int_equal(e->ifindex, 11);
	assert_int_equal(e->ep_id, 1);
	assert_int_equal(e->identity, 17);
	e = fake_ep(f, 1, v4(0x0a000003));
	assert_int_equal(e->ep_id, 2);
	e = fake_ep(f, 1, v4(0x0a000002));
	assert_false(e->flags & (PW_EP_LOCAL | PW_EP_HOST)); /* pod wins over host */
	assert_int_equal(e->ep_id, 0);
	e = fake_ep(f, 1, v4(0x0a0000fe));
	assert_non_null(e);
	assert_int_equal(e->identity, PW_ID_HOST);
	assert_int_equal(e->flags, PW_EP_HOST);
	/* pw_host_v1[1]: the node's addresses, without the pod's. */
	{
		__u32 hk = 1;
		int hj = fm_find(&f->m[PW_MW_HOST], PW_MW_HOST, &hk);
		const struct pw_hosts *h;

		assert_true(hj >= 0);
		h = (const void *)f->m[PW_MW_HOST].vals[hj];
		assert_int_equal(h->flags, PW_HOSTS_COMPLETE | PW_HOSTS_DEFER_COMPLETE);
		assert_int_equal(h->n, 1);
		assert_memory_equal(&h->addr[0], &host[0], sizeof(host[0]));
	}
	assert_int_equal(fake_count(f, PW_MW_IF, 1), 2);
	struct pw_if_key ik = { .slot = 1, .ifindex = 13 };
	int j = fm_find(&f->m[PW_MW_IF], PW_MW_IF, &ik);
	assert_true(j >= 0);
	assert_int_equal(((struct pw_endpoint *)f->m[PW_MW_IF].vals[j])->ep_id, 2);
	assert_int_equal(f->n_resets, 2); /* fresh ids get zeroed counters */
	assert_int_equal(pw_mw_ep_id(mw, &loc[1].addr), 2);
	pw_mw_free(mw);
	free(f);
}

/* More node addresses than pw_host_v1 holds: marked incomplete, so the
 * datapath asks pw_ep_v1 (which has them all). */
static void test_host_list_overflow(void **state)
{
	(void)state;
	struct fake *f = fake_new();
	struct img_buf a;
	struct pw_mw *mw;
	struct pw_mw_stats st;
	union pw_addr host[PW_MAX_HOST_ADDRS + 1];
	struct pw_mw_view view = { NULL, 0, host, PW_MAX_HOST_ADDRS, 0, false };
	const struct pw_hosts *h;
	__u32 hk;

	for (int i = 0; i <= PW_MAX_HOST_ADDRS; i++)
		host[i] = v4(0xc0a80001 + (uint32_t)i);
	make_image(&a, 2, 1, 100);
	assert_int_equal(pw_mw_new(&fake_ops, f, &mw), 0);
	assert_int_equal(pw_mw_apply(mw, &a.img, &view, &st), 0);
	hk = 1;
	h = (const void *)f->m[PW_MW_HOST].vals[fm_find(&f->m[PW_MW_HOST], PW_MW_HOST, &hk)];
	assert_int_equal(h->flags, PW_HOSTS_COMPLETE | PW_HOSTS_DEFER_COMPLETE);
	assert_int_equal(h->n, PW_MAX_HOST_ADDRS);
	view.n_host = PW_MAX_HOST_ADDRS + 1;
	assert_int_equal(pw_mw_apply(mw, &a.img, &view, &st), 0);
	hk = 0;
	h = (const void *)f->m[PW_MW_HOST].vals[fm_find(&f->m[PW_MW_HOST], PW_MW_HOST, &hk)];
	assert_int_equal(h->flags & PW_HOSTS_COMPLETE, 0);
	assert_int_equal(fake_count(f, PW_MW_EP, 0), fake_count(f, PW_MW_EP, 1) + 1);
	pw_mw_free(mw);
	free(f);
}

/* The service prefixes (PW_PEER_DEFER) in pw_host_v1, masked, with their
 * masks; more than PW_MAX_DEFER_PREFIXES: marked incomplete. */
static void test_defer_prefix_list(void **state)
{
	(void)state;
	struct fake *f = fake_new();
	struct img_buf a;
	struct pw_mw *mw;
	struct pw_mw_stats st;
	const struct pw_hosts *h;
	__u32 hk = 1;

	make_image(&a, 2, 1, 100);
	a.pfx[1].addr = v4(0x0a600000); /* 10.96.0.0/12 */
	a.pfx[1].plen = 96 + 12;
	a.pfx[1].val.identity = 50;
	a.pfx[1].val.flags = PW_PEER_DEFER;
	a.img.n_prefixes = 2;
	assert_int_equal(pw_mw_new(&fake_ops, f, &mw), 0);
	assert_int_equal(pw_mw_apply(mw, &a.img, NULL, &st), 0);
	h = (const void *)f->m[PW_MW_HOST].vals[fm_find(&f->m[PW_MW_HOST], PW_MW_HOST, &hk)];
	assert_int_equal(h->flags, PW_HOSTS_COMPLETE | PW_HOSTS_DEFER_COMPLETE);
	assert_int_equal(h->n, 0);
	assert_int_equal(h->n_defer, 1);
	assert_int_equal(h->defer[0].mask.w[0], 0xffffffffu);
	assert_int_equal(h->defer[0].mask.w[2], 0xffffffffu);
	assert_int_equal(h->defer[0].mask.w[3], htonl(0xfff00000u));
	assert_int_equal(h->defer[0].addr.w[3], htonl(0x0a600000u));
	/* Five service prefixes: too many to list. */
	for (int i = 0; i < 5; i++) {
		a.pfx[i] = a.pfx[1];
		a.pfx[i].addr = v4(0x0a600000u + ((uint32_t)i << 24));
	}
	a.img.n_prefixes = 5;
	assert_int_equal(pw_mw_apply(mw, &a.img, NULL, &st), 0);
	hk = 0;
	h = (const void *)f->m[PW_MW_HOST].vals[fm_find(&f->m[PW_MW_HOST], PW_MW_HOST, &hk)];
	assert_int_equal(h->flags, PW_HOSTS_COMPLETE);
	pw_mw_free(mw);
	free(f);
}

static void test_ep_ids_stable_and_not_reused_while_in_force(void **state)
{
	(void)state;
	struct fake *f = fake_new();
	struct img_buf a;
	struct pw_mw *mw;
	struct pw_mw_stats st;
	struct pw_mw_local loc[3] = { { v4(0x0a000001), 11 },
				      { v4(0x0a000002), 12 },
				      { v4(0x0a000003), 13 } };
	struct pw_mw_view view = { loc, 2, NULL, 0, 0, false };

	make_image(&a, 4, 1, 100);
	assert_int_equal(pw_mw_new(&fake_ops, f, &mw), 0);
	assert_int_equal(pw_mw_apply(mw, &a.img, &view, &st), 0);
	assert_int_equal(pw_mw_ep_id(mw, &loc[0].addr), 1);
	assert_int_equal(pw_mw_ep_id(mw, &loc[1].addr), 2);
	/* pod1 leaves, pod3 arrives: pod2 keeps 2, pod3 must not take 1 (in force) */
	view.local = loc + 1;
	view.n_local = 2;
	assert_int_equal(pw_mw_apply(mw, &a.img, &view, &st), 0);
	assert_int_equal(pw_mw_ep_id(mw, &loc[0].addr), 0);
	assert_int_equal(pw_mw_ep_id(mw, &loc[1].addr), 2);
	assert_int_equal(pw_mw_ep_id(mw, &loc[2].addr), 3);
	/* next generation: id 1 is free again */
	view.local = loc;
	view.n_local = 1;
	assert_int_equal(pw_mw_apply(mw, &a.img, &view, &st), 0);
	assert_int_equal(pw_mw_ep_id(mw, &loc[0].addr), 1);
	pw_mw_free(mw);
	free(f);
}

static void test_readoption_makes_first_update_a_diff(void **state)
{
	(void)state;
	struct fake *f = fake_new();
	struct img_buf a;
	struct pw_mw *mw;
	struct pw_mw_stats st;
	struct pw_mw_local loc[2] = { { v4(0x0a000003), 13 }, { v4(0x0a000004), 14 } };
	struct pw_mw_view view = { loc, 2, NULL, 0, 0, false };

	make_image(&a, 6, 1, 100);
	assert_int_equal(pw_mw_new(&fake_ops, f, &mw), 0);
	assert_int_equal(pw_mw_apply(mw, &a.img, &view, &st), 0);
	assert_int_equal(pw_mw_apply(mw, &a.img, &view, &st), 0);
	assert_int_equal(pw_mw_ep_id(mw, &loc[1].addr), 2);
	pw_mw_free(mw); /* "restart": the maps (fake) stay */

	fake_clear_counts(f);
	assert_int_equal(pw_mw_new(&fake_ops, f, &mw), 0);
	assert_int_equal(pw_mw_epoch(mw), 2);
	assert_int_equal(pw_mw_count(mw, PW_MW_POL, 0), 6);
	assert_int_equal(pw_mw_count(mw, PW_MW_POL, 1), 6);
	/* local view in a different order: the ids come from the maps */
	struct pw_mw_local rev[2] = { loc[1], loc[0] };
	view.local = rev;
	assert_int_equal(pw_mw_apply(mw, &a.img, &view, &st), 0);
	for (int k = 0; k < PW_MW__KINDS; k++)
		assert_int_equal(f->updates[k] + f->removes[k], 0);
	assert_int_equal(pw_mw_ep_id(mw, &loc[0].addr), 1);
	assert_int_equal(pw_mw_ep_id(mw, &loc[1].addr), 2);
	assert_int_equal(f->n_resets, 0);
	assert_int_equal(f->st.epoch, 3);
	pw_mw_free(mw);
	free(f);
}

static void test_failed_write_keeps_policy_in_force(void **state)
{
	(void)state;
	struct fake *f = fake_new();
	struct img_buf a, b;
	struct pw_mw *mw;
	struct pw_mw_stats st;

	make_image(&a, 8, 1, 100);
	make_image(&b, 8, 1, 200); /* every rule id differs */
	assert_int_equal(pw_mw_new(&fake_ops, f, &mw), 0);
	assert_int_equal(pw_mw_apply(mw, &a.img, NULL, &st), 0);
	fake_clear_counts(f);
	f->fail_update_after = 3;
	assert_int_equal(pw_mw_apply(mw, &b.img, NULL, &st), -ENOSPC);
	assert_int_equal(f->st.epoch, 1); /* not published */
	assert_null(strchr(f->log, 'p'));
	assert_int_equal(pw_mw_epoch(mw), 1);
	/* the half-written slot is re-read and completed */
	fake_clear_counts(f);
	assert_int_equal(pw_mw_apply(mw, &b.img, NULL, &st), 0);
	assert_int_equal(f->st.epoch, 2);
	assert_int_equal(fake_count(f, PW_MW_POL, 0), 8);
	for (int i = 0; i < f->m[PW_MW_POL].n; i++) {
		const struct pw_pol_key *k = (const void *)f->m[PW_MW_POL].keys[i];
		const struct pw_pol_val *v = (const void *)f->m[PW_MW_POL].vals[i];

		if (k->slot == 0)
			assert_true(v->rule_id >= 200);
		else
			assert_true(v->rule_id < 200);
	}
	pw_mw_free(mw);
	free(f);
}

static void test_capacity_counts_both_generations(void **state)
{
	(void)state;
	struct fake *f = fake_new();
	struct img_buf a;
	struct pw_mw *mw;
	struct pw_mw_stats st;

	f->m[PW_MW_POL].max = 12;
	make_image(&a, 8, 1, 100);
	assert_int_equal(pw_mw_new(&fake_ops, f, &mw), 0);
	assert_int_equal(pw_mw_apply(mw, &a.img, NULL, &st), 0); /* 8 of 12 */
	fake_clear_counts(f);
	assert_int_equal(pw_mw_apply(mw, &a.img, NULL, &st), -E2BIG); /* 8 + 8 > 12 */
	assert_int_equal(f->st.epoch, 1);
	assert_string_equal(f->log, ""); /* nothing was written */
	a.img.n_pols = 4;
	assert_int_equal(pw_mw_apply(mw, &a.img, NULL, &st), 0); /* 8 + 4 */
	pw_mw_free(mw);
	free(f);
}

static void test_invalid_image_rejected(void **state)
{
	(void)state;
	struct fake *f = fake_new();
	struct img_buf a;
	struct pw_mw *mw;

	make_image(&a, 2, 1, 100);
	a.pfx[0].plen = 129;
	assert_int_equal(pw_mw_new(&fake_ops, f, &mw), 0);
	assert_int_equal(pw_mw_apply(mw, &a.img, NULL, NULL), -EINVAL);
	a.pfx[0].plen = 8;
	a.rng[0].val.n = PW_MAX_RANGES + 1;
	assert_int_equal(pw_mw_apply(mw, &a.img, NULL, NULL), -EINVAL);
	assert_int_equal(f->st.epoch, 0);
	pw_mw_free(mw);
	free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_apply_fills_inactive_slot_then_publishes),
		cmocka_unit_test(test_only_difference_is_written),
		cmocka_unit_test(test_deferred_grace),
		cmocka_unit_test(test_local_view_host_and_ifaces),
		cmocka_unit_test(test_host_list_overflow),
		cmocka_unit_test(test_defer_prefix_list),
		cmocka_unit_test(test_ep_ids_stable_and_not_reused_while_in_force),
		cmocka_unit_test(test_readoption_makes_first_update_a_diff),
		cmocka_unit_test(test_failed_write_keeps_policy_in_force),
		cmocka_unit_test(test_capacity_counts_both_generations),
		cmocka_unit_test(test_invalid_image_rejected),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
