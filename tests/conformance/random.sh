#!/usr/bin/env bash
# random.sh: seeded random NetworkPolicy scenarios enforced through the real datapath and
# compared with the reference evaluator (tests/unit/refeval.c, independent of the compiler).
#
#   tests/conformance/random.sh [--seeds N] [--first S] [--services] [-v]
#
# One lab (podwallctl lab up) with the fixed pods of build/bench/conf_random (8 pods in 3
# namespaces, dual stack, named ports whose numbers differ between pods). For each seed
# S..S+N-1: `conf_random gen SEED` writes namespaces, pods (labels vary) and 1-6 policies;
# the lab's directory is rewritten in place (podwalld reloads), `lab probe -j` probes every
# ordered pod pair on each destination container port (TCP, UDP; IPv4 and IPv6), and
# `conf_random check` compares observed and predicted with the reference. A seed whose
# probe differs is probed again (up to LAB_RETRIES times, 1 s apart, like upstream).
# Prints PASS:/FAIL: per seed and ends with "N passed, N failed, N skipped".
#
# Environment: PODWALLCTL, CONF_RANDOM (default <repo>/build/bench/conf_random),
#   LAB_UP_ARGS, LAB_PROBE_ARGS, LAB_RETRIES (default 3), LAB_NAME, LAB_SETTLE_MS,
#   KEEP_FAILED=DIR (copy a failing seed's directory and probe output there).
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
# shellcheck source=tests/conformance/lib.sh
. "$HERE/lib.sh"

PODWALLCTL=${PODWALLCTL:-$REPO/build/podwallctl}
CONF_RANDOM=${CONF_RANDOM:-$REPO/build/bench/conf_random}
LAB_UP_ARGS=${LAB_UP_ARGS:-}
LAB_PROBE_ARGS=${LAB_PROBE_ARGS:-}
LAB_RETRIES=${LAB_RETRIES:-3}
LAB_NAME=${LAB_NAME:-pwrand$$}
LAB_SETTLE_MS=${LAB_SETTLE_MS:-100}
KEEP_FAILED=${KEEP_FAILED:-}
SEEDS=20
FIRST=1
VERBOSE=0

while [[ $# -gt 0 ]]; do
	case "$1" in
	--seeds) SEEDS=${2:-}; shift 2 ;;
	--first) FIRST=${2:-}; shift 2 ;;
	--services) LAB_UP_ARGS+=" --services"; LAB_PROBE_ARGS+=" --services"; shift ;;
	-v) VERBOSE=1; shift ;;
	-h | --help) sed -n '2,19s/^# \{0,1\}//p' "$0" >&2; exit 2 ;;
	*) echo "random.sh: unknown argument '$1'" >&2; exit 2 ;;
	esac
done
[[ $SEEDS =~ ^[0-9]+$ && $SEEDS -le 100000 ]] || { echo "random.sh: --seeds wants 0..100000" >&2; exit 2; }
[[ $FIRST =~ ^[0-9]+$ ]] || { echo "random.sh: --first wants a number" >&2; exit 2; }
[[ $LAB_RETRIES =~ ^[1-9][0-9]*$ && $LAB_RETRIES -le 60 ]] || { echo "random.sh: LAB_RETRIES wants 1..60" >&2; exit 2; }

vlog() { ((VERBOSE)) && echo "  $*" >&2; return 0; }
DIFFS=()
add_diff() { DIFFS+=("$*"); }

skip_all() {
	echo "SKIP: random seeds $FIRST..$((FIRST + SEEDS - 1)): $1"
	echo "0 passed, 0 failed, $SEEDS skipped"
	exit 0
}
((SEEDS > 0)) || { echo "0 passed, 0 failed, 0 skipped"; exit 0; }
[[ -x $PODWALLCTL ]] || skip_all "$PODWALLCTL not built"
[[ -x $CONF_RANDOM ]] || skip_all "$CONF_RANDOM not built"
[[ $EUID -eq 0 ]] || skip_all "the lab needs root"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/pwrand.$$.XXXXXX") || exit 1
LAB_IS_UP=0
cleanup() {
	((LAB_IS_UP)) && "$PODWALLCTL" lab down --name "$LAB_NAME" >/dev/null 2>&1
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

LAB_LIVE=$WORK/live
STAGE=$WORK/stage
mkdir -p "$LAB_LIVE" "$STAGE"
"$CONF_RANDOM" gen "$FIRST" "$LAB_LIVE" || exit 1
# shellcheck disable=SC2086 # LAB_UP_ARGS is a list of flags
if ! out=$("$PODWALLCTL" lab up "$LAB_LIVE" --name "$LAB_NAME" --force $LAB_UP_ARGS 2>&1); then
	echo "FAIL: random: lab up failed: $(head -c 300 <<<"$out" | tr '\n' ' ')"
	echo "0 passed, $SEEDS failed, 0 skipped"
	exit 1
fi
LAB_IS_UP=1
out=$("$PODWALLCTL" -j lab show --name "$LAB_NAME" 2>/dev/null)
LAB_SOCKET=
[[ $out =~ \"socket\":\"([^\"]*)\" ]] && LAB_SOCKET=${BASH_REMATCH[1]}

pass=0 fail=0 retried=0 probes=0
for ((seed = FIRST; seed < FIRST + SEEDS; seed++)); do
	DIFFS=()
	rm -f "$STAGE"/*.yaml
	if ! "$CONF_RANDOM" gen "$seed" "$STAGE"; then
		echo "FAIL: random seed $seed: generator failed"
		fail=$((fail + 1))
		continue
	fi
	lab_apply "$STAGE" || add_diff "cannot update the lab directory"
	res= first=
	for ((try = 1; try <= LAB_RETRIES; try++)); do
		# shellcheck disable=SC2086 # LAB_PROBE_ARGS is a list of flags
		if ! "$PODWALLCTL" -j lab probe --name "$LAB_NAME" $LAB_PROBE_ARGS >"$WORK/probe.json" 2>"$WORK/probe.err"; then
			res="lab probe failed: $(head -c 200 "$WORK/probe.err" "$WORK/probe.json" | tr '\n' ' ')"
		elif res=$("$CONF_RANDOM" check "$LAB_LIVE" "$WORK/probe.json" 2>&1); then
			res=
			break
		fi
		((try == 1)) && first=$(head -3 <<<"$res" | tr '\n' ' ')
		vlog "seed $seed try $try: $(head -3 <<<"$res" | tr '\n' ' ')"
		((try < LAB_RETRIES)) && sleep 1
	done
	((try > 1 && try <= LAB_RETRIES)) && retried=$((retried + 1))
	if [[ -n $res ]]; then
		nd=$(sed -n 's/.*, \([0-9]*\) differ$/\1/p' <<<"$res")
		add_diff "${nd:-?} differences: $(grep -v '^[0-9]* probes' <<<"$res" | head -8 | sed 's/^DIFF //' | tr '\n' ';')"
	fi
	n=$(grep -o '"src"' "$WORK/probe.json" 2>/dev/null | wc -l)
	probes=$((probes + n))
	if ((${#DIFFS[@]} == 0)); then
		# a retry is not a failure (upstream polls too) but is shown with what differed
		echo "PASS: random seed $seed ($n probes$( ((try > 1)) && echo ", matched at try $try; try 1: $first"))"
		pass=$((pass + 1))
	else
		echo "FAIL: random seed $seed: ${DIFFS[*]}"
		fail=$((fail + 1))
		if [[ -n $KEEP_FAILED ]]; then
			mkdir -p "$KEEP_FAILED/seed$seed" && cp "$LAB_LIVE"/*.yaml "$WORK/probe.json" "$KEEP_FAILED/seed$seed/"
		fi
	fi
done
"$PODWALLCTL" lab down --name "$LAB_NAME" >/dev/null 2>&1 || echo "random.sh: lab down failed" >&2
LAB_IS_UP=0
echo "random: $probes probes over $SEEDS seeds; $retried seed(s) needed a retry"
echo "$pass passed, $fail failed, 0 skipped"
((fail == 0))
