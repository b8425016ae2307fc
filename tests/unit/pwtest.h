/* SPDX-License-Identifier: MIT */
/* Test helpers: YAML text -> model -> image -> evaluator, and verdict
 * queries by pod name.  #include after cmocka.h. */
#ifndef PODWALL_PWTEST_H
#define PODWALL_PWTEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval.h"
#include "policy_compile.h"
#include "podwall/model.h"

struct pwt {
	struct pw_model *m;
	struct pw_image *img;
	struct pw_eval_backend be;
	struct pw_diags diags;
};

static inline int pwt_load(struct pwt *t, const char *yaml, const struct pw_compile_opts *opts)
{
	int r;

	memset(t, 0, sizeof(*t));
	pw_diags_init(&t->diags);
	r = pw_model_load_buffer("test.yaml", yaml, strlen(yaml), NULL, &t->m, &t->diags);
	if (r) {
		pw_diags_print(&t->diags, stderr, false);
		return r;
	}
	r = pw_compile(t->m, opts, &t->img, &t->diags);
	if (r) {
		pw_diags_print(&t->diags, stderr, false);
		return r;
	}
	return pw_eval_image_open(t->img, &t->be);
}

static inline void pwt_free(struct pwt *t)
{
	pw_eval_image_close(&t->be);
	pw_image_free(t->img);
	pw_model_free(t->m);
	pw_diags_free(&t->diags);
}

/* "ns/pod" (first address) or an address literal. */
static inline union pw_addr pwt_addr(struct pwt *t, const char *who)
{
	union pw_addr a = {};
	const struct pw_pod *p;
	char ns[128];
	const char *slash = strchr(who, '/');

	if (!slash || strchr(who, ':') || pw_addr_parse(who, &a, NULL) == 0) {
		if (pw_addr_parse(who, &a, NULL))
			fprintf(stderr, "bad address %s\n", who);
		return a;
	}
	snprintf(ns, sizeof(ns), "%.*s", (int)(slash - who), who);
	p = pw_model_pod(t->m, ns, slash + 1);
	if (!p || !p->n_addrs) {
		fprintf(stderr, "no pod %s\n", who);
		abort();
	}
	return p->addrs[0];
}

static inline struct pw_flow_result pwt_flow(struct pwt *t, const char *src, const char *dst,
					     uint16_t port, uint8_t proto)
{
	struct pw_flow_result res;
	union pw_addr s = pwt_addr(t, src), d = pwt_addr(t, dst);

	pw_eval_flow(&t->be, &s, &d, proto, port, &res);
	return res;
}

/* 1 allowed (or audited), 0 denied */
static inline int pwt_ok(struct pwt *t, const char *src, const char *dst, uint16_t port,
			 uint8_t proto)
{
	return pwt_flow(t, src, dst, port, proto).verdict != PW_VERDICT_DROP;
}

#endif
