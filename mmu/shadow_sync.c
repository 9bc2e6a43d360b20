/*
 * Keeping shadow pages equal to the guest's tables: guest entries behind
 * shadow entries, syncing unsync pages (on CR3 loads, INVLPG, and when an
 * unsync page is linked anew), and the emulated-write hook with write
 * flooding detection.
 *
 * Synced indirect pages are exact copies of what the guest's entries say
 * (entries may be missing, never wrong), because every guest store to
 * their tables traps: the emulator performs it, then
 * shadow_guest_pte_written zaps the entries it may have changed. Unsync
 * pages may be stale: the architecture lets the guest's TLB keep the old
 * translation until it invalidates it, and every such invalidation lands
 * here (shadow_invlpg for one address; shadow_new_cr3 / shadow_set_cr for
 * everything the root reaches).
 */
#include "mmu/shadow_internal.h"

uint64_t sp_gpte_gpa(const struct shadow_page *sp, unsigned idx)
{
	uint64_t base = sp->gfn << 12;
	unsigned q = sp->role.quadrant;

	if (sp->role.mode != SHADOW_MODE_32BIT)
		return base + idx * 8ull;
	if (sp->role.level == 1)
		return base + (512ull * q + idx) * 4;	/* 2 x 512 entries */
	return base + (256ull * q + idx / 2) * 4;	/* 4 x 256; one 4 MiB
							   PDE is 2 entries */
}

unsigned sp_gpte_size(const struct shadow_page *sp)
{
	return sp->role.mode == SHADOW_MODE_32BIT ? 4 : 8;
}

bool shadow_read_gpte(struct shadow_mmu *mmu, uint64_t gpa, unsigned size,
		      uint64_t *gpte)
{
	uint32_t gpte32;

	if (size == 8)
		return shadow_guest_mem_ops.read(mmu, gpa, gpte, 8) == 0;
	if (shadow_guest_mem_ops.read(mmu, gpa, &gpte32, 4))
		return false;
	*gpte = gpte32;
	return true;
}

void shadow_role_paging(const struct shadow_mmu *mmu, union shadow_role role,
			struct guest_paging *paging)
{
	*paging = (struct guest_paging){
		.cr0 = GUEST_CR0_PG,
		.maxphyaddr = mmu->cfg.guest_maxphyaddr,
		.gbpages = mmu->cfg.guest_gbpages,
	};
	if (role.mode == SHADOW_MODE_32BIT) {
		paging->cr4 = role.pse ? GUEST_CR4_PSE : 0;
		return;
	}
	paging->cr4 = GUEST_CR4_PAE;
	paging->efer = role.nxe ? GUEST_EFER_NXE : 0;
	if (role.mode == SHADOW_MODE_64)
		paging->efer |= GUEST_EFER_LMA;
}

unsigned shadow_gpte_access(union shadow_role role, uint64_t gpte)
{
	unsigned access = 0;

	if (gpte & GPTE_RW)
		access |= SHADOW_ACC_WRITE;
	if (gpte & GPTE_US)
		access |= SHADOW_ACC_USER;
	if (!(role.nxe && role.mode != SHADOW_MODE_32BIT && (gpte & GPTE_NX)))
		access |= SHADOW_ACC_EXEC;
	return access;
}

bool shadow_make_leaf(struct shadow_mmu *mmu, uint64_t gfn, unsigned level,
		      unsigned access, unsigned pat_index, unsigned pkey,
		      bool write_protected, uint64_t *spte)
{
	const struct memslot *slot = memslot_find(mmu->slots, gfn);

	if (!slot || gfn > UINT32_MAX)
		return false;
	*spte = make_shadow_leaf_spte(slot->hpa[gfn - slot->base_gfn], level,
				      access, pat_index, pkey, true,
				      write_protected);
	return true;
}

/* Re-read the guest entry behind a level-1 entry that is present (or an
 * MMIO spte) and make the spte match it, or zap it. */
static void sync_entry(struct shadow_mmu *mmu, struct shadow_page *sp,
		       unsigned idx)
{
	uint64_t old = sp->spt[idx], gpte, gfn, spte;
	struct guest_paging paging;
	unsigned access, pat, pkey;

	if (!old)
		return;
	STAT(mmu, sync_entries, 1);
	shadow_role_paging(mmu, sp->role, &paging);
	if (!shadow_read_gpte(mmu, sp_gpte_gpa(sp, idx), sp_gpte_size(sp),
			      &gpte) ||
	    !(gpte & GPTE_P) || !(gpte & GPTE_A) ||
	    guest_pte_reserved(&paging, 1, gpte)) {
		shadow_zap_entry(mmu, sp, idx);
		return;
	}
	gfn = (gpte & (sp->role.mode == SHADOW_MODE_32BIT ?
		       0xfffff000ull : SPTE_ADDR_MASK)) >> 12;
	access = sp->role.access & shadow_gpte_access(sp->role, gpte);
	if (!(gpte & GPTE_D))
		access &= ~SHADOW_ACC_WRITE;
	pat = ((gpte & GPTE_PAT_4K) ? 4 : 0) | ((gpte & GPTE_PCD) ? 2 : 0) |
	      ((gpte & GPTE_PWT) ? 1 : 0);
	pkey = sp->role.mode == SHADOW_MODE_64 ?
	       (unsigned)(gpte >> GPTE_PKEY_SHIFT) & 0xf : 0;
	if (shadow_make_leaf(mmu, gfn, 1, access, pat, pkey,
			     shadow_gfn_protected(mmu, gfn), &spte)) {
		shadow_set_leaf(mmu, sp, idx, spte, gfn);
		return;
	}
	/* Not RAM: an MMIO spte of the current generation, if it fits. */
	spte = make_mmio_spte(gfn, access, shadow_slots_generation(mmu),
			      mmu->mmio_rsvd);
	if (gfn >= (SHADOW_MMIO_GPA_LIMIT >> 12) || !is_mmio_spte(old)) {
		shadow_zap_entry(mmu, sp, idx);
		return;
	}
	spte_write(&sp->spt[idx], spte);
}

static void sync_entries(struct shadow_mmu *mmu, struct shadow_page *sp)
{
	STAT(mmu, synced, 1);
	for (unsigned idx = 0; idx < SHADOW_ENTRIES; idx++)
		sync_entry(mmu, sp, idx);
}

/*
 * Write-protect the gfns of the pages about to be synced (they are marked
 * synced already) and flush, before reading any guest entry: a store that
 * another vCPU makes through a still-cached writable translation either
 * lands before the flush returns (and is read below) or traps.
 */
static void protect_for_sync(struct shadow_mmu *mmu,
			     struct shadow_page **pages, unsigned count)
{
	bool flush = false;

	for (unsigned i = 0; i < count; i++)
		flush |= shadow_write_protect_gfn(mmu, pages[i]->gfn);
	if (flush)
		shadow_commit(mmu);
}

void shadow_sync_page(struct shadow_mmu *mmu, struct shadow_page *sp)
{
	mmu_assert_locked(&mmu->lock);
	sp->unsync = false;
	protect_for_sync(mmu, &sp, 1);
	sync_entries(mmu, sp);
}

#define SYNC_BATCH 32

/*
 * Collect up to 'max' unsync pages below sp (marking each synced so it is
 * taken once), clearing the unsync-child bits that no longer lead to any.
 */
static unsigned collect_unsync(struct shadow_mmu *mmu, struct shadow_page *sp,
			       struct shadow_page **pages, unsigned count,
			       unsigned max)
{
	for (unsigned word = 0; word < SHADOW_ENTRIES / 64; word++) {
		uint64_t bits = sp->unsync_child_bitmap[word];

		while (bits && count < max) {
			unsigned idx = word * 64 + __builtin_ctzll(bits);
			uint64_t spte = sp->spt[idx];
			struct shadow_page *child;

			bits &= bits - 1;
			if (!is_shadow_present_spte(spte) ||
			    is_shadow_leaf_spte(spte, sp->role.level)) {
				shadow_clear_unsync_bit(sp, idx);
				continue;
			}
			child = sp_child(mmu, sp, idx);
			if (child->unsync) {
				child->unsync = false;
				pages[count++] = child;
			} else if (child->unsync_children) {
				count = collect_unsync(mmu, child, pages, count,
						       max);
			}
			if (!child->unsync && !child->unsync_children)
				shadow_clear_unsync_bit(sp, idx);
		}
	}
	return count;
}

void shadow_sync_children(struct shadow_mmu *mmu, struct shadow_page *sp)
{
	struct shadow_page *pages[SYNC_BATCH];
	unsigned count;

	mmu_assert_locked(&mmu->lock);
	while ((count = collect_unsync(mmu, sp, pages, 0, SYNC_BATCH))) {
		protect_for_sync(mmu, pages, count);
		for (unsigned i = 0; i < count; i++)
			sync_entries(mmu, pages[i]);
	}
}

/* ---- INVLPG ------------------------------------------------------------- */

void shadow_invlpg(struct shadow_vcpu *v, uint64_t gva)
{
	struct shadow_mmu *mmu = v->mmu;
	struct shadow_page *sp;

	STAT(mmu, invlpg, 1);
	shadow_lock(mmu);
	sp = v->root ? v->root : v->pae_sp[(gva >> 30) & 3];
	if (shadow_root_stale(v))
		sp = 0;			/* reloaded before the next entry */
	while (sp) {
		unsigned level = sp->role.level;
		unsigned idx = shadow_index(gva, level);
		uint64_t spte = sp->spt[idx];

		if (level == 1) {
			if (sp->unsync) {
				sync_entry(mmu, sp, idx);
				STAT(mmu, invlpg_synced, 1);
			}
			break;
		}
		if (!is_shadow_present_spte(spte) ||
		    is_shadow_leaf_spte(spte, level))
			break;
		sp = sp_child(mmu, sp, idx);
	}
	shadow_unlock(mmu);
}

/* ---- Emulated writes ------------------------------------------------------ */

/* Zap the entries of sp that shadow guest entries [first, last]. */
static void zap_written(struct shadow_mmu *mmu, struct shadow_page *sp,
			unsigned first, unsigned last)
{
	for (unsigned gi = first; gi <= last; gi++) {
		unsigned idx = gi, count = 1;

		if (sp->role.mode == SHADOW_MODE_32BIT && sp->role.level == 1) {
			if (gi / 512 != sp->role.quadrant)
				continue;
			idx = gi % 512;
		} else if (sp->role.mode == SHADOW_MODE_32BIT) {
			if (gi / 256 != sp->role.quadrant)
				continue;
			idx = (gi % 256) * 2;
			count = 2;
		}
		for (unsigned i = idx; i < idx + count; i++) {
			if (sp->spt[i])
				STAT(mmu, pte_write_zaps, 1);
			shadow_zap_entry(mmu, sp, i);
		}
	}
}

void shadow_guest_pte_written(struct shadow_mmu *mmu, uint64_t gpa,
			      unsigned len)
{
	uint64_t gfn = gpa >> 12;
	unsigned offset = gpa & 0xfff;
	struct shadow_page *sp, *next;
	bool shadowed = false;

	if (!len)
		return;
	if (len > 4096 - offset)
		len = 4096 - offset;
	shadow_lock(mmu);
	for (sp = shadow_hash_first(mmu, gfn); sp; sp = next) {
		unsigned size = sp_gpte_size(sp);

		next = sp->hash_next ? sp_from_index(mmu, sp->hash_next) : 0;
		if (sp->gfn != gfn || sp->role.direct || !sp_valid(mmu, sp))
			continue;
		shadowed = true;
		/* Level-1 pages go unsync instead of flooding (when allowed):
		 * only tables that must stay protected count writes. */
		if ((sp->role.level > 1 || !mmu->cfg.unsync) &&
		    !mmu->cfg.no_flood_zap &&
		    ++sp->write_flooding_count >= SHADOW_FLOOD_THRESHOLD) {
			shadow_zap_page(mmu, sp);
			STAT(mmu, flooded, 1);
			continue;
		}
		zap_written(mmu, sp, offset / size, (offset + len - 1) / size);
	}
	if (shadowed)
		STAT(mmu, pte_writes, 1);
	shadow_unlock(mmu);
}

/*
 * The walker sets A/D bits in the guest's entries: stores the MMU makes
 * itself, which no write protection traps. Within one entry format they
 * only ever allow more (A, D), so the shadow pages need no update. But the
 * A/D bits of a 4-byte entry at an odd index are bits 37 and 38 of the
 * 8-byte entry a PAE or 4-level table reads there: address bits. Zap those
 * entries of any 8-byte-format page of the same gfn.
 */
void shadow_walk_ad_fixup(struct shadow_mmu *mmu,
			  const struct guest_walk *walk, bool four_byte)
{
	mmu_assert_locked(&mmu->lock);
	for (unsigned i = 0; four_byte && i < walk->levels; i++) {
		uint64_t gpa = walk->pte_gpa[i];
		struct shadow_page *sp, *next;

		if (!(gpa & 4))
			continue;
		for (sp = shadow_hash_first(mmu, gpa >> 12); sp; sp = next) {
			unsigned idx = (gpa & 0xfff) / 8;

			next = sp->hash_next ? sp_from_index(mmu, sp->hash_next)
					     : 0;
			if (sp->gfn != gpa >> 12 || sp->role.direct ||
			    sp->role.mode == SHADOW_MODE_32BIT ||
			    !sp_valid(mmu, sp) || !sp->spt[idx])
				continue;
			STAT(mmu, pte_write_zaps, 1);
			shadow_zap_entry(mmu, sp, idx);
		}
	}
}

enum guest_walk_result shadow_guest_walk(struct shadow_vcpu *v, uint64_t gva,
					 uint32_t access,
					 struct guest_walk *walk)
{
	enum guest_walk_result r = guest_walk(&v->paging, gva, access,
					      &shadow_guest_mem_ops, v->mmu,
					      walk);

	if (r == WALK_OK && shadow_vcpu_mode(v) == SHADOW_MODE_32BIT) {
		shadow_lock(v->mmu);
		shadow_walk_ad_fixup(v->mmu, walk, true);
		shadow_unlock(v->mmu);
	}
	return r;
}

bool shadow_gfn_write_protected(struct shadow_mmu *mmu, uint64_t gfn)
{
	bool protected;

	shadow_lock(mmu);
	protected = shadow_gfn_protected(mmu, gfn);
	shadow_unlock(mmu);
	return protected;
}

void shadow_unprotect_gfn(struct shadow_mmu *mmu, uint64_t gfn)
{
	struct shadow_page *sp, *next;

	shadow_lock(mmu);
	for (sp = shadow_hash_first(mmu, gfn); sp; sp = next) {
		next = sp->hash_next ? sp_from_index(mmu, sp->hash_next) : 0;
		if (sp->gfn == gfn && !sp->role.direct && sp_valid(mmu, sp))
			shadow_zap_page(mmu, sp);
	}
	shadow_unlock(mmu);
}
