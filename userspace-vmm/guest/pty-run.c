// SPDX-License-Identifier: GPL-2.0
/*
 * ktstr-pty-run: runs a command on a new pseudo-terminal, as a user at a
 * terminal would, for the VM test of ktstr-vmm's console (its raw mode,
 * its escapes, the terminal restored on every exit path):
 *
 *	ktstr-pty-run -o LOG [-t SECONDS] STEP... -- COMMAND [ARG...]
 *
 *	-e TEXT		wait until the output, after the last match, has TEXT
 *	-s TEXT		type TEXT
 *	-k SIGNAL	send the signal (a number) to the command
 *
 * TEXT takes \xNN, \r, \n and \\.  The command runs in a session of its
 * own with the pseudo-terminal as its controlling terminal, stdin,
 * stdout and stderr, so it is the foreground job; its output goes to LOG
 * as it comes (carriage returns dropped for the matching).  The steps run
 * in order, each within SECONDS (default 120); then the command is
 * waited for.  On stdout: "pty-run: exit status N" or "pty-run: killed
 * by signal N", then "pty-run: termios restored" or "pty-run: termios
 * changed" (the terminal's modes after the command against before).
 * Exit status 0 iff every step passed, the command ended and the modes
 * are back; 1 otherwise, 2 for a usage error.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdnoreturn.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/wait.h>

#define OUT_MAX		(4 * 1024 * 1024)
#define TEXT_MAX	256

static char out[OUT_MAX];	/* the output so far, without '\r' */
static size_t out_len;
static size_t matched;		/* where the next -e looks from */
static int master = -1;
static int log_fd = -1;
static pid_t child;

static void print_usage(void)
{
	fprintf(stderr,
		"usage: ktstr-pty-run -o LOG [-t SECONDS] [-e TEXT|-s TEXT|-k SIGNAL]... -- COMMAND [ARG...]\n");
	exit(2);
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* TEXT with its escapes undone; returns the length. */
static size_t unescape(const char *s, char *buf)
{
	size_t n = 0;
	char hex[3] = { 0 };

	while (*s && n < TEXT_MAX) {
		if (*s != '\\' || !s[1]) {
			buf[n++] = *s++;
			continue;
		}
		s++;
		switch (*s) {
		case 'x':
			if (!s[1] || !s[2])
				print_usage();
			hex[0] = s[1];
			hex[1] = s[2];
			buf[n++] = (char)strtoul(hex, NULL, 16);
			s += 3;
			break;
		case 'r':
			buf[n++] = '\r';
			s++;
			break;
		case 'n':
			buf[n++] = '\n';
			s++;
			break;
		default:
			buf[n++] = *s++;
			break;
		}
	}
	return n;
}

/* Takes what the command wrote, for at most ms; false at its end. */
static bool pump(int ms)
{
	struct pollfd pfd = { .fd = master, .events = POLLIN };
	char buf[4096];
	ssize_t n, i;

	if (poll(&pfd, 1, ms) <= 0)
		return true;
	n = read(master, buf, sizeof(buf));
	if (n <= 0)
		return n < 0 && errno == EINTR;
	if (write(log_fd, buf, n) != n)
		perror("pty-run: log");
	for (i = 0; i < n; i++)
		if (buf[i] != '\r' && out_len < sizeof(out))
			out[out_len++] = buf[i];
	return true;
}

static bool expect(const char *text, long long deadline)
{
	char want[TEXT_MAX];
	size_t len = unescape(text, want);
	char *hit;

	for (;;) {
		hit = memmem(out + matched, out_len - matched, want, len);
		if (hit) {
			matched = hit - out + len;
			return true;
		}
		if (now_ms() >= deadline || !pump(100)) {
			printf("pty-run: not seen: %s\n", text);
			return false;
		}
	}
}

static bool send_text(const char *text)
{
	char buf[TEXT_MAX];
	size_t len = unescape(text, buf);

	return write(master, buf, len) == (ssize_t)len;
}

/* The command's end, its output taken meanwhile; its status or -1. */
static int wait_child(long long deadline)
{
	int status;

	while (waitpid(child, &status, WNOHANG) == 0) {
		if (now_ms() >= deadline) {
			printf("pty-run: the command did not end\n");
			kill(child, SIGKILL);
			waitpid(child, &status, 0);
			return -1;
		}
		pump(100);
	}
	while (poll(&(struct pollfd){ master, POLLIN, 0 }, 1, 0) > 0 && pump(0))
		;
	return status;
}

static bool same_modes(const struct termios *a, const struct termios *b)
{
	return a->c_iflag == b->c_iflag && a->c_oflag == b->c_oflag &&
	       a->c_cflag == b->c_cflag && a->c_lflag == b->c_lflag &&
	       !memcmp(a->c_cc, b->c_cc, sizeof(a->c_cc));
}

static noreturn void run_child(const char *slave_name, char **argv)
{
	int fd;

	setsid();
	fd = open(slave_name, O_RDWR);
	if (fd < 0 || ioctl(fd, TIOCSCTTY, 0) < 0) {
		perror("pty-run: the terminal");
		_exit(127);
	}
	dup2(fd, 0);
	dup2(fd, 1);
	dup2(fd, 2);
	if (fd > 2)
		close(fd);
	execvp(argv[0], argv);
	perror(argv[0]);
	_exit(127);
}

static int open_pty(int *slave)
{
	const char *name;

	master = posix_openpt(O_RDWR | O_NOCTTY);
	if (master < 0 || grantpt(master) || unlockpt(master))
		return -1;
	name = ptsname(master);
	if (!name)
		return -1;
	/* Kept open: the modes stay readable after the command ends. */
	*slave = open(name, O_RDWR | O_NOCTTY);
	return *slave < 0 ? -1 : 0;
}

static int report(int status, int slave, const struct termios *before)
{
	struct termios after;
	bool restored;

	if (status < 0)
		return 1;
	if (WIFEXITED(status))
		printf("pty-run: exit status %d\n", WEXITSTATUS(status));
	else
		printf("pty-run: killed by signal %d\n", WTERMSIG(status));
	restored = !tcgetattr(slave, &after) && same_modes(before, &after);
	printf("pty-run: termios %s\n", restored ? "restored" : "changed");
	return restored ? 0 : 1;
}

int main(int argc, char **argv)
{
	long long step_ms = 120 * 1000;
	struct termios before;
	bool ok = true;
	int c, slave, status;

	while ((c = getopt(argc, argv, "+o:t:e:s:k:")) != -1) {
		if (c == 'o')
			log_fd = open(optarg, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		else if (c == 't')
			step_ms = strtol(optarg, NULL, 10) * 1000;
		else if (c != 'e' && c != 's' && c != 'k')
			print_usage();
	}
	if (log_fd < 0 || optind >= argc)
		print_usage();
	if (open_pty(&slave) || tcgetattr(slave, &before)) {
		perror("pty-run: a pseudo-terminal");
		return 1;
	}
	child = fork();
	if (!child)
		run_child(ptsname(master), argv + optind);
	optind = 1;
	while (ok && (c = getopt(argc, argv, "+o:t:e:s:k:")) != -1) {
		if (c == 'e')
			ok = expect(optarg, now_ms() + step_ms);
		else if (c == 's')
			ok = send_text(optarg);
		else if (c == 'k')
			ok = !kill(child, atoi(optarg));
	}
	/* A step that failed: the command is asked to end, and must. */
	if (!ok)
		kill(child, SIGTERM);
	status = wait_child(now_ms() + step_ms);
	return report(status, slave, &before) || !ok;
}
