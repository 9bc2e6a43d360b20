/*
 * Intel VMX: probe on the boot CPU, then VMXON on each CPU.
 *
 * VMXON needs, on the calling CPU (SDM vol. 3C, 24.7 and 31.5):
 *  - IA32_FEATURE_CONTROL locked with "VMX outside SMX" set. The firmware
 *    normally locks it; if it did not, hv sets the bit and locks it (the
 *    MSR may be per thread, so every CPU checks its own);
 *  - CR0 and CR4 within IA32_VMX_CR{0,4}_FIXED{0,1}, CR4.VMXE set;
 *  - a 4 KiB-aligned VMXON region whose first dword is the VMCS revision.
 * Note: in VMX root operation INIT is blocked, so an AP must be started
 * before it runs VMXON, never re-INITed afterwards.
 */
#include "arch/x86/vmx/vmx.h"
#include "arch/x86/vmx/vmcs.h"
#include "arch/x86/cpu.h"
#include "kernel/mm.h"
#include "kernel/printk.h"
#include "mmu/tdp.h"
#include "smp/percpu.h"
#include "virt/virt.h"

struct vmx_caps vmx_caps;

/* The operand is a memory location holding the region's address. */
static enum vmx_status vmxon(uint64_t region_pa)
{
	return VMX_INSN_STATUS("vmxon %2", "m"(region_pa));
}

static void vmxoff(void)
{
	__asm__ volatile("vmxoff" : : : "cc", "memory");
}

static uint64_t read_msr(uint32_t msr, void *ctx)
{
	(void)ctx;
	return rdmsr(msr);
}

/* CR0 and CR4 as VMXON needs them on this CPU. CR0.NE is the only bit hv
 * will add on the CPU's demand (it uses no x87, so the FPU error-reporting
 * style is moot); CR4.VMXE it sets itself. */
static bool control_regs_for_vmxon(uint64_t *cr0, uint64_t *cr4, char *why,
				   size_t why_size)
{
	return vmx_fixed_cr_value("CR0", read_cr0(), 0, CR0_NE,
				  vmx_caps.cr0_fixed0, vmx_caps.cr0_fixed1,
				  cr0, why, why_size) &&
	       vmx_fixed_cr_value("CR4", read_cr4(), CR4_VMXE, 0,
				  vmx_caps.cr4_fixed0, vmx_caps.cr4_fixed1,
				  cr4, why, why_size);
}

static bool vmx_probe(char *why, size_t why_size)
{
	uint64_t cr0, cr4;

	if (!(cpuid(1).ecx & CPUID_1_ECX_VMX)) {
		snprintf(why, why_size, "CPUID reports no Intel VMX");
		return false;
	}
	vmx_caps_read(&vmx_caps, read_msr, NULL);
	if (vmx_feature_control_check(rdmsr(MSR_FEATURE_CONTROL), why,
				      why_size) == VMX_FC_DISABLED)
		return false;
	if (vmx_caps.vmcs_region_size > PAGE_SIZE) {
		snprintf(why, why_size, "the VMXON region needs %u bytes "
			 "(IA32_VMX_BASIC), more than a page",
			 vmx_caps.vmcs_region_size);
		return false;
	}
	/* Checked here so a CPU that can never enter VMX is refused once,
	 * with the reason, before any CPU tries. */
	return control_regs_for_vmxon(&cr0, &cr4, why, why_size);
}

static void vmx_print_features(void)
{
	char line[256];

	vmx_caps_format(&vmx_caps, line, sizeof(line));
	pr_info("virt: %s: %s\n", vmx_ops.name, line);
	/* Raw values (ctls as may-be-one:must-be-one), for bug reports and
	 * the host tests' CPU tables. */
	pr_debug("virt: IA32_VMX_BASIC 0x%lx, ctls pin %08x:%08x "
		 "proc %08x:%08x proc2 %08x:%08x exit %08x:%08x "
		 "entry %08x:%08x, EPT_VPID_CAP 0x%lx, MISC 0x%lx, "
		 "CR0 fixed 0x%lx/0x%lx, CR4 fixed 0x%lx/0x%lx\n",
		 (unsigned long)rdmsr(MSR_IA32_VMX_BASIC),
		 vmx_caps.pin.may_be_one, vmx_caps.pin.must_be_one,
		 vmx_caps.proc.may_be_one, vmx_caps.proc.must_be_one,
		 vmx_caps.proc2.may_be_one, vmx_caps.proc2.must_be_one,
		 vmx_caps.exit.may_be_one, vmx_caps.exit.must_be_one,
		 vmx_caps.entry.may_be_one, vmx_caps.entry.must_be_one,
		 (unsigned long)vmx_caps.ept_vpid_cap,
		 (unsigned long)vmx_caps.misc,
		 (unsigned long)vmx_caps.cr0_fixed0,
		 (unsigned long)vmx_caps.cr0_fixed1,
		 (unsigned long)vmx_caps.cr4_fixed0,
		 (unsigned long)vmx_caps.cr4_fixed1);
}

/* Lock IA32_FEATURE_CONTROL with VMX on if the firmware left it open.
 * Each CPU checks its own: the MSR may be per thread. */
static bool feature_control_ready(char *why, size_t why_size)
{
	uint64_t fc = rdmsr(MSR_FEATURE_CONTROL);

	switch (vmx_feature_control_check(fc, why, why_size)) {
	case VMX_FC_READY:
		return true;
	case VMX_FC_UNLOCKED:
		wrmsr(MSR_FEATURE_CONTROL, vmx_feature_control_enable(fc));
		return true;
	case VMX_FC_DISABLED:
		/* The full sentence went out from probe; keep this short. */
		snprintf(why, why_size, "disabled by the firmware "
			 "(IA32_FEATURE_CONTROL locked, VMX off): enable VT-x "
			 "in its setup");
		break;
	}
	return false;
}

static bool alloc_vmxon_region(struct percpu *cpu, char *why, size_t why_size)
{
	uint64_t pa = alloc_frame();

	if (pa == FRAME_NONE) {
		snprintf(why, why_size, "no memory for the VMXON region");
		return false;
	}
	if (vmx_caps.region_addr_32bit && pa + PAGE_SIZE > (1ull << 32)) {
		free_frame(pa);
		snprintf(why, why_size, "VMXON region above 4 GiB, but "
			 "IA32_VMX_BASIC[48] limits it to 32-bit addresses");
		return false;
	}
	*(uint32_t *)phys_to_virt(pa) = vmx_caps.vmcs_revision;
	cpu->vmxon_pa = pa;
	return true;
}

static void free_vmxon_region(struct percpu *cpu)
{
	free_frame(cpu->vmxon_pa);
	cpu->vmxon_pa = 0;
}

static bool vmx_enable_cpu(struct percpu *cpu)
{
	char *why = cpu->virt_why;
	size_t why_size = sizeof(cpu->virt_why);
	uint64_t cr0, cr4, old_cr4 = read_cr4();
	enum vmx_status status;

	if (cpu->virt_on)
		return true;
	if (!feature_control_ready(why, why_size) ||
	    !control_regs_for_vmxon(&cr0, &cr4, why, why_size) ||
	    !alloc_vmxon_region(cpu, why, why_size))
		return false;
	write_cr0(cr0);
	write_cr4(cr4);
	status = vmxon(cpu->vmxon_pa);
	if (status == VMX_SUCCEED)
		return true;
	write_cr4(old_cr4);
	free_vmxon_region(cpu);
	snprintf(why, why_size, "VMXON failed (%s)",
		 status == VMX_FAIL_VALID ? "VMfailValid: already in VMX "
					    "operation?"
					  : "VMfailInvalid: region rejected");
	return false;
}

static void vmx_disable_cpu(struct percpu *cpu)
{
	if (!cpu->virt_on)
		return;
	vmxoff();
	write_cr4(read_cr4() & ~CR4_VMXE);
	free_vmxon_region(cpu);
	cpu->virt_on = false;
}

const struct virt_ops vmx_ops = {
	.name = "Intel VMX",
	.probe = vmx_probe,
	.print_features = vmx_print_features,
	.enable_cpu = vmx_enable_cpu,
	.disable_cpu = vmx_disable_cpu,
	.vcpu_create = vmx_vcpu_create,
	.vcpu_destroy = vmx_vcpu_destroy,
	.vcpu_run = vmx_vcpu_run,
	.inject_exception = vmx_inject_exception,
	.set_cr2 = vmx_set_cr2,
	.load_mmu_root = vmx_load_mmu_root,
	.flush_guest_tlb = vmx_flush_guest_tlb,
	.load_shadow_state = vmx_load_shadow_state,
	.dump_state = vmx_dump_state,
	.guest_msr = vmx_guest_msr,
	.tdp_format = &tdp_format_ept,
};
