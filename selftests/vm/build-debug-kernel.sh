#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# build-debug-kernel.sh OUTDIR: the debug host kernel of selftests/vm/run.sh
# (KERNELS=debug; `make debug-kernel` builds it into build/debug-kernel):
# Debian's linux-source-6.12, `make tinyconfig` + debug-kernel.config
# (KASAN, lockdep, kmemleak, UBSAN and the other checkers; kvm and kvm_amd
# built in).  userspace-vmm/guest/build-kernel.sh does the work, as for
# the guest kernel, and caches it the same way: nothing is rebuilt unless
# the fragment, the build script or the source tarball changed.
#
# Result: OUTDIR/obj, a configured and built tree that out-of-tree modules
# build against (`make -C OUTDIR/obj M=DIR modules`), OUTDIR/root with
# boot/vmlinuz-REL and lib/modules/REL/ as an unpacked linux-image
# package has them, and the release REL in OUTDIR/release.  About 13
# minutes of CPU time (-j2 on two idle cores: about 7 minutes), a 9 MB
# bzImage.
#
# Environment: as build-kernel.sh's (LINUX_SRC_TARBALL, JOBS).

set -euo pipefail

if (($# != 1)); then
	echo "usage: $0 OUTDIR" >&2
	exit 2
fi

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)

KERNEL_CONFIG=$HERE/debug-kernel.config KERNEL_MODULES=1 \
	bash "$TOP/userspace-vmm/guest/build-kernel.sh" "$1"
