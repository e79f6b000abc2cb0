#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# /init of the first-level VM that real-guest.sh boots (busybox sh): the
# real-guest rows of the benchmark (issue parts 3 and 4).  Loads kvm_amd,
# ktstr_vconsole and the 9p modules, mounts the host's root (shared
# read-only) on /host, then for each repetition and each VMM (ktstr-vmm on
# the module, QEMU microvm with virtio-serial from /host, chrooted) boots
# the same L2 kernel and /init (ktstr-guest-init) once per case:
#
#	tx64	ktstr.mode=bench, BENCH_MIB MiB in 64 KiB writes, 1 thread
#	tx4k	ktstr.mode=bench, BENCH4K_MIB MiB in 4 KiB writes, 2 threads
#	echo	ktstr.mode=echo, ECHO_N one-byte round trips on port 0, on
#		a 1-vCPU guest (the L1 has one CPU: a second L2 vCPU adds
#		its IPIs and its scheduling in L1 to every round trip)
#	echo2	the same on an L2_CPUS guest
#
# The tx cases run L2_CPUS vCPUs, as the VM test does.
#
# rg_host reads port 1 (sink) and plays the console (round trips, then
# the wake byte 0xd3 that lets the guest power off).  Result lines:
#	rg: CASE VMM REP guest MB/s host MB/s	(tx cases)
#	rg: echo VMM REP median_us p99_us
# comments "rg: # ...", the last line "rg: end".
#
# Kernel command line parameters that reach us as environment variables:
# reps (5), bench_mib (64), bench4k_mib (256), echo_n (200), l2_cpus (2),
# l2_timeout (300 s per L2 boot), vmms ("ours qemu"),
# rg_cases ("tx64 tx4k echo echo2"), rg_perf (a case to profile, none),
# tx_poll_us (the module's parameter, to compare; its default).

PATH=/bin
export PATH
REPS=${reps:-5}
BENCH_MIB=${bench_mib:-64}
BENCH4K_MIB=${bench4k_mib:-256}
ECHO_N=${echo_n:-200}
L2_CPUS=${l2_cpus:-2}
L2_TIMEOUT=${l2_timeout:-300}
VMMS=${vmms:-ours qemu}
RG_CASES=${rg_cases:-tx64 tx4k echo echo2}
L2_CMDLINE="console=ttyS0 quiet panic=-1"
KLOG_BAD='Oops|BUG:|kernel BUG|WARNING:|Call Trace|general protection'

say()
{
	echo "rg: $*"
}

# case_args CASE: the guest's command line words, its vCPUs, the bytes
# to sink and the round trips to make.
case_args()
{
	cpus=$L2_CPUS
	[ "$1" != echo ] || cpus=1
	case $1 in
	tx64)
		args="ktstr.mode=bench ktstr.bench_mib=$BENCH_MIB ktstr.bench_bs=65536 ktstr.bench_threads=1"
		bytes=$((BENCH_MIB << 20))
		rounds=0
		;;
	tx4k)
		args="ktstr.mode=bench ktstr.bench_mib=$BENCH4K_MIB ktstr.bench_bs=4096 ktstr.bench_threads=2"
		bytes=$((BENCH4K_MIB << 20))
		rounds=0
		;;
	echo|echo2)
		args="ktstr.mode=echo ktstr.echo_n=$ECHO_N"
		bytes=0
		rounds=$ECHO_N
		;;
	esac
}

# start_host CON_IN CON_OUT BULK: rg_host on the console and on port 1.
# The console reader is open once its log exists; the wake byte waits for
# the sink to have every byte (see rg_host.c).
start_host()
{
	rm -f /tmp/console.log /tmp/sink.done
	/l1/rg_host console "$1" "$2" /tmp/console.log "$rounds" \
		/tmp/sink.done > /tmp/rg.out 2> /tmp/rg.err &
	cpid=$!
	# Always drained, so that no bytes stay for the next session.
	/l1/rg_host sink "$3" "$bytes" /tmp/sink.done > /tmp/sink.out 2>&1 &
	spid=$!
	i=0
	while [ ! -e /tmp/console.log ] && [ $i -lt 100 ]; do
		sleep 0.05
		i=$((i + 1))
	done
}

# perf_start CASE VMM: with rg_perf=CASE (kernel command line), a
# system-wide profile of that case's boots, from the host's perf.
perf_start()
{
	ppid=
	[ "${rg_perf:-}" = "$1" ] || return 0
	chroot /host perf record -a -g -F 1000 -o "/tmp/perf-$1-$2.data" \
		> /tmp/perf.err 2>&1 &
	ppid=$!
}

perf_stop()
{
	[ -n "$ppid" ] || return 0
	kill -INT "$ppid"
	wait "$ppid"
	chroot /host perf report -i "/tmp/perf-$1-$2.data" --stdio \
		--no-children --sort comm,dso,sym 2> /dev/null |
		grep -v '^$' | grep -v '^#' | grep '%' | head -n 60 |
		sed "s/^/rg: # perf $1 $2: /"
}

# run_ours CASE: ktstr-vmm on slot 0; rg_host reads /dev/ktstr-port0
# itself (opened first, so ktstr-vmm leaves it alone) and port 1.
run_ours()
{
	start_host /dev/ktstr-port0 /dev/ktstr-port0 /dev/ktstr-port1
	perf_start "$1" ours
	timeout "$L2_TIMEOUT" /l1/ktstr-vmm --stats --kernel /l1/bzImage \
		--initrd /l1/initramfs.cpio.gz --cpus "$cpus" \
		--cmdline "$L2_CMDLINE $args" > /tmp/vmm.out 2> /tmp/vmm.err
	echo $? > /tmp/vmm.rc
	perf_stop "$1" ours
	wait $cpid
	wait $spid
}

# run_qemu CASE: QEMU from the host's root, microvm, virtconsole on a
# pipe chardev (port 0) and a virtserialport ktstr-bulk on another.
run_qemu()
{
	rm -f /tmp/qcon.in /tmp/qcon.out /tmp/qbulk.in /tmp/qbulk.out
	mkfifo /tmp/qcon.in /tmp/qcon.out /tmp/qbulk.in /tmp/qbulk.out
	start_host /tmp/qcon.out /tmp/qcon.in /tmp/qbulk.out
	perf_start "$1" qemu
	timeout "$L2_TIMEOUT" chroot /host qemu-system-x86_64 \
		-accel kvm -M microvm,acpi=off -cpu host -smp "$cpus" -m 256M \
		-nodefaults -no-user-config -display none -no-reboot \
		-serial file:/tmp/qemu.serial \
		-kernel /tmp/l2/bzImage -initrd /tmp/l2/initramfs.cpio.gz \
		-append "$L2_CMDLINE reboot=t $args" \
		-device virtio-serial-device \
		-chardev pipe,id=con,path=/tmp/qcon \
		-device virtconsole,chardev=con,name=ktstr-console \
		-chardev pipe,id=c1,path=/tmp/qbulk \
		-device virtserialport,chardev=c1,name=ktstr-bulk \
		< /dev/null > /tmp/vmm.err 2>&1
	echo $? > /tmp/vmm.rc
	perf_stop "$1" qemu
	wait $cpid
	wait $spid
}

# one CASE VMM REP: a boot, its figures as a result line.
one()
{
	case_args "$1"
	t0=$(cut -d ' ' -f 1 /proc/uptime)
	"run_$2" "$1"
	t1=$(cut -d ' ' -f 1 /proc/uptime)
	rc=$(cat /tmp/vmm.rc)
	say "# $1 $2 $3: exit status $rc, $t0 s to $t1 s"
	if ! grep -q 'wake byte 0xd3: ' /tmp/console.log; then
		sed "s/^/rg: # console: /" /tmp/console.log | tail -n 30
		sed "s/^/rg: # vmm: /" /tmp/vmm.err | tail -n 20
		sed "s/^/rg: # rg_host: /" /tmp/rg.err /tmp/rg.out | tail -n 10
		[ ! -f /tmp/qemu.serial ] ||
			sed "s/^/rg: # serial: /" /tmp/qemu.serial | tail -n 30
		say "# $1 $2 $3: FAILED"
		return
	fi
	if [ -f /tmp/qemu.serial ]; then
		sed "s/^/rg: # serial: /" /tmp/qemu.serial | tail -n "${serial_lines:-0}"
		rm -f /tmp/qemu.serial
	fi
	[ "$2" != ours ] || grep 'stats: ' /tmp/vmm.err | sed 's/^/rg: # vmm: /'
	tr -d '\r' < /tmp/console.log | grep -E '^ktstr guest: (bench|echo)' |
		sed 's/^/rg: # console: /'
	if [ "$1" != "${1#echo}" ]; then
		e=$(sed -n 's/^echo: n [0-9]* median \([0-9.]*\) us p99 \([0-9.]*\) us.*/\1 \2/p' /tmp/rg.out)
		say "# rg_host: $(cat /tmp/rg.out)"
		say "$1 $2 $3 ${e:-x x}"
		return
	fi
	g=$(tr -d '\r' < /tmp/console.log | sed -n 's/.*bench: done: .*: \([0-9.]*\) MB\/s.*/\1/p')
	h=$(sed -n 's/^sink: .*: \([0-9.]*\) MB\/s$/\1/p' /tmp/sink.out)
	say "# sink: $(cat /tmp/sink.out)"
	say "$1 $2 $3 ${g:-x} ${h:-x}"
}

setup()
{
	for m in /l1/modules/*.ko; do
		insmod "$m" 2>&1 | sed 's/^/rg: # insmod: /'
	done
	# Module parameters to compare, e.g. tx_poll_us=0 (off).
	p=/sys/module/ktstr_vconsole/parameters
	[ -z "${tx_poll_us:-}" ] || echo "$tx_poll_us" > $p/tx_poll_us
	say "# tx_poll_us $(cat $p/tx_poll_us)"
	for m in kvm_amd ktstr_vconsole 9p; do
		[ -d /sys/module/$m ] || say "# module $m not loaded"
	done
	mkdir -p /host
	mount -t 9p -o trans=virtio,version=9p2000.L,ro root /host ||
		say "# mounting the host's root failed"
	mount -t devtmpfs none /host/dev
	mount -t proc none /host/proc
	mount -t sysfs none /host/sys
	mount -o bind /tmp /host/tmp
	mkdir -p /tmp/l2
	cp /l1/bzImage /l1/initramfs.cpio.gz /tmp/l2/
	i=0
	while [ ! -e /dev/ktstr-port1 ] && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	dmesg -c > /dev/null
}

main()
{
	setup
	say "# reps $REPS, vmms $VMMS, cases $RG_CASES, tx64 $BENCH_MIB MiB, tx4k $BENCH4K_MIB MiB, echo $ECHO_N"
	r=1
	while [ $r -le "$REPS" ]; do
		for c in $RG_CASES; do
			for v in $VMMS; do
				one "$c" "$v" "$r"
			done
		done
		r=$((r + 1))
	done
	dmesg > /tmp/klog
	if grep -qE "$KLOG_BAD" /tmp/klog; then
		sed 's/^/rg: # dmesg: /' /tmp/klog | tail -n 40
		say "# kernel log has warnings"
	fi
	say "end"
}

mount -t proc none /proc
mount -t sysfs none /sys
mount -t devtmpfs none /dev
mount -t tmpfs none /tmp
main
poweroff -f
