#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# demo.sh: the main job, end to end: the README's quick start, as the VM
# test runs it.  In a first-level QEMU VM (Debian 6.12), a user in group
# kvm loads the module (sudo insmod), runs ktstr-vmm, which boots the
# guest kernel on the module; the guest writes its console to /dev/hvc0
# and TLV frames to /dev/vport0p1, gets ktstr-vmm's SNRP reply to its
# SNRQ, and powers off on the 0xD3 wake byte ktstr-vmm sends after its
# EXIT frame.  Shown: the guest console (port 0, as ktstr-vmm copies it
# to stdout) and the frames ktstr-vmm copied from port 1, as ktstr-tlv
# decodes them.

set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
out=$(mktemp)
trap 'rm -f "$out"' EXIT

rc=0
CASES=quickstart bash "$TOP/selftests/vm/run-l1.sh" > "$out" 2>&1 || rc=$?
echo "== the README's quick start, run by a user in group kvm"
sed -n 's/^# quickstart: \([$ ] \)/  \1/p' "$out"
echo "== guest console (port 0, ktstr-vmm's stdout)"
sed -n 's/^# console: /  /p' "$out"
echo "== TLV frames (port 1, ktstr-tlv --exit-code build/port1.tlv)"
sed -n 's/^# frame: /  /p' "$out"
echo "== ktstr-vmm's messages (stderr)"
sed -n 's/^# quickstart: stderr: /  /p' "$out"
echo "== checks"
grep -E '^(not )?ok - ' "$out" | sed 's/^/  /'
if ((rc)); then
	echo "demo failed; the whole run:"
	cat "$out"
fi
exit "$rc"
