// SPDX-License-Identifier: GPL-2.0
/*
 * ktstr-vmm: boots a Linux bzImage in a KVM VM whose only devices are COM1
 * and the ktstr_vconsole virtio-console (see ktstr-vmm.h for the files).
 *
 *	ktstr-vmm --kernel BZIMAGE [--initrd FILE] [--cmdline STR]
 *		  [--cpus N] [--mem MIB] [--slot N] [--port1 FILE] [-v]
 *
 * Console: COM1 and port 0 of the device are both copied to stdout; port 1
 * to --port1 FILE if given (else it is left to another reader, e.g.
 * ktstr-tlv /dev/ktstr-port1).  Messages of the VMM itself go to stderr,
 * prefixed "ktstr-vmm: ", the last one saying how the guest ended.
 *
 * Exit status (enum vmm_status): 0 the guest powered off (or halted),
 * 1 error (bad argument, KVM or device error), 2 the guest reset itself
 * (reboot through port 0x64 or 0xcf9; also a panic with panic=-1),
 * 3 triple fault (KVM_EXIT_SHUTDOWN; also reboot=t), 4 the VMM got
 * SIGINT, SIGTERM or SIGHUP.
 *
 * The life cycle: set up the VM, attach the device, open the port readers
 * (after ATTACH, so they read exactly this session), start one thread per
 * vCPU, then the main thread waits, probing for power off (vmm-vcpu.c).
 * Once something ends the VM: stop and join the vCPU threads, close the
 * device's control file (the module drains the guest's last bytes and the
 * port readers see EOF), join the port threads, exit.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>
#include <linux/ktstr_vconsole.h>

#include "ktstr-vmm.h"

#define VMM_PROBE_MS		100
#define VMM_PORT_JOIN_S		30
#define VMM_DEV_CMDLINE		" virtio_mmio.device=0x1000@0xc0000000:5"
#define VMM_DEFAULT_CMDLINE	"console=ttyS0 panic=-1"

static struct timespec vmm_t0;

static double vmm_elapsed(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - vmm_t0.tv_sec) +
	       (now.tv_nsec - vmm_t0.tv_nsec) / 1e9;
}

void vmm_log_msg(const char *msg)
{
	char line[VMM_MSG_MAX + 16];
	int n;

	/* One write, so lines from several threads do not mix. */
	n = snprintf(line, sizeof(line), "ktstr-vmm: %s\n", msg);
	if (n > (int)sizeof(line) - 1)
		n = sizeof(line) - 1;
	if (write(STDERR_FILENO, line, n) < 0)
		return;
}

noreturn void vmm_die_msg(const char *msg)
{
	vmm_log_msg(msg);
	exit(VMM_ERROR);
}

void vmm_stop_msg(struct vmm *vm, enum vmm_status status, const char *msg)
{
	size_t len = strnlen(msg, sizeof(vm->reason) - 1);

	pthread_mutex_lock(&vm->lock);
	if (!vm->stopping) {
		vm->stopping = true;
		vm->status = status;
		memcpy(vm->reason, msg, len);
		vm->reason[len] = 0;
	}
	pthread_mutex_unlock(&vm->lock);
	/* The main thread acts on it. */
	pthread_kill(vm->main_thread, SIGUSR1);
}

bool vmm_stopping(struct vmm *vm)
{
	bool ret;

	pthread_mutex_lock(&vm->lock);
	ret = vm->stopping;
	pthread_mutex_unlock(&vm->lock);
	return ret;
}

/* Host address of guest-physical [gpa, gpa + len), which must be RAM. */
void *vmm_gpa(struct vmm *vm, __u64 gpa, __u64 len)
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

static void print_help(FILE *out)
{
	fprintf(out,
		"usage: ktstr-vmm --kernel BZIMAGE [options]\n"
		"\n"
		"Boots a Linux bzImage in a KVM VM with COM1 and the ktstr_vconsole\n"
		"virtio-console device (/dev/ktstr-vconsole; without it the VM runs\n"
		"without the device, with a warning).\n"
		"\n"
		"  --kernel BZIMAGE  the kernel (Linux x86 boot protocol 2.12+)\n"
		"  --initrd FILE     initramfs or initrd\n"
		"  --cmdline STR     kernel command line (default \"%s\");\n"
		"                    \"%s\" is appended\n"
		"  --cpus N          vCPUs, 1-%d (default 1)\n"
		"  --mem MIB         guest memory in MiB, %d or more (default %d);\n"
		"                    above 3072 the rest is mapped from 4 GiB\n"
		"  --slot N          ktstr_vconsole slot (default 0)\n"
		"  --port1 FILE      copy port 1 (/dev/ktstr-port1) to FILE; without\n"
		"                    it port 1 is left to another reader\n"
		"  --stats           print the device's statistics at the end\n"
		"  -v, --verbose     report boot layout and unhandled port I/O\n"
		"  -h, --help        this text\n"
		"\n"
		"COM1 and port 0 go to stdout; messages of ktstr-vmm to stderr.\n"
		"Exit status: 0 guest powered off or halted, 1 error, 2 guest reset\n"
		"(reboot, panic=-1), 3 triple fault (also reboot=t), 4 signalled.\n",
		VMM_DEFAULT_CMDLINE, VMM_DEV_CMDLINE + 1, VMM_MAX_CPUS,
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
		vmm_die("%s %s: expected a number from %lu to %lu", opt, arg,
			min, max);
	return val;
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
		{ "port1", required_argument, NULL, 'p' },
		{ "stats", no_argument, NULL, 'S' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ }
	};
	unsigned long mib = VMM_DEFAULT_MEM_MIB;
	int c;

	vm->ncpus = 1;
	vm->cmdline = VMM_DEFAULT_CMDLINE;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
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
			vm->ncpus = parse_uint("--cpus", optarg, 1,
					       VMM_MAX_CPUS);
			break;
		case 'm':
			/* 1 TiB: far more than any test needs. */
			mib = parse_uint("--mem", optarg, VMM_MIN_MEM_MIB,
					 1024 * 1024);
			break;
		case 's':
			vm->slot = parse_uint("--slot", optarg, 0,
					      KTSTR_VC_MAX_SLOTS - 1);
			break;
		case 'p':
			vm->port1_out = optarg;
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
		default:
			vmm_die("option %s: unknown or missing its argument (see --help)",
				argv[optind - 1]);
		}
	}
	if (optind < argc)
		vmm_die("unexpected argument %s (see --help)", argv[optind]);
	if (!vm->kernel)
		vmm_die("--kernel BZIMAGE is required (see --help)");
	vm->mem_size = (__u64)mib << 20;
	vm->low_size = vm->mem_size < VMM_LOW_MEM_MAX ? vm->mem_size
						      : VMM_LOW_MEM_MAX;
	vm->high_size = vm->mem_size - vm->low_size;
}

static char *build_cmdline(struct vmm *vm, bool with_device)
{
	size_t len = strlen(vm->cmdline) + sizeof(VMM_DEV_CMDLINE);
	char *cmdline = malloc(len);

	if (!cmdline)
		vmm_die("out of memory");
	snprintf(cmdline, len, "%s%s", vm->cmdline,
		 with_device ? VMM_DEV_CMDLINE : "");
	return cmdline;
}

static void *port_copy_thread(void *arg)
{
	struct vmm_port_copy *pc = arg;
	static char buf[2][65536];
	char *b = buf[pc - pc->vm->port];
	ssize_t n, w, done;

	for (;;) {
		n = read(pc->in_fd, b, sizeof(buf[0]));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			vmm_log("%s: read: %s", pc->path, strerror(errno));
			break;
		}
		if (!n)
			break;
		pc->bytes += n;
		for (done = 0; done < n; done += w) {
			w = write(pc->out_fd, b + done, n - done);
			if (w < 0 && errno == EINTR) {
				w = 0;
				continue;
			}
			if (w < 0) {
				/* Keep reading: the guest must not stall. */
				break;
			}
		}
	}
	return NULL;
}

static void port_path(struct vmm *vm, unsigned int port, char *buf,
		      size_t size)
{
	if (vm->slot)
		snprintf(buf, size, "/dev/ktstr%u-port%u", vm->slot, port);
	else
		snprintf(buf, size, "/dev/ktstr-port%u", port);
}

/* Port 0 to stdout always; port 1 to --port1 FILE when asked. */
static void ports_start(struct vmm *vm)
{
	static char paths[2][32];
	struct vmm_port_copy *pc;
	unsigned int i;
	int err;

	for (i = 0; i < 2; i++) {
		pc = &vm->port[i];
		pc->vm = vm;
		pc->path = paths[i];
		port_path(vm, i, paths[i], sizeof(paths[i]));
		if (i == 1 && !vm->port1_out)
			continue;
		pc->in_fd = open(pc->path, O_RDONLY | O_CLOEXEC);
		if (pc->in_fd < 0) {
			if (i == 0 && errno == EBUSY) {
				vmm_log("warning: %s has another reader: console not copied",
					pc->path);
				continue;
			}
			vmm_die("%s: %s", pc->path, strerror(errno));
		}
		if (i == 0) {
			pc->out_fd = STDOUT_FILENO;
		} else {
			pc->out_fd = open(vm->port1_out,
					  O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
					  0644);
			if (pc->out_fd < 0)
				vmm_die("--port1 %s: %s", vm->port1_out,
					strerror(errno));
			pc->close_out = true;
		}
		err = pthread_create(&pc->thread, NULL, port_copy_thread, pc);
		if (err)
			vmm_die("cannot start the copy thread of %s: %s",
				pc->path, strerror(err));
		pc->running = true;
	}
}

/* After the session ended: each reader gets the rest, then EOF. */
static void ports_join(struct vmm *vm)
{
	struct vmm_port_copy *pc;
	struct timespec ts;
	unsigned int i;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += VMM_PORT_JOIN_S;
	for (i = 0; i < 2; i++) {
		pc = &vm->port[i];
		if (!pc->running)
			continue;
		if (pthread_timedjoin_np(pc->thread, NULL, &ts)) {
			vmm_log("warning: %s: no EOF %d s after the session ended",
				pc->path, VMM_PORT_JOIN_S);
			continue;
		}
		close(pc->in_fd);
		if (pc->close_out && close(pc->out_fd) < 0)
			vmm_log("--port1 %s: %s", vm->port1_out,
				strerror(errno));
		if (vm->verbose)
			vmm_log("%s: %llu bytes", pc->path,
				(unsigned long long)pc->bytes);
	}
}

static void sigusr1_handler(int sig)
{
	(void)sig;
}

/*
 * Every thread blocks the signals; vCPU threads let SIGUSR1 in only
 * inside KVM_RUN, the main thread takes the others with sigtimedwait().
 */
static void signals_setup(sigset_t *wait_set)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = sigusr1_handler;
	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);

	sigemptyset(wait_set);
	sigaddset(wait_set, SIGUSR1);
	sigaddset(wait_set, SIGINT);
	sigaddset(wait_set, SIGTERM);
	sigaddset(wait_set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, wait_set, NULL);
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
		if (sig == SIGINT || sig == SIGTERM || sig == SIGHUP)
			vmm_stop(vm, VMM_SIGNALLED, "stopped by %s",
				 strsignal(sig));
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
	bool with_device;
	char *cmdline;

	clock_gettime(CLOCK_MONOTONIC, &vmm_t0);
	vm->dev.ctrl_fd = -1;
	vm->main_thread = pthread_self();
	pthread_mutex_init(&vm->lock, NULL);
	uart_init(&vm->com1);
	parse_args(vm, argc, argv);
	signals_setup(&wait_set);

	boot_read(vm, strlen(vm->cmdline) + strlen(VMM_DEV_CMDLINE));
	vcpu_init_kvm(vm);
	boot_setup_memory(vm);
	vcpu_create_all(vm);
	with_device = vdev_open(vm);
	cmdline = build_cmdline(vm, with_device);
	boot_load(vm, cmdline);
	boot_setup_bsp(&vm->vcpus[0]);
	if (vm->verbose)
		vmm_log("%u vCPUs, %llu MiB, command line: %s", vm->ncpus,
			(unsigned long long)(vm->mem_size >> 20), cmdline);
	free(cmdline);
	if (with_device)
		ports_start(vm);

	vcpu_start_all(vm);
	main_loop(vm, &wait_set);

	vcpu_join_all(vm);
	uart_flush(&vm->com1);
	vdev_close(vm);
	ports_join(vm);
	vmm_log("%s after %.3f s", vm->reason, vmm_elapsed());
	return vm->status;
}
