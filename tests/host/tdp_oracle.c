/* See tests/host/tdp_oracle.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tests/host/mmu_platform_host.h"
#include "tests/host/tdp_oracle.h"

#define PAGE		4096ull
#define CHUNK_PAGES	512ull
#define CHUNK		(CHUNK_PAGES * PAGE)
#define ADDR		0x000ffffffffff000ull

/* ---- Random numbers ----------------------------------------------------- */

uint64_t rng_next(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545f4914f6cdd1dull;
}

uint64_t rng_below(uint64_t *state, uint64_t n)
{
	return rng_next(state) % n;
}

/* ---- Fake host memory --------------------------------------------------- */

/* Made-up host addresses, never dereferenced: from 1 TiB up, each region
 * 2 MiB aligned and followed by a 2 MiB gap, so regions never touch. */
static uint64_t fake_next = 1ull << 40;

static uint64_t fake_region(uint64_t pages)
{
	uint64_t base = fake_next;

	fake_next += (pages * PAGE + 2 * CHUNK - 1) / CHUNK * CHUNK + CHUNK;
	return base;
}

static bool chunk_is_large(const struct memslot *slot, uint64_t gfn);
static uint64_t chunk_of(const struct memslot *slot, uint64_t gfn);

/* Back the slot's pages [first, last) of one chunk. */
static void back_chunk(struct memslot *slot, uint64_t first, uint64_t last,
		       enum backing how, uint64_t *rng)
{
	uint64_t region = fake_region(CHUNK_PAGES + 1);
	uint64_t broken = rng_below(rng, CHUNK_PAGES);

	for (uint64_t gfn = first; gfn < last; gfn++) {
		uint64_t i = gfn % CHUNK_PAGES, hpa;

		switch (how) {
		case BACK_LARGE:
			hpa = region + i * PAGE;
			break;
		case BACK_MISALIGNED:
			hpa = region + PAGE + i * PAGE;
			break;
		case BACK_SCATTERED:
			hpa = region + (CHUNK_PAGES - 1 - i) * PAGE;
			break;
		default:	/* BACK_BROKEN */
			hpa = region + (i == broken ? CHUNK_PAGES : i) * PAGE;
			break;
		}
		slot->hpa[gfn - slot->base_gfn] = hpa;
	}
}

struct memslot *env_add_slot(struct tdp_env *env, uint64_t base_gfn,
			     uint64_t npages, enum backing how, uint64_t *rng)
{
	unsigned n = env->slots.count;
	struct memslot *slot = &env->slots.slot[n];
	uint64_t end = base_gfn + npages;

	assert_true(n < MEMSLOTS_MAX);
	*slot = (struct memslot){ .base_gfn = base_gfn, .npages = npages };
	slot->hpa = calloc(npages ? npages : 1, sizeof(*slot->hpa));
	slot->large_ok = calloc(memslot_chunk_count(slot) + 1, 1);
	assert_non_null(slot->hpa);
	assert_non_null(slot->large_ok);
	for (uint64_t first = base_gfn; first < end;) {
		uint64_t last = (first / CHUNK_PAGES + 1) * CHUNK_PAGES;
		enum backing chunk_how = how;

		if (last > end)
			last = end;
		if (how == BACK_MIXED) {	/* half of them large */
			uint64_t r = rng_below(rng, 2 * BACK_MIXED);

			chunk_how = r < BACK_MIXED ? BACK_LARGE :
				    (enum backing)(r - BACK_MIXED);
		}
		back_chunk(slot, first, last, chunk_how, rng);
		first = last;
	}
	memslot_compute_large(slot);
	env->large[n] = calloc(memslot_chunk_count(slot) + 1, 1);
	assert_non_null(env->large[n]);
	for (uint64_t gfn = base_gfn; gfn < end; gfn++)
		env->large[n][chunk_of(slot, gfn)] = chunk_is_large(slot, gfn);
	if (env->model) {
		env->mapped[n] = calloc(npages ? npages : 1, 1);
		assert_non_null(env->mapped[n]);
	}
	env->slots.count = n + 1;
	env->slots.generation++;
	return slot;
}

void env_init(struct tdp_env *env, const struct tdp_format *fmt, bool model)
{
	memset(env, 0, sizeof(*env));
	env->fmt = fmt;
	env->model = model;
	assert_true(tdp_mmu_init(&env->mmu, fmt, &env->slots));
}

void env_free(struct tdp_env *env)
{
	struct tdp_stats s;

	tdp_mmu_destroy(&env->mmu);
	tdp_mmu_get_stats(&env->mmu, &s);
	for (unsigned i = 0; i < env->slots.count; i++) {
		free(env->slots.slot[i].hpa);
		free(env->slots.slot[i].large_ok);
		free(env->mapped[i]);
		free(env->large[i]);
	}
	memset(env, 0, sizeof(*env));
	assert_int_equal(s.tables, 0);
	assert_int_equal(s.mapped_4k, 0);
	assert_int_equal(s.mapped_2m, 0);
	assert_int_equal(mmu_host_live_tables(), 0);
}

/* ---- Oracle ------------------------------------------------------------- */

const struct memslot *oracle_find(const struct tdp_env *env, uint64_t gfn)
{
	for (unsigned i = 0; i < env->slots.count; i++) {
		const struct memslot *s = &env->slots.slot[i];

		if (gfn >= s->base_gfn && gfn < s->base_gfn + s->npages)
			return s;
	}
	return NULL;
}

/* By brute force, from the hpa array. */
static bool chunk_is_large(const struct memslot *slot, uint64_t gfn)
{
	uint64_t first = gfn / CHUNK_PAGES * CHUNK_PAGES;

	if (first < slot->base_gfn ||
	    first + CHUNK_PAGES > slot->base_gfn + slot->npages)
		return false;
	const uint64_t *hpa = &slot->hpa[first - slot->base_gfn];

	if (hpa[0] % CHUNK)
		return false;
	for (uint64_t i = 1; i < CHUNK_PAGES; i++)
		if (hpa[i] != hpa[0] + i * PAGE)
			return false;
	return true;
}

static uint64_t chunk_of(const struct memslot *slot, uint64_t gfn)
{
	return gfn / CHUNK_PAGES - slot->base_gfn / CHUNK_PAGES;
}

bool oracle_large(const struct tdp_env *env, const struct memslot *slot,
		  uint64_t gfn)
{
	return env->large[slot - env->slots.slot][chunk_of(slot, gfn)];
}

uint64_t oracle_hpa(const struct memslot *slot, uint64_t gpa)
{
	return slot->hpa[gpa / PAGE - slot->base_gfn] + gpa % PAGE;
}

uint64_t expect_table_flags(const struct tdp_format *fmt)
{
	(void)fmt;
	return 0x7;		/* EPT R|W|X; NPT P|RW|US */
}

uint64_t expect_leaf_flags(const struct tdp_format *fmt, unsigned level)
{
	bool ept = fmt == &tdp_format_ept;
	uint64_t flags = ept ? 0x7 | (6 << 3) : 0x7;	/* WB for EPT */

	return level == 2 ? flags | 0x80 : flags;	/* PS */
}

static bool raw_present(const struct tdp_format *fmt, uint64_t e)
{
	return fmt == &tdp_format_ept ? (e & 0x7) != 0 : (e & 0x1) != 0;
}

uint64_t raw_entry(const struct tdp_env *env, uint64_t gpa, unsigned level)
{
	const uint64_t *table = (const uint64_t *)(uintptr_t)env->mmu.root_hpa;

	for (unsigned l = 4;; l--) {
		uint64_t e = table[(gpa >> (12 + 9 * (l - 1))) & 511];

		if (l == level)
			return e;
		if (!raw_present(env->fmt, e) || (e & 0x80))
			return 0;
		table = (const uint64_t *)(uintptr_t)(e & ADDR);
	}
}

/* ---- Model -------------------------------------------------------------- */

static uint8_t *model_byte(const struct tdp_env *env, uint64_t gfn)
{
	const struct memslot *slot = oracle_find(env, gfn);

	return &env->mapped[slot - env->slots.slot][gfn - slot->base_gfn];
}

enum tdp_fault_result model_expect(const struct tdp_env *env, uint64_t gpa,
				   unsigned *level)
{
	const struct memslot *slot;

	if (gpa >= (1ull << 48) || !(slot = oracle_find(env, gpa / PAGE)))
		return TDP_MMIO;
	/* A large-capable chunk is always mapped whole by its first fault:
	 * nothing else can put a 4 KiB table under it. */
	*level = oracle_large(env, slot, gpa / PAGE) ? 2 : 1;
	return *model_byte(env, gpa / PAGE) ? TDP_SPURIOUS : TDP_FIXED;
}

void model_mark(struct tdp_env *env, uint64_t gpa)
{
	const struct memslot *slot = oracle_find(env, gpa / PAGE);
	uint64_t gfn = gpa / PAGE, first = gfn, n = 1;

	if (*model_byte(env, gfn))
		return;		/* a large chunk is marked whole */
	if (oracle_large(env, slot, gfn)) {
		first = gfn / CHUNK_PAGES * CHUNK_PAGES;
		n = CHUNK_PAGES;
	}
	for (uint64_t g = first; g < first + n; g++) {
		uint8_t *m = model_byte(env, g);

		env->mapped_pages += !*m;
		*m = 1;
	}
}

void fault_and_check(struct tdp_env *env, uint64_t gpa)
{
	unsigned level = 0, got_level;
	enum tdp_fault_result want = model_expect(env, gpa, &level);
	uint64_t hpa;

	assert_int_equal(tdp_mmu_fault(&env->mmu, gpa, TDP_ACCESS_READ), want);
	if (want == TDP_MMIO) {
		assert_false(tdp_mmu_lookup(&env->mmu, gpa, &hpa, &got_level));
		return;
	}
	model_mark(env, gpa);
	assert_true(tdp_mmu_lookup(&env->mmu, gpa, &hpa, &got_level));
	assert_int_equal(hpa, oracle_hpa(oracle_find(env, gpa / PAGE), gpa));
	assert_int_equal(got_level, level);
}

/* ---- The reference walk ------------------------------------------------- */

static void check_leaf(struct tdp_env *env, uint64_t gpa, uint64_t e,
		       unsigned level, struct ref_count *count)
{
	uint64_t pages = level == 2 ? CHUNK_PAGES : 1, hpa = e & ADDR;
	const struct memslot *slot = oracle_find(env, gpa / PAGE);

	assert_int_equal(e & ~ADDR, expect_leaf_flags(env->fmt, level));
	assert_non_null(slot);
	if (level == 2) {
		assert_int_equal(hpa % CHUNK, 0);
		assert_true(oracle_large(env, slot, gpa / PAGE));
		count->leaves_2m++;
	} else {
		count->leaves_4k++;
	}
	for (uint64_t i = 0; i < pages; i++) {
		uint64_t gfn = gpa / PAGE + i;

		assert_ptr_equal(oracle_find(env, gfn), slot);
		assert_int_equal(slot->hpa[gfn - slot->base_gfn], hpa + i * PAGE);
		if (env->model)
			assert_true(*model_byte(env, gfn));
	}
}

static void walk_table(struct tdp_env *env, uint64_t table_hpa, unsigned level,
		       uint64_t gpa_base, struct ref_count *count)
{
	const uint64_t *table = (const uint64_t *)(uintptr_t)table_hpa;
	unsigned shift = 12 + 9 * (level - 1);

	assert_int_equal(table_hpa % PAGE, 0);
	count->tables++;
	for (uint64_t i = 0; i < 512; i++) {
		uint64_t e = table[i], gpa = gpa_base + (i << shift);

		if (!raw_present(env->fmt, e)) {
			assert_int_equal(e, 0);	/* nothing half-written */
			continue;
		}
		if (level == 1 || (e & 0x80)) {
			assert_true(level <= 2);	/* no 1 GiB leaves */
			check_leaf(env, gpa, e, level, count);
		} else {
			assert_int_equal(e & ~ADDR, expect_table_flags(env->fmt));
			walk_table(env, e & ADDR, level - 1, gpa, count);
		}
	}
}

void ref_check(struct tdp_env *env, struct ref_count *out)
{
	struct ref_count count = { 0 };
	struct tdp_stats s;

	walk_table(env, env->mmu.root_hpa, 4, 0, &count);
	tdp_mmu_get_stats(&env->mmu, &s);
	assert_int_equal(s.tables, count.tables);
	assert_int_equal(mmu_host_live_tables(), (long)count.tables);
	assert_int_equal(s.mapped_4k, count.leaves_4k);
	assert_int_equal(s.mapped_2m, count.leaves_2m);
	assert_int_equal(s.fixed, s.mapped_4k + s.mapped_2m);
	assert_int_equal(s.faults, s.fixed + s.spurious + s.mmio + s.nomem);
	if (env->model)
		assert_int_equal(env->mapped_pages,
				 count.leaves_4k + CHUNK_PAGES * count.leaves_2m);
	if (out)
		*out = count;
}
