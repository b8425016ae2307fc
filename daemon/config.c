// SPDX-License-Identifier: MIT
#include <arpa/inet.h>
#include <dirent.h>
#include <stdio.h>
#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "names.h"

struct opt {
	const char *name; /* long option, without "--" */
	char short_name; /* 0: none */
	const char *arg; /* metavariable; NULL: a flag */
	bool env; /* may also be set by PODWALL_<NAME> */
	int (*set)(struct pw_config *cfg, const char *val, char *err, size_t errlen);
	const char *help;
};

static int errf(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int set_str(char **dst, const char *val, const char *what, char *err, size_t errlen)
{
	char *s;

	if (!*val)
		return errf(err, errlen, "%s must not be empty", what);
	if (strlen(val) >= PATH_MAX)
		return errf(err, errlen, "%s is longer than %d bytes", what, PATH_MAX - 1);
	s = strdup(val);
	if (!s)
		return -ENOMEM;
	free(*dst);
	*dst = s;
	return 0;
}

static int parse_bool(const char *val, bool *ret, const char *what, char *err, size_t errlen)
{
	static const char *const yes[] = { "1", "true", "yes", "on" };
	static const char *const no[] = { "0", "false", "no", "off", "" };

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		if (strcasecmp(val, yes[i]) == 0) {
			*ret = true;
			return 0;
		}
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		if (strcasecmp(val, no[i]) == 0) {
			*ret = false;
			return 0;
		}
	return errf(err, errlen, "%s: '%s' is not a boolean (1/0, true/false, yes/no)", what, val);
}

/* N with an optional K, M or G suffix (powers of 1024). */
static int parse_size(const char *val, uint64_t *ret, char *err, size_t errlen, const char *what)
{
	unsigned long long n;
	char *end;
	int shift = 0;

	if (*val < '0' || *val > '9')
		return errf(err, errlen, "%s: '%s' is not a number", what, val);
	errno = 0;
	n = strtoull(val, &end, 10);
	if (errno)
		return errf(err, errlen, "%s: '%s' is out of range", what, val);
	if (*end == 'K' || *end == 'k')
		shift = 10, end++;
	else if (*end == 'M' || *end == 'm')
		shift = 20, end++;
	else if (*end == 'G' || *end == 'g')
		shift = 30, end++;
	if (*end)
		return errf(err, errlen, "%s: '%s' is not a number (N, NK, NM or NG)", what, val);
	if (shift && n > (UINT64_MAX >> shift))
		return errf(err, errlen, "%s: '%s' is out of range", what, val);
	*ret = (uint64_t)n << shift;
	return 0;
}

static int opt_policy_dir(struct pw_config *c, const char *v, char *e, size_t l)
{
	return set_str(&c->policy_dir, v, "--policy-dir", e, l);
}

static int opt_mode(struct pw_config *c, const char *v, char *e, size_t l)
{
	if (strcmp(v, "enforce") == 0)
		c->mode = PW_MODE_ENFORCE;
	else if (strcmp(v, "audit") == 0)
		c->mode = PW_MODE_AUDIT;
	else
		return errf(e, l, "--mode: '%s' is not one of enforce, audit", v);
	return 0;
}

static int opt_hook(struct pw_config *c, const char *v, char *e, size_t l)
{
	if (strcmp(v, "tc") == 0)
		c->hook = PW_HOOK_TC;
	else if (strcmp(v, "xdp") == 0)
		c->hook = PW_HOOK_XDP;
	else
		return errf(e, l, "--hook: '%s' is not one of tc, xdp", v);
	return 0;
}

/* Split a comma list; empty items are errors.  Calls fn for each item. */
static int each_item(const char *v, const char *what, char *e, size_t l,
		     int (*fn)(struct pw_config *, const char *, char *, size_t),
		     struct pw_config *c)
{
	char *copy = strdup(v), *save = NULL, *tok;
	int r = 0;

	if (!copy)
		return -ENOMEM;
	if (!*v || v[0] == ',' || v[strlen(v) - 1] == ',' || strstr(v, ",,")) {
		r = errf(e, l, "%s: empty item in '%s'", what, v);
		goto out;
	}
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		r = fn(c, tok, e, l);
		if (r)
			break;
	}
out:
	free(copy);
	return r;
}

static int add_uplink(struct pw_config *c, const char *name, char *e, size_t l)
{
	if (strlen(name) >= IFNAMSIZ || strchr(name, '/') || strchr(name, ' '))
		return errf(e, l, "--uplink: '%s' is not a valid interface name", name);
	if (c->n_uplinks >= PW_MAX_UPLINKS)
		return errf(e, l, "--uplink: more than %d interfaces", PW_MAX_UPLINKS);
	c->uplinks[c->n_uplinks] = strdup(name);
	if (!c->uplinks[c->n_uplinks])
		return -ENOMEM;
	c->n_uplinks++;
	return 0;
}

static int opt_uplink(struct pw_config *c, const char *v, char *e, size_t l)
{
	return each_item(v, "--uplink", e, l, add_uplink, c);
}

static int add_cidr(struct pw_config *c, const char *s, char *e, size_t l)
{
	if (c->n_service_cidrs >= PW_MAX_SERVICE_CIDRS)
		return errf(e, l, "--service-cidr: more than %d CIDRs", PW_MAX_SERVICE_CIDRS);
	if (pw_cfg_cidr_parse(s, &c->service_cidrs[c->n_service_cidrs]))
		return errf(e, l, "--service-cidr: '%s' is not a CIDR (ADDR/LEN)", s);
	c->n_service_cidrs++;
	return 0;
}

static int opt_service_cidr(struct pw_config *c, const char *v, char *e, size_t l)
{
	return each_item(v, "--service-cidr", e, l, add_cidr, c);
}

static int opt_bpffs(struct pw_config *c, const char *v, char *e, size_t l)
{
	if (v[0] != '/')
		return errf(e, l, "--bpffs: '%s' is not an absolute path", v);
	return set_str(&c->bpffs, v, "--bpffs", e, l);
}

static int opt_socket(struct pw_config *c, const char *v, char *e, size_t l)
{
	/* sun_path is 108 bytes including the terminating NUL */
	if (strlen(v) >= 108)
		return errf(e, l, "--socket: path is longer than 107 bytes");
	if (strcmp(v, "/") == 0 || v[strlen(v) - 1] == '/')
		return errf(e, l, "--socket: '%s' names a directory", v);
	return set_str(&c->socket_path, v, "--socket", e, l);
}

static int opt_flow_log(struct pw_config *c, const char *v, char *e, size_t l)
{
	return set_str(&c->flow_log, v, "--flow-log", e, l);
}

static int opt_flow_log_max(struct pw_config *c, const char *v, char *e, size_t l)
{
	uint64_t n;
	int r = parse_size(v, &n, e, l, "--flow-log-max-bytes");

	if (r)
		return r;
	if (n != 0 && n < 4096)
		return errf(e, l, "--flow-log-max-bytes: %s is below 4096 (0 disables rotation)",
			    v);
	c->flow_log_max_bytes = n;
	return 0;
}

static int opt_metrics_file(struct pw_config *c, const char *v, char *e, size_t l)
{
	return set_str(&c->metrics_file, v, "--metrics-file", e, l);
}

static int opt_metrics_interval(struct pw_config *c, const char *v, char *e, size_t l)
{
	uint64_t n;
	int r = parse_size(v, &n, e, l, "--metrics-interval");

	if (r)
		return r;
	if (n < 1 || n > 86400)
		return errf(e, l, "--metrics-interval: %s is not between 1 and 86400 seconds", v);
	c->metrics_interval = (unsigned int)n;
	return 0;
}

static int opt_node_name(struct pw_config *c, const char *v, char *e, size_t l)
{
	if (strlen(v) > 253)
		return errf(e, l, "--node-name: longer than 253 characters");
	return set_str(&c->node_name, v, "--node-name", e, l);
}

static int opt_log_level(struct pw_config *c, const char *v, char *e, size_t l)
{
	if (pw_log_level_parse(v, &c->log_level))
		return errf(e, l, "--log-level: '%s' is not one of error, warn, info, debug", v);
	return 0;
}

static int opt_oneshot(struct pw_config *c, const char *v, char *e, size_t l)
{
	return v ? parse_bool(v, &c->oneshot, "PODWALL_ONESHOT", e, l) : (c->oneshot = true, 0);
}

static int opt_log_allowed(struct pw_config *c, const char *v, char *e, size_t l)
{
	return v ? parse_bool(v, &c->log_allowed, "PODWALL_LOG_ALLOWED", e, l)
		 : (c->log_allowed = true, 0);
}

static int opt_uninstall(struct pw_config *c, const char *v, char *e, size_t l)
{
	(void)v, (void)e, (void)l;
	if (c->action == PW_ACT_RUN)
		c->action = PW_ACT_UNINSTALL;
	return 0;
}

static int opt_help(struct pw_config *c, const char *v, char *e, size_t l)
{
	(void)v, (void)e, (void)l;
	c->action = PW_ACT_HELP;
	return 0;
}

static int opt_version(struct pw_config *c, const char *v, char *e, size_t l)
{
	(void)v, (void)e, (void)l;
	if (c->action != PW_ACT_HELP)
		c->action = PW_ACT_VERSION;
	return 0;
}

static const struct opt opts[] = {
	{ "policy-dir", 0, "DIR", true, opt_policy_dir,
	  "directory of Kubernetes YAML (NetworkPolicy, Pod, Namespace, List) to enforce" },
	{ "mode", 0, "enforce|audit", true, opt_mode,
	  "audit: count and log would-be drops but pass them (default enforce)" },
	{ "hook", 0, "tc|xdp", true, opt_hook,
	  "where pod-sent traffic is decided: tc (default) or XDP on the host veth" },
	{ "uplink", 0, "IF[,IF...]", true, opt_uplink,
	  "uplink/overlay devices (deferred egress decisions, XDP prefilter)" },
	{ "service-cidr", 0, "CIDR[,CIDR...]", true, opt_service_cidr,
	  "service address ranges: egress to them is decided after DNAT" },
	{ "bpffs", 0, "DIR", true, opt_bpffs,
	  "where maps and programs are pinned (default " PW_DEFAULT_BPFFS ")" },
	{ "socket", 0, "PATH", true, opt_socket, "control socket (default " PW_DEFAULT_SOCKET ")" },
	{ "flow-log", 0, "FILE", true, opt_flow_log, "append flow records as JSON lines to FILE" },
	{ "flow-log-max-bytes", 0, "N[K|M|G]", true, opt_flow_log_max,
	  "rotate the flow log to FILE.1 at this size (default 100M; 0: never)" },
	{ "metrics-file", 0, "FILE", true, opt_metrics_file,
	  "write Prometheus metrics to FILE (node_exporter textfile collector)" },
	{ "metrics-interval", 0, "S", true, opt_metrics_interval,
	  "seconds between metrics file updates (default 15)" },
	{ "node-name", 0, "NAME", true, opt_node_name,
	  "only pods with this spec.nodeName (or none) can be local" },
	{ "log-level", 0, "error|warn|info|debug", true, opt_log_level,
	  "log verbosity on stderr (default info)" },
	{ "oneshot", 0, NULL, true, opt_oneshot,
	  "load, apply and attach once, then exit 0 (enforcement stays)" },
	{ "log-allowed", 0, NULL, true, opt_log_allowed,
	  "emit a flow record for each new allowed flow too" },
	{ "uninstall", 0, NULL, false, opt_uninstall,
	  "stop a running daemon, detach and unpin everything, exit" },
	{ "help", 'h', NULL, false, opt_help, "show this help and exit" },
	{ "version", 'V', NULL, false, opt_version, "show the version and exit" },
};

#define N_OPTS (sizeof(opts) / sizeof(opts[0]))

/* A list option given on the command line replaces the environment's list. */
static void clear_list(struct pw_config *c, const struct opt *o)
{
	if (o->set == opt_uplink) {
		for (unsigned int i = 0; i < c->n_uplinks; i++)
			free(c->uplinks[i]);
		c->n_uplinks = 0;
	} else if (o->set == opt_service_cidr) {
		c->n_service_cidrs = 0;
	}
}

static void env_name(const struct opt *o, char *buf, size_t len)
{
	size_t i = 0;

	snprintf(buf, len, "PODWALL_");
	for (i = 8; o->name[i - 8] && i + 1 < len; i++)
		buf[i] = o->name[i - 8] == '-' ? '_' : (char)(o->name[i - 8] - 'a' + 'A');
	buf[i] = 0;
}

static const char *env_get(char **envp, const char *name)
{
	size_t n = strlen(name);

	for (; envp && *envp; envp++)
		if (strncmp(*envp, name, n) == 0 && (*envp)[n] == '=')
			return *envp + n + 1;
	return NULL;
}

static const struct opt *find_long(const char *name, size_t len, char *e, size_t l)
{
	const struct opt *hit = NULL;
	int n = 0;

	for (size_t i = 0; i < N_OPTS; i++) {
		if (strncmp(opts[i].name, name, len) != 0)
			continue;
		if (opts[i].name[len] == 0)
			return &opts[i];
		hit = &opts[i];
		n++;
	}
	if (n == 1)
		return hit;
	errf(e, l, n ? "option '--%.*s' is ambiguous" : "unknown option '--%.*s'", (int)len, name);
	return NULL;
}

static void config_init(struct pw_config *c)
{
	memset(c, 0, sizeof(*c));
	c->flow_log_max_bytes = PW_DEFAULT_FLOW_LOG_MAX;
	c->metrics_interval = PW_DEFAULT_METRICS_INTERVAL;
	c->log_level = PW_LOG_INFO;
}

static int set_defaults(struct pw_config *c)
{
	if (!c->bpffs && !(c->bpffs = strdup(PW_DEFAULT_BPFFS)))
		return -ENOMEM;
	if (!c->socket_path && !(c->socket_path = strdup(PW_DEFAULT_SOCKET)))
		return -ENOMEM;
	return 0;
}

int pw_config_parse(struct pw_config *c, int argc, char **argv, char **envp, char *e, size_t l)
{
	bool from_cmdline[N_OPTS] = { false };
	int r;

	config_init(c);
	e[0] = 0;

	for (size_t i = 0; i < N_OPTS; i++) {
		char name[64];
		const char *v;

		if (!opts[i].env)
			continue;
		env_name(&opts[i], name, sizeof(name));
		v = env_get(envp, name);
		if (!v)
			continue;
		/* An empty variable is "unset" (docker -e FOO= and Helm templates
		 * produce them), except for booleans where it means false. */
		if (!*v && opts[i].arg)
			continue;
		r = opts[i].set(c, v, e, l);
		if (r) {
			if (r == -EINVAL) {
				size_t n = strlen(e);
				snprintf(e + n, l - n, " (from %s)", name);
			}
			return r;
		}
	}

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *val = NULL;
		const struct opt *o = NULL;

		if (strcmp(a, "--") == 0) {
			if (i + 1 < argc)
				return errf(e, l, "unexpected argument '%s'", argv[i + 1]);
			break;
		}
		if (a[0] == '-' && a[1] == '-' && a[2]) {
			const char *eq = strchr(a + 2, '=');
			size_t len = eq ? (size_t)(eq - a - 2) : strlen(a + 2);

			o = find_long(a + 2, len, e, l);
			if (!o)
				return -EINVAL;
			if (eq) {
				if (!o->arg)
					return errf(e, l, "option '--%s' takes no value", o->name);
				val = eq + 1;
			}
		} else if (a[0] == '-' && a[1] && !a[2]) {
			for (size_t k = 0; k < N_OPTS; k++)
				if (opts[k].short_name && opts[k].short_name == a[1])
					o = &opts[k];
			if (!o)
				return errf(e, l, "unknown option '%s'", a);
		} else {
			return errf(e, l, "unexpected argument '%s'", a);
		}
		if (o->arg && !val) {
			if (i + 1 >= argc)
				return errf(e, l, "option '--%s' needs a value (%s)", o->name,
					    o->arg);
			val = argv[++i];
		}
		if (!from_cmdline[o - opts]) {
			from_cmdline[o - opts] = true;
			clear_list(c, o);
		}
		r = o->arg ? o->set(c, val, e, l) : o->set(c, NULL, e, l);
		if (r)
			return r;
	}

	r = set_defaults(c);
	if (r)
		return r;
	if (c->action == PW_ACT_RUN && !c->policy_dir)
		return errf(e, l, "--policy-dir is required (or set PODWALL_POLICY_DIR)");
	return 0;
}

void pw_config_free(struct pw_config *c)
{
	free(c->policy_dir);
	for (unsigned int i = 0; i < c->n_uplinks; i++)
		free(c->uplinks[i]);
	free(c->bpffs);
	free(c->socket_path);
	free(c->flow_log);
	free(c->metrics_file);
	free(c->node_name);
	memset(c, 0, sizeof(*c));
}

void pw_config_usage(FILE *f)
{
	fprintf(f, "Usage: podwalld --policy-dir DIR [OPTIONS]\n"
		   "       podwalld --uninstall [--bpffs DIR] [--socket PATH]\n"
		   "\n"
		   "Enforce Kubernetes NetworkPolicy on this node's pod veths with eBPF.\n"
		   "\n");
	for (size_t i = 0; i < N_OPTS; i++) {
		char left[64];

		if (opts[i].short_name)
			snprintf(left, sizeof(left), "-%c, --%s", opts[i].short_name, opts[i].name);
		else if (opts[i].arg)
			snprintf(left, sizeof(left), "    --%s %s", opts[i].name, opts[i].arg);
		else
			snprintf(left, sizeof(left), "    --%s", opts[i].name);
		if (strlen(left) > 34)
			fprintf(f, "  %s\n  %-34s %s\n", left, "", opts[i].help);
		else
			fprintf(f, "  %-34s %s\n", left, opts[i].help);
	}
	fprintf(f, "\nEvery option but --uninstall, --help and --version can also be set in the\n"
		   "environment as PODWALL_<OPTION> (PODWALL_POLICY_DIR, PODWALL_FLOW_LOG, ...);\n"
		   "the command line wins.  Signals: SIGHUP reloads, SIGTERM/SIGINT stop (the\n"
		   "policy stays enforced).  See podwalld(8).\n");
}

int pw_config_pidfile(const struct pw_config *cfg, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s.pid", cfg->socket_path);

	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	return 0;
}

/* 1 when the pid file at path names a pid > 1 and bpffs; its pid in *ret_pid. */
static int pidfile_matches(const char *path, const char *bpffs, int *ret_pid)
{
	char dir[PATH_MAX] = "";
	int pid = 0, r;
	FILE *f = fopen(path, "re");

	if (!f)
		return 0;
	r = fscanf(f, "%d\n%4095[^\n]", &pid, dir);
	fclose(f);
	if (r != 2 || pid <= 1 || strcmp(dir, bpffs) != 0)
		return 0;
	*ret_pid = pid;
	return 1;
}

int pw_config_find_daemon(const struct pw_config *cfg, char *buf, size_t len, int *ret_pid)
{
	char path[PATH_MAX], dir[PATH_MAX];
	const char *slash;
	struct dirent *de;
	int pid = 0, n, found = 0;
	DIR *d;

	if (pw_config_pidfile(cfg, path, sizeof(path)))
		return -ENAMETOOLONG;
	if (pidfile_matches(path, cfg->bpffs, &pid))
		goto out;
	/* Started with another --socket: look at every pid file next to ours. */
	slash = strrchr(cfg->socket_path, '/');
	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == cfg->socket_path)
		snprintf(dir, sizeof(dir), "/");
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - cfg->socket_path),
			 cfg->socket_path);
	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? -ENOENT : -errno;
	while ((de = readdir(d)) != NULL) {
		size_t l = strlen(de->d_name);

		if (l < 5 || strcmp(de->d_name + l - 4, ".pid") != 0)
			continue;
		n = snprintf(path, sizeof(path), "%s/%s", strcmp(dir, "/") ? dir : "", de->d_name);
		if (n < 0 || (size_t)n >= sizeof(path))
			continue;
		if (pidfile_matches(path, cfg->bpffs, &pid)) {
			found = 1;
			break;
		}
	}
	closedir(d);
	if (!found)
		return -ENOENT;
out:
	if (strlen(path) >= len)
		return -ENAMETOOLONG;
	strcpy(buf, path);
	*ret_pid = pid;
	return 0;
}

const char *pw_mode_name(enum pw_mode m)
{
	return m == PW_MODE_AUDIT ? "audit" : "enforce";
}

const char *pw_hook_opt_name(enum pw_hook h)
{
	return h == PW_HOOK_XDP ? "xdp" : "tc";
}

int pw_cfg_cidr_parse(const char *s, struct pw_cidr *ret_cidr)
{
	char addr[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(s, '/');
	struct pw_cidr c;
	unsigned long plen;
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	int v4;
	char *end;

	if (alen == 0 || alen >= sizeof(addr))
		return -EINVAL;
	memcpy(addr, s, alen);
	addr[alen] = 0;
	memset(&c, 0, sizeof(c));
	if (pw_addr_parse(addr, &c.addr, NULL))
		return -EINVAL;
	v4 = strchr(addr, ':') == NULL;
	if (slash) {
		if (slash[1] < '0' || slash[1] > '9')
			return -EINVAL;
		plen = strtoul(slash + 1, &end, 10);
		if (*end || plen > (v4 ? 32u : 128u))
			return -EINVAL;
	} else {
		plen = v4 ? 32 : 128;
	}
	c.plen = (uint8_t)(v4 ? plen + 96 : plen);
	for (unsigned int bit = c.plen; bit < 128; bit++)
		c.addr.b[bit / 8] &= (uint8_t) ~(0x80u >> (bit % 8));
	c.v4 = v4;
	*ret_cidr = c;
	return 0;
}
