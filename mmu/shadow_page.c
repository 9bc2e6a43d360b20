/*
 * Shadow pages: descriptors, the (gfn, role) hash, the age list, linking
 * and zapping, the page cap, and the commit that flushes before the lock
 * is dropped. See mmu/shadow_internal.h for the structures.
 *
 * The lifetime of a shadow page:
 *   created   by shadow_get_page (from pages reserved beforehand, so a
 *             fault never fails half-way); in the hash and the age list
 *   linked    by parent entries (shadow_link) and/or held as a root by
 *             vCPUs (root_count)
 *   zapped    by shadow_zap_page: its entries and every entry pointing at
 *             it cleared, out of the hash and age list, 'invalid'. Then
 *             either on the to_free list (freed by the next commit, after
 *             the flush) or, if a vCPU still holds it as a root, a zombie
 *             until the last one lets go (shadow_put_root).
 *   freed     its two pages go back to the page cache or the platform, the
 *             descriptor to the free list. Descriptors themselves are never
 *             freed before the MMU is destroyed, so a lockless walker may
 *             always read one (and check it still owns the table it found).
 */
#include "mmu/shadow_internal.h"

void shadow_stat_add(uint64_t *counter, int64_t n)
{
	__atomic_fetch_add(counter, (uint64_t)n, __ATOMIC_RELAXED);
}

/* The pool directory: one page of {descriptor page, its hpa}. */
struct pool_dir_entry {
	struct shadow_page *page;
	uint64_t hpa;
};

#define POOL_PAGES_MAX	(4096 / sizeof(struct pool_dir_entry))

_Static_assert(SP_PER_POOL_PAGE >= 16, "shadow_page grew too large");

static struct pool_dir_entry *pool_dir(const struct shadow_mmu *mmu)
{
	return (struct pool_dir_entry *)mmu->pool_dir;
}

struct shadow_page *sp_from_index(const struct shadow_mmu *mmu,
				  uint32_t index)
{
	return &pool_dir(mmu)[index / SP_PER_POOL_PAGE]
		.page[index % SP_PER_POOL_PAGE];
}

uint32_t shadow_max_pages_limit(void)
{
	return POOL_PAGES_MAX * SP_PER_POOL_PAGE - 1;
}

static void zero_page(void *page)
{
	uint64_t *p = page;

	for (unsigned i = 0; i < 512; i++)
		p[i] = 0;
}

/* ---- Table pages: a small cache of zeroed pages -------------------------- */

static void cache_put(struct shadow_mmu *mmu, uint64_t hpa)
{
	zero_page(mmu_hpa_to_virt(hpa));
	if (mmu->cache_count < sizeof(mmu->cache_hpa) / sizeof(uint64_t))
		mmu->cache_hpa[mmu->cache_count++] = hpa;
	else
		mmu_free_table(hpa);
}

static bool cache_fill(struct shadow_mmu *mmu, unsigned count)
{
	while (mmu->cache_count < count) {
		uint64_t hpa;

		if (!mmu_alloc_table(&hpa))
			return false;
		mmu->cache_hpa[mmu->cache_count++] = hpa;
	}
	return true;
}

/* ---- Descriptors ----------------------------------------------------------- */

static bool pool_grow(struct shadow_mmu *mmu)
{
	uint32_t page_no = mmu->pool_allocated;
	struct pool_dir_entry *dir = pool_dir(mmu);
	uint64_t hpa;
	struct shadow_page *page;

	if (page_no >= POOL_PAGES_MAX)
		return false;
	page = mmu_alloc_table(&hpa);
	if (!page)
		return false;
	dir[page_no] = (struct pool_dir_entry){ .page = page, .hpa = hpa };
	/* Push in reverse so the lowest index comes out first. */
	for (unsigned i = SP_PER_POOL_PAGE; i-- > 0;) {
		uint32_t index = page_no * SP_PER_POOL_PAGE + i;

		if (index == 0)
			continue;		/* 0 means "none" */
		page[i] = (struct shadow_page){ .index = index,
						.lru_next = mmu->pool_free };
		mmu->pool_free = index;
	}
	/* Published last: the lockless walk bounds indices by it. */
	__atomic_store_n(&mmu->pool_allocated, page_no + 1, __ATOMIC_RELEASE);
	return true;
}

static bool descriptors_available(struct shadow_mmu *mmu, unsigned count)
{
	for (;;) {
		unsigned n = 0;

		for (uint32_t i = mmu->pool_free; i && n < count;
		     i = sp_from_index(mmu, i)->lru_next)
			n++;
		if (n >= count)
			return true;
		if (!pool_grow(mmu))
			return false;
	}
}

/* ---- The hash and the age list --------------------------------------------- */

struct shadow_page *shadow_hash_first(const struct shadow_mmu *mmu,
				      uint64_t gfn)
{
	uint32_t index = mmu->sp_hash[sp_hash_bucket(gfn)];

	return index ? sp_from_index(mmu, index) : 0;
}

static void hash_insert(struct shadow_mmu *mmu, struct shadow_page *sp)
{
	uint32_t *head = &mmu->sp_hash[sp_hash_bucket(sp->gfn)];

	sp->hash_next = *head;
	*head = sp->index;
}

static void hash_remove(struct shadow_mmu *mmu, struct shadow_page *sp)
{
	uint32_t *link = &mmu->sp_hash[sp_hash_bucket(sp->gfn)];

	while (*link != sp->index)
		link = &sp_from_index(mmu, *link)->hash_next;
	*link = sp->hash_next;
	sp->hash_next = 0;
}

/* Newest at lru_newest; lru_next goes towards older pages. */
static void lru_insert_newest(struct shadow_mmu *mmu, struct shadow_page *sp)
{
	sp->lru_prev = 0;
	sp->lru_next = mmu->lru_newest;
	if (mmu->lru_newest)
		sp_from_index(mmu, mmu->lru_newest)->lru_prev = sp->index;
	else
		mmu->lru_oldest = sp->index;
	mmu->lru_newest = sp->index;
}

static void lru_remove(struct shadow_mmu *mmu, struct shadow_page *sp)
{
	if (sp->lru_prev)
		sp_from_index(mmu, sp->lru_prev)->lru_next = sp->lru_next;
	else
		mmu->lru_newest = sp->lru_next;
	if (sp->lru_next)
		sp_from_index(mmu, sp->lru_next)->lru_prev = sp->lru_prev;
	else
		mmu->lru_oldest = sp->lru_prev;
	sp->lru_prev = sp->lru_next = 0;
}

/* ---- Creating and freeing ---------------------------------------------------- */

/*
 * (Re)initialise a descriptor. The fields the lockless MMIO walk reads
 * (role, spt, spt_hpa, meta, invalid) are written with atomic stores: a
 * walker holding a stale index may read a descriptor while it is reused,
 * and only rejects it by what it reads (lockless_leaf_spte).
 */
static void sp_init(struct shadow_page *sp, uint64_t gfn,
		    union shadow_role role, uint64_t spt_hpa, uint64_t meta_hpa,
		    uint32_t lru_next)
{
	uint32_t index = sp->index;

	sp->gfn = gfn;
	sp->mmu_valid_gen = 0;
	sp->hash_next = sp->lru_prev = 0;
	sp->lru_next = lru_next;
	sp->parent_head = 0;
	sp->root_count = sp->unsync_children = 0;
	for (unsigned i = 0; i < SHADOW_ENTRIES / 64; i++)
		sp->unsync_child_bitmap[i] = 0;
	sp->write_flooding_count = 0;
	sp->unsync = false;
	sp->in_use = spt_hpa != 0;
	sp->index = index;
	sp->meta_hpa = meta_hpa;
	__atomic_store_n(&sp->role.word, role.word, __ATOMIC_RELAXED);
	__atomic_store_n(&sp->spt_hpa, spt_hpa, __ATOMIC_RELAXED);
	__atomic_store_n(&sp->spt, spt_hpa ? mmu_hpa_to_virt(spt_hpa) : 0,
			 __ATOMIC_RELAXED);
	__atomic_store_n(&sp->meta, meta_hpa ? mmu_hpa_to_virt(meta_hpa) : 0,
			 __ATOMIC_RELAXED);
	__atomic_store_n(&sp->invalid, false, __ATOMIC_RELAXED);
}

static struct shadow_page *alloc_page(struct shadow_mmu *mmu, uint64_t gfn,
				      union shadow_role role)
{
	struct shadow_page *sp;
	uint32_t index = mmu->pool_free;
	uint64_t spt_hpa, meta_hpa;

	if (!index || mmu->cache_count < 2)
		return 0;		/* not reserved: a caller bug */
	sp = sp_from_index(mmu, index);
	mmu->pool_free = sp->lru_next;
	spt_hpa = mmu->cache_hpa[--mmu->cache_count];
	meta_hpa = mmu->cache_hpa[--mmu->cache_count];
	sp_init(sp, gfn, role, spt_hpa, meta_hpa, 0);
	sp->mmu_valid_gen = mmu->valid_gen;
	hash_insert(mmu, sp);
	lru_insert_newest(mmu, sp);
	mmu->pages++;
	STAT(mmu, pages, 1);
	STAT(mmu, pages_created, 1);
	return sp;
}

/* Give back a zapped page's memory (its entries are all clear). */
static void free_page(struct shadow_mmu *mmu, struct shadow_page *sp)
{
	cache_put(mmu, sp->spt_hpa);
	cache_put(mmu, sp->meta_hpa);
	sp_init(sp, 0, (union shadow_role){ .word = 0 }, 0, 0, mmu->pool_free);
	mmu->pool_free = sp->index;
	mmu->pages--;
	STAT(mmu, pages, -1);
}

void shadow_commit(struct shadow_mmu *mmu)
{
	mmu_assert_locked(&mmu->lock);
	if (mmu->flush_pending) {
		mmu->ops->flush_remote_tlbs(mmu->vm_ctx);
		mmu->flush_pending = false;
		STAT(mmu, remote_flushes, 1);
	}
	while (mmu->to_free) {
		struct shadow_page *sp = sp_from_index(mmu, mmu->to_free);

		mmu->to_free = sp->lru_next;
		free_page(mmu, sp);
	}
}

void shadow_lock(struct shadow_mmu *mmu)
{
	mmu_lock(&mmu->lock);
}

/* The only way the MMU lock is released: nothing removed or narrowed under
 * it stays unflushed (docs/locking.md, the TLB rule). */
void shadow_unlock(struct shadow_mmu *mmu)
{
	shadow_commit(mmu);
	mmu_unlock(&mmu->lock);
}

/* ---- Parent links ----------------------------------------------------------- */

static struct shadow_meta *ref_meta(const struct shadow_mmu *mmu,
				    spte_ref ref)
{
	return &ref_sp(mmu, ref)->meta[ref_idx(ref)];
}

static void parent_remove(struct shadow_mmu *mmu, struct shadow_page *child,
			  spte_ref ref)
{
	spte_ref *link = &child->parent_head;

	while (*link != ref)
		link = &ref_meta(mmu, *link)->next;
	*link = ref_meta(mmu, ref)->next;
}

void shadow_link(struct shadow_mmu *mmu, struct shadow_page *parent,
		 unsigned idx, struct shadow_page *child)
{
	struct shadow_meta *meta = &parent->meta[idx];

	mmu_assert_locked(&mmu->lock);
	/* The meta word first: a lockless walker that sees the entry finds
	 * the child's descriptor index there (the store-release orders it). */
	__atomic_store_n(&meta->info, child->index, __ATOMIC_RELAXED);
	meta->next = child->parent_head;
	child->parent_head = make_spte_ref(parent, idx);
	spte_write(&parent->spt[idx], make_shadow_table_spte(child->spt_hpa));
	if (child->unsync || child->unsync_children) {
		parent->unsync_child_bitmap[idx / 64] |= 1ull << (idx % 64);
		if (parent->unsync_children++ == 0)
			shadow_mark_parents_unsync(mmu, parent);
	}
}

/* ---- Zapping ------------------------------------------------------------------ */

static void zap_entry(struct shadow_mmu *mmu, struct shadow_page *sp,
		      unsigned idx, bool flush)
{
	uint64_t old = sp->spt[idx];

	if (!old)
		return;
	if (is_mmio_spte(old)) {
		/* Never cached by a TLB (it faults): no flush. */
		spte_write(&sp->spt[idx], 0);
		STAT(mmu, mmio_sptes, -1);
		return;
	}
	if (is_shadow_leaf_spte(old, sp->role.level)) {
		shadow_rmap_remove(mmu, sp, idx);
		if (sp->role.level == 1)
			STAT(mmu, leaves_4k, -1);
		else
			STAT(mmu, leaves_2m, -1);
	} else {
		parent_remove(mmu, sp_child(mmu, sp, idx),
			      make_spte_ref(sp, idx));
		shadow_clear_unsync_bit(sp, idx);
	}
	spte_write(&sp->spt[idx], 0);
	__atomic_store_n(&sp->meta[idx].info, 0, __ATOMIC_RELAXED);
	sp->meta[idx].next = 0;
	if (flush) {
		mmu->flush_pending = true;
		STAT(mmu, flush_requests, 1);
	}
}

void shadow_zap_entry(struct shadow_mmu *mmu, struct shadow_page *sp,
		      unsigned idx)
{
	mmu_assert_locked(&mmu->lock);
	zap_entry(mmu, sp, idx, true);
}

void shadow_zap_page(struct shadow_mmu *mmu, struct shadow_page *sp)
{
	/* Entries of a page no CPU can reach need no flush. */
	bool reachable = sp->parent_head || sp->root_count;

	mmu_assert_locked(&mmu->lock);
	STAT(mmu, pages_zapped, 1);
	for (unsigned idx = 0; idx < SHADOW_ENTRIES; idx++)
		zap_entry(mmu, sp, idx, reachable);
	while (sp->parent_head) {
		spte_ref ref = sp->parent_head;

		zap_entry(mmu, ref_sp(mmu, ref), ref_idx(ref), true);
	}
	hash_remove(mmu, sp);
	lru_remove(mmu, sp);
	sp->unsync = false;
	__atomic_store_n(&sp->invalid, true, __ATOMIC_RELEASE);
	if (sp->root_count) {
		sp->lru_next = mmu->zombie_roots;
		mmu->zombie_roots = sp->index;
	} else {
		sp->lru_next = mmu->to_free;
		mmu->to_free = sp->index;
	}
}

void shadow_put_root(struct shadow_mmu *mmu, struct shadow_page *sp)
{
	mmu_assert_locked(&mmu->lock);
	if (--sp->root_count || !sp->invalid)
		return;
	/* A zombie let go: it was emptied and flushed when it was zapped. */
	uint32_t *link = &mmu->zombie_roots;

	while (*link != sp->index)
		link = &sp_from_index(mmu, *link)->lru_next;
	*link = sp->lru_next;
	sp->lru_next = mmu->to_free;
	mmu->to_free = sp->index;
}

/* ---- The cap ----------------------------------------------------------------- */

/* Zap the oldest page no vCPU holds as a root; false if there is none. */
static bool reclaim_one(struct shadow_mmu *mmu)
{
	for (uint32_t i = mmu->lru_oldest; i;) {
		struct shadow_page *sp = sp_from_index(mmu, i);

		if (!sp->root_count) {
			shadow_zap_page(mmu, sp);
			STAT(mmu, reclaimed, 1);
			return true;
		}
		i = sp->lru_prev;
	}
	return false;
}

bool shadow_reserve_pages(struct shadow_mmu *mmu, unsigned count)
{
	bool reclaimed = false;

	mmu_assert_locked(&mmu->lock);
	while (mmu->pages + count > mmu->cfg.max_pages) {
		if (!reclaim_one(mmu))
			break;
		reclaimed = true;
	}
	if (reclaimed)
		shadow_commit(mmu);
	if (mmu->pages + count > mmu->cfg.max_pages)
		return false;
	/* Out of host memory: free pages by zapping old ones, and retry. */
	while (!descriptors_available(mmu, count) ||
	       !cache_fill(mmu, 2 * count)) {
		if (!reclaim_one(mmu))
			return false;
		shadow_commit(mmu);
	}
	return true;
}

/* ---- Lookup ------------------------------------------------------------------- */

struct shadow_page *shadow_find_page(struct shadow_mmu *mmu, uint64_t gfn,
				     union shadow_role role)
{
	for (struct shadow_page *sp = shadow_hash_first(mmu, gfn); sp;
	     sp = sp->hash_next ? sp_from_index(mmu, sp->hash_next) : 0)
		if (sp->gfn == gfn && sp->role.word == role.word &&
		    sp_valid(mmu, sp))
			return sp;
	return 0;
}

struct shadow_page *shadow_get_page(struct shadow_mmu *mmu, uint64_t gfn,
				    union shadow_role role)
{
	struct shadow_page *sp, *next;

	mmu_assert_locked(&mmu->lock);
	for (sp = shadow_hash_first(mmu, gfn); sp; sp = next) {
		next = sp->hash_next ? sp_from_index(mmu, sp->hash_next) : 0;
		if (sp->gfn != gfn || !sp_valid(mmu, sp))
			continue;
		if (sp->role.word == role.word) {
			if (sp->unsync)
				shadow_sync_page(mmu, sp);
			return sp;
		}
		/* The guest uses the table at an upper level now: its
		 * entries must be trapped, so no copy may stay unsync. */
		if (!role.direct && !sp->role.direct && role.level > 1 &&
		    sp->unsync)
			shadow_zap_page(mmu, sp);
	}
	sp = alloc_page(mmu, gfn, role);
	if (!sp || role.direct)
		return sp;
	/* From now on every guest write to the table traps (or makes the
	 * page unsync). Flush before the caller reads the guest entries
	 * again: until then another vCPU may still write through a stale
	 * writable translation. */
	if (shadow_write_protect_gfn(mmu, gfn))
		shadow_commit(mmu);
	return sp;
}

/* ---- Teardown ------------------------------------------------------------------ */

void shadow_free_all_pages(struct shadow_mmu *mmu)
{
	struct pool_dir_entry *dir = pool_dir(mmu);

	for (uint32_t p = 0; p < mmu->pool_allocated; p++) {
		for (unsigned i = 0; i < SP_PER_POOL_PAGE; i++) {
			struct shadow_page *sp = &dir[p].page[i];

			if (!sp->in_use)
				continue;
			mmu_free_table(sp->spt_hpa);
			mmu_free_table(sp->meta_hpa);
			STAT(mmu, pages, -1);
		}
		mmu_free_table(dir[p].hpa);
	}
	while (mmu->cache_count)
		mmu_free_table(mmu->cache_hpa[--mmu->cache_count]);
	mmu->pool_allocated = 0;
	mmu->pool_free = 0;
	mmu->pages = 0;
	mmu->lru_newest = mmu->lru_oldest = 0;
	mmu->to_free = mmu->zombie_roots = 0;
}
