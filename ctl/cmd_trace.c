// SPDX-License-Identifier: MIT
/*
 * podwallctl trace SRC DST PORT/PROTO [--policy-dir DIR] [--audit]
 *
 * With --policy-dir the directory is compiled offline and the decision is
 * made by the evaluator over the image, with the datapath's own lookups
 * (decide.h).  Without it the live maps answer: the daemon decides over the
 * maps in force and names pods and rules from its image; when the daemon is
 * not running, the pinned maps answer for addresses (no names).
 * Both print the object of daemon/trace_json.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../daemon/eval.h"
#include "../daemon/eval_maps.h"
#include "../daemon/policy_compile.h"
#include "../daemon/trace_json.h"
#include "live.h"
#include "podwall/model.h"
#include "podwallctl.h"

static void trace_help(void)
{
	printf("Usage: podwallctl trace SRC DST PORT/PROTO [--policy-dir DIR] [--audit]\n"
	       "\n"
	       "  SRC, DST      NS/POD or an IP address (a pod's address is that pod)\n"
	       "  PORT/PROTO    destination port and tcp, udp or sctp (any case)\n"
	       "  --policy-dir  compile DIR offline and decide from it\n"
	       "  --audit       as if the daemon ran with --mode audit (with --policy-dir)\n"
	       "\n"
	       "Prints the combined verdict (egress at SRC and ingress at DST) and the\n"
	       "policy and rule that decide each side.  Without --policy-dir the live\n"
	       "maps decide (through podwalld, or the pinned maps when it is down).\n");
}

static void side_text(const char *what, const json_t *end, const json_t *sd)
{
	const char *pod = pw_jstr(end, "pod"), *reason = pw_jstr(sd, "reason");
	const char *pol = pw_jstr(sd, "policy");
	bool allow = pw_jstr(sd, "verdict") && !strcmp(pw_jstr(sd, "verdict"), "allow");

	printf("  %-7s at %-24s %s", what, pod ? pod : "(not a pod)", allow ? "allow" : "deny");
	if (pol) {
		printf(" by NetworkPolicy %s %s[%lld]: %s\n", pol, what, pw_jint(sd, "rule", 0),
		       pw_jstr(sd, "rule_text") ? pw_jstr(sd, "rule_text") : "");
		return;
	}
	if (!reason)
		reason = "?";
	if (!strcmp(reason, "not-isolated")) {
		printf(" (no policy isolates it)\n");
	} else if (!strcmp(reason, "none")) {
		printf(" (no policy of its own)\n");
	} else if (!strcmp(reason, "host")) {
		printf(" (the node is always allowed)\n");
	} else if (!strcmp(reason, "policy-denied")) {
		const json_t *a = json_object_get(sd, "policies"), *v;
		size_t i;

		printf(": no rule of");
		for (i = 0; i < json_array_size(a); i++) {
			v = json_array_get(a, i);
			printf("%s %s", i ? "," : "", json_string_value(v));
		}
		if (!json_array_size(a))
			printf(" its policies");
		printf(" allows it%s\n",
		       json_is_true(json_object_get(sd, "audit")) ? " (audit: passed)" : "");
	} else {
		printf(" (%s)\n", reason);
	}
}

static void print_text(const json_t *o, const char *a0, const char *a1)
{
	const json_t *src = json_object_get(o, "src"), *dst = json_object_get(o, "dst");
	bool allow = !strcmp(pw_jstr(o, "verdict") ? pw_jstr(o, "verdict") : "", "allow");
	const char *c0 = "", *c1 = "", *proto = pw_jstr(o, "proto");
	char up[8] = "";

	if (pw_color) {
		c0 = allow ? "\033[1;32m" : "\033[1;31m";
		c1 = "\033[0m";
	}
	for (size_t i = 0; proto && proto[i] && i < sizeof(up) - 1; i++)
		up[i] = (char)(proto[i] >= 'a' && proto[i] <= 'z' ? proto[i] - 32 : proto[i]);
	printf("%s (%s) -> %s (%s) %s/%lld: %s%s%s%s\n", pw_jstr(src, "pod") ? a0 : "address",
	       pw_jstr(src, "address") ? pw_jstr(src, "address") : "?",
	       pw_jstr(dst, "pod") ? a1 : "address",
	       pw_jstr(dst, "address") ? pw_jstr(dst, "address") : "?", up, pw_jint(o, "port", 0),
	       c0, allow ? "ALLOW" : "DENY", c1,
	       json_is_true(json_object_get(o, "audit")) ? " (audit: would be dropped, passes)"
							 : "");
	side_text("egress", src, json_object_get(o, "egress"));
	side_text("ingress", dst, json_object_get(o, "ingress"));
}

static const char *proto_word(uint8_t proto)
{
	return proto == PW_PROTO_TCP ? "tcp" : proto == PW_PROTO_UDP ? "udp" : "sctp";
}

/* Daemon down: decide over the pinned maps; addresses only. */
static int trace_pinned(const char *s, const char *d, uint16_t port, uint8_t proto, json_t **ret)
{
	struct pw_trace_end src = { .pod = -1 }, dst = { .pod = -1 };
	struct pw_eval_maps *em = NULL;
	struct pw_flow_result res = { 0 };
	uint64_t epoch;
	int r;

	if (pw_addr_parse(s, &src.addr, NULL) || pw_addr_parse(d, &dst.addr, NULL))
		return pw_error(PW_EXIT_FAIL,
				"trace: podwalld is not running (no socket at %s): pod names need "
				"it; give addresses, or use --policy-dir DIR",
				pw_socket_path);
	r = pw_eval_maps_open(pw_bpffs_dir, &em);
	if (r)
		return pw_error(PW_EXIT_FAIL, "trace: podwalld is not running and %s: %s",
				pw_bpffs_dir,
				r == -ENOENT ? "nothing is installed there" : strerror(-r));
	r = pw_eval_maps_flow(em, &src.addr, &dst.addr, proto, port, &res.egress, &res.ingress,
			      &res.src_id, &res.dst_id, &res.verdict, &epoch);
	pw_eval_maps_close(em);
	if (r)
		return pw_error(PW_EXIT_FAIL, "trace: reading the pinned maps: %s", strerror(-r));
	*ret = pw_trace_json(NULL, &src, &dst, port, proto, &res);
	json_object_set_new(*ret, "source", json_string("pinned"));
	json_object_set_new(*ret, "epoch", json_integer((json_int_t)epoch));
	if (!pw_json)
		pw_note_fallback();
	return 0;
}

static int trace_live(const char *s, const char *d, uint16_t port, uint8_t proto, json_t **ret)
{
	json_t *req = json_pack("{s:s,s:s,s:s,s:i,s:s}", "cmd", "trace", "src", s, "dst", d, "port",
				port, "proto", proto_word(proto));
	int r;

	if (!req)
		return pw_error(PW_EXIT_FAIL, "trace: out of memory");
	r = pw_daemon_ask(req, ret);
	if (r == PW_DAEMON_DOWN)
		return trace_pinned(s, d, port, proto, ret);
	return r;
}

static int trace_offline(const char *dir, bool audit, const char *s, const char *d, uint16_t port,
			 uint8_t proto, json_t **ret)
{
	struct pw_diags diags;
	struct pw_model *m = NULL;
	struct pw_image *img = NULL;
	struct pw_eval_backend be = {};
	struct pw_flow_result res;
	struct pw_trace_end src, dst;
	char err[400];
	int ret_st = PW_EXIT_FAIL, r;

	pw_diags_init(&diags);
	r = pw_model_load_dir(dir, NULL, &m, &diags);
	if (!r)
		r = pw_compile(m, NULL, &img, &diags);
	if (r) {
		if (!pw_json)
			pw_diags_print(&diags, stderr, pw_color);
		if (diags.n_errors && diags.n) {
			char *first = pw_diag_format(&diags.v[0]);

			pw_error(PW_EXIT_FAIL, "%s: invalid policy directory (%zu errors): %s", dir,
				 diags.n_errors, first ? first : "");
			free(first);
		} else {
			pw_error(PW_EXIT_FAIL, "%s: %s", dir, strerror(-r));
		}
		goto out;
	}
	if ((r = pw_trace_resolve(img, s, &src, err, sizeof(err))) ||
	    (r = pw_trace_resolve(img, d, &dst, err, sizeof(err)))) {
		ret_st = pw_error(r == -EINVAL ? PW_EXIT_USAGE : PW_EXIT_FAIL, "trace: %s", err);
		goto out;
	}
	if (pw_eval_image_open(img, &be)) {
		pw_error(PW_EXIT_FAIL, "trace: out of memory");
		goto out;
	}
	be.state_flags = audit ? PW_STATE_AUDIT : 0;
	pw_eval_flow(&be, &src.addr, &dst.addr, proto, port, &res);
	pw_eval_image_close(&be);
	*ret = pw_trace_json(img, &src, &dst, port, proto, &res);
	ret_st = *ret ? PW_EXIT_OK : pw_error(PW_EXIT_FAIL, "trace: out of memory");
out:
	pw_image_free(img);
	pw_model_free(m);
	pw_diags_free(&diags);
	return ret_st;
}

int do_trace(int argc, char **argv)
{
	const char *dir = NULL, *pos[3];
	bool audit = false;
	int n_pos = 0, i, r;
	json_t *o = NULL;
	uint16_t port;
	uint8_t proto;

	for (i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "help") || !strcmp(argv[i], "-h") ||
		    !strcmp(argv[i], "--help")) {
			trace_help();
			return PW_EXIT_OK;
		} else if (!strcmp(argv[i], "--policy-dir") || !strcmp(argv[i], "-d")) {
			if (++i >= argc)
				return pw_error(PW_EXIT_USAGE,
						"trace: --policy-dir needs a directory");
			dir = argv[i];
		} else if (!strncmp(argv[i], "--policy-dir=", 13)) {
			dir = argv[i] + 13;
		} else if (!strcmp(argv[i], "--audit")) {
			audit = true;
		} else if (argv[i][0] == '-' && argv[i][1] && !strchr(argv[i], '/') &&
			   !strchr(argv[i], ':')) {
			return pw_error(PW_EXIT_USAGE, "trace: unknown option '%s'", argv[i]);
		} else if (n_pos < 3) {
			pos[n_pos++] = argv[i];
		} else {
			return pw_error(PW_EXIT_USAGE, "trace: unexpected argument '%s'", argv[i]);
		}
	}
	if (n_pos != 3)
		return pw_error(PW_EXIT_USAGE,
				"trace: usage: trace SRC DST PORT/PROTO [--policy-dir DIR]");
	if (pw_trace_parse_port(pos[2], &port, &proto))
		return pw_error(PW_EXIT_USAGE,
				"trace: bad PORT/PROTO '%s' (e.g. 8080/tcp, 53/udp, 80/sctp)",
				pos[2]);
	if (dir)
		r = trace_offline(dir, audit, pos[0], pos[1], port, proto, &o);
	else
		r = trace_live(pos[0], pos[1], port, proto, &o);
	if (r)
		return r;
	if (pw_json) {
		pw_json_print(o); /* takes o */
	} else {
		print_text(o, pos[0], pos[1]);
		json_decref(o);
	}
	return PW_EXIT_OK;
}
