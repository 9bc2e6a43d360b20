/*
 * How portable parsers reach physical memory. The kernel backs this with the
 * direct map; host tests back it with a buffer and return NULL for anything
 * outside it, so a table that points past the end is caught, not followed.
 */
#ifndef KERNEL_PHYS_MAP_H
#define KERNEL_PHYS_MAP_H

#include <stdint.h>

/* Return a pointer to [phys, phys + len) or NULL if that range cannot be
 * read. */
typedef const void *(*phys_map_fn)(uint64_t phys, uint64_t len, void *ctx);

struct phys_reader {
	phys_map_fn map;
	void *ctx;
};

static inline const void *phys_read(const struct phys_reader *r,
				    uint64_t phys, uint64_t len)
{
	return r->map(phys, len, r->ctx);
}

#endif
