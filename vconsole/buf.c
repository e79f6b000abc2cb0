// SPDX-License-Identifier: GPL-2.0
/*
 * The bounded byte rings behind each port.  Positions are absolute (u64
 * counts of bytes ever stored and consumed) so a reader's end-of-session
 * mark stays valid however far the ring has wrapped.  Both ends copy
 * straight between the ring and user memory: a guest buffer in the VMM's
 * address space on one side, a reader's or writer's buffer on the other.
 * The caller serialises access (vc_port.lock).
 */
#include <linux/minmax.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>

#include "vconsole.h"

int vc_buf_init(struct vc_buf *b, size_t size)
{
	b->data = vzalloc(size);
	if (!b->data)
		return -ENOMEM;
	b->size = size;
	b->in = 0;
	b->out = 0;
	return 0;
}

void vc_buf_free(struct vc_buf *b)
{
	vfree(b->data);
	b->data = NULL;
}

size_t vc_buf_len(const struct vc_buf *b)
{
	return b->in - b->out;
}

size_t vc_buf_space(const struct vc_buf *b)
{
	return b->size - vc_buf_len(b);
}

/* Where position pos lives, and how many bytes follow it before the wrap. */
static size_t vc_buf_index(const struct vc_buf *b, u64 pos, size_t *contig)
{
	size_t idx = pos & (b->size - 1);

	*contig = b->size - idx;
	return idx;
}

/*
 * Copy len bytes from user memory to off bytes past the tail, without
 * making them visible: a fault leaves the ring as it was.
 */
int vc_buf_store_user(struct vc_buf *b, size_t off, const void __user *src,
		      size_t len)
{
	while (len) {
		size_t contig, idx = vc_buf_index(b, b->in + off, &contig);
		size_t n = min(len, contig);

		if (copy_from_user(b->data + idx, src, n))
			return -EFAULT;
		src += n;
		off += n;
		len -= n;
	}
	return 0;
}

void vc_buf_commit(struct vc_buf *b, size_t len)
{
	b->in += len;
}

/* Copy len bytes starting off bytes past the head; nothing is consumed. */
int vc_buf_load_user(const struct vc_buf *b, size_t off, void __user *dst,
		     size_t len)
{
	while (len) {
		size_t contig, idx = vc_buf_index(b, b->out + off, &contig);
		size_t n = min(len, contig);

		if (copy_to_user(dst, b->data + idx, n))
			return -EFAULT;
		dst += n;
		off += n;
		len -= n;
	}
	return 0;
}

void vc_buf_consume(struct vc_buf *b, size_t len)
{
	b->out += len;
}
