#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# demo.sh: the main job, end to end.  A first-level QEMU VM (Debian 6.12,
# the module loaded) runs ktstr-vmm, which boots the guest kernel on the
# module; the guest writes its console to /dev/hvc0 and TLV frames to
# /dev/vport0p1, gets the SNRP reply to its SNRQ, and powers off on the
# 0xD3 wake byte.  Shown: the guest console (from /dev/ktstr-port0, as
# ktstr-vmm copies it to stdout) and the frames read from
# /dev/ktstr-port1 as ktstr-tlv decodes them.

set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=$(mktemp)
trap 'rm -f "$out"' EXIT

rc=0
CASES=check bash "$HERE/run-l1.sh" > "$out" 2>&1 || rc=$?
echo "== guest console (/dev/ktstr-port0)"
sed -n 's/^# console: /  /p' "$out"
echo "== TLV frames (/dev/ktstr-port1 | ktstr-tlv)"
sed -n 's/^# frame: /  /p' "$out"
echo "== checks"
grep -E '^(not )?ok - ' "$out" | sed 's/^/  /'
if ((rc)); then
	echo "demo failed; the whole run:"
	cat "$out"
fi
exit "$rc"
