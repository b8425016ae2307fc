#!/bin/sh
# Build build/lab-harness/podwallctl: the lab object alone (ctl/cmd_lab.c,
# ctl/lab_*.c) with a minimal dispatcher, until ctl/main.c is merged.
set -e
cd "$(dirname "$0")/../.."
B=${BUILD_DIR:-build}/lab-harness
mkdir -p "$B"
${CC:-gcc} -std=gnu11 -Wall -Wextra -Werror -O1 -g -D_GNU_SOURCE ${EXTRA_CFLAGS:-} -I include -I ctl \
	$(pkg-config --cflags jansson yaml-0.1) \
	tests/lab/harness_main.c ctl/cmd_lab.c ctl/lab_*.c \
	$(pkg-config --libs jansson yaml-0.1) ${EXTRA_LDFLAGS:-} -o "$B/podwallctl"
echo "$B/podwallctl"
