/* forkbench: a fork/exec loop in long mode, the page-table workload of a
 * shell or a build system, for measuring a shadow MMU (docs/benchmarks.md).
 *
 * A parent address space (160 user pages in four regions under one PDPT:
 * text read-only, data, heap and stack writable; the kernel's identity map
 * 0-16 MiB shared through PDPT entry 0) runs n iterations of:
 *
 *   fork    the child's tables written entry by entry, the parent's
 *           writable entries write-protected, CR3 reloaded (mm.c);
 *           the parent writes a few pages (copy-on-write copies);
 *   child   MOV CR3 to the child, reads pages, writes pages: the first
 *           write to a page faults, the #PF handler copies it (or reuses
 *           it when the parent copied first), INVLPGs and returns;
 *   exec    a new space with a 16-page text loaded, MOV CR3 to it, the
 *           child's space torn down (every PTE cleared, tables freed);
 *           the program reads its text and writes its 8 stack pages, each
 *           faulted in on demand (the first fault allocates a PD and PT);
 *   exit    its PTEs cleared with INVLPG each, MOV CR3 to the parent, its
 *           tables freed;
 *   parent  writes pages (each first write since fork faults: the frame
 *           is its own again, made writable in place) and reads some.
 *
 * Freed table pages go back to the one page allocator and come back as
 * data (zeroed or filled by a copy) or as tables: a shadow MMU sees the
 * write floods it has to detect.
 *
 * Checked: every page read against the model (each page's content is a
 * pattern of its generation; a write makes a new one), every write faults
 * exactly when the model says and with the right outcome (copy, reuse,
 * demand-zero), error code and CR2; the rest of a written page held the
 * old generation (the copy was right) or zeroes; after each child's run,
 * parent and child share a frame exactly where the model says; at the
 * end, every byte of the parent, one reference per frame, no page leaked.
 *
 * Prints the counters (every store into a page-table page, #PF handler
 * calls, CR3 loads, INVLPGs, TSC cycles, all over the whole run) in one
 * machine-readable line. Options: n= iterations (default 200), seed=,
 * quiet (only failed checks print; the counters and the verdict always).
 */
#include "tests/guest/forkbench/forkbench.h"
#include "tests/guest/lib/util.h"

const char guest_name[] = "forkbench";

#define PARENT_WRITES_BEFORE	4
#define CHILD_READS		16
#define CHILD_WRITES		24
#define PARENT_WRITES_AFTER	12
#define PARENT_READS		8
#define MAX_REPORTS		16

enum fault_kind { F_NONE, F_COPY, F_REUSE, F_ZERO };
static const char *const kind_name[] = { "none", "copy", "reuse", "zero" };

/* The model: [0] the parent, [1] the child. */
static uint32_t gen[2][NR_PAGES];	/* each page's generation */
static bool writable[2][NR_PAGES];	/* its PTE is writable */
static bool shared[NR_PAGES];		/* both map one frame */
static uint32_t exec_gen[EXEC_TEXT_PAGES + EXEC_STACK_PAGES];
static uint32_t next_gen;

static uint32_t rng_state;
static bool quiet;
static unsigned quiet_passed;
static unsigned reports;
static unsigned read_errors, write_errors, share_errors;
static uint64_t pages_read, pages_written, pages_compared, expected_faults;

/* check(), but with the option quiet only a failed check prints: fewer
 * serial-port exits under the hypervisor, for bench-shadow.sh. */
#define fb_check(ok, ...) ({						\
	bool ok_ = (ok);						\
									\
	quiet && ok_ ? (quiet_passed++, true) : check(ok_, __VA_ARGS__);\
})

static void report(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void report(const char *fmt, ...)
{
	va_list ap;

	if (++reports > MAX_REPORTS)
		return;
	guest_printf("forkbench: ");
	va_start(ap, fmt);
	guest_vprintf(fmt, ap);
	va_end(ap);
	guest_printf("\n");
}

static uint32_t rnd(unsigned n)
{
	return xorshift32(&rng_state) % n;
}

/* Word w of a page of generation g; generation 0 is a zeroed page. */
static uint32_t pat(uint32_t g, unsigned w)
{
	return g ? g * 0x9e3779b1u ^ (w + 1) * 0x85ebca6bu : 0;
}

static uint32_t user_va(unsigned p)
{
	for (unsigned r = 0; r < NR_REGIONS; r++) {
		const struct region *g = &user_regions[r];

		if (p >= g->first && p < g->first + g->pages)
			return g->va + (p - g->first) * 4096u;
	}
	return 0;
}

static uint32_t exec_va(unsigned p)
{
	return p < EXEC_TEXT_PAGES ? EXEC_TEXT_VA + p * 4096u :
	       EXEC_STACK_VA + (p - EXEC_TEXT_PAGES) * 4096u;
}

/* A writable page of the parent's layout: data, heap or stack. */
static unsigned random_writable(void)
{
	unsigned first = user_regions[REG_DATA].first;

	return first + rnd(NR_PAGES - first);
}

static void fill(uint32_t va, uint32_t g)
{
	volatile uint32_t *p = (volatile uint32_t *)va;

	for (unsigned w = 0; w < 1024; w++)
		p[w] = pat(g, w);
}

/* A read of a whole page of the current space against generation g. */
static void op_read(uint32_t va, uint32_t g)
{
	volatile uint32_t *p = (volatile uint32_t *)va;
	uint64_t faults = cnt.faults;
	unsigned bad = 0, first = 0;

	for (unsigned w = 0; w < 1024; w++)
		if (p[w] != pat(g, w) && !bad++)
			first = w;
	pages_read++;
	if (bad || cnt.faults != faults) {
		read_errors++;
		report("%s: read 0x%x: %u words wrong (first: word %u 0x%x, "
		       "want 0x%x), %llu faults", spaces[cur_space].name, va,
		       bad, first, p[first], pat(g, first),
		       cnt.faults - faults);
	}
}

/* A write to a page of the current space: one word first (the access
 * that may fault, and how it must), then the rest of the page must hold
 * generation *g (a right copy, or zeroes) and is rewritten: the page is
 * of a new generation. */
static void op_write(uint32_t va, uint32_t *g, enum fault_kind want)
{
	volatile uint32_t *p = (volatile uint32_t *)va;
	uint32_t ng = ++next_gen;
	unsigned k = rnd(1024), bad = 0;
	uint64_t faults = cnt.faults, copies = cnt.cow_copies;
	uint64_t reuses = cnt.cow_reuses, zeros = cnt.zero_fills;
	uint64_t got_copy, got_reuse, got_zero;
	bool ok;

	p[k] = pat(ng, k);
	got_copy = cnt.cow_copies - copies;
	got_reuse = cnt.cow_reuses - reuses;
	got_zero = cnt.zero_fills - zeros;
	if (want == F_NONE)
		ok = cnt.faults == faults;
	else
		ok = cnt.faults - faults == 1 &&
		     got_copy == (want == F_COPY) &&
		     got_reuse == (want == F_REUSE) &&
		     got_zero == (want == F_ZERO) &&
		     last_cr2 == va + 4 * k &&
		     last_err == (want == F_ZERO ? PF_W : PF_P | PF_W);
	if (want != F_NONE)
		expected_faults++;
	for (unsigned w = 0; w < 1024; w++)
		if (w != k && p[w] != pat(*g, w))
			bad++;
	for (unsigned w = 0; w < 1024; w++)
		if (w != k)
			p[w] = pat(ng, w);
	pages_written++;
	if (!ok || bad) {
		write_errors++;
		report("%s: write 0x%x: %llu faults (copy %llu, reuse %llu, "
		       "zero %llu), want %s; last CR2 0x%x err 0x%x; %u words "
		       "of the old page wrong", spaces[cur_space].name,
		       va + 4 * k, cnt.faults - faults, got_copy, got_reuse,
		       got_zero, kind_name[want], last_cr2, last_err, bad);
	}
	*g = ng;
}

/* A write to page p of the parent or the child (the current space). */
static void write_user(unsigned p)
{
	unsigned s = cur_space;
	enum fault_kind want = writable[s][p] ? F_NONE :
			       shared[p] ? F_COPY : F_REUSE;

	op_write(user_va(p), &gen[s][p], want);
	writable[s][p] = true;
	shared[p] = false;
}

static uint32_t frame_of(unsigned s, uint32_t va)
{
	uint32_t addr = space_pte(s, va);

	return addr ? (uint32_t)(pte_read(addr) & PTE_ADDR) : 0;
}

/* Parent and child map one frame exactly where the model says (text
 * pages always), each frame with the references the model implies. */
static void check_sharing(void)
{
	for (unsigned p = 0; p < NR_PAGES; p++) {
		uint32_t a = frame_of(SP_PARENT, user_va(p));
		uint32_t b = frame_of(SP_CHILD, user_va(p));
		bool want = p < user_regions[REG_DATA].first || shared[p];
		unsigned ra = a ? page_refs(a) : 0, rb = b ? page_refs(b) : 0;

		pages_compared++;
		if (a && b && (a == b) == want &&
		    (want ? ra == 2 : ra == 1 && rb == 1))
			continue;
		share_errors++;
		report("sharing: page 0x%x: parent frame 0x%x (%u refs), child "
		       "0x%x (%u refs), want %s", user_va(p), a, ra, b, rb,
		       want ? "one frame" : "two");
	}
}

static bool exec_build(void)
{
	if (!space_new(SP_EXEC))
		return false;
	for (unsigned t = 0; t < EXEC_TEXT_PAGES; t++) {
		uint32_t frame = page_alloc(true);

		if (!frame)
			return false;
		exec_gen[t] = ++next_gen;
		fill(frame, exec_gen[t]);
		if (!space_map(SP_EXEC, exec_va(t), frame | PTE_P | PTE_U))
			return false;
	}
	for (unsigned t = EXEC_TEXT_PAGES; t < ARRAY_SIZE(exec_gen); t++)
		exec_gen[t] = 0;
	return true;
}

static bool iteration(void)
{
	/* fork */
	if (!space_fork(SP_PARENT, SP_CHILD))
		return false;
	for (unsigned p = 0; p < NR_PAGES; p++) {
		gen[1][p] = gen[0][p];
		writable[0][p] = writable[1][p] = false;
		shared[p] = true;
	}
	for (unsigned i = 0; i < PARENT_WRITES_BEFORE; i++)
		write_user(random_writable());

	/* the child */
	switch_space(SP_CHILD);
	for (unsigned i = 0; i < CHILD_READS; i++) {
		unsigned p = rnd(NR_PAGES);

		op_read(user_va(p), gen[1][p]);
	}
	for (unsigned i = 0; i < CHILD_WRITES; i++)
		write_user(random_writable());
	check_sharing();

	/* exec: the new program's space, then the child's torn down */
	if (!exec_build())
		return false;
	switch_space(SP_EXEC);
	space_zap(SP_CHILD);
	space_free_tables(SP_CHILD);
	for (unsigned p = 0; p < NR_PAGES; p++)
		shared[p] = false;
	for (unsigned t = 0; t < EXEC_TEXT_PAGES; t++)
		op_read(exec_va(t), exec_gen[t]);
	for (unsigned t = EXEC_TEXT_PAGES; t < ARRAY_SIZE(exec_gen); t++) {
		op_write(exec_va(t), &exec_gen[t], F_ZERO);
		op_read(exec_va(t), exec_gen[t]);
	}

	/* exit */
	space_zap(SP_EXEC);
	switch_space(SP_PARENT);
	space_free_tables(SP_EXEC);

	/* the parent again */
	for (unsigned i = 0; i < PARENT_WRITES_AFTER; i++)
		write_user(random_writable());
	for (unsigned i = 0; i < PARENT_READS; i++) {
		unsigned p = rnd(NR_PAGES);

		op_read(user_va(p), gen[0][p]);
	}
	return true;
}

static bool build_parent(void)
{
	for (unsigned r = 0; r < NR_REGIONS; r++) {
		const struct region *g = &user_regions[r];

		for (unsigned i = 0; i < g->pages; i++) {
			unsigned p = g->first + i;
			uint32_t frame = page_alloc(false);

			if (!frame)
				return false;
			gen[0][p] = ++next_gen;
			fill(frame, gen[0][p]);
			writable[0][p] = g->writable;
			if (!space_map(SP_PARENT, user_va(p), frame | PTE_P |
				       PTE_U | (g->writable ?
						PTE_W | PTE_SW_WRITE : 0)))
				return false;
		}
	}
	return true;
}

/* The runtime's handlers (long64.asm): put back afterwards. */
extern const uint32_t trap64_entries[];

static void set_pf_gate(uint32_t h)
{
	uint64_t *gate = (uint64_t *)(uint32_t)(idt64_ptr.base + 16 * EXC_PF);

	*gate = (*gate & 0x0000ffffffff0000ull) | (h & 0xffff) |
		(uint64_t)(h >> 16) << 48;
}

static uint64_t per_iter(uint64_t v, unsigned n)
{
	return n ? udiv64(v, n, NULL) : 0;
}

/* Every byte of the parent, its frames mapped once, nothing leaked. */
static void final_checks(unsigned tables)
{
	unsigned bad_refs = 0, want_free;

	for (unsigned p = 0; p < NR_PAGES; p++) {
		uint32_t f = frame_of(SP_PARENT, user_va(p));

		op_read(user_va(p), gen[0][p]);
		if (!f || page_refs(f) != 1)
			bad_refs++;
	}
	fb_check(read_errors == 0, "reads: every page read as the model says, "
		 "the parent's %u pages in full at the end (%llu pages read, "
		 "%u wrong)", NR_PAGES, pages_read, read_errors);
	want_free = POOL_PAGES - 1 - tables - NR_PAGES;
	fb_check(pages_free() == want_free && mm_errors == 0, "end: %u of %u "
		 "pages free, want %u (in use: the kernel's PD, the parent's "
		 "%u tables and %u frames); %u allocator errors", pages_free(),
		 POOL_PAGES, want_free, tables, NR_PAGES, mm_errors);
	fb_check(bad_refs == 0, "end: every frame of the parent mapped once "
		 "(%u not)", bad_refs);
}

bool guest_test(uint32_t magic, const struct mb1_info *info)
{
	unsigned n, done = 0, tables = 0;
	struct page_table pt;
	uint64_t t0, t1;
	bool ok;

	(void)magic, (void)info;
	rng_state = (uint32_t)opt_u64("seed", 1) | 1;
	n = (unsigned)opt_u64("n", 200);
	quiet = opt_present("quiet");
	if (!fb_check((uint32_t)__image_end <= POOL_BASE, "image ends at 0x%x, "
		      "below 0x%x", (uint32_t)__image_end, POOL_BASE) ||
	    !fb_check(mb_ram_end() >= IDENTITY_END, "RAM up to 0x%x (ends at "
		      "0x%llx)", IDENTITY_END, mb_ram_end()) ||
	    !fb_check(cpu_has_long_mode(), "CPU with long mode"))
		return false;
	spaces[SP_PARENT] = (struct space){ 0, user_regions, NR_REGIONS,
					    "parent" };
	spaces[SP_CHILD] = (struct space){ 0, user_regions, NR_REGIONS,
					   "child" };
	spaces[SP_EXEC] = (struct space){ 0, exec_regions, 2, "exec" };

	t0 = rdtsc();
	mm_init();
	ok = space_new(SP_PARENT);
	if (!fb_check(ok, "kernel map and the parent's root tables"))
		return false;
	pt = (struct page_table){ PAGING_LONG, spaces[SP_PARENT].pml4 };
	paging_enter(&pt, PAGING_WP);
	mm_long_mode_on();
	cur_space = SP_PARENT;
	if (cpu_has_pge())
		write_cr4(read_cr4() | CR4_PGE);
	set_pf_gate((uint32_t)fb_pf64);
	ok = build_parent();
	if (ok)
		tables = space_tables(SP_PARENT);
	if (ok && !quiet) {
		guest_printf("forkbench: long mode; the kernel's map (0-16 "
			     "MiB, 2M global pages) shared by every space\n");
		guest_printf("forkbench: parent: %u pages in 4 regions, %u "
			     "table pages; seed %u, %u iterations of fork, "
			     "child, exec, exit\n", NR_PAGES, tables,
			     (unsigned)opt_u64("seed", 1), n);
	}
	for (; done < n && ok; done++)
		ok = iteration();
	fb_check(ok, "%u iterations run (page pool never empty)", done);
	if (ok)
		final_checks(tables);
	t1 = rdtsc();
	set_pf_gate(trap64_entries[EXC_PF]);
	write_cr4(read_cr4() & ~CR4_PGE);
	paging_leave();

	fb_check(write_errors == 0, "writes: %llu pages; a fault exactly where "
		 "the model wants one, error code and CR2 right; old contents "
		 "right", pages_written);
	fb_check(write_errors == 0, "faults: %llu (%llu copies, %llu reuses, "
		 "%llu demand-zero), each of the kind the model wants",
		 expected_faults, cnt.cow_copies, cnt.cow_reuses,
		 cnt.zero_fills);
	fb_check(cnt.faults == expected_faults, "#PF handler calls %llu, want "
		 "%llu", cnt.faults, expected_faults);
	fb_check(share_errors == 0, "sharing after each child's run: frames "
		 "shared exactly where the model says (%llu pages compared)",
		 pages_compared);
	if (reports > MAX_REPORTS)
		guest_printf("forkbench: %u more mismatches not printed\n",
			     reports - MAX_REPORTS);
	if (quiet)
		guest_printf("forkbench: quiet: %u checks passed, %u failed\n",
			     quiet_passed, checks_failed());
	guest_printf("forkbench: iterations=%u pt_writes=%llu faults=%llu "
		     "cr3_loads=%llu invlpgs=%llu tsc_cycles=%llu zeroed=%llu "
		     "copied=%llu\n", done, cnt.pt_writes, cnt.faults,
		     cnt.cr3_loads, cnt.invlpgs, t1 - t0, cnt.zeroed,
		     cnt.copied);
	guest_printf("forkbench: per iteration: pt_writes=%llu faults=%llu "
		     "cr3_loads=%llu invlpgs=%llu tsc_cycles=%llu\n",
		     per_iter(cnt.pt_writes, done), per_iter(cnt.faults, done),
		     per_iter(cnt.cr3_loads, done), per_iter(cnt.invlpgs, done),
		     per_iter(t1 - t0, done));
	return boot.magic_ok;
}
