#!/usr/bin/env bash
# podwallctl command-line conventions (no daemon, no root needed): usage
# errors exit 2, help works at every level and exits 0, -j errors are JSON,
# and without a daemon or pinned maps a command fails plainly with exit 1.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

CTL=$PW_BUILD/podwallctl
[ -x "$CTL" ] || skip_all ctl_usage "podwallctl not built ($CTL)"
command -v python3 >/dev/null 2>&1 || skip_all ctl_usage "python3 not found (JSON checks)"
# The placeholder entry point has no objects yet.
"$CTL" status help >/dev/null 2>&1 || skip_all ctl_usage "podwallctl has no command dispatcher yet"

# Never meet a real installation.
SOCK=$PW_TMP/none.sock
BPFFS=$PW_TMP/no-bpffs
ctl() { "$CTL" --socket "$SOCK" --bpffs "$BPFFS" "$@"; }

is_json_error() { python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(0 if isinstance(d, dict) and isinstance(d.get("error"), str) and d["error"] else 1)'; }

expect_rc() { # NAME RC CMD...
	local name=$1 want=$2 got
	shift 2
	"$@" >"$PW_TMP/out" 2>"$PW_TMP/err" </dev/null
	got=$?
	if [ "$got" -eq "$want" ]; then
		pass "$name"
	else
		fail "$name" "exit $got, expected $want: $(head -c 300 "$PW_TMP/err")"
	fi
}

# --- help at every level: exit 0, something printed --------------------------
for args in "help" "--help" "status help" "endpoint help" "policy help" "counters help" \
	"flows help" "trace help" "metrics help" "lab help" "endpoint list help" \
	"policy list help" "policy show help"; do
	# shellcheck disable=SC2086
	expect_rc "help: $args" 0 ctl $args
	[ -s "$PW_TMP/out" ] || [ -s "$PW_TMP/err" ] || fail "help: $args" "printed nothing"
done

# --- usage errors: exit 2 ------------------------------------------------------
while IFS='|' read -r name args; do
	# shellcheck disable=SC2086
	expect_rc "usage: $name" 2 ctl $args
done <<'CASES'
unknown object|frobnicate
unknown endpoint command|endpoint frob
ambiguous flows option|flows --p 1
flows bad verdict|flows --verdict maybe
flows bad port|flows --port 70000
flows bad since|flows --since yesterday
flows bad pod|flows --pod nopod
flows unexpected argument|flows extra
counters unknown option|counters --bogus
status extra argument|status extra
metrics extra argument|metrics extra
policy show no name|policy show
policy show bad name|policy show a/b/c
CASES

# --- -j: errors are JSON on stdout -----------------------------------------------
for args in "flows --verdict maybe" "frobnicate" "status" "policy show a/b"; do
	# shellcheck disable=SC2086
	ctl -j $args >"$PW_TMP/out" 2>/dev/null </dev/null
	if is_json_error <"$PW_TMP/out"; then
		pass "json error: $args"
	else
		fail "json error: $args" "stdout is not {\"error\": ...}: $(head -c 200 "$PW_TMP/out")"
	fi
done

# --- no daemon, no maps: exit 1 with a plain message ----------------------------
expect_rc "no daemon: status" 1 ctl status
if grep -q "podwalld is not running (no socket at $SOCK)" "$PW_TMP/err"; then
	pass "no daemon: message names the socket"
else
	fail "no daemon: message names the socket" "$(head -c 300 "$PW_TMP/err")"
fi
expect_rc "no daemon: flows" 1 ctl flows
expect_rc "no daemon: policy show" 1 ctl policy show shop/api

# --- flows --file works offline ------------------------------------------------
cat >"$PW_TMP/flows.jsonl" <<'LOG'
{"ts":"2024-05-01T10:00:00Z","src":"10.0.0.5","src_pod":"shop/fe","sport":1,"dst":"10.0.0.7","dst_pod":"shop/api","dport":8080,"proto":"tcp","verdict":"drop","reason":"policy-denied"}
{"ts":"2024-05-01T10:00:01Z","src":"10.0.0.6","dst":"10.0.0.7","dport":8080,"proto":"tcp","verdict":"allow","reason":"policy"}
LOG
n=$(ctl -j flows --file "$PW_TMP/flows.jsonl" --verdict drop |
	python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
if [ "$n" = 1 ]; then pass "flows --file filters"; else fail "flows --file filters" "got $n records"; fi
if ctl fl --fi "$PW_TMP/flows.jsonl" | grep -q "shop/fe 10.0.0.5:1"; then
	pass "flows prefixes and pod names next to IPs"
else
	fail "flows prefixes and pod names next to IPs" "no 'shop/fe 10.0.0.5:1' in text output"
fi

exit $PW_FAILED
