/*
 * Memslots (mmu/memslot.c): finding the slot of a gfn, and which 2 MiB
 * chunks may be one large page, against a brute-force oracle.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "mmu/memslot.h"

#define PAGE	4096ull
#define CHUNK	(PAGES_PER_2M * PAGE)

static struct memslot make_slot(uint64_t base_gfn, uint64_t npages,
				uint64_t hpa_of_base)
{
	struct memslot s = { .base_gfn = base_gfn, .npages = npages };

	s.hpa = calloc(npages + 1, sizeof(*s.hpa));
	assert_non_null(s.hpa);
	for (uint64_t i = 0; i < npages; i++)
		s.hpa[i] = hpa_of_base + i * PAGE;
	s.large_ok = calloc(memslot_chunk_count(&s) + 1, 1);
	assert_non_null(s.large_ok);
	return s;
}

static void free_slot(struct memslot *s)
{
	free(s->hpa);
	free(s->large_ok);
}

/* Brute force: the chunk lies inside the slot, its pages are contiguous
 * and the first is 2 MiB aligned. */
static bool oracle_large(const struct memslot *s, uint64_t gfn)
{
	uint64_t first = gfn - gfn % PAGES_PER_2M;

	if (first < s->base_gfn || first + PAGES_PER_2M > s->base_gfn + s->npages)
		return false;
	for (uint64_t i = 0; i < PAGES_PER_2M; i++)
		if (s->hpa[first - s->base_gfn + i] !=
		    s->hpa[first - s->base_gfn] + i * PAGE)
			return false;
	return s->hpa[first - s->base_gfn] % CHUNK == 0;
}

static void check_against_oracle(struct memslot *s)
{
	memslot_compute_large(s);
	for (uint64_t gfn = s->base_gfn; gfn < s->base_gfn + s->npages; gfn++)
		assert_int_equal(memslot_large_ok(s, gfn), oracle_large(s, gfn));
}

static void test_find(void **state)
{
	struct memslots slots = { .count = 3 };

	(void)state;
	slots.slot[0] = (struct memslot){ .base_gfn = 0x100, .npages = 0x10 };
	slots.slot[1] = (struct memslot){ .base_gfn = 0x110, .npages = 1 };
	slots.slot[2] = (struct memslot){ .base_gfn = 0x10000000, .npages = 0x200 };
	assert_null(memslot_find(&slots, 0));
	assert_null(memslot_find(&slots, 0xff));
	assert_ptr_equal(memslot_find(&slots, 0x100), &slots.slot[0]);
	assert_ptr_equal(memslot_find(&slots, 0x10f), &slots.slot[0]);
	assert_ptr_equal(memslot_find(&slots, 0x110), &slots.slot[1]);
	assert_null(memslot_find(&slots, 0x111));
	assert_ptr_equal(memslot_find(&slots, 0x100001ff), &slots.slot[2]);
	assert_null(memslot_find(&slots, 0x10000200));
	assert_null(memslot_find(&slots, ~0ull));

	struct memslots none = { 0 };

	assert_null(memslot_find(&none, 0));
}

static void test_chunk_count(void **state)
{
	const struct { uint64_t base, npages, chunks; } cases[] = {
		{ 0, 512, 1 },		/* exactly one */
		{ 0, 513, 2 },		/* one page into the next */
		{ 512, 1024, 2 },
		{ 511, 2, 2 },		/* two pages across a boundary */
		{ 5, 10, 1 },		/* inside one chunk */
		{ 0x1f0, 0x10 + 3 * 512 + 0x20, 5 },
		{ 0, 1, 1 },
	};

	(void)state;
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct memslot s = { .base_gfn = cases[i].base,
				     .npages = cases[i].npages };

		assert_int_equal(memslot_chunk_count(&s), cases[i].chunks);
	}
}

static void test_aligned_contiguous_is_large(void **state)
{
	struct memslot s = make_slot(0x400, 3 * 512, 7 * CHUNK);

	(void)state;
	memslot_compute_large(&s);
	for (uint64_t c = 0; c < 3; c++)
		assert_true(s.large_ok[c]);
	assert_true(memslot_large_ok(&s, 0x400));
	assert_true(memslot_large_ok(&s, 0x9ff));
	check_against_oracle(&s);
	free_slot(&s);
}

static void test_misaligned_host_is_not_large(void **state)
{
	/* Contiguous, but the host run starts 4 KiB (then 1 MiB) off. */
	struct memslot a = make_slot(0x400, 2 * 512, 7 * CHUNK + PAGE);
	struct memslot b = make_slot(0x400, 2 * 512, 7 * CHUNK + CHUNK / 2);

	(void)state;
	check_against_oracle(&a);
	check_against_oracle(&b);
	assert_false(a.large_ok[0] || a.large_ok[1]);
	assert_false(b.large_ok[0] || b.large_ok[1]);
	free_slot(&a);
	free_slot(&b);
}

static void test_one_page_off_is_not_large(void **state)
{
	const uint64_t breaks[] = { 0, 1, 255, 510, 511 };

	(void)state;
	for (unsigned i = 0; i < 5; i++) {
		struct memslot s = make_slot(0, 2 * 512, 4 * CHUNK);

		s.hpa[512 + breaks[i]] += 64 * CHUNK;	/* chunk 1 broken */
		check_against_oracle(&s);
		assert_true(s.large_ok[0]);
		assert_false(s.large_ok[1]);
		free_slot(&s);
	}
	/* Same pages, reversed: not contiguous upwards. */
	struct memslot s = make_slot(0, 512, 4 * CHUNK);

	for (uint64_t i = 0; i < 512; i++)
		s.hpa[i] = 4 * CHUNK + (511 - i) * PAGE;
	check_against_oracle(&s);
	assert_false(s.large_ok[0]);
	free_slot(&s);
}

/* A slot not 2 MiB aligned at its ends: the partial chunks never, even
 * when the host pages under them would be aligned and contiguous. */
static void test_partial_chunks_are_not_large(void **state)
{
	uint64_t base = 0x1f0, npages = 0x10 + 3 * 512 + 0x20;
	/* hpa(gfn) = 8 MiB + gfn * 4 KiB: every whole chunk is aligned. */
	struct memslot s = make_slot(base, npages, 4 * CHUNK + base * PAGE);

	(void)state;
	memslot_compute_large(&s);
	assert_int_equal(memslot_chunk_count(&s), 5);
	assert_false(s.large_ok[0]);
	assert_true(s.large_ok[1] && s.large_ok[2] && s.large_ok[3]);
	assert_false(s.large_ok[4]);
	assert_false(memslot_large_ok(&s, base));
	assert_false(memslot_large_ok(&s, 0x1ff));
	assert_true(memslot_large_ok(&s, 0x200));
	assert_true(memslot_large_ok(&s, 0x7ff));
	assert_false(memslot_large_ok(&s, 0x800));
	assert_false(memslot_large_ok(&s, base + npages - 1));
	check_against_oracle(&s);
	free_slot(&s);

	/* Smaller than a chunk, and one page short of a whole chunk. */
	struct memslot t = make_slot(0x200, 100, 4 * CHUNK);
	struct memslot u = make_slot(0x200, 511, 4 * CHUNK);

	check_against_oracle(&t);
	check_against_oracle(&u);
	assert_false(t.large_ok[0]);
	assert_false(u.large_ok[0]);
	free_slot(&t);
	free_slot(&u);
}

static uint64_t rng_next(uint64_t *x)
{
	*x ^= *x >> 12;
	*x ^= *x << 25;
	*x ^= *x >> 27;
	return *x * 0x2545f4914f6cdd1dull;
}

/* Random slots (random ends, runs of contiguous pages of random length
 * and alignment, single pages) against the oracle. */
static void test_random_slots_match_oracle(void **state)
{
	uint64_t rng = 42, large = 0, small = 0;

	(void)state;
	for (int round = 0; round < 300; round++) {
		uint64_t base = rng_next(&rng) % 4096;
		uint64_t npages = 1 + rng_next(&rng) % (6 * 512);
		/* Start with a run in step with 2 MiB boundaries. */
		struct memslot s = make_slot(base, npages, 0);
		uint64_t hpa = 3 * CHUNK + (base % 512) * PAGE;

		for (uint64_t i = 0; i < npages; i++) {
			uint64_t r = rng_next(&rng) % 4000;

			/* r < 3: a new run, 2 MiB aligned in step */
			if (r < 3) {
				hpa = (rng_next(&rng) % 1024) * CHUNK +
				      ((base + i) % 512) * PAGE;
			} else if (r == 3) {	/* a new run anywhere */
				hpa = (rng_next(&rng) % (1u << 20)) * PAGE;
			} else if (r == 4) {	/* a stray page */
				s.hpa[i] = hpa + 12345 * PAGE;
				hpa += PAGE;
				continue;
			}
			s.hpa[i] = hpa;
			hpa += PAGE;
		}
		check_against_oracle(&s);
		for (uint64_t c = 0; c < memslot_chunk_count(&s); c++)
			s.large_ok[c] ? large++ : small++;
		free_slot(&s);
	}
	assert_true(large > 200 && small > 200);	/* both kinds were tried */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_find),
		cmocka_unit_test(test_chunk_count),
		cmocka_unit_test(test_aligned_contiguous_is_large),
		cmocka_unit_test(test_misaligned_host_is_not_large),
		cmocka_unit_test(test_one_page_off_is_not_large),
		cmocka_unit_test(test_partial_chunks_are_not_large),
		cmocka_unit_test(test_random_slots_match_oracle),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
