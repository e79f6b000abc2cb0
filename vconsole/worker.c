// SPDX-License-Identifier: GPL-2.0
/*
 * A session: the kick and call eventfds, and the worker between them.
 *
 * A kick eventfd (KVM ioeventfd on QUEUE_NOTIFY) wakes us through a
 * wait-queue callback, as vhost_poll does; the callback only marks the
 * queue pending (vc_queue_work) and wakes the instance's kernel thread,
 * which runs on the VMM's mm (kthread_use_mm) so guest memory is plain
 * user memory.  Kicks that arrive while the worker runs coalesce into the
 * pending mask; a run that stops at its weight is marked pending again
 * here.  The call eventfd is what vring.c's vc_signal() raises.  The
 * worker joins the VMM's cgroups and takes its CPUs and nice value, so
 * what a guest makes it burn is the VMM's to limit (as vhost's worker).
 */
#include <linux/cgroup.h>
#include <linux/completion.h>
#include <linux/eventfd.h>
#include <linux/file.h>
#include <linux/jiffies.h>
#include <linux/kthread.h>
#include <linux/sched.h>
#include <linux/sched/mm.h>
#include <linux/sched/task.h>

#include "vconsole.h"

/* One pass over the queues in work; returns the ones to run again. */
static unsigned long vc_run(struct vc_dev *dev, unsigned long work)
{
	unsigned long again = 0;

	lockdep_assert_held(&dev->lock);
	if (test_bit(KTSTR_VC_Q_PORT0_TX, &work) && vc_handle_tx(dev, 0, true))
		__set_bit(KTSTR_VC_Q_PORT0_TX, &again);
	if (test_bit(KTSTR_VC_Q_PORT1_TX, &work) && vc_handle_tx(dev, 1, true))
		__set_bit(KTSTR_VC_Q_PORT1_TX, &again);
	if (test_bit(KTSTR_VC_Q_CTRL_TX, &work) && vc_handle_ctrl_tx(dev))
		__set_bit(KTSTR_VC_Q_CTRL_TX, &again);
	/* Replies to what c_ovq just said, or chains the guest just gave. */
	if ((work & (BIT(KTSTR_VC_Q_CTRL_TX) | BIT(KTSTR_VC_Q_CTRL_RX))) &&
	    vc_handle_ctrl_rx(dev))
		__set_bit(KTSTR_VC_Q_CTRL_RX, &again);
	if (test_bit(KTSTR_VC_Q_PORT0_RX, &work) && vc_handle_rx(dev, 0))
		__set_bit(KTSTR_VC_Q_PORT0_RX, &again);
	if (test_bit(KTSTR_VC_Q_PORT1_RX, &work) && vc_handle_rx(dev, 1))
		__set_bit(KTSTR_VC_Q_PORT1_RX, &again);
	return again;
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
	vc_tx_drain_begin(dev);
	for (;;) {
		more = vc_tx_drain(dev);
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
	vc_tx_poll_cancel(dev);
	vc_final_drain(dev);
	kthread_unuse_mm(dev->mm);
	return 0;
}

/*
 * A queue left with kicks off (a poll-window run, then the ring briefly
 * outside guest memory) gets a run under the new table: the run turns
 * kicks back on, or the guest would never kick it again.
 */
void vc_mem_changed(struct vc_dev *dev)
{
	unsigned int qi;

	lockdep_assert_held(&dev->lock);
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

	lockdep_assert_held(&dev->lock);
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

	lockdep_assert_held(&dev->lock);
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

	lockdep_assert_held(&dev->lock);
	dev->mm = get_task_mm(current);
	if (!dev->mm)
		return -EINVAL;
	vc_tx_poll_init(dev);
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

	lockdep_assert_held(&dev->session_lock);
	mutex_lock(&dev->lock);
	dev->ending = true;
	for (qi = 0; qi < KTSTR_VC_NUM_QUEUES; qi++)
		vc_kick_remove(&dev->kick[qi]);
	mutex_unlock(&dev->lock);
	vc_slot_session_end_work(slot);
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

	vc_slot_session_end(slot);
}
