#!/usr/bin/env bash
# The 48 upstream Kubernetes NetworkPolicy e2e cases through the real datapath:
# one netns lab (routed topology) with the whole upstream model (x,y,z x a,b,c,
# dual stack, 80/81 TCP+UDP) and podwalld enforcing; each case and step rewrites
# the lab's policy directory in place, waits for podwalld's reload and probes
# the case's pods over IPv4 and IPv6, both to the pod addresses and to the
# ClusterIP-style service addresses (lab --services, as upstream probes
# services).  observed AND predicted must equal the hand-transcribed
# expectation.  SCTP cases are SKIPs when the kernel has no SCTP.  Offline
# (compiler/evaluator only): test_conformance_offline.sh.
set -u
cd "$(dirname "$0")/../.."
exec tests/conformance/run.sh --mode lab --via both
