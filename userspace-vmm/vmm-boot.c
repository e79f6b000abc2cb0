// SPDX-License-Identifier: GPL-2.0
/*
 * The Linux x86 64-bit boot protocol (Documentation/arch/x86/boot.rst)
 * in the guest RAM that kvm.c set up.
 *
 * Low memory as the guest finds it when its first instruction runs:
 *
 *	0x00400	BIOS data area: EBDA segment (0x40e), base memory (0x413)
 *	0x01000	GDT: 0x10 64-bit code, 0x18 data, 0x20 TSS
 *	0x07000	boot_params (the zero page), pointed to by %rsi
 *	0x08ff0	initial stack (unused by the kernel, which sets its own)
 *	0x09000	PML4, 0xa000 PDPT, 0xb000-0xefff four page directories:
 *		0-4 GiB identity mapped with 2 MiB pages
 *	0x20000	kernel command line
 *	0x9fc00	EBDA: the MP floating pointer
 *	0xf0000	the MP configuration table (F segment)
 *	0x100000	the protected-mode kernel (code32_start); the 64-bit
 *		entry point startup_64 is at +0x200
 *
 * The initrd goes at the top of low RAM, page aligned, below the kernel's
 * initrd_addr_max and above the area the kernel decompresses into.
 *
 * SMP comes from an MP 1.4 table (no ACPI): one processor entry per vCPU
 * (APIC id = vCPU id), an ISA bus, the IOAPIC at 0xfec00000 with id
 * ncpus, ISA IRQs 0-15 (but 2) on IOAPIC pins of the same number (KVM's
 * default GSI routing), edge triggered, and LINT0 ExtINT, LINT1 NMI.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <asm/bootparam.h>

#include "ktstr-vmm.h"

#define BDA_EBDA_SEG		0x40e
#define BDA_BASE_MEM_KB		0x413
#define GDT_ADDR		0x1000
#define BOOT_PARAMS_ADDR	0x7000
#define BOOT_STACK_TOP		0x8ff0
#define PML4_ADDR		0x9000
#define PDPT_ADDR		0xa000
#define PD_ADDR			0xb000
#define CMDLINE_ADDR		0x20000
#define CMDLINE_MAX		0x10000
#define EBDA_ADDR		0x9fc00
#define BIOS_ADDR		0xf0000
#define MPC_ADDR		BIOS_ADDR
#define KERNEL_ADDR		0x100000

#define SEL_CODE64		0x10
#define SEL_DATA		0x18
#define SEL_TSS			0x20

#define E820_RAM		1
#define E820_RESERVED		2

#define SETUP_HDR_OFFSET	0x1f1
#define SETUP_MAGIC		0x53726448	/* "HdrS" */
#define BOOT_FLAG		0xaa55
#define BOOT_PROTO_MIN		0x020c		/* xloadflags, 64-bit entry */
#define STARTUP_64_OFFSET	0x200

#define X86_CR0_PE		BIT(0)
#define X86_CR0_ET		BIT(4)
#define X86_CR0_NE		BIT(5)
#define X86_CR0_PG		BIT(31)
#define X86_CR4_PAE		BIT(5)
#define EFER_LME		BIT(8)
#define EFER_LMA		BIT(10)

#define PTE_P			BIT_ULL(0)
#define PTE_RW			BIT_ULL(1)
#define PTE_PS			BIT_ULL(7)

/* MP specification 1.4, chapter 4. */
struct mpf_intel {
	char signature[4];		/* "_MP_" */
	__u32 physptr;
	__u8 length;			/* in 16 bytes */
	__u8 specification;
	__u8 checksum;
	__u8 feature1;
	__u8 feature2;
	__u8 feature3;
	__u8 feature4;
	__u8 feature5;
};

struct mpc_table {
	char signature[4];		/* "PCMP" */
	__u16 length;
	__u8 spec;
	__u8 checksum;
	char oem[8];
	char productid[12];
	__u32 oemptr;
	__u16 oemsize;
	__u16 oemcount;
	__u32 lapic;
	__u32 reserved;
};

struct mpc_cpu {
	__u8 type;
	__u8 apicid;
	__u8 apicver;
	__u8 cpuflag;
	__u32 cpufeature;
	__u32 featureflag;
	__u32 reserved[2];
};

struct mpc_bus {
	__u8 type;
	__u8 busid;
	char bustype[6];
};

struct mpc_ioapic {
	__u8 type;
	__u8 apicid;
	__u8 apicver;
	__u8 flags;
	__u32 apicaddr;
};

struct mpc_intsrc {
	__u8 type;
	__u8 irqtype;
	__u16 irqflag;
	__u8 srcbus;
	__u8 srcbusirq;
	__u8 dstapic;
	__u8 dstirq;
};

#define MP_PROCESSOR		0
#define MP_BUS			1
#define MP_IOAPIC		2
#define MP_INTSRC		3
#define MP_LINTSRC		4
#define MP_CPU_ENABLED		1
#define MP_CPU_BOOT		2
#define MP_IOAPIC_ENABLED	1
#define MP_INT			0
#define MP_NMI			1
#define MP_EXTINT		3
#define MP_APIC_ALL		0xff
#define LAPIC_VERSION		0x14	/* KVM's local APIC */
#define IOAPIC_VERSION		0x11	/* KVM's IOAPIC */

/* Natural alignment gives the layouts of the specification. */
static_assert(sizeof(struct mpf_intel) == 16, "MP floating pointer");
static_assert(sizeof(struct mpc_table) == 44, "MP configuration table");
static_assert(sizeof(struct mpc_cpu) == 20, "MP processor entry");
static_assert(sizeof(struct mpc_bus) == 8, "MP bus entry");
static_assert(sizeof(struct mpc_ioapic) == 8, "MP I/O APIC entry");
static_assert(sizeof(struct mpc_intsrc) == 8, "MP interrupt entry");

static __u8 checksum(const void *p, size_t len)
{
	const __u8 *b = p;
	__u8 sum = 0;

	while (len--)
		sum += *b++;
	return -sum;
}

/* Opens a regular file to read whole; its size in *size. */
static int open_file(const char *path, const char *what, size_t *size)
{
	struct stat st;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		vmm_die("%s %s: %s", what, path, strerror(errno));
	if (fstat(fd, &st) < 0)
		vmm_die("%s %s: %s", what, path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		vmm_die("%s %s: not a regular file", what, path);
	*size = st.st_size;
	return fd;
}

/* Reads size bytes into buf and closes fd. */
static void read_all(int fd, const char *path, const char *what, void *buf,
		     size_t size)
{
	size_t done = 0;
	ssize_t n;

	while (done < size) {
		n = read(fd, (__u8 *)buf + done, size - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			vmm_die("%s %s: %s", what, path, strerror(errno));
		if (!n)
			vmm_die("%s %s: shorter than its size", what, path);
		done += n;
	}
	close(fd);
}

static void add_e820(struct boot_params *bp, __u64 addr, __u64 size,
		     __u32 type)
{
	struct boot_e820_entry *e = &bp->e820_table[bp->e820_entries++];

	e->addr = addr;
	e->size = size;
	e->type = type;
}

static void setup_e820(struct vmm *vm, struct boot_params *bp)
{
	add_e820(bp, 0, EBDA_ADDR, E820_RAM);
	add_e820(bp, EBDA_ADDR, 0xa0000 - EBDA_ADDR, E820_RESERVED);
	add_e820(bp, BIOS_ADDR, KERNEL_ADDR - BIOS_ADDR, E820_RESERVED);
	add_e820(bp, KERNEL_ADDR, vm->low_size - KERNEL_ADDR, E820_RAM);
	if (vm->high_size)
		add_e820(bp, VMM_HIGH_MEM_START, vm->high_size, E820_RAM);
}

static void setup_page_tables(struct vmm *vm)
{
	__u64 *pml4 = kvm_gpa(vm, PML4_ADDR, 4096);
	__u64 *pdpt = kvm_gpa(vm, PDPT_ADDR, 4096);
	__u64 *pd = kvm_gpa(vm, PD_ADDR, 4 * 4096);
	unsigned int i;

	pml4[0] = PDPT_ADDR | PTE_P | PTE_RW;
	for (i = 0; i < 4; i++)
		pdpt[i] = (PD_ADDR + i * 4096) | PTE_P | PTE_RW;
	for (i = 0; i < 4 * 512; i++)
		pd[i] = ((__u64)i << 21) | PTE_P | PTE_RW | PTE_PS;
}

static void setup_gdt(struct vmm *vm)
{
	__u64 *gdt = kvm_gpa(vm, GDT_ADDR, 6 * 8);

	gdt[SEL_CODE64 / 8] = 0x00af9b000000ffffULL;	/* L, present, code */
	gdt[SEL_DATA / 8] = 0x00cf93000000ffffULL;	/* 4 GiB, present, data */
	gdt[SEL_TSS / 8] = 0x00008b0000000067ULL;	/* busy 64-bit TSS */
	gdt[SEL_TSS / 8 + 1] = 0;
}

/* CPUID leaf 1 of the boot vCPU's table: signature and feature flags. */
static void cpuid_leaf1(struct vmm *vm, __u32 *eax, __u32 *edx)
{
	unsigned int i;

	*eax = 0;
	*edx = 0;
	for (i = 0; i < vm->cpuid->nent; i++) {
		if (vm->cpuid->entries[i].function == 1) {
			*eax = vm->cpuid->entries[i].eax;
			*edx = vm->cpuid->entries[i].edx;
		}
	}
}

/* Where the next entry of the MP configuration table goes. */
struct mp_writer {
	__u8 *p;
	unsigned int count;
};

/* The next entry, in memory that is still zero (fresh guest RAM). */
static void *mp_entry(struct mp_writer *w, size_t size)
{
	void *entry = w->p;

	w->p += size;
	w->count++;
	return entry;
}

static void mp_add_cpus(struct vmm *vm, struct mp_writer *w)
{
	__u32 signature, features;
	struct mpc_cpu *cpu;
	unsigned int i;

	cpuid_leaf1(vm, &signature, &features);
	for (i = 0; i < vm->ncpus; i++) {
		cpu = mp_entry(w, sizeof(*cpu));
		cpu->type = MP_PROCESSOR;
		cpu->apicid = i;
		cpu->apicver = LAPIC_VERSION;
		cpu->cpuflag = MP_CPU_ENABLED | (i ? 0 : MP_CPU_BOOT);
		cpu->cpufeature = signature;
		cpu->featureflag = features;
	}
}

static void mp_add_isa_bus(struct mp_writer *w)
{
	struct mpc_bus *bus = mp_entry(w, sizeof(*bus));

	bus->type = MP_BUS;
	bus->busid = 0;
	memcpy(bus->bustype, "ISA   ", 6);
}

static void mp_add_ioapic(struct mp_writer *w, __u8 ioapic_id)
{
	struct mpc_ioapic *ioapic = mp_entry(w, sizeof(*ioapic));

	ioapic->type = MP_IOAPIC;
	ioapic->apicid = ioapic_id;
	ioapic->apicver = IOAPIC_VERSION;
	ioapic->flags = MP_IOAPIC_ENABLED;
	ioapic->apicaddr = VMM_IOAPIC_ADDR;
}

/* Flags 0: polarity and trigger mode as the ISA bus has them (edge). */
static void mp_add_isa_irqs(struct mp_writer *w, __u8 ioapic_id)
{
	struct mpc_intsrc *src;
	unsigned int i;

	for (i = 0; i < 16; i++) {
		if (i == 2)
			continue;	/* the PIC cascade */
		src = mp_entry(w, sizeof(*src));
		src->type = MP_INTSRC;
		src->irqtype = MP_INT;
		src->irqflag = 0;
		src->srcbus = 0;
		src->srcbusirq = i;
		src->dstapic = ioapic_id;
		src->dstirq = i;
	}
}

/* LINT0 ExtINT, LINT1 NMI, on every local APIC. */
static void mp_add_lints(struct mp_writer *w)
{
	struct mpc_intsrc *src;
	unsigned int i;

	for (i = 0; i < 2; i++) {
		src = mp_entry(w, sizeof(*src));
		src->type = MP_LINTSRC;
		src->irqtype = i ? MP_NMI : MP_EXTINT;
		src->irqflag = 0;
		src->srcbus = 0;
		src->srcbusirq = 0;
		src->dstapic = MP_APIC_ALL;
		src->dstirq = i;
	}
}

/* The header, once the entries are in: their length, count, checksum. */
static void mp_close_table(struct mpc_table *mpc, const struct mp_writer *w)
{
	memcpy(mpc->signature, "PCMP", 4);
	mpc->length = w->p - (__u8 *)mpc;
	mpc->spec = 4;
	memcpy(mpc->oem, "KTSTR   ", 8);
	memcpy(mpc->productid, "KTSTR-VMM   ", 12);
	mpc->oemcount = w->count;
	mpc->lapic = VMM_LAPIC_ADDR;
	mpc->checksum = checksum(mpc, mpc->length);
}

/* The floating pointer in the EBDA, where Linux looks for the table. */
static void mp_set_floating(struct vmm *vm)
{
	struct mpf_intel *mpf = kvm_gpa(vm, EBDA_ADDR, sizeof(*mpf));

	memcpy(mpf->signature, "_MP_", 4);
	mpf->physptr = MPC_ADDR;
	mpf->length = 1;
	mpf->specification = 4;
	mpf->checksum = checksum(mpf, sizeof(*mpf));
}

static void setup_mptable(struct vmm *vm)
{
	__u8 *base = kvm_gpa(vm, MPC_ADDR, KERNEL_ADDR - MPC_ADDR);
	struct mpc_table *mpc = (struct mpc_table *)base;
	struct mp_writer w = { .p = base + sizeof(*mpc) };
	__u8 ioapic_id = vm->ncpus;

	mp_add_cpus(vm, &w);
	mp_add_isa_bus(&w);
	mp_add_ioapic(&w, ioapic_id);
	mp_add_isa_irqs(&w, ioapic_id);
	mp_add_lints(&w);
	mp_close_table(mpc, &w);
	mp_set_floating(vm);
}

static void setup_bda(struct vmm *vm)
{
	__u16 ebda_seg = EBDA_ADDR >> 4, base_kb = EBDA_ADDR >> 10;

	memcpy(kvm_gpa(vm, BDA_EBDA_SEG, 2), &ebda_seg, 2);
	memcpy(kvm_gpa(vm, BDA_BASE_MEM_KB, 2), &base_kb, 2);
}

static const struct setup_header *image_hdr(const struct vmm *vm)
{
	return (const void *)(vm->kernel_img + SETUP_HDR_OFFSET);
}

/*
 * Reads the bzImage and checks it can boot in this much memory: the
 * decompressor extracts to max(pref_address, load address aligned to
 * kernel_alignment) and needs init_size bytes there.
 */
static void read_kernel(struct vmm *vm)
{
	const struct setup_header *hdr;
	__u64 decomp_start, align;
	__u16 boot_flag;
	__u32 magic;
	size_t size;
	__u8 *img;
	int fd;

	fd = open_file(vm->kernel, "kernel", &size);
	if (size < 0x1000)
		vmm_die("kernel %s: too small for a bzImage", vm->kernel);
	img = malloc(size);
	if (!img)
		vmm_die("kernel %s: out of memory", vm->kernel);
	read_all(fd, vm->kernel, "kernel", img, size);
	vm->kernel_img = img;
	vm->kernel_size = size;
	memcpy(&boot_flag, img + 0x1fe, 2);
	memcpy(&magic, img + 0x202, 4);
	if (boot_flag != BOOT_FLAG || magic != SETUP_MAGIC)
		vmm_die("kernel %s: not a bzImage (no boot sector flag or HdrS header)",
			vm->kernel);

	hdr = image_hdr(vm);
	if (hdr->version < BOOT_PROTO_MIN)
		vmm_die("kernel %s: boot protocol %u.%02u, need 2.12 or later",
			vm->kernel, hdr->version >> 8, hdr->version & 0xff);
	if (!(hdr->xloadflags & XLF_KERNEL_64))
		vmm_die("kernel %s: has no 64-bit entry point (XLF_KERNEL_64)",
			vm->kernel);
	vm->setup_size = ((hdr->setup_sects ? hdr->setup_sects : 4) + 1) * 512;
	if (vm->setup_size >= size)
		vmm_die("kernel %s: setup (%zu bytes) as big as the file",
			vm->kernel, vm->setup_size);

	align = hdr->kernel_alignment ? hdr->kernel_alignment : 0x200000;
	decomp_start = (KERNEL_ADDR + align - 1) & ~(align - 1);
	if (!hdr->relocatable_kernel || hdr->pref_address > decomp_start)
		decomp_start = hdr->pref_address;
	vm->kernel_end = decomp_start + hdr->init_size;
	if (KERNEL_ADDR + size - vm->setup_size > vm->kernel_end)
		vm->kernel_end = KERNEL_ADDR + size - vm->setup_size;
	if (vm->kernel_end > vm->low_size)
		vmm_die("kernel %s needs memory up to %llu MiB; --mem %llu is too small",
			vm->kernel, (unsigned long long)(vm->kernel_end >> 20) + 1,
			(unsigned long long)(vm->mem_size >> 20));
	if (vm->verbose)
		vmm_log("kernel: boot protocol %u.%02u, %zu bytes, decompresses to %#llx-%#llx",
			hdr->version >> 8, hdr->version & 0xff, size,
			(unsigned long long)decomp_start,
			(unsigned long long)vm->kernel_end);
}

/*
 * Opens the initrd and finds its place: at the top of low memory, page
 * aligned, below the kernel's initrd_addr_max and above kernel_end.
 */
static void read_initrd(struct vmm *vm)
{
	__u64 top = vm->low_size, max = image_hdr(vm)->initrd_addr_max;
	size_t size;

	if (!vm->initrd)
		return;
	vm->initrd_fd = open_file(vm->initrd, "initrd", &size);
	if (top > max + 1)
		top = max + 1;
	vm->initrd_start = size <= top ? (top - size) & ~0xfffULL : 0;
	if (size > top || vm->initrd_start < vm->kernel_end)
		vmm_die("initrd %s (%zu MiB) and kernel do not fit in %llu MiB: use a bigger --mem",
			vm->initrd, size >> 20,
			(unsigned long long)(vm->mem_size >> 20));
	vm->initrd_size = size;
}

/*
 * Everything that can be wrong with the files, before KVM is touched;
 * cmdline_len is the length of the whole command line.
 */
void boot_read(struct vmm *vm, size_t cmdline_len)
{
	__u32 max;

	read_kernel(vm);
	read_initrd(vm);
	max = image_hdr(vm)->cmdline_size;
	if (cmdline_len > max || cmdline_len >= CMDLINE_MAX)
		vmm_die("--cmdline: %zu bytes with the device's parameter, the kernel takes %u",
			cmdline_len, max);
}

/* The protected-mode kernel at KERNEL_ADDR, its setup header in bp. */
static void load_kernel(struct vmm *vm, struct boot_params *bp)
{
	size_t hdr_len = 0x202 + vm->kernel_img[0x201] - SETUP_HDR_OFFSET;
	struct setup_header *hdr = &bp->hdr;

	if (hdr_len > sizeof(*hdr))
		hdr_len = sizeof(*hdr);
	memcpy(hdr, vm->kernel_img + SETUP_HDR_OFFSET, hdr_len);
	memcpy(kvm_gpa(vm, KERNEL_ADDR, vm->kernel_size - vm->setup_size),
	       vm->kernel_img + vm->setup_size,
	       vm->kernel_size - vm->setup_size);
	free(vm->kernel_img);
	vm->kernel_img = NULL;

	hdr->type_of_loader = 0xff;
	hdr->loadflags |= LOADED_HIGH | CAN_USE_HEAP;
	hdr->loadflags &= ~(KEEP_SEGMENTS | QUIET_FLAG);
	hdr->heap_end_ptr = 0xfe00;
	hdr->code32_start = KERNEL_ADDR;
}

static void load_cmdline(struct vmm *vm, struct boot_params *bp,
			 const char *cmdline)
{
	size_t len = strlen(cmdline);

	memcpy(kvm_gpa(vm, CMDLINE_ADDR, len + 1), cmdline, len + 1);
	bp->hdr.cmd_line_ptr = CMDLINE_ADDR;
	bp->ext_cmd_line_ptr = 0;
}

static void load_initrd(struct vmm *vm, struct boot_params *bp)
{
	if (!vm->initrd)
		return;
	read_all(vm->initrd_fd, vm->initrd, "initrd",
		 kvm_gpa(vm, vm->initrd_start, vm->initrd_size),
		 vm->initrd_size);
	bp->hdr.ramdisk_image = vm->initrd_start;
	bp->hdr.ramdisk_size = vm->initrd_size;
	bp->ext_ramdisk_image = 0;
	bp->ext_ramdisk_size = 0;
	if (vm->verbose)
		vmm_log("initrd: %zu bytes at %#llx", vm->initrd_size,
			(unsigned long long)vm->initrd_start);
}

/* Guest memory as the kernel expects it at its 64-bit entry point. */
void boot_load(struct vmm *vm, const char *cmdline)
{
	struct boot_params *bp = kvm_gpa(vm, BOOT_PARAMS_ADDR, sizeof(*bp));

	memset(bp, 0, sizeof(*bp));
	load_kernel(vm, bp);
	load_cmdline(vm, bp, cmdline);
	load_initrd(vm, bp);
	setup_e820(vm, bp);
	setup_bda(vm);
	setup_mptable(vm);
	setup_page_tables(vm);
	setup_gdt(vm);
}

static void set_segment(struct kvm_segment *seg, __u16 selector,
			__u8 type, bool code64)
{
	memset(seg, 0, sizeof(*seg));
	seg->base = 0;
	seg->limit = 0xffffffff;
	seg->selector = selector;
	seg->type = type;
	seg->present = 1;
	seg->s = 1;
	seg->g = 1;
	seg->l = code64;
	seg->db = !code64;
}

/* 64-bit mode, paging on, at startup_64 with %rsi = boot_params. */
void boot_setup_bsp(struct vcpu *vcpu)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;

	if (ioctl(vcpu->fd, KVM_GET_SREGS, &sregs) < 0)
		vmm_die("KVM_GET_SREGS: %s", strerror(errno));

	set_segment(&sregs.cs, SEL_CODE64, 0xb, true);
	set_segment(&sregs.ds, SEL_DATA, 0x3, false);
	sregs.es = sregs.ds;
	sregs.fs = sregs.ds;
	sregs.gs = sregs.ds;
	sregs.ss = sregs.ds;

	memset(&sregs.tr, 0, sizeof(sregs.tr));
	sregs.tr.selector = SEL_TSS;
	sregs.tr.limit = 0x67;
	sregs.tr.type = 0xb;
	sregs.tr.present = 1;
	memset(&sregs.ldt, 0, sizeof(sregs.ldt));
	sregs.ldt.type = 0x2;

	sregs.gdt.base = GDT_ADDR;
	sregs.gdt.limit = 6 * 8 - 1;
	sregs.idt.base = 0;
	sregs.idt.limit = 0;

	sregs.cr0 = X86_CR0_PE | X86_CR0_ET | X86_CR0_NE | X86_CR0_PG;
	sregs.cr3 = PML4_ADDR;
	sregs.cr4 = X86_CR4_PAE;
	sregs.efer = EFER_LME | EFER_LMA;
	if (ioctl(vcpu->fd, KVM_SET_SREGS, &sregs) < 0)
		vmm_die("KVM_SET_SREGS: %s", strerror(errno));

	memset(&regs, 0, sizeof(regs));
	regs.rflags = 0x2;
	regs.rip = KERNEL_ADDR + STARTUP_64_OFFSET;
	regs.rsi = BOOT_PARAMS_ADDR;
	regs.rsp = BOOT_STACK_TOP;
	if (ioctl(vcpu->fd, KVM_SET_REGS, &regs) < 0)
		vmm_die("KVM_SET_REGS: %s", strerror(errno));
}
