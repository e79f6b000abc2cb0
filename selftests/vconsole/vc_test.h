/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kselftest-harness glue for vc_util: the asserting vc_name() twin of each
 * raw __vc_name() call that the tests make.  Like ASSERT_*(), they use the
 * harness's _metadata, which must be in scope.
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
	int fd = __vc_open();

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

/*
 * The asserting twins of vc_util's raw __vc_name() calls, as kvm_util's
 * vm_ioctl() is of __vm_ioctl(): vc_name() fails the current test,
 * naming the calling line and the error, when the call fails.  Each is a
 * macro around _vc_name(), which takes the harness's _metadata and the
 * line explicitly.
 */
static inline int _vc_ioctl(struct __test_metadata *_metadata, int line,
			    int ret, const char *name)
{
	ASSERT_LE(0, ret) {
		TH_LOG("line %d: %s: %s", line, name, strerror(-ret));
	}
	return ret;
}

#define vc_ioctl(fd, cmd, arg) \
	_vc_ioctl(_metadata, __LINE__, __vc_ioctl(fd, cmd, arg), #cmd)

static inline int _vc_open(struct __test_metadata *_metadata, int line)
{
	int fd = __vc_open();

	ASSERT_LE(0, fd) {
		TH_LOG("line %d: open %s: %s (is ktstr_vconsole loaded?)",
		       line, VC_CTRL_PATH, strerror(-fd));
	}
	return fd;
}

/* A new control fd, attached to no slot. */
#define vc_open()	_vc_open(_metadata, __LINE__)

static inline int _vc_open_attached(struct __test_metadata *_metadata,
				    int line, __u32 slot)
{
	int fd = _vc_open(_metadata, line);
	int ret = __vc_attach(fd, slot, 0);

	ASSERT_EQ(0, ret) {
		TH_LOG("line %d: attach to slot %u: %s", line, slot,
		       strerror(-ret));
	}
	return fd;
}

#define vc_open_attached(slot)	_vc_open_attached(_metadata, __LINE__, slot)

static inline void _vc_get_info(struct __test_metadata *_metadata, int line,
				int fd, struct ktstr_vc_info *info)
{
	int ret = __vc_get_info(fd, info);

	ASSERT_EQ(0, ret) {
		TH_LOG("line %d: KTSTR_VC_GET_INFO: %s", line, strerror(-ret));
	}
}

#define vc_get_info(fd, info)	_vc_get_info(_metadata, __LINE__, fd, info)

static inline void _vc_get_stats(struct __test_metadata *_metadata, int line,
				 int fd, struct ktstr_vc_stats *stats)
{
	int ret = __vc_get_stats(fd, stats);

	ASSERT_EQ(0, ret) {
		TH_LOG("line %d: KTSTR_VC_GET_STATS: %s", line, strerror(-ret));
	}
}

#define vc_get_stats(fd, stats)	_vc_get_stats(_metadata, __LINE__, fd, stats)

static inline struct ktstr_vc_stats
_vc_stats(struct __test_metadata *_metadata, int line, int fd)
{
	struct ktstr_vc_stats stats = { 0 };

	_vc_get_stats(_metadata, line, fd, &stats);
	return stats;
}

/*
 * One member of a fresh struct ktstr_vc_stats (bad_desc, queue[q], ...):
 * the tests read a counter through vc_stat(), a rejection since a
 * snapshot through vc_assert_counted().
 */
#define vc_stat(fd, member)	(_vc_stats(_metadata, __LINE__, fd).member)

static inline __u32 _vc_read32(struct __test_metadata *_metadata, int line,
			       int fd, __u32 offset)
{
	__u32 val = 0;
	int ret = __vc_read32(fd, offset, &val);

	ASSERT_EQ(0, ret) {
		TH_LOG("line %d: 4-byte read at %#x: %s", line, offset,
		       strerror(-ret));
	}
	return val;
}

/* The register's value (where __vc_read32() returns the error). */
#define vc_read32(fd, offset)	_vc_read32(_metadata, __LINE__, fd, offset)

static inline void _vc_write32(struct __test_metadata *_metadata, int line,
			       int fd, __u32 offset, __u32 val)
{
	int ret = __vc_write32(fd, offset, val);

	ASSERT_EQ(0, ret) {
		TH_LOG("line %d: 4-byte write of %#x at %#x: %s", line, val,
		       offset, strerror(-ret));
	}
}

#define vc_write32(fd, offset, val) \
	_vc_write32(_metadata, __LINE__, fd, offset, val)

static inline void _vc_mmio_read(struct __test_metadata *_metadata, int line,
				 int fd, __u32 offset, void *buf, __u32 len)
{
	int ret = __vc_mmio_read(fd, offset, buf, len);

	ASSERT_EQ(0, ret) {
		TH_LOG("line %d: %u-byte read at %#x: %s", line, len, offset,
		       strerror(-ret));
	}
}

#define vc_mmio_read(fd, offset, buf, len) \
	_vc_mmio_read(_metadata, __LINE__, fd, offset, buf, len)

static inline void _vc_mmio_write(struct __test_metadata *_metadata,
				  int line, int fd, __u32 offset,
				  const void *buf, __u32 len)
{
	int ret = __vc_mmio_write(fd, offset, buf, len);

	ASSERT_EQ(0, ret) {
		TH_LOG("line %d: %u-byte write at %#x: %s", line, len, offset,
		       strerror(-ret));
	}
}

#define vc_mmio_write(fd, offset, buf, len) \
	_vc_mmio_write(_metadata, __LINE__, fd, offset, buf, len)

static inline void _vc_mmio(struct __test_metadata *_metadata, int line,
			    int fd, struct ktstr_vc_mmio *mmio)
{
	int ret = __vc_mmio(fd, mmio);

	ASSERT_EQ(0, ret) {
		TH_LOG("line %d: KTSTR_VC_MMIO of %u bytes at %#x: %s", line,
		       mmio->len, mmio->offset, strerror(-ret));
	}
}

#define vc_mmio(fd, mmio)	_vc_mmio(_metadata, __LINE__, fd, mmio)

static inline __u64
_vc_read_device_features(struct __test_metadata *_metadata, int line, int fd)
{
	__u64 features = 0;
	int ret = __vc_read_device_features(fd, &features);

	ASSERT_EQ(0, ret) {
		TH_LOG("line %d: reading the device features: %s", line,
		       strerror(-ret));
	}
	return features;
}

/* Both feature pages (where __vc_read_device_features() returns the error). */
#define vc_read_device_features(fd) \
	_vc_read_device_features(_metadata, __LINE__, fd)

static inline void
_vc_write_driver_features(struct __test_metadata *_metadata, int line, int fd,
			  __u64 features)
{
	int ret = __vc_write_driver_features(fd, features);

	ASSERT_EQ(0, ret) {
		TH_LOG("line %d: writing driver features %#llx: %s", line,
		       (unsigned long long)features, strerror(-ret));
	}
}

#define vc_write_driver_features(fd, features) \
	_vc_write_driver_features(_metadata, __LINE__, fd, features)

static inline void _vc_walk_status(struct __test_metadata *_metadata,
				   int line, int fd, __u32 target)
{
	int ret = __vc_walk_status(fd, target);

	ASSERT_EQ(0, ret) {
		TH_LOG("line %d: walking the status ladder to %#x: %s", line, target,
		       strerror(-ret));
	}
}

#define vc_walk_status(fd, target) \
	_vc_walk_status(_metadata, __LINE__, fd, target)

static inline void _vc_negotiate(struct __test_metadata *_metadata, int line,
				 int fd, __u64 features)
{
	int ret = __vc_negotiate(fd, features);

	ASSERT_EQ(0, ret) {
		TH_LOG("line %d: negotiating features %#llx up to FEATURES_OK: %s",
		       line, (unsigned long long)features, strerror(-ret));
	}
}

#define vc_negotiate(fd, features) \
	_vc_negotiate(_metadata, __LINE__, fd, features)

static inline void _vc_init_device(struct __test_metadata *_metadata,
				   int line, int fd, __u64 features)
{
	int ret = __vc_init_device(fd, features);

	ASSERT_EQ(0, ret) {
		TH_LOG("line %d: initialising with features %#llx up to DRIVER_OK: %s",
		       line, (unsigned long long)features, strerror(-ret));
	}
}

#define vc_init_device(fd, features) \
	_vc_init_device(_metadata, __LINE__, fd, features)

static inline void _vc_setup_queue(struct __test_metadata *_metadata,
				   int line, int fd, __u32 queue, __u32 num,
				   __u64 desc, __u64 avail, __u64 used)
{
	int ret = __vc_setup_queue(fd, queue, num, desc, avail, used);

	ASSERT_EQ(0, ret) {
		TH_LOG("line %d: setting up queue %u with %u entries: %s",
		       line, queue, num, strerror(-ret));
	}
}

#define vc_setup_queue(fd, queue, num, desc, avail, used)		\
	_vc_setup_queue(_metadata, __LINE__, fd, queue, num, desc, avail, \
			used)

static inline void _vc_read_queue(struct __test_metadata *_metadata,
				  int line, int fd, __u32 queue,
				  struct vc_queue_regs *regs)
{
	int ret = __vc_read_queue(fd, queue, regs);

	ASSERT_EQ(0, ret) {
		TH_LOG("line %d: reading queue %u registers: %s", line, queue,
		       strerror(-ret));
	}
}

#define vc_read_queue(fd, queue, regs) \
	_vc_read_queue(_metadata, __LINE__, fd, queue, regs)

/*
 * Since the snapshot in *before, exactly one guest action of class which
 * was rejected (or none with VC_BAD_NR), and no other class counted.
 */
static inline void _vc_assert_counted(struct __test_metadata *_metadata,
				      int line, int fd,
				      const struct ktstr_vc_stats *before,
				      enum vc_bad which)
{
	struct ktstr_vc_stats after;
	int c;

	_vc_get_stats(_metadata, line, fd, &after);
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
#define vc_assert_counted(fd, before, which) \
	_vc_assert_counted(_metadata, __LINE__, fd, before, which)

/* The actions since *before were all accepted: no rejection counted. */
#define vc_assert_not_counted(fd, before) \
	_vc_assert_counted(_metadata, __LINE__, fd, before, VC_BAD_NR)

#endif /* VC_TEST_H */
