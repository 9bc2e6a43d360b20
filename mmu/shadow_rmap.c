/*
 * Reverse maps and write protection.
 *
 * rmap: every leaf spte (4 KiB or 2 MiB) is on the chain of its bucket,
 * rmap_hash[rmap_bucket(gfn)], threaded through the meta pages (info = the
 * gfn, the first one for a 2 MiB leaf; next = the next spte on the chain).
 * A chain holds the sptes of every gfn that hashes there, so a walk filters
 * on info. This answers "which sptes map gfn G" when G becomes a shadowed
 * guest page table (they must lose RW) and keeps the zap paths exact.
 *
 * Write protection: G is write-protected while a valid indirect shadow
 * page with gfn G is in sync (shadow_gfn_protected). Such a page's
 * entries are only correct while every guest store to G traps, so no leaf
 * mapping G may be writable: new leaves are built without RW
 * (make_shadow_leaf_spte's write_protected), and existing ones lose RW and
 * MMU_WRITABLE when the page is created (shadow_write_protect_gfn). A 2 MiB
 * leaf over a chunk holding G is zapped then, and none is built over a
 * chunk that holds any shadowed gfn (shadow_chunk_has_tables).
 *
 * Unsync: if every shadow page of G is a level-1 page, a write fault may
 * mark them unsync (shadow_try_unsync) instead: the guest then writes G
 * directly, and the pages' parents carry a bit per entry (up to the roots)
 * saying "an unsync page is below here", so a CR3 load finds them.
 */
#include "mmu/shadow_internal.h"

static struct shadow_meta *ref_meta(const struct shadow_mmu *mmu,
				    spte_ref ref)
{
	return &ref_sp(mmu, ref)->meta[ref_idx(ref)];
}

void shadow_rmap_add(struct shadow_mmu *mmu, struct shadow_page *sp,
		     unsigned idx, uint64_t gfn)
{
	uint32_t *head = &mmu->rmap_hash[rmap_bucket(gfn)];

	/* Atomic: a lockless walker may still read this word as a table
	 * entry's child index (shadow_page.c, sp_init). */
	__atomic_store_n(&sp->meta[idx].info, (uint32_t)gfn, __ATOMIC_RELAXED);
	sp->meta[idx].next = *head;
	*head = make_spte_ref(sp, idx);
}

void shadow_rmap_remove(struct shadow_mmu *mmu, struct shadow_page *sp,
			unsigned idx)
{
	spte_ref ref = make_spte_ref(sp, idx);
	spte_ref *link = &mmu->rmap_hash[rmap_bucket(sp->meta[idx].info)];

	while (*link != ref)
		link = &ref_meta(mmu, *link)->next;
	*link = sp->meta[idx].next;
	sp->meta[idx].next = 0;
}

bool shadow_gfn_protected(struct shadow_mmu *mmu, uint64_t gfn)
{
	for (struct shadow_page *sp = shadow_hash_first(mmu, gfn); sp;
	     sp = sp->hash_next ? sp_from_index(mmu, sp->hash_next) : 0)
		if (sp->gfn == gfn && !sp->role.direct && !sp->unsync &&
		    sp_valid(mmu, sp))
			return true;
	return false;
}

static bool gfn_has_tables(struct shadow_mmu *mmu, uint64_t gfn)
{
	for (struct shadow_page *sp = shadow_hash_first(mmu, gfn); sp;
	     sp = sp->hash_next ? sp_from_index(mmu, sp->hash_next) : 0)
		if (sp->gfn == gfn && !sp->role.direct && sp_valid(mmu, sp))
			return true;
	return false;
}

bool shadow_chunk_has_tables(struct shadow_mmu *mmu, uint64_t gfn)
{
	uint64_t first = gfn & ~(uint64_t)(PAGES_PER_2M - 1);

	for (uint64_t g = first; g < first + PAGES_PER_2M; g++)
		if (gfn_has_tables(mmu, g))
			return true;
	return false;
}

/* The first 2 MiB leaf mapping the chunk that starts at 'first', or 0. */
static spte_ref find_large_leaf(struct shadow_mmu *mmu, uint64_t first)
{
	for (spte_ref ref = mmu->rmap_hash[rmap_bucket(first)]; ref;
	     ref = ref_meta(mmu, ref)->next)
		if (ref_meta(mmu, ref)->info == first &&
		    ref_sp(mmu, ref)->role.level > 1)
			return ref;
	return 0;
}

bool shadow_write_protect_gfn(struct shadow_mmu *mmu, uint64_t gfn)
{
	bool flush = false;
	spte_ref ref;

	mmu_assert_locked(&mmu->lock);
	if (gfn > UINT32_MAX)
		return false;		/* never mapped (see shadow_make_leaf) */
	for (ref = mmu->rmap_hash[rmap_bucket(gfn)]; ref;
	     ref = ref_meta(mmu, ref)->next) {
		struct shadow_page *sp = ref_sp(mmu, ref);
		uint64_t *sptep = &sp->spt[ref_idx(ref)];
		uint64_t spte = *sptep;

		if (ref_meta(mmu, ref)->info != gfn || sp->role.level != 1 ||
		    !(spte & (SPTE_RW | SPTE_MMU_WRITABLE)))
			continue;
		if (spte & SPTE_RW)
			flush = true;
		spte_write(sptep, spte_write_protect(spte));
		STAT(mmu, write_protects, 1);
	}
	while ((ref = find_large_leaf(mmu, gfn & ~(uint64_t)511))) {
		shadow_zap_entry(mmu, ref_sp(mmu, ref), ref_idx(ref));
		flush = true;
	}
	if (flush) {
		mmu->flush_pending = true;
		STAT(mmu, flush_requests, 1);
	}
	return flush;
}

void shadow_clear_unsync_bit(struct shadow_page *sp, unsigned idx)
{
	uint64_t bit = 1ull << (idx % 64);

	if (sp->unsync_child_bitmap[idx / 64] & bit) {
		sp->unsync_child_bitmap[idx / 64] &= ~bit;
		sp->unsync_children--;
	}
}

void shadow_mark_parents_unsync(struct shadow_mmu *mmu,
				struct shadow_page *sp)
{
	for (spte_ref ref = sp->parent_head; ref;
	     ref = ref_meta(mmu, ref)->next) {
		struct shadow_page *parent = ref_sp(mmu, ref);
		unsigned idx = ref_idx(ref);
		uint64_t bit = 1ull << (idx % 64);

		if (parent->unsync_child_bitmap[idx / 64] & bit)
			continue;
		parent->unsync_child_bitmap[idx / 64] |= bit;
		if (parent->unsync_children++ == 0)
			shadow_mark_parents_unsync(mmu, parent);
	}
}

bool shadow_try_unsync(struct shadow_mmu *mmu, uint64_t gfn)
{
	struct shadow_page *sp;

	for (sp = shadow_hash_first(mmu, gfn); sp;
	     sp = sp->hash_next ? sp_from_index(mmu, sp->hash_next) : 0)
		if (sp->gfn == gfn && !sp->role.direct && sp_valid(mmu, sp) &&
		    sp->role.level != 1)
			return false;
	for (sp = shadow_hash_first(mmu, gfn); sp;
	     sp = sp->hash_next ? sp_from_index(mmu, sp->hash_next) : 0) {
		if (sp->gfn != gfn || sp->role.direct || !sp_valid(mmu, sp) ||
		    sp->unsync)
			continue;
		sp->unsync = true;
		STAT(mmu, unsynced, 1);
		shadow_mark_parents_unsync(mmu, sp);
	}
	return true;
}

/*
 * Did the mapping get narrower from old to new (same leaf position)? Then
 * a TLB may hold more than the new spte allows. Adding RW, US, D or
 * MMU_WRITABLE, or removing NX, only widens it.
 */
static bool leaf_narrowed(uint64_t old, uint64_t new)
{
	const uint64_t widening = SPTE_RW | SPTE_D | SPTE_MMU_WRITABLE |
				  SPTE_US;
	uint64_t diff = old ^ new;

	if (diff & old & widening)
		return true;
	if (diff & new & SPTE_NX)
		return true;
	return (diff & ~(widening | SPTE_NX | SPTE_A)) != 0;
}

void shadow_set_leaf(struct shadow_mmu *mmu, struct shadow_page *sp,
		     unsigned idx, uint64_t spte, uint64_t gfn)
{
	uint64_t old = sp->spt[idx];
	unsigned level = sp->role.level;

	mmu_assert_locked(&mmu->lock);
	if (old == spte)
		return;
	if (old && (is_mmio_spte(old) || !is_shadow_leaf_spte(old, level))) {
		shadow_zap_entry(mmu, sp, idx);
		old = 0;
	}
	if (old) {
		if (sp->meta[idx].info != gfn) {
			shadow_rmap_remove(mmu, sp, idx);
			shadow_rmap_add(mmu, sp, idx, gfn);
			mmu->flush_pending = true;
			STAT(mmu, flush_requests, 1);
		} else if (leaf_narrowed(old, spte)) {
			mmu->flush_pending = true;
			STAT(mmu, flush_requests, 1);
		}
	} else {
		shadow_rmap_add(mmu, sp, idx, gfn);
		if (level == 1)
			STAT(mmu, leaves_4k, 1);
		else
			STAT(mmu, leaves_2m, 1);
	}
	spte_write(&sp->spt[idx], spte);
}
