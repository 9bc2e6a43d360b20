/*
 * Reference guest page-table walker (the oracle of test_guest_walk.c).
 *
 * Written from the Intel SDM vol. 3A chapter 4, "Paging" (table numbers of
 * the editions with 5-level paging):
 *   4.1.1        which paging mode CR0.PG, CR4.PAE, EFER.LMA, CR4.LA57 select
 *   4.3          32-bit paging (Tables 4-3 CR3, 4-4 4-MByte PDE, 4-5 PDE,
 *                4-6 PTE)
 *   4.4          PAE paging (Tables 4-7 CR3, 4-8 PDPTE, 4-9 2-MByte PDE,
 *                4-10 PDE, 4-11 PTE)
 *   4.5          4-level and 5-level paging (Tables 4-12/4-13 CR3, 4-14
 *                PML5E, 4-15 PML4E, 4-16 1-GByte PDPTE, 4-17 PDPTE,
 *                4-18 2-MByte PDE, 4-19 PDE, 4-20 PTE)
 *   4.6.1, 4.6.2 access rights, SMEP, SMAP, protection keys
 *   4.7          page-fault error code
 *   4.8          accessed and dirty flags
 *
 * Slow on purpose: one function per mode, entries checked one rule at a time
 * with explicit bit tests. No mask tables, nothing shared between modes
 * except reading an entry, the access-rights rules and setting A/D.
 *
 * Choices where mmu/guest_walk.h leaves room (the report to the lead lists
 * them too):
 *  1. ACCESS_IMPLICIT_SUP wins over ACCESS_USER: an implicit access is a
 *     supervisor-mode access whatever the CPL (4.6.1), so U = 0 in the error
 *     code and SMAP ignores EFLAGS.AC. Fetches are never implicit.
 *  2. walk->levels counts paging-structure entries, including the PAE PDPTE
 *     register: a PAE walk to a 4K page has levels = 3, pte[0] = the cached
 *     PDPTE and pte_gpa[0] = CR3[31:5] + 8 * gva[31:30] (where it was
 *     loaded from; it is not read again, 4.4.1).
 *  3. walk->pte[i] is the entry as this walk read it, plus the A (and D)
 *     bits this walk set in it (so it matches guest memory after the walk,
 *     unless the same entry is used at two levels).
 *  4. On a fault, levels/pte[] hold the entries read up to and including
 *     the one that stopped the walk (not-present or reserved bit); for an
 *     access-rights fault, every entry of the translation. Present and
 *     reserved bits are checked on the whole path before access rights:
 *     P = 0 anywhere gives a not-present fault even if an upper level
 *     already denies the access (4.7: "no translation").
 *  5. 32-bit PSE pages: M = min(MAXPHYADDR, 40); PDE bits 20:13 are physical
 *     address bits 39:32, bits 21:(M-19) are reserved (4.3), so bit 21 is
 *     always reserved.
 *  6. Protection keys need IA-32e paging (EFER.LMA = 1) and CR4.PKE; the key
 *     is bits 62:59 of the leaf entry (those bits are ignored in non-leaf
 *     entries, and reserved in PAE entries as part of 62:MAXPHYADDR). The
 *     PK error-code bit is set whenever PKRU denies the access, also when
 *     another rule denies it too.
 *  7. Paging off: gpa = gva (all 64 bits), levels = 0, page_level = 1,
 *     user = writable = true, nx = dirty = false, pat_index = 0.
 *  8. Only bits 31:0 of a linear address matter in 32-bit and PAE paging
 *     (the indices and the offset come from them); in 4/5-level paging bits
 *     63:48 (63:57) are not checked for canonical form (that is a #GP, the
 *     caller's job). CR3 bits 63:32 are ignored in 32-bit and PAE paging
 *     (Tables 4-3, 4-7); in 4/5-level paging the table address is CR3 bits
 *     (MAXPHYADDR-1):12 and bits 11:0 (PCID or PWT/PCD) are ignored.
 *  9. PAT is supported (bit 7 of a PTE, bit 12 of a large page is PAT, never
 *     reserved); PSE-36 is supported.
 * 10. A/D: after access rights pass, for each entry read from memory, top
 *     level first, A (and D on the leaf for a write) is set with one
 *     cmpxchg if not already set; a cmpxchg that finds the entry changed
 *     restarts the whole walk. The PAE PDPTE registers have no A bit (their
 *     bit 5 is reserved) and are not written. D is set only in the leaf.
 * 11. A table outside guest RAM (the read callback fails) gives
 *     WALK_MEM_ERROR; entries are checked for P and reserved bits before the
 *     table they point to is read.
 */
#include <stdio.h>
#include <string.h>

#include "tests/host/ref_walk.h"

/* Control-register and EFER bits (SDM vol. 3A 2.5 and 2.2.1). */
#define CR0_PG_BIT	31
#define CR0_WP_BIT	16
#define CR4_PSE_BIT	4
#define CR4_PAE_BIT	5
#define CR4_LA57_BIT	12
#define CR4_SMEP_BIT	20
#define CR4_SMAP_BIT	21
#define CR4_PKE_BIT	22
#define EFER_LMA_BIT	10
#define EFER_NXE_BIT	11

/* Paging-structure entry bits (the same position in every format). */
#define P_BIT		0	/* present */
#define RW_BIT		1	/* read/write */
#define US_BIT		2	/* user/supervisor */
#define PWT_BIT		3
#define PCD_BIT		4
#define A_BIT		5	/* accessed */
#define D_BIT		6	/* dirty (leaf entries) */
#define PS_BIT		7	/* page size; PAT in a 4-KByte PTE */
#define PTE_PAT_BIT	7	/* PAT of a 4-KByte page (Tables 4-6, 4-11, 4-20) */
#define LARGE_PAT_BIT	12	/* PAT of a 4M/2M/1G page (4-4, 4-9, 4-16, 4-18) */
#define XD_BIT		63	/* execute-disable (PAE, 4/5-level) */

/* Internal: an entry changed while A/D were set; walk again. */
#define WALK_RETRY	((enum guest_walk_result)(WALK_MEM_ERROR + 1))

/* ------------------------------------------------------------ bit helpers */

static bool bit(uint64_t value, unsigned n)
{
	return (value >> n) & 1;
}

/* Bits hi:lo of value, moved down to bit 0. */
static uint64_t field(uint64_t value, unsigned hi, unsigned lo)
{
	unsigned width = hi - lo + 1;

	value >>= lo;
	return width >= 64 ? value : value & ((1ull << width) - 1);
}

/* Bits hi:lo of value, in place, every other bit clear. */
static uint64_t keep(uint64_t value, unsigned hi, unsigned lo)
{
	return field(value, hi, lo) << lo;
}

/* Is any of bits hi:lo set? No bits when hi < lo. */
static bool any_set(uint64_t value, unsigned hi, unsigned lo)
{
	return hi >= lo && field(value, hi, lo) != 0;
}

/* ---------------------------------------------------------- mode, names */

enum ref_paging_mode ref_paging_mode(const struct guest_paging *paging)
{
	/* SDM 4.1.1 and Table 4-1. */
	if (!bit(paging->cr0, CR0_PG_BIT))
		return REF_MODE_OFF;
	if (!bit(paging->cr4, CR4_PAE_BIT))
		return REF_MODE_32BIT;
	if (!bit(paging->efer, EFER_LMA_BIT))
		return REF_MODE_PAE;
	if (!bit(paging->cr4, CR4_LA57_BIT))
		return REF_MODE_4LEVEL;
	return REF_MODE_5LEVEL;
}

const char *ref_paging_mode_name(enum ref_paging_mode mode)
{
	switch (mode) {
	case REF_MODE_OFF:	return "paging off";
	case REF_MODE_32BIT:	return "32-bit";
	case REF_MODE_PAE:	return "PAE";
	case REF_MODE_4LEVEL:	return "4-level";
	case REF_MODE_5LEVEL:	return "5-level";
	}
	return "?";
}

const char *ref_why_name(uint32_t why_bit)
{
	switch (why_bit) {
	case REF_WHY_OK:		return "ok";
	case REF_WHY_PAGING_OFF:	return "paging-off";
	case REF_WHY_MEM_ERROR:		return "mem-error";
	case REF_WHY_NOT_PRESENT:	return "not-present";
	case REF_WHY_RSVD_MAXPHYADDR:	return "rsvd-maxphyaddr";
	case REF_WHY_RSVD_XD:		return "rsvd-xd";
	case REF_WHY_RSVD_PS:		return "rsvd-ps";
	case REF_WHY_RSVD_LARGE:	return "rsvd-large-page-low";
	case REF_WHY_RSVD_PSE36:	return "rsvd-pse36";
	case REF_WHY_RSVD_PDPTE:	return "rsvd-pae-pdpte";
	case REF_WHY_USER_SUP_PAGE:	return "user-on-supervisor-page";
	case REF_WHY_USER_WRITE_RO:	return "user-write-read-only";
	case REF_WHY_SUP_WRITE_RO:	return "supervisor-write-read-only-wp";
	case REF_WHY_XD_FETCH:		return "fetch-xd";
	case REF_WHY_SMEP:		return "smep";
	case REF_WHY_SMAP:		return "smap";
	case REF_WHY_PK_AD:		return "pkru-ad";
	case REF_WHY_PK_WD:		return "pkru-wd";
	}
	return "?";
}

/* ---------------------------------------------------------------- walker */

struct walker {
	const struct guest_paging *paging;
	enum ref_paging_mode mode;
	uint64_t gva;
	unsigned maxphyaddr;		/* M in the SDM tables */

	/* The access (SDM 4.6.1). */
	bool write;
	bool fetch;
	bool user;			/* user-mode access: CPL 3, explicit */
	bool implicit;			/* implicit supervisor-mode access */

	const struct guest_mem_ops *mem;
	void *ctx;
	struct guest_walk *walk;
	struct ref_walk_why *why;

	unsigned entry_size;		/* bytes: 4 (32-bit paging) or 8 */
	bool in_memory[GUEST_WALK_MAX_LEVELS];	/* false: PAE PDPTE register */

	/* Access rights over the entries that control the translation. */
	bool all_us;			/* U/S = 1 in every one */
	bool all_rw;			/* R/W = 1 in every one */
	bool any_xd;			/* XD = 1 in one (PAE, 4/5-level only) */
};

static const char *entry_name(const struct walker *w, unsigned level)
{
	switch (level) {
	case 5: return "PML5E";
	case 4: return "PML4E";
	case 3: return "PDPTE";
	case 2: return w->mode == REF_MODE_32BIT ? "32-bit PDE" : "PDE";
	case 1: return w->mode == REF_MODE_32BIT ? "32-bit PTE" : "PTE";
	}
	return "?";
}

static void record(struct walker *w, uint64_t gpa, uint64_t entry,
		   bool in_memory)
{
	unsigned i = w->walk->levels++;

	w->walk->pte_gpa[i] = gpa;
	w->walk->pte[i] = entry;
	w->in_memory[i] = in_memory;
}

static enum guest_walk_result mem_error(struct walker *w, uint64_t gpa,
					unsigned level)
{
	w->why->bits |= REF_WHY_MEM_ERROR;
	w->why->level = level;
	snprintf(w->why->text, sizeof(w->why->text),
		 "%s at gpa %#llx is not in guest RAM", entry_name(w, level),
		 (unsigned long long)gpa);
	return WALK_MEM_ERROR;
}

/* Read the entry at gpa (w->entry_size bytes) and record it in the walk. */
static enum guest_walk_result read_entry(struct walker *w, uint64_t gpa,
					 unsigned level, uint64_t *entry)
{
	uint32_t entry32 = 0;
	uint64_t entry64 = 0;
	int rc;

	if (w->entry_size == 4) {
		rc = w->mem->read(w->ctx, gpa, &entry32, 4);
		entry64 = entry32;
	} else {
		rc = w->mem->read(w->ctx, gpa, &entry64, 8);
	}
	if (rc != 0)
		return mem_error(w, gpa, level);
	record(w, gpa, entry64, true);
	*entry = entry64;
	return WALK_OK;
}

/*
 * The error-code bits that describe the access itself (SDM 4.7).
 */
static uint32_t access_error_bits(const struct walker *w)
{
	const struct guest_paging *p = w->paging;
	uint32_t error_code = 0;

	/* W/R (bit 1): the access causing the fault was a write. */
	if (w->write)
		error_code |= PFERR_WRITE;
	/* U/S (bit 2): it was a user-mode access (an implicit supervisor
	 * access is a supervisor-mode access even at CPL 3). */
	if (w->user)
		error_code |= PFERR_USER;
	/* I/D (bit 4): an instruction fetch, and either CR4.SMEP = 1, or
	 * CR4.PAE = 1 (PAE, 4-level or 5-level paging) and EFER.NXE = 1. */
	if (w->fetch &&
	    (bit(p->cr4, CR4_SMEP_BIT) ||
	     (bit(p->cr4, CR4_PAE_BIT) && bit(p->efer, EFER_NXE_BIT))))
		error_code |= PFERR_FETCH;
	return error_code;
}

/* P = 0: "no translation" (4.7: error code bit 0 clear). */
static enum guest_walk_result not_present(struct walker *w, unsigned level)
{
	w->walk->error_code = access_error_bits(w);
	w->why->bits |= REF_WHY_NOT_PRESENT;
	w->why->level = level;
	snprintf(w->why->text, sizeof(w->why->text),
		 "%s is not present (P = 0)", entry_name(w, level));
	return WALK_FAULT;
}

/* A reserved bit is set: P and RSVD in the error code (4.7). */
static enum guest_walk_result reserved(struct walker *w, unsigned level,
				       uint32_t why_bits, const char *rule)
{
	w->walk->error_code = PFERR_PRESENT | PFERR_RSVD |
			      access_error_bits(w);
	w->why->bits |= why_bits;
	w->why->level = level;
	snprintf(w->why->text, sizeof(w->why->text),
		 "%s sets a reserved bit: %s", entry_name(w, level), rule);
	return WALK_FAULT;
}

/* Gather the access rights an entry contributes (SDM 4.6). */
static void note_rights(struct walker *w, uint64_t entry, bool has_xd)
{
	if (!bit(entry, US_BIT))
		w->all_us = false;
	if (!bit(entry, RW_BIT))
		w->all_rw = false;
	/* 32-bit paging has no XD flag; with NXE = 0 a set XD bit is a
	 * reserved-bit fault before it gets here. */
	if (has_xd && bit(entry, XD_BIT))
		w->any_xd = true;
}

static uint8_t pat_index(uint64_t leaf, unsigned pat_bit)
{
	/* 4.9.2: the PAT entry is selected by PAT:PCD:PWT. */
	return (uint8_t)(bit(leaf, pat_bit) << 2 | bit(leaf, PCD_BIT) << 1 |
			 bit(leaf, PWT_BIT));
}

/*
 * Access rights (SDM 4.6.1 and 4.6.2): the REF_WHY_* bits of every rule
 * the access breaks, 0 if it is allowed.
 */
static uint32_t access_rights(const struct walker *w, uint64_t leaf)
{
	const struct guest_paging *p = w->paging;
	/* 4.6.1: the address is a supervisor-mode address if U/S = 0 in at
	 * least one entry controlling the translation, else user-mode. */
	bool user_address = w->all_us;
	bool wp = bit(p->cr0, CR0_WP_BIT);
	/* Fetches are limited by XD only "for PAE paging or 4-level/5-level
	 * paging with IA32_EFER.NXE = 1". */
	bool xd_applies = w->mode != REF_MODE_32BIT &&
			  bit(p->efer, EFER_NXE_BIT);
	uint32_t denied = 0;

	if (w->user) {
		/* User-mode accesses. */
		if (!user_address)	/* no reads, writes or fetches */
			denied |= REF_WHY_USER_SUP_PAGE;
		if (w->write && !w->all_rw)
			denied |= REF_WHY_USER_WRITE_RO;
		if (w->fetch && xd_applies && w->any_xd)
			denied |= REF_WHY_XD_FETCH;
	} else if (w->fetch) {
		/* Supervisor-mode instruction fetches. */
		if (user_address && bit(p->cr4, CR4_SMEP_BIT))
			denied |= REF_WHY_SMEP;
		if (xd_applies && w->any_xd)
			denied |= REF_WHY_XD_FETCH;
	} else {
		/* Supervisor-mode data reads and writes. With CR4.SMAP = 1
		 * none to a user-mode address, unless the access is explicit
		 * and EFLAGS.AC = 1. */
		if (user_address && bit(p->cr4, CR4_SMAP_BIT) &&
		    (w->implicit || !p->rflags_ac))
			denied |= REF_WHY_SMAP;
		/* Writes: with CR0.WP = 1 only where R/W = 1 in every entry
		 * (supervisor- and user-mode addresses alike); with WP = 0
		 * anywhere. */
		if (w->write && wp && !w->all_rw)
			denied |= REF_WHY_SUP_WRITE_RO;
	}

	/*
	 * 4.6.2 protection keys: only with IA-32e paging and CR4.PKE = 1,
	 * only for data accesses to user-mode addresses (user- and
	 * supervisor-mode accesses alike). The key is bits 62:59 of the
	 * entry that maps the page; PKRU bit 2i is AD, bit 2i+1 is WD.
	 */
	if ((w->mode == REF_MODE_4LEVEL || w->mode == REF_MODE_5LEVEL) &&
	    bit(p->cr4, CR4_PKE_BIT) && user_address && !w->fetch) {
		unsigned key = (unsigned)field(leaf, 62, 59);
		bool access_disable = bit(p->pkru, 2 * key);
		bool write_disable = bit(p->pkru, 2 * key + 1);

		/* AD: no data access at all. */
		if (access_disable)
			denied |= REF_WHY_PK_AD;
		/* WD: no writes from user mode; none from supervisor mode
		 * either when CR0.WP = 1. */
		if (write_disable && w->write && (w->user || wp))
			denied |= REF_WHY_PK_WD;
	}
	return denied;
}

/*
 * SDM 4.8: set A in every entry used (and D in the leaf for a write), each
 * with one cmpxchg; an entry that changed since it was read restarts the
 * walk (WALK_RETRY).
 */
static enum guest_walk_result set_accessed_dirty(struct walker *w)
{
	struct guest_walk *walk = w->walk;

	for (unsigned i = 0; i < walk->levels; i++) {
		bool leaf = i == walk->levels - 1;
		uint64_t entry = walk->pte[i];
		uint64_t want = entry | 1ull << A_BIT;
		uint64_t seen = entry;
		int rc;

		if (!w->in_memory[i])	/* PAE PDPTE register: no A flag */
			continue;
		if (leaf && w->write)
			want |= 1ull << D_BIT;
		if (want == entry)
			continue;
		rc = w->mem->cmpxchg(w->ctx, walk->pte_gpa[i], &seen, want,
				     w->entry_size);
		if (rc < 0)
			return mem_error(w, walk->pte_gpa[i], 0);
		if (rc > 0)
			return WALK_RETRY;
		walk->pte[i] = want;
	}
	return WALK_OK;
}

/*
 * The path is present and has no reserved bit: check the access, set A/D,
 * and fill in the translation.
 */
static enum guest_walk_result translate(struct walker *w, uint64_t gpa,
					unsigned page_level, unsigned pat_bit)
{
	struct guest_walk *walk = w->walk;
	uint64_t leaf = walk->pte[walk->levels - 1];
	uint32_t denied = access_rights(w, leaf);
	enum guest_walk_result result;
	static const char *const size_name[] = { "?", "4K", "2M/4M", "1G" };

	w->why->level = page_level;
	if (denied) {
		walk->error_code = PFERR_PRESENT | access_error_bits(w);
		if (denied & (REF_WHY_PK_AD | REF_WHY_PK_WD))
			walk->error_code |= PFERR_PK;
		w->why->bits |= denied;
		snprintf(w->why->text, sizeof(w->why->text),
			 "access denied by the access rights (4.6): user "
			 "address %d, R/W everywhere %d, XD somewhere %d",
			 w->all_us, w->all_rw, w->any_xd);
		return WALK_FAULT;
	}

	result = set_accessed_dirty(w);
	if (result != WALK_OK)
		return result;

	leaf = walk->pte[walk->levels - 1];
	walk->gpa = gpa;
	walk->page_level = page_level;
	walk->user = w->all_us;
	walk->writable = w->all_rw;
	walk->nx = w->any_xd;
	walk->dirty = bit(leaf, D_BIT);
	walk->pat_index = pat_index(leaf, pat_bit);
	w->why->bits |= REF_WHY_OK;
	snprintf(w->why->text, sizeof(w->why->text), "%s page at gpa %#llx",
		 size_name[page_level], (unsigned long long)gpa);
	return WALK_OK;
}

/* ---------------------------------------------------- 32-bit paging, 4.3 */

static enum guest_walk_result walk_32bit(struct walker *w)
{
	const struct guest_paging *p = w->paging;
	uint64_t gva = w->gva, pde_gpa, pte_gpa, pde, pte, gpa;
	enum guest_walk_result result;

	w->entry_size = 4;

	/* Table 4-3: the page directory is at CR3 bits 31:12 (63:32 are
	 * ignored). The PDE is at PD | gva[31:22] * 4. */
	pde_gpa = keep(p->cr3, 31, 12) | field(gva, 31, 22) << 2;
	result = read_entry(w, pde_gpa, 2, &pde);
	if (result != WALK_OK)
		return result;
	if (!bit(pde, P_BIT))
		return not_present(w, 2);

	if (bit(p->cr4, CR4_PSE_BIT) && bit(pde, PS_BIT)) {
		/*
		 * Table 4-4, a PDE that maps a 4-MByte page. With PSE-36,
		 * PDE bits 20:13 are physical-address bits 39:32; bits
		 * 21:(M-19) are reserved, M = min(MAXPHYADDR, 40) (4.3).
		 */
		unsigned m = w->maxphyaddr < 40 ? w->maxphyaddr : 40;

		if (any_set(pde, 21, m - 19))
			return reserved(w, 2, REF_WHY_RSVD_PSE36,
					"bits 21:(M-19) of a 4-MByte page, "
					"M = min(MAXPHYADDR, 40) (4.3)");
		note_rights(w, pde, false);
		gpa = field(pde, 20, 13) << 32 | keep(pde, 31, 22) |
		      field(gva, 21, 0);
		return translate(w, gpa, 2, LARGE_PAT_BIT);
	}

	/* Table 4-5, a PDE that references a page table (PS is ignored
	 * when CR4.PSE = 0). 32-bit paging has no other reserved bits. */
	note_rights(w, pde, false);
	pte_gpa = keep(pde, 31, 12) | field(gva, 21, 12) << 2;
	result = read_entry(w, pte_gpa, 1, &pte);
	if (result != WALK_OK)
		return result;
	if (!bit(pte, P_BIT))
		return not_present(w, 1);

	/* Table 4-6, a PTE that maps a 4-KByte page. */
	note_rights(w, pte, false);
	gpa = keep(pte, 31, 12) | field(gva, 11, 0);
	return translate(w, gpa, 1, PTE_PAT_BIT);
}

/* ------------------------------------------------------- PAE paging, 4.4 */

static enum guest_walk_result walk_pae(struct walker *w)
{
	const struct guest_paging *p = w->paging;
	unsigned m = w->maxphyaddr;
	bool nxe = bit(p->efer, EFER_NXE_BIT);
	uint64_t gva = w->gva, pdpte, pde_gpa, pte_gpa, pde, pte, gpa;
	unsigned index = (unsigned)field(gva, 31, 30);
	enum guest_walk_result result;
	uint32_t rsvd;

	w->entry_size = 8;

	/*
	 * 4.4.1: gva[31:30] selects one of the four PDPTE registers, loaded
	 * from the PDPT at CR3 bits 31:5 (Table 4-7) by the last MOV to CR3;
	 * memory is not read again. Recorded at the address it came from.
	 */
	pdpte = p->pdptes[index];
	record(w, keep(p->cr3, 31, 5) + 8 * index, pdpte, false);
	if (!bit(pdpte, P_BIT))
		return not_present(w, 3);
	/* Table 4-8: bits 2:1 and 8:5 are reserved, and 63:MAXPHYADDR. */
	rsvd = 0;
	if (any_set(pdpte, 2, 1) || any_set(pdpte, 8, 5))
		rsvd |= REF_WHY_RSVD_PDPTE;
	if (any_set(pdpte, 63, m))
		rsvd |= REF_WHY_RSVD_MAXPHYADDR;
	if (rsvd)
		return reserved(w, 3, rsvd,
				"PDPTE bits 2:1, 8:5 or 63:MAXPHYADDR "
				"(Table 4-8)");
	/* A PDPTE has no R/W, U/S or XD: it controls no access rights. */

	/* 4.4.2: the PDE is at PDPTE[M-1:12] | gva[29:21] * 8. */
	pde_gpa = keep(pdpte, m - 1, 12) | field(gva, 29, 21) << 3;
	result = read_entry(w, pde_gpa, 2, &pde);
	if (result != WALK_OK)
		return result;
	if (!bit(pde, P_BIT))
		return not_present(w, 2);
	/* 4.4.2: bits 62:MAXPHYADDR are reserved; XD is reserved when
	 * EFER.NXE = 0; in a 2-MByte PDE bits 20:13 too. */
	rsvd = 0;
	if (any_set(pde, 62, m))
		rsvd |= REF_WHY_RSVD_MAXPHYADDR;
	if (!nxe && bit(pde, XD_BIT))
		rsvd |= REF_WHY_RSVD_XD;
	if (bit(pde, PS_BIT) && any_set(pde, 20, 13))
		rsvd |= REF_WHY_RSVD_LARGE;
	if (rsvd)
		return reserved(w, 2, rsvd,
				"bits 62:MAXPHYADDR, XD with NXE = 0, or "
				"20:13 of a 2-MByte page (4.4.2)");
	note_rights(w, pde, true);

	if (bit(pde, PS_BIT)) {
		/* Table 4-9, a PDE that maps a 2-MByte page. */
		gpa = keep(pde, m - 1, 21) | field(gva, 20, 0);
		return translate(w, gpa, 2, LARGE_PAT_BIT);
	}

	/* Table 4-10, a PDE that references a page table. */
	pte_gpa = keep(pde, m - 1, 12) | field(gva, 20, 12) << 3;
	result = read_entry(w, pte_gpa, 1, &pte);
	if (result != WALK_OK)
		return result;
	if (!bit(pte, P_BIT))
		return not_present(w, 1);
	rsvd = 0;
	if (any_set(pte, 62, m))
		rsvd |= REF_WHY_RSVD_MAXPHYADDR;
	if (!nxe && bit(pte, XD_BIT))
		rsvd |= REF_WHY_RSVD_XD;
	if (rsvd)
		return reserved(w, 1, rsvd,
				"bits 62:MAXPHYADDR or XD with NXE = 0 "
				"(4.4.2)");
	note_rights(w, pte, true);

	/* Table 4-11, a PTE that maps a 4-KByte page. */
	gpa = keep(pte, m - 1, 12) | field(gva, 11, 0);
	return translate(w, gpa, 1, PTE_PAT_BIT);
}

/* ------------------------------------------- 4-level and 5-level, 4.5 */

/*
 * 4.5.4: in every IA-32e entry with P = 1, bits 51:MAXPHYADDR are reserved,
 * and XD (bit 63) is reserved when EFER.NXE = 0.
 */
static uint32_t ia32e_reserved(const struct walker *w, uint64_t entry)
{
	uint32_t rsvd = 0;

	if (any_set(entry, 51, w->maxphyaddr))
		rsvd |= REF_WHY_RSVD_MAXPHYADDR;
	if (!bit(w->paging->efer, EFER_NXE_BIT) && bit(entry, XD_BIT))
		rsvd |= REF_WHY_RSVD_XD;
	return rsvd;
}

/* The walk from the PML4 table down (4-level, and 5-level below PML5). */
static enum guest_walk_result walk_from_pml4(struct walker *w,
					     uint64_t pml4_gpa)
{
	unsigned m = w->maxphyaddr;
	uint64_t gva = w->gva, entry_gpa, pml4e, pdpte, pde, pte, gpa;
	enum guest_walk_result result;
	uint32_t rsvd;

	/* PML4E at PML4 | gva[47:39] * 8 (Table 4-15). */
	entry_gpa = pml4_gpa | field(gva, 47, 39) << 3;
	result = read_entry(w, entry_gpa, 4, &pml4e);
	if (result != WALK_OK)
		return result;
	if (!bit(pml4e, P_BIT))
		return not_present(w, 4);
	rsvd = ia32e_reserved(w, pml4e);
	if (bit(pml4e, PS_BIT))		/* "the PS flag is reserved" */
		rsvd |= REF_WHY_RSVD_PS;
	if (rsvd)
		return reserved(w, 4, rsvd,
				"51:MAXPHYADDR, XD with NXE = 0, or PS "
				"(Table 4-15)");
	note_rights(w, pml4e, true);

	/* PDPTE at PDPT | gva[38:30] * 8. */
	entry_gpa = keep(pml4e, m - 1, 12) | field(gva, 38, 30) << 3;
	result = read_entry(w, entry_gpa, 3, &pdpte);
	if (result != WALK_OK)
		return result;
	if (!bit(pdpte, P_BIT))
		return not_present(w, 3);
	rsvd = ia32e_reserved(w, pdpte);
	if (bit(pdpte, PS_BIT) && !w->paging->gbpages)
		rsvd |= REF_WHY_RSVD_PS;  /* no 1-GByte pages: PS reserved */
	else if (bit(pdpte, PS_BIT) && any_set(pdpte, 29, 13))
		rsvd |= REF_WHY_RSVD_LARGE;  /* Table 4-16: 29:13 reserved */
	if (rsvd)
		return reserved(w, 3, rsvd,
				"51:MAXPHYADDR, XD with NXE = 0, PS without "
				"1-GByte pages, or 29:13 of a 1-GByte page "
				"(Tables 4-16, 4-17)");
	note_rights(w, pdpte, true);
	if (bit(pdpte, PS_BIT)) {
		/* Table 4-16, a PDPTE that maps a 1-GByte page. */
		gpa = keep(pdpte, m - 1, 30) | field(gva, 29, 0);
		return translate(w, gpa, 3, LARGE_PAT_BIT);
	}

	/* Table 4-17: PDE at PD | gva[29:21] * 8. */
	entry_gpa = keep(pdpte, m - 1, 12) | field(gva, 29, 21) << 3;
	result = read_entry(w, entry_gpa, 2, &pde);
	if (result != WALK_OK)
		return result;
	if (!bit(pde, P_BIT))
		return not_present(w, 2);
	rsvd = ia32e_reserved(w, pde);
	if (bit(pde, PS_BIT) && any_set(pde, 20, 13))
		rsvd |= REF_WHY_RSVD_LARGE;  /* Table 4-18: 20:13 reserved */
	if (rsvd)
		return reserved(w, 2, rsvd,
				"51:MAXPHYADDR, XD with NXE = 0, or 20:13 of "
				"a 2-MByte page (Tables 4-18, 4-19)");
	note_rights(w, pde, true);
	if (bit(pde, PS_BIT)) {
		/* Table 4-18, a PDE that maps a 2-MByte page. */
		gpa = keep(pde, m - 1, 21) | field(gva, 20, 0);
		return translate(w, gpa, 2, LARGE_PAT_BIT);
	}

	/* Table 4-19: PTE at PT | gva[20:12] * 8. */
	entry_gpa = keep(pde, m - 1, 12) | field(gva, 20, 12) << 3;
	result = read_entry(w, entry_gpa, 1, &pte);
	if (result != WALK_OK)
		return result;
	if (!bit(pte, P_BIT))
		return not_present(w, 1);
	rsvd = ia32e_reserved(w, pte);
	if (rsvd)
		return reserved(w, 1, rsvd,
				"51:MAXPHYADDR or XD with NXE = 0 "
				"(Table 4-20)");
	note_rights(w, pte, true);

	/* Table 4-20, a PTE that maps a 4-KByte page. */
	gpa = keep(pte, m - 1, 12) | field(gva, 11, 0);
	return translate(w, gpa, 1, PTE_PAT_BIT);
}

static enum guest_walk_result walk_4level(struct walker *w)
{
	w->entry_size = 8;
	/* Tables 4-12/4-13: the PML4 table is at CR3 bits (M-1):12. */
	return walk_from_pml4(w, keep(w->paging->cr3, w->maxphyaddr - 1, 12));
}

static enum guest_walk_result walk_5level(struct walker *w)
{
	uint64_t pml5e_gpa, pml5e;
	enum guest_walk_result result;
	uint32_t rsvd;

	w->entry_size = 8;
	/* Tables 4-12/4-13: the PML5 table is at CR3 bits (M-1):12; the
	 * PML5E at PML5 | gva[56:48] * 8. */
	pml5e_gpa = keep(w->paging->cr3, w->maxphyaddr - 1, 12) |
		    field(w->gva, 56, 48) << 3;
	result = read_entry(w, pml5e_gpa, 5, &pml5e);
	if (result != WALK_OK)
		return result;
	if (!bit(pml5e, P_BIT))
		return not_present(w, 5);
	rsvd = ia32e_reserved(w, pml5e);
	if (bit(pml5e, PS_BIT))		/* Table 4-14: PS is reserved */
		rsvd |= REF_WHY_RSVD_PS;
	if (rsvd)
		return reserved(w, 5, rsvd,
				"51:MAXPHYADDR, XD with NXE = 0, or PS "
				"(Table 4-14)");
	note_rights(w, pml5e, true);
	return walk_from_pml4(w, keep(pml5e, w->maxphyaddr - 1, 12));
}

/* ------------------------------------------------------------ the entry */

static enum guest_walk_result walk_once(struct walker *w)
{
	struct guest_walk *walk = w->walk;

	memset(walk, 0, sizeof(*walk));
	w->all_us = true;
	w->all_rw = true;
	w->any_xd = false;

	switch (w->mode) {
	case REF_MODE_OFF:
		/* No paging: the linear address is the physical address. */
		walk->gpa = w->gva;
		walk->page_level = 1;
		walk->user = true;
		walk->writable = true;
		w->why->bits |= REF_WHY_PAGING_OFF;
		snprintf(w->why->text, sizeof(w->why->text),
			 "paging is off: identity");
		return WALK_OK;
	case REF_MODE_32BIT:
		return walk_32bit(w);
	case REF_MODE_PAE:
		return walk_pae(w);
	case REF_MODE_4LEVEL:
		return walk_4level(w);
	case REF_MODE_5LEVEL:
		return walk_5level(w);
	}
	return WALK_MEM_ERROR;
}

enum guest_walk_result ref_walk_explained(const struct guest_paging *paging,
					  uint64_t gva, uint32_t access,
					  const struct guest_mem_ops *mem,
					  void *ctx, struct guest_walk *walk,
					  struct ref_walk_why *why)
{
	struct ref_walk_why ignored;
	struct walker w = {
		.paging = paging,
		.mode = ref_paging_mode(paging),
		.gva = gva,
		.maxphyaddr = paging->maxphyaddr,
		.write = access & ACCESS_WRITE,
		.fetch = access & ACCESS_FETCH,
		.implicit = access & ACCESS_IMPLICIT_SUP,
		/* Choice 1: implicit accesses are supervisor-mode. */
		.user = (access & ACCESS_USER) &&
			!(access & ACCESS_IMPLICIT_SUP),
		.mem = mem,
		.ctx = ctx,
		.walk = walk,
		.why = why ? why : &ignored,
	};
	enum guest_walk_result result;
	unsigned retries = 0;

	for (;;) {
		memset(w.why, 0, sizeof(*w.why));
		result = walk_once(&w);
		if (result != WALK_RETRY)
			break;
		retries++;
	}
	w.why->retries = retries;
	return result;
}

enum guest_walk_result ref_walk(const struct guest_paging *paging,
				uint64_t gva, uint32_t access,
				const struct guest_mem_ops *mem, void *ctx,
				struct guest_walk *walk)
{
	return ref_walk_explained(paging, gva, access, mem, ctx, walk, NULL);
}
