#!/usr/bin/env bash
# make conformance [SEEDS=N]: the upstream NetworkPolicy e2e cases through the
# real datapath in a netns lab, then N seeded random scenarios compared with
# an independent reference evaluator.  Ends with "N passed, N failed[, N skipped]".
set -u
cd "$(dirname "$0")/.."
exec tests/conformance/run.sh --mode lab
