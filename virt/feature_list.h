/*
 * A comma-separated list built into a caller's buffer, for the one-line
 * feature summaries of arch/x86/vmx and arch/x86/svm. Portable: the
 * capability parsers that use it are tested on the host.
 */
#ifndef VIRT_FEATURE_LIST_H
#define VIRT_FEATURE_LIST_H

#include <stdarg.h>
#include <stddef.h>
#include "kernel/compiler.h"
#include "kernel/printk.h"

struct feature_list {
	char *buf;
	size_t size;
	size_t len;		/* would-be length; may exceed size - 1 */
};

static inline void feature_list_init(struct feature_list *fl, char *buf,
				     size_t size)
{
	fl->buf = buf;
	fl->size = size;
	fl->len = 0;
	if (size)
		buf[0] = '\0';
}

/* Append one item, with ", " before it unless it is the first. */
static inline __printf(2, 3) void feature_list_add(struct feature_list *fl,
						    const char *fmt, ...)
{
	va_list ap;

	if (fl->len)
		fl->len += snprintf(fl->buf + MIN(fl->len, fl->size),
				    fl->size - MIN(fl->len, fl->size), ", ");
	va_start(ap, fmt);
	fl->len += vsnprintf(fl->buf + MIN(fl->len, fl->size),
			     fl->size - MIN(fl->len, fl->size), fmt, ap);
	va_end(ap);
}

#endif
