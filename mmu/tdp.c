/*
 * TDP MMU: on-demand nested page tables. See mmu/tdp.h and docs/mmu.md;
 * the entry bits are in mmu/tdp_spte.h.
 */
#include "mmu/tdp.h"

const struct tdp_format tdp_format_ept = {
	.name = "EPT",
	.present_mask = EPT_RWX,
	.table_bits = EPT_RWX,
	.leaf_read = EPT_R,
	.leaf_write = EPT_W,
	.leaf_exec = EPT_X,
	.leaf_nx = 0,
	.leaf_extra = EPT_MT_WB,
	.large_bit = EPT_PS,
	.addr_mask = SPTE_ADDR_MASK,
};

const struct tdp_format tdp_format_npt = {
	.name = "NPT",
	.present_mask = NPT_P,
	.table_bits = NPT_P | NPT_RW | NPT_US,
	.leaf_read = NPT_P | NPT_US,	/* nested walks are user accesses */
	.leaf_write = NPT_RW,
	.leaf_exec = 0,
	.leaf_nx = NPT_NX,		/* never set: leaves are executable */
	.leaf_extra = 0,
	.large_bit = NPT_PS,
	.addr_mask = SPTE_ADDR_MASK,
};

static void stat_add(uint64_t *counter, int64_t n)
{
	__atomic_fetch_add(counter, (uint64_t)n, __ATOMIC_RELAXED);
}

bool tdp_mmu_init(struct tdp_mmu *mmu, const struct tdp_format *fmt,
		  const struct memslots *slots)
{
	*mmu = (struct tdp_mmu){ .fmt = fmt, .slots = slots };
	mmu_lock_init(&mmu->lock);
	if (!mmu_alloc_table(&mmu->root_hpa)) {
		mmu->root_hpa = 0;
		return false;
	}
	mmu->stats.tables = 1;
	return true;
}

/* Point the empty entry *sptep at a new zeroed table and return the table,
 * or NULL when no page is left (the entry stays empty). */
static uint64_t *add_table(struct tdp_mmu *mmu, uint64_t *sptep)
{
	uint64_t table_hpa;
	uint64_t *table = mmu_alloc_table(&table_hpa);

	if (!table)
		return 0;
	spte_write(sptep, make_table_spte(mmu->fmt, table_hpa));
	stat_add(&mmu->stats.tables, 1);
	return table;
}

/* Map the 4 KiB (level 1) or 2 MiB (level 2) guest page holding 'gfn' at
 * the empty entry *sptep. A 2 MiB page is backed by the slot's 512
 * contiguous host pages from the chunk's first one (memslot_large_ok). */
static void add_leaf(struct tdp_mmu *mmu, uint64_t *sptep,
		     const struct memslot *slot, uint64_t gfn, unsigned level)
{
	uint64_t pages = tdp_level_size(level) >> TDP_PAGE_SHIFT;
	uint64_t first_gfn = gfn & ~(pages - 1);
	uint64_t hpa = slot->hpa[first_gfn - slot->base_gfn];

	spte_write(sptep, make_leaf_spte(mmu->fmt, hpa, level));
	stat_add(level == 1 ? &mmu->stats.mapped_4k : &mmu->stats.mapped_2m, 1);
}

/*
 * Walk from the root to the entry that maps 'gpa', adding the tables that
 * are missing, and install the leaf. The leaf goes in at level 2 if the
 * chunk may be large and that entry is still empty; if a level-1 table
 * exists there already (4 KiB pages of the chunk were mapped first), the
 * page joins it as 4 KiB. Out of memory stops the walk where it is: every
 * table added so far is linked and empty below, which is a valid state.
 */
static enum tdp_fault_result map_gpa(struct tdp_mmu *mmu,
				     const struct memslot *slot, uint64_t gpa)
{
	const struct tdp_format *fmt = mmu->fmt;
	uint64_t gfn = gpa >> TDP_PAGE_SHIFT;
	bool large_ok = memslot_large_ok(slot, gfn);
	uint64_t *table = mmu_hpa_to_virt(mmu->root_hpa);

	mmu_assert_locked(&mmu->lock);
	for (unsigned level = TDP_LEVELS; level > 1; level--) {
		uint64_t *sptep = &table[tdp_index(gpa, level)];
		uint64_t spte = spte_read(sptep);

		if (is_present_spte(fmt, spte)) {
			if (is_leaf_spte(fmt, spte, level))
				return TDP_SPURIOUS;
			table = mmu_hpa_to_virt(spte_hpa(fmt, spte));
			continue;
		}
		if (level == 2 && large_ok) {
			add_leaf(mmu, sptep, slot, gfn, 2);
			return TDP_FIXED;
		}
		table = add_table(mmu, sptep);
		if (!table)
			return TDP_NOMEM;
	}

	uint64_t *sptep = &table[tdp_index(gpa, 1)];

	if (is_present_spte(fmt, spte_read(sptep)))
		return TDP_SPURIOUS;
	add_leaf(mmu, sptep, slot, gfn, 1);
	return TDP_FIXED;
}

enum tdp_fault_result tdp_mmu_fault(struct tdp_mmu *mmu, uint64_t gpa,
				    uint32_t access)
{
	const struct memslot *slot = 0;
	enum tdp_fault_result result;

	/* Every leaf gets full access, so the kind of access does not matter
	 * yet (it will for dirty logging and write protection). */
	(void)access;
	stat_add(&mmu->stats.faults, 1);
	if (gpa < TDP_GPA_LIMIT)
		slot = memslot_find(mmu->slots, gpa >> TDP_PAGE_SHIFT);
	if (!slot) {
		stat_add(&mmu->stats.mmio, 1);
		return TDP_MMIO;
	}

	mmu_lock(&mmu->lock);
	result = map_gpa(mmu, slot, gpa);
	mmu_unlock(&mmu->lock);

	stat_add(result == TDP_FIXED ? &mmu->stats.fixed :
		 result == TDP_SPURIOUS ? &mmu->stats.spurious :
		 &mmu->stats.nomem, 1);
	return result;
}

static void free_table(struct tdp_mmu *mmu, uint64_t table_hpa, unsigned level)
{
	const struct tdp_format *fmt = mmu->fmt;
	uint64_t *table = mmu_hpa_to_virt(table_hpa);

	for (unsigned i = 0; i < TDP_ENTRIES; i++) {
		uint64_t spte = spte_read(&table[i]);

		if (!is_present_spte(fmt, spte))
			continue;
		if (level == 1)
			stat_add(&mmu->stats.mapped_4k, -1);
		else if (is_large_spte(fmt, spte, level))
			stat_add(&mmu->stats.mapped_2m, -1);
		else
			free_table(mmu, spte_hpa(fmt, spte), level - 1);
	}
	mmu_free_table(table_hpa);
	stat_add(&mmu->stats.tables, -1);
}

void tdp_mmu_destroy(struct tdp_mmu *mmu)
{
	if (mmu->root_hpa)
		free_table(mmu, mmu->root_hpa, TDP_LEVELS);
	mmu->root_hpa = 0;
}

bool tdp_mmu_lookup(struct tdp_mmu *mmu, uint64_t gpa, uint64_t *hpa,
		    unsigned *level)
{
	const struct tdp_format *fmt = mmu->fmt;
	const uint64_t *table;

	if (!mmu->root_hpa || gpa >= TDP_GPA_LIMIT)
		return false;
	table = mmu_hpa_to_virt(mmu->root_hpa);
	for (unsigned l = TDP_LEVELS; l >= 1; l--) {
		uint64_t spte = spte_read(&table[tdp_index(gpa, l)]);

		if (!is_present_spte(fmt, spte))
			return false;
		if (is_leaf_spte(fmt, spte, l)) {
			uint64_t offset_mask = tdp_level_size(l) - 1;

			*hpa = (spte_hpa(fmt, spte) & ~offset_mask) |
			       (gpa & offset_mask);
			*level = l;
			return true;
		}
		table = mmu_hpa_to_virt(spte_hpa(fmt, spte));
	}
	return false;
}

void tdp_mmu_get_stats(const struct tdp_mmu *mmu, struct tdp_stats *out)
{
	const struct tdp_stats *s = &mmu->stats;

	out->faults = __atomic_load_n(&s->faults, __ATOMIC_RELAXED);
	out->fixed = __atomic_load_n(&s->fixed, __ATOMIC_RELAXED);
	out->spurious = __atomic_load_n(&s->spurious, __ATOMIC_RELAXED);
	out->mmio = __atomic_load_n(&s->mmio, __ATOMIC_RELAXED);
	out->nomem = __atomic_load_n(&s->nomem, __ATOMIC_RELAXED);
	out->mapped_4k = __atomic_load_n(&s->mapped_4k, __ATOMIC_RELAXED);
	out->mapped_2m = __atomic_load_n(&s->mapped_2m, __ATOMIC_RELAXED);
	out->tables = __atomic_load_n(&s->tables, __ATOMIC_RELAXED);
}
