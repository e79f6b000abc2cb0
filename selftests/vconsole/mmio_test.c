// SPDX-License-Identifier: GPL-2.0
/*
 * The virtio-mmio register file and status state machine of ktstr-vconsole,
 * driven through KTSTR_VC_MMIO the way a VMM forwards its guest's accesses.
 *
 * The cases follow the unit tests of the reference device
 * (virtio_console.rs), under the same names where there is one.  Every
 * rejected access is also checked in the statistics: its class counts it
 * exactly once and no other class moves.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "vc_test.h"

/* struct virtio_console_config: cols 0, rows 0, max_nr_ports 2, emerg_wr 0 */
static const __u8 cfg_image[KTSTR_VC_CONFIG_SIZE] = {
	0, 0, 0, 0,
	VC_MAX_NR_PORTS, 0, 0, 0,
	0, 0, 0, 0,
};

static const __u8 all_ff[8] = {
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
};

/* The queue configuration registers, all gated on the same window. */
static const struct {
	__u32 reg;
	const char *name;
	__u32 val;
} queue_config_writes[] = {
	{ VIRTIO_MMIO_QUEUE_NUM,	"QUEUE_NUM",		64 },
	{ VIRTIO_MMIO_QUEUE_READY,	"QUEUE_READY",		1 },
	{ VIRTIO_MMIO_QUEUE_DESC_LOW,	"QUEUE_DESC_LOW",	0x1000 },
	{ VIRTIO_MMIO_QUEUE_DESC_HIGH,	"QUEUE_DESC_HIGH",	0x1 },
	{ VIRTIO_MMIO_QUEUE_AVAIL_LOW,	"QUEUE_AVAIL_LOW",	0x2000 },
	{ VIRTIO_MMIO_QUEUE_AVAIL_HIGH,	"QUEUE_AVAIL_HIGH",	0x2 },
	{ VIRTIO_MMIO_QUEUE_USED_LOW,	"QUEUE_USED_LOW",	0x3000 },
	{ VIRTIO_MMIO_QUEUE_USED_HIGH,	"QUEUE_USED_HIGH",	0x3 },
};

static void hex(char *out, size_t size, const __u8 *buf, __u32 len)
{
	__u32 i;
	int n = 0;

	out[0] = '\0';
	for (i = 0; i < len && n >= 0 && (size_t)n < size; i++)
		n += snprintf(out + n, size - n, "%s%02x", i ? " " : "", buf[i]);
}

static void _assert_bytes(struct __test_metadata *_metadata, int line,
			  const __u8 *want, const __u8 *got,
			  __u32 len, __u32 offset)
{
	char w[32], g[32];

	hex(w, sizeof(w), want, len);
	hex(g, sizeof(g), got, len);
	ASSERT_EQ(0, memcmp(want, got, len)) {
		TH_LOG("line %d: %u-byte read at %#x: expected [%s], got [%s]",
		       line, len, offset, w, g);
	}
}

/* The len bytes read at offset are want. */
#define assert_bytes(want, got, len, offset) \
	_assert_bytes(_metadata, __LINE__, want, got, len, offset)

/* A queue's registers are the ones after reset: empty, stopped, max size. */
static void _assert_queue_reset(struct __test_metadata *_metadata, int line,
				int fd, __u32 q)
{
	struct vc_queue_regs r;

	_vc_read_queue(_metadata, line, fd, q, &r);
	ASSERT_EQ(VC_QUEUE_MAX, r.num) {
		TH_LOG("line %d: queue %u QUEUE_NUM", line, q);
	}
	ASSERT_EQ(0u, r.ready) {
		TH_LOG("line %d: queue %u QUEUE_READY", line, q);
	}
	ASSERT_EQ(0ull, r.desc) {
		TH_LOG("line %d: queue %u QUEUE_DESC", line, q);
	}
	ASSERT_EQ(0ull, r.avail) {
		TH_LOG("line %d: queue %u QUEUE_AVAIL", line, q);
	}
	ASSERT_EQ(0ull, r.used) {
		TH_LOG("line %d: queue %u QUEUE_USED", line, q);
	}
}

#define assert_queue_reset(fd, q) \
	_assert_queue_reset(_metadata, __LINE__, fd, q)

FIXTURE(mmio) {
	int fd;
};

FIXTURE_SETUP(mmio)
{
	self->fd = -1;
	self->fd = vc_open_attached(0);
}

FIXTURE_TEARDOWN(mmio)
{
	if (self->fd >= 0)
		close(self->fd);
}

/* Identification and feature pages */

TEST_F(mmio, magic_version_device_id)
{
	ASSERT_EQ(VC_MMIO_MAGIC, vc_read32(self->fd, VIRTIO_MMIO_MAGIC_VALUE));
	ASSERT_EQ(VC_MMIO_VERSION, vc_read32(self->fd, VIRTIO_MMIO_VERSION));
	ASSERT_EQ(VC_DEVICE_ID, vc_read32(self->fd, VIRTIO_MMIO_DEVICE_ID));
	ASSERT_EQ(VC_VENDOR_ID, vc_read32(self->fd, VIRTIO_MMIO_VENDOR_ID));
}

TEST_F(mmio, device_features_advertises_multiport_and_v1)
{
	__u32 lo, hi;

	vc_write32(self->fd, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	lo = vc_read32(self->fd, VIRTIO_MMIO_DEVICE_FEATURES);
	vc_write32(self->fd, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	hi = vc_read32(self->fd, VIRTIO_MMIO_DEVICE_FEATURES);

	ASSERT_EQ((__u32)VC_F_MULTIPORT, lo) {
		TH_LOG("page 0 must hold F_MULTIPORT (bit 1) only, got %#x", lo);
	}
	ASSERT_EQ((__u32)(VC_F_VERSION_1 >> 32), hi) {
		TH_LOG("page 1 must hold VERSION_1 (bit 32) only, got %#x", hi);
	}
}

TEST_F(mmio, device_features_match_get_info)
{
	struct ktstr_vc_info info;
	__u64 features = vc_read_device_features(self->fd);

	vc_get_info(self->fd, &info);
	ASSERT_EQ(VC_DEVICE_FEATURES, features);
	ASSERT_EQ(VC_DEVICE_FEATURES, info.device_features);
}

TEST_F(mmio, features_page_2_returns_zero)
{
	static const __u32 pages[] = { 2, 3, 0x80000000u, 0xffffffffu };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(pages); i++) {
		vc_write32(self->fd, VIRTIO_MMIO_DEVICE_FEATURES_SEL, pages[i]);
		ASSERT_EQ(0u, vc_read32(self->fd, VIRTIO_MMIO_DEVICE_FEATURES)) {
			TH_LOG("device feature page %#x", pages[i]);
		}
	}
}

/* Config space */

TEST_F(mmio, config_space_max_nr_ports_at_offset_4)
{
	struct ktstr_vc_stats before;

	vc_get_stats(self->fd, &before);
	ASSERT_EQ(VC_MAX_NR_PORTS, vc_read32(self->fd, VC_CFG_MAX_NR_PORTS));
	vc_assert_not_counted(self->fd, &before);
}

TEST_F(mmio, config_space_cols_rows_zero_without_f_size)
{
	__u8 buf[4];

	vc_mmio_read(self->fd, VC_CFG_COLS, buf, sizeof(buf));
	assert_bytes(cfg_image, buf, sizeof(buf), VC_CFG_COLS);
}

TEST_F(mmio, config_space_write_ignored)
{
	struct ktstr_vc_stats before;

	vc_get_stats(self->fd, &before);
	vc_write32(self->fd, VC_CFG_MAX_NR_PORTS, 99);
	vc_assert_counted(self->fd, &before, VC_BAD_CONFIG_WRITE);
	ASSERT_EQ(VC_MAX_NR_PORTS, vc_read32(self->fd, VC_CFG_MAX_NR_PORTS));
}

TEST_F(mmio, config_space_narrow_write_ignored)
{
	static const __u8 junk[8] = { 0x55, 0x55, 0x55, 0x55,
					 0x55, 0x55, 0x55, 0x55 };
	static const struct {
		__u32 offset;
		__u32 len;
	} writes[] = {
		{ VC_CFG_COLS, 1 },
		{ VC_CFG_ROWS, 2 },
		{ VC_CFG_MAX_NR_PORTS, 8 },
		{ VC_CFG_EMERG_WR, 4 },
	};
	struct ktstr_vc_stats before;
	__u8 buf[8];
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(writes); i++) {
		vc_get_stats(self->fd, &before);
		vc_mmio_write(self->fd, writes[i].offset, junk, writes[i].len);
		vc_assert_counted(self->fd, &before, VC_BAD_CONFIG_WRITE);
	}
	vc_mmio_read(self->fd, VC_CFG(0), buf, 8);
	assert_bytes(cfg_image, buf, 8, VC_CFG(0));
	vc_mmio_read(self->fd, VC_CFG(8), buf, 4);
	assert_bytes(cfg_image + 8, buf, 4, VC_CFG(8));
}

TEST_F(mmio, config_read_out_of_range_fills_0xff)
{
	__u8 buf[4];

	vc_mmio_read(self->fd, VC_CFG(10), buf, sizeof(buf));
	assert_bytes(all_ff, buf, sizeof(buf), VC_CFG(10));
}

TEST_F(mmio, config_read_one_byte_past_end_fills_0xff)
{
	__u8 buf[4];

	vc_mmio_read(self->fd, VC_CFG(9), buf, sizeof(buf));
	assert_bytes(all_ff, buf, sizeof(buf), VC_CFG(9));
}

TEST_F(mmio, config_read_at_exact_end_returns_data)
{
	struct ktstr_vc_stats before;
	__u8 buf[4];

	vc_get_stats(self->fd, &before);
	vc_mmio_read(self->fd, VC_CFG_EMERG_WR, buf, sizeof(buf));
	vc_assert_not_counted(self->fd, &before);
	assert_bytes(cfg_image + 8, buf, sizeof(buf), VC_CFG_EMERG_WR);
}

TEST_F(mmio, config_read_1byte_inside_struct_returns_data)
{
	__u8 buf[1] = { 0xaa };

	vc_mmio_read(self->fd, VC_CFG_COLS, buf, sizeof(buf));
	assert_bytes(cfg_image, buf, sizeof(buf), VC_CFG_COLS);
}

TEST_F(mmio, config_read_every_width_inside_struct_returns_bytes)
{
	struct ktstr_vc_stats before;
	__u32 start, len;
	__u8 buf[8];

	vc_get_stats(self->fd, &before);
	for (start = 0; start < KTSTR_VC_CONFIG_SIZE; start++) {
		for (len = 1; len <= 8; len++) {
			if (start + len > KTSTR_VC_CONFIG_SIZE)
				break;
			memset(buf, 0xaa, sizeof(buf));
			vc_mmio_read(self->fd, VC_CFG(start), buf, len);
			assert_bytes(cfg_image + start, buf, len, VC_CFG(start));
		}
	}
	vc_assert_not_counted(self->fd, &before);
}

TEST_F(mmio, config_read_every_range_past_end_fills_0xff)
{
	__u32 start, len;
	__u8 buf[8];

	for (start = 0; start < KTSTR_VC_CONFIG_SIZE; start++) {
		for (len = 1; len <= 8; len++) {
			if (start + len <= KTSTR_VC_CONFIG_SIZE)
				continue;
			memset(buf, 0xaa, sizeof(buf));
			vc_mmio_read(self->fd, VC_CFG(start), buf, len);
			assert_bytes(all_ff, buf, len, VC_CFG(start));
		}
	}
}

/* Access width */

TEST_F(mmio, mmio_read_oversized_fills_0xff)
{
	struct ktstr_vc_stats before;
	__u8 buf[8];

	vc_get_stats(self->fd, &before);
	vc_mmio_read(self->fd, VIRTIO_MMIO_VERSION, buf, 8);
	vc_assert_counted(self->fd, &before, VC_BAD_ACCESS_SIZE);
	assert_bytes(all_ff, buf, 8, VIRTIO_MMIO_VERSION);
}

TEST_F(mmio, mmio_read_1byte_fills_0xff)
{
	struct ktstr_vc_stats before;
	__u8 buf[1];

	vc_get_stats(self->fd, &before);
	vc_mmio_read(self->fd, VIRTIO_MMIO_VERSION, buf, 1);
	vc_assert_counted(self->fd, &before, VC_BAD_ACCESS_SIZE);
	assert_bytes(all_ff, buf, 1, VIRTIO_MMIO_VERSION);
}

TEST_F(mmio, non_4byte_read_returns_ff)
{
	struct ktstr_vc_stats before;
	__u8 buf[2];

	vc_get_stats(self->fd, &before);
	vc_mmio_read(self->fd, VIRTIO_MMIO_MAGIC_VALUE, buf, 2);
	vc_assert_counted(self->fd, &before, VC_BAD_ACCESS_SIZE);
	assert_bytes(all_ff, buf, 2, VIRTIO_MMIO_MAGIC_VALUE);
}

TEST_F(mmio, mmio_read_3byte_fills_0xff)
{
	struct ktstr_vc_stats before;
	__u8 buf[3];

	vc_get_stats(self->fd, &before);
	vc_mmio_read(self->fd, VIRTIO_MMIO_VERSION, buf, 3);
	vc_assert_counted(self->fd, &before, VC_BAD_ACCESS_SIZE);
	assert_bytes(all_ff, buf, 3, VIRTIO_MMIO_VERSION);
}

TEST_F(mmio, mmio_read_4byte_returns_register_value)
{
	struct ktstr_vc_stats before;

	vc_get_stats(self->fd, &before);
	ASSERT_EQ(VC_MMIO_VERSION, vc_read32(self->fd, VIRTIO_MMIO_VERSION));
	vc_assert_not_counted(self->fd, &before);
}

TEST_F(mmio, mmio_read_zeroes_data_past_len)
{
	static const struct {
		__u32 offset;
		__u32 len;
		__u8 want[8];
	} reads[] = {
		{ VIRTIO_MMIO_MAGIC_VALUE, 4, { 'v', 'i', 'r', 't' } },
		{ VC_CFG_MAX_NR_PORTS, 1, { VC_MAX_NR_PORTS } },
		{ VIRTIO_MMIO_VERSION, 2, { 0xff, 0xff } },
		{ VIRTIO_MMIO_STATUS, 4, { 0 } },
	};
	struct ktstr_vc_mmio m;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(reads); i++) {
		memset(&m, 0, sizeof(m));
		m.offset = reads[i].offset;
		m.len = reads[i].len;
		memset(m.data, 0xaa, sizeof(m.data));
		vc_mmio(self->fd, &m);
		assert_bytes(reads[i].want, m.data, sizeof(m.data), m.offset);
	}
}

TEST_F(mmio, non_4byte_write_ignored)
{
	static const __u8 one[2] = { 0x01, 0x00 };
	struct ktstr_vc_stats before;

	vc_get_stats(self->fd, &before);
	vc_mmio_write(self->fd, VIRTIO_MMIO_STATUS, one, sizeof(one));
	vc_assert_counted(self->fd, &before, VC_BAD_ACCESS_SIZE);
	ASSERT_EQ(0u, vc_read32(self->fd, VIRTIO_MMIO_STATUS));
}

TEST_F(mmio, non_4byte_writes_of_1_3_8_bytes_ignored)
{
	static const __u8 one[8] = { 0x01 };
	static const __u32 lens[] = { 1, 3, 8 };
	struct ktstr_vc_stats before;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(lens); i++) {
		vc_get_stats(self->fd, &before);
		vc_mmio_write(self->fd, VIRTIO_MMIO_STATUS, one, lens[i]);
		vc_assert_counted(self->fd, &before, VC_BAD_ACCESS_SIZE);
		ASSERT_EQ(0u, vc_read32(self->fd, VIRTIO_MMIO_STATUS)) {
			TH_LOG("after a %u-byte write of ACK to STATUS", lens[i]);
		}
	}
}

/* Unknown, read-only and write-only registers */

TEST_F(mmio, unknown_register_returns_zero)
{
	static const __u32 offsets[] = { 0x300, 0x0fc, 0x10c, 0xffc };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(offsets); i++) {
		ASSERT_EQ(0u, vc_read32(self->fd, offsets[i])) {
			TH_LOG("unknown register %#x", offsets[i]);
		}
	}
}

TEST_F(mmio, unknown_register_write_ignored)
{
	struct ktstr_vc_stats before;

	vc_get_stats(self->fd, &before);
	vc_write32(self->fd, 0x300, 0xdead);
	vc_assert_counted(self->fd, &before, VC_BAD_REGISTER);
	ASSERT_EQ(0u, vc_read32(self->fd, VIRTIO_MMIO_STATUS));
	ASSERT_EQ(0u, vc_read32(self->fd, 0x300));
}

TEST_F(mmio, shm_registers_read_zero)
{
	static const __u32 offsets[] = {
		VIRTIO_MMIO_SHM_SEL,
		VIRTIO_MMIO_SHM_LEN_LOW, VIRTIO_MMIO_SHM_LEN_HIGH,
		VIRTIO_MMIO_SHM_BASE_LOW, VIRTIO_MMIO_SHM_BASE_HIGH,
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(offsets); i++) {
		ASSERT_EQ(0u, vc_read32(self->fd, offsets[i])) {
			TH_LOG("SHM register %#x", offsets[i]);
		}
	}
}

TEST_F(mmio, read_only_registers_ignore_writes)
{
	static const struct {
		__u32 reg;
		__u32 val;
	} regs[] = {
		{ VIRTIO_MMIO_MAGIC_VALUE,	VC_MMIO_MAGIC },
		{ VIRTIO_MMIO_VERSION,		VC_MMIO_VERSION },
		{ VIRTIO_MMIO_DEVICE_ID,	VC_DEVICE_ID },
		{ VIRTIO_MMIO_VENDOR_ID,	VC_VENDOR_ID },
		{ VIRTIO_MMIO_QUEUE_NUM_MAX,	VC_QUEUE_MAX },
		{ VIRTIO_MMIO_INTERRUPT_STATUS,	0 },
		{ VIRTIO_MMIO_CONFIG_GENERATION, 0 },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(regs); i++) {
		vc_write32(self->fd, regs[i].reg, 0x5a5a5a5a);
		ASSERT_EQ(regs[i].val, vc_read32(self->fd, regs[i].reg)) {
			TH_LOG("register %#x after writing 0x5a5a5a5a",
			       regs[i].reg);
		}
	}
}

TEST_F(mmio, write_only_registers_read_zero)
{
	static const __u32 offsets[] = {
		VIRTIO_MMIO_DEVICE_FEATURES_SEL,
		VIRTIO_MMIO_DRIVER_FEATURES,
		VIRTIO_MMIO_DRIVER_FEATURES_SEL,
		VIRTIO_MMIO_QUEUE_SEL,
		VIRTIO_MMIO_QUEUE_NOTIFY,
		VIRTIO_MMIO_INTERRUPT_ACK,
	};
	unsigned int i;

	vc_write32(self->fd, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	vc_write32(self->fd, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	vc_write32(self->fd, VIRTIO_MMIO_QUEUE_SEL, 3);
	for (i = 0; i < ARRAY_SIZE(offsets); i++) {
		ASSERT_EQ(0u, vc_read32(self->fd, offsets[i])) {
			TH_LOG("write-only register %#x", offsets[i]);
		}
	}
}

/* Queue registers */

TEST_F(mmio, queue_num_max_for_six_queues)
{
	__u32 q;

	for (q = 0; q < VC_NUM_QUEUES; q++) {
		vc_write32(self->fd, VIRTIO_MMIO_QUEUE_SEL, q);
		ASSERT_EQ(VC_QUEUE_MAX, vc_read32(self->fd, VIRTIO_MMIO_QUEUE_NUM_MAX)) {
			TH_LOG("queue %u should be available", q);
		}
	}
	vc_write32(self->fd, VIRTIO_MMIO_QUEUE_SEL, VC_NUM_QUEUES);
	ASSERT_EQ(0u, vc_read32(self->fd, VIRTIO_MMIO_QUEUE_NUM_MAX)) {
		TH_LOG("queue %u does not exist", VC_NUM_QUEUES);
	}
}

TEST_F(mmio, invalid_queue_select_returns_zero)
{
	static const __u32 sels[] = { 6, 99, 0xffffffffu };
	struct vc_queue_regs r;
	unsigned int i;

	vc_negotiate(self->fd, VC_DEVICE_FEATURES);
	for (i = 0; i < ARRAY_SIZE(sels); i++) {
		vc_read_queue(self->fd, sels[i], &r);
		ASSERT_EQ(0u, r.num_max) {
			TH_LOG("QUEUE_NUM_MAX with QUEUE_SEL %#x", sels[i]);
		}
		ASSERT_EQ(0u, r.num) {
			TH_LOG("QUEUE_NUM with QUEUE_SEL %#x", sels[i]);
		}
		ASSERT_EQ(0u, r.ready) {
			TH_LOG("QUEUE_READY with QUEUE_SEL %#x", sels[i]);
		}
		ASSERT_EQ(0ull, r.desc | r.avail | r.used) {
			TH_LOG("ring addresses with QUEUE_SEL %#x", sels[i]);
		}
	}
}

TEST_F(mmio, queues_start_at_max_size_not_ready)
{
	__u32 q;

	for (q = 0; q < VC_NUM_QUEUES; q++)
		assert_queue_reset(self->fd, q);
}

TEST_F(mmio, queue_ready_requires_features_ok)
{
	struct ktstr_vc_stats before;

	vc_get_stats(self->fd, &before);
	vc_write32(self->fd, VIRTIO_MMIO_QUEUE_SEL, 0);
	vc_write32(self->fd, VIRTIO_MMIO_QUEUE_READY, 1);
	vc_assert_counted(self->fd, &before, VC_BAD_QUEUE_CONFIG);
	ASSERT_EQ(0u, vc_read32(self->fd, VIRTIO_MMIO_QUEUE_READY)) {
		TH_LOG("QUEUE_READY written in status 0");
	}

	vc_walk_status(self->fd, VC_S_DRV);
	vc_get_stats(self->fd, &before);
	vc_write32(self->fd, VIRTIO_MMIO_QUEUE_READY, 1);
	vc_assert_counted(self->fd, &before, VC_BAD_QUEUE_CONFIG);
	ASSERT_EQ(0u, vc_read32(self->fd, VIRTIO_MMIO_QUEUE_READY)) {
		TH_LOG("QUEUE_READY written in status ACK|DRIVER");
	}

	vc_write32(self->fd, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	vc_write32(self->fd, VIRTIO_MMIO_DRIVER_FEATURES,
		   (__u32)(VC_F_VERSION_1 >> 32));
	vc_walk_status(self->fd, VC_S_FEAT);
	vc_get_stats(self->fd, &before);
	vc_write32(self->fd, VIRTIO_MMIO_QUEUE_SEL, 0);
	vc_write32(self->fd, VIRTIO_MMIO_QUEUE_READY, 1);
	vc_assert_not_counted(self->fd, &before);
	ASSERT_EQ(1u, vc_read32(self->fd, VIRTIO_MMIO_QUEUE_READY)) {
		TH_LOG("QUEUE_READY written after FEATURES_OK");
	}
}

TEST_F(mmio, queue_ready_write_zero_stops_queue)
{
	vc_negotiate(self->fd, VC_DEVICE_FEATURES);
	vc_write32(self->fd, VIRTIO_MMIO_QUEUE_SEL, 1);
	vc_write32(self->fd, VIRTIO_MMIO_QUEUE_READY, 1);
	ASSERT_EQ(1u, vc_read32(self->fd, VIRTIO_MMIO_QUEUE_READY));
	vc_write32(self->fd, VIRTIO_MMIO_QUEUE_READY, 0);
	ASSERT_EQ(0u, vc_read32(self->fd, VIRTIO_MMIO_QUEUE_READY));
}

TEST_F(mmio, queue_desc_addr_requires_features_ok)
{
	struct ktstr_vc_stats before;

	vc_get_stats(self->fd, &before);
	vc_write32(self->fd, VIRTIO_MMIO_QUEUE_SEL, 0);
	vc_write32(self->fd, VIRTIO_MMIO_QUEUE_DESC_LOW, 0x1000);
	vc_assert_counted(self->fd, &before, VC_BAD_QUEUE_CONFIG);
	ASSERT_EQ(0u, vc_read32(self->fd, VIRTIO_MMIO_QUEUE_DESC_LOW)) {
		TH_LOG("QUEUE_DESC_LOW written in status 0 must not stick");
	}

	vc_negotiate(self->fd, VC_DEVICE_FEATURES);
	vc_get_stats(self->fd, &before);
	vc_write32(self->fd, VIRTIO_MMIO_QUEUE_SEL, 0);
	vc_write32(self->fd, VIRTIO_MMIO_QUEUE_DESC_LOW, 0x1000);
	vc_write32(self->fd, VIRTIO_MMIO_QUEUE_DESC_HIGH, 0);
	vc_assert_not_counted(self->fd, &before);
	ASSERT_EQ(0x1000u, vc_read32(self->fd, VIRTIO_MMIO_QUEUE_DESC_LOW));
	ASSERT_EQ(0u, vc_read32(self->fd, VIRTIO_MMIO_QUEUE_DESC_HIGH));
}

TEST_F(mmio, queue_addresses_read_back_per_queue)
{
	struct ktstr_vc_stats before;
	struct vc_queue_regs r;

	vc_negotiate(self->fd, VC_DEVICE_FEATURES);
	vc_get_stats(self->fd, &before);
	vc_setup_queue(self->fd, 2, 128, 0x123456000ull, 0x200001000ull,
		       0x300002000ull);
	vc_assert_not_counted(self->fd, &before);

	vc_read_queue(self->fd, 2, &r);
	ASSERT_EQ(VC_QUEUE_MAX, r.num_max);
	ASSERT_EQ(128u, r.num);
	ASSERT_EQ(1u, r.ready);
	ASSERT_EQ(0x123456000ull, r.desc);
	ASSERT_EQ(0x200001000ull, r.avail);
	ASSERT_EQ(0x300002000ull, r.used);

	/* Its neighbours keep their own registers. */
	assert_queue_reset(self->fd, 1);
	assert_queue_reset(self->fd, 3);
}

TEST_F(mmio, queue_num_power_of_two_accepted)
{
	struct ktstr_vc_stats before;
	__u32 num;

	vc_negotiate(self->fd, VC_DEVICE_FEATURES);
	vc_write32(self->fd, VIRTIO_MMIO_QUEUE_SEL, 5);
	vc_get_stats(self->fd, &before);
	for (num = 1; num <= VC_QUEUE_MAX; num <<= 1) {
		vc_write32(self->fd, VIRTIO_MMIO_QUEUE_NUM, num);
		ASSERT_EQ(num, vc_read32(self->fd, VIRTIO_MMIO_QUEUE_NUM));
	}
	vc_assert_not_counted(self->fd, &before);
}

TEST_F(mmio, queue_num_invalid_size_rejected)
{
	static const __u32 bad[] = {
		0, 3, 100, 255, 257, 512, 0x10000, 0xffffffffu,
	};
	struct ktstr_vc_stats before;
	unsigned int i;

	vc_negotiate(self->fd, VC_DEVICE_FEATURES);
	vc_write32(self->fd, VIRTIO_MMIO_QUEUE_SEL, 4);
	vc_write32(self->fd, VIRTIO_MMIO_QUEUE_NUM, 64);
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		vc_get_stats(self->fd, &before);
		vc_write32(self->fd, VIRTIO_MMIO_QUEUE_NUM, bad[i]);
		vc_assert_counted(self->fd, &before, VC_BAD_QUEUE_CONFIG);
		ASSERT_EQ(64u, vc_read32(self->fd, VIRTIO_MMIO_QUEUE_NUM)) {
			TH_LOG("after writing QUEUE_NUM %#x", bad[i]);
		}
	}
}

/*
 * Outside the window between FEATURES_OK and DRIVER_OK, or for a queue
 * that does not exist, every queue configuration write is counted and
 * leaves the queues as reset made them.
 */
FIXTURE(queue_config) {
	int fd;
};

FIXTURE_VARIANT(queue_config) {
	__u32 status;		/* VC_S_FEAT and VC_S_OK with all features */
	__u32 queue;		/* selected for the writes */
	bool num_first;		/* QUEUE_NUM checked on its own first */
};

FIXTURE_SETUP(queue_config)
{
	self->fd = -1;
	self->fd = vc_open_attached(0);
}

FIXTURE_TEARDOWN(queue_config)
{
	if (self->fd >= 0)
		close(self->fd);
}

FIXTURE_VARIANT_ADD(queue_config, before_features_ok) {
	.status = VC_S_DRV,
	.queue = 0,
};

FIXTURE_VARIANT_ADD(queue_config, after_driver_ok) {
	.status = VC_S_OK,
	.queue = 0,
	.num_first = true,
};

FIXTURE_VARIANT_ADD(queue_config, invalid_queue) {
	.status = VC_S_FEAT,
	.queue = VC_NUM_QUEUES,
};

static void _queue_config_reach(struct __test_metadata *_metadata, int fd,
				__u32 status)
{
	if (status == VC_S_OK)
		vc_init_device(fd, VC_DEVICE_FEATURES);
	else if (status == VC_S_FEAT)
		vc_negotiate(fd, VC_DEVICE_FEATURES);
	else
		vc_walk_status(fd, status);
}

TEST_F(queue_config, rejected)
{
	struct ktstr_vc_stats before;
	unsigned int i;
	__u32 q;

	_queue_config_reach(_metadata, self->fd, variant->status);
	vc_write32(self->fd, VIRTIO_MMIO_QUEUE_SEL, variant->queue);
	if (variant->num_first) {
		vc_get_stats(self->fd, &before);
		vc_write32(self->fd, VIRTIO_MMIO_QUEUE_NUM, 64);
		vc_assert_counted(self->fd, &before, VC_BAD_QUEUE_CONFIG);
		ASSERT_EQ(VC_QUEUE_MAX,
			  vc_read32(self->fd, VIRTIO_MMIO_QUEUE_NUM)) {
			TH_LOG("QUEUE_NUM 64 written in status %#x must not stick",
			       variant->status);
		}
	}

	for (i = 0; i < ARRAY_SIZE(queue_config_writes); i++) {
		vc_get_stats(self->fd, &before);
		vc_write32(self->fd, queue_config_writes[i].reg,
			   queue_config_writes[i].val);
		vc_assert_counted(self->fd, &before, VC_BAD_QUEUE_CONFIG);
	}
	for (q = 0; q < VC_NUM_QUEUES; q++)
		if (variant->queue == VC_NUM_QUEUES || q == variant->queue)
			assert_queue_reset(self->fd, q);
}

/* Status state machine */

TEST_F(mmio, status_state_machine)
{
	struct ktstr_vc_stats before;

	ASSERT_EQ(0u, vc_read32(self->fd, VIRTIO_MMIO_STATUS));
	vc_write32(self->fd, VIRTIO_MMIO_STATUS, VC_S_ACK);
	ASSERT_EQ(VC_S_ACK, vc_read32(self->fd, VIRTIO_MMIO_STATUS));
	vc_write32(self->fd, VIRTIO_MMIO_STATUS, VC_S_DRV);
	ASSERT_EQ(VC_S_DRV, vc_read32(self->fd, VIRTIO_MMIO_STATUS));

	vc_get_stats(self->fd, &before);
	vc_write32(self->fd, VIRTIO_MMIO_STATUS, VC_S_OK);
	vc_assert_counted(self->fd, &before, VC_BAD_STATUS);
	ASSERT_EQ(VC_S_DRV, vc_read32(self->fd, VIRTIO_MMIO_STATUS)) {
		TH_LOG("skipping FEATURES_OK must be rejected");
	}

	vc_get_stats(self->fd, &before);
	vc_write32(self->fd, VIRTIO_MMIO_STATUS, VC_S_ACK);
	vc_assert_counted(self->fd, &before, VC_BAD_STATUS);
	ASSERT_EQ(VC_S_DRV, vc_read32(self->fd, VIRTIO_MMIO_STATUS)) {
		TH_LOG("clearing DRIVER must be rejected");
	}
}

TEST_F(mmio, status_ladder_accepts_one_bit_per_step)
{
	static const __u32 rungs[] = { VC_S_ACK, VC_S_DRV, VC_S_FEAT, VC_S_OK };
	struct ktstr_vc_stats before;
	struct ktstr_vc_info info;
	unsigned int i;

	vc_get_stats(self->fd, &before);
	for (i = 0; i < ARRAY_SIZE(rungs); i++) {
		/* FEATURES_OK takes a feature set with VERSION_1. */
		if (rungs[i] == VC_S_FEAT)
			vc_write_driver_features(self->fd, VC_F_VERSION_1);
		vc_write32(self->fd, VIRTIO_MMIO_STATUS, rungs[i]);
		ASSERT_EQ(rungs[i], vc_read32(self->fd, VIRTIO_MMIO_STATUS));
		vc_get_info(self->fd, &info);
		ASSERT_EQ(rungs[i], info.device_status);
	}
	vc_assert_not_counted(self->fd, &before);
}

TEST_F(mmio, status_reset_via_zero)
{
	struct ktstr_vc_stats before;

	vc_init_device(self->fd, VC_DEVICE_FEATURES);
	ASSERT_EQ(VC_S_OK, vc_read32(self->fd, VIRTIO_MMIO_STATUS));
	vc_get_stats(self->fd, &before);
	vc_write32(self->fd, VIRTIO_MMIO_STATUS, 0);
	vc_assert_not_counted(self->fd, &before);
	ASSERT_EQ(0u, vc_read32(self->fd, VIRTIO_MMIO_STATUS));
}

/*
 * A status write off the ladder: the device counts it and keeps the status
 * it had.  One case per write, from the status the variant walks to.
 */
FIXTURE(status_write) {
	int fd;
};

FIXTURE_VARIANT(status_write) {
	__u32 from;		/* walked to first; VC_S_OK with all features */
	__u32 write;
	const char *why;
};

FIXTURE_SETUP(status_write)
{
	self->fd = -1;
	self->fd = vc_open_attached(0);
}

FIXTURE_TEARDOWN(status_write)
{
	if (self->fd >= 0)
		close(self->fd);
}

FIXTURE_VARIANT_ADD(status_write, skip_acknowledge) {
	.from = 0,
	.write = VIRTIO_CONFIG_S_DRIVER,
	.why = "DRIVER without ACKNOWLEDGE",
};

FIXTURE_VARIANT_ADD(status_write, features_ok_before_driver) {
	.from = VC_S_ACK,
	.write = VC_S_ACK | VIRTIO_CONFIG_S_FEATURES_OK,
	.why = "FEATURES_OK before DRIVER",
};

FIXTURE_VARIANT_ADD(status_write, driver_ok_before_features_ok) {
	.from = VC_S_DRV,
	.write = VC_S_DRV | VIRTIO_CONFIG_S_DRIVER_OK,
	.why = "DRIVER_OK before FEATURES_OK",
};

FIXTURE_VARIANT_ADD(status_write, clear_acknowledge) {
	.from = VC_S_ACK,
	.write = VIRTIO_CONFIG_S_DRIVER,
	.why = "DRIVER alone would clear ACKNOWLEDGE",
};

FIXTURE_VARIANT_ADD(status_write, clear_driver_keeps_ack) {
	.from = VC_S_DRV,
	.write = VC_S_ACK,
	.why = "ACK alone would clear DRIVER",
};

FIXTURE_VARIANT_ADD(status_write, clear_driver_ok) {
	.from = VC_S_OK,
	.write = VC_S_FEAT,
	.why = "ACK|DRIVER|FEATURES_OK would clear DRIVER_OK",
};

FIXTURE_VARIANT_ADD(status_write, idempotent_same_value) {
	.from = VC_S_ACK,
	.write = VC_S_ACK,
	.why = "the same status again adds no bit",
};

FIXTURE_VARIANT_ADD(status_write, two_bits_at_once) {
	.from = VC_S_DRV,
	.write = VC_S_OK,
	.why = "FEATURES_OK and DRIVER_OK together must be rejected",
};

FIXTURE_VARIANT_ADD(status_write, failed_plus_unknown_bit) {
	.from = VC_S_ACK,
	.write = VC_S_ACK | VC_S_FAILED | 0x10,
	.why = "FAILED does not carry an unknown bit",
};

TEST_F(status_write, rejected)
{
	struct ktstr_vc_stats before;

	/* DRIVER_OK needs FEATURES_OK, which needs a feature set. */
	if (variant->from == VC_S_OK)
		vc_init_device(self->fd, VC_DEVICE_FEATURES);
	else
		vc_walk_status(self->fd, variant->from);
	vc_get_stats(self->fd, &before);
	vc_write32(self->fd, VIRTIO_MMIO_STATUS, variant->write);
	vc_assert_counted(self->fd, &before, VC_BAD_STATUS);
	ASSERT_EQ(variant->from, vc_read32(self->fd, VIRTIO_MMIO_STATUS)) {
		TH_LOG("status %#x written in %#x: %s", variant->write,
		       variant->from, variant->why);
	}
}

TEST_F(mmio, set_status_unknown_bit_rejected)
{
	static const __u32 unknown[] = { 0x10, 0x20, 0x40 };
	struct ktstr_vc_stats before;
	unsigned int i;

	vc_walk_status(self->fd, VC_S_ACK);
	for (i = 0; i < ARRAY_SIZE(unknown); i++) {
		vc_get_stats(self->fd, &before);
		vc_write32(self->fd, VIRTIO_MMIO_STATUS, VC_S_ACK | unknown[i]);
		vc_assert_counted(self->fd, &before, VC_BAD_STATUS);
		ASSERT_EQ(VC_S_ACK, vc_read32(self->fd, VIRTIO_MMIO_STATUS)) {
			TH_LOG("status bit %#x must be rejected", unknown[i]);
		}
	}
}

TEST_F(mmio, set_status_failed_accepted_at_every_fsm_state)
{
	static const __u32 rungs[] = {
		0, VC_S_ACK, VC_S_DRV, VC_S_FEAT, VC_S_OK,
	};
	struct ktstr_vc_stats before;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(rungs); i++) {
		if (rungs[i] & VIRTIO_CONFIG_S_FEATURES_OK)
			vc_negotiate(self->fd, VC_F_VERSION_1);
		else
			vc_write32(self->fd, VIRTIO_MMIO_STATUS, 0);
		vc_walk_status(self->fd, rungs[i]);
		vc_get_stats(self->fd, &before);
		vc_write32(self->fd, VIRTIO_MMIO_STATUS, rungs[i] | VC_S_FAILED);
		vc_assert_not_counted(self->fd, &before);
		ASSERT_EQ(rungs[i] | VC_S_FAILED,
			  vc_read32(self->fd, VIRTIO_MMIO_STATUS)) {
			TH_LOG("FAILED on top of status %#x", rungs[i]);
		}
	}
}

TEST_F(mmio, status_zero_clears_failed)
{
	vc_write32(self->fd, VIRTIO_MMIO_STATUS, VC_S_FAILED);
	ASSERT_EQ(VC_S_FAILED, vc_read32(self->fd, VIRTIO_MMIO_STATUS));
	vc_write32(self->fd, VIRTIO_MMIO_STATUS, 0);
	ASSERT_EQ(0u, vc_read32(self->fd, VIRTIO_MMIO_STATUS));
	vc_walk_status(self->fd, VC_S_ACK);
}

/* Interrupts and config generation */

TEST_F(mmio, interrupt_status_initially_zero)
{
	ASSERT_EQ(0u, vc_read32(self->fd, VIRTIO_MMIO_INTERRUPT_STATUS));
}

TEST_F(mmio, interrupt_ack_of_unset_bits_leaves_zero)
{
	vc_init_device(self->fd, VC_DEVICE_FEATURES);
	vc_write32(self->fd, VIRTIO_MMIO_INTERRUPT_ACK,
		   VIRTIO_MMIO_INT_VRING | VIRTIO_MMIO_INT_CONFIG);
	ASSERT_EQ(0u, vc_read32(self->fd, VIRTIO_MMIO_INTERRUPT_STATUS));
	vc_write32(self->fd, VIRTIO_MMIO_INTERRUPT_ACK, 0xffffffffu);
	ASSERT_EQ(0u, vc_read32(self->fd, VIRTIO_MMIO_INTERRUPT_STATUS));
}

TEST_F(mmio, config_generation_initially_zero)
{
	ASSERT_EQ(0u, vc_read32(self->fd, VIRTIO_MMIO_CONFIG_GENERATION));
}

/* Driver features */

TEST_F(mmio, driver_features_gated_by_status)
{
	struct ktstr_vc_stats before;
	struct ktstr_vc_info info;

	vc_get_stats(self->fd, &before);
	vc_write32(self->fd, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	vc_write32(self->fd, VIRTIO_MMIO_DRIVER_FEATURES, 0xdead);
	vc_assert_counted(self->fd, &before, VC_BAD_FEATURES);
	vc_get_info(self->fd, &info);
	ASSERT_EQ(0ull, info.driver_features) {
		TH_LOG("driver features written in status 0 must not stick");
	}

	vc_walk_status(self->fd, VC_S_DRV);
	vc_get_stats(self->fd, &before);
	vc_write32(self->fd, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	vc_write32(self->fd, VIRTIO_MMIO_DRIVER_FEATURES, 0xdeadbeef);
	vc_write32(self->fd, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	vc_write32(self->fd, VIRTIO_MMIO_DRIVER_FEATURES, 0xcafebabe);
	vc_assert_not_counted(self->fd, &before);
	vc_get_info(self->fd, &info);
	ASSERT_EQ(0xcafebabedeadbeefull, info.driver_features) {
		TH_LOG("got %#llx", (unsigned long long)info.driver_features);
	}
}

TEST_F(mmio, driver_features_rejected_with_ack_only)
{
	struct ktstr_vc_stats before;
	struct ktstr_vc_info info;

	vc_walk_status(self->fd, VC_S_ACK);
	vc_get_stats(self->fd, &before);
	vc_write32(self->fd, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	vc_write32(self->fd, VIRTIO_MMIO_DRIVER_FEATURES, 0x2);
	vc_assert_counted(self->fd, &before, VC_BAD_FEATURES);
	vc_get_info(self->fd, &info);
	ASSERT_EQ(0ull, info.driver_features);
}

TEST_F(mmio, features_rejected_after_features_ok)
{
	struct ktstr_vc_stats before;
	struct ktstr_vc_info info;

	vc_negotiate(self->fd, VC_F_VERSION_1);
	vc_get_stats(self->fd, &before);
	vc_write32(self->fd, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	vc_write32(self->fd, VIRTIO_MMIO_DRIVER_FEATURES, 0xffff);
	vc_assert_counted(self->fd, &before, VC_BAD_FEATURES);
	vc_get_info(self->fd, &info);
	ASSERT_EQ(VC_F_VERSION_1, info.driver_features) {
		TH_LOG("got %#llx", (unsigned long long)info.driver_features);
	}
}

TEST_F(mmio, features_rejected_after_driver_ok)
{
	struct ktstr_vc_stats before;
	struct ktstr_vc_info info;

	vc_init_device(self->fd, VC_DEVICE_FEATURES);
	vc_get_stats(self->fd, &before);
	vc_write32(self->fd, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	vc_write32(self->fd, VIRTIO_MMIO_DRIVER_FEATURES, 0);
	vc_assert_counted(self->fd, &before, VC_BAD_FEATURES);
	vc_get_info(self->fd, &info);
	ASSERT_EQ(VC_DEVICE_FEATURES, info.driver_features) {
		TH_LOG("got %#llx", (unsigned long long)info.driver_features);
	}
}

/*
 * Virtio 1.2 2.2.2: the device must not accept a feature it never
 * offered, nor a version-2 driver without VERSION_1.  FEATURES_OK stays
 * clear when read back, which is how the driver learns it.
 */
static void _assert_features_ok_refused(struct __test_metadata *_metadata,
					int line, int fd, __u64 features)
{
	struct ktstr_vc_stats before;

	_vc_walk_status(_metadata, line, fd, VC_S_DRV);
	_vc_write_driver_features(_metadata, line, fd, features);
	_vc_get_stats(_metadata, line, fd, &before);
	_vc_write32(_metadata, line, fd, VIRTIO_MMIO_STATUS, VC_S_FEAT);
	_vc_assert_counted(_metadata, line, fd, &before, VC_BAD_FEATURES);
	ASSERT_EQ(VC_S_DRV, _vc_read32(_metadata, line, fd, VIRTIO_MMIO_STATUS)) {
		TH_LOG("line %d: FEATURES_OK accepted for features %#llx",
		       line, (unsigned long long)features);
	}
}

#define assert_features_ok_refused(fd, features) \
	_assert_features_ok_refused(_metadata, __LINE__, fd, features)

TEST_F(mmio, features_ok_refused_for_feature_never_offered)
{
	/* VIRTIO_CONSOLE_F_SIZE (bit 0) is not offered. */
	assert_features_ok_refused(self->fd, VC_DEVICE_FEATURES | 1);
}

TEST_F(mmio, features_ok_refused_for_high_page_feature_never_offered)
{
	assert_features_ok_refused(self->fd, VC_DEVICE_FEATURES | (1ull << 63));
}

TEST_F(mmio, features_ok_refused_without_version_1)
{
	assert_features_ok_refused(self->fd, VC_F_MULTIPORT);
}

/* Reset */

TEST_F(mmio, reset_clears_all_state)
{
	struct ktstr_vc_stats before;
	struct ktstr_vc_info info;

	vc_negotiate(self->fd, VC_DEVICE_FEATURES);
	vc_setup_queue(self->fd, 3, 64, 0x10000, 0x11000, 0x12000);
	vc_walk_status(self->fd, VC_S_OK);
	vc_write32(self->fd, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	vc_write32(self->fd, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	vc_write32(self->fd, VIRTIO_MMIO_QUEUE_SEL, 99);

	vc_get_stats(self->fd, &before);
	vc_write32(self->fd, VIRTIO_MMIO_STATUS, 0);
	vc_assert_not_counted(self->fd, &before);

	ASSERT_EQ(0u, vc_read32(self->fd, VIRTIO_MMIO_STATUS));
	ASSERT_EQ(0u, vc_read32(self->fd, VIRTIO_MMIO_INTERRUPT_STATUS));
	vc_get_info(self->fd, &info);
	ASSERT_EQ(0u, info.device_status);
	ASSERT_EQ(0ull, info.driver_features) {
		TH_LOG("reset must clear driver features, got %#llx",
		       (unsigned long long)info.driver_features);
	}
	/* DEVICE_FEATURES_SEL is back on page 0. */
	ASSERT_EQ((__u32)VC_DEVICE_FEATURES,
		  vc_read32(self->fd, VIRTIO_MMIO_DEVICE_FEATURES));
	/* QUEUE_SEL is back on a real queue. */
	ASSERT_EQ(VC_QUEUE_MAX, vc_read32(self->fd, VIRTIO_MMIO_QUEUE_NUM_MAX));
	/* DRIVER_FEATURES_SEL is back on page 0. */
	vc_walk_status(self->fd, VC_S_DRV);
	vc_write32(self->fd, VIRTIO_MMIO_DRIVER_FEATURES, 0x12345678);
	vc_get_info(self->fd, &info);
	ASSERT_EQ(0x12345678ull, info.driver_features) {
		TH_LOG("a page-0 write after reset, got %#llx",
		       (unsigned long long)info.driver_features);
	}
}

TEST_F(mmio, reset_restores_every_queue)
{
	__u32 q;

	vc_negotiate(self->fd, VC_DEVICE_FEATURES);
	for (q = 0; q < VC_NUM_QUEUES; q++)
		vc_setup_queue(self->fd, q, 32, 0x100000000ull + q * 0x10000,
			       0x200000000ull + q * 0x10000,
			       0x300000000ull + q * 0x10000);
	vc_walk_status(self->fd, VC_S_OK);
	vc_write32(self->fd, VIRTIO_MMIO_STATUS, 0);
	for (q = 0; q < VC_NUM_QUEUES; q++)
		assert_queue_reset(self->fd, q);
}

/* Notifications */

TEST_F(mmio, notify_before_driver_ok_counted)
{
	struct ktstr_vc_stats before;

	vc_get_stats(self->fd, &before);
	vc_write32(self->fd, VIRTIO_MMIO_QUEUE_NOTIFY, KTSTR_VC_Q_PORT0_TX);
	vc_assert_counted(self->fd, &before, VC_BAD_NOTIFY);

	vc_negotiate(self->fd, VC_DEVICE_FEATURES);
	vc_setup_queue(self->fd, KTSTR_VC_Q_PORT0_TX, 64, 0x10000, 0x11000,
		       0x12000);
	vc_get_stats(self->fd, &before);
	vc_write32(self->fd, VIRTIO_MMIO_QUEUE_NOTIFY, KTSTR_VC_Q_PORT0_TX);
	vc_assert_counted(self->fd, &before, VC_BAD_NOTIFY);
}

TEST_F(mmio, notify_invalid_queue_counted)
{
	static const __u32 queues[] = { 6, 7, 0x10000, 0xffffffffu };
	struct ktstr_vc_stats before;
	unsigned int i;

	vc_init_device(self->fd, VC_DEVICE_FEATURES);
	for (i = 0; i < ARRAY_SIZE(queues); i++) {
		vc_get_stats(self->fd, &before);
		vc_write32(self->fd, VIRTIO_MMIO_QUEUE_NOTIFY, queues[i]);
		vc_assert_counted(self->fd, &before, VC_BAD_NOTIFY);
	}
}

TEST_F(mmio, notify_multiport_queue_without_f_multiport_counted)
{
	struct ktstr_vc_stats before;
	__u32 q;

	vc_init_device(self->fd, VC_F_VERSION_1);
	for (q = KTSTR_VC_Q_CTRL_RX; q < VC_NUM_QUEUES; q++) {
		vc_get_stats(self->fd, &before);
		vc_write32(self->fd, VIRTIO_MMIO_QUEUE_NOTIFY, q);
		vc_assert_counted(self->fd, &before, VC_BAD_NOTIFY);
	}
}

TEST_HARNESS_MAIN
