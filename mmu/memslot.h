/*
 * Guest-physical memory: a few slots, each a range of guest frame numbers
 * backed by host frames. The slot records the host address of every 4 KiB
 * page, and for each 2 MiB-aligned guest chunk whether its host pages are
 * contiguous and 2 MiB aligned too (then the MMU may map it with one large
 * page). Portable.
 */
#ifndef MMU_MEMSLOT_H
#define MMU_MEMSLOT_H

#include <stdbool.h>
#include <stdint.h>

#define MEMSLOTS_MAX	8
#define PAGES_PER_2M	512

struct memslot {
	uint64_t base_gfn;
	uint64_t npages;
	uint64_t *hpa;		/* [npages]: host address of each page */
	uint8_t *large_ok;	/* [chunk count]: see memslot_large_ok */
};

struct memslots {
	struct memslot slot[MEMSLOTS_MAX];
	unsigned count;
	uint64_t generation;	/* bumped on every change (MMIO sptes later) */
};

/* The slot holding 'gfn', or NULL (an unassigned guest address). */
const struct memslot *memslot_find(const struct memslots *slots, uint64_t gfn);

/* Fill slot->large_ok from slot->hpa (the caller allocated it with
 * memslot_chunk_count entries). */
void memslot_compute_large(struct memslot *slot);
uint64_t memslot_chunk_count(const struct memslot *slot);

/* May the 2 MiB-aligned guest range holding 'gfn' (a gfn of this slot) be
 * one large page? It must lie wholly inside the slot and be backed by 512
 * contiguous host pages starting on a 2 MiB boundary. */
bool memslot_large_ok(const struct memslot *slot, uint64_t gfn);

#endif
