// SPDX-License-Identifier: GPL-2.0
/*
 * Host -> guest: the writers of the ports, shared by the stdin thread
 * (vmm-port.c) and the frame watcher (vmm-frames.c), which is why they
 * are a file of their own, below both.
 *
 * The writes are non-blocking and wait in poll() with the stop eventfd:
 * when the VM ends, tx_stop() makes every writer return and, under
 * tx.lock, no byte is written after it.  A byte written once the session
 * has ended would wait in the idle slot for the next guest.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "ktstr-vmm.h"

void tx_init(struct vmm *vm)
{
	pthread_mutex_init(&vm->tx.lock, NULL);
	vm->tx.fd[0] = -1;
	vm->tx.fd[1] = -1;
	vm->tx.stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vm->tx.stop_fd < 0)
		vmm_die("eventfd: %s", strerror(errno));
}

/* Room to write on fd, or false once the writers are stopped. */
static bool tx_wait_writable(struct vmm *vm, int fd)
{
	struct pollfd pfd[2] = {
		{ .fd = fd, .events = POLLOUT },
		{ .fd = vm->tx.stop_fd, .events = POLLIN },
	};

	for (;;) {
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return false;
		}
		if (pfd[1].revents)
			return false;
		if (pfd[0].revents)
			return true;
	}
}

/*
 * All of buf to the guest on port, waiting for room as long as the
 * guest takes its time; false when stopped, or on an error (logged).
 */
bool tx_send(struct vmm *vm, unsigned int port, const void *buf, size_t len)
{
	struct vmm_tx *tx = &vm->tx;
	const __u8 *p = buf;
	ssize_t n;
	int fd, err;

	while (len) {
		pthread_mutex_lock(&tx->lock);
		fd = tx->stopped ? -1 : tx->fd[port];
		n = fd < 0 ? -1 : write(fd, p, len);
		err = errno;
		pthread_mutex_unlock(&tx->lock);
		if (fd < 0)
			return false;
		if (n > 0) {
			p += n;
			len -= n;
			continue;
		}
		if (err != EAGAIN && err != EINTR) {
			vmm_log("%s: write: %s", vm->dev.port_path[port],
				strerror(err));
			return false;
		}
		if (!tx_wait_writable(vm, fd))
			return false;
	}
	return true;
}

/*
 * Lets another process write the port.  Only the thread that writes
 * it may close it (nobody else polls the fd meanwhile).
 */
void tx_close_writer(struct vmm *vm, unsigned int port)
{
	pthread_mutex_lock(&vm->tx.lock);
	if (vm->tx.fd[port] >= 0)
		close(vm->tx.fd[port]);
	vm->tx.fd[port] = -1;
	pthread_mutex_unlock(&vm->tx.lock);
}

/* No host -> guest byte from here on. */
void tx_stop(struct vmm *vm)
{
	pthread_mutex_lock(&vm->tx.lock);
	vm->tx.stopped = true;
	pthread_mutex_unlock(&vm->tx.lock);
	if (eventfd_write(vm->tx.stop_fd, 1))
		vmm_log("eventfd_write: %s", strerror(errno));
}
