#!/usr/bin/env bash
# gen-model.sh: emit the upstream NetworkPolicy e2e model (namespaces x, y, z;
# pods a, b, c) as Kubernetes YAML, the way `kubectl get -o yaml` prints it.
#
# Usage:
#   gen-model.sh [-d DIR] pods POD...          namespaces x, y, z and the given pods
#   gen-model.sh [-d DIR] pod POD [KEY=VAL]... one pod with extra labels
#   gen-model.sh [-d DIR] ns NS [KEY=VAL]...   one namespace with extra labels
#   gen-model.sh addr POD 4|6                  print the pod's IPv4 or IPv6 address
#
# POD is ns/name (x/a). Without -d the objects go to stdout as one multi-document
# stream; with -d each object is written to DIR/ns-<ns>.yaml or DIR/pod-<ns>-<pod>.yaml,
# so a step directory can replace one object by shipping a file of the same name.
#
# Addressing (these addresses exist only inside the lab's own network namespaces):
#   IPv4 10.42.<ns index>.<pod index + 10>, IPv6 fd00:42::<ns index>:<pod index + 10>
#   with x=1, y=2, z=3 and a=0 (10), b=1 (11), c=2 (12), ...
# Every pod serves ports 80 and 81 on TCP, UDP and SCTP: one container per
# (port, protocol), named cont-<port>-<proto>, containerPort named serve-<port>-<proto>.
# PORTS and PROTOCOLS in the environment narrow that (default "80 81", "TCP UDP SCTP").
set -euo pipefail

PORTS=${PORTS:-80 81}
PROTOCOLS=${PROTOCOLS:-TCP UDP SCTP}
NAMESPACES="x y z"
AGNHOST=registry.k8s.io/e2e-test-images/agnhost:2.53

die() { echo "gen-model.sh: $*" >&2; exit 2; }

ns_index() {
	case "$1" in
	x) echo 1 ;; y) echo 2 ;; z) echo 3 ;;
	*) die "unknown namespace '$1' (model namespaces are x, y, z)" ;;
	esac
}

pod_index() {
	[[ $1 =~ ^[a-z]$ ]] || die "pod name '$1' must be one lowercase letter"
	local c
	printf -v c '%d' "'$1"
	echo $((c - 97 + 10))
}

split_pod() { # POD -> sets NS NAME
	[[ $1 =~ ^([a-z])/([a-z])$ ]] || die "bad pod '$1' (want ns/name, e.g. x/a)"
	NS=${BASH_REMATCH[1]}
	NAME=${BASH_REMATCH[2]}
	ns_index "$NS" >/dev/null
}

addr4() { echo "10.42.$(ns_index "$1").$(pod_index "$2")"; }
addr6() { echo "fd00:42::$(ns_index "$1"):$(pod_index "$2")"; }

# labels "k=v" ... -> sorted YAML map lines with the given indent
emit_labels() {
	local indent=$1
	shift
	local kv
	printf '%s\n' "$@" | LC_ALL=C sort -t= -k1,1 -u | while IFS= read -r kv; do
		[[ $kv == *=* ]] || die "label '$kv' is not KEY=VALUE"
		printf '%s%s: %s\n' "$indent" "${kv%%=*}" "$(yaml_scalar "${kv#*=}")"
	done
}

# quote a scalar that YAML would otherwise read as a non-string
yaml_scalar() {
	case "$1" in
	# YAML 1.1 reads y/n/yes/no/on/off/true/false (any case), null and numbers as non-strings
	'' | [yYnN] | [yY]es | YES | [nN]o | NO | [oO]n | ON | [oO]ff | OFF | [tT]rue | TRUE | [fF]alse | FALSE | \
		null | Null | NULL | '~' | [0-9+.-]* | *:* | *' '* | *'#'*) printf '"%s"' "$1" ;;
	*) printf '%s' "$1" ;;
	esac
}

emit_ns() { # NS extra-labels...
	local ns=$1
	shift
	cat <<NS
apiVersion: v1
kind: Namespace
metadata:
  labels:
$(emit_labels '    ' "kubernetes.io/metadata.name=$ns" "$@")
  name: $(yaml_scalar "$ns")
spec:
  finalizers:
  - kubernetes
status:
  phase: Active
NS
}

emit_container() { # port proto
	local port=$1 proto=$2 lp
	lp=$(tr 'A-Z' 'a-z' <<<"$proto")
	case "$proto" in
	TCP | UDP)
		cat <<C
  - command:
    - /agnhost
    - serve-hostname
    - --$lp
    - --http=false
    - --port
    - "$port"
C
		;;
	SCTP)
		cat <<C
  - command:
    - /agnhost
    - porter
    env:
    - name: SERVE_SCTP_PORT_$port
      value: foo
C
		;;
	*) die "unknown protocol '$proto'" ;;
	esac
	cat <<C
    image: $AGNHOST
    imagePullPolicy: IfNotPresent
    name: cont-$port-$lp
    ports:
    - containerPort: $port
      name: serve-$port-$lp
      protocol: $proto
C
}

emit_pod() { # ns name extra-labels...
	local ns=$1 name=$2 port proto
	shift 2
	cat <<P
apiVersion: v1
kind: Pod
metadata:
  labels:
$(emit_labels '    ' "pod=$name" "$@")
  name: $(yaml_scalar "$name")
  namespace: $(yaml_scalar "$ns")
spec:
  containers:
P
	for port in $PORTS; do
		for proto in $PROTOCOLS; do
			emit_container "$port" "$proto"
		done
	done
	cat <<P
  restartPolicy: Always
status:
  phase: Running
  podIP: $(addr4 "$ns" "$name")
  podIPs:
  - ip: $(addr4 "$ns" "$name")
  - ip: $(addr6 "$ns" "$name")
P
}

OUTDIR=
FIRST=1
obj() { # file-name function args...: one object, to DIR/file-name or to stdout
	local file=$1
	shift
	if [[ -n $OUTDIR ]]; then
		"$@" >"$OUTDIR/$file"
	else
		[[ $FIRST == 1 ]] || echo '---'
		FIRST=0
		"$@"
	fi
}

if [[ ${1:-} == -d ]]; then
	[[ $# -ge 2 ]] || die "-d needs a directory"
	OUTDIR=$2
	[[ -d $OUTDIR ]] || die "no such directory: $OUTDIR"
	shift 2
fi

cmd=${1:-}
[[ -n $cmd ]] || die "usage: gen-model.sh [-d DIR] pods POD... | pod POD [K=V]... | ns NS [K=V]... | addr POD 4|6"
shift
case "$cmd" in
pods)
	[[ $# -ge 1 ]] || die "pods: no pod given"
	for ns in $NAMESPACES; do
		obj "ns-$ns.yaml" emit_ns "$ns"
	done
	for p in "$@"; do
		split_pod "$p"
		obj "pod-$NS-$NAME.yaml" emit_pod "$NS" "$NAME"
	done
	;;
pod)
	[[ $# -ge 1 ]] || die "pod: no pod given"
	split_pod "$1"
	shift
	obj "pod-$NS-$NAME.yaml" emit_pod "$NS" "$NAME" "$@"
	;;
ns)
	[[ $# -ge 1 ]] || die "ns: no namespace given"
	ns=$1
	shift
	ns_index "$ns" >/dev/null
	obj "ns-$ns.yaml" emit_ns "$ns" "$@"
	;;
addr)
	[[ $# -eq 2 ]] || die "addr: want POD 4|6"
	split_pod "$1"
	case "$2" in
	4) addr4 "$NS" "$NAME" ;;
	6) addr6 "$NS" "$NAME" ;;
	*) die "addr: family must be 4 or 6" ;;
	esac
	;;
*) die "unknown command '$cmd'" ;;
esac
