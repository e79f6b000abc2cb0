// SPDX-License-Identifier: GPL-2.0
/*
 * ktstr-vconsole: the module, its slots and the control device.
 *
 * /dev/ktstr-vconsole works like /dev/vhost-net: each open file is one
 * device instance, driven by a VMM through ioctls.  An instance attaches to
 * one of the slots created at load time; the slot is what host readers and
 * writers see, so it outlives the instances that come and go on it.
 */
#include <linux/build_bug.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "vconsole.h"

static unsigned int nr_slots = 4;
module_param(nr_slots, uint, 0444);
MODULE_PARM_DESC(nr_slots, "Number of device slots, each with two port devices (1-"
		 __stringify(KTSTR_VC_MAX_SLOTS) ", default 4)");

static struct vc_slot *vc_slots;
static DEFINE_MUTEX(vc_slots_lock);	/* vc_slot.holder of every slot */

static void vc_abi_checks(void)
{
	BUILD_BUG_ON(sizeof(struct ktstr_vc_attach) != 8);
	BUILD_BUG_ON(sizeof(struct ktstr_vc_mem_region) != 32);
	BUILD_BUG_ON(sizeof(struct ktstr_vc_mem_table) != 8);
	BUILD_BUG_ON(sizeof(struct ktstr_vc_kick) != 8);
	BUILD_BUG_ON(sizeof(struct ktstr_vc_call) != 8);
	BUILD_BUG_ON(sizeof(struct ktstr_vc_port_fd) != 8);
	BUILD_BUG_ON(sizeof(struct ktstr_vc_mmio) != 24);
	BUILD_BUG_ON(sizeof(struct ktstr_vc_info) != 48);
	BUILD_BUG_ON(sizeof(struct ktstr_vc_queue_stats) != 48);
	BUILD_BUG_ON(sizeof(struct ktstr_vc_stats) != 480);
}

static void vc_slot_unclaim(struct vc_slot *slot)
{
	mutex_lock(&vc_slots_lock);
	slot->holder = NULL;
	mutex_unlock(&vc_slots_lock);
}

/* Hold slot index (or the lowest free one for KTSTR_VC_SLOT_ANY). */
static struct vc_slot *vc_slot_claim(struct vc_dev *dev, u32 index)
{
	struct vc_slot *slot = ERR_PTR(-EBUSY);
	unsigned int i;

	mutex_lock(&vc_slots_lock);
	for (i = 0; i < nr_slots; i++) {
		if (index != KTSTR_VC_SLOT_ANY && index != i)
			continue;
		if (!vc_slots[i].holder) {
			slot = &vc_slots[i];
			slot->holder = dev;
			break;
		}
	}
	mutex_unlock(&vc_slots_lock);
	return slot;
}

static int vc_attach(struct vc_dev *dev, struct ktstr_vc_attach __user *uarg)
{
	struct ktstr_vc_attach arg;
	struct vc_slot *slot;
	int ret;

	lockdep_assert_held(&dev->session_lock);
	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	if (arg.flags || (arg.slot >= nr_slots && arg.slot != KTSTR_VC_SLOT_ANY))
		return -EINVAL;
	if (dev->slot)
		return -EISCONN;

	slot = vc_slot_claim(dev, arg.slot);
	if (IS_ERR(slot))
		return PTR_ERR(slot);
	/* Report the slot first: nothing to undo in a started session. */
	if (put_user(slot->index, &uarg->slot)) {
		vc_slot_unclaim(slot);
		return -EFAULT;
	}

	mutex_lock(&dev->lock);
	dev->slot = slot;
	ret = vc_session_start(dev);
	if (ret)
		dev->slot = NULL;
	mutex_unlock(&dev->lock);
	if (ret) {
		vc_slot_unclaim(slot);
		return ret;
	}
	vc_slot_session_start(slot, dev);
	return 0;
}

/* End the session; the slot is free for the next instance. */
static void vc_session_end_unclaim(struct vc_dev *dev)
{
	struct vc_slot *slot = dev->slot;

	lockdep_assert_held(&dev->session_lock);
	vc_session_end(dev);
	vc_slot_unclaim(slot);
}

/*
 * Only the VMM that attached may end its session early, as only vhost's
 * owner may reset it: not a forked child, nor a process the fd was
 * passed to.  They end it by closing the last reference.
 */
static int vc_detach(struct vc_dev *dev)
{
	lockdep_assert_held(&dev->session_lock);
	if (!dev->slot)
		return -ENOTCONN;
	if (dev->mm != current->mm)
		return -EPERM;
	vc_session_end_unclaim(dev);
	return 0;
}

static int vc_mmio(struct vc_dev *dev, struct ktstr_vc_mmio __user *uarg)
{
	struct ktstr_vc_mmio m;

	if (copy_from_user(&m, uarg, sizeof(m)))
		return -EFAULT;
	if (!m.len || m.len > sizeof(m.data) || m.padding ||
	    m.flags & ~KTSTR_VC_MMIO_WRITE ||
	    m.offset >= KTSTR_VC_MMIO_SIZE ||
	    m.len > KTSTR_VC_MMIO_SIZE - m.offset)
		return -EINVAL;

	if (m.flags & KTSTR_VC_MMIO_WRITE) {
		vc_mmio_write(dev, m.offset, m.data, m.len);
		return 0;
	}
	memset(m.data, 0, sizeof(m.data));
	vc_mmio_read(dev, m.offset, m.data, m.len);
	return copy_to_user(uarg->data, m.data, sizeof(m.data)) ? -EFAULT : 0;
}

/*
 * A port of this session's slot as a file of its own, so that a VMM
 * that may open the control device needs no access to the port nodes.
 */
static int vc_get_port_fd(struct vc_dev *dev,
			  struct ktstr_vc_port_fd __user *uarg)
{
	struct ktstr_vc_port_fd arg;

	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	if (arg.port >= KTSTR_VC_NUM_PORTS ||
	    arg.flags & ~(O_ACCMODE | O_NONBLOCK | O_CLOEXEC) ||
	    (arg.flags & O_ACCMODE) == O_ACCMODE)
		return -EINVAL;
	return vc_port_fd(&dev->slot->port[arg.port], arg.flags);
}

static int vc_get_info(struct vc_dev *dev, struct ktstr_vc_info __user *uarg)
{
	struct ktstr_vc_info info = {
		.abi_version = KTSTR_VC_ABI_VERSION,
		.slot = dev->slot ? dev->slot->index : KTSTR_VC_SLOT_NONE,
		.nr_slots = nr_slots,
		.num_queues = KTSTR_VC_NUM_QUEUES,
		.queue_max = KTSTR_VC_QUEUE_MAX,
		.mmio_size = KTSTR_VC_MMIO_SIZE,
		.device_status = dev->status,
		.device_features = vc_device_features(),
		.driver_features = dev->driver_features,
	};

	lockdep_assert_held(&dev->lock);
	return copy_to_user(uarg, &info, sizeof(info)) ? -EFAULT : 0;
}

/* Kicks from eventfds are counted outside the lock; fold them in. */
static int vc_get_stats(struct vc_dev *dev, struct ktstr_vc_stats __user *uarg)
{
	struct ktstr_vc_stats *st;
	unsigned int i;
	int ret;

	lockdep_assert_held(&dev->lock);
	st = kmemdup(&dev->stats, sizeof(*st), GFP_KERNEL);
	if (!st)
		return -ENOMEM;
	st->kicks = 0;
	for (i = 0; i < KTSTR_VC_NUM_QUEUES; i++) {
		st->queue[i].kicks += atomic64_read(&dev->kicks[i]);
		st->kicks += st->queue[i].kicks;
	}
	ret = copy_to_user(uarg, st, sizeof(*st)) ? -EFAULT : 0;
	kfree(st);
	return ret;
}

/* The ioctls that need a session, from the VMM that started it. */
static long vc_session_ioctl(struct vc_dev *dev, unsigned int cmd,
			     void __user *uarg)
{
	long ret;

	lockdep_assert_held(&dev->lock);
	/* A session that has begun to end takes nothing new (struct vc_dev). */
	if (!dev->slot || dev->ending)
		return -ENOTCONN;
	/* Guest memory is the owner's memory: only it may drive the device. */
	if (dev->mm != current->mm)
		return -EPERM;

	switch (cmd) {
	case KTSTR_VC_MMIO:
		return vc_mmio(dev, uarg);
	case KTSTR_VC_SET_MEM_TABLE:
		ret = vc_mem_set(dev, uarg);
		if (!ret)
			vc_mem_changed(dev);
		return ret;
	case KTSTR_VC_SET_KICK_FD:
		return vc_set_kick(dev, uarg);
	case KTSTR_VC_SET_CALL_FD:
		return vc_set_call(dev, uarg);
	case KTSTR_VC_GET_PORT_FD:
		return vc_get_port_fd(dev, uarg);
	default:
		return -ENOTTY;
	}
}

static long vc_locked_ioctl(struct vc_dev *dev, unsigned int cmd,
			    void __user *uarg)
{
	long ret;

	mutex_lock(&dev->lock);
	switch (cmd) {
	case KTSTR_VC_GET_INFO:
		ret = vc_get_info(dev, uarg);
		break;
	case KTSTR_VC_GET_STATS:
		ret = vc_get_stats(dev, uarg);
		break;
	case KTSTR_VC_MMIO:
	case KTSTR_VC_SET_MEM_TABLE:
	case KTSTR_VC_SET_KICK_FD:
	case KTSTR_VC_SET_CALL_FD:
	case KTSTR_VC_GET_PORT_FD:
		ret = vc_session_ioctl(dev, cmd, uarg);
		break;
	default:
		ret = -ENOTTY;
		break;
	}
	mutex_unlock(&dev->lock);
	return ret;
}

static long vc_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct vc_dev *dev = file->private_data;
	void __user *uarg = (void __user *)arg;
	long ret;

	switch (cmd) {
	case KTSTR_VC_ATTACH:
	case KTSTR_VC_DETACH:
		mutex_lock(&dev->session_lock);
		if (cmd == KTSTR_VC_ATTACH)
			ret = vc_attach(dev, uarg);
		else
			ret = vc_detach(dev);
		mutex_unlock(&dev->session_lock);
		return ret;
	default:
		return vc_locked_ioctl(dev, cmd, uarg);
	}
}

static int vc_open(struct inode *inode, struct file *file)
{
	struct vc_dev *dev = kvzalloc(sizeof(*dev), GFP_KERNEL_ACCOUNT);

	if (!dev)
		return -ENOMEM;
	mutex_init(&dev->session_lock);
	mutex_init(&dev->lock);
	ratelimit_state_init(&dev->ratelimit, DEFAULT_RATELIMIT_INTERVAL,
			     DEFAULT_RATELIMIT_BURST);
	/* Not shared yet; the lock is for the resets' lockdep assertions. */
	mutex_lock(&dev->lock);
	vc_mmio_reset(dev);
	vc_ctrl_reset(dev);
	mutex_unlock(&dev->lock);
	file->private_data = dev;
	return 0;
}

static int vc_release(struct inode *inode, struct file *file)
{
	struct vc_dev *dev = file->private_data;

	mutex_lock(&dev->session_lock);
	if (dev->slot)
		vc_session_end_unclaim(dev);
	mutex_unlock(&dev->session_lock);
	ratelimit_state_exit(&dev->ratelimit);
	mutex_destroy(&dev->lock);
	mutex_destroy(&dev->session_lock);
	kvfree(dev);
	return 0;
}

static const struct file_operations vc_ctrl_fops = {
	.owner = THIS_MODULE,
	.open = vc_open,
	.release = vc_release,
	.unlocked_ioctl = vc_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

static struct miscdevice vc_ctrl_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = KTSTR_VC_CTRL_NAME,
	.fops = &vc_ctrl_fops,
	/* Group kvm by the shipped udev rule, as /dev/kvm and /dev/vhost-*. */
	.mode = 0660,
};

static int __init vc_init(void)
{
	unsigned int i;
	int ret;

	vc_abi_checks();
	if (!nr_slots || nr_slots > KTSTR_VC_MAX_SLOTS) {
		pr_err("nr_slots=%u out of range 1-%u\n",
		       nr_slots, KTSTR_VC_MAX_SLOTS);
		return -EINVAL;
	}
	vc_slots = kcalloc(nr_slots, sizeof(*vc_slots), GFP_KERNEL);
	if (!vc_slots)
		return -ENOMEM;
	for (i = 0; i < nr_slots; i++)
		vc_slots[i].index = i;

	ret = vc_ports_init(vc_slots, nr_slots);
	if (ret)
		goto free;
	ret = misc_register(&vc_ctrl_misc);
	if (ret)
		goto ports;
	pr_info("version %s, %u slots, ABI %u\n", KTSTR_VC_VERSION, nr_slots,
		KTSTR_VC_ABI_VERSION);
	return 0;
ports:
	vc_ports_exit(vc_slots, nr_slots);
free:
	kfree(vc_slots);
	return ret;
}

static void __exit vc_exit(void)
{
	misc_deregister(&vc_ctrl_misc);
	vc_ports_exit(vc_slots, nr_slots);
	kfree(vc_slots);
}

module_init(vc_init);
module_exit(vc_exit);

MODULE_DESCRIPTION("Two-port virtio-console device for KVM guests, in the host kernel");
MODULE_AUTHOR("ktstr-vconsole developers");
MODULE_LICENSE("GPL");
MODULE_VERSION(KTSTR_VC_VERSION);
