/* paging: 32-bit paging, PAE and long mode in turn. In each mode:
 *
 *   - translations: a write through one mapping is read through an alias
 *     (4K and large pages; in long mode also above 4 GiB from 64-bit code
 *     and through a 1G page when CPUID has them);
 *   - A and D bits set by the CPU in the guest's own entries;
 *   - a remapped page seen after INVLPG;
 *   - #PF with the right error code and CR2: not-present read and write,
 *     write to a read-only page with CR0.WP=1 (and none with CR0.WP=0), a
 *     read-only large page, fetch from an NX page with EFER.NXE=1 (PAE and
 *     long mode), and at CPL 3: supervisor page, read-only user page,
 *     not-present page;
 *   - a reserved bit (bit 51) in a PAE/long-mode entry: #PF with RSVD. The
 *     SDM says P is set too (0x9); QEMU TCG reports 0x8 (docs/testing.md).
 *     Both are accepted, and the line says which one came;
 *   - long mode only: 64-bit code really runs, CR2 holds a 64-bit address,
 *     a non-canonical address raises #GP(0).
 *
 * Guest C code runs as 32-bit code in every mode (compatibility mode in
 * long mode); long64.asm does the 64-bit accesses.
 */
#include "tests/guest/lib/guest.h"
#include "tests/guest/lib/util.h"

const char guest_name[] = "paging";

#define IDENTITY_END	0x400000u	/* identity-mapped with 4K pages */
#define TEST_AREA_SIZE	0x400000u	/* 4 MiB of RAM, 4 MiB aligned */

/* Virtual addresses of the test pages (below 4 GiB for 32-bit modes). */
#define VA_A		0x40000000u	/* -> frame 0, RW user */
#define VA_B		0x40001000u	/* -> frame 0 again: the alias */
#define VA_NP		0x40002000u	/* not present */
#define VA_RO		0x40003000u	/* -> frame 1, read-only user */
#define VA_X		0x40004000u	/* -> frame 2 (code), executable */
#define VA_NX		0x40005000u	/* -> frame 2, NX (PAE, long mode) */
#define VA_SUP		0x40006000u	/* -> frame 3, supervisor only */
#define VA_RSVD		0x40007000u	/* -> frame 0 with bit 51 set */
#define VA_REMAP	0x40008000u	/* frame 0, then frame 4 */
#define VA_LARGE	0x40400000u	/* large page -> test area, RW */
#define VA_LARGE_RO	0x40800000u	/* large page -> test area, RO */
#define VA_HIGH		0x0000008000000000ull	/* long: 512 GiB, 4K -> frame 0 */
#define VA_GIANT	0x000000c000000000ull	/* long: 1G page -> PA 0 */
#define VA_NONCANON	0x0000800000000000ull

#define FRAME(n)	(test_pa + (n) * 0x1000u)
#define RSVD_BIT	(1ull << 51)

static uint32_t test_pa;
static const char *mode_name;
static enum paging_mode mode;
static volatile uint32_t sink;

static void read32(void *va)
{
	sink = *(volatile uint32_t *)va;
}

static void write32(void *va)
{
	*(volatile uint32_t *)va = 0xdeadbeef;
}

static void exec_at(void *va)
{
	((void (*)(void))va)();
}

static void read64_high(void *unused)
{
	(void)unused;
	lm_read64(VA_HIGH + 0x1000);	/* the next page: not mapped */
}

static void read64_noncanonical(void *unused)
{
	(void)unused;
	lm_read64(VA_NONCANON);
}

static void exec64_nx(void *unused)
{
	(void)unused;
	lm_call64(VA_NX);
}

/* A 4 MiB-aligned block of RAM above the image and the identity map. */
static bool pick_test_area(void)
{
	uint64_t base, len;
	uint32_t floor = (uint32_t)__image_end > IDENTITY_END ?
			 (uint32_t)__image_end : IDENTITY_END;

	for (unsigned i = 0; mb_ram_range(i, &base, &len); i++) {
		uint64_t start = base > floor ? base : floor;

		start = (start + TEST_AREA_SIZE - 1) & ~(uint64_t)(TEST_AREA_SIZE - 1);
		if (start + TEST_AREA_SIZE <= base + len &&
		    start + TEST_AREA_SIZE <= 0x100000000ull) {
			test_pa = (uint32_t)start;
			return true;
		}
	}
	return false;
}

static void fill_frames(void)
{
	memset((void *)FRAME(0), 0, 0x1000);
	for (unsigned i = 0; i < 1024; i++) {
		((uint32_t *)FRAME(1))[i] = 0x11110000 + i;
		((uint32_t *)FRAME(3))[i] = 0x33330000 + i;
		((uint32_t *)FRAME(4))[i] = 0x44440000 + i;
	}
	memset((void *)FRAME(2), 0xc3, 0x1000);	/* RET, in 32- and 64-bit code */
}

static bool build(struct page_table *pt, bool nx)
{
	uint64_t large = mode == PAGING_32 ? PAGE_4M : PAGE_2M;
	uint64_t user_rw = PTE_P | PTE_W | PTE_U;
	bool ok = pt_init(pt, mode);

	ok = ok && pt_map_range(pt, 0, 0, IDENTITY_END, PAGE_4K, user_rw);
	ok = ok && pt_map(pt, VA_A, FRAME(0), PAGE_4K, user_rw);
	ok = ok && pt_map(pt, VA_B, FRAME(0), PAGE_4K, user_rw);
	ok = ok && pt_map(pt, VA_NP, FRAME(0), PAGE_4K, PTE_W | PTE_U);
	ok = ok && pt_map(pt, VA_RO, FRAME(1), PAGE_4K, PTE_P | PTE_U);
	ok = ok && pt_map(pt, VA_X, FRAME(2), PAGE_4K, PTE_P);
	if (nx)
		ok = ok && pt_map(pt, VA_NX, FRAME(2), PAGE_4K, PTE_P | PTE_NX);
	ok = ok && pt_map(pt, VA_SUP, FRAME(3), PAGE_4K, PTE_P | PTE_W);
	if (mode != PAGING_32)
		ok = ok && pt_map(pt, VA_RSVD, FRAME(0) | RSVD_BIT, PAGE_4K,
				  user_rw);
	ok = ok && pt_map(pt, VA_REMAP, FRAME(0), PAGE_4K, user_rw);
	ok = ok && pt_map(pt, VA_LARGE, test_pa, large, PTE_P | PTE_W);
	ok = ok && pt_map(pt, VA_LARGE_RO, test_pa, large, PTE_P);
	if (mode == PAGING_LONG) {
		ok = ok && pt_map(pt, VA_HIGH, FRAME(0), PAGE_4K, PTE_P | PTE_W);
		if (cpu_has_1g_pages())
			ok = ok && pt_map(pt, VA_GIANT, 0, PAGE_1G,
					  PTE_P | PTE_W);
	}
	return check(ok, "%s: page tables built", mode_name);
}

static bool fault_is(const struct fault_info *fi, unsigned vector,
		     uint32_t err, uint64_t cr2)
{
	return fi->faulted && fi->vector == vector && fi->error_code == err &&
	       (vector != EXC_PF || fi->cr2 == cr2);
}

static void show(char *buf, size_t size, const struct fault_info *fi)
{
	if (!fi->faulted)
		guest_snprintf(buf, size, "no fault");
	else if (fi->vector == EXC_PF)
		guest_snprintf(buf, size, "#PF err 0x%x cr2 0x%llx",
			       fi->error_code, fi->cr2);
	else
		guest_snprintf(buf, size, "%s(0x%x)",
			       exception_name(fi->vector), fi->error_code);
}

/* fn(va) at CPL 0 or 3 must raise #PF with err and CR2 = va. */
static void expect_pf(const char *what, void (*fn)(void *), uint64_t va,
		      bool user, uint32_t err)
{
	struct fault_info fi;
	char got[64];

	if (user)
		expect_fault_user(fn, (void *)(uint32_t)va, &fi);
	else
		expect_fault(fn, (void *)(uint32_t)va, &fi);
	show(got, sizeof(got), &fi);
	check(fault_is(&fi, EXC_PF, err, va), "%s: %s: %s, want err 0x%x",
	      mode_name, what, got, err);
}

static void expect_no_fault(const char *what, void (*fn)(void *),
			    uint32_t va, bool user)
{
	struct fault_info fi;
	char got[64];

	if (user)
		expect_fault_user(fn, (void *)va, &fi);
	else
		expect_fault(fn, (void *)va, &fi);
	show(got, sizeof(got), &fi);
	check(!fi.faulted, "%s: %s: %s", mode_name, what, got);
}

static void check_translations(uint64_t large)
{
	volatile uint32_t *a = (uint32_t *)VA_A, *b = (uint32_t *)VA_B;
	volatile uint32_t *big = (uint32_t *)VA_LARGE;

	a[5] = 0xa11a5001;
	check(b[5] == 0xa11a5001, "%s: write via 0x%x, read via alias 0x%x",
	      mode_name, VA_A, VA_B);
	b[6] = 0xa11a5002;
	check(a[6] == 0xa11a5002, "%s: write via 0x%x, read via alias 0x%x",
	      mode_name, VA_B, VA_A);
	big[7] = 0xb16b16;
	check(a[7] == 0xb16b16 && ((volatile uint32_t *)VA_LARGE_RO)[7] ==
	      0xb16b16, "%s: write via %lluK page 0x%x, read via 4K page "
	      "and read-only large page", mode_name, large >> 10, VA_LARGE);
	check(((volatile uint32_t *)VA_RO)[9] == 0x11110009,
	      "%s: read-only page reads frame 1", mode_name);
}

static void check_accessed_dirty(const struct page_table *pt)
{
	struct pte_ref pte, pde;
	uint64_t v;

	pt_entry(pt, VA_A, 1, &pte);
	pt_entry(pt, VA_A, 2, &pde);
	pte_set(&pte, pte_get(&pte) & ~(PTE_A | PTE_D));
	pte_set(&pde, pte_get(&pde) & ~PTE_A);
	flush_tlb();
	sink = *(volatile uint32_t *)VA_A;
	v = pte_get(&pte);
	check((v & PTE_A) && !(v & PTE_D) && (pte_get(&pde) & PTE_A),
	      "%s: read sets A in PTE and PDE, not D (PTE 0x%llx)", mode_name,
	      v);
	*(volatile uint32_t *)VA_A = 1;
	v = pte_get(&pte);
	check((v & (PTE_A | PTE_D)) == (PTE_A | PTE_D),
	      "%s: write sets D (PTE 0x%llx)", mode_name, v);
}

static void check_remap(const struct page_table *pt)
{
	volatile uint32_t *p = (uint32_t *)VA_REMAP;
	struct pte_ref ref;
	uint32_t before;

	*(volatile uint32_t *)VA_A = 0x0f0f0f0f;
	before = p[0];			/* the TLB may now hold frame 0 */
	pt_leaf(pt, VA_REMAP, &ref);
	pte_set(&ref, (pte_get(&ref) & 0xfff) | FRAME(4));
	flush_va(VA_REMAP);
	check(before == 0x0f0f0f0f && p[1] == 0x44440001,
	      "%s: remapped to frame 4, seen after INVLPG", mode_name);
}

static void check_faults(bool nx)
{
	expect_pf("not-present read", read32, VA_NP + 0x10, false, 0);
	expect_pf("not-present write", write32, VA_NP + 0x14, false, PF_W);
	expect_pf("write to read-only page, CR0.WP=1", write32, VA_RO + 0x18,
		  false, PF_P | PF_W);
	expect_pf("write to read-only large page, CR0.WP=1", write32,
		  VA_LARGE_RO + 0x1c, false, PF_P | PF_W);
	set_cr0_wp(false);
	expect_no_fault("write to read-only page, CR0.WP=0", write32,
			VA_RO + 0x20, false);
	set_cr0_wp(true);
	check(((volatile uint32_t *)VA_RO)[8] == 0xdeadbeef,
	      "%s: the CR0.WP=0 write reached frame 1", mode_name);
	expect_no_fault("fetch from executable page", exec_at, VA_X, false);
	if (nx)
		expect_pf("fetch from NX page, EFER.NXE=1", exec_at, VA_NX,
			  false, PF_P | PF_I);
	else if (mode == PAGING_32)
		guest_printf("paging: %s: no NX bit in this mode\n", mode_name);
	else
		guest_printf("paging: %s: CPU without NX: fetch test skipped\n",
			     mode_name);

	expect_no_fault("CPL 3 read of user page", read32, VA_A + 0x24, true);
	expect_pf("CPL 3 read of supervisor page", read32, VA_SUP + 0x28,
		  true, PF_P | PF_U);
	expect_pf("CPL 3 write to read-only user page", write32, VA_RO + 0x2c,
		  true, PF_P | PF_W | PF_U);
	expect_pf("CPL 3 read of not-present page", read32, VA_NP + 0x30,
		  true, PF_U);
}

static void check_reserved_bit(void)
{
	struct fault_info fi;
	uint64_t va = VA_RSVD + 0x34;
	const char *form;

	if (cpu_phys_addr_bits() >= 52) {
		guest_printf("paging: %s: 52 physical address bits: no "
			     "reserved bit to test\n", mode_name);
		return;
	}
	expect_fault(read32, (void *)(uint32_t)va, &fi);
	if (fault_is(&fi, EXC_PF, PF_RSVD | PF_P, va))
		form = "with P, as the SDM says";
	else if (fault_is(&fi, EXC_PF, PF_RSVD, va))
		form = "without P, the QEMU TCG form";
	else
		form = NULL;
	if (form)
		guest_printf("paging: %s: reserved bit 51: #PF err 0x%x (%s)\n",
			     mode_name, fi.error_code, form);
	check(form != NULL, "%s: reserved bit 51 in a PTE: #PF with RSVD",
	      mode_name);
}

static void check_long_mode(void)
{
	struct fault_info fi;
	char got[64];
	uint64_t v;

	check(rdmsr(MSR_EFER) & EFER_LMA, "%s: EFER.LMA set", mode_name);
	check(lm_code_bits() == 64, "%s: 64-bit code runs", mode_name);
	lm_write64(VA_HIGH + 0x40, 0x0123456789abcdefull);
	check(((volatile uint64_t *)VA_A)[8] == 0x0123456789abcdefull &&
	      lm_read64(VA_HIGH + 0x40) == 0x0123456789abcdefull,
	      "%s: 64-bit write via 0x%llx, read via 0x%x", mode_name,
	      VA_HIGH, VA_A);
	if (cpu_has_1g_pages()) {
		v = lm_read64(VA_GIANT + FRAME(0) + 0x40);
		check(v == 0x0123456789abcdefull,
		      "%s: read via 1G page 0x%llx", mode_name, VA_GIANT);
	} else {
		guest_printf("paging: %s: no 1G pages in CPUID: skipped\n",
			     mode_name);
	}

	expect_fault(read64_high, NULL, &fi);
	show(got, sizeof(got), &fi);
	check(fault_is(&fi, EXC_PF, 0, VA_HIGH + 0x1000) && fi.cs == SEL_CODE64,
	      "%s: 64-bit not-present read: %s (64-bit CR2)", mode_name, got);
	expect_fault(read64_noncanonical, NULL, &fi);
	show(got, sizeof(got), &fi);
	check(fault_is(&fi, EXC_GP, 0, 0) && fi.cs == SEL_CODE64,
	      "%s: non-canonical read 0x%llx: %s, want #GP(0)", mode_name,
	      VA_NONCANON, got);
	if (cpu_has_nx()) {
		expect_fault(exec64_nx, NULL, &fi);
		show(got, sizeof(got), &fi);
		check(fault_is(&fi, EXC_PF, PF_P | PF_I, VA_NX) &&
		      fi.ip == VA_NX && fi.cs == SEL_CODE64,
		      "%s: 64-bit fetch from NX page: %s", mode_name, got);
	}
}

static void run_mode(enum paging_mode m)
{
	bool nx = m != PAGING_32 && cpu_has_nx();
	uint64_t large = m == PAGING_32 ? PAGE_4M : PAGE_2M;
	struct page_table pt;

	mode = m;
	mode_name = paging_mode_name(m);
	fill_frames();
	if (!build(&pt, nx))
		return;
	paging_enter(&pt, PAGING_WP | (nx ? PAGING_NXE : 0));
	check(paging_current() == m, "%s: on (CR0 0x%x CR4 0x%x EFER 0x%llx)",
	      mode_name, read_cr0(), read_cr4(), rdmsr(MSR_EFER));
	check_translations(large);
	check_accessed_dirty(&pt);
	check_remap(&pt);
	check_faults(nx);
	if (m != PAGING_32)
		check_reserved_bit();
	if (m == PAGING_LONG)
		check_long_mode();
	paging_leave();
	check(paging_current() == PAGING_OFF &&
	      !(rdmsr(MSR_EFER) & (EFER_LME | EFER_LMA)),
	      "%s: off again", mode_name);
	check(((volatile uint32_t *)FRAME(0))[6] == 0xa11a5002,
	      "%s: frame 0 holds what was written through paging", mode_name);
}

bool guest_test(uint32_t magic, const struct mb1_info *info)
{
	(void)magic, (void)info;
	if (!check((uint32_t)__image_end <= IDENTITY_END,
		   "image ends at 0x%x, below 0x%x", (uint32_t)__image_end,
		   IDENTITY_END))
		return false;
	if (!check(pick_test_area(), "4 MiB of RAM for test frames"))
		return false;
	guest_printf("paging: test frames at 0x%x, NX %s, 1G pages %s, "
		     "%u physical address bits\n", test_pa,
		     cpu_has_nx() ? "yes" : "no",
		     cpu_has_1g_pages() ? "yes" : "no", cpu_phys_addr_bits());
	run_mode(PAGING_32);
	run_mode(PAGING_PAE);
	if (cpu_has_long_mode())
		run_mode(PAGING_LONG);
	else
		check(false, "CPU without long mode");
	return boot.magic_ok;
}
