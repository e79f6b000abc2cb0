#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# /init of the first-level VM that run-l1.sh boots (busybox sh): loads
# kvm_amd, boots the ktstr-vmm guest (the L2) once without the device,
# loads ktstr_vconsole, then boots the L2 in each case of $CASES and
# checks what comes out: the console on stdout, the TLV frames on the
# slot's port 1, the SNRP reply, the 0xd3 wake byte, the exit status and
# the kernel log; at the end unloads ktstr_vconsole and checks that slab
# memory (and, on the debug kernel, kmemleak) says nothing leaked
# (selftests/vm/init-lib.sh, here as /init-lib.sh).  Result lines are
# "vmm-test: ok - NAME" or "vmm-test: not ok - NAME", comments "vmm-test:
# # ..."; the last line is "vmm-test: end".
#
# Kernel command line parameters that reach us as environment variables:
# l2_cpus (default 2), l2_timeout (seconds per L2 run, default 300),
# flood_mib (default 8), cases (default: all of them, see main), and
# init-lib.sh's.

PATH=/bin
export PATH
L2_CPUS=${l2_cpus:-2}
L2_TIMEOUT=${l2_timeout:-300}
FLOOD_MIB=${flood_mib:-8}
CASES=${cases:-nodev check reboot triple flood flood4 slot1 maxcpus two sigterm}
BASE_CMDLINE="console=ttyS0 quiet panic=-1"
# shellcheck source-path=SCRIPTDIR source=../../selftests/vm/init-lib.sh
. /init-lib.sh

say()
{
	echo "vmm-test: $*"
}

check()
{
	name=$1
	shift
	if "$@"; then
		say "ok - $name"
	else
		say "not ok - $name"
	fi
}

now_ms()
{
	read -r up _ < /proc/uptime
	echo "${up%.*}${up#*.}0"
}

# wait_grep PATTERN FILE DONE: until FILE holds PATTERN (a frame type's
# bytes as they are on the wire, little endian: EXIT is TIXE), or the
# file DONE exists (the VMM ended).
wait_grep()
{
	i=0
	until grep -q "$1" "$2" 2> /dev/null; do
		[ -e "$3" ] && return 1
		[ $i -lt $((L2_TIMEOUT * 10)) ] || return 1
		sleep 0.1
		i=$((i + 1))
	done
}

# responder NAME MODE SLOT T0: the host side of the guest's protocol on
# the slot: the SNRP reply to its SNRQ (check mode), then the wake byte
# 0xd3 after its EXIT frame.
responder()
{
	dev=/dev/ktstr$3
	[ "$3" = 0 ] && dev=/dev/ktstr
	if [ "$2" = check ] && wait_grep QRNS "/tmp/$1.port1" "/tmp/$1.done"; then
		cat /l1/snrp.bin > "$dev-port1"
		say "# $1: SNRQ seen after $(($(now_ms) - $4)) ms, SNRP written"
	fi
	[ "$2" = reboot ] && return
	if wait_grep TIXE "/tmp/$1.port1" "/tmp/$1.done"; then
		say "# $1: EXIT seen after $(($(now_ms) - $4)) ms, writing 0xd3"
		printf '\323' > "$dev-port0"
	fi
}

# run_vmm NAME MODE SLOT [ARG...]: one L2 boot with its responder; the
# console in /tmp/NAME.console, port 1 in /tmp/NAME.port1, the exit
# status in /tmp/NAME.rc.
run_vmm()
{
	name=$1
	mode=$2
	slot=$3
	shift 3
	rm -f "/tmp/$name.done"
	: > "/tmp/$name.port1"
	start=$(now_ms)
	responder "$name" "$mode" "$slot" "$start" &
	rpid=$!
	if [ -n "${slow_reader:-}" ]; then
		# A reader that comes late: port 1's buffer fills and the
		# guest's writers must wait, not lose bytes.
		dev=/dev/ktstr$slot
		[ "$slot" = 0 ] && dev=/dev/ktstr
		(sleep "$slow_reader"; cat "$dev-port1" > "/tmp/$name.port1") &
		cpid=$!
	else
		cpid=
		set -- --port1 "/tmp/$name.port1" "$@"
	fi
	timeout "$L2_TIMEOUT" /l1/ktstr-vmm -v --kernel /l1/bzImage \
		--initrd /l1/initramfs.cpio.gz --slot "$slot" \
		"$@" > "/tmp/$name.console" 2> "/tmp/$name.err"
	echo $? > "/tmp/$name.rc"
	[ -z "$cpid" ] || wait "$cpid"
	touch "/tmp/$name.done"
	say "# $name: exit status $(cat "/tmp/$name.rc") after $(($(now_ms) - start)) ms"
	wait $rpid
}

# vmm NAME SLOT MODE [ARG...]: run_vmm, then its output shown and copied
# to /tmp/console.txt, /tmp/port1.bin and /tmp/vmm.err; the status in $rc.
vmm()
{
	n=$1
	sl=$2
	m=$3
	shift 3
	say "# $n: ktstr-vmm --slot $sl $*"
	run_vmm "$n" "$m" "$sl" "$@"
	cp "/tmp/$n.console" /tmp/console.txt
	cp "/tmp/$n.port1" /tmp/port1.bin
	cp "/tmp/$n.err" /tmp/vmm.err
	rc=$(cat "/tmp/$n.rc")
	sed "s/^/vmm-test: # console: /" /tmp/console.txt | tail -n "${console_lines:-80}"
	sed 's/^/vmm-test: # vmm: /' /tmp/vmm.err
}

# frames NAME: the TLV stream decoded, checked for errors and EXIT 0.
frames()
{
	/l1/ktstr-tlv /tmp/port1.bin > /tmp/frames.txt 2> /tmp/tlv.err
	tlv_rc=$?
	sed 's/^/vmm-test: # frame: /' /tmp/frames.txt | grep -v PRAW | head -n 40
	say "# $(grep -c PRAW /tmp/frames.txt) PRAW frames, $(wc -c < /tmp/port1.bin) bytes"
	sed 's/^/vmm-test: # tlv: /' /tmp/tlv.err | head -n 20
	check "$1: TLV stream clean" [ "$tlv_rc" = 0 ]
	/l1/ktstr-tlv --exit-code /tmp/port1.bin > /dev/null 2>&1
	check "$1: EXIT 0 frame" [ $? = 0 ]
	check "$1: SRDY frame" grep -q SRDY /tmp/frames.txt
}

# klog NAME: the module's messages; none may be a warning or an oops.
klog()
{
	dmesg -c > /tmp/klog
	sed 's/^/vmm-test: # dmesg: /' /tmp/klog | grep -v -E 'vmm-test' | tail -n 20
	check "$1: kernel log clean" sh -c "! grep -qE '$KLOG_BAD' /tmp/klog"
}

case_nodev()
{
	extra=$(cat /l1/nodev-cmdline 2> /dev/null)
	console_lines=1000 vmm nodev 0 none --cpus "$L2_CPUS" \
		--cmdline "console=ttyS0 earlyprintk=serial printk.time=1${extra:+ $extra}"
	check "nodev: exit status 0" [ "$rc" = 0 ]
	check "nodev: warning" grep -q 'no /dev/ktstr-vconsole' /tmp/vmm.err
	check "nodev: early console" grep -q 'earlyser0' /tmp/console.txt
	check "nodev: ttyS0 console" grep -q 'console \[ttyS0\] enabled' /tmp/console.txt
	check "nodev: $L2_CPUS CPUs up" \
		grep -q "smp: Brought up 1 node, $L2_CPUS CPU" /tmp/console.txt
	check "nodev: /init ran" grep -q 'ktstr guest: no /dev/hvc0' /tmp/console.txt
	check "nodev: halted" grep -q 'System halted' /tmp/console.txt
	klog nodev
}

case_check()
{
	vmm check 0 check --cpus "$L2_CPUS" --cmdline "$BASE_CMDLINE"
	check "check: exit status 0" [ "$rc" = 0 ]
	frames check
	check "check: hvc0 hello" grep -q 'ktstr guest: hello from /dev/hvc0' /tmp/console.txt
	check "check: port names" grep -q 'virtio ports ok' /tmp/console.txt
	check "check: SNRP reply" grep -q 'SNRP reply: id 1' /tmp/console.txt
	check "check: wake byte" grep -q 'wake byte 0xd3' /tmp/console.txt
	klog check
}

case_reboot()
{
	vmm reboot 0 reboot --cpus "$L2_CPUS" \
		--cmdline "$BASE_CMDLINE ktstr.mode=reboot"
	check "reboot: exit status 2" [ "$rc" = 2 ]
	frames reboot
	klog reboot
}

case_triple()
{
	vmm triple 0 reboot --cpus "$L2_CPUS" \
		--cmdline "$BASE_CMDLINE ktstr.mode=reboot reboot=t"
	check "triple: exit status 3" [ "$rc" = 3 ]
	frames triple
	klog triple
}

case_flood()
{
	slow_reader=3
	vmm flood 0 flood --cpus "$L2_CPUS" \
		--cmdline "$BASE_CMDLINE ktstr.mode=flood ktstr.flood_mib=$FLOOD_MIB"
	slow_reader=
	check "flood: exit status 0" [ "$rc" = 0 ]
	frames flood
	say "# flood: port 1 read only from 3 s on, by a late reader"
	check "flood: $FLOOD_MIB MiB of PRAW frames" \
		[ "$(grep -c PRAW /tmp/frames.txt)" = $((FLOOD_MIB * 256)) ]
	check "flood: wake byte" grep -q 'wake byte 0xd3' /tmp/console.txt
	klog flood
}

# Four vCPUs on the L1's one, 32 MiB in frames of 32752 payload bytes
# (one write() each, the largest a port write takes whole).
case_flood4()
{
	vmm flood4 0 flood --cpus 4 --cmdline \
		"$BASE_CMDLINE ktstr.mode=flood ktstr.flood_mib=32 ktstr.frame_size=32752"
	check "flood4: exit status 0" [ "$rc" = 0 ]
	frames flood4
	sent=$(sed -n 's/.*flood: \([0-9]*\) frames in.*/\1/p' /tmp/console.txt)
	check "flood4: the ${sent:-?} PRAW frames sent" \
		[ "$(grep -c PRAW /tmp/frames.txt)" = "${sent:-x}" ]
	check "flood4: wake byte" grep -q 'wake byte 0xd3' /tmp/console.txt
	klog flood4
}

# Slot 1, one vCPU, memory above 4 GiB (two memory slots).
case_slot1()
{
	vmm slot1 1 check --cpus 1 --mem 4608 --cmdline "$BASE_CMDLINE"
	check "slot1: exit status 0" [ "$rc" = 0 ]
	frames slot1
	check "slot1: SNRP reply" grep -q 'SNRP reply: id 1' /tmp/console.txt
	check "slot1: wake byte" grep -q 'wake byte 0xd3' /tmp/console.txt
	klog slot1
}

# Two vCPUs, one started (maxcpus=1): the other waits for a SIPI forever,
# which must not keep the power off from being seen.
case_maxcpus()
{
	vmm maxcpus 0 check --cpus 2 --cmdline "$BASE_CMDLINE maxcpus=1"
	check "maxcpus: exit status 0" [ "$rc" = 0 ]
	check "maxcpus: wake byte" grep -q 'wake byte 0xd3' /tmp/console.txt
	klog maxcpus
}

# Two VMs at once, on slots 0 and 2, one vCPU each.
case_two()
{
	say "# two: ktstr-vmm --slot 0 and --slot 2 at once"
	run_vmm two-a check 0 --cpus 1 --cmdline "$BASE_CMDLINE" &
	apid=$!
	run_vmm two-b check 2 --cpus 1 --cmdline "$BASE_CMDLINE"
	wait $apid
	for v in two-a two-b; do
		sed "s/^/vmm-test: # $v: /" "/tmp/$v.err"
		sed "s/^/vmm-test: # $v console: /" "/tmp/$v.console" | tail -n 40
		check "$v: exit status 0" [ "$(cat "/tmp/$v.rc")" = 0 ]
		check "$v: SNRP reply" grep -q 'SNRP reply: id 1' "/tmp/$v.console"
		check "$v: wake byte" grep -q 'wake byte 0xd3' "/tmp/$v.console"
		cp "/tmp/$v.port1" /tmp/port1.bin
		frames "$v"
	done
	klog two
}

# SIGTERM while the guest waits for its reply: status 4, and the frames
# it sent before are all there.
case_sigterm()
{
	rm -f /tmp/port1.bin /tmp/sigterm.done
	: > /tmp/port1.bin
	/l1/ktstr-vmm --kernel /l1/bzImage --initrd /l1/initramfs.cpio.gz \
		--cpus "$L2_CPUS" --cmdline "$BASE_CMDLINE" \
		--port1 /tmp/port1.bin > /tmp/console.txt 2> /tmp/vmm.err &
	pid=$!
	wait_grep QRNS /tmp/port1.bin /tmp/sigterm.done
	kill -TERM $pid
	wait $pid
	rc=$?
	sed 's/^/vmm-test: # vmm: /' /tmp/vmm.err
	check "sigterm: exit status 4" [ "$rc" = 4 ]
	check "sigterm: SNRQ frame kept" grep -q QRNS /tmp/port1.bin
	klog sigterm
}

main()
{
	# None when kvm is built in (the debug kernel).
	for m in /l1/modules/kvm/*.ko; do
		[ -e "$m" ] || continue
		insmod "$m" 2>&1 | sed 's/^/vmm-test: # insmod: /'
	done
	check "kvm_amd loaded" [ -d /sys/module/kvm_amd ]
	for x in /l1/extra/*; do
		[ -x "$x" ] && "$x" 2>&1 | sed "s|^|vmm-test: # ${x##*/}: |"
	done
	dmesg -c > /dev/null
	case " $CASES " in
	*" nodev "*) case_nodev ;;
	esac
	# After an L2 guest has run: kvm's caches have grown already.
	kmemleak_start
	slab_mark
	for m in /l1/modules/vconsole/*.ko; do
		insmod "$m" 2>&1 | sed 's/^/vmm-test: # insmod: /'
	done
	check "ktstr_vconsole loaded" [ -d /sys/module/ktstr_vconsole ]
	i=0
	while [ ! -e /dev/ktstr1-port1 ] && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	klog load
	for c in $CASES; do
		[ "$c" = nodev ] || "case_$c"
	done
	end_checks
	klog "end"
	say "end"
}

mount -t proc none /proc
mount -t sysfs none /sys
mount -t devtmpfs none /dev
mount -t tmpfs none /tmp
main
poweroff -f
