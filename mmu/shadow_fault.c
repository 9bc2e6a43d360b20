/*
 * The shadow page fault: the MMIO fast path, the guest walk, and "fetch",
 * which builds the shadow path for what the walk found.
 *
 * fetch goes down the shadow levels from the vCPU's root. At each level
 * that shadows a guest table it first checks that the guest entry the walk
 * used is still what the walk read: the table is write-protected (that was
 * done, and flushed, when its shadow page was made), so from here on a
 * change traps and reaches shadow_guest_pte_written after this fault drops
 * the lock; a change before the check is seen and the fault is retried.
 * Then it links the child page for the next guest table (get or create by
 * gfn and role), or, at the guest's leaf, installs the leaf spte. A guest
 * large page is mapped by a 2 MiB spte when allowed, else by "direct"
 * pages that split it, which need no guest entries.
 */
#include "mmu/shadow_internal.h"

/* Which access the CPU reported (PFERR_* from the shadow tables). */
static uint32_t access_from_error_code(uint32_t error_code, unsigned cpl)
{
	uint32_t access = 0;

	if (error_code & PFERR_WRITE)
		access |= ACCESS_WRITE;
	if (error_code & PFERR_FETCH)
		access |= ACCESS_FETCH;
	if (error_code & PFERR_USER)
		access |= ACCESS_USER;
	else if (cpl == 3)
		access |= ACCESS_IMPLICIT_SUP;	/* U = 0 at CPL 3 */
	return access;
}

/* ---- MMIO fast path ---------------------------------------------------- */

/*
 * The spte that maps gva at the lowest level the tables reach, walked
 * without the lock (0 if the walk cannot be trusted). Table pages are freed
 * only after flush_remote_tlbs, which waits for this walk (lockless_begin);
 * descriptors are never freed, so reading one is always safe, and the
 * child found through the parent's meta word is used only if it still owns
 * the table the entry points at and has the level below: a stale entry
 * never leads into a page of another level.
 */
static uint64_t lockless_leaf_spte(const struct shadow_vcpu *v, uint64_t gva)
{
	const struct shadow_mmu *mmu = v->mmu;
	const struct shadow_page *sp;
	unsigned level;

	if (shadow_root_stale(v))
		return 0;
	sp = v->root ? v->root : v->pae_sp[(gva >> 30) & 3];
	if (!sp)
		return 0;
	level = sp->role.level;
	for (;;) {
		unsigned idx = shadow_index(gva, level);
		uint64_t *spt = __atomic_load_n(&sp->spt, __ATOMIC_RELAXED);
		struct shadow_meta *meta = __atomic_load_n(&sp->meta,
							   __ATOMIC_RELAXED);
		uint64_t spte = spte_read(&spt[idx]);
		uint32_t child_index;
		union shadow_role role;

		if (!is_shadow_present_spte(spte) ||
		    is_shadow_leaf_spte(spte, level))
			return spte;
		child_index = __atomic_load_n(&meta[idx].info,
					      __ATOMIC_RELAXED);
		if (!child_index || child_index / SP_PER_POOL_PAGE >=
		    __atomic_load_n(&mmu->pool_allocated, __ATOMIC_ACQUIRE))
			return 0;
		sp = sp_from_index(mmu, child_index);
		role.word = __atomic_load_n(&sp->role.word, __ATOMIC_RELAXED);
		if (__atomic_load_n(&sp->spt_hpa, __ATOMIC_RELAXED) !=
		    shadow_spte_hpa(spte) || role.level != level - 1)
			return 0;
		level--;
	}
}

/*
 * May the fast path serve this access from the rights cached in the MMIO
 * spte? Data accesses whose outcome the cached U/S and R/W decide alone:
 * paging off (no checks at all); otherwise a user access to a user page,
 * or a supervisor one to a supervisor page or to a user page without
 * SMAP, and in either case no protection keys on a user page, and a write
 * only where R/W allows it. Everything else (fetches, SMAP, keys, CR0.WP =
 * 0) takes the slow path, which walks and decides exactly.
 */
static bool mmio_fast_allowed(const struct shadow_vcpu *v, uint64_t spte,
			      uint32_t access)
{
	const struct guest_paging *p = &v->paging;
	unsigned rights = spte_access(spte);
	bool user = (access & ACCESS_USER) && !(access & ACCESS_IMPLICIT_SUP);
	bool user_page = rights & SHADOW_ACC_USER;

	if (access & ACCESS_FETCH)
		return false;
	if (!(p->cr0 & GUEST_CR0_PG))
		return true;
	if (user && !user_page)
		return false;
	if (!user && user_page && (p->cr4 & GUEST_CR4_SMAP))
		return false;
	if (user_page && (p->cr4 & GUEST_CR4_PKE) &&
	    (p->efer & GUEST_EFER_LMA))
		return false;
	return !(access & ACCESS_WRITE) || (rights & SHADOW_ACC_WRITE);
}

static bool mmio_fast(struct shadow_vcpu *v, uint64_t gva, uint32_t access,
		      struct shadow_fault *out)
{
	struct shadow_mmu *mmu = v->mmu;
	uint64_t spte, generation;

	if (mmu->ops->lockless_begin)
		mmu->ops->lockless_begin(v->ctx);
	spte = lockless_leaf_spte(v, gva);
	if (mmu->ops->lockless_end)
		mmu->ops->lockless_end(v->ctx);
	if (!is_mmio_spte(spte))
		return false;
	generation = shadow_slots_generation(mmu);
	if (mmio_spte_generation(spte) !=
	    (generation & SHADOW_MMIO_GEN_MASK)) {
		STAT(mmu, mmio_stale, 1);
		return false;
	}
	if (!mmio_fast_allowed(v, spte, access))
		return false;
	out->result = SHADOW_FAULT_MMIO;
	out->gpa = (mmio_spte_gfn(spte) << 12) | (gva & 0xfff);
	return true;
}

/* ---- fetch ------------------------------------------------------------------ */

struct fetch {
	struct shadow_vcpu *v;
	struct shadow_mmu *mmu;
	uint64_t gva;
	uint32_t access;		/* ACCESS_* */
	const struct guest_walk *walk;
	int mode;			/* enum shadow_guest_mode */
	bool nxe, pse;
	unsigned leaf_access;		/* SHADOW_ACC_*, WRITE only if dirty */
	unsigned pat, pkey;
	struct shadow_fault *out;
};

static unsigned guest_root_level(int mode)
{
	return mode == SHADOW_MODE_64 ? 4 : mode == SHADOW_MODE_PAE ? 3 :
	       mode == SHADOW_MODE_32BIT ? 2 : 0;
}

/* The guest entry walk->pte[wi] is still in memory (a PAE PDPTE is a
 * register loaded at CR3 time, never re-read). */
static bool gpte_unchanged(const struct fetch *f, unsigned wi)
{
	uint64_t gpte;

	if (f->mode == SHADOW_MODE_PAE && wi == 0)
		return true;
	if (!shadow_read_gpte(f->mmu, f->walk->pte_gpa[wi],
			      f->mode == SHADOW_MODE_32BIT ? 4 : 8, &gpte))
		return false;
	return gpte == f->walk->pte[wi];
}

/* SHADOW_ACC_* granted by walk entry wi (a PAE PDPTE grants all). */
static unsigned walk_entry_access(const struct fetch *f, unsigned wi)
{
	union shadow_role role = { .mode = f->mode, .nxe = f->nxe };

	if (f->mode == SHADOW_MODE_PAE && wi == 0)
		return SHADOW_ACC_ALL;
	return shadow_gpte_access(role, f->walk->pte[wi]);
}

/*
 * The child page entry (parent, idx) must point at: reuse the one there if
 * it is the right one, else replace whatever is there. A page linked anew
 * is brought in sync below (the architecture only lets translations that
 * already existed stay stale).
 */
static struct shadow_page *ensure_child(struct shadow_mmu *mmu,
					struct shadow_page *parent,
					unsigned idx, uint64_t gfn,
					union shadow_role role)
{
	uint64_t spte = parent->spt[idx];
	struct shadow_page *child;

	if (spte) {
		if (is_shadow_present_spte(spte) &&
		    !is_shadow_leaf_spte(spte, parent->role.level)) {
			child = sp_child(mmu, parent, idx);
			if (child->gfn == gfn &&
			    child->role.word == role.word &&
			    sp_valid(mmu, child))
				return child;
		}
		shadow_zap_entry(mmu, parent, idx);
	}
	child = shadow_get_page(mmu, gfn, role);
	if (!child)
		return 0;
	shadow_link(mmu, parent, idx, child);
	if (child->unsync_children)
		shadow_sync_children(mmu, child);
	return child;
}

/* A 2 MiB spte may map the chunk starting at 'first'. */
static bool large_allowed(struct shadow_mmu *mmu, uint64_t first)
{
	const struct memslot *slot = memslot_find(mmu->slots, first);

	return slot && first <= UINT32_MAX && memslot_large_ok(slot, first) &&
	       !shadow_chunk_has_tables(mmu, first);
}

static void install_mmio(struct fetch *f, struct shadow_page *sp,
			 unsigned idx, uint64_t gfn)
{
	struct shadow_mmu *mmu = f->mmu;
	uint64_t old = sp->spt[idx];

	f->out->result = SHADOW_FAULT_MMIO;
	f->out->gpa = f->walk->gpa;
	if (gfn >= (SHADOW_MMIO_GPA_LIMIT >> 12)) {
		shadow_zap_entry(mmu, sp, idx);
		return;			/* too far up to cache */
	}
	if (old && !is_mmio_spte(old))
		shadow_zap_entry(mmu, sp, idx);
	if (!old || !is_mmio_spte(old))
		STAT(mmu, mmio_sptes, 1);
	spte_write(&sp->spt[idx],
		   make_mmio_spte(gfn, f->leaf_access,
				  shadow_slots_generation(mmu),
				  mmu->mmio_rsvd));
}

/*
 * Hardware runs with CR0.WP = 1; where the guest's CR0.WP = 0 allows a
 * supervisor write the hardware refuses whatever the spte says, the write
 * must be emulated: a write to a read-only page (then the spte is not
 * writable, see install_leaf), or one to a user page whose protection key
 * is write-disabled in PKRU (WD stops supervisor writes only when WP = 1).
 */
static bool wp0_key_denial(const struct fetch *f)
{
	const struct guest_paging *p = &f->v->paging;
	bool user = (f->access & ACCESS_USER) &&
		    !(f->access & ACCESS_IMPLICIT_SUP);

	return (f->access & ACCESS_WRITE) && !user &&
	       !(p->cr0 & GUEST_CR0_WP) && f->mode == SHADOW_MODE_64 &&
	       (p->cr4 & GUEST_CR4_PKE) && f->walk->user &&
	       ((p->pkru >> (2 * f->pkey + 1)) & 1);
}

/* Map gfn (level 1) or the 2 MiB chunk starting at gfn (level 2) at the
 * entry (sp, idx), and decide what the vCPU does next. */
static void install_leaf(struct fetch *f, struct shadow_page *sp,
			 unsigned idx, uint64_t gfn, unsigned level)
{
	struct shadow_mmu *mmu = f->mmu;
	bool write = f->access & ACCESS_WRITE;
	bool wp = false;
	uint64_t old = sp->spt[idx], spte;

	if (gfn > UINT32_MAX && memslot_find(mmu->slots, gfn)) {
		f->out->result = SHADOW_FAULT_MEM_ERROR;	/* unsupported */
		return;
	}
	if ((f->leaf_access & SHADOW_ACC_WRITE) &&
	    shadow_gfn_protected(mmu, gfn))
		wp = !(write && mmu->cfg.unsync && level == 1 &&
		       shadow_try_unsync(mmu, gfn));
	if (!shadow_make_leaf(mmu, gfn, level, f->leaf_access, f->pat,
			      f->pkey, wp, &spte)) {
		install_mmio(f, sp, idx, gfn);
		return;
	}
	shadow_set_leaf(mmu, sp, idx, spte, gfn);
	if (write && (!spte_is_writable(spte) || wp0_key_denial(f))) {
		/* A guest page table (wp), or CR0.WP = 0 let a supervisor
		 * write through where the guest's entry says read-only. */
		f->out->result = SHADOW_FAULT_EMULATE;
		f->out->gpa = f->walk->gpa;
		if (!f->walk->writable || wp0_key_denial(f))
			STAT(mmu, emulate_wp0, 1);
		return;
	}
	f->out->result = old == spte ? SHADOW_FAULT_RETRY : SHADOW_FAULT_FIXED;
}

static void fetch(struct fetch *f)
{
	struct shadow_mmu *mmu = f->mmu;
	const struct guest_walk *w = f->walk;
	struct shadow_page *sp = f->v->root ? f->v->root :
				 f->v->pae_sp[(f->gva >> 30) & 3];
	unsigned level, wi;
	unsigned path_access = SHADOW_ACC_ALL;	/* of the entries above */
	uint64_t gfn = w->gpa >> 12;
	bool direct;

	if (!sp) {			/* cannot happen: the walk faulted */
		f->out->result = SHADOW_FAULT_RETRY;
		return;
	}
	level = sp->role.level;
	wi = guest_root_level(f->mode) - level;
	direct = sp->role.direct;
	for (;;) {
		unsigned idx = shadow_index(f->gva, level);
		union shadow_role role = { .word = 0 };
		uint64_t child_gfn;

		if (!direct) {
			sp->write_flooding_count = 0;
			if (!gpte_unchanged(f, wi)) {
				STAT(mmu, gpte_changed, 1);
				f->out->result = SHADOW_FAULT_RETRY;
				return;
			}
			path_access &= walk_entry_access(f, wi);
			if (wi + 1 < w->levels) {
				role.level = level - 1;
				role.mode = f->mode;
				role.access = path_access;
				role.nxe = f->nxe;
				role.pse = f->pse;
				if (f->mode == SHADOW_MODE_32BIT)
					role.quadrant = (f->gva >> 21) & 1;
				sp = ensure_child(mmu, sp, idx,
						  w->pte_gpa[wi + 1] >> 12,
						  role);
				if (!sp) {
					f->out->result = SHADOW_FAULT_NOMEM;
					return;
				}
				level--;
				wi++;
				continue;
			}
			direct = true;	/* the guest leaf: maps all below */
		}
		if (level == 1) {
			install_leaf(f, sp, idx, gfn, 1);
			return;
		}
		child_gfn = gfn & ~(shadow_level_pages(level) - 1);
		if (level == 2 && large_allowed(mmu, child_gfn)) {
			install_leaf(f, sp, idx, child_gfn, 2);
			return;
		}
		role.level = level - 1;
		role.mode = SHADOW_MODE_DIRECT;
		role.direct = 1;
		role.access = f->leaf_access;
		role.pat = f->pat;
		role.pkey = f->pkey;
		sp = ensure_child(mmu, sp, idx, child_gfn, role);
		if (!sp) {
			f->out->result = SHADOW_FAULT_NOMEM;
			return;
		}
		level--;
	}
}

static void map_walk(struct shadow_vcpu *v, uint64_t gva, uint32_t access,
		     const struct guest_walk *w, struct shadow_fault *out)
{
	struct fetch f = {
		.v = v, .mmu = v->mmu, .gva = gva, .access = access,
		.walk = w, .mode = shadow_vcpu_mode(v), .out = out,
		.pat = w->pat_index,
	};

	f.nxe = f.mode >= SHADOW_MODE_PAE &&
		(v->paging.efer & GUEST_EFER_NXE);
	f.pse = f.mode == SHADOW_MODE_32BIT &&
		(v->paging.cr4 & GUEST_CR4_PSE);
	f.leaf_access = (w->user ? SHADOW_ACC_USER : 0) |
			(w->nx ? 0 : SHADOW_ACC_EXEC) |
			(w->writable && w->dirty ? SHADOW_ACC_WRITE : 0);
	if (f.mode == SHADOW_MODE_64)
		f.pkey = (unsigned)(w->pte[w->levels - 1] >> GPTE_PKEY_SHIFT) &
			 0xf;
	fetch(&f);
}

static void count_result(struct shadow_mmu *mmu, enum shadow_fault_result r)
{
	switch (r) {
	case SHADOW_FAULT_FIXED:	STAT(mmu, fixed, 1); break;
	case SHADOW_FAULT_RETRY:	STAT(mmu, retried, 1); break;
	case SHADOW_FAULT_INJECT:	STAT(mmu, injected, 1); break;
	case SHADOW_FAULT_EMULATE:	STAT(mmu, emulated, 1); break;
	case SHADOW_FAULT_MMIO:		STAT(mmu, mmio, 1); break;
	case SHADOW_FAULT_MEM_ERROR:	STAT(mmu, mem_errors, 1); break;
	case SHADOW_FAULT_NOMEM:	STAT(mmu, nomem, 1); break;
	}
}

void shadow_page_fault(struct shadow_vcpu *v, uint64_t gva,
		       uint32_t error_code, unsigned cpl,
		       struct shadow_fault *out)
{
	struct shadow_mmu *mmu = v->mmu;
	uint32_t access = access_from_error_code(error_code, cpl);
	bool maybe_mmio = (error_code & PFERR_RSVD) ||
			  (!mmu->mmio_rsvd && !(error_code & PFERR_PRESENT));
	struct guest_walk walk;

	STAT(mmu, faults, 1);
	*out = (struct shadow_fault){ .result = SHADOW_FAULT_RETRY };
	if (maybe_mmio && mmio_fast(v, gva, access, out)) {
		STAT(mmu, mmio_fast, 1);
		count_result(mmu, out->result);
		return;
	}
	shadow_lock(mmu);
	if (shadow_root_stale(v)) {
		/* Zapped under it: reload (the backend loads the new root
		 * before re-entering, root_version changed). */
		if (shadow_load_root_locked(v) != SHADOW_CR_OK)
			out->result = SHADOW_FAULT_NOMEM;
	} else if (!shadow_reserve_pages(mmu, SHADOW_PAGES_PER_FAULT)) {
		out->result = SHADOW_FAULT_NOMEM;
	} else {
		switch (guest_walk(&v->paging, gva, access,
				   &shadow_guest_mem_ops, mmu, &walk)) {
		case WALK_OK:
			shadow_walk_ad_fixup(mmu, &walk, shadow_vcpu_mode(v) ==
					     SHADOW_MODE_32BIT);
			map_walk(v, gva, access, &walk, out);
			break;
		case WALK_FAULT:
			out->result = SHADOW_FAULT_INJECT;
			out->error_code = walk.error_code;
			break;
		case WALK_MEM_ERROR:
			out->result = SHADOW_FAULT_MEM_ERROR;
			break;
		}
	}
	shadow_unlock(mmu);
	count_result(mmu, out->result);
}
