// SPDX-License-Identifier: GPL-2.0
/*
 * A hostile guest: rings and descriptors that point anywhere, chains that
 * loop, indices that jump.  Each is refused, counted, and leaves the
 * queue working for the next honest chain.
 */
#include "vc_guest_test.h"

#define Q	KTSTR_VC_Q_PORT1_TX

FIXTURE(hostile) {
	struct vc_guest g;
	int port1;
};

FIXTURE_SETUP(hostile)
{
	char buf[4096];

	VC_GUEST_FIXTURE_SETUP(self);
	ASSERT_EQ(0, vc_guest_start(&self->g, VC_ALL_QUEUES, VC_NUM,
				    VC_DEVICE_FEATURES, true));
	self->port1 = vc_port_open(0, 1, O_RDONLY | O_NONBLOCK);
	ASSERT_LE(0, self->port1);
	while (read(self->port1, buf, sizeof(buf)) > 0)
		;
}

FIXTURE_TEARDOWN(hostile)
{
	close(self->port1);
	vc_guest_fini(&self->g);
}

/*
 * Evidence that the run which met the broken ring is over: the refusal
 * is counted inside the run, under the lock GET_STATS takes.
 */
static __u64 _wait_bad_ring(struct __test_metadata *_metadata,
			    struct vc_guest *g)
{
	__s64 end = vc_now_ms() + VC_WAIT_MS;

	while (!vc_stat(g->fd, bad_ring) && vc_now_ms() < end)
		usleep(1000);
	return vc_stat(g->fd, bad_ring);
}

#define wait_bad_ring(g)	_wait_bad_ring(_metadata, g)

/* After the bad chain, an honest one must still go through. */
static void honest_chain_works(struct __test_metadata *_metadata,
			       struct vc_guest *g, int port1)
{
	static const char msg[] = "still working";
	__u16 want = g->vq[Q].avail_idx + 1;
	char got[sizeof(msg)];

	vc_vq_add_buf(g, Q, vc_guest_put(g, msg, sizeof(msg)), sizeof(msg),
		      false);
	vc_kick(g, Q);
	ASSERT_EQ(0, vc_wait_used(g, Q, want, VC_WAIT_MS));
	ASSERT_EQ(sizeof(msg), vc_port_read_all(port1, got, sizeof(got),
						VC_WAIT_MS));
	ASSERT_EQ(0, memcmp(msg, got, sizeof(msg)));
}

TEST_F(hostile, tx_descriptor_outside_guest_memory_refused)
{
	vc_vq_add_buf(&self->g, Q, VC_GUEST_BASE + VC_GUEST_SIZE, 64, false);
	vc_kick(&self->g, Q);
	ASSERT_EQ(0, vc_wait_used(&self->g, Q, 1, VC_WAIT_MS))
		TH_LOG("the bad chain must come back, not leak");
	ASSERT_EQ(0, vc_port_pending(self->port1));
	ASSERT_EQ(1, vc_stat(self->g.fd, bad_desc));
	honest_chain_works(_metadata, &self->g, self->port1);
}

TEST_F(hostile, tx_descriptor_below_guest_memory_refused)
{
	vc_vq_add_buf(&self->g, Q, 0x1000, 64, false);
	vc_kick(&self->g, Q);
	ASSERT_EQ(0, vc_wait_used(&self->g, Q, 1, VC_WAIT_MS));
	ASSERT_EQ(0, vc_port_pending(self->port1));
	ASSERT_EQ(1, vc_stat(self->g.fd, bad_desc));
}

TEST_F(hostile, tx_descriptor_straddling_memory_end_refused)
{
	vc_vq_add_buf(&self->g, Q, VC_GUEST_BASE + VC_GUEST_SIZE - 16, 64,
		      false);
	vc_kick(&self->g, Q);
	ASSERT_EQ(0, vc_wait_used(&self->g, Q, 1, VC_WAIT_MS));
	ASSERT_EQ(0, vc_port_pending(self->port1));
	ASSERT_EQ(1, vc_stat(self->g.fd, bad_desc));
}

TEST_F(hostile, tx_descriptor_address_wrapping_refused)
{
	vc_vq_add_buf(&self->g, Q, 0xfffffffffffff000ull, 0x2000, false);
	vc_kick(&self->g, Q);
	ASSERT_EQ(0, vc_wait_used(&self->g, Q, 1, VC_WAIT_MS));
	ASSERT_EQ(1, vc_stat(self->g.fd, bad_desc));
	honest_chain_works(_metadata, &self->g, self->port1);
}

TEST_F(hostile, looping_chain_refused)
{
	struct vc_vq *vq = &self->g.vq[Q];
	__u64 gpa = vc_guest_put(&self->g, "loop", 4);

	vq->desc[0] = (struct vring_desc){ .addr = gpa, .len = 4,
		.flags = VRING_DESC_F_NEXT, .next = 1 };
	vq->desc[1] = (struct vring_desc){ .addr = gpa, .len = 4,
		.flags = VRING_DESC_F_NEXT, .next = 0 };
	vq->next_desc = 2;
	vc_vq_publish(&self->g, Q, 0);
	vc_kick(&self->g, Q);
	ASSERT_EQ(0, vc_wait_used(&self->g, Q, 1, VC_WAIT_MS));
	ASSERT_EQ(0, vc_port_pending(self->port1))
		TH_LOG("no bytes of a malformed chain");
	ASSERT_EQ(1, vc_stat(self->g.fd, bad_chain));
	honest_chain_works(_metadata, &self->g, self->port1);
}

TEST_F(hostile, chain_longer_than_queue_refused)
{
	struct vc_buf_spec bufs[VC_NUM];
	struct vc_vq *vq = &self->g.vq[Q];
	__u64 gpa = vc_guest_put(&self->g, "x", 1);
	unsigned int i;

	for (i = 0; i < VC_NUM; i++)
		bufs[i] = (struct vc_buf_spec){ .gpa = gpa, .len = 1 };
	vc_vq_add(&self->g, Q, bufs, VC_NUM);
	/* Make the last one point back to the first: 17 and counting. */
	vq->desc[VC_NUM - 1].flags = VRING_DESC_F_NEXT;
	vq->desc[VC_NUM - 1].next = 0;
	vc_vq_publish(&self->g, Q, 0);
	vc_kick(&self->g, Q);
	ASSERT_EQ(0, vc_wait_used(&self->g, Q, 1, VC_WAIT_MS));
	ASSERT_EQ(0, vc_port_pending(self->port1));
	ASSERT_EQ(1, vc_stat(self->g.fd, bad_chain));
}

TEST_F(hostile, chain_of_exactly_queue_size_accepted)
{
	struct vc_buf_spec bufs[VC_NUM];
	__u64 gpa = vc_guest_put(&self->g, "abcdefghijklmnop", VC_NUM);
	char got[VC_NUM];
	unsigned int i;

	for (i = 0; i < VC_NUM; i++)
		bufs[i] = (struct vc_buf_spec){ .gpa = gpa + i, .len = 1 };
	vc_vq_publish(&self->g, Q, vc_vq_add(&self->g, Q, bufs, VC_NUM));
	vc_kick(&self->g, Q);
	ASSERT_EQ(VC_NUM, vc_port_read_all(self->port1, got, VC_NUM,
					   VC_WAIT_MS));
	ASSERT_EQ(0, memcmp("abcdefghijklmnop", got, VC_NUM));
	ASSERT_EQ(0, vc_stat(self->g.fd, bad_chain));
}

TEST_F(hostile, next_index_out_of_range_refused)
{
	struct vc_vq *vq = &self->g.vq[Q];
	__u64 gpa = vc_guest_put(&self->g, "next", 4);

	vq->desc[0] = (struct vring_desc){ .addr = gpa, .len = 4,
		.flags = VRING_DESC_F_NEXT, .next = VC_NUM + 3 };
	vq->next_desc = 1;
	vc_vq_publish(&self->g, Q, 0);
	vc_kick(&self->g, Q);
	ASSERT_EQ(0, vc_wait_used(&self->g, Q, 1, VC_WAIT_MS));
	ASSERT_EQ(0, vc_port_pending(self->port1));
	ASSERT_EQ(1, vc_stat(self->g.fd, bad_chain));
	honest_chain_works(_metadata, &self->g, self->port1);
}

TEST_F(hostile, indirect_descriptor_refused)
{
	struct vc_vq *vq = &self->g.vq[Q];
	__u64 table = vc_guest_alloc(&self->g, 16);

	vq->desc[0] = (struct vring_desc){ .addr = table, .len = 16,
		.flags = VRING_DESC_F_INDIRECT };
	vq->next_desc = 1;
	vc_vq_publish(&self->g, Q, 0);
	vc_kick(&self->g, Q);
	ASSERT_EQ(0, vc_wait_used(&self->g, Q, 1, VC_WAIT_MS));
	ASSERT_EQ(1, vc_stat(self->g.fd, bad_chain));
	honest_chain_works(_metadata, &self->g, self->port1);
}

TEST_F(hostile, head_index_out_of_range_refused)
{
	struct vc_vq *vq = &self->g.vq[Q];

	vq->avail->ring[0] = VC_NUM + 5;
	__atomic_store_n(&vq->avail->idx, 1, __ATOMIC_RELEASE);
	vc_kick(&self->g, Q);
	ASSERT_EQ(1, wait_bad_ring(&self->g));
	ASSERT_EQ(0, vc_used_idx(&self->g, Q));
}

TEST_F(hostile, avail_index_jump_beyond_queue_size_refused)
{
	struct vc_vq *vq = &self->g.vq[Q];

	__atomic_store_n(&vq->avail->idx, VC_NUM + 1, __ATOMIC_RELEASE);
	vc_kick(&self->g, Q);
	ASSERT_EQ(1, wait_bad_ring(&self->g));
	ASSERT_EQ(0, vc_used_idx(&self->g, Q));
	ASSERT_EQ(0, vc_port_pending(self->port1));
}

TEST_F(hostile, rings_outside_guest_memory_refused)
{
	vc_write32(self->g.fd, VIRTIO_MMIO_STATUS, 0);
	vc_negotiate(self->g.fd, VC_DEVICE_FEATURES);
	vc_setup_queue(self->g.fd, Q, VC_NUM, 0x1000, 0x2000, 0x3000);
	vc_walk_status(self->g.fd, VC_S_OK);
	vc_kick(&self->g, Q);
	ASSERT_EQ(1, wait_bad_ring(&self->g));
}

TEST_F(hostile, misaligned_rings_refused)
{
	vc_write32(self->g.fd, VIRTIO_MMIO_STATUS, 0);
	vc_negotiate(self->g.fd, VC_DEVICE_FEATURES);
	vc_setup_queue(self->g.fd, Q, VC_NUM, VC_GUEST_BASE + 8,
		       VC_GUEST_BASE + 0x1001,
		       VC_GUEST_BASE + 0x2002);
	vc_walk_status(self->g.fd, VC_S_OK);
	vc_kick(&self->g, Q);
	ASSERT_EQ(1, wait_bad_ring(&self->g));
}

TEST_F(hostile, port1_chain_of_512k_taken_whole)
{
	struct vc_buf_spec bufs[VC_NUM];
	__u64 gpa = vc_guest_alloc(&self->g, 32 * 1024);
	unsigned int i;

	/* 16 descriptors of 32 KiB each: the most a 16-entry queue offers. */
	for (i = 0; i < VC_NUM; i++)
		bufs[i] = (struct vc_buf_spec){ .gpa = gpa, .len = 32 * 1024 };
	vc_vq_publish(&self->g, Q, vc_vq_add(&self->g, Q, bufs, VC_NUM));
	vc_kick(&self->g, Q);
	ASSERT_EQ(0, vc_wait_used(&self->g, Q, 1, VC_WAIT_MS));
	ASSERT_EQ(512 * 1024, vc_port_pending(self->port1))
		TH_LOG("a chain that fits the buffer is taken whole");
}

TEST_F(hostile, notify_for_queue_beyond_six_refused)
{
	vc_write32(self->g.fd, VIRTIO_MMIO_QUEUE_NOTIFY, 6);
	vc_write32(self->g.fd, VIRTIO_MMIO_QUEUE_NOTIFY, 0xffff);
	ASSERT_EQ(2, vc_stat(self->g.fd, bad_notify));
}

TEST_F(hostile, rx_descriptor_outside_memory_is_torn_not_written)
{
	static const char msg[] = "never lost";
	int w = vc_port_open(0, 0, O_WRONLY);
	__u64 gpa;

	ASSERT_LE(0, w);
	vc_vq_add_buf(&self->g, KTSTR_VC_Q_PORT0_RX,
		      VC_GUEST_BASE + VC_GUEST_SIZE - 4, 64, true);
	ASSERT_EQ((ssize_t)sizeof(msg), write(w, msg, sizeof(msg)));
	ASSERT_EQ(0, vc_wait_used(&self->g, KTSTR_VC_Q_PORT0_RX, 1,
				  VC_WAIT_MS));
	ASSERT_EQ(0, vc_used_elem(&self->g, KTSTR_VC_Q_PORT0_RX, 0).len);
	gpa = vc_guest_alloc(&self->g, 64);
	vc_vq_add_buf(&self->g, KTSTR_VC_Q_PORT0_RX, gpa, 64, true);
	vc_kick(&self->g, KTSTR_VC_Q_PORT0_RX);
	ASSERT_EQ(0, vc_wait_used(&self->g, KTSTR_VC_Q_PORT0_RX, 2,
				  VC_WAIT_MS));
	ASSERT_EQ(0, memcmp(msg, vc_gpa_to_hva(&self->g, gpa), sizeof(msg)));
	close(w);
}

TEST_HARNESS_MAIN
