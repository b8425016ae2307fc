// SPDX-License-Identifier: MIT
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <inttypes.h>
#include <string.h>

#include "client.h"
#include "human.h"
#include "live.h"
#include "podwallctl.h"

int pw_daemon_ask(json_t *req, json_t **ret_reply)
{
	json_t *reply = NULL;
	const char *emsg;
	int err;

	if (!req)
		return pw_error(PW_EXIT_FAIL, "out of memory");
	err = pw_client_request(pw_socket_path, req, &reply);
	json_decref(req);
	if (pw_client_not_running(err))
		return PW_DAEMON_DOWN;
	if (err == -EACCES)
		return pw_error(PW_EXIT_FAIL,
				"cannot connect to podwalld at %s: permission denied "
				"(the socket is mode 0600: run as root)",
				pw_socket_path);
	if (err == -ETIMEDOUT)
		return pw_error(PW_EXIT_FAIL, "podwalld at %s did not answer within %d ms",
				pw_socket_path, PW_CLIENT_TIMEOUT_MS);
	if (err == -EPIPE)
		return pw_error(PW_EXIT_FAIL,
				"podwalld at %s closed the connection without a reply",
				pw_socket_path);
	if (err == -EPROTO)
		return pw_error(PW_EXIT_FAIL, "podwalld at %s sent a reply that is not JSON",
				pw_socket_path);
	if (err)
		return pw_error(PW_EXIT_FAIL, "cannot talk to podwalld at %s: %s", pw_socket_path,
				strerror(-err));
	emsg = pw_reply_error(reply);
	if (emsg) {
		err = pw_error(PW_EXIT_FAIL, "podwalld: %s", emsg);
		json_decref(reply);
		return err;
	}
	*ret_reply = reply;
	return 0;
}

void pw_note_fallback(void)
{
	if (!pw_json)
		fprintf(stderr, "podwalld is not running (no socket at %s); reading pinned maps\n",
			pw_socket_path);
}

int pw_open_pinned(struct pw_pinned **ret)
{
	int err = pw_pinned_open(pw_bpffs_dir, ret);

	if (!err)
		return 0;
	if (err == -ENOENT)
		return pw_error(PW_EXIT_FAIL,
				"podwalld is not running (no socket at %s) and no podwall maps are "
				"pinned under %s",
				pw_socket_path, pw_bpffs_dir);
	if (err == -EPROTO)
		return pw_error(PW_EXIT_FAIL,
				"maps pinned under %s have a different layout than this podwallctl "
				"(ABI version %d); use the podwallctl of the running podwall",
				pw_bpffs_dir, PW_ABI_VERSION);
	return pw_error(PW_EXIT_FAIL, "cannot open maps pinned under %s: %s", pw_bpffs_dir,
			strerror(-err));
}

int pw_need_daemon(const char *what)
{
	return pw_error(PW_EXIT_FAIL,
			"podwalld is not running (no socket at %s); %s needs the daemon: the "
			"pinned maps hold no pod or policy names",
			pw_socket_path, what);
}

const char *pw_jstr(const json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

long long pw_jint(const json_t *o, const char *key, long long dflt)
{
	json_t *v = json_object_get(o, key);

	if (json_is_integer(v))
		return json_integer_value(v);
	if (json_is_real(v))
		return (long long)json_real_value(v);
	return dflt;
}

void pw_jtext(const json_t *v, char *buf, size_t len)
{
	size_t off = 0;
	size_t i;
	json_t *e;

	if (!len)
		return;
	buf[0] = 0;
	if (!v) {
		snprintf(buf, len, "-");
		return;
	}
	switch (json_typeof(v)) {
	case JSON_STRING:
		snprintf(buf, len, "%s", json_string_value(v));
		return;
	case JSON_INTEGER:
		snprintf(buf, len, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return;
	case JSON_REAL:
		snprintf(buf, len, "%g", json_real_value(v));
		return;
	case JSON_TRUE:
		snprintf(buf, len, "yes");
		return;
	case JSON_FALSE:
		snprintf(buf, len, "no");
		return;
	case JSON_ARRAY:
		if (!json_array_size(v)) {
			snprintf(buf, len, "-");
			return;
		}
		json_array_foreach(v, i, e)
		{
			char t[256];

			pw_jtext(e, t, sizeof(t));
			off += snprintf(buf + off, off < len ? len - off : 0, "%s%s", i ? "," : "",
					t);
		}
		return;
	case JSON_OBJECT: {
		char *s = json_dumps(v, JSON_COMPACT);

		snprintf(buf, len, "%s", s ? s : "?");
		free(s);
		return;
	}
	default:
		snprintf(buf, len, "-");
	}
}

static bool is_object_array(const json_t *v)
{
	return json_is_array(v) && json_array_size(v) && json_is_object(json_array_get(v, 0));
}

static void render_table(const json_t *arr, FILE *f, int indent)
{
	const char *cols[PW_TABLE_MAX_COLS];
	char hdr[PW_TABLE_MAX_COLS][64];
	int ncols = 0;
	struct pw_table *t;
	size_t i;
	json_t *row;

	/* columns: the union of scalar-ish keys, in first-seen order */
	json_array_foreach(arr, i, row)
	{
		const char *k;
		json_t *v;

		json_object_foreach((json_t *)row, k, v)
		{
			bool seen = false;

			for (int c = 0; c < ncols; c++)
				seen |= !strcmp(cols[c], k);
			if (!seen && ncols < PW_TABLE_MAX_COLS)
				cols[ncols++] = k;
		}
	}
	for (int c = 0; c < ncols; c++) {
		size_t j;

		for (j = 0; cols[c][j] && j < sizeof(hdr[c]) - 1; j++)
			hdr[c][j] =
				cols[c][j] == '_' ? ' ' : (char)toupper((unsigned char)cols[c][j]);
		hdr[c][j] = 0;
	}
	t = pw_table_new(ncols, hdr[0], hdr[1], hdr[2], hdr[3], hdr[4], hdr[5], hdr[6], hdr[7],
			 hdr[8], hdr[9], hdr[10], hdr[11]);
	if (!t)
		return;
	json_array_foreach(arr, i, row)
	{
		for (int c = 0; c < ncols; c++) {
			char b[512];
			json_t *v = json_object_get(row, cols[c]);

			if (v)
				pw_jtext(v, b, sizeof(b));
			else
				snprintf(b, sizeof(b), "-");
			pw_table_cell(t,
				      json_is_string(v) ? pw_verdict_color(json_string_value(v))
							: NULL,
				      "%*s%s", c ? 0 : indent, "", b);
		}
	}
	pw_table_print(t, f);
	pw_table_free(t);
}

void pw_render_generic(const json_t *v, FILE *f, int indent)
{
	const char *k;
	json_t *e;
	size_t w = 0;

	if (is_object_array(v)) {
		render_table(v, f, indent);
		return;
	}
	if (!json_is_object(v)) {
		char b[1024];

		pw_jtext(v, b, sizeof(b));
		fprintf(f, "%*s%s\n", indent, "", b);
		return;
	}
	json_object_foreach((json_t *)v, k, e) if (!json_is_object(e) && !is_object_array(e) &&
						   strlen(k) > w) w = strlen(k);
	json_object_foreach((json_t *)v, k, e)
	{
		char b[1024];

		if (json_is_object(e) || is_object_array(e))
			continue;
		pw_jtext(e, b, sizeof(b));
		fprintf(f, "%*s%s:%*s %s\n", indent, "", k, (int)(w - strlen(k)), "", b);
	}
	json_object_foreach((json_t *)v, k, e)
	{
		if (!json_is_object(e) && !is_object_array(e))
			continue;
		fprintf(f, "\n%*s%s:\n", indent, "", k);
		pw_render_generic(e, f, indent + 2);
	}
}

int pw_live_show(const struct pw_live_view *v, json_t *req)
{
	struct pw_pinned *p = NULL;
	json_t *reply = NULL, *o;
	int r, err = 0;

	r = pw_daemon_ask(req, &reply);
	if (r == 0) {
		if (pw_json) {
			if (v->tag_source && json_is_object(reply) &&
			    !json_object_get(reply, "source"))
				json_object_set_new(reply, "source", json_string("daemon"));
			pw_json_print(reply);
		} else {
			v->print_daemon(reply);
			json_decref(reply);
		}
		return PW_EXIT_OK;
	}
	if (r != PW_DAEMON_DOWN)
		return r;
	pw_note_fallback();
	r = pw_open_pinned(&p);
	if (r)
		return r;
	o = v->from_pins(p, &err);
	pw_pinned_close(p);
	if (!o)
		return pw_error(PW_EXIT_FAIL, "%s: reading pinned maps under %s: %s", v->what,
				pw_bpffs_dir, strerror(-err));
	if (pw_json) {
		pw_json_print(o);
	} else {
		v->print_pinned(o);
		json_decref(o);
	}
	return PW_EXIT_OK;
}
