/*
 * The random guest of the shadow MMU property test: see shadow_guest.h.
 */
#include <stdbool.h>
#include <stdint.h>

#include "mmu/guest_walk.h"
#include "tests/host/shadow_guest.h"

uint64_t sg_rng;
bool sg_tidy;

uint64_t sg_rnd(void)
{
	sg_rng ^= sg_rng >> 12;
	sg_rng ^= sg_rng << 25;
	sg_rng ^= sg_rng >> 27;
	return sg_rng * 0x2545f4914f6cdd1dull;
}

uint64_t sg_below(uint64_t n)
{
	return sg_rnd() % n;
}

bool sg_chance(unsigned percent)
{
	return sg_below(100) < percent;
}

const unsigned sg_class_first[4] = { 23, 11, 5, 1 };
const unsigned sg_class_count[4] = { 18 + 8, 12, 6, 4 };

uint64_t sg_pool_frame(unsigned class)
{
	unsigned k = sg_below(sg_class_count[class]);

	if (class == 0 && k >= 18)
		return SIM_SLOT_B_GFN + 8 * (k - 18);
	return sg_class_first[class] + k;
}

uint64_t sg_any_pool_frame(void)
{
	return sg_pool_frame(sg_below(4));
}

uint64_t sg_data_frame(void)
{
	unsigned r = sg_below(100);

	if (r < 70)
		return 64 + sg_below(SIM_SLOT_A_PAGES - 64);
	if (r < 85)
		return SIM_SLOT_B_GFN + sg_below(SIM_SLOT_B_PAGES);
	if (r < 90)
		return SIM_SLOT_C_GFN + sg_below(SIM_SLOT_C_PAGES);
	if (r < 97)
		return 0x900 + sg_below(16);		/* MMIO */
	return 0xfee00;					/* far MMIO */
}

/* A PAE PDPTE as an OS writes one: present, a PD, maybe PWT/PCD (now and
 * then a reserved bit, which makes the CR3 load #GP). */
uint64_t sg_random_pdpte(void)
{
	uint64_t e = sg_pool_frame(1) << 12 | (sg_chance(95) ? GPTE_P : 0) |
		     (sg_chance(10) ? GPTE_PWT : 0) | (sg_chance(10) ? GPTE_PCD : 0);

	if (sg_chance(3))
		e |= sg_chance(50) ? GPTE_RW : GPTE_NX;
	return e;
}

/* A random entry for a table of 'class', 8 bytes or 4 (32-bit). */
uint64_t sg_random_entry(unsigned class, unsigned size)
{
	unsigned r = sg_below(100);
	bool large = class > 0 && sg_chance(class == 1 ? 10 : 4);
	uint64_t gfn, e;

	if (class == 2 && size == 8 && sg_chance(sg_tidy ? 50 : 30))
		return sg_random_pdpte();
	if (large)
		gfn = sg_chance(80) ? (size == 4 ? 0 : 512 * sg_below(2)) :
		      sg_any_pool_frame();
	else if (class > 0)
		gfn = r < 82 ? sg_pool_frame(class - 1) :
		      r < 92 ? sg_any_pool_frame() : sg_data_frame();
	else
		gfn = r < 55 ? sg_data_frame() : r < 85 ? sg_pool_frame(0) :
		      r < 92 ? sg_any_pool_frame() : 512 * sg_below(2) + sg_below(512);
	e = (sg_chance(class ? 96 + 3 * sg_tidy : 92 + 6 * sg_tidy) ? GPTE_P : 0) |
	    (sg_chance(class ? 95 + 4 * sg_tidy : 75 + 15 * sg_tidy) ? GPTE_RW :
	     0) |
	    (sg_chance(class ? 95 + 4 * sg_tidy : 70 + 15 * sg_tidy) ? GPTE_US :
	     0) |
	    (sg_chance(class ? 85 : 70) ? GPTE_A : 0) |
	    (sg_chance(60) ? GPTE_D : 0) | (large ? GPTE_PS : 0) |
	    (sg_chance(8) ? GPTE_PWT : 0) | (sg_chance(8) ? GPTE_PCD : 0) |
	    (sg_chance(8) ? GPTE_G : 0) | (sg_chance(8) ? GPTE_PAT_4K : 0);
	if (size == 4) {
		e |= (gfn & 0xfffff) << 12;
		if (large && sg_chance(10))
			e |= (uint64_t)sg_below(4) << 13;	/* PSE-36 bits */
		return e & 0xffffffffull;
	}
	e |= gfn << 12;
	if (sg_chance(12))
		e |= GPTE_NX;
	if (sg_chance(6 - 4 * sg_tidy))
		e |= (uint64_t)sg_below(16) << GPTE_PKEY_SHIFT;
	if (sg_chance(1 - sg_tidy))
		e |= 1ull << (40 + sg_below(12));		/* above MAXPHYADDR */
	if (large && sg_chance(5))
		e |= GPTE_PAT_LARGE;
	return e;
}

const unsigned sg_hot64[4][5] = {
	{ 0, 1, 2, 255, 511 },		/* PT */
	{ 0, 1, 3, 4, 511 },		/* PD */
	{ 0, 1, 2, 0, 1 },		/* PDPT */
	{ 0, 1, 256, 511, 0 },		/* PML4 */
};
const unsigned sg_hot32[2][7] = {
	{ 0, 1, 2, 511, 512, 513, 1023 },	/* PT */
	{ 0, 1, 256, 511, 512, 767, 1023 },	/* PD */
};

/* Fill every hot index of every pool frame, so walks go somewhere. */
void sg_populate_tables(struct sim *sim)
{
	for (unsigned class = 0; class < 4; class++) {
		for (unsigned k = 0; k < sg_class_count[class]; k++) {
			uint64_t gfn = k >= 18 && class == 0 ?
				       SIM_SLOT_B_GFN + 8 * (k - 18) :
				       sg_class_first[class] + k;

			for (unsigned h = 0; h < 5; h++)
				sim_store(sim, (gfn << 12) +
					  sg_hot64[class][h] * 8,
					  sg_random_entry(class, 8), 8);
			for (unsigned h = 0; class < 2 && h < 7; h++)
				sim_store(sim, (gfn << 12) +
					  sg_hot32[class][h] * 4,
					  sg_random_entry(class, 4), 4);
			for (unsigned h = 0; class == 2 && h < 12; h++)
				sim_store(sim, (gfn << 12) +
					  (h < 8 ? h : 248 + h) * 8,
					  sg_random_pdpte(), 8);
		}
	}
}

int sg_pool_index(uint64_t gfn)
{
	if (gfn >= 1 && gfn <= 40)
		return (int)gfn - 1;
	if (gfn >= SIM_SLOT_B_GFN && gfn < SIM_SLOT_B_GFN + 64 &&
	    (gfn - SIM_SLOT_B_GFN) % 8 == 0)
		return 40 + (int)((gfn - SIM_SLOT_B_GFN) / 8);
	return -1;
}

static uint64_t pool_gfn_of(unsigned k)
{
	return k < 40 ? 1 + k : SIM_SLOT_B_GFN + 8 * (k - 40);
}

void sg_populate_physmap(struct sim *sim)
{
	const uint64_t table = GPTE_P | GPTE_RW | GPTE_A;

	for (unsigned k = 0; k < 48; k++) {
		sim_store(sim, (PM_PT64 << 12) + 8 * k,
			  pool_gfn_of(k) << 12 | table | GPTE_D, 8);
		sim_store(sim, (PM_PT32 << 12) + 4 * k,
			  pool_gfn_of(k) << 12 | table | GPTE_D, 4);
	}
	sim_store(sim, PM_PD << 12, PM_PT64 << 12 | table, 8);
	sim_store(sim, PM_PDPT << 12, PM_PD << 12 | table, 8);
	for (unsigned k = 0; k < sg_class_count[3]; k++)
		sim_store(sim, (sg_class_first[3] + k) * 4096 +
			  PM_PML4_IDX * 8, PM_PDPT << 12 | table, 8);
	for (unsigned k = 0; k < sg_class_count[1]; k++) {
		uint64_t pd = (uint64_t)(sg_class_first[1] + k) << 12;

		sim_store(sim, pd + PM_PD64_IDX * 8, PM_PT64 << 12 | table,
			  8);
		sim_store(sim, pd + PM_PD32_IDX * 4, PM_PT32 << 12 | table,
			  4);
	}
}

