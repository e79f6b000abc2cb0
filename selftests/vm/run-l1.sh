#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# run-l1.sh: tests ktstr-vmm with the module, the way DESIGN.md says it
# must be done on machines that cannot load modules: Debian's 6.12 kernel
# (selftests/vm/run.sh: each of its host kernels, the debug one included)
# in QEMU TCG (the L1, -smp 1 because it runs an L2 Linux), busybox, the
# kvm modules, ktstr_vconsole.ko built against the 6.12 headers, and the
# ktstr-vmm guest (bzImage, initramfs) booted by ktstr-vmm inside it (the
# L2).  l1-init.sh is the L1's /init and does the checks.  The README's
# quick start runs there as it is printed: its lines after the marker
# "<!-- quick start: run" go to /l1/quickstart.sh, and the L1 is laid out
# as its build lines leave a host (which this script does its own way:
# the L1's kernel is not the one running here, and the L1 has busybox
# alone): /l1/qs the source tree with build/guest, the module in
# /lib/modules/VER/updates with its modules.dep, the tools in
# /usr/local/bin, the shipped udev rule applied by mdev.
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
# build/vmm-test), L1_TIMEOUT (default 1200 s), L1_STALL_S (180: the
# console silence after which an L1 counts as stalled), L1_TRIES (4 runs
# of a part that stalls), L2_CPUS (2), FLOOD_MIB (8),
# CASES (default: all, in the two VMs of PARTS below; else one VM runs
# the cases named, see l1-init.sh), NODEV_CMDLINE (added to the
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
L1_STALL_S=${L1_STALL_S:-180}
L1_TRIES=${L1_TRIES:-4}
PATH=$PATH:/usr/sbin:/sbin

# shellcheck source-path=SCRIPTDIR source=l1-lib.sh
source "$HERE/l1-lib.sh"
l1_kernel run-l1

# The SNRP frame the host answers with: id 1, status 0, the name.
snrp_frame()
{
	"$PROGS/ktstr-guest-init" --snrp-frame > "$1"
}

# The README's quick start: the indented lines after its run marker.
quickstart_script()
{
	awk '/<!-- quick start: run/ { on = 1; next }
	     on && /^    / { print substr($0, 5); found = 1; next }
	     on && found && !/^$/ { exit }' "$TOP/README.md" > "$1"
	[[ -s $1 ]] || { echo "run-l1: no quick start in README.md" >&2; return 1; }
}

# A ktstr-vmm that expects another ABI than the module's (case abi):
# that file alone, static, so that no other build takes the flag.
abi99_vmm()
{
	make -C "$TOP/userspace-vmm" OUTPUT="$OUT/abi99" \
		EXTRA_CFLAGS=-DKTSTR_VMM_ABI=99 "$OUT/abi99/ktstr-vmm" > /dev/null
	cp "$OUT/abi99/ktstr-vmm" "$1"
}

# The shipped udev rule for the control device, as an mdev rule.
udev_rule_as_mdev()
{
	local re='^SUBSYSTEM=="misc", KERNEL=="\([^"]*\)", GROUP="kvm", MODE="\([0-7]*\)"$'
	local rule

	rule=$(sed -n "s/$re/\\1 0:108 \\2/p" "$TOP/udev/60-ktstr-vconsole.rules")
	[[ -n $rule ]] || { echo "run-l1: no control device rule in udev/" >&2; return 1; }
	echo "$rule"
}

# A Debian host the busybox way: root, ktstr in group kvm, outsider not;
# mdev's rules for what udev's do (l1-init.sh); the quick start's sudo.
l1_system()
{
	mkdir -p "$1/etc"
	cat > "$1/etc/passwd" <<-'EOT'
	root:x:0:0:root:/:/bin/sh
	ktstr:x:1000:1000:ktstr:/tmp:/bin/sh
	outsider:x:1001:1001:outsider:/tmp:/bin/sh
	EOT
	cat > "$1/etc/group" <<-'EOT'
	root:x:0:
	kvm:x:108:ktstr
	ktstr:x:1000:
	outsider:x:1001:
	EOT
	# First match wins; what is not named here becomes root's, 0600.
	cat > "$1/etc/mdev.conf" <<-'EOT'
	null 0:0 666
	zero 0:0 666
	full 0:0 666
	random 0:0 666
	urandom 0:0 666
	tty 0:0 666
	ptmx 0:0 666
	kvm 0:108 660
	EOT
	udev_rule_as_mdev >> "$1/etc/mdev.conf"
	echo '.* 0:0 600' >> "$1/etc/mdev.conf"
	cat > "$1/bin/sudo" <<-'EOT'
	#!/bin/sh
	# The quick start's sudo: root's sudo_server (l1-init.sh) runs it.
	echo "$PWD $*" > /tmp/sudo.cmd
	read -r rc < /tmp/sudo.rc
	cat /tmp/sudo.out
	exit "$rc"
	EOT
	cat > "$1/bin/udevadm" <<-'EOT'
	#!/bin/sh
	# The quick start's `udevadm settle`: mdev -d applies the rules as
	# the uevents come, and sudo_server waits for the control device.
	[ "$1" = settle ] && exit 0
	echo "udevadm: only settle here" >&2
	exit 1
	EOT
	chmod 755 "$1/bin/sudo" "$1/bin/udevadm"
}

# What the quick start's build lines leave: build/guest in the tree
# (/l1/qs, whose build/ the user ktstr owns), the module where `make
# modules_install` puts it (uncompressed: busybox's modprobe), the tools
# where `make install` does (the static builds: the L1 has no libc).
quickstart_tree()
{
	local qs=$1/l1/qs mods=$1/lib/modules/$ver

	mkdir -p "$qs/build/guest" "$mods/updates" "$1/usr/local/bin"
	cp "${L2_KERNEL:-$TOP/build/guest/bzImage}" "$qs/build/guest/bzImage"
	cp "$OUT/initramfs-l2.cpio.gz" "$qs/build/guest/initramfs.cpio.gz"
	cp "$ko" "$mods/updates/ktstr_vconsole.ko"
	depmod -b "$1" "$ver"
	cp "$PROGS/ktstr-vmm" "$PROGS/ktstr-tlv" "$1/usr/local/bin/"
	quickstart_script "$1/l1/quickstart.sh"
}

make_initramfs()
{
	local a deps=()

	root=$OUT/initramfs
	l1_root "$root" "$HERE/l1-init.sh"
	cp "$HERE/quickstart-checks.sh" "$root/"
	kmod_add "$kdir" "$ver" "$root/l1/modules/kvm" kvm_amd
	IFS=, read -ra deps <<< "$(modinfo -F depends "$ko")"
	kmod_add "$kdir" "$ver" "$root/l1/modules/vconsole" "${deps[@]}"
	cp "$ko" "$root/l1/modules/vconsole/99-ktstr_vconsole.ko"
	cp "$PROGS/ktstr-vmm" "$PROGS/ktstr-tlv" "$PROGS/ktstr-pty-run" \
		"${L2_KERNEL:-$TOP/build/guest/bzImage}" \
		"$OUT/initramfs-l2.cpio.gz" "$TOP/VERSION" "$root/l1/"
	mv "$root/l1/initramfs-l2.cpio.gz" "$root/l1/initramfs.cpio.gz"
	snrp_frame "$root/l1/snrp.bin"
	abi99_vmm "$root/l1/ktstr-vmm-abi99"
	l1_system "$root"
	quickstart_tree "$root"
	echo "${NODEV_CMDLINE:-}" > "$root/l1/nodev-cmdline"
	mkdir -p "$root/l1/extra"
	for a in ${L1_EXTRA:-}; do
		cp "$a" "$root/l1/extra/"
	done
	l1_pack "$root" "$OUT/initramfs-l1.cpio.gz"
}

# The cases of each first-level VM, unless CASES names them: the host's
# side (the messages, the quick start, stdin, the terminal), then the
# guest's data paths.  Two VMs, so that each stays well inside
# L1_TIMEOUT on a machine others load too.
PARTS=("usage nokvm nodev quickstart perm abi busy stdin term"
       "check reboot triple flood flood4 slot1 maxcpus two sigterm")

# l1_boot CASES CONSOLE: one first-level VM running CASES, its console in
# CONSOLE and added to OUT/console.log, its result lines in OUT/part.log.
# Returns l1_watched's status: timeout(1)'s 124 (137 after its -k) when
# the L1 ran out of time, 125 when the watchdog stopped it.
l1_boot()
{
	local append st

	append="console=ttyS0 panic=-1 l2_cpus=${L2_CPUS:-2} flood_mib=${FLOOD_MIB:-8}"
	append+=" cases=\"$1\"${L1_APPEND:+ $L1_APPEND}"
	{
		st=0
		l1_watched "$2" l1_qemu "$L1_TIMEOUT" 1 "$kdir/boot/vmlinuz-$ver" \
			"$OUT/initramfs-l1.cpio.gz" "$append" 2>&1 || st=$?
		echo $st > "$OUT/qemu.part"
	} | sed -u 's/\r$//' | tee "$2" | tee -a "$OUT/console.log" |
		sed -u -n 's/^\(\[[^]]*\] \)\?vmm-test: //p' > "$OUT/part.log" || true
	return "$(cat "$OUT/qemu.part")"
}

# l1_run CASES N: the first-level VM of part N, once more (up to L1_TRIES
# in all) each time it stalls; the last run's results are the part's,
# added to OUT/result.log and printed.  Each run's console is in
# OUT/console-N.TRY.log, all of them in OUT/console.log.
l1_run()
{
	local try st log

	for ((try = 1; ; try++)); do
		log=$OUT/console-$2.$try.log
		st=0
		l1_boot "$1" "$log" || st=$?
		echo "# L1 part $2, run $try: status $st, longest console silence $(cat "$OUT/silence") s"
		if ((try == L1_TRIES)) || ! l1_stalled "$st" "$log"; then
			break
		fi
		# Seen here at random points, once in a boot without the device.
		echo "# L1 part $2 stopped making progress ($(grep -c '^ok' "$OUT/part.log" || true) checks in, last line:" \
			"$(grep -v -e '^$' -e '^qemu-system' -e '^l1: up' "$log" | tail -n 1 | cut -c 1-120)); running it once more"
	done
	tee -a "$OUT/result.log" < "$OUT/part.log"
	case $st in
	124|137) echo "# the L1 VM timed out after $L1_TIMEOUT s" ;;
	125) echo "# the L1 VM printed nothing for $L1_STALL_S s and was stopped" ;;
	esac
}

main()
{
	local rc=0 pass fail i parts=("${PARTS[@]}")

	mkdir -p "$OUT"
	kernel_unpack "$ver" "$kdir"
	l1_module
	bash "$TOP/userspace-vmm/guest/build-initramfs.sh" "$OUT/initramfs-l2.cpio.gz"
	make_initramfs
	[[ -z ${CASES:-} ]] || parts=("$CASES")
	: > "$OUT/console.log"
	: > "$OUT/result.log"
	rm -f "$OUT"/console-*.log
	for i in "${!parts[@]}"; do
		l1_run "${parts[i]}" $((i + 1))
	done
	(($(grep -c '^end$' "$OUT/result.log") == ${#parts[@]})) ||
		{ echo "not ok - L1 finished"; rc=1; }
	grep -q '^not ok' "$OUT/result.log" && rc=1
	pass=$(grep -c '^ok' "$OUT/result.log" || true)
	fail=$(grep -c '^not ok' "$OUT/result.log" || true)
	echo "$pass passed, $fail failed"
	return $rc
}

main
