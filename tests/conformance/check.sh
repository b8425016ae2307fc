#!/usr/bin/env bash
# check.sh: internal consistency of the conformance data (no podwall code involved).
# Every case has its metadata; every step its directory and one expectation matrix per
# probed port/proto; every matrix covers exactly the case's pods with '-' on the diagonal
# and X/. elsewhere; step files are named after the objects they hold; consecutive steps
# differ; model/model.yaml matches the generator. YAML is linted in bash; when python3
# with PyYAML is present (a developer aid, not a dependency) every file is also parsed.
# Prints PASS:/FAIL: lines like the other test scripts; exit 1 on any problem.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/conformance/lib.sh
. "$HERE/lib.sh"

ERRS=0
NMX=0
NYAML=0
NCASE=0
err() {
	echo "FAIL: check: $*"
	ERRS=$((ERRS + 1))
}

yaml_lint() { # FILE: cheap structural checks; sets OBJ="kind ns name"
	local f=$1 kind name ns
	if grep -q $'\t' "$f"; then
		err "$f: tab character (YAML indentation must be spaces)"
	fi
	if [[ -n $(tail -c1 "$f") ]]; then
		err "$f: no newline at end of file"
	fi
	[[ $(head -n1 "$f") == apiVersion:* ]] || err "$f: does not start with apiVersion"
	kind=$(sed -n 's/^kind: \(.*\)$/\1/p' "$f")
	name=$(sed -n '/^metadata:/,/^[a-z]/s/^  name: "\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' "$f")
	ns=$(sed -n '/^metadata:/,/^[a-z]/s/^  namespace: "\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' "$f")
	[[ -n $kind && -n $name ]] || err "$f: kind or metadata.name missing"
	# a bare y/n/yes/no/on/off is a boolean in YAML 1.1: every such value must be quoted
	if grep -Eq ':[[:space:]]+(y|Y|n|N|yes|no|on|off)[[:space:]]*$|^[[:space:]]*-[[:space:]]+(y|Y|n|N|yes|no|on|off)[[:space:]]*$' "$f"; then
		err "$f: unquoted YAML 1.1 boolean-like scalar (quote it)"
	fi
	OBJ="$kind ${ns:--} $name"
}

check_case() {
	local d=$1 base=${1##*/} key s p f port proto pods_seen=() src dst cell expect_name kind ons oname
	NCASE=$((NCASE + 1))
	if ! conf_load "$d"; then
		err "$CONF_ERR"
		return
	fi
	for key in number title describe context pods protocols ports steps derived; do
		[[ -n ${CONF[$key]:-} ]] || err "$base: case.conf has no $key"
	done
	[[ ${CONF[number]:-} == "${base%%-*}" ]] || err "$base: number=${CONF[number]:-} does not match the directory"
	[[ ${CONF[derived]:-} == yes || ${CONF[derived]:-} == no ]] || err "$base: derived must be yes or no"
	[[ ${CONF[steps]:-} =~ ^[1-9]$ ]] || { err "$base: steps must be 1..9"; return; }
	for p in ${CONF[pods]}; do
		[[ $p =~ ^[xyz]/[a-z]$ ]] || err "$base: bad pod '$p'"
		[[ " ${pods_seen[*]} " == *" $p "* ]] && err "$base: pod $p listed twice"
		pods_seen+=("$p")
	done
	((${#pods_seen[@]} >= 2)) || err "$base: fewer than 2 pods"
	for p in ${CONF[protocols]}; do
		[[ $p == TCP || $p == UDP || $p == SCTP ]] || err "$base: bad protocol '$p'"
	done
	for p in ${CONF[ports]}; do
		[[ $p == 80 || $p == 81 ]] || err "$base: port '$p' is not served by the model"
	done
	for s in "$d"/step*; do
		s=${s##*/step}
		[[ $s =~ ^[0-9]+$ && $s -ge 1 && $s -le ${CONF[steps]} ]] || err "$base: unexpected step$s (steps=${CONF[steps]})"
	done
	local prev_sig= sig
	for ((s = 1; s <= CONF[steps]; s++)); do
		[[ -d $d/step$s ]] || { err "$base: step$s directory missing"; continue; }
		[[ -n ${CONF[step$s]:-} ]] || err "$base: case.conf has no step$s description"
		[[ -n ${CONF[probe$s]:-} ]] || err "$base: case.conf has no probe$s"
		local -A want_files=()
		for p in ${CONF[probe$s]:-}; do
			if [[ ! $p =~ ^(80|81)/(tcp|udp|sctp)$ ]]; then
				err "$base: probe$s '$p' is not PORT/proto (lower case)"
				continue
			fi
			port=${BASH_REMATCH[1]}
			proto=${BASH_REMATCH[2]}
			[[ " ${CONF[ports]} " == *" $port "* ]] || err "$base: probe$s $p: port not in ports=${CONF[ports]}"
			[[ " ${CONF[protocols]} " == *" ${proto^^} "* ]] || err "$base: probe$s $p: protocol not in protocols=${CONF[protocols]}"
			[[ -n ${want_files[$p]:-} ]] && err "$base: probe$s lists $p twice"
			want_files[$p]=1
			f=$d/step$s/expect-$port-$proto.txt
			if ! matrix_load "$f"; then
				err "$MX_ERR"
				continue
			fi
			NMX=$((NMX + 1))
			[[ "${MX_COLS[*]}" == "${CONF[pods]}" ]] || err "$f: columns '${MX_COLS[*]}' are not pods '${CONF[pods]}' (same order)"
			[[ "${MX_ROWS[*]}" == "${CONF[pods]}" ]] || err "$f: rows '${MX_ROWS[*]}' are not pods '${CONF[pods]}' (same order)"
			for src in ${CONF[pods]}; do
				for dst in ${CONF[pods]}; do
					cell=${MX["$src $dst"]:-}
					if [[ $src == "$dst" ]]; then
						[[ $cell == - ]] || err "$f: diagonal $src->$dst is '$cell', want '-'"
					else
						[[ $cell == X || $cell == . ]] || err "$f: $src->$dst is '$cell', want X or ."
					fi
				done
			done
		done
		for f in "$d/step$s"/expect-*.txt; do
			[[ -e $f ]] || continue
			expect_name=${f##*/expect-}
			expect_name=${expect_name%.txt}
			expect_name=${expect_name/-//}
			[[ -n ${want_files[$expect_name]:-} ]] || err "$f: not listed in probe$s"
		done
		unset want_files
		for f in "$d/step$s"/*; do
			[[ -e $f ]] || continue
			case "${f##*/}" in
			expect-*.txt) ;;
			*.yaml) ;;
			*) err "$f: unexpected file" ;;
			esac
		done
		sig=
		for f in "$d/step$s"/*.yaml; do
			[[ -e $f ]] || continue
			NYAML=$((NYAML + 1))
			yaml_lint "$f"
			read -r kind ons oname <<<"$OBJ"
			case "${f##*/}" in
			netpol-*.yaml)
				[[ $kind == NetworkPolicy && ${f##*/} == "netpol-$ons-$oname.yaml" ]] ||
					err "$f: holds $kind $ons/$oname; want netpol-<ns>-<name>.yaml"
				grep -q '^  policyTypes:$' "$f" || err "$f: no explicit policyTypes (upstream always sets them)"
				;;
			pod-*.yaml)
				[[ $kind == Pod && ${f##*/} == "pod-$ons-$oname.yaml" ]] || err "$f: holds $kind $ons/$oname"
				[[ " ${CONF[pods]} " == *" $ons/$oname "* ]] || err "$f: pod $ons/$oname is not one of the case's pods"
				;;
			ns-*.yaml)
				[[ $kind == Namespace && ${f##*/} == "ns-$oname.yaml" ]] || err "$f: holds $kind $oname"
				;;
			*) err "$f: name must be netpol-<ns>-<name>.yaml, pod-<ns>-<pod>.yaml or ns-<ns>.yaml" ;;
			esac
			sig+="$(cksum <"$f") ${f##*/};"
		done
		((s > 1)) && [[ $sig == "$prev_sig" ]] && err "$base: step$s has the same objects as step$((s - 1))"
		prev_sig=$sig
	done
}

for d in "$HERE"/cases/*/; do
	check_case "${d%/}"
done

# the 48 numbers, each once
nums=$(for d in "$HERE"/cases/*/; do b=${d%/}; b=${b##*/}; echo "${b%%-*}"; done)
[[ $(sort -u <<<"$nums" | wc -l) -eq 48 && $(wc -l <<<"$nums") -eq 48 ]] || err "want 48 distinct case numbers, have: $(tr '\n' ' ' <<<"$nums")"
for n in $(seq -w 1 48); do
	grep -qx "$n" <<<"$nums" || err "case $n missing"
done

# the shipped full model is what the generator prints
if ! diff -q <("$GEN_MODEL" pods x/a x/b x/c y/a y/b y/c z/a z/b z/c) "$HERE/model/model.yaml" >/dev/null; then
	err "model/model.yaml differs from gen-model.sh output (regenerate it)"
fi
for p in x/a x/b x/c y/a y/b y/c z/a z/b z/c; do
	for fam in 4 6; do
		[[ $(pod_addr "$p" $fam) == $("$GEN_MODEL" addr "$p" $fam) ]] || err "lib.sh pod_addr $p $fam disagrees with gen-model.sh"
		[[ $(addr_pod "$(pod_addr "$p" $fam)") == "$p" ]] || err "lib.sh addr_pod does not invert pod_addr for $p/$fam"
	done
done

# full YAML parse when a parser happens to be installed (not a project dependency)
if python3 -c 'import yaml' 2>/dev/null; then
	if ! out=$(python3 - "$HERE" <<'PY' 2>&1
import glob, sys, yaml
root = sys.argv[1]
bad = 0
for f in sorted(glob.glob(root + '/cases/*/step*/*.yaml') + glob.glob(root + '/model/*.yaml')):
    try:
        for d in yaml.safe_load_all(open(f)):
            if not isinstance(d, dict) or 'kind' not in d or 'metadata' not in d:
                print(f + ': not a Kubernetes object'); bad += 1
                continue
            md = d['metadata']
            for k in ('name', 'namespace'):
                if k in md and not isinstance(md[k], str):
                    print(f + ': metadata.%s is not a string' % k); bad += 1
            for v in (md.get('labels') or {}).values():
                if not isinstance(v, str):
                    print(f + ': label value %r is not a string' % (v,)); bad += 1
    except yaml.YAMLError as e:
        print(f + ': ' + str(e).replace('\n', ' ')); bad += 1
sys.exit(1 if bad else 0)
PY
	); then
		err "PyYAML: $out"
	fi
	yaml_parser="PyYAML + bash lint"
else
	yaml_parser="bash lint only (python3-yaml not installed)"
fi

if ((ERRS)); then
	echo "check: $ERRS problem(s)"
	exit 1
fi
echo "PASS: check: $NCASE cases, $NMX matrices, $NYAML step YAML files consistent; YAML: $yaml_parser"
