/*
 * The TDP MMU with several vCPUs at once, under ThreadSanitizer: four
 * threads fault random guest addresses of one VM while a fifth walks the
 * tables without the lock (tdp_mmu_lookup), as the CPU's own walker and
 * later the lockless fast path do. TSan reports any access to an entry or
 * a counter that the MMU lock or the entries' release/acquire do not
 * order; afterwards the oracle (tdp_oracle.c) checks every table, every
 * page faulted maps where its slot says, the stats add up and destroy
 * frees every table.
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
#define THREADS		4
#define FAULTS		50000		/* per thread */

static struct tdp_env env;
static uint64_t total_pages;

struct vcpu_thread {
	pthread_t thread;
	uint64_t rng;
	uint64_t gpa[FAULTS];
	enum tdp_fault_result result[FAULTS];
};

static struct vcpu_thread vcpus[THREADS];
static int walkers_stop;
static uint64_t walker_lookups, walker_bad;

/* A guest address: mostly a slot page (all pages equally likely), one in
 * twenty outside every slot. */
static uint64_t random_gpa(uint64_t *rng)
{
	if (rng_below(rng, 20) == 0)
		return rng_below(rng, 2) ? rng_next(rng) :
		       rng_below(rng, 1ull << 36);

	uint64_t p = rng_below(rng, total_pages);
	const struct memslot *s = env.slots.slot;

	while (p >= s->npages)
		p -= (s++)->npages;
	return (s->base_gfn + p) * PAGE + rng_below(rng, PAGE);
}

static void *vcpu_main(void *arg)
{
	struct vcpu_thread *v = arg;

	for (unsigned i = 0; i < FAULTS; i++) {
		v->gpa[i] = random_gpa(&v->rng);
		v->result[i] = tdp_mmu_fault(&env.mmu, v->gpa[i],
					     TDP_ACCESS_READ);
	}
	return NULL;
}

/* Lockless lookups while the faults run: whatever is mapped already must
 * map where the slot says (slot arrays are read-only here). */
static void *walker_main(void *arg)
{
	uint64_t rng = (uintptr_t)arg, hpa;
	unsigned level;

	while (!__atomic_load_n(&walkers_stop, __ATOMIC_ACQUIRE)) {
		uint64_t gpa = random_gpa(&rng);
		const struct memslot *slot = oracle_find(&env, gpa / PAGE);

		if (!tdp_mmu_lookup(&env.mmu, gpa, &hpa, &level))
			continue;
		walker_lookups++;
		if (!slot || gpa >= (1ull << 48) || hpa != oracle_hpa(slot, gpa) ||
		    level != (oracle_large(&env, slot, gpa / PAGE) ? 2u : 1u))
			walker_bad++;
	}
	return NULL;
}

static void build_vm(const struct tdp_format *fmt)
{
	uint64_t rng = 0xc0ffee;

	env_init(&env, fmt, true);
	env_add_slot(&env, 0, 8 * CHUNK_PAGES, BACK_MIXED, &rng);
	env_add_slot(&env, 8 * CHUNK_PAGES + 0x51, 4 * CHUNK_PAGES,
		     BACK_MIXED, &rng);
	env_add_slot(&env, 0x100000, 4 * CHUNK_PAGES, BACK_LARGE, &rng);
	env_add_slot(&env, 0x800000 + 3, 2 * CHUNK_PAGES, BACK_SCATTERED, &rng);
	total_pages = 0;
	for (unsigned i = 0; i < env.slots.count; i++)
		total_pages += env.slots.slot[i].npages;
}

/* Run the vCPU threads and the walker (same_sequence: every thread
 * faults the same addresses in the same order). */
static void run_threads(bool same_sequence)
{
	pthread_t walker;

	walker_lookups = walker_bad = 0;
	__atomic_store_n(&walkers_stop, 0, __ATOMIC_RELAXED);
	assert_int_equal(pthread_create(&walker, NULL, walker_main,
					(void *)(uintptr_t)99), 0);
	for (int t = 0; t < THREADS; t++) {
		vcpus[t].rng = same_sequence ? 12345 : 1000 + t;
		assert_int_equal(pthread_create(&vcpus[t].thread, NULL,
						vcpu_main, &vcpus[t]), 0);
	}
	for (int t = 0; t < THREADS; t++)
		pthread_join(vcpus[t].thread, NULL);
	__atomic_store_n(&walkers_stop, 1, __ATOMIC_RELEASE);
	pthread_join(walker, NULL);
	assert_int_equal(walker_bad, 0);
}

/* After the threads: every result is one the page allows, every page that
 * was fixed or found is in the model, and the oracle agrees with it all. */
static struct tdp_stats check_after(void)
{
	uint64_t counted[4] = { 0 };
	struct tdp_stats s;

	for (int t = 0; t < THREADS; t++) {
		for (unsigned i = 0; i < FAULTS; i++) {
			uint64_t gpa = vcpus[t].gpa[i];
			unsigned level;
			bool in_slot = model_expect(&env, gpa, &level) != TDP_MMIO;
			enum tdp_fault_result r = vcpus[t].result[i];

			counted[r]++;
			if (!in_slot) {
				assert_int_equal(r, TDP_MMIO);
				continue;
			}
			assert_int_not_equal(r, TDP_MMIO);
			if (r != TDP_NOMEM)
				model_mark(&env, gpa);
		}
	}
	ref_check(&env, NULL);
	tdp_mmu_get_stats(&env.mmu, &s);
	assert_int_equal(s.faults, THREADS * FAULTS);
	assert_int_equal(s.fixed, counted[TDP_FIXED]);
	assert_int_equal(s.spurious, counted[TDP_SPURIOUS]);
	assert_int_equal(s.mmio, counted[TDP_MMIO]);
	assert_int_equal(s.nomem, counted[TDP_NOMEM]);
	return s;
}

static void test_four_vcpus_fault_one_vm(void **state)
{
	build_vm(*state);
	run_threads(false);

	struct tdp_stats s = check_after();

	print_message("tdp %s: %d threads x %d faults: %llu fixed, %llu "
		      "spurious, %llu mmio; %llu lockless lookups hit\n",
		      ((const struct tdp_format *)*state)->name, THREADS,
		      FAULTS, (unsigned long long)s.fixed,
		      (unsigned long long)s.spurious,
		      (unsigned long long)s.mmio,
		      (unsigned long long)walker_lookups);
	assert_int_equal(s.nomem, 0);
	env_free(&env);
	assert_int_equal(mmu_host_live_tables(), 0);
}

/* All threads fault the same addresses in the same order: they collide
 * on nearly every page, and each page is still installed exactly once
 * (fixed == leaves), the others finding it present. */
static void test_same_pages_installed_once(void **state)
{
	build_vm(*state);
	run_threads(true);

	struct tdp_stats s = check_after();

	assert_true(s.spurious >= (THREADS - 1) * (s.fixed));
	env_free(&env);
}

/* Out of memory with four vCPUs: after a budget of table pages every
 * fault that needs one gets TDP_NOMEM; the tables stay consistent and
 * destroy frees them all. */
static void test_out_of_memory_under_contention(void **state)
{
	build_vm(*state);
	mmu_host_fail_after(12);
	run_threads(false);
	mmu_host_fail_after(-1);

	struct tdp_stats s = check_after();

	assert_true(s.nomem > 0);
	assert_int_equal(s.tables, 1 + 12);
	env_free(&env);
}

#define BOTH(f)								\
	cmocka_unit_test_prestate(f, (void *)&tdp_format_ept),		\
	cmocka_unit_test_prestate(f, (void *)&tdp_format_npt)

int main(void)
{
	const struct CMUnitTest tests[] = {
		BOTH(test_four_vcpus_fault_one_vm),
		BOTH(test_same_pages_installed_once),
		BOTH(test_out_of_memory_under_contention),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
