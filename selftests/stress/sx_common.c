// SPDX-License-Identifier: GPL-2.0
/*
 * What every process of vc_stress uses: time, the seeded PRNG streams,
 * heartbeats around each call, the totals by kind and errno, the shared
 * log, counted register accesses and port opens, and the integrity
 * pattern.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "stress.h"

struct sx_shared *sx;
static __thread struct sx_hb *sx_self;

__u64 sx_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * SX_NS_PER_SEC + ts.tv_nsec;
}

/* A sleep that a signal may cut short: callers look at the clock. */
void sx_sleep_us(__u64 us)
{
	struct timespec ts = {
		.tv_sec = us / 1000000,
		.tv_nsec = (us % 1000000) * 1000,
	};

	nanosleep(&ts, NULL);
}

double sx_uptime(void)
{
	return (double)(sx_now_ns() - sx->t0_ns) / SX_NS_PER_SEC;
}

bool sx_stopping(void)
{
	return __atomic_load_n(&sx->stop, __ATOMIC_ACQUIRE);
}

void sx_rng_init(struct sx_rng *r, __u64 stream)
{
	r->s = sx->seed + sx_mix(stream + 1);
}

/*
 * How destructive a hostile guest incarnation is, 0 (steady: long-lived,
 * no chaos resets) to 3; the supervisor knows it too, from the seed.
 */
unsigned int sx_guest_wild(unsigned int slot, unsigned int inc)
{
	struct sx_rng r;

	if (sx->wild)
		return sx->wild - 1;
	sx_rng_init(&r, SX_STREAM(1, slot, inc, 0xffff));
	return sx_below(&r, 4);
}

void sx_count(enum sx_count c, __u64 n)
{
	__atomic_fetch_add(&sx->counts[c], n, __ATOMIC_RELAXED);
}

void sx_hb_claim(int slot, enum sx_role role, const char *name)
{
	struct sx_hb *hb = &sx->hb[slot * SX_HB_PER_SLOT + role];

	__atomic_store_n(&hb->start_ns, 0, __ATOMIC_RELEASE);
	hb->pid = getpid();
	hb->tid = gettid();
	hb->slot = slot;
	hb->sig_ns = 0;
	snprintf(hb->name, sizeof(hb->name), "%s", name);
	sx_self = hb;
}

void sx_begin(enum sx_kind kind, unsigned int flags)
{
	struct sx_hb *hb = sx_self;

	if (!hb)
		return;
	hb->kind = kind;
	hb->quick = !(flags & SX_F_WAIT);
	__atomic_store_n(&hb->sig_ns, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&hb->start_ns, sx_now_ns(), __ATOMIC_RELEASE);
}

static const char * const sx_kind_names[SX_NR_KINDS] = {
	[SX_K_CTRL_OPEN] = "ctrl_open",
	[SX_K_CTRL_CLOSE] = "ctrl_close",
	[SX_K_ATTACH] = "ATTACH",
	[SX_K_DETACH] = "DETACH",
	[SX_K_GET_INFO] = "GET_INFO",
	[SX_K_GET_STATS] = "GET_STATS",
	[SX_K_MEM_TABLE] = "SET_MEM_TABLE",
	[SX_K_KICK_FD] = "SET_KICK_FD",
	[SX_K_CALL_FD] = "SET_CALL_FD",
	[SX_K_MMIO] = "MMIO",
	[SX_K_BAD_IOCTL] = "bad_ioctl",
	[SX_K_PORT_OPEN] = "port_open",
	[SX_K_PORT_READ] = "port_read",
	[SX_K_PORT_WRITE] = "port_write",
	[SX_K_PORT_POLL] = "port_poll",
	[SX_K_PORT_IOCTL] = "port_ioctl",
	[SX_K_KICK] = "kick_write",
	[SX_K_MEMORY] = "mmap_mprotect",
	[SX_K_FORK] = "fork",
};

const char *sx_kind_name(enum sx_kind kind)
{
	return kind < SX_NR_KINDS ? sx_kind_names[kind] : "?";
}

/* The errnos the module answers a hostile caller with. */
bool sx_errno_expected(int err)
{
	switch (err) {
	case ENOTCONN:
	case EPERM:
	case EINVAL:
	case EBUSY:
	case EFAULT:
	case EBADF:
	case EISCONN:
	case ENOTTY:
	case EAGAIN:
	case EINTR:
		return true;
	default:
		return false;
	}
}

const char *sx_errno_name(int err)
{
	static const char * const names[SX_ERRNO_MAX] = {
		[0] = "ok", [EPERM] = "EPERM", [ENOENT] = "ENOENT",
		[ESRCH] = "ESRCH", [EINTR] = "EINTR", [EIO] = "EIO",
		[ENXIO] = "ENXIO", [E2BIG] = "E2BIG", [EBADF] = "EBADF",
		[ECHILD] = "ECHILD", [EAGAIN] = "EAGAIN", [ENOMEM] = "ENOMEM",
		[EACCES] = "EACCES", [EFAULT] = "EFAULT", [EBUSY] = "EBUSY",
		[EEXIST] = "EEXIST", [ENODEV] = "ENODEV", [EINVAL] = "EINVAL",
		[EMFILE] = "EMFILE", [ENFILE] = "ENFILE", [ENOTTY] = "ENOTTY",
		[ENOSPC] = "ENOSPC", [EPIPE] = "EPIPE", [ERANGE] = "ERANGE",
		[EDEADLK] = "EDEADLK",
		[EOVERFLOW] = "EOVERFLOW", [ENOTCONN] = "ENOTCONN",
		[EISCONN] = "EISCONN", [ETIMEDOUT] = "ETIMEDOUT",
		[EOPNOTSUPP] = "EOPNOTSUPP",
	};
	static __thread char buf[16];

	if (err >= 0 && err < SX_ERRNO_MAX && names[err])
		return names[err];
	snprintf(buf, sizeof(buf), "E%d", err);
	return buf;
}

/* Say a (kind, errno) finding once; count every occurrence. */
static bool sx_first(enum sx_kind kind, int idx)
{
	return !__atomic_exchange_n(&sx->said[kind][idx], 1, __ATOMIC_RELAXED);
}

/* The longest a call of this kind that must not wait took, and who. */
static void sx_longest(enum sx_kind kind, __u64 ns)
{
	__u64 old = __atomic_load_n(&sx->longest_ns[kind], __ATOMIC_RELAXED);

	while (ns > old) {
		if (__atomic_compare_exchange_n(&sx->longest_ns[kind], &old, ns,
						true, __ATOMIC_RELAXED,
						__ATOMIC_RELAXED)) {
			sx->longest_hb[kind] = sx_self - sx->hb;
			return;
		}
	}
}

int sx_end(enum sx_kind kind, int err, unsigned int flags)
{
	int idx = err < SX_ERRNO_MAX ? err : SX_ERRNO_MAX - 1;
	__u64 start;

	if (sx_self) {
		start = __atomic_exchange_n(&sx_self->start_ns, 0,
					    __ATOMIC_ACQ_REL);
		if (start && !(flags & SX_F_WAIT))
			sx_longest(kind, sx_now_ns() - start);
	}
	__atomic_fetch_add(&sx->results[kind][idx], 1, __ATOMIC_RELAXED);
	if (err && !sx_errno_expected(err)) {
		sx_count(SX_C_UNEXPECTED, 1);
		sx_count(SX_C_ERRORS, 1);
		if (sx_first(kind, idx))
			sx_info("ERROR: %s answered %s, not an errno the module may give",
				sx_kind_name(kind), sx_errno_name(err));
	} else if (!err && (flags & SX_F_MUST_FAIL)) {
		sx_count(SX_C_UNEXPECTED, 1);
		sx_count(SX_C_ERRORS, 1);
		if (sx_first(kind, 0))
			sx_info("ERROR: %s succeeded with an argument it must refuse",
				sx_kind_name(kind));
	}
	return err;
}

int sx_ioctl(enum sx_kind kind, int fd, unsigned long cmd, void *arg,
	     unsigned int flags)
{
	int ret;

	sx_begin(kind, flags);
	ret = ioctl(fd, cmd, arg);
	return sx_end(kind, ret < 0 ? errno : 0, flags);
}

static void sx_vlog(const char *prefix, const char *fmt, va_list ap)
{
	struct sx_hb *hb = sx_self;
	char text[SX_LOG_LEN];
	struct sx_log_line *line;
	int n;
	__u64 i;

	n = snprintf(text, sizeof(text), "[%7.2f s slot %d %s] %s",
		     sx_uptime(), hb ? hb->slot : -1, hb ? hb->name : "?",
		     prefix);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(text))
		vsnprintf(text + n, sizeof(text) - n, fmt, ap);

	i = __atomic_fetch_add(&sx->log_head, 1, __ATOMIC_RELAXED);
	line = &sx->log[i % SX_LOG_LINES];
	__atomic_store_n(&line->seq, 0, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	memcpy(line->text, text, sizeof(text));
	__atomic_store_n(&line->seq, i + 1, __ATOMIC_RELEASE);
}

void sx_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sx_vlog("", fmt, ap);
	va_end(ap);
}

void sx_err(const char *fmt, ...)
{
	va_list ap;

	sx_count(SX_C_ERRORS, 1);
	va_start(ap, fmt);
	sx_vlog("ERROR: ", fmt, ap);
	va_end(ap);
}

int sx_mmio(int fd, __u32 offset, __u32 len, bool write, __u8 *data,
	    unsigned int flags)
{
	struct ktstr_vc_mmio m = {
		.offset = offset,
		.len = len,
		.flags = write ? KTSTR_VC_MMIO_WRITE : 0,
	};
	int err;

	if (write)
		memcpy(m.data, data, sizeof(m.data));
	err = sx_ioctl(SX_K_MMIO, fd, KTSTR_VC_MMIO, &m, flags);
	if (!err && !write)
		memcpy(data, m.data, sizeof(m.data));
	return err;
}

int sx_r32(int fd, __u32 offset, __u32 *val)
{
	__u8 data[8] = { 0 };
	__u32 le;
	int err;

	err = sx_mmio(fd, offset, 4, false, data, 0);
	memcpy(&le, data, sizeof(le));
	*val = err ? 0 : le32toh(le);
	return err;
}

int sx_w32(int fd, __u32 offset, __u32 val)
{
	__u8 data[8] = { 0 };
	__u32 le = htole32(val);

	memcpy(data, &le, sizeof(le));
	return sx_mmio(fd, offset, 4, true, data, 0);
}

/* Open a port node, counted: the fd, or -errno. */
int sx_port_open(unsigned int slot, unsigned int port, int flags)
{
	char path[64];
	int fd;

	if (slot)
		snprintf(path, sizeof(path), "/dev/" KTSTR_VC_SLOT_PORT_FMT,
			 slot, port);
	else
		snprintf(path, sizeof(path), "/dev/" KTSTR_VC_SLOT0_PORT_FMT,
			 port);
	sx_begin(SX_K_PORT_OPEN, 0);
	fd = open(path, flags | O_CLOEXEC);
	if (fd < 0)
		return -sx_end(SX_K_PORT_OPEN, errno, 0);
	sx_end(SX_K_PORT_OPEN, 0, 0);
	return fd;
}

/* A new device instance: the fd, or -errno. */
int sx_ctrl_open(void)
{
	int fd;

	sx_begin(SX_K_CTRL_OPEN, 0);
	fd = open(VC_CTRL_PATH, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -sx_end(SX_K_CTRL_OPEN, errno, 0);
	sx_end(SX_K_CTRL_OPEN, 0, 0);
	sx_count(SX_C_INSTANCES, 1);
	return fd;
}

/* The last close of an attached instance ends its session: bounded. */
void sx_ctrl_close(int fd)
{
	sx_begin(SX_K_CTRL_CLOSE, 0);
	sx_end(SX_K_CTRL_CLOSE, close(fd) ? errno : 0, 0);
}

static void sx_nothing(int sig)
{
	(void)sig;
}

void sx_signals_init(void)
{
	struct sigaction sa = { .sa_handler = sx_nothing };

	/* No SA_RESTART: SIGUSR1 makes a waiting call return EINTR. */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
}

/*
 * A child of the supervisor: its own process group (one kill ends all of
 * it), dead with its parent, and silent.
 */
void sx_child_init(int slot, enum sx_role role, const char *name)
{
	int null;

	/*
	 * Nothing of the supervisor's: a port reader of another slot kept
	 * open here would keep that port's reader busy after its close.
	 */
	close_range(STDERR_FILENO + 1, ~0u, 0);
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	setpgid(0, 0);
	setpriority(PRIO_PROCESS, 0, 0);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		dup2(null, STDERR_FILENO);
		close(null);
	}
	sx_signals_init();
	sx_hb_claim(slot, role, name);
}

/*
 * The pattern (see stress.h).  The multiplier is odd, so cells are
 * unique; the key is XORed in, not added, so that two keys do not give
 * the same stream shifted.
 */
#define SX_PAT_MUL	0x9e3779b97f4a7c15ull

static __u64 sx_pat_cell(__u64 key, __u64 cell)
{
	return cell * SX_PAT_MUL ^ key;
}

static __u8 sx_pat_byte(__u64 key, __u64 pos)
{
	return sx_pat_cell(key, pos >> 3) >> (8 * (pos & 7));
}

void sx_pat_fill(__u8 *buf, size_t len, __u64 key, __u64 pos)
{
	__u64 le;

	while (len && (pos & 7)) {
		*buf++ = sx_pat_byte(key, pos++);
		len--;
	}
	while (len >= 8) {
		le = htole64(sx_pat_cell(key, pos >> 3));
		memcpy(buf, &le, 8);
		buf += 8;
		pos += 8;
		len -= 8;
	}
	while (len--)
		*buf++ = sx_pat_byte(key, pos++);
}

/* Index of the first byte off the pattern at pos, or len. */
size_t sx_pat_check(const __u8 *buf, size_t len, __u64 key, __u64 pos)
{
	__u8 want[512];
	size_t done = 0, n, i;

	while (done < len) {
		n = len - done < sizeof(want) ? len - done : sizeof(want);
		sx_pat_fill(want, n, key, pos + done);
		if (memcmp(want, buf + done, n)) {
			for (i = 0; i < n && want[i] == buf[done + i]; i++)
				;
			return done + i;
		}
		done += n;
	}
	return len;
}

/* The inverse of SX_PAT_MUL modulo 2^64, by Newton's iteration. */
static __u64 sx_pat_inverse(void)
{
	__u64 x = SX_PAT_MUL;
	int i;

	for (i = 0; i < 6; i++)
		x *= 2 - SX_PAT_MUL * x;
	return x;
}

/*
 * Where in the stream are these bytes, if at a position in [lo, hi]?  A
 * whole cell lies in any 15 bytes; each of its 8 possible alignments
 * names one position, and the whole buffer must match there.
 */
bool sx_pat_locate(const __u8 *buf, size_t len, __u64 key, __u64 lo,
		   __u64 hi, __u64 *pos)
{
	__u64 inv = sx_pat_inverse();
	size_t a;

	for (a = 0; a < 8 && a + 8 <= len; a++) {
		__u64 le, cell, at;

		memcpy(&le, buf + a, 8);
		cell = (le64toh(le) ^ key) * inv;
		at = (cell << 3) - a;
		if (at < lo || at > hi)
			continue;
		if (sx_pat_check(buf, len, key, at) == len) {
			*pos = at;
			return true;
		}
	}
	return false;
}

/*
 * A run takes at most its weight of chains, and GET_STATS reads the
 * counters under the instance's lock, between runs: between two readings
 * of one instance no queue can have returned more chains than its weight
 * times its runs.  A run that never ends while a guest re-posts (issue 8)
 * breaks it at once, however short the calls it blocks.
 */
bool sx_weights_check(unsigned int slot, const struct ktstr_vc_stats *prev,
		      const struct ktstr_vc_stats *now)
{
	unsigned long long chains, runs, weight;
	bool ok = true;
	unsigned int q;

	for (q = 0; q < KTSTR_VC_NUM_QUEUES; q++) {
		chains = now->queue[q].chains - prev->queue[q].chains;
		runs = now->queue[q].runs - prev->queue[q].runs;
		weight = q == KTSTR_VC_Q_CTRL_RX || q == KTSTR_VC_Q_CTRL_TX ?
			 SX_WEIGHT_CTRL_CHAINS : SX_WEIGHT_PORT_CHAINS;
		if (chains <= weight * runs)
			continue;
		sx_err("slot %u queue %u: %llu chains returned in %llu runs, more than %llu a run",
		       slot, q, chains, runs, weight);
		ok = false;
	}
	return ok;
}
