#!/usr/bin/env bash
# podwalld end to end on a small node (routed; PW_E2E_TOPO=bridge or
# test_daemon_bridge.sh for the bridged variant): the real TCP/UDP matrix
# equals the expected one; reload; a bad file keeps the policy; kill -9 and
# restart keep enforcement; a new pod is enforced from its first packet;
# live trace agrees with the traffic; drops are in `flows`; --oneshot;
# --uninstall leaves nothing.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon_lib.sh"

TOPO=${PW_E2E_TOPO:-routed}
T=daemon-$TOPO
require_root "$T"
require_cmd ip tc nsenter timeout python3
[ -x "$NET" ] || { fail "$T: setup" "$NET not built (make tools)"; finish; }
[ -x "$PODWALLD" ] || { fail "$T: setup" "$PODWALLD not built"; finish; }

POL=$PW_TMP/policy
mkdir -p "$POL"

# ---- policy directory --------------------------------------------------
pod_yaml() { # NS NAME APP IP PORTS(name:port/proto,...)
	local ns=$1 name=$2 app=$3 ip=$4 ports=$5 p
	cat <<EOF
---
apiVersion: v1
kind: Pod
metadata: {namespace: $ns, name: $name, labels: {app: $app}}
spec:
  containers:
  - name: c
    ports:
EOF
	for p in ${ports//,/ }; do
		echo "    - {name: ${p%%:*}, containerPort: $(echo "${p#*:}" | cut -d/ -f1), protocol: $(echo "${p#*/}" | tr a-z A-Z)}"
	done
	cat <<EOF
status: {phase: Running, podIP: $ip, podIPs: [{ip: $ip}]}
EOF
}

write_policy_dir() {
	cat >"$POL/00-ns.yaml" <<EOF
apiVersion: v1
kind: Namespace
metadata: {name: app, labels: {team: app}}
---
apiVersion: v1
kind: Namespace
metadata: {name: other}
EOF
	{
		pod_yaml app web web 10.77.0.1 "http:80/tcp,dns:53/udp"
		pod_yaml app api api 10.77.0.2 "http-api:8080/tcp,dns:53/udp"
		pod_yaml app db db 10.77.0.3 "pg:5432/tcp"
		pod_yaml other client client 10.77.0.4 "http:80/tcp"
		pod_yaml app late late 10.77.0.5 "http:80/tcp"
	} >"$POL/10-pods.yaml"
	cat >"$POL/20-deny.yaml" <<EOF
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {namespace: app, name: default-deny-ingress}
spec:
  podSelector: {}
  policyTypes: [Ingress]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {namespace: app, name: api-to-db}
spec:
  podSelector: {matchLabels: {app: db}}
  ingress:
  - from: [{podSelector: {matchLabels: {app: api}}}]
    ports: [{port: 5432}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {namespace: app, name: api-to-late}
spec:
  podSelector: {matchLabels: {app: late}}
  ingress:
  - from: [{podSelector: {matchLabels: {app: api}}}]
    ports: [{port: http}]
EOF
	write_to_api web
}

# write_to_api APP: who may reach api (8080/tcp and 53/udp); rewritten
# and renamed into place, as kubectl-sync tools do.
write_to_api() {
	local from=$1
	if [ "$from" = client ]; then
		sel="{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: other}}, podSelector: {matchLabels: {app: client}}}"
	else
		sel="{podSelector: {matchLabels: {app: $from}}}"
	fi
	cat >"$POL/.30-to-api.yaml.tmp" <<EOF
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {namespace: app, name: to-api}
spec:
  podSelector: {matchLabels: {app: api}}
  ingress:
  - from: [$sel]
    ports: [{port: http-api}, {port: 53, protocol: UDP}]
EOF
	mv -f "$POL/.30-to-api.yaml.tmp" "$POL/30-to-api.yaml"
}

# ---- matrices: "SRC DST PORT PROTO EXPECT" ----------------------------
M_COMMON=(
	"web db 5432 tcp 0"
	"api db 5432 tcp 1"
	"client web 80 tcp 0"
	"db api 8080 tcp 0"
	"api web 80 tcp 0"
	"web client 80 tcp 1"
	"db client 80 tcp 1"
)
M_V1=("${M_COMMON[@]}" "web api 8080 tcp 1" "web api 53 udp 1" "client api 8080 tcp 0" "client api 53 udp 0")
M_V2=("${M_COMMON[@]}" "web api 8080 tcp 0" "web api 53 udp 0" "client api 8080 tcp 1" "client api 53 udp 1")

# check_matrix NAME ENTRIES...: PASS when every probe gives the expected answer.
check_matrix() {
	local name=$1 e src dst port proto want got bad=""
	shift
	for e in "$@"; do
		read -r src dst port proto want <<<"$e"
		if probe "$src" "$dst" "$port" "$proto"; then got=1; else got=0; fi
		[ "$got" = "$want" ] || bad+=" $src->$dst:$port/$proto(want $want got $got)"
	done
	if [ -z "$bad" ]; then pass "$T: $name"; else fail "$T: $name" "$bad"; fi
}

# check_trace NAME ENTRIES...: live `podwallctl -j trace` verdicts agree.
check_trace() {
	local name=$1 e src dst port proto want v bad=""
	shift
	for e in "$@"; do
		read -r src dst port proto want <<<"$e"
		v=$(ctl -j trace "${NSOF[$src]}/$src" "${NSOF[$dst]}/$dst" "$port/$proto" 2>&1 |
			python3 -c 'import json,sys; print(json.load(sys.stdin).get("verdict"))' 2>&1)
		[ "$want" = 1 ] && want=allow
		[ "$want" = 0 ] && want=deny
		[ "$v" = "$want" ] || bad+=" $src->$dst:$port/$proto(trace $v, observed $want)"
	done
	if [ -z "$bad" ]; then pass "$T: $name"; else fail "$T: $name" "$bad"; fi
}
declare -A NSOF=([web]=app [api]=app [db]=app [late]=app [client]=other)

# wait_for CMD...: up to ~3 s for CMD to succeed
wait_for() {
	local i
	for i in $(seq 60); do
		"$@" && return 0
		sleep 0.05
	done
	return 1
}
matrix_is() { # silent check used for waiting on a reload
	local e src dst port proto want got
	for e in "$@"; do
		read -r src dst port proto want <<<"$e"
		if PROBE_MS=200 probe "$src" "$dst" "$port" "$proto"; then got=1; else got=0; fi
		[ "$got" = "$want" ] || return 1
	done
}

# ---- the node ------------------------------------------------------------
node_up "$TOPO" || { fail "$T: setup" "cannot create the node netns"; finish; }
for p in web:10.77.0.1 api:10.77.0.2 db:10.77.0.3 client:10.77.0.4; do
	pod_add "${p%%:*}" "${p#*:}" || { fail "$T: setup" "cannot create pod ${p%%:*}"; finish; }
done
pod_serve web 80 53/udp && pod_serve api 8080 53/udp && pod_serve db 5432 &&
	pod_serve client 80 || { fail "$T: setup" "echo servers did not start"; finish; }
write_policy_dir

if matrix_is "web db 5432 tcp 1" "client api 8080 tcp 1" "web api 53 udp 1"; then
	pass "$T: traffic flows before podwalld"
else
	fail "$T: traffic flows before podwalld" "the lab itself is broken"
	finish
fi

# ---- start, matrix, trace, flows ----------------------------------------
t0=$(date +%s%N)
if daemon_start --policy-dir "$POL"; then
	pass "$T: podwalld starts and serves ($((($(date +%s%N) - t0) / 1000000)) ms)"
else
	fail "$T: podwalld starts" "$(tail -5 "$PW_TMP/podwalld.log" | tr '\n' ' ')"
	finish
fi
check_matrix "enforced matrix equals the expected one" "${M_V1[@]}"
check_trace "live trace agrees with the observed matrix" "${M_V1[@]}"

if ctl -j endpoint list | python3 -c '
import json, sys
eps = {e["namespace"] + "/" + e["name"]: e for e in json.load(sys.stdin)["endpoints"]}
bad = [n for n in ("app/web", "app/api", "app/db", "other/client") if not eps[n].get("local")]
bad += [n for n in ("app/late",) if eps[n].get("local")]
sys.exit(1 if bad else 0)'; then
	pass "$T: endpoint list marks the local pods"
else
	fail "$T: endpoint list marks the local pods" "$(ctl endpoint list 2>&1 | tr '\n' ' ')"
fi

probe web db 5432 tcp
if wait_for sh -c "'$PODWALLCTL' --socket '$PW_SOCK' -j flows --verdict drop 2>/dev/null | python3 -c '
import json, sys
recs = [json.loads(l) for l in sys.stdin if l.strip()]
if len(recs) == 1 and isinstance(recs[0], list): recs = recs[0]
if len(recs) == 1 and isinstance(recs[0], dict) and \"flows\" in recs[0]: recs = recs[0][\"flows\"]
ok = [r for r in recs if r.get(\"dst_pod\") == \"app/db\" and r.get(\"src_pod\") == \"app/web\"
      and r.get(\"verdict\") == \"drop\" and r.get(\"reason\") == \"policy-denied\"
      and (r.get(\"policy\") or \"app/default-deny-ingress\" in (r.get(\"isolated_by\") or []))]
sys.exit(0 if ok else 1)'"; then
	pass "$T: flows --verdict drop shows the drop with reason and policy"
else
	fail "$T: flows --verdict drop shows the drop" "$(ctl flows --verdict drop 2>&1 | tail -3 | tr '\n' ' ')"
fi

# ---- reload: rewrite + rename into place --------------------------------
write_to_api client
if wait_for matrix_is "web api 8080 tcp 0" "client api 8080 tcp 1"; then
	check_matrix "reload (rename into place) changes the matrix" "${M_V2[@]}"
else
	fail "$T: reload changes the matrix" "web->api still open or client->api still closed"
fi

# ---- a bad file: old policy stays, status shows the error ---------------
cat >"$POL/.40-bad.tmp" <<EOF
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {namespace: app, name: broken}
spec:
  podSelector: {}
  ingress:
  - ports: [{port: 80, endPort: 10}]
EOF
mv "$POL/.40-bad.tmp" "$POL/40-bad.yaml"
if wait_for sh -c "'$PODWALLCTL' --socket '$PW_SOCK' -j status | grep -q '40-bad.yaml:[0-9]'"; then
	pass "$T: status shows the error of a bad file (file:line)"
else
	fail "$T: status shows the error of a bad file" "$(ctl -j status 2>&1 | head -c 400)"
fi
check_matrix "a bad file leaves the policy in force" "${M_V2[@]}"
rm -f "$POL/40-bad.yaml"
wait_for sh -c "'$PODWALLCTL' --socket '$PW_SOCK' -j status | grep -q '\"last_ok\": *true'"

# ---- kill -9 keeps enforcement; a restart re-adopts without a gap -------
kill -KILL "$PWD_PID"
wait "$PWD_PID" 2>/dev/null
PWD_PID=
check_matrix "kill -9: enforcement stays" "${M_V2[@]}"

leaks=$PW_TMP/leaks
: >"$leaks"
(
	for i in $(seq 200); do
		[ -e "$PW_TMP/stop-watch" ] && break
		PROBE_MS=150 probe client web 80 tcp && echo "leak client->web:80" >>"$leaks"
		PROBE_MS=300 probe client api 8080 tcp || echo "lost client->api:8080" >>"$leaks"
	done
) &
watcher=$!
sleep 0.3
if daemon_start --policy-dir "$POL"; then
	sleep 0.3
	touch "$PW_TMP/stop-watch"
	wait "$watcher"
	if [ ! -s "$leaks" ]; then
		pass "$T: restart after kill -9 keeps enforcement without a gap"
	else
		fail "$T: restart without a gap" "$(sort "$leaks" | uniq -c | tr '\n' ' ')"
	fi
	if ctl -j status | python3 -c 'import json,sys; s=json.load(sys.stdin); sys.exit(0 if s["dataplane"]["adopted"] else 1)'; then
		pass "$T: the restarted daemon re-adopted the pinned objects"
	else
		fail "$T: re-adoption" "status: $(ctl -j status 2>&1 | python3 -c 'import json,sys; print(json.load(sys.stdin).get("dataplane"))' 2>&1 | head -c 600)"
	fi
	check_matrix "matrix after restart" "${M_V2[@]}"
else
	touch "$PW_TMP/stop-watch"
	wait "$watcher"
	fail "$T: restart after kill -9" "$(tail -5 "$PW_TMP/podwalld.log" | tr '\n' ' ')"
fi

# ---- a new pod: enforced from its first packet --------------------------
# late (10.77.0.5) is in the policy from the start; its veth and route
# appear now. Its ingress policy allows api only.
pod_add late 10.77.0.5 0 && pod_serve late 80 || fail "$T: new pod" "setup failed"
early=$PW_TMP/early
: >"$early"
(
	for i in $(seq 60); do
		PROBE_MS=100 probe web late 80 tcp && echo "web->late:80 connected" >>"$early"
	done
) &
prober=$!
sleep 0.05
# on a bridge the new pod stays silent: podwalld must find it by asking the
# kernel to resolve its address (a pod that talks first announces itself to
# its peers with the same ARP that tells the node)
pod_attach late quiet
wait "$prober"
if [ ! -s "$early" ]; then
	pass "$T: new pod: denied ingress never got through (first packet on)"
else
	fail "$T: new pod first packet" "$(sort "$early" | uniq -c | tr '\n' ' ')"
fi
if wait_for matrix_is "api late 80 tcp 1"; then
	check_matrix "new pod: its policy is enforced" "web late 80 tcp 0" "api late 80 tcp 1" "client late 80 tcp 0"
else
	fail "$T: new pod reachable by the allowed peer" "api->late:80 does not connect"
fi
if ctl -j status | python3 -c '
import json, sys
s = json.load(sys.stdin)
names = [i["name"] for i in s["dataplane"]["interfaces"] if "tc-egress" in " ".join(i.get("hooks", [])) or i.get("hooks")]
sys.exit(0 if "h-late" in names else 1)'; then
	pass "$T: new pod veth attached"
else
	fail "$T: new pod veth attached" "$(ctl -j status | python3 -c 'import json,sys; print(json.load(sys.stdin)["dataplane"]["interfaces"])' 2>&1)"
fi

# ---- bridge: a vanished neighbour entry does not detach the pod -----------
if [ "$TOPO" = bridge ]; then
	# (not `tc | grep -q`: with pipefail, tc's SIGPIPE would fail the check)
	has_filter() {
		local f
		f=$(ns_tc "$NODE" filter show dev h-late egress 2>/dev/null)
		[[ $f == *bpf* ]]
	}
	gap=0
	if has_filter; then
		# a bridge whose MAC changes flushes its neighbours the same way
		ns_ip "$NODE" neigh flush dev br0
		for i in $(seq 20); do
			has_filter || gap=$((gap + 1))
			sleep 0.05
		done
		if [ $gap -eq 0 ] && matrix_is "web late 80 tcp 0"; then
			pass "$T: neighbour flush: the pod stays attached and enforced"
		else
			fail "$T: neighbour flush keeps the attachment" "filter missing in $gap of 20 samples"
		fi
		if wait_for sh -c "nsenter --net=/run/netns/$NODE ip neigh show 10.77.0.5 dev br0 | grep -q lladdr"; then
			pass "$T: neighbour flush: the silent pod is re-resolved"
		else
			fail "$T: neighbour flush: re-resolved" "no neighbour entry for 10.77.0.5"
		fi
	else
		fail "$T: neighbour flush keeps the attachment" "h-late was not attached before the flush"
	fi
fi

# ---- --oneshot ------------------------------------------------------------
daemon_stop
# the attachment record is per netns: from another one, refuse and keep all
if in_ns "$PW_PREFIX-web" "$PODWALLD" --uninstall --bpffs "$PW_BPFFS" --socket "$PW_SOCK" \
	>>"$PW_TMP/podwalld.log" 2>&1; then
	fail "$T: --uninstall from another netns refuses" "it ran"
elif [ -d "$PW_BPFFS" ] && matrix_is "web db 5432 tcp 0"; then
	pass "$T: --uninstall from another netns refuses and keeps enforcement"
else
	fail "$T: --uninstall from another netns refuses" "pins or enforcement gone"
fi
in_ns "$NODE" "$PODWALLD" --uninstall --bpffs "$PW_BPFFS" --socket "$PW_SOCK" >>"$PW_TMP/podwalld.log" 2>&1
if matrix_is "web db 5432 tcp 1" "client web 80 tcp 1"; then
	in_ns "$NODE" "$PODWALLD" --policy-dir "$POL" --bpffs "$PW_BPFFS" --socket "$PW_SOCK" --oneshot \
		>>"$PW_TMP/podwalld.log" 2>&1
	rc=$?
	if [ $rc -eq 0 ]; then
		check_matrix "--oneshot enforces and exits 0" "${M_V2[@]}" "web late 80 tcp 0" "api late 80 tcp 1"
	else
		fail "$T: --oneshot" "exit status $rc: $(tail -3 "$PW_TMP/podwalld.log" | tr '\n' ' ')"
	fi
else
	fail "$T: --uninstall lifts enforcement" "traffic is still denied after --uninstall"
fi

# ---- --uninstall leaves nothing ------------------------------------------
in_ns "$NODE" "$PODWALLD" --uninstall --bpffs "$PW_BPFFS" --socket "$PW_SOCK" >>"$PW_TMP/podwalld.log" 2>&1
rc=$?
left=""
[ $rc -eq 0 ] || left+=" exit=$rc"
[ -e "$PW_BPFFS" ] && left+=" $PW_BPFFS: $(ls "$PW_BPFFS" | tr '\n' ' ')"
for p in web api db client late; do
	for d in ingress egress; do
		f=$(ns_tc "$NODE" filter show dev "h-$p" "$d" 2>/dev/null)
		[ -n "$f" ] && left+=" tc $d filter on h-$p"
	done
	ns_ip "$NODE" link show "h-$p" 2>/dev/null | grep -q xdp && left+=" xdp on h-$p"
done
if [ -z "$left" ]; then
	pass "$T: --uninstall leaves no tc filter, no pin, no bpffs dir"
else
	fail "$T: --uninstall leaves nothing" "$left"
fi
check_matrix "after --uninstall all traffic flows" "web db 5432 tcp 1" "client web 80 tcp 1" "web late 80 tcp 1"

finish
