// SPDX-License-Identifier: GPL-2.0
/*
 * Split virtqueues (virtio 1.2 section 2.7) in guest memory.
 *
 * Every guest value is read once into kernel memory and checked there:
 * the avail index may move at most a ring's worth, head and next indices
 * stay inside the ring, a chain is at most num descriptors long (which
 * also ends loops), indirect descriptors are refused (never offered), and
 * each descriptor is translated through the memory table before use.
 * The interrupt that tells the driver about used entries is raised here
 * too (vc_signal), as vhost_signal() sits beside the rings in vhost.c.
 */
#include <linux/eventfd.h>
#include <linux/uaccess.h>
#include <linux/uio.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>

#include "vconsole.h"

/* eventfd_signal() lost its count argument in 6.8 (see Kbuild). */
#ifdef VC_EVENTFD_SIGNAL_ONE_ARG
#define vc_eventfd_signal(ctx)	eventfd_signal(ctx)
#else
#define vc_eventfd_signal(ctx)	eventfd_signal(ctx, 1)
#endif

/* The ring layouts, little endian as VIRTIO_F_VERSION_1 makes them. */
struct vc_desc {
	__le64 addr;
	__le32 len;
	__le16 flags;
	__le16 next;
};

struct vc_used_elem {
	__le32 id;
	__le32 len;
};

#define VC_AVAIL_FLAGS		0
#define VC_AVAIL_IDX		2
#define VC_AVAIL_RING		4
#define VC_USED_FLAGS		0
#define VC_USED_IDX		2
#define VC_USED_RING		4

/* Translate the three rings for this run; false if any is unusable. */
bool vc_vring_map(struct vc_dev *dev, unsigned int qi)
{
	struct vc_queue *vq = &dev->vq[qi];
	u64 num = vq->num;

	lockdep_assert_held(&dev->lock);
	if (!vq->ready)
		return false;
	if (vq->desc % 16 || vq->avail % 2 || vq->used % 4) {
		vc_reject(dev, &dev->stats.bad_ring,
			  "queue %u rings misaligned", qi);
		return false;
	}
	vq->desc_ua = vc_mem_translate(dev, vq->desc, 16 * num);
	vq->avail_ua = vc_mem_translate(dev, vq->avail, 6 + 2 * num);
	vq->used_ua = vc_mem_translate(dev, vq->used, 6 + 8 * num);
	if (!vq->desc_ua || !vq->avail_ua || !vq->used_ua) {
		vc_reject(dev, &dev->stats.bad_ring,
			  "queue %u rings outside guest memory", qi);
		return false;
	}
	return true;
}

/*
 * May the device touch queue qi now?  Never before DRIVER_OK, never a
 * multiport-only queue without F_MULTIPORT, never an unmapped ring.
 */
bool vc_queue_usable(struct vc_dev *dev, unsigned int qi)
{
	lockdep_assert_held(&dev->lock);
	if (!vc_driver_ok(dev))
		return false;
	if (qi >= KTSTR_VC_Q_CTRL_RX && !vc_multiport(dev))
		return false;
	return vc_vring_map(dev, qi);
}

/* Read avail->idx: 0, or <0 if it is unreadable or moved too far. */
static int vc_vring_fetch_idx(struct vc_dev *dev, unsigned int qi)
{
	struct vc_queue *vq = &dev->vq[qi];
	__le16 raw;
	u16 idx;

	if (get_user(raw, (__le16 __user *)(vq->avail_ua + VC_AVAIL_IDX)))
		return -EFAULT;
	idx = le16_to_cpu(raw);
	if ((u16)(idx - vq->last_avail) > vq->num) {
		vc_reject(dev, &dev->stats.bad_ring,
			  "queue %u avail index moved from %u to %u", qi,
			  vq->last_avail, idx);
		return -EINVAL;
	}
	vq->avail_idx = idx;
	/* Read the ring entries only after the index that published them. */
	smp_rmb();
	return 0;
}

/* Has the driver made another chain available?  1 yes, 0 no, <0 broken. */
static int vc_vring_avail(struct vc_dev *dev, unsigned int qi)
{
	struct vc_queue *vq = &dev->vq[qi];
	int ret;

	if (vq->last_avail != vq->avail_idx)
		return 1;
	if (vq->frozen)
		return 0;
	ret = vc_vring_fetch_idx(dev, qi);
	if (ret)
		return ret;
	return vq->avail_idx != vq->last_avail;
}

/*
 * A drain takes what the driver has made available now and no more: a
 * guest that goes on posting chains cannot keep it going.  The queue
 * thaws at the device reset that follows every drain.
 */
void vc_vring_freeze(struct vc_dev *dev, unsigned int qi)
{
	lockdep_assert_held(&dev->lock);
	if (vc_queue_usable(dev, qi))
		vc_vring_fetch_idx(dev, qi);
	dev->vq[qi].frozen = true;
}

static int vc_vring_head(struct vc_dev *dev, unsigned int qi, u16 *head)
{
	struct vc_queue *vq = &dev->vq[qi];
	u32 slot = vq->last_avail & (vq->num - 1);
	__le16 raw;

	if (get_user(raw, (__le16 __user *)(vq->avail_ua + VC_AVAIL_RING) + slot))
		return -EFAULT;
	*head = le16_to_cpu(raw);
	if (*head >= vq->num) {
		vc_reject(dev, &dev->stats.bad_ring,
			  "queue %u head %u out of range", qi, *head);
		return -EINVAL;
	}
	return 0;
}

/* The descriptor into out[] or in[]; whatever is wrong with it, noted. */
static void vc_chain_add(struct vc_dev *dev, const struct vc_desc *d)
{
	struct vc_chain *c = &dev->chain;
	bool write = le16_to_cpu(d->flags) & VRING_DESC_F_WRITE;
	u32 len = le32_to_cpu(d->len);
	void __user *uaddr;
	struct iovec *iov;

	if (write) {
		c->in_room += len;
	} else if (len > VC_TX_DESC_MAX) {
		len = VC_TX_DESC_MAX;
		c->truncated = true;
	}
	if (!len)
		return;
	uaddr = vc_mem_translate(dev, le64_to_cpu(d->addr), len);
	if (!uaddr) {
		c->bad_seg = true;
		return;
	}
	iov = write ? &c->in[c->nin++] : &c->out[c->nout++];
	iov->iov_base = uaddr;
	iov->iov_len = len;
	if (write)
		c->in_len += len;
	else
		c->out_len += len;
}

static void vc_chain_clear(struct vc_chain *c, u16 head)
{
	c->head = head;
	c->ndescs = 0;
	c->bad = NULL;
	c->bad_seg = false;
	c->truncated = false;
	c->nout = 0;
	c->nin = 0;
	c->out_len = 0;
	c->in_len = 0;
	c->in_room = 0;
}

/*
 * Walk the chain at head into dev->chain; structural faults mark it bad.
 * Every descriptor read counts, so a chain ends after num of them.
 */
static int vc_vring_walk(struct vc_dev *dev, unsigned int qi, u16 head)
{
	struct vc_queue *vq = &dev->vq[qi];
	struct vc_chain *c = &dev->chain;
	struct vc_desc d;
	u16 i = head;
	u16 flags;

	vc_chain_clear(c, head);
	for (;;) {
		if (c->ndescs == vq->num) {
			c->bad = "chain loops or is longer than the queue";
			return 0;
		}
		c->ndescs++;
		if (copy_from_user(&d, vq->desc_ua + 16 * i, sizeof(d)))
			return -EFAULT;
		flags = le16_to_cpu(d.flags);
		if (flags & VRING_DESC_F_INDIRECT) {
			c->bad = "indirect descriptor (not offered)";
			return 0;
		}
		vc_chain_add(dev, &d);
		if (!(flags & VRING_DESC_F_NEXT))
			return 0;
		i = le16_to_cpu(d.next);
		if (i >= vq->num) {
			c->bad = "next index out of range";
			return 0;
		}
	}
}

/*
 * One direction of the chain as an iov_iter.  A chain of one segment,
 * the usual one, is a ubuf iterator, which copies without walking an
 * iovec array (as import_ubuf() does for read() and write()).
 */
static void vc_chain_iter(struct iov_iter *iter, unsigned int dir,
			  const struct iovec *iov, unsigned int nr, size_t len)
{
	if (nr == 1)
		iov_iter_ubuf(iter, dir, iov->iov_base, len);
	else
		iov_iter_init(iter, dir, iov, nr, len);
}

/* The chain's readable part, the source of copy_from_iter(). */
void vc_chain_out_iter(const struct vc_chain *c, struct iov_iter *iter)
{
	vc_chain_iter(iter, WRITE, c->out, c->nout, c->out_len);
}

/* The chain's writable part, the destination of copy_to_iter(). */
void vc_chain_in_iter(const struct vc_chain *c, struct iov_iter *iter)
{
	vc_chain_iter(iter, READ, c->in, c->nin, c->in_len);
}

/* Stop the run here?  Counted: each stop is a run the guest made long. */
static bool vc_exceeds_weight(struct vc_dev *dev, unsigned int qi,
			      const struct vc_budget *b)
{
	unsigned int chains = qi == KTSTR_VC_Q_CTRL_RX ||
			      qi == KTSTR_VC_Q_CTRL_TX ?
			      VC_WEIGHT_CTRL_CHAINS : VC_WEIGHT_PORT_CHAINS;

	if (b->chains < chains && b->descs < VC_WEIGHT_DESCS &&
	    b->bytes < VC_WEIGHT_BYTES)
		return false;
	dev->stats.queue[qi].weight_stops++;
	return true;
}

void vc_budget_charge(struct vc_budget *b, const struct vc_chain *c,
		      size_t bytes)
{
	b->chains++;
	b->descs += c->ndescs;
	b->bytes += bytes;
}

/*
 * Look at the next available chain without taking it: 1 with dev->chain
 * filled in, 0 if the ring is empty, -EAGAIN if one is waiting but the
 * run has used its weight b, other <0 if the ring itself is broken.
 */
int vc_vring_peek(struct vc_dev *dev, unsigned int qi,
		  const struct vc_budget *b)
{
	u16 head;
	int ret;

	lockdep_assert_held(&dev->lock);
	ret = vc_vring_avail(dev, qi);
	if (ret <= 0)
		goto out;
	if (vc_exceeds_weight(dev, qi, b))
		return -EAGAIN;
	ret = vc_vring_head(dev, qi, &head);
	if (ret)
		goto out;
	ret = vc_vring_walk(dev, qi, head);
	if (!ret)
		return 1;
out:
	if (ret == -EFAULT)
		vc_reject(dev, &dev->stats.bad_ring,
			  "queue %u ring unreadable", qi);
	return ret;
}

/* Account for what was wrong with the chain being returned. */
static void vc_chain_report(struct vc_dev *dev, unsigned int qi)
{
	struct vc_chain *c = &dev->chain;

	if (c->bad)
		vc_reject(dev, &dev->stats.bad_chain, "queue %u head %u: %s",
			  qi, c->head, c->bad);
	else if (c->bad_seg)
		vc_reject(dev, &dev->stats.bad_desc,
			  "queue %u head %u: descriptor outside guest memory",
			  qi, c->head);
	if (c->truncated)
		vc_reject(dev, &dev->stats.bad_desc,
			  "queue %u head %u: descriptor over %u bytes truncated",
			  qi, c->head, VC_TX_DESC_MAX);
}

/* Take the peeked chain and return it to the driver with len bytes. */
void vc_vring_consume(struct vc_dev *dev, unsigned int qi, u32 len)
{
	struct vc_queue *vq = &dev->vq[qi];
	u32 slot = vq->used_idx & (vq->num - 1);
	struct vc_used_elem elem = {
		.id = cpu_to_le32(dev->chain.head),
		.len = cpu_to_le32(len),
	};

	lockdep_assert_held(&dev->lock);
	vc_chain_report(dev, qi);
	if (copy_to_user(vq->used_ua + VC_USED_RING + 8 * slot, &elem,
			 sizeof(elem)))
		vc_reject(dev, &dev->stats.bad_ring,
			  "queue %u used ring unwritable", qi);
	vq->used_idx++;
	vq->last_avail++;
	dev->stats.queue[qi].chains++;
}

/* Make the consumed chains visible; true if the used ring advanced. */
bool vc_vring_publish(struct vc_dev *dev, unsigned int qi)
{
	struct vc_queue *vq = &dev->vq[qi];

	lockdep_assert_held(&dev->lock);
	if (vq->used_idx == vq->used_published)
		return false;
	/* The entries must be visible before the index that covers them. */
	smp_wmb();
	if (put_user(cpu_to_le16(vq->used_idx),
		     (__le16 __user *)(vq->used_ua + VC_USED_IDX)))
		vc_reject(dev, &dev->stats.bad_ring,
			  "queue %u used index unwritable", qi);
	vq->used_published = vq->used_idx;
	return true;
}

/*
 * While a run drains a ring the driver need not kick: every chain it adds
 * meanwhile is found anyway (as vhost does).  The store fails only if the
 * VMM unmapped the ring under us: notify_off then keeps what the guest
 * last saw, and the next memory table gives the queue a run that asks
 * for kicks again (vc_mem_changed).
 */
void vc_vring_set_notify(struct vc_dev *dev, unsigned int qi, bool on)
{
	__le16 __user *flags = dev->vq[qi].used_ua + VC_USED_FLAGS;

	lockdep_assert_held(&dev->lock);
	if (put_user(on ? 0 : cpu_to_le16(VRING_USED_F_NO_NOTIFY), flags))
		return;
	dev->vq[qi].notify_off = !on;
}

/*
 * Ask for kicks again before going idle.  A chain the driver added while
 * they were off was not kicked: true if there is one, and the run must go
 * on.
 */
bool vc_vring_notify_on(struct vc_dev *dev, unsigned int qi)
{
	lockdep_assert_held(&dev->lock);
	vc_vring_set_notify(dev, qi, true);
	/*
	 * The flag store before the avail index load, as the driver orders
	 * its index store before its flag load.
	 */
	smp_mb();
	return vc_vring_avail(dev, qi) > 0;
}

/* Without EVENT_IDX, the driver's only say is VRING_AVAIL_F_NO_INTERRUPT. */
static bool vc_vring_wants_interrupt(struct vc_dev *dev, unsigned int qi)
{
	__le16 raw;

	/* Order the used index store before the flags load. */
	smp_mb();
	if (get_user(raw, (__le16 __user *)(dev->vq[qi].avail_ua + VC_AVAIL_FLAGS)))
		return true;
	return !(le16_to_cpu(raw) & VRING_AVAIL_F_NO_INTERRUPT);
}

/*
 * The call, after a run published used entries: INTERRUPT_STATUS first,
 * so the guest's handler finds it.
 */
void vc_signal(struct vc_dev *dev, unsigned int qi)
{
	lockdep_assert_held(&dev->lock);
	if (!vc_vring_wants_interrupt(dev, qi))
		return;
	dev->isr |= VIRTIO_MMIO_INT_VRING;
	dev->stats.interrupts++;
	dev->stats.queue[qi].interrupts++;
	if (dev->call)
		vc_eventfd_signal(dev->call);
}
