// SPDX-License-Identifier: GPL-2.0
/*
 * Kicks in, calls out, and the worker between them.
 *
 * A kick eventfd (KVM ioeventfd on QUEUE_NOTIFY) wakes us through a
 * wait-queue callback, as vhost_poll does; the callback only marks the
 * queue pending and wakes the instance's kernel thread, which runs on the
 * VMM's mm (kthread_use_mm) so guest memory is plain user memory.  Kicks
 * that arrive while the worker runs coalesce into the pending mask; a run
 * that stops at a per-run cap marks its queue pending again itself.
 */
#include <linux/completion.h>
#include <linux/eventfd.h>
#include <linux/file.h>
#include <linux/kthread.h>
#include <linux/moduleparam.h>
#include <linux/sched/mm.h>
#include <linux/virtio_mmio.h>

#include "vconsole.h"

/* eventfd_signal() lost its count argument in 6.8 (see Kbuild). */
#ifdef VC_EVENTFD_SIGNAL_ONE_ARG
#define vc_eventfd_signal(ctx)	eventfd_signal(ctx)
#else
#define vc_eventfd_signal(ctx)	eventfd_signal(ctx, 1)
#endif

static unsigned int tx_poll_us = 500;
module_param(tx_poll_us, uint, 0644);
MODULE_PARM_DESC(tx_poll_us, "After a port-1 TX run that moved bytes, look at the ring again this many microseconds later with guest kicks still off (0: ask for a kick at once; at most 1 s; default 500)");

void vc_queue_work(struct vc_dev *dev, unsigned int qi)
{
	set_bit(qi, &dev->pending);
	if (dev->worker)
		wake_up_process(dev->worker);
}

/* The call: INTERRUPT_STATUS first, so the guest's handler finds it. */
void vc_signal(struct vc_dev *dev, unsigned int qi)
{
	if (!vc_vring_wants_interrupt(dev, qi))
		return;
	dev->isr |= VIRTIO_MMIO_INT_VRING;
	dev->stats.interrupts++;
	dev->stats.queue[qi].interrupts++;
	if (dev->call)
		vc_eventfd_signal(dev->call);
}

/*
 * A port-1 writer streams: each chain it adds while the device looks at
 * an empty ring costs it a kick, an exit to the host.  Leaving kicks off
 * for a little while after a run that moved bytes lets the next chains
 * pile up and be taken in one run; a look that finds nothing asks for
 * kicks again (vc_port_tx).  The price: a chain waits up to tx_poll_us,
 * and a writer that fills the ring (KTSTR_VC_QUEUE_MAX chains) within
 * one window waits for the next.  Port 0 never waits: its guest path
 * spins until each buffer comes back.
 */
bool vc_tx_poll_arm(struct vc_dev *dev)
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

/* One pass over the queues in work; returns the ones to run again. */
static unsigned long vc_run(struct vc_dev *dev, unsigned long work)
{
	unsigned long again = 0;

	if (test_bit(KTSTR_VC_Q_PORT0_TX, &work) && vc_port_tx(dev, 0, true))
		__set_bit(KTSTR_VC_Q_PORT0_TX, &again);
	if (test_bit(KTSTR_VC_Q_PORT1_TX, &work) && vc_port_tx(dev, 1, true))
		__set_bit(KTSTR_VC_Q_PORT1_TX, &again);
	if (test_bit(KTSTR_VC_Q_CTRL_TX, &work) && vc_ctrl_tx(dev))
		__set_bit(KTSTR_VC_Q_CTRL_TX, &again);
	/* Replies to what c_ovq just said, or chains the guest just gave. */
	if ((work & (BIT(KTSTR_VC_Q_CTRL_TX) | BIT(KTSTR_VC_Q_CTRL_RX))) &&
	    vc_ctrl_rx(dev))
		__set_bit(KTSTR_VC_Q_CTRL_RX, &again);
	if (test_bit(KTSTR_VC_Q_PORT0_RX, &work) && vc_port_rx(dev, 0))
		__set_bit(KTSTR_VC_Q_PORT0_RX, &again);
	if (test_bit(KTSTR_VC_Q_PORT1_RX, &work) && vc_port_rx(dev, 1))
		__set_bit(KTSTR_VC_Q_PORT1_RX, &again);
	return again;
}

/* Both TX queues into the host buffers, without interrupting the guest. */
static void vc_drain_tx(struct vc_dev *dev)
{
	unsigned int port, n;

	for (port = 0; port < KTSTR_VC_NUM_PORTS; port++)
		for (n = 0; n < KTSTR_VC_QUEUE_MAX; n++)
			if (!vc_port_tx(dev, port, false))
				break;
}

/*
 * The session's last word.  Port 1 never drops, so while its reader is
 * still taking bytes the drain waits for room; a reader that makes no
 * progress for a second (or none at all) ends the wait.
 */
static void vc_final_drain(struct vc_dev *dev)
{
	struct vc_port *port = &dev->slot->port[1];
	u64 out;

	mutex_lock(&dev->lock);
	vc_drain_tx(dev);
	while (port->tx_stalled && atomic_read(&port->reader_open)) {
		out = READ_ONCE(port->tx.out);
		mutex_unlock(&dev->lock);
		wait_event_timeout(port->wait, READ_ONCE(port->tx.out) != out ||
				   !atomic_read(&port->reader_open), HZ);
		mutex_lock(&dev->lock);
		if (READ_ONCE(port->tx.out) == out)
			break;
		vc_drain_tx(dev);
	}
	mutex_unlock(&dev->lock);
}

static int vc_worker(void *data)
{
	struct vc_dev *dev = data;
	unsigned long work;
	unsigned int qi;

	kthread_use_mm(dev->mm);
	complete(&dev->worker_started);
	for (;;) {
		set_current_state(TASK_INTERRUPTIBLE);
		if (kthread_should_stop())
			break;
		work = xchg(&dev->pending, 0);
		if (!work) {
			schedule();
			continue;
		}
		__set_current_state(TASK_RUNNING);
		mutex_lock(&dev->lock);
		work = vc_run(dev, work);
		mutex_unlock(&dev->lock);
		for_each_set_bit(qi, &work, KTSTR_VC_NUM_QUEUES)
			set_bit(qi, &dev->pending);
		cond_resched();
	}
	__set_current_state(TASK_RUNNING);

	vc_final_drain(dev);
	kthread_unuse_mm(dev->mm);
	return 0;
}

/* Status 0: keep what the guest already wrote, then forget the device. */
void vc_device_reset(struct vc_dev *dev)
{
	if (dev->slot && vc_driver_ok(dev))
		vc_drain_tx(dev);
	vc_mmio_reset(dev);
	vc_ctrl_reset(dev);
}

static int vc_kick_wakeup(wait_queue_entry_t *wait, unsigned int mode,
			  int sync, void *key)
{
	struct vc_kick *kick = container_of(wait, struct vc_kick, wait);

	if (!(key_to_poll(key) & EPOLLIN))
		return 0;
	atomic64_inc(&kick->dev->kicks[kick->queue]);
	vc_queue_work(kick->dev, kick->queue);
	return 0;
}

static void vc_kick_queue_proc(struct file *file, wait_queue_head_t *wqh,
			       poll_table *pt)
{
	struct vc_kick *kick = container_of(pt, struct vc_kick, table);

	kick->wqh = wqh;
	add_wait_queue(wqh, &kick->wait);
}

static void vc_kick_remove(struct vc_kick *kick)
{
	if (!kick->file)
		return;
	remove_wait_queue(kick->wqh, &kick->wait);
	fput(kick->file);
	kick->file = NULL;
}

static int vc_kick_add(struct vc_dev *dev, unsigned int qi, int fd)
{
	struct vc_kick *kick = &dev->kick[qi];
	struct file *file;
	__poll_t mask;

	file = eventfd_fget(fd);
	if (IS_ERR(file))
		return PTR_ERR(file);
	kick->dev = dev;
	kick->queue = qi;
	kick->file = file;
	init_waitqueue_func_entry(&kick->wait, vc_kick_wakeup);
	init_poll_funcptr(&kick->table, vc_kick_queue_proc);
	mask = vfs_poll(file, &kick->table);
	/* A kick that came before we listened is still a kick. */
	if (mask & EPOLLIN)
		vc_queue_work(dev, qi);
	return 0;
}

int vc_set_kick(struct vc_dev *dev, struct ktstr_vc_kick __user *uarg)
{
	struct ktstr_vc_kick arg;

	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	if (arg.queue >= KTSTR_VC_NUM_QUEUES || arg.fd < -1)
		return -EINVAL;
	vc_kick_remove(&dev->kick[arg.queue]);
	if (arg.fd == -1)
		return 0;
	return vc_kick_add(dev, arg.queue, arg.fd);
}

int vc_set_call(struct vc_dev *dev, struct ktstr_vc_call __user *uarg)
{
	struct eventfd_ctx *ctx = NULL;
	struct ktstr_vc_call arg;

	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	if (arg.padding || arg.fd < -1)
		return -EINVAL;
	if (arg.fd != -1) {
		ctx = eventfd_ctx_fdget(arg.fd);
		if (IS_ERR(ctx))
			return PTR_ERR(ctx);
	}
	if (dev->call)
		eventfd_ctx_put(dev->call);
	dev->call = ctx;
	return 0;
}

/* Called with dev->lock held, on ATTACH, in the VMM's context. */
int vc_session_start(struct vc_dev *dev)
{
	struct task_struct *worker;

	dev->mm = get_task_mm(current);
	if (!dev->mm)
		return -EINVAL;
	hrtimer_init(&dev->tx_poll, CLOCK_MONOTONIC, HRTIMER_MODE_REL);
	dev->tx_poll.function = vc_tx_poll_fire;
	init_completion(&dev->worker_started);
	worker = kthread_create(vc_worker, dev, "ktstr-vc%u", dev->slot->index);
	if (IS_ERR(worker)) {
		mmput(dev->mm);
		dev->mm = NULL;
		return PTR_ERR(worker);
	}
	dev->worker = worker;
	wake_up_process(worker);
	/* kthread_stop() skips a thread that never ran: the drain must run. */
	wait_for_completion(&dev->worker_started);
	return 0;
}

/*
 * End the session (DETACH, close, or the VMM's death): no more kicks, the
 * worker's last drain, then the guest's resources go.  Called without
 * dev->lock (the worker needs it to finish), serialised by session_lock.
 */
void vc_session_end(struct vc_dev *dev)
{
	struct vc_slot *slot = dev->slot;
	struct task_struct *worker;
	unsigned int qi;

	vc_slot_session_detach(slot);
	mutex_lock(&dev->lock);
	for (qi = 0; qi < KTSTR_VC_NUM_QUEUES; qi++)
		vc_kick_remove(&dev->kick[qi]);
	worker = dev->worker;
	dev->worker = NULL;
	mutex_unlock(&dev->lock);
	kthread_stop(worker);
	/* Only the worker arms it, and the worker is gone. */
	hrtimer_cancel(&dev->tx_poll);

	mutex_lock(&dev->lock);
	if (dev->call)
		eventfd_ctx_put(dev->call);
	dev->call = NULL;
	vc_mem_free(dev);
	mmput(dev->mm);
	dev->mm = NULL;
	vc_mmio_reset(dev);
	vc_ctrl_reset(dev);
	dev->pending = 0;
	dev->slot = NULL;
	mutex_unlock(&dev->lock);

	vc_slot_session_finish(slot);
}
