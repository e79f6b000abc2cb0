// SPDX-License-Identifier: GPL-2.0
/*
 * Integrity mode: well-formed chains of random sizes and descriptor
 * splits carry a seeded pattern through both ports, and the host side
 * must get exactly what the device took.
 *
 * A round on a slot: the supervisor opens both port readers while the
 * slot is idle, so they read the next session (port.c), and forks a guest
 * that attaches, speaks the control handshake and streams both TX queues,
 * now and then resetting the device mid-stream and going on from where
 * the device stopped.  The round ends by SIGKILL (from the supervisor),
 * close, DETACH or a plain exit.  Guest RAM and the guest's log of posted
 * chains are shared with the supervisor, so once the guest is gone the
 * supervisor reads the used ring itself: the chains the device returned
 * say how many bytes must arrive.  Port 1 must deliver exactly those, in
 * order, whatever the reader's pauses; port 0 the same less what its
 * drop counter says gave way, each gap located from the pattern, which
 * names its own stream offsets.  Then read() must return 0.
 *
 * Every fourth round from the first is a trickle round: the VMM ends the
 * session (DETACH or close) from a thread of its own while the guest goes
 * on posting and port 1's reader trickles, so port 1 stays stalled with a
 * reader making progress.  A final drain that follows the live guest
 * never ends there; the watchdog sees the DETACH or close in flight.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/virtio_console.h>
#include <linux/virtio_ring.h>

#include "stress.h"

/* Guest RAM of one slot: rings, control buffers, then data. */
#define IG_GPA			0x40000000ull
#define IG_RAM			(20u << 20)
#define IG_AREA			0x4000u		/* desc, avail, used */
#define IG_AVAIL		0x1000u
#define IG_USED			0x2000u
#define IG_RINGS_END		0x200000u
#define IG_CTRL_NUM		16u
#define IG_CTRL_RXBUF		0x20000u
#define IG_CTRL_RXLEN		64u
#define IG_CTRL_TXBUF		0x21000u
#define IG_SEG_MAX		(32u * 1024)	/* the device's per-descriptor cap */
#define IG_SEGS_MAX		8u
#define IG_NUM_MAX		256u
#define IG_LOG			1024u
#define IG_READ_MAX		65536u

#define IG_STALL_NS		(10 * SX_NS_PER_SEC)
#define IG_WAIT_NS		(5 * SX_NS_PER_SEC)
#define IG_EOF_NS		(20 * SX_NS_PER_SEC)
#define IG_NO_SESSION_NS	(2 * SX_NS_PER_SEC)

/*
 * Trickle rounds: the session ends IG_TRICKLE_LEAD_NS after the start,
 * once port 1's host buffer is full (FIONREAD still for IG_FULL_NS while
 * the guest posts; IG_FILL_NS at most); then the reader takes
 * IG_TRICKLE_READ every IG_TRICKLE_US, for at most IG_TRICKLE_NS: past
 * the watchdog's 10 s, so it is the watchdog that speaks, and bounded, so
 * a drain that follows the reader ends once the guest is killed.
 */
#define IG_TRICKLE_EVERY	4u
#define IG_TRICKLE_LEAD_NS	(1 * SX_NS_PER_SEC)
/* The debug kernel under TCG on a busy host fills 2 MiB in 10 s or more. */
#define IG_FILL_NS		(15 * SX_NS_PER_SEC)
#define IG_FULL_NS		(200 * SX_NS_PER_MS)
#define IG_TRICKLE_READ		4096u
#define IG_TRICKLE_US		50000u
#define IG_TRICKLE_NS		(12 * SX_NS_PER_SEC)

/*
 * Host bytes for the guest, written on port 1 around a reset
 * (ig_stale_write(), ig_fresh_check()): port 1's one RX chain takes
 * them at IG_RXBUF, past the TX data.
 */
#define IG_RXBUF		0x1200000u
#define IG_HOST_MAX		4096u
#define IG_STALE_BYTE		0xee
#define IG_FRESH_BYTE		0x11
#if IG_RINGS_END + 2 * IG_NUM_MAX * IG_SEG_MAX > IG_RXBUF || \
	IG_RXBUF + IG_HOST_MAX > IG_RAM
#error "IG_RXBUF overlaps the TX data or runs past the guest's RAM"
#endif

/* ig_poll_swap()'s table: one page past the RAM, so no ring is in it. */
#define IG_SWAP_GPA		(IG_GPA + IG_RAM)
#define IG_SWAP_SIZE		4096u
#define IG_SWAP_LOOK_NS		(500 * SX_NS_PER_MS)
#define IG_SWAP_TRIES		8u
#define IG_SWAP_EVERY_NS	(100 * SX_NS_PER_MS)

/* A TX queue's two ring sets, one per epoch, then the other queues'. */
static __u32 ig_txring(unsigned int port, unsigned int set)
{
	return 0x100000u + (2 * port + set) * IG_AREA;
}

static __u32 ig_qring(unsigned int q)
{
	return q * IG_AREA;
}

/* Descriptor d of a port's TX ring owns IG_SEG_MAX bytes of data. */
static __u32 ig_data(unsigned int port, unsigned int d)
{
	return IG_RINGS_END + (port * IG_NUM_MAX + d) * IG_SEG_MAX;
}

static unsigned int ig_txq(unsigned int port)
{
	return port ? KTSTR_VC_Q_PORT1_TX : KTSTR_VC_Q_PORT0_TX;
}

/* One chain as posted: where in the stream its bytes start, how many. */
struct ig_chain {
	__u64 off;
	__u64 len;
};

/*
 * A ring epoch runs from a (re)start of the queue to the next reset, in
 * ring set cur of its port.  The guest logs each chain before it counts
 * it posted, and counts it before the avail index moves: whatever instant
 * SIGKILL picks, the used ring the supervisor reads is covered.
 */
struct ig_epoch {
	__u64 base;			/* stream offset of the first chain */
	__u64 posted;
	__u64 consumed;			/* used entries the guest has seen */
	__u32 num;
	__u32 pad;
	struct ig_chain log[IG_LOG];
};

/* A reset flips cur to the other, zeroed ring set in one store. */
struct ig_port {
	__u32 cur;
	__u32 pad;
	struct ig_epoch ep[2];
};

struct ig_ctl {
	__u32 attached;
	__u32 streaming;
	__u32 trickle;			/* port 1's reader trickles */
	__u32 full;			/* port 1's reader saw it full */
	__u64 end_ms;			/* how long the trickle round's end took */
	__u64 key[KTSTR_VC_NUM_PORTS];
	struct ig_port port[KTSTR_VC_NUM_PORTS];
};

enum ig_ending {
	IG_END_KILL,
	IG_END_CLOSE,
	IG_END_DETACH,
	IG_END_EXIT,
};

static const char * const ig_ending_names[] = {
	[IG_END_KILL] = "SIGKILL",
	[IG_END_CLOSE] = "close",
	[IG_END_DETACH] = "DETACH",
	[IG_END_EXIT] = "exit",
};

/* What the supervisor decides for a round, before the fork. */
struct ig_plan {
	unsigned int slot;
	unsigned int round;
	enum ig_ending ending;
	bool trickle;			/* ended by ig_ender_main() */
	__u64 start_ns;
	__u64 end_ns;			/* the guest's own end */
	__u64 kill_ns;			/* the supervisor's SIGKILL */
	__u64 reset_ns[2];		/* 0: none */
	__u64 swap_ns;			/* ig_poll_swap(), 0: none */
	__u64 stream;			/* the guest's PRNG stream */
};

/* The guest's side of one TX queue. */
struct ig_tx {
	unsigned int port;
	unsigned int q;
	unsigned int num;
	struct ig_epoch *ep;
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	__u16 avail_idx;
	__u16 last_used;
	__u16 next_desc;
	unsigned int free;
	__u16 head[IG_NUM_MAX];
	__u8 nsegs[IG_NUM_MAX];
	__u64 key;
	__u64 stream;			/* offset of the next byte to post */
	__u64 progress_ns;
	bool stall_said;
	bool broken;
	bool burst;			/* one-descriptor chains, many a kick */
};

struct ig_guest {
	const struct ig_plan *plan;
	struct ig_ctl *ctl;
	__u8 *ram;
	int fd;
	int call_fd;
	int kick_fd[KTSTR_VC_NUM_QUEUES];
	struct ig_tx tx[KTSTR_VC_NUM_PORTS];
	__u16 crx_avail;
	__u16 crx_used;
	__u16 ctx_avail;
	__u16 ctx_next;
	struct sx_rng rng;
	pthread_t ender;
	__u32 ending;			/* the trickle round's end was called */
	__u32 ended;			/* the trickle round's end returned */
	struct ktstr_vc_stats stats;	/* the last GET_STATS, if stats_valid */
	bool stats_valid;
	__u64 stats_due;		/* when ig_weights_watch() reads again */
	int port1_w;			/* port 1 written as the host, or -1 */
	int kmsg;			/* /dev/kmsg until ig_klog_check(), or -1 */
	void *swap_page;		/* ig_poll_swap()'s one region */
	unsigned int swaps;		/* ig_poll_swap()'s tries */
	bool swapped;
	bool failed;
};

#define ig_guest_err(g, ...)				\
	do {					\
		(g)->failed = true;		\
		sx_err(__VA_ARGS__);		\
	} while (0)

static struct vring_desc *ig_desc(__u8 *ram, __u32 ring)
{
	return (struct vring_desc *)(ram + ring);
}

static struct vring_avail *ig_avail(__u8 *ram, __u32 ring)
{
	return (struct vring_avail *)(ram + ring + IG_AVAIL);
}

static struct vring_used *ig_used(__u8 *ram, __u32 ring)
{
	return (struct vring_used *)(ram + ring + IG_USED);
}

static __u16 ig_used_idx(const struct vring_used *used)
{
	return __atomic_load_n(&used->idx, __ATOMIC_ACQUIRE);
}

static void ig_publish(struct vring_avail *avail, __u16 *idx,
		       unsigned int num, __u16 head)
{
	avail->ring[*idx % num] = head;
	/* The entry before the index that publishes it. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	(*idx)++;
	__atomic_store_n(&avail->idx, *idx, __ATOMIC_RELEASE);
}

/* Mostly the kick eventfd, as KVM's ioeventfd; sometimes QUEUE_NOTIFY. */
static void ig_kick(struct ig_guest *g, unsigned int q)
{
	__u64 one = 1;
	ssize_t n;

	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	/* Not in a trickle round: the fd may be closed under the kick. */
	if (!g->plan->trickle && sx_chance(&g->rng, 100)) {
		sx_w32(g->fd, VIRTIO_MMIO_QUEUE_NOTIFY, q);
		return;
	}
	sx_begin(SX_K_KICK, 0);
	n = write(g->kick_fd[q], &one, sizeof(one));
	sx_end(SX_K_KICK, n == sizeof(one) ? 0 : errno, 0);
}

static int ig_setup_queue(struct ig_guest *g, unsigned int q,
			  unsigned int num, __u32 ring)
{
	__u64 desc = IG_GPA + ring;
	const __u32 regs[][2] = {
		{ VIRTIO_MMIO_QUEUE_SEL, q },
		{ VIRTIO_MMIO_QUEUE_NUM, num },
		{ VIRTIO_MMIO_QUEUE_DESC_LOW, (__u32)desc },
		{ VIRTIO_MMIO_QUEUE_DESC_HIGH, (__u32)(desc >> 32) },
		{ VIRTIO_MMIO_QUEUE_AVAIL_LOW, (__u32)(desc + IG_AVAIL) },
		{ VIRTIO_MMIO_QUEUE_AVAIL_HIGH, (__u32)((desc + IG_AVAIL) >> 32) },
		{ VIRTIO_MMIO_QUEUE_USED_LOW, (__u32)(desc + IG_USED) },
		{ VIRTIO_MMIO_QUEUE_USED_HIGH, (__u32)((desc + IG_USED) >> 32) },
		{ VIRTIO_MMIO_QUEUE_READY, 1 },
	};
	unsigned int i;
	__u32 ready;
	int err;

	for (i = 0; i < ARRAY_SIZE(regs); i++) {
		err = sx_w32(g->fd, regs[i][0], regs[i][1]);
		if (err)
			return err;
	}
	err = sx_r32(g->fd, VIRTIO_MMIO_QUEUE_READY, &ready);
	return err ? err : ready == 1 ? 0 : -EPROTO;
}

/* Status writes with the one read back that says the step was taken. */
static int ig_status(struct ig_guest *g, __u32 status)
{
	__u32 now;
	int err;

	err = sx_w32(g->fd, VIRTIO_MMIO_STATUS, status);
	if (!err)
		err = sx_r32(g->fd, VIRTIO_MMIO_STATUS, &now);
	return err ? err : now == status ? 0 : -EPROTO;
}

static void ig_ctrl_post(struct ig_guest *g, unsigned int i)
{
	struct vring_desc *d = ig_desc(g->ram, ig_qring(KTSTR_VC_Q_CTRL_RX));

	d[i].addr = IG_GPA + IG_CTRL_RXBUF + IG_CTRL_RXLEN * i;
	d[i].len = IG_CTRL_RXLEN;
	d[i].flags = VRING_DESC_F_WRITE;
	d[i].next = 0;
	ig_publish(ig_avail(g->ram, ig_qring(KTSTR_VC_Q_CTRL_RX)),
		   &g->crx_avail, IG_CTRL_NUM, i);
}

static void ig_ctrl_send(struct ig_guest *g, __u32 id, __u16 event,
			 __u16 value)
{
	struct vring_desc *d = ig_desc(g->ram, ig_qring(KTSTR_VC_Q_CTRL_TX));
	struct virtio_console_control msg = {
		.id = htole32(id),
		.event = htole16(event),
		.value = htole16(value),
	};
	unsigned int i = g->ctx_next++ % IG_CTRL_NUM;
	__u32 off = IG_CTRL_TXBUF + 16 * i;

	memcpy(g->ram + off, &msg, sizeof(msg));
	d[i].addr = IG_GPA + off;
	d[i].len = sizeof(msg);
	d[i].flags = 0;
	d[i].next = 0;
	ig_publish(ig_avail(g->ram, ig_qring(KTSTR_VC_Q_CTRL_TX)),
		   &g->ctx_avail, IG_CTRL_NUM, i);
	ig_kick(g, KTSTR_VC_Q_CTRL_TX);
}

/* The next control message from the device, its buffer posted again. */
static int ig_ctrl_recv(struct ig_guest *g, struct virtio_console_control *m,
			char *name, size_t name_len)
{
	struct vring_used *u = ig_used(g->ram, ig_qring(KTSTR_VC_Q_CTRL_RX));
	__u64 end = sx_now_ns() + IG_WAIT_NS;
	struct vring_used_elem e;
	const __u8 *buf;
	size_t n;

	while (ig_used_idx(u) == g->crx_used) {
		if (sx_now_ns() > end)
			return -ETIMEDOUT;
		sx_sleep_us(200);
	}
	e = u->ring[g->crx_used++ % IG_CTRL_NUM];
	if (e.id >= IG_CTRL_NUM || e.len < sizeof(*m) || e.len > IG_CTRL_RXLEN)
		return -EPROTO;
	buf = g->ram + IG_CTRL_RXBUF + IG_CTRL_RXLEN * e.id;
	memcpy(m, buf, sizeof(*m));
	n = e.len - sizeof(*m);
	if (n >= name_len)
		n = name_len - 1;
	memcpy(name, buf + sizeof(*m), n);
	name[n] = '\0';
	ig_ctrl_post(g, e.id);
	ig_kick(g, KTSTR_VC_Q_CTRL_RX);
	return 0;
}

static const struct {
	__u16 event;
	__u32 id;
	const char *name;
} ig_ctrl_want[] = {
	{ VIRTIO_CONSOLE_PORT_ADD, 0, NULL },
	{ VIRTIO_CONSOLE_PORT_ADD, 1, NULL },
	{ VIRTIO_CONSOLE_CONSOLE_PORT, 0, NULL },
	{ VIRTIO_CONSOLE_PORT_NAME, 0, KTSTR_VC_PORT0_NAME },
	{ VIRTIO_CONSOLE_PORT_OPEN, 0, NULL },
	{ VIRTIO_CONSOLE_PORT_NAME, 1, KTSTR_VC_PORT1_NAME },
	{ VIRTIO_CONSOLE_PORT_OPEN, 1, NULL },
};

/* Which expected message is m (one not yet seen), or -1. */
static int ig_ctrl_match(const struct virtio_console_control *m,
			 const char *name, unsigned int seen)
{
	unsigned int j;

	for (j = 0; j < ARRAY_SIZE(ig_ctrl_want); j++) {
		if (seen & (1u << j) || le16toh(m->event) != ig_ctrl_want[j].event ||
		    le32toh(m->id) != ig_ctrl_want[j].id || le16toh(m->value) != 1)
			continue;
		if (ig_ctrl_want[j].name && strcmp(name, ig_ctrl_want[j].name))
			continue;
		return j;
	}
	return -1;
}

/* The Linux driver's handshake: both ports added, named and open. */
static int ig_handshake(struct ig_guest *g)
{
	struct vring_used *tx_used =
		ig_used(g->ram, ig_qring(KTSTR_VC_Q_CTRL_TX));
	struct virtio_console_control m;
	unsigned int i, seen = 0;
	char name[IG_CTRL_RXLEN];
	bool want_add, is_add;
	__u64 end;
	int j;

	for (i = 0; i < IG_CTRL_NUM; i++)
		ig_ctrl_post(g, i);
	ig_kick(g, KTSTR_VC_Q_CTRL_RX);
	ig_ctrl_send(g, 0xffffffff, VIRTIO_CONSOLE_DEVICE_READY, 1);
	for (i = 0; i < ARRAY_SIZE(ig_ctrl_want); i++) {
		if (i == 2) {
			ig_ctrl_send(g, 0, VIRTIO_CONSOLE_PORT_READY, 1);
			ig_ctrl_send(g, 1, VIRTIO_CONSOLE_PORT_READY, 1);
		}
		if (ig_ctrl_recv(g, &m, name, sizeof(name))) {
			ig_guest_err(g, "control message %u of %zu never came", i + 1,
				     ARRAY_SIZE(ig_ctrl_want));
			return -EPROTO;
		}
		j = ig_ctrl_match(&m, name, seen);
		/* The two PORT_ADDs first, then the five for the ports. */
		want_add = i < 2;
		is_add = j < 2;
		if (j < 0 || want_add != is_add) {
			ig_guest_err(g, "control message %u: id %u event %u value %u name '%s' not expected",
				     i + 1, le32toh(m.id), le16toh(m.event),
				     le16toh(m.value), name);
			return -EPROTO;
		}
		seen |= 1u << j;
	}
	ig_ctrl_send(g, 1, VIRTIO_CONSOLE_PORT_OPEN, 1);
	end = sx_now_ns() + IG_WAIT_NS;
	while (ig_used_idx(tx_used) != g->ctx_avail) {
		if (sx_now_ns() > end) {
			ig_guest_err(g, "the device took %u of %u control messages",
				     ig_used_idx(tx_used), g->ctx_avail);
			return -EPROTO;
		}
		sx_sleep_us(200);
	}
	sx_count(SX_C_HANDSHAKES, 1);
	return 0;
}

/* Point queue t at its port's current epoch, from an empty ring. */
static void ig_tx_start(struct ig_guest *g, struct ig_tx *t, unsigned int port)
{
	struct ig_port *sp = &g->ctl->port[port];
	unsigned int cur = sp->cur;
	__u32 ring = ig_txring(port, cur);

	t->port = port;
	t->q = ig_txq(port);
	t->ep = &sp->ep[cur];
	t->num = t->ep->num;
	t->desc = ig_desc(g->ram, ring);
	t->avail = ig_avail(g->ram, ring);
	t->used = ig_used(g->ram, ring);
	t->avail_idx = 0;
	t->last_used = 0;
	t->next_desc = 0;
	t->free = t->num;
	t->key = g->ctl->key[port];
	t->stream = t->ep->base;
	t->progress_ns = sx_now_ns();
	t->stall_said = false;
	t->broken = false;
}

/* From reset to the driver's features written, FEATURES_OK not yet. */
static int ig_features_write(struct ig_guest *g, __u64 features)
{
	int err = sx_w32(g->fd, VIRTIO_MMIO_STATUS, 0);

	if (!err)
		err = ig_status(g, VC_S_ACK);
	if (!err)
		err = ig_status(g, VC_S_DRV);
	if (!err)
		err = sx_w32(g->fd, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	if (!err)
		err = sx_w32(g->fd, VIRTIO_MMIO_DRIVER_FEATURES,
			     (__u32)features);
	if (!err)
		err = sx_w32(g->fd, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	if (!err)
		err = sx_w32(g->fd, VIRTIO_MMIO_DRIVER_FEATURES,
			     (__u32)(features >> 32));
	return err;
}

/*
 * Issue 8's rate limit, per instance: the first refusal below is the
 * instance's first line, so it is in the kernel log, however fast the
 * flooder's slot (flood.c) has its lines refused meanwhile; a limit
 * shared by all instances would be the flooder's.
 */
static void ig_klog_check(struct ig_guest *g)
{
	__u64 end = sx_now_ns() + IG_WAIT_NS;
	char want[80], rec[1024];
	bool overrun = false;
	const char *msg;
	ssize_t n;

	snprintf(want, sizeof(want), "ktstr_vconsole: slot %u: FEATURES_OK refused",
		 g->plan->slot);
	while (sx_now_ns() < end) {
		n = read(g->kmsg, rec, sizeof(rec) - 1);
		if (n < 0) {
			/* EPIPE: records lost to the ring; go on after them. */
			overrun |= errno == EPIPE;
			if (errno != EPIPE)
				sx_sleep_us(1000);
			continue;
		}
		rec[n] = '\0';
		msg = strchr(rec, ';');
		if (msg && !strncmp(msg + 1, want, strlen(want))) {
			sx_count(SX_C_KLOG_CHECKS, 1);
			goto out;
		}
	}
	if (overrun)
		sx_info("slot %u: kernel log records lost, its refusal not looked for",
			g->plan->slot);
	else
		ig_guest_err(g, "slot %u: FEATURES_OK refused, but no line '%s' in the kernel log within %llu s",
			     g->plan->slot, want, IG_WAIT_NS / SX_NS_PER_SEC);
out:
	close(g->kmsg);
	g->kmsg = -1;
}

/*
 * An invariant first (virtio 1.2, 2.2.2): FEATURES_OK stays clear for a
 * set with a bit the device never offered, or without VERSION_1.  This
 * guest is its instance's only MMIO thread, so the read-back is exact.
 */
static int ig_features_refused(struct ig_guest *g)
{
	__u64 bad = VC_DEVICE_FEATURES & ~VC_F_VERSION_1;
	__u32 status;
	int err;

	if (sx_chance(&g->rng, 500))
		bad = VC_DEVICE_FEATURES | 1ull << sx_range(&g->rng, 40, 63);
	err = ig_features_write(g, bad);
	/* Only what the kernel logs from here on. */
	if (g->kmsg >= 0)
		lseek(g->kmsg, 0, SEEK_END);
	if (!err)
		err = sx_w32(g->fd, VIRTIO_MMIO_STATUS, VC_S_FEAT);
	if (!err)
		err = sx_r32(g->fd, VIRTIO_MMIO_STATUS, &status);
	if (!err && (status & VIRTIO_CONFIG_S_FEATURES_OK)) {
		ig_guest_err(g, "FEATURES_OK accepted for features %#llx",
			     (unsigned long long)bad);
		return -EPROTO;
	}
	if (!err && g->kmsg >= 0)
		ig_klog_check(g);
	return err;
}

/* Reset, features, the six queues, DRIVER_OK and the handshake. */
static int ig_device_start(struct ig_guest *g)
{
	unsigned int q, port;
	int err;

	err = ig_features_refused(g);
	if (!err)
		err = ig_features_write(g, VC_DEVICE_FEATURES);
	if (!err)
		err = ig_status(g, VC_S_FEAT);
	for (q = 0; !err && q < KTSTR_VC_NUM_QUEUES; q++) {
		if (q == KTSTR_VC_Q_PORT0_TX || q == KTSTR_VC_Q_PORT1_TX) {
			port = q == KTSTR_VC_Q_PORT1_TX;
			err = ig_setup_queue(g, q, g->tx[port].num,
					     ig_txring(port, g->ctl->port[port].cur));
			continue;
		}
		memset(g->ram + ig_qring(q), 0, IG_AREA);
		err = ig_setup_queue(g, q, IG_CTRL_NUM, ig_qring(q));
	}
	if (!err)
		err = ig_status(g, VC_S_OK);
	if (err) {
		ig_guest_err(g, "device start: %s", err == -EPROTO ?
			     "a step did not stick" : sx_errno_name(err));
		return -EPROTO;
	}
	sx_count(SX_C_DRIVER_OK, 1);
	g->crx_avail = 0;
	g->crx_used = 0;
	g->ctx_avail = 0;
	g->ctx_next = 0;
	return ig_handshake(g);
}

/* Cut len bytes into n descriptors of at most IG_SEG_MAX each. */
static void ig_split(struct sx_rng *r, __u64 len, unsigned int n, __u32 *seg)
{
	__u64 left = len, rest, lo, hi;
	unsigned int i;

	for (i = 0; i + 1 < n; i++) {
		rest = (__u64)(n - 1 - i) * IG_SEG_MAX;
		lo = left > rest ? left - rest : 0;
		hi = left < IG_SEG_MAX ? left : IG_SEG_MAX;
		seg[i] = sx_range(r, lo, hi);
		left -= seg[i];
	}
	seg[n - 1] = left;
}

/* Mostly small, sometimes up to what max descriptors hold, a few empty. */
static __u64 ig_chain_len(struct sx_rng *r, unsigned int max)
{
	unsigned int pick = sx_below(r, 100);

	if (pick < 3)
		return 0;
	if (pick < 40)
		return sx_range(r, 1, 512);
	if (pick < 85 || max == 1)
		return sx_range(r, 513, IG_SEG_MAX / 2);
	return sx_range(r, IG_SEG_MAX / 2 + 1, (__u64)max * IG_SEG_MAX);
}

/* Fill, describe, log and publish one chain; false if there is no room. */
static bool ig_post(struct ig_guest *g, struct ig_tx *t)
{
	unsigned int max = t->free < IG_SEGS_MAX ? t->free : IG_SEGS_MAX;
	__u16 head = t->next_desc, pos;
	__u32 seg[IG_SEGS_MAX];
	__u64 len, at, posted;
	unsigned int n, i;

	if (t->burst && max)
		max = 1;
	if (!max || t->broken || (__u16)(t->avail_idx - t->last_used) >= t->num)
		return false;
	len = ig_chain_len(&g->rng, max);
	n = sx_range(&g->rng, len ? (len + IG_SEG_MAX - 1) / IG_SEG_MAX : 1,
		     max);
	ig_split(&g->rng, len, n, seg);
	at = t->stream;
	for (i = 0; i < n; i++) {
		__u16 d = t->next_desc;
		__u32 off = ig_data(t->port, d) +
			    sx_below(&g->rng, IG_SEG_MAX - seg[i] + 1);

		sx_pat_fill(g->ram + off, seg[i], t->key, at);
		at += seg[i];
		/* An empty descriptor's address is never looked at. */
		t->desc[d].addr = seg[i] || sx_chance(&g->rng, 500) ?
				  IG_GPA + off : 0;
		t->desc[d].len = seg[i];
		t->desc[d].flags = i + 1 < n ? VRING_DESC_F_NEXT : 0;
		t->desc[d].next = (d + 1) % t->num;
		t->next_desc = (d + 1) % t->num;
	}
	t->free -= n;
	pos = t->avail_idx % t->num;
	t->head[pos] = head;
	t->nsegs[pos] = n;
	posted = t->ep->posted;
	t->ep->log[posted % IG_LOG] = (struct ig_chain){ t->stream, len };
	__atomic_store_n(&t->ep->posted, posted + 1, __ATOMIC_RELEASE);
	t->stream += len;
	ig_publish(t->avail, &t->avail_idx, t->num, head);
	sx_count(SX_C_CHAINS_POSTED, 1);
	return true;
}

/* Take back what the device returned: in order, ids as posted, len 0. */
static void ig_reap(struct ig_guest *g, struct ig_tx *t)
{
	__u16 used = ig_used_idx(t->used);
	struct vring_used_elem e;
	__u16 pos;

	if (t->broken)
		return;
	if ((__u16)(used - t->last_used) > (__u16)(t->avail_idx - t->last_used)) {
		ig_guest_err(g, "port %u TX: used index %u is past the %u chains posted",
			     t->port, used, t->avail_idx);
		t->broken = true;
		return;
	}
	while (t->last_used != used) {
		pos = t->last_used % t->num;
		e = t->used->ring[pos];
		if (e.id != t->head[pos] || e.len) {
			ig_guest_err(g, "port %u TX used entry %u: id %u len %u, posted head %u",
				     t->port, t->last_used, e.id, e.len, t->head[pos]);
			t->broken = true;
			return;
		}
		t->free += t->nsegs[pos];
		t->last_used++;
		__atomic_store_n(&t->ep->consumed, t->ep->consumed + 1,
				 __ATOMIC_RELEASE);
		t->progress_ns = sx_now_ns();
		sx_count(SX_C_CHAINS_USED, 1);
	}
}

/* A kick unless the device said it would look by itself (NO_NOTIFY). */
static void ig_notify(struct ig_guest *g, struct ig_tx *t)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!(__atomic_load_n(&t->used->flags, __ATOMIC_RELAXED) &
	      VRING_USED_F_NO_NOTIFY))
		ig_kick(g, t->q);
}

/*
 * Chains the device leaves in the ring for 10 s although the reader reads
 * (its pauses are shorter): a lost wake-up.  Kick once, and say so.
 */
static void ig_stall_check(struct ig_guest *g, struct ig_tx *t)
{
	if (t->broken || t->stall_said || t->avail_idx == t->last_used ||
	    sx_now_ns() - t->progress_ns < IG_STALL_NS)
		return;
	t->stall_said = true;
	ig_guest_err(g, "port %u TX: %u chains waiting, none used for 10 s (used flags %#x)",
		     t->port, (__u16)(t->avail_idx - t->last_used), t->used->flags);
	ig_kick(g, t->q);
}

/* The stream offset up to which the epoch's chains were used. */
static __u64 ig_epoch_end(const struct ig_epoch *ep, __u64 n)
{
	const struct ig_chain *c;

	if (!n)
		return ep->base;
	c = &ep->log[(n - 1) % IG_LOG];
	return c->off + c->len;
}

static int ig_rx_discarded(struct ig_guest *g, __u64 *n)
{
	struct ktstr_vc_stats st;
	int err;

	err = sx_ioctl(SX_K_GET_STATS, g->fd, KTSTR_VC_GET_STATS, &st, 0);
	*n = st.rx_discarded;
	return err;
}

/* Write len bytes of c on port 1 as the host: how many went in. */
static size_t ig_host_write(struct ig_guest *g, __u8 c, size_t len)
{
	__u8 buf[IG_HOST_MAX];
	ssize_t n;

	memset(buf, c, len);
	sx_begin(SX_K_PORT_WRITE, 0);
	n = write(g->port1_w, buf, len);
	sx_end(SX_K_PORT_WRITE, n < 0 ? errno : 0, 0);
	return n > 0 ? n : 0;
}

/*
 * Issue 8's reset rule, first half: host bytes queued for a running
 * guest are gone with its reset, counted in rx_discarded.  Port 1's RX
 * ring holds no chain here (ig_fresh_check() fills the one it posts),
 * so what is written now stays queued until the reset.
 */
static size_t ig_stale_write(struct ig_guest *g, __u64 *discarded)
{
	if (g->port1_w < 0 || g->plan->trickle ||
	    ig_rx_discarded(g, discarded))
		return 0;
	return ig_host_write(g, IG_STALE_BYTE,
			     sx_range(&g->rng, 1, IG_HOST_MAX));
}

static void ig_stale_gone(struct ig_guest *g, size_t stale, __u64 before)
{
	__u64 now;

	if (!stale || ig_rx_discarded(g, &now))
		return;
	if (now - before != stale)
		ig_guest_err(g, "slot %u reset: %zu host bytes were queued for the guest, rx_discarded moved by %llu",
			     g->plan->slot, stale,
			     (unsigned long long)(now - before));
}

/*
 * The second half: the driver that comes up after the reset gets the
 * bytes written since, and none from before.  One chain of exactly
 * their size, so that a stale byte kept would take a fresh one's place.
 */
static void ig_fresh_check(struct ig_guest *g)
{
	__u32 ring = ig_qring(KTSTR_VC_Q_PORT1_RX);
	struct vring_desc *d = ig_desc(g->ram, ring);
	struct vring_used *u = ig_used(g->ram, ring);
	__u64 end = sx_now_ns() + IG_WAIT_NS;
	__u8 *buf = g->ram + IG_RXBUF;
	__u16 avail = 0;
	size_t len, i;

	if (g->port1_w < 0 || g->plan->trickle)
		return;
	len = sx_range(&g->rng, 1, IG_HOST_MAX);
	memset(buf, 0, len);
	d[0].addr = IG_GPA + IG_RXBUF;
	d[0].len = len;
	d[0].flags = VRING_DESC_F_WRITE;
	d[0].next = 0;
	ig_publish(ig_avail(g->ram, ring), &avail, IG_CTRL_NUM, 0);
	ig_kick(g, KTSTR_VC_Q_PORT1_RX);
	if (ig_host_write(g, IG_FRESH_BYTE, len) != len)
		return;
	while (ig_used_idx(u) == 0) {
		if (sx_now_ns() > end) {
			ig_guest_err(g, "port 1 RX: %zu host bytes not delivered in %llu s",
				     len, IG_WAIT_NS / SX_NS_PER_SEC);
			return;
		}
		sx_sleep_us(500);
	}
	for (i = 0; i < len && buf[i] == IG_FRESH_BYTE; i++)
		;
	if (u->ring[0].id != 0 || u->ring[0].len != len || i < len)
		ig_guest_err(g, "port 1 RX after a reset: chain %u len %u, byte %zu is %#x; want %zu bytes of %#x, none of the %#x written before the reset",
			     u->ring[0].id, u->ring[0].len, i,
			     i < len ? buf[i] : 0, len, IG_FRESH_BYTE,
			     IG_STALE_BYTE);
	sx_count(SX_C_STALE_CHECKS, 1);
}

/*
 * A reset mid-stream: the device drains what it can and forgets the
 * rest; the stream goes on from the end of the last chain it used, in
 * the other ring set, after a full start and handshake.
 */
static int ig_reset(struct ig_guest *g)
{
	static const __u32 nums[] = { 16, 32, 64, 128, 256 };
	struct ig_port *sp;
	struct ig_epoch *ne;
	unsigned int port, next;
	__u64 end, discarded = 0;
	size_t stale;
	int err;

	stale = ig_stale_write(g, &discarded);
	err = sx_w32(g->fd, VIRTIO_MMIO_STATUS, 0);
	if (err) {
		ig_guest_err(g, "reset: %s", sx_errno_name(err));
		return -EPROTO;
	}
	sx_count(SX_C_RESETS, 1);
	ig_stale_gone(g, stale, discarded);
	for (port = 0; port < KTSTR_VC_NUM_PORTS; port++) {
		struct ig_tx *t = &g->tx[port];

		ig_reap(g, t);
		sp = &g->ctl->port[port];
		end = ig_epoch_end(t->ep, t->ep->consumed);
		next = !sp->cur;
		memset(g->ram + ig_txring(port, next), 0, IG_AREA);
		ne = &sp->ep[next];
		ne->base = end;
		ne->posted = 0;
		ne->consumed = 0;
		ne->num = nums[sx_below(&g->rng, ARRAY_SIZE(nums))];
		__atomic_store_n(&sp->cur, next, __ATOMIC_RELEASE);
		ig_tx_start(g, t, port);
	}
	err = ig_device_start(g);
	if (!err && stale)
		ig_fresh_check(g);
	return err;
}

/* A trickle round's guest posts until the session's end has returned. */
static bool ig_over(const struct ig_guest *g)
{
	if (g->plan->trickle)
		return __atomic_load_n(&g->ended, __ATOMIC_ACQUIRE);
	return sx_now_ns() >= g->plan->end_ns || sx_stopping();
}

/*
 * While a trickle round's DETACH is in flight, another VMM thread
 * registers a kick fd again: once the session has begun to end it must
 * be refused (ENOTCONN), or its wait entry outlives the instance.
 */
static void ig_rekick(struct ig_guest *g)
{
	struct ktstr_vc_kick kick = {
		.queue = KTSTR_VC_Q_PORT1_TX,
		.fd = g->kick_fd[KTSTR_VC_Q_PORT1_TX],
	};

	if (g->plan->ending != IG_END_DETACH ||
	    !__atomic_load_n(&g->ending, __ATOMIC_ACQUIRE))
		return;
	sx_ioctl(SX_K_KICK_FD, g->fd, KTSTR_VC_SET_KICK_FD, &kick, 0);
}

/*
 * Then the instance is freed and a fresh one takes its memory, and every
 * kick fd is signalled: a wait entry left behind calls through freed
 * memory (KASAN), or through the new instance's zeroes (an oops).
 */
static void ig_kick_after_free(struct ig_guest *g)
{
	unsigned int q;
	__u64 one = 1;
	int fresh;

	sx_ctrl_close(g->fd);
	fresh = sx_ctrl_open();
	for (q = 0; q < KTSTR_VC_NUM_QUEUES; q++)
		if (write(g->kick_fd[q], &one, sizeof(one)) < 0)
			sx_info("kick eventfd: %s", sx_errno_name(errno));
	if (fresh >= 0)
		sx_ctrl_close(fresh);
}

/*
 * Now and then a ring of 128 or more takes a burst of one-descriptor
 * chains before its kick, more than a run's weight of 64: without the
 * weight one run would take them all (ig_weights_watch() sees it).
 */
static void ig_burst_pick(struct ig_guest *g, struct ig_tx *t)
{
	t->burst = t->num >= 2 * SX_WEIGHT_PORT_CHAINS &&
		   t->free > SX_WEIGHT_PORT_CHAINS && sx_chance(&g->rng, 200);
}

/*
 * Issue 8's weights, read off the counters (sx_weights_check()): a stall
 * of port 1's reader leaves a full ring that one run must not take
 * whole.  Not in a trickle round, whose other thread closes the fd.
 */
static void ig_weights_watch(struct ig_guest *g)
{
	struct ktstr_vc_stats now;

	if (g->plan->trickle || sx_now_ns() < g->stats_due)
		return;
	g->stats_due = sx_now_ns() + 100 * SX_NS_PER_MS;
	if (sx_ioctl(SX_K_GET_STATS, g->fd, KTSTR_VC_GET_STATS, &now, 0))
		return;
	if (g->stats_valid &&
	    !sx_weights_check(g->plan->slot, &g->stats, &now))
		g->failed = true;
	g->stats = now;
	g->stats_valid = true;
}

/* The guest's RAM, or (rings false) one page outside it: no ring in it. */
static int ig_set_table(struct ig_guest *g, bool rings)
{
	struct {
		struct ktstr_vc_mem_table hdr;
		struct ktstr_vc_mem_region region;
	} table = {
		.hdr.nregions = 1,
		.region.guest_phys_addr = rings ? IG_GPA : IG_SWAP_GPA,
		.region.size = rings ? IG_RAM : IG_SWAP_SIZE,
		.region.userspace_addr =
			(__u64)(uintptr_t)(rings ? g->ram : g->swap_page),
	};

	return sx_ioctl(SX_K_MEM_TABLE, g->fd, KTSTR_VC_SET_MEM_TABLE, &table,
			0);
}

static bool ig_no_notify(const struct ig_tx *t)
{
	return __atomic_load_n(&t->used->flags, __ATOMIC_ACQUIRE) &
	       VRING_USED_F_NO_NOTIFY;
}

static __u64 ig_bad_ring(struct ig_guest *g)
{
	struct ktstr_vc_stats st;

	if (sx_ioctl(SX_K_GET_STATS, g->fd, KTSTR_VC_GET_STATS, &st, 0))
		return 0;
	return st.bad_ring;
}

/*
 * After the swap the device must take port 1's ring again by itself or
 * ask for kicks: this guest, like Linux's, does not kick while the used
 * flags say NO_NOTIFY.
 */
static void ig_kicks_back(struct ig_guest *g, struct ig_tx *t)
{
	__u64 end = sx_now_ns() + IG_WAIT_NS;
	__u16 used = ig_used_idx(t->used);

	while (ig_no_notify(t) && ig_used_idx(t->used) == used) {
		if (sx_now_ns() > end) {
			ig_guest_err(g, "port 1 TX: kicks still off and no chain taken %llu s after the memory table came back (%u chains waiting)",
				     IG_WAIT_NS / SX_NS_PER_SEC,
				     (__u16)(t->avail_idx - used));
			return;
		}
		sx_sleep_us(1000);
	}
	sx_count(SX_C_POLL_SWAPS, 1);
}

/*
 * Issue 8's kicks after a table swap: in a poll window (port 1's used
 * flags say NO_NOTIFY: the device looks again by itself), the table is
 * swapped for one without the rings and the queue kicked, until a run
 * has found them outside memory (bad_ring), then given back.  Once a
 * round, and only where a run was seen (tries every IG_SWAP_EVERY_NS).
 * The window may have closed before the swap: the flags are clear then,
 * and ig_kicks_back() has nothing to wait for.
 */
static void ig_poll_swap(struct ig_guest *g)
{
	struct ig_tx *t = &g->tx[1];
	__u64 bad, end;
	bool seen = false;
	int err;

	if (!g->plan->swap_ns || g->swapped || !g->swap_page || t->broken ||
	    g->swaps >= IG_SWAP_TRIES ||
	    sx_now_ns() < g->plan->swap_ns + g->swaps * IG_SWAP_EVERY_NS ||
	    !ig_no_notify(t))
		return;
	g->swaps++;
	bad = ig_bad_ring(g);
	if (ig_set_table(g, false))
		return;
	ig_kick(g, t->q);
	end = sx_now_ns() + IG_SWAP_LOOK_NS;
	while (!seen && sx_now_ns() < end) {
		sx_sleep_us(200);
		seen = ig_bad_ring(g) > bad;
	}
	err = ig_set_table(g, true);
	if (err) {
		ig_guest_err(g, "the memory table not given back: %s",
			     sx_errno_name(err));
		t->broken = true;
	} else if (seen) {
		g->swapped = true;
		ig_kicks_back(g, t);
	}
}

static void ig_stream(struct ig_guest *g)
{
	struct pollfd pfd = { .fd = g->call_fd, .events = POLLIN };
	unsigned int resets = 0, port, k;
	__u64 calls;

	while (!ig_over(g)) {
		sx_count(SX_C_ITERATIONS, 1);
		if (resets < 2 && g->plan->reset_ns[resets] &&
		    sx_now_ns() >= g->plan->reset_ns[resets]) {
			resets++;
			if (ig_reset(g))
				return;
			continue;
		}
		for (port = 0; port < KTSTR_VC_NUM_PORTS; port++) {
			struct ig_tx *t = &g->tx[port];

			ig_reap(g, t);
			ig_burst_pick(g, t);
			for (k = 0; k < (t->burst ? t->num : 16) && ig_post(g, t); k++)
				;
			t->burst = false;
			if (k)
				ig_notify(g, t);
			ig_stall_check(g, t);
		}
		if (g->plan->trickle)
			ig_rekick(g);
		ig_poll_swap(g);
		ig_weights_watch(g);
		if (poll(&pfd, 1, 2) > 0 &&
		    read(g->call_fd, &calls, sizeof(calls)) < 0)
			sx_info("call eventfd: %s", sx_errno_name(errno));
	}
}

/* Field 19 of /proc/PID/stat, nice: the 17th after the comm. */
#define IG_STAT_NICE	"%*s %*s %*s %*s %*s %*s %*s %*s " \
			"%*s %*s %*s %*s %*s %*s %*s %*s %d"

/*
 * Thread pid's nice if it is slot's worker (ktstr-vc<slot>), else 99:
 * /proc/PID/stat has both, the comm in parentheses (it may hold
 * anything but its last ')').
 */
static int ig_worker_nice(const char *pid, unsigned int slot)
{
	char path[300], want[32], stat[512] = "";
	const char *comm, *end;
	size_t len;
	int nice;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%s/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return 99;
	if (!fgets(stat, sizeof(stat), f))
		stat[0] = 0;
	fclose(f);
	len = snprintf(want, sizeof(want), "(ktstr-vc%u)", slot);
	comm = strchr(stat, '(');
	end = strrchr(stat, ')');
	if (!comm || !end || (size_t)(end + 1 - comm) != len ||
	    strncmp(comm, want, len))
		return 99;
	return sscanf(end + 1, IG_STAT_NICE, &nice) == 1 ? nice : 99;
}

/*
 * An invariant: ATTACH gives the worker the VMM's nice (its cgroups and
 * CPUs as well, which the kselftests check).  Any worker of the slot at
 * our nice will do: the last session's may still be ending.
 */
static void ig_worker_check(struct ig_guest *g)
{
	int ours = getpriority(PRIO_PROCESS, 0), seen = 99, nice = 99;
	DIR *d = opendir("/proc");
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d))) {
		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		nice = ig_worker_nice(e->d_name, g->plan->slot);
		if (nice == ours)
			break;
		if (nice != 99)
			seen = nice;
	}
	closedir(d);
	if (nice != ours && seen != 99)
		ig_guest_err(g, "the worker ktstr-vc%u runs at nice %d, its VMM at %d",
			     g->plan->slot, seen, ours);
}

static int ig_attach(struct ig_guest *g)
{
	struct ktstr_vc_attach arg = { .slot = g->plan->slot };
	__u64 end = sx_now_ns() + IG_WAIT_NS;
	int err;

	/* The last round's instance may still be letting go of the slot. */
	do {
		err = sx_ioctl(SX_K_ATTACH, g->fd, KTSTR_VC_ATTACH, &arg, 0);
		if (err != EBUSY)
			break;
		sx_sleep_us(10000);
	} while (sx_now_ns() < end);
	if (!err) {
		sx_count(SX_C_ATTACHES, 1);
		__atomic_store_n(&g->ctl->attached, 1, __ATOMIC_RELEASE);
		ig_worker_check(g);
	}
	return err;
}

/*
 * Port 1 written as the host would (ig_stale_write()), through the
 * instance's own port file; the kernel log read from its end on.  Both
 * checks are left out without them (EBUSY: another writer; EACCES).
 */
static void ig_host_open(struct ig_guest *g)
{
	struct ktstr_vc_port_fd arg = {
		.port = 1,
		.flags = O_WRONLY | O_NONBLOCK | O_CLOEXEC,
	};

	sx_begin(SX_K_PORT_OPEN, 0);
	g->port1_w = ioctl(g->fd, KTSTR_VC_GET_PORT_FD, &arg);
	sx_end(SX_K_PORT_OPEN, g->port1_w < 0 ? errno : 0, 0);
	g->kmsg = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	g->swap_page = mmap(NULL, IG_SWAP_SIZE, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (g->swap_page == MAP_FAILED)
		g->swap_page = NULL;
}

/* The instance, guest RAM, call and kick eventfds. */
static int ig_session(struct ig_guest *g)
{
	struct ktstr_vc_call call = { 0 };
	struct ktstr_vc_kick kick;
	unsigned int q;
	int err;

	g->fd = sx_ctrl_open();
	if (g->fd < 0)
		return -g->fd;
	err = ig_attach(g);
	if (!err)
		err = ig_set_table(g, true);
	g->call_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	call.fd = g->call_fd;
	if (!err)
		err = sx_ioctl(SX_K_CALL_FD, g->fd, KTSTR_VC_SET_CALL_FD, &call,
			       0);
	for (q = 0; !err && q < KTSTR_VC_NUM_QUEUES; q++) {
		g->kick_fd[q] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		kick.queue = q;
		kick.fd = g->kick_fd[q];
		err = sx_ioctl(SX_K_KICK_FD, g->fd, KTSTR_VC_SET_KICK_FD, &kick,
			       0);
	}
	if (!err)
		ig_host_open(g);
	return err;
}

static void ig_end_session(struct ig_guest *g)
{
	int err;

	switch (g->plan->ending) {
	case IG_END_CLOSE:
		sx_ctrl_close(g->fd);
		break;
	case IG_END_DETACH:
		err = sx_ioctl(SX_K_DETACH, g->fd, KTSTR_VC_DETACH, NULL, 0);
		if (err)
			ig_guest_err(g, "DETACH: %s", sx_errno_name(err));
		break;
	default:
		break;
	}
}

/*
 * A trickle round's VMM thread: once port 1 is full (or 15 s later) it
 * ends the session while the main thread, the vCPU, goes on posting.
 */
static void *ig_ender_main(void *arg)
{
	struct ig_guest *g = arg;
	__u64 full_by = g->plan->end_ns + IG_FILL_NS, t0;

	sx_hb_claim(g->plan->slot, SX_R_IEND, "iender");
	while (!sx_stopping() &&
	       (sx_now_ns() < g->plan->end_ns ||
		(!__atomic_load_n(&g->ctl->full, __ATOMIC_ACQUIRE) &&
		 sx_now_ns() < full_by)))
		sx_sleep_us(10000);
	__atomic_store_n(&g->ending, 1, __ATOMIC_RELEASE);
	t0 = sx_now_ns();
	ig_end_session(g);
	g->ctl->end_ms = (sx_now_ns() - t0) / SX_NS_PER_MS;
	__atomic_store_n(&g->ctl->trickle, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&g->ended, 1, __ATOMIC_RELEASE);
	return NULL;
}

static int ig_guest_main(const struct ig_plan *plan, struct ig_ctl *ctl,
			 __u8 *ram)
{
	static struct ig_guest g;
	unsigned int port;
	int err;

	g.plan = plan;
	g.ctl = ctl;
	g.ram = ram;
	g.port1_w = -1;
	g.kmsg = -1;
	sx_rng_init(&g.rng, plan->stream);
	/* Not 0, the kernel's default: the worker must have taken ours. */
	setpriority(PRIO_PROCESS, 0, 1 + plan->round % 3);
	err = ig_session(&g);
	if (err) {
		sx_err("integrity guest setup: %s", sx_errno_name(err));
		return 2;
	}
	for (port = 0; port < KTSTR_VC_NUM_PORTS; port++)
		ig_tx_start(&g, &g.tx[port], port);
	if (ig_device_start(&g))
		return 3;
	__atomic_store_n(&ctl->streaming, 1, __ATOMIC_RELEASE);
	if (plan->trickle && pthread_create(&g.ender, NULL, ig_ender_main, &g)) {
		sx_err("integrity guest: no thread for the session's end");
		return 5;
	}
	ig_stream(&g);
	if (!plan->trickle)
		ig_end_session(&g);
	else if (!pthread_join(g.ender, NULL) && plan->ending == IG_END_DETACH)
		ig_kick_after_free(&g);
	return g.failed ? 4 : 0;
}

/* The supervisor's side: one round runner per slot, two readers each. */
struct ig_slot;

struct ig_reader {
	struct ig_slot *s;
	unsigned int port;
	int fd;
	pthread_t th;
	__u64 key;
	__u64 pos;			/* stream offset of the next byte */
	__u64 got;			/* bytes read */
	__u64 gaps;			/* port 0: bytes found missing */
	__u64 drop0;			/* GET_DROPPED when the round began */
	__u64 stalls;
	__u64 still_ns;			/* trickle: since FIONREAD was pending */
	int pending;
	__u32 stop;
	__u32 eof;
	bool bad;
	char why[160];
	struct sx_rng rng;
	__u8 *buf;
};

struct ig_slot {
	unsigned int slot;
	pthread_t th;
	struct ig_ctl *ctl;
	__u8 *ram;
	struct sx_rng rng;
	unsigned int round;
	__u64 trickle_until;		/* port 1's reader trickles until */
	struct ig_reader rd[KTSTR_VC_NUM_PORTS];
};

static struct {
	pthread_mutex_t lock;
	unsigned int nslots;
	__u64 deadline;			/* atomic: cut short by setting 0 */
	__u32 running;			/* atomic: round runners alive */
	__u32 cut;			/* atomic: kill the guests now */
	int full_bytes;			/* port 1 holds this much when stalled */
	struct sx_integrity_result res;
	struct ig_slot slot[SX_MAX_SLOTS];
} ig = { .lock = PTHREAD_MUTEX_INITIALIZER };

static __u64 ig_deadline(void)
{
	return __atomic_load_n(&ig.deadline, __ATOMIC_ACQUIRE);
}

__printf(3, 4)
static void ig_round_err(struct ig_slot *s, enum sx_itest test,
			 const char *fmt, ...)
{
	char msg[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&ig.lock);
	if (!ig.res.fail[test]++)
		snprintf(ig.res.first[test], sizeof(ig.res.first[test]),
			 "slot %u round %u: %s", s->slot, s->round, msg);
	pthread_mutex_unlock(&ig.lock);
	sx_err("integrity slot %u round %u: %s", s->slot, s->round, msg);
}

static int ig_dropped(int fd, __u64 *dropped)
{
	return sx_ioctl(SX_K_PORT_IOCTL, fd, KTSTR_VC_PORT_GET_DROPPED,
			dropped, 0);
}

/* A reader pauses now and then: port 1's guest must wait, port 0's not. */
static void ig_reader_pause(struct ig_reader *r)
{
	__u64 ms, end;

	if (!sx_chance(&r->rng, r->port ? 40 : 30))
		return;
	ms = r->port ? sx_range(&r->rng, 50, 1500) : sx_range(&r->rng, 200, 2500);
	r->stalls++;
	end = sx_now_ns() + ms * SX_NS_PER_MS;
	while (sx_now_ns() < end && !__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE))
		sx_sleep_us(20000);
}

/*
 * Port 0 gave way: these n bytes start later than r->pos, by no more than
 * the drops not yet accounted for.  Only whole reads follow a gap (the
 * device drops only into a full buffer, under the lock read() takes).
 */
static void ig_reader_gap(struct ig_reader *r, size_t n, size_t bad)
{
	__u64 dropped, at, hi;

	if (ig_dropped(r->fd, &dropped)) {
		snprintf(r->why, sizeof(r->why), "port 0 GET_DROPPED failed");
		r->bad = true;
		return;
	}
	hi = r->pos + (dropped - r->drop0 - r->gaps);
	if (!sx_pat_locate(r->buf, n, r->key, r->pos + 1, hi, &at)) {
		snprintf(r->why, sizeof(r->why),
			 "port 0: a read of %zu bytes at %llu (off from byte %zu) is no later part of the stream within the %llu bytes dropped",
			 n, (unsigned long long)r->pos, bad,
			 (unsigned long long)(hi - r->pos));
		r->bad = true;
		return;
	}
	r->gaps += at - r->pos;
	r->pos = at + n;
}

static void ig_reader_check(struct ig_reader *r, size_t n)
{
	size_t bad;
	__u8 want;

	r->got += n;
	if (r->bad)
		return;
	bad = sx_pat_check(r->buf, n, r->key, r->pos);
	if (bad == n) {
		r->pos += n;
		return;
	}
	if (r->port == 0) {
		ig_reader_gap(r, n, bad);
		return;
	}
	sx_pat_fill(&want, 1, r->key, r->pos + bad);
	snprintf(r->why, sizeof(r->why),
		 "port 1 byte %llu is %#x, %#x expected (a read of %zu at %llu)",
		 (unsigned long long)(r->pos + bad), r->buf[bad], want, n,
		 (unsigned long long)r->pos);
	r->bad = true;
}

static bool ig_reader_trickles(const struct ig_reader *r)
{
	return r->port == 1 &&
	       __atomic_load_n(&r->s->ctl->trickle, __ATOMIC_ACQUIRE) &&
	       sx_now_ns() < r->s->trickle_until;
}

/*
 * A trickle round's port-1 reader: nothing until the host buffer is full
 * (FIONREAD still while the guest posts: port 1 stalled), which it tells
 * the guest, then a little at a time: room for a chain now and then,
 * never enough to catch up.  How much to read now, 0 for nothing.
 */
static size_t ig_reader_trickle(struct ig_reader *r)
{
	struct ig_ctl *ctl = r->s->ctl;
	int pending;

	sx_sleep_us(IG_TRICKLE_US);
	if (__atomic_load_n(&ctl->full, __ATOMIC_ACQUIRE))
		return IG_TRICKLE_READ;
	if (sx_ioctl(SX_K_PORT_IOCTL, r->fd, FIONREAD, &pending, 0))
		return 0;
	if (pending != r->pending) {
		r->pending = pending;
		r->still_ns = sx_now_ns();
	} else if (pending && pending >= ig.full_bytes &&
		   sx_now_ns() - r->still_ns >= IG_FULL_NS) {
		__atomic_store_n(&ctl->full, 1, __ATOMIC_RELEASE);
	}
	return 0;
}

/* Normally: pause now and then, wait for bytes, read any amount. */
static size_t ig_reader_next(struct ig_reader *r)
{
	struct pollfd pfd = { .fd = r->fd, .events = POLLIN };

	if (ig_reader_trickles(r))
		return ig_reader_trickle(r);
	ig_reader_pause(r);
	sx_begin(SX_K_PORT_POLL, SX_F_WAIT);
	sx_end(SX_K_PORT_POLL, poll(&pfd, 1, 100) < 0 ? errno : 0, SX_F_WAIT);
	return sx_range(&r->rng, 64, IG_READ_MAX);
}

static void *ig_reader_main(void *arg)
{
	struct ig_reader *r = arg;
	size_t len;
	ssize_t n;
	int err;

	sx_hb_claim(r->s->slot, r->port ? SX_R_IREAD1 : SX_R_IREAD0,
		    r->port ? "ireader1" : "ireader0");
	while (!__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE)) {
		len = ig_reader_next(r);
		if (!len)
			continue;
		sx_begin(SX_K_PORT_READ, 0);
		n = read(r->fd, r->buf, len);
		err = sx_end(SX_K_PORT_READ, n < 0 ? errno : 0, 0);
		if (!n) {
			__atomic_store_n(&r->eof, 1, __ATOMIC_RELEASE);
			break;
		}
		if (err == EAGAIN || err == EINTR)
			continue;
		if (err) {
			snprintf(r->why, sizeof(r->why), "port %u read: %s",
				 r->port, sx_errno_name(err));
			r->bad = true;
			break;
		}
		ig_reader_check(r, n);
	}
	return NULL;
}

/*
 * A reader for the next session: one opened on an idle slot with an
 * empty buffer (earlier tests may have left bytes: read them to their
 * EOF and open again).  The fd, or -errno.
 */
static int ig_reader_open(struct ig_slot *s, unsigned int port, __u8 *buf)
{
	__u64 end = sx_now_ns() + IG_WAIT_NS;
	size_t stale;
	ssize_t n;
	int fd;

	while (sx_now_ns() < end) {
		fd = sx_port_open(s->slot, port, O_RDONLY | O_NONBLOCK);
		if (fd == -EBUSY) {
			sx_sleep_us(10000);
			continue;
		}
		if (fd < 0)
			return fd;
		stale = 0;
		while ((n = read(fd, buf, IG_READ_MAX)) > 0 && sx_now_ns() < end)
			stale += n;
		if (n < 0 && errno == EAGAIN && !stale)
			return fd;
		close(fd);
		sx_sleep_us(1000);
	}
	return -ETIMEDOUT;
}

/*
 * Scheduled, not drawn, so every run has them from its first seconds:
 * rounds 1, 5, 9, ... of each slot, ending by DETACH and close in turn.
 */
static void ig_plan_trickle(struct ig_slot *s, struct ig_plan *p)
{
	if (s->round % IG_TRICKLE_EVERY != 1)
		return;
	p->trickle = true;
	p->ending = (s->slot + s->round / IG_TRICKLE_EVERY) % 2 ?
		    IG_END_CLOSE : IG_END_DETACH;
	p->end_ns = p->start_ns + IG_TRICKLE_LEAD_NS;
	p->kill_ns = 0;
	p->reset_ns[0] = 0;
	p->reset_ns[1] = 0;
	p->swap_ns = 0;
	s->trickle_until = p->end_ns + IG_FILL_NS + IG_TRICKLE_NS;
	s->ctl->trickle = 1;
}

static void ig_plan_round(struct ig_slot *s, struct ig_plan *p, __u64 left)
{
	static const __u32 nums[] = { 16, 32, 64, 128, 256 };
	__u64 len = sx_range(&s->rng, 1000, 5000) * SX_NS_PER_MS;
	unsigned int pick = sx_below(&s->rng, 100), i, port;

	if (len > left)
		len = left;
	memset(p, 0, sizeof(*p));
	p->slot = s->slot;
	p->round = s->round;
	p->stream = SX_STREAM(2, s->slot, s->round, 0);
	p->ending = pick < 45 ? IG_END_KILL : pick < 70 ? IG_END_CLOSE :
		    pick < 85 ? IG_END_DETACH : IG_END_EXIT;
	if (p->ending == IG_END_KILL && !sx_allowed(SX_A_KILL))
		p->ending = IG_END_CLOSE;
	p->start_ns = sx_now_ns();
	p->end_ns = p->start_ns + len;
	if (p->ending == IG_END_KILL) {
		p->kill_ns = p->start_ns + sx_range(&s->rng, 300 * SX_NS_PER_MS,
						    len);
		/* Not killed: it ends by itself, and the round fails. */
		p->end_ns = p->kill_ns + IG_EOF_NS;
	}
	for (i = 0; i < 2; i++)
		if (sx_chance(&s->rng, 300))
			p->reset_ns[i] = p->start_ns +
				sx_range(&s->rng, 200 * SX_NS_PER_MS, len);
	if (p->reset_ns[0] > p->reset_ns[1] && p->reset_ns[1]) {
		__u64 t = p->reset_ns[0];

		p->reset_ns[0] = p->reset_ns[1];
		p->reset_ns[1] = t;
	}
	if (!p->reset_ns[0]) {
		p->reset_ns[0] = p->reset_ns[1];
		p->reset_ns[1] = 0;
	}
	if (sx_chance(&s->rng, 600))
		p->swap_ns = p->start_ns +
			     sx_range(&s->rng, 200 * SX_NS_PER_MS, len);
	/* A fresh epoch 0 in zeroed rings, the keys of this round. */
	memset(s->ctl, 0, sizeof(*s->ctl));
	memset(s->ram, 0, IG_RINGS_END);
	for (port = 0; port < KTSTR_VC_NUM_PORTS; port++) {
		s->ctl->key[port] = sx_mix(sx->seed ^
					   SX_STREAM(3, s->slot, s->round, port));
		s->ctl->port[port].ep[0].num =
			nums[sx_below(&s->rng, ARRAY_SIZE(nums))];
	}
	ig_plan_trickle(s, p);
}

static pid_t ig_fork_guest(struct ig_slot *s, const struct ig_plan *p)
{
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (!pid) {
		sx_child_init(s->slot, SX_R_IGUEST, "iguest");
		_exit(ig_guest_main(p, s->ctl, s->ram));
	}
	if (pid > 0) {
		setpgid(pid, pid);
		sx_children_add(pid);
		sx_count(SX_C_GUESTS, 1);
	}
	return pid;
}

/* A trickle round's guest may wait IG_FILL_NS for port 1 to fill. */
static __u64 ig_guest_due(const struct ig_plan *p)
{
	return p->end_ns + (p->trickle ? IG_FILL_NS : 0) + IG_EOF_NS;
}

/* Kill when the plan says (or the phase is cut short); reap. */
static int ig_wait_guest(struct ig_slot *s, const struct ig_plan *p,
			 pid_t pid, bool *killed)
{
	__u64 killed_ns = 0, now;
	int status;

	*killed = false;
	for (;;) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			break;
		now = sx_now_ns();
		if (!*killed && ((p->kill_ns && now >= p->kill_ns) ||
				 __atomic_load_n(&ig.cut, __ATOMIC_ACQUIRE) ||
				 now >= ig_guest_due(p))) {
			if (now >= ig_guest_due(p))
				ig_round_err(s, SX_I_LIVE,
					     "the guest was still running %llu s after its end",
					     IG_EOF_NS / SX_NS_PER_SEC);
			sx_kill_child(pid);
			sx_count(SX_C_KILLS, 1);
			*killed = true;
			killed_ns = now;
		}
		if (*killed && now - killed_ns > SX_EXIT_NS) {
			ig_round_err(s, SX_I_LIVE,
				     "the guest (pid %d) was not gone %llu s after SIGKILL",
				     pid, SX_EXIT_NS / SX_NS_PER_SEC);
			sx_dump_stacks(pid, 0);
			return -1;
		}
		sx_sleep_us(5000);
	}
	sx_children_del(pid);
	if (*killed && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
		return 0;
	if (!*killed && WIFEXITED(status) && !WEXITSTATUS(status))
		return 0;
	if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) {
		*killed = true;		/* by the hang watchdog */
		return 0;
	}
	ig_round_err(s, SX_I_LIVE, "the guest ended with %s %d",
		     WIFSIGNALED(status) ? "signal" : "exit status",
		     WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
	return 0;
}

/* Until both readers saw EOF, or the deadline: true if both did. */
static bool ig_wait_eof(struct ig_slot *s, __u64 ns)
{
	__u64 end = sx_now_ns() + ns;
	unsigned int port;
	bool all;

	do {
		all = true;
		for (port = 0; port < KTSTR_VC_NUM_PORTS; port++)
			all &= __atomic_load_n(&s->rd[port].eof, __ATOMIC_ACQUIRE) ||
			       s->rd[port].bad;
		if (all)
			return true;
		sx_sleep_us(5000);
	} while (sx_now_ns() < end);
	return false;
}

/* What the device took from a port's TX queue, from its used ring. */
static int ig_expected(struct ig_slot *s, unsigned int port, __u64 *end,
		       __u64 *left)
{
	struct ig_port *sp = &s->ctl->port[port];
	unsigned int cur = __atomic_load_n(&sp->cur, __ATOMIC_ACQUIRE) & 1;
	struct ig_epoch *ep = &sp->ep[cur];
	__u16 idx = ig_used_idx(ig_used(s->ram, ig_txring(port, cur)));
	__u64 posted = ep->posted, n;

	n = ep->consumed + (__u16)(idx - (__u16)ep->consumed);
	if (n > posted || (n && posted - (n - 1) > IG_LOG)) {
		ig_round_err(s, port ? SX_I_PORT1 : SX_I_PORT0,
			     "port %u: the used ring says %llu chains, %llu were posted",
			     port, (unsigned long long)n,
			     (unsigned long long)posted);
		return -1;
	}
	*end = ig_epoch_end(ep, n);
	*left = posted - n;
	return 0;
}

static void ig_check_port1(struct ig_slot *s, enum sx_itest total_test,
			   __u64 want)
{
	struct ig_reader *r = &s->rd[1];
	__u64 dropped;

	if (r->bad)
		ig_round_err(s, SX_I_PORT1, "%s", r->why);
	if (!ig_dropped(r->fd, &dropped) && dropped != r->drop0)
		ig_round_err(s, SX_I_PORT1, "port 1 dropped %llu bytes",
			     (unsigned long long)(dropped - r->drop0));
	if (!r->bad && r->got != want)
		ig_round_err(s, total_test, "port 1: read %llu bytes, the device had taken %llu",
			     (unsigned long long)r->got, (unsigned long long)want);
}

static void ig_check_port0(struct ig_slot *s, enum sx_itest total_test,
			   __u64 want)
{
	struct ig_reader *r = &s->rd[0];
	__u64 dropped = r->drop0;

	if (r->bad) {
		ig_round_err(s, SX_I_PORT0, "%s", r->why);
		return;
	}
	ig_dropped(r->fd, &dropped);
	if (r->gaps != dropped - r->drop0)
		ig_round_err(s, SX_I_PORT0,
			     "port 0: %llu bytes missing from the stream, the drop counter says %llu",
			     (unsigned long long)r->gaps,
			     (unsigned long long)(dropped - r->drop0));
	if (r->pos != want)
		ig_round_err(s, total_test,
			     "port 0: the stream read ends at %llu, the device had taken %llu",
			     (unsigned long long)r->pos, (unsigned long long)want);
}

/* After the round's end: every consumed byte arrived, then EOF. */
static void ig_verify(struct ig_slot *s, const struct ig_plan *p,
		      bool killed, bool eof)
{
	enum sx_itest total = killed ? SX_I_KILL : SX_I_END;
	__u64 want[KTSTR_VC_NUM_PORTS] = { 0 }, left[KTSTR_VC_NUM_PORTS] = { 0 };
	unsigned int port;
	bool ok = true;

	for (port = 0; port < KTSTR_VC_NUM_PORTS; port++)
		if (ig_expected(s, port, &want[port], &left[port]))
			ok = false;
	if (!eof)
		ig_round_err(s, total, "no EOF on both ports %llu s after the guest was gone",
			     IG_EOF_NS / SX_NS_PER_SEC);
	if (ok) {
		ig_check_port1(s, total, want[1]);
		ig_check_port0(s, total, want[0]);
	}
	pthread_mutex_lock(&ig.lock);
	ig.res.rounds++;
	if (killed)
		ig.res.kill_rounds++;
	else
		ig.res.end_rounds++;
	ig.res.port1_bytes += s->rd[1].got;
	ig.res.port0_bytes += s->rd[0].got;
	ig.res.port0_gaps += s->rd[0].gaps;
	ig.res.unconsumed += left[0] + left[1];
	ig.res.stalls += s->rd[0].stalls + s->rd[1].stalls;
	pthread_mutex_unlock(&ig.lock);
	sx_info("integrity slot %u round %u: %s%s after %.2f s; port 1 %llu bytes, port 0 %llu read + %llu dropped; %llu chains left unconsumed",
		s->slot, s->round, killed ? "SIGKILL" : ig_ending_names[p->ending],
		p->trickle ? " (trickle)" : "",
		(double)(sx_now_ns() - p->start_ns) / SX_NS_PER_SEC,
		(unsigned long long)s->rd[1].got,
		(unsigned long long)s->rd[0].got,
		(unsigned long long)s->rd[0].gaps,
		(unsigned long long)(left[0] + left[1]));
}

static int ig_readers_start(struct ig_slot *s)
{
	unsigned int port;
	int fd;

	for (port = 0; port < KTSTR_VC_NUM_PORTS; port++) {
		struct ig_reader *r = &s->rd[port];
		__u8 *buf = r->buf;

		memset(r, 0, sizeof(*r));
		r->buf = buf;
		r->s = s;
		r->port = port;
		r->key = s->ctl->key[port];
		sx_rng_init(&r->rng, SX_STREAM(2, s->slot, s->round, 1 + port));
		fd = ig_reader_open(s, port, buf);
		if (fd < 0) {
			ig_round_err(s, SX_I_LIVE, "open port %u reader: %s", port,
				     sx_errno_name(-fd));
			return -1;
		}
		r->fd = fd;
		if (ig_dropped(fd, &r->drop0))
			ig_round_err(s, SX_I_LIVE, "GET_DROPPED on port %u failed", port);
	}
	for (port = 0; port < KTSTR_VC_NUM_PORTS; port++)
		pthread_create(&s->rd[port].th, NULL, ig_reader_main, &s->rd[port]);
	return 0;
}

static void ig_readers_stop(struct ig_slot *s)
{
	unsigned int port;

	for (port = 0; port < KTSTR_VC_NUM_PORTS; port++)
		__atomic_store_n(&s->rd[port].stop, 1, __ATOMIC_RELEASE);
	for (port = 0; port < KTSTR_VC_NUM_PORTS; port++)
		pthread_join(s->rd[port].th, NULL);
}

static void ig_readers_close(struct ig_slot *s)
{
	unsigned int port;

	for (port = 0; port < KTSTR_VC_NUM_PORTS; port++)
		close(s->rd[port].fd);
}

/* The reader reads at full speed again; the totals of trickle rounds. */
static void ig_trickle_done(struct ig_slot *s, const struct ig_plan *p)
{
	struct ig_ctl *ctl = s->ctl;

	__atomic_store_n(&ctl->trickle, 0, __ATOMIC_RELEASE);
	if (!p->trickle || !__atomic_load_n(&ctl->streaming, __ATOMIC_ACQUIRE))
		return;
	pthread_mutex_lock(&ig.lock);
	ig.res.trickle_rounds++;
	if (!ctl->full)
		ig.res.trickle_unfilled++;
	if (ctl->end_ms > ig.res.trickle_end_max_ms)
		ig.res.trickle_end_max_ms = ctl->end_ms;
	pthread_mutex_unlock(&ig.lock);
}

/* One round; -1 if the slot cannot go on (a guest that will not die). */
static int ig_round(struct ig_slot *s, __u64 left)
{
	struct ig_plan plan;
	bool killed, eof;
	pid_t pid;

	ig_plan_round(s, &plan, left);
	/* Keys are set: the readers check the new round's pattern. */
	if (ig_readers_start(s))
		return -1;
	pid = ig_fork_guest(s, &plan);
	if (pid < 0) {
		ig_round_err(s, SX_I_LIVE, "fork: %s", sx_errno_name(errno));
		ig_readers_stop(s);
		ig_readers_close(s);
		return -1;
	}
	if (ig_wait_guest(s, &plan, pid, &killed)) {
		ig_readers_stop(s);
		return -1;
	}
	ig_trickle_done(s, &plan);
	if (!__atomic_load_n(&s->ctl->attached, __ATOMIC_ACQUIRE)) {
		/* Gone before ATTACH, or just after: EOF only if after. */
		eof = ig_wait_eof(s, IG_NO_SESSION_NS);
		ig_readers_stop(s);
		if (!eof) {
			pthread_mutex_lock(&ig.lock);
			ig.res.no_session++;
			pthread_mutex_unlock(&ig.lock);
			ig_readers_close(s);
			return 0;
		}
	} else {
		eof = ig_wait_eof(s, IG_EOF_NS);
		ig_readers_stop(s);
	}
	ig_verify(s, &plan, killed, eof);
	ig_readers_close(s);
	return 0;
}

static void *ig_slot_main(void *arg)
{
	struct ig_slot *s = arg;
	__u64 now;

	sx_hb_claim(s->slot, SX_R_IROUND, "iround");
	for (;;) {
		now = sx_now_ns();
		if (now + 500 * SX_NS_PER_MS >= ig_deadline())
			break;
		s->round++;
		if (ig_round(s, ig_deadline() - now))
			break;
	}
	__atomic_fetch_sub(&ig.running, 1, __ATOMIC_RELEASE);
	return NULL;
}

/*
 * A stalled port 1 holds more than its buffer less the largest chain: a
 * pause of the guest (a busy host) is not taken for one.  0 if unknown.
 */
static int ig_full_bytes(void)
{
	const char *path = "/sys/module/ktstr_vconsole/parameters/tx_buf_size";
	int size = 0, chain = IG_SEGS_MAX * IG_SEG_MAX;
	FILE *f = fopen(path, "r");

	if (f) {
		if (fscanf(f, "%d", &size) != 1)
			size = 0;
		fclose(f);
	}
	return size > chain ? size - chain : 0;
}

void sx_integrity_start(unsigned int nslots, int flood_slot, __u64 secs)
{
	unsigned int i, port;

	ig.full_bytes = ig_full_bytes();
	sx_info("integrity: trickle rounds take port 1 as full at %d bytes",
		ig.full_bytes);
	ig.nslots = nslots;
	ig.deadline = sx_now_ns() + secs * SX_NS_PER_SEC;
	if (flood_slot >= 0)
		sx_flood_start(flood_slot);
	for (i = 0; i < nslots; i++) {
		struct ig_slot *s = &ig.slot[i];

		s->slot = i;
		sx_rng_init(&s->rng, SX_STREAM(2, i, 0, 0xffff));
		s->ctl = mmap(NULL, sizeof(*s->ctl), PROT_READ | PROT_WRITE,
			      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		s->ram = mmap(NULL, IG_RAM, PROT_READ | PROT_WRITE,
			      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		for (port = 0; port < KTSTR_VC_NUM_PORTS; port++)
			s->rd[port].buf = malloc(IG_READ_MAX);
		if (s->ctl == MAP_FAILED || s->ram == MAP_FAILED ||
		    !s->rd[0].buf || !s->rd[1].buf) {
			ig_round_err(s, SX_I_LIVE, "no memory for slot %u", i);
			continue;
		}
		__atomic_fetch_add(&ig.running, 1, __ATOMIC_RELEASE);
		pthread_create(&s->th, NULL, ig_slot_main, s);
	}
}

bool sx_integrity_running(void)
{
	return __atomic_load_n(&ig.running, __ATOMIC_ACQUIRE);
}

void sx_integrity_cut_short(void)
{
	__atomic_store_n(&ig.cut, 1, __ATOMIC_RELEASE);
	__atomic_store_n(&ig.deadline, sx_now_ns(), __ATOMIC_RELEASE);
}

void sx_integrity_finish(struct sx_integrity_result *res)
{
	unsigned int i;

	for (i = 0; i < ig.nslots; i++)
		if (ig.slot[i].th)
			pthread_join(ig.slot[i].th, NULL);
	sx_flood_stop();
	*res = ig.res;
}
