/*
 * Property test of the shadow MMU (mmu/shadow*.c) against the reference
 * walker (tests/host/ref_walk.c), on the simulated machine of
 * tests/host/shadow_sim.c: guest RAM behind memslots, several vCPUs whose
 * hardware walks the shadow tables and caches translations in a TLB model.
 *
 * A random guest (tests/host/shadow_guest.c: page tables in a small pool
 * of frames, any of which may serve at any level, in any mode, and as
 * data) runs a random sequence of operations:
 *   access     read/write/fetch, user/supervisor/implicit, by any vCPU, at
 *              gvas built from a few "hot" indices per level; a write
 *              stores a random entry-like value, so guest stores through
 *              its own mappings rewrite page tables too (trapping and being
 *              emulated when the MMU write-protects them)
 *   table      a store to a table entry, through the guest's map of its
 *   write,     table frames (a physmap) as an OS makes it: an access like
 *   remap      any other, which traps and is emulated, or makes the page
 *              unsync; remap changes the entry behind a live address and
 *              INVLPGs it half the time, or uses it again at once
 *   INVLPG, MOV to CR3, CR0/CR4/EFER changes (paging off, 32-bit with and
 *              without PSE, PAE, 4-level; WP, SMEP, SMAP, PKE, NXE, PGE),
 *              EFLAGS.AC and PKRU changes, zap-all, a memslot coming and
 *              going, memslot generation bumps
 * and every access is checked by the oracle (tests/host/shadow_oracle.h):
 * its outcome (the translation, the MMIO address, or the #PF and its error
 * code) must be the reference walk of the guest's tables, exactly when no
 * entry of the walk was stored since the vCPU last invalidated the page,
 * else within the architecture's TLB latitude (the tables at some moment
 * since); A/D bits must be set in guest memory.
 *
 * After every operation every vCPU's TLB must be covered by its shadow
 * tables (the flush rule, sim_check_tlbs); every 1000 operations and at the
 * end shadow_audit checks every invariant; at the end every table page is
 * freed.
 *
 * Size: 4 runs of HV_SHADOW_OPS / 4 operations each ("os-like" and
 * "chaos" operation mixes; unsync on/off; page cap 64 or 1024; MMIO sptes
 * faulting with RSVD or not present). The default, 3,000,000 operations,
 * takes about 16 s under ASan+UBSan (5 s a million). HV_SHADOW_OPS=n
 * changes it (a CI profile may use fewer, a soak run more).
 *
 * Replay: the seed is printed with any failure; HV_SEED=<seed>
 * build/host/test_shadow_prop (or: build/host/test_shadow_prop <seed>
 * [ops]) runs it again; HV_SEED=random picks one; HV_SHADOW_TRACE=n
 * prints every operation from the n-th on (of each of the 4 runs);
 * HV_SHADOW_WATCH=gpa prints every store to that guest qword.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "mmu/shadow.h"
#include "tests/host/mmu_platform_host.h"
#include "tests/host/ref_walk.h"
#include "tests/host/shadow_sim.h"
#include "tests/host/shadow_guest.h"
#include "tests/host/shadow_oracle.h"

#define FIXED_SEED		0x5eed5badc0ffee11ull
#define DEFAULT_OPS		3000000
#define NVCPUS			3
#define AUDIT_EVERY		1000
#define FORCE_FLUSH_AFTER	3000	/* guest stores without a CR3 load */

#define CR0_PE		(1ull << 0)
#define CR4_PGE		(1ull << 7)
#define EFER_LME	(1ull << 8)

static uint64_t seed, run_seed;
static unsigned long total_ops;
static bool trace;
static uint64_t watch_gpa = ~0ull;
static unsigned long trace_from;

static struct oracle o;

static int mode_of(unsigned i)
{
	return ref_paging_mode(&o.v[i].paging);
}

static uint64_t fresh_gva(unsigned i)
{
	uint64_t offset = sg_below(1024) * 4;

	switch (mode_of(i)) {
	case REF_MODE_OFF: {
		uint64_t gfn = sg_chance(50) ? sg_any_pool_frame() : sg_data_frame();

		return (gfn << 12 | offset) & 0xffffffffull;
	}
	case REF_MODE_32BIT:
		return (uint64_t)sg_hot32[1][sg_below(7)] << 22 |
		       (uint64_t)sg_hot32[0][sg_below(7)] << 12 | offset;
	case REF_MODE_PAE:
		return sg_below(4) << 30 | (uint64_t)sg_hot64[1][sg_below(5)] << 21 |
		       (uint64_t)sg_hot64[0][sg_below(5)] << 12 | offset;
	default: {
		uint64_t gva = (uint64_t)sg_hot64[3][sg_below(5)] << 39 |
			       (uint64_t)sg_hot64[2][sg_below(5)] << 30 |
			       (uint64_t)sg_hot64[1][sg_below(5)] << 21 |
			       (uint64_t)sg_hot64[0][sg_below(5)] << 12 | offset;

		return (gva & (1ull << 47)) ? gva | 0xffff000000000000ull : gva;
	}
	}
}

/* Half the time one of the vCPU's last 8 addresses (in another page
 * offset), so translations get reused: TLB hits, stale entries. */
static uint64_t random_gva(unsigned i)
{
	static uint64_t recent[NVCPUS][8];
	uint64_t gva;

	if (sg_chance(50) && recent[i][0]) {
		gva = recent[i][sg_below(8)];
		gva = (gva & ~0xfffull) | sg_below(1024) * 4;
		if (mode_of(i) != REF_MODE_4LEVEL)
			gva &= 0xffffffffull;
		return gva;
	}
	gva = fresh_gva(i);
	recent[i][sg_below(8)] = gva;
	return gva;
}

/* What a guest store writes: entry-like values of the vCPU's mode, so
 * stores into page tables through the guest's own mappings rewrite them
 * with plausible entries. */
static uint64_t random_value(unsigned i)
{
	unsigned class = sg_below(4);

	return sg_random_entry(class, mode_of(i) == REF_MODE_32BIT ? 4 : 8);
}

static struct sim_result access_with(unsigned i, uint64_t gva,
				     uint32_t access, uint64_t value,
				     unsigned size)
{
	struct sim_result r;

	snprintf(o.what, sizeof(o.what), "access vCPU %u gva %#llx access %#x",
		 i, (unsigned long long)gva, access);
	r = sim_access(&o.sim.vcpu[i], gva, access, value, size);
	o.hits += r.tlb_hit;
	o.emulated += r.emulated;
	o.faults += r.kind == SIM_PF;
	o.mmio += r.kind == SIM_MMIO;
	oracle_check_access(&o, i, gva, access, &r);
	return r;
}

static void access_at(unsigned i, uint64_t gva)
{
	unsigned kind = sg_below(100);
	uint32_t access = kind < 45 ? 0 : kind < 85 ? ACCESS_WRITE :
			  ACCESS_FETCH;

	if (mode_of(i) != REF_MODE_32BIT)
		gva &= ~7ull;
	kind = sg_below(100);
	if (kind < 40)
		access |= ACCESS_USER;
	else if (kind < 48 && !(access & ACCESS_FETCH))
		access |= ACCESS_USER | ACCESS_IMPLICIT_SUP;
	access_with(i, gva, access, random_value(i),
		    mode_of(i) == REF_MODE_32BIT ? 4 : 8);
}

/* A gva of vCPU i's physmap that translates to gpa for a supervisor
 * write right now, if there is one. */
static bool physmap_gva(unsigned i, uint64_t gpa, uint64_t *gva)
{
	int k = sg_pool_index(gpa >> 12);
	uint64_t off = gpa & 0xfff;

	if (k < 0)
		return false;
	for (unsigned p = 0; p < 4; p++) {
		struct guest_walk w;

		switch (mode_of(i)) {
		case REF_MODE_OFF:
			*gva = gpa;
			break;
		case REF_MODE_32BIT:
			*gva = (uint64_t)PM_PD32_IDX << 22 | (uint64_t)k << 12 |
			       off;
			break;
		case REF_MODE_PAE:
			*gva = (uint64_t)p << 30 | (uint64_t)PM_PD64_IDX << 21 |
			       (uint64_t)k << 12 | off;
			break;
		default:
			*gva = 0xffff000000000000ull |
			       (uint64_t)PM_PML4_IDX << 39 |
			       (uint64_t)k << 12 | off;
			break;
		}
		if (oracle_walk_now(&o, &o.v[i].paging, *gva, ACCESS_WRITE,
				    &w) == WALK_OK && w.gpa == gpa)
			return true;
		if (mode_of(i) != REF_MODE_PAE)
			break;
	}
	return false;
}

/* The guest writes a table entry: through its physmap when it can. */
static void guest_table_store(unsigned i, uint64_t gpa, uint64_t value,
			      unsigned size)
{
	uint64_t gva;

	if (physmap_gva(i, gpa, &gva) &&
	    (size == 8 || mode_of(i) == REF_MODE_32BIT)) {
		access_with(i, gva, ACCESS_WRITE, value, size);
		o.physmap_stores++;
		return;
	}
	if (shadow_gfn_write_protected(&o.sim.mmu, gpa >> 12))
		sim_emulated_store(&o.sim, gpa, value, size);
	else
		sim_store(&o.sim, gpa, value, size);
}

static void op_access(void)
{
	unsigned i = sg_below(NVCPUS);

	access_at(i, random_gva(i));
}

/* A table store: a hot index of a pool frame, as vCPU i's mode uses it. */
static void op_table_write(void)
{
	unsigned i = sg_below(NVCPUS);
	bool is32 = mode_of(i) == REF_MODE_32BIT;
	unsigned size = is32 ? 4 : 8;
	unsigned class = sg_below(4);
	uint64_t gfn, gpa;
	unsigned idx;

	if (is32) {
		class = sg_below(2);
		idx = sg_hot32[class][sg_below(7)];
	} else if (class == 2 && sg_chance(30)) {
		idx = sg_chance(70) ? sg_below(8) : 256 + sg_below(4);	/* PAE PDPTs */
	} else {
		idx = sg_hot64[class][sg_below(5)];
	}
	gfn = sg_pool_frame(class);
	gpa = (gfn << 12) + idx * size;
	snprintf(o.what, sizeof(o.what), "table write at %#llx",
		 (unsigned long long)gpa);
	guest_table_store(i, gpa, sg_random_entry(class, size), size);
}

/* Change the entry that maps one of the vCPU's recent addresses (as an OS
 * remaps a live page), and half the time INVLPG it as the OS must. */
static void op_remap(void)
{
	unsigned i = sg_below(NVCPUS);
	uint64_t gva = random_gva(i);
	struct guest_walk w;
	unsigned size = mode_of(i) == REF_MODE_32BIT ? 4 : 8;
	unsigned level, l;
	uint64_t gpa, gfn;

	oracle_walk_now(&o, &o.v[i].paging, gva, 0, &w);
	if (w.levels == 0 || (mode_of(i) == REF_MODE_PAE && w.levels == 1))
		return;
	l = w.levels - 1 - (sg_chance(80) ? 0 : sg_below(w.levels));
	if (mode_of(i) == REF_MODE_PAE && l == 0)
		l = 1;
	level = w.levels - 1 - l;	/* 0: the leaf's table */
	gpa = w.pte_gpa[l];
	gfn = gpa >> 12;
	if (!sim_is_ram(&o.sim, gfn))
		return;
	snprintf(o.what, sizeof(o.what), "remap vCPU %u gva %#llx: entry at "
		 "%#llx", i, (unsigned long long)gva, (unsigned long long)gpa);
	guest_table_store(i, gpa, sg_random_entry(level, size), size);
	if (sg_chance(50)) {
		sim_invlpg(&o.sim.vcpu[i], gva);
		oracle_inv_page(&o, i, gva);
	} else if (sg_chance(50)) {
		/* Used again before any invalidation: the old translation
		 * may still be in use (TLB, or an unsync shadow page). */
		i = sg_below(NVCPUS);
		if (mode_of(i) == REF_MODE_4LEVEL ||
		    gva == (gva & 0xffffffffull))
			access_at(i, gva);
	}
}


static void op_invlpg(void)
{
	unsigned i = sg_below(NVCPUS);
	uint64_t gva = random_gva(i);

	snprintf(o.what, sizeof(o.what), "INVLPG vCPU %u gva %#llx", i,
		 (unsigned long long)gva);
	sim_invlpg(&o.sim.vcpu[i], gva);
	oracle_inv_page(&o, i, gva);
}

static void check_paging(unsigned i)
{
	const struct guest_paging *a = &o.v[i].paging;
	const struct guest_paging *b = &o.sim.vcpu[i].sv.paging;

	assert_true(a->cr0 == b->cr0 && a->cr3 == b->cr3 &&
		    a->cr4 == b->cr4 && a->efer == b->efer);
	if (mode_of(i) == REF_MODE_PAE)
		assert_memory_equal(a->pdptes, b->pdptes, sizeof(a->pdptes));
}

/* MOV to CR3, and what the reference expects of it (PAE: PDPTE load). */
static void mov_cr3(unsigned i, uint64_t cr3)
{
	struct guest_paging want = o.v[i].paging;
	enum shadow_cr_result r;
	enum guest_pdpte_load load = PDPTE_LOAD_OK;

	want.cr3 = cr3;
	if (mode_of(i) == REF_MODE_PAE)
		load = oracle_load_pdptes(&o, &want);
	r = sim_mov_cr3(&o.sim.vcpu[i], cr3);
	assert_int_equal(r, load == PDPTE_LOAD_OK ? SHADOW_CR_OK :
			 load == PDPTE_LOAD_GP ? SHADOW_CR_GP :
			 SHADOW_CR_MEM_ERROR);
	if (r == SHADOW_CR_OK) {
		o.v[i].paging = want;
		oracle_inv_all(&o, i);
	}
	check_paging(i);
}

/* A root for the mode: a PML4, a PD (32-bit) or a PDPT (PAE). */
static uint64_t random_cr3(int mode)
{
	static const unsigned pdpt_offsets[] = { 0, 32, 2048 };

	if (sg_chance(5))
		return sg_any_pool_frame() << 12;
	if (mode == REF_MODE_32BIT)
		return sg_pool_frame(1) << 12;
	if (mode == REF_MODE_PAE)
		return sg_pool_frame(2) << 12 | pdpt_offsets[sg_below(3)];
	return sg_pool_frame(3) << 12;
}

static void op_cr3(void)
{
	unsigned i = sg_below(NVCPUS);
	uint64_t cr3 = sg_chance(20) ? o.v[i].paging.cr3 :
		       random_cr3(mode_of(i));

	snprintf(o.what, sizeof(o.what), "MOV CR3 vCPU %u %#llx", i,
		 (unsigned long long)cr3);
	mov_cr3(i, cr3);
}

/* New CR0/CR4/EFER: another mode (-1: a random one), or one control bit
 * flipped (switch_mode false, now and then). */
static void op_control_on(unsigned i, bool switch_mode, int new_mode)
{
	struct guest_paging want = o.v[i].paging;
	uint64_t cr0 = want.cr0, cr4 = want.cr4, efer = want.efer;
	uint64_t flush_bits = GUEST_CR4_PAE | GUEST_CR4_PSE | CR4_PGE |
			      GUEST_CR4_SMEP;
	enum guest_pdpte_load load = PDPTE_LOAD_OK;
	enum shadow_cr_result r;
	bool pdptes;

	if (switch_mode) {
		unsigned mode = new_mode >= 0 ? (unsigned)new_mode :
				sg_chance(10) ? 0 : 1 + sg_below(3);
		static const int ref_mode[] = { REF_MODE_OFF, REF_MODE_32BIT,
						REF_MODE_PAE, REF_MODE_4LEVEL };

		/* As an OS would: point CR3 at a root for the new mode
		 * first (while the old one is still in use). */
		if (mode && sg_chance(80)) {
			mov_cr3(i, random_cr3(ref_mode[mode]));
			want = o.v[i].paging;
			cr4 = want.cr4;
		}
		cr0 = CR0_PE | (sg_chance(80) ? GUEST_CR0_WP : 0) |
		      (mode ? GUEST_CR0_PG : 0);
		cr4 &= ~(GUEST_CR4_PAE | GUEST_CR4_PSE);
		cr4 |= (mode >= 2 ? GUEST_CR4_PAE : 0) |
		       (sg_chance(60) ? GUEST_CR4_PSE : 0);
		efer = (sg_chance(70) ? GUEST_EFER_NXE : 0) |
		       (mode == 3 ? EFER_LME | GUEST_EFER_LMA : 0);
	} else {
		static const uint64_t cr4_bits[] = {
			GUEST_CR4_SMEP, GUEST_CR4_SMAP, GUEST_CR4_PKE,
			GUEST_CR4_PSE, CR4_PGE,
		};
		unsigned what = sg_below(9);

		if (what < 5)
			cr4 ^= cr4_bits[what];
		else if (what == 5)
			cr0 ^= GUEST_CR0_WP;
		else if (what == 6)
			efer ^= GUEST_EFER_NXE;
		else if (what == 7)
			want.rflags_ac = !want.rflags_ac;
		else
			want.pkru = (uint32_t)sg_rnd() & (uint32_t)sg_rnd();
	}
	snprintf(o.what, sizeof(o.what), "vCPU %u cr0 %#llx cr4 %#llx efer "
		 "%#llx ac %d pkru %#x", i, (unsigned long long)cr0,
		 (unsigned long long)cr4, (unsigned long long)efer,
		 want.rflags_ac, want.pkru);
	shadow_set_user_state(&o.sim.vcpu[i].sv, want.rflags_ac, want.pkru);
	o.v[i].paging.rflags_ac = want.rflags_ac;
	o.v[i].paging.pkru = want.pkru;
	pdptes = (cr0 & GUEST_CR0_PG) && (cr4 & GUEST_CR4_PAE) &&
		 !(efer & GUEST_EFER_LMA) &&
		 (((cr0 ^ want.cr0) & GUEST_CR0_PG) ||
		  ((cr4 ^ want.cr4) & flush_bits));
	want.cr0 = cr0;
	want.cr4 = cr4;
	want.efer = efer;
	if (pdptes)
		load = oracle_load_pdptes(&o, &want);
	r = sim_set_cr(&o.sim.vcpu[i], cr0, cr4, efer);
	assert_int_equal(r, load == PDPTE_LOAD_OK ? SHADOW_CR_OK :
			 load == PDPTE_LOAD_GP ? SHADOW_CR_GP :
			 SHADOW_CR_MEM_ERROR);
	if (r == SHADOW_CR_OK) {
		bool flush = ((cr0 ^ o.v[i].paging.cr0) & GUEST_CR0_PG) ||
			     ((cr4 ^ o.v[i].paging.cr4) & flush_bits) ||
			     ((efer ^ o.v[i].paging.efer) & GUEST_EFER_LMA);

		o.v[i].paging = want;
		if (flush)
			oracle_inv_all(&o, i);
	}
	check_paging(i);
}

/* In tidy runs all vCPUs switch modes together, as an OS's CPUs do. */
static void op_control(void)
{
	if (!sg_chance(25)) {
		op_control_on(sg_below(NVCPUS), false, -1);
	} else if (sg_tidy) {
		int mode = sg_chance(10) ? 0 : 1 + (int)sg_below(3);

		for (unsigned i = 0; i < NVCPUS; i++)
			op_control_on(i, true, mode);
	} else {
		op_control_on(sg_below(NVCPUS), true, -1);
	}
}

static void op_slot(void)
{
	snprintf(o.what, sizeof(o.what), "memslot C %s",
		 o.sim.slot_c_present ? "removed" : "added");
	sim_toggle_slot_c(&o.sim);
	/* Memory went away under the guest: the MMU zaps everything, and
	 * from now on nothing may translate to the old slot. An added slot
	 * is no invalidation (only MMIO becomes RAM). */
	if (!o.sim.slot_c_present)
		for (unsigned i = 0; i < NVCPUS; i++)
			oracle_inv_all(&o, i);
}

static void op_generation(void)
{
	snprintf(o.what, sizeof(o.what), "memslot generation bump");
	o.sim.slots.generation += 2;
	shadow_memslots_changed(&o.sim.mmu, false);
}

static void op_zap_all(void)
{
	snprintf(o.what, sizeof(o.what), "zap all");
	shadow_zap_all(&o.sim.mmu);
}

/* Operation mixes, per mille: access, table write, remap, INVLPG, CR3,
 * control; the rest: zap-all, generation bump, memslot change. */
struct op_mix {
	unsigned access, table_write, remap, invlpg, cr3, control;
	bool tidy;		/* entries mostly present, writable, user */
};

/* "chaos": tables rewritten all the time; "os": mostly accesses to a
 * working set, mappings changed now and then, as an OS does. */
static const struct op_mix mix_chaos = { 620, 120, 110, 80, 48, 19, false };
static const struct op_mix mix_os = { 800, 10, 110, 45, 22, 10, true };
static const struct op_mix *mix;

static void one_op(void)
{
	unsigned r = sg_below(1000), edge;
	char msg[300];

	for (unsigned i = 0; i < NVCPUS; i++)
		if (o.now - o.v[i].full_inv > FORCE_FLUSH_AFTER) {
			snprintf(o.what, sizeof(o.what), "forced CR3 reload");
			mov_cr3(i, o.v[i].paging.cr3);
		}
	if (r < (edge = mix->access))
		op_access();
	else if (r < (edge += mix->table_write))
		op_table_write();
	else if (r < (edge += mix->remap))
		op_remap();
	else if (r < (edge += mix->invlpg))
		op_invlpg();
	else if (r < (edge += mix->cr3))
		op_cr3();
	else if (r < (edge += mix->control))
		op_control();
	else if (sg_below(1000) < 400)
		op_zap_all();
	else if (sg_below(1000) < 700)
		op_generation();
	else
		op_slot();
	if (trace && o.op >= trace_from)
		print_message("%lu (t %llu): %s\n", o.op,
			      (unsigned long long)o.now, o.what);
	if (!sim_check_tlbs(&o.sim, msg, sizeof(msg)))
		fail_msg("%s op %lu (%s): %s (replay: %s)", o.context, o.op,
			 o.what, msg, o.replay);
	if (o.op % AUDIT_EVERY == 0) {
		unsigned problems = shadow_audit(&o.sim.mmu, msg, sizeof(msg));

		if (problems)
			fail_msg("%s op %lu (%s): audit: %u problems, first: "
				 "%s (replay: %s)", o.context, o.op, o.what,
				 problems, msg, o.replay);
		oracle_prune(&o);
	}
}

/* ------------------------------------------------------------------ runs */

struct run_config {
	const char *name;
	bool unsync;
	uint32_t max_pages;
	unsigned host_maxphyaddr;	/* 52: MMIO sptes not present */
	const struct op_mix *mix;
};

static const struct run_config runs[] = {
	{ "os-like, unsync, cap 1024", true, 1024, SIM_HOST_MAXPHYADDR,
	  &mix_os },
	{ "chaos, unsync, cap 64 (reclaim), MMIO not present", true,
	  SHADOW_MIN_PAGES, 52, &mix_chaos },
	{ "os-like, write-protect only, cap 64, MMIO not present", false,
	  SHADOW_MIN_PAGES, 52, &mix_os },
	{ "chaos, write-protect only, cap 1024", false, 1024,
	  SIM_HOST_MAXPHYADDR, &mix_chaos },
};

static void one_run(const struct run_config *rc, unsigned long ops)
{
	struct shadow_config cfg = {
		.max_pages = rc->max_pages,
		.guest_maxphyaddr = 40,
		.guest_gbpages = true,
		.host_maxphyaddr = rc->host_maxphyaddr,
		.unsync = rc->unsync,
	};
	struct shadow_stats st;
	long tables_before = mmu_host_live_tables();

	memset(&o, 0, sizeof(o));
	mix = rc->mix;
	sg_tidy = mix->tidy;
	sg_rng = run_seed * 0x9e3779b97f4a7c15ull + 0x632be59bd9b4e019ull;
	sg_rng ^= sg_rng >> 29;
	sg_rng |= 1;
	sim_init(&o.sim, &cfg, NVCPUS, run_seed);
	oracle_init(&o, NVCPUS);
	o.watch_gpa = watch_gpa;
	snprintf(o.context, sizeof(o.context), "seed %#llx (run \"%s\")",
		 (unsigned long long)run_seed, rc->name);
	snprintf(o.replay, sizeof(o.replay), "HV_SEED=%#llx HV_SHADOW_OPS=%lu",
		 (unsigned long long)seed, total_ops);
	sg_populate_tables(&o.sim);
	sg_populate_physmap(&o.sim);
	/* Start each vCPU in a paging mode (after a first access while
	 * paging is off). */
	for (unsigned i = 0; i < NVCPUS; i++) {
		o.op = 0;
		op_access();
		while (mode_of(i) == REF_MODE_OFF)
			op_control_on(i, true, sg_tidy ? 3 : -1);
	}
	for (o.op = 1; o.op <= ops; o.op++)
		one_op();
	sim_assert_audit(&o.sim, "at the end");
	shadow_mmu_get_stats(&o.sim.mmu, &st);
	print_message("  %s: %lu ops; accesses: %lu exact, %lu stale "
		      "allowed, %lu #PF, %lu TLB hits, %lu emulated, %lu "
		      "MMIO; %lu table stores through the physmap\n", rc->name,
		      ops, o.exact, o.latitude, o.faults, o.hits, o.emulated,
		      o.mmio, o.physmap_stores);
	print_message("    shadow: %llu faults (%llu fixed, %llu injected, "
		      "%llu emulated, %llu MMIO of which %llu fast), pages "
		      "created %llu, zapped %llu (reclaimed %llu, flooded "
		      "%llu, zap-all %llu), unsynced %llu, synced %llu, "
		      "remote flushes %llu, gpte changed %llu, mmio stale "
		      "%llu, lock breaks %llu\n",
		      (unsigned long long)st.faults,
		      (unsigned long long)st.fixed,
		      (unsigned long long)st.injected,
		      (unsigned long long)st.emulated,
		      (unsigned long long)st.mmio,
		      (unsigned long long)st.mmio_fast,
		      (unsigned long long)st.pages_created,
		      (unsigned long long)st.pages_zapped,
		      (unsigned long long)st.reclaimed,
		      (unsigned long long)st.flooded,
		      (unsigned long long)st.zap_all,
		      (unsigned long long)st.unsynced,
		      (unsigned long long)st.synced,
		      (unsigned long long)st.remote_flushes,
		      (unsigned long long)st.gpte_changed,
		      (unsigned long long)st.mmio_stale,
		      (unsigned long long)st.lock_breaks);
	assert_true(st.pages <= rc->max_pages);
	sim_destroy(&o.sim);
	assert_int_equal(mmu_host_live_tables(), tables_before);
	oracle_fini(&o);
}

static void test_shadow_property(void **state)
{
	(void)state;
	for (unsigned k = 0; k < sizeof(runs) / sizeof(runs[0]); k++) {
		run_seed = seed + k;
		one_run(&runs[k], total_ops / 4);
	}
}

int main(int argc, char **argv)
{
	const char *env_seed = getenv("HV_SEED");
	const char *env_ops = getenv("HV_SHADOW_OPS");
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shadow_property),
	};

	seed = FIXED_SEED;
	total_ops = DEFAULT_OPS;
	if (env_seed && !strcmp(env_seed, "random"))
		seed = (uint64_t)time(NULL) * 0x9e3779b97f4a7c15ull;
	else if (env_seed)
		seed = strtoull(env_seed, NULL, 0);
	if (argc > 1)
		seed = strtoull(argv[1], NULL, 0);
	if (env_ops)
		total_ops = strtoul(env_ops, NULL, 0);
	if (argc > 2)
		total_ops = strtoul(argv[2], NULL, 0);
	if (getenv("HV_SHADOW_WATCH"))
		watch_gpa = strtoull(getenv("HV_SHADOW_WATCH"), NULL, 0) & ~7ull;
	trace = getenv("HV_SHADOW_TRACE") != NULL;
	if (trace)
		trace_from = strtoul(getenv("HV_SHADOW_TRACE"), NULL, 0);
	print_message("test_shadow_prop: seed %#llx, %lu operations\n",
		      (unsigned long long)seed, total_ops);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
