#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The test binary of ab.sh, in the test VM (busybox sh): vc_bench once
# per module per round, the modules taking turns; one TAP result per run,
# after a line "# ab: MODULE ROUND" and the run's JSON rows between
# vc_bench's own marker lines, as they came (ab-table.pl reads them).
# ab.sh puts the round count in for @ROUNDS@.

ROUNDS=@ROUNDS@
BEGIN='# ktstr-bench: json begin'
END='# ktstr-bench: json end'

# swap KO: the module that runs the next round, nr_slots as vc_bench's
# part 5 needs (4, the default).
swap()
{
	rmmod ktstr_vconsole 2>/dev/null
	insmod "$1" || return 1
	i=0
	while [ ! -e /dev/ktstr-vconsole ] && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ -e /dev/ktstr-vconsole ]
}

echo "TAP version 13"
echo "1..$((2 * ROUNDS))"
n=0
r=1
while [ $r -le "$ROUNDS" ]; do
	# ABBA: each module runs first in every other round.
	order="ref tree"
	[ $((r % 2)) -eq 0 ] && order="tree ref"
	for m in $order; do
		n=$((n + 1))
		if ! swap "/extra/$m.ko"; then
			echo "not ok $n $m round $r: insmod /extra/$m.ko"
			continue
		fi
		/extra/vc_bench > /tmp/ab.out 2>&1
		rc=$?
		echo "# ab: $m $r"
		awk -v b="$BEGIN" -v e="$END" '
			$0 == b { on = 1 }
			on { print }
			$0 == e { on = 0 }' /tmp/ab.out
		if [ $rc -eq 0 ]; then
			echo "ok $n $m round $r"
		else
			grep -v '^# ' /tmp/ab.out | tail -n 5 | sed 's/^/# /'
			echo "not ok $n $m round $r: vc_bench exit status $rc"
		fi
	done
	r=$((r + 1))
done
# The run ends with this tree's module loaded, as run.sh's checks expect.
swap /extra/tree.ko > /dev/null
