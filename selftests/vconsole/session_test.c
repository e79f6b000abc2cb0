// SPDX-License-Identifier: GPL-2.0
/*
 * A session's lifetime against a VMM's other threads and processes: once
 * a session begins to end, every session ioctl answers ENOTCONN and
 * nothing registered meanwhile outlives it; only the owner ends it early;
 * its worker is charged to the owner (cgroups, CPUs, nice).
 */
#include <dirent.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "vc_guest_test.h"

#define NUM		128
#define CHUNK		(32 * 1024)
#define TX_BUF		(2u << 20)	/* the module's default tx_buf_size */
#define RACE_MS		20000		/* a racer gives up after this long */

FIXTURE(session) {
	struct vc_guest g;
	int port1;
};

FIXTURE_SETUP(session)
{
	char buf[4096];

	VC_GUEST_FIXTURE_SETUP(self);
	self->port1 = vc_port_open(0, 1, O_RDONLY | O_NONBLOCK);
	ASSERT_LE(0, self->port1) TH_LOG("open port1: %s", strerror(errno));
	while (read(self->port1, buf, sizeof(buf)) > 0)
		;
}

FIXTURE_TEARDOWN(session)
{
	close(self->port1);
	vc_guest_fini(&self->g);
}

/*
 * Hold the final drain open: the host buffer of port 1 full, one more
 * chain waiting for room, and a reader that is open but never reads.
 * A DETACH then waits in the drain for the reader (VC_FINAL_DRAIN_MS).
 */
static void stall_port1(struct __test_metadata *_metadata, struct vc_guest *g,
			int reader)
{
	__u64 base;
	unsigned int i;
	int ret;

	ret = vc_guest_start(g, VC_ALL_QUEUES, NUM, VC_DEVICE_FEATURES, true);
	ASSERT_EQ(0, ret) TH_LOG("device start: %s", strerror(-ret));
	ASSERT_EQ(0, vc_guest_use_kick_fds(g, VC_ALL_QUEUES));
	base = vc_guest_alloc(g, (TX_BUF / CHUNK + 1) * CHUNK);
	for (i = 0; i <= TX_BUF / CHUNK; i++)
		vc_vq_add_buf(g, KTSTR_VC_Q_PORT1_TX, base + i * CHUNK, CHUNK,
			      false);
	vc_kick(g, KTSTR_VC_Q_PORT1_TX);
	ASSERT_EQ(0, vc_wait_used(g, KTSTR_VC_Q_PORT1_TX, TX_BUF / CHUNK,
				  VC_WAIT_MS));
	ASSERT_EQ((int)TX_BUF, vc_port_pending(reader));
	ASSERT_EQ(TX_BUF / CHUNK, vc_used_idx(g, KTSTR_VC_Q_PORT1_TX))
		TH_LOG("the last chain must wait for the reader");
}

/* A VMM thread that keeps issuing one session ioctl while DETACH runs. */
struct racer {
	int fd;
	int efd;
	void *table;
	int (*op)(struct racer *r);
	bool detached;			/* set once DETACH has returned */
	unsigned long calls;
	unsigned long enotconn_before_detached;
	unsigned long ok_after_enotconn;
	int other_errno;
	pthread_t th;
};

static int race_kick(struct racer *r)
{
	struct ktstr_vc_kick k = { .queue = KTSTR_VC_Q_PORT1_TX, .fd = r->efd };

	return -__vc_ioctl(r->fd, KTSTR_VC_SET_KICK_FD, &k);
}

static int race_call(struct racer *r)
{
	struct ktstr_vc_call c = { .fd = r->efd };

	return -__vc_ioctl(r->fd, KTSTR_VC_SET_CALL_FD, &c);
}

static int race_mem(struct racer *r)
{
	return -__vc_ioctl(r->fd, KTSTR_VC_SET_MEM_TABLE, r->table);
}

static int race_mmio(struct racer *r)
{
	struct ktstr_vc_mmio m = { .offset = VIRTIO_MMIO_STATUS, .len = 4 };

	return -__vc_ioctl(r->fd, KTSTR_VC_MMIO, &m);
}

static void *racer_fn(void *arg)
{
	struct racer *r = arg;
	__s64 end = vc_now_ms() + RACE_MS;
	bool refused = false;

	while (vc_now_ms() < end) {
		int err = r->op(r);
		bool detached = __atomic_load_n(&r->detached, __ATOMIC_ACQUIRE);

		__atomic_add_fetch(&r->calls, 1, __ATOMIC_RELEASE);
		if (!err && refused)
			r->ok_after_enotconn++;
		else if (err == ENOTCONN && !detached)
			r->enotconn_before_detached++;
		else if (err && err != ENOTCONN)
			r->other_errno = err;
		refused |= err == ENOTCONN;
		if (detached)
			break;
	}
	return NULL;
}

FIXTURE_VARIANT(session) {
	int (*op)(struct racer *r);
	const char *name;
};

FIXTURE_VARIANT_ADD(session, set_kick_fd) { .op = race_kick, .name = "SET_KICK_FD" };
FIXTURE_VARIANT_ADD(session, set_call_fd) { .op = race_call, .name = "SET_CALL_FD" };
FIXTURE_VARIANT_ADD(session, set_mem_table) { .op = race_mem, .name = "SET_MEM_TABLE" };
FIXTURE_VARIANT_ADD(session, mmio) { .op = race_mmio, .name = "MMIO" };

/* The guest's one memory region, as vc_guest_init() gave it. */
struct one_region {
	struct ktstr_vc_mem_table hdr;
	struct ktstr_vc_mem_region region;
};

static __u64 port1_tx_kicks(struct __test_metadata *_metadata, int fd)
{
	return vc_stat(fd, queue[KTSTR_VC_Q_PORT1_TX].kicks);
}

/*
 * While DETACH waits in the final drain, another thread's session ioctl
 * answers ENOTCONN, never succeeds again, and (SET_KICK_FD) leaves no
 * wait entry behind: a signal on its eventfd after DETACH, and after the
 * instance is freed, reaches nothing.
 */
TEST_F(session, ioctl_racing_detach_in_final_drain_is_enotconn)
{
	struct one_region table = {
		.hdr.nregions = 1,
		.region = { .guest_phys_addr = VC_GUEST_BASE,
			    .size = VC_GUEST_SIZE,
			    .userspace_addr = (uintptr_t)self->g.mem },
	};
	struct racer r = { .fd = self->g.fd, .table = &table,
			   .op = variant->op };
	__u64 one = 1, kicks;
	__s64 t0, took;
	int ret;

	stall_port1(_metadata, &self->g, self->port1);
	r.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	ASSERT_LE(0, r.efd);
	ASSERT_EQ(0, pthread_create(&r.th, NULL, racer_fn, &r));
	while (__atomic_load_n(&r.calls, __ATOMIC_ACQUIRE) < 100)
		sched_yield();

	t0 = vc_now_ms();
	ret = __vc_detach(self->g.fd);
	took = vc_now_ms() - t0;
	__atomic_store_n(&r.detached, true, __ATOMIC_RELEASE);
	pthread_join(r.th, NULL);

	ASSERT_EQ(0, ret) TH_LOG("DETACH: %s", strerror(-ret));
	ASSERT_LE(500, took)
		TH_LOG("DETACH took %lld ms: the drain was not held open",
		       (long long)took);
	ASSERT_EQ(0, r.other_errno)
		TH_LOG("%s failed with %s", variant->name,
		       strerror(r.other_errno));
	ASSERT_LT(0, r.enotconn_before_detached)
		TH_LOG("%s kept succeeding during the %lld ms of session end (%lu calls)",
		       variant->name, (long long)took, r.calls);
	ASSERT_EQ(0, r.ok_after_enotconn)
		TH_LOG("%s succeeded %lu times after an ENOTCONN",
		       variant->name, r.ok_after_enotconn);

	kicks = port1_tx_kicks(_metadata, self->g.fd);
	ASSERT_EQ(sizeof(one), write(r.efd, &one, sizeof(one)));
	ASSERT_EQ(kicks, port1_tx_kicks(_metadata, self->g.fd))
		TH_LOG("a kick eventfd registered during DETACH still reaches the instance");
	/* Freed: a wait entry left behind would be called through freed memory. */
	close(self->g.fd);
	self->g.fd = -1;
	ASSERT_EQ(sizeof(one), write(r.efd, &one, sizeof(one)));
	close(r.efd);
}

FIXTURE(stall) {
	struct vc_guest g;
	int port1;
};

FIXTURE_SETUP(stall)
{
	VC_GUEST_FIXTURE_SETUP(self);
	self->port1 = vc_port_open(0, 1, O_RDONLY | O_NONBLOCK);
	ASSERT_LE(0, self->port1) TH_LOG("open port1: %s", strerror(errno));
}

FIXTURE_TEARDOWN(stall)
{
	close(self->port1);
	vc_guest_fini(&self->g);
}

/*
 * After a reset no guest chain waits for the port-1 reader: the rings it
 * was in are gone.  DETACH then has nothing to wait for.
 */
TEST_F(stall, detach_after_reset_of_stalled_port1_does_not_wait)
{
	__s64 t0, took;

	stall_port1(_metadata, &self->g, self->port1);
	vc_write32(self->g.fd, VIRTIO_MMIO_STATUS, 0);
	t0 = vc_now_ms();
	ASSERT_EQ(0, __vc_detach(self->g.fd));
	took = vc_now_ms() - t0;
	ASSERT_LT(took, 500)
		TH_LOG("DETACH waited %lld ms for a reader no chain needs",
		       (long long)took);
}

FIXTURE(owner) {
	struct vc_guest g;
};

FIXTURE_SETUP(owner)
{
	VC_GUEST_FIXTURE_SETUP(self);
}

FIXTURE_TEARDOWN(owner)
{
	vc_guest_fini(&self->g);
}

/* A forked child holds the fd but is not the VMM: it cannot DETACH. */
TEST_F(owner, detach_from_forked_child_is_eperm)
{
	struct ktstr_vc_info info;
	int status;
	pid_t pid;

	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		_exit(__vc_detach(self->g.fd) == -EPERM ? 0 : 1);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status))
		TH_LOG("the child's DETACH was not refused with EPERM");
	vc_get_info(self->g.fd, &info);
	ASSERT_EQ(0, info.slot) TH_LOG("the owner's session must go on");
	ASSERT_EQ(0, __vc_detach(self->g.fd));
}

/* Is there a kernel log record containing what, from fd onwards? */
static bool kmsg_has(int fd, const char *what)
{
	char rec[2048];
	ssize_t n;

	while ((n = read(fd, rec, sizeof(rec) - 1)) > 0 || errno == EPIPE) {
		if (n <= 0)
			continue;	/* EPIPE: records overwritten, go on */
		rec[n] = '\0';
		if (strstr(rec, what))
			return true;
	}
	return false;
}

/*
 * The log lines of a hostile guest are rate limited per instance: a
 * flood from the guest on slot 0 does not silence the one on slot 1.
 */
TEST_F(owner, rejection_flood_on_one_slot_leaves_other_slots_lines)
{
	int other = vc_open_attached(1);
	int kmsg, i;
	__u32 val;

	kmsg = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	ASSERT_LE(0, kmsg) TH_LOG("/dev/kmsg: %s", strerror(errno));
	ASSERT_LE(0, lseek(kmsg, 0, SEEK_END));
	for (i = 0; i < 100; i++)
		ASSERT_EQ(0, __vc_read32(self->g.fd, 0x0f0, &val));
	ASSERT_EQ(0, __vc_read32(other, 0x0e4, &val));
	EXPECT_TRUE(kmsg_has(kmsg, "slot 1: read of unknown register 0xe4"))
		TH_LOG("slot 1's line was silenced by slot 0's flood");
	close(kmsg);
	close(other);
}

#define CGROUP_ROOT	"/sys/fs/cgroup"

static int write_file(const char *path, const char *fmt, long val)
{
	FILE *f = fopen(path, "w");
	int ret;

	if (!f)
		return -errno;
	ret = fprintf(f, fmt, val) < 0 ? -EIO : 0;
	if (fclose(f) && !ret)
		ret = -errno;
	return ret;
}

/* The line of /proc/PID/FILE that starts with key, without the key. */
static int proc_field(pid_t pid, const char *file, const char *key,
		      char *out, size_t len)
{
	char path[64], line[256];
	int ret = -ENOENT;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/%s", pid, file);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, strlen(key))) {
			snprintf(out, len, "%s", line + strlen(key));
			out[strcspn(out, "\n")] = '\0';
			ret = 0;
			break;
		}
	fclose(f);
	return ret;
}

/* The live thread named comm ("ktstr-vcN"), or -1. */
static pid_t find_thread(const char *comm)
{
	struct dirent *de;
	char name[64];
	pid_t found = -1;
	DIR *d = opendir("/proc");

	if (!d)
		return -1;
	while (found < 0 && (de = readdir(d))) {
		pid_t pid = atoi(de->d_name);

		if (pid <= 0 || proc_field(pid, "status", "Name:\t", name,
					   sizeof(name)))
			continue;
		if (!strcmp(name, comm))
			found = pid;
	}
	closedir(d);
	return found;
}

/* Field 19 of /proc/PID/stat; counting starts after the "(comm)". */
static int proc_nice(pid_t pid, long *nice)
{
	char path[64], buf[512], *p, *save = NULL;
	int n, field;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n > 0 ? n : 0] = '\0';
	p = strrchr(buf, ')');
	if (!p)
		return -EINVAL;
	p = strtok_r(p + 1, " ", &save);
	for (field = 3; p && field < 19; field++)
		p = strtok_r(NULL, " ", &save);
	if (!p)
		return -EINVAL;
	*nice = strtol(p, NULL, 10);
	return 0;
}

/* cgroup2 at CGROUP_ROOT, mounted here if nothing is. */
static bool cgroup2_ready(void)
{
	char probe[64];

	snprintf(probe, sizeof(probe), "%s/cgroup.procs", CGROUP_ROOT);
	if (!access(probe, F_OK))
		return true;
	mount("cgroup2", CGROUP_ROOT, "cgroup2", 0, NULL);
	return !access(probe, F_OK);
}

/*
 * kthread_stop() returns once the worker has dropped its mm, which do_exit()
 * does before the worker leaves its cgroup; rmdir() in between is EBUSY.
 * cgroup.events says "populated 0" when the last task has left, and a
 * change of it wakes poll() with POLLPRI.
 */
static int cgroup_wait_empty(const char *cg)
{
	__s64 left, end = vc_now_ms() + VC_WAIT_MS;
	char path[128], buf[256];
	struct pollfd pfd;
	ssize_t n;
	int ret = -ETIMEDOUT;

	snprintf(path, sizeof(path), "%s/cgroup.events", cg);
	pfd.fd = open(path, O_RDONLY);
	if (pfd.fd < 0)
		return -errno;
	pfd.events = POLLPRI;
	for (;;) {
		n = pread(pfd.fd, buf, sizeof(buf) - 1, 0);
		if (n < 0) {
			ret = -errno;
			break;
		}
		buf[n] = '\0';
		if (strstr(buf, "populated 0\n")) {
			ret = 0;
			break;
		}
		left = end - vc_now_ms();
		if (left <= 0 || poll(&pfd, 1, left) <= 0)
			break;
	}
	close(pfd.fd);
	return ret;
}

/*
 * What a guest makes the worker burn is the VMM's: the worker sits in the
 * VMM's cgroup, on the VMM's CPUs, at the VMM's nice value, as vhost's
 * worker does.  The test's own process plays the VMM.
 */
TEST_F(owner, worker_runs_in_vmm_cgroup_on_its_cpus_at_its_nice)
{
	char cg[96], procs[128], want[128], got[128], comm[32];
	cpu_set_t cpus;
	long nice = -100;
	pid_t worker;
	int fd, ret;

	if (!cgroup2_ready())
		SKIP(return, "no cgroup2 at %s", CGROUP_ROOT);
	snprintf(cg, sizeof(cg), "%s/ktstr-vc-test-%d", CGROUP_ROOT, getpid());
	ASSERT_EQ(0, mkdir(cg, 0755)) TH_LOG("mkdir %s: %s", cg, strerror(errno));
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", cg);
	ASSERT_EQ(0, write_file(procs, "%ld\n", getpid()));
	CPU_ZERO(&cpus);
	CPU_SET(0, &cpus);
	ASSERT_EQ(0, sched_setaffinity(0, sizeof(cpus), &cpus));
	ASSERT_EQ(0, setpriority(PRIO_PROCESS, 0, 7));

	fd = vc_open_attached(3);
	snprintf(comm, sizeof(comm), "ktstr-vc%u", 3);
	worker = find_thread(comm);
	ASSERT_LT(0, worker) TH_LOG("no thread named %s", comm);
	ret = proc_field(worker, "cgroup", "0::", got, sizeof(got));
	snprintf(want, sizeof(want), "%s", cg + strlen(CGROUP_ROOT));
	EXPECT_EQ(0, ret);
	EXPECT_STREQ(want, got) TH_LOG("worker cgroup");
	ASSERT_EQ(0, proc_field(worker, "status", "Cpus_allowed_list:\t", got,
				sizeof(got)));
	EXPECT_STREQ("0", got) TH_LOG("worker CPUs");
	ASSERT_EQ(0, proc_nice(worker, &nice));
	EXPECT_EQ(7, nice) TH_LOG("worker nice");

	close(fd);
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", CGROUP_ROOT);
	ASSERT_EQ(0, write_file(procs, "%ld\n", getpid()));
	ret = cgroup_wait_empty(cg);
	ASSERT_EQ(0, ret) TH_LOG("%s still populated after close: %s", cg,
				 strerror(-ret));
	ASSERT_EQ(0, rmdir(cg)) TH_LOG("rmdir %s: %s", cg, strerror(errno));
}

TEST_HARNESS_MAIN
