// SPDX-License-Identifier: GPL-2.0
/*
 * The virtio-console device: a ktstr_vconsole session.
 *
 * /dev/ktstr-vconsole is opened and attached to the slot; the module gets
 * the guest RAM regions, one kick eventfd per queue and the call eventfd.
 * KVM signals a queue's kick eventfd itself when the guest writes the
 * queue index to QUEUE_NOTIFY (an ioeventfd with datamatch), so notifies
 * never reach us; it raises GSI VMM_DEV_IRQ itself when the module
 * signals the call eventfd (an irqfd: one pulse per signal, which the MP
 * table's edge triggered ISA IRQ turns into one interrupt; the guest's
 * handler reads INTERRUPT_STATUS and acknowledges, and the module sets
 * the status before signalling, so an edge is never needed for work
 * already seen).
 * Every other access to the window is one KTSTR_VC_MMIO ioctl.  The
 * ports' streams come from KTSTR_VC_GET_PORT_FD.  Closing the control
 * file ends the session.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/ktstr_vconsole.h>
#include <linux/virtio_mmio.h>

#include "ktstr-vmm.h"

#define VDEV_CTRL_PATH	"/dev/" KTSTR_VC_CTRL_NAME

/*
 * The ABI this ktstr-vmm speaks.  Building with -DKTSTR_VMM_ABI=N makes
 * one that expects another: the VM test's way to meet a mismatch.
 */
#ifndef KTSTR_VMM_ABI
#define KTSTR_VMM_ABI	KTSTR_VC_ABI_VERSION
#endif

/* Returns the module's number of slots. */
static unsigned int vdev_check_info(struct vmm *vm)
{
	struct ktstr_vc_info info;
	int err;

	if (ioctl(vm->dev.ctrl_fd, KTSTR_VC_GET_INFO, &info) < 0) {
		err = errno;
		vmm_log("%s: KTSTR_VC_GET_INFO: %s", VDEV_CTRL_PATH,
			strerror(err));
		if (err == ENOTTY)
			vmm_die("hint: a much older or newer module? build both from one tree");
		exit(VMM_ERROR);
	}
	if (info.abi_version != KTSTR_VMM_ABI) {
		vmm_log("%s: the loaded module speaks ABI %u, this ktstr-vmm ABI %u",
			VDEV_CTRL_PATH, info.abi_version, KTSTR_VMM_ABI);
		vmm_log("hint: build the module and ktstr-vmm from one tree, then reload it:");
		vmm_die("hint: sudo rmmod ktstr_vconsole; sudo insmod vconsole/ktstr_vconsole.ko");
	}
	if (info.num_queues != KTSTR_VC_NUM_QUEUES ||
	    info.mmio_size != KTSTR_VC_MMIO_SIZE)
		vmm_die("%s: module reports %u queues and a %#x-byte window, expected %u and %#x",
			VDEV_CTRL_PATH, info.num_queues, info.mmio_size,
			KTSTR_VC_NUM_QUEUES, KTSTR_VC_MMIO_SIZE);
	if (vm->slot != KTSTR_VC_SLOT_ANY && vm->slot >= info.nr_slots)
		vmm_die("--slot %u: the module has slots 0-%u (its nr_slots parameter)",
			vm->slot, info.nr_slots - 1);
	return info.nr_slots;
}

static void vdev_port_paths(struct vmm *vm)
{
	unsigned int i;

	for (i = 0; i < KTSTR_VC_NUM_PORTS; i++) {
		if (vm->slot)
			snprintf(vm->dev.port_path[i], sizeof(vm->dev.port_path[i]),
				 "/dev/" KTSTR_VC_SLOT_PORT_FMT, vm->slot, i);
		else
			snprintf(vm->dev.port_path[i], sizeof(vm->dev.port_path[i]),
				 "/dev/" KTSTR_VC_SLOT0_PORT_FMT, i);
	}
}

/* An explicit slot, or the lowest free one (--slot auto). */
static void vdev_attach(struct vmm *vm, unsigned int nr_slots)
{
	struct ktstr_vc_attach attach = { .slot = vm->slot };

	if (ioctl(vm->dev.ctrl_fd, KTSTR_VC_ATTACH, &attach) < 0) {
		if (errno == EBUSY && vm->slot == KTSTR_VC_SLOT_ANY) {
			vmm_log("%s: all %u slots are in use by other VMMs",
				VDEV_CTRL_PATH, nr_slots);
			vmm_log("hint: the module's nr_slots parameter sets how many there are:");
			vmm_die("hint: sudo rmmod ktstr_vconsole; sudo insmod ... nr_slots=%u",
				nr_slots * 2 < KTSTR_VC_MAX_SLOTS ?
				nr_slots * 2 : KTSTR_VC_MAX_SLOTS);
		}
		if (errno == EBUSY) {
			vmm_log("%s: slot %u is in use by another VMM",
				VDEV_CTRL_PATH, vm->slot);
			vmm_die("hint: --slot auto (the default) takes a free slot");
		}
		if (vm->slot == KTSTR_VC_SLOT_ANY)
			vmm_die("%s: KTSTR_VC_ATTACH (any slot): %s",
				VDEV_CTRL_PATH, strerror(errno));
		vmm_die("%s: KTSTR_VC_ATTACH slot %u: %s", VDEV_CTRL_PATH,
			vm->slot, strerror(errno));
	}
	vm->slot = attach.slot;
	vm->dev.slot = attach.slot;
	vdev_port_paths(vm);
	vmm_log("slot %u: %s (console), %s (TLV stream)", vm->slot,
		vm->dev.port_path[0], vm->dev.port_path[1]);
}

static void vdev_set_mem(struct vmm *vm)
{
	struct {
		struct ktstr_vc_mem_table table;
		struct ktstr_vc_mem_region regions[2];
	} mem;

	memset(&mem, 0, sizeof(mem));
	mem.regions[0].guest_phys_addr = 0;
	mem.regions[0].size = vm->low_size;
	mem.regions[0].userspace_addr = (uintptr_t)vm->ram;
	mem.table.nregions = 1;
	if (vm->high_size) {
		mem.regions[1].guest_phys_addr = VMM_HIGH_MEM_START;
		mem.regions[1].size = vm->high_size;
		mem.regions[1].userspace_addr = (uintptr_t)vm->ram + vm->low_size;
		mem.table.nregions = 2;
	}
	if (ioctl(vm->dev.ctrl_fd, KTSTR_VC_SET_MEM_TABLE, &mem) < 0)
		vmm_die("%s: KTSTR_VC_SET_MEM_TABLE: %s", VDEV_CTRL_PATH,
			strerror(errno));
}

static int vdev_eventfd(const char *what)
{
	int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

	if (fd < 0)
		vmm_die("eventfd for %s: %s", what, strerror(errno));
	return fd;
}

static void vdev_set_kicks(struct vmm *vm)
{
	struct kvm_ioeventfd ioev;
	struct ktstr_vc_kick kick;
	unsigned int q;
	int fd;

	for (q = 0; q < KTSTR_VC_NUM_QUEUES; q++) {
		fd = vdev_eventfd("a queue kick");
		vm->dev.kick_fd[q] = fd;
		memset(&ioev, 0, sizeof(ioev));
		ioev.datamatch = q;
		ioev.addr = VMM_DEV_BASE + VIRTIO_MMIO_QUEUE_NOTIFY;
		ioev.len = 4;
		ioev.fd = fd;
		ioev.flags = KVM_IOEVENTFD_FLAG_DATAMATCH;
		if (ioctl(vm->vm_fd, KVM_IOEVENTFD, &ioev) < 0)
			vmm_die("KVM_IOEVENTFD (queue %u notify at %#llx): %s",
				q, (unsigned long long)ioev.addr,
				strerror(errno));
		kick.queue = q;
		kick.fd = fd;
		if (ioctl(vm->dev.ctrl_fd, KTSTR_VC_SET_KICK_FD, &kick) < 0)
			vmm_die("%s: KTSTR_VC_SET_KICK_FD queue %u: %s",
				VDEV_CTRL_PATH, q, strerror(errno));
	}
}

static void vdev_set_call(struct vmm *vm)
{
	struct kvm_irqfd irqfd;
	struct ktstr_vc_call call;
	int fd;

	fd = vdev_eventfd("the interrupt");
	vm->dev.call_fd = fd;
	memset(&irqfd, 0, sizeof(irqfd));
	irqfd.fd = fd;
	irqfd.gsi = VMM_DEV_IRQ;
	if (ioctl(vm->vm_fd, KVM_IRQFD, &irqfd) < 0)
		vmm_die("KVM_IRQFD (GSI %d): %s", VMM_DEV_IRQ, strerror(errno));
	memset(&call, 0, sizeof(call));
	call.fd = fd;
	if (ioctl(vm->dev.ctrl_fd, KTSTR_VC_SET_CALL_FD, &call) < 0)
		vmm_die("%s: KTSTR_VC_SET_CALL_FD: %s", VDEV_CTRL_PATH,
			strerror(errno));
}

/*
 * Opens and sets up the device.  Without it the guest has no console
 * and no TLV stream, and a runner would see a clean exit with no
 * results: so that takes --no-device.
 */
void vdev_open(struct vmm *vm)
{
	unsigned int nr_slots;

	if (vm->no_device)
		return;
	vm->dev.ctrl_fd = open(VDEV_CTRL_PATH, O_RDWR | O_CLOEXEC);
	if (vm->dev.ctrl_fd < 0)
		diag_ctrl_open(errno);
	nr_slots = vdev_check_info(vm);
	vdev_attach(vm, nr_slots);
	vdev_set_mem(vm);
	vdev_set_kicks(vm);
	vdev_set_call(vm);
}

/*
 * A port of the attached slot as a file of its own, as if its node had
 * been opened with flags: the VMM needs no access to the nodes, which
 * stay root's.  -errno on failure (EBUSY: the node has that reader or
 * writer already).
 */
int vdev_port_fd(struct vmm *vm, unsigned int port, int flags)
{
	struct ktstr_vc_port_fd arg = { .port = port, .flags = flags };
	int fd;

	fd = ioctl(vm->dev.ctrl_fd, KTSTR_VC_GET_PORT_FD, &arg);
	return fd < 0 ? -errno : fd;
}

/* One guest access to the window, from a vCPU thread. */
void vdev_mmio(struct vmm *vm, __u64 offset, __u8 *data, __u32 len,
	       bool write)
{
	struct ktstr_vc_mmio m;

	if (vm->dev.ctrl_fd < 0 || !len || len > sizeof(m.data)) {
		if (!write)
			memset(data, 0xff, len);
		return;
	}
	memset(&m, 0, sizeof(m));
	m.offset = offset;
	m.len = len;
	m.flags = write ? KTSTR_VC_MMIO_WRITE : 0;
	if (write)
		memcpy(m.data, data, len);
	if (ioctl(vm->dev.ctrl_fd, KTSTR_VC_MMIO, &m) < 0) {
		vmm_stop(vm, VMM_ERROR, "%s: KTSTR_VC_MMIO %s of %u bytes at %#llx: %s",
			 VDEV_CTRL_PATH, write ? "write" : "read", len,
			 (unsigned long long)offset, strerror(errno));
		if (!write)
			memset(data, 0xff, len);
		return;
	}
	if (!write)
		memcpy(data, m.data, len);
}

static const char *const vdev_queue_names[KTSTR_VC_NUM_QUEUES] = {
	"port0 rx", "port0 tx", "ctrl rx", "ctrl tx", "port1 rx", "port1 tx",
};

/* --stats: the counters as the vCPUs left them, before the last drain. */
static void vdev_print_stats(struct vmm *vm)
{
	const struct ktstr_vc_queue_stats *q;
	struct ktstr_vc_stats st;
	unsigned int i;

	if (ioctl(vm->dev.ctrl_fd, KTSTR_VC_GET_STATS, &st) < 0) {
		vmm_log("statistics: %s", strerror(errno));
		return;
	}
	for (i = 0; i < KTSTR_VC_NUM_QUEUES; i++) {
		q = &st.queue[i];
		vmm_log("stats: q%u %-8s bytes %llu chains %llu kicks %llu interrupts %llu",
			i, vdev_queue_names[i], (unsigned long long)q->bytes,
			(unsigned long long)q->chains,
			(unsigned long long)q->kicks,
			(unsigned long long)q->interrupts);
		vmm_log("stats: q%u %-8s runs %llu (%llu stopped at the weight)",
			i, vdev_queue_names[i], (unsigned long long)q->runs,
			(unsigned long long)q->weight_stops);
	}
	vmm_log("stats: kicks %llu interrupts %llu port0_dropped %llu rx_discarded %llu",
		(unsigned long long)st.kicks,
		(unsigned long long)st.interrupts,
		(unsigned long long)st.port0_dropped,
		(unsigned long long)st.rx_discarded);
	vmm_log("stats: rejected: access_size %llu status %llu features %llu queue_config %llu",
		(unsigned long long)st.bad_access_size,
		(unsigned long long)st.bad_status,
		(unsigned long long)st.bad_features,
		(unsigned long long)st.bad_queue_config);
	vmm_log("stats: rejected: config_write %llu register %llu notify %llu desc %llu",
		(unsigned long long)st.bad_config_write,
		(unsigned long long)st.bad_register,
		(unsigned long long)st.bad_notify,
		(unsigned long long)st.bad_desc);
	vmm_log("stats: rejected: chain %llu ring %llu control %llu torn_writes %llu",
		(unsigned long long)st.bad_chain,
		(unsigned long long)st.bad_ring,
		(unsigned long long)st.bad_control,
		(unsigned long long)st.torn_writes);
}

/* Ends the session: the module drains both TX queues, readers get EOF. */
void vdev_close(struct vmm *vm)
{
	if (vm->dev.ctrl_fd < 0)
		return;
	if (vm->stats)
		vdev_print_stats(vm);
	close(vm->dev.ctrl_fd);
	vm->dev.ctrl_fd = -1;
}
