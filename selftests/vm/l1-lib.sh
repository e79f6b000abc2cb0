# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# l1-lib.sh: sourced (bash) by the scripts that boot a first-level VM on
# one of Debian's kernels or the debug kernel: selftests/vm/run.sh,
# run-l1.sh, run-verbatim.sh and selftests/bench/real-guest.sh.

L1_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# kvm_in_tree DIR VER: does the kernel tree DIR (release VER) have
# kvm_amd, as a module file or built in (the debug kernel's)?
kvm_in_tree()
{
	local m=$1/lib/modules/$2

	compgen -G "$m/kernel/arch/x86/kvm/kvm-amd.ko*" > /dev/null ||
		grep -qx 'kernel/arch/x86/kvm/kvm-amd.ko' "$m/modules.builtin" 2> /dev/null
}

# kernel_unpack VER DIR: linux-image-VER unpacked into DIR once.  The .deb
# has no modules.dep: depmod writes it last, so it marks a complete
# unpack.  A tree that lost its modules since (copies of build/ that
# leave *.ko behind) is unpacked again.  A tree that is complete is used
# as it is, whoever made it (selftests/vm/build-debug-kernel.sh's too).
kernel_unpack()
{
	local ver=$1 dir=$2

	[[ $dir != / ]] || { echo "kernel_unpack: not into /" >&2; return 1; }
	if [[ -f $dir/boot/vmlinuz-$ver && -f $dir/lib/modules/$ver/modules.dep ]] &&
	   kvm_in_tree "$dir" "$ver"; then
		echo "cached in $dir"
		return
	fi
	rm -rf "$dir" "$dir.deb"
	mkdir -p "$dir.deb"
	(cd "$dir.deb" && apt-get download "linux-image-$ver")
	dpkg -x "$dir.deb"/linux-image-*.deb "$dir"
	rm -rf "$dir.deb"
	depmod -b "$dir" "$ver"
}

# kmod_build VER SRC DEST [KBUILD]: ktstr_vconsole.ko built in DEST
# against the kernel build tree KBUILD (default the VER headers,
# /usr/src/linux-headers-VER), from a copy of SRC's module sources alone:
# objects a build against another kernel left next to them would
# otherwise be linked in.
kmod_build()
{
	local ver=$1 src=$2 dest=$3 kbuild=${4:-/usr/src/linux-headers-$1}

	rm -rf "$dest"
	mkdir -p "$dest"
	(cd "$src" && find Kbuild VERSION vconsole uapi -type f \
		\( -name Kbuild -o -name VERSION -o -name Makefile -o -name '*.[chS]' \) \
		-exec cp --parents -t "$dest" {} +)
	make -C "$kbuild" M="$dest" -j"$(nproc)" modules
	test -f "$dest/vconsole/ktstr_vconsole.ko"
}

# kmod_unpack SRC DEST: busybox insmod wants a plain ELF file.
kmod_unpack()
{
	case $1 in
	*.ko.xz) xz -dc "$1" > "$2" ;;
	*.ko.gz) gzip -dc "$1" > "$2" ;;
	*.ko) cp "$1" "$2" ;;
	*) echo "$1: unknown module format" >&2; return 1 ;;
	esac
}

# kmod_add KDIR VER DIR MODULE...: the modules of the kernel tree KDIR
# (release VER) and what they depend on, as DIR/NN-name.ko numbered in
# load order; none twice in one run of the script.  A module built into
# the kernel is nothing to copy: modprobe says "builtin NAME" for it
# (from KDIR's modules.builtin, which the debug kernel's tree has without
# any module); DIR is made all the same, empty.
declare -A kmod_copied
kmod_add()
{
	local kdir=$1 ver=$2 dir=$3 n deps m f name
	shift 3

	mkdir -p "$dir"
	n=$(find "$dir" -name '*.ko' | wc -l)
	for m in "$@"; do
		deps=$(modprobe -C /dev/null -d "$kdir" -S "$ver" --show-depends "$m")
		while read -r f; do
			[[ -z ${kmod_copied[$f]:-} ]] || continue
			kmod_copied[$f]=1
			n=$((n + 1))
			name=${f##*/}
			kmod_unpack "$f" "$(printf '%s/%02d-%s.ko' "$dir" $n "${name%%.ko*}")"
		done < <(awk '$1 == "insmod" { print $2 }' <<< "$deps")
	done
}

# l1_root ROOT INIT: a fresh busybox root in ROOT with INIT as /init, and
# the kernel log patterns and end-of-run checks it sources as
# /init-lib.sh.
l1_root()
{
	local a

	rm -rf "$1"
	mkdir -p "$1"/{bin,dev,proc,sys,tmp}
	cp /bin/busybox "$1/bin/"
	for a in $(/bin/busybox --list); do
		[[ $a == busybox ]] || ln -s busybox "$1/bin/$a"
	done
	cp "$2" "$1/init"
	chmod 755 "$1/init"
	cp "$L1_LIB_DIR/init-lib.sh" "$1/init-lib.sh"
}

# l1_pack ROOT FILE: ROOT as a gzip'd newc cpio archive.
l1_pack()
{
	(cd "$1" && find . | cpio -o -H newc -R 0:0 --quiet) | gzip -1 > "$2"
}

# l1_qemu SECONDS CPUS KERNEL INITRD APPEND [QEMU ARG...]: a first-level
# VM on the serial console, killed after SECONDS.  One emulation thread
# (DESIGN.md: multi-threaded TCG hung one boot in five once KVM was used);
# CPUS 1 whenever it runs a second-level Linux (with 2, L2 boots hung).
l1_qemu()
{
	local secs=$1 cpus=$2 kernel=$3 initrd=$4 append=$5
	shift 5

	timeout -k 10 "$secs" qemu-system-x86_64 \
		-accel tcg,thread=single -cpu max -smp "$cpus" -m 2G \
		-nodefaults -serial stdio -display none -no-reboot \
		-kernel "$kernel" -initrd "$initrd" -append "$append" "$@" \
		< /dev/null
}

# l1_kernel NAME: ver, kdir and ko from L1_VER, L1_KDIR and L1_KO, else
# the newest 6.12 headers' release, build/kernels/VER and
# OUT/kmod/vconsole/ktstr_vconsole.ko (l1_module builds it).
# shellcheck disable=SC2034 # ko is the caller's
l1_kernel()
{
	ver=${L1_VER:-$(headers_version 6.12)}
	[[ -n $ver ]] || { echo "$1: no linux-headers-6.12.*-amd64" >&2; exit 1; }
	kdir=${L1_KDIR:-$TOP/build/kernels/$ver}
	ko=${L1_KO:-$OUT/kmod/vconsole/ktstr_vconsole.ko}
}

# l1_module: the module of l1_kernel, unless L1_KO names one.
l1_module()
{
	[[ -n ${L1_KO:-} ]] || kmod_build "$ver" "$TOP" "$OUT/kmod"
}

# kill_tree SIGNAL PID: PID and every process below it (l1_qemu's subshell,
# timeout(1), QEMU).
kill_tree()
{
	local child

	for child in $(pgrep -P "$2" || true); do
		kill_tree "$1" "$child"
	done
	kill "-$1" "$2" 2> /dev/null || true
}

# l1_watchdog PID CONSOLE: stops the L1 under PID once CONSOLE has not
# grown for L1_STALL_S seconds (default 180).  The L1's init prints a
# heartbeat every 30 s (l1-init.sh, verbatim-init.sh); the nested-TCG
# stall (DESIGN.md) stops the whole L1 and would otherwise cost all of
# its timeout.  The longest silence seen goes to OUT/silence, the stop
# to OUT/stalled.
l1_watchdog()
{
	local size last=-1 since now longest=0

	echo 0 > "$OUT/silence"
	rm -f "$OUT/stalled"
	since=$(date +%s)
	while kill -0 "$1" 2> /dev/null; do
		sleep 5
		now=$(date +%s)
		size=$(stat -c %s "$2" 2> /dev/null || echo 0)
		if ((size != last)); then
			last=$size
			since=$now
			continue
		fi
		((now - since <= longest)) || longest=$((now - since))
		echo "$longest" > "$OUT/silence"
		((now - since >= ${L1_STALL_S:-180})) || continue
		: > "$OUT/stalled"
		kill_tree TERM "$1"
		sleep 10
		kill_tree KILL "$1"
		return
	done
}

# l1_watched CONSOLE COMMAND...: COMMAND (an L1's QEMU, in the caller's
# pipeline that copies its output to CONSOLE) under l1_watchdog.  Returns
# COMMAND's status, 125 when the watchdog stopped it.
l1_watched()
{
	local console=$1 pid st=0

	shift
	"$@" &
	pid=$!
	l1_watchdog "$pid" "$console" &
	wait "$pid" || st=$?
	wait
	[[ ! -e $OUT/stalled ]] || st=125
	return $st
}

# l1_stalled STATUS CONSOLE: was the L1 of that exit status (timeout(1)'s
# 124 or 137, l1_watched's 125) and console stopped for want of progress,
# without a word of its own?  One that printed an oops, a warning or any
# backtrace is never taken for the environment's stall.
l1_stalled()
{
	case $1 in
	124|125|137) ;;
	*) return 1 ;;
	esac
	# Whole words: "stall" alone is in every "Installing" line.
	! grep -qE 'Oops|BUG:|WARNING:|Call Trace|general protection|soft lockup|hard LOCKUP|rcu: INFO:|self-detected stall|detected stalls' \
		"$2"
}

# headers_version SERIES: the newest installed Debian headers of SERIES,
# e.g. 6.1 -> 6.1.0-56-amd64, 6.12 -> 6.12.117+deb12-amd64; not the -rt
# or -cloud flavours.
headers_version()
{
	local re="^${1//./\\.}\\.[0-9][^-]*(-[0-9]+)?-amd64\$" d

	for d in /usr/src/linux-headers-"$1".*-amd64; do
		echo "${d#/usr/src/linux-headers-}"
	done | { grep -E "$re" || true; } | sort -V | tail -n 1
}
