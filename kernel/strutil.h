/*
 * Small memory and string helpers for portable parsers.
 *
 * The parsers of loader and firmware tables are built both into the kernel
 * and into host tests. They cannot use the C library (the kernel has none)
 * and must not rely on the kernel's own memcpy/memset (the host build does
 * not link kernel/string.c), so they use these, whose names do not collide
 * with either.
 */
#ifndef KERNEL_STRUTIL_H
#define KERNEL_STRUTIL_H

#include <stddef.h>

void mem_zero(void *dst, size_t len);
void mem_copy(void *dst, const void *src, size_t len);

/* Length of the string at 's', looking at no more than 'max' bytes: 'max'
 * means no NUL was found in them. */
size_t str_len_bounded(const char *s, size_t max);

/*
 * Copy the string at 'src', which may lack a NUL within its 'src_len' bytes,
 * into 'dst' of 'dst_size' bytes, always NUL-terminated (if dst_size > 0).
 * Returns the source string's length as str_len_bounded() gives it, so the
 * caller can tell both "no NUL in the source" (result == src_len) and
 * "truncated" (result >= dst_size).
 */
size_t str_copy_bounded(char *dst, size_t dst_size, const char *src,
			size_t src_len);

#endif
