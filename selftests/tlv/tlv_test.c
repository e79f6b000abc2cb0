// SPDX-License-Identifier: GPL-2.0
/*
 * The TLV stream decoder of ktstr-tlv (userspace-vmm/tlv.c), tested
 * through its library functions: the streaming parser, the CRC, the
 * resync after bad headers, the line and JSON formats, the in-band
 * problems and the exit status; and the command itself
 * (userspace-vmm/ktstr-tlv.c, linked in without its main()), run in a
 * child on a memfd.  No device or other program is needed.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/wait.h>

/* The harness's own signal handler leaves a parameter unused. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "kselftest_harness.h"
#pragma GCC diagnostic pop

#include "tlv.h"

#define MAX_REC		64

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#endif

struct rec_frame {
	__u64 offset;
	__u32 type;
	__u32 length;
	bool crc_ok;
};

/* What the parser called back with, and its counters at the end. */
struct rec {
	struct tlv_sbuf text;	/* every frame in the line format */
	struct tlv_sbuf json;	/* every frame in JSON */
	struct tlv_sbuf diag;	/* every problem, formatted */
	struct tlv_sbuf etext;	/* every problem, as in-band line */
	struct tlv_sbuf ejson;	/* every problem, as in-band JSON */
	unsigned int nframes;
	struct rec_frame frames[MAX_REC];
	unsigned int nerrors;
	struct tlv_error errors[MAX_REC];
	struct tlv_parser p;	/* counters only: the buffer is freed */
};

static void rec_frame(const struct tlv_frame *f, void *arg)
{
	struct rec *r = arg;

	if (r->nframes < MAX_REC) {
		r->frames[r->nframes].offset = f->offset;
		r->frames[r->nframes].type = f->type;
		r->frames[r->nframes].length = f->length;
		r->frames[r->nframes].crc_ok = tlv_frame_crc_ok(f);
	}
	r->nframes++;
	tlv_format_text(&r->text, f);
	tlv_format_json(&r->json, f);
}

static void rec_error(const struct tlv_error *e, void *arg)
{
	struct rec *r = arg;

	if (r->nerrors < MAX_REC)
		r->errors[r->nerrors] = *e;
	r->nerrors++;
	tlv_format_error(&r->diag, e);
	tlv_format_error_text(&r->etext, e);
	tlv_format_error_json(&r->ejson, e);
}

static void rec_free(struct rec *r)
{
	tlv_sbuf_free(&r->text);
	tlv_sbuf_free(&r->json);
	tlv_sbuf_free(&r->diag);
	tlv_sbuf_free(&r->etext);
	tlv_sbuf_free(&r->ejson);
	memset(r, 0, sizeof(*r));
}

/* Parse a stream fed in chunks of chunk bytes (0: all at once). */
static void __parse(struct __test_metadata *_metadata, struct rec *r,
		    const struct tlv_sbuf *in, size_t chunk)
{
	const char *d = in->s;
	size_t len = in->len;

	rec_free(r);
	ASSERT_EQ(0, tlv_parser_init(&r->p, rec_frame, rec_error, r));
	if (!chunk)
		chunk = len ? len : 1;
	while (len) {
		size_t n = len < chunk ? len : chunk;

		tlv_parser_feed(&r->p, d, n);
		d += n;
		len -= n;
	}
	tlv_parser_finish(&r->p);
	tlv_parser_free(&r->p);
	ASSERT_FALSE(r->text.oom || r->json.oom || r->diag.oom ||
		     r->etext.oom || r->ejson.oom);
}

#define parse(r, in, chunk)	__parse(_metadata, r, in, chunk)

/* A frame with the given header fields, verbatim. */
static void put_raw(struct tlv_sbuf *sb, __u32 type, __u32 length, __u32 crc,
		    __u32 pad, const void *payload, size_t plen)
{
	__u32 h[4] = { type, length, crc, pad };
	unsigned char le[16];
	int i;

	for (i = 0; i < 16; i++)
		le[i] = h[i / 4] >> (8 * (i % 4));
	tlv_sbuf_add(sb, (const char *)le, sizeof(le));
	tlv_sbuf_add(sb, payload, plen);
}

/* A well-formed frame. */
static void put(struct tlv_sbuf *sb, __u32 type, const void *payload,
		size_t len)
{
	put_raw(sb, type, len, tlv_crc32(0, payload, len), 0, payload, len);
}

static void put_exit(struct tlv_sbuf *sb, __s32 code)
{
	__u32 v = code;
	unsigned char le[4] = { v, v >> 8, v >> 16, v >> 24 };

	put(sb, TLV_EXIT, le, 4);
}

static void put_str(struct tlv_sbuf *sb, __u32 type, const char *s)
{
	put(sb, type, s, strlen(s));
}

static void put_snr(struct tlv_sbuf *sb, __u32 type, __u32 id, __u32 kind,
		    const char *name, size_t name_len)
{
	unsigned char p[TLV_SNR_LEN] = {
		id, id >> 8, id >> 16, id >> 24,
		kind, kind >> 8, kind >> 16, kind >> 24,
	};

	memcpy(p + 8, name, name_len);
	put(sb, type, p, sizeof(p));
}

/* The line and JSON formats of one frame given by its payload. */
static void format_one(struct tlv_sbuf *text, struct tlv_sbuf *json,
		       __u32 type, const void *payload, __u32 len, bool good)
{
	struct tlv_frame f = {
		.type = type,
		.length = len,
		.payload = payload,
		.crc_calc = tlv_crc32(0, payload, len),
	};

	f.crc = good ? f.crc_calc : ~f.crc_calc;
	tlv_sbuf_reset(text);
	tlv_sbuf_reset(json);
	tlv_format_text(text, &f);
	tlv_format_json(json, &f);
}

static const char *json_of(struct tlv_sbuf *sb, const void *s, size_t len)
{
	tlv_sbuf_reset(sb);
	tlv_json_escape(sb, s, len);
	return tlv_sbuf_str(sb);
}

static const char *text_of(struct tlv_sbuf *sb, const void *s, size_t len)
{
	tlv_sbuf_reset(sb);
	tlv_text_escape(sb, s, len);
	return tlv_sbuf_str(sb);
}

/* What one run of the command gave. */
struct cli {
	int status;
	struct tlv_sbuf out;	/* stdout */
	struct tlv_sbuf err;	/* stderr */
};

/* Deterministic garbage. */
static void put_noise(struct tlv_sbuf *sb, __u32 seed, size_t len)
{
	__u32 x = seed;

	while (len--) {
		char c;

		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		c = (char)(x >> 24);
		tlv_sbuf_add(sb, &c, 1);
	}
}

FIXTURE(tlv) {
	struct tlv_sbuf in;	/* the stream */
	struct tlv_sbuf a;	/* scratch */
	struct tlv_sbuf b;
	struct rec r;
	struct rec r2;
	struct cli c;
};

FIXTURE_SETUP(tlv)
{
	memset(self, 0, sizeof(*self));
}

FIXTURE_TEARDOWN(tlv)
{
	tlv_sbuf_free(&self->in);
	tlv_sbuf_free(&self->a);
	tlv_sbuf_free(&self->b);
	rec_free(&self->r);
	rec_free(&self->r2);
	tlv_sbuf_free(&self->c.out);
	tlv_sbuf_free(&self->c.err);
}

/* CRC */

TEST_F(tlv, crc32_matches_zlib_check_value)
{
	/* The CRC-32/ISO-HDLC check value, what zlib's crc32() gives. */
	ASSERT_EQ(0xcbf43926, tlv_crc32(0, "123456789", 9));
	ASSERT_EQ(0x414fa339,
		  tlv_crc32(0, "The quick brown fox jumps over the lazy dog", 43));
}

TEST_F(tlv, crc32_of_nothing_is_zero_and_chains_across_calls)
{
	__u32 c;

	ASSERT_EQ(0, tlv_crc32(0, "", 0));
	c = tlv_crc32(0, "1234", 4);
	ASSERT_EQ(0xcbf43926, tlv_crc32(c, "56789", 5));
}

/* Each type */

TEST_F(tlv, exit_frame_decodes_its_code)
{
	put_exit(&self->in, 0);
	put_exit(&self->in, -7);
	parse(&self->r, &self->in, 0);
	ASSERT_EQ(2, self->r.nframes);
	ASSERT_EQ(0, self->r.p.errors);
	ASSERT_STREQ("EXIT len=4 crc=ok code=0\nEXIT len=4 crc=ok code=-7\n",
		     tlv_sbuf_str(&self->r.text));
	ASSERT_STREQ("{"
		     "\"type\":\"EXIT\",\"offset\":0,\"length\":4,\"crc_ok\":true,\"code\":0}\n"
		     "{\"type\":\"EXIT\",\"offset\":20,\"length\":4,\"crc_ok\":true,\"code\":-7}\n",
		     tlv_sbuf_str(&self->r.json));
}

TEST_F(tlv, life_frame_decodes_phase_and_reason)
{
	put(&self->in, TLV_LIFE, "\x03panic: oops", 12);
	put(&self->in, TLV_LIFE, "\x01", 1);
	parse(&self->r, &self->in, 0);
	ASSERT_EQ(2, self->r.nframes);
	ASSERT_STREQ("LIFE len=12 crc=ok phase=3 reason=\"panic: oops\"\n"
		     "LIFE len=1 crc=ok phase=1 reason=\"\"\n",
		     tlv_sbuf_str(&self->r.text));
	ASSERT_STREQ("{"
		     "\"type\":\"LIFE\",\"offset\":0,\"length\":12,\"crc_ok\":true,\"phase\":3,\"reason\":\"panic: oops\"}\n"
		     "{\"type\":\"LIFE\",\"offset\":28,\"length\":1,\"crc_ok\":true,\"phase\":1,\"reason\":\"\"}\n",
		     tlv_sbuf_str(&self->r.json));
}

TEST_F(tlv, sout_serr_dmsg_frames_decode_as_text)
{
	put_str(&self->in, TLV_SOUT, "hello world\n");
	put_str(&self->in, TLV_SERR, "warn\t\"x\"");
	put_str(&self->in, TLV_DMSG, "[    0.000000] Linux");
	parse(&self->r, &self->in, 0);
	ASSERT_EQ(3, self->r.nframes);
	ASSERT_STREQ("SOUT len=12 crc=ok text=\"hello world\\n\"\n"
		     "SERR len=8 crc=ok text=\"warn\\t\\\"x\\\"\"\n"
		     "DMSG len=20 crc=ok text=\"[    0.000000] Linux\"\n",
		     tlv_sbuf_str(&self->r.text));
	ASSERT_STREQ("{"
		     "\"type\":\"SOUT\",\"offset\":0,\"length\":12,\"crc_ok\":true,\"text\":\"hello world\\n\"}\n"
		     "{\"type\":\"SERR\",\"offset\":28,\"length\":8,\"crc_ok\":true,\"text\":\"warn\\t\\\"x\\\"\"}\n"
		     "{\"type\":\"DMSG\",\"offset\":52,\"length\":20,\"crc_ok\":true,\"text\":\"[    0.000000] Linux\"}\n",
		     tlv_sbuf_str(&self->r.json));
}

TEST_F(tlv, srdy_and_scst_are_empty_frames)
{
	put(&self->in, TLV_SRDY, "", 0);
	put(&self->in, TLV_SCST, "", 0);
	parse(&self->r, &self->in, 0);
	ASSERT_EQ(2, self->r.nframes);
	ASSERT_EQ(0, self->r.p.errors);
	ASSERT_STREQ("SRDY len=0 crc=ok\nSCST len=0 crc=ok\n",
		     tlv_sbuf_str(&self->r.text));
	ASSERT_STREQ("{"
		     "\"type\":\"SRDY\",\"offset\":0,\"length\":0,\"crc_ok\":true}\n"
		     "{\"type\":\"SCST\",\"offset\":16,\"length\":0,\"crc_ok\":true}\n",
		     tlv_sbuf_str(&self->r.json));
}

TEST_F(tlv, scen_frame_decodes_u64_elapsed_ms)
{
	/* 0x0000000500000001 = 21474836481: both halves matter. */
	put(&self->in, TLV_SCEN, "\x01\x00\x00\x00\x05\x00\x00\x00", 8);
	parse(&self->r, &self->in, 0);
	ASSERT_EQ(1, self->r.nframes);
	ASSERT_STREQ("SCEN len=8 crc=ok elapsed_ms=21474836481\n",
		     tlv_sbuf_str(&self->r.text));
	ASSERT_STREQ("{"
		     "\"type\":\"SCEN\",\"offset\":0,\"length\":8,\"crc_ok\":true,\"elapsed_ms\":21474836481}\n",
		     tlv_sbuf_str(&self->r.json));
}

TEST_F(tlv, snrq_and_snrp_decode_id_kind_status_and_name)
{
	char full[TLV_SNR_NAME_LEN];

	memset(full, 'n', sizeof(full));
	put_snr(&self->in, TLV_SNRQ, 7, 2, "bpf_map", 7);
	/* A name filling all 64 bytes has no NUL: all 64 are shown. */
	put_snr(&self->in, TLV_SNRP, 0x01020304, 0xffffffff, full, 64);
	parse(&self->r, &self->in, 0);
	ASSERT_EQ(2, self->r.nframes);
	ASSERT_STREQ("SNRQ len=72 crc=ok id=7 kind=2 name=\"bpf_map\"\n"
		     "SNRP len=72 crc=ok id=16909060 status=4294967295 name=\"nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn\"\n",
		     tlv_sbuf_str(&self->r.text));
	ASSERT_STREQ("{"
		     "\"type\":\"SNRQ\",\"offset\":0,\"length\":72,\"crc_ok\":true,\"id\":7,\"kind\":2,\"name\":\"bpf_map\"}\n"
		     "{\"type\":\"SNRP\",\"offset\":88,\"length\":72,\"crc_ok\":true,\"id\":16909060,\"status\":4294967295,\"name\":\"nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn\"}\n",
		     tlv_sbuf_str(&self->r.json));
}

TEST_F(tlv, test_scdx_praw_frames_show_payload_hex)
{
	put(&self->in, TLV_TEST, "\x00\x01\xfe", 3);
	put(&self->in, TLV_SCDX, "", 0);
	put(&self->in, TLV_PRAW, "\xab", 1);
	parse(&self->r, &self->in, 0);
	ASSERT_EQ(3, self->r.nframes);
	ASSERT_STREQ("TEST len=3 crc=ok hex=0001fe\n"
		     "SCDX len=0 crc=ok hex=\n"
		     "PRAW len=1 crc=ok hex=ab\n",
		     tlv_sbuf_str(&self->r.text));
	ASSERT_STREQ("{"
		     "\"type\":\"TEST\",\"offset\":0,\"length\":3,\"crc_ok\":true,\"payload_hex\":\"0001fe\",\"payload_truncated\":false}\n"
		     "{\"type\":\"SCDX\",\"offset\":19,\"length\":0,\"crc_ok\":true,\"payload_hex\":\"\",\"payload_truncated\":false}\n"
		     "{\"type\":\"PRAW\",\"offset\":35,\"length\":1,\"crc_ok\":true,\"payload_hex\":\"ab\",\"payload_truncated\":false}\n",
		     tlv_sbuf_str(&self->r.json));
}

TEST_F(tlv, payload_hex_stops_after_64_bytes_and_says_so)
{
	unsigned char p[65];
	char hex[2 * 64 + 1];
	char want[512];
	int i;

	for (i = 0; i < 65; i++)
		p[i] = i;
	for (i = 0; i < 64; i++)
		sprintf(hex + 2 * i, "%02x", i);

	format_one(&self->a, &self->b, TLV_PRAW, p, 64, true);
	snprintf(want, sizeof(want), "PRAW len=64 crc=ok hex=%s\n", hex);
	ASSERT_STREQ(want, tlv_sbuf_str(&self->a));

	format_one(&self->a, &self->b, TLV_PRAW, p, 65, true);
	snprintf(want, sizeof(want), "PRAW len=65 crc=ok hex=%s...\n", hex);
	ASSERT_STREQ(want, tlv_sbuf_str(&self->a));
	snprintf(want, sizeof(want),
		 "{\"type\":\"PRAW\",\"offset\":0,\"length\":65,\"crc_ok\":true,\"payload_hex\":\"%s\",\"payload_truncated\":true}\n",
		 hex);
	ASSERT_STREQ(want, tlv_sbuf_str(&self->b));
}

TEST_F(tlv, unknown_printable_type_shows_its_chars_and_hex)
{
	put(&self->in, TLV_TYPE('A', 'B', '"', 'D'), "\x01\x02", 2);
	parse(&self->r, &self->in, 0);
	ASSERT_EQ(1, self->r.nframes);
	ASSERT_EQ(0, self->r.p.errors);
	ASSERT_STREQ("0x41422244(\"AB\\\"D\") len=2 crc=ok hex=0102\n",
		     tlv_sbuf_str(&self->r.text));
	ASSERT_STREQ("{"
		     "\"type\":\"AB\\\"D\",\"type_hex\":\"0x41422244\",\"offset\":0,\"length\":2,\"crc_ok\":true,\"payload_hex\":\"0102\",\"payload_truncated\":false}\n",
		     tlv_sbuf_str(&self->r.json));
}

TEST_F(tlv, unknown_unprintable_type_shows_hex_only)
{
	put(&self->in, 0x0100ff7f, "x", 1);
	parse(&self->r, &self->in, 0);
	ASSERT_EQ(1, self->r.nframes);
	ASSERT_STREQ("0x0100ff7f len=1 crc=ok hex=78\n",
		     tlv_sbuf_str(&self->r.text));
	ASSERT_STREQ("{"
		     "\"type\":\"0x0100ff7f\",\"type_hex\":\"0x0100ff7f\",\"offset\":0,\"length\":1,\"crc_ok\":true,\"payload_hex\":\"78\",\"payload_truncated\":false}\n",
		     tlv_sbuf_str(&self->r.json));
}

TEST_F(tlv, payload_of_wrong_size_for_its_type_is_reported_and_shown_as_hex)
{
	put(&self->in, TLV_EXIT, "\x05\x00\x00", 3);
	put(&self->in, TLV_LIFE, "", 0);
	put(&self->in, TLV_SRDY, "x", 1);
	put(&self->in, TLV_SCEN, "\x01", 1);
	put(&self->in, TLV_SNRQ, "abc", 3);
	put_exit(&self->in, 9);
	parse(&self->r, &self->in, 0);
	ASSERT_EQ(6, self->r.nframes);
	ASSERT_EQ(5, self->r.p.malformed);
	ASSERT_EQ(5, self->r.p.errors);
	ASSERT_EQ(TLV_ERR_MALFORMED, self->r.errors[0].kind);
	ASSERT_STREQ("EXIT len=3 crc=ok malformed hex=050000\n"
		     "LIFE len=0 crc=ok malformed hex=\n"
		     "SRDY len=1 crc=ok malformed hex=78\n"
		     "SCEN len=1 crc=ok malformed hex=01\n"
		     "SNRQ len=3 crc=ok malformed hex=616263\n"
		     "EXIT len=4 crc=ok code=9\n",
		     tlv_sbuf_str(&self->r.text));
	ASSERT_STREQ("{"
		     "\"type\":\"EXIT\",\"offset\":0,\"length\":3,\"crc_ok\":true,\"malformed\":true,\"payload_hex\":\"050000\",\"payload_truncated\":false}\n"
		     "{\"type\":\"LIFE\",\"offset\":19,\"length\":0,\"crc_ok\":true,\"malformed\":true,\"payload_hex\":\"\",\"payload_truncated\":false}\n"
		     "{\"type\":\"SRDY\",\"offset\":35,\"length\":1,\"crc_ok\":true,\"malformed\":true,\"payload_hex\":\"78\",\"payload_truncated\":false}\n"
		     "{\"type\":\"SCEN\",\"offset\":52,\"length\":1,\"crc_ok\":true,\"malformed\":true,\"payload_hex\":\"01\",\"payload_truncated\":false}\n"
		     "{\"type\":\"SNRQ\",\"offset\":69,\"length\":3,\"crc_ok\":true,\"malformed\":true,\"payload_hex\":\"616263\",\"payload_truncated\":false}\n"
		     "{\"type\":\"EXIT\",\"offset\":88,\"length\":4,\"crc_ok\":true,\"code\":9}\n",
		     tlv_sbuf_str(&self->r.json));
	ASSERT_NE(NULL, strstr(tlv_sbuf_str(&self->r.diag),
			       "offset 0: EXIT frame: payload of 3 bytes, want 4\n"));
	/* The malformed EXIT does not count; the good one does. */
	ASSERT_EQ(9, tlv_exit_status(&self->r.p, TLV_ST_EXIT_CODE));
}

/* CRC in the stream */

TEST_F(tlv, good_crc_frames_report_no_error)
{
	put_str(&self->in, TLV_SOUT, "a");
	put_exit(&self->in, 0);
	parse(&self->r, &self->in, 0);
	ASSERT_EQ(2, self->r.nframes);
	ASSERT_TRUE(self->r.frames[0].crc_ok);
	ASSERT_TRUE(self->r.frames[1].crc_ok);
	ASSERT_EQ(0, self->r.nerrors);
	ASSERT_STREQ("", tlv_sbuf_str(&self->r.diag));
	ASSERT_EQ(0, tlv_exit_status(&self->r.p, 0));
}

TEST_F(tlv, bad_crc_frame_is_reported_still_delivered_and_parsing_goes_on)
{
	put_raw(&self->in, TLV_SOUT, 3, 0xdeadbeef, 0, "abc", 3);
	put_str(&self->in, TLV_SOUT, "next");
	parse(&self->r, &self->in, 0);
	ASSERT_EQ(2, self->r.nframes);
	ASSERT_FALSE(self->r.frames[0].crc_ok);
	ASSERT_TRUE(self->r.frames[1].crc_ok);
	ASSERT_EQ(1, self->r.p.crc_errors);
	ASSERT_EQ(1, self->r.nerrors);
	ASSERT_EQ(TLV_ERR_CRC, self->r.errors[0].kind);
	ASSERT_EQ(0xdeadbeef, self->r.errors[0].crc);
	ASSERT_EQ(tlv_crc32(0, "abc", 3), self->r.errors[0].crc_calc);
	ASSERT_STREQ("SOUT len=3 crc=bad text=\"abc\"\n"
		     "SOUT len=4 crc=ok text=\"next\"\n",
		     tlv_sbuf_str(&self->r.text));
	ASSERT_STREQ("{"
		     "\"type\":\"SOUT\",\"offset\":0,\"length\":3,\"crc_ok\":false,\"text\":\"abc\"}\n"
		     "{\"type\":\"SOUT\",\"offset\":19,\"length\":4,\"crc_ok\":true,\"text\":\"next\"}\n",
		     tlv_sbuf_str(&self->r.json));
	ASSERT_STREQ("offset 0: SOUT frame: bad crc32 0xdeadbeef, payload has 0x352441c2\n",
		     tlv_sbuf_str(&self->r.diag));
	ASSERT_EQ(1, tlv_exit_status(&self->r.p, 0));
}

/* Resync */

TEST_F(tlv, oversized_length_resyncs_to_the_next_good_frame)
{
	put_str(&self->in, TLV_SOUT, "before");
	put_raw(&self->in, TLV_SOUT, TLV_MAX_PAYLOAD + 1, 0, 0, "xyz", 3);
	put_str(&self->in, TLV_SOUT, "after");
	parse(&self->r, &self->in, 0);
	ASSERT_EQ(2, self->r.nframes);
	ASSERT_STREQ("SOUT len=6 crc=ok text=\"before\"\n"
		     "SOUT len=5 crc=ok text=\"after\"\n",
		     tlv_sbuf_str(&self->r.text));
	ASSERT_EQ(1, self->r.p.resyncs);
	ASSERT_EQ(19, self->r.p.skipped);
	ASSERT_EQ(1, self->r.p.errors);
	ASSERT_EQ(2, self->r.nerrors);
	ASSERT_EQ(TLV_ERR_LENGTH, self->r.errors[0].kind);
	ASSERT_EQ(TLV_MAX_PAYLOAD + 1, self->r.errors[0].length);
	ASSERT_EQ(TLV_ERR_SKIPPED, self->r.errors[1].kind);
	ASSERT_EQ(19, self->r.errors[1].count);
	ASSERT_EQ(22 + 19, self->r.frames[1].offset);
	ASSERT_STREQ("offset 22: bad header (type SOUT): length 262145 over 262144, resyncing\n"
		     "offset 22: resynced: skipped 19 bytes, next frame at offset 41\n",
		     tlv_sbuf_str(&self->r.diag));
}

TEST_F(tlv, nonzero_pad_resyncs_to_the_next_good_frame)
{
	put_raw(&self->in, TLV_SOUT, 2, tlv_crc32(0, "hi", 2), 1, "hi", 2);
	put_exit(&self->in, 4);
	parse(&self->r, &self->in, 0);
	ASSERT_EQ(1, self->r.nframes);
	ASSERT_EQ(TLV_EXIT, self->r.frames[0].type);
	ASSERT_EQ(18, self->r.frames[0].offset);
	ASSERT_EQ(TLV_ERR_PAD, self->r.errors[0].kind);
	ASSERT_EQ(1, self->r.errors[0].pad);
	ASSERT_EQ(18, self->r.p.skipped);
	ASSERT_EQ(4, tlv_exit_status(&self->r.p, TLV_ST_EXIT_CODE));
	ASSERT_EQ(1, tlv_exit_status(&self->r.p, 0));
}

TEST_F(tlv, resync_candidate_needs_known_type_pad_zero_and_a_length_fitting_the_type)
{
	ASSERT_TRUE(tlv_resync_candidate(TLV_SOUT, 0, 0));
	ASSERT_TRUE(tlv_resync_candidate(TLV_SOUT, TLV_MAX_PAYLOAD, 0));
	ASSERT_TRUE(tlv_resync_candidate(TLV_EXIT, 4, 0));
	ASSERT_TRUE(tlv_resync_candidate(TLV_SNRP, TLV_SNR_LEN, 0));
	ASSERT_FALSE(tlv_resync_candidate(TLV_SOUT, TLV_MAX_PAYLOAD + 1, 0));
	ASSERT_FALSE(tlv_resync_candidate(TLV_SOUT, 1, 1));
	ASSERT_FALSE(tlv_resync_candidate(TLV_EXIT, 5, 0));
	ASSERT_FALSE(tlv_resync_candidate(TLV_SRDY, 1, 0));
	ASSERT_FALSE(tlv_resync_candidate(TLV_TYPE('A', 'B', 'C', 'D'), 0, 0));
	ASSERT_FALSE(tlv_resync_candidate(0, 0, 0));
}

TEST_F(tlv, resync_passes_over_unknown_types_and_implausible_known_headers)
{
	put_raw(&self->in, TLV_DMSG, 0, 0, 0xffffffff, "", 0);
	/* In sync these would be frames; while resyncing they are not. */
	put(&self->in, TLV_TYPE('N', 'E', 'W', '1'), "", 0);
	put(&self->in, TLV_EXIT, "\x01\x02\x03", 3);
	put(&self->in, TLV_SRDY, "", 0);
	put(&self->in, TLV_TYPE('N', 'E', 'W', '1'), "", 0);
	parse(&self->r, &self->in, 0);
	ASSERT_EQ(2, self->r.nframes);
	ASSERT_STREQ("SRDY len=0 crc=ok\n"
		     "0x4e455731(\"NEW1\") len=0 crc=ok hex=\n",
		     tlv_sbuf_str(&self->r.text));
	ASSERT_EQ(16 + 16 + 19, self->r.p.skipped);
}

TEST_F(tlv, resync_reaching_eof_reports_the_skipped_bytes_and_no_frame)
{
	put_raw(&self->in, TLV_SOUT, 0x7fffffff, 0, 0, "tail bytes", 10);
	parse(&self->r, &self->in, 0);
	ASSERT_EQ(0, self->r.nframes);
	ASSERT_EQ(26, self->r.p.skipped);
	ASSERT_EQ(0, self->r.p.truncated);
	ASSERT_EQ(2, self->r.nerrors);
	ASSERT_EQ(TLV_ERR_SKIPPED, self->r.errors[1].kind);
	ASSERT_TRUE(self->r.errors[1].at_eof);
	ASSERT_STREQ("offset 0: bad header (type SOUT): length 2147483647 over 262144, resyncing\n"
		     "offset 0: end of stream while resyncing: 26 bytes skipped, no frame found\n",
		     tlv_sbuf_str(&self->r.diag));
	ASSERT_EQ(1, tlv_exit_status(&self->r.p, 0));
}

TEST_F(tlv, largest_payload_is_accepted_and_one_byte_more_resyncs)
{
	char *big = calloc(1, TLV_MAX_PAYLOAD + 1);

	ASSERT_NE(NULL, big);
	memset(big, 'z', TLV_MAX_PAYLOAD + 1);
	put(&self->in, TLV_PRAW, big, TLV_MAX_PAYLOAD);
	put(&self->in, TLV_PRAW, big, TLV_MAX_PAYLOAD + 1);
	put_exit(&self->in, 1);
	free(big);
	parse(&self->r, &self->in, 0);
	ASSERT_EQ(2, self->r.nframes);
	ASSERT_EQ(TLV_MAX_PAYLOAD, self->r.frames[0].length);
	ASSERT_TRUE(self->r.frames[0].crc_ok);
	ASSERT_EQ(TLV_EXIT, self->r.frames[1].type);
	ASSERT_EQ(1, self->r.p.resyncs);
	ASSERT_EQ(TLV_HDR_LEN + TLV_MAX_PAYLOAD + 1, self->r.p.skipped);
}

/* Truncation, empty and garbage input */

TEST_F(tlv, truncated_header_is_reported_after_the_frames_before_it)
{
	put_str(&self->in, TLV_SOUT, "ok");
	put_exit(&self->in, 0);
	self->in.len -= 20 - 5;	/* 5 bytes of the EXIT header are left */
	parse(&self->r, &self->in, 0);
	ASSERT_EQ(1, self->r.nframes);
	ASSERT_EQ(1, self->r.p.frames);
	ASSERT_EQ(1, self->r.p.truncated);
	ASSERT_EQ(1, self->r.nerrors);
	ASSERT_EQ(TLV_ERR_TRUNC_HEADER, self->r.errors[0].kind);
	ASSERT_EQ(5, self->r.errors[0].count);
	ASSERT_STREQ("offset 18: truncated header: end of stream after 5 of 16 bytes\n",
		     tlv_sbuf_str(&self->r.diag));
	ASSERT_EQ(1, tlv_exit_status(&self->r.p, 0));
	ASSERT_EQ(TLV_STATUS_DAMAGED,
		  tlv_exit_status(&self->r.p, TLV_ST_EXIT_CODE));
}

TEST_F(tlv, truncated_payload_is_reported_after_the_frames_before_it)
{
	put_exit(&self->in, 3);
	put_str(&self->in, TLV_SOUT, "0123456789");
	self->in.len -= 4;
	parse(&self->r, &self->in, 0);
	ASSERT_EQ(1, self->r.nframes);
	ASSERT_EQ(TLV_EXIT, self->r.frames[0].type);
	ASSERT_EQ(TLV_ERR_TRUNC_PAYLOAD, self->r.errors[0].kind);
	ASSERT_EQ(6, self->r.errors[0].count);
	ASSERT_EQ(10, self->r.errors[0].length);
	ASSERT_STREQ("offset 20: truncated SOUT frame: end of stream after 6 of 10 payload bytes\n",
		     tlv_sbuf_str(&self->r.diag));
	/* Frames before the tail still count for the exit code. */
	ASSERT_EQ(3, tlv_exit_status(&self->r.p, TLV_ST_EXIT_CODE));
	ASSERT_EQ(1, tlv_exit_status(&self->r.p, 0));
}

TEST_F(tlv, empty_input_gives_no_frame_and_no_error)
{
	parse(&self->r, &self->in, 0);
	ASSERT_EQ(0, self->r.nframes);
	ASSERT_EQ(0, self->r.nerrors);
	ASSERT_EQ(0, tlv_exit_status(&self->r.p, 0));
	ASSERT_EQ(TLV_STATUS_NO_EXIT,
		  tlv_exit_status(&self->r.p, TLV_ST_EXIT_CODE));
}

TEST_F(tlv, garbage_only_input_gives_no_frame_and_no_crash)
{
	static const char text[] =
		"this is a console log, not a TLV stream\r\n\x1b[0m";
	size_t chunks[] = { 0, 1, 7, 4096 };
	unsigned int i;

	put_noise(&self->in, 0x12345678, 1 << 20);
	for (i = 0; i < 200; i++)
		tlv_sbuf_add(&self->in, text, sizeof(text) - 1);
	tlv_sbuf_add(&self->in, "\xff\xff\xff\xff\xff\xff\xff\xff", 8);
	for (i = 0; i < ARRAY_SIZE(chunks); i++) {
		parse(&self->r, &self->in, chunks[i]);
		ASSERT_EQ(0, self->r.nframes) {
			TH_LOG("chunk %zu: frames found in garbage", chunks[i]);
		}
		ASSERT_EQ(self->in.len, self->r.p.skipped);
		ASSERT_EQ(1, self->r.p.resyncs);
		ASSERT_EQ(TLV_STATUS_DAMAGED,
			  tlv_exit_status(&self->r.p, TLV_ST_EXIT_CODE));
		ASSERT_EQ(1, tlv_exit_status(&self->r.p, 0));
	}
}

TEST_F(tlv, zero_bytes_in_sync_decode_as_empty_type_0_frames)
{
	/* Documented: type 0, length 0, crc 0 (of nothing), pad 0. */
	tlv_sbuf_add(&self->in, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 16);
	parse(&self->r, &self->in, 0);
	ASSERT_EQ(1, self->r.nframes);
	ASSERT_EQ(0, self->r.p.errors);
	ASSERT_STREQ("0x00000000 len=0 crc=ok hex=\n",
		     tlv_sbuf_str(&self->r.text));
}

/* Read boundaries */

TEST_F(tlv, any_read_size_down_to_one_byte_gives_the_same_output)
{
	size_t chunk;

	put(&self->in, TLV_LIFE, "\x01up", 3);
	put_str(&self->in, TLV_SOUT, "stream");
	put_raw(&self->in, TLV_SERR, 1, 1, 0, "e", 1);
	put_raw(&self->in, TLV_SOUT, TLV_MAX_PAYLOAD * 2, 0, 0, "", 0);
	put_noise(&self->in, 7, 33);
	put_snr(&self->in, TLV_SNRQ, 1, 2, "n", 1);
	put(&self->in, TLV_SCEN, "\x10\x27\0\0\0\0\0\0", 8);
	put_exit(&self->in, 42);
	put_str(&self->in, TLV_DMSG, "cut");
	self->in.len -= 1;

	parse(&self->r2, &self->in, 0);
	ASSERT_EQ(6, self->r2.nframes);
	for (chunk = 1; chunk <= 40; chunk++) {
		parse(&self->r, &self->in, chunk);
		ASSERT_STREQ(tlv_sbuf_str(&self->r2.text),
			     tlv_sbuf_str(&self->r.text)) {
			TH_LOG("frames differ with %zu-byte reads", chunk);
		}
		ASSERT_STREQ(tlv_sbuf_str(&self->r2.json),
			     tlv_sbuf_str(&self->r.json));
		ASSERT_STREQ(tlv_sbuf_str(&self->r2.diag),
			     tlv_sbuf_str(&self->r.diag)) {
			TH_LOG("problems differ with %zu-byte reads", chunk);
		}
		ASSERT_EQ(42, tlv_exit_status(&self->r.p, TLV_ST_EXIT_CODE));
	}
}

TEST_F(tlv, frame_is_delivered_as_soon_as_its_last_byte_arrives)
{
	struct tlv_parser p;
	size_t i;

	put_str(&self->in, TLV_SOUT, "live");
	put_exit(&self->in, 0);
	ASSERT_EQ(0, tlv_parser_init(&p, rec_frame, rec_error, &self->r));
	for (i = 0; i < self->in.len; i++) {
		tlv_parser_feed(&p, self->in.s + i, 1);
		/* "live" ends at byte 19, the EXIT frame at byte 39. */
		ASSERT_EQ(i < 19 ? 0 : i < 39 ? 1 : 2, self->r.nframes) {
			TH_LOG("after byte %zu", i);
		}
	}
	ASSERT_EQ(2, self->r.nframes);
	tlv_parser_finish(&p);
	ASSERT_EQ(0, self->r.nerrors);
	tlv_parser_free(&p);
}

TEST_F(tlv, large_frames_crossing_the_buffer_end_stay_intact)
{
	size_t sizes[] = { 200000, 262144, 1, 150000, 262144, 0, 99999 };
	size_t chunks[] = { 0, 4096, 65536, 100003 };
	unsigned int i, n = ARRAY_SIZE(sizes);
	char *p = malloc(TLV_MAX_PAYLOAD);

	ASSERT_NE(NULL, p);
	for (i = 0; i < TLV_MAX_PAYLOAD; i++)
		p[i] = (char)(i * 31 + 7);
	for (i = 0; i < n; i++)
		put(&self->in, TLV_PRAW, p, sizes[i]);
	free(p);
	for (i = 0; i < ARRAY_SIZE(chunks); i++) {
		unsigned int j;

		parse(&self->r, &self->in, chunks[i]);
		ASSERT_EQ(n, self->r.nframes);
		ASSERT_EQ(0, self->r.nerrors) {
			TH_LOG("chunk %zu: %s", chunks[i],
			       tlv_sbuf_str(&self->r.diag));
		}
		for (j = 0; j < n; j++)
			ASSERT_TRUE(self->r.frames[j].crc_ok);
	}
}

/* Escaping */

TEST_F(tlv, json_escapes_quote_backslash_and_control_chars)
{
	ASSERT_STREQ("a\\\"b\\\\c\\\\/d", json_of(&self->a, "a\"b\\c\\/d", 8));
	ASSERT_STREQ("\\b\\f\\n\\r\\t", json_of(&self->a, "\b\f\n\r\t", 5));
	ASSERT_STREQ("\\u0000\\u0001\\u001b\\u001f\\u007f x",
		     json_of(&self->a, "\0\x01\x1b\x1f\x7f x", 7));
}

TEST_F(tlv, json_keeps_valid_utf8_and_escapes_each_invalid_byte_as_u00xx)
{
	/* Valid: 2, 3 and 4-byte sequences, U+00A0 and U+10FFFF. */
	ASSERT_STREQ("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xc2\xa0\xf4\x8f\xbf\xbf",
		     json_of(&self->a, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"
			     "\xc2\xa0\xf4\x8f\xbf\xbf", 15));
	/* Stray continuation byte, bytes that never occur. */
	ASSERT_STREQ("\\u0080a\\u00ffb\\u00fe",
		     json_of(&self->a, "\x80\x61\xff\x62\xfe", 5));
	/* Overlong '/' and overlong NUL. */
	ASSERT_STREQ("\\u00c0\\u00af\\u00e0\\u0080\\u0080",
		     json_of(&self->a, "\xc0\xaf\xe0\x80\x80", 5));
	/* Surrogate U+D800, code point over U+10FFFF. */
	ASSERT_STREQ("\\u00ed\\u00a0\\u0080\\u00f4\\u0090\\u0080\\u0080",
		     json_of(&self->a, "\xed\xa0\x80\xf4\x90\x80\x80", 7));
	/* Sequences cut short, by the next char and by the end. */
	ASSERT_STREQ("\\u00e2\\u0082x\\u00f0\\u009f\\u0098",
		     json_of(&self->a, "\xe2\x82x\xf0\x9f\x98", 6));
}

TEST_F(tlv, json_frame_is_one_line_whatever_the_text)
{
	static const char prefix[] = "{"
		"\"type\":\"SOUT\",\"offset\":0,\"length\":256,\"crc_ok\":false,\"text\":\"\\u0000";
	char all[256];
	const char *s;
	int i;

	for (i = 0; i < 256; i++)
		all[i] = (char)i;
	format_one(&self->a, &self->b, TLV_SOUT, all, 256, false);
	s = tlv_sbuf_str(&self->b);
	ASSERT_EQ('\n', s[self->b.len - 1]);
	ASSERT_EQ(self->b.len - 1, strcspn(s, "\n\r")) {
		TH_LOG("raw line break inside the JSON line: %s", s);
	}
	ASSERT_EQ(0, strncmp(s, prefix, sizeof(prefix) - 1)) {
		TH_LOG("expected the line to start with %s, got %s", prefix, s);
	}
	ASSERT_STREQ("\\u00fe\\u00ff\"}\n", s + self->b.len - 15);
}

TEST_F(tlv, text_format_escapes_non_printables_and_keeps_utf8)
{
	ASSERT_STREQ("a\\\"b\\\\c\\n\\r\\t\\x00\\x1b\\x7f",
		     text_of(&self->a, "a\"b\\c\n\r\t\0\x1b\x7f", 11));
	ASSERT_STREQ("caf\xc3\xa9 \\xff\\xc2\\x85",
		     text_of(&self->a, "caf\xc3\xa9 \xff\xc2\x85", 9));
}

TEST_F(tlv, json_escapes_c1_controls_and_keeps_u00a0_and_up)
{
	ASSERT_STREQ("\\u0080\\u0085\\u009b\\u009f\xc2\xa0\xc3\xbf",
		     json_of(&self->a, "\xc2\x80\xc2\x85\xc2\x9b\xc2\x9f"
			     "\xc2\xa0\xc3\xbf", 12));
}

TEST_F(tlv, json_escapes_line_and_paragraph_separators)
{
	/* U+2027 and U+202F, their neighbours, are not escaped. */
	ASSERT_STREQ("x\\u2028y\\u2029z\xe2\x80\xa7\xe2\x80\xaf",
		     json_of(&self->a, "x\xe2\x80\xa8y\xe2\x80\xa9z\xe2\x80\xa7\xe2\x80\xaf",
			     15));
}

TEST_F(tlv, both_formats_escape_bidi_formatting_characters)
{
	/* U+061C, U+200E, U+200F, U+202A, U+202E, U+2066, U+2069 */
	static const char bidi[] = "\xd8\x9c\xe2\x80\x8e\xe2\x80\x8f"
		"\xe2\x80\xaa\xe2\x80\xae\xe2\x81\xa6\xe2\x81\xa9";

	ASSERT_STREQ("\\u061c\\u200e\\u200f\\u202a\\u202e\\u2066\\u2069",
		     json_of(&self->a, bidi, sizeof(bidi) - 1));
	ASSERT_STREQ("\\xd8\\x9c\\xe2\\x80\\x8e\\xe2\\x80\\x8f\\xe2\\x80\\xaa"
		     "\\xe2\\x80\\xae\\xe2\\x81\\xa6\\xe2\\x81\\xa9",
		     text_of(&self->a, bidi, sizeof(bidi) - 1));
}

TEST_F(tlv, text_format_escapes_each_byte_of_a_separator)
{
	ASSERT_STREQ("x\\xe2\\x80\\xa8y\\xe2\\x80\\xa9",
		     text_of(&self->a, "x\xe2\x80\xa8y\xe2\x80\xa9", 8));
}

/* Every character as one UTF-8 string: s gets its bytes, the length. */
static size_t utf8_put(char *s, __u32 cp)
{
	if (cp < 0x80) {
		s[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		s[0] = (char)(0xc0 | cp >> 6);
		s[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		s[0] = (char)(0xe0 | cp >> 12);
		s[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		s[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	s[0] = (char)(0xf0 | cp >> 18);
	s[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	s[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	s[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

TEST_F(tlv, json_and_text_escape_exactly_the_same_characters)
{
	char s[4];
	__u32 cp;

	for (cp = 0; cp <= 0x10ffff; cp++) {
		bool json_kept, text_kept;
		size_t n;

		if (cp >= 0xd800 && cp <= 0xdfff)
			continue;
		n = utf8_put(s, cp);
		json_of(&self->a, s, n);
		text_of(&self->b, s, n);
		json_kept = self->a.len == n && !memcmp(self->a.s, s, n);
		text_kept = self->b.len == n && !memcmp(self->b.s, s, n);
		ASSERT_EQ(json_kept, text_kept) {
			TH_LOG("U+%04X: JSON \"%s\", text \"%s\"", cp,
			       tlv_sbuf_str(&self->a), tlv_sbuf_str(&self->b));
		}
	}
}

/*
 * Whatever a guest writes, a frame's line holds only printable ASCII
 * when the text is made of controls, invalid bytes, separators and
 * bidi characters: nothing reaches a terminal or a JSON reader raw.
 */
static void put_hostile_text(struct tlv_sbuf *sb)
{
	static const char seqs[] = "\xc2\x85\xc2\x9b\xe2\x80\xa8\xe2\x80\xa9"
		"\xe2\x80\xae\xe2\x81\xa6\xd8\x9c\xe2\x80\x8f";
	char all[256];
	int i;

	for (i = 0; i < 256; i++)
		all[i] = (char)i;
	tlv_sbuf_add(sb, all, sizeof(all));
	tlv_sbuf_add(sb, seqs, sizeof(seqs) - 1);
	tlv_sbuf_add(sb, "\x1b[2J\x1b]0;title\x07\xc2\x9b", 16);
	tlv_sbuf_add(sb, "31m", 3);
}

static bool printable_line(const struct tlv_sbuf *sb)
{
	size_t i;

	for (i = 0; i + 1 < sb->len; i++)
		if (sb->s[i] < 0x20 || sb->s[i] > 0x7e)
			return false;
	return sb->len && sb->s[sb->len - 1] == '\n';
}

TEST_F(tlv, text_line_of_hostile_text_is_printable_ascii)
{
	put_hostile_text(&self->in);
	format_one(&self->a, &self->b, TLV_SOUT, self->in.s, self->in.len,
		   true);
	ASSERT_TRUE(printable_line(&self->a)) {
		TH_LOG("%s", tlv_sbuf_str(&self->a));
	}
}

TEST_F(tlv, json_line_of_hostile_text_is_printable_ascii)
{
	put_hostile_text(&self->in);
	format_one(&self->a, &self->b, TLV_SOUT, self->in.s, self->in.len,
		   true);
	ASSERT_TRUE(printable_line(&self->b)) {
		TH_LOG("%s", tlv_sbuf_str(&self->b));
	}
}

/* Exit status */

TEST_F(tlv, exit_code_is_the_last_exit_frame)
{
	put_exit(&self->in, 3);
	put_str(&self->in, TLV_SOUT, "between");
	put_exit(&self->in, 17);
	put_str(&self->in, TLV_SOUT, "after");
	parse(&self->r, &self->in, 0);
	ASSERT_TRUE(self->r.p.have_exit);
	ASSERT_EQ(17, self->r.p.exit_code);
	ASSERT_EQ(17, tlv_exit_status(&self->r.p, TLV_ST_EXIT_CODE));
	ASSERT_EQ(0, tlv_exit_status(&self->r.p, 0));
}

TEST_F(tlv, exit_code_0_to_99_is_the_status)
{
	static const __s32 codes[] = { 0, 1, 2, 4, 42, 99 };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(codes); i++) {
		tlv_sbuf_reset(&self->in);
		put_exit(&self->in, codes[i]);
		parse(&self->r, &self->in, 0);
		ASSERT_EQ(codes[i], tlv_exit_status(&self->r.p, TLV_ST_EXIT_CODE));
	}
}

TEST_F(tlv, exit_code_below_0_or_over_99_gives_100)
{
	static const __s32 codes[] = {
		-1, 100, 101, 102, 103, 104, 124, 137, 255, 256, 258,
		0x7fffffff, (__s32)0x80000000,
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(codes); i++) {
		tlv_sbuf_reset(&self->in);
		put_exit(&self->in, codes[i]);
		parse(&self->r, &self->in, 0);
		ASSERT_EQ(TLV_STATUS_OUT_OF_RANGE,
			  tlv_exit_status(&self->r.p, TLV_ST_EXIT_CODE)) {
			TH_LOG("EXIT code %d", codes[i]);
		}
		ASSERT_EQ(codes[i], self->r.p.exit_code);
	}
}

TEST_F(tlv, reserved_statuses_are_distinct_and_no_guest_code_or_timeouts)
{
	static const int reserved[] = {
		TLV_STATUS_OUT_OF_RANGE, TLV_STATUS_NO_EXIT, TLV_STATUS_DAMAGED,
		TLV_STATUS_ERROR, TLV_STATUS_USAGE,
	};
	unsigned int i, j;

	for (i = 0; i < ARRAY_SIZE(reserved); i++) {
		/* Over every guest code, under timeout(1)'s 124..127. */
		ASSERT_LT(TLV_STATUS_GUEST_MAX, reserved[i]);
		ASSERT_GT(124, reserved[i]);
		for (j = 0; j < i; j++)
			ASSERT_NE(reserved[j], reserved[i]);
	}
}

TEST_F(tlv, exit_code_without_exit_frame_in_a_clean_stream_is_101)
{
	put_str(&self->in, TLV_SOUT, "no exit");
	put(&self->in, TLV_SRDY, "", 0);
	parse(&self->r, &self->in, 0);
	ASSERT_FALSE(self->r.p.have_exit);
	ASSERT_EQ(TLV_STATUS_NO_EXIT,
		  tlv_exit_status(&self->r.p, TLV_ST_EXIT_CODE));
	ASSERT_EQ(0, tlv_exit_status(&self->r.p, 0));
}

TEST_F(tlv, exit_code_without_exit_frame_in_a_damaged_stream_is_102)
{
	/* The EXIT frame itself damaged: bad CRC, then cut short. */
	put_raw(&self->in, TLV_EXIT, 4, 0, 0, "\x02\0\0\0", 4);
	parse(&self->r, &self->in, 0);
	ASSERT_EQ(TLV_STATUS_DAMAGED,
		  tlv_exit_status(&self->r.p, TLV_ST_EXIT_CODE));
	tlv_sbuf_reset(&self->in);
	put_exit(&self->in, 2);
	self->in.len -= 1;
	parse(&self->r, &self->in, 0);
	ASSERT_EQ(TLV_STATUS_DAMAGED,
		  tlv_exit_status(&self->r.p, TLV_ST_EXIT_CODE));
}

#define NR_DAMAGE	6

/* A clean EXIT 0 frame, then damage of kind i, 0..NR_DAMAGE - 1. */
static void put_exit_then_damage(struct tlv_sbuf *sb, unsigned int i)
{
	put_exit(sb, 0);
	switch (i) {
	case 0:	/* bad CRC */
		put_raw(sb, TLV_SOUT, 1, 0, 0, "x", 1);
		break;
	case 1:	/* malformed */
		put(sb, TLV_SCEN, "", 0);
		break;
	case 2:	/* length over the maximum */
		put_raw(sb, TLV_SOUT, TLV_MAX_PAYLOAD + 1, 0, 0, "", 0);
		break;
	case 3:	/* pad not 0 */
		put_raw(sb, TLV_SRDY, 0, 0, 1, "", 0);
		break;
	case 4:	/* truncated header */
		tlv_sbuf_add(sb, "\x01\x02", 2);
		break;
	default:	/* truncated payload */
		put_str(sb, TLV_SOUT, "cut");
		sb->len -= 1;
		break;
	}
}

TEST_F(tlv, damage_after_a_good_exit_frame_keeps_its_code_without_strict)
{
	unsigned int i;

	for (i = 0; i < NR_DAMAGE; i++) {
		tlv_sbuf_reset(&self->in);
		put_exit_then_damage(&self->in, i);
		parse(&self->r, &self->in, 0);
		ASSERT_LT(0, self->r.p.errors);
		ASSERT_EQ(0, tlv_exit_status(&self->r.p, TLV_ST_EXIT_CODE)) {
			TH_LOG("damage %u", i);
		}
	}
}

TEST_F(tlv, strict_turns_any_damage_into_102)
{
	unsigned int i;

	for (i = 0; i < NR_DAMAGE; i++) {
		tlv_sbuf_reset(&self->in);
		put_exit_then_damage(&self->in, i);
		parse(&self->r, &self->in, 0);
		ASSERT_EQ(TLV_STATUS_DAMAGED,
			  tlv_exit_status(&self->r.p,
					  TLV_ST_EXIT_CODE | TLV_ST_STRICT)) {
			TH_LOG("damage %u", i);
		}
	}
}

TEST_F(tlv, strict_keeps_the_status_of_a_clean_stream)
{
	put_exit(&self->in, 7);
	parse(&self->r, &self->in, 0);
	ASSERT_EQ(7, tlv_exit_status(&self->r.p,
				     TLV_ST_EXIT_CODE | TLV_ST_STRICT));
	tlv_sbuf_reset(&self->in);
	put(&self->in, TLV_SRDY, "", 0);
	parse(&self->r, &self->in, 0);
	ASSERT_EQ(TLV_STATUS_NO_EXIT,
		  tlv_exit_status(&self->r.p, TLV_ST_EXIT_CODE | TLV_ST_STRICT));
}

TEST_F(tlv, without_exit_code_damage_is_1_strict_or_not)
{
	put_exit_then_damage(&self->in, 0);
	parse(&self->r, &self->in, 0);
	ASSERT_EQ(1, tlv_exit_status(&self->r.p, 0));
	ASSERT_EQ(1, tlv_exit_status(&self->r.p, TLV_ST_STRICT));
	tlv_sbuf_reset(&self->in);
	put_exit(&self->in, 7);
	parse(&self->r, &self->in, 0);
	ASSERT_EQ(0, tlv_exit_status(&self->r.p, TLV_ST_STRICT));
}

TEST_F(tlv, exit_frame_with_bad_crc_does_not_set_the_exit_code)
{
	put_exit(&self->in, 5);
	put_raw(&self->in, TLV_EXIT, 4, 0, 0, "\x06\0\0\0", 4);
	parse(&self->r, &self->in, 0);
	ASSERT_EQ(2, self->r.nframes);
	ASSERT_STREQ("EXIT len=4 crc=ok code=5\nEXIT len=4 crc=bad code=6\n",
		     tlv_sbuf_str(&self->r.text));
	ASSERT_EQ(5, tlv_exit_status(&self->r.p, TLV_ST_EXIT_CODE));
	ASSERT_EQ(1, tlv_exit_status(&self->r.p, 0));
}

/* Volume */

TEST_F(tlv, ten_thousand_frames_in_a_row_are_all_delivered)
{
	size_t chunks[] = { 0, 1, 4093 };
	unsigned int i;
	char msg[32] = "";

	for (i = 0; i < 10000; i++) {
		switch (i % 4) {
		case 0:
			snprintf(msg, sizeof(msg), "line %u\n", i);
			put_str(&self->in, TLV_SOUT, msg);
			break;
		case 1:
			put(&self->in, TLV_SRDY, "", 0);
			break;
		case 2:
			put(&self->in, TLV_PRAW, msg, i % 29);
			break;
		default:
			put_exit(&self->in, i % 100);
			break;
		}
	}
	for (i = 0; i < ARRAY_SIZE(chunks); i++) {
		parse(&self->r, &self->in, chunks[i]);
		ASSERT_EQ(10000, self->r.nframes) {
			TH_LOG("with %zu-byte reads", chunks[i]);
		}
		ASSERT_EQ(0, self->r.nerrors);
		ASSERT_EQ(9999 % 100,
			  tlv_exit_status(&self->r.p, TLV_ST_EXIT_CODE));
		ASSERT_NE(NULL, strstr(tlv_sbuf_str(&self->r.text),
				       "SOUT len=10 crc=ok text=\"line 9996\\n\"\n"
				       "SRDY len=0 crc=ok\n"));
	}
}

TEST_F(tlv, frame_offsets_are_positions_in_the_stream)
{
	put_str(&self->in, TLV_SOUT, "abc");
	put(&self->in, TLV_SCST, "", 0);
	tlv_sbuf_add(&self->in, "JUNK", 4);
	put_exit(&self->in, 0);
	parse(&self->r, &self->in, 0);
	ASSERT_EQ(3, self->r.nframes);
	ASSERT_EQ(0, self->r.frames[0].offset);
	ASSERT_EQ(19, self->r.frames[1].offset);
	ASSERT_EQ(39, self->r.frames[2].offset);
	ASSERT_EQ(TLV_ERR_LENGTH, self->r.errors[0].kind);
	ASSERT_EQ(35, self->r.errors[0].offset);
}

TEST_F(tlv, json_frame_carries_its_stream_offset)
{
	put_str(&self->in, TLV_SOUT, "abc");
	tlv_sbuf_add(&self->in, "JUNK", 4);
	put_exit(&self->in, 0);
	parse(&self->r, &self->in, 0);
	ASSERT_STREQ("{"
		     "\"type\":\"SOUT\",\"offset\":0,\"length\":3,\"crc_ok\":true,\"text\":\"abc\"}\n"
		     "{\"type\":\"EXIT\",\"offset\":23,\"length\":4,\"crc_ok\":true,\"code\":0}\n",
		     tlv_sbuf_str(&self->r.json));
}

/* In-band problems */

TEST_F(tlv, json_error_object_of_a_bad_crc_carries_both_crcs)
{
	put_raw(&self->in, TLV_SOUT, 3, 0xdeadbeef, 0, "abc", 3);
	parse(&self->r, &self->in, 0);
	ASSERT_STREQ("{"
		     "\"error\":\"bad_crc\",\"offset\":0,\"type\":\"SOUT\",\"length\":3,\"crc\":\"0xdeadbeef\",\"crc_calc\":\"0x352441c2\",\"message\":\"SOUT frame: bad crc32 0xdeadbeef, payload has 0x352441c2\"}\n",
		     tlv_sbuf_str(&self->r.ejson));
}

TEST_F(tlv, json_error_objects_of_a_bad_length_and_its_resync)
{
	put_str(&self->in, TLV_SOUT, "before");
	put_raw(&self->in, TLV_SOUT, TLV_MAX_PAYLOAD + 1, 0, 0, "xyz", 3);
	put_str(&self->in, TLV_SOUT, "after");
	parse(&self->r, &self->in, 0);
	ASSERT_STREQ("{"
		     "\"error\":\"bad_length\",\"offset\":22,\"type\":\"SOUT\",\"length\":262145,\"message\":\"bad header (type SOUT): length 262145 over 262144, resyncing\"}\n"
		     "{\"error\":\"skipped\",\"offset\":22,\"bytes\":19,\"at_eof\":false,\"message\":\"resynced: skipped 19 bytes, next frame at offset 41\"}\n",
		     tlv_sbuf_str(&self->r.ejson));
}

TEST_F(tlv, json_error_objects_of_a_bad_pad_show_an_unknown_type_escaped)
{
	put_raw(&self->in, TLV_TYPE('A', 'B', '"', 'D'), 0, 0, 5, "", 0);
	parse(&self->r, &self->in, 0);
	ASSERT_STREQ("{"
		     "\"error\":\"bad_pad\",\"offset\":0,\"type\":\"AB\\\"D\",\"type_hex\":\"0x41422244\",\"length\":0,\"pad\":\"0x00000005\",\"message\":\"bad header (type 0x41422244(\\\"AB\\\\\\\"D\\\")): pad 0x00000005 not 0, resyncing\"}\n"
		     "{\"error\":\"skipped\",\"offset\":0,\"bytes\":16,\"at_eof\":true,\"message\":\"end of stream while resyncing: 16 bytes skipped, no frame found\"}\n",
		     tlv_sbuf_str(&self->r.ejson));
}

TEST_F(tlv, json_error_objects_of_malformed_and_truncated_frames)
{
	put(&self->in, TLV_SCEN, "\x01", 1);
	tlv_sbuf_add(&self->in, "12345", 5);
	parse(&self->r, &self->in, 0);
	ASSERT_STREQ("{"
		     "\"error\":\"malformed\",\"offset\":0,\"type\":\"SCEN\",\"length\":1,\"message\":\"SCEN frame: payload of 1 bytes, want 8\"}\n"
		     "{\"error\":\"truncated_header\",\"offset\":17,\"bytes\":5,\"message\":\"truncated header: end of stream after 5 of 16 bytes\"}\n",
		     tlv_sbuf_str(&self->r.ejson));
	tlv_sbuf_reset(&self->in);
	put_str(&self->in, TLV_SOUT, "0123456789");
	self->in.len -= 4;
	parse(&self->r, &self->in, 0);
	ASSERT_STREQ("{"
		     "\"error\":\"truncated_payload\",\"offset\":0,\"type\":\"SOUT\",\"length\":10,\"bytes\":6,\"message\":\"truncated SOUT frame: end of stream after 6 of 10 payload bytes\"}\n",
		     tlv_sbuf_str(&self->r.ejson));
}

TEST_F(tlv, json_error_object_of_a_read_error)
{
	struct tlv_error e = { .kind = TLV_ERR_READ, .offset = 7, .err = EIO };

	tlv_format_error_json(&self->a, &e);
	ASSERT_STREQ("{"
		     "\"error\":\"read\",\"offset\":7,\"message\":\"read error, the stream ends here: Input/output error\"}\n",
		     tlv_sbuf_str(&self->a));
}

TEST_F(tlv, every_problem_kind_has_its_own_name)
{
	int i, j;

	for (i = 0; i <= TLV_ERR_READ; i++) {
		ASSERT_STRNE("unknown", tlv_error_name(i));
		for (j = 0; j < i; j++)
			ASSERT_STRNE(tlv_error_name(j), tlv_error_name(i));
	}
}

TEST_F(tlv, text_error_line_is_ERROR_and_the_diagnostic)
{
	put_raw(&self->in, TLV_SOUT, 3, 0xdeadbeef, 0, "abc", 3);
	put_raw(&self->in, TLV_SOUT, 0, 0, 1, "", 0);
	parse(&self->r, &self->in, 0);
	ASSERT_EQ(3, self->r.nerrors);
	ASSERT_STREQ("ERROR offset 0: SOUT frame: bad crc32 0xdeadbeef, payload has 0x352441c2\n"
		     "ERROR offset 19: bad header (type SOUT): pad 0x00000001 not 0, resyncing\n"
		     "ERROR offset 19: end of stream while resyncing: 16 bytes skipped, no frame found\n",
		     tlv_sbuf_str(&self->r.etext));
}

/* The command (ktstr-tlv.c, linked in as ktstr_tlv_main()) */

/* A memfd holding sb's bytes, read from the start. */
static int memfd_with(const struct tlv_sbuf *sb)
{
	int fd = memfd_create("ktstr-tlv-test", 0);
	size_t off = 0;

	if (fd < 0)
		return -1;
	while (off < sb->len) {
		ssize_t n = write(fd, sb->s + off, sb->len - off);

		if (n <= 0) {
			close(fd);
			return -1;
		}
		off += n;
	}
	if (lseek(fd, 0, SEEK_SET)) {
		close(fd);
		return -1;
	}
	return fd;
}

static void read_back(int fd, struct tlv_sbuf *sb)
{
	char buf[4096];
	ssize_t n;

	tlv_sbuf_reset(sb);
	lseek(fd, 0, SEEK_SET);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		tlv_sbuf_add(sb, buf, n);
	if (!sb->s)
		tlv_sbuf_add(sb, "", 0);
}

/*
 * Runs the command in a child with the arguments given (NULL ends them),
 * standard input holding in; its status and output in *c.
 */
static void __attribute__((sentinel))
__run_cli(struct __test_metadata *_metadata, struct cli *c,
	  const struct tlv_sbuf *in, ...)
{
	char *argv[16] = { "ktstr-tlv" };
	int argc = 1, fd_in, fd_out, fd_err, status;
	va_list ap;
	pid_t pid;

	va_start(ap, in);
	while (argc < 15 && (argv[argc] = va_arg(ap, char *)))
		argc++;
	va_end(ap);
	argv[argc] = NULL;
	fd_in = memfd_with(in);
	fd_out = memfd_create("ktstr-tlv-stdout", 0);
	fd_err = memfd_create("ktstr-tlv-stderr", 0);
	ASSERT_LE(0, fd_in);
	ASSERT_LE(0, fd_out);
	ASSERT_LE(0, fd_err);
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		if (dup2(fd_in, 0) < 0 || dup2(fd_out, 1) < 0 ||
		    dup2(fd_err, 2) < 0)
			_exit(255);
		optind = 0;	/* a fresh getopt */
		status = ktstr_tlv_main(argc, argv);
		fflush(stdout);
		fflush(stderr);
		_exit(status);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	c->status = WEXITSTATUS(status);
	read_back(fd_out, &c->out);
	read_back(fd_err, &c->err);
	close(fd_in);
	close(fd_out);
	close(fd_err);
}

#define run_cli(c, in, ...) __run_cli(_metadata, c, in, ##__VA_ARGS__, NULL)

TEST_F(tlv, cli_version_prints_the_version)
{
	run_cli(&self->c, &self->in, "--version");
	ASSERT_EQ(0, self->c.status);
	ASSERT_STREQ("ktstr-tlv " KTSTR_VC_VERSION "\n",
		     tlv_sbuf_str(&self->c.out));
	ASSERT_STREQ("", tlv_sbuf_str(&self->c.err));
}

TEST_F(tlv, cli_exit_code_tells_a_guest_exit_2_from_no_exit_frame)
{
	put_exit(&self->in, 2);
	run_cli(&self->c, &self->in, "--exit-code");
	ASSERT_EQ(2, self->c.status);
	tlv_sbuf_reset(&self->in);
	put(&self->in, TLV_SRDY, "", 0);
	run_cli(&self->c, &self->in, "--exit-code");
	ASSERT_EQ(TLV_STATUS_NO_EXIT, self->c.status);
}

TEST_F(tlv, cli_strict_fails_damage_after_a_good_exit_frame)
{
	put_exit_then_damage(&self->in, 0);
	run_cli(&self->c, &self->in, "--exit-code");
	ASSERT_EQ(0, self->c.status);
	run_cli(&self->c, &self->in, "--exit-code", "--strict");
	ASSERT_EQ(TLV_STATUS_DAMAGED, self->c.status);
}

/* A good frame, a bad header and its resync, a good frame. */
#define RESYNC_LENGTH	"offset 22: bad header (type SOUT): length 262145 over 262144, resyncing\n"
#define RESYNC_SKIPPED	"offset 22: resynced: skipped 19 bytes, next frame at offset 41\n"

static void put_resync_stream(struct tlv_sbuf *sb)
{
	put_str(sb, TLV_SOUT, "before");
	put_raw(sb, TLV_SOUT, TLV_MAX_PAYLOAD + 1, 0, 0, "xyz", 3);
	put_str(sb, TLV_SOUT, "after");
}

TEST_F(tlv, cli_json_reports_damage_in_band_in_stream_order)
{
	put_resync_stream(&self->in);
	run_cli(&self->c, &self->in, "--json");
	ASSERT_EQ(1, self->c.status);
	ASSERT_STREQ("{"
		     "\"type\":\"SOUT\",\"offset\":0,\"length\":6,\"crc_ok\":true,\"text\":\"before\"}\n"
		     "{\"error\":\"bad_length\",\"offset\":22,\"type\":\"SOUT\",\"length\":262145,\"message\":\"bad header (type SOUT): length 262145 over 262144, resyncing\"}\n"
		     "{\"error\":\"skipped\",\"offset\":22,\"bytes\":19,\"at_eof\":false,\"message\":\"resynced: skipped 19 bytes, next frame at offset 41\"}\n"
		     "{\"type\":\"SOUT\",\"offset\":41,\"length\":5,\"crc_ok\":true,\"text\":\"after\"}\n",
		     tlv_sbuf_str(&self->c.out));
}

TEST_F(tlv, cli_text_reports_damage_in_band_as_error_lines)
{
	put_resync_stream(&self->in);
	run_cli(&self->c, &self->in);
	ASSERT_EQ(1, self->c.status);
	ASSERT_STREQ("SOUT len=6 crc=ok text=\"before\"\n"
		     "ERROR " RESYNC_LENGTH "ERROR " RESYNC_SKIPPED
		     "SOUT len=5 crc=ok text=\"after\"\n",
		     tlv_sbuf_str(&self->c.out));
}

TEST_F(tlv, cli_reports_damage_on_stderr_too)
{
	put_resync_stream(&self->in);
	run_cli(&self->c, &self->in, "--json");
	ASSERT_STREQ("ktstr-tlv: " RESYNC_LENGTH "ktstr-tlv: " RESYNC_SKIPPED,
		     tlv_sbuf_str(&self->c.err));
}

TEST_F(tlv, cli_unreadable_input_is_103_with_exit_code_and_1_without)
{
	run_cli(&self->c, &self->in, "--exit-code", "/nonexistent/ktstr-tlv");
	ASSERT_EQ(TLV_STATUS_ERROR, self->c.status);
	run_cli(&self->c, &self->in, "/nonexistent/ktstr-tlv");
	ASSERT_EQ(1, self->c.status);
	/* A directory opens, then read() fails: reported in band too. */
	run_cli(&self->c, &self->in, "--exit-code", "--json", "/");
	ASSERT_EQ(TLV_STATUS_ERROR, self->c.status);
	ASSERT_STREQ("{"
		     "\"error\":\"read\",\"offset\":0,\"message\":\"read error, the stream ends here: Is a directory\"}\n",
		     tlv_sbuf_str(&self->c.out));
}

TEST_F(tlv, cli_usage_error_is_104_with_exit_code_and_2_without)
{
	run_cli(&self->c, &self->in, "--exit-code", "--no-such-option");
	ASSERT_EQ(TLV_STATUS_USAGE, self->c.status);
	run_cli(&self->c, &self->in, "--no-such-option", "--exit-code");
	ASSERT_EQ(TLV_STATUS_USAGE, self->c.status);
	run_cli(&self->c, &self->in, "--exit-code", "one", "two");
	ASSERT_EQ(TLV_STATUS_USAGE, self->c.status);
	run_cli(&self->c, &self->in, "--no-such-option");
	ASSERT_EQ(2, self->c.status);
}

TEST_HARNESS_MAIN
