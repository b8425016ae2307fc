# lib.sh: shared by run.sh and check.sh (sourced, bash only; no python, no jq).
# case.conf is "key=value" lines; '#' starts a comment line. Expectation files are
# matrices: a header "#  <dst pod>..." then one row per source pod, cells X (connected),
# . (blocked) or - (the pod itself; never probed, loopback is undefined upstream).

CONF_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
GEN_MODEL=$CONF_DIR/model/gen-model.sh

# conf_load CASEDIR: fills the associative array CONF; returns 1 with CONF_ERR on a bad line
conf_load() {
	declare -gA CONF=()
	CONF_ERR=
	local line n=0
	if [[ ! -f $1/case.conf ]]; then
		CONF_ERR="$1/case.conf: missing"
		return 1
	fi
	while IFS= read -r line || [[ -n $line ]]; do
		n=$((n + 1))
		[[ $line =~ ^[[:space:]]*(#|$) ]] && continue
		if [[ ! $line =~ ^([a-z][a-z0-9_.]*)=(.*)$ ]]; then
			CONF_ERR="$1/case.conf:$n: not key=value: $line"
			return 1
		fi
		CONF[${BASH_REMATCH[1]}]=${BASH_REMATCH[2]}
	done <"$1/case.conf"
}

# matrix_load FILE: fills MX_COLS (array), MX_ROWS (array) and MX["src dst"]=cell;
# returns 1 with MX_ERR on a malformed matrix
matrix_load() {
	declare -gA MX=()
	MX_COLS=()
	MX_ROWS=()
	MX_ERR=
	local -a tok
	local first=1 n=0 i
	if [[ ! -f $1 ]]; then
		MX_ERR="$1: missing"
		return 1
	fi
	while read -r -a tok || [[ ${#tok[@]} -gt 0 ]]; do
		n=$((n + 1))
		[[ ${#tok[@]} -eq 0 ]] && continue
		if ((first)); then
			if [[ ${tok[0]} != '#' || ${#tok[@]} -lt 2 ]]; then
				MX_ERR="$1:$n: first line must be '#' followed by the destination pods"
				return 1
			fi
			MX_COLS=("${tok[@]:1}")
			first=0
			continue
		fi
		if ((${#tok[@]} != ${#MX_COLS[@]} + 1)); then
			MX_ERR="$1:$n: row '${tok[0]}' has $((${#tok[@]} - 1)) cells, header has ${#MX_COLS[@]}"
			return 1
		fi
		MX_ROWS+=("${tok[0]}")
		for ((i = 1; i < ${#tok[@]}; i++)); do
			MX["${tok[0]} ${MX_COLS[i - 1]}"]=${tok[i]}
		done
		tok=()
	done <"$1"
	if ((first)); then
		MX_ERR="$1: empty"
		return 1
	fi
}

# pod_addr POD 4|6: the model's address for ns/name (same rule as gen-model.sh)
pod_addr() {
	local ns=${1%/*} name=${1#*/} ni pi
	case "$ns" in x) ni=1 ;; y) ni=2 ;; z) ni=3 ;; *) return 1 ;; esac
	printf -v pi '%d' "'$name"
	pi=$((pi - 97 + 10))
	if [[ $2 == 4 ]]; then echo "10.42.$ni.$pi"; else echo "fd00:42::$ni:$pi"; fi
}

# addr_pod ADDR: the model pod owning ADDR (or ADDR itself when it is already ns/pod)
addr_pod() {
	local a=$1 ni pi ns
	if [[ $a =~ ^10\.42\.([0-9]+)\.([0-9]+)$ ]] || [[ $a =~ ^fd00:42::([0-9]+):([0-9]+)$ ]]; then
		ni=${BASH_REMATCH[1]}
		pi=${BASH_REMATCH[2]}
		case "$ni" in 1) ns=x ;; 2) ns=y ;; 3) ns=z ;; *)
			echo "$a"
			return
			;;
		esac
		printf "%s/\\x$(printf '%x' $((pi - 10 + 97)))\n" "$ns"
	else
		echo "$a"
	fi
}

# build_step_dir CASEDIR STEP OUT: the policy directory in force at that step: the model
# objects for the case's pods, then the step's files (a step file named like a model file,
# e.g. pod-x-b.yaml or ns-y.yaml, replaces it: that is how relabelling is expressed)
build_step_dir() {
	local casedir=$1 step=$2 out=$3 f
	mkdir -p "$out" || return 1
	rm -f "$out"/*.yaml
	# shellcheck disable=SC2086 # pods is a space-separated list
	"$GEN_MODEL" -d "$out" pods ${CONF[pods]} || return 1
	for f in "$casedir/step$step"/*.yaml; do
		[[ -e $f ]] || continue
		cp "$f" "$out/" || return 1
	done
}

# sync_dir SRC DST: make DST hold exactly SRC's *.yaml, replacing each changed file by
# rename (a watcher never reads a half-written file) and removing stale ones. Every new
# file is staged (as a dotfile, which a watcher ignores) before the first rename, so the
# visible changes come in one short burst. Sets SYNC_CHANGED=1 when it changed anything.
sync_dir() {
	local src=$1 dst=$2 f b
	local -a stage=() stale=()
	for f in "$src"/*.yaml; do
		[[ -e $f ]] || continue
		b=${f##*/}
		cmp -s "$f" "$dst/$b" && continue
		cp "$f" "$dst/.$b.tmp" || return 1
		stage+=("$b")
	done
	for f in "$dst"/*.yaml; do
		[[ -e $f ]] || continue
		[[ -e $src/${f##*/} ]] || stale+=("$f")
	done
	for b in "${stage[@]}"; do
		mv -f "$dst/.$b.tmp" "$dst/$b" || return 1
	done
	((${#stale[@]} == 0)) || rm -f "${stale[@]}" || return 1
	((${#stage[@]} + ${#stale[@]} == 0)) || SYNC_CHANGED=1
	return 0
}

# json_top_string JSON KEY: the value of a top-level string member (nested objects and
# arrays are removed first, so a per-side "verdict" inside them is never taken)
json_top_string() {
	local s=${1//$'\n'/ } key=$2
	[[ $s == *'{'* ]] || return 1
	s=${s#*\{}
	s=${s%\}*}
	# innermost objects/arrays first, until none is left (pure bash: no fork per call)
	while [[ $s =~ \{[^{}]*\} || $s =~ \[[^][]*\] ]]; do
		s=${s/"${BASH_REMATCH[0]}"/_}
	done
	[[ $s =~ \"$key\"[[:space:]]*:[[:space:]]*\"([^\"]*)\" ]] || return 1
	echo "${BASH_REMATCH[1]}"
}

# kernel_has_sctp: SCTP sockets usable in the lab (module loaded or loadable)
kernel_has_sctp() {
	[[ -e /proc/net/sctp ]] && return 0
	modprobe -n sctp >/dev/null 2>&1
}

# ---- lab mode (run.sh, random.sh). The caller sets PODWALLCTL, LAB_SOCKET (podwalld's
# socket, from `lab show -j`), LAB_LIVE (the lab's policy directory), LAB_SETTLE_MS, and
# defines vlog and add_diff.

# reload_count: podwalld's reloads+errors (-1 when it cannot be asked)
reload_count() {
	local out r=-1 e=0
	[[ -n $LAB_SOCKET ]] || { echo -1; return; }
	out=$("$PODWALLCTL" -j --socket "$LAB_SOCKET" status 2>/dev/null)
	[[ $out =~ \"reloads\":[[:space:]]*([0-9]+) ]] && r=${BASH_REMATCH[1]}
	[[ $out =~ \"errors\":[[:space:]]*([0-9]+) ]] && e=${BASH_REMATCH[1]}
	((r >= 0)) && r=$((r + e))
	echo "$r"
}

# lab_apply DIR: make the live directory hold DIR's objects; when anything changed, wait
# (bounded) until podwalld has reloaded and then stays quiet for LAB_SETTLE_MS (several
# debounce periods: a burst of renames can span two reloads, and the first one may hold
# a mixture of the old and the new set), so a probe never sees a previous policy set
lab_apply() {
	local before after last i quiet=0
	before=$(reload_count)
	SYNC_CHANGED=0
	sync_dir "$1" "$LAB_LIVE" || return 1
	((SYNC_CHANGED)) || return 0
	((before >= 0)) || return 0
	for ((i = 0; i < 200; i++)); do
		after=$(reload_count)
		((after > before)) && break
		sleep 0.05
	done
	if ((after <= before)); then
		add_diff "podwalld did not reload within 10 s (reloads+errors stayed $before)"
		return 0
	fi
	last=$after
	for ((i = 0; i < 100 && quiet < LAB_SETTLE_MS; i++)); do
		sleep 0.05
		after=$(reload_count)
		if ((after != last)); then
			last=$after
			quiet=0
			vlog "another reload after the first (a burst spanned two)"
		else
			quiet=$((quiet + 50))
		fi
	done
	return 0
}

