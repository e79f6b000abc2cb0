#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# build-kernel.sh OUTDIR: builds OUTDIR/bzImage, the ktstr-vmm guest kernel.
#
# Extracts the Debian linux-source tarball into OUTDIR/src once, configures
# OUTDIR/obj with `make tinyconfig` + kernel.config (merge_config.sh -m,
# then olddefconfig), checks every symbol of the fragment came out as
# written and builds with -j$(nproc).  Cached: when OUTDIR/bzImage exists
# and OUTDIR/bzImage.hash matches the hash of the fragment, this script and
# the tarball's name, size and time, nothing is done.
#
# Environment: LINUX_SRC_TARBALL (default /usr/src/linux-source-6.12.tar.xz),
# JOBS (default $(nproc)).

set -euo pipefail

if (($# != 1)); then
	echo "usage: $0 OUTDIR" >&2
	exit 2
fi

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT=$(realpath -m "$1")
TARBALL=${LINUX_SRC_TARBALL:-/usr/src/linux-source-6.12.tar.xz}
JOBS=${JOBS:-$(nproc)}
FRAGMENT=$HERE/kernel.config
SRC=$OUT/src
OBJ=$OUT/obj

build_hash()
{
	{
		cat "$FRAGMENT" "${BASH_SOURCE[0]}"
		stat -L -c '%n %s %Y' "$TARBALL"
	} | sha256sum | cut -d' ' -f1
}

# One pass over the tarball; a directory that is there is complete.
extract()
{
	if [[ -f $SRC/Makefile ]]; then
		return
	fi
	echo "build-kernel: extracting $TARBALL into $SRC"
	rm -rf "$SRC.tmp"
	mkdir -p "$SRC.tmp"
	tar -xJf "$TARBALL" -C "$SRC.tmp" --strip-components=1
	mv "$SRC.tmp" "$SRC"
}

# Every CONFIG_X=v and "# CONFIG_X is not set" of the fragment, as is.
check_config()
{
	local line sym bad=0

	while read -r line; do
		case $line in
		CONFIG_*=*)
			grep -qxF "$line" "$OBJ/.config" && continue
			;;
		"# CONFIG_"*" is not set")
			sym=${line#"# "}
			sym=${sym%% *}
			grep -q "^$sym=" "$OBJ/.config" || continue
			;;
		*)
			continue
			;;
		esac
		echo "build-kernel: $line did not survive olddefconfig" >&2
		bad=1
	done < "$FRAGMENT"
	return $bad
}

configure()
{
	mkdir -p "$OBJ"
	make -C "$SRC" O="$OBJ" ARCH=x86_64 tinyconfig > /dev/null
	(cd "$SRC" && scripts/kconfig/merge_config.sh -m -O "$OBJ" \
		"$OBJ/.config" "$FRAGMENT") > /dev/null
	make -C "$SRC" O="$OBJ" ARCH=x86_64 olddefconfig > /dev/null
	check_config
}

main()
{
	local hash

	hash=$(build_hash)
	if [[ -f $OUT/bzImage && -f $OUT/bzImage.hash &&
	      $(cat "$OUT/bzImage.hash") == "$hash" ]]; then
		echo "build-kernel: $OUT/bzImage is up to date"
		return
	fi
	mkdir -p "$OUT"
	extract
	configure
	echo "build-kernel: building with -j$JOBS"
	make -C "$SRC" O="$OBJ" ARCH=x86_64 -j"$JOBS" bzImage
	cp "$OBJ/arch/x86/boot/bzImage" "$OUT/bzImage.tmp"
	mv "$OUT/bzImage.tmp" "$OUT/bzImage"
	echo "$hash" > "$OUT/bzImage.hash"
	echo "build-kernel: $OUT/bzImage ($(stat -c %s "$OUT/bzImage") bytes)"
}

main
