/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ktstr-vconsole internals.
 *
 * struct vc_dev is one device instance (one open control file, driven by a
 * VMM); struct vc_slot is what host readers and writers see (two ports and
 * their buffers), and outlives the instances attached to it in turn.
 *
 * The files form a stack, each calling only the ones below it:
 *
 *   main.c     the control device, its ioctls and the slots
 *   worker.c   a session: the worker thread, kick and call eventfds
 *   mmio.c     the register file, and the device reset it triggers
 *   data.c     queue handlers: the ports' TX and RX queues
 *   control.c  queue handlers: the multiport control queues
 *   vring.c    split virtqueues and the interrupt they raise
 *   mem.c      guest memory: the table and its translation
 *   port.c     the host side of the ports: nodes, readers, writers
 *   buf.c      the byte rings behind each port
 *   log.c      the instance's log line and the rejection of a guest action
 *
 * What every layer needs sits at the bottom: log.c's two functions, out of
 * line and cold so the ring code's fast paths carry no printk set-up (as
 * vhost.h's vq_err() is a call), and the queueing of work inline here.
 *
 * Lock order: vc_dev.lock -> vc_port.lock -> vc_slot.lock.
 */
#ifndef _KTSTR_VCONSOLE_H
#define _KTSTR_VCONSOLE_H

#include <linux/bitops.h>
#include <linux/cdev.h>
#include <linux/completion.h>
#include <linux/hrtimer.h>
#include <linux/mutex.h>
#include <linux/poll.h>
#include <linux/printk.h>
#include <linux/ratelimit.h>
#include <linux/sched.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/uio.h>
#include <linux/virtio_config.h>
#include <linux/virtio_console.h>
#include <linux/wait.h>
#include <linux/ktstr_vconsole.h>

/* A TX descriptor's bytes beyond this are not taken (reference device). */
#define VC_TX_DESC_MAX		(32 * 1024)
#define VC_TX_POLL_MAX_US	(1000U * 1000)

/*
 * A run's weight (vhost_exceeds_weight(), after CVE-2019-3900): every loop
 * over guest chains stops at a count of chains, of descriptors read and of
 * bytes moved, whichever comes first, so chains that carry nothing still
 * end a run.  A run at its weight requeues its queue; the worker
 * reschedules between runs.  DESCS is one chain as long as the largest
 * queue: every run takes at least one chain.
 */
#define VC_WEIGHT_BYTES		(256 * 1024)
#define VC_WEIGHT_DESCS		KTSTR_VC_QUEUE_MAX
#define VC_WEIGHT_PORT_CHAINS	64
#define VC_WEIGHT_CTRL_CHAINS	32

/* How much of its weight a run has used. */
struct vc_budget {
	unsigned int chains;
	unsigned int descs;
	size_t bytes;
};

/*
 * The drains of a reset and of a session's end take what the guest had
 * made available when they began (vc_vring_freeze); the reset drain, in
 * the vCPU's own ioctl, in at most this many runs per queue (a full ring
 * of honest chains), the final drain in at most this long in all.
 */
#define VC_DRAIN_RUNS_MAX	(KTSTR_VC_QUEUE_MAX / VC_WEIGHT_PORT_CHAINS)
#define VC_FINAL_DRAIN_MS	1000

/* Control messages the host can have queued at once (2 + 3 + 2). */
#define VC_CTRL_OUT_MAX		8

/* A byte ring with absolute positions: in - out bytes are queued. */
struct vc_buf {
	u8 *data;
	size_t size;			/* power of two */
	u64 in;				/* bytes ever stored */
	u64 out;			/* bytes ever consumed or dropped */
};

struct vc_slot;

struct vc_port {
	struct vc_slot *slot;
	unsigned int id;
	struct mutex lock;		/* buffers and reader state */
	struct vc_buf tx;		/* guest -> host: what readers read */
	struct vc_buf rx;		/* host -> guest: what writers wrote */
	wait_queue_head_t wait;		/* readers, writers and pollers */
	atomic_t reader_open;		/* one reader at a time */
	atomic_t writer_open;		/* one writer at a time */
	u64 reader_session;		/* the session the opener reads */
	u64 session_start;		/* tx position where the session began */
	/*
	 * Read without the lock too, as hints (wake-up conditions, poll,
	 * the final drain), with tx.in and tx.out: changed by WRITE_ONCE.
	 */
	u64 reader_eof;			/* tx position of its end, or U64_MAX */
	bool tx_stalled;		/* guest TX waits for reader room */
	u64 dropped;			/* port 0: oldest bytes given way */
};

struct vc_dev;

/*
 * holder and work_target name the same instance, under two locks and for
 * two spans: holder from ATTACH's claim until the slot is free again
 * (vc_slots_lock), work_target only while host-side work may still be
 * queued to it (lock), from the session's start to the first half of its
 * end (vc_slot_session_end_work()).
 */
struct vc_slot {
	unsigned int index;
	struct vc_dev *holder;		/* vc_slots_lock */
	spinlock_t lock;		/* work_target, session, live */
	struct vc_dev *work_target;
	u64 session;			/* sessions started so far */
	bool live;
	struct vc_port port[KTSTR_VC_NUM_PORTS];
};

struct vc_mem_region {
	u64 gpa;
	u64 size;
	u64 uaddr;
};

struct vc_mem {
	unsigned int nregions;
	struct vc_mem_region regions[];	/* sorted by gpa, disjoint */
};

/*
 * A chain, walked: its readable (out) and writable (in) descriptors as
 * iovecs in the VMM's address space, each part in ring order, as
 * vhost_get_vq_desc() fills them.  A descriptor outside guest memory is
 * left out and marks the chain (bad_seg); one of length 0 is left out.
 */
struct vc_chain {
	u16 head;
	unsigned int ndescs;		/* descriptors read, for the weight */
	const char *bad;		/* why it is malformed: use none of it */
	bool bad_seg;			/* some descriptor is outside memory */
	bool truncated;			/* a TX descriptor over VC_TX_DESC_MAX */
	unsigned int nout;
	unsigned int nin;
	size_t out_len;			/* bytes in out[] */
	size_t in_len;			/* bytes in in[] */
	size_t in_room;			/* writable bytes claimed, mapped or not */
	struct iovec out[KTSTR_VC_QUEUE_MAX];
	struct iovec in[KTSTR_VC_QUEUE_MAX];
};

/* One split virtqueue: the driver's configuration and our progress. */
struct vc_queue {
	u32 num;
	bool ready;
	u64 desc;
	u64 avail;
	u64 used;

	/* Set by vc_vring_map() for the current run. */
	void __user *desc_ua;
	void __user *avail_ua;
	void __user *used_ua;
	u16 avail_idx;			/* last avail->idx read */
	u16 last_avail;			/* next avail entry to take */
	u16 used_idx;			/* next used entry to fill */
	u16 used_published;		/* used->idx the guest can see */
	bool frozen;			/* a drain: avail->idx is not re-read */
	bool notify_off;		/* used->flags says NO_NOTIFY */
};

struct vc_kick {
	struct vc_dev *dev;
	unsigned int queue;
	struct file *file;
	wait_queue_head_t *wqh;
	wait_queue_entry_t wait;
	poll_table table;
};

struct vc_ctrl_msg {
	u32 id;
	u16 event;
	u16 value;
	const char *name;		/* PORT_NAME payload, or NULL */
};

/*
 * Lifetime: allocated at open(), freed at the last close(); a session runs
 * from ATTACH to DETACH or that close.  Session end goes one way: ending
 * is set first (every session ioctl then answers ENOTCONN, so nothing
 * new can be registered), the kick entries come off their eventfds, the
 * slot stops reaching us, the worker cancels its timer, drains and
 * stops; only then do the call eventfd, memory table and mm go.
 */
struct vc_dev {
	struct mutex session_lock;	/* attach and detach */
	struct mutex lock;		/* everything below but pending */
	struct vc_slot *slot;		/* NULL when detached */
	bool ending;			/* the session has begun to end */
	struct mm_struct *mm;		/* the VMM's, while attached */
	struct task_struct *worker;	/* held (get_task_struct) while set */
	struct completion worker_started;
	struct ratelimit_state ratelimit;	/* this instance's log lines */
	unsigned long pending;		/* queues with work, atomic bitops */
	struct eventfd_ctx *call;
	struct vc_mem *mem;
	struct vc_kick kick[KTSTR_VC_NUM_QUEUES];
	atomic64_t kicks[KTSTR_VC_NUM_QUEUES];
	struct hrtimer tx_poll;		/* port-1 TX: the next look, kicks off */

	/* Register file. */
	u32 status;
	u32 device_features_sel;
	u32 driver_features_sel;
	u64 driver_features;
	u32 queue_sel;
	u32 isr;
	u32 config_generation;
	struct vc_queue vq[KTSTR_VC_NUM_QUEUES];

	/* Multiport control protocol. */
	bool device_ready;
	bool port_ready[KTSTR_VC_NUM_PORTS];
	bool port_open[KTSTR_VC_NUM_PORTS];
	struct vc_ctrl_msg ctrl_out[VC_CTRL_OUT_MAX];
	unsigned int ctrl_head;
	unsigned int ctrl_len;

	struct vc_chain chain;		/* scratch for the chain being handled */
	struct ktstr_vc_stats stats;
};

static inline int vc_slot_id(const struct vc_dev *dev)
{
	return dev->slot ? (int)dev->slot->index : -1;
}

static inline bool vc_driver_ok(const struct vc_dev *dev)
{
	return dev->status & VIRTIO_CONFIG_S_DRIVER_OK;
}

static inline bool vc_multiport(const struct vc_dev *dev)
{
	return dev->driver_features & BIT_ULL(VIRTIO_CONSOLE_F_MULTIPORT);
}

/* log.c: the bottom of the stack, called from every layer. */
__printf(2, 3) __cold
void vc_log(struct vc_dev *dev, const char *fmt, ...);
__printf(3, 4) __cold
void vc_reject(struct vc_dev *dev, u64 *counter, const char *fmt, ...);

/*
 * Work for queue qi, from any context (a kick's wait-queue callback, the
 * poll timer in hard IRQ, a host reader or writer, an MMIO write) and
 * without dev->lock: the bit is atomic and dev->worker is read once.
 * Session end clears it only after every caller has been cut off.
 */
static inline void vc_queue_work(struct vc_dev *dev, unsigned int qi)
{
	struct task_struct *worker = READ_ONCE(dev->worker);

	set_bit(qi, &dev->pending);
	if (worker)
		wake_up_process(worker);
}

/* worker.c */
int vc_session_start(struct vc_dev *dev);
void vc_session_end(struct vc_dev *dev);
int vc_set_kick(struct vc_dev *dev, struct ktstr_vc_kick __user *uarg);
int vc_set_call(struct vc_dev *dev, struct ktstr_vc_call __user *uarg);
void vc_mem_changed(struct vc_dev *dev);

/* mmio.c */
u64 vc_device_features(void);
void vc_mmio_reset(struct vc_dev *dev);
void vc_mmio_read(struct vc_dev *dev, u32 offset, u8 *data, u32 len);
void vc_mmio_write(struct vc_dev *dev, u32 offset, const u8 *data, u32 len);

/* data.c */
void vc_tx_poll_init(struct vc_dev *dev);
void vc_tx_poll_cancel(struct vc_dev *dev);
bool vc_handle_tx(struct vc_dev *dev, unsigned int port_id, bool notify);
bool vc_handle_rx(struct vc_dev *dev, unsigned int port_id);
void vc_tx_drain_begin(struct vc_dev *dev);
bool vc_tx_drain(struct vc_dev *dev);
void vc_data_reset(struct vc_dev *dev, bool running);

/* control.c */
void vc_ctrl_reset(struct vc_dev *dev);
bool vc_handle_ctrl_tx(struct vc_dev *dev);
bool vc_handle_ctrl_rx(struct vc_dev *dev);

/* vring.c */
bool vc_vring_map(struct vc_dev *dev, unsigned int qi);
bool vc_queue_usable(struct vc_dev *dev, unsigned int qi);
void vc_vring_freeze(struct vc_dev *dev, unsigned int qi);
int vc_vring_peek(struct vc_dev *dev, unsigned int qi,
		  const struct vc_budget *b);
void vc_chain_out_iter(const struct vc_chain *c, struct iov_iter *iter);
void vc_chain_in_iter(const struct vc_chain *c, struct iov_iter *iter);
void vc_budget_charge(struct vc_budget *b, const struct vc_chain *c,
		      size_t bytes);
void vc_vring_consume(struct vc_dev *dev, unsigned int qi, u32 len);
bool vc_vring_publish(struct vc_dev *dev, unsigned int qi);
void vc_vring_set_notify(struct vc_dev *dev, unsigned int qi, bool on);
bool vc_vring_notify_on(struct vc_dev *dev, unsigned int qi);
void vc_signal(struct vc_dev *dev, unsigned int qi);

/* mem.c */
int vc_mem_set(struct vc_dev *dev, struct ktstr_vc_mem_table __user *uarg);
void vc_mem_free(struct vc_dev *dev);
void __user *vc_mem_translate(const struct vc_dev *dev, u64 gpa, u64 len);

/* port.c */
int vc_ports_init(struct vc_slot *slots, unsigned int nr);
void vc_ports_exit(struct vc_slot *slots, unsigned int nr);
int vc_port_fd(struct vc_port *port, unsigned int flags);
void vc_port_tx_stored(struct vc_port *port);
void vc_port_rx_taken(struct vc_port *port);
void vc_slot_session_start(struct vc_slot *slot, struct vc_dev *dev);
void vc_slot_session_end_work(struct vc_slot *slot);
void vc_slot_session_end(struct vc_slot *slot);
void vc_slot_queue_work(struct vc_slot *slot, unsigned int qi);

/* buf.c */
int vc_buf_init(struct vc_buf *b, size_t size);
void vc_buf_free(struct vc_buf *b);
size_t vc_buf_len(const struct vc_buf *b);
size_t vc_buf_space(const struct vc_buf *b);
int vc_buf_store(struct vc_buf *b, struct iov_iter *from, size_t len);
void vc_buf_commit(struct vc_buf *b, size_t len);
int vc_buf_load(const struct vc_buf *b, struct iov_iter *to, size_t len);
void vc_buf_consume(struct vc_buf *b, size_t len);

#endif /* _KTSTR_VCONSOLE_H */
