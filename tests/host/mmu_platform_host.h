/*
 * Test controls of the host backing of mmu/platform.h
 * (tests/host/mmu_platform_host.c).
 */
#ifndef TESTS_HOST_MMU_PLATFORM_HOST_H
#define TESTS_HOST_MMU_PLATFORM_HOST_H

#include <stdint.h>

/* Table pages allocated and not yet freed. */
long mmu_host_live_tables(void);

/* Table pages allocated since the start (successful calls). */
long mmu_host_allocs(void);

/* Let the next 'n' allocations succeed and every one after them fail;
 * n < 0: never fail (the default). */
void mmu_host_fail_after(long n);

/* Failed allocations since the start. */
long mmu_host_failed_allocs(void);

#endif
