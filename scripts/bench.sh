#!/usr/bin/env bash
# make bench: podwall against what an operator would run instead (nftables
# sets, iptables, iptables+ipset), the tc/XDP drop-all floors and no
# enforcement, on the same netns lab and the same traffic, in one run.
# Writes bench/results.json (flat name -> number) and docs/BENCHMARKS.md.
# QUICK=1: fewer sizes and shorter windows (< 3 min); default < 15 min.
# See /work/shared/BENCH-NOTES.md for why the traffic is generated this way.
set -euo pipefail
cd "$(dirname "$0")/.."

B=${BUILD_DIR:-build}
QUICK=${QUICK:-0}
PW_OBJDIR=${PW_OBJDIR:-$B} # where bpf/podwall_{tc,xdp}.bpf.o are
BD=$B/bench
RUNS=$BD/runs.jsonl
TAG=pwb$$
PIN=/sys/fs/bpf/pwtest-bench-$$
NSLIST=()
PIDS=()
T_START=$(date +%s)
CMDLINE="make bench${QUICK:+ QUICK=$QUICK}"
[ "$QUICK" = 0 ] && CMDLINE="make bench"

die() { echo "bench: $*" >&2; exit 1; }
log() { printf 'bench: [%3ss] %s\n' $(($(date +%s) - T_START)) "$*" >&2; }

cleanup() {
	local p n
	for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
	for n in "${NSLIST[@]:-}"; do [ -n "$n" ] && ip netns del "$n" 2>/dev/null || true; done
	rm -rf "$PIN" 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[ "$(id -u)" = 0 ] || die "needs root (network namespaces, BPF)"
for t in ip nsenter ethtool clang gcc python3; do
	command -v $t >/dev/null || die "missing $t"
done

# ---- build the bench tools ------------------------------------------------
mkdir -p "$BD"
clang -target bpf -O2 -g -D__TARGET_ARCH_x86 -I include -I /usr/include/x86_64-linux-gnu \
	-Wall -Werror -c bench/bpf/pwb.bpf.c -o "$BD/pwb.bpf.o"
gcc -O2 -g -std=gnu11 -Wall -Wextra -Werror -I include -D_GNU_SOURCE bench/pwbench.c \
	-o "$BD/pwbench" -lbpf -lelf -lz -lpthread
PWB=$BD/pwbench
PKG_LIBS=$(pkg-config --libs libbpf libnl-3.0 libnl-route-3.0 jansson yaml-0.1 2>/dev/null || echo -lbpf)
PKG_CFLAGS=$(pkg-config --cflags libbpf libnl-3.0 libnl-route-3.0 jansson yaml-0.1 2>/dev/null || true)
# Benchmarks other engineers own (bench/perpacket.c, bench/compile_bench.c):
# built against libpodwall.a when they exist; each prints one JSON object.
for src in bench/perpacket.c bench/compile_bench.c; do
	[ -f "$src" ] || continue
	n=$(basename "$src" .c)
	# shellcheck disable=SC2086
	gcc -O2 -g -std=gnu11 -Wall -Wextra -I include -I daemon -I "$B/skel" -D_GNU_SOURCE \
		$PKG_CFLAGS "$src" "$B/libpodwall.a" $PKG_LIBS -lelf -lz -lcap -lm \
		-o "$BD/$n" 2>"$BD/$n.build.log" || log "$src does not build (see $BD/$n.build.log)"
done

HAVE_PW=0
if [ -f "$PW_OBJDIR/bpf/podwall_tc.bpf.o" ] && [ -f "$PW_OBJDIR/bpf/podwall_xdp.bpf.o" ] &&
	llvm-objdump -t "$PW_OBJDIR/bpf/podwall_tc.bpf.o" 2>/dev/null | grep -q pw_from_pod; then
	HAVE_PW=1
else
	log "podwall BPF objects not found in $PW_OBJDIR/bpf: podwall figures will be missing"
fi

# ---- sizes and durations ----------------------------------------------------
if [ "$QUICK" != 0 ]; then
	WIN=(--windows 2 --window-ms 200 --warmup-ms 150)
	NF_SIZES="10000"
	IPT_SIZES="1000 10000"
	PW_SIZES="10 100000"
	UPD_SIZES="1000 10000"
	UPD_TRIALS=30
	NF_TRIALS=3
	SWAPS=50
	IPERF_T=2
	IPERF_ROUNDS=2
else
	WIN=(--windows 9 --window-ms 400 --warmup-ms 300)
	NF_SIZES="10 1000 10000"
	IPT_SIZES="10 1000 10000"
	PW_SIZES="10 1000 10000 100000"
	UPD_SIZES="1000 10000"
	UPD_TRIALS=200
	NF_TRIALS=11
	SWAPS=1000
	IPERF_T=3
	IPERF_ROUNDS=3
fi

: >"$RUNS"
emit() { echo "$1" >>"$RUNS"; }

# ---- the lab: pod -- h0 [node, forwarding] s0 -- sink ------------------------
# The pod sends to 10.201.0.0/16 (many destination "pods" behind the sink);
# the node forwards them to the sink when nothing drops them.
nsx() { nsenter --net=/var/run/netns/"$1" "${@:2}"; }

lab_up() {
	local t=$1 smac
	NSLIST+=("${t}p" "${t}n" "${t}s")
	ip netns add "${t}p"
	ip netns add "${t}n"
	ip netns add "${t}s"
	ip -n "${t}p" link add eth0 type veth peer name h0 netns "${t}n"
	ip -n "${t}s" link add eth0 type veth peer name s0 netns "${t}n"
	ip -n "${t}p" addr add 10.200.0.2/24 dev eth0
	ip -n "${t}p" link set lo up
	ip -n "${t}p" link set eth0 up
	ip -n "${t}p" route add default via 10.200.0.1
	ip -n "${t}n" addr add 10.200.0.1/24 dev h0
	ip -n "${t}n" addr add 10.250.0.1/24 dev s0
	ip -n "${t}n" link set lo up
	ip -n "${t}n" link set h0 up
	ip -n "${t}n" link set s0 up
	ip -n "${t}s" addr add 10.250.0.2/24 dev eth0
	ip -n "${t}s" link set lo up
	ip -n "${t}s" link set eth0 up
	smac=$(ip -n "${t}s" -o link show eth0 | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p')
	ip -n "${t}n" neigh replace 10.250.0.2 lladdr "$smac" dev s0 nud permanent
	ip -n "${t}n" route add 10.201.0.0/16 via 10.250.0.2
	nsx "${t}n" sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 \
		net.ipv4.conf.h0.rp_filter=0 net.ipv4.conf.default.rp_filter=0
	# NAPI on the receiving veth (BENCH-NOTES), leaving its XDP hook free
	nsx "${t}n" ethtool -K h0 gro on >/dev/null
}

lab_down() {
	local t=$1 n
	for n in "${t}p" "${t}n" "${t}s"; do ip netns del "$n" 2>/dev/null || true; done
}

LABN=0
# run_gen LABEL ATTACH ENTRIES SETUP-FN COUNT-FN [pwbench options...]
run_gen() {
	local label=$1 attach=$2 entries=$3 setup=$4 count=$5 t out nf
	shift 5
	LABN=$((LABN + 1))
	t=${TAG}x$LABN
	lab_up "$t"
	if [ "$setup" != - ] && ! $setup "$t" "$entries"; then
		log "$label: set-up failed"
		lab_down "$t"
		return 0
	fi
	mkdir -p "$PIN"
	if out=$("$PWB" gen --pod-ns "${t}p" --node-ns "${t}n" --rx-if h0 --fwd-if s0 \
		--attach "$attach" --pin "$PIN" --objdir "$PW_OBJDIR" --bench-obj "$BD/pwb.bpf.o" \
		--entries "$entries" --label "$label" "${WIN[@]}" "$@"); then
		emit "$out"
		if [ "$count" != - ]; then
			nf=$($count "$t") || nf=
			[ -n "$nf" ] && emit "{\"label\":\"$label\",\"nf_drop\":$nf}"
		fi
		log "$label: $(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print("%.0f pps (p10 %.0f), %d frames, rx %d, lost %d, dropped by enforcement %d" % (d["pps_med"], d["pps_p10"], d["generated"], d["rx"], d["gen_lost"], d["own_drop"]+d["pw_drop"]))' "$out")${nf:+, netfilter counter $nf}"
	else
		log "$label: failed"
	fi
	rm -rf "$PIN"
	lab_down "$t"
}

# ---- baselines: netfilter configurations -------------------------------------
# Each allows N (destination, port) pairs the traffic never matches (the
# pod-to-pod TCP rules of an N-rule policy) and drops the rest: the deny path.
nft_elems() { # N -> "10.202.a.b . port, ..." (never the generated traffic)
	python3 -c '
import sys
n = int(sys.argv[1])
print(", ".join("10.202.%d.%d . %d" % ((i >> 8) & 255, i & 255, 1 + (i >> 16)) for i in range(n)))' "$1"
}

nft_netdev() {
	local t=$1 n=$2
	{
		echo "table netdev pwb {"
		echo " set allow { type ipv4_addr . inet_service; elements = { $(nft_elems "$n") } }"
		echo " chain ing { type filter hook ingress device h0 priority 0;"
		echo "  ip daddr . udp dport @allow accept"
		echo "  counter drop"
		echo " }"
		echo "}"
	} | nsx "$t"n nft -f -
}
nft_fwd() {
	local t=$1 n=$2
	{
		echo "table inet pwb {"
		echo " set allow { type ipv4_addr . inet_service; elements = { $(nft_elems "$n") } }"
		echo " chain pwfwd { type filter hook forward priority 0;"
		echo "  ip daddr . udp dport @allow accept"
		echo "  counter drop"
		echo " }"
		echo "}"
	} | nsx "$t"n nft -f -
}
nft_count() { nsx "$1"n nft list ruleset | sed -n 's/.*counter packets \([0-9]*\).*/\1/p' | head -1; }

ipt_rules() { # N -> iptables-restore input: N linear accepts, then drop
	python3 -c '
import sys
n = int(sys.argv[1])
out = ["*filter", ":INPUT ACCEPT [0:0]", ":FORWARD ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]"]
for i in range(n):
    out.append("-A FORWARD -d 10.202.%d.%d/32 -p udp -m udp --dport %d -j ACCEPT" % ((i >> 8) & 255, i & 255, 1 + (i >> 16)))
out += ["-A FORWARD -j DROP", "COMMIT"]
print("\n".join(out))' "$1"
}
ipt_legacy() { ipt_rules "$2" | nsx "$1"n iptables-legacy-restore; }
ipt_nft() { ipt_rules "$2" | nsx "$1"n iptables-nft-restore; }
ipt_legacy_count() { nsx "$1"n iptables-legacy -L FORWARD -v -x -n | awk '$3 == "DROP" {print $1}' | tail -1; }
ipt_nft_count() { nsx "$1"n iptables-nft -L FORWARD -v -x -n | awk '$3 == "DROP" {print $1}' | tail -1; }
ipset_setup() {
	local t=$1 n=$2
	python3 -c '
import sys
n = int(sys.argv[1])
print("create pwballow hash:ip,port family inet maxelem %d" % max(65536, n))
for i in range(n):
    print("add pwballow 10.202.%d.%d,udp:%d" % ((i >> 8) & 255, i & 255, 1 + (i >> 16)))' "$n" |
		nsx "$t"n ipset restore
	printf '*filter\n:FORWARD ACCEPT [0:0]\n-A FORWARD -m set --match-set pwballow dst,dst -j ACCEPT\n-A FORWARD -j DROP\nCOMMIT\n' |
		nsx "$t"n iptables-legacy-restore
}
stack_drop() { ip -n "$1"n route replace blackhole 10.201.0.0/16; }

# ---- 1. packet rates -----------------------------------------------------------
# The machine drifts (a busy sibling slows a core by ~25%, and more): each
# enforcement's windows alternate with windows of a drop-all floor on the same
# hook point in the same lab (--pair), and ratios are taken per pair.
log "packet rates (deny path unless named allow)"
run_gen none_fwd none 0 - - # no enforcement: forwarded to the sink (allow path)
run_gen none_stackdrop none 0 stack_drop -
run_gen tc_floor tc-drop 0 - -
run_gen xdp_floor xdp-drop 0 - -
if [ $HAVE_PW = 1 ]; then
	for n in $PW_SIZES; do run_gen "pw_tc_$n" pw-tc "$n" - - --pair tc-drop; done
	[ "$QUICK" = 0 ] && run_gen pw_xdp_10000 pw-xdp 10000 - - --pair xdp-drop
	run_gen pw_uplink_10000 pw-uplink 10000 - - --pair xdp-drop
	[ "$QUICK" = 0 ] && run_gen pw_tc_allow_10000 pw-tc 10000 - - --allow --nflows 1024 --nports 100
fi
for n in $NF_SIZES; do run_gen "nft_netdev_$n" none "$n" nft_netdev nft_count --pair tc-drop; done
for n in $NF_SIZES; do run_gen "nft_fwd_$n" none "$n" nft_fwd nft_count --pair tc-drop; done
for n in $IPT_SIZES; do run_gen "ipt_legacy_$n" none "$n" ipt_legacy ipt_legacy_count --pair tc-drop; done
[ "$QUICK" = 0 ] && for n in $IPT_SIZES; do run_gen "ipt_nft_$n" none "$n" ipt_nft ipt_nft_count --pair tc-drop; done
for n in $NF_SIZES; do run_gen "ipset_$n" none "$n" ipset_setup ipt_legacy_count --pair tc-drop; done
# one more floor run at the end: how much the machine drifted during the run
run_gen tc_floor_end tc-drop 0 - -

# ---- 2. swaps under allowed traffic ---------------------------------------------
if [ $HAVE_PW = 1 ]; then
	log "swaps: $SWAPS policy swaps under allowed traffic"
	LABN=$((LABN + 1))
	t=${TAG}x$LABN
	lab_up "$t"
	mkdir -p "$PIN"
	if out=$("$PWB" swap --pod-ns "${t}p" --node-ns "${t}n" --rx-if h0 --fwd-if s0 \
		--pin "$PIN" --objdir "$PW_OBJDIR" --bench-obj "$BD/pwb.bpf.o" --entries 1000 \
		--ndst 256 --nports 100 --swaps "$SWAPS" --warmup-ms 200); then
		emit "$out"
		log "swap: $out"
	else
		log "swap: failed"
	fi
	rm -rf "$PIN"
	lab_down "$t"
fi

# ---- 3. update latency -------------------------------------------------------------
log "update latency: one rule change"
if [ $HAVE_PW = 1 ]; then
	for n in $UPD_SIZES; do
		mkdir -p "$PIN"
		if out=$("$PWB" update --pin "$PIN" --objdir "$PW_OBJDIR" --entries "$n" \
			--trials "$UPD_TRIALS"); then
			emit "$out"
			log "podwall map writer path, $n entries: $out"
		fi
		rm -rf "$PIN"
	done
fi
# time_cmds LABEL N TRIALS CMD...: wall time of CMD (stdin from a file per trial)
ms_now() { date +%s%N; }
upd_nf() {
	local n=$1 trials=$2 t=${TAG}u$1 f i t0 t1 lat=()
	NSLIST+=("$t")
	ip netns add "$t"
	f=$BD/upd.$$
	# nft: the whole table rewritten (flush + set with one element changed), as
	# a generator of nftables rules from policy does; and one element added
	for i in $(seq 1 "$trials"); do
		{
			echo "table inet pwb { }"
			echo "flush table inet pwb"
			echo "table inet pwb {"
			echo " set allow { type ipv4_addr . inet_service; elements = { $(nft_elems "$n"), 10.203.0.$i . 80 } }"
			echo " chain pwfwd { type filter hook forward priority 0;"
			echo "  ip daddr . udp dport @allow accept"
		echo "  counter drop"
		echo " }"
		echo "}"
		} >"$f"
		t0=$(ms_now)
		nsx "$t" nft -f "$f"
		t1=$(ms_now)
		lat+=($((t1 - t0)))
	done
	emit "{\"label\":\"update_nft_full_$n\",\"ns\":[$(IFS=,; echo "${lat[*]}")]}"
	lat=()
	for i in $(seq 1 "$trials"); do
		echo "add element inet pwb allow { 10.204.0.$i . 80 }" >"$f"
		t0=$(ms_now)
		nsx "$t" nft -f "$f"
		t1=$(ms_now)
		lat+=($((t1 - t0)))
	done
	emit "{\"label\":\"update_nft_elem_$n\",\"ns\":[$(IFS=,; echo "${lat[*]}")]}"
	# iptables-restore: the whole filter table with one rule changed
	lat=()
	ipt_rules "$n" >"$f.base"
	for i in $(seq 1 "$trials"); do
		sed "s/^-A FORWARD -j DROP/-A FORWARD -d 10.203.0.$i\/32 -p udp -m udp --dport 80 -j ACCEPT\n-A FORWARD -j DROP/" "$f.base" >"$f"
		t0=$(ms_now)
		nsx "$t" iptables-legacy-restore <"$f"
		t1=$(ms_now)
		lat+=($((t1 - t0)))
	done
	emit "{\"label\":\"update_iptables_restore_$n\",\"ns\":[$(IFS=,; echo "${lat[*]}")]}"
	rm -f "$f" "$f.base"
	ip netns del "$t"
}
for n in $UPD_SIZES; do upd_nf "$n" "$NF_TRIALS"; done

# ---- 3b. podwalld end to end (bench/daemon_bench.py) ---------------------------------
# One podwalld in a routed netns lab, started once (BPF verification takes
# seconds): one file rewritten -> first packet decided by the new rule at 10,
# 1k and 10k pods with 100 policies, revocation of an established flow,
# reloads under steady traffic, a new pod's route -> enforcement, RSS/CPU.
if [ -x "$B/podwalld" ]; then
	log "podwalld: update, revoke, reload storm, new pod (bench/daemon_bench.py)"
	NSLIST+=("${TAG}dn" "${TAG}da" "${TAG}db" "${TAG}dc")
	rm -rf "$BD/daemon"
	mkdir -p "$BD/daemon"
	if timeout 600 python3 bench/daemon_bench.py --podwalld "$B/podwalld" --tag "${TAG}d" \
		--workdir "$BD/daemon" --quick "$QUICK" >>"$RUNS" 2>"$BD/daemon_bench.err"; then
		grep '^daemon_bench:' "$BD/daemon_bench.err" | sed 's/^daemon_bench: //' |
			while read -r l; do log "podwalld: $l"; done
	else
		log "podwalld benchmark failed (see $BD/daemon_bench.err and $BD/daemon/podwalld.log)"
	fi
else
	log "$B/podwalld not built: podwalld figures missing"
fi

# ---- 4. allowed TCP throughput ----------------------------------------------------
if command -v iperf3 >/dev/null; then
	log "TCP throughput (iperf3, ${IPERF_ROUNDS}x${IPERF_T}s each way)"
	t=${TAG}i
	NSLIST+=("${t}a" "${t}b" "${t}n")
	ip netns add "${t}a"
	ip netns add "${t}b"
	ip netns add "${t}n"
	ip -n "${t}a" link add eth0 type veth peer name h0 netns "${t}n"
	ip -n "${t}b" link add eth0 type veth peer name h1 netns "${t}n"
	ip -n "${t}a" addr add 10.200.0.2/24 dev eth0
	ip -n "${t}b" addr add 10.200.1.2/24 dev eth0
	ip -n "${t}n" addr add 10.200.0.1/24 dev h0
	ip -n "${t}n" addr add 10.200.1.1/24 dev h1
	for x in a b; do
		ip -n "${t}$x" link set lo up
		ip -n "${t}$x" link set eth0 up
	done
	ip -n "${t}a" route add default via 10.200.0.1
	ip -n "${t}b" route add default via 10.200.1.1
	ip -n "${t}n" link set h0 up
	ip -n "${t}n" link set h1 up
	nsx "${t}n" sysctl -qw net.ipv4.ip_forward=1
	pw_tc_on() {
		nsx "${t}n" tc qdisc add dev h0 clsact
		nsx "${t}n" tc qdisc add dev h1 clsact
		for d in h0 h1; do
			nsx "${t}n" tc filter add dev $d ingress bpf direct-action object-pinned "$PIN/prog_from_pod"
			nsx "${t}n" tc filter add dev $d egress bpf direct-action object-pinned "$PIN/prog_to_pod"
		done
	}
	pw_tc_off() {
		nsx "${t}n" tc qdisc del dev h0 clsact 2>/dev/null || true
		nsx "${t}n" tc qdisc del dev h1 clsact 2>/dev/null || true
	}
	iperf_once() { # label
		local s
		nsx "${t}b" timeout $((IPERF_T + 10)) iperf3 -s -1 -B 10.200.1.2 >/dev/null 2>&1 &
		s=$!
		PIDS+=("$s")
		sleep 0.3
		nsx "${t}a" timeout $((IPERF_T + 8)) iperf3 -c 10.200.1.2 -t "$IPERF_T" -J 2>/dev/null |
			python3 -c 'import json,sys
try:
    d = json.load(sys.stdin); print("{\"label\":\"%s\",\"bps\":%.0f,\"retransmits\":%d}" % (sys.argv[1], d["end"]["sum_received"]["bits_per_second"], d["end"]["sum_sent"].get("retransmits", 0)))
except Exception: pass' "$1" >>"$RUNS" || true
		wait "$s" 2>/dev/null || true
	}
	pinned=0
	if [ $HAVE_PW = 1 ]; then
		mkdir -p "$PIN"
		"$PWB" pw-pin --node-ns "${t}n" --rx-if h0 --peer-if h1 --pin "$PIN" --objdir "$PW_OBJDIR" \
			--dport 5201 && pinned=1
	fi
	for r in $(seq 1 "$IPERF_ROUNDS"); do
		iperf_once tcp_none
		if [ $pinned = 1 ] && pw_tc_on; then
			iperf_once tcp_pw
			pw_tc_off
		fi
	done
	rm -rf "$PIN"
	for x in a b n; do ip netns del "${t}$x" 2>/dev/null || true; done
else
	log "iperf3 not installed: TCP throughput missing"
fi

# ---- 5. figures from the other benchmarks --------------------------------------------
for n in perpacket compile_bench; do
	if [ -x "$BD/$n" ]; then
		log "running $n"
		if timeout 300 env BENCH_QUICK="$QUICK" "$BD/$n" >"$BD/$n.out" 2>"$BD/$n.err"; then
			emit "{\"label\":\"$n\",\"json\":$(python3 -c '
import json,sys,re
txt = open(sys.argv[1]).read()
objs = re.findall(r"\{[^{}]*\}", txt, re.S)
print(json.dumps(json.loads(objs[-1]) if objs else {}))' "$BD/$n.out")}"
		else
			log "$n failed (see $BD/$n.err)"
		fi
	fi
done

# ---- 6. results and report --------------------------------------------------------------
python3 bench/report.py --runs "$RUNS" --results bench/results.json --doc docs/BENCHMARKS.md \
	--plots docs/bench --command "$CMDLINE" --quick "$QUICK" \
	--elapsed $(($(date +%s) - T_START))
log "done: bench/results.json, docs/BENCHMARKS.md"
