// SPDX-License-Identifier: GPL-2.0
/*
 * The instance's log line and the rejection of a guest action.
 *
 * Every layer reports what a guest did through these two, so they sit at
 * the bottom of the stack and call nothing of the module's.  They are out
 * of line and __cold: the checks calling them sit on the ring code's fast
 * paths, and a macro there would put a printk call with all its arguments
 * into every caller (the hot vring functions grew by half, and 64-byte TX
 * chains lost 12-18% under TCG).
 */
#include "vconsole.h"

/*
 * Rate limited per instance because a hostile guest can repeat its action
 * at will: one guest's flood must not silence another slot's lines.
 */
void vc_log(struct vc_dev *dev, const char *fmt, ...)
{
	struct va_format vaf;
	va_list args;

	if (!__ratelimit(&dev->ratelimit))
		return;
	va_start(args, fmt);
	vaf.fmt = fmt;
	vaf.va = &args;
	pr_warn("slot %d: %pV\n", vc_slot_id(dev), &vaf);
	va_end(args);
}

/* Count the action in its statistics class, then say so. */
void vc_reject(struct vc_dev *dev, u64 *counter, const char *fmt, ...)
{
	struct va_format vaf;
	va_list args;

	(*counter)++;
	va_start(args, fmt);
	vaf.fmt = fmt;
	vaf.va = &args;
	vc_log(dev, "%pV", &vaf);
	va_end(args);
}
