// SPDX-License-Identifier: GPL-2.0
/*
 * ktstr-vmm: boots a Linux bzImage in a KVM VM whose only devices are COM1
 * and the ktstr_vconsole virtio-console (see ktstr-vmm.h for the files).
 *
 *	ktstr-vmm --kernel BZIMAGE [--initrd FILE] [--cmdline STR]
 *		  [--cpus N] [--mem SIZE] [--slot N|auto] [--no-device]
 *		  [--port1 FILE] [--snrp NAME] [--shutdown-after-exit]
 *		  [--stats] [-v]
 *
 * Console: COM1 and port 0 of the device are both copied to stdout; stdin
 * goes to port 0 (a terminal as the guest's console, vmm-term.c); port 1
 * to --port1 FILE if given (else it is left to another reader, e.g.
 * ktstr-tlv /dev/ktstr-port1), its SNRQ and EXIT frames answered when
 * asked (vmm-frames.c).  Messages of the VMM itself go to stderr,
 * prefixed "ktstr-vmm: ", the last one saying how the guest ended.
 *
 * Exit status (enum vmm_status): 0 the guest powered off (or halted),
 * 1 error (KVM, device or I/O), 2 usage error, 3 the guest reset itself
 * (reboot through port 0x64 or 0xcf9; also a panic with panic=-1),
 * 4 triple fault (KVM_EXIT_SHUTDOWN; also reboot=t), 5 stopped by a
 * signal or by Ctrl-A x on the console.
 *
 * The life cycle: set up the VM, attach the device, open the ports
 * (after ATTACH, so they read exactly this session), start one thread
 * per vCPU, then the main thread waits, taking signals and probing for
 * power off (vmm-vcpu.c).  Once something ends the VM: stop and join the
 * vCPU threads, stop the host -> guest writers, close the device's
 * control file (the module drains the guest's last bytes and the port
 * readers see EOF), join the port threads, exit.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <linux/ktstr_vconsole.h>

#include "ktstr-vmm.h"

#define VMM_PROBE_MS		100
#define VMM_DEFAULT_CMDLINE	"console=ttyS0 panic=-1"
#define VMM_MAX_MEM		BIT_ULL(40)	/* far more than a test needs */

static struct timespec vmm_t0;

static double vmm_elapsed(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - vmm_t0.tv_sec) +
	       (now.tv_nsec - vmm_t0.tv_nsec) / 1e9;
}

/* virtio_mmio's parameter for the device, made of the constants. */
static const char *dev_cmdline(void)
{
	static char param[64];

	snprintf(param, sizeof(param), " virtio_mmio.device=%#x@%#llx:%d",
		 KTSTR_VC_MMIO_SIZE, VMM_DEV_BASE, VMM_DEV_IRQ);
	return param;
}

static void print_help(FILE *out)
{
	fprintf(out,
		"usage: ktstr-vmm --kernel BZIMAGE [options]\n"
		"\n"
		"Boots a Linux bzImage in a KVM VM with COM1 and the ktstr_vconsole\n"
		"virtio-console device (/dev/ktstr-vconsole, the ktstr_vconsole module).\n"
		"\n"
		"  --kernel BZIMAGE       the kernel (Linux x86 boot protocol 2.12+)\n"
		"  --initrd FILE          initramfs or initrd\n"
		"  --cmdline STR          kernel command line (default \"%s\");\n"
		"                         \"%s\" is appended\n"
		"  --cpus N               vCPUs, 1-%d (default 1)\n"
		"  --mem SIZE             guest memory, in MiB or with a suffix K, M, G\n"
		"                         or T (512, 512M, 4G); %dM or more, default %dM;\n"
		"                         above 3G the rest is mapped from 4 GiB\n"
		"  --slot N|auto          ktstr_vconsole slot (default auto: the lowest\n"
		"                         free one); printed with its port nodes\n"
		"  --no-device            boot without the device: no virtio console\n"
		"  --port1 FILE           copy port 1 (the guest's TLV stream) to FILE;\n"
		"                         without it, port 1 is left to another reader\n"
		"  --snrp NAME            answer each SNRQ frame of the guest with an\n"
		"                         SNRP frame: its id, status 0, NAME\n"
		"  --shutdown-after-exit  send the shutdown wake byte 0xd3 on port 0\n"
		"                         once the guest's EXIT frame has come\n"
		"                         (these two read the frames: need --port1)\n"
		"  --stats                print the device's statistics at the end\n"
		"  -v, --verbose          report boot layout and unhandled port I/O\n"
		"  -h, --help             this text\n"
		"  --version              the version\n"
		"\n"
		"COM1 and port 0 go to stdout, messages of ktstr-vmm to stderr.  When\n"
		"stdin is the terminal, it is the guest's console, in raw mode: keys go\n"
		"to port 0, Ctrl-A x quits, Ctrl-A h lists the escapes.  When stdin is\n"
		"a pipe or a file, its bytes go to port 0.\n"
		"\n"
		"Exit status: 0 the guest powered off or halted, 1 error, 2 usage\n"
		"error, 3 the guest reset (reboot, panic=-1), 4 triple fault (also\n"
		"reboot=t), 5 stopped by a signal or Ctrl-A x.\n",
		VMM_DEFAULT_CMDLINE, dev_cmdline() + 1, VMM_MAX_CPUS,
		VMM_MIN_MEM_MIB, VMM_DEFAULT_MEM_MIB);
}

static unsigned long parse_uint(const char *opt, const char *arg,
				unsigned long min, unsigned long max)
{
	unsigned long val;
	char *end;

	errno = 0;
	val = strtoul(arg, &end, 10);
	if (errno || end == arg || *end || arg[0] == '-' || val < min ||
	    val > max)
		vmm_usage("%s %s: expected a number from %lu to %lu", opt, arg,
			  min, max);
	return val;
}

/* The shift of a size suffix (iB or B may follow it); -1 if none fits. */
static int size_shift(const char *suffix)
{
	static const char units[] = "kmgt";
	const char *u;

	if (!*suffix)
		return 20;	/* a bare number is MiB, as QEMU's -m */
	u = strchr(units, tolower((unsigned char)*suffix));
	if (!u || (strcasecmp(suffix + 1, "ib") && strcasecmp(suffix + 1, "b") &&
		   suffix[1]))
		return -1;
	return 10 * (u - units + 1);
}

/* --mem: 512, 512M, 512MiB, 4G, ...: a whole number of MiB. */
static __u64 parse_mem(const char *arg)
{
	unsigned long long val;
	char *end;
	int shift;

	errno = 0;
	val = strtoull(arg, &end, 10);
	shift = size_shift(end);
	if (errno || end == arg || arg[0] == '-' || shift < 0)
		vmm_usage("--mem %s: expected MiB or a size: 512, 512M, 4G",
			  arg);
	if (val > VMM_MAX_MEM >> shift || (val << shift) < (VMM_MIN_MEM_MIB << 20))
		vmm_usage("--mem %s: expected %dM to 1T", arg, VMM_MIN_MEM_MIB);
	if ((val << shift) & ((1 << 20) - 1))
		vmm_usage("--mem %s: not a whole number of MiB", arg);
	return val << shift;
}

static unsigned int parse_slot(const char *arg)
{
	if (!strcmp(arg, "auto"))
		return KTSTR_VC_SLOT_ANY;
	return parse_uint("--slot", arg, 0, KTSTR_VC_MAX_SLOTS - 1);
}

/* What the options need of each other, once all are in. */
static void check_args(struct vmm *vm)
{
	const char *reader = vm->snrp_name ? "--snrp" :
			     vm->shutdown_after_exit ? "--shutdown-after-exit" :
			     NULL;

	if (!vm->kernel)
		vmm_usage("--kernel BZIMAGE is required (see --help)");
	if (reader && vm->no_device)
		vmm_usage("%s answers the guest through the device: not with --no-device",
			  reader);
	if (reader && !vm->port1_out)
		vmm_usage("%s reads the frames of port 1: needs --port1 FILE",
			  reader);
	if (vm->no_device && vm->port1_out)
		vmm_usage("--port1: there is no port 1 with --no-device");
	if (vm->no_device && vm->slot != KTSTR_VC_SLOT_ANY)
		vmm_usage("--slot: there is no slot with --no-device");
	if (vm->snrp_name && (!*vm->snrp_name ||
			      strlen(vm->snrp_name) >= TLV_SNR_NAME_LEN))
		vmm_usage("--snrp NAME: 1 to %d bytes", TLV_SNR_NAME_LEN - 1);
}

enum {
	OPT_NO_DEVICE = 256,
	OPT_SNRP,
	OPT_SHUTDOWN_AFTER_EXIT,
	OPT_VERSION,
};

/* One option of getopt_long(); exits for --help, --version and errors. */
static void take_option(struct vmm *vm, int c, char **argv)
{
	switch (c) {
	case 'k':
		vm->kernel = optarg;
		break;
	case 'i':
		vm->initrd = optarg;
		break;
	case 'c':
		vm->cmdline = optarg;
		break;
	case 'n':
		vm->ncpus = parse_uint("--cpus", optarg, 1, VMM_MAX_CPUS);
		break;
	case 'm':
		vm->mem_size = parse_mem(optarg);
		break;
	case 's':
		vm->slot = parse_slot(optarg);
		break;
	case OPT_NO_DEVICE:
		vm->no_device = true;
		break;
	case 'p':
		vm->port1_out = optarg;
		break;
	case OPT_SNRP:
		vm->snrp_name = optarg;
		break;
	case OPT_SHUTDOWN_AFTER_EXIT:
		vm->shutdown_after_exit = true;
		break;
	case 'S':
		vm->stats = true;
		break;
	case 'v':
		vm->verbose = true;
		break;
	case 'h':
		print_help(stdout);
		exit(0);
	case OPT_VERSION:
		printf("ktstr-vmm %s\n", KTSTR_VC_VERSION);
		exit(0);
	default:
		vmm_usage("option %s: unknown or missing its argument (see --help)",
			  argv[optind - 1]);
	}
}

static void parse_args(struct vmm *vm, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "kernel", required_argument, NULL, 'k' },
		{ "initrd", required_argument, NULL, 'i' },
		{ "cmdline", required_argument, NULL, 'c' },
		{ "cpus", required_argument, NULL, 'n' },
		{ "mem", required_argument, NULL, 'm' },
		{ "slot", required_argument, NULL, 's' },
		{ "no-device", no_argument, NULL, OPT_NO_DEVICE },
		{ "port1", required_argument, NULL, 'p' },
		{ "snrp", required_argument, NULL, OPT_SNRP },
		{ "shutdown-after-exit", no_argument, NULL,
		  OPT_SHUTDOWN_AFTER_EXIT },
		{ "stats", no_argument, NULL, 'S' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ }
	};
	int c;

	vm->ncpus = 1;
	vm->cmdline = VMM_DEFAULT_CMDLINE;
	vm->slot = KTSTR_VC_SLOT_ANY;
	vm->mem_size = (__u64)VMM_DEFAULT_MEM_MIB << 20;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1)
		take_option(vm, c, argv);
	if (optind < argc)
		vmm_usage("unexpected argument %s (see --help)", argv[optind]);
	check_args(vm);
	vm->low_size = vm->mem_size < VMM_LOW_MEM_MAX ? vm->mem_size
						      : VMM_LOW_MEM_MAX;
	vm->high_size = vm->mem_size - vm->low_size;
}

static char *build_cmdline(struct vmm *vm, bool with_device)
{
	size_t len = strlen(vm->cmdline) + strlen(dev_cmdline()) + 1;
	char *cmdline = malloc(len);

	if (!cmdline)
		vmm_die("out of memory");
	snprintf(cmdline, len, "%s%s", vm->cmdline,
		 with_device ? dev_cmdline() : "");
	return cmdline;
}

static void sigusr1_handler(int sig)
{
	(void)sig;
}

/*
 * Every thread blocks the signals that would end or stop the process;
 * vCPU threads let SIGUSR1 in only inside KVM_RUN, the main thread takes
 * the others with sigtimedwait() and ends the VM in order: the device's
 * session ends cleanly and the terminal gets its modes back, whatever
 * the signal.  Faults stay with the thread that faults (vmm-term.c).
 */
static void signals_setup(sigset_t *wait_set)
{
	static const int not_waited[] = {
		SIGKILL, SIGSTOP,
		SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP, SIGSYS,
		SIGCHLD, SIGWINCH, SIGURG,	/* ignored anyway */
		SIGPIPE,			/* a write error instead */
	};
	struct sigaction sa;
	unsigned int i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = sigusr1_handler;
	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);

	sigfillset(wait_set);
	for (i = 0; i < ARRAY_SIZE(not_waited); i++)
		sigdelset(wait_set, not_waited[i]);
	pthread_sigmask(SIG_BLOCK, wait_set, NULL);
}

static void take_signal(struct vmm *vm, int sig)
{
	switch (sig) {
	case SIGUSR1:
		break;		/* vmm_stop() woke us */
	case SIGTSTP:
	case SIGTTIN:
	case SIGTTOU:
		term_stopped();
		break;
	case SIGCONT:
		term_continued();
		break;
	default:
		vmm_stop(vm, VMM_STOPPED, "stopped by %s", strsignal(sig));
		break;
	}
}

/* True when every vCPU answered the probe of this round, dead. */
static bool all_dead_halted(struct vmm *vm, unsigned int round)
{
	struct vcpu *vcpu;
	unsigned int i;

	for (i = 0; i < vm->ncpus; i++) {
		vcpu = &vm->vcpus[i];
		if (__atomic_load_n(&vcpu->probe_round, __ATOMIC_ACQUIRE) != round ||
		    !__atomic_load_n(&vcpu->dead_halt, __ATOMIC_RELAXED))
			return false;
	}
	return true;
}

static void main_loop(struct vmm *vm, const sigset_t *wait_set)
{
	const struct timespec probe = { 0, VMM_PROBE_MS * 1000 * 1000 };
	unsigned int round = 0, dead_rounds = 0, i;
	int sig;

	for (;;) {
		sig = sigtimedwait(wait_set, NULL, &probe);
		if (sig > 0)
			take_signal(vm, sig);
		if (vmm_stopping(vm))
			return;
		uart_flush(&vm->com1);
		dead_rounds = round && all_dead_halted(vm, round) ?
			      dead_rounds + 1 : 0;
		if (dead_rounds == 2) {
			vmm_stop(vm, VMM_POWEROFF,
				 "guest powered off (all vCPUs halted with interrupts disabled)");
			return;
		}
		round++;
		__atomic_store_n(&vm->probe_round, round, __ATOMIC_RELEASE);
		for (i = 0; i < vm->ncpus; i++)
			vcpu_kick(&vm->vcpus[i]);
	}
}

int main(int argc, char **argv)
{
	static struct vmm vm_storage;
	struct vmm *vm = &vm_storage;
	sigset_t wait_set;
	char *cmdline;

	clock_gettime(CLOCK_MONOTONIC, &vmm_t0);
	vm->dev.ctrl_fd = -1;
	vm->main_thread = pthread_self();
	pthread_mutex_init(&vm->lock, NULL);
	uart_init(&vm->com1);
	parse_args(vm, argc, argv);
	signals_setup(&wait_set);
	tx_init(vm);

	boot_read(vm, strlen(vm->cmdline) + strlen(dev_cmdline()));
	kvm_init_vm(vm);
	kvm_setup_memory(vm);
	vcpu_create_all(vm);
	vdev_open(vm);
	cmdline = build_cmdline(vm, vm->dev.ctrl_fd >= 0);
	boot_load(vm, cmdline);
	boot_setup_bsp(&vm->vcpus[0]);
	if (vm->verbose)
		vmm_log("%u vCPUs, %llu MiB, command line: %s", vm->ncpus,
			(unsigned long long)(vm->mem_size >> 20), cmdline);
	free(cmdline);
	ports_start(vm);

	vcpu_start_all(vm);
	main_loop(vm, &wait_set);

	vcpu_join_all(vm);
	ports_stop_tx(vm);
	term_restore();
	uart_flush(&vm->com1);
	vdev_close(vm);
	ports_join(vm);
	frames_report(vm);
	vmm_log("%s after %.3f s", vm->reason, vmm_elapsed());
	return vm->status;
}
