// SPDX-License-Identifier: MIT
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "human.h"
#include "podwallctl.h"

static void human(uint64_t v, unsigned int base, char *buf, size_t len)
{
	static const char units[] = "KMGTPE";
	double d = (double)v;
	int u = -1;

	if (v < base) {
		snprintf(buf, len, "%" PRIu64, v);
		return;
	}
	while (d >= base && u < (int)sizeof(units) - 2) {
		d /= base;
		u++;
	}
	if (d < 10)
		snprintf(buf, len, "%.1f%c", d, units[u]);
	else
		snprintf(buf, len, "%.0f%c", d, units[u]);
}

void pw_human_count(uint64_t v, char *buf, size_t len)
{
	human(v, 1000, buf, len);
}

void pw_human_bytes(uint64_t v, char *buf, size_t len)
{
	human(v, 1024, buf, len);
}

const char *pw_verdict_color(const char *verdict)
{
	if (!pw_color || !verdict)
		return NULL;
	if (!strcmp(verdict, "drop") || !strcmp(verdict, "deny"))
		return PW_C_RED;
	if (!strcmp(verdict, "allow"))
		return PW_C_GREEN;
	if (!strcmp(verdict, "audit"))
		return PW_C_YELLOW;
	return NULL;
}

/* ---- tables -------------------------------------------------------------- */

struct pw_cell {
	char *text;
	const char *color;
};

struct pw_table {
	int ncols;
	size_t ncells, cap;
	struct pw_cell *cells; /* row-major, header row first */
};

static int table_push(struct pw_table *t, const char *color, char *text)
{
	if (t->ncells / t->ncols >= PW_TABLE_MAX_ROWS) {
		free(text);
		return -E2BIG;
	}
	if (t->ncells == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		struct pw_cell *c = realloc(t->cells, cap * sizeof(*c));

		if (!c) {
			free(text);
			return -ENOMEM;
		}
		t->cells = c;
		t->cap = cap;
	}
	t->cells[t->ncells].text = text;
	t->cells[t->ncells].color = color;
	t->ncells++;
	return 0;
}

struct pw_table *pw_table_new(int ncols, ...)
{
	struct pw_table *t;
	va_list ap;

	if (ncols < 1 || ncols > PW_TABLE_MAX_COLS)
		return NULL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->ncols = ncols;
	va_start(ap, ncols);
	for (int i = 0; i < ncols; i++) {
		char *h = strdup(va_arg(ap, const char *));

		if (!h || table_push(t, NULL, h)) {
			va_end(ap);
			pw_table_free(t);
			return NULL;
		}
	}
	va_end(ap);
	return t;
}

int pw_table_cell(struct pw_table *t, const char *color, const char *fmt, ...)
{
	char *s;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -ENOMEM;
	return table_push(t, color, s);
}

size_t pw_table_rows(const struct pw_table *t)
{
	return t->ncells / t->ncols - 1;
}

void pw_table_print(const struct pw_table *t, FILE *f)
{
	size_t w[PW_TABLE_MAX_COLS] = { 0 };
	size_t i;

	for (i = 0; i < t->ncells; i++) {
		size_t l = strlen(t->cells[i].text);

		if (l > w[i % t->ncols])
			w[i % t->ncols] = l;
	}
	for (i = 0; i < t->ncells; i++) {
		int col = i % t->ncols;
		const struct pw_cell *c = &t->cells[i];
		bool last = col == t->ncols - 1 || i == t->ncells - 1;

		if (i < (size_t)t->ncols && pw_color)
			fputs(PW_C_BOLD, f);
		else if (c->color && pw_color)
			fputs(c->color, f);
		fputs(c->text, f);
		if ((i < (size_t)t->ncols || c->color) && pw_color)
			fputs(PW_C_OFF, f);
		if (last) {
			fputc('\n', f);
		} else {
			/* two spaces between columns; no trailing blanks */
			fprintf(f, "%*s", (int)(w[col] - strlen(c->text) + 2), "");
		}
	}
}

void pw_table_free(struct pw_table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->ncells; i++)
		free(t->cells[i].text);
	free(t->cells);
	free(t);
}

/* ---- time ---------------------------------------------------------------- */

static int parse_digits(const char **p, int n, int *ret)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)**p))
			return -EINVAL;
		v = v * 10 + (**p - '0');
		(*p)++;
	}
	*ret = v;
	return 0;
}

int pw_parse_rfc3339(const char *s, int64_t *ret_ns)
{
	const char *p = s;
	struct tm tm = { 0 };
	int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0;
	int64_t frac = 0, secs;
	int fdigits = 0;

	if (parse_digits(&p, 4, &y) || *p++ != '-' || parse_digits(&p, 2, &mo) || *p++ != '-' ||
	    parse_digits(&p, 2, &d))
		return -EINVAL;
	if (*p != 'T' && *p != 't' && *p != ' ')
		return -EINVAL;
	p++;
	if (parse_digits(&p, 2, &h) || *p++ != ':' || parse_digits(&p, 2, &mi) || *p++ != ':' ||
	    parse_digits(&p, 2, &sec))
		return -EINVAL;
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			return -EINVAL;
		while (isdigit((unsigned char)*p)) {
			if (fdigits < 9) {
				frac = frac * 10 + (*p - '0');
				fdigits++;
			}
			p++;
		}
		while (fdigits < 9) {
			frac *= 10;
			fdigits++;
		}
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p == '+' ? 1 : -1;
		p++;
		if (parse_digits(&p, 2, &oh) || *p++ != ':' || parse_digits(&p, 2, &om))
			return -EINVAL;
	} else {
		return -EINVAL;
	}
	if (*p)
		return -EINVAL;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60 || oh > 23 ||
	    om > 59)
		return -EINVAL;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	secs = timegm(&tm);
	secs -= sign * (oh * 3600 + om * 60);
	*ret_ns = secs * 1000000000LL + frac;
	return 0;
}

void pw_format_rfc3339(int64_t ns, char *buf, size_t len)
{
	time_t t = (time_t)(ns / 1000000000LL);
	struct tm tm;
	char b[32];

	gmtime_r(&t, &tm);
	strftime(b, sizeof(b), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%03dZ", b, (int)((ns % 1000000000LL) / 1000000));
}

int pw_parse_since(const char *s, int64_t now, int64_t *ret_ns)
{
	char *end;
	unsigned long long v;
	int64_t mult;

	if (!s || !*s)
		return -EINVAL;
	if (isdigit((unsigned char)s[0]) && strlen(s) >= 10 && s[4] == '-')
		return pw_parse_rfc3339(s, ret_ns);
	if (!isdigit((unsigned char)s[0]))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -EINVAL;
	if (!strcmp(end, "s") || !*end)
		mult = 1;
	else if (!strcmp(end, "m"))
		mult = 60;
	else if (!strcmp(end, "h"))
		mult = 3600;
	else if (!strcmp(end, "d"))
		mult = 86400;
	else
		return -EINVAL;
	if (v > (unsigned long long)(INT64_MAX / 1000000000LL / mult))
		return -ERANGE;
	*ret_ns = (now - (int64_t)v * mult) * 1000000000LL;
	return 0;
}

/* ---- options ------------------------------------------------------------- */

bool pw_wants_help(int argc, char **argv)
{
	return argc > 0 &&
	       (!strcmp(argv[0], "help") || !strcmp(argv[0], "-h") || !strcmp(argv[0], "--help"));
}

int pw_parse_u32(const char *s, uint32_t max, uint32_t *ret)
{
	char *end;
	unsigned long v;

	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > max)
		return -EINVAL;
	*ret = (uint32_t)v;
	return 0;
}

#define PW_MAX_OPTS 16

int pw_opts_parse(const char *cmd, const struct pw_opt *opts, int argc, char **argv,
		  const char **ret_pos, int max_pos, int *ret_npos)
{
	struct option lo[PW_MAX_OPTS + 1];
	char shorts[2 * PW_MAX_OPTS + 3] = "-:";
	char *av[argc + 2];
	int n = 0, npos = 0, c, idx;
	size_t sl = 2;

	memset(lo, 0, sizeof(lo));
	for (n = 0; n < PW_MAX_OPTS && opts[n].name; n++) {
		lo[n].name = opts[n].name;
		lo[n].has_arg = opts[n].has_arg ? required_argument : no_argument;
		lo[n].flag = NULL;
		lo[n].val = 256 + n;
		if (opts[n].short_name) {
			shorts[sl++] = opts[n].short_name;
			if (opts[n].has_arg)
				shorts[sl++] = ':';
		}
	}
	shorts[sl] = 0;
	av[0] = (char *)cmd;
	for (int i = 0; i < argc; i++)
		av[i + 1] = argv[i];
	av[argc + 1] = NULL;

	optind = 0; /* full reinitialisation (GNU) */
	opterr = 0;
	while ((c = getopt_long(argc + 1, av, shorts, lo, &idx)) != -1) {
		int which = -1;

		if (c == 1) {
			if (npos >= max_pos) {
				pw_error(PW_EXIT_USAGE, "%s: unexpected argument '%s'", cmd,
					 optarg);
				return -EINVAL;
			}
			ret_pos[npos++] = optarg;
			continue;
		}
		if (c == '?') {
			if (optopt)
				pw_error(PW_EXIT_USAGE, "%s: unknown option '-%c'", cmd, optopt);
			else
				pw_error(PW_EXIT_USAGE, "%s: unknown or ambiguous option '%s'", cmd,
					 av[optind - 1]);
			return -EINVAL;
		}
		if (c == ':') {
			pw_error(PW_EXIT_USAGE, "%s: option '%s' needs an argument", cmd,
				 av[optind - 1]);
			return -EINVAL;
		}
		if (c >= 256) {
			which = c - 256;
		} else {
			for (int i = 0; i < n; i++)
				if (opts[i].short_name == c)
					which = i;
		}
		if (which < 0)
			return -EINVAL;
		*opts[which].ret_val = opts[which].has_arg ? optarg : "";
	}
	if (ret_npos)
		*ret_npos = npos;
	return 0;
}
