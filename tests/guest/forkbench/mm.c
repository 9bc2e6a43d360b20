/* forkbench's memory manager, shaped after an x86-64 OS's:
 *
 *   - one page allocator for page tables and data (a LIFO free list, like
 *     a per-CPU hot-page list): a table page freed at exec or exit comes
 *     back soon, as data as often as a table, and is zeroed (or filled by
 *     a copy) as data first;
 *   - 4-level address spaces whose PDPT entry 0 points at the kernel's
 *     page directory (0-16 MiB in 2M global pages), shared by all;
 *   - fork as copy_page_range does it: new tables written entry by entry,
 *     writable entries write-protected in the parent (LOCK BTR) and copied
 *     read-only to the child, the parent's TLB flushed with a CR3 load;
 *   - teardown as exit_mmap does it: every PTE cleared with XCHG (INVLPG
 *     each when the space is current), then the upper entries cleared and
 *     the tables freed;
 *   - the #PF handler: copy-on-write (copy, or reuse when no one else maps
 *     the frame; clear the PTE, INVLPG, set it writable) and demand-zero
 *     (allocate the missing tables and a zeroed frame).
 *
 * Every store into a page-table page goes through ent_store, ent_xchg or
 * ent_wrprotect and is counted in cnt.pt_writes; zeroing a page for the
 * allocator is a data write (cnt.zeroed).
 */
#include "tests/guest/forkbench/forkbench.h"
#include "tests/guest/lib/util.h"

#define PTE_TABLE	(PTE_P | PTE_W | PTE_U)	/* a non-leaf entry */

volatile struct fb_counters cnt;
volatile uint32_t last_cr2, last_err;
struct space spaces[NR_SPACES];
unsigned cur_space;
unsigned mm_errors;

const struct region user_regions[NR_REGIONS] = {
	[REG_TEXT]  = { 0x40000000u, 32, 0, false, false },
	[REG_DATA]  = { 0x40200000u, 32, 32, true, false },
	[REG_HEAP]  = { 0x80000000u, 48, 64, true, false },
	[REG_STACK] = { 0xc0000000u - 48 * 4096u, 48, 112, true, false },
};

const struct region exec_regions[2] = {
	{ EXEC_TEXT_VA, EXEC_TEXT_PAGES, 0, false, false },
	{ EXEC_STACK_VA, EXEC_STACK_PAGES, EXEC_TEXT_PAGES, true, true },
};

static uint32_t free_list[POOL_PAGES];
static unsigned nr_free;
static uint16_t refs[POOL_PAGES];
static uint32_t kpd;
static bool long_mode;

/* ---- Entries --------------------------------------------------------- */

uint64_t pte_read(uint32_t addr)
{
	return *(volatile uint64_t *)addr;
}

/* Before long mode (the kernel map and the parent's roots are built with
 * paging off) no 8-byte store exists: two 4-byte ones, high half first. */
static void ent_store(uint32_t addr, uint64_t v)
{
	cnt.pt_writes++;
	if (long_mode) {
		fb_pte_store(addr, v);
	} else {
		((volatile uint32_t *)addr)[1] = (uint32_t)(v >> 32);
		((volatile uint32_t *)addr)[0] = (uint32_t)v;
	}
}

static uint64_t ent_xchg(uint32_t addr, uint64_t v)
{
	cnt.pt_writes++;
	return fb_pte_xchg(addr, v);
}

static void ent_wrprotect(uint32_t addr)
{
	cnt.pt_writes++;
	fb_pte_wrprotect(addr);
}

static void flush_page(uint32_t va)
{
	cnt.invlpgs++;
	invlpg(va);
}

void switch_space(unsigned s)
{
	cnt.cr3_loads++;
	cur_space = s;
	write_cr3(spaces[s].pml4);
}

static unsigned shift_of(unsigned level)
{
	return 12 + 9 * (level - 1);
}

static uint32_t ent_addr(uint32_t table, uint64_t va, unsigned level)
{
	return table + (uint32_t)((va >> shift_of(level)) & 511) * 8;
}

/* ---- Pages ----------------------------------------------------------- */

static unsigned index_of(uint32_t frame)
{
	if (frame < POOL_BASE || frame >= POOL_END || (frame & 0xfff)) {
		mm_errors++;
		return 0;
	}
	return (frame - POOL_BASE) / 4096;
}

void mm_init(void)
{
	nr_free = 0;
	for (unsigned i = POOL_PAGES; i-- > 0;)
		free_list[nr_free++] = POOL_BASE + i * 4096;
	memset(refs, 0, sizeof(refs));
	long_mode = false;
	kpd = page_alloc(true);
	for (unsigned i = 0; kpd && i < IDENTITY_END / PAGE_2M; i++)
		ent_store(kpd + i * 8, i * PAGE_2M | PTE_P | PTE_W | PTE_PS |
			  PTE_G);
}

bool mm_long_mode_on(void)
{
	return long_mode = true;
}

uint32_t kernel_pd(void)
{
	return kpd;
}

uint32_t page_alloc(bool zero)
{
	uint32_t page;

	if (!nr_free) {
		mm_errors++;
		return 0;
	}
	page = free_list[--nr_free];
	refs[index_of(page)] = 1;
	if (zero) {
		cnt.zeroed++;
		if (long_mode)
			fb_zero_page(page);
		else
			memset((void *)page, 0, 4096);
	}
	return page;
}

void page_get(uint32_t frame)
{
	refs[index_of(frame)]++;
}

void page_put(uint32_t frame)
{
	uint16_t *r = &refs[index_of(frame)];

	if (*r == 0) {
		mm_errors++;
		return;
	}
	if (--*r == 0)
		free_list[nr_free++] = frame;
}

unsigned page_refs(uint32_t frame)
{
	return refs[index_of(frame)];
}

unsigned pages_free(void)
{
	return nr_free;
}

/* ---- Address spaces ---------------------------------------------------- */

/* A PML4 and a PDPT whose entry 0 is the kernel's page directory. */
bool space_new(unsigned s)
{
	uint32_t pml4 = page_alloc(true), pdpt = page_alloc(true);

	if (!pml4 || !pdpt)
		return false;
	ent_store(pdpt, kpd | PTE_P | PTE_W);
	ent_store(pml4, pdpt | PTE_TABLE);
	spaces[s].pml4 = pml4;
	return true;
}

uint32_t space_pte(unsigned s, uint32_t va)
{
	uint32_t table = spaces[s].pml4;

	for (unsigned level = 4; level > 1; level--) {
		uint64_t e = pte_read(ent_addr(table, va, level));

		if (!(e & PTE_P) || (e & PTE_PS))
			return 0;
		table = (uint32_t)(e & PTE_ADDR);
	}
	return ent_addr(table, va, 1);
}

bool space_map(unsigned s, uint32_t va, uint64_t pte)
{
	uint32_t table = spaces[s].pml4;

	for (unsigned level = 4; level > 1; level--) {
		uint32_t addr = ent_addr(table, va, level);
		uint64_t e = pte_read(addr);

		if (!(e & PTE_P)) {
			uint32_t t = page_alloc(true);

			if (!t)
				return false;
			e = t | PTE_TABLE;
			ent_store(addr, e);
		}
		table = (uint32_t)(e & PTE_ADDR);
	}
	ent_store(ent_addr(table, va, 1), pte);
	return true;
}

/* The kernel's entry: PDPT entry 0 (the first GiB), never the space's. */
static bool is_kernel(unsigned level, unsigned i)
{
	return level == 3 && i == 0;
}

static unsigned count_tables(uint32_t table, unsigned level)
{
	unsigned n = 1;

	for (unsigned i = 0; level > 1 && i < 512; i++) {
		uint64_t e = pte_read(table + i * 8);

		if ((e & PTE_P) && !is_kernel(level, i))
			n += count_tables((uint32_t)(e & PTE_ADDR), level - 1);
	}
	return n;
}

unsigned space_tables(unsigned s)
{
	return count_tables(spaces[s].pml4, 4);
}

/* copy_page_range: a new table for src, entry by entry. */
static uint32_t copy_table(uint32_t src, unsigned level)
{
	uint32_t dst = page_alloc(true);

	if (!dst)
		return 0;
	for (unsigned i = 0; i < 512; i++) {
		uint32_t addr = src + i * 8;
		uint64_t e = pte_read(addr);

		if (!(e & PTE_P))
			continue;
		if (level > 1 && !is_kernel(level, i)) {
			uint32_t t = copy_table((uint32_t)(e & PTE_ADDR),
						level - 1);

			if (!t)
				return 0;
			e = (e & ~PTE_ADDR & ~PTE_A) | t;
		} else if (level == 1) {
			if ((e & PTE_SW_WRITE) && (e & PTE_W)) {
				ent_wrprotect(addr);
				e &= ~PTE_W;
			}
			page_get((uint32_t)(e & PTE_ADDR));
			e &= ~PTE_A;	/* pte_mkold */
		}
		ent_store(dst + i * 8, e);
	}
	return dst;
}

/* fork: the child's tables, then the parent's TLB flushed (its writable
 * entries are read-only now). The parent is the current space. */
bool space_fork(unsigned parent, unsigned child)
{
	uint32_t pml4 = copy_table(spaces[parent].pml4, 4);

	if (!pml4)
		return false;
	spaces[child].pml4 = pml4;
	switch_space(parent);
	return true;
}

/* zap_pte_range over the whole table tree. */
static void zap_table(uint32_t table, unsigned level, uint64_t base,
		      bool flush)
{
	for (unsigned i = 0; i < 512; i++) {
		uint32_t addr = table + i * 8;
		uint64_t e = pte_read(addr), va = base + ((uint64_t)i <<
							 shift_of(level));

		if (!(e & PTE_P) || is_kernel(level, i))
			continue;
		if (level > 1) {
			zap_table((uint32_t)(e & PTE_ADDR), level - 1, va,
				  flush);
			continue;
		}
		e = ent_xchg(addr, 0);
		if (flush)
			flush_page((uint32_t)va);
		page_put((uint32_t)(e & PTE_ADDR));
	}
}

void space_zap(unsigned s)
{
	zap_table(spaces[s].pml4, 4, 0, s == cur_space);
}

/* free_pgtables: clear each upper entry, free the table under it. */
static void free_tables(uint32_t table, unsigned level)
{
	for (unsigned i = 0; i < 512; i++) {
		uint32_t addr = table + i * 8;
		uint64_t e = pte_read(addr);

		if (!(e & PTE_P) || is_kernel(level, i))
			continue;
		if (level > 2)
			free_tables((uint32_t)(e & PTE_ADDR), level - 1);
		ent_store(addr, 0);
		page_put((uint32_t)(e & PTE_ADDR));
	}
}

void space_free_tables(unsigned s)
{
	if (s == cur_space)
		mm_errors++;
	free_tables(spaces[s].pml4, 4);
	page_put(spaces[s].pml4);
	spaces[s].pml4 = 0;
}

/* ---- The #PF handler --------------------------------------------------- */

static const struct region *region_of(unsigned s, uint32_t va)
{
	const struct space *sp = &spaces[s];

	for (unsigned r = 0; r < sp->nr_regions; r++) {
		const struct region *g = &sp->regions[r];

		if (va >= g->va && va - g->va < g->pages * 4096u)
			return g;
	}
	return NULL;
}

/* Called by fb_pf64 for every #PF: 1 when resolved (the access runs
 * again), 0 for a fault no OS would resolve (the runtime reports it). */
int fb_page_fault(uint32_t cr2, uint32_t err);
int fb_page_fault(uint32_t cr2, uint32_t err)
{
	const struct region *g = region_of(cur_space, cr2);
	uint32_t page = cr2 & ~0xfffu, addr, frame;
	uint64_t e;

	cnt.faults++;
	last_cr2 = cr2;
	last_err = err;
	if (!g || (err & ~(PF_P | PF_W)))
		return 0;
	if (!(err & PF_P)) {
		/* Demand-zero: the tables on the way, then the page. */
		if (!g->demand)
			return 0;
		frame = page_alloc(true);
		if (!frame || !space_map(cur_space, page, frame | PTE_P |
					 PTE_U | (g->writable ?
						  PTE_W | PTE_SW_WRITE : 0)))
			return 0;
		cnt.zero_fills++;
		return 1;
	}
	addr = space_pte(cur_space, page);
	e = addr ? pte_read(addr) : 0;
	if (!(err & PF_W) || !(e & PTE_P) || (e & PTE_W) ||
	    !(e & PTE_SW_WRITE))
		return 0;
	frame = (uint32_t)(e & PTE_ADDR);
	if (page_refs(frame) > 1) {
		/* wp_page_copy: copy, clear and flush, set the copy. */
		uint32_t copy = page_alloc(false);

		if (!copy)
			return 0;
		fb_copy_page(copy, frame);
		cnt.copied++;
		ent_xchg(addr, 0);
		flush_page(page);
		page_put(frame);
		ent_store(addr, (e & ~PTE_ADDR) | copy | PTE_W | PTE_A |
			  PTE_D);
		cnt.cow_copies++;
	} else {
		/* wp_page_reuse: the only mapping left, writable in place. */
		ent_store(addr, e | PTE_W | PTE_A | PTE_D);
		flush_page(page);
		cnt.cow_reuses++;
	}
	return 1;
}
