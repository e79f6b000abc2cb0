// SPDX-License-Identifier: GPL-2.0
/*
 * The port devices and sessions: flow control in both directions, EOF,
 * readers that come early or late, resets and deaths mid-stream, and two
 * instances on two slots at once.
 */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "vc_guest_test.h"

#define CHUNK		(32 * 1024)
#define TX_BUF		(2u << 20)	/* the module's default tx_buf_size */

/* Drop what earlier tests left unread, so this test reads its own bytes. */
static void drain_port(int fd)
{
	char buf[4096];
	int fl = fcntl(fd, F_GETFL);

	fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	fcntl(fd, F_SETFL, fl);
}

/*
 * Stream total bytes of the test pattern through TX queue q in CHUNK
 * chains, keeping up to num - 1 in flight: what a guest writer does.
 * Returns the bytes the device took back (all of them, unless it timed
 * out after ms without progress).
 */
static size_t stream_tx(struct vc_guest *g, unsigned int q, size_t total,
			int ms)
{
	struct vc_vq *vq = &g->vq[q];
	__u64 base = vc_guest_alloc(g, (size_t)vq->num * CHUNK);
	size_t sent = 0, done = 0;
	__u16 inflight_start = vc_used_idx(g, q);

	while (done < total) {
		while (sent < total &&
		       (__u16)(vq->avail_idx - vc_used_idx(g, q)) < vq->num - 1) {
			__u16 d = vq->next_desc;
			size_t n = total - sent < CHUNK ? total - sent : CHUNK;
			__u64 gpa = base + (__u64)d * CHUNK;

			vc_fill_pattern(vc_gpa_to_hva(g, gpa), n, sent);
			vc_vq_add_buf(g, q, gpa, n, false);
			sent += n;
		}
		vc_kick(g, q);
		if (vc_wait_used(g, q, vq->last_used + 1, ms))
			break;
		while (vq->last_used != vc_used_idx(g, q)) {
			vq->last_used++;
			done += done + CHUNK <= total ? CHUNK : total - done;
		}
	}
	(void)inflight_start;
	return done;
}

FIXTURE(port) {
	struct vc_guest g;
	int port0;
	int port1;
};

FIXTURE_SETUP(port)
{
	self->port0 = -1;
	self->port1 = -1;
	VC_GUEST_FIXTURE_SETUP(self);
}

FIXTURE_TEARDOWN(port)
{
	if (self->port0 >= 0)
		close(self->port0);
	if (self->port1 >= 0)
		close(self->port1);
	vc_guest_fini(&self->g);
}

static void start_all(struct __test_metadata *_metadata, struct vc_guest *g)
{
	ASSERT_EQ(0, vc_guest_start(g, VC_ALL_QUEUES, VC_NUM,
				    VC_DEVICE_FEATURES, true));
	ASSERT_EQ(0, vc_guest_use_kick_fds(g, VC_ALL_QUEUES));
}

static int open_reader(struct __test_metadata *_metadata, unsigned int port)
{
	int fd = vc_port_open(0, port, O_RDONLY);

	ASSERT_LE(0, fd) TH_LOG("open port %u: %s", port, strerror(errno));
	drain_port(fd);
	return fd;
}

TEST_F(port, port_second_reader_is_ebusy)
{
	int fd;

	self->port1 = open_reader(_metadata, 1);
	fd = vc_port_open(0, 1, O_RDONLY);
	ASSERT_EQ(-1, fd);
	ASSERT_EQ(EBUSY, errno);
	fd = vc_port_open(0, 1, O_RDWR);
	ASSERT_EQ(-1, fd) TH_LOG("O_RDWR wants the reader too");
	ASSERT_EQ(EBUSY, errno);
}

TEST_F(port, port_second_writer_is_ebusy)
{
	int w1 = vc_port_open(0, 0, O_WRONLY), w2;

	ASSERT_LE(0, w1);
	w2 = vc_port_open(0, 0, O_WRONLY);
	ASSERT_EQ(-1, w2);
	ASSERT_EQ(EBUSY, errno);
	close(w1);
	w2 = vc_port_open(0, 0, O_WRONLY);
	ASSERT_LE(0, w2) TH_LOG("the writer slot frees on close");
	close(w2);
}

TEST_F(port, port_reader_and_writer_coexist)
{
	int w = vc_port_open(0, 0, O_WRONLY);

	self->port0 = open_reader(_metadata, 0);
	ASSERT_LE(0, w) TH_LOG("a writer beside a reader: %s", strerror(errno));
	close(w);
}

TEST_F(port, port_read_nonblock_empty_is_eagain)
{
	char c;

	self->port1 = open_reader(_metadata, 1);
	fcntl(self->port1, F_SETFL, O_NONBLOCK);
	ASSERT_EQ(-1, read(self->port1, &c, 1));
	ASSERT_EQ(EAGAIN, errno);
}

TEST_F(port, port_fionread_and_poll_report_guest_bytes)
{
	static const char msg[] = "fionread";
	struct pollfd pfd;

	self->port1 = open_reader(_metadata, 1);
	start_all(_metadata, &self->g);
	vc_vq_add_buf(&self->g, KTSTR_VC_Q_PORT1_TX,
		      vc_guest_put(&self->g, msg, sizeof(msg)), sizeof(msg),
		      false);
	vc_kick(&self->g, KTSTR_VC_Q_PORT1_TX);
	pfd = (struct pollfd){ .fd = self->port1, .events = POLLIN };
	ASSERT_EQ(1, poll(&pfd, 1, VC_WAIT_MS));
	ASSERT_TRUE(pfd.revents & POLLIN);
	ASSERT_EQ((int)sizeof(msg), vc_port_pending(self->port1));
}

TEST_F(port, port_eof_after_session_end)
{
	static const char msg[] = "last words";
	char got[64];

	self->port1 = open_reader(_metadata, 1);
	start_all(_metadata, &self->g);
	vc_vq_add_buf(&self->g, KTSTR_VC_Q_PORT1_TX,
		      vc_guest_put(&self->g, msg, sizeof(msg)), sizeof(msg),
		      false);
	vc_kick(&self->g, KTSTR_VC_Q_PORT1_TX);
	ASSERT_EQ(0, vc_wait_used(&self->g, KTSTR_VC_Q_PORT1_TX, 1, VC_WAIT_MS));
	vc_guest_fini(&self->g);

	ASSERT_EQ((ssize_t)sizeof(msg), read(self->port1, got, sizeof(got)));
	ASSERT_EQ(0, memcmp(msg, got, sizeof(msg)));
	ASSERT_EQ(0, read(self->port1, got, sizeof(got)))
		TH_LOG("after the session's last byte, read() must return 0");
}

TEST_F(port, session_end_drains_unkicked_tx)
{
	static const char msg[] = "EXIT frame, then reboot";
	char got[64];

	self->port1 = open_reader(_metadata, 1);
	start_all(_metadata, &self->g);
	/* Published but never kicked, as a guest that reboots at once. */
	vc_vq_add_buf(&self->g, KTSTR_VC_Q_PORT1_TX,
		      vc_guest_put(&self->g, msg, sizeof(msg)), sizeof(msg),
		      false);
	vc_guest_fini(&self->g);

	ASSERT_EQ(sizeof(msg),
		  vc_port_read_all(self->port1, got, sizeof(msg), VC_WAIT_MS));
	ASSERT_EQ(0, memcmp(msg, got, sizeof(msg)));
	ASSERT_EQ(0, read(self->port1, got, sizeof(got)));
}

TEST_F(port, reader_opened_before_attach_waits_for_session)
{
	static const char msg[] = "for the early reader";
	char got[sizeof(msg)];

	/* Leave the slot idle, open the reader, then start a session. */
	vc_guest_fini(&self->g);
	self->port1 = vc_port_open(0, 1, O_RDONLY);
	ASSERT_LE(0, self->port1);
	drain_port(self->port1);
	ASSERT_EQ(0, vc_guest_init(&self->g, 0));
	start_all(_metadata, &self->g);
	vc_vq_add_buf(&self->g, KTSTR_VC_Q_PORT1_TX,
		      vc_guest_put(&self->g, msg, sizeof(msg)), sizeof(msg),
		      false);
	vc_kick(&self->g, KTSTR_VC_Q_PORT1_TX);
	ASSERT_EQ(sizeof(msg),
		  vc_port_read_all(self->port1, got, sizeof(got), VC_WAIT_MS));
	ASSERT_EQ(0, memcmp(msg, got, sizeof(msg)));
}

TEST_F(port, reader_opened_after_session_end_gets_rest_then_eof)
{
	static const char msg[] = "nobody was listening";
	char got[64];

	start_all(_metadata, &self->g);
	vc_vq_add_buf(&self->g, KTSTR_VC_Q_PORT1_TX,
		      vc_guest_put(&self->g, msg, sizeof(msg)), sizeof(msg),
		      false);
	vc_kick(&self->g, KTSTR_VC_Q_PORT1_TX);
	ASSERT_EQ(0, vc_wait_used(&self->g, KTSTR_VC_Q_PORT1_TX, 1, VC_WAIT_MS));
	vc_guest_fini(&self->g);

	self->port1 = vc_port_open(0, 1, O_RDONLY);
	ASSERT_LE(0, self->port1);
	ASSERT_EQ((ssize_t)sizeof(msg), read(self->port1, got, sizeof(got)));
	ASSERT_EQ(0, memcmp(msg, got, sizeof(msg)));
	ASSERT_EQ(0, read(self->port1, got, sizeof(got)));
}

struct slow_reader {
	int fd;
	size_t total;
	size_t got;
	size_t bad_at;
	unsigned int pause_ms;
};

static void *slow_reader_fn(void *arg)
{
	struct slow_reader *r = arg;
	__u8 *buf = malloc(CHUNK);

	r->bad_at = SIZE_MAX;
	usleep(r->pause_ms * 1000);
	while (r->got < r->total) {
		ssize_t n = read(r->fd, buf, CHUNK);
		size_t bad;

		if (n <= 0)
			break;
		bad = vc_check_pattern(buf, n, r->got);
		if (bad != (size_t)n && r->bad_at == SIZE_MAX)
			r->bad_at = r->got + bad;
		r->got += n;
	}
	free(buf);
	return NULL;
}

/*
 * A reader that stops reading for a while, then resumes: the guest waits
 * (chains stay in the avail ring), and every byte arrives, in order.
 */
TEST_F(port, port1_reader_backpressure_loses_nothing)
{
	const size_t total = 3 * TX_BUF;
	struct slow_reader r = { .total = total, .pause_ms = 1500 };
	pthread_t th;

	self->port1 = open_reader(_metadata, 1);
	r.fd = self->port1;
	start_all(_metadata, &self->g);
	ASSERT_EQ(0, pthread_create(&th, NULL, slow_reader_fn, &r));
	ASSERT_EQ(total, stream_tx(&self->g, KTSTR_VC_Q_PORT1_TX, total,
				   60 * 1000));
	pthread_join(th, NULL);
	ASSERT_EQ(total, r.got);
	ASSERT_EQ(SIZE_MAX, r.bad_at)
		TH_LOG("stream corrupt at byte %zu", r.bad_at);
}

TEST_F(port, port1_tx_stalls_while_reader_buffer_full)
{
	__u64 before;
	__u16 used;

	self->port1 = open_reader(_metadata, 1);
	start_all(_metadata, &self->g);
	/* Fill the host buffer exactly, then offer one more chain. */
	ASSERT_EQ(TX_BUF, stream_tx(&self->g, KTSTR_VC_Q_PORT1_TX, TX_BUF,
				    VC_WAIT_MS));
	before = vc_used_idx(&self->g, KTSTR_VC_Q_PORT1_TX);
	vc_vq_add_buf(&self->g, KTSTR_VC_Q_PORT1_TX,
		      vc_guest_alloc(&self->g, 100), 100, false);
	vc_kick(&self->g, KTSTR_VC_Q_PORT1_TX);
	vc_settle();
	used = vc_used_idx(&self->g, KTSTR_VC_Q_PORT1_TX);
	ASSERT_EQ(before, used) TH_LOG("the chain must wait for the reader");

	drain_port(self->port1);
	ASSERT_EQ(0, vc_wait_used(&self->g, KTSTR_VC_Q_PORT1_TX, before + 1,
				  VC_WAIT_MS))
		TH_LOG("reading must let the waiting chain in, without a kick");
}

/*
 * With nobody reading port 0 the guest is never held back: every chain
 * comes straight back, the oldest console bytes give way, and exactly
 * the number given way is counted.
 */
TEST_F(port, port0_overflow_keeps_newest_and_counts_drops)
{
	const size_t total = TX_BUF + TX_BUF / 2;
	__u64 dropped_before, dropped_after;
	__u8 *got = malloc(TX_BUF);
	size_t n;

	ASSERT_NE(NULL, got);
	self->port0 = open_reader(_metadata, 0);
	vc_ioctl(self->port0, KTSTR_VC_PORT_GET_DROPPED, &dropped_before);
	start_all(_metadata, &self->g);
	ASSERT_EQ(total, stream_tx(&self->g, KTSTR_VC_Q_PORT0_TX, total,
				   VC_WAIT_MS))
		TH_LOG("port 0 must never hold the guest back");

	ASSERT_EQ((int)TX_BUF, vc_port_pending(self->port0));
	n = vc_port_read_all(self->port0, got, TX_BUF, VC_WAIT_MS);
	ASSERT_EQ(TX_BUF, n);
	ASSERT_EQ(TX_BUF, vc_check_pattern(got, TX_BUF, total - TX_BUF))
		TH_LOG("port 0 must keep the newest bytes");
	vc_ioctl(self->port0, KTSTR_VC_PORT_GET_DROPPED, &dropped_after);
	ASSERT_EQ(total - TX_BUF, dropped_after - dropped_before);
	ASSERT_EQ(total - TX_BUF, vc_stat(self->g.fd, port0_dropped));
	free(got);
}

TEST_F(port, reset_drains_pending_tx_without_interrupt)
{
	static const char msg[] = "published before reset";
	char got[sizeof(msg)];

	self->port1 = open_reader(_metadata, 1);
	start_all(_metadata, &self->g);
	vc_call_count(&self->g);
	vc_vq_add_buf(&self->g, KTSTR_VC_Q_PORT1_TX,
		      vc_guest_put(&self->g, msg, sizeof(msg)), sizeof(msg),
		      false);
	vc_write32(self->g.fd, VIRTIO_MMIO_STATUS, 0);

	ASSERT_EQ(sizeof(msg),
		  vc_port_read_all(self->port1, got, sizeof(got), VC_WAIT_MS))
		TH_LOG("reset must first drain what the guest published");
	ASSERT_EQ(0, memcmp(msg, got, sizeof(msg)));
	ASSERT_EQ(0, vc_call_count(&self->g)) TH_LOG("no call on reset");
	ASSERT_EQ(0, vc_isr(self->g.fd));
}

TEST_F(port, reset_mid_stream_keeps_order)
{
	const size_t half = 256 * 1024;
	__u8 *got = malloc(2 * half);

	ASSERT_NE(NULL, got);
	self->port1 = open_reader(_metadata, 1);
	start_all(_metadata, &self->g);
	ASSERT_EQ(half, stream_tx(&self->g, KTSTR_VC_Q_PORT1_TX, half,
				  VC_WAIT_MS));
	vc_write32(self->g.fd, VIRTIO_MMIO_STATUS, 0);
	/* The guest reboots its driver: fresh rings, same memory. */
	self->g.brk = KTSTR_VC_NUM_QUEUES * 0x4000;
	ASSERT_EQ(0, vc_guest_start(&self->g, VC_ALL_QUEUES, VC_NUM,
				    VC_DEVICE_FEATURES, true));
	ASSERT_EQ(half, stream_tx(&self->g, KTSTR_VC_Q_PORT1_TX, half,
				  VC_WAIT_MS));
	ASSERT_EQ(2 * half,
		  vc_port_read_all(self->port1, got, 2 * half, VC_WAIT_MS));
	ASSERT_EQ(half, vc_check_pattern(got, half, 0));
	ASSERT_EQ(half, vc_check_pattern(got + half, half, 0));
	free(got);
}

/*
 * The child plays a VMM that streams 4 KiB chains until it is killed,
 * in guest RAM it shares with the parent: what the device took is then
 * in the used ring for the parent to read, however the kill fell.
 */
static void vmm_streams_until_killed(void *mem, struct ktstr_vc_stats *st)
{
	struct vc_guest g;
	struct vc_vq *vq;
	__u64 base;
	size_t sent = 0;

	if (vc_guest_init_at(&g, 0, mem) ||
	    vc_guest_start(&g, VC_ALL_QUEUES, VC_NUM, VC_DEVICE_FEATURES,
			   true) ||
	    vc_guest_use_kick_fds(&g, VC_ALL_QUEUES))
		_exit(1);
	vq = &g.vq[KTSTR_VC_Q_PORT1_TX];
	base = vc_guest_alloc(&g, (size_t)vq->num * 4096);
	for (;;) {
		while ((__u16)(vq->avail_idx - vc_used_idx(&g, vq->index)) <
		       vq->num - 1) {
			__u64 gpa = base + (__u64)vq->next_desc * 4096;

			vc_fill_pattern(vc_gpa_to_hva(&g, gpa), 4096, sent);
			vc_vq_add_buf(&g, vq->index, gpa, 4096, false);
			sent += 4096;
		}
		vc_kick(&g, vq->index);
		__vc_get_stats(g.fd, st);
		usleep(100);
	}
}

/* Chains the device returned on port 1 TX, as the used ring says. */
static __u16 shared_port1_tx_used(void *mem)
{
	struct vring_used *used = vc_used_ring_in(mem, KTSTR_VC_Q_PORT1_TX);

	return __atomic_load_n(&used->idx, __ATOMIC_ACQUIRE);
}

/*
 * SIGKILL of the VMM mid-stream: every byte of every chain the device
 * took (returned to the used ring, which the final drain publishes)
 * arrives, in order, then EOF.
 */
TEST_F(port, vmm_sigkill_mid_stream_delivers_all_then_eof)
{
	struct ktstr_vc_stats *st = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
					 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	void *mem = mmap(NULL, VC_GUEST_SIZE, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	const struct ktstr_vc_queue_stats *q5;
	__u8 *buf = malloc(CHUNK);
	size_t got = 0, bad = SIZE_MAX, taken;
	pid_t child;
	int status;

	ASSERT_NE(MAP_FAILED, st);
	ASSERT_NE(MAP_FAILED, mem);
	vc_guest_fini(&self->g);	/* the child takes slot 0 */
	self->port1 = vc_port_open(0, 1, O_RDONLY);
	ASSERT_LE(0, self->port1);
	drain_port(self->port1);

	child = fork();
	ASSERT_LE(0, child);
	if (!child)
		vmm_streams_until_killed(mem, st);

	/* Read a while, then kill the VMM mid-stream. */
	while (got < 4 * TX_BUF) {
		ssize_t n = read(self->port1, buf, CHUNK);

		ASSERT_LT(0, n);
		if (bad == SIZE_MAX && vc_check_pattern(buf, n, got) != (size_t)n)
			bad = got;
		got += n;
	}
	kill(child, SIGKILL);
	ASSERT_EQ(child, waitpid(child, &status, 0));

	for (;;) {
		ssize_t n = read(self->port1, buf, CHUNK);

		ASSERT_LE(0, n);
		if (!n)
			break;
		if (bad == SIZE_MAX && vc_check_pattern(buf, n, got) != (size_t)n)
			bad = got;
		got += n;
	}
	/* EOF came after the session's end: the used ring is final. */
	taken = (size_t)shared_port1_tx_used(mem) * 4096;
	ASSERT_EQ(SIZE_MAX, bad) TH_LOG("stream corrupt at byte %zu", bad);
	ASSERT_EQ(taken, got)
		TH_LOG("the device took %zu bytes before the kill, read %zu",
		       taken, got);
	q5 = &st->queue[KTSTR_VC_Q_PORT1_TX];
	ksft_print_msg("sigkill: taken %zu, read %zu\n", taken, got);
	ksft_print_msg("sigkill: q5 kicks %llu chains %llu bytes %llu irqs %llu\n",
		       q5->kicks, q5->chains, q5->bytes, q5->interrupts);
	free(buf);
	munmap(mem, VC_GUEST_SIZE);
	munmap(st, 4096);
}

/*
 * KTSTR_VC_GET_PORT_FD: the session's port as a file of the VMM's own,
 * read like the node (this session's bytes, then EOF when it ends).
 */
TEST_F(port, port_fd_reads_the_session_then_eof)
{
	static const char msg[] = "through the port fd";
	char got[sizeof(msg)];
	int fd;

	start_all(_metadata, &self->g);
	fd = __vc_get_port_fd(self->g.fd, 1, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, fd) TH_LOG("GET_PORT_FD: %s", strerror(-fd));
	drain_port(fd);
	vc_vq_add_buf(&self->g, KTSTR_VC_Q_PORT1_TX,
		      vc_guest_put(&self->g, msg, sizeof(msg)), sizeof(msg),
		      false);
	vc_kick(&self->g, KTSTR_VC_Q_PORT1_TX);
	ASSERT_EQ(sizeof(msg), vc_port_read_all(fd, got, sizeof(got),
						VC_WAIT_MS));
	ASSERT_EQ(0, memcmp(msg, got, sizeof(msg)));
	/* The instance goes; the fd stays, and reads the session's end. */
	vc_guest_fini(&self->g);
	ASSERT_EQ(0, read(fd, got, sizeof(got)));
	close(fd);
}

TEST_F(port, port_fd_and_node_share_the_one_reader)
{
	int fd, node;

	start_all(_metadata, &self->g);
	node = vc_port_open(0, 1, O_RDONLY);
	ASSERT_LE(0, node);
	ASSERT_EQ(-EBUSY, __vc_get_port_fd(self->g.fd, 1, O_RDONLY));
	close(node);
	fd = __vc_get_port_fd(self->g.fd, 1, O_RDONLY);
	ASSERT_LE(0, fd);
	ASSERT_GT(0, vc_port_open(0, 1, O_RDONLY));
	ASSERT_EQ(EBUSY, errno);
	/* A writer may come beside the reader. */
	node = vc_port_open(0, 1, O_WRONLY);
	ASSERT_LE(0, node);
	close(node);
	close(fd);
}

TEST_F(port, port_fd_writes_reach_the_guest)
{
	static const char msg[] = "host to guest by fd";
	__u64 gpa = vc_guest_alloc(&self->g, 64);
	int fd;

	start_all(_metadata, &self->g);
	fd = __vc_get_port_fd(self->g.fd, 0, O_WRONLY | O_NONBLOCK);
	ASSERT_LE(0, fd);
	vc_vq_add_buf(&self->g, KTSTR_VC_Q_PORT0_RX, gpa, 64, true);
	ASSERT_EQ((ssize_t)sizeof(msg), write(fd, msg, sizeof(msg)));
	ASSERT_EQ(0, vc_wait_used(&self->g, KTSTR_VC_Q_PORT0_RX, 1,
				  VC_WAIT_MS));
	ASSERT_EQ(0, memcmp(msg, vc_gpa_to_hva(&self->g, gpa), sizeof(msg)));
	close(fd);
}

TEST_F(port, port_fd_bad_arguments_refused)
{
	int detached = __vc_open();

	ASSERT_EQ(-EINVAL, __vc_get_port_fd(self->g.fd, 2, O_RDONLY));
	ASSERT_EQ(-EINVAL, __vc_get_port_fd(self->g.fd, 1, O_RDONLY | O_APPEND));
	ASSERT_EQ(-EINVAL, __vc_get_port_fd(self->g.fd, 1, O_ACCMODE));
	ASSERT_LE(0, detached);
	ASSERT_EQ(-ENOTCONN, __vc_get_port_fd(detached, 1, O_RDONLY));
	close(detached);
}

TEST_F(port, two_slots_two_instances_at_once)
{
	static const char m0[] = "slot zero";
	static const char m1[] = "slot one";
	struct vc_guest g1;
	char got0[sizeof(m0)], got1[sizeof(m1)];
	int r1;

	self->port1 = open_reader(_metadata, 1);
	r1 = vc_port_open(1, 1, O_RDONLY);
	ASSERT_LE(0, r1) TH_LOG("open /dev/ktstr1-port1: %s", strerror(errno));
	drain_port(r1);
	ASSERT_EQ(0, vc_guest_init(&g1, 1));
	start_all(_metadata, &self->g);
	start_all(_metadata, &g1);

	vc_vq_add_buf(&self->g, KTSTR_VC_Q_PORT1_TX,
		      vc_guest_put(&self->g, m0, sizeof(m0)), sizeof(m0), false);
	vc_vq_add_buf(&g1, KTSTR_VC_Q_PORT1_TX,
		      vc_guest_put(&g1, m1, sizeof(m1)), sizeof(m1), false);
	vc_kick(&g1, KTSTR_VC_Q_PORT1_TX);
	vc_kick(&self->g, KTSTR_VC_Q_PORT1_TX);

	ASSERT_EQ(sizeof(m0),
		  vc_port_read_all(self->port1, got0, sizeof(got0), VC_WAIT_MS));
	ASSERT_EQ(sizeof(m1), vc_port_read_all(r1, got1, sizeof(got1),
					       VC_WAIT_MS));
	ASSERT_EQ(0, memcmp(m0, got0, sizeof(m0)));
	ASSERT_EQ(0, memcmp(m1, got1, sizeof(m1)));
	vc_guest_fini(&g1);
	close(r1);
}

TEST_HARNESS_MAIN
