#!/usr/bin/env bash
# podwallctl against a daemon running on a lab (issue 7): a lab with podwalld
# from examples/shop, then every live command in text and JSON (valid JSON
# with the expected keys), usage errors (exit 2), and `lab down` leaving no
# namespace, socket, bpffs directory or daemon behind.
# The lab is named pwt$$c (namespaces pwt$$c-*); its only traffic is between
# its own namespaces (lab probe).
source "$(dirname "$0")/lib.sh"

T=ctl_daemon
require_root "$T"
require_cmd ip nft python3
CTL=$PW_BUILD/podwallctl
[ -x "$CTL" ] || skip_all "$T" "$CTL not built"
[ -x "$PW_BUILD/podwalld" ] || skip_all "$T" "podwalld not built"
LAB=pwt$$c
SOCK=/run/podwall/$LAB.sock
BPFFS=/sys/fs/bpf/$LAB

ctl_cleanup() {
	timeout 60 "$CTL" lab down --name "$LAB" >/dev/null 2>&1
	pw_cleanup
}
trap ctl_cleanup EXIT
trap 'ctl_cleanup; exit 130' INT
trap 'ctl_cleanup; exit 143' TERM

ctl() { timeout 20 "$CTL" --socket "$SOCK" --bpffs "$BPFFS" "$@"; }
leftovers() { ip netns list | awk '{print $1}' | grep -E "^$LAB-" || true; }

# podwalld's start (verifier) takes ~10 s on this machine: bound it well above
if ! timeout 120 "$CTL" lab up "$PW_ROOT/examples/shop" --name "$LAB" --podwalld "$PW_BUILD/podwalld" \
	>"$PW_TMP/up.out" 2>&1; then
	fail "$T: lab up with podwalld" "$(tail -3 "$PW_TMP/up.out" | tr '\n' ' ')"
	finish
fi
pass "$T: lab up with podwalld"
DPID=$(timeout 10 "$CTL" -j lab show --name "$LAB" | python3 -c '
import json, sys
d = json.load(sys.stdin).get("daemon") or {}
print(d.get("pid", "") if isinstance(d, dict) else "")' 2>/dev/null)
# traffic for flows and counters: allowed and denied connections
timeout 60 "$CTL" lab probe --name "$LAB" >"$PW_TMP/probe.txt" 2>&1 ||
	fail "$T: lab probe" "$(tail -2 "$PW_TMP/probe.txt" | tr '\n' ' ')"

# text NAME WORD... -- CMD...: exit 0, and every WORD in the output
text() {
	local name=$1 w words=()
	shift
	while [ "$1" != -- ]; do
		words+=("$1")
		shift
	done
	shift
	if ! ctl "$@" >"$PW_TMP/out" 2>"$PW_TMP/err"; then
		fail "$T: text: $name" "exit $?: $(head -c 300 "$PW_TMP/err")"
		return
	fi
	for w in "${words[@]}"; do
		if ! grep -qF -- "$w" "$PW_TMP/out"; then
			fail "$T: text: $name" "no '$w' in: $(head -c 300 "$PW_TMP/out")"
			return
		fi
	done
	pass "$T: text: $name"
}

# json NAME PYTHON-CHECK CMD...: exit 0, valid JSON, the check (d = the
# document) holds
json() {
	local name=$1 check=$2
	shift 2
	if ! ctl -j "$@" >"$PW_TMP/out" 2>"$PW_TMP/err"; then
		fail "$T: json: $name" "exit $?: $(head -c 300 "$PW_TMP/err")"
		return
	fi
	if python3 - "$PW_TMP/out" "$check" 2>"$PW_TMP/py" <<'PY'; then
import json, sys
d = json.load(open(sys.argv[1]))
def keys(o, *k):
    missing = [x for x in k if x not in o]
    assert not missing, "missing %s in %s" % (missing, sorted(o))
    return True
assert eval(sys.argv[2]), "check failed: " + sys.argv[2]
PY
		pass "$T: json: $name"
	else
		fail "$T: json: $name" "$(tail -1 "$PW_TMP/py") $(head -c 200 "$PW_TMP/out")"
	fi
}

text status "mode:" "enforce" "$BPFFS" -- status
json status 'keys(d, "version", "mode", "hook", "policy_dir", "bpffs", "policy", "dataplane") and d["mode"] == "enforce" and d["policy"]["pods"] == 4' status

text "endpoint list" "shop/api" "shop/db" "shop/frontend" "other/client" "10.244.1.11" -- endpoint list
json "endpoint list" 'len(d["endpoints"]) == 4 and all(keys(e, "namespace", "name", "ips", "local", "ep_id", "isolated") and e["local"] for e in d["endpoints"])' endpoint list

text "policy list" "shop/allow-api-to-db" "shop/allow-frontend-to-api" "shop/default-deny-ingress" -- policy list
json "policy list" 'len(d["policies"]) >= 3 and all(keys(p, "namespace", "name", "file", "line", "policy_types", "ingress_rules", "egress_rules") for p in d["policies"])' policy list

text "policy show" "allow-api-to-db" "20-policies.yaml" -- policy show shop/allow-api-to-db
json "policy show" 'keys(d["policy"], "namespace", "name", "rules") and d["policy"]["name"] == "allow-api-to-db" and all(keys(r, "rule_id", "direction", "index", "text") for r in d["policy"]["rules"])' policy show shop/allow-api-to-db

# counters: pod names and per-rule counters with policy names, never "ep N"
text counters "shop/api" "policy-denied" "shop/allow-frontend-to-api" "pkts" -- counters
if grep -qE '^ep [0-9]' "$PW_TMP/out"; then
	fail "$T: text: counters names pods" "$(grep -E '^ep [0-9]' "$PW_TMP/out" | head -2)"
else
	pass "$T: text: counters names pods"
fi
json counters 'keys(d, "endpoints", "rules") and any(e["endpoint"] == "shop/api" and any(c["verdict"] == "drop" and c["packets"] > 0 for c in e["counters"]) for e in d["endpoints"]) and all(keys(r, "namespace", "policy", "direction", "index", "packets", "bytes") for r in d["rules"]) and len(d["rules"]) > 0' counters
text "counters --endpoint" "shop/api" -- counters --endpoint shop/api
if grep -qE '^(shop/db|shop/frontend|other/client|\(no local endpoint\)) ' "$PW_TMP/out"; then
	fail "$T: text: counters --endpoint shows only that pod" "$(head -5 "$PW_TMP/out")"
else
	pass "$T: text: counters --endpoint shows only that pod"
fi
json "counters --endpoint" '[e["endpoint"] for e in d["endpoints"]] == ["shop/api"]' counters --endpoint shop/api

text flows "drop" "policy-denied" "shop/api" -- flows
json flows 'isinstance(d, list) and len(d) > 0 and all(keys(f, "time", "verdict", "reason", "direction", "proto", "src_ip", "dst_ip", "src_pod", "dst_pod") for f in d)' flows
text "flows --verdict drop --pod" "drop" "shop/api" -- flows --verdict drop --pod shop/api
if awk 'NR > 1 && NF' "$PW_TMP/out" | grep -v -e drop | grep -q . ||
	awk 'NR > 1 && NF' "$PW_TMP/out" | grep -v -e shop/api | grep -q .; then
	fail "$T: text: flows filtered" "$(head -5 "$PW_TMP/out")"
else
	pass "$T: text: flows filtered"
fi
json "flows --verdict drop --pod" 'len(d) > 0 and all(f["verdict"] == "drop" and "shop/api" in (f["src_pod"], f["dst_pod"]) for f in d)' flows --verdict drop --pod shop/api

# live trace: the maps' answer, the deciding policy / the drop
text "trace allowed" "ALLOW" "shop/allow-frontend-to-api" -- trace shop/frontend shop/api 8080/tcp
text "trace denied" "DENY" "shop/default-deny-ingress" -- trace shop/frontend shop/db 5432/tcp
json "trace allowed" 'd["source"] == "live" and d["verdict"] == "allow" and d["ingress"]["policy"] == "shop/allow-frontend-to-api" and keys(d, "src", "dst", "port", "proto", "egress", "ingress")' trace shop/frontend shop/api 8080/tcp
json "trace denied" 'd["source"] == "live" and d["verdict"] == "deny"' trace shop/frontend shop/db 5432/tcp

text metrics "# TYPE podwall_packets_total counter" 'endpoint="shop/api"' -- metrics
json metrics 'isinstance(d, list) and any(m["name"] == "podwall_packets_total" for m in d) and all(keys(m, "name", "labels", "value") for m in d)' metrics

# usage errors against the live daemon: exit 2, and JSON errors in -j
for args in "counters --endpoint" "counters extra" "flows --verdict maybe" "flows --pod" \
	"trace shop/frontend" "trace a b 99999/tcp" "policy show" "policy show a/b c" \
	"endpoint list extra" "status extra" "metrics extra"; do
	# shellcheck disable=SC2086
	ctl $args >/dev/null 2>&1
	rc=$?
	[ $rc -eq 2 ] && pass "$T: usage: $args" || fail "$T: usage: $args" "exit status $rc"
done
out=$(ctl -j flows --verdict maybe 2>/dev/null)
python3 -c 'import json,sys; assert json.loads(sys.argv[1])["error"]' "$out" 2>/dev/null &&
	pass "$T: usage error is JSON with -j" || fail "$T: usage error is JSON with -j" "$out"
# a failure the daemon reports: exit 1
ctl policy show shop/no-such-policy >/dev/null 2>&1
rc=$?
[ $rc -eq 1 ] && pass "$T: unknown policy exits 1" || fail "$T: unknown policy exits 1" "exit status $rc"

# lab down: no namespace, socket, bpffs dir, state file or daemon left
timeout 60 "$CTL" lab down --name "$LAB" >"$PW_TMP/down.out" 2>&1 ||
	fail "$T: lab down" "$(tail -2 "$PW_TMP/down.out" | tr '\n' ' ')"
left=""
[ -n "$(leftovers)" ] && left+=" netns: $(leftovers | tr '\n' ' ')"
[ -e "$SOCK" ] && left+=" $SOCK"
[ -e "$BPFFS" ] && left+=" $BPFFS"
[ -e "/run/podwall/lab-$LAB.json" ] && left+=" state file"
[ -n "$DPID" ] && kill -0 "$DPID" 2>/dev/null && left+=" podwalld pid $DPID"
[ -z "$left" ] && pass "$T: lab down leaves nothing" || fail "$T: lab down leaves nothing" "$left"
finish
