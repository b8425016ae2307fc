// SPDX-License-Identifier: MIT
/*
 * podwallctl status: mode, hook, generation, counts, map fill, attach state
 * per veth and the last reload error — from podwalld, or from the pinned
 * maps (without names, the hook setting or reload errors) when it is down.
 */
#include <errno.h>
#include <inttypes.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "human.h"
#include "live.h"
#include "pinned.h"
#include "podwallctl.h"

static void status_help(void)
{
	printf("Usage: podwallctl status\n"
	       "\n"
	       "Show podwalld's mode, hook, policy generation, endpoint/policy/entry counts,\n"
	       "map fill, attach state per interface and the last reload error.  Without a\n"
	       "running podwalld, what the pinned maps under --bpffs hold is shown.\n");
}

static const char *hook_name(uint32_t hook)
{
	return hook == 0 ? "tc-ingress" : hook == 1 ? "tc-egress" : hook == 2 ? "xdp" : "?";
}

/* The pinned view; also used by `metrics` for map fill. */
static json_t *pinned_status(struct pw_pinned *p, int *ret_err)
{
	struct pw_pinned_fill fill[PW_PINNED_NMAPS];
	struct pw_pinned_ep *eps = NULL;
	struct pw_pinned_set *sets = NULL;
	struct pw_pinned_att *att = NULL;
	size_t neps = 0, nsets = 0, natt = 0, nlocal = 0;
	struct pw_state st;
	uint32_t entries = 0, slot;
	json_t *o, *maps, *ifs;
	int err;

	err = pw_pinned_state(p, &st);
	if (err) {
		*ret_err = err;
		return NULL;
	}
	slot = st.epoch & 1;
	err = pw_pinned_fill(p, fill);
	if (!err)
		err = pw_pinned_endpoints(p, slot, &eps, &neps);
	if (!err)
		err = pw_pinned_sets(p, slot, &sets, &nsets);
	if (err) {
		free(eps);
		*ret_err = err;
		return NULL;
	}
	if (pw_pinned_attachments(p, &att, &natt))
		natt = 0;
	for (size_t i = 0; i < neps; i++)
		nlocal += !!(eps[i].val.flags & PW_EP_LOCAL);
	for (size_t i = 0; i < nsets; i++)
		entries += sets[i].entries;
	o = json_pack("{s:s, s:b, s:s, s:s, s:I, s:i, s:i, s:b, s:i, s:i, s:i, s:i}", "source",
		      "pinned", "daemon", 0, "bpffs", pw_bpffs_dir, "mode",
		      st.flags & PW_STATE_AUDIT ? "audit" : "enforce", "generation",
		      (json_int_t)st.epoch, "slot", (int)slot, "abi_version", (int)st.abi_version,
		      "enforcing", !!(st.flags & PW_STATE_ENFORCING), "endpoints", (int)neps,
		      "local_endpoints", (int)nlocal, "policy_sets", (int)nsets, "entries",
		      (int)entries);
	maps = json_array();
	for (int i = 0; i < PW_PINNED_NMAPS; i++) {
		json_t *m;

		if (!fill[i].present)
			continue;
		m = json_pack("{s:s, s:i}", "name", fill[i].name, "max_entries",
			      (int)fill[i].max_entries);
		if (fill[i].countable)
			json_object_set_new(m, "entries", json_integer(fill[i].entries));
		json_array_append_new(maps, m);
	}
	json_object_set_new(o, "maps", maps);
	ifs = json_array();
	for (size_t i = 0; i < natt; i++) {
		char name[IF_NAMESIZE] = "";
		bool exists = if_indextoname(att[i].key.ifindex, name) != NULL;

		json_array_append_new(ifs, json_pack("{s:s, s:i, s:s, s:i, s:b, s:b}", "interface",
						     exists ? name : att[i].val.ifname, "ifindex",
						     (int)att[i].key.ifindex, "hook",
						     hook_name(att[i].key.hook), "prog_id",
						     (int)att[i].val.prog_id, "uplink",
						     !!(att[i].val.flags & 2), "present", exists));
	}
	json_object_set_new(o, "attachments", ifs);
	json_object_set_new(o, "unavailable",
			    json_string("policy names, the hook setting and the last reload "
					"error are known only to podwalld"));
	free(eps);
	free(sets);
	free(att);
	return o;
}

static void print_pinned_status(const json_t *o)
{
	struct pw_table *t;
	size_t i;
	json_t *m;

	printf("source:      pinned maps under %s (podwalld not running)\n", pw_jstr(o, "bpffs"));
	printf("mode:        %s%s\n", pw_jstr(o, "mode"),
	       json_is_true(json_object_get(o, "enforcing"))
		       ? ""
		       : " (no policy written yet: all traffic passes)");
	printf("generation:  %lld (slot %lld)\n", pw_jint(o, "generation", 0),
	       pw_jint(o, "slot", 0));
	printf("endpoints:   %lld (%lld local)\n", pw_jint(o, "endpoints", 0),
	       pw_jint(o, "local_endpoints", 0));
	printf("policies:    %lld policy sets, %lld entries (names need podwalld)\n",
	       pw_jint(o, "policy_sets", 0), pw_jint(o, "entries", 0));
	printf("\n");
	t = pw_table_new(4, "MAP", "ENTRIES", "MAX", "FILL");
	json_array_foreach(json_object_get(o, "maps"), i, m)
	{
		long long e = pw_jint(m, "entries", -1), max = pw_jint(m, "max_entries", 0);

		pw_table_cell(t, NULL, "%s", pw_jstr(m, "name"));
		if (e < 0) {
			pw_table_cell(t, NULL, "-");
			pw_table_cell(t, NULL, "%lld", max);
			pw_table_cell(t, NULL, "-");
		} else {
			pw_table_cell(t, NULL, "%lld", e);
			pw_table_cell(t, NULL, "%lld", max);
			pw_table_cell(t, max && e * 10 >= max * 9 ? PW_C_RED : NULL, "%.1f%%",
				      max ? 100.0 * e / max : 0.0);
		}
	}
	pw_table_print(t, stdout);
	pw_table_free(t);
	printf("\n");
	if (!json_array_size(json_object_get(o, "attachments"))) {
		printf("attachments: none recorded\n");
		return;
	}
	t = pw_table_new(5, "INTERFACE", "IFINDEX", "HOOK", "PROG", "STATE");
	json_array_foreach(json_object_get(o, "attachments"), i, m)
	{
		bool present = json_is_true(json_object_get(m, "present"));

		pw_table_cell(t, NULL, "%s", pw_jstr(m, "interface"));
		pw_table_cell(t, NULL, "%lld", pw_jint(m, "ifindex", 0));
		pw_table_cell(t, NULL, "%s", pw_jstr(m, "hook"));
		pw_table_cell(t, NULL, "%lld", pw_jint(m, "prog_id", 0));
		pw_table_cell(t, present ? PW_C_GREEN : PW_C_YELLOW, "%s",
			      present ? "attached" : "interface gone (stale)");
	}
	pw_table_print(t, stdout);
	pw_table_free(t);
}

static void print_daemon_status(const json_t *reply)
{
	pw_render_generic(reply, stdout, 0);
}

int do_status(int argc, char **argv)
{
	static const struct pw_live_view view = {
		.what = "status",
		.print_daemon = print_daemon_status,
		.from_pins = pinned_status,
		.print_pinned = print_pinned_status,
		.tag_source = true,
	};

	if (pw_wants_help(argc, argv)) {
		status_help();
		return PW_EXIT_OK;
	}
	if (argc > 0 && !pw_is_prefix(argv[0], "show"))
		return pw_error(PW_EXIT_USAGE, "status: unexpected argument '%s'", argv[0]);
	return pw_live_show(&view, json_pack("{s:s}", "cmd", "status"));
}
