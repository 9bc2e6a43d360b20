/* Host page tables: the kernel's own address space (see kernel/mm.h). */
#ifndef ARCH_X86_PAGING_H
#define ARCH_X86_PAGING_H

#include <stdint.h>

#define PAGE_SIZE_4K 4096ull

/* Device memory: 0xFFFFC00000000000 up, uncached (PCD|PWT), NX. */
#define MMIO_AREA_BASE	0xffffc00000000000ull
/* Stacks with unmapped guard pages below them. */
#define STACK_AREA_BASE	0xffffc80000000000ull

/* Physical address of the kernel's PML4 (set by paging_init). */
extern uint64_t kernel_pml4_pa;

/* Map [pa, pa + size) uncached; returns the virtual address of 'pa'. */
void *paging_map_mmio(uint64_t pa, uint64_t size);

/* A stack of 'pages' 4 KiB pages with an unmapped page below; returns
 * its top (the initial RSP). */
uint64_t paging_alloc_stack(unsigned pages);

/* Map 'pa' at 'va' as a 4 KiB page in the kernel's tables (used for the
 * AP trampoline's identity mapping too). */
void paging_map_4k(uint64_t *pml4, uint64_t va, uint64_t pa, uint64_t flags);

#endif
