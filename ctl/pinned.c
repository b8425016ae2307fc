// SPDX-License-Identifier: MIT
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "pinned.h"

enum {
	M_STATE,
	M_EP,
	M_IF,
	M_PEER,
	M_POL,
	M_RANGE,
	M_CT,
	M_FRAG,
	M_CNT,
	M_RCNT,
	M_EVENTS,
	M_RL,
	M_ATT,
};

static const struct {
	const char *name;
	uint32_t key_size, value_size; /* 0: not checked (per-CPU values, ringbuf) */
	bool countable;
} maps[PW_PINNED_NMAPS] = {
	[M_STATE] = { "pw_state_v1", 4, sizeof(struct pw_state), false },
	[M_EP] = { "pw_ep_v1", sizeof(struct pw_ep_key), sizeof(struct pw_endpoint), true },
	[M_IF] = { "pw_if_v1", sizeof(struct pw_if_key), sizeof(struct pw_endpoint), true },
	[M_PEER] = { "pw_peer_v1", sizeof(struct pw_peer_key), sizeof(struct pw_peer_val), true },
	[M_POL] = { "pw_pol_v1", sizeof(struct pw_pol_key), sizeof(struct pw_pol_val), true },
	[M_RANGE] = { "pw_range_v1", sizeof(struct pw_pol_key), sizeof(struct pw_range_val), true },
	[M_CT] = { "pw_ct_v1", sizeof(struct pw_ct_key), sizeof(struct pw_ct_val), true },
	[M_FRAG] = { "pw_frag_v1", sizeof(struct pw_frag_key), sizeof(struct pw_frag_val), true },
	[M_CNT] = { "pw_cnt_v2", 4, sizeof(struct pw_counters), false },
	[M_RCNT] = { "pw_rcnt_v1", 4, sizeof(struct pw_counter), false },
	[M_EVENTS] = { "pw_events_v1", 0, 0, false },
	[M_RL] = { "pw_rl_v1", 4, sizeof(struct pw_rl), false },
	[M_ATT] = { "pw_attach_v1", sizeof(struct pw_pinned_att_key),
		    sizeof(struct pw_pinned_att_val), true },
};

struct pw_pinned {
	int fd[PW_PINNED_NMAPS];
	struct bpf_map_info info[PW_PINNED_NMAPS];
	int ncpus;
};

static int open_pin(const char *dir, const char *name)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = bpf_obj_get(path);
	if (fd >= 0)
		return fd;
	snprintf(path, sizeof(path), "%s/maps/%s", dir, name);
	fd = bpf_obj_get(path);
	return fd >= 0 ? fd : -errno;
}

void pw_pinned_close(struct pw_pinned *p)
{
	if (!p)
		return;
	for (int i = 0; i < PW_PINNED_NMAPS; i++)
		if (p->fd[i] >= 0)
			close(p->fd[i]);
	free(p);
}

int pw_pinned_open(const char *dir, struct pw_pinned **ret)
{
	struct pw_pinned *p;
	int found = 0, err = -ENOENT;

	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->ncpus = libbpf_num_possible_cpus();
	if (p->ncpus <= 0) {
		free(p);
		return -EINVAL;
	}
	for (int i = 0; i < PW_PINNED_NMAPS; i++) {
		__u32 il = sizeof(p->info[i]);

		p->fd[i] = open_pin(dir, maps[i].name);
		if (p->fd[i] < 0) {
			if (p->fd[i] != -ENOENT)
				err = p->fd[i];
			continue;
		}
		if (bpf_obj_get_info_by_fd(p->fd[i], &p->info[i], &il)) {
			err = -errno;
			goto out_err;
		}
		if ((maps[i].key_size && p->info[i].key_size != maps[i].key_size) ||
		    (maps[i].value_size && p->info[i].value_size != maps[i].value_size)) {
			err = -EPROTO;
			goto out_err;
		}
		found++;
	}
	if (!found)
		goto out_err;
	*ret = p;
	return 0;
out_err:
	pw_pinned_close(p);
	return err;
}

int pw_pinned_state(struct pw_pinned *p, struct pw_state *ret)
{
	__u32 k = 0;
	struct pw_state s;

	if (p->fd[M_STATE] < 0)
		return -ENOENT;
	if (bpf_map_lookup_elem(p->fd[M_STATE], &k, &s))
		return -errno;
	*ret = s;
	return 0;
}

static int addr_cmp(const void *a, const void *b)
{
	return memcmp(&((const struct pw_pinned_ep *)a)->addr,
		      &((const struct pw_pinned_ep *)b)->addr, sizeof(union pw_addr));
}

int pw_pinned_endpoints(struct pw_pinned *p, uint32_t slot, struct pw_pinned_ep **ret,
			size_t *ret_n)
{
	struct pw_ep_key key, next, *prev = NULL;
	struct pw_pinned_ep *v = NULL;
	size_t n = 0, cap = 0;
	int fd = p->fd[M_EP];

	if (fd < 0)
		return -ENOENT;
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		struct pw_endpoint val;

		key = next;
		prev = &key;
		if (key.slot != slot)
			continue;
		if (bpf_map_lookup_elem(fd, &key, &val))
			continue; /* deleted under us */
		if (n == cap) {
			size_t c = cap ? cap * 2 : 64;
			struct pw_pinned_ep *nv;

			if (c > p->info[M_EP].max_entries + 64u)
				break; /* a map cannot hold more; guards a looping walk */
			nv = realloc(v, c * sizeof(*v));
			if (!nv) {
				free(v);
				return -ENOMEM;
			}
			v = nv;
			cap = c;
		}
		v[n].addr = key.addr;
		v[n].val = val;
		n++;
	}
	if (n)
		qsort(v, n, sizeof(*v), addr_cmp);
	*ret = v;
	*ret_n = n;
	return 0;
}

void pw_cnt_decode(uint32_t index, uint32_t *ep_id, uint8_t *dir, uint8_t *verdict, uint8_t *reason)
{
	uint32_t code = index % PW_CNT_CODES;
	uint32_t epdir = index / PW_CNT_CODES;

	*ep_id = epdir / 2;
	*dir = epdir % 2;
	if (code >= PW_CNT_AUDIT(PW_REASON_FIRST_DROP)) {
		*verdict = PW_VERDICT_AUDIT;
		*reason = code - 16;
	} else if (code >= PW_REASON_FIRST_DROP) {
		*verdict = PW_VERDICT_DROP;
		*reason = code;
	} else {
		*verdict = PW_VERDICT_ALLOW;
		*reason = code;
	}
}

/* Walk a per-CPU array whose elements hold `per` struct pw_counter each and
 * call `fn` for each counter whose sum over CPUs is non-zero, with the flat
 * index element * per + position. */
static int percpu_walk(struct pw_pinned *p, int m, uint32_t per,
		       int (*fn)(uint32_t idx, uint64_t pk, uint64_t by, void *ud), void *ud)
{
	int fd = p->fd[m];
	uint32_t max = p->info[m].max_entries;
	struct pw_counter *vals;
	int err = 0;

	if (fd < 0)
		return -ENOENT;
	vals = calloc((size_t)p->ncpus * per, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	for (uint32_t i = 0; i < max && !err; i++) {
		if (bpf_map_lookup_elem(fd, &i, vals)) {
			err = -errno;
			break;
		}
		for (uint32_t k = 0; k < per && !err; k++) {
			uint64_t pk = 0, by = 0;

			for (int c = 0; c < p->ncpus; c++) {
				pk += vals[(size_t)c * per + k].packets;
				by += vals[(size_t)c * per + k].bytes;
			}
			if (pk || by)
				err = fn(i * per + k, pk, by, ud);
		}
	}
	free(vals);
	return err;
}

struct vec {
	void *v;
	size_t n, cap, size;
};

static void *vec_add(struct vec *v)
{
	if (v->n == v->cap) {
		size_t c = v->cap ? v->cap * 2 : 32;
		void *nv = realloc(v->v, c * v->size);

		if (!nv)
			return NULL;
		v->v = nv;
		v->cap = c;
	}
	return (char *)v->v + v->size * v->n++;
}

static int add_cnt(uint32_t idx, uint64_t pk, uint64_t by, void *ud)
{
	struct pw_pinned_cnt *c = vec_add(ud);

	if (!c)
		return -ENOMEM;
	pw_cnt_decode(idx, &c->ep_id, &c->dir, &c->verdict, &c->reason);
	c->packets = pk;
	c->bytes = by;
	return 0;
}

int pw_pinned_counters(struct pw_pinned *p, struct pw_pinned_cnt **ret, size_t *ret_n)
{
	struct vec v = { .size = sizeof(struct pw_pinned_cnt) };
	int err = percpu_walk(p, M_CNT, PW_CNT_CODES, add_cnt, &v);

	if (err) {
		free(v.v);
		return err;
	}
	*ret = v.v;
	*ret_n = v.n;
	return 0;
}

static int add_rcnt(uint32_t idx, uint64_t pk, uint64_t by, void *ud)
{
	struct pw_pinned_rcnt *c = vec_add(ud);

	if (!c)
		return -ENOMEM;
	c->rule_id = idx;
	c->packets = pk;
	c->bytes = by;
	return 0;
}

int pw_pinned_rule_counters(struct pw_pinned *p, struct pw_pinned_rcnt **ret, size_t *ret_n)
{
	struct vec v = { .size = sizeof(struct pw_pinned_rcnt) };
	int err = percpu_walk(p, M_RCNT, 1, add_rcnt, &v);

	if (err) {
		free(v.v);
		return err;
	}
	*ret = v.v;
	*ret_n = v.n;
	return 0;
}

/* Count keys; the walk is bounded by max_entries in case entries churn. */
static int count_keys(int fd, uint32_t key_size, uint32_t max, uint32_t *ret)
{
	char a[256] = { 0 }, b[256] = { 0 };
	void *prev = NULL, *next = a;
	uint32_t n = 0;

	if (key_size > sizeof(a))
		return -E2BIG;
	while (!bpf_map_get_next_key(fd, prev, next)) {
		n++;
		if (n > max)
			break;
		prev = next;
		next = next == a ? b : a;
	}
	*ret = n > max ? max : n;
	return 0;
}

int pw_pinned_fill(struct pw_pinned *p, struct pw_pinned_fill ret[PW_PINNED_NMAPS])
{
	for (int i = 0; i < PW_PINNED_NMAPS; i++) {
		struct pw_pinned_fill *f = &ret[i];
		int err;

		memset(f, 0, sizeof(*f));
		f->name = maps[i].name;
		f->present = p->fd[i] >= 0;
		f->countable = maps[i].countable;
		if (!f->present)
			continue;
		f->max_entries = p->info[i].max_entries;
		if (!f->countable)
			continue;
		err = count_keys(p->fd[i], p->info[i].key_size, f->max_entries, &f->entries);
		if (err)
			return err;
	}
	return 0;
}

static int set_add(struct vec *v, uint32_t set_id)
{
	struct pw_pinned_set *s = v->v;

	for (size_t i = 0; i < v->n; i++) {
		if (s[i].set_id == set_id) {
			s[i].entries++;
			return 0;
		}
	}
	s = vec_add(v);
	if (!s)
		return -ENOMEM;
	s->set_id = set_id;
	s->entries = 1;
	return 0;
}

static int set_cmp(const void *a, const void *b)
{
	uint32_t x = ((const struct pw_pinned_set *)a)->set_id;
	uint32_t y = ((const struct pw_pinned_set *)b)->set_id;

	return x < y ? -1 : x > y;
}

int pw_pinned_sets(struct pw_pinned *p, uint32_t slot, struct pw_pinned_set **ret, size_t *ret_n)
{
	struct vec v = { .size = sizeof(struct pw_pinned_set) };
	static const int ms[] = { M_POL, M_RANGE };

	for (size_t m = 0; m < sizeof(ms) / sizeof(ms[0]); m++) {
		int fd = p->fd[ms[m]];
		struct pw_pol_key a, b, *prev = NULL, *next = &a;
		uint32_t guard = 0;

		if (fd < 0)
			continue;
		while (!bpf_map_get_next_key(fd, prev, next) &&
		       guard++ <= p->info[ms[m]].max_entries) {
			if (next->slot == slot && set_add(&v, next->set_id)) {
				free(v.v);
				return -ENOMEM;
			}
			prev = next;
			next = next == &a ? &b : &a;
		}
	}
	if (v.n)
		qsort(v.v, v.n, sizeof(struct pw_pinned_set), set_cmp);
	*ret = v.v;
	*ret_n = v.n;
	return 0;
}

const char *pw_ctl_reason_name(unsigned int reason)
{
	switch (reason) {
	case PW_REASON_NONE:
		return "none";
	case PW_ALLOW_NOT_ISOLATED:
		return "not-isolated";
	case PW_ALLOW_POLICY:
		return "policy";
	case PW_ALLOW_ESTABLISHED:
		return "established";
	case PW_ALLOW_REPLY:
		return "reply";
	case PW_ALLOW_HOST:
		return "host";
	case PW_ALLOW_NON_IP:
		return "non-ip";
	case PW_ALLOW_ICMP_RELATED:
		return "icmp-related";
	case PW_ALLOW_ND:
		return "neighbour-discovery";
	case PW_ALLOW_DEFERRED:
		return "deferred";
	case PW_ALLOW_FRAGMENT:
		return "fragment";
	case PW_ALLOW_LOOPBACK:
		return "loopback";
	case PW_DROP_POLICY:
		return "policy-denied";
	case PW_DROP_SPOOFED:
		return "spoofed";
	case PW_DROP_MALFORMED:
		return "malformed";
	case PW_DROP_FRAG_UNKNOWN:
		return "fragment-unknown";
	case PW_DROP_EXTHDR:
		return "ext-header";
	case PW_DROP_NO_ENDPOINT:
		return "no-endpoint";
	case PW_DROP_REVOKED:
		return "revoked";
	default:
		return "unknown";
	}
}

const char *pw_ctl_verdict_name(unsigned int verdict)
{
	switch (verdict) {
	case PW_VERDICT_ALLOW:
		return "allow";
	case PW_VERDICT_DROP:
		return "drop";
	case PW_VERDICT_AUDIT:
		return "audit";
	default:
		return "unknown";
	}
}

const char *pw_ctl_dir_name(unsigned int dir)
{
	return dir == PW_DIR_INGRESS ? "ingress" : dir == PW_DIR_EGRESS ? "egress" : "unknown";
}

static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

void pw_ctl_addr_format(const union pw_addr *a, char *buf, size_t len)
{
	char tmp[INET6_ADDRSTRLEN];

	if (!memcmp(a->b, v4mapped, 12))
		inet_ntop(AF_INET, &a->b[12], tmp, sizeof(tmp));
	else
		inet_ntop(AF_INET6, a->b, tmp, sizeof(tmp));
	snprintf(buf, len, "%s", tmp);
}

int pw_ctl_addr_parse(const char *s, union pw_addr *ret)
{
	union pw_addr a = { 0 };

	if (inet_pton(AF_INET, s, &a.b[12]) == 1) {
		memcpy(a.b, v4mapped, 12);
	} else if (inet_pton(AF_INET6, s, a.b) != 1) {
		return -EINVAL;
	}
	*ret = a;
	return 0;
}

int pw_pinned_attachments(struct pw_pinned *p, struct pw_pinned_att **ret, size_t *ret_n)
{
	struct vec v = { .size = sizeof(struct pw_pinned_att) };
	struct pw_pinned_att_key a = { 0 }, b = { 0 }, *prev = NULL, *next = &a;
	int fd = p->fd[M_ATT];
	uint32_t guard = 0;

	if (fd < 0)
		return -ENOENT;
	while (!bpf_map_get_next_key(fd, prev, next) && guard++ <= p->info[M_ATT].max_entries) {
		struct pw_pinned_att *e;
		struct pw_pinned_att_val val;

		prev = next;
		next = next == &a ? &b : &a;
		if (bpf_map_lookup_elem(fd, prev, &val))
			continue;
		e = vec_add(&v);
		if (!e) {
			free(v.v);
			return -ENOMEM;
		}
		e->key = *prev;
		e->val = val;
		e->val.ifname[sizeof(e->val.ifname) - 1] = 0;
	}
	*ret = v.v;
	*ret_n = v.n;
	return 0;
}
