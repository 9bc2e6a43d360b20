/*
 * Shadow MMU: setup, guest memory through the memslots, roots, control
 * register changes, zap-all, memslot changes, statistics. See mmu/shadow.h.
 *
 * Roots. A 4-level guest runs on one shadow page for its top table (role
 * level 4), which a vCPU holds with root_count. Every other guest (32-bit,
 * PAE, paging off) runs in hardware PAE mode on the vCPU's own PAE root: a
 * page below 4 GiB whose 4 entries (PDPTEs) point at level-2 shadow pages,
 * each held with root_count:
 *   PAE guest      the page of the guest PD that guest PDPTE i points at
 *                  (the PDPTEs as the guest's CR3 load cached them)
 *   32-bit guest   the guest's PD, quadrant i (its entries 256 i ..
 *                  256 i + 255: 4 MiB each, two shadow PDEs apiece)
 *   paging off     direct pages for gfn i << 18 (1 GiB each): identity
 * A root page is never zapped from under a vCPU: zapping one empties it and
 * marks it invalid, and the vCPU reloads before its next entry
 * (shadow_vcpu_load_root) or at its next fault; the page is freed when the
 * last vCPU lets go.
 */
#include "mmu/shadow_internal.h"

#define CR0_PE		(1ull << 0)
#define CR0_NW		(1ull << 29)
#define CR0_CD		(1ull << 30)
#define CR4_PGE		(1ull << 7)
#define CR4_PCIDE	(1ull << 17)
#define EFER_LME	(1ull << 8)

/* ---- Guest memory through the memslots -------------------------------- */

static void *gpa_to_host(const struct shadow_mmu *mmu, uint64_t gpa,
			 unsigned size)
{
	const struct memslot *slot = memslot_find(mmu->slots, gpa >> 12);

	if (!slot || (gpa & 0xfff) + size > 4096 || (gpa & (size - 1)))
		return 0;
	return (char *)mmu_hpa_to_virt(slot->hpa[(gpa >> 12) -
						  slot->base_gfn]) +
	       (gpa & 0xfff);
}

static int guest_read(void *ctx, uint64_t gpa, void *buf, unsigned size)
{
	void *host = gpa_to_host(ctx, gpa, size);

	if (!host || (size != 4 && size != 8))
		return -1;
	if (size == 8)
		*(uint64_t *)buf = __atomic_load_n((uint64_t *)host,
						   __ATOMIC_ACQUIRE);
	else
		*(uint32_t *)buf = __atomic_load_n((uint32_t *)host,
						   __ATOMIC_ACQUIRE);
	return 0;
}

static int guest_cmpxchg(void *ctx, uint64_t gpa, uint64_t *old,
			 uint64_t new, unsigned size)
{
	void *host = gpa_to_host(ctx, gpa, size);

	if (!host)
		return -1;
	if (size == 8)
		return __atomic_compare_exchange_n((uint64_t *)host, old, new,
						   false, __ATOMIC_SEQ_CST,
						   __ATOMIC_SEQ_CST) ? 0 : 1;
	if (size == 4) {
		uint32_t old32 = (uint32_t)*old;
		bool ok = __atomic_compare_exchange_n((uint32_t *)host, &old32,
						      (uint32_t)new, false,
						      __ATOMIC_SEQ_CST,
						      __ATOMIC_SEQ_CST);

		*old = old32;
		return ok ? 0 : 1;
	}
	return -1;
}

const struct guest_mem_ops shadow_guest_mem_ops = {
	.read = guest_read,
	.cmpxchg = guest_cmpxchg,
};

/* ---- Setup -------------------------------------------------------------- */

bool shadow_mmu_init(struct shadow_mmu *mmu, const struct memslots *slots,
		     const struct shadow_ops *ops, void *vm_ctx,
		     const struct shadow_config *cfg)
{
	*mmu = (struct shadow_mmu){
		.slots = slots, .ops = ops, .vm_ctx = vm_ctx, .cfg = *cfg,
		.valid_gen = 1, .mmio_gen_seen = slots->generation,
	};
	if (cfg->max_pages < SHADOW_MIN_PAGES ||
	    cfg->max_pages > shadow_max_pages_limit() ||
	    !ops->flush_remote_tlbs)
		return false;
	mmu->mmio_rsvd = cfg->host_maxphyaddr <= 51;
	mmu_lock_init(&mmu->lock);
	mmu->pool_dir = mmu_alloc_table(&mmu->pool_dir_hpa);
	mmu->sp_hash = mmu_alloc_table(&mmu->sp_hash_hpa);
	mmu->rmap_hash = mmu_alloc_table(&mmu->rmap_hash_hpa);
	if (mmu->pool_dir && mmu->sp_hash && mmu->rmap_hash)
		return true;
	shadow_mmu_destroy(mmu);
	return false;
}

void shadow_mmu_destroy(struct shadow_mmu *mmu)
{
	if (mmu->pool_dir)
		shadow_free_all_pages(mmu);
	if (mmu->pool_dir)
		mmu_free_table(mmu->pool_dir_hpa);
	if (mmu->sp_hash)
		mmu_free_table(mmu->sp_hash_hpa);
	if (mmu->rmap_hash)
		mmu_free_table(mmu->rmap_hash_hpa);
	mmu->pool_dir = 0;
	mmu->sp_hash = mmu->rmap_hash = 0;
}

/* ---- Modes and roots -------------------------------------------------- */

int shadow_vcpu_mode(const struct shadow_vcpu *v)
{
	const struct guest_paging *p = &v->paging;

	if (!(p->cr0 & GUEST_CR0_PG))
		return SHADOW_MODE_DIRECT;
	if (!(p->cr4 & GUEST_CR4_PAE))
		return SHADOW_MODE_32BIT;
	if (!(p->efer & GUEST_EFER_LMA))
		return SHADOW_MODE_PAE;
	return (p->cr4 & GUEST_CR4_LA57) ? -1 : SHADOW_MODE_64;
}

bool shadow_root_stale(const struct shadow_vcpu *v)
{
	if (v->root_gen != __atomic_load_n(&v->mmu->valid_gen,
					   __ATOMIC_ACQUIRE))
		return true;
	if (v->root && __atomic_load_n(&v->root->invalid, __ATOMIC_ACQUIRE))
		return true;
	for (unsigned i = 0; i < 4; i++)
		if (v->pae_sp[i] &&
		    __atomic_load_n(&v->pae_sp[i]->invalid, __ATOMIC_ACQUIRE))
			return true;
	return false;
}

static void release_roots(struct shadow_vcpu *v)
{
	struct shadow_mmu *mmu = v->mmu;

	if (v->root)
		shadow_put_root(mmu, v->root);
	v->root = 0;
	for (unsigned i = 0; i < 4; i++) {
		if (v->pae_sp[i])
			shadow_put_root(mmu, v->pae_sp[i]);
		v->pae_sp[i] = 0;
		if (v->pae_root)
			spte_write(&v->pae_root[i], 0);
	}
}

/* The address bits of a guest entry or CR3 (bits 12..M-1). */
static uint64_t guest_addr_mask(const struct shadow_mmu *mmu)
{
	unsigned m = mmu->cfg.guest_maxphyaddr;

	if (m < 32 || m > 52)
		m = m < 32 ? 32 : 52;
	return ((1ull << m) - 1) & ~0xfffull;
}

static struct shadow_page *get_root(struct shadow_mmu *mmu, uint64_t gfn,
				    union shadow_role role)
{
	struct shadow_page *sp = shadow_get_page(mmu, gfn, role);

	if (sp)
		sp->root_count++;
	return sp;
}

/* Fill the 4 entries of the PAE root (see the top of this file). */
static bool load_pae_roots(struct shadow_vcpu *v, int mode,
			   union shadow_role role)
{
	struct shadow_mmu *mmu = v->mmu;

	for (unsigned i = 0; i < 4; i++) {
		uint64_t gfn;

		if (mode == SHADOW_MODE_PAE) {
			uint64_t pdpte = v->paging.pdptes[i];

			if (!(pdpte & GPTE_P))
				continue;
			gfn = (pdpte & guest_addr_mask(mmu)) >> 12;
		} else if (mode == SHADOW_MODE_32BIT) {
			gfn = (v->paging.cr3 & 0xfffff000ull) >> 12;
			role.quadrant = i;
		} else {
			gfn = (uint64_t)i << 18;
		}
		v->pae_sp[i] = get_root(mmu, gfn, role);
		if (!v->pae_sp[i])
			return false;
		spte_write(&v->pae_root[i],
			   make_pae_root_spte(v->pae_sp[i]->spt_hpa));
	}
	return true;
}

enum shadow_cr_result shadow_load_root_locked(struct shadow_vcpu *v)
{
	struct shadow_mmu *mmu = v->mmu;
	int mode = shadow_vcpu_mode(v);
	union shadow_role role = { .word = 0 };
	bool ok;

	mmu_assert_locked(&mmu->lock);
	release_roots(v);
	v->root_gen = mmu->valid_gen;
	v->root_version++;
	if (mode < 0)
		return SHADOW_CR_UNSUPPORTED;
	if (!shadow_reserve_pages(mmu, SHADOW_PAGES_PER_FAULT))
		return SHADOW_CR_NOMEM;
	STAT(mmu, root_loads, 1);
	role.mode = mode;
	role.access = SHADOW_ACC_ALL;
	role.nxe = mode >= SHADOW_MODE_PAE &&
		   (v->paging.efer & GUEST_EFER_NXE);
	role.pse = mode == SHADOW_MODE_32BIT &&
		   (v->paging.cr4 & GUEST_CR4_PSE);
	role.direct = mode == SHADOW_MODE_DIRECT;
	if (mode == SHADOW_MODE_64) {
		role.level = 4;
		v->root = get_root(mmu, (v->paging.cr3 &
					 guest_addr_mask(mmu)) >> 12, role);
		ok = v->root != 0;
		v->hw_mode = SHADOW_HW_4LEVEL;
		v->root_hpa = ok ? v->root->spt_hpa : 0;
	} else {
		role.level = 2;
		ok = load_pae_roots(v, mode, role);
		v->hw_mode = SHADOW_HW_PAE;
		v->root_hpa = v->pae_root_hpa;
	}
	if (!ok)
		return SHADOW_CR_NOMEM;
	/*
	 * Always sync, not only for an architectural flush: the pages of a
	 * root loaded for another role (NXE toggled, say) are a separate
	 * copy of the guest's tables, and an INVLPG the guest made meanwhile
	 * through the old copy must hold in this one too. (Zapped roots
	 * reload into fresh pages, where this costs nothing.)
	 */
	if (v->root)
		shadow_sync_children(mmu, v->root);
	for (unsigned i = 0; i < 4; i++)
		if (v->pae_sp[i])
			shadow_sync_children(mmu, v->pae_sp[i]);
	return SHADOW_CR_OK;
}

bool shadow_vcpu_init(struct shadow_vcpu *v, struct shadow_mmu *mmu,
		      void *ctx)
{
	enum shadow_cr_result r;

	*v = (struct shadow_vcpu){ .mmu = mmu, .ctx = ctx };
	v->paging.maxphyaddr = mmu->cfg.guest_maxphyaddr;
	v->paging.gbpages = mmu->cfg.guest_gbpages;
	v->pae_root = mmu_alloc_table_below_4g(&v->pae_root_hpa);
	if (!v->pae_root)
		return false;
	shadow_lock(mmu);
	r = shadow_load_root_locked(v);
	if (r != SHADOW_CR_OK)
		release_roots(v);
	shadow_unlock(mmu);
	if (r == SHADOW_CR_OK)
		return true;
	mmu_free_table(v->pae_root_hpa);
	v->pae_root = 0;
	return false;
}

void shadow_vcpu_destroy(struct shadow_vcpu *v)
{
	if (!v->mmu)
		return;
	shadow_lock(v->mmu);
	release_roots(v);
	shadow_unlock(v->mmu);
	if (v->pae_root)
		mmu_free_table(v->pae_root_hpa);
	v->pae_root = 0;
}

enum shadow_cr_result shadow_vcpu_load_root(struct shadow_vcpu *v)
{
	enum shadow_cr_result r = SHADOW_CR_OK;

	if (!shadow_root_stale(v))
		return SHADOW_CR_OK;
	shadow_lock(v->mmu);
	if (shadow_root_stale(v)) {
		STAT(v->mmu, root_reloads, 1);
		r = shadow_load_root_locked(v);
	}
	shadow_unlock(v->mmu);
	return r;
}

/* ---- Control registers --------------------------------------------------- */

enum shadow_cr_result shadow_new_cr3(struct shadow_vcpu *v, uint64_t cr3)
{
	struct shadow_mmu *mmu = v->mmu;
	struct guest_paging old = v->paging;
	enum shadow_cr_result r = SHADOW_CR_OK;

	STAT(mmu, cr3_loads, 1);
	shadow_lock(mmu);
	v->paging.cr3 = cr3;
	if (shadow_vcpu_mode(v) == SHADOW_MODE_PAE) {
		switch (guest_load_pdptes(&v->paging, &shadow_guest_mem_ops,
					  mmu)) {
		case PDPTE_LOAD_OK:
			break;
		case PDPTE_LOAD_GP:
			r = SHADOW_CR_GP;
			break;
		case PDPTE_LOAD_MEM_ERROR:
			r = SHADOW_CR_MEM_ERROR;
			break;
		}
	}
	if (r == SHADOW_CR_OK)
		r = shadow_load_root_locked(v);
	else
		v->paging = old;
	shadow_unlock(mmu);
	return r;
}

enum shadow_cr_result shadow_set_cr(struct shadow_vcpu *v, uint64_t cr0,
				    uint64_t cr4, uint64_t efer)
{
	struct shadow_mmu *mmu = v->mmu;
	struct guest_paging old = v->paging;
	uint64_t cr0_diff = cr0 ^ old.cr0, cr4_diff = cr4 ^ old.cr4;
	int old_mode = shadow_vcpu_mode(v), mode;
	bool flush, reload, pdptes;
	enum shadow_cr_result r = SHADOW_CR_OK;

	shadow_lock(mmu);
	v->paging.cr0 = cr0;
	v->paging.cr4 = cr4;
	v->paging.efer = efer;
	mode = shadow_vcpu_mode(v);
	/* SDM 4.10.4.1: these changes invalidate the whole TLB. */
	flush = (cr0_diff & GUEST_CR0_PG) ||
		(cr4_diff & (GUEST_CR4_PAE | GUEST_CR4_PSE | CR4_PGE |
			     GUEST_CR4_SMEP | CR4_PCIDE | GUEST_CR4_LA57)) ||
		((efer ^ old.efer) & GUEST_EFER_LMA);
	/* SDM 4.4.1: when the CPU loads the PAE PDPTEs. */
	pdptes = mode == SHADOW_MODE_PAE &&
		 ((cr0_diff & (GUEST_CR0_PG | CR0_CD | CR0_NW)) ||
		  (cr4_diff & (GUEST_CR4_PAE | CR4_PGE | GUEST_CR4_PSE |
			       GUEST_CR4_SMEP)));
	reload = flush || pdptes || mode != old_mode ||
		 (mode >= SHADOW_MODE_PAE &&
		  ((efer ^ old.efer) & GUEST_EFER_NXE)) ||
		 (mode == SHADOW_MODE_32BIT && (cr4_diff & GUEST_CR4_PSE));
	if (pdptes) {
		switch (guest_load_pdptes(&v->paging, &shadow_guest_mem_ops,
					  mmu)) {
		case PDPTE_LOAD_OK:
			break;
		case PDPTE_LOAD_GP:
			r = SHADOW_CR_GP;
			break;
		case PDPTE_LOAD_MEM_ERROR:
			r = SHADOW_CR_MEM_ERROR;
			break;
		}
	}
	if (r != SHADOW_CR_OK)
		v->paging = old;
	else if (reload)
		r = shadow_load_root_locked(v);
	shadow_unlock(mmu);
	return r;
}

/* ---- Zap-all and memslots ------------------------------------------------ */

void shadow_zap_all(struct shadow_mmu *mmu)
{
	unsigned batch = 0;

	shadow_lock(mmu);
	STAT(mmu, zap_all, 1);
	__atomic_store_n(&mmu->valid_gen, mmu->valid_gen + 1,
			 __ATOMIC_RELEASE);
	/* Every vCPU leaves guest mode and, seeing its root obsolete,
	 * reloads before it enters again. */
	mmu->flush_pending = true;
	shadow_commit(mmu);
	/* Pages made after the bump are newer than every obsolete one, so
	 * the obsolete pages are exactly the oldest end of the age list. */
	while (mmu->lru_oldest) {
		struct shadow_page *sp = sp_from_index(mmu, mmu->lru_oldest);

		if (!sp_obsolete(mmu, sp))
			break;
		shadow_zap_page(mmu, sp);
		STAT(mmu, obsolete_zapped, 1);
		if (++batch == SHADOW_ZAP_BATCH) {
			/* Let vCPUs fault and reload meanwhile. */
			shadow_unlock(mmu);
			shadow_lock(mmu);
			batch = 0;
			STAT(mmu, lock_breaks, 1);
		}
	}
	shadow_unlock(mmu);
}

void shadow_memslots_changed(struct shadow_mmu *mmu, bool removed)
{
	uint64_t generation = shadow_slots_generation(mmu);
	bool wrapped = (generation >> SHADOW_MMIO_GEN_BITS) !=
		       (mmu->mmio_gen_seen >> SHADOW_MMIO_GEN_BITS);

	mmu->mmio_gen_seen = generation;
	if (removed || wrapped)
		shadow_zap_all(mmu);
}

void shadow_mmu_get_stats(const struct shadow_mmu *mmu,
			  struct shadow_stats *out)
{
	const uint64_t *src = (const uint64_t *)&mmu->stats;
	uint64_t *dst = (uint64_t *)out;

	for (unsigned i = 0; i < sizeof(*out) / sizeof(uint64_t); i++)
		dst[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
}

/* ---- Hardware control values --------------------------------------------- */

uint64_t shadow_hw_cr0(const struct shadow_vcpu *v)
{
	return v->paging.cr0 | CR0_PE | GUEST_CR0_PG | GUEST_CR0_WP;
}

uint64_t shadow_hw_cr4(const struct shadow_vcpu *v)
{
	uint64_t cr4 = v->paging.cr4 & ~(GUEST_CR4_PSE | CR4_PGE | CR4_PCIDE |
					 GUEST_CR4_LA57);

	if (!(v->paging.cr0 & GUEST_CR0_PG))
		cr4 &= ~(GUEST_CR4_SMEP | GUEST_CR4_SMAP | GUEST_CR4_PKE);
	return cr4 | GUEST_CR4_PAE;
}

uint64_t shadow_hw_efer(const struct shadow_vcpu *v)
{
	uint64_t efer = v->paging.efer & ~(EFER_LME | GUEST_EFER_LMA);

	if (v->hw_mode == SHADOW_HW_4LEVEL)
		efer |= EFER_LME | GUEST_EFER_LMA;
	return efer | GUEST_EFER_NXE;
}
