// SPDX-License-Identifier: GPL-2.0
/*
 * The guest side of the two ports: TX chains (guest -> host) into the
 * port's host buffer, host bytes into RX chains (host -> guest).
 *
 * Port 1 never drops: a TX chain that does not fit stays in the avail ring
 * (the guest writer sleeps in wait_port_writable) until the reader makes
 * room.  Port 0 never holds the guest back, because the guest's hvc path
 * spins until each buffer comes back: its TX is always consumed and the
 * oldest console bytes give way, counted.
 */
#include <linux/minmax.h>
#include <linux/virtio_mmio.h>

#include "vconsole.h"

static unsigned int vc_txq(unsigned int port_id)
{
	return port_id ? KTSTR_VC_Q_PORT1_TX : KTSTR_VC_Q_PORT0_TX;
}

static unsigned int vc_rxq(unsigned int port_id)
{
	return port_id ? KTSTR_VC_Q_PORT1_RX : KTSTR_VC_Q_PORT0_RX;
}

/* Bytes the chain offers the device: its readable, mapped segments. */
static size_t vc_chain_tx_bytes(const struct vc_chain *c)
{
	size_t n = 0;
	unsigned int i;

	for (i = 0; i < c->nsegs; i++)
		if (!c->seg[i].write && c->seg[i].uaddr)
			n += c->seg[i].len;
	return n;
}

/* Port 0: make room for n bytes by letting the oldest ones go. */
static size_t vc_port0_make_room(struct vc_dev *dev, struct vc_port *port,
				 size_t n)
{
	size_t skip = n > port->tx.size ? n - port->tx.size : 0;
	size_t space = vc_buf_space(&port->tx);
	size_t drop = 0;

	if (n - skip > space) {
		drop = n - skip - space;
		vc_buf_consume(&port->tx, drop);
	}
	port->dropped += skip + drop;
	dev->stats.port0_dropped += skip + drop;
	return skip;
}

/* Copy the chain's bytes (less the first skip) into the host buffer. */
static int vc_tx_store(struct vc_dev *dev, struct vc_port *port, size_t skip)
{
	const struct vc_chain *c = &dev->chain;
	size_t off = 0;
	unsigned int i;

	for (i = 0; i < c->nsegs; i++) {
		const struct vc_seg *seg = &c->seg[i];
		const void __user *src = seg->uaddr;
		size_t len = seg->len;
		size_t s;

		if (seg->write || !src)
			continue;
		s = min(skip, len);
		skip -= s;
		if (len == s)
			continue;
		if (vc_buf_store_user(&port->tx, off, src + s, len - s)) {
			vc_reject(dev, &dev->stats.bad_desc,
				  "port %u TX head %u unreadable", port->id,
				  c->head);
			return -EFAULT;
		}
		off += len - s;
	}
	vc_buf_commit(&port->tx, off);
	return off;
}

/*
 * Store the peeked chain, 0 if there is nothing to store, or -ENOSPC when
 * port 1 must wait for its reader.
 */
static int vc_tx_chain(struct vc_dev *dev, struct vc_port *port)
{
	size_t n = dev->chain.bad ? 0 : vc_chain_tx_bytes(&dev->chain);
	size_t skip = 0;

	if (!n)
		return 0;
	if (port->id == 0) {
		skip = vc_port0_make_room(dev, port, n);
	} else if (n > port->tx.size) {
		vc_reject(dev, &dev->stats.bad_chain,
			  "port 1 TX chain of %zu bytes exceeds the %zu byte buffer",
			  n, port->tx.size);
		return 0;
	} else if (n > vc_buf_space(&port->tx)) {
		port->tx_stalled = true;
		return -ENOSPC;
	}
	return max(vc_tx_store(dev, port, skip), 0);
}

/*
 * After a TX run: true to run again at once (it stopped at its weight,
 * kicks stay off); else kicks go back on, unless port 1 polls (see
 * vc_tx_poll_arm).  A run that stalled for the reader or found the ring
 * broken asks for kicks without looking again.
 */
static bool vc_tx_run_end(struct vc_dev *dev, unsigned int qi, int ret,
			  bool poll)
{
	if (ret == -EAGAIN)
		return true;
	if (ret) {
		vc_vring_set_notify(dev, qi, true);
		return false;
	}
	if (poll && vc_tx_poll_arm(dev))
		return false;
	return vc_vring_notify_on(dev, qi);
}

/*
 * Move TX chains into the host buffer, one weighted run.  Returns true
 * when the caller must run the queue again without waiting for a kick.
 */
bool vc_port_tx(struct vc_dev *dev, unsigned int port_id, bool notify)
{
	struct vc_port *port = &dev->slot->port[port_id];
	unsigned int qi = vc_txq(port_id);
	struct vc_budget b = { 0 };
	int ret;

	if (!vc_queue_usable(dev, qi))
		return false;

	dev->stats.queue[qi].runs++;
	vc_vring_set_notify(dev, qi, false);
	mutex_lock(&port->lock);
	while ((ret = vc_vring_peek(dev, qi, &b)) > 0) {
		ret = vc_tx_chain(dev, port);
		if (ret < 0)
			break;
		vc_vring_consume(dev, qi, 0);
		vc_budget_charge(&b, &dev->chain, ret);
	}
	mutex_unlock(&port->lock);

	dev->stats.queue[qi].bytes += b.bytes;
	if (b.bytes)
		vc_port_tx_stored(port);
	if (vc_vring_publish(dev, qi) && b.bytes && notify)
		vc_signal(dev, qi);
	return vc_tx_run_end(dev, qi, ret, b.bytes && notify && port_id == 1);
}

/* Fill the peeked chain from the host buffer: bytes written, or <0 torn. */
static int vc_rx_fill(struct vc_dev *dev, struct vc_port *port)
{
	const struct vc_chain *c = &dev->chain;
	size_t left = vc_buf_len(&port->rx);
	size_t off = 0;
	unsigned int i;

	if (c->bad || c->bad_seg)
		return -EFAULT;
	for (i = 0; i < c->nsegs && left; i++) {
		const struct vc_seg *seg = &c->seg[i];
		size_t len = min_t(size_t, seg->len, left);

		if (!seg->write || !len)
			continue;
		if (vc_buf_load_user(&port->rx, off, seg->uaddr, len))
			return -EFAULT;
		off += len;
		left -= len;
	}
	return off;
}

static bool vc_port_rx_allowed(struct vc_dev *dev, unsigned int port_id)
{
	/* Bytes sent before the guest opens port 1 would be discarded. */
	if (port_id == 1 && !dev->port_open[1])
		return false;
	return vc_queue_usable(dev, vc_rxq(port_id));
}

/*
 * Deliver host bytes into RX chains, one weighted run.  A torn chain goes
 * back with len 0, keeps its bytes, and ends the run.  Returns true when
 * the run stopped at its weight.
 */
bool vc_port_rx(struct vc_dev *dev, unsigned int port_id)
{
	struct vc_port *port = &dev->slot->port[port_id];
	unsigned int qi = vc_rxq(port_id);
	struct vc_budget b = { 0 };
	int ret = 0, n;

	mutex_lock(&port->lock);
	if (!vc_buf_len(&port->rx) || !vc_port_rx_allowed(dev, port_id))
		goto out;
	dev->stats.queue[qi].runs++;
	while (vc_buf_len(&port->rx) &&
	       (ret = vc_vring_peek(dev, qi, &b)) > 0) {
		n = vc_rx_fill(dev, port);
		vc_budget_charge(&b, &dev->chain, max(n, 0));
		if (n < 0) {
			vc_reject(dev, &dev->stats.torn_writes,
				  "port %u RX head %u torn; bytes kept",
				  port_id, dev->chain.head);
			vc_vring_consume(dev, qi, 0);
			break;
		}
		vc_vring_consume(dev, qi, n);
		vc_buf_consume(&port->rx, n);
	}
out:
	mutex_unlock(&port->lock);

	dev->stats.queue[qi].bytes += b.bytes;
	if (b.bytes)
		vc_port_rx_taken(port);
	if (vc_vring_publish(dev, qi) && b.bytes)
		vc_signal(dev, qi);
	return ret == -EAGAIN;
}

/*
 * A device reset: no guest chain waits for room any more, and a running
 * device (running) forgets the host bytes still queued for its guest:
 * the kernel that comes up next is another guest, and a stale 0xD3 would
 * power it off at once (the reference device clears them too).
 */
void vc_ports_reset(struct vc_dev *dev, bool running)
{
	size_t n, total = 0;
	unsigned int i;

	for (i = 0; i < KTSTR_VC_NUM_PORTS; i++) {
		struct vc_port *port = &dev->slot->port[i];

		mutex_lock(&port->lock);
		port->tx_stalled = false;
		n = running ? vc_buf_len(&port->rx) : 0;
		vc_buf_consume(&port->rx, n);
		mutex_unlock(&port->lock);
		if (n)
			vc_port_rx_taken(port);
		total += n;
	}
	if (!total)
		return;
	dev->stats.rx_discarded += total;
	vc_log(dev, "device reset: %zu host bytes for the old guest discarded",
	       total);
}
