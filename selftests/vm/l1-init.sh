#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# /init of the first-level VM that run-l1.sh boots (busybox sh): loads
# kvm_amd, checks ktstr-vmm's usage and its messages without KVM and
# without the device, boots the ktstr-vmm guest (the L2) once without the
# device, runs the README's quick start as it is printed there (as the
# user ktstr in group kvm; it loads ktstr_vconsole), then boots the L2 in
# each case of $CASES and checks what comes out: the console on stdout,
# the TLV frames on the slot's port 1, the SNRP reply, the 0xd3 wake
# byte, stdin and the terminal, the exit status, the messages and the
# kernel log; at the end unloads ktstr_vconsole and checks that slab
# memory (and, on the debug kernel, kmemleak) says nothing leaked
# (selftests/vm/init-lib.sh, here as /init-lib.sh).  Result lines are
# "vmm-test: ok - NAME" or "vmm-test: not ok - NAME", comments "vmm-test:
# # ..."; the last line is "vmm-test: end".
#
# The system stands in for a Debian host the busybox way: /etc/passwd and
# /etc/group (root; ktstr, in kvm; outsider, not), and mdev -d applying
# /etc/mdev.conf on uevents as udev applies its rules (/dev/kvm group kvm
# as Debian's rules have it, /dev/ktstr-vconsole as the shipped rule
# says, the rest root's, 0600), the module in /lib/modules for modprobe,
# the tools in /usr/local/bin (run-l1.sh).
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
CASES=${cases:-usage nokvm nodev quickstart check reboot triple flood flood4 slot1 \
	maxcpus two sigterm perm abi busy stdin term}
BASE_CMDLINE="console=ttyS0 quiet panic=-1"
KVM_GID=108
# The L2's kernel and initramfs as ktstr-vmm's options, for su -c.
L2="--kernel /l1/bzImage --initrd /l1/initramfs.cpio.gz"
# shellcheck source-path=SCRIPTDIR source=init-lib.sh
. /init-lib.sh
# shellcheck source-path=SCRIPTDIR source=quickstart-checks.sh
. /quickstart-checks.sh

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

# boot_l2 VMM ARG...: that ktstr-vmm booting the L2 guest, with ARG.  Not
# for a background job: $! would be the subshell's, not ktstr-vmm's.
boot_l2()
{
	vmm_bin=$1
	shift
	"$vmm_bin" --kernel /l1/bzImage --initrd /l1/initramfs.cpio.gz "$@"
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
# the slot's nodes: the SNRP reply to its SNRQ (check mode), then the
# wake byte 0xd3 after its EXIT frame.  Modes self (ktstr-vmm answers
# itself: --snrp, --shutdown-after-exit) and none: nothing.
responder()
{
	dev=/dev/ktstr$3
	[ "$3" = 0 ] && dev=/dev/ktstr
	[ "$2" = self ] || [ "$2" = none ] && return
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

# heartbeat: a console line every 30 s for as long as the L1 runs, the
# sign of life run-l1.sh's watchdog waits for: the nested-TCG stall stops
# the whole L1, this loop with it.  Not a "vmm-test:" line, so not a result.
heartbeat()
{
	while sleep 30; do
		echo "l1: up $(cut -d ' ' -f 1 /proc/uptime) s"
	done
}

# progress NAME: while the L2 runs, every 30 s how far its console got,
# so that a boot that hangs shows where (the console is shown in full
# only when the run ends).
progress()
{
	i=0
	while [ ! -e "/tmp/$1.done" ]; do
		sleep 1
		i=$((i + 1))
		[ $((i % 30)) = 0 ] || continue
		say "# $1: ${i} s: console $(wc -c < "/tmp/$1.console") bytes, last: $(tail -n 1 "/tmp/$1.console" | tr -d '\r' | cut -c 1-100)"
	done
}

# run_vmm NAME MODE SLOT [ARG...]: one L2 boot with its responder (SLOT
# may be auto); the console in /tmp/NAME.console, port 1 in
# /tmp/NAME.port1 (none in mode none), the exit status in /tmp/NAME.rc.
# stdin is /dev/null: at its end ktstr-vmm lets go of port 0's writer,
# which the responder needs.
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
		[ "$mode" = none ] || set -- --port1 "/tmp/$name.port1" "$@"
	fi
	: > "/tmp/$name.console"
	progress "$name" &
	progress_pid=$!
	timeout "$L2_TIMEOUT" /l1/ktstr-vmm -v --kernel /l1/bzImage \
		--initrd /l1/initramfs.cpio.gz --slot "$slot" "$@" < /dev/null \
		> "/tmp/$name.console" 2> "/tmp/$name.err"
	echo $? > "/tmp/$name.rc"
	[ -z "$cpid" ] || wait "$cpid"
	touch "/tmp/$name.done"
	wait $progress_pid
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

# A bad command line exits 2, and says what is wrong, before anything
# else is looked at; --version prints the tree's VERSION.
case_usage()
{
	/l1/ktstr-vmm --version > /tmp/out 2>&1
	check "usage: --version prints VERSION" [ "$(cat /tmp/out)" = "ktstr-vmm $(cat /l1/VERSION)" ]
	for args in "" "--bogus" "$L2 --mem 12X" "$L2 --mem 32M" "$L2 --slot 64" \
		"$L2 --snrp ktstr-host" "$L2 --no-device --shutdown-after-exit --port1 /dev/null" \
		"$L2 extra"; do
		# shellcheck disable=SC2086 # each case is its words
		/l1/ktstr-vmm $args > /tmp/out 2>&1
		st=$?
		sed "s/^/vmm-test: # usage: /" /tmp/out
		check "usage: exit status 2 for '${args#"$L2 "}'" [ $st = 2 ]
	done
}

# A kernel with kvm built in (the debug kernel) always has KVM: what is
# left to miss is the node.
nokvm_builtin()
{
	mv /dev/kvm /dev/.kvm-hidden
	boot_l2 /l1/ktstr-vmm < /dev/null > /tmp/out 2>&1
	st=$?
	mv /dev/.kvm-hidden /dev/kvm
	sed "s/^/vmm-test: # nokvm: /" /tmp/out
	check "nokvm: kvm built in, no node: exit status 1" [ $st = 1 ]
	check "nokvm: kvm built in, no node: asks whether udev runs" \
		grep -q 'KVM is loaded but /dev/kvm is not there: is udev running?' /tmp/out
}

# Before kvm_amd: no /dev/kvm, and what to do about it.
case_nokvm()
{
	if [ -z "$(ls /l1/modules/kvm)" ]; then
		nokvm_builtin
		return
	fi
	boot_l2 /l1/ktstr-vmm < /dev/null > /tmp/out 2>&1
	st=$?
	sed "s/^/vmm-test: # nokvm: /" /tmp/out
	check "nokvm: exit status 1" [ $st = 1 ]
	check "nokvm: says modprobe kvm_amd" grep -q 'KVM is not loaded: sudo modprobe kvm_amd' /tmp/out
	# A CPU whose flags show no svm (nor hypervisor): the firmware's.
	sed -e '/^flags/s/$/ /' -e '/^flags/s/ svm / /' \
		-e '/^flags/s/ hypervisor / /' /proc/cpuinfo > /tmp/cpuinfo
	mount -o bind /tmp/cpuinfo /proc/cpuinfo
	boot_l2 /l1/ktstr-vmm < /dev/null > /tmp/out 2>&1
	st=$?
	umount /proc/cpuinfo
	sed "s/^/vmm-test: # nokvm: /" /tmp/out
	check "nokvm: firmware: exit status 1" [ $st = 1 ]
	check "nokvm: says virtualization is disabled in the firmware" \
		grep -q 'virtualization is disabled' /tmp/out
}

case_nodev()
{
	boot_l2 /l1/ktstr-vmm < /dev/null > /tmp/out 2>&1
	st=$?
	sed "s/^/vmm-test: # nodev: /" /tmp/out
	check "nodev: no run without the device: exit status 1" [ $st = 1 ]
	check "nodev: says the module is not loaded" \
		grep -q 'the ktstr_vconsole module is not loaded' /tmp/out
	extra=$(cat /l1/nodev-cmdline 2> /dev/null)
	console_lines=1000 vmm nodev auto none --no-device --cpus "$L2_CPUS" \
		--cmdline "console=ttyS0 earlyprintk=serial printk.time=1${extra:+ $extra}"
	check "nodev: --no-device: exit status 0" [ "$rc" = 0 ]
	check "nodev: early console" grep -q 'earlyser0' /tmp/console.txt
	check "nodev: ttyS0 console" grep -q 'console \[ttyS0\] enabled' /tmp/console.txt
	check "nodev: $L2_CPUS CPUs up" \
		grep -q "smp: Brought up 1 node, $L2_CPUS CPU" /tmp/console.txt
	check "nodev: /init ran" grep -q 'ktstr guest: no /dev/hvc0' /tmp/console.txt
	check "nodev: halted" grep -q 'System halted' /tmp/console.txt
	klog nodev
}

# sudo_server: root's side of the quick start's sudo (/bin/sudo): runs
# each command line that comes on /tmp/sudo.cmd in the directory it
# names, sends back its output and status, then waits for the device
# nodes as udevadm settle would.
sudo_server()
{
	while read -r dir line < /tmp/sudo.cmd; do
		[ "$dir" = . ] && break
		(cd "$dir" && eval "$line") > /tmp/sudo.out 2>&1
		st=$?
		i=0
		while [ -e /dev/ktstr-vconsole ] && [ $i -lt 50 ] &&
		      [ "$(stat -c %g /dev/ktstr-vconsole)" != $KVM_GID ]; do
			sleep 0.1
			i=$((i + 1))
		done
		echo $st > /tmp/sudo.rc
	done
}

# The README's quick start, extracted by run-l1.sh into
# /l1/quickstart.sh, run as it is by the user ktstr (in group kvm, not
# root; /usr/local/bin in its PATH, as on Debian) in /l1/qs, laid out as
# the source tree after the build lines.  It loads the module (sudo
# modprobe).
case_quickstart()
{
	say "# quickstart: the README's lines, as ktstr (uid 1000, group kvm):"
	sed -e 's/^\([^ ]\)/$ \1/' -e 's/^ /   /' -e 's/^/vmm-test: # quickstart: /' \
		/l1/quickstart.sh
	rm -f /tmp/sudo.cmd /tmp/sudo.rc
	mkfifo /tmp/sudo.cmd /tmp/sudo.rc
	chmod 666 /tmp/sudo.cmd /tmp/sudo.rc
	chown 1000:1000 /l1/qs/build
	sudo_server &
	spid=$!
	start=$(now_ms)
	# A session of its own, so that a hang takes ktstr-vmm with it.
	setsid su -s /bin/sh ktstr -c \
		'PATH=/usr/local/bin:/bin; cd /l1/qs && sh -e /l1/quickstart.sh' \
		< /dev/null > /tmp/qs.out 2> /tmp/qs.err &
	qpid=$!
	i=0
	while kill -0 $qpid 2> /dev/null && [ $i -lt $((L2_TIMEOUT * 10)) ]; do
		sleep 0.1
		i=$((i + 1))
	done
	kill -9 -$qpid 2> /dev/null && say "# quickstart: killed after $L2_TIMEOUT s"
	wait $qpid
	st=$?
	echo ". ." > /tmp/sudo.cmd
	wait $spid
	say "# quickstart: exit status $st after $(($(now_ms) - start)) ms"
	sed 's/^/vmm-test: # quickstart: stderr: /' /tmp/qs.err
	quickstart_checks quickstart "$st" /tmp/qs.out /tmp/qs.err
	klog quickstart
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
	check "reboot: exit status 3" [ "$rc" = 3 ]
	frames reboot
	klog reboot
}

case_triple()
{
	vmm triple 0 reboot --cpus "$L2_CPUS" \
		--cmdline "$BASE_CMDLINE ktstr.mode=reboot reboot=t"
	check "triple: exit status 4" [ "$rc" = 4 ]
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

# Slot 1, one vCPU, memory above 4 GiB (two memory slots), ktstr-vmm
# answering the guest itself.
case_slot1()
{
	vmm slot1 1 self --cpus 1 --mem 4608M --cmdline "$BASE_CMDLINE" \
		--snrp ktstr-vmm-test --shutdown-after-exit
	check "slot1: exit status 0" [ "$rc" = 0 ]
	check "slot1: slot 1 and its nodes printed" \
		grep -q 'slot 1: /dev/ktstr1-port0 (console), /dev/ktstr1-port1 (TLV stream)' /tmp/vmm.err
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

# Two VMs at once, each on the slot --slot auto takes, one vCPU each.
case_two()
{
	say "# two: ktstr-vmm --slot auto twice at once"
	run_vmm two-a self auto --cpus 1 --cmdline "$BASE_CMDLINE" \
		--snrp ktstr-vmm-test --shutdown-after-exit &
	apid=$!
	run_vmm two-b self auto --cpus 1 --cmdline "$BASE_CMDLINE" \
		--snrp ktstr-vmm-test --shutdown-after-exit
	wait $apid
	slots=$(sed -n 's/^ktstr-vmm: slot \([0-9]*\):.*/\1/p' /tmp/two-a.err /tmp/two-b.err |
		sort | tr '\n' ' ')
	check "two: slots 0 and 1 taken (${slots% })" [ "$slots" = "0 1 " ]
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

# SIGTERM while the guest waits for its reply: status 5, and the frames
# it sent before are all there.
case_sigterm()
{
	rm -f /tmp/port1.bin /tmp/sigterm.done
	: > /tmp/port1.bin
	/l1/ktstr-vmm --kernel /l1/bzImage --initrd /l1/initramfs.cpio.gz \
		--cpus "$L2_CPUS" --cmdline "$BASE_CMDLINE" --port1 /tmp/port1.bin \
		< /dev/null > /tmp/console.txt 2> /tmp/vmm.err &
	pid=$!
	wait_grep QRNS /tmp/port1.bin /tmp/sigterm.done
	kill -TERM $pid
	wait $pid
	rc=$?
	sed 's/^/vmm-test: # vmm: /' /tmp/vmm.err
	check "sigterm: exit status 5" [ "$rc" = 5 ]
	check "sigterm: SNRQ frame kept" grep -q QRNS /tmp/port1.bin
	klog sigterm
}

# Who may not: a user outside group kvm, then a control device whose
# group is root's.
case_perm()
{
	su -s /bin/sh outsider -c "/l1/ktstr-vmm $L2" < /dev/null > /tmp/out 2>&1
	st=$?
	sed "s/^/vmm-test: # perm: /" /tmp/out
	check "perm: /dev/kvm refused: exit status 1" [ $st = 1 ]
	check "perm: says /dev/kvm is group kvm" grep -q '/dev/kvm is group kvm, mode 0660' /tmp/out
	check "perm: says to join group kvm" grep -q 'not in group kvm' /tmp/out
	chgrp 0 /dev/ktstr-vconsole
	su -s /bin/sh ktstr -c "/l1/ktstr-vmm $L2" < /dev/null > /tmp/out 2>&1
	st=$?
	chgrp $KVM_GID /dev/ktstr-vconsole
	sed "s/^/vmm-test: # perm: /" /tmp/out
	check "perm: /dev/ktstr-vconsole refused: exit status 1" [ $st = 1 ]
	check "perm: says only root may open it" grep -q 'only root may open it' /tmp/out
}

# A ktstr-vmm built for another ABI than the module's.
case_abi()
{
	boot_l2 /l1/ktstr-vmm-abi99 < /dev/null > /tmp/out 2>&1
	st=$?
	sed "s/^/vmm-test: # abi: /" /tmp/out
	check "abi: exit status 1" [ $st = 1 ]
	check "abi: says which ABI each speaks" \
		grep -q 'the loaded module speaks ABI 2, this ktstr-vmm ABI 99' /tmp/out
}

# reload_module [PARAM...]: ktstr_vconsole again, nodes settled.
reload_module()
{
	rmmod ktstr_vconsole
	insmod /l1/modules/vconsole/99-ktstr_vconsole.ko "$@"
	i=0
	while [ "$(stat -c %g /dev/ktstr-vconsole 2> /dev/null)" != $KVM_GID ] &&
	      [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
}

# A slot taken, then every slot taken (the module reloaded with one).
# The holder is the quick start's run, but no --snrp: the guest's check
# fails, EXIT 1, and its power off still ends the run; ktstr-tlv
# --exit-code gives the guest's 1.
case_busy()
{
	reload_module nr_slots=1
	rm -f /tmp/holder.done
	/l1/ktstr-vmm --kernel /l1/bzImage --initrd /l1/initramfs.cpio.gz \
		--port1 /tmp/holder.tlv --shutdown-after-exit \
		--cmdline "$BASE_CMDLINE ktstr.reply_timeout=5" < /dev/null \
		> /tmp/holder.console 2> /tmp/holder.err &
	hpid=$!
	wait_grep 'slot 0:' /tmp/holder.err /tmp/holder.done
	boot_l2 /l1/ktstr-vmm --slot 0 < /dev/null > /tmp/out 2>&1
	st=$?
	sed "s/^/vmm-test: # busy: /" /tmp/out
	check "busy: slot 0 taken: exit status 1" [ $st = 1 ]
	check "busy: says slot 0 is in use" grep -q 'slot 0 is in use by another VMM' /tmp/out
	boot_l2 /l1/ktstr-vmm < /dev/null > /tmp/out 2>&1
	st=$?
	sed "s/^/vmm-test: # busy: /" /tmp/out
	check "busy: every slot taken: exit status 1" [ $st = 1 ]
	check "busy: says all 1 slots are in use" grep -q 'all 1 slots are in use' /tmp/out
	wait $hpid
	st=$?
	sed 's/^/vmm-test: # busy: holder: /' /tmp/holder.err
	check "busy: the holder powered off: exit status 0" [ $st = 0 ]
	check "busy: the holder's guest check failed" grep -q 'no SNRP reply' /tmp/holder.console
	/l1/ktstr-tlv --exit-code /tmp/holder.tlv > /dev/null 2>&1
	check "busy: ktstr-tlv --exit-code gives the guest's 1" [ $? = 1 ]
	reload_module
	klog busy
}

# stdin a pipe: its bytes reach the guest's console (echo mode sends them
# back once it says it is ready), the last one the wake byte; echo mode
# reboots: status 3.
case_stdin()
{
	: > /tmp/console.txt
	# shellcheck disable=SC2094 # the writer waits for what the guest says
	{
		wait_grep 'echo: ready' /tmp/console.txt /nonexistent
		printf 'q\003\001'
		wait_grep 'echo: done' /tmp/console.txt /nonexistent
		printf '\323'
	} | timeout "$L2_TIMEOUT" /l1/ktstr-vmm --kernel /l1/bzImage --initrd /l1/initramfs.cpio.gz \
		--cmdline "$BASE_CMDLINE ktstr.mode=echo ktstr.echo_n=3" \
		> /tmp/console.txt 2> /tmp/vmm.err
	rc=$?
	sed 's/^/vmm-test: # console: /' /tmp/console.txt | tail -n 20
	sed 's/^/vmm-test: # vmm: /' /tmp/vmm.err
	check "stdin: exit status 3 (echo mode reboots)" [ "$rc" = 3 ]
	check "stdin: the bytes echoed" grep -q "$(printf 'q\003\001')" /tmp/console.txt
	check "stdin: echo done" grep -q 'echo: done: 3 of 3' /tmp/console.txt
	check "stdin: wake byte" grep -q 'wake byte 0xd3' /tmp/console.txt
	klog stdin
}

# pty_run NAME STEP... -- ARG...: ktstr-vmm on a pseudo-terminal.
pty_run()
{
	n=$1
	shift
	/l1/ktstr-pty-run -o "/tmp/$n.pty" -t 120 "$@" > "/tmp/$n.ptyrun" 2>&1
	sed "s/^/vmm-test: # $n: /" "/tmp/$n.ptyrun"
	sed "s/^/vmm-test: # $n: terminal: /" "/tmp/$n.pty" | tr -d '\r' | tail -n 20
}

# The terminal as the guest's console: raw (Ctrl-C reaches the guest,
# which echoes in echo mode), Ctrl-A Ctrl-A sends Ctrl-A, Ctrl-A h, Ctrl-A
# x quits; the terminal's modes are back after, after a SIGTERM and after
# a fault too.
case_term()
{
	pty_run term -e 'Ctrl-A x quits' -e 'echo: ready' -s 'q' -s '\x03' \
		-s '\x01\x01' -e 'q\x03\x01' -e 'echo: done: 3 of 3' -s '\x01h' \
		-e 'Ctrl-A Ctrl-A  send' -s '\x01x' -- \
		/l1/ktstr-vmm --kernel /l1/bzImage --initrd /l1/initramfs.cpio.gz \
		--cmdline "$BASE_CMDLINE ktstr.mode=echo ktstr.echo_n=3"
	check "term: keys echoed by the guest, Ctrl-A x quits: exit status 5" \
		grep -q 'pty-run: exit status 5' /tmp/term.ptyrun
	check "term: termios restored" grep -q 'pty-run: termios restored' /tmp/term.ptyrun
	check "term: said why it stopped" grep -q 'quit (Ctrl-A x)' /tmp/term.pty
	pty_run term-sigterm -e 'Ctrl-A x quits' -k 15 -- /l1/ktstr-vmm --no-device \
		--kernel /l1/bzImage --initrd /l1/initramfs.cpio.gz
	check "term: SIGTERM: exit status 5" \
		grep -q 'pty-run: exit status 5' /tmp/term-sigterm.ptyrun
	check "term: SIGTERM: termios restored" \
		grep -q 'pty-run: termios restored' /tmp/term-sigterm.ptyrun
	pty_run term-segv -e 'Ctrl-A x quits' -k 11 -- /l1/ktstr-vmm --no-device \
		--kernel /l1/bzImage --initrd /l1/initramfs.cpio.gz
	check "term: SIGSEGV: killed by it" grep -q 'pty-run: killed by signal 11' /tmp/term-segv.ptyrun
	check "term: SIGSEGV: termios restored" grep -q 'pty-run: termios restored' /tmp/term-segv.ptyrun
	klog term
}

main()
{
	mkdir -p /dev/pts
	mount -t devpts none /dev/pts
	mdev -d
	khugepaged_nice0
	case " $CASES " in
	*" usage "*) case_usage ;;
	esac
	case " $CASES " in
	*" nokvm "*) case_nokvm ;;
	esac
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
	# What ktstr_vconsole needs; the quick start loads the module itself.
	for m in /l1/modules/vconsole/*.ko; do
		case $m in
		*/99-ktstr_vconsole.ko) ;;
		*) insmod "$m" 2>&1 | sed 's/^/vmm-test: # insmod: /' ;;
		esac
	done
	case " $CASES " in
	*" quickstart "*) case_quickstart ;;
	*) insmod /l1/modules/vconsole/99-ktstr_vconsole.ko ;;
	esac
	check "ktstr_vconsole loaded" [ -d /sys/module/ktstr_vconsole ]
	i=0
	while [ ! -e /dev/ktstr1-port1 ] && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	klog load
	for c in $CASES; do
		case $c in
		usage|nokvm|nodev|quickstart) ;;
		*) "case_$c" ;;
		esac
	done
	end_checks
	klog "end"
	say "end"
}

mount -t proc none /proc
mount -t sysfs none /sys
mount -t devtmpfs none /dev
mount -t tmpfs none /tmp
heartbeat &
main
poweroff -f
