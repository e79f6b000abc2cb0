// SPDX-License-Identifier: GPL-2.0
/*
 * The tests' split-ring driver.  Rings for queue q live at a fixed place in
 * guest RAM; data buffers come from a bump allocator above them.  Memory
 * barriers are the ones a real driver needs, because the module's worker
 * reads the rings from another CPU while the test writes them.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <linux/virtio_console.h>
#include <linux/virtio_mmio.h>

#include "vc_driver.h"

#define VC_RING_AREA	0x4000u		/* per queue: desc, avail, used */
#define VC_AVAIL_OFF	0x1000u
#define VC_USED_OFF	0x2000u

int vc_guest_init(struct vc_guest *g, unsigned int slot)
{
	return vc_guest_init_at(g, slot, NULL);
}

/* With mem (VC_GUEST_SIZE bytes, the caller's to unmap) as guest RAM. */
int vc_guest_init_at(struct vc_guest *g, unsigned int slot, void *mem)
{
	struct {
		struct ktstr_vc_mem_table hdr;
		struct ktstr_vc_mem_region region;
	} table = { 0 };
	struct ktstr_vc_call call = { 0 };
	unsigned int q;
	int ret;

	memset(g, 0, sizeof(*g));
	g->fd = -1;
	g->call_fd = -1;
	g->slot = slot;
	for (q = 0; q < KTSTR_VC_NUM_QUEUES; q++)
		g->vq[q].kick_fd = -1;

	g->own_mem = !mem;
	g->mem = mem ? mem : mmap(NULL, VC_GUEST_SIZE, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (g->mem == MAP_FAILED)
		return -errno;
	g->size = VC_GUEST_SIZE;
	g->brk = KTSTR_VC_NUM_QUEUES * VC_RING_AREA;

	g->fd = __vc_open();
	if (g->fd < 0)
		return g->fd;
	ret = __vc_attach(g->fd, slot, 0);
	if (ret)
		return ret;

	table.hdr.nregions = 1;
	table.region.guest_phys_addr = VC_GUEST_BASE;
	table.region.size = VC_GUEST_SIZE;
	table.region.userspace_addr = (uintptr_t)g->mem;
	ret = __vc_ioctl(g->fd, KTSTR_VC_SET_MEM_TABLE, (void *)&table);
	if (ret)
		return ret;

	g->call_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (g->call_fd < 0)
		return -errno;
	call.fd = g->call_fd;
	return __vc_ioctl(g->fd, KTSTR_VC_SET_CALL_FD, &call);
}

void vc_guest_fini(struct vc_guest *g)
{
	unsigned int q;

	if (g->fd >= 0)
		close(g->fd);
	for (q = 0; q < KTSTR_VC_NUM_QUEUES; q++)
		if (g->vq[q].kick_fd >= 0)
			close(g->vq[q].kick_fd);
	if (g->call_fd >= 0)
		close(g->call_fd);
	if (g->own_mem && g->mem && g->mem != MAP_FAILED)
		munmap(g->mem, g->size);
	g->fd = -1;
}

/* Where vc_guest_start() puts queue q's used ring in guest RAM mem. */
struct vring_used *vc_used_ring_in(void *mem, unsigned int q)
{
	return (void *)((__u8 *)mem + q * VC_RING_AREA + VC_USED_OFF);
}

void *vc_gpa_to_hva(struct vc_guest *g, __u64 gpa)
{
	return g->mem + (gpa - VC_GUEST_BASE);
}

__u64 vc_guest_alloc(struct vc_guest *g, size_t len)
{
	__u64 gpa = VC_GUEST_BASE + g->brk;

	g->brk = (g->brk + len + 15) & ~(size_t)15;
	if (g->brk > g->size)
		abort();	/* a test asked for more than it mapped */
	return gpa;
}

__u64 vc_guest_put(struct vc_guest *g, const void *data, size_t len)
{
	__u64 gpa = vc_guest_alloc(g, len);

	memcpy(vc_gpa_to_hva(g, gpa), data, len);
	return gpa;
}

static void vc_vq_place(struct vc_guest *g, unsigned int q, unsigned int num)
{
	struct vc_vq *vq = &g->vq[q];
	__u64 base = VC_GUEST_BASE + q * VC_RING_AREA;

	vq->index = q;
	vq->num = num;
	vq->desc_gpa = base;
	vq->avail_gpa = base + VC_AVAIL_OFF;
	vq->used_gpa = base + VC_USED_OFF;
	vq->desc = vc_gpa_to_hva(g, vq->desc_gpa);
	vq->avail = vc_gpa_to_hva(g, vq->avail_gpa);
	vq->used = vc_gpa_to_hva(g, vq->used_gpa);
	memset(vc_gpa_to_hva(g, base), 0, VC_RING_AREA);
	vq->next_desc = 0;
	vq->avail_idx = 0;
	vq->last_used = 0;
}

int vc_guest_start(struct vc_guest *g, unsigned int mask, unsigned int num,
		   __u64 features, bool driver_ok)
{
	unsigned int q;
	int ret;

	ret = __vc_negotiate(g->fd, features);
	if (ret)
		return ret;
	for (q = 0; q < KTSTR_VC_NUM_QUEUES; q++) {
		if (!(mask & VC_Q(q)))
			continue;
		vc_vq_place(g, q, num);
		ret = __vc_setup_queue(g->fd, q, num, g->vq[q].desc_gpa,
				       g->vq[q].avail_gpa, g->vq[q].used_gpa);
		if (ret)
			return ret;
	}
	return driver_ok ? __vc_walk_status(g->fd, VC_S_OK) : 0;
}

int vc_guest_use_kick_fds(struct vc_guest *g, unsigned int mask)
{
	struct ktstr_vc_kick kick;
	unsigned int q;
	int ret;

	for (q = 0; q < KTSTR_VC_NUM_QUEUES; q++) {
		if (!(mask & VC_Q(q)))
			continue;
		g->vq[q].kick_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (g->vq[q].kick_fd < 0)
			return -errno;
		kick.queue = q;
		kick.fd = g->vq[q].kick_fd;
		ret = __vc_ioctl(g->fd, KTSTR_VC_SET_KICK_FD, &kick);
		if (ret)
			return ret;
	}
	return 0;
}

/* Write the descriptors of one chain; the avail ring is not touched. */
__u16 vc_vq_add(struct vc_guest *g, unsigned int q,
		const struct vc_buf_spec *bufs, unsigned int n)
{
	struct vc_vq *vq = &g->vq[q];
	__u16 head = vq->next_desc % vq->num;
	unsigned int i;

	for (i = 0; i < n; i++) {
		__u16 d = (head + i) % vq->num;
		struct vring_desc *desc = &vq->desc[d];

		desc->addr = bufs[i].gpa;
		desc->len = bufs[i].len;
		desc->flags = bufs[i].write ? VRING_DESC_F_WRITE : 0;
		desc->next = 0;
		if (i + 1 < n) {
			desc->flags |= VRING_DESC_F_NEXT;
			desc->next = (d + 1) % vq->num;
		}
	}
	vq->next_desc = (head + n) % vq->num;
	return head;
}

void vc_vq_publish(struct vc_guest *g, unsigned int q, __u16 head)
{
	struct vc_vq *vq = &g->vq[q];

	vq->avail->ring[vq->avail_idx % vq->num] = head;
	/* The entry before the index that publishes it. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	vq->avail_idx++;
	__atomic_store_n(&vq->avail->idx, vq->avail_idx, __ATOMIC_RELEASE);
}

__u16 vc_vq_add_buf(struct vc_guest *g, unsigned int q, __u64 gpa,
		    __u32 len, bool write)
{
	struct vc_buf_spec b = { .gpa = gpa, .len = len, .write = write };
	__u16 head = vc_vq_add(g, q, &b, 1);

	vc_vq_publish(g, q, head);
	return head;
}

void vc_kick(struct vc_guest *g, unsigned int q)
{
	__u64 one = 1;

	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (g->vq[q].kick_fd >= 0) {
		if (write(g->vq[q].kick_fd, &one, sizeof(one)) != sizeof(one))
			abort();
		return;
	}
	__vc_write32(g->fd, VIRTIO_MMIO_QUEUE_NOTIFY, q);
}

__u16 vc_used_idx(struct vc_guest *g, unsigned int q)
{
	return __atomic_load_n(&g->vq[q].used->idx, __ATOMIC_ACQUIRE);
}

struct vring_used_elem vc_used_elem(struct vc_guest *g, unsigned int q,
				    __u16 i)
{
	struct vc_vq *vq = &g->vq[q];

	return vq->used->ring[i % vq->num];
}

__s64 vc_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait until used->idx reaches idx: 0, or -ETIMEDOUT. */
int vc_wait_used(struct vc_guest *g, unsigned int q, __u16 idx, int ms)
{
	__s64 end = vc_now_ms() + ms;

	while ((__s16)(vc_used_idx(g, q) - idx) < 0) {
		if (vc_now_ms() > end)
			return -ETIMEDOUT;
		usleep(200);
	}
	return 0;
}

/* Read and reset the call eventfd: how many calls since the last look. */
__u64 vc_call_count(struct vc_guest *g)
{
	__u64 n = 0;

	if (read(g->call_fd, &n, sizeof(n)) != sizeof(n))
		return 0;
	return n;
}

int vc_wait_call(struct vc_guest *g, int ms)
{
	struct pollfd pfd = { .fd = g->call_fd, .events = POLLIN };
	int ret = poll(&pfd, 1, ms);

	if (ret < 0)
		return -errno;
	return ret ? 0 : -ETIMEDOUT;
}

/*
 * Give the worker time to do what it would do: for tests that check that
 * nothing happens.  The kick is asynchronous, so "nothing yet" is only
 * meaningful after a pause that comfortably covers a worker run.
 */
void vc_settle(void)
{
	usleep(300 * 1000);
}

/* Fill c_ivq with nbufs write-only buffers of len bytes. */
void vc_ctrl_post_rx(struct vc_guest *g, unsigned int nbufs, __u32 len)
{
	unsigned int i;

	for (i = 0; i < nbufs; i++)
		vc_vq_add_buf(g, KTSTR_VC_Q_CTRL_RX, vc_guest_alloc(g, len),
			      len, true);
	vc_kick(g, KTSTR_VC_Q_CTRL_RX);
}

void vc_ctrl_send(struct vc_guest *g, __u32 id, __u16 event,
		  __u16 value)
{
	struct vc_ctrl msg = { .id = id, .event = event, .value = value };

	vc_vq_add_buf(g, KTSTR_VC_Q_CTRL_TX, vc_guest_put(g, &msg, sizeof(msg)),
		      sizeof(msg), false);
	vc_kick(g, KTSTR_VC_Q_CTRL_TX);
}

/*
 * Take the next used c_ivq entry (waiting up to ms): its message, and the
 * PORT_NAME payload if any.  Returns the used length, or -ETIMEDOUT.
 */
int vc_ctrl_recv(struct vc_guest *g, struct vc_ctrl *msg, char *name,
		 size_t name_len, int ms)
{
	struct vc_vq *vq = &g->vq[KTSTR_VC_Q_CTRL_RX];
	struct vring_used_elem e;
	__u8 *buf;

	if (vc_wait_used(g, KTSTR_VC_Q_CTRL_RX, vq->last_used + 1, ms))
		return -ETIMEDOUT;
	e = vc_used_elem(g, KTSTR_VC_Q_CTRL_RX, vq->last_used++);
	if (!e.len)
		return 0;	/* returned unused: nothing to look at */
	buf = vc_gpa_to_hva(g, vq->desc[e.id].addr);
	memcpy(msg, buf, sizeof(*msg));
	if (name && name_len) {
		size_t n = e.len > sizeof(*msg) ? e.len - sizeof(*msg) : 0;

		if (n >= name_len)
			n = name_len - 1;
		memcpy(name, buf + sizeof(*msg), n);
		name[n] = '\0';
	}
	return e.len;
}

/* Speak the handshake the Linux driver speaks, up to both ports open. */
int vc_guest_handshake(struct vc_guest *g)
{
	struct vc_ctrl msg;
	unsigned int i;

	vc_ctrl_post_rx(g, 16, 64);
	vc_ctrl_send(g, 0xffffffff, VIRTIO_CONSOLE_DEVICE_READY, 1);
	for (i = 0; i < 2; i++)
		if (vc_ctrl_recv(g, &msg, NULL, 0, VC_WAIT_MS) < 0 ||
		    msg.event != VIRTIO_CONSOLE_PORT_ADD)
			return -EPROTO;
	vc_ctrl_send(g, 0, VIRTIO_CONSOLE_PORT_READY, 1);
	vc_ctrl_send(g, 1, VIRTIO_CONSOLE_PORT_READY, 1);
	/* CONSOLE_PORT, NAME, OPEN for port 0; NAME, OPEN for port 1. */
	for (i = 0; i < 5; i++)
		if (vc_ctrl_recv(g, &msg, NULL, 0, VC_WAIT_MS) < 0)
			return -EPROTO;
	vc_ctrl_send(g, 1, VIRTIO_CONSOLE_PORT_OPEN, 1);
	return vc_wait_used(g, KTSTR_VC_Q_CTRL_TX, 4, VC_WAIT_MS);
}

#define VC_USED_UNSEEN	0xffffffffu	/* no chain has that id */

/*
 * A second guest vCPU re-posting head 0 without end, as fast as the
 * device takes it.  It does not wait for used->idx, which a device may
 * publish only when its run ends: it watches the used entries, written
 * as each chain is taken, and re-posts as soon as one is.  The avail
 * ring then never runs dry, and a run that stops only when it does never
 * stops.  At most num entries are outstanding (more would be a refused
 * index jump, not a long run).
 */
static void *vc_reposter_fn(void *arg)
{
	struct vc_reposter *r = arg;
	struct vc_vq *vq = &r->g->vq[r->q];
	struct vring_used_elem *ring = vq->used->ring;
	__s64 end = vc_now_ms() + r->ms;
	unsigned int i;

	for (i = 0; i < vq->num; i++)
		ring[i].id = VC_USED_UNSEEN;
	r->seen = vq->avail_idx;
	while (!__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE) &&
	       vc_now_ms() < end) {
		__u16 avail = vq->avail_idx;

		while (__atomic_load_n(&ring[r->seen % vq->num].id,
				       __ATOMIC_ACQUIRE) != VC_USED_UNSEEN) {
			ring[r->seen % vq->num].id = VC_USED_UNSEEN;
			r->seen++;
			__atomic_add_fetch(&r->taken, 1, __ATOMIC_RELEASE);
		}
		while ((__u16)(vq->avail_idx - r->seen) < vq->num) {
			vq->avail->ring[vq->avail_idx % vq->num] = 0;
			vq->avail_idx++;
		}
		if (vq->avail_idx == avail) {
			sched_yield();
			continue;
		}
		__atomic_store_n(&vq->avail->idx, vq->avail_idx,
				 __ATOMIC_RELEASE);
		r->posted += (__u16)(vq->avail_idx - avail);
		vc_kick(r->g, r->q);
	}
	return NULL;
}

int vc_reposter_start(struct vc_reposter *r, struct vc_guest *g,
		      unsigned int q, int ms)
{
	r->g = g;
	r->q = q;
	r->ms = ms;
	r->stop = false;
	r->posted = 0;
	r->taken = 0;
	return -pthread_create(&r->th, NULL, vc_reposter_fn, r);
}

/* Chains the device has taken since the reposter started, as it saw. */
__u64 vc_reposter_taken(struct vc_reposter *r)
{
	return __atomic_load_n(&r->taken, __ATOMIC_ACQUIRE);
}

__u64 vc_reposter_stop(struct vc_reposter *r)
{
	__atomic_store_n(&r->stop, true, __ATOMIC_RELEASE);
	pthread_join(r->th, NULL);
	return r->posted;
}
