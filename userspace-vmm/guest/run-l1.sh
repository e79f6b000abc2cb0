#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# run-l1.sh: tests ktstr-vmm with the module, the way DESIGN.md says it
# must be done on machines that cannot load modules: Debian's 6.12 kernel
# (selftests/vm/run.sh: each of its host kernels, the debug one included)
# in QEMU TCG (the L1, -smp 1 because it runs an L2 Linux), busybox, the
# kvm modules, ktstr_vconsole.ko built against the 6.12 headers, and the
# ktstr-vmm guest (bzImage, initramfs) booted by ktstr-vmm inside it (the
# L2).  l1-init.sh is the L1's /init and does the checks.
#
# Needs: build/guest/bzImage (build-kernel.sh), the programs of
# `make -C userspace-vmm`, /usr/src/linux-headers-6.12.*-amd64 and
# network access for `apt-get download` the first time (the kernel is kept
# in build/kernels/, shared with selftests/vm).  Work files go to
# build/vmm-test/; the L1 console to build/vmm-test/console.log.
#
# Environment: L1_VER (the Debian kernel release, default the newest
# 6.12 headers'), L1_KDIR (its unpacked linux-image tree, default
# build/kernels/VER), L1_KO (a ktstr_vconsole.ko built
# for it, default built here), OUT (work directory, default
# build/vmm-test), L1_TIMEOUT (default 1200 s), L2_CPUS (2), FLOOD_MIB (8),
# CASES (default all, see l1-init.sh), NODEV_CMDLINE (added to the
# command line of the boot without the device, e.g. initcall_debug),
# L1_EXTRA (static programs the L1 runs first, their output as comments),
# L2_KERNEL (default build/guest/bzImage), L1_APPEND (more L1 kernel
# command line, e.g. selftests/vm/init-lib.sh's kmemleak_scan=1 and
# slab_bound_kb=N).  L1_VER and L1_KDIR may name a kernel built here
# with kvm built in (selftests/vm/build-debug-kernel.sh's root/): see
# kmod_add.  Exit status 0 iff every check passed.

set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
OUT=${OUT:-$TOP/build/vmm-test}
PROGS=$TOP/build/userspace-vmm
L1_TIMEOUT=${L1_TIMEOUT:-1200}
PATH=$PATH:/usr/sbin:/sbin

# shellcheck source-path=SCRIPTDIR source=../../selftests/vm/l1-lib.sh
source "$TOP/selftests/vm/l1-lib.sh"
l1_kernel run-l1

# The SNRP frame the host answers with: id 1, status 0, the name.
snrp_frame()
{
	"$PROGS/ktstr-guest-init" --snrp-frame > "$1"
}

make_initramfs()
{
	local a deps=()

	root=$OUT/initramfs
	l1_root "$root" "$HERE/l1-init.sh"
	kmod_add "$kdir" "$ver" "$root/l1/modules/kvm" kvm_amd
	IFS=, read -ra deps <<< "$(modinfo -F depends "$ko")"
	kmod_add "$kdir" "$ver" "$root/l1/modules/vconsole" "${deps[@]}"
	cp "$ko" "$root/l1/modules/vconsole/99-ktstr_vconsole.ko"
	cp "$PROGS/ktstr-vmm" "$PROGS/ktstr-tlv" "${L2_KERNEL:-$TOP/build/guest/bzImage}" \
		"$OUT/initramfs-l2.cpio.gz" "$root/l1/"
	mv "$root/l1/initramfs-l2.cpio.gz" "$root/l1/initramfs.cpio.gz"
	snrp_frame "$root/l1/snrp.bin"
	echo "${NODEV_CMDLINE:-}" > "$root/l1/nodev-cmdline"
	mkdir -p "$root/l1/extra"
	for a in ${L1_EXTRA:-}; do
		cp "$a" "$root/l1/extra/"
	done
	l1_pack "$root" "$OUT/initramfs-l1.cpio.gz"
}

main()
{
	local rc=0 append pass fail st

	mkdir -p "$OUT"
	kernel_unpack "$ver" "$kdir"
	l1_module
	bash "$HERE/build-initramfs.sh" "$OUT/initramfs-l2.cpio.gz"
	make_initramfs
	append="console=ttyS0 panic=-1 l2_cpus=${L2_CPUS:-2} flood_mib=${FLOOD_MIB:-8}"
	append+="${CASES:+ cases=\"$CASES\"}${L1_APPEND:+ $L1_APPEND}"
	{
		st=0
		l1_qemu "$L1_TIMEOUT" 1 "$kdir/boot/vmlinuz-$ver" \
			"$OUT/initramfs-l1.cpio.gz" "$append" 2>&1 || st=$?
		echo $st > "$OUT/qemu.status"
	} | sed -u 's/\r$//' | tee "$OUT/console.log" |
		sed -u -n 's/^\(\[[^]]*\] \)\?vmm-test: //p' | tee "$OUT/result.log" || true
	# timeout(1) says 124 (137 after its -k): the L1 stopped making progress.
	case $(cat "$OUT/qemu.status") in
	124|137) echo "# the L1 VM timed out after $L1_TIMEOUT s" ;;
	esac
	grep -q '^end$' "$OUT/result.log" || { echo "not ok - L1 finished"; rc=1; }
	grep -q '^not ok' "$OUT/result.log" && rc=1
	pass=$(grep -c '^ok' "$OUT/result.log" || true)
	fail=$(grep -c '^not ok' "$OUT/result.log" || true)
	echo "$pass passed, $fail failed"
	return $rc
}

main
