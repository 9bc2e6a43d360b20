/* permmatrix: the access-permission matrix of x86 paging.
 *
 * In 32-bit paging, PAE and 4-level paging in turn, for test pages of every
 * size the mode has (4K; 4M or 2M; 1G in long mode when CPUID says so),
 * every entry on the walk of the test page is set in turn to the
 * combinations that matter of P, R/W, U/S and XD, reserved bits and
 * ignored bits; under every combination of CR0.WP, EFER.NXE, CR4.SMEP,
 * CR4.SMAP and EFLAGS.AC the CPU has (and, in long mode, CR4.PKE with
 * PKRU), a read, a write and an instruction fetch are made at CPL 0 and
 * at CPL 3. What happens (#PF or not, its error code and CR2, the data
 * read or written, the A bits set in every entry and the D bit in the
 * leaf) is compared with what model.c, the SDM's rules in a table, says.
 *
 * A group of A/D sequences checks what an OS relies on: D set by a write
 * that follows a read through the same TLB entry, A and D set again after
 * the OS cleared them and invalidated the page.
 *
 * Each group prints one line with its count of checks; every mismatch is
 * printed in full (up to MAX_MISMATCH_LINES, then only counted).
 *
 * The runtime runs on supervisor-only pages (an identity map of the first
 * 8 MiB), so that SMEP and SMAP can be on; CPL 3 code runs from a user
 * window that maps access.asm's stub page and the user stack a second time.
 *
 * Options: seed=N (the random "mixed" group), mixed=N (random walks per
 * test page, default 24).
 *
 * Known platform deviation (docs/testing.md): QEMU TCG reports a
 * reserved-bit #PF without P. It is accepted where TCG walks this guest's
 * page tables: on bare QEMU (CPUID signature TCGTCGTCGTCG) and under the
 * hypervisor on a QEMU TCG CPU with nested paging (brand string "QEMU
 * TCG"); the output says which and how many.
 */
#include "tests/guest/permmatrix/run.h"
#include "tests/guest/lib/util.h"

const char guest_name[] = "permmatrix";

#define IDENTITY_END	0x800000u	/* 0-8 MiB, supervisor, 4K pages */
#define TEST_AREA	0x400000u	/* 4-8 MiB: the large pages map it */
#define TEST_FRAME	(TEST_AREA + 0x5000u)
#define USER_WIN	0x00c00000u	/* stubs, then the user stack */

/* Rights combinations of one entry: bit 0 R/W, bit 1 U/S, bit 2 XD. */
#define R_W		1u
#define R_U		2u
#define R_NX		4u
#define R_OPEN		(R_W | R_U)

static uint32_t rng_state;
static unsigned mixed_per_path;

static struct pm_entry open_entry(bool rights)
{
	return (struct pm_entry){ .p = true, .w = true, .u = true,
				  .rights = rights };
}

static void set_rights(struct pm_entry *e, unsigned r)
{
	e->w = r & R_W;
	e->u = r & R_U;
	e->nx = r & R_NX;
}

static unsigned rights_combos(void)
{
	return cur.mode == PAGING_32 ? 4 : 8;	/* no XD in 32-bit paging */
}

/* A walk with every entry open: the start of every assignment. */
static void open_walk(const struct path *p, struct assignment *a)
{
	memset(a, 0, sizeof(*a));
	for (unsigned i = 0; i < p->levels; i++)
		a->e[i] = open_entry(p->rights[i]);
}

/* ---- Groups ------------------------------------------------------------ */

/* preset: A already set in every entry and D in the leaf. D does not
 * make a read-only page writable, and the CPU leaves both as they are. */
static void group_leaf_rights(const struct path *p, bool preset)
{
	struct group g;
	struct assignment a;

	group_start(&g, p, preset ? "leaf R/W U/S XD, A/D already set" :
				    "leaf R/W U/S XD");
	for (unsigned c = 0; c < nr_full_controls; c++) {
		apply_controls(&full_controls[c]);
		for (unsigned r = 0; r < rights_combos(); r++) {
			open_walk(p, &a);
			a.preset_ad = preset;
			set_rights(&a.e[p->levels - 1], r);
			run_all_accesses(&g, p, &a);
		}
	}
	group_end(&g);
}

static void group_upper_rights(const struct path *p, unsigned level)
{
	struct group g;
	struct assignment a;
	char name[40];

	guest_snprintf(name, sizeof(name), "%s R/W U/S XD", p->entry_name[level]);
	group_start(&g, p, name);
	for (unsigned c = 0; c < nr_full_controls; c++) {
		apply_controls(&full_controls[c]);
		for (unsigned r = 0; r < rights_combos(); r++) {
			if (r == R_OPEN)
				continue;	/* the leaf group has it */
			open_walk(p, &a);
			set_rights(&a.e[level], r);
			run_all_accesses(&g, p, &a);
		}
	}
	group_end(&g);
}

/* Random rights at every level at once: the rights of a walk are the
 * combination of all its entries. */
static void group_mixed(const struct path *p)
{
	struct group g;
	struct assignment a;

	group_start(&g, p, "mixed rights on all levels");
	for (unsigned n = 0; n < mixed_per_path; n++) {
		open_walk(p, &a);
		for (unsigned i = 0; i < p->levels; i++)
			if (p->rights[i])
				set_rights(&a.e[i], xorshift32(&rng_state) %
					   rights_combos());
		for (unsigned c = 0; c < nr_full_controls; c++) {
			apply_controls(&full_controls[c]);
			run_all_accesses(&g, p, &a);
		}
	}
	group_end(&g);
}

/* P = 0 at each level; with a reserved bit too, which must not matter. */
static void group_not_present(const struct path *p)
{
	struct group g;
	struct assignment a;
	uint64_t high = reserved_address_bit();

	group_start(&g, p, "not present at each level");
	for (unsigned c = 0; c < nr_small_controls; c++) {
		apply_controls(&small_controls[c]);
		for (unsigned i = 0; i < p->levels; i++) {
			open_walk(p, &a);
			a.e[i].p = false;
			run_all_accesses(&g, p, &a);
			if (cur.mode != PAGING_32 && high) {
				a.extra[i] = high;
				run_all_accesses(&g, p, &a);
			}
		}
	}
	group_end(&g);
}

/* The reserved bits of each entry that the SDM defines for every CPU:
 * address bits at and above MAXPHYADDR, bits 20:13 of a 2M page and 29:13
 * of a 1G page, PS in a PML4E, bit 21 of a 4M page. (Not the PAE PDPTEs:
 * Intel CPUs check those on MOV to CR3, with #GP.) */
static unsigned reserved_masks(const struct path *p, unsigned i,
			       uint64_t *masks)
{
	unsigned n = 0;
	uint64_t high = reserved_address_bit();
	bool leaf = i == p->levels - 1;

	if (cur.mode == PAGING_32) {
		if (leaf && p->size == PAGE_4M)
			masks[n++] = 1ull << 21;
		return n;
	}
	if (!p->rights[i])
		return 0;			/* PAE PDPTE */
	if (high) {
		masks[n++] = high;
		if (high != 1ull << 51)
			masks[n++] = 1ull << 51;
	}
	if (leaf && p->size == PAGE_2M) {
		masks[n++] = 1ull << 13;
		masks[n++] = 1ull << 20;
	}
	if (leaf && p->size == PAGE_1G) {
		masks[n++] = 1ull << 13;
		masks[n++] = 1ull << 29;
	}
	if (cur.mode == PAGING_LONG && p->level_of[i] == 4)
		masks[n++] = PTE_PS;
	return n;
}

/* Bits the CPU ignores: AVL (9, 11), PAT in a leaf (bit 7 of a PTE, 12 of
 * a large page), and in long mode bits 52 and 58, and 62 (a protection
 * key while CR4.PKE = 0, ignored in upper levels). */
static unsigned ignored_masks(const struct path *p, unsigned i,
			      uint64_t *masks)
{
	unsigned n = 0;
	bool leaf = i == p->levels - 1;

	masks[n++] = 1ull << 9;
	masks[n++] = 1ull << 11;
	if (leaf)
		masks[n++] = p->size == PAGE_4K ? 1ull << 7 : 1ull << 12;
	if (cur.mode == PAGING_LONG) {
		masks[n++] = 1ull << 52;
		masks[n++] = 1ull << 58;
		masks[n++] = 1ull << 62;
	}
	return n;
}

static void group_bits(const struct path *p, bool reserved)
{
	struct group g;
	struct assignment a;
	uint64_t masks[8];

	group_start(&g, p, reserved ? "reserved bits at each level" :
				      "ignored bits at each level");
	for (unsigned c = 0; c < nr_small_controls; c++) {
		apply_controls(&small_controls[c]);
		for (unsigned i = 0; i < p->levels; i++) {
			unsigned n = reserved ? reserved_masks(p, i, masks) :
						ignored_masks(p, i, masks);

			for (unsigned k = 0; k < n; k++) {
				open_walk(p, &a);
				a.extra[i] = masks[k];
				a.e[i].rsvd = reserved;
				run_all_accesses(&g, p, &a);
			}
		}
	}
	group_end(&g);
}

/* Protection keys (long mode, CPUID PKU): for keys 1, 7 and 15 in the
 * leaf, PKRU with that key's AD/WD in all four states (the other keys
 * closed and key 0 open: the user stack has key 0), leaf rights R/W and
 * U/S, CR0.WP and SMAP/AC; then CR4.PKE = 0 with a closed PKRU. */
static void group_pkeys(const struct path *p)
{
	static const unsigned keys[] = { 1, 7, 15 };
	struct group g;
	struct assignment a;

	group_start(&g, p, "protection keys");
	for (unsigned c = 0; c < nr_pkey_controls; c++) {
		for (unsigned k = 0; k < ARRAY_SIZE(keys); k++) {
			for (uint32_t bits = 0; bits < 5; bits++) {
				struct pm_controls ctl = pkey_controls[c];
				uint32_t others = 0xfffffffcu &
						  ~(3u << (2 * keys[k]));

				/* 0-3: AD/WD of the key, others open;
				 * 4: the key open, all others closed. */
				ctl.pke = true;
				ctl.pkru = bits < 4 ? bits << (2 * keys[k])
						    : others;
				apply_controls(&ctl);
				for (unsigned r = 0; r < 4; r++) {
					open_walk(p, &a);
					set_rights(&a.e[p->levels - 1], r);
					a.e[p->levels - 1].pkey = keys[k];
					run_all_accesses(&g, p, &a);
				}
			}
		}
	}
	/* CR4.PKE = 0: the key bits are ignored, PKRU does not apply. */
	for (unsigned k = 0; k < ARRAY_SIZE(keys); k++) {
		struct pm_controls ctl = pkey_controls[0];

		ctl.pke = true;
		ctl.pkru = 0xfffffffcu;
		apply_controls(&ctl);
		ctl.pke = false;
		apply_controls(&ctl);
		open_walk(p, &a);
		a.e[p->levels - 1].pkey = keys[k];
		run_all_accesses(&g, p, &a);
	}
	group_end(&g);
}

/* ---- Modes -------------------------------------------------------------- */

static bool build(struct page_table *pt, enum paging_mode mode)
{
	uint32_t stub = (uint32_t)pm_user_page;
	uint32_t stack = (uint32_t)user_stack;
	bool ok = pt_init(pt, mode);

	ok = ok && pt_map_range(pt, 0, 0, IDENTITY_END, PAGE_4K, PTE_P | PTE_W);
	ok = ok && pt_map(pt, USER_WIN, stub, PAGE_4K, PTE_P | PTE_U);
	ok = ok && pt_map_range(pt, USER_WIN + 0x1000, stack,
				user_stack_top - user_stack, PAGE_4K,
				PTE_P | PTE_W | PTE_U);
	return check(ok, "%s: identity map (supervisor), user window at 0x%x",
		     paging_mode_name(mode), USER_WIN);
}

static void group_ad_sequences(const struct path *p)
{
	struct group g;
	struct pm_controls neutral = { .wp = true, .nxe = cpu_has_nx() };

	group_start(&g, p, "A/D sequences");
	apply_controls(&neutral);
	run_ad_sequences(&g, p);
	group_end(&g);
}

static void run_path(const struct path *p)
{
	group_ad_sequences(p);
	group_leaf_rights(p, false);
	group_leaf_rights(p, true);
	for (unsigned i = 0; i + 1 < p->levels; i++)
		if (p->rights[i])
			group_upper_rights(p, i);
	group_mixed(p);
	group_not_present(p);
	group_bits(p, true);
	group_bits(p, false);
	if (cur.mode == PAGING_LONG && cpu_has_pku())
		group_pkeys(p);
	restore_path(p);
}

/* 32-bit paging with CR4.PSE = 0: PS in a PDE is ignored, the PDE points
 * to a page table (SDM 4.3). */
static void check_pse_off(struct page_table *pt)
{
	struct pte_ref pde;
	uint64_t old;
	uint32_t v;

	if (!pt_entry(pt, 0x40000000u, 2, &pde))
		return;
	old = pte_get(&pde);
	write_cr4(read_cr4() & ~CR4_PSE);
	pte_set(&pde, old | PTE_PS);
	flush_tlb();
	v = *(volatile uint32_t *)(0x40000000u + 0x40);
	pte_set(&pde, old);
	flush_tlb();
	write_cr4(read_cr4() | CR4_PSE);
	check(v == TEST_MARKER, "32-bit: CR4.PSE=0: PS in a PDE is ignored, "
	      "read via its page table: 0x%x", v);
}

static void run_mode(enum paging_mode mode)
{
	struct page_table pt;
	struct path paths[3];
	unsigned n;

	mode_begin(mode);
	if (!build(&pt, mode))
		return;
	n = build_paths(&pt, paths, TEST_AREA, TEST_FRAME);
	if (!check(n > 0, "%s: test pages mapped", cur.name))
		return;
	paging_enter(&pt, PAGING_WP | (cpu_has_nx() ? PAGING_NXE : 0));
	controls_sync();
	if (mode == PAGING_LONG)
		check(lm_code_bits() == 64, "%s: 64-bit code runs", cur.name);
	for (unsigned i = 0; i < n; i++)
		run_path(&paths[i]);
	controls_reset();
	if (mode == PAGING_32)
		check_pse_off(&pt);
	paging_leave();
	mode_end();
}

bool guest_test(uint32_t magic, const struct mb1_info *info)
{
	(void)magic, (void)info;
	if (!check((uint32_t)__image_end <= TEST_AREA, "image ends at 0x%x, "
		   "below the test area 0x%x", (uint32_t)__image_end, TEST_AREA) ||
	    !check(mb_ram_end() >= IDENTITY_END, "RAM up to 0x%x",
		   IDENTITY_END))
		return false;
	rng_state = (uint32_t)opt_u64("seed", 1) | 1;
	mixed_per_path = (unsigned)opt_u64("mixed", 24);
	run_setup(TEST_FRAME, USER_WIN);
	run_mode(PAGING_32);
	run_mode(PAGING_PAE);
	if (cpu_has_long_mode())
		run_mode(PAGING_LONG);
	else
		check(false, "CPU without long mode");
	run_summary();
	return boot.magic_ok;
}
