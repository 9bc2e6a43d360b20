/*
 * CPUID for guests: the host's values, minus what the guest must not
 * believe it has (VMX/SVM, features whose instructions would exit with
 * nothing to handle them, the PMU), plus the hypervisor's own leaves.
 */
#include "virt/exits.h"
#include "arch/x86/cpu.h"
#include "virt/hypercall.h"
#include "virt/vm.h"

#define CPUID1_ECX_VMX		(1u << 5)
#define CPUID1_ECX_SMX		(1u << 6)
#define CPUID1_ECX_MONITOR	(1u << 3)
#define CPUID1_ECX_PDCM		(1u << 15)
#define CPUID1_ECX_X2APIC	(1u << 21)
#define CPUID1_ECX_TSC_DEADLINE	(1u << 24)
#define CPUID1_ECX_XSAVE	(1u << 26)
#define CPUID1_ECX_OSXSAVE	(1u << 27)
#define CPUID1_ECX_AVX		(1u << 28)
#define CPUID1_ECX_HYPERVISOR	(1u << 31)
#define CPUID81_ECX_SVM		(1u << 2)
#define CPUID81_ECX_ALTMOVCR8	(1u << 4)	/* LOCK MOV CR0 = CR8 */
#define CPUID7_EBX_AVX2		(1u << 5)
#define CPUID7_EBX_AVX512	0xdc230000u	/* F DQ IFMA PF ER CD BW VL */
#define CPUID7_EBX_INVPCID	(1u << 10)
#define CPUID7_ECX_LA57		(1u << 16)

static void hv_signature(struct cpuid_regs *r)
{
	const char *sig = HV_CPUID_SIGNATURE;

	r->eax = HV_CPUID_FEATURES;
	r->ebx = sig[0] | sig[1] << 8 | sig[2] << 16 | (uint32_t)sig[3] << 24;
	r->ecx = sig[4] | sig[5] << 8 | sig[6] << 16 | (uint32_t)sig[7] << 24;
	r->edx = sig[8] | sig[9] << 8 | sig[10] << 16 | (uint32_t)sig[11] << 24;
}

static struct cpuid_regs guest_cpuid(struct vcpu *vcpu, uint32_t leaf,
				     uint32_t subleaf)
{
	struct cpuid_regs r = { 0, 0, 0, 0 };

	if (leaf == HV_CPUID_BASE) {
		hv_signature(&r);
		return r;
	}
	if (leaf == HV_CPUID_FEATURES) {
		r.eax = HV_ABI_VERSION;
		return r;
	}
	if (leaf >= HV_CPUID_BASE && leaf < 0x80000000u)
		return r;		/* other hypervisor leaves: zeros */

	r = cpuid_count(leaf, subleaf);
	switch (leaf) {
	case 1:
		r.ecx &= ~(CPUID1_ECX_VMX | CPUID1_ECX_SMX | CPUID1_ECX_MONITOR |
			   CPUID1_ECX_PDCM | CPUID1_ECX_X2APIC |
			   CPUID1_ECX_TSC_DEADLINE | CPUID1_ECX_XSAVE |
			   CPUID1_ECX_OSXSAVE | CPUID1_ECX_AVX);
		r.ecx |= CPUID1_ECX_HYPERVISOR;
		/* initial APIC ID and logical processor count */
		r.ebx = (r.ebx & 0x0000ffffu) | (vcpu->id << 24) |
			((vcpu->vm->vcpu_count & 0xff) << 16);
		break;
	case 5:			/* MONITOR/MWAIT: hidden */
	case 6:			/* thermal and power */
	case 0xa:		/* performance monitoring */
	case 0xd:		/* XSAVE: hidden with it */
		r = (struct cpuid_regs){ 0, 0, 0, 0 };
		break;
	case 7:
		if (subleaf != 0)
			break;
		r.ebx &= ~(CPUID7_EBX_AVX2 | CPUID7_EBX_AVX512);
		/* Shadow paging: INVPCID would flush the hardware TLB
		 * without the MMU seeing it (VMX: it raises #UD), and
		 * 5-level paging is not shadowed. */
		if (vcpu->vm->mmu_mode == MMU_MODE_SHADOW) {
			r.ebx &= ~CPUID7_EBX_INVPCID;
			r.ecx &= ~CPUID7_ECX_LA57;
		}
		break;
	case 0x80000001:
		/* The emulator treats LOCK MOV CR0 as #UD. */
		r.ecx &= ~(CPUID81_ECX_SVM | CPUID81_ECX_ALTMOVCR8);
		break;
	case 0x8000000a:	/* SVM features */
		r = (struct cpuid_regs){ 0, 0, 0, 0 };
		break;
	}
	return r;
}

bool handle_cpuid(struct vcpu *vcpu)
{
	struct cpuid_regs r = guest_cpuid(vcpu, (uint32_t)vcpu->regs.rax,
					  (uint32_t)vcpu->regs.rcx);

	vcpu->regs.rax = r.eax;
	vcpu->regs.rbx = r.ebx;
	vcpu->regs.rcx = r.ecx;
	vcpu->regs.rdx = r.edx;
	skip_instruction(vcpu);
	return true;
}
