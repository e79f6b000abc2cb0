// SPDX-License-Identifier: GPL-2.0
/*
 * The session ioctls: the memory table (every way to get it wrong), kick
 * and call eventfds, and who may use them.
 */
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "vc_guest_test.h"

#define PG	4096ull

struct table {
	struct ktstr_vc_mem_table hdr;
	struct ktstr_vc_mem_region r[KTSTR_VC_MAX_MEM_REGIONS + 1];
};

FIXTURE(mem) {
	int fd;
	void *ram;
	struct table t;
};

FIXTURE_SETUP(mem)
{
	self->fd = vc_open_attached(0);
	self->ram = mmap(NULL, 16 * PG, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->ram);
	memset(&self->t, 0, sizeof(self->t));
	self->t.hdr.nregions = 1;
	self->t.r[0].guest_phys_addr = 0x100000;
	self->t.r[0].size = 16 * PG;
	self->t.r[0].userspace_addr = (uintptr_t)self->ram;
}

FIXTURE_TEARDOWN(mem)
{
	close(self->fd);
	munmap(self->ram, 16 * PG);
}

static int set_table(int fd, struct table *t)
{
	return __vc_ioctl(fd, KTSTR_VC_SET_MEM_TABLE, (void *)t);
}

TEST_F(mem, mem_table_valid_single_region_accepted)
{
	ASSERT_EQ(0, set_table(self->fd, &self->t));
}

TEST_F(mem, mem_table_zero_regions_einval)
{
	self->t.hdr.nregions = 0;
	ASSERT_EQ(-EINVAL, set_table(self->fd, &self->t));
}

TEST_F(mem, mem_table_too_many_regions_einval)
{
	self->t.hdr.nregions = KTSTR_VC_MAX_MEM_REGIONS + 1;
	ASSERT_EQ(-EINVAL, set_table(self->fd, &self->t));
}

TEST_F(mem, mem_table_max_regions_accepted)
{
	unsigned int i;

	self->t.hdr.nregions = KTSTR_VC_MAX_MEM_REGIONS;
	for (i = 0; i < KTSTR_VC_MAX_MEM_REGIONS; i++) {
		self->t.r[i].guest_phys_addr = 0x100000 + i * 0x10000;
		self->t.r[i].size = PG;
		self->t.r[i].userspace_addr = (uintptr_t)self->ram;
	}
	ASSERT_EQ(0, set_table(self->fd, &self->t));
}

TEST_F(mem, mem_table_nonzero_padding_einval)
{
	self->t.hdr.padding = 1;
	ASSERT_EQ(-EINVAL, set_table(self->fd, &self->t));
}

TEST_F(mem, mem_table_nonzero_region_flags_einval)
{
	self->t.r[0].flags = 1;
	ASSERT_EQ(-EINVAL, set_table(self->fd, &self->t));
}

TEST_F(mem, mem_table_zero_size_einval)
{
	self->t.r[0].size = 0;
	ASSERT_EQ(-EINVAL, set_table(self->fd, &self->t));
}

TEST_F(mem, mem_table_unaligned_gpa_einval)
{
	self->t.r[0].guest_phys_addr += 8;
	ASSERT_EQ(-EINVAL, set_table(self->fd, &self->t));
}

TEST_F(mem, mem_table_unaligned_size_einval)
{
	self->t.r[0].size = PG + 1;
	ASSERT_EQ(-EINVAL, set_table(self->fd, &self->t));
}

TEST_F(mem, mem_table_unaligned_uaddr_einval)
{
	self->t.r[0].userspace_addr += 8;
	ASSERT_EQ(-EINVAL, set_table(self->fd, &self->t));
}

TEST_F(mem, mem_table_wrapping_gpa_einval)
{
	self->t.r[0].guest_phys_addr = 0xfffffffffffff000ull;
	self->t.r[0].size = 2 * PG;
	ASSERT_EQ(-EINVAL, set_table(self->fd, &self->t));
}

TEST_F(mem, mem_table_wrapping_uaddr_einval)
{
	self->t.r[0].userspace_addr = 0xfffffffffffff000ull;
	self->t.r[0].size = 2 * PG;
	ASSERT_EQ(-EINVAL, set_table(self->fd, &self->t));
}

TEST_F(mem, mem_table_kernel_uaddr_einval)
{
	self->t.r[0].userspace_addr = 0xffff888000000000ull;
	ASSERT_EQ(-EINVAL, set_table(self->fd, &self->t));
}

TEST_F(mem, mem_table_overlapping_regions_einval)
{
	self->t.hdr.nregions = 2;
	self->t.r[1] = self->t.r[0];
	self->t.r[1].guest_phys_addr += 8 * PG;
	ASSERT_EQ(-EINVAL, set_table(self->fd, &self->t));
}

TEST_F(mem, mem_table_adjacent_regions_accepted)
{
	self->t.hdr.nregions = 2;
	self->t.r[0].size = 8 * PG;
	self->t.r[1] = self->t.r[0];
	self->t.r[1].guest_phys_addr += 8 * PG;
	ASSERT_EQ(0, set_table(self->fd, &self->t));
}

TEST_F(mem, mem_table_unsorted_overlap_einval)
{
	self->t.hdr.nregions = 2;
	self->t.r[1] = self->t.r[0];
	self->t.r[0].guest_phys_addr += 4 * PG;
	ASSERT_EQ(-EINVAL, set_table(self->fd, &self->t))
		TH_LOG("overlap must be found whatever the order given");
}

TEST_F(mem, mem_table_bad_pointer_efault)
{
	ASSERT_EQ(-EFAULT, __vc_ioctl(self->fd, KTSTR_VC_SET_MEM_TABLE,
				      (void *)1));
}

TEST_F(mem, mem_table_truncated_region_array_efault)
{
	struct ktstr_vc_mem_table *hdr;
	void *page = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ASSERT_NE(MAP_FAILED, page);
	munmap((char *)page + PG, PG);
	/* The header ends the page: the regions it announces are not there. */
	hdr = (void *)((char *)page + PG - sizeof(*hdr));
	hdr->nregions = 1;
	hdr->padding = 0;
	ASSERT_EQ(-EFAULT, __vc_ioctl(self->fd, KTSTR_VC_SET_MEM_TABLE, hdr));
	munmap(page, PG);
}

TEST_F(mem, mem_table_error_keeps_previous_table)
{
	struct vc_guest g;
	static const char msg[] = "old table";
	char got[sizeof(msg)];
	int r;

	close(self->fd);
	ASSERT_EQ(0, vc_guest_init(&g, 0));
	self->fd = -1;
	ASSERT_EQ(0, vc_guest_start(&g, VC_ALL_QUEUES, VC_NUM,
				    VC_DEVICE_FEATURES, true));
	self->t.r[0].flags = 1;
	ASSERT_EQ(-EINVAL, set_table(g.fd, &self->t));
	r = vc_port_open(0, 1, O_RDONLY);
	ASSERT_LE(0, r);
	vc_vq_add_buf(&g, KTSTR_VC_Q_PORT1_TX, vc_guest_put(&g, msg, sizeof(msg)),
		      sizeof(msg), false);
	vc_kick(&g, KTSTR_VC_Q_PORT1_TX);
	ASSERT_EQ(sizeof(msg), vc_port_read_all(r, got, sizeof(got), VC_WAIT_MS));
	ASSERT_EQ(0, memcmp(msg, got, sizeof(msg)));
	close(r);
	vc_guest_fini(&g);
	self->fd = vc_open();
}

TEST_F(mem, mem_table_requires_attach_enotconn)
{
	int fd = vc_open();

	ASSERT_EQ(-ENOTCONN, set_table(fd, &self->t));
	close(fd);
}

TEST_F(mem, kick_fd_bad_queue_einval)
{
	struct ktstr_vc_kick k = { .queue = KTSTR_VC_NUM_QUEUES, .fd = -1 };

	ASSERT_EQ(-EINVAL, __vc_ioctl(self->fd, KTSTR_VC_SET_KICK_FD, &k));
}

TEST_F(mem, kick_fd_not_an_eventfd_einval)
{
	struct ktstr_vc_kick k = { .queue = 0, .fd = self->fd };

	ASSERT_EQ(-EINVAL, __vc_ioctl(self->fd, KTSTR_VC_SET_KICK_FD, &k));
}

TEST_F(mem, kick_fd_closed_fd_ebadf)
{
	struct ktstr_vc_kick k = { .queue = 0, .fd = 1000 };

	ASSERT_EQ(-EBADF, __vc_ioctl(self->fd, KTSTR_VC_SET_KICK_FD, &k));
}

TEST_F(mem, kick_fd_set_and_remove)
{
	int efd = eventfd(0, 0);
	struct ktstr_vc_kick k = { .queue = 5, .fd = efd };

	ASSERT_EQ(0, __vc_ioctl(self->fd, KTSTR_VC_SET_KICK_FD, &k));
	k.fd = -1;
	ASSERT_EQ(0, __vc_ioctl(self->fd, KTSTR_VC_SET_KICK_FD, &k));
	k.fd = -2;
	ASSERT_EQ(-EINVAL, __vc_ioctl(self->fd, KTSTR_VC_SET_KICK_FD, &k));
	close(efd);
}

TEST_F(mem, call_fd_not_an_eventfd_einval)
{
	struct ktstr_vc_call c = { .fd = self->fd };

	ASSERT_EQ(-EINVAL, __vc_ioctl(self->fd, KTSTR_VC_SET_CALL_FD, &c));
}

TEST_F(mem, call_fd_nonzero_padding_einval)
{
	int efd = eventfd(0, 0);
	struct ktstr_vc_call c = { .fd = efd, .padding = 1 };

	ASSERT_EQ(-EINVAL, __vc_ioctl(self->fd, KTSTR_VC_SET_CALL_FD, &c));
	c.padding = 0;
	ASSERT_EQ(0, __vc_ioctl(self->fd, KTSTR_VC_SET_CALL_FD, &c));
	c.fd = -1;
	ASSERT_EQ(0, __vc_ioctl(self->fd, KTSTR_VC_SET_CALL_FD, &c));
	close(efd);
}

TEST_F(mem, session_ioctl_from_another_process_eperm)
{
	pid_t pid = fork();
	int status;

	ASSERT_LE(0, pid);
	if (!pid) {
		__u32 v;

		/* Same open file, other mm: guest memory is not ours. */
		_exit(__vc_read32(self->fd, 0, &v) == -EPERM &&
		      set_table(self->fd, &self->t) == -EPERM ? 0 : 1);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status))
		TH_LOG("a process other than the attacher must get EPERM");
}

TEST_HARNESS_MAIN
