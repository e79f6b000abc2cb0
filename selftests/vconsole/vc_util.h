/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Drive a ktstr-vconsole device instance from userspace the way a VMM does:
 * open the control device, attach to a slot, forward register accesses
 * through KTSTR_VC_MMIO and walk the virtio status state machine.
 *
 * As in the KVM selftests' kvm_util, a call named __vc_name() is the raw
 * one: it returns 0 (or a file descriptor) on success and a negative errno
 * on failure, and neither prints nor exits, so tests and tools share it.
 * Its asserting twin vc_name(), which fails the current test instead, is
 * in vc_test.h: only a test that expects a failure calls __vc_name().
 */
#ifndef VC_UTIL_H
#define VC_UTIL_H

#include <assert.h>
#include <stddef.h>
#include <linux/const.h>
#include <linux/ktstr_vconsole.h>
#include <linux/virtio_config.h>
#include <linux/virtio_console.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_mmio.h>

/* The ABI as the module builds it; a mismatch must not compile. */
static_assert(sizeof(struct ktstr_vc_attach) == 8, "ktstr_vc_attach size");
static_assert(sizeof(struct ktstr_vc_mem_region) == 32, "ktstr_vc_mem_region size");
static_assert(sizeof(struct ktstr_vc_mem_table) == 8, "ktstr_vc_mem_table size");
static_assert(sizeof(struct ktstr_vc_kick) == 8, "ktstr_vc_kick size");
static_assert(sizeof(struct ktstr_vc_call) == 8, "ktstr_vc_call size");
static_assert(sizeof(struct ktstr_vc_port_fd) == 8, "ktstr_vc_port_fd size");
static_assert(sizeof(struct ktstr_vc_mmio) == 24, "ktstr_vc_mmio size");
static_assert(sizeof(struct ktstr_vc_info) == 48, "ktstr_vc_info size");
static_assert(sizeof(struct ktstr_vc_queue_stats) == 48, "ktstr_vc_queue_stats size");
static_assert(sizeof(struct ktstr_vc_stats) == 480, "ktstr_vc_stats size");

#define VC_CTRL_PATH		"/dev/" KTSTR_VC_CTRL_NAME

/* What the register file reports, typed like the 32-bit registers. */
#define VC_MMIO_MAGIC		0x74726976u	/* "virt" */
#define VC_MMIO_VERSION		2u
#define VC_DEVICE_ID		((__u32)VIRTIO_ID_CONSOLE)
#define VC_VENDOR_ID		0u
#define VC_QUEUE_MAX		((__u32)KTSTR_VC_QUEUE_MAX)
#define VC_NUM_QUEUES		((__u32)KTSTR_VC_NUM_QUEUES)
#define VC_MAX_NR_PORTS		((__u32)KTSTR_VC_NUM_PORTS)
#define VC_F_MULTIPORT		_BITULL(VIRTIO_CONSOLE_F_MULTIPORT)
#define VC_F_VERSION_1		_BITULL(VIRTIO_F_VERSION_1)
#define VC_DEVICE_FEATURES	(VC_F_VERSION_1 | VC_F_MULTIPORT)

/* Config space: struct virtio_console_config at KTSTR_VC_CONFIG_OFFSET. */
#define VC_CFG(off)		(KTSTR_VC_CONFIG_OFFSET + (off))
#define VC_CFG_COLS		VC_CFG(0)
#define VC_CFG_ROWS		VC_CFG(2)
#define VC_CFG_MAX_NR_PORTS	VC_CFG(4)
#define VC_CFG_EMERG_WR		VC_CFG(8)

/* Device status along the initialisation ladder (virtio 1.2 3.1.1). */
#define VC_S_ACK		((__u32)VIRTIO_CONFIG_S_ACKNOWLEDGE)
#define VC_S_DRV		(VC_S_ACK | VIRTIO_CONFIG_S_DRIVER)
#define VC_S_FEAT		(VC_S_DRV | VIRTIO_CONFIG_S_FEATURES_OK)
#define VC_S_OK			(VC_S_FEAT | VIRTIO_CONFIG_S_DRIVER_OK)
#define VC_S_FAILED		((__u32)VIRTIO_CONFIG_S_FAILED)

/* The rejection counters of struct ktstr_vc_stats, by class. */
enum vc_bad {
	VC_BAD_ACCESS_SIZE,
	VC_BAD_STATUS,
	VC_BAD_FEATURES,
	VC_BAD_QUEUE_CONFIG,
	VC_BAD_CONFIG_WRITE,
	VC_BAD_REGISTER,
	VC_BAD_NOTIFY,
	VC_BAD_DESC,
	VC_BAD_CHAIN,
	VC_BAD_RING,
	VC_BAD_CONTROL,
	VC_BAD_NR
};

/* One queue's registers as the driver sees them after QUEUE_SEL. */
struct vc_queue_regs {
	__u32 num_max;
	__u32 num;
	__u32 ready;
	__u64 desc;
	__u64 avail;
	__u64 used;
};

/*
 * ioctl(2): its return value, or -errno.  As kvm_util's kvm_do_ioctl(),
 * a typed arg must have the size that cmd encodes, so an argument out of
 * step with the uapi aborts the test at its first call instead of
 * passing the module a short buffer.  A void * arg (a variable-length
 * table, or a pointer that is bad on purpose) has no size to check.
 */
int ___vc_ioctl(int fd, unsigned long cmd, void *arg, size_t size);

#define __vc_ioctl(fd, cmd, arg)					\
	___vc_ioctl(fd, cmd, arg,					\
		    __builtin_choose_expr(__builtin_types_compatible_p(	\
						typeof(arg), void *),	\
					  0, sizeof(*(typeof(arg))0)))

/* The control device and its ioctls. */
int __vc_open(void);
int __vc_attach(int fd, __u32 slot, __u32 flags);
/* KTSTR_VC_SLOT_ANY: the slot taken in *slot. */
int __vc_attach_any(int fd, __u32 *slot);
/* A port of the session's slot as a new fd (open(2) flags), or -errno. */
int __vc_get_port_fd(int fd, __u32 port, __u32 flags);
int __vc_detach(int fd);
int __vc_get_info(int fd, struct ktstr_vc_info *info);
int __vc_get_stats(int fd, struct ktstr_vc_stats *stats);
int __vc_mmio(int fd, struct ktstr_vc_mmio *mmio);

/*
 * Register accesses.  __vc_mmio_read() and __vc_mmio_write() move len bytes
 * (1..8; anything else is refused here with -EINVAL without asking the
 * module, so use __vc_mmio() to send a bad length).  Registers are little
 * endian; __vc_read32() and __vc_write32() convert.
 */
int __vc_mmio_read(int fd, __u32 offset, void *buf, __u32 len);
int __vc_mmio_write(int fd, __u32 offset, const void *buf, __u32 len);
int __vc_read32(int fd, __u32 offset, __u32 *val);
int __vc_write32(int fd, __u32 offset, __u32 val);

/* Feature pages 0 and 1, through the *_FEATURES_SEL selectors. */
int __vc_read_device_features(int fd, __u64 *features);
int __vc_write_driver_features(int fd, __u64 features);

/*
 * Add the missing status bits, one write per bit and in ladder order, up to
 * target (0 or one of VC_S_ACK, VC_S_DRV, VC_S_FEAT, VC_S_OK); each step
 * is read back.  -EINVAL if target or the current status is off the
 * ladder or past target, -EPROTO if the device refused a step.
 */
int __vc_walk_status(int fd, __u32 target);

/*
 * Reset the device, walk to DRIVER, accept features, then set FEATURES_OK:
 * the window in which queues may be configured.  __vc_init_device() goes on
 * to DRIVER_OK.
 */
int __vc_negotiate(int fd, __u64 features);
int __vc_init_device(int fd, __u64 features);

/*
 * Select a queue, set its size and ring addresses and make it ready (which
 * is read back: -EPROTO if it did not stick).  Only valid between
 * FEATURES_OK and DRIVER_OK.
 */
int __vc_setup_queue(int fd, __u32 queue, __u32 num, __u64 desc,
		     __u64 avail, __u64 used);
int __vc_read_queue(int fd, __u32 queue, struct vc_queue_regs *regs);

/* Statistics. */
__u64 vc_bad_count(const struct ktstr_vc_stats *stats, enum vc_bad which);
const char *vc_bad_name(enum vc_bad which);

#endif /* VC_UTIL_H */
