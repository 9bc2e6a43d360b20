/*
 * The frame allocator (kernel/frame_alloc.c) over simulated physical memory:
 * a malloc'd buffer backs physical [0, size) and phys_to_virt points into
 * it, so the bitmap really lives "in usable memory" and a stray write shows
 * up as changed bytes or an ASan report.
 *
 * An oracle written from frame_alloc.h alone says which frames may ever be
 * handed out: whole 4 KiB frames inside a usable range, at or above 1 MiB,
 * touching no reserved range and not the bitmap. The worked cases check the
 * allocator against it; a randomized test runs 100k operations against a
 * shadow array of per-frame states.
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

#include "kernel/compiler.h"
#include "kernel/frame_alloc.h"
#include "kernel/memmap.h"
#include "tests/host/capture.h"

#define R(b, e, t) ((struct mem_range){ .base = (b), .end = (e), .type = (t) })
#define PATTERN 0xcc

/* ---- Simulated physical memory ------------------------------------------ */

static struct {
	uint8_t *bytes;
	uint64_t size;
} sim;

static void *sim_phys_to_virt(uint64_t phys, void *ctx)
{
	assert_ptr_equal(ctx, &sim);
	assert_true(phys < sim.size);
	return sim.bytes + phys;
}

/* Back [0, size) with a buffer of exactly that size, so ASan catches an
 * access past it, filled with a pattern so a write anywhere is seen. */
static void sim_create(uint64_t size)
{
	free(sim.bytes);
	sim.bytes = malloc(size);
	assert_non_null(sim.bytes);
	sim.size = size;
	memset(sim.bytes, PATTERN, size);
}

static int setup(void **state)
{
	(void)state;
	sim.bytes = NULL;
	capture_reset();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	free(sim.bytes);
	sim.bytes = NULL;
	return 0;
}

/* ---- Scenarios and the oracle -------------------------------------------- */

struct scenario {
	const struct mem_range *map;
	unsigned map_count;
	const struct mem_range *reserved;
	unsigned reserved_count;
	uint64_t bitmap_limit;
};

#define SCENARIO(m, r, limit) ((struct scenario){ (m), ARRAY_SIZE(m), \
					(r), ARRAY_SIZE(r), (limit) })

static bool overlaps(uint64_t a0, uint64_t a1, uint64_t b0, uint64_t b1)
{
	return a0 < b1 && b0 < a1;
}

static uint64_t bitmap_end(const struct frame_allocator *fa)
{
	return fa->bitmap_phys + ALIGN_UP(2 * fa->bitmap_bytes, FRAME_SIZE);
}

/* The frame at 'phys' lies wholly inside one usable range (the scenarios
 * never split a frame between two). */
static bool frame_in_usable(const struct scenario *sc, uint64_t phys)
{
	for (unsigned i = 0; i < sc->map_count; i++)
		if (sc->map[i].type == MEM_USABLE && sc->map[i].base <= phys &&
		    phys + FRAME_SIZE <= sc->map[i].end)
			return true;
	return false;
}

static bool frame_in_reserved(const struct scenario *sc, uint64_t phys)
{
	for (unsigned i = 0; i < sc->reserved_count; i++)
		if (overlaps(phys, phys + FRAME_SIZE, sc->reserved[i].base,
			     sc->reserved[i].end))
			return true;
	return false;
}

/* What frame_alloc.h promises: the frames that may ever be handed out. */
static bool oracle_managed(const struct scenario *sc,
			   const struct frame_allocator *fa, uint64_t phys)
{
	return phys >= LOW_MEMORY_END && frame_in_usable(sc, phys) &&
	       !frame_in_reserved(sc, phys) &&
	       !overlaps(phys, phys + FRAME_SIZE, fa->bitmap_phys,
			 bitmap_end(fa));
}

/* Every rule a frame handed out must satisfy, checked one by one so a
 * failure says which. */
static void assert_frame_allowed(const struct scenario *sc,
				 const struct frame_allocator *fa, uint64_t phys)
{
	if (phys == FRAME_NONE || phys < LOW_MEMORY_END ||
	    !IS_ALIGNED(phys, FRAME_SIZE) || !frame_in_usable(sc, phys) ||
	    frame_in_reserved(sc, phys) ||
	    overlaps(phys, phys + FRAME_SIZE, fa->bitmap_phys,
		     bitmap_end(fa))) {
		print_error("frame 0x%llx handed out: low %d, unaligned %d, "
			    "not usable %d, reserved %d, bitmap %d\n",
			    (unsigned long long)phys, phys < LOW_MEMORY_END,
			    !IS_ALIGNED(phys, FRAME_SIZE),
			    !frame_in_usable(sc, phys),
			    frame_in_reserved(sc, phys),
			    overlaps(phys, phys + FRAME_SIZE, fa->bitmap_phys,
				     bitmap_end(fa)));
		fail();
	}
}

static uint64_t highest_usable(const struct scenario *sc)
{
	uint64_t end = 0;

	for (unsigned i = 0; i < sc->map_count; i++)
		if (sc->map[i].type == MEM_USABLE)
			end = MAX(end, sc->map[i].end);
	return end;
}

static uint64_t oracle_count(const struct scenario *sc,
			     const struct frame_allocator *fa)
{
	uint64_t count = 0;

	for (uint64_t phys = 0; phys < highest_usable(sc); phys += FRAME_SIZE)
		count += oracle_managed(sc, fa, phys);
	return count;
}

/* The bitmap: in usable, unreserved memory at or above 1 MiB, ending at
 * or below the limit, big enough for one bit per frame, twice. */
static void assert_bitmap_placed(const struct scenario *sc,
				 const struct frame_allocator *fa)
{
	assert_true(fa->bitmap_phys >= LOW_MEMORY_END);
	assert_true(IS_ALIGNED(fa->bitmap_phys, FRAME_SIZE));
	assert_true(bitmap_end(fa) <= sc->bitmap_limit);
	assert_true(fa->bitmap_bytes * 8 >= fa->frame_count);
	for (uint64_t p = fa->bitmap_phys; p < bitmap_end(fa); p += FRAME_SIZE) {
		assert_true(frame_in_usable(sc, p));
		assert_false(frame_in_reserved(sc, p));
	}
	assert_ptr_equal(fa->bitmap, sim.bytes + fa->bitmap_phys);
}

/* Init wrote its bitmap and nothing else. */
static void assert_only_bitmap_written(const struct frame_allocator *fa)
{
	uint64_t start = fa->bitmap_phys;
	uint64_t end = fa->bitmap_phys + 2 * fa->bitmap_bytes;

	for (uint64_t p = 0; p < sim.size; p++) {
		if (p == start) {
			p = end - 1;
			continue;
		}
		if (sim.bytes[p] != PATTERN) {
			print_error("byte at 0x%llx written, outside the bitmap "
				    "[0x%llx, 0x%llx)\n", (unsigned long long)p,
				    (unsigned long long)start,
				    (unsigned long long)end);
			fail();
		}
	}
}

static void init_ok(struct frame_allocator *fa, const struct scenario *sc)
{
	capture_reset();
	assert_true(frame_alloc_init(fa, sc->map, sc->map_count, sc->reserved,
				     sc->reserved_count, sc->bitmap_limit,
				     sim_phys_to_virt, &sim));
	assert_bitmap_placed(sc, fa);
}

static void init_fails(const struct scenario *sc, const char *message)
{
	struct frame_allocator fa;

	capture_reset();
	assert_false(frame_alloc_init(&fa, sc->map, sc->map_count,
				      sc->reserved, sc->reserved_count,
				      sc->bitmap_limit, sim_phys_to_virt,
				      &sim));
	if (!capture_contains(message)) {
		print_error("no \"%s\" in log \"%s\"\n", message,
			    capture_log());
		fail();
	}
}

static void assert_logged(const char *message)
{
	if (!capture_contains(message)) {
		print_error("no \"%s\" in log \"%s\"\n", message,
			    capture_log());
		fail();
	}
}

/* ---- A realistic machine ----------------------------------------------------- */

/*
 * 64 MiB: BIOS low memory and its reserved top, the kernel at 1 MiB, a
 * device hole that is in no map entry at all, and ACPI tables near the top.
 * Reserved: the image, two modules (one with an unaligned end), and ACPI
 * tables the caller copied into usable memory (unaligned both ends).
 */
#define REAL_SIZE	MiB(64)
#define REAL_LIMIT	MiB(32)

static const struct mem_range real_map[] = {
	R(0, 0x9f000, MEM_USABLE),
	R(0x9f000, 0x100000, MEM_RESERVED),
	R(0x100000, 0xc00000, MEM_USABLE),
	/* [12 MiB, 14 MiB): a hole, not listed */
	R(0xe00000, 0x3f00000, MEM_USABLE),
	R(0x3f00000, 0x3f10000, MEM_ACPI_RECLAIM),
	R(0x3f10000, 0x3f20000, MEM_ACPI_NVS),
	R(0x3f20000, 0x3ff0000, MEM_USABLE),
	R(0x3ff0000, 0x4000000, MEM_RESERVED),
};

static const struct mem_range real_reserved[] = {
	R(0x100000, 0x180000, MEM_RESERVED),	/* image */
	R(0x200000, 0x234567, MEM_RESERVED),	/* module, unaligned end */
	R(0x900000, 0xa00000, MEM_RESERVED),	/* module */
	R(0x1000123, 0x1001f00, MEM_RESERVED),	/* ACPI tables */
};

static struct scenario real_scenario(void)
{
	return SCENARIO(real_map, real_reserved, REAL_LIMIT);
}

/* One byte per frame of the realistic machine, for the tests to mark what
 * they saw (static, so a failed assertion leaks nothing). */
static uint8_t frame_flags[REAL_SIZE >> FRAME_SHIFT];

static void test_init_realistic(void **state)
{
	struct scenario sc = real_scenario();
	struct frame_allocator fa;

	(void)state;
	sim_create(REAL_SIZE);
	init_ok(&fa, &sc);
	/* Lowest free space at or above 1 MiB: right after the image. */
	assert_int_equal(fa.bitmap_phys, 0x180000);
	assert_int_equal(fa.base_pfn, 0x100);
	assert_int_equal(fa.frame_count, (0x3ff0000 - 0x100000) >> FRAME_SHIFT);
	assert_int_equal(fa.managed_frames, oracle_count(&sc, &fa));
	assert_int_equal(fa.free_frames, fa.managed_frames);
	assert_only_bitmap_written(&fa);

	for (uint64_t p = 0; p < REAL_SIZE + MiB(1); p += FRAME_SIZE)
		assert_int_equal(frame_is_free(&fa, p),
				 oracle_managed(&sc, &fa, p));
	assert_false(frame_is_free(&fa, UINT64_MAX & ~(FRAME_SIZE - 1)));
	assert_string_equal(capture_log(), "");
}

/* Take every frame; each must be allowed, none twice, and as many as
 * managed_frames promised. */
static uint64_t alloc_all(const struct scenario *sc,
			  struct frame_allocator *fa, uint8_t *seen)
{
	uint64_t count = 0, phys;

	while ((phys = frame_alloc(fa)) != FRAME_NONE) {
		assert_frame_allowed(sc, fa, phys);
		assert_false(frame_is_free(fa, phys));
		if (seen) {
			assert_true(phys < sim.size);
			assert_int_equal(seen[phys >> FRAME_SHIFT], 0);
			seen[phys >> FRAME_SHIFT] = 1;
		}
		count++;
		assert_true(count <= fa->managed_frames);
	}
	assert_int_equal(fa->free_frames, 0);
	return count;
}

static void test_alloc_everything(void **state)
{
	struct scenario sc = real_scenario();
	struct frame_allocator fa;
	uint8_t *seen = frame_flags;

	(void)state;
	memset(seen, 0, sizeof(frame_flags));
	sim_create(REAL_SIZE);
	init_ok(&fa, &sc);
	assert_int_equal(alloc_all(&sc, &fa, seen), fa.managed_frames);
	assert_int_equal(fa.managed_frames, oracle_count(&sc, &fa));
	/* Exactly the frames the oracle allows, each once. */
	for (uint64_t pfn = 0; pfn < (REAL_SIZE >> FRAME_SHIFT); pfn++)
		assert_int_equal(seen[pfn],
				 oracle_managed(&sc, &fa, pfn << FRAME_SHIFT));

	assert_int_equal(frame_alloc(&fa), FRAME_NONE);
	assert_int_equal(frame_alloc_contig(&fa, 1, 1), FRAME_NONE);
	assert_int_equal(fa.free_frames, 0);
	assert_only_bitmap_written(&fa);
}

static void test_free_and_realloc(void **state)
{
	struct scenario sc = real_scenario();
	struct frame_allocator fa;
	uint64_t picked[] = { 0x181000, 0x500000, 0xe00000, 0x3fef000 };

	(void)state;
	sim_create(REAL_SIZE);
	init_ok(&fa, &sc);
	alloc_all(&sc, &fa, NULL);

	/* One free frame: the next allocation is that frame. */
	assert_true(frame_free(&fa, 0x500000));
	assert_int_equal(fa.free_frames, 1);
	assert_true(frame_is_free(&fa, 0x500000));
	assert_int_equal(frame_alloc(&fa), 0x500000);
	assert_int_equal(frame_alloc(&fa), FRAME_NONE);

	/* Several: they come back, each once, in some order. */
	for (unsigned i = 0; i < ARRAY_SIZE(picked); i++)
		assert_true(frame_free(&fa, picked[i]));
	assert_int_equal(fa.free_frames, ARRAY_SIZE(picked));
	for (unsigned n = 0; n < ARRAY_SIZE(picked); n++) {
		uint64_t phys = frame_alloc(&fa);
		bool found = false;

		for (unsigned i = 0; i < ARRAY_SIZE(picked); i++)
			if (picked[i] == phys)
				picked[i] = FRAME_NONE, found = true;
		assert_true(found);
	}
	assert_int_equal(frame_alloc(&fa), FRAME_NONE);

	/* All of it, as one contiguous free per usable stretch is not
	 * possible across holes: free frame by frame. */
	for (uint64_t p = 0; p < REAL_SIZE; p += FRAME_SIZE)
		if (oracle_managed(&sc, &fa, p))
			assert_true(frame_free(&fa, p));
	assert_int_equal(fa.free_frames, fa.managed_frames);
	assert_string_equal(capture_log(), "");
	assert_int_equal(alloc_all(&sc, &fa, NULL), fa.managed_frames);
}

/* ---- Refused frees ------------------------------------------------------------- */

static void test_double_free_refused(void **state)
{
	struct scenario sc = real_scenario();
	struct frame_allocator fa;
	uint64_t phys, run, free_before;

	(void)state;
	sim_create(REAL_SIZE);
	init_ok(&fa, &sc);
	phys = frame_alloc(&fa);
	assert_true(frame_free(&fa, phys));
	free_before = fa.free_frames;

	capture_reset();
	assert_false(frame_free(&fa, phys));
	assert_logged("double free of frame");
	assert_int_equal(fa.free_frames, free_before);
	assert_true(frame_is_free(&fa, phys));

	/* A frame never allocated is free too: freeing it is a double free. */
	capture_reset();
	assert_false(frame_free(&fa, 0x3000000));
	assert_logged("double free of frame 0x3000000");
	assert_int_equal(fa.free_frames, free_before);

	/* One free frame inside a run: the whole free is refused and the
	 * rest of the run stays allocated. */
	run = frame_alloc_contig(&fa, 4, 1);
	assert_int_not_equal(run, FRAME_NONE);
	assert_true(frame_free(&fa, run + 2 * FRAME_SIZE));
	free_before = fa.free_frames;
	capture_reset();
	assert_false(frame_free_contig(&fa, run, 4));
	assert_logged("double free of frame");
	assert_int_equal(fa.free_frames, free_before);
	assert_false(frame_is_free(&fa, run));
	assert_false(frame_is_free(&fa, run + FRAME_SIZE));
	assert_false(frame_is_free(&fa, run + 3 * FRAME_SIZE));
	assert_true(frame_free_contig(&fa, run, 2));
	assert_true(frame_free(&fa, run + 3 * FRAME_SIZE));
	assert_int_equal(fa.free_frames, fa.managed_frames);
}

/* A frame it never managed, or an address outside its range, is refused
 * with a message and changes nothing. */
static void check_free_refused(struct frame_allocator *fa, uint64_t phys,
			       uint64_t count, const char *message)
{
	uint64_t free_before = fa->free_frames;

	capture_reset();
	assert_false(frame_free_contig(fa, phys, count));
	if (!capture_contains(message)) {
		print_error("free of 0x%llx (+%llu): no \"%s\" in log \"%s\"\n",
			    (unsigned long long)phys,
			    (unsigned long long)count, message, capture_log());
		fail();
	}
	assert_int_equal(fa->free_frames, free_before);
}

static void test_free_unmanaged_refused(void **state)
{
	struct scenario sc = real_scenario();
	struct frame_allocator fa;
	const char *reserved = "never handed out (reserved memory)";
	const char *outside = "outside the managed memory";

	(void)state;
	sim_create(REAL_SIZE);
	init_ok(&fa, &sc);
	alloc_all(&sc, &fa, NULL);

	check_free_refused(&fa, 0x100000, 1, reserved);	/* image */
	check_free_refused(&fa, 0x17f000, 1, reserved);
	check_free_refused(&fa, 0x234000, 1, reserved);	/* module tail */
	check_free_refused(&fa, 0x1000000, 1, reserved);	/* ACPI copy */
	check_free_refused(&fa, 0x1001000, 1, reserved);
	check_free_refused(&fa, 0xc00000, 1, reserved);	/* the hole */
	check_free_refused(&fa, 0x3f00000, 1, reserved);	/* ACPI reclaim */
	check_free_refused(&fa, 0x3f1f000, 1, reserved);	/* ACPI NVS */
	check_free_refused(&fa, fa.bitmap_phys, 1, reserved);
	assert_logged("frame 0x180000");
	/* A run that starts in managed memory and ends in the hole. */
	check_free_refused(&fa, 0xbff000, 2, reserved);
	assert_logged("frame 0xc00000");
	assert_false(frame_is_free(&fa, 0xbff000));

	check_free_refused(&fa, 0, 1, outside);
	check_free_refused(&fa, 0x1000, 1, outside);		/* low memory */
	check_free_refused(&fa, 0xff000, 1, outside);
	check_free_refused(&fa, 0x3ff0000, 1, outside);	/* past the end */
	check_free_refused(&fa, 0x3fef000, 2, outside);	/* runs past it */
	check_free_refused(&fa, MiB(1) << 30, 1, outside);
	check_free_refused(&fa, 0x500800, 1, outside);	/* unaligned */
	check_free_refused(&fa, 0x500000, UINT64_MAX, outside);
	check_free_refused(&fa, UINT64_MAX & ~(FRAME_SIZE - 1), 2, outside);
	assert_int_equal(fa.free_frames, 0);
}

/* ---- Contiguous runs ------------------------------------------------------------ */

/* 'count' frames from 'phys' were all free in 'was_free' (indexed by pfn),
 * are allowed, and are now taken. */
static void check_run(const struct scenario *sc, struct frame_allocator *fa,
		      uint8_t *was_free, uint64_t phys, uint64_t count,
		      uint64_t align)
{
	assert_int_not_equal(phys, FRAME_NONE);
	assert_true(IS_ALIGNED(phys >> FRAME_SHIFT, align));
	for (uint64_t i = 0; i < count; i++) {
		uint64_t p = phys + i * FRAME_SIZE;

		assert_frame_allowed(sc, fa, p);
		assert_false(frame_is_free(fa, p));
		assert_int_equal(was_free[p >> FRAME_SHIFT], 1);
		was_free[p >> FRAME_SHIFT] = 0;
	}
}

/* Aligned blocks of 'align' frames that the oracle manages in full: how
 * many 'align'-sized runs there must be. */
static uint64_t oracle_aligned_blocks(const struct scenario *sc,
				      const struct frame_allocator *fa,
				      uint64_t align)
{
	uint64_t blocks = 0, block = align * FRAME_SIZE;

	for (uint64_t base = 0; base + block <= sim.size; base += block) {
		bool whole = true;

		for (uint64_t p = base; p < base + block && whole; p += FRAME_SIZE)
			whole = oracle_managed(sc, fa, p);
		blocks += whole;
	}
	return blocks;
}

static void test_contig_2mib_pages(void **state)
{
	struct scenario sc = real_scenario();
	struct frame_allocator fa;
	uint8_t *was_free = frame_flags;
	uint64_t runs = 0, phys, expected;

	(void)state;
	sim_create(REAL_SIZE);
	init_ok(&fa, &sc);
	for (uint64_t pfn = 0; pfn < (REAL_SIZE >> FRAME_SHIFT); pfn++)
		was_free[pfn] = frame_is_free(&fa, pfn << FRAME_SHIFT);
	expected = oracle_aligned_blocks(&sc, &fa, 512);
	assert_true(expected > 10);

	/* base_pfn is 1 MiB, not 2 MiB aligned: the pages must still be
	 * aligned in physical addresses. */
	while ((phys = frame_alloc_contig(&fa, 512, 512)) != FRAME_NONE) {
		check_run(&sc, &fa, was_free, phys, 512, 512);
		assert_true(IS_ALIGNED(phys, MiB(2)));
		runs++;
	}
	assert_int_equal(runs, expected);
	assert_int_equal(fa.free_frames, fa.managed_frames - runs * 512);
}

static void test_contig_counts_and_alignments(void **state)
{
	static const struct { uint64_t count, align; } cases[] = {
		{ 1, 1 }, { 3, 1 }, { 5, 4 }, { 1, 8 }, { 16, 16 },
		{ 17, 16 }, { 100, 1 }, { 7, 2 }, { 512, 1 }, { 2, 1024 },
		{ 1024, 512 },
	};
	struct scenario sc = real_scenario();
	struct frame_allocator fa;
	uint8_t *was_free = frame_flags;

	(void)state;
	sim_create(REAL_SIZE);
	init_ok(&fa, &sc);
	for (uint64_t pfn = 0; pfn < (REAL_SIZE >> FRAME_SHIFT); pfn++)
		was_free[pfn] = frame_is_free(&fa, pfn << FRAME_SHIFT);
	for (unsigned round = 0; round < 3; round++) {
		for (unsigned i = 0; i < ARRAY_SIZE(cases); i++) {
			uint64_t before = fa.free_frames;
			uint64_t phys = frame_alloc_contig(&fa, cases[i].count,
							   cases[i].align);

			check_run(&sc, &fa, was_free, phys, cases[i].count,
				  cases[i].align);
			assert_int_equal(fa.free_frames,
					 before - cases[i].count);
		}
	}
}

static void test_contig_bad_arguments(void **state)
{
	struct scenario sc = real_scenario();
	struct frame_allocator fa;
	uint64_t free_before;

	(void)state;
	sim_create(REAL_SIZE);
	init_ok(&fa, &sc);
	free_before = fa.free_frames;
	assert_int_equal(frame_alloc_contig(&fa, 0, 1), FRAME_NONE);
	assert_int_equal(frame_alloc_contig(&fa, 1, 0), FRAME_NONE);
	assert_int_equal(frame_alloc_contig(&fa, 1, 3), FRAME_NONE);
	assert_int_equal(frame_alloc_contig(&fa, 4, 6), FRAME_NONE);
	assert_int_equal(frame_alloc_contig(&fa, fa.free_frames + 1, 1),
			 FRAME_NONE);
	assert_int_equal(frame_alloc_contig(&fa, UINT64_MAX, 1), FRAME_NONE);
	assert_int_equal(frame_alloc_contig(&fa, 1, 1ull << 63), FRAME_NONE);
	/* The longest free stretch, [0x1002000, 0x3f00000), is under
	 * 48 MiB. */
	assert_int_equal(frame_alloc_contig(&fa, MiB(48) >> FRAME_SHIFT, 1),
			 FRAME_NONE);
	assert_int_equal(fa.free_frames, free_before);
}

/* Plenty free in total, but no run long enough (or none aligned): fails,
 * and takes nothing. */
static void test_contig_fragmented(void **state)
{
	struct scenario sc = real_scenario();
	struct frame_allocator fa;
	uint64_t freed = 0, phys;

	(void)state;
	sim_create(REAL_SIZE);
	init_ok(&fa, &sc);
	alloc_all(&sc, &fa, NULL);

	/* Every other frame. */
	for (uint64_t p = 0; p < REAL_SIZE; p += 2 * FRAME_SIZE)
		if (oracle_managed(&sc, &fa, p))
			assert_true(frame_free(&fa, p)), freed++;
	assert_int_equal(fa.free_frames, freed);
	assert_int_equal(frame_alloc_contig(&fa, 2, 1), FRAME_NONE);
	assert_int_equal(frame_alloc_contig(&fa, 512, 512), FRAME_NONE);
	assert_int_equal(fa.free_frames, freed);
	for (uint64_t p = 0; p < REAL_SIZE; p += 2 * FRAME_SIZE)
		assert_int_equal(frame_is_free(&fa, p),
				 oracle_managed(&sc, &fa, p));
	phys = frame_alloc_contig(&fa, 1, 2);
	assert_int_not_equal(phys, FRAME_NONE);
	assert_true(frame_free(&fa, phys));

	/* Back to full, then free 2 MiB runs that straddle 2 MiB lines. */
	alloc_all(&sc, &fa, NULL);
	assert_true(frame_free_contig(&fa, 0x1100000, 512));
	assert_true(frame_free_contig(&fa, 0x2100000, 512));
	assert_int_equal(frame_alloc_contig(&fa, 512, 512), FRAME_NONE);
	assert_int_equal(frame_alloc_contig(&fa, 513, 1), FRAME_NONE);
	assert_int_equal(frame_alloc_contig(&fa, 256, 256), 0x1100000);
	assert_int_equal(frame_alloc_contig(&fa, 512, 1), 0x2100000);
	assert_int_equal(fa.free_frames, 256);
	assert_string_equal(capture_log(), "");
}

/* ---- Init failures and bitmap placement ----------------------------------------- */

static void test_init_no_usable_memory(void **state)
{
	static const struct mem_range none[] = { R(0, 0, MEM_USABLE) };
	static const struct mem_range reserved_only[] = {
		R(0, 0x9f000, MEM_RESERVED),
		R(0x100000, 0x4000000, MEM_ACPI_NVS),
		R(0x4000000, 0x8000000, MEM_BAD),
	};
	static const struct mem_range low_only[] = {
		R(0, 0x9f000, MEM_USABLE),
		R(0xf0000, 0x100000, MEM_USABLE),
		R(0x100000, 0x800000, MEM_RESERVED),
	};
	static const struct mem_range sub_frame[] = {
		R(0x100800, 0x101400, MEM_USABLE),	/* no whole frame */
		R(0x200000, 0x200fff, MEM_USABLE),
	};
	static const struct mem_range no_res[] = { R(0, 0, 0) };
	const char *msg = "has no usable memory above 1 MiB";
	struct scenario sc;

	(void)state;
	sim_create(MiB(4));
	sc = SCENARIO(none, no_res, MiB(4));
	sc.map_count = 0;
	sc.reserved_count = 0;
	init_fails(&sc, msg);
	sc = SCENARIO(none, no_res, MiB(4));
	sc.reserved_count = 0;
	init_fails(&sc, msg);
	sc = SCENARIO(reserved_only, no_res, MiB(4));
	init_fails(&sc, msg);
	sc = SCENARIO(low_only, no_res, MiB(4));
	init_fails(&sc, msg);
	sc = SCENARIO(sub_frame, no_res, MiB(4));
	init_fails(&sc, msg);
	/* Nothing was written on the way out. */
	for (uint64_t p = 0; p < sim.size; p++)
		assert_int_equal(sim.bytes[p], PATTERN);
}

static void test_init_no_room_for_bitmap(void **state)
{
	static const struct mem_range map[] = {
		R(0, 0x9f000, MEM_USABLE),
		R(0x100000, 0x400000, MEM_USABLE),
	};
	static const struct mem_range all_reserved[] = {
		R(0x100000, 0x380000, MEM_RESERVED),
		R(0x380000, 0x400000, MEM_RESERVED),
	};
	static const struct mem_range low_free[] = {
		R(0x100000, 0x101000, MEM_RESERVED),
	};
	/* 1 MiB..2 MiB and 1 GiB at 4 GiB: the bitmap needs 320 KiB, and
	 * only 4 KiB below the limit is free. */
	static const struct mem_range sparse[] = {
		R(0x100000, 0x200000, MEM_USABLE),
		R(0x100000000ull, 0x140000000ull, MEM_USABLE),
	};
	static const struct mem_range sparse_res[] = {
		R(0x100000, 0x1ff000, MEM_RESERVED),
	};
	const char *msg = "no room for its";
	struct scenario sc;

	(void)state;
	sim_create(MiB(4));
	sc = SCENARIO(map, all_reserved, MiB(4));
	init_fails(&sc, msg);
	/* Room above the limit only. */
	sc = SCENARIO(map, low_free, 0x101000);
	init_fails(&sc, msg);
	assert_logged("below 0x101000");
	sc = SCENARIO(map, low_free, MiB(1));
	init_fails(&sc, msg);
	sc = SCENARIO(map, low_free, 0);
	init_fails(&sc, msg);
	sc = SCENARIO(sparse, sparse_res, MiB(4));
	init_fails(&sc, msg);
	for (uint64_t p = 0; p < sim.size; p++)
		assert_int_equal(sim.bytes[p], PATTERN);
}

/* The bitmap skips reserved ranges, even one in the middle of where it
 * would go, and moves on to a later usable range when the first is full;
 * memory above the buffer (and above 4 GiB) is managed without being
 * touched. */
static void test_bitmap_placement(void **state)
{
	static const struct mem_range map[] = {
		R(0, 0x9f000, MEM_USABLE),
		R(0x100000, 0x104000, MEM_USABLE),	/* too small */
		R(0x200000, 0x400000, MEM_USABLE),
		R(0x100000000ull, 0x200000000ull, MEM_USABLE),	/* 4 GiB */
	};
	static const struct mem_range reserved[] = {
		R(0x200000, 0x201000, MEM_RESERVED),
		R(0x240000, 0x240001, MEM_RESERVED),	/* one byte */
		R(0x2a0000, 0x2b0000, MEM_RESERVED),
	};
	struct scenario sc = SCENARIO(map, reserved, MiB(4));
	struct frame_allocator fa;
	uint64_t high = 0;

	(void)state;
	sim_create(MiB(4));
	init_ok(&fa, &sc);
	/* One bit per frame of [1 MiB, 8 GiB), twice: 512 KiB less 64 bytes.
	 * [0x201000, 0x240000) is too small, and from 0x241000 it would run
	 * into 0x2a0000; so it goes after that. */
	assert_int_equal(fa.frame_count, (MiB(8192) - MiB(1)) >> FRAME_SHIFT);
	assert_int_equal(2 * fa.bitmap_bytes, KiB(512) - 64);
	assert_int_equal(fa.bitmap_phys, 0x2b0000);
	assert_only_bitmap_written(&fa);

	/* The frames above the buffer are handed out (never touched). */
	for (uint64_t phys; (phys = frame_alloc(&fa)) != FRAME_NONE;) {
		assert_frame_allowed(&sc, &fa, phys);
		high += phys >= 0x100000000ull;
	}
	assert_int_equal(high, 0x100000000ull >> FRAME_SHIFT);
	assert_only_bitmap_written(&fa);
}

/* A usable range that starts or ends inside a frame gives only its whole
 * frames, even when the map was not normalised. */
static void test_unaligned_usable_ranges(void **state)
{
	static const struct mem_range map[] = {
		R(0x100000, 0x200000, MEM_USABLE),
		R(0x200000, 0x200800, MEM_RESERVED),
		R(0x200800, 0x300000, MEM_USABLE),
		R(0x3ff000, 0x3ff800, MEM_USABLE),
		R(0x380000, 0x3c0400, MEM_USABLE),
	};
	static const struct mem_range reserved[] = {
		R(0x100000, 0x101000, MEM_RESERVED),
	};
	struct scenario sc = SCENARIO(map, reserved, MiB(4));
	struct frame_allocator fa;

	(void)state;
	sim_create(MiB(4));
	init_ok(&fa, &sc);
	assert_false(frame_is_free(&fa, 0x200000));
	assert_false(frame_is_free(&fa, 0x3c0000));
	assert_false(frame_is_free(&fa, 0x3ff000));
	assert_int_equal(fa.managed_frames, oracle_count(&sc, &fa));
	assert_int_equal(alloc_all(&sc, &fa, NULL), fa.managed_frames);
}

/* ---- Randomized operations against a shadow model ---------------------------------- */

/* xorshift64*: a fixed seed gives the same cases on every run and machine. */
static uint64_t rng_state;

static uint64_t rng_next(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1Dull;
}

static uint64_t rng_below(uint64_t n)
{
	return n ? rng_next() % n : 0;
}

enum shadow_state { UNMANAGED, FREE, USED };

#define SHADOW_SIZE	MiB(8)
#define SHADOW_FRAMES	(SHADOW_SIZE >> FRAME_SHIFT)
#define MAX_BLOCKS	SHADOW_FRAMES

struct block {
	uint64_t phys, count;
};

static struct {
	uint8_t state[SHADOW_FRAMES];
	uint64_t free_count;
	struct block blocks[MAX_BLOCKS];
	unsigned block_count;
} shadow;

static void shadow_check(const struct frame_allocator *fa, unsigned op)
{
	if (fa->free_frames != shadow.free_count) {
		print_error("op %u: free_frames %llu, shadow %llu\n", op,
			    (unsigned long long)fa->free_frames,
			    (unsigned long long)shadow.free_count);
		fail();
	}
	for (uint64_t pfn = 0; pfn < SHADOW_FRAMES; pfn++) {
		if (frame_is_free(fa, pfn << FRAME_SHIFT) !=
		    (shadow.state[pfn] == FREE)) {
			print_error("op %u: frame 0x%llx free %d, shadow state "
				    "%d\n", op,
				    (unsigned long long)(pfn << FRAME_SHIFT),
				    frame_is_free(fa, pfn << FRAME_SHIFT),
				    shadow.state[pfn]);
			fail();
		}
	}
}

/* Mark a run the allocator returned as used: it must have been free. */
static void shadow_take(uint64_t phys, uint64_t count)
{
	assert_true(phys + count * FRAME_SIZE <= SHADOW_SIZE);
	for (uint64_t i = 0; i < count; i++) {
		assert_int_equal(shadow.state[(phys >> FRAME_SHIFT) + i], FREE);
		shadow.state[(phys >> FRAME_SHIFT) + i] = USED;
	}
	shadow.free_count -= count;
	assert_true(shadow.block_count < MAX_BLOCKS);
	shadow.blocks[shadow.block_count++] = (struct block){ phys, count };
}

/* Is there an aligned run of 'count' free frames anywhere? */
static bool shadow_has_run(uint64_t count, uint64_t align)
{
	for (uint64_t start = 0; start + count <= SHADOW_FRAMES;
	     start += align) {
		uint64_t i = 0;

		while (i < count && shadow.state[start + i] == FREE)
			i++;
		if (i == count)
			return true;
	}
	return false;
}

static void op_alloc(struct frame_allocator *fa)
{
	uint64_t phys = frame_alloc(fa);

	if (phys == FRAME_NONE)
		assert_int_equal(shadow.free_count, 0);
	else
		shadow_take(phys, 1);
}

static void op_alloc_contig(struct frame_allocator *fa)
{
	/* Mostly small runs, sometimes large ones that can fail. */
	uint64_t count = rng_below(4) ? 1 + rng_below(8) : 1 + rng_below(300);
	uint64_t align = 1ull << rng_below(rng_below(4) ? 4 : 10);
	uint64_t phys = frame_alloc_contig(fa, count, align);

	if (phys == FRAME_NONE) {
		/* Failing is fine only when no such run exists. */
		assert_false(shadow_has_run(count, align));
		return;
	}
	assert_true(IS_ALIGNED(phys >> FRAME_SHIFT, align));
	shadow_take(phys, count);
}

/* Free a random block, whole or its head only (the tail stays a block). */
static void op_free(struct frame_allocator *fa)
{
	unsigned pick;
	struct block *b;
	uint64_t count;

	if (shadow.block_count == 0)
		return;
	pick = (unsigned)rng_below(shadow.block_count);
	b = &shadow.blocks[pick];
	count = rng_below(4) ? b->count : 1 + rng_below(b->count);
	if (count == 1 && rng_below(2))
		assert_true(frame_free(fa, b->phys));
	else
		assert_true(frame_free_contig(fa, b->phys, count));
	for (uint64_t i = 0; i < count; i++)
		shadow.state[(b->phys >> FRAME_SHIFT) + i] = FREE;
	shadow.free_count += count;
	b->phys += count * FRAME_SIZE;
	b->count -= count;
	if (b->count == 0)
		*b = shadow.blocks[--shadow.block_count];
}

/* A free that must be refused: a free frame, an unmanaged one, or a run
 * with one of those inside. Nothing may change. */
static void op_bad_free(struct frame_allocator *fa)
{
	uint64_t pfn = rng_below(SHADOW_FRAMES), count = 1 + rng_below(4);
	bool bad = false;

	for (uint64_t i = 0; i < count && pfn + i < SHADOW_FRAMES; i++)
		bad |= shadow.state[pfn + i] != USED;
	if (!bad && pfn + count <= SHADOW_FRAMES)
		return;		/* would be a good free: skip it */
	capture_reset();
	assert_false(frame_free_contig(fa, pfn << FRAME_SHIFT, count));
	assert_true(capture_contains("frame allocator: "));
}

#define RANDOM_OPS 100000

static void test_random_against_shadow(void **state)
{
	static const struct mem_range map[] = {
		R(0, 0x9f000, MEM_USABLE),
		R(0x9f000, 0x100000, MEM_RESERVED),
		R(0x100000, 0x300000, MEM_USABLE),
		R(0x300000, 0x310000, MEM_RESERVED),
		/* [0x310000, 0x400000) missing: a hole */
		R(0x400000, 0x7e0000, MEM_USABLE),
		R(0x7e0000, 0x800000, MEM_ACPI_RECLAIM),
	};
	static const struct mem_range reserved[] = {
		R(0x100000, 0x140000, MEM_RESERVED),
		R(0x180800, 0x183000, MEM_RESERVED),
		R(0x500000, 0x500001, MEM_RESERVED),
		R(0x600fff, 0x601001, MEM_RESERVED),
	};
	struct scenario sc = SCENARIO(map, reserved, MiB(8));
	struct frame_allocator fa;

	(void)state;
	sim_create(SHADOW_SIZE);
	init_ok(&fa, &sc);
	memset(&shadow, 0, sizeof(shadow));
	for (uint64_t pfn = 0; pfn < SHADOW_FRAMES; pfn++) {
		bool managed = oracle_managed(&sc, &fa, pfn << FRAME_SHIFT);

		shadow.state[pfn] = managed ? FREE : UNMANAGED;
		shadow.free_count += managed;
	}
	assert_int_equal(fa.managed_frames, shadow.free_count);
	shadow_check(&fa, 0);

	rng_state = 0xA110CA7EF4A3E5ull;
	for (unsigned op = 1; op <= RANDOM_OPS; op++) {
		/* Lean towards freeing when most memory is taken, so the run
		 * sweeps between empty and full. */
		uint64_t used = fa.managed_frames - shadow.free_count;
		uint64_t roll = rng_below(100);
		bool fill = (op / 5000) % 2 == 0;

		if (roll < 2)
			op_bad_free(&fa);
		else if (roll < (fill ? 45 : 30))
			op_alloc(&fa);
		else if (roll < (fill ? 75 : 45))
			op_alloc_contig(&fa);
		else if (used)
			op_free(&fa);
		shadow_check(&fa, op);
	}
	assert_only_bitmap_written(&fa);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_init_realistic),
		T(test_alloc_everything),
		T(test_free_and_realloc),
		T(test_double_free_refused),
		T(test_free_unmanaged_refused),
		T(test_contig_2mib_pages),
		T(test_contig_counts_and_alignments),
		T(test_contig_bad_arguments),
		T(test_contig_fragmented),
		T(test_init_no_usable_memory),
		T(test_init_no_room_for_bitmap),
		T(test_bitmap_placement),
		T(test_unaligned_usable_ranges),
		T(test_random_against_shadow),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
