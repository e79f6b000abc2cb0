/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ktstr-vconsole internals: one struct vc_dev per open control file (the
 * device instance a VMM drives) and one struct vc_slot per slot (the port
 * pair that outlives instances).
 */
#ifndef _KTSTR_VCONSOLE_H
#define _KTSTR_VCONSOLE_H

#include <linux/mutex.h>
#include <linux/types.h>
#include <linux/ktstr_vconsole.h>

#define VC_QUEUE_NUM_DEFAULT	KTSTR_VC_QUEUE_MAX

struct vc_dev;

struct vc_slot {
	unsigned int index;
	struct vc_dev *owner;		/* protected by vc_slots_lock */
};

/* Register-file view of one virtqueue, as the driver configured it. */
struct vc_queue {
	u32 num;
	bool ready;
	u64 desc;
	u64 avail;
	u64 used;
};

struct vc_dev {
	struct mutex lock;		/* register file, queues, stats */
	struct vc_slot *slot;		/* NULL when detached */

	u32 status;
	u32 device_features_sel;
	u32 driver_features_sel;
	u64 driver_features;
	u32 queue_sel;
	u32 isr;
	u32 config_generation;
	struct vc_queue vq[KTSTR_VC_NUM_QUEUES];

	struct ktstr_vc_stats stats;
};

static inline int vc_slot_id(const struct vc_dev *dev)
{
	return dev->slot ? (int)dev->slot->index : -1;
}

/* main.c */
__printf(3, 4)
void vc_reject(struct vc_dev *dev, u64 *counter, const char *fmt, ...);

/* mmio.c */
u64 vc_device_features(void);
void vc_mmio_reset(struct vc_dev *dev);
void vc_mmio_read(struct vc_dev *dev, u32 offset, u8 *data, u32 len);
void vc_mmio_write(struct vc_dev *dev, u32 offset, const u8 *data, u32 len);

#endif /* _KTSTR_VCONSOLE_H */
