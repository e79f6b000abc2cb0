// SPDX-License-Identifier: GPL-2.0
/*
 * stdin as the guest's console, when it is the terminal this process is
 * in the foreground of.  Input is raw: every key, Ctrl-C, Ctrl-Z and
 * Ctrl-D included, goes to the guest as over a serial line, and the
 * guest does the echoing.  Output processing is left as it was, so that
 * the bare "\n" of a guest writing its console in raw mode still starts
 * a new line.
 *
 * Ctrl-A is the escape, as in QEMU: Ctrl-A x quits, Ctrl-A h lists the
 * escapes, Ctrl-A Ctrl-A sends one Ctrl-A; any other byte after Ctrl-A
 * is dropped.
 *
 * The terminal gets its modes back on every way out: the end of the VM,
 * exit() anywhere (atexit), a fault or abort (the handler restores, then
 * the signal takes its default action), every other signal that would
 * end the process (the main thread takes those, see ktstr-vmm.c, and
 * ends the VM in order), and a stop (restored before the process stops,
 * raw again when it continues in the foreground).  Only SIGKILL leaves
 * it raw: `stty sane` mends that.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "ktstr-vmm.h"

#define TERM_ESCAPE	0x01	/* Ctrl-A */

static struct termios term_saved;
static bool term_owned;		/* term_start() took the terminal */
static int term_raw;		/* raw now, a restore owed; atomic */

static bool term_set_raw(void)
{
	struct termios raw = term_saved;

	raw.c_iflag &= ~(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR |
			 ICRNL | IXON);
	raw.c_lflag &= ~(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
	raw.c_cflag &= ~(CSIZE | PARENB);
	raw.c_cflag |= CS8;
	raw.c_cc[VMIN] = 1;
	raw.c_cc[VTIME] = 0;
	if (tcsetattr(STDIN_FILENO, TCSANOW, &raw))
		return false;
	__atomic_store_n(&term_raw, 1, __ATOMIC_SEQ_CST);
	return true;
}

/*
 * Async-signal-safe: tcsetattr() is, and so is a lock-free exchange,
 * which also makes one restore of a fault racing the normal end.
 */
void term_restore(void)
{
	if (__atomic_exchange_n(&term_raw, 0, __ATOMIC_SEQ_CST))
		tcsetattr(STDIN_FILENO, TCSANOW, &term_saved);
}

static void term_crash(int sig)
{
	term_restore();
	/* SA_RESETHAND: the default action this time. */
	raise(sig);
}

/* Faults and abort(): they cannot wait for the main thread. */
static void term_crash_handlers(void)
{
	static const int sigs[] = {
		SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP, SIGSYS,
	};
	struct sigaction sa;
	unsigned int i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = term_crash;
	sa.sa_flags = SA_RESETHAND | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < ARRAY_SIZE(sigs); i++)
		sigaction(sigs[i], &sa, NULL);
}

/* The terminal in raw mode; false (said why) if it cannot be. */
bool term_start(void)
{
	if (tcgetattr(STDIN_FILENO, &term_saved)) {
		vmm_log("warning: stdin is a terminal without attributes: not read");
		return false;
	}
	if (atexit(term_restore))
		return false;
	term_crash_handlers();
	if (!term_set_raw()) {
		vmm_log("warning: cannot put the terminal in raw mode: not read");
		return false;
	}
	term_owned = true;
	return true;
}

/* SIGTSTP, SIGTTIN, SIGTTOU: stop as they would, the terminal restored. */
void term_stopped(void)
{
	term_restore();
	raise(SIGSTOP);
}

/* SIGCONT: raw again, unless continued in the background. */
void term_continued(void)
{
	if (term_owned && !__atomic_load_n(&term_raw, __ATOMIC_SEQ_CST) &&
	    tcgetpgrp(STDIN_FILENO) == getpgrp())
		term_set_raw();
}

static void term_help(void)
{
	vmm_log("Ctrl-A x       quit: the VM ends, exit status %d", VMM_STOPPED);
	vmm_log("Ctrl-A h       this help");
	vmm_log("Ctrl-A Ctrl-A  send Ctrl-A to the guest");
}

/*
 * Keystrokes in, bytes for the guest out (at most len of them): the
 * escapes are taken out and acted on.
 */
size_t term_filter(struct vmm *vm, const __u8 *in, size_t len, __u8 *out)
{
	size_t i, n = 0;

	for (i = 0; i < len; i++) {
		if (!vm->input.escape) {
			if (in[i] == TERM_ESCAPE)
				vm->input.escape = true;
			else
				out[n++] = in[i];
			continue;
		}
		vm->input.escape = false;
		switch (in[i]) {
		case TERM_ESCAPE:
			out[n++] = TERM_ESCAPE;
			break;
		case 'x':
		case 'X':
			vmm_stop(vm, VMM_STOPPED, "quit (Ctrl-A x)");
			return n;
		case 'h':
		case 'H':
		case '?':
			term_help();
			break;
		}
	}
	return n;
}
