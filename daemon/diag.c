// SPDX-License-Identifier: MIT
/* Diagnostics: collected by the parser and compiler, printed as
 * file:line:col: severity: object: field: message. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "podwall/model.h"

void pw_diags_init(struct pw_diags *d)
{
	memset(d, 0, sizeof(*d));
}

void pw_diags_free(struct pw_diags *d)
{
	size_t i;

	if (!d)
		return;
	for (i = 0; i < d->n; i++) {
		free(d->v[i].file);
		free(d->v[i].object);
		free(d->v[i].field);
		free(d->v[i].msg);
	}
	free(d->v);
	d->v = NULL;
	d->n = d->cap = 0;
	d->n_errors = d->n_warnings = 0;
}

int pw_diag_add(struct pw_diags *d, enum pw_severity sev, const struct pw_pos *pos,
		const char *object, const char *field, const char *fmt, ...)
{
	struct pw_diag dg = { .sev = sev };
	size_t max = d->max ? d->max : 1000;
	va_list ap;
	int r;

	if (sev == PW_SEV_ERROR)
		d->n_errors++;
	else
		d->n_warnings++;
	if (d->n >= max)
		return 0;
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 16;
		struct pw_diag *v = realloc(d->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		d->v = v;
		d->cap = cap;
	}
	va_start(ap, fmt);
	r = vasprintf(&dg.msg, fmt, ap);
	va_end(ap);
	if (r < 0)
		return -ENOMEM;
	if (pos && pos->file) {
		dg.file = strdup(pos->file);
		dg.line = pos->line;
		dg.col = pos->col;
	}
	if (object)
		dg.object = strdup(object);
	if (field)
		dg.field = strdup(field);
	if ((pos && pos->file && !dg.file) || (object && !dg.object) || (field && !dg.field)) {
		free(dg.file);
		free(dg.object);
		free(dg.field);
		free(dg.msg);
		return -ENOMEM;
	}
	d->v[d->n++] = dg;
	return 0;
}

static char *format(const struct pw_diag *dg, bool color)
{
	char *s = NULL, loc[512] = "";
	const char *sev = dg->sev == PW_SEV_ERROR ? "error" : "warning";
	const char *c0 = "", *c1 = "";

	if (color) {
		c0 = dg->sev == PW_SEV_ERROR ? "\033[1;31m" : "\033[1;35m";
		c1 = "\033[0m";
	}
	if (dg->file && dg->line)
		snprintf(loc, sizeof(loc), "%s:%d:%d: ", dg->file, dg->line, dg->col);
	else if (dg->file)
		snprintf(loc, sizeof(loc), "%s: ", dg->file);
	if (asprintf(&s, "%s%s%s%s: %s%s%s%s%s", loc, c0, sev, c1, dg->object ? dg->object : "",
		     dg->object ? ": " : "", dg->field ? dg->field : "", dg->field ? ": " : "",
		     dg->msg) < 0)
		return NULL;
	return s;
}

char *pw_diag_format(const struct pw_diag *dg)
{
	return format(dg, false);
}

void pw_diags_print(const struct pw_diags *d, FILE *f, bool color)
{
	size_t i, max = d->max ? d->max : 1000;

	for (i = 0; i < d->n; i++) {
		char *s = format(&d->v[i], color);

		if (s) {
			fprintf(f, "%s\n", s);
			free(s);
		}
	}
	if (d->n_errors + d->n_warnings > d->n && d->n >= max)
		fprintf(f, "(%zu more diagnostics not shown)\n",
			d->n_errors + d->n_warnings - d->n);
}
