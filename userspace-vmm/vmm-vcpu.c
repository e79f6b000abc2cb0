// SPDX-License-Identifier: GPL-2.0
/*
 * The vCPUs of the VM (kvm.c made it): one thread each, running KVM_RUN
 * and handling what comes back to userspace.
 *
 * The in-kernel irqchip (PIC, IOAPIC, local APICs) and PIT handle
 * interrupts, timers and HLT; what exits here is port I/O, MMIO and the
 * end of the guest:
 *
 *	0x3f8-0x3ff	COM1 (vmm-uart.c)
 *	0x60, 0x64	keyboard controller: status reads 0 (input buffer
 *			empty); writing 0xfe to 0x64 is a reset (reboot=k,
 *			and the first thing Linux tries without ACPI)
 *	0xcf9		reset control: a write with bit 2 set is a reset
 *			(reboot=pci)
 *	0x70, 0x71	no RTC/CMOS (SMP boot writes the warm reset code)
 *	0x80		POST codes, I/O delay; these three read all ones,
 *			writes ignored, silently
 *	other ports	reads all ones, writes ignored (logged once per
 *			port with --verbose)
 *	MMIO		the device window goes to vmm-device.c; elsewhere
 *			reads all ones, writes ignored, the first 8 logged
 *	SHUTDOWN	a triple fault (reboot=t ends this way too)
 *
 * Power off: without ACPI, Linux's reboot(RB_POWER_OFF) halts: every CPU
 * ends in HLT with interrupts disabled, which the in-kernel local APIC
 * handles without telling us.  So the main thread probes: every
 * VMM_PROBE_MS it sends each vCPU thread SIGUSR1, which KVM_SET_SIGNAL_MASK
 * lets through only inside KVM_RUN; KVM_RUN returns EINTR and the thread
 * records whether the vCPU is halted (KVM_GET_MP_STATE) with RFLAGS.IF
 * clear, or waits for a SIPI.  When all of them are, in two rounds in a
 * row, nothing but an NMI, INIT or SIPI could wake them again, and nothing
 * here sends one: the guest has powered off (or halted, which is the same
 * to us).  The two rounds cost 100-300 ms at the end of every run.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "ktstr-vmm.h"

#define PORT_KBD_DATA		0x60
#define PORT_KBD_STATUS		0x64
#define PORT_CMOS_INDEX		0x70
#define PORT_CMOS_DATA		0x71
#define PORT_POST		0x80
#define PORT_RESET_CF9		0xcf9
#define KBD_CMD_RESET		0xfe
#define CF9_RESET		0x04
#define RFLAGS_IF		BIT_ULL(9)

#define CPUID_1_ECX_HYPERVISOR	BIT(31)

#define MSR_MTRR_DEF_TYPE	0x2ff
#define MTRR_DEF_TYPE_E		BIT(11)
#define MTRR_TYPE_WB		6

static unsigned int order_base_2(unsigned int n)
{
	unsigned int order = 0;

	while ((1u << order) < n)
		order++;
	return order;
}

/*
 * Leaves 0xb and 0x1f (extended topology), which KVM reports with one
 * empty subleaf: SMT level (one thread a core), core level (ncpus cores,
 * shift APIC id bits), then the terminating invalid level.
 */
static unsigned int cpuid_add_topology(struct kvm_cpuid_entry2 *out,
				       __u32 function, unsigned int id,
				       unsigned int n, unsigned int shift)
{
	unsigned int i;

	for (i = 0; i < 3; i++) {
		memset(&out[i], 0, sizeof(out[i]));
		out[i].function = function;
		out[i].index = i;
		out[i].flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
		out[i].edx = id;
		out[i].ecx = i;
	}
	out[0].ebx = 1;
	out[0].ecx |= 1 << 8;		/* SMT */
	out[1].eax = shift;
	out[1].ebx = n;
	out[1].ecx |= 2 << 8;		/* core */
	return 3;
}

/*
 * KVM's supported CPUID, made this vCPU's: its APIC id, one package of
 * ncpus cores with one thread each, and the hypervisor bit (without it
 * Linux does not look for KVM's leaves: no kvmclock).
 */
static void vcpu_set_cpuid(struct vmm *vm, struct vcpu *vcpu)
{
	unsigned int n = vm->ncpus, id = vcpu->id, shift = order_base_2(n);
	const struct kvm_cpuid2 *sup = vm->cpuid;
	struct kvm_cpuid_entry2 *e;
	struct kvm_cpuid2 *cpuid;
	bool topo_b = false, topo_1f = false;
	unsigned int i;

	cpuid = calloc(1, sizeof(*cpuid) + (sup->nent + 6) * sizeof(*e));
	if (!cpuid)
		vmm_die("out of memory");
	for (i = 0; i < sup->nent; i++) {
		if (sup->entries[i].function == 0xb) {
			topo_b = true;
			continue;
		}
		if (sup->entries[i].function == 0x1f) {
			topo_1f = true;
			continue;
		}
		e = &cpuid->entries[cpuid->nent++];
		*e = sup->entries[i];
		switch (e->function) {
		case 1:
			e->ebx = (e->ebx & 0xffff) | (id << 24) |
				 ((1u << shift) << 16);
			e->ecx |= CPUID_1_ECX_HYPERVISOR;
			break;
		case 4:
			e->eax = (e->eax & 0x03ffffff) |
				 (((1u << shift) - 1) << 26);
			e->eax &= ~(0xfffu << 14);	/* one thread a cache */
			break;
		case 0x80000008:
			e->ecx = (shift << 12) | (n - 1);
			break;
		case 0x8000001e:
			e->eax = id;
			e->ebx = id & 0xff;	/* core id, one thread */
			e->ecx = 0;		/* node 0, one node */
			break;
		}
	}
	if (topo_b)
		cpuid->nent += cpuid_add_topology(&cpuid->entries[cpuid->nent],
						  0xb, id, n, shift);
	if (topo_1f)
		cpuid->nent += cpuid_add_topology(&cpuid->entries[cpuid->nent],
						  0x1f, id, n, shift);
	if (ioctl(vcpu->fd, KVM_SET_CPUID2, cpuid) < 0)
		vmm_die("KVM_SET_CPUID2 (vCPU %d): %s", id, strerror(errno));
	free(cpuid);
}

/*
 * SIGUSR1 gets through only while the thread is inside KVM_RUN.  The
 * kernel's sigset (8 bytes on x86-64) follows len at once, at offset 4:
 * a struct with a __u64 after the header would put it at 8, and KVM
 * would take 4 bytes of stack padding as signals 1-32 (SIGUSR1 among
 * them blocked or not, by chance of the build).
 */
static void vcpu_set_signal_mask(struct vcpu *vcpu)
{
	union {
		struct kvm_signal_mask mask;
		__u8 raw[sizeof(struct kvm_signal_mask) + sizeof(__u64)];
	} buf;
	struct kvm_signal_mask *run_mask = &buf.mask;
	__u64 bits = 0;
	sigset_t set;
	unsigned int sig;

	sigfillset(&set);
	sigdelset(&set, SIGUSR1);
	for (sig = 1; sig <= 64; sig++)
		if (sigismember(&set, sig) == 1)
			bits |= 1ULL << (sig - 1);
	run_mask->len = sizeof(bits);
	memcpy(run_mask->sigset, &bits, sizeof(bits));
	if (ioctl(vcpu->fd, KVM_SET_SIGNAL_MASK, run_mask) < 0)
		vmm_die("KVM_SET_SIGNAL_MASK (vCPU %d): %s", vcpu->id,
			strerror(errno));
}

/*
 * MTRRs as firmware leaves them: enabled, everything write-back by
 * default.  The reset value (disabled, so all uncached) is honoured where
 * KVM honours guest MTRRs.
 */
static void vcpu_set_mtrr(struct vcpu *vcpu)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry entry;
	} msrs;

	memset(&msrs, 0, sizeof(msrs));
	msrs.hdr.nmsrs = 1;
	msrs.entry.index = MSR_MTRR_DEF_TYPE;
	msrs.entry.data = MTRR_DEF_TYPE_E | MTRR_TYPE_WB;
	if (ioctl(vcpu->fd, KVM_SET_MSRS, &msrs) != 1)
		vmm_die("KVM_SET_MSRS MTRRdefType (vCPU %d): %s", vcpu->id,
			strerror(errno));
}

void vcpu_create_all(struct vmm *vm)
{
	struct vcpu *vcpu;
	unsigned int i;

	for (i = 0; i < vm->ncpus; i++) {
		vcpu = &vm->vcpus[i];
		vcpu->vm = vm;
		vcpu->id = i;
		vcpu->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, i);
		if (vcpu->fd < 0)
			vmm_die("KVM_CREATE_VCPU %u: %s", i, strerror(errno));
		vcpu->run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE,
				 MAP_SHARED, vcpu->fd, 0);
		if (vcpu->run == MAP_FAILED)
			vmm_die("mmap of vCPU %u's kvm_run: %s", i,
				strerror(errno));
		vcpu_set_cpuid(vm, vcpu);
		vcpu_set_mtrr(vcpu);
		vcpu_set_signal_mask(vcpu);
	}
}

/* Reports a port nobody emulates, once per port, with --verbose. */
static void pio_unhandled(struct vmm *vm, __u16 port, bool write)
{
	static __u8 seen[65536 / 8];
	__u8 bit = 1u << (port & 7);

	if (!vm->verbose ||
	    __atomic_fetch_or(&seen[port >> 3], bit, __ATOMIC_RELAXED) & bit)
		return;
	vmm_log("unhandled port %s at %#x (reads all ones, writes ignored)",
		write ? "write" : "read", port);
}

/* One byte, word or dword of port I/O. */
static void vcpu_pio(struct vmm *vm, __u16 port, __u8 *data,
		     unsigned int size, bool write)
{
	if (port >= VMM_COM1_BASE && port < VMM_COM1_BASE + 8) {
		unsigned int i;

		for (i = 0; i < size && port + i < VMM_COM1_BASE + 8; i++)
			uart_io(vm, port + i - VMM_COM1_BASE, data + i, write);
		return;
	}
	switch (port) {
	case PORT_KBD_STATUS:
		if (write && data[0] == KBD_CMD_RESET)
			vmm_stop(vm, VMM_REBOOT,
				 "reset through the keyboard controller (port 0x64)");
		fallthrough;
	case PORT_KBD_DATA:
		if (!write)
			memset(data, 0, size);
		return;
	case PORT_RESET_CF9:
		if (write && (data[0] & CF9_RESET))
			vmm_stop(vm, VMM_REBOOT,
				 "reset through port 0xcf9");
		if (!write)
			memset(data, 0, size);
		return;
	case PORT_CMOS_INDEX:
	case PORT_CMOS_DATA:
	case PORT_POST:
		if (!write)
			memset(data, 0xff, size);
		return;
	}
	if (!write)
		memset(data, 0xff, size);
	pio_unhandled(vm, port, write);
}

static void vcpu_exit_io(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	__u8 *data = (__u8 *)run + run->io.data_offset;
	bool write = run->io.direction == KVM_EXIT_IO_OUT;
	__u32 i;

	for (i = 0; i < run->io.count; i++) {
		vcpu_pio(vcpu->vm, run->io.port, data, run->io.size, write);
		data += run->io.size;
	}
}

static void vcpu_exit_mmio(struct vcpu *vcpu)
{
	static unsigned int reported;
	struct kvm_run *run = vcpu->run;
	__u64 addr = run->mmio.phys_addr;
	__u32 len = run->mmio.len;
	struct vmm *vm = vcpu->vm;

	if (addr >= VMM_DEV_BASE && addr + len <= VMM_DEV_BASE + KTSTR_VC_MMIO_SIZE) {
		vdev_mmio(vm, addr - VMM_DEV_BASE, run->mmio.data, len,
			  run->mmio.is_write);
		return;
	}
	if (!run->mmio.is_write)
		memset(run->mmio.data, 0xff, len);
	/* A handful of reports is enough to see what the guest looks for. */
	if (__atomic_fetch_add(&reported, 1, __ATOMIC_RELAXED) < 8)
		vmm_log("unhandled MMIO %s of %u bytes at %#llx (reads all ones, writes ignored)",
			run->mmio.is_write ? "write" : "read", len,
			(unsigned long long)addr);
}

static void vcpu_report_regs(struct vcpu *vcpu)
{
	struct kvm_regs regs;
	struct kvm_sregs sregs;

	if (ioctl(vcpu->fd, KVM_GET_REGS, &regs) < 0 ||
	    ioctl(vcpu->fd, KVM_GET_SREGS, &sregs) < 0)
		return;
	vmm_log("vCPU %d: rip %#llx rsp %#llx rflags %#llx", vcpu->id,
		regs.rip, regs.rsp, regs.rflags);
	vmm_log("vCPU %d: cr0 %#llx cr3 %#llx cr4 %#llx efer %#llx", vcpu->id,
		sregs.cr0, sregs.cr3, sregs.cr4, sregs.efer);
}

/*
 * After EINTR: answer the main thread's halt probe.  A vCPU is dead when
 * it is halted with interrupts disabled, or waits for a SIPI (never
 * started, or sent back by an INIT): only another CPU can wake it.  The
 * round is read first, so the answer is never older than the round.
 */
static void vcpu_probe(struct vcpu *vcpu)
{
	static const struct timespec zero;
	struct kvm_mp_state mp;
	struct kvm_regs regs;
	unsigned int round;
	sigset_t set;
	bool dead;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	while (sigtimedwait(&set, NULL, &zero) == SIGUSR1)
		;
	round = __atomic_load_n(&vcpu->vm->probe_round, __ATOMIC_ACQUIRE);
	if (ioctl(vcpu->fd, KVM_GET_MP_STATE, &mp) < 0 ||
	    ioctl(vcpu->fd, KVM_GET_REGS, &regs) < 0) {
		vmm_stop(vcpu->vm, VMM_ERROR, "vCPU %d: KVM_GET_MP_STATE/REGS: %s",
			 vcpu->id, strerror(errno));
		return;
	}
	switch (mp.mp_state) {
	case KVM_MP_STATE_HALTED:
		dead = !(regs.rflags & RFLAGS_IF);
		break;
	case KVM_MP_STATE_UNINITIALIZED:
	case KVM_MP_STATE_INIT_RECEIVED:
		dead = true;
		break;
	default:
		dead = false;
		break;
	}
	__atomic_store_n(&vcpu->dead_halt, dead, __ATOMIC_RELAXED);
	__atomic_store_n(&vcpu->probe_round, round, __ATOMIC_RELEASE);
}

/* KVM_EXIT_SYSTEM_EVENT: the VM ends, how depends on the event. */
static void vcpu_system_event(struct vcpu *vcpu)
{
	__u32 type = vcpu->run->system_event.type;

	switch (type) {
	case KVM_SYSTEM_EVENT_SHUTDOWN:
		vmm_stop(vcpu->vm, VMM_POWEROFF, "vCPU %d: system event: shutdown",
			 vcpu->id);
		break;
	case KVM_SYSTEM_EVENT_RESET:
		vmm_stop(vcpu->vm, VMM_REBOOT, "vCPU %d: system event: reset",
			 vcpu->id);
		break;
	default:
		vmm_stop(vcpu->vm, VMM_ERROR, "vCPU %d: system event %u",
			 vcpu->id, type);
		break;
	}
}

/* Handles one exit; false when the vCPU must stop. */
static bool vcpu_handle_exit(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	struct vmm *vm = vcpu->vm;

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		vcpu_exit_io(vcpu);
		return true;
	case KVM_EXIT_MMIO:
		vcpu_exit_mmio(vcpu);
		return true;
	case KVM_EXIT_INTR:
	case KVM_EXIT_IRQ_WINDOW_OPEN:
		return true;
	case KVM_EXIT_HLT:
		/* Only without an in-kernel local APIC; kept for clarity. */
		return true;
	case KVM_EXIT_SHUTDOWN:
		vmm_stop(vm, VMM_TRIPLE_FAULT, "vCPU %d: triple fault (KVM_EXIT_SHUTDOWN)",
			 vcpu->id);
		vcpu_report_regs(vcpu);
		return false;
	case KVM_EXIT_SYSTEM_EVENT:
		vcpu_system_event(vcpu);
		return false;
	case KVM_EXIT_FAIL_ENTRY:
		vmm_stop(vm, VMM_ERROR, "vCPU %d: KVM_EXIT_FAIL_ENTRY, hardware reason %#llx",
			 vcpu->id,
			 (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		vcpu_report_regs(vcpu);
		return false;
	case KVM_EXIT_INTERNAL_ERROR:
		vmm_stop(vm, VMM_ERROR, "vCPU %d: KVM_EXIT_INTERNAL_ERROR, suberror %u",
			 vcpu->id, run->internal.suberror);
		vcpu_report_regs(vcpu);
		return false;
	default:
		vmm_stop(vm, VMM_ERROR, "vCPU %d: unexpected exit reason %u",
			 vcpu->id, run->exit_reason);
		vcpu_report_regs(vcpu);
		return false;
	}
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *vcpu = arg;
	struct vmm *vm = vcpu->vm;
	char name[16];

	snprintf(name, sizeof(name), "vcpu%d", vcpu->id);
	pthread_setname_np(pthread_self(), name);
	while (!vmm_stopping(vm)) {
		if (ioctl(vcpu->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				vcpu_probe(vcpu);
				continue;
			}
			vmm_stop(vm, VMM_ERROR, "vCPU %d: KVM_RUN: %s",
				 vcpu->id, strerror(errno));
			break;
		}
		if (!vcpu_handle_exit(vcpu))
			break;
	}
	return NULL;
}

void vcpu_start_all(struct vmm *vm)
{
	struct vcpu *vcpu;
	unsigned int i;
	int err;

	for (i = 0; i < vm->ncpus; i++) {
		vcpu = &vm->vcpus[i];
		err = pthread_create(&vcpu->thread, NULL, vcpu_thread, vcpu);
		if (err)
			vmm_die("cannot start the thread of vCPU %u: %s", i,
				strerror(err));
		vcpu->started = true;
	}
}

void vcpu_kick(struct vcpu *vcpu)
{
	if (vcpu->started)
		pthread_kill(vcpu->thread, SIGUSR1);
}

/* Called with every vCPU told to stop; kicks until each has. */
void vcpu_join_all(struct vmm *vm)
{
	struct vcpu *vcpu;
	struct timespec ts;
	unsigned int i;

	for (i = 0; i < vm->ncpus; i++) {
		vcpu = &vm->vcpus[i];
		if (!vcpu->started)
			continue;
		for (;;) {
			vcpu_kick(vcpu);
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += 50 * 1000 * 1000;
			if (ts.tv_nsec >= 1000000000) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000;
			}
			if (!pthread_timedjoin_np(vcpu->thread, NULL, &ts))
				break;
		}
		vcpu->started = false;
	}
}
