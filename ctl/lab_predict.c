// SPDX-License-Identifier: MIT
/*
 * Predicted verdicts for `lab probe`: the same policy directory, parsed and
 * compiled as podwalld would, decided by the user-space evaluator over the
 * compiled image (pw_eval_flow, the decision compiled into the datapath).
 *
 * Pods the lab gave an address to (no status.podIP in the YAML) get that
 * address in the model before compiling, so the prediction covers them;
 * podwalld, which reads the YAML only, does not know them.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../daemon/eval.h"
#include "../daemon/policy_compile.h"
#include "lab.h"
#include "podwall/model.h"

struct lab_predict {
	struct pw_model *model;
	struct pw_image *img;
	struct pw_eval_backend be;
};

static int add_addr(struct pw_pod *p, int af, const void *a)
{
	char s[INET6_ADDRSTRLEN];
	union pw_addr addr, *v;
	bool v4;

	inet_ntop(af, a, s, sizeof(s));
	if (pw_addr_parse(s, &addr, &v4))
		return -EINVAL;
	for (size_t i = 0; i < p->n_addrs; i++)
		if (!memcmp(&p->addrs[i], &addr, sizeof(addr)))
			return 0;
	v = realloc(p->addrs, (p->n_addrs + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	v[p->n_addrs++] = addr;
	p->addrs = v;
	return 0;
}

int lab_predict_open(const struct lab *lab, struct lab_predict **ret, char *err, size_t errlen)
{
	struct lab_predict *p = calloc(1, sizeof(*p));
	struct pw_diags diags;
	int r;

	if (!p) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	pw_diags_init(&diags);
	r = pw_model_load_dir(lab->dir, NULL, &p->model, &diags);
	if (r) {
		char *first = diags.n ? pw_diag_format(&diags.v[0]) : NULL;

		snprintf(err, errlen, "%s does not load: %s", lab->dir,
			 first ? first : strerror(-r));
		free(first);
		goto fail;
	}
	for (int i = 0; i < lab->n_pods; i++) {
		const struct lab_pod *lp = &lab->pods[i];
		struct pw_pod *mp = (struct pw_pod *)pw_model_pod(p->model, lp->ns, lp->name);

		if (!mp)
			continue;
		if ((lp->alloc4 && (r = add_addr(mp, AF_INET, &lp->a4))) ||
		    (lp->alloc6 && (r = add_addr(mp, AF_INET6, &lp->a6)))) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
	}
	r = pw_compile(p->model, NULL, &p->img, &diags);
	if (r) {
		char *first = diags.n ? pw_diag_format(&diags.v[0]) : NULL;

		snprintf(err, errlen, "%s does not compile: %s", lab->dir,
			 first ? first : strerror(-r));
		free(first);
		goto fail;
	}
	r = pw_eval_image_open(p->img, &p->be);
	if (r) {
		snprintf(err, errlen, "evaluator: %s", strerror(-r));
		goto fail;
	}
	pw_diags_free(&diags);
	*ret = p;
	return 0;
fail:
	pw_diags_free(&diags);
	if (p->img)
		pw_image_free(p->img);
	pw_model_free(p->model);
	free(p);
	return r < 0 ? r : -EINVAL;
}

int lab_predict_flow(struct lab_predict *p, const struct lab_pod *src, const struct lab_pod *dst,
		     int family, uint8_t proto, uint16_t port)
{
	char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];
	union pw_addr sa, da;
	struct pw_flow_result res;
	bool v4;

	if (family == 4) {
		inet_ntop(AF_INET, &src->a4, s, sizeof(s));
		inet_ntop(AF_INET, &dst->a4, d, sizeof(d));
	} else {
		inet_ntop(AF_INET6, &src->a6, s, sizeof(s));
		inet_ntop(AF_INET6, &dst->a6, d, sizeof(d));
	}
	if (pw_addr_parse(s, &sa, &v4) || pw_addr_parse(d, &da, &v4))
		return -EINVAL;
	pw_eval_flow(&p->be, &sa, &da, proto, port, &res);
	/*
	 * What the probe will observe: an audit verdict is a denial that passes
	 * (the datapath lets it through and only logs it), so it predicts a
	 * connection; predicting "blocked" flagged every audited flow as a
	 * difference between the wire and the policies.
	 */
	return res.verdict == PW_VERDICT_ALLOW || res.verdict == PW_VERDICT_AUDIT;
}

void lab_predict_close(struct lab_predict *p)
{
	if (!p)
		return;
	pw_eval_image_close(&p->be);
	pw_image_free(p->img);
	pw_model_free(p->model);
	free(p);
}
