// SPDX-License-Identifier: GPL-2.0
/*
 * The host side of one slot during the hostile phase: a process of its
 * own (a VMM's death does not take its readers with it), with
 *
 *   reader0/1  visits to a port: blocking reads, O_NONBLOCK with poll,
 *              slow reads of a few bytes, absences, open-and-close
 *   writer0/1  blocking and O_NONBLOCK writes of random bytes (wake bytes
 *              among them), absences
 *   poller     poll(), FIONREAD, GET_DROPPED and unknown ioctls on the
 *              others' fds, which may be closed or reused meanwhile
 *   cycler     opens and closes every port node of the slot (and now and
 *              then another slot's) with any mode: EBUSY is the answer
 *
 * A blocking call may wait as long as it likes, but not through a signal:
 * the main thread sends SIGUSR1 to threads in such a call every few
 * seconds, and the supervisor counts one that is still in it 10 s after
 * the first signal as a hang.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "stress.h"

#define HH_BUF			65536u

enum hh_thread {
	HH_T_READ0,
	HH_T_READ1,
	HH_T_WRITE0,
	HH_T_WRITE1,
	HH_T_POLLER,
	HH_T_CYCLER,
	HH_NR_THREADS
};

static struct {
	unsigned int slot;
	int rfd[KTSTR_VC_NUM_PORTS];	/* atomic: the readers' fds, or -1 */
	int wfd[KTSTR_VC_NUM_PORTS];	/* atomic: the writers' fds, or -1 */
	__u32 stop;			/* atomic */
	pthread_t th[HH_NR_THREADS];
	struct sx_rng rng[HH_NR_THREADS];
} hh;

static bool hh_stopping(void)
{
	return __atomic_load_n(&hh.stop, __ATOMIC_ACQUIRE) || sx_stopping();
}

static void hh_nap(struct sx_rng *r, __u64 lo_ms, __u64 hi_ms)
{
	__u64 end = sx_now_ns() + sx_range(r, lo_ms, hi_ms) * SX_NS_PER_MS;

	while (sx_now_ns() < end && !hh_stopping())
		sx_sleep_us(10000);
}

static void hh_close(int fd)
{
	sx_begin(SX_K_PORT_OPEN, 0);
	sx_end(SX_K_PORT_OPEN, close(fd) ? errno : 0, 0);
}

static int hh_poll(int fd, short events, int ms)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	int ret;

	sx_begin(SX_K_PORT_POLL, SX_F_WAIT);
	ret = poll(&pfd, 1, ms);
	sx_end(SX_K_PORT_POLL, ret < 0 ? errno : 0, SX_F_WAIT);
	return ret > 0 ? pfd.revents : 0;
}

/* A read of up to len bytes: >0, 0 at EOF, -errno. */
static ssize_t hh_read(int fd, __u8 *buf, size_t len, bool wait)
{
	ssize_t n;
	int err;

	sx_begin(SX_K_PORT_READ, wait ? SX_F_WAIT : 0);
	n = read(fd, buf, len);
	err = sx_end(SX_K_PORT_READ, n < 0 ? errno : 0, wait ? SX_F_WAIT : 0);
	if (err)
		return -err;
	if (n > 0)
		sx_count(SX_C_HOST_READ, n);
	else
		sx_count(SX_C_EOFS, 1);
	return n;
}

enum hh_mode {
	HH_BLOCK,
	HH_NONBLOCK,
	HH_SLOW,
	HH_ABSENT,
	HH_FLASH,
};

static enum hh_mode hh_pick_mode(struct sx_rng *r)
{
	unsigned int pick = sx_below(r, 100);

	return pick < 30 ? HH_BLOCK : pick < 55 ? HH_NONBLOCK :
	       pick < 75 ? HH_SLOW : pick < 90 ? HH_ABSENT : HH_FLASH;
}

/* One visit of a reader: until EOF, the visit's end, or an error. */
static void hh_read_visit(struct sx_rng *r, int fd, enum hh_mode mode,
			  __u64 end, __u8 *buf)
{
	ssize_t n;

	while (sx_now_ns() < end && !hh_stopping()) {
		switch (mode) {
		case HH_BLOCK:
			n = hh_read(fd, buf, sx_range(r, 1, HH_BUF), true);
			break;
		case HH_NONBLOCK:
			hh_poll(fd, POLLIN, sx_below(r, 200));
			n = hh_read(fd, buf, sx_range(r, 1, HH_BUF), false);
			break;
		case HH_SLOW:
			n = hh_read(fd, buf, sx_range(r, 1, 64), false);
			hh_nap(r, 20, 300);
			break;
		default:
			return;
		}
		if (!n || (n < 0 && n != -EAGAIN && n != -EINTR))
			return;
	}
}

static void *hh_reader(void *arg)
{
	unsigned int port = (uintptr_t)arg;
	struct sx_rng *r = &hh.rng[HH_T_READ0 + port];
	__u8 *buf = malloc(HH_BUF);
	enum hh_mode mode;
	__u64 end;
	int fd;

	if (!buf)
		return NULL;
	while (!hh_stopping()) {
		sx_count(SX_C_ITERATIONS, 1);
		mode = hh_pick_mode(r);
		end = sx_now_ns() + sx_range(r, 200, 4000) * SX_NS_PER_MS;
		if (mode == HH_ABSENT) {
			hh_nap(r, 200, 3000);
			continue;
		}
		fd = sx_port_open(hh.slot, port, O_RDONLY |
				  (mode == HH_BLOCK ? 0 : O_NONBLOCK));
		if (fd < 0) {
			hh_nap(r, 5, 100);
			continue;
		}
		__atomic_store_n(&hh.rfd[port], fd, __ATOMIC_RELEASE);
		hh_read_visit(r, fd, mode, end, buf);
		__atomic_store_n(&hh.rfd[port], -1, __ATOMIC_RELEASE);
		hh_close(fd);
	}
	free(buf);
	return NULL;
}

static void hh_fill(struct sx_rng *r, __u8 *buf, size_t len)
{
	static const __u8 wake[] = {
		KTSTR_VC_WAKE_DUMP, KTSTR_VC_WAKE_SHUTDOWN,
		KTSTR_VC_WAKE_BPF_WRITE_DONE,
	};
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = sx_chance(r, 5) ? wake[sx_below(r, 3)] : 'A' + i % 26;
}

static void hh_write_visit(struct sx_rng *r, int fd, enum hh_mode mode,
			   __u64 end, __u8 *buf)
{
	size_t len;
	ssize_t n;
	int err;

	while (sx_now_ns() < end && !hh_stopping()) {
		len = sx_chance(r, 100) ? sx_range(r, 1, HH_BUF) :
		      sx_range(r, 1, 8192);
		hh_fill(r, buf, len < 256 ? len : 256);
		if (mode == HH_NONBLOCK)
			hh_poll(fd, POLLOUT, sx_below(r, 200));
		sx_begin(SX_K_PORT_WRITE, mode == HH_BLOCK ? SX_F_WAIT : 0);
		n = write(fd, buf, len);
		err = sx_end(SX_K_PORT_WRITE, n < 0 ? errno : 0,
			     mode == HH_BLOCK ? SX_F_WAIT : 0);
		if (n > 0)
			sx_count(SX_C_HOST_WRITTEN, n);
		else if (err != EAGAIN && err != EINTR)
			return;
		if (mode == HH_SLOW || sx_chance(r, 300))
			hh_nap(r, 0, 50);
	}
}

static void *hh_writer(void *arg)
{
	unsigned int port = (uintptr_t)arg;
	struct sx_rng *r = &hh.rng[HH_T_WRITE0 + port];
	__u8 *buf = malloc(HH_BUF);
	enum hh_mode mode;
	__u64 end;
	int fd;

	if (!buf)
		return NULL;
	hh_fill(r, buf, HH_BUF);
	while (!hh_stopping()) {
		sx_count(SX_C_ITERATIONS, 1);
		mode = hh_pick_mode(r);
		end = sx_now_ns() + sx_range(r, 200, 4000) * SX_NS_PER_MS;
		if (mode == HH_ABSENT || mode == HH_FLASH) {
			hh_nap(r, 100, 2000);
			continue;
		}
		fd = sx_port_open(hh.slot, port, O_WRONLY |
				  (mode == HH_BLOCK ? 0 : O_NONBLOCK));
		if (fd < 0) {
			hh_nap(r, 5, 100);
			continue;
		}
		__atomic_store_n(&hh.wfd[port], fd, __ATOMIC_RELEASE);
		hh_write_visit(r, fd, mode, end, buf);
		__atomic_store_n(&hh.wfd[port], -1, __ATOMIC_RELEASE);
		hh_close(fd);
	}
	free(buf);
	return NULL;
}

/* The others' fds, which they may close (or reuse) under us. */
static void hh_poke(struct sx_rng *r)
{
	unsigned int port = sx_below(r, KTSTR_VC_NUM_PORTS);
	int fd = __atomic_load_n(sx_chance(r, 500) ? &hh.rfd[port] :
				 &hh.wfd[port], __ATOMIC_ACQUIRE);
	unsigned long cmd;
	__u64 dropped;
	int n;

	if (fd < 0)
		return;
	switch (sx_below(r, 6)) {
	case 0:
	case 1:
		hh_poll(fd, POLLIN | POLLOUT, sx_below(r, 300));
		break;
	case 2:
		sx_ioctl(SX_K_PORT_IOCTL, fd, FIONREAD, &n, 0);
		break;
	case 3:
		sx_ioctl(SX_K_PORT_IOCTL, fd, KTSTR_VC_PORT_GET_DROPPED,
			 &dropped, 0);
		break;
	case 4:
		cmd = _IOC(sx_below(r, 4), KTSTR_VC_IOC_MAGIC,
			   sx_range(r, 0x21, 0xff), sx_below(r, 64));
		sx_ioctl(SX_K_PORT_IOCTL, fd, cmd, &dropped, SX_F_MUST_FAIL);
		break;
	default:
		sx_ioctl(SX_K_PORT_IOCTL, fd, KTSTR_VC_PORT_GET_DROPPED,
			 NULL, SX_F_MUST_FAIL);
		break;
	}
}

static void *hh_poller(void *arg)
{
	struct sx_rng *r = arg;

	while (!hh_stopping()) {
		sx_count(SX_C_ITERATIONS, 1);
		hh_poke(r);
		hh_nap(r, 0, 100);
	}
	return NULL;
}

static void *hh_cycler(void *arg)
{
	static const int modes[] = { O_RDONLY, O_WRONLY, O_RDWR };
	struct sx_rng *r = arg;
	unsigned int slot, port;
	int fd, n;

	while (!hh_stopping()) {
		sx_count(SX_C_ITERATIONS, 1);
		slot = sx_chance(r, 100) ? sx_below(r, sx->nr_slots) : hh.slot;
		port = sx_below(r, KTSTR_VC_NUM_PORTS);
		fd = sx_port_open(slot, port, modes[sx_below(r, 3)] |
				  (sx_chance(r, 500) ? O_NONBLOCK : 0));
		if (fd >= 0) {
			if (sx_chance(r, 300))
				hh_poll(fd, POLLIN | POLLOUT, sx_below(r, 20));
			if (sx_chance(r, 300))
				sx_ioctl(SX_K_PORT_IOCTL, fd, FIONREAD, &n, 0);
			hh_close(fd);
		}
		hh_nap(r, 5, 200);
	}
	return NULL;
}

static const struct {
	void *(*main)(void *arg);
	enum sx_role role;
	const char *name;
} hh_threads[HH_NR_THREADS] = {
	[HH_T_READ0] = { hh_reader, SX_R_READ0, "reader0" },
	[HH_T_READ1] = { hh_reader, SX_R_READ1, "reader1" },
	[HH_T_WRITE0] = { hh_writer, SX_R_WRITE0, "writer0" },
	[HH_T_WRITE1] = { hh_writer, SX_R_WRITE1, "writer1" },
	[HH_T_POLLER] = { hh_poller, SX_R_POLLER, "poller" },
	[HH_T_CYCLER] = { hh_cycler, SX_R_CYCLER, "cycler" },
};

static void *hh_thread(void *arg)
{
	unsigned int t = (uintptr_t)arg;
	void *targ;

	sx_hb_claim(hh.slot, hh_threads[t].role, hh_threads[t].name);
	if (t == HH_T_READ1 || t == HH_T_WRITE1)
		targ = (void *)(uintptr_t)1;
	else if (t == HH_T_READ0 || t == HH_T_WRITE0)
		targ = (void *)(uintptr_t)0;
	else
		targ = &hh.rng[t];
	return hh_threads[t].main(targ);
}

/*
 * Interrupt the threads in a waiting call now and then; note the first
 * signal of each call, from which the supervisor's 10 s run.
 */
static void hh_interrupt(struct sx_rng *r, unsigned int n, const bool *gone)
{
	struct sx_hb *hb;
	unsigned int t;
	bool waiting;

	for (t = 0; t < n; t++) {
		if (gone && gone[t])
			continue;
		hb = &sx->hb[hh.slot * SX_HB_PER_SLOT + hh_threads[t].role];
		waiting = __atomic_load_n(&hb->start_ns, __ATOMIC_ACQUIRE) &&
			  !hb->quick;
		if (!gone && (!waiting || !sx_chance(r, 30)))
			continue;
		if (waiting && !__atomic_load_n(&hb->sig_ns, __ATOMIC_RELAXED))
			__atomic_store_n(&hb->sig_ns, sx_now_ns(),
					 __ATOMIC_RELEASE);
		pthread_kill(hh.th[t], SIGUSR1);
	}
}

void sx_hostile_host(unsigned int slot, unsigned int inc)
{
	__u64 end;
	unsigned int t, n, left;
	bool joined[HH_NR_THREADS] = { false };
	struct sx_rng r;

	sx_child_init(slot, SX_R_HOST_MAIN, "host");
	hh.slot = slot;
	sx_rng_init(&r, SX_STREAM(1, slot, inc, 0x8000));
	for (t = 0; t < KTSTR_VC_NUM_PORTS; t++) {
		hh.rfd[t] = -1;
		hh.wfd[t] = -1;
	}
	for (n = 0; n < HH_NR_THREADS; n++) {
		sx_rng_init(&hh.rng[n], SX_STREAM(1, slot, inc, 0x8001 + n));
		if (pthread_create(&hh.th[n], NULL, hh_thread,
				   (void *)(uintptr_t)n))
			break;
	}
	while (!sx_stopping()) {
		hh_interrupt(&r, n, NULL);
		sx_sleep_us(30000);
	}
	__atomic_store_n(&hh.stop, 1, __ATOMIC_RELEASE);
	end = sx_now_ns() + 10 * SX_NS_PER_SEC;
	left = n;
	while (left && sx_now_ns() < end) {
		hh_interrupt(&r, n, joined);
		for (t = 0; t < n; t++)
			if (!joined[t] && !pthread_tryjoin_np(hh.th[t], NULL)) {
				joined[t] = true;
				left--;
			}
		sx_sleep_us(20000);
	}
	if (left) {
		sx_err("host threads did not stop within 10 s of being told");
		_exit(5);
	}
	_exit(0);
}
