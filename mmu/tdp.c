/*
 * TDP MMU: on-demand nested page tables. See mmu/tdp.h.
 *
 * FIRST VERSION: 4 KiB leaves only; 2 MiB leaves, statistics and the host
 * tests come next (the interface stays).
 */
#include "mmu/tdp.h"

#define LEVELS 4

const struct tdp_format tdp_format_ept = {
	.name = "EPT",
	.present_mask = 0x7,			/* R, W or X */
	.table_bits = 0x7,			/* R W X */
	.leaf_read = 1ull << 0,
	.leaf_write = 1ull << 1,
	.leaf_exec = 1ull << 2,
	.leaf_nx = 0,
	.leaf_extra = 6ull << 3,		/* memory type WB */
	.large_bit = 1ull << 7,
	.addr_mask = 0x000ffffffffff000ull,
};

const struct tdp_format tdp_format_npt = {
	.name = "NPT",
	.present_mask = 1ull << 0,
	.table_bits = 0x7,			/* P RW US */
	.leaf_read = (1ull << 0) | (1ull << 2),	/* P, US: NPT walks are user */
	.leaf_write = 1ull << 1,
	.leaf_exec = 0,
	.leaf_nx = 1ull << 63,
	.leaf_extra = 0,
	.large_bit = 1ull << 7,
	.addr_mask = 0x000ffffffffff000ull,
};

static unsigned index_of(uint64_t gpa, unsigned level)
{
	return (gpa >> (12 + 9 * (level - 1))) & 511;
}

bool tdp_mmu_init(struct tdp_mmu *mmu, const struct tdp_format *fmt,
		  const struct memslots *slots)
{
	*mmu = (struct tdp_mmu){ .fmt = fmt, .slots = slots };
	mmu_lock_init(&mmu->lock);
	if (!mmu_alloc_table(&mmu->root_hpa))
		return false;
	mmu->stats.tables = 1;
	return true;
}

static uint64_t full_leaf(const struct tdp_format *fmt)
{
	return fmt->leaf_read | fmt->leaf_write | fmt->leaf_exec |
	       fmt->leaf_extra;
}

enum tdp_fault_result tdp_mmu_fault(struct tdp_mmu *mmu, uint64_t gpa,
				    uint32_t access)
{
	const struct tdp_format *fmt = mmu->fmt;
	const struct memslot *slot = memslot_find(mmu->slots, gpa >> 12);
	enum tdp_fault_result result = TDP_FIXED;
	uint64_t *table;

	(void)access;
	if (!slot) {
		mmu->stats.mmio++;
		return TDP_MMIO;
	}
	mmu_lock(&mmu->lock);
	mmu->stats.faults++;
	table = mmu_hpa_to_virt(mmu->root_hpa);
	for (unsigned level = LEVELS; level > 1; level--) {
		uint64_t *entry = &table[index_of(gpa, level)];

		if (!(*entry & fmt->present_mask)) {
			uint64_t hpa;

			if (!mmu_alloc_table(&hpa)) {
				result = TDP_NOMEM;
				goto out;
			}
			mmu->stats.tables++;
			*entry = hpa | fmt->table_bits;
		}
		table = mmu_hpa_to_virt(*entry & fmt->addr_mask);
	}
	uint64_t *leaf = &table[index_of(gpa, 1)];

	if (*leaf & fmt->present_mask) {
		mmu->stats.spurious++;
		result = TDP_SPURIOUS;
	} else {
		*leaf = slot->hpa[(gpa >> 12) - slot->base_gfn] | full_leaf(fmt);
		mmu->stats.mapped_4k++;
	}
out:
	mmu_unlock(&mmu->lock);
	return result;
}

static void free_level(struct tdp_mmu *mmu, uint64_t table_hpa, unsigned level)
{
	uint64_t *table = mmu_hpa_to_virt(table_hpa);

	if (level > 1) {
		for (unsigned i = 0; i < 512; i++)
			if ((table[i] & mmu->fmt->present_mask) &&
			    !(table[i] & mmu->fmt->large_bit))
				free_level(mmu, table[i] & mmu->fmt->addr_mask,
					   level - 1);
	}
	mmu_free_table(table_hpa);
	mmu->stats.tables--;
}

void tdp_mmu_destroy(struct tdp_mmu *mmu)
{
	if (mmu->root_hpa)
		free_level(mmu, mmu->root_hpa, LEVELS);
	mmu->root_hpa = 0;
}

bool tdp_mmu_lookup(struct tdp_mmu *mmu, uint64_t gpa, uint64_t *hpa,
		    unsigned *level)
{
	const struct tdp_format *fmt = mmu->fmt;
	uint64_t *table = mmu_hpa_to_virt(mmu->root_hpa);

	for (unsigned l = LEVELS; l >= 1; l--) {
		uint64_t e = table[index_of(gpa, l)];

		if (!(e & fmt->present_mask))
			return false;
		if (l == 1 || (e & fmt->large_bit)) {
			uint64_t size = 1ull << (12 + 9 * (l - 1));

			*hpa = (e & fmt->addr_mask & ~(size - 1)) |
			       (gpa & (size - 1));
			*level = l;
			return true;
		}
		table = mmu_hpa_to_virt(e & fmt->addr_mask);
	}
	return false;
}
