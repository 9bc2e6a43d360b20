/* ptwriter: a page-table page recycled as data, then as a table again.
 *
 * In the parent, the page table of group B is unmapped (its PDE cleared),
 * mapped as a plain data page and written thousands of times with values
 * that look like page-table entries (present, writable, pointing at a
 * frame with a known pattern): a shadow MMU that still shadows that page
 * sees a write flood and must stop shadowing it, and must never use those
 * values as translations. Group B's range must keep faulting as not
 * present. Then the page is unmapped as data, filled with real entries for
 * new frames, and hung back in its PDE: group B reads the new frames, every
 * byte, and the child's group B is untouched.
 */
#include "tests/guest/ptwriter/ptwriter.h"
#include "tests/guest/lib/util.h"

#define ADDR_MASK	0x000ffffffffff000ull
#define FLOOD_PASSES	32u

static volatile uint32_t sink;

static void read_word(void *va)
{
	sink = *(volatile uint32_t *)va;
}

/* A read of group B must fault as not present; false (and a report) if
 * it does not. */
static bool b_not_present(const char *when)
{
	struct fault_info fi;
	uint32_t va = VA_B + 0x3010;

	if (expect_fault(read_word, (void *)va, &fi) && fi.vector == EXC_PF &&
	    fi.error_code == 0 && fi.cr2 == va)
		return true;
	report("%s: read of 0x%x: %s err 0x%x cr2 0x%llx, want #PF err 0x0",
	       when, va, fi.faulted ? exception_name(fi.vector) : "no fault",
	       fi.error_code, fi.cr2);
	return false;
}

/* The entry-like value written to word w in pass n. */
static uint32_t lookalike(uint32_t secret, unsigned pass, unsigned w)
{
	uint32_t flags = PTE_P | PTE_W | (pass & 7) << 9;

	return (w & 1) ? secret | flags : (secret + w * 0x1000u) | flags;
}

void recycle_table_page(void)
{
	struct page_table *pt = &spaces[0].pt;
	struct pte_ref pde, data_pte;
	uint64_t old_pde;
	uint32_t table, secret, bytes = 0;
	volatile uint32_t *as_data = (uint32_t *)RECYCLE_VA;
	unsigned bad = 0, still_absent = 0, checks_absent = 0;
	bool ok;

	if (!check(pt_entry(pt, VA_B, 2, &pde), "%s: the PDE of 0x%x",
		   mode_name, VA_B))
		return;
	old_pde = pte_get(&pde);
	table = (uint32_t)(old_pde & ADDR_MASK);
	secret = frame_alloc();
	if (!check(secret != 0, "%s: a frame for the lookalike entries",
		   mode_name))
		return;
	fill_pattern(secret, (uint32_t *)(secret), 0x5e, 0);

	/* Unmap the table. */
	pte_set(&pde, 0);
	flush_tlb();
	check(b_not_present("table unmapped"), "%s: page table 0x%x unmapped: "
	      "0x%x not present", mode_name, table, VA_B);

	/* The table page as data. */
	ok = pt_map(pt, RECYCLE_VA, table, PAGE_4K, PTE_P | PTE_W) &&
	     pt_entry(pt, RECYCLE_VA, 1, &data_pte);
	if (!check(ok, "%s: page table 0x%x mapped as data at 0x%x", mode_name,
		   table, RECYCLE_VA))
		return;
	flush_va(RECYCLE_VA);
	for (unsigned pass = 0; pass < FLOOD_PASSES; pass++) {
		for (unsigned w = 0; w < 1024; w++)
			as_data[w] = lookalike(secret, pass, w);
		for (unsigned w = 0; w < 1024; w++)
			if (as_data[w] != lookalike(secret, pass, w))
				bad++;
		if (pass % 8 == 7) {
			checks_absent++;
			still_absent += b_not_present("table page used as data");
		}
	}
	check(bad == 0, "%s: table page used as data: %u writes of entry-like "
	      "values, read back: %u wrong", mode_name, FLOOD_PASSES * 1024,
	      bad);
	check(still_absent == checks_absent, "%s: 0x%x stays not present while "
	      "its old table holds present entries (%u of %u)", mode_name,
	      VA_B, still_absent, checks_absent);

	/* A table again: new frames for group B. */
	pte_set(&data_pte, 0);
	flush_va(RECYCLE_VA);
	memset((void *)table, 0, 4096);
	for (unsigned p = NR_A; p < NR_PAGES; p++) {
		uint32_t frame = frame_alloc();
		struct pte_ref pte;

		if (!frame)
			break;
		fill_pattern(frame, model[0][p], 0xb0, p);
		written[0][p] = true;
		pte = (struct pte_ref){ table + (((page_va(p) >> 12) &
				(mode == PAGING_32 ? 1023 : 511)) *
				(mode == PAGING_32 ? 4 : 8)),
				(uint8_t)(mode == PAGING_32 ? 4 : 8), 1 };
		pte_set(&pte, frame | PTE_P | PTE_W);
	}
	pte_set(&pde, old_pde);
	flush_tlb();
	ok = verify_space(0, &bytes);
	check(ok, "%s: page 0x%x a table again: group B reads its new frames, "
	      "both groups every byte (%u bytes)", mode_name, table, bytes);
	bytes = 0;
	ok = verify_space(1, &bytes);
	check(ok, "%s: the child's pages untouched (%u bytes)", mode_name,
	      bytes);
	/* Writes through the new table: no fault, the data lands. */
	switch_space(0);
	for (unsigned p = NR_A; p < NR_PAGES; p++) {
		volatile uint32_t *w = (uint32_t *)(page_va(p) + 4 * p);

		*w = 0x1234u + p;
		model[0][p][p] = 0x1234u + p;
	}
	bytes = 0;
	ok = verify_space(0, &bytes);
	check(ok, "%s: writes through the table page land (%u bytes checked)",
	      mode_name, bytes);
}
