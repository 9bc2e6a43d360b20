/*
 * The simulated machine of the shadow MMU tests: see shadow_sim.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "mmu/shadow.h"
#include "tests/host/ref_walk.h"
#include "tests/host/shadow_sim.h"

#define PAGE		4096ull
#define TWO_MB		(2ull << 20)
#define MAX_EXITS	16	/* #PF exits for one access before "loop" */

static const uint64_t slot_gfn[3] = {
	SIM_SLOT_A_GFN, SIM_SLOT_B_GFN, SIM_SLOT_C_GFN
};
static const uint64_t slot_pages[3] = {
	SIM_SLOT_A_PAGES, SIM_SLOT_B_PAGES, SIM_SLOT_C_PAGES
};

/* ------------------------------------------------------------ callbacks */

static void sim_flush_remote(void *vm_ctx)
{
	struct sim *sim = vm_ctx;

	sim->remote_flushes++;
	for (unsigned i = 0; i < sim->nvcpus; i++)
		sim_flush_tlb(&sim->vcpu[i]);
}

static void sim_lockless_begin(void *vcpu_ctx)
{
	struct sim_vcpu *vc = vcpu_ctx;

	vc->sim->lockless_depth++;
}

static void sim_lockless_end(void *vcpu_ctx)
{
	struct sim_vcpu *vc = vcpu_ctx;

	assert_true(vc->sim->lockless_depth > 0);
	vc->sim->lockless_depth--;
}

/* ----------------------------------------------------------------- RAM */

static uint64_t rnd_state;

static uint64_t rnd(void)
{
	rnd_state ^= rnd_state >> 12;
	rnd_state ^= rnd_state << 25;
	rnd_state ^= rnd_state >> 27;
	return rnd_state * 0x2545f4914f6cdd1dull;
}

static void backing_init(struct sim_slot_backing *b, uint64_t npages,
			 bool scatter)
{
	size_t bytes = (npages * PAGE + TWO_MB - 1) & ~(TWO_MB - 1);

	b->npages = npages;
	b->buf = aligned_alloc(TWO_MB, bytes);
	assert_non_null(b->buf);
	memset(b->buf, 0, bytes);
	b->perm = calloc(npages, sizeof(uint64_t));
	b->perm_inv = calloc(npages, sizeof(uint64_t));
	for (uint64_t i = 0; i < npages; i++)
		b->perm[i] = i;
	for (uint64_t i = npages - 1; scatter && i > 0; i--) {
		uint64_t j = rnd() % (i + 1), t = b->perm[i];

		b->perm[i] = b->perm[j];
		b->perm[j] = t;
	}
	for (uint64_t i = 0; i < npages; i++)
		b->perm_inv[b->perm[i]] = i;
}

static void slot_fill(struct sim *sim, unsigned k, struct memslot *slot)
{
	struct sim_slot_backing *b = &sim->backing[k];

	slot->base_gfn = slot_gfn[k];
	slot->npages = slot_pages[k];
	slot->hpa = calloc(slot->npages, sizeof(uint64_t));
	slot->large_ok = calloc(memslot_chunk_count(slot), 1);
	for (uint64_t i = 0; i < slot->npages; i++)
		slot->hpa[i] = (uint64_t)(uintptr_t)(b->buf + b->perm[i] * PAGE);
	memslot_compute_large(slot);
}

static void slots_build(struct sim *sim)
{
	for (unsigned i = 0; i < sim->slots.count; i++) {
		free(sim->slots.slot[i].hpa);
		free(sim->slots.slot[i].large_ok);
	}
	sim->slots.count = 0;
	for (unsigned k = 0; k < 3; k++) {
		if (k == 2 && !sim->slot_c_present)
			continue;
		slot_fill(sim, k, &sim->slots.slot[sim->slots.count++]);
	}
}

void sim_init(struct sim *sim, const struct shadow_config *cfg,
	      unsigned nvcpus, uint64_t seed)
{
	struct shadow_config c = *cfg;

	memset(sim, 0, sizeof(*sim));
	rnd_state = seed | 1;
	backing_init(&sim->backing[0], SIM_SLOT_A_PAGES, false);
	backing_init(&sim->backing[1], SIM_SLOT_B_PAGES, true);
	backing_init(&sim->backing[2], SIM_SLOT_C_PAGES, true);
	sim->slot_c_present = true;
	slots_build(sim);
	sim->slots.generation = 2;
	sim->ops = (struct shadow_ops){
		.flush_remote_tlbs = sim_flush_remote,
		.lockless_begin = sim_lockless_begin,
		.lockless_end = sim_lockless_end,
	};
	if (!c.host_maxphyaddr)
		c.host_maxphyaddr = SIM_HOST_MAXPHYADDR;
	if (!c.guest_maxphyaddr)
		c.guest_maxphyaddr = 40;
	assert_true(shadow_mmu_init(&sim->mmu, &sim->slots, &sim->ops, sim,
				    &c));
	sim->nvcpus = nvcpus;
	for (unsigned i = 0; i < nvcpus; i++) {
		struct sim_vcpu *vc = &sim->vcpu[i];

		vc->sim = sim;
		vc->id = i;
		assert_true(shadow_vcpu_init(&vc->sv, &sim->mmu, vc));
		sim_enter(vc);
	}
}

void sim_destroy(struct sim *sim)
{
	for (unsigned i = 0; i < sim->nvcpus; i++)
		shadow_vcpu_destroy(&sim->vcpu[i].sv);
	shadow_mmu_destroy(&sim->mmu);
	for (unsigned i = 0; i < sim->slots.count; i++) {
		free(sim->slots.slot[i].hpa);
		free(sim->slots.slot[i].large_ok);
	}
	for (unsigned k = 0; k < 3; k++) {
		free(sim->backing[k].buf);
		free(sim->backing[k].perm);
		free(sim->backing[k].perm_inv);
	}
}

void *sim_gpa_ptr(struct sim *sim, uint64_t gpa)
{
	const struct memslot *slot = memslot_find(&sim->slots, gpa >> 12);

	if (!slot)
		return NULL;
	return (uint8_t *)(uintptr_t)slot->hpa[(gpa >> 12) - slot->base_gfn] +
	       (gpa & 0xfff);
}

bool sim_is_ram(struct sim *sim, uint64_t gfn)
{
	return memslot_find(&sim->slots, gfn) != NULL;
}

uint64_t sim_hpa_to_gpa(struct sim *sim, uint64_t hpa)
{
	for (unsigned k = 0; k < 3; k++) {
		struct sim_slot_backing *b = &sim->backing[k];
		uint64_t base = (uint64_t)(uintptr_t)b->buf;

		if (k == 2 && !sim->slot_c_present)
			continue;
		if (hpa >= base && hpa < base + b->npages * PAGE) {
			uint64_t page = (hpa - base) / PAGE;

			return ((slot_gfn[k] + b->perm_inv[page]) << 12) |
			       (hpa & 0xfff);
		}
	}
	return ~0ull;
}

uint64_t sim_load(struct sim *sim, uint64_t gpa, unsigned size)
{
	void *p = sim_gpa_ptr(sim, gpa);
	uint64_t value = 0;

	assert_non_null(p);
	memcpy(&value, p, size);
	return value;
}

void sim_store(struct sim *sim, uint64_t gpa, uint64_t value, unsigned size)
{
	uint8_t *p = sim_gpa_ptr(sim, gpa);
	uint64_t *q8;
	uint64_t old, new;

	assert_non_null(p);
	q8 = (uint64_t *)(p - (gpa & 7));
	old = *q8;
	new = old;
	memcpy((uint8_t *)&new + (gpa & 7), &value, size);
	if (sim->write_hook)
		sim->write_hook(sim->hook_ctx, gpa & ~7ull, old, new);
	*q8 = new;
}

void sim_emulated_store(struct sim *sim, uint64_t gpa, uint64_t value,
			unsigned size)
{
	sim_store(sim, gpa, value, size);
	shadow_guest_pte_written(&sim->mmu, gpa, size);
}

void sim_toggle_slot_c(struct sim *sim)
{
	sim->slots.generation++;
	sim->slot_c_present = !sim->slot_c_present;
	slots_build(sim);
	sim->slots.generation++;
	shadow_memslots_changed(&sim->mmu, !sim->slot_c_present);
}

/* ------------------------------------------------------------ hardware */

void sim_flush_tlb(struct sim_vcpu *vc)
{
	vc->tlb_flushes++;
	for (unsigned i = 0; i < SIM_TLB_ENTRIES; i++)
		vc->tlb[i].valid = false;
}

void sim_enter(struct sim_vcpu *vc)
{
	enum shadow_cr_result r = shadow_vcpu_load_root(&vc->sv);

	assert_int_equal(r, SHADOW_CR_OK);
	if (vc->loaded_version != vc->sv.root_version) {
		vc->loaded_version = vc->sv.root_version;
		sim_flush_tlb(vc);
	}
}

/* The shadow tables as memory: an address is a host pointer. */
static int shadow_read(void *ctx, uint64_t addr, void *buf, unsigned size)
{
	(void)ctx;
	memcpy(buf, (void *)(uintptr_t)addr, size);
	return 0;
}

static int shadow_cmpxchg(void *ctx, uint64_t addr, uint64_t *old,
			  uint64_t new, unsigned size)
{
	bool dry_run = ctx != NULL;
	uint64_t cur = 0;

	memcpy(&cur, (void *)(uintptr_t)addr, size);
	if (cur != *old) {
		*old = cur;
		return 1;
	}
	if (!dry_run)
		memcpy((void *)(uintptr_t)addr, &new, size);
	return 0;
}

static const struct guest_mem_ops shadow_mem = {
	.read = shadow_read,
	.cmpxchg = shadow_cmpxchg,
};

/* The control state the hardware runs the vCPU with. */
static void hw_paging(struct sim_vcpu *vc, struct guest_paging *hw)
{
	const struct shadow_vcpu *v = &vc->sv;

	*hw = (struct guest_paging){
		.cr0 = shadow_hw_cr0(v),
		.cr3 = v->root_hpa,
		.cr4 = shadow_hw_cr4(v),
		.efer = shadow_hw_efer(v),
		.rflags_ac = v->paging.rflags_ac,
		.pkru = v->paging.pkru,
		.maxphyaddr = SIM_HOST_MAXPHYADDR,
	};
	if (v->hw_mode == SHADOW_HW_PAE)
		/* VM entry loads the PDPTEs from the PAE root. */
		memcpy(hw->pdptes, v->pae_root, sizeof(hw->pdptes));
}

int sim_hw_walk(struct sim_vcpu *vc, uint64_t gva, uint32_t access,
		struct guest_walk *walk, bool dry_run)
{
	struct guest_paging hw;

	hw_paging(vc, &hw);
	return ref_walk(&hw, gva, access, &shadow_mem,
			dry_run ? (void *)1 : NULL, walk);
}

static bool user_access(uint32_t access)
{
	return (access & ACCESS_USER) && !(access & ACCESS_IMPLICIT_SUP);
}

/* SDM 4.6 with hardware CR0.WP = 1, on a TLB entry's cached rights:
 * 0 if allowed, else the #PF error code. */
static uint32_t tlb_rights(struct sim_vcpu *vc, const struct sim_tlb_entry *e,
			   uint32_t access)
{
	uint64_t cr4 = shadow_hw_cr4(&vc->sv);
	bool user = user_access(access), write = access & ACCESS_WRITE;
	bool denied = false, pk = false;
	uint32_t ec = PFERR_PRESENT | (write ? PFERR_WRITE : 0) |
		      (user ? PFERR_USER : 0);

	if (access & ACCESS_FETCH) {
		ec |= PFERR_FETCH;	/* hardware EFER.NXE = 1 */
		if (e->nx || (user && !e->user) ||
		    (!user && e->user && (cr4 & GUEST_CR4_SMEP)))
			return ec;
		return 0;
	}
	if (user)
		denied = !e->user || (write && !e->writable);
	else
		denied = (write && !e->writable) ||
			 (e->user && (cr4 & GUEST_CR4_SMAP) &&
			  (!vc->sv.paging.rflags_ac ||
			   (access & ACCESS_IMPLICIT_SUP)));
	if (vc->sv.hw_mode == SHADOW_HW_4LEVEL && (cr4 & GUEST_CR4_PKE) &&
	    e->user) {
		uint32_t pkru = vc->sv.paging.pkru;
		bool ad = (pkru >> (2 * e->pkey)) & 1;
		bool wd = (pkru >> (2 * e->pkey + 1)) & 1;

		if (ad || (wd && write))
			denied = pk = true;
	}
	return denied ? ec | (pk ? PFERR_PK : 0) : 0;
}

static struct sim_tlb_entry *tlb_slot(struct sim_vcpu *vc, uint64_t vpn)
{
	return &vc->tlb[(vpn ^ (vpn >> 9) ^ (vpn >> 18)) % SIM_TLB_ENTRIES];
}

/* One try of the hardware: true and *hpa, or false and the #PF error
 * code in *ec. */
static bool hw_translate(struct sim_vcpu *vc, uint64_t gva, uint32_t access,
			 uint64_t *hpa, uint32_t *ec, bool *hit)
{
	uint64_t vpn = gva >> 12;
	struct sim_tlb_entry *e = tlb_slot(vc, vpn);
	struct guest_walk walk;

	*hit = e->valid && e->vpn == vpn;
	if (*hit) {
		*ec = tlb_rights(vc, e, access);
		if (*ec) {
			e->valid = false;	/* a #PF drops the entry */
			return false;
		}
		*hpa = e->hpa | (gva & 0xfff);
		return true;
	}
	switch (sim_hw_walk(vc, gva, access, &walk, false)) {
	case WALK_OK:
		break;
	case WALK_FAULT:
		*ec = walk.error_code;
		return false;
	default:
		fail_msg("hardware walk of the shadow tables: memory error");
	}
	*e = (struct sim_tlb_entry){
		.valid = true, .vpn = vpn, .hpa = walk.gpa & ~0xfffull,
		.user = walk.user, .writable = walk.writable, .nx = walk.nx,
		.pkey = vc->sv.hw_mode == SHADOW_HW_4LEVEL ?
			(unsigned)(walk.pte[walk.levels - 1] >> 59) & 0xf : 0,
	};
	*hpa = walk.gpa;
	return true;
}

/* The emulator: walk the guest's tables (setting A/D) and do the access. */
static struct sim_result emulate(struct sim_vcpu *vc, uint64_t gva,
				 uint32_t access, uint64_t value, unsigned size)
{
	struct sim *sim = vc->sim;
	struct guest_walk walk;
	struct sim_result r = { .emulated = true };

	switch (shadow_guest_walk(&vc->sv, gva, access, &walk)) {
	case WALK_OK:
		break;
	case WALK_FAULT:
		r.kind = SIM_PF;
		r.error_code = walk.error_code;
		return r;
	default:
		r.kind = SIM_MEM_ERROR;
		return r;
	}
	r.gpa = walk.gpa;
	if (!sim_is_ram(sim, walk.gpa >> 12)) {
		r.kind = SIM_MMIO;
		return r;
	}
	r.kind = SIM_OK;
	if (access & ACCESS_WRITE)
		sim_emulated_store(sim, walk.gpa & ~(uint64_t)(size - 1), value,
				   size);
	return r;
}

struct sim_result sim_access(struct sim_vcpu *vc, uint64_t gva,
			     uint32_t access, uint64_t value, unsigned size)
{
	struct sim *sim = vc->sim;
	struct sim_result r = { 0 };
	unsigned cpl = (access & (ACCESS_USER | ACCESS_IMPLICIT_SUP)) ? 3 : 0;

	for (;;) {
		struct shadow_fault f;
		uint64_t hpa;
		uint32_t ec;

		sim_enter(vc);
		if (hw_translate(vc, gva, access, &hpa, &ec, &r.tlb_hit)) {
			r.gpa = sim_hpa_to_gpa(sim, hpa);
			if (r.gpa == ~0ull) {
				sim_dump_shadow(vc, gva);
				fail_msg("vCPU %u gva %#llx: the shadow tables "
					 "map host %#llx, not guest RAM",
					 vc->id, (unsigned long long)gva,
					 (unsigned long long)hpa);
			}
			r.kind = SIM_OK;
			if (access & ACCESS_WRITE)
				sim_store(sim, r.gpa & ~(uint64_t)(size - 1),
					  value, size);
			return r;
		}
		if (++r.exits > MAX_EXITS) {
			r.kind = SIM_LOOP;
			return r;
		}
		shadow_page_fault(&vc->sv, gva, ec, cpl, &f);
		switch (f.result) {
		case SHADOW_FAULT_FIXED:
		case SHADOW_FAULT_RETRY:
			continue;
		case SHADOW_FAULT_INJECT:
			r.kind = SIM_PF;
			r.error_code = f.error_code;
			return r;
		case SHADOW_FAULT_EMULATE:
			return emulate(vc, gva, access, value, size);
		case SHADOW_FAULT_MMIO:
			r.kind = SIM_MMIO;
			r.gpa = f.gpa;
			return r;
		case SHADOW_FAULT_MEM_ERROR:
			r.kind = SIM_MEM_ERROR;
			return r;
		case SHADOW_FAULT_NOMEM:
			r.kind = SIM_NOMEM;
			return r;
		}
	}
}

/* ------------------------------------------------------------ guest events */

enum shadow_cr_result sim_mov_cr3(struct sim_vcpu *vc, uint64_t cr3)
{
	enum shadow_cr_result r = shadow_new_cr3(&vc->sv, cr3);

	if (r == SHADOW_CR_OK)
		sim_flush_tlb(vc);	/* MOV to CR3 flushes the TLB */
	sim_enter(vc);
	return r;
}

enum shadow_cr_result sim_set_cr(struct sim_vcpu *vc, uint64_t cr0,
				 uint64_t cr4, uint64_t efer)
{
	enum shadow_cr_result r = shadow_set_cr(&vc->sv, cr0, cr4, efer);

	sim_enter(vc);
	return r;
}

void sim_invlpg(struct sim_vcpu *vc, uint64_t gva)
{
	struct sim_tlb_entry *e = tlb_slot(vc, gva >> 12);

	shadow_invlpg(&vc->sv, gva);
	if (e->vpn == gva >> 12)
		e->valid = false;
	sim_enter(vc);
}

/* ------------------------------------------------------------------ checks */

/* Walk the shadow tables as plainly as possible (not the MMU's code, not
 * the reference walker): the page and rights they give gva, or false. */
static bool shadow_lookup(struct sim_vcpu *vc, uint64_t gva, uint64_t *hpa,
			  bool *user, bool *writable, bool *nx)
{
	const struct shadow_vcpu *v = &vc->sv;
	uint64_t table, spte = 0;
	unsigned level;

	*user = *writable = true;
	*nx = false;
	if (v->hw_mode == SHADOW_HW_4LEVEL) {
		table = v->root_hpa;
		level = 4;
	} else {
		spte = v->pae_root[(gva >> 30) & 3];
		if (!(spte & SPTE_P))
			return false;
		table = spte & SPTE_ADDR_MASK;
		level = 2;
	}
	for (;; level--) {
		spte = ((uint64_t *)(uintptr_t)table)[(gva >> (12 + 9 *
						       (level - 1))) & 511];
		if (!(spte & SPTE_P) || (spte & SPTE_MMIO_RSVD))
			return false;
		*user &= !!(spte & SPTE_US);
		*writable &= !!(spte & SPTE_RW);
		*nx |= !!(spte & SPTE_NX);
		if (level == 1 || (spte & SPTE_PS))
			break;
		table = spte & SPTE_ADDR_MASK;
	}
	*hpa = (spte & SPTE_ADDR_MASK & ~((1ull << (12 + 9 * (level - 1))) -
					   1)) +
	       (gva & ((1ull << (12 + 9 * (level - 1))) - 1) & ~0xfffull);
	return true;
}

void sim_dump_shadow(struct sim_vcpu *vc, uint64_t gva)
{
	const struct shadow_vcpu *v = &vc->sv;
	uint64_t table, spte;
	unsigned level;

	print_message("    shadow walk of gva %#llx (vCPU %u, %s root %#llx, "
		      "version %llu):\n", (unsigned long long)gva, vc->id,
		      v->hw_mode == SHADOW_HW_PAE ? "PAE" : "4-level",
		      (unsigned long long)v->root_hpa,
		      (unsigned long long)v->root_version);
	if (v->hw_mode == SHADOW_HW_4LEVEL) {
		table = v->root_hpa;
		level = 4;
	} else {
		spte = v->pae_root[(gva >> 30) & 3];
		print_message("      PDPTE %llu: %#llx\n",
			      (unsigned long long)(gva >> 30) & 3,
			      (unsigned long long)spte);
		if (!(spte & SPTE_P))
			return;
		table = spte & SPTE_ADDR_MASK;
		level = 2;
	}
	for (;; level--) {
		unsigned idx = (gva >> (12 + 9 * (level - 1))) & 511;

		spte = ((uint64_t *)(uintptr_t)table)[idx];
		print_message("      level %u table %#llx [%u]: %#llx\n", level,
			      (unsigned long long)table, idx,
			      (unsigned long long)spte);
		if (!(spte & SPTE_P) || level == 1 || (spte & SPTE_PS))
			return;
		table = spte & SPTE_ADDR_MASK;
	}
}

bool sim_check_tlbs(struct sim *sim, char *msg, unsigned msg_size)
{
	for (unsigned i = 0; i < sim->nvcpus; i++) {
		struct sim_vcpu *vc = &sim->vcpu[i];

		for (unsigned t = 0; t < SIM_TLB_ENTRIES; t++) {
			const struct sim_tlb_entry *e = &vc->tlb[t];
			uint64_t hpa;
			bool user, writable, nx;

			if (!e->valid)
				continue;
			if (vc->loaded_version != vc->sv.root_version ||
			    !shadow_lookup(vc, e->vpn << 12, &hpa, &user,
					   &writable, &nx) ||
			    hpa != e->hpa || (e->user && !user) ||
			    (e->writable && !writable) || (!e->nx && nx)) {
				snprintf(msg, msg_size,
					 "vCPU %u TLB holds gva %#llx -> hpa "
					 "%#llx u%d w%d nx%d that its shadow "
					 "tables no longer allow", i,
					 (unsigned long long)(e->vpn << 12),
					 (unsigned long long)e->hpa, e->user,
					 e->writable, e->nx);
				return false;
			}
		}
	}
	return true;
}

void sim_assert_audit(struct sim *sim, const char *when)
{
	char msg[256];
	unsigned problems = shadow_audit(&sim->mmu, msg, sizeof(msg));

	if (problems)
		fail_msg("shadow_audit %s: %u problems, first: %s", when,
			 problems, msg);
}
