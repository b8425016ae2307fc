/* SPDX-License-Identifier: MIT */
#ifndef PODWALL_DAEMON_CAPS_H
#define PODWALL_DAEMON_CAPS_H

#include <stdbool.h>

/*
 * After everything is loaded, pinned and attached, keep only what the
 * running daemon still uses:
 *   CAP_BPF        map updates through held fds need none, but BPF_OBJ_GET of
 *                  pins, BPF_MAP_CREATE of new inner maps and (re)loading
 *                  programs for a new veth do;
 *   CAP_NET_ADMIN  tc/XDP attach and detach on new veths (netlink);
 *   CAP_SYS_ADMIN  only when keep_sys_admin: BPF_*_GET_FD_BY_ID (inspecting
 *                  other tc filters on a hook) still requires it on 6.x.
 *   CAP_PERFMON    kept with CAP_BPF: loading programs that read pointers.
 * inotify, signalfd, timerfd, the Unix socket and the flow log need no
 * capability (the daemon stays uid 0, so root-owned files remain its own).
 * The bounding set is reduced too when CAP_SETPCAP allows it.
 * Returns 0 or -errno.
 */
int pw_caps_drop(bool keep_sys_admin);

/* "cap_net_admin,cap_bpf=ep" (malloc'd) for logs and status; NULL on error. */
char *pw_caps_text(void);

#endif
