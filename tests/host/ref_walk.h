/*
 * The reference guest page-table walker: the oracle that mmu/guest_walk.c is
 * compared with (tests/host/test_guest_walk.c). Same types, same contract as
 * guest_walk() in mmu/guest_walk.h; written for obviousness, not speed: one
 * plain function per paging mode, every rule an explicit bit test with the
 * Intel SDM vol. 3A chapter 4 rule it implements next to it.
 *
 * Where the header leaves a choice open, the oracle's choice is written at
 * the top of ref_walk.c ("Choices"), so a mismatch can be judged against it.
 */
#ifndef TESTS_HOST_REF_WALK_H
#define TESTS_HOST_REF_WALK_H

#include <stdbool.h>
#include <stdint.h>

#include "mmu/guest_walk.h"

/* The paging mode that CR0/CR4/EFER select (SDM 4.1.1, Table 4-1). */
enum ref_paging_mode {
	REF_MODE_OFF,		/* CR0.PG = 0 */
	REF_MODE_32BIT,		/* CR0.PG = 1, CR4.PAE = 0 */
	REF_MODE_PAE,		/* CR0.PG = 1, CR4.PAE = 1, EFER.LMA = 0 */
	REF_MODE_4LEVEL,	/* ... EFER.LMA = 1, CR4.LA57 = 0 */
	REF_MODE_5LEVEL,	/* ... EFER.LMA = 1, CR4.LA57 = 1 */
};

enum ref_paging_mode ref_paging_mode(const struct guest_paging *paging);
const char *ref_paging_mode_name(enum ref_paging_mode mode);

/*
 * Every rule that decided a walk, as bits (a permission fault may break
 * several rules at once: all of them are set).
 */
enum ref_why_bits {
	REF_WHY_OK		= 1u << 0,	/* translated and allowed */
	REF_WHY_PAGING_OFF	= 1u << 1,	/* CR0.PG = 0: identity */
	REF_WHY_MEM_ERROR	= 1u << 2,	/* an entry is not in guest RAM */
	REF_WHY_NOT_PRESENT	= 1u << 3,	/* P = 0 */
	/* Reserved-bit violations (4.3, 4.4.1, 4.4.2, 4.5.4). */
	REF_WHY_RSVD_MAXPHYADDR	= 1u << 4,	/* address bits >= MAXPHYADDR */
	REF_WHY_RSVD_XD		= 1u << 5,	/* XD set with EFER.NXE = 0 */
	REF_WHY_RSVD_PS		= 1u << 6,	/* PS in a PML5E/PML4E, or in a
						   PDPTE without 1-GByte pages */
	REF_WHY_RSVD_LARGE	= 1u << 7,	/* 20:13 or 29:13 of a large page */
	REF_WHY_RSVD_PSE36	= 1u << 8,	/* 21:(M-19) of a 32-bit 4M PDE */
	REF_WHY_RSVD_PDPTE	= 1u << 9,	/* PAE PDPTE bits 2:1, 8:5 */
	/* Access-rights violations (4.6.1, 4.6.2). */
	REF_WHY_USER_SUP_PAGE	= 1u << 10,	/* user access, supervisor address */
	REF_WHY_USER_WRITE_RO	= 1u << 11,	/* user write, R/W = 0 somewhere */
	REF_WHY_SUP_WRITE_RO	= 1u << 12,	/* supervisor write, CR0.WP = 1 */
	REF_WHY_XD_FETCH	= 1u << 13,	/* fetch, NXE = 1, XD = 1 somewhere */
	REF_WHY_SMEP		= 1u << 14,	/* supervisor fetch, user address */
	REF_WHY_SMAP		= 1u << 15,	/* supervisor data, user address */
	REF_WHY_PK_AD		= 1u << 16,	/* PKRU.AD of the page's key */
	REF_WHY_PK_WD		= 1u << 17,	/* PKRU.WD of the page's key */
};
#define REF_WHY_COUNT 18

struct ref_walk_why {
	uint32_t bits;		/* REF_WHY_* that applied */
	unsigned level;		/* paging-structure level (5..1) of the entry
				   that stopped the walk; for access rights
				   and success: the leaf's level; 0: none */
	unsigned retries;	/* walks restarted because an entry changed
				   while A/D were being set */
	char text[200];		/* one line in words, citing the SDM */
};

/* Short name of one REF_WHY_* bit ("rsvd-xd"), for tables and dumps. */
const char *ref_why_name(uint32_t bit);

/* guest_walk(), as the SDM says it. */
enum guest_walk_result ref_walk(const struct guest_paging *paging,
				uint64_t gva, uint32_t access,
				const struct guest_mem_ops *mem, void *ctx,
				struct guest_walk *walk);

/* The same, and why it ended as it did ('why' may be NULL). */
enum guest_walk_result ref_walk_explained(const struct guest_paging *paging,
					  uint64_t gva, uint32_t access,
					  const struct guest_mem_ops *mem,
					  void *ctx, struct guest_walk *walk,
					  struct ref_walk_why *why);

#endif
