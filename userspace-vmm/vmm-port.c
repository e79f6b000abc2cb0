// SPDX-License-Identifier: GPL-2.0
/*
 * The ports' byte streams, through files KTSTR_VC_GET_PORT_FD hands the
 * VMM, so that it needs no access to the port nodes:
 *
 *	port 0, guest -> host	copied to stdout: the console
 *	port 1, guest -> host	copied to --port1 FILE, and watched for the
 *				guest's frames (vmm-frames.c) if asked to
 *	stdin -> port 0		a terminal: keystrokes through the Ctrl-A
 *				escapes (vmm-term.c); a pipe or a file: its
 *				bytes, up to its end
 *	host -> guest		the SNRP replies on port 1, the wake byte on
 *				port 0 (vmm-frames.c)
 *
 * A port has one reader and one writer.  One that another process holds
 * (EBUSY: it has the node open) is left to it with a warning, unless an
 * option needs it, which is an error before the guest starts.
 *
 * The host -> guest writes themselves are vmm-tx.c's.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ktstr-vmm.h"

#define PORT_JOIN_S		30
#define PORT_COPY_SIZE		65536
#define INPUT_READ_SIZE		4096
#define INPUT_BG_WAIT_NS	(100 * 1000 * 1000)

/* Writes all of buf to a host file; false if it cannot be written. */
static bool copy_out(int fd, const char *buf, size_t len)
{
	ssize_t w;

	while (len) {
		w = write(fd, buf, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		buf += w;
		len -= w;
	}
	return true;
}

static void *port_copy_thread(void *arg)
{
	static char bufs[KTSTR_VC_NUM_PORTS][PORT_COPY_SIZE];
	struct vmm_port_copy *pc = arg;
	struct vmm *vm = pc->vm;
	char *b = bufs[pc->port];
	bool out_ok = true;
	ssize_t n;

	for (;;) {
		n = read(pc->in_fd, b, PORT_COPY_SIZE);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			vmm_log("%s: read: %s", vm->dev.port_path[pc->port],
				strerror(errno));
			break;
		}
		if (!n)
			break;
		pc->bytes += n;
		/* A lost output must not stall the guest: keep reading. */
		if (out_ok && !copy_out(pc->out_fd, b, n)) {
			if (pc->port)
				vmm_log("--port1 %s: write: %s", vm->port1_out,
					strerror(errno));
			out_ok = false;
		}
		if (pc->port)
			frames_feed(vm, (const __u8 *)b, n);
	}
	return NULL;
}

/*
 * A file of the port (flags as open(2)'s), or -1 when another process
 * holds that role and need is NULL; else need says who needs it.
 */
static int port_open(struct vmm *vm, unsigned int port, int flags,
		     const char *need, const char *without)
{
	const char *role = (flags & O_ACCMODE) == O_RDONLY ? "reader" :
			   "writer";
	const char *path = vm->dev.port_path[port];
	int fd;

	fd = vdev_port_fd(vm, port, flags | O_CLOEXEC);
	if (fd >= 0)
		return fd;
	if (fd != -EBUSY)
		vmm_die("%s: KTSTR_VC_GET_PORT_FD: %s", path, strerror(-fd));
	if (need)
		vmm_die("%s has another %s (a process has the node open), and %s needs it",
			path, role, need);
	vmm_log("warning: %s has another %s (a process has the node open): %s",
		path, role, without);
	return -1;
}

static void port_copy_start(struct vmm *vm, unsigned int port, int in_fd)
{
	struct vmm_port_copy *pc = &vm->port[port];
	int err;

	pc->vm = vm;
	pc->port = port;
	pc->in_fd = in_fd;
	if (!port) {
		pc->out_fd = STDOUT_FILENO;
	} else {
		pc->out_fd = open(vm->port1_out,
				  O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (pc->out_fd < 0)
			vmm_die("--port1 %s: %s", vm->port1_out,
				strerror(errno));
		pc->close_out = true;
	}
	err = pthread_create(&pc->thread, NULL, port_copy_thread, pc);
	if (err)
		vmm_die("cannot start the copy thread of %s: %s",
			vm->dev.port_path[port], strerror(err));
	pc->running = true;
}

/* Bytes the user types or pipes in, to port 0 while the guest runs. */
static void *input_thread(void *arg)
{
	struct vmm *vm = arg;
	struct pollfd pfd[2] = {
		{ .fd = STDIN_FILENO, .events = POLLIN },
		{ .fd = vm->tx.stop_fd, .events = POLLIN },
	};
	__u8 in[INPUT_READ_SIZE], out[INPUT_READ_SIZE];
	size_t len;
	ssize_t n;

	for (;;) {
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd[1].revents)
			break;
		n = read(STDIN_FILENO, in, sizeof(in));
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		/* EIO: the terminal is another job's now; it may come back. */
		if (n < 0 && errno == EIO && vm->input.tty) {
			nanosleep(&(struct timespec){ 0, INPUT_BG_WAIT_NS }, NULL);
			continue;
		}
		if (n <= 0)
			break;		/* the end of a pipe or a file */
		len = n;
		if (vm->input.tty)
			len = term_filter(vm, in, len, out);
		else
			memcpy(out, in, len);
		/* Without a writer the terminal still has its escapes. */
		if (len && vm->tx.fd[0] >= 0 && !tx_send(vm, 0, out, len))
			break;
	}
	if (!vm->shutdown_after_exit)
		tx_close_writer(vm, 0);
	return NULL;
}

/*
 * stdin is read when it is a pipe or a file, or the terminal whose
 * foreground this process is; a terminal it is in the background of
 * is left alone (reading it would stop the process with SIGTTIN).
 */
static bool input_wanted(struct vmm *vm)
{
	if (fcntl(STDIN_FILENO, F_GETFL) < 0)
		return false;
	if (!isatty(STDIN_FILENO))
		return true;
	if (tcgetpgrp(STDIN_FILENO) == getpgrp()) {
		vm->input.tty = true;
		return true;
	}
	if (vm->verbose)
		vmm_log("stdin is a terminal this process is not in the foreground of: not read");
	return false;
}

static void input_start(struct vmm *vm)
{
	int err;

	if (vm->input.tty && !term_start())
		return;
	if (vm->input.tty)
		vmm_log("the terminal is the guest's console%s: Ctrl-A x quits, Ctrl-A h for help",
			vm->tx.fd[0] >= 0 ? "" : " (not sent anywhere: no port 0)");
	else if (vm->tx.fd[0] < 0)
		return;
	err = pthread_create(&vm->input.thread, NULL, input_thread, vm);
	if (err)
		vmm_die("cannot start the stdin thread: %s", strerror(err));
	vm->input.running = true;
}

/*
 * Before the vCPUs start, so that every byte of the session is read;
 * after ATTACH, so that they are this session's.
 */
void ports_start(struct vmm *vm)
{
	bool input = input_wanted(vm);
	int fd;

	if (vm->dev.ctrl_fd < 0) {
		if (input && vm->input.tty)
			input_start(vm);
		return;
	}
	fd = port_open(vm, 0, O_RDONLY, NULL,
		       "the console is not copied to stdout");
	if (fd >= 0)
		port_copy_start(vm, 0, fd);
	if (vm->port1_out)
		port_copy_start(vm, 1, port_open(vm, 1, O_RDONLY, "--port1", NULL));
	if (vm->snrp_name)
		vm->tx.fd[1] = port_open(vm, 1, O_WRONLY | O_NONBLOCK, "--snrp",
					 NULL);
	if (vm->shutdown_after_exit)
		vm->tx.fd[0] = port_open(vm, 0, O_WRONLY | O_NONBLOCK,
					 "--shutdown-after-exit", NULL);
	else if (input)
		vm->tx.fd[0] = port_open(vm, 0, O_WRONLY | O_NONBLOCK, NULL,
					 "stdin is not sent to the guest");
	if (input)
		input_start(vm);
}

/* Before the session ends: no host -> guest byte from here on. */
void ports_stop_tx(struct vmm *vm)
{
	tx_stop(vm);
	if (vm->input.running)
		pthread_join(vm->input.thread, NULL);
	vm->input.running = false;
}

/* After the session ended: each reader gets the rest, then EOF. */
void ports_join(struct vmm *vm)
{
	struct vmm_port_copy *pc;
	struct timespec ts;
	unsigned int i;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += PORT_JOIN_S;
	for (i = 0; i < KTSTR_VC_NUM_PORTS; i++) {
		pc = &vm->port[i];
		if (!pc->running)
			continue;
		if (pthread_timedjoin_np(pc->thread, NULL, &ts)) {
			vmm_log("warning: %s: no EOF %d s after the session ended",
				vm->dev.port_path[i], PORT_JOIN_S);
			continue;
		}
		pc->running = false;
		close(pc->in_fd);
		if (pc->close_out && close(pc->out_fd) < 0)
			vmm_log("--port1 %s: %s", vm->port1_out,
				strerror(errno));
		if (vm->verbose)
			vmm_log("%s: %llu bytes", vm->dev.port_path[i],
				(unsigned long long)pc->bytes);
	}
	for (i = 0; i < KTSTR_VC_NUM_PORTS; i++)
		if (vm->tx.fd[i] >= 0 && !vm->port[1].running)
			tx_close_writer(vm, i);
}
