#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# /init of the test VM that selftests/vm/run.sh boots (busybox sh): loads
# kvm_amd and ktstr_vconsole, runs every test binary in /tests, checks the
# kernel log after each step, unloads ktstr_vconsole and checks that its
# slab memory (and, on the debug kernel, kmemleak) says nothing leaked,
# prints the end marker and powers off.  /init-lib.sh has the kernel log
# patterns and the end-of-run checks.
#
# The initramfs holds /modules/kvm/NN-*.ko and /modules/vconsole/NN-*.ko
# (numbered in load order, ktstr_vconsole last) and /tests/*.  Runner
# checks are TAP lines too: "ok - NAME" or "not ok - NAME".
#
# Everything printed goes to /dev/kmsg, one record per line, tagged
# "tap| ": the kernel prints a record whole on the serial console, so the
# module's own messages can never cut a TAP line in two, and run.sh picks
# the tagged lines out of the console.  Kernel command line parameters
# that are not the kernel's reach us as environment variables:
# test_timeout (seconds per test binary), and init-lib.sh's.

TAG='tap| '
END_MARKER='# ktstr-vm-test: end'
TEST_TIMEOUT=${test_timeout:-600}
PATH=/bin
export PATH
# shellcheck source-path=SCRIPTDIR source=init-lib.sh
. /init-lib.sh

# say LINE: a line of output (init-lib.sh's).
say()
{
	echo "$*"
}

# check NAME CMD...: one runner TAP line from CMD's status.
check()
{
	name=$1
	shift
	if "$@"; then
		echo "ok - $name"
	else
		echo "not ok - $name"
	fi
}

# wait_for PATH: device nodes may show up a little after the insmod.
wait_for()
{
	i=0
	while [ ! -e "$1" ] && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ -e "$1" ]
}

# load_group DIR: insmod DIR/*.ko in order.  busybox insmod's status is
# not trusted (nor needed): the callers check /sys/module.
load_group()
{
	for m in "$1"/*.ko; do
		[ -e "$m" ] && insmod "$m"
	done
}

# scan_klog STAGE: one failed check if the kernel complained since the
# last scan, with the lines around each complaint.  dmesg -c empties the
# buffer, so each complaint is reported once, after the step it followed.
klog_dirty=0
scan_klog()
{
	dmesg -c | grep -vF "$TAG" > /tmp/klog
	grep -qE "$KLOG_BAD" /tmp/klog || return 0
	echo "not ok - kernel log clean after $1"
	grep -E -B 2 -A 40 "$KLOG_BAD" /tmp/klog | head -n 200 | sed 's/^/# dmesg: /'
	klog_dirty=1
}

# run_test BINARY: its kselftest TAP goes through as is.  A binary that
# crashes, hangs or exits non-zero without a "not ok" would go unnoticed
# in the counts, so that is one more failed check; but not 4 (KSFT_SKIP,
# every test skipped: each "ok ... # SKIP" is counted as skipped).
run_test()
{
	name=${1##*/}
	echo "# $name"
	{
		timeout "$TEST_TIMEOUT" "$1"
		echo $? > /tmp/rc
	} 2>&1 | tee /tmp/out
	rc=$(cat /tmp/rc)
	plan=$(sed -n 's/^1\.\.\([0-9]*\).*/\1/p' /tmp/out | head -n 1)
	results=$(grep -cE '^(not )?ok [0-9]' /tmp/out)
	failed=$(grep -c '^not ok ' /tmp/out)
	if [ -z "$plan" ] || [ "$results" -ne "$plan" ] ||
	   { [ "$rc" -ne 0 ] && [ "$rc" -ne 4 ] && [ "$failed" -eq 0 ]; }; then
		echo "not ok - $name: exit status $rc, $results of ${plan:-?} results"
	fi
}

main()
{
	cd /tmp || return
	khugepaged_nice0
	load_group /modules/kvm
	check "load kvm_amd" test -d /sys/module/kvm_amd
	check "/dev/kvm" wait_for /dev/kvm
	kmemleak_start
	slab_mark
	load_group /modules/vconsole
	check "load ktstr_vconsole" test -d /sys/module/ktstr_vconsole
	check "/dev/ktstr-vconsole" wait_for /dev/ktstr-vconsole
	scan_klog "module load"
	for t in /tests/*; do
		[ -f "$t" ] || continue
		run_test "$t"
		scan_klog "${t##*/}"
	done
	end_checks
	scan_klog "rmmod and the leak checks"
	[ $klog_dirty -eq 1 ] || echo "ok - kernel log clean"
	echo "$END_MARKER"
}

# One write per line (a /dev/kmsg record; longer than 1 KiB is refused),
# tagged; lines that are not TAP become TAP comments.
to_kmsg()
{
	awk -v tag="$TAG" '{
		if ($0 !~ /^(ok |not ok |#|TAP version |1\.\.)/)
			$0 = "# " $0
		print tag substr($0, 1, 900)
		fflush()
	}' > /dev/kmsg
}

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
mkdir -p /dev/shm
mount -t tmpfs tmpfs /dev/shm
main 2>&1 | to_kmsg
poweroff -f
# Should poweroff fail, QEMU's -no-reboot turns a reboot into an exit.
sleep 5
reboot -f
