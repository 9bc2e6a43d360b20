/* Bitmap frame allocator (portable; see frame_alloc.h). */
#include "kernel/frame_alloc.h"
#include "kernel/compiler.h"
#include "kernel/printk.h"

static bool bit_test(const struct frame_allocator *fa, uint64_t i)
{
	return fa->bitmap[i / 64] & (1ull << (i % 64));
}

static void bit_set(struct frame_allocator *fa, uint64_t i)
{
	fa->bitmap[i / 64] |= 1ull << (i % 64);
}

static void bit_clear(struct frame_allocator *fa, uint64_t i)
{
	fa->bitmap[i / 64] &= ~(1ull << (i % 64));
}

static bool is_managed(const struct frame_allocator *fa, uint64_t i)
{
	return fa->managed[i / 64] & (1ull << (i % 64));
}

static bool ranges_overlap(uint64_t a0, uint64_t a1, uint64_t b0, uint64_t b1)
{
	return a0 < b1 && b0 < a1;
}

/* Lowest address >= 'from' in usable range 'r' where 'bytes' fit without
 * touching a reserved range, or 0. Tries each reserved range's end as the
 * next candidate: few ranges, so quadratic is fine. */
static uint64_t find_hole(const struct mem_range *r, uint64_t bytes,
			  uint64_t limit, const struct mem_range *reserved,
			  unsigned n)
{
	uint64_t base = ALIGN_UP(MAX(r->base, LOW_MEMORY_END), FRAME_SIZE);

	for (unsigned tries = 0; tries <= n; tries++) {
		uint64_t end = base + bytes;
		bool moved = false;

		if (end > r->end || end > limit || end < base)
			return 0;
		for (unsigned i = 0; i < n; i++) {
			if (ranges_overlap(base, end, reserved[i].base,
					   reserved[i].end)) {
				base = ALIGN_UP(reserved[i].end, FRAME_SIZE);
				moved = true;
			}
		}
		if (!moved)
			return base;
	}
	return 0;
}

static bool place_bitmap(struct frame_allocator *fa,
			 const struct mem_range *map, unsigned map_count,
			 const struct mem_range *reserved, unsigned nres,
			 uint64_t limit)
{
	uint64_t bytes = ALIGN_UP(2 * fa->bitmap_bytes, FRAME_SIZE);

	for (unsigned i = 0; i < map_count; i++) {
		uint64_t at;

		if (map[i].type != MEM_USABLE)
			continue;
		at = find_hole(&map[i], bytes, limit, reserved, nres);
		if (at) {
			fa->bitmap_phys = at;
			return true;
		}
	}
	return false;
}

/* At init only: a frame becomes managed and free, or neither. */
static void mark_range(struct frame_allocator *fa, uint64_t base, uint64_t end,
		       bool free)
{
	uint64_t first = base >> FRAME_SHIFT, last = end >> FRAME_SHIFT;

	for (uint64_t pfn = first; pfn < last; pfn++) {
		if (pfn < fa->base_pfn || pfn - fa->base_pfn >= fa->frame_count)
			continue;
		uint64_t i = pfn - fa->base_pfn;

		uint64_t mask = 1ull << (i % 64);

		if (free && !bit_test(fa, i)) {
			bit_set(fa, i);
			fa->managed[i / 64] |= mask;
			fa->free_frames++;
		} else if (!free && bit_test(fa, i)) {
			bit_clear(fa, i);
			fa->managed[i / 64] &= ~mask;
			fa->free_frames--;
		}
	}
}

bool frame_alloc_init(struct frame_allocator *fa,
		      const struct mem_range *map, unsigned map_count,
		      const struct mem_range *reserved, unsigned reserved_count,
		      uint64_t bitmap_limit,
		      frame_phys_to_virt_fn phys_to_virt, void *ctx)
{
	uint64_t lowest = UINT64_MAX, highest = 0;

	*fa = (struct frame_allocator){ 0 };
	for (unsigned i = 0; i < map_count; i++) {
		uint64_t base = ALIGN_UP(MAX(map[i].base, LOW_MEMORY_END),
					 FRAME_SIZE);
		uint64_t end = ALIGN_DOWN(map[i].end, FRAME_SIZE);

		if (map[i].type != MEM_USABLE || end <= base)
			continue;
		lowest = MIN(lowest, base);
		highest = MAX(highest, end);
	}
	if (highest == 0) {
		pr_err("frame allocator: the memory map has no usable memory "
		       "above 1 MiB\n");
		return false;
	}
	fa->base_pfn = lowest >> FRAME_SHIFT;
	fa->frame_count = (highest - lowest) >> FRAME_SHIFT;
	fa->bitmap_bytes = ALIGN_UP(fa->frame_count, 64) / 8;
	if (!place_bitmap(fa, map, map_count, reserved, reserved_count,
			  bitmap_limit)) {
		pr_err("frame allocator: no room for its %lu-byte bitmap in "
		       "usable memory below 0x%lx\n",
		       (unsigned long)fa->bitmap_bytes,
		       (unsigned long)bitmap_limit);
		return false;
	}
	fa->bitmap = phys_to_virt(fa->bitmap_phys, ctx);
	fa->managed = fa->bitmap + fa->bitmap_bytes / 8;
	for (uint64_t w = 0; w < 2 * fa->bitmap_bytes / 8; w++)
		fa->bitmap[w] = 0;

	for (unsigned i = 0; i < map_count; i++)
		if (map[i].type == MEM_USABLE)
			mark_range(fa, ALIGN_UP(MAX(map[i].base,
						    LOW_MEMORY_END), FRAME_SIZE),
				   map[i].end, true);
	for (unsigned i = 0; i < reserved_count; i++)
		mark_range(fa, ALIGN_DOWN(reserved[i].base, FRAME_SIZE),
			   ALIGN_UP(reserved[i].end, FRAME_SIZE), false);
	mark_range(fa, fa->bitmap_phys,
		   fa->bitmap_phys + ALIGN_UP(2 * fa->bitmap_bytes, FRAME_SIZE),
		   false);
	fa->managed_frames = fa->free_frames;
	return true;
}

static uint64_t index_to_phys(const struct frame_allocator *fa, uint64_t i)
{
	return (fa->base_pfn + i) << FRAME_SHIFT;
}

uint64_t frame_alloc(struct frame_allocator *fa)
{
	uint64_t words = fa->bitmap_bytes / 8;

	if (fa->free_frames == 0)
		return FRAME_NONE;
	for (uint64_t n = 0; n < words; n++) {
		uint64_t w = (fa->search_hint / 64 + n) % words;

		if (fa->bitmap[w]) {
			uint64_t i = w * 64 + (uint64_t)__builtin_ctzll(fa->bitmap[w]);

			bit_clear(fa, i);
			fa->free_frames--;
			fa->search_hint = i;
			return index_to_phys(fa, i);
		}
	}
	return FRAME_NONE;
}

uint64_t frame_alloc_contig(struct frame_allocator *fa, uint64_t count,
			    uint64_t align)
{
	if (count == 0 || align == 0 || (align & (align - 1)) ||
	    count > fa->free_frames)
		return FRAME_NONE;
	/* Candidate starts are aligned in absolute frame numbers, so the
	 * physical address is aligned, not just the bitmap index. */
	uint64_t first = ALIGN_UP(fa->base_pfn, align) - fa->base_pfn;

	for (uint64_t start = first; start + count <= fa->frame_count;
	     start += align) {
		uint64_t i = 0;

		while (i < count && bit_test(fa, start + i))
			i++;
		if (i == count) {
			for (i = 0; i < count; i++)
				bit_clear(fa, start + i);
			fa->free_frames -= count;
			return index_to_phys(fa, start);
		}
		/* Skip past the used frame: no start before it can work.
		 * Aligned in frame numbers, as above, not bitmap indices. */
		start = ALIGN_DOWN(fa->base_pfn + start + i, align) -
			fa->base_pfn;
	}
	return FRAME_NONE;
}

bool frame_is_free(const struct frame_allocator *fa, uint64_t phys)
{
	uint64_t pfn = phys >> FRAME_SHIFT;

	if (pfn < fa->base_pfn || pfn - fa->base_pfn >= fa->frame_count)
		return false;
	return bit_test(fa, pfn - fa->base_pfn);
}

bool frame_free_contig(struct frame_allocator *fa, uint64_t phys,
		       uint64_t count)
{
	uint64_t pfn = phys >> FRAME_SHIFT;

	if ((phys & (FRAME_SIZE - 1)) || pfn < fa->base_pfn ||
	    count > fa->frame_count || pfn - fa->base_pfn > fa->frame_count - count) {
		pr_err("frame allocator: free of 0x%lx (+%lu frames) outside "
		       "the managed memory\n", (unsigned long)phys,
		       (unsigned long)count);
		return false;
	}
	for (uint64_t i = 0; i < count; i++) {
		if (!is_managed(fa, pfn - fa->base_pfn + i)) {
			pr_err("frame allocator: free of frame 0x%lx, which it "
			       "never handed out (reserved memory)\n",
			       (unsigned long)(phys + i * FRAME_SIZE));
			return false;
		}
		if (bit_test(fa, pfn - fa->base_pfn + i)) {
			pr_err("frame allocator: double free of frame 0x%lx\n",
			       (unsigned long)(phys + i * FRAME_SIZE));
			return false;
		}
	}
	for (uint64_t i = 0; i < count; i++)
		bit_set(fa, pfn - fa->base_pfn + i);
	fa->free_frames += count;
	return true;
}

bool frame_free(struct frame_allocator *fa, uint64_t phys)
{
	return frame_free_contig(fa, phys, 1);
}
