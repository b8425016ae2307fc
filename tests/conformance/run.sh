#!/usr/bin/env bash
# run.sh: the 48 upstream Kubernetes NetworkPolicy e2e cases against podwall.
#
#   tests/conformance/run.sh [--mode offline|lab] [--case N[,N...]] [--addr name,v4,v6]
#                            [--via pod|service|both | --services] [-j JOBS]
#                            [--update-readme] [-v]
#
# offline (default): every (src, dst, port, proto) cell of every step is compared with
#   podwallctl -j trace SRC DST PORT/PROTO --policy-dir DIR          (verdict allow|deny)
#   once per address form in --addr (default name,v4,v6: ns/pod, IPv4, IPv6).
# lab: ONE lab (podwallctl lab up) with the whole 9-pod model for all cases; each case and
#   step rewrites its policy directory in place (by rename), waits for podwalld's reload
#   (status reload count), then podwallctl -j lab probe --pods <case pods> --ports P/proto,
#   retrying like upstream (every 1 s, LAB_RETRIES times, default 10) until it matches.
#   --via service (= --services): lab up --services, probe the ClusterIP-style service
#   addresses; --via both: probe the pod and the service addresses in the same lab.
#   Both "observed" and "predicted" must equal the expectation. Cases probing SCTP are
#   skipped when the kernel has no SCTP.
#
# Environment: PODWALLCTL (default <repo>/build/podwallctl), LAB_UP_ARGS (e.g. --topology
#   bridge), LAB_PROBE_ARGS (e.g. --timeout-ms 300), LAB_RETRIES, LAB_NAME (default pwconf<pid>),
#   LAB_STEP_MODE=reload|restart (restart: a lab per case, down + up per step; slow).
# Prints PASS:/FAIL:/SKIP: per case and ends with "N passed, N failed, N skipped";
# exit 0 when nothing failed, 1 otherwise, 2 on a usage error.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
# shellcheck source=tests/conformance/lib.sh
. "$HERE/lib.sh"

PODWALLCTL=${PODWALLCTL:-$REPO/build/podwallctl}
LAB_UP_ARGS=${LAB_UP_ARGS:-}
LAB_PROBE_ARGS=${LAB_PROBE_ARGS:-}
LAB_RETRIES=${LAB_RETRIES:-10}
LAB_STEP_MODE=${LAB_STEP_MODE:-reload}
LAB_NAME=${LAB_NAME:-pwconf$$}
LAB_SETTLE_MS=${LAB_SETTLE_MS:-100}
MODE=offline
ONLY=
ADDR=name,v4,v6
JOBS=1
UPDATE_README=0
VIA=pod
VERBOSE=0
MAX_DIFFS=8

usage() {
	sed -n '2,20s/^# \{0,1\}//p' "$0" >&2
	exit 2
}

while [[ $# -gt 0 ]]; do
	case "$1" in
	--mode) MODE=${2:-}; shift 2 ;;
	--mode=*) MODE=${1#*=}; shift ;;
	--case) ONLY=${2:-}; shift 2 ;;
	--case=*) ONLY=${1#*=}; shift ;;
	--addr) ADDR=${2:-}; shift 2 ;;
	--addr=*) ADDR=${1#*=}; shift ;;
	-j) JOBS=${2:-}; shift 2 ;;
	-j*) JOBS=${1#-j}; shift ;;
	--services) VIA=service; shift ;;
	--via) VIA=${2:-}; shift 2 ;;
	--via=*) VIA=${1#*=}; shift ;;
	--update-readme) UPDATE_README=1; shift ;;
	-v) VERBOSE=1; shift ;;
	-h | --help) usage ;;
	*) echo "run.sh: unknown argument '$1'" >&2; usage ;;
	esac
done
[[ $MODE == offline || $MODE == lab ]] || { echo "run.sh: --mode must be offline or lab" >&2; exit 2; }
[[ $JOBS =~ ^[1-9][0-9]*$ && $JOBS -le 64 ]] || { echo "run.sh: -j wants 1..64" >&2; exit 2; }
[[ $LAB_RETRIES =~ ^[1-9][0-9]*$ && $LAB_RETRIES -le 60 ]] || { echo "run.sh: LAB_RETRIES wants 1..60" >&2; exit 2; }
IFS=, read -r -a ADDR_FORMS <<<"$ADDR"
for a in "${ADDR_FORMS[@]}"; do
	[[ $a == name || $a == v4 || $a == v6 ]] || { echo "run.sh: --addr takes name,v4,v6" >&2; exit 2; }
done
case "$VIA" in
pod) ;;
service) LAB_UP_ARGS+=" --services" ;;
both) LAB_UP_ARGS+=" --services" ;;
*) echo "run.sh: --via is pod, service or both" >&2; exit 2 ;;
esac
[[ $LAB_STEP_MODE == reload || $LAB_STEP_MODE == restart ]] || { echo "run.sh: LAB_STEP_MODE is reload or restart" >&2; exit 2; }
[[ $LAB_NAME =~ ^[A-Za-z0-9_-]{1,20}$ ]] || { echo "run.sh: LAB_NAME wants [A-Za-z0-9_-], at most 20" >&2; exit 2; }
# one lab, reused by every case: its policy directory is rewritten per case and step
[[ $MODE == lab ]] && JOBS=1

WORK=$(mktemp -d "${TMPDIR:-/tmp}/pwconf.$$.XXXXXX") || exit 1
LAB_IS_UP=0
cleanup() {
	if ((LAB_IS_UP)); then
		"$PODWALLCTL" lab down --name "$LAB_NAME" >/dev/null 2>&1
	fi
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

vlog() { ((VERBOSE)) && echo "  $*" >&2; return 0; }

# form_of POD FORM: what to hand to trace for this pod
form_of() {
	case "$2" in
	name) echo "$1" ;;
	v4) pod_addr "$1" 4 ;;
	v6) pod_addr "$1" 6 ;;
	esac
}

DIFFS=()
add_diff() { DIFFS+=("$*"); }

# check_matrix_header FILE: the matrix must cover exactly the case's pods
matrix_for() { # CASEDIR STEP PORT PROTO
	local f=$1/step$2/expect-$3-$4.txt
	matrix_load "$f" || return 1
	if [[ "${MX_COLS[*]}" != "${CONF[pods]}" || "${MX_ROWS[*]}" != "${CONF[pods]}" ]]; then
		MX_ERR="$f: rows/columns '${MX_ROWS[*]}' / '${MX_COLS[*]}' are not the case's pods '${CONF[pods]}'"
		return 1
	fi
}

want_verdict() { # cell -> allow|deny
	case "$1" in X) echo allow ;; .) echo deny ;; *) echo "?" ;; esac
}

offline_step() { # CASEDIR STEP DIR
	local casedir=$1 step=$2 dir=$3 probe port proto src dst want form s d out rc v
	for probe in ${CONF[probe$step]}; do
		port=${probe%/*}
		proto=${probe#*/}
		if ! matrix_for "$casedir" "$step" "$port" "$proto"; then
			add_diff "$MX_ERR"
			continue
		fi
		for src in ${CONF[pods]}; do
			for dst in ${CONF[pods]}; do
				[[ $src == "$dst" ]] && continue
				want=$(want_verdict "${MX["$src $dst"]}")
				for form in "${ADDR_FORMS[@]}"; do
					s=$(form_of "$src" "$form")
					d=$(form_of "$dst" "$form")
					out=$("$PODWALLCTL" -j trace "$s" "$d" "$port/$proto" --policy-dir "$dir" 2>&1)
					rc=$?
					if ! v=$(json_top_string "$out" verdict); then
						add_diff "step$step $port/$proto $src->$dst ($form): trace failed (exit $rc): $(head -c 200 <<<"$out" | tr '\n' ' ')"
						continue
					fi
					vlog "step$step $port/$proto $s -> $d: $v (want $want)"
					[[ $v == "$want" ]] || add_diff "step$step $port/$proto $src->$dst ($form): want $want, trace says $v"
				done
			done
		done
	done
}

# lab_compare STEP PORT PROTO JSON: compares one probe output with the expectation; fills DIFFS
lab_compare() { # STEP PORT PROTO JSON VIA: every pair must appear in IPv4 and in IPv6
	local step=$1 port=$2 proto=$3 json=${4//$'\n'/ } via=${5:-pod} obj src dst p pr obs pred want key fam
	local -A seen=()
	while [[ $json =~ \{([^{}]*)\} ]]; do
		obj=${BASH_REMATCH[1]}
		json=${json#*"${BASH_REMATCH[0]}"}
		[[ $obj =~ \"src\"[[:space:]]*:[[:space:]]*\"([^\"]*)\" ]] || continue
		src=$(addr_pod "${BASH_REMATCH[1]}")
		[[ $obj =~ \"dst\"[[:space:]]*:[[:space:]]*\"([^\"]*)\" ]] || continue
		dst=$(addr_pod "${BASH_REMATCH[1]}")
		[[ $obj =~ \"port\"[[:space:]]*:[[:space:]]*\"?([0-9]+) ]] || continue
		p=${BASH_REMATCH[1]}
		[[ $obj =~ \"proto\"[[:space:]]*:[[:space:]]*\"([A-Za-z]+)\" ]] || continue
		pr=${BASH_REMATCH[1],,}
		[[ $p == "$port" && $pr == "$proto" && $src != "$dst" ]] || continue
		[[ -n ${MX["$src $dst"]+x} ]] || continue
		if [[ $obj =~ \"via\"[[:space:]]*:[[:space:]]*\"([a-z]+)\" && ${BASH_REMATCH[1]} != "$via" ]]; then
			add_diff "step$step $port/$proto $src->$dst: probed via ${BASH_REMATCH[1]}, not $via"
		fi
		fam=?
		[[ $obj =~ \"family\"[[:space:]]*:[[:space:]]*([46]) ]] && fam=${BASH_REMATCH[1]}
		want=${MX["$src $dst"]}
		key="$src $dst"
		seen[$key]=1
		seen[$key $fam]=1
		[[ $obj =~ \"observed\"[[:space:]]*:[[:space:]]*(true|false) ]] && obs=${BASH_REMATCH[1]} || obs=missing
		[[ $obj =~ \"predicted\"[[:space:]]*:[[:space:]]*(true|false) ]] && pred=${BASH_REMATCH[1]} || pred=missing
		[[ $want == X ]] && want=true || want=false
		[[ $obs == "$want" ]] || add_diff "step$step $port/$proto $src->$dst IPv$fam via $via: want connected=$want, observed $obs"
		[[ $pred == "$want" ]] || add_diff "step$step $port/$proto $src->$dst IPv$fam via $via: want connected=$want, predicted $pred"
	done
	for src in ${CONF[pods]}; do
		for dst in ${CONF[pods]}; do
			[[ $src == "$dst" ]] && continue
			for fam in 4 6; do
				[[ -n ${seen["$src $dst $fam"]+x} ]] ||
					add_diff "step$step $port/$proto $src->$dst IPv$fam via $via: not in the probe output"
			done
		done
	done
}

LAB_SOCKET=

lab_up() { # DIR
	local out
	# shellcheck disable=SC2086 # LAB_UP_ARGS is a list of flags
	if ! out=$("$PODWALLCTL" lab up "$1" --name "$LAB_NAME" --force $LAB_UP_ARGS 2>&1); then
		add_diff "lab up failed: $(head -c 300 <<<"$out" | tr '\n' ' ')"
		return 1
	fi
	LAB_IS_UP=1
	out=$("$PODWALLCTL" -j lab show --name "$LAB_NAME" 2>/dev/null)
	[[ $out =~ \"socket\":\"([^\"]*)\" ]] && LAB_SOCKET=${BASH_REMATCH[1]}
	return 0
}

lab_down() {
	"$PODWALLCTL" lab down --name "$LAB_NAME" >/dev/null 2>&1 || add_diff "lab down failed"
	LAB_IS_UP=0
}

# lab_build_dir CASEDIR STEP OUT: the step's objects over the lab's full model (all nine
# pods: the lab's pods are fixed at lab up; the case's pods are selected at probe time)
lab_build_dir() {
	local casedir=$1 step=$2 out=$3 f
	mkdir -p "$out" || return 1
	rm -f "$out"/*.yaml
	cp "$LAB_MODEL"/*.yaml "$out/" || return 1
	for f in "$casedir/step$step"/*.yaml; do
		[[ -e $f ]] || continue
		cp "$f" "$out/" || return 1
	done
}

lab_case() { # CASEDIR
	local casedir=$1 step probe port proto try out stage=$WORK/stage rc pods via viaarg vias
	local -a saved
	pods=${CONF[pods]// /,}
	vias=$VIA
	[[ $VIA == both ]] && vias="pod service"
	if [[ $LAB_STEP_MODE == restart ]]; then
		rm -rf "$LAB_LIVE"
		lab_build_dir "$casedir" 1 "$LAB_LIVE" || { add_diff "cannot build step1 directory"; return; }
		lab_up "$LAB_LIVE" || return
	fi
	for ((step = 1; step <= CONF[steps]; step++)); do
		lab_build_dir "$casedir" "$step" "$stage" || { add_diff "cannot build step$step directory"; break; }
		if [[ $LAB_STEP_MODE == restart ]]; then
			if ((step > 1)); then
				sync_dir "$stage" "$LAB_LIVE" || { add_diff "cannot update the lab directory"; break; }
				lab_down
				lab_up "$LAB_LIVE" || return
			fi
		else
			lab_apply "$stage" || { add_diff "cannot update the lab directory for step$step"; break; }
		fi
		for probe in ${CONF[probe$step]}; do
			port=${probe%/*}
			proto=${probe#*/}
			if ! matrix_for "$casedir" "$step" "$port" "$proto"; then
				add_diff "$MX_ERR"
				continue
			fi
			for via in $vias; do
				viaarg=
				[[ $via == service ]] && viaarg=--services
				saved=("${DIFFS[@]}")
				for ((try = 1; try <= LAB_RETRIES; try++)); do
					DIFFS=("${saved[@]}")
					# shellcheck disable=SC2086 # LAB_PROBE_ARGS is a list of flags
					out=$("$PODWALLCTL" -j lab probe --name "$LAB_NAME" --ports "$port/$proto" \
						--pods "$pods" $viaarg $LAB_PROBE_ARGS 2>&1)
					rc=$?
					if ((rc != 0)); then
						add_diff "step$step $port/$proto via $via: lab probe failed (exit $rc): $(head -c 200 <<<"$out" | tr '\n' ' ')"
					else
						lab_compare "$step" "$port" "$proto" "$out" "$via"
					fi
					((${#DIFFS[@]} == ${#saved[@]})) && break
					vlog "RETRY step$step $port/$proto via $via: try $try differs (${DIFFS[*]:${#saved[@]}:3}), retrying"
					((try < LAB_RETRIES)) && sleep 1
				done
				((try > 1 && try <= LAB_RETRIES)) && vlog "step$step $port/$proto via $via: matched at try $try"
			done
		done
	done
	[[ $LAB_STEP_MODE == restart ]] && lab_down
}

# run_case CASEDIR: prints one result line
run_case() {
	local casedir=$1 title num tag step
	DIFFS=()
	if ! conf_load "$casedir"; then
		echo "FAIL: ${casedir##*/}: $CONF_ERR"
		return
	fi
	num=${CONF[number]}
	title=${CONF[title]}
	tag="[${CONF[protocols]// /+}]"
	if [[ ! -x $PODWALLCTL ]]; then
		echo "SKIP: $num $title $tag: $PODWALLCTL not built"
		return
	fi
	if [[ $MODE == lab ]]; then
		if [[ " ${CONF[protocols]} " == *" SCTP "* ]] && ! kernel_has_sctp; then
			echo "SKIP: $num $title $tag: kernel has no SCTP (CONFIG_IP_SCTP not set)"
			return
		fi
		if [[ $EUID -ne 0 ]]; then
			echo "SKIP: $num $title $tag: the lab needs root"
			return
		fi
		if [[ -n $LAB_SHARED_ERR ]]; then
			add_diff "$LAB_SHARED_ERR"
		else
			lab_case "$casedir"
		fi
	else
		for ((step = 1; step <= CONF[steps]; step++)); do
			build_step_dir "$casedir" "$step" "$WORK/$num/step$step" >/dev/null ||
				{ add_diff "cannot build step$step directory"; continue; }
			offline_step "$casedir" "$step" "$WORK/$num/step$step"
		done
		rm -rf "${WORK:?}/$num"
	fi
	if ((${#DIFFS[@]} == 0)); then
		echo "PASS: $num $title $tag"
		return
	fi
	local msg i
	msg=${DIFFS[0]}
	for ((i = 1; i < ${#DIFFS[@]} && i < MAX_DIFFS; i++)); do
		msg+="; ${DIFFS[i]}"
	done
	((${#DIFFS[@]} > MAX_DIFFS)) && msg+="; ... $((${#DIFFS[@]} - MAX_DIFFS)) more"
	echo "FAIL: $num $title $tag: $msg"
}

CASES=()
for d in "$HERE"/cases/[0-9][0-9]-*/; do
	d=${d%/}
	n=${d##*/}
	n=${n%%-*}
	if [[ -n $ONLY ]]; then
		[[ ",$ONLY," == *",$n,"* || ",$ONLY," == *",$((10#$n)),"* ]] || continue
	fi
	CASES+=("$d")
done
if ((${#CASES[@]} == 0)); then
	echo "run.sh: no case matches '$ONLY'" >&2
	exit 2
fi

# lab mode: one lab with the whole model (x,y,z x a,b,c, dual stack), up once; each case
# and step rewrites its directory (podwalld reloads) and probes only the case's pods
LAB_LIVE=$WORK/live
LAB_MODEL=$WORK/model
LAB_SHARED_ERR=
if [[ $MODE == lab && -x $PODWALLCTL && $EUID -eq 0 ]]; then
	mkdir -p "$LAB_LIVE" "$LAB_MODEL"
	"$GEN_MODEL" -d "$LAB_MODEL" pods x/a x/b x/c y/a y/b y/c z/a z/b z/c || exit 1
	if [[ $LAB_STEP_MODE == reload ]]; then
		cp "$LAB_MODEL"/*.yaml "$LAB_LIVE/"
		DIFFS=()
		lab_up "$LAB_LIVE" || LAB_SHARED_ERR=${DIFFS[0]}
	fi
fi

# each case writes its line to its own file; lines are printed in case order
i=0
for d in "${CASES[@]}"; do
	if ((JOBS > 1)); then
		while (($(jobs -rp | wc -l) >= JOBS)); do wait -n; done
		run_case "$d" >"$WORK/result.$i" &
	else
		run_case "$d" | tee "$WORK/result.$i"
	fi
	i=$((i + 1))
done
wait
if ((LAB_IS_UP)); then
	DIFFS=()
	lab_down
	((${#DIFFS[@]})) && echo "run.sh: lab down failed" >&2
fi
((JOBS > 1)) && cat "$WORK"/result.* 2>/dev/null | sort -t' ' -k2,2n

pass=$(cat "$WORK"/result.* | grep -c '^PASS: ')
fail=$(cat "$WORK"/result.* | grep -c '^FAIL: ')
skip=$(cat "$WORK"/result.* | grep -c '^SKIP: ')

if ((UPDATE_README)); then
	cat "$WORK"/result.* >"$WORK/results"
	"$HERE/readme-table.sh" "$MODE" "$WORK/results" || echo "run.sh: README update failed" >&2
fi

echo "$pass passed, $fail failed, $skip skipped"
((fail == 0))
