// SPDX-License-Identifier: GPL-2.0
/*
 * Kicks in, calls out, and the worker between them.
 *
 * A kick eventfd (KVM ioeventfd on QUEUE_NOTIFY) wakes us through a
 * wait-queue callback, as vhost_poll does; the callback only marks the
 * queue pending and wakes the instance's kernel thread, which runs on the
 * VMM's mm (kthread_use_mm) so guest memory is plain user memory.  Kicks
 * that arrive while the worker runs coalesce into the pending mask; a run
 * that stops at its weight marks its queue pending again itself.  The
 * worker joins the VMM's cgroups and takes its CPUs and nice value, so
 * what a guest makes it burn is the VMM's to limit (as vhost's worker).
 */
#include <linux/cgroup.h>
#include <linux/completion.h>
#include <linux/eventfd.h>
#include <linux/file.h>
#include <linux/jiffies.h>
#include <linux/kthread.h>
#include <linux/moduleparam.h>
#include <linux/sched.h>
#include <linux/sched/mm.h>
#include <linux/sched/task.h>
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

/*
 * Also called from the poll timer (hard IRQ) and kick wait-queue
 * callbacks, without dev->lock: dev->worker is read once.  Session end
 * clears it only after every caller has been cut off.
 */
void vc_queue_work(struct vc_dev *dev, unsigned int qi)
{
	struct task_struct *worker = READ_ONCE(dev->worker);

	set_bit(qi, &dev->pending);
	if (worker)
		wake_up_process(worker);
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

/* Drains take the TX chains available now, and no more. */
static void vc_drain_begin(struct vc_dev *dev)
{
	vc_vring_freeze(dev, KTSTR_VC_Q_PORT0_TX);
	vc_vring_freeze(dev, KTSTR_VC_Q_PORT1_TX);
}

/*
 * One run of each TX queue into the host buffers, without interrupting
 * the guest; true if either stopped at its weight.
 */
static bool vc_drain_tx(struct vc_dev *dev)
{
	bool more = vc_port_tx(dev, 0, false);

	return vc_port_tx(dev, 1, false) || more;
}

/* Port 1 never drops: its reader has room to make. */
static bool vc_final_drain_waits(struct vc_port *port)
{
	return data_race(READ_ONCE(port->tx_stalled)) && /* lockless hint */
	       atomic_read(&port->reader_open);
}

/* The reader took bytes since out, or left: the drain looks again. */
static bool vc_final_drain_woken(struct vc_port *port, u64 out)
{
	return data_race(READ_ONCE(port->tx.out)) != out || /* lockless hint */
	       !atomic_read(&port->reader_open);
}

/*
 * The session's last word, bounded twice: it takes only what the guest
 * had made available when the session began to end (a guest still
 * running cannot extend it), and a port-1 reader it waits on for room
 * gets VC_FINAL_DRAIN_MS in all, however it trickles.
 */
static void vc_final_drain(struct vc_dev *dev)
{
	struct vc_port *port = &dev->slot->port[1];
	unsigned long end = jiffies + msecs_to_jiffies(VC_FINAL_DRAIN_MS);
	bool more;
	u64 out;

	mutex_lock(&dev->lock);
	vc_drain_begin(dev);
	for (;;) {
		more = vc_drain_tx(dev);
		if ((!more && !vc_final_drain_waits(port)) ||
		    time_after_eq(jiffies, end))
			break;
		out = data_race(READ_ONCE(port->tx.out)); /* lockless hint */
		mutex_unlock(&dev->lock);
		if (more)
			cond_resched();
		else
			wait_event_timeout(port->wait,
					   vc_final_drain_woken(port, out),
					   max_t(long, end - jiffies, 1));
		mutex_lock(&dev->lock);
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

	/* Only this thread arms it, and the final drain does not. */
	hrtimer_cancel(&dev->tx_poll);
	vc_final_drain(dev);
	kthread_unuse_mm(dev->mm);
	return 0;
}

/*
 * Status 0, in the vCPU's own ioctl: keep what the guest already wrote,
 * forget host bytes meant for the guest that is going away, then forget
 * the device.  The drain is weighted like any run, at most a ring's
 * worth; what a hostile guest piled up beyond it goes with the rings.
 * The first reset of a fresh device (status still 0) keeps host bytes
 * written before the guest's driver came up.
 */
void vc_device_reset(struct vc_dev *dev)
{
	unsigned int runs;

	if (vc_driver_ok(dev)) {
		vc_drain_begin(dev);
		for (runs = 0; runs < VC_DRAIN_RUNS_MAX && vc_drain_tx(dev);
		     runs++)
			cond_resched();
	}
	vc_ports_reset(dev, dev->status != 0);
	vc_mmio_reset(dev);
	vc_ctrl_reset(dev);
}

/*
 * A queue left with kicks off (a poll-window run, then the ring briefly
 * outside guest memory) gets a run under the new table: the run turns
 * kicks back on, or the guest would never kick it again.
 */
void vc_mem_changed(struct vc_dev *dev)
{
	unsigned int qi;

	for (qi = 0; qi < KTSTR_VC_NUM_QUEUES; qi++)
		if (dev->vq[qi].notify_off)
			vc_queue_work(dev, qi);
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

/*
 * The worker works for the VMM: its cgroups (cpu.max, cpuset, ...), its
 * CPUs and its nice value.  The thread has not run yet.
 */
static int vc_worker_inherit(struct task_struct *worker)
{
	int ret;

	ret = cgroup_attach_task_all(current, worker);
	if (ret)
		return ret;
	ret = set_cpus_allowed_ptr(worker, current->cpus_ptr);
	if (ret)
		return ret;
	set_user_nice(worker, task_nice(current));
	return 0;
}

/* Called with dev->lock held, on ATTACH, in the VMM's context. */
int vc_session_start(struct vc_dev *dev)
{
	struct task_struct *worker;
	int ret;

	dev->mm = get_task_mm(current);
	if (!dev->mm)
		return -EINVAL;
	hrtimer_init(&dev->tx_poll, CLOCK_MONOTONIC, HRTIMER_MODE_REL);
	dev->tx_poll.function = vc_tx_poll_fire;
	init_completion(&dev->worker_started);
	worker = kthread_create(vc_worker, dev, "ktstr-vc%u", dev->slot->index);
	if (IS_ERR(worker)) {
		ret = PTR_ERR(worker);
		goto put_mm;
	}
	ret = vc_worker_inherit(worker);
	if (ret) {
		/* A thread that never ran exits without calling vc_worker. */
		kthread_stop(worker);
		goto put_mm;
	}
	get_task_struct(worker);
	WRITE_ONCE(dev->worker, worker);
	wake_up_process(worker);
	/* kthread_stop() skips a thread that never ran: the drain must run. */
	wait_for_completion(&dev->worker_started);
	return 0;
put_mm:
	mmput(dev->mm);
	dev->mm = NULL;
	return ret;
}

/*
 * End the session (DETACH, close, or the VMM's death), in one direction:
 * see struct vc_dev.  Called without dev->lock (the worker needs it to
 * finish), serialised by session_lock.
 */
void vc_session_end(struct vc_dev *dev)
{
	struct vc_slot *slot = dev->slot;
	unsigned int qi;

	mutex_lock(&dev->lock);
	dev->ending = true;
	for (qi = 0; qi < KTSTR_VC_NUM_QUEUES; qi++)
		vc_kick_remove(&dev->kick[qi]);
	mutex_unlock(&dev->lock);
	vc_slot_session_detach(slot);
	/* Nothing can queue work any more; the worker drains and stops. */
	kthread_stop(dev->worker);
	put_task_struct(dev->worker);
	WRITE_ONCE(dev->worker, NULL);

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
	dev->ending = false;
	mutex_unlock(&dev->lock);

	vc_slot_session_finish(slot);
}
