// SPDX-License-Identifier: MIT
/*
 * `policy list` and `policy show NS/NAME`: the policies in force with their
 * compiled rules and entry counts, from podwalld.  ctl/cmd_policy.c's
 * command table calls cmd_policy_list() and cmd_policy_show().  Without the
 * daemon, `list` shows the policy sets and entry counts the pinned maps
 * hold (there are no policy names in the maps) and `show` fails plainly.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "human.h"
#include "live.h"
#include "pinned.h"
#include "cmd_policy_live.h"
#include "podwallctl.h"

static void print_policies(const json_t *reply)
{
	const json_t *arr = json_is_array(reply) ? reply : json_object_get(reply, "policies");
	struct pw_table *t;
	size_t i;
	json_t *e;

	if (!json_is_array(arr)) {
		pw_render_generic(reply, stdout, 0);
		return;
	}
	t = pw_table_new(7, "POLICY", "TYPES", "INGRESS RULES", "EGRESS RULES", "SELECTS",
			 "ENTRIES", "MODE");
	json_array_foreach(arr, i, e)
	{
		char b[512];
		const char *ns = pw_jstr(e, "ns") ? pw_jstr(e, "ns") : pw_jstr(e, "namespace");
		const json_t *types = json_object_get(e, "types");

		if (!types)
			types = json_object_get(e, "policy_types");
		if (ns && pw_jstr(e, "name"))
			snprintf(b, sizeof(b), "%s/%s", ns, pw_jstr(e, "name"));
		else
			pw_jtext(json_object_get(e, "name"), b, sizeof(b));
		pw_table_cell(t, NULL, "%s", b);
		pw_jtext(types, b, sizeof(b));
		pw_table_cell(t, NULL, "%s", types ? b : "-");
		pw_table_cell(t, NULL, "%lld", pw_jint(e, "ingress_rules", 0));
		pw_table_cell(t, NULL, "%lld", pw_jint(e, "egress_rules", 0));
		pw_table_cell(t, NULL, "%lld pods",
			      pw_jint(e, "selected_pods", pw_jint(e, "selected", 0)));
		pw_table_cell(t, NULL, "%lld", pw_jint(e, "entries", pw_jint(e, "n_entries", 0)));
		pw_table_cell(t, json_is_true(json_object_get(e, "audit")) ? PW_C_YELLOW : NULL,
			      "%s",
			      json_is_true(json_object_get(e, "audit")) ? "audit" : "enforce");
	}
	if (pw_table_rows(t))
		pw_table_print(t, stdout);
	else
		printf("no policies\n");
	pw_table_free(t);
}

static int pinned_policy_list(void)
{
	struct pw_pinned *p;
	struct pw_pinned_set *sets = NULL;
	struct pw_state st;
	size_t n = 0;
	int r, err;

	pw_note_fallback();
	r = pw_open_pinned(&p);
	if (r)
		return r;
	err = pw_pinned_state(p, &st);
	if (!err)
		err = pw_pinned_sets(p, st.epoch & 1, &sets, &n);
	pw_pinned_close(p);
	if (err)
		return pw_error(PW_EXIT_FAIL, "policy list: reading pinned maps under %s: %s",
				pw_bpffs_dir, strerror(-err));
	if (pw_json) {
		json_t *arr = json_array();

		for (size_t i = 0; i < n; i++)
			json_array_append_new(arr,
					      json_pack("{s:i, s:i}", "set_id", (int)sets[i].set_id,
							"entries", (int)sets[i].entries));
		pw_json_print(json_pack("{s:s, s:b, s:I, s:n, s:o, s:s}", "source", "pinned",
					"daemon", 0, "generation", (json_int_t)st.epoch, "policies",
					"policy_sets", arr, "unavailable",
					"policy names and rules are known only to podwalld"));
	} else {
		struct pw_table *t = pw_table_new(2, "POLICY SET", "ENTRIES");

		printf("policy names and rules are known only to podwalld; the pinned maps of "
		       "generation %llu hold:\n\n",
		       (unsigned long long)st.epoch);
		for (size_t i = 0; i < n; i++) {
			pw_table_cell(t, NULL, "%u", sets[i].set_id);
			pw_table_cell(t, NULL, "%u", sets[i].entries);
		}
		if (n)
			pw_table_print(t, stdout);
		else
			printf("no policy entries (no pod is isolated)\n");
		pw_table_free(t);
	}
	free(sets);
	return PW_EXIT_OK;
}

int cmd_policy_list(int argc, char **argv)
{
	json_t *reply = NULL;
	int r;

	if (pw_wants_help(argc, argv)) {
		printf("Usage: podwallctl policy list\n\n"
		       "Policies in force with their types, rule and entry counts.\n");
		return PW_EXIT_OK;
	}
	if (argc > 0)
		return pw_error(PW_EXIT_USAGE, "policy list: unexpected argument '%s'", argv[0]);
	r = pw_daemon_ask(json_pack("{s:s}", "cmd", "policies"), &reply);
	if (r == PW_DAEMON_DOWN)
		return pinned_policy_list();
	if (r)
		return r;
	if (pw_json) {
		pw_json_print(reply);
	} else {
		print_policies(reply);
		json_decref(reply);
	}
	return PW_EXIT_OK;
}

static void print_policy(const json_t *reply)
{
	const json_t *pol = json_object_get(reply, "policy");
	const json_t *rules;
	size_t i;
	json_t *e;

	if (!json_is_object(pol))
		pol = reply;
	rules = json_object_get(pol, "rules");
	if (!json_is_array(rules)) {
		pw_render_generic(pol, stdout, 0);
		return;
	}
	{
		json_t *head = json_deep_copy(pol);

		json_object_del(head, "rules");
		pw_render_generic(head, stdout, 0);
		json_decref(head);
	}
	printf("\nrules:\n");
	json_array_foreach(rules, i, e)
	{
		char b[1024];
		const char *dir = pw_jstr(e, "dir") ? pw_jstr(e, "dir") : pw_jstr(e, "direction");

		pw_jtext(json_object_get(e, "text"), b, sizeof(b));
		printf("  %-3lld %-8s [%lld] %s  (%lld entries)\n", pw_jint(e, "id", 0),
		       dir ? dir : "-", pw_jint(e, "index", 0), b, pw_jint(e, "entries", 0));
	}
}

int cmd_policy_show(int argc, char **argv)
{
	json_t *reply = NULL;
	char ns[256], *slash;
	int r;

	if (pw_wants_help(argc, argv)) {
		printf("Usage: podwallctl policy show NAMESPACE/NAME\n\n"
		       "One policy in force with its compiled rules and entry counts.\n");
		return PW_EXIT_OK;
	}
	if (argc != 1)
		return pw_error(PW_EXIT_USAGE, "policy show: expected NAMESPACE/NAME");
	slash = strchr(argv[0], '/');
	if (!slash || slash == argv[0] || !slash[1] || strchr(slash + 1, '/') ||
	    (size_t)(slash - argv[0]) >= sizeof(ns))
		return pw_error(PW_EXIT_USAGE, "policy show: '%s' is not NAMESPACE/NAME", argv[0]);
	snprintf(ns, sizeof(ns), "%.*s", (int)(slash - argv[0]), argv[0]);
	r = pw_daemon_ask(
		json_pack("{s:s, s:s, s:s}", "cmd", "policy", "ns", ns, "name", slash + 1), &reply);
	if (r == PW_DAEMON_DOWN)
		return pw_need_daemon("policy show");
	if (r)
		return r;
	if (pw_json) {
		pw_json_print(reply);
	} else {
		print_policy(reply);
		json_decref(reply);
	}
	return PW_EXIT_OK;
}
