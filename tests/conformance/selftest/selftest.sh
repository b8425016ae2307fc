#!/usr/bin/env bash
# selftest.sh: proves run.sh can pass and can fail, with an oracle stand-in for podwallctl
# (mock-podwallctl answers from the expectation files; MOCK_BREAK=allow makes it wrong).
# No network, no podwall code. Prints PASS:/FAIL: lines.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
. "$HERE/lib.sh"
RUN=$HERE/run.sh
MOCK=$HERE/selftest/mock-podwallctl
TMP=$(mktemp -d "${TMPDIR:-/tmp}/pwconf-self.$$.XXXXXX") || exit 1
trap 'rm -rf "$TMP"' EXIT
export MOCK_STATE=$TMP/lab-state
fails=0
ok() { echo "PASS: conformance selftest: $1"; }
bad() { echo "FAIL: conformance selftest: $1"; fails=$((fails + 1)); }

# how many cases have at least one blocked cell somewhere (those must fail when broken)
want_broken=0
for d in "$HERE"/cases/*/; do
	grep -qs '^[xyz]/[a-z] .*\.' "$d"/step*/expect-*.txt && want_broken=$((want_broken + 1))
done

out=$(PODWALLCTL=$MOCK "$RUN" --mode offline -j 2 2>&1)
last=$(tail -n1 <<<"$out")
[[ $last == "48 passed, 0 failed, 0 skipped" ]] && ok "offline oracle: $last" || bad "offline oracle: $last"

out=$(PODWALLCTL=$MOCK MOCK_BREAK=allow "$RUN" --mode offline --addr v4 -j 2 2>&1)
last=$(tail -n1 <<<"$out")
[[ $last == "$((48 - want_broken)) passed, $want_broken failed, 0 skipped" ]] &&
	ok "offline broken: $last" || bad "offline broken: $last (want $want_broken failed)"
grep -q '^FAIL: 02 .*x/a->x/b (v4): want deny, trace says allow' <<<"$out" &&
	ok "offline broken: failure names the cell" || bad "offline broken: cell not named: $(grep '^FAIL: 02' <<<"$out")"

out=$(PODWALLCTL=/nonexistent "$RUN" --case 1 2>&1)
grep -q '^SKIP: 01 .*not built' <<<"$out" && ok "missing podwallctl is a SKIP" || bad "missing podwallctl: $out"

if [[ $EUID -eq 0 ]]; then
	for c in 15 21 33 36; do
		out=$(PODWALLCTL=$MOCK MOCK_CASE=$c "$RUN" --mode lab --case $c 2>&1)
		last=$(tail -n1 <<<"$out")
		[[ $last == "1 passed, 0 failed, 0 skipped" ]] && ok "lab oracle case $c" || bad "lab oracle case $c: $out"
		out=$(PODWALLCTL=$MOCK MOCK_CASE=$c MOCK_BREAK=allow LAB_RETRIES=2 "$RUN" --mode lab --case $c 2>&1)
		last=$(tail -n1 <<<"$out")
		[[ $last == "0 passed, 1 failed, 0 skipped" ]] && ok "lab broken case $c" || bad "lab broken case $c: $out"
	done
	out=$(PODWALLCTL=$MOCK MOCK_CASE=21 "$RUN" --mode lab --via both --case 21 2>&1)
	[[ $(tail -n1 <<<"$out") == "1 passed, 0 failed, 0 skipped" ]] && ok "lab oracle --via both" || bad "lab --via both: $out"
	out=$(PODWALLCTL=$MOCK MOCK_CASE=21 MOCK_BREAK=allow LAB_RETRIES=1 "$RUN" --mode lab --via both --case 21 2>&1)
	grep -q '^FAIL: 21 .*via service' <<<"$out" && ok "lab broken --via both names the service probe" ||
		bad "lab broken --via both: $out"
	[[ ! -e $MOCK_STATE ]] && ok "lab down after every case" || bad "lab left up"
	out=$(PODWALLCTL=$MOCK MOCK_CASE=46 "$RUN" --mode lab --case 46 2>&1)
	if kernel_has_sctp; then
		[[ $(tail -n1 <<<"$out") == "1 passed, 0 failed, 0 skipped" ]] && ok "lab SCTP case runs" || bad "lab SCTP: $out"
	else
		grep -q '^SKIP: 46 .*\[SCTP\]: kernel has no SCTP (CONFIG_IP_SCTP not set)' <<<"$out" &&
			ok "lab SCTP case skipped without kernel SCTP" || bad "lab SCTP skip: $out"
	fi
else
	echo "SKIP: conformance selftest: lab mode: needs root"
fi
exit $((fails > 0))
