/* ctxswitch: a context switcher, in 32-bit paging, PAE and long mode in
 * turn.
 *
 * 16 address spaces map the same window (8 pages at 0x40000000) to frames
 * of their own, and share the kernel's identity map and a region of global
 * pages through the same page-table pages. MOV to CR3 switches between
 * them round-robin (n=, default 10000 times a mode and phase); after each switch a
 * few translations are checked (the first word of each frame is a function
 * of its address) and a counter in one frame is incremented, so at the end
 * every frame must hold the count of the writes meant for it. Every 61
 * switches two pages of the next space are swapped in its (inactive) page
 * table, which the MOV to CR3 must make visible; every 53, two pages of the
 * current space are swapped and INVLPGed.
 *
 * Global pages: the same switches with CR4.PGE = 1 and the G bit in the
 * global pages' PTEs. A global translation may survive a MOV to CR3 (the
 * SDM allows, does not require it: the output says what the CPU did), and
 * must be gone after INVLPG and after toggling CR4.PGE; with CR4.PGE = 0
 * the G bit is ignored and MOV to CR3 flushes it; a non-global page is
 * always flushed by MOV to CR3.
 *
 * PCIDs and INVPCID in long mode when CPUID has them: pcid.c.
 */
#include "tests/guest/ctxswitch/ctxswitch.h"
#include "tests/guest/lib/util.h"

const char guest_name[] = "ctxswitch";

#define MAX_REPORTS	16
#define STALE_ROUNDS	16

enum paging_mode mode;
const char *mode_name;
struct space spaces[NR_SPACES];
unsigned cur_space;
uint32_t global_frame[NR_GLOBAL], global_alt[NR_GLOBAL];
struct pte_ref global_pte[NR_GLOBAL];
uint32_t rng_state;
unsigned nr_switches;

static uint32_t next_frame;
static uint32_t counts[(FRAMES_END - FRAMES_BASE) / 4096];
static unsigned reports;

void report(const char *fmt, ...)
{
	va_list ap;

	if (++reports > MAX_REPORTS)
		return;
	guest_printf("ctxswitch: %s: ", mode_name);
	va_start(ap, fmt);
	guest_vprintf(fmt, ap);
	va_end(ap);
	guest_printf("\n");
}

static uint32_t frame_alloc(void)
{
	uint32_t frame = next_frame;

	if (frame >= FRAMES_END)
		return 0;
	next_frame += 0x1000;
	memset((void *)frame, 0, 4096);
	*(volatile uint32_t *)frame = frame_tag(frame);
	return frame;
}

static uint32_t *count_of(uint32_t frame)
{
	return &counts[(frame - FRAMES_BASE) / 4096];
}

/* ---- Building the spaces ---------------------------------------------------- */

/* Copy space 0's entry at level for va into space i. */
static bool share_entry(unsigned i, uint64_t va, unsigned level)
{
	struct pte_ref from, to;

	if (!pt_entry(&spaces[0].pt, va, level, &from) ||
	    !pt_entry(&spaces[i].pt, va, level, &to))
		return false;
	pte_set(&to, pte_get(&from));
	return true;
}

static bool build_space(unsigned i)
{
	struct space *s = &spaces[i];
	uint64_t large = mode == PAGING_32 ? PAGE_4M : PAGE_2M;
	bool ok = pt_init_another(&s->pt, mode);

	for (unsigned j = 0; ok && j < NR_WIN; j++) {
		s->frame[j] = frame_alloc();
		ok = s->frame[j] &&
		     pt_map(&s->pt, win_va(j), s->frame[j], PAGE_4K,
			    PTE_P | PTE_W) &&
		     pt_entry(&s->pt, win_va(j), 1, &s->pte[j]);
	}
	if (!ok)
		return false;
	if (i == 0) {
		ok = pt_map_range(&s->pt, 0, 0, IDENTITY_END, large,
				  PTE_P | PTE_W);
		for (unsigned g = 0; ok && g < NR_GLOBAL; g++) {
			global_frame[g] = frame_alloc();
			global_alt[g] = frame_alloc();
			ok = global_frame[g] && global_alt[g] &&
			     pt_map(&s->pt, global_va(g), global_frame[g],
				    PAGE_4K, PTE_P | PTE_W | PTE_G) &&
			     pt_entry(&s->pt, global_va(g), 1, &global_pte[g]);
		}
		return ok;
	}
	/* The identity map's tables and the global pages' table: shared. */
	if (mode == PAGING_32) {
		for (uint32_t va = 0; ok && va < IDENTITY_END; va += PAGE_4M)
			ok = share_entry(i, va, 2);
	} else {
		ok = share_entry(i, 0, 3);
	}
	return ok && share_entry(i, VA_GLOBAL, 2);
}

static bool build_spaces(void)
{
	bool ok = true;

	next_frame = FRAMES_BASE;
	memset(counts, 0, sizeof(counts));
	pt_pool_set(POOL_BASE, POOL_PAGES);
	for (unsigned i = 0; ok && i < NR_SPACES; i++)
		ok = build_space(i);
	return check(ok, "%s: %u address spaces, %u window pages each at 0x%x, "
		     "%u global pages at 0x%x, %u table pages", mode_name,
		     NR_SPACES, NR_WIN, VA_WIN, NR_GLOBAL, VA_GLOBAL,
		     POOL_PAGES - pt_pool_free());
}

/* ---- Switching and checking ---------------------------------------------- */

static void switch_to(unsigned i)
{
	cur_space = i;
	write_cr3(spaces[i].pt.root);
}

void swap_pages(unsigned k, unsigned a, unsigned b)
{
	struct space *s = &spaces[k];
	uint32_t fa = s->frame[a];

	s->frame[a] = s->frame[b];
	s->frame[b] = fa;
	pte_set(&s->pte[a], (pte_get(&s->pte[a]) & ~ADDR_MASK) | s->frame[a]);
	pte_set(&s->pte[b], (pte_get(&s->pte[b]) & ~ADDR_MASK) | s->frame[b]);
}

unsigned verify_space(unsigned i, unsigned it)
{
	struct space *s = &spaces[i];
	unsigned j1 = it % NR_WIN, j2 = (it * 5 + 3) % NR_WIN, bad = 0;
	unsigned g = it % NR_GLOBAL;
	volatile uint32_t *counter = (uint32_t *)(win_va(j1) + 4);

	if (read_tag(win_va(j1)) != frame_tag(s->frame[j1]) ||
	    read_tag(win_va(j2)) != frame_tag(s->frame[j2])) {
		bad++;
		report("space %u, switch %u: window pages %u, %u read 0x%x, 0x%x, "
		       "want 0x%x, 0x%x", i, it, j1, j2, read_tag(win_va(j1)),
		       read_tag(win_va(j2)), frame_tag(s->frame[j1]),
		       frame_tag(s->frame[j2]));
	}
	if (read_tag(global_va(g)) != frame_tag(global_frame[g])) {
		bad++;
		report("space %u, switch %u: global page %u reads 0x%x, want 0x%x",
		       i, it, g, read_tag(global_va(g)),
		       frame_tag(global_frame[g]));
	}
	(*counter)++;
	(*count_of(s->frame[j1]))++;
	return bad;
}

/* n switches round-robin; remaps as the header says. */
static void round_robin(const char *what)
{
	unsigned bad = 0, remaps = 0, local = 0, checks = 0;

	for (unsigned it = 0; it < nr_switches; it++) {
		unsigned i = it % NR_SPACES, next = (i + 1) % NR_SPACES;
		uint32_t r = xorshift32(&rng_state);
		unsigned a = r % NR_WIN, b = (a + 1 + (r >> 8) % (NR_WIN - 1)) %
					     NR_WIN;

		switch_to(i);
		bad += verify_space(i, it);
		checks += 3;
		if (it % 61 == 60) {
			swap_pages(next, a, b);
			remaps++;
		}
		if (it % 53 == 52) {
			swap_pages(i, a, b);
			invlpg(win_va(a));
			invlpg(win_va(b));
			local++;
			bad += read_tag(win_va(a)) != frame_tag(spaces[i].frame[a]);
			bad += read_tag(win_va(b)) != frame_tag(spaces[i].frame[b]);
			checks += 2;
		}
	}
	check(bad == 0, "%s: %s: %u MOV CR3 round-robin, %u translations "
	      "checked, %u remaps in inactive spaces, %u with INVLPG: %u wrong",
	      mode_name, what, nr_switches, checks, remaps, local, bad);
}

/* Every frame's counter holds the increments meant for it. */
static void check_counts(void)
{
	unsigned bad = 0, total = 0;

	for (uint32_t f = FRAMES_BASE; f < next_frame; f += 0x1000) {
		uint32_t got = ((volatile uint32_t *)f)[1];

		total += got;
		if (got != *count_of(f)) {
			bad++;
			report("frame 0x%x: counter %u, want %u", f, got,
			       *count_of(f));
		}
	}
	check(bad == 0, "%s: every frame's counter right (%u increments, %u "
	      "frames)", mode_name, total, (next_frame - FRAMES_BASE) / 4096);
}

/* ---- Global pages --------------------------------------------------------- */

static void set_pge(bool on)
{
	write_cr4(on ? read_cr4() | CR4_PGE : read_cr4() & ~CR4_PGE);
}

static void point_global(unsigned g, uint32_t frame)
{
	pte_set(&global_pte[g], (pte_get(&global_pte[g]) & ~ADDR_MASK) | frame);
}

/* Global page g remapped without invalidation, then MOV CR3 to another
 * space: true if the old frame is still seen. */
static bool remap_global_and_switch(unsigned g)
{
	volatile uint32_t v = read_tag(global_va(g));	/* in the TLB now */

	(void)v;
	point_global(g, global_alt[g]);
	switch_to((cur_space + 1) % NR_SPACES);
	return read_tag(global_va(g)) == frame_tag(global_frame[g]);
}

static void restore_global(unsigned g)
{
	point_global(g, global_frame[g]);
	invlpg(global_va(g));
}

static void check_globals(void)
{
	unsigned kept = 0, rounds = 0, bad_invlpg = 0, bad_pge = 0;
	unsigned g = 0;
	bool ok;

	/* CR4.PGE = 0: the G bit is ignored, MOV to CR3 flushes. */
	set_pge(false);
	ok = !remap_global_and_switch(g) &&
	     read_tag(global_va(g)) == frame_tag(global_alt[g]);
	restore_global(g);
	check(ok, "%s: CR4.PGE=0: G ignored: a remapped G page is seen after "
	      "MOV CR3", mode_name);

	set_pge(true);
	for (unsigned n = 0; n < STALE_ROUNDS; n++, rounds += 2) {
		g = n % NR_GLOBAL;
		kept += remap_global_and_switch(g);
		invlpg(global_va(g));
		bad_invlpg += read_tag(global_va(g)) != frame_tag(global_alt[g]);
		restore_global(g);

		kept += remap_global_and_switch(g);
		set_pge(false);
		set_pge(true);
		bad_pge += read_tag(global_va(g)) != frame_tag(global_alt[g]);
		restore_global(g);
	}
	guest_printf("ctxswitch: %s: CR4.PGE=1: a remapped global page read "
		     "its old frame after MOV CR3 in %u of %u rounds (%s; the "
		     "SDM allows both)\n", mode_name, kept, rounds,
		     kept ? "kept" : "not kept");
	check(bad_invlpg == 0, "%s: global page remapped: new frame seen "
	      "after INVLPG (%u rounds, %u wrong)", mode_name, STALE_ROUNDS,
	      bad_invlpg);
	check(bad_pge == 0, "%s: global page remapped: new frame seen after a "
	      "CR4.PGE toggle (%u rounds, %u wrong)", mode_name, STALE_ROUNDS,
	      bad_pge);

	/* A non-global page: MOV to CR3 always flushes it. */
	ok = true;
	for (unsigned n = 0; n < STALE_ROUNDS; n++) {
		unsigned a = n % NR_WIN, b = (a + 3) % NR_WIN;

		(void)read_tag(win_va(a));
		swap_pages(cur_space, a, b);
		flush_tlb();
		ok &= read_tag(win_va(a)) == frame_tag(spaces[cur_space].frame[a]);
	}
	check(ok, "%s: CR4.PGE=1: a remapped non-global page is seen after MOV "
	      "CR3 (%u rounds)", mode_name, STALE_ROUNDS);
}

/* ---- Modes ------------------------------------------------------------------ */

static void run_mode(enum paging_mode m)
{
	mode = m;
	mode_name = paging_mode_name(m);
	reports = 0;
	if (!build_spaces())
		return;
	paging_enter(&spaces[0].pt, PAGING_WP);
	cur_space = 0;
	round_robin("CR4.PGE=0");
	if (cpu_has_pge()) {
		set_pge(true);
		round_robin("CR4.PGE=1");
		check_globals();
		set_pge(false);
	} else {
		guest_printf("ctxswitch: skipped: no PGE\n");
	}
	if (m == PAGING_LONG)
		run_pcid();
	switch_to(0);
	check_counts();
	paging_leave();
	pt_pool_set(0, 0);
	if (reports > MAX_REPORTS)
		guest_printf("ctxswitch: %s: %u more mismatches not printed\n",
			     mode_name, reports - MAX_REPORTS);
}

bool guest_test(uint32_t magic, const struct mb1_info *info)
{
	(void)magic, (void)info;
	if (!check((uint32_t)__image_end <= POOL_BASE, "image ends at 0x%x, "
		   "below 0x%x", (uint32_t)__image_end, POOL_BASE) ||
	    !check(mb_ram_end() >= USED_END, "RAM up to 0x%x", USED_END))
		return false;
	rng_state = (uint32_t)opt_u64("seed", 1) | 1;
	nr_switches = (unsigned)opt_u64("n", 10000);
	guest_printf("ctxswitch: platform %s; CPUID: PGE %s, PCID %s, "
		     "INVPCID %s\n", platform_name(),
		     cpu_has_pge() ? "yes" : "no", cpu_has_pcid() ? "yes" : "no",
		     cpu_has_invpcid() ? "yes" : "no");
	run_mode(PAGING_32);
	run_mode(PAGING_PAE);
	if (cpu_has_long_mode())
		run_mode(PAGING_LONG);
	else
		check(false, "CPU without long mode");
	return boot.magic_ok;
}
