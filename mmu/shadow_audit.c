/*
 * shadow_audit: every invariant of the shadow pages, checked from scratch
 * (for the host tests after each step of a run, and for debugging).
 *
 *  - descriptors: the in-use count is mmu->pages; every valid page is in
 *    the hash chain of its gfn, no zapped one is; a zombie root is empty
 *  - every entry is 0, an MMIO spte (level 1), a leaf or a table entry as
 *    the constructors make them (mmu/shadow_spte.h invariants)
 *  - a table entry's child owns the table it points at, is one level down,
 *    and lists the entry among its parents; every parent listed points at
 *    the page; unsync children are marked in the parent's bitmap and the
 *    bitmap count is right
 *  - every leaf maps the host page its memslot gives for its gfn and is on
 *    that gfn's rmap chain; every rmap chain entry is such a leaf
 *  - no writable leaf maps a gfn a synced page shadows; no 2 MiB leaf
 *    covers a shadowed gfn or a chunk that may not be large
 *  - a synced indirect page agrees with the guest's entries: each present
 *    entry is what the guest entry says (with at most its rights); a direct
 *    page maps exactly its range with at most its role's rights
 */
#include "mmu/shadow_internal.h"

struct audit {
	struct shadow_mmu *mmu;
	unsigned problems;
	char *msg;
	unsigned msg_size;
	uint64_t leaves;
};

static void put_str(struct audit *a, unsigned *pos, const char *s)
{
	while (*s && *pos + 1 < a->msg_size)
		a->msg[(*pos)++] = *s++;
	a->msg[*pos] = 0;
}

static void put_hex(struct audit *a, unsigned *pos, uint64_t value)
{
	char buf[19] = "0x";
	unsigned n = 2;

	for (int shift = 60; shift >= 0; shift -= 4) {
		unsigned digit = (value >> shift) & 0xf;

		if (digit || n > 2 || shift == 0)
			buf[n++] = "0123456789abcdef"[digit];
	}
	buf[n] = 0;
	put_str(a, pos, buf);
}

/* Report a problem with page sp (may be NULL), entry idx, and a value. */
static void problem(struct audit *a, const char *what,
		    const struct shadow_page *sp, unsigned idx,
		    uint64_t value)
{
	unsigned pos = 0;

	if (a->problems++ || !a->msg_size)
		return;
	put_str(a, &pos, what);
	if (sp) {
		put_str(a, &pos, ": page gfn ");
		put_hex(a, &pos, sp->gfn);
		put_str(a, &pos, " role ");
		put_hex(a, &pos, sp->role.word);
		put_str(a, &pos, " entry ");
		put_hex(a, &pos, idx);
	}
	put_str(a, &pos, " value ");
	put_hex(a, &pos, value);
}

static bool in_parent_list(const struct shadow_mmu *mmu,
			   const struct shadow_page *child, spte_ref ref)
{
	for (spte_ref r = child->parent_head; r;
	     r = ref_sp(mmu, r)->meta[ref_idx(r)].next)
		if (r == ref)
			return true;
	return false;
}

static bool in_rmap(const struct shadow_mmu *mmu, uint64_t gfn, spte_ref ref)
{
	for (spte_ref r = mmu->rmap_hash[rmap_bucket(gfn)]; r;
	     r = ref_sp(mmu, r)->meta[ref_idx(r)].next)
		if (r == ref)
			return true;
	return false;
}

static bool in_hash(const struct shadow_mmu *mmu, const struct shadow_page *sp)
{
	for (struct shadow_page *s = shadow_hash_first(mmu, sp->gfn); s;
	     s = s->hash_next ? sp_from_index(mmu, s->hash_next) : 0)
		if (s == sp)
			return true;
	return false;
}

/* An MMIO spte of the current memslot generation (older ones only ever
 * send a fault to the slow path, which replaces them). */
static bool mmio_current(const struct shadow_mmu *mmu, uint64_t spte)
{
	return mmio_spte_generation(spte) ==
	       (shadow_slots_generation(mmu) & SHADOW_MMIO_GEN_MASK);
}

/* PAT index of a leaf spte at level. */
static unsigned spte_pat(uint64_t spte, unsigned level)
{
	uint64_t pat = level > 1 ? SPTE_PAT_LARGE : SPTE_PAT_4K;

	return ((spte & pat) ? 4 : 0) | ((spte & SPTE_PCD) ? 2 : 0) |
	       ((spte & SPTE_PWT) ? 1 : 0);
}

static void check_leaf(struct audit *a, struct shadow_page *sp, unsigned idx,
		       uint64_t spte)
{
	struct shadow_mmu *mmu = a->mmu;
	unsigned level = sp->role.level;
	uint64_t gfn = sp->meta[idx].info;
	const struct memslot *slot = memslot_find(mmu->slots, gfn);

	a->leaves++;
	if (spte_is_writable(spte) && !spte_mmu_writable(spte))
		problem(a, "RW without MMU_WRITABLE", sp, idx, spte);
	if (spte_mmu_writable(spte) && !spte_host_writable(spte))
		problem(a, "MMU_WRITABLE without HOST_WRITABLE", sp, idx,
			spte);
	if (!(spte & SPTE_P) || !(spte & SPTE_A) || (spte & SPTE_G))
		problem(a, "leaf P/A/G bits", sp, idx, spte);
	if (level > 2 || (level == 2 && !(spte & SPTE_PS)))
		problem(a, "leaf at a wrong level", sp, idx, spte);
	if (!slot ||
	    slot->hpa[gfn - slot->base_gfn] != shadow_leaf_hpa(spte, level))
		problem(a, "leaf does not map its gfn's host page", sp, idx,
			spte);
	if (!in_rmap(mmu, gfn, make_spte_ref(sp, idx)))
		problem(a, "leaf missing from the rmap", sp, idx, gfn);
	if (level == 1 && spte_is_writable(spte) &&
	    shadow_gfn_protected(mmu, gfn))
		problem(a, "writable leaf maps a shadowed guest table", sp,
			idx, gfn);
	if (level == 2 && (!slot || !memslot_large_ok(slot, gfn) ||
			   (gfn & 511) || shadow_chunk_has_tables(mmu, gfn)))
		problem(a, "2 MiB leaf where one is not allowed", sp, idx,
			gfn);
}

/* What the guest entry behind (sp, idx) of a synced indirect page says,
 * against the spte. */
static void check_against_gpte(struct audit *a, struct shadow_page *sp,
			       unsigned idx, uint64_t spte)
{
	struct shadow_mmu *mmu = a->mmu;
	union shadow_role role = sp->role;
	unsigned level = role.level;
	struct guest_paging paging;
	uint64_t gpte, frame;
	unsigned access;
	bool is32 = role.mode == SHADOW_MODE_32BIT;

	shadow_role_paging(mmu, role, &paging);
	if (!shadow_read_gpte(mmu, sp_gpte_gpa(sp, idx), sp_gpte_size(sp),
			      &gpte)) {
		problem(a, "guest entry unreadable", sp, idx, spte);
		return;
	}
	if (!(gpte & GPTE_P) || !(gpte & GPTE_A) ||
	    guest_pte_reserved(&paging, level, gpte)) {
		problem(a, "spte for a not-present/not-accessed/reserved "
			"guest entry", sp, idx, gpte);
		return;
	}
	access = role.access & shadow_gpte_access(role, gpte);
	/* PS makes a leaf at level 2 and 3 (the reserved-bit check above
	 * refused it where the mode has no such leaf), except in 32-bit mode
	 * without CR4.PSE, where it is ignored. */
	if (level == 1 || ((gpte & GPTE_PS) && !(is32 && !role.pse))) {
		unsigned leaf_access = access;
		uint64_t first;

		if (!(gpte & GPTE_D))
			leaf_access &= ~SHADOW_ACC_WRITE;
		if (level == 1) {
			frame = (gpte & (is32 ? 0xfffff000ull :
					 SPTE_ADDR_MASK)) >> 12;
			if (is_mmio_spte(spte)) {
				if (!mmio_current(mmu, spte))
					return;	/* never used: slow path */
				if (mmio_spte_gfn(spte) != frame ||
				    memslot_find(mmu->slots, frame) ||
				    (spte_access(spte) & ~leaf_access))
					problem(a, "MMIO spte disagrees with "
						"the guest", sp, idx, gpte);
			} else if (sp->meta[idx].info != frame ||
				   (spte_access(spte) & ~leaf_access)) {
				problem(a, "leaf disagrees with the guest",
					sp, idx, gpte);
			}
			return;
		}
		/* A large guest page: a direct child or a 2 MiB leaf. */
		if (is32)
			first = ((gpte >> 22) << 10) |
				(((gpte >> 13) & 0xff) << 20) |
				((idx & 1) * 512ull);
		else
			first = (gpte & SPTE_ADDR_MASK &
				 ~((shadow_level_pages(level) << 12) - 1)) >> 12;
		if (is_shadow_leaf_spte(spte, level)) {
			if (sp->meta[idx].info != first ||
			    (spte_access(spte) & ~leaf_access))
				problem(a, "2 MiB leaf disagrees with the "
					"guest", sp, idx, gpte);
		} else {
			struct shadow_page *child = sp_child(mmu, sp, idx);

			if (!child->role.direct || child->gfn != first ||
			    (child->role.access & ~leaf_access))
				problem(a, "direct child disagrees with the "
					"guest", sp, idx, gpte);
		}
		return;
	}
	frame = (gpte & (is32 ? 0xfffff000ull : SPTE_ADDR_MASK)) >> 12;
	if (is_shadow_leaf_spte(spte, level) || is_mmio_spte(spte)) {
		problem(a, "leaf for a guest table entry", sp, idx, gpte);
	} else {
		struct shadow_page *child = sp_child(mmu, sp, idx);
		union shadow_role want = role;

		want.level = level - 1;
		want.access = access;
		want.quadrant = is32 ? (idx & 1) : 0;
		if (child->gfn != frame || child->role.word != want.word)
			problem(a, "child disagrees with the guest", sp, idx,
				gpte);
	}
}

static void check_direct(struct audit *a, struct shadow_page *sp,
			 unsigned idx, uint64_t spte)
{
	unsigned level = sp->role.level;
	uint64_t gfn = sp->gfn + idx * shadow_level_pages(level);

	if (is_mmio_spte(spte)) {
		if (mmio_current(a->mmu, spte) &&
		    (mmio_spte_gfn(spte) != gfn ||
		     memslot_find(a->mmu->slots, gfn) ||
		     (spte_access(spte) & ~sp->role.access)))
			problem(a, "direct MMIO spte off its range", sp, idx,
				spte);
	} else if (is_shadow_leaf_spte(spte, level)) {
		if (sp->meta[idx].info != gfn ||
		    (spte_access(spte) & ~sp->role.access) ||
		    spte_pat(spte, level) != sp->role.pat ||
		    ((spte & SPTE_PKEY_MASK) >> SPTE_PKEY_SHIFT) !=
		    sp->role.pkey)
			problem(a, "direct leaf off its range or rights", sp,
				idx, spte);
	} else {
		struct shadow_page *child = sp_child(a->mmu, sp, idx);
		union shadow_role want = sp->role;

		want.level = level - 1;
		if (child->gfn != gfn || child->role.word != want.word)
			problem(a, "direct child off its range", sp, idx,
				spte);
	}
}

static void check_table_entry(struct audit *a, struct shadow_page *sp,
			      unsigned idx, uint64_t spte)
{
	struct shadow_mmu *mmu = a->mmu;
	uint32_t child_index = sp->meta[idx].info;
	struct shadow_page *child;
	bool marked = sp->unsync_child_bitmap[idx / 64] & (1ull << (idx % 64));

	if (spte != make_shadow_table_spte(shadow_spte_hpa(spte)))
		problem(a, "table entry bits", sp, idx, spte);
	if (!child_index || child_index / SP_PER_POOL_PAGE >=
	    mmu->pool_allocated) {
		problem(a, "table entry without a child", sp, idx, spte);
		return;
	}
	child = sp_from_index(mmu, child_index);
	if (!child->in_use || child->invalid ||
	    child->spt_hpa != shadow_spte_hpa(spte) ||
	    child->role.level + 1 != sp->role.level)
		problem(a, "child does not own the table or level", sp, idx,
			spte);
	else if (!in_parent_list(mmu, child, make_spte_ref(sp, idx)))
		problem(a, "entry missing from the child's parents", sp, idx,
			spte);
	else if ((child->unsync || child->unsync_children) && !marked)
		problem(a, "unsync child not marked", sp, idx, spte);
}

static void check_page(struct audit *a, struct shadow_page *sp)
{
	struct shadow_mmu *mmu = a->mmu;
	unsigned marked = 0;

	if (sp->invalid) {
		for (unsigned idx = 0; idx < SHADOW_ENTRIES; idx++)
			if (sp->spt[idx])
				problem(a, "zombie root not empty", sp, idx,
					sp->spt[idx]);
		if (!sp->root_count || sp->parent_head || in_hash(mmu, sp))
			problem(a, "zombie root state", sp, 0, sp->root_count);
		return;
	}
	if (!in_hash(mmu, sp))
		problem(a, "page missing from the hash", sp, 0, 0);
	if (sp->unsync && (sp->role.level != 1 || sp->role.direct))
		problem(a, "unsync page above level 1", sp, 0, 0);
	for (spte_ref r = sp->parent_head; r;
	     r = ref_sp(mmu, r)->meta[ref_idx(r)].next) {
		struct shadow_page *p = ref_sp(mmu, r);

		if (!p->in_use || p->meta[ref_idx(r)].info != sp->index ||
		    !is_shadow_present_spte(p->spt[ref_idx(r)]))
			problem(a, "parent list entry does not point here", sp,
				0, r);
	}
	for (unsigned idx = 0; idx < SHADOW_ENTRIES; idx++) {
		uint64_t spte = sp->spt[idx];
		bool leaf = is_shadow_leaf_spte(spte, sp->role.level);

		if (sp->unsync_child_bitmap[idx / 64] & (1ull << (idx % 64)))
			marked++;
		if (!spte) {
			if (sp->meta[idx].info || sp->meta[idx].next)
				problem(a, "meta of an empty entry", sp, idx, 0);
			continue;
		}
		/* Keys come only from 4-level guests; everything else may
		 * be walked in PAE mode, where bits 52..62 are reserved. */
		if (sp->role.mode != SHADOW_MODE_64 && !sp->role.pkey &&
		    !is_mmio_spte(spte) && (spte & SPTE_PAE_HIGH_MASK))
			problem(a, "PAE-reserved bits in an spte", sp, idx,
				spte);
		if (is_mmio_spte(spte)) {
			if (sp->role.level != 1 ||
			    is_shadow_present_spte(spte) ||
			    (!!(spte & SPTE_P)) != mmu->mmio_rsvd)
				problem(a, "MMIO spte form", sp, idx, spte);
		} else if (!is_shadow_present_spte(spte)) {
			problem(a, "unknown spte", sp, idx, spte);
			continue;
		} else if (leaf) {
			check_leaf(a, sp, idx, spte);
		} else {
			check_table_entry(a, sp, idx, spte);
		}
		if (sp->role.direct)
			check_direct(a, sp, idx, spte);
		else if (!sp->unsync && !sp_obsolete(mmu, sp))
			check_against_gpte(a, sp, idx, spte);
	}
	if (marked != sp->unsync_children)
		problem(a, "unsync_children count", sp, 0, marked);
}

static void check_rmap(struct audit *a)
{
	struct shadow_mmu *mmu = a->mmu;
	uint64_t count = 0;

	for (unsigned b = 0; b < RMAP_HASH_BUCKETS; b++) {
		for (spte_ref r = mmu->rmap_hash[b]; r;
		     r = ref_sp(mmu, r)->meta[ref_idx(r)].next) {
			struct shadow_page *sp = ref_sp(mmu, r);
			uint64_t spte = sp->spt[ref_idx(r)];

			count++;
			if (!sp->in_use || !is_shadow_present_spte(spte) ||
			    !is_shadow_leaf_spte(spte, sp->role.level) ||
			    rmap_bucket(sp->meta[ref_idx(r)].info) != b)
				problem(a, "rmap entry is not a leaf of its "
					"bucket", sp, ref_idx(r), spte);
			if (count > a->leaves + 1)
				return;		/* a loop */
		}
	}
	if (count != a->leaves)
		problem(a, "rmap entries != leaves", 0, 0, count);
}

unsigned shadow_audit(struct shadow_mmu *mmu, char *msg, unsigned msg_size)
{
	struct audit a = { .mmu = mmu, .msg = msg, .msg_size = msg_size };
	uint32_t in_use = 0;

	if (msg_size)
		msg[0] = 0;
	shadow_lock(mmu);
	for (uint32_t p = 0; p < mmu->pool_allocated; p++) {
		for (unsigned i = 0; i < SP_PER_POOL_PAGE; i++) {
			uint32_t index = p * SP_PER_POOL_PAGE + i;
			struct shadow_page *sp;

			if (!index)
				continue;
			sp = sp_from_index(mmu, index);
			if (!sp->in_use)
				continue;
			in_use++;
			check_page(&a, sp);
		}
	}
	if (in_use != mmu->pages)
		problem(&a, "pages in use != mmu->pages", 0, 0, in_use);
	for (unsigned b = 0; b < SP_HASH_BUCKETS; b++)
		for (uint32_t i = mmu->sp_hash[b]; i;
		     i = sp_from_index(mmu, i)->hash_next)
			if (!sp_from_index(mmu, i)->in_use ||
			    sp_hash_bucket(sp_from_index(mmu, i)->gfn) != b)
				problem(&a, "hash chain entry", 0, 0, i);
	check_rmap(&a);
	shadow_unlock(mmu);
	return a.problems;
}
