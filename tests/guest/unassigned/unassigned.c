/* unassigned: loads and stores at guest-physical addresses that are not
 * memory behave like unassigned PC addresses: loads return all ones,
 * stores are dropped.
 *
 * Judged everywhere, same output on both platforms: PCIe configuration
 * space of a bus that does not exist, at MMCONFIG_ABSENT (QEMU q35 maps
 * MMCONFIG at 0xb0000000-0xbfffffff; bus 255 has no devices, and config
 * reads of absent functions return all ones, writes are dropped). Under
 * the hypervisor that address is simply outside guest memory.
 *
 * Each access is a plain MOV (inline assembly, so the instruction forms are
 * fixed): 1-byte loads into AL and AH (the rest of EAX must stay), 2- and
 * 4-byte loads, stores from a register and of an immediate, then a load.
 *
 * Judged under the hypervisor only: the PCI hole at HOLE_ADDR, the page
 * after the end of RAM, and 4 GiB (through a PAE mapping: above what
 * paging-off code can reach). Bare QEMU TCG reads 0 at such addresses
 * (QEMU's unassigned-memory default on x86, docs/testing.md): printed and
 * accepted without the hypervisor.
 */
#include "tests/guest/lib/guest.h"
#include "tests/guest/lib/util.h"

const char guest_name[] = "unassigned";

#define MMCONFIG_ABSENT	0xbfff8000u	/* q35 MMCONFIG, bus 255 dev 31 fn 0 */
#define HOLE_ADDR	0xd0000000u
#define ABOVE_4G	0x100000000ull
#define WINDOW_VA	0x40000000u	/* PAE window onto ABOVE_4G */

static volatile uint32_t ram_word;

static uint32_t load8_al(uint32_t addr)
{
	uint32_t v = 0x12345678;

	__asm__ volatile("movb (%1), %%al" : "+a"(v) : "r"(addr) : "memory");
	return v;
}

static uint32_t load8_ah(uint32_t addr)
{
	uint32_t v = 0x12345678;

	__asm__ volatile("movb (%1), %%ah" : "+a"(v) : "r"(addr) : "memory");
	return v;
}

static uint32_t load16(uint32_t addr)
{
	uint32_t v = 0x12345678;

	__asm__ volatile("movw (%1), %%ax" : "+a"(v) : "r"(addr) : "memory");
	return v;
}

static uint32_t load32(uint32_t addr)
{
	uint32_t v;

	__asm__ volatile("movl (%1), %0" : "=r"(v) : "r"(addr) : "memory");
	return v;
}

static void store8(uint32_t addr, uint8_t v)
{
	__asm__ volatile("movb %0, (%1)" : : "q"(v), "r"(addr) : "memory");
}

static void store16(uint32_t addr, uint16_t v)
{
	__asm__ volatile("movw %0, (%1)" : : "r"(v), "r"(addr) : "memory");
}

static void store32(uint32_t addr, uint32_t v)
{
	__asm__ volatile("movl %0, (%1)" : : "r"(v), "r"(addr) : "memory");
}

static void store32_imm(uint32_t addr)
{
	__asm__ volatile("movl $0x5a5aa5a5, (%0)" : : "r"(addr) : "memory");
}

/* The judged block: every form at addr (label for the output). */
static void check_all_forms(const char *label, uint32_t addr)
{
	uint32_t v;

	v = load8_al(addr + 1);
	check(v == 0x123456ff, "%s 0x%x: movb to AL: EAX 0x%08x, want 0x123456ff",
	      label, addr + 1, v);
	v = load8_ah(addr + 3);
	check(v == 0x1234ff78, "%s 0x%x: movb to AH: EAX 0x%08x, want 0x1234ff78",
	      label, addr + 3, v);
	v = load16(addr + 2);
	check(v == 0x1234ffff, "%s 0x%x: movw: EAX 0x%08x, want 0x1234ffff",
	      label, addr + 2, v);
	v = load32(addr + 4);
	check(v == 0xffffffff, "%s 0x%x: movl: 0x%08x, want 0xffffffff",
	      label, addr + 4, v);

	store32(addr + 8, 0x01020304);
	v = load32(addr + 8);
	check(v == 0xffffffff, "%s 0x%x: movl store, load: 0x%08x, want "
	      "0xffffffff (write dropped)", label, addr + 8, v);
	store32_imm(addr + 12);
	v = load32(addr + 12);
	check(v == 0xffffffff, "%s 0x%x: movl immediate store, load: 0x%08x",
	      label, addr + 12, v);
	store16(addr + 16, 0x1234);
	v = load16(addr + 16);
	check(v == 0x1234ffff, "%s 0x%x: movw store, load: EAX 0x%08x",
	      label, addr + 16, v);
	store8(addr + 20, 0x42);
	v = load8_al(addr + 20);
	check(v == 0x123456ff, "%s 0x%x: movb store, load: EAX 0x%08x",
	      label, addr + 20, v);
}

/* One probe judged only under the hypervisor. */
static void probe(const char *label, uint32_t addr, uint64_t phys)
{
	uint32_t before, after;

	before = load32(addr);
	store32(addr, 0x01020304);
	after = load32(addr);
	if (hv_present()) {
		check(before == 0xffffffff && after == 0xffffffff,
		      "%s 0x%llx: load 0x%08x, after a store 0x%08x, want "
		      "all ones", label, phys, before, after);
		return;
	}
	guest_printf("unassigned: %s 0x%llx: load 0x%08x, after a store "
		     "0x%08x (%s; judged under the hypervisor only)\n", label,
		     phys, before, after,
		     before == 0 && after == 0 ?
		     "QEMU: unassigned memory reads 0 outside MMCONFIG" :
		     before == 0xffffffff && after == 0xffffffff ?
		     "all ones" : "neither 0 nor all ones");
}

/* ABOVE_4G through a PAE 4K page at WINDOW_VA (identity below 4 MiB). */
static void probe_above_4g(void)
{
	struct page_table pt;

	if (!cpu_has_pae() || cpu_phys_addr_bits() <= 32) {
		guest_printf("unassigned: no PAE or 32-bit physical addresses: "
			     "4 GiB probe skipped\n");
		return;
	}
	if (!check(pt_init(&pt, PAGING_PAE) &&
		   pt_map_range(&pt, 0, 0, 0x400000, PAGE_2M, PTE_P | PTE_W) &&
		   pt_map(&pt, WINDOW_VA, ABOVE_4G, PAGE_4K, PTE_P | PTE_W),
		   "PAE window onto 0x%llx", ABOVE_4G))
		return;
	paging_enter(&pt, PAGING_WP);
	probe("above 4 GiB", WINDOW_VA, ABOVE_4G);
	paging_leave();
}

bool guest_test(uint32_t magic, const struct mb1_info *info)
{
	uint64_t ram_end = mb_ram_end();
	uint32_t after_ram = (uint32_t)((ram_end + 0x1fffff) & ~0x1fffffull);

	(void)magic, (void)info;
	guest_printf("unassigned: platform %s, RAM ends at 0x%llx\n",
		     platform_name(), ram_end);
	check_all_forms("absent PCIe function", MMCONFIG_ABSENT);
	check(load32(MMCONFIG_ABSENT + 0xff0) == 0xffffffff,
	      "absent PCIe function 0x%x: movl: all ones",
	      MMCONFIG_ABSENT + 0xff0);

	probe("PCI hole", HOLE_ADDR, HOLE_ADDR);
	if (ram_end < 0xb0000000u)
		probe("after RAM", after_ram, after_ram);
	probe_above_4g();

	/* RAM still answers as RAM. */
	ram_word = 0x600dcafe;
	check(load32((uint32_t)&ram_word) == 0x600dcafe, "RAM still reads back");
	return boot.magic_ok;
}
