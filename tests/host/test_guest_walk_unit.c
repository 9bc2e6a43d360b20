/*
 * The guest page-table walker (mmu/guest_walk.c), case by case: page
 * tables built by hand in a fake guest RAM for every paging mode and every
 * rule of mmu/guest_walk.h, with the exact error code expected.
 *
 * Guest RAM is 2 MiB at gpa 0, reached only through the walker's callbacks,
 * which count reads and cmpxchgs and refuse anything outside RAM; a test
 * can make the next cmpxchg see a guest CPU change its tables first
 * ('race'). Translations may point anywhere: pages are never read.
 * (tests/host/test_guest_walk.c is the randomized differential test.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "arch/x86/cpu.h"
#include "mmu/guest_walk.h"

_Static_assert(GUEST_CR0_WP == CR0_WP && GUEST_CR0_PG == CR0_PG, "CR0");
_Static_assert(GUEST_CR4_PSE == CR4_PSE && GUEST_CR4_PAE == CR4_PAE &&
	       GUEST_CR4_SMEP == CR4_SMEP && GUEST_CR4_SMAP == CR4_SMAP &&
	       GUEST_CR4_PKE == CR4_PKE, "CR4");
_Static_assert(GUEST_EFER_LMA == EFER_LMA && GUEST_EFER_NXE == EFER_NXE,
	       "EFER");

#define RAM_SIZE	(2u << 20)
#define P		GPTE_P
#define RW		GPTE_RW
#define US		GPTE_US
#define ALL		(GPTE_P | GPTE_RW | GPTE_US)
#define AD		(GPTE_A | GPTE_D)
#define BIT(n)		(1ull << (n))

#define READ		0u
#define WRITE		ACCESS_WRITE
#define FETCH		ACCESS_FETCH
#define UREAD		ACCESS_USER
#define UWRITE		(ACCESS_USER | ACCESS_WRITE)
#define UFETCH		(ACCESS_USER | ACCESS_FETCH)
#define IMPLICIT	ACCESS_IMPLICIT_SUP

enum mode { MODE_32, MODE_PAE, MODE_4LEVEL, MODE_5LEVEL };

struct env {
	struct guest_paging paging;
	enum mode mode;
	uint8_t *ram;
	uint64_t next_table;
	unsigned reads, cmpxchgs, cmpxchg_fails, cmpxchg_size;
	bool cmpxchg_error;
	/* Runs once, at the next cmpxchg, before it compares. */
	void (*race)(struct env *env);
	uint64_t race_gpa, race_value;
	struct guest_walk walk;
};

static unsigned entry_size(const struct env *e)
{
	return e->mode == MODE_32 ? 4 : 8;
}

static uint64_t get(const struct env *e, uint64_t gpa)
{
	uint64_t v = 0;

	assert_true(gpa + entry_size(e) <= RAM_SIZE);
	memcpy(&v, e->ram + gpa, entry_size(e));
	return v;
}

static void put(struct env *e, uint64_t gpa, uint64_t v)
{
	assert_true(gpa + entry_size(e) <= RAM_SIZE);
	memcpy(e->ram + gpa, &v, entry_size(e));
}

/* --- the callbacks ------------------------------------------------------ */

static int mem_read(void *ctx, uint64_t gpa, void *buf, unsigned size)
{
	struct env *e = ctx;

	assert_true(size == entry_size(e) || size == 8);
	assert_int_equal(gpa % size, 0);
	e->reads++;
	if (gpa >= RAM_SIZE || RAM_SIZE - gpa < size)
		return -1;
	memcpy(buf, e->ram + gpa, size);
	return 0;
}

static int mem_cmpxchg(void *ctx, uint64_t gpa, uint64_t *old, uint64_t new,
		       unsigned size)
{
	struct env *e = ctx;
	uint64_t cur = 0;

	e->cmpxchgs++;
	e->cmpxchg_size = size;
	assert_int_equal(size, entry_size(e));
	assert_int_equal(gpa % size, 0);
	if (e->cmpxchg_error || gpa >= RAM_SIZE)
		return -1;
	if (e->race) {
		void (*race)(struct env *) = e->race;

		e->race = NULL;
		race(e);
	}
	memcpy(&cur, e->ram + gpa, size);
	if (cur != *old) {
		*old = cur;
		e->cmpxchg_fails++;
		return 1;
	}
	memcpy(e->ram + gpa, &new, size);
	return 0;
}

static const struct guest_mem_ops mem_ops = {
	.read = mem_read,
	.cmpxchg = mem_cmpxchg,
};

/* --- building page tables ----------------------------------------------- */

static uint64_t alloc_table(struct env *e)
{
	uint64_t gpa = e->next_table;

	e->next_table += 4096;
	assert_true(e->next_table <= RAM_SIZE);
	return gpa;
}

static unsigned root_level(const struct env *e)
{
	static const unsigned levels[] = { 2, 3, 4, 5 };

	return levels[e->mode];
}

static uint64_t root_table(const struct env *e)
{
	if (e->mode == MODE_32)
		return e->paging.cr3 & 0xfffff000u;
	if (e->mode == MODE_PAE)
		return e->paging.cr3 & 0xffffffe0u;
	return e->paging.cr3 & 0x000ffffffffff000ull;
}

static uint64_t table_addr(const struct env *e, uint64_t entry)
{
	return entry & (e->mode == MODE_32 ? 0xfffff000ull
					   : 0x000ffffffffff000ull);
}

static uint64_t index_of(const struct env *e, uint64_t gva, unsigned level)
{
	unsigned bits = e->mode == MODE_32 ? 10 : 9;

	if (e->mode == MODE_PAE && level == 3)
		return (gva >> 30) & 3;
	return (gva >> (12 + bits * (level - 1))) & ((1u << bits) - 1);
}

static void load_pdptes(struct env *e)
{
	assert_int_equal(guest_load_pdptes(&e->paging, &mem_ops, e),
			 PDPTE_LOAD_OK);
}

/* The gpa of gva's entry at 'level'; the levels above must be present. */
static uint64_t entry_at(const struct env *e, uint64_t gva, unsigned level)
{
	uint64_t table = root_table(e);

	for (unsigned l = root_level(e); l > level; l--) {
		uint64_t entry = get(e, table + index_of(e, gva, l) *
					entry_size(e));

		assert_true(entry & P);
		table = table_addr(e, entry);
	}
	return table + index_of(e, gva, level) * entry_size(e);
}

/*
 * Map gva with 'leaf' at 'leaf_level', creating missing tables whose
 * entries get 'upper' (PAE PDPTEs get P only: nothing else is allowed).
 * Returns the leaf's gpa. In PAE mode the PDPTEs are loaded again.
 */
static uint64_t map(struct env *e, uint64_t gva, unsigned leaf_level,
		    uint64_t upper, uint64_t leaf)
{
	uint64_t table = root_table(e), gpa;

	for (unsigned level = root_level(e); level > leaf_level; level--) {
		uint64_t entry;

		gpa = table + index_of(e, gva, level) * entry_size(e);
		entry = get(e, gpa);
		if (!(entry & P)) {
			bool pdpte = e->mode == MODE_PAE && level == 3;

			entry = alloc_table(e) | (pdpte ? P : upper);
			put(e, gpa, entry);
		}
		table = table_addr(e, entry);
	}
	gpa = table + index_of(e, gva, leaf_level) * entry_size(e);
	put(e, gpa, leaf);
	if (e->mode == MODE_PAE)
		load_pdptes(e);
	return gpa;
}

/* Set and clear bits in gva's entry at 'level'. */
static void change(struct env *e, uint64_t gva, unsigned level, uint64_t set,
		   uint64_t clear)
{
	uint64_t gpa = entry_at(e, gva, level);

	put(e, gpa, (get(e, gpa) | set) & ~clear);
	if (e->mode == MODE_PAE && level == 3)
		e->paging.pdptes[index_of(e, gva, 3)] = get(e, gpa);
}

static void set_mode(struct env *e, enum mode mode)
{
	e->mode = mode;
	e->paging = (struct guest_paging){
		.cr0 = CR0_PE | CR0_PG | CR0_WP,
		.maxphyaddr = 46,
		.gbpages = true,
	};
	switch (mode) {
	case MODE_32:
		e->paging.cr4 = CR4_PSE;
		e->paging.cr3 = alloc_table(e);
		break;
	case MODE_PAE:
		e->paging.cr4 = CR4_PAE;
		e->paging.efer = EFER_NXE;
		/* The PDPT is 32-byte aligned; CR3 bits 4:0 are ignored. */
		e->paging.cr3 = (alloc_table(e) + 0x20) | 0x18;
		load_pdptes(e);
		break;
	case MODE_4LEVEL:
	case MODE_5LEVEL:
		e->paging.cr4 = CR4_PAE | (mode == MODE_5LEVEL ?
					   GUEST_CR4_LA57 : 0);
		e->paging.efer = EFER_LME | EFER_LMA | EFER_NXE;
		e->paging.cr3 = alloc_table(e);
		break;
	}
}

/* --- running walks ------------------------------------------------------ */

static enum guest_walk_result walk(struct env *e, uint64_t gva,
				   uint32_t access)
{
	memset(&e->walk, 0xa5, sizeof(e->walk));	/* all must be set */
	return guest_walk(&e->paging, gva, access, &mem_ops, e, &e->walk);
}

#define expect_gpa(e, gva, access, want) do {				\
	assert_int_equal(walk(e, gva, access), WALK_OK);		\
	assert_int_equal((e)->walk.gpa, (want));			\
} while (0)

#define expect_fault(e, gva, access, want) do {				\
	assert_int_equal(walk(e, gva, access), WALK_FAULT);		\
	assert_int_equal((e)->walk.error_code, (want));			\
} while (0)

static uint64_t gva4(unsigned i4, unsigned i3, unsigned i2, unsigned i1,
		     unsigned offset)
{
	return ((uint64_t)i4 << 39) | ((uint64_t)i3 << 30) |
	       ((uint64_t)i2 << 21) | ((uint64_t)i1 << 12) | offset;
}

/* A 4-level address with every index different and nonzero. */
#define GVA	gva4(0x1a3, 0x0b5, 0x0c7, 0x0d9, 0x234)
#define FRAME	0x123456789000ull	/* < 2^46 */
#define GVA32	0xc0401234u		/* PDE 0x301, PTE 0x001 */
#define GVAPAE	0xc0603234u		/* PDPTE 3, PDE 3, PTE 3 */

static int env_setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));

	assert_non_null(e);
	e->ram = calloc(1, RAM_SIZE);
	assert_non_null(e->ram);
	e->next_table = 0x10000;
	*state = e;
	return 0;
}

static int env_teardown(void **state)
{
	struct env *e = *state;

	free(e->ram);
	free(e);
	return 0;
}

/* --- modes ---------------------------------------------------------------- */

static void test_paging_off(void **state)
{
	struct env *e = *state;

	set_mode(e, MODE_32);
	e->paging.cr0 &= ~CR0_PG;
	e->paging.cr4 = CR4_PAE | CR4_SMEP | CR4_SMAP;
	/* Only the low 32 bits of a linear address exist; no checks. */
	expect_gpa(e, 0xffffffffc0001234ull, UWRITE, 0xc0001234u);
	assert_int_equal(e->walk.levels, 0);
	assert_int_equal(e->walk.page_level, 1);
	assert_true(e->walk.user && e->walk.writable && e->walk.dirty);
	assert_false(e->walk.nx);
	assert_int_equal(e->walk.pat_index, 0);
	expect_gpa(e, 0x1000, UFETCH, 0x1000);
	assert_int_equal(e->reads + e->cmpxchgs, 0);
}

static void test_32bit_4k(void **state)
{
	struct env *e = *state;
	uint64_t pte_gpa;

	set_mode(e, MODE_32);
	pte_gpa = map(e, GVA32, 1, ALL, 0xfedcb000u | ALL);
	expect_gpa(e, GVA32, UWRITE, 0xfedcb234u);
	assert_int_equal(e->walk.page_level, 1);
	assert_int_equal(e->walk.levels, 2);
	assert_int_equal(e->walk.pte_gpa[0], root_table(e) + 0x301 * 4);
	assert_int_equal(e->walk.pte_gpa[1], pte_gpa);
	assert_int_equal(e->walk.pte[1], 0xfedcb000u | ALL | AD);
	assert_true(e->walk.user && e->walk.writable && e->walk.dirty);
	assert_false(e->walk.nx);
	assert_int_equal(e->cmpxchg_size, 4);
	/* Outside long mode the linear address has 32 bits. */
	expect_gpa(e, 0xabcd0000ull << 32 | GVA32, READ, 0xfedcb234u);
}

static void test_32bit_4m_needs_pse(void **state)
{
	struct env *e = *state;
	uint64_t pde = 0x00c00000u | ALL | GPTE_PS;

	set_mode(e, MODE_32);
	map(e, GVA32, 2, 0, pde);
	expect_gpa(e, GVA32, READ, 0x00c01234u);
	assert_int_equal(e->walk.page_level, 2);
	assert_int_equal(e->walk.levels, 1);

	/* Without CR4.PSE, PS is ignored: the PDE points to a page table
	 * (and bits 21:13, reserved in a 4M leaf, are address bits). */
	e->paging.cr4 &= ~CR4_PSE;
	pde = 0x001fe000u | ALL | GPTE_PS;
	put(e, entry_at(e, GVA32, 2), pde);
	put(e, 0x001fe000u + 1 * 4, 0xabcde000u | ALL);
	expect_gpa(e, GVA32, READ, 0xabcde234u);
	assert_int_equal(e->walk.page_level, 1);
	assert_int_equal(e->walk.pte_gpa[1], 0x001fe004u);
}

static void test_32bit_pse36(void **state)
{
	struct env *e = *state;
	uint64_t pde_gpa;

	set_mode(e, MODE_32);
	pde_gpa = map(e, GVA32, 2, 0, 0);
	/* Bits 20:13 of the PDE are address bits 39:32 (M = 40). */
	e->paging.maxphyaddr = 40;
	put(e, pde_gpa, 0x00c00000u | BIT(20) | BIT(13) | ALL | GPTE_PS);
	expect_gpa(e, GVA32, READ, BIT(39) | BIT(32) | 0x00c01234u);
	/* Bit 21 is reserved whatever MAXPHYADDR is. */
	put(e, pde_gpa, 0x00c00000u | BIT(21) | ALL | GPTE_PS);
	expect_fault(e, GVA32, READ, PFERR_PRESENT | PFERR_RSVD);
	/* M is min(MAXPHYADDR, 40): with 52, bit 20 is still an address
	 * bit and bit 21 still reserved. */
	e->paging.maxphyaddr = 52;
	expect_fault(e, GVA32, READ, PFERR_PRESENT | PFERR_RSVD);
	put(e, pde_gpa, 0x00c00000u | BIT(20) | ALL | GPTE_PS);
	expect_gpa(e, GVA32, READ, BIT(39) | 0x00c01234u);
	/* MAXPHYADDR 36: bits 16:13 are address bits 35:32, 21:17 reserved. */
	e->paging.maxphyaddr = 36;
	put(e, pde_gpa, 0x00c00000u | BIT(16) | ALL | GPTE_PS);
	expect_gpa(e, GVA32, READ, BIT(35) | 0x00c01234u);
	put(e, pde_gpa, 0x00c00000u | BIT(17) | ALL | GPTE_PS);
	expect_fault(e, GVA32, UWRITE,
		     PFERR_PRESENT | PFERR_RSVD | PFERR_WRITE | PFERR_USER);
	/* Bit 12 is PAT, never reserved. */
	put(e, pde_gpa, 0x00c00000u | GPTE_PAT_LARGE | ALL | GPTE_PS);
	expect_gpa(e, GVA32, READ, 0x00c01234u);
	assert_int_equal(e->walk.pat_index, 4);
}

static void test_32bit_no_reserved_bits_elsewhere(void **state)
{
	struct env *e = *state;

	set_mode(e, MODE_32);
	/* Every bit of a PDE pointing to a table and of a PTE is defined
	 * or ignored; the NX of other modes does not exist. */
	map(e, GVA32, 1, ALL | 0xf40, 0xfedcb000u | ALL | 0xf98);
	e->paging.efer = EFER_NXE;
	expect_gpa(e, GVA32, UFETCH, 0xfedcb234u);
	assert_false(e->walk.nx);
	assert_int_equal(e->walk.pat_index, 7);	/* PAT (bit 7), PCD, PWT */
}

static void test_pae_4k_2m(void **state)
{
	struct env *e = *state;
	uint64_t pte_gpa, pdpt = e->next_table + 0x20;

	set_mode(e, MODE_PAE);
	pte_gpa = map(e, GVAPAE, 1, ALL, FRAME | ALL);
	expect_gpa(e, GVAPAE, UWRITE, FRAME | 0x234);
	assert_int_equal(e->walk.levels, 3);
	/* Linear addresses have 32 bits: bits 63:32 select nothing. */
	expect_gpa(e, 0xffffffff00000000ull | GVAPAE, READ, FRAME | 0x234);
	expect_gpa(e, BIT(32) | GVAPAE, READ, FRAME | 0x234);
	/* The PDPTE comes from the cache; its gpa is where it was loaded. */
	assert_int_equal(e->walk.pte_gpa[0], pdpt + 3 * 8);
	assert_int_equal(e->walk.pte[0], e->paging.pdptes[3]);
	assert_int_equal(e->walk.pte_gpa[2], pte_gpa);
	assert_int_equal(e->walk.page_level, 1);
	assert_int_equal(e->cmpxchg_size, 8);

	/* 2M leaf; CR4.PSE does not matter in PAE mode. */
	e->paging.cr4 &= ~CR4_PSE;
	map(e, 0x40000000u, 2, ALL, 0x7fe00000u | ALL | GPTE_PS);
	expect_gpa(e, 0x40123456u, READ, 0x7ff23456u);
	assert_int_equal(e->walk.page_level, 2);
	assert_int_equal(e->walk.levels, 2);
}

static void test_pae_uses_cached_pdptes(void **state)
{
	struct env *e = *state;
	uint64_t pdpte_gpa, pdpte;

	set_mode(e, MODE_PAE);
	map(e, GVAPAE, 1, ALL, FRAME | ALL);
	pdpte_gpa = entry_at(e, GVAPAE, 3);
	pdpte = get(e, pdpte_gpa);

	/* Memory changes; the CPU keeps what it loaded at MOV CR3. */
	put(e, pdpte_gpa, 0);
	expect_gpa(e, GVAPAE, READ, FRAME | 0x234);
	put(e, pdpte_gpa, 0x5000 | P);
	expect_gpa(e, GVAPAE, READ, FRAME | 0x234);
	assert_int_equal(get(e, pdpte_gpa), 0x5000 | P);	/* no A bit */
	/* Until the next load. */
	put(e, pdpte_gpa, 0);
	load_pdptes(e);
	expect_fault(e, GVAPAE, READ, 0);
	assert_int_equal(e->walk.levels, 1);

	/* And the other way: present in memory, not in the cache. */
	put(e, pdpte_gpa, pdpte);
	expect_fault(e, GVAPAE, WRITE, PFERR_WRITE);
	load_pdptes(e);
	expect_gpa(e, GVAPAE, WRITE, FRAME | 0x234);
}

static void test_pae_pdpte_load(void **state)
{
	struct env *e = *state;
	static const uint64_t reserved[] = {
		BIT(1), BIT(2), BIT(5), BIT(6), BIT(7), BIT(8), BIT(46),
		BIT(51), BIT(52), BIT(62), BIT(63),
	};
	uint64_t pdpt;
	uint64_t before[4];

	set_mode(e, MODE_PAE);
	pdpt = root_table(e);
	put(e, pdpt + 8, 0x3000 | P | GPTE_PWT | GPTE_PCD | 0xe00);
	load_pdptes(e);
	assert_int_equal(e->paging.pdptes[1], 0x3000 | P | 0x18 | 0xe00);
	for (unsigned i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++) {
		put(e, pdpt + 16, 0x4000 | P | reserved[i]);
		memcpy(before, e->paging.pdptes, sizeof(before));
		assert_int_equal(guest_load_pdptes(&e->paging, &mem_ops, e),
				 PDPTE_LOAD_GP);
		assert_memory_equal(before, e->paging.pdptes, sizeof(before));
		assert_false(guest_pdptes_valid(&e->paging, (uint64_t[4]){
			0, 0, 0x4000 | P | reserved[i], 0 }));
		/* Not present: nothing is reserved. */
		put(e, pdpt + 16, 0x4000 | reserved[i]);
		load_pdptes(e);
	}
	/* MAXPHYADDR 52: bits 51:46 are address bits. */
	e->paging.maxphyaddr = 52;
	put(e, pdpt + 16, BIT(51) | P);
	load_pdptes(e);
	/* A PDPT outside RAM. */
	e->paging.cr3 = RAM_SIZE;
	assert_int_equal(guest_load_pdptes(&e->paging, &mem_ops, e),
			 PDPTE_LOAD_MEM_ERROR);
}

static void test_pae_cached_pdpte_reserved(void **state)
{
	struct env *e = *state;
	static const uint64_t reserved[] = {
		BIT(1), BIT(2), BIT(5), BIT(6), BIT(7), BIT(8), BIT(46),
		BIT(63),
	};

	set_mode(e, MODE_PAE);
	map(e, GVAPAE, 1, ALL, FRAME | ALL);
	/* The CPU refuses these at MOV CR3; a walker handed one anyway
	 * reports a reserved-bit fault there. */
	for (unsigned i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++) {
		load_pdptes(e);
		e->paging.pdptes[3] |= reserved[i];
		expect_fault(e, GVAPAE, WRITE,
			     PFERR_PRESENT | PFERR_RSVD | PFERR_WRITE);
		assert_int_equal(e->walk.levels, 1);
	}
}

static void test_lma_not_lme_chooses_long_mode(void **state)
{
	struct env *e = *state;

	/* EFER.LME with paging off and then PAE paging on is PAE mode until
	 * LMA is set (as a VMCS/VMCB guest EFER reports it). */
	set_mode(e, MODE_PAE);
	map(e, GVAPAE, 1, ALL, FRAME | ALL);
	e->paging.efer |= EFER_LME;
	expect_gpa(e, GVAPAE, READ, FRAME | 0x234);
	assert_int_equal(e->walk.levels, 3);
}

static void test_4level_4k_2m_1g(void **state)
{
	struct env *e = *state;
	uint64_t gva = GVA;

	set_mode(e, MODE_4LEVEL);
	map(e, gva, 1, ALL, FRAME | ALL);
	expect_gpa(e, gva, READ, FRAME | 0x234);
	assert_int_equal(e->walk.levels, 4);
	assert_int_equal(e->walk.page_level, 1);
	assert_int_equal(e->walk.pte_gpa[0], root_table(e) + 0x1a3 * 8);

	gva = gva4(0x1a3, 0x0b5, 0x0c8, 0, 0);
	map(e, gva, 2, ALL, 0x3fe00000ull | ALL | GPTE_PS);
	expect_gpa(e, gva + 0x1fffff, READ, 0x3fffffffull);
	assert_int_equal(e->walk.page_level, 2);
	assert_int_equal(e->walk.levels, 3);

	gva = gva4(0x1a3, 0x0b6, 0, 0, 0);
	map(e, gva, 3, ALL, 0x3fc0000000ull | ALL | GPTE_PS);
	expect_gpa(e, gva + 0x3fffffff, READ, 0x3fffffffffull);
	assert_int_equal(e->walk.page_level, 3);
	assert_int_equal(e->walk.levels, 2);
}

static void test_4level_ignores_high_gva_bits(void **state)
{
	struct env *e = *state;

	set_mode(e, MODE_4LEVEL);
	map(e, GVA, 1, ALL, FRAME | ALL);
	/* Bits 63:48 do not index anything; canonical checks are the
	 * caller's (#GP before paging). */
	expect_gpa(e, GVA | 0xffff000000000000ull, READ, FRAME | 0x234);
	expect_gpa(e, GVA | 0x1234000000000000ull, READ, FRAME | 0x234);
	assert_int_equal(e->walk.pte_gpa[0], root_table(e) + 0x1a3 * 8);
}

static void test_cr3_low_and_high_bits_ignored(void **state)
{
	struct env *e = *state;

	set_mode(e, MODE_4LEVEL);
	map(e, GVA, 1, ALL, FRAME | ALL);
	/* PCID (or PWT/PCD) in 11:0; bits above MAXPHYADDR (LAM, the
	 * no-flush bit 63 never reaches CR3, but be safe). */
	e->paging.cr3 |= 0xfff | BIT(63) | BIT(62) | BIT(61) | BIT(50);
	expect_gpa(e, GVA, READ, FRAME | 0x234);

	set_mode(e, MODE_32);
	map(e, GVA32, 1, ALL, 0x5000u | ALL);
	e->paging.cr3 |= 0xfff | (0xffull << 32);
	expect_gpa(e, GVA32, READ, 0x5234u);
}

static void test_5level(void **state)
{
	struct env *e = *state;
	/* PML5 index 0x15b (bits 56:48); bits 63:57 ignored. */
	uint64_t gva = (0x15bull << 48) | GVA;
	uint64_t pml5;

	set_mode(e, MODE_5LEVEL);
	pml5 = root_table(e);
	map(e, gva, 1, ALL, FRAME | ALL);
	expect_gpa(e, gva, UWRITE, FRAME | 0x234);
	assert_int_equal(e->walk.levels, 5);
	assert_int_equal(e->walk.pte_gpa[0], pml5 + 0x15b * 8);
	expect_gpa(e, gva | 0xfe00000000000000ull, READ, FRAME | 0x234);
	/* Another PML5 index is another PML4: not present. */
	expect_fault(e, GVA, READ, 0);
	assert_int_equal(e->walk.levels, 1);

	/* 1G and 2M pages as in 4-level mode. */
	map(e, gva4(0, 5, 0, 0, 0) | (0x15bull << 48), 3, ALL,
	    0x40000000ull | ALL | GPTE_PS);
	expect_gpa(e, gva4(0, 5, 0, 0, 0x10) | (0x15bull << 48), READ,
		   0x40000010ull);
	assert_int_equal(e->walk.page_level, 3);

	/* Without LA57 the same CR3 is a PML4. */
	e->paging.cr4 &= ~GUEST_CR4_LA57;
	expect_fault(e, gva, READ, 0);
	assert_int_equal(e->walk.pte_gpa[0], pml5 + 0x1a3 * 8);
}

/* --- rights --------------------------------------------------------------- */

static uint64_t mode_gva(enum mode mode)
{
	const uint64_t gva[] = {
		GVA32, GVAPAE, GVA, (0x15bull << 48) | GVA,
	};

	return gva[mode];
}

static uint64_t mode_frame(enum mode mode)
{
	return mode == MODE_32 ? 0xfedcb000u : FRAME;
}

/* A 4K mapping of mode_gva() to mode_frame() with 'leaf' rights. */
static void set_mode_mapped(struct env *e, enum mode mode, uint64_t leaf)
{
	set_mode(e, mode);
	map(e, mode_gva(mode), 1, ALL, mode_frame(mode) | leaf);
}

/*
 * U/S, R/W and CR0.WP, with SMEP/SMAP/PKE off: every combination, in
 * every mode, with the restriction in each level in turn (rights combine
 * over all levels; PAE PDPTEs hold none).
 */
static const struct rights_case {
	uint32_t access;
	uint64_t rights;	/* US/RW of one entry, the others have both */
	bool wp;
	uint32_t error_code;	/* 0: allowed */
} rights_cases[] = {
	{ UREAD,  0,       false, PFERR_PRESENT | PFERR_USER },
	{ UREAD,  0,       true,  PFERR_PRESENT | PFERR_USER },
	{ UREAD,  RW,      false, PFERR_PRESENT | PFERR_USER },
	{ UREAD,  RW,      true,  PFERR_PRESENT | PFERR_USER },
	{ UREAD,  US,      false, 0 },
	{ UREAD,  US,      true,  0 },
	{ UREAD,  US | RW, false, 0 },
	{ UREAD,  US | RW, true,  0 },
	{ UWRITE, 0,       false, PFERR_PRESENT | PFERR_WRITE | PFERR_USER },
	{ UWRITE, 0,       true,  PFERR_PRESENT | PFERR_WRITE | PFERR_USER },
	{ UWRITE, RW,      false, PFERR_PRESENT | PFERR_WRITE | PFERR_USER },
	{ UWRITE, RW,      true,  PFERR_PRESENT | PFERR_WRITE | PFERR_USER },
	{ UWRITE, US,      false, PFERR_PRESENT | PFERR_WRITE | PFERR_USER },
	{ UWRITE, US,      true,  PFERR_PRESENT | PFERR_WRITE | PFERR_USER },
	{ UWRITE, US | RW, false, 0 },
	{ UWRITE, US | RW, true,  0 },
	{ READ,   0,       false, 0 },
	{ READ,   0,       true,  0 },
	{ READ,   RW,      false, 0 },
	{ READ,   RW,      true,  0 },
	{ READ,   US,      false, 0 },
	{ READ,   US,      true,  0 },
	{ READ,   US | RW, false, 0 },
	{ READ,   US | RW, true,  0 },
	{ WRITE,  0,       false, 0 },
	{ WRITE,  0,       true,  PFERR_PRESENT | PFERR_WRITE },
	{ WRITE,  RW,      false, 0 },
	{ WRITE,  RW,      true,  0 },
	{ WRITE,  US,      false, 0 },
	{ WRITE,  US,      true,  PFERR_PRESENT | PFERR_WRITE },
	{ WRITE,  US | RW, false, 0 },
	{ WRITE,  US | RW, true,  0 },
	/* User fetches need U/S everywhere, not R/W (NX apart). */
	{ UFETCH, 0,       true,  PFERR_PRESENT | PFERR_USER },
	{ UFETCH, US,      true,  0 },
	{ FETCH,  0,       true,  0 },
	{ FETCH,  US,      true,  0 },
};

static void check_rights(struct env *e, enum mode mode)
{
	uint64_t gva = mode_gva(mode);

	set_mode_mapped(e, mode, ALL);
	for (unsigned i = 0; i < sizeof(rights_cases) / sizeof(rights_cases[0]);
	     i++) {
		const struct rights_case *c = &rights_cases[i];

		for (unsigned level = 1; level <= root_level(e); level++) {
			enum guest_walk_result r;
			uint32_t want = c->error_code;

			if (mode == MODE_PAE && level == 3)
				continue;
			/* Fetch faults report I/D only with NX or SMEP. */
			if (mode != MODE_32 && (c->access & FETCH) && want)
				want |= PFERR_FETCH;
			e->paging.cr0 = (e->paging.cr0 & ~CR0_WP) |
					(c->wp ? CR0_WP : 0);
			change(e, gva, level, c->rights, (US | RW) & ~c->rights);
			r = walk(e, gva, c->access);
			if (r != (want ? WALK_FAULT : WALK_OK) ||
			    (want && e->walk.error_code != want))
				fail_msg("mode %d case %u level %u: result %d "
					 "error code %#x, want %#x", mode, i,
					 level, r, e->walk.error_code, want);
			if (!want) {
				assert_int_equal(e->walk.user,
						 !!(c->rights & US));
				assert_int_equal(e->walk.writable,
						 !!(c->rights & RW));
			}
			change(e, gva, level, US | RW, 0);
		}
	}
}

static void test_rights_32bit(void **state) { check_rights(*state, MODE_32); }
static void test_rights_pae(void **state) { check_rights(*state, MODE_PAE); }
static void test_rights_4level(void **state)
{
	check_rights(*state, MODE_4LEVEL);
}
static void test_rights_5level(void **state)
{
	check_rights(*state, MODE_5LEVEL);
}

static void test_pae_pdpte_holds_no_rights(void **state)
{
	struct env *e = *state;

	/* The PDPTE has only P (R/W and U/S are reserved there), yet a user
	 * write goes through. */
	set_mode_mapped(e, MODE_PAE, ALL);
	assert_int_equal(e->paging.pdptes[3] & 0xfff, P);
	expect_gpa(e, GVAPAE, UWRITE, FRAME | 0x234);
	assert_true(e->walk.user && e->walk.writable);
}

static void test_nx(void **state)
{
	struct env *e = *state;

	for (enum mode mode = MODE_PAE; mode <= MODE_5LEVEL; mode++) {
		uint64_t gva = mode_gva(mode);

		set_mode_mapped(e, mode, ALL);
		for (unsigned level = 1; level <= root_level(e); level++) {
			if (mode == MODE_PAE && level == 3)
				continue;
			change(e, gva, level, GPTE_NX, 0);
			expect_fault(e, gva, FETCH,
				     PFERR_PRESENT | PFERR_FETCH);
			expect_fault(e, gva, UFETCH, PFERR_PRESENT |
				     PFERR_FETCH | PFERR_USER);
			expect_gpa(e, gva, UWRITE, FRAME | 0x234);
			assert_true(e->walk.nx);
			/* NX without EFER.NXE is a reserved bit, for any
			 * access, and I/D is then not reported. */
			e->paging.efer &= ~EFER_NXE;
			expect_fault(e, gva, READ, PFERR_PRESENT | PFERR_RSVD);
			expect_fault(e, gva, UFETCH, PFERR_PRESENT |
				     PFERR_RSVD | PFERR_USER);
			assert_int_equal(e->walk.levels,
					 root_level(e) - level + 1);
			e->paging.efer |= EFER_NXE;
			change(e, gva, level, 0, GPTE_NX);
		}
		expect_gpa(e, gva, FETCH, FRAME | 0x234);
		assert_false(e->walk.nx);
	}
}

static void test_fetch_bit_in_error_code(void **state)
{
	struct env *e = *state;

	/* Not present: I/D only with NX on (PAE/long mode + NXE) or SMEP. */
	set_mode(e, MODE_4LEVEL);
	expect_fault(e, GVA, FETCH, PFERR_FETCH);
	e->paging.efer &= ~EFER_NXE;
	expect_fault(e, GVA, FETCH, 0);
	e->paging.cr4 |= CR4_SMEP;
	expect_fault(e, GVA, UFETCH, PFERR_FETCH | PFERR_USER);

	set_mode(e, MODE_32);
	e->paging.efer = EFER_NXE;	/* no NX in 32-bit paging */
	expect_fault(e, GVA32, FETCH, 0);
	e->paging.cr4 |= CR4_SMEP;
	expect_fault(e, GVA32, FETCH, PFERR_FETCH);

	set_mode(e, MODE_PAE);
	expect_fault(e, GVAPAE, FETCH, PFERR_FETCH);
	e->paging.efer = 0;
	expect_fault(e, GVAPAE, FETCH, 0);
	/* And never for data accesses. */
	e->paging.efer = EFER_NXE;
	e->paging.cr4 |= CR4_SMEP;
	expect_fault(e, GVAPAE, READ, 0);
}

static void test_smep(void **state)
{
	struct env *e = *state;

	for (enum mode mode = MODE_32; mode <= MODE_5LEVEL; mode++) {
		uint64_t gva = mode_gva(mode), frame = mode_frame(mode);

		set_mode_mapped(e, mode, ALL);
		e->paging.cr4 |= CR4_SMEP;
		expect_fault(e, gva, FETCH, PFERR_PRESENT | PFERR_FETCH);
		expect_gpa(e, gva, UFETCH, frame | 0x234);
		/* Data accesses are not SMEP's business. */
		expect_gpa(e, gva, WRITE, frame | 0x234);
		/* A supervisor page (U/S clear at any one level). */
		change(e, gva, 1, 0, US);
		expect_gpa(e, gva, FETCH, frame | 0x234);
		change(e, gva, 1, US, 0);
		change(e, gva, 2, 0, US);
		expect_gpa(e, gva, FETCH, frame | 0x234);
		expect_fault(e, gva, UFETCH, PFERR_PRESENT | PFERR_FETCH |
			     PFERR_USER);
		/* Without SMEP a supervisor fetch from a user page is fine. */
		change(e, gva, 2, US, 0);
		e->paging.cr4 &= ~CR4_SMEP;
		expect_gpa(e, gva, FETCH, frame | 0x234);
	}
}

static void test_smap(void **state)
{
	struct env *e = *state;

	for (enum mode mode = MODE_32; mode <= MODE_5LEVEL; mode++) {
		uint64_t gva = mode_gva(mode), frame = mode_frame(mode);

		set_mode_mapped(e, mode, ALL);
		e->paging.cr4 |= CR4_SMAP;
		expect_fault(e, gva, READ, PFERR_PRESENT);
		expect_fault(e, gva, WRITE, PFERR_PRESENT | PFERR_WRITE);
		/* EFLAGS.AC = 1 allows explicit accesses... */
		e->paging.rflags_ac = true;
		expect_gpa(e, gva, READ, frame | 0x234);
		expect_gpa(e, gva, WRITE, frame | 0x234);
		/* ...never implicit ones, even at CPL 3 (U stays clear). */
		expect_fault(e, gva, IMPLICIT, PFERR_PRESENT);
		expect_fault(e, gva, IMPLICIT | ACCESS_USER | WRITE,
			     PFERR_PRESENT | PFERR_WRITE);
		/* R/W still counts with CR0.WP, and not without. */
		change(e, gva, 1, 0, RW);
		expect_fault(e, gva, WRITE, PFERR_PRESENT | PFERR_WRITE);
		e->paging.cr0 &= ~CR0_WP;
		expect_gpa(e, gva, WRITE, frame | 0x234);
		e->paging.rflags_ac = false;
		expect_fault(e, gva, WRITE, PFERR_PRESENT | PFERR_WRITE);
		/* User accesses, fetches and supervisor pages: untouched. */
		expect_gpa(e, gva, UREAD, frame | 0x234);
		expect_gpa(e, gva, FETCH, frame | 0x234);
		change(e, gva, root_level(e) == 3 ? 2 : root_level(e), 0, US);
		expect_gpa(e, gva, READ, frame | 0x234);
		expect_gpa(e, gva, IMPLICIT, frame | 0x234);
		expect_gpa(e, gva, IMPLICIT | ACCESS_USER, frame | 0x234);
	}
}

static void test_implicit_supervisor_overrides_user(void **state)
{
	struct env *e = *state;

	/* A CPL-3 GDT/IDT access to a supervisor page is allowed, and a
	 * fault it takes does not have U set. */
	set_mode_mapped(e, MODE_4LEVEL, P | RW);
	expect_gpa(e, GVA, IMPLICIT | ACCESS_USER | WRITE, FRAME | 0x234);
	change(e, GVA, 1, 0, RW);
	expect_fault(e, GVA, IMPLICIT | ACCESS_USER | WRITE,
		     PFERR_PRESENT | PFERR_WRITE);
	change(e, GVA, 1, 0, P);
	expect_fault(e, GVA, IMPLICIT | ACCESS_USER, 0);
}

/* --- protection keys ------------------------------------------------------ */

#define KEY		5ull
#define PKEY(k)		((uint64_t)(k) << GPTE_PKEY_SHIFT)
#define PKRU_AD(k)	(1u << (2 * (k)))
#define PKRU_WD(k)	(2u << (2 * (k)))

static void test_pkeys_user(void **state)
{
	struct env *e = *state;
	const uint32_t pk = PFERR_PRESENT | PFERR_PK;

	set_mode_mapped(e, MODE_4LEVEL, ALL | PKEY(KEY));
	e->paging.cr4 |= CR4_PKE;
	/* Other keys' bits do nothing. */
	e->paging.pkru = ~(PKRU_AD(KEY) | PKRU_WD(KEY));
	expect_gpa(e, GVA, UWRITE, FRAME | 0x234);

	e->paging.pkru = PKRU_AD(KEY);
	expect_fault(e, GVA, UREAD, pk | PFERR_USER);
	expect_fault(e, GVA, UWRITE, pk | PFERR_USER | PFERR_WRITE);
	expect_gpa(e, GVA, UFETCH, FRAME | 0x234);	/* not for fetches */

	e->paging.pkru = PKRU_WD(KEY);
	expect_gpa(e, GVA, UREAD, FRAME | 0x234);
	expect_fault(e, GVA, UWRITE, pk | PFERR_USER | PFERR_WRITE);
	e->paging.cr0 &= ~CR0_WP;		/* WP is for supervisor writes */
	expect_fault(e, GVA, UWRITE, pk | PFERR_USER | PFERR_WRITE);

	/* Together with an ordinary fault, PK is still reported... */
	change(e, GVA, 1, 0, RW);
	expect_fault(e, GVA, UWRITE, pk | PFERR_USER | PFERR_WRITE);
	/* ...and not when the key allows the access. */
	e->paging.pkru = 0;
	expect_fault(e, GVA, UWRITE,
		     PFERR_PRESENT | PFERR_USER | PFERR_WRITE);

	/* Without CR4.PKE the key bits mean nothing. */
	change(e, GVA, 1, RW, 0);
	e->paging.pkru = PKRU_AD(KEY) | PKRU_WD(KEY);
	e->paging.cr4 &= ~CR4_PKE;
	expect_gpa(e, GVA, UWRITE, FRAME | 0x234);
}

static void test_pkeys_supervisor(void **state)
{
	struct env *e = *state;
	const uint32_t pk = PFERR_PRESENT | PFERR_PK;

	set_mode_mapped(e, MODE_5LEVEL, ALL | PKEY(KEY));
	e->paging.cr4 |= CR4_PKE;
	/* Supervisor data accesses to user pages obey AD... */
	e->paging.pkru = PKRU_AD(KEY);
	expect_fault(e, mode_gva(MODE_5LEVEL), READ, pk);
	expect_fault(e, mode_gva(MODE_5LEVEL), IMPLICIT, pk);
	expect_gpa(e, mode_gva(MODE_5LEVEL), FETCH, FRAME | 0x234);
	/* ...and WD only with CR0.WP. */
	e->paging.pkru = PKRU_WD(KEY);
	expect_fault(e, mode_gva(MODE_5LEVEL), WRITE, pk | PFERR_WRITE);
	expect_gpa(e, mode_gva(MODE_5LEVEL), READ, FRAME | 0x234);
	e->paging.cr0 &= ~CR0_WP;
	expect_gpa(e, mode_gva(MODE_5LEVEL), WRITE, FRAME | 0x234);
	/* With SMAP as well, both are reported. */
	e->paging.cr4 |= CR4_SMAP;
	e->paging.pkru = PKRU_AD(KEY);
	expect_fault(e, mode_gva(MODE_5LEVEL), READ, pk);
	e->paging.pkru = 0;
	expect_fault(e, mode_gva(MODE_5LEVEL), READ, PFERR_PRESENT);
	e->paging.cr4 &= ~CR4_SMAP;

	/* Supervisor pages: keys do not apply (CR4.PKS is not modelled). */
	e->paging.pkru = PKRU_AD(KEY) | PKRU_WD(KEY);
	e->paging.cr0 |= CR0_WP;
	change(e, mode_gva(MODE_5LEVEL), 3, 0, US);
	expect_gpa(e, mode_gva(MODE_5LEVEL), WRITE, FRAME | 0x234);
}

static void test_pkeys_come_from_the_leaf(void **state)
{
	struct env *e = *state;
	uint64_t gva = gva4(1, 2, 3, 0, 0x10);

	set_mode(e, MODE_4LEVEL);
	e->paging.cr4 |= CR4_PKE;
	e->paging.pkru = PKRU_AD(KEY);
	/* Bits 62:59 of a table entry are ignored. */
	map(e, GVA, 1, ALL | PKEY(KEY), FRAME | ALL | PKEY(3));
	expect_gpa(e, GVA, UREAD, FRAME | 0x234);
	/* A 2M leaf and a 1G leaf carry their key. */
	map(e, gva, 2, ALL, 0x200000 | ALL | GPTE_PS | PKEY(KEY));
	expect_fault(e, gva, UREAD, PFERR_PRESENT | PFERR_PK | PFERR_USER);
	map(e, gva4(1, 3, 0, 0, 0), 3, ALL,
	    0x40000000 | ALL | GPTE_PS | PKEY(KEY));
	expect_fault(e, gva4(1, 3, 0, 0, 0), UREAD,
		     PFERR_PRESENT | PFERR_PK | PFERR_USER);
	/* Key 15 is bits 31:30 of PKRU. */
	change(e, gva4(1, 3, 0, 0, 0), 3, PKEY(15), 0);
	e->paging.pkru = PKRU_WD(15);
	expect_gpa(e, gva4(1, 3, 0, 0, 0), UREAD, 0x40000000);
	expect_fault(e, gva4(1, 3, 0, 0, 0), UWRITE,
		     PFERR_PRESENT | PFERR_PK | PFERR_USER | PFERR_WRITE);
}

static void test_pkeys_not_in_pae(void **state)
{
	struct env *e = *state;

	/* PAE paging has no keys: bits 62:59 are reserved there. */
	set_mode_mapped(e, MODE_PAE, ALL);
	e->paging.cr4 |= CR4_PKE;
	e->paging.pkru = ~0u;
	expect_gpa(e, GVAPAE, UWRITE, FRAME | 0x234);
	change(e, GVAPAE, 1, PKEY(1), 0);
	expect_fault(e, GVAPAE, UREAD,
		     PFERR_PRESENT | PFERR_RSVD | PFERR_USER);
}

/* --- reserved bits -------------------------------------------------------- */

/* 'bit' in gva's entry at 'level' is reserved: a RSVD fault there. */
static void expect_reserved(struct env *e, uint64_t gva, unsigned level,
			    uint64_t bit)
{
	unsigned cmpxchgs = e->cmpxchgs;

	change(e, gva, level, bit, 0);
	expect_fault(e, gva, UWRITE, PFERR_PRESENT | PFERR_RSVD |
		     PFERR_WRITE | PFERR_USER);
	assert_int_equal(e->walk.levels, root_level(e) - level + 1);
	assert_int_equal(e->cmpxchgs, cmpxchgs);	/* nothing written */
	change(e, gva, level, 0, bit);
}

/* 'bit' in gva's entry at 'level' is not reserved. */
static void expect_not_reserved(struct env *e, uint64_t gva, unsigned level,
				uint64_t bit)
{
	change(e, gva, level, bit, 0);
	assert_int_equal(walk(e, gva, READ), WALK_OK);
	change(e, gva, level, 0, bit);
}

static void test_reserved_long_mode(void **state)
{
	struct env *e = *state;

	for (enum mode mode = MODE_4LEVEL; mode <= MODE_5LEVEL; mode++) {
		uint64_t gva = mode_gva(mode);

		set_mode_mapped(e, mode, ALL);
		for (unsigned level = 1; level <= root_level(e); level++) {
			/* Address bits at and above MAXPHYADDR (46). */
			expect_reserved(e, gva, level, BIT(46));
			expect_reserved(e, gva, level, BIT(51));
			/* 62:52 are ignored (the key bits too, PKE off),
			 * and so are 11:9 (and G, D, PAT-or-PS below). */
			expect_not_reserved(e, gva, level, BIT(52));
			expect_not_reserved(e, gva, level, BIT(62) | BIT(59));
			expect_not_reserved(e, gva, level, 0xe00);
		}
		/* PS is reserved in PML5Es and PML4Es. */
		expect_reserved(e, gva, 4, GPTE_PS);
		if (mode == MODE_5LEVEL)
			expect_reserved(e, gva, 5, GPTE_PS);
		/* Bit 7 of a PTE is PAT; G and D are fine in tables. */
		expect_not_reserved(e, gva, 1, GPTE_PAT_4K);
		expect_not_reserved(e, gva, 2, GPTE_G | GPTE_D);
	}
}

static void test_reserved_maxphyaddr(void **state)
{
	struct env *e = *state;

	set_mode_mapped(e, MODE_4LEVEL, ALL);
	e->paging.maxphyaddr = 52;
	expect_not_reserved(e, GVA, 1, BIT(51));
	expect_gpa(e, GVA, READ, FRAME | 0x234);
	change(e, GVA, 1, BIT(51), 0);
	expect_gpa(e, GVA, READ, BIT(51) | FRAME | 0x234);
	change(e, GVA, 1, 0, BIT(51));
	e->paging.maxphyaddr = 36;
	expect_reserved(e, GVA, 1, BIT(36));
	expect_reserved(e, GVA, 3, BIT(40));
	/* The leaf's frame itself is above 2^36. */
	expect_fault(e, GVA, READ, PFERR_PRESENT | PFERR_RSVD);
	e->paging.maxphyaddr = 39;
	change(e, GVA, 1, 0, FRAME);
	change(e, GVA, 1, BIT(38), 0);
	expect_gpa(e, GVA, READ, BIT(38) | 0x234);
}

static void test_maxphyaddr_out_of_range(void **state)
{
	struct env *e = *state;

	/* Outside 32..52 the width is clamped, never shifted out of range
	 * (UBSan watches). */
	set_mode_mapped(e, MODE_4LEVEL, ALL);
	e->paging.maxphyaddr = 0;
	expect_fault(e, GVA, READ, PFERR_PRESENT | PFERR_RSVD);	/* FRAME */
	e->paging.maxphyaddr = 255;
	change(e, GVA, 1, BIT(51), 0);
	expect_gpa(e, GVA, READ, BIT(51) | FRAME | 0x234);
	set_mode_mapped(e, MODE_32, ALL);
	e->paging.maxphyaddr = 0;
	map(e, 0, 2, 0, 0x00400000u | BIT(13) | ALL | GPTE_PS);
	expect_fault(e, 0, READ, PFERR_PRESENT | PFERR_RSVD);
	e->paging.maxphyaddr = 255;
	expect_gpa(e, 0, READ, BIT(32) | 0x00400000u);
}

static void test_1g_pages(void **state)
{
	struct env *e = *state;
	uint64_t gva = gva4(7, 9, 0, 0, 0);

	set_mode(e, MODE_4LEVEL);
	map(e, gva, 3, ALL, 0x1c0000000ull | ALL | GPTE_PS | GPTE_PAT_LARGE);
	expect_gpa(e, gva | 0x2345678, READ, 0x1c2345678ull);
	assert_int_equal(e->walk.page_level, 3);
	assert_int_equal(e->walk.pat_index, 4);	/* bit 12 is PAT */
	/* Bits 29:13 are reserved; 12 is PAT. */
	expect_reserved(e, gva, 3, BIT(13));
	expect_reserved(e, gva, 3, BIT(29));
	expect_reserved(e, gva, 3, BIT(46));
	/* Without 1G pages PS is reserved in a PDPTE. */
	e->paging.gbpages = false;
	expect_fault(e, gva, READ, PFERR_PRESENT | PFERR_RSVD);
	assert_int_equal(e->walk.levels, 2);
	/* A PDPTE pointing to a page directory is still fine. */
	map(e, gva4(7, 10, 0, 0, 0), 1, ALL, FRAME | ALL);
	expect_gpa(e, gva4(7, 10, 0, 0, 0x77), READ, FRAME | 0x77);
}

static void test_2m_pages_reserved(void **state)
{
	struct env *e = *state;

	for (enum mode mode = MODE_PAE; mode <= MODE_5LEVEL; mode++) {
		uint64_t gva = mode == MODE_PAE ? 0x40000000u
						: gva4(1, 2, 3, 0, 0);

		set_mode(e, mode);
		if (mode == MODE_5LEVEL)
			gva |= 0x15bull << 48;
		map(e, gva, 2, ALL, 0x3fe00000u | ALL | GPTE_PS);
		expect_reserved(e, gva, 2, BIT(13));
		expect_reserved(e, gva, 2, BIT(20));
		expect_reserved(e, gva, 2, BIT(46));
		/* Bit 7 is PS here, bit 12 PAT. */
		expect_gpa(e, gva | 0x1234, READ, 0x3fe01234u);
		assert_int_equal(e->walk.pat_index, 0);
		change(e, gva, 2, GPTE_PAT_LARGE | GPTE_PCD, 0);
		expect_gpa(e, gva | 0x1234, READ, 0x3fe01234u);
		assert_int_equal(e->walk.pat_index, 6);
	}
}

static void test_reserved_pae(void **state)
{
	struct env *e = *state;

	set_mode_mapped(e, MODE_PAE, ALL);
	for (unsigned level = 1; level <= 2; level++) {
		/* 62:M, all of it (in 4-level mode 62:52 are ignored). */
		expect_reserved(e, GVAPAE, level, BIT(46));
		expect_reserved(e, GVAPAE, level, BIT(52));
		expect_reserved(e, GVAPAE, level, BIT(62));
		expect_not_reserved(e, GVAPAE, level, 0xe00 | GPTE_G);
	}
	expect_not_reserved(e, GVAPAE, 1, GPTE_PAT_4K);
	e->paging.maxphyaddr = 52;
	expect_not_reserved(e, GVAPAE, 1, BIT(51));
	expect_reserved(e, GVAPAE, 1, BIT(52));
}

static void test_reserved_wins_over_rights(void **state)
{
	struct env *e = *state;

	/* A reserved bit anywhere on the path makes a RSVD fault, even
	 * where the rights would deny the access anyway. */
	set_mode_mapped(e, MODE_4LEVEL, P);
	change(e, GVA, 1, BIT(50), 0);
	expect_fault(e, GVA, UWRITE, PFERR_PRESENT | PFERR_RSVD |
		     PFERR_WRITE | PFERR_USER);
	/* The walk stops at the first bad entry from the top: a reserved
	 * bit above a not-present entry wins, and one below it is never
	 * read. */
	change(e, GVA, 2, 0, P);
	change(e, GVA, 3, BIT(50), 0);
	expect_fault(e, GVA, READ, PFERR_PRESENT | PFERR_RSVD);
	assert_int_equal(e->walk.levels, 2);
	change(e, GVA, 3, 0, BIT(50));
	expect_fault(e, GVA, READ, 0);
	assert_int_equal(e->walk.levels, 3);
}

static void test_not_present_ignores_other_bits(void **state)
{
	struct env *e = *state;

	/* Not present: every other bit is the OS's; no RSVD. */
	set_mode_mapped(e, MODE_4LEVEL, ALL);
	change(e, GVA, 1, ~0ull & ~P, P);
	expect_fault(e, GVA, UWRITE, PFERR_WRITE | PFERR_USER);
	set_mode_mapped(e, MODE_32, ALL);
	change(e, GVA32, 2, 0xfffffffeu, P);
	expect_fault(e, GVA32, READ, 0);
	assert_int_equal(e->walk.levels, 1);
}

static void test_not_present_each_level(void **state)
{
	struct env *e = *state;

	for (enum mode mode = MODE_32; mode <= MODE_5LEVEL; mode++) {
		uint64_t gva = mode_gva(mode);

		set_mode_mapped(e, mode, ALL);
		for (unsigned level = 1; level <= root_level(e); level++) {
			uint32_t ec = mode == MODE_32 ? 0 : PFERR_FETCH;

			change(e, gva, level, 0, P);
			expect_fault(e, gva, READ, 0);
			expect_fault(e, gva, WRITE, PFERR_WRITE);
			expect_fault(e, gva, UWRITE, PFERR_WRITE | PFERR_USER);
			expect_fault(e, gva, UFETCH, ec | PFERR_USER);
			assert_int_equal(e->walk.levels,
					 root_level(e) - level + 1);
			assert_int_equal(e->walk.pte[e->walk.levels - 1] & P,
					 0);
			change(e, gva, level, P, 0);
		}
	}
}

/* --- accessed and dirty bits ---------------------------------------------- */

/* The entries on gva's path, top first, as memory holds them. */
static unsigned path(const struct env *e, uint64_t gva, uint64_t *entries)
{
	unsigned n = 0;

	for (unsigned level = root_level(e); level >= 1; level--) {
		entries[n] = get(e, entry_at(e, gva, level));
		if (!(entries[n++] & P) || level == 1 ||
		    ((entries[n - 1] & GPTE_PS) && level <= 3))
			break;
	}
	return n;
}

static void test_accessed_dirty(void **state)
{
	struct env *e = *state;

	for (enum mode mode = MODE_32; mode <= MODE_5LEVEL; mode++) {
		uint64_t gva = mode_gva(mode), entries[5];
		unsigned n, first = mode == MODE_PAE ? 1 : 0;

		set_mode_mapped(e, mode, ALL);
		/* A read sets A everywhere (PAE PDPTEs have none), no D. */
		assert_int_equal(walk(e, gva, UREAD), WALK_OK);
		n = path(e, gva, entries);
		assert_int_equal(n, root_level(e));
		for (unsigned i = 0; i < n; i++) {
			assert_int_equal(entries[i] & AD,
					 i < first ? 0 : GPTE_A);
			assert_int_equal(e->walk.pte[i], entries[i]);
		}
		assert_false(e->walk.dirty);
		/* A write sets D in the leaf only. */
		e->cmpxchgs = 0;
		assert_int_equal(walk(e, gva, UWRITE), WALK_OK);
		assert_int_equal(e->cmpxchgs, 1);
		path(e, gva, entries);
		for (unsigned i = 0; i + 1 < n; i++)
			assert_int_equal(entries[i] & GPTE_D, 0);
		assert_int_equal(entries[n - 1] & AD, AD);
		assert_int_equal(e->walk.pte[n - 1], entries[n - 1]);
		assert_true(e->walk.dirty);
		/* All set already: nothing to write. */
		e->cmpxchgs = 0;
		assert_int_equal(walk(e, gva, UWRITE), WALK_OK);
		assert_int_equal(walk(e, gva, READ), WALK_OK);
		assert_int_equal(e->cmpxchgs, 0);
		assert_true(e->walk.dirty);
		assert_int_equal(e->cmpxchg_size, entry_size(e));
	}
}

static void test_dirty_in_large_leaf(void **state)
{
	struct env *e = *state;
	uint64_t gva = gva4(1, 2, 3, 0, 0), pde_gpa, pdpte_gpa;

	set_mode(e, MODE_4LEVEL);
	pde_gpa = map(e, gva, 2, ALL, 0x200000 | ALL | GPTE_PS);
	pdpte_gpa = entry_at(e, gva, 3);
	assert_int_equal(walk(e, gva, WRITE), WALK_OK);
	assert_int_equal(get(e, pde_gpa), 0x200000 | ALL | GPTE_PS | AD);
	assert_int_equal(get(e, pdpte_gpa) & AD, GPTE_A);
	assert_int_equal(e->walk.levels, 3);

	set_mode(e, MODE_32);
	pde_gpa = map(e, GVA32, 2, 0, 0x00400000u | ALL | GPTE_PS);
	assert_int_equal(walk(e, GVA32, WRITE), WALK_OK);
	assert_int_equal(get(e, pde_gpa), 0x00400000u | ALL | GPTE_PS | AD);
}

static void test_no_update_on_fault(void **state)
{
	struct env *e = *state;
	uint8_t *before = malloc(RAM_SIZE);

	assert_non_null(before);
	set_mode_mapped(e, MODE_4LEVEL, P | US);	/* read-only */
	memcpy(before, e->ram, RAM_SIZE);
	e->cmpxchgs = 0;
	/* Protection fault, not-present leaf, reserved bit: no writes. */
	expect_fault(e, GVA, UWRITE, PFERR_PRESENT | PFERR_WRITE | PFERR_USER);
	change(e, GVA, 1, 0, P);
	memcpy(before, e->ram, RAM_SIZE);
	expect_fault(e, GVA, READ, 0);
	change(e, GVA, 1, P | BIT(50), 0);
	memcpy(before, e->ram, RAM_SIZE);
	expect_fault(e, GVA, READ, PFERR_PRESENT | PFERR_RSVD);
	assert_int_equal(e->cmpxchgs, 0);
	assert_memory_equal(before, e->ram, RAM_SIZE);
	/* The walk's outputs for success are cleared. */
	assert_false(e->walk.user || e->walk.writable || e->walk.nx);
	free(before);
}

/* --- cmpxchg races -------------------------------------------------------- */

static void race_store(struct env *e)
{
	put(e, e->race_gpa, e->race_value);
}

static void test_retry_when_leaf_changes(void **state)
{
	struct env *e = *state;
	uint64_t pte_gpa;

	set_mode(e, MODE_4LEVEL);
	pte_gpa = map(e, GVA, 1, ALL, FRAME | ALL);
	/* Another vCPU remaps the page while this walk sets A bits: the
	 * first cmpxchg (the PML4E) succeeds, the PTE's fails, and the walk
	 * starts again and sees the new page. */
	e->race = race_store;
	e->race_gpa = pte_gpa;
	e->race_value = 0x777000 | ALL;
	expect_gpa(e, GVA, WRITE, 0x777234);
	assert_int_equal(e->cmpxchg_fails, 1);
	assert_int_equal(get(e, pte_gpa), 0x777000 | ALL | AD);
	assert_int_equal(e->walk.pte[3], 0x777000 | ALL | AD);
	assert_true(e->walk.dirty);
}

static void test_retry_to_not_present(void **state)
{
	struct env *e = *state;
	uint64_t entries[4];

	set_mode(e, MODE_4LEVEL);
	e->race_gpa = map(e, GVA, 1, ALL, FRAME | ALL);
	e->race = race_store;
	e->race_value = FRAME;			/* P cleared */
	expect_fault(e, GVA, READ, 0);
	assert_int_equal(e->cmpxchg_fails, 1);
	assert_int_equal(e->walk.levels, 4);
	/* The abandoned attempt had set A above, as a CPU would have. */
	path(e, GVA, entries);
	for (unsigned i = 0; i < 3; i++)
		assert_int_equal(entries[i] & GPTE_A, GPTE_A);
	assert_int_equal(entries[3], FRAME);
}

static void test_retry_keeps_concurrent_bits(void **state)
{
	struct env *e = *state;
	uint64_t pml4e_gpa;

	/* The guest sets a software bit in the very entry being updated:
	 * the update must not lose it. 32-bit entries: 4-byte cmpxchg. */
	set_mode(e, MODE_32);
	map(e, GVA32, 1, ALL, 0x5000 | ALL);
	pml4e_gpa = entry_at(e, GVA32, 2);
	e->race = race_store;
	e->race_gpa = pml4e_gpa;
	e->race_value = get(e, pml4e_gpa) | BIT(9);
	expect_gpa(e, GVA32, READ, 0x5234);
	assert_int_equal(e->cmpxchg_fails, 1);
	assert_int_equal(get(e, pml4e_gpa), e->race_value | GPTE_A);
}

static void test_self_referencing_table(void **state)
{
	struct env *e = *state;
	uint64_t pml4, gva = gva4(511, 511, 511, 511, 0x18);

	/* A recursive slot: the PML4 maps itself at every level. Setting
	 * A in the first use changes what the later uses read, so the first
	 * attempt fails its cmpxchg; the second one converges. */
	set_mode(e, MODE_4LEVEL);
	pml4 = root_table(e);
	put(e, pml4 + 511 * 8, pml4 | ALL);
	expect_gpa(e, gva, WRITE, pml4 + 0x18);
	assert_int_equal(e->cmpxchg_fails, 1);
	assert_int_equal(get(e, pml4 + 511 * 8), pml4 | ALL | AD);
	for (unsigned i = 0; i < 4; i++)
		assert_int_equal(e->walk.pte_gpa[i], pml4 + 511 * 8);
	assert_int_equal(e->walk.pte[3], pml4 | ALL | AD);
}

/* --- guest memory errors -------------------------------------------------- */

static void test_memory_errors(void **state)
{
	struct env *e = *state;

	set_mode_mapped(e, MODE_4LEVEL, ALL);
	/* A table outside guest RAM. */
	change(e, GVA, 2, 0, 0x000ffffffffff000ull);
	change(e, GVA, 2, RAM_SIZE, 0);
	assert_int_equal(walk(e, GVA, READ), WALK_MEM_ERROR);
	assert_int_equal(e->walk.levels, 3);
	assert_false(e->walk.user || e->walk.writable);
	/* A/D update refused. */
	set_mode_mapped(e, MODE_4LEVEL, ALL);
	e->cmpxchg_error = true;
	assert_int_equal(walk(e, GVA, READ), WALK_MEM_ERROR);
	/* CR3 itself outside RAM. */
	e->cmpxchg_error = false;
	e->paging.cr3 = 1ull << 40;
	assert_int_equal(walk(e, GVA, READ), WALK_MEM_ERROR);
	assert_int_equal(e->walk.levels, 0);
}

static void test_pat_index(void **state)
{
	struct env *e = *state;
	static const struct {
		uint64_t bits;
		uint8_t index;
	} cases[] = {
		{ 0, 0 },
		{ GPTE_PWT, 1 },
		{ GPTE_PCD, 2 },
		{ GPTE_PCD | GPTE_PWT, 3 },
		{ GPTE_PAT_4K, 4 },
		{ GPTE_PAT_4K | GPTE_PCD | GPTE_PWT, 7 },
		{ GPTE_PAT_LARGE, 0 },	/* an address bit in a 4K PTE */
	};

	set_mode_mapped(e, MODE_4LEVEL, ALL);
	change(e, GVA, 1, 0, FRAME);
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		change(e, GVA, 1, cases[i].bits, 0);
		expect_gpa(e, GVA, READ, (cases[i].bits & GPTE_PAT_LARGE) |
			   0x234);
		assert_int_equal(e->walk.pat_index, cases[i].index);
		change(e, GVA, 1, 0, cases[i].bits);
	}
	/* The table entries' PCD/PWT do not count. */
	change(e, GVA, 2, GPTE_PCD | GPTE_PWT, 0);
	expect_gpa(e, GVA, READ, 0x234);
	assert_int_equal(e->walk.pat_index, 0);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, env_setup, env_teardown)
	const struct CMUnitTest tests[] = {
		T(test_paging_off),
		T(test_32bit_4k),
		T(test_32bit_4m_needs_pse),
		T(test_32bit_pse36),
		T(test_32bit_no_reserved_bits_elsewhere),
		T(test_pae_4k_2m),
		T(test_pae_uses_cached_pdptes),
		T(test_pae_pdpte_load),
		T(test_pae_cached_pdpte_reserved),
		T(test_lma_not_lme_chooses_long_mode),
		T(test_4level_4k_2m_1g),
		T(test_4level_ignores_high_gva_bits),
		T(test_cr3_low_and_high_bits_ignored),
		T(test_5level),
		T(test_rights_32bit),
		T(test_rights_pae),
		T(test_rights_4level),
		T(test_rights_5level),
		T(test_pae_pdpte_holds_no_rights),
		T(test_nx),
		T(test_fetch_bit_in_error_code),
		T(test_smep),
		T(test_smap),
		T(test_implicit_supervisor_overrides_user),
		T(test_pkeys_user),
		T(test_pkeys_supervisor),
		T(test_pkeys_come_from_the_leaf),
		T(test_pkeys_not_in_pae),
		T(test_reserved_long_mode),
		T(test_reserved_maxphyaddr),
		T(test_maxphyaddr_out_of_range),
		T(test_1g_pages),
		T(test_2m_pages_reserved),
		T(test_reserved_pae),
		T(test_reserved_wins_over_rights),
		T(test_not_present_ignores_other_bits),
		T(test_not_present_each_level),
		T(test_accessed_dirty),
		T(test_dirty_in_large_leaf),
		T(test_no_update_on_fault),
		T(test_retry_when_leaf_changes),
		T(test_retry_to_not_present),
		T(test_retry_keeps_concurrent_bits),
		T(test_self_referencing_table),
		T(test_memory_errors),
		T(test_pat_index),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
