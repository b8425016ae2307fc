#!/usr/bin/env bash
# Run CI as it runs on a new machine: `bash .ci/run` in a fresh clone of this
# repository inside a minimal Debian 12 (debootstrap --variant=minbase) chroot
# that has only make, git and ca-certificates, with ../shared beside it.
# The base chroot is built once and kept as a tarball in $PW_FRESH_DIR
# (default /var/tmp); every run unpacks a new copy and removes it afterwards.
#
#   scripts/fresh-check.sh            # as root, from the repository
set -euo pipefail
top=$(git rev-parse --show-toplevel)
dir=${PW_FRESH_DIR:-/var/tmp}
base=$dir/pw-fresh-base.tgz
root=$dir/pw-fresh
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

[ "$(id -u)" -eq 0 ] || { echo "fresh-check: needs root" >&2; exit 1; }
if [ ! -f "$base" ]; then
	command -v debootstrap >/dev/null || apt-get install -y -q debootstrap
	rm -rf "$root"
	debootstrap --variant=minbase bookworm "$root" "$mirror"
	chroot "$root" /bin/bash -c 'apt-get install -y -q make git ca-certificates' >/dev/null
	tar -C "$dir" -czf "$base" pw-fresh
	rm -rf "$root"
fi

rm -rf "$root"
tar -C "$dir" -xzf "$base"
cleanup() {
	umount -R "$root/run" "$root/dev" "$root/sys" "$root/proc" 2>/dev/null || true
	rm -rf --one-file-system "$root"
}
trap cleanup EXIT
mount -t proc proc "$root/proc"
mount --rbind /sys "$root/sys" && mount --make-rslave "$root/sys"
mount --rbind /dev "$root/dev" && mount --make-rslave "$root/dev"
mount -t tmpfs tmpfs "$root/run"
mkdir -p "$root/ci"
git clone -q "$top" "$root/ci/main"
[ -d "$top/../shared" ] && cp -r "$top/../shared" "$root/ci/shared"
chroot "$root" /bin/bash -c 'cd /ci/main && CI=true bash .ci/run </dev/null'
