/*
 * Shadow sptes: every bit of the entries the shadow MMU writes into the
 * tables the guest runs on (hardware CR3 = a shadow root). The constructors
 * below are the only way mmu/shadow*.c builds an entry, and the predicates
 * the only way it reads one. Portable.
 *
 * The hardware walks these tables as ordinary x86 paging structures, in one
 * of two modes (mmu/shadow.h says which the backend must run the guest in):
 *   4-level (guest EFER.LMA = 1)   PML4E, PDPTE, PDE, PTE
 *   PAE     (every other guest)    4 PDPTEs (the vCPU's PAE root), PDE, PTE
 * Both use 8-byte entries with the same low bits, so one format serves both;
 * the bits that differ are avoided (52..62 are reserved in PAE entries and
 * hold only the protection key in 4-level leaves).
 *
 *   bit  0      P     present
 *   bit  1      RW    writable (hardware CR0.WP is always 1 under shadow
 *                     paging, so RW = 0 stops supervisor writes too)
 *   bit  2      US    user
 *   bits 3, 4   PWT, PCD   leaves: the guest leaf's, so the guest's PAT
 *                     (loaded as the hardware PAT) picks the memory type
 *   bit  5      A     always set: the guest's A bits are set by the MMU's
 *                     walk of the guest tables at fault time, never by
 *                     hardware on these entries
 *   bit  6      D     leaves: set together with RW (the guest's D bit is
 *                     set by the walk of a write fault; a clean guest leaf
 *                     is mapped read-only until then)
 *   bit  7      PS    level 2 leaf (2 MiB); at level 1 the PAT bit
 *   bit  8      G     never set (guest CR3 writes must flush everything)
 *   bit  9      HOST_WRITABLE   software: the backing memory may be written
 *   bit  10     MMU_WRITABLE    software: the MMU lets this spte be
 *                     writable: the guest's rights and D bit allow it and
 *                     the target is not a write-protected guest page table
 *   bit  11     SHADOW_PRESENT  software: a table or leaf entry built by the
 *                     MMU (an MMIO spte has it clear, whatever its P bit)
 *   bit  12     PAT   2 MiB leaf
 *   bits 12..51       host address of the next table or of the page (host
 *                     MAXPHYADDR <= 52)
 *   bits 59..62 PKEY  4-level leaves: the guest leaf's protection key, so
 *                     hardware CR4.PKE and PKRU (the guest's) apply it
 *   bit  63     NX    hardware EFER.NXE is always 1 under shadow paging
 *
 * Bits 9..11 are ignored by the CPU in every entry of both modes, PAE PDPTEs
 * included, which is why the software bits live there.
 *
 *   table entry    hpa | P RW US A SHADOW_PRESENT            (full access:
 *                  the rights are combined in the leaves)
 *   PAE root entry hpa | P SHADOW_PRESENT       (a PDPTE: bits 1, 2, 5..8
 *                  are reserved there)
 *   leaf           hpa | P [RW D] [US] A [PWT PCD PAT] [PS] [NX] [PKEY]
 *                      | SHADOW_PRESENT [HOST_WRITABLE] [MMU_WRITABLE]
 *
 * MMIO spte: a guest-physical address outside every memslot, cached so the
 * next access goes straight to "emulate MMIO" without a guest walk. It has a
 * reserved bit set, so the CPU raises #PF with RSVD (which the shadow MMU
 * intercepts: PFERR_RSVD on a shadow fault always means an MMIO spte):
 *
 *   bit  0      P     1 (0 when the host MAXPHYADDR is 52: no bit above
 *                     it is reserved, so the spte is simply not present)
 *   bit  1, 2   the guest's effective R/W and U/S for this page
 *   bits 3..10  generation bits 0..7
 *   bit  11     0 (SHADOW_PRESENT clear)
 *   bits 12..50 guest frame number (gpa < 2^51; larger ones are not cached)
 *   bit  51     1: reserved when the host MAXPHYADDR <= 51, in PAE and
 *               4-level entries alike
 *   bits 52..57 generation bits 8..13
 *   bit  58     MMIO_MARK: says "MMIO spte" (never set otherwise)
 *   bits 59..62 generation bits 14..17
 *   bit  63     the guest's effective NX
 *
 * The generation is the low 18 bits of the memslots' generation when the
 * spte was made; a mismatch sends the fault to the slow path, which builds
 * the spte again (mmu/shadow.h: memslot changes).
 *
 * Invariants (checked by shadow_audit):
 *   - an spte is 0, or was made by one of the constructors below; the
 *     hardware may only set A and D (already set) in it
 *   - RW => MMU_WRITABLE => HOST_WRITABLE (so the lockless fast path, which
 *     may set RW only when both software bits are set, never makes writable
 *     what the MMU write-protected or the host cannot write)
 *   - SHADOW_PRESENT => P and not MMIO_MARK; MMIO_MARK => not SHADOW_PRESENT
 *   - a table entry has neither PS nor NX nor a software writable bit
 *   - entries of tables walked in PAE mode have bits 52..62 clear, except
 *     MMIO sptes (where they only add reserved bits)
 *   - flag bits and the address field never overlap (asserted below)
 */
#ifndef MMU_SHADOW_SPTE_H
#define MMU_SHADOW_SPTE_H

#include <stdbool.h>
#include <stdint.h>
#include "mmu/tdp_spte.h"	/* spte_read/spte_write, SPTE_ADDR_MASK */

#define SPTE_P			(1ull << 0)
#define SPTE_RW			(1ull << 1)
#define SPTE_US			(1ull << 2)
#define SPTE_PWT		(1ull << 3)
#define SPTE_PCD		(1ull << 4)
#define SPTE_A			(1ull << 5)
#define SPTE_D			(1ull << 6)
#define SPTE_PS			(1ull << 7)
#define SPTE_PAT_4K		(1ull << 7)
#define SPTE_G			(1ull << 8)
#define SPTE_HOST_WRITABLE	(1ull << 9)
#define SPTE_MMU_WRITABLE	(1ull << 10)
#define SPTE_SHADOW_PRESENT	(1ull << 11)
#define SPTE_PAT_LARGE		(1ull << 12)
#define SPTE_PKEY_SHIFT		59
#define SPTE_PKEY_MASK		(0xfull << SPTE_PKEY_SHIFT)
#define SPTE_NX			(1ull << 63)

/* Bits reserved in PAE PDEs/PTEs at any MAXPHYADDR (52..62). */
#define SPTE_PAE_HIGH_MASK	0x7ff0000000000000ull

#define SPTE_MMIO_MARK		(1ull << 58)
#define SPTE_MMIO_RSVD		(1ull << 51)
#define SPTE_MMIO_GFN_SHIFT	12
#define SPTE_MMIO_GFN_BITS	39			/* bits 12..50 */
#define SPTE_MMIO_GFN_MASK	(((1ull << SPTE_MMIO_GFN_BITS) - 1) << \
				 SPTE_MMIO_GFN_SHIFT)
#define SPTE_MMIO_GEN_LO_SHIFT	3			/* bits 3..10 */
#define SPTE_MMIO_GEN_LO_BITS	8
#define SPTE_MMIO_GEN_MID_SHIFT	52			/* bits 52..57 */
#define SPTE_MMIO_GEN_MID_BITS	6
#define SPTE_MMIO_GEN_HI_SHIFT	59			/* bits 59..62 */
#define SPTE_MMIO_GEN_HI_BITS	4
#define SHADOW_MMIO_GEN_BITS	(SPTE_MMIO_GEN_LO_BITS + \
				 SPTE_MMIO_GEN_MID_BITS + \
				 SPTE_MMIO_GEN_HI_BITS)
#define SHADOW_MMIO_GEN_MASK	((1ull << SHADOW_MMIO_GEN_BITS) - 1)
#define SPTE_MMIO_GEN_LO_MASK	(((1ull << SPTE_MMIO_GEN_LO_BITS) - 1) << \
				 SPTE_MMIO_GEN_LO_SHIFT)
#define SPTE_MMIO_GEN_MID_MASK	(((1ull << SPTE_MMIO_GEN_MID_BITS) - 1) << \
				 SPTE_MMIO_GEN_MID_SHIFT)
#define SPTE_MMIO_GEN_HI_MASK	(((1ull << SPTE_MMIO_GEN_HI_BITS) - 1) << \
				 SPTE_MMIO_GEN_HI_SHIFT)
/* Largest gpa an MMIO spte can hold (exclusive). */
#define SHADOW_MMIO_GPA_LIMIT	(1ull << (SPTE_MMIO_GFN_SHIFT + \
					  SPTE_MMIO_GFN_BITS))

/* A page's rights as the shadow MMU tracks them (shadow page roles, leaf
 * constructors): the guest's effective rights, with WRITE only when the
 * guest leaf is also dirty. */
#define SHADOW_ACC_EXEC		(1u << 0)
#define SHADOW_ACC_WRITE	(1u << 1)
#define SHADOW_ACC_USER		(1u << 2)
#define SHADOW_ACC_ALL		(SHADOW_ACC_EXEC | SHADOW_ACC_WRITE | \
				 SHADOW_ACC_USER)

#define SPTE_SOFTWARE_MASK	(SPTE_HOST_WRITABLE | SPTE_MMU_WRITABLE | \
				 SPTE_SHADOW_PRESENT)
#define SPTE_FLAGS_MASK		(SPTE_P | SPTE_RW | SPTE_US | SPTE_PWT | \
				 SPTE_PCD | SPTE_A | SPTE_D | SPTE_PS | \
				 SPTE_G | SPTE_SOFTWARE_MASK)

_Static_assert((SPTE_FLAGS_MASK & SPTE_ADDR_MASK) == 0,
	       "spte flags overlap the address field");
_Static_assert(((SPTE_PKEY_MASK | SPTE_NX) & SPTE_ADDR_MASK) == 0 &&
	       ((SPTE_PKEY_MASK | SPTE_NX) & SPTE_FLAGS_MASK) == 0 &&
	       (SPTE_PKEY_MASK & SPTE_NX) == 0,
	       "protection key or NX overlaps another field");
_Static_assert(SPTE_SOFTWARE_MASK == 0xe00ull,
	       "software bits must be 9..11: ignored in every PAE and "
	       "4-level entry, PDPTEs included");
_Static_assert(((SPTE_MMIO_MARK | SPTE_PKEY_MASK) & SPTE_PAE_HIGH_MASK) ==
	       (SPTE_MMIO_MARK | SPTE_PKEY_MASK),
	       "the bits kept out of PAE-mode entries are 52..62");
_Static_assert((SPTE_MMIO_MARK & (SPTE_FLAGS_MASK | SPTE_ADDR_MASK |
				  SPTE_PKEY_MASK | SPTE_NX)) == 0,
	       "the MMIO mark must be a bit no other spte uses");
_Static_assert(SHADOW_MMIO_GEN_BITS == 18,
	       "MMIO generation width changed: check the wrap handling "
	       "in shadow_memslots_changed");
_Static_assert((SPTE_MMIO_GEN_LO_MASK & SPTE_MMIO_GEN_MID_MASK) == 0 &&
	       (SPTE_MMIO_GEN_LO_MASK & SPTE_MMIO_GEN_HI_MASK) == 0 &&
	       (SPTE_MMIO_GEN_MID_MASK & SPTE_MMIO_GEN_HI_MASK) == 0,
	       "MMIO generation fields overlap");
_Static_assert(((SPTE_MMIO_GEN_LO_MASK | SPTE_MMIO_GEN_MID_MASK |
		 SPTE_MMIO_GEN_HI_MASK) &
		(SPTE_MMIO_GFN_MASK | SPTE_MMIO_RSVD | SPTE_MMIO_MARK |
		 SPTE_P | SPTE_RW | SPTE_US | SPTE_SHADOW_PRESENT |
		 SPTE_NX)) == 0,
	       "MMIO generation overlaps another MMIO field");
_Static_assert((SPTE_MMIO_GFN_MASK & (SPTE_MMIO_RSVD | SPTE_MMIO_MARK)) == 0,
	       "MMIO gfn overlaps the reserved bit or the mark");
_Static_assert((SPTE_MMIO_RSVD & SPTE_ADDR_MASK) == SPTE_MMIO_RSVD &&
	       SPTE_MMIO_RSVD == 1ull << 51,
	       "the MMIO reserved bit is address bit 51");

/* ---- Geometry (4-level and PAE shadow tables: 512 entries each) ----- */

#define SHADOW_ENTRIES		512u

static inline unsigned shadow_level_shift(unsigned level)
{
	return 12 + 9 * (level - 1);
}

static inline unsigned shadow_index(uint64_t gva, unsigned level)
{
	return (gva >> shadow_level_shift(level)) & (SHADOW_ENTRIES - 1);
}

/* Guest frames one entry at 'level' maps: 1, 512, 512 * 512, ... */
static inline uint64_t shadow_level_pages(unsigned level)
{
	return 1ull << (9 * (level - 1));
}

/* ---- Constructors -------------------------------------------------- */

static inline uint64_t make_shadow_table_spte(uint64_t table_hpa)
{
	return (table_hpa & SPTE_ADDR_MASK) | SPTE_P | SPTE_RW | SPTE_US |
	       SPTE_A | SPTE_SHADOW_PRESENT;
}

/* An entry of a vCPU's PAE root (a PDPTE): present and the address only. */
static inline uint64_t make_pae_root_spte(uint64_t table_hpa)
{
	return (table_hpa & SPTE_ADDR_MASK) | SPTE_P | SPTE_SHADOW_PRESENT;
}

/*
 * A leaf at level 1 (4 KiB) or 2 (2 MiB, 'hpa' 2 MiB aligned).
 * 'access': SHADOW_ACC_* the guest grants (WRITE only if its leaf is
 * dirty). 'pat_index': the guest leaf's PAT/PCD/PWT as 0..7. 'pkey': the
 * guest leaf's protection key (0 for tables walked in PAE mode).
 * 'host_writable': the backing memory may be written. 'write_protected':
 * the target is a guest page table the MMU shadows (so not MMU_WRITABLE).
 */
static inline uint64_t make_shadow_leaf_spte(uint64_t hpa, unsigned level,
					     unsigned access,
					     unsigned pat_index, unsigned pkey,
					     bool host_writable,
					     bool write_protected)
{
	uint64_t spte = (hpa & SPTE_ADDR_MASK) | SPTE_P | SPTE_A |
			SPTE_SHADOW_PRESENT;
	uint64_t pat = level > 1 ? SPTE_PAT_LARGE : SPTE_PAT_4K;

	if (level > 1)
		spte |= SPTE_PS;
	if (access & SHADOW_ACC_USER)
		spte |= SPTE_US;
	if (!(access & SHADOW_ACC_EXEC))
		spte |= SPTE_NX;
	if (pat_index & 1)
		spte |= SPTE_PWT;
	if (pat_index & 2)
		spte |= SPTE_PCD;
	if (pat_index & 4)
		spte |= pat;
	spte |= ((uint64_t)pkey << SPTE_PKEY_SHIFT) & SPTE_PKEY_MASK;
	if (host_writable) {
		spte |= SPTE_HOST_WRITABLE;
		if ((access & SHADOW_ACC_WRITE) && !write_protected)
			spte |= SPTE_MMU_WRITABLE | SPTE_RW | SPTE_D;
	}
	return spte;
}

/* 'rsvd_fault': the host MAXPHYADDR leaves bit 51 reserved, so P is set
 * and the CPU faults with RSVD; else the spte is not present. 'gfn' must
 * be below SHADOW_MMIO_GPA_LIMIT >> 12. */
static inline uint64_t make_mmio_spte(uint64_t gfn, unsigned access,
				      uint64_t generation, bool rsvd_fault)
{
	uint64_t gen = generation & SHADOW_MMIO_GEN_MASK;
	uint64_t spte = SPTE_MMIO_MARK | SPTE_MMIO_RSVD;

	spte |= (gfn << SPTE_MMIO_GFN_SHIFT) & SPTE_MMIO_GFN_MASK;
	spte |= (gen << SPTE_MMIO_GEN_LO_SHIFT) & SPTE_MMIO_GEN_LO_MASK;
	spte |= ((gen >> SPTE_MMIO_GEN_LO_BITS) << SPTE_MMIO_GEN_MID_SHIFT) &
		SPTE_MMIO_GEN_MID_MASK;
	spte |= ((gen >> (SPTE_MMIO_GEN_LO_BITS + SPTE_MMIO_GEN_MID_BITS)) <<
		 SPTE_MMIO_GEN_HI_SHIFT) & SPTE_MMIO_GEN_HI_MASK;
	if (access & SHADOW_ACC_WRITE)
		spte |= SPTE_RW;
	if (access & SHADOW_ACC_USER)
		spte |= SPTE_US;
	if (!(access & SHADOW_ACC_EXEC))
		spte |= SPTE_NX;
	if (rsvd_fault)
		spte |= SPTE_P;
	return spte;
}

/* Write-protect a leaf for shadowing: no RW, and not MMU_WRITABLE, so the
 * lockless fast path cannot make it writable again. */
static inline uint64_t spte_write_protect(uint64_t spte)
{
	return spte & ~(SPTE_RW | SPTE_MMU_WRITABLE);
}

/* ---- Predicates ---------------------------------------------------- */

static inline bool is_shadow_present_spte(uint64_t spte)
{
	return (spte & SPTE_SHADOW_PRESENT) != 0;
}

static inline bool is_mmio_spte(uint64_t spte)
{
	return (spte & SPTE_MMIO_MARK) != 0;
}

/* A shadow-present entry at 'level' that maps a page (not a table). */
static inline bool is_shadow_leaf_spte(uint64_t spte, unsigned level)
{
	return level == 1 || (spte & SPTE_PS);
}

static inline bool is_shadow_large_spte(uint64_t spte, unsigned level)
{
	return level > 1 && (spte & SPTE_PS);
}

static inline uint64_t shadow_spte_hpa(uint64_t spte)
{
	return spte & SPTE_ADDR_MASK;
}

/* The page a leaf at 'level' maps (bit 12 of a 2 MiB leaf is PAT). */
static inline uint64_t shadow_leaf_hpa(uint64_t spte, unsigned level)
{
	return spte & SPTE_ADDR_MASK & ~((1ull << shadow_level_shift(level)) -
					 1);
}

static inline bool spte_is_writable(uint64_t spte)
{
	return (spte & SPTE_RW) != 0;
}

static inline bool spte_host_writable(uint64_t spte)
{
	return (spte & SPTE_HOST_WRITABLE) != 0;
}

static inline bool spte_mmu_writable(uint64_t spte)
{
	return (spte & SPTE_MMU_WRITABLE) != 0;
}

/* The lockless fast path may set RW (by cmpxchg) only in such an spte. */
static inline bool spte_can_fast_fix_write(uint64_t spte)
{
	return is_shadow_present_spte(spte) && !spte_is_writable(spte) &&
	       spte_host_writable(spte) && spte_mmu_writable(spte);
}

/* SHADOW_ACC_* of a leaf (or of an MMIO spte: the guest's rights). */
static inline unsigned spte_access(uint64_t spte)
{
	return ((spte & SPTE_RW) ? SHADOW_ACC_WRITE : 0) |
	       ((spte & SPTE_US) ? SHADOW_ACC_USER : 0) |
	       ((spte & SPTE_NX) ? 0 : SHADOW_ACC_EXEC);
}

static inline uint64_t mmio_spte_gfn(uint64_t spte)
{
	return (spte & SPTE_MMIO_GFN_MASK) >> SPTE_MMIO_GFN_SHIFT;
}

static inline uint64_t mmio_spte_generation(uint64_t spte)
{
	return ((spte & SPTE_MMIO_GEN_LO_MASK) >> SPTE_MMIO_GEN_LO_SHIFT) |
	       (((spte & SPTE_MMIO_GEN_MID_MASK) >> SPTE_MMIO_GEN_MID_SHIFT)
		<< SPTE_MMIO_GEN_LO_BITS) |
	       (((spte & SPTE_MMIO_GEN_HI_MASK) >> SPTE_MMIO_GEN_HI_SHIFT)
		<< (SPTE_MMIO_GEN_LO_BITS + SPTE_MMIO_GEN_MID_BITS));
}

#endif
