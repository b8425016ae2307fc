// SPDX-License-Identifier: MIT
/* Map writer: see map_writer.h for the update protocol. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "loader.h"
#include "map_writer.h"

/* ---- a small open-addressing table of fixed-size keys and values ---- */

struct kvt {
	uint32_t ksz, vsz;
	size_t cap, n; /* cap is 0 or a power of two */
	uint8_t *used;
	uint8_t *k, *v;
};

static uint64_t hash_bytes(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 0x100000001b3ull;
	}
	return h ^ (h >> 29);
}

static void kvt_init(struct kvt *t, uint32_t ksz, uint32_t vsz)
{
	memset(t, 0, sizeof(*t));
	t->ksz = ksz;
	t->vsz = vsz;
}

static void kvt_free(struct kvt *t)
{
	free(t->used);
	free(t->k);
	free(t->v);
	kvt_init(t, t->ksz, t->vsz);
}

static size_t kvt_find(const struct kvt *t, const void *key)
{
	size_t i = hash_bytes(key, t->ksz) & (t->cap - 1);

	while (t->used[i] && memcmp(t->k + i * t->ksz, key, t->ksz))
		i = (i + 1) & (t->cap - 1);
	return i;
}

static void *kvt_get(const struct kvt *t, const void *key)
{
	size_t i;

	if (!t->cap)
		return NULL;
	i = kvt_find(t, key);
	return t->used[i] ? t->v + i * t->vsz : NULL;
}

static int kvt_grow(struct kvt *t)
{
	struct kvt nt;

	kvt_init(&nt, t->ksz, t->vsz);
	nt.cap = t->cap ? t->cap * 2 : 64;
	nt.used = calloc(nt.cap, 1);
	nt.k = malloc(nt.cap * t->ksz);
	nt.v = malloc(nt.cap * (t->vsz ? t->vsz : 1));
	if (!nt.used || !nt.k || !nt.v) {
		kvt_free(&nt);
		return -ENOMEM;
	}
	for (size_t i = 0; i < t->cap; i++) {
		size_t j;

		if (!t->used[i])
			continue;
		j = kvt_find(&nt, t->k + i * t->ksz);
		nt.used[j] = 1;
		memcpy(nt.k + j * t->ksz, t->k + i * t->ksz, t->ksz);
		memcpy(nt.v + j * t->vsz, t->v + i * t->vsz, t->vsz);
		nt.n++;
	}
	kvt_free(t);
	*t = nt;
	return 0;
}

/* Insert or overwrite; *ret_existed (may be NULL) says which. */
static int kvt_put(struct kvt *t, const void *key, const void *val, int *ret_existed)
{
	size_t i;
	int err;

	if ((t->n + 1) * 2 > t->cap) {
		err = kvt_grow(t);
		if (err)
			return err;
	}
	i = kvt_find(t, key);
	if (ret_existed)
		*ret_existed = t->used[i];
	if (!t->used[i]) {
		t->used[i] = 1;
		memcpy(t->k + i * t->ksz, key, t->ksz);
		t->n++;
	}
	memcpy(t->v + i * t->vsz, val, t->vsz);
	return 0;
}

/* ---- kinds ---- */

/* The largest value of any kind (iteration buffers). */
#define PW_MW_MAX_VAL                                                                    \
	(sizeof(struct pw_hosts) > sizeof(struct pw_range_val) ? sizeof(struct pw_hosts) \
							       : sizeof(struct pw_range_val))
_Static_assert(sizeof(struct pw_endpoint) <= PW_MW_MAX_VAL, "iteration buffer");

static const struct {
	uint32_t ksz, vsz, slot_off;
} kinds[PW_MW__KINDS] = {
	[PW_MW_EP] = { sizeof(struct pw_ep_key), sizeof(struct pw_endpoint),
		       offsetof(struct pw_ep_key, slot) },
	[PW_MW_IF] = { sizeof(struct pw_if_key), sizeof(struct pw_endpoint),
		       offsetof(struct pw_if_key, slot) },
	[PW_MW_PEER] = { sizeof(struct pw_peer_key), sizeof(struct pw_peer_val),
			 offsetof(struct pw_peer_key, slot) },
	[PW_MW_POL] = { sizeof(struct pw_pol_key), sizeof(struct pw_pol_val),
			offsetof(struct pw_pol_key, slot) },
	[PW_MW_RANGE] = { sizeof(struct pw_pol_key), sizeof(struct pw_range_val),
			  offsetof(struct pw_pol_key, slot) },
	[PW_MW_HOST] = { sizeof(__u32), sizeof(struct pw_hosts), 0 },
};

size_t pw_mw_key_size(enum pw_mw_kind kind)
{
	return kinds[kind].ksz;
}

size_t pw_mw_val_size(enum pw_mw_kind kind)
{
	return kinds[kind].vsz;
}

size_t pw_mw_slot_offset(enum pw_mw_kind kind)
{
	return kinds[kind].slot_off;
}

static uint32_t key_slot(enum pw_mw_kind kind, const void *key)
{
	uint32_t s;

	memcpy(&s, (const uint8_t *)key + kinds[kind].slot_off, sizeof(s));
	return s;
}

/* ---- the writer ---- */

struct epid_ent {
	char *name; /* pod ns/name, or the address when the image has no pods */
	uint32_t id;
};

struct pw_mw {
	const struct pw_mw_ops *ops;
	void *ctx;
	void (*free_ctx)(void *ctx);
	uint64_t epoch;
	struct kvt shadow[2][PW_MW__KINDS];
	int valid[2];
	bool grace_owed; /* published with defer_grace, not waited for yet */
	/* ep_ids of the generation in force, by pod */
	struct epid_ent *epids;
	size_t n_epids;
	struct kvt addr_epid; /* address -> ep_id: in force, or adopted from the maps */
};

struct adopt_arg {
	struct pw_mw *mw;
	enum pw_mw_kind kind;
	int slot; /* -1: both */
	uint64_t epoch;
};

static int adopt_cb(void *arg, const void *key, const void *val)
{
	struct adopt_arg *a = arg;
	uint32_t s = key_slot(a->kind, key);

	if (s > 1)
		return 0; /* not ours to interpret; it is left alone */
	if (a->slot >= 0 && (int)s != a->slot)
		return 0;
	if (a->kind == PW_MW_EP && s == (a->epoch & 1)) {
		const struct pw_endpoint *ep = val;
		const struct pw_ep_key *k = key;

		if ((ep->flags & PW_EP_LOCAL) && ep->ep_id) {
			int err = kvt_put(&a->mw->addr_epid, &k->addr, &ep->ep_id, NULL);

			if (err)
				return err;
		}
	}
	return kvt_put(&a->mw->shadow[s][a->kind], key, val, NULL);
}

/* Re-read one slot (or both: slot -1) from the maps. */
static int adopt(struct pw_mw *mw, int slot)
{
	for (int k = 0; k < PW_MW__KINDS; k++) {
		struct adopt_arg a = { mw, k, slot, mw->epoch };
		int err;

		for (int s = 0; s < 2; s++)
			if (slot < 0 || slot == s)
				kvt_free(&mw->shadow[s][k]);
		err = mw->ops->iterate(mw->ctx, k, adopt_cb, &a);
		if (err)
			return err;
	}
	for (int s = 0; s < 2; s++)
		if (slot < 0 || slot == s)
			mw->valid[s] = 1;
	return 0;
}

int pw_mw_new(const struct pw_mw_ops *ops, void *ctx, struct pw_mw **ret)
{
	struct pw_state st;
	struct pw_mw *mw;
	int err;

	mw = calloc(1, sizeof(*mw));
	if (!mw)
		return -ENOMEM;
	mw->ops = ops;
	mw->ctx = ctx;
	for (int s = 0; s < 2; s++)
		for (int k = 0; k < PW_MW__KINDS; k++)
			kvt_init(&mw->shadow[s][k], kinds[k].ksz, kinds[k].vsz);
	kvt_init(&mw->addr_epid, sizeof(union pw_addr), sizeof(uint32_t));
	err = ops->read_state(ctx, &st);
	if (err)
		goto fail;
	mw->epoch = st.epoch;
	err = adopt(mw, -1);
	if (err)
		goto fail;
	err = ops->grace(ctx);
	if (err)
		goto fail;
	*ret = mw;
	return 0;
fail:
	mw->free_ctx = NULL;
	pw_mw_free(mw);
	return err;
}

static void epids_free(struct epid_ent *e, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(e[i].name);
	free(e);
}

void pw_mw_free(struct pw_mw *mw)
{
	if (!mw)
		return;
	for (int s = 0; s < 2; s++)
		for (int k = 0; k < PW_MW__KINDS; k++)
			kvt_free(&mw->shadow[s][k]);
	kvt_free(&mw->addr_epid);
	epids_free(mw->epids, mw->n_epids);
	if (mw->free_ctx)
		mw->free_ctx(mw->ctx);
	free(mw);
}

uint64_t pw_mw_epoch(const struct pw_mw *mw)
{
	return mw->epoch;
}

uint32_t pw_mw_count(const struct pw_mw *mw, enum pw_mw_kind kind, uint32_t slot)
{
	if (kind >= PW_MW__KINDS || slot > 1)
		return 0;
	return mw->shadow[slot][kind].n;
}

uint32_t pw_mw_ep_id(const struct pw_mw *mw, const union pw_addr *addr)
{
	const uint32_t *id = kvt_get(&mw->addr_epid, addr);

	return id ? *id : 0;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* ---- building one generation ---- */

struct build {
	struct pw_mw *mw;
	uint32_t slot;
	struct kvt want[PW_MW__KINDS];
	struct kvt local; /* addr -> ifindex */
	struct epid_ent *epids; /* new assignment */
	size_t n_epids;
	struct kvt addr_epid;
	uint32_t fresh[PW_MAX_LOCAL_EPS + 1]; /* ep_ids allocated now (reset counters) */
	uint8_t taken[PW_MAX_LOCAL_EPS + 1]; /* in the new assignment */
	uint8_t in_force[PW_MAX_LOCAL_EPS + 1]; /* in the generation in force */
	uint8_t hinted[PW_MAX_LOCAL_EPS + 1]; /* some address had it in the maps */
	size_t n_fresh;
	struct pw_mw_stats *st;
};

static const struct epid_ent *epid_find(const struct epid_ent *e, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(e[i].name, name))
			return &e[i];
	return NULL;
}

/* The pod's ep_id: kept from the generation in force, else the one its
 * address had in the maps (after a restart), else the lowest id that
 * neither generation nor an adopted address uses (its counters are zeroed). */
static int epid_assign(struct build *b, const char *name, const union pw_addr *addr,
		       uint32_t *ret_id)
{
	const struct epid_ent *e = epid_find(b->epids, b->n_epids, name);
	const uint32_t *hint;
	uint32_t id = 0;

	if (e) {
		*ret_id = e->id;
		return 0;
	}
	e = epid_find(b->mw->epids, b->mw->n_epids, name);
	if (e && !b->taken[e->id])
		id = e->id;
	hint = kvt_get(&b->mw->addr_epid, addr);
	if (!id && hint && *hint && *hint <= PW_MAX_LOCAL_EPS && !b->taken[*hint] &&
	    !b->in_force[*hint])
		id = *hint;
	if (!id) {
		for (uint32_t c = 1; c <= PW_MAX_LOCAL_EPS; c++) {
			if (!b->taken[c] && !b->in_force[c] && !b->hinted[c]) {
				id = c;
				break;
			}
		}
		if (id)
			b->fresh[b->n_fresh++] = id;
	}
	if (!id || b->n_epids >= PW_MAX_LOCAL_EPS) {
		b->st->ep_ids_exhausted++;
		*ret_id = 0;
		return 0;
	}
	b->epids[b->n_epids].name = strdup(name);
	if (!b->epids[b->n_epids].name)
		return -ENOMEM;
	b->epids[b->n_epids++].id = id;
	b->taken[id] = 1;
	*ret_id = id;
	return 0;
}

static void epid_prepare(struct build *b)
{
	const struct kvt *h = &b->mw->addr_epid;

	for (size_t i = 0; i < b->mw->n_epids; i++)
		b->in_force[b->mw->epids[i].id] = 1;
	for (size_t i = 0; i < h->cap; i++) {
		uint32_t id;

		if (!h->used[i])
			continue;
		memcpy(&id, h->v + i * h->vsz, sizeof(id));
		if (id <= PW_MAX_LOCAL_EPS)
			b->hinted[id] = 1;
	}
}

static int want_put(struct build *b, enum pw_mw_kind k, const void *key, const void *val)
{
	int existed, err = kvt_put(&b->want[k], key, val, &existed);

	if (!err && existed)
		b->st->duplicates++;
	return err;
}

/* pw_host_v1[slot]: every PW_EP_HOST entry and every PW_PEER_DEFER prefix
 * of the generation, each list complete or marked incomplete (then the
 * datapath asks pw_ep_v1 / pw_peer_v1). */
static int build_hosts(struct build *b)
{
	const struct kvt *ep = &b->want[PW_MW_EP], *pr = &b->want[PW_MW_PEER];
	struct pw_hosts h = { .flags = PW_HOSTS_COMPLETE | PW_HOSTS_DEFER_COMPLETE };
	__u32 key = b->slot;

	for (size_t i = 0; i < pr->cap; i++) {
		const struct pw_peer_key *k = (const void *)(pr->k + i * pr->ksz);
		struct pw_prefix_mask *d;
		struct pw_peer_val v;
		uint32_t plen;

		if (!pr->used[i])
			continue;
		memcpy(&v, pr->v + i * pr->vsz, sizeof(v));
		if (!(v.flags & PW_PEER_DEFER))
			continue;
		if (h.n_defer == PW_MAX_DEFER_PREFIXES) {
			h.flags &= ~PW_HOSTS_DEFER_COMPLETE;
			break;
		}
		d = &h.defer[h.n_defer++];
		plen = k->prefixlen > 32 + 128 ? 128 : k->prefixlen - 32;
		for (int w = 0; w < 4; w++) {
			uint32_t bits = plen > 32u * (uint32_t)w ? plen - 32u * (uint32_t)w : 0;
			uint32_t m = bits >= 32 ? 0xffffffffu : bits ? ~(0xffffffffu >> bits) : 0;

			d->mask.w[w] = htonl(m);
			d->addr.w[w] = k->addr.w[w] & d->mask.w[w];
		}
	}

	for (size_t i = 0; i < ep->cap; i++) {
		const struct pw_ep_key *k = (const void *)(ep->k + i * ep->ksz);
		struct pw_endpoint v;

		if (!ep->used[i])
			continue;
		memcpy(&v, ep->v + i * ep->vsz, sizeof(v));
		if (!(v.flags & PW_EP_HOST) || v.identity != PW_ID_HOST)
			continue;
		if (h.n == PW_MAX_HOST_ADDRS) {
			h.flags &= ~PW_HOSTS_COMPLETE;
			break;
		}
		h.addr[h.n++] = k->addr;
	}
	return want_put(b, PW_MW_HOST, &key, &h);
}

static int build_generation(struct build *b, const struct pw_image *img,
			    const struct pw_mw_view *view)
{
	char name[512];
	int err;

	for (size_t i = 0; i < view->n_local; i++) {
		err = kvt_put(&b->local, &view->local[i].addr, &view->local[i].ifindex, NULL);
		if (err)
			return err;
	}
	for (size_t i = 0; i < img->n_eps; i++) {
		const struct pw_img_ep *ie = &img->eps[i];
		struct pw_ep_key k = { .slot = b->slot, .addr = ie->addr };
		struct pw_endpoint v = ie->val;
		const uint32_t *ifx = kvt_get(&b->local, &ie->addr);

		v.flags &= ~PW_EP_LOCAL;
		v.ifindex = 0;
		v.ep_id = 0;
		if (ifx && *ifx) {
			const struct pw_img_pod *pod =
				img->pods && ie->pod < img->n_pods ? &img->pods[ie->pod] : NULL;

			if (pod)
				snprintf(name, sizeof(name), "%s/%s", pod->ns ? pod->ns : "",
					 pod->name ? pod->name : "");
			else
				snprintf(name, sizeof(name), "addr:%08x%08x%08x%08x", ie->addr.w[0],
					 ie->addr.w[1], ie->addr.w[2], ie->addr.w[3]);
			err = epid_assign(b, name, &ie->addr, &v.ep_id);
			if (err)
				return err;
			v.flags |= PW_EP_LOCAL;
			v.ifindex = *ifx;
			if (v.ep_id) {
				err = kvt_put(&b->addr_epid, &ie->addr, &v.ep_id, NULL);
				if (err)
					return err;
			}
			struct pw_if_key ik = { .slot = b->slot, .ifindex = *ifx };

			/* The interface maps to its pod's first address. */
			if (!kvt_get(&b->want[PW_MW_IF], &ik)) {
				err = want_put(b, PW_MW_IF, &ik, &v);
				if (err)
					return err;
			}
		}
		err = want_put(b, PW_MW_EP, &k, &v);
		if (err)
			return err;
	}
	for (size_t i = 0; i < view->n_host; i++) {
		struct pw_ep_key k = { .slot = b->slot, .addr = view->host[i] };
		struct pw_endpoint v = { .identity = PW_ID_HOST, .flags = PW_EP_HOST };

		/* A pod address wins: the node does not own it for policy. */
		if (kvt_get(&b->want[PW_MW_EP], &k))
			continue;
		err = want_put(b, PW_MW_EP, &k, &v);
		if (err)
			return err;
	}

	for (size_t i = 0; i < img->n_prefixes; i++) {
		const struct pw_img_prefix *p = &img->prefixes[i];
		struct pw_peer_key k = { .prefixlen = 32 + p->plen,
					 .slot = b->slot,
					 .addr = p->addr };

		if (p->plen > 128)
			return -EINVAL;
		err = want_put(b, PW_MW_PEER, &k, &p->val);
		if (err)
			return err;
	}
	for (size_t i = 0; i < img->n_pols; i++) {
		struct pw_pol_key k = img->pols[i].key;

		k.slot = b->slot;
		err = want_put(b, PW_MW_POL, &k, &img->pols[i].val);
		if (err)
			return err;
	}
	for (size_t i = 0; i < img->n_ranges; i++) {
		struct pw_pol_key k = img->ranges[i].key;

		k.slot = b->slot;
		if (img->ranges[i].val.n > PW_MAX_RANGES)
			return -EINVAL;
		err = want_put(b, PW_MW_RANGE, &k, &img->ranges[i].val);
		if (err)
			return err;
	}
	return build_hosts(b);
}

/* Batches of at most this many entries per call. */
#define PW_MW_BATCH 4096

static int flush_batch(struct pw_mw *mw, enum pw_mw_kind k, int del, const uint8_t *keys,
		       const uint8_t *vals, uint32_t n)
{
	uint32_t done = 0;
	int err;

	while (n) {
		err = del ? mw->ops->remove(mw->ctx, k, keys, n, &done)
			  : mw->ops->update(mw->ctx, k, keys, vals, n, &done);
		if (err)
			return err;
		if (done == 0 || done > n)
			return -EIO;
		keys += (size_t)done * kinds[k].ksz;
		if (vals)
			vals += (size_t)done * kinds[k].vsz;
		n -= done;
	}
	return 0;
}

/* Write the difference between shadow (what slot s holds) and want. */
static int write_diff(struct pw_mw *mw, enum pw_mw_kind k, const struct kvt *have,
		      const struct kvt *want, struct pw_mw_stats *st)
{
	uint32_t ksz = kinds[k].ksz, vsz = kinds[k].vsz, n = 0;
	uint8_t *keys = malloc((size_t)PW_MW_BATCH * ksz);
	uint8_t *vals = malloc((size_t)PW_MW_BATCH * vsz);
	int err = 0;

	if (!keys || !vals) {
		err = -ENOMEM;
		goto out;
	}
	/* Deletions first: they make room in maps near max_entries. */
	for (size_t i = 0; i < have->cap; i++) {
		const uint8_t *key = have->k + i * ksz;

		if (!have->used[i] || kvt_get(want, key))
			continue;
		memcpy(keys + (size_t)n * ksz, key, ksz);
		if (++n == PW_MW_BATCH) {
			err = flush_batch(mw, k, 1, keys, NULL, n);
			if (err)
				goto out;
			st->removed[k] += n;
			n = 0;
		}
	}
	if (n) {
		err = flush_batch(mw, k, 1, keys, NULL, n);
		if (err)
			goto out;
		st->removed[k] += n;
		n = 0;
	}
	for (size_t i = 0; i < want->cap; i++) {
		const uint8_t *key = want->k + i * ksz, *val = want->v + i * vsz;
		const uint8_t *old;

		if (!want->used[i])
			continue;
		old = kvt_get(have, key);
		if (old && !memcmp(old, val, vsz))
			continue;
		memcpy(keys + (size_t)n * ksz, key, ksz);
		memcpy(vals + (size_t)n * vsz, val, vsz);
		if (++n == PW_MW_BATCH) {
			err = flush_batch(mw, k, 0, keys, vals, n);
			if (err)
				goto out;
			st->updated[k] += n;
			n = 0;
		}
	}
	if (n) {
		err = flush_batch(mw, k, 0, keys, vals, n);
		if (err)
			goto out;
		st->updated[k] += n;
	}
out:
	free(keys);
	free(vals);
	return err;
}

int pw_mw_apply(struct pw_mw *mw, const struct pw_image *img, const struct pw_mw_view *view,
		struct pw_mw_stats *ret_stats)
{
	static const struct pw_mw_view empty_view;
	struct pw_mw_stats st = {};
	struct build b = { .mw = mw, .st = &st };
	uint64_t t0 = mono_ns(), t1;
	int err;

	if (!view)
		view = &empty_view;
	if (mw->grace_owed) {
		/* programs may still run on the generation before the last one */
		err = mw->ops->grace(mw->ctx);
		if (err)
			goto out;
		mw->grace_owed = false;
	}
	b.slot = (mw->epoch + 1) & 1;
	for (int k = 0; k < PW_MW__KINDS; k++)
		kvt_init(&b.want[k], kinds[k].ksz, kinds[k].vsz);
	kvt_init(&b.local, sizeof(union pw_addr), sizeof(uint32_t));
	kvt_init(&b.addr_epid, sizeof(union pw_addr), sizeof(uint32_t));
	b.epids = calloc(PW_MAX_LOCAL_EPS, sizeof(*b.epids));
	if (!b.epids) {
		err = -ENOMEM;
		goto out;
	}
	epid_prepare(&b);
	err = build_generation(&b, img, view);
	if (err)
		goto out;
	/* Both generations must fit: the other slot is still in force. */
	for (int k = 0; k < PW_MW__KINDS; k++) {
		uint32_t max = mw->ops->max_entries(mw->ctx, k);

		st.entries[k] = b.want[k].n;
		if (max && b.want[k].n + mw->shadow[!b.slot][k].n > max) {
			err = -E2BIG;
			goto out;
		}
	}
	if (!mw->valid[b.slot]) {
		err = adopt(mw, b.slot);
		if (err)
			goto out;
	}
	mw->valid[b.slot] = 0; /* until every write succeeded */
	for (int k = 0; k < PW_MW__KINDS; k++) {
		err = write_diff(mw, k, &mw->shadow[b.slot][k], &b.want[k], &st);
		if (err)
			goto out;
	}
	for (size_t i = 0; i < b.n_fresh && mw->ops->reset_counters; i++) {
		err = mw->ops->reset_counters(mw->ctx, b.fresh[i]);
		if (err)
			goto out;
	}
	err = mw->ops->publish(mw->ctx, mw->epoch + 1,
			       (view->state_flags & ~PW_STATE_ENFORCING) | PW_STATE_ENFORCING);
	if (err)
		goto out;
	mw->epoch++;
	for (int k = 0; k < PW_MW__KINDS; k++) {
		kvt_free(&mw->shadow[b.slot][k]);
		mw->shadow[b.slot][k] = b.want[k];
		kvt_init(&b.want[k], kinds[k].ksz, kinds[k].vsz);
	}
	mw->valid[b.slot] = 1;
	epids_free(mw->epids, mw->n_epids);
	mw->epids = b.epids;
	mw->n_epids = b.n_epids;
	b.epids = NULL;
	b.n_epids = 0;
	kvt_free(&mw->addr_epid);
	mw->addr_epid = b.addr_epid;
	kvt_init(&b.addr_epid, sizeof(union pw_addr), sizeof(uint32_t));
	st.local_eps = mw->n_epids;

	t1 = mono_ns();
	st.write_ns = t1 - t0;
	/* The published epoch is in force whatever happens now; a failed wait
	 * is reported, and the next pw_mw_new()/apply waits again. */
	if (view->defer_grace) {
		mw->grace_owed = true;
		err = 0;
	} else {
		err = mw->ops->grace(mw->ctx);
	}
	st.grace_ns = mono_ns() - t1;
	st.epoch = mw->epoch;
	st.slot = b.slot;
	if (ret_stats && !err)
		*ret_stats = st;
out:
	for (int k = 0; k < PW_MW__KINDS; k++)
		kvt_free(&b.want[k]);
	kvt_free(&b.local);
	kvt_free(&b.addr_epid);
	epids_free(b.epids, b.n_epids);
	return err;
}

/* ---- the real backend: pinned maps, the mmap()ed state, an RCU map ---- */

#define ENOTSUPP_KERNEL 524 /* the kernel's ENOTSUPP, returned by batch ops */

struct bpf_ctx {
	int fds[PW_MW__KINDS];
	uint32_t max[PW_MW__KINDS];
	int cnt_fd;
	struct pw_state *state;
	int rcu_outer, rcu_inner;
	int batch_ok[PW_MW__KINDS]; /* 0 unknown, 1 yes, -1 no */
};

static int bpf_update(void *c, enum pw_mw_kind k, const void *keys, const void *vals, uint32_t n,
		      uint32_t *ret_done)
{
	struct bpf_ctx *x = c;
	uint32_t i;

	if (x->batch_ok[k] >= 0 && n > 1) {
		LIBBPF_OPTS(bpf_map_batch_opts, o, .elem_flags = BPF_ANY);
		uint32_t cnt = n;
		int err = bpf_map_update_batch(x->fds[k], keys, vals, &cnt, &o);

		if (!err) {
			x->batch_ok[k] = 1;
			*ret_done = n;
			return 0;
		}
		err = -errno;
		if (cnt == 0 && x->batch_ok[k] == 0 &&
		    (err == -EINVAL || err == -EOPNOTSUPP || err == -ENOTSUPP_KERNEL)) {
			x->batch_ok[k] = -1; /* e.g. LPM trie: no batch ops */
		} else if (cnt) {
			*ret_done = cnt; /* the caller continues with the rest */
			return 0;
		} else {
			return err;
		}
	}
	for (i = 0; i < n; i++) {
		if (bpf_map_update_elem(x->fds[k], (const uint8_t *)keys + (size_t)i * kinds[k].ksz,
					(const uint8_t *)vals + (size_t)i * kinds[k].vsz,
					BPF_ANY)) {
			if (i)
				break;
			return -errno;
		}
	}
	*ret_done = i;
	return 0;
}

static int bpf_remove(void *c, enum pw_mw_kind k, const void *keys, uint32_t n, uint32_t *ret_done)
{
	struct bpf_ctx *x = c;
	uint32_t i;

	if (x->batch_ok[k] >= 0 && n > 1) {
		LIBBPF_OPTS(bpf_map_batch_opts, o);
		uint32_t cnt = n;
		int err = bpf_map_delete_batch(x->fds[k], keys, &cnt, &o);

		if (!err) {
			*ret_done = n;
			return 0;
		}
		err = -errno;
		if (cnt == 0 && (err == -EINVAL || err == -EOPNOTSUPP || err == -ENOTSUPP_KERNEL)) {
			x->batch_ok[k] = -1;
		} else if (cnt) {
			*ret_done = cnt;
			return 0;
		} else if (err != -ENOENT) {
			return err;
		}
	}
	for (i = 0; i < n; i++) {
		if (bpf_map_delete_elem(x->fds[k],
					(const uint8_t *)keys + (size_t)i * kinds[k].ksz) &&
		    errno != ENOENT) {
			if (i)
				break;
			return -errno;
		}
	}
	*ret_done = i;
	return 0;
}

static int bpf_iterate(void *c, enum pw_mw_kind k,
		       int (*cb)(void *arg, const void *key, const void *val), void *arg)
{
	struct bpf_ctx *x = c;
	uint8_t key[64], next[64], val[PW_MW_MAX_VAL];
	int err, have = 0;

	for (;;) {
		if (bpf_map_get_next_key(x->fds[k], have ? key : NULL, next)) {
			if (errno == ENOENT)
				return 0;
			return -errno;
		}
		memcpy(key, next, kinds[k].ksz);
		have = 1;
		if (bpf_map_lookup_elem(x->fds[k], key, val)) {
			if (errno == ENOENT)
				continue; /* deleted meanwhile (we are the only writer) */
			return -errno;
		}
		err = cb(arg, key, val);
		if (err)
			return err;
	}
}

static uint32_t bpf_max_entries(void *c, enum pw_mw_kind k)
{
	return ((struct bpf_ctx *)c)->max[k];
}

static int bpf_read_state(void *c, struct pw_state *ret)
{
	struct bpf_ctx *x = c;

	ret->epoch = __atomic_load_n(&x->state->epoch, __ATOMIC_ACQUIRE);
	ret->abi_version = x->state->abi_version;
	ret->flags = x->state->flags;
	return 0;
}

static int bpf_publish(void *c, uint64_t epoch, uint32_t flags)
{
	struct bpf_ctx *x = c;

	__atomic_store_n(&x->state->abi_version, PW_ABI_VERSION, __ATOMIC_RELAXED);
	/* The one store that switches every CPU to the new slot. */
	__atomic_store_n(&x->state->epoch, epoch, __ATOMIC_RELEASE);
	/* ENFORCING after the epoch: it never becomes visible with an empty slot. */
	__atomic_store_n(&x->state->flags, flags, __ATOMIC_RELEASE);
	return 0;
}

/* An update of an ARRAY_OF_MAPS element makes the kernel call
 * synchronize_rcu() before the syscall returns (maybe_wait_bpf_programs()):
 * every program that could have read the old epoch has finished. */
static int bpf_grace(void *c)
{
	struct bpf_ctx *x = c;
	__u32 zero = 0;

	if (bpf_map_update_elem(x->rcu_outer, &zero, &x->rcu_inner, BPF_ANY))
		return -errno;
	return 0;
}

static int bpf_reset_counters(void *c, uint32_t ep_id)
{
	struct bpf_ctx *x = c;
	int ncpu = libbpf_num_possible_cpus();
	struct pw_counters *zero;
	int err = 0;

	if (x->cnt_fd < 0 || ncpu <= 0)
		return 0;
	zero = calloc(ncpu, sizeof(*zero));
	if (!zero)
		return -ENOMEM;
	for (uint32_t dir = 0; dir < 2 && !err; dir++) {
		__u32 slot = PW_CNT_SLOT(ep_id, dir);

		if (bpf_map_update_elem(x->cnt_fd, &slot, zero, BPF_ANY)) {
			/* a smaller counter map: ids beyond it are not counted */
			if (errno != E2BIG && errno != EINVAL)
				err = -errno;
			break;
		}
	}
	free(zero);
	return err;
}

static const struct pw_mw_ops bpf_ops = {
	.update = bpf_update,
	.remove = bpf_remove,
	.iterate = bpf_iterate,
	.max_entries = bpf_max_entries,
	.read_state = bpf_read_state,
	.publish = bpf_publish,
	.grace = bpf_grace,
	.reset_counters = bpf_reset_counters,
};

static void bpf_ctx_free(void *c)
{
	struct bpf_ctx *x = c;

	if (!x)
		return;
	if (x->rcu_outer >= 0)
		close(x->rcu_outer);
	if (x->rcu_inner >= 0)
		close(x->rcu_inner);
	free(x);
}

int pw_mw_open_bpf(struct pw_loader *l, struct pw_mw **ret)
{
	static const enum pw_map_id ids[PW_MW__KINDS] = {
		[PW_MW_EP] = PW_MAP_EP,	  [PW_MW_IF] = PW_MAP_IF,	[PW_MW_PEER] = PW_MAP_PEER,
		[PW_MW_POL] = PW_MAP_POL, [PW_MW_RANGE] = PW_MAP_RANGE, [PW_MW_HOST] = PW_MAP_HOST,
	};
	struct bpf_ctx *x;
	struct pw_mw *mw;
	int err;

	x = calloc(1, sizeof(*x));
	if (!x)
		return -ENOMEM;
	x->rcu_outer = x->rcu_inner = -1;
	for (int k = 0; k < PW_MW__KINDS; k++) {
		x->fds[k] = pw_loader_map_fd(l, ids[k]);
		x->max[k] = pw_loader_map_max(l, ids[k]);
		if (x->fds[k] < 0) {
			err = -ENOENT;
			goto fail;
		}
	}
	x->cnt_fd = pw_loader_map_fd(l, PW_MAP_CNT);
	x->state = pw_loader_state(l);
	if (!x->state) {
		err = -ENOENT;
		goto fail;
	}
	x->rcu_inner = bpf_map_create(BPF_MAP_TYPE_ARRAY, "pw_rcu_inner", 4, 4, 1, NULL);
	if (x->rcu_inner < 0) {
		err = -errno;
		goto fail;
	}
	LIBBPF_OPTS(bpf_map_create_opts, mo, .inner_map_fd = x->rcu_inner);
	x->rcu_outer = bpf_map_create(BPF_MAP_TYPE_ARRAY_OF_MAPS, "pw_rcu", 4, 4, 1, &mo);
	if (x->rcu_outer < 0) {
		err = -errno;
		goto fail;
	}
	err = pw_mw_new(&bpf_ops, x, &mw);
	if (err)
		goto fail;
	mw->free_ctx = bpf_ctx_free;
	*ret = mw;
	return 0;
fail:
	bpf_ctx_free(x);
	return err;
}

int pw_mw_settle(struct pw_mw *mw, uint64_t *ret_ns)
{
	uint64_t t0 = mono_ns();
	int err;

	*ret_ns = 0;
	if (!mw->grace_owed)
		return 0;
	err = mw->ops->grace(mw->ctx);
	if (err)
		return err;
	mw->grace_owed = false;
	*ret_ns = mono_ns() - t0;
	return 0;
}

int pw_mw_grace_ns(struct pw_mw *mw, uint64_t *ret_ns)
{
	uint64_t t0 = mono_ns();
	int err = mw->ops->grace(mw->ctx);

	if (err)
		return err;
	*ret_ns = mono_ns() - t0;
	return 0;
}
