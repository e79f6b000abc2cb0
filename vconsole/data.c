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
#include <linux/hrtimer.h>
#include <linux/minmax.h>
#include <linux/moduleparam.h>
#include <linux/uio.h>

#include "vconsole.h"

static unsigned int tx_poll_us = 500;
module_param(tx_poll_us, uint, 0644);
MODULE_PARM_DESC(tx_poll_us, "After a port-1 TX run that moved bytes, look at the ring again this many microseconds later with guest kicks still off (0: ask for a kick at once; at most 1 s; default 500)");

static unsigned int vc_txq(unsigned int port_id)
{
	return port_id ? KTSTR_VC_Q_PORT1_TX : KTSTR_VC_Q_PORT0_TX;
}

static unsigned int vc_rxq(unsigned int port_id)
{
	return port_id ? KTSTR_VC_Q_PORT1_RX : KTSTR_VC_Q_PORT0_RX;
}

/*
 * A port-1 writer streams: each chain it adds while the device looks at
 * an empty ring costs it a kick, an exit to the host.  Leaving kicks off
 * for a little while after a run that moved bytes lets the next chains
 * pile up and be taken in one run; a look that finds nothing asks for
 * kicks again (vc_tx_run_end).  The price: a chain waits up to
 * tx_poll_us, and a writer that fills the ring (KTSTR_VC_QUEUE_MAX
 * chains) within one window waits for the next.  Port 0 never waits: its
 * guest path spins until each buffer comes back.
 */
static bool vc_tx_poll_arm(struct vc_dev *dev)
{
	unsigned int us = min(READ_ONCE(tx_poll_us), VC_TX_POLL_MAX_US);

	if (!us)
		return false;
	hrtimer_start(&dev->tx_poll, us * NSEC_PER_USEC, HRTIMER_MODE_REL);
	return true;
}

static enum hrtimer_restart vc_tx_poll_fire(struct hrtimer *timer)
{
	struct vc_dev *dev = container_of(timer, struct vc_dev, tx_poll);

	vc_queue_work(dev, KTSTR_VC_Q_PORT1_TX);
	return HRTIMER_NORESTART;
}

/* At a session's start: the timer exists only while a worker does. */
void vc_tx_poll_init(struct vc_dev *dev)
{
	hrtimer_init(&dev->tx_poll, CLOCK_MONOTONIC, HRTIMER_MODE_REL);
	dev->tx_poll.function = vc_tx_poll_fire;
}

/* Only the worker's runs arm it, and the final drain does not. */
void vc_tx_poll_cancel(struct vc_dev *dev)
{
	hrtimer_cancel(&dev->tx_poll);
}

/* Port 0: make room for n bytes by letting the oldest ones go. */
static size_t vc_port0_make_room(struct vc_dev *dev, struct vc_port *port,
				 size_t n)
{
	size_t skip = n > port->tx.size ? n - port->tx.size : 0;
	size_t space = vc_buf_space(&port->tx);
	size_t drop = 0;

	lockdep_assert_held(&port->lock);
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
	size_t n = c->out_len - skip;
	struct iov_iter from;

	vc_chain_out_iter(c, &from);
	if (skip)	/* only port 0 skips, when it drops a chain's head */
		iov_iter_advance(&from, skip);
	if (vc_buf_store(&port->tx, &from, n)) {
		vc_reject(dev, &dev->stats.bad_desc,
			  "port %u TX head %u unreadable", port->id, c->head);
		return -EFAULT;
	}
	vc_buf_commit(&port->tx, n);
	return n;
}

/*
 * Store the peeked chain, 0 if there is nothing to store, or -ENOSPC when
 * port 1 must wait for its reader.
 */
static int vc_tx_chain(struct vc_dev *dev, struct vc_port *port)
{
	size_t n = dev->chain.bad ? 0 : dev->chain.out_len;
	size_t skip = 0;

	lockdep_assert_held(&port->lock);
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
		WRITE_ONCE(port->tx_stalled, true);
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
bool vc_handle_tx(struct vc_dev *dev, unsigned int port_id, bool notify)
{
	struct vc_port *port = &dev->slot->port[port_id];
	unsigned int qi = vc_txq(port_id);
	struct vc_budget b = { 0 };
	int ret;

	lockdep_assert_held(&dev->lock);
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
	size_t n = min(vc_buf_len(&port->rx), c->in_len);
	struct iov_iter to;

	lockdep_assert_held(&port->lock);
	if (c->bad || c->bad_seg)
		return -EFAULT;
	vc_chain_in_iter(c, &to);
	if (vc_buf_load(&port->rx, &to, n))
		return -EFAULT;
	return n;
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
bool vc_handle_rx(struct vc_dev *dev, unsigned int port_id)
{
	struct vc_port *port = &dev->slot->port[port_id];
	unsigned int qi = vc_rxq(port_id);
	struct vc_budget b = { 0 };
	int ret = 0, n;

	lockdep_assert_held(&dev->lock);
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
 * The drains of a device reset (mmio.c) and of a session's end (worker.c)
 * take the TX chains available now, and no more.
 */
void vc_tx_drain_begin(struct vc_dev *dev)
{
	lockdep_assert_held(&dev->lock);
	vc_vring_freeze(dev, KTSTR_VC_Q_PORT0_TX);
	vc_vring_freeze(dev, KTSTR_VC_Q_PORT1_TX);
}

/*
 * One run of each TX queue into the host buffers, without interrupting
 * the guest; true if either stopped at its weight.
 */
bool vc_tx_drain(struct vc_dev *dev)
{
	bool more = vc_handle_tx(dev, 0, false);

	lockdep_assert_held(&dev->lock);
	return vc_handle_tx(dev, 1, false) || more;
}

/*
 * A device reset: no guest chain waits for room any more, and a running
 * device (running) forgets the host bytes still queued for its guest:
 * the kernel that comes up next is another guest, and a stale 0xD3 would
 * power it off at once (the reference device clears them too).
 */
void vc_data_reset(struct vc_dev *dev, bool running)
{
	size_t n, total = 0;
	unsigned int i;

	lockdep_assert_held(&dev->lock);
	for (i = 0; i < KTSTR_VC_NUM_PORTS; i++) {
		struct vc_port *port = &dev->slot->port[i];

		mutex_lock(&port->lock);
		WRITE_ONCE(port->tx_stalled, false);
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
