// SPDX-License-Identifier: GPL-2.0
/*
 * ktstr-tlv: print the TLV frames of a guest's port-1 stream.
 *
 *	ktstr-tlv [--json] [--exit-code] [--strict] [FILE|-]
 *	ktstr-tlv --version | --help
 *
 * Reads FILE (a regular file, a pipe or a character device such as
 * /dev/ktstr-port1), or standard input for "-" or no FILE, until EOF;
 * never seeks, copes with short reads, and prints each frame as soon as
 * it is complete (stdout is flushed per line).
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
 * With --json, exactly one JSON object per line and nothing else on
 * stdout; "offset" is where the frame's header starts in the stream:
 *
 *	{"type":"EXIT","offset":0,"length":4,"crc_ok":true,"code":0}
 *	{"type":"LIFE",...,"phase":1,"reason":"boot"}
 *	{"type":"SOUT",...,"text":"hello world\n"}     (also SERR, DMSG)
 *	{"type":"SCEN",...,"elapsed_ms":1500}
 *	{"type":"SNRQ",...,"id":7,"kind":1,"name":"map"}  (SNRP: "status")
 *	{"type":"SRDY","offset":20,"length":0,"crc_ok":true}  (also SCST)
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
 * controls, line separators and bidi controls become \uXXXX in JSON and
 * \xNN bytes in the line format, invalid UTF-8 bytes \u00XX and \xNN.
 *
 * Damage is reported in band, in stream order, and on stderr: a bad CRC
 * (the frame is still printed, with crc_ok false), a malformed payload,
 * a header with a length over 256 KiB or a non-zero pad (followed by a
 * resync: the next offset holding a header of a known type, pad 0 and a
 * length valid for that type, and a note of the bytes skipped), a
 * truncated tail, a read error.  In band it is a line of its own:
 *
 *	ERROR offset 22: bad header (type SOUT): length 262145 over 262144, resyncing
 *	{"error":"bad_length","offset":22,"type":"SOUT","length":262145,"message":"..."}
 *
 * "error" is one of bad_crc, malformed, bad_length, bad_pad, skipped,
 * truncated_header, truncated_payload, read (tlv_format_error_json()).
 * No frame line starts with "ERROR" and no frame object has "error".
 *
 * Exit status without --exit-code: 0 when the stream parsed cleanly, 1
 * when it was damaged or could not be read, 2 on a usage error.
 *
 * With --exit-code the status is for a runner, and a guest's code never
 * looks like one of ktstr-tlv's own outcomes: EXIT codes 0..99 pass
 * through, 100..104 are reserved (tlv.h), 124..127 stay timeout(1)'s and
 * the shell's, 128 and up the signals'.  The usual guest codes (0, 1, a
 * kselftest's 4) keep their meaning; a code outside 0..99 is in the EXIT
 * line for whoever needs it.
 *
 *	0..99	the code of the last EXIT frame with a good CRC and a
 *		4-byte payload
 *	100	that code was below 0 or over 99
 *	101	no such EXIT frame, and the stream was clean
 *	102	the stream was damaged and no EXIT frame came through; with
 *		--strict, damaged whatever the EXIT frames said
 *	103	FILE could not be opened or read, or stdout written
 *	104	usage error
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
"Usage: ktstr-tlv [--json] [--exit-code] [--strict] [FILE|-]\n"
"       ktstr-tlv --version | --help\n"
"\n"
"Print the TLV frames read from FILE (a file, a pipe or a character\n"
"device such as /dev/ktstr-port1) or from standard input (FILE - or\n"
"none) until end of file, one line per frame, each as soon as complete.\n"
"\n"
"  --json       one JSON object per line, each with its stream offset\n"
"  --exit-code  exit with the guest's EXIT code (see below)\n"
"  --strict     with --exit-code, a damaged stream fails (102) even\n"
"               after a good EXIT frame (without, damage gives 1 anyway)\n"
"  --version    print the version\n"
"  -h, --help   show this text\n"
"\n"
"Damage (bad CRCs, malformed payloads, bad headers: length over 256 KiB\n"
"or pad not 0, after which the decoder resyncs on the next header of a\n"
"known type; a truncated tail; read errors) is reported on standard\n"
"error and in band, in stream order: a line \"ERROR offset N: ...\", or\n"
"with --json an object {\"error\":KIND,\"offset\":N,...,\"message\":...}.\n"
"A frame with a bad CRC is still printed.\n"
"\n"
"Exit status: 0 when the stream parsed cleanly, 1 when it was damaged\n"
"or could not be read, 2 on a usage error.\n"
"\n"
"With --exit-code a guest's code never looks like ktstr-tlv's own\n"
"outcomes: guest codes 0-99 pass through, 100-104 are reserved, and\n"
"124-127 (timeout, the shell) and 128+ (signals) are left alone:\n"
"  0-99  the code of the last EXIT frame with a good CRC\n"
"  100   that code was below 0 or over 99 (it is in the EXIT line)\n"
"  101   no EXIT frame, and the stream was clean\n"
"  102   the stream was damaged and no EXIT frame came through; with\n"
"        --strict, damaged at all\n"
"  103   FILE could not be opened or read, or stdout written\n"
"  104   usage error\n";

struct out {
	bool json;
	bool write_failed;
	struct tlv_sbuf line;
	struct tlv_sbuf diag;
};

/* Writes o->line to stdout, flushed; once that failed, nothing more. */
static void put_line(struct out *o, __u64 offset)
{
	if (o->write_failed)
		return;
	if (o->line.oom) {
		fprintf(stderr,
			"ktstr-tlv: offset %llu: out of memory formatting a line\n",
			(unsigned long long)offset);
		return;
	}
	if (fwrite(o->line.s, 1, o->line.len, stdout) != o->line.len ||
	    fflush(stdout)) {
		fprintf(stderr, "ktstr-tlv: writing to stdout: %s\n",
			strerror(errno));
		o->write_failed = true;
	}
}

static void on_frame(const struct tlv_frame *f, void *arg)
{
	struct out *o = arg;

	tlv_sbuf_reset(&o->line);
	if (o->json)
		tlv_format_json(&o->line, f);
	else
		tlv_format_text(&o->line, f);
	put_line(o, f->offset);
}

/* On stderr, then in band. */
static void on_error(const struct tlv_error *e, void *arg)
{
	struct out *o = arg;

	tlv_sbuf_reset(&o->diag);
	tlv_format_error(&o->diag, e);
	fprintf(stderr, "ktstr-tlv: %s", tlv_sbuf_str(&o->diag));

	tlv_sbuf_reset(&o->line);
	if (o->json)
		tlv_format_error_json(&o->line, e);
	else
		tlv_format_error_text(&o->line, e);
	put_line(o, e->offset);
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

/* A failure of ktstr-tlv itself, not of the stream. */
static int error_status(unsigned int flags)
{
	return flags & TLV_ST_EXIT_CODE ? TLV_STATUS_ERROR : 1;
}

/* -1 to go on, else the status to exit with at once. */
static int parse_options(int argc, char **argv, struct out *o,
			 unsigned int *flags, const char **path)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "exit-code", no_argument, NULL, 'e' },
		{ "strict", no_argument, NULL, 's' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool usage_error = false;
	int c;

	/* All of them first: a usage error's status depends on --exit-code. */
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			o->json = true;
			break;
		case 'e':
			*flags |= TLV_ST_EXIT_CODE;
			break;
		case 's':
			*flags |= TLV_ST_STRICT;
			break;
		case 'V':
			printf("ktstr-tlv %s\n", KTSTR_VC_VERSION);
			return 0;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		default:
			usage_error = true;
			break;
		}
	}
	if (!usage_error && argc - optind > 1) {
		fprintf(stderr, "ktstr-tlv: one FILE at most\n");
		usage_error = true;
	}
	if (usage_error) {
		fputs(usage_text, stderr);
		return *flags & TLV_ST_EXIT_CODE ? TLV_STATUS_USAGE : 2;
	}
	if (optind < argc)
		*path = argv[optind];
	return -1;
}

/* FILE or stdin, *path made the name for messages; -1 after saying why. */
static int open_input(const char **path)
{
	int fd;

	if (!strcmp(*path, "-")) {
		*path = "standard input";
		return STDIN_FILENO;
	}
	fd = open(*path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		fprintf(stderr, "ktstr-tlv: %s: %s\n", *path, strerror(errno));
	return fd;
}

static void close_input(int fd)
{
	if (fd != STDIN_FILENO)
		close(fd);
}

/*
 * The stream to the parser until EOF, a read error or a failed write;
 * the read error's errno (said on stderr), else 0.
 */
static int feed_all(int fd, const char *path, struct tlv_parser *p,
		    struct out *o, __u64 *nread)
{
	static char buf[READ_SIZE];
	ssize_t n;
	int err;

	while (!o->write_failed) {
		n = read_some(fd, buf, sizeof(buf));
		if (n < 0) {
			err = errno;
			fprintf(stderr, "ktstr-tlv: reading %s: %s\n", path,
				strerror(err));
			return err;
		}
		if (!n)
			break;
		tlv_parser_feed(p, buf, n);
		*nread += n;
	}
	return 0;
}

/* In band after what the bytes read before it gave. */
static void put_read_error(struct out *o, __u64 offset, int err)
{
	struct tlv_error e = {
		.kind = TLV_ERR_READ, .offset = offset, .err = err,
	};

	tlv_sbuf_reset(&o->line);
	if (o->json)
		tlv_format_error_json(&o->line, &e);
	else
		tlv_format_error_text(&o->line, &e);
	put_line(o, e.offset);
}

int ktstr_tlv_main(int argc, char **argv)
{
	struct out o = { 0 };
	struct tlv_parser p;
	unsigned int flags = 0;
	const char *path = "-";
	int fd, status, read_errno;
	__u64 nread = 0;

	status = parse_options(argc, argv, &o, &flags, &path);
	if (status >= 0)
		return status;
	fd = open_input(&path);
	if (fd < 0)
		return error_status(flags);
	if (tlv_parser_init(&p, on_frame, on_error, &o)) {
		fprintf(stderr, "ktstr-tlv: %s\n", strerror(errno));
		close_input(fd);
		return error_status(flags);
	}

	read_errno = feed_all(fd, path, &p, &o, &nread);
	tlv_parser_finish(&p);
	if (read_errno)
		put_read_error(&o, nread, read_errno);
	status = tlv_exit_status(&p, flags);
	if (read_errno || o.write_failed)
		status = error_status(flags);

	tlv_parser_free(&p);
	tlv_sbuf_free(&o.line);
	tlv_sbuf_free(&o.diag);
	close_input(fd);
	return status;
}

#ifndef KTSTR_TLV_NO_MAIN
int main(int argc, char **argv)
{
	return ktstr_tlv_main(argc, argv);
}
#endif
