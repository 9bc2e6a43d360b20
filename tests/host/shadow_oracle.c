/*
 * The oracle of the shadow MMU property test: see shadow_oracle.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "mmu/shadow_internal.h"
#include "tests/host/ref_walk.h"
#include "tests/host/shadow_oracle.h"


static void write_hook(void *ctx, uint64_t gpa8, uint64_t old, uint64_t new)
{
	struct oracle *o = ctx;

	if (gpa8 == o->watch_gpa)
		print_message("watch: op %lu (%s): %#llx: %#llx -> %#llx\n",
			      o->op, o->what, (unsigned long long)gpa8,
			      (unsigned long long)old, (unsigned long long)new);
	if (old == new)
		return;
	o->now++;
	if (o->log_len == o->log_cap) {
		o->log_cap = o->log_cap ? 2 * o->log_cap : 4096;
		o->log = realloc(o->log, o->log_cap * sizeof(*o->log));
	}
	o->log[o->log_len++] = (struct oracle_log_entry){ o->now, gpa8, old };
	o->last_write[gpa8 / 8] = o->now;
}

/* Drop log entries no snapshot can need (older than every vCPU's last
 * full invalidation). */
void oracle_prune(struct oracle *o)
{
	uint64_t oldest = o->now;
	size_t keep = 0;

	for (unsigned i = 0; i < o->nvcpus; i++)
		if (o->v[i].full_inv < oldest)
			oldest = o->v[i].full_inv;
	while (keep < o->log_len && o->log[keep].time <= oldest)
		keep++;
	memmove(o->log, o->log + keep, (o->log_len - keep) * sizeof(*o->log));
	o->log_len -= keep;
}

void oracle_inv_all(struct oracle *o, unsigned i)
{
	o->v[i].full_inv = o->now;
	o->v[i].inv_gen++;
}

static struct oracle_inv_slot *inv_find(struct oracle *o, unsigned i,
					uint64_t vpn)
{
	struct oracle_vcpu *vs = &o->v[i];
	unsigned h = (unsigned)((vpn * 0x9e3779b97f4a7c15ull) >> 54);

	for (unsigned n = 0; n < ORACLE_INV_SLOTS; n++) {
		struct oracle_inv_slot *s = &vs->inv[(h + n) % ORACLE_INV_SLOTS];

		if (s->gen != vs->inv_gen || s->vpn == vpn)
			return s;
	}
	/* Never happens with the gva space the test uses. */
	fail_msg("invalidation table full");
	return 0;
}

void oracle_inv_page(struct oracle *o, unsigned i, uint64_t gva)
{
	struct oracle_inv_slot *s = inv_find(o, i, gva >> 12);

	*s = (struct oracle_inv_slot){ gva >> 12, o->now, o->v[i].inv_gen };
}

static uint64_t inv_time(struct oracle *o, unsigned i, uint64_t gva)
{
	struct oracle_inv_slot *s = inv_find(o, i, gva >> 12);

	if (s->gen == o->v[i].inv_gen && s->vpn == gva >> 12 &&
	    s->time > o->v[i].full_inv)
		return s->time;
	return o->v[i].full_inv;
}

/* Guest memory for the reference walks: now, or as it was at 'time'. */
struct snapshot {
	struct oracle *o;
	uint64_t time;		/* ~0: now */
};

static int snap_read(void *ctx, uint64_t gpa, void *buf, unsigned size)
{
	struct snapshot *s = ctx;
	struct oracle *o = s->o;
	uint64_t q8 = gpa & ~7ull, value;

	if (!sim_is_ram(&o->sim, gpa >> 12))
		return -1;
	value = sim_load(&o->sim, q8, 8);
	if (s->time != ~0ull)
		for (size_t n = o->log_len; n-- > 0 && o->log[n].time > s->time;)
			if (o->log[n].gpa8 == q8)
				value = o->log[n].old;
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

static bool same_outcome(struct oracle *o, const struct sim_result *r,
			 enum guest_walk_result ref, const struct guest_walk *w)
{
	switch (ref) {
	case WALK_OK:
		if (sim_is_ram(&o->sim, w->gpa >> 12))
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
static void dump_pages(struct oracle *o, uint64_t gfn)
{
	struct shadow_mmu *mmu = &o->sim.mmu;

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

static void fail_access(struct oracle *o, unsigned i, uint64_t gva, uint32_t access,
			const struct sim_result *r, enum guest_walk_result ref,
			const struct guest_walk *w, const char *why)
{
	const struct guest_paging *p = &o->v[i].paging;

	print_message("%s op %lu: %s\n", o->context, o->op, o->what);
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
			      (unsigned long long)(sim_is_ram(&o->sim,
					w->pte_gpa[l] >> 12) ?
				o->last_write[w->pte_gpa[l] / 8] : 0),
			      (unsigned long long)inv_time(o, i, gva));
	sim_dump_shadow(&o->sim.vcpu[i], gva);
	for (unsigned l = 0; l < w->levels; l++)
		dump_pages(o, w->pte_gpa[l] >> 12);
	fail_msg("%s (replay: %s)", why, o->replay);
}

/* Were the walk's entries left alone since the page was invalidated? */
static bool path_unchanged(struct oracle *o, unsigned i, uint64_t gva,
			   const struct guest_walk *w)
{
	uint64_t since = inv_time(o, i, gva);
	bool pae = ref_paging_mode(&o->v[i].paging) == REF_MODE_PAE;

	for (unsigned l = pae ? 1 : 0; l < w->levels; l++)
		if (sim_is_ram(&o->sim, w->pte_gpa[l] >> 12) &&
		    o->last_write[w->pte_gpa[l] / 8] > since)
			return false;
	return true;
}

/* After an exact successful access: A in every entry used, D in the leaf
 * for a write, in guest memory now. */
static bool accessed_dirty_set(struct oracle *o, unsigned i, uint32_t access,
			       const struct guest_walk *w)
{
	bool pae = ref_paging_mode(&o->v[i].paging) == REF_MODE_PAE;
	unsigned size = ref_paging_mode(&o->v[i].paging) == REF_MODE_32BIT ?
			4 : 8;

	for (unsigned l = pae ? 1 : 0; l < w->levels; l++) {
		uint64_t pte = sim_load(&o->sim, w->pte_gpa[l], size);

		if (!(pte & GPTE_A))
			return false;
		if (l + 1 == w->levels && (access & ACCESS_WRITE) &&
		    !(pte & GPTE_D))
			return false;
	}
	return true;
}

void oracle_check_access(struct oracle *o, unsigned i, uint64_t gva,
			 uint32_t access, const struct sim_result *r)
{
	struct snapshot now = { o, ~0ull };
	struct guest_walk w;
	enum guest_walk_result ref = ref_walk(&o->v[i].paging, gva, access,
					      &snap_mem, &now, &w);
	uint64_t since;
	size_t n;

	if (r->kind == SIM_LOOP || r->kind == SIM_NOMEM)
		fail_access(o, i, gva, access, r, ref, &w, "no progress");
	if (path_unchanged(o, i, gva, &w)) {
		o->exact++;
		if (!same_outcome(o, r, ref, &w))
			fail_access(o, i, gva, access, r, ref, &w,
				    "differs from the reference walk");
		if (ref == WALK_OK && !accessed_dirty_set(o, i, access, &w))
			fail_access(o, i, gva, access, r, ref, &w,
				    "A/D bits not set in the guest's entries");
		return;
	}
	if (same_outcome(o, r, ref, &w))
		return;
	if (r->kind != SIM_OK && r->kind != SIM_MMIO)
		fail_access(o, i, gva, access, r, ref, &w,
			    "fault differs from the reference walk of the "
			    "current tables");
	/* A stale translation: the tables at some moment since the page was
	 * last invalidated must give it. */
	o->latitude++;
	since = inv_time(o, i, gva);
	for (n = o->log_len; n > 0 && o->log[n - 1].time > since; n--)
		;
	for (uint64_t t = since;; t = o->log[n++].time) {
		struct snapshot snap = { o, t };
		struct guest_walk ws;

		if (same_outcome(o, r, ref_walk(&o->v[i].paging, gva, access,
					     &snap_mem, &snap, &ws), &ws))
			return;
		if (n == o->log_len)
			break;
	}
	fail_access(o, i, gva, access, r, ref, &w,
		    "no state of the tables since the last invalidation "
		    "gives this translation");
}

void oracle_init(struct oracle *o, unsigned nvcpus)
{
	o->nvcpus = nvcpus;
	o->last_write = calloc(SIM_GFN_LIMIT * 512, sizeof(uint64_t));
	assert_non_null(o->last_write);
	o->sim.write_hook = write_hook;
	o->sim.hook_ctx = o;
	for (unsigned i = 0; i < nvcpus; i++) {
		o->v[i].paging = o->sim.vcpu[i].sv.paging;
		o->v[i].inv_gen = 1;
	}
}

void oracle_fini(struct oracle *o)
{
	free(o->last_write);
	free(o->log);
	o->last_write = 0;
	o->log = 0;
}

enum guest_walk_result oracle_walk_now(struct oracle *o,
				       const struct guest_paging *paging,
				       uint64_t gva, uint32_t access,
				       struct guest_walk *walk)
{
	struct snapshot now = { o, ~0ull };

	return ref_walk(paging, gva, access, &snap_mem, &now, walk);
}

enum guest_pdpte_load oracle_load_pdptes(struct oracle *o,
					 struct guest_paging *paging)
{
	struct snapshot now = { o, ~0ull };

	return guest_load_pdptes(paging, &snap_mem, &now);
}
