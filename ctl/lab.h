/* SPDX-License-Identifier: MIT */
/*
 * The netns lab behind `podwallctl lab`: a description of the pods to build
 * (struct lab), how it is built and torn down (lab_net.c), its state file
 * (lab_state.c), the echo servers (lab_serve.c), the prober (lab_probe.c)
 * and the predicted verdicts (lab_predict.c).
 *
 * The lab keeps its own small pod description so that building and probing
 * do not depend on how the policy model is represented; lab_spec.c fills it
 * from the policy directory.
 */
#ifndef PODWALL_LAB_H
#define PODWALL_LAB_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define LAB_MAX_PODS 256
#define LAB_MAX_PORTS 64 /* container ports of one pod */
#define LAB_MAX_NSS 256 /* Kubernetes namespaces */
#define LAB_NAME_MAX 24 /* --name */
#define LAB_NETNS_MAX 48 /* netns names longer than this are hashed */
#define LAB_STATE_DIR "/run/podwall"

enum lab_topology {
	LAB_ROUTED = 0,
	LAB_BRIDGE = 1,
};

struct lab_port {
	uint16_t port; /* containerPort (and service port) */
	uint16_t svc_port; /* service port when it differs; 0 = same */
	uint8_t proto; /* IPPROTO_TCP / UDP / SCTP */
	char name[16]; /* IANA_SVC_NAME is at most 15 characters */
};

struct lab_pod {
	char ns[64];
	char name[254];
	char netns[LAB_NETNS_MAX + 1];
	char veth[16]; /* host side, in the node netns */
	bool has4, has6;
	bool alloc4, alloc6; /* address allocated by the lab, not from the YAML */
	struct in_addr a4;
	struct in6_addr a6;
	bool has_svc4, has_svc6;
	struct in_addr svc4;
	struct in6_addr svc6;
	struct lab_port ports[LAB_MAX_PORTS];
	int n_ports;
	pid_t server_pid; /* echo server, 0 = none */
	long long server_start; /* its start time (/proc/PID/stat field 22), 0 = unknown */
};

struct lab {
	char name[LAB_NAME_MAX + 1];
	char dir[4096]; /* policy directory, absolute */
	enum lab_topology topology;
	bool services;
	char node_ns[LAB_NETNS_MAX + 1];
	char status[16]; /* "building" until everything is up, then "up" */
	/* bridge topology: the pods' subnets and the bridge's gateway addresses */
	struct in_addr net4, gw4;
	int plen4;
	struct in6_addr net6, gw6;
	int plen6;
	bool has_net6;
	char (*k8s_ns)[64]; /* Kubernetes namespaces seen in the YAML */
	int n_k8s_ns;
	struct lab_pod *pods;
	int n_pods;
	/* the daemon, when the lab started one */
	pid_t daemon_pid;
	long long daemon_start;
	char daemon_path[4096];
	char bpffs[256];
	char socket[256];
	bool nft_table; /* the podwall_lab table was (being) created */
};

/* ---- lab_spec.c ---- */

/* Read Namespace and Pod objects (also inside List items) from the *.yaml /
 * *.yml files of dir into lab (pods, k8s_ns, dir).  Messages for skipped
 * pods go to stderr unless quiet.  0, or -errno with a message in err. */
int lab_spec_load(struct lab *lab, const char *dir, char *err, size_t errlen);
/* Give every pod its netns and veth names, bridge subnet, allocated
 * addresses and service addresses.  0 or -EINVAL with a message in err. */
int lab_spec_plan(struct lab *lab, char *err, size_t errlen);
void lab_free(struct lab *lab);
bool lab_name_valid(const char *name);
/* Copy with truncation; always terminated (len > 0).  Returns strlen(src). */
size_t lab_strlcpy(char *dst, const char *src, size_t len);
const char *lab_proto_name(uint8_t proto); /* "tcp", "udp", "sctp" */
int lab_proto_parse(const char *s, uint8_t *ret_proto);

/* ---- lab_state.c ---- */

int lab_state_path(const char *name, char *buf, size_t len);
/* The state as JSON (what the state file holds, and `lab up -j` prints). */
struct json_t;
struct json_t *lab_state_json(const struct lab *lab);
/* Write the state file atomically (tmp + rename). 0 or -errno. */
int lab_state_save(const struct lab *lab);
/* -ENOENT when there is no lab of that name. */
int lab_state_load(const char *name, struct lab *ret_lab, char *err, size_t errlen);
int lab_state_remove(const char *name);

/* ---- lab_net.c ---- */

/* Run argv (argv[0] looked up in PATH) inside netns ns ("" = current), stdin
 * from `input` when not NULL, output to stderr.  Returns the exit status,
 * or -errno when it could not run. */
int lab_run_in(const char *ns, const char *input, char *const argv[]);
/* Write a sysctl (path under /proc/sys) inside netns ns. */
int lab_sysctl_in(const char *ns, const char *path, const char *value);
bool lab_netns_exists(const char *ns);
/* Build namespaces, veths, addresses, routes (and the service table).
 * The state file must already list everything (lab_state_save) so that a
 * failure half-way can be undone by lab_net_down. */
int lab_net_up(struct lab *lab, char *err, size_t errlen);
/* Remove what lab_net_up built, by the names in lab (only those).  Returns
 * the number of namespaces that could not be removed. */
int lab_net_down(const struct lab *lab, bool verbose);
/* Does the kernel have SCTP sockets? */
bool lab_have_sctp(void);
/* Is pid still the process that was started at start_time? */
bool lab_pid_is(pid_t pid, long long start_time);
long long lab_pid_start_time(pid_t pid);

/* ---- lab_serve.c ---- */

/* `lab serve --netns NS --reply TEXT --port P/PROTO ...` (hidden). */
int lab_serve_main(int argc, char **argv);
/* Start the echo server of pod i (fork + exec of ourselves). */
int lab_serve_start(struct lab *lab, int i, char *err, size_t errlen);

/* ---- lab_probe.c ---- */

struct lab_probe_opts {
	const struct lab_port *ports; /* NULL: each destination's container ports */
	int n_ports;
	const bool *pods; /* NULL: every pod; else pods[i] selects lab->pods[i] (both ends) */
	bool services;
	int family; /* 4, 6 or 0 (both) */
	int timeout_ms;
	const char *html;
};

int lab_probe_run(const struct lab *lab, const struct lab_probe_opts *o);

/* ---- lab_predict.c ---- */

/*
 * Predicted verdicts for the pods of a lab.  lab_predict_open returns
 * -ENOTSUP (with the reason in err) when no evaluator is available; the
 * prober then reports predicted as null.
 */
struct lab_predict;
int lab_predict_open(const struct lab *lab, struct lab_predict **ret, char *err, size_t errlen);
/* 1 allow, 0 deny, -errno unknown.  family is 4 or 6. */
int lab_predict_flow(struct lab_predict *p, const struct lab_pod *src, const struct lab_pod *dst,
		     int family, uint8_t proto, uint16_t port);
void lab_predict_close(struct lab_predict *p);

#endif
