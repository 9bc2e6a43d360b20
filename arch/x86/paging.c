/*
 * The hypervisor's own page tables: a direct map of all physical memory
 * with the largest pages the CPU has, and the image mapped page by page
 * with per-section permissions. The boot CPU's stack guard page stays
 * unmapped so a stack overflow faults (and #DF runs on its IST stack).
 */
#include "arch/x86/cpu.h"
#include "arch/x86/paging.h"
#include "smp/spinlock.h"
#include "kernel/compiler.h"
#include "kernel/mm.h"
#include "kernel/panic.h"
#include "kernel/printk.h"

#define PTE_P	(1ull << 0)
#define PTE_W	(1ull << 1)
#define PTE_PWT	(1ull << 3)
#define PTE_PCD	(1ull << 4)
#define PTE_PS	(1ull << 7)
#define PTE_G	(1ull << 8)
#define PTE_NX	(1ull << 63)
#define PTE_ADDR_MASK	0x000ffffffffff000ull

extern char _text_start[], _text_end[], _rodata_start[], _rodata_end[];
extern char _data_start[], _bss_end[], boot_stack_guard[];

uint64_t kernel_pml4_pa;
static struct spinlock map_lock = SPINLOCK_INIT("kernel map");
static uint64_t mmio_next = MMIO_AREA_BASE;
static uint64_t stack_next = STACK_AREA_BASE;
static uint64_t nx_bit;		/* PTE_NX if the CPU has NX, else 0 */
static uint64_t global_bit;	/* PTE_G if the CPU has PGE, else 0 */

static uint64_t *table_at(uint64_t entry)
{
	return phys_to_virt(entry & PTE_ADDR_MASK);
}

static uint64_t new_table(void)
{
	uint64_t pa = alloc_frame();

	if (pa == FRAME_NONE)
		panic("out of memory building the host page tables");
	return pa;
}

/* The table one level below 'table[index]', created if absent. */
static uint64_t *next_level(uint64_t *table, unsigned index)
{
	if (!(table[index] & PTE_P))
		table[index] = new_table() | PTE_P | PTE_W;
	BUG_ON(table[index] & PTE_PS);
	return table_at(table[index]);
}

static unsigned index_at(uint64_t va, int level)
{
	return (va >> (12 + 9 * (level - 1))) & 511;
}

/* Map one page of size 4K (level 1), 2M (level 2) or 1G (level 3). */
static void map_page(uint64_t *pml4, uint64_t va, uint64_t pa, int level,
		     uint64_t flags)
{
	uint64_t *table = pml4;

	for (int l = 4; l > level; l--)
		table = next_level(table, index_at(va, l));
	table[index_at(va, level)] = pa | flags | (level > 1 ? PTE_PS : 0);
}

static void map_direct(uint64_t *pml4, uint64_t limit)
{
	bool gig = cpu_has_1g_pages();
	uint64_t step = gig ? GiB(1) : MiB(2);
	uint64_t flags = PTE_P | PTE_W | nx_bit | global_bit;

	for (uint64_t pa = 0; pa < limit; pa += step)
		map_page(pml4, DIRECT_MAP_BASE + pa, pa, gig ? 3 : 2, flags);
	pr_info("paging: direct map of %lu GiB with %s pages\n",
		(unsigned long)(limit >> 30), gig ? "1 GiB" : "2 MiB");
}

static void map_image_range(uint64_t *pml4, const char *start,
			    const char *end, uint64_t flags)
{
	for (uint64_t va = (uint64_t)start; va < (uint64_t)end; va += PAGE_SIZE) {
		if (va == (uint64_t)boot_stack_guard)
			continue;
		map_page(pml4, va, va - KERNEL_VMA, 1, flags);
	}
}

void paging_init(void)
{
	uint64_t pml4_pa = new_table();
	uint64_t *pml4 = phys_to_virt(pml4_pa);
	uint64_t limit = ALIGN_UP(MAX(mm_max_phys(), EARLY_MAP_LIMIT), GiB(1));

	nx_bit = cpu_has_nx() ? PTE_NX : 0;
	global_bit = cpu_has_pge() ? PTE_G : 0;

	map_direct(pml4, limit);
	map_image_range(pml4, _text_start, _text_end, PTE_P | global_bit);
	map_image_range(pml4, _rodata_start, _rodata_end,
			PTE_P | nx_bit | global_bit);
	map_image_range(pml4, _data_start, _bss_end,
			PTE_P | PTE_W | nx_bit | global_bit);

	if (nx_bit)
		wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_NXE);
	kernel_pml4_pa = pml4_pa;
	write_cr3(pml4_pa);
	if (global_bit)
		write_cr4(read_cr4() | CR4_PGE);
	pr_info("paging: host page tables at 0x%lx: text RX, rodata R%s, "
		"data RW%s, stack guard page unmapped\n",
		(unsigned long)pml4_pa, nx_bit ? "+NX" : "",
		nx_bit ? "+NX" : "");
}

void paging_map_4k(uint64_t *pml4, uint64_t va, uint64_t pa, uint64_t flags)
{
	map_page(pml4, va, pa, 1, flags);
}

/* New kernel mappings only ever fill empty slots of tables that every
 * CPU shares (PML4 entries are created here on the boot CPU before the
 * others start), so no other CPU can hold a stale translation for them:
 * no TLB shootdown is needed. */
void *paging_map_mmio(uint64_t pa, uint64_t size)
{
	uint64_t offset = pa & (PAGE_SIZE - 1), va;
	uint64_t pages = ALIGN_UP(size + offset, PAGE_SIZE) / PAGE_SIZE;
	bool irq_was_on = spin_lock_irqsave(&map_lock);

	va = mmio_next;
	mmio_next += (pages + 1) * PAGE_SIZE;	/* and a hole after it */
	for (uint64_t i = 0; i < pages; i++)
		map_page(phys_to_virt(kernel_pml4_pa), va + i * PAGE_SIZE,
			 pa - offset + i * PAGE_SIZE, 1,
			 PTE_P | PTE_W | PTE_PCD | PTE_PWT | nx_bit);
	spin_unlock_irqrestore(&map_lock, irq_was_on);
	return (void *)(va + offset);
}

uint64_t paging_alloc_stack(unsigned pages)
{
	bool irq_was_on = spin_lock_irqsave(&map_lock);
	uint64_t base = stack_next + PAGE_SIZE;	/* guard page below */

	stack_next += (pages + 1) * PAGE_SIZE;
	for (unsigned i = 0; i < pages; i++) {
		uint64_t pa = alloc_frame();

		if (pa == FRAME_NONE)
			panic("out of memory for a stack");
		map_page(phys_to_virt(kernel_pml4_pa), base + i * PAGE_SIZE, pa,
			 1, PTE_P | PTE_W | nx_bit | global_bit);
	}
	spin_unlock_irqrestore(&map_lock, irq_was_on);
	return base + pages * PAGE_SIZE;
}
