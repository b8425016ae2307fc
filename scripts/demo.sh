#!/usr/bin/env bash
# podwall demo. The daemon (podwalld) does not exist yet, so this shows only
# what the foundation can do today: two network namespaces ("pods") joined by
# a veth, a UDP datagram between them, then the harness smoke tc program
# dropping UDP port 9 on the receiving veth. Everything is removed on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
B=${BUILD_DIR:-build}
UDP=$B/tests/tools/pwt_udp
OBJ=$B/bpf/podwall_smoke.bpf.o
P=pwdemo$$
NS1=$P-client NS2=$P-server

[ "$(id -u)" -eq 0 ] || { echo "demo: run as root (creates network namespaces)" >&2; exit 1; }

in_ns() { # NS CMD...: like `ip -n`, without remounting / and /sys
	local ns=$1
	shift
	nsenter --net=/run/netns/"$ns" -- "$@"
}

cleanup() {
	ip netns del "$NS1" 2>/dev/null || true
	ip netns del "$NS2" 2>/dev/null || true
}
trap cleanup EXIT INT TERM

echo "NOTE: podwalld is not implemented yet; this demo shows the netns lab and"
echo "      the tc attachment path using a test-only smoke program."
echo
echo "+ creating namespaces $NS1 and $NS2 joined by a veth (10.199.1.1 <-> 10.199.1.2)"
ip netns add "$NS1"
ip netns add "$NS2"
in_ns "$NS1" ip link add eth0 type veth peer name eth0 netns "$NS2"
in_ns "$NS1" ip addr add 10.199.1.1/30 dev eth0
in_ns "$NS2" ip addr add 10.199.1.2/30 dev eth0
in_ns "$NS1" ip link set eth0 up
in_ns "$NS2" ip link set eth0 up

send_and_receive() { # PORT MSG
	nsenter --net=/run/netns/"$NS2" "$UDP" recv "$1" 1000 2>/dev/null &
	local pid=$!
	sleep 0.2
	nsenter --net=/run/netns/"$NS1" "$UDP" send 10.199.1.2 "$1" "$2"
	if wait "$pid"; then echo "  -> received on port $1"; else echo "  -> NOT received on port $1 (dropped)"; fi
}

echo "+ sending UDP 'hello' to 10.199.1.2:10 and :9 without any program"
send_and_receive 10 hello
send_and_receive 9 hello

echo "+ attaching $OBJ (drops UDP to port 9) to the server's eth0 ingress"
in_ns "$NS2" tc qdisc add dev eth0 clsact
in_ns "$NS2" tc filter add dev eth0 ingress bpf da obj "$OBJ" sec tc
in_ns "$NS2" tc filter show dev eth0 ingress

echo "+ sending again"
send_and_receive 10 hello
send_and_receive 9 hello

echo "+ cleaning up"
