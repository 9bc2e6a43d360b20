/*
 * Shadow MMU internals shared by mmu/shadow*.c: shadow pages, their role,
 * spte references, and the functions one file offers the others. Not for
 * use outside mmu/ (the API is mmu/shadow.h).
 *
 * A shadow page (struct shadow_page) is a 4 KiB table of 512 sptes the
 * hardware walks, plus a 4 KiB "meta" page with one word pair per entry
 * that only the MMU reads:
 *   leaf entry (4K, 2M)   info = the gfn it maps (the first for 2M);
 *                         next = the next spte in the same rmap chain
 *   table entry           info = the child page's descriptor index;
 *                         next = the next entry pointing at that child
 *                                (the child's parent list)
 *   MMIO / empty entry    0, 0
 * so reverse maps and parent lists need no allocation: they are chains of
 * spte references threaded through the meta pages.
 *
 * An spte reference (spte_ref) names one entry: (descriptor index << 9) |
 * entry index. Descriptor 0 is never used, so 0 means "none".
 */
#ifndef MMU_SHADOW_INTERNAL_H
#define MMU_SHADOW_INTERNAL_H

#include "mmu/shadow.h"

typedef uint32_t spte_ref;

/* The guest paging mode a shadow page's entries come from. */
enum shadow_guest_mode {
	SHADOW_MODE_DIRECT = 0,	/* no guest table: paging off, or a guest
				   large page split into smaller sptes */
	SHADOW_MODE_32BIT = 1,	/* 4-byte entries, 1024 a table */
	SHADOW_MODE_PAE = 2,
	SHADOW_MODE_64 = 3,	/* 4-level */
};

/*
 * What a shadow page is, besides its gfn: two pages with the same gfn and
 * role are the same page. For an indirect page (direct = 0) 'access' is
 * the guest's combined rights of the entries above the table it shadows;
 * for a direct page the rights of the guest large page it maps a piece of
 * (WRITE only if that page is dirty), with its PAT index and protection key.
 */
union shadow_role {
	uint32_t word;
	struct {
		uint32_t level : 3;	/* 1..4, as the hardware walks it */
		uint32_t mode : 2;	/* enum shadow_guest_mode */
		uint32_t quadrant : 2;	/* 32-bit guests: which part of the
					   guest table (PD: 4 x 256 entries,
					   PT: 2 x 512) */
		uint32_t access : 3;	/* SHADOW_ACC_* */
		uint32_t direct : 1;
		uint32_t nxe : 1;	/* EFER.NXE (PAE, 4-level) */
		uint32_t pse : 1;	/* CR4.PSE (32-bit) */
		uint32_t pat : 3;	/* direct: PAT index of the large page */
		uint32_t pkey : 4;	/* direct: its protection key */
		uint32_t unused : 12;
	};
};

_Static_assert(sizeof(union shadow_role) == 4, "role is one word");

struct shadow_meta {
	uint32_t info;
	spte_ref next;
};

struct shadow_page {
	uint64_t gfn;
	union shadow_role role;
	uint32_t index;			/* own descriptor index */
	uint64_t *spt;			/* the table the hardware walks */
	uint64_t spt_hpa;
	struct shadow_meta *meta;	/* [512], see the top of this file */
	uint64_t meta_hpa;
	uint64_t mmu_valid_gen;
	uint32_t hash_next;		/* sp_hash chain */
	uint32_t lru_prev, lru_next;	/* age list; free/zombie chains */
	spte_ref parent_head;		/* entries pointing at this page */
	uint32_t root_count;		/* vCPUs using it as a root */
	uint32_t unsync_children;	/* bits set in unsync_child_bitmap */
	uint64_t unsync_child_bitmap[SHADOW_ENTRIES / 64];
	uint8_t write_flooding_count;
	bool unsync;			/* level 1: the guest writes its table
					   directly; entries may be stale */
	bool invalid;			/* zapped (a zombie root until freed) */
	bool in_use;			/* descriptor allocated */
};

#define SP_HASH_BUCKETS		(4096 / sizeof(uint32_t))
#define RMAP_HASH_BUCKETS	(4096 / sizeof(uint32_t))
#define SP_PER_POOL_PAGE	(4096 / sizeof(struct shadow_page))
/* New pages a fault or root load may need before it finishes. */
#define SHADOW_PAGES_PER_FAULT	5

/* ---- Small helpers (shadow_page.c) ------------------------------------- */

void shadow_stat_add(uint64_t *counter, int64_t n);
/* The largest cap the descriptor pool can hold. */
uint32_t shadow_max_pages_limit(void);
#define STAT(mmu, field, n)	shadow_stat_add(&(mmu)->stats.field, (n))

struct shadow_page *sp_from_index(const struct shadow_mmu *mmu,
				  uint32_t index);

static inline spte_ref make_spte_ref(const struct shadow_page *sp,
				     unsigned idx)
{
	return (sp->index << 9) | idx;
}

static inline struct shadow_page *ref_sp(const struct shadow_mmu *mmu,
					 spte_ref ref)
{
	return sp_from_index(mmu, ref >> 9);
}

static inline unsigned ref_idx(spte_ref ref)
{
	return ref & (SHADOW_ENTRIES - 1);
}

static inline unsigned sp_hash_bucket(uint64_t gfn)
{
	return (unsigned)((gfn * 0x9e3779b97f4a7c15ull) >> 52) %
	       SP_HASH_BUCKETS;
}

static inline unsigned rmap_bucket(uint64_t gfn)
{
	return (unsigned)((gfn * 0xc2b2ae3d27d4eb4full) >> 52) %
	       RMAP_HASH_BUCKETS;
}

/* The memslots' generation: changed by the memslot code without the MMU
 * lock, so always read atomically. */
static inline uint64_t shadow_slots_generation(const struct shadow_mmu *mmu)
{
	return __atomic_load_n(&mmu->slots->generation, __ATOMIC_ACQUIRE);
}

static inline bool sp_obsolete(const struct shadow_mmu *mmu,
			       const struct shadow_page *sp)
{
	return sp->mmu_valid_gen != mmu->valid_gen;
}

/* Usable for new links and lookups: not zapped, not obsolete. */
static inline bool sp_valid(const struct shadow_mmu *mmu,
			    const struct shadow_page *sp)
{
	return !sp->invalid && !sp_obsolete(mmu, sp);
}

/* The child a present table entry points at. */
static inline struct shadow_page *sp_child(const struct shadow_mmu *mmu,
					   const struct shadow_page *sp,
					   unsigned idx)
{
	return sp_from_index(mmu, sp->meta[idx].info);
}

/* ---- Shadow pages (shadow_page.c) --------------------------------------- */

/* Zero the table and meta pages a new page needs and a descriptor: make
 * sure 'count' pages can be created without failing (zapping the oldest
 * pages to stay under the cap, or when the host is out of memory). */
bool shadow_reserve_pages(struct shadow_mmu *mmu, unsigned count);
/* The valid page with this gfn and role, or a new one (from the reserve).
 * A found unsync page is synced first; creating an indirect page zaps the
 * unsync level-1 pages of the gfn if it is an upper level, and
 * write-protects the gfn (flushing at once). */
struct shadow_page *shadow_get_page(struct shadow_mmu *mmu, uint64_t gfn,
				    union shadow_role role);
/* Find without creating (valid pages only). */
struct shadow_page *shadow_find_page(struct shadow_mmu *mmu, uint64_t gfn,
				     union shadow_role role);
/* Point the empty entry (parent, idx) at child; marks parent unsync-child
 * if the child is unsync or has unsync children. */
void shadow_link(struct shadow_mmu *mmu, struct shadow_page *parent,
		 unsigned idx, struct shadow_page *child);
/* Clear one entry of any kind, undoing its rmap/parent link; requests a
 * flush if it was shadow-present. */
void shadow_zap_entry(struct shadow_mmu *mmu, struct shadow_page *sp,
		      unsigned idx);
/* Zap a whole page: entries, parent entries, hash; freed at the next
 * commit (or when its last vCPU releases it, for a root). */
void shadow_zap_page(struct shadow_mmu *mmu, struct shadow_page *sp);
/* Flush if needed, then free what was zapped. Called before every unlock
 * and wherever the flush must happen at once. */
void shadow_commit(struct shadow_mmu *mmu);
/* Take and release the MMU lock; the release commits first. */
void shadow_lock(struct shadow_mmu *mmu);
void shadow_unlock(struct shadow_mmu *mmu);
/* A vCPU stops using sp as a root. */
void shadow_put_root(struct shadow_mmu *mmu, struct shadow_page *sp);
void shadow_free_all_pages(struct shadow_mmu *mmu);
/* First valid-or-not page of gfn in the hash; iterate with hash_next. */
struct shadow_page *shadow_hash_first(const struct shadow_mmu *mmu,
				      uint64_t gfn);

/* ---- Reverse maps and write protection (shadow_rmap.c) ----------------- */

void shadow_rmap_add(struct shadow_mmu *mmu, struct shadow_page *sp,
		     unsigned idx, uint64_t gfn);
void shadow_rmap_remove(struct shadow_mmu *mmu, struct shadow_page *sp,
			unsigned idx);
/* A valid synced indirect page shadows gfn: its leaves must not be RW. */
bool shadow_gfn_protected(struct shadow_mmu *mmu, uint64_t gfn);
/* Any valid indirect page (synced or not) in the 2 MiB chunk of gfn. */
bool shadow_chunk_has_tables(struct shadow_mmu *mmu, uint64_t gfn);
/* Clear RW and MMU_WRITABLE in every leaf mapping gfn, zap 2 MiB leaves
 * covering it; true if anything changed (a flush is then pending). */
bool shadow_write_protect_gfn(struct shadow_mmu *mmu, uint64_t gfn);
/* Can every shadow page of gfn go unsync (all level 1)? Then mark them. */
bool shadow_try_unsync(struct shadow_mmu *mmu, uint64_t gfn);
void shadow_mark_parents_unsync(struct shadow_mmu *mmu,
				struct shadow_page *sp);
void shadow_clear_unsync_bit(struct shadow_page *sp, unsigned idx);
/* Write a leaf spte (new mapping or changed one) with rmap upkeep and a
 * flush request when the old one was removed or narrowed. */
void shadow_set_leaf(struct shadow_mmu *mmu, struct shadow_page *sp,
		     unsigned idx, uint64_t spte, uint64_t gfn);

/* ---- Guest entries (shadow_sync.c) --------------------------------------- */

/* Guest-physical address and size of the guest entry behind entry idx. */
uint64_t sp_gpte_gpa(const struct shadow_page *sp, unsigned idx);
unsigned sp_gpte_size(const struct shadow_page *sp);
bool shadow_read_gpte(struct shadow_mmu *mmu, uint64_t gpa, unsigned size,
		      uint64_t *gpte);
/* The guest paging state a role's entries are interpreted with. */
void shadow_role_paging(const struct shadow_mmu *mmu, union shadow_role role,
			struct guest_paging *paging);
/* SHADOW_ACC_* granted by one guest entry in a page of this role. */
unsigned shadow_gpte_access(union shadow_role role, uint64_t gpte);
/* Build the leaf spte for gfn (level 1 or 2) with rmap-independent
 * decisions: memslot lookup, write protection. False if gfn is not RAM. */
bool shadow_make_leaf(struct shadow_mmu *mmu, uint64_t gfn, unsigned level,
		      unsigned access, unsigned pat_index, unsigned pkey,
		      bool write_protected, uint64_t *spte);
/* Bring an unsync page in sync (write-protect its gfn, flush, re-read
 * every entry). */
void shadow_sync_page(struct shadow_mmu *mmu, struct shadow_page *sp);
/* After a walk set A/D bits: fix the pages that read them differently. */
void shadow_walk_ad_fixup(struct shadow_mmu *mmu,
			  const struct guest_walk *walk, bool four_byte);
/* Sync every unsync page below sp. */
void shadow_sync_children(struct shadow_mmu *mmu, struct shadow_page *sp);

/* ---- Roots and modes (shadow.c) ------------------------------------------- */

/* The guest's paging mode (SHADOW_MODE_DIRECT: paging off); 5-level
 * paging, which the shadow MMU does not support, gives -1. */
int shadow_vcpu_mode(const struct shadow_vcpu *v);
/* Has a root page of v been zapped, or the generation moved on? Lockless. */
bool shadow_root_stale(const struct shadow_vcpu *v);
/* Load the root for v->paging (releasing the old one); 'sync': bring every
 * unsync page it reaches in sync (an architectural TLB flush). */
enum shadow_cr_result shadow_load_root_locked(struct shadow_vcpu *v);

#endif
