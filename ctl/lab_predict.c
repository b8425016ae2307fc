// SPDX-License-Identifier: MIT
/*
 * Predicted verdicts for `lab probe`.  The policy evaluator (the compiled
 * image and pw_eval_flow) is not on this branch yet: until it is, there is
 * no prediction and the prober reports predicted as null.
 */
#include <errno.h>
#include <stdio.h>

#include "lab.h"

int lab_predict_open(const struct lab *lab, struct lab_predict **ret, char *err, size_t errlen)
{
	(void)lab;
	(void)ret;
	snprintf(err, errlen, "this podwallctl was built without the policy evaluator");
	return -ENOTSUP;
}

int lab_predict_flow(struct lab_predict *p, const struct lab_pod *src, const struct lab_pod *dst,
		     int family, uint8_t proto, uint16_t port)
{
	(void)p;
	(void)src;
	(void)dst;
	(void)family;
	(void)proto;
	(void)port;
	return -ENOTSUP;
}

void lab_predict_close(struct lab_predict *p)
{
	(void)p;
}
