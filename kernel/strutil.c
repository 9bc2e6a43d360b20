/* Small memory and string helpers for portable parsers; see strutil.h. */
#include "kernel/strutil.h"

void mem_zero(void *dst, size_t len)
{
	unsigned char *d = dst;

	while (len--)
		*d++ = 0;
}

void mem_copy(void *dst, const void *src, size_t len)
{
	unsigned char *d = dst;
	const unsigned char *s = src;

	while (len--)
		*d++ = *s++;
}

size_t str_len_bounded(const char *s, size_t max)
{
	size_t len = 0;

	while (len < max && s[len])
		len++;
	return len;
}

size_t str_copy_bounded(char *dst, size_t dst_size, const char *src,
			size_t src_len)
{
	size_t len = str_len_bounded(src, src_len);
	size_t copy;

	if (dst_size == 0)
		return len;
	copy = len < dst_size - 1 ? len : dst_size - 1;
	mem_copy(dst, src, copy);
	dst[copy] = '\0';
	return len;
}
