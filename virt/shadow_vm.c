/*
 * Shadow paging in the hypervisor (virt/shadow_vm.h): what the portable
 * shadow MMU needs from a running system (the TLB shootdown, interrupts
 * off around lockless walks) and what it gives each vCPU (the hardware
 * paging state before every entry, the answers to #PF and INVLPG).
 */
#include "virt/shadow_vm.h"
#include "arch/x86/cpu.h"
#include "kernel/printk.h"
#include "kernel/string.h"
#include "smp/tlb.h"
#include "virt/emulate.h"
#include "virt/exits.h"
#include "virt/guest_emulate.h"
#include "virt/virt.h"

#define VECTOR_PF		14
#define PFERR_FETCH		(1u << 4)
#define RFLAGS_AC		(1ull << 18)

/* ---- What the MMU asks of the system ------------------------------------ */

/*
 * The TLB shootdown: every vCPU of the VM flushes its guest TLB before it
 * next enters (vcpu_take_flush_request, in the backend with interrupts
 * off), and each one's CPU is kicked and must acknowledge. The kick makes
 * a vCPU in guest mode exit; the acknowledgement comes from its interrupt
 * handler, which runs only with interrupts on, so once every CPU has
 * answered none is in guest mode with an old translation, nor inside a
 * lockless walk (interrupts off there). A vCPU that reads the flag before
 * it is set enters with the kick pending and exits at once. Called with
 * the MMU lock held and interrupts on: a vCPU spinning on that lock
 * answers kicks meanwhile.
 */
static void flush_remote_tlbs(void *vm_ctx)
{
	struct vm *vm = vm_ctx;
	unsigned self = this_cpu_id(), others = 0;
	struct cpumask mask;

	cpumask_clear(&mask);
	for (unsigned i = 0; i < vm->vcpu_count; i++) {
		struct vcpu *v = vm->vcpus[i];

		__atomic_store_n(&v->tlb_flush_pending, true, __ATOMIC_SEQ_CST);
		cpumask_set(&mask, v->pcpu);
		others += v->pcpu != self;
	}
	__atomic_fetch_add(&vm->tlb_flush_requests, 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&vm->tlb_flush_ipis, others, __ATOMIC_RELAXED);
	kick_cpus_and_wait(&mask, 0);
}

/* A kick waits for the end of a lockless walk of the shadow tables. */
static void lockless_begin(void *vcpu_ctx)
{
	struct vcpu *vcpu = vcpu_ctx;

	vcpu->lockless_irq_was_on = irq_save();
}

static void lockless_end(void *vcpu_ctx)
{
	struct vcpu *vcpu = vcpu_ctx;

	irq_restore(vcpu->lockless_irq_was_on);
}

static const struct shadow_ops hv_shadow_ops = {
	.flush_remote_tlbs = flush_remote_tlbs,
	.lockless_begin = lockless_begin,
	.lockless_end = lockless_end,
};

/* ---- Set-up -------------------------------------------------------------- */

/* One shadow page per 16 guest pages, within [512, 4096]: enough for the
 * test guests' tables many times over, 2-16 MiB of host memory. */
static uint32_t default_max_pages(const struct vm *vm)
{
	uint64_t pages = vm->mem_bytes / 4096 / 16;

	return (uint32_t)MIN(MAX(pages, 512), 4096);
}

bool vm_shadow_init(struct vm *vm, const struct vm_config *config)
{
	struct shadow_config cfg = {
		.max_pages = config->shadow_max_pages ?
			     config->shadow_max_pages : default_max_pages(vm),
		.guest_maxphyaddr = cpu_phys_addr_bits(),
		.guest_gbpages = cpu_has_1g_pages(),
		.host_maxphyaddr = cpu_phys_addr_bits(),
		.unsync = config->shadow_unsync,
		.no_flood_zap = !config->shadow_flood,
	};

	cfg.max_pages = MAX(cfg.max_pages, SHADOW_MIN_PAGES +
			    8 * VM_MAX_VCPUS);
	return shadow_mmu_init(&vm->shadow, &vm->slots, &hv_shadow_ops, vm,
			       &cfg);
}

bool vcpu_shadow_init(struct vcpu *vcpu)
{
	struct vm *vm = vcpu->vm;

	if (!shadow_vcpu_init(&vcpu->shadow, &vm->shadow, vcpu)) {
		pr_err("[%s/%u] out of memory for the shadow page-table "
		       "roots (one page below 4 GiB)\n", vm->name, vcpu->id);
		return false;
	}
	/* The multiboot entry state: protected mode, paging off. */
	if (shadow_set_cr(&vcpu->shadow, CR0_PE | CR0_ET, 0, 0) !=
	    SHADOW_CR_OK) {
		pr_err("[%s/%u] out of memory for the shadow page tables\n",
		       vm->name, vcpu->id);
		shadow_vcpu_destroy(&vcpu->shadow);
		return false;
	}
	vcpu->shadow_loaded = false;
	return true;
}

void vcpu_shadow_destroy(struct vcpu *vcpu)
{
	shadow_vcpu_destroy(&vcpu->shadow);
}

/* ---- Before each entry --------------------------------------------------- */

/*
 * Anything new since the last entry (a root reloaded by a CR3 write, a
 * mode change or a zap; CR0/CR4/EFER bits that the hardware copies) goes
 * to the backend, which flushes this vCPU's guest TLB with it: a new
 * root_version is the architectural flush of a CR3 load, and a change of
 * WP, SMEP, SMAP or PKE must not meet translations cached under the old
 * rules.
 */
bool vcpu_shadow_prepare_entry(struct vcpu *vcpu)
{
	struct shadow_vcpu *sv = &vcpu->shadow;
	uint64_t cr0, cr4, efer;
	int r = shadow_cr_outcome(vcpu, shadow_vcpu_load_root(sv));

	if (r > 0)	/* a root reload has no #GP to give */
		stop_with_dump(vcpu, "the shadow MMU refused to reload its "
			       "root");
	if (r)
		return false;
	cr0 = shadow_hw_cr0(sv);
	cr4 = shadow_hw_cr4(sv);
	efer = shadow_hw_efer(sv);
	if (vcpu->shadow_loaded && sv->root_version ==
	    vcpu->shadow_loaded_version && sv->root_hpa ==
	    vcpu->shadow_loaded_root && cr0 == vcpu->shadow_loaded_cr0 &&
	    cr4 == vcpu->shadow_loaded_cr4 && efer == vcpu->shadow_loaded_efer)
		return true;
	vcpu->shadow_loaded = true;
	vcpu->shadow_loaded_version = sv->root_version;
	vcpu->shadow_loaded_root = sv->root_hpa;
	vcpu->shadow_loaded_cr0 = cr0;
	vcpu->shadow_loaded_cr4 = cr4;
	vcpu->shadow_loaded_efer = efer;
	virt->load_shadow_state(vcpu, true);
	return true;
}

/* ---- #PF ----------------------------------------------------------------- */

/*
 * PKRU is not switched by the backends: while a vCPU runs, the CPU's PKRU
 * is the guest's (WRPKRU does not exit), and the host leaves it alone
 * (its pages are supervisor pages, which keys do not govern). Reading it
 * needs CR4.PKE, which the host runs without: set it for the one read.
 */
static uint32_t guest_pkru(const struct vcpu *vcpu)
{
	uint64_t cr4;
	uint32_t pkru;
	bool irq_was_on;

	/* The guest's CR4.PKE is allowed only with PKU (shadow_cr.c), so
	 * the CPU can run RDPKRU: no CPUID on the fault path. */
	if (!(vcpu->shadow.paging.cr4 & CR4_PKE))
		return 0;
	irq_was_on = irq_save();
	cr4 = read_cr4();
	write_cr4(cr4 | CR4_PKE);
	__asm__ volatile(".byte 0x0f, 0x01, 0xee"	/* RDPKRU */
			 : "=a"(pkru) : "c"(0) : "rdx");
	write_cr4(cr4);
	irq_restore(irq_was_on);
	return pkru;
}

static void set_user_state(struct vcpu *vcpu)
{
	shadow_set_user_state(&vcpu->shadow,
			      vcpu->regs.rflags & RFLAGS_AC,
			      guest_pkru(vcpu));
}

/*
 * A write the MMU wants emulated, during the delivery of an event (the
 * guest's stack or IDT shares a page with a page table): the instruction
 * at RIP did not make it, so emulating would be wrong. Unshadow the page
 * and let the delivery run again (KVM does the same).
 */
static bool emulate_or_unprotect(struct vcpu *vcpu, uint64_t gpa)
{
	if (!vcpu->exit.in_event_delivery)
		return emulate_guest_insn(vcpu, EMULATE_PT_WRITE, gpa);
	shadow_unprotect_gfn(&vcpu->vm->shadow, gpa >> 12);
	return true;
}

bool handle_shadow_pf(struct vcpu *vcpu)
{
	const struct vcpu_exit *e = &vcpu->exit;
	uint64_t gva = e->exception.cr2;
	struct shadow_fault f;
	char why[128];

	set_user_state(vcpu);
	shadow_page_fault(&vcpu->shadow, gva, e->exception.error_code,
			  vcpu->sregs.cpl, &f);
	switch (f.result) {
	case SHADOW_FAULT_FIXED:
	case SHADOW_FAULT_RETRY:
		return true;
	case SHADOW_FAULT_INJECT:
		virt->set_cr2(vcpu, gva);
		virt->inject_exception(vcpu, VECTOR_PF, true, f.error_code);
		return true;
	case SHADOW_FAULT_EMULATE:
		return emulate_or_unprotect(vcpu, f.gpa);
	case SHADOW_FAULT_MMIO:
		if (e->exception.error_code & PFERR_FETCH) {
			snprintf(why, sizeof(why), "executed from unassigned "
				 "guest-physical address 0x%lx",
				 (unsigned long)f.gpa);
			return stop_with_dump(vcpu, why);
		}
		if (e->in_event_delivery) {
			snprintf(why, sizeof(why), "event delivery touched "
				 "unassigned guest-physical address 0x%lx",
				 (unsigned long)f.gpa);
			return stop_with_dump(vcpu, why);
		}
		return emulate_guest_insn(vcpu, EMULATE_MMIO, f.gpa);
	case SHADOW_FAULT_MEM_ERROR:
		snprintf(why, sizeof(why), "the guest's page tables for "
			 "0x%lx lie outside its RAM", (unsigned long)gva);
		return stop_with_dump(vcpu, why);
	case SHADOW_FAULT_NOMEM:
		break;
	}
	return stop_with_dump(vcpu, "out of memory for shadow page tables");
}

/* ---- CR access and INVLPG exits ------------------------------------------ */

static bool in_64bit_mode(const struct vcpu *vcpu)
{
	return (vcpu->shadow.paging.efer & EFER_LMA) && vcpu->sregs.cs_long;
}

/* A decoded CR access (VMX tells the operands). */
static int decoded_cr_access(struct vcpu *vcpu)
{
	const struct vcpu_exit *e = &vcpu->exit;
	uint64_t *reg = emu_gpr(&vcpu->regs, e->cr.gpr);
	uint64_t cr0 = vcpu->shadow.paging.cr0, value;
	int r;

	switch (e->cr.kind) {
	case CR_ACCESS_MOV_TO:
		value = in_64bit_mode(vcpu) ? *reg : (uint32_t)*reg;
		return shadow_cr_write(vcpu, e->cr.cr, value);
	case CR_ACCESS_MOV_FROM:
		r = shadow_cr_read(vcpu, e->cr.cr, &value);
		if (r == 0)
			*reg = in_64bit_mode(vcpu) ? value : (uint32_t)value;
		return r;
	case CR_ACCESS_CLTS:
		return shadow_cr_write(vcpu, 0, cr0 & ~CR0_TS);
	default:	/* LMSW: bits 3:0; it can set PE, not clear it */
		return shadow_cr_write(vcpu, 0, (cr0 & ~0xeull) |
				       (e->cr.lmsw_source & 0xf));
	}
}

static bool finish_insn(struct vcpu *vcpu, int r)
{
	if (r < 0)
		return false;
	if (r > 0) {
		virt->inject_exception(vcpu, 13, true, 0);
		return true;	/* RIP stays: the fault is the instruction's */
	}
	skip_instruction(vcpu);
	return true;
}

bool handle_cr_access(struct vcpu *vcpu)
{
	vcpu->cr_exits++;
	if (!vcpu->exit.cr.decoded)
		return emulate_guest_insn(vcpu, EMULATE_SYSTEM, 0);
	return finish_insn(vcpu, decoded_cr_access(vcpu));
}

bool handle_invlpg(struct vcpu *vcpu)
{
	if (!vcpu->exit.invlpg.decoded)
		return emulate_guest_insn(vcpu, EMULATE_SYSTEM, 0);
	shadow_vcpu_invlpg(vcpu, vcpu->exit.invlpg.gva);
	return finish_insn(vcpu, 0);
}

/* ---- Counters ------------------------------------------------------------ */

void vm_shadow_print_stats(const struct vm *vm)
{
	struct shadow_stats s;
	uint64_t invlpgs = 0, cr_exits = 0;

	shadow_mmu_get_stats(&vm->shadow, &s);
	for (unsigned i = 0; i < vm->vcpu_count; i++) {
		invlpgs += vm->vcpus[i]->invlpg_count;
		cr_exits += vm->vcpus[i]->cr_exits;
	}
	pr_info("  %-12s shadow: faults=%lu fixed=%lu injected=%lu "
		"emulated=%lu mmio=%lu mmio_fast=%lu pte_writes=%lu "
		"pte_write_zaps=%lu\n", vm->name, (unsigned long)s.faults,
		(unsigned long)s.fixed, (unsigned long)s.injected,
		(unsigned long)s.emulated, (unsigned long)s.mmio,
		(unsigned long)s.mmio_fast, (unsigned long)s.pte_writes,
		(unsigned long)s.pte_write_zaps);
	pr_info("  %-12s shadow: unsync=%lu synced=%lu flooded=%lu "
		"pages=%lu created=%lu reclaimed=%lu zap_all=%lu "
		"cr3_loads=%lu invlpg=%lu cr_exits=%lu tlb_flushes=%lu "
		"ipis=%lu\n", vm->name, (unsigned long)s.unsynced,
		(unsigned long)s.synced, (unsigned long)s.flooded,
		(unsigned long)s.pages, (unsigned long)s.pages_created,
		(unsigned long)s.reclaimed, (unsigned long)s.zap_all,
		(unsigned long)s.cr3_loads, (unsigned long)invlpgs,
		(unsigned long)cr_exits,
		(unsigned long)vm->tlb_flush_requests,
		(unsigned long)vm->tlb_flush_ipis);
}
