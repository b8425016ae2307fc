// SPDX-License-Identifier: MIT
/* Dataplane orchestration: see dataplane.h. */
#include <errno.h>
#include <time.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

#include "attach.h"
#include "dataplane.h"
#include "netlink.h"

struct pw_dp {
	struct pw_loader *l;
	struct pw_mw *mw;
	struct pw_nl *nl;
	int rec_fd;
	int hook_xdp;
	uint32_t state_flags;
	char **uplinks;
	size_t n_uplinks;
	void (*log)(int level, const char *fmt, ...);
	const struct pw_image *img;
	struct pw_mw_local *local;
	enum pw_nl_how *how;
	size_t n_local;
	union pw_addr *host;
	size_t n_host;
	uint32_t *attached; /* ifindexes attached by this process */
	size_t n_attached;
	struct pw_mw_stats last;
	int last_err;
	char *node_name; /* --node-name or NULL */
	struct pw_dp_timing timing; /* of the last apply */
};

static void dlog(struct pw_dp *dp, int level, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (dp->log)
		dp->log(level, "%s", buf);
	else if (level <= PW_DLOG_INFO)
		fprintf(stderr, "podwall: %s\n", buf);
}

int pw_dp_open(const struct pw_dp_opts *o, struct pw_dp **ret)
{
	struct pw_loader_opts lo = { .bpffs = o->bpffs,
				     .migrate = o->migrate,
				     .tc_obj_path = o->tc_obj_path,
				     .xdp_obj_path = o->xdp_obj_path,
				     .log = o->log };
	struct pw_dp *dp = calloc(1, sizeof(*dp));
	int err;

	if (!dp)
		return -ENOMEM;
	dp->rec_fd = -1;
	dp->hook_xdp = o->hook_xdp;
	dp->state_flags = o->state_flags;
	dp->log = o->log;
	if (o->node_name && *o->node_name) {
		dp->node_name = strdup(o->node_name);
		if (!dp->node_name) {
			err = -ENOMEM;
			goto fail;
		}
	}
	if (o->n_uplinks) {
		dp->uplinks = calloc(o->n_uplinks, sizeof(char *));
		if (!dp->uplinks) {
			err = -ENOMEM;
			goto fail;
		}
		for (size_t i = 0; i < o->n_uplinks; i++) {
			dp->uplinks[i] = strdup(o->uplinks[i]);
			if (!dp->uplinks[i]) {
				err = -ENOMEM;
				goto fail;
			}
			dp->n_uplinks++;
		}
	}
	err = pw_loader_open(&lo, &dp->l);
	if (err)
		goto fail;
	dp->rec_fd = pw_loader_map_fd(dp->l, PW_MAP_ATTACH);
	err = pw_mw_open_bpf(dp->l, &dp->mw);
	if (err) {
		dlog(dp, PW_DLOG_ERR, "cannot open the policy maps: %s", strerror(-err));
		goto fail;
	}
	err = pw_nl_open(1, &dp->nl);
	if (err) {
		dlog(dp, PW_DLOG_ERR, "cannot open netlink: %s", strerror(-err));
		goto fail;
	}
	*ret = dp;
	return 0;
fail:
	pw_dp_close(dp);
	return err;
}

void pw_dp_close(struct pw_dp *dp)
{
	if (!dp)
		return;
	pw_nl_close(dp->nl);
	pw_mw_free(dp->mw);
	pw_loader_close(dp->l);
	for (size_t i = 0; i < dp->n_uplinks; i++)
		free(dp->uplinks[i]);
	free(dp->uplinks);
	free(dp->local);
	free(dp->how);
	free(dp->host);
	free(dp->attached);
	free(dp->node_name);
	free(dp);
}

int pw_dp_uninstall(const char *bpffs, void (*log)(int level, const char *fmt, ...))
{
	return pw_uninstall(bpffs, log);
}

struct pw_loader *pw_dp_loader(struct pw_dp *dp)
{
	return dp->l;
}

int pw_dp_netlink_fd(const struct pw_dp *dp)
{
	return pw_nl_fd(dp->nl);
}

/*
 * A bridged pod stays local while its veth exists, even when its neighbour
 * entry vanished (a bridge whose MAC changes flushes its neighbours) or its
 * FDB entry aged out: detaching would leave it unenforced until it talks
 * again.  pw_nl_resolve() has asked the kernel to resolve it meanwhile.  It
 * stops being local when the veth goes (or stops being a veth) or the pod
 * leaves the policy (its address is no longer asked about).
 */
static int kept_bridged(struct pw_dp *dp, const union pw_addr *a, uint32_t *ret_ifindex)
{
	char kind[32];

	for (size_t k = 0; k < dp->n_local; k++) {
		if (memcmp(&dp->local[k].addr, a, sizeof(*a)) ||
		    (dp->how[k] != PW_NL_BRIDGE_FDB && dp->how[k] != PW_NL_BRIDGE_KEPT))
			continue;
		if (pw_nl_link_kind(dp->nl, (int)dp->local[k].ifindex, kind, sizeof(kind)) ||
		    strcmp(kind, "veth"))
			return 0;
		*ret_ifindex = dp->local[k].ifindex;
		return 1;
	}
	return 0;
}

/* Which image addresses are local, and the node's addresses. */
static int resolve(struct pw_dp *dp, struct pw_mw_local **ret_local, enum pw_nl_how **ret_how,
		   size_t *ret_n, union pw_addr **ret_host, size_t *ret_nh)
{
	const struct pw_image *img = dp->img;
	size_t n = img ? img->n_eps : 0, k = 0, m = 0;
	union pw_addr *addrs = calloc(n + 1, sizeof(*addrs));
	const char **names = calloc(n + 1, sizeof(*names));
	uint32_t *ifx = calloc(n + 1, sizeof(*ifx));
	enum pw_nl_how *how = calloc(n + 1, sizeof(*how));
	struct pw_mw_local *local = calloc(n + 1, sizeof(*local));
	enum pw_nl_how *lhow = calloc(n + 1, sizeof(*lhow));
	int err = -ENOMEM;

	if (!addrs || !names || !ifx || !how || !local || !lhow)
		goto out;
	/* only candidates are resolved (and, on a bridge, solicited) */
	for (size_t i = 0; i < n; i++) {
		const struct pw_img_pod *pod = img->pods && img->eps[i].pod < img->n_pods
						       ? &img->pods[img->eps[i].pod]
						       : NULL;

		if (dp->node_name && pod && pod->node_name && strcmp(pod->node_name, dp->node_name))
			continue; /* scheduled on another node */
		addrs[m] = img->eps[i].addr;
		names[m++] = pod ? pod->iface : NULL;
	}
	n = m;
	err = pw_nl_resolve(dp->nl, addrs, names, n, ifx, how);
	if (err)
		goto out;
	for (size_t i = 0; i < n; i++)
		if (!ifx[i] && kept_bridged(dp, &addrs[i], &ifx[i]))
			how[i] = PW_NL_BRIDGE_KEPT;
	for (size_t i = 0; i < n; i++) {
		if (!ifx[i])
			continue;
		local[k].addr = addrs[i];
		local[k].ifindex = ifx[i];
		lhow[k++] = how[i];
	}
	err = pw_nl_host_addrs(dp->nl, ret_host, ret_nh);
	if (err)
		goto out;
	*ret_local = local;
	*ret_how = lhow;
	*ret_n = k;
	local = NULL;
	lhow = NULL;
out:
	free(addrs);
	free(names);
	free(ifx);
	free(how);
	free(local);
	free(lhow);
	return err;
}

static int in_local(const struct pw_mw_local *l, size_t n, uint32_t ifindex)
{
	for (size_t i = 0; i < n; i++)
		if (l[i].ifindex == ifindex)
			return 1;
	return 0;
}

static int attach_pod(struct pw_dp *dp, uint32_t ifindex)
{
	int from = pw_loader_prog_fd(dp->l, dp->hook_xdp ? "pw_xdp_from_pod" : "pw_from_pod");
	int to = pw_loader_prog_fd(dp->l, "pw_to_pod");
	int others = 0, err;
	char name[IF_NAMESIZE] = "?";

	if_indextoname(ifindex, name);
	if (from < 0 || to < 0) {
		dlog(dp, PW_DLOG_ERR, "the datapath object lacks %s or pw_to_pod",
		     dp->hook_xdp ? "pw_xdp_from_pod" : "pw_from_pod");
		return -ENOENT;
	}
	/* to-pod first: the pod's ingress policy holds before it can send */
	err = pw_attach_hook(dp->rec_fd, ifindex, PW_ATT_TC_EGRESS, to, 0, &others);
	if (err)
		goto fail;
	if (others > 0)
		dlog(dp, PW_DLOG_WARN, "%s: %d other filter(s) on tc egress (left alone)", name,
		     others);
	err = pw_attach_hook(dp->rec_fd, ifindex, dp->hook_xdp ? PW_ATT_XDP : PW_ATT_TC_INGRESS,
			     from, 0, &others);
	if (err)
		goto fail;
	if (others > 0)
		dlog(dp, PW_DLOG_WARN, "%s: %d other filter(s) on tc ingress (left alone)", name,
		     others);
	/* the hook switched (tc <-> xdp): remove the other one, after the new one is on */
	err = pw_detach_hook(dp->rec_fd, ifindex, dp->hook_xdp ? PW_ATT_TC_INGRESS : PW_ATT_XDP);
	if (err)
		goto fail;
	return 0;
fail:
	dlog(dp, PW_DLOG_ERR, "%s: cannot attach: %s", name, strerror(-err));
	return err;
}

static void attach_uplinks(struct pw_dp *dp)
{
	static const struct {
		const char *prog;
		enum pw_att_hook hook;
	} up[] = { { "pw_uplink_ingress", PW_ATT_TC_INGRESS },
		   { "pw_uplink_egress", PW_ATT_TC_EGRESS },
		   { "pw_xdp_uplink", PW_ATT_XDP } };

	for (size_t i = 0; i < dp->n_uplinks; i++) {
		int ifx = if_nametoindex(dp->uplinks[i]);

		if (!ifx) {
			dlog(dp, PW_DLOG_WARN, "uplink %s does not exist (yet)", dp->uplinks[i]);
			continue;
		}
		for (size_t j = 0; j < sizeof(up) / sizeof(up[0]); j++) {
			int fd = pw_loader_prog_fd(dp->l, up[j].prog), err;

			if (fd < 0)
				continue; /* this datapath build has no such program */
			err = pw_attach_hook(dp->rec_fd, ifx, up[j].hook, fd, PW_ATT_F_UPLINK,
					     NULL);
			if (err)
				dlog(dp, PW_DLOG_ERR, "uplink %s: cannot attach %s: %s",
				     dp->uplinks[i], up[j].prog, strerror(-err));
		}
	}
}

/* Detach pod veths that no longer serve a local pod (record-driven, so
 * veths left over from before a restart are found too). */
static int detach_unused(struct pw_dp *dp)
{
	struct pw_att_key k, next;
	uint32_t gone[256];
	size_t n = 0;
	int err, first = 0, more = 0;

	err = bpf_map_get_next_key(dp->rec_fd, NULL, &next);
	while (!err) {
		struct pw_att_val v;

		k = next;
		if (!bpf_map_lookup_elem(dp->rec_fd, &k, &v) && !(v.flags & PW_ATT_F_UPLINK) &&
		    !in_local(dp->local, dp->n_local, k.ifindex)) {
			int dup = 0;

			for (size_t i = 0; i < n; i++)
				dup |= gone[i] == k.ifindex;
			if (!dup && n < 256)
				gone[n++] = k.ifindex;
			else if (!dup)
				more = 1;
		}
		err = bpf_map_get_next_key(dp->rec_fd, &k, &next);
	}
	for (size_t i = 0; i < n; i++) {
		err = pw_detach_ifindex(dp->rec_fd, gone[i]);
		if (err && !first)
			first = err;
	}
	return first ? first : (more ? detach_unused(dp) : 0);
}

static int same_view(const struct pw_dp *dp, const struct pw_mw_local *l, size_t n,
		     const union pw_addr *h, size_t nh)
{
	return n == dp->n_local && nh == dp->n_host && !memcmp(l, dp->local, n * sizeof(*l)) &&
	       !memcmp(h, dp->host, nh * sizeof(*h));
}

static uint64_t dp_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void pw_dp_last_timing(const struct pw_dp *dp, struct pw_dp_timing *ret)
{
	*ret = dp->timing;
}

static int sync(struct pw_dp *dp, int force, int *ret_changed)
{
	struct pw_mw_local *local = NULL;
	enum pw_nl_how *how = NULL;
	union pw_addr *host = NULL;
	size_t n = 0, nh = 0;
	struct pw_mw_view view;
	int err, changed = 0;

	uint64_t t0 = dp_mono_ns(), t1;

	dp->timing = (struct pw_dp_timing){ 0 };
	err = resolve(dp, &local, &how, &n, &host, &nh);
	dp->timing.resolve_ns = dp_mono_ns() - t0;
	if (err) {
		dlog(dp, PW_DLOG_ERR, "interface discovery failed: %s", strerror(-err));
		return err;
	}
	if (force || !same_view(dp, local, n, host, nh)) {
		view = (struct pw_mw_view){
			local, n, host, nh, dp->state_flags, .defer_grace = true
		};
		if (dp->img) {
			err = pw_mw_apply(dp->mw, dp->img, &view, &dp->last);
			dp->last_err = err;
			if (err) {
				dlog(dp, PW_DLOG_ERR, "writing the policy maps failed: %s",
				     strerror(-err));
				goto out;
			}
			changed = 1;
		}
		free(dp->local);
		free(dp->how);
		free(dp->host);
		dp->local = local;
		dp->how = how;
		dp->n_local = n;
		dp->host = host;
		dp->n_host = nh;
		local = NULL;
		how = NULL;
		host = NULL;
	} else {
		/* same interfaces, but how each was found may differ (bridge-kept) */
		free(dp->how);
		dp->how = how;
		how = NULL;
	}
	t1 = dp_mono_ns();
	/* Attach after the maps hold the pods' policy. */
	for (size_t i = 0; dp->img && i < dp->n_local; i++) {
		uint32_t ifx = dp->local[i].ifindex;
		int seen = 0;

		for (size_t j = 0; j < dp->n_attached; j++)
			seen |= dp->attached[j] == ifx;
		if (seen)
			continue;
		if (attach_pod(dp, ifx))
			continue; /* logged; retried on the next event or apply */
		uint32_t *na = realloc(dp->attached, (dp->n_attached + 1) * sizeof(*na));
		if (!na) {
			err = -ENOMEM;
			goto out;
		}
		dp->attached = na;
		dp->attached[dp->n_attached++] = ifx;
	}
	/* The grace period after the epoch store: new veths are attached (with
	 * their policy in force) before it, not after. */
	if (changed) {
		uint64_t g;
		int gerr = pw_mw_settle(dp->mw, &g);

		if (gerr)
			dlog(dp, PW_DLOG_WARN, "grace period: %s", strerror(-gerr));
		else
			dp->last.grace_ns = g;
	}
	/* forget attachments of interfaces that are no longer local */
	for (size_t j = 0; j < dp->n_attached;) {
		if (!in_local(dp->local, dp->n_local, dp->attached[j]))
			dp->attached[j] = dp->attached[--dp->n_attached];
		else
			j++;
	}
	err = detach_unused(dp);
	if (err)
		dlog(dp, PW_DLOG_WARN, "detaching unused interfaces: %s", strerror(-err));
	pw_attach_forget_stale(dp->rec_fd, NULL);
	attach_uplinks(dp);
	dp->timing.attach_ns = dp_mono_ns() - t1 - (changed ? dp->last.grace_ns : 0);
	if (changed) {
		dp->timing.write_ns = dp->last.write_ns;
		dp->timing.grace_ns = dp->last.grace_ns;
	}
	err = 0;
	if (ret_changed)
		*ret_changed = changed;
out:
	free(local);
	free(how);
	free(host);
	return err;
}

int pw_dp_apply(struct pw_dp *dp, const struct pw_image *img)
{
	dp->img = img;
	return sync(dp, 1, NULL);
}

int pw_dp_on_netlink(struct pw_dp *dp, int *ret_changed)
{
	struct pw_nl_changes c;
	int err = pw_nl_process(dp->nl, &c);

	if (err)
		return err;
	if (ret_changed)
		*ret_changed = 0;
	if (!c.mask)
		return 0;
	if (c.mask & PW_NL_LINK_REMOVED) {
		/* a vanished veth's filters went with it; an ifindex may come back */
		for (uint32_t i = 0; i < c.n_removed && i < PW_NL_MAX_LINKS_REPORTED; i++)
			for (size_t j = 0; j < dp->n_attached; j++)
				if (dp->attached[j] == c.removed[i])
					dp->attached[j] = dp->attached[--dp->n_attached];
	}
	return sync(dp, 0, ret_changed);
}

size_t pw_dp_solicit_pending(const struct pw_dp *dp)
{
	return pw_nl_solicit_pending(dp->nl);
}

int pw_dp_solicit_due_ms(const struct pw_dp *dp)
{
	return pw_nl_solicit_due_ms(dp->nl);
}

int pw_dp_resync(struct pw_dp *dp, int *ret_changed)
{
	if (ret_changed)
		*ret_changed = 0;
	return sync(dp, 0, ret_changed);
}

int pw_dp_status(struct pw_dp *dp, json_t **ret)
{
	static const char *kn[PW_MW__KINDS] = { "endpoints", "interfaces", "prefixes",
						"policy",    "ranges",	   "hosts" };
	static const enum pw_map_id ids[PW_MW__KINDS] = { PW_MAP_EP,  PW_MAP_IF,    PW_MAP_PEER,
							  PW_MAP_POL, PW_MAP_RANGE, PW_MAP_HOST };
	uint64_t epoch = pw_mw_epoch(dp->mw);
	json_t *o = json_object(), *ent = json_object(), *max = json_object(), *ifs = json_array();
	json_t *upd = json_object();

	if (!o || !ent || !max || !ifs || !upd) {
		json_decref(o);
		json_decref(ent);
		json_decref(max);
		json_decref(ifs);
		json_decref(upd);
		return -ENOMEM;
	}
	json_object_set_new(o, "bpffs", json_string(pw_loader_dir(dp->l)));
	json_object_set_new(o, "mode",
			    json_string(dp->state_flags & PW_STATE_AUDIT ? "audit" : "enforce"));
	json_object_set_new(o, "hook", json_string(dp->hook_xdp ? "xdp" : "tc"));
	json_object_set_new(o, "epoch", json_integer(epoch));
	json_object_set_new(o, "enforcing",
			    json_boolean(pw_loader_state(dp->l)->flags & PW_STATE_ENFORCING));
	json_object_set_new(o, "adopted", json_boolean(pw_loader_adopted(dp->l)));
	json_object_set_new(o, "migrated", json_boolean(pw_loader_migrated(dp->l)));
	for (int k = 0; k < PW_MW__KINDS; k++) {
		json_object_set_new(ent, kn[k], json_integer(pw_mw_count(dp->mw, k, epoch & 1)));
		json_object_set_new(max, kn[k], json_integer(pw_loader_map_max(dp->l, ids[k])));
		json_object_set_new(upd, kn[k],
				    json_integer(dp->last.updated[k] + dp->last.removed[k]));
	}
	json_object_set_new(o, "entries", ent);
	json_object_set_new(o, "max_entries", max);
	json_object_set_new(upd, "write_ms", json_real(dp->last.write_ns / 1e6));
	json_object_set_new(upd, "grace_ms", json_real(dp->last.grace_ns / 1e6));
	json_object_set_new(upd, "error",
			    dp->last_err ? json_string(strerror(-dp->last_err)) : json_null());
	json_object_set_new(o, "last_update", upd);
	json_object_set_new(o, "neighbour_solicits", json_integer(pw_nl_solicits(dp->nl)));
	json_object_set_new(o, "node_name",
			    dp->node_name ? json_string(dp->node_name) : json_null());
	for (size_t i = 0; i < dp->n_local; i++) {
		uint32_t ifx = dp->local[i].ifindex;
		char name[IF_NAMESIZE] = "";
		json_t *e, *hooks;
		int dup = 0, in = 0, eg = 0;

		for (size_t j = 0; j < i; j++)
			dup |= dp->local[j].ifindex == ifx;
		if (dup)
			continue;
		e = json_object();
		hooks = json_array();
		if_indextoname(ifx, name);
		json_object_set_new(e, "ifindex", json_integer(ifx));
		json_object_set_new(e, "name", json_string(name));
		json_object_set_new(e, "how", json_string(pw_nl_how_name(dp->how[i])));
		for (int h = PW_ATT_TC_INGRESS; h <= PW_ATT_XDP; h++) {
			__u32 id = 0;

			if (!pw_attach_query(ifx, h, &id) && id)
				json_array_append_new(hooks, json_string(pw_att_hook_name(h)));
		}
		json_object_set_new(e, "hooks", hooks);
		pw_tc_count_others(ifx, PW_ATT_TC_INGRESS, &in);
		pw_tc_count_others(ifx, PW_ATT_TC_EGRESS, &eg);
		json_object_set_new(e, "other_filters", json_integer(in + eg));
		json_array_append_new(ifs, e);
	}
	json_object_set_new(o, "interfaces", ifs);
	*ret = o;
	return 0;
}
