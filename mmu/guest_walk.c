/*
 * The guest page-table walker: see mmu/guest_walk.h for the semantics and
 * docs/mmu-guest-walk.md for the choices.
 *
 * One walk: work out the mode and the reserved-bit masks from the control
 * registers once (struct walk_masks), step down the levels reading one entry
 * each (walk_step), check the combined rights at the end (access_denied),
 * then set the accessed and dirty bits with cmpxchg (set_accessed_dirty).
 * If an entry changed since it was read, the walk starts again from the top:
 * every retry means the guest changed its tables, so it makes progress.
 */
#include "mmu/guest_walk.h"

/* The reserved bits and shape of one paging mode, computed once a walk. */
struct walk_masks {
	unsigned root_level;		/* 2: 32-bit, 3: PAE, 4 or 5 */
	unsigned entry_size;		/* bytes: 4 (32-bit) or 8 */
	unsigned index_bits;		/* per level: 10 (32-bit) or 9 */
	bool pae_pdptes;		/* the top level is the cached PDPTEs */
	bool pse36;			/* 32-bit 4M leaves: address bits 39:32 */
	uint64_t gva_mask;		/* linear-address bits that count */
	uint64_t root;			/* the top table's gpa, from CR3 */
	uint64_t addr_mask;		/* address field of an entry */
	unsigned large_levels;		/* bit n: PS = 1 at level n maps a page */
	/* Reserved bits at level n: [n] for an entry that is not a large
	 * leaf (includes PS where PS is reserved), rsvd_large[n] for one. */
	uint64_t rsvd[GUEST_WALK_MAX_LEVELS + 1];
	uint64_t rsvd_large[GUEST_WALK_MAX_LEVELS + 1];
	bool nx;			/* XD bits in use: (PAE or LMA) and NXE */
	bool pk;			/* protection keys: LMA and CR4.PKE */
	bool fetch_in_error_code;	/* I/D is reported: nx or SMEP */
};

/* One walk in progress. */
struct walker {
	const struct guest_paging *paging;
	struct walk_masks m;
	const struct guest_mem_ops *mem;
	void *ctx;
	uint64_t gva;
	uint32_t access;
	struct guest_walk *walk;
};

enum step {
	STEP_NEXT,		/* a table entry: go down */
	STEP_LEAF,		/* maps the page */
	STEP_NOT_PRESENT,
	STEP_RSVD,
	STEP_MEM_ERROR,
};

enum attempt {
	ATTEMPT_DONE,		/* the result is final */
	ATTEMPT_RETRY,		/* an entry changed under the A/D update */
};

/* Bits lo..hi inclusive (lo, hi <= 63); none when lo > hi. */
static uint64_t bit_range(unsigned lo, unsigned hi)
{
	if (lo > hi)
		return 0;
	return (~0ull >> (63 - hi)) & (~0ull << lo);
}

/* The architecture allows 32..52; keep a wrong value from shifting out
 * of range. */
static unsigned maxphyaddr(const struct guest_paging *paging)
{
	if (paging->maxphyaddr < 32)
		return 32;
	return paging->maxphyaddr > 52 ? 52 : paging->maxphyaddr;
}

/* PAE PDPTE: 2:1, 8:5 (PS included) and 63:MAXPHYADDR; NX is reserved
 * there whatever EFER.NXE says. */
static uint64_t pae_pdpte_rsvd(const struct guest_paging *paging)
{
	return bit_range(1, 2) | bit_range(5, 8) |
	       bit_range(maxphyaddr(paging), 63);
}

/*
 * 32-bit paging: reserved bits exist only in a 4M leaf (CR4.PSE), where
 * bits (M-20):13 hold address bits (M-1):32 (PSE-36) and bits 21:(M-19)
 * are reserved, M = min(MAXPHYADDR, 40).
 */
static void masks_32bit(const struct guest_paging *paging,
			struct walk_masks *m)
{
	unsigned m40 = maxphyaddr(paging) < 40 ? maxphyaddr(paging) : 40;

	m->root_level = 2;
	m->entry_size = 4;
	m->index_bits = 10;
	m->gva_mask = 0xffffffffull;
	m->root = paging->cr3 & 0xfffff000ull;
	m->addr_mask = 0xfffff000ull;
	if (paging->cr4 & GUEST_CR4_PSE) {
		m->pse36 = true;
		m->large_levels = 1u << 2;
		m->rsvd_large[2] = bit_range(m40 - 19, 21);
	}
}

/* PAE paging: 8-byte entries below four cached PDPTEs; 2M leaves. */
static void masks_pae(const struct guest_paging *paging, struct walk_masks *m)
{
	uint64_t high = bit_range(maxphyaddr(paging), 62) |
			(m->nx ? 0 : GPTE_NX);

	m->root_level = 3;
	m->entry_size = 8;
	m->index_bits = 9;
	m->pae_pdptes = true;
	m->gva_mask = 0xffffffffull;
	m->root = paging->cr3 & 0xffffffe0ull;
	m->addr_mask = bit_range(12, maxphyaddr(paging) - 1);
	m->large_levels = 1u << 2;
	m->rsvd[3] = pae_pdpte_rsvd(paging);
	m->rsvd[2] = high;
	m->rsvd_large[2] = high | bit_range(13, 20);
	m->rsvd[1] = high;
}

/* 4-level and 5-level paging: PS is reserved in PML5Es and PML4Es, and in
 * PDPTEs unless 1G pages are supported. */
static void masks_long(const struct guest_paging *paging, struct walk_masks *m)
{
	uint64_t high = bit_range(maxphyaddr(paging), 51) |
			(m->nx ? 0 : GPTE_NX);

	m->root_level = (paging->cr4 & GUEST_CR4_LA57) ? 5 : 4;
	m->entry_size = 8;
	m->index_bits = 9;
	m->gva_mask = ~0ull;		/* indexing uses only bits 56/47:12 */
	m->addr_mask = bit_range(12, maxphyaddr(paging) - 1);
	m->root = paging->cr3 & m->addr_mask;
	for (unsigned level = 1; level <= 5; level++)
		m->rsvd[level] = high;
	m->rsvd[5] |= GPTE_PS;
	m->rsvd[4] |= GPTE_PS;
	if (paging->gbpages) {
		m->large_levels |= 1u << 3;
		m->rsvd_large[3] = high | bit_range(13, 29);
	} else {
		m->rsvd[3] |= GPTE_PS;
	}
	m->large_levels |= 1u << 2;
	m->rsvd_large[2] = high | bit_range(13, 20);
}

/* Paging must be on (CR0.PG). */
static void walk_masks_init(const struct guest_paging *paging,
			    struct walk_masks *m)
{
	bool lma = paging->efer & GUEST_EFER_LMA;

	*m = (struct walk_masks){ 0 };
	m->nx = (lma || (paging->cr4 & GUEST_CR4_PAE)) &&
		(paging->efer & GUEST_EFER_NXE);
	m->pk = lma && (paging->cr4 & GUEST_CR4_PKE);
	m->fetch_in_error_code = m->nx || (paging->cr4 & GUEST_CR4_SMEP);
	if (lma)
		masks_long(paging, m);
	else if (paging->cr4 & GUEST_CR4_PAE)
		masks_pae(paging, m);
	else
		masks_32bit(paging, m);
}

static unsigned page_shift(const struct walk_masks *m, unsigned level)
{
	return 12 + m->index_bits * (level - 1);
}

static unsigned entry_index(const struct walker *w, unsigned level)
{
	return (w->gva >> page_shift(&w->m, level)) &
	       ((1u << w->m.index_bits) - 1);
}

static int read_entry(const struct walker *w, uint64_t gpa, uint64_t *pte)
{
	uint32_t pte32;

	if (w->m.entry_size == 8)
		return w->mem->read(w->ctx, gpa, pte, 8);
	if (w->mem->read(w->ctx, gpa, &pte32, 4))
		return -1;
	*pte = pte32;
	return 0;
}

static bool is_large_leaf(const struct walk_masks *m, unsigned level,
			  uint64_t pte)
{
	return level > 1 && (m->large_levels & (1u << level)) &&
	       (pte & GPTE_PS);
}

/* Fold one entry's rights into the walk's (PAE PDPTEs hold none). */
static void combine_rights(const struct walker *w, unsigned level,
			   uint64_t pte)
{
	struct guest_walk *walk = w->walk;

	if (w->m.pae_pdptes && level == 3)
		return;
	walk->user = walk->user && (pte & GPTE_US);
	walk->writable = walk->writable && (pte & GPTE_RW);
	walk->nx = walk->nx || (w->m.nx && (pte & GPTE_NX));
}

/*
 * Read the entry for 'level' in the table at *table, record it, and check
 * it; for a table entry, *table becomes the next table.
 */
static enum step walk_step(const struct walker *w, unsigned level,
			   uint64_t *table)
{
	const struct walk_masks *m = &w->m;
	struct guest_walk *walk = w->walk;
	unsigned index = entry_index(w, level);
	uint64_t gpa = *table + (uint64_t)index * m->entry_size;
	uint64_t pte;
	bool large;

	if (m->pae_pdptes && level == 3)
		pte = w->paging->pdptes[index];	/* gva bits 31:30 */
	else if (read_entry(w, gpa, &pte))
		return STEP_MEM_ERROR;
	walk->pte_gpa[walk->levels] = gpa;
	walk->pte[walk->levels] = pte;
	walk->levels++;

	if (!(pte & GPTE_P))
		return STEP_NOT_PRESENT;
	large = is_large_leaf(m, level, pte);
	if (pte & (large ? m->rsvd_large[level] : m->rsvd[level]))
		return STEP_RSVD;
	combine_rights(w, level, pte);
	if (level == 1 || large)
		return STEP_LEAF;
	*table = pte & m->addr_mask;
	return STEP_NEXT;
}

static bool user_access(uint32_t access)
{
	return (access & ACCESS_USER) && !(access & ACCESS_IMPLICIT_SUP);
}

/* PKRU denies this data access to a user page (4/5-level, CR4.PKE). */
static bool pkey_denies(const struct walker *w, uint64_t leaf)
{
	unsigned key = (leaf >> GPTE_PKEY_SHIFT) & 0xf;
	bool ad = (w->paging->pkru >> (2 * key)) & 1;
	bool wd = (w->paging->pkru >> (2 * key + 1)) & 1;
	bool wp = w->paging->cr0 & GUEST_CR0_WP;

	if (ad)
		return true;
	return wd && (w->access & ACCESS_WRITE) &&
	       (user_access(w->access) || wp);
}

/* SDM 4.6: does the combined walk deny a fetch? */
static bool fetch_denied(const struct walker *w)
{
	const struct guest_walk *walk = w->walk;

	if (walk->nx)
		return true;
	if (user_access(w->access))
		return !walk->user;
	return walk->user && (w->paging->cr4 & GUEST_CR4_SMEP);
}

/* SDM 4.6: does the combined walk deny a data access (keys aside)? */
static bool data_denied(const struct walker *w)
{
	const struct guest_walk *walk = w->walk;
	bool write = w->access & ACCESS_WRITE;
	bool smap_allowed;

	if (user_access(w->access))
		return !walk->user || (write && !walk->writable);
	if (write && !walk->writable && (w->paging->cr0 & GUEST_CR0_WP))
		return true;
	if (!walk->user || !(w->paging->cr4 & GUEST_CR4_SMAP))
		return false;
	smap_allowed = w->paging->rflags_ac &&
		       !(w->access & ACCESS_IMPLICIT_SUP);
	return !smap_allowed;
}

/*
 * The rights check after a complete walk: 0 if the access is allowed,
 * else the PFERR_PRESENT/PFERR_PK part of the error code.
 */
static uint32_t access_denied(const struct walker *w, uint64_t leaf)
{
	bool denied, pk = false;

	if (w->access & ACCESS_FETCH)
		return fetch_denied(w) ? PFERR_PRESENT : 0;
	denied = data_denied(w);
	if (w->m.pk && w->walk->user && pkey_denies(w, leaf))
		denied = pk = true;
	if (!denied)
		return 0;
	return PFERR_PRESENT | (pk ? PFERR_PK : 0);
}

/* W, U and I/D: what the access was. */
static uint32_t access_error_code(const struct walker *w)
{
	uint32_t error_code = 0;

	if (w->access & ACCESS_WRITE)
		error_code |= PFERR_WRITE;
	if (user_access(w->access))
		error_code |= PFERR_USER;
	if ((w->access & ACCESS_FETCH) && w->m.fetch_in_error_code)
		error_code |= PFERR_FETCH;
	return error_code;
}

static uint64_t leaf_gpa(const struct walker *w, unsigned level,
			 uint64_t leaf)
{
	uint64_t offset = bit_range(0, page_shift(&w->m, level) - 1);
	uint64_t frame = leaf & w->m.addr_mask & ~offset;

	/* PSE-36: bits 20:13 are address bits 39:32; those at and above
	 * M = min(MAXPHYADDR, 40) were refused as reserved. */
	if (w->m.pse36 && level == 2)
		frame |= ((leaf >> 13) & 0xff) << 32;
	return frame | (w->gva & offset);
}

static uint8_t leaf_pat_index(unsigned level, uint64_t leaf)
{
	uint64_t pat = level == 1 ? GPTE_PAT_4K : GPTE_PAT_LARGE;

	return (uint8_t)(((leaf & pat) ? 4 : 0) | ((leaf & GPTE_PCD) ? 2 : 0) |
			 ((leaf & GPTE_PWT) ? 1 : 0));
}

/*
 * Set A in every entry used (top level first) and D in the leaf for a
 * write, each with one cmpxchg. ATTEMPT_RETRY if an entry changed since
 * the walk read it: the caller walks again.
 */
static enum attempt set_accessed_dirty(const struct walker *w,
				       enum guest_walk_result *result)
{
	struct guest_walk *walk = w->walk;
	unsigned leaf = walk->levels - 1;

	for (unsigned i = 0; i <= leaf; i++) {
		uint64_t want = walk->pte[i] | GPTE_A;
		uint64_t old = walk->pte[i];
		int r;

		if (i == 0 && w->m.pae_pdptes)
			continue;		/* a PDPTE register: no A bit */
		if (i == leaf && (w->access & ACCESS_WRITE))
			want |= GPTE_D;
		if (want == old)
			continue;
		r = w->mem->cmpxchg(w->ctx, walk->pte_gpa[i], &old, want,
				    w->m.entry_size);
		if (r == 1)
			return ATTEMPT_RETRY;
		if (r != 0) {
			*result = WALK_MEM_ERROR;
			return ATTEMPT_DONE;
		}
		walk->pte[i] = want;
	}
	*result = WALK_OK;
	return ATTEMPT_DONE;
}

static enum guest_walk_result walk_fault(struct guest_walk *walk,
					 uint32_t error_code)
{
	walk->error_code = error_code;
	return WALK_FAULT;
}

/* One walk from the top; ATTEMPT_RETRY if the A/D update lost a race. */
static enum attempt walk_once(const struct walker *w,
			      enum guest_walk_result *result)
{
	struct guest_walk *walk = w->walk;
	uint64_t table = w->m.root, leaf;
	unsigned level = w->m.root_level;
	uint32_t denied;

	*walk = (struct guest_walk){ .user = true, .writable = true };
	for (;; level--) {
		enum step step = walk_step(w, level, &table);

		if (step == STEP_LEAF)
			break;
		if (step == STEP_NEXT)
			continue;
		if (step == STEP_MEM_ERROR)
			*result = WALK_MEM_ERROR;
		else if (step == STEP_NOT_PRESENT)
			*result = walk_fault(walk, access_error_code(w));
		else
			*result = walk_fault(walk, access_error_code(w) |
						   PFERR_PRESENT | PFERR_RSVD);
		return ATTEMPT_DONE;
	}
	leaf = walk->pte[walk->levels - 1];
	denied = access_denied(w, leaf);
	if (denied) {
		*result = walk_fault(walk, access_error_code(w) | denied);
		return ATTEMPT_DONE;
	}
	if (set_accessed_dirty(w, result) == ATTEMPT_RETRY)
		return ATTEMPT_RETRY;
	if (*result != WALK_OK)
		return ATTEMPT_DONE;
	leaf = walk->pte[walk->levels - 1];
	walk->gpa = leaf_gpa(w, level, leaf);
	walk->page_level = level;
	walk->dirty = leaf & GPTE_D;
	walk->pat_index = leaf_pat_index(level, leaf);
	return ATTEMPT_DONE;
}

static enum guest_walk_result walk_paging_off(uint64_t gva,
					      struct guest_walk *walk)
{
	*walk = (struct guest_walk){
		.gpa = gva & 0xffffffffull,
		.page_level = 1,
		.user = true,
		.writable = true,
		.dirty = true,		/* no D bit to track */
	};
	return WALK_OK;
}

enum guest_walk_result guest_walk(const struct guest_paging *paging,
				  uint64_t gva, uint32_t access,
				  const struct guest_mem_ops *mem, void *ctx,
				  struct guest_walk *walk)
{
	struct walker w = {
		.paging = paging, .mem = mem, .ctx = ctx,
		.access = access, .walk = walk,
	};
	enum guest_walk_result result;

	if (!(paging->cr0 & GUEST_CR0_PG))
		return walk_paging_off(gva, walk);
	walk_masks_init(paging, &w.m);
	w.gva = gva & w.m.gva_mask;
	while (walk_once(&w, &result) == ATTEMPT_RETRY)
		;
	if (result != WALK_OK)		/* no translation: no rights either */
		walk->user = walk->writable = walk->nx = false;
	return result;
}

bool guest_pte_reserved(const struct guest_paging *paging, unsigned level,
			uint64_t pte)
{
	struct walk_masks m;

	if (!(paging->cr0 & GUEST_CR0_PG))
		return false;
	walk_masks_init(paging, &m);
	if (level < 1 || level > m.root_level)
		return false;
	if (is_large_leaf(&m, level, pte))
		return (pte & m.rsvd_large[level]) != 0;
	return (pte & m.rsvd[level]) != 0;
}

bool guest_pdptes_valid(const struct guest_paging *paging,
			const uint64_t pdptes[4])
{
	uint64_t rsvd = pae_pdpte_rsvd(paging);

	for (unsigned i = 0; i < 4; i++)
		if ((pdptes[i] & GPTE_P) && (pdptes[i] & rsvd))
			return false;
	return true;
}

enum guest_pdpte_load guest_load_pdptes(struct guest_paging *paging,
					const struct guest_mem_ops *mem,
					void *ctx)
{
	uint64_t table = paging->cr3 & 0xffffffe0ull;
	uint64_t pdptes[4];

	for (unsigned i = 0; i < 4; i++)
		if (mem->read(ctx, table + 8 * i, &pdptes[i], 8))
			return PDPTE_LOAD_MEM_ERROR;
	if (!guest_pdptes_valid(paging, pdptes))
		return PDPTE_LOAD_GP;
	for (unsigned i = 0; i < 4; i++)
		paging->pdptes[i] = pdptes[i];
	return PDPTE_LOAD_OK;
}
