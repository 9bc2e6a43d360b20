/*
 * Host tests of the reference page-table walker itself (ref_walk.c, the
 * oracle of test_guest_walk.c): hand-built page tables in a buffer that
 * stands for guest memory, one case or more for every rule of the Intel
 * SDM vol. 3A chapter 4 that the walker implements, with the expected
 * addresses and error codes worked out by hand.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tests/host/ref_walk.h"

/* ------------------------------------------------------- guest memory */

#define RAM_SIZE	0x100000ull	/* 1 MiB of guest RAM at gpa 0 */

static uint8_t *ram;
static unsigned reads, cmpxchgs;

/* Called on the first cmpxchg of a walk, then cleared (a racing CPU). */
static void (*interfere)(void);

static int mem_read(void *ctx, uint64_t gpa, void *buf, unsigned size)
{
	(void)ctx;
	assert_true(size == 4 || size == 8);
	assert_int_equal(gpa % size, 0);
	if (gpa >= RAM_SIZE || size > RAM_SIZE - gpa)
		return -1;
	memcpy(buf, ram + gpa, size);
	reads++;
	return 0;
}

static int mem_cmpxchg(void *ctx, uint64_t gpa, uint64_t *old, uint64_t new,
		       unsigned size)
{
	uint64_t now = 0;

	(void)ctx;
	assert_true(size == 4 || size == 8);
	if (gpa >= RAM_SIZE || size > RAM_SIZE - gpa)
		return -1;
	if (interfere) {
		void (*racing_cpu)(void) = interfere;

		interfere = NULL;
		racing_cpu();
	}
	cmpxchgs++;
	memcpy(&now, ram + gpa, size);
	if (now != *old) {
		*old = now;
		return 1;
	}
	memcpy(ram + gpa, &new, size);
	return 0;
}

static const struct guest_mem_ops mem_ops = {
	.read = mem_read,
	.cmpxchg = mem_cmpxchg,
};

static void put64(uint64_t gpa, uint64_t value)
{
	memcpy(ram + gpa, &value, 8);
}

static uint64_t get64(uint64_t gpa)
{
	uint64_t value;

	memcpy(&value, ram + gpa, 8);
	return value;
}

static void put32(uint64_t gpa, uint32_t value)
{
	memcpy(ram + gpa, &value, 4);
}

static uint32_t get32(uint64_t gpa)
{
	uint32_t value;

	memcpy(&value, ram + gpa, 4);
	return value;
}

static int setup(void **state)
{
	(void)state;
	ram = calloc(1, RAM_SIZE);
	reads = cmpxchgs = 0;
	interfere = NULL;
	return ram ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	free(ram);
	return 0;
}

/* ------------------------------------------------------ entries, state */

#define P	(1ull << 0)
#define RW	(1ull << 1)
#define US	(1ull << 2)
#define PWT	(1ull << 3)
#define PCD	(1ull << 4)
#define A	(1ull << 5)
#define D	(1ull << 6)
#define PS	(1ull << 7)
#define PAT4K	(1ull << 7)
#define PATL	(1ull << 12)
#define XD	(1ull << 63)
#define PKEY(k)	((uint64_t)(k) << 59)

#define CR0_PE	(1ull << 0)
#define CR0_WP	(1ull << 16)
#define CR0_PG	(1ull << 31)
#define CR4_PSE	(1ull << 4)
#define CR4_PAE	(1ull << 5)
#define CR4_LA57 (1ull << 12)
#define CR4_SMEP (1ull << 20)
#define CR4_SMAP (1ull << 21)
#define CR4_PKE	(1ull << 22)
#define EFER_LME (1ull << 8)
#define EFER_LMA (1ull << 10)
#define EFER_NXE (1ull << 11)

#define READ	0u
#define WRITE	ACCESS_WRITE
#define FETCH	ACCESS_FETCH
#define USER	ACCESS_USER
#define IMPL	ACCESS_IMPLICIT_SUP

static struct guest_walk walk;
static struct ref_walk_why why;

static enum guest_walk_result run(const struct guest_paging *paging,
				  uint64_t gva, uint32_t access)
{
	reads = cmpxchgs = 0;
	return ref_walk_explained(paging, gva, access, &mem_ops, NULL, &walk,
				  &why);
}

/* The walk must fault with exactly this error code. */
#define assert_fault(paging, gva, access, ec) do {			\
	assert_int_equal(run(paging, gva, access), WALK_FAULT);	\
	assert_int_equal(walk.error_code, (ec));			\
} while (0)

/* The walk must succeed at this gpa. */
#define assert_ok(paging, gva, access, want_gpa) do {			\
	assert_int_equal(run(paging, gva, access), WALK_OK);		\
	assert_int_equal(walk.gpa, (want_gpa));				\
} while (0)

static struct guest_paging paging_32bit(uint64_t cr3)
{
	return (struct guest_paging){
		.cr0 = CR0_PE | CR0_PG | CR0_WP, .cr3 = cr3, .cr4 = CR4_PSE,
		.maxphyaddr = 36,
	};
}

static struct guest_paging paging_pae(uint64_t cr3)
{
	return (struct guest_paging){
		.cr0 = CR0_PE | CR0_PG | CR0_WP, .cr3 = cr3, .cr4 = CR4_PAE,
		.efer = EFER_NXE, .maxphyaddr = 36,
	};
}

static struct guest_paging paging_4level(uint64_t cr3)
{
	return (struct guest_paging){
		.cr0 = CR0_PE | CR0_PG | CR0_WP, .cr3 = cr3, .cr4 = CR4_PAE,
		.efer = EFER_LME | EFER_LMA | EFER_NXE, .maxphyaddr = 46,
		.gbpages = true,
	};
}

/*
 * The 4-level layout most tests use: gva 0x80_8060_4567 has PML4 index 1,
 * PDPT index 2, PD index 3, PT index 4 and offset 0x567. Tables at 0x1000
 * (PML4), 0x2000 (PDPT), 0x3000 (PD), 0x4000 (PT).
 */
#define GVA4		0x8080604567ull
#define PML4E_GPA	(0x1000 + 1 * 8)
#define PDPTE_GPA	(0x2000 + 2 * 8)
#define PDE_GPA		(0x3000 + 3 * 8)
#define PTE_GPA		(0x4000 + 4 * 8)
#define ALL		(P | RW | US)

static void map4(uint64_t pml4e_flags, uint64_t pdpte_flags,
		 uint64_t pde_flags, uint64_t pte)
{
	put64(PML4E_GPA, 0x2000 | pml4e_flags);
	put64(PDPTE_GPA, 0x3000 | pdpte_flags);
	put64(PDE_GPA, 0x4000 | pde_flags);
	put64(PTE_GPA, pte);
}

/* -------------------------------------------------------- paging off */

static void test_paging_off_identity(void **state)
{
	struct guest_paging paging = { .cr0 = CR0_PE, .cr4 = CR4_PAE,
				       .maxphyaddr = 36 };

	(void)state;
	memset(ram, 0xff, RAM_SIZE);	/* nothing may be read */
	assert_ok(&paging, 0xfffff123, WRITE | USER, 0xfffff123);
	assert_int_equal(walk.levels, 0);
	assert_int_equal(reads, 0);
	assert_int_equal(cmpxchgs, 0);
	assert_true(why.bits & REF_WHY_PAGING_OFF);
	assert_ok(&paging, 0x1000, FETCH, 0x1000);
}

/* ----------------------------------------------------- 32-bit paging */

/* gva 0x00C03ABC: PD index 3, PT index 3, offset 0xABC. */
#define GVA32		0x00C03ABCull

static void test_32bit_4k_page(void **state)
{
	struct guest_paging paging = paging_32bit(0x1000);

	(void)state;
	put32(0x1000 + 3 * 4, 0x2000 | P | RW | US);
	put32(0x2000 + 3 * 4, 0xABCDE000 | P | RW | US | PCD | PAT4K);

	assert_ok(&paging, GVA32, READ, 0xABCDEABC);
	assert_int_equal(walk.page_level, 1);
	assert_true(walk.user && walk.writable && !walk.nx && !walk.dirty);
	assert_int_equal(walk.pat_index, 6);	/* PAT=1 PCD=1 PWT=0 */
	assert_int_equal(walk.levels, 2);
	assert_int_equal(walk.pte_gpa[0], 0x100C);
	assert_int_equal(walk.pte_gpa[1], 0x200C);
	/* 4.8: A set in both, D only for a write; entries stay 32 bits. */
	assert_int_equal(get32(0x100C), 0x2000 | P | RW | US | A);
	assert_int_equal(get32(0x200C),
			 0xABCDE000 | P | RW | US | PCD | PAT4K | A);
	assert_int_equal(get32(0x1010), 0);
	assert_int_equal(walk.pte[1],
			 0xABCDE000 | P | RW | US | PCD | PAT4K | A);

	assert_ok(&paging, GVA32, WRITE, 0xABCDEABC);
	assert_true(walk.dirty);
	assert_int_equal(get32(0x100C), 0x2000 | P | RW | US | A);
	assert_int_equal(get32(0x200C),
			 0xABCDE000 | P | RW | US | PCD | PAT4K | A | D);
	/* Nothing left to set: no cmpxchg. */
	assert_ok(&paging, GVA32, WRITE | USER, 0xABCDEABC);
	assert_int_equal(cmpxchgs, 0);

	/* Table 4-3: CR3 bits 63:32 and 11:0 are ignored. */
	paging.cr3 = 0x500000000ull | 0x1000 | 0x18;
	assert_ok(&paging, GVA32, READ, 0xABCDEABC);
}

static void test_32bit_4m_page_pse36(void **state)
{
	struct guest_paging paging = paging_32bit(0x1000);

	(void)state;
	/* Address bits 31:22 = 0x300 (0xC0000000), bits 35:32 = 5 in PDE
	 * bits 16:13, PAT in bit 12. */
	put32(0x100C, 0xC0000000 | 5u << 13 | PATL | PS | PWT | P | RW);
	assert_ok(&paging, GVA32, READ, 0x5C0003ABCull);
	assert_int_equal(walk.page_level, 2);
	assert_int_equal(walk.levels, 1);
	assert_int_equal(walk.pat_index, 5);	/* PAT=1 PCD=0 PWT=1 */
	assert_false(walk.user);
	assert_int_equal(get32(0x100C),
			 0xC0000000 | 5u << 13 | PATL | PS | PWT | P | RW | A);

	assert_ok(&paging, GVA32, WRITE, 0x5C0003ABCull);
	assert_true(get32(0x100C) & D);	/* a 4M page's D is in the PDE */
}

static void test_32bit_pse36_reserved_bits(void **state)
{
	struct guest_paging paging = paging_32bit(0x1000);

	(void)state;
	/* MAXPHYADDR 36: address bits 35:32 in PDE 16:13, 21:17 reserved. */
	put32(0x100C, 0xC0000000 | 1u << 17 | PS | P);
	assert_fault(&paging, GVA32, READ, PFERR_PRESENT | PFERR_RSVD);
	assert_true(why.bits & REF_WHY_RSVD_PSE36);
	assert_int_equal(walk.levels, 1);

	/* MAXPHYADDR 40: bit 17 is address bit 36, bit 20 address bit 39. */
	paging.maxphyaddr = 40;
	assert_ok(&paging, GVA32, READ, 0x10C0003ABCull);
	put32(0x100C, 0xC0000000 | 1u << 20 | PS | P);
	assert_ok(&paging, GVA32, READ, 0x80C0003ABCull);

	/* MAXPHYADDR 39: bit 20 (address bit 39) is reserved. */
	paging.maxphyaddr = 39;
	assert_fault(&paging, GVA32, READ, PFERR_PRESENT | PFERR_RSVD);

	/* MAXPHYADDR 52 counts as 40: bit 21 is always reserved. */
	paging.maxphyaddr = 52;
	put32(0x100C, 0xC0000000 | 1u << 21 | PS | P);
	assert_fault(&paging, GVA32, WRITE | USER,
		     PFERR_PRESENT | PFERR_RSVD | PFERR_WRITE | PFERR_USER);

	/* Bit 12 is PAT, not reserved. */
	put32(0x100C, 0xC0000000 | PATL | PS | P);
	assert_ok(&paging, GVA32, READ, 0xC0003ABCull);
}

static void test_32bit_ps_ignored_without_pse(void **state)
{
	struct guest_paging paging = paging_32bit(0x1000);

	(void)state;
	paging.cr4 = 0;
	/* PS = 1 but CR4.PSE = 0: the PDE references a page table, and
	 * its bits 21:13 are just address bits. */
	put32(0x100C, 0x2000 | 1u << 19 | PS | P | RW | US);
	put32(0x82000 + 3 * 4, 0x7000 | P);
	assert_ok(&paging, GVA32, READ, 0x7ABC);
	assert_int_equal(walk.page_level, 1);
	assert_int_equal(walk.levels, 2);
}

static void test_32bit_not_present(void **state)
{
	struct guest_paging paging = paging_32bit(0x1000);

	(void)state;
	/* P = 0: every other bit is ignored, error code P = 0. */
	put32(0x100C, 0xfffffffe);
	assert_fault(&paging, GVA32, READ, 0);
	assert_true(why.bits & REF_WHY_NOT_PRESENT);
	assert_int_equal(walk.levels, 1);
	assert_fault(&paging, GVA32, WRITE | USER, PFERR_WRITE | PFERR_USER);

	put32(0x100C, 0x2000 | P | RW | US);
	put32(0x200C, 0x5000);
	assert_fault(&paging, GVA32, WRITE, PFERR_WRITE);
	assert_int_equal(walk.levels, 2);
	assert_int_equal(walk.pte_gpa[1], 0x200C);
	/* Nothing written on a fault. */
	assert_int_equal(get32(0x100C), 0x2000 | P | RW | US);
	assert_int_equal(cmpxchgs, 0);
}

static void test_32bit_has_no_xd(void **state)
{
	struct guest_paging paging = paging_32bit(0x1000);

	(void)state;
	paging.efer = EFER_NXE;		/* no effect on 32-bit paging */
	put32(0x100C, 0x2000 | P | RW | US);
	put32(0x200C, 0x80005000u | P | RW | US);
	assert_ok(&paging, GVA32, FETCH, 0x80005ABCull);
	assert_false(walk.nx);
	/* I/D: 32-bit paging sets it only with CR4.SMEP. */
	put32(0x200C, 0);
	assert_fault(&paging, GVA32, FETCH, 0);
	paging.cr4 |= CR4_SMEP;
	assert_fault(&paging, GVA32, FETCH, PFERR_FETCH);
	assert_fault(&paging, GVA32, FETCH | USER, PFERR_FETCH | PFERR_USER);
}

static void test_32bit_smep_smap(void **state)
{
	struct guest_paging paging = paging_32bit(0x1000);

	(void)state;
	put32(0x100C, 0x2000 | P | RW | US);
	put32(0x200C, 0x5000 | P | RW | US);
	paging.cr4 |= CR4_SMEP | CR4_SMAP;
	assert_fault(&paging, GVA32, FETCH, PFERR_PRESENT | PFERR_FETCH);
	assert_fault(&paging, GVA32, READ, PFERR_PRESENT);
	paging.rflags_ac = true;
	assert_ok(&paging, GVA32, WRITE, 0x5ABC);
	/* CR4.PKE does nothing without IA-32e paging. */
	paging.cr4 |= CR4_PKE;
	paging.pkru = 0xffffffff;
	assert_ok(&paging, GVA32, WRITE | USER, 0x5ABC);
}

/* --------------------------------------------------- access rights */

static void test_user_access_to_supervisor_page(void **state)
{
	struct guest_paging paging = paging_4level(0x1000);

	(void)state;
	map4(ALL, ALL, P | RW, 0x9000 | ALL);	/* PDE U/S = 0 */
	assert_fault(&paging, GVA4, READ | USER, PFERR_PRESENT | PFERR_USER);
	assert_true(why.bits & REF_WHY_USER_SUP_PAGE);
	assert_int_equal(walk.levels, 4);
	assert_fault(&paging, GVA4, WRITE | USER,
		     PFERR_PRESENT | PFERR_WRITE | PFERR_USER);
	assert_fault(&paging, GVA4, FETCH | USER,
		     PFERR_PRESENT | PFERR_FETCH | PFERR_USER);
	assert_int_equal(cmpxchgs, 0);
	assert_int_equal(get64(PML4E_GPA), 0x2000 | ALL);

	assert_ok(&paging, GVA4, READ, 0x9567);
	assert_false(walk.user);
	assert_true(walk.writable);
	/* An implicit supervisor access at CPL 3 is a supervisor access. */
	assert_ok(&paging, GVA4, READ | IMPL | USER, 0x9567);
}

static void test_user_write_to_read_only(void **state)
{
	struct guest_paging paging = paging_4level(0x1000);

	(void)state;
	map4(ALL, P | US, ALL, 0x9000 | ALL);	/* PDPTE R/W = 0 */
	assert_fault(&paging, GVA4, WRITE | USER,
		     PFERR_PRESENT | PFERR_WRITE | PFERR_USER);
	assert_true(why.bits & REF_WHY_USER_WRITE_RO);
	assert_ok(&paging, GVA4, READ | USER, 0x9567);
	assert_true(walk.user);
	assert_false(walk.writable);
	assert_false(walk.dirty);
	/* CR0.WP does not matter to user accesses. */
	paging.cr0 &= ~CR0_WP;
	assert_fault(&paging, GVA4, WRITE | USER,
		     PFERR_PRESENT | PFERR_WRITE | PFERR_USER);
}

static void test_supervisor_write_and_cr0_wp(void **state)
{
	struct guest_paging paging = paging_4level(0x1000);

	(void)state;
	map4(ALL, ALL, ALL, 0x9000 | P);	/* PTE read-only, supervisor */
	assert_fault(&paging, GVA4, WRITE, PFERR_PRESENT | PFERR_WRITE);
	assert_true(why.bits & REF_WHY_SUP_WRITE_RO);
	assert_fault(&paging, GVA4, WRITE | IMPL, PFERR_PRESENT | PFERR_WRITE);

	paging.cr0 &= ~CR0_WP;
	assert_ok(&paging, GVA4, WRITE, 0x9567);
	assert_false(walk.writable);	/* effective R/W, not the outcome */
	assert_true(walk.dirty);
	assert_int_equal(get64(PTE_GPA), 0x9000 | P | A | D);
}

static void test_execute_disable(void **state)
{
	struct guest_paging paging = paging_4level(0x1000);

	(void)state;
	map4(ALL | XD, ALL, ALL, 0x9000 | ALL);	/* XD in the PML4E only */
	assert_fault(&paging, GVA4, FETCH, PFERR_PRESENT | PFERR_FETCH);
	assert_true(why.bits & REF_WHY_XD_FETCH);
	assert_fault(&paging, GVA4, FETCH | USER,
		     PFERR_PRESENT | PFERR_FETCH | PFERR_USER);
	assert_ok(&paging, GVA4, WRITE | USER, 0x9567);
	assert_true(walk.nx);

	/* EFER.NXE = 0: XD is a reserved bit, at any level. */
	paging.efer &= ~EFER_NXE;
	assert_fault(&paging, GVA4, READ, PFERR_PRESENT | PFERR_RSVD);
	assert_true(why.bits & REF_WHY_RSVD_XD);
	assert_int_equal(walk.levels, 1);
	/* ... and a fetch has no I/D without NXE or SMEP. */
	assert_fault(&paging, GVA4, FETCH, PFERR_PRESENT | PFERR_RSVD);
	paging.cr4 |= CR4_SMEP;
	assert_fault(&paging, GVA4, FETCH,
		     PFERR_PRESENT | PFERR_RSVD | PFERR_FETCH);

	map4(ALL, ALL, ALL, 0x9000 | ALL);
	paging.cr4 &= ~CR4_SMEP;
	assert_ok(&paging, GVA4, FETCH, 0x9567);
	assert_false(walk.nx);
}

static void test_smep(void **state)
{
	struct guest_paging paging = paging_4level(0x1000);

	(void)state;
	map4(ALL, ALL, ALL, 0x9000 | P | US);
	assert_ok(&paging, GVA4, FETCH, 0x9567);
	paging.cr4 |= CR4_SMEP;
	assert_fault(&paging, GVA4, FETCH, PFERR_PRESENT | PFERR_FETCH);
	assert_true(why.bits & REF_WHY_SMEP);
	assert_ok(&paging, GVA4, FETCH | USER, 0x9567);
	assert_ok(&paging, GVA4, READ, 0x9567);		/* SMEP: fetches only */
	/* A supervisor page is fine. */
	map4(ALL, ALL, P | RW, 0x9000 | P | US);
	assert_ok(&paging, GVA4, FETCH, 0x9567);
}

static void test_smap(void **state)
{
	struct guest_paging paging = paging_4level(0x1000);

	(void)state;
	map4(ALL, ALL, ALL, 0x9000 | ALL);
	paging.cr4 |= CR4_SMAP;
	assert_fault(&paging, GVA4, READ, PFERR_PRESENT);
	assert_true(why.bits & REF_WHY_SMAP);
	assert_fault(&paging, GVA4, WRITE, PFERR_PRESENT | PFERR_WRITE);
	assert_ok(&paging, GVA4, FETCH | USER, 0x9567);
	assert_ok(&paging, GVA4, READ | USER, 0x9567);
	assert_ok(&paging, GVA4, FETCH, 0x9567);	/* SMAP: data only */

	/* EFLAGS.AC = 1 lifts SMAP for explicit accesses only. */
	paging.rflags_ac = true;
	assert_ok(&paging, GVA4, WRITE, 0x9567);
	assert_fault(&paging, GVA4, READ | IMPL, PFERR_PRESENT);
	assert_fault(&paging, GVA4, WRITE | IMPL | USER,
		     PFERR_PRESENT | PFERR_WRITE);	/* U = 0 */

	/* Supervisor pages are not affected. */
	map4(ALL, ALL, ALL, 0x9000 | P | RW);
	paging.rflags_ac = false;
	assert_ok(&paging, GVA4, READ | IMPL, 0x9567);

	/* SMAP and a read-only page with CR0.WP = 1 and AC = 1: WP. */
	map4(ALL, ALL, ALL, 0x9000 | P | US);
	paging.rflags_ac = true;
	assert_fault(&paging, GVA4, WRITE, PFERR_PRESENT | PFERR_WRITE);
	assert_int_equal(why.bits, REF_WHY_SUP_WRITE_RO);
}

static void test_protection_keys(void **state)
{
	struct guest_paging paging = paging_4level(0x1000);

	(void)state;
	map4(ALL, ALL, ALL, 0x9000 | ALL | PKEY(5));
	paging.cr4 |= CR4_PKE;
	paging.pkru = 1u << 10;			/* AD5 */
	assert_fault(&paging, GVA4, READ | USER,
		     PFERR_PRESENT | PFERR_USER | PFERR_PK);
	assert_true(why.bits & REF_WHY_PK_AD);
	assert_fault(&paging, GVA4, READ,
		     PFERR_PRESENT | PFERR_PK);	/* supervisor too */
	assert_fault(&paging, GVA4, READ | IMPL, PFERR_PRESENT | PFERR_PK);
	assert_ok(&paging, GVA4, FETCH | USER, 0x9567);	/* data only */
	assert_ok(&paging, GVA4, FETCH, 0x9567);

	paging.pkru = 1u << 11;			/* WD5 */
	assert_ok(&paging, GVA4, READ | USER, 0x9567);
	assert_fault(&paging, GVA4, WRITE | USER,
		     PFERR_PRESENT | PFERR_WRITE | PFERR_USER | PFERR_PK);
	assert_true(why.bits & REF_WHY_PK_WD);
	assert_fault(&paging, GVA4, WRITE,
		     PFERR_PRESENT | PFERR_WRITE | PFERR_PK);
	paging.cr0 &= ~CR0_WP;			/* supervisor WD needs WP */
	assert_ok(&paging, GVA4, WRITE, 0x9567);
	assert_fault(&paging, GVA4, WRITE | USER,
		     PFERR_PRESENT | PFERR_WRITE | PFERR_USER | PFERR_PK);
	paging.cr0 |= CR0_WP;

	/* Other keys' bits do not matter; the key is the leaf's 62:59. */
	paging.pkru = ~(3u << 10);
	assert_ok(&paging, GVA4, WRITE | USER, 0x9567);
	map4(ALL | PKEY(6), ALL | PKEY(6), ALL | PKEY(6),
	     0x9000 | ALL | PKEY(5));
	assert_ok(&paging, GVA4, WRITE | USER, 0x9567);

	/* No key for a supervisor-mode address. */
	paging.pkru = 0xffffffff;
	map4(ALL, ALL, P | RW, 0x9000 | ALL | PKEY(5));
	assert_ok(&paging, GVA4, WRITE, 0x9567);
	/* CR4.PKE = 0: bits 62:59 are ignored. */
	map4(ALL, ALL, ALL, 0x9000 | ALL | PKEY(5));
	paging.cr4 &= ~CR4_PKE;
	assert_ok(&paging, GVA4, WRITE | USER, 0x9567);
}

static void test_protection_key_with_other_faults(void **state)
{
	struct guest_paging paging = paging_4level(0x1000);

	(void)state;
	paging.cr4 |= CR4_PKE | CR4_SMAP;
	paging.pkru = 3u << 6;			/* AD3, WD3 */
	map4(ALL, ALL, ALL, 0x9000 | P | US | PKEY(3));	/* read-only */
	/* A user write to a read-only page, WD too: PK is reported. */
	assert_fault(&paging, GVA4, WRITE | USER,
		     PFERR_PRESENT | PFERR_WRITE | PFERR_USER | PFERR_PK);
	assert_int_equal(why.bits, REF_WHY_USER_WRITE_RO | REF_WHY_PK_AD |
				   REF_WHY_PK_WD);
	/* SMAP and AD at once. */
	assert_fault(&paging, GVA4, READ, PFERR_PRESENT | PFERR_PK);
	assert_int_equal(why.bits, REF_WHY_SMAP | REF_WHY_PK_AD);
}

/* ---------------------------------------- presence before permissions */

static void test_not_present_wins_over_rights(void **state)
{
	struct guest_paging paging = paging_4level(0x1000);

	(void)state;
	/* U/S = 0 in the PML4E but the PTE is not present: no translation,
	 * so P = 0 in the error code. */
	map4(P | RW, ALL, ALL, 0);
	assert_fault(&paging, GVA4, READ | USER, PFERR_USER);
	assert_int_equal(walk.levels, 4);
	/* Same with a reserved bit below. */
	map4(P | RW, ALL, ALL, 0x9000 | ALL | 1ull << 50);
	assert_fault(&paging, GVA4, READ | USER,
		     PFERR_PRESENT | PFERR_RSVD | PFERR_USER);
	assert_true(why.bits & REF_WHY_RSVD_MAXPHYADDR);
	assert_int_equal(why.level, 1);
}

/* ------------------------------------------- 4-level reserved bits */

static void test_4level_4k_page_and_ad(void **state)
{
	struct guest_paging paging = paging_4level(0x1000 | 0xfff);

	(void)state;
	map4(ALL, ALL, ALL, 0x123456789000ull | ALL | PWT);
	assert_ok(&paging, GVA4, READ, 0x123456789567ull);
	assert_int_equal(walk.page_level, 1);
	assert_int_equal(walk.pat_index, 1);
	assert_int_equal(walk.levels, 4);
	assert_int_equal(walk.pte_gpa[0], PML4E_GPA);
	assert_int_equal(walk.pte_gpa[1], PDPTE_GPA);
	assert_int_equal(walk.pte_gpa[2], PDE_GPA);
	assert_int_equal(walk.pte_gpa[3], PTE_GPA);
	assert_int_equal(cmpxchgs, 4);
	assert_int_equal(get64(PML4E_GPA), 0x2000 | ALL | A);
	assert_int_equal(get64(PDPTE_GPA), 0x3000 | ALL | A);
	assert_int_equal(get64(PDE_GPA), 0x4000 | ALL | A);
	assert_int_equal(get64(PTE_GPA), 0x123456789000ull | ALL | PWT | A);
	assert_int_equal(walk.pte[3], 0x123456789000ull | ALL | PWT | A);

	/* A write sets D only in the leaf. */
	assert_ok(&paging, GVA4, WRITE, 0x123456789567ull);
	assert_int_equal(cmpxchgs, 1);
	assert_int_equal(get64(PDE_GPA), 0x4000 | ALL | A);
	assert_int_equal(get64(PTE_GPA),
			 0x123456789000ull | ALL | PWT | A | D);
	assert_true(walk.dirty);

	/* Bits 58:52 are ignored (and 62:59 without CR4.PKE). */
	map4(ALL | 0x7ffull << 52, ALL, ALL, 0x9000 | ALL | 0x7ffull << 52);
	assert_ok(&paging, GVA4, READ, 0x9567);
}

static void test_4level_reserved_address_bits(void **state)
{
	struct guest_paging paging = paging_4level(0x1000);

	(void)state;
	/* MAXPHYADDR 46: bit 45 is an address bit, 46 is reserved. */
	map4(ALL, ALL, ALL, 1ull << 45 | 0x9000 | ALL);
	assert_ok(&paging, GVA4, READ, 1ull << 45 | 0x9567);
	map4(ALL, ALL, ALL, 1ull << 46 | 0x9000 | ALL);
	assert_fault(&paging, GVA4, READ, PFERR_PRESENT | PFERR_RSVD);
	assert_int_equal(walk.levels, 4);
	map4(ALL, ALL | 1ull << 51, ALL, 0x9000 | ALL);
	assert_fault(&paging, GVA4, WRITE | USER,
		     PFERR_PRESENT | PFERR_RSVD | PFERR_WRITE | PFERR_USER);
	assert_int_equal(walk.levels, 2);
	assert_int_equal(cmpxchgs, 0);
	/* MAXPHYADDR 52: bit 51 is an address bit (out of RAM for a table). */
	paging.maxphyaddr = 52;
	map4(ALL, ALL, ALL, 1ull << 51 | 0x9000 | ALL);
	assert_ok(&paging, GVA4, READ, 1ull << 51 | 0x9567);
	/* A fetch fault with NXE: I/D as well. */
	paging.maxphyaddr = 36;
	map4(ALL, ALL, ALL, 1ull << 36 | 0x9000 | ALL);
	assert_fault(&paging, GVA4, FETCH,
		     PFERR_PRESENT | PFERR_RSVD | PFERR_FETCH);
}

static void test_4level_ps_in_pml4e(void **state)
{
	struct guest_paging paging = paging_4level(0x1000);

	(void)state;
	map4(ALL | PS, ALL, ALL, 0x9000 | ALL);
	assert_fault(&paging, GVA4, READ, PFERR_PRESENT | PFERR_RSVD);
	assert_true(why.bits & REF_WHY_RSVD_PS);
	assert_int_equal(walk.levels, 1);
}

static void test_1g_pages(void **state)
{
	struct guest_paging paging = paging_4level(0x1000);

	(void)state;
	/* gva offset in the 1G page: bits 29:0 = 0x00604567. */
	map4(ALL, 0x1C0000000ull | ALL | PS | PATL | PCD, ALL, 0);
	put64(PDPTE_GPA, 0x1C0000000ull | ALL | PS | PATL | PCD);
	assert_ok(&paging, GVA4, WRITE, 0x1C0604567ull);
	assert_int_equal(walk.page_level, 3);
	assert_int_equal(walk.levels, 2);
	assert_int_equal(walk.pat_index, 6);
	assert_int_equal(get64(PDPTE_GPA),
			 0x1C0000000ull | ALL | PS | PATL | PCD | A | D);

	/* Bits 29:13 are reserved. */
	put64(PDPTE_GPA, 0x1C0000000ull | 1ull << 29 | ALL | PS);
	assert_fault(&paging, GVA4, READ, PFERR_PRESENT | PFERR_RSVD);
	assert_true(why.bits & REF_WHY_RSVD_LARGE);
	put64(PDPTE_GPA, 0x1C0000000ull | 1ull << 13 | ALL | PS);
	assert_fault(&paging, GVA4, READ, PFERR_PRESENT | PFERR_RSVD);

	/* Without 1-GByte pages PS is reserved in a PDPTE. */
	put64(PDPTE_GPA, 0x1C0000000ull | ALL | PS);
	paging.gbpages = false;
	assert_fault(&paging, GVA4, READ, PFERR_PRESENT | PFERR_RSVD);
	assert_true(why.bits & REF_WHY_RSVD_PS);
}

static void test_2m_pages(void **state)
{
	struct guest_paging paging = paging_4level(0x1000);

	(void)state;
	map4(ALL, ALL, 0, 0);
	put64(PDE_GPA, 0x40000000ull | 0xA00000 | ALL | PS | PATL);
	assert_ok(&paging, GVA4, WRITE, 0x40A04567ull);
	assert_int_equal(walk.page_level, 2);
	assert_int_equal(walk.levels, 3);
	assert_int_equal(walk.pat_index, 4);
	assert_int_equal(get64(PDE_GPA),
			 0x40A00000ull | ALL | PS | PATL | A | D);
	assert_int_equal(get64(PDPTE_GPA), 0x3000 | ALL | A);

	put64(PDE_GPA, 0x40A00000ull | 1ull << 20 | ALL | PS);
	assert_fault(&paging, GVA4, READ, PFERR_PRESENT | PFERR_RSVD);
	assert_true(why.bits & REF_WHY_RSVD_LARGE);
	put64(PDE_GPA, 0x40A00000ull | 1ull << 13 | ALL | PS);
	assert_fault(&paging, GVA4, READ, PFERR_PRESENT | PFERR_RSVD);
}

static void test_faults_write_nothing(void **state)
{
	struct guest_paging paging = paging_4level(0x1000);

	(void)state;
	map4(ALL, ALL, ALL, 0x9000 | P);		/* read-only */
	assert_fault(&paging, GVA4, WRITE | USER,
		     PFERR_PRESENT | PFERR_WRITE | PFERR_USER);
	assert_int_equal(cmpxchgs, 0);
	assert_int_equal(get64(PML4E_GPA), 0x2000 | ALL);
	assert_int_equal(get64(PTE_GPA), 0x9000 | P);
	map4(ALL, ALL, ALL, 0x9000 | ALL | 1ull << 49);	/* reserved */
	assert_fault(&paging, GVA4, READ, PFERR_PRESENT | PFERR_RSVD);
	assert_int_equal(get64(PML4E_GPA), 0x2000 | ALL);
}

static void test_tables_outside_ram(void **state)
{
	struct guest_paging paging = paging_4level(0x1000);

	(void)state;
	map4(ALL, ALL, ALL, 0x9000 | ALL);
	put64(PDPTE_GPA, 0x7000000000ull | ALL);	/* PD beyond RAM */
	assert_int_equal(run(&paging, GVA4, READ), WALK_MEM_ERROR);
	assert_true(why.bits & REF_WHY_MEM_ERROR);
	assert_int_equal(cmpxchgs, 0);
	/* Reserved bits are found before the table is followed. */
	put64(PDPTE_GPA, 0x7000000000ull | 1ull << 47 | ALL);
	assert_fault(&paging, GVA4, READ, PFERR_PRESENT | PFERR_RSVD);
	/* So is P = 0. */
	put64(PDPTE_GPA, 0x7000000000ull);
	assert_fault(&paging, GVA4, READ, 0);
	/* A leaf beyond RAM is just a translation. */
	put64(PDPTE_GPA, 0x3000 | ALL);
	put64(PTE_GPA, 0x7000000000ull | ALL);
	assert_ok(&paging, GVA4, READ, 0x7000000567ull);
	/* CR3 beyond RAM. */
	paging.cr3 = 0x200000;
	assert_int_equal(run(&paging, GVA4, READ), WALK_MEM_ERROR);
}

/* ------------------------------------------------------------ 5-level */

static void test_5level(void **state)
{
	struct guest_paging paging = paging_4level(0x5000);
	/* PML5 index 7 (bits 56:48), then the usual 4-level indices. */
	uint64_t gva = 7ull << 48 | GVA4;

	(void)state;
	paging.cr4 |= CR4_LA57;
	put64(0x5000 + 7 * 8, 0x1000 | ALL);
	map4(ALL, ALL, ALL, 0x9000 | ALL);
	assert_ok(&paging, gva, WRITE | USER, 0x9567);
	assert_int_equal(walk.levels, 5);
	assert_int_equal(walk.pte_gpa[0], 0x5038);
	assert_int_equal(walk.pte_gpa[1], PML4E_GPA);
	assert_int_equal(get64(0x5038), 0x1000 | ALL | A);
	/* Bits 63:57 are not looked at (canonical checks are a #GP). */
	assert_ok(&paging, gva | 0xfe00000000000000ull, READ, 0x9567);

	/* PML5E: PS reserved, U/S counts. */
	put64(0x5038, 0x1000 | ALL | PS);
	assert_fault(&paging, gva, READ, PFERR_PRESENT | PFERR_RSVD);
	assert_int_equal(walk.levels, 1);
	assert_true(why.bits & REF_WHY_RSVD_PS);
	put64(0x5038, 0x1000 | P | RW);
	assert_fault(&paging, gva, READ | USER, PFERR_PRESENT | PFERR_USER);
	put64(0x5038, 0);
	assert_fault(&paging, gva, READ, 0);

	/* Without LA57 the same CR3 is a PML4 table. */
	paging.cr4 &= ~CR4_LA57;
	put64(0x5000 + 1 * 8, 0x2000 | ALL);
	assert_ok(&paging, gva, READ, 0x9567);
	assert_int_equal(walk.levels, 4);
}

/* ------------------------------------------------------------ PAE */

/* gva 0xC0604567: PDPTE 3, PD index 3, PT index 4, offset 0x567. */
#define GVAPAE		0xC0604567ull

static void test_pae_4k_page(void **state)
{
	struct guest_paging paging = paging_pae(0x1020 | 0x1f);

	(void)state;
	/* Memory holds other PDPTEs: the cached ones are used. */
	put64(0x1020 + 3 * 8, 0x6000 | P);
	paging.pdptes[3] = 0x3000 | P | PWT;
	put64(0x3000 + 3 * 8, 0x4000 | ALL);
	put64(0x4000 + 4 * 8, 0x876543000ull | ALL | PAT4K);

	assert_ok(&paging, GVAPAE, WRITE | USER, 0x876543567ull);
	assert_int_equal(walk.page_level, 1);
	assert_int_equal(walk.pat_index, 4);
	assert_int_equal(walk.levels, 3);
	assert_int_equal(walk.pte_gpa[0], 0x1038);	/* CR3[31:5] + 8*3 */
	assert_int_equal(walk.pte[0], 0x3000 | P | PWT);
	assert_int_equal(walk.pte_gpa[1], 0x3018);
	assert_int_equal(walk.pte_gpa[2], 0x4020);
	/* The PDPTE is not written (no A flag); the others are. */
	assert_int_equal(cmpxchgs, 2);
	assert_int_equal(get64(0x1038), 0x6000 | P);
	assert_int_equal(get64(0x3018), 0x4000 | ALL | A);
	assert_int_equal(get64(0x4020), 0x876543000ull | ALL | PAT4K | A | D);

	/* Upper CR3 bits are ignored. */
	paging.cr3 |= 0xabc00000000ull;
	assert_ok(&paging, GVAPAE, READ, 0x876543567ull);
	assert_int_equal(walk.pte_gpa[0], 0x1038);
}

static void test_pae_pdpte(void **state)
{
	struct guest_paging paging = paging_pae(0x1000);

	(void)state;
	put64(0x3000 + 3 * 8, 0x4000 | ALL);
	put64(0x4000 + 4 * 8, 0x9000 | ALL);

	paging.pdptes[3] = 0x3000;		/* not present */
	assert_fault(&paging, GVAPAE, WRITE | USER, PFERR_WRITE | PFERR_USER);
	assert_int_equal(walk.levels, 1);
	assert_int_equal(walk.pte_gpa[0], 0x1018);
	assert_int_equal(why.level, 3);

	/* Table 4-8: bits 2:1, 8:5, 63:MAXPHYADDR are reserved (bit 63
	 * even with NXE = 1: PDPTEs have no XD). */
	static const uint64_t reserved_bits[] = {
		1ull << 1, 1ull << 2, 1ull << 5, 1ull << 6, 1ull << 7,
		1ull << 8, 1ull << 36, 1ull << 62, 1ull << 63,
	};
	for (unsigned i = 0; i < sizeof(reserved_bits) / 8; i++) {
		paging.pdptes[3] = 0x3000 | P | reserved_bits[i];
		assert_fault(&paging, GVAPAE, READ,
			     PFERR_PRESENT | PFERR_RSVD);
	}
	/* PWT, PCD, and the ignored bits 11:9 are fine. */
	paging.pdptes[3] = 0x3000 | P | PWT | PCD | 0xe00;
	assert_ok(&paging, GVAPAE, WRITE | USER, 0x9567);
	assert_true(walk.user && walk.writable);
}

static void test_pae_reserved_bits(void **state)
{
	struct guest_paging paging = paging_pae(0x1000);

	(void)state;
	paging.pdptes[3] = 0x3000 | P;
	put64(0x3000 + 3 * 8, 0x4000 | ALL);

	/* Bits 62:MAXPHYADDR: 62:59 are not protection keys in PAE. */
	put64(0x3018, 0x4000 | ALL | 1ull << 55);	/* in the PDE too */
	assert_fault(&paging, GVAPAE, READ, PFERR_PRESENT | PFERR_RSVD);
	assert_int_equal(walk.levels, 2);
	put64(0x3018, 0x4000 | ALL);
	put64(0x4020, 0x9000 | ALL | PKEY(1));
	assert_fault(&paging, GVAPAE, READ, PFERR_PRESENT | PFERR_RSVD);
	assert_int_equal(walk.levels, 3);
	put64(0x4020, 0x9000 | ALL | 1ull << 52);
	assert_fault(&paging, GVAPAE, READ, PFERR_PRESENT | PFERR_RSVD);
	paging.maxphyaddr = 52;
	put64(0x4020, 0x9000 | ALL | 1ull << 51);
	assert_ok(&paging, GVAPAE, READ, 1ull << 51 | 0x9567);
	put64(0x4020, 0x9000 | ALL | 1ull << 52);
	assert_fault(&paging, GVAPAE, READ, PFERR_PRESENT | PFERR_RSVD);

	/* XD: reserved without NXE, else execute-disable. */
	put64(0x4020, 0x9000 | ALL | XD);
	assert_fault(&paging, GVAPAE, FETCH, PFERR_PRESENT | PFERR_FETCH);
	assert_ok(&paging, GVAPAE, READ, 0x9567);
	assert_true(walk.nx);
	paging.efer = 0;
	assert_fault(&paging, GVAPAE, FETCH, PFERR_PRESENT | PFERR_RSVD);
	paging.efer = EFER_NXE;

	/* 2-MByte page: bits 20:13 reserved, 12 is PAT. */
	put64(0x3018, 0x7fe00000ull | ALL | PS | PATL);
	assert_ok(&paging, GVAPAE, READ, 0x7fe04567ull);
	assert_int_equal(walk.page_level, 2);
	assert_int_equal(walk.levels, 2);
	put64(0x3018, 0x7fe00000ull | 1ull << 16 | ALL | PS);
	assert_fault(&paging, GVAPAE, READ, PFERR_PRESENT | PFERR_RSVD);
	assert_true(why.bits & REF_WHY_RSVD_LARGE);

	/* CR4.PKE is meaningless in PAE paging. */
	put64(0x3018, 0x4000 | ALL);
	put64(0x4020, 0x9000 | ALL);
	paging.cr4 |= CR4_PKE;
	paging.pkru = 0xffffffff;
	assert_ok(&paging, GVAPAE, WRITE | USER, 0x9567);
}

static void test_pae_id_bit(void **state)
{
	struct guest_paging paging = paging_pae(0x1000);

	(void)state;
	paging.pdptes[3] = 0;
	assert_fault(&paging, GVAPAE, FETCH, PFERR_FETCH);
	paging.efer = 0;
	assert_fault(&paging, GVAPAE, FETCH, 0);
	paging.cr4 |= CR4_SMEP;
	assert_fault(&paging, GVAPAE, FETCH | USER, PFERR_FETCH | PFERR_USER);
}

/* --------------------------------------------- A/D races: the retry */

static void racing_cpu_clears_pte_present(void)
{
	put64(PTE_GPA, 0x9000 | RW | US);
}

static void racing_cpu_sets_pml4e_accessed(void)
{
	put64(PML4E_GPA, get64(PML4E_GPA) | A);
}

static void test_retry_when_an_entry_changes(void **state)
{
	struct guest_paging paging = paging_4level(0x1000);

	(void)state;
	/* Another CPU clears P in the PTE before our first cmpxchg: the
	 * cmpxchg on the PML4E succeeds, but the PTE's fails, and the walk
	 * starts again and finds the PTE not present. */
	map4(ALL, ALL, ALL, 0x9000 | ALL);
	interfere = racing_cpu_clears_pte_present;
	assert_fault(&paging, GVA4, READ, 0);
	assert_int_equal(why.retries, 1);
	assert_int_equal(walk.levels, 4);

	/* Another CPU sets A in the PML4E: retry, then the same result. */
	map4(ALL, ALL, ALL, 0x9000 | ALL);
	interfere = racing_cpu_sets_pml4e_accessed;
	assert_ok(&paging, GVA4, WRITE, 0x9567);
	assert_int_equal(why.retries, 1);
	assert_int_equal(get64(PTE_GPA), 0x9000 | ALL | A | D);
}

static void test_shared_table_converges(void **state)
{
	struct guest_paging paging = paging_4level(0x1000);

	(void)state;
	/* A PML4 that points to itself at every level (gva with all
	 * indices 1): the same entry is used four times. */
	put64(0x1008, 0x1000 | ALL);
	assert_ok(&paging, 0x008040201000ull | 0x123, WRITE, 0x1123);
	assert_int_equal(walk.levels, 4);
	assert_int_equal(get64(0x1008), 0x1000 | ALL | A | D);
	assert_true(why.retries >= 1);	/* its own A made the copies stale */
	/* Each pte[] is what was read plus what the walk set in it. */
	for (unsigned i = 0; i < 3; i++)
		assert_int_equal(walk.pte[i], 0x1000 | ALL | A);
	assert_int_equal(walk.pte[3], 0x1000 | ALL | A | D);
}

/* ------------------------------------------------- mode selection */

static void test_mode_selection(void **state)
{
	struct guest_paging paging = paging_4level(0x1000);

	(void)state;
	assert_int_equal(ref_paging_mode(&paging), REF_MODE_4LEVEL);
	paging.cr4 |= CR4_LA57;
	assert_int_equal(ref_paging_mode(&paging), REF_MODE_5LEVEL);
	paging.efer &= ~EFER_LMA;	/* LA57 means nothing in PAE paging */
	assert_int_equal(ref_paging_mode(&paging), REF_MODE_PAE);
	paging.cr4 &= ~CR4_PAE;
	assert_int_equal(ref_paging_mode(&paging), REF_MODE_32BIT);
	paging.cr0 &= ~CR0_PG;
	assert_int_equal(ref_paging_mode(&paging), REF_MODE_OFF);
	assert_string_equal(ref_paging_mode_name(REF_MODE_PAE), "PAE");
	assert_string_equal(ref_why_name(REF_WHY_SMAP), "smap");
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_paging_off_identity),
		T(test_32bit_4k_page),
		T(test_32bit_4m_page_pse36),
		T(test_32bit_pse36_reserved_bits),
		T(test_32bit_ps_ignored_without_pse),
		T(test_32bit_not_present),
		T(test_32bit_has_no_xd),
		T(test_32bit_smep_smap),
		T(test_user_access_to_supervisor_page),
		T(test_user_write_to_read_only),
		T(test_supervisor_write_and_cr0_wp),
		T(test_execute_disable),
		T(test_smep),
		T(test_smap),
		T(test_protection_keys),
		T(test_protection_key_with_other_faults),
		T(test_not_present_wins_over_rights),
		T(test_4level_4k_page_and_ad),
		T(test_4level_reserved_address_bits),
		T(test_4level_ps_in_pml4e),
		T(test_1g_pages),
		T(test_2m_pages),
		T(test_faults_write_nothing),
		T(test_tables_outside_ram),
		T(test_5level),
		T(test_pae_4k_page),
		T(test_pae_pdpte),
		T(test_pae_reserved_bits),
		T(test_pae_id_bit),
		T(test_retry_when_an_entry_changes),
		T(test_shared_table_converges),
		T(test_mode_selection),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
