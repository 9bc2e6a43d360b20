/*
 * Choosing the virtualization vendor and turning it on, CPU by CPU.
 *
 * The boot CPU runs virt_init() once: CPUID names the extension (Intel VMX
 * or AMD SVM), its probe reads the capabilities and checks the firmware's
 * switch, and the feature list is printed. Every CPU then calls
 * virt_enable_this_cpu(), which logs one line whatever the outcome, so a
 * log shows each CPU's state.
 */
#include "virt/virt.h"
#include "arch/x86/cpu.h"
#include "arch/x86/platform.h"
#include "arch/x86/svm/svm.h"
#include "arch/x86/vmx/vmx.h"
#include "kernel/printk.h"
#include "smp/percpu.h"

#define CPUID_1_ECX_HYPERVISOR	(1u << 31)

const struct virt_ops *virt;

static bool cpu_reports_vmx(void)
{
	return cpuid(1).ecx & CPUID_1_ECX_VMX;
}

static bool cpu_reports_svm(void)
{
	return cpuid_max_ext() >= 0x80000001 &&
	       (cpuid(0x80000001).ecx & CPUID_80000001_ECX_SVM);
}

/* A real CPU reports one or the other; should one report both, VMX is
 * tried, as it is listed first in CPUID.1. */
static const struct virt_ops *choose_vendor(void)
{
	if (cpu_reports_vmx())
		return &vmx_ops;
	if (cpu_reports_svm())
		return &svm_ops;
	return NULL;
}

static __noreturn void refuse_no_extension(void)
{
	pr_err("virt: this CPU has neither Intel VMX nor AMD SVM (CPUID "
	       "reports no hardware virtualization); hv needs one of them. "
	       "On QEMU use -cpu max, or -cpu host with KVM nested "
	       "virtualization\n");
	/* Under a hypervisor the likely cause is the host, not the CPU. */
	if (cpuid(1).ecx & CPUID_1_ECX_HYPERVISOR)
		pr_err("virt: this CPU is virtual: its hypervisor does not "
		       "pass VMX/SVM through (nested virtualization is off "
		       "or unsupported there)\n");
	machine_exit(false);
}

const struct virt_ops *virt_init(void)
{
	const struct virt_ops *ops = choose_vendor();
	char why[256];

	if (!ops)
		refuse_no_extension();
	if (!ops->probe(why, sizeof(why))) {
		pr_err("virt: %s: %s\n", ops->name, why);
		pr_err("virt: hv needs hardware virtualization; stopping\n");
		machine_exit(false);
	}
	ops->print_features();
	virt = ops;
	return ops;
}

bool virt_enable_this_cpu(void)
{
	struct percpu *cpu = this_cpu();

	if (!virt) {
		pr_warn("virt: cpu%u APIC ID %u: off: virt_init() has not run\n",
		       cpu->cpu, cpu->apic_id);
		return false;
	}
	cpu->virt_why[0] = '\0';
	cpu->virt_on = virt->enable_cpu(cpu);
	if (cpu->virt_on)
		pr_info("virt: cpu%u APIC ID %u: %s on\n", cpu->cpu,
			cpu->apic_id, virt->name);
	else
		pr_warn("virt: cpu%u APIC ID %u: %s off: %s\n", cpu->cpu,
		       cpu->apic_id, virt->name, cpu->virt_why);
	return cpu->virt_on;
}
