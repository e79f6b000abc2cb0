// SPDX-License-Identifier: GPL-2.0
/*
 * Userspace side of the ktstr-vconsole ABI: see vc_util.h.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "vc_util.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

/* The status bits in the order a driver must set them. */
static const __u32 vc_status_ladder[] = {
	VIRTIO_CONFIG_S_ACKNOWLEDGE,
	VIRTIO_CONFIG_S_DRIVER,
	VIRTIO_CONFIG_S_FEATURES_OK,
	VIRTIO_CONFIG_S_DRIVER_OK,
};

#define VC_BAD_FIELD(f)	{ #f, offsetof(struct ktstr_vc_stats, f) }

static const struct {
	const char *name;
	size_t offset;
} vc_bad_fields[VC_BAD_NR] = {
	[VC_BAD_ACCESS_SIZE]	= VC_BAD_FIELD(bad_access_size),
	[VC_BAD_STATUS]		= VC_BAD_FIELD(bad_status),
	[VC_BAD_FEATURES]	= VC_BAD_FIELD(bad_features),
	[VC_BAD_QUEUE_CONFIG]	= VC_BAD_FIELD(bad_queue_config),
	[VC_BAD_CONFIG_WRITE]	= VC_BAD_FIELD(bad_config_write),
	[VC_BAD_REGISTER]	= VC_BAD_FIELD(bad_register),
	[VC_BAD_NOTIFY]		= VC_BAD_FIELD(bad_notify),
	[VC_BAD_DESC]		= VC_BAD_FIELD(bad_desc),
	[VC_BAD_CHAIN]		= VC_BAD_FIELD(bad_chain),
	[VC_BAD_RING]		= VC_BAD_FIELD(bad_ring),
	[VC_BAD_CONTROL]	= VC_BAD_FIELD(bad_control),
};

int ___vc_ioctl(int fd, unsigned long cmd, void *arg, size_t size)
{
	int ret;

	if (size && size != _IOC_SIZE(cmd)) {
		fprintf(stderr, "ioctl %#lx: a %zu-byte argument for %lu bytes\n",
			cmd, size, _IOC_SIZE(cmd));
		abort();
	}
	ret = ioctl(fd, cmd, arg);
	return ret < 0 ? -errno : ret;
}

int __vc_open(void)
{
	int fd = open(VC_CTRL_PATH, O_RDWR | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

int __vc_attach(int fd, __u32 slot, __u32 flags)
{
	struct ktstr_vc_attach arg = { .slot = slot, .flags = flags };

	return __vc_ioctl(fd, KTSTR_VC_ATTACH, &arg);
}

int __vc_attach_any(int fd, __u32 *slot)
{
	struct ktstr_vc_attach arg = { .slot = KTSTR_VC_SLOT_ANY };
	int ret = __vc_ioctl(fd, KTSTR_VC_ATTACH, &arg);

	if (!ret)
		*slot = arg.slot;
	return ret;
}

int __vc_get_port_fd(int fd, __u32 port, __u32 flags)
{
	struct ktstr_vc_port_fd arg = { .port = port, .flags = flags };

	return __vc_ioctl(fd, KTSTR_VC_GET_PORT_FD, &arg);
}

int __vc_detach(int fd)
{
	return __vc_ioctl(fd, KTSTR_VC_DETACH, NULL);
}

int __vc_get_info(int fd, struct ktstr_vc_info *info)
{
	return __vc_ioctl(fd, KTSTR_VC_GET_INFO, info);
}

int __vc_get_stats(int fd, struct ktstr_vc_stats *stats)
{
	return __vc_ioctl(fd, KTSTR_VC_GET_STATS, stats);
}

int __vc_mmio(int fd, struct ktstr_vc_mmio *mmio)
{
	return __vc_ioctl(fd, KTSTR_VC_MMIO, mmio);
}

int __vc_mmio_read(int fd, __u32 offset, void *buf, __u32 len)
{
	struct ktstr_vc_mmio m = { .offset = offset, .len = len };
	int ret;

	if (!len || len > sizeof(m.data))
		return -EINVAL;
	ret = __vc_mmio(fd, &m);
	if (!ret)
		memcpy(buf, m.data, len);
	return ret;
}

int __vc_mmio_write(int fd, __u32 offset, const void *buf, __u32 len)
{
	struct ktstr_vc_mmio m = {
		.offset = offset,
		.len = len,
		.flags = KTSTR_VC_MMIO_WRITE,
	};

	if (!len || len > sizeof(m.data))
		return -EINVAL;
	memcpy(m.data, buf, len);
	return __vc_mmio(fd, &m);
}

int __vc_read32(int fd, __u32 offset, __u32 *val)
{
	__u32 le;
	int ret;

	ret = __vc_mmio_read(fd, offset, &le, sizeof(le));
	if (!ret)
		*val = le32toh(le);
	return ret;
}

int __vc_write32(int fd, __u32 offset, __u32 val)
{
	__u32 le = htole32(val);

	return __vc_mmio_write(fd, offset, &le, sizeof(le));
}

int __vc_read_device_features(int fd, __u64 *features)
{
	__u32 lo, hi;
	int ret;

	ret = __vc_write32(fd, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	if (!ret)
		ret = __vc_read32(fd, VIRTIO_MMIO_DEVICE_FEATURES, &lo);
	if (!ret)
		ret = __vc_write32(fd, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	if (!ret)
		ret = __vc_read32(fd, VIRTIO_MMIO_DEVICE_FEATURES, &hi);
	if (!ret)
		*features = (__u64)hi << 32 | lo;
	return ret;
}

int __vc_write_driver_features(int fd, __u64 features)
{
	int ret;

	ret = __vc_write32(fd, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	if (!ret)
		ret = __vc_write32(fd, VIRTIO_MMIO_DRIVER_FEATURES,
				   (__u32)features);
	if (!ret)
		ret = __vc_write32(fd, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	if (!ret)
		ret = __vc_write32(fd, VIRTIO_MMIO_DRIVER_FEATURES,
				   (__u32)(features >> 32));
	return ret;
}

/* Is status one of 0, ACK, ACK|DRIVER, ... along the ladder? */
static int vc_ladder_rung(__u32 status)
{
	__u32 rung = 0;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(vc_status_ladder); i++) {
		if (status == rung)
			return i;
		rung |= vc_status_ladder[i];
	}
	return status == rung ? (int)i : -1;
}

int __vc_walk_status(int fd, __u32 target)
{
	int from, to, i, ret;
	__u32 status;

	ret = __vc_read32(fd, VIRTIO_MMIO_STATUS, &status);
	if (ret)
		return ret;
	from = vc_ladder_rung(status);
	to = vc_ladder_rung(target);
	if (from < 0 || to < 0 || from > to)
		return -EINVAL;

	for (i = from; i < to; i++) {
		__u32 want = status | vc_status_ladder[i];

		ret = __vc_write32(fd, VIRTIO_MMIO_STATUS, want);
		if (!ret)
			ret = __vc_read32(fd, VIRTIO_MMIO_STATUS, &status);
		if (ret)
			return ret;
		if (status != want)
			return -EPROTO;
	}
	return 0;
}

int __vc_negotiate(int fd, __u64 features)
{
	int ret;

	ret = __vc_write32(fd, VIRTIO_MMIO_STATUS, 0);
	if (!ret)
		ret = __vc_walk_status(fd, VC_S_DRV);
	if (!ret)
		ret = __vc_write_driver_features(fd, features);
	if (!ret)
		ret = __vc_walk_status(fd, VC_S_FEAT);
	return ret;
}

int __vc_init_device(int fd, __u64 features)
{
	int ret;

	ret = __vc_negotiate(fd, features);
	if (!ret)
		ret = __vc_walk_status(fd, VC_S_OK);
	return ret;
}

int __vc_setup_queue(int fd, __u32 queue, __u32 num, __u64 desc,
		     __u64 avail, __u64 used)
{
	const struct {
		__u32 reg;
		__u32 val;
	} writes[] = {
		{ VIRTIO_MMIO_QUEUE_SEL,	queue },
		{ VIRTIO_MMIO_QUEUE_NUM,	num },
		{ VIRTIO_MMIO_QUEUE_DESC_LOW,	(__u32)desc },
		{ VIRTIO_MMIO_QUEUE_DESC_HIGH,	(__u32)(desc >> 32) },
		{ VIRTIO_MMIO_QUEUE_AVAIL_LOW,	(__u32)avail },
		{ VIRTIO_MMIO_QUEUE_AVAIL_HIGH,	(__u32)(avail >> 32) },
		{ VIRTIO_MMIO_QUEUE_USED_LOW,	(__u32)used },
		{ VIRTIO_MMIO_QUEUE_USED_HIGH,	(__u32)(used >> 32) },
		{ VIRTIO_MMIO_QUEUE_READY,	1 },
	};
	__u32 ready;
	unsigned int i;
	int ret;

	for (i = 0; i < ARRAY_SIZE(writes); i++) {
		ret = __vc_write32(fd, writes[i].reg, writes[i].val);
		if (ret)
			return ret;
	}
	ret = __vc_read32(fd, VIRTIO_MMIO_QUEUE_READY, &ready);
	if (ret)
		return ret;
	return ready == 1 ? 0 : -EPROTO;
}

static int vc_read64(int fd, __u32 lo_reg, __u32 hi_reg, __u64 *val)
{
	__u32 lo, hi;
	int ret;

	ret = __vc_read32(fd, lo_reg, &lo);
	if (!ret)
		ret = __vc_read32(fd, hi_reg, &hi);
	if (!ret)
		*val = (__u64)hi << 32 | lo;
	return ret;
}

int __vc_read_queue(int fd, __u32 queue, struct vc_queue_regs *regs)
{
	int ret;

	ret = __vc_write32(fd, VIRTIO_MMIO_QUEUE_SEL, queue);
	if (!ret)
		ret = __vc_read32(fd, VIRTIO_MMIO_QUEUE_NUM_MAX, &regs->num_max);
	if (!ret)
		ret = __vc_read32(fd, VIRTIO_MMIO_QUEUE_NUM, &regs->num);
	if (!ret)
		ret = __vc_read32(fd, VIRTIO_MMIO_QUEUE_READY, &regs->ready);
	if (!ret)
		ret = vc_read64(fd, VIRTIO_MMIO_QUEUE_DESC_LOW,
				VIRTIO_MMIO_QUEUE_DESC_HIGH, &regs->desc);
	if (!ret)
		ret = vc_read64(fd, VIRTIO_MMIO_QUEUE_AVAIL_LOW,
				VIRTIO_MMIO_QUEUE_AVAIL_HIGH, &regs->avail);
	if (!ret)
		ret = vc_read64(fd, VIRTIO_MMIO_QUEUE_USED_LOW,
				VIRTIO_MMIO_QUEUE_USED_HIGH, &regs->used);
	return ret;
}

__u64 vc_bad_count(const struct ktstr_vc_stats *stats, enum vc_bad which)
{
	__u64 val;

	memcpy(&val, (const char *)stats + vc_bad_fields[which].offset,
	       sizeof(val));
	return val;
}

const char *vc_bad_name(enum vc_bad which)
{
	return vc_bad_fields[which].name;
}
