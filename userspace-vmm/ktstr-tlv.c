// SPDX-License-Identifier: GPL-2.0
/*
 * ktstr-tlv: print the TLV frames of a guest's port-1 stream.
 *
 *	ktstr-tlv [--json] [--exit-code] [FILE|-]
 *
 * Reads FILE (a regular file, a pipe or a character device such as
 * /dev/ktstr-port1), or standard input for "-" or no FILE, until EOF;
 * never seeks, copes with short reads, and prints each frame as soon as
 * it is complete (stdout is flushed per frame).
 *
 * Output, one line per frame:
 *
 *	EXIT len=4 crc=ok code=0
 *	LIFE len=5 crc=ok phase=1 reason="boot"
 *	SOUT len=12 crc=ok text="hello world\n"
 *	SCEN len=8 crc=ok elapsed_ms=1500
 *	SNRQ len=72 crc=ok id=7 kind=1 name="map"
 *	PRAW len=100 crc=bad hex=<first 64 bytes>...
 *	0x41424344("ABCD") len=2 crc=ok hex=0102
 *
 * With --json, exactly one JSON object per frame per line and nothing
 * else on stdout:
 *
 *	{"type":"EXIT","length":4,"crc_ok":true,"code":0}
 *	{"type":"LIFE",...,"phase":1,"reason":"boot"}
 *	{"type":"SOUT",...,"text":"hello world\n"}     (also SERR, DMSG)
 *	{"type":"SCEN",...,"elapsed_ms":1500}
 *	{"type":"SNRQ",...,"id":7,"kind":1,"name":"map"}  (SNRP: "status")
 *	{"type":"SRDY","length":0,"crc_ok":true}         (also SCST)
 *	{"type":"PRAW",...,"payload_hex":"...","payload_truncated":true}
 *	{"type":"ABCD","type_hex":"0x41424344",...,"payload_hex":...}
 *
 * TEST, SCDX, PRAW and unknown types carry payload_hex: the first 64
 * payload bytes in hex, payload_truncated true when there were more (in
 * the line format, "..." after the hex).  An unknown type's "type" is
 * its four characters when all are printable ASCII, else its hex.  A
 * payload whose size does not fit its type (EXIT not 4 bytes, LIFE
 * empty, SRDY/SCST not empty, SCEN not 8, SNRQ/SNRP not 72) is shown as
 * "malformed" with its hex.  Text is escaped as described in tlv.h:
 * invalid UTF-8 bytes become \u00XX in JSON, \xNN in the line format.
 *
 * Problems go to stderr: a bad CRC (the frame is still printed, with
 * crc_ok false), a malformed payload, a header with a length over 256 KiB
 * or a non-zero pad (followed by a resync: the next offset holding a
 * header of a known type, pad 0 and a length valid for that type), a
 * truncated tail, read and write errors.
 *
 * Exit status without --exit-code: 0 when no problem was reported, 1
 * otherwise.  With --exit-code: the code of the last EXIT frame that has
 * a good CRC and a 4-byte payload, modulo 256 as exit() does (-1 gives
 * 255); 2 when there is no such frame (a stream that cannot be opened
 * included).  Usage errors: 2.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tlv.h"

#define READ_SIZE	65536

static const char usage_text[] =
"Usage: ktstr-tlv [--json] [--exit-code] [FILE|-]\n"
"       ktstr-tlv --help\n"
"\n"
"Print the TLV frames read from FILE (a file, a pipe or a character\n"
"device such as /dev/ktstr-port1) or from standard input (FILE - or\n"
"none) until end of file, one line per frame, each as soon as complete.\n"
"\n"
"  --json       one JSON object per frame per line, nothing else on stdout\n"
"  --exit-code  exit with the last EXIT frame's code\n"
"  -h, --help   show this text\n"
"\n"
"Bad CRCs, malformed payloads, bad headers (length over 256 KiB or pad\n"
"not 0: the decoder then resyncs on the next header of a known type)\n"
"and a truncated tail are reported on standard error; a frame with a\n"
"bad CRC is still printed.\n"
"\n"
"Exit status: 0 when the stream parsed cleanly, 1 when any problem was\n"
"reported.  With --exit-code: the code of the last EXIT frame with a\n"
"good CRC, modulo 256; 2 when there is none.  Usage errors: 2.\n";

struct out {
	bool json;
	bool write_failed;
	struct tlv_sbuf line;
	struct tlv_sbuf diag;
};

static void on_frame(const struct tlv_frame *f, void *arg)
{
	struct out *o = arg;

	if (o->write_failed)
		return;
	tlv_sbuf_reset(&o->line);
	if (o->json)
		tlv_format_json(&o->line, f);
	else
		tlv_format_text(&o->line, f);
	if (o->line.oom) {
		fprintf(stderr,
			"ktstr-tlv: offset %llu: out of memory formatting a frame\n",
			(unsigned long long)f->offset);
		return;
	}
	if (fwrite(o->line.s, 1, o->line.len, stdout) != o->line.len ||
	    fflush(stdout)) {
		fprintf(stderr, "ktstr-tlv: writing to stdout: %s\n",
			strerror(errno));
		o->write_failed = true;
	}
}

static void on_error(const struct tlv_error *e, void *arg)
{
	struct out *o = arg;

	tlv_sbuf_reset(&o->diag);
	tlv_format_error(&o->diag, e);
	fprintf(stderr, "ktstr-tlv: %s", tlv_sbuf_str(&o->diag));
}

/* A read() that waits when the descriptor is non-blocking. */
static ssize_t read_some(int fd, void *buf, size_t len)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	ssize_t n;

	for (;;) {
		n = read(fd, buf, len);
		if (n >= 0)
			return n;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -1;
		if (poll(&pfd, 1, -1) < 0 && errno != EINTR)
			return -1;
	}
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "exit-code", no_argument, NULL, 'e' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct out o = { 0 };
	struct tlv_parser p;
	bool exit_code_mode = false, io_error = false;
	const char *path = "-";
	static char buf[READ_SIZE];
	int fd, c, status;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			o.json = true;
			break;
		case 'e':
			exit_code_mode = true;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		default:
			fputs(usage_text, stderr);
			return 2;
		}
	}
	if (argc - optind > 1) {
		fprintf(stderr, "ktstr-tlv: one FILE at most\n");
		fputs(usage_text, stderr);
		return 2;
	}
	if (optind < argc)
		path = argv[optind];

	if (!strcmp(path, "-")) {
		fd = STDIN_FILENO;
		path = "standard input";
	} else {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			fprintf(stderr, "ktstr-tlv: %s: %s\n", path,
				strerror(errno));
			return exit_code_mode ? 2 : 1;
		}
	}

	if (tlv_parser_init(&p, on_frame, on_error, &o)) {
		fprintf(stderr, "ktstr-tlv: %s\n", strerror(errno));
		return exit_code_mode ? 2 : 1;
	}

	while (!o.write_failed) {
		ssize_t n = read_some(fd, buf, sizeof(buf));

		if (n < 0) {
			fprintf(stderr, "ktstr-tlv: reading %s: %s\n", path,
				strerror(errno));
			io_error = true;
			break;
		}
		if (!n)
			break;
		tlv_parser_feed(&p, buf, n);
	}
	tlv_parser_finish(&p);

	status = tlv_exit_status(&p, exit_code_mode);
	if (!exit_code_mode && (io_error || o.write_failed))
		status = 1;

	tlv_parser_free(&p);
	tlv_sbuf_free(&o.line);
	tlv_sbuf_free(&o.diag);
	if (fd != STDIN_FILENO)
		close(fd);
	return status;
}
