#!/usr/bin/env bash
# Run test levels and print one totals line at the end:
#   N passed, N failed[, N skipped]
# Usage: tests/run.sh LEVEL...   (LEVEL: unit, bpf, e2e)
# BUILD_DIR (default build) is where the test binaries live.
# Exit status: 0 if nothing failed or crashed, 1 otherwise.
set -uo pipefail

cd "$(dirname "$0")/.." || exit 1
BUILD_DIR=${BUILD_DIR:-build}
TEST_TIMEOUT=${TEST_TIMEOUT:-600}
export BUILD_DIR

passed=0
failed=0
skipped=0
failures=()

if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then
	c_ok=$'\e[32m' c_bad=$'\e[31m' c_skip=$'\e[33m' c_off=$'\e[0m'
else
	c_ok='' c_bad='' c_skip='' c_off=''
fi

# Run one cmocka binary with TAP output, echo its lines, count results.
run_cmocka() {
	local bin=$1 name line rc=lost np=0 nf=0 ns=0
	name=${bin#"$BUILD_DIR"/tests/}
	echo "--- $name"
	while IFS= read -r line; do
		case $line in
		"ok "*" # SKIP"* | "not ok "*" # SKIP"*)
			ns=$((ns + 1))
			echo "  ${c_skip}SKIP${c_off} ${line#*# SKIP}"
			;;
		"ok "*)
			np=$((np + 1))
			echo "  ${c_ok}PASS${c_off} ${line#ok * - }"
			;;
		"not ok "*)
			nf=$((nf + 1))
			failures+=("$name: ${line#not ok * - }")
			echo "  ${c_bad}FAIL${c_off} ${line#not ok * - }"
			;;
		"__rc="*) rc=${line#__rc=} ;;
		"" | "1.."* | "# ok - "* | "# not ok - "*) ;;
		*) echo "    $line" ;;
		esac
	done < <(CMOCKA_MESSAGE_OUTPUT=TAP timeout -k 10 "$TEST_TIMEOUT" "$bin" 2>&1; printf '\n__rc=%s\n' "$?")
	if [ "$rc" != 0 ] && [ "$nf" -eq 0 ]; then
		nf=1
		failures+=("$name: crashed (exit status $rc)")
		echo "  ${c_bad}FAIL${c_off} $name crashed (exit status $rc)"
	fi
	passed=$((passed + np))
	failed=$((failed + nf))
	skipped=$((skipped + ns))
}

# Run one e2e shell test; it prints PASS:/FAIL:/SKIP: lines.
run_shell() {
	local t=$1 name line rc=lost np=0 nf=0 ns=0
	name=${t#tests/}
	echo "--- $name"
	while IFS= read -r line; do
		case $line in
		"PASS: "*)
			np=$((np + 1))
			echo "  ${c_ok}PASS${c_off} ${line#PASS: }"
			;;
		"FAIL: "*)
			nf=$((nf + 1))
			failures+=("$name: ${line#FAIL: }")
			echo "  ${c_bad}FAIL${c_off} ${line#FAIL: }"
			;;
		"SKIP: "*)
			ns=$((ns + 1))
			echo "  ${c_skip}SKIP${c_off} ${line#SKIP: }"
			;;
		"__rc="*) rc=${line#__rc=} ;;
		"") ;;
		*) echo "    $line" ;;
		esac
	done < <(timeout -k 10 "$TEST_TIMEOUT" bash "$t" </dev/null 2>&1; printf '\n__rc=%s\n' "$?")
	if [ "$rc" != 0 ] && [ "$nf" -eq 0 ]; then
		nf=1
		failures+=("$name: exited with status $rc without reporting a failure")
		echo "  ${c_bad}FAIL${c_off} $name exited with status $rc without reporting a failure"
	fi
	passed=$((passed + np))
	failed=$((failed + nf))
	skipped=$((skipped + ns))
}

run_level() {
	local level=$1 f found=0
	echo "=== $level tests"
	case $level in
	unit | bpf)
		for f in tests/"$level"/test_*.c; do
			[ -e "$f" ] || continue
			found=1
			f=$BUILD_DIR/tests/$level/$(basename "$f" .c)
			if [ ! -x "$f" ]; then
				failed=$((failed + 1))
				failures+=("$f: not built")
				echo "  ${c_bad}FAIL${c_off} $f not built"
				continue
			fi
			run_cmocka "$f"
		done
		;;
	e2e)
		for f in tests/e2e/test_*.sh; do
			[ -e "$f" ] || continue
			found=1
			run_shell "$f"
		done
		;;
	*)
		echo "run.sh: unknown level '$level' (unit, bpf, e2e)" >&2
		exit 2
		;;
	esac
	[ $found = 1 ] || echo "  (no tests)"
}

[ $# -gt 0 ] || set -- unit bpf e2e
for level in "$@"; do
	run_level "$level"
done

if [ ${#failures[@]} -gt 0 ]; then
	echo "=== failures"
	printf '  %s\n' "${failures[@]}"
fi
summary="$passed passed, $failed failed"
[ "$skipped" -gt 0 ] && summary+=", $skipped skipped"
echo "$summary"
[ "$failed" -eq 0 ]
