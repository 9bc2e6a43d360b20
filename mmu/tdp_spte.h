/*
 * TDP entries (sptes): every bit the TDP MMU writes, for both formats, in
 * one place. The constructors below are the only way mmu/tdp.c builds an
 * entry and the predicates the only way it reads one. Portable.
 *
 * Intel EPT entry (SDM vol. 3C, "EPT translation mechanism"), as hv uses it:
 *
 *   bit  0      R     read allowed          } any of R/W/X set: present
 *   bit  1      W     write allowed         }
 *   bit  2      X     execute allowed       }
 *   bits 3..5   MT    memory type, leaves only; hv: 6 (WB). Reserved (0)
 *                     in a table entry.
 *   bit  6      IPAT  ignore guest PAT, leaves only; hv: 0, so the guest's
 *                     PAT combines with WB as on bare metal
 *   bit  7      PS    level 2/3: 1 = leaf (2 MiB / 1 GiB), 0 = table.
 *                     Ignored at level 1; hv writes 0 there.
 *   bits 8, 9   A, D  set by the CPU only if the EPTP enables A/D; hv: off
 *   bit  10     XU    user execute (mode-based execute control); hv: off
 *   bits 12..51       address of the next table or of the page; in a
 *                     2 MiB leaf bits 12..20 are reserved and must be 0
 *   bits 52..62       ignored (57..60 gain meanings only with optional
 *                     controls hv leaves off): software bits, none used yet
 *   bit  63     SVE   suppress #VE; hv: 0 (#VE is never enabled)
 *
 *   table entry   table_hpa | R|W|X                   = hpa | 0x007
 *   4 KiB leaf    page_hpa  | R|W|X | WB<<3           = hpa | 0x037
 *   2 MiB leaf    page_hpa  | R|W|X | WB<<3 | PS      = hpa | 0x0b7
 *
 * AMD NPT entry (APM vol. 2, "Nested Paging"): an ordinary long-mode
 * page-table entry, walked by the CPU with the host's paging rules; every
 * access of a nested walk counts as a user access, so US must be set.
 *
 *   bit  0      P     present
 *   bit  1      RW    writable
 *   bit  2      US    user: required for any access by the guest
 *   bits 3, 4   PWT, PCD   hv: 0, host PAT entry 0 (WB), combined with
 *                     the guest's own memory type
 *   bits 5, 6   A, D  set by the CPU on its nested walks (D in leaves)
 *   bit  7      PS    level 2/3: 1 = leaf; 0 = table. At level 1 it is
 *                     the PAT bit; hv writes 0.
 *   bit  8      G     ignored in nested tables
 *   bits 12..51       address; in a 2 MiB leaf bit 12 is PAT and bits
 *                     13..20 reserved: all 0 since the page is 2 MiB aligned
 *   bits 52..58       available to software (none used yet); 59..62 are
 *                     the protection key where keys apply; hv: 0
 *   bit  63     NX    no execute (only if the host's EFER.NXE); hv: 0
 *
 *   table entry   table_hpa | P|RW|US                 = hpa | 0x007
 *   4 KiB leaf    page_hpa  | P|RW|US                 = hpa | 0x007
 *   2 MiB leaf    page_hpa  | P|RW|US | PS            = hpa | 0x087
 *
 * Invariants (both formats):
 *   - an entry is 0 (not present) or was made by make_table_spte or
 *     make_leaf_spte; hardware may add only A/D (NPT; EPT with A/D on)
 *   - a table entry never has PS; a level-2 leaf always has it; a level-1
 *     leaf never has it
 *   - the address of a 2 MiB leaf is 2 MiB aligned
 *   - flag bits and the address field never overlap (asserted below)
 */
#ifndef MMU_TDP_SPTE_H
#define MMU_TDP_SPTE_H

#include <stdbool.h>
#include <stdint.h>

#define TDP_LEVELS		4	/* 4-level EPT / long-mode NPT */
#define TDP_PAGE_SHIFT		12
#define TDP_LEVEL_BITS		9		/* 512 entries a table */
#define TDP_ENTRIES		(1u << TDP_LEVEL_BITS)
#define TDP_GPA_BITS		(TDP_PAGE_SHIFT + TDP_LEVELS * TDP_LEVEL_BITS)
#define TDP_GPA_LIMIT		(1ull << TDP_GPA_BITS)	/* 256 TiB */

#define SPTE_ADDR_MASK		0x000ffffffffff000ull	/* bits 12..51 */

#define EPT_R			(1ull << 0)
#define EPT_W			(1ull << 1)
#define EPT_X			(1ull << 2)
#define EPT_MT_SHIFT		3
#define EPT_MT_MASK		(7ull << EPT_MT_SHIFT)
#define EPT_MT_WB		(6ull << EPT_MT_SHIFT)
#define EPT_IPAT		(1ull << 6)
#define EPT_PS			(1ull << 7)
#define EPT_RWX			(EPT_R | EPT_W | EPT_X)

#define NPT_P			(1ull << 0)
#define NPT_RW			(1ull << 1)
#define NPT_US			(1ull << 2)
#define NPT_PWT			(1ull << 3)
#define NPT_PCD			(1ull << 4)
#define NPT_A			(1ull << 5)
#define NPT_D			(1ull << 6)
#define NPT_PS			(1ull << 7)
#define NPT_NX			(1ull << 63)

_Static_assert(TDP_ENTRIES * 8 == 1u << TDP_PAGE_SHIFT,
	       "a table is one 4 KiB page of 8-byte entries");
_Static_assert(TDP_GPA_BITS == 48, "4 levels map 48 bits of guest address");
_Static_assert(((EPT_RWX | EPT_MT_MASK | EPT_IPAT | EPT_PS) &
		SPTE_ADDR_MASK) == 0, "EPT flags overlap the address");
_Static_assert((EPT_MT_WB & ~EPT_MT_MASK) == 0, "WB fits the MT field");
_Static_assert(((EPT_RWX | EPT_IPAT | EPT_PS) & EPT_MT_MASK) == 0,
	       "EPT memory type overlaps other flags");
_Static_assert(((NPT_P | NPT_RW | NPT_US | NPT_PWT | NPT_PCD | NPT_A |
		 NPT_D | NPT_PS | NPT_NX) & SPTE_ADDR_MASK) == 0,
	       "NPT flags overlap the address");
_Static_assert((EPT_PS & EPT_RWX) == 0 && (NPT_PS & NPT_P) == 0,
	       "the large-page bit must not count as present");

/* How one vendor's nested page-table entries look. The two instances,
 * tdp_format_ept and tdp_format_npt, are built from the bits above. */
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

/* ---- Geometry ----------------------------------------------------------- */

/* log2 of the bytes one entry at 'level' maps: 12, 21, 30, 39. */
static inline unsigned tdp_level_shift(unsigned level)
{
	return TDP_PAGE_SHIFT + TDP_LEVEL_BITS * (level - 1);
}

static inline uint64_t tdp_level_size(unsigned level)
{
	return 1ull << tdp_level_shift(level);
}

static inline unsigned tdp_index(uint64_t gpa, unsigned level)
{
	return (gpa >> tdp_level_shift(level)) & (TDP_ENTRIES - 1);
}

/* ---- Constructors ------------------------------------------------------- */

static inline uint64_t make_table_spte(const struct tdp_format *fmt,
				       uint64_t table_hpa)
{
	return (table_hpa & fmt->addr_mask) | fmt->table_bits;
}

/* A leaf with full access (read, write, execute) at level 1 (4 KiB) or 2
 * (2 MiB). 'hpa' must be aligned to the leaf's size. */
static inline uint64_t make_leaf_spte(const struct tdp_format *fmt,
				      uint64_t hpa, unsigned level)
{
	uint64_t spte = (hpa & fmt->addr_mask) | fmt->leaf_read |
			fmt->leaf_write | fmt->leaf_exec | fmt->leaf_extra;

	return level > 1 ? spte | fmt->large_bit : spte;
}

/* ---- Predicates --------------------------------------------------------- */

static inline bool is_present_spte(const struct tdp_format *fmt,
				   uint64_t spte)
{
	return (spte & fmt->present_mask) != 0;
}

/* A present level-2/3 entry that maps a page instead of a table. */
static inline bool is_large_spte(const struct tdp_format *fmt, uint64_t spte,
				 unsigned level)
{
	return level > 1 && (spte & fmt->large_bit);
}

static inline bool is_leaf_spte(const struct tdp_format *fmt, uint64_t spte,
				unsigned level)
{
	return level == 1 || is_large_spte(fmt, spte, level);
}

/* The host address in a present entry: the next table or the page. */
static inline uint64_t spte_hpa(const struct tdp_format *fmt, uint64_t spte)
{
	return spte & fmt->addr_mask;
}

/* ---- Access ---------------------------------------------------------------
 *
 * Entries are written under the MMU lock but may be read without it (the
 * lookup, later the lockless fast path, and the CPU's own walker). A
 * store-release publishes a new table entry only after the zeroed table
 * it points to; a reader's load-acquire then sees the zeroes. Both are
 * plain 64-bit moves on x86 (no tearing, no fence).
 */
static inline uint64_t spte_read(const uint64_t *sptep)
{
	return __atomic_load_n(sptep, __ATOMIC_ACQUIRE);
}

static inline void spte_write(uint64_t *sptep, uint64_t spte)
{
	__atomic_store_n(sptep, spte, __ATOMIC_RELEASE);
}

#endif
