/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kselftest-harness wrappers around vc_util: each runs one operation and
 * fails the current test, naming the calling line and the error, when the
 * operation itself fails.  Like ASSERT_*(), they use the harness's
 * _metadata, which must be in scope.
 */
#ifndef VC_TEST_H
#define VC_TEST_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>

/* The harness's own signal handler leaves a parameter unused. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "kselftest_harness.h"
#pragma GCC diagnostic pop

#include "vc_util.h"

/*
 * Without a control device to open (the module is not loaded, or this
 * user may not open the node) every test reports SKIP with the reason,
 * none of its fixture's code runs, and the binary exits KSFT_SKIP: what
 * kselftests do without their feature.  TEST_HARNESS_MAIN, redefined
 * below, opens the device once before any test; when it opens, nothing
 * changes.
 */
static int vc_no_device;	/* the errno of that open, 0 if it opened */
static pid_t vc_main_pid;

static inline void vc_skip_test(struct __test_metadata *_metadata,
				struct __fixture_variant_metadata *variant)
{
	(void)variant;
	SKIP(return, "cannot open %s: %s (is ktstr_vconsole loaded, may this user open it?)",
	     VC_CTRL_PATH, strerror(vc_no_device));
}

/*
 * The harness exits 0 when no test failed, even when none passed, where
 * a kselftest that skipped every test exits KSFT_SKIP.  Its exit() has
 * no hook but atexit(); a test's child that calls exit() runs it too,
 * hence the pid.
 */
static inline void vc_exit_skip_if_all_skipped(void)
{
	if (getpid() != vc_main_pid || !ksft_plan ||
	    ksft_cnt.ksft_xskip != ksft_plan)
		return;
	fflush(stdout);
	fflush(stderr);
	_exit(KSFT_SKIP);
}

static inline int vc_harness_main(int argc, char **argv)
{
	struct __fixture_metadata *f;
	struct __test_metadata *t;
	int fd = vc_open();

	if (fd >= 0) {
		close(fd);
	} else {
		vc_no_device = -fd;
		for (f = __fixture_list; f; f = f->next)
			for (t = f->tests; t; t = t->next)
				t->fn = vc_skip_test;
	}
	vc_main_pid = getpid();
	atexit(vc_exit_skip_if_all_skipped);
	return test_harness_run(argc, argv);
}

#undef TEST_HARNESS_MAIN
#define TEST_HARNESS_MAIN				\
	int main(int argc, char **argv)			\
	{						\
		exit(vc_harness_main(argc, argv));	\
	}

/* errno of a raw ioctl, 0 on success: compares cleanly in ASSERT_EQ(). */
static inline int ioctl_errno(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) < 0 ? errno : 0;
}

static inline int __open_detached(struct __test_metadata *_metadata, int line)
{
	int fd = vc_open();

	ASSERT_LE(0, fd) {
		TH_LOG("line %d: open %s: %s (is ktstr_vconsole loaded?)",
		       line, VC_CTRL_PATH, strerror(-fd));
	}
	return fd;
}

#define open_detached()	__open_detached(_metadata, __LINE__)

static inline int __open_attached(struct __test_metadata *_metadata,
				  int line, __u32 slot)
{
	int fd = __open_detached(_metadata, line);
	int ret = vc_attach(fd, slot, 0);

	ASSERT_EQ(0, ret) {
		TH_LOG("line %d: attach to slot %u: %s", line, slot,
		       strerror(-ret));
	}
	return fd;
}

#define open_attached(slot)	__open_attached(_metadata, __LINE__, slot)

static inline void __get_info(struct __test_metadata *_metadata, int line,
			      int fd, struct ktstr_vc_info *info)
{
	int ret = vc_get_info(fd, info);

	ASSERT_EQ(0, ret) {
		TH_LOG("line %d: KTSTR_VC_GET_INFO: %s", line, strerror(-ret));
	}
}

#define get_info(fd, info)	__get_info(_metadata, __LINE__, fd, info)

static inline void __get_stats(struct __test_metadata *_metadata, int line,
			       int fd, struct ktstr_vc_stats *stats)
{
	int ret = vc_get_stats(fd, stats);

	ASSERT_EQ(0, ret) {
		TH_LOG("line %d: KTSTR_VC_GET_STATS: %s", line, strerror(-ret));
	}
}

#define get_stats(fd, stats)	__get_stats(_metadata, __LINE__, fd, stats)

static inline __u32 __reg_read(struct __test_metadata *_metadata, int line,
			       int fd, __u32 offset)
{
	__u32 val = 0;
	int ret = vc_read32(fd, offset, &val);

	ASSERT_EQ(0, ret) {
		TH_LOG("line %d: 4-byte read at %#x: %s", line, offset,
		       strerror(-ret));
	}
	return val;
}

#define reg_read(fd, offset)	__reg_read(_metadata, __LINE__, fd, offset)

static inline void __reg_write(struct __test_metadata *_metadata, int line,
			       int fd, __u32 offset, __u32 val)
{
	int ret = vc_write32(fd, offset, val);

	ASSERT_EQ(0, ret) {
		TH_LOG("line %d: 4-byte write of %#x at %#x: %s", line, val,
		       offset, strerror(-ret));
	}
}

#define reg_write(fd, offset, val) \
	__reg_write(_metadata, __LINE__, fd, offset, val)

static inline void __raw_read(struct __test_metadata *_metadata, int line,
			      int fd, __u32 offset, void *buf, __u32 len)
{
	int ret = vc_mmio_read(fd, offset, buf, len);

	ASSERT_EQ(0, ret) {
		TH_LOG("line %d: %u-byte read at %#x: %s", line, len, offset,
		       strerror(-ret));
	}
}

#define raw_read(fd, offset, buf, len) \
	__raw_read(_metadata, __LINE__, fd, offset, buf, len)

static inline void __raw_write(struct __test_metadata *_metadata, int line,
			       int fd, __u32 offset, const void *buf,
			       __u32 len)
{
	int ret = vc_mmio_write(fd, offset, buf, len);

	ASSERT_EQ(0, ret) {
		TH_LOG("line %d: %u-byte write at %#x: %s", line, len, offset,
		       strerror(-ret));
	}
}

#define raw_write(fd, offset, buf, len) \
	__raw_write(_metadata, __LINE__, fd, offset, buf, len)

static inline void __walk_status(struct __test_metadata *_metadata, int line,
				 int fd, __u32 target)
{
	int ret = vc_walk_status(fd, target);

	ASSERT_EQ(0, ret) {
		TH_LOG("line %d: walking the status ladder to %#x: %s", line,
		       target, strerror(-ret));
	}
}

#define walk_status(fd, target)	__walk_status(_metadata, __LINE__, fd, target)

static inline void __negotiate(struct __test_metadata *_metadata, int line,
			       int fd, __u64 features)
{
	int ret = vc_negotiate(fd, features);

	ASSERT_EQ(0, ret) {
		TH_LOG("line %d: negotiating features %#llx up to FEATURES_OK: %s",
		       line, (unsigned long long)features, strerror(-ret));
	}
}

#define negotiate(fd, features)	__negotiate(_metadata, __LINE__, fd, features)

static inline void __init_device(struct __test_metadata *_metadata, int line,
				 int fd, __u64 features)
{
	int ret = vc_init_device(fd, features);

	ASSERT_EQ(0, ret) {
		TH_LOG("line %d: initialising with features %#llx up to DRIVER_OK: %s",
		       line, (unsigned long long)features, strerror(-ret));
	}
}

#define init_device(fd, features) \
	__init_device(_metadata, __LINE__, fd, features)

static inline void __setup_queue(struct __test_metadata *_metadata, int line,
				 int fd, __u32 queue, __u32 num,
				 __u64 desc, __u64 avail, __u64 used)
{
	int ret = vc_setup_queue(fd, queue, num, desc, avail, used);

	ASSERT_EQ(0, ret) {
		TH_LOG("line %d: setting up queue %u with %u entries: %s",
		       line, queue, num, strerror(-ret));
	}
}

#define setup_queue(fd, queue, num, desc, avail, used) \
	__setup_queue(_metadata, __LINE__, fd, queue, num, desc, avail, used)

static inline void __read_queue(struct __test_metadata *_metadata, int line,
				int fd, __u32 queue,
				struct vc_queue_regs *regs)
{
	int ret = vc_read_queue(fd, queue, regs);

	ASSERT_EQ(0, ret) {
		TH_LOG("line %d: reading queue %u registers: %s", line, queue,
		       strerror(-ret));
	}
}

#define read_queue(fd, queue, regs) \
	__read_queue(_metadata, __LINE__, fd, queue, regs)

/*
 * Since the snapshot in *before, exactly one guest action of class which
 * was rejected (or none with VC_BAD_NR), and no other class counted.
 */
static inline void __assert_rejections(struct __test_metadata *_metadata,
				       int line, int fd,
				       const struct ktstr_vc_stats *before,
				       enum vc_bad which)
{
	struct ktstr_vc_stats after;
	int c;

	__get_stats(_metadata, line, fd, &after);
	for (c = 0; c < VC_BAD_NR; c++) {
		__u64 want = c == (int)which ? 1 : 0;
		__u64 got = vc_bad_count(&after, c) - vc_bad_count(before, c);

		ASSERT_EQ(want, got) {
			TH_LOG("line %d: %s expected +%llu, got +%llu", line,
			       vc_bad_name(c), (unsigned long long)want,
			       (unsigned long long)got);
		}
	}
}

/* The action since *before was rejected once, counted in class which. */
#define assert_counted(fd, before, which) \
	__assert_rejections(_metadata, __LINE__, fd, before, which)

/* The actions since *before were all accepted: no rejection counted. */
#define assert_not_counted(fd, before) \
	__assert_rejections(_metadata, __LINE__, fd, before, VC_BAD_NR)

#endif /* VC_TEST_H */
