// SPDX-License-Identifier: GPL-2.0
/*
 * The KVM VM, as kvmtool's kvm__init() and kvm__arch_init() make it:
 * /dev/kvm checked for what the VMM relies on, the VM with its in-kernel
 * irqchip (PIC, IOAPIC, local APICs) and PIT, and guest RAM, before any
 * vCPU exists.  Its memory layout is in ktstr-vmm.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "ktstr-vmm.h"

#define KVM_API_VERSION_EXPECTED	12
#define VMM_TSS_ADDR			0xfffbd000
#define VMM_IDENTITY_MAP_ADDR		0xfffbc000
#define CPUID_MAX_ENTRIES		256

static void check_cap(struct vmm *vm, long cap, const char *name)
{
	if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, cap) <= 0)
		vmm_die("/dev/kvm lacks %s", name);
}

static void get_supported_cpuid(struct vmm *vm)
{
	struct kvm_cpuid2 *cpuid;

	cpuid = calloc(1, sizeof(*cpuid) +
		       CPUID_MAX_ENTRIES * sizeof(cpuid->entries[0]));
	if (!cpuid)
		vmm_die("out of memory");
	cpuid->nent = CPUID_MAX_ENTRIES;
	if (ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, cpuid) < 0)
		vmm_die("KVM_GET_SUPPORTED_CPUID: %s", strerror(errno));
	vm->cpuid = cpuid;
}

/* /dev/kvm, with what the VMM relies on and room for the vCPUs. */
static void kvm_open_checked(struct vmm *vm)
{
	int max_cpus, ret;

	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0)
		diag_kvm_open(errno);
	ret = ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0);
	if (ret != KVM_API_VERSION_EXPECTED)
		vmm_die("/dev/kvm: API version %d, expected %d", ret,
			KVM_API_VERSION_EXPECTED);
	check_cap(vm, KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP");
	check_cap(vm, KVM_CAP_PIT2, "KVM_CAP_PIT2");
	check_cap(vm, KVM_CAP_IOEVENTFD, "KVM_CAP_IOEVENTFD");
	check_cap(vm, KVM_CAP_IRQFD, "KVM_CAP_IRQFD");
	check_cap(vm, KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR");
	check_cap(vm, KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID");
	max_cpus = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
	if (max_cpus <= 0)
		max_cpus = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION,
				 KVM_CAP_NR_VCPUS);
	if (max_cpus > 0 && vm->ncpus > (unsigned int)max_cpus)
		vmm_die("--cpus %u: KVM allows at most %d vCPUs", vm->ncpus,
			max_cpus);
}

/* What x86 needs before the first vCPU, as kvmtool's kvm__arch_init(). */
static void kvm_arch_init(struct vmm *vm)
{
	/* Port 0x61 (PIT channel 2 gate and output) in the kernel too. */
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	__u64 identity_map = VMM_IDENTITY_MAP_ADDR;

	if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, VMM_TSS_ADDR) < 0)
		vmm_die("KVM_SET_TSS_ADDR: %s", strerror(errno));
	if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION,
		  KVM_CAP_SET_IDENTITY_MAP_ADDR) > 0 &&
	    ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &identity_map) < 0)
		vmm_die("KVM_SET_IDENTITY_MAP_ADDR: %s", strerror(errno));
	if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
		vmm_die("KVM_CREATE_IRQCHIP: %s", strerror(errno));
	if (ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit) < 0)
		vmm_die("KVM_CREATE_PIT2: %s", strerror(errno));
}

/* The VM with its irqchip and PIT, before any vCPU or memory. */
void kvm_init_vm(struct vmm *vm)
{
	kvm_open_checked(vm);
	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0)
		diag_create_vm(errno);
	kvm_arch_init(vm);
	vm->run_size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if ((long)vm->run_size <= 0)
		vmm_die("KVM_GET_VCPU_MMAP_SIZE: %s", strerror(errno));
	get_supported_cpuid(vm);
}

/* Guest RAM: one anonymous mapping, in one or two memory slots. */
void kvm_setup_memory(struct vmm *vm)
{
	struct kvm_userspace_memory_region region = { 0 };

	vm->ram = mmap(NULL, vm->mem_size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (vm->ram == MAP_FAILED)
		vmm_die("cannot map %llu MiB of guest memory: %s",
			(unsigned long long)(vm->mem_size >> 20),
			strerror(errno));
	madvise(vm->ram, vm->mem_size, MADV_HUGEPAGE);

	region.slot = 0;
	region.guest_phys_addr = 0;
	region.memory_size = vm->low_size;
	region.userspace_addr = (uintptr_t)vm->ram;
	if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		vmm_die("KVM_SET_USER_MEMORY_REGION (low memory): %s",
			strerror(errno));
	if (!vm->high_size)
		return;
	region.slot = 1;
	region.guest_phys_addr = VMM_HIGH_MEM_START;
	region.memory_size = vm->high_size;
	region.userspace_addr = (uintptr_t)vm->ram + vm->low_size;
	if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		vmm_die("KVM_SET_USER_MEMORY_REGION (memory above 4 GiB): %s",
			strerror(errno));
}

/* Host address of guest-physical [gpa, gpa + len), which must be RAM. */
void *kvm_gpa(struct vmm *vm, __u64 gpa, __u64 len)
{
	if (gpa <= vm->low_size && len <= vm->low_size - gpa)
		return vm->ram + gpa;
	if (gpa >= VMM_HIGH_MEM_START &&
	    gpa - VMM_HIGH_MEM_START <= vm->high_size &&
	    len <= vm->high_size - (gpa - VMM_HIGH_MEM_START))
		return vm->ram + vm->low_size + (gpa - VMM_HIGH_MEM_START);
	vmm_die("guest memory %#llx-%#llx is not RAM",
		(unsigned long long)gpa, (unsigned long long)(gpa + len));
}
