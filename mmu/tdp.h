/*
 * The TDP MMU: nested page tables (Intel EPT, AMD NPT) built on demand,
 * one entry per guest fault, from the VM's memslots. Portable: the entry
 * format comes from a struct tdp_format, memory from mmu/platform.h.
 *
 * Entries only ever go from not present to present here, so a fault never
 * needs a TLB flush (no CPU caches a not-present translation). Removing
 * or narrowing entries (memslot changes, dirty logging, zap-all) comes
 * with the flush rules in docs/locking.md.
 */
#ifndef MMU_TDP_H
#define MMU_TDP_H

#include <stdbool.h>
#include <stdint.h>
#include "mmu/memslot.h"
#include "mmu/platform.h"

/* How one vendor's nested page-table entries look. */
struct tdp_format {
	const char *name;		/* "EPT", "NPT" */
	uint64_t present_mask;		/* any of these set: entry present */
	uint64_t table_bits;		/* a non-leaf entry: full access */
	uint64_t leaf_read;		/* leaf: readable (EPT R, NPT P|US) */
	uint64_t leaf_write;		/* leaf: writable */
	uint64_t leaf_exec;		/* leaf: executable (EPT X; NPT: 0) */
	uint64_t leaf_nx;		/* leaf: not executable (NPT bit 63) */
	uint64_t leaf_extra;		/* every leaf (EPT memory type WB) */
	uint64_t large_bit;		/* PS, bit 7, in a level 2/3 leaf */
	uint64_t addr_mask;		/* bits 12..51 */
};

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

struct tdp_stats {
	uint64_t faults;
	uint64_t mapped_4k;
	uint64_t mapped_2m;
	uint64_t tables;	/* page-table pages held */
	uint64_t mmio;
	uint64_t spurious;
};

struct tdp_mmu {
	const struct tdp_format *fmt;
	uint64_t root_hpa;
	mmu_lock_t lock;		/* the VM's MMU lock */
	const struct memslots *slots;
	struct tdp_stats stats;
};

bool tdp_mmu_init(struct tdp_mmu *mmu, const struct tdp_format *fmt,
		  const struct memslots *slots);

/* Handle a nested page fault at 'gpa'. Takes the MMU lock. */
enum tdp_fault_result tdp_mmu_fault(struct tdp_mmu *mmu, uint64_t gpa,
				    uint32_t access);

/* Free every table. The VM's vCPUs must no longer run. */
void tdp_mmu_destroy(struct tdp_mmu *mmu);

/* Walk the tables: the host address 'gpa' maps to and the level of the
 * leaf (1 = 4 KiB, 2 = 2 MiB). False if not mapped. */
bool tdp_mmu_lookup(struct tdp_mmu *mmu, uint64_t gpa, uint64_t *hpa,
		    unsigned *level);

#endif
