/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The guest's TLV stream (port 1): a streaming parser and the line and
 * JSON formatting of ktstr-tlv.  Plain C and libc only, so that both
 * ktstr-tlv and the selftests link it statically; ktstr-vmm takes the
 * frame types, sizes and tlv_crc32() from it too (its frame watcher).
 *
 * A frame is a 16-byte header, every field a little-endian u32:
 *
 *	msg_type  four ASCII characters, the first one in the top byte
 *	length    payload bytes that follow, at most TLV_MAX_PAYLOAD
 *	crc32     IEEE 802.3 CRC-32 of the payload, as zlib's crc32()
 *	pad       0
 *
 * The parser is fed bytes in chunks of any size (a read() may return
 * any short count) and calls back once per complete frame, and once per
 * problem found.  It never seeks and allocates one buffer of
 * TLV_BUF_SIZE bytes up front: nothing in the input makes it allocate
 * more.
 *
 * Problems and what follows them:
 *
 * - Bad CRC: reported, then the frame is delivered all the same (its
 *   crc_calc differs from its crc) and parsing goes on after it.
 * - A length field over TLV_MAX_PAYLOAD or a non-zero pad: reported,
 *   then the parser resyncs: it drops one byte and looks at every
 *   following offset for a header that is plausible for a resync (see
 *   tlv_resync_candidate()): a known type, pad 0 and a length that fits
 *   that type.  When it finds one it reports how many bytes it skipped
 *   and carries on from there.  A header whose type is unknown is
 *   accepted only while in sync (at the start of the stream or right
 *   after a frame), never to end a resync.
 * - EOF inside a header or a payload: reported by tlv_parser_finish().
 *   Frames before it have been delivered and counted.
 */
#ifndef KTSTR_TLV_H
#define KTSTR_TLV_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#define TLV_HDR_LEN		16
#define TLV_MAX_PAYLOAD		(256 * 1024)
#define TLV_BUF_SIZE		(TLV_HDR_LEN + TLV_MAX_PAYLOAD)

/* Payload bytes shown as hex for opaque, unknown and malformed frames. */
#define TLV_HEX_MAX		64

/* SNRQ / SNRP: u32 id, u32 kind or status, char name[64] NUL-padded. */
#define TLV_SNR_NAME_LEN	64
#define TLV_SNR_LEN		(8 + TLV_SNR_NAME_LEN)

#define TLV_TYPE(a, b, c, d)						\
	(((__u32)(__u8)(a) << 24) | ((__u32)(__u8)(b) << 16) | \
	 ((__u32)(__u8)(c) << 8) | (__u32)(__u8)(d))

#define TLV_EXIT	TLV_TYPE('E', 'X', 'I', 'T')	/* i32 exit code */
#define TLV_LIFE	TLV_TYPE('L', 'I', 'F', 'E')	/* u8 phase, reason */
#define TLV_SOUT	TLV_TYPE('S', 'O', 'U', 'T')	/* text */
#define TLV_SERR	TLV_TYPE('S', 'E', 'R', 'R')	/* text */
#define TLV_DMSG	TLV_TYPE('D', 'M', 'S', 'G')	/* text */
#define TLV_SRDY	TLV_TYPE('S', 'R', 'D', 'Y')	/* empty */
#define TLV_SCST	TLV_TYPE('S', 'C', 'S', 'T')	/* empty */
#define TLV_SCEN	TLV_TYPE('S', 'C', 'E', 'N')	/* u64 elapsed ms */
#define TLV_TEST	TLV_TYPE('T', 'E', 'S', 'T')	/* opaque */
#define TLV_SCDX	TLV_TYPE('S', 'C', 'D', 'X')	/* opaque */
#define TLV_PRAW	TLV_TYPE('P', 'R', 'A', 'W')	/* opaque */
#define TLV_SNRQ	TLV_TYPE('S', 'N', 'R', 'Q')	/* id, kind, name */
#define TLV_SNRP	TLV_TYPE('S', 'N', 'R', 'P')	/* id, status, name */

/* One complete frame; payload points into the parser's buffer. */
struct tlv_frame {
	__u64 offset;	/* of the header in the stream */
	__u32 type;
	__u32 length;
	__u32 crc;		/* as in the header */
	__u32 crc_calc;	/* of the payload as received */
	const __u8 *payload;
};

static inline bool tlv_frame_crc_ok(const struct tlv_frame *f)
{
	return f->crc == f->crc_calc;
}

enum tlv_error_kind {
	TLV_ERR_CRC,		/* the frame is delivered next anyway */
	TLV_ERR_MALFORMED,	/* payload size wrong for the type */
	TLV_ERR_LENGTH,		/* length over TLV_MAX_PAYLOAD: resync */
	TLV_ERR_PAD,		/* pad not 0: resync */
	TLV_ERR_SKIPPED,	/* a resync ended: skipped bytes (a note) */
	TLV_ERR_TRUNC_HEADER,	/* EOF inside a header */
	TLV_ERR_TRUNC_PAYLOAD,	/* EOF inside a payload */
	TLV_ERR_READ,		/* not the parser's: a read() failed */
};

struct tlv_error {
	enum tlv_error_kind kind;
	__u64 offset;	/* header (or first skipped byte) */
	__u32 type;		/* header fields, when there is a header */
	__u32 length;
	__u32 crc;
	__u32 crc_calc;
	__u32 pad;
	__u64 count;		/* SKIPPED: bytes; TRUNC_*: bytes present */
	bool at_eof;		/* SKIPPED: the stream ended first */
	int err;		/* READ: the errno */
};

typedef void (*tlv_frame_fn)(const struct tlv_frame *f, void *arg);
typedef void (*tlv_error_fn)(const struct tlv_error *e, void *arg);

struct tlv_parser {
	__u8 *buf;		/* TLV_BUF_SIZE bytes */
	size_t head;		/* first unparsed byte */
	size_t tail;		/* end of the buffered bytes */
	__u64 offset;	/* stream offset of buf[head] */
	bool resyncing;
	__u64 skip_start;	/* offset of the first skipped byte */
	__u64 skipping;	/* bytes skipped in this resync */

	tlv_frame_fn on_frame;
	tlv_error_fn on_error;
	void *arg;

	/* Counters, for the exit status and the tests. */
	__u64 frames;	/* delivered, bad CRC included */
	__u64 crc_errors;
	__u64 malformed;
	__u64 resyncs;	/* bad headers that started a resync */
	__u64 skipped;	/* bytes dropped while resyncing */
	__u64 truncated;	/* 0 or 1: EOF inside a frame */
	__u64 errors;	/* all of the above reports but SKIPPED */

	/* Last EXIT frame with a good CRC and a 4-byte payload. */
	bool have_exit;
	__s32 exit_code;
};

/* 0, or -1 with errno ENOMEM. */
int tlv_parser_init(struct tlv_parser *p, tlv_frame_fn on_frame,
		    tlv_error_fn on_error, void *arg);
void tlv_parser_free(struct tlv_parser *p);
/* Any number of bytes; calls back for each frame it completes. */
void tlv_parser_feed(struct tlv_parser *p, const void *data, size_t len);
/* End of stream: reports what is left over. */
void tlv_parser_finish(struct tlv_parser *p);

/*
 * The exit status of ktstr-tlv.
 *
 * Without TLV_ST_EXIT_CODE: 1 when any problem but SKIPPED was reported
 * (the stream is damaged), else 0.
 *
 * With TLV_ST_EXIT_CODE (--exit-code), a guest's code and ktstr-tlv's
 * own outcomes never share a value: the code of the last good EXIT frame
 * when it is 0..TLV_STATUS_GUEST_MAX, else one of the reserved values
 * below, all above TLV_STATUS_GUEST_MAX and below 124 (timeout(1) and
 * the shell use 124..127, signals 128 and up).  A damaged stream gives
 * TLV_STATUS_DAMAGED when no good EXIT frame came through (it may have
 * been lost in the damage) and, with TLV_ST_STRICT, whatever the EXIT
 * frames said.
 */
#define TLV_ST_EXIT_CODE	0x1	/* --exit-code */
#define TLV_ST_STRICT		0x2	/* --strict */

#define TLV_STATUS_GUEST_MAX	99	/* EXIT codes 0..99 are the status */
#define TLV_STATUS_OUT_OF_RANGE	100	/* EXIT code below 0 or over 99 */
#define TLV_STATUS_NO_EXIT	101	/* clean stream without an EXIT frame */
#define TLV_STATUS_DAMAGED	102	/* damaged stream, see above */
#define TLV_STATUS_ERROR	103	/* ktstr-tlv: cannot open, read, write */
#define TLV_STATUS_USAGE	104	/* ktstr-tlv: usage error */

int tlv_exit_status(const struct tlv_parser *p, unsigned int flags);

/*
 * ktstr-tlv.c's command (main() calls it; the selftests link it in):
 * reads FILE or stdin, writes stdout and stderr, returns the status.
 */
int ktstr_tlv_main(int argc, char **argv);

/* zlib-compatible: tlv_crc32(0, buf, len) == crc32(0, buf, len). */
__u32 tlv_crc32(__u32 crc, const void *buf, size_t len);

/* The name of a known type, or NULL. */
const char *tlv_type_name(__u32 type);
/* Whether a header may end a resync. */
bool tlv_resync_candidate(__u32 type, __u32 length, __u32 pad);
/* Whether a payload length is valid for its type (any, if unknown). */
bool tlv_length_ok(__u32 type, __u32 length);

/* A growing string, always NUL-terminated once anything was added. */
struct tlv_sbuf {
	char *s;
	size_t len;
	size_t cap;
	bool oom;	/* an allocation failed: the contents are cut short */
};

void tlv_sbuf_reset(struct tlv_sbuf *sb);
void tlv_sbuf_free(struct tlv_sbuf *sb);
void tlv_sbuf_add(struct tlv_sbuf *sb, const char *s, size_t len);
void tlv_sbuf_printf(struct tlv_sbuf *sb, const char *fmt, ...);
/* The contents, "" when empty. */
const char *tlv_sbuf_str(const struct tlv_sbuf *sb);

/*
 * Escapers; they append without the surrounding quotes.  Both formats
 * escape the same characters (one table in tlv.c), only the spelling
 * differs:
 *
 * - Double quote, backslash, newline, carriage return and tab: their C
 *   escapes in both formats; backspace and form feed: \b and \f in JSON.
 * - Every other C0 control, DEL, the C1 controls U+0080..U+009F, the
 *   line and paragraph separators U+2028 and U+2029 (raw, they end a
 *   line in JavaScript and in some terminals) and the bidirectional
 *   formatting characters U+061C, U+200E, U+200F, U+202A..U+202E and
 *   U+2066..U+2069 (which reorder what a terminal shows): \uXXXX in
 *   JSON, each of their bytes as \xNN in the line format.
 * - Each byte of invalid UTF-8 (stray continuation bytes, truncated,
 *   overlong or surrogate sequences, code points over U+10FFFF): \u00XX
 *   in JSON, with XX the byte; \xNN in the line format.  In JSON,
 *   \u0080..\u009f therefore stand for a C1 control or for a raw byte
 *   (the line format tells them apart: \xc2\x85 or \x85), \u00a0..
 *   \u00ff always for one raw byte: valid U+00A0..U+00FF go out as is.
 * - All other valid UTF-8 goes out as is.
 *
 * So a JSON line never holds a raw control character or line
 * separator, and a text line is safe to show on a terminal.
 */
void tlv_json_escape(struct tlv_sbuf *sb, const void *s, size_t len);
void tlv_text_escape(struct tlv_sbuf *sb, const void *s, size_t len);

/*
 * One output line for a frame, with its newline.  The JSON object
 * carries the frame's stream offset ("offset"); see ktstr-tlv.c.
 */
void tlv_format_text(struct tlv_sbuf *sb, const struct tlv_frame *f);
void tlv_format_json(struct tlv_sbuf *sb, const struct tlv_frame *f);

/*
 * A problem, with its newline: the diagnostic line "offset N: ..."
 * (stderr), the same as an in-band line of the line format ("ERROR
 * offset N: ..."), or as an in-band JSON object
 * {"error":KIND,"offset":N,...,"message":"..."}, KIND one of
 * tlv_error_name().
 */
void tlv_format_error(struct tlv_sbuf *sb, const struct tlv_error *e);
void tlv_format_error_text(struct tlv_sbuf *sb, const struct tlv_error *e);
void tlv_format_error_json(struct tlv_sbuf *sb, const struct tlv_error *e);
/* "bad_crc", "malformed", "bad_length", "bad_pad", "skipped", ... */
const char *tlv_error_name(enum tlv_error_kind kind);

#endif /* KTSTR_TLV_H */
