#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# ab.sh REF [ROUNDS]: vc_bench (parts 1, 2 and 5) against the module of
# git revision REF and against this tree's, in one VM of
# selftests/vm/run.sh on Debian's 6.12: the two modules take turns, in
# the order REF, tree, tree, REF, REF, ... for ROUNDS rounds (default 2),
# so that what drifts in the run (the host's load, the VM's caches) and
# which runs first fall on both alike.  REF may be the tree's own commit:
# the differences of that run are the noise.
# Prints each row's ratio to its baseline for both modules (the median
# over the rounds) and their difference.  A restructuring that must not
# change speed is checked with it: the figures are emulated (TCG), so
# only a difference well past the rounds' spread means something.
#
# Needs `make selftests` (vc_bench) and the 6.12 headers of `make setup`.
# Environment: BENCH_ARGS (vc_bench options, as run-bench.sh's, default
# "reps=5"), AB_OUT (default build/bench-ab), TEST_TIMEOUT (default
# 3600 s for all rounds), VM_TIMEOUT (TEST_TIMEOUT + 300).
# Exit status: run.sh's.

set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
# shellcheck source-path=SCRIPTDIR source=../vm/l1-lib.sh
source "$TOP/selftests/vm/l1-lib.sh"
REF=${1:?usage: ab.sh REF [ROUNDS]}
ROUNDS=${2:-2}
AB_OUT=${AB_OUT:-$TOP/build/bench-ab}
BENCH_ARGS=${BENCH_ARGS:-reps=5}
TEST_TIMEOUT=${TEST_TIMEOUT:-3600}
VM_TIMEOUT=${VM_TIMEOUT:-$((TEST_TIMEOUT + 300))}

# The 6.12 release run.sh boots: the one whose headers setup installed.
kernel_release()
{
	local d

	for d in /usr/src/linux-headers-6.12.*-amd64; do
		[[ -d $d ]] && { echo "${d#/usr/src/linux-headers-}"; return; }
	done
	echo "no /usr/src/linux-headers-6.12.*-amd64 (make setup)" >&2
	return 1
}

# Both modules and vc_bench in AB_OUT/extra, which the VM has as /extra;
# the only test binary is the script that takes turns.
prepare()
{
	local ver=$1 src=$AB_OUT/src

	rm -rf "$AB_OUT/src" "$AB_OUT/extra" "$AB_OUT/tests"
	mkdir -p "$src/ref" "$AB_OUT/extra" "$AB_OUT/tests"
	git -C "$TOP" archive "$REF" Kbuild VERSION vconsole uapi |
		tar -x -C "$src/ref"
	kmod_build "$ver" "$src/ref" "$src/ref-kmod" > "$AB_OUT/ref-kmod.log" 2>&1
	kmod_build "$ver" "$TOP" "$src/tree-kmod" > "$AB_OUT/tree-kmod.log" 2>&1
	cp "$src/ref-kmod/vconsole/ktstr_vconsole.ko" "$AB_OUT/extra/ref.ko"
	cp "$src/tree-kmod/vconsole/ktstr_vconsole.ko" "$AB_OUT/extra/tree.ko"
	cp "$TOP/build/selftests/bench/vc_bench" "$AB_OUT/extra/"
	sed "s/@ROUNDS@/$ROUNDS/" "$HERE/ab-turns.sh" > "$AB_OUT/tests/ab_turns"
	chmod +x "$AB_OUT/tests/ab_turns"
}

# bench_KEY=VALUE words, which /init passes on as environment variables.
vm_append()
{
	local w out=()

	for w in $BENCH_ARGS; do
		out+=("bench_$w")
	done
	echo "${out[*]}"
}

main()
{
	local ver rc=0

	[[ -x $TOP/build/selftests/bench/vc_bench ]] ||
		{ echo "no build/selftests/bench/vc_bench (make selftests)" >&2; return 1; }
	ver=$(kernel_release)
	prepare "$ver"
	echo "# ab: $REF ($(git -C "$TOP" rev-parse --short "$REF")) against" \
		"the tree ($(git -C "$TOP" describe --always --dirty)), $ROUNDS rounds"
	VM_OUT=$AB_OUT VM_TESTS=$AB_OUT/tests VM_EXTRA=$AB_OUT/extra \
		VMM_TEST=0 VERBATIM_TEST=0 PACKAGE_CHECK=0 KERNELS=6.12 \
		TEST_TIMEOUT=$TEST_TIMEOUT VM_TIMEOUT=$VM_TIMEOUT \
		VM_APPEND="$(vm_append)" bash "$TOP/selftests/vm/run.sh" |
		tee "$AB_OUT/run.log" |
		awk '/^# ktstr-bench: json begin$/ { skip = 1 }
			!skip { print; fflush() }
			/^# ktstr-bench: json end$/ { skip = 0 }' || rc=$?
	perl "$HERE/ab-table.pl" "$AB_OUT/run.log"
	return "$rc"
}

main
