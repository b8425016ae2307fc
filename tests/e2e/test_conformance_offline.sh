#!/usr/bin/env bash
# The 48 upstream Kubernetes NetworkPolicy e2e cases, decided offline by
# `podwallctl -j trace --policy-dir` for every cell of every step, by pod
# name, IPv4 and IPv6 address.  Expectations are hand-transcribed from the
# upstream test (tests/conformance/cases/*/expect-*.txt), never computed by
# podwall.  The same cases run through the real datapath in
# test_conformance_lab.sh.
set -u
cd "$(dirname "$0")/../.."
exec tests/conformance/run.sh --mode offline -j 2
