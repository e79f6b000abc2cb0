#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Runs the ktstr_vconsole selftests inside QEMU, once per host kernel:
# the development machines' kernel cannot load modules, so each kernel
# boots in a TCG VM from a busybox initramfs holding its kvm modules,
# ktstr_vconsole.ko built against it, every test binary and init.sh as
# /init; then the VM test (selftests/vm/run-l1.sh) boots a real
# guest on the module in a second VM.  Three host kernels: Debian's 6.1
# and 6.12 (their linux-image packages, unpacked under build/kernels/),
# and "debug", a 6.12 built here with KASAN, lockdep, kmemleak, UBSAN and
# the other checkers (selftests/vm/build-debug-kernel.sh, `make
# debug-kernel`, into build/debug-kernel/), on which any checker report
# fails the run and kmemleak is scanned at the end.  On every kernel the
# run ends with `rmmod ktstr_vconsole` and a check that slab memory is
# back (selftests/vm/init-lib.sh).  `make check` calls it after `make
# selftests userspace guest debug-kernel`:
#
#	bash selftests/vm/run.sh
#
# Environment:
#	KERNELS="6.1 6.12 debug"
#				kernels to test: a series is the newest
#				/usr/src/linux-headers-<series>.*-amd64,
#				debug the debug kernel
#	VM_TIMEOUT=900		seconds a VM may run before it counts as hung
#	TEST_TIMEOUT=330	seconds one test binary may run in the VM
#	VMM_L1_TIMEOUT=600	seconds the VM test's first-level VM may run;
#				one that times out silently runs once more
#	DEBUG_VM_TIMEOUT=1200, DEBUG_TEST_TIMEOUT=$TEST_TIMEOUT,
#	DEBUG_VMM_L1_TIMEOUT=1200
#				the same three on the debug kernel.  Measured
#				there: the kselftest VM 190-220 s (each
#				binary under 45 s), the VM test's L1 360-440
#				s, both with other VMs on the machine
#	DEBUG_KERNEL=<repo>/build/debug-kernel
#				the debug kernel's build-debug-kernel.sh
#				output
#	VM_SRC=<repo>		tree with Kbuild, vconsole/ and uapi/
#	VM_TESTS="<repo>/build/selftests/vconsole <repo>/build/selftests/tlv
#		  <repo>/build/selftests/stress"
#				directories of test binaries
#	VM_EXTRA=		a directory the VM gets as /extra (the
#				modules and vc_bench of selftests/bench/ab.sh)
#	VMM_TEST=1		also run the VM test (0: the kselftests only)
#	VERBATIM_TEST=1		and on 6.12 the README's quick start, build
#				lines and all, on this machine's own root
#				(selftests/vm/run-verbatim.sh; 0: not)
#	VM_OUT=<repo>/build	where the per-kernel directories go (the
#				unpacked kernels stay in <repo>/build/kernels)
#	VM_APPEND=		more kernel command line; key=value words that
#				are not the kernel's reach the binaries as
#				environment variables
#
# Output: for each kernel its TAP lines (the binaries' kselftest TAP and
# the runner's checks "ok - NAME" / "not ok - NAME"), its counts and how
# long each stage took; the last line is "N passed, N failed" over all
# kernels (", N skipped" appended when some were).  Exit status 0 iff
# nothing failed.  Under $VM_OUT/<ver>/: kernel.log, module.log and
# initramfs.log of each stage, console.log (the whole serial console) and
# tap.log (what was printed here).

set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
# shellcheck source-path=SCRIPTDIR source=l1-lib.sh
source "$HERE/l1-lib.sh"
BUILD=$TOP/build
KERNELS=${KERNELS:-6.1 6.12 debug}
VM_TIMEOUT=${VM_TIMEOUT:-900}
# The stress test runs 60 s and may take 260 s more to end (its README).
TEST_TIMEOUT=${TEST_TIMEOUT:-330}
DEBUG_VM_TIMEOUT=${DEBUG_VM_TIMEOUT:-1200}
DEBUG_TEST_TIMEOUT=${DEBUG_TEST_TIMEOUT:-$TEST_TIMEOUT}
DEBUG_VMM_L1_TIMEOUT=${DEBUG_VMM_L1_TIMEOUT:-1200}
DEBUG_KERNEL=${DEBUG_KERNEL:-$BUILD/debug-kernel}
VM_SRC=${VM_SRC:-$TOP}
VM_TESTS=${VM_TESTS:-$BUILD/selftests/vconsole $BUILD/selftests/tlv $BUILD/selftests/stress}
VM_OUT=${VM_OUT:-$BUILD}
VM_EXTRA=${VM_EXTRA:-}
VMM_TEST=${VMM_TEST:-1}
VMM_L1_TIMEOUT=${VMM_L1_TIMEOUT:-600}
VERBATIM_TEST=${VERBATIM_TEST:-1}
VM_APPEND=${VM_APPEND:-}
# The debug kernel: init-lib.sh's kmemleak scan at the end; in the VM
# test's L1 a larger log buffer (a lockdep or KASAN report is long) and
# more time per L2 boot (its flood4 case took 276 s of l1-init.sh's
# default 300 with other VMs on the machine).
DEBUG_INIT_APPEND="kmemleak_scan=1"
DEBUG_L1_APPEND="kmemleak_scan=1 log_buf_len=4M l2_timeout=900"
# Both as in init.sh.
TAG='tap| '
END_MARKER='# ktstr-vm-test: end'
# depmod and modprobe, when root's PATH lacks them.
PATH=$PATH:/usr/sbin:/sbin

total_pass=0
total_fail=0
total_skip=0
# The kernel being tested (its release, its tree as an unpacked
# linux-image has it, the build tree its modules build against, its own
# timeouts and /init parameters) and what is known about it so far.
ver=
kdir=
kbuild=
vm_timeout=
test_timeout=
l1_timeout=
init_append=
l1_append=
get_kernel=
verbatim=0
kfail=0
stage_ok=1
timings=

now_ms()
{
	local us=${EPOCHREALTIME//[!0-9]/}

	echo $((us / 1000))
}

# elapsed T0: seconds since now_ms printed T0, to a tenth.
elapsed()
{
	local ms=$(($(now_ms) - $1))

	echo "$((ms / 1000)).$((ms % 1000 / 100)) s"
}

# fail MESSAGE: a runner check that failed.
fail()
{
	echo "not ok - $*"
	kfail=$((kfail + 1))
}

# The Debian kernel, downloaded and unpacked once.
fetch_kernel()
{
	kernel_unpack "$ver" "$kdir"
}

# The debug kernel is built by `make debug-kernel`, not here: only
# checked.
debug_kernel()
{
	local f

	for f in "$kdir/boot/vmlinuz-$ver" "$kdir/lib/modules/$ver/modules.builtin" \
		 "$kbuild/Module.symvers"; do
		[[ -f $f ]] || { echo "no $f (make debug-kernel)"; return 1; }
	done
	kvm_in_tree "$kdir" "$ver"
	echo "$ver in $kdir, $(stat -c %s "$kdir/boot/vmlinuz-$ver") bytes"
}

build_module()
{
	kmod_build "$ver" "$VM_SRC" "$VM_OUT/$ver/kmod" "$kbuild"
}

# Builds build/$ver/initramfs.cpio.gz from build/$ver/initramfs/.
make_initramfs()
{
	local root=$VM_OUT/$ver/initramfs ko=$VM_OUT/$ver/kmod/vconsole/ktstr_vconsole.ko
	local deps=()

	l1_root "$root" "$HERE/init.sh"
	mkdir -p "$root/tests"
	kmod_add "$kdir" "$ver" "$root/modules/kvm" kvm_amd
	IFS=, read -ra deps <<< "$(modinfo -F depends "$ko")"
	kmod_add "$kdir" "$ver" "$root/modules/vconsole" "${deps[@]}"
	cp "$ko" "$root/modules/vconsole/99-ktstr_vconsole.ko"
	[[ -z $VM_EXTRA ]] || cp -r "$VM_EXTRA" "$root/extra"
	# None is a failed check already (main): the VM still checks loading.
	# shellcheck disable=SC2086 # a list of directories
	find $VM_TESTS -maxdepth 1 -type f -perm -u+x \
		-exec cp -t "$root/tests" {} + 2>/dev/null || true
	find "$root" ! -type l -printf '%P\n' | sort
	l1_pack "$root" "$VM_OUT/$ver/initramfs.cpio.gz"
}

# stage NAME FUNC: runs one preparation step, its output in
# build/$ver/NAME.log; a failure is a failed check and ends the kernel's
# run (stage_ok=0).  FUNC runs as a background job so that its failure
# ends FUNC, not the runner.  The steps rely on `set -e` to stop at their
# first error, and bash ignores it in anything called from an if, && or
# || (background jobs included): so stage must not be called from one.
stage()
{
	local name=$1 log=$VM_OUT/$ver/$1.log t0 rc=0

	t0=$(now_ms)
	"$2" > "$log" 2>&1 &
	wait $! || rc=$?
	timings+="${timings:+, }$name $(elapsed "$t0")"
	if ((rc)); then
		fail "$name (exit status $rc)"
		tail -n 20 "$log" | sed 's/^/# /'
		stage_ok=0
	fi
}

# Boots the VM, the console going to build/$ver/console.log and the
# tagged lines to stdout and build/$ver/tap.log.  QEMU's exit status says
# nothing about the tests (a panic with panic=-1 exits 0 too): only the
# end marker says the guest got through.
#
# thread=single: multi-threaded TCG hung about one boot in five once KVM
# was used (DESIGN.md).  panic=-1 ends a panicked VM at once; no
# oops=panic, so that the tests after an oops still run and report (the
# oops itself fails the kernel log check).  printk.devkmsg=on lifts the
# /dev/kmsg rate limit init.sh's output would hit; log_buf_len keeps a
# test binary's output from pushing a warning out before it is scanned.
boot_vm()
{
	local dir=$VM_OUT/$ver t0 rc

	t0=$(now_ms)
	{
		rc=0
		l1_qemu "$vm_timeout" 2 "$kdir/boot/vmlinuz-$ver" \
			"$dir/initramfs.cpio.gz" \
			"console=ttyS0 panic=-1 printk.devkmsg=on log_buf_len=16M test_timeout=$test_timeout${init_append:+ $init_append}${VM_APPEND:+ $VM_APPEND}" \
			2>&1 || rc=$?
		echo $rc > "$dir/vm.status"
	} | sed -u 's/\r$//' | tee "$dir/console.log" |
		sed -u -n "s/^\(\[[^]]*\] \)\?$TAG//p" | tee "$dir/tap.log"
	timings+="${timings:+, }vm $(elapsed "$t0")"
	grep -qxF "$END_MARKER" "$dir/tap.log" && return
	rc=$(cat "$dir/vm.status")
	if ((rc == 124 || rc == 137)); then
		fail "VM finished (timed out after $vm_timeout s)"
	else
		fail "VM finished (stopped early: panic or /init died)"
	fi
	# What the kernel said last (the tagged lines are above already).
	grep -vF "$TAG" "$dir/console.log" | tail -n 40 | sed 's/^/# console: /'
}

# The VM test: a second first-level VM, with one vCPU because it runs a
# second-level Linux (DESIGN.md), in which ktstr-vmm boots the guest
# kernel on the module (selftests/vm/run-l1.sh).  Its checks join
# this kernel's, named "vmm: ..."; its comments show the guest console and
# the decoded frames.
vmm_test()
{
	local dir=$VM_OUT/$ver t0

	t0=$(now_ms)
	L1_VER=$ver L1_KDIR=$kdir L1_TIMEOUT=$l1_timeout L1_APPEND=$l1_append \
		L1_KO=$dir/kmod/vconsole/ktstr_vconsole.ko OUT=$dir/vmm \
		bash "$HERE/run-l1.sh" > "$dir/vmm.log" 2>&1 || true
	grep -E '^((not )?ok - |# )' "$dir/vmm.log" |
		sed -E 's/^((not )?ok) - /\1 - vmm: /' | tee -a "$dir/tap.log"
	timings+="${timings:+, }vmm-test $(elapsed "$t0")"
	grep -qE '^[0-9]+ passed, [0-9]+ failed$' "$dir/vmm.log" && return
	fail "vmm: the VM test ran to its end"
	tail -n 20 "$dir/vmm.log" | sed 's/^/# /'
}

# The README's quick start, its build lines too, as a new user on this
# machine's root would run them (selftests/vm/run-verbatim.sh): on
# 6.12 alone, whose image and headers this machine has, since gcc under
# TCG takes most of its 15 to 25 minutes.  Its checks are "verbatim: ...".
verbatim_test()
{
	local dir=$VM_OUT/$ver t0

	t0=$(now_ms)
	L1_VER=$ver OUT=$dir/verbatim L1_APPEND=$l1_append \
		bash "$HERE/run-verbatim.sh" > "$dir/verbatim.log" 2>&1 || true
	grep -E '^((not )?ok - |# )' "$dir/verbatim.log" | tee -a "$dir/tap.log"
	timings+="${timings:+, }verbatim $(elapsed "$t0")"
	grep -qE '^[0-9]+ passed, [0-9]+ failed$' "$dir/verbatim.log" && return
	fail "verbatim: the quick start's VM ran to its end"
	tail -n 20 "$dir/verbatim.log" | sed 's/^/# /'
}

# tally TAPFILE: adds this kernel's counts to the totals and prints them.
tally()
{
	local pass fail skip

	read -r pass fail skip < <(awk '
		/^not ok / { f++; next }
		/^ok / { if (/# *[Ss][Kk][Ii][Pp]/) s++; else p++ }
		END { print p + 0, f + 0, s + 0 }' "$1")
	fail=$((fail + kfail))
	echo "# $ver: $pass passed, $fail failed, $skip skipped${timings:+ ($timings)}"
	total_pass=$((total_pass + pass))
	total_fail=$((total_fail + fail))
	total_skip=$((total_skip + skip))
}

# pick_kernel NAME: ver, kdir, kbuild, the stage that gets the kernel
# and the per-kernel settings for NAME (a Debian series or debug); ver is
# empty when there is no such kernel, and missing says why.
pick_kernel()
{
	get_kernel=fetch_kernel
	verbatim=0
	vm_timeout=$VM_TIMEOUT
	test_timeout=$TEST_TIMEOUT
	l1_timeout=$VMM_L1_TIMEOUT
	init_append=
	l1_append=
	if [[ $1 == debug ]]; then
		ver=$(cat "$DEBUG_KERNEL/release" 2> /dev/null || true)
		kdir=$DEBUG_KERNEL/root
		kbuild=$DEBUG_KERNEL/obj
		get_kernel=debug_kernel
		vm_timeout=$DEBUG_VM_TIMEOUT
		test_timeout=$DEBUG_TEST_TIMEOUT
		l1_timeout=$DEBUG_VMM_L1_TIMEOUT
		init_append=$DEBUG_INIT_APPEND
		l1_append=$DEBUG_L1_APPEND
		missing="no debug kernel in ${DEBUG_KERNEL#"$TOP"/} (make debug-kernel)"
		return
	fi
	ver=$(headers_version "$1")
	kdir=$BUILD/kernels/$ver
	kbuild=/usr/src/linux-headers-$ver
	[[ $1 != 6.12 ]] || verbatim=$VERBATIM_TEST
	missing="no /usr/src/linux-headers-$1.*-amd64 (make setup)"
}

# run_kernel NAME
run_kernel()
{
	local warnings missing

	pick_kernel "$1"
	kfail=0
	stage_ok=1
	timings=
	if [[ -z $ver ]]; then
		ver=$1
		echo "# Linux $1"
		fail "$missing"
		tally /dev/null
		return
	fi
	echo "# Linux $ver"
	mkdir -p "$VM_OUT/$ver"
	: > "$VM_OUT/$ver/tap.log"
	# Plain ifs: see stage().
	stage kernel "$get_kernel"
	if ((stage_ok)); then
		stage module build_module
		warnings=$(grep -c 'warning:' "$VM_OUT/$ver/module.log" || true)
		((warnings == 0)) ||
			echo "# $warnings compiler warnings in ${VM_OUT#"$TOP"/}/$ver/module.log"
	fi
	if ((stage_ok)); then
		stage initramfs make_initramfs
	fi
	if ((stage_ok)); then
		boot_vm
	fi
	if ((stage_ok && VMM_TEST)); then
		vmm_test
	fi
	if ((stage_ok && VMM_TEST && verbatim)); then
		verbatim_test
	fi
	tally "$VM_OUT/$ver/tap.log"
}

main()
{
	local series summary

	# shellcheck disable=SC2086 # a list of directories
	if [[ -z $(find $VM_TESTS -maxdepth 1 -type f -perm -u+x 2>/dev/null) ]]; then
		echo "not ok - test binaries in $VM_TESTS (make selftests)"
		total_fail=1
	fi
	# The packaging checks, once (package-check.sh; PACKAGE_CHECK=0 skips
	# them): their TAP lines count as this runner's.
	if ((${PACKAGE_CHECK:-1})); then
		ver=package
		mkdir -p "$VM_OUT"
		KERNELS=$KERNELS bash "$HERE/package-check.sh" | tee "$VM_OUT/package-check.log" || true
		tally "$VM_OUT/package-check.log"
	fi
	for series in $KERNELS; do
		run_kernel "$series"
	done
	summary="$total_pass passed, $total_fail failed"
	((total_skip == 0)) || summary+=", $total_skip skipped"
	echo "$summary"
	((total_fail == 0))
}

main
