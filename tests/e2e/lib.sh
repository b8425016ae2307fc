# shellcheck shell=bash
# Helpers for e2e tests. Source it from tests/e2e/test_*.sh.
#
# A test prints one line per check: "PASS: name", "FAIL: name: reason" or
# "SKIP: name: reason" (counted by tests/run.sh). Everything a test creates
# (network namespaces, and the veths inside them) is named with $PW_PREFIX
# and removed by an EXIT/INT/TERM trap, whatever happens. Tests never touch
# interfaces of the root namespace: veth pairs are created inside a netns.

set -uo pipefail

PW_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PW_BUILD=${BUILD_DIR:-build}
case $PW_BUILD in /*) ;; *) PW_BUILD=$PW_ROOT/$PW_BUILD ;; esac
PW_TOOLS=$PW_BUILD/tests/tools
PW_PREFIX=pwt$$
PW_NETNS=()
PW_TMP=$(mktemp -d "${TMPDIR:-/tmp}/$PW_PREFIX.XXXXXX")
PW_FAILED=0

pass() { echo "PASS: $1"; }
fail() {
	echo "FAIL: $1: ${2:-failed}"
	PW_FAILED=1
}
skip() { echo "SKIP: $1: ${2:-skipped}"; }

# Skip the whole test file (with a SKIP line for NAME) and exit 0.
skip_all() {
	skip "$1" "$2"
	exit 0
}

require_root() {
	[ "$(id -u)" -eq 0 ] || skip_all "${1:-$(basename "$0" .sh)}" "needs root"
}

require_cmd() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 ||
			skip_all "$(basename "$0" .sh)" "command '$c' not found"
	done
}

pw_cleanup() {
	local ns
	trap - EXIT INT TERM
	# Deleting a namespace deletes the veths inside it (and their peers).
	for ns in "${PW_NETNS[@]}"; do
		ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null
		ip netns del "$ns" 2>/dev/null
	done
	rm -rf "$PW_TMP"
	# a test may register more cleanup (e.g. pins it created)
	if declare -F pw_cleanup_hook >/dev/null; then
		pw_cleanup_hook
	fi
}
trap pw_cleanup EXIT
trap 'pw_cleanup; exit 130' INT
trap 'pw_cleanup; exit 143' TERM

# netns_add NAME: create namespace $PW_PREFIX-NAME with lo up, register it
# for cleanup and leave its full name in $REPLY (call it directly, not in
# $(...), or the cleanup list is lost with the subshell).
netns_add() {
	local ns=$PW_PREFIX-$1
	ip netns add "$ns" || return 1
	PW_NETNS+=("$ns")
	ns_ip "$ns" link set lo up
	REPLY=$ns
}

# veth_pair NS1 IF1 NS2 IF2: veth pair created inside NS1, peer moved to NS2,
# both up. Never touches the root namespace.
veth_pair() {
	local ns1=$1 if1=$2 ns2=$3 if2=$4
	ns_ip "$ns1" link add "$if1" type veth peer name "$if2" netns "$ns2" || return 1
	ns_ip "$ns1" link set "$if1" up && ns_ip "$ns2" link set "$if2" up
}

# in_ns NS CMD...: run CMD in NS, sharing the host mount namespace.
# Use this (or ns_ip/ns_tc) rather than `ip -n`/`ip netns exec`: those
# remount / and /sys, which fails where / is not a mount point (chroots) and
# hides the host's bpffs.
in_ns() {
	local ns=$1
	shift
	nsenter --net=/run/netns/"$ns" -- "$@"
}
ns_ip() {
	local ns=$1
	shift
	in_ns "$ns" ip "$@"
}
ns_tc() {
	local ns=$1
	shift
	in_ns "$ns" tc "$@"
}

# Exit status for the end of a test file.
finish() {
	exit "$PW_FAILED"
}
