/* Page-table builders and paging mode switches (paging.h). */
#include "tests/guest/lib/guest.h"
#include "tests/guest/lib/util.h"

#define POOL_PAGES	40

void lm_enter(uint32_t pml4, uint32_t efer_bits, uint32_t cr0_bits);
void lm_leave(void);

static uint8_t pool[POOL_PAGES][4096] __attribute__((aligned(4096)));
static uint32_t pool_base;		/* 0: the static pool */
static unsigned pool_pages = POOL_PAGES;
static unsigned pool_used;

/* The geometry of each mode: levels, bits per level, entry width. */
struct pt_geometry {
	unsigned levels, index_bits, width;
};

static struct pt_geometry geometry(enum paging_mode mode)
{
	switch (mode) {
	case PAGING_32:		return (struct pt_geometry){ 2, 10, 4 };
	case PAGING_PAE:	return (struct pt_geometry){ 3, 9, 8 };
	case PAGING_LONG:	return (struct pt_geometry){ 4, 9, 8 };
	default:		return (struct pt_geometry){ 0, 0, 0 };
	}
}

const char *paging_mode_name(enum paging_mode mode)
{
	switch (mode) {
	case PAGING_OFF:	return "paging off";
	case PAGING_32:		return "32-bit";
	case PAGING_PAE:	return "PAE";
	case PAGING_LONG:	return "long mode";
	}
	return "?";
}

static uint32_t pool_alloc(void)
{
	uint32_t page;

	if (pool_used == pool_pages)
		return 0;
	page = (pool_base ? pool_base : (uint32_t)pool) + pool_used++ * 4096;
	memset((void *)page, 0, 4096);
	return page;
}

uint32_t pt_alloc_page(void)
{
	return pool_alloc();
}

void pt_pool_set(uint32_t base, unsigned pages)
{
	pool_base = base;
	pool_pages = base ? pages : POOL_PAGES;
	pool_used = 0;
}

unsigned pt_pool_free(void)
{
	return pool_pages - pool_used;
}

bool pt_init_another(struct page_table *pt, enum paging_mode mode)
{
	pt->mode = mode;
	pt->root = geometry(mode).levels ? pool_alloc() : 0;
	return pt->root != 0;
}

bool pt_init(struct page_table *pt, enum paging_mode mode)
{
	pool_used = 0;
	return pt_init_another(pt, mode);
}

static unsigned shift_of(const struct pt_geometry *g, unsigned level)
{
	return 12 + g->index_bits * (level - 1);
}

static struct pte_ref ref_in(uint32_t table, const struct pt_geometry *g,
			     uint64_t va, unsigned level)
{
	uint32_t index = (uint32_t)(va >> shift_of(g, level)) &
			 ((1u << g->index_bits) - 1);

	/* The PAE PDPT has 4 entries: va bits 31:30. */
	return (struct pte_ref){ table + index * g->width, (uint8_t)g->width,
				 (uint8_t)level };
}

uint64_t pte_get(const struct pte_ref *ref)
{
	if (ref->width == 4)
		return *(volatile uint32_t *)ref->addr;
	return *(volatile uint64_t *)ref->addr;
}

void pte_set(const struct pte_ref *ref, uint64_t value)
{
	if (ref->width == 4) {
		*(volatile uint32_t *)ref->addr = (uint32_t)value;
	} else {
		/* Two 32-bit stores: write the high half first while P in the
		 * low half is still the old value; fine for tests that change
		 * entries of pages they are not using. */
		volatile uint32_t *p = (volatile uint32_t *)ref->addr;

		p[1] = (uint32_t)(value >> 32);
		p[0] = (uint32_t)value;
	}
}

/* The address bits of a non-leaf entry. */
static uint32_t next_table(uint64_t entry)
{
	return (uint32_t)entry & ~0xfffu;
}

/* Where PS means a large page: level 2 in every mode, level 3 (1G) in
 * long mode. */
static bool is_large(const struct pt_geometry *g, unsigned level,
		     uint64_t entry)
{
	return (level == 2 || (level == 3 && g->levels == 4)) &&
	       (entry & PTE_PS);
}

bool pt_entry(const struct page_table *pt, uint64_t va, unsigned level,
	      struct pte_ref *ref)
{
	struct pt_geometry g = geometry(pt->mode);
	uint32_t table = pt->root;

	if (!g.levels || level < 1 || level > g.levels)
		return false;
	for (unsigned l = g.levels;; l--) {
		uint64_t entry;

		*ref = ref_in(table, &g, va, l);
		if (l == level)
			return true;
		entry = pte_get(ref);
		if (!(entry & PTE_P) || is_large(&g, l, entry))
			return false;
		table = next_table(entry);
	}
}

bool pt_leaf(const struct page_table *pt, uint64_t va, struct pte_ref *ref)
{
	struct pt_geometry g = geometry(pt->mode);
	uint32_t table = pt->root;

	if (!g.levels)
		return false;
	for (unsigned l = g.levels;; l--) {
		uint64_t entry;

		*ref = ref_in(table, &g, va, l);
		entry = pte_get(ref);
		if (l == 1 || !(entry & PTE_P) || is_large(&g, l, entry))
			return true;
		table = next_table(entry);
	}
}

static unsigned level_for_size(enum paging_mode mode, uint64_t size)
{
	if (size == PAGE_4K)
		return 1;
	if ((mode == PAGING_32 && size == PAGE_4M) ||
	    (mode != PAGING_32 && size == PAGE_2M))
		return 2;
	if (mode == PAGING_LONG && size == PAGE_1G)
		return 3;
	return 0;
}

bool pt_map(struct page_table *pt, uint64_t va, uint64_t pa, uint64_t size,
	    uint64_t flags)
{
	struct pt_geometry g = geometry(pt->mode);
	unsigned target = level_for_size(pt->mode, size);
	uint64_t va_limit = pt->mode == PAGING_LONG ? 1ull << 48 : 1ull << 32;
	uint32_t table = pt->root;
	struct pte_ref ref;

	if (!g.levels || !target || (va | pa) & (size - 1) || va >= va_limit ||
	    (pt->mode == PAGING_32 && (flags & PTE_NX || pa >> 32)))
		return false;
	for (unsigned l = g.levels; l > target; l--) {
		uint64_t entry;

		ref = ref_in(table, &g, va, l);
		entry = pte_get(&ref);
		if (!(entry & PTE_P)) {
			uint32_t page = pool_alloc();

			if (!page)
				return false;
			entry = page | PTE_P;
			if (!(pt->mode == PAGING_PAE && l == 3))
				entry |= PTE_W | PTE_U;
			pte_set(&ref, entry);
		} else if (is_large(&g, l, entry)) {
			return false;
		}
		table = next_table(entry);
	}
	ref = ref_in(table, &g, va, target);
	pte_set(&ref, pa | flags | (target > 1 ? PTE_PS : 0));
	return true;
}

bool pt_map_range(struct page_table *pt, uint64_t va, uint64_t pa,
		  uint64_t len, uint64_t size, uint64_t flags)
{
	for (uint64_t off = 0; off < len; off += size)
		if (!pt_map(pt, va + off, pa + off, size, flags))
			return false;
	return true;
}

static void set_efer_nxe(bool on)
{
	uint64_t efer;

	if (!cpu_has_nx())
		return;
	efer = rdmsr(MSR_EFER);
	efer = on ? efer | EFER_NXE : efer & ~(uint64_t)EFER_NXE;
	wrmsr(MSR_EFER, efer);
}

void paging_enter(const struct page_table *pt, unsigned opts)
{
	uint32_t cr0_bits = CR0_PG | (opts & PAGING_WP ? CR0_WP : 0);

	if (!(opts & PAGING_WP))
		write_cr0(read_cr0() & ~CR0_WP);
	switch (pt->mode) {
	case PAGING_32:
		write_cr4((read_cr4() | CR4_PSE) & ~CR4_PAE);
		write_cr3(pt->root);
		write_cr0(read_cr0() | cr0_bits);
		break;
	case PAGING_PAE:
		set_efer_nxe(opts & PAGING_NXE);
		write_cr4(read_cr4() | CR4_PAE);
		write_cr3(pt->root);
		write_cr0(read_cr0() | cr0_bits);
		break;
	case PAGING_LONG:
		lm_enter(pt->root, opts & PAGING_NXE ? EFER_NXE : 0, cr0_bits);
		break;
	case PAGING_OFF:
		break;
	}
}

void paging_leave(void)
{
	if (!(read_cr0() & CR0_PG))
		return;
	if (cpu_has_long_mode() && (rdmsr(MSR_EFER) & EFER_LMA)) {
		lm_leave();
		return;
	}
	write_cr0(read_cr0() & ~CR0_PG);
	write_cr4(read_cr4() & ~(CR4_PAE | CR4_PSE));
	set_efer_nxe(false);
}

enum paging_mode paging_current(void)
{
	if (!(read_cr0() & CR0_PG))
		return PAGING_OFF;
	if (cpu_has_long_mode() && (rdmsr(MSR_EFER) & EFER_LMA))
		return PAGING_LONG;
	return read_cr4() & CR4_PAE ? PAGING_PAE : PAGING_32;
}

void set_cr0_wp(bool on)
{
	uint32_t cr0 = read_cr0();

	write_cr0(on ? cr0 | CR0_WP : cr0 & ~CR0_WP);
}

void flush_va(uint64_t va)
{
	if (va >> 32)
		lm_invlpg(va);
	else
		invlpg((uint32_t)va);
}

void flush_tlb(void)
{
	write_cr3(read_cr3());
}
