// SPDX-License-Identifier: MIT
/* tc/XDP attachment and its pinned record: see attach.h. */
#include <errno.h>
#include <stdarg.h>
#include <net/if.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <linux/if_link.h>
#include <linux/pkt_sched.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <netlink/netlink.h>
#include <netlink/route/classifier.h>
#include <netlink/route/tc.h>

#include "attach.h"

#ifndef TC_H_CLSACT
#define TC_H_CLSACT TC_H_INGRESS
#endif
#ifndef TC_H_MIN_INGRESS
#define TC_H_MIN_INGRESS 0xFFF2U
#define TC_H_MIN_EGRESS 0xFFF3U
#endif

const char *pw_att_hook_name(enum pw_att_hook hook)
{
	switch (hook) {
	case PW_ATT_TC_INGRESS:
		return "tc-ingress";
	case PW_ATT_TC_EGRESS:
		return "tc-egress";
	case PW_ATT_XDP:
		return "xdp";
	}
	return "?";
}

int pw_attach_record_create(int *ret_fd)
{
	LIBBPF_OPTS(bpf_map_create_opts, o);
	int fd = bpf_map_create(BPF_MAP_TYPE_HASH, "pw_attach_v1", sizeof(struct pw_att_key),
				sizeof(struct pw_att_val), PW_ATTACH_MAX_ENTRIES, &o);

	if (fd < 0)
		return -errno;
	*ret_fd = fd;
	return 0;
}

static int prog_id_of(int prog_fd, __u32 *ret_id)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(prog_fd, &info, &len))
		return -errno;
	*ret_id = info.id;
	return 0;
}

static __u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (__u64)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* Queries and detaches of hooks that may be empty: the kernel's "not found"
 * is an expected answer, not something for libbpf to print. */
static int quiet_print(enum libbpf_print_level l, const char *f, va_list ap)
{
	(void)l;
	(void)f;
	(void)ap;
	return 0;
}

static int tc_query_quiet(struct bpf_tc_hook *h, struct bpf_tc_opts *o)
{
	libbpf_print_fn_t old = libbpf_set_print(quiet_print);
	int err = bpf_tc_query(h, o);

	libbpf_set_print(old);
	return err;
}

static int tc_detach_quiet(struct bpf_tc_hook *h, struct bpf_tc_opts *o)
{
	libbpf_print_fn_t old = libbpf_set_print(quiet_print);
	int err = bpf_tc_detach(h, o);

	libbpf_set_print(old);
	return err;
}

static int tc_destroy_quiet(struct bpf_tc_hook *h)
{
	libbpf_print_fn_t old = libbpf_set_print(quiet_print);
	int err = bpf_tc_hook_destroy(h);

	libbpf_set_print(old);
	return err;
}

static int tc_create_quiet(struct bpf_tc_hook *h)
{
	libbpf_print_fn_t old = libbpf_set_print(quiet_print);
	int err = bpf_tc_hook_create(h);

	libbpf_set_print(old);
	return err;
}

static int tc_hook_of(enum pw_att_hook hook, enum bpf_tc_attach_point *ret)
{
	if (hook == PW_ATT_TC_INGRESS)
		*ret = BPF_TC_INGRESS;
	else if (hook == PW_ATT_TC_EGRESS)
		*ret = BPF_TC_EGRESS;
	else
		return -EINVAL;
	return 0;
}

static int record_get(int rec_fd, int ifindex, enum pw_att_hook hook, struct pw_att_val *v)
{
	struct pw_att_key k = { .ifindex = ifindex, .hook = hook };

	return bpf_map_lookup_elem(rec_fd, &k, v) ? -errno : 0;
}

/* Did podwall create the clsact qdisc of this interface (any hook's record)? */
static int created_clsact(int rec_fd, int ifindex)
{
	struct pw_att_val v;

	for (int h = PW_ATT_TC_INGRESS; h <= PW_ATT_XDP; h++)
		if (!record_get(rec_fd, ifindex, h, &v) && (v.flags & PW_ATT_F_CREATED_CLSACT))
			return 1;
	return 0;
}

int pw_tc_count_others(int ifindex, enum pw_att_hook hook, int *ret_n)
{
	struct nl_sock *sk;
	struct nl_cache *cache = NULL;
	struct nl_object *obj;
	__u32 parent;
	int n = 0, err;

	if (hook == PW_ATT_TC_INGRESS)
		parent = TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS);
	else if (hook == PW_ATT_TC_EGRESS)
		parent = TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_EGRESS);
	else
		return -EINVAL;
	sk = nl_socket_alloc();
	if (!sk)
		return -ENOMEM;
	err = nl_connect(sk, NETLINK_ROUTE);
	if (err) {
		err = -ECONNREFUSED;
		goto out;
	}
	err = rtnl_cls_alloc_cache(sk, ifindex, parent, &cache);
	if (err) {
		/* No clsact qdisc: nothing there. */
		err = 0;
		goto out;
	}
	for (obj = nl_cache_get_first(cache); obj; obj = nl_cache_get_next(obj)) {
		struct rtnl_cls *cls = (struct rtnl_cls *)obj;

		if (rtnl_tc_get_handle(TC_CAST(cls)) == PW_TC_HANDLE &&
		    rtnl_cls_get_prio(cls) == PW_TC_PRIORITY)
			continue;
		if (rtnl_tc_get_handle(TC_CAST(cls)) == 0)
			continue; /* chain/placeholder entries carry no filter */
		n++;
	}
	*ret_n = n;
out:
	nl_cache_free(cache);
	nl_socket_free(sk);
	return err;
}

int pw_attach_query(int ifindex, enum pw_att_hook hook, __u32 *ret_prog_id)
{
	enum bpf_tc_attach_point ap;
	__u32 id = 0;
	int err;

	if (hook == PW_ATT_XDP) {
		err = bpf_xdp_query_id(ifindex, 0, &id);
		if (err)
			return err;
		*ret_prog_id = id;
		return 0;
	}
	err = tc_hook_of(hook, &ap);
	if (err)
		return err;
	LIBBPF_OPTS(bpf_tc_hook, h, .ifindex = ifindex, .attach_point = ap);
	LIBBPF_OPTS(bpf_tc_opts, o, .handle = PW_TC_HANDLE, .priority = PW_TC_PRIORITY);
	err = tc_query_quiet(&h, &o);
	if (err == -ENOENT || err == -EINVAL) {
		*ret_prog_id = 0;
		return 0;
	}
	if (err)
		return err;
	*ret_prog_id = o.prog_id;
	return 0;
}

int pw_attach_hook(int rec_fd, int ifindex, enum pw_att_hook hook, int prog_fd, __u32 flags,
		   int *ret_others)
{
	struct pw_att_key k = { .ifindex = ifindex, .hook = hook };
	struct pw_att_val v = {}, old = {};
	int have_old, others = 0, err;

	if (ifindex <= 0 || prog_fd < 0)
		return -EINVAL;
	have_old = !record_get(rec_fd, ifindex, hook, &old);
	if (!if_indextoname(ifindex, v.ifname))
		return -ENODEV;
	v.flags = flags & (PW_ATT_F_UPLINK | PW_ATT_F_XDP_SKB);
	if (have_old)
		v.flags |= old.flags & PW_ATT_F_CREATED_CLSACT;
	err = prog_id_of(prog_fd, &v.prog_id);
	if (err)
		return err;

	if (hook == PW_ATT_XDP) {
		__u32 cur = 0, mode = (flags & PW_ATT_F_XDP_SKB) ? XDP_FLAGS_SKB_MODE : 0;

		err = bpf_xdp_query_id(ifindex, 0, &cur);
		if (err)
			return err;
		/* Never replace someone else's XDP program: there is only one. */
		if (cur && (!have_old || cur != old.prog_id) && cur != v.prog_id)
			return -EBUSY;
		err = bpf_xdp_attach(ifindex, prog_fd, mode, NULL);
		if (err)
			return err;
	} else {
		enum bpf_tc_attach_point ap;

		err = tc_hook_of(hook, &ap);
		if (err)
			return err;
		LIBBPF_OPTS(bpf_tc_hook, h, .ifindex = ifindex, .attach_point = ap);
		err = tc_create_quiet(&h);
		if (!err)
			v.flags |= PW_ATT_F_CREATED_CLSACT;
		else if (err != -EEXIST)
			return err;
		else if (created_clsact(rec_fd, ifindex))
			v.flags |= PW_ATT_F_CREATED_CLSACT;
		LIBBPF_OPTS(bpf_tc_opts, o, .handle = PW_TC_HANDLE, .priority = PW_TC_PRIORITY,
			    .prog_fd = prog_fd, .flags = BPF_TC_F_REPLACE);
		err = bpf_tc_attach(&h, &o);
		if (err)
			return err;
		if (pw_tc_count_others(ifindex, hook, &others))
			others = -1;
	}
	v.handle = hook == PW_ATT_XDP ? 0 : PW_TC_HANDLE;
	v.priority = hook == PW_ATT_XDP ? 0 : PW_TC_PRIORITY;
	v.attached_at = now_ns();
	if (bpf_map_update_elem(rec_fd, &k, &v, BPF_ANY))
		return -errno; /* attached but unrecorded: the caller retries */
	if (ret_others)
		*ret_others = others;
	return 0;
}

static int link_exists(int ifindex)
{
	char name[IF_NAMESIZE];

	return if_indextoname(ifindex, name) != NULL;
}

int pw_detach_hook(int rec_fd, int ifindex, enum pw_att_hook hook)
{
	struct pw_att_key k = { .ifindex = ifindex, .hook = hook };
	struct pw_att_val v;
	int have = !record_get(rec_fd, ifindex, hook, &v);
	int err = 0;

	if (!link_exists(ifindex))
		goto forget; /* the kernel removed its filters with it */
	if (hook == PW_ATT_XDP) {
		__u32 cur = 0;

		if (!have)
			return 0;
		err = bpf_xdp_query_id(ifindex, 0, &cur);
		if (err)
			return err;
		if (cur && cur == v.prog_id)
			err = bpf_xdp_detach(ifindex,
					     (v.flags & PW_ATT_F_XDP_SKB) ? XDP_FLAGS_SKB_MODE : 0,
					     NULL);
		/* else: not ours any more (someone replaced it); leave it */
	} else {
		enum bpf_tc_attach_point ap;

		err = tc_hook_of(hook, &ap);
		if (err)
			return err;
		LIBBPF_OPTS(bpf_tc_hook, h, .ifindex = ifindex, .attach_point = ap);
		LIBBPF_OPTS(bpf_tc_opts, o, .handle = PW_TC_HANDLE, .priority = PW_TC_PRIORITY);
		err = tc_detach_quiet(&h, &o);
		if (err == -ENOENT || err == -EINVAL)
			err = 0; /* nothing of ours there (or no clsact at all) */
	}
	if (err)
		return err;
forget:
	if (have && bpf_map_delete_elem(rec_fd, &k) && errno != ENOENT)
		return -errno;
	return 0;
}

int pw_detach_ifindex(int rec_fd, int ifindex)
{
	int created = created_clsact(rec_fd, ifindex);
	int first = 0, err;

	for (int h = PW_ATT_TC_INGRESS; h <= PW_ATT_XDP; h++) {
		err = pw_detach_hook(rec_fd, ifindex, h);
		if (err && !first)
			first = err;
	}
	if (!first && created && link_exists(ifindex)) {
		int in = 0, eg = 0;

		/* Remove the qdisc we added only when no one else put filters on it. */
		if (!pw_tc_count_others(ifindex, PW_ATT_TC_INGRESS, &in) &&
		    !pw_tc_count_others(ifindex, PW_ATT_TC_EGRESS, &eg) && in == 0 && eg == 0) {
			LIBBPF_OPTS(bpf_tc_hook, h, .ifindex = ifindex,
				    .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);
			err = tc_destroy_quiet(&h);
			if (err && err != -ENOENT && err != -EINVAL)
				first = err;
		}
	}
	return first;
}

/* Keys of the record, collected first: detaching deletes while iterating. */
static int record_keys(int rec_fd, struct pw_att_key *keys, int max, int *ret_n)
{
	struct pw_att_key k, next;
	int n = 0, err;

	err = bpf_map_get_next_key(rec_fd, NULL, &next);
	while (!err) {
		if (n == max)
			return -E2BIG;
		keys[n++] = next;
		k = next;
		err = bpf_map_get_next_key(rec_fd, &k, &next);
	}
	if (errno != ENOENT)
		return -errno;
	*ret_n = n;
	return 0;
}

int pw_detach_all(int rec_fd)
{
	static struct pw_att_key keys[PW_ATTACH_MAX_ENTRIES];
	int n, first = 0, err;

	err = record_keys(rec_fd, keys, PW_ATTACH_MAX_ENTRIES, &n);
	if (err)
		return err;
	for (int i = 0; i < n; i++) {
		/* pw_detach_ifindex handles all hooks; skip repeats */
		int seen = 0;

		for (int j = 0; j < i; j++)
			if (keys[j].ifindex == keys[i].ifindex)
				seen = 1;
		if (seen)
			continue;
		err = pw_detach_ifindex(rec_fd, keys[i].ifindex);
		if (err && !first)
			first = err;
	}
	return first;
}

int pw_attach_forget_stale(int rec_fd, int *ret_n)
{
	static struct pw_att_key keys[PW_ATTACH_MAX_ENTRIES];
	int n, gone = 0, err;

	err = record_keys(rec_fd, keys, PW_ATTACH_MAX_ENTRIES, &n);
	if (err)
		return err;
	for (int i = 0; i < n; i++) {
		if (link_exists(keys[i].ifindex))
			continue;
		if (bpf_map_delete_elem(rec_fd, &keys[i]) && errno != ENOENT)
			return -errno;
		gone++;
	}
	if (ret_n)
		*ret_n = gone;
	return 0;
}
