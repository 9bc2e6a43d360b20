/* forkbench: what its files share. mm.c is the guest's little memory
 * manager (page allocator, address spaces, fork, teardown, the #PF
 * handler); forkbench.c is the workload, its model and its checks;
 * mm64.asm has the 64-bit stores and the handler's entry. */
#ifndef TESTS_GUEST_FORKBENCH_H
#define TESTS_GUEST_FORKBENCH_H

#include "tests/guest/lib/guest.h"

/* Guest-physical layout: everything below 16 MiB. */
#define IDENTITY_END	0x01000000u	/* the kernel's map: 0-16 MiB */
#define POOL_BASE	0x00800000u	/* tables and data: 8-16 MiB */
#define POOL_END	0x01000000u
#define POOL_PAGES	((POOL_END - POOL_BASE) / 4096u)

#define PTE_ADDR	0x000ffffffffff000ull
/* Software bit (AVL): the region is writable, as an OS knows from its
 * VMA. A present entry with it and without R/W is copy-on-write. */
#define PTE_SW_WRITE	(1ull << 9)

/* The user regions of the parent (and of each child fork makes). */
enum { REG_TEXT, REG_DATA, REG_HEAP, REG_STACK, NR_REGIONS };
#define NR_PAGES	160u

/* The exec'd program: text loaded at exec, a stack faulted in on demand
 * (in another 1 GiB range, so its fault also allocates a PD and a PT). */
#define EXEC_TEXT_VA	0x40000000u
#define EXEC_TEXT_PAGES	16u
#define EXEC_STACK_VA	0xbfff8000u
#define EXEC_STACK_PAGES 8u

struct region {
	uint32_t va;
	unsigned pages, first;	/* first: index of its first page */
	bool writable;		/* copy-on-write after fork */
	bool demand;		/* not mapped until touched (demand-zero) */
};

enum { SP_PARENT, SP_CHILD, SP_EXEC, NR_SPACES };

struct space {
	uint32_t pml4;		/* 0: the space does not exist */
	const struct region *regions;
	unsigned nr_regions;
	const char *name;
};

/* What the guest counts (mm.c). The #PF handler updates them: volatile,
 * the workload reads them right after a store that faulted. */
struct fb_counters {
	uint64_t pt_writes;	/* stores into page-table pages */
	uint64_t faults;	/* #PF handler invocations */
	uint64_t cr3_loads, invlpgs;
	uint64_t zeroed, copied;	/* pages zeroed, copied (data) */
	uint64_t cow_copies, cow_reuses, zero_fills;	/* fault outcomes */
};
extern volatile struct fb_counters cnt;
extern volatile uint32_t last_cr2, last_err;

extern struct space spaces[NR_SPACES];
extern const struct region user_regions[NR_REGIONS];
extern const struct region exec_regions[2];
extern unsigned cur_space;
extern unsigned mm_errors;	/* allocator and refcount misuse */

/* mm.c */
void mm_init(void);
bool mm_long_mode_on(void);	/* 64-bit helpers usable from now on */
uint32_t page_alloc(bool zero);
void page_get(uint32_t frame);
void page_put(uint32_t frame);
unsigned page_refs(uint32_t frame);
unsigned pages_free(void);
uint32_t kernel_pd(void);
bool space_new(unsigned s);
/* Map va to (frame | flags), allocating missing tables. */
bool space_map(unsigned s, uint32_t va, uint64_t pte);
/* The address of va's PTE in space s; 0 when a table is missing. */
uint32_t space_pte(unsigned s, uint32_t va);
unsigned space_tables(unsigned s);
bool space_fork(unsigned parent, unsigned child);
/* Clear every user PTE (INVLPG each when the space is current), then
 * the tables and the PML4 (the space must not be current by then). */
void space_zap(unsigned s);
void space_free_tables(unsigned s);
void switch_space(unsigned s);
uint64_t pte_read(uint32_t addr);

/* mm64.asm */
void fb_pte_store(uint32_t addr, uint64_t value);
uint64_t fb_pte_xchg(uint32_t addr, uint64_t value);
void fb_pte_wrprotect(uint32_t addr);
void fb_zero_page(uint32_t page);
void fb_copy_page(uint32_t dst, uint32_t src);
void fb_pf64(void);

#endif
