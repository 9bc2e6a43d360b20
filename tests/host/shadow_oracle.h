/*
 * The oracle of the shadow MMU property test (test_shadow_prop.c): what a
 * guest access may end with, by the reference walker (ref_walk.c) and
 * the architecture's TLB rules.
 *
 * Every guest store is logged with its time (the guest's clock counts its
 * stores). For each vCPU and page the time of the last invalidation is
 * kept (INVLPG of the page; a CR3 load or flushing CR0/CR4 change for all).
 * An access is then checked:
 *   - if no entry of its current walk was stored since the invalidation,
 *     the outcome must be exactly the reference walk of the tables now
 *     (translation, MMIO address, or #PF with its error code), and after
 *     a translation the walk's A bits (the leaf's D for a write) must be
 *     set in guest memory;
 *   - otherwise a fault must still be exact (it comes from a walk of the
 *     current tables), and a translation may also be the one the tables
 *     gave at any moment since the invalidation (a stale TLB entry, or an
 *     unsync shadow page): the log rebuilds those states.
 */
#ifndef TESTS_HOST_SHADOW_ORACLE_H
#define TESTS_HOST_SHADOW_ORACLE_H

#include <stddef.h>
#include <stdint.h>
#include "mmu/guest_walk.h"
#include "tests/host/shadow_sim.h"

#define ORACLE_INV_SLOTS	1024

struct oracle_log_entry {
	uint64_t time;
	uint64_t gpa8;
	uint64_t old;
};

struct oracle_inv_slot {
	uint64_t vpn, time, gen;
};

struct oracle_vcpu {
	struct guest_paging paging;	/* the guest's view, kept here */
	uint64_t full_inv;		/* last full invalidation */
	uint64_t inv_gen;
	struct oracle_inv_slot inv[ORACLE_INV_SLOTS];
};

struct oracle {
	struct sim sim;
	unsigned nvcpus;
	uint64_t now;			/* guest stores so far */
	struct oracle_log_entry *log;
	size_t log_len, log_cap;
	uint64_t *last_write;		/* [gpa / 8] */
	struct oracle_vcpu v[SIM_MAX_VCPUS];
	unsigned long op;
	char what[200];			/* the current operation */
	char context[120];		/* seed and run, for failures */
	char replay[120];		/* how to run it again */
	uint64_t watch_gpa;		/* print every store here (~0: off) */
	unsigned long exact, latitude, faults, hits, emulated, mmio;
	unsigned long physmap_stores;
};

/* After sim_init(&o->sim, ...): hook the stores, copy the vCPUs' state. */
void oracle_init(struct oracle *o, unsigned nvcpus);
void oracle_fini(struct oracle *o);

/* The guest invalidated all of vCPU i's TLB, or one page. */
void oracle_inv_all(struct oracle *o, unsigned i);
void oracle_inv_page(struct oracle *o, unsigned i, uint64_t gva);
/* Drop log entries no check can need any more. */
void oracle_prune(struct oracle *o);

/* The reference walk on guest memory now, writing nothing. */
enum guest_walk_result oracle_walk_now(struct oracle *o,
				       const struct guest_paging *paging,
				       uint64_t gva, uint32_t access,
				       struct guest_walk *walk);
enum guest_pdpte_load oracle_load_pdptes(struct oracle *o,
					 struct guest_paging *paging);

/* Fail the test (with a full report) unless vCPU i's access may end as r. */
void oracle_check_access(struct oracle *o, unsigned i, uint64_t gva,
			 uint32_t access, const struct sim_result *r);

#endif
