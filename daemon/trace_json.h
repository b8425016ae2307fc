/* SPDX-License-Identifier: MIT */
/*
 * The `trace` answer as JSON, shared by `podwallctl trace --policy-dir`
 * (decision over a compiled image) and the daemon's "trace" socket command
 * (decision over the live maps, explained with the image in force), so the
 * two print the same object (DESIGN.md, "Stable interfaces").
 */
#ifndef PODWALL_TRACE_JSON_H
#define PODWALL_TRACE_JSON_H

#include <jansson.h>
#include <stddef.h>

#include "eval.h"

struct pw_trace_end {
	union pw_addr addr;
	long pod; /* index in img->pods, -1 = not a pod */
};

/*
 * NS/POD or an address into *ret.  Returns 0; -EINVAL for text that is
 * neither (a usage error); -ENOENT for an unknown pod or one that is not an
 * endpoint.  err gets a one-line message on failure.
 */
int pw_trace_resolve(const struct pw_image *img, const char *arg, struct pw_trace_end *ret,
		     char *err, size_t errlen);

/* "8080/tcp", "53/UDP", "80" (TCP).  0 or -EINVAL. */
int pw_trace_parse_port(const char *s, uint16_t *ret_port, uint8_t *ret_proto);

/* The trace object: verdict, audit, src, dst, port, proto, egress, ingress. */
json_t *pw_trace_json(const struct pw_image *img, const struct pw_trace_end *src,
		      const struct pw_trace_end *dst, uint16_t port, uint8_t proto,
		      const struct pw_flow_result *res);

/* "ns/name" of pod i (malloc'd), or NULL. */
char *pw_trace_pod_name(const struct pw_image *img, long i);
/* The policies isolating pod `pod` in `dir`, as "ns/name" strings. */
json_t *pw_trace_isolating(const struct pw_image *img, long pod, int dir);

#endif
