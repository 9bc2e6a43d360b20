/*
 * The guest page-table walker for shadow paging: exact x86 semantics for
 * every paging mode, so a guest under shadow paging sees what it would see
 * on hardware (Intel SDM vol. 3A chapter 4; AMD APM vol. 2 chapter 5).
 * Portable: guest memory is reached through callbacks.
 *
 * tests/host/ref_walk.c is an independent reference walker written for
 * obviousness; tests/host/test_guest_walk.c compares the two.
 */
#ifndef MMU_GUEST_WALK_H
#define MMU_GUEST_WALK_H

#include <stdbool.h>
#include <stdint.h>

/* Page-fault error code bits. */
#define PFERR_PRESENT	(1u << 0)	/* protection fault, not not-present */
#define PFERR_WRITE	(1u << 1)
#define PFERR_USER	(1u << 2)	/* the access was a user-mode access */
#define PFERR_RSVD	(1u << 3)	/* a reserved bit was set */
#define PFERR_FETCH	(1u << 4)	/* instruction fetch (see below) */
#define PFERR_PK	(1u << 5)	/* protection key */

/* What the access is. */
#define ACCESS_WRITE		(1u << 0)
#define ACCESS_USER		(1u << 1)	/* CPL 3, explicit access */
#define ACCESS_FETCH		(1u << 2)
#define ACCESS_IMPLICIT_SUP	(1u << 3)	/* implicit supervisor access
						   (GDT/IDT/TSS...): a
						   supervisor access even at
						   CPL 3, SMAP ignores AC */

/* The control state that defines translation, as the guest set it. */
struct guest_paging {
	uint64_t cr0, cr3, cr4, efer;
	bool rflags_ac;			/* EFLAGS.AC, for SMAP */
	uint32_t pkru;			/* for CR4.PKE */
	unsigned maxphyaddr;		/* physical-address width, 36..52 */
	bool gbpages;			/* 1 GiB pages (CPUID PDPE1GB) */
	/*
	 * PAE mode: the four PDPTEs as loaded by the last MOV to CR3 (the
	 * CPU caches them then; a later change in memory is not seen until
	 * the next CR3 load). Valid only with CR0.PG, CR4.PAE, !EFER.LMA.
	 */
	uint64_t pdptes[4];
};

struct guest_mem_ops {
	/* Read 'size' bytes (4 or 8) of guest-physical memory: 0 or -1. */
	int (*read)(void *ctx, uint64_t gpa, void *buf, unsigned size);
	/* Atomically replace *old with 'new' at gpa if it still holds *old
	 * (size 4 or 8): 0 on success, 1 if memory held something else (then
	 * *old is updated), -1 on error. Used to set A and D bits. */
	int (*cmpxchg)(void *ctx, uint64_t gpa, uint64_t *old, uint64_t new,
		       unsigned size);
};

#define GUEST_WALK_MAX_LEVELS 5

struct guest_walk {
	/* Success */
	uint64_t gpa;			/* the translation */
	unsigned page_level;		/* 1 = 4K, 2 = 2M/4M, 3 = 1G */
	bool user;			/* effective U/S over all levels */
	bool writable;			/* effective R/W over all levels */
	bool nx;			/* effective NX over all levels */
	bool dirty;			/* the leaf's D after this walk */
	uint8_t pat_index;		/* leaf PAT/PCD/PWT as a 0..7 index */

	/* Either way: the entries read, top level first. */
	unsigned levels;		/* entries read */
	uint64_t pte_gpa[GUEST_WALK_MAX_LEVELS];
	uint64_t pte[GUEST_WALK_MAX_LEVELS];

	/* Failure */
	uint32_t error_code;		/* PFERR_* for the #PF */
};

enum guest_walk_result {
	WALK_OK,
	WALK_FAULT,		/* #PF with walk->error_code; CR2 = gva */
	WALK_MEM_ERROR,		/* a table is not in guest RAM: stop the VM */
};

/*
 * Translate 'gva' for 'access' (ACCESS_*).
 *
 * Semantics, as the SDM gives them:
 * - modes: paging off (identity, no checks), 32-bit (4K, and 4M pages with
 *   CR4.PSE, PSE-36 high address bits), PAE (cached PDPTEs, 4K/2M), 4-level
 *   and with CR4.LA57 5-level (4K/2M, 1G when gbpages);
 * - permissions: U/S and R/W combined over all levels; CR0.WP for
 *   supervisor writes; NX with EFER.NXE; SMEP (supervisor fetch from a user
 *   page); SMAP (supervisor data access to a user page, allowed for
 *   explicit accesses when EFLAGS.AC = 1; never for implicit ones); PKE
 *   (user pages, data accesses: PKRU.AD denies all, PKRU.WD denies writes
 *   from user mode, and from supervisor mode too when CR0.WP = 1);
 * - reserved bits: physical-address bits at and above MAXPHYADDR, NX when
 *   EFER.NXE = 0, PS where not allowed (PML5E/PML4E, PDPTE without
 *   gbpages), the low bits of a large page's address field (except PAT),
 *   PAE PDPTE reserved bits (checked at CR3 load by the CPU; here too),
 *   and for 32-bit PSE pages the bits above MAXPHYADDR-32 in 21:13;
 * - error code: P set for every fault except not-present (reserved-bit
 *   faults have P = 1); W for writes; U for user accesses (not for implicit
 *   supervisor ones); RSVD; I/D for fetches only when NX (EFER.NXE with PAE
 *   or 4/5-level) or SMEP is enabled; PK for protection-key faults;
 * - accessed/dirty: only on a successful walk, the A bit of every entry
 *   used and, for a write, the leaf's D bit are set atomically (cmpxchg),
 *   and the walk is retried if an entry changed under it. On a fault
 *   nothing is written (implementations differ there; this one is
 *   deterministic).
 */
enum guest_walk_result guest_walk(const struct guest_paging *paging,
				  uint64_t gva, uint32_t access,
				  const struct guest_mem_ops *mem, void *ctx,
				  struct guest_walk *walk);

#endif
