/* ptwriter: a guest that writes its page tables the way an OS does, in
 * 32-bit paging, PAE and long mode in turn.
 *
 *   - fork with copy-on-write: a parent address space with 48 data pages
 *     in two page tables; its tables are copied for a child (the data
 *     part deep, the kernel's identity map shared); every data page is
 *     made read-only in both. Then thousands of random reads and writes in
 *     one space or the other, with a MOV to CR3 between them half of the
 *     time. The first write to a page in a space faults; the #PF handler
 *     (pfhandler.asm) copies the page if the other space still shares
 *     it, maps the copy (or the page, once it is no longer shared)
 *     writable, INVLPGs, and returns to the write, which runs again.
 *     Checked: every read returns what the model of that space says, a
 *     write faults exactly when it is the first in that space (error
 *     code 0x3, CR2 = the address), every byte of both spaces at the
 *     end, and which frames are still shared;
 *   - a page-table page recycled as data (recycle.c).
 *
 * Options: seed=N, n=N (operations per mode, default 4000).
 *
 * A shadow MMU write-protects the guest's page tables: the COW handler's
 * PTE writes, the copies of the tables at fork, and the recycled table
 * page all go through that, as do the many CR3 switches between two roots
 * that share the identity map's tables.
 */
#include "tests/guest/ptwriter/ptwriter.h"
#include "tests/guest/lib/util.h"

const char guest_name[] = "ptwriter";

#define ADDR_MASK	0x000ffffffffff000ull
#define MAX_REPORTS	16

enum paging_mode mode;
const char *mode_name;
struct space spaces[NR_SPACES];
unsigned cur_space;
uint32_t (*model)[NR_PAGES][1024] = (void *)MODEL_BASE;
bool written[NR_SPACES][NR_PAGES];

static uint32_t rng_state;
static unsigned nr_ops;
static uint32_t next_frame;
static uint8_t frame_refs[(FRAMES_END - FRAMES_BASE) / 4096];
static unsigned reports;

/* What the #PF handler saw and did. */
static volatile unsigned cow_faults, cow_copies;
static volatile uint32_t last_cr2, last_err;

void report(const char *fmt, ...)
{
	va_list ap;

	if (++reports > MAX_REPORTS)
		return;
	guest_printf("ptwriter: %s: ", mode_name);
	va_start(ap, fmt);
	guest_vprintf(fmt, ap);
	va_end(ap);
	guest_printf("\n");
}

uint32_t page_va(unsigned page)
{
	return page < NR_A ? VA_A + page * 0x1000u
			   : VA_B + (page - NR_A) * 0x1000u;
}

uint32_t frame_alloc(void)
{
	uint32_t frame = next_frame;

	if (frame >= FRAMES_END)
		return 0;
	next_frame += 0x1000;
	frame_refs[(frame - FRAMES_BASE) / 4096] = 1;
	return frame;
}

static uint8_t *refs_of(uint32_t frame)
{
	return &frame_refs[(frame - FRAMES_BASE) / 4096];
}

void fill_pattern(uint32_t frame, uint32_t *expect, uint32_t tag,
		  unsigned page)
{
	uint32_t *f = (uint32_t *)frame;

	for (unsigned w = 0; w < 1024; w++)
		f[w] = expect[w] = tag << 24 ^ page << 16 ^ w * 0x9e37u;
}

void switch_space(unsigned s)
{
	cur_space = s;
	write_cr3(spaces[s].pt.root);
}

/* ---- Entries and fork ----------------------------------------------------- */

struct geometry {
	unsigned levels, width;
};

static struct geometry geometry(void)
{
	return mode == PAGING_32 ? (struct geometry){ 2, 4 } :
	       mode == PAGING_PAE ? (struct geometry){ 3, 8 } :
				    (struct geometry){ 4, 8 };
}

static unsigned entries_at(unsigned level)
{
	if (mode == PAGING_PAE && level == 3)
		return 4;
	return mode == PAGING_32 ? 1024 : 512;
}

static unsigned shift_at(unsigned level)
{
	return 12 + (mode == PAGING_32 ? 10 : 9) * (level - 1);
}

static uint64_t entry_get(uint32_t table, unsigned i)
{
	struct pte_ref ref = { table + i * geometry().width,
			       (uint8_t)geometry().width, 0 };

	return pte_get(&ref);
}

static void entry_set(uint32_t table, unsigned i, uint64_t v)
{
	struct pte_ref ref = { table + i * geometry().width,
			       (uint8_t)geometry().width, 0 };

	pte_set(&ref, v);
}

static bool is_large(unsigned level, uint64_t e)
{
	return (level == 2 || (level == 3 && mode == PAGING_LONG)) &&
	       (e & PTE_PS);
}

/* Copy a table, and below it every table that maps part of the data
 * range; the rest (the identity map) stays shared, like a kernel half. */
static uint32_t clone_table(uint32_t table, unsigned level, uint64_t base,
			    unsigned *copied)
{
	uint32_t copy = pt_alloc_page();
	uint64_t span = 1ull << shift_at(level);

	if (!copy)
		return 0;
	(*copied)++;
	memcpy((void *)copy, (void *)table, entries_at(level) * geometry().width);
	for (unsigned i = 0; i < entries_at(level); i++) {
		uint64_t e = entry_get(table, i), lo = base + i * span;
		uint32_t child;

		if (!(e & PTE_P) || level == 1 || is_large(level, e) ||
		    lo >= DATA_END || lo + span <= DATA_START)
			continue;
		child = clone_table((uint32_t)(e & ADDR_MASK), level - 1, lo,
				    copied);
		if (!child)
			return 0;
		entry_set(copy, i, (e & ~ADDR_MASK) | child);
	}
	return copy;
}

static bool leaf_of(unsigned s, unsigned page, struct pte_ref *ref)
{
	return pt_entry(&spaces[s].pt, page_va(page), 1, ref);
}

/* The parent: the identity map and the data pages, each with a pattern. */
static bool build_parent(void)
{
	uint64_t large = mode == PAGING_32 ? PAGE_4M : PAGE_2M;
	struct page_table *pt = &spaces[0].pt;
	bool ok = pt_init_another(pt, mode);

	ok = ok && pt_map_range(pt, 0, 0, IDENTITY_END, large, PTE_P | PTE_W);
	for (unsigned p = 0; ok && p < NR_PAGES; p++) {
		uint32_t frame = frame_alloc();

		ok = frame && pt_map(pt, page_va(p), frame, PAGE_4K,
				     PTE_P | PTE_W);
		if (ok)
			fill_pattern(frame, model[0][p], 0xa0, p);
	}
	return check(ok, "%s: parent: identity map to 0x%x, %u data pages "
		     "at 0x%x and 0x%x, %u table pages", mode_name, IDENTITY_END,
		     NR_PAGES, VA_A, VA_B, POOL_PAGES - pt_pool_free());
}

/* fork(): the child's tables, then every data page read-only in both. */
static bool fork_child(void)
{
	unsigned copied = 0, levels = geometry().levels;

	spaces[1].pt.mode = mode;
	spaces[1].pt.root = clone_table(spaces[0].pt.root, levels, 0, &copied);
	if (!check(spaces[1].pt.root != 0, "%s: fork: %u table pages copied "
		   "for the child, the identity map's shared", mode_name,
		   copied))
		return false;
	for (unsigned p = 0; p < NR_PAGES; p++) {
		struct pte_ref parent, child;

		leaf_of(0, p, &parent);
		leaf_of(1, p, &child);
		pte_set(&parent, pte_get(&parent) & ~PTE_W);
		pte_set(&child, pte_get(&child) & ~PTE_W);
		*refs_of((uint32_t)(pte_get(&parent) & ADDR_MASK)) = 2;
		memcpy(model[1][p], model[0][p], 4096);
		written[0][p] = written[1][p] = false;
	}
	flush_tlb();
	return true;
}

/* ---- The copy-on-write fault -------------------------------------------- */

static int page_of(uint32_t va)
{
	for (unsigned p = 0; p < NR_PAGES; p++)
		if ((va & ~0xfffu) == page_va(p))
			return (int)p;
	return -1;
}

/* Called by pfhandler.asm on every #PF: 1 if it was a copy-on-write fault
 * and is resolved (the write runs again), 0 to let the runtime have it. */
int pw_cow_fault(uint32_t cr2, uint32_t err);
int pw_cow_fault(uint32_t cr2, uint32_t err)
{
	int page = page_of(cr2);
	struct pte_ref ref;
	uint64_t pte;
	uint32_t frame;

	last_cr2 = cr2;
	last_err = err;
	if (page < 0 || err != (PF_P | PF_W) || written[cur_space][page] ||
	    !leaf_of(cur_space, (unsigned)page, &ref))
		return 0;
	pte = pte_get(&ref);
	if (pte & PTE_W)
		return 0;
	frame = (uint32_t)(pte & ADDR_MASK);
	if (*refs_of(frame) > 1) {
		uint32_t copy = frame_alloc();

		if (!copy)
			return 0;
		memcpy((void *)copy, (void *)frame, 4096);
		(*refs_of(frame))--;
		pte = (pte & ~ADDR_MASK) | copy;
		cow_copies++;
	}
	pte_set(&ref, pte | PTE_W);
	invlpg(cr2);
	written[cur_space][page] = true;
	cow_faults++;
	return 1;
}

/* The runtime's handlers (traps32.asm, long64.asm): put back afterwards. */
extern const uint32_t trap32_entries[], trap64_entries[];

static void set_pf_gate(uint32_t h)
{
	uint64_t *gate = (uint64_t *)(uint32_t)(mode == PAGING_LONG ?
			 idt64_ptr.base + 16 * EXC_PF : idt32_ptr.base + 8 * EXC_PF);

	*gate = (*gate & 0x0000ffffffff0000ull) | (h & 0xffff) |
		(uint64_t)(h >> 16) << 48;
}

/* ---- The workload ---------------------------------------------------------- */

/* Which space may write a page: both for most; every sixth page only the
 * parent, every sixth (another) none, so that some frames stay shared
 * and some are copied once. */
static bool may_write(unsigned s, unsigned page)
{
	return page % 6 == 5 ? false : page % 6 == 4 ? s == 0 : true;
}

/* n random operations; returns the mismatches. */
static unsigned run_operations(unsigned *switches, unsigned *writes)
{
	unsigned bad = 0;

	for (unsigned op = 0; op < nr_ops; op++) {
		uint32_t r = xorshift32(&rng_state);
		unsigned page = (r >> 8) % NR_PAGES, word = (r >> 16) & 1023;
		volatile uint32_t *p = (uint32_t *)(page_va(page) + word * 4);
		unsigned faults_before = cow_faults;

		if (r & 1) {
			switch_space(cur_space ^ 1);
			(*switches)++;
		}
		if ((r & 2) && may_write(cur_space, page)) {
			uint32_t value = xorshift32(&rng_state);
			bool first = !written[cur_space][page];

			*p = value;
			model[cur_space][page][word] = value;
			(*writes)++;
			if (cow_faults - faults_before != (first ? 1u : 0u) ||
			    (first && (last_cr2 != (uint32_t)p ||
				       last_err != (PF_P | PF_W)))) {
				bad++;
				report("%s write 0x%x: %u faults (want %u), "
				       "CR2 0x%x err 0x%x", spaces[cur_space].name,
				       (uint32_t)p, cow_faults - faults_before,
				       first, last_cr2, last_err);
			}
		} else {
			uint32_t v = *p;

			if (v != model[cur_space][page][word] ||
			    cow_faults != faults_before) {
				bad++;
				report("%s read 0x%x: 0x%x, want 0x%x", 
				       spaces[cur_space].name, (uint32_t)p, v,
				       model[cur_space][page][word]);
			}
		}
	}
	return bad;
}

bool verify_space(unsigned s, uint32_t *bytes)
{
	bool ok = true;

	switch_space(s);
	for (unsigned p = 0; p < NR_PAGES; p++) {
		const uint32_t *va = (const uint32_t *)page_va(p);

		for (unsigned w = 0; w < 1024; w++) {
			if (va[w] == model[s][p][w])
				continue;
			ok = false;
			report("%s page 0x%x word %u: 0x%x, want 0x%x",
			       spaces[s].name, page_va(p), w, va[w],
			       model[s][p][w]);
			break;
		}
		*bytes += 4096;
	}
	return ok;
}

/* A page's frame is shared by both spaces exactly when neither wrote it.
 * (A page only one space wrote has two frames: the writer's copy, and the
 * original, no longer shared, in the other space, still read-only.) */
static void check_sharing(void)
{
	unsigned shared = 0, apart = 0, bad = 0;

	for (unsigned p = 0; p < NR_PAGES; p++) {
		struct pte_ref a, b;
		bool same, want_same = !written[0][p] && !written[1][p];

		leaf_of(0, p, &a);
		leaf_of(1, p, &b);
		same = (pte_get(&a) & ADDR_MASK) == (pte_get(&b) & ADDR_MASK);
		if (same != want_same)
			bad++;
		same ? shared++ : apart++;
	}
	check(bad == 0, "%s: frames shared exactly where neither space wrote: "
	      "%u shared, %u apart", mode_name, shared, apart);
}

static void run_mode(enum paging_mode m)
{
	unsigned switches = 0, writes = 0, bad;
	uint32_t bytes = 0;
	bool ok;

	mode = m;
	mode_name = paging_mode_name(m);
	next_frame = FRAMES_BASE;
	memset(frame_refs, 0, sizeof(frame_refs));
	cow_faults = cow_copies = 0;
	reports = 0;
	pt_pool_set(POOL_BASE, POOL_PAGES);
	spaces[0].name = "parent";
	spaces[1].name = "child";
	if (!build_parent())
		return;
	paging_enter(&spaces[0].pt, PAGING_WP | (cpu_has_nx() ? PAGING_NXE : 0));
	cur_space = 0;
	if (fork_child()) {
		set_pf_gate(mode == PAGING_LONG ? (uint32_t)pw_pf64
						: (uint32_t)pw_pf32);
		bad = run_operations(&switches, &writes);
		check(bad == 0, "%s: copy-on-write: %u operations, %u writes, "
		      "%u CR3 switches, %u faults (%u copies), each a first "
		      "write in its space", mode_name, nr_ops, writes,
		      switches, cow_faults, cow_copies);
		ok = verify_space(0, &bytes);
		ok = verify_space(1, &bytes) && ok;
		check(ok, "%s: every byte of both spaces as expected (%u bytes)",
		      mode_name, bytes);
		check_sharing();
		switch_space(0);
		recycle_table_page();
		set_pf_gate(mode == PAGING_LONG ? trap64_entries[EXC_PF]
						: trap32_entries[EXC_PF]);
	}
	paging_leave();
	pt_pool_set(0, 0);
	if (reports > MAX_REPORTS)
		guest_printf("ptwriter: %s: %u more mismatches not printed\n",
			     mode_name, reports - MAX_REPORTS);
}

bool guest_test(uint32_t magic, const struct mb1_info *info)
{
	(void)magic, (void)info;
	if (!check((uint32_t)__image_end <= POOL_BASE, "image ends at 0x%x, "
		   "below 0x%x", (uint32_t)__image_end, POOL_BASE) ||
	    !check(mb_ram_end() >= USED_END, "RAM up to 0x%x (ends at "
		   "0x%llx)", USED_END, mb_ram_end()))
		return false;
	rng_state = (uint32_t)opt_u64("seed", 1) | 1;
	nr_ops = (unsigned)opt_u64("n", 4000);
	run_mode(PAGING_32);
	run_mode(PAGING_PAE);
	if (cpu_has_long_mode())
		run_mode(PAGING_LONG);
	else
		check(false, "CPU without long mode");
	return boot.magic_ok;
}
