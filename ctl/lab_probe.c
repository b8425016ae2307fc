// SPDX-License-Identifier: MIT
/*
 * `lab probe`: every ordered pod pair and port, observed through the kernel
 * and compared with the verdict the policies predict.
 *
 * One child per source pod enters the pod's netns and runs all of that
 * pod's probes at once: nonblocking sockets and one poll loop, a short
 * timeout and one retry on a timeout (upstream retries too: the first packet
 * of a flow may wait for neighbour resolution).  TCP counts as connected
 * when connect() completes; UDP when a reply datagram comes back, so the
 * reply direction must be allowed too.  The pod-to-itself cell is never
 * probed: its traffic never leaves the pod (upstream ignores it as well).
 *
 * A refusal (TCP RST, ICMP port unreachable) is its own result: the packet
 * reached the destination pod and its answer came back, so the network
 * allowed the flow; only no server listened.  It is compared with the
 * prediction as reachable ("r" in the matrix), and counted apart from
 * "blocked" (timeout or error).  JSON keeps "observed" = connected and adds
 * "reachable" (connected or refused) next to "result".
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lab.h"
#include "podwallctl.h"

#define PROBE_INFLIGHT 128
#define PROBE_MAX (1u << 20)

enum probe_result {
	PR_UNKNOWN = 0,
	PR_CONNECTED,
	PR_REFUSED,
	PR_TIMEOUT,
	PR_ERROR,
};

static const char *const result_name[] = { "unknown", "connected", "refused", "timeout", "error" };

struct target {
	int src, dst;
	int family; /* 4 or 6 */
	bool svc; /* to the service address */
	uint16_t port; /* the port probed (the service port with --services) */
	uint16_t tport; /* the pod's port: what the policy sees */
	uint8_t proto;
	uint8_t result;
	int predicted; /* 1, 0, or -1 unknown */
	char reply[64];
};

struct probe_msg {
	uint32_t idx;
	uint8_t result;
	char reply[64];
};

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void target_sockaddr(const struct lab *lab, const struct target *t,
			    struct sockaddr_storage *ss, socklen_t *sl)
{
	const struct lab_pod *d = &lab->pods[t->dst];

	memset(ss, 0, sizeof(*ss));
	if (t->family == 4) {
		struct sockaddr_in *s = (struct sockaddr_in *)ss;

		s->sin_family = AF_INET;
		s->sin_port = htons(t->port);
		s->sin_addr = t->svc ? d->svc4 : d->a4;
		*sl = sizeof(*s);
	} else {
		struct sockaddr_in6 *s = (struct sockaddr_in6 *)ss;

		s->sin6_family = AF_INET6;
		s->sin6_port = htons(t->port);
		s->sin6_addr = t->svc ? d->svc6 : d->a6;
		*sl = sizeof(*s);
	}
}

struct slot {
	int idx; /* -1: free */
	int fd;
	int attempt;
	bool connected; /* TCP: waiting for the banner */
	long long deadline;
};

static int slot_start(const struct lab *lab, struct target *t, struct slot *s, int timeout_ms)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd;

	target_sockaddr(lab, t, &ss, &sl);
	fd = socket(t->family == 4 ? AF_INET : AF_INET6,
		    (t->proto == IPPROTO_UDP ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK |
			    SOCK_CLOEXEC,
		    t->proto);
	if (fd < 0)
		return -errno;
	s->fd = fd;
	s->connected = false;
	s->deadline = now_ms() + timeout_ms;
	if (connect(fd, (struct sockaddr *)&ss, sl) && errno != EINPROGRESS) {
		int r = -errno;

		close(fd);
		s->fd = -1;
		return r;
	}
	if (t->proto == IPPROTO_UDP && send(fd, "probe\n", 6, 0) < 0) {
		int r = -errno;

		close(fd);
		s->fd = -1;
		return r;
	}
	return 0;
}

static void emit(int out, struct target *t, int idx, uint8_t result)
{
	struct probe_msg m = { .idx = (uint32_t)idx, .result = result };

	memcpy(m.reply, t->reply, sizeof(m.reply));
	/* PIPE_BUF-sized records are written atomically */
	if (write(out, &m, sizeof(m)) != sizeof(m)) {
		/* the parent is gone: nothing to report to */
	}
}

/* The child: probe targets[first..last) from inside the source pod. */
static int probe_child(const struct lab *lab, struct target *tg, int first, int last,
		       int timeout_ms, int out)
{
	struct slot slots[PROBE_INFLIGHT];
	struct pollfd pfd[PROBE_INFLIGHT];
	int next = first, active = 0;
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "/run/netns/%s", lab->pods[tg[first].src].netns);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWNET))
		return 1;
	close(fd);
	for (int i = 0; i < PROBE_INFLIGHT; i++)
		slots[i] = (struct slot){ .idx = -1, .fd = -1 };

	while (next < last || active > 0) {
		long long now;
		int n = 0, wait = timeout_ms;

		/* fill free slots */
		for (int i = 0; i < PROBE_INFLIGHT && next < last; i++) {
			if (slots[i].idx >= 0)
				continue;
			slots[i].idx = next;
			slots[i].attempt = 0;
			if (slot_start(lab, &tg[next], &slots[i], timeout_ms)) {
				emit(out, &tg[next], next, PR_ERROR);
				slots[i].idx = -1;
			} else {
				active++;
			}
			next++;
		}
		now = now_ms();
		for (int i = 0; i < PROBE_INFLIGHT; i++) {
			if (slots[i].idx < 0)
				continue;
			pfd[n].fd = slots[i].fd;
			pfd[n].events =
				(tg[slots[i].idx].proto == IPPROTO_UDP || slots[i].connected)
					? POLLIN
					: POLLOUT;
			pfd[n].revents = 0;
			if (slots[i].deadline - now < wait)
				wait = (int)(slots[i].deadline - now);
			n++;
		}
		if (n == 0)
			continue;
		if (poll(pfd, (nfds_t)n, wait < 0 ? 0 : wait) < 0 && errno != EINTR)
			return 1;
		now = now_ms();
		n = 0;
		for (int i = 0; i < PROBE_INFLIGHT; i++) {
			struct slot *s = &slots[i];
			struct target *t;
			short rev;
			int result = PR_UNKNOWN;

			if (s->idx < 0)
				continue;
			t = &tg[s->idx];
			rev = pfd[n++].revents;
			if (t->proto == IPPROTO_UDP) {
				if (rev) {
					ssize_t k = recv(s->fd, t->reply, sizeof(t->reply) - 1, 0);

					if (k >= 0) {
						t->reply[k] = 0;
						result = PR_CONNECTED;
					} else {
						result = errno == ECONNREFUSED ? PR_REFUSED
									       : PR_ERROR;
					}
				}
			} else if (!s->connected) {
				if (rev) {
					int e = 0;
					socklen_t el = sizeof(e);

					getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &e, &el);
					if (e == 0) {
						s->connected = true;
						t->result = PR_CONNECTED;
					} else {
						result = e == ECONNREFUSED ? PR_REFUSED : PR_ERROR;
					}
				}
			} else if (rev) {
				ssize_t k = recv(s->fd, t->reply, sizeof(t->reply) - 1, 0);

				t->reply[k > 0 ? k : 0] = 0;
				result = PR_CONNECTED;
			}
			if (result == PR_UNKNOWN && now >= s->deadline)
				result = s->connected ? PR_CONNECTED : PR_TIMEOUT;
			if (result == PR_UNKNOWN)
				continue;
			close(s->fd);
			s->fd = -1;
			if (result == PR_TIMEOUT && s->attempt == 0) {
				s->attempt = 1;
				if (!slot_start(lab, t, s, timeout_ms))
					continue;
				result = PR_ERROR;
			}
			if (t->reply[0] && t->reply[strlen(t->reply) - 1] == '\n')
				t->reply[strlen(t->reply) - 1] = 0;
			emit(out, t, s->idx, (uint8_t)result);
			s->idx = -1;
			active--;
		}
	}
	return 0;
}

static int add_target(struct target **v, size_t *n, size_t *cap, const struct target *t)
{
	if (*n >= PROBE_MAX)
		return -E2BIG;
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 256;
		struct target *nv = realloc(*v, nc * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		*v = nv;
		*cap = nc;
	}
	(*v)[(*n)++] = *t;
	return 0;
}

static int build_targets(const struct lab *lab, const struct lab_probe_opts *o, struct target **ret,
			 size_t *ret_n, int *ret_sctp_skipped)
{
	struct target *v = NULL;
	size_t n = 0, cap = 0;
	int sctp = 0, r = 0;
	bool have_sctp = lab_have_sctp();

	for (int s = 0; s < lab->n_pods; s++) {
		const struct lab_pod *sp = &lab->pods[s];

		for (int d = 0; d < lab->n_pods; d++) {
			const struct lab_pod *dp = &lab->pods[d];
			int np = o->ports ? o->n_ports : dp->n_ports;

			if (s == d || (o->pods && (!o->pods[s] || !o->pods[d])))
				continue;
			for (int k = 0; k < np; k++) {
				const struct lab_port *lp = o->ports ? &o->ports[k] : &dp->ports[k];
				uint16_t sport = lp->port;

				if (lp->proto == IPPROTO_SCTP && !have_sctp) {
					sctp++;
					continue;
				}
				if (o->services && !o->ports) {
					sport = lp->svc_port ? lp->svc_port : lp->port;
				}
				for (int fam = 4; fam <= 6; fam += 2) {
					bool src_ok = fam == 4 ? sp->has4 : sp->has6;
					bool dst_ok =
						fam == 4 ? (o->services ? dp->has_svc4 : dp->has4)
							 : (o->services ? dp->has_svc6 : dp->has6);
					struct target t = { 0 };

					if (!src_ok || !dst_ok || (o->family && o->family != fam))
						continue;
					t.src = s;
					t.dst = d;
					t.family = fam;
					t.svc = o->services;
					t.port = sport;
					t.tport = lp->port;
					if (o->services && o->ports) {
						/* a listed port is a service port: find its target
						 */
						for (int q = 0; q < dp->n_ports; q++)
							if (dp->ports[q].svc_port == lp->port &&
							    dp->ports[q].proto == lp->proto)
								t.tport = dp->ports[q].port;
					}
					t.proto = lp->proto;
					t.predicted = -1;
					r = add_target(&v, &n, &cap, &t);
					if (r)
						goto out;
				}
			}
		}
	}
out:
	if (r) {
		free(v);
		return r;
	}
	*ret = v;
	*ret_n = n;
	*ret_sctp_skipped = sctp;
	return 0;
}

static int run_probes(const struct lab *lab, struct target *tg, size_t n, int timeout_ms)
{
	struct pollfd pfd[LAB_MAX_PODS];
	pid_t pids[LAB_MAX_PODS];
	int nch = 0, open_fds, r = 0;
	size_t first = 0;
	long long deadline;
	/* the worst case: every probe of the busiest pod times out twice */
	size_t most = 0;

	for (size_t i = 0; i < n;) {
		size_t j = i;

		while (j < n && tg[j].src == tg[i].src)
			j++;
		if (j - i > most)
			most = j - i;
		i = j;
	}
	deadline = now_ms() +
		   (long long)(2 * timeout_ms + 50) *
			   (long long)((most + PROBE_INFLIGHT - 1) / PROBE_INFLIGHT) +
		   2000;

	while (first < n) {
		size_t last = first;
		int p[2];
		pid_t pid;

		while (last < n && tg[last].src == tg[first].src)
			last++;
		if (pipe2(p, O_CLOEXEC)) {
			r = -errno;
			break;
		}
		pid = fork();
		if (pid < 0) {
			r = -errno;
			close(p[0]);
			close(p[1]);
			break;
		}
		if (pid == 0) {
			close(p[0]);
			for (int k = 0; k < nch; k++)
				close(pfd[k].fd);
			signal(SIGPIPE, SIG_IGN);
			_exit(probe_child(lab, tg, (int)first, (int)last, timeout_ms, p[1]));
		}
		close(p[1]);
		pids[nch] = pid;
		pfd[nch] = (struct pollfd){ .fd = p[0], .events = POLLIN };
		nch++;
		first = last;
	}
	open_fds = nch;
	while (open_fds > 0) {
		long long left = deadline - now_ms();
		int k;

		if (left <= 0)
			break;
		k = poll(pfd, (nfds_t)nch, (int)left);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			break;
		for (int i = 0; i < nch; i++) {
			struct probe_msg m;
			ssize_t len;

			if (pfd[i].fd < 0 || !pfd[i].revents)
				continue;
			len = read(pfd[i].fd, &m, sizeof(m));
			if (len == sizeof(m) && m.idx < n) {
				tg[m.idx].result = m.result;
				memcpy(tg[m.idx].reply, m.reply, sizeof(m.reply));
				tg[m.idx].reply[sizeof(m.reply) - 1] = 0;
				continue;
			}
			if (len < 0 && errno == EINTR)
				continue;
			close(pfd[i].fd);
			pfd[i].fd = -1;
			open_fds--;
		}
	}
	for (int i = 0; i < nch; i++) {
		int st;

		if (pfd[i].fd >= 0) {
			kill(pids[i], SIGKILL); /* our own child, past its deadline */
			close(pfd[i].fd);
		}
		waitpid(pids[i], &st, 0);
	}
	return r;
}

/* ---- output ---- */

static void pod_label(const struct lab_pod *p, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", p->ns, p->name);
}

struct group {
	uint16_t port;
	uint8_t proto;
	int family;
};

static int cmp_target(const void *a, const void *b)
{
	const struct target *x = a, *y = b;

	if (x->proto != y->proto)
		return x->proto - y->proto;
	if (x->port != y->port)
		return x->port - y->port;
	if (x->family != y->family)
		return x->family - y->family;
	if (x->src != y->src)
		return x->src - y->src;
	return x->dst - y->dst;
}

static bool observed(const struct target *t)
{
	return t->result == PR_CONNECTED;
}

/* What the policy decides: a refusal came back from the destination pod. */
static bool reachable(const struct target *t)
{
	return t->result == PR_CONNECTED || t->result == PR_REFUSED;
}

static bool differs(const struct target *t)
{
	return t->predicted >= 0 && reachable(t) != (t->predicted == 1);
}

static const struct target *find(const struct target *tg, size_t lo, size_t hi, int s, int d)
{
	for (size_t i = lo; i < hi; i++)
		if (tg[i].src == s && tg[i].dst == d)
			return &tg[i];
	return NULL;
}

static void print_cell(const struct target *t, bool pred, bool color)
{
	const char *sym;
	bool diff;

	if (!t) {
		fputs("  ", stdout);
		return;
	}
	if (pred && t->predicted < 0) {
		fputs(" ?", stdout);
		return;
	}
	diff = differs(t);
	if (pred)
		sym = t->predicted == 1 ? "." : "X";
	else
		sym = observed(t) ? "." : t->result == PR_REFUSED ? "r" : "X";
	if (diff && color)
		printf(" \033[1;31m%s\033[0m", sym);
	else if (diff)
		printf("!%s", sym);
	else
		printf(" %s", sym);
}

static void print_text(const struct lab *lab, const struct target *tg, size_t n, bool have_pred,
		       const char *pred_err, int sctp_skipped, bool services)
{
	int w = 0;
	size_t diffs = 0, conn = 0, refused = 0;

	for (int i = 0; i < lab->n_pods; i++) {
		char l[400];

		pod_label(&lab->pods[i], l, sizeof(l));
		if ((int)strlen(l) > w)
			w = (int)strlen(l);
	}
	if (w > 40)
		w = 40;
	printf("Pods:\n");
	for (int i = 0; i < lab->n_pods; i++) {
		char l[400], a[INET6_ADDRSTRLEN] = "", b[INET6_ADDRSTRLEN] = "";

		pod_label(&lab->pods[i], l, sizeof(l));
		if (lab->pods[i].has4)
			inet_ntop(AF_INET, &lab->pods[i].a4, a, sizeof(a));
		if (lab->pods[i].has6)
			inet_ntop(AF_INET6, &lab->pods[i].a6, b, sizeof(b));
		printf(" %3d  %-*.*s  %s%s%s\n", i + 1, w, w, l, a, b[0] ? " " : "", b);
	}
	printf("\nrows: source, columns: destination; '.' connected/allowed, 'r' refused "
	       "(reachable, "
	       "no server), 'X' blocked/denied, %s = differs from the prediction%s\n",
	       pw_color ? "red" : "'!'", services ? "; probed through the service addresses" : "");
	for (size_t lo = 0; lo < n;) {
		size_t hi = lo;
		int cols = 0;

		while (hi < n && tg[hi].port == tg[lo].port && tg[hi].proto == tg[lo].proto &&
		       tg[hi].family == tg[lo].family)
			hi++;
		printf("\n%u/%s IPv%d\n", tg[lo].port, lab_proto_name(tg[lo].proto), tg[lo].family);
		cols = lab->n_pods;
		printf("  %-*s  %-*s   %s\n", w + 4, "", cols * 2 + 2, "observed", "predicted");
		printf("  %-*s  ", w + 4, "");
		for (int d = 0; d < cols; d++)
			printf("%2d", (d + 1) % 100);
		printf("    ");
		for (int d = 0; d < cols; d++)
			printf("%2d", (d + 1) % 100);
		printf("\n");
		for (int s = 0; s < lab->n_pods; s++) {
			char l[400];
			bool any = false;

			for (size_t i = lo; i < hi && !any; i++)
				any = tg[i].src == s;
			if (!any)
				continue;
			pod_label(&lab->pods[s], l, sizeof(l));
			printf("  %3d %-*.*s  ", s + 1, w, w, l);
			for (int d = 0; d < cols; d++)
				print_cell(find(tg, lo, hi, s, d), false, pw_color);
			printf("    ");
			for (int d = 0; d < cols; d++)
				print_cell(find(tg, lo, hi, s, d), true, pw_color);
			printf("\n");
		}
		lo = hi;
	}
	for (size_t i = 0; i < n; i++) {
		conn += observed(&tg[i]);
		refused += tg[i].result == PR_REFUSED;
		diffs += differs(&tg[i]);
	}
	printf("\n%zu probes: %zu connected, %zu refused, %zu blocked; ", n, conn, refused,
	       n - conn - refused);
	if (have_pred)
		printf("%zu differ%s from the prediction\n", diffs, diffs == 1 ? "s" : "");
	else
		printf("prediction unavailable (%s)\n", pred_err);
	if (sctp_skipped)
		printf("%d SCTP probes skipped: this kernel has no SCTP sockets\n", sctp_skipped);
}

static json_t *to_json(const struct lab *lab, const struct target *tg, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++) {
		const struct target *t = &tg[i];
		char s[400], d[400], addr[INET6_ADDRSTRLEN];
		const struct lab_pod *dp = &lab->pods[t->dst];
		json_t *o;

		pod_label(&lab->pods[t->src], s, sizeof(s));
		pod_label(dp, d, sizeof(d));
		if (t->family == 4)
			inet_ntop(AF_INET, t->svc ? (const void *)&dp->svc4 : &dp->a4, addr,
				  sizeof(addr));
		else
			inet_ntop(AF_INET6, t->svc ? (const void *)&dp->svc6 : &dp->a6, addr,
				  sizeof(addr));
		o = json_pack("{s:s,s:s,s:i,s:s,s:b,s:o,s:i,s:s,s:s,s:s}", "src", s, "dst", d,
			      "port", t->port, "proto", lab_proto_name(t->proto), "observed",
			      observed(t), "predicted",
			      t->predicted < 0 ? json_null() : json_boolean(t->predicted), "family",
			      t->family, "via", t->svc ? "service" : "pod", "address", addr,
			      "result", result_name[t->result < 5 ? t->result : 0]);
		json_object_set_new(o, "reachable", json_boolean(reachable(t)));
		if (t->tport != t->port)
			json_object_set_new(o, "target_port", json_integer(t->tport));
		if (t->reply[0])
			json_object_set_new(o, "reply", json_string(t->reply));
		json_array_append_new(a, o);
	}
	return a;
}

static void html_escape(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '&':
			fputs("&amp;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		default:
			fputc(*s, f);
		}
	}
}

static int write_html(const char *path, const struct lab *lab, const struct target *tg, size_t n,
		      bool have_pred, const char *pred_err)
{
	FILE *f = fopen(path, "we");
	size_t diffs = 0, conn = 0, refused = 0;

	if (!f)
		return -errno;
	for (size_t i = 0; i < n; i++) {
		conn += observed(&tg[i]);
		refused += tg[i].result == PR_REFUSED;
		diffs += differs(&tg[i]);
	}
	fputs("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>podwall lab ", f);
	html_escape(f, lab->name);
	fputs("</title>\n<style>body{font-family:sans-serif;margin:2em}"
	      "table{border-collapse:collapse;margin:0 2em 1em 0;display:inline-table}"
	      "td,th{border:1px solid #bbb;padding:2px 6px;text-align:center;font-size:90%}"
	      "th.r{text-align:right}.ok{background:#cfc}.no{background:#fcc}"
	      ".diff{outline:3px solid #d00;font-weight:bold}.unk{background:#eee}"
	      "h2{font-size:110%;margin-top:1.5em}</style></head><body>\n",
	      f);
	fputs("<h1>podwall lab <code>", f);
	html_escape(f, lab->name);
	fputs("</code></h1>\n<p>Policy directory <code>", f);
	html_escape(f, lab->dir);
	fprintf(f,
		"</code>, topology %s%s.</p>\n<p>%zu probes: %zu connected, %zu refused "
		"(reachable, no server), %zu blocked; ",
		lab->topology == LAB_BRIDGE ? "bridge" : "routed",
		lab->services ? ", services" : "", n, conn, refused, n - conn - refused);
	if (have_pred)
		fprintf(f, "<b>%zu differ from the prediction</b>.</p>\n", diffs);
	else {
		fputs("prediction unavailable (", f);
		html_escape(f, pred_err);
		fputs(").</p>\n", f);
	}
	fputs("<p>Rows: source pod; columns: destination pod. Green: connected / allowed; "
	      "<b>r</b>: refused (reachable, no server); red: blocked / denied; outlined: "
	      "observed differs from predicted.</p>\n",
	      f);
	for (size_t lo = 0; lo < n;) {
		size_t hi = lo;

		while (hi < n && tg[hi].port == tg[lo].port && tg[hi].proto == tg[lo].proto &&
		       tg[hi].family == tg[lo].family)
			hi++;
		fprintf(f, "<h2>%u/%s IPv%d</h2>\n", tg[lo].port, lab_proto_name(tg[lo].proto),
			tg[lo].family);
		for (int pred = 0; pred < 2; pred++) {
			fprintf(f, "<table><caption>%s</caption><tr><th></th>",
				pred ? "predicted" : "observed");
			for (int d = 0; d < lab->n_pods; d++) {
				char l[400];

				pod_label(&lab->pods[d], l, sizeof(l));
				fputs("<th>", f);
				html_escape(f, l);
				fputs("</th>", f);
			}
			fputs("</tr>\n", f);
			for (int s = 0; s < lab->n_pods; s++) {
				char l[400];

				pod_label(&lab->pods[s], l, sizeof(l));
				fputs("<tr><th class=\"r\">", f);
				html_escape(f, l);
				fputs("</th>", f);
				for (int d = 0; d < lab->n_pods; d++) {
					const struct target *t = find(tg, lo, hi, s, d);
					bool v;

					if (!t) {
						fputs("<td></td>", f);
						continue;
					}
					if (pred && t->predicted < 0) {
						fputs("<td class=\"unk\">?</td>", f);
						continue;
					}
					v = pred ? t->predicted == 1 : reachable(t);
					fprintf(f, "<td class=\"%s%s\" title=\"%s\">%s</td>",
						v ? "ok" : "no", differs(t) ? " diff" : "",
						result_name[t->result < 5 ? t->result : 0],
						!v				   ? "&#10007;"
						: !pred && t->result == PR_REFUSED ? "r"
										   : "&#10003;");
				}
				fputs("</tr>\n", f);
			}
			fputs("</table>\n", f);
		}
		lo = hi;
	}
	fputs("</body></html>\n", f);
	if (fclose(f))
		return -errno;
	return 0;
}

int lab_probe_run(const struct lab *lab, const struct lab_probe_opts *o)
{
	struct target *tg = NULL;
	struct lab_predict *pred = NULL;
	char pred_err[256] = "";
	size_t n = 0;
	int sctp = 0, r;
	bool have_pred;

	if (o->services && !lab->services)
		return pw_error(PW_EXIT_FAIL, "lab %s was built without --services", lab->name);
	r = build_targets(lab, o, &tg, &n, &sctp);
	if (r)
		return pw_error(PW_EXIT_FAIL, "cannot list probes: %s", strerror(-r));
	if (n == 0) {
		free(tg);
		return pw_error(PW_EXIT_FAIL, "nothing to probe (no container ports; use --ports)");
	}
	r = run_probes(lab, tg, n, o->timeout_ms);
	if (r) {
		free(tg);
		return pw_error(PW_EXIT_FAIL, "probing failed: %s", strerror(-r));
	}
	have_pred = lab_predict_open(lab, &pred, pred_err, sizeof(pred_err)) == 0;
	for (size_t i = 0; i < n && have_pred; i++) {
		struct target *t = &tg[i];
		int v = lab_predict_flow(pred, &lab->pods[t->src], &lab->pods[t->dst], t->family,
					 t->proto, t->tport);

		t->predicted = v < 0 ? -1 : v;
	}
	if (pred)
		lab_predict_close(pred);
	qsort(tg, n, sizeof(tg[0]), cmp_target);
	if (o->html) {
		r = write_html(o->html, lab, tg, n, have_pred, pred_err);
		if (r) {
			free(tg);
			return pw_error(PW_EXIT_FAIL, "%s: %s", o->html, strerror(-r));
		}
	}
	if (pw_json)
		pw_json_print(to_json(lab, tg, n));
	else
		print_text(lab, tg, n, have_pred, pred_err, sctp, o->services);
	free(tg);
	return PW_EXIT_OK;
}
