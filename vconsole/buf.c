// SPDX-License-Identifier: GPL-2.0
/*
 * The bounded byte rings behind each port.  Positions are absolute (u64
 * counts of bytes ever stored and consumed) so a reader's end-of-session
 * mark stays valid however far the ring has wrapped.  Both ends copy
 * straight between the ring and an iov_iter over user memory: a guest
 * chain in the VMM's address space on one side, a reader's or writer's
 * buffer on the other.  The caller serialises access (vc_port.lock); in
 * and out are also read without it, as hints (port.c, worker.c), so they
 * change only by WRITE_ONCE.
 */
#include <linux/minmax.h>
#include <linux/uio.h>
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
 * Copy len bytes from the iterator to the tail, without making them
 * visible: a fault leaves the ring as it was.
 */
int vc_buf_store(struct vc_buf *b, struct iov_iter *from, size_t len)
{
	size_t off = 0;

	while (len) {
		size_t contig, idx = vc_buf_index(b, b->in + off, &contig);
		size_t n = min(len, contig);

		if (copy_from_iter(b->data + idx, n, from) != n)
			return -EFAULT;
		off += n;
		len -= n;
	}
	return 0;
}

void vc_buf_commit(struct vc_buf *b, size_t len)
{
	WRITE_ONCE(b->in, b->in + len);
}

/* Copy len bytes from the head to the iterator; nothing is consumed. */
int vc_buf_load(const struct vc_buf *b, struct iov_iter *to, size_t len)
{
	size_t off = 0;

	while (len) {
		size_t contig, idx = vc_buf_index(b, b->out + off, &contig);
		size_t n = min(len, contig);

		if (copy_to_iter(b->data + idx, n, to) != n)
			return -EFAULT;
		off += n;
		len -= n;
	}
	return 0;
}

void vc_buf_consume(struct vc_buf *b, size_t len)
{
	WRITE_ONCE(b->out, b->out + len);
}
