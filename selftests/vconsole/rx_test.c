// SPDX-License-Identifier: GPL-2.0
/*
 * Host -> guest: bytes written to /dev/ktstr-port{0,1} land in the RX
 * chains of q0 and q4, with the reference device's gates and torn-write
 * recovery.
 */
#include "vc_guest_test.h"

FIXTURE(rx) {
	struct vc_guest g;
	int port0;
	int port1;
};

FIXTURE_SETUP(rx)
{
	VC_GUEST_FIXTURE_SETUP(self);
	self->port0 = vc_port_open(0, 0, O_WRONLY | O_NONBLOCK);
	ASSERT_LE(0, self->port0) TH_LOG("open port0: %s", strerror(errno));
	self->port1 = vc_port_open(0, 1, O_WRONLY | O_NONBLOCK);
	ASSERT_LE(0, self->port1) TH_LOG("open port1: %s", strerror(errno));
}

FIXTURE_TEARDOWN(rx)
{
	close(self->port0);
	close(self->port1);
	vc_guest_fini(&self->g);
}

/* Bring the device up and have the guest open port 1, as Linux does. */
static void start_open(struct __test_metadata *_metadata, struct vc_guest *g)
{
	ASSERT_EQ(0, vc_guest_start(g, VC_ALL_QUEUES, VC_NUM,
				    VC_DEVICE_FEATURES, true));
	vc_ctrl_send(g, 1, VIRTIO_CONSOLE_PORT_OPEN, 1);
	ASSERT_EQ(0, vc_wait_used(g, KTSTR_VC_Q_CTRL_TX, 1, VC_WAIT_MS));
	/*
	 * Let the worker finish what the open set off (the call for the
	 * control chain, a port 1 RX run with nothing to send), so that the
	 * test's own kick starts exactly one run.
	 */
	ASSERT_EQ(0, vc_wait_call(g, VC_WAIT_MS));
	vc_settle();
	vc_call_count(g);
}

static void host_write(struct __test_metadata *_metadata, int fd,
		       const void *buf, size_t len)
{
	ASSERT_EQ((ssize_t)len, write(fd, buf, len))
		TH_LOG("port write of %zu bytes: %s", len, strerror(errno));
}

TEST_F(rx, port0_rx_host_bytes_reach_guest_buffer)
{
	static const char wake[] = { KTSTR_VC_WAKE_SHUTDOWN };
	__u64 gpa = vc_guest_alloc(&self->g, 64);
	struct vring_used_elem e;

	ASSERT_EQ(0, vc_guest_start(&self->g, VC_ALL_QUEUES, VC_NUM,
				    VC_DEVICE_FEATURES, true));
	vc_vq_add_buf(&self->g, KTSTR_VC_Q_PORT0_RX, gpa, 64, true);
	vc_kick(&self->g, KTSTR_VC_Q_PORT0_RX);
	host_write(_metadata, self->port0, wake, 1);

	ASSERT_EQ(0, vc_wait_used(&self->g, KTSTR_VC_Q_PORT0_RX, 1, VC_WAIT_MS));
	e = vc_used_elem(&self->g, KTSTR_VC_Q_PORT0_RX, 0);
	ASSERT_EQ(1, e.len);
	ASSERT_EQ(KTSTR_VC_WAKE_SHUTDOWN,
		  *(__u8 *)vc_gpa_to_hva(&self->g, gpa));
	ASSERT_EQ(0, vc_wait_call(&self->g, VC_WAIT_MS));
}

TEST_F(rx, port0_rx_written_before_driver_ok_delivered_at_driver_ok)
{
	static const char early[] = "typed before boot";
	__u64 gpa = vc_guest_alloc(&self->g, 64);

	ASSERT_EQ(0, vc_guest_start(&self->g, VC_ALL_QUEUES, VC_NUM,
				    VC_DEVICE_FEATURES, false));
	vc_vq_add_buf(&self->g, KTSTR_VC_Q_PORT0_RX, gpa, 64, true);
	/* The write wakes the device: only DRIVER_OK's gate holds it. */
	host_write(_metadata, self->port0, early, sizeof(early));
	vc_settle();
	ASSERT_EQ(0, vc_used_idx(&self->g, KTSTR_VC_Q_PORT0_RX));
	vc_walk_status(self->g.fd, VC_S_OK);

	ASSERT_EQ(0, vc_wait_used(&self->g, KTSTR_VC_Q_PORT0_RX, 1, VC_WAIT_MS))
		TH_LOG("DRIVER_OK must deliver bytes queued before it");
	ASSERT_EQ(sizeof(early), vc_used_elem(&self->g, KTSTR_VC_Q_PORT0_RX, 0).len);
	ASSERT_EQ(0, memcmp(early, vc_gpa_to_hva(&self->g, gpa), sizeof(early)));
}

TEST_F(rx, drain_port1_pending_rx_empty_pending_is_noop)
{
	start_open(_metadata, &self->g);
	vc_call_count(&self->g);
	vc_vq_add_buf(&self->g, KTSTR_VC_Q_PORT1_RX,
		      vc_guest_alloc(&self->g, 64), 64, true);
	vc_kick(&self->g, KTSTR_VC_Q_PORT1_RX);
	vc_settle();
	ASSERT_EQ(0, vc_used_idx(&self->g, KTSTR_VC_Q_PORT1_RX))
		TH_LOG("no host bytes: the buffer must stay with the device");
	ASSERT_EQ(0, vc_call_count(&self->g));
}

/* The host bytes a reset of the running device forgot (and so had kept). */
static __u64 discarded_at_reset(struct __test_metadata *_metadata,
				struct vc_guest *g)
{
	vc_write32(g->fd, VIRTIO_MMIO_STATUS, 0);
	return vc_stat(g->fd, rx_discarded);
}

/*
 * Port 1 RX waits for DRIVER_OK, keeps the bytes, and delivers them once
 * the driver is done and has opened the port.  (PORT_OPEN itself needs
 * DRIVER_OK here, so the port-open gate holds them too.)
 */
TEST_F(rx, drain_port1_pending_rx_defers_without_driver_ok)
{
	static const char reply[] = "snapshot reply bytes";
	__u64 gpa = vc_guest_alloc(&self->g, 64);

	ASSERT_EQ(0, vc_guest_start(&self->g, VC_ALL_QUEUES, VC_NUM,
				    VC_DEVICE_FEATURES, false));
	vc_vq_add_buf(&self->g, KTSTR_VC_Q_PORT1_RX, gpa, 64, true);
	host_write(_metadata, self->port1, reply, sizeof(reply));
	vc_settle();
	ASSERT_EQ(0, vc_used_idx(&self->g, KTSTR_VC_Q_PORT1_RX));
	ASSERT_EQ(0, vc_isr(self->g.fd));

	vc_walk_status(self->g.fd, VC_S_OK);
	vc_ctrl_send(&self->g, 1, VIRTIO_CONSOLE_PORT_OPEN, 1);
	ASSERT_EQ(0, vc_wait_used(&self->g, KTSTR_VC_Q_PORT1_RX, 1, VC_WAIT_MS))
		TH_LOG("the bytes held back must go at DRIVER_OK and PORT_OPEN");
	ASSERT_EQ(sizeof(reply),
		  vc_used_elem(&self->g, KTSTR_VC_Q_PORT1_RX, 0).len);
	ASSERT_EQ(0, memcmp(reply, vc_gpa_to_hva(&self->g, gpa), sizeof(reply)));
}

/*
 * Without F_MULTIPORT the control queue is refused too, so the guest's
 * PORT_OPEN never lands and port 1 RX stays shut; the bytes are kept
 * until the reset that ends this driver (they were not the next one's).
 */
TEST_F(rx, drain_port1_pending_rx_defers_without_multiport)
{
	static const char reply[] = "reply bytes that must not leak";

	ASSERT_EQ(0, vc_guest_start(&self->g, VC_ALL_QUEUES, VC_NUM,
				    VC_F_VERSION_1, true));
	/* Eventfd kicks: QUEUE_NOTIFY's own F_MULTIPORT check stays out. */
	ASSERT_EQ(0, vc_guest_use_kick_fds(&self->g, VC_ALL_QUEUES));
	vc_vq_add_buf(&self->g, KTSTR_VC_Q_PORT1_RX,
		      vc_guest_alloc(&self->g, 64), 64, true);
	vc_ctrl_send(&self->g, 1, VIRTIO_CONSOLE_PORT_OPEN, 1);
	host_write(_metadata, self->port1, reply, sizeof(reply));
	vc_settle();
	ASSERT_EQ(0, vc_used_idx(&self->g, KTSTR_VC_Q_CTRL_TX))
		TH_LOG("c_ovq must not be served without F_MULTIPORT");
	ASSERT_EQ(0, vc_used_idx(&self->g, KTSTR_VC_Q_PORT1_RX));
	ASSERT_EQ(sizeof(reply), discarded_at_reset(_metadata, &self->g))
		TH_LOG("the held bytes must have been kept until the reset");
}

TEST_F(rx, drain_port1_pending_rx_defers_until_port_open)
{
	static const char reply[] = "deferred snapshot reply";
	__u64 gpa = vc_guest_alloc(&self->g, 64);

	ASSERT_EQ(0, vc_guest_start(&self->g, VC_ALL_QUEUES, VC_NUM,
				    VC_DEVICE_FEATURES, true));
	vc_vq_add_buf(&self->g, KTSTR_VC_Q_PORT1_RX, gpa, 64, true);
	vc_kick(&self->g, KTSTR_VC_Q_PORT1_RX);
	host_write(_metadata, self->port1, reply, sizeof(reply));
	vc_settle();
	ASSERT_EQ(0, vc_used_idx(&self->g, KTSTR_VC_Q_PORT1_RX))
		TH_LOG("port 1 RX must wait for the guest's PORT_OPEN");

	vc_ctrl_send(&self->g, 1, VIRTIO_CONSOLE_PORT_OPEN, 1);
	ASSERT_EQ(0, vc_wait_used(&self->g, KTSTR_VC_Q_PORT1_RX, 1, VC_WAIT_MS))
		TH_LOG("PORT_OPEN must flush the held bytes without a kick");
	ASSERT_EQ(0, memcmp(reply, vc_gpa_to_hva(&self->g, gpa), sizeof(reply)));
}

TEST_F(rx, drain_port0_pending_rx_defers_without_mem)
{
	static const char early[] = "no guest memory yet";
	struct ktstr_vc_stats st;
	int fd = vc_open_attached(1);
	__s64 t0;

	/* Slot 1, no memory table: the rings cannot be reached. */
	vc_negotiate(fd, VC_DEVICE_FEATURES);
	vc_setup_queue(fd, KTSTR_VC_Q_PORT0_RX, VC_NUM,
		       VC_GUEST_BASE, VC_GUEST_BASE + 0x1000,
		       VC_GUEST_BASE + 0x2000);
	vc_walk_status(fd, VC_S_OK);
	close(self->port0);
	self->port0 = vc_port_open(1, 0, O_WRONLY | O_NONBLOCK);
	ASSERT_LE(0, self->port0);
	host_write(_metadata, self->port0, early, sizeof(early));
	vc_write32(fd, VIRTIO_MMIO_QUEUE_NOTIFY, KTSTR_VC_Q_PORT0_RX);
	/* Evidence of the look: the unreachable rings are counted in it. */
	t0 = vc_now_ms();
	do {
		vc_get_stats(fd, &st);
	} while (!st.bad_ring && vc_now_ms() - t0 < VC_WAIT_MS);
	ASSERT_LE(1, st.bad_ring) TH_LOG("unreachable rings are counted");
	ASSERT_EQ(0, st.queue[KTSTR_VC_Q_PORT0_RX].chains);
	ASSERT_EQ(0, vc_isr(fd));
	close(fd);
}

/*
 * A port-1 RX queue with its rings set up but never made ready is not
 * used, even with the port open and a buffer in it; the bytes are kept.
 */
TEST_F(rx, drain_port1_pending_rx_defers_when_queue_not_ready)
{
	static const char reply[] = "reply before queue ready";

	ASSERT_EQ(0, vc_guest_start(&self->g, VC_ALL_QUEUES, VC_NUM,
				    VC_DEVICE_FEATURES, false));
	vc_write32(self->g.fd, VIRTIO_MMIO_QUEUE_SEL, KTSTR_VC_Q_PORT1_RX);
	vc_write32(self->g.fd, VIRTIO_MMIO_QUEUE_READY, 0);
	vc_walk_status(self->g.fd, VC_S_OK);
	vc_vq_add_buf(&self->g, KTSTR_VC_Q_PORT1_RX,
		      vc_guest_alloc(&self->g, 64), 64, true);
	vc_ctrl_send(&self->g, 1, VIRTIO_CONSOLE_PORT_OPEN, 1);
	ASSERT_EQ(0, vc_wait_used(&self->g, KTSTR_VC_Q_CTRL_TX, 1, VC_WAIT_MS));
	host_write(_metadata, self->port1, reply, sizeof(reply));
	vc_kick(&self->g, KTSTR_VC_Q_PORT1_RX);
	vc_settle();
	ASSERT_EQ(0, vc_used_idx(&self->g, KTSTR_VC_Q_PORT1_RX))
		TH_LOG("a queue not ready must not be used");
	ASSERT_EQ(sizeof(reply), discarded_at_reset(_metadata, &self->g))
		TH_LOG("the held bytes must have been kept until the reset");
}

TEST_F(rx, drain_port1_pending_rx_single_descriptor_happy_path)
{
	static const char reply[] = "snapshot reply payload bytes";
	__u64 gpa = vc_guest_alloc(&self->g, 64);

	start_open(_metadata, &self->g);
	vc_call_count(&self->g);
	vc_vq_add_buf(&self->g, KTSTR_VC_Q_PORT1_RX, gpa, 64, true);
	vc_kick(&self->g, KTSTR_VC_Q_PORT1_RX);
	host_write(_metadata, self->port1, reply, sizeof(reply));

	ASSERT_EQ(0, vc_wait_used(&self->g, KTSTR_VC_Q_PORT1_RX, 1, VC_WAIT_MS));
	ASSERT_EQ(sizeof(reply), vc_used_elem(&self->g, KTSTR_VC_Q_PORT1_RX, 0).len);
	ASSERT_EQ(0, memcmp(reply, vc_gpa_to_hva(&self->g, gpa), sizeof(reply)));
	ASSERT_EQ(0, vc_wait_call(&self->g, VC_WAIT_MS));
	ASSERT_EQ(VIRTIO_MMIO_INT_VRING, vc_isr(self->g.fd) & VIRTIO_MMIO_INT_VRING);
}

/* A chain whose second descriptor points past the end of guest RAM. */
static __u16 add_torn_chain(struct vc_guest *g, __u64 *valid)
{
	struct vc_buf_spec bufs[2] = {
		{ .gpa = vc_guest_alloc(g, 32), .len = 32, .write = true },
		{ .gpa = VC_GUEST_BASE + VC_GUEST_SIZE + 4096, .len = 32,
		  .write = true },
	};

	*valid = bufs[0].gpa;
	return vc_vq_add(g, KTSTR_VC_Q_PORT1_RX, bufs, 2);
}

static void payload64(__u8 *p)
{
	for (int i = 0; i < 64; i++)
		p[i] = i;
}

TEST_F(rx, drain_port1_pending_rx_torn_write_publishes_head_with_zero_len)
{
	__u8 payload[64], got[64];
	__u64 valid, gpa2;

	start_open(_metadata, &self->g);
	vc_call_count(&self->g);
	vc_vq_publish(&self->g, KTSTR_VC_Q_PORT1_RX,
		      add_torn_chain(&self->g, &valid));
	payload64(payload);
	host_write(_metadata, self->port1, payload, 64);

	ASSERT_EQ(0, vc_wait_used(&self->g, KTSTR_VC_Q_PORT1_RX, 1, VC_WAIT_MS));
	ASSERT_EQ(0, vc_used_elem(&self->g, KTSTR_VC_Q_PORT1_RX, 0).len)
		TH_LOG("a torn chain must come back with len 0");
	vc_settle();
	ASSERT_EQ(0, vc_call_count(&self->g))
		TH_LOG("a torn-only run wrote nothing: no call");
	ASSERT_EQ(1, vc_stat(self->g.fd, torn_writes));

	/* The bytes were kept: a good buffer gets all 64, in order. */
	gpa2 = vc_guest_alloc(&self->g, 64);
	vc_vq_add_buf(&self->g, KTSTR_VC_Q_PORT1_RX, gpa2, 64, true);
	vc_kick(&self->g, KTSTR_VC_Q_PORT1_RX);
	ASSERT_EQ(0, vc_wait_used(&self->g, KTSTR_VC_Q_PORT1_RX, 2, VC_WAIT_MS));
	ASSERT_EQ(64, vc_used_elem(&self->g, KTSTR_VC_Q_PORT1_RX, 1).len);
	memcpy(got, vc_gpa_to_hva(&self->g, gpa2), 64);
	ASSERT_EQ(0, memcmp(payload, got, 64));
}

TEST_F(rx, drain_port1_pending_rx_torn_write_breaks_drain_loop)
{
	__u8 payload[64];
	__u64 valid, gpa_b;

	start_open(_metadata, &self->g);
	vc_vq_publish(&self->g, KTSTR_VC_Q_PORT1_RX,
		      add_torn_chain(&self->g, &valid));
	gpa_b = vc_guest_alloc(&self->g, 32);
	vc_vq_add_buf(&self->g, KTSTR_VC_Q_PORT1_RX, gpa_b, 32, true);
	payload64(payload);
	host_write(_metadata, self->port1, payload, 64);

	ASSERT_EQ(0, vc_wait_used(&self->g, KTSTR_VC_Q_PORT1_RX, 1, VC_WAIT_MS));
	vc_settle();
	ASSERT_EQ(1, vc_used_idx(&self->g, KTSTR_VC_Q_PORT1_RX))
		TH_LOG("the torn chain must end the run before chain 1");
	for (int i = 0; i < 32; i++)
		ASSERT_EQ(0, ((__u8 *)vc_gpa_to_hva(&self->g, gpa_b))[i]);

	vc_kick(&self->g, KTSTR_VC_Q_PORT1_RX);
	ASSERT_EQ(0, vc_wait_used(&self->g, KTSTR_VC_Q_PORT1_RX, 2, VC_WAIT_MS));
	ASSERT_EQ(32, vc_used_elem(&self->g, KTSTR_VC_Q_PORT1_RX, 1).len);
	ASSERT_EQ(0, memcmp(payload, vc_gpa_to_hva(&self->g, gpa_b), 32))
		TH_LOG("chain 1 must hold the first 32 bytes, which were kept");
}

TEST_F(rx, drain_port1_pending_rx_torn_after_success_still_signals)
{
	__u8 payload[64];
	__u64 gpa_a, valid, gpa_c;

	start_open(_metadata, &self->g);
	vc_call_count(&self->g);
	gpa_a = vc_guest_alloc(&self->g, 32);
	vc_vq_add_buf(&self->g, KTSTR_VC_Q_PORT1_RX, gpa_a, 32, true);
	vc_vq_publish(&self->g, KTSTR_VC_Q_PORT1_RX,
		      add_torn_chain(&self->g, &valid));
	payload64(payload);
	host_write(_metadata, self->port1, payload, 64);

	ASSERT_EQ(0, vc_wait_used(&self->g, KTSTR_VC_Q_PORT1_RX, 2, VC_WAIT_MS));
	ASSERT_EQ(32, vc_used_elem(&self->g, KTSTR_VC_Q_PORT1_RX, 0).len);
	ASSERT_EQ(0, vc_used_elem(&self->g, KTSTR_VC_Q_PORT1_RX, 1).len);
	ASSERT_EQ(0, memcmp(payload, vc_gpa_to_hva(&self->g, gpa_a), 32));
	ASSERT_EQ(0, vc_wait_call(&self->g, VC_WAIT_MS))
		TH_LOG("chain 0 delivered bytes: the run must call");

	/* Exactly the undelivered suffix is still pending. */
	gpa_c = vc_guest_alloc(&self->g, 64);
	vc_vq_add_buf(&self->g, KTSTR_VC_Q_PORT1_RX, gpa_c, 64, true);
	vc_kick(&self->g, KTSTR_VC_Q_PORT1_RX);
	ASSERT_EQ(0, vc_wait_used(&self->g, KTSTR_VC_Q_PORT1_RX, 3, VC_WAIT_MS));
	ASSERT_EQ(32, vc_used_elem(&self->g, KTSTR_VC_Q_PORT1_RX, 2).len);
	ASSERT_EQ(0, memcmp(payload + 32, vc_gpa_to_hva(&self->g, gpa_c), 32));
}

/* 100 one-byte chains: 64 per run, the rest in a run of its own. */
TEST_F(rx, rx_chain_cap_requeues_without_kick)
{
	__u8 bytes[100];
	__u64 base = vc_guest_alloc(&self->g, 100);
	unsigned int i;

	ASSERT_EQ(0, vc_guest_start(&self->g, VC_ALL_QUEUES, 128,
				    VC_DEVICE_FEATURES, true));
	for (i = 0; i < 100; i++) {
		bytes[i] = i;
		vc_vq_add_buf(&self->g, KTSTR_VC_Q_PORT0_RX, base + i, 1, true);
	}
	host_write(_metadata, self->port0, bytes, 100);
	ASSERT_EQ(0, vc_wait_used(&self->g, KTSTR_VC_Q_PORT0_RX, 100,
				  VC_WAIT_MS))
		TH_LOG("got %u of 100 chains", vc_used_idx(&self->g, 0));
	ASSERT_EQ(0, memcmp(bytes, vc_gpa_to_hva(&self->g, base), 100));
	ASSERT_EQ(1,
		  vc_stat(self->g.fd, queue[KTSTR_VC_Q_PORT0_RX].weight_stops))
		TH_LOG("the first run must stop at 64 chains, with bytes left");
}

/*
 * Host bytes still queued when the guest resets a running device were
 * meant for the kernel that is going away: a stale 0xD3 would power the
 * next one off.  The reset forgets and counts them; the next guest gets
 * only what is written for it.
 */
TEST_F(rx, reset_of_running_device_discards_queued_host_bytes)
{
	static const __u8 wake = KTSTR_VC_WAKE_SHUTDOWN;
	__u64 gpa;

	ASSERT_EQ(0, vc_guest_start(&self->g, VC_ALL_QUEUES, VC_NUM,
				    VC_DEVICE_FEATURES, true));
	host_write(_metadata, self->port0, &wake, 1);
	vc_write32(self->g.fd, VIRTIO_MMIO_STATUS, 0);
	ASSERT_EQ(1, vc_stat(self->g.fd, rx_discarded))
		TH_LOG("the wake byte must be counted");

	ASSERT_EQ(0, vc_guest_start(&self->g, VC_ALL_QUEUES, VC_NUM,
				    VC_DEVICE_FEATURES, true));
	gpa = vc_guest_alloc(&self->g, 16);
	vc_vq_add_buf(&self->g, KTSTR_VC_Q_PORT0_RX, gpa, 16, true);
	host_write(_metadata, self->port0, "n", 1);
	ASSERT_EQ(0, vc_wait_used(&self->g, KTSTR_VC_Q_PORT0_RX, 1,
				  VC_WAIT_MS));
	ASSERT_EQ(1, vc_used_elem(&self->g, KTSTR_VC_Q_PORT0_RX, 0).len)
		TH_LOG("only the byte written after the reset may arrive");
	ASSERT_EQ('n', *(__u8 *)vc_gpa_to_hva(&self->g, gpa));
}

TEST_F(rx, port_write_nonblock_full_buffer_is_eagain)
{
	static char chunk[4096];
	size_t total = 0;
	ssize_t n;

	/* No guest: nothing drains, so the host buffer fills. */
	while ((n = write(self->port1, chunk, sizeof(chunk))) > 0)
		total += n;
	ASSERT_EQ(EAGAIN, errno);
	ASSERT_LT(0, total);
	ASSERT_GE(64u << 20, total);
}

TEST_HARNESS_MAIN
