/*
 * Property test of the shadow MMU (mmu/shadow*.c) against the reference
 * walker (tests/host/ref_walk.c), on the simulated machine of
 * tests/host/shadow_sim.c: guest RAM behind memslots, several vCPUs whose
 * hardware walks the shadow tables and caches translations in a TLB model.
 *
 * A random guest keeps page tables in a small pool of frames (any frame may
 * serve at any level, in any mode, and as data) and runs a random sequence
 * of operations:
 *   access     read/write/fetch, user/supervisor/implicit, by any vCPU, at
 *              gvas built from a few "hot" indices per level; a write
 *              stores a random entry-like value, so guest stores through
 *              its own mappings rewrite page tables too (trapping and being
 *              emulated when the MMU write-protects them)
 *   table      a store to a table frame at a hot index: emulated (then
 *   write      shadow_guest_pte_written) if the MMU write-protects the
 *              frame, straight into RAM otherwise
 *   INVLPG, MOV to CR3, CR0/CR4/EFER changes (paging off, 32-bit with and
 *              without PSE, PAE, 4-level; WP, SMEP, SMAP, PKE, NXE, PGE),
 *              EFLAGS.AC and PKRU changes, zap-all, a memslot coming and
 *              going, memslot generation bumps
 * and every access is checked: its outcome (the translation, the MMIO
 * address, or the #PF and its error code) must equal the reference walk of
 * the guest's tables at that moment. The architecture's TLB latitude is
 * modelled exactly: for each vCPU and page the time of its last
 * invalidation (INVLPG, CR3 load, a flushing CR0/CR4 change) is kept, and
 * every guest store is logged with its time. If no entry of the access's
 * current walk was stored since that time, the outcome must be exact, and
 * the A bits of the walk (D of the leaf for a write) must be set in guest
 * memory. Otherwise a translation may also equal the reference walk of the
 * tables as they were at any moment since (a stale TLB entry); a fault must
 * still be exact, since it comes from a walk of the current tables.
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
#include "mmu/shadow_internal.h"

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
static unsigned long trace_from;

/* ------------------------------------------------------------------ rng */

static uint64_t rng;

static uint64_t rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dull;
}

static uint64_t below(uint64_t n)
{
	return rnd() % n;
}

static bool chance(unsigned percent)
{
	return below(100) < percent;
}

/* ---------------------------------------------------------------- oracle */

struct log_entry {
	uint64_t time;
	uint64_t gpa8;
	uint64_t old;
};

#define INV_SLOTS	1024

struct inv_slot {
	uint64_t vpn, time, gen;
};

struct vstate {
	struct guest_paging paging;	/* the guest's view, kept here */
	uint64_t full_inv;		/* last full invalidation */
	uint64_t inv_gen;
	struct inv_slot inv[INV_SLOTS];
};

static struct {
	struct sim sim;
	uint64_t now;			/* guest stores so far */
	struct log_entry *log;
	size_t log_len, log_cap;
	uint64_t *last_write;		/* [gpa / 8] */
	struct vstate v[NVCPUS];
	unsigned long op;
	char what[200];			/* the current operation */
	unsigned long exact, latitude, faults, hits, emulated, mmio;
	unsigned long physmap_stores;
} o;

static uint64_t watch_gpa = ~0ull;

static void write_hook(void *ctx, uint64_t gpa8, uint64_t old, uint64_t new)
{
	(void)ctx;
	if (gpa8 == watch_gpa)
		print_message("watch: op %lu (%s): %#llx: %#llx -> %#llx\n",
			      o.op, o.what, (unsigned long long)gpa8,
			      (unsigned long long)old, (unsigned long long)new);
	if (old == new)
		return;
	o.now++;
	if (o.log_len == o.log_cap) {
		o.log_cap = o.log_cap ? 2 * o.log_cap : 4096;
		o.log = realloc(o.log, o.log_cap * sizeof(*o.log));
	}
	o.log[o.log_len++] = (struct log_entry){ o.now, gpa8, old };
	o.last_write[gpa8 / 8] = o.now;
}

/* Drop log entries no snapshot can need (older than every vCPU's last
 * full invalidation). */
static void log_prune(void)
{
	uint64_t oldest = o.now;
	size_t keep = 0;

	for (unsigned i = 0; i < NVCPUS; i++)
		if (o.v[i].full_inv < oldest)
			oldest = o.v[i].full_inv;
	while (keep < o.log_len && o.log[keep].time <= oldest)
		keep++;
	memmove(o.log, o.log + keep, (o.log_len - keep) * sizeof(*o.log));
	o.log_len -= keep;
}

static void inv_all(unsigned i)
{
	o.v[i].full_inv = o.now;
	o.v[i].inv_gen++;
}

static struct inv_slot *inv_find(unsigned i, uint64_t vpn)
{
	struct vstate *vs = &o.v[i];
	unsigned h = (unsigned)((vpn * 0x9e3779b97f4a7c15ull) >> 54);

	for (unsigned n = 0; n < INV_SLOTS; n++) {
		struct inv_slot *s = &vs->inv[(h + n) % INV_SLOTS];

		if (s->gen != vs->inv_gen || s->vpn == vpn)
			return s;
	}
	/* Full: forget them all (a full invalidation is always allowed to
	 * the model as an over-approximation? no: that would be stricter).
	 * Never happens with the gva space used here. */
	fail_msg("invalidation table full");
	return 0;
}

static void inv_page(unsigned i, uint64_t gva)
{
	struct inv_slot *s = inv_find(i, gva >> 12);

	*s = (struct inv_slot){ gva >> 12, o.now, o.v[i].inv_gen };
}

static uint64_t inv_time(unsigned i, uint64_t gva)
{
	struct inv_slot *s = inv_find(i, gva >> 12);

	if (s->gen == o.v[i].inv_gen && s->vpn == gva >> 12 &&
	    s->time > o.v[i].full_inv)
		return s->time;
	return o.v[i].full_inv;
}

/* Guest memory for the reference walks: now, or as it was at 'time'. */
struct snapshot {
	uint64_t time;		/* ~0: now */
};

static int snap_read(void *ctx, uint64_t gpa, void *buf, unsigned size)
{
	struct snapshot *s = ctx;
	uint64_t q8 = gpa & ~7ull, value;

	if (!sim_is_ram(&o.sim, gpa >> 12))
		return -1;
	value = sim_load(&o.sim, q8, 8);
	if (s->time != ~0ull)
		for (size_t n = o.log_len; n-- > 0 && o.log[n].time > s->time;)
			if (o.log[n].gpa8 == q8)
				value = o.log[n].old;
	memcpy(buf, (uint8_t *)&value + (gpa & 7), size);
	return 0;
}

static int snap_cmpxchg(void *ctx, uint64_t gpa, uint64_t *old, uint64_t new,
			unsigned size)
{
	(void)ctx;
	(void)gpa;
	(void)old;
	(void)new;
	(void)size;
	return 0;		/* dry run: the reference writes nothing */
}

static const struct guest_mem_ops snap_mem = {
	.read = snap_read, .cmpxchg = snap_cmpxchg,
};

static bool same_outcome(const struct sim_result *r,
			 enum guest_walk_result ref, const struct guest_walk *w)
{
	switch (ref) {
	case WALK_OK:
		if (sim_is_ram(&o.sim, w->gpa >> 12))
			return r->kind == SIM_OK && r->gpa == w->gpa;
		return r->kind == SIM_MMIO && r->gpa == w->gpa;
	case WALK_FAULT:
		return r->kind == SIM_PF && r->error_code == w->error_code;
	case WALK_MEM_ERROR:
		return r->kind == SIM_MEM_ERROR;
	}
	return false;
}

/* The shadow pages of a gfn, for failure reports. */
static void dump_pages(uint64_t gfn)
{
	struct shadow_mmu *mmu = &o.sim.mmu;

	for (struct shadow_page *sp = shadow_hash_first(mmu, gfn); sp;
	     sp = sp->hash_next ? sp_from_index(mmu, sp->hash_next) : 0) {
		if (sp->gfn != gfn)
			continue;
		print_message("    page gfn %#llx role %#x (level %u mode %u "
			      "quadrant %u access %u direct %u nxe %u): table "
			      "%#llx unsync %d unsync children %u roots %u gen "
			      "%llu/%llu\n", (unsigned long long)gfn,
			      sp->role.word, sp->role.level, sp->role.mode,
			      sp->role.quadrant, sp->role.access,
			      sp->role.direct, sp->role.nxe,
			      (unsigned long long)sp->spt_hpa, sp->unsync,
			      sp->unsync_children, sp->root_count,
			      (unsigned long long)sp->mmu_valid_gen,
			      (unsigned long long)mmu->valid_gen);
		for (spte_ref r = sp->parent_head; r;
		     r = ref_sp(mmu, r)->meta[ref_idx(r)].next) {
			struct shadow_page *p = ref_sp(mmu, r);
			unsigned idx = ref_idx(r);

			print_message("      parent gfn %#llx level %u q %u "
				      "entry %u marked %d\n",
				      (unsigned long long)p->gfn, p->role.level,
				      p->role.quadrant, idx,
				      !!(p->unsync_child_bitmap[idx / 64] &
					 (1ull << (idx % 64))));
		}
	}
}

static const char *kind_name(enum sim_kind k)
{
	static const char *names[] = { "ok", "#PF", "mmio", "mem-error",
				       "nomem", "loop" };
	return names[k];
}

static void fail_access(unsigned i, uint64_t gva, uint32_t access,
			const struct sim_result *r, enum guest_walk_result ref,
			const struct guest_walk *w, const char *why)
{
	const struct guest_paging *p = &o.v[i].paging;

	print_message("seed %#llx op %lu: %s\n", (unsigned long long)run_seed,
		      o.op, o.what);
	print_message("  vCPU %u cr0 %#llx cr3 %#llx cr4 %#llx efer %#llx "
		      "ac %d pkru %#x; gva %#llx access %#x\n", i,
		      (unsigned long long)p->cr0, (unsigned long long)p->cr3,
		      (unsigned long long)p->cr4, (unsigned long long)p->efer,
		      p->rflags_ac, p->pkru, (unsigned long long)gva, access);
	print_message("  shadow: %s gpa %#llx ec %#x (tlb hit %d, emulated "
		      "%d, exits %u)\n", kind_name(r->kind),
		      (unsigned long long)r->gpa, r->error_code, r->tlb_hit,
		      r->emulated, r->exits);
	print_message("  reference now: %s gpa %#llx ec %#x levels %u\n",
		      ref == WALK_OK ? "ok" : ref == WALK_FAULT ? "#PF" :
		      "mem-error", (unsigned long long)w->gpa, w->error_code,
		      w->levels);
	for (unsigned l = 0; l < w->levels; l++)
		print_message("    entry %u at %#llx: %#llx (last stored %llu, "
			      "invalidated %llu)\n", l,
			      (unsigned long long)w->pte_gpa[l],
			      (unsigned long long)w->pte[l],
			      (unsigned long long)(sim_is_ram(&o.sim,
					w->pte_gpa[l] >> 12) ?
				o.last_write[w->pte_gpa[l] / 8] : 0),
			      (unsigned long long)inv_time(i, gva));
	sim_dump_shadow(&o.sim.vcpu[i], gva);
	for (unsigned l = 0; l < w->levels; l++)
		dump_pages(w->pte_gpa[l] >> 12);
	fail_msg("%s (replay: HV_SEED=%#llx HV_SHADOW_OPS=%lu)", why,
		 (unsigned long long)seed, total_ops);
}

/* Were the walk's entries left alone since the page was invalidated? */
static bool path_unchanged(unsigned i, uint64_t gva,
			   const struct guest_walk *w)
{
	uint64_t since = inv_time(i, gva);
	bool pae = ref_paging_mode(&o.v[i].paging) == REF_MODE_PAE;

	for (unsigned l = pae ? 1 : 0; l < w->levels; l++)
		if (sim_is_ram(&o.sim, w->pte_gpa[l] >> 12) &&
		    o.last_write[w->pte_gpa[l] / 8] > since)
			return false;
	return true;
}

/* After an exact successful access: A in every entry used, D in the leaf
 * for a write, in guest memory now. */
static bool accessed_dirty_set(unsigned i, uint32_t access,
			       const struct guest_walk *w)
{
	bool pae = ref_paging_mode(&o.v[i].paging) == REF_MODE_PAE;
	unsigned size = ref_paging_mode(&o.v[i].paging) == REF_MODE_32BIT ?
			4 : 8;

	for (unsigned l = pae ? 1 : 0; l < w->levels; l++) {
		uint64_t pte = sim_load(&o.sim, w->pte_gpa[l], size);

		if (!(pte & GPTE_A))
			return false;
		if (l + 1 == w->levels && (access & ACCESS_WRITE) &&
		    !(pte & GPTE_D))
			return false;
	}
	return true;
}

static void check_access(unsigned i, uint64_t gva, uint32_t access,
			 const struct sim_result *r)
{
	struct snapshot now = { ~0ull };
	struct guest_walk w;
	enum guest_walk_result ref = ref_walk(&o.v[i].paging, gva, access,
					      &snap_mem, &now, &w);
	uint64_t since;
	size_t n;

	if (r->kind == SIM_LOOP || r->kind == SIM_NOMEM)
		fail_access(i, gva, access, r, ref, &w, "no progress");
	if (path_unchanged(i, gva, &w)) {
		o.exact++;
		if (!same_outcome(r, ref, &w))
			fail_access(i, gva, access, r, ref, &w,
				    "differs from the reference walk");
		if (ref == WALK_OK && !accessed_dirty_set(i, access, &w))
			fail_access(i, gva, access, r, ref, &w,
				    "A/D bits not set in the guest's entries");
		return;
	}
	if (same_outcome(r, ref, &w))
		return;
	if (r->kind != SIM_OK && r->kind != SIM_MMIO)
		fail_access(i, gva, access, r, ref, &w,
			    "fault differs from the reference walk of the "
			    "current tables");
	/* A stale translation: the tables at some moment since the page was
	 * last invalidated must give it. */
	o.latitude++;
	since = inv_time(i, gva);
	for (n = o.log_len; n > 0 && o.log[n - 1].time > since; n--)
		;
	for (uint64_t t = since;; t = o.log[n++].time) {
		struct snapshot snap = { t };
		struct guest_walk ws;

		if (same_outcome(r, ref_walk(&o.v[i].paging, gva, access,
					     &snap_mem, &snap, &ws), &ws))
			return;
		if (n == o.log_len)
			break;
	}
	fail_access(i, gva, access, r, ref, &w,
		    "no state of the tables since the last invalidation "
		    "gives this translation");
}

/* ------------------------------------------------------------ the guest */

/*
 * The table pool: 48 frames, each meant for one level ("class": 0 = PT,
 * 1 = PD, 2 = PDPT, 3 = PML4), whose entries mostly point at frames of the
 * class below; but any entry may point anywhere, so frames end up used at
 * several levels, in several modes, and as data.
 */
static const unsigned class_first[4] = { 23, 11, 5, 1 };
static const unsigned class_count[4] = { 18 + 8, 12, 6, 4 };

static uint64_t pool_frame(unsigned class)
{
	unsigned k = below(class_count[class]);

	if (class == 0 && k >= 18)
		return SIM_SLOT_B_GFN + 8 * (k - 18);
	return class_first[class] + k;
}

static uint64_t any_pool_frame(void)
{
	return pool_frame(below(4));
}

static uint64_t data_frame(void)
{
	unsigned r = below(100);

	if (r < 70)
		return 64 + below(SIM_SLOT_A_PAGES - 64);
	if (r < 85)
		return SIM_SLOT_B_GFN + below(SIM_SLOT_B_PAGES);
	if (r < 90)
		return SIM_SLOT_C_GFN + below(SIM_SLOT_C_PAGES);
	if (r < 97)
		return 0x900 + below(16);		/* MMIO */
	return 0xfee00;					/* far MMIO */
}

struct op_mix;
static const struct op_mix *mix;
static bool tidy(void);

/* A PAE PDPTE as an OS writes one: present, a PD, maybe PWT/PCD (now and
 * then a reserved bit, which makes the CR3 load #GP). */
static uint64_t random_pdpte(void)
{
	uint64_t e = pool_frame(1) << 12 | (chance(95) ? GPTE_P : 0) |
		     (chance(10) ? GPTE_PWT : 0) | (chance(10) ? GPTE_PCD : 0);

	if (chance(3))
		e |= chance(50) ? GPTE_RW : GPTE_NX;
	return e;
}

/* A random entry for a table of 'class', 8 bytes or 4 (32-bit). */
static uint64_t random_entry(unsigned class, unsigned size)
{
	unsigned r = below(100);
	bool large = class > 0 && chance(class == 1 ? 10 : 4);
	uint64_t gfn, e;

	if (class == 2 && size == 8 && chance(tidy() ? 50 : 30))
		return random_pdpte();
	if (large)
		gfn = chance(80) ? (size == 4 ? 0 : 512 * below(2)) :
		      any_pool_frame();
	else if (class > 0)
		gfn = r < 82 ? pool_frame(class - 1) :
		      r < 92 ? any_pool_frame() : data_frame();
	else
		gfn = r < 55 ? data_frame() : r < 85 ? pool_frame(0) :
		      r < 92 ? any_pool_frame() : 512 * below(2) + below(512);
	e = (chance(class ? 96 + 3 * tidy() : 92 + 6 * tidy()) ? GPTE_P : 0) |
	    (chance(class ? 95 + 4 * tidy() : 75 + 15 * tidy()) ? GPTE_RW :
	     0) |
	    (chance(class ? 95 + 4 * tidy() : 70 + 15 * tidy()) ? GPTE_US :
	     0) |
	    (chance(class ? 85 : 70) ? GPTE_A : 0) |
	    (chance(60) ? GPTE_D : 0) | (large ? GPTE_PS : 0) |
	    (chance(8) ? GPTE_PWT : 0) | (chance(8) ? GPTE_PCD : 0) |
	    (chance(8) ? GPTE_G : 0) | (chance(8) ? GPTE_PAT_4K : 0);
	if (size == 4) {
		e |= (gfn & 0xfffff) << 12;
		if (large && chance(10))
			e |= (uint64_t)below(4) << 13;	/* PSE-36 bits */
		return e & 0xffffffffull;
	}
	e |= gfn << 12;
	if (chance(12))
		e |= GPTE_NX;
	if (chance(6 - 4 * tidy()))
		e |= (uint64_t)below(16) << GPTE_PKEY_SHIFT;
	if (chance(1 - tidy()))
		e |= 1ull << (40 + below(12));		/* above MAXPHYADDR */
	if (large && chance(5))
		e |= GPTE_PAT_LARGE;
	return e;
}

static int mode_of(unsigned i)
{
	return ref_paging_mode(&o.v[i].paging);
}

static const unsigned hot64[4][5] = {
	{ 0, 1, 2, 255, 511 },		/* PT */
	{ 0, 1, 3, 4, 511 },		/* PD */
	{ 0, 1, 2, 0, 1 },		/* PDPT */
	{ 0, 1, 256, 511, 0 },		/* PML4 */
};
static const unsigned hot32[2][7] = {
	{ 0, 1, 2, 511, 512, 513, 1023 },	/* PT */
	{ 0, 1, 256, 511, 512, 767, 1023 },	/* PD */
};

static uint64_t fresh_gva(unsigned i)
{
	uint64_t offset = below(1024) * 4;

	switch (mode_of(i)) {
	case REF_MODE_OFF: {
		uint64_t gfn = chance(50) ? any_pool_frame() : data_frame();

		return (gfn << 12 | offset) & 0xffffffffull;
	}
	case REF_MODE_32BIT:
		return (uint64_t)hot32[1][below(7)] << 22 |
		       (uint64_t)hot32[0][below(7)] << 12 | offset;
	case REF_MODE_PAE:
		return below(4) << 30 | (uint64_t)hot64[1][below(5)] << 21 |
		       (uint64_t)hot64[0][below(5)] << 12 | offset;
	default: {
		uint64_t gva = (uint64_t)hot64[3][below(5)] << 39 |
			       (uint64_t)hot64[2][below(5)] << 30 |
			       (uint64_t)hot64[1][below(5)] << 21 |
			       (uint64_t)hot64[0][below(5)] << 12 | offset;

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

	if (chance(50) && recent[i][0]) {
		gva = recent[i][below(8)];
		gva = (gva & ~0xfffull) | below(1024) * 4;
		if (mode_of(i) != REF_MODE_4LEVEL)
			gva &= 0xffffffffull;
		return gva;
	}
	gva = fresh_gva(i);
	recent[i][below(8)] = gva;
	return gva;
}

/* Fill every hot index of every pool frame, so walks go somewhere. */
static void populate_tables(void)
{
	for (unsigned class = 0; class < 4; class++) {
		for (unsigned k = 0; k < class_count[class]; k++) {
			uint64_t gfn = k >= 18 && class == 0 ?
				       SIM_SLOT_B_GFN + 8 * (k - 18) :
				       class_first[class] + k;

			for (unsigned h = 0; h < 5; h++)
				sim_store(&o.sim, (gfn << 12) +
					  hot64[class][h] * 8,
					  random_entry(class, 8), 8);
			for (unsigned h = 0; class < 2 && h < 7; h++)
				sim_store(&o.sim, (gfn << 12) +
					  hot32[class][h] * 4,
					  random_entry(class, 4), 4);
			for (unsigned h = 0; class == 2 && h < 12; h++)
				sim_store(&o.sim, (gfn << 12) +
					  (h < 8 ? h : 248 + h) * 8,
					  random_pdpte(), 8);
		}
	}
}

/* What a guest store writes: entry-like values of the vCPU's mode, so
 * stores into page tables through the guest's own mappings rewrite them
 * with plausible entries. */
static uint64_t random_value(unsigned i)
{
	unsigned class = below(4);

	return random_entry(class, mode_of(i) == REF_MODE_32BIT ? 4 : 8);
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
	check_access(i, gva, access, &r);
	return r;
}

static void access_at(unsigned i, uint64_t gva)
{
	unsigned kind = below(100);
	uint32_t access = kind < 45 ? 0 : kind < 85 ? ACCESS_WRITE :
			  ACCESS_FETCH;

	if (mode_of(i) != REF_MODE_32BIT)
		gva &= ~7ull;
	kind = below(100);
	if (kind < 40)
		access |= ACCESS_USER;
	else if (kind < 48 && !(access & ACCESS_FETCH))
		access |= ACCESS_USER | ACCESS_IMPLICIT_SUP;
	access_with(i, gva, access, random_value(i),
		    mode_of(i) == REF_MODE_32BIT ? 4 : 8);
}

/*
 * The guest kernel's map of its table frames (a "physmap"), through which
 * it writes entries as an OS does, so the store goes through the shadow
 * MMU like any other (a trap that is emulated, or a page going unsync):
 *   4-level   PML4 entry 300 of every PML4 frame -> PM_PDPT -> PM_PD ->
 *             PM_PT64, whose entry k maps pool frame k
 *   PAE       PD entry 400 of every PD frame -> PM_PT64
 *   32-bit    PD entry 900 of every PD frame -> PM_PT32
 * Random stores may clobber these entries; then the store falls back to
 * the hypervisor's view (emulated if write-protected, else straight).
 */
#define PM_PT64		60
#define PM_PT32		61
#define PM_PD		62
#define PM_PDPT		63
#define PM_PML4_IDX	300
#define PM_PD64_IDX	400
#define PM_PD32_IDX	900

static int pool_index(uint64_t gfn)
{
	if (gfn >= 1 && gfn <= 40)
		return (int)gfn - 1;
	if (gfn >= SIM_SLOT_B_GFN && gfn < SIM_SLOT_B_GFN + 64 &&
	    (gfn - SIM_SLOT_B_GFN) % 8 == 0)
		return 40 + (int)((gfn - SIM_SLOT_B_GFN) / 8);
	return -1;
}

static uint64_t pool_gfn_of(unsigned k)
{
	return k < 40 ? 1 + k : SIM_SLOT_B_GFN + 8 * (k - 40);
}

static void populate_physmap(void)
{
	const uint64_t table = GPTE_P | GPTE_RW | GPTE_A;

	for (unsigned k = 0; k < 48; k++) {
		sim_store(&o.sim, (PM_PT64 << 12) + 8 * k,
			  pool_gfn_of(k) << 12 | table | GPTE_D, 8);
		sim_store(&o.sim, (PM_PT32 << 12) + 4 * k,
			  pool_gfn_of(k) << 12 | table | GPTE_D, 4);
	}
	sim_store(&o.sim, PM_PD << 12, PM_PT64 << 12 | table, 8);
	sim_store(&o.sim, PM_PDPT << 12, PM_PD << 12 | table, 8);
	for (unsigned k = 0; k < class_count[3]; k++)
		sim_store(&o.sim, (class_first[3] + k) * 4096 +
			  PM_PML4_IDX * 8, PM_PDPT << 12 | table, 8);
	for (unsigned k = 0; k < class_count[1]; k++) {
		uint64_t pd = (uint64_t)(class_first[1] + k) << 12;

		sim_store(&o.sim, pd + PM_PD64_IDX * 8, PM_PT64 << 12 | table,
			  8);
		sim_store(&o.sim, pd + PM_PD32_IDX * 4, PM_PT32 << 12 | table,
			  4);
	}
}

/* A gva of vCPU i's physmap that translates to gpa for a supervisor
 * write right now, if there is one. */
static bool physmap_gva(unsigned i, uint64_t gpa, uint64_t *gva)
{
	int k = pool_index(gpa >> 12);
	uint64_t off = gpa & 0xfff;
	struct snapshot now = { ~0ull };

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
		if (ref_walk(&o.v[i].paging, *gva, ACCESS_WRITE, &snap_mem, &now,
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
	unsigned i = below(NVCPUS);

	access_at(i, random_gva(i));
}

/* A table store: a hot index of a pool frame, as vCPU i's mode uses it. */
static void op_table_write(void)
{
	unsigned i = below(NVCPUS);
	bool is32 = mode_of(i) == REF_MODE_32BIT;
	unsigned size = is32 ? 4 : 8;
	unsigned class = below(4);
	uint64_t gfn, gpa;
	unsigned idx;

	if (is32) {
		class = below(2);
		idx = hot32[class][below(7)];
	} else if (class == 2 && chance(30)) {
		idx = chance(70) ? below(8) : 256 + below(4);	/* PAE PDPTs */
	} else {
		idx = hot64[class][below(5)];
	}
	gfn = pool_frame(class);
	gpa = (gfn << 12) + idx * size;
	snprintf(o.what, sizeof(o.what), "table write at %#llx",
		 (unsigned long long)gpa);
	guest_table_store(i, gpa, random_entry(class, size), size);
}

/* Change the entry that maps one of the vCPU's recent addresses (as an OS
 * remaps a live page), and half the time INVLPG it as the OS must. */
static void op_remap(void)
{
	unsigned i = below(NVCPUS);
	uint64_t gva = random_gva(i);
	struct snapshot now = { ~0ull };
	struct guest_walk w;
	unsigned size = mode_of(i) == REF_MODE_32BIT ? 4 : 8;
	unsigned level, l;
	uint64_t gpa, gfn;

	ref_walk(&o.v[i].paging, gva, 0, &snap_mem, &now, &w);
	if (w.levels == 0 || (mode_of(i) == REF_MODE_PAE && w.levels == 1))
		return;
	l = w.levels - 1 - (chance(80) ? 0 : below(w.levels));
	if (mode_of(i) == REF_MODE_PAE && l == 0)
		l = 1;
	level = w.levels - 1 - l;	/* 0: the leaf's table */
	gpa = w.pte_gpa[l];
	gfn = gpa >> 12;
	if (!sim_is_ram(&o.sim, gfn))
		return;
	snprintf(o.what, sizeof(o.what), "remap vCPU %u gva %#llx: entry at "
		 "%#llx", i, (unsigned long long)gva, (unsigned long long)gpa);
	guest_table_store(i, gpa, random_entry(level, size), size);
	if (chance(50)) {
		sim_invlpg(&o.sim.vcpu[i], gva);
		inv_page(i, gva);
	} else if (chance(50)) {
		/* Used again before any invalidation: the old translation
		 * may still be in use (TLB, or an unsync shadow page). */
		i = below(NVCPUS);
		if (mode_of(i) == REF_MODE_4LEVEL ||
		    gva == (gva & 0xffffffffull))
			access_at(i, gva);
	}
}


static void op_invlpg(void)
{
	unsigned i = below(NVCPUS);
	uint64_t gva = random_gva(i);

	snprintf(o.what, sizeof(o.what), "INVLPG vCPU %u gva %#llx", i,
		 (unsigned long long)gva);
	sim_invlpg(&o.sim.vcpu[i], gva);
	inv_page(i, gva);
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
	struct snapshot now = { ~0ull };
	enum shadow_cr_result r;
	enum guest_pdpte_load load = PDPTE_LOAD_OK;

	want.cr3 = cr3;
	if (mode_of(i) == REF_MODE_PAE)
		load = guest_load_pdptes(&want, &snap_mem, &now);
	r = sim_mov_cr3(&o.sim.vcpu[i], cr3);
	assert_int_equal(r, load == PDPTE_LOAD_OK ? SHADOW_CR_OK :
			 load == PDPTE_LOAD_GP ? SHADOW_CR_GP :
			 SHADOW_CR_MEM_ERROR);
	if (r == SHADOW_CR_OK) {
		o.v[i].paging = want;
		inv_all(i);
	}
	check_paging(i);
}

/* A root for the mode: a PML4, a PD (32-bit) or a PDPT (PAE). */
static uint64_t random_cr3(int mode)
{
	static const unsigned pdpt_offsets[] = { 0, 32, 2048 };

	if (chance(5))
		return any_pool_frame() << 12;
	if (mode == REF_MODE_32BIT)
		return pool_frame(1) << 12;
	if (mode == REF_MODE_PAE)
		return pool_frame(2) << 12 | pdpt_offsets[below(3)];
	return pool_frame(3) << 12;
}

static void op_cr3(void)
{
	unsigned i = below(NVCPUS);
	uint64_t cr3 = chance(20) ? o.v[i].paging.cr3 :
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
	struct snapshot now = { ~0ull };
	enum guest_pdpte_load load = PDPTE_LOAD_OK;
	enum shadow_cr_result r;
	bool pdptes;

	if (switch_mode) {
		unsigned mode = new_mode >= 0 ? (unsigned)new_mode :
				chance(10) ? 0 : 1 + below(3);
		static const int ref_mode[] = { REF_MODE_OFF, REF_MODE_32BIT,
						REF_MODE_PAE, REF_MODE_4LEVEL };

		/* As an OS would: point CR3 at a root for the new mode
		 * first (while the old one is still in use). */
		if (mode && chance(80)) {
			mov_cr3(i, random_cr3(ref_mode[mode]));
			want = o.v[i].paging;
			cr4 = want.cr4;
		}
		cr0 = CR0_PE | (chance(80) ? GUEST_CR0_WP : 0) |
		      (mode ? GUEST_CR0_PG : 0);
		cr4 &= ~(GUEST_CR4_PAE | GUEST_CR4_PSE);
		cr4 |= (mode >= 2 ? GUEST_CR4_PAE : 0) |
		       (chance(60) ? GUEST_CR4_PSE : 0);
		efer = (chance(70) ? GUEST_EFER_NXE : 0) |
		       (mode == 3 ? EFER_LME | GUEST_EFER_LMA : 0);
	} else {
		static const uint64_t cr4_bits[] = {
			GUEST_CR4_SMEP, GUEST_CR4_SMAP, GUEST_CR4_PKE,
			GUEST_CR4_PSE, CR4_PGE,
		};
		unsigned what = below(9);

		if (what < 5)
			cr4 ^= cr4_bits[what];
		else if (what == 5)
			cr0 ^= GUEST_CR0_WP;
		else if (what == 6)
			efer ^= GUEST_EFER_NXE;
		else if (what == 7)
			want.rflags_ac = !want.rflags_ac;
		else
			want.pkru = (uint32_t)rnd() & (uint32_t)rnd();
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
		load = guest_load_pdptes(&want, &snap_mem, &now);
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
			inv_all(i);
	}
	check_paging(i);
}

/* In tidy runs all vCPUs switch modes together, as an OS's CPUs do. */
static void op_control(void)
{
	if (!chance(25)) {
		op_control_on(below(NVCPUS), false, -1);
	} else if (tidy()) {
		int mode = chance(10) ? 0 : 1 + (int)below(3);

		for (unsigned i = 0; i < NVCPUS; i++)
			op_control_on(i, true, mode);
	} else {
		op_control_on(below(NVCPUS), true, -1);
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
			inv_all(i);
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
static bool tidy(void)
{
	return mix->tidy;
}

static void one_op(void)
{
	unsigned r = below(1000), edge;
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
	else if (below(1000) < 400)
		op_zap_all();
	else if (below(1000) < 700)
		op_generation();
	else
		op_slot();
	if (trace && o.op >= trace_from)
		print_message("%lu (t %llu): %s\n", o.op,
			      (unsigned long long)o.now, o.what);
	if (!sim_check_tlbs(&o.sim, msg, sizeof(msg)))
		fail_msg("seed %#llx op %lu (%s): %s (replay: HV_SEED=%#llx "
			 "HV_SHADOW_OPS=%lu)", (unsigned long long)run_seed,
			 o.op, o.what, msg, (unsigned long long)seed,
			 total_ops);
	if (o.op % AUDIT_EVERY == 0) {
		unsigned problems = shadow_audit(&o.sim.mmu, msg, sizeof(msg));

		if (problems)
			fail_msg("seed %#llx op %lu (%s): audit: %u problems, "
				 "first: %s (replay: HV_SEED=%#llx "
				 "HV_SHADOW_OPS=%lu)",
				 (unsigned long long)run_seed, o.op, o.what,
				 problems, msg, (unsigned long long)seed,
				 total_ops);
		log_prune();
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
	o.last_write = calloc(SIM_GFN_LIMIT * 512, sizeof(uint64_t));
	rng = run_seed * 0x9e3779b97f4a7c15ull + 0x632be59bd9b4e019ull;
	rng ^= rng >> 29;
	rng |= 1;
	sim_init(&o.sim, &cfg, NVCPUS, run_seed);
	o.sim.write_hook = write_hook;
	populate_tables();
	populate_physmap();
	for (unsigned i = 0; i < NVCPUS; i++) {
		o.v[i].paging = o.sim.vcpu[i].sv.paging;
		o.v[i].inv_gen = 1;
	}
	/* Start each vCPU in a paging mode (after a first access while
	 * paging is off). */
	for (unsigned i = 0; i < NVCPUS; i++) {
		o.op = 0;
		op_access();
		while (mode_of(i) == REF_MODE_OFF)
			op_control_on(i, true, tidy() ? 3 : -1);
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
	free(o.last_write);
	free(o.log);
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
