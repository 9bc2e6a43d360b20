/*
 * mmu/platform.h on the host: table pages from aligned_alloc, whose
 * address is also their "host-physical" address (hpa == pointer value;
 * user-space pointers fit in the 52-bit address field), a pthread mutex
 * with an owner for the MMU lock. Counters are atomic so tests under
 * ThreadSanitizer can allocate from several threads.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "mmu/platform.h"
#include "tests/host/mmu_platform_host.h"

#define TABLE_SIZE 4096

static long live_tables;
static long allocs;
static long failed_allocs;
static long allocs_left = -1;	/* < 0: unlimited */

long mmu_host_live_tables(void)
{
	return __atomic_load_n(&live_tables, __ATOMIC_RELAXED);
}

long mmu_host_allocs(void)
{
	return __atomic_load_n(&allocs, __ATOMIC_RELAXED);
}

long mmu_host_failed_allocs(void)
{
	return __atomic_load_n(&failed_allocs, __ATOMIC_RELAXED);
}

void mmu_host_fail_after(long n)
{
	__atomic_store_n(&allocs_left, n, __ATOMIC_RELAXED);
}

/* Take one allocation from the budget; false if it is used up. */
static bool budget_take(void)
{
	long left = __atomic_load_n(&allocs_left, __ATOMIC_RELAXED);

	do {
		if (left < 0)
			return true;
		if (left == 0)
			return false;
	} while (!__atomic_compare_exchange_n(&allocs_left, &left, left - 1,
					      false, __ATOMIC_RELAXED,
					      __ATOMIC_RELAXED));
	return true;
}

void *mmu_alloc_table(uint64_t *hpa)
{
	void *page;

	if (!budget_take()) {
		__atomic_fetch_add(&failed_allocs, 1, __ATOMIC_RELAXED);
		return NULL;
	}
	page = aligned_alloc(TABLE_SIZE, TABLE_SIZE);
	if (!page)
		return NULL;
	memset(page, 0, TABLE_SIZE);
	*hpa = (uint64_t)(uintptr_t)page;
	__atomic_fetch_add(&live_tables, 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&allocs, 1, __ATOMIC_RELAXED);
	return page;
}

/* Host "physical" addresses are pointers: the simulated CPU of the shadow
 * tests does not care where the PAE root lies. */
void *mmu_alloc_table_below_4g(uint64_t *hpa)
{
	return mmu_alloc_table(hpa);
}

void mmu_free_table(uint64_t hpa)
{
	mock_assert(hpa != 0 && hpa % TABLE_SIZE == 0, "table hpa aligned",
		    __FILE__, __LINE__);
	free((void *)(uintptr_t)hpa);
	__atomic_fetch_sub(&live_tables, 1, __ATOMIC_RELAXED);
}

static void (*hpa_hook)(uint64_t hpa, void *ctx);
static void *hpa_hook_ctx;
static bool in_hpa_hook;

void mmu_host_set_hpa_hook(void (*hook)(uint64_t hpa, void *ctx), void *ctx)
{
	hpa_hook = hook;
	hpa_hook_ctx = ctx;
}

void *mmu_hpa_to_virt(uint64_t hpa)
{
	if (hpa_hook && !in_hpa_hook) {
		in_hpa_hook = true;
		hpa_hook(hpa, hpa_hook_ctx);
		in_hpa_hook = false;
	}
	return (void *)(uintptr_t)hpa;
}

/* 'held' and 'owner' are written only by the holder, under the mutex, but
 * read by the checks on any thread: atomic accesses. The holder writes
 * owner, then held with release; a reader that sees held (acquire) sees
 * that owner or a later one. So the holder finds itself, and any other
 * thread finds held false or another owner: the check fails. */
void mmu_lock_init(mmu_lock_t *lock)
{
	pthread_mutex_init(&lock->mutex, NULL);
	lock->held = false;
}

static bool held_by_me(mmu_lock_t *lock)
{
	pthread_t owner;

	if (!__atomic_load_n(&lock->held, __ATOMIC_ACQUIRE))
		return false;
	__atomic_load(&lock->owner, &owner, __ATOMIC_RELAXED);
	return pthread_equal(owner, pthread_self());
}

void mmu_lock(mmu_lock_t *lock)
{
	pthread_t self = pthread_self();

	mock_assert(!held_by_me(lock), "mmu lock taken again by its holder",
		    __FILE__, __LINE__);
	pthread_mutex_lock(&lock->mutex);
	__atomic_store(&lock->owner, &self, __ATOMIC_RELAXED);
	__atomic_store_n(&lock->held, true, __ATOMIC_RELEASE);
}

void mmu_unlock(mmu_lock_t *lock)
{
	mock_assert(held_by_me(lock), "mmu lock released by a non-holder",
		    __FILE__, __LINE__);
	__atomic_store_n(&lock->held, false, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&lock->mutex);
}

/* mock_assert fails the running test, or, inside cmocka's
 * expect_assert_failure, returns there. */
void mmu_assert_locked(mmu_lock_t *lock)
{
	if (!held_by_me(lock))
		fprintf(stderr, "mmu_assert_locked: the MMU lock is not held "
			"by the calling thread\n");
	mock_assert(held_by_me(lock), "mmu lock held by the caller",
		    __FILE__, __LINE__);
}
