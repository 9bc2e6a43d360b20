#ifndef KERNEL_SORT_H
#define KERNEL_SORT_H

#include <stdint.h>

/* In-place ascending sort (heapsort: no recursion, no extra memory). */
void sort_u64(uint64_t *a, unsigned n);

static inline uint64_t median_u64(uint64_t *a, unsigned n)
{
	sort_u64(a, n);
	return n ? a[n / 2] : 0;
}

#endif
