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
 * Move TX chains into the host buffer, at most VC_TX_RUN_MAX bytes in one
 * run.  Returns true when the run stopped at that cap: the caller runs
 * the queue again without waiting for a kick.
 */
bool vc_port_tx(struct vc_dev *dev, unsigned int port_id, bool notify)
{
	struct vc_port *port = &dev->slot->port[port_id];
	unsigned int qi = vc_txq(port_id);
	size_t bytes = 0;
	int ret = 0;

	if (!vc_queue_usable(dev, qi))
		return false;

	vc_vring_set_notify(dev, qi, false);
	mutex_lock(&port->lock);
	while (bytes < VC_TX_RUN_MAX) {
		ret = vc_vring_peek(dev, qi);
		if (ret <= 0)
			break;
		ret = vc_tx_chain(dev, port);
		if (ret < 0)
			break;
		vc_vring_consume(dev, qi, 0);
		bytes += ret;
	}
	mutex_unlock(&port->lock);

	dev->stats.queue[qi].bytes += bytes;
	if (bytes)
		vc_port_tx_stored(port);
	if (vc_vring_publish(dev, qi) && bytes && notify)
		vc_signal(dev, qi);
	/* At the cap the run goes on, kicks still off. */
	if (bytes >= VC_TX_RUN_MAX)
		return true;
	/* Stalled for the reader, or a broken ring: no looking again. */
	if (ret) {
		vc_vring_set_notify(dev, qi, true);
		return false;
	}
	if (bytes && notify && port_id == 1 && vc_tx_poll_arm(dev))
		return false;
	return vc_vring_notify_on(dev, qi);
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
 * Deliver host bytes into RX chains, at most VC_RX_CHAINS_RUN_MAX chains
 * in one run.  A torn chain goes back with len 0, keeps its bytes, and
 * ends the run.  Returns true when the run stopped at the chain cap.
 */
bool vc_port_rx(struct vc_dev *dev, unsigned int port_id)
{
	struct vc_port *port = &dev->slot->port[port_id];
	unsigned int qi = vc_rxq(port_id);
	unsigned int chains = 0;
	size_t bytes = 0;
	bool more = false;
	int n;

	mutex_lock(&port->lock);
	if (!vc_buf_len(&port->rx) || !vc_port_rx_allowed(dev, port_id))
		goto out;
	while (vc_buf_len(&port->rx)) {
		if (chains == VC_RX_CHAINS_RUN_MAX) {
			more = true;
			break;
		}
		if (vc_vring_peek(dev, qi) <= 0)
			break;
		chains++;
		n = vc_rx_fill(dev, port);
		if (n < 0) {
			vc_reject(dev, &dev->stats.torn_writes,
				  "port %u RX head %u torn; bytes kept",
				  port_id, dev->chain.head);
			vc_vring_consume(dev, qi, 0);
			break;
		}
		vc_vring_consume(dev, qi, n);
		vc_buf_consume(&port->rx, n);
		bytes += n;
	}
out:
	mutex_unlock(&port->lock);

	dev->stats.queue[qi].bytes += bytes;
	if (bytes)
		vc_port_rx_taken(port);
	if (vc_vring_publish(dev, qi) && bytes)
		vc_signal(dev, qi);
	return more;
}
