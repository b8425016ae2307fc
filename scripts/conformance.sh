#!/usr/bin/env bash
# make conformance [SEEDS=N]: the upstream NetworkPolicy e2e cases through the
# real datapath in a netns lab (each case probed at the pod addresses and at the
# ClusterIP-style service addresses), then N seeded random scenarios (default
# 20) compared with an independent reference evaluator.  Ends with
# "N passed, N failed, N skipped" over both.  CONFORMANCE_SERVICES=0 probes the
# pod addresses only.
set -u
cd "$(dirname "$0")/.."
SEEDS=${SEEDS:-20}
SERVICES=${CONFORMANCE_SERVICES:-1}
LOG=$(mktemp "${TMPDIR:-/tmp}/pwconformance.XXXXXX") || exit 1
trap 'rm -f "$LOG"' EXIT

total_p=0 total_f=0 total_s=0
tally() { # NAME: adds the last "N passed, N failed, N skipped" line of $LOG
	local line p f s
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$LOG" | tail -1)
	if [[ -z $line ]]; then
		echo "conformance: $1 printed no summary" >&2
		total_f=$((total_f + 1))
		return
	fi
	read -r p _ f _ s _ <<<"${line//,/}"
	echo "== $1: $line"
	total_p=$((total_p + p)) total_f=$((total_f + f)) total_s=$((total_s + ${s:-0}))
}

VIA=both
[[ $SERVICES == 1 ]] || VIA=pod
echo "== upstream cases through the lab (probes via: $VIA)"
tests/conformance/run.sh --mode lab --via "$VIA" | tee "$LOG"
tally "upstream (via $VIA)"
echo "== $SEEDS random scenarios vs the reference evaluator"
tests/conformance/random.sh --seeds "$SEEDS" | tee "$LOG"
tally "random"
echo "$total_p passed, $total_f failed, $total_s skipped"
((total_f == 0))
