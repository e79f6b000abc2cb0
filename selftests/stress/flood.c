// SPDX-License-Identifier: GPL-2.0
/*
 * The integrity phase's flooder: while the integrity guests run on their
 * slots, an instance on a slot of its own has guest actions rejected
 * without pause, as a hostile guest would, so that a rate limit of log
 * lines shared by all instances would be spent all the time.  The
 * module's limit is per instance (one guest's flood must not silence
 * another slot's lines), and each integrity guest checks that its own
 * rejection reaches the kernel log (integrity.c, ig_klog_check()).
 *
 * The flooder is a child process like a guest: it shows its calls in a
 * heartbeat record and ends by SIGKILL when the integrity phase ends.
 */
#include <errno.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/virtio_mmio.h>

#include "stress.h"

/* Between DEVICE_FEATURES_SEL (0x014) and DRIVER_FEATURES (0x020). */
#define FL_UNKNOWN_REG		0x018
#define FL_BURST		8
#define FL_PAUSE_US		2000
#define FL_ATTACH_NS		(5 * SX_NS_PER_SEC)

static pid_t fl_pid;

static int fl_attach(int fd, unsigned int slot)
{
	struct ktstr_vc_attach arg = { .slot = slot };
	__u64 end = sx_now_ns() + FL_ATTACH_NS;
	int err;

	do {
		err = sx_ioctl(SX_K_ATTACH, fd, KTSTR_VC_ATTACH, &arg, 0);
		if (err != EBUSY)
			break;
		sx_sleep_us(10000);
	} while (sx_now_ns() < end);
	return err;
}

static int fl_main(unsigned int slot)
{
	unsigned int i;
	__u32 val;
	int fd, err;

	fd = sx_ctrl_open();
	if (fd < 0)
		return 2;
	err = fl_attach(fd, slot);
	if (err) {
		sx_err("flooder: ATTACH of slot %u: %s", slot, sx_errno_name(err));
		return 2;
	}
	sx_count(SX_C_ATTACHES, 1);
	for (;;) {
		for (i = 0; i < FL_BURST; i++)
			sx_r32(fd, FL_UNKNOWN_REG, &val);
		sx_count(SX_C_FLOODS, FL_BURST);
		sx_sleep_us(FL_PAUSE_US);
	}
}

void sx_flood_start(unsigned int slot)
{
	fflush(stdout);
	fl_pid = fork();
	if (!fl_pid) {
		sx_child_init(slot, SX_R_IGUEST, "iflood");
		_exit(fl_main(slot));
	}
	if (fl_pid < 0) {
		sx_err("flooder: fork: %s", sx_errno_name(errno));
		fl_pid = 0;
		return;
	}
	setpgid(fl_pid, fl_pid);
	sx_children_add(fl_pid);
	sx_info("integrity: slot %u floods the log with rejections", slot);
}

/* Its only end is SIGKILL; any other means it failed to attach. */
void sx_flood_stop(void)
{
	__u64 end = sx_now_ns() + SX_EXIT_NS;
	int status = 0;
	pid_t r;

	if (!fl_pid)
		return;
	sx_kill_child(fl_pid);
	while (!(r = waitpid(fl_pid, &status, WNOHANG)) && sx_now_ns() < end)
		sx_sleep_us(5000);
	if (!r) {
		sx_count(SX_C_HANGS, 1);
		sx_err("flooder (pid %d) not gone %llu s after SIGKILL", fl_pid,
		       SX_EXIT_NS / SX_NS_PER_SEC);
		sx_dump_stacks(fl_pid, 0);
		return;
	}
	if (r == fl_pid && !(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL))
		sx_err("flooder: ended with %s %d", WIFSIGNALED(status) ?
		       "signal" : "exit status", WIFSIGNALED(status) ?
		       WTERMSIG(status) : WEXITSTATUS(status));
	sx_children_del(fl_pid);
	fl_pid = 0;
}
