/*
 * VMX vCPUs: the VMCS, its controls, host and guest state, and the run
 * loop around VMLAUNCH/VMRESUME (Intel SDM vol. 3C, chapters 25-28).
 *
 * A vCPU lives on one physical CPU for its whole life (virt/run.c), so its
 * VMCS is made current there once, in vcpu_create, and stays current: the
 * host state is written once, and run only reloads it with VMPTRLD if
 * another VMCS was made current on that CPU in between.
 *
 * Guests enter as a multiboot1 kernel would: 32-bit protected mode with
 * paging off. VMX allows CR0.PG = 0 only with "unrestricted guest", which
 * is therefore required, as are EPT (it is what makes unrestricted guest
 * possible) and INVEPT to flush it.
 */
#include "arch/x86/vmx/vmcs.h"
#include "arch/x86/vmx/vmx.h"
#include "arch/x86/cpu.h"
#include "arch/x86/desc.h"
#include "kernel/kmalloc.h"
#include "kernel/mm.h"
#include "kernel/panic.h"
#include "kernel/printk.h"
#include "smp/percpu.h"
#include "smp/spinlock.h"
#include "virt/shadow_vm.h"
#include "virt/vcpu.h"
#include "virt/vm.h"

_Static_assert(offsetof(struct vcpu_regs, rax) == 0 &&
	       offsetof(struct vcpu_regs, rbx) == 8 &&
	       offsetof(struct vcpu_regs, rcx) == 16 &&
	       offsetof(struct vcpu_regs, rdx) == 24 &&
	       offsetof(struct vcpu_regs, rsi) == 32 &&
	       offsetof(struct vcpu_regs, rdi) == 40 &&
	       offsetof(struct vcpu_regs, rbp) == 48 &&
	       offsetof(struct vcpu_regs, r8) == 64 &&
	       offsetof(struct vcpu_regs, r15) == 120,
	       "entry.asm's REGS_* offsets");

#define PAT_POWER_ON		0x0007040600070406ull
#define DR7_POWER_ON		0x400ull
#define RFLAGS_FIXED		0x2ull
#define VECTOR_PF		14

/* The VMCS current on each CPU, so run knows when to VMPTRLD again. */
static uint64_t current_vmcs[MAX_CPUS];

/* ---- VPIDs -------------------------------------------------------------- */

/*
 * One VPID per vCPU, never 0 (VPID 0 is the host's, and entering with it
 * is an invalid control). A VPID that comes back here may still tag
 * translations on some CPU: the first entry of every vCPU flushes its
 * VPID, so reuse is safe.
 */
#define VPID_MAX 1024
static uint64_t vpid_used[VPID_MAX / 64];
static struct spinlock vpid_lock = SPINLOCK_INIT("vmx vpids");

static uint16_t vpid_alloc(void)
{
	uint16_t vpid = 0;

	spin_lock(&vpid_lock);
	for (unsigned v = 1; v < VPID_MAX; v++)
		if (!(vpid_used[v / 64] & (1ull << (v % 64)))) {
			vpid_used[v / 64] |= 1ull << (v % 64);
			vpid = (uint16_t)v;
			break;
		}
	spin_unlock(&vpid_lock);
	return vpid;
}

static void vpid_free(uint16_t vpid)
{
	if (!vpid)
		return;
	spin_lock(&vpid_lock);
	vpid_used[vpid / 64] &= ~(1ull << (vpid % 64));
	spin_unlock(&vpid_lock);
}

/* ---- Controls ----------------------------------------------------------- */

/*
 * A control word from what hv wants and what the CPU allows: the wanted
 * bits it may set, plus every bit it must set (SDM A.3: the allowed
 * 0-settings and 1-settings). 'need' are wanted bits hv cannot do
 * without; if one is not allowed, the sentence goes to the log.
 */
static bool adjust_controls(const char *what, const struct vmx_ctl_caps *c,
			    uint32_t want, uint32_t need, uint32_t *out)
{
	uint32_t value = (want & c->may_be_one) | c->must_be_one;
	uint32_t missing = need & ~value;

	if (missing) {
		pr_err("vmx: this CPU cannot run guests: its %s controls "
		       "lack 0x%x (allowed 0x%x)\n", what, missing,
		       c->may_be_one);
		return false;
	}
	*out = value;
	return true;
}

/* What the CPU must offer beyond VMXON; says why not, once per vCPU. */
static bool cpu_can_run_guests(void)
{
	if (!vmx_caps.unrestricted_guest) {
		pr_err("vmx: this CPU has no \"unrestricted guest\": guests "
		       "start in 32-bit protected mode with paging off, which "
		       "VMX runs only with it\n");
		return false;
	}
	if (!vmx_caps.ept || !vmx_caps.ept_walk_4 || !vmx_caps.ept_wb) {
		pr_err("vmx: this CPU has no EPT with 4-level tables in "
		       "write-back memory\n");
		return false;
	}
	if (!vmx_caps.invept_single && !vmx_caps.invept_all) {
		pr_err("vmx: this CPU has EPT but no INVEPT to flush it\n");
		return false;
	}
	return true;
}

/* VPID only with an INVVPID that can flush one VPID or all of them. */
static bool use_vpid(void)
{
	return vmx_caps.vpid &&
	       (vmx_caps.invvpid_single || vmx_caps.invvpid_all);
}

struct vmx_controls {
	uint32_t pin, proc, proc2, exit, entry;
};

/*
 * Exits hv needs: physical interrupts and NMIs (so the host keeps its
 * CPU), HLT, all I/O, all MSRs (no MSR bitmap), CR8 (else the guest
 * would write the host's real TPR), MONITOR/MWAIT (hidden in CPUID: the
 * guest gets #UD). Not wanted: CR3 and INVLPG exits (EPT makes them
 * pointless; cr.c and exit.c still handle them if a CPU forces them).
 * Acknowledge-interrupt-on-exit stays 0: the interrupt stays pending in
 * the local APIC, and the host takes it when run.c enables interrupts.
 */
/*
 * Shadow paging instead: no EPT (nor unrestricted guest, which needs
 * it: the hardware's CR0.PE and PG are always on there); CR3 loads and
 * stores and INVLPG exit; INVPCID stays off, so it raises #UD, as the
 * guest's CPUID (without it) says.
 */
static bool compute_controls(struct vmx_controls *c, bool shadow)
{
	uint32_t proc2 = VMX_PROC2_EPT | VMX_PROC2_UNRESTRICTED_GUEST |
			 PROC2_ENABLE_RDTSCP | PROC2_ENABLE_INVPCID;
	uint32_t proc2_need = VMX_PROC2_EPT | VMX_PROC2_UNRESTRICTED_GUEST;
	uint32_t proc_need = PROC_HLT_EXITING | PROC_UNCOND_IO_EXITING |
			     PROC_CR8_LOAD_EXITING | PROC_CR8_STORE_EXITING |
			     VMX_PROC_ACTIVATE_SECONDARY;

	if (shadow) {
		proc2 = PROC2_ENABLE_RDTSCP;
		proc2_need = 0;
		proc_need |= PROC_CR3_LOAD_EXITING | PROC_CR3_STORE_EXITING |
			     PROC_INVLPG_EXITING;
	}
	uint32_t exit_need = EXIT_HOST_ADDR_SPACE_SIZE | EXIT_SAVE_EFER |
			     EXIT_LOAD_EFER | EXIT_SAVE_PAT | EXIT_LOAD_PAT;
	uint32_t entry_need = ENTRY_LOAD_EFER | ENTRY_LOAD_PAT;

	if (use_vpid())
		proc2 |= VMX_PROC2_VPID;
	if (!adjust_controls("pin-based", &vmx_caps.pin,
			     PIN_EXTERNAL_INTR_EXITING | PIN_NMI_EXITING,
			     PIN_EXTERNAL_INTR_EXITING | PIN_NMI_EXITING,
			     &c->pin) ||
	    !adjust_controls("processor-based", &vmx_caps.proc,
			     proc_need | PROC_MWAIT_EXITING |
			     PROC_MONITOR_EXITING, proc_need, &c->proc) ||
	    !adjust_controls("secondary processor-based", &vmx_caps.proc2,
			     proc2, proc2_need, &c->proc2) ||
	    !adjust_controls("VM-exit", &vmx_caps.exit,
			     exit_need | EXIT_SAVE_DEBUG_CONTROLS, exit_need,
			     &c->exit) ||
	    !adjust_controls("VM-entry", &vmx_caps.entry,
			     entry_need | ENTRY_LOAD_DEBUG_CONTROLS,
			     entry_need, &c->entry))
		return false;
	if (c->exit & EXIT_ACK_INTR_ON_EXIT) {
		pr_err("vmx: this CPU forces acknowledge-interrupt-on-exit\n");
		return false;
	}
	/* A guest in IA-32e mode is set per entry, from its EFER.LMA. */
	c->entry &= ~ENTRY_IA32E_MODE_GUEST;
	return true;
}

static void write_controls(struct vmx_vcpu *vmx, const struct vmx_controls *c)
{
	vmcs_write(VMCS_PIN_CONTROLS, c->pin);
	vmcs_write(VMCS_PROC_CONTROLS, c->proc);
	vmcs_write(VMCS_PROC2_CONTROLS, c->proc2);
	vmcs_write(VMCS_EXIT_CONTROLS, c->exit);
	vmcs_write(VMCS_ENTRY_CONTROLS, c->entry);
	vmx->entry_controls = c->entry;
	vmcs_write(VMCS_EXCEPTION_BITMAP, 0);
	vmcs_write(VMCS_PF_ERROR_MASK, 0);
	vmcs_write(VMCS_PF_ERROR_MATCH, 0);
	vmcs_write(VMCS_CR3_TARGET_COUNT, 0);
	vmcs_write(VMCS_EXIT_MSR_STORE_COUNT, 0);
	vmcs_write(VMCS_EXIT_MSR_LOAD_COUNT, 0);
	vmcs_write(VMCS_ENTRY_MSR_LOAD_COUNT, 0);
	vmcs_write(VMCS_ENTRY_INTR_INFO, 0);
	if (c->proc2 & VMX_PROC2_VPID)
		vmcs_write(VMCS_VPID, vmx->vpid);
	/* EPTP: written by load_mmu_root before the first entry. */
}

/* ---- Host state --------------------------------------------------------- */

struct desc_ptr64 {
	uint16_t limit;
	uint64_t base;
} __packed;

/*
 * What a VM exit loads (SDM 28.5). Written once: the VMCS stays on this
 * CPU, and these never change after boot. The GS base is this CPU's
 * per-CPU block: without it this_cpu() would read garbage after the
 * first exit. On exit TR's limit becomes 0x67 and GDTR/IDTR limits
 * 0xffff; the TSS is 0x68 bytes with no I/O bitmap, so nothing is lost.
 */
static void write_host_state(void)
{
	struct desc_ptr64 gdtr, idtr;

	__asm__ volatile("sgdt %0" : "=m"(gdtr));
	__asm__ volatile("sidt %0" : "=m"(idtr));
	vmcs_write(VMCS_HOST_CR0, read_cr0());
	vmcs_write(VMCS_HOST_CR3, read_cr3());
	vmcs_write(VMCS_HOST_CR4, read_cr4());
	vmcs_write(VMCS_HOST_CS_SEL, GDT_KERNEL_CS);
	vmcs_write(VMCS_HOST_SS_SEL, GDT_KERNEL_DS);
	vmcs_write(VMCS_HOST_DS_SEL, GDT_KERNEL_DS);
	vmcs_write(VMCS_HOST_ES_SEL, GDT_KERNEL_DS);
	vmcs_write(VMCS_HOST_FS_SEL, 0);
	vmcs_write(VMCS_HOST_GS_SEL, 0);
	vmcs_write(VMCS_HOST_TR_SEL, GDT_TSS);
	vmcs_write(VMCS_HOST_FS_BASE, rdmsr(MSR_FS_BASE));
	vmcs_write(VMCS_HOST_GS_BASE, rdmsr(MSR_GS_BASE));
	vmcs_write(VMCS_HOST_TR_BASE, (uint64_t)&this_cpu()->tables->tss);
	vmcs_write(VMCS_HOST_GDTR_BASE, gdtr.base);
	vmcs_write(VMCS_HOST_IDTR_BASE, idtr.base);
	vmcs_write(VMCS_HOST_SYSENTER_CS, rdmsr(MSR_SYSENTER_CS));
	vmcs_write(VMCS_HOST_SYSENTER_ESP, rdmsr(MSR_SYSENTER_ESP));
	vmcs_write(VMCS_HOST_SYSENTER_EIP, rdmsr(MSR_SYSENTER_EIP));
	vmcs_write(VMCS_HOST_EFER, rdmsr(MSR_EFER));
	vmcs_write(VMCS_HOST_PAT, rdmsr(MSR_PAT));
	vmcs_write(VMCS_HOST_RIP, (uint64_t)vmx_exit_point);
	/* HOST_RSP: entry.asm, at every entry. */
}

/* ---- Guest state -------------------------------------------------------- */

static void write_segment(enum vmcs_seg seg, uint16_t sel, uint64_t base,
			  uint32_t limit, uint32_t ar)
{
	vmcs_write(VMCS_SEG_FIELD(VMCS_GUEST_ES_SEL, seg), sel);
	vmcs_write(VMCS_SEG_FIELD(VMCS_GUEST_ES_BASE, seg), base);
	vmcs_write(VMCS_SEG_FIELD(VMCS_GUEST_ES_LIMIT, seg), limit);
	vmcs_write(VMCS_SEG_FIELD(VMCS_GUEST_ES_AR, seg), ar);
}

/*
 * CR0/CR4: the guest's values with the bits VMX operation fixes forced
 * (SDM A.7, A.8; unrestricted guest exempts CR0.PE and CR0.PG). Those
 * bits, CR4.VMXE (VMX is hidden from the guest) and every bit the CPU
 * does not allow are owned by the host: the guest reads them from the
 * read shadow, and a write that changes one exits to cr.c.
 */
static void init_control_registers(struct vmx_vcpu *vmx)
{
	uint64_t cr0_force = vmx_caps.cr0_fixed0 & ~(CR0_PE | CR0_PG);
	uint64_t cr0 = CR0_PE | CR0_ET, cr4 = 0;

	vmx->cr0_mask = cr0_force | ~vmx_caps.cr0_fixed1 |
			0xffffffff00000000ull;
	vmx->cr4_mask = CR4_VMXE | vmx_caps.cr4_fixed0 | ~vmx_caps.cr4_fixed1;
	vmcs_write(VMCS_CR0_GUEST_HOST_MASK, vmx->cr0_mask);
	vmcs_write(VMCS_CR4_GUEST_HOST_MASK, vmx->cr4_mask);
	vmcs_write(VMCS_CR0_READ_SHADOW, cr0);
	vmcs_write(VMCS_CR4_READ_SHADOW, cr4);
	vmcs_write(VMCS_GUEST_CR0, cr0 | cr0_force);
	vmcs_write(VMCS_GUEST_CR4, cr4 | vmx_caps.cr4_fixed0 | CR4_VMXE);
	vmcs_write(VMCS_GUEST_CR3, 0);
}

/* The multiboot1 entry state (virt.h): flat 4 GiB 32-bit code 0x08 and
 * data 0x10, paging off, interrupts off; RIP, RSP, RFLAGS come from
 * vcpu->regs at each entry. */
static void write_guest_state(struct vmx_vcpu *vmx, bool load_debug)
{
	static const enum vmcs_seg data_segs[] = { SEG_ES, SEG_SS, SEG_DS,
						   SEG_FS, SEG_GS };

	init_control_registers(vmx);
	write_segment(SEG_CS, 0x08, 0, 0xffffffff, 0xc09b);
	for (unsigned i = 0; i < ARRAY_SIZE(data_segs); i++)
		write_segment(data_segs[i], 0x10, 0, 0xffffffff, 0xc093);
	write_segment(SEG_TR, 0, 0, 0xffff, 0x8b);	/* busy 32-bit TSS */
	write_segment(SEG_LDTR, 0, 0, 0, AR_UNUSABLE);
	vmcs_write(VMCS_GUEST_GDTR_BASE, 0);
	vmcs_write(VMCS_GUEST_GDTR_LIMIT, 0xffff);
	vmcs_write(VMCS_GUEST_IDTR_BASE, 0);
	vmcs_write(VMCS_GUEST_IDTR_LIMIT, 0xffff);
	vmcs_write(VMCS_GUEST_DR7, DR7_POWER_ON);
	if (load_debug)
		vmcs_write(VMCS_GUEST_DEBUGCTL, 0);
	vmcs_write(VMCS_GUEST_EFER, 0);
	vmcs_write(VMCS_GUEST_PAT, PAT_POWER_ON);
	vmcs_write(VMCS_GUEST_SYSENTER_CS, 0);
	vmcs_write(VMCS_GUEST_SYSENTER_ESP, 0);
	vmcs_write(VMCS_GUEST_SYSENTER_EIP, 0);
	vmcs_write(VMCS_GUEST_INTERRUPTIBILITY, 0);
	vmcs_write(VMCS_GUEST_ACTIVITY_STATE, 0);	/* active */
	vmcs_write(VMCS_GUEST_PENDING_DBG, 0);
	vmcs_write(VMCS_LINK_POINTER, ~0ull);		/* no shadow VMCS */
	vmcs_write(VMCS_GUEST_RFLAGS, RFLAGS_FIXED);
}

/*
 * Shadow paging: the host owns every CR0 and CR4 bit (the guest reads
 * its own values from the read shadows, and any write that changes one
 * exits), and every #PF exits (error-code mask and match 0 with bit 14
 * set in the bitmap). The hardware values come from load_shadow_state.
 */
static void init_shadow_state(struct vmx_vcpu *vmx)
{
	vmx->cr0_mask = ~0ull;
	vmx->cr4_mask = ~0ull;
	vmcs_write(VMCS_CR0_GUEST_HOST_MASK, vmx->cr0_mask);
	vmcs_write(VMCS_CR4_GUEST_HOST_MASK, vmx->cr4_mask);
	vmcs_write(VMCS_EXCEPTION_BITMAP, 1u << VECTOR_PF);
}

/* ---- Create / destroy --------------------------------------------------- */

static bool make_current(struct vmx_vcpu *vmx)
{
	unsigned cpu = this_cpu_id();
	enum vmx_status st;

	BUG_ON(cpu != vmx->cpu);
	if (current_vmcs[cpu] == vmx->vmcs_pa)
		return true;
	st = vmx_vmptrld(vmx->vmcs_pa);
	if (st != VMX_SUCCEED) {
		pr_err("vmx: VMPTRLD of the VMCS at 0x%lx failed (%s)\n",
		       (unsigned long)vmx->vmcs_pa,
		       st == VMX_FAIL_VALID ? "VMfailValid" : "VMfailInvalid");
		return false;
	}
	current_vmcs[cpu] = vmx->vmcs_pa;
	return true;
}

static uint64_t alloc_vmcs(void)
{
	uint64_t pa = alloc_frame();

	if (pa == FRAME_NONE)
		return 0;
	if (vmx_caps.region_addr_32bit && pa + PAGE_SIZE > (1ull << 32)) {
		free_frame(pa);
		return 0;
	}
	/* Revision identifier; bit 31 clear: an ordinary VMCS. */
	*(uint32_t *)phys_to_virt(pa) = vmx_caps.vmcs_revision;
	return pa;
}

static void free_vmx(struct vmx_vcpu *vmx)
{
	if (vmx->vmcs_pa)
		free_frame(vmx->vmcs_pa);
	vpid_free(vmx->vpid);
	kfree(vmx);
}

bool vmx_vcpu_create(struct vcpu *vcpu)
{
	struct vmx_controls controls;
	struct vmx_vcpu *vmx;

	bool shadow = vcpu->vm->mmu_mode == MMU_MODE_SHADOW;

	if ((!shadow && !cpu_can_run_guests()) ||
	    !compute_controls(&controls, shadow))
		return false;
	vmx = kmalloc(sizeof(*vmx));
	if (!vmx) {
		pr_err("vmx: no memory for a vCPU\n");
		return false;
	}
	vmx->vcpu = vcpu;
	vmx->cpu = this_cpu_id();
	vmx->vmcs_pa = alloc_vmcs();
	if (controls.proc2 & VMX_PROC2_VPID) {
		vmx->vpid = vpid_alloc();
		if (!vmx->vpid)		/* all taken: run without */
			controls.proc2 &= ~VMX_PROC2_VPID;
	}
	if (!vmx->vmcs_pa) {
		pr_err("vmx: no memory for a VMCS\n");
		free_vmx(vmx);
		return false;
	}
	/* VMCLEAR: launch state clear, VMCS data written to memory. */
	if (vmx_vmclear(vmx->vmcs_pa) != VMX_SUCCEED || !make_current(vmx)) {
		pr_err("vmx: VMCLEAR/VMPTRLD of a new VMCS failed\n");
		free_vmx(vmx);
		return false;
	}
	vmx->shadow = shadow;
	write_controls(vmx, &controls);
	write_host_state();
	write_guest_state(vmx, controls.entry & ENTRY_LOAD_DEBUG_CONTROLS);
	if (shadow)
		init_shadow_state(vmx);
	vmx->flush_ept = vmx->flush_vpid = true;	/* first entry */
	vcpu->arch = vmx;
	vcpu->asid = vmx->vpid;
	return true;
}

void vmx_vcpu_destroy(struct vcpu *vcpu)
{
	struct vmx_vcpu *vmx = vcpu->arch;

	if (!vmx)
		return;
	BUG_ON(this_cpu_id() != vmx->cpu);
	vmx_put_syscall_msrs(vmx);
	/* VMCLEAR also makes it not current. */
	vmx_vmclear(vmx->vmcs_pa);
	if (current_vmcs[vmx->cpu] == vmx->vmcs_pa)
		current_vmcs[vmx->cpu] = 0;
	free_vmx(vmx);
	vcpu->arch = NULL;
	vcpu->asid = 0;
}

/* ---- Events ------------------------------------------------------------- */

static bool is_contributory(uint8_t vector)
{
	return vector == 0 || (vector >= 10 && vector <= 13);
}

/*
 * SDM vol. 3A, 6.15, table 6-5: a contributory fault while delivering a
 * contributory fault, or a contributory fault or #PF while delivering a
 * #PF, is a #DF; either while delivering #DF shuts the CPU down. In
 * every other case the new exception is delivered and the first is
 * dropped: its instruction has not completed, so it runs again and
 * raises it again if it still applies.
 */
void vmx_queue_exception(struct vmx_vcpu *vmx, uint8_t vector,
			 bool has_error_code, uint32_t error_code)
{
	uint32_t old = vmx->event.info;

	if ((old & INTR_INFO_VALID) &&
	    intr_info_type(old) == INTR_TYPE_HW_EXCEPTION) {
		uint8_t first = old & INTR_INFO_VECTOR_MASK;
		bool serious = is_contributory(vector) || vector == 14;

		if (first == 8 && serious) {
			vmx->triple_fault = true;
			return;
		}
		if ((is_contributory(first) && is_contributory(vector)) ||
		    (first == 14 && serious)) {
			vector = 8;
			has_error_code = true;
			error_code = 0;
		}
	}
	vmx->event = (struct vmx_event){
		.info = INTR_INFO_VALID | vector |
			(INTR_TYPE_HW_EXCEPTION << INTR_INFO_TYPE_SHIFT) |
			(has_error_code ? INTR_INFO_ERROR_CODE : 0),
		.error_code = has_error_code ? error_code : 0,
	};
}

/* The entry stub loads the guest's CR2 from here (VMX keeps none). */
void vmx_set_cr2(struct vcpu *vcpu, uint64_t cr2)
{
	struct vmx_vcpu *vmx = vcpu->arch;

	vmx->guest_cr2 = cr2;
	vcpu->sregs.cr2 = cr2;
}

void vmx_inject_exception(struct vcpu *vcpu, uint8_t vector,
			  bool has_error_code, uint32_t error_code)
{
	vmx_queue_exception(vcpu->arch, vector, has_error_code, error_code);
}

/* ---- MMU root and flushes ----------------------------------------------- */

void vmx_load_mmu_root(struct vcpu *vcpu, uint64_t root_hpa)
{
	struct vmx_vcpu *vmx = vcpu->arch;

	if (!make_current(vmx))
		return;
	vmx->eptp = root_hpa | EPTP_WALK_4 | EPTP_MEMTYPE_WB;
	vmcs_write(VMCS_EPT_POINTER, vmx->eptp);
	/* Combined mappings cached for a root that is now reused. */
	vmx->flush_ept = true;
}

/* Shadow paging: the hardware state that runs the guest on its shadow
 * tables; with EPT off, VM entry loads PAE PDPTEs from CR3 itself. */
void vmx_load_shadow_state(struct vcpu *vcpu, bool flush)
{
	struct vmx_vcpu *vmx = vcpu->arch;
	const struct shadow_vcpu *sv = &vcpu->shadow;

	if (!make_current(vmx))
		return;
	vmcs_write(VMCS_GUEST_CR0, shadow_hw_cr0(sv) | vmx_caps.cr0_fixed0);
	vmcs_write(VMCS_GUEST_CR4, shadow_hw_cr4(sv) | vmx_caps.cr4_fixed0 |
		   CR4_VMXE);
	vmcs_write(VMCS_GUEST_CR3, sv->root_hpa);
	vmcs_write(VMCS_GUEST_EFER, shadow_hw_efer(sv));
	vmcs_write(VMCS_CR0_READ_SHADOW, sv->paging.cr0);
	vmcs_write(VMCS_CR4_READ_SHADOW, sv->paging.cr4);
	if (flush)
		vmx->flush_vpid = true;
}

void vmx_flush_guest_tlb(struct vcpu *vcpu)
{
	struct vmx_vcpu *vmx = vcpu->arch;

	vmx->flush_ept = vmx->flush_vpid = true;
}

/*
 * INVEPT drops the guest-physical and combined translations of this EPTP,
 * INVVPID the linear and combined ones of this VPID; single-context when
 * the CPU has it, else all contexts. Failure means hv passed something
 * the CPU rejects: a bug.
 */
static void do_flushes(struct vmx_vcpu *vmx)
{
	enum vmx_status st;

	/* No root yet: nothing cached for it, and the entry will fail on
	 * the EPTP with a clear error rather than INVEPT here. */
	if (vmx->flush_ept && vmx->eptp) {
		st = vmx_caps.invept_single
		     ? vmx_invept(INVEPT_SINGLE_CONTEXT, vmx->eptp)
		     : vmx_invept(INVEPT_ALL_CONTEXT, 0);
		if (st != VMX_SUCCEED)
			panic("vmx: INVEPT failed for EPTP 0x%lx",
			      (unsigned long)vmx->eptp);
		vmx->flush_ept = false;
	}
	if (vmx->flush_vpid) {
		if (vmx->vpid) {
			st = vmx_caps.invvpid_single
			     ? vmx_invvpid(INVVPID_SINGLE_CONTEXT, vmx->vpid, 0)
			     : vmx_invvpid(INVVPID_ALL_CONTEXT, 0, 0);
			if (st != VMX_SUCCEED)
				panic("vmx: INVVPID failed for VPID %u",
				      vmx->vpid);
		}
		vmx->flush_vpid = false;
	}
}

/* ---- Run ---------------------------------------------------------------- */

/* Everything the VMCS must hold for the next entry that may have changed
 * since the last exit. */
static void prepare_entry(struct vmx_vcpu *vmx)
{
	struct vcpu *vcpu = vmx->vcpu;
	uint32_t entry = vmx->entry_controls;

	vmcs_write(VMCS_GUEST_RIP, vcpu->regs.rip);
	vmcs_write(VMCS_GUEST_RSP, vcpu->regs.rsp);
	vmcs_write(VMCS_GUEST_RFLAGS, vcpu->regs.rflags);
	/*
	 * An instruction the host completed (RIP moved) ends any STI or
	 * MOV SS shadow it was in; leaving the blocking set would also make
	 * the entry fail if the guest has interrupts off.
	 */
	if (vmx->launched && vcpu->regs.rip != vmx->rip_at_exit) {
		uint32_t intr = vmcs_read32(VMCS_GUEST_INTERRUPTIBILITY);

		if (intr & (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS))
			vmcs_write(VMCS_GUEST_INTERRUPTIBILITY,
				   intr & ~(INTERRUPTIBILITY_STI |
					    INTERRUPTIBILITY_MOV_SS));
	}
	if (vmcs_read(VMCS_GUEST_EFER) & EFER_LMA)
		entry |= ENTRY_IA32E_MODE_GUEST;
	vmcs_write(VMCS_ENTRY_CONTROLS, entry);
	if (vmx->event.info & INTR_INFO_VALID) {
		uint32_t info = vmx->event.info;

		/* Real mode delivers no error codes (and VM entry checks). */
		if (!(vmx_guest_cr0(vmx) & CR0_PE))
			info &= ~INTR_INFO_ERROR_CODE;
		vmcs_write(VMCS_ENTRY_INTR_INFO, info);
		vmcs_write(VMCS_ENTRY_EXCEPTION_ERROR, vmx->event.error_code);
		vmcs_write(VMCS_ENTRY_INSN_LEN, vmx->event.insn_len);
		vmx->event.info = 0;
	}
	if (vcpu_take_flush_request(vcpu))
		vmx->flush_vpid = true;
	do_flushes(vmx);
}

/* The state the vendor-neutral code reads after every exit. */
static void read_guest_state(struct vmx_vcpu *vmx)
{
	struct vcpu *vcpu = vmx->vcpu;
	struct vcpu_sregs *s = &vcpu->sregs;
	uint32_t cs_ar = vmcs_read32(VMCS_GUEST_CS_AR);

	vcpu->regs.rip = vmcs_read(VMCS_GUEST_RIP);
	vcpu->regs.rsp = vmcs_read(VMCS_GUEST_RSP);
	vcpu->regs.rflags = vmcs_read(VMCS_GUEST_RFLAGS);
	vmx->rip_at_exit = vcpu->regs.rip;
	s->cr0 = vmx_guest_cr0(vmx);
	s->cr2 = vmx->guest_cr2;
	s->cr3 = vmcs_read(VMCS_GUEST_CR3);
	s->cr4 = vmx_guest_cr4(vmx);
	s->efer = vmcs_read(VMCS_GUEST_EFER);
	s->cs_base = vmcs_read(VMCS_GUEST_CS_BASE);
	s->ds_base = vmcs_read(VMCS_GUEST_DS_BASE);
	s->ss_base = vmcs_read(VMCS_GUEST_SS_BASE);
	s->es_base = vmcs_read(VMCS_GUEST_ES_BASE);
	s->fs_base = vmcs_read(VMCS_GUEST_FS_BASE);
	s->gs_base = vmcs_read(VMCS_GUEST_GS_BASE);
	s->cs_sel = (uint16_t)vmcs_read(VMCS_GUEST_CS_SEL);
	s->cs_long = cs_ar & AR_LONG;
	s->cs_db = cs_ar & AR_DB;
	s->cpl = (vmcs_read32(VMCS_GUEST_SS_AR) & AR_DPL_MASK) >> AR_DPL_SHIFT;
	if (vmx->shadow)
		vcpu_shadow_view(vcpu, s);
}

/*
 * An exit during the delivery of an event (IDT-vectoring information,
 * SDM 28.2.4) means the guest never got it: deliver it again at the next
 * entry (SDM 29.2.1), with its error code and, for software interrupts
 * and exceptions, the instruction length that delivery needs.
 */
static void requeue_interrupted_event(struct vmx_vcpu *vmx)
{
	uint32_t info = vmcs_read32(VMCS_IDT_VECTORING_INFO);
	unsigned type = intr_info_type(info);

	vmx->idt_vectoring_info = info;
	if (!(info & INTR_INFO_VALID))
		return;
	vmx->event = (struct vmx_event){
		/* bits 30:12 are reserved in the entry field */
		.info = info & (INTR_INFO_VALID | INTR_INFO_TYPE_MASK |
				INTR_INFO_ERROR_CODE | INTR_INFO_VECTOR_MASK),
	};
	if (info & INTR_INFO_ERROR_CODE)
		vmx->event.error_code = vmcs_read32(VMCS_IDT_VECTORING_ERROR);
	if (type == INTR_TYPE_SW_INTERRUPT ||
	    type == INTR_TYPE_PRIV_SW_EXCEPTION ||
	    type == INTR_TYPE_SW_EXCEPTION)
		vmx->event.insn_len = vmcs_read32(VMCS_EXIT_INSN_LEN);
}

static const char *entry_name(bool resume)
{
	return resume ? "VMRESUME" : "VMLAUNCH";
}

/* VMLAUNCH/VMRESUME did not even start the entry. */
static void entry_instruction_failed(struct vmx_vcpu *vmx, int status)
{
	struct vcpu *vcpu = vmx->vcpu;
	uint32_t error = 0;

	if (status == VMX_FAIL_VALID) {
		error = vmcs_read32(VMCS_VM_INSTRUCTION_ERROR);
		pr_err("[%s/%u] vmx: %s failed: VMfailValid, VM-instruction "
		       "error %u (%s)\n", vcpu->vm->name, vcpu->id,
		       entry_name(vmx->launched), error,
		       vmx_instruction_error_name(error));
	} else {
		pr_err("[%s/%u] vmx: %s failed: VMfailInvalid (no current "
		       "VMCS)\n", vcpu->vm->name, vcpu->id,
		       entry_name(vmx->launched));
	}
	vcpu->exit = (struct vcpu_exit){
		.reason = EXIT_INVALID_STATE,
		/* Not an exit reason: bit 32 says "instruction error". */
		.vendor_code = (1ull << 32) | error,
	};
	vmx->exit_reason = 0;
	vmx->exit_qualification = 0;
}

void vmx_vcpu_run(struct vcpu *vcpu)
{
	struct vmx_vcpu *vmx = vcpu->arch;
	int status;

	if (!make_current(vmx)) {
		entry_instruction_failed(vmx, VMX_FAIL_INVALID);
		return;
	}
	vmx_load_syscall_msrs(vmx);
	do {
		if (vmx->triple_fault) {
			vcpu->exit = (struct vcpu_exit){
				.reason = EXIT_TRIPLE_FAULT,
				.vendor_code = VMX_EXIT_TRIPLE_FAULT,
			};
			return;
		}
		prepare_entry(vmx);
		status = vmx_enter_guest(&vcpu->regs, &vmx->guest_cr2,
					 vmx->launched);
		if (status != VMX_SUCCEED) {
			entry_instruction_failed(vmx, status);
			return;
		}
		vmx->exit_reason = vmcs_read32(VMCS_EXIT_REASON);
		vmx->exit_qualification = vmcs_read(VMCS_EXIT_QUALIFICATION);
		read_guest_state(vmx);
		if (!(vmx->exit_reason & EXIT_REASON_ENTRY_FAILURE)) {
			vmx->launched = true;
			requeue_interrupted_event(vmx);
		} else {
			vmx->idt_vectoring_info = 0;
		}
	} while (vmx_handle_exit(vmx));
}
