#!/usr/bin/env bash
# readme-table.sh [MODE RESULTS]: rewrites the case table in README.md between the
# "cases:begin"/"cases:end" markers from case.conf files and, when given, a file of
# run.sh result lines (PASS:/FAIL:/SKIP:) for MODE (offline or lab). The table has one
# status column per mode; the other mode's column is kept from the current README.
# Without results the status reads "not run".
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/lib.sh"
MODE=${1:-}
RESULTS=${2:-/dev/null}
README=$HERE/README.md
[[ -f $README ]] || { echo "readme-table.sh: $README missing" >&2; exit 1; }

[[ -z $MODE || $MODE == offline || $MODE == lab ]] || { echo "readme-table.sh: MODE is offline or lab" >&2; exit 1; }
# the statuses already in the README: old[N offline], old[N lab]
declare -A old=()
while IFS='|' read -r _ n _ _ _ _ c6 c7 _; do
	n=${n// /}
	[[ $n =~ ^[0-9][0-9]$ ]] || continue
	c6=${c6# }; c6=${c6% }
	c7=${c7# }; c7=${c7% }
	old[$n offline]=${c6:-not run}
	old[$n lab]=${c7:-not run}
done < <(sed -n '/<!-- cases:begin -->/,/<!-- cases:end -->/p' "$README")

table=$(mktemp) || exit 1
trap 'rm -f "$table"' EXIT
{
	echo "| # | upstream title | protocol | steps | probes | offline | lab (pod + service addresses, IPv4 + IPv6) |"
	echo "|---|---|---|---|---|---|---|"
	for d in "$HERE"/cases/*/; do
		conf_load "${d%/}" || continue
		n=${CONF[number]}
		declare -A st=([offline]=${old[$n offline]:-not run} [lab]=${old[$n lab]:-not run})
		if [[ -n $MODE ]]; then
			status="not run"
			line=$(grep -E "^(PASS|FAIL|SKIP): $n " "$RESULTS" 2>/dev/null | head -n1)
			case "$line" in
			PASS:*) status=pass ;;
			FAIL:*) status=fail ;;
			SKIP:*) status="skip: ${line##*]: }" ;;
			esac
			st[$MODE]=$status
		fi
		probes=
		for ((s = 1; s <= CONF[steps]; s++)); do
			probes+="${probes:+; }${CONF[probe$s]}"
		done
		title=${CONF[title]//|/\\|}
		echo "| $n | $title | ${CONF[protocols]// /+} | ${CONF[steps]} | $probes | ${st[offline]} | ${st[lab]} |"
	done
} >"$table"

awk -v tf="$table" '
	/<!-- cases:begin -->/ { print; while ((getline l < tf) > 0) print l; skip = 1; next }
	/<!-- cases:end -->/ { skip = 0 }
	!skip { print }
' "$README" >"$README.tmp" && mv -f "$README.tmp" "$README"
