// SPDX-License-Identifier: GPL-2.0
/*
 * rg_host: the host side of the real-guest benchmark (real-guest.sh),
 * the same for ktstr-vmm and for QEMU: it only sees files.
 *
 *	rg_host sink PATH BYTES [DONE]
 *		Reads PATH (e.g. /dev/ktstr-port1, or the .out fifo of a
 *		QEMU pipe chardev) to its end; prints "sink: total T bytes,
 *		first N bytes in S s: X MB/s", the time from the first byte
 *		read to the read that brought the count to BYTES, and then
 *		creates the file DONE.  An end of file before any byte (no
 *		session yet) reopens PATH, for at most 60 s.
 *	rg_host console IN OUT LOG ROUNDS [GATE]
 *		IN is the guest's console (port 0) output, OUT its input.
 *		Opens IN, then creates LOG, so that LOG's existence tells IN
 *		is open (a reader of /dev/ktstr-port0 that came before the
 *		VMM's own).  Copies IN to LOG; with ROUNDS > 0, once "echo:
 *		ready" came, does ROUNDS round trips (one byte 0x05 written to
 *		OUT, read IN until a 0x05 comes back) and prints "echo: n N
 *		median M us p99 P us min A us max B us"; then, once "waiting
 *		for the wake byte" came and the file GATE exists (the sink got
 *		all its bytes: a guest that powers off ends the session), writes
 *		the wake byte 0xd3 to OUT and copies IN to LOG until its end.
 *
 * Exit status 0 on success, 1 on an error or a timeout (60 s without a
 * byte), 2 on bad usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define TIMEOUT_MS	(60 * 1000)
#define ECHO_BYTE	0x05
#define WAKE_SHUTDOWN	0xd3
#define READY_MARK	"echo: ready"
#define WAKE_MARK	"waiting for the wake byte"
#define SINK_BUF	(1024 * 1024)
#define LOG_MAX		(1024 * 1024)

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int touch(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);

	if (fd < 0) {
		perror(path);
		return -1;
	}
	close(fd);
	return 0;
}

/* Waits up to TIMEOUT_MS for path to exist. */
static int wait_file(const char *path)
{
	int ms;

	for (ms = 0; ms < TIMEOUT_MS; ms += 10) {
		if (!access(path, F_OK))
			return 0;
		usleep(10 * 1000);
	}
	fprintf(stderr, "rg_host: no %s after 60 s\n", path);
	return -1;
}

static int read_sink(const char *path, unsigned long long want,
		     const char *done)
{
	unsigned long long total = 0;
	double t_first = 0, t_want = 0, deadline = now_s() + 60;
	char *buf = malloc(SINK_BUF);
	ssize_t n;
	int fd = -1;

	if (!buf)
		return 1;
	for (;;) {
		if (fd < 0) {
			fd = open(path, O_RDONLY | O_CLOEXEC);
			if (fd < 0) {
				perror(path);
				return 1;
			}
		}
		n = read(fd, buf, SINK_BUF);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			perror(path);
			return 1;
		}
		if (!n && !total && now_s() < deadline) {
			close(fd);
			fd = -1;
			usleep(20 * 1000);
			continue;
		}
		if (!n)
			break;
		if (!total)
			t_first = now_s();
		total += n;
		if (!t_want && total >= want) {
			t_want = now_s();
			if (done && touch(done))
				return 1;
		}
	}
	close(fd);
	free(buf);
	if (!t_want) {
		printf("sink: total %llu bytes, fewer than %llu\n", total, want);
		return 1;
	}
	printf("sink: total %llu bytes, first %llu bytes in %.6f s: %.2f MB/s\n",
	       total, want, t_want - t_first,
	       t_want > t_first ? want / (t_want - t_first) / 1e6 : 0.0);
	return 0;
}

struct con {
	const char *out_path;
	int in, out, log;
	char *text;		/* everything read, for the markers */
	size_t len;
	size_t scan;		/* where the next marker search starts */
};

/* One read of IN into the log and the text; 0, or -1 at the end. */
static int con_read(struct con *c, int *got_echo)
{
	struct pollfd pfd = { .fd = c->in, .events = POLLIN };
	char buf[4096];
	ssize_t n, i;
	int r;

	r = poll(&pfd, 1, TIMEOUT_MS);
	if (r < 0 && errno == EINTR)
		return 0;
	if (r <= 0) {
		fprintf(stderr, "rg_host: console: %s\n",
			r ? strerror(errno) : "no byte for 60 s");
		return -1;
	}
	n = read(c->in, buf, sizeof(buf));
	if (n < 0 && errno == EINTR)
		return 0;
	if (n <= 0)
		return -1;
	if (write(c->log, buf, n) != n)
		return -1;
	for (i = 0; got_echo && i < n; i++)
		if (buf[i] == ECHO_BYTE)
			*got_echo = 1;
	if (c->len + n <= LOG_MAX) {
		memcpy(c->text + c->len, buf, n);
		c->len += n;
	}
	return 0;
}

/* Reads until MARK is in the text after c->scan; -1 at the end. */
static int con_wait(struct con *c, const char *mark)
{
	char *p;

	for (;;) {
		p = memmem(c->text + c->scan, c->len - c->scan, mark,
			   strlen(mark));
		if (p) {
			c->scan = p - c->text + strlen(mark);
			return 0;
		}
		if (con_read(c, NULL))
			return -1;
	}
}

/* OUT is opened late: the port may only take a writer in a session. */
static int con_open_out(struct con *c)
{
	if (c->out >= 0)
		return 0;
	c->out = open(c->out_path, O_WRONLY | O_NOCTTY | O_CLOEXEC);
	if (c->out < 0) {
		perror(c->out_path);
		return -1;
	}
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int echo_rounds(struct con *c, int rounds)
{
	double *lat = calloc(rounds, sizeof(*lat)), t0;
	unsigned char b = ECHO_BYTE;
	int i, got;

	if (!lat || con_open_out(c))
		return -1;
	for (i = 0; i < rounds; i++) {
		t0 = now_s();
		if (write(c->out, &b, 1) != 1) {
			perror("rg_host: console input");
			return -1;
		}
		got = 0;
		while (!got)
			if (con_read(c, &got))
				return -1;
		lat[i] = (now_s() - t0) * 1e6;
	}
	qsort(lat, rounds, sizeof(*lat), cmp_double);
	printf("echo: n %d median %.1f us p99 %.1f us min %.1f us max %.1f us\n",
	       rounds, lat[rounds / 2], lat[(rounds * 99) / 100],
	       lat[0], lat[rounds - 1]);
	free(lat);
	return 0;
}

static int console(const char *in, const char *out, const char *log,
		   int rounds, const char *gate)
{
	unsigned char wake = WAKE_SHUTDOWN;
	struct con c = { .text = malloc(LOG_MAX), .out_path = out, .out = -1 };

	if (!c.text)
		return 1;
	/*
	 * Not waiting for a fifo's writer here: con_read() polls, which
	 * sees neither data nor a hang-up before a writer came.
	 */
	c.in = open(in, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (c.in < 0 || fcntl(c.in, F_SETFL, 0)) {
		perror(in);
		return 1;
	}
	c.log = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (c.log < 0) {
		perror(log);
		return 1;
	}
	if (rounds > 0 && (con_wait(&c, READY_MARK) || echo_rounds(&c, rounds)))
		return 1;
	if (con_wait(&c, WAKE_MARK) || (gate && wait_file(gate)) ||
	    con_open_out(&c))
		return 1;
	if (write(c.out, &wake, 1) != 1) {
		perror("rg_host: wake byte");
		return 1;
	}
	while (!con_read(&c, NULL))
		;
	return 0;
}

int main(int argc, char **argv)
{
	if ((argc == 4 || argc == 5) && !strcmp(argv[1], "sink"))
		return read_sink(argv[2], strtoull(argv[3], NULL, 0),
				 argc == 5 ? argv[4] : NULL);
	if ((argc == 6 || argc == 7) && !strcmp(argv[1], "console"))
		return console(argv[2], argv[3], argv[4], atoi(argv[5]),
			       argc == 7 ? argv[6] : NULL);
	fprintf(stderr, "usage: rg_host sink PATH BYTES [DONE]\n"
		"       rg_host console IN OUT LOG ROUNDS [GATE]\n");
	return 2;
}
