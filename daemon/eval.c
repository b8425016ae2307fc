// SPDX-License-Identifier: MIT
/*
 * The user-space evaluator: decide.h compiled over a lookup backend, and
 * the image backend (hash indexes over the compiled image, a scan of the
 * disjoint prefix partition for the LPM lookup).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "eval.h"
#include "hidx.h"
#include "podwall/model.h"

const struct pw_endpoint *pw_lookup_ep(void *lctx, const struct pw_ep_key *k)
{
	const struct pw_eval_backend *b = lctx;

	return b->ops->ep(b->ctx, k);
}

const struct pw_peer_val *pw_lookup_peer(void *lctx, const struct pw_peer_key *k)
{
	const struct pw_eval_backend *b = lctx;

	return b->ops->peer(b->ctx, k);
}

const struct pw_pol_val *pw_lookup_pol(void *lctx, const struct pw_pol_key *k)
{
	const struct pw_eval_backend *b = lctx;

	return b->ops->pol(b->ctx, k);
}

const struct pw_range_val *pw_lookup_range(void *lctx, const struct pw_pol_key *k)
{
	const struct pw_eval_backend *b = lctx;

	return b->ops->range(b->ctx, k);
}

void pw_eval_flow(const struct pw_eval_backend *b, const union pw_addr *src,
		  const union pw_addr *dst, uint8_t proto, uint16_t dport,
		  struct pw_flow_result *ret)
{
	memset(ret, 0, sizeof(*ret));
	ret->verdict = pw_decide_flow((void *)b, b->slot, b->state_flags, src, dst, proto, dport,
				      &ret->egress, &ret->ingress, &ret->src_id, &ret->dst_id);
}

/* ---- image backend ---- */

struct img_ctx {
	const struct pw_image *img;
	struct hidx eps;
	struct hidx pols;
	struct hidx ranges;
};

static const struct pw_endpoint *img_ep(void *ctx, const struct pw_ep_key *k)
{
	struct img_ctx *c = ctx;
	long i = hidx_find(&c->eps, c->img->eps, &k->addr);

	return i < 0 ? NULL : &c->img->eps[i].val;
}

static const struct pw_peer_val *img_peer(void *ctx, const struct pw_peer_key *k)
{
	struct img_ctx *c = ctx;
	const struct pw_image *img = c->img;
	const struct pw_peer_val *best = NULL;
	unsigned plen = k->prefixlen > 32 ? k->prefixlen - 32 : 0;
	int best_len = -1;
	size_t i;

	/* the partition is disjoint, but take the longest anyway, as LPM does */
	for (i = 0; i < img->n_prefixes; i++) {
		struct pw_cidr cd = { .addr = img->prefixes[i].addr,
				      .plen = img->prefixes[i].plen };

		if (cd.plen > plen || (int)cd.plen <= best_len)
			continue;
		if (pw_cidr_contains(&cd, &k->addr)) {
			best = &img->prefixes[i].val;
			best_len = cd.plen;
		}
	}
	return best;
}

static const struct pw_pol_val *img_pol(void *ctx, const struct pw_pol_key *k)
{
	struct img_ctx *c = ctx;
	struct pw_pol_key key = *k;
	long i;

	key.slot = 0;
	i = hidx_find(&c->pols, c->img->pols, &key);
	return i < 0 ? NULL : &c->img->pols[i].val;
}

static const struct pw_range_val *img_range(void *ctx, const struct pw_pol_key *k)
{
	struct img_ctx *c = ctx;
	struct pw_pol_key key = *k;
	long i;

	key.slot = 0;
	i = hidx_find(&c->ranges, c->img->ranges, &key);
	return i < 0 ? NULL : &c->img->ranges[i].val;
}

static const struct pw_eval_ops img_ops = {
	.ep = img_ep,
	.peer = img_peer,
	.pol = img_pol,
	.range = img_range,
};

int pw_eval_image_open(const struct pw_image *img, struct pw_eval_backend *ret_backend)
{
	struct img_ctx *c = calloc(1, sizeof(*c));
	size_t i;
	int r = -ENOMEM;

	if (!c)
		return -ENOMEM;
	c->img = img;
	hidx_init(&c->eps, sizeof(struct pw_img_ep), offsetof(struct pw_img_ep, addr),
		  sizeof(union pw_addr));
	hidx_init(&c->pols, sizeof(struct pw_img_pol), offsetof(struct pw_img_pol, key),
		  sizeof(struct pw_pol_key));
	hidx_init(&c->ranges, sizeof(struct pw_img_range), offsetof(struct pw_img_range, key),
		  sizeof(struct pw_pol_key));
	for (i = 0; i < img->n_eps; i++) {
		/* an address claimed twice (two pods): the first one wins */
		if (hidx_find(&c->eps, img->eps, &img->eps[i].addr) >= 0)
			continue;
		if (hidx_add(&c->eps, img->eps, (uint32_t)i))
			goto fail;
	}
	for (i = 0; i < img->n_pols; i++)
		if (hidx_add(&c->pols, img->pols, (uint32_t)i))
			goto fail;
	for (i = 0; i < img->n_ranges; i++)
		if (hidx_add(&c->ranges, img->ranges, (uint32_t)i))
			goto fail;
	memset(ret_backend, 0, sizeof(*ret_backend));
	ret_backend->ops = &img_ops;
	ret_backend->ctx = c;
	return 0;
fail:
	hidx_free(&c->eps);
	hidx_free(&c->pols);
	hidx_free(&c->ranges);
	free(c);
	return r;
}

void pw_eval_image_close(struct pw_eval_backend *b)
{
	struct img_ctx *c;

	if (!b || b->ops != &img_ops)
		return;
	c = b->ctx;
	hidx_free(&c->eps);
	hidx_free(&c->pols);
	hidx_free(&c->ranges);
	free(c);
	b->ctx = NULL;
	b->ops = NULL;
}

const struct pw_img_rule *pw_image_rule(const struct pw_image *img, uint32_t rule_id)
{
	if (rule_id == PW_RULE_NONE || rule_id > img->n_rules)
		return NULL;
	return &img->rules[rule_id - 1];
}

const struct pw_img_set *pw_image_set(const struct pw_image *img, uint32_t set_id)
{
	if (!set_id || set_id > img->n_sets || img->sets[set_id - 1].id != set_id)
		return NULL;
	return &img->sets[set_id - 1];
}

const struct pw_img_identity *pw_image_identity(const struct pw_image *img, uint32_t id)
{
	size_t i;

	for (i = 0; i < img->n_ids; i++)
		if (img->ids[i].id == id)
			return &img->ids[i];
	return NULL;
}

long pw_image_pod_by_addr(const struct pw_image *img, const union pw_addr *a)
{
	size_t i;

	for (i = 0; i < img->n_eps; i++)
		if (!memcmp(&img->eps[i].addr, a, sizeof(*a)))
			return img->eps[i].pod;
	return -1;
}

long pw_image_pod_by_name(const struct pw_image *img, const char *ns, const char *name)
{
	size_t i;

	for (i = 0; i < img->n_pods; i++)
		if (!strcmp(img->pods[i].ns, ns) && !strcmp(img->pods[i].name, name))
			return (long)i;
	return -1;
}
