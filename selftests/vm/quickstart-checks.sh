# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=sh
#
# quickstart-checks.sh: what the README's quick start must leave, checked
# by both VMs that run it: l1-init.sh (busybox, the run lines, on every
# host kernel) and verbatim-init.sh (this machine's root, the build lines
# too, on 6.12).  Sourced by them; the caller defines check NAME CMD...
# (one TAP line from CMD's status) and KVM_GID.

# quickstart_checks NAME STATUS OUT ERR: the quick start's exit STATUS,
# its stdout OUT (the guest's console, then ktstr-tlv's lines) and its
# stderr ERR, as the user saw them; checks named "NAME: ...".
quickstart_checks()
{
	qc=$1
	# ktstr-tlv's lines are the frames, the rest is the console.
	grep -E ' len=[0-9]+ crc=(ok|bad)' "$3" > /tmp/frames.txt
	grep -v -E ' len=[0-9]+ crc=(ok|bad)' "$3" > /tmp/console.txt
	sed 's/^/vmm-test: # console: /' /tmp/console.txt | tail -n 40
	sed 's/^/vmm-test: # frame: /' /tmp/frames.txt
	check "$qc: ktstr_vconsole loaded" [ -d /sys/module/ktstr_vconsole ]
	check "$qc: exit status 0 (the guest's EXIT code)" [ "$2" = 0 ]
	check "$qc: slot 0 and its nodes printed" \
		grep -q 'slot 0: /dev/ktstr-port0 (console), /dev/ktstr-port1 (TLV stream)' "$4"
	check "$qc: hvc0 hello" grep -q 'ktstr guest: hello from /dev/hvc0' /tmp/console.txt
	check "$qc: SNRP reply" \
		grep -q 'SNRP reply: id 1 status 0 name "ktstr-host"' /tmp/console.txt
	check "$qc: wake byte" grep -q 'wake byte 0xd3: power off' /tmp/console.txt
	check "$qc: guest powered off" grep -q 'ktstr-vmm: guest powered off' "$4"
	check "$qc: SNRQ frame" grep -q '^SNRQ .*id=1 ' /tmp/frames.txt
	check "$qc: EXIT 0 frame" grep -q '^EXIT .*code=0' /tmp/frames.txt
	check "$qc: LIFE power off frame" grep -q '^LIFE .*phase=3' /tmp/frames.txt
	# The VMM needed no port node: they stayed root's.
	check "$qc: port nodes still root's, 0600" \
		[ "$(stat -c '%a %u %g' /dev/ktstr-port0 /dev/ktstr-port1 | sort -u)" = "600 0 0" ]
	check "$qc: /dev/ktstr-vconsole group kvm, 0660 (the shipped rule)" \
		[ "$(stat -c '%a %g' /dev/ktstr-vconsole)" = "660 $KVM_GID" ]
}
