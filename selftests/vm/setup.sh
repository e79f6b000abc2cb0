#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Prepares a Debian 12 machine for `make check` (run as root, by
# `make setup`): installs the packages the build and the VM tests use, and
# extracts from Debian's 6.12 source tarball the few files the selftests
# and checkpatch need into build/linux-src/.  Idempotent, and quick when
# everything is already there.
#
# Kernel images are not installed here: selftests/vm/run.sh fetches them
# with `apt-get download` and unpacks them under build/kernels/, which
# spares the initramfs generation a system-wide install would run.

set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SRC_TARBALL=/usr/src/linux-source-6.12.tar.xz
LINUX_SRC=$TOP/build/linux-src

PACKAGES=(
	# What goes into the VMs' initramfs (QEMU itself: install_qemu).
	busybox-static cpio gzip kmod xz-utils
	# The two host kernels the module is built against (6.1, 6.12) and the
	# source tarball the harness headers and checkpatch come from.
	linux-headers-amd64 linux-headers-6.12-amd64 linux-source-6.12
	# Building modules, the static selftests, the guest kernel and the
	# debug host kernel (objtool for its ORC unwinder needs libelf-dev;
	# it has no debug info, so no pahole), checking them.
	build-essential bc flex bison libelf-dev libssl-dev sparse
	# The packaging checks (selftests/vm/package-check.sh): dkms builds
	# the module as a distribution would; man and groff check the pages.
	dkms man-db groff-base
	# The quick start as the VM test runs it on this machine's own root
	# (selftests/vm/run-verbatim.sh): sudo, and udevd.
	sudo udev
)

MEMBERS=(
	tools/testing/selftests/kselftest_harness.h
	tools/testing/selftests/kselftest.h
	scripts/checkpatch.pl
	scripts/spelling.txt
	scripts/const_structs.checkpatch
)

# Prints the packages that are not installed.
missing_packages()
{
	local p

	for p in "${PACKAGES[@]}"; do
		[[ $(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null) == ii* ]] ||
			echo "$p"
	done
}

install_packages()
{
	local missing

	missing=$(missing_packages)
	if [[ -z $missing ]]; then
		echo "setup: all packages installed"
		return
	fi
	echo "setup: installing ${missing//$'\n'/ }"
	apt-get update
	# shellcheck disable=SC2086 # one word per package
	DEBIAN_FRONTEND=noninteractive apt-get install -y \
		--no-install-recommends $missing
}

# QEMU from bookworm-backports (10.0; bookworm has 7.2).  Under 7.2 the
# VM test's nested VMs stopped dead about every other part on the debug
# kernel.  Likely why: its TCG could miss an interrupt due one
# instruction after an sti (a fix was posted to QEMU in December 2023),
# which is how KVM's vcpu_enter_guest() takes the interrupt that ended a
# guest's run.
# Backports is Debian's own archive at pin priority 100, so nothing else
# is upgraded from it.
install_qemu()
{
	local list=/etc/apt/sources.list.d/ktstr-vconsole-backports.list
	local v

	v=$(dpkg-query -W -f='${Version}' qemu-system-x86 2> /dev/null || true)
	if [[ -n $v ]] && dpkg --compare-versions "$v" ge 1:10; then
		echo "setup: QEMU $v"
		return
	fi
	if ! grep -rqs bookworm-backports /etc/apt/sources.list \
		/etc/apt/sources.list.d/; then
		echo "deb http://deb.debian.org/debian bookworm-backports main" > "$list"
	fi
	echo "setup: installing QEMU from bookworm-backports"
	apt-get update
	DEBIAN_FRONTEND=noninteractive apt-get install -y \
		--no-install-recommends -t bookworm-backports qemu-system-x86
}

# Extracts the members that are not there yet.  xz cannot seek, so one
# pass over the tarball (about 12 s) fetches all of them.
extract_sources()
{
	local m todo=()

	for m in "${MEMBERS[@]}"; do
		[[ -f $LINUX_SRC/$m ]] || todo+=("linux-source-6.12/$m")
	done
	if ((${#todo[@]} == 0)); then
		echo "setup: $LINUX_SRC has the kernel sources needed"
		return
	fi
	echo "setup: extracting ${#todo[@]} files from $SRC_TARBALL"
	mkdir -p "$LINUX_SRC"
	tar -xJf "$SRC_TARBALL" -C "$LINUX_SRC" --strip-components=1 "${todo[@]}"
}

install_packages
install_qemu
extract_sources
