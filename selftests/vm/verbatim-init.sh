#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The init of run-verbatim.sh's first-level VM, in the overlay of this
# machine's root (verbatim-stage1.sh): a Debian host as a new user finds
# it.  It mounts what systemd would, starts systemd-udevd with Debian's
# rules (which load kvm_amd for the CPU and give /dev/kvm to group kvm),
# makes the user ktstr (group kvm, sudo without a password, as the
# README asks), copies the clean tree into their home and runs the
# README's quick start there as they would type it, under setsid so that
# a hang kills all of it.  Then the checks: the module loaded, the exit
# status (the guest's EXIT code), the console, the decoded frames, the
# modes udev gave the nodes (the shipped rule's), and the end of every
# VM test (rmmod, slab, kmemleak: init-lib.sh).
#
# From the kernel command line: verbatim_lib (init-lib.sh), verbatim_kdir
# (/, or the unpacked linux-image whose modules to use), qs_timeout,
# progress_s.  The first stage left the tree and the quick start in /l1.

PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH
USER_NAME=ktstr
HOME_DIR=/home/$USER_NAME
TREE=$HOME_DIR/ktstr-vconsole
QS_TIMEOUT=${qs_timeout:-1800}
PROGRESS_S=${progress_s:-300}
L1=/l1
KDIR_TREE=${verbatim_kdir:-/}
KVM_GID=$(getent group kvm | cut -d: -f3)

say()
{
	echo "vmm-test: $*"
}

check()
{
	local name=$1

	shift
	if "$@"; then
		say "ok - $name"
	else
		say "not ok - $name"
	fi
}

now_ms()
{
	local up

	read -r up _ < /proc/uptime
	echo "${up%.*}${up#*.}0"
}

# shellcheck source-path=SCRIPTDIR source=init-lib.sh
. "${verbatim_lib:?}"
# shellcheck source-path=SCRIPTDIR source=quickstart-checks.sh
. "$L1/quickstart-checks.sh"

mount_system()
{
	mount -t proc proc /proc
	mount -t sysfs sysfs /sys
	mount -t devtmpfs devtmpfs /dev
	mkdir -p /dev/pts /dev/shm
	mount -t devpts devpts /dev/pts
	mount -t tmpfs tmpfs /run
	mount -t tmpfs tmpfs /tmp
	mount -t debugfs debugfs /sys/kernel/debug 2> /dev/null || true
	hostname localhost
}

# The booted kernel's modules, when this machine has not installed its
# image: the unpacked one's, under the overlay (make modules_install and
# depmod write there).
kernel_modules()
{
	local mods

	[[ $KDIR_TREE == / ]] && return
	mods=/lib/modules/$(uname -r)
	mkdir -p "$mods"
	cp -a "$KDIR_TREE$mods/." "$mods/"
}

start_udev()
{
	/lib/systemd/systemd-udevd --daemon
	udevadm trigger --type=subsystems --action=add
	udevadm trigger --type=devices --action=add
	udevadm settle --timeout=120
	check "verbatim: udev loaded kvm_amd" [ -d /sys/module/kvm_amd ]
	check "verbatim: /dev/kvm group kvm, 0660 (Debian's rule)" \
		[ "$(stat -c '%a %g' /dev/kvm 2> /dev/null)" = "660 $KVM_GID" ]
}

make_user()
{
	useradd -m -s /bin/bash -G kvm "$USER_NAME"
	echo "$USER_NAME ALL=(ALL:ALL) NOPASSWD: ALL" > /etc/sudoers.d/$USER_NAME
	chmod 440 /etc/sudoers.d/$USER_NAME
	cp -a "$L1/tree" "$TREE"
	cp "$L1/quickstart.sh" "$HOME_DIR/quickstart.sh"
	chown -R "$USER_NAME:$USER_NAME" "$HOME_DIR"
	say "# verbatim: the README's quick start, as $USER_NAME ($(id "$USER_NAME")):"
	sed -e 's/^\([^ ]\)/$ \1/' -e 's/^ /   /' -e 's/^/vmm-test: # verbatim: /' \
		"$HOME_DIR/quickstart.sh"
}

# Where the quick start is: its processes, and ktstr-vmm's threads'
# kernel stacks (every PROGRESS_S, and when it outlives its bound).
show_progress()
{
	local p t

	ps -o pid,ppid,stat,wchan:32,etimes,args -s "$1" |
		sed 's/^/vmm-test: # ps: /'
	for p in $(pgrep -s "$1" -x ktstr-vmm); do
		for t in /proc/"$p"/task/*; do
			say "# stack of ${t##*/} ($(cat "$t/comm" 2> /dev/null)):"
			sed 's/^/vmm-test: #   /' "$t/stack" 2> /dev/null
		done
	done
}

# The lines as a shell script of the user's, stdin /dev/null (ktstr-vmm
# then sends port 0 nothing), in a session of its own.
run_quickstart()
{
	local pid start deadline next

	start=$(now_ms)
	deadline=$((start + QS_TIMEOUT * 1000))
	setsid setpriv --reuid="$USER_NAME" --regid="$USER_NAME" --init-groups \
		env -i HOME="$HOME_DIR" USER="$USER_NAME" LOGNAME="$USER_NAME" \
		SHELL=/bin/bash PATH=/usr/local/bin:/usr/bin:/bin \
		bash -e -c "cd $TREE && . $HOME_DIR/quickstart.sh" \
		< /dev/null > /tmp/qs.out 2> /tmp/qs.err &
	pid=$!
	next=$((start + PROGRESS_S * 1000))
	while kill -0 "$pid" 2> /dev/null && (($(now_ms) < deadline)); do
		sleep 1
		(($(now_ms) < next)) && continue
		say "# verbatim: $(($(now_ms) - start)) ms in:"
		show_progress "$pid"
		next=$((next + PROGRESS_S * 1000))
	done
	if kill -0 "$pid" 2> /dev/null; then
		say "# verbatim: still running after $QS_TIMEOUT s:"
		show_progress "$pid"
		tail -n 20 /tmp/qs.out | sed 's/^/vmm-test: # verbatim: stdout: /'
		kill -KILL -- -"$pid"
	fi
	wait "$pid"
	qs_status=$?
	say "# verbatim: exit status $qs_status after $(($(now_ms) - start)) ms"
	tail -n 60 /tmp/qs.err | sed 's/^/vmm-test: # verbatim: stderr: /'
}

check_results()
{
	# What modprobe loads: make modules_install's, in updates/.
	check "verbatim: the module installed for $(uname -r)" \
		[ "$(modinfo -n ktstr_vconsole | sed 's|/updates/.*|/updates|')" = \
		  "/lib/modules/$(uname -r)/updates" ]
	quickstart_checks verbatim "$qs_status" /tmp/qs.out /tmp/qs.err
	dmesg > /tmp/klog
	check "verbatim: kernel log clean" sh -c "! grep -qE '$KLOG_BAD' /tmp/klog"
}

# heartbeat: a console line every 30 s for as long as the L1 runs, the
# sign of life run-verbatim.sh's watchdog waits for (l1-init.sh's too).
heartbeat()
{
	while sleep 30; do
		echo "l1: up $(cut -d ' ' -f 1 /proc/uptime) s"
	done
}

main()
{
	mount_system
	heartbeat &
	kernel_modules
	start_udev
	khugepaged_nice0
	make_user
	kmemleak_start
	slab_mark
	run_quickstart
	check_results
	end_checks
	say "end"
}

main
echo o > /proc/sysrq-trigger
sleep 10
