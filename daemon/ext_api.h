/* SPDX-License-Identifier: MIT */
/*
 * TEMPORARY.  A mirror of the two APIs podwalld is built around, written
 * before their code reached main:
 *   - engine: include/podwall/model.h (pw_model_load_dir, pw_compile)
 *   - dkern:  daemon/dataplane.h (pw_dp_*)
 * Only daemon/main.c and daemon/zz_ext_stub.c include this file.  When the
 * real headers land (`git merge main`), main.c includes them instead, the
 * adapter functions in main.c (build_cb, apply_cb, ...) are fitted to the
 * real signatures, and this file and zz_ext_stub.c are deleted.
 */
#ifndef PODWALL_DAEMON_EXT_API_H
#define PODWALL_DAEMON_EXT_API_H

#include <jansson.h>
#include <stdbool.h>

#include "podwall/image.h"

/* ---- engine ---- */
struct pw_model;
/* On failure *ret_errors: one "file:line:col: message" per line. */
int pw_model_load_dir(const char *dir, struct pw_model **ret_model, char **ret_errors);
int pw_compile(const struct pw_model *m, struct pw_image **ret_img, char **ret_errors);
void pw_model_free(struct pw_model *m);

/* ---- dkern ---- */
struct pw_dp;
struct pw_dp_opts {
	const char *bpffs;
	bool audit;
	bool xdp;
	bool log_allowed;
	char *const *uplinks;
	unsigned int n_uplinks;
	const char *node_name;
};
int pw_dp_open(const struct pw_dp_opts *opts, struct pw_dp **ret); /* lock, load or adopt */
int pw_dp_apply(struct pw_dp *dp, struct pw_image *img);	   /* write maps, then attach */
int pw_dp_netlink_fd(struct pw_dp *dp);				   /* -1: none */
int pw_dp_on_netlink(struct pw_dp *dp);
int pw_dp_status(struct pw_dp *dp, json_t **ret);
void pw_dp_close(struct pw_dp *dp); /* leaves enforcement in place */
int pw_dp_uninstall(const char *bpffs);

#endif
