/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Harness glue for the tests in which the test process plays the guest:
 * the fixture, and reading what the host side of a port received.
 */
#ifndef VC_GUEST_TEST_H
#define VC_GUEST_TEST_H

#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <unistd.h>
#include <linux/virtio_console.h>
#include <linux/virtio_mmio.h>

#include "vc_test.h"
#include "vc_driver.h"

#define VC_NUM		16	/* queue size the tests give the device */

static inline int vc_port_open(unsigned int slot, unsigned int port, int flags)
{
	char path[64];

	if (slot)
		snprintf(path, sizeof(path), "/dev/" KTSTR_VC_SLOT_PORT_FMT,
			 slot, port);
	else
		snprintf(path, sizeof(path), "/dev/" KTSTR_VC_SLOT0_PORT_FMT,
			 port);
	return open(path, flags | O_CLOEXEC);
}

/*
 * Read exactly len bytes from a port (blocking fd with a poll timeout per
 * step): the count read, which is short only on timeout or EOF.
 */
static inline size_t vc_port_read_all(int fd, void *buf, size_t len, int ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	size_t got = 0;

	while (got < len) {
		ssize_t n;

		if (poll(&pfd, 1, ms) <= 0)
			break;
		n = read(fd, (char *)buf + got, len - got);
		if (n <= 0)
			break;
		got += n;
	}
	return got;
}

/* Bytes a port would give right now (FIONREAD). */
static inline int vc_port_pending(int fd)
{
	int n = -1;

	if (ioctl(fd, FIONREAD, &n))
		return -errno;
	return n;
}

static inline __u32 vc_isr(int fd)
{
	__u32 v = 0;

	__vc_read32(fd, VIRTIO_MMIO_INTERRUPT_STATUS, &v);
	return v;
}

static inline void vc_fill_pattern(__u8 *p, size_t len, __u64 start)
{
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = (__u8)((start + i) * 7 % 251);
}

/* Index of the first byte that breaks the pattern, or len. */
static inline size_t vc_check_pattern(const __u8 *p, size_t len,
				      __u64 start)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] != (__u8)((start + i) * 7 % 251))
			return i;
	return len;
}

#define VC_GUEST_FIXTURE_SETUP(self)					\
	do {								\
		int __ret = vc_guest_init(&(self)->g, 0);		\
		ASSERT_EQ(0, __ret) {					\
			TH_LOG("guest init on slot 0: %s",		\
			       strerror(-__ret));			\
		}							\
	} while (0)

#endif /* VC_GUEST_TEST_H */
