// SPDX-License-Identifier: GPL-2.0
/*
 * The host side of the ports: /dev/ktstr-port{0,1} (slot 0) and
 * /dev/ktstr<N>-port{0,1} (slot N).  read() takes guest -> host bytes,
 * write() queues host -> guest bytes; one reader and one writer at a time.
 *
 * Sessions: a slot's session runs from ATTACH to the instance's end.  A
 * reader reads one session: the live one, the one whose bytes are still
 * buffered, or else the next to start.  When its session has ended and
 * its last byte is read, read() returns 0.  Bytes written while the slot
 * is idle wait for the next session; those a session's guest never took
 * end with it.
 */
#include <linux/anon_inodes.h>
#include <linux/compiler.h>
#include <linux/file.h>
#include <linux/device.h>
#include <linux/fs.h>
#include <linux/log2.h>
#include <linux/module.h>
#include <linux/sched/signal.h>
#include <linux/uaccess.h>
#include <linux/uio.h>
#include <asm/ioctls.h>

#include "vconsole.h"

#define VC_BUF_MIN	(64 * 1024)
#define VC_BUF_MAX	(64 * 1024 * 1024)

static unsigned int tx_buf_size = 2 * 1024 * 1024;
module_param(tx_buf_size, uint, 0444);
MODULE_PARM_DESC(tx_buf_size, "Bytes buffered per port from guest to host (power of two, 64 KiB-64 MiB, default 2 MiB)");

static unsigned int rx_buf_size = 64 * 1024;
module_param(rx_buf_size, uint, 0444);
MODULE_PARM_DESC(rx_buf_size, "Bytes buffered per port from host to guest (power of two, 64 KiB-64 MiB, default 64 KiB)");

static dev_t vc_port_devt;
static struct cdev vc_port_cdev;
static struct class *vc_port_class;
static struct vc_slot *vc_port_slots;
static unsigned int vc_port_nr_slots;

static unsigned int vc_port_rxq(const struct vc_port *port)
{
	return port->id ? KTSTR_VC_Q_PORT1_RX : KTSTR_VC_Q_PORT0_RX;
}

void vc_slot_queue_work(struct vc_slot *slot, unsigned int qi)
{
	spin_lock(&slot->lock);
	if (slot->work_target)
		vc_queue_work(slot->work_target, qi);
	spin_unlock(&slot->lock);
}

void vc_slot_session_start(struct vc_slot *slot, struct vc_dev *dev)
{
	unsigned int i;

	for (i = 0; i < KTSTR_VC_NUM_PORTS; i++) {
		mutex_lock(&slot->port[i].lock);
		slot->port[i].session_start = slot->port[i].tx.in;
		mutex_unlock(&slot->port[i].lock);
	}
	spin_lock(&slot->lock);
	slot->session++;
	slot->live = true;
	slot->work_target = dev;
	spin_unlock(&slot->lock);
}

/*
 * The first half of a session's end: from here on no host reader or
 * writer queues work to the instance.
 */
void vc_slot_session_end_work(struct vc_slot *slot)
{
	spin_lock(&slot->lock);
	slot->work_target = NULL;
	spin_unlock(&slot->lock);
}

/*
 * The second half, after the last drain: the session's readers get the
 * rest, then EOF.
 * Host bytes the guest never took were meant for that guest, which is
 * gone; a wake byte must not reach the next one.
 */
void vc_slot_session_end(struct vc_slot *slot)
{
	unsigned int i;
	u64 session;
	size_t stale;

	spin_lock(&slot->lock);
	slot->live = false;
	session = slot->session;
	spin_unlock(&slot->lock);

	for (i = 0; i < KTSTR_VC_NUM_PORTS; i++) {
		struct vc_port *port = &slot->port[i];

		mutex_lock(&port->lock);
		if (port->reader_session == session &&
		    port->reader_eof == U64_MAX)
			WRITE_ONCE(port->reader_eof, port->tx.in);
		WRITE_ONCE(port->tx_stalled, false);
		stale = vc_buf_len(&port->rx);
		vc_buf_consume(&port->rx, stale);
		mutex_unlock(&port->lock);
		if (stale)
			pr_info("slot %u port %u: %zu host bytes never reached the guest\n",
				slot->index, i, stale);
		wake_up_interruptible_all(&port->wait);
	}
}

void vc_port_tx_stored(struct vc_port *port)
{
	wake_up_interruptible_poll(&port->wait, EPOLLIN | EPOLLRDNORM);
}

void vc_port_rx_taken(struct vc_port *port)
{
	wake_up_interruptible_poll(&port->wait, EPOLLOUT | EPOLLWRNORM);
}

/* Bytes the reader may take now: its session's, up to its end. */
static size_t vc_port_readable(const struct vc_port *port)
{
	u64 end = min(port->tx.in, port->reader_eof);

	return end > port->tx.out ? end - port->tx.out : 0;
}

static bool vc_port_at_eof(const struct vc_port *port)
{
	return port->reader_eof != U64_MAX && port->tx.out >= port->reader_eof;
}

/*
 * Wake-up conditions and poll look without the lock, which the worker
 * holds while it copies a run into the buffer: a stale answer only costs
 * a look again, because read and write take the lock and decide there.
 */
static bool vc_port_can_read(struct vc_port *port)
{
	return data_race(vc_port_readable(port) || vc_port_at_eof(port)); /* lockless hint */
}

static bool vc_port_can_write(struct vc_port *port)
{
	return data_race(vc_buf_space(&port->rx)); /* lockless hint */
}

/* Bytes of an earlier session that no reader took are not this one's. */
static void vc_port_skip_stale(struct vc_port *port)
{
	u64 stale;

	lockdep_assert_held(&port->lock);
	if (port->tx.out >= port->session_start)
		return;
	stale = port->session_start - port->tx.out;
	vc_buf_consume(&port->tx, stale);
	pr_info("slot %u port %u: %llu bytes of an earlier session skipped\n",
		port->slot->index, port->id, stale);
}

/* Which session a new reader reads (see the top of this file). */
static void vc_port_reader_attach(struct vc_port *port)
{
	struct vc_slot *slot = port->slot;
	bool live;
	u64 session;

	mutex_lock(&port->lock);
	spin_lock(&slot->lock);
	live = slot->live;
	session = slot->session;
	spin_unlock(&slot->lock);

	WRITE_ONCE(port->reader_eof, U64_MAX);
	port->reader_session = session;
	if (live)
		vc_port_skip_stale(port);
	else if (vc_buf_len(&port->tx))
		WRITE_ONCE(port->reader_eof, port->tx.in);
	else
		port->reader_session = session + 1;
	mutex_unlock(&port->lock);
}

/* One reader and one writer: take the roles the file was opened for. */
static int vc_port_claim(struct vc_port *port, struct file *file)
{
	if ((file->f_mode & FMODE_READ) &&
	    atomic_cmpxchg(&port->reader_open, 0, 1))
		return -EBUSY;
	if ((file->f_mode & FMODE_WRITE) &&
	    atomic_cmpxchg(&port->writer_open, 0, 1)) {
		if (file->f_mode & FMODE_READ)
			atomic_set(&port->reader_open, 0);
		return -EBUSY;
	}
	if (file->f_mode & FMODE_READ)
		vc_port_reader_attach(port);
	file->private_data = port;
	return 0;
}

static int vc_port_open(struct inode *inode, struct file *file)
{
	unsigned int minor = iminor(inode) - MINOR(vc_port_devt);
	int ret;

	if (minor >= 2 * vc_port_nr_slots)
		return -ENXIO;
	ret = vc_port_claim(&vc_port_slots[minor / 2].port[minor % 2], file);
	if (ret)
		return ret;
	return stream_open(inode, file);
}

static int vc_port_release(struct inode *inode, struct file *file)
{
	struct vc_port *port = file->private_data;

	if (!port)
		return 0;

	if (file->f_mode & FMODE_READ) {
		mutex_lock(&port->lock);
		port->reader_session = 0;
		WRITE_ONCE(port->reader_eof, U64_MAX);
		mutex_unlock(&port->lock);
		atomic_set(&port->reader_open, 0);
	}
	if (file->f_mode & FMODE_WRITE)
		atomic_set(&port->writer_open, 0);
	return 0;
}

/* Take what to has room for: >0 taken, 0 at EOF, -EAGAIN if none yet. */
static ssize_t vc_port_take(struct vc_port *port, struct iov_iter *to)
{
	size_t n;
	bool stalled;

	mutex_lock(&port->lock);
	n = min(iov_iter_count(to), vc_port_readable(port));
	if (!n) {
		mutex_unlock(&port->lock);
		return vc_port_at_eof(port) ? 0 : -EAGAIN;
	}
	if (vc_buf_load(&port->tx, to, n)) {
		mutex_unlock(&port->lock);
		return -EFAULT;
	}
	vc_buf_consume(&port->tx, n);
	stalled = port->tx_stalled;
	WRITE_ONCE(port->tx_stalled, false);
	mutex_unlock(&port->lock);

	/* Room again for the chain the guest is waiting to send. */
	if (stalled) {
		vc_slot_queue_work(port->slot, KTSTR_VC_Q_PORT1_TX);
		wake_up(&port->wait);
	}
	return n;
}

static ssize_t vc_port_read_iter(struct kiocb *iocb, struct iov_iter *to)
{
	struct file *file = iocb->ki_filp;
	struct vc_port *port = file->private_data;
	ssize_t ret;

	if (!iov_iter_count(to))
		return 0;
	for (;;) {
		ret = vc_port_take(port, to);
		if (ret != -EAGAIN || (file->f_flags & O_NONBLOCK))
			return ret;
		if (wait_event_interruptible(port->wait,
					     vc_port_can_read(port)))
			return -ERESTARTSYS;
	}
}

static ssize_t vc_port_put(struct vc_port *port, struct iov_iter *from)
{
	size_t n;

	mutex_lock(&port->lock);
	n = min(iov_iter_count(from), vc_buf_space(&port->rx));
	if (!n) {
		mutex_unlock(&port->lock);
		return -EAGAIN;
	}
	if (vc_buf_store(&port->rx, from, n)) {
		mutex_unlock(&port->lock);
		return -EFAULT;
	}
	vc_buf_commit(&port->rx, n);
	mutex_unlock(&port->lock);

	vc_slot_queue_work(port->slot, vc_port_rxq(port));
	return n;
}

static ssize_t vc_port_write_iter(struct kiocb *iocb, struct iov_iter *from)
{
	struct file *file = iocb->ki_filp;
	struct vc_port *port = file->private_data;
	ssize_t ret;

	if (!iov_iter_count(from))
		return 0;
	for (;;) {
		ret = vc_port_put(port, from);
		if (ret != -EAGAIN || (file->f_flags & O_NONBLOCK))
			return ret;
		if (wait_event_interruptible(port->wait,
					     vc_port_can_write(port)))
			return -ERESTARTSYS;
	}
}

static __poll_t vc_port_poll(struct file *file, poll_table *wait)
{
	struct vc_port *port = file->private_data;
	__poll_t mask = 0;

	poll_wait(file, &port->wait, wait);
	if (vc_port_can_read(port))
		mask |= EPOLLIN | EPOLLRDNORM;
	if (data_race(vc_port_at_eof(port))) /* lockless hint */
		mask |= EPOLLHUP;
	if (vc_port_can_write(port))
		mask |= EPOLLOUT | EPOLLWRNORM;
	return mask;
}

static long vc_port_ioctl(struct file *file, unsigned int cmd,
			  unsigned long arg)
{
	struct vc_port *port = file->private_data;
	size_t readable;
	u64 dropped;

	switch (cmd) {
	case FIONREAD:
		mutex_lock(&port->lock);
		readable = vc_port_readable(port);
		mutex_unlock(&port->lock);
		return put_user(min_t(size_t, readable, INT_MAX),
				(int __user *)arg);
	case KTSTR_VC_PORT_GET_DROPPED:
		mutex_lock(&port->lock);
		dropped = port->dropped;
		mutex_unlock(&port->lock);
		return put_user(dropped, (u64 __user *)arg);
	default:
		return -ENOTTY;
	}
}

static const struct file_operations vc_port_fops;

/*
 * KTSTR_VC_GET_PORT_FD: the port as a new file, opened as its node would
 * be with flags.  The file holds the module, not the instance: ports
 * live as long as the module does.
 */
int vc_port_fd(struct vc_port *port, unsigned int flags)
{
	struct file *file;
	int fd, ret;

	fd = get_unused_fd_flags(flags & O_CLOEXEC);
	if (fd < 0)
		return fd;
	file = anon_inode_getfile("[ktstr-port]", &vc_port_fops, NULL,
				  flags & (O_ACCMODE | O_NONBLOCK));
	if (IS_ERR(file)) {
		put_unused_fd(fd);
		return PTR_ERR(file);
	}
	ret = vc_port_claim(port, file);
	if (ret) {
		fput(file);	/* unclaimed: its release gives nothing back */
		put_unused_fd(fd);
		return ret;
	}
	file->f_mode &= ~(FMODE_LSEEK | FMODE_PREAD | FMODE_PWRITE);
	file->f_mode |= FMODE_STREAM;
	fd_install(fd, file);
	return fd;
}

static const struct file_operations vc_port_fops = {
	.owner = THIS_MODULE,
	.open = vc_port_open,
	.release = vc_port_release,
	.read_iter = vc_port_read_iter,
	.write_iter = vc_port_write_iter,
	.poll = vc_port_poll,
	.unlocked_ioctl = vc_port_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
};

static int vc_buf_param_check(unsigned int param, const char *name,
			      size_t *size)
{
	if (param < VC_BUF_MIN || param > VC_BUF_MAX || !is_power_of_2(param)) {
		pr_err("%s=%u: not a power of two in %u-%u\n", name, param,
		       VC_BUF_MIN, VC_BUF_MAX);
		return -EINVAL;
	}
	*size = param;
	return 0;
}

static void vc_port_free(struct vc_port *port)
{
	vc_buf_free(&port->tx);
	vc_buf_free(&port->rx);
}

static int vc_port_init(struct vc_slot *slot, unsigned int id)
{
	struct vc_port *port = &slot->port[id];
	size_t tx_size, rx_size;
	int ret;

	port->slot = slot;
	port->id = id;
	port->reader_eof = U64_MAX;
	mutex_init(&port->lock);
	init_waitqueue_head(&port->wait);
	ret = vc_buf_param_check(tx_buf_size, "tx_buf_size", &tx_size);
	if (!ret)
		ret = vc_buf_param_check(rx_buf_size, "rx_buf_size", &rx_size);
	if (!ret)
		ret = vc_buf_init(&port->tx, tx_size);
	if (!ret)
		ret = vc_buf_init(&port->rx, rx_size);
	if (ret)
		vc_port_free(port);
	return ret;
}

static void vc_ports_free(struct vc_slot *slots, unsigned int nr)
{
	unsigned int i, p;

	for (i = 0; i < nr; i++)
		for (p = 0; p < KTSTR_VC_NUM_PORTS; p++)
			vc_port_free(&slots[i].port[p]);
}

static int vc_ports_alloc(struct vc_slot *slots, unsigned int nr)
{
	unsigned int i, p;
	int ret;

	for (i = 0; i < nr; i++) {
		spin_lock_init(&slots[i].lock);
		for (p = 0; p < KTSTR_VC_NUM_PORTS; p++) {
			ret = vc_port_init(&slots[i], p);
			if (ret) {
				vc_ports_free(slots, nr);
				return ret;
			}
		}
	}
	return 0;
}

static void vc_port_nodes_destroy(unsigned int nr_minors)
{
	while (nr_minors--)
		device_destroy(vc_port_class, vc_port_devt + nr_minors);
}

/* slot 0: ktstr-port0/1; slot N: ktstrN-port0/1 */
static int vc_port_nodes_create(unsigned int nr)
{
	unsigned int minor;
	struct device *d;

	for (minor = 0; minor < 2 * nr; minor++) {
		unsigned int slot = minor / 2, id = minor % 2;

		if (slot)
			d = device_create(vc_port_class, NULL,
					  vc_port_devt + minor, NULL,
					  KTSTR_VC_SLOT_PORT_FMT, slot, id);
		else
			d = device_create(vc_port_class, NULL,
					  vc_port_devt + minor, NULL,
					  KTSTR_VC_SLOT0_PORT_FMT, id);
		if (IS_ERR(d)) {
			vc_port_nodes_destroy(minor);
			return PTR_ERR(d);
		}
	}
	return 0;
}

/* Before 6.4, class_create() was a macro that also took the module. */
static struct class *vc_class_create(const char *name)
{
#ifdef class_create
	return class_create(THIS_MODULE, name);
#else
	return class_create(name);
#endif
}

int vc_ports_init(struct vc_slot *slots, unsigned int nr)
{
	int ret;

	ret = vc_ports_alloc(slots, nr);
	if (ret)
		return ret;
	vc_port_slots = slots;
	vc_port_nr_slots = nr;
	ret = alloc_chrdev_region(&vc_port_devt, 0, 2 * nr, "ktstr-port");
	if (ret)
		goto free;
	vc_port_class = vc_class_create("ktstr-port");
	if (IS_ERR(vc_port_class)) {
		ret = PTR_ERR(vc_port_class);
		goto unregister;
	}
	cdev_init(&vc_port_cdev, &vc_port_fops);
	vc_port_cdev.owner = THIS_MODULE;
	ret = cdev_add(&vc_port_cdev, vc_port_devt, 2 * nr);
	if (ret)
		goto destroy;
	ret = vc_port_nodes_create(nr);
	if (ret)
		goto del;
	return 0;
del:
	cdev_del(&vc_port_cdev);
destroy:
	class_destroy(vc_port_class);
unregister:
	unregister_chrdev_region(vc_port_devt, 2 * nr);
free:
	vc_ports_free(slots, nr);
	return ret;
}

void vc_ports_exit(struct vc_slot *slots, unsigned int nr)
{
	vc_port_nodes_destroy(2 * nr);
	cdev_del(&vc_port_cdev);
	class_destroy(vc_port_class);
	unregister_chrdev_region(vc_port_devt, 2 * nr);
	vc_ports_free(slots, nr);
}
