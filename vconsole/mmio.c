// SPDX-License-Identifier: GPL-2.0
/*
 * The virtio-mmio version 2 register file (virtio 1.2 section 4.2.2) of the
 * console device: identification, feature pages, the status state machine,
 * per-queue configuration and the read-only config space.  Every access
 * comes from the guest through the VMM, so every value is checked here and
 * a refused access leaves the state exactly as it was.  A status write of
 * 0 resets the device, and the reset is here beside it: the queue
 * handlers below give back what they hold (vc_device_reset).
 */
#include <linux/bits.h>
#include <linux/kernel.h>
#include <linux/log2.h>
#include <linux/string.h>
#include <linux/virtio_config.h>
#include <linux/virtio_console.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_mmio.h>

#include "vconsole.h"

#define VC_MMIO_MAGIC		0x74726976	/* "virt" */
#define VC_MMIO_VERSION		2
#define VC_VENDOR_ID		0

#define VC_S_ACK	VIRTIO_CONFIG_S_ACKNOWLEDGE
#define VC_S_DRV	(VC_S_ACK | VIRTIO_CONFIG_S_DRIVER)
#define VC_S_FEAT	(VC_S_DRV | VIRTIO_CONFIG_S_FEATURES_OK)

#define VC_CONFIG_END	(KTSTR_VC_CONFIG_OFFSET + KTSTR_VC_CONFIG_SIZE)

/* The data bytes of an access are little endian, like the registers. */
static u32 vc_get_le32(const u8 *p)
{
	__le32 v;

	memcpy(&v, p, sizeof(v));
	return le32_to_cpu(v);
}

static void vc_put_le32(u32 val, u8 *p)
{
	__le32 v = cpu_to_le32(val);

	memcpy(p, &v, sizeof(v));
}

u64 vc_device_features(void)
{
	return BIT_ULL(VIRTIO_F_VERSION_1) | BIT_ULL(VIRTIO_CONSOLE_F_MULTIPORT);
}

/* Driver features may change only between DRIVER and FEATURES_OK. */
static bool vc_features_writable(const struct vc_dev *dev)
{
	return (dev->status & VC_S_DRV) == VC_S_DRV &&
	       !(dev->status & VIRTIO_CONFIG_S_FEATURES_OK);
}

/* Queues may be configured only between FEATURES_OK and DRIVER_OK. */
static bool vc_queue_configurable(const struct vc_dev *dev)
{
	return (dev->status & VC_S_FEAT) == VC_S_FEAT && !vc_driver_ok(dev);
}

static struct vc_queue *vc_selected_queue(struct vc_dev *dev)
{
	if (dev->queue_sel >= KTSTR_VC_NUM_QUEUES)
		return NULL;
	return &dev->vq[dev->queue_sel];
}

static void vc_queue_reset(struct vc_queue *vq)
{
	memset(vq, 0, sizeof(*vq));
	vq->num = KTSTR_VC_QUEUE_MAX;
}

void vc_mmio_reset(struct vc_dev *dev)
{
	unsigned int i;

	lockdep_assert_held(&dev->lock);
	dev->status = 0;
	dev->device_features_sel = 0;
	dev->driver_features_sel = 0;
	dev->driver_features = 0;
	dev->queue_sel = 0;
	dev->isr = 0;
	for (i = 0; i < KTSTR_VC_NUM_QUEUES; i++)
		vc_queue_reset(&dev->vq[i]);
}

/* struct virtio_console_config: cols, rows, max_nr_ports, emerg_wr. */
static void vc_config_read(struct vc_dev *dev, u32 offset, u8 *data, u32 len)
{
	u8 cfg[KTSTR_VC_CONFIG_SIZE] = { 0 };

	if (offset + len > sizeof(cfg)) {
		memset(data, 0xff, len);
		vc_reject(dev, &dev->stats.bad_access_size,
			  "config read of %u bytes at %#x runs past the config space",
			  len, offset);
		return;
	}
	vc_put_le32(KTSTR_VC_NUM_PORTS,
		    &cfg[offsetof(struct virtio_console_config, max_nr_ports)]);
	memcpy(data, &cfg[offset], len);
}

static u32 vc_queue_reg_read(struct vc_dev *dev, u32 offset)
{
	struct vc_queue *vq = vc_selected_queue(dev);

	if (!vq)
		return 0;

	switch (offset) {
	case VIRTIO_MMIO_QUEUE_NUM_MAX:
		return KTSTR_VC_QUEUE_MAX;
	case VIRTIO_MMIO_QUEUE_NUM:
		return vq->num;
	case VIRTIO_MMIO_QUEUE_READY:
		return vq->ready;
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
		return lower_32_bits(vq->desc);
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
		return upper_32_bits(vq->desc);
	case VIRTIO_MMIO_QUEUE_AVAIL_LOW:
		return lower_32_bits(vq->avail);
	case VIRTIO_MMIO_QUEUE_AVAIL_HIGH:
		return upper_32_bits(vq->avail);
	case VIRTIO_MMIO_QUEUE_USED_LOW:
		return lower_32_bits(vq->used);
	default:	/* VIRTIO_MMIO_QUEUE_USED_HIGH */
		return upper_32_bits(vq->used);
	}
}

static u32 vc_reg_read(struct vc_dev *dev, u32 offset)
{
	switch (offset) {
	case VIRTIO_MMIO_MAGIC_VALUE:
		return VC_MMIO_MAGIC;
	case VIRTIO_MMIO_VERSION:
		return VC_MMIO_VERSION;
	case VIRTIO_MMIO_DEVICE_ID:
		return VIRTIO_ID_CONSOLE;
	case VIRTIO_MMIO_VENDOR_ID:
		return VC_VENDOR_ID;
	case VIRTIO_MMIO_DEVICE_FEATURES:
		if (dev->device_features_sel > 1)
			return 0;
		return vc_device_features() >> (32 * dev->device_features_sel);
	case VIRTIO_MMIO_QUEUE_NUM_MAX:
	case VIRTIO_MMIO_QUEUE_NUM:
	case VIRTIO_MMIO_QUEUE_READY:
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
	case VIRTIO_MMIO_QUEUE_AVAIL_LOW:
	case VIRTIO_MMIO_QUEUE_AVAIL_HIGH:
	case VIRTIO_MMIO_QUEUE_USED_LOW:
	case VIRTIO_MMIO_QUEUE_USED_HIGH:
		return vc_queue_reg_read(dev, offset);
	case VIRTIO_MMIO_INTERRUPT_STATUS:
		return dev->isr;
	case VIRTIO_MMIO_STATUS:
		return dev->status;
	case VIRTIO_MMIO_CONFIG_GENERATION:
		return dev->config_generation;
	default:
		vc_reject(dev, &dev->stats.bad_register, "read of unknown register %#x",
			  offset);
		return 0;
	}
}

void vc_mmio_read(struct vc_dev *dev, u32 offset, u8 *data, u32 len)
{
	lockdep_assert_held(&dev->lock);
	if (offset >= KTSTR_VC_CONFIG_OFFSET && offset < VC_CONFIG_END) {
		vc_config_read(dev, offset - KTSTR_VC_CONFIG_OFFSET, data, len);
		return;
	}
	if (len != 4) {
		/* 0xff, not stale bytes, so the violation is visible. */
		memset(data, 0xff, len);
		vc_reject(dev, &dev->stats.bad_access_size, "%u-byte read of register %#x",
			  len, offset);
		return;
	}
	vc_put_le32(vc_reg_read(dev, offset), data);
}

static void vc_write_driver_features(struct vc_dev *dev, u32 val)
{
	u32 page = dev->driver_features_sel;

	if (!vc_features_writable(dev)) {
		vc_reject(dev, &dev->stats.bad_features,
			  "driver features written in status %#x", dev->status);
		return;
	}
	if (page > 1)
		return;	/* no feature bits live there; nothing to store */

	dev->driver_features &= ~((u64)U32_MAX << (32 * page));
	dev->driver_features |= (u64)val << (32 * page);
}

static void vc_write_queue_num(struct vc_dev *dev, struct vc_queue *vq,
			       u32 val)
{
	if (!val || val > KTSTR_VC_QUEUE_MAX || !is_power_of_2(val)) {
		vc_reject(dev, &dev->stats.bad_queue_config, "queue %u size %u refused",
			  dev->queue_sel, val);
		return;
	}
	vq->num = val;
}

static void vc_set_addr_half(u64 *addr, u32 val, bool high)
{
	if (high)
		*addr = (*addr & U32_MAX) | ((u64)val << 32);
	else
		*addr = (*addr & ~(u64)U32_MAX) | val;
}

static void vc_queue_reg_write(struct vc_dev *dev, u32 offset, u32 val)
{
	struct vc_queue *vq = vc_selected_queue(dev);

	/* Stopping a stopped queue is how drivers tear down after reset. */
	if (offset == VIRTIO_MMIO_QUEUE_READY && !val && (!vq || !vq->ready))
		return;

	if (!vq || !vc_queue_configurable(dev)) {
		vc_reject(dev, &dev->stats.bad_queue_config,
			  "queue register %#x written for queue %u in status %#x",
			  offset, dev->queue_sel, dev->status);
		return;
	}

	switch (offset) {
	case VIRTIO_MMIO_QUEUE_NUM:
		vc_write_queue_num(dev, vq, val);
		break;
	case VIRTIO_MMIO_QUEUE_READY:
		vq->ready = val == 1;
		break;
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
		vc_set_addr_half(&vq->desc, val,
				 offset == VIRTIO_MMIO_QUEUE_DESC_HIGH);
		break;
	case VIRTIO_MMIO_QUEUE_AVAIL_LOW:
	case VIRTIO_MMIO_QUEUE_AVAIL_HIGH:
		vc_set_addr_half(&vq->avail, val,
				 offset == VIRTIO_MMIO_QUEUE_AVAIL_HIGH);
		break;
	case VIRTIO_MMIO_QUEUE_USED_LOW:
	case VIRTIO_MMIO_QUEUE_USED_HIGH:
		vc_set_addr_half(&vq->used, val,
				 offset == VIRTIO_MMIO_QUEUE_USED_HIGH);
		break;
	}
}

static void vc_queue_notify(struct vc_dev *dev, u32 idx)
{
	if (idx >= KTSTR_VC_NUM_QUEUES) {
		vc_reject(dev, &dev->stats.bad_notify, "notify for queue %u", idx);
		return;
	}
	if (!vc_driver_ok(dev)) {
		vc_reject(dev, &dev->stats.bad_notify, "notify for queue %u in status %#x",
			  idx, dev->status);
		return;
	}
	if (idx >= KTSTR_VC_Q_CTRL_RX && !vc_multiport(dev)) {
		vc_reject(dev, &dev->stats.bad_notify,
			  "notify for multiport queue %u without F_MULTIPORT",
			  idx);
		return;
	}
	dev->stats.queue[idx].kicks++;
	vc_queue_work(dev, idx);
}

/* Host bytes and control messages that waited for DRIVER_OK go now. */
static void vc_driver_ok_landed(struct vc_dev *dev)
{
	vc_queue_work(dev, KTSTR_VC_Q_PORT0_RX);
	vc_queue_work(dev, KTSTR_VC_Q_CTRL_RX);
	vc_queue_work(dev, KTSTR_VC_Q_PORT1_RX);
}

/* One bit per step: the next rung of the ladder, or FAILED at any time. */
static bool vc_status_step_valid(u32 old, u32 new_bits)
{
	switch (new_bits) {
	case VIRTIO_CONFIG_S_FAILED:
		return true;
	case VIRTIO_CONFIG_S_ACKNOWLEDGE:
		return old == 0;
	case VIRTIO_CONFIG_S_DRIVER:
		return old == VC_S_ACK;
	case VIRTIO_CONFIG_S_FEATURES_OK:
		return old == VC_S_DRV;
	case VIRTIO_CONFIG_S_DRIVER_OK:
		return old == VC_S_FEAT;
	default:
		return false;
	}
}

/*
 * Virtio 1.2 2.2.2: the device must not accept features it did not offer,
 * nor a virtio-mmio version 2 driver without VERSION_1: FEATURES_OK then
 * stays clear, which is how the driver learns it.
 */
static bool vc_features_acceptable(const struct vc_dev *dev)
{
	return !(dev->driver_features & ~vc_device_features()) &&
	       (dev->driver_features & BIT_ULL(VIRTIO_F_VERSION_1));
}

/*
 * Status 0, in the vCPU's own ioctl: keep what the guest already wrote,
 * forget host bytes meant for the guest that is going away, then forget
 * the device.  The drain is weighted like any run, at most a ring's
 * worth; what a hostile guest piled up beyond it goes with the rings.
 * The first reset of a fresh device (status still 0) keeps host bytes
 * written before the guest's driver came up.
 */
static void vc_device_reset(struct vc_dev *dev)
{
	unsigned int runs;

	if (vc_driver_ok(dev)) {
		vc_tx_drain_begin(dev);
		for (runs = 0; runs < VC_DRAIN_RUNS_MAX && vc_tx_drain(dev);
		     runs++)
			cond_resched();
	}
	vc_data_reset(dev, dev->status != 0);
	vc_mmio_reset(dev);
	vc_ctrl_reset(dev);
}

static void vc_write_status(struct vc_dev *dev, u32 val)
{
	u32 old = dev->status;

	if (!val) {
		vc_device_reset(dev);
		return;
	}
	if ((val & old) != old) {
		vc_reject(dev, &dev->stats.bad_status, "status %#x -> %#x clears bits",
			  old, val);
		return;
	}
	if (!vc_status_step_valid(old, val & ~old)) {
		vc_reject(dev, &dev->stats.bad_status, "status %#x -> %#x is not one step",
			  old, val);
		return;
	}
	if ((val & ~old & VIRTIO_CONFIG_S_FEATURES_OK) &&
	    !vc_features_acceptable(dev)) {
		vc_reject(dev, &dev->stats.bad_features,
			  "FEATURES_OK refused for driver features %#llx",
			  dev->driver_features);
		return;
	}
	dev->status = val;

	if (val & ~old & VIRTIO_CONFIG_S_DRIVER_OK)
		vc_driver_ok_landed(dev);
	if (val & ~old & VIRTIO_CONFIG_S_FAILED)
		vc_log(dev, "driver set FAILED (status %#x)", val);
	else if ((val & ~old & VIRTIO_CONFIG_S_DRIVER_OK) && !vc_multiport(dev))
		vc_log(dev, "DRIVER_OK without F_MULTIPORT; port 1 will not work");
}

static void vc_reg_write(struct vc_dev *dev, u32 offset, u32 val)
{
	switch (offset) {
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL:
		dev->device_features_sel = val;
		break;
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL:
		dev->driver_features_sel = val;
		break;
	case VIRTIO_MMIO_DRIVER_FEATURES:
		vc_write_driver_features(dev, val);
		break;
	case VIRTIO_MMIO_QUEUE_SEL:
		dev->queue_sel = val;
		break;
	case VIRTIO_MMIO_QUEUE_NUM:
	case VIRTIO_MMIO_QUEUE_READY:
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
	case VIRTIO_MMIO_QUEUE_AVAIL_LOW:
	case VIRTIO_MMIO_QUEUE_AVAIL_HIGH:
	case VIRTIO_MMIO_QUEUE_USED_LOW:
	case VIRTIO_MMIO_QUEUE_USED_HIGH:
		vc_queue_reg_write(dev, offset, val);
		break;
	case VIRTIO_MMIO_QUEUE_NOTIFY:
		vc_queue_notify(dev, val);
		break;
	case VIRTIO_MMIO_INTERRUPT_ACK:
		dev->isr &= ~val;
		break;
	case VIRTIO_MMIO_STATUS:
		vc_write_status(dev, val);
		break;
	default:
		vc_reject(dev, &dev->stats.bad_register, "write of unknown register %#x",
			  offset);
		break;
	}
}

void vc_mmio_write(struct vc_dev *dev, u32 offset, const u8 *data, u32 len)
{
	lockdep_assert_held(&dev->lock);
	if (offset >= KTSTR_VC_CONFIG_OFFSET && offset < VC_CONFIG_END) {
		vc_reject(dev, &dev->stats.bad_config_write,
			  "write to read-only config space at %#x", offset);
		return;
	}
	if (len != 4) {
		vc_reject(dev, &dev->stats.bad_access_size, "%u-byte write of register %#x",
			  len, offset);
		return;
	}
	vc_reg_write(dev, offset, vc_get_le32(data));
}
