/*
 * AMD SVM: probe on the boot CPU, then EFER.SVME on each CPU.
 *
 * SVM is on for a CPU when (AMD APM vol. 2, 15.4 and 15.30):
 *  - VM_CR.SVMDIS is clear (the firmware's switch; with VM_CR.LOCK set
 *    only the firmware can change it, and hv leaves it alone either way);
 *  - EFER.SVME is set;
 *  - VM_HSAVE_PA holds a 4 KiB-aligned page where VMRUN saves host state.
 * There is no VMXON counterpart: no instruction fails here, VMRUN would.
 */
#include "arch/x86/svm/svm.h"
#include "arch/x86/cpu.h"
#include "kernel/mm.h"
#include "kernel/printk.h"
#include "mmu/tdp.h"
#include "smp/percpu.h"
#include "virt/virt.h"

struct svm_caps svm_caps;

static struct cpuid_regs read_cpuid(uint32_t leaf, void *ctx)
{
	(void)ctx;
	return cpuid(leaf);
}

static bool svm_probe(char *why, size_t why_size)
{
	if (cpuid_max_ext() < 0x80000001 ||
	    !(cpuid(0x80000001).ecx & CPUID_80000001_ECX_SVM)) {
		snprintf(why, why_size, "CPUID reports no AMD SVM");
		return false;
	}
	if (!svm_caps_read(&svm_caps, read_cpuid, NULL)) {
		snprintf(why, why_size, "CPUID reports AMD SVM but has no "
			 "leaf 0x8000000A to describe it");
		return false;
	}
	return svm_vm_cr_check(rdmsr(MSR_VM_CR), why, why_size);
}

static void svm_print_features(void)
{
	char line[256];

	svm_caps_format(&svm_caps, line, sizeof(line));
	pr_info("virt: %s: %s\n", svm_ops.name, line);
	pr_debug("virt: CPUID 0x8000000A: rev %u, %u ASIDs, EDX 0x%08x, "
		 "VM_CR 0x%lx\n", svm_caps.revision, svm_caps.nr_asids,
		 svm_caps.features, (unsigned long)rdmsr(MSR_VM_CR));
}

/*
 * VM_HSAVE_PA is VMRUN's own page: it saves the host's RIP, RSP, RAX,
 * RFLAGS, CR0/3/4, EFER, GDTR, IDTR and ES/CS/SS/DS there and restores
 * them at #VMEXIT; software must not touch it. What VMRUN does not restore
 * (FS, GS and their bases, TR, LDTR, KernelGSBase, STAR/LSTAR/CSTAR/SFMASK,
 * SYSENTER_*) the host keeps with VMSAVE into a second page and VMLOAD
 * from it after #VMEXIT: the GS base is this CPU's per-CPU pointer, and
 * the TR its interrupt stacks. The second page is allocated when the CPU
 * first gets a vCPU, and freed with the first by disable_cpu.
 */
static uint64_t host_vmcb_pa[MAX_CPUS];

uint64_t svm_host_vmcb_pa(unsigned cpu)
{
	return host_vmcb_pa[cpu];
}

bool svm_host_vmcb_alloc(unsigned cpu)
{
	if (!host_vmcb_pa[cpu]) {
		uint64_t pa = alloc_frame();

		if (pa == FRAME_NONE)
			return false;
		host_vmcb_pa[cpu] = pa;
	}
	return true;
}

static bool alloc_host_save_area(struct percpu *cpu, char *why,
				 size_t why_size)
{
	uint64_t pa = alloc_frame();

	if (pa == FRAME_NONE) {
		snprintf(why, why_size, "no memory for the host save area");
		return false;
	}
	cpu->hsave_pa = pa;
	return true;
}

static bool svm_enable_cpu(struct percpu *cpu)
{
	char *why = cpu->virt_why;
	size_t why_size = sizeof(cpu->virt_why);

	if (cpu->virt_on)
		return true;
	/* Each CPU has its own VM_CR: check this one, not only the boot
	 * CPU's. The full sentence went out from probe; keep this short. */
	if (rdmsr(MSR_VM_CR) & VM_CR_SVMDIS) {
		snprintf(why, why_size, "disabled by the firmware "
			 "(VM_CR.SVMDIS): enable 'SVM Mode' in its setup");
		return false;
	}
	if (!alloc_host_save_area(cpu, why, why_size))
		return false;
	/* The save area first: no moment with SVME on and nowhere for
	 * VMRUN to save the host. */
	wrmsr(MSR_VM_HSAVE_PA, cpu->hsave_pa);
	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SVME);
	return true;
}

static void svm_disable_cpu(struct percpu *cpu)
{
	if (!cpu->virt_on)
		return;
	/* The save area may be used by VMRUN until SVME is off. */
	wrmsr(MSR_EFER, rdmsr(MSR_EFER) & ~EFER_SVME);
	wrmsr(MSR_VM_HSAVE_PA, 0);
	free_frame(cpu->hsave_pa);
	cpu->hsave_pa = 0;
	if (host_vmcb_pa[cpu->cpu]) {
		free_frame(host_vmcb_pa[cpu->cpu]);
		host_vmcb_pa[cpu->cpu] = 0;
	}
	cpu->virt_on = false;
}

const struct virt_ops svm_ops = {
	.name = "AMD SVM",
	.probe = svm_probe,
	.print_features = svm_print_features,
	.enable_cpu = svm_enable_cpu,
	.disable_cpu = svm_disable_cpu,
	.vcpu_create = svm_vcpu_create,
	.vcpu_destroy = svm_vcpu_destroy,
	.vcpu_run = svm_vcpu_run,
	.inject_exception = svm_inject_exception,
	.set_cr2 = svm_set_cr2,
	.load_mmu_root = svm_load_mmu_root,
	.flush_guest_tlb = svm_flush_guest_tlb,
	.load_shadow_state = svm_load_shadow_state,
	.dump_state = svm_dump_state,
	.guest_msr = svm_guest_msr,
	.tdp_format = &tdp_format_npt,
};
