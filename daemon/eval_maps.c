// SPDX-License-Identifier: MIT
/* Evaluator backend over the live maps: see eval_maps.h. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "podwall/abi.h"

struct pw_eval_maps {
	int state, ep, peer, pol, range;
	/* one buffer per kind: decide.h keeps a pointer until the next call of
	 * the same lookup */
	struct pw_endpoint ep_buf;
	struct pw_peer_val peer_buf;
	struct pw_pol_val pol_buf;
	struct pw_range_val range_buf;
	int err; /* first lookup error other than a miss */
};

static const struct pw_endpoint *pw_lookup_ep(void *lctx, const struct pw_ep_key *k)
{
	struct pw_eval_maps *em = lctx;

	if (bpf_map_lookup_elem(em->ep, k, &em->ep_buf)) {
		if (errno != ENOENT && !em->err)
			em->err = -errno;
		return NULL;
	}
	return &em->ep_buf;
}

static const struct pw_peer_val *pw_lookup_peer(void *lctx, const struct pw_peer_key *k)
{
	struct pw_eval_maps *em = lctx;

	if (bpf_map_lookup_elem(em->peer, k, &em->peer_buf)) {
		if (errno != ENOENT && !em->err)
			em->err = -errno;
		return NULL;
	}
	return &em->peer_buf;
}

static const struct pw_pol_val *pw_lookup_pol(void *lctx, const struct pw_pol_key *k)
{
	struct pw_eval_maps *em = lctx;

	if (bpf_map_lookup_elem(em->pol, k, &em->pol_buf)) {
		if (errno != ENOENT && !em->err)
			em->err = -errno;
		return NULL;
	}
	return &em->pol_buf;
}

static const struct pw_range_val *pw_lookup_range(void *lctx, const struct pw_pol_key *k)
{
	struct pw_eval_maps *em = lctx;

	if (bpf_map_lookup_elem(em->range, k, &em->range_buf)) {
		if (errno != ENOENT && !em->err)
			em->err = -errno;
		return NULL;
	}
	return &em->range_buf;
}

#define PW_INLINE inline
#include "podwall/decide.h"

#include "eval_maps.h"

static int open_pin(const char *dir, const char *name, int *ret)
{
	char path[PATH_MAX];
	LIBBPF_OPTS(bpf_obj_get_opts, o, .file_flags = BPF_F_RDONLY);
	int fd, n = snprintf(path, sizeof(path), "%s/%s", dir, name);

	if (n < 0 || (size_t)n >= sizeof(path))
		return -ENAMETOOLONG;
	fd = bpf_obj_get_opts(path, &o);
	if (fd < 0)
		return -errno;
	*ret = fd;
	return 0;
}

void pw_eval_maps_close(struct pw_eval_maps *em)
{
	if (!em)
		return;
	int *fds[] = { &em->state, &em->ep, &em->peer, &em->pol, &em->range };
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (*fds[i] >= 0)
			close(*fds[i]);
	free(em);
}

int pw_eval_maps_state(struct pw_eval_maps *em, uint64_t *ret_epoch, uint32_t *ret_flags)
{
	struct pw_state st;
	__u32 zero = 0;

	if (bpf_map_lookup_elem(em->state, &zero, &st))
		return -errno;
	if (st.abi_version && st.abi_version != PW_ABI_VERSION)
		return -EPROTO;
	*ret_epoch = st.epoch;
	*ret_flags = st.flags;
	return 0;
}

int pw_eval_maps_open(const char *bpffs, struct pw_eval_maps **ret)
{
	struct pw_eval_maps *em = calloc(1, sizeof(*em));
	uint64_t epoch = 0;
	uint32_t flags;
	int err;

	if (!em)
		return -ENOMEM;
	em->state = em->ep = em->peer = em->pol = em->range = -1;
	if ((err = open_pin(bpffs, "pw_state_v1", &em->state)) ||
	    (err = open_pin(bpffs, "pw_ep_v1", &em->ep)) ||
	    (err = open_pin(bpffs, "pw_peer_v1", &em->peer)) ||
	    (err = open_pin(bpffs, "pw_pol_v1", &em->pol)) ||
	    (err = open_pin(bpffs, "pw_range_v1", &em->range)))
		goto fail;
	err = pw_eval_maps_state(em, &epoch, &flags);
	if (err)
		goto fail;
	*ret = em;
	return 0;
fail:
	pw_eval_maps_close(em);
	return err;
}

int pw_eval_maps_endpoint(struct pw_eval_maps *em, const union pw_addr *addr,
			  struct pw_endpoint *ret)
{
	uint64_t epoch = 0;
	uint32_t flags;
	int err = pw_eval_maps_state(em, &epoch, &flags);
	struct pw_ep_key k = { .addr = *addr };

	if (err)
		return err;
	k.slot = epoch & 1;
	if (bpf_map_lookup_elem(em->ep, &k, ret))
		return -errno;
	return 0;
}

int pw_eval_maps_flow(struct pw_eval_maps *em, const union pw_addr *src, const union pw_addr *dst,
		      uint8_t proto, uint16_t dport, struct pw_side *ret_egress,
		      struct pw_side *ret_ingress, uint32_t *ret_src_id, uint32_t *ret_dst_id,
		      uint8_t *ret_verdict, uint64_t *ret_epoch)
{
	struct pw_side eg, in;
	uint32_t sid, did, flags = 0;
	uint64_t epoch = 0, again = 0;
	uint8_t v;
	int err;

	/* A reload may publish meanwhile: retry until one epoch answered it all. */
	for (int tries = 0; tries < 8; tries++) {
		err = pw_eval_maps_state(em, &epoch, &flags);
		if (err)
			return err;
		em->err = 0;
		v = pw_decide_flow(em, epoch & 1, flags, src, dst, proto, dport, &eg, &in, &sid,
				   &did);
		if (em->err)
			return em->err;
		if (!(flags & PW_STATE_ENFORCING)) {
			eg = (struct pw_side){ .verdict = PW_VERDICT_ALLOW,
					       .reason = PW_ALLOW_NOT_ISOLATED,
					       .dir = PW_DIR_EGRESS };
			in = (struct pw_side){ .verdict = PW_VERDICT_ALLOW,
					       .reason = PW_ALLOW_NOT_ISOLATED,
					       .dir = PW_DIR_INGRESS };
			v = PW_VERDICT_ALLOW;
		}
		err = pw_eval_maps_state(em, &again, &flags);
		if (err)
			return err;
		if (again != epoch)
			continue;
		*ret_egress = eg;
		*ret_ingress = in;
		*ret_src_id = sid;
		*ret_dst_id = did;
		*ret_verdict = v;
		if (ret_epoch)
			*ret_epoch = epoch;
		return 0;
	}
	return -EAGAIN;
}
