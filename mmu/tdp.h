/*
 * The TDP MMU: nested page tables (Intel EPT, AMD NPT) built on demand,
 * one entry per guest fault, from the VM's memslots. Portable: the entry
 * format comes from a struct tdp_format (mmu/tdp_spte.h owns the bits),
 * memory and the lock from mmu/platform.h. See docs/mmu.md.
 *
 * A fault maps the faulting page with full access: a 2 MiB leaf when the
 * memslot says its 2 MiB chunk may be one large page
 * (memslot_large_ok) and no 4 KiB table exists under that chunk yet,
 * else a 4 KiB leaf, allocating the tables on the way down.
 *
 * Locking: tdp_mmu_fault takes the VM's MMU lock (mmu->lock) for the whole
 * walk and install. Two vCPUs faulting on the same page serialize on it;
 * the second finds the leaf present and gets TDP_SPURIOUS.
 *
 * Entries only ever go from not present to present here, so a fault never
 * needs a TLB flush: no CPU caches a not-present translation, and no
 * present entry is changed or removed. Removing or narrowing entries
 * (memslot changes, dirty logging, zap-all) comes with the flush rules in
 * docs/mmu.md. For the same reason tdp_mmu_lookup may walk without the
 * lock while faults run: tables are published with store-release and freed
 * only by tdp_mmu_destroy.
 */
#ifndef MMU_TDP_H
#define MMU_TDP_H

#include <stdbool.h>
#include <stdint.h>
#include "mmu/memslot.h"
#include "mmu/platform.h"
#include "mmu/tdp_spte.h"

extern const struct tdp_format tdp_format_ept;
extern const struct tdp_format tdp_format_npt;

/* Guest access that faulted (the NPF_* bits of virt/vcpu.h). */
#define TDP_ACCESS_READ		(1u << 0)
#define TDP_ACCESS_WRITE	(1u << 1)
#define TDP_ACCESS_FETCH	(1u << 2)

enum tdp_fault_result {
	TDP_FIXED,		/* a mapping was installed: re-enter */
	TDP_SPURIOUS,		/* already mapped (another vCPU won): re-enter */
	TDP_MMIO,		/* no memslot: emulate the access */
	TDP_NOMEM,		/* no page for a table: stop the VM */
};

/*
 * Counters, updated with relaxed atomic adds (the MMIO path runs without
 * the lock), so any CPU may read them with tdp_mmu_get_stats; the fields
 * agree with each other only while no fault runs. Then:
 *   faults == fixed + spurious + mmio + nomem
 *   fixed == mapped_4k + mapped_2m   (nothing unmaps yet; destroy zeroes
 *                                    mapped_* and tables)
 *   tables == table pages reachable from the root, the root included
 */
struct tdp_stats {
	uint64_t faults;	/* tdp_mmu_fault calls */
	uint64_t fixed;		/* ... that installed a leaf */
	uint64_t spurious;	/* ... that found it installed */
	uint64_t mmio;		/* ... outside every memslot */
	uint64_t nomem;		/* ... that ran out of table pages */
	uint64_t mapped_4k;	/* 4 KiB leaves present */
	uint64_t mapped_2m;	/* 2 MiB leaves present */
	uint64_t tables;	/* page-table pages held */
};

struct tdp_mmu {
	const struct tdp_format *fmt;
	uint64_t root_hpa;		/* the level-4 table; 0 if none */
	mmu_lock_t lock;		/* the VM's MMU lock */
	const struct memslots *slots;
	struct tdp_stats stats;
};

/* An empty root. False (and nothing held) if no page for it. */
bool tdp_mmu_init(struct tdp_mmu *mmu, const struct tdp_format *fmt,
		  const struct memslots *slots);

/* Handle a nested page fault at 'gpa' ('access': TDP_ACCESS_*). Takes the
 * MMU lock, unless the gpa is in no memslot (or at or above
 * TDP_GPA_LIMIT, beyond what 4 levels map): TDP_MMIO without a walk. Out
 * of memory leaves the tables consistent (tables allocated on the way
 * stay, empty) and returns TDP_NOMEM; a later fault may succeed. */
enum tdp_fault_result tdp_mmu_fault(struct tdp_mmu *mmu, uint64_t gpa,
				    uint32_t access);

/* Free every table. The VM's vCPUs must no longer run and no lookup may be
 * walking. Afterwards stats.tables is 0. */
void tdp_mmu_destroy(struct tdp_mmu *mmu);

/* Walk the tables: the host address 'gpa' maps to and the level of the
 * leaf (1 = 4 KiB, 2 = 2 MiB). False if not mapped. Lockless (see above). */
bool tdp_mmu_lookup(struct tdp_mmu *mmu, uint64_t gpa, uint64_t *hpa,
		    unsigned *level);

/* A snapshot of the counters (each read atomically). */
void tdp_mmu_get_stats(const struct tdp_mmu *mmu, struct tdp_stats *out);

#endif
