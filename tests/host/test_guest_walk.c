/*
 * Differential test of the guest page-table walker (mmu/guest_walk.c)
 * against the reference walker (tests/host/ref_walk.c).
 *
 * Each case draws a random paging state (mode among paging off, 32-bit,
 * PAE, 4-level, 5-level; CR0.WP, CR4.PSE/SMEP/SMAP/PKE/LA57/PCIDE, EFER.NXE,
 * EFLAGS.AC, PKRU, MAXPHYADDR 36/39/46/52, 1-GByte pages on or off) and
 * fills a small guest RAM with random paging-structure entries (random
 * flags, large pages, reserved bits now and then, pointers that leave RAM),
 * so any page may serve as a table at any level. Then random accesses
 * (read/write/fetch; user, supervisor, implicit supervisor) go to both
 * walkers, each starting from the same memory: the reference runs first, its
 * A/D writes are logged and undone, then guest_walk() runs. Result, error
 * code, translation, effective rights, the entries read and the guest memory
 * afterwards must all be the same. Now and then another "CPU" changes an
 * entry under the walk (on its first cmpxchg), to drive the retry path.
 *
 * Replay: every case has its own seed, printed with any mismatch;
 *   HV_SEED=<case seed> HV_WALK_CASES=1 build/host/test_guest_walk
 * (or: build/host/test_guest_walk <seed> [cases]) runs that case first.
 * HV_SEED=random picks a new seed. HV_WALK_TRACE=1 prints every access.
 * With no seed given, the fixed seed below runs (make host-test).
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "mmu/guest_walk.h"
#include "tests/host/ref_walk.h"

#define FIXED_SEED		0x9e3779b97f4a7c15ull
#define DEFAULT_CASES		4096
#define ACCESSES_PER_CASE	256	/* 4096 * 256 = 1,048,576 accesses */
#define POOL_PAGES		16	/* guest RAM: gpa 0 .. 64 KiB */
#define RAM_SIZE		(POOL_PAGES * 4096ull)
#define MAX_DUMPS		10	/* detailed mismatch reports */
#define MIN_COVERAGE		20	/* each rule must decide this often */
#define MAX_CALLS_PER_WALK	256	/* more reads or cmpxchgs: looping */
#define CASE_TIME_LIMIT		30	/* seconds, then report and abort */

#define PTE_P	(1ull << 0)
#define PTE_A	(1ull << 5)
#define PTE_D	(1ull << 6)
#define AD_BITS_64	(PTE_A | PTE_D)
#define AD_BITS_32X2	(PTE_A | PTE_D | (PTE_A | PTE_D) << 32)

/* ------------------------------------------------------- random numbers */

static uint64_t splitmix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static uint64_t rng_state;

static uint64_t rnd(void)
{
	/* xorshift64*: the same stream on every run and machine. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

static uint64_t below(uint64_t n)
{
	return rnd() % n;
}

static bool one_in(unsigned n)
{
	return below(n) == 0;
}

/* A random bit in hi:lo (hi >= lo). */
static uint64_t random_bit(unsigned hi, unsigned lo)
{
	return 1ull << (lo + below(hi - lo + 1));
}

/* ------------------------------------------- guest RAM with an undo log */

enum interference {
	RACE_NONE,
	RACE_SET_A,	/* another CPU sets A in the entry of the first
			   cmpxchg, just before it: a retry, same outcome */
	RACE_REPLACE,	/* another CPU rewrites the entry at target_gpa
			   before the walk's cmpxchg there */
};

struct granule {		/* an 8-byte-aligned piece a walk wrote */
	uint64_t gpa;
	uint64_t before;
	uint64_t after;
};

#define LOG_MAX 64

static struct {
	uint8_t bytes[RAM_SIZE];
	struct granule log[LOG_MAX];
	unsigned nlog;
	char protocol_error[160];	/* misuse of the callbacks */
	enum interference race;
	bool race_fired;
	uint64_t race_gpa, race_value;
	unsigned entry_size;
	unsigned calls;			/* callback calls in this walk */
} ram;

static uint64_t load(uint64_t gpa, unsigned size)
{
	uint64_t value = 0;

	memcpy(&value, ram.bytes + gpa, size);
	return value;
}

static void store_logged(uint64_t gpa, uint64_t value, unsigned size)
{
	uint64_t granule = gpa & ~7ull;
	unsigned i;

	for (i = 0; i < ram.nlog; i++)
		if (ram.log[i].gpa == granule)
			break;
	if (i == ram.nlog) {
		if (ram.nlog == LOG_MAX) {
			snprintf(ram.protocol_error,
				 sizeof(ram.protocol_error),
				 "more than %d entries written in one walk",
				 LOG_MAX);
			return;
		}
		ram.log[ram.nlog++] = (struct granule){
			.gpa = granule, .before = load(granule, 8) };
	}
	memcpy(ram.bytes + gpa, &value, size);
}

static void undo_log(void)
{
	for (unsigned i = ram.nlog; i-- > 0;)
		memcpy(ram.bytes + ram.log[i].gpa, &ram.log[i].before, 8);
}

static void protocol_error(const char *what, uint64_t gpa, unsigned size)
{
	if (!ram.protocol_error[0])
		snprintf(ram.protocol_error, sizeof(ram.protocol_error),
			 "%s: gpa %#llx size %u", what,
			 (unsigned long long)gpa, size);
}

static bool in_ram(uint64_t gpa, unsigned size)
{
	return gpa < RAM_SIZE && size <= RAM_SIZE - gpa;
}

/* A walker that keeps calling back (retrying forever) is stopped. */
static bool too_many_calls(uint64_t gpa, unsigned size)
{
	if (++ram.calls <= MAX_CALLS_PER_WALK)
		return false;
	protocol_error("more than 256 reads and cmpxchgs in one walk "
		       "(looping?); this one failed", gpa, size);
	return true;
}

static int ram_read(void *ctx, uint64_t gpa, void *buf, unsigned size)
{
	(void)ctx;
	if (too_many_calls(gpa, size))
		return -1;
	if (size != 4 && size != 8) {
		protocol_error("read of an odd size", gpa, size);
		return -1;
	}
	if (gpa % size)
		protocol_error("misaligned read", gpa, size);
	if (!in_ram(gpa, size))
		return -1;
	memcpy(buf, ram.bytes + gpa, size);
	return 0;
}

static int ram_cmpxchg(void *ctx, uint64_t gpa, uint64_t *old, uint64_t new,
		       unsigned size)
{
	uint64_t now, expected = *old;

	(void)ctx;
	if (too_many_calls(gpa, size))
		return -1;
	if ((size != 4 && size != 8) || gpa % size || !in_ram(gpa, size)) {
		protocol_error("cmpxchg of an odd size, misaligned or "
			       "outside RAM", gpa, size);
		return -1;
	}
	if (size == 4 && new >> 32)
		protocol_error("4-byte cmpxchg of a value above 32 bits", gpa,
			       size);
	if (size != ram.entry_size)
		protocol_error("cmpxchg size is not the entry size", gpa,
			       size);
	if (size == 4)
		expected &= 0xffffffffu;

	if (ram.race == RACE_SET_A && !ram.race_fired) {
		ram.race_fired = true;
		store_logged(gpa, load(gpa, size) | PTE_A, size);
	} else if (ram.race == RACE_REPLACE && !ram.race_fired &&
		   gpa == ram.race_gpa) {
		ram.race_fired = true;
		store_logged(gpa, ram.race_value, size);
	}

	now = load(gpa, size);
	if (now != expected) {
		*old = now;
		return 1;
	}
	store_logged(gpa, new, size);
	return 0;
}

static const struct guest_mem_ops mem_ops = {
	.read = ram_read,
	.cmpxchg = ram_cmpxchg,
};

/* ------------------------------------------------------- random guests */

#define CR0_PE	(1ull << 0)
#define CR0_WP	(1ull << 16)
#define CR0_PG	(1ull << 31)
#define CR4_PSE	(1ull << 4)
#define CR4_PAE	(1ull << 5)
#define CR4_LA57 (1ull << 12)
#define CR4_PCIDE (1ull << 17)
#define CR4_SMEP (1ull << 20)
#define CR4_SMAP (1ull << 21)
#define CR4_PKE	(1ull << 22)
#define EFER_SCE (1ull << 0)
#define EFER_LME (1ull << 8)
#define EFER_LMA (1ull << 10)
#define EFER_NXE (1ull << 11)

struct test_case {
	uint64_t seed;
	unsigned index;
	enum ref_paging_mode mode;
	struct guest_paging paging;
	uint64_t recent_gva[8];
};

/* A page-table page of the pool, as a physical address. */
static uint64_t pool_page(void)
{
	return below(POOL_PAGES) << 12;
}

/* A 64-bit entry for PAE or 4/5-level paging; any level may use it. */
static uint64_t random_entry64(const struct test_case *c)
{
	unsigned m = c->paging.maxphyaddr;
	bool pae = c->mode == REF_MODE_PAE;
	uint64_t e = 0;

	if (!one_in(16))
		e |= PTE_P;
	if (!one_in(8))
		e |= 1ull << 1;				/* R/W */
	if (!one_in(8))
		e |= 1ull << 2;				/* U/S */
	e |= rnd() & 0xf78;			/* PWT PCD A D G 11:9 */
	if (one_in(7)) {
		/* PS: a large-page address, aligned to 1G, to 2M, or not
		 * quite aligned; PAT in bit 12. */
		e |= 1ull << 7;
		e |= rnd() & ((1ull << m) - 1) & ~((1ull << 30) - 1);
		if (!one_in(2))
			e |= rnd() & 0x3fe00000;	/* 29:21 */
		if (one_in(10))
			e |= random_bit(20, 13);
		e |= rnd() & 0x1000;
	} else if (!one_in(32)) {
		e |= pool_page();
	} else {
		e |= rnd() & ((1ull << m) - 1) & ~0xfffull;
	}
	if (one_in(16) && (pae || m < 52))	/* reserved: >= MAXPHYADDR */
		e |= random_bit(pae ? 62 : 51, m);
	if (!pae) {
		if (one_in(4))
			e |= rnd() & (0x7full << 52);	/* ignored 58:52 */
		if (one_in(2))
			e |= rnd() & (0xfull << 59);	/* protection key */
	}
	if (one_in(8))
		e |= 1ull << 63;			/* XD */
	return e;
}

/* A 32-bit entry; any level may use it. */
static uint64_t random_entry32(void)
{
	uint64_t e = 0;

	if (!one_in(16))
		e |= PTE_P;
	if (!one_in(8))
		e |= 1ull << 1;
	if (!one_in(8))
		e |= 1ull << 2;
	e |= rnd() & 0xf78;
	if (one_in(4)) {
		/* PS: with CR4.PSE a 4-MByte page: 31:22, PSE-36 bits 20:13
		 * (too high for MAXPHYADDR sometimes), rarely bit 21. */
		e |= 1ull << 7;
		if (!one_in(2))
			e |= rnd() & 0xffc00000;
		if (!one_in(2))
			e |= rnd() & 0x1fe000;
		if (one_in(8))
			e |= 1ull << 21;
		e |= rnd() & 0x1000;
	} else if (!one_in(16)) {
		e |= pool_page();
	} else {
		e |= rnd() & 0xfffff000;
	}
	return e;
}

/* A PAE PDPTE register value (Table 4-8). */
static uint64_t random_pdpte(const struct test_case *c)
{
	unsigned m = c->paging.maxphyaddr;
	uint64_t e = 0;

	if (!one_in(8))
		e |= PTE_P;
	e |= rnd() & 0xe18;			/* PWT PCD, ignored 11:9 */
	e |= one_in(16) ? rnd() & ((1ull << m) - 1) & ~0xfffull : pool_page();
	if (one_in(8)) {
		static const unsigned rsvd[] = { 1, 2, 5, 6, 7, 8 };

		if (one_in(2))
			e |= 1ull << rsvd[below(6)];
		else
			e |= random_bit(63, m);
	}
	return e;
}

static void fill_pool(struct test_case *c)
{
	if (c->mode == REF_MODE_32BIT) {
		for (uint64_t gpa = 0; gpa < RAM_SIZE; gpa += 4) {
			uint32_t e = (uint32_t)random_entry32();

			memcpy(ram.bytes + gpa, &e, 4);
		}
	} else {
		for (uint64_t gpa = 0; gpa < RAM_SIZE; gpa += 8) {
			uint64_t e = random_entry64(c);

			memcpy(ram.bytes + gpa, &e, 8);
		}
	}
}

static void random_case(struct test_case *c)
{
	static const unsigned maxphyaddrs[] = { 36, 39, 46, 52 };
	struct guest_paging *p = &c->paging;
	unsigned pick = (unsigned)below(100);
	bool long_mode;

	c->mode = pick < 4 ? REF_MODE_OFF : pick < 24 ? REF_MODE_32BIT :
		  pick < 46 ? REF_MODE_PAE : pick < 76 ? REF_MODE_4LEVEL :
		  REF_MODE_5LEVEL;
	long_mode = c->mode == REF_MODE_4LEVEL || c->mode == REF_MODE_5LEVEL;
	memset(p, 0, sizeof(*p));

	/* CR0: PE, PG by mode, WP, and bits that do not matter (MP ET NE
	 * AM). */
	p->cr0 = CR0_PE | (rnd() & 0x40032);
	if (c->mode != REF_MODE_OFF)
		p->cr0 |= CR0_PG;
	if (!one_in(4))
		p->cr0 |= CR0_WP;
	/* CR4: PGE OSFXSR OSXMMEXCPT FSGSBASE OSXSAVE do not matter. */
	p->cr4 = rnd() & 0x50680;
	p->cr4 |= rnd() & (CR4_PSE | CR4_SMEP | CR4_SMAP | CR4_PKE);
	if (c->mode == REF_MODE_PAE || long_mode)
		p->cr4 |= CR4_PAE;
	if (c->mode == REF_MODE_5LEVEL || (!long_mode && one_in(4)))
		p->cr4 |= CR4_LA57;
	if (long_mode && one_in(2))
		p->cr4 |= CR4_PCIDE;
	p->efer = rnd() & EFER_SCE;
	if (!one_in(4))
		p->efer |= EFER_NXE;
	if (long_mode)
		p->efer |= EFER_LME | EFER_LMA;
	p->rflags_ac = one_in(2);
	switch (below(4)) {
	case 0:  p->pkru = 0; break;
	case 1:  p->pkru = 0x55555554; break;	/* AD for keys 1..15 */
	default: p->pkru = (uint32_t)rnd(); break;
	}
	p->maxphyaddr = maxphyaddrs[below(4)];
	p->gbpages = one_in(2);

	fill_pool(c);

	/* CR3: a pool page; the low bits are flags, PCID or (PAE) the
	 * 32-byte-aligned PDPT within the page; bits 63:32 are ignored in
	 * 32-bit and PAE paging. */
	p->cr3 = pool_page() | (rnd() & 0xfff);
	if (!long_mode && one_in(4))
		p->cr3 |= rnd() << 32;
	for (unsigned i = 0; i < 4; i++)
		p->pdptes[i] = random_pdpte(c);
	for (unsigned i = 0; i < 8; i++)
		c->recent_gva[i] = rnd();
	ram.entry_size = c->mode == REF_MODE_32BIT ? 4 : 8;
}

static uint64_t random_gva(struct test_case *c)
{
	uint64_t gva;

	/* Often an address used before (A/D already set, same entries),
	 * sometimes in the same page. */
	if (one_in(4)) {
		gva = c->recent_gva[below(8)];
		if (one_in(2))
			gva ^= rnd() & 0xfff;
	} else {
		gva = rnd();
	}
	switch (c->mode) {
	case REF_MODE_4LEVEL:			/* canonical, 48 bits */
		gva = (uint64_t)((int64_t)(gva << 16) >> 16);
		break;
	case REF_MODE_5LEVEL:			/* canonical, 57 bits */
		gva = (uint64_t)((int64_t)(gva << 7) >> 7);
		break;
	default:				/* 32-bit linear addresses */
		gva &= 0xffffffffu;
		break;
	}
	c->recent_gva[below(8)] = gva;
	return gva;
}

static uint32_t random_access(void)
{
	unsigned who = (unsigned)below(20);
	unsigned what = (unsigned)below(5);
	uint32_t access;

	access = what < 2 ? 0 : what < 4 ? ACCESS_WRITE : ACCESS_FETCH;
	if (who < 8)
		return access | ACCESS_USER;
	if (who < 16)
		return access;
	/* Implicit supervisor accesses are data accesses; at CPL 3 the
	 * caller may pass ACCESS_USER as well. */
	access &= ACCESS_WRITE;
	return access | ACCESS_IMPLICIT_SUP | (who == 19 ? ACCESS_USER : 0);
}

/* ------------------------------------------------------ running a walk */

struct outcome {
	enum guest_walk_result result;
	struct guest_walk walk;
	struct ref_walk_why why;		/* the reference only */
	struct granule log[LOG_MAX];		/* what it wrote */
	unsigned nlog;
	char protocol_error[160];
	bool race_fired;
};

static void run_walker(const struct test_case *c, uint64_t gva,
		       uint32_t access, bool reference, struct outcome *o)
{
	ram.nlog = 0;
	ram.calls = 0;
	ram.protocol_error[0] = '\0';
	ram.race_fired = false;
	memset(o, 0, sizeof(*o));
	if (reference) {
		o->result = ref_walk_explained(&c->paging, gva, access,
					       &mem_ops, NULL, &o->walk,
					       &o->why);
	} else {
		/* Garbage in every field it does not set. */
		memset(&o->walk, 0x5a, sizeof(o->walk));
		o->result = guest_walk(&c->paging, gva, access, &mem_ops,
				       NULL, &o->walk);
	}
	for (unsigned i = 0; i < ram.nlog; i++)
		ram.log[i].after = load(ram.log[i].gpa, 8);
	memcpy(o->log, ram.log, sizeof(ram.log));
	o->nlog = ram.nlog;
	memcpy(o->protocol_error, ram.protocol_error,
	       sizeof(o->protocol_error));
	o->race_fired = ram.race_fired;
}

/* ------------------------------------------------------------ comparing */

enum field {
	F_RESULT, F_GPA, F_PAGE_LEVEL, F_USER, F_WRITABLE, F_NX, F_DIRTY,
	F_PAT, F_ERROR_CODE, F_LEVELS, F_PTE_GPA, F_PTE, F_PTE_AD_ONLY,
	F_MEMORY, F_PROTOCOL, F_COUNT
};

static const char *const field_name[F_COUNT] = {
	[F_RESULT] = "result", [F_GPA] = "gpa",
	[F_PAGE_LEVEL] = "page_level", [F_USER] = "user",
	[F_WRITABLE] = "writable", [F_NX] = "nx", [F_DIRTY] = "dirty",
	[F_PAT] = "pat_index", [F_ERROR_CODE] = "error_code",
	[F_LEVELS] = "levels", [F_PTE_GPA] = "pte_gpa",
	[F_PTE] = "pte (beyond A/D)",
	[F_PTE_AD_ONLY] = "pte (A/D bits only)",
	[F_MEMORY] = "guest memory afterwards",
	[F_PROTOCOL] = "memory callbacks misused",
};

static uint64_t ad_mask(const struct test_case *c)
{
	return c->mode == REF_MODE_32BIT ? AD_BITS_32X2 : AD_BITS_64;
}

/* The granule's value after the reference walk (before either walk if
 * the reference did not write it). */
static uint64_t ref_after(const struct outcome *ref, const struct outcome *real,
			  uint64_t granule)
{
	for (unsigned i = 0; i < ref->nlog; i++)
		if (ref->log[i].gpa == granule)
			return ref->log[i].after;
	for (unsigned i = 0; i < real->nlog; i++)
		if (real->log[i].gpa == granule)
			return real->log[i].before;
	return load(granule, 8);
}

static bool memory_differs(const struct outcome *ref,
			   const struct outcome *real, uint64_t ignore)
{
	const struct outcome *both[2] = { ref, real };

	for (unsigned w = 0; w < 2; w++)
		for (unsigned i = 0; i < both[w]->nlog; i++) {
			uint64_t g = both[w]->log[i].gpa;

			if ((ref_after(ref, real, g) ^ load(g, 8)) & ~ignore)
				return true;
		}
	return false;
}

#define BIT(f) (1u << (f))

static uint32_t compare(const struct test_case *c, const struct outcome *ref,
			const struct outcome *real, enum interference race)
{
	const struct guest_walk *a = &ref->walk, *b = &real->walk;
	/* After a rewrite by the racing CPU, which A/D bits were set before
	 * the retry depends on the order a walker sets them: ignore A/D. */
	uint64_t ignore = race == RACE_REPLACE ? ad_mask(c) : 0;
	uint32_t diff = 0;

	if (real->protocol_error[0])
		diff |= BIT(F_PROTOCOL);
	if (memory_differs(ref, real, ignore))
		diff |= BIT(F_MEMORY);
	if (a->levels > GUEST_WALK_MAX_LEVELS)
		fail_msg("the reference walk has %u levels", a->levels);
	if (ref->result != real->result)
		return diff | BIT(F_RESULT);
	if (ref->result == WALK_MEM_ERROR)
		return diff;

	if (ref->result == WALK_OK) {
		if (a->gpa != b->gpa)
			diff |= BIT(F_GPA);
		if (c->mode != REF_MODE_OFF) {	/* the rest means nothing */
			if (a->page_level != b->page_level)
				diff |= BIT(F_PAGE_LEVEL);
			if (a->user != b->user)
				diff |= BIT(F_USER);
			if (a->writable != b->writable)
				diff |= BIT(F_WRITABLE);
			if (a->nx != b->nx)
				diff |= BIT(F_NX);
			if (a->dirty != b->dirty)
				diff |= BIT(F_DIRTY);
			if (a->pat_index != b->pat_index)
				diff |= BIT(F_PAT);
		}
	} else if (a->error_code != b->error_code) {
		diff |= BIT(F_ERROR_CODE);
	}

	if (a->levels != b->levels)
		return diff | BIT(F_LEVELS);
	for (unsigned i = 0; i < a->levels; i++) {
		uint64_t x = a->pte[i] ^ b->pte[i];

		if (a->pte_gpa[i] != b->pte_gpa[i])
			diff |= BIT(F_PTE_GPA);
		if (x & ~ad_mask(c) & ~ignore)
			diff |= BIT(F_PTE);
		else if (x & ~ignore)
			diff |= BIT(F_PTE_AD_ONLY);
	}
	return diff;
}

/* --------------------------------------------------------------- report */

struct named_bit {
	unsigned bit;
	const char *name;
};

static void print_named(const char *label, uint64_t value,
			const struct named_bit *names, unsigned count)
{
	printf("  %s %#llx (", label, (unsigned long long)value);
	for (unsigned i = 0; i < count; i++)
		if (value >> names[i].bit & 1)
			printf(" %s", names[i].name);
	printf(" )");
}

static unsigned top_level(enum ref_paging_mode mode)
{
	switch (mode) {
	case REF_MODE_32BIT:	return 2;
	case REF_MODE_PAE:	return 3;
	case REF_MODE_4LEVEL:	return 4;
	case REF_MODE_5LEVEL:	return 5;
	default:		return 0;
	}
}

static void print_entry(const struct test_case *c, unsigned level,
			uint64_t gpa, uint64_t e)
{
	static const char *const names[] = { "?", "PTE", "PDE", "PDPTE",
					     "PML4E", "PML5E" };
	unsigned m = c->paging.maxphyaddr;
	bool e32 = c->mode == REF_MODE_32BIT;
	bool pae_pdpte = c->mode == REF_MODE_PAE && level == 3;

	printf("      %-6s %s@%#llx = %#0*llx:", level <= 5 ? names[level] : "?",
	       pae_pdpte ? "(register, from) " : "",
	       (unsigned long long)gpa, e32 ? 10 : 18, (unsigned long long)e);
	if (!(e & PTE_P)) {
		printf(" not present\n");
		return;
	}
	printf(" %s %s%s%s%s%s%s%s", e >> 1 & 1 ? "RW" : "R-",
	       e >> 2 & 1 ? "U" : "S", e >> 3 & 1 ? " PWT" : "",
	       e >> 4 & 1 ? " PCD" : "", e >> 5 & 1 ? " A" : "",
	       e >> 6 & 1 ? " D" : "",
	       e >> 7 & 1 ? (level == 1 ? " PAT(7)" : " PS") : "",
	       e >> 8 & 1 ? " G" : "");
	if (e32) {
		printf(" addr31:12=%#llx", (unsigned long long)(e & 0xfffff000));
		if (level == 2 && e >> 7 & 1)
			printf(" [as 4M page: 20:13=%#llx bit21=%llu PAT12=%llu"
			       " (CR4.PSE=%llu)]",
			       (unsigned long long)(e >> 13 & 0xff),
			       (unsigned long long)(e >> 21 & 1),
			       (unsigned long long)(e >> 12 & 1),
			       (unsigned long long)(c->paging.cr4 >> 4 & 1));
		printf("\n");
		return;
	}
	printf(" addr=%#llx", (unsigned long long)
	       (e & ((1ull << (m < 52 ? m : 52)) - 1) & ~0xfffull));
	if (e >> 7 & 1 && level > 1)
		printf(" [large: 29:13=%#llx PAT12=%llu]",
		       (unsigned long long)(e >> 13 & 0x1ffff),
		       (unsigned long long)(e >> 12 & 1));
	if (c->mode == REF_MODE_PAE) {
		if (e >> m & ((1ull << (63 - m)) - 1))
			printf(" RSVD-62:%u=%#llx", m, (unsigned long long)
			       (e >> m & ((1ull << (63 - m)) - 1)));
	} else {
		if (m < 52 && (e >> m & ((1ull << (52 - m)) - 1)))
			printf(" RSVD-51:%u=%#llx", m, (unsigned long long)
			       (e >> m & ((1ull << (52 - m)) - 1)));
		if (e >> 52 & 0x7f)
			printf(" ign58:52=%#llx",
			       (unsigned long long)(e >> 52 & 0x7f));
		if (e >> 59 & 0xf)
			printf(" key62:59=%llu",
			       (unsigned long long)(e >> 59 & 0xf));
	}
	if (pae_pdpte && (e & 0x1e6))
		printf(" RSVD-2:1/8:5=%#llx", (unsigned long long)(e & 0x1e6));
	printf("%s\n", e >> 63 ? " XD(63)" : "");
}

static void print_entries(const struct test_case *c, const struct guest_walk *w)
{
	unsigned levels = w->levels <= GUEST_WALK_MAX_LEVELS ? w->levels : 0;

	if (w->levels > GUEST_WALK_MAX_LEVELS)
		printf("      (levels = %u: impossible)\n", w->levels);
	for (unsigned i = 0; i < levels; i++)
		print_entry(c, top_level(c->mode) - i, w->pte_gpa[i],
			    w->pte[i]);
}

static void print_result(const struct outcome *o, const struct test_case *c)
{
	const struct guest_walk *w = &o->walk;
	uint32_t ec = w->error_code;

	switch (o->result) {
	case WALK_OK:
		printf("    -> OK gpa=%#llx", (unsigned long long)w->gpa);
		if (c->mode != REF_MODE_OFF)
			printf(" page_level=%u user=%d writable=%d nx=%d "
			       "dirty=%d pat_index=%u", w->page_level, w->user,
			       w->writable, w->nx, w->dirty, w->pat_index);
		printf("\n");
		break;
	case WALK_FAULT:
		printf("    -> FAULT error_code=%#x (%s%s%s%s%s%s )\n", ec,
		       ec & PFERR_PRESENT ? " P" : " not-present",
		       ec & PFERR_WRITE ? " W" : "", ec & PFERR_USER ? " U" : "",
		       ec & PFERR_RSVD ? " RSVD" : "",
		       ec & PFERR_FETCH ? " I/D" : "",
		       ec & PFERR_PK ? " PK" : "");
		break;
	case WALK_MEM_ERROR:
		printf("    -> MEM_ERROR (a table outside guest RAM)\n");
		break;
	default:
		printf("    -> result %d: not a guest_walk_result\n",
		       (int)o->result);
	}
}

static void print_access(uint64_t gva, uint32_t access)
{
	const char *who = access & ACCESS_IMPLICIT_SUP ?
		(access & ACCESS_USER ? "implicit supervisor (at CPL 3: "
			"ACCESS_USER also set)" : "implicit supervisor") :
		access & ACCESS_USER ? "user" : "supervisor (explicit)";
	const char *what = access & ACCESS_FETCH ? "fetch" :
			   access & ACCESS_WRITE ? "write" : "read";

	printf("  access: %s %s of gva %#llx (access flags %#x)\n", who, what,
	       (unsigned long long)gva, access);
}

static void report(const struct test_case *c, unsigned access_index,
		   uint64_t gva, uint32_t access, enum interference race,
		   uint64_t race_gpa, uint64_t race_value,
		   const struct outcome *ref, const struct outcome *real,
		   uint32_t diff)
{
	static const struct named_bit cr0_names[] = {
		{ 0, "PE" }, { 16, "WP" }, { 31, "PG" } };
	static const struct named_bit cr4_names[] = {
		{ 4, "PSE" }, { 5, "PAE" }, { 12, "LA57" }, { 17, "PCIDE" },
		{ 20, "SMEP" }, { 21, "SMAP" }, { 22, "PKE" } };
	static const struct named_bit efer_names[] = {
		{ 8, "LME" }, { 10, "LMA" }, { 11, "NXE" } };
	const struct guest_paging *p = &c->paging;

	printf("\n=== guest_walk differs from the reference: case seed %#llx,"
	       " access %u of the case (case %u of this run)\n",
	       (unsigned long long)c->seed, access_index, c->index);
	printf("  replay: HV_SEED=%#llx HV_WALK_CASES=1 "
	       "build/host/test_guest_walk\n", (unsigned long long)c->seed);
	printf("  mode %s, MAXPHYADDR %u, 1G pages %s\n",
	       ref_paging_mode_name(c->mode), p->maxphyaddr,
	       p->gbpages ? "yes" : "no");
	print_named("CR0", p->cr0, cr0_names, 3);
	print_named("CR4", p->cr4, cr4_names, 7);
	print_named("EFER", p->efer, efer_names, 3);
	printf("\n  CR3 %#llx  EFLAGS.AC %d  PKRU %#x\n",
	       (unsigned long long)p->cr3, p->rflags_ac, p->pkru);
	if (c->mode == REF_MODE_PAE)
		printf("  PDPTE registers %#llx %#llx %#llx %#llx\n",
		       (unsigned long long)p->pdptes[0],
		       (unsigned long long)p->pdptes[1],
		       (unsigned long long)p->pdptes[2],
		       (unsigned long long)p->pdptes[3]);
	if ((c->mode == REF_MODE_4LEVEL || c->mode == REF_MODE_5LEVEL) &&
	    p->cr4 & CR4_PKE && ref->walk.levels) {
		unsigned key = (unsigned)(ref->walk.pte[ref->walk.levels - 1]
					  >> 59 & 0xf);

		printf("  the reference's leaf has key %u: PKRU.AD%u = %u, "
		       "PKRU.WD%u = %u\n", key, key, p->pkru >> (2 * key) & 1,
		       key, p->pkru >> (2 * key + 1) & 1);
	}
	print_access(gva, access);
	if (race == RACE_SET_A)
		printf("  racing CPU: sets A in the entry of the first cmpxchg"
		       " (ref: %s, guest_walk: %s)\n",
		       ref->race_fired ? "fired" : "not reached",
		       real->race_fired ? "fired" : "not reached");
	if (race == RACE_REPLACE)
		printf("  racing CPU: writes %#llx at gpa %#llx before the "
		       "walk's cmpxchg there (ref: %s, guest_walk: %s); A/D "
		       "differences are not compared\n",
		       (unsigned long long)race_value,
		       (unsigned long long)race_gpa,
		       ref->race_fired ? "fired" : "not reached",
		       real->race_fired ? "fired" : "not reached");

	printf("  reference (SDM), %u entries:\n", ref->walk.levels);
	print_entries(c, &ref->walk);
	print_result(ref, c);
	printf("       why: %s; rules:", ref->why.text);
	for (unsigned b = 0; b < REF_WHY_COUNT; b++)
		if (ref->why.bits >> b & 1)
			printf(" %s", ref_why_name(1u << b));
	printf("; level %u; retries %u\n", ref->why.level, ref->why.retries);

	printf("  guest_walk, %u entries:\n", real->walk.levels);
	if (real->walk.levels != ref->walk.levels ||
	    memcmp(real->walk.pte, ref->walk.pte, sizeof(ref->walk.pte)) ||
	    memcmp(real->walk.pte_gpa, ref->walk.pte_gpa,
		   sizeof(ref->walk.pte_gpa)))
		print_entries(c, &real->walk);
	else
		printf("      (the same entries)\n");
	print_result(real, c);

	printf("  differs in:");
	for (unsigned f = 0; f < F_COUNT; f++)
		if (diff >> f & 1)
			printf(" [%s]", field_name[f]);
	printf("\n");
	if (real->protocol_error[0])
		printf("  callbacks: %s\n", real->protocol_error);
	if (diff & BIT(F_MEMORY)) {
		const struct outcome *both[2] = { ref, real };

		for (unsigned w = 0; w < 2; w++)
			for (unsigned i = 0; i < both[w]->nlog; i++) {
				uint64_t g = both[w]->log[i].gpa;

				printf("  memory at gpa %#llx: before %#llx, "
				       "reference leaves %#llx, guest_walk "
				       "leaves %#llx\n", (unsigned long long)g,
				       (unsigned long long)both[w]->log[i].before,
				       (unsigned long long)ref_after(ref, real, g),
				       (unsigned long long)load(g, 8));
			}
	}
	fflush(stdout);
}

/* -------------------------------------------------------- the test loop */

static struct {
	uint64_t seed;
	bool seed_given;
	unsigned cases;
	bool trace;
} opt;

static struct {
	unsigned long accesses, mismatches;
	unsigned long field[F_COUNT];
	uint64_t field_seed[F_COUNT];
	unsigned field_access[F_COUNT];
	unsigned dumps;
	unsigned long results[5][3];		/* mode x result */
	unsigned long pages[5][4];		/* mode x page_level */
	unsigned long why[REF_WHY_COUNT];
	unsigned long races_fired[3], ref_retries;
	unsigned long pk_faults, id_faults;
} stats;

/*
 * Where the run is, so that a crash (a sanitizer report) or a hang in the
 * walker still says which case to replay.
 */
static struct {
	uint64_t seed;
	unsigned index, access;
	bool in_real_walker;
} current;

static void report_position(const char *what)
{
	char line[320];
	int n = snprintf(line, sizeof(line),
			 "\ntest_guest_walk: %s in case seed %#llx (case %u), "
			 "access %u, inside %s\n  replay: HV_SEED=%#llx "
			 "HV_WALK_CASES=1 HV_WALK_TRACE=1 "
			 "build/host/test_guest_walk\n", what,
			 (unsigned long long)current.seed, current.index,
			 current.access,
			 current.in_real_walker ? "guest_walk()" : "the test",
			 (unsigned long long)current.seed);

	if (n > 0 && write(STDOUT_FILENO, line, (size_t)n) < 0)
		return;
}

static volatile sig_atomic_t hung;

static void on_abort(int sig)
{
	report_position(hung ? "no progress for 30 s" :
			"died (see the report above)");
	signal(sig, SIG_DFL);
	raise(sig);
}

static void on_alarm(int sig)
{
	(void)sig;
	hung = 1;
	abort();
}

/* Sanitizer reports end in abort(), so on_abort() can name the case. */
const char *__asan_default_options(void);
const char *__ubsan_default_options(void);

const char *__asan_default_options(void)
{
	return "abort_on_error=1";
}

const char *__ubsan_default_options(void)
{
	return "abort_on_error=1:print_stacktrace=1";
}

/* Did this walk change the granule that holds gpa? */
static bool written_by(const struct outcome *o, uint64_t gpa)
{
	for (unsigned i = 0; i < o->nlog; i++)
		if (o->log[i].gpa == (gpa & ~7ull) &&
		    o->log[i].before != o->log[i].after)
			return true;
	return false;
}

static void one_access(struct test_case *c, unsigned access_index)
{
	uint64_t gva = random_gva(c);
	uint32_t access = random_access();
	enum interference race = RACE_NONE;
	uint64_t race_gpa = 0, race_value = 0;
	static struct outcome ref, real;
	unsigned pick = (unsigned)below(64);
	uint32_t diff;

	if (pick < 3)
		race = RACE_SET_A;
	if (pick == 3) {
		/* Find an entry the walk will cmpxchg: a dry run. */
		unsigned candidates[GUEST_WALK_MAX_LEVELS], n = 0;

		ram.race = RACE_NONE;
		run_walker(c, gva, access, true, &ref);
		undo_log();
		for (unsigned i = 0; i < ref.walk.levels; i++)
			if (written_by(&ref, ref.walk.pte_gpa[i]))
				candidates[n++] = i;
		if (n) {
			race = RACE_REPLACE;
			race_gpa = ref.walk.pte_gpa[candidates[below(n)]];
			race_value = c->mode == REF_MODE_32BIT ?
				     random_entry32() : random_entry64(c);
		}
	}

	ram.race = race;
	ram.race_gpa = race_gpa;
	ram.race_value = race_value;
	current.access = access_index;
	run_walker(c, gva, access, true, &ref);
	undo_log();
	current.in_real_walker = true;
	run_walker(c, gva, access, false, &real);
	current.in_real_walker = false;
	ram.race = RACE_NONE;
	diff = compare(c, &ref, &real, race);

	stats.accesses++;
	stats.results[c->mode][ref.result]++;
	if (ref.result == WALK_OK && ref.walk.page_level <= 3)
		stats.pages[c->mode][ref.walk.page_level]++;
	for (unsigned b = 0; b < REF_WHY_COUNT; b++)
		stats.why[b] += ref.why.bits >> b & 1;
	stats.races_fired[race] += ref.race_fired;
	stats.ref_retries += ref.why.retries;
	if (ref.result == WALK_FAULT) {
		stats.pk_faults += !!(ref.walk.error_code & PFERR_PK);
		stats.id_faults += !!(ref.walk.error_code & PFERR_FETCH);
	}

	if (opt.trace) {
		printf("case %u access %u: %s gva %#llx access %#x: ref %d "
		       "ec %#x gpa %#llx, guest_walk %d ec %#x gpa %#llx%s\n",
		       c->index, access_index, ref_paging_mode_name(c->mode),
		       (unsigned long long)gva, access, ref.result,
		       ref.walk.error_code, (unsigned long long)ref.walk.gpa,
		       real.result, real.walk.error_code,
		       (unsigned long long)real.walk.gpa,
		       diff ? "  MISMATCH" : "");
	}
	if (!diff)
		return;

	bool new_kind = false;

	stats.mismatches++;
	for (unsigned f = 0; f < F_COUNT; f++) {
		if (!(diff >> f & 1))
			continue;
		if (stats.field[f]++ == 0) {
			new_kind = true;
			stats.field_seed[f] = c->seed;
			stats.field_access[f] = access_index;
		}
	}
	/* The first few, and the first of every kind. */
	if (stats.dumps < MAX_DUMPS && (stats.dumps < 3 || new_kind)) {
		stats.dumps++;
		report(c, access_index, gva, access, race, race_gpa,
		       race_value, &ref, &real, diff);
	}
}

static void print_summary(void)
{
	static const char *const result_names[] = { "ok", "fault",
						    "mem-error" };

	printf("guest_walk: seed %#llx (%s), %u cases x %u accesses = %lu "
	       "accesses, %lu mismatches\n", (unsigned long long)opt.seed,
	       opt.seed_given ? "given" : "fixed", opt.cases,
	       ACCESSES_PER_CASE, stats.accesses, stats.mismatches);
	printf("  %-10s %8s %8s %8s %9s %8s %8s %8s\n", "mode", "accesses",
	       result_names[0], result_names[1], result_names[2], "4K",
	       "2M/4M", "1G");
	for (unsigned m = 0; m < 5; m++) {
		unsigned long *r = stats.results[m], *pg = stats.pages[m];

		printf("  %-10s %8lu %8lu %8lu %9lu %8lu %8lu %8lu\n",
		       ref_paging_mode_name(m), r[0] + r[1] + r[2], r[0], r[1],
		       r[2], pg[1], pg[2], pg[3]);
	}
	printf("  rules that decided (reference):");
	for (unsigned b = 0; b < REF_WHY_COUNT; b++)
		printf("%s %s %lu", b % 6 ? "," : "\n   ",
		       ref_why_name(1u << b), stats.why[b]);
	printf("\n  faults with PK %lu, with I/D %lu; racing CPU fired: set-A "
	       "%lu, rewrite %lu; reference retries %lu\n", stats.pk_faults,
	       stats.id_faults, stats.races_fired[RACE_SET_A],
	       stats.races_fired[RACE_REPLACE], stats.ref_retries);
	if (!stats.mismatches)
		return;
	printf("  mismatches by field (first case seed, access):\n");
	for (unsigned f = 0; f < F_COUNT; f++)
		if (stats.field[f])
			printf("    %-26s %8lu  HV_SEED=%#llx HV_WALK_CASES=1 "
			       "(access %u)\n", field_name[f], stats.field[f],
			       (unsigned long long)stats.field_seed[f],
			       stats.field_access[f]);
}

/* The generator must keep reaching every rule, or the test proves little. */
static void check_coverage(void)
{
	for (unsigned b = 0; b < REF_WHY_COUNT; b++)
		if (stats.why[b] < MIN_COVERAGE)
			fail_msg("coverage: rule %s decided only %lu walks",
				 ref_why_name(1u << b), stats.why[b]);
	if (stats.pages[REF_MODE_32BIT][2] < MIN_COVERAGE ||
	    stats.pages[REF_MODE_PAE][2] < MIN_COVERAGE ||
	    stats.pages[REF_MODE_4LEVEL][3] < MIN_COVERAGE ||
	    stats.pages[REF_MODE_5LEVEL][3] < MIN_COVERAGE ||
	    stats.pages[REF_MODE_5LEVEL][1] < MIN_COVERAGE)
		fail_msg("coverage: too few large pages or 5-level walks");
	if (stats.pk_faults < MIN_COVERAGE || stats.id_faults < MIN_COVERAGE ||
	    stats.races_fired[RACE_SET_A] < MIN_COVERAGE ||
	    stats.races_fired[RACE_REPLACE] < MIN_COVERAGE)
		fail_msg("coverage: too few PK/I-D faults or races");
}

static void test_differential(void **state)
{
	uint64_t case_seed = opt.seed;
	struct test_case c;

	(void)state;
	memset(&stats, 0, sizeof(stats));
	signal(SIGABRT, on_abort);
	signal(SIGALRM, on_alarm);
	for (unsigned i = 0; i < opt.cases; i++) {
		memset(&c, 0, sizeof(c));
		c.seed = case_seed;
		c.index = i;
		current.seed = case_seed;
		current.index = i;
		current.access = 0;
		alarm(CASE_TIME_LIMIT);
		rng_state = splitmix64(case_seed) | 1;
		random_case(&c);
		for (unsigned a = 0; a < ACCESSES_PER_CASE; a++)
			one_access(&c, a);
		case_seed = splitmix64(case_seed ^ 0x5eed);
	}
	alarm(0);
	signal(SIGABRT, SIG_DFL);
	print_summary();
	if (stats.mismatches)
		fail_msg("%lu of %lu accesses differ from the reference; "
			 "replay a case with the HV_SEED shown above",
			 stats.mismatches, stats.accesses);
	if (opt.cases >= DEFAULT_CASES)
		check_coverage();
}

static uint64_t parse_seed(const char *s)
{
	if (!strcmp(s, "random")) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		return splitmix64((uint64_t)ts.tv_nsec ^
				  (uint64_t)ts.tv_sec << 30 ^
				  (uint64_t)getpid() << 48);
	}
	return strtoull(s, NULL, 0);
}

int main(int argc, char **argv)
{
	const char *seed = argc > 1 ? argv[1] : getenv("HV_SEED");
	const char *cases = argc > 2 ? argv[2] : getenv("HV_WALK_CASES");
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_differential),
	};

	opt.seed = FIXED_SEED;
	opt.cases = DEFAULT_CASES;
	if (seed && *seed) {
		opt.seed = parse_seed(seed);
		opt.seed_given = true;
	}
	if (cases && *cases)
		opt.cases = (unsigned)strtoul(cases, NULL, 0);
	opt.trace = getenv("HV_WALK_TRACE") != NULL;
	printf("guest_walk: seed %#llx (%s; replay with HV_SEED=<seed>)\n",
	       (unsigned long long)opt.seed,
	       opt.seed_given ? "given" : "fixed");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
