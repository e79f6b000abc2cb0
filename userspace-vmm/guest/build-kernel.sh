#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# build-kernel.sh OUTDIR: builds OUTDIR/bzImage, the ktstr-vmm guest kernel
# (and, with KERNEL_MODULES=1, a host kernel that out-of-tree modules build
# against: selftests/vm/build-debug-kernel.sh).
#
# Extracts the Debian linux-source tarball into OUTDIR/src once, configures
# OUTDIR/obj with `make tinyconfig` + the fragment (merge_config.sh -m,
# then olddefconfig), checks every symbol of the fragment came out as
# written and builds with -j$(nproc).  Cached: when OUTDIR/bzImage exists
# and OUTDIR/bzImage.hash matches the hash of the fragment, this script,
# KERNEL_MODULES and the tarball's name, size and time, nothing is done.
#
# With KERNEL_MODULES=1 the build also runs `make modules` (which writes
# obj/Module.symvers, so that modpost resolves a module's symbols) and
# `make modules_prepare`, so that `make -C OUTDIR/obj M=DIR modules`
# builds a module against it, and installs the kernel the way a Debian
# linux-image package lays it out: OUTDIR/root/boot/vmlinuz-REL and
# OUTDIR/root/lib/modules/REL/ (modules.builtin, modules.dep), REL being
# the release written to OUTDIR/release.
#
# Environment: LINUX_SRC_TARBALL (default /usr/src/linux-source-6.12.tar.xz),
# JOBS (default $(nproc)), KERNEL_CONFIG (the fragment, default
# kernel.config next to this script), KERNEL_MODULES (default 0).

set -euo pipefail

if (($# != 1)); then
	echo "usage: $0 OUTDIR" >&2
	exit 2
fi

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT=$(realpath -m "$1")
TARBALL=${LINUX_SRC_TARBALL:-/usr/src/linux-source-6.12.tar.xz}
JOBS=${JOBS:-$(nproc)}
FRAGMENT=$(realpath "${KERNEL_CONFIG:-$HERE/kernel.config}")
MODULES=${KERNEL_MODULES:-0}
SRC=$OUT/src
OBJ=$OUT/obj
# depmod for modules_install, when root's PATH lacks it.
PATH=$PATH:/usr/sbin:/sbin

# What the build depends on besides the sources: a change rebuilds.
build_hash()
{
	{
		cat "$FRAGMENT" "${BASH_SOURCE[0]}"
		echo "modules=$MODULES"
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

# A fresh .config each time: kbuild rebuilds only what it changed.
configure()
{
	mkdir -p "$OBJ"
	make -C "$SRC" O="$OBJ" ARCH=x86_64 tinyconfig > /dev/null
	(cd "$SRC" && scripts/kconfig/merge_config.sh -m -O "$OBJ" \
		"$OBJ/.config" "$FRAGMENT") > /dev/null
	make -C "$SRC" O="$OBJ" ARCH=x86_64 olddefconfig > /dev/null
	check_config
}

# KERNEL_MODULES=1: what building and loading a module needs, and the
# kernel installed in OUTDIR/root like an unpacked linux-image package
# (selftests/vm/l1-lib.sh reads it that way).
install_modules()
{
	local rel

	make -C "$SRC" O="$OBJ" ARCH=x86_64 -j"$JOBS" modules
	make -C "$SRC" O="$OBJ" ARCH=x86_64 modules_prepare
	test -f "$OBJ/Module.symvers"
	rel=$(make -s -C "$SRC" O="$OBJ" ARCH=x86_64 kernelrelease)
	rm -rf "$OUT/root"
	mkdir -p "$OUT/root/boot"
	make -C "$SRC" O="$OBJ" ARCH=x86_64 INSTALL_MOD_PATH="$OUT/root" \
		modules_install
	cp "$OBJ/arch/x86/boot/bzImage" "$OUT/root/boot/vmlinuz-$rel"
	echo "$rel" > "$OUT/release"
}

# Is OUTDIR complete and built from what build_hash says?
up_to_date()
{
	[[ -f $OUT/bzImage && -f $OUT/bzImage.hash &&
	   $(cat "$OUT/bzImage.hash") == "$1" ]] || return 1
	((MODULES)) || return 0
	[[ -f $OUT/release && -f $OBJ/Module.symvers &&
	   -f $OUT/root/boot/vmlinuz-$(cat "$OUT/release") ]]
}

main()
{
	local hash

	hash=$(build_hash)
	if up_to_date "$hash"; then
		echo "build-kernel: $OUT/bzImage is up to date"
		return
	fi
	mkdir -p "$OUT"
	rm -f "$OUT/bzImage.hash"
	extract
	configure
	echo "build-kernel: building with -j$JOBS"
	make -C "$SRC" O="$OBJ" ARCH=x86_64 -j"$JOBS" bzImage
	((MODULES == 0)) || install_modules
	cp "$OBJ/arch/x86/boot/bzImage" "$OUT/bzImage.tmp"
	mv "$OUT/bzImage.tmp" "$OUT/bzImage"
	echo "$hash" > "$OUT/bzImage.hash"
	echo "build-kernel: $OUT/bzImage ($(stat -c %s "$OUT/bzImage") bytes)"
}

main
