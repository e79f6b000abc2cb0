// SPDX-License-Identifier: GPL-2.0
/*
 * The host's half of the guest's frame protocol, so that a guest can be
 * run to its end with ktstr-vmm alone: port 1's stream, as the copy
 * thread reads it, is followed frame by frame (16-byte little-endian
 * header: type, length, CRC-32 of the payload, pad 0), and
 *
 *	SNRQ {u32 id, u32 kind, char name[64]}	is answered on port 1 by
 *		SNRP {id, status 0, NAME}		(--snrp NAME)
 *	EXIT {s32 code}				is followed by the shutdown
 *		wake byte 0xd3 on port 0		(--shutdown-after-exit)
 *
 * Only frames with a good CRC are acted on.  A header no frame has (a
 * length over 256 KiB, a pad not 0) ends the watching: the stream is
 * damaged or not made of frames, and ktstr-tlv is the tool that resyncs
 * and reports; no guesswork here writes to the guest.
 */
#include <stdio.h>
#include <string.h>
#include <linux/ktstr_vconsole.h>

#include "ktstr-vmm.h"

static __u32 get_le32(const __u8 *p)
{
	return p[0] | (__u32)p[1] << 8 | (__u32)p[2] << 16 |
	       (__u32)p[3] << 24;
}

static void put_le32(__u8 *p, __u32 v)
{
	p[0] = v;
	p[1] = v >> 8;
	p[2] = v >> 16;
	p[3] = v >> 24;
}

/* The name of an SNRQ, printable, for the log. */
static void snr_name(const __u8 *field, char *out)
{
	unsigned int i;

	for (i = 0; i < TLV_SNR_NAME_LEN && field[i]; i++)
		out[i] = field[i] >= 0x20 && field[i] < 0x7f ? field[i] : '?';
	out[i] = 0;
}

static void answer_snrq(struct vmm *vm, const __u8 *req)
{
	__u8 frame[TLV_HDR_LEN + TLV_SNR_LEN] = { 0 };
	__u8 *payload = frame + TLV_HDR_LEN;
	char name[TLV_SNR_NAME_LEN + 1];

	snr_name(req + 8, name);
	put_le32(payload, get_le32(req));	/* the id it answers */
	put_le32(payload + 4, 0);		/* status: done */
	memcpy(payload + 8, vm->snrp_name, strlen(vm->snrp_name));
	put_le32(frame, TLV_SNRP);
	put_le32(frame + 4, TLV_SNR_LEN);
	put_le32(frame + 8, tlv_crc32(0, payload, TLV_SNR_LEN));
	if (tx_send(vm, 1, frame, sizeof(frame)))
		vmm_log("SNRQ id %u kind %u \"%s\": answered with SNRP \"%s\"",
			get_le32(req), get_le32(req + 4), name, vm->snrp_name);
}

static void got_exit(struct vmm *vm, const __u8 *payload)
{
	static const __u8 wake = KTSTR_VC_WAKE_SHUTDOWN;
	struct vmm_frames *f = &vm->frames;

	f->have_exit = true;
	f->exit_code = (__s32)get_le32(payload);
	if (!vm->shutdown_after_exit)
		return;
	if (tx_send(vm, 0, &wake, 1))
		vmm_log("guest EXIT %d: shutdown wake byte %#x sent",
			f->exit_code, wake);
}

static void frame_done(struct vmm *vm)
{
	struct vmm_frames *f = &vm->frames;

	if (!f->keep)
		return;
	if (tlv_crc32(0, f->payload, f->len) != get_le32(f->hdr + 8)) {
		vmm_log("warning: port 1: the frame at offset %llu has a bad CRC: not answered",
			(unsigned long long)f->offset);
		return;
	}
	if (f->type == TLV_SNRQ && vm->snrp_name)
		answer_snrq(vm, f->payload);
	else if (f->type == TLV_EXIT)
		got_exit(vm, f->payload);
}

/* A whole header is in: what comes next, or the end of watching. */
static void frame_header(struct vmm *vm)
{
	struct vmm_frames *f = &vm->frames;

	f->type = get_le32(f->hdr);
	f->len = get_le32(f->hdr + 4);
	if (f->len > TLV_MAX_PAYLOAD || get_le32(f->hdr + 12)) {
		vmm_log("warning: port 1: no frame header at offset %llu (length %u, pad %#x)",
			(unsigned long long)f->offset, f->len,
			get_le32(f->hdr + 12));
		vmm_log("warning: port 1: the guest's frames are no longer answered");
		f->damaged = true;
		return;
	}
	f->keep = (f->type == TLV_SNRQ || f->type == TLV_EXIT) &&
		  tlv_length_ok(f->type, f->len);
	f->left = f->len;
	f->in_payload = true;
}

/* The next bytes of port 1, from its copy thread. */
void frames_feed(struct vmm *vm, const __u8 *buf, size_t len)
{
	struct vmm_frames *f = &vm->frames;
	size_t n;

	if (!vm->snrp_name && !vm->shutdown_after_exit)
		return;
	while (len && !f->damaged) {
		if (!f->in_payload) {
			n = TLV_HDR_LEN - f->have;
			n = n < len ? n : len;
			memcpy(f->hdr + f->have, buf, n);
			f->have += n;
			if (f->have == TLV_HDR_LEN)
				frame_header(vm);
		} else {
			n = f->left < len ? f->left : len;
			if (f->keep)
				memcpy(f->payload + f->len - f->left, buf, n);
			f->left -= n;
		}
		buf += n;
		len -= n;
		if (f->in_payload && !f->left) {
			frame_done(vm);
			f->offset += TLV_HDR_LEN + f->len;
			f->in_payload = false;
			f->have = 0;
		}
	}
}

/* At the end: a runner waiting for the wake byte wants to know why. */
void frames_report(struct vmm *vm)
{
	if (vm->shutdown_after_exit && !vm->frames.have_exit &&
	    !vm->frames.damaged)
		vmm_log("the guest sent no EXIT frame (so no wake byte either)");
}
