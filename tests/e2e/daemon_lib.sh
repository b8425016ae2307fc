# shellcheck shell=bash
# A small node for podwalld e2e tests and the demo: a node netns and one
# netns per pod, veth pairs created inside the namespaces (never in the root
# namespace), routed (/32 per pod, default via 169.254.1.1) or bridged
# (br0 10.77.0.254/24 in the node netns). Source after tests/e2e/lib.sh.
#
#   node_up TOPO                 create the node netns ($NODE)
#   pod_add NAME IP [attach]     pod netns $PW_PREFIX-NAME with eth0=IP; its
#                                host veth h-NAME in $NODE; with attach=0
#                                the host side is left unrouted/unbridged
#   pod_attach NAME [quiet]      route (routed) or enslave (bridged) it now;
#                                quiet: a bridged pod that never talks
#   pod_serve NAME PORT[/udp]... start pwt_net serve in the pod
#   probe SRC DST PORT PROTO     0 if SRC reaches DST:PORT/PROTO
#   daemon_start [ARGS...]       podwalld in $NODE; pid in $PWD_PID
#   daemon_stop                  SIGTERM, wait
#   ctl ARGS...                  podwallctl with the test's socket and bpffs

NET=$PW_TOOLS/pwt_net
PODWALLD=$PW_BUILD/podwalld
PODWALLCTL=$PW_BUILD/podwallctl
PW_BPFFS=/sys/fs/bpf/$PW_PREFIX-integ
PW_SOCK=/run/podwall/$PW_PREFIX-integ.sock
PWD_PID=
PW_TOPO=routed
declare -A POD_IP=()

node_up() {
	PW_TOPO=$1
	netns_add node || return 1
	NODE=$REPLY
	in_ns "$NODE" sysctl -qw net.ipv4.ip_forward=1 >/dev/null
	if [ "$PW_TOPO" = bridge ]; then
		# a fixed MAC, as docker0/cni0 have: a bridge with an inherited MAC
		# changes it when ports join, which flushes its neighbour table
		ns_ip "$NODE" link add br0 address 02:00:0a:4d:00:fe type bridge || return 1
		ns_ip "$NODE" addr add 10.77.0.254/24 dev br0
		ns_ip "$NODE" link set br0 up
	fi
}

pod_add() {
	local name=$1 ip=$2 attach=${3:-1} ns
	netns_add "$name" || return 1
	ns=$REPLY
	POD_IP[$name]=$ip
	veth_pair "$NODE" "h-$name" "$ns" eth0 || return 1
	if [ "$PW_TOPO" = bridge ]; then
		ns_ip "$ns" addr add "$ip/24" dev eth0
		ns_ip "$ns" route add default via 10.77.0.254
	else
		ns_ip "$ns" addr add "$ip/32" dev eth0
		ns_ip "$ns" route add 169.254.1.1 dev eth0 scope link
		ns_ip "$ns" route add default via 169.254.1.1 dev eth0
		# the pods' gateway answers on every host veth
		ns_ip "$NODE" addr add 169.254.1.1/32 dev "h-$name"
	fi
	[ "$attach" = 1 ] && pod_attach "$name"
	return 0
}

pod_attach() {
	local name=$1 quiet=${2:-}
	if [ "$PW_TOPO" = bridge ]; then
		ns_ip "$NODE" link set "h-$name" master br0
		[ "$quiet" = quiet ] && return 0
		# a pod that talked once is in the node's neighbour table and the FDB
		# (the first port of a bridge may lose the first ARP: retry, bounded)
		local i
		for i in $(seq 20); do
			in_ns "$PW_PREFIX-$name" "$NET" udp 10.77.0.254 9 50 >/dev/null 2>&1
			ns_ip "$NODE" neigh show "${POD_IP[$name]}" dev br0 | grep -q lladdr && break
		done
	else
		ns_ip "$NODE" route add "${POD_IP[$name]}/32" dev "h-$name"
	fi
}

pod_serve() {
	local name=$1 i
	shift
	in_ns "$PW_PREFIX-$name" "$NET" serve "$@" 2>"$PW_TMP/serve.$name" &
	for i in $(seq 100); do
		grep -q ready "$PW_TMP/serve.$name" 2>/dev/null && return 0
		sleep 0.02
	done
	return 1
}

probe() {
	local src=$1 dst=$2 port=$3 proto=$4
	in_ns "$PW_PREFIX-$src" "$NET" "$proto" "${POD_IP[$dst]}" "$port" "${PROBE_MS:-400}"
}

ctl() {
	"$PODWALLCTL" --socket "$PW_SOCK" --bpffs "$PW_BPFFS" "$@"
}

# daemon_start ARGS: start podwalld in the node netns and wait (bounded) for
# its socket. 0 when it serves, 1 when it died or timed out.
daemon_start() {
	local i
	mkdir -p /run/podwall
	# not through in_ns: $! must be podwalld itself (nsenter --net execs it)
	nsenter --net=/run/netns/"$NODE" -- "$PODWALLD" --bpffs "$PW_BPFFS" --socket "$PW_SOCK" "$@" \
		>>"$PW_TMP/podwalld.log" 2>&1 &
	PWD_PID=$!
	# loading runs the verifier (seconds); a stale socket is not an answer
	for i in $(seq 600); do
		[ -S "$PW_SOCK" ] && ctl -j status 2>/dev/null | grep -q '"dataplane"' && return 0
		kill -0 "$PWD_PID" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

daemon_stop() {
	local i
	[ -n "$PWD_PID" ] || return 0
	kill -TERM "$PWD_PID" 2>/dev/null
	for i in $(seq 100); do
		kill -0 "$PWD_PID" 2>/dev/null || break
		sleep 0.05
	done
	kill -KILL "$PWD_PID" 2>/dev/null
	wait "$PWD_PID" 2>/dev/null
	PWD_PID=
}

daemon_cleanup() {
	daemon_stop
	[ -n "${NODE:-}" ] && in_ns "$NODE" "$PODWALLD" --uninstall --bpffs "$PW_BPFFS" --socket "$PW_SOCK" >/dev/null 2>&1
	rmdir "$PW_BPFFS" 2>/dev/null
	rm -f "$PW_SOCK"
	pw_cleanup
}
trap daemon_cleanup EXIT
trap 'daemon_cleanup; exit 130' INT
trap 'daemon_cleanup; exit 143' TERM
