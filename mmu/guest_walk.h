/*
 * The guest page-table walker for shadow paging: exact x86 semantics for
 * every paging mode, so a guest under shadow paging sees what it would see
 * on hardware (Intel SDM vol. 3A chapter 4; AMD APM vol. 2 chapter 5).
 * Portable: guest memory is reached through callbacks.
 *
 * tests/host/ref_walk.c is an independent reference walker written for
 * obviousness; tests/host/test_guest_walk.c compares the two.
 * tests/host/test_guest_walk_unit.c holds hand-built cases for every rule
 * below; docs/mmu-guest-walk.md explains the choices.
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

/* What the access is. ACCESS_WRITE and ACCESS_FETCH exclude each other. */
#define ACCESS_WRITE		(1u << 0)
#define ACCESS_USER		(1u << 1)	/* CPL 3, explicit access */
#define ACCESS_FETCH		(1u << 2)
#define ACCESS_IMPLICIT_SUP	(1u << 3)	/* implicit supervisor access
						   (GDT/IDT/TSS...): a
						   supervisor access even at
						   CPL 3 (overrides
						   ACCESS_USER), SMAP ignores
						   AC */

/*
 * Guest paging-structure entry bits, the same in every mode (32-bit entries
 * use the low half). PAT is bit 7 in a 4 KiB leaf and bit 12 in a large
 * one; the protection key is bits 62:59 of a leaf in 4/5-level paging.
 */
#define GPTE_P		(1ull << 0)
#define GPTE_RW		(1ull << 1)
#define GPTE_US		(1ull << 2)
#define GPTE_PWT	(1ull << 3)
#define GPTE_PCD	(1ull << 4)
#define GPTE_A		(1ull << 5)
#define GPTE_D		(1ull << 6)	/* leaves only; ignored elsewhere */
#define GPTE_PS		(1ull << 7)	/* non-leaf levels */
#define GPTE_PAT_4K	(1ull << 7)	/* level 1 */
#define GPTE_G		(1ull << 8)
#define GPTE_PAT_LARGE	(1ull << 12)	/* 4M/2M/1G leaves */
#define GPTE_PKEY_SHIFT	59
#define GPTE_NX		(1ull << 63)

/*
 * The control bits the walker reads: the architectural values, the same as
 * arch/x86/cpu.h's (which portable code does not include; the unit test
 * checks that the two agree).
 */
#define GUEST_CR0_WP	(1ull << 16)
#define GUEST_CR0_PG	(1ull << 31)
#define GUEST_CR4_PSE	(1ull << 4)
#define GUEST_CR4_PAE	(1ull << 5)
#define GUEST_CR4_LA57	(1ull << 12)
#define GUEST_CR4_SMEP	(1ull << 20)
#define GUEST_CR4_SMAP	(1ull << 21)
#define GUEST_CR4_PKE	(1ull << 22)
#define GUEST_EFER_LMA	(1ull << 10)
#define GUEST_EFER_NXE	(1ull << 11)

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
	 * guest_load_pdptes() below does that load.
	 */
	uint64_t pdptes[4];
};

struct guest_mem_ops {
	/* Read 'size' bytes (4 or 8) of guest-physical memory: 0 or -1.
	 * One load, never torn, as the CPU reads a paging entry. */
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

	/*
	 * Either way: the entries read, top level first, as this walk left
	 * them (with the A/D bits it set). In PAE mode the first one is the
	 * cached PDPTE (paging->pdptes[i]) and its pte_gpa the address it was
	 * loaded from; memory there is neither read nor written by the walk.
	 */
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
 * - modes, chosen by CR0.PG, CR4.PAE and EFER.LMA (LMA, not LME: the two
 *   differ only while paging is off): paging off (identity on the low 32
 *   bits of gva, no checks; levels = 0, page_level = 1, user, writable,
 *   dirty, pat_index = 0), 32-bit (4K, and 4M pages with CR4.PSE,
 *   PSE-36 high address bits), PAE (cached PDPTEs, 4K/2M), 4-level and
 *   with CR4.LA57 5-level (4K/2M, 1G when gbpages). Outside long mode only
 *   gva bits 31:0 count; in 4-level mode bits 63:48 and in 5-level mode
 *   bits 63:57 are ignored. The canonical check is not the walker's job: a
 *   non-canonical address raises #GP (or #SS) before paging is consulted,
 *   and the caller (the emulator, the exit handler) must do it;
 * - permissions: U/S and R/W combined over all levels (not the PAE
 *   PDPTEs, which hold no rights); CR0.WP for supervisor writes; NX with
 *   EFER.NXE; SMEP (supervisor fetch from a user page); SMAP (supervisor
 *   data access to a user page, allowed for explicit accesses when
 *   EFLAGS.AC = 1; never for implicit ones); PKE, 4/5-level paging only
 *   (user pages, data accesses: PKRU.AD denies all, PKRU.WD denies writes
 *   from user mode, and from supervisor mode too when CR0.WP = 1);
 * - reserved bits (checked only in present entries): physical-address bits
 *   at and above MAXPHYADDR (to bit 51 in 4/5-level mode, to bit 62 in PAE
 *   mode), NX when EFER.NXE = 0, PS where not allowed (PML5E/PML4E, PDPTE
 *   without gbpages), the low bits of a large page's address field (except
 *   PAT), PAE PDPTE reserved bits (2:1, 8:5, 63:MAXPHYADDR; checked at CR3
 *   load by the CPU, see guest_load_pdptes(); here too), and for 32-bit
 *   4M pages bits 21:(M-19) with M = min(MAXPHYADDR, 40) (PSE-36: bits
 *   (M-20):13 hold address bits (M-1):32; bit 21 is always reserved).
 *   PSE-36 and PAT are taken as supported, as on every 64-bit CPU;
 * - error code: P set for every fault except not-present (reserved-bit
 *   faults have P = 1); W for writes; U for user accesses (not for implicit
 *   supervisor ones); RSVD; I/D for fetches only when NX (EFER.NXE with PAE
 *   or 4/5-level) or SMEP is enabled; PK for a protection fault on a data
 *   access to a user page whose key PKRU denies (as above), also when the
 *   ordinary rights deny the access too. A walk stops at the first entry
 *   that is not present or has a reserved bit set, top level first; rights
 *   are checked only after a complete walk;
 * - accessed/dirty: only on a successful walk, the A bit of every entry
 *   used (PAE PDPTEs have none) and, for a write, the leaf's D bit are set
 *   atomically (cmpxchg), top level first, and the walk is retried if an
 *   entry changed under it (A bits already set by the abandoned attempt
 *   stay set, as the CPU's would). On a fault nothing is written
 *   (implementations differ there; this one is deterministic; the SDM's
 *   #PF description sets the PDE's A on a protection fault, see
 *   docs/mmu-guest-walk.md), and user/writable/nx are false.
 * Not modelled: supervisor protection keys (CR4.PKS), shadow-stack
 * accesses, HLAT, LAM, SGX.
 */
enum guest_walk_result guest_walk(const struct guest_paging *paging,
				  uint64_t gva, uint32_t access,
				  const struct guest_mem_ops *mem, void *ctx,
				  struct guest_walk *walk);

/*
 * Does 'pte', a present entry at 'level' (1 = PTE ... 5 = PML5E) of the
 * tables 'paging' selects, have a reserved bit set, exactly as a walk would
 * check it (a large leaf where PS makes it one)? False with paging off or a
 * level the mode does not have. For the shadow MMU, which re-reads guest
 * entries without walking (syncing unsync pages).
 */
bool guest_pte_reserved(const struct guest_paging *paging, unsigned level,
			uint64_t pte);

/*
 * PAE paging: MOV to CR3 while PAE paging is in use, a MOV to CR0 or CR4
 * after which PAE paging is in use and that changes CR0.CD, CR0.NW,
 * CR0.PG, CR4.PAE, CR4.PGE, CR4.PSE or CR4.SMEP, and a task switch that
 * changes CR3 load the four PDPTEs from the 32-byte aligned table at
 * CR3[31:5] (SDM 4.4.1). A present PDPTE with a reserved bit set makes
 * that instruction raise #GP(0) and change nothing.
 *
 * guest_load_pdptes() does the load for paging->cr3: it reads the four
 * entries (8-byte reads, nothing written: PDPTEs have no A bit) and, if
 * they are valid, stores them in paging->pdptes.
 * guest_pdptes_valid() is the check alone (it needs only maxphyaddr).
 */
enum guest_pdpte_load {
	PDPTE_LOAD_OK,
	PDPTE_LOAD_GP,		/* reserved bit set: #GP(0), pdptes unchanged */
	PDPTE_LOAD_MEM_ERROR,	/* the table is not in guest RAM */
};

enum guest_pdpte_load guest_load_pdptes(struct guest_paging *paging,
					const struct guest_mem_ops *mem,
					void *ctx);
bool guest_pdptes_valid(const struct guest_paging *paging,
			const uint64_t pdptes[4]);

#endif
