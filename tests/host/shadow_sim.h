/*
 * A simulated machine for the shadow MMU tests: guest RAM in host buffers
 * behind memslots, and vCPUs whose "hardware" runs on the shadow tables.
 *
 * The hardware of a vCPU is modelled by the reference walker
 * (tests/host/ref_walk.c) applied to the shadow tables themselves, with
 * the control values the backend would load (shadow_hw_cr0/cr4/efer): a
 * shadow table's "guest-physical" address is its host pointer, so the walk
 * reads the real entries, sets hardware A/D bits in them with cmpxchg as a
 * CPU would, and faults with RSVD on MMIO sptes. Translations are cached in
 * a per-vCPU TLB model until the MMU asks for a flush (flush_remote_tlbs),
 * the root changes (root_version), or the guest invalidates (INVLPG, CR3).
 * A TLB hit is checked against the cached rights as hardware does; a
 * denied hit or a failed walk is a #PF "VM exit" into shadow_page_fault,
 * and the simulated hypervisor does what the backend would with the
 * result (re-enter, inject, emulate, MMIO).
 */
#ifndef TESTS_HOST_SHADOW_SIM_H
#define TESTS_HOST_SHADOW_SIM_H

#include <stdbool.h>
#include <stdint.h>
#include "mmu/shadow.h"

#define SIM_MAX_VCPUS		4
#define SIM_TLB_ENTRIES		16
#define SIM_HOST_MAXPHYADDR	48	/* user-space pointers fit */

/* Guest RAM layout. */
#define SIM_SLOT_A_GFN		0x0ull		/* 4 MiB, 2 MiB-aligned host */
#define SIM_SLOT_A_PAGES	1024
#define SIM_SLOT_B_GFN		0x800ull	/* 256 KiB, scattered host */
#define SIM_SLOT_B_PAGES	64
#define SIM_SLOT_C_GFN		0xa00ull	/* 64 KiB, may come and go */
#define SIM_SLOT_C_PAGES	16
#define SIM_GFN_LIMIT		0xb00ull	/* every RAM gfn is below */

struct sim_tlb_entry {
	bool valid;
	uint64_t vpn;			/* gva >> 12 */
	uint64_t hpa;			/* of the 4 KiB page */
	bool user, writable, nx;
	unsigned pkey;
};

struct sim;

struct sim_vcpu {
	struct sim *sim;
	unsigned id;
	struct shadow_vcpu sv;
	uint64_t loaded_version;	/* root_version the "hardware" has */
	struct sim_tlb_entry tlb[SIM_TLB_ENTRIES];
	uint64_t tlb_flushes;
};

struct sim_slot_backing {
	uint8_t *buf;			/* npages * 4096 (+ 2 MiB alignment) */
	uint64_t npages;
	uint64_t *perm;			/* slot page -> buffer page */
	uint64_t *perm_inv;		/* buffer page -> slot page */
};

/* Called for every store the guest makes to its RAM (its own stores,
 * emulated ones, table writes), before it is made: old and new value of
 * the 8-byte-aligned qword. The oracle of the property test logs them. */
typedef void (*sim_write_hook)(void *ctx, uint64_t gpa8, uint64_t old,
			       uint64_t new);

struct sim {
	struct memslots slots;
	struct sim_slot_backing backing[3];	/* A, B, C */
	bool slot_c_present;
	struct shadow_mmu mmu;
	struct shadow_ops ops;
	struct sim_vcpu vcpu[SIM_MAX_VCPUS];
	unsigned nvcpus;
	uint64_t remote_flushes;
	unsigned lockless_depth;
	sim_write_hook write_hook;
	void *hook_ctx;
};

/* What one guest access ended with. */
enum sim_kind {
	SIM_OK,			/* translated (and done): gpa */
	SIM_PF,			/* the guest got #PF(error_code) */
	SIM_MMIO,		/* an MMIO access at gpa (emulated) */
	SIM_MEM_ERROR,		/* the VM would be stopped */
	SIM_NOMEM,
	SIM_LOOP,		/* faults without progress: a bug */
};

struct sim_result {
	enum sim_kind kind;
	uint64_t gpa;
	uint32_t error_code;
	bool emulated;		/* SHADOW_FAULT_EMULATE did it */
	bool tlb_hit;
	unsigned exits;		/* #PF exits taken */
};

/* Build the machine: slots A, B (and C if 'slot_c'), the MMU with 'cfg'
 * (host_maxphyaddr and guest_maxphyaddr filled in if 0), 'nvcpus' vCPUs in
 * the reset state. 'seed' scatters slot B. */
void sim_init(struct sim *sim, const struct shadow_config *cfg,
	      unsigned nvcpus, uint64_t seed);
void sim_destroy(struct sim *sim);

/* Host pointer to guest RAM at gpa (NULL if not RAM). */
void *sim_gpa_ptr(struct sim *sim, uint64_t gpa);
/* The gpa of a host address inside guest RAM, or ~0. */
uint64_t sim_hpa_to_gpa(struct sim *sim, uint64_t hpa);
bool sim_is_ram(struct sim *sim, uint64_t gfn);

/* A guest store of 'size' (4 or 8) bytes at gpa straight into RAM (the
 * hook sees it), without telling the MMU. */
void sim_store(struct sim *sim, uint64_t gpa, uint64_t value, unsigned size);
uint64_t sim_load(struct sim *sim, uint64_t gpa, unsigned size);

/*
 * One guest access at gva ('access': ACCESS_*), as the vCPU's hardware and
 * the hypervisor would run it. A write stores 'size' (4 or 8) bytes of
 * 'value' where the access lands in RAM (gva aligned to size). Before the access the
 * vCPU "enters": shadow_vcpu_load_root, and a TLB flush if the root
 * version changed.
 */
struct sim_result sim_access(struct sim_vcpu *vc, uint64_t gva,
			     uint32_t access, uint64_t value, unsigned size);

/* The vCPU's hardware translation alone, for tests: walk the shadow tables
 * (no TLB). Returns the ref_walk result; *hpa, rights in *walk. */
int sim_hw_walk(struct sim_vcpu *vc, uint64_t gva, uint32_t access,
		struct guest_walk *walk, bool dry_run);

/* Guest events as the backend reports them to the MMU, with the hardware
 * side effects (TLB flushes). */
enum shadow_cr_result sim_mov_cr3(struct sim_vcpu *vc, uint64_t cr3);
enum shadow_cr_result sim_set_cr(struct sim_vcpu *vc, uint64_t cr0,
				 uint64_t cr4, uint64_t efer);
void sim_invlpg(struct sim_vcpu *vc, uint64_t gva);
void sim_enter(struct sim_vcpu *vc);
void sim_flush_tlb(struct sim_vcpu *vc);

/* The emulator's store: write RAM, then tell the MMU. */
void sim_emulated_store(struct sim *sim, uint64_t gpa, uint64_t value,
			unsigned size);

/* Memslot C comes or goes (generation bumped around the change). */
void sim_toggle_slot_c(struct sim *sim);

/*
 * TLB coherence: every cached translation of every vCPU is still allowed
 * by its current shadow tables (same page, no more rights). This is what
 * the flush rule guarantees whenever the MMU lock is free. Returns false
 * and describes the first violation.
 */
bool sim_check_tlbs(struct sim *sim, char *msg, unsigned msg_size);

/* Print the shadow entries the hardware walks for gva. */
void sim_dump_shadow(struct sim_vcpu *vc, uint64_t gva);

/* Fail the running cmocka test unless shadow_audit finds nothing. */
void sim_assert_audit(struct sim *sim, const char *when);

#endif
