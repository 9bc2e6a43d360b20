/* smpmmu: the vCPUs. vCPU 0 builds the page tables and enters long mode;
 * the others are started with HC_START_VCPU (there is no virtual local
 * APIC for INIT-SIPI), load the runtime's GDT, enter long mode on the same
 * CR3 and wait for jobs. Each vCPU has its own IDT (a copy of the
 * runtime's 64-bit one) whose #PF entry names the vCPU, so the handler
 * keeps per-vCPU state. Only vCPU 0 prints: the others record their errors
 * (cpu_error), and vCPU 0 reports them after each scenario. */
#include "tests/guest/smpmmu/smpmmu.h"

#define IDT_GATES	(VEC_USER_RETURN + 1)
#define AP_STACK	16384u

void lm_enter(uint32_t pml4, uint32_t efer_bits, uint32_t cr0_bits);
void ap_entry(void);
void ap_main(uint32_t index);
uint32_t smp_pf(uint32_t cpu, uint32_t cr2, uint32_t err, uint32_t rip);
extern uint8_t probe_read_insn[], probe_read_fix[];
extern uint8_t probe_write_insn[], probe_write_fix[];
extern uint8_t pf_stub_0[], pf_stub_1[], pf_stub_2[], pf_stub_3[],
	pf_stub_4[], pf_stub_5[], pf_stub_6[], pf_stub_7[];

struct cpu cpus[MAX_CPUS];
unsigned ncpus = 1;
uint32_t pml4_root;
volatile uint32_t abort_all;

struct gate64 {
	uint64_t lo, hi;
};

static struct gate64 idts[MAX_CPUS][IDT_GATES] __attribute__((aligned(16)));
static struct desc_ptr idt_ptrs[MAX_CPUS];
static uint8_t ap_stacks[MAX_CPUS][AP_STACK] __attribute__((aligned(16)));

/* The job protocol: vCPU 0 bumps job_seq; each other vCPU runs job_fn
 * and then sets its job_done[] to it (job_fn NULL: it stops). */
static volatile uint32_t job_seq;
static void (*volatile job_fn)(struct cpu *c);
static volatile uint32_t job_done[MAX_CPUS];

static uint32_t next_frame = FRAMES_BASE;

uint32_t frame_alloc(void)
{
	uint32_t f = next_frame;

	if (f >= FRAMES_END) {
		guest_printf("smpmmu: out of frames\n");
		guest_exit(false);
	}
	next_frame += 4096;
	memset((void *)f, 0, 4096);
	return f;
}

void fill_page(uint32_t page, uint32_t tag)
{
	volatile uint32_t *p = (volatile uint32_t *)page;

	for (uint32_t w = 0; w < 1024; w++)
		p[w] = pattern(tag, w);
}

void reload_cr3(void)
{
	write_cr3(read_cr3());
}

void pte_store(struct cpu *c, volatile uint32_t *p, uint32_t v)
{
	uint32_t old;

	switch (rnd(c) % 3) {
	case 0:
		*p = v;
		break;
	case 1:
		__atomic_exchange_n(p, v, __ATOMIC_SEQ_CST);
		break;
	default:
		old = *p;
		while (!__atomic_compare_exchange_n(p, &old, v, false,
						    __ATOMIC_SEQ_CST,
						    __ATOMIC_SEQ_CST))
			;
		break;
	}
}

unsigned report_errors(const char *scenario)
{
	unsigned total = 0;

	for (unsigned i = 0; i < ncpus; i++) {
		struct cpu *c = &cpus[i];

		if (!c->errors)
			continue;
		guest_printf("smpmmu: %s: vCPU %u found an error (the part "
			     "stopped there):\n", scenario, i);
		guest_printf("smpmmu:   %s\n", c->first_error);
		total += c->errors;
		c->errors = 0;
	}
	return total;
}

bool wait_eq(struct cpu *c, volatile uint32_t *p, uint32_t v,
	     const char *what)
{
	for (uint32_t spins = 0; load_acq(p) != v; spins++) {
		if (abort_all)
			return false;
		if (spins == SPIN_LIMIT) {
			cpu_error(c, "timed out waiting for %s (%u, want %u)",
				  what, *p, v);
			store_rel(&abort_all, 1);
			return false;
		}
		cpu_relax();
	}
	return true;
}

bool wait_acks(struct cpu *c, volatile uint32_t *acks, uint32_t v,
	       const char *what)
{
	for (unsigned i = 1; i < ncpus; i++)
		if (!wait_eq(c, &acks[i], v, what))
			return false;
	return true;
}

/* ---- The #PF handler's C side ------------------------------------------- */

uint32_t smp_pf(uint32_t cpu, uint32_t cr2, uint32_t err, uint32_t rip)
{
	struct cpu *c = &cpus[cpu & (MAX_CPUS - 1)];

	c->pf_count++;
	c->pf_err = err;
	c->pf_cr2 = cr2;
	if (rip == (uint32_t)probe_read_insn) {
		c->probe_faulted = 1;
		return (uint32_t)probe_read_fix;
	}
	if (rip == (uint32_t)probe_write_insn) {
		c->probe_faulted = 1;
		return (uint32_t)probe_write_fix;
	}
	if (c->wp_mode && (cr2 & PTE_ADDR32) == VA_W)
		return wp_fault(c, cr2, err);
	return 0;
}

/* ---- Start-up ------------------------------------------------------------ */

bool keep_if_clear;

/*
 * Under the hypervisor every vCPU runs with EFLAGS.IF = 1. Nothing is ever
 * delivered to the guest (there is no virtual interrupt controller), and
 * architecturally IF does not matter to a host that takes its interrupts
 * by VM exit; but Bochs 2.7 masks external interrupts for a VMX guest
 * entered with IF = 0 (VMLAUNCH/VMRESUME re-evaluate the interrupt mask
 * before they set in_vmx_guest), so such a vCPU spinning in guest code
 * never exits: a kick (the shadow MMU's shootdown) waits for it forever.
 * Bare QEMU keeps IF = 0: its PIC would deliver the PIT's IRQ 0 on
 * vector 8. The "cli" option keeps IF = 0 under the hypervisor too.
 */
static void interrupts_on_under_hv(void)
{
	if (hv_present() && !keep_if_clear)
		__asm__ volatile("sti" ::: "memory");
}

static void set_gate(struct gate64 *g, uint32_t handler)
{
	g->lo = (handler & 0xffff) | (uint64_t)SEL_CODE64 << 16 |
		(uint64_t)0x8e << 40 | (uint64_t)(handler >> 16) << 48;
	g->hi = 0;
}

bool smp_init(uint32_t root)
{
	uint8_t *const stubs[MAX_CPUS] = {
		pf_stub_0, pf_stub_1, pf_stub_2, pf_stub_3,
		pf_stub_4, pf_stub_5, pf_stub_6, pf_stub_7,
	};

	pml4_root = root;
	if (idt64_ptr.limit + 1u != sizeof(idts[0]))
		return false;
	for (unsigned i = 0; i < MAX_CPUS; i++) {
		memcpy(idts[i], (const void *)(uint32_t)idt64_ptr.base,
		       sizeof(idts[i]));
		set_gate(&idts[i][EXC_PF], (uint32_t)stubs[i]);
		idt_ptrs[i].limit = sizeof(idts[i]) - 1;
		idt_ptrs[i].base = (uint32_t)idts[i];
		cpus[i].index = i;
	}
	lm_lidt(&idt_ptrs[0]);
	interrupts_on_under_hv();
	cpus[0].started = 1;
	return true;
}

static void ap_loop(struct cpu *c)
{
	uint32_t seen = 0;

	for (;;) {
		uint32_t seq;

		while ((seq = load_acq(&job_seq)) == seen)
			cpu_relax();
		seen = seq;
		if (job_fn)
			job_fn(c);
		store_rel(&job_done[c->index], seq);
		if (!job_fn)
			break;
	}
	cpu_halt_forever();	/* HLT ends this vCPU */
}

/* A secondary vCPU, from ap_entry: the runtime's GDT (its TSS busy bits
 * are cleared by lm_enter), long mode on vCPU 0's CR3, its own IDT. */
void ap_main(uint32_t index)
{
	struct cpu *c = &cpus[index];

	__asm__ volatile("lgdt %0\n\t"
			 "ljmp %1, $1f\n"
			 "1:\n\t"
			 "mov %2, %%eax\n\t"
			 "mov %%eax, %%ds\n\t"
			 "mov %%eax, %%es\n\t"
			 "mov %%eax, %%fs\n\t"
			 "mov %%eax, %%gs\n\t"
			 "mov %%eax, %%ss\n\t"
			 "lidt %3"
			 : : "m"(gdt_ptr), "i"(SEL_CODE32), "i"(SEL_DATA),
			     "m"(idt32_ptr)
			 : "eax", "memory");
	lm_enter(pml4_root, 0, CR0_WP);
	lm_lidt(&idt_ptrs[index]);
	interrupts_on_under_hv();
	store_rel(&c->started, 1);
	ap_loop(c);
}

bool smp_start(unsigned want)
{
	for (unsigned i = 1; i < want; i++) {
		int32_t r = hypercall(HC_START_VCPU, i, (uint32_t)ap_entry,
				      (uint32_t)(ap_stacks[i] + AP_STACK));

		if (r != HC_OK) {
			guest_printf("smpmmu: HC_START_VCPU %u: %d\n", i, r);
			return false;
		}
		/* One at a time: each clears the TSS busy bit before LTR. */
		if (!wait_eq(&cpus[0], &cpus[i].started, 1, "a vCPU to start"))
			return false;
		ncpus = i + 1;
	}
	return true;
}

void run_job(void (*ap)(struct cpu *c), void (*self)(struct cpu *c))
{
	uint32_t seq = job_seq + 1;

	job_fn = ap;
	store_rel(&job_seq, seq);
	if (self)
		self(&cpus[0]);
	for (unsigned i = 1; i < ncpus; i++)
		while (load_acq(&job_done[i]) != seq)
			cpu_relax();
}
