#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Replays the experiment of README.md's "What catches each finding of
# issue 8": the stress test against the module with one fix reverted.
#
#	bash selftests/stress/mutants/run.sh MUTANT|none [KERNEL [SEED [SECS]]]
#
# MUTANT is a patch here (NN-name.patch, or just NN), none the module as
# it is; KERNEL is one of selftests/vm/run.sh's KERNELS (6.12 by default;
# debug wants DEBUG_KERNEL or build/debug-kernel); SEED defaults to 1,
# SECS to 60.  The module's sources (Kbuild, VERSION, vconsole/, uapi/)
# are copied into build/mutants/<MUTANT>/src, the patch applied there, and
# run.sh boots one VM with vc_stress alone (built from this tree), its
# output under build/mutants/<MUTANT>/<KERNEL>/.  Exit status: run.sh's
# (0: the stress test passed, so the mutant was not caught).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$HERE/../../.." && pwd)
MUTANT=${1:?usage: run.sh MUTANT|none [KERNEL [SEED [SECS]]]}
KERNEL=${2:-6.12}
SEED=${3:-1}
SECS=${4:-60}

patch=
if [[ $MUTANT != none ]]; then
	for p in "$HERE/$MUTANT"*.patch; do
		[[ -e $p ]] && { patch=$p; break; }
	done
	[[ -n $patch ]] || { echo "no mutant $MUTANT in $HERE" >&2; exit 2; }
	MUTANT=$(basename "$patch" .patch)
fi
out=$TOP/build/mutants/$MUTANT
rm -rf "$out/src"
mkdir -p "$out/src"
cp -r "$TOP/Kbuild" "$TOP/VERSION" "$TOP/vconsole" "$TOP/uapi" "$out/src/"
[[ -z $patch ]] || patch -d "$out/src" -p1 --no-backup-if-mismatch < "$patch"
make -s -C "$TOP/selftests/stress" OUTPUT="$out/tests"

# As the top Makefile's stress target sets them.
VM_SRC=$out/src VM_TESTS=$out/tests VM_OUT=$out \
VMM_TEST=0 PACKAGE_CHECK=0 KERNELS=$KERNEL \
TEST_TIMEOUT=$((SECS + 260)) VM_TIMEOUT=$((SECS + 330)) \
DEBUG_VM_TIMEOUT=$((SECS + 600)) \
VM_APPEND="STRESS_SECS=$SECS SEED=$SEED${STRESS_APPEND:+ $STRESS_APPEND}" \
	bash "$TOP/selftests/vm/run.sh"
