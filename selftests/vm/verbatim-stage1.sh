#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# /init of run-verbatim.sh's first-level VM (busybox sh): the host's root,
# exported read-only by QEMU as the 9p tag hostroot, under a tmpfs overlay
# as the new root, with this initramfs's /l1 (the second stage, the
# tree, the quick start) in its upper layer; then the second stage,
# verbatim-init.sh ($verbatim_init), as its init.  Kernel command line
# parameters reach both stages as environment variables.

PATH=/bin
INIT=${verbatim_init:-}

fail()
{
	echo "vmm-test: not ok - verbatim: $*"
	echo "vmm-test: end"
	poweroff -f
}

mount -t proc none /proc
mount -t sysfs none /sys
mount -t devtmpfs none /dev
for m in /l1/modules/*.ko; do
	insmod "$m" || fail "insmod $m"
done
mkdir -p /lower /upper /newroot
mount -t 9p -o ro,trans=virtio,version=9p2000.L,msize=262144,cache=loose \
	hostroot /lower || fail "the host's root over 9p"
mount -t tmpfs -o size=1536m none /upper
mkdir -p /upper/rw /upper/work
cp -a /l1 /upper/rw/l1 || fail "/l1 into the overlay"
mount -t overlay -o lowerdir=/lower,upperdir=/upper/rw,workdir=/upper/work \
	overlay /newroot || fail "the overlay"
[ -x "/newroot${INIT:-/nonexistent}" ] || fail "no verbatim_init '$INIT' in the host's root"
umount /proc /sys /dev
exec switch_root /newroot /bin/bash "$INIT"
