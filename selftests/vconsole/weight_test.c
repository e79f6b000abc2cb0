// SPDX-License-Identifier: GPL-2.0
/*
 * Every run over guest chains stops at its weight (chains, descriptors
 * read, bytes moved), whatever the chains carry, and the device stays
 * answerable meanwhile: a guest that keeps re-posting chains of nothing
 * gets runs that end, register accesses that answer, a reset and a
 * DETACH that return.  vhost's CVE-2019-3900, here.
 */
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>

#include "vc_guest_test.h"

#define NUM		256	/* the largest queue: room for long runs */
#define RUN_CHAINS	64	/* the module's VC_WEIGHT_PORT_CHAINS */
#define RUN_DESCS	256	/* VC_WEIGHT_DESCS */
#define HOSTILE_MS	2000	/* how long a re-posting guest keeps at it */
/*
 * An MMIO access waits at most one run for dev->lock: typically well
 * under a millisecond, never the whole time the guest is at it.  The
 * worst case allows for a first-level VM under TCG on a busy host.
 */
#define MEDIAN_MS	20
#define WORST_MS	500
#define CHUNK		(32 * 1024)
#define TX_BUF		(2u << 20)	/* the module's default tx_buf_size */

FIXTURE(weight) {
	struct vc_guest g;
	int port0;
	int port1;
};

FIXTURE_SETUP(weight)
{
	int ret;

	self->port0 = -1;
	self->port1 = -1;
	VC_GUEST_FIXTURE_SETUP(self);
	ret = vc_guest_start(&self->g, VC_ALL_QUEUES, NUM, VC_DEVICE_FEATURES,
			     true);
	ASSERT_EQ(0, ret) TH_LOG("device start: %s", strerror(-ret));
	ASSERT_EQ(0, vc_guest_use_kick_fds(&self->g, VC_ALL_QUEUES));
	self->port0 = vc_port_open(0, 0, O_RDONLY | O_NONBLOCK);
	ASSERT_LE(0, self->port0) TH_LOG("open port0: %s", strerror(errno));
	self->port1 = vc_port_open(0, 1, O_RDONLY | O_NONBLOCK);
	ASSERT_LE(0, self->port1) TH_LOG("open port1: %s", strerror(errno));
}

FIXTURE_TEARDOWN(weight)
{
	if (self->port0 >= 0)
		close(self->port0);
	if (self->port1 >= 0)
		close(self->port1);
	vc_guest_fini(&self->g);
}

static struct ktstr_vc_queue_stats qstats(struct __test_metadata *_metadata,
					  struct vc_guest *g, unsigned int q)
{
	return vc_stat(g->fd, queue[q]);
}

/* Head 0: a chain of n zero-length descriptors, which carries nothing. */
static void empty_chain_at_head(struct vc_guest *g, unsigned int q,
				unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		g->vq[q].desc[i] = (struct vring_desc){ .addr = VC_GUEST_BASE,
			.flags = i + 1 < n ? VRING_DESC_F_NEXT : 0,
			.next = i + 1 };
	g->vq[q].next_desc = n;
}

/* How long MMIO reads of STATUS waited on the device, taken for a while. */
struct mmio_lag {
	unsigned long reads;
	__s64 median_ms;
	__s64 worst_ms;
};

static int measure_mmio_lag(struct vc_guest *g, int ms, struct mmio_lag *lag)
{
	static unsigned long hist[1001];	/* reads by ms waited */
	__s64 end = vc_now_ms() + ms;
	unsigned long seen = 0;
	__u32 status;

	memset(hist, 0, sizeof(hist));
	memset(lag, 0, sizeof(*lag));
	while (vc_now_ms() < end) {
		__s64 t0 = vc_now_ms(), took;

		if (__vc_read32(g->fd, VIRTIO_MMIO_STATUS, &status))
			return -1;
		took = vc_now_ms() - t0;
		hist[took < 1000 ? took : 1000]++;
		lag->reads++;
		if (took > lag->worst_ms)
			lag->worst_ms = took;
	}
	for (lag->median_ms = 0; lag->median_ms < 1000; lag->median_ms++) {
		seen += hist[lag->median_ms];
		if (2 * seen >= lag->reads)
			break;
	}
	return 0;
}

/* Wait until chains reaches want (the runs have ended), or time out. */
static int wait_chains(struct __test_metadata *_metadata, struct vc_guest *g,
		       unsigned int q, __u64 want)
{
	__s64 end = vc_now_ms() + VC_WAIT_MS;

	while (qstats(_metadata, g, q).chains < want)
		if (vc_now_ms() > end)
			return -ETIMEDOUT;
	return 0;
}

/* One kick; the queue's statistics once its n chains are all taken. */
static struct ktstr_vc_queue_stats
kick_until_taken(struct __test_metadata *_metadata, struct vc_guest *g,
		 unsigned int q, __u16 n)
{
	vc_kick(g, q);
	ASSERT_EQ(0, vc_wait_used(g, q, n, VC_WAIT_MS));
	/* And the counts: they are read under the lock the runs hold. */
	ASSERT_EQ(0, wait_chains(_metadata, g, q, n));
	return qstats(_metadata, g, q);
}

/*
 * 200 one-byte port-0 chains, one kick: runs of 64, 64, 64 and 8.  Three
 * stopped at the chain weight and requeued themselves.
 */
TEST_F(weight, port0_tx_run_stops_at_64_chains_and_requeues)
{
	__u64 gpa = vc_guest_put(&self->g, "x", 1);
	struct ktstr_vc_queue_stats q;
	unsigned int i;

	for (i = 0; i < 200; i++)
		vc_vq_add_buf(&self->g, KTSTR_VC_Q_PORT0_TX, gpa, 1, false);
	q = kick_until_taken(_metadata, &self->g, KTSTR_VC_Q_PORT0_TX, 200);
	ASSERT_EQ(3, q.weight_stops)
		TH_LOG("expected 3 runs stopped at %u chains, got %llu",
		       RUN_CHAINS, (unsigned long long)q.weight_stops);
	ASSERT_EQ(4, q.runs) TH_LOG("expected 4 runs, got %llu",
				    (unsigned long long)q.runs);
	ASSERT_EQ(1, q.kicks);
}

/*
 * Ten chains of one 200-descriptor list of zero-length descriptors move
 * no byte, yet each run stops after reading 256 descriptors or more: two
 * chains a run, five runs, four of them stopped with one waiting.
 */
TEST_F(weight, tx_run_stops_at_descriptor_weight_on_long_empty_chains)
{
	struct ktstr_vc_queue_stats q;
	unsigned int i;

	empty_chain_at_head(&self->g, KTSTR_VC_Q_PORT0_TX, 200);
	for (i = 0; i < 10; i++)
		vc_vq_publish(&self->g, KTSTR_VC_Q_PORT0_TX, 0);
	q = kick_until_taken(_metadata, &self->g, KTSTR_VC_Q_PORT0_TX, 10);
	ASSERT_EQ(4, q.weight_stops)
		TH_LOG("expected 4 runs stopped at %u descriptors, got %llu",
		       RUN_DESCS, (unsigned long long)q.weight_stops);
	ASSERT_EQ(5, q.runs);
	ASSERT_EQ(0, q.bytes);
}

/*
 * A guest vCPU re-posts chains of nothing (of ndesc descriptors each)
 * while another does register accesses: no run takes more than its
 * weight, runs stop at it, and the accesses keep answering.  Long chains
 * make each one cost the device more than it costs the guest, so the
 * guest always keeps ahead.
 */
static void reposted_empty_chains(struct __test_metadata *_metadata,
				  struct vc_guest *g, unsigned int q,
				  unsigned int ndesc)
{
	/* The chains a run may take: the chain weight, or the descriptors'. */
	unsigned int per_run = ndesc == 1 ? RUN_CHAINS :
			       (RUN_DESCS + ndesc - 1) / ndesc + 1;
	struct ktstr_vc_queue_stats before, after;
	struct vc_reposter r;
	struct mmio_lag lag;
	__u64 chains, runs;
	int ret;

	empty_chain_at_head(g, q, ndesc);
	before = qstats(_metadata, g, q);
	ASSERT_EQ(0, vc_reposter_start(&r, g, q, HOSTILE_MS + 1000));
	ret = measure_mmio_lag(g, HOSTILE_MS, &lag);
	vc_reposter_stop(&r);
	after = qstats(_metadata, g, q);
	chains = after.chains - before.chains;
	runs = after.runs - before.runs;

	ASSERT_EQ(0, ret) TH_LOG("MMIO read failed");
	TH_LOG("%lu MMIO reads: median %lld ms, worst %lld ms",
	       lag.reads, (long long)lag.median_ms, (long long)lag.worst_ms);
	ASSERT_LE(lag.median_ms, MEDIAN_MS)
		TH_LOG("MMIO reads waited %lld ms (median) on the device, at most %d expected",
		       (long long)lag.median_ms, MEDIAN_MS);
	ASSERT_LT(lag.worst_ms, WORST_MS)
		TH_LOG("an MMIO read waited %lld ms on the device, under %d expected",
		       (long long)lag.worst_ms, WORST_MS);
	ASSERT_LT(0, after.weight_stops - before.weight_stops)
		TH_LOG("%llu chains in %llu runs, none stopped at its weight",
		       (unsigned long long)chains, (unsigned long long)runs);
	ASSERT_LE(chains, per_run * runs)
		TH_LOG("%llu chains in %llu runs: a run went past %u chains",
		       (unsigned long long)chains, (unsigned long long)runs,
		       per_run);
	TH_LOG("%llu chains in %llu runs, %llu at the weight",
	       (unsigned long long)chains, (unsigned long long)runs,
	       (unsigned long long)(after.weight_stops - before.weight_stops));
}

TEST_F(weight, port0_reposted_empty_chains_never_keep_one_run_past_weight)
{
	reposted_empty_chains(_metadata, &self->g, KTSTR_VC_Q_PORT0_TX, 1);
}

TEST_F(weight, port1_reposted_empty_chains_never_keep_one_run_past_weight)
{
	reposted_empty_chains(_metadata, &self->g, KTSTR_VC_Q_PORT1_TX, 1);
}

TEST_F(weight, port0_reposted_long_empty_chains_never_keep_one_run_past_weight)
{
	reposted_empty_chains(_metadata, &self->g, KTSTR_VC_Q_PORT0_TX,
			      NUM - 1);
}

TEST_F(weight, port1_reposted_long_empty_chains_never_keep_one_run_past_weight)
{
	reposted_empty_chains(_metadata, &self->g, KTSTR_VC_Q_PORT1_TX,
			      NUM - 1);
}

/*
 * Status 0 drains TX in the vCPU's own ioctl: with a second vCPU
 * re-posting chains of nothing it must still return, having taken at
 * most a ring's worth.
 */
TEST_F(weight, reset_returns_while_guest_reposts_empty_chains)
{
	struct vc_reposter r;
	__s64 t0, took;
	int ret;

	empty_chain_at_head(&self->g, KTSTR_VC_Q_PORT1_TX, NUM - 1);
	ASSERT_EQ(0, vc_reposter_start(&r, &self->g, KTSTR_VC_Q_PORT1_TX,
				       HOSTILE_MS));
	/*
	 * The reposter is at it once the device has taken a ring's worth
	 * (seen in the used entries: used->idx and the statistics may wait
	 * for the run to end).
	 */
	t0 = vc_now_ms();
	while (vc_reposter_taken(&r) < NUM && vc_now_ms() - t0 < VC_WAIT_MS)
		sched_yield();
	ASSERT_LE(NUM, vc_reposter_taken(&r));
	t0 = vc_now_ms();
	ret = __vc_write32(self->g.fd, VIRTIO_MMIO_STATUS, 0);
	took = vc_now_ms() - t0;
	vc_reposter_stop(&r);
	ASSERT_EQ(0, ret);
	ASSERT_LT(took, WORST_MS)
		TH_LOG("the reset took %lld ms while the guest re-posted",
		       (long long)took);
	ASSERT_EQ(0, vc_read32(self->g.fd, VIRTIO_MMIO_STATUS));
}

/* A writer vCPU that keeps port 1 fed with 32 KiB chains of real bytes. */
struct feeder {
	struct vc_guest *g;
	__u64 base;
	bool stop;
	pthread_t th;
};

static void *feeder_fn(void *arg)
{
	struct feeder *f = arg;
	struct vc_vq *vq = &f->g->vq[KTSTR_VC_Q_PORT1_TX];
	__s64 end = vc_now_ms() + 20 * 1000;

	while (!__atomic_load_n(&f->stop, __ATOMIC_ACQUIRE) &&
	       vc_now_ms() < end) {
		__u16 used = vc_used_idx(f->g, KTSTR_VC_Q_PORT1_TX);

		if ((__u16)(vq->avail_idx - used) >= vq->num) {
			usleep(1000);
			continue;
		}
		vc_vq_add_buf(f->g, KTSTR_VC_Q_PORT1_TX,
			      f->base + (vq->next_desc % vq->num) * CHUNK,
			      CHUNK, false);
		vc_kick(f->g, KTSTR_VC_Q_PORT1_TX);
	}
	return NULL;
}

/* A reader that takes 4 KiB every 50 ms: room, but never enough. */
struct trickler {
	int fd;
	bool stop;
	pthread_t th;
};

static void *trickler_fn(void *arg)
{
	struct trickler *t = arg;
	__s64 end = vc_now_ms() + 20 * 1000;
	char buf[4096];

	while (!__atomic_load_n(&t->stop, __ATOMIC_ACQUIRE) &&
	       vc_now_ms() < end) {
		if (read(t->fd, buf, sizeof(buf)) == 0)
			break;
		usleep(50 * 1000);
	}
	return NULL;
}

/*
 * DETACH of a guest that keeps writing port 1 while its reader trickles:
 * the final drain takes what was there when DETACH began, waits for the
 * reader a bounded time, and returns within 2 s.
 */
TEST_F(weight, detach_returns_within_2s_while_guest_writes_and_reader_trickles)
{
	struct feeder f = { .g = &self->g };
	struct trickler t = { .fd = self->port1 };
	__s64 t0, took;
	int ret;

	while (read(self->port1, &ret, 1) > 0)
		;
	f.base = vc_guest_alloc(&self->g, NUM * CHUNK);
	ASSERT_EQ(0, pthread_create(&f.th, NULL, feeder_fn, &f));
	/* Evidence of a full host buffer: the guest now waits on the reader. */
	t0 = vc_now_ms();
	while (vc_port_pending(self->port1) < (int)TX_BUF &&
	       vc_now_ms() - t0 < VC_WAIT_MS)
		usleep(1000);
	ASSERT_EQ((int)TX_BUF, vc_port_pending(self->port1));
	ASSERT_EQ(0, pthread_create(&t.th, NULL, trickler_fn, &t));

	t0 = vc_now_ms();
	ret = __vc_detach(self->g.fd);
	took = vc_now_ms() - t0;
	__atomic_store_n(&f.stop, true, __ATOMIC_RELEASE);
	__atomic_store_n(&t.stop, true, __ATOMIC_RELEASE);
	pthread_join(f.th, NULL);
	pthread_join(t.th, NULL);
	ASSERT_EQ(0, ret) TH_LOG("DETACH: %s", strerror(-ret));
	ASSERT_LT(took, 2000)
		TH_LOG("DETACH took %lld ms while the guest kept writing",
		       (long long)took);
}

TEST_HARNESS_MAIN
