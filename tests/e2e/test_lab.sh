#!/usr/bin/env bash
# podwallctl lab: up / probe / down round trips in both topologies, services,
# usage errors, and failure paths that must leave nothing behind.
# Every lab is named pwt$$<n> and runs --no-daemon (no enforcement); the
# only traffic is between the lab's own namespaces.
source "$(dirname "$0")/lib.sh"

T=test_lab
require_root "$T"
require_cmd ip nft python3
CTL=${PODWALLCTL:-$PW_BUILD/podwallctl}
[ -x "$CTL" ] || skip_all "$T" "$CTL not built"
"$CTL" lab help >/dev/null 2>&1 || skip_all "$T" "podwallctl has no lab object"
DATA=$PW_ROOT/tests/e2e/data/lab-small
LABS=()

lab_cleanup() {
	local n
	for n in "${LABS[@]}"; do
		"$CTL" lab down --name "$n" >/dev/null 2>&1
	done
	pw_cleanup
}
trap lab_cleanup EXIT
trap 'lab_cleanup; exit 130' INT
trap 'lab_cleanup; exit 143' TERM

# the lab's namespaces still present for lab NAME
leftovers() {
	ip netns list | awk '{print $1}' | grep -E "^$1-" || true
}

# check_all_connected NAME JSONFILE MIN: every probe observed true, >= MIN probes
check_all_connected() {
	python3 - "$2" "$3" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
keys = {"src", "dst", "port", "proto", "observed", "predicted"}
assert isinstance(d, list) and len(d) >= int(sys.argv[2]), "only %d probes" % len(d)
for x in d:
    assert keys <= set(x), "missing keys in %r" % x
    assert isinstance(x["observed"], bool), x
    assert x["predicted"] is None or isinstance(x["predicted"], bool), x
    assert x["observed"], "not connected: %r" % x
    assert x["src"] != x["dst"], x
    # the echo server answers with its pod's name: the probe reached the right pod
    assert x.get("reply", x["dst"]) == x["dst"], x
PY
}

roundtrip() { # TOPOLOGY
	local topo=$1 n=pwt$$${1:0:1} out=$PW_TMP/probe-$1.json
	LABS+=("$n")
	if ! "$CTL" lab up "$DATA" --name "$n" --no-daemon --topology "$topo" >"$PW_TMP/up.out" 2>&1; then
		fail "lab_up_$topo" "$(tail -3 "$PW_TMP/up.out")"
		return
	fi
	pass "lab_up_$topo"
	[ "$(leftovers "$n" | wc -l)" -eq 4 ] && pass "lab_netns_$topo" ||
		fail "lab_netns_$topo" "expected 4 namespaces: $(leftovers "$n" | tr '\n' ' ')"
	# the node has no way out: no default route in the node namespace
	if in_ns "$n-node" ip route show default | grep -q .; then
		fail "lab_node_no_uplink_$topo" "node netns has a default route"
	else
		pass "lab_node_no_uplink_$topo"
	fi
	# 3 pods, 6 ordered pairs, 80/tcp + 81/udp over IPv4 (only x/a has IPv6)
	if "$CTL" -j lab probe --name "$n" >"$out" 2>"$PW_TMP/probe.err" &&
		check_all_connected "$n" "$out" 12 2>"$PW_TMP/check.err"; then
		pass "lab_probe_all_connected_$topo"
	else
		fail "lab_probe_all_connected_$topo" "$(tail -2 "$PW_TMP/probe.err" "$PW_TMP/check.err" | tr '\n' ' ')"
	fi
	if "$CTL" lab probe --name "$n" >"$PW_TMP/probe.txt" && grep -q "12 probes: 12 connected" "$PW_TMP/probe.txt"; then
		pass "lab_probe_text_$topo"
	else
		fail "lab_probe_text_$topo" "$(tail -2 "$PW_TMP/probe.txt")"
	fi
	# a port without a server: refused (reachable), not blocked, and no
	# disagreement with the (allowing) prediction
	if "$CTL" -j lab probe --name "$n" --ports 82/tcp >"$PW_TMP/refused.json" 2>"$PW_TMP/probe.err" &&
		python3 - "$PW_TMP/refused.json" 2>"$PW_TMP/check.err" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert len(d) >= 6, d
for x in d:
    assert x["result"] == "refused", x
    assert x["observed"] is False and x["reachable"] is True, x
    assert x["predicted"] in (True, None), x
PY
	then
		pass "lab_probe_refused_json_$topo"
	else
		fail "lab_probe_refused_json_$topo" "$(tail -2 "$PW_TMP/probe.err" "$PW_TMP/check.err" | tr '\n' ' ')"
	fi
	if "$CTL" lab probe --name "$n" --ports 82/tcp >"$PW_TMP/refused.txt" &&
		grep -q "probes: 0 connected, [0-9]* refused, 0 blocked; 0 differ" "$PW_TMP/refused.txt"; then
		pass "lab_probe_refused_text_$topo"
	else
		fail "lab_probe_refused_text_$topo" "$(tail -1 "$PW_TMP/refused.txt")"
	fi
	# --pods: only pairs of the listed pods (2 ordered pairs x 2 ports, IPv4)
	if "$CTL" -j lab probe --name "$n" --pods x/a,y/c >"$PW_TMP/pods.json" 2>"$PW_TMP/probe.err" &&
		python3 - "$PW_TMP/pods.json" <<'PY' 2>"$PW_TMP/check.err"; then
import json, sys
d = json.load(open(sys.argv[1]))
pairs = sorted((x["src"], x["dst"]) for x in d)
assert pairs == sorted([("x/a", "y/c")] * 2 + [("y/c", "x/a")] * 2), pairs
PY
		pass "lab_probe_pods_$topo"
	else
		fail "lab_probe_pods_$topo" "$(tail -2 "$PW_TMP/probe.err" "$PW_TMP/check.err" | tr '\n' ' ')"
	fi
	"$CTL" lab probe --name "$n" --pods x/a,q/z >/dev/null 2>&1
	[ $? -eq 2 ] && pass "lab_probe_unknown_pod_$topo" || fail "lab_probe_unknown_pod_$topo" "not a usage error"
	"$CTL" lab up "$DATA" --name "$n" --no-daemon >/dev/null 2>&1
	[ $? -eq 1 ] && pass "lab_up_twice_refused_$topo" || fail "lab_up_twice_refused_$topo" "second up did not fail with 1"
	"$CTL" lab down --name "$n" >/dev/null 2>&1 || fail "lab_down_$topo" "exit status $?"
	if [ -z "$(leftovers "$n")" ] && [ ! -e "/run/podwall/lab-$n.json" ] &&
		! pgrep -f -- "--netns $n-" >/dev/null; then
		pass "lab_down_clean_$topo"
	else
		fail "lab_down_clean_$topo" "left: $(leftovers "$n" | tr '\n' ' ')"
	fi
}

roundtrip routed
roundtrip bridge

# services: probes through the ClusterIP-style addresses reach the right pods
n=pwt$$s
LABS+=("$n")
if "$CTL" lab up "$PW_ROOT/examples/shop" --name "$n" --no-daemon --services >/dev/null 2>&1 &&
	"$CTL" -j lab probe --name "$n" --services >"$PW_TMP/svc.json" &&
	check_all_connected "$n" "$PW_TMP/svc.json" 36 2>"$PW_TMP/check.err" &&
	grep -q '"via":"service"' "$PW_TMP/svc.json"; then
	pass lab_services
else
	fail lab_services "$(tail -2 "$PW_TMP/check.err")"
fi
# the shop policies deny most of it: the prediction must say so
if python3 -c '
import json,sys
d=json.load(open(sys.argv[1]))
pred=[x["predicted"] for x in d]
assert None not in pred and True in pred and False in pred, pred
' "$PW_TMP/svc.json" 2>/dev/null; then
	pass lab_predicted
else
	skip lab_predicted "no prediction (evaluator not linked?)"
fi
"$CTL" lab down --name "$n" >/dev/null 2>&1
[ -z "$(leftovers "$n")" ] && pass lab_services_down_clean || fail lab_services_down_clean "$(leftovers "$n")"

# an audit policy denies but lets traffic through: the prediction is "connected"
# (a deny-all ingress in audit mode next to a real one on x/b only)
n=pwt$$a
LABS+=("$n")
mkdir -p "$PW_TMP/audit"
cp "$DATA"/*.yaml "$PW_TMP/audit/"
cat >"$PW_TMP/audit/pol.yaml" <<'EOF2'
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-all-audit, namespace: x, annotations: {podwall.io/audit: "true"}}
spec: {podSelector: {}, policyTypes: [Ingress]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-all, namespace: y}
spec: {podSelector: {}, policyTypes: [Ingress]}
EOF2
if "$CTL" lab up "$PW_TMP/audit" --name "$n" --no-daemon >/dev/null 2>&1 &&
	"$CTL" -j lab probe --name "$n" >"$PW_TMP/audit.json" 2>"$PW_TMP/probe.err" &&
	python3 - "$PW_TMP/audit.json" <<'PY' 2>"$PW_TMP/check.err"; then
import json, sys
d = json.load(open(sys.argv[1]))
assert d, "no probes"
for x in d:
    want = not x["dst"].startswith("y/")
    assert x["predicted"] is want, x
PY
	pass lab_predicted_audit
else
	fail lab_predicted_audit "$(tail -2 "$PW_TMP/probe.err" "$PW_TMP/check.err" | tr '\n' ' ')"
fi
"$CTL" lab down --name "$n" >/dev/null 2>&1

# failure paths leave nothing behind
n=pwt$$f
LABS+=("$n")
"$CTL" lab up "$PW_TMP/does-not-exist" --name "$n" --no-daemon >/dev/null 2>&1
rc=$?
[ $rc -eq 1 ] && [ -z "$(leftovers "$n")" ] && [ ! -e "/run/podwall/lab-$n.json" ] &&
	pass lab_bad_dir_clean || fail lab_bad_dir_clean "rc=$rc left: $(leftovers "$n")"
mkdir -p "$PW_TMP/badbridge"
cat >"$PW_TMP/badbridge/p.yaml" <<'Y'
apiVersion: v1
kind: Pod
metadata: {name: a, namespace: x}
status: {podIP: 10.1.1.2}
---
apiVersion: v1
kind: Pod
metadata: {name: b, namespace: x}
status: {podIP: 10.1.2.2}
Y
"$CTL" lab up "$PW_TMP/badbridge" --name "$n" --no-daemon --topology bridge 2>"$PW_TMP/err" >/dev/null
rc=$?
[ $rc -eq 1 ] && grep -q "outside the bridge subnet" "$PW_TMP/err" && [ -z "$(leftovers "$n")" ] &&
	pass lab_bridge_subnet_rejected || fail lab_bridge_subnet_rejected "rc=$rc $(cat "$PW_TMP/err")"
# a daemon that never gets ready: up fails after building everything, and
# must remove all of it (including the daemon it started)
cat >"$PW_TMP/fakepodwalld" <<'Y'
#!/bin/sh
case " $* " in *" --uninstall "*) exit 0 ;; esac
exec sleep 30
Y
chmod +x "$PW_TMP/fakepodwalld"
timeout 60 "$CTL" lab up "$DATA" --name "$n" --podwalld "$PW_TMP/fakepodwalld" >/dev/null 2>&1 &
pid=$!
sleep 1
kill -INT $pid
wait $pid
rc=$?
[ $rc -eq 1 ] && [ -z "$(leftovers "$n")" ] && [ ! -e "/run/podwall/lab-$n.json" ] &&
	! pgrep -f -- "$PW_TMP/fakepodwalld" >/dev/null &&
	pass lab_interrupted_clean || fail lab_interrupted_clean "rc=$rc left: $(leftovers "$n")"

# usage errors exit 2, JSON errors are JSON
for args in "lab up" "lab up --topology mesh $DATA" "lab probe --family 5" "lab probe --ports 99999" \
	"lab down extra" "lab bogus"; do
	# shellcheck disable=SC2086
	"$CTL" $args >/dev/null 2>&1
	rc=$?
	[ $rc -eq 2 ] && pass "lab_usage: $args" || fail "lab_usage: $args" "exit status $rc"
done
out=$("$CTL" -j lab probe --name pwt$$none 2>/dev/null)
python3 -c 'import json,sys; assert "error" in json.loads(sys.argv[1])' "$out" 2>/dev/null &&
	pass lab_json_error || fail lab_json_error "$out"
for lvl in "lab help" "lab up help" "lab probe --help" "lab down help"; do
	# shellcheck disable=SC2086
	"$CTL" $lvl | grep -q Usage && pass "lab_help: $lvl" || fail "lab_help: $lvl"
done
finish
