/* SPDX-License-Identifier: MIT */
/*
 * The policy model: what daemon/policy_parse.c reads from a policy directory
 * (Kubernetes Namespace, Pod and networking.k8s.io/v1 NetworkPolicy objects)
 * after validation and defaulting, and what daemon/policy_compile.c compiles.
 *
 * Every node keeps where it came from (struct pw_pos) so errors found after
 * parsing (compiler limits, ...) still name file:line:col.
 *
 * Defaults are applied as the API server applies them:
 *  - policy types: [Ingress] plus Egress when spec.egress is present, unless
 *    spec.policyTypes is given (the egress-only trap is reproduced on purpose);
 *  - a port without protocol is TCP;
 *  - every namespace carries kubernetes.io/metadata.name=<name>; a namespace
 *    referenced by a pod or policy but not defined exists implicitly with only
 *    that label (pw_ns.defined == 0).
 *
 * Addresses use the datapath's layout (abi.h): IPv4 as ::ffff:a.b.c.d, prefix
 * lengths in the 128-bit space (an IPv4 /24 is a /120).
 */
#ifndef PODWALL_MODEL_H
#define PODWALL_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "podwall/abi.h"

/* ---- source positions and diagnostics ---- */

struct pw_pos {
	const char *file; /* owned by the model (pw_model.files) or the diags */
	int line; /* 1-based; 0 = unknown */
	int col; /* 1-based */
};

enum pw_severity {
	PW_SEV_WARNING = 0,
	PW_SEV_ERROR = 1,
};

struct pw_diag {
	enum pw_severity sev;
	char *file; /* may be NULL (no file: limits over the whole directory) */
	int line;
	int col;
	char *object; /* "Pod x/a", "NetworkPolicy x/deny", or NULL */
	char *field; /* "spec.ingress[0].ports[1].endPort", or NULL */
	char *msg;
};

struct pw_diags {
	struct pw_diag *v;
	size_t n;
	size_t cap;
	size_t n_errors;
	size_t n_warnings;
	size_t max; /* stop recording (but keep counting) beyond this; 0 = 1000 */
};

void pw_diags_init(struct pw_diags *d);
void pw_diags_free(struct pw_diags *d);
/* Record one diagnostic; pos may be NULL.  Returns 0 or -ENOMEM. */
int pw_diag_add(struct pw_diags *d, enum pw_severity sev, const struct pw_pos *pos,
		const char *object, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));
/* "file:line:col: error: Pod x/a: status.podIP: message" into a malloc'd string. */
char *pw_diag_format(const struct pw_diag *dg);
/* Print every diagnostic, one per line, in the format above. */
void pw_diags_print(const struct pw_diags *d, FILE *f, bool color);

/* ---- limits (every growable input has one; 0 in a field = default) ---- */

struct pw_limits {
	size_t max_file_bytes; /* one file (default 64 MiB) */
	size_t max_files; /* files in the directory (default 10000) */
	size_t max_objects; /* Namespace+Pod+NetworkPolicy objects (default 100000) */
	size_t max_rules; /* ingress+egress rules in one policy (default 1000) */
	size_t max_peers; /* peers in one rule (default 1000) */
	size_t max_ports; /* ports in one rule (default 1000) */
	size_t max_cidrs; /* ipBlock cidr+except entries over all policies (default 100000) */
	size_t max_labels; /* labels of one object or selector (default 256) */
	size_t max_exprs; /* matchExpressions of one selector, values of one
			     expression (default 256) */
	size_t max_addrs; /* addresses of one pod (default 16) */
	size_t max_cports; /* container ports of one pod (default 1024) */
	size_t max_nodes; /* YAML nodes visited in one file (default 10M; bounds alias bombs) */
};

/* Fill every 0 field of *l with its default. */
void pw_limits_fill(struct pw_limits *l);

/* ---- the objects ---- */

struct pw_label {
	char *key;
	char *value;
};

struct pw_labels {
	struct pw_label *v; /* sorted by key, keys unique */
	size_t n;
};

enum pw_sel_op {
	PW_SEL_IN = 0,
	PW_SEL_NOTIN,
	PW_SEL_EXISTS,
	PW_SEL_DOESNOTEXIST,
};

struct pw_sel_expr {
	char *key;
	enum pw_sel_op op;
	char **values; /* In/NotIn: >= 1 value; Exists/DoesNotExist: none */
	size_t n_values;
};

/* A label selector.  present == false: the field was absent (a peer
 * without podSelector); present with nothing in it: matches everything. */
struct pw_selector {
	bool present;
	struct pw_labels match_labels;
	struct pw_sel_expr *exprs;
	size_t n_exprs;
	struct pw_pos pos;
};

struct pw_cidr {
	union pw_addr addr; /* masked to plen */
	uint8_t plen; /* 0..128 in the IPv4-mapped space */
	bool v4;
	struct pw_pos pos;
};

struct pw_ipblock {
	bool present;
	struct pw_cidr cidr;
	struct pw_cidr *except; /* each a strict subset of cidr */
	size_t n_except;
};

/* One entry of from/to.  Exactly one of (pod_sel/ns_sel) or ipblock is used:
 * ipblock.present, or at least one selector present. */
struct pw_peer {
	struct pw_selector pod_sel;
	struct pw_selector ns_sel;
	struct pw_ipblock ipblock;
	struct pw_pos pos;
};

struct pw_port {
	uint8_t proto; /* PW_PROTO_TCP/UDP/SCTP (TCP when not given) */
	uint16_t port; /* 0 = every port of proto (no `port`) or named */
	char *name; /* named port, or NULL */
	uint16_t end_port; /* 0 = none; else >= port */
	struct pw_pos pos;
};

struct pw_rule {
	struct pw_peer *peers;
	size_t n_peers; /* 0 = every peer (from/to absent or empty) */
	struct pw_port *ports;
	size_t n_ports; /* 0 = every port and protocol */
	struct pw_pos pos;
};

struct pw_policy {
	char *ns;
	char *name;
	struct pw_pos pos; /* the object's start */
	struct pw_selector pod_sel; /* spec.podSelector (present; may be empty) */
	bool types[2]; /* effective policyTypes, indexed by PW_DIR_* */
	struct pw_rule *rules[2]; /* spec.ingress / spec.egress by PW_DIR_* */
	size_t n_rules[2];
	bool audit; /* metadata.annotations["podwall.io/audit"] == "true" */
};

struct pw_cport {
	char *name; /* NULL when unnamed */
	uint16_t port;
	uint8_t proto;
};

enum pw_phase {
	PW_PHASE_UNKNOWN = 0, /* absent or unrecognised (kept as text in phase_text) */
	PW_PHASE_PENDING,
	PW_PHASE_RUNNING,
	PW_PHASE_SUCCEEDED,
	PW_PHASE_FAILED,
};

struct pw_pod {
	char *ns;
	char *name;
	struct pw_pos pos;
	struct pw_labels labels;
	union pw_addr *addrs; /* status.podIP + status.podIPs, deduplicated */
	size_t n_addrs;
	struct pw_cport *cports; /* spec.containers[*].ports[*] (+ initContainers) */
	size_t n_cports;
	enum pw_phase phase;
	char *phase_text; /* status.phase as written, or NULL */
	bool host_network;
	char *node_name; /* spec.nodeName or NULL */
	char *iface; /* annotation podwall.io/interface or NULL */
};

struct pw_ns {
	char *name;
	struct pw_pos pos; /* line 0 when implicit */
	struct pw_labels labels; /* always includes kubernetes.io/metadata.name */
	bool defined; /* a Namespace object exists */
};

struct pw_model {
	char **files; /* every file name a pw_pos points to */
	size_t n_files;
	struct pw_ns **nss; /* sorted by name */
	size_t n_nss;
	struct pw_pod **pods; /* sorted by ns, name */
	size_t n_pods;
	struct pw_policy **policies; /* sorted by ns, name */
	size_t n_policies;
	bool borrowed; /* a merge view: objects belong to the parts */
};

/* ---- loading ---- */

/*
 * Parse and validate every *.yaml / *.yml file of `dir` (name order, not
 * recursive, hidden files skipped).  Returns 0 and *ret_model when there is
 * no error (warnings may be in diags); -EINVAL when the input has errors
 * (all in diags); another -errno for I/O or memory failures (also in
 * diags).  lim may be NULL (defaults).  diags must be initialised.
 */
int pw_model_load_dir(const char *dir, const struct pw_limits *lim, struct pw_model **ret_model,
		      struct pw_diags *diags);

/* The same for an explicit list of files, in the given order. */
int pw_model_load_files(const char *const *paths, size_t n, const struct pw_limits *lim,
			struct pw_model **ret_model, struct pw_diags *diags);

/* Parse one buffer as if it were file `name` (tests, fuzzing).  The result
 * is a complete model (implicit namespaces added, duplicates checked). */
int pw_model_load_buffer(const char *name, const char *buf, size_t len, const struct pw_limits *lim,
			 struct pw_model **ret_model, struct pw_diags *diags);

/*
 * Incremental reload: parse one file into a part (objects of that file
 * only, no implicit namespaces, no cross-file checks), then merge parts.
 * Keep the parts of unchanged files and re-parse only changed ones.
 */
int pw_model_parse_file(const char *path, const struct pw_limits *lim, struct pw_model **ret_part,
			struct pw_diags *diags);

/*
 * Merge parts into one model: checks duplicates across parts, adds implicit
 * namespaces, sorts.  The result borrows the parts' objects (model->borrowed):
 * the parts must outlive it, and pw_model_free() on it frees only its own
 * arrays and implicit namespaces.  Returns -EINVAL with diags on duplicates.
 */
int pw_model_merge(struct pw_model *const *parts, size_t n_parts, const struct pw_limits *lim,
		   struct pw_model **ret_model, struct pw_diags *diags);

void pw_model_free(struct pw_model *m);

/* ---- queries (used by the compiler, trace and the reference evaluator) ---- */

const struct pw_ns *pw_model_ns(const struct pw_model *m, const char *name);
const struct pw_pod *pw_model_pod(const struct pw_model *m, const char *ns, const char *name);
const char *pw_labels_get(const struct pw_labels *l, const char *key);
/* Does the selector match these labels?  An absent or empty selector matches. */
bool pw_selector_matches(const struct pw_selector *s, const struct pw_labels *l);
/* Is the pod an endpoint?  NULL if yes, else why not ("no IP", "hostNetwork", ...). */
const char *pw_pod_skip_reason(const struct pw_pod *p);
/* The port number a named port resolves to on pod p for proto, or 0. */
uint16_t pw_pod_named_port(const struct pw_pod *p, const char *name, uint8_t proto);
/* Is `a` inside cidr c? */
bool pw_cidr_contains(const struct pw_cidr *c, const union pw_addr *a);

/* ---- address helpers ---- */

/* Parse "10.0.0.1" or "fd00::1" into the mapped layout.  0 or -EINVAL. */
int pw_addr_parse(const char *s, union pw_addr *ret_addr, bool *ret_v4);
/* Parse "10.0.0.0/8" / "fd00::/64".  *ret_host_bits set when bits beyond the
 * prefix were set (the result is masked).  0 or -EINVAL. */
int pw_cidr_parse(const char *s, struct pw_cidr *ret_cidr, bool *ret_host_bits);
/* "10.0.0.1" / "fd00::1" into buf (>= 46 bytes). */
const char *pw_addr_str(const union pw_addr *a, char *buf, size_t len);
/* "10.0.0.0/8" (IPv4 prefixes printed in their own length) into buf (>= 50). */
const char *pw_cidr_str(const union pw_addr *a, uint8_t plen, char *buf, size_t len);
bool pw_addr_is_v4(const union pw_addr *a);

const char *pw_proto_name(uint8_t proto); /* "TCP", "UDP", "SCTP", "OTHER" */

#endif
