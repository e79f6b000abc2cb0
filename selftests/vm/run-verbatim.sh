#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# run-verbatim.sh: the README's quick start, build lines included, run as
# it is printed on a Debian host that is this machine: a first-level VM
# (QEMU TCG, one vCPU: it runs a second-level Linux) boots Debian's 6.12
# kernel with this machine's root read-only over virtio-9p under a tmpfs
# overlay, so the VM has what the host has (gcc, make, the headers,
# sudo, systemd-udevd and Debian's udev rules).  verbatim-init.sh, its
# init there, starts udevd, makes a user in group kvm who may use sudo,
# gives them a clean copy of the source tree (the git-tracked files, and
# build/guest as `make guest` caches it: a kernel build under TCG would
# take hours) and runs the README's quick start as that user, then checks
# the console, the decoded frames, the exit status and the node modes
# udev gave.  run-l1.sh runs the same run lines on busybox L1s, on every
# host kernel; this one, on 6.12 only, takes 15 to 25 minutes, most of it
# gcc under TCG.
#
# Needs: build/guest/bzImage and bzImage.hash (make guest), a git
# checkout, linux-headers and linux-image of the L1's release (the image
# fetched into build/kernels/VER if this machine has not installed it),
# sudo and udev (make setup installs them).
#
# Environment: L1_VER (default the newest 6.12 headers' release), OUT
# (work directory, default build/verbatim), L1_TIMEOUT (default 2400 s),
# QS_TIMEOUT (the quick start's own bound in the VM, default 1800 s),
# L1_STALL_S and L1_TRIES (default 180 s and 2 runs: as run-l1.sh's),
# L1_APPEND (more kernel command line: init-lib.sh's settings).  The last
# line is "N passed, N failed"; exit status 0 iff every check passed.

set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
OUT=${OUT:-$TOP/build/verbatim}
L1_TIMEOUT=${L1_TIMEOUT:-2400}
L1_STALL_S=${L1_STALL_S:-180}
L1_TRIES=${L1_TRIES:-2}
QS_TIMEOUT=${QS_TIMEOUT:-1800}
PATH=$PATH:/usr/sbin:/sbin

# shellcheck source-path=SCRIPTDIR source=l1-lib.sh
source "$HERE/l1-lib.sh"
# shellcheck disable=SC2154 # ver and kdir come from l1_kernel
l1_kernel run-verbatim

# The README's quick start: the indented lines after its build marker,
# then those after its run marker, as the reader types them.
quickstart_lines()
{
	awk '/<!-- quick start: (build|run)/ { on = 1; found = 0; next }
	     on && /^    / { print substr($0, 5); found = 1; next }
	     on && found && !/^$/ { on = 0 }' "$TOP/README.md" > "$1"
	if ! grep -q '^make' "$1" || ! grep -q '^ktstr-vmm' "$1"; then
		echo "run-verbatim: no quick start in README.md" >&2
		return 1
	fi
}

# The tree a user has after `git clone`, and the guest kernel as `make
# guest` leaves it cached.
clean_tree()
{
	rm -rf "$1"
	mkdir -p "$1/build/guest"
	git -C "$TOP" ls-files -z | (cd "$TOP" && xargs -0 cp --parents -t "$1")
	cp "$TOP/build/guest/bzImage" "$TOP/build/guest/bzImage.hash" "$1/build/guest/"
}

# Booted from this machine's own image when it has one, so that the
# modules in its /lib/modules are the kernel's; else from build/kernels.
boot_kernel()
{
	if [[ -f /boot/vmlinuz-$ver && -d /lib/modules/$ver/kernel ]]; then
		echo "/boot/vmlinuz-$ver"
		return
	fi
	kernel_unpack "$ver" "$kdir" >&2
	echo "$kdir/boot/vmlinuz-$ver"
}

# The first stage: busybox, the modules that reach the host's root, an
# /init that mounts it under the overlay and hands over, and in /l1 what
# the second stage brings into the overlay (so that it needs nothing of
# this tree's place on the host): itself, init-lib.sh, the clean tree and
# the quick start.
stage1()
{
	local root=$OUT/initramfs

	l1_root "$root" "$HERE/verbatim-stage1.sh"
	kmod_add "$modtree" "$ver" "$root/l1/modules" 9pnet_virtio 9p overlay
	clean_tree "$root/l1/tree"
	quickstart_lines "$root/l1/quickstart.sh"
	cp "$HERE/verbatim-init.sh" "$HERE/quickstart-checks.sh" \
		"$HERE/init-lib.sh" "$root/l1/"
	l1_pack "$root" "$OUT/initramfs-l1.cpio.gz"
}

# l1_qemu with this machine's root file system alone (a bind mount, in a
# mount namespace of QEMU's own that goes when it does) as the 9p tag
# hostroot: not what is mounted on it (/proc, /sys, /dev, /run), whose
# contents change under the VM, so 9p's revalidation would drop the
# mounts the VM makes there.
l1_qemu_shared_root()
{
	local bind st=0

	bind=$(mktemp -d /run/ktstr-verbatim.XXXXXX)
	export -f l1_qemu
	# shellcheck disable=SC2016 # the inner shell expands them
	unshare -m --propagation private bash -c \
		'mount --bind / "$0" && l1_qemu "$@"' "$bind" "$@" \
		-fsdev "local,id=hostroot,path=$bind,security_model=none,readonly=on" \
		-device virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot || st=$?
	rmdir "$bind"
	return $st
}

# verbatim_boot KERNEL APPEND CONSOLE: one run of the L1, its console in
# CONSOLE and added to OUT/console.log, its result lines in
# OUT/result.log.  Returns l1_watched's status.
verbatim_boot()
{
	local st

	{
		st=0
		l1_watched "$3" l1_qemu_shared_root "$L1_TIMEOUT" 1 "$1" \
			"$OUT/initramfs-l1.cpio.gz" "$2" -m 3G 2>&1 || st=$?
		echo $st > "$OUT/qemu.status"
	} | sed -u 's/\r$//' | tee "$3" | tee -a "$OUT/console.log" |
		sed -u -n 's/^\(\[[^]]*\] \)\?vmm-test: //p' > "$OUT/result.log" || true
	return "$(cat "$OUT/qemu.status")"
}

main()
{
	local kernel append st pass fail try log

	mkdir -p "$OUT"
	[[ -f $TOP/build/guest/bzImage.hash ]] ||
		{ echo "run-verbatim: no build/guest (make guest)" >&2; return 1; }
	kernel=$(boot_kernel)
	modtree=/
	[[ $kernel == /boot/* ]] || modtree=$kdir
	stage1
	append="console=ttyS0 panic=-1 verbatim_init=/l1/verbatim-init.sh"
	append+=" verbatim_lib=/l1/init-lib.sh verbatim_kdir=$modtree qs_timeout=$QS_TIMEOUT${L1_APPEND:+ $L1_APPEND}"
	: > "$OUT/console.log"
	rm -f "$OUT"/console-*.log
	for ((try = 1; ; try++)); do
		log=$OUT/console-$try.log
		st=0
		verbatim_boot "$kernel" "$append" "$log" || st=$?
		echo "# verbatim L1, run $try: status $st, longest console silence $(cat "$OUT/silence") s"
		if ((try == L1_TRIES)) || ! l1_stalled "$st" "$log"; then
			break
		fi
		echo "# the verbatim L1 stopped making progress ($(grep -c '^ok' "$OUT/result.log" || true) checks in, last line:" \
			"$(grep -v -e '^$' -e '^qemu-system' -e '^l1: up' "$log" | tail -n 1 | cut -c 1-120)); running it once more"
	done
	cat "$OUT/result.log"
	case $st in
	0) ;;
	125) echo "# the L1 VM printed nothing for $L1_STALL_S s and was stopped" ;;
	*) echo "# the L1 VM ended with status $st (124: timed out after $L1_TIMEOUT s)" ;;
	esac
	grep -q '^end$' "$OUT/result.log" || echo "not ok - verbatim: L1 finished"
	pass=$(grep -c '^ok' "$OUT/result.log" || true)
	fail=$(grep -c '^not ok' "$OUT/result.log" || true)
	grep -q '^end$' "$OUT/result.log" || fail=$((fail + 1))
	echo "$pass passed, $fail failed"
	((fail == 0))
}

main
