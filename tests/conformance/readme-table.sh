#!/usr/bin/env bash
# readme-table.sh [MODE RESULTS]: rewrites the case table in README.md between the
# "cases:begin"/"cases:end" markers from case.conf files and, when given, a file of
# run.sh result lines (PASS:/FAIL:/SKIP:). Without results the status reads "not run".
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/lib.sh"
MODE=${1:-}
RESULTS=${2:-/dev/null}
README=$HERE/README.md
[[ -f $README ]] || { echo "readme-table.sh: $README missing" >&2; exit 1; }

table=$(mktemp) || exit 1
trap 'rm -f "$table"' EXIT
{
	echo "| # | upstream title | protocol | steps | probes | status${MODE:+ ($MODE)} |"
	echo "|---|---|---|---|---|---|"
	for d in "$HERE"/cases/*/; do
		conf_load "${d%/}" || continue
		n=${CONF[number]}
		status="not run"
		line=$(grep -E "^(PASS|FAIL|SKIP): $n " "$RESULTS" 2>/dev/null | head -n1)
		case "$line" in
		PASS:*) status=pass ;;
		FAIL:*) status=fail ;;
		SKIP:*) status="skip: ${line##*]: }" ;;
		esac
		probes=
		for ((s = 1; s <= CONF[steps]; s++)); do
			probes+="${probes:+; }${CONF[probe$s]}"
		done
		title=${CONF[title]//|/\\|}
		echo "| $n | $title | ${CONF[protocols]// /+} | ${CONF[steps]} | $probes | $status |"
	done
} >"$table"

awk -v tf="$table" '
	/<!-- cases:begin -->/ { print; while ((getline l < tf) > 0) print l; skip = 1; next }
	/<!-- cases:end -->/ { skip = 0 }
	!skip { print }
' "$README" >"$README.tmp" && mv -f "$README.tmp" "$README"
