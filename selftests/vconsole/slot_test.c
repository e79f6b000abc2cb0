// SPDX-License-Identifier: GPL-2.0
/*
 * The control device of ktstr-vconsole: slots, attach and detach, and the
 * argument checking of every ioctl.  One open file of /dev/ktstr-vconsole
 * is one device instance; an instance owns at most one slot and a slot has
 * at most one instance.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vc_test.h"

#define NR_SLOTS_PARAM	"/sys/module/ktstr_vconsole/parameters/nr_slots"

/*
 * The ioctls that take a struct, for the pointer checks.  MMIO on a
 * detached instance may fail with ENOTCONN before its argument is read,
 * so its pointer is checked on an attached instance only.
 */
static const struct {
	unsigned long cmd;
	const char *name;
	bool detached;
} struct_ioctls[] = {
	{ KTSTR_VC_GET_INFO,	"KTSTR_VC_GET_INFO",	true },
	{ KTSTR_VC_ATTACH,	"KTSTR_VC_ATTACH",	true },
	{ KTSTR_VC_MMIO,	"KTSTR_VC_MMIO",	false },
	{ KTSTR_VC_GET_STATS,	"KTSTR_VC_GET_STATS",	true },
	{ KTSTR_VC_GET_PORT_FD,	"KTSTR_VC_GET_PORT_FD",	false },
};

static __u32 _nr_slots(struct __test_metadata *_metadata, int fd)
{
	struct ktstr_vc_info info;

	_vc_get_info(_metadata, __LINE__, fd, &info);
	return info.nr_slots;
}

#define nr_slots(fd)	_nr_slots(_metadata, fd)

static __u32 _slot_of(struct __test_metadata *_metadata, int fd)
{
	struct ktstr_vc_info info;

	_vc_get_info(_metadata, __LINE__, fd, &info);
	return info.slot;
}

#define slot_of(fd)	_slot_of(_metadata, fd)

/* Send one KTSTR_VC_MMIO as given; 0 or -errno. */
static int mmio_raw(int fd, __u32 offset, __u32 len, __u32 flags,
		    __u32 padding, __u8 data0)
{
	struct ktstr_vc_mmio m = {
		.offset = offset,
		.len = len,
		.flags = flags,
		.padding = padding,
		.data = { data0 },
	};

	return __vc_mmio(fd, &m);
}

FIXTURE(slot) {
	int fd;
};

FIXTURE_SETUP(slot)
{
	self->fd = -1;
	self->fd = vc_open_attached(0);
}

FIXTURE_TEARDOWN(slot)
{
	if (self->fd >= 0)
		close(self->fd);
}

/* GET_INFO and GET_STATS */

TEST_F(slot, get_info_reports_abi_and_geometry)
{
	struct ktstr_vc_info info;

	memset(&info, 0xaa, sizeof(info));
	vc_get_info(self->fd, &info);
	ASSERT_EQ((__u32)KTSTR_VC_ABI_VERSION, info.abi_version);
	ASSERT_LE(1u, info.nr_slots);
	ASSERT_GE((__u32)KTSTR_VC_MAX_SLOTS, info.nr_slots);
	ASSERT_EQ(VC_NUM_QUEUES, info.num_queues);
	ASSERT_EQ(VC_QUEUE_MAX, info.queue_max);
	ASSERT_EQ((__u32)KTSTR_VC_MMIO_SIZE, info.mmio_size);
	ASSERT_EQ(0u, info.device_status);
	ASSERT_EQ(0u, info.padding);
	ASSERT_EQ(VC_DEVICE_FEATURES, info.device_features) {
		TH_LOG("got %#llx", (unsigned long long)info.device_features);
	}
	ASSERT_EQ(0ull, info.driver_features);
}

TEST_F(slot, get_info_nr_slots_matches_module_param)
{
	unsigned int param;
	FILE *f;
	int n;

	f = fopen(NR_SLOTS_PARAM, "r");
	if (!f)
		SKIP(return, "%s: %s", NR_SLOTS_PARAM, strerror(errno));
	n = fscanf(f, "%u", &param);
	fclose(f);
	ASSERT_EQ(1, n);
	ASSERT_EQ(param, nr_slots(self->fd));
}

TEST_F(slot, get_info_reports_attached_slot)
{
	ASSERT_EQ(0u, slot_of(self->fd));
}

TEST_F(slot, get_info_reports_slot_none_when_detached)
{
	struct ktstr_vc_info info;
	int fd2 = vc_open();

	vc_get_info(fd2, &info);
	ASSERT_EQ(KTSTR_VC_SLOT_NONE, info.slot);
	ASSERT_EQ((__u32)KTSTR_VC_ABI_VERSION, info.abi_version);
	ASSERT_EQ(VC_DEVICE_FEATURES, info.device_features);
	close(fd2);
}

TEST_F(slot, get_stats_starts_at_zero_when_detached)
{
	struct ktstr_vc_stats stats, zero;
	int fd2 = vc_open();

	memset(&stats, 0xaa, sizeof(stats));
	memset(&zero, 0, sizeof(zero));
	vc_get_stats(fd2, &stats);
	ASSERT_EQ(0, memcmp(&zero, &stats, sizeof(stats))) {
		TH_LOG("a new instance must report all-zero statistics");
	}
	close(fd2);
}

/* ATTACH */

TEST_F(slot, attach_twice_fails_eisconn)
{
	ASSERT_EQ(-EISCONN, __vc_attach(self->fd, 0, 0));
	if (nr_slots(self->fd) > 1)
		ASSERT_EQ(-EISCONN, __vc_attach(self->fd, 1, 0));
	ASSERT_EQ(0u, slot_of(self->fd));
}

TEST_F(slot, attach_taken_slot_fails_ebusy)
{
	int fd2 = vc_open();

	ASSERT_EQ(-EBUSY, __vc_attach(fd2, 0, 0));
	ASSERT_EQ(KTSTR_VC_SLOT_NONE, slot_of(fd2));
	ASSERT_EQ(0u, slot_of(self->fd));
	close(fd2);
}

TEST_F(slot, attach_free_slot_while_other_held_succeeds)
{
	int fd2;

	if (nr_slots(self->fd) < 2)
		SKIP(return, "needs a second slot");
	fd2 = vc_open();
	ASSERT_EQ(0, __vc_attach(fd2, 1, 0));
	ASSERT_EQ(1u, slot_of(fd2));
	ASSERT_EQ(0u, slot_of(self->fd));
	close(fd2);
}

TEST_F(slot, attach_after_owner_detaches_succeeds)
{
	int fd2 = vc_open();

	ASSERT_EQ(-EBUSY, __vc_attach(fd2, 0, 0));
	ASSERT_EQ(0, __vc_detach(self->fd));
	ASSERT_EQ(0, __vc_attach(fd2, 0, 0));
	ASSERT_EQ(0u, slot_of(fd2));
	ASSERT_EQ(-EBUSY, __vc_attach(self->fd, 0, 0)) {
		TH_LOG("the old owner must not get its slot back");
	}
	close(fd2);
}

TEST_F(slot, attach_after_owner_closes_succeeds)
{
	int fd2 = vc_open();

	ASSERT_EQ(-EBUSY, __vc_attach(fd2, 0, 0));
	ASSERT_EQ(0, close(self->fd));
	self->fd = -1;
	ASSERT_EQ(0, __vc_attach(fd2, 0, 0)) {
		TH_LOG("closing the owner must free the slot");
	}
	ASSERT_EQ(0u, slot_of(fd2));
	close(fd2);
}

/* A runner starting many VMs need not pick slots: ANY takes the lowest. */
TEST_F(slot, attach_any_takes_lowest_free_slot_and_reports_it)
{
	int fd1 = vc_open(), fd2 = vc_open();
	__u32 got = KTSTR_VC_SLOT_NONE;

	/* The fixture holds slot 0. */
	ASSERT_EQ(0, __vc_attach_any(fd1, &got));
	ASSERT_EQ(1u, got);
	ASSERT_EQ(1u, slot_of(fd1));
	ASSERT_EQ(0, __vc_detach(self->fd));
	ASSERT_EQ(0, __vc_attach_any(fd2, &got));
	ASSERT_EQ(0u, got) TH_LOG("slot 0 was freed: it is the lowest");
	ASSERT_EQ(0u, slot_of(fd2));
	close(fd1);
	close(fd2);
}

TEST_F(slot, attach_any_with_every_slot_taken_fails_ebusy)
{
	__u32 n = nr_slots(self->fd), i, got;
	int fds[KTSTR_VC_MAX_SLOTS], extra = vc_open();

	for (i = 1; i < n; i++) {
		fds[i] = vc_open();
		ASSERT_EQ(0, __vc_attach_any(fds[i], &got));
		ASSERT_EQ(i, got);
	}
	got = 1234;
	ASSERT_EQ(-EBUSY, __vc_attach_any(extra, &got));
	ASSERT_EQ(1234u, got) TH_LOG("a failed ATTACH writes nothing back");
	ASSERT_EQ(KTSTR_VC_SLOT_NONE, slot_of(extra));
	for (i = 1; i < n; i++)
		close(fds[i]);
	close(extra);
}

TEST_F(slot, attach_out_of_range_fails_einval)
{
	__u32 nr = nr_slots(self->fd);
	const __u32 slots[] = { nr, nr + 1, KTSTR_VC_MAX_SLOTS, 1000,
				   KTSTR_VC_SLOT_NONE };
	int fd2 = vc_open();
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(slots); i++) {
		ASSERT_EQ(-EINVAL, __vc_attach(fd2, slots[i], 0)) {
			TH_LOG("slot %u of %u", slots[i], nr);
		}
		ASSERT_EQ(KTSTR_VC_SLOT_NONE, slot_of(fd2));
	}
	close(fd2);
}

TEST_F(slot, attach_nonzero_flags_fails_einval)
{
	static const __u32 flags[] = { 1, 0x80000000u, 0xffffffffu };
	unsigned int i;
	int fd2;

	if (nr_slots(self->fd) < 2)
		SKIP(return, "needs a second slot");
	fd2 = vc_open();
	for (i = 0; i < ARRAY_SIZE(flags); i++) {
		ASSERT_EQ(-EINVAL, __vc_attach(fd2, 1, flags[i])) {
			TH_LOG("flags %#x", flags[i]);
		}
		ASSERT_EQ(KTSTR_VC_SLOT_NONE, slot_of(fd2));
	}
	ASSERT_EQ(0, __vc_attach(fd2, 1, 0)) {
		TH_LOG("the refused attaches must have left slot 1 free");
	}
	close(fd2);
}

/* DETACH */

TEST_F(slot, detach_reports_slot_none)
{
	ASSERT_EQ(0, __vc_detach(self->fd));
	ASSERT_EQ(KTSTR_VC_SLOT_NONE, slot_of(self->fd));
}

TEST_F(slot, detach_when_detached_fails_enotconn)
{
	int fd2 = vc_open();

	ASSERT_EQ(-ENOTCONN, __vc_detach(fd2));
	ASSERT_EQ(0, __vc_detach(self->fd));
	ASSERT_EQ(-ENOTCONN, __vc_detach(self->fd));
	close(fd2);
}

TEST_F(slot, detach_resets_device_state)
{
	struct ktstr_vc_info info;
	struct vc_queue_regs r;

	vc_init_device(self->fd, VC_DEVICE_FEATURES);
	ASSERT_EQ(0, __vc_detach(self->fd));
	ASSERT_EQ(0, __vc_attach(self->fd, 0, 0));

	vc_get_info(self->fd, &info);
	ASSERT_EQ(0u, info.device_status);
	ASSERT_EQ(0ull, info.driver_features);
	ASSERT_EQ(0u, vc_read32(self->fd, VIRTIO_MMIO_STATUS));
	vc_read_queue(self->fd, 0, &r);
	ASSERT_EQ(VC_QUEUE_MAX, r.num);
	ASSERT_EQ(0u, r.ready);
}

TEST_F(slot, detached_instance_can_attach_another_slot)
{
	if (nr_slots(self->fd) < 2)
		SKIP(return, "needs a second slot");
	ASSERT_EQ(0, __vc_detach(self->fd));
	ASSERT_EQ(0, __vc_attach(self->fd, 1, 0));
	ASSERT_EQ(1u, slot_of(self->fd));
}

TEST_F(slot, instances_have_independent_register_files)
{
	int fd2;

	if (nr_slots(self->fd) < 2)
		SKIP(return, "needs a second slot");
	fd2 = vc_open_attached(1);
	vc_walk_status(self->fd, VC_S_DRV);
	ASSERT_EQ(0u, vc_read32(fd2, VIRTIO_MMIO_STATUS));
	vc_walk_status(fd2, VC_S_ACK);
	ASSERT_EQ(VC_S_DRV, vc_read32(self->fd, VIRTIO_MMIO_STATUS));
	ASSERT_EQ(VC_S_ACK, vc_read32(fd2, VIRTIO_MMIO_STATUS));
	close(fd2);
}

/* MMIO argument checks */

TEST_F(slot, mmio_when_detached_fails_enotconn)
{
	int fd2 = vc_open();
	__u32 val;

	ASSERT_EQ(-ENOTCONN, __vc_read32(fd2, VIRTIO_MMIO_MAGIC_VALUE, &val));
	ASSERT_EQ(-ENOTCONN, __vc_write32(fd2, VIRTIO_MMIO_STATUS, VC_S_ACK));
	ASSERT_EQ(0, __vc_detach(self->fd));
	ASSERT_EQ(-ENOTCONN, __vc_read32(self->fd, VIRTIO_MMIO_MAGIC_VALUE, &val));
	close(fd2);
}

TEST_F(slot, mmio_len_zero_fails_einval)
{
	ASSERT_EQ(-EINVAL, mmio_raw(self->fd, VIRTIO_MMIO_MAGIC_VALUE, 0, 0, 0, 0));
	ASSERT_EQ(-EINVAL, mmio_raw(self->fd, VIRTIO_MMIO_STATUS, 0,
				    KTSTR_VC_MMIO_WRITE, 0, VC_S_ACK));
	ASSERT_EQ(0u, vc_read32(self->fd, VIRTIO_MMIO_STATUS));
}

TEST_F(slot, mmio_len_over_8_fails_einval)
{
	static const __u32 lens[] = { 9, 16, 0x80000000u, 0xffffffffu };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(lens); i++) {
		ASSERT_EQ(-EINVAL, mmio_raw(self->fd, 0, lens[i], 0, 0, 0)) {
			TH_LOG("%u-byte read", lens[i]);
		}
		ASSERT_EQ(-EINVAL, mmio_raw(self->fd, 0, lens[i],
					    KTSTR_VC_MMIO_WRITE, 0, 0)) {
			TH_LOG("%u-byte write", lens[i]);
		}
	}
}

TEST_F(slot, mmio_past_window_fails_einval)
{
	static const struct {
		__u32 offset;
		__u32 len;
	} bad[] = {
		{ 0xffd, 4 }, { 0xfff, 2 }, { 0xff9, 8 },
		{ 0x1000, 1 }, { 0x1000, 4 }, { 0x2000, 4 },
		{ 0xfffffffcu, 8 }, { 0xffffffffu, 1 },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		ASSERT_EQ(-EINVAL, mmio_raw(self->fd, bad[i].offset, bad[i].len,
					    0, 0, 0)) {
			TH_LOG("%u-byte read at %#x", bad[i].len, bad[i].offset);
		}
		ASSERT_EQ(-EINVAL, mmio_raw(self->fd, bad[i].offset, bad[i].len,
					    KTSTR_VC_MMIO_WRITE, 0, 0)) {
			TH_LOG("%u-byte write at %#x", bad[i].len, bad[i].offset);
		}
	}
}

TEST_F(slot, mmio_last_bytes_of_window_accepted)
{
	static const struct {
		__u32 offset;
		__u32 len;
	} edge[] = {
		{ 0xffc, 4 }, { 0xfff, 1 }, { 0xff8, 8 },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(edge); i++) {
		ASSERT_EQ(0, mmio_raw(self->fd, edge[i].offset, edge[i].len,
				      0, 0, 0)) {
			TH_LOG("%u-byte read at %#x", edge[i].len, edge[i].offset);
		}
	}
	ASSERT_EQ(0u, vc_read32(self->fd, 0xffc));
}

TEST_F(slot, mmio_unknown_flags_fails_einval)
{
	static const __u32 flags[] = {
		2, KTSTR_VC_MMIO_WRITE | 2, 0x80000000u, 0xffffffffu,
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(flags); i++) {
		ASSERT_EQ(-EINVAL, mmio_raw(self->fd, VIRTIO_MMIO_STATUS, 4,
					    flags[i], 0, VC_S_ACK)) {
			TH_LOG("flags %#x", flags[i]);
		}
	}
	ASSERT_EQ(0u, vc_read32(self->fd, VIRTIO_MMIO_STATUS)) {
		TH_LOG("a refused access must not reach the register file");
	}
}

TEST_F(slot, mmio_nonzero_padding_fails_einval)
{
	static const __u32 padding[] = { 1, 0x80000000u, 0xffffffffu };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(padding); i++) {
		ASSERT_EQ(-EINVAL, mmio_raw(self->fd, VIRTIO_MMIO_MAGIC_VALUE,
					    4, 0, padding[i], 0)) {
			TH_LOG("read with padding %#x", padding[i]);
		}
		ASSERT_EQ(-EINVAL, mmio_raw(self->fd, VIRTIO_MMIO_STATUS, 4,
					    KTSTR_VC_MMIO_WRITE, padding[i],
					    VC_S_ACK)) {
			TH_LOG("write with padding %#x", padding[i]);
		}
	}
	ASSERT_EQ(0u, vc_read32(self->fd, VIRTIO_MMIO_STATUS)) {
		TH_LOG("a refused access must not reach the register file");
	}
}

TEST_F(slot, refused_mmio_is_not_counted_as_guest_action)
{
	struct ktstr_vc_stats before;

	vc_get_stats(self->fd, &before);
	ASSERT_EQ(-EINVAL, mmio_raw(self->fd, VIRTIO_MMIO_STATUS, 0,
				    KTSTR_VC_MMIO_WRITE, 0, 0));
	ASSERT_EQ(-EINVAL, mmio_raw(self->fd, 0x1000, 4, 0, 0, 0));
	ASSERT_EQ(-EINVAL, mmio_raw(self->fd, VIRTIO_MMIO_STATUS, 4, 2, 0, 0));
	vc_assert_not_counted(self->fd, &before);
}

/* ioctl numbers and pointers */

TEST_F(slot, unknown_ioctl_fails_enotty)
{
	static const unsigned long cmds[] = {
		0,
		_IO(KTSTR_VC_IOC_MAGIC, 0x7f),
		_IOR(KTSTR_VC_IOC_MAGIC, 0x00, __u64),
		_IOWR(KTSTR_VC_IOC_MAGIC, 0x06, struct ktstr_vc_info),
		_IOR(KTSTR_VC_IOC_MAGIC + 1, 0x00, struct ktstr_vc_info),
	};
	struct ktstr_vc_stats buf;
	unsigned int i;
	int fd2 = vc_open();

	for (i = 0; i < ARRAY_SIZE(cmds); i++) {
		memset(&buf, 0, sizeof(buf));
		ASSERT_EQ(-ENOTTY, __vc_ioctl(self->fd, cmds[i], (void *)&buf)) {
			TH_LOG("ioctl %#lx on an attached instance", cmds[i]);
		}
		ASSERT_EQ(-ENOTTY, __vc_ioctl(fd2, cmds[i], (void *)&buf)) {
			TH_LOG("ioctl %#lx on a detached instance", cmds[i]);
		}
	}
	close(fd2);
}

TEST_F(slot, bad_pointer_fails_efault)
{
	int fd2 = vc_open();
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(struct_ioctls); i++) {
		ASSERT_EQ(-EFAULT, __vc_ioctl(self->fd, struct_ioctls[i].cmd,
					      (void *)1)) {
			TH_LOG("%s((void *)1) on an attached instance",
			       struct_ioctls[i].name);
		}
		if (!struct_ioctls[i].detached)
			continue;
		ASSERT_EQ(-EFAULT, __vc_ioctl(fd2, struct_ioctls[i].cmd,
					      (void *)1)) {
			TH_LOG("%s((void *)1) on a detached instance",
			       struct_ioctls[i].name);
		}
	}
	ASSERT_EQ(KTSTR_VC_SLOT_NONE, slot_of(fd2));
	ASSERT_EQ(0u, slot_of(self->fd));
	close(fd2);
}

TEST_F(slot, null_pointer_fails_efault)
{
	int fd2 = vc_open();
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(struct_ioctls); i++) {
		ASSERT_EQ(-EFAULT, __vc_ioctl(self->fd, struct_ioctls[i].cmd,
					      NULL)) {
			TH_LOG("%s(NULL) on an attached instance",
			       struct_ioctls[i].name);
		}
		if (!struct_ioctls[i].detached)
			continue;
		ASSERT_EQ(-EFAULT, __vc_ioctl(fd2, struct_ioctls[i].cmd,
					      NULL)) {
			TH_LOG("%s(NULL) on a detached instance",
			       struct_ioctls[i].name);
		}
	}
	ASSERT_EQ(KTSTR_VC_SLOT_NONE, slot_of(fd2));
	close(fd2);
}

TEST_F(slot, output_to_readonly_memory_fails_efault)
{
	long page = sysconf(_SC_PAGESIZE);
	struct ktstr_vc_mmio *m;
	void *p;

	p = mmap(NULL, page, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, p);
	m = p;
	m->offset = VIRTIO_MMIO_MAGIC_VALUE;
	m->len = 4;
	ASSERT_EQ(0, mprotect(p, page, PROT_READ));

	ASSERT_EQ(-EFAULT, __vc_ioctl(self->fd, KTSTR_VC_MMIO, p)) {
		TH_LOG("KTSTR_VC_MMIO read into read-only memory");
	}
	ASSERT_EQ(-EFAULT, __vc_ioctl(self->fd, KTSTR_VC_GET_INFO, p));
	ASSERT_EQ(-EFAULT, __vc_ioctl(self->fd, KTSTR_VC_GET_STATS, p));
	munmap(p, page);
}

/* ATTACH writes the slot back: where it cannot, nothing stays taken. */
TEST_F(slot, attach_reporting_into_readonly_memory_fails_efault_holds_nothing)
{
	long page = sysconf(_SC_PAGESIZE);
	struct ktstr_vc_attach *a;
	int fd2 = vc_open(), fd3 = vc_open();

	a = mmap(NULL, page, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, a);
	a->slot = KTSTR_VC_SLOT_ANY;
	ASSERT_EQ(0, mprotect(a, page, PROT_READ));
	ASSERT_EQ(-EFAULT, __vc_ioctl(fd2, KTSTR_VC_ATTACH, a));
	ASSERT_EQ(KTSTR_VC_SLOT_NONE, slot_of(fd2));
	ASSERT_EQ(0, __vc_attach(fd3, 1, 0))
		TH_LOG("the slot the failed ATTACH picked must be free again");
	munmap(a, page);
	close(fd2);
	close(fd3);
}

/* Ioctls of later work: only check that bad arguments never succeed. */

TEST_F(slot, set_mem_table_bad_args_fail)
{
	struct {
		struct ktstr_vc_mem_table t;
		struct ktstr_vc_mem_region r[1];
	} arg;

	memset(&arg, 0, sizeof(arg));
	ASSERT_NE(0, __vc_ioctl(self->fd, KTSTR_VC_SET_MEM_TABLE, (void *)&arg)) {
		TH_LOG("an empty memory table must be refused");
	}
	arg.t.nregions = 1;
	arg.t.padding = 1;
	arg.r[0].size = 0x1000;
	ASSERT_NE(0, __vc_ioctl(self->fd, KTSTR_VC_SET_MEM_TABLE, (void *)&arg)) {
		TH_LOG("non-zero padding must be refused");
	}
	arg.t.nregions = KTSTR_VC_MAX_MEM_REGIONS + 1;
	arg.t.padding = 0;
	ASSERT_NE(0, __vc_ioctl(self->fd, KTSTR_VC_SET_MEM_TABLE, (void *)&arg)) {
		TH_LOG("more than %d regions must be refused",
		       KTSTR_VC_MAX_MEM_REGIONS);
	}
	ASSERT_NE(0, __vc_ioctl(self->fd, KTSTR_VC_SET_MEM_TABLE, NULL));
	ASSERT_NE(0, __vc_ioctl(self->fd, KTSTR_VC_SET_MEM_TABLE, (void *)1));
}

TEST_F(slot, set_kick_fd_bad_args_fail)
{
	struct ktstr_vc_kick kick = { .queue = VC_NUM_QUEUES, .fd = -1 };
	int closed = dup(self->fd);

	ASSERT_LE(0, closed);
	ASSERT_EQ(0, close(closed));
	ASSERT_NE(0, __vc_ioctl(self->fd, KTSTR_VC_SET_KICK_FD, &kick)) {
		TH_LOG("queue %u does not exist", kick.queue);
	}
	kick.queue = 0;
	kick.fd = closed;
	ASSERT_NE(0, __vc_ioctl(self->fd, KTSTR_VC_SET_KICK_FD, &kick)) {
		TH_LOG("fd %d is not open", closed);
	}
	kick.fd = self->fd;
	ASSERT_NE(0, __vc_ioctl(self->fd, KTSTR_VC_SET_KICK_FD, &kick)) {
		TH_LOG("the control device is not an eventfd");
	}
	ASSERT_NE(0, __vc_ioctl(self->fd, KTSTR_VC_SET_KICK_FD, NULL));
	ASSERT_NE(0, __vc_ioctl(self->fd, KTSTR_VC_SET_KICK_FD, (void *)1));
}

TEST_F(slot, set_call_fd_bad_args_fail)
{
	struct ktstr_vc_call call = { .fd = -1, .padding = 1 };
	int closed = dup(self->fd);
	int efd = eventfd(0, EFD_CLOEXEC);

	ASSERT_LE(0, efd);
	ASSERT_LE(0, closed);
	ASSERT_EQ(0, close(closed));
	ASSERT_NE(0, __vc_ioctl(self->fd, KTSTR_VC_SET_CALL_FD, &call)) {
		TH_LOG("non-zero padding must be refused");
	}
	call.fd = efd;
	ASSERT_NE(0, __vc_ioctl(self->fd, KTSTR_VC_SET_CALL_FD, &call)) {
		TH_LOG("non-zero padding must be refused with a valid eventfd");
	}
	call.padding = 0;
	call.fd = closed;
	ASSERT_NE(0, __vc_ioctl(self->fd, KTSTR_VC_SET_CALL_FD, &call)) {
		TH_LOG("fd %d is not open", closed);
	}
	call.fd = self->fd;
	ASSERT_NE(0, __vc_ioctl(self->fd, KTSTR_VC_SET_CALL_FD, &call)) {
		TH_LOG("the control device is not an eventfd");
	}
	ASSERT_NE(0, __vc_ioctl(self->fd, KTSTR_VC_SET_CALL_FD, NULL));
	ASSERT_NE(0, __vc_ioctl(self->fd, KTSTR_VC_SET_CALL_FD, (void *)1));
	close(efd);
}

TEST_HARNESS_MAIN
