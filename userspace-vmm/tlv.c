// SPDX-License-Identifier: GPL-2.0
/*
 * The guest's TLV stream: streaming parser, CRC-32, escapers and the
 * line and JSON formats of ktstr-tlv.  See tlv.h for the rules.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tlv.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

/* Types */

static const struct {
	__u32 type;
	const char *name;
} tlv_types[] = {
	{ TLV_EXIT, "EXIT" }, { TLV_LIFE, "LIFE" }, { TLV_SOUT, "SOUT" },
	{ TLV_SERR, "SERR" }, { TLV_DMSG, "DMSG" }, { TLV_SRDY, "SRDY" },
	{ TLV_SCST, "SCST" }, { TLV_SCEN, "SCEN" }, { TLV_TEST, "TEST" },
	{ TLV_SCDX, "SCDX" }, { TLV_PRAW, "PRAW" }, { TLV_SNRQ, "SNRQ" },
	{ TLV_SNRP, "SNRP" },
};

const char *tlv_type_name(__u32 type)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(tlv_types); i++)
		if (tlv_types[i].type == type)
			return tlv_types[i].name;
	return NULL;
}

bool tlv_length_ok(__u32 type, __u32 length)
{
	switch (type) {
	case TLV_EXIT:
		return length == 4;
	case TLV_LIFE:
		return length >= 1;
	case TLV_SRDY:
	case TLV_SCST:
		return length == 0;
	case TLV_SCEN:
		return length == 8;
	case TLV_SNRQ:
	case TLV_SNRP:
		return length == TLV_SNR_LEN;
	default:
		return true;
	}
}

/* What a malformed payload should have been, for the diagnostics. */
static const char *tlv_length_want(__u32 type)
{
	switch (type) {
	case TLV_EXIT:
		return "4";
	case TLV_LIFE:
		return "at least 1";
	case TLV_SRDY:
	case TLV_SCST:
		return "0";
	case TLV_SCEN:
		return "8";
	default:
		return "72";
	}
}

bool tlv_resync_candidate(__u32 type, __u32 length, __u32 pad)
{
	return pad == 0 && length <= TLV_MAX_PAYLOAD &&
	       tlv_type_name(type) && tlv_length_ok(type, length);
}

static bool tlv_type_printable(__u32 type)
{
	int i;

	for (i = 0; i < 4; i++) {
		__u8 c = type >> (24 - 8 * i);

		if (c < 0x20 || c > 0x7e)
			return false;
	}
	return true;
}

static void tlv_type_chars(__u32 type, char out[4])
{
	int i;

	for (i = 0; i < 4; i++)
		out[i] = (char)(type >> (24 - 8 * i));
}

/* CRC-32 (IEEE 802.3, reflected, polynomial 0xedb88320) */

static __u32 tlv_crc_table[256];
static bool tlv_crc_ready;

static void tlv_crc_init(void)
{
	__u32 i, j, c;

	for (i = 0; i < 256; i++) {
		c = i;
		for (j = 0; j < 8; j++)
			c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
		tlv_crc_table[i] = c;
	}
	tlv_crc_ready = true;
}

__u32 tlv_crc32(__u32 crc, const void *buf, size_t len)
{
	const __u8 *p = buf;

	if (!tlv_crc_ready)
		tlv_crc_init();
	crc = ~crc;
	while (len--)
		crc = tlv_crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

/* Parser */

static __u32 get_le32(const __u8 *p)
{
	return (__u32)p[0] | (__u32)p[1] << 8 |
	       (__u32)p[2] << 16 | (__u32)p[3] << 24;
}

static __u64 get_le64(const __u8 *p)
{
	return (__u64)get_le32(p) | (__u64)get_le32(p + 4) << 32;
}

int tlv_parser_init(struct tlv_parser *p, tlv_frame_fn on_frame,
		    tlv_error_fn on_error, void *arg)
{
	memset(p, 0, sizeof(*p));
	p->buf = malloc(TLV_BUF_SIZE);
	if (!p->buf) {
		errno = ENOMEM;
		return -1;
	}
	p->on_frame = on_frame;
	p->on_error = on_error;
	p->arg = arg;
	return 0;
}

void tlv_parser_free(struct tlv_parser *p)
{
	free(p->buf);
	p->buf = NULL;
}

static void tlv_report(struct tlv_parser *p, struct tlv_error *e)
{
	if (e->kind != TLV_ERR_SKIPPED)
		p->errors++;
	if (p->on_error)
		p->on_error(e, p->arg);
}

static void tlv_consume(struct tlv_parser *p, size_t n)
{
	p->head += n;
	p->offset += n;
}

static void tlv_end_resync(struct tlv_parser *p, bool at_eof)
{
	struct tlv_error e = {
		.kind = TLV_ERR_SKIPPED,
		.offset = p->skip_start,
		.count = p->skipping,
		.at_eof = at_eof,
	};

	p->resyncing = false;
	p->skipping = 0;
	tlv_report(p, &e);
}

/* Drop the byte at head while looking for the next frame. */
static void tlv_skip_byte(struct tlv_parser *p)
{
	if (!p->resyncing) {
		p->resyncing = true;
		p->skip_start = p->offset;
		p->skipping = 0;
	}
	p->skipping++;
	p->skipped++;
	tlv_consume(p, 1);
}

static void tlv_deliver(struct tlv_parser *p, const __u8 *h)
{
	struct tlv_frame f = {
		.offset = p->offset,
		.type = get_le32(h),
		.length = get_le32(h + 4),
		.crc = get_le32(h + 8),
		.payload = h + TLV_HDR_LEN,
	};

	f.crc_calc = tlv_crc32(0, f.payload, f.length);
	if (!tlv_frame_crc_ok(&f)) {
		struct tlv_error e = {
			.kind = TLV_ERR_CRC, .offset = f.offset,
			.type = f.type, .length = f.length,
			.crc = f.crc, .crc_calc = f.crc_calc,
		};

		p->crc_errors++;
		tlv_report(p, &e);
	}
	if (!tlv_length_ok(f.type, f.length)) {
		struct tlv_error e = {
			.kind = TLV_ERR_MALFORMED, .offset = f.offset,
			.type = f.type, .length = f.length,
			.crc = f.crc, .crc_calc = f.crc_calc,
		};

		p->malformed++;
		tlv_report(p, &e);
	} else if (f.type == TLV_EXIT && tlv_frame_crc_ok(&f)) {
		p->have_exit = true;
		p->exit_code = (__s32)get_le32(f.payload);
	}
	p->frames++;
	if (p->on_frame)
		p->on_frame(&f, p->arg);
	tlv_consume(p, TLV_HDR_LEN + f.length);
}

/* Deliver every complete frame in the buffer. */
static void tlv_process(struct tlv_parser *p)
{
	while (p->tail - p->head >= TLV_HDR_LEN) {
		const __u8 *h = p->buf + p->head;
		__u32 type = get_le32(h);
		__u32 length = get_le32(h + 4);
		__u32 pad = get_le32(h + 12);

		if (p->resyncing) {
			if (!tlv_resync_candidate(type, length, pad)) {
				tlv_skip_byte(p);
				continue;
			}
			tlv_end_resync(p, false);
		} else if (length > TLV_MAX_PAYLOAD || pad) {
			struct tlv_error e = {
				.kind = length > TLV_MAX_PAYLOAD ?
					TLV_ERR_LENGTH : TLV_ERR_PAD,
				.offset = p->offset, .type = type,
				.length = length, .crc = get_le32(h + 8),
				.pad = pad,
			};

			p->resyncs++;
			tlv_report(p, &e);
			tlv_skip_byte(p);
			continue;
		}
		if (p->tail - p->head < TLV_HDR_LEN + (size_t)length)
			return;
		tlv_deliver(p, h);
	}
}

void tlv_parser_feed(struct tlv_parser *p, const void *data, size_t len)
{
	const __u8 *d = data;

	/*
	 * After tlv_process() fewer than TLV_BUF_SIZE bytes are pending
	 * (a full buffer holds at least one whole frame or a header to
	 * skip), so compacting always makes room.
	 */
	while (len) {
		size_t n;

		if (p->head == p->tail) {
			p->head = 0;
			p->tail = 0;
		} else if (p->tail == TLV_BUF_SIZE) {
			memmove(p->buf, p->buf + p->head, p->tail - p->head);
			p->tail -= p->head;
			p->head = 0;
		}
		n = TLV_BUF_SIZE - p->tail;
		if (n > len)
			n = len;
		memcpy(p->buf + p->tail, d, n);
		p->tail += n;
		d += n;
		len -= n;
		tlv_process(p);
	}
}

void tlv_parser_finish(struct tlv_parser *p)
{
	size_t left = p->tail - p->head;
	const __u8 *h = p->buf + p->head;
	struct tlv_error e = { .offset = p->offset, .count = left };

	if (p->resyncing) {
		/* Fewer than TLV_HDR_LEN bytes: no frame can start there. */
		p->skipping += left;
		p->skipped += left;
		tlv_end_resync(p, true);
	} else if (left) {
		if (left < TLV_HDR_LEN) {
			e.kind = TLV_ERR_TRUNC_HEADER;
		} else {
			e.kind = TLV_ERR_TRUNC_PAYLOAD;
			e.type = get_le32(h);
			e.length = get_le32(h + 4);
			e.crc = get_le32(h + 8);
			e.count = left - TLV_HDR_LEN;
		}
		p->truncated++;
		tlv_report(p, &e);
	}
	p->offset += left;
	p->head = 0;
	p->tail = 0;
}

int tlv_exit_status(const struct tlv_parser *p, unsigned int flags)
{
	if (!(flags & TLV_ST_EXIT_CODE))
		return p->errors ? 1 : 0;
	if (p->errors && ((flags & TLV_ST_STRICT) || !p->have_exit))
		return TLV_STATUS_DAMAGED;
	if (!p->have_exit)
		return TLV_STATUS_NO_EXIT;
	if (p->exit_code < 0 || p->exit_code > TLV_STATUS_GUEST_MAX)
		return TLV_STATUS_OUT_OF_RANGE;
	return p->exit_code;
}

/* Strings */

static bool tlv_sbuf_grow(struct tlv_sbuf *sb, size_t extra)
{
	size_t want = sb->len + extra + 1;
	size_t cap = sb->cap ? sb->cap : 256;
	char *s;

	if (sb->oom)
		return false;
	if (want <= sb->cap)
		return true;
	while (cap < want)
		cap *= 2;
	s = realloc(sb->s, cap);
	if (!s) {
		sb->oom = true;
		return false;
	}
	sb->s = s;
	sb->cap = cap;
	return true;
}

void tlv_sbuf_reset(struct tlv_sbuf *sb)
{
	sb->len = 0;
	sb->oom = false;
	if (sb->s)
		sb->s[0] = '\0';
}

void tlv_sbuf_free(struct tlv_sbuf *sb)
{
	free(sb->s);
	memset(sb, 0, sizeof(*sb));
}

void tlv_sbuf_add(struct tlv_sbuf *sb, const char *s, size_t len)
{
	if (!tlv_sbuf_grow(sb, len))
		return;
	memcpy(sb->s + sb->len, s, len);
	sb->len += len;
	sb->s[sb->len] = '\0';
}

static void tlv_sbuf_addc(struct tlv_sbuf *sb, char c)
{
	tlv_sbuf_add(sb, &c, 1);
}

static void tlv_sbuf_adds(struct tlv_sbuf *sb, const char *s)
{
	tlv_sbuf_add(sb, s, strlen(s));
}

void tlv_sbuf_printf(struct tlv_sbuf *sb, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !tlv_sbuf_grow(sb, n))
		return;
	va_start(ap, fmt);
	vsnprintf(sb->s + sb->len, n + 1, fmt, ap);
	va_end(ap);
	sb->len += n;
}

const char *tlv_sbuf_str(const struct tlv_sbuf *sb)
{
	return sb->s ? sb->s : "";
}

/* Escaping */

/*
 * The length of the well-formed UTF-8 sequence at s (Unicode table
 * 3-7: no overlongs, no surrogates, nothing over U+10FFFF), 0 if there
 * is none; its code point in *cp.
 */
static size_t utf8_len(const __u8 *s, size_t n, __u32 *cp)
{
	__u8 c = s[0], lo = 0x80, hi = 0xbf;
	size_t len, i;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		*cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		*cp = c & 0x0f;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		*cp = c & 0x07;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if (s[i] < lo || s[i] > hi)
			return 0;
		lo = 0x80;
		hi = 0xbf;
		*cp = *cp << 6 | (s[i] & 0x3f);
	}
	return len;
}

/*
 * The one table of both escapers (tlv.h): the characters that are
 * escaped, first match first.  A letter is a two-character escape (a
 * backslash and the letter) in that format; 0 is the numeric escape,
 * \uXXXX in JSON and every byte as \xNN in the line format.
 */
static const struct tlv_esc {
	__u32 lo, hi;		/* code points */
	char json, text;	/* the letter after the backslash, or 0 */
} tlv_esc_table[] = {
	{ '"', '"', '"', '"' },
	{ '\\', '\\', '\\', '\\' },
	{ '\b', '\b', 'b', 0 },
	{ '\t', '\t', 't', 't' },
	{ '\n', '\n', 'n', 'n' },
	{ '\f', '\f', 'f', 0 },
	{ '\r', '\r', 'r', 'r' },
	{ 0x0000, 0x001f, 0, 0 },	/* the other C0 controls */
	{ 0x007f, 0x009f, 0, 0 },	/* DEL, the C1 controls */
	{ 0x061c, 0x061c, 0, 0 },	/* ARABIC LETTER MARK */
	{ 0x200e, 0x200f, 0, 0 },	/* LEFT-TO-RIGHT, RIGHT-TO-LEFT MARK */
	{ 0x2028, 0x2029, 0, 0 },	/* LINE, PARAGRAPH SEPARATOR */
	{ 0x202a, 0x202e, 0, 0 },	/* bidi embeddings and overrides */
	{ 0x2066, 0x2069, 0, 0 },	/* bidi isolates */
};

static const struct tlv_esc *tlv_esc_find(__u32 cp)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(tlv_esc_table); i++)
		if (cp >= tlv_esc_table[i].lo && cp <= tlv_esc_table[i].hi)
			return &tlv_esc_table[i];
	return NULL;
}

static void tlv_escape(struct tlv_sbuf *sb, const void *str, size_t len,
		       bool json)
{
	const __u8 *s = str;
	size_t i = 0, keep = 0, n, k;	/* s[keep..i) goes out as is */

	while (i < len) {
		const struct tlv_esc *e = NULL;
		char letter;
		__u32 cp;

		n = utf8_len(s + i, len - i, &cp);
		if (n) {
			e = tlv_esc_find(cp);
			if (!e) {
				i += n;
				continue;
			}
		}
		tlv_sbuf_add(sb, (const char *)s + keep, i - keep);
		if (!n) {
			/* One byte of invalid UTF-8. */
			tlv_sbuf_printf(sb, json ? "\\u%04x" : "\\x%02x", s[i]);
			n = 1;
		} else {
			letter = json ? e->json : e->text;
			if (letter)
				tlv_sbuf_printf(sb, "\\%c", letter);
			else if (json)
				tlv_sbuf_printf(sb, "\\u%04x", cp);
			else
				for (k = 0; k < n; k++)
					tlv_sbuf_printf(sb, "\\x%02x",
							s[i + k]);
		}
		i += n;
		keep = i;
	}
	tlv_sbuf_add(sb, (const char *)s + keep, i - keep);
}

void tlv_json_escape(struct tlv_sbuf *sb, const void *str, size_t len)
{
	tlv_escape(sb, str, len, true);
}

void tlv_text_escape(struct tlv_sbuf *sb, const void *str, size_t len)
{
	tlv_escape(sb, str, len, false);
}

/* Formats */

static void tlv_add_hex(struct tlv_sbuf *sb, const __u8 *p, __u32 len)
{
	__u32 i, n = len < TLV_HEX_MAX ? len : TLV_HEX_MAX;

	for (i = 0; i < n; i++)
		tlv_sbuf_printf(sb, "%02x", p[i]);
}

/* SNRQ / SNRP name: up to the first NUL, at most 64 bytes. */
static size_t tlv_snr_name_len(const __u8 *name)
{
	const __u8 *nul = memchr(name, '\0', TLV_SNR_NAME_LEN);

	return nul ? (size_t)(nul - name) : TLV_SNR_NAME_LEN;
}

/* The type as the first word of a line or a diagnostic. */
static void tlv_text_type(struct tlv_sbuf *sb, __u32 type)
{
	const char *name = tlv_type_name(type);
	char chars[4];

	if (name) {
		tlv_sbuf_adds(sb, name);
		return;
	}
	tlv_sbuf_printf(sb, "0x%08x", type);
	if (tlv_type_printable(type)) {
		tlv_type_chars(type, chars);
		tlv_sbuf_adds(sb, "(\"");
		tlv_text_escape(sb, chars, 4);
		tlv_sbuf_adds(sb, "\")");
	}
}

/* " key=" in the line format, ",\"key\":" in JSON. */
static void tlv_add_key(struct tlv_sbuf *sb, bool json, const char *key)
{
	tlv_sbuf_printf(sb, json ? ",\"%s\":" : " %s=", key);
}

/* key="text", escaped for the format. */
static void tlv_add_str(struct tlv_sbuf *sb, bool json, const char *key,
			const void *str, size_t len)
{
	tlv_add_key(sb, json, key);
	tlv_sbuf_addc(sb, '"');
	tlv_escape(sb, str, len, json);
	tlv_sbuf_addc(sb, '"');
}

/*
 * The fields of a payload of the right size, the same in both formats;
 * false for a type shown as hex (opaque or unknown).
 */
static bool tlv_add_fields(struct tlv_sbuf *sb, const struct tlv_frame *f,
			   bool json)
{
	const __u8 *p = f->payload;

	switch (f->type) {
	case TLV_EXIT:
		tlv_add_key(sb, json, "code");
		tlv_sbuf_printf(sb, "%d", (__s32)get_le32(p));
		return true;
	case TLV_LIFE:
		tlv_add_key(sb, json, "phase");
		tlv_sbuf_printf(sb, "%u", p[0]);
		tlv_add_str(sb, json, "reason", p + 1, f->length - 1);
		return true;
	case TLV_SOUT:
	case TLV_SERR:
	case TLV_DMSG:
		tlv_add_str(sb, json, "text", p, f->length);
		return true;
	case TLV_SRDY:
	case TLV_SCST:
		return true;
	case TLV_SCEN:
		tlv_add_key(sb, json, "elapsed_ms");
		tlv_sbuf_printf(sb, "%llu", (unsigned long long)get_le64(p));
		return true;
	case TLV_SNRQ:
	case TLV_SNRP:
		tlv_add_key(sb, json, "id");
		tlv_sbuf_printf(sb, "%u", get_le32(p));
		tlv_add_key(sb, json, f->type == TLV_SNRQ ? "kind" : "status");
		tlv_sbuf_printf(sb, "%u", get_le32(p + 4));
		tlv_add_str(sb, json, "name", p + 8, tlv_snr_name_len(p + 8));
		return true;
	default:
		return false;
	}
}

void tlv_format_text(struct tlv_sbuf *sb, const struct tlv_frame *f)
{
	tlv_text_type(sb, f->type);
	tlv_sbuf_printf(sb, " len=%u crc=%s", f->length,
			tlv_frame_crc_ok(f) ? "ok" : "bad");
	if (!tlv_length_ok(f->type, f->length)) {
		tlv_sbuf_adds(sb, " malformed");
	} else if (tlv_add_fields(sb, f, false)) {
		tlv_sbuf_addc(sb, '\n');
		return;
	}
	tlv_sbuf_adds(sb, " hex=");
	tlv_add_hex(sb, f->payload, f->length);
	if (f->length > TLV_HEX_MAX)
		tlv_sbuf_adds(sb, "...");
	tlv_sbuf_addc(sb, '\n');
}

/*
 * "type":NAME for a known type, else its four characters (printable
 * ASCII) or its hex, and "type_hex".
 */
static void tlv_json_type(struct tlv_sbuf *sb, __u32 type)
{
	const char *name = tlv_type_name(type);
	char chars[4];

	tlv_sbuf_adds(sb, "\"type\":\"");
	if (name) {
		tlv_sbuf_adds(sb, name);
		tlv_sbuf_addc(sb, '"');
		return;
	}
	if (tlv_type_printable(type)) {
		tlv_type_chars(type, chars);
		tlv_json_escape(sb, chars, 4);
	} else {
		tlv_sbuf_printf(sb, "0x%08x", type);
	}
	tlv_sbuf_printf(sb, "\",\"type_hex\":\"0x%08x\"", type);
}

void tlv_format_json(struct tlv_sbuf *sb, const struct tlv_frame *f)
{
	tlv_sbuf_addc(sb, '{');
	tlv_json_type(sb, f->type);
	tlv_sbuf_printf(sb, ",\"offset\":%llu,\"length\":%u,\"crc_ok\":%s",
			(unsigned long long)f->offset, f->length,
			tlv_frame_crc_ok(f) ? "true" : "false");
	if (!tlv_length_ok(f->type, f->length)) {
		tlv_sbuf_adds(sb, ",\"malformed\":true");
	} else if (tlv_add_fields(sb, f, true)) {
		tlv_sbuf_adds(sb, "}\n");
		return;
	}
	tlv_sbuf_adds(sb, ",\"payload_hex\":\"");
	tlv_add_hex(sb, f->payload, f->length);
	tlv_sbuf_printf(sb, "\",\"payload_truncated\":%s}\n",
			f->length > TLV_HEX_MAX ? "true" : "false");
}

static const char *const tlv_error_names[] = {
	[TLV_ERR_CRC] = "bad_crc",
	[TLV_ERR_MALFORMED] = "malformed",
	[TLV_ERR_LENGTH] = "bad_length",
	[TLV_ERR_PAD] = "bad_pad",
	[TLV_ERR_SKIPPED] = "skipped",
	[TLV_ERR_TRUNC_HEADER] = "truncated_header",
	[TLV_ERR_TRUNC_PAYLOAD] = "truncated_payload",
	[TLV_ERR_READ] = "read",
};

const char *tlv_error_name(enum tlv_error_kind kind)
{
	if ((size_t)kind < ARRAY_SIZE(tlv_error_names) &&
	    tlv_error_names[kind])
		return tlv_error_names[kind];
	return "unknown";
}

/* What went wrong, without the offset and the newline. */
static void tlv_error_message(struct tlv_sbuf *sb, const struct tlv_error *e)
{
	unsigned long long off = e->offset, count = e->count;

	switch (e->kind) {
	case TLV_ERR_CRC:
		tlv_text_type(sb, e->type);
		tlv_sbuf_printf(sb, " frame: bad crc32 0x%08x, payload has 0x%08x",
				e->crc, e->crc_calc);
		break;
	case TLV_ERR_MALFORMED:
		tlv_text_type(sb, e->type);
		tlv_sbuf_printf(sb, " frame: payload of %u bytes, want %s",
				e->length, tlv_length_want(e->type));
		break;
	case TLV_ERR_LENGTH:
	case TLV_ERR_PAD:
		tlv_sbuf_adds(sb, "bad header (type ");
		tlv_text_type(sb, e->type);
		if (e->kind == TLV_ERR_LENGTH)
			tlv_sbuf_printf(sb, "): length %u over %u",
					e->length, TLV_MAX_PAYLOAD);
		else
			tlv_sbuf_printf(sb, "): pad 0x%08x not 0", e->pad);
		tlv_sbuf_adds(sb, ", resyncing");
		break;
	case TLV_ERR_SKIPPED:
		if (e->at_eof)
			tlv_sbuf_printf(sb,
					"end of stream while resyncing: %llu bytes skipped, no frame found",
					count);
		else
			tlv_sbuf_printf(sb,
					"resynced: skipped %llu bytes, next frame at offset %llu",
					count, off + count);
		break;
	case TLV_ERR_TRUNC_HEADER:
		tlv_sbuf_printf(sb,
				"truncated header: end of stream after %llu of %d bytes",
				count, TLV_HDR_LEN);
		break;
	case TLV_ERR_TRUNC_PAYLOAD:
		tlv_sbuf_adds(sb, "truncated ");
		tlv_text_type(sb, e->type);
		tlv_sbuf_printf(sb,
				" frame: end of stream after %llu of %u payload bytes",
				count, e->length);
		break;
	case TLV_ERR_READ:
		tlv_sbuf_printf(sb, "read error, the stream ends here: %s",
				strerror(e->err));
		break;
	}
}

void tlv_format_error(struct tlv_sbuf *sb, const struct tlv_error *e)
{
	tlv_sbuf_printf(sb, "offset %llu: ", (unsigned long long)e->offset);
	tlv_error_message(sb, e);
	tlv_sbuf_addc(sb, '\n');
}

void tlv_format_error_text(struct tlv_sbuf *sb, const struct tlv_error *e)
{
	tlv_sbuf_adds(sb, "ERROR ");
	tlv_format_error(sb, e);
}

/* The header's type and length, for the errors that have a header. */
static void tlv_error_json_header(struct tlv_sbuf *sb,
				  const struct tlv_error *e)
{
	switch (e->kind) {
	case TLV_ERR_CRC:
	case TLV_ERR_MALFORMED:
	case TLV_ERR_LENGTH:
	case TLV_ERR_PAD:
	case TLV_ERR_TRUNC_PAYLOAD:
		tlv_sbuf_addc(sb, ',');
		tlv_json_type(sb, e->type);
		tlv_sbuf_printf(sb, ",\"length\":%u", e->length);
		break;
	default:
		break;
	}
}

/* What only this kind of error has: the CRCs, the pad, a byte count. */
static void tlv_error_json_detail(struct tlv_sbuf *sb,
				  const struct tlv_error *e)
{
	switch (e->kind) {
	case TLV_ERR_CRC:
		tlv_sbuf_printf(sb, ",\"crc\":\"0x%08x\",\"crc_calc\":\"0x%08x\"",
				e->crc, e->crc_calc);
		break;
	case TLV_ERR_PAD:
		tlv_sbuf_printf(sb, ",\"pad\":\"0x%08x\"", e->pad);
		break;
	case TLV_ERR_SKIPPED:
		tlv_sbuf_printf(sb, ",\"bytes\":%llu,\"at_eof\":%s",
				(unsigned long long)e->count,
				e->at_eof ? "true" : "false");
		break;
	case TLV_ERR_TRUNC_HEADER:
	case TLV_ERR_TRUNC_PAYLOAD:
		tlv_sbuf_printf(sb, ",\"bytes\":%llu",
				(unsigned long long)e->count);
		break;
	default:
		break;
	}
}

void tlv_format_error_json(struct tlv_sbuf *sb, const struct tlv_error *e)
{
	struct tlv_sbuf msg = { 0 };

	tlv_sbuf_printf(sb, "{\"error\":\"%s\",\"offset\":%llu",
			tlv_error_name(e->kind), (unsigned long long)e->offset);
	tlv_error_json_header(sb, e);
	tlv_error_json_detail(sb, e);
	tlv_error_message(&msg, e);
	tlv_sbuf_adds(sb, ",\"message\":\"");
	tlv_json_escape(sb, tlv_sbuf_str(&msg), msg.len);
	tlv_sbuf_adds(sb, "\"}\n");
	if (msg.oom)
		sb->oom = true;
	tlv_sbuf_free(&msg);
}
