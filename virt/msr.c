/*
 * MSRs for guests: the backend's own (EFER, PAT, ...) first, then a short
 * allow-list with harmless values; any other MSR gets #GP(0), as on a CPU
 * that does not have it.
 */
#include "virt/exits.h"
#include "arch/x86/cpu.h"
#include "kernel/printk.h"
#include "virt/shadow_vm.h"
#include "virt/virt.h"
#include "virt/vm.h"

#define MSR_TSC			0x10
#define MSR_MTRRCAP		0xfe
#define MSR_MISC_ENABLE		0x1a0
#define MSR_MTRR_DEF_TYPE	0x2ff
#define APIC_BASE_DEFAULT	0xfee00000ull
#define APIC_BASE_BSP		(1ull << 8)
#define APIC_BASE_ENABLE	(1ull << 11)

/* Returns false if the MSR is not on the list. */
static bool allowed_read(struct vcpu *vcpu, uint32_t index, uint64_t *value)
{
	switch (index) {
	case MSR_TSC:
		*value = rdtsc();
		return true;
	case MSR_APIC_BASE:
		*value = APIC_BASE_DEFAULT | APIC_BASE_ENABLE |
			 (vcpu->id == 0 ? APIC_BASE_BSP : 0);
		return true;
	case MSR_FEATURE_CONTROL:
		*value = 1;		/* locked, VMX off */
		return true;
	case MSR_MTRRCAP:
		*value = 0;		/* no MTRRs to program */
		return true;
	case MSR_MTRR_DEF_TYPE:
		*value = 0x806;		/* enabled, default write-back */
		return true;
	case MSR_MISC_ENABLE:
		*value = 1;		/* fast strings */
		return true;
	}
	return false;
}

/* Writes that are accepted and ignored. */
static bool allowed_write(uint32_t index)
{
	return index == MSR_MTRR_DEF_TYPE || index == MSR_MISC_ENABLE;
}

bool handle_msr(struct vcpu *vcpu)
{
	bool write = vcpu->exit.reason == EXIT_MSR_WRITE;
	uint32_t index = (uint32_t)vcpu->regs.rcx;
	uint64_t value = (vcpu->regs.rdx << 32) | (uint32_t)vcpu->regs.rax;
	bool gp = false, handled;
	int r;

	/* Under shadow paging the guest's EFER is the MMU's: the hardware
	 * runs with another (virt/shadow_cr.c). */
	if (index == MSR_EFER && vm_is_shadow(vcpu->vm)) {
		if (!write) {
			value = vcpu->shadow.paging.efer;
		} else if ((r = shadow_efer_write(vcpu, value)) != 0) {
			if (r < 0)
				return false;
			virt->inject_exception(vcpu, 13, true, 0);
			return true;
		}
		goto done;
	}
	handled = virt->guest_msr(vcpu, write, index, &value, &gp);
	if (!handled)
		handled = write ? allowed_write(index)
				: allowed_read(vcpu, index, &value);
	if (!handled || gp) {
		virt->inject_exception(vcpu, 13, true, 0);
		return true;	/* RIP stays: the fault is on the instruction */
	}
done:
	if (!write) {
		vcpu->regs.rax = (uint32_t)value;
		vcpu->regs.rdx = value >> 32;
	}
	skip_instruction(vcpu);
	return true;
}
