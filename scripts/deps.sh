#!/usr/bin/env bash
# Install the Debian 12 packages podwall needs, but only those missing.
# Fast (one dpkg-query call) when everything is already installed.
set -euo pipefail

BUILD_PKGS="make gcc clang llvm libbpf-dev libelf-dev zlib1g-dev libnl-3-dev
	libnl-route-3-dev libjansson-dev libyaml-dev libcmocka-dev bpftool
	gcc-multilib pkg-config libcap-dev"
DEV_PKGS="clang-format cppcheck"
TOOL_PKGS="iproute2 nftables iptables ipset ethtool iperf3 procps kmod util-linux psmisc"
BENCH_PKGS="gnuplot-nox python3"

# shellcheck disable=SC2206
PKGS=($BUILD_PKGS $DEV_PKGS $TOOL_PKGS $BENCH_PKGS)

missing=()
# One dpkg-query for all packages; packages dpkg has never heard of are
# reported on stderr and simply absent from stdout.
status=$(dpkg-query -W -f='${Package} ${Status}\n' "${PKGS[@]}" 2>/dev/null || true)
for p in "${PKGS[@]}"; do
	if ! grep -qE "^${p}(:[a-z0-9]+)? install ok installed$" <<<"$status"; then
		missing+=("$p")
	fi
done

if [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi

echo "deps: installing missing packages: ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: need root to install packages (run as root or: sudo $0)" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null
echo "deps: done"
