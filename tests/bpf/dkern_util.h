/* SPDX-License-Identifier: MIT */
/*
 * Helpers for the dkern kernel-facing tests: build the stand-in BPF objects
 * (tests/bpf/objs/dkern_maps.bpf.c) with clang into a temporary directory,
 * and name a private bpffs directory per test.  Tests skip with the reason
 * when not root or when clang/BPF is unavailable.
 */
#ifndef DKERN_UTIL_H
#define DKERN_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct dk_objs {
	char dir[64];
	char tc[128], xdp[128], bad[128];
	int ok;
};

static struct dk_objs dk_objs;

/* Returns NULL when ready, else the reason to skip. */
static const char *dk_prepare(void)
{
	static const char *src = "tests/bpf/objs/dkern_maps.bpf.c";
	static const char *cc = "clang -target bpf -O2 -g -D__TARGET_ARCH_x86 -I include "
				"-I /usr/include/x86_64-linux-gnu -Wall -Werror";
	const char *v[3] = { "", "-DPW_TEST_XDP", "-DPW_TEST_BAD_EP" };
	char *out[3] = { dk_objs.tc, dk_objs.xdp, dk_objs.bad };
	char cmd[512];

	if (dk_objs.ok)
		return NULL;
	if (geteuid() != 0)
		return "needs root (BPF maps, bpffs pins)";
	if (access(src, R_OK))
		return "run from the repository root (tests/bpf/objs missing)";
	strcpy(dk_objs.dir, "/tmp/pwtest-dkern-XXXXXX");
	if (!mkdtemp(dk_objs.dir))
		return "mkdtemp failed";
	for (int i = 0; i < 3; i++) {
		snprintf(out[i], 128, "%s/obj%d.bpf.o", dk_objs.dir, i);
		snprintf(cmd, sizeof(cmd), "%s %s -c %s -o %s 2>&1", cc, v[i], src, out[i]);
		if (system(cmd))
			return "clang cannot build the test BPF object";
	}
	dk_objs.ok = 1;
	return NULL;
}

static void dk_cleanup_objs(void)
{
	char cmd[160];

	/* pins of tests that failed half-way */
	snprintf(cmd, sizeof(cmd), "rm -rf /sys/fs/bpf/pwtest-dkern-*-%d-*", (int)getpid());
	if (system(cmd)) {
	}
	if (!dk_objs.dir[0])
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dk_objs.dir);
	if (system(cmd)) {
	}
	dk_objs.dir[0] = 0;
	dk_objs.ok = 0;
}

static void dk_bpffs_name(char *buf, size_t len, const char *what)
{
	static int n;

	snprintf(buf, len, "/sys/fs/bpf/pwtest-dkern-%s-%d-%d", what, (int)getpid(), n++);
}

#define DK_SKIP_UNLESS_READY()                             \
	do {                                               \
		const char *why_ = dk_prepare();           \
		if (why_) {                                \
			print_message("skip: %s\n", why_); \
			skip();                            \
		}                                          \
	} while (0)

#endif
