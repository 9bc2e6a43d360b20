/*
 * SVM vCPUs: the VMCB and its permission maps, the guest's entry state,
 * ASIDs and TLB control, entering the guest, event injection, and the
 * MSRs whose guest value lives in the VMCB (AMD APM vol. 2, chapter 15).
 *
 * Every function here runs on the vCPU's own physical CPU, so the VMCB
 * needs no lock: it is only read and written by that CPU, between VMRUNs.
 */
#include "arch/x86/svm/svm.h"
#include "arch/x86/cpu.h"
#include "arch/x86/svm/vmcb.h"
#include "kernel/kmalloc.h"
#include "kernel/mm.h"
#include "kernel/printk.h"
#include "kernel/string.h"
#include "smp/percpu.h"
#include "virt/shadow_vm.h"
#include "virt/vcpu.h"
#include "virt/vm.h"

/* entry.asm addresses struct vcpu_regs by these offsets. */
_Static_assert(offsetof(struct vcpu_regs, rbx) == 8, "entry.asm REGS_RBX");
_Static_assert(offsetof(struct vcpu_regs, rdi) == 40, "entry.asm REGS_RDI");
_Static_assert(offsetof(struct vcpu_regs, rbp) == 48, "entry.asm REGS_RBP");
_Static_assert(offsetof(struct vcpu_regs, r8) == 64, "entry.asm REGS_R8");
_Static_assert(offsetof(struct vcpu_regs, r15) == 120, "entry.asm REGS_R15");

#define EFER_FFXSR		(1ull << 14)
#define EFER_TCE		(1ull << 15)

#define PAT_POWER_ON		0x0007040600070406ull
#define DR6_INIT		0xffff0ff0ull
#define DR7_INIT		0x400ull

#define VECTOR_DF		8
#define VECTOR_PF		14
#define VECTOR_AC		17
#define VECTOR_MC		18

/* ---- ASIDs and TLB control --------------------------------------------- */

/*
 * ASIDs tag each core's TLB entries, so they need only be unique per
 * physical CPU. Each CPU hands out its ASIDs (1 to nr_asids - 1; 0 is the
 * host's) in order, each one at most once per generation. When they run
 * out, a new generation starts: TLB_CONTROL = 1 flushes every ASID on
 * this core, and every vCPU that runs here takes a new ASID. A fresh ASID
 * therefore tags no translation yet, and taking one is a flush of that
 * vCPU's translations that leaves the others' (and the host's) alone.
 *
 * A vCPU takes a new ASID when it first runs on a CPU (or on another CPU
 * than last time), when its CPU started a new generation, and on a flush
 * request if the CPU cannot flush by ASID (QEMU's TCG cannot). With
 * flush-by-ASID, a flush request is TLB_CONTROL = 3 on its own ASID.
 *
 * Only the CPU itself touches its pool, with interrupts off (in vcpu_run):
 * no lock.
 */
struct asid_pool {
	uint64_t generation;		/* 0: nothing handed out yet */
	uint32_t next;
};

static struct asid_pool asid_pools[MAX_CPUS];

static void new_asid(struct vcpu *vcpu, struct svm_vcpu *svm, unsigned cpu)
{
	struct asid_pool *pool = &asid_pools[cpu];

	if (pool->generation == 0 || pool->next >= svm_caps.nr_asids) {
		pool->generation++;
		pool->next = 1;
		svm->vmcb->control.tlb_control = VMCB_TLB_FLUSH_ALL;
	}
	vcpu->asid = pool->next++;
	svm->asid_generation = pool->generation;
	svm->asid_cpu = cpu;
	svm->vmcb->control.guest_asid = vcpu->asid;
	svm->dirty |= VMCB_CLEAN_ASID;
}

/* Before each VMRUN, interrupts off. */
static void prepare_tlb(struct vcpu *vcpu, struct svm_vcpu *svm)
{
	unsigned cpu = this_cpu_id();

	if (vcpu_take_flush_request(vcpu))
		svm->flush_tlb = true;
	if (svm->asid_generation == 0 || svm->asid_cpu != cpu ||
	    svm->asid_generation != asid_pools[cpu].generation)
		new_asid(vcpu, svm, cpu);
	else if (svm->flush_tlb && svm_caps.flush_by_asid)
		svm->vmcb->control.tlb_control = VMCB_TLB_FLUSH_ASID;
	else if (svm->flush_tlb)
		new_asid(vcpu, svm, cpu);
	svm->flush_tlb = false;
}

/* ---- Creating and destroying ------------------------------------------- */

static void set_seg(struct vmcb_seg *seg, uint16_t selector, uint16_t attrib,
		    uint32_t limit)
{
	*seg = (struct vmcb_seg){ .selector = selector, .attrib = attrib,
				  .limit = limit, .base = 0 };
}

/* Flat 32-bit: code DPL 0 execute/read accessed, data read/write
 * accessed; both present, S, D/B and G. */
#define ATTR_CODE32	(VMCB_ATTR_G | VMCB_ATTR_DB | VMCB_ATTR_P | \
			 VMCB_ATTR_S | 0xb)			/* 0xc9b */
#define ATTR_DATA32	(VMCB_ATTR_G | VMCB_ATTR_DB | VMCB_ATTR_P | \
			 VMCB_ATTR_S | 0x3)			/* 0xc93 */
#define ATTR_LDT	(VMCB_ATTR_P | 0x2)			/* 0x082 */
#define ATTR_TSS32_BUSY	(VMCB_ATTR_P | 0xb)			/* 0x08b */

/* The state a multiboot1 kernel is entered in: 32-bit protected mode,
 * paging off, flat segments, interrupts off. The guest loads its own
 * GDT and IDT before it relies on them. */
static void init_save_area(struct vmcb_save *save)
{
	set_seg(&save->cs, 0x08, ATTR_CODE32, 0xffffffff);
	set_seg(&save->ds, 0x10, ATTR_DATA32, 0xffffffff);
	set_seg(&save->es, 0x10, ATTR_DATA32, 0xffffffff);
	set_seg(&save->ss, 0x10, ATTR_DATA32, 0xffffffff);
	set_seg(&save->fs, 0x10, ATTR_DATA32, 0xffffffff);
	set_seg(&save->gs, 0x10, ATTR_DATA32, 0xffffffff);
	set_seg(&save->gdtr, 0, 0, 0xffff);
	set_seg(&save->idtr, 0, 0, 0xffff);
	set_seg(&save->ldtr, 0, ATTR_LDT, 0xffff);
	set_seg(&save->tr, 0, ATTR_TSS32_BUSY, 0xffff);
	save->cpl = 0;
	save->efer = EFER_SVME;		/* VMRUN refuses a guest without it */
	save->cr0 = CR0_PE | CR0_ET;
	save->cr3 = 0;
	save->cr4 = 0;
	save->cr2 = 0;
	save->dr6 = DR6_INIT;
	save->dr7 = DR7_INIT;
	save->g_pat = PAT_POWER_ON;
	save->rflags = 0x2;
}

/*
 * Shadow paging (virt/shadow_vm.h): no nested paging; the guest's CR0,
 * CR3 and CR4 are not the hardware's, so reads and writes of them exit
 * (reads only to give the guest its own value; SMSW is a CR0 read too);
 * every #PF goes to the shadow MMU, INVLPG too; a task switch would load
 * CR3 behind the MMU's back, so it exits and stops the VM.
 */
#define CR_INTERCEPTS_SHADOW	(0x19u | 0x19u << 16)	/* CR0, CR3, CR4 */

static void init_shadow_intercepts(struct vmcb_control *c)
{
	c->np_control = 0;
	c->intercept_cr = CR_INTERCEPTS_SHADOW;
	c->intercept_exceptions |= 1u << VECTOR_PF;
	c->intercept_misc1 |= VMCB_INTERCEPT_INVLPG |
			      VMCB_INTERCEPT_TASK_SWITCH;
}

static void init_control_area(struct svm_vcpu *svm, bool shadow)
{
	struct vmcb_control *c = &svm->vmcb->control;

	/*
	 * #AC is reflected back (exit.c) so a guest whose #AC handler
	 * itself raises #AC cannot hold the CPU in microcode forever (no
	 * interrupt could end it); #MC belongs to the host.
	 */
	c->intercept_exceptions = (1u << VECTOR_AC) | (1u << VECTOR_MC);
	c->intercept_misc1 = VMCB_INTERCEPT_INTR | VMCB_INTERCEPT_NMI |
			     VMCB_INTERCEPT_SMI | VMCB_INTERCEPT_INIT |
			     VMCB_INTERCEPT_CPUID | VMCB_INTERCEPT_INVD |
			     VMCB_INTERCEPT_HLT | VMCB_INTERCEPT_INVLPGA |
			     VMCB_INTERCEPT_IOIO_PROT |
			     VMCB_INTERCEPT_MSR_PROT |
			     VMCB_INTERCEPT_SHUTDOWN;
	c->intercept_misc2 = VMCB_INTERCEPT_VMRUN | VMCB_INTERCEPT_VMMCALL |
			     VMCB_INTERCEPT_VMLOAD | VMCB_INTERCEPT_VMSAVE |
			     VMCB_INTERCEPT_STGI | VMCB_INTERCEPT_CLGI |
			     VMCB_INTERCEPT_SKINIT | VMCB_INTERCEPT_MONITOR |
			     VMCB_INTERCEPT_MWAIT |
			     VMCB_INTERCEPT_MWAIT_ARMED |
			     VMCB_INTERCEPT_XSETBV;
	c->iopm_base_pa = svm->iopm_pa;
	c->msrpm_base_pa = svm->msrpm_pa;
	c->tsc_offset = 0;
	c->guest_asid = 0;		/* prepare_tlb gives one */
	c->tlb_control = VMCB_TLB_NOTHING;
	/* The guest's RFLAGS.IF masks only virtual interrupts; physical
	 * ones follow the host's IF and exit with the INTR intercept. */
	c->int_control = VMCB_V_INTR_MASKING;
	c->np_control = VMCB_NP_ENABLE;
	c->event_inj = 0;
	c->clean = 0;
	if (shadow)
		init_shadow_intercepts(c);
}

static void free_backend(struct vcpu *vcpu, struct svm_vcpu *svm)
{
	if (svm->vmcb_pa)
		free_frame(svm->vmcb_pa);
	if (svm->iopm_pa)
		free_frames(svm->iopm_pa, SVM_IOPM_PAGES);
	if (svm->msrpm_pa)
		free_frames(svm->msrpm_pa, SVM_MSRPM_PAGES);
	vcpu->asid = 0;
	kfree(svm);
	vcpu->arch = NULL;
}

static uint64_t alloc_or_zero(uint64_t pages)
{
	uint64_t pa = alloc_frames(pages, 1);

	return pa == FRAME_NONE ? 0 : pa;
}

bool svm_vcpu_create(struct vcpu *vcpu)
{
	const char *name = vcpu->vm->name;
	bool shadow = vm_is_shadow(vcpu->vm);
	struct svm_vcpu *svm;

	if (!svm_caps.npt && !shadow) {
		pr_err("[%s/%u] SVM without nested paging: this guest needs "
		       "mmu=shadow\n", name, vcpu->id);
		return false;
	}
	svm = kmalloc(sizeof(*svm));
	if (!svm) {
		pr_err("[%s/%u] out of memory for the vCPU\n", name, vcpu->id);
		return false;
	}
	vcpu->arch = svm;
	svm->vmcb_pa = alloc_or_zero(1);
	svm->iopm_pa = alloc_or_zero(SVM_IOPM_PAGES);
	svm->msrpm_pa = alloc_or_zero(SVM_MSRPM_PAGES);
	if (!svm->vmcb_pa || !svm->iopm_pa || !svm->msrpm_pa ||
	    !svm_host_vmcb_alloc(this_cpu_id())) {
		pr_err("[%s/%u] out of memory for the VMCB, its permission "
		       "maps or the host state page\n", name, vcpu->id);
		free_backend(vcpu, svm);
		return false;
	}
	if (svm_caps.nr_asids < 2) {
		pr_err("[%s/%u] the CPU has no ASID for guests\n", name,
		       vcpu->id);
		free_backend(vcpu, svm);
		return false;
	}
	memset(phys_to_virt(svm->iopm_pa), 0xff, SVM_IOPM_PAGES * PAGE_SIZE);
	memset(phys_to_virt(svm->msrpm_pa), 0xff, SVM_MSRPM_PAGES * PAGE_SIZE);
	svm->vmcb = phys_to_virt(svm->vmcb_pa);
	init_control_area(svm, shadow);
	init_save_area(&svm->vmcb->save);
	svm->dirty = VMCB_CLEAN_ALL;	/* the first VMRUN caches nothing */
	svm->asid_generation = 0;	/* no ASID yet: prepare_tlb gives one */
	svm->flush_tlb = false;
	svm->shutdown_pending = false;
	svm_read_sregs(vcpu);
	return true;
}

void svm_vcpu_destroy(struct vcpu *vcpu)
{
	if (vcpu->arch)
		free_backend(vcpu, vcpu->arch);
}

/* ---- Running ----------------------------------------------------------- */

static void enter_guest(struct vcpu *vcpu, struct svm_vcpu *svm)
{
	struct vmcb *vmcb = svm->vmcb;

	vmcb->save.rax = vcpu->regs.rax;
	vmcb->save.rsp = vcpu->regs.rsp;
	vmcb->save.rip = vcpu->regs.rip;
	vmcb->save.rflags = vcpu->regs.rflags;
	prepare_tlb(vcpu, svm);
	/* Without the feature the field is ignored; 0 is right either way. */
	vmcb->control.clean = svm_caps.vmcb_clean ?
			      VMCB_CLEAN_ALL & ~svm->dirty : 0;

	svm_vmrun(&vcpu->regs, svm->vmcb_pa, svm_host_vmcb_pa(this_cpu_id()));

	vmcb->control.tlb_control = VMCB_TLB_NOTHING;
	svm->dirty = 0;
	vcpu->regs.rax = vmcb->save.rax;
	vcpu->regs.rsp = vmcb->save.rsp;
	vcpu->regs.rip = vmcb->save.rip;
	vcpu->regs.rflags = vmcb->save.rflags;
}

void svm_vcpu_run(struct vcpu *vcpu)
{
	struct svm_vcpu *svm = vcpu->arch;

	do {
		if (svm->shutdown_pending) {
			/* inject_exception found a fault on a #DF: what the
			 * CPU would do is shut down. */
			svm->shutdown_pending = false;
			svm->vmcb->control.event_inj = 0;
			vcpu->exit = (struct vcpu_exit){
				.reason = EXIT_TRIPLE_FAULT,
				.vendor_code = SVM_EXIT_SHUTDOWN,
			};
			return;
		}
		enter_guest(vcpu, svm);
		svm_decode_exit(vcpu);
	} while (svm_handle_exit_here(vcpu));
}

/* ---- Events ------------------------------------------------------------ */

static bool is_contributory(uint8_t vector)
{
	return vector == 0 || (vector >= 10 && vector <= 13);
}

/*
 * An exception raised while another one waits in EVENTINJ (one whose
 * delivery an exit interrupted) combines as on the CPU: contributory on
 * contributory, or #PF then #PF or contributory, is a #DF; anything of
 * those on a #DF is a shutdown. Other pairs: the new exception is taken
 * (the older fault comes back when its instruction runs again).
 */
void svm_set_cr2(struct vcpu *vcpu, uint64_t cr2)
{
	struct svm_vcpu *svm = vcpu->arch;

	svm->vmcb->save.cr2 = cr2;
	vcpu->sregs.cr2 = cr2;
}

void svm_inject_exception(struct vcpu *vcpu, uint8_t vector,
			  bool has_error_code, uint32_t error_code)
{
	struct svm_vcpu *svm = vcpu->arch;
	struct vmcb *vmcb = svm->vmcb;
	uint64_t pending = vmcb->control.event_inj;
	uint64_t event;

	if ((pending & VMCB_EVENT_VALID) &&
	    (pending & VMCB_EVENT_TYPE_MASK) == VMCB_EVENT_TYPE_EXCEPTION) {
		uint8_t first = pending & VMCB_EVENT_VECTOR_MASK;
		bool serious = is_contributory(vector) || vector == VECTOR_PF;

		if (first == VECTOR_DF && serious) {
			svm->shutdown_pending = true;
			return;
		}
		if ((is_contributory(first) && is_contributory(vector)) ||
		    (first == VECTOR_PF && serious)) {
			vector = VECTOR_DF;
			has_error_code = true;
			error_code = 0;
		}
	}
	/* Real mode pushes no error code. */
	if (!(vmcb->save.cr0 & CR0_PE))
		has_error_code = false;
	event = vector | VMCB_EVENT_TYPE_EXCEPTION | VMCB_EVENT_VALID;
	if (has_error_code)
		event |= VMCB_EVENT_ERROR_VALID |
			 (uint64_t)error_code << VMCB_EVENT_ERROR_SHIFT;
	vmcb->control.event_inj = event;
}

/* ---- Nested paging and the TLB ----------------------------------------- */

void svm_load_mmu_root(struct vcpu *vcpu, uint64_t root_hpa)
{
	struct svm_vcpu *svm = vcpu->arch;

	if (svm->vmcb->control.n_cr3 == root_hpa)
		return;
	svm->vmcb->control.n_cr3 = root_hpa;
	svm->dirty |= VMCB_CLEAN_NP;
	/* Translations tagged with this ASID came from the old root. */
	svm->flush_tlb = true;
}

/* Shadow paging: the hardware state that runs the guest on its shadow
 * tables (the guest's own view is vcpu->shadow.paging). */
void svm_load_shadow_state(struct vcpu *vcpu, bool flush)
{
	struct svm_vcpu *svm = vcpu->arch;
	struct vmcb_save *save = &svm->vmcb->save;
	const struct shadow_vcpu *sv = &vcpu->shadow;

	save->cr0 = shadow_hw_cr0(sv);
	save->cr3 = sv->root_hpa;
	save->cr4 = shadow_hw_cr4(sv);
	save->efer = shadow_hw_efer(sv) | EFER_SVME;
	svm->dirty |= VMCB_CLEAN_CRX;
	if (flush)
		svm->flush_tlb = true;
}

void svm_flush_guest_tlb(struct vcpu *vcpu)
{
	struct svm_vcpu *svm = vcpu->arch;

	svm->flush_tlb = true;
}

/* ---- MSRs kept in the VMCB --------------------------------------------- */

static bool is_canonical(uint64_t va)
{
	unsigned bits = 48;

	if (cpuid_max_ext() >= 0x80000008) {
		unsigned reported = (cpuid(0x80000008).eax >> 8) & 0xff;

		if (reported >= 32 && reported < 64)
			bits = reported;
	}
	return (uint64_t)((int64_t)(va << (64 - bits)) >> (64 - bits)) == va;
}

static uint64_t efer_writable_bits(void)
{
	uint64_t bits = EFER_SCE | EFER_LME | EFER_LMA;
	struct cpuid_regs ext = cpuid(0x80000001);

	if (ext.edx & (1u << 20))
		bits |= EFER_NXE;
	if (ext.edx & (1u << 25))
		bits |= EFER_FFXSR;
	if (ext.ecx & (1u << 17))
		bits |= EFER_TCE;
	return bits;
}

/* The guest never sees SVME (its CPUID has no SVM), and VMRUN needs it
 * set: reads hide it, writes keep it. LMA is the CPU's to change. */
static bool guest_efer(struct vmcb_save *save, bool write, uint64_t *value,
		       bool *gp, uint32_t *dirty)
{
	if (!write) {
		*value = save->efer & ~EFER_SVME;
		return true;
	}
	if ((*value & ~efer_writable_bits()) ||
	    ((save->cr0 & CR0_PG) && ((*value ^ save->efer) & EFER_LME))) {
		*gp = true;
		return true;
	}
	save->efer = (*value & ~EFER_LMA) | (save->efer & EFER_LMA) |
		     EFER_SVME;
	*dirty |= VMCB_CLEAN_CRX;
	return true;
}

/* Each PAT entry must be a memory type: UC, WC, WT, WP, WB or UC-. */
static bool pat_valid(uint64_t pat)
{
	for (unsigned i = 0; i < 8; i++) {
		uint8_t type = pat >> (8 * i);

		if (type > 7 || type == 2 || type == 3)
			return false;
	}
	return true;
}

/* The VMCB field behind an MSR that VMLOAD/VMSAVE move, or NULL. Whether
 * its value must be canonical goes to *canonical. */
static uint64_t *loadable_msr(struct vmcb_save *save, uint32_t index,
			      bool *canonical)
{
	*canonical = true;
	switch (index) {
	case MSR_FS_BASE:	return &save->fs.base;
	case MSR_GS_BASE:	return &save->gs.base;
	case MSR_KERNEL_GS_BASE: return &save->kernel_gs_base;
	case MSR_LSTAR:		return &save->lstar;
	case MSR_CSTAR:		return &save->cstar;
	case MSR_SYSENTER_ESP:	return &save->sysenter_esp;
	case MSR_SYSENTER_EIP:	return &save->sysenter_eip;
	}
	*canonical = false;
	switch (index) {
	case MSR_STAR:		return &save->star;
	case MSR_SFMASK:	return &save->sfmask;
	case MSR_SYSENTER_CS:	return &save->sysenter_cs;
	}
	return NULL;
}

bool svm_guest_msr(struct vcpu *vcpu, bool write, uint32_t index,
		   uint64_t *value, bool *gp)
{
	struct svm_vcpu *svm = vcpu->arch;
	struct vmcb_save *save = &svm->vmcb->save;
	bool canonical;
	uint64_t *field;

	if (index == MSR_EFER)
		return guest_efer(save, write, value, gp, &svm->dirty);
	if (index == MSR_PAT) {
		/* With nested paging the guest's PAT is G_PAT. */
		if (!write) {
			*value = save->g_pat;
		} else if (!pat_valid(*value)) {
			*gp = true;
		} else {
			save->g_pat = *value;
			svm->dirty |= VMCB_CLEAN_NP;
		}
		return true;
	}
	field = loadable_msr(save, index, &canonical);
	if (!field)
		return false;
	if (!write)
		*value = *field;
	else if (canonical && !is_canonical(*value))
		*gp = true;
	else
		*field = *value;	/* VMLOAD takes it at the next entry */
	return true;
}

/* ---- Register dump ----------------------------------------------------- */

static void dump_seg(struct vcpu *vcpu, const char *name,
		     const struct vmcb_seg *s)
{
	pr_info("[%s/%u]   %-4s sel %04x attr %03x limit %08x base %016lx\n",
		vcpu->vm->name, vcpu->id, name, s->selector, s->attrib,
		s->limit, (unsigned long)s->base);
}

void svm_dump_state(struct vcpu *vcpu)
{
	struct svm_vcpu *svm = vcpu->arch;
	const struct vmcb_control *c = &svm->vmcb->control;
	const struct vmcb_save *s = &svm->vmcb->save;
	const char *n = vcpu->vm->name;
	unsigned id = vcpu->id;

	dump_seg(vcpu, "CS", &s->cs);
	dump_seg(vcpu, "SS", &s->ss);
	dump_seg(vcpu, "DS", &s->ds);
	dump_seg(vcpu, "ES", &s->es);
	dump_seg(vcpu, "FS", &s->fs);
	dump_seg(vcpu, "GS", &s->gs);
	dump_seg(vcpu, "LDTR", &s->ldtr);
	dump_seg(vcpu, "TR", &s->tr);
	pr_info("[%s/%u]   GDTR %016lx/%04x IDTR %016lx/%04x CPL %u "
		"DR6 %lx DR7 %lx\n", n, id, (unsigned long)s->gdtr.base,
		s->gdtr.limit, (unsigned long)s->idtr.base, s->idtr.limit,
		s->cpl, (unsigned long)s->dr6, (unsigned long)s->dr7);
	pr_info("[%s/%u]   VMCB EFER %lx G_PAT %016lx ASID %u N_CR3 %lx "
		"interrupt shadow %lu\n", n, id, (unsigned long)s->efer,
		(unsigned long)s->g_pat, c->guest_asid,
		(unsigned long)c->n_cr3, (unsigned long)(c->int_state & 1));
	pr_info("[%s/%u]   SVM exit code 0x%lx EXITINFO1 0x%lx EXITINFO2 "
		"0x%lx EXITINTINFO 0x%lx EVENTINJ 0x%lx\n", n, id,
		(unsigned long)c->exit_code, (unsigned long)c->exit_info1,
		(unsigned long)c->exit_info2, (unsigned long)c->exit_int_info,
		(unsigned long)c->event_inj);
}
