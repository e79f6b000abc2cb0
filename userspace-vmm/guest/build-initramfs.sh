#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# build-initramfs.sh OUT.cpio.gz [INIT [FILE...]]: the ktstr-vmm guest
# initramfs, a gzipped newc cpio holding INIT as /init (default: the
# ktstr-guest-init binary of `make -C userspace-vmm`, build/userspace-vmm/
# ktstr-guest-init), empty /dev, /proc, /sys and /tmp, /dev/console when
# mknod is allowed, and each FILE in /bin.  Owned by root, sorted and
# without timestamps in the gzip header, so the same inputs give the same
# bytes.

set -euo pipefail

if (($# < 1)); then
	echo "usage: $0 OUT.cpio.gz [INIT [FILE...]]" >&2
	exit 2
fi

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
OUT=$(realpath -m "$1")
INIT=${2:-$TOP/build/userspace-vmm/ktstr-guest-init}
shift $(($# < 2 ? $# : 2))

if [[ ! -x $INIT ]]; then
	echo "build-initramfs: no $INIT (make -C $TOP/userspace-vmm ktstr-guest-init)" >&2
	exit 1
fi

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,dev,proc,sys,tmp}
cp "$INIT" "$root/init"
chmod 755 "$root/init"
for f in "$@"; do
	cp "$f" "$root/bin/"
done
mknod -m 600 "$root/dev/console" c 5 1 2> /dev/null || true
mkdir -p "$(dirname "$OUT")"
(cd "$root" && find . -mindepth 1 | LC_ALL=C sort |
	cpio -o -H newc -R 0:0 --quiet) | gzip -9n > "$OUT.tmp"
mv "$OUT.tmp" "$OUT"
echo "build-initramfs: $OUT ($(stat -c %s "$OUT") bytes)"
