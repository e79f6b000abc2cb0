// SPDX-License-Identifier: GPL-2.0
/*
 * The multiport control protocol (virtio 1.2 section 5.3.6.2) on c_ovq
 * (q3, guest -> host) and c_ivq (q2, host -> guest):
 *
 *   DEVICE_READY(1)  -> PORT_ADD for ports 0 and 1
 *   PORT_READY(0, 1) -> CONSOLE_PORT, PORT_NAME "ktstr-console", PORT_OPEN
 *   PORT_READY(1, 1) -> PORT_NAME "ktstr-bulk", PORT_OPEN
 *   PORT_OPEN(id, v) -> the guest side of port id is open iff v == 1
 *
 * Each message may arrive once per device lifetime; a repeat would let a
 * guest grow the host's outgoing queue, so it is refused.  That bounds
 * the outgoing queue at VC_CTRL_OUT_MAX.
 */
#include <linux/minmax.h>
#include <linux/string.h>
#include <linux/uio.h>
#include <linux/virtio_console.h>

#include "vconsole.h"

/* struct virtio_console_control, little endian under VERSION_1. */
struct vc_ctrl_wire {
	__le32 id;
	__le16 event;
	__le16 value;
};

#define VC_CTRL_NAME_MAX	32

void vc_ctrl_reset(struct vc_dev *dev)
{
	lockdep_assert_held(&dev->lock);
	memset(dev->port_ready, 0, sizeof(dev->port_ready));
	memset(dev->port_open, 0, sizeof(dev->port_open));
	dev->device_ready = false;
	dev->ctrl_head = 0;
	dev->ctrl_len = 0;
}

static void vc_ctrl_queue(struct vc_dev *dev, u32 id, u16 event,
			  const char *name)
{
	struct vc_ctrl_msg *msg;

	/* The once-only rules above make this unreachable; stay bounded. */
	if (WARN_ON_ONCE(dev->ctrl_len == VC_CTRL_OUT_MAX))
		return;
	msg = &dev->ctrl_out[(dev->ctrl_head + dev->ctrl_len) % VC_CTRL_OUT_MAX];
	msg->id = id;
	msg->event = event;
	msg->value = 1;
	msg->name = name;
	dev->ctrl_len++;
}

static void vc_ctrl_device_ready(struct vc_dev *dev, u16 value)
{
	unsigned int id;

	if (value != 1) {
		vc_reject(dev, &dev->stats.bad_control,
			  "DEVICE_READY with value %u", value);
		return;
	}
	if (dev->device_ready) {
		vc_reject(dev, &dev->stats.bad_control, "DEVICE_READY repeated");
		return;
	}
	dev->device_ready = true;
	for (id = 0; id < KTSTR_VC_NUM_PORTS; id++)
		vc_ctrl_queue(dev, id, VIRTIO_CONSOLE_PORT_ADD, NULL);
}

static void vc_ctrl_port_ready(struct vc_dev *dev, u32 id, u16 value)
{
	if (value == 0) {
		/* The guest's add_port() failed; the port will not work. */
		vc_reject(dev, &dev->stats.bad_control,
			  "guest failed to add port %u (PORT_READY 0)", id);
		return;
	}
	if (value != 1 || id >= KTSTR_VC_NUM_PORTS || dev->port_ready[id]) {
		vc_reject(dev, &dev->stats.bad_control,
			  "PORT_READY(%u, %u) refused", id, value);
		return;
	}
	dev->port_ready[id] = true;
	if (id == 0) {
		vc_ctrl_queue(dev, id, VIRTIO_CONSOLE_CONSOLE_PORT, NULL);
		vc_ctrl_queue(dev, id, VIRTIO_CONSOLE_PORT_NAME,
			      KTSTR_VC_PORT0_NAME);
	} else {
		vc_ctrl_queue(dev, id, VIRTIO_CONSOLE_PORT_NAME,
			      KTSTR_VC_PORT1_NAME);
	}
	vc_ctrl_queue(dev, id, VIRTIO_CONSOLE_PORT_OPEN, NULL);
}

static void vc_ctrl_port_open(struct vc_dev *dev, u32 id, u16 value)
{
	bool was_open;

	if (id >= KTSTR_VC_NUM_PORTS) {
		vc_reject(dev, &dev->stats.bad_control,
			  "PORT_OPEN for unknown port %u", id);
		return;
	}
	was_open = dev->port_open[id];
	dev->port_open[id] = value == 1;
	/* Host bytes held back for port 1 can go now. */
	if (id == 1 && dev->port_open[id] && !was_open)
		vc_queue_work(dev, KTSTR_VC_Q_PORT1_RX);
}

static void vc_ctrl_handle(struct vc_dev *dev, const struct vc_ctrl_wire *w)
{
	u32 id = le32_to_cpu(w->id);
	u16 event = le16_to_cpu(w->event);
	u16 value = le16_to_cpu(w->value);

	switch (event) {
	case VIRTIO_CONSOLE_DEVICE_READY:
		vc_ctrl_device_ready(dev, value);
		break;
	case VIRTIO_CONSOLE_PORT_READY:
		vc_ctrl_port_ready(dev, id, value);
		break;
	case VIRTIO_CONSOLE_PORT_OPEN:
		vc_ctrl_port_open(dev, id, value);
		break;
	default:
		vc_reject(dev, &dev->stats.bad_control,
			  "unexpected control event %u for port %u", event, id);
		break;
	}
}

/* Gather the first 8 readable bytes of the peeked chain. */
static u32 vc_ctrl_read(struct vc_dev *dev, struct vc_ctrl_wire *w)
{
	struct iov_iter from;

	if (dev->chain.bad)
		return 0;
	vc_chain_out_iter(&dev->chain, &from);
	return copy_from_iter(w, sizeof(*w), &from);
}

/* c_ovq: messages from the guest.  True if the run stopped at its weight. */
bool vc_handle_ctrl_tx(struct vc_dev *dev)
{
	unsigned int qi = KTSTR_VC_Q_CTRL_TX;
	struct vc_budget b = { 0 };
	struct vc_ctrl_wire w;
	u32 got;
	int ret;

	lockdep_assert_held(&dev->lock);
	if (!vc_queue_usable(dev, qi))
		return false;
	dev->stats.queue[qi].runs++;
	while ((ret = vc_vring_peek(dev, qi, &b)) > 0) {
		got = vc_ctrl_read(dev, &w);
		vc_budget_charge(&b, &dev->chain, got);
		vc_vring_consume(dev, qi, got);
		if (got == sizeof(w))
			vc_ctrl_handle(dev, &w);
		else
			vc_reject(dev, &dev->stats.bad_control,
				  "control message of %u bytes", got);
	}
	if (vc_vring_publish(dev, qi))
		vc_signal(dev, qi);
	return ret == -EAGAIN;
}

static size_t vc_ctrl_encode(const struct vc_ctrl_msg *msg, u8 *buf)
{
	struct vc_ctrl_wire w = {
		.id = cpu_to_le32(msg->id),
		.event = cpu_to_le16(msg->event),
		.value = cpu_to_le16(msg->value),
	};
	size_t len = sizeof(w);

	memcpy(buf, &w, sizeof(w));
	if (msg->name) {
		/* With its NUL, as QEMU sends it. */
		memcpy(buf + len, msg->name, strlen(msg->name) + 1);
		len += strlen(msg->name) + 1;
	}
	return len;
}

/* Scatter len bytes over the chain's writable part. */
static int vc_ctrl_write(const struct vc_chain *c, const u8 *buf, size_t len)
{
	struct iov_iter to;

	vc_chain_in_iter(c, &to);
	return copy_to_iter(buf, len, &to) == len ? 0 : -EFAULT;
}

/* Place the encoded head message in the peeked chain; <0 when torn. */
static int vc_ctrl_send_one(struct vc_dev *dev, const u8 *buf, size_t len)
{
	const struct vc_chain *c = &dev->chain;

	if (c->bad || c->bad_seg || vc_ctrl_write(c, buf, len)) {
		vc_reject(dev, &dev->stats.torn_writes,
			  "c_ivq head %u torn; message kept", c->head);
		vc_vring_consume(dev, KTSTR_VC_Q_CTRL_RX, 0);
		return -EFAULT;
	}
	vc_vring_consume(dev, KTSTR_VC_Q_CTRL_RX, len);
	dev->ctrl_head = (dev->ctrl_head + 1) % VC_CTRL_OUT_MAX;
	dev->ctrl_len--;
	return 0;
}

/* c_ivq: queued messages to the guest, one per chain. */
bool vc_handle_ctrl_rx(struct vc_dev *dev)
{
	unsigned int qi = KTSTR_VC_Q_CTRL_RX;
	u8 buf[sizeof(struct vc_ctrl_wire) + VC_CTRL_NAME_MAX];
	struct vc_budget b = { 0 };
	int ret = 0;

	lockdep_assert_held(&dev->lock);
	if (!dev->ctrl_len || !vc_queue_usable(dev, qi))
		return false;
	dev->stats.queue[qi].runs++;
	while (dev->ctrl_len && (ret = vc_vring_peek(dev, qi, &b)) > 0) {
		size_t need = vc_ctrl_encode(&dev->ctrl_out[dev->ctrl_head], buf);

		vc_budget_charge(&b, &dev->chain, need);
		/* A small chain may be followed by one that fits: go on. */
		if (!dev->chain.bad && dev->chain.in_room < need) {
			vc_reject(dev, &dev->stats.bad_control,
				  "c_ivq chain of %zu bytes too small for %zu",
				  dev->chain.in_room, need);
			vc_vring_consume(dev, qi, 0);
			continue;
		}
		if (vc_ctrl_send_one(dev, buf, need) < 0)
			break;
	}
	if (vc_vring_publish(dev, qi))
		vc_signal(dev, qi);
	return ret == -EAGAIN;
}
