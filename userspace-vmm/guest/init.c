// SPDX-License-Identifier: GPL-2.0
/*
 * /init of the ktstr-vmm guest initramfs: exercises both ports of the
 * ktstr_vconsole device through the guest's own virtio_console driver.
 *
 * Console text goes to /dev/hvc0 (port 0), lines starting "ktstr guest: ";
 * TLV frames (16-byte little-endian header: type, length, CRC-32 of the
 * payload, 0) go to /dev/vport0p1 (port 1, "ktstr-bulk").  The mode comes
 * from the kernel command line (/proc/cmdline):
 *
 * ktstr.mode=check (default)
 *	SRDY; LIFE 1 "init"; the port names in /sys/class/virtio-ports must
 *	be ktstr-console and ktstr-bulk (console text and a SOUT frame);
 *	SNRQ {id 1, kind 1, "ktstr-guest-init"}, then the SNRP reply the
 *	host writes to its /dev/ktstr-port1 is awaited on /dev/vport0p1
 *	(ktstr.reply_timeout seconds, default 30) and must carry id 1;
 *	EXIT 0 if every check passed, else 1.
 * ktstr.mode=flood
 *	SRDY; LIFE 1 "flood"; one thread per online CPU, pinned to it, writes
 *	its share of ktstr.flood_mib MiB (default 8) as PRAW frames of up to
 *	ktstr.frame_size payload bytes (default 4096, at most 32752 so that
 *	a frame is one write() and so one buffer): u32 cpu, u32 sequence
 *	number, then bytes (cpu * 31 + seq + i) & 0xff for i from 8; a SOUT
 *	with the totals; EXIT 0.
 * ktstr.mode=reboot
 *	SRDY; LIFE 1 "reboot"; EXIT 0; reboot(RB_AUTOBOOT) at once: the frames
 *	are still in the TX ring, or are drained by the device reset, when
 *	the VMM ends the session.
 * ktstr.mode=bench
 *	SRDY; ktstr.bench_threads threads (default 1), thread i pinned to CPU
 *	i modulo the online CPUs, write their share of ktstr.bench_mib MiB
 *	(default 64) to /dev/vport0p1 as raw bytes (no frames) in writes of
 *	ktstr.bench_bs bytes (default 65536), like dd; the time from the
 *	first write to the last one's return and the MB/s (10^6 bytes a
 *	second) on hvc0 ("bench: ...") and as a SOUT frame; EXIT 0.
 * ktstr.mode=echo
 *	SRDY; "echo: ready" on hvc0, then ktstr.echo_n times (default 200):
 *	one byte read from /dev/hvc0 is written back to it at once (a 0xd3
 *	ends the loop early); EXIT 0.
 *
 * After EXIT (check, flood, bench and echo), LIFE 2 "waiting for wake
 * byte" and the wake byte 0xd3 is awaited on /dev/hvc0
 * (ktstr.wake_timeout seconds, default 120; 0xd1 and 0xbf are reported
 * and ignored); then LIFE 3 "power off" and reboot(RB_POWER_OFF), which
 * without ACPI halts every CPU: ktstr-vmm takes that as the power off.
 * Bench and echo reboot (RB_AUTOBOOT) instead: QEMU microvm (acpi=off)
 * does not end on a halt, while a reboot with reboot=t and QEMU's
 * -no-reboot ends it; ktstr-vmm ends on either (exit status 3, or 4
 * with reboot=t).
 *
 * The ports appear some time after the virtio device is probed: with a
 * device, /init first waits (ktstr.port_timeout seconds, default 30) for
 * /dev/hvc0, /dev/vport0p1 and both port names.  Without the device (no
 * virtio device, or still no /dev/hvc0) the text goes to /dev/console and
 * the guest powers off at once: enough to bring up a VMM.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <linux/ktstr_vconsole.h>
#include <linux/types.h>

/* The frame types and sizes, and tlv_crc32(): ktstr-tlv's (tlv.c). */
#include "tlv.h"

#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))

/* A port write() is one buffer of at most 32 KiB: one frame, whole. */
#define FRAME_MAX		(32 * 1024)

#define LIFE_INIT		1
#define LIFE_WAIT_WAKE		2
#define LIFE_POWER_OFF		3

#define WRITE_ZERO_RETRIES	10000
#define WRITE_ZERO_WAIT_US	1000

#define BENCH_BS_MAX		(1024 * 1024)
#define BENCH_THREADS_MAX	64

#define ECHO_TIMEOUT_S		60

#define SNRQ_ID			1
#define SNRQ_KIND		1
#define SNRQ_NAME		"ktstr-guest-init"

static int console_fd = -1;	/* /dev/hvc0, else /dev/console */
static int bulk_fd = -1;	/* /dev/vport0p1 */
static bool have_hvc;

static struct {
	char mode[16];
	unsigned long flood_mib;
	unsigned long frame_size;
	unsigned long port_timeout;
	unsigned long reply_timeout;
	unsigned long wake_timeout;
	unsigned long bench_mib;
	unsigned long bench_bs;
	unsigned long bench_threads;
	unsigned long echo_n;
} opt = {
	.mode = "check",
	.flood_mib = 8,
	.frame_size = 4096,
	.port_timeout = 30,
	.reply_timeout = 30,
	.wake_timeout = 120,
	.bench_mib = 64,
	.bench_bs = 65536,
	.bench_threads = 1,
	.echo_n = 200,
};

static void put_le32(__u8 *p, __u32 v)
{
	p[0] = v;
	p[1] = v >> 8;
	p[2] = v >> 16;
	p[3] = v >> 24;
}

static __u32 get_le32(const __u8 *p)
{
	return p[0] | (__u32)p[1] << 8 | (__u32)p[2] << 16 |
	       (__u32)p[3] << 24;
}

/*
 * A write to a virtio-console port returns 0 when another writer took
 * the last free ring slot between the driver's wait for room and its add
 * (port_fops_write in drivers/char/virtio_console.c): room comes back as
 * the host consumes, so wait a little and write again.
 */
static int write_all(int fd, const void *buf, size_t len)
{
	const __u8 *p = buf;
	unsigned int zero = 0;
	ssize_t n;

	while (len) {
		n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (!n && ++zero <= WRITE_ZERO_RETRIES) {
			usleep(WRITE_ZERO_WAIT_US);
			continue;
		}
		if (!n)
			errno = EIO;
		if (n <= 0)
			return -1;
		zero = 0;
		p += n;
		len -= n;
	}
	return 0;
}

static void say(const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	n = snprintf(line, sizeof(line), "ktstr guest: ");
	va_start(ap, fmt);
	n += vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	if (console_fd >= 0)
		write_all(console_fd, line, n);
}

/* One frame in one write() (frames are at most FRAME_MAX bytes). */
static int send_frame(__u32 type, const void *payload, size_t len)
{
	static __thread __u8 buf[FRAME_MAX];
	int ret;

	if (bulk_fd < 0 || len > sizeof(buf) - TLV_HDR_LEN)
		return -1;
	put_le32(buf, type);
	put_le32(buf + 4, len);
	put_le32(buf + 8, tlv_crc32(0, payload, len));
	put_le32(buf + 12, 0);
	memcpy(buf + TLV_HDR_LEN, payload, len);
	ret = write_all(bulk_fd, buf, TLV_HDR_LEN + len);
	if (ret)
		say("writing a frame to /dev/vport0p1: %s", strerror(errno));
	return ret;
}

static void send_life(__u8 phase, const char *reason)
{
	__u8 buf[128];
	size_t len = strlen(reason);

	if (len > sizeof(buf) - 1)
		len = sizeof(buf) - 1;
	buf[0] = phase;
	memcpy(buf + 1, reason, len);
	send_frame(TLV_LIFE, buf, len + 1);
}

static void send_text(const char *fmt, ...)
{
	char text[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (n >= (int)sizeof(text))
		n = sizeof(text) - 1;
	send_frame(TLV_SOUT, text, n);
}

static void send_exit(__s32 code)
{
	__u8 buf[4];

	put_le32(buf, code);
	send_frame(TLV_EXIT, buf, sizeof(buf));
}

static void mount_fs(const char *type, const char *dir)
{
	mkdir(dir, 0755);
	if (mount(type, dir, type, 0, NULL) && errno != EBUSY)
		say("mount %s on %s: %s", type, dir, strerror(errno));
}

static void parse_cmdline(void)
{
	char buf[4096], *tok, *save, *val;
	ssize_t n;
	int fd;

	fd = open("/proc/cmdline", O_RDONLY);
	if (fd < 0)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = 0;
	for (tok = strtok_r(buf, "\n\t ", &save); tok;
	     tok = strtok_r(NULL, "\n\t ", &save)) {
		if (strncmp(tok, "ktstr.", 6))
			continue;
		val = strchr(tok, '=');
		if (!val)
			continue;
		*val++ = 0;
		if (!strcmp(tok, "ktstr.mode"))
			snprintf(opt.mode, sizeof(opt.mode), "%s", val);
		else if (!strcmp(tok, "ktstr.flood_mib"))
			opt.flood_mib = strtoul(val, NULL, 0);
		else if (!strcmp(tok, "ktstr.frame_size"))
			opt.frame_size = strtoul(val, NULL, 0);
		else if (!strcmp(tok, "ktstr.port_timeout"))
			opt.port_timeout = strtoul(val, NULL, 0);
		else if (!strcmp(tok, "ktstr.reply_timeout"))
			opt.reply_timeout = strtoul(val, NULL, 0);
		else if (!strcmp(tok, "ktstr.wake_timeout"))
			opt.wake_timeout = strtoul(val, NULL, 0);
		else if (!strcmp(tok, "ktstr.bench_mib"))
			opt.bench_mib = strtoul(val, NULL, 0);
		else if (!strcmp(tok, "ktstr.bench_bs"))
			opt.bench_bs = strtoul(val, NULL, 0);
		else if (!strcmp(tok, "ktstr.bench_threads"))
			opt.bench_threads = strtoul(val, NULL, 0);
		else if (!strcmp(tok, "ktstr.echo_n"))
			opt.echo_n = strtoul(val, NULL, 0);
	}
	if (opt.frame_size < 8 || opt.frame_size > FRAME_MAX - TLV_HDR_LEN)
		opt.frame_size = 4096;
	if (opt.bench_bs < 1 || opt.bench_bs > BENCH_BS_MAX)
		opt.bench_bs = 65536;
	if (opt.bench_threads < 1 || opt.bench_threads > BENCH_THREADS_MAX)
		opt.bench_threads = 1;
}

/* Raw mode: bytes as they come, no echo back to the host, no CR added. */
static void open_console(void)
{
	struct termios tio;

	console_fd = open("/dev/hvc0", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (console_fd >= 0) {
		have_hvc = true;
		if (!tcgetattr(console_fd, &tio)) {
			cfmakeraw(&tio);
			tcsetattr(console_fd, TCSANOW, &tio);
		}
		return;
	}
	console_fd = open("/dev/console", O_WRONLY | O_NOCTTY | O_CLOEXEC);
	say("no /dev/hvc0 (%s): no virtio console", strerror(errno));
}

/* "vport0p0=ktstr-console vport0p1=ktstr-bulk"; true if both are there. */
static bool check_port_names(char *desc, size_t size)
{
	bool console = false, bulk = false;
	char name[64], *dev;
	size_t used = 0;
	glob_t g;
	size_t i;
	ssize_t n;
	int fd;

	desc[0] = 0;
	if (glob("/sys/class/virtio-ports/*/name", 0, NULL, &g))
		return false;
	for (i = 0; i < g.gl_pathc; i++) {
		fd = open(g.gl_pathv[i], O_RDONLY);
		if (fd < 0)
			continue;
		n = read(fd, name, sizeof(name) - 1);
		close(fd);
		if (n < 0)
			continue;
		while (n > 0 && isspace((unsigned char)name[n - 1]))
			n--;
		name[n] = 0;
		console |= !strcmp(name, "ktstr-console");
		bulk |= !strcmp(name, "ktstr-bulk");
		/* /sys/class/virtio-ports/<dev>/name */
		dev = g.gl_pathv[i] + strlen("/sys/class/virtio-ports/");
		*strchr(dev, '/') = 0;
		used += snprintf(desc + used, size > used ? size - used : 0,
				 "%s%s=%s", used ? " " : "", dev, name);
	}
	globfree(&g);
	return console && bulk;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/*
 * The device's ports come up after /init may have started: the guest
 * driver creates them from the control messages the device sends once
 * probed, in a work item.  When there is a virtio device, waits (at most
 * ktstr.port_timeout seconds) for /dev/hvc0, /dev/vport0p1 and both port
 * names; returns the milliseconds waited, or -1 without a device.
 */
static long long wait_for_ports(void)
{
	long long t0 = now_ms(), deadline = t0 + opt.port_timeout * 1000;
	char desc[256];
	glob_t g;

	if (glob("/sys/bus/virtio/devices/*", 0, NULL, &g))
		return -1;
	globfree(&g);
	while (now_ms() < deadline) {
		if (!access("/dev/hvc0", F_OK) &&
		    !access("/dev/vport0p1", F_OK) &&
		    check_port_names(desc, sizeof(desc)))
			break;
		usleep(10 * 1000);
	}
	return now_ms() - t0;
}

/*
 * Reads /dev/vport0p1 until a whole SNRP frame is in, for at most
 * timeout_s seconds; 0 and the frame's id and status, or -1.
 */
static int wait_reply(unsigned long timeout_s, __u32 *id, __u32 *status,
		      char *name)
{
	long long deadline = now_ms() + timeout_s * 1000;
	__u8 buf[TLV_HDR_LEN + TLV_SNR_LEN];
	struct pollfd pfd = { .fd = bulk_fd, .events = POLLIN };
	size_t have = 0;
	ssize_t n;
	int left;

	while (have < sizeof(buf)) {
		left = deadline - now_ms();
		if (left <= 0) {
			say("no SNRP reply within %lu s (%zu bytes came)",
			    timeout_s, have);
			return -1;
		}
		if (poll(&pfd, 1, left) <= 0)
			continue;
		n = read(bulk_fd, buf + have, sizeof(buf) - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			say("reading /dev/vport0p1: %s",
			    n ? strerror(errno) : "end of file");
			return -1;
		}
		have += n;
	}
	if (get_le32(buf) != TLV_SNRP || get_le32(buf + 4) != TLV_SNR_LEN ||
	    get_le32(buf + 12) != 0) {
		say("reply header: type %#x length %u pad %u, expected SNRP %u 0",
		    get_le32(buf), get_le32(buf + 4), get_le32(buf + 12),
		    TLV_SNR_LEN);
		return -1;
	}
	if (get_le32(buf + 8) != tlv_crc32(0, buf + TLV_HDR_LEN, TLV_SNR_LEN)) {
		say("reply CRC %#x, payload has %#x", get_le32(buf + 8),
		    tlv_crc32(0, buf + TLV_HDR_LEN, TLV_SNR_LEN));
		return -1;
	}
	*id = get_le32(buf + TLV_HDR_LEN);
	*status = get_le32(buf + TLV_HDR_LEN + 4);
	memcpy(name, buf + TLV_HDR_LEN + 8, TLV_SNR_NAME_LEN);
	name[TLV_SNR_NAME_LEN] = 0;
	return 0;
}

static int mode_check(void)
{
	__u8 snrq[TLV_SNR_LEN] = { 0 };
	char ports[256], name[TLV_SNR_NAME_LEN + 1];
	__u32 id, status;
	long long t0;
	int fails = 0;

	send_life(LIFE_INIT, "init");
	if (check_port_names(ports, sizeof(ports))) {
		say("virtio ports ok: %s", ports);
		send_text("virtio ports ok: %s", ports);
	} else {
		say("virtio ports wrong: %s (want ktstr-console and ktstr-bulk)",
		    ports);
		send_text("virtio ports wrong: %s", ports);
		fails++;
	}

	put_le32(snrq, SNRQ_ID);
	put_le32(snrq + 4, SNRQ_KIND);
	memcpy(snrq + 8, SNRQ_NAME, strlen(SNRQ_NAME));
	t0 = now_ms();
	if (send_frame(TLV_SNRQ, snrq, sizeof(snrq))) {
		fails++;
	} else if (wait_reply(opt.reply_timeout, &id, &status, name)) {
		send_text("no SNRP reply");
		fails++;
	} else if (id != SNRQ_ID) {
		say("SNRP id %u, expected %u", id, SNRQ_ID);
		send_text("SNRP id %u, expected %u", id, SNRQ_ID);
		fails++;
	} else {
		say("SNRP reply: id %u status %u name \"%s\" after %lld ms",
		    id, status, name, now_ms() - t0);
		send_text("SNRP reply: id %u status %u name \"%s\"", id,
			  status, name);
	}
	say("checks %s", fails ? "FAILED" : "passed");
	return fails ? 1 : 0;
}

struct flooder {
	pthread_t thread;
	int cpu;
	__u64 bytes;		/* payload bytes to send */
	__u64 frames;
	int err;
};

static void *flood_thread(void *arg)
{
	static __thread __u8 payload[FRAME_MAX];
	struct flooder *f = arg;
	__u64 left = f->bytes;
	cpu_set_t set;
	size_t len, i;
	__u32 seq;

	CPU_ZERO(&set);
	CPU_SET(f->cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		f->err = errno;
	for (seq = 0; left; seq++) {
		len = left < opt.frame_size ? left : opt.frame_size;
		if (len < 8)
			len = 8;
		put_le32(payload, f->cpu);
		put_le32(payload + 4, seq);
		for (i = 8; i < len; i++)
			payload[i] = f->cpu * 31 + seq + i;
		if (send_frame(TLV_PRAW, payload, len)) {
			f->err = errno ? errno : EIO;
			break;
		}
		f->frames++;
		left -= len < left ? len : left;
	}
	return NULL;
}

static int mode_flood(void)
{
	static struct flooder fl[1024];
	int ncpus = get_nprocs(), i, err = 0;
	__u64 total = (__u64)opt.flood_mib << 20, frames = 0;
	long long t0, ms;

	if (ncpus < 1)
		ncpus = 1;
	if (ncpus > (int)ARRAY_SIZE(fl))
		ncpus = ARRAY_SIZE(fl);
	send_life(LIFE_INIT, "flood");
	say("flood: %lu MiB of PRAW frames (%lu payload bytes each) from %d CPUs",
	    opt.flood_mib, opt.frame_size, ncpus);
	t0 = now_ms();
	for (i = 0; i < ncpus; i++) {
		fl[i].cpu = i;
		fl[i].bytes = total / ncpus + (i == 0 ? total % ncpus : 0);
		if (pthread_create(&fl[i].thread, NULL, flood_thread, &fl[i])) {
			say("flood: cannot start thread %d", i);
			fl[i].err = EAGAIN;
			fl[i].bytes = 0;
		}
	}
	for (i = 0; i < ncpus; i++) {
		if (fl[i].bytes || !fl[i].err)
			pthread_join(fl[i].thread, NULL);
		frames += fl[i].frames;
		if (fl[i].err) {
			say("flood: CPU %d: %s", i, strerror(fl[i].err));
			err = 1;
		}
	}
	ms = now_ms() - t0;
	say("flood: %llu frames in %lld ms (%.1f MiB/s)",
	    (unsigned long long)frames, ms,
	    ms ? (double)opt.flood_mib * 1000 / ms : 0.0);
	send_text("flood: %lu MiB, %llu frames, %d CPUs, %lld ms",
		  opt.flood_mib, (unsigned long long)frames, ncpus, ms);
	return err;
}

struct bencher {
	pthread_t thread;
	int cpu;
	__u64 bytes;		/* bytes to write */
	int err;
	bool started;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *bench_thread(void *arg)
{
	struct bencher *b = arg;
	__u64 left = b->bytes;
	cpu_set_t set;
	size_t len;
	__u8 *buf;

	CPU_ZERO(&set);
	CPU_SET(b->cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
	buf = malloc(opt.bench_bs);
	if (!buf) {
		b->err = ENOMEM;
		return NULL;
	}
	memset(buf, 0x5a ^ b->cpu, opt.bench_bs);
	while (left) {
		len = left < opt.bench_bs ? left : opt.bench_bs;
		if (write_all(bulk_fd, buf, len)) {
			b->err = errno ? errno : EIO;
			break;
		}
		left -= len;
	}
	free(buf);
	return NULL;
}

/* Raw writes to port 1, timed: dd bs=ktstr.bench_bs with threads. */
static int mode_bench(void)
{
	static struct bencher bn[BENCH_THREADS_MAX];
	__u64 total = (__u64)opt.bench_mib << 20;
	int ncpus = get_nprocs(), n = opt.bench_threads, i, err = 0;
	double t0, secs;

	if (ncpus < 1)
		ncpus = 1;
	say("bench: %lu MiB in %lu-byte writes from %d threads on %d CPUs",
	    opt.bench_mib, opt.bench_bs, n, ncpus);
	t0 = now_s();
	for (i = 0; i < n; i++) {
		bn[i].cpu = i % ncpus;
		bn[i].bytes = total / n + (i == 0 ? total % n : 0);
		bn[i].started = !pthread_create(&bn[i].thread, NULL,
						bench_thread, &bn[i]);
		if (!bn[i].started)
			bn[i].err = EAGAIN;
	}
	for (i = 0; i < n; i++) {
		if (bn[i].started)
			pthread_join(bn[i].thread, NULL);
		if (bn[i].err) {
			say("bench: thread %d: %s", i, strerror(bn[i].err));
			err = 1;
		}
	}
	secs = now_s() - t0;
	say("bench: done: %llu bytes bs %lu threads %d in %.6f s: %.2f MB/s",
	    (unsigned long long)total, opt.bench_bs, n, secs,
	    secs > 0 ? total / secs / 1e6 : 0.0);
	send_text("bench: %llu bytes bs %lu threads %d in %.6f s: %.2f MB/s",
		  (unsigned long long)total, opt.bench_bs, n, secs,
		  secs > 0 ? total / secs / 1e6 : 0.0);
	return err;
}

/* One byte in on /dev/hvc0, the same byte back, echo_n times. */
static int mode_echo(void)
{
	struct pollfd pfd = { .fd = console_fd, .events = POLLIN };
	unsigned long done = 0;
	__u8 c;
	ssize_t n;

	say("echo: ready for %lu round trips", opt.echo_n);
	while (done < opt.echo_n) {
		n = poll(&pfd, 1, ECHO_TIMEOUT_S * 1000);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		n = read(console_fd, &c, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || c == KTSTR_VC_WAKE_SHUTDOWN)
			break;
		if (write_all(console_fd, &c, 1))
			break;
		done++;
	}
	say("echo: done: %lu of %lu round trips", done, opt.echo_n);
	send_text("echo: %lu of %lu round trips", done, opt.echo_n);
	return done == opt.echo_n ? 0 : 1;
}

/* The wake byte 0xd3 on /dev/hvc0, or the timeout. */
static void wait_wake(void)
{
	long long deadline = now_ms() + opt.wake_timeout * 1000;
	struct pollfd pfd = { .fd = console_fd, .events = POLLIN };
	__u8 buf[64];
	ssize_t n, i;
	int left;

	send_life(LIFE_WAIT_WAKE, "waiting for wake byte");
	say("waiting for the wake byte 0xd3 on /dev/hvc0");
	for (;;) {
		left = deadline - now_ms();
		if (left <= 0) {
			say("no wake byte within %lu s", opt.wake_timeout);
			return;
		}
		if (poll(&pfd, 1, left) <= 0)
			continue;
		n = read(console_fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			say("reading /dev/hvc0: %s",
			    n ? strerror(errno) : "end of file");
			return;
		}
		for (i = 0; i < n; i++) {
			if (buf[i] == KTSTR_VC_WAKE_SHUTDOWN) {
				say("wake byte 0xd3: power off");
				return;
			}
			if (buf[i] == KTSTR_VC_WAKE_DUMP ||
			    buf[i] == KTSTR_VC_WAKE_BPF_WRITE_DONE)
				say("wake byte %#x: nothing to do", buf[i]);
			else
				say("unexpected byte %#x on /dev/hvc0", buf[i]);
		}
	}
}

/*
 * On the host, `ktstr-guest-init --snrp-frame` writes the reply the host
 * side of the test sends to the guest's SNRQ: one frame, same encoder.
 */
static int host_snrp_frame(void)
{
	__u8 payload[TLV_SNR_LEN] = { 0 };

	put_le32(payload, SNRQ_ID);
	memcpy(payload + 8, "ktstr-vmm-test", sizeof("ktstr-vmm-test"));
	bulk_fd = STDOUT_FILENO;
	return send_frame(TLV_SNRP, payload, sizeof(payload)) ? 1 : 0;
}

/* Mounts, options, ports, SRDY; false without a device to talk to. */
static bool bring_up(void)
{
	long long waited;

	mount_fs("devtmpfs", "/dev");
	mount_fs("proc", "/proc");
	mount_fs("sysfs", "/sys");
	parse_cmdline();
	waited = wait_for_ports();
	open_console();
	if (!have_hvc)
		return false;
	say("hello from /dev/hvc0 (mode %s)", opt.mode);
	if (waited > 0)
		say("ports ready %lld ms after /init started", waited);

	bulk_fd = open("/dev/vport0p1", O_RDWR | O_CLOEXEC);
	if (bulk_fd < 0)
		say("/dev/vport0p1: %s", strerror(errno));
	send_frame(TLV_SRDY, NULL, 0);
	return true;
}

/* The modes that end with EXIT and the wake byte; the EXIT code. */
static int run_mode(void)
{
	if (!strcmp(opt.mode, "flood"))
		return mode_flood();
	if (!strcmp(opt.mode, "bench"))
		return mode_bench();
	if (!strcmp(opt.mode, "echo"))
		return mode_echo();
	if (strcmp(opt.mode, "check"))
		say("unknown ktstr.mode=%s: running check", opt.mode);
	return mode_check();
}

int main(int argc, char **argv)
{
	int code;

	/* tlv_crc32() builds its table on first use: before any thread. */
	tlv_crc32(0, NULL, 0);
	if (argc == 2 && !strcmp(argv[1], "--snrp-frame"))
		return host_snrp_frame();
	if (!bring_up()) {
		say("powering off");
		reboot(RB_POWER_OFF);
		return 1;
	}
	if (!strcmp(opt.mode, "reboot")) {
		send_life(LIFE_INIT, "reboot");
		send_exit(0);
		say("EXIT 0 sent: rebooting");
		reboot(RB_AUTOBOOT);
		return 1;
	}
	code = run_mode();
	if (bulk_fd < 0)
		code = 1;
	send_exit(code);
	say("EXIT %d sent", code);
	wait_wake();
	send_life(LIFE_POWER_OFF, "power off");
	if (!strcmp(opt.mode, "bench") || !strcmp(opt.mode, "echo"))
		reboot(RB_AUTOBOOT);
	reboot(RB_POWER_OFF);
	return 1;
}
