/*
 * What the portable MMU needs from its host, and nothing more. The
 * hypervisor backs it with the frame allocator and spinlocks
 * (virt/mmu_platform.c); tests/host backs it with malloc and pthreads
 * (tests/host/mmu_platform_host.c), so the same MMU code runs under
 * AddressSanitizer and ThreadSanitizer.
 */
#ifndef MMU_PLATFORM_H
#define MMU_PLATFORM_H

#include <stdbool.h>
#include <stdint.h>

/* A zeroed 4 KiB page-table page: its host-physical address in *hpa and a
 * pointer to it, or NULL when memory is exhausted. */
void *mmu_alloc_table(uint64_t *hpa);
void mmu_free_table(uint64_t hpa);
/* The same, below 4 GiB (a PAE root: CR3 holds 32 bits in PAE mode), or
 * NULL. Freed with mmu_free_table. */
void *mmu_alloc_table_below_4g(uint64_t *hpa);
void *mmu_hpa_to_virt(uint64_t hpa);

#ifdef HOST_TEST
#include <pthread.h>
typedef struct {
	pthread_mutex_t mutex;
	pthread_t owner;
	bool held;
} mmu_lock_t;
#else
#include "smp/spinlock.h"
typedef struct spinlock mmu_lock_t;
#endif

void mmu_lock_init(mmu_lock_t *lock);
void mmu_lock(mmu_lock_t *lock);
void mmu_unlock(mmu_lock_t *lock);
/* Stops (panic / test failure) if the calling CPU does not hold it. */
void mmu_assert_locked(mmu_lock_t *lock);

#endif
