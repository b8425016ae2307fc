/* SPDX-License-Identifier: MIT */
#ifndef PODWALL_DAEMON_VERSION_H
#define PODWALL_DAEMON_VERSION_H

/* Version string of this build, e.g. "0.1.0-g1a2b3c4" (never NULL or empty). */
const char *pw_version(void);

#endif
