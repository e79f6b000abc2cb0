#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make bench`: runs vc_bench (selftests/bench, built by `make -C
# selftests/bench`) in the test VM of selftests/vm/run.sh, by default on
# the 6.12 host kernel only (parts 1, 2 and 5), then real-guest.sh (parts
# 3 and 4: a real guest on ktstr-vmm against QEMU), then prints the table
# of every row and writes them to build/bench/results.json.  Not part of
# `make check`.
#
# Arguments: [--no-run] [SOURCE...]
#
# --no-run skips the VM and uses the rows of the last run.  Each SOURCE is
# a JSON file of more rows, merged in (results.pl describes a row): rows
# measured elsewhere, e.g. by a real-guest benchmark, join the same table.
#
# Environment:
#	KERNELS=6.12		kernel series (as run.sh: "6.1 6.12" for both)
#	BENCH_REAL=1		0 leaves out real-guest.sh (its own
#				settings: see there)
#	BENCH_ARGS=		vc_bench options, e.g. "reps=7 scale=0.5 parts=1,2"
#	BENCH_CMDLINE=		more kernel command line for the VM, e.g.
#				"hardened_usercopy=off" (to measure a suspect)
#	BENCH_OUT=<repo>/build/bench	the VM's files (BENCH_OUT/<ver>/),
#				rows.json per kernel and results.json
#	TEST_TIMEOUT=600 VM_TIMEOUT=900	as run.sh's
#
# Exit status: 0 iff the VM run passed (or was skipped) and rows came out.

set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
BENCH_OUT=${BENCH_OUT:-$TOP/build/bench}
KERNELS=${KERNELS:-6.12}
BENCH_ARGS=${BENCH_ARGS:-}
BENCH_CMDLINE=${BENCH_CMDLINE:-}
BENCH_REAL=${BENCH_REAL:-1}
TEST_TIMEOUT=${TEST_TIMEOUT:-600}
VM_TIMEOUT=${VM_TIMEOUT:-900}
BEGIN_MARKER='# ktstr-bench: json begin'
END_MARKER='# ktstr-bench: json end'

run=1
if [[ ${1:-} == --no-run ]]; then
	run=0
	shift
fi

# The rows files this run produced.
rows_files=()

# BENCH_ARGS as kernel command line words bench_KEY=VALUE, which /init
# passes on to vc_bench as environment variables.
vm_append()
{
	local w out=()

	for w in $BENCH_ARGS; do
		out+=("bench_$w")
	done
	echo "${out[*]}${BENCH_CMDLINE:+ $BENCH_CMDLINE}"
}

# What else the host was doing: the figures are emulated, and another VM
# on the same CPUs moves them (the ratios much less).
host_load()
{
	local others

	others=$(pgrep -c qemu-system || true)
	echo "# host $1: $(nproc) CPUs," \
		"load average $(cut -d ' ' -f 1-3 /proc/loadavg)," \
		"$others QEMU process(es) besides ours"
}

# The VM run; its JSON lines are left out of what is shown (they are in
# each kernel's tap.log).  Each kernel's rows go to <ver>/rows.json.
run_vm()
{
	local stamp=$BENCH_OUT/.started rc=0 log

	mkdir -p "$BENCH_OUT"
	touch "$stamp"
	host_load before
	VM_OUT=$BENCH_OUT VM_TESTS=$TOP/build/selftests/bench VMM_TEST=0 \
		KERNELS=$KERNELS TEST_TIMEOUT=$TEST_TIMEOUT \
		VM_TIMEOUT=$VM_TIMEOUT VM_APPEND=$(vm_append) \
		bash "$TOP/selftests/vm/run.sh" |
		awk -v b="$BEGIN_MARKER" -v e="$END_MARKER" '
			$0 == b { skip = 1 }
			!skip { print; fflush() }
			$0 == e { skip = 0 }' || rc=$?
	host_load after
	for log in "$BENCH_OUT"/*/tap.log; do
		[[ -f $log && $log -nt $stamp ]] || continue
		awk -v b="$BEGIN_MARKER" -v e="$END_MARKER" '
			$0 == e { on = 0 }
			on { sub(/^# /, ""); print }
			$0 == b { on = 1 }' "$log" > "${log%/tap.log}/rows.json"
		rows_files+=("${log%/tap.log}/rows.json")
	done
	return "$rc"
}

main()
{
	local rc=0 w f

	for w in $BENCH_ARGS; do
		if [[ $w != *=* ]]; then
			echo "BENCH_ARGS: $w is not key=value" >&2
			return 2
		fi
	done
	if ((run)); then
		if [[ ! -x $TOP/build/selftests/bench/vc_bench ]]; then
			echo "no $TOP/build/selftests/bench/vc_bench (make -C selftests/bench)" >&2
			return 1
		fi
		run_vm || rc=$?
		if ((BENCH_REAL)); then
			rm -f "$BENCH_OUT/real-guest/rows.json"
			OUT=$BENCH_OUT/real-guest bash "$HERE/real-guest.sh" \
				"$BENCH_OUT/real-guest/rows.json" || rc=1
			[[ -f $BENCH_OUT/real-guest/rows.json ]] &&
				rows_files+=("$BENCH_OUT/real-guest/rows.json")
		fi
	else
		for f in "$BENCH_OUT"/*/rows.json; do
			[[ -f $f ]] && rows_files+=("$f")
		done
	fi
	perl "$HERE/results.pl" "$BENCH_OUT/results.json" \
		${rows_files[@]+"${rows_files[@]}"} "$@" || rc=1
	return "$rc"
}

main "$@"
