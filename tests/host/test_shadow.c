/*
 * Hand-built cases for the shadow MMU (mmu/shadow*.c) on the simulated
 * machine of tests/host/shadow_sim.c: the spte format, each paging mode,
 * A/D bits, write protection and emulation, unsync and INVLPG, write
 * flooding, the page cap, zap-all, MMIO sptes and their generation, CR0.WP
 * = 0, out of memory, the hardware control values. The randomized property
 * test is tests/host/test_shadow_prop.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "mmu/shadow.h"
#include "tests/host/mmu_platform_host.h"
#include "tests/host/shadow_sim.h"

#define CR0_PE		(1ull << 0)
#define EFER_LME	(1ull << 8)
#define TABLE		(GPTE_P | GPTE_RW | GPTE_US | GPTE_A)
#define LEAF		(TABLE | GPTE_D)

static struct sim sim;
static long tables_at_start;

static struct shadow_config config(bool unsync, uint32_t cap)
{
	return (struct shadow_config){
		.max_pages = cap, .guest_maxphyaddr = 40,
		.guest_gbpages = true, .unsync = unsync,
	};
}

static void start(bool unsync, uint32_t cap, unsigned nvcpus)
{
	struct shadow_config cfg = config(unsync, cap);

	mmu_host_fail_after(-1);
	tables_at_start = mmu_host_live_tables();
	sim_init(&sim, &cfg, nvcpus, 1);
}

static void finish(void)
{
	sim_assert_audit(&sim, "at the end");
	sim_destroy(&sim);
	assert_int_equal(mmu_host_live_tables(), tables_at_start);
}

static struct shadow_stats stats(void)
{
	struct shadow_stats st;

	shadow_mmu_get_stats(&sim.mmu, &st);
	return st;
}

static void put64(uint64_t gpa, uint64_t value)
{
	sim_store(&sim, gpa, value, 8);
}

static void put32(uint64_t gpa, uint32_t value)
{
	sim_store(&sim, gpa, value, 4);
}

/*
 * 4-level tables: PML4 at gfn 1, PDPT 2, PD 3, PT 4. gva 0x400000 (PD
 * entry 2) maps through PT 4: entry 0 -> gfn 0x100, entry 1 -> gfn 4 (the
 * PT itself, a self-map), entry 2 -> MMIO gfn 0x900.
 */
#define GVA_DATA	0x400000ull
#define GVA_SELF	0x401000ull
#define GVA_MMIO	0x402000ull

static void build_4level(void)
{
	put64(0x1000, 0x2000 | TABLE);
	put64(0x2000, 0x3000 | TABLE);
	put64(0x3000 + 2 * 8, 0x4000 | TABLE);
	put64(0x4000, 0x100000 | TABLE);	/* clean: no D */
	put64(0x4008, 0x4000 | LEAF);
	put64(0x4010, 0x900000 | LEAF);
}

static void enter_4level(struct sim_vcpu *vc)
{
	assert_int_equal(sim_mov_cr3(vc, 0x1000), SHADOW_CR_OK);
	assert_int_equal(sim_set_cr(vc, CR0_PE | GUEST_CR0_PG | GUEST_CR0_WP,
				    GUEST_CR4_PAE,
				    EFER_LME | GUEST_EFER_LMA |
				    GUEST_EFER_NXE), SHADOW_CR_OK);
	assert_int_equal(vc->sv.hw_mode, SHADOW_HW_4LEVEL);
}

static struct sim_result access(struct sim_vcpu *vc, uint64_t gva,
				uint32_t type, uint64_t value)
{
	return sim_access(vc, gva, type, value, 8);
}

/* ---- spte format ------------------------------------------------------- */

static void test_spte_format(void **state)
{
	uint64_t t = make_shadow_table_spte(0x123456789000ull);
	uint64_t l, m;

	(void)state;
	assert_true(is_shadow_present_spte(t) && !is_mmio_spte(t));
	assert_false(is_shadow_leaf_spte(t, 2));
	assert_true((t & (SPTE_P | SPTE_RW | SPTE_US | SPTE_A)) ==
		    (SPTE_P | SPTE_RW | SPTE_US | SPTE_A));
	assert_int_equal(shadow_spte_hpa(t), 0x123456789000ull);

	/* Writable only with WRITE, host-writable and not protected. */
	l = make_shadow_leaf_spte(0x5000, 1, SHADOW_ACC_ALL, 0, 0, true, false);
	assert_true(spte_is_writable(l) && spte_mmu_writable(l) &&
		    spte_host_writable(l) && (l & SPTE_D));
	l = make_shadow_leaf_spte(0x5000, 1, SHADOW_ACC_ALL, 0, 0, true, true);
	assert_false(spte_is_writable(l) || spte_mmu_writable(l));
	assert_true(spte_host_writable(l));
	l = make_shadow_leaf_spte(0x5000, 1, SHADOW_ACC_ALL, 0, 0, false,
				  false);
	assert_false(spte_is_writable(l) || spte_mmu_writable(l) ||
		     spte_host_writable(l));
	/* Rights, memory type, key. */
	l = make_shadow_leaf_spte(0x200000, 2, SHADOW_ACC_USER, 7, 9, true,
				  false);
	assert_true(l & SPTE_PS);
	assert_true((l & (SPTE_PWT | SPTE_PCD | SPTE_PAT_LARGE)) ==
		    (SPTE_PWT | SPTE_PCD | SPTE_PAT_LARGE));
	assert_int_equal((l & SPTE_PKEY_MASK) >> SPTE_PKEY_SHIFT, 9);
	assert_int_equal(spte_access(l), SHADOW_ACC_USER);
	assert_int_equal(shadow_leaf_hpa(l, 2), 0x200000);
	/* Write protection keeps host-writable, drops the other two. */
	l = make_shadow_leaf_spte(0x5000, 1, SHADOW_ACC_ALL, 0, 0, true, false);
	assert_false(spte_can_fast_fix_write(l));
	assert_false(spte_can_fast_fix_write(spte_write_protect(l)));
	assert_true(spte_can_fast_fix_write(l & ~SPTE_RW));

	/* MMIO: gfn, rights and an 18-bit generation round-trip. */
	m = make_mmio_spte(0x7fffffffffull, SHADOW_ACC_WRITE, 0x3ffff, true);
	assert_true(is_mmio_spte(m) && !is_shadow_present_spte(m));
	assert_true((m & SPTE_P) && (m & SPTE_MMIO_RSVD));
	assert_int_equal(mmio_spte_gfn(m), 0x7fffffffffull);
	assert_int_equal(mmio_spte_generation(m), 0x3ffff);
	assert_int_equal(spte_access(m), SHADOW_ACC_WRITE);
	m = make_mmio_spte(0x900, SHADOW_ACC_ALL, 0x12345 | (1ull << 40),
			   false);
	assert_false(m & SPTE_P);
	assert_int_equal(mmio_spte_generation(m), 0x12345);
	assert_int_equal(mmio_spte_gfn(m), 0x900);
}

/* ---- paging off: identity, large pages, MMIO ------------------------------ */

static void test_paging_off(void **state)
{
	struct sim_vcpu *vc;
	struct sim_result r;
	struct shadow_stats st;

	(void)state;
	start(true, 256, 1);
	vc = &sim.vcpu[0];
	assert_int_equal(vc->sv.hw_mode, SHADOW_HW_PAE);
	r = access(vc, 0x5008, ACCESS_WRITE, 42);
	assert_int_equal(r.kind, SIM_OK);
	assert_int_equal(r.gpa, 0x5008);
	assert_int_equal(sim_load(&sim, 0x5008, 8), 42);
	st = stats();
	assert_int_equal(st.leaves_2m, 1);	/* slot A is 2 MiB aligned */
	/* Slot B is scattered: 4 KiB through a direct page. */
	r = access(vc, (SIM_SLOT_B_GFN + 3) << 12, 0, 0);
	assert_int_equal(r.kind, SIM_OK);
	assert_int_equal(stats().leaves_4k, 1);
	/* MMIO: the first access walks, the next takes the fast path. */
	r = access(vc, 0x900123, 0, 0);
	assert_int_equal(r.kind, SIM_MMIO);
	assert_int_equal(r.gpa, 0x900123);
	st = stats();
	assert_int_equal(st.mmio_sptes, 1);
	r = access(vc, 0x900456, ACCESS_WRITE, 0);
	assert_int_equal(r.kind, SIM_MMIO);
	assert_int_equal(stats().mmio_fast, st.mmio_fast + 1);
	/* A new memslot generation sends it to the slow path once. */
	sim.slots.generation += 2;
	shadow_memslots_changed(&sim.mmu, false);
	r = access(vc, 0x900456, 0, 0);
	assert_int_equal(r.kind, SIM_MMIO);
	assert_int_equal(stats().mmio_stale, 1);
	assert_int_equal(stats().mmio_fast, st.mmio_fast + 1);
	r = access(vc, 0x900456, 0, 0);
	assert_int_equal(stats().mmio_fast, st.mmio_fast + 2);
	finish();
}

/* ---- 4-level: A/D, clean pages read-only, rights -------------------------- */

static void test_4level_accessed_dirty(void **state)
{
	struct sim_vcpu *vc;
	struct sim_result r;
	struct guest_walk hw;

	(void)state;
	start(true, 256, 1);
	vc = &sim.vcpu[0];
	build_4level();
	enter_4level(vc);
	r = access(vc, GVA_DATA + 0x18, 0, 0);
	assert_int_equal(r.kind, SIM_OK);
	assert_int_equal(r.gpa, 0x100018);
	/* The walk set A everywhere, not D. */
	assert_true(sim_load(&sim, 0x1000, 8) & GPTE_A);
	assert_true(sim_load(&sim, 0x4000, 8) & GPTE_A);
	assert_false(sim_load(&sim, 0x4000, 8) & GPTE_D);
	/* So the shadow leaf is read-only until the first write. */
	assert_int_equal(sim_hw_walk(vc, GVA_DATA, 0, &hw, true), WALK_OK);
	assert_false(hw.writable);
	r = access(vc, GVA_DATA + 0x18, ACCESS_WRITE, 7);
	assert_int_equal(r.kind, SIM_OK);
	assert_true(sim_load(&sim, 0x4000, 8) & GPTE_D);
	assert_int_equal(sim_hw_walk(vc, GVA_DATA, 0, &hw, true), WALK_OK);
	assert_true(hw.writable && hw.user && !hw.nx);
	/* Not present: the guest's own #PF, with its error code. */
	r = access(vc, 0x403000, ACCESS_USER | ACCESS_WRITE, 0);
	assert_int_equal(r.kind, SIM_PF);
	assert_int_equal(r.error_code, PFERR_WRITE | PFERR_USER);
	/* A supervisor-only page: user access is a protection fault. */
	put64(0x4018, 0x101000 | GPTE_P | GPTE_RW | GPTE_A);
	r = access(vc, 0x403000, ACCESS_USER, 0);
	assert_int_equal(r.kind, SIM_PF);
	assert_int_equal(r.error_code, PFERR_PRESENT | PFERR_USER);
	finish();
}

/* ---- write protection: emulated writes; unsync and INVLPG ---------------- */

static void test_write_protect_emulate(void **state)
{
	struct sim_vcpu *vc;
	struct sim_result r;

	(void)state;
	start(false, 256, 1);			/* no unsync */
	vc = &sim.vcpu[0];
	build_4level();
	enter_4level(vc);
	assert_int_equal(access(vc, GVA_DATA, 0, 0).kind, SIM_OK);
	assert_true(shadow_gfn_write_protected(&sim.mmu, 4));
	/* Through the self-map: PT entry 0 now points at gfn 0x200. */
	r = access(vc, GVA_SELF, ACCESS_WRITE, 0x200000 | LEAF);
	assert_int_equal(r.kind, SIM_OK);
	assert_true(r.emulated);
	assert_int_equal(stats().emulated, 1);
	/* The write zapped the stale spte: the new translation, at once. */
	r = access(vc, GVA_DATA, 0, 0);
	assert_int_equal(r.kind, SIM_OK);
	assert_int_equal(r.gpa, 0x200000);
	finish();
}

static void test_unsync_invlpg(void **state)
{
	struct sim_vcpu *vc;
	struct sim_result r;

	(void)state;
	start(true, 256, 1);
	vc = &sim.vcpu[0];
	build_4level();
	enter_4level(vc);
	assert_int_equal(access(vc, GVA_DATA, 0, 0).kind, SIM_OK);
	/* The first write to the PT makes it unsync, not emulated. */
	r = access(vc, GVA_SELF + 0x100, ACCESS_WRITE, 0);
	assert_int_equal(r.kind, SIM_OK);
	assert_false(r.emulated);
	assert_int_equal(stats().unsynced, 1);
	assert_false(shadow_gfn_write_protected(&sim.mmu, 4));
	/* Now PTE stores go straight in; the old translation may stay... */
	r = access(vc, GVA_SELF, ACCESS_WRITE, 0x200000 | LEAF);
	assert_false(r.emulated);
	sim_flush_tlb(vc);
	r = access(vc, GVA_DATA, 0, 0);
	assert_int_equal(r.gpa, 0x100000);
	/* ... until the guest invalidates it. */
	sim_invlpg(vc, GVA_DATA);
	assert_int_equal(stats().invlpg_synced, 1);
	r = access(vc, GVA_DATA, 0, 0);
	assert_int_equal(r.gpa, 0x200000);
	/* A CR3 load syncs the whole page, and protects it again. */
	r = access(vc, GVA_SELF, ACCESS_WRITE, 0x300000 | LEAF);
	assert_int_equal(sim_mov_cr3(vc, 0x1000), SHADOW_CR_OK);
	assert_int_equal(stats().synced, 1);
	assert_true(shadow_gfn_write_protected(&sim.mmu, 4));
	r = access(vc, GVA_DATA, 0, 0);
	assert_int_equal(r.gpa, 0x300000);
	finish();
}

/* ---- a guest store in the middle of a fault ----------------------------- */

/* Another vCPU stores to the guest PT at the n-th time the MMU touches its
 * page (not through the MMU: through a mapping the MMU does not know yet). */
static struct {
	uint64_t page_hpa;
	unsigned countdown;
	uint64_t gpa, value;
} race;

static void race_hook(uint64_t hpa, void *ctx)
{
	(void)ctx;
	if ((hpa & ~0xfffull) != race.page_hpa || !race.countdown)
		return;
	if (--race.countdown == 0)
		sim_store(&sim, race.gpa, race.value, 8);
}

static void test_store_during_fault(void **state)
{
	struct sim_vcpu *vc;
	struct sim_result r;

	(void)state;
	start(true, 256, 1);
	vc = &sim.vcpu[0];
	build_4level();
	put64(0x4000, 0x100000 | LEAF);
	enter_4level(vc);
	/* The PT (gfn 4) is not shadowed yet. The fault's walk reads the PTE
	 * (first touch of the page); before the MMU reads it again (after
	 * write-protecting the PT for its new shadow page), another vCPU
	 * changes it and then, as an OS would, shoots down the old
	 * translation: this vCPU's INVLPG. */
	race.page_hpa = (uint64_t)(uintptr_t)sim_gpa_ptr(&sim, 0x4000);
	race.countdown = 2;
	race.gpa = 0x4000;
	race.value = 0x200000 | LEAF;
	mmu_host_set_hpa_hook(race_hook, NULL);
	r = access(vc, GVA_DATA, 0, 0);
	mmu_host_set_hpa_hook(NULL, NULL);
	assert_int_equal(race.countdown, 0);
	assert_int_equal(r.kind, SIM_OK);
	assert_int_equal(stats().gpte_changed, 1);
	sim_invlpg(vc, GVA_DATA);
	r = access(vc, GVA_DATA, 0, 0);
	assert_int_equal(r.gpa, 0x200000);
	finish();
}

/*
 * Write protection must be flushed before the guest entries are read
 * again: vCPU 1 maps the PD (gfn 3) writable through its own tables and
 * has that in its TLB. vCPU 0's fault makes the PD's shadow page, which
 * write-protects the PD; while the fault goes on (reading the PT), vCPU 1
 * stores a new PDE through its TLB entry if it still has it. If it could,
 * the fault would link the old PT under a synced PD, and no INVLPG would
 * ever fix it.
 */
static void stale_tlb_hook(uint64_t hpa, void *ctx)
{
	struct sim_vcpu *vc1 = ctx;

	if ((hpa & ~0xfffull) != race.page_hpa || !race.countdown ||
	    --race.countdown)
		return;
	for (unsigned i = 0; i < SIM_TLB_ENTRIES; i++)
		if (vc1->tlb[i].valid && vc1->tlb[i].vpn == 0 &&
		    vc1->tlb[i].writable)
			sim_store(&sim, 0x3000 + 2 * 8, 0x20000 | TABLE, 8);
}

static void test_write_protect_flushes_first(void **state)
{
	struct sim_vcpu *vc0, *vc1;
	struct sim_result r;

	(void)state;
	start(true, 256, 2);
	vc0 = &sim.vcpu[0];
	vc1 = &sim.vcpu[1];
	build_4level();
	put64(0x4000, 0x100000 | LEAF);
	put64(0x20000, 0x300000 | LEAF);	/* the PT the new PDE names */
	/* vCPU 1: PML4 0x10 -> 0x11 -> 0x12 -> PT 0x13, entry 0 maps the PD. */
	put64(0x10000, 0x11000 | TABLE);
	put64(0x11000, 0x12000 | TABLE);
	put64(0x12000, 0x13000 | TABLE);
	put64(0x13000, 0x3000 | LEAF);
	enter_4level(vc0);
	assert_int_equal(sim_mov_cr3(vc1, 0x10000), SHADOW_CR_OK);
	assert_int_equal(sim_set_cr(vc1, CR0_PE | GUEST_CR0_PG | GUEST_CR0_WP,
				    GUEST_CR4_PAE, EFER_LME | GUEST_EFER_LMA),
			 SHADOW_CR_OK);
	r = access(vc1, 0x800, ACCESS_WRITE, sim_load(&sim, 0x3800, 8));
	assert_int_equal(r.kind, SIM_OK);
	assert_false(shadow_gfn_write_protected(&sim.mmu, 3));
	/* vCPU 0's fault; the PT (gfn 4) is read twice: walk, re-check. */
	race.page_hpa = (uint64_t)(uintptr_t)sim_gpa_ptr(&sim, 0x4000);
	race.countdown = 2;
	mmu_host_set_hpa_hook(stale_tlb_hook, vc1);
	r = access(vc0, GVA_DATA, 0, 0);
	mmu_host_set_hpa_hook(NULL, NULL);
	assert_int_equal(race.countdown, 0);
	assert_int_equal(r.gpa, 0x100000);
	/* The write protection reached vCPU 1's TLB before the fault read
	 * on: its store could not go through unseen. */
	assert_int_equal(sim_load(&sim, 0x3010, 8), 0x4000 | TABLE);
	/* Its store traps now (and is emulated), and vCPU 0 sees it after
	 * its INVLPG. */
	r = access(vc1, 0x10, ACCESS_WRITE, 0x20000 | TABLE);
	assert_true(r.emulated);
	sim_invlpg(vc0, GVA_DATA);
	r = access(vc0, GVA_DATA, 0, 0);
	assert_int_equal(r.gpa, 0x300000);
	finish();
}

/*
 * The walker's A/D stores across entry formats: page 0x30 is a 32-bit PT
 * for vCPU 0 and a 4-level PT for vCPU 1. Its 4-byte entry 1 (P RW US,
 * frame 0, A clear) is the high half of 8-byte entry 0, where P, RW, US
 * are address bits 32..34 (an MMIO gpa for vCPU 1). vCPU 0's walk sets A
 * in it: address bit 37 of vCPU 1's entry. After its INVLPG, vCPU 1 must
 * see the new gpa.
 */
static void test_walker_ad_across_formats(void **state)
{
	struct sim_vcpu *vc0, *vc1;
	struct sim_result r;
	uint64_t old_gpa = 0x700100000ull, new_gpa = old_gpa | 1ull << 37;

	(void)state;
	start(true, 256, 2);
	vc0 = &sim.vcpu[0];
	vc1 = &sim.vcpu[1];
	put64(0x30000, 0x7ull << 32 | 0x100000 | LEAF);
	put64(0x31000, 0x32000 | TABLE);		/* vCPU 1: 4-level */
	put64(0x32000, 0x33000 | TABLE);
	put64(0x33000, 0x30000 | TABLE);
	put32(0x34000, 0x30000 | TABLE);		/* vCPU 0: 32-bit PD */
	assert_int_equal(sim_mov_cr3(vc1, 0x31000), SHADOW_CR_OK);
	assert_int_equal(sim_set_cr(vc1, CR0_PE | GUEST_CR0_PG, GUEST_CR4_PAE,
				    EFER_LME | GUEST_EFER_LMA), SHADOW_CR_OK);
	r = access(vc1, 0x10, 0, 0);
	assert_int_equal(r.kind, SIM_MMIO);
	assert_int_equal(r.gpa, old_gpa | 0x10);
	assert_int_equal(sim_mov_cr3(vc0, 0x34000), SHADOW_CR_OK);
	assert_int_equal(sim_set_cr(vc0, CR0_PE | GUEST_CR0_PG, 0, 0),
			 SHADOW_CR_OK);
	r = sim_access(vc0, 0x1004, 0, 0, 4);
	assert_int_equal(r.kind, SIM_OK);
	assert_int_equal(r.gpa, 0x4);
	assert_true(sim_load(&sim, 0x30004, 4) & GPTE_A);
	sim_invlpg(vc1, 0x10);
	r = access(vc1, 0x10, 0, 0);
	assert_int_equal(r.kind, SIM_MMIO);
	assert_int_equal(r.gpa, new_gpa | 0x10);
	finish();
}

/* ---- write flooding ---------------------------------------------------- */

static void test_write_flooding(void **state)
{
	struct sim_vcpu *vc;

	(void)state;
	start(true, 256, 1);
	vc = &sim.vcpu[0];
	build_4level();
	enter_4level(vc);
	assert_int_equal(access(vc, GVA_DATA, 0, 0).kind, SIM_OK);
	assert_true(shadow_gfn_write_protected(&sim.mmu, 3));	/* the PD */
	/* Emulated writes to an unused part of the PD: the page is zapped
	 * at the threshold, and no longer write-protected. */
	for (unsigned i = 0; i < SHADOW_FLOOD_THRESHOLD; i++)
		sim_emulated_store(&sim, 0x3000 + 0x800 + 8 * i, 0, 8);
	assert_int_equal(stats().flooded, 1);
	assert_false(shadow_gfn_write_protected(&sim.mmu, 3));
	/* A fault that walks through the page resets its count (PD entry
	 * 3 also points at PT 4: each new address there faults). */
	put64(0x3000 + 3 * 8, 0x4000 | TABLE);
	for (unsigned i = 3; i < 16; i++)
		put64(0x4000 + i * 8, (0x100000 + i * 0x1000) | LEAF);
	assert_int_equal(access(vc, GVA_DATA, 0, 0).kind, SIM_OK);
	assert_true(shadow_gfn_write_protected(&sim.mmu, 3));
	for (unsigned i = 3; i < 3 + 3 * SHADOW_FLOOD_THRESHOLD; i++) {
		sim_emulated_store(&sim, 0x3800, 0, 8);
		assert_int_equal(access(vc, 0x600000 + i * 0x1000, 0, 0).kind,
				 SIM_OK);
	}
	assert_int_equal(stats().flooded, 1);
	finish();
}

/* ---- the page cap --------------------------------------------------------- */

static void test_page_cap(void **state)
{
	struct sim_vcpu *vc;
	struct shadow_stats st;

	(void)state;
	start(true, SHADOW_MIN_PAGES, 1);
	vc = &sim.vcpu[0];
	build_4level();
	/* 300 PTs (gfns 0x200..) under PD entries 8..307 (PD 3, PDPT 2). */
	for (unsigned i = 0; i < 300; i++) {
		uint64_t pt = 0x200 + i;

		put64(0x3000 + (8 + i) * 8 % 4096 + (8 + i) / 512 * 0,
		      pt << 12 | TABLE);
		put64(pt << 12, 0x100000 | LEAF);
	}
	enter_4level(vc);
	for (unsigned i = 0; i < 300; i++) {
		uint64_t gva = (uint64_t)((8 + i) % 512) << 21;
		struct sim_result r = access(vc, gva, 0, 0);

		assert_int_equal(r.kind, SIM_OK);
		assert_true(stats().pages <= SHADOW_MIN_PAGES);
	}
	st = stats();
	assert_true(st.reclaimed > 200);
	sim_assert_audit(&sim, "after reclaim");
	finish();
}

/* ---- zap-all ------------------------------------------------------------ */

static void test_zap_all(void **state)
{
	struct sim_vcpu *vc;
	struct shadow_stats st;
	uint64_t version;

	(void)state;
	start(true, 1024, 2);
	vc = &sim.vcpu[0];
	build_4level();
	for (unsigned i = 0; i < 100; i++) {
		put64(0x3000 + (8 + i) * 8, (0x200 + i) << 12 | TABLE);
		put64((0x200ull + i) << 12, 0x100000 | LEAF);
	}
	enter_4level(vc);
	for (unsigned i = 0; i < 100; i++)
		assert_int_equal(access(vc, (8ull + i) << 21, 0, 0).kind,
				 SIM_OK);
	version = vc->sv.root_version;
	shadow_zap_all(&sim.mmu);
	st = stats();
	assert_int_equal(st.zap_all, 1);
	assert_true(st.obsolete_zapped >= 100);
	assert_true(st.lock_breaks >= 100 / SHADOW_ZAP_BATCH);
	/* The root was in use: kept as a zombie until the vCPU reloads. */
	assert_true(st.pages >= 1);
	assert_int_equal(access(vc, GVA_DATA, 0, 0).kind, SIM_OK);
	assert_true(vc->sv.root_version != version);
	assert_int_equal(stats().root_reloads, 1);
	finish();
}

/* ---- PAE and 32-bit (quadrants, 4 MiB pages) ------------------------------ */

static void test_pae_and_32bit(void **state)
{
	struct sim_vcpu *vc;
	struct sim_result r;

	(void)state;
	start(true, 256, 1);
	vc = &sim.vcpu[0];
	/* PAE: PDPT at 0x1020 (32-byte aligned), PDPTE 2 -> PD 3. */
	put64(0x1020 + 2 * 8, 0x3000 | GPTE_P);
	put64(0x3000 + 5 * 8, 0x4000 | TABLE);
	put64(0x4000 + 7 * 8, 0x123000 | LEAF);
	put64(0x3000 + 6 * 8, 0x200000 | LEAF | GPTE_PS);	/* 2 MiB */
	assert_int_equal(sim_mov_cr3(vc, 0x1020), SHADOW_CR_OK);
	assert_int_equal(sim_set_cr(vc, CR0_PE | GUEST_CR0_PG, GUEST_CR4_PAE,
				    0), SHADOW_CR_OK);
	r = access(vc, 0x80000000ull | 5 << 21 | 7 << 12 | 0x10, 0, 0);
	assert_int_equal(r.kind, SIM_OK);
	assert_int_equal(r.gpa, 0x123010);
	r = access(vc, 0x80000000ull | 6 << 21 | 0x1234, 0, 0);
	assert_int_equal(r.gpa, 0x201234);
	assert_int_equal(stats().leaves_2m, 1);
	/* A bad PDPTE makes MOV CR3 #GP and changes nothing. */
	put64(0x1040, 0x3000 | GPTE_P | GPTE_RW);
	assert_int_equal(sim_mov_cr3(vc, 0x1040), SHADOW_CR_GP);
	assert_int_equal(vc->sv.paging.cr3, 0x1020);

	/* 32-bit with PSE: PD at 0x6000, PDE 0x301 -> PT 7 whose entry 600
	 * is in its second half (quadrant 1); PDE 0x302 a 4 MiB page. */
	put32(0x6000 + 0x301 * 4, 0x7000 | TABLE);
	put32(0x7000 + 600 * 4, 0x155000 | LEAF);
	put32(0x6000 + 0x302 * 4, 0x000000 | LEAF | GPTE_PS);
	assert_int_equal(sim_mov_cr3(vc, 0x6000), SHADOW_CR_OK);
	assert_int_equal(sim_set_cr(vc, CR0_PE | GUEST_CR0_PG, GUEST_CR4_PSE,
				    0), SHADOW_CR_OK);
	r = access(vc, 0x301ull << 22 | 600 << 12 | 0x44, 0, 0);
	assert_int_equal(r.kind, SIM_OK);
	assert_int_equal(r.gpa, 0x155044);
	/* The 4 MiB page: its low 2 MiB large (slot A), its high 2 MiB
	 * beyond RAM (MMIO through a direct page). */
	r = access(vc, 0x302ull << 22 | 0x1000, 0, 0);
	assert_int_equal(r.gpa, 0x1000);
	r = access(vc, 0x302ull << 22 | 0x3ff000, 0, 0);
	assert_int_equal(r.gpa, 0x3ff000);
	r = access(vc, 0x302ull << 22 | 0x100000, 0, 0);
	assert_int_equal(r.kind, SIM_OK);
	/* 5-level paging is refused. */
	assert_int_equal(sim_mov_cr3(vc, 0x1000), SHADOW_CR_OK);
	assert_int_equal(shadow_set_cr(&vc->sv, CR0_PE | GUEST_CR0_PG,
				       GUEST_CR4_PAE | GUEST_CR4_LA57,
				       EFER_LME | GUEST_EFER_LMA),
			 SHADOW_CR_UNSUPPORTED);
	assert_int_equal(shadow_set_cr(&vc->sv, CR0_PE, 0, 0), SHADOW_CR_OK);
	sim_enter(vc);
	finish();
}

/* ---- CR0.WP = 0 ------------------------------------------------------------ */

static void test_wp0_emulates(void **state)
{
	struct sim_vcpu *vc;
	struct sim_result r;

	(void)state;
	start(true, 256, 1);
	vc = &sim.vcpu[0];
	build_4level();
	put64(0x4018, 0x101000 | GPTE_P | GPTE_US | GPTE_A | GPTE_D);
	enter_4level(vc);
	/* WP = 1: a supervisor write to a read-only page faults. */
	r = access(vc, 0x403000, ACCESS_WRITE, 1);
	assert_int_equal(r.kind, SIM_PF);
	assert_int_equal(r.error_code, PFERR_PRESENT | PFERR_WRITE);
	/* WP = 0: allowed; the hardware (WP = 1) cannot, so it is emulated. */
	assert_int_equal(sim_set_cr(vc, CR0_PE | GUEST_CR0_PG, GUEST_CR4_PAE,
				    EFER_LME | GUEST_EFER_LMA |
				    GUEST_EFER_NXE), SHADOW_CR_OK);
	r = access(vc, 0x403000, ACCESS_WRITE, 99);
	assert_int_equal(r.kind, SIM_OK);
	assert_true(r.emulated);
	assert_int_equal(sim_load(&sim, 0x101000, 8), 99);
	assert_int_equal(stats().emulate_wp0, 1);
	/* A user write still faults. */
	r = access(vc, 0x403000, ACCESS_WRITE | ACCESS_USER, 1);
	assert_int_equal(r.kind, SIM_PF);
	finish();
}

/* ---- out of memory ----------------------------------------------------- */

static void test_out_of_memory(void **state)
{
	struct sim_vcpu *vc;
	struct sim_result r;

	(void)state;
	start(true, 256, 1);
	vc = &sim.vcpu[0];
	build_4level();
	for (unsigned i = 0; i < 40; i++) {
		put64(0x3000 + (8 + i) * 8, (0x200ull + i) << 12 | TABLE);
		put64((0x200ull + i) << 12, 0x100000 | LEAF);
	}
	enter_4level(vc);
	assert_int_equal(access(vc, GVA_DATA, 0, 0).kind, SIM_OK);
	/* The host runs dry: faults go on, on pages reclaimed from old
	 * shadow pages (never failing while there are any). */
	mmu_host_fail_after(0);
	for (unsigned round = 0; round < 2; round++)
		for (unsigned i = 0; i < 40; i++)
			assert_int_equal(access(vc, (8ull + i) << 21, 0,
						0).kind, SIM_OK);
	assert_true(stats().reclaimed > 0);
	assert_true(mmu_host_failed_allocs() > 0);
	sim_assert_audit(&sim, "host out of memory");
	/* Only the root left to take from: NOMEM, consistently. */
	shadow_unprotect_gfn(&sim.mmu, 2);
	shadow_unprotect_gfn(&sim.mmu, 3);
	for (unsigned i = 0; i < 40; i++)
		shadow_unprotect_gfn(&sim.mmu, 0x200 + i);
	shadow_unprotect_gfn(&sim.mmu, 4);
	while (sim.mmu.cache_count)
		mmu_free_table(sim.mmu.cache_hpa[--sim.mmu.cache_count]);
	r = access(vc, GVA_DATA, 0, 0);
	assert_int_equal(r.kind, SIM_NOMEM);
	assert_int_equal(stats().nomem, 1);
	sim_assert_audit(&sim, "after NOMEM");
	mmu_host_fail_after(-1);
	assert_int_equal(access(vc, GVA_DATA, 0, 0).kind, SIM_OK);
	finish();
}

/* ---- hardware control values --------------------------------------------- */

static void test_hw_control_values(void **state)
{
	struct sim_vcpu *vc;

	(void)state;
	start(true, 256, 1);
	vc = &sim.vcpu[0];
	/* Paging off: paging on in hardware (PAE, identity), no SMEP/SMAP,
	 * no long mode even with LME set. */
	assert_int_equal(shadow_set_cr(&vc->sv, CR0_PE,
				       GUEST_CR4_SMEP | GUEST_CR4_SMAP,
				       EFER_LME), SHADOW_CR_OK);
	assert_true(shadow_hw_cr0(&vc->sv) & GUEST_CR0_PG);
	assert_true(shadow_hw_cr0(&vc->sv) & GUEST_CR0_WP);
	assert_int_equal(shadow_hw_cr4(&vc->sv), GUEST_CR4_PAE);
	assert_int_equal(shadow_hw_efer(&vc->sv), GUEST_EFER_NXE);
	sim_enter(vc);
	build_4level();
	enter_4level(vc);
	assert_int_equal(shadow_hw_efer(&vc->sv),
			 EFER_LME | GUEST_EFER_LMA | GUEST_EFER_NXE);
	finish();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spte_format),
		cmocka_unit_test(test_paging_off),
		cmocka_unit_test(test_4level_accessed_dirty),
		cmocka_unit_test(test_write_protect_emulate),
		cmocka_unit_test(test_unsync_invlpg),
		cmocka_unit_test(test_store_during_fault),
		cmocka_unit_test(test_write_protect_flushes_first),
		cmocka_unit_test(test_walker_ad_across_formats),
		cmocka_unit_test(test_write_flooding),
		cmocka_unit_test(test_page_cap),
		cmocka_unit_test(test_zap_all),
		cmocka_unit_test(test_pae_and_32bit),
		cmocka_unit_test(test_wp0_emulates),
		cmocka_unit_test(test_out_of_memory),
		cmocka_unit_test(test_hw_control_values),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
