// SPDX-License-Identifier: GPL-2.0
/*
 * COM1 at 0x3f8, IRQ 4: a 16550A that transmits instantly and never
 * receives.  Enough for earlyprintk=serial, console=ttyS0 and the 8250
 * driver's probe and interrupt-driven transmit:
 *
 * - THR bytes go to stdout, a line at a time.
 * - LSR always says THR empty and transmitter idle, no data ready.
 * - The THR-empty interrupt follows the 16550: it becomes pending when
 *   IER.THRI is turned on or a byte is written (the THR empties at once)
 *   and is cleared by reading it from IIR.  IRQ 4 is driven at the level
 *   of (IER.THRI && pending) with KVM_IRQ_LINE; the MP table makes IRQ 4
 *   edge triggered, so each rise is one interrupt, as on a PC.
 * - IER keeps its low four bits, LCR, MCR, scratch and the divisor latch
 *   read back what was written; MSR reports DCD, DSR and CTS (or the MCR
 *   bits in loopback); FCR bit 0 turns on the FIFO bits of IIR.
 */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "ktstr-vmm.h"

#define UART_RX		0	/* DLAB 0: RBR/THR, DLAB 1: DLL */
#define UART_IER	1	/* DLAB 1: DLM */
#define UART_IIR	2	/* write: FCR */
#define UART_LCR	3
#define UART_MCR	4
#define UART_LSR	5
#define UART_MSR	6
#define UART_SCR	7

#define UART_IER_THRI	0x02
#define UART_IIR_NO_INT	0x01
#define UART_IIR_THRI	0x02
#define UART_IIR_FIFO	0xc0
#define UART_FCR_ENABLE	0x01
#define UART_FCR_CLEAR	0x06	/* self-clearing FIFO resets */
#define UART_LCR_DLAB	0x80
#define UART_MCR_LOOP	0x10
#define UART_LSR_THRE	0x20
#define UART_LSR_TEMT	0x40
#define UART_MSR_CTS	0x10
#define UART_MSR_DSR	0x20
#define UART_MSR_RI	0x40
#define UART_MSR_DCD	0x80

void uart_init(struct uart *uart)
{
	memset(uart, 0, sizeof(*uart));
	pthread_mutex_init(&uart->lock, NULL);
	uart->lcr = 0x03;	/* 8N1 */
	uart->mcr = 0x08;	/* OUT2 */
}

static void uart_flush_locked(struct uart *uart)
{
	size_t done = 0;
	ssize_t n;

	while (done < uart->len) {
		n = write(STDOUT_FILENO, uart->buf + done, uart->len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;	/* stdout gone: the guest must not notice */
		done += n;
	}
	uart->len = 0;
}

void uart_flush(struct uart *uart)
{
	pthread_mutex_lock(&uart->lock);
	uart_flush_locked(uart);
	pthread_mutex_unlock(&uart->lock);
}

static void uart_putc(struct uart *uart, char c)
{
	uart->buf[uart->len++] = c;
	if (c == '\n' || uart->len == sizeof(uart->buf))
		uart_flush_locked(uart);
}

static void uart_update_irq(struct vmm *vm, struct uart *uart)
{
	bool level = (uart->ier & UART_IER_THRI) && uart->thri_pending;
	struct kvm_irq_level irq = { .irq = VMM_COM1_IRQ, .level = level };

	if (level == uart->irq_level)
		return;
	uart->irq_level = level;
	if (ioctl(vm->vm_fd, KVM_IRQ_LINE, &irq) < 0)
		vmm_stop(vm, VMM_ERROR, "KVM_IRQ_LINE (IRQ %d): %s",
			 VMM_COM1_IRQ, strerror(errno));
}

static __u8 uart_iir(struct uart *uart)
{
	__u8 iir = UART_IIR_NO_INT;

	if ((uart->ier & UART_IER_THRI) && uart->thri_pending) {
		iir = UART_IIR_THRI;
		uart->thri_pending = false;
	}
	if (uart->fcr & UART_FCR_ENABLE)
		iir |= UART_IIR_FIFO;
	return iir;
}

static __u8 uart_msr(struct uart *uart)
{
	__u8 mcr = uart->mcr;

	if (!(mcr & UART_MCR_LOOP))
		return UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS;
	/* Loopback: DTR -> DSR, RTS -> CTS, OUT1 -> RI, OUT2 -> DCD. */
	return (mcr & 0x01 ? UART_MSR_DSR : 0) |
	       (mcr & 0x02 ? UART_MSR_CTS : 0) |
	       (mcr & 0x04 ? UART_MSR_RI : 0) |
	       (mcr & 0x08 ? UART_MSR_DCD : 0);
}

static __u8 uart_read(struct uart *uart, unsigned int offset)
{
	bool dlab = uart->lcr & UART_LCR_DLAB;

	switch (offset) {
	case UART_RX:
		return dlab ? uart->dll : 0;
	case UART_IER:
		return dlab ? uart->dlm : uart->ier;
	case UART_IIR:
		return uart_iir(uart);
	case UART_LCR:
		return uart->lcr;
	case UART_MCR:
		return uart->mcr;
	case UART_LSR:
		return UART_LSR_THRE | UART_LSR_TEMT;
	case UART_MSR:
		return uart_msr(uart);
	default:
		return uart->scr;
	}
}

static void uart_write(struct uart *uart, unsigned int offset, __u8 val)
{
	bool dlab = uart->lcr & UART_LCR_DLAB;

	switch (offset) {
	case UART_RX:
		if (dlab) {
			uart->dll = val;
			break;
		}
		/* Loopback bytes would be received; we receive nothing. */
		if (!(uart->mcr & UART_MCR_LOOP))
			uart_putc(uart, val);
		uart->thri_pending = true;
		break;
	case UART_IER:
		if (dlab) {
			uart->dlm = val;
			break;
		}
		if ((val & UART_IER_THRI) && !(uart->ier & UART_IER_THRI))
			uart->thri_pending = true;
		uart->ier = val & 0x0f;
		break;
	case UART_IIR:
		uart->fcr = val & ~UART_FCR_CLEAR;
		break;
	case UART_LCR:
		uart->lcr = val;
		break;
	case UART_MCR:
		uart->mcr = val & 0x1f;
		break;
	case UART_LSR:
	case UART_MSR:
		break;	/* read-only */
	default:
		uart->scr = val;
		break;
	}
}

/* One byte-wide access at offset 0-7 from any vCPU thread. */
void uart_io(struct vmm *vm, unsigned int offset, __u8 *data, bool write)
{
	struct uart *uart = &vm->com1;

	pthread_mutex_lock(&uart->lock);
	if (write)
		uart_write(uart, offset, *data);
	else
		*data = uart_read(uart, offset);
	uart_update_irq(vm, uart);
	pthread_mutex_unlock(&uart->lock);
}
