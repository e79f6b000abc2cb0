/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A small split-ring virtio driver for the tests: the test process plays
 * the guest.  It maps memory, hands it to the module as guest RAM, builds
 * the rings in it, drives the registers through the MMIO ioctl, kicks
 * through eventfds (or QUEUE_NOTIFY) and waits for the call eventfd.
 */
#ifndef VC_DRIVER_H
#define VC_DRIVER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/virtio_ring.h>
#include <linux/ktstr_vconsole.h>

#include "vc_util.h"

/* Guest RAM starts here, so a translation bug cannot hide behind 0. */
#define VC_GUEST_BASE		0x40000000ull
#define VC_GUEST_SIZE		(32u << 20)
#define VC_WAIT_MS		10000

struct vc_vq {
	unsigned int index;
	unsigned int num;
	__u64 desc_gpa;
	__u64 avail_gpa;
	__u64 used_gpa;
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	__u16 next_desc;		/* descriptors are handed out in turn */
	__u16 avail_idx;		/* shadow of avail->idx */
	__u16 last_used;		/* used entries the test has looked at */
	int kick_fd;			/* -1: kick through QUEUE_NOTIFY */
};

struct vc_guest {
	int fd;
	unsigned int slot;
	__u8 *mem;
	bool own_mem;			/* mapped here: unmapped by fini */
	size_t size;
	size_t brk;			/* next free byte for buffers */
	int call_fd;
	struct vc_vq vq[KTSTR_VC_NUM_QUEUES];
};

/* One descriptor to chain: a guest buffer and who writes it. */
struct vc_buf_spec {
	__u64 gpa;
	__u32 len;
	bool write;			/* device writes it (RX) */
};

int vc_guest_init(struct vc_guest *g, unsigned int slot);
int vc_guest_init_at(struct vc_guest *g, unsigned int slot, void *mem);
void vc_guest_fini(struct vc_guest *g);
void *vc_gpa_to_hva(struct vc_guest *g, __u64 gpa);
struct vring_used *vc_used_ring_in(void *mem, unsigned int q);
__u64 vc_guest_alloc(struct vc_guest *g, size_t len);
__u64 vc_guest_put(struct vc_guest *g, const void *data, size_t len);

/*
 * Negotiate features, configure the queues in mask with num entries each,
 * and set DRIVER_OK when driver_ok.
 */
int vc_guest_start(struct vc_guest *g, unsigned int mask, unsigned int num,
		   __u64 features, bool driver_ok);
#define VC_ALL_QUEUES		((1u << KTSTR_VC_NUM_QUEUES) - 1)
#define VC_Q(q)			(1u << (q))
int vc_guest_use_kick_fds(struct vc_guest *g, unsigned int mask);

__u16 vc_vq_add(struct vc_guest *g, unsigned int q,
		const struct vc_buf_spec *bufs, unsigned int n);
__u16 vc_vq_add_buf(struct vc_guest *g, unsigned int q, __u64 gpa,
		    __u32 len, bool write);
void vc_vq_publish(struct vc_guest *g, unsigned int q, __u16 head);
void vc_kick(struct vc_guest *g, unsigned int q);
__u16 vc_used_idx(struct vc_guest *g, unsigned int q);
struct vring_used_elem vc_used_elem(struct vc_guest *g, unsigned int q,
				    __u16 i);
int vc_wait_used(struct vc_guest *g, unsigned int q, __u16 idx, int ms);
__u64 vc_call_count(struct vc_guest *g);
int vc_wait_call(struct vc_guest *g, int ms);
void vc_settle(void);
__s64 vc_now_ms(void);

/* A hostile second vCPU: see vc_reposter_fn(). */
struct vc_reposter {
	struct vc_guest *g;
	unsigned int q;
	int ms;				/* it gives up after this long */
	bool stop;
	__u64 posted;
	__u16 seen;			/* next used entry it waits for */
	__u64 taken;			/* used entries it has seen written */
	pthread_t th;
};

int vc_reposter_start(struct vc_reposter *r, struct vc_guest *g,
		      unsigned int q, int ms);
__u64 vc_reposter_taken(struct vc_reposter *r);
__u64 vc_reposter_stop(struct vc_reposter *r);

/* Control protocol as the Linux driver speaks it. */
struct vc_ctrl {
	__u32 id;
	__u16 event;
	__u16 value;
};

void vc_ctrl_post_rx(struct vc_guest *g, unsigned int nbufs, __u32 len);
void vc_ctrl_send(struct vc_guest *g, __u32 id, __u16 event,
		  __u16 value);
int vc_ctrl_recv(struct vc_guest *g, struct vc_ctrl *msg, char *name,
		 size_t name_len, int ms);
int vc_guest_handshake(struct vc_guest *g);

#endif /* VC_DRIVER_H */
