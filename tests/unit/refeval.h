/* SPDX-License-Identifier: MIT */
/* Reference evaluator: Kubernetes NetworkPolicy semantics read straight off
 * the model, deliberately simple and independent of the compiler. */
#ifndef PODWALL_REFEVAL_H
#define PODWALL_REFEVAL_H

#include "podwall/model.h"

struct ref_side {
	bool isolated;
	bool allowed;
	bool audit; /* denied, but every isolating policy is an audit policy */
};

/* src/dst are addresses; an address of an endpoint pod is that pod. */
void ref_decide(const struct pw_model *m, const union pw_addr *src, const union pw_addr *dst,
		uint8_t proto, uint16_t port, struct ref_side *egress, struct ref_side *ingress);

#endif
