#!/usr/bin/env bash
# Harness smoke test: two namespaces joined by a veth, a real UDP datagram
# from one to the other, then the smoke tc program (bpf/podwall_smoke.bpf.c)
# on the receiving veth's ingress: port 9 must be dropped, port 10 must pass.
. "$(dirname "$0")/lib.sh"

require_root netns_smoke
require_cmd ip tc nsenter timeout

UDP=$PW_TOOLS/pwt_udp
OBJ=$PW_BUILD/bpf/podwall_smoke.bpf.o
[ -x "$UDP" ] || { fail setup "$UDP not built (run make tools)"; finish; }

netns_add a || { fail setup "cannot create network namespace"; finish; }
A=$REPLY
netns_add b || { fail setup "cannot create network namespace"; finish; }
B=$REPLY
veth_pair "$A" veth-a "$B" veth-b || { fail setup "cannot create veth pair"; finish; }
ns_ip "$A" addr add 10.199.0.1/30 dev veth-a
ns_ip "$B" addr add 10.199.0.2/30 dev veth-b

# udp_check PORT MSG: send MSG from A to B:PORT; prints what B received.
# Returns 0 if the datagram arrived, 1 if not.
udp_check() {
	local port=$1 msg=$2 out=$PW_TMP/recv.$1 err=$PW_TMP/recv.$1.err pid i
	in_ns "$B" "$UDP" recv "$port" 1000 >"$out" 2>"$err" &
	pid=$!
	for i in $(seq 50); do
		grep -q ready "$err" 2>/dev/null && break
		sleep 0.02
	done
	in_ns "$A" "$UDP" send 10.199.0.2 "$port" "$msg" || true
	wait "$pid"
	local rc=$?
	[ $rc -eq 0 ] && [ "$(cat "$out")" = "$msg" ]
}

if udp_check 10 "hello-$PW_PREFIX"; then
	pass "udp datagram crosses the veth between namespaces"
else
	fail "udp datagram crosses the veth between namespaces" "not received: $(cat "$PW_TMP"/recv.10.err)"
fi

# --- tc smoke program ---------------------------------------------------
if [ ! -f "$OBJ" ]; then
	fail "tc smoke program" "$OBJ not built"
	finish
fi
if ! ns_tc "$B" qdisc add dev veth-b clsact 2>"$PW_TMP/tc.err"; then
	skip "tc smoke program" "clsact qdisc unavailable: $(head -1 "$PW_TMP/tc.err")"
	finish
fi
# tc's BPF loader creates its pinning tree (/sys/fs/bpf/tc/globals and the
# ip, xdp links) on first use: remove it afterwards if it was not there.
if [ ! -e /sys/fs/bpf/tc ]; then
	pw_cleanup_hook() {
		rmdir /sys/fs/bpf/tc/globals /sys/fs/bpf/tc 2>/dev/null &&
			rm -f /sys/fs/bpf/ip /sys/fs/bpf/xdp
	}
fi
if ! ns_tc "$B" filter add dev veth-b ingress bpf da obj "$OBJ" sec tc 2>"$PW_TMP/tc.err"; then
	skip "tc smoke program" "cannot attach BPF with tc: $(head -3 "$PW_TMP/tc.err" | tr '\n' ' ')"
	finish
fi
if ns_tc "$B" filter show dev veth-b ingress | grep -q podwall_smoke; then
	pass "smoke program attached to veth ingress"
else
	fail "smoke program attached to veth ingress" "not listed by tc filter show"
fi

if udp_check 9 "drop-me"; then
	fail "udp to port 9 dropped by tc program" "datagram arrived"
else
	pass "udp to port 9 dropped by tc program"
fi
if udp_check 10 "pass-me"; then
	pass "udp to port 10 passes the tc program"
else
	fail "udp to port 10 passes the tc program" "not received: $(cat "$PW_TMP"/recv.10.err)"
fi

finish
