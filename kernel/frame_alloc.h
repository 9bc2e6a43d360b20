/*
 * Physical frame allocator: one bit per 4 KiB frame between the lowest and
 * highest usable address (set = free).
 *
 * Only MEM_USABLE memory is ever handed out, and never the low 1 MiB (real
 * mode structures, the AP trampoline), the hypervisor image, modules, ACPI
 * tables or any other range the caller lists as reserved. The bitmap lives
 * in usable memory that it then marks as used.
 *
 * Portable: the caller passes phys_to_virt, so host tests run it over a
 * buffer. Not locked: kernel/mm.c wraps it with the allocator lock.
 */
#ifndef KERNEL_FRAME_ALLOC_H
#define KERNEL_FRAME_ALLOC_H

#include <stdbool.h>
#include <stdint.h>
#include "kernel/memmap.h"

#define FRAME_SIZE	4096ull
#define FRAME_SHIFT	12
#define FRAME_NONE	0ull		/* frame 0 is never handed out */
#define LOW_MEMORY_END	0x100000ull	/* the low 1 MiB stays reserved */

struct frame_allocator {
	uint64_t *bitmap;		/* bit set: frame is free */
	uint64_t *managed;		/* bit set: frame may ever be handed out */
	uint64_t bitmap_phys;		/* both bitmaps, back to back */
	uint64_t bitmap_bytes;		/* of one bitmap */
	uint64_t base_pfn;		/* frame number of bit 0 */
	uint64_t frame_count;		/* frames covered by the bitmap */
	uint64_t free_frames;
	uint64_t managed_frames;	/* usable and not reserved at init */
	uint64_t search_hint;		/* bit index to start searching at */
};

typedef void *(*frame_phys_to_virt_fn)(uint64_t phys, void *ctx);

/*
 * Build the allocator over the usable ranges of 'map', minus 'reserved'.
 * The bitmap is placed in the lowest usable, unreserved space at or above
 * 1 MiB that ends below 'bitmap_limit' (the boot page tables only map so
 * far). Returns false, with a message, when there is no usable memory or
 * no room for the bitmap.
 */
bool frame_alloc_init(struct frame_allocator *fa,
		      const struct mem_range *map, unsigned map_count,
		      const struct mem_range *reserved, unsigned reserved_count,
		      uint64_t bitmap_limit,
		      frame_phys_to_virt_fn phys_to_virt, void *ctx);

/* One frame, or FRAME_NONE when memory is exhausted. */
uint64_t frame_alloc(struct frame_allocator *fa);

/* 'count' contiguous frames starting at a multiple of 'align' frames
 * ('align' a power of two), or FRAME_NONE. */
uint64_t frame_alloc_contig(struct frame_allocator *fa, uint64_t count,
			    uint64_t align);

/* Give back frames. Freeing a frame that is free already, or that the
 * allocator never managed, is a caller bug: it is refused and reported,
 * and false is returned (the kernel panics on it). */
bool frame_free_contig(struct frame_allocator *fa, uint64_t phys,
		       uint64_t count);
bool frame_free(struct frame_allocator *fa, uint64_t phys);

bool frame_is_free(const struct frame_allocator *fa, uint64_t phys);

#endif
