// SPDX-License-Identifier: GPL-2.0
/*
 * The multiport control protocol on c_ovq (q3) and c_ivq (q2), message by
 * message, as the reference device answers it.
 */
#include "vc_guest_test.h"

FIXTURE(ctrl) {
	struct vc_guest g;
};

FIXTURE_SETUP(ctrl)
{
	VC_GUEST_FIXTURE_SETUP(self);
	ASSERT_EQ(0, vc_guest_start(&self->g, VC_ALL_QUEUES, VC_NUM,
				    VC_DEVICE_FEATURES, true));
}

FIXTURE_TEARDOWN(ctrl)
{
	vc_guest_fini(&self->g);
}

/* Send one message from the guest and wait until the device took it. */
static void send(struct __test_metadata *_metadata, struct vc_guest *g,
		 __u32 id, __u16 event, __u16 value)
{
	__u16 want = g->vq[KTSTR_VC_Q_CTRL_TX].avail_idx + 1;

	vc_ctrl_send(g, id, event, value);
	ASSERT_EQ(0, vc_wait_used(g, KTSTR_VC_Q_CTRL_TX, want, VC_WAIT_MS))
		TH_LOG("c_ovq message (event %u) not taken", event);
}

/* The next message the device sent, which must be event for port id. */
static void expect(struct __test_metadata *_metadata, struct vc_guest *g,
		   __u32 id, __u16 event, const char *name)
{
	struct vc_ctrl msg;
	char got_name[64];
	int len;

	len = vc_ctrl_recv(g, &msg, got_name, sizeof(got_name), VC_WAIT_MS);
	ASSERT_LT(0, len) TH_LOG("expected event %u for port %u, got nothing",
				 event, id);
	ASSERT_EQ(event, msg.event);
	ASSERT_EQ(id, msg.id);
	ASSERT_EQ(1, msg.value);
	if (name) {
		ASSERT_EQ(sizeof(msg) + strlen(name) + 1, (size_t)len)
			TH_LOG("PORT_NAME carries the name and its NUL");
		ASSERT_STREQ(name, got_name);
	} else {
		ASSERT_EQ(sizeof(msg), (size_t)len);
	}
}

static void expect_nothing(struct __test_metadata *_metadata,
			   struct vc_guest *g)
{
	struct vc_ctrl msg;

	vc_settle();
	ASSERT_EQ(-ETIMEDOUT, vc_ctrl_recv(g, &msg, NULL, 0, 0))
		TH_LOG("unexpected event %u for port %u", msg.event, msg.id);
}

TEST_F(ctrl, handle_device_ready_enqueues_port_adds)
{
	vc_ctrl_post_rx(&self->g, 8, 64);
	send(_metadata, &self->g, 0xffffffff, VIRTIO_CONSOLE_DEVICE_READY, 1);
	expect(_metadata, &self->g, 0, VIRTIO_CONSOLE_PORT_ADD, NULL);
	expect(_metadata, &self->g, 1, VIRTIO_CONSOLE_PORT_ADD, NULL);
	expect_nothing(_metadata, &self->g);
}

TEST_F(ctrl, handle_device_ready_repeat_ignored)
{
	vc_ctrl_post_rx(&self->g, 8, 64);
	send(_metadata, &self->g, 0, VIRTIO_CONSOLE_DEVICE_READY, 1);
	expect(_metadata, &self->g, 0, VIRTIO_CONSOLE_PORT_ADD, NULL);
	expect(_metadata, &self->g, 1, VIRTIO_CONSOLE_PORT_ADD, NULL);
	send(_metadata, &self->g, 0, VIRTIO_CONSOLE_DEVICE_READY, 1);
	expect_nothing(_metadata, &self->g);
	ASSERT_EQ(1, vc_stat(self->g.fd, bad_control));
}

TEST_F(ctrl, handle_device_ready_value_zero_ignored)
{
	vc_ctrl_post_rx(&self->g, 8, 64);
	send(_metadata, &self->g, 0, VIRTIO_CONSOLE_DEVICE_READY, 0);
	expect_nothing(_metadata, &self->g);
	ASSERT_EQ(1, vc_stat(self->g.fd, bad_control));
}

TEST_F(ctrl, handle_port_ready_port0_console_announce)
{
	vc_ctrl_post_rx(&self->g, 8, 64);
	send(_metadata, &self->g, 0, VIRTIO_CONSOLE_PORT_READY, 1);
	expect(_metadata, &self->g, 0, VIRTIO_CONSOLE_CONSOLE_PORT, NULL);
	expect(_metadata, &self->g, 0, VIRTIO_CONSOLE_PORT_NAME,
	       KTSTR_VC_PORT0_NAME);
	expect(_metadata, &self->g, 0, VIRTIO_CONSOLE_PORT_OPEN, NULL);
	expect_nothing(_metadata, &self->g);
}

TEST_F(ctrl, handle_port_ready_port1_name_then_open)
{
	vc_ctrl_post_rx(&self->g, 8, 64);
	send(_metadata, &self->g, 1, VIRTIO_CONSOLE_PORT_READY, 1);
	expect(_metadata, &self->g, 1, VIRTIO_CONSOLE_PORT_NAME,
	       KTSTR_VC_PORT1_NAME);
	expect(_metadata, &self->g, 1, VIRTIO_CONSOLE_PORT_OPEN, NULL);
	expect_nothing(_metadata, &self->g);
}

TEST_F(ctrl, handle_port_ready_repeat_ignored_port0)
{
	vc_ctrl_post_rx(&self->g, 8, 64);
	send(_metadata, &self->g, 0, VIRTIO_CONSOLE_PORT_READY, 1);
	expect(_metadata, &self->g, 0, VIRTIO_CONSOLE_CONSOLE_PORT, NULL);
	expect(_metadata, &self->g, 0, VIRTIO_CONSOLE_PORT_NAME,
	       KTSTR_VC_PORT0_NAME);
	expect(_metadata, &self->g, 0, VIRTIO_CONSOLE_PORT_OPEN, NULL);
	send(_metadata, &self->g, 0, VIRTIO_CONSOLE_PORT_READY, 1);
	expect_nothing(_metadata, &self->g);
	ASSERT_EQ(1, vc_stat(self->g.fd, bad_control));
}

TEST_F(ctrl, handle_port_ready_repeat_ignored_port1)
{
	vc_ctrl_post_rx(&self->g, 8, 64);
	send(_metadata, &self->g, 1, VIRTIO_CONSOLE_PORT_READY, 1);
	expect(_metadata, &self->g, 1, VIRTIO_CONSOLE_PORT_NAME,
	       KTSTR_VC_PORT1_NAME);
	expect(_metadata, &self->g, 1, VIRTIO_CONSOLE_PORT_OPEN, NULL);
	send(_metadata, &self->g, 1, VIRTIO_CONSOLE_PORT_READY, 1);
	expect_nothing(_metadata, &self->g);
	ASSERT_EQ(1, vc_stat(self->g.fd, bad_control));
}

TEST_F(ctrl, handle_port_ready_per_port_not_global)
{
	vc_ctrl_post_rx(&self->g, 8, 64);
	send(_metadata, &self->g, 0, VIRTIO_CONSOLE_PORT_READY, 1);
	send(_metadata, &self->g, 1, VIRTIO_CONSOLE_PORT_READY, 1);
	expect(_metadata, &self->g, 0, VIRTIO_CONSOLE_CONSOLE_PORT, NULL);
	expect(_metadata, &self->g, 0, VIRTIO_CONSOLE_PORT_NAME,
	       KTSTR_VC_PORT0_NAME);
	expect(_metadata, &self->g, 0, VIRTIO_CONSOLE_PORT_OPEN, NULL);
	expect(_metadata, &self->g, 1, VIRTIO_CONSOLE_PORT_NAME,
	       KTSTR_VC_PORT1_NAME);
	expect(_metadata, &self->g, 1, VIRTIO_CONSOLE_PORT_OPEN, NULL);
	ASSERT_EQ(0, vc_stat(self->g.fd, bad_control));
}

TEST_F(ctrl, handle_port_ready_value_zero_skipped)
{
	vc_ctrl_post_rx(&self->g, 8, 64);
	send(_metadata, &self->g, 0, VIRTIO_CONSOLE_PORT_READY, 0);
	expect_nothing(_metadata, &self->g);
	ASSERT_EQ(1, vc_stat(self->g.fd, bad_control))
		TH_LOG("the guest's add_port failure is counted");
}

TEST_F(ctrl, handle_port_ready_value_zero_then_one_completes)
{
	vc_ctrl_post_rx(&self->g, 8, 64);
	send(_metadata, &self->g, 0, VIRTIO_CONSOLE_PORT_READY, 0);
	send(_metadata, &self->g, 0, VIRTIO_CONSOLE_PORT_READY, 1);
	expect(_metadata, &self->g, 0, VIRTIO_CONSOLE_CONSOLE_PORT, NULL);
	expect(_metadata, &self->g, 0, VIRTIO_CONSOLE_PORT_NAME,
	       KTSTR_VC_PORT0_NAME);
	expect(_metadata, &self->g, 0, VIRTIO_CONSOLE_PORT_OPEN, NULL);
}

TEST_F(ctrl, handle_port_ready_unknown_port_ignored)
{
	vc_ctrl_post_rx(&self->g, 8, 64);
	send(_metadata, &self->g, 2, VIRTIO_CONSOLE_PORT_READY, 1);
	send(_metadata, &self->g, 99, VIRTIO_CONSOLE_PORT_READY, 1);
	expect_nothing(_metadata, &self->g);
	ASSERT_EQ(2, vc_stat(self->g.fd, bad_control));
	/* The real ports are untouched: port 1 still announces. */
	send(_metadata, &self->g, 1, VIRTIO_CONSOLE_PORT_READY, 1);
	expect(_metadata, &self->g, 1, VIRTIO_CONSOLE_PORT_NAME,
	       KTSTR_VC_PORT1_NAME);
}

TEST_F(ctrl, handle_port_open_tracks_state)
{
	static const char a[] = "A", b[] = "B";
	__u64 buf1 = vc_guest_alloc(&self->g, 16);
	__u64 buf2 = vc_guest_alloc(&self->g, 16);
	int w = vc_port_open(0, 1, O_WRONLY);

	ASSERT_LE(0, w);
	vc_vq_add_buf(&self->g, KTSTR_VC_Q_PORT1_RX, buf1, 16, true);
	vc_vq_add_buf(&self->g, KTSTR_VC_Q_PORT1_RX, buf2, 16, true);
	send(_metadata, &self->g, 1, VIRTIO_CONSOLE_PORT_OPEN, 1);
	ASSERT_EQ(1, write(w, a, 1));
	ASSERT_EQ(0, vc_wait_used(&self->g, KTSTR_VC_Q_PORT1_RX, 1, VC_WAIT_MS))
		TH_LOG("open port 1 must receive");

	send(_metadata, &self->g, 1, VIRTIO_CONSOLE_PORT_OPEN, 0);
	ASSERT_EQ(1, write(w, b, 1));
	vc_settle();
	ASSERT_EQ(1, vc_used_idx(&self->g, KTSTR_VC_Q_PORT1_RX))
		TH_LOG("closed port 1 must hold host bytes");

	send(_metadata, &self->g, 1, VIRTIO_CONSOLE_PORT_OPEN, 1);
	ASSERT_EQ(0, vc_wait_used(&self->g, KTSTR_VC_Q_PORT1_RX, 2, VC_WAIT_MS))
		TH_LOG("reopening must flush the held byte");
	ASSERT_EQ('B', *(char *)vc_gpa_to_hva(&self->g, buf2));
	close(w);
}

TEST_F(ctrl, handle_port_open_unknown_port_ignored)
{
	send(_metadata, &self->g, 2, VIRTIO_CONSOLE_PORT_OPEN, 1);
	send(_metadata, &self->g, 0xffffffff, VIRTIO_CONSOLE_PORT_OPEN, 1);
	ASSERT_EQ(2, vc_stat(self->g.fd, bad_control));
}

TEST_F(ctrl, handle_unhandled_event_absorbed)
{
	static const __u16 events[] = {
		VIRTIO_CONSOLE_PORT_ADD, VIRTIO_CONSOLE_PORT_REMOVE,
		VIRTIO_CONSOLE_CONSOLE_PORT, VIRTIO_CONSOLE_RESIZE,
		VIRTIO_CONSOLE_PORT_NAME, 0xBEEF,
	};
	unsigned int i;

	vc_ctrl_post_rx(&self->g, 8, 64);
	for (i = 0; i < 6; i++)
		send(_metadata, &self->g, 0, events[i], 1);
	expect_nothing(_metadata, &self->g);
	ASSERT_EQ(6, vc_stat(self->g.fd, bad_control));
	/* No flag was flipped: DEVICE_READY still works once. */
	send(_metadata, &self->g, 0, VIRTIO_CONSOLE_DEVICE_READY, 1);
	expect(_metadata, &self->g, 0, VIRTIO_CONSOLE_PORT_ADD, NULL);
}

TEST_F(ctrl, c_ovq_short_message_refused_and_returned)
{
	__u32 half = 0;

	vc_vq_add_buf(&self->g, KTSTR_VC_Q_CTRL_TX,
		      vc_guest_put(&self->g, &half, 4), 4, false);
	vc_kick(&self->g, KTSTR_VC_Q_CTRL_TX);
	ASSERT_EQ(0, vc_wait_used(&self->g, KTSTR_VC_Q_CTRL_TX, 1, VC_WAIT_MS));
	ASSERT_EQ(4, vc_used_elem(&self->g, KTSTR_VC_Q_CTRL_TX, 0).len);
	ASSERT_EQ(1, vc_stat(self->g.fd, bad_control));
}

TEST_F(ctrl, c_ovq_used_len_is_message_size)
{
	send(_metadata, &self->g, 0, VIRTIO_CONSOLE_DEVICE_READY, 1);
	ASSERT_EQ(8, vc_used_elem(&self->g, KTSTR_VC_Q_CTRL_TX, 0).len);
}

TEST_F(ctrl, c_ivq_too_small_chain_returned_with_len_0_next_tried)
{
	struct vc_ctrl msg;

	vc_ctrl_post_rx(&self->g, 1, 4);	/* too small for 8 bytes */
	vc_ctrl_post_rx(&self->g, 2, 64);
	send(_metadata, &self->g, 0, VIRTIO_CONSOLE_DEVICE_READY, 1);
	ASSERT_EQ(0, vc_ctrl_recv(&self->g, &msg, NULL, 0, VC_WAIT_MS))
		TH_LOG("the small chain comes back empty");
	expect(_metadata, &self->g, 0, VIRTIO_CONSOLE_PORT_ADD, NULL);
	expect(_metadata, &self->g, 1, VIRTIO_CONSOLE_PORT_ADD, NULL);
}

TEST_F(ctrl, c_ivq_messages_wait_for_buffers)
{
	send(_metadata, &self->g, 0, VIRTIO_CONSOLE_DEVICE_READY, 1);
	vc_settle();
	vc_ctrl_post_rx(&self->g, 4, 64);
	expect(_metadata, &self->g, 0, VIRTIO_CONSOLE_PORT_ADD, NULL);
	expect(_metadata, &self->g, 1, VIRTIO_CONSOLE_PORT_ADD, NULL);
}

TEST_F(ctrl, c_ivq_torn_chain_keeps_message)
{
	struct vc_buf_spec bad = {
		.gpa = VC_GUEST_BASE + VC_GUEST_SIZE, .len = 64, .write = true,
	};
	struct vc_ctrl msg;

	vc_vq_publish(&self->g, KTSTR_VC_Q_CTRL_RX,
		      vc_vq_add(&self->g, KTSTR_VC_Q_CTRL_RX, &bad, 1));
	send(_metadata, &self->g, 0, VIRTIO_CONSOLE_DEVICE_READY, 1);
	ASSERT_EQ(0, vc_ctrl_recv(&self->g, &msg, NULL, 0, VC_WAIT_MS));
	vc_ctrl_post_rx(&self->g, 2, 64);
	expect(_metadata, &self->g, 0, VIRTIO_CONSOLE_PORT_ADD, NULL);
	expect(_metadata, &self->g, 1, VIRTIO_CONSOLE_PORT_ADD, NULL);
}

/* 40 messages in one kick: 32 in the first run, 8 in a run of its own. */
TEST_F(ctrl, c_ovq_chain_cap_requeues_without_kick)
{
	struct vc_ctrl msg = { .id = 0, .event = VIRTIO_CONSOLE_RESIZE };
	unsigned int i;

	vc_guest_fini(&self->g);
	ASSERT_EQ(0, vc_guest_init(&self->g, 0));
	ASSERT_EQ(0, vc_guest_start(&self->g, VC_ALL_QUEUES, 64,
				    VC_DEVICE_FEATURES, true));
	for (i = 0; i < 40; i++)
		vc_vq_add_buf(&self->g, KTSTR_VC_Q_CTRL_TX,
			      vc_guest_put(&self->g, &msg, sizeof(msg)),
			      sizeof(msg), false);
	vc_kick(&self->g, KTSTR_VC_Q_CTRL_TX);
	ASSERT_EQ(0, vc_wait_used(&self->g, KTSTR_VC_Q_CTRL_TX, 40, VC_WAIT_MS));
	ASSERT_EQ(40, vc_stat(self->g.fd, bad_control));
	ASSERT_EQ(1,
		  vc_stat(self->g.fd, queue[KTSTR_VC_Q_CTRL_TX].weight_stops))
		TH_LOG("the first run must stop at 32 chains, with 8 waiting");
}

TEST_F(ctrl, handshake_completes_like_linux_driver)
{
	ASSERT_EQ(0, vc_guest_handshake(&self->g));
	ASSERT_EQ(0, vc_stat(self->g.fd, bad_control));
}

TEST_F(ctrl, reset_clears_control_state)
{
	ASSERT_EQ(0, vc_guest_handshake(&self->g));
	vc_write32(self->g.fd, VIRTIO_MMIO_STATUS, 0);
	self->g.brk = KTSTR_VC_NUM_QUEUES * 0x4000;
	ASSERT_EQ(0, vc_guest_start(&self->g, VC_ALL_QUEUES, VC_NUM,
				    VC_DEVICE_FEATURES, true));
	ASSERT_EQ(0, vc_guest_handshake(&self->g))
		TH_LOG("after reset the handshake must run again from scratch");
	ASSERT_EQ(0, vc_stat(self->g.fd, bad_control));
}

TEST_HARNESS_MAIN
