// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>

#include "caps.h"
#include "log.h"

int pw_caps_drop(bool keep_sys_admin)
{
	cap_value_t keep[4] = { CAP_BPF, CAP_NET_ADMIN, CAP_PERFMON, CAP_SYS_ADMIN };
	int n_keep = keep_sys_admin ? 4 : 3;
	cap_t caps;
	int r = 0;

	/* Bounding set first: it needs CAP_SETPCAP, which goes next. */
	for (cap_value_t c = 0; c <= CAP_LAST_CAP; c++) {
		bool kept = false;

		for (int i = 0; i < n_keep; i++)
			kept |= keep[i] == c;
		if (!kept && cap_drop_bound(c) < 0 && errno != EINVAL && errno != EPERM) {
			pw_warn("caps: cannot drop %s from the bounding set: %m", cap_to_name(c));
			break;
		}
	}
	caps = cap_init(); /* all clear */
	if (!caps)
		return -errno;
	if (cap_set_flag(caps, CAP_PERMITTED, n_keep, keep, CAP_SET) < 0 ||
	    cap_set_flag(caps, CAP_EFFECTIVE, n_keep, keep, CAP_SET) < 0 || cap_set_proc(caps) < 0)
		r = -errno;
	cap_free(caps);
	/* No ambient or inheritable capabilities leak into anything exec'd. */
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	return r;
}

char *pw_caps_text(void)
{
	cap_t caps = cap_get_proc();
	char *t, *s;

	if (!caps)
		return NULL;
	t = cap_to_text(caps, NULL);
	cap_free(caps);
	if (!t)
		return NULL;
	s = strdup(t);
	cap_free(t);
	return s;
}
