/* SPDX-License-Identifier: MIT */
/*
 * A small open-addressing hash index over an array of records (the
 * compiler's and evaluator's tables): slots hold record index + 1; keys live
 * in the records at a fixed offset and length.  Header-only, internal.
 */
#ifndef PODWALL_HIDX_H
#define PODWALL_HIDX_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct hidx {
	uint32_t *slots;
	size_t mask; /* capacity - 1 (power of two), 0 when empty */
	size_t n;
	size_t stride; /* record size */
	size_t keyoff;
	size_t keylen;
};

static inline uint64_t hidx_hash(const void *key, size_t len)
{
	const unsigned char *p = key;
	uint64_t h = 1469598103934665603ull;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= p[i];
		h *= 1099511628211ull;
	}
	return h ^ (h >> 29);
}

static inline void hidx_init(struct hidx *h, size_t stride, size_t keyoff, size_t keylen)
{
	memset(h, 0, sizeof(*h));
	h->stride = stride;
	h->keyoff = keyoff;
	h->keylen = keylen;
}

static inline void hidx_free(struct hidx *h)
{
	free(h->slots);
	h->slots = NULL;
	h->mask = 0;
	h->n = 0;
}

static inline const void *hidx_key(const struct hidx *h, const void *base, uint32_t i)
{
	return (const char *)base + (size_t)i * h->stride + h->keyoff;
}

/* Index of the record with this key, or -1. */
static inline long hidx_find(const struct hidx *h, const void *base, const void *key)
{
	size_t i;

	if (!h->mask)
		return -1;
	for (i = hidx_hash(key, h->keylen) & h->mask;; i = (i + 1) & h->mask) {
		uint32_t s = h->slots[i];

		if (!s)
			return -1;
		if (!memcmp(hidx_key(h, base, s - 1), key, h->keylen))
			return (long)(s - 1);
	}
}

static inline int hidx_grow(struct hidx *h, const void *base)
{
	size_t cap = h->mask ? (h->mask + 1) * 2 : 64, i, j;
	uint32_t *slots = calloc(cap, sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	for (i = 0; h->mask && i <= h->mask; i++) {
		uint32_t s = h->slots[i];

		if (!s)
			continue;
		for (j = hidx_hash(hidx_key(h, base, s - 1), h->keylen) & (cap - 1); slots[j];
		     j = (j + 1) & (cap - 1))
			;
		slots[j] = s;
	}
	free(h->slots);
	h->slots = slots;
	h->mask = cap - 1;
	return 0;
}

/* Add record `idx` (its key must not be present yet). */
static inline int hidx_add(struct hidx *h, const void *base, uint32_t idx)
{
	size_t j;

	if (!h->mask || (h->n + 1) * 4 > (h->mask + 1) * 3) {
		int r = hidx_grow(h, base);

		if (r)
			return r;
	}
	for (j = hidx_hash(hidx_key(h, base, idx), h->keylen) & h->mask; h->slots[j];
	     j = (j + 1) & h->mask)
		;
	h->slots[j] = idx + 1;
	h->n++;
	return 0;
}

#endif
