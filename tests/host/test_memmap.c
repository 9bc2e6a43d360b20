/*
 * memmap_normalize(): worked examples, then a property test against an
 * oracle that is slow and obviously right: for any address, the type is the
 * most restrictive type of the input ranges that cover it, and usable only
 * where its whole 4 KiB page is usable.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "kernel/compiler.h"
#include "kernel/memmap.h"
#include "tests/host/capture.h"

#define PAGE 0x1000ull

/* ---- Helpers -------------------------------------------------------------- */

#define R(b, e, t) ((struct mem_range){ .base = (b), .end = (e), .type = (t) })

static void assert_range(const struct mem_range *r, uint64_t base,
			 uint64_t end, uint32_t type)
{
	assert_int_equal(r->base, base);
	assert_int_equal(r->end, end);
	assert_int_equal(r->type, type);
}

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

/* ---- The oracle ----------------------------------------------------------- */

/* The priority order, written out again on purpose: the test must not
 * share the code it checks. */
static int oracle_rank(uint32_t type)
{
	switch (type) {
	case MEM_USABLE:	return 1;
	case MEM_ACPI_RECLAIM:	return 2;
	case MEM_RESERVED:	return 3;
	case MEM_ACPI_NVS:	return 4;
	case MEM_BAD:		return 5;
	default:		return 3;
	}
}

static uint32_t oracle_type_of_rank(int rank)
{
	static const uint32_t types[] = {
		0, MEM_USABLE, MEM_ACPI_RECLAIM, MEM_RESERVED, MEM_ACPI_NVS,
		MEM_BAD,
	};
	return types[rank];
}

/* The input's type at addr (unknown types read as reserved), 0 if no input
 * range covers it. */
static uint32_t input_type_at(const struct mem_range *in, unsigned n,
			      uint64_t addr)
{
	int best = 0;

	for (unsigned i = 0; i < n; i++)
		if (in[i].base <= addr && addr < in[i].end &&
		    oracle_rank(in[i].type) > best)
			best = oracle_rank(in[i].type);
	return oracle_type_of_rank(best);
}

/* Is every byte of the page at page_base usable in the input? The type can
 * only change at a range boundary, so check the page start and each
 * boundary inside the page. */
static bool input_page_usable(const struct mem_range *in, unsigned n,
			      uint64_t page_base)
{
	uint64_t page_last = page_base + (PAGE - 1);

	if (input_type_at(in, n, page_base) != MEM_USABLE)
		return false;
	for (unsigned i = 0; i < n; i++) {
		uint64_t edges[2] = { in[i].base, in[i].end };

		for (int e = 0; e < 2; e++)
			if (edges[e] > page_base && edges[e] <= page_last &&
			    input_type_at(in, n, edges[e]) != MEM_USABLE)
				return false;
	}
	/* The byte at UINT64_MAX is never covered (ends are exclusive). */
	return input_type_at(in, n, page_last) == MEM_USABLE;
}

static uint32_t expected_type_at(const struct mem_range *in, unsigned n,
				 uint64_t addr)
{
	uint32_t type = input_type_at(in, n, addr);

	if (type == MEM_USABLE && !input_page_usable(in, n, addr & ~(PAGE - 1)))
		return 0;
	return type;
}

static uint32_t output_type_at(const struct mem_range *out, unsigned n,
			       uint64_t addr)
{
	for (unsigned i = 0; i < n; i++)
		if (out[i].base <= addr && addr < out[i].end)
			return out[i].type;
	return 0;
}

static bool inputs_overlap(const struct mem_range *in, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		for (unsigned j = i + 1; j < n; j++)
			if (in[i].base < in[i].end && in[j].base < in[j].end &&
			    in[i].base < in[j].end && in[j].base < in[i].end)
				return true;
	return false;
}

/* The shape every normalised map has, whether or not it overflowed. */
static void check_shape(const struct mem_range *out, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		assert_true(out[i].base < out[i].end);
		assert_true(out[i].type >= MEM_USABLE && out[i].type <= MEM_BAD);
		if (out[i].type == MEM_USABLE) {
			assert_true(out[i].base % PAGE == 0);
			assert_true(out[i].end % PAGE == 0);
		}
		if (i + 1 < n) {
			assert_true(out[i].end <= out[i + 1].base);
			if (out[i].end == out[i + 1].base)
				assert_int_not_equal(out[i].type, out[i + 1].type);
		}
	}
}

/* Addresses where something can go wrong: around every boundary of the
 * input and output, their pages' edges, and a few random ones. */
static void probe(const struct mem_range *in, unsigned n_in,
		  const struct mem_range *out, unsigned n_out, bool exact)
{
	uint64_t addrs[16];

	for (unsigned i = 0; i < n_in + n_out; i++) {
		const struct mem_range *r = i < n_in ? &in[i] : &out[i - n_in];
		unsigned k = 0;

		for (int e = 0; e < 2; e++) {
			uint64_t edge = e ? r->end : r->base;

			addrs[k++] = edge - 1;
			addrs[k++] = edge;
			addrs[k++] = edge + 1;
			addrs[k++] = edge & ~(PAGE - 1);
			addrs[k++] = (edge & ~(PAGE - 1)) - 1;
			addrs[k++] = (edge | (PAGE - 1)) + 1;
		}
		addrs[k++] = r->base + rng_below(r->end - r->base + 1);
		addrs[k++] = rng_next();
		for (unsigned a = 0; a < k; a++) {
			uint32_t want = expected_type_at(in, n_in, addrs[a]);
			uint32_t got = output_type_at(out, n_out, addrs[a]);

			if (got == want || (!exact && got == 0))
				continue;
			fail_msg("address 0x%llx: normalised type %u, expected %u",
				 (unsigned long long)addrs[a], got, want);
		}
	}
}

/* ---- Worked examples ------------------------------------------------------ */

static void test_empty_map(void **state)
{
	struct mem_range r[1];
	unsigned n = 0;

	(void)state;
	assert_int_equal(memmap_normalize(r, &n, 1), 0);
	assert_int_equal(n, 0);
}

static void test_sorts_and_merges(void **state)
{
	struct mem_range r[8] = {
		R(0x100000, 0x200000, MEM_USABLE),
		R(0x0, 0x9f000, MEM_USABLE),
		R(0x200000, 0x300000, MEM_USABLE),	/* touches: merged */
		R(0xf0000, 0x100000, MEM_RESERVED),
		R(0x500000, 0x500000, MEM_BAD),		/* empty: dropped */
	};
	unsigned n = 5;

	(void)state;
	capture_reset();
	assert_int_equal(memmap_normalize(r, &n, 8), 0);
	assert_int_equal(n, 3);
	assert_range(&r[0], 0x0, 0x9f000, MEM_USABLE);
	assert_range(&r[1], 0xf0000, 0x100000, MEM_RESERVED);
	assert_range(&r[2], 0x100000, 0x300000, MEM_USABLE);
	assert_false(capture_contains("overlap"));
}

static void test_usable_shrinks_to_pages(void **state)
{
	struct mem_range r[4] = {
		R(0x1234, 0x5678, MEM_USABLE),
		R(0x10000, 0x10fff, MEM_USABLE),	/* no whole page */
		R(0x20800, 0x21000, MEM_RESERVED),	/* not shrunk */
	};
	/* Two unaligned halves that make whole pages together. */
	struct mem_range r2[2] = {
		R(0x30800, 0x32000, MEM_USABLE),
		R(0x30000, 0x30800, MEM_USABLE),
	};
	unsigned n = 3, n2 = 2;

	(void)state;
	assert_int_equal(memmap_normalize(r, &n, 4), 0);
	assert_int_equal(n, 2);
	assert_range(&r[0], 0x2000, 0x5000, MEM_USABLE);
	assert_range(&r[1], 0x20800, 0x21000, MEM_RESERVED);

	assert_int_equal(memmap_normalize(r2, &n2, 2), 0);
	assert_int_equal(n2, 1);
	assert_range(&r2[0], 0x30000, 0x32000, MEM_USABLE);
}

static void test_reserved_inside_usable_splits_it(void **state)
{
	struct mem_range r[3] = {
		R(0x0, 0x100000, MEM_USABLE),
		R(0x40000, 0x50000, MEM_RESERVED),
	};
	unsigned n = 2;

	(void)state;
	capture_reset();
	assert_int_equal(memmap_normalize(r, &n, 3), 1);
	assert_int_equal(n, 3);
	assert_range(&r[0], 0x0, 0x40000, MEM_USABLE);
	assert_range(&r[1], 0x40000, 0x50000, MEM_RESERVED);
	assert_range(&r[2], 0x50000, 0x100000, MEM_USABLE);
	assert_true(capture_contains("usable range [0x0-0x100000) overlaps reserved range [0x40000-0x50000); treating the overlap as reserved"));
}

static void test_priority_order(void **state)
{
	/* Five ranges stacked on [0x1000, 0x2000), each more restrictive. */
	static const uint32_t order[] = {
		MEM_USABLE, MEM_ACPI_RECLAIM, MEM_RESERVED, MEM_ACPI_NVS,
		MEM_BAD,
	};

	(void)state;
	for (unsigned top = 0; top < 5; top++) {
		struct mem_range r[10];
		unsigned n = 0;

		for (unsigned i = 0; i <= top; i++)
			r[n++] = R(0x1000, 0x2000, order[top - i]);
		assert_int_equal(memmap_normalize(r, &n, 10), (int)top);
		assert_int_equal(n, 1);
		assert_range(&r[0], 0x1000, 0x2000, order[top]);
	}
}

static void test_unknown_type_is_reserved(void **state)
{
	struct mem_range r[4] = {
		R(0x0, 0x10000, 7),
		R(0x8000, 0x20000, MEM_ACPI_RECLAIM),
		R(0x20000, 0x30000, MEM_RESERVED),
	};
	unsigned n = 3;

	(void)state;
	capture_reset();
	assert_int_equal(memmap_normalize(r, &n, 4), 1);
	assert_int_equal(n, 3);
	assert_range(&r[0], 0x0, 0x10000, MEM_RESERVED);
	assert_range(&r[1], 0x10000, 0x20000, MEM_ACPI_RECLAIM);
	assert_range(&r[2], 0x20000, 0x30000, MEM_RESERVED);
	assert_true(capture_contains("unknown type 7; treating it as reserved"));
}

static void test_inverted_range_dropped(void **state)
{
	struct mem_range r[2] = {
		R(0x5000, 0x1000, MEM_BAD),
		R(0x0, 0x10000, MEM_USABLE),
	};
	unsigned n = 2;

	(void)state;
	capture_reset();
	assert_int_equal(memmap_normalize(r, &n, 2), 0);
	assert_int_equal(n, 1);
	assert_range(&r[0], 0x0, 0x10000, MEM_USABLE);
	assert_true(capture_contains("[0x5000-0x1000) ends before it starts"));
}

static void test_top_of_address_space(void **state)
{
	struct mem_range r[3] = {
		R(UINT64_MAX - 0x800, UINT64_MAX, MEM_USABLE),	/* no page */
		R(0xfffffffffff00000ull, UINT64_MAX, MEM_RESERVED),
		R(0xffffffff00000000ull, 0xfffffffffff00000ull, MEM_USABLE),
	};
	unsigned n = 3;

	(void)state;
	assert_int_equal(memmap_normalize(r, &n, 3), 1);
	assert_int_equal(n, 2);
	assert_range(&r[0], 0xffffffff00000000ull, 0xfffffffffff00000ull,
		     MEM_USABLE);
	assert_range(&r[1], 0xfffffffffff00000ull, UINT64_MAX, MEM_RESERVED);
}

static void test_overflow_drops_least_restrictive(void **state)
{
	/* Two holes in one usable range need two more slots; there is one. */
	struct mem_range r[3] = {
		R(0x0, 0x10000, MEM_USABLE),
		R(0x2000, 0x3000, MEM_BAD),
		R(0x6000, 0x7000, MEM_ACPI_NVS),
	};
	unsigned n = 3;

	(void)state;
	capture_reset();
	assert_int_equal(memmap_normalize(r, &n, 3), -1);
	assert_true(capture_contains("dropped usable range"));
	assert_true(capture_contains("needs more than 3 entries"));
	check_shape(r, n);
	/* Whatever was kept is right, and every restrictive range is kept. */
	assert_int_equal(n, 3);
	assert_range(&r[0], 0x0, 0x2000, MEM_USABLE);
	assert_range(&r[1], 0x2000, 0x3000, MEM_BAD);
	assert_range(&r[2], 0x6000, 0x7000, MEM_ACPI_NVS);
}

static void test_count_above_cap_refused(void **state)
{
	struct mem_range r[3] = {
		R(0x2000, 0x3000, MEM_USABLE),
		R(0x0, 0x1000, MEM_USABLE),
	};
	unsigned n = 2;

	(void)state;
	capture_reset();
	assert_int_equal(memmap_normalize(r, &n, 1), -1);
	assert_int_equal(n, 2);
	assert_true(capture_contains("2 ranges passed in an array of only 1"));
}

static void test_names_and_total(void **state)
{
	const struct mem_range r[] = {
		R(0x0, 0x1000, MEM_USABLE),
		R(0x1000, 0x3000, MEM_RESERVED),
		R(0x10000, 0x20000, MEM_USABLE),
	};

	(void)state;
	assert_string_equal(mem_type_name(MEM_USABLE), "usable");
	assert_string_equal(mem_type_name(MEM_RESERVED), "reserved");
	assert_string_equal(mem_type_name(MEM_ACPI_RECLAIM), "ACPI reclaimable");
	assert_string_equal(mem_type_name(MEM_ACPI_NVS), "ACPI NVS");
	assert_string_equal(mem_type_name(MEM_BAD), "bad");
	assert_string_equal(mem_type_name(0), "unknown");
	assert_string_equal(mem_type_name(99), "unknown");
	assert_int_equal(memmap_total(r, 3, MEM_USABLE), 0x11000);
	assert_int_equal(memmap_total(r, 3, MEM_RESERVED), 0x2000);
	assert_int_equal(memmap_total(r, 3, MEM_BAD), 0);
}

/* ---- Properties ----------------------------------------------------------- */

static const uint32_t random_types[] = {
	MEM_USABLE, MEM_USABLE, MEM_USABLE, MEM_RESERVED, MEM_ACPI_RECLAIM,
	MEM_ACPI_NVS, MEM_BAD, 0, 7, 12,
};

/* Ranges crowded into a small space so that they overlap a lot, at mixed
 * granularities so that pages end up partly usable, with some at the top
 * of the address space, some empty and some inverted. */
static struct mem_range random_range(void)
{
	static const uint64_t grains[] = { 1, 0x10, 0x100, 0x800, PAGE };
	uint64_t grain = grains[rng_below(5)];
	uint64_t base, len;
	uint32_t type = random_types[rng_below(ARRAY_SIZE(random_types))];

	switch (rng_below(16)) {
	case 0:		/* near the top, maybe up to it */
		base = UINT64_MAX - rng_below(0x4000);
		return R(base, rng_below(2) ? UINT64_MAX :
			 base + rng_below(UINT64_MAX - base + 1), type);
	case 1:		/* empty or inverted */
		base = rng_below(0x40000);
		return R(base, base - rng_below(0x100), type);
	default:
		base = rng_below(0x40000 / grain) * grain;
		len = (rng_below(0x10000 / grain) + 1) * grain;
		if (rng_below(4) == 0)
			len *= 8;
		return R(base, base + len, type);
	}
}

#define PROPERTY_ITERATIONS 20000
#define PROPERTY_MAX_INPUTS 48	/* 3 * 48 < MEMMAP_MAX: never overflows */

static void test_property_normalised_map_matches_oracle(void **state)
{
	struct mem_range in[PROPERTY_MAX_INPUTS];
	struct mem_range out[MEMMAP_MAX];

	(void)state;
	rng_state = 0x9e3779b97f4a7c15ull;
	for (int iter = 0; iter < PROPERTY_ITERATIONS; iter++) {
		unsigned n_in = (unsigned)rng_below(PROPERTY_MAX_INPUTS + 1);
		unsigned n_out = n_in;
		int ret;

		for (unsigned i = 0; i < n_in; i++)
			in[i] = random_range();
		memcpy(out, in, n_in * sizeof(in[0]));
		capture_reset();
		ret = memmap_normalize(out, &n_out, MEMMAP_MAX);

		assert_true(ret >= 0);
		assert_int_equal(ret > 0, inputs_overlap(in, n_in));
		if (ret > 0)
			assert_true(capture_contains("overlap"));
		check_shape(out, n_out);
		probe(in, n_in, out, n_out, true);
	}
}

/* With too little room, the result is still a valid map, every address it
 * describes is described right: what did not fit is left out, never given
 * a less restrictive type. */
static void test_property_overflow_is_safe(void **state)
{
	struct mem_range in[24];
	struct mem_range out[24 + 1];
	int overflows = 0;

	(void)state;
	rng_state = 0x243f6a8885a308d3ull;
	for (int iter = 0; iter < PROPERTY_ITERATIONS; iter++) {
		unsigned n_in = 1 + (unsigned)rng_below(ARRAY_SIZE(in));
		unsigned cap = n_in + (unsigned)rng_below(2);
		unsigned n_out = n_in;
		int ret;

		for (unsigned i = 0; i < n_in; i++)
			in[i] = random_range();
		memcpy(out, in, n_in * sizeof(in[0]));
		capture_reset();
		ret = memmap_normalize(out, &n_out, cap);

		assert_true(n_out <= cap);
		check_shape(out, n_out);
		if (ret < 0) {
			overflows++;
			assert_int_equal(ret, -1);
			assert_true(capture_contains("no room left in the memory map; dropped"));
			probe(in, n_in, out, n_out, false);
		} else {
			probe(in, n_in, out, n_out, true);
		}
	}
	/* The test is only worth something if it hit the overflow path. */
	assert_true(overflows > PROPERTY_ITERATIONS / 40);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_map),
		cmocka_unit_test(test_sorts_and_merges),
		cmocka_unit_test(test_usable_shrinks_to_pages),
		cmocka_unit_test(test_reserved_inside_usable_splits_it),
		cmocka_unit_test(test_priority_order),
		cmocka_unit_test(test_unknown_type_is_reserved),
		cmocka_unit_test(test_inverted_range_dropped),
		cmocka_unit_test(test_top_of_address_space),
		cmocka_unit_test(test_overflow_drops_least_restrictive),
		cmocka_unit_test(test_count_above_cap_refused),
		cmocka_unit_test(test_names_and_total),
		cmocka_unit_test(test_property_normalised_map_matches_oracle),
		cmocka_unit_test(test_property_overflow_is_safe),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
