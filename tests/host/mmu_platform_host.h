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

/* Call hook(hpa, ctx) from every mmu_hpa_to_virt (NULL: none): lets a
 * test act at a precise moment inside the MMU, e.g. store to guest memory
 * as another vCPU would between two reads of a fault. Not reentered. */
void mmu_host_set_hpa_hook(void (*hook)(uint64_t hpa, void *ctx), void *ctx);

#endif
