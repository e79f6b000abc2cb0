// SPDX-License-Identifier: GPL-2.0
/*
 * Guest -> host: TX chains on q1 (port 0) and q5 (port 1) arrive, in
 * order, on /dev/ktstr-port0 and /dev/ktstr-port1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "vc_guest_test.h"

#define TX_POLL_PARAM	"/sys/module/ktstr_vconsole/parameters/tx_poll_us"

FIXTURE(tx) {
	struct vc_guest g;
	int port0;
	int port1;
};

FIXTURE_SETUP(tx)
{
	VC_GUEST_FIXTURE_SETUP(self);
	self->port0 = vc_port_open(0, 0, O_RDONLY | O_NONBLOCK);
	ASSERT_LE(0, self->port0) TH_LOG("open port0: %s", strerror(errno));
	self->port1 = vc_port_open(0, 1, O_RDONLY | O_NONBLOCK);
	ASSERT_LE(0, self->port1) TH_LOG("open port1: %s", strerror(errno));
}

FIXTURE_TEARDOWN(tx)
{
	close(self->port0);
	close(self->port1);
	vc_guest_fini(&self->g);
}

static void start_all(struct __test_metadata *_metadata, struct vc_guest *g)
{
	int ret = vc_guest_start(g, VC_ALL_QUEUES, VC_NUM, VC_DEVICE_FEATURES,
				 true);

	ASSERT_EQ(0, ret) TH_LOG("device start: %s", strerror(-ret));
}

TEST_F(tx, port1_tx_single_descriptor_lands_in_port1)
{
	static const char payload[] = "port1 single descriptor TX";
	char got[sizeof(payload)] = { 0 };

	start_all(_metadata, &self->g);
	vc_vq_add_buf(&self->g, KTSTR_VC_Q_PORT1_TX,
		      vc_guest_put(&self->g, payload, sizeof(payload)),
		      sizeof(payload), false);
	vc_kick(&self->g, KTSTR_VC_Q_PORT1_TX);

	ASSERT_EQ(sizeof(payload),
		  vc_port_read_all(self->port1, got, sizeof(got), VC_WAIT_MS));
	ASSERT_EQ(0, memcmp(payload, got, sizeof(payload)));
	/* A reader may see the bytes before the run publishes used->idx. */
	ASSERT_EQ(0, vc_wait_used(&self->g, KTSTR_VC_Q_PORT1_TX, 1, VC_WAIT_MS));
	ASSERT_EQ(1, vc_used_idx(&self->g, KTSTR_VC_Q_PORT1_TX));
	ASSERT_EQ(0, vc_wait_call(&self->g, VC_WAIT_MS))
		TH_LOG("expected a call after a TX chain with bytes");
	ASSERT_EQ(VIRTIO_MMIO_INT_VRING, vc_isr(self->g.fd));
	ASSERT_EQ(0, vc_port_pending(self->port0))
		TH_LOG("port 0 must get nothing from a port 1 chain");
}

TEST_F(tx, port1_tx_multi_descriptor_chain_concatenates)
{
	struct vc_buf_spec bufs[4];
	__u8 got[4 * 4096];
	unsigned int i;

	start_all(_metadata, &self->g);
	for (i = 0; i < 4; i++) {
		__u64 gpa = vc_guest_alloc(&self->g, 4096);

		memset(vc_gpa_to_hva(&self->g, gpa), 0xA1 + i, 4096);
		bufs[i] = (struct vc_buf_spec){ .gpa = gpa, .len = 4096 };
	}
	vc_vq_publish(&self->g, KTSTR_VC_Q_PORT1_TX,
		      vc_vq_add(&self->g, KTSTR_VC_Q_PORT1_TX, bufs, 4));
	vc_kick(&self->g, KTSTR_VC_Q_PORT1_TX);

	ASSERT_EQ(sizeof(got),
		  vc_port_read_all(self->port1, got, sizeof(got), VC_WAIT_MS));
	for (i = 0; i < sizeof(got); i++)
		ASSERT_EQ(0xA1 + i / 4096, got[i])
			TH_LOG("byte %u: segment order or append broken", i);
	ASSERT_EQ(0, vc_wait_used(&self->g, KTSTR_VC_Q_PORT1_TX, 1, VC_WAIT_MS));
	ASSERT_EQ(1, vc_used_idx(&self->g, KTSTR_VC_Q_PORT1_TX))
		TH_LOG("one chain is one used entry, however many segments");
}

TEST_F(tx, port1_tx_oversize_descriptor_truncates_to_tx_desc_max)
{
	const size_t max = 32 * 1024;
	__u64 gpa = vc_guest_alloc(&self->g, 2 * max);
	__u8 *got = malloc(2 * max);

	ASSERT_NE(NULL, got);
	start_all(_metadata, &self->g);
	memset(vc_gpa_to_hva(&self->g, gpa), 0x55, max);
	memset(vc_gpa_to_hva(&self->g, gpa + max), 0x99, max);
	vc_vq_add_buf(&self->g, KTSTR_VC_Q_PORT1_TX, gpa, 2 * max, false);
	vc_kick(&self->g, KTSTR_VC_Q_PORT1_TX);

	ASSERT_EQ(0, vc_wait_used(&self->g, KTSTR_VC_Q_PORT1_TX, 1, VC_WAIT_MS));
	ASSERT_EQ(max, vc_port_read_all(self->port1, got, 2 * max, 500))
		TH_LOG("a descriptor over 32 KiB gives its first 32 KiB only");
	for (size_t i = 0; i < max; i++)
		ASSERT_EQ(0x55, got[i]);
	ASSERT_EQ(1, vc_stat(self->g.fd, bad_desc));
	free(got);
}

TEST_F(tx, port1_tx_rejected_without_driver_ok)
{
	static const char payload[] = "this must not reach port 1";
	int ret;

	ret = vc_guest_start(&self->g, VC_ALL_QUEUES, VC_NUM,
			     VC_DEVICE_FEATURES, false);
	ASSERT_EQ(0, ret);
	vc_vq_add_buf(&self->g, KTSTR_VC_Q_PORT1_TX,
		      vc_guest_put(&self->g, payload, sizeof(payload)),
		      sizeof(payload), false);
	vc_kick(&self->g, KTSTR_VC_Q_PORT1_TX);
	vc_settle();

	ASSERT_EQ(0, vc_port_pending(self->port1));
	ASSERT_EQ(0, vc_used_idx(&self->g, KTSTR_VC_Q_PORT1_TX));
	ASSERT_EQ(0, vc_isr(self->g.fd));
	ASSERT_EQ(0, vc_call_count(&self->g));
	ASSERT_EQ(1, vc_stat(self->g.fd, bad_notify));
}

TEST_F(tx, port1_tx_refused_without_multiport)
{
	static const char payload[] = "multiport was not negotiated";
	int ret;

	ret = vc_guest_start(&self->g, VC_ALL_QUEUES, VC_NUM, VC_F_VERSION_1,
			     true);
	ASSERT_EQ(0, ret);
	vc_vq_add_buf(&self->g, KTSTR_VC_Q_PORT1_TX,
		      vc_guest_put(&self->g, payload, sizeof(payload)),
		      sizeof(payload), false);
	vc_kick(&self->g, KTSTR_VC_Q_PORT1_TX);
	vc_settle();

	ASSERT_EQ(0, vc_port_pending(self->port1));
	ASSERT_EQ(0, vc_used_idx(&self->g, KTSTR_VC_Q_PORT1_TX));
	ASSERT_EQ(1, vc_stat(self->g.fd, bad_notify));
}

/*
 * An eventfd kick does not pass QUEUE_NOTIFY's checks: the device's own
 * gates must hold.  Start with features (DRIVER_OK if driver_ok), kick a
 * port-1 chain of payload by eventfd: nothing may arrive.
 */
static void eventfd_kick_held(struct __test_metadata *_metadata,
			      struct vc_guest *g, int port1,
			      const char *payload, size_t len,
			      __u64 features, bool driver_ok)
{
	ASSERT_EQ(0, vc_guest_start(g, VC_ALL_QUEUES, VC_NUM, features,
				    driver_ok));
	ASSERT_EQ(0, vc_guest_use_kick_fds(g, VC_ALL_QUEUES));
	vc_vq_add_buf(g, KTSTR_VC_Q_PORT1_TX, vc_guest_put(g, payload, len),
		      len, false);
	vc_kick(g, KTSTR_VC_Q_PORT1_TX);
	vc_settle();
	ASSERT_EQ(0, vc_port_pending(port1));
	ASSERT_EQ(0, vc_used_idx(g, KTSTR_VC_Q_PORT1_TX));
}

/* Before DRIVER_OK the chain waits, and goes with the first kick after. */
TEST_F(tx, port1_tx_kicked_by_eventfd_before_driver_ok_waits_for_it)
{
	static const char payload[] = "kicked too early";
	char got[sizeof(payload)];

	eventfd_kick_held(_metadata, &self->g, self->port1, payload,
			  sizeof(payload), VC_DEVICE_FEATURES, false);
	vc_walk_status(self->g.fd, VC_S_OK);
	vc_kick(&self->g, KTSTR_VC_Q_PORT1_TX);
	ASSERT_EQ(sizeof(payload), vc_port_read_all(self->port1, got,
						    sizeof(got), VC_WAIT_MS));
	ASSERT_EQ(0, memcmp(payload, got, sizeof(payload)));
}

TEST_F(tx, port1_tx_kicked_by_eventfd_without_multiport_refused)
{
	static const char payload[] = "no multiport, no port 1";

	eventfd_kick_held(_metadata, &self->g, self->port1, payload,
			  sizeof(payload), VC_F_VERSION_1, true);
}

TEST_F(tx, port0_tx_without_multiport_still_works)
{
	static const char payload[] = "single-console guest";
	char got[sizeof(payload)];

	ASSERT_EQ(0, vc_guest_start(&self->g, VC_Q(0) | VC_Q(1), VC_NUM,
				    VC_F_VERSION_1, true));
	vc_vq_add_buf(&self->g, KTSTR_VC_Q_PORT0_TX,
		      vc_guest_put(&self->g, payload, sizeof(payload)),
		      sizeof(payload), false);
	vc_kick(&self->g, KTSTR_VC_Q_PORT0_TX);
	ASSERT_EQ(sizeof(payload),
		  vc_port_read_all(self->port0, got, sizeof(got), VC_WAIT_MS));
	ASSERT_EQ(0, memcmp(payload, got, sizeof(got)));
}

TEST_F(tx, port0_tx_vs_port1_tx_routes_to_correct_port)
{
	static const char p0[] = "port0 console bytes";
	static const char p1[] = "port1 bulk TLV bytes";
	char got0[sizeof(p0)], got1[sizeof(p1)];

	start_all(_metadata, &self->g);
	vc_vq_add_buf(&self->g, KTSTR_VC_Q_PORT0_TX,
		      vc_guest_put(&self->g, p0, sizeof(p0)), sizeof(p0), false);
	vc_vq_add_buf(&self->g, KTSTR_VC_Q_PORT1_TX,
		      vc_guest_put(&self->g, p1, sizeof(p1)), sizeof(p1), false);
	vc_kick(&self->g, KTSTR_VC_Q_PORT0_TX);
	vc_kick(&self->g, KTSTR_VC_Q_PORT1_TX);

	ASSERT_EQ(sizeof(p0),
		  vc_port_read_all(self->port0, got0, sizeof(got0), VC_WAIT_MS));
	ASSERT_EQ(sizeof(p1),
		  vc_port_read_all(self->port1, got1, sizeof(got1), VC_WAIT_MS));
	ASSERT_EQ(0, memcmp(p0, got0, sizeof(p0)));
	ASSERT_EQ(0, memcmp(p1, got1, sizeof(p1)));
	/* A reader may see the bytes before the run publishes used->idx. */
	ASSERT_EQ(0, vc_wait_used(&self->g, KTSTR_VC_Q_PORT0_TX, 1, VC_WAIT_MS));
	ASSERT_EQ(0, vc_wait_used(&self->g, KTSTR_VC_Q_PORT1_TX, 1, VC_WAIT_MS));
	ASSERT_EQ(1, vc_used_idx(&self->g, KTSTR_VC_Q_PORT0_TX));
	ASSERT_EQ(1, vc_used_idx(&self->g, KTSTR_VC_Q_PORT1_TX));
}

/*
 * Nine 32 KiB chains are more than one run's 256 KiB: the worker takes
 * eight, stops at the byte weight, then runs again by itself for the
 * ninth.  One kick moves all.
 */
TEST_F(tx, port1_tx_per_call_cap_partial_drain)
{
	const size_t max = 32 * 1024;
	__u8 *got = malloc(9 * max);
	struct ktstr_vc_stats st;
	unsigned int i;

	ASSERT_NE(NULL, got);
	start_all(_metadata, &self->g);
	for (i = 0; i < 9; i++) {
		__u64 gpa = vc_guest_alloc(&self->g, max);

		memset(vc_gpa_to_hva(&self->g, gpa), i + 1, max);
		vc_vq_add_buf(&self->g, KTSTR_VC_Q_PORT1_TX, gpa, max, false);
	}
	vc_kick(&self->g, KTSTR_VC_Q_PORT1_TX);

	ASSERT_EQ(0, vc_wait_used(&self->g, KTSTR_VC_Q_PORT1_TX, 9, VC_WAIT_MS))
		TH_LOG("expected all 9 chains used after one kick, got %u",
		       vc_used_idx(&self->g, KTSTR_VC_Q_PORT1_TX));
	ASSERT_EQ(9 * max,
		  vc_port_read_all(self->port1, got, 9 * max, VC_WAIT_MS));
	for (i = 0; i < 9 * max; i += max)
		ASSERT_EQ(i / max + 1, got[i]) TH_LOG("chain order at %u", i);
	vc_get_stats(self->g.fd, &st);
	ASSERT_EQ(1, st.queue[KTSTR_VC_Q_PORT1_TX].kicks);
	ASSERT_EQ(9, st.queue[KTSTR_VC_Q_PORT1_TX].chains);
	ASSERT_EQ(9 * max, st.queue[KTSTR_VC_Q_PORT1_TX].bytes);
	ASSERT_EQ(1, st.queue[KTSTR_VC_Q_PORT1_TX].weight_stops)
		TH_LOG("the first run must stop at 256 KiB, with a chain waiting");
	free(got);
}

TEST_F(tx, tx_evt_silent_on_empty_process_tx)
{
	start_all(_metadata, &self->g);
	vc_kick(&self->g, KTSTR_VC_Q_PORT0_TX);
	vc_kick(&self->g, KTSTR_VC_Q_PORT1_TX);
	vc_settle();

	ASSERT_EQ(0, vc_call_count(&self->g))
		TH_LOG("a kick on an empty ring must not interrupt");
	ASSERT_EQ(0, vc_isr(self->g.fd));
	ASSERT_EQ(-EAGAIN, read(self->port1, &(char){ 0 }, 1) ? -errno : 0);
}

TEST_F(tx, tx_zero_length_chain_returned_without_interrupt_or_wake)
{
	struct pollfd pfd = { .fd = self->port1, .events = POLLIN };

	start_all(_metadata, &self->g);
	vc_vq_add_buf(&self->g, KTSTR_VC_Q_PORT1_TX,
		      vc_guest_alloc(&self->g, 16), 0, false);
	vc_kick(&self->g, KTSTR_VC_Q_PORT1_TX);

	ASSERT_EQ(0, vc_wait_used(&self->g, KTSTR_VC_Q_PORT1_TX, 1, VC_WAIT_MS))
		TH_LOG("the zero-length chain must still be returned");
	vc_settle();
	ASSERT_EQ(0, vc_call_count(&self->g));
	ASSERT_EQ(0, vc_isr(self->g.fd));
	ASSERT_EQ(0, poll(&pfd, 1, 0)) TH_LOG("no bytes, no reader wake");
}

TEST_F(tx, kick_eventfd_processes_queue)
{
	static const char payload[] = "kicked through an eventfd";
	char got[sizeof(payload)];
	struct ktstr_vc_stats st;

	start_all(_metadata, &self->g);
	ASSERT_EQ(0, vc_guest_use_kick_fds(&self->g, VC_ALL_QUEUES));
	vc_vq_add_buf(&self->g, KTSTR_VC_Q_PORT1_TX,
		      vc_guest_put(&self->g, payload, sizeof(payload)),
		      sizeof(payload), false);
	vc_kick(&self->g, KTSTR_VC_Q_PORT1_TX);

	ASSERT_EQ(sizeof(payload),
		  vc_port_read_all(self->port1, got, sizeof(got), VC_WAIT_MS));
	ASSERT_EQ(0, memcmp(payload, got, sizeof(got)));
	vc_get_stats(self->g.fd, &st);
	ASSERT_EQ(1, st.queue[KTSTR_VC_Q_PORT1_TX].kicks);
	ASSERT_EQ(1, st.kicks);
}

static __u16 used_flags(struct vc_guest *g, unsigned int q)
{
	return __atomic_load_n(&g->vq[q].used->flags, __ATOMIC_ACQUIRE);
}

/* Wait until used->flags asks for kicks again: its last value. */
static __u16 wait_used_flags_clear(struct vc_guest *g, unsigned int q)
{
	__s64 end = vc_now_ms() + VC_WAIT_MS;

	while (used_flags(g, q) && vc_now_ms() < end)
		usleep(1000);
	return used_flags(g, q);
}

/* Kicks are off only while a run drains the ring: idle, the guest kicks. */
TEST_F(tx, tx_used_no_notify_flag_clear_when_idle)
{
	static const char payload[] = "kick me next time";
	char got[sizeof(payload)];

	start_all(_metadata, &self->g);
	vc_vq_add_buf(&self->g, KTSTR_VC_Q_PORT1_TX,
		      vc_guest_put(&self->g, payload, sizeof(payload)),
		      sizeof(payload), false);
	vc_kick(&self->g, KTSTR_VC_Q_PORT1_TX);
	ASSERT_EQ(sizeof(payload),
		  vc_port_read_all(self->port1, got, sizeof(got), VC_WAIT_MS));
	/* Idle: the run and the poll-window look after it have ended. */
	ASSERT_EQ(0, wait_used_flags_clear(&self->g, KTSTR_VC_Q_PORT1_TX))
		TH_LOG("VRING_USED_F_NO_NOTIFY left set on an idle ring");
}

static long tx_poll_us_swap(long us)
{
	FILE *f = fopen(TX_POLL_PARAM, "r+");
	long old = -1;

	if (!f)
		return -1;
	if (fscanf(f, "%ld", &old) != 1 || fseek(f, 0, SEEK_SET) ||
	    fprintf(f, "%ld\n", us) < 0)
		old = -1;
	if (fclose(f))
		old = -1;
	return old;
}

/*
 * Start the device and have one port-1 chain taken: the used flags right
 * after that run (NO_NOTIFY while its poll window is open).
 */
static __u16 poll_window_run(struct __test_metadata *_metadata,
			     struct vc_guest *g, const char *msg, size_t len)
{
	start_all(_metadata, g);
	vc_vq_add_buf(g, KTSTR_VC_Q_PORT1_TX, vc_guest_put(g, msg, len), len,
		      false);
	vc_kick(g, KTSTR_VC_Q_PORT1_TX);
	EXPECT_EQ(0, vc_wait_used(g, KTSTR_VC_Q_PORT1_TX, 1, VC_WAIT_MS));
	return used_flags(g, KTSTR_VC_Q_PORT1_TX);
}

/*
 * After a port-1 run that moved bytes, kicks stay off for tx_poll_us: a
 * chain the guest adds meanwhile is taken without one, and once a look
 * finds the ring empty the guest is asked to kick again.
 */
TEST_F(tx, port1_tx_chain_added_in_poll_window_taken_without_kick)
{
	static const char a[] = "first, kicked", b[] = "second, not kicked";
	char got[sizeof(a) + sizeof(b)];
	struct ktstr_vc_stats st;
	__u16 flags_after_run;
	long old;

	old = tx_poll_us_swap(1000 * 1000);
	ASSERT_LE(0, old) TH_LOG("%s: %s", TX_POLL_PARAM, strerror(errno));
	flags_after_run = poll_window_run(_metadata, &self->g, a, sizeof(a));
	vc_vq_add_buf(&self->g, KTSTR_VC_Q_PORT1_TX,
		      vc_guest_put(&self->g, b, sizeof(b)), sizeof(b), false);
	EXPECT_EQ(sizeof(got),
		  vc_port_read_all(self->port1, got, sizeof(got), VC_WAIT_MS));
	EXPECT_EQ(0, vc_wait_used(&self->g, KTSTR_VC_Q_PORT1_TX, 2, VC_WAIT_MS));
	wait_used_flags_clear(&self->g, KTSTR_VC_Q_PORT1_TX);
	tx_poll_us_swap(old);

	ASSERT_EQ(VRING_USED_F_NO_NOTIFY, flags_after_run)
		TH_LOG("kicks must stay off right after a run that moved bytes");
	ASSERT_EQ(0, memcmp(got, a, sizeof(a)));
	ASSERT_EQ(0, memcmp(got + sizeof(a), b, sizeof(b)));
	vc_get_stats(self->g.fd, &st);
	ASSERT_EQ(1, st.queue[KTSTR_VC_Q_PORT1_TX].kicks);
	ASSERT_EQ(2, st.queue[KTSTR_VC_Q_PORT1_TX].chains);
	ASSERT_EQ(0, used_flags(&self->g, KTSTR_VC_Q_PORT1_TX))
		TH_LOG("an empty look must ask for kicks again, flags %#x",
		       used_flags(&self->g, KTSTR_VC_Q_PORT1_TX));
}

struct one_region {
	struct ktstr_vc_mem_table hdr;
	struct ktstr_vc_mem_region region;
};

static int set_one_region(int fd, __u64 gpa, __u64 size, void *hva)
{
	struct one_region t = {
		.hdr.nregions = 1,
		.region = { .guest_phys_addr = gpa, .size = size,
			    .userspace_addr = (uintptr_t)hva },
	};

	return __vc_ioctl(fd, KTSTR_VC_SET_MEM_TABLE, (void *)&t);
}

/*
 * A poll-window run leaves kicks off.  If the ring then leaves guest
 * memory (the VMM's table briefly does not cover it), the look finds the
 * queue unusable; once a table covers it again, the device must ask for
 * kicks again, or a guest that sees NO_NOTIFY would never kick it.
 */
TEST_F(tx, port1_kicks_back_on_after_ring_returns_to_guest_memory)
{
	static const char a[] = "poll window";
	void *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	__u16 flags_after_run;
	__u64 bad;
	__s64 end;
	long old;

	ASSERT_NE(MAP_FAILED, page);
	old = tx_poll_us_swap(200 * 1000);
	ASSERT_LE(0, old) TH_LOG("%s: %s", TX_POLL_PARAM, strerror(errno));
	flags_after_run = poll_window_run(_metadata, &self->g, a, sizeof(a));
	bad = vc_stat(self->g.fd, bad_ring);
	EXPECT_EQ(0, set_one_region(self->g.fd, VC_GUEST_BASE + VC_GUEST_SIZE,
				    4096, page));
	/* Evidence of the look that found the ring outside memory. */
	end = vc_now_ms() + VC_WAIT_MS;
	while (vc_stat(self->g.fd, bad_ring) == bad && vc_now_ms() < end)
		usleep(1000);
	EXPECT_LT(bad, vc_stat(self->g.fd, bad_ring));
	EXPECT_EQ(0, set_one_region(self->g.fd, VC_GUEST_BASE, VC_GUEST_SIZE,
				    self->g.mem));
	wait_used_flags_clear(&self->g, KTSTR_VC_Q_PORT1_TX);
	tx_poll_us_swap(old);
	munmap(page, 4096);

	ASSERT_EQ(VRING_USED_F_NO_NOTIFY, flags_after_run)
		TH_LOG("kicks must be off in the poll window");
	ASSERT_EQ(0, used_flags(&self->g, KTSTR_VC_Q_PORT1_TX))
		TH_LOG("NO_NOTIFY left set after the ring came back");
}

TEST_F(tx, interrupt_ack_clears_vring_bit)
{
	static const char payload[] = "x";

	start_all(_metadata, &self->g);
	vc_vq_add_buf(&self->g, KTSTR_VC_Q_PORT1_TX,
		      vc_guest_put(&self->g, payload, 1), 1, false);
	vc_kick(&self->g, KTSTR_VC_Q_PORT1_TX);
	ASSERT_EQ(0, vc_wait_call(&self->g, VC_WAIT_MS));
	ASSERT_EQ(VIRTIO_MMIO_INT_VRING, vc_isr(self->g.fd));
	vc_write32(self->g.fd, VIRTIO_MMIO_INTERRUPT_ACK,
		   VIRTIO_MMIO_INT_VRING);
	ASSERT_EQ(0, vc_isr(self->g.fd));
}

TEST_F(tx, no_interrupt_flag_suppresses_call)
{
	static const char payload[] = "quiet";
	char got[sizeof(payload)];

	start_all(_metadata, &self->g);
	self->g.vq[KTSTR_VC_Q_PORT1_TX].avail->flags = VRING_AVAIL_F_NO_INTERRUPT;
	vc_vq_add_buf(&self->g, KTSTR_VC_Q_PORT1_TX,
		      vc_guest_put(&self->g, payload, sizeof(payload)),
		      sizeof(payload), false);
	vc_kick(&self->g, KTSTR_VC_Q_PORT1_TX);

	ASSERT_EQ(sizeof(payload),
		  vc_port_read_all(self->port1, got, sizeof(got), VC_WAIT_MS));
	ASSERT_EQ(0, vc_wait_used(&self->g, KTSTR_VC_Q_PORT1_TX, 1, VC_WAIT_MS));
	vc_settle();
	ASSERT_EQ(0, vc_call_count(&self->g))
		TH_LOG("VRING_AVAIL_F_NO_INTERRUPT must suppress the call");
}

TEST_F(tx, stats_count_chains_bytes_and_interrupts)
{
	static const char payload[] = "0123456789";
	struct ktstr_vc_stats st;

	start_all(_metadata, &self->g);
	vc_vq_add_buf(&self->g, KTSTR_VC_Q_PORT0_TX,
		      vc_guest_put(&self->g, payload, 10), 10, false);
	vc_kick(&self->g, KTSTR_VC_Q_PORT0_TX);
	ASSERT_EQ(0, vc_wait_used(&self->g, KTSTR_VC_Q_PORT0_TX, 1, VC_WAIT_MS));
	ASSERT_EQ(0, vc_wait_call(&self->g, VC_WAIT_MS));
	vc_get_stats(self->g.fd, &st);
	ASSERT_EQ(1, st.queue[KTSTR_VC_Q_PORT0_TX].chains);
	ASSERT_EQ(10, st.queue[KTSTR_VC_Q_PORT0_TX].bytes);
	ASSERT_EQ(1, st.queue[KTSTR_VC_Q_PORT0_TX].interrupts);
	ASSERT_EQ(1, st.interrupts);
}

TEST_HARNESS_MAIN
