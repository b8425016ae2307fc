// SPDX-License-Identifier: MIT
/*
 * The lab's state file, /run/podwall/lab-<NAME>.json: everything `lab up`
 * built (or is about to build), so that `probe` and `down` need nothing else
 * and `down` removes exactly that — also after a failure half-way.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lab.h"

int lab_state_path(const char *name, char *buf, size_t len)
{
	const char *dir = getenv("PODWALL_LAB_STATE_DIR");
	int n = snprintf(buf, len, "%s/lab-%s.json", dir && *dir ? dir : LAB_STATE_DIR, name);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static json_t *addr_json(int af, const void *a)
{
	char buf[INET6_ADDRSTRLEN];

	inet_ntop(af, a, buf, sizeof(buf));
	return json_string(buf);
}

static json_t *pod_json(const struct lab_pod *p)
{
	json_t *o = json_object(), *addrs = json_array(), *ports = json_array(),
	       *svc = json_array();

	json_object_set_new(o, "namespace", json_string(p->ns));
	json_object_set_new(o, "name", json_string(p->name));
	json_object_set_new(o, "netns", json_string(p->netns));
	json_object_set_new(o, "veth", json_string(p->veth));
	if (p->has4)
		json_array_append_new(addrs, addr_json(AF_INET, &p->a4));
	if (p->has6)
		json_array_append_new(addrs, addr_json(AF_INET6, &p->a6));
	json_object_set_new(o, "addresses", addrs);
	json_object_set_new(o, "allocated4", json_boolean(p->alloc4));
	json_object_set_new(o, "allocated6", json_boolean(p->alloc6));
	if (p->has_svc4)
		json_array_append_new(svc, addr_json(AF_INET, &p->svc4));
	if (p->has_svc6)
		json_array_append_new(svc, addr_json(AF_INET6, &p->svc6));
	json_object_set_new(o, "service_addresses", svc);
	for (int i = 0; i < p->n_ports; i++) {
		const struct lab_port *lp = &p->ports[i];
		json_t *po = json_pack("{s:i,s:s}", "port", lp->port, "proto",
				       lab_proto_name(lp->proto));

		if (lp->name[0])
			json_object_set_new(po, "name", json_string(lp->name));
		if (lp->svc_port)
			json_object_set_new(po, "service_port", json_integer(lp->svc_port));
		json_array_append_new(ports, po);
	}
	json_object_set_new(o, "ports", ports);
	json_object_set_new(o, "server_pid", json_integer(p->server_pid));
	json_object_set_new(o, "server_start", json_integer(p->server_start));
	return o;
}

json_t *lab_state_json(const struct lab *lab)
{
	json_t *o = json_object(), *pods = json_array(), *nss = json_array();

	json_object_set_new(o, "name", json_string(lab->name));
	json_object_set_new(o, "status", json_string(lab->status));
	json_object_set_new(o, "dir", json_string(lab->dir));
	json_object_set_new(o, "topology",
			    json_string(lab->topology == LAB_BRIDGE ? "bridge" : "routed"));
	json_object_set_new(o, "services", json_boolean(lab->services));
	json_object_set_new(o, "node_netns", json_string(lab->node_ns));
	if (lab->topology == LAB_BRIDGE) {
		char buf[INET6_ADDRSTRLEN + 8];
		json_t *b = json_object();

		inet_ntop(AF_INET, &lab->net4, buf, sizeof(buf));
		snprintf(buf + strlen(buf), 8, "/%d", lab->plen4);
		json_object_set_new(b, "subnet4", json_string(buf));
		json_object_set_new(b, "gateway4", addr_json(AF_INET, &lab->gw4));
		if (lab->has_net6) {
			inet_ntop(AF_INET6, &lab->net6, buf, sizeof(buf) - 8);
			snprintf(buf + strlen(buf), 8, "/%d", lab->plen6);
			json_object_set_new(b, "subnet6", json_string(buf));
			json_object_set_new(b, "gateway6", addr_json(AF_INET6, &lab->gw6));
		}
		json_object_set_new(o, "bridge", b);
	}
	for (int i = 0; i < lab->n_k8s_ns; i++)
		json_array_append_new(nss, json_string(lab->k8s_ns[i]));
	json_object_set_new(o, "namespaces", nss);
	for (int i = 0; i < lab->n_pods; i++)
		json_array_append_new(pods, pod_json(&lab->pods[i]));
	json_object_set_new(o, "pods", pods);
	json_object_set_new(o, "nft_table", json_boolean(lab->nft_table));
	if (lab->daemon_path[0] || lab->daemon_pid) {
		json_object_set_new(
			o, "daemon",
			json_pack("{s:I,s:I,s:s,s:s,s:s}", "pid", (json_int_t)lab->daemon_pid,
				  "start", (json_int_t)lab->daemon_start, "path", lab->daemon_path,
				  "bpffs", lab->bpffs, "socket", lab->socket));
	}
	return o;
}

int lab_state_save(const struct lab *lab)
{
	char path[512], tmp[520], *slash;
	json_t *o;
	int r = 0;

	if (lab_state_path(lab->name, path, sizeof(path)))
		return -ENAMETOOLONG;
	snprintf(tmp, sizeof(tmp), "%s", path);
	slash = strrchr(tmp, '/');
	if (slash) {
		*slash = 0;
		mkdir(tmp, 0755);
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	o = lab_state_json(lab);
	if (json_dump_file(o, tmp, JSON_INDENT(2) | JSON_SORT_KEYS)) {
		r = -EIO;
		goto out;
	}
	if (rename(tmp, path)) {
		r = -errno;
		unlink(tmp);
	}
out:
	json_decref(o);
	return r;
}

static int parse_addr(const char *s, struct lab_pod *p, bool svc)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (inet_pton(AF_INET, s, &a4) == 1) {
		if (svc) {
			p->svc4 = a4;
			p->has_svc4 = true;
		} else {
			p->a4 = a4;
			p->has4 = true;
		}
		return 0;
	}
	if (inet_pton(AF_INET6, s, &a6) == 1) {
		if (svc) {
			p->svc6 = a6;
			p->has_svc6 = true;
		} else {
			p->a6 = a6;
			p->has6 = true;
		}
		return 0;
	}
	return -EINVAL;
}

static void copy_str(char *dst, size_t len, json_t *v)
{
	const char *s = json_string_value(v);

	snprintf(dst, len, "%s", s ? s : "");
}

int lab_state_load(const char *name, struct lab *lab, char *err, size_t errlen)
{
	char path[512];
	json_error_t je;
	json_t *o, *v;
	size_t i;
	int r = 0;

	memset(lab, 0, sizeof(*lab));
	if (errlen)
		err[0] = 0;
	if (lab_state_path(name, path, sizeof(path)))
		return -ENAMETOOLONG;
	if (access(path, F_OK)) {
		r = -errno;
		snprintf(err, errlen, "no lab named '%s' (%s: %s)", name, path, strerror(errno));
		return r;
	}
	o = json_load_file(path, 0, &je);
	if (!o) {
		snprintf(err, errlen, "%s:%d: %s", path, je.line, je.text);
		return -EINVAL;
	}
	lab->pods = calloc(LAB_MAX_PODS, sizeof(*lab->pods));
	lab->k8s_ns = calloc(LAB_MAX_NSS, sizeof(*lab->k8s_ns));
	if (!lab->pods || !lab->k8s_ns) {
		r = -ENOMEM;
		goto out;
	}
	copy_str(lab->name, sizeof(lab->name), json_object_get(o, "name"));
	copy_str(lab->status, sizeof(lab->status), json_object_get(o, "status"));
	copy_str(lab->dir, sizeof(lab->dir), json_object_get(o, "dir"));
	copy_str(lab->node_ns, sizeof(lab->node_ns), json_object_get(o, "node_netns"));
	lab->topology = !strcmp(json_string_value(json_object_get(o, "topology")) ?: "", "bridge")
				? LAB_BRIDGE
				: LAB_ROUTED;
	lab->services = json_is_true(json_object_get(o, "services"));
	lab->nft_table = json_is_true(json_object_get(o, "nft_table"));
	if (strcmp(lab->name, name) || !lab_name_valid(lab->name) || !lab->node_ns[0]) {
		snprintf(err, errlen, "%s: not a lab state file (name '%s')", path, lab->name);
		r = -EINVAL;
		goto out;
	}
	json_array_foreach(json_object_get(o, "namespaces"), i, v)
	{
		if (lab->n_k8s_ns < LAB_MAX_NSS)
			copy_str(lab->k8s_ns[lab->n_k8s_ns++], sizeof(lab->k8s_ns[0]), v);
	}
	json_array_foreach(json_object_get(o, "pods"), i, v)
	{
		struct lab_pod *p;
		json_t *a, *pv;
		size_t j;

		if (lab->n_pods >= LAB_MAX_PODS)
			break;
		p = &lab->pods[lab->n_pods++];
		copy_str(p->ns, sizeof(p->ns), json_object_get(v, "namespace"));
		copy_str(p->name, sizeof(p->name), json_object_get(v, "name"));
		copy_str(p->netns, sizeof(p->netns), json_object_get(v, "netns"));
		copy_str(p->veth, sizeof(p->veth), json_object_get(v, "veth"));
		p->alloc4 = json_is_true(json_object_get(v, "allocated4"));
		p->alloc6 = json_is_true(json_object_get(v, "allocated6"));
		json_array_foreach(json_object_get(v, "addresses"), j, a)
			parse_addr(json_string_value(a) ?: "", p, false);
		json_array_foreach(json_object_get(v, "service_addresses"), j, a)
			parse_addr(json_string_value(a) ?: "", p, true);
		json_array_foreach(json_object_get(v, "ports"), j, pv)
		{
			struct lab_port *lp;

			if (p->n_ports >= LAB_MAX_PORTS)
				break;
			lp = &p->ports[p->n_ports];
			lp->port = (uint16_t)json_integer_value(json_object_get(pv, "port"));
			lp->svc_port =
				(uint16_t)json_integer_value(json_object_get(pv, "service_port"));
			if (lab_proto_parse(json_string_value(json_object_get(pv, "proto")) ?: "",
					    &lp->proto))
				continue;
			copy_str(lp->name, sizeof(lp->name), json_object_get(pv, "name"));
			p->n_ports++;
		}
		p->server_pid = (pid_t)json_integer_value(json_object_get(v, "server_pid"));
		p->server_start = json_integer_value(json_object_get(v, "server_start"));
		/* a name outside our own prefix would make `down` delete someone else's netns */
		if (strncmp(p->netns, lab->name, strlen(lab->name)) ||
		    p->netns[strlen(lab->name)] != '-') {
			snprintf(err, errlen, "%s: netns '%s' is not one of this lab's names", path,
				 p->netns);
			r = -EINVAL;
			goto out;
		}
	}
	v = json_object_get(o, "daemon");
	if (v) {
		lab->daemon_pid = (pid_t)json_integer_value(json_object_get(v, "pid"));
		lab->daemon_start = json_integer_value(json_object_get(v, "start"));
		copy_str(lab->daemon_path, sizeof(lab->daemon_path), json_object_get(v, "path"));
		copy_str(lab->bpffs, sizeof(lab->bpffs), json_object_get(v, "bpffs"));
		copy_str(lab->socket, sizeof(lab->socket), json_object_get(v, "socket"));
	}
	v = json_object_get(o, "bridge");
	if (v) {
		const char *s4 = json_string_value(json_object_get(v, "gateway4"));
		const char *s6 = json_string_value(json_object_get(v, "gateway6"));

		if (s4)
			inet_pton(AF_INET, s4, &lab->gw4);
		if (s6 && inet_pton(AF_INET6, s6, &lab->gw6) == 1)
			lab->has_net6 = true;
	}
out:
	json_decref(o);
	if (r) {
		if (!err[0])
			snprintf(err, errlen, "%s: %s", path, strerror(-r));
		lab_free(lab);
	}
	return r;
}

int lab_state_remove(const char *name)
{
	char path[512];

	if (lab_state_path(name, path, sizeof(path)))
		return -ENAMETOOLONG;
	if (unlink(path) && errno != ENOENT)
		return -errno;
	return 0;
}
