/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ktstr-vmm: a minimal KVM VMM that boots a Linux bzImage with the
 * ktstr_vconsole device.  Shared state and the interfaces between its
 * files:
 *
 *	ktstr-vmm.c	arguments, the VM's life cycle, port copy threads
 *	vmm-boot.c	memory layout, bzImage and initrd loading, boot
 *			params, e820, MP table, page tables, BSP registers
 *	vmm-vcpu.c	vCPU creation, CPUID, the run loop, port I/O, halt
 *			detection
 *	vmm-uart.c	COM1, a 16550A without receive
 *	vmm-device.c	the virtio-mmio window: ktstr_vconsole session,
 *			ioeventfds, irqfd, MMIO forwarding
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
#include <linux/types.h>

#ifndef fallthrough
#define fallthrough		__attribute__((__fallthrough__))
#endif
#define BIT(n)			(1U << (n))
#define BIT_ULL(n)		(1ULL << (n))

#define VMM_MAX_CPUS		64
#define VMM_MSG_MAX		480	/* one message of ktstr-vmm */
#define VMM_MIN_MEM_MIB		64
#define VMM_DEFAULT_MEM_MIB	256

#define VMM_LOW_MEM_MAX		0xc0000000ULL	/* RAM below the hole */
#define VMM_HIGH_MEM_START	0x100000000ULL	/* RAM above it */

/* The ktstr_vconsole window: virtio_mmio.device=0x1000@0xc0000000:5 */
#define VMM_DEV_BASE		0xc0000000ULL
#define VMM_DEV_IRQ		5

#define VMM_COM1_BASE		0x3f8
#define VMM_COM1_IRQ		4

#define VMM_IOAPIC_ADDR		0xfec00000U
#define VMM_LAPIC_ADDR		0xfee00000U

/* Process exit status: what ended the VM. */
enum vmm_status {
	VMM_POWEROFF = 0,	/* every vCPU halted with interrupts off */
	VMM_ERROR = 1,		/* bad argument, KVM or I/O error */
	VMM_REBOOT = 2,		/* reset through port 0x64 or 0xcf9 */
	VMM_TRIPLE_FAULT = 3,	/* KVM_EXIT_SHUTDOWN (also reboot=t) */
	VMM_SIGNALLED = 4,	/* SIGINT, SIGTERM or SIGHUP */
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
	int kick_fd[6];
	int call_fd;
	unsigned int slot;
};

struct vmm_port_copy {
	struct vmm *vm;
	const char *path;	/* the port device */
	int in_fd;
	int out_fd;
	bool close_out;
	bool running;
	pthread_t thread;
	__u64 bytes;
};

struct vmm {
	/* Options. */
	const char *kernel;
	const char *initrd;
	const char *cmdline;
	const char *port1_out;
	unsigned int ncpus;
	__u64 mem_size;
	unsigned int slot;
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
	struct vmm_port_copy port[2];

	pthread_t main_thread;
	pthread_mutex_t lock;		/* stopping, status, reason */
	bool stopping;
	enum vmm_status status;
	char reason[VMM_MSG_MAX / 2];	/* why it stopped, maybe cut */
	unsigned int probe_round;	/* halt detection round, atomic */
};

/* ktstr-vmm.c */
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

/* The VM ends with this status; the first reason given wins. */
#define vmm_stop(vm, status, ...) do {					\
	char vmm_msg_[VMM_MSG_MAX];					\
	snprintf(vmm_msg_, sizeof(vmm_msg_), __VA_ARGS__);		\
	vmm_stop_msg(vm, status, vmm_msg_);				\
} while (0)

void vmm_log_msg(const char *msg);
noreturn void vmm_die_msg(const char *msg);
void vmm_stop_msg(struct vmm *vm, enum vmm_status status, const char *msg);
bool vmm_stopping(struct vmm *vm);
void *vmm_gpa(struct vmm *vm, __u64 gpa, __u64 len);

/* vmm-boot.c */
void boot_read(struct vmm *vm, size_t cmdline_len);
void boot_setup_memory(struct vmm *vm);
void boot_load(struct vmm *vm, const char *cmdline);
void boot_setup_bsp(struct vcpu *vcpu);

/* vmm-vcpu.c */
void vcpu_init_kvm(struct vmm *vm);
void vcpu_create_all(struct vmm *vm);
void vcpu_start_all(struct vmm *vm);
void vcpu_kick(struct vcpu *vcpu);
void vcpu_join_all(struct vmm *vm);

/* vmm-uart.c */
void uart_init(struct uart *uart);
void uart_io(struct vmm *vm, unsigned int offset, __u8 *data, bool write);
void uart_flush(struct uart *uart);

/* vmm-device.c */
bool vdev_open(struct vmm *vm);
void vdev_mmio(struct vmm *vm, __u64 offset, __u8 *data, __u32 len,
	       bool write);
void vdev_close(struct vmm *vm);

#endif /* KTSTR_VMM_H */
