// SPDX-License-Identifier: GPL-2.0
/*
 * A hostile guest: one process per slot at a time, playing guest and VMM
 * at once with several threads on the same device instance.
 *
 *   driver    attach, memory table, call and kick fds, a device start
 *             (sometimes off the ladder), the control handshake, then a
 *             reset, DETACH or close now and then
 *   mmio0/1   register accesses at any offset, width and device state
 *   ring      honest and hostile chains once DRIVER_OK, kicks
 *   rewriter  rewrites descriptors and avail entries while the device
 *             walks them; re-posts zero-byte and looping chains without
 *             end, keeping the avail index just inside what is valid
 *   vmm       memory tables swapped, guest memory unmapped or made
 *             read-only, kick and call fds swapped or closed, DETACH and
 *             ATTACH, close() under the other threads, fork()
 *   stats     GET_INFO (whose constants are checked) and GET_STATS
 *
 * Guest memory is an arena of our own: a memory table never points the
 * device anywhere else, so nothing the device writes can reach our heap
 * or stacks.  The arena may be unmapped under the threads that write
 * rings into it: those accesses run guarded, a fault becomes a miss.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>
#include <linux/virtio_console.h>
#include <linux/virtio_ring.h>

#include "stress.h"

#define HG_ARENA		(16u << 20)	/* reserved, PROT_NONE */
#define HG_MAPPED		(12u << 20)	/* of which read-write */
#define HG_PAGE			4096u

/* The standard table: four regions, at the edges that matter. */
#define HG_R0_GPA		0x40000000ull
#define HG_R0_SIZE		(4u << 20)
#define HG_R1_GPA		(0ull - (2u << 20))	/* the top of 2^64 */
#define HG_R2_GPA		0ull
#define HG_R3_GPA		(HG_R0_GPA + HG_R0_SIZE)	/* R0's neighbour */
#define HG_RX_SIZE		(2u << 20)
#define HG_SPARE_OFF		(10u << 20)
#define HG_HOLE_OFF		(12u << 20)

/* Inside R0: the rings of queue q, control buffers, data areas. */
#define HG_AREA			0x4000u
#define HG_AVAIL		0x1000u
#define HG_USED			0x2000u
#define HG_CTRL_BUF		0x20000u
#define HG_DATA(q)		(0x100000u + (q) * 0x80000u)
#define HG_DATA_SIZE		0x80000u

#define HG_NQ			KTSTR_VC_NUM_QUEUES
#define HG_SENTINEL		0xffffffffu

static const struct {
	__u64 gpa;
	__u32 off;
	__u32 size;
} hg_regions[] = {
	{ HG_R0_GPA, 0, HG_R0_SIZE },
	{ HG_R1_GPA, 4u << 20, HG_RX_SIZE },
	{ HG_R2_GPA, 6u << 20, HG_RX_SIZE },
	{ HG_R3_GPA, 8u << 20, HG_RX_SIZE },
};

/* The ring thread's (and the handshake's) view of one queue. */
struct hg_queue {
	pthread_mutex_t lock;
	__u32 gen;			/* the ring setup this follows */
	__u16 avail;			/* next avail index to publish */
	__u16 used;			/* used index last seen */
	__u16 next;			/* next descriptor to hand out */
};

enum hg_thread {
	HG_T_DRIVER,
	HG_T_MMIO0,
	HG_T_MMIO1,
	HG_T_RING,
	HG_T_REWRITE,
	HG_T_VMM,
	HG_T_STATS,
	HG_NR_THREADS
};

static struct {
	unsigned int slot;
	unsigned int inc;
	__u8 *arena;
	int fd;				/* atomic: the control fd, or -1 */
	__u32 fd_gen;			/* atomic: bumped when fd changes */
	int kick[HG_NQ];		/* atomic: each queue's kick eventfd */
	int call;			/* atomic: the call eventfd */
	int null;			/* an fd that is no eventfd */
	__u32 num[HG_NQ];		/* atomic: ring sizes the driver set */
	__u32 gen;			/* atomic: bumped by each ring setup */
	__u32 wild;			/* 0 calm .. 3 wild, per incarnation */
	__u32 stop;			/* atomic */
	__u64 reset_gap_ns;		/* chaos resets at most this often */
	__u64 last_reset_ns;		/* atomic */
	int repost_q;			/* atomic: the rewriter's, or -1 */
	__u32 detaching;		/* atomic: threads in DETACH */
	struct hg_queue q[HG_NQ];
	pthread_t th[HG_NR_THREADS];
} hg;

static __thread sigjmp_buf *hg_jmp;

static int hg_fd(void)
{
	return __atomic_load_n(&hg.fd, __ATOMIC_ACQUIRE);
}

static void hg_set_fd(int fd)
{
	__atomic_store_n(&hg.fd, fd, __ATOMIC_RELEASE);
	__atomic_fetch_add(&hg.fd_gen, 1, __ATOMIC_RELEASE);
}

static bool hg_stopping(void)
{
	return __atomic_load_n(&hg.stop, __ATOMIC_ACQUIRE) || sx_stopping();
}

static __u32 hg_num(unsigned int q)
{
	__u32 num = __atomic_load_n(&hg.num[q], __ATOMIC_ACQUIRE);

	return num ? num : KTSTR_VC_QUEUE_MAX;
}

static __u64 hg_gpa(__u32 off)
{
	return HG_R0_GPA + off;
}

static struct vring_desc *hg_desc(unsigned int q)
{
	return (struct vring_desc *)(hg.arena + q * HG_AREA);
}

static struct vring_avail *hg_avail(unsigned int q)
{
	return (struct vring_avail *)(hg.arena + q * HG_AREA + HG_AVAIL);
}

static struct vring_used *hg_used(unsigned int q)
{
	return (struct vring_used *)(hg.arena + q * HG_AREA + HG_USED);
}

static bool hg_is_tx(unsigned int q)
{
	return q == KTSTR_VC_Q_PORT0_TX || q == KTSTR_VC_Q_PORT1_TX ||
	       q == KTSTR_VC_Q_CTRL_TX;
}

/* A new ring setup: the shadow of queue q starts over (q's lock held). */
static void hg_sync(unsigned int q)
{
	struct hg_queue *hq = &hg.q[q];
	__u32 gen = __atomic_load_n(&hg.gen, __ATOMIC_ACQUIRE);

	if (hq->gen == gen)
		return;
	hq->gen = gen;
	hq->avail = 0;
	hq->used = 0;
	hq->next = 0;
}

static void hg_fault(int sig, siginfo_t *si, void *ctx)
{
	const ucontext_t *uc = ctx;
	sigjmp_buf *jb = hg_jmp;

	if (jb) {
		hg_jmp = NULL;
		siglongjmp(*jb, 1);
	}
	/* Not ours to forgive: say where, then fault again, for real. */
	sx_err("signal %d at %p (arena %p-%p), ip %#llx", sig, si->si_addr,
	       hg.arena, hg.arena + HG_ARENA,
	       (unsigned long long)uc->uc_mcontext.gregs[REG_RIP]);
	signal(sig, SIG_DFL);
}

/* Guest memory may be unmapped under us, on purpose: a fault is a miss. */
static bool hg_guarded(void (*fn)(void *), void *arg)
{
	sigjmp_buf jb;

	if (sigsetjmp(jb, 1)) {
		sx_count(SX_C_FAULTS, 1);
		return false;
	}
	hg_jmp = &jb;
	fn(arg);
	hg_jmp = NULL;
	return true;
}

/* A kick through the eventfd: never waits for the device's lock. */
static void hg_kick_efd(unsigned int q)
{
	__u64 one = 1;
	ssize_t n;

	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	sx_begin(SX_K_KICK, 0);
	n = write(__atomic_load_n(&hg.kick[q], __ATOMIC_RELAXED), &one,
		  sizeof(one));
	sx_end(SX_K_KICK, n == sizeof(one) ? 0 : errno, 0);
}

static void hg_kick(struct sx_rng *r, unsigned int q)
{
	__u64 one = 1;
	ssize_t n;

	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (sx_chance(r, 200)) {
		sx_w32(hg_fd(), VIRTIO_MMIO_QUEUE_NOTIFY, q);
		return;
	}
	sx_begin(SX_K_KICK, 0);
	n = write(__atomic_load_n(&hg.kick[q], __ATOMIC_RELAXED), &one,
		  sizeof(one));
	sx_end(SX_K_KICK, n == sizeof(one) ? 0 : errno, 0);
}

static void hg_region(struct ktstr_vc_mem_region *r, __u64 gpa, __u32 off,
		      __u64 size)
{
	r->guest_phys_addr = gpa;
	r->size = size;
	r->userspace_addr = (__u64)(uintptr_t)(hg.arena + off);
	r->flags = 0;
}

/*
 * DETACH, telling the other threads: while one is in it they re-register
 * kicks all the more (see hg_rekick()).
 */
static void hg_detach(int fd)
{
	__atomic_fetch_add(&hg.detaching, 1, __ATOMIC_ACQ_REL);
	sx_ioctl(SX_K_DETACH, fd, KTSTR_VC_DETACH, NULL, 0);
	__atomic_fetch_sub(&hg.detaching, 1, __ATOMIC_ACQ_REL);
}

static bool hg_detaching(void)
{
	return __atomic_load_n(&hg.detaching, __ATOMIC_ACQUIRE);
}

static int hg_table(int fd, const struct ktstr_vc_mem_region *r,
		    unsigned int n, unsigned int flags)
{
	static __thread struct {
		struct ktstr_vc_mem_table hdr;
		struct ktstr_vc_mem_region r[KTSTR_VC_MAX_MEM_REGIONS + 1];
	} t;

	memset(&t, 0, sizeof(t));
	t.hdr.nregions = n;
	if (n > KTSTR_VC_MAX_MEM_REGIONS + 1)
		n = KTSTR_VC_MAX_MEM_REGIONS + 1;
	memcpy(t.r, r, n * sizeof(*r));
	sx_count(SX_C_MEM_TABLES, 1);
	return sx_ioctl(SX_K_MEM_TABLE, fd, KTSTR_VC_SET_MEM_TABLE, &t, flags);
}

/* Far from every region: a descriptor here is looked up in all of them. */
#define HG_NOWHERE_GPA		0x300000000ull

/*
 * The four regions; a steady guest adds one-page regions up to the most
 * there may be, so that every translation that fails walks them all.
 */
static int hg_std_table(int fd)
{
	struct ktstr_vc_mem_region r[KTSTR_VC_MAX_MEM_REGIONS];
	unsigned int i, n = ARRAY_SIZE(hg_regions);

	for (i = 0; i < n; i++)
		hg_region(&r[i], hg_regions[i].gpa, hg_regions[i].off,
			  hg_regions[i].size);
	for (; !hg.wild && i < KTSTR_VC_MAX_MEM_REGIONS; i++, n++)
		hg_region(&r[i], 0x200000000ull + 2ull * i * HG_PAGE,
			  HG_SPARE_OFF + i * HG_PAGE, HG_PAGE);
	return hg_table(fd, r, n, 0);
}

static void hg_set_kick(int fd, unsigned int q, int efd, unsigned int flags)
{
	struct ktstr_vc_kick k = { .queue = q, .fd = efd };

	sx_ioctl(SX_K_KICK_FD, fd, KTSTR_VC_SET_KICK_FD, &k, flags);
}

static void hg_set_call(int fd, int efd, __u32 padding, unsigned int flags)
{
	struct ktstr_vc_call c = { .fd = efd, .padding = padding };

	sx_ioctl(SX_K_CALL_FD, fd, KTSTR_VC_SET_CALL_FD, &c, flags);
}

/* Memory, call and kicks, as a VMM does right after ATTACH. */
static void hg_register(int fd)
{
	unsigned int q;

	hg_std_table(fd);
	hg_set_call(fd, __atomic_load_n(&hg.call, __ATOMIC_RELAXED), 0, 0);
	for (q = 0; q < HG_NQ; q++)
		hg_set_kick(fd, q, __atomic_load_n(&hg.kick[q], __ATOMIC_RELAXED),
			    0);
}

/* An attached instance on our slot: the fd, or -1 for later. */
static int hg_session(void)
{
	struct ktstr_vc_attach at = { .slot = hg.slot };
	struct ktstr_vc_info info;
	int fd = hg_fd();

	if (fd < 0) {
		fd = sx_ctrl_open();
		if (fd < 0)
			return -1;
		hg_set_fd(fd);
	}
	if (sx_ioctl(SX_K_GET_INFO, fd, KTSTR_VC_GET_INFO, &info, 0))
		return -1;
	if (info.slot == KTSTR_VC_SLOT_NONE) {
		if (sx_ioctl(SX_K_ATTACH, fd, KTSTR_VC_ATTACH, &at, 0))
			return -1;
		sx_count(SX_C_ATTACHES, 1);
	}
	hg_register(fd);
	return fd;
}

/* The identification registers never change; a wrong one is a bug. */
static void hg_check_ids(int fd)
{
	static const __u32 ids[][2] = {
		{ VIRTIO_MMIO_MAGIC_VALUE, VC_MMIO_MAGIC },
		{ VIRTIO_MMIO_VERSION, VC_MMIO_VERSION },
		{ VIRTIO_MMIO_DEVICE_ID, VC_DEVICE_ID },
		{ VIRTIO_MMIO_VENDOR_ID, VC_VENDOR_ID },
		{ VC_CFG_MAX_NR_PORTS, VC_MAX_NR_PORTS },
	};
	unsigned int i;
	__u32 v;

	for (i = 0; i < ARRAY_SIZE(ids); i++)
		if (!sx_r32(fd, ids[i][0], &v) && v != ids[i][1])
			sx_err("register %#x reads %#x, not %#x", ids[i][0],
			       v, ids[i][1]);
}

struct hg_zero {
	unsigned int q;
};

static void hg_zero_ring(void *arg)
{
	struct hg_zero *z = arg;

	memset(hg.arena + z->q * HG_AREA, 0, HG_AREA);
}

static __u32 hg_pick_num(struct sx_rng *r)
{
	static const __u32 nums[] = {
		1, 2, 4, 8, 16, 16, 32, 64, 64, 128, 256, 256, 256,
	};

	if (hg.wild && sx_chance(r, 20)) {
		static const __u32 bad[] = { 0, 3, 255, 512, 0xffffffff };

		return bad[sx_below(r, ARRAY_SIZE(bad))];
	}
	/* Steady: big rings, which take a looping chain long to drain. */
	if (!hg.wild && sx_chance(r, 750))
		return KTSTR_VC_QUEUE_MAX;
	return nums[sx_below(r, ARRAY_SIZE(nums))];
}

static void hg_setup_queue(int fd, struct sx_rng *r, unsigned int q)
{
	__u64 desc = hg_gpa((q % HG_NQ) * HG_AREA), avail = desc + HG_AVAIL;
	__u64 used = desc + HG_USED;
	__u32 num = hg_pick_num(r);
	struct hg_zero z = { .q = q };

	/* A queue past the last is configured as any other, and refused. */
	if (q < HG_NQ)
		hg_guarded(hg_zero_ring, &z);
	if (hg.wild && sx_chance(r, 30)) {
		/* Misaligned, or outside guest memory. */
		desc += sx_chance(r, 500) ? 8 : 0x100000000ull;
		used += sx_chance(r, 500) ? 2 : 0;
	}
	sx_w32(fd, VIRTIO_MMIO_QUEUE_SEL, q);
	sx_w32(fd, VIRTIO_MMIO_QUEUE_NUM, num);
	sx_w32(fd, VIRTIO_MMIO_QUEUE_DESC_LOW, (__u32)desc);
	sx_w32(fd, VIRTIO_MMIO_QUEUE_DESC_HIGH, (__u32)(desc >> 32));
	sx_w32(fd, VIRTIO_MMIO_QUEUE_AVAIL_LOW, (__u32)avail);
	sx_w32(fd, VIRTIO_MMIO_QUEUE_AVAIL_HIGH, (__u32)(avail >> 32));
	sx_w32(fd, VIRTIO_MMIO_QUEUE_USED_LOW, (__u32)used);
	sx_w32(fd, VIRTIO_MMIO_QUEUE_USED_HIGH, (__u32)(used >> 32));
	sx_w32(fd, VIRTIO_MMIO_QUEUE_READY, sx_chance(r, 950) ? 1 : 2);
	if (!num || num > KTSTR_VC_QUEUE_MAX || (num & (num - 1)))
		num = KTSTR_VC_QUEUE_MAX;	/* refused: the device keeps 256 */
	if (q < HG_NQ)
		__atomic_store_n(&hg.num[q], num, __ATOMIC_RELEASE);
}

static void hg_features(int fd, struct sx_rng *r)
{
	__u64 f = VC_DEVICE_FEATURES;
	__u32 v;

	sx_w32(fd, VIRTIO_MMIO_DEVICE_FEATURES_SEL, sx_below(r, 3));
	sx_r32(fd, VIRTIO_MMIO_DEVICE_FEATURES, &v);
	if (hg.wild && sx_chance(r, 60))
		f = sx_next(r);
	else if (hg.wild && sx_chance(r, 400))
		f &= ~VC_F_MULTIPORT;
	sx_w32(fd, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	sx_w32(fd, VIRTIO_MMIO_DRIVER_FEATURES, (__u32)f);
	sx_w32(fd, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	sx_w32(fd, VIRTIO_MMIO_DRIVER_FEATURES, (__u32)(f >> 32));
	if (sx_chance(r, 50)) {
		sx_w32(fd, VIRTIO_MMIO_DRIVER_FEATURES_SEL, sx_range(r, 2, 9));
		sx_w32(fd, VIRTIO_MMIO_DRIVER_FEATURES, (__u32)sx_next(r));
	}
}

struct hg_ctrl_msg {
	unsigned int q;
	__u32 id;
	__u16 event;
	__u16 value;
	unsigned int n;			/* RX buffers to post */
	__u16 used;			/* out: used index */
};

/* One control message on c_ovq, or n buffers on c_ivq. */
static void hg_ctrl_post(void *arg)
{
	struct hg_ctrl_msg *m = arg;
	struct hg_queue *hq = &hg.q[m->q];
	struct vring_desc *desc = hg_desc(m->q);
	struct vring_avail *avail = hg_avail(m->q);
	unsigned int num = hg_num(m->q), i, n = m->n ? m->n : 1;
	struct virtio_console_control w = {
		.id = htole32(m->id),
		.event = htole16(m->event),
		.value = htole16(m->value),
	};

	hg_sync(m->q);
	for (i = 0; i < n; i++) {
		__u16 d = hq->next++ % num;
		__u32 off = HG_CTRL_BUF + (d % 256) * 64;

		if (!m->n)
			memcpy(hg.arena + off, &w, sizeof(w));
		desc[d].addr = hg_gpa(off);
		desc[d].len = m->n ? 64 : sizeof(w);
		desc[d].flags = m->n ? VRING_DESC_F_WRITE : 0;
		desc[d].next = 0;
		avail->ring[hq->avail % num] = d;
		__atomic_thread_fence(__ATOMIC_RELEASE);
		__atomic_store_n(&avail->idx, ++hq->avail, __ATOMIC_RELEASE);
	}
}

static void hg_read_used(void *arg)
{
	struct hg_ctrl_msg *m = arg;

	m->used = __atomic_load_n(&hg_used(m->q)->idx, __ATOMIC_ACQUIRE);
}

static void hg_ctrl_send(struct sx_rng *r, __u32 id, __u16 event, __u16 value)
{
	struct hg_ctrl_msg m = {
		.q = KTSTR_VC_Q_CTRL_TX, .id = id, .event = event, .value = value,
	};

	hg_guarded(hg_ctrl_post, &m);
	hg_kick(r, KTSTR_VC_Q_CTRL_TX);
}

/* Wait (a little) for the device to return want more c_ivq buffers. */
static void hg_ctrl_wait(__u16 from, unsigned int want)
{
	struct hg_ctrl_msg m = { .q = KTSTR_VC_Q_CTRL_RX };
	__u64 end = sx_now_ns() + 200 * SX_NS_PER_MS;

	while (sx_now_ns() < end && !hg_stopping()) {
		if (hg_guarded(hg_read_used, &m) &&
		    (__u16)(m.used - from) >= want)
			return;
		sx_sleep_us(1000);
	}
}

/* The Linux driver's handshake, now and then out of order or repeated. */
static void hg_handshake(struct sx_rng *r)
{
	struct hg_ctrl_msg rx = { .q = KTSTR_VC_Q_CTRL_RX, .n = 16 };

	pthread_mutex_lock(&hg.q[KTSTR_VC_Q_CTRL_RX].lock);
	pthread_mutex_lock(&hg.q[KTSTR_VC_Q_CTRL_TX].lock);
	hg_guarded(hg_read_used, &rx);
	hg_guarded(hg_ctrl_post, &rx);
	hg_kick(r, KTSTR_VC_Q_CTRL_RX);
	if (sx_chance(r, 100))
		hg_ctrl_send(r, 1, VIRTIO_CONSOLE_PORT_READY, 1);
	hg_ctrl_send(r, 0xffffffff, VIRTIO_CONSOLE_DEVICE_READY,
		     sx_chance(r, 50) ? 0 : 1);
	if (sx_chance(r, 100))
		hg_ctrl_send(r, 0, VIRTIO_CONSOLE_DEVICE_READY, 1);
	hg_ctrl_wait(rx.used, 2);
	hg_ctrl_send(r, 0, VIRTIO_CONSOLE_PORT_READY, 1);
	hg_ctrl_send(r, 1, VIRTIO_CONSOLE_PORT_READY, sx_chance(r, 50) ? 0 : 1);
	if (sx_chance(r, 100))
		hg_ctrl_send(r, sx_range(r, 0, 9), VIRTIO_CONSOLE_PORT_READY,
			     sx_below(r, 3));
	hg_ctrl_wait(rx.used, 7);
	if (sx_chance(r, 100))
		hg_ctrl_send(r, 1, VIRTIO_CONSOLE_PORT_OPEN, 0);
	hg_ctrl_send(r, 1, VIRTIO_CONSOLE_PORT_OPEN, 1);
	if (sx_chance(r, 200))
		hg_ctrl_send(r, sx_below(r, 4), VIRTIO_CONSOLE_PORT_OPEN,
			     sx_below(r, 3));
	pthread_mutex_unlock(&hg.q[KTSTR_VC_Q_CTRL_TX].lock);
	pthread_mutex_unlock(&hg.q[KTSTR_VC_Q_CTRL_RX].lock);
	sx_count(SX_C_HANDSHAKES, 1);
}

/* A device start, mostly by the book: reset, ladder, queues, DRIVER_OK. */
static void hg_device_start(int fd, struct sx_rng *r)
{
	unsigned int q;
	__u32 status;

	sx_w32(fd, VIRTIO_MMIO_STATUS, 0);
	sx_count(SX_C_RESETS, 1);
	hg_check_ids(fd);
	sx_w32(fd, VIRTIO_MMIO_STATUS, VC_S_ACK);
	sx_w32(fd, VIRTIO_MMIO_STATUS, VC_S_DRV);
	hg_features(fd, r);
	sx_w32(fd, VIRTIO_MMIO_STATUS, VC_S_FEAT);
	for (q = 0; q < HG_NQ; q++) {
		pthread_mutex_lock(&hg.q[q].lock);
		hg_setup_queue(fd, r, q);
		pthread_mutex_unlock(&hg.q[q].lock);
	}
	if (sx_chance(r, 100))
		hg_setup_queue(fd, r, sx_range(r, HG_NQ, 0xffff));
	__atomic_fetch_add(&hg.gen, 1, __ATOMIC_RELEASE);
	if (hg.wild && sx_chance(r, 30))
		return;
	sx_w32(fd, VIRTIO_MMIO_STATUS, VC_S_OK);
	if (!sx_r32(fd, VIRTIO_MMIO_STATUS, &status) && status == VC_S_OK)
		sx_count(SX_C_DRIVER_OK, 1);
	if (sx_chance(r, 850))
		hg_handshake(r);
}

/* Sleep up to ms, in slices, unless told to stop. */
static void hg_nap(struct sx_rng *r, __u64 lo_ms, __u64 hi_ms)
{
	__u64 end = sx_now_ns() + sx_range(r, lo_ms, hi_ms) * SX_NS_PER_MS;

	while (sx_now_ns() < end && !hg_stopping())
		sx_sleep_us(10000);
}

static void hg_drop_fd(int fd)
{
	if (__atomic_compare_exchange_n(&hg.fd, &fd, -1, false,
					__ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
		__atomic_fetch_add(&hg.fd_gen, 1, __ATOMIC_RELEASE);
		sx_ctrl_close(fd);
	}
}

static void *hg_driver(void *arg)
{
	struct sx_rng *r = arg;
	unsigned int pick;
	__u32 v;
	int fd;

	while (!hg_stopping()) {
		sx_count(SX_C_ITERATIONS, 1);
		fd = hg_session();
		if (fd < 0) {
			hg_nap(r, 5, 100);
			continue;
		}
		hg_device_start(fd, r);
		if (hg.wild)
			hg_nap(r, 100, 3000);
		else
			hg_nap(r, 10000, 25000);
		/* Someone else's session on our fd (a fork child's): let go. */
		if (sx_r32(fd, VIRTIO_MMIO_STATUS, &v) == EPERM) {
			hg_drop_fd(fd);
			continue;
		}
		pick = sx_below(r, 100);
		if (pick < 10 && sx_allowed(SX_A_DETACH))
			hg_detach(fd);
		else if (pick < 18 && sx_allowed(SX_A_CLOSE))
			hg_drop_fd(fd);
	}
	return NULL;
}

/*
 * A VMM re-registering a kick (or the call) while another of its threads
 * may be in DETACH: the race of a session's end with SET_KICK_FD.
 */
static void hg_rekick(int fd, struct sx_rng *r)
{
	unsigned int q = sx_below(r, HG_NQ);

	if (sx_chance(r, 200)) {
		hg_set_call(fd, __atomic_load_n(&hg.call, __ATOMIC_RELAXED), 0, 0);
		return;
	}
	hg_set_kick(fd, q, __atomic_load_n(&hg.kick[q], __ATOMIC_RELAXED), 0);
}

/* Status writes of every kind; resets no more often than allowed. */
static void hg_chaos_status(int fd, struct sx_rng *r)
{
	static const __u32 bits[] = {
		VIRTIO_CONFIG_S_ACKNOWLEDGE, VIRTIO_CONFIG_S_DRIVER,
		VIRTIO_CONFIG_S_FEATURES_OK, VIRTIO_CONFIG_S_DRIVER_OK,
		VIRTIO_CONFIG_S_FAILED, VIRTIO_CONFIG_S_NEEDS_RESET,
	};
	__u64 now = sx_now_ns(), last;
	__u32 status = 0;

	sx_r32(fd, VIRTIO_MMIO_STATUS, &status);
	switch (sx_below(r, 5)) {
	case 0:		/* the next rung, or any bit */
		status |= bits[sx_below(r, ARRAY_SIZE(bits))];
		break;
	case 1:		/* clear one */
		status &= ~bits[sx_below(r, ARRAY_SIZE(bits))];
		break;
	case 2:
		status = (__u32)sx_next(r);
		break;
	case 3:
		status |= VIRTIO_CONFIG_S_FAILED;
		break;
	default:
		last = __atomic_load_n(&hg.last_reset_ns, __ATOMIC_RELAXED);
		if (!sx_allowed(SX_A_RESET) || !hg.reset_gap_ns ||
		    now - last < hg.reset_gap_ns)
			return;
		__atomic_store_n(&hg.last_reset_ns, now, __ATOMIC_RELAXED);
		sx_count(SX_C_RESETS, 1);
		status = 0;
		break;
	}
	sx_w32(fd, VIRTIO_MMIO_STATUS, status);
}

/* Any offset, any width, any flags; malformed ones must be refused. */
static void hg_chaos_raw(int fd, struct sx_rng *r)
{
	struct ktstr_vc_mmio m = {
		.offset = sx_below(r, KTSTR_VC_MMIO_SIZE),
		.len = sx_range(r, 1, 8),
		.flags = sx_chance(r, 300) ? KTSTR_VC_MMIO_WRITE : 0,
	};
	unsigned int flags = 0;
	__u64 data = sx_next(r);

	memcpy(m.data, &data, sizeof(m.data));
	switch (sx_below(r, 12)) {
	case 0:
		m.len = sx_chance(r, 500) ? 0 : sx_range(r, 9, 0xffffffff);
		flags = SX_F_MUST_FAIL;
		break;
	case 1:
		m.offset = sx_range(r, KTSTR_VC_MMIO_SIZE, 0xffffffff);
		flags = SX_F_MUST_FAIL;
		break;
	case 2:
		m.offset = KTSTR_VC_MMIO_SIZE - sx_range(r, 1, 7);
		m.len = 8;
		flags = SX_F_MUST_FAIL;
		break;
	case 3:
		m.flags |= 1u << sx_range(r, 1, 31);
		flags = SX_F_MUST_FAIL;
		break;
	case 4:
		m.padding = sx_range(r, 1, 0xffffffff);
		flags = SX_F_MUST_FAIL;
		break;
	case 5:
		sx_ioctl(SX_K_MMIO, fd, KTSTR_VC_MMIO,
			 sx_chance(r, 500) ? NULL : hg.arena + HG_HOLE_OFF,
			 SX_F_MUST_FAIL);
		return;
	default:
		break;
	}
	sx_ioctl(SX_K_MMIO, fd, KTSTR_VC_MMIO, &m, flags);
}

static void hg_chaos_queue(int fd, struct sx_rng *r)
{
	static const __u32 regs[] = {
		VIRTIO_MMIO_QUEUE_NUM, VIRTIO_MMIO_QUEUE_READY,
		VIRTIO_MMIO_QUEUE_DESC_LOW, VIRTIO_MMIO_QUEUE_DESC_HIGH,
		VIRTIO_MMIO_QUEUE_AVAIL_LOW, VIRTIO_MMIO_QUEUE_AVAIL_HIGH,
		VIRTIO_MMIO_QUEUE_USED_LOW, VIRTIO_MMIO_QUEUE_USED_HIGH,
	};

	if (sx_chance(r, 300))
		sx_w32(fd, VIRTIO_MMIO_QUEUE_SEL,
		       sx_chance(r, 800) ? sx_below(r, HG_NQ) : sx_next(r));
	sx_w32(fd, regs[sx_below(r, ARRAY_SIZE(regs))],
	       sx_chance(r, 500) ? sx_below(r, 512) : (__u32)sx_next(r));
}

static void hg_chaos_read(int fd, struct sx_rng *r)
{
	static const __u32 regs[] = {
		VIRTIO_MMIO_MAGIC_VALUE, VIRTIO_MMIO_VERSION,
		VIRTIO_MMIO_DEVICE_ID, VIRTIO_MMIO_VENDOR_ID,
		VIRTIO_MMIO_DEVICE_FEATURES, VIRTIO_MMIO_QUEUE_NUM_MAX,
		VIRTIO_MMIO_QUEUE_NUM, VIRTIO_MMIO_QUEUE_READY,
		VIRTIO_MMIO_QUEUE_DESC_LOW, VIRTIO_MMIO_QUEUE_USED_HIGH,
		VIRTIO_MMIO_INTERRUPT_STATUS, VIRTIO_MMIO_STATUS,
		VIRTIO_MMIO_CONFIG_GENERATION, VIRTIO_MMIO_QUEUE_NOTIFY,
		VIRTIO_MMIO_DRIVER_FEATURES,
	};
	__u8 data[8];
	__u32 v;

	if (sx_chance(r, 200)) {
		sx_mmio(fd, KTSTR_VC_CONFIG_OFFSET + sx_below(r, 16),
			1u << sx_below(r, 4), false, data, 0);
		return;
	}
	if (sx_chance(r, 100)) {
		hg_check_ids(fd);
		return;
	}
	sx_r32(fd, regs[sx_below(r, ARRAY_SIZE(regs))], &v);
}

/* One register access of some kind, at whatever state the device is. */
static void hg_chaos_one(int fd, struct sx_rng *r)
{
	unsigned int pick = sx_below(r, 1000);
	__u8 data[8] = { 0 };

	if (hg_detaching() && sx_chance(r, 500))
		hg_rekick(fd, r);
	else if (pick < 450)
		hg_chaos_read(fd, r);
	else if (pick < 560)
		hg_chaos_raw(fd, r);
	else if (pick < 640)
		sx_w32(fd, sx_chance(r, 500) ? VIRTIO_MMIO_DEVICE_FEATURES_SEL :
		       VIRTIO_MMIO_DRIVER_FEATURES_SEL,
		       sx_chance(r, 800) ? sx_below(r, 4) : (__u32)sx_next(r));
	else if (pick < 740)
		sx_w32(fd, VIRTIO_MMIO_QUEUE_NOTIFY,
		       sx_chance(r, 850) ? sx_below(r, HG_NQ) : (__u32)sx_next(r));
	else if (pick < 780)
		sx_w32(fd, VIRTIO_MMIO_INTERRUPT_ACK, (__u32)sx_next(r));
	else if (pick < 850)
		hg_chaos_queue(fd, r);
	else if (pick < 900)
		hg_chaos_status(fd, r);
	else if (pick < 930)
		sx_w32(fd, VIRTIO_MMIO_DRIVER_FEATURES, (__u32)sx_next(r));
	else if (pick < 970)
		sx_mmio(fd, KTSTR_VC_CONFIG_OFFSET + sx_below(r, 16),
			sx_range(r, 1, 4), true, data, 0);
	else
		hg_rekick(fd, r);
}

static void *hg_mmio(void *arg)
{
	struct sx_rng *r = arg;
	unsigned int i, burst;
	int fd = -1;

	while (!hg_stopping()) {
		burst = sx_range(r, 1, 64);
		for (i = 0; i < burst && !hg_stopping(); i++) {
			fd = hg_fd();
			if (fd < 0)
				break;
			hg_chaos_one(fd, r);
			sx_count(SX_C_ITERATIONS, 1);
		}
		if (fd < 0) {
			hg_nap(r, 2, 20);
			continue;
		}
		/* While another thread detaches: no pause. */
		if (hg_detaching())
			continue;
		/* A steady guest's chaos leaves the CPU to its rewriter. */
		if (!hg.wild)
			hg_nap(r, 5, 50);
		else if (sx_chance(r, 500))
			sched_yield();
		else
			sx_sleep_us(sx_below(r, 3000));
	}
	return NULL;
}

/* Addresses and lengths at the edges of guest memory and beyond. */
static void hg_edge(struct sx_rng *r, __u64 *gpa, __u32 *len)
{
	static const struct {
		__u64 gpa;
		__u32 len;
	} edges[] = {
		{ HG_R0_GPA + HG_R0_SIZE - 1, 2 },	/* R0 into R3 */
		{ HG_R0_GPA + HG_R0_SIZE - 16, 16 },	/* R0's last bytes */
		{ HG_R0_GPA - 1, 2 },
		{ HG_R0_GPA - HG_PAGE, HG_PAGE },	/* below R0 */
		{ ~0ull, 1 },				/* 2^64 - 1: valid */
		{ ~0ull, 2 },				/* wraps */
		{ ~0ull - 15, 32 },
		{ HG_R1_GPA, HG_RX_SIZE },		/* all of R1 */
		{ HG_R1_GPA - 1, 1 },
		{ HG_R2_GPA, 1 },			/* gpa 0 */
		{ HG_R2_GPA, 0 },
		{ HG_R2_GPA + HG_RX_SIZE - 1, 2 },	/* off R2's end */
		{ HG_R3_GPA + HG_RX_SIZE - 8, 8 },
		{ 1ull << 63, HG_PAGE },
		{ 0x100000000ull, 0xffffffff },
	};
	unsigned int i = sx_below(r, ARRAY_SIZE(edges) + 2);

	if (i < ARRAY_SIZE(edges)) {
		*gpa = edges[i].gpa;
		*len = edges[i].len;
		return;
	}
	*gpa = sx_next(r);
	*len = (__u32)sx_next(r);
}

static __u32 hg_big_len(struct sx_rng *r)
{
	static const __u32 lens[] = {
		0xffffffff, 0x80000000, 32 * 1024 + 1, 1u << 20, 0x10000,
		HG_DATA_SIZE,
	};

	return lens[sx_below(r, ARRAY_SIZE(lens))];
}

struct hg_ring_ctx {
	struct sx_rng *r;
	unsigned int q;
};

static void hg_publish(unsigned int q, __u16 head)
{
	struct hg_queue *hq = &hg.q[q];
	struct vring_avail *avail = hg_avail(q);

	avail->ring[hq->avail % hg_num(q)] = head;
	__atomic_thread_fence(__ATOMIC_RELEASE);
	__atomic_store_n(&avail->idx, ++hq->avail, __ATOMIC_RELEASE);
	sx_count(SX_C_CHAINS_POSTED, 1);
}

static void hg_set_desc(unsigned int q, __u16 d, __u64 addr, __u32 len,
			__u16 flags, __u16 next)
{
	struct vring_desc *desc = &hg_desc(q)[d];

	desc->addr = addr;
	desc->len = len;
	desc->flags = flags;
	desc->next = next;
}

/* Control messages short, long, repeated and out of order. */
static void hg_ctrl_garbage(struct sx_rng *r, __u16 head, unsigned int num)
{
	static const __u16 events[] = {
		VIRTIO_CONSOLE_DEVICE_READY, VIRTIO_CONSOLE_PORT_READY,
		VIRTIO_CONSOLE_PORT_OPEN, VIRTIO_CONSOLE_DEVICE_READY,
		VIRTIO_CONSOLE_PORT_READY, VIRTIO_CONSOLE_PORT_OPEN,
		VIRTIO_CONSOLE_PORT_ADD, VIRTIO_CONSOLE_PORT_REMOVE,
		VIRTIO_CONSOLE_CONSOLE_PORT, VIRTIO_CONSOLE_RESIZE,
		VIRTIO_CONSOLE_PORT_NAME, 0xffff,
	};
	static const __u32 ids[] = { 0, 1, 2, 0xffffffff };
	__u32 off = HG_CTRL_BUF + 0x8000 + (head % 256) * 32, len, first;
	struct virtio_console_control m = {
		.id = sx_chance(r, 800) ? ids[sx_below(r, 4)] : (__u32)sx_next(r),
		.event = events[sx_below(r, ARRAY_SIZE(events))],
		.value = sx_chance(r, 800) ? sx_below(r, 3) : (__u16)sx_next(r),
	};
	__u64 tail = sx_next(r);

	memcpy(hg.arena + off, &m, sizeof(m));
	memcpy(hg.arena + off + sizeof(m), &tail, sizeof(tail));
	len = sx_chance(r, 600) ? sizeof(m) : sx_below(r, 17);
	first = sx_chance(r, 700) ? len : sx_below(r, len + 1);
	if (first == len) {
		hg_set_desc(KTSTR_VC_Q_CTRL_TX, head, hg_gpa(off), len, 0, 0);
	} else {
		hg_set_desc(KTSTR_VC_Q_CTRL_TX, head, hg_gpa(off), first,
			    VRING_DESC_F_NEXT, (head + 1) % num);
		hg_set_desc(KTSTR_VC_Q_CTRL_TX, (head + 1) % num,
			    hg_gpa(off + first), len - first, 0, 0);
	}
	sx_count(SX_C_CTRL_GARBAGE, 1);
}

/* One to three buffers as a driver would give them. */
static unsigned int hg_honest(struct sx_rng *r, unsigned int q, __u16 head,
			      unsigned int num)
{
	unsigned int n = sx_range(r, 1, num < 3 ? num : 3), i;
	bool tx = hg_is_tx(q);

	if (q == KTSTR_VC_Q_CTRL_TX) {
		hg_ctrl_garbage(r, head, num);
		return num > 1 ? 2 : 1;
	}
	for (i = 0; i < n; i++) {
		__u16 d = (head + i) % num;
		__u32 len = sx_chance(r, 50) ? sx_range(r, 4097, 32 * 1024) :
			    sx_range(r, 1, q == KTSTR_VC_Q_CTRL_RX ? 64 : 4096);
		__u32 off = HG_DATA(q) + sx_below(r, HG_DATA_SIZE - len);

		if (tx)
			memset(hg.arena + off, 'a' + hg.slot, len < 64 ? len : 64);
		hg_set_desc(q, d, hg_gpa(off), len,
			    (tx ? 0 : VRING_DESC_F_WRITE) |
			    (i + 1 < n ? VRING_DESC_F_NEXT : 0),
			    (d + 1) % num);
	}
	return n;
}

enum hg_hostile {
	HG_H_AVAIL_JUMP,
	HG_H_AVAIL_BACK,
	HG_H_HEAD,
	HG_H_NEXT,
	HG_H_LOOP,
	HG_H_LONG,
	HG_H_BIGLEN,
	HG_H_EDGE,
	HG_H_ZERO,
	HG_H_INDIRECT,
	HG_H_WRONG_DIR,
	HG_H_INTO_RINGS,
	HG_H_MIXED,
	HG_NR_HOSTILE
};

/* Where the rings are: this queue's or another's desc, avail or used. */
static void hg_into_rings(struct sx_rng *r, __u64 *gpa, __u32 *len)
{
	static const __u32 parts[] = { 0, HG_AVAIL, HG_USED };

	*gpa = hg_gpa(sx_below(r, HG_NQ) * HG_AREA +
		      parts[sx_below(r, ARRAY_SIZE(parts))] + sx_below(r, 64));
	*len = sx_range(r, 1, HG_PAGE);
}

/* A hostile chain at head: the descriptors it used (0: none, no post). */
static unsigned int hg_hostile(struct sx_rng *r, unsigned int q, __u16 head,
			       unsigned int num, __u16 used)
{
	__u16 dir = hg_is_tx(q) ? 0 : VRING_DESC_F_WRITE, d1 = (head + 1) % num;
	struct vring_avail *avail = hg_avail(q);
	__u64 gpa = hg_gpa(HG_DATA(q));
	unsigned int i, n;
	__u32 len = 64;

	sx_count(SX_C_HOSTILE_CHAINS, 1);
	switch (sx_below(r, HG_NR_HOSTILE)) {
	case HG_H_AVAIL_JUMP:
		__atomic_store_n(&avail->idx,
				 (__u16)(used + num + 1 + sx_below(r, 65000)),
				 __ATOMIC_RELEASE);
		return 0;
	case HG_H_AVAIL_BACK:
		__atomic_store_n(&avail->idx, (__u16)(used - 1 - sx_below(r, 100)),
				 __ATOMIC_RELEASE);
		return 0;
	case HG_H_HEAD:
		avail->ring[hg.q[q].avail % num] = num + sx_below(r, 65536 - num);
		__atomic_store_n(&avail->idx, ++hg.q[q].avail, __ATOMIC_RELEASE);
		return 0;
	case HG_H_NEXT:
		hg_set_desc(q, head, gpa, len, dir | VRING_DESC_F_NEXT,
			    num + sx_below(r, 65536 - num));
		return 1;
	case HG_H_LOOP:
		hg_set_desc(q, head, gpa, len, dir | VRING_DESC_F_NEXT, d1);
		hg_set_desc(q, d1, gpa, len, dir | VRING_DESC_F_NEXT, head);
		return 2;
	case HG_H_LONG:
		for (i = 0; i < num; i++)
			hg_set_desc(q, i, gpa, 1, dir | VRING_DESC_F_NEXT,
				    (i + 1) % num);
		return num;
	case HG_H_BIGLEN:
		hg_set_desc(q, head, gpa, hg_big_len(r), dir, 0);
		return 1;
	case HG_H_EDGE:
		hg_edge(r, &gpa, &len);
		hg_set_desc(q, head, gpa, len, dir, 0);
		return 1;
	case HG_H_ZERO:
		n = sx_range(r, 1, num < 16 ? num : 16);
		for (i = 0; i < n; i++)
			hg_set_desc(q, (head + i) % num, sx_next(r), 0,
				    dir | (i + 1 < n ? VRING_DESC_F_NEXT : 0),
				    (head + i + 1) % num);
		return n;
	case HG_H_INDIRECT:
		for (i = 0; i < 4; i++)
			memcpy(hg.arena + HG_DATA(q) + 16 * i,
			       &(struct vring_desc){ gpa + 256, 16, dir, 0 }, 16);
		hg_set_desc(q, head, gpa, 64, VRING_DESC_F_INDIRECT |
			    (sx_chance(r, 300) ? VRING_DESC_F_NEXT : 0), d1);
		return 1;
	case HG_H_WRONG_DIR:
		hg_set_desc(q, head, gpa, len, dir ^ VRING_DESC_F_WRITE, 0);
		return 1;
	case HG_H_INTO_RINGS:
		hg_into_rings(r, &gpa, &len);
		hg_set_desc(q, head, gpa, len, dir, 0);
		return 1;
	default:
		n = num < 3 ? num : 3;
		for (i = 0; i < n; i++)
			hg_set_desc(q, (head + i) % num, gpa + 128 * i, 128,
				    (i & 1 ? VRING_DESC_F_WRITE : 0) |
				    (i + 1 < n ? VRING_DESC_F_NEXT : 0),
				    (head + i + 1) % num);
		return n;
	}
}

/* One step of the ring thread on one queue, under its lock. */
static void hg_ring_step(void *arg)
{
	struct hg_ring_ctx *c = arg;
	struct hg_queue *hq = &hg.q[c->q];
	unsigned int num = hg_num(c->q), n;
	__u16 used, head;

	hg_sync(c->q);
	used = __atomic_load_n(&hg_used(c->q)->idx, __ATOMIC_ACQUIRE);
	if ((__u16)(used - hq->used) <= num)
		sx_count(SX_C_CHAINS_USED, (__u16)(used - hq->used));
	hq->used = used;
	head = hq->next % num;
	if (sx_chance(c->r, 80 + 60 * hg.wild)) {
		n = hg_hostile(c->r, c->q, head, num, used);
	} else {
		/* A full ring (or one the device refused): start over. */
		if ((__u16)(hq->avail - used) >= num) {
			hq->avail = used;
			__atomic_store_n(&hg_avail(c->q)->idx, used,
					 __ATOMIC_RELEASE);
			return;
		}
		n = hg_honest(c->r, c->q, head, num);
	}
	if (!n)
		return;
	hq->next = (head + n) % num;
	hg_publish(c->q, head);
}

static unsigned int hg_pick_queue(struct sx_rng *r)
{
	static const __u8 weights[HG_NQ] = { 12, 20, 8, 15, 12, 33 };
	unsigned int pick = sx_below(r, 100), q;

	for (q = 0; q < HG_NQ - 1; q++) {
		if (pick < weights[q])
			return q;
		pick -= weights[q];
	}
	return HG_NQ - 1;
}

static void hg_take_calls(struct sx_rng *r)
{
	struct pollfd pfd = {
		.fd = __atomic_load_n(&hg.call, __ATOMIC_RELAXED),
		.events = POLLIN,
	};
	__u64 n;

	if (poll(&pfd, 1, sx_below(r, 3)) > 0 && read(pfd.fd, &n, sizeof(n)) < 0)
		return;
}

static void *hg_ring(void *arg)
{
	struct hg_ring_ctx c = { .r = arg };

	while (!hg_stopping()) {
		sx_count(SX_C_ITERATIONS, 1);
		c.q = hg_pick_queue(c.r);
		if ((int)c.q == __atomic_load_n(&hg.repost_q, __ATOMIC_RELAXED))
			continue;
		pthread_mutex_lock(&hg.q[c.q].lock);
		hg_guarded(hg_ring_step, &c);
		pthread_mutex_unlock(&hg.q[c.q].lock);
		if (sx_chance(c.r, 900))
			hg_kick(c.r, c.q);
		if (sx_chance(c.r, 100))
			hg_take_calls(c.r);
		if (sx_chance(c.r, 50))
			sx_sleep_us(sx_below(c.r, 2000));
	}
	return NULL;
}

enum hg_rw_mode {
	HG_RW_QUIET,
	HG_RW_SCRIBBLE,
	HG_RW_FLIP,
	HG_RW_REPOST,
};

struct hg_rw {
	struct sx_rng *r;
	enum hg_rw_mode mode;
	unsigned int q;
	unsigned int num;
	unsigned int variant;		/* repost: zero, self-loop, ring-long */
	__u16 seen;			/* repost: chains seen consumed */
	__u64 end_ns;
};

/* Random descriptor fields and avail entries, as the device reads them. */
static void hg_rw_scribble(void *arg)
{
	struct hg_rw *w = arg;
	unsigned int i, q, num, d;
	__u64 gpa;
	__u32 len;

	for (i = 0; i < 64; i++) {
		q = sx_below(w->r, HG_NQ);
		num = hg_num(q);
		d = sx_below(w->r, num);
		switch (sx_below(w->r, 6)) {
		case 0:
			hg_edge(w->r, &gpa, &len);
			hg_desc(q)[d].addr = gpa;
			break;
		case 1:
			hg_desc(q)[d].len = sx_chance(w->r, 500) ?
					    hg_big_len(w->r) : sx_below(w->r, 4096);
			break;
		case 2:
			hg_desc(q)[d].flags = sx_below(w->r, 8);
			break;
		case 3:
			hg_desc(q)[d].next = sx_chance(w->r, 800) ?
					     sx_below(w->r, num) : (__u16)sx_next(w->r);
			break;
		case 4:
			hg_avail(q)->ring[d] = sx_chance(w->r, 800) ?
					       sx_below(w->r, num) : (__u16)sx_next(w->r);
			break;
		default:
			__atomic_fetch_add(&hg_avail(q)->idx, 1, __ATOMIC_RELEASE);
			break;
		}
		sx_count(SX_C_REWRITES, 1);
	}
}

/* Chains the device is about to walk change shape under it. */
static void hg_rw_flip(void *arg)
{
	struct hg_rw *w = arg;
	struct vring_desc *desc = hg_desc(w->q);
	unsigned int i;

	for (i = 0; i < w->num; i++) {
		desc[i].flags ^= VRING_DESC_F_NEXT;
		desc[i].next = sx_below(w->r, w->num);
	}
	sx_count(SX_C_REWRITES, w->num);
}

/* The chains to repost: zero-byte, looping, or the whole ring long. */
static void hg_rw_repost_prepare(void *arg)
{
	struct hg_rw *w = arg;
	__u16 dir = hg_is_tx(w->q) ? 0 : VRING_DESC_F_WRITE;
	struct vring_used *used = hg_used(w->q);
	unsigned int i;

	for (i = 0; i < w->num; i++) {
		if (w->variant == 0)
			hg_set_desc(w->q, i, sx_next(w->r), 0, dir, 0);
		else if (w->variant == 1)
			hg_set_desc(w->q, i, HG_NOWHERE_GPA, 16,
				    dir | VRING_DESC_F_NEXT, i);
		else
			hg_set_desc(w->q, i, HG_NOWHERE_GPA, 1,
				    dir | VRING_DESC_F_NEXT, (i + 1) % w->num);
		hg_avail(w->q)->ring[i] = i;
		used->ring[i].id = HG_SENTINEL;
	}
	w->seen = __atomic_load_n(&used->idx, __ATOMIC_ACQUIRE);
}

/*
 * Nothing taken for a while: the device is idle, its used index is true.
 * A run that was under way when the burst began wrote entries before we
 * armed them; start again from where the device says it is.
 */
static void hg_rw_repost_resync(struct hg_rw *w)
{
	struct vring_used *used = hg_used(w->q);
	__u16 idx = __atomic_load_n(&used->idx, __ATOMIC_ACQUIRE);
	unsigned int i;

	if ((__u16)(idx - w->seen) > w->num)
		return;
	for (i = 0; i < w->num; i++)
		used->ring[i].id = HG_SENTINEL;
	w->seen = idx;
}

/*
 * The device writes each used entry as it takes the chain, but the used
 * index only when the run ends: so follow the entries (each re-armed with
 * a sentinel) and keep the avail index num - 1 ahead of them, just inside
 * what the device accepts.  Without a bound on the run, it never ends.
 */
static void hg_rw_repost(void *arg)
{
	struct hg_rw *w = arg;
	struct vring_used *used = hg_used(w->q);
	unsigned int i, round, taken = 0;

	/* Many rounds per guard: each guard costs a system call. */
	for (round = 0; round < 1024; round++) {
		for (i = 0; i < w->num; i++) {
			struct vring_used_elem *e = &used->ring[w->seen % w->num];

			if (__atomic_load_n(&e->id, __ATOMIC_ACQUIRE) == HG_SENTINEL)
				break;
			e->id = HG_SENTINEL;
			w->seen++;
		}
		taken += i;
		__atomic_store_n(&hg_avail(w->q)->idx,
				 (__u16)(w->seen + w->num - 1), __ATOMIC_RELEASE);
	}
	if (!taken)
		hg_rw_repost_resync(w);
	sx_count(SX_C_REPOSTED, taken);
	sx_count(SX_C_REWRITES, 1);
}

/*
 * A steady guest's endless re-post runs at nice -20, nearly as a vCPU
 * thread with a host CPU of its own would: a device that waits for the
 * guest to fall behind must not get its way by the host's scheduler.
 */
static void hg_rw_priority(bool on)
{
	setpriority(PRIO_PROCESS, gettid(), on ? -20 : 0);
}

static void hg_rw_burst(struct hg_rw *w)
{
	unsigned int n = 0;

	while (sx_now_ns() < w->end_ns && !hg_stopping()) {
		switch (w->mode) {
		case HG_RW_SCRIBBLE:
			hg_guarded(hg_rw_scribble, w);
			sx_sleep_us(sx_below(w->r, 300));
			break;
		case HG_RW_FLIP:
			hg_guarded(hg_rw_flip, w);
			sched_yield();
			break;
		case HG_RW_REPOST:
			/* No ioctl here: the device's run holds its lock. */
			hg_guarded(hg_rw_repost, w);
			if (!(++n % 64))
				hg_kick_efd(w->q);
			break;
		default:
			sx_sleep_us(20000);
			break;
		}
	}
}

static void *hg_rewriter(void *arg)
{
	static const __u8 repost_q[] = { 5, 5, 5, 5, 5, 1, 1, 3, 3, 0, 4 };
	struct hg_rw w = { .r = arg };
	unsigned int pick;
	bool first = true;

	while (!hg_stopping()) {
		sx_count(SX_C_ITERATIONS, 1);
		pick = sx_below(w.r, 100);
		/* A steady guest starts with it, once the device is up. */
		if (first && !hg.wild && sx_allowed(SX_A_REPOST)) {
			hg_nap(w.r, 1000, 3000);
			pick = 99;
		}
		first = false;
		w.mode = pick < 25 ? HG_RW_QUIET : pick < 55 ? HG_RW_SCRIBBLE :
			 pick < 80 ? HG_RW_FLIP : HG_RW_REPOST;
		if (w.mode == HG_RW_REPOST && !sx_allowed(SX_A_REPOST))
			w.mode = HG_RW_QUIET;
		w.q = w.mode == HG_RW_REPOST ?
		      repost_q[sx_below(w.r, sizeof(repost_q))] :
		      sx_below(w.r, HG_NQ);
		w.variant = sx_below(w.r, 3);
		w.end_ns = sx_now_ns() + sx_range(w.r, 200, 3000) * SX_NS_PER_MS;
		/*
		 * A steady guest aims at the run bound itself: a port's TX
		 * ring of looping chains, dear to walk, for a long while.
		 */
		if (w.mode == HG_RW_REPOST && !hg.wild) {
			w.q = sx_chance(w.r, 750) ? KTSTR_VC_Q_PORT1_TX :
			      KTSTR_VC_Q_PORT0_TX;
			w.variant = sx_range(w.r, 1, 2);
			w.end_ns += sx_range(w.r, 20000, 32000) * SX_NS_PER_MS;
		}
		w.num = hg_num(w.q);
		if (w.mode == HG_RW_REPOST) {
			if (!hg_guarded(hg_rw_repost_prepare, &w))
				continue;
			__atomic_store_n(&hg.repost_q, w.q, __ATOMIC_RELAXED);
			sx_count(SX_C_REPOSTS, 1);
		}
		if (w.mode == HG_RW_REPOST && !hg.wild &&
		    sx_allowed(SX_A_PRIORITY))
			hg_rw_priority(true);
		hg_rw_burst(&w);
		hg_rw_priority(false);
		__atomic_store_n(&hg.repost_q, -1, __ATOMIC_RELAXED);
	}
	return NULL;
}

/* Guest memory the VMM took away or made read-only, to give back. */
struct hg_restore {
	__u32 off;
	__u32 len;
	__u64 due_ns;
	bool unmapped;
};

struct hg_vmm {
	struct sx_rng *r;
	struct hg_restore pending[8];
	unsigned int npending;
};

static void hg_restore_one(struct hg_restore *p)
{
	void *at = hg.arena + p->off;

	sx_begin(SX_K_MEMORY, 0);
	if (p->unmapped) {
		void *m = mmap(at, p->len, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
			       -1, 0);

		sx_end(SX_K_MEMORY, m == at ? 0 : m == MAP_FAILED ? errno : EEXIST, 0);
		if (m != at && m != MAP_FAILED)
			munmap(m, p->len);
		return;
	}
	sx_end(SX_K_MEMORY, mprotect(at, p->len, PROT_READ | PROT_WRITE) ?
	       errno : 0, 0);
}

static void hg_restore_due(struct hg_vmm *v, bool all)
{
	unsigned int i = 0;

	while (i < v->npending) {
		if (all || sx_now_ns() >= v->pending[i].due_ns) {
			hg_restore_one(&v->pending[i]);
			v->pending[i] = v->pending[--v->npending];
			continue;
		}
		i++;
	}
}

/* Take away (or write-protect) part of guest memory for a while. */
static void hg_vmm_memory(struct hg_vmm *v)
{
	struct hg_restore *p;
	unsigned int i;
	__u32 off, len;
	int ret;

	if (v->npending == ARRAY_SIZE(v->pending))
		return;
	len = sx_range(v->r, 1, 128) * HG_PAGE;
	off = sx_below(v->r, (HG_SPARE_OFF - len) / HG_PAGE) * HG_PAGE;
	for (i = 0; i < v->npending; i++)
		if (off < v->pending[i].off + v->pending[i].len &&
		    v->pending[i].off < off + len)
			return;
	p = &v->pending[v->npending];
	p->off = off;
	p->len = len;
	p->due_ns = sx_now_ns() + sx_range(v->r, 5, 500) * SX_NS_PER_MS;
	p->unmapped = sx_chance(v->r, 500);
	sx_begin(SX_K_MEMORY, 0);
	if (p->unmapped)
		ret = munmap(hg.arena + off, len);
	else
		ret = mprotect(hg.arena + off, len,
			       sx_chance(v->r, 500) ? PROT_READ : PROT_NONE);
	if (sx_end(SX_K_MEMORY, ret ? errno : 0, 0))
		return;
	sx_count(p->unmapped ? SX_C_UNMAPS : SX_C_MPROTECTS, 1);
	v->npending++;
}

/* A valid table other than the standard one. */
static void hg_vmm_alt_table(struct hg_vmm *v, int fd)
{
	struct ktstr_vc_mem_region r[KTSTR_VC_MAX_MEM_REGIONS];
	unsigned int i, n = ARRAY_SIZE(hg_regions);

	for (i = 0; i < n; i++)
		hg_region(&r[i], hg_regions[i].gpa, hg_regions[i].off,
			  hg_regions[i].size);
	switch (sx_below(v->r, 5)) {
	case 0:		/* one region gone (R0: the rings are outside) */
		n--;
		r[sx_below(v->r, n + 1)] = r[n];
		break;
	case 1:		/* the rings' gpa backed by other memory */
		hg_region(&r[0], HG_R0_GPA, HG_SPARE_OFF, HG_RX_SIZE);
		break;
	case 2:		/* R1 backed by memory nobody may touch */
		hg_region(&r[1], HG_R1_GPA, HG_HOLE_OFF, HG_RX_SIZE);
		break;
	case 3:		/* the most regions there may be, a page each */
		for (i = 0; i < KTSTR_VC_MAX_MEM_REGIONS; i++)
			hg_region(&r[i], HG_R0_GPA + 2ull * i * HG_PAGE,
				  i * HG_PAGE, HG_PAGE);
		n = KTSTR_VC_MAX_MEM_REGIONS;
		break;
	default:	/* two gpas, the same memory; in another order */
		hg_region(&r[3], HG_R3_GPA, 0, HG_RX_SIZE);
		r[4] = r[0];
		r[0] = r[3];
		r[3] = r[4];
		break;
	}
	hg_table(fd, r, n, 0);
}

/* Tables the module must refuse. */
static void hg_vmm_bad_table(struct hg_vmm *v, int fd)
{
	struct ktstr_vc_mem_region r[2];
	struct ktstr_vc_mem_table *edge;
	unsigned int n = 2;

	hg_region(&r[0], HG_R0_GPA, 0, HG_R0_SIZE);
	hg_region(&r[1], HG_R1_GPA, 4u << 20, HG_RX_SIZE);
	switch (sx_below(v->r, 13)) {
	case 0:
		n = 0;
		break;
	case 1:
		n = KTSTR_VC_MAX_MEM_REGIONS + 1;
		break;
	case 2:
		r[1].flags = 1;
		break;
	case 3:
		r[1].guest_phys_addr += sx_range(v->r, 1, HG_PAGE - 1);
		break;
	case 4:
		r[1].size = sx_chance(v->r, 500) ? 0 : HG_PAGE + 1;
		break;
	case 5:
		r[1].userspace_addr += 8;
		break;
	case 6:		/* overlapping */
		r[1].guest_phys_addr = HG_R0_GPA + HG_PAGE;
		break;
	case 7:		/* gpa + size past 2^64 */
		r[1].guest_phys_addr = ~0ull - HG_PAGE + 1;
		r[1].size = 2 * HG_PAGE;
		break;
	case 8:		/* kernel memory */
		r[1].userspace_addr = 0xffff888000000000ull;
		break;
	case 9:
		r[1].userspace_addr = ~0ull - HG_PAGE + 1;
		r[1].size = 2 * HG_PAGE;
		break;
	case 10:
		sx_ioctl(SX_K_MEM_TABLE, fd, KTSTR_VC_SET_MEM_TABLE,
			 sx_chance(v->r, 500) ? NULL : hg.arena + HG_HOLE_OFF,
			 SX_F_MUST_FAIL);
		return;
	case 11:	/* the header readable, the regions not */
		edge = (void *)(hg.arena + HG_HOLE_OFF - sizeof(*edge));
		edge->nregions = KTSTR_VC_MAX_MEM_REGIONS;
		edge->padding = 0;
		sx_ioctl(SX_K_MEM_TABLE, fd, KTSTR_VC_SET_MEM_TABLE, edge,
			 SX_F_MUST_FAIL);
		return;
	default:
		{
			struct ktstr_vc_mem_table t = { .nregions = 1, .padding = 1 };

			sx_ioctl(SX_K_MEM_TABLE, fd, KTSTR_VC_SET_MEM_TABLE, &t,
				 SX_F_MUST_FAIL);
		}
		return;
	}
	hg_table(fd, r, n, SX_F_MUST_FAIL);
}

/* Kick fds swapped, removed, closed under the module, or not eventfds. */
static void hg_vmm_kicks(struct hg_vmm *v, int fd)
{
	unsigned int q = sx_below(v->r, HG_NQ);
	int old, efd;

	sx_count(SX_C_FD_SWAPS, 1);
	switch (sx_below(v->r, 8)) {
	case 0:
		hg_set_kick(fd, q, hg.kick[sx_below(v->r, HG_NQ)], 0);
		break;
	case 1:
		hg_set_kick(fd, q, -1, 0);
		break;
	case 2:		/* the call eventfd as a kick */
		hg_set_kick(fd, q, hg.call, 0);
		break;
	case 3:
		hg_set_kick(fd, q, sx_chance(v->r, 500) ? hg.null : fd,
			    SX_F_MUST_FAIL);
		break;
	case 4:
		hg_set_kick(fd, q, sx_chance(v->r, 500) ? -2 : 999999,
			    SX_F_MUST_FAIL);
		break;
	case 5:
		hg_set_kick(fd, sx_range(v->r, HG_NQ, 0xffffffff), hg.kick[0],
			    SX_F_MUST_FAIL);
		break;
	default:	/* closed while the module holds it, a new one after */
		efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (efd < 0)
			break;
		old = __atomic_exchange_n(&hg.kick[q], efd, __ATOMIC_ACQ_REL);
		close(old);
		if (sx_chance(v->r, 500))
			hg_set_kick(fd, q, efd, 0);
		break;
	}
}

static void hg_vmm_call(struct hg_vmm *v, int fd)
{
	int old, efd;

	sx_count(SX_C_FD_SWAPS, 1);
	switch (sx_below(v->r, 6)) {
	case 0:		/* a kick eventfd as the call: each call a kick */
		hg_set_call(fd, hg.kick[sx_below(v->r, HG_NQ)], 0, 0);
		break;
	case 1:
		hg_set_call(fd, -1, 0, 0);
		break;
	case 2:
		hg_set_call(fd, hg.call, sx_range(v->r, 1, 0xffffffff),
			    SX_F_MUST_FAIL);
		break;
	case 3:
		hg_set_call(fd, sx_chance(v->r, 500) ? hg.null : -7,
			    0, SX_F_MUST_FAIL);
		break;
	case 4:
		efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (efd < 0)
			break;
		old = __atomic_exchange_n(&hg.call, efd, __ATOMIC_ACQ_REL);
		close(old);
		if (sx_chance(v->r, 500))
			hg_set_call(fd, efd, 0, 0);
		break;
	default:
		hg_set_call(fd, hg.call, 0, 0);
		break;
	}
}

/*
 * The child shares the instance's file but not its memory: it may look,
 * not drive (EPERM), nor end the session (only its owner may DETACH: an
 * invariant), and may take the slot with its own memory once it is free.
 */
static void hg_fork_child(int fd, struct sx_rng *r)
{
	struct ktstr_vc_attach at = { .slot = hg.slot };
	struct ktstr_vc_info info;
	__u32 v;

	sx_hb_claim(hg.slot, SX_R_FORK_CHILD, "forkchild");
	sx_ioctl(SX_K_GET_INFO, fd, KTSTR_VC_GET_INFO, &info, 0);
	sx_r32(fd, VIRTIO_MMIO_STATUS, &v);
	hg_set_kick(fd, 0, hg.kick[0], 0);
	hg_std_table(fd);
	if (sx_chance(r, 300))
		sx_ioctl(SX_K_DETACH, fd, KTSTR_VC_DETACH, NULL,
			 SX_F_MUST_FAIL);
	if (sx_chance(r, 200) &&
	    !sx_ioctl(SX_K_ATTACH, fd, KTSTR_VC_ATTACH, &at, 0))
		sx_count(SX_C_ATTACHES, 1);
	if (sx_chance(r, 300))
		sx_ctrl_close(fd);
	_exit(0);
}

static void hg_vmm_fork(struct hg_vmm *v, int fd)
{
	__u64 end;
	pid_t pid;
	int status;

	fflush(NULL);
	sx_begin(SX_K_FORK, 0);
	pid = fork();
	if (!pid)
		hg_fork_child(fd, v->r);
	if (sx_end(SX_K_FORK, pid < 0 ? errno : 0, 0))
		return;
	sx_count(SX_C_FORKS, 1);
	end = sx_now_ns() + 15 * SX_NS_PER_SEC;
	while (waitpid(pid, &status, WNOHANG) != pid) {
		if (sx_now_ns() > end) {
			sx_err("fork child %d still there after 15 s", pid);
			kill(pid, SIGKILL);
			return;
		}
		sx_sleep_us(2000);
	}
}

/* Another instance beside ours: a taken slot, a wrong one, a free one. */
static void hg_vmm_second(struct hg_vmm *v)
{
	struct ktstr_vc_attach at = { .slot = sx_below(v->r, sx->nr_slots + 2) };
	int fd = sx_ctrl_open();
	__u32 val;

	if (fd < 0)
		return;
	if (!sx_ioctl(SX_K_ATTACH, fd, KTSTR_VC_ATTACH, &at,
		      at.slot >= sx->nr_slots ? SX_F_MUST_FAIL : 0)) {
		sx_count(SX_C_ATTACHES, 1);
		hg_std_table(fd);
		sx_r32(fd, VIRTIO_MMIO_MAGIC_VALUE, &val);
		if (sx_chance(v->r, 500))
			sx_ioctl(SX_K_DETACH, fd, KTSTR_VC_DETACH, NULL, 0);
	}
	sx_ctrl_close(fd);
}

/* ioctls that are none of the module's, and bad arguments to its own. */
static void hg_vmm_bad_ioctls(struct hg_vmm *v, int fd)
{
	struct ktstr_vc_attach at = { .slot = hg.slot, .flags = 1 };
	unsigned long cmd;

	switch (sx_below(v->r, 6)) {
	case 0:
		/* 0x00-0x0f: the module's, now and to come. */
		cmd = _IOC(sx_below(v->r, 4), KTSTR_VC_IOC_MAGIC,
			   sx_range(v->r, 0x10, 0x1f), sx_below(v->r, 512));
		break;
	case 1:
		cmd = _IOC(sx_below(v->r, 4), KTSTR_VC_IOC_MAGIC,
			   sx_range(v->r, 0x21, 0xff), sx_below(v->r, 512));
		break;
	case 2:
		cmd = KTSTR_VC_PORT_GET_DROPPED;
		break;
	case 3:
		sx_ioctl(SX_K_ATTACH, fd, KTSTR_VC_ATTACH, &at, SX_F_MUST_FAIL);
		return;
	case 4:
		/* Past the last slot, short of the special values at the top. */
		at.flags = 0;
		at.slot = sx_range(v->r, sx->nr_slots, 0xfffffff0);
		sx_ioctl(SX_K_ATTACH, fd, KTSTR_VC_ATTACH, &at, SX_F_MUST_FAIL);
		return;
	default:
		sx_ioctl(SX_K_GET_INFO, fd, KTSTR_VC_GET_INFO,
			 hg.arena + HG_HOLE_OFF, SX_F_MUST_FAIL);
		return;
	}
	sx_ioctl(SX_K_BAD_IOCTL, fd, cmd, hg.arena + HG_SPARE_OFF,
		 SX_F_MUST_FAIL);
}

static void hg_vmm_close(struct hg_vmm *v, int fd)
{
	int nfd;

	if (sx_chance(v->r, 500)) {
		/* Closed first: the number is reused by the next open. */
		hg_drop_fd(fd);
		return;
	}
	nfd = sx_ctrl_open();
	if (nfd < 0)
		return;
	if (!__atomic_compare_exchange_n(&hg.fd, &fd, nfd, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
		sx_ctrl_close(nfd);
		return;
	}
	__atomic_fetch_add(&hg.fd_gen, 1, __ATOMIC_RELEASE);
	sx_ctrl_close(fd);
}

/* A steady guest's VMM leaves the session, memory and fds alone. */
static bool hg_vmm_steady_skips(unsigned int pick)
{
	return !hg.wild && ((pick >= 10 && pick < 18) ||
			    (pick >= 24 && pick < 76));
}

static void hg_vmm_step(struct hg_vmm *v)
{
	unsigned int pick = sx_below(v->r, 100);
	int fd = hg_fd();

	if (fd < 0 || hg_vmm_steady_skips(pick))
		return;
	if (pick < 10) {
		hg_std_table(fd);
	} else if (pick < 30) {
		if (!sx_allowed(SX_A_MEMORY))
			return;
		if (pick < 18)
			hg_vmm_alt_table(v, fd);
		else if (pick < 24)
			hg_vmm_bad_table(v, fd);
		else
			hg_vmm_memory(v);
	} else if (pick < 52) {
		if (!sx_allowed(SX_A_FDS))
			return;
		if (pick < 44)
			hg_vmm_kicks(v, fd);
		else
			hg_vmm_call(v, fd);
	} else if (pick < 66) {
		if (!sx_allowed(SX_A_DETACH))
			return;
		hg_detach(fd);
		/* Attached again, closed (its memory reused), or left. */
		pick = sx_below(v->r, 10);
		if (pick < 5)
			hg_session();
		else if (pick < 8 && sx_allowed(SX_A_CLOSE))
			hg_drop_fd(fd);
	} else if (pick < 70) {
		if (sx_allowed(SX_A_CLOSE))
			hg_vmm_close(v, fd);
	} else if (pick < 76) {
		if (sx_allowed(SX_A_FORK))
			hg_vmm_fork(v, fd);
	} else if (pick < 82) {
		hg_vmm_second(v);
	} else if (pick < 92) {
		hg_vmm_bad_ioctls(v, fd);
	} else {
		hg_register(fd);
	}
}

static void *hg_vmm(void *arg)
{
	struct hg_vmm v = { .r = arg };

	while (!hg_stopping()) {
		sx_count(SX_C_ITERATIONS, 1);
		hg_restore_due(&v, false);
		hg_vmm_step(&v);
		if (hg.wild)
			hg_nap(v.r, 0, 150);
		else
			hg_nap(v.r, 200, 2000);
	}
	hg_restore_due(&v, true);
	return NULL;
}

static void hg_stats_add(struct ktstr_vc_stats *to,
			 const struct ktstr_vc_stats *from)
{
	__u64 *t = (__u64 *)to;
	const __u64 *f = (const __u64 *)from;
	size_t i;

	for (i = 0; i < sizeof(*to) / sizeof(__u64); i++)
		t[i] += f[i];
}

/* GET_INFO's constants, and the instance's counters for the totals. */
static void *hg_stats(void *arg)
{
	struct sx_slot_stats *ss = &sx->stats[hg.slot];
	struct sx_rng *r = arg;
	struct ktstr_vc_stats st, prev;
	struct ktstr_vc_info info;
	__u32 gen, last_gen = 0;
	bool have_prev = false;		/* prev is of the instance of last_gen */
	int fd;

	while (!hg_stopping()) {
		sx_count(SX_C_ITERATIONS, 1);
		gen = __atomic_load_n(&hg.fd_gen, __ATOMIC_ACQUIRE);
		fd = hg_fd();
		if (fd < 0) {
			hg_nap(r, 5, 50);
			continue;
		}
		if (sx_chance(r, 300) || hg_detaching())
			hg_rekick(fd, r);
		if (gen != last_gen) {
			hg_stats_add(&ss->done, &ss->cur);
			memset(&ss->cur, 0, sizeof(ss->cur));
			last_gen = gen;
			have_prev = false;
		}
		if (!sx_ioctl(SX_K_GET_INFO, fd, KTSTR_VC_GET_INFO, &info, 0) &&
		    (info.abi_version != KTSTR_VC_ABI_VERSION ||
		     info.num_queues != KTSTR_VC_NUM_QUEUES ||
		     info.queue_max != KTSTR_VC_QUEUE_MAX ||
		     info.mmio_size != KTSTR_VC_MMIO_SIZE ||
		     info.nr_slots != sx->nr_slots ||
		     info.device_features != VC_DEVICE_FEATURES))
			sx_err("GET_INFO: abi %u queues %u max %u mmio %#x slots %u features %#llx",
			       info.abi_version, info.num_queues,
			       info.queue_max, info.mmio_size, info.nr_slots,
			       (unsigned long long)info.device_features);
		if (!sx_ioctl(SX_K_GET_STATS, fd, KTSTR_VC_GET_STATS, &st, 0) &&
		    __atomic_load_n(&hg.fd_gen, __ATOMIC_ACQUIRE) == gen) {
			if (have_prev)
				sx_weights_check(hg.slot, &prev, &st);
			prev = st;
			have_prev = true;
			ss->cur = st;
			ss->valid = 1;
		}
		if (sx_chance(r, 100))
			sx_ioctl(SX_K_GET_STATS, fd, KTSTR_VC_GET_STATS,
				 sx_chance(r, 500) ? NULL : hg.arena + HG_HOLE_OFF,
				 SX_F_MUST_FAIL);
		hg_nap(r, 20, 300);
	}
	return NULL;
}

static int hg_arena_init(void)
{
	hg.arena = mmap(NULL, HG_ARENA, PROT_NONE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (hg.arena == MAP_FAILED)
		return -errno;
	if (mprotect(hg.arena, HG_MAPPED, PROT_READ | PROT_WRITE))
		return -errno;
	return 0;
}

static int hg_fds_init(void)
{
	unsigned int q;

	hg.fd = -1;
	hg.null = open("/dev/null", O_RDWR | O_CLOEXEC);
	hg.call = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (hg.null < 0 || hg.call < 0)
		return -errno;
	for (q = 0; q < HG_NQ; q++) {
		hg.kick[q] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (hg.kick[q] < 0)
			return -errno;
	}
	return 0;
}

static void hg_faults_init(void)
{
	struct sigaction sa = {
		.sa_sigaction = hg_fault,
		.sa_flags = SA_SIGINFO | SA_NODEFER,
	};

	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
}

static const struct {
	void *(*main)(void *rng);
	enum sx_role role;
	const char *name;
} hg_threads[HG_NR_THREADS] = {
	[HG_T_DRIVER] = { hg_driver, SX_R_DRIVER, "driver" },
	[HG_T_MMIO0] = { hg_mmio, SX_R_MMIO0, "mmio0" },
	[HG_T_MMIO1] = { hg_mmio, SX_R_MMIO1, "mmio1" },
	[HG_T_RING] = { hg_ring, SX_R_RING, "ring" },
	[HG_T_REWRITE] = { hg_rewriter, SX_R_REWRITE, "rewriter" },
	[HG_T_VMM] = { hg_vmm, SX_R_VMM, "vmm" },
	[HG_T_STATS] = { hg_stats, SX_R_STATS, "stats" },
};

static struct sx_rng hg_rngs[HG_NR_THREADS];

static void *hg_thread(void *arg)
{
	unsigned int t = (uintptr_t)arg;

	sx_hb_claim(hg.slot, hg_threads[t].role, hg_threads[t].name);
	return hg_threads[t].main(&hg_rngs[t]);
}

/* Tell the threads to stop and wait for them, 10 s at most. */
static bool hg_join_all(unsigned int n)
{
	__u64 end = sx_now_ns() + 10 * SX_NS_PER_SEC;
	bool joined[HG_NR_THREADS] = { false };
	unsigned int i, left = n;

	__atomic_store_n(&hg.stop, 1, __ATOMIC_RELEASE);
	while (left && sx_now_ns() < end) {
		for (i = 0; i < n; i++) {
			if (joined[i])
				continue;
			if (!pthread_tryjoin_np(hg.th[i], NULL)) {
				joined[i] = true;
				left--;
				continue;
			}
			pthread_kill(hg.th[i], SIGUSR1);
		}
		sx_sleep_us(20000);
	}
	return !left;
}

/* How often chaos threads may reset the device, by wildness. */
static const __u64 hg_reset_gap_ms[] = { 0, 2000, 500, 50 };

void sx_hostile_guest(unsigned int slot, unsigned int inc)
{
	struct sx_rng r;
	unsigned int i, n;
	__u64 end;
	int err, fd;

	sx_child_init(slot, SX_R_GUEST_MAIN, "guest");
	hg.slot = slot;
	hg.inc = inc;
	hg.repost_q = -1;
	hg.wild = sx_guest_wild(slot, inc);
	sx_rng_init(&r, SX_STREAM(1, slot, inc, 0xfffe));
	hg.reset_gap_ns = hg_reset_gap_ms[hg.wild] * SX_NS_PER_MS;
	for (i = 0; i < HG_NQ; i++)
		pthread_mutex_init(&hg.q[i].lock, NULL);
	err = hg_arena_init();
	if (!err)
		err = hg_fds_init();
	if (err) {
		sx_err("guest setup: %s", sx_errno_name(-err));
		_exit(2);
	}
	hg_faults_init();
	for (n = 0; n < HG_NR_THREADS; n++) {
		sx_rng_init(&hg_rngs[n], SX_STREAM(1, slot, inc, n));
		if (pthread_create(&hg.th[n], NULL, hg_thread,
				   (void *)(uintptr_t)n))
			break;
	}
	end = sx_now_ns() + (hg.wild ? sx_range(&r, 2000, 20000) :
			     sx_range(&r, 30000, 45000)) * SX_NS_PER_MS;
	while (sx_now_ns() < end && !sx_stopping())
		sx_sleep_us(50000);
	if (!hg_join_all(n)) {
		sx_err("guest threads did not stop within 10 s of being told");
		_exit(5);
	}
	fd = hg_fd();
	if (fd >= 0)
		sx_ctrl_close(fd);
	_exit(0);
}
