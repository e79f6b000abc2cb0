# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=sh
#
# init-lib.sh: sourced by the /init (busybox sh) of the first-level VMs
# that check the module, init.sh and l1-init.sh beside it (l1_root puts
# it at /init-lib.sh): what a kernel log must not contain, and the checks
# that end a run (rmmod, slab memory, kmemleak).  The caller defines check
# NAME CMD... (one TAP line from CMD's status) and say LINE (one line of
# its output).
#
# Kernel command line parameters that reach /init as environment
# variables: kmemleak_scan=1 (the debug kernel: scan for leaks at the end,
# a missing kmemleak is a failed check), slab_bound_kb (see slab_check).

# What a kernel log must not contain: an oops, a warning, and every report
# of the debug kernel's checkers (KASAN, UBSAN, lockdep and RCU-lockdep,
# might_sleep, the soft lockup, RCU stall and hung task detectors,
# DEBUG_LIST, DEBUG_OBJECTS, kmemleak).  Most of those also print BUG: or
# WARNING:, not all (hung tasks, RCU stalls, kmemleak): each is named.
KLOG_BAD='Oops|BUG:|kernel BUG|WARNING:|Call Trace|general protection|UBSAN:|KASAN:'
KLOG_BAD="$KLOG_BAD|possible circular locking dependency|possible recursive locking"
KLOG_BAD="$KLOG_BAD|inconsistent lock state|suspicious RCU usage"
KLOG_BAD="$KLOG_BAD|sleeping function called from invalid context|scheduling while atomic"
KLOG_BAD="$KLOG_BAD|soft lockup|rcu: INFO:|self-detected stall|rcu_(sched|preempt) detected stalls"
KLOG_BAD="$KLOG_BAD|blocked for more than|list_(add|del) corruption|list_add double add|ODEBUG:"
# kmemleak: a verbose report, and the messages saying it stopped
# tracking.  Its "N new suspected memory leaks" after a scan is not here:
# kmemleak_start's scan of what boot left would fail the first scan, and
# kmemleak_check reads the report itself.
KLOG_BAD="$KLOG_BAD|unreferenced object 0x"
KLOG_BAD="$KLOG_BAD|kmemleak: (Cannot allocate|Memory pool empty|Kernel memory leak detector disabled)"

KMEMLEAK=/sys/kernel/debug/kmemleak
KMEMLEAK_SCAN=${kmemleak_scan:-0}
# Unreclaimable slab memory may grow by this much over the whole run,
# between before the insmod of ktstr_vconsole (with kvm loaded and, in
# l1-init.sh, after a first L2 guest) and after its rmmod.  Measured
# (kselftest VM / VM test's L1): Debian 6.1 +20 / +92 kB, 6.12 +136..176
# / +80..100 kB, the debug kernel +208..588 / +288..576 kB (KASAN's
# quarantine and kmemleak's own objects included).  4 MiB is seven times
# the most seen; a leak of 2048 kmalloc(4096) objects, injected to try
# it, came out as +16.6 MB on the debug kernel.
SLAB_BOUND_KB=${slab_bound_kb:-4096}

# khugepaged_nice0: khugepaged, at nice 19 by its own choice, at nice 0.
# Under TCG a test's nice-0 load (vc_stress's guests, vCPU threads, the
# module's workers) leaves a nice-19 thread no CPU for a minute, and
# khugepaged may be preempted there holding a guest mm's mmap lock inside
# an RCU read-side section (collapse_huge_page): the RCU stall detector
# reports it on a PREEMPT_RCU kernel and the guest's threads hang in
# exit_mm() behind it.  Seen on the debug kernel, vc_stress seed
# 313345760599.  At nice 0 it still collapses the memory the module reads;
# it only stops starving.
khugepaged_nice0()
{
	for c in /proc/[0-9]*/comm; do
		[ "$(cat "$c" 2> /dev/null)" = khugepaged ] || continue
		p=${c#/proc/}
		renice 0 -p "${p%/comm}" > /dev/null &&
			say "# khugepaged (pid ${p%/comm}) at nice 0"
	done
}

# slab_kb: SUnreclaim of /proc/meminfo in kB, once the kernel gave back
# what it can: freed objects wait for RCU grace periods, empty slabs sit
# on per-CPU partial lists until a cache is shrunk.
slab_kb()
{
	sync
	echo 3 > /proc/sys/vm/drop_caches
	sleep 1
	for f in /sys/kernel/slab/*/shrink; do
		[ -e "$f" ] && echo 1 > "$f" 2> /dev/null
	done
	awk '$1 == "SUnreclaim:" { print $2 }' /proc/meminfo
}

# slab_mark: the baseline, before the insmod of ktstr_vconsole.
slab_mark()
{
	slab_before=$(slab_kb)
}

# rmmod_vconsole: the module goes, and nothing of it stays behind (a
# reference a session leaked would keep it; busybox rmmod does not wait).
rmmod_vconsole()
{
	rmmod ktstr_vconsole && [ ! -d /sys/module/ktstr_vconsole ]
}

# slab_check: after rmmod, unreclaimable slab memory back within
# SLAB_BOUND_KB of slab_mark's.  Both figures are printed.
slab_check()
{
	slab_after=$(slab_kb)
	say "# slab: SUnreclaim ${slab_before:-?} kB before insmod, $slab_after kB after rmmod, bound +$SLAB_BOUND_KB kB"
	check "slab memory back after rmmod (+$((slab_after - ${slab_before:-0})) kB)" \
		[ "$slab_after" -le $((${slab_before:-0} + SLAB_BOUND_KB)) ]
}

# kmemleak_scan_now: one scan (the write returns when it is done).
kmemleak_scan_now()
{
	echo scan > "$KMEMLEAK"
}

# kmemleak_scan2: two scans, 5 s apart.  kmemleak never reports an object
# at the first scan that sees it (its checksum changed since the last
# one, so it may be in use) nor one younger than 5 s; and a pointer in
# flight during one scan can make a false positive (kmemleak's
# documentation says scan twice).
kmemleak_scan2()
{
	kmemleak_scan_now
	sleep 5
	kmemleak_scan_now
}

# kmemleak_start: with kmemleak_scan=1, before ktstr_vconsole is loaded:
# what boot left unreferenced is reported here as comments and then
# cleared (kmemleak's "clear"), so that the check at the end only counts
# what leaked while the module was in.
kmemleak_start()
{
	[ "$KMEMLEAK_SCAN" = 1 ] || return 0
	grep -q ' /sys/kernel/debug ' /proc/mounts ||
		mount -t debugfs debugfs /sys/kernel/debug
	[ -e "$KMEMLEAK" ] || return 0
	kmemleak_scan2
	cat "$KMEMLEAK" > /tmp/kmemleak.boot
	say "# kmemleak: $(grep -c '^unreferenced object' /tmp/kmemleak.boot) unreferenced objects at boot, cleared"
	kmemleak_report /tmp/kmemleak.boot "at boot"
	echo clear > "$KMEMLEAK"
}

# kmemleak_report FILE WHEN: FILE (a copy of the report) as comments.
kmemleak_report()
{
	sed "s/^/# kmemleak $2: /" "$1" | head -n 300 | while IFS= read -r l; do
		say "$l"
	done
}

# kmemleak_loaded: with kmemleak_scan=1, scans while ktstr_vconsole is
# still in, so that the backtraces of what it leaked name its functions
# (they are symbolized when the report is read): printed if not empty.
kmemleak_loaded()
{
	[ "$KMEMLEAK_SCAN" = 1 ] && [ -e "$KMEMLEAK" ] || return 0
	t0=$(date +%s)
	kmemleak_scan2
	cat "$KMEMLEAK" > /tmp/kmemleak.loaded
	say "# kmemleak: two scans before rmmod in $(($(date +%s) - t0)) s"
	kmemleak_report /tmp/kmemleak.loaded "before rmmod"
}

# kmemleak_check: with kmemleak_scan=1, after the rmmod (what only the
# module's own data pointed to is unreferenced now): two more scans, then
# any unreferenced object is a failed check.  The report is printed
# unless kmemleak_loaded printed one already.
kmemleak_check()
{
	[ "$KMEMLEAK_SCAN" = 1 ] || return 0
	if [ ! -e "$KMEMLEAK" ]; then
		check "kmemleak: $KMEMLEAK" false
		return
	fi
	t0=$(date +%s)
	kmemleak_scan2
	cat "$KMEMLEAK" > /tmp/kmemleak
	n=$(grep -c '^unreferenced object' /tmp/kmemleak)
	say "# kmemleak: two scans after rmmod in $(($(date +%s) - t0)) s"
	[ -s /tmp/kmemleak.loaded ] || kmemleak_report /tmp/kmemleak "after rmmod"
	check "kmemleak: no unreferenced objects ($n)" [ "$n" = 0 ]
}

# end_checks: the end of a run, once the last test is over: leaks seen
# with the module in, rmmod, slab memory, leaks.  Kernel log complaints
# of these steps are the caller's scan's.
end_checks()
{
	kmemleak_loaded
	check "rmmod ktstr_vconsole" rmmod_vconsole
	slab_check
	kmemleak_check
}
