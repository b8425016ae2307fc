// SPDX-License-Identifier: MIT
/* podwallctl policy: check a policy directory offline (list/show: later). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../daemon/policy_compile.h"
#include "podwall/model.h"
#include "podwallctl.h"
#include "cmd_policy_live.h"

static void policy_help(void)
{
	printf("Usage: podwallctl policy { list | show NS/NAME | check DIR }\n"
	       "\n"
	       "  list        policies in force (from the daemon; policy sets from the\n"
	       "              pinned maps when it is not running)\n"
	       "  show NS/NAME  one policy with its compiled rules and entry counts\n"
	       "  check DIR   parse, validate and compile every *.yaml/*.yml of DIR;\n"
	       "              exit 0 when valid, 1 listing every error as file:line:col\n");
}

static json_t *diag_json(const struct pw_diag *d)
{
	json_t *o = json_object();

	json_object_set_new(o, "severity",
			    json_string(d->sev == PW_SEV_ERROR ? "error" : "warning"));
	json_object_set_new(o, "file", d->file ? json_string(d->file) : json_null());
	json_object_set_new(o, "line", json_integer(d->line));
	json_object_set_new(o, "col", json_integer(d->col));
	json_object_set_new(o, "object", d->object ? json_string(d->object) : json_null());
	json_object_set_new(o, "field", d->field ? json_string(d->field) : json_null());
	json_object_set_new(o, "message", json_string(d->msg));
	return o;
}

static int policy_check(int argc, char **argv)
{
	struct pw_diags diags;
	struct pw_model *m = NULL;
	struct pw_image *img = NULL;
	int r, ret;
	size_t i;

	if (argc != 1)
		return pw_error(PW_EXIT_USAGE,
				"policy check: expected one directory (policy check DIR)");
	pw_diags_init(&diags);
	r = pw_model_load_dir(argv[0], NULL, &m, &diags);
	if (!r)
		r = pw_compile(m, NULL, &img, &diags);
	ret = r ? PW_EXIT_FAIL : PW_EXIT_OK;
	if (pw_json) {
		json_t *o = json_object(), *errs = json_array(), *warns = json_array();

		for (i = 0; i < diags.n; i++)
			json_array_append_new(diags.v[i].sev == PW_SEV_ERROR ? errs : warns,
					      diag_json(&diags.v[i]));
		json_object_set_new(o, "valid", json_boolean(!r));
		if (r) {
			char *first =
				diags.n_errors && diags.n ? pw_diag_format(&diags.v[0]) : NULL;

			json_object_set_new(o, "error",
					    json_string(first ? first : strerror(r < 0 ? -r : r)));
			free(first);
		}
		json_object_set_new(o, "errors", errs);
		json_object_set_new(o, "warnings", warns);
		if (m) {
			json_object_set_new(o, "namespaces", json_integer((json_int_t)m->n_nss));
			json_object_set_new(o, "pods", json_integer((json_int_t)m->n_pods));
			json_object_set_new(o, "policies", json_integer((json_int_t)m->n_policies));
		}
		if (img) {
			json_object_set_new(o, "endpoints", json_integer((json_int_t)img->n_eps));
			json_object_set_new(o, "policy_sets",
					    json_integer((json_int_t)img->n_sets));
			json_object_set_new(o, "identities", json_integer((json_int_t)img->n_ids));
			json_object_set_new(o, "prefixes",
					    json_integer((json_int_t)img->n_prefixes));
			json_object_set_new(
				o, "entries",
				json_integer((json_int_t)(img->n_pols + img->n_ranges)));
		}
		pw_json_print(o);
	} else {
		pw_diags_print(&diags, stderr, pw_color);
		if (!r)
			printf("%s: valid: %zu namespaces, %zu pods, %zu policies -> %zu "
			       "endpoints, "
			       "%zu policy sets, %zu identities, %zu prefixes, %zu entries\n",
			       argv[0], m->n_nss, m->n_pods, m->n_policies, img->n_eps, img->n_sets,
			       img->n_ids, img->n_prefixes, img->n_pols + img->n_ranges);
		else if (diags.n_errors)
			fprintf(stderr, "%s: invalid: %zu error%s\n", argv[0], diags.n_errors,
				diags.n_errors == 1 ? "" : "s");
		else
			fprintf(stderr, "%s: %s\n", argv[0], strerror(-r));
	}
	pw_image_free(img);
	pw_model_free(m);
	pw_diags_free(&diags);
	return ret;
}

int do_policy(int argc, char **argv)
{
	static const struct pw_cmd cmds[] = {
		{ "list", cmd_policy_list,
		  "list        policies in force with their entry counts" },
		{ "show", cmd_policy_show, "show NS/NAME  one policy with its compiled rules" },
		{ "check", policy_check, "check DIR   validate a policy directory" },
		{ NULL, NULL, NULL },
	};

	return pw_cmd_select(cmds, argc, argv, "policy", policy_help);
}
