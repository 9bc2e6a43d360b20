#include "mmu/memslot.h"

const struct memslot *memslot_find(const struct memslots *slots, uint64_t gfn)
{
	for (unsigned i = 0; i < slots->count; i++) {
		const struct memslot *s = &slots->slot[i];

		if (gfn >= s->base_gfn && gfn - s->base_gfn < s->npages)
			return s;
	}
	return 0;
}

uint64_t memslot_chunk_count(const struct memslot *slot)
{
	uint64_t first = slot->base_gfn / PAGES_PER_2M;
	uint64_t last = (slot->base_gfn + slot->npages + PAGES_PER_2M - 1) /
			PAGES_PER_2M;

	return last - first;
}

static uint64_t chunk_index(const struct memslot *slot, uint64_t gfn)
{
	return gfn / PAGES_PER_2M - slot->base_gfn / PAGES_PER_2M;
}

void memslot_compute_large(struct memslot *slot)
{
	uint64_t chunks = memslot_chunk_count(slot);

	for (uint64_t c = 0; c < chunks; c++) {
		uint64_t gfn = (slot->base_gfn / PAGES_PER_2M + c) * PAGES_PER_2M;
		bool ok = gfn >= slot->base_gfn &&
			  gfn + PAGES_PER_2M <= slot->base_gfn + slot->npages;

		if (ok) {
			const uint64_t *hpa = &slot->hpa[gfn - slot->base_gfn];

			ok = (hpa[0] & ((PAGES_PER_2M << 12) - 1)) == 0;
			for (unsigned i = 1; ok && i < PAGES_PER_2M; i++)
				ok = hpa[i] == hpa[0] + ((uint64_t)i << 12);
		}
		slot->large_ok[c] = ok;
	}
}

bool memslot_large_ok(const struct memslot *slot, uint64_t gfn)
{
	return slot->large_ok[chunk_index(slot, gfn)];
}
