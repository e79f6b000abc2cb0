/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ktstr-vmm: a minimal KVM VMM that boots a Linux bzImage with the
 * ktstr_vconsole device.  Shared state and the interfaces between its
 * files:
 *
 *	ktstr-vmm.c	arguments, the VM's life cycle, signals
 *	vmm-boot.c	bzImage and initrd loading, boot params, e820,
 *			MP table, page tables, BSP registers
 *	vmm-vcpu.c	vCPU creation, CPUID, the run loop, port I/O, halt
 *			detection
 *	vmm-port.c	the ports' streams: port 0 to stdout, port 1 to
 *			--port1, stdin to port 0
 *	vmm-frames.c	the guest's frames on port 1: SNRQ answered,
 *			the wake byte sent after EXIT
 *	vmm-tx.c	host -> guest writes, stopped before the session ends
 *	vmm-term.c	stdin as the guest's console: raw mode, Ctrl-A
 *			escapes, the terminal restored on every exit
 *	vmm-uart.c	COM1, a 16550A without receive
 *	vmm-device.c	the virtio-mmio window: ktstr_vconsole session,
 *			ioeventfds, irqfd, MMIO forwarding, port fds
 *	kvm.c		/dev/kvm, the VM, its irqchip and PIT, guest RAM
 *	vmm-diag.c	what to do when /dev/kvm or the device fails
 *	util.c		messages, dying, stopping the VM
 *	tlv.c		ktstr-tlv's, for the frames' types, sizes and CRC-32
 *
 * A file calls only files below it in this list, never one above: no
 * two depend on each other, and each can be read with what is below.
 *
 * Guest physical memory: RAM from 0 up to min(mem, 3 GiB), the rest (if
 * any) from 4 GiB; the hole between holds the device window at
 * 0xc0000000, the IOAPIC and the local APICs.
 */
#ifndef KTSTR_VMM_H
#define KTSTR_VMM_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdnoreturn.h>
#include <linux/kvm.h>
#include <linux/ktstr_vconsole.h>
#include <linux/types.h>

#include "tlv.h"	/* the frames ktstr-vmm answers (vmm-frames.c) */

#ifndef fallthrough
#define fallthrough		__attribute__((__fallthrough__))
#endif
#define BIT(n)			(1U << (n))
#define BIT_ULL(n)		(1ULL << (n))
#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))

#define VMM_MAX_CPUS		64
#define VMM_MSG_MAX		480	/* one message of ktstr-vmm */
#define VMM_MIN_MEM_MIB		64
#define VMM_DEFAULT_MEM_MIB	256

#define VMM_LOW_MEM_MAX		0xc0000000ULL	/* RAM below the hole */
#define VMM_HIGH_MEM_START	0x100000000ULL	/* RAM above it */

/*
 * The ktstr_vconsole window (KTSTR_VC_MMIO_SIZE bytes) and its IRQ, which
 * the guest learns from the virtio_mmio.device= that ktstr-vmm.c makes.
 */
#define VMM_DEV_BASE		0xc0000000ULL
#define VMM_DEV_IRQ		5

#define VMM_COM1_BASE		0x3f8
#define VMM_COM1_IRQ		4

#define VMM_IOAPIC_ADDR		0xfec00000U
#define VMM_LAPIC_ADDR		0xfee00000U

/* Process exit status: what ended the VM. */
enum vmm_status {
	VMM_POWEROFF = 0,	/* every vCPU halted with interrupts off */
	VMM_ERROR = 1,		/* KVM, device or I/O error */
	VMM_USAGE = 2,		/* bad command line */
	VMM_REBOOT = 3,		/* reset through port 0x64 or 0xcf9 */
	VMM_TRIPLE_FAULT = 4,	/* KVM_EXIT_SHUTDOWN (also reboot=t) */
	VMM_STOPPED = 5,	/* a signal, or Ctrl-A x on the console */
};

struct vmm;

struct vcpu {
	struct vmm *vm;
	int id;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool started;
	/* Power-off detection: the last probe round answered, the answer. */
	unsigned int probe_round;
	bool dead_halt;
};

struct uart {
	pthread_mutex_t lock;
	__u8 ier;
	__u8 lcr;
	__u8 mcr;
	__u8 scr;
	__u8 dll;
	__u8 dlm;
	__u8 fcr;
	bool thri_pending;
	bool irq_level;
	size_t len;
	char buf[512];
};

struct vdev {
	int ctrl_fd;		/* -1: no device */
	int kick_fd[KTSTR_VC_NUM_QUEUES];
	int call_fd;
	unsigned int slot;
	/* The slot's nodes, for messages. */
	char port_path[KTSTR_VC_NUM_PORTS][32];
};

/* Guest -> host: one thread per port read, port 0 to stdout. */
struct vmm_port_copy {
	struct vmm *vm;
	unsigned int port;
	int in_fd;
	int out_fd;
	bool close_out;
	bool running;
	pthread_t thread;
	__u64 bytes;
};

/*
 * Host -> guest: the port writers, non-blocking, shared by the stdin
 * thread and the frame watcher.  Once stopped (the session is about to
 * end) nothing more is written: a byte written after the end would wait
 * in the idle slot for the next guest.
 */
struct vmm_tx {
	pthread_mutex_t lock;	/* fd, stopped */
	int fd[KTSTR_VC_NUM_PORTS];	/* -1: not open */
	int stop_fd;		/* eventfd, readable once stopped */
	bool stopped;
};

/* stdin to port 0, a terminal through the Ctrl-A escapes. */
struct vmm_input {
	pthread_t thread;
	bool running;
	bool tty;		/* the terminal is the console */
	bool escape;		/* Ctrl-A seen, the command byte next */
};

/* Where the frame watcher is in the port-1 stream. */
struct vmm_frames {
	__u8 hdr[TLV_HDR_LEN];
	__u8 payload[TLV_SNR_LEN];	/* SNRQ or EXIT, the frames used */
	size_t have;			/* bytes of hdr, then of payload */
	__u32 type;
	__u32 len;
	__u32 left;			/* payload bytes still to come */
	bool keep;			/* a frame acted on: payload kept */
	bool in_payload;
	bool damaged;			/* stopped watching */
	__u64 offset;			/* of the current frame */
	bool have_exit;
	__s32 exit_code;		/* of the last good EXIT frame */
};

struct vmm {
	/* Options. */
	const char *kernel;
	const char *initrd;
	const char *cmdline;
	const char *port1_out;
	const char *snrp_name;		/* --snrp NAME */
	unsigned int ncpus;
	__u64 mem_size;
	unsigned int slot;		/* KTSTR_VC_SLOT_ANY: --slot auto */
	bool no_device;			/* --no-device */
	bool shutdown_after_exit;	/* --shutdown-after-exit */
	bool verbose;
	bool stats;			/* --stats */

	int kvm_fd;
	int vm_fd;
	size_t run_size;
	__u8 *ram;		/* mem_size bytes: low part, then high part */
	__u64 low_size;		/* RAM at 0 */
	__u64 high_size;	/* RAM at 4 GiB */

	/* The kernel and initrd, read and checked before KVM is touched. */
	__u8 *kernel_img;
	size_t kernel_size;
	size_t setup_size;
	__u64 kernel_end;	/* of the memory it decompresses into */
	int initrd_fd;
	size_t initrd_size;
	__u64 initrd_start;
	struct kvm_cpuid2 *cpuid;	/* what KVM supports */

	struct vcpu vcpus[VMM_MAX_CPUS];
	struct uart com1;
	struct vdev dev;
	struct vmm_port_copy port[KTSTR_VC_NUM_PORTS];
	struct vmm_tx tx;
	struct vmm_input input;
	struct vmm_frames frames;

	pthread_t main_thread;
	pthread_mutex_t lock;		/* stopping, status, reason */
	bool stopping;
	enum vmm_status status;
	char reason[VMM_MSG_MAX / 2];	/* why it stopped, maybe cut */
	unsigned int probe_round;	/* halt detection round, atomic */
};

/* util.c */
/*
 * Messages are formatted by snprintf() in the caller's frame, so the
 * compiler checks every format against its arguments.
 */
#define vmm_log(...) do {						\
	char vmm_msg_[VMM_MSG_MAX];					\
	snprintf(vmm_msg_, sizeof(vmm_msg_), __VA_ARGS__);		\
	vmm_log_msg(vmm_msg_);						\
} while (0)

/* Says why, exits with VMM_ERROR: only before the vCPUs run. */
#define vmm_die(...) do {						\
	char vmm_msg_[VMM_MSG_MAX];					\
	snprintf(vmm_msg_, sizeof(vmm_msg_), __VA_ARGS__);		\
	vmm_die_msg(vmm_msg_);						\
} while (0)

/* A bad command line: says why, exits with VMM_USAGE. */
#define vmm_usage(...) do {						\
	char vmm_msg_[VMM_MSG_MAX];					\
	snprintf(vmm_msg_, sizeof(vmm_msg_), __VA_ARGS__);		\
	vmm_usage_msg(vmm_msg_);					\
} while (0)

/* The VM ends with this status; the first reason given wins. */
#define vmm_stop(vm, status, ...) do {					\
	char vmm_msg_[VMM_MSG_MAX];					\
	snprintf(vmm_msg_, sizeof(vmm_msg_), __VA_ARGS__);		\
	vmm_stop_msg(vm, status, vmm_msg_);				\
} while (0)

void vmm_log_msg(const char *msg);
noreturn void vmm_die_msg(const char *msg);
noreturn void vmm_usage_msg(const char *msg);
void vmm_stop_msg(struct vmm *vm, enum vmm_status status, const char *msg);
bool vmm_stopping(struct vmm *vm);

/* kvm.c */
void kvm_init_vm(struct vmm *vm);
void kvm_setup_memory(struct vmm *vm);
void *kvm_gpa(struct vmm *vm, __u64 gpa, __u64 len);

/* vmm-boot.c */
void boot_read(struct vmm *vm, size_t cmdline_len);
void boot_load(struct vmm *vm, const char *cmdline);
void boot_setup_bsp(struct vcpu *vcpu);

/* vmm-vcpu.c */
void vcpu_create_all(struct vmm *vm);
void vcpu_start_all(struct vmm *vm);
void vcpu_kick(struct vcpu *vcpu);
void vcpu_join_all(struct vmm *vm);

/* vmm-uart.c */
void uart_init(struct uart *uart);
void uart_io(struct vmm *vm, unsigned int offset, __u8 *data, bool write);
void uart_flush(struct uart *uart);

/* vmm-device.c */
void vdev_open(struct vmm *vm);
int vdev_port_fd(struct vmm *vm, unsigned int port, int flags);
void vdev_mmio(struct vmm *vm, __u64 offset, __u8 *data, __u32 len,
	       bool write);
void vdev_close(struct vmm *vm);

/* vmm-port.c */
void ports_start(struct vmm *vm);
void ports_stop_tx(struct vmm *vm);
void ports_join(struct vmm *vm);

/* vmm-tx.c */
void tx_init(struct vmm *vm);
bool tx_send(struct vmm *vm, unsigned int port, const void *buf, size_t len);
void tx_close_writer(struct vmm *vm, unsigned int port);
void tx_stop(struct vmm *vm);

/* vmm-term.c */
bool term_start(void);
void term_restore(void);
void term_stopped(void);
void term_continued(void);
size_t term_filter(struct vmm *vm, const __u8 *in, size_t len, __u8 *out);

/* vmm-frames.c */
void frames_feed(struct vmm *vm, const __u8 *buf, size_t len);
void frames_report(struct vmm *vm);

/* vmm-diag.c */
noreturn void diag_kvm_open(int err);
noreturn void diag_ctrl_open(int err);
noreturn void diag_create_vm(int err);

#endif /* KTSTR_VMM_H */
