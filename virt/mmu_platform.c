/* mmu/platform.h in the hypervisor: frames and spinlocks. */
#include "mmu/platform.h"
#include "kernel/mm.h"
#include "kernel/panic.h"

void *mmu_alloc_table(uint64_t *hpa)
{
	uint64_t pa = alloc_frame();

	if (pa == FRAME_NONE)
		return NULL;
	*hpa = pa;
	return phys_to_virt(pa);
}

/* The frame allocator searches upwards from low memory, so this seldom
 * fails on machines with memory below 4 GiB; when it does, the VM cannot
 * run a shadow-paged vCPU in PAE mode. */
void *mmu_alloc_table_below_4g(uint64_t *hpa)
{
	uint64_t pa = alloc_frame();

	if (pa == FRAME_NONE)
		return NULL;
	if (pa >= 0x100000000ull) {
		free_frame(pa);
		return NULL;
	}
	*hpa = pa;
	return phys_to_virt(pa);
}

void mmu_free_table(uint64_t hpa)
{
	free_frame(hpa);
}

void *mmu_hpa_to_virt(uint64_t hpa)
{
	return phys_to_virt(hpa);
}

void mmu_lock_init(mmu_lock_t *lock)
{
	*lock = (struct spinlock)SPINLOCK_INIT("mmu");
}

void mmu_lock(mmu_lock_t *lock)
{
	spin_lock(lock);
}

void mmu_unlock(mmu_lock_t *lock)
{
	spin_unlock(lock);
}

void mmu_assert_locked(mmu_lock_t *lock)
{
	assert_spin_locked(lock);
}
