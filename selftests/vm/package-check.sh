#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# package-check.sh: the packaging checks of `make check`, which
# selftests/vm/run.sh runs once, before the kernels:
#
#   - Debian's dkms builds the module for each kernel series of KERNELS,
#     from the tree `make dkms-source` installs: version VERSION, that
#     kernel's vermagic;
#   - `make modules_install` from that tree, staged, for the newest one;
#   - `make install`, staged: its files listed, exactly the expected ones,
#     the tools linked dynamically, the header compiling on its own, each
#     tool's --version (skipped while a tool has none), and `make
#     uninstall` taking them all away;
#   - the man pages render without a warning (groff -ww and man -l);
#   - without KDIR and without headers for the kernel, the module build
#     stops and names the package to install.
#
# Output: TAP lines "ok - package: NAME" or "not ok - package: NAME" (a
# skip is "ok - package: NAME # SKIP why"), details as "# " comments;
# run.sh counts them with its own.  Exit status 0 iff nothing failed.
#
# dkms runs in private trees under the work directory (--dkmstree,
# --sourcetree, --installtree, and a signing key of its own), so neither
# a ktstr-vconsole the machine has in /var/lib/dkms nor its MOK key is
# touched.  It needs root, as make check has.
#
# Environment: KERNELS (default "6.1 6.12"; names without Debian headers,
# such as "debug", are left out), PKG_OUT (work directory, default
# build/package-check, emptied first).

set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
# shellcheck source-path=SCRIPTDIR source=l1-lib.sh
source "$HERE/l1-lib.sh"
KERNELS=${KERNELS:-6.1 6.12}
OUT=${PKG_OUT:-$TOP/build/package-check}
VERSION=$(cat "$TOP/VERSION")
NAME=ktstr-vconsole
# depmod and modinfo, when root's PATH lacks them.
PATH=$PATH:/usr/sbin:/sbin

# What `make install` installs with the default PREFIX, nothing more.
EXPECTED=(
	usr/local/bin/ktstr-tlv
	usr/local/bin/ktstr-vmm
	usr/local/include/linux/ktstr_vconsole.h
	usr/local/lib/udev/rules.d/60-ktstr-vconsole.rules
	usr/local/share/doc/ktstr-vconsole/NEWS
	usr/local/share/doc/ktstr-vconsole/README.md
	usr/local/share/doc/ktstr-vconsole/examples/modprobe.d/ktstr-vconsole.conf
	usr/local/share/doc/ktstr-vconsole/examples/modules-load.d/ktstr-vconsole.conf
	usr/local/share/doc/ktstr-vconsole/examples/udev/61-ktstr-port-kvm.rules
	usr/local/share/man/man1/ktstr-tlv.1
	usr/local/share/man/man1/ktstr-vmm.1
	usr/local/share/man/man4/ktstr-vconsole.4
)

failed=0
finished=0

ok()
{
	echo "ok - package: $*"
}

not_ok()
{
	echo "not ok - package: $*"
	failed=1
}

skip()
{
	echo "ok - package: $1 # SKIP $2"
}

# check NAME CMD...: one TAP line from CMD's status, CMD's output in
# $OUT/log/NAME.log and its end shown on failure.  CMD runs in an if,
# where bash ignores set -e: a function passed here must return at its
# first failure itself.
check()
{
	local name=$1 log

	shift
	log=$OUT/log/${name//[^A-Za-z0-9.+-]/_}.log
	if "$@" > "$log" 2>&1; then
		ok "$name"
	else
		not_ok "$name"
		tail -n 15 "$log" | sed 's/^/# /'
	fi
}

# A script that stops early must not look like one whose checks passed.
on_exit()
{
	((finished)) || echo "not ok - package: package-check.sh ran to its end"
}
trap on_exit EXIT

# dkms with private trees: dkms ACTION [ARG...]
pkg_dkms()
{
	local action=$1

	shift
	mok_signing_key=$OUT/mok.key mok_certificate=$OUT/mok.pub \
		dkms "$action" -m "$NAME" -v "$VERSION" --dkmstree "$OUT/dkms" \
		--sourcetree "$OUT/src" --installtree "$OUT/install" "$@"
}

dkms_source()
{
	make -C "$TOP" -s dkms-source DESTDIR="$OUT/src" DKMS_SRCDIR="/$NAME-$VERSION" &&
		find "$OUT/src" -type f -printf '%P\n' | sort &&
		pkg_dkms add
}

# dkms_build KVER: built, and the module says VERSION and KVER.
dkms_build()
{
	local kver=$1 ko vermagic

	pkg_dkms build -k "$kver" -j "$(nproc)" || return
	pkg_dkms status -k "$kver" | grep -F "$NAME/$VERSION, $kver, " | grep -q ': built$' ||
		{ echo "dkms status does not say built"; return 1; }
	ko=$(find "$OUT/dkms/$NAME/$VERSION/$kver" -name 'ktstr_vconsole.ko*' | head -n 1)
	[[ -n $ko ]] || { echo "no ktstr_vconsole.ko in the dkms tree"; return 1; }
	echo "module: $ko"
	modinfo -F signer "$ko" | sed 's/^/signer: /'
	[[ $(modinfo -F version "$ko") == "$VERSION" ]] ||
		{ echo "version $(modinfo -F version "$ko"), not $VERSION"; return 1; }
	vermagic=$(modinfo -F vermagic "$ko")
	[[ $vermagic == "$kver "* ]] ||
		{ echo "vermagic $vermagic, not $kver"; return 1; }
}

# modules_install KVER: from a copy of the DKMS tree (the top Makefile
# on its own, outside the repository), into a staged root.
modules_install()
{
	local kver=$1 ko

	rm -rf "$OUT/kmod" "$OUT/modroot"
	cp -r "$OUT/src/$NAME-$VERSION" "$OUT/kmod" || return
	make -C "$OUT/kmod" -s -j"$(nproc)" KDIR="/usr/src/linux-headers-$kver" \
		DESTDIR="$OUT/modroot" modules_install || return
	find "$OUT/modroot" -type f -printf '%P\n' | sort
	ko=$(find "$OUT/modroot/lib/modules/$kver/updates" -name 'ktstr_vconsole.ko*' | head -n 1)
	[[ -n $ko ]] || { echo "no module under lib/modules/$kver/updates"; return 1; }
	[[ $(modinfo -F version "$ko") == "$VERSION" ]]
}

run_dkms()
{
	local series kver newest=

	if ((EUID)); then
		skip "dkms build" "not root"
		return
	fi
	if ! command -v dkms > /dev/null; then
		not_ok "dkms installed (make setup)"
		return
	fi
	check "make dkms-source, dkms add" dkms_source
	for series in $KERNELS; do
		[[ $series =~ ^[0-9]+\.[0-9]+$ ]] || continue
		kver=$(headers_version "$series")
		if [[ -z $kver ]]; then
			not_ok "dkms build $series (no linux-headers-$series.*-amd64: make setup)"
			continue
		fi
		check "dkms build $kver" dkms_build "$kver"
		newest=$kver
	done
	check "dkms remove" pkg_dkms remove --all
	if [[ -n $newest ]]; then
		check "make modules_install DESTDIR (from the DKMS tree, $newest)" \
			modules_install "$newest"
	fi
}

staged_install()
{
	make -C "$TOP" -s install DESTDIR="$OUT/stage"
}

# Exactly the expected files; the list (path, mode) in $OUT/installed.
staged_files()
{
	(cd "$OUT/stage" && find . \( -type f -o -type l \) -printf '%P %m\n') |
		sort > "$OUT/installed" || return
	diff <(printf '%s\n' "${EXPECTED[@]}" | sort) <(cut -d' ' -f1 "$OUT/installed")
}

dynamic()
{
	local tool

	for tool in ktstr-vmm ktstr-tlv; do
		readelf -l "$OUT/stage/usr/local/bin/$tool" | grep 'program interpreter' ||
			{ echo "$tool is not dynamically linked"; return 1; }
	done
}

header_alone()
{
	printf '#include <linux/ktstr_vconsole.h>\nint abi = KTSTR_VC_ABI_VERSION;\n' |
		cc -Wall -Werror -fsyntax-only -I"$OUT/stage/usr/local/include" -x c -
}

# tool_version TOOL: its --version names VERSION; a skip while it has
# no such option (its --help does not mention one).
tool_version()
{
	local tool=$1 bin=$OUT/stage/usr/local/bin/$1 out

	if out=$("$bin" --version 2>&1) && grep -qF "$VERSION" <<< "$out"; then
		ok "$tool --version says $VERSION"
	elif ! "$bin" --help 2>&1 | grep -q -- '--version'; then
		skip "$tool --version says $VERSION" "$tool has no --version yet"
	else
		not_ok "$tool --version says $VERSION"
		echo "$out" | head -n 5 | sed 's/^/# /'
	fi
}

staged_uninstall()
{
	make -C "$TOP" -s uninstall DESTDIR="$OUT/stage" || return
	[[ -z $(find "$OUT/stage" \( -type f -o -type l \) -print -quit) ]]
}

run_install()
{
	check "make install DESTDIR" staged_install
	check "make install: the ${#EXPECTED[@]} files, no others" staged_files
	sed 's/^/# installed: /' "$OUT/installed" 2> /dev/null || true
	check "installed tools linked dynamically" dynamic
	check "installed header compiles on its own" header_alone
	tool_version ktstr-vmm
	tool_version ktstr-tlv
	check "make uninstall DESTDIR leaves no file" staged_uninstall
}

# man_page PAGE: no warning from groff's checks nor from man -l.
man_page()
{
	local err

	err=$(groff -man -ww -z "$1" 2>&1) || return
	[[ -z $err ]] || { echo "$err"; return 1; }
	err=$(MANWIDTH=80 man -l "$1" 2>&1 > /dev/null) || return
	[[ -z $err ]] || { echo "$err"; return 1; }
}

run_man()
{
	local page

	for page in "$TOP"/man/*.[1-8]; do
		check "man -l ${page#"$TOP"/} renders without warnings" man_page "$page"
	done
}

# No KDIR, no headers for the kernel: a message naming the package.
no_headers()
{
	local out kver=0.0.0-package-check

	if out=$(env -u KDIR make -C "$TOP" -s module KVER=$kver 2>&1); then
		echo "the build went on"
		return 1
	fi
	echo "$out"
	grep -qF "linux-headers-$kver" <<< "$out"
}

main()
{
	rm -rf "$OUT"
	mkdir -p "$OUT/log" "$OUT/dkms" "$OUT/install"
	echo "# packaging: $NAME $VERSION, work files in ${OUT#"$TOP"/}"
	run_dkms
	run_install
	run_man
	check "make module without headers names the package" no_headers
	finished=1
	((failed == 0))
}

main
