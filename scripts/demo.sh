#!/usr/bin/env bash
# podwall demo: a network-namespace lab from examples/shop (a node netns,
# one netns per pod, routed veths), podwalld enforcing the example's
# policies in the node netns, real TCP connections allowed and denied, the
# endpoints, the flow records of the drops and a live trace.  Everything
# (namespaces, daemon, pins) is removed on exit, also on failure or Ctrl-C.
set -uo pipefail
cd "$(dirname "$0")/.."
B=${BUILD_DIR:-build}
CTL=$B/podwallctl
NET=$B/tests/tools/pwt_net
EX=${PW_DEMO_DIR:-examples/shop}
LAB=pwdemo$$
SOCK=/run/podwall/$LAB.sock
BPFFS=/sys/fs/bpf/$LAB

[ "$(id -u)" -eq 0 ] || { echo "demo: run as root (creates network namespaces)" >&2; exit 1; }
for f in "$CTL" "$B/podwalld" "$NET"; do
	[ -x "$f" ] || { echo "demo: $f is not built (make all tools)" >&2; exit 1; }
done

bold='' off=''
if [ -t 1 ]; then bold=$(tput bold 2>/dev/null || true) off=$(tput sgr0 2>/dev/null || true); fi
step() { printf '\n%s==> %s%s\n' "$bold" "$*" "$off"; }
run() { printf '%s$ %s%s\n' "$bold" "$*" "$off"; "$@"; }
ctl() { "$CTL" --socket "$SOCK" --bpffs "$BPFFS" "$@"; }

cleanup() {
	trap - EXIT INT TERM
	step "cleaning up"
	"$CTL" lab down --name "$LAB" 2>&1 | sed 's/^/  /'
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM

# connect SRC_NS/POD DST_NS/POD DST_IP PORT: a real TCP connection from the
# source pod's netns through the host veths
connect() {
	local src=$1 dst=$2 ip=$3 port=$4 src_ns
	src_ns=$LAB-${src%%/*}-${src#*/}
	if nsenter --net=/run/netns/"$src_ns" -- "$NET" tcp "$ip" "$port" 500; then
		printf '  %-14s -> %-14s %5s/tcp  %sALLOWED%s\n' "$src" "$dst" "$port" "$bold" "$off"
	else
		printf '  %-14s -> %-14s %5s/tcp  %sDENIED%s\n' "$src" "$dst" "$port" "$bold" "$off"
	fi
}

step "the policies ($EX)"
sed -n '/^kind: NetworkPolicy/,/^---/p' "$EX"/*.yaml | grep -v '^---' | sed 's/^/  /' | head -60

step "building the lab and starting podwalld in its node netns"
run "$CTL" lab up "$EX" --name "$LAB" || exit 1

step "endpoints as podwalld sees them"
run ctl endpoint list

step "policies in force, as compiled"
run ctl policy list

ip_of() { # NS/POD -> first IPv4 address, from the daemon
	ctl -j endpoint list | python3 -c '
import json, sys
ns, name = sys.argv[1].split("/")
for e in json.load(sys.stdin)["endpoints"]:
    if e["namespace"] == ns and e["name"] == name:
        print([a for a in e["ips"] if ":" not in a][0])' "$1"
}
FRONT=$(ip_of shop/frontend) API=$(ip_of shop/api) DB=$(ip_of shop/db) CLIENT=$(ip_of other/client)

step "real TCP connections through the kernel datapath"
connect shop/frontend shop/api "$API" 8080
connect shop/api shop/db "$DB" 5432
connect shop/frontend shop/db "$DB" 5432
connect other/client shop/api "$API" 8080
connect shop/frontend shop/api "$API" 9090
connect shop/db other/client "$CLIENT" 80

step "the drops, with reason and policy"
sleep 0.2
run ctl flows --verdict drop

step "why can't frontend reach db? (live trace over the maps in force)"
run ctl trace shop/frontend shop/db 5432/tcp
run ctl trace shop/frontend shop/api 8080/tcp

step "the whole matrix (podwallctl lab probe)"
run "$CTL" lab probe --name "$LAB" --family 4
