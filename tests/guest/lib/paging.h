/* Page-table builders for test guests: 32-bit 2-level paging (4K and 4M
 * pages), PAE (3 levels, 4K and 2M) and 4-level long mode (4K, 2M, 1G),
 * mapping helpers, and entering and leaving each mode.
 *
 * Tables come from a static pool inside the image, so they are covered by
 * an identity map of the image. Levels are numbered from the leaf: 1 = page
 * table, 2 = page directory, 3 = PDPT, 4 = PML4. Non-leaf entries are
 * created present, writable and user (the leaf decides), except PAE PDPTEs,
 * which have only the P bit (R/W and U/S are reserved there).
 */
#ifndef TESTS_GUEST_LIB_PAGING_H
#define TESTS_GUEST_LIB_PAGING_H

#include <stdbool.h>
#include <stdint.h>

#define PTE_P		(1ull << 0)
#define PTE_W		(1ull << 1)
#define PTE_U		(1ull << 2)
#define PTE_PWT		(1ull << 3)
#define PTE_PCD		(1ull << 4)
#define PTE_A		(1ull << 5)
#define PTE_D		(1ull << 6)
#define PTE_PS		(1ull << 7)	/* in a level 2/3 entry: large page */
#define PTE_G		(1ull << 8)
#define PTE_NX		(1ull << 63)	/* PAE and long mode, EFER.NXE */

#define PAGE_4K		0x1000ull
#define PAGE_2M		0x200000ull
#define PAGE_4M		0x400000ull
#define PAGE_1G		0x40000000ull

enum paging_mode {
	PAGING_OFF = 0,
	PAGING_32,		/* CR4.PSE for 4M pages */
	PAGING_PAE,
	PAGING_LONG,		/* IA-32e, 4-level */
};

struct page_table {
	enum paging_mode mode;
	uint32_t root;		/* physical = virtual: the pool is identity-mapped */
};

/* One entry of a table: where it is and how wide (4 or 8 bytes). */
struct pte_ref {
	uint32_t addr;
	uint8_t width;
	uint8_t level;
};

/* paging_enter() options. */
#define PAGING_WP	(1u << 0)	/* CR0.WP */
#define PAGING_NXE	(1u << 1)	/* EFER.NXE (PAE and long mode) */

const char *paging_mode_name(enum paging_mode mode);

/* Start a new table in mode; empties the pool first, so only one table
 * exists at a time (enough for tests, and nothing leaks). */
bool pt_init(struct page_table *pt, enum paging_mode mode);

/* Several tables at once (ctxswitch, ptwriter). pt_pool_set() puts the
 * pool in caller memory: pages 4K pages at base, which must be
 * identity-mapped whenever tables are built or read with paging on (base
 * 0: back to the static pool); it empties the pool. pt_init_another()
 * starts one more table and keeps the others; pt_alloc_page() hands out a
 * zeroed page of the pool (0 when it is empty). */
void pt_pool_set(uint32_t base, unsigned pages);
bool pt_init_another(struct page_table *pt, enum paging_mode mode);
uint32_t pt_alloc_page(void);
unsigned pt_pool_free(void);

/* Map one page of size (4K; 4M in 32-bit mode; 2M in PAE/long; 1G in long
 * mode) at va to pa with flags (PTE_P is not implied). Creates missing
 * tables; fails on a misaligned address, a size the mode lacks, NX in
 * 32-bit mode, a large page in the way, or an empty pool. */
bool pt_map(struct page_table *pt, uint64_t va, uint64_t pa, uint64_t size,
	    uint64_t flags);
/* Map [va, va + len) to pa with pages of one size. */
bool pt_map_range(struct page_table *pt, uint64_t va, uint64_t pa,
		  uint64_t len, uint64_t size, uint64_t flags);

/* The entry at level that translates va; false if the walk stops above
 * that level (a non-present or large entry). */
bool pt_entry(const struct page_table *pt, uint64_t va, unsigned level,
	      struct pte_ref *ref);
/* The entry that ends the walk for va: the leaf (4K or large) or the
 * first non-present one. */
bool pt_leaf(const struct page_table *pt, uint64_t va, struct pte_ref *ref);
uint64_t pte_get(const struct pte_ref *ref);
void pte_set(const struct pte_ref *ref, uint64_t value);

/* Turn paging on with this table (paging must be off), or off again. In
 * long mode the CPU stays in compatibility mode (32-bit code) and the
 * 64-bit IDT and TSS are loaded; paging_leave() restores the 32-bit ones
 * and clears CR4.PAE/PSE and EFER.LME/NXE. */
void paging_enter(const struct page_table *pt, unsigned opts);
void paging_leave(void);
enum paging_mode paging_current(void);

void set_cr0_wp(bool on);
/* Invalidate one translation; handles addresses above 4 GiB in long mode. */
void flush_va(uint64_t va);
/* Reload CR3: flushes all non-global translations. */
void flush_tlb(void);

/* long64.asm: 64-bit code, callable in IA-32e mode only. */
uint64_t lm_read64(uint64_t va);
void lm_write64(uint64_t va, uint64_t value);
void lm_call64(uint64_t va);
void lm_invlpg(uint64_t va);
uint32_t lm_code_bits(void);

#endif
