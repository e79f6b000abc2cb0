// SPDX-License-Identifier: GPL-2.0
/*
 * Guest memory: the table of guest-physical ranges the VMM backs with its
 * own memory, and the translation of every guest address and length the
 * device is given.  A translation covers the whole range or fails; the
 * result is a user address in the VMM's mm, reached only through
 * copy_{from,to}_user.
 */
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/overflow.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/uaccess.h>

#include "vconsole.h"

static int vc_region_cmp(const void *a, const void *b)
{
	const struct vc_mem_region *ra = a, *rb = b;

	if (ra->gpa == rb->gpa)
		return 0;
	return ra->gpa < rb->gpa ? -1 : 1;
}

static bool vc_region_valid(const struct ktstr_vc_mem_region *r)
{
	u64 end;

	if (r->flags || !r->size)
		return false;
	if (!PAGE_ALIGNED(r->guest_phys_addr) || !PAGE_ALIGNED(r->size) ||
	    !PAGE_ALIGNED(r->userspace_addr))
		return false;
	if (check_add_overflow(r->guest_phys_addr, r->size - 1, &end) ||
	    check_add_overflow(r->userspace_addr, r->size - 1, &end))
		return false;
	return access_ok(u64_to_user_ptr(r->userspace_addr), r->size);
}

/* Sorted by gpa, each region must end before the next one starts. */
static bool vc_regions_disjoint(const struct vc_mem *mem)
{
	unsigned int i;

	for (i = 1; i < mem->nregions; i++) {
		const struct vc_mem_region *prev = &mem->regions[i - 1];

		if (mem->regions[i].gpa - prev->gpa < prev->size)
			return false;
	}
	return true;
}

static struct vc_mem *vc_mem_build(const struct ktstr_vc_mem_region *ur,
				   unsigned int n)
{
	struct vc_mem *mem;
	unsigned int i;

	for (i = 0; i < n; i++)
		if (!vc_region_valid(&ur[i]))
			return ERR_PTR(-EINVAL);

	mem = kzalloc(struct_size(mem, regions, n), GFP_KERNEL_ACCOUNT);
	if (!mem)
		return ERR_PTR(-ENOMEM);
	mem->nregions = n;
	for (i = 0; i < n; i++) {
		mem->regions[i].gpa = ur[i].guest_phys_addr;
		mem->regions[i].size = ur[i].size;
		mem->regions[i].uaddr = ur[i].userspace_addr;
	}
	sort(mem->regions, n, sizeof(mem->regions[0]), vc_region_cmp, NULL);
	if (!vc_regions_disjoint(mem)) {
		kfree(mem);
		return ERR_PTR(-EINVAL);
	}
	return mem;
}

/* Replace the whole table; on any error the old one stays. */
int vc_mem_set(struct vc_dev *dev, struct ktstr_vc_mem_table __user *uarg)
{
	struct ktstr_vc_mem_region *ur;
	struct ktstr_vc_mem_table hdr;
	struct vc_mem *mem;

	lockdep_assert_held(&dev->lock);
	if (copy_from_user(&hdr, uarg, sizeof(hdr)))
		return -EFAULT;
	if (hdr.padding || !hdr.nregions ||
	    hdr.nregions > KTSTR_VC_MAX_MEM_REGIONS)
		return -EINVAL;

	ur = memdup_user(uarg->regions, array_size(hdr.nregions, sizeof(*ur)));
	if (IS_ERR(ur))
		return PTR_ERR(ur);
	mem = vc_mem_build(ur, hdr.nregions);
	kfree(ur);
	if (IS_ERR(mem))
		return PTR_ERR(mem);

	kfree(dev->mem);
	dev->mem = mem;
	return 0;
}

void vc_mem_free(struct vc_dev *dev)
{
	lockdep_assert_held(&dev->lock);
	kfree(dev->mem);
	dev->mem = NULL;
}

/* The VMM address of [gpa, gpa + len), or NULL unless one region holds it. */
void __user *vc_mem_translate(const struct vc_dev *dev, u64 gpa, u64 len)
{
	const struct vc_mem *mem = dev->mem;
	unsigned int i;

	lockdep_assert_held(&dev->lock);
	if (!mem)
		return NULL;
	for (i = 0; i < mem->nregions; i++) {
		const struct vc_mem_region *r = &mem->regions[i];
		u64 off = gpa - r->gpa;

		if (gpa < r->gpa || off >= r->size)
			continue;
		if (len > r->size - off)
			return NULL;
		return u64_to_user_ptr(r->uaddr + off);
	}
	return NULL;
}
