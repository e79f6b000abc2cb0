#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# real-guest.sh [ROWS.json]: the real-guest rows of the benchmark (issue
# parts 3 and 4), ktstr-vmm on the module against QEMU's virtio-serial,
# both running the same L2 kernel (build/guest/bzImage) and /init
# (ktstr-guest-init, modes bench and echo).  Boots one L1 VM (Debian's
# 6.12 kernel in QEMU TCG, -smp 1 as it runs L2 guests, the host's root
# shared read-only for QEMU) whose /init is l1-bench-init.sh, and turns
# its result lines into rows in results.pl's format, written to ROWS.json
# (default $OUT/rows.json).  run-bench.sh calls it with BENCH_REAL=1.
#
# Needs: build/guest/bzImage, `make -C userspace-vmm`, `make -C
# selftests/bench` (rg_host), /usr/src/linux-headers-6.12.*-amd64, and
# the matching linux-image unpacked in build/kernels/VER (`make check`
# leaves it there; else apt-get download fetches it).
#
# Environment: L1_VER, L1_KDIR, L1_KO as run-l1.sh's; OUT (default
# build/bench/real-guest); L1_TIMEOUT (default 1200 s); REPS (5);
# BENCH_MIB (64, the 64 KiB writes); BENCH4K_MIB (256, the 4 KiB writes
# from 2 threads); ECHO_N (200); L2_CPUS (2); L2_TIMEOUT (300 s
# per L2 boot); RG_VMMS ("ours qemu");
# RG_CASES ("tx64 tx4k echo echo2"); RG_APPEND (more L1 command line,
# e.g. "tx_poll_us=0" or "rg_perf=tx4k", see l1-bench-init.sh).  Exit
# status 0 iff rows came out.

set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
OUT=${OUT:-$TOP/build/bench/real-guest}
PROGS=$TOP/build/userspace-vmm
L1_TIMEOUT=${L1_TIMEOUT:-1200}
REPS=${REPS:-5}
BENCH_MIB=${BENCH_MIB:-64}
BENCH4K_MIB=${BENCH4K_MIB:-256}
ECHO_N=${ECHO_N:-200}
L2_CPUS=${L2_CPUS:-2}
L2_TIMEOUT=${L2_TIMEOUT:-300}
PATH=$PATH:/usr/sbin:/sbin
ROWS=${1:-$OUT/rows.json}

# shellcheck source-path=SCRIPTDIR source=../vm/l1-lib.sh
source "$TOP/selftests/vm/l1-lib.sh"
l1_kernel real-guest

make_initramfs()
{
	local root=$OUT/initramfs deps=()

	l1_root "$root" "$HERE/l1-bench-init.sh"
	kmod_add "$kdir" "$ver" "$root/l1/modules" kvm_amd 9pnet_virtio 9p
	IFS=, read -ra deps <<< "$(modinfo -F depends "$ko")"
	kmod_add "$kdir" "$ver" "$root/l1/modules" "${deps[@]}"
	cp "$ko" "$root/l1/modules/99-ktstr_vconsole.ko"
	cp "$PROGS/ktstr-vmm" "$TOP/build/selftests/bench/host/rg_host" \
		"$TOP/build/guest/bzImage" "$root/l1/"
	cp "$OUT/initramfs-l2.cpio.gz" "$root/l1/initramfs.cpio.gz"
	l1_pack "$root" "$OUT/initramfs-l1.cpio.gz"
}

# rows: the result lines of $OUT/result.log as rows.
rows()
{
	perl -e '
use strict;
use warnings;
use JSON::PP;

my ($kernel, $mib, $mib4k, $echo_n, $cpus, $poll) = @ARGV;
my (%s, @rows);

sub stats {
	my @v = sort { $a <=> $b } map { $_ + 0 } grep { defined && /^[\d.]+$/ } @_;

	return () unless @v;
	my $mid = @v % 2 ? $v[$#v / 2] : ($v[@v / 2 - 1] + $v[@v / 2]) / 2;
	return ($v[0], $mid, $v[-1], scalar @v);
}

while (<STDIN>) {
	my @f = split;

	if ($f[0] =~ /^tx/) {
		push @{$s{"$f[0]_guest"}{$f[1]}}, $f[3];
		push @{$s{"$f[0]_host"}{$f[1]}}, $f[4];
	} elsif ($f[0] =~ /^echo/) {
		push @{$s{"$f[0]_median"}{$f[1]}}, $f[3];
		push @{$s{"$f[0]_p99"}{$f[1]}}, $f[4];
	}
}

my @def = (
	[ "tx64_host", "real_tx_64k", 3, "MB/s", "higher",
	  "real guest TX, $mib MiB in 64 KiB writes, 1 thread, $cpus vCPUs, at the host reader" ],
	[ "tx64_guest", "real_tx_64k_guest", 3, "MB/s", "higher",
	  "the same, timed by the guest writer" ],
	[ "tx4k_host", "real_tx_4k", 3, "MB/s", "higher",
	  "real guest TX, $mib4k MiB in 4 KiB writes, 2 threads, $cpus vCPUs, at the host reader" ],
	[ "tx4k_guest", "real_tx_4k_guest", 3, "MB/s", "higher",
	  "the same, timed by the guest writers" ],
	[ "echo_median", "real_rtt", 4, "us", "lower",
	  "real guest port-0 1-byte round trip, 1 vCPU, median of $echo_n (spread: over boots)" ],
	[ "echo_p99", "real_rtt_p99", 4, "us", "lower",
	  "the same, p99 of $echo_n" ],
	[ "echo2_median", "real_rtt_${cpus}cpu", 4, "us", "lower",
	  "real guest port-0 1-byte round trip, $cpus vCPUs, median of $echo_n" ],
	[ "echo2_p99", "real_rtt_${cpus}cpu_p99", 4, "us", "lower",
	  "the same, p99 of $echo_n" ],
);
for my $d (@def) {
	my ($key, $id, $part, $unit, $better, $what) = @$d;
	my @o = stats(@{$s{$key}{ours} // []});
	my @q = stats(@{$s{$key}{qemu} // []});
	my %r = (id => $id, part => $part, kernel => $kernel, unit => $unit,
		 better => $better, what => $what,
		 baseline_name => "QEMU microvm virtio-serial, same L1, L2 kernel and /init",
		 note => "L1: TCG, 1 CPU; L2: nested KVM; ours: ktstr-vmm + module, tx_poll_us $poll");

	next unless @o || @q;
	@r{qw(min median max samples)} = @o if @o;
	$r{figure} = $o[1] if @o;
	@r{qw(base_min base_median base_max)} = @q[0 .. 2] if @q;
	$r{baseline} = $q[1] if @q;
	$r{ratio} = $o[1] / $q[1] if @o && @q && $q[1] > 0;
	push @rows, \%r;
}
print JSON::PP->new->canonical->pretty->encode(\@rows);
exit(@rows ? 0 : 1);
' "$ver (L1), build/guest/bzImage (L2)" "$BENCH_MIB" "$BENCH4K_MIB" \
	"$ECHO_N" "$L2_CPUS" \
	"$(sed -n 's/^# tx_poll_us \([0-9]*\).*/\1/p' "$OUT/result.log")"
}

main()
{
	local append t0

	t0=$(date +%s)
	mkdir -p "$OUT"
	kernel_unpack "$ver" "$kdir"
	l1_module
	bash "$TOP/userspace-vmm/guest/build-initramfs.sh" "$OUT/initramfs-l2.cpio.gz"
	make_initramfs
	append="console=ttyS0 panic=-1 ${RG_APPEND:+$RG_APPEND }reps=$REPS bench_mib=$BENCH_MIB"
	append+=" bench4k_mib=$BENCH4K_MIB echo_n=$ECHO_N l2_cpus=$L2_CPUS"
	append+=" l2_timeout=$L2_TIMEOUT"
	append+="${RG_VMMS:+ vmms=\"$RG_VMMS\"}${RG_CASES:+ rg_cases=\"$RG_CASES\"}"
	l1_qemu "$L1_TIMEOUT" 1 "$kdir/boot/vmlinuz-$ver" \
		"$OUT/initramfs-l1.cpio.gz" "$append" \
		-virtfs local,path=/,mount_tag=root,security_model=none,readonly=on,multidevs=remap \
		2>&1 | sed -u 's/\r$//' | tee "$OUT/console.log" |
		sed -u -n 's/^\(\[[^]]*\] \)\?rg: //p' | tee "$OUT/result.log" || true
	echo "# real-guest: L1 run took $(($(date +%s) - t0)) s"
	grep -q '^end$' "$OUT/result.log" ||
		echo "real-guest: the L1 run did not finish" >&2
	mkdir -p "$(dirname "$ROWS")"
	grep -v '^#' "$OUT/result.log" | rows > "$ROWS.tmp" || {
		echo "real-guest: no rows" >&2
		rm -f "$ROWS.tmp"
		return 1
	}
	mv "$ROWS.tmp" "$ROWS"
	echo "# real-guest: rows in $ROWS"
}

main
