/* permmatrix: test pages, controls, one access and its comparison with the
 * model (run.h). */
#include "tests/guest/permmatrix/run.h"
#include "tests/guest/lib/util.h"

#define MAX_MISMATCH_LINES	64
#define READ_OFFSET		0x40u
#define WRITE_OFFSET		0x80u
#define ENTRY_FLAGS		(0x7full | PTE_G | PTE_NX)	/* not PS */

struct mode_state cur;
struct pm_controls full_controls[32], small_controls[4], pkey_controls[8];
unsigned nr_full_controls, nr_small_controls, nr_pkey_controls;

static uint32_t frame_pa, user_window;
static struct pm_controls now;		/* what the CPU has */
static bool amd_cpu, tcg_walker;
static const char *tcg_where;
static unsigned total_checks, total_mismatches, total_groups;
static unsigned mismatch_lines;
static uint32_t write_count;

static uint32_t user_address(const uint8_t *stub)
{
	return user_window + (uint32_t)(stub - pm_user_page);
}

/* ---- Set-up -------------------------------------------------------------- */

void run_setup(uint32_t frame, uint32_t user_win)
{
	const struct hv_info *hv = hv_detect();
	char brand[49];

	frame_pa = frame;
	user_window = user_win;
	amd_cpu = cpu_is_amd();
	cpu_brand(brand);
	memset((void *)frame_pa, 0xcc, 0x1000);
	*(volatile uint8_t *)frame_pa = 0xc3;		/* RET */
	*(volatile uint32_t *)(frame_pa + READ_OFFSET) = TEST_MARKER;

	guest_printf("permmatrix: platform %s, CPU \"%s\", %u physical address "
		     "bits\n", platform_name(), brand, cpu_phys_addr_bits());
	guest_printf("permmatrix: CPUID: NX %s, 1G pages %s, SMEP %s, SMAP %s, "
		     "PKU %s\n", cpu_has_nx() ? "yes" : "no",
		     cpu_has_1g_pages() ? "yes" : "no",
		     cpu_has_smep() ? "yes" : "no",
		     cpu_has_smap() ? "yes" : "no",
		     cpu_has_pku() ? "yes" : "no");
	if (!cpu_has_smep())
		guest_printf("permmatrix: skipped: CPU has no SMEP\n");
	if (!cpu_has_smap())
		guest_printf("permmatrix: skipped: CPU has no SMAP\n");
	if (!cpu_has_pku())
		guest_printf("permmatrix: skipped: CPU has no PKU\n");
	if (!cpu_has_nx())
		guest_printf("permmatrix: skipped: CPU has no NX\n");

	if (hv->tcg) {
		tcg_walker = true;
		tcg_where = "bare QEMU TCG";
	} else if (hv->present && strncmp(brand, "QEMU TCG", 8) == 0) {
		tcg_walker = true;
		tcg_where = "hv on QEMU TCG";
	}
	if (hv->tcg)
		guest_printf("permmatrix: bare QEMU TCG: a reserved-bit #PF "
			     "without P is accepted (QEMU TCG deviation)\n");
	else if (tcg_walker)
		guest_printf("permmatrix: hv on QEMU TCG: with nested paging TCG "
			     "walks this guest's tables: a reserved-bit #PF "
			     "without P is accepted\n");
	else
		guest_printf("permmatrix: a reserved-bit #PF must have P set "
			     "(SDM 4.7)\n");
}

static void add_controls(struct pm_controls *set, unsigned *n, bool wp,
			 bool nxe, bool smep, bool smap, bool ac)
{
	set[(*n)++] = (struct pm_controls){ .wp = wp, .nxe = nxe,
					    .smep = smep, .smap = smap,
					    .ac = ac };
}

static void make_control_sets(void)
{
	bool nx = cpu_has_nx(), smep = cpu_has_smep(), smap = cpu_has_smap();

	nr_full_controls = nr_small_controls = nr_pkey_controls = 0;
	for (unsigned wp = 0; wp < 2; wp++)
		for (unsigned nxe = 0; nxe <= nx; nxe++)
			for (unsigned sme = 0; sme <= smep; sme++)
				for (unsigned sma = 0; sma <= smap; sma++)
					for (unsigned ac = 0; ac < 2; ac++)
						add_controls(full_controls,
							     &nr_full_controls,
							     !wp, nxe, sme, sma,
							     ac);
	for (unsigned nxe = 0; nxe <= nx; nxe++)
		for (unsigned sme = 0; sme <= smep; sme++)
			add_controls(small_controls, &nr_small_controls, true,
				     nxe, sme, false, false);
	for (unsigned wp = 0; wp < 2; wp++) {
		add_controls(pkey_controls, &nr_pkey_controls, !wp, nx, false,
			     false, false);
		if (smap) {
			add_controls(pkey_controls, &nr_pkey_controls, !wp, nx,
				     false, true, false);
			add_controls(pkey_controls, &nr_pkey_controls, !wp, nx,
				     false, true, true);
		}
	}
}

void mode_begin(enum paging_mode mode)
{
	memset(&cur, 0, sizeof(cur));
	cur.mode = mode;
	cur.name = paging_mode_name(mode);
	make_control_sets();
}

void mode_end(void)
{
	check(cur.mismatches == 0, "%s: %u checks, %u mismatches; reserved-bit "
	      "faults: %u with P, %u without P", cur.name, cur.checks,
	      cur.mismatches, cur.rsvd_with_p, cur.rsvd_without_p);
	if (cur.rsvd_without_p)
		guest_printf("permmatrix: %s: %u reserved-bit faults without P "
			     "accepted (%s: QEMU TCG deviation)\n", cur.name,
			     cur.rsvd_without_p, tcg_where);
}

void run_summary(void)
{
	check(total_mismatches == 0, "total: %u checks in %u groups, %u "
	      "mismatches", total_checks, total_groups, total_mismatches);
	if (mismatch_lines > MAX_MISMATCH_LINES)
		guest_printf("permmatrix: %u mismatches printed, %u more only "
			     "counted\n", MAX_MISMATCH_LINES,
			     total_mismatches - MAX_MISMATCH_LINES);
}

/* ---- Test pages ------------------------------------------------------------ */

uint64_t reserved_address_bit(void)
{
	unsigned bits = cpu_phys_addr_bits();

	return bits < 52 ? 1ull << bits : 0;
}

static const char *entry_name(unsigned level, bool leaf)
{
	switch (level) {
	case 4:	return "PML4E";
	case 3:	return cur.mode == PAGING_PAE ? "PDPTE" :
		       leaf ? "PDPTE(1G)" : "PDPTE";
	case 2:	return leaf ? "PDE(large)" : "PDE";
	default: return "PTE";
	}
}

static bool add_path(struct page_table *pt, struct path *p, const char *name,
		     uint64_t page_va, uint64_t page_pa, uint64_t size,
		     uint32_t frame)
{
	unsigned top = cur.mode == PAGING_LONG ? 4 :
		       cur.mode == PAGING_PAE ? 3 : 2;
	unsigned leaf_level = size == PAGE_4K ? 1 : size == PAGE_1G ? 3 : 2;

	memset(p, 0, sizeof(*p));
	p->name = name;
	p->size = size;
	p->va = page_va + (frame - page_pa);
	if (!pt_map(pt, page_va, page_pa, size, PTE_P | PTE_W | PTE_U))
		return false;
	p->levels = top - leaf_level + 1;
	for (unsigned i = 0; i < p->levels; i++) {
		unsigned level = top - i;

		if (!pt_entry(pt, page_va, level, &p->ref[i]))
			return false;
		p->level_of[i] = level;
		p->original[i] = pte_get(&p->ref[i]);
		p->addr[i] = p->original[i] & ~ENTRY_FLAGS;
		p->rights[i] = !(cur.mode == PAGING_PAE && level == 3);
		p->entry_name[i] = entry_name(level, level == leaf_level);
	}
	return true;
}

unsigned build_paths(struct page_table *pt, struct path *paths,
		     uint32_t area, uint32_t frame)
{
	unsigned n = 0;
	bool ok = true;

	switch (cur.mode) {
	case PAGING_32:
		ok = add_path(pt, &paths[n++], "4K", 0x40000000u, frame,
			      PAGE_4K, frame) &&
		     add_path(pt, &paths[n++], "4M", 0x40400000u, area,
			      PAGE_4M, frame);
		break;
	case PAGING_PAE:
		ok = add_path(pt, &paths[n++], "4K", 0x40000000u, frame,
			      PAGE_4K, frame) &&
		     add_path(pt, &paths[n++], "2M", 0x80000000u, area,
			      PAGE_2M, frame);
		break;
	case PAGING_LONG:
		ok = add_path(pt, &paths[n++], "4K", 0x8000000000ull, frame,
			      PAGE_4K, frame) &&
		     add_path(pt, &paths[n++], "2M", 0x10000000000ull, area,
			      PAGE_2M, frame);
		if (ok && cpu_has_1g_pages())
			ok = add_path(pt, &paths[n++], "1G", 0x18000000000ull,
				      0, PAGE_1G, frame);
		else if (ok)
			guest_printf("permmatrix: %s: skipped 1G pages: CPU "
				     "has none\n", cur.name);
		break;
	case PAGING_OFF:
		break;
	}
	for (unsigned i = 0; ok && i < n; i++)
		guest_printf("permmatrix: %s: %s test page at 0x%llx, walk "
			     "of %u entries\n", cur.name, paths[i].name,
			     paths[i].va, paths[i].levels);
	return ok ? n : 0;
}

void restore_path(const struct path *p)
{
	for (unsigned i = 0; i < p->levels; i++)
		pte_set(&p->ref[i], p->original[i]);
	flush_tlb();
}

/* ---- Controls ------------------------------------------------------------- */

static void wrpkru(uint32_t value)
{
	__asm__ volatile(".byte 0x0f, 0x01, 0xef"
			 : : "a"(value), "c"(0), "d"(0) : "memory");
}

void apply_controls(const struct pm_controls *c)
{
	uint32_t cr4 = read_cr4(), want = cr4 & ~(CR4_SMEP | CR4_SMAP | CR4_PKE);

	if (c->wp != now.wp)
		set_cr0_wp(c->wp);
	if (c->nxe != now.nxe) {
		uint64_t efer = rdmsr(MSR_EFER);

		wrmsr(MSR_EFER, c->nxe ? efer | EFER_NXE
				       : efer & ~(uint64_t)EFER_NXE);
	}
	want |= (c->smep ? CR4_SMEP : 0) | (c->smap ? CR4_SMAP : 0) |
		(c->pke ? CR4_PKE : 0);
	if (want != cr4)
		write_cr4(want);
	if (c->pke && c->pkru != now.pkru) {
		wrpkru(c->pkru);
		now.pkru = c->pkru;
	}
	now.wp = c->wp, now.nxe = c->nxe, now.smep = c->smep;
	now.smap = c->smap, now.pke = c->pke, now.ac = c->ac;
}

static uint32_t rdpkru(void)
{
	uint32_t value;

	__asm__ volatile(".byte 0x0f, 0x01, 0xee"
			 : "=a"(value) : "c"(0) : "edx");
	return value;
}

void controls_sync(void)
{
	uint32_t cr4 = read_cr4();

	now.wp = read_cr0() & CR0_WP;
	now.nxe = cpu_has_nx() && (rdmsr(MSR_EFER) & EFER_NXE);
	now.smep = cr4 & CR4_SMEP;
	now.smap = cr4 & CR4_SMAP;
	now.pke = cr4 & CR4_PKE;
	now.ac = false;
	now.pkru = 0;
	if (cur.mode == PAGING_LONG && cpu_has_pku()) {
		write_cr4(cr4 | CR4_PKE);
		now.pkru = rdpkru();
		write_cr4(cr4);
	}
}

void controls_reset(void)
{
	struct pm_controls neutral = { .wp = true, .nxe = now.nxe };

	if (now.pkru) {
		struct pm_controls open = now;

		open.pke = true;
		open.pkru = 0;
		apply_controls(&open);
	}
	apply_controls(&neutral);
}

/* ---- One access ------------------------------------------------------------ */

static uint64_t compose(const struct path *p, unsigned i,
			const struct assignment *a)
{
	const struct pm_entry *e = &a->e[i];
	uint64_t v = p->addr[i] | a->extra[i];

	if (e->p)
		v |= PTE_P;
	if (p->rights[i]) {
		v |= (e->w ? PTE_W : 0) | (e->u ? PTE_U : 0) |
		     (e->nx ? PTE_NX : 0);
	}
	if (i == p->levels - 1)
		v |= (uint64_t)e->pkey << 59;
	if (a->preset_ad && p->rights[i])
		v |= PTE_A | (i == p->levels - 1 ? PTE_D : 0);
	return v;
}

struct observed {
	bool fault;
	uint32_t vector, error;
	uint64_t cr2, ip;
	uint32_t value;			/* read: what came back */
	uint32_t memory;		/* the word a write targets, after */
	uint64_t after[4];		/* the entries after the access */
};

static const char *kind_name(enum pm_kind kind)
{
	return kind == PM_READ ? "read" : kind == PM_WRITE ? "write" : "fetch";
}

static uint32_t access_offset(enum pm_kind kind)
{
	return kind == PM_READ ? READ_OFFSET :
	       kind == PM_WRITE ? WRITE_OFFSET : 0;
}

static void print_mismatch(const struct group *g, const struct path *p,
			   const struct pm_case *pc, const uint64_t *before,
			   const struct observed *o,
			   const struct pm_outcome *want, const char *problem)
{
	const struct pm_controls *c = &pc->c;
	uint64_t va = p->va + access_offset(pc->kind);

	if (++mismatch_lines > MAX_MISMATCH_LINES)
		return;
	guest_printf("permmatrix: MISMATCH %s %s %s: CPL %u %s at 0x%llx: %s\n",
		     cur.name, p->name, g->name, pc->user ? 3 : 0,
		     kind_name(pc->kind), va, problem);
	guest_printf("permmatrix:   CR0.WP=%u EFER.NXE=%u CR4.SMEP=%u "
		     "CR4.SMAP=%u EFLAGS.AC=%u CR4.PKE=%u PKRU=0x%x\n", c->wp,
		     c->nxe, c->smep, c->smap, c->ac, c->pke, c->pkru);
	for (unsigned i = 0; i < p->levels; i++)
		guest_printf("permmatrix:   %-10s 0x%016llx, after 0x%016llx\n",
			     p->entry_name[i], before[i], o->after[i]);
	if (o->fault)
		guest_printf("permmatrix:   got: %s err 0x%x cr2 0x%llx at "
			     "0x%llx\n", exception_name(o->vector), o->error,
			     o->cr2, o->ip);
	else
		guest_printf("permmatrix:   got: no fault (read 0x%x, word "
			     "0x%x)\n", o->value, o->memory);
	if (want->fault)
		guest_printf("permmatrix:   want: #PF err 0x%x (bits 0x%x "
			     "open) cr2 0x%llx: %s\n", want->error,
			     want->dont_care, va, want->why);
	else
		guest_printf("permmatrix:   want: no fault (%s)\n", want->why);
}

/* Compare; returns NULL when all is as the model says, else what is not. */
static const char *judge(const struct path *p, const struct pm_case *pc,
			 const uint64_t *before, const struct observed *o,
			 const struct pm_outcome *want, uint32_t value,
			 uint32_t sentinel)
{
	uint64_t va = p->va + access_offset(pc->kind);
	unsigned leaf = p->levels - 1;
	uint32_t open = ~want->dont_care;

	if (o->fault != want->fault)
		return want->fault ? "no fault, one expected" :
				     "a fault, none expected";
	if (o->fault) {
		if (o->vector != EXC_PF)
			return "not a #PF";
		if (o->cr2 != va)
			return "CR2 is not the address";
		if (pc->kind == PM_FETCH && o->ip != va)
			return "the fetch did not fault at the test address";
		if ((o->error & open) != (want->error & open)) {
			if (!(want->error & PF_RSVD) || !tcg_walker ||
			    ((o->error | PF_P) & open) != (want->error & open))
				return "wrong error code";
			cur.rsvd_without_p++;
		} else if (want->error & PF_RSVD) {
			cur.rsvd_with_p++;
		}
		if (o->memory != sentinel)
			return "a faulting write changed memory";
		if ((o->after[leaf] ^ before[leaf]) & PTE_D)
			return "D changed in the leaf by a faulting access";
		return NULL;
	}
	if (pc->kind == PM_READ && o->value != TEST_MARKER)
		return "the read returned the wrong data";
	if (o->memory != (pc->kind == PM_WRITE ? value : sentinel))
		return pc->kind == PM_WRITE ? "the write did not reach the frame"
					    : "memory changed without a write";
	for (unsigned i = 0; i < p->levels; i++) {
		if (!p->rights[i])
			continue;		/* PAE PDPTE: no A bit */
		if (!(o->after[i] & PTE_A))
			return "A not set in an entry of the walk";
		if (i != leaf && (o->after[i] & PTE_D) != (before[i] & PTE_D))
			return "bit 6 changed in a non-leaf entry";
	}
	if (!!(o->after[leaf] & PTE_D) !=
	    (pc->kind == PM_WRITE || !!(before[leaf] & PTE_D)))
		return pc->kind == PM_WRITE ? "D not set in the leaf by a write"
		       : before[leaf] & PTE_D ? "D cleared in the leaf"
					      : "D set in the leaf without a write";
	return NULL;
}

static void do_access(const struct path *p, enum pm_kind kind, bool user,
		      uint32_t value, struct observed *o)
{
	static const struct { uint8_t *stub32, *stub64; } stubs[3] = {
		{ pm_user_read32, pm_user_read64 },
		{ pm_user_write32, pm_user_write64 },
		{ pm_user_fetch32, pm_user_fetch64 },
	};
	bool long_mode = cur.mode == PAGING_LONG;
	uint64_t va = p->va + access_offset(kind);
	struct pm_req req = {
		.kind = kind,
		.va_lo = (uint32_t)va,
		.va_hi = (uint32_t)(va >> 32),
		.value = value,
		.flags = (user ? PM_F_USER : 0) | (long_mode ? PM_F_64 : 0) |
			 (!user && now.ac ? PM_F_AC : 0),
		.user_eip = user_address(long_mode ? stubs[kind].stub64
						   : stubs[kind].stub32),
		.user_esp = user_window + 0x1000 +
			    (uint32_t)(user_stack_top - user_stack),
	};

	memset(o, 0, sizeof(*o));
	o->fault = pm_access(&req);
	if (o->fault) {
		o->vector = trap_last.vector;
		o->error = trap_last.error_code;
		o->cr2 = trap_last.cr2;
		o->ip = trap_last.ip;
	}
	o->value = user ? trap_last.eax : req.result;
	o->memory = *(volatile uint32_t *)(frame_pa + WRITE_OFFSET);
	for (unsigned i = 0; i < p->levels; i++)
		o->after[i] = pte_get(&p->ref[i]);
}

static void run_access(struct group *g, const struct path *p,
		       const struct assignment *a, enum pm_kind kind, bool user)
{
	struct pm_case pc = { cur.mode, p->levels, { { 0 } }, now, kind, user };
	struct observed o;
	struct pm_outcome want;
	uint64_t before[4];
	uint32_t value = 0x5a000000u | (++write_count & 0xffffff);
	uint32_t sentinel = ~value;
	const char *problem;

	for (unsigned i = 0; i < p->levels; i++) {
		before[i] = compose(p, i, a);
		pte_set(&p->ref[i], before[i]);
		pc.e[i] = a->e[i];
		pc.e[i].rights = p->rights[i];
	}
	*(volatile uint32_t *)(frame_pa + WRITE_OFFSET) = sentinel;
	flush_tlb();
	do_access(p, kind, user, value, &o);

	want = pm_model(&pc, amd_cpu);
	problem = judge(p, &pc, before, &o, &want, value, sentinel);
	g->checks++;
	if (o.fault)
		g->faults++;
	if (problem) {
		g->mismatches++;
		print_mismatch(g, p, &pc, before, &o, &want, problem);
	}
}

/* One step of an A/D sequence: the access must complete, and leave A in
 * every entry and D in the leaf as want_dirty says. */
static void ad_step(struct group *g, const struct path *p, const char *step,
		    enum pm_kind kind, bool user, bool want_dirty)
{
	struct observed o;
	uint32_t value = 0x5b000000u | (++write_count & 0xffffff);
	unsigned leaf = p->levels - 1;
	const char *problem = NULL;

	do_access(p, kind, user, value, &o);
	g->checks++;
	if (o.fault)
		problem = "a fault";
	else if (kind == PM_READ && o.value != TEST_MARKER)
		problem = "the read returned the wrong data";
	else if (kind == PM_WRITE && o.memory != value)
		problem = "the write did not reach the frame";
	for (unsigned i = 0; !problem && i < p->levels; i++)
		if (p->rights[i] && !(o.after[i] & PTE_A))
			problem = "A not set in an entry of the walk";
	if (!problem && !!(o.after[leaf] & PTE_D) != want_dirty)
		problem = want_dirty ? "D not set in the leaf" :
				       "D set in the leaf";
	if (!problem)
		return;
	g->mismatches++;
	if (++mismatch_lines > MAX_MISMATCH_LINES)
		return;
	guest_printf("permmatrix: MISMATCH %s %s %s: CPL %u, %s: %s\n",
		     cur.name, p->name, g->name, user ? 3 : 0, step, problem);
	for (unsigned i = 0; i < p->levels; i++)
		guest_printf("permmatrix:   %-10s after 0x%016llx\n",
			     p->entry_name[i], o.after[i]);
	if (o.fault)
		guest_printf("permmatrix:   got: %s err 0x%x cr2 0x%llx\n",
			     exception_name(o.vector), o.error, o.cr2);
}

/* Clear bits in the entries: in the leaf only, or in all of them; then
 * INVLPG the test page, or reload CR3 (after a change above the leaf). */
static void clear_bits(const struct path *p, uint64_t bits, bool leaf_only)
{
	for (unsigned i = leaf_only ? p->levels - 1 : 0; i < p->levels; i++)
		pte_set(&p->ref[i], pte_get(&p->ref[i]) & ~bits);
	if (leaf_only)
		flush_va(p->va & ~0xfffull);
	else
		flush_tlb();
}

/* How an OS uses A and D, and what a shadow MMU must track: a write after
 * a read through the same TLB entry sets D (the shadow entry was
 * read-only until then); D and A set again after the OS cleared them and
 * invalidated the page; a fetch sets A and not D. */
void run_ad_sequences(struct group *g, const struct path *p)
{
	struct assignment a;

	memset(&a, 0, sizeof(a));
	for (unsigned i = 0; i < p->levels; i++)
		a.e[i] = (struct pm_entry){ .p = true, .w = true, .u = true };
	for (unsigned user = 0; user < 2; user++) {
		for (unsigned i = 0; i < p->levels; i++)
			pte_set(&p->ref[i], compose(p, i, &a));
		flush_tlb();
		ad_step(g, p, "read after clearing A/D", PM_READ, user, false);
		ad_step(g, p, "write after that read, no flush", PM_WRITE,
			user, true);
		clear_bits(p, PTE_D, true);
		ad_step(g, p, "write after clearing D, INVLPG", PM_WRITE, user,
			true);
		clear_bits(p, PTE_A | PTE_D, true);
		ad_step(g, p, "fetch after clearing A/D, INVLPG", PM_FETCH,
			user, false);
		clear_bits(p, PTE_A, false);
		ad_step(g, p, "write after clearing A everywhere", PM_WRITE,
			user, true);
		clear_bits(p, PTE_A | PTE_D, true);
		ad_step(g, p, "read after clearing A/D, INVLPG", PM_READ, user,
			false);
	}
}

void run_all_accesses(struct group *g, const struct path *p,
		      const struct assignment *a)
{
	for (unsigned user = 0; user < 2; user++)
		for (unsigned kind = PM_READ; kind <= PM_FETCH; kind++)
			run_access(g, p, a, (enum pm_kind)kind, user);
}

void group_start(struct group *g, const struct path *p, const char *name)
{
	*g = (struct group){ .path = p, .name = name };
}

void group_end(struct group *g)
{
	check(g->mismatches == 0, "%s %s: %s: %u checks, %u faults",
	      cur.name, g->path->name, g->name, g->checks, g->faults);
	cur.checks += g->checks;
	cur.mismatches += g->mismatches;
	total_checks += g->checks;
	total_mismatches += g->mismatches;
	total_groups++;
}
