/* mmio: device-style accesses to guest-physical addresses outside RAM under
 * paging, in PAE and long mode: what a hypervisor's instruction emulator
 * must get right.
 *
 * The addresses are an absent bus of q35's PCIe MMCONFIG window (reads all
 * ones, writes dropped, on bare QEMU; under the hypervisor simply outside
 * the guest's memory, with the same behaviour), mapped through 4K and 2M
 * pages, in long mode also a 1G page and a 4K page above 4 GiB.
 *
 * Each instruction of the table below runs twice: on RAM that holds all
 * ones (the reference: the CPU runs it itself) and on MMIO (the hypervisor
 * emulates it). Registers (pointer registers as distances moved), the
 * flags the instruction defines (from two starting states: all clear and
 * all set) and memory must come out the same: the MMIO still reads all
 * ones, a RAM destination holds what the reference's does, a RAM source
 * is untouched. MOV of every size, MOVZX/MOVSX, MOVS/STOS/LODS with and
 * without REP (counts past what one exit may handle, backwards with DF),
 * XCHG, CMPXCHG (equal and not), CMPXCHG8B/16B, LOCK OR/AND/ADD/XADD/INC/
 * NEG/BTC, BTS/BTR/BT with bit offsets outside the operand, TEST, CMP,
 * and ALU with a memory source; 64-bit forms in long mode.
 *
 * probes.c then checks the A/D bits and faults around emulated accesses
 * and accesses that cross from RAM into MMIO.
 */
#include "tests/guest/mmio/mmio.h"
#include "tests/guest/lib/util.h"

const char guest_name[] = "mmio";

#define F_CF		0x001u
#define F_PF		0x004u
#define F_AF		0x010u
#define F_ZF		0x040u
#define F_SF		0x080u
#define F_DF		0x400u
#define F_OF		0x800u
#define F_ALL		(F_OF | F_DF | F_SF | F_ZF | F_AF | F_PF | F_CF)
#define F_NOAF		(F_ALL & ~F_AF)		/* logic ops: AF undefined */
#define F_BT		(F_DF | F_CF)		/* bit tests: only CF */
#define MAX_REPORTS	24

enum target { T_NONE, T_MMIO, T_RAM };

struct mm_test {
	const char *name;
	void (*stub)(void);
	bool is64;
	uint8_t src, dst;		/* where RSI and RDI point */
	uint16_t src_off, dst_off;	/* offsets in the page */
	uint16_t chk_off, chk_len;	/* the destination bytes it may touch */
	uint64_t rax, rbx, rcx, rdx;
	uint32_t flags;			/* the flags it defines or keeps */
	bool df;
};

#define S(n)		extern void mm_##n(void)
#define S64(n)		extern void mm64_##n(void)
S(load8); S(load8h); S(load16); S(load32); S(movzx8); S(movsx16);
S(store8); S(store16); S(store32); S(store8i); S(store32i);
S(movsb); S(movsd); S(rep_movsb); S(rep_movsw); S(rep_movsd);
S(rep_stosb); S(rep_stosd); S(lodsb); S(lodsd); S(xchg8); S(xchg32);
S(cmpxchg32); S(lock_cmpxchg8); S(lock_cmpxchg32); S(lock_cmpxchg8b);
S(lock_or32); S(lock_and32); S(lock_add32); S(lock_or8i); S(lock_add16i);
S(lock_xadd32); S(lock_inc32); S(dec8); S(not32); S(lock_neg32); S(sub32);
S(xor16); S(bts32); S(lock_bts32i); S(btr32); S(lock_btc32); S(bt32);
S(test32); S(cmp32); S(add_load32); S(or_load16);
S64(load64); S64(load32); S64(movzx16); S64(store64); S64(rep_movsq);
S64(rep_stosq); S64(xchg64); S64(lock_cmpxchg64); S64(lock_cmpxchg16b);
S64(lock_or64); S64(lock_add64); S64(bts64);

#define LOAD(n, f, off, a)	{ n, mm_##f, false, T_MMIO, T_NONE, off, 0, \
				  0, 0, a, 0, 0, 0, F_ALL, false }
#define STORE(n, f, off, b)	{ n, mm_##f, false, T_NONE, T_MMIO, 0, off, \
				  off & ~3, 8, 0, b, 0, 0, F_ALL, false }
#define RMW(n, f, a, b, fl)	{ n, mm_##f, false, T_NONE, T_MMIO, 0, 0x90, \
				  0x90, 4, a, b, 0, 0, fl, false }
#define BIT(n, f, b, lo, len)	{ n, mm_##f, false, T_NONE, T_MMIO, 0, 0xa0, \
				  lo, len, 0, b, 0, 0, F_BT, false }

static const struct mm_test tests[] = {
	LOAD("mov al, [m]", load8, 0x11, 0x12345678),
	LOAD("mov ah, [m]", load8h, 0x13, 0x12345678),
	LOAD("mov ax, [m]", load16, 0x22, 0x12345678),
	LOAD("mov eax, [m]", load32, 0x44, 0x12345678),
	LOAD("movzx eax, byte [m]", movzx8, 0x45, 0x12345678),
	LOAD("movsx eax, word [m]", movsx16, 0x46, 0x12345678),
	LOAD("lodsb", lodsb, 0x51, 0x12345678),
	LOAD("lodsd", lodsd, 0x54, 0x12345678),
	LOAD("add eax, [m]", add_load32, 0x58, 5),
	LOAD("or ax, [m]", or_load16, 0x5c, 0x1234),
	STORE("mov [m], bl", store8, 0x61, 0x42),
	STORE("mov [m], bx", store16, 0x66, 0x4243),
	STORE("mov [m], ebx", store32, 0x68, 0x41424344),
	STORE("mov byte [m], 0x5a", store8i, 0x6d, 0),
	STORE("mov dword [m], 0x12345678", store32i, 0x70, 0),
	STORE("xchg [m], bl", xchg8, 0x75, 0x11),
	STORE("xchg [m], ebx", xchg32, 0x78, 0x11223344),
	/* Strings: MMIO to RAM, RAM to MMIO, MMIO to MMIO. */
	{ "movsb, MMIO to RAM", mm_movsb, false, T_MMIO, T_RAM, 0x101, 0x103,
	  0x100, 8, 0, 0, 0, 0, F_ALL, false },
	{ "movsd, RAM to MMIO", mm_movsd, false, T_RAM, T_MMIO, 0x104, 0x108,
	  0x108, 4, 0, 0, 0, 0, F_ALL, false },
	{ "rep movsb x13, MMIO to RAM", mm_rep_movsb, false, T_MMIO, T_RAM,
	  0x111, 0x121, 0x120, 16, 0, 0, 13, 0, F_ALL, false },
	{ "rep movsw x5, RAM to MMIO", mm_rep_movsw, false, T_RAM, T_MMIO,
	  0x140, 0x142, 0x140, 12, 0, 0, 5, 0, F_ALL, false },
	{ "rep movsd x300, MMIO to RAM", mm_rep_movsd, false, T_MMIO, T_RAM,
	  0x100, 0x200, 0x200, 1200, 0, 0, 300, 0, F_ALL, false },
	{ "rep movsd x40, MMIO to MMIO", mm_rep_movsd, false, T_MMIO, T_MMIO,
	  0x100, 0x800, 0x800, 160, 0, 0, 40, 0, F_ALL, false },
	{ "rep movsd x16 backwards (DF=1), MMIO to RAM", mm_rep_movsd, false,
	  T_MMIO, T_RAM, 0x23c, 0x33c, 0x300, 64, 0, 0, 16, 0, F_ALL, true },
	{ "rep stosb x9 to MMIO", mm_rep_stosb, false, T_NONE, T_MMIO, 0, 0x181,
	  0x180, 12, 0x77, 0, 9, 0, F_ALL, false },
	{ "rep stosd x70 to MMIO", mm_rep_stosd, false, T_NONE, T_MMIO, 0,
	  0x400, 0x400, 280, 0xabcdef01, 0, 70, 0, F_ALL, false },
	/* Compare-exchange: all ones is "equal" for an all-ones accumulator. */
	RMW("cmpxchg [m], ebx, equal", cmpxchg32, 0xffffffff, 0x1234, F_ALL),
	RMW("cmpxchg [m], ebx, not equal", cmpxchg32, 0, 0x1234, F_ALL),
	RMW("lock cmpxchg [m], bl, not equal", lock_cmpxchg8, 0x12, 0x34, F_ALL),
	RMW("lock cmpxchg [m], ebx, equal", lock_cmpxchg32, 0xffffffff, 7, F_ALL),
	{ "lock cmpxchg8b [m], equal", mm_lock_cmpxchg8b, false, T_NONE, T_MMIO,
	  0, 0x98, 0x98, 8, 0xffffffff, 0x11111111, 0x22222222, 0xffffffff,
	  F_ALL, false },
	{ "lock cmpxchg8b [m], not equal", mm_lock_cmpxchg8b, false, T_NONE,
	  T_MMIO, 0, 0x98, 0x98, 8, 1, 0x11111111, 0x22222222, 2, F_ALL,
	  false },
	/* Read-modify-write. */
	RMW("lock or [m], ebx", lock_or32, 0, 0x0f0f0f0f, F_NOAF),
	RMW("lock and [m], ebx", lock_and32, 0, 0x0f0f0f0f, F_NOAF),
	RMW("lock add [m], ebx", lock_add32, 0, 1, F_ALL),
	RMW("lock or byte [m], 0x81", lock_or8i, 0, 0, F_NOAF),
	RMW("lock add word [m], 0x7f", lock_add16i, 0, 0, F_ALL),
	RMW("lock xadd [m], ebx", lock_xadd32, 0, 2, F_ALL),
	RMW("lock inc dword [m]", lock_inc32, 0, 0, F_ALL),
	RMW("dec byte [m]", dec8, 0, 0, F_ALL),
	RMW("not dword [m]", not32, 0, 0, F_ALL),
	RMW("lock neg dword [m]", lock_neg32, 0, 0, F_ALL),
	RMW("sub [m], ebx", sub32, 0, 0x80000000, F_ALL),
	RMW("xor [m], bx", xor16, 0, 0xff00, F_NOAF),
	RMW("test [m], ebx", test32, 0, 0x80000001, F_NOAF),
	RMW("cmp [m], ebx", cmp32, 0, 0x7fffffff, F_ALL),
	/* Bit tests: a register offset reaches outside the dword. */
	BIT("bts [m], ebx, bit 100", bts32, 100, 0xa0, 16),
	BIT("bts [m], ebx, bit -9", bts32, (uint32_t)-9, 0x9c, 8),
	BIT("lock bts dword [m], 5", lock_bts32i, 0, 0xa0, 4),
	BIT("btr [m], ebx, bit 31", btr32, 31, 0xa0, 4),
	BIT("lock btc [m], ebx, bit 0", lock_btc32, 0, 0xa0, 4),
	BIT("bt [m], ebx, bit 7", bt32, 7, 0xa0, 4),
};

static const struct mm_test tests64[] = {
	{ "mov rax, [m]", mm64_load64, true, T_MMIO, T_NONE, 0x48, 0, 0, 0,
	  0x1122334455667788ull, 0, 0, 0, F_ALL, false },
	{ "mov eax, [m] (zero-extends)", mm64_load32, true, T_MMIO, T_NONE, 0x4c,
	  0, 0, 0, 0x1122334455667788ull, 0, 0, 0, F_ALL, false },
	{ "movzx rax, word [m]", mm64_movzx16, true, T_MMIO, T_NONE, 0x4e, 0,
	  0, 0, 0x1122334455667788ull, 0, 0, 0, F_ALL, false },
	{ "mov [m], rbx", mm64_store64, true, T_NONE, T_MMIO, 0, 0xb8, 0xb8, 8,
	  0, 0x0102030405060708ull, 0, 0, F_ALL, false },
	{ "rep movsq x70, MMIO to RAM", mm64_rep_movsq, true, T_MMIO, T_RAM,
	  0x100, 0x200, 0x200, 560, 0, 0, 70, 0, F_ALL, false },
	{ "rep stosq x33 to MMIO", mm64_rep_stosq, true, T_NONE, T_MMIO, 0,
	  0x600, 0x600, 264, 0x0123456789abcdefull, 0, 33, 0, F_ALL, false },
	{ "xchg [m], rbx", mm64_xchg64, true, T_NONE, T_MMIO, 0, 0xc0, 0xc0, 8,
	  0, 0x1122334455667788ull, 0, 0, F_ALL, false },
	{ "lock cmpxchg [m], rbx, not equal", mm64_lock_cmpxchg64, true, T_NONE,
	  T_MMIO, 0, 0xc8, 0xc8, 8, 0, 5, 0, 0, F_ALL, false },
	{ "lock cmpxchg16b [m], equal", mm64_lock_cmpxchg16b, true, T_NONE,
	  T_MMIO, 0, 0xd0, 0xd0, 16, ~0ull, 1, 2, ~0ull, F_ALL, false },
	{ "lock or [m], rbx", mm64_lock_or64, true, T_NONE, T_MMIO, 0, 0xe0,
	  0xe0, 8, 0, 0xf0f0f0f0f0f0f0f0ull, 0, 0, F_NOAF, false },
	{ "lock add [m], rbx", mm64_lock_add64, true, T_NONE, T_MMIO, 0, 0xe8,
	  0xe8, 8, 0, 1, 0, 0, F_ALL, false },
	{ "bts [m], rbx, bit 200", mm64_bts64, true, T_NONE, T_MMIO, 0, 0xf0,
	  0xf0, 40, 0, 200, 0, 0, F_BT, false },
};

const char *mode_name;
struct page_table pt;
static unsigned reports;

struct mapping {
	const char *name;
	uint64_t va;		/* of the MMIO page the offsets are in */
	bool only64;		/* above 4 GiB: 64-bit code only */
};

static void report_mismatch(const struct mapping *m, const struct mm_test *t,
			    uint32_t flags_in, const char *what,
			    uint64_t got, uint64_t want)
{
	if (++reports > MAX_REPORTS)
		return;
	guest_printf("mmio: MISMATCH %s %s: %s, flags in 0x%x: %s 0x%llx, on "
		     "RAM 0x%llx\n", mode_name, m->name, t->name, flags_in,
		     what, got, want);
}

/* Where an operand points in one run. */
static uint64_t operand(uint8_t target, bool reference, bool src,
			const struct mapping *m, uint16_t off)
{
	if (target == T_NONE)
		return 0;
	if (reference)
		return (src ? REF_SRC : REF_DST) + off;
	if (target == T_RAM)
		return (src ? VA_RAMWIN : VA_RAMWIN + 0x1000) + off;
	return m->va + off;
}

static void fill_pattern(uint32_t page)
{
	for (unsigned i = 0; i < 4096; i++)
		((uint8_t *)page)[i] = (uint8_t)(i * 7 + 3);
}

/* The RAM each run starts from. */
static void prepare(const struct mm_test *t)
{
	if (t->src == T_RAM) {
		fill_pattern(REF_SRC);
		fill_pattern(RUN_SRC);
	} else {
		memset((void *)REF_SRC, 0xff, 4096);
	}
	if (t->dst == T_RAM) {
		memset((void *)REF_DST, 0x5a, 4096);
		memset((void *)RUN_DST, 0x5a, 4096);
	} else {
		memset((void *)REF_DST, 0xff, 4096);
	}
}

static void run_one(const struct mm_test *t, bool reference,
		    const struct mapping *m, uint32_t flags_in,
		    struct mm_regs *r)
{
	*r = (struct mm_regs){
		.rax = t->rax, .rbx = t->rbx, .rcx = t->rcx, .rdx = t->rdx,
		.rsi = operand(t->src, reference, true, m, t->src_off),
		.rdi = operand(t->dst, reference, false, m, t->dst_off),
		.rflags = flags_in | (t->df ? F_DF : 0),
	};
	if (t->is64)
		mm_run64(r, t->stub);
	else
		mm_run32(r, t->stub);
}

/* The MMIO destination reads all ones afterwards (its first and last 8
 * dwords: each read is an exit under the hypervisor). */
static bool mmio_all_ones(const struct mapping *m, const struct mm_test *t)
{
	uint32_t lo = t->chk_off & ~3u, hi = (t->chk_off + t->chk_len + 3) & ~3u;

	for (uint32_t off = lo; off < hi; off += 4) {
		if (off >= lo + 32 && off + 32 < hi)
			continue;
		if (m->only64 ? (lm_read64(m->va + off) & 0xffffffffu) != 0xffffffffu
			      : *(volatile uint32_t *)(uint32_t)(m->va + off) !=
				0xffffffffu)
			return false;
	}
	return true;
}

/* One instruction from one starting flag state: the number of checks,
 * with *bad counting the mismatches. */
static unsigned compare(const struct mapping *m, const struct mm_test *t,
			uint32_t flags_in, unsigned *bad)
{
	struct mm_regs ref, run;
	uint64_t got[6], want[6];
	static const char *const names[6] = { "RAX", "RBX", "RCX", "RDX",
					      "RSI moved", "RDI moved" };
	unsigned checks = 0;

	prepare(t);
	run_one(t, true, m, flags_in, &ref);
	run_one(t, false, m, flags_in, &run);

	got[0] = run.rax, got[1] = run.rbx, got[2] = run.rcx, got[3] = run.rdx;
	want[0] = ref.rax, want[1] = ref.rbx, want[2] = ref.rcx;
	want[3] = ref.rdx;
	got[4] = run.rsi - operand(t->src, false, true, m, t->src_off);
	want[4] = ref.rsi - operand(t->src, true, true, m, t->src_off);
	got[5] = run.rdi - operand(t->dst, false, false, m, t->dst_off);
	want[5] = ref.rdi - operand(t->dst, true, false, m, t->dst_off);
	for (unsigned i = 0; i < 6; i++, checks++) {
		if (got[i] != want[i]) {
			(*bad)++;
			report_mismatch(m, t, flags_in, names[i], got[i], want[i]);
		}
	}
	checks++;
	if ((run.rflags ^ ref.rflags) & t->flags) {
		(*bad)++;
		report_mismatch(m, t, flags_in, "flags", run.rflags & t->flags,
				ref.rflags & t->flags);
	}
	if (t->dst == T_MMIO) {
		checks++;
		if (!mmio_all_ones(m, t)) {
			(*bad)++;
			report_mismatch(m, t, flags_in, "MMIO after (want all "
					"ones) at offset", t->chk_off, t->chk_off);
		}
	}
	if (t->dst == T_RAM) {
		checks++;
		if (memcmp((void *)RUN_DST, (void *)REF_DST, 4096)) {
			(*bad)++;
			report_mismatch(m, t, flags_in, "RAM destination differs, "
					"first dword", *(uint32_t *)(RUN_DST +
					t->chk_off), *(uint32_t *)(REF_DST +
					t->chk_off));
		}
	}
	if (t->src == T_RAM) {
		checks++;
		if (memcmp((void *)RUN_SRC, (void *)REF_SRC, 4096)) {
			(*bad)++;
			report_mismatch(m, t, flags_in, "RAM source changed", 0, 0);
		}
	}
	return checks;
}

static void run_table(const struct mapping *m, const struct mm_test *list,
		      unsigned n)
{
	static const uint32_t flag_states[2] = { 0x002, 0x8d7 };
	unsigned checks = 0, bad = 0, runs = 0;

	for (unsigned i = 0; i < n; i++) {
		if (m->only64 && !list[i].is64)
			continue;
		for (unsigned f = 0; f < 2; f++, runs++)
			checks += compare(m, &list[i], flag_states[f], &bad);
	}
	check(bad == 0, "%s %s: %u %s-bit instructions x 2 flag states: %u "
	      "checks against RAM, %u wrong", mode_name, m->name, runs / 2,
	      list == tests64 ? "64" : "32", checks, bad);
}

/* ---- Modes ------------------------------------------------------------------ */

static bool build(enum paging_mode mode)
{
	static enum paging_mode last_built = PAGING_OFF;
	uint64_t rw = PTE_P | PTE_W;
	bool ok = pt_init(&pt, mode);

	ok = ok && pt_map_range(&pt, 0, 0, IDENTITY_END, PAGE_2M, rw);
	ok = ok && pt_map_range(&pt, VA_MMIO_4K, MMIO_GPA, 0x2000, PAGE_4K, rw);
	ok = ok && pt_map(&pt, VA_MMIO_2M, MMIO_GPA, PAGE_2M, rw);
	ok = ok && pt_map(&pt, VA_RAMWIN, RUN_SRC, PAGE_4K, rw);
	ok = ok && pt_map(&pt, VA_RAMWIN + 0x1000, RUN_DST, PAGE_4K, rw);
	ok = ok && pt_map(&pt, VA_RAMWIN + 0x2000, PROBE_RAM, PAGE_4K, rw);
	ok = ok && pt_map(&pt, VA_BOUND, BOUND_RAM, PAGE_4K, rw);
	ok = ok && pt_map(&pt, VA_BOUND + 0x1000, MMIO_GPA + 0x2000, PAGE_4K, rw);
	ok = ok && pt_map(&pt, VA_MMIO_RO, MMIO_GPA, PAGE_4K, PTE_P);
	ok = ok && pt_map(&pt, VA_MMIO_NP, MMIO_GPA, PAGE_4K, PTE_W);
	if (mode == PAGING_LONG) {
		ok = ok && pt_map(&pt, VA_MMIO_HIGH, MMIO_GPA, PAGE_4K, rw);
		if (cpu_has_1g_pages())
			ok = ok && pt_map(&pt, VA_MMIO_1G, MMIO_GPA_1G, PAGE_1G,
					  rw);
	}
	if (!ok || last_built == mode)
		return check(ok, "%s: page tables", mode_name);
	last_built = mode;
	return check(ok, "%s: MMIO 0x%x mapped at 0x%x (4K) and 0x%x (2M)%s",
		     mode_name, MMIO_GPA, VA_MMIO_4K, VA_MMIO_2M,
		     mode == PAGING_LONG ? ", 0xffe00000 (1G), 0x8000000000" :
		     "");
}

/* last: only the probe that may stop the guest (probes.c). */
static void run_mode(enum paging_mode mode, bool last)
{
	const struct mapping maps[] = {
		{ "4K", VA_MMIO_4K, false },
		{ "2M", VA_MMIO_2M, false },
		{ "1G", VA_MMIO_1G + (MMIO_GPA - MMIO_GPA_1G), false },
		{ "4K above 4 GiB", VA_MMIO_HIGH, true },
	};
	unsigned n = mode == PAGING_LONG ? (cpu_has_1g_pages() ? 4 : 3) : 2;

	mode_name = paging_mode_name(mode);
	reports = 0;
	if (!build(mode))
		return;
	paging_enter(&pt, PAGING_WP | (cpu_has_nx() ? PAGING_NXE : 0));
	if (last) {
		run_last_probe();
		paging_leave();
		return;
	}
	for (unsigned i = 0; i < n; i++) {
		const struct mapping *m = &maps[i];

		if (mode == PAGING_LONG && i == 2 && !cpu_has_1g_pages())
			m = &maps[3];
		if (!m->only64)
			run_table(m, tests, ARRAY_SIZE(tests));
		if (mode == PAGING_LONG)
			run_table(m, tests64, ARRAY_SIZE(tests64));
	}
	run_probes();
	paging_leave();
	if (reports > MAX_REPORTS)
		guest_printf("mmio: %s: %u more mismatches not printed\n",
			     mode_name, reports - MAX_REPORTS);
}

bool guest_test(uint32_t magic, const struct mb1_info *info)
{
	(void)magic, (void)info;
	if (!check((uint32_t)__image_end <= REF_SRC, "image ends at 0x%x, "
		   "below 0x%x", (uint32_t)__image_end, REF_SRC) ||
	    !check(mb_ram_end() >= USED_END, "RAM up to 0x%x", USED_END))
		return false;
	guest_printf("mmio: platform %s; MMIO at 0x%x (q35 MMCONFIG, bus 254: "
		     "no devices)\n", platform_name(), MMIO_GPA);
	if (!cpu_has_long_mode()) {
		check(false, "CPU without long mode");
		return false;
	}
	run_mode(PAGING_PAE, false);
	run_mode(PAGING_LONG, false);
	run_mode(PAGING_LONG, true);
	run_mode(PAGING_PAE, true);
	return boot.magic_ok;
}
