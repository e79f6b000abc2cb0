/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * ktstr-vconsole: a two-port virtio-console device (virtio-mmio,
 * VIRTIO_CONSOLE_F_MULTIPORT) whose virtqueues are processed in the host
 * kernel.  This is the one ABI shared by the module, the VMM and the tests.
 *
 * /dev/ktstr-vconsole is the control device: one open file is one device
 * instance.  An instance attaches to a slot; a slot owns the two port
 * character devices (/dev/ktstr-port{0,1} for slot 0, /dev/ktstr<N>-port{0,1}
 * for slot N >= 1) and their host-side buffers, which outlive the instance.
 *
 * Every struct has explicit padding; padding and flags must be zero.
 */
#ifndef _UAPI_LINUX_KTSTR_VCONSOLE_H
#define _UAPI_LINUX_KTSTR_VCONSOLE_H

#include <linux/const.h>
#include <linux/ioctl.h>
#include <linux/types.h>

/*
 * Bumped on every incompatible change; reported by KTSTR_VC_GET_INFO.
 * 2: per-queue runs and weight_stops, rx_discarded (struct ktstr_vc_stats
 * grew, so KTSTR_VC_GET_STATS has a new number); session ioctls answer
 * ENOTCONN once the session has begun to end; DETACH needs the owner;
 * FEATURES_OK refuses features never offered and a driver without
 * VIRTIO_F_VERSION_1; ATTACH takes KTSTR_VC_SLOT_ANY and writes the slot
 * back (so it is _IOWR); KTSTR_VC_GET_PORT_FD.
 */
#define KTSTR_VC_ABI_VERSION		2

#define KTSTR_VC_CTRL_NAME		"ktstr-vconsole"

/*
 * The port nodes' names, as printf formats: slot 0 keeps the names of a
 * module with one slot, KTSTR_VC_SLOT0_PORT_FMT with the port number;
 * slot N >= 1 is KTSTR_VC_SLOT_PORT_FMT with N and the port number.
 * String literals, so that "/dev/" can be put in front.
 */
#define KTSTR_VC_SLOT0_PORT_FMT		"ktstr-port%u"
#define KTSTR_VC_SLOT_PORT_FMT		"ktstr%u-port%u"
#define KTSTR_VC_PORT0_NAME		"ktstr-console"
#define KTSTR_VC_PORT1_NAME		"ktstr-bulk"

/* The device as the guest sees it. */
#define KTSTR_VC_NUM_PORTS		2
#define KTSTR_VC_NUM_QUEUES		(2 + 2 * KTSTR_VC_NUM_PORTS)
#define KTSTR_VC_QUEUE_MAX		256
#define KTSTR_VC_MMIO_SIZE		0x1000
#define KTSTR_VC_CONFIG_OFFSET		0x100
#define KTSTR_VC_CONFIG_SIZE		12

/* Queue indices (virtio 1.2 5.3.2 with F_MULTIPORT). */
#define KTSTR_VC_Q_PORT0_RX		0
#define KTSTR_VC_Q_PORT0_TX		1
#define KTSTR_VC_Q_CTRL_RX		2
#define KTSTR_VC_Q_CTRL_TX		3
#define KTSTR_VC_Q_PORT1_RX		4
#define KTSTR_VC_Q_PORT1_TX		5

/* Wake bytes the host writes to port 0. */
#define KTSTR_VC_WAKE_DUMP		0xD1
#define KTSTR_VC_WAKE_SHUTDOWN		0xD3
#define KTSTR_VC_WAKE_BPF_WRITE_DONE	0xBF

/* Limits the module enforces. */
#define KTSTR_VC_MAX_SLOTS		64
#define KTSTR_VC_MAX_MEM_REGIONS	64
#define KTSTR_VC_SLOT_NONE		0xffffffffu
#define KTSTR_VC_SLOT_ANY		0xfffffffeu

/*
 * KTSTR_VC_ATTACH: bind this instance to a slot; EBUSY if it is taken.
 * KTSTR_VC_SLOT_ANY takes the lowest free slot (EBUSY if there is none).
 * The slot attached is written back into slot.
 */
struct ktstr_vc_attach {
	__u32 slot;
	__u32 flags;			/* must be 0 */
};

/* One guest-physical range backed by the caller's own memory. */
struct ktstr_vc_mem_region {
	__u64 guest_phys_addr;		/* page aligned */
	__u64 size;			/* page aligned, non-zero */
	__u64 userspace_addr;		/* page aligned */
	__u64 flags;			/* must be 0 */
};

/* KTSTR_VC_SET_MEM_TABLE: replaces the whole table. */
struct ktstr_vc_mem_table {
	__u32 nregions;			/* 1..KTSTR_VC_MAX_MEM_REGIONS */
	__u32 padding;			/* must be 0 */
	struct ktstr_vc_mem_region regions[];
};

/* KTSTR_VC_SET_KICK_FD: fd = -1 removes the queue's kick eventfd. */
struct ktstr_vc_kick {
	__u32 queue;			/* 0..KTSTR_VC_NUM_QUEUES - 1 */
	__s32 fd;
};

/* KTSTR_VC_SET_CALL_FD: the irqfd; fd = -1 removes it. */
struct ktstr_vc_call {
	__s32 fd;
	__u32 padding;			/* must be 0 */
};

/*
 * KTSTR_VC_MMIO: one guest access to the register window, as a KVM MMIO
 * exit reports it.  Reads fill data[0..len); bytes past len are zeroed.
 */
#define KTSTR_VC_MMIO_WRITE		_BITUL(0)

struct ktstr_vc_mmio {
	__u32 offset;			/* 0..KTSTR_VC_MMIO_SIZE - 1 */
	__u32 len;			/* 1..8 */
	__u32 flags;			/* KTSTR_VC_MMIO_WRITE or 0 */
	__u32 padding;			/* must be 0 */
	__u8 data[8];
};

/*
 * KTSTR_VC_GET_PORT_FD: a new file for port `port` of this instance's
 * slot, returned as the ioctl's value, as if its node had been opened
 * with flags (O_RDONLY, O_WRONLY or O_RDWR, and O_NONBLOCK, O_CLOEXEC):
 * the same one-reader and one-writer rule (EBUSY), the same read,
 * write, poll and EOF.  It needs no access to the node, may be passed
 * on (SCM_RIGHTS) and outlives the instance as an open node would.
 */
struct ktstr_vc_port_fd {
	__u32 port;			/* 0..KTSTR_VC_NUM_PORTS - 1 */
	__u32 flags;			/* open(2) flags, as above */
};

/* KTSTR_VC_GET_INFO */
struct ktstr_vc_info {
	__u32 abi_version;
	__u32 slot;			/* KTSTR_VC_SLOT_NONE when detached */
	__u32 nr_slots;
	__u32 num_queues;
	__u32 queue_max;
	__u32 mmio_size;
	__u32 device_status;
	__u32 padding;
	__u64 device_features;
	__u64 driver_features;
};

struct ktstr_vc_queue_stats {
	__u64 bytes;			/* payload moved through the queue */
	__u64 chains;			/* chains returned to the used ring */
	__u64 kicks;			/* notifications, eventfd or MMIO */
	__u64 interrupts;		/* calls raised after this queue's work */
	__u64 runs;			/* times the device walked the ring */
	__u64 weight_stops;		/* runs that stopped at their weight */
};

/*
 * KTSTR_VC_GET_STATS.  The bad_* counters each count one class of
 * rejected guest action; every one of them also logs (rate limited).
 */
struct ktstr_vc_stats {
	struct ktstr_vc_queue_stats queue[KTSTR_VC_NUM_QUEUES];
	__u64 kicks;
	__u64 interrupts;
	__u64 port0_dropped;		/* console bytes lost to a full buffer */
	__u64 bad_access_size;		/* register access not 4 bytes wide */
	__u64 bad_status;		/* status FSM transition refused */
	__u64 bad_features;		/* driver features written out of window */
	__u64 bad_queue_config;		/* queue config out of window or range */
	__u64 bad_config_write;		/* write to read-only config space */
	__u64 bad_register;		/* unknown register offset */
	__u64 bad_notify;		/* notify refused (state, queue, feature) */
	__u64 bad_desc;			/* descriptor outside guest memory */
	__u64 bad_chain;		/* chain looped or exceeded queue size */
	__u64 bad_ring;			/* ring index or address invalid */
	__u64 bad_control;		/* malformed or unexpected control msg */
	__u64 torn_writes;		/* RX chain returned with len 0 */
	__u64 rx_discarded;		/* host bytes a device reset forgot */
	__u64 reserved[8];
};

#define KTSTR_VC_IOC_MAGIC		0xB9

#define KTSTR_VC_GET_INFO	_IOR(KTSTR_VC_IOC_MAGIC, 0x00, struct ktstr_vc_info)
#define KTSTR_VC_ATTACH		_IOWR(KTSTR_VC_IOC_MAGIC, 0x01, struct ktstr_vc_attach)
#define KTSTR_VC_DETACH		_IO(KTSTR_VC_IOC_MAGIC, 0x02)
#define KTSTR_VC_SET_MEM_TABLE	_IOW(KTSTR_VC_IOC_MAGIC, 0x03, struct ktstr_vc_mem_table)
#define KTSTR_VC_SET_KICK_FD	_IOW(KTSTR_VC_IOC_MAGIC, 0x04, struct ktstr_vc_kick)
#define KTSTR_VC_SET_CALL_FD	_IOW(KTSTR_VC_IOC_MAGIC, 0x05, struct ktstr_vc_call)
#define KTSTR_VC_MMIO		_IOWR(KTSTR_VC_IOC_MAGIC, 0x06, struct ktstr_vc_mmio)
#define KTSTR_VC_GET_STATS	_IOR(KTSTR_VC_IOC_MAGIC, 0x07, struct ktstr_vc_stats)
#define KTSTR_VC_GET_PORT_FD	_IOW(KTSTR_VC_IOC_MAGIC, 0x08, struct ktstr_vc_port_fd)

/* On a port device: bytes given way since load (port 0 only ever drops). */
#define KTSTR_VC_PORT_GET_DROPPED _IOR(KTSTR_VC_IOC_MAGIC, 0x20, __u64)

#endif /* _UAPI_LINUX_KTSTR_VCONSOLE_H */
