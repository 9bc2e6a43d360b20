/* mmio: what happens around emulated accesses, as the SDM says it must:
 *
 *   - A and D in the guest's own entries: the MMIO page's after a load
 *     and a store; the RAM page that an emulated MOVS writes (MMIO to RAM)
 *     or reads (RAM to MMIO): the emulator, not the CPU, touches that RAM;
 *   - accesses that cross from a RAM page into an MMIO page: the RAM part
 *     is RAM, the MMIO part all ones, a store's MMIO part dropped;
 *   - faults the CPU finds on its own walk of an MMIO mapping (read-only,
 *     not present);
 *   - faults on the RAM side of an emulated MOVS (MMIO to a read-only or
 *     not-present page): #PF with the right error code and CR2, nothing
 *     written, the registers of a string instruction that has not started.
 *     The not-present one comes last (run_last_probe, after both modes'
 *     other checks): a hypervisor that cannot deliver it may stop the
 *     guest.
 */
#include "tests/guest/mmio/mmio.h"
#include "tests/guest/lib/util.h"

extern void mm_load32(void), mm_store32(void), mm_rep_movsb(void);
extern void mm_rep_movsd(void);

static bool leaf(uint32_t va, struct pte_ref *ref)
{
	return pt_entry(&pt, va, 1, ref);
}

static void clear_ad(struct pte_ref *ref, uint32_t va)
{
	pte_set(ref, pte_get(ref) & ~(PTE_A | PTE_D));
	invlpg(va);
}

static void run(void (*stub)(void), uint32_t src, uint32_t dst,
		uint32_t count, struct mm_regs *r)
{
	*r = (struct mm_regs){ .rax = 0, .rbx = 0x5a5a5a5a, .rcx = count,
			       .rsi = src, .rdi = dst, .rflags = 2 };
	mm_run32(r, stub);
}

static const char *ad_text(uint64_t pte)
{
	static const char *const text[4] = { "neither", "A", "D only",
					     "A and D" };

	return text[(pte & PTE_A ? 1 : 0) | (pte & PTE_D ? 2 : 0)];
}

static void check_ad(void)
{
	struct pte_ref mmio, src, dst;
	struct mm_regs r;
	uint64_t v;
	bool data_ok = true;

	if (!leaf(VA_MMIO_4K, &mmio) || !leaf(VA_RAMWIN, &src) ||
	    !leaf(VA_RAMWIN + 0x1000, &dst))
		return;
	clear_ad(&mmio, VA_MMIO_4K);
	run(mm_load32, VA_MMIO_4K + 0x10, 0, 0, &r);
	v = pte_get(&mmio);
	check((v & (PTE_A | PTE_D)) == PTE_A, "%s: MMIO PTE after a load: %s, "
	      "want A", mode_name, ad_text(v));
	clear_ad(&mmio, VA_MMIO_4K);
	run(mm_store32, 0, VA_MMIO_4K + 0x10, 0, &r);
	v = pte_get(&mmio);
	check((v & (PTE_A | PTE_D)) == (PTE_A | PTE_D), "%s: MMIO PTE after a "
	      "store: %s, want A and D", mode_name, ad_text(v));

	memset((void *)RUN_DST, 0, 4096);
	clear_ad(&dst, VA_RAMWIN + 0x1000);
	run(mm_rep_movsd, VA_MMIO_4K + 0x100, VA_RAMWIN + 0x1100, 16, &r);
	for (unsigned i = 0; i < 16; i++)
		data_ok &= ((uint32_t *)(RUN_DST + 0x100))[i] == 0xffffffffu;
	v = pte_get(&dst);
	check(data_ok && (v & (PTE_A | PTE_D)) == (PTE_A | PTE_D),
	      "%s: rep movsd MMIO to RAM: data %s, the RAM page's PTE %s, "
	      "want A and D", mode_name, data_ok ? "all ones" : "WRONG",
	      ad_text(v));

	clear_ad(&src, VA_RAMWIN);
	run(mm_rep_movsd, VA_RAMWIN + 0x100, VA_MMIO_4K + 0x200, 16, &r);
	v = pte_get(&src);
	check((v & (PTE_A | PTE_D)) == PTE_A, "%s: rep movsd RAM to MMIO: the "
	      "RAM page's PTE %s, want A", mode_name, ad_text(v));
}

static void check_crossing(void)
{
	volatile uint8_t *ram = (uint8_t *)BOUND_RAM;
	uint32_t edge = VA_BOUND + 0xffe;
	struct mm_regs r;
	uint8_t want[8] = { 0xa1, 0xa2, 0xa3, 0xa4, 0xff, 0xff, 0xff, 0xff };

	ram[0xffc] = 0xa1, ram[0xffd] = 0xa2, ram[0xffe] = 0xa3;
	ram[0xfff] = 0xa4;
	run(mm_load32, edge, 0, 0, &r);
	check(r.rax == 0xffffa4a3u, "%s: mov eax across RAM into MMIO (0x%x): "
	      "0x%llx, want 0xffffa4a3", mode_name, edge, r.rax);

	r = (struct mm_regs){ .rbx = 0x11223344, .rdi = edge, .rflags = 2 };
	mm_run32(&r, mm_store32);
	check(ram[0xffe] == 0x44 && ram[0xfff] == 0x33 &&
	      *(volatile uint32_t *)(VA_BOUND + 0x1000) == 0xffffffffu,
	      "%s: mov across RAM into MMIO (0x%x): RAM bytes 0x%x 0x%x, want "
	      "0x44 0x33, the MMIO part dropped", mode_name, edge, ram[0xffe],
	      ram[0xfff]);
	ram[0xffe] = 0xa3, ram[0xfff] = 0xa4;

	memset((void *)RUN_DST, 0, 4096);
	run(mm_rep_movsb, VA_BOUND + 0xffc, VA_RAMWIN + 0x1010, 8, &r);
	check(memcmp((void *)(RUN_DST + 0x10), want, 8) == 0 && r.rcx == 0,
	      "%s: rep movsb x8 across RAM into MMIO: 4 RAM bytes, then all "
	      "ones", mode_name);
}

/* ---- Faults ------------------------------------------------------------------ */

static struct mm_regs fault_regs;
static void (*fault_stub)(void);

static void run_fault_stub(void *unused)
{
	(void)unused;
	mm_run32(&fault_regs, fault_stub);
}

/* stub with the registers in fault_regs must raise #PF(err) at cr2. */
static bool expect_pf(const char *what, void (*stub)(void), uint32_t err,
		      uint32_t cr2, struct fault_info *fi)
{
	fault_stub = stub;
	expect_fault(run_fault_stub, NULL, fi);
	return check(fi->faulted && fi->vector == EXC_PF &&
		     fi->error_code == err && fi->cr2 == cr2,
		     "%s: %s: %s err 0x%x cr2 0x%llx, want #PF err 0x%x cr2 0x%x",
		     mode_name, what, fi->faulted ? exception_name(fi->vector) :
		     "no fault", fi->error_code, fi->cr2, err, cr2);
}

static void check_walk_faults(void)
{
	struct fault_info fi;

	fault_regs = (struct mm_regs){ .rbx = 1, .rdi = VA_MMIO_RO + 0x20,
				       .rflags = 2 };
	expect_pf("mov to a read-only MMIO page", mm_store32, PF_P | PF_W,
		  VA_MMIO_RO + 0x20, &fi);
	fault_regs = (struct mm_regs){ .rsi = VA_MMIO_NP + 0x24, .rflags = 2 };
	expect_pf("mov from a not-present MMIO page", mm_load32, 0,
		  VA_MMIO_NP + 0x24, &fi);
}

/* rep movsd x4 from MMIO into the probe page with pte_flags. */
static void movs_into_probe(const char *what, uint64_t pte_flags,
			    uint32_t err)
{
	struct pte_ref probe;
	struct fault_info fi;
	uint32_t dst = VA_RAMWIN + 0x2000 + 0x40, src = VA_MMIO_4K + 0x40;
	uint64_t old;
	bool untouched = true;

	if (!leaf(VA_RAMWIN + 0x2000, &probe))
		return;
	old = pte_get(&probe);
	memset((void *)PROBE_RAM, 0x3c, 4096);
	pte_set(&probe, (old & ~(PTE_P | PTE_W)) | pte_flags);
	invlpg(VA_RAMWIN + 0x2000);
	fault_regs = (struct mm_regs){ .rcx = 4, .rsi = src, .rdi = dst,
				       .rflags = 2 };
	bool faulted = expect_pf(what, mm_rep_movsd, err, dst, &fi);

	for (unsigned i = 0; i < 4096; i++)
		untouched &= ((uint8_t *)PROBE_RAM)[i] == 0x3c;
	if (faulted)
		check(untouched && trap_last.ecx == 4 && trap_last.esi == src &&
		      trap_last.edi == dst, "%s: ... nothing written, ECX %u "
		      "ESI 0x%x EDI 0x%x as before the first element",
		      mode_name, trap_last.ecx, trap_last.esi, trap_last.edi);
	else if (!fi.faulted)
		guest_printf("mmio: %s: ... the page was %s\n", mode_name,
			     untouched ? "not written" : "WRITTEN");
	pte_set(&probe, old);
	invlpg(VA_RAMWIN + 0x2000);
}

void run_probes(void)
{
	check_ad();
	check_crossing();
	check_walk_faults();
	movs_into_probe("rep movsd MMIO to a read-only page", PTE_P,
			PF_P | PF_W);
}

void run_last_probe(void)
{
	movs_into_probe("rep movsd MMIO to a not-present page", PTE_W, PF_W);
}
