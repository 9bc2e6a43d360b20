/*
 * The TDP MMU (mmu/tdp.c) on the host, for both entry formats, under
 * AddressSanitizer and UBSan. Guest memory is memslots over made-up host
 * addresses; table pages come from tests/host/mmu_platform_host.c, which
 * counts them and can run out on demand. The oracle (tdp_oracle.c) walks
 * every table and checks each entry's bits against the manuals and each
 * leaf against the memslots.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <cmocka.h>

#include "mmu/tdp.h"
#include "tests/host/mmu_platform_host.h"
#include "tests/host/tdp_oracle.h"

#define PAGE		4096ull
#define CHUNK_PAGES	512ull
#define GPA(gfn)	((uint64_t)(gfn) * PAGE)

static struct tdp_env env;

static const struct tdp_format *format(void **state)
{
	return *state;
}

static int setup(void **state)
{
	(void)state;
	mmu_host_fail_after(-1);
	assert_int_equal(mmu_host_live_tables(), 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	mmu_host_fail_after(-1);
	env_free(&env);
	return 0;
}

static struct tdp_stats stats(void)
{
	struct tdp_stats s;

	tdp_mmu_get_stats(&env.mmu, &s);
	return s;
}

/* ---- One fault ---------------------------------------------------------- */

static void test_4k_fault_maps_exactly_that_page(void **state)
{
	uint64_t rng = 1, hpa, gpa = GPA(0x105) + 0x123;
	unsigned level;

	env_init(&env, format(state), true);
	struct memslot *slot = env_add_slot(&env, 0x100, 64, BACK_SCATTERED, &rng);

	assert_int_equal(tdp_mmu_fault(&env.mmu, gpa, TDP_ACCESS_FETCH), TDP_FIXED);
	model_mark(&env, gpa);
	assert_true(tdp_mmu_lookup(&env.mmu, gpa, &hpa, &level));
	assert_int_equal(hpa, slot->hpa[5] + 0x123);
	assert_int_equal(level, 1);

	/* The raw entries, by the manuals: tables 0x7 at levels 4..2, the
	 * leaf 0x37 (EPT: RWX, WB) or 0x7 (NPT: P, RW, US; no NX). */
	for (unsigned l = 4; l >= 2; l--)
		assert_int_equal(raw_entry(&env, gpa, l) & 0xfff, 0x7);
	uint64_t leaf = format(state) == &tdp_format_ept ? 0x37 : 0x7;

	assert_int_equal(raw_entry(&env, gpa, 1), slot->hpa[5] | leaf);
	assert_int_equal(raw_entry(&env, gpa, 1) >> 52, 0);	/* no NX, no SVE */

	assert_false(tdp_mmu_lookup(&env.mmu, GPA(0x104), &hpa, &level));
	assert_false(tdp_mmu_lookup(&env.mmu, GPA(0x106), &hpa, &level));
	struct tdp_stats s = stats();

	assert_int_equal(s.faults, 1);
	assert_int_equal(s.fixed, 1);
	assert_int_equal(s.mapped_4k, 1);
	assert_int_equal(s.mapped_2m, 0);
	assert_int_equal(s.tables, 4);
	assert_int_equal(mmu_host_live_tables(), 4);
	ref_check(&env, NULL);
}

static void test_every_access_kind_maps_full_access(void **state)
{
	uint64_t rng = 1;
	const uint32_t kinds[] = { TDP_ACCESS_READ, TDP_ACCESS_WRITE,
				   TDP_ACCESS_FETCH,
				   TDP_ACCESS_READ | TDP_ACCESS_WRITE };

	env_init(&env, format(state), true);
	env_add_slot(&env, 0, 16, BACK_SCATTERED, &rng);
	for (unsigned i = 0; i < 4; i++) {
		assert_int_equal(tdp_mmu_fault(&env.mmu, GPA(i), kinds[i]),
				 TDP_FIXED);
		model_mark(&env, GPA(i));
		assert_int_equal(raw_entry(&env, GPA(i), 1) & 0xfff,
				 expect_leaf_flags(format(state), 1));
	}
	ref_check(&env, NULL);
}

static void test_2m_fault_maps_large_leaf(void **state)
{
	uint64_t rng = 1, hpa;
	unsigned level;

	env_init(&env, format(state), true);
	struct memslot *slot = env_add_slot(&env, 0x200, 4 * CHUNK_PAGES,
					    BACK_LARGE, &rng);
	uint64_t gpa = GPA(0x400 + 300) + 0x8;

	assert_int_equal(tdp_mmu_fault(&env.mmu, gpa, TDP_ACCESS_WRITE), TDP_FIXED);
	model_mark(&env, gpa);
	assert_int_equal(raw_entry(&env, gpa, 2),
			 slot->hpa[0x200] |
			 (format(state) == &tdp_format_ept ? 0xb7 : 0x87));
	assert_int_equal(slot->hpa[0x200] % (CHUNK_PAGES * PAGE), 0);
	for (uint64_t gfn = 0x400; gfn < 0x600; gfn++) {
		assert_true(tdp_mmu_lookup(&env.mmu, GPA(gfn) + 0xabc,
					   &hpa, &level));
		assert_int_equal(level, 2);
		assert_int_equal(hpa, slot->hpa[gfn - 0x200] + 0xabc);
	}
	assert_false(tdp_mmu_lookup(&env.mmu, GPA(0x3ff), &hpa, &level));
	assert_false(tdp_mmu_lookup(&env.mmu, GPA(0x600), &hpa, &level));

	struct tdp_stats s = stats();

	assert_int_equal(s.mapped_2m, 1);
	assert_int_equal(s.mapped_4k, 0);
	assert_int_equal(s.tables, 3);		/* root, level 3, level 2 */
	ref_check(&env, NULL);

	/* Any page of the chunk is now spurious. */
	assert_int_equal(tdp_mmu_fault(&env.mmu, GPA(0x400), 0), TDP_SPURIOUS);
	assert_int_equal(tdp_mmu_fault(&env.mmu, GPA(0x5ff), 0), TDP_SPURIOUS);
	assert_int_equal(stats().spurious, 2);
	ref_check(&env, NULL);
}

static void check_chunk_maps_4k(void **state, enum backing how)
{
	uint64_t rng = 7, hpa;
	unsigned level;

	env_init(&env, format(state), true);
	struct memslot *slot = env_add_slot(&env, 0x200, CHUNK_PAGES, how, &rng);

	assert_false(slot->large_ok[0]);
	for (uint64_t gfn = 0x200; gfn < 0x400; gfn += 37)
		fault_and_check(&env, GPA(gfn));
	assert_true(tdp_mmu_lookup(&env.mmu, GPA(0x200), &hpa, &level));
	assert_int_equal(level, 1);
	assert_int_equal(stats().mapped_2m, 0);
	assert_int_equal(stats().tables, 4);
	ref_check(&env, NULL);
}

static void test_misaligned_backing_maps_4k(void **state)
{
	check_chunk_maps_4k(state, BACK_MISALIGNED);
}

static void test_noncontiguous_backing_maps_4k(void **state)
{
	check_chunk_maps_4k(state, BACK_SCATTERED);
}

static void test_one_page_off_maps_4k(void **state)
{
	check_chunk_maps_4k(state, BACK_BROKEN);
}

/* Slot [0x1f0, 0x1f0 + 0x10 + 3 * 512 + 0x20): its first 16 and last 32
 * pages share chunks with no slot; the three chunks between are whole. */
static void test_slot_edges_4k_middle_2m(void **state)
{
	uint64_t rng = 1, base = 0x1f0, npages = 0x10 + 3 * CHUNK_PAGES + 0x20;
	uint64_t hpa;
	unsigned level;

	env_init(&env, format(state), true);
	struct memslot *slot = env_add_slot(&env, base, npages, BACK_LARGE, &rng);

	for (uint64_t gfn = base; gfn < base + npages; gfn++)
		fault_and_check(&env, GPA(gfn));
	for (uint64_t gfn = base; gfn < base + npages; gfn++) {
		bool edge = gfn < 0x200 || gfn >= 0x800;

		assert_true(tdp_mmu_lookup(&env.mmu, GPA(gfn), &hpa, &level));
		assert_int_equal(hpa, slot->hpa[gfn - base]);
		assert_int_equal(level, edge ? 1 : 2);
	}
	assert_false(tdp_mmu_lookup(&env.mmu, GPA(base - 1), &hpa, &level));
	assert_false(tdp_mmu_lookup(&env.mmu, GPA(base + npages), &hpa, &level));

	struct tdp_stats s = stats();

	assert_int_equal(s.mapped_2m, 3);
	assert_int_equal(s.mapped_4k, 0x10 + 0x20);
	assert_int_equal(s.fixed, 3 + 0x10 + 0x20);
	assert_int_equal(s.spurious, 3 * (CHUNK_PAGES - 1));
	assert_int_equal(s.faults, npages);
	ref_check(&env, NULL);
}

/* Two slots meeting inside a chunk: neither may map it large. */
static void test_slots_sharing_a_chunk_map_4k(void **state)
{
	uint64_t rng = 1, hpa;
	unsigned level;

	env_init(&env, format(state), true);
	env_add_slot(&env, 0x200, 0x100, BACK_LARGE, &rng);
	env_add_slot(&env, 0x300, 0x100, BACK_LARGE, &rng);
	fault_and_check(&env, GPA(0x2ff));
	fault_and_check(&env, GPA(0x300));
	assert_true(tdp_mmu_lookup(&env.mmu, GPA(0x300), &hpa, &level));
	assert_int_equal(level, 1);
	assert_int_equal(stats().mapped_4k, 2);
	ref_check(&env, NULL);
}

/* A level-1 table already under a chunk (mapped while it could not be
 * large) stays: later faults in the chunk add 4 KiB leaves to it. */
static void test_existing_4k_table_keeps_chunk_4k(void **state)
{
	uint64_t rng = 1, hpa;
	unsigned level;

	env_init(&env, format(state), false);
	struct memslot *slot = env_add_slot(&env, 0, CHUNK_PAGES, BACK_LARGE, &rng);

	slot->large_ok[0] = 0;
	assert_int_equal(tdp_mmu_fault(&env.mmu, GPA(1), 0), TDP_FIXED);
	slot->large_ok[0] = 1;
	assert_int_equal(tdp_mmu_fault(&env.mmu, GPA(2), 0), TDP_FIXED);
	assert_true(tdp_mmu_lookup(&env.mmu, GPA(2), &hpa, &level));
	assert_int_equal(level, 1);
	assert_int_equal(hpa, slot->hpa[2]);
	assert_int_equal(tdp_mmu_fault(&env.mmu, GPA(1), 0), TDP_SPURIOUS);
	assert_int_equal(stats().mapped_4k, 2);
	assert_int_equal(stats().mapped_2m, 0);
	assert_int_equal(stats().tables, 4);
}

/* ---- Outside memory ----------------------------------------------------- */

static void test_outside_slots_is_mmio_without_tables(void **state)
{
	uint64_t rng = 1, hpa;
	unsigned level;
	const uint64_t gpas[] = {
		0, GPA(0xff), GPA(0x140), GPA(0x13ff) + 0xfff,
		GPA(0x2000) - 1, 0xfee00000,
		1ull << 48,			/* the first gpa 4 levels miss */
		(1ull << 48) | GPA(0x100),	/* would alias slot 0 */
		~0ull,
	};

	env_init(&env, format(state), true);
	env_add_slot(&env, 0x100, 0x40, BACK_SCATTERED, &rng);
	env_add_slot(&env, 0x1400, 0x400, BACK_LARGE, &rng);
	for (unsigned i = 0; i < sizeof(gpas) / sizeof(gpas[0]); i++) {
		assert_int_equal(tdp_mmu_fault(&env.mmu, gpas[i], TDP_ACCESS_WRITE),
				 TDP_MMIO);
		assert_false(tdp_mmu_lookup(&env.mmu, gpas[i], &hpa, &level));
	}
	struct tdp_stats s = stats();

	assert_int_equal(s.mmio, sizeof(gpas) / sizeof(gpas[0]));
	assert_int_equal(s.faults, s.mmio);
	assert_int_equal(s.tables, 1);
	assert_int_equal(mmu_host_live_tables(), 1);
	ref_check(&env, NULL);
}

/* A slot reaching past 2^48 (a VM could be given one): what 4 levels can
 * map works, up to the very last page; beyond it is MMIO, not a wrap. */
static void test_top_of_address_space(void **state)
{
	uint64_t rng = 1, top = 1ull << 36;	/* first gfn past 48 bits */
	uint64_t hpa;
	unsigned level;

	env_init(&env, format(state), true);
	struct memslot *slot = env_add_slot(&env, top - 2 * CHUNK_PAGES,
					    3 * CHUNK_PAGES, BACK_LARGE, &rng);

	fault_and_check(&env, GPA(top - 1));
	assert_true(tdp_mmu_lookup(&env.mmu, GPA(top - 1), &hpa, &level));
	assert_int_equal(hpa, slot->hpa[2 * CHUNK_PAGES - 1]);
	assert_int_equal(level, 2);
	fault_and_check(&env, GPA(top - CHUNK_PAGES - 1));
	assert_int_equal(tdp_mmu_fault(&env.mmu, GPA(top), 0), TDP_MMIO);
	assert_int_equal(tdp_mmu_fault(&env.mmu, GPA(top + 5), 0), TDP_MMIO);
	assert_false(tdp_mmu_lookup(&env.mmu, GPA(top), &hpa, &level));
	assert_int_equal(stats().mapped_2m, 2);
	assert_int_equal(stats().mmio, 2);
	ref_check(&env, NULL);
}

static void test_repeat_fault_is_spurious(void **state)
{
	uint64_t rng = 1;

	env_init(&env, format(state), true);
	env_add_slot(&env, 0, 2 * CHUNK_PAGES, BACK_MIXED, &rng);
	env_add_slot(&env, 0x10000, 8, BACK_SCATTERED, &rng);
	for (int round = 0; round < 3; round++) {
		fault_and_check(&env, GPA(0x10003));
		fault_and_check(&env, GPA(0x17));
		fault_and_check(&env, GPA(0x217));
	}
	struct tdp_stats s = stats();

	assert_int_equal(s.faults, 9);
	assert_int_equal(s.fixed, 3);
	assert_int_equal(s.spurious, 6);
	ref_check(&env, NULL);
}

/* ---- Out of memory ------------------------------------------------------ */

static void test_init_out_of_memory(void **state)
{
	struct tdp_mmu mmu;
	struct memslots slots = { 0 };

	mmu_host_fail_after(0);
	assert_false(tdp_mmu_init(&mmu, format(state), &slots));
	assert_int_equal(mmu.stats.tables, 0);
	assert_int_equal(mmu_host_live_tables(), 0);
	tdp_mmu_destroy(&mmu);		/* harmless */
	mmu_host_fail_after(-1);
	env_init(&env, format(state), true);	/* for teardown */
}

/* The faults of the script: 4 KiB and 2 MiB, in tables shared and not. */
static void build_oom_slots(void)
{
	uint64_t rng = 3;

	env_add_slot(&env, 0, 4 * CHUNK_PAGES, BACK_MIXED, &rng);
	env_add_slot(&env, 0x40000, 2 * CHUNK_PAGES, BACK_LARGE, &rng);
	env_add_slot(&env, 0x80000 + 9, 3 * CHUNK_PAGES, BACK_SCATTERED, &rng);
	env_add_slot(&env, (1ull << 36) - CHUNK_PAGES, CHUNK_PAGES,
		     BACK_LARGE, &rng);
}

static const uint64_t oom_script[] = {
	0x5, 0x40010, 0x6, 0x80000 + 9, 0x40000 + 600, 0x205, 0x405, 0x605,
	0x80000 + 0x400, (1ull << 36) - 1, 0x40000 + 3, 0x80000 + 0x500,
	0x1, 0x3ff, 0x80000 + 0x600,
};
#define OOM_STEPS (sizeof(oom_script) / sizeof(oom_script[0]))

/*
 * Let the k-th table allocation of the script fail, for every k: the fault
 * that needed it returns TDP_NOMEM and maps nothing, the tables stay
 * consistent (what was added is linked and counted), and once memory is
 * back the same fault succeeds; the end state equals a run without
 * failure, and destroy frees everything.
 */
static void test_oom_at_every_allocation(void **state)
{
	struct ref_count clean, count;
	long needed;

	env_init(&env, format(state), true);
	build_oom_slots();
	needed = mmu_host_allocs();
	for (unsigned i = 0; i < OOM_STEPS; i++)
		fault_and_check(&env, GPA(oom_script[i]));
	ref_check(&env, &clean);
	needed = mmu_host_allocs() - needed;
	assert_true(needed >= 10);
	env_free(&env);

	for (long k = 0; k < needed; k++) {
		unsigned nomem = 0;

		env_init(&env, format(state), true);
		build_oom_slots();
		mmu_host_fail_after(k);
		for (unsigned i = 0; i < OOM_STEPS; i++) {
			uint64_t gpa = GPA(oom_script[i]) + 0x10;
			unsigned level;
			enum tdp_fault_result want, got;

			want = model_expect(&env, gpa, &level);
			got = tdp_mmu_fault(&env.mmu, gpa, 0);

			if (got == TDP_NOMEM) {
				uint64_t hpa;

				assert_int_equal(want, TDP_FIXED);
				assert_false(tdp_mmu_lookup(&env.mmu, gpa,
							    &hpa, &level));
				ref_check(&env, NULL);
				assert_int_equal(stats().nomem, 1);
				nomem++;
				mmu_host_fail_after(-1);
				got = tdp_mmu_fault(&env.mmu, gpa, 0);
			}
			assert_int_equal(got, want);
			model_mark(&env, gpa);
		}
		assert_int_equal(nomem, 1);
		ref_check(&env, &count);
		assert_memory_equal(&count, &clean, sizeof(count));
		env_free(&env);
	}
	env_init(&env, format(state), true);	/* for teardown */
}

/* Out of memory with nothing yet under the root, at each depth: the
 * tables added stay (empty), and are freed by destroy. */
static void test_oom_leaves_empty_tables(void **state)
{
	for (unsigned large = 0; large < 2; large++) {
		unsigned depth = large ? 2 : 3;	/* tables a fault adds */

		for (unsigned k = 0; k < depth; k++) {
			uint64_t rng = 1;

			env_init(&env, format(state), true);
			env_add_slot(&env, 0, CHUNK_PAGES,
				     large ? BACK_LARGE : BACK_SCATTERED, &rng);
			mmu_host_fail_after(k);
			assert_int_equal(tdp_mmu_fault(&env.mmu, GPA(9), 0),
					 TDP_NOMEM);
			assert_int_equal(stats().tables, 1 + k);
			assert_int_equal(mmu_host_live_tables(), 1 + (long)k);
			for (unsigned l = 4; l > 4 - k; l--)
				assert_int_equal(raw_entry(&env, GPA(9), l)
						 & 0xfff, 0x7);
			assert_int_equal(raw_entry(&env, GPA(9), 4 - k), 0);
			ref_check(&env, NULL);
			mmu_host_fail_after(-1);
			fault_and_check(&env, GPA(9));
			assert_int_equal(stats().tables, 1 + depth);
			ref_check(&env, NULL);
			env_free(&env);
		}
	}
	env_init(&env, format(state), true);	/* for teardown */
}

/* ---- Destroy ------------------------------------------------------------ */

static void test_destroy_after_many_faults_frees_all(void **state)
{
	uint64_t rng = 5, hpa;
	unsigned level;

	env_init(&env, format(state), true);
	env_add_slot(&env, 0, 16 * CHUNK_PAGES, BACK_MIXED, &rng);
	env_add_slot(&env, 0x100000, 4 * CHUNK_PAGES + 77, BACK_SCATTERED, &rng);
	env_add_slot(&env, 0x7000000, 8 * CHUNK_PAGES, BACK_LARGE, &rng);
	env_add_slot(&env, 0x300000000ull, 1024, BACK_SCATTERED, &rng);
	for (unsigned i = 0; i < env.slots.count; i++) {
		const struct memslot *s = &env.slots.slot[i];

		for (uint64_t p = 0; p < s->npages; p++)
			fault_and_check(&env, GPA(s->base_gfn + p));
	}
	struct ref_count count;

	ref_check(&env, &count);
	assert_true(count.tables > 20);
	assert_true(count.leaves_2m > 0 && count.leaves_4k > 0);
	tdp_mmu_destroy(&env.mmu);
	assert_int_equal(stats().tables, 0);
	assert_int_equal(stats().mapped_4k, 0);
	assert_int_equal(stats().mapped_2m, 0);
	assert_int_equal(mmu_host_live_tables(), 0);
	assert_false(tdp_mmu_lookup(&env.mmu, 0, &hpa, &level));
	tdp_mmu_destroy(&env.mmu);	/* twice is harmless */
	assert_int_equal(mmu_host_live_tables(), 0);
}

/* ---- Randomized --------------------------------------------------------- */

#define RANDOM_FAULTS	100000

/*
 * 100k faults over seven slots with random per-chunk backing (some
 * contiguous and aligned): at aligned and unaligned gfns, meeting inside
 * a chunk, above 4 GiB, at the top of the 48-bit space; one in ten misses
 * every slot (holes, above 2^48, anything). After each fault: the result
 * the model predicts and the lookup equal to the slot's hpa at the level
 * the backing allows; every 10k faults and at the end a full reference
 * walk, with exact stats; at the end every page of every slot looked up.
 */
static void test_random_faults_match_memslots(void **state)
{
	uint64_t rng = 0x5eed, mmio = 0, total_pages = 0, hpa;
	unsigned level;

	env_init(&env, format(state), true);
	env_add_slot(&env, 0, 16 * CHUNK_PAGES, BACK_MIXED, &rng);
	env_add_slot(&env, 16 * CHUNK_PAGES + 0x37, 8 * CHUNK_PAGES + 0x91,
		     BACK_MIXED, &rng);
	env_add_slot(&env, 24 * CHUNK_PAGES + 0x37 + 0x91, 4 * CHUNK_PAGES,
		     BACK_MIXED, &rng);
	env_add_slot(&env, 0x100000, 12 * CHUNK_PAGES, BACK_MIXED, &rng);
	env_add_slot(&env, 0x4000000 + 0x1ff, 5 * CHUNK_PAGES, BACK_MIXED, &rng);
	env_add_slot(&env, 0x200000000ull, 3 * CHUNK_PAGES, BACK_LARGE, &rng);
	env_add_slot(&env, (1ull << 36) - 6 * CHUNK_PAGES, 6 * CHUNK_PAGES,
		     BACK_MIXED, &rng);

	for (unsigned i = 0; i < env.slots.count; i++)
		total_pages += env.slots.slot[i].npages;
	for (unsigned n = 1; n <= RANDOM_FAULTS; n++) {
		uint64_t gpa;

		if (rng_below(&rng, 10) == 0) {
			switch (rng_below(&rng, 3)) {
			case 0: gpa = rng_next(&rng); break;
			case 1: gpa = rng_below(&rng, 1ull << 48); break;
			default: gpa = rng_below(&rng, 1ull << 33); break;
			}
			mmio += model_expect(&env, gpa, &level) == TDP_MMIO;
		} else {	/* any slot page, equally likely */
			uint64_t p = rng_below(&rng, total_pages);
			const struct memslot *s = env.slots.slot;

			while (p >= s->npages)
				p -= (s++)->npages;
			gpa = GPA(s->base_gfn + p) + rng_below(&rng, PAGE);
		}
		fault_and_check(&env, gpa);
		if (n % 10000 == 0)
			ref_check(&env, NULL);
	}

	struct ref_count count;
	struct tdp_stats s = stats();

	ref_check(&env, &count);
	assert_int_equal(s.faults, RANDOM_FAULTS);
	assert_int_equal(s.mmio, mmio);
	assert_true(count.leaves_2m > 10 && count.leaves_4k > 1000);
	assert_true(s.spurious > 1000);
	for (unsigned i = 0; i < env.slots.count; i++) {
		const struct memslot *sl = &env.slots.slot[i];

		for (uint64_t p = 0; p < sl->npages; p++) {
			bool mapped = tdp_mmu_lookup(&env.mmu,
						     GPA(sl->base_gfn + p),
						     &hpa, &level);

			assert_int_equal(mapped, env.mapped[i][p]);
			if (mapped)
				assert_int_equal(hpa, sl->hpa[p]);
		}
	}
	print_message("tdp %s: %u faults: %llu 4K + %llu 2M leaves, %llu "
		      "tables, %llu spurious, %llu mmio\n",
		      format(state)->name, RANDOM_FAULTS,
		      (unsigned long long)count.leaves_4k,
		      (unsigned long long)count.leaves_2m,
		      (unsigned long long)count.tables,
		      (unsigned long long)s.spurious,
		      (unsigned long long)s.mmio);
}

/* ---- The host platform's lock check ------------------------------------- */

static void *hold_lock(void *arg)
{
	mmu_lock_t *lock = arg;

	mmu_lock(lock);
	return NULL;
}

static void test_assert_locked_needs_the_caller_to_hold_it(void **state)
{
	mmu_lock_t lock;
	pthread_t t;

	(void)state;
	mmu_lock_init(&lock);
	expect_assert_failure(mmu_assert_locked(&lock));
	mmu_lock(&lock);
	mmu_assert_locked(&lock);
	mmu_unlock(&lock);
	expect_assert_failure(mmu_assert_locked(&lock));

	/* Held by another thread (which exits holding it). */
	assert_int_equal(pthread_create(&t, NULL, hold_lock, &lock), 0);
	pthread_join(t, NULL);
	expect_assert_failure(mmu_assert_locked(&lock));
	env_init(&env, &tdp_format_ept, false);	/* for teardown */
}

#define BOTH(f)								\
	cmocka_unit_test_prestate_setup_teardown(f, setup, teardown,	\
						 (void *)&tdp_format_ept), \
	cmocka_unit_test_prestate_setup_teardown(f, setup, teardown,	\
						 (void *)&tdp_format_npt)

int main(void)
{
	const struct CMUnitTest tests[] = {
		BOTH(test_4k_fault_maps_exactly_that_page),
		BOTH(test_every_access_kind_maps_full_access),
		BOTH(test_2m_fault_maps_large_leaf),
		BOTH(test_misaligned_backing_maps_4k),
		BOTH(test_noncontiguous_backing_maps_4k),
		BOTH(test_one_page_off_maps_4k),
		BOTH(test_slot_edges_4k_middle_2m),
		BOTH(test_slots_sharing_a_chunk_map_4k),
		BOTH(test_existing_4k_table_keeps_chunk_4k),
		BOTH(test_outside_slots_is_mmio_without_tables),
		BOTH(test_top_of_address_space),
		BOTH(test_repeat_fault_is_spurious),
		BOTH(test_init_out_of_memory),
		BOTH(test_oom_at_every_allocation),
		BOTH(test_oom_leaves_empty_tables),
		BOTH(test_destroy_after_many_faults_frees_all),
		BOTH(test_random_faults_match_memslots),
		cmocka_unit_test_setup_teardown(
			test_assert_locked_needs_the_caller_to_hold_it,
			setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
