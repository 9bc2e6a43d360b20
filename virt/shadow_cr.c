/*
 * Control registers under shadow paging (virt/shadow_vm.h): every write
 * to CR0, CR3, CR4 and EFER exits, gets the checks the CPU would make
 * (Intel SDM vol. 2, MOV to CR, and vol. 3A 2.5, 4.1; AMD APM vol. 2,
 * 3.1), switches long mode itself (the hardware always has paging on, so
 * it never sees the guest's own CR0.PG go on), and then goes to the
 * shadow MMU, which loads the PAE PDPTEs and a new root where the
 * architecture says. The backend takes the new hardware state before the
 * next entry (vcpu_shadow_prepare_entry).
 *
 * Not supported: real mode (CR0.PE = 0): the hardware's paging needs PE,
 * and VMX without EPT has no unrestricted guest. Such a write stops the
 * VM with a message.
 */
#include "arch/x86/cpu.h"
#include "kernel/printk.h"
#include "kernel/string.h"
#include "virt/exits.h"
#include "virt/shadow_vm.h"
#include "virt/virt.h"

#define CR0_KNOWN	(CR0_PE | CR0_MP | CR0_EM | CR0_TS | CR0_ET | CR0_NE | \
			 CR0_WP | CR0_AM | CR0_NW | CR0_CD | CR0_PG)
#define CR3_PCID_NOFLUSH (1ull << 63)
#define EFER_FFXSR	(1ull << 14)

#define CR4_PVI		(1ull << 1)
#define CR4_TSD		(1ull << 2)
#define CR4_DE		(1ull << 3)
#define CR4_PCE		(1ull << 8)
#define CR4_UMIP	(1ull << 11)

#define CPUID1_ECX_PCID		(1u << 17)
#define CPUID7_EBX_FSGSBASE	(1u << 0)
#define CPUID7_EBX_SMEP		(1u << 7)
#define CPUID7_EBX_SMAP		(1u << 20)
#define CPUID7_ECX_UMIP		(1u << 2)
#define CPUID7_ECX_PKU		(1u << 3)
#define CPUID81_EDX_NX		(1u << 20)
#define CPUID81_EDX_FFXSR	(1u << 25)

/*
 * The CR4 bits a guest may set: those of the CPU's features that its
 * CPUID shows (virt/cpuid.c), which the hardware then enforces itself.
 * Not VMXE/SMXE (hidden), OSXSAVE (XSAVE hidden), LA57 (5-level paging
 * is not shadowed). Computed once; racing first callers agree.
 */
static uint64_t cr4_allowed(void)
{
	static uint64_t allowed;
	uint64_t a = __atomic_load_n(&allowed, __ATOMIC_RELAXED);
	struct cpuid_regs l1, l7;

	if (a)
		return a;
	l1 = cpuid(1);
	l7 = cpuid_count(7, 0);
	a = CR4_VME | CR4_PVI | CR4_TSD | CR4_DE | CR4_PSE | CR4_PAE |
	    CR4_MCE | CR4_PGE | CR4_PCE | CR4_OSFXSR | CR4_OSXMMEXCPT;
	if (l1.ecx & CPUID1_ECX_PCID)
		a |= CR4_PCIDE;
	if (l7.ebx & CPUID7_EBX_FSGSBASE)
		a |= CR4_FSGSBASE;
	if (l7.ebx & CPUID7_EBX_SMEP)
		a |= CR4_SMEP;
	if (l7.ebx & CPUID7_EBX_SMAP)
		a |= CR4_SMAP;
	if (l7.ecx & CPUID7_ECX_UMIP)
		a |= CR4_UMIP;
	if (l7.ecx & CPUID7_ECX_PKU)
		a |= CR4_PKE;
	__atomic_store_n(&allowed, a, __ATOMIC_RELAXED);
	return a;
}

static uint64_t efer_allowed(void)
{
	uint64_t a = EFER_SCE | EFER_LME | EFER_LMA;
	uint32_t edx = cpuid_max_ext() >= 0x80000001 ? cpuid(0x80000001).edx
						      : 0;

	if (edx & CPUID81_EDX_NX)
		a |= EFER_NXE;
	if (edx & CPUID81_EDX_FFXSR)
		a |= EFER_FFXSR;
	return a;
}

static unsigned maxphyaddr(const struct vcpu *vcpu)
{
	return vcpu->shadow.paging.maxphyaddr;
}

int shadow_cr_outcome(struct vcpu *vcpu, enum shadow_cr_result r)
{
	switch (r) {
	case SHADOW_CR_OK:
		return 0;
	case SHADOW_CR_GP:
		return 1;
	case SHADOW_CR_UNSUPPORTED:
		stop_with_dump(vcpu, "5-level paging is not supported with "
			       "mmu=shadow");
		return -1;
	case SHADOW_CR_MEM_ERROR:
		stop_with_dump(vcpu, "the guest's PAE page-directory "
			       "pointers lie outside its RAM");
		return -1;
	case SHADOW_CR_NOMEM:
		break;
	}
	stop_with_dump(vcpu, "out of memory for shadow page tables");
	return -1;
}

static int set_cr0(struct vcpu *vcpu, uint64_t val)
{
	const struct guest_paging *p = &vcpu->shadow.paging;
	uint64_t old = p->cr0, efer = p->efer;

	if (val >> 32)
		return 1;
	/* Reserved bits of CR0[31:0] are ignored; ET is hardwired. */
	val = (val & CR0_KNOWN) | CR0_ET;
	if (((val & CR0_PG) && !(val & CR0_PE)) ||
	    ((val & CR0_NW) && !(val & CR0_CD)))
		return 1;
	if (!(val & CR0_PE)) {
		stop_with_dump(vcpu, "the guest turned protected mode off "
			       "(CR0.PE = 0): real mode is not supported "
			       "with mmu=shadow");
		return -1;
	}
	if (!(old & CR0_PG) && (val & CR0_PG) && (efer & EFER_LME)) {
		/* Entering IA-32e mode: needs PAE, and CS.L clear. */
		if (!(p->cr4 & CR4_PAE) || vcpu->sregs.cs_long)
			return 1;
		efer |= EFER_LMA;
	}
	if ((old & CR0_PG) && !(val & CR0_PG)) {
		if ((p->cr4 & CR4_PCIDE) ||
		    ((efer & EFER_LMA) && vcpu->sregs.cs_long))
			return 1;
		efer &= ~EFER_LMA;
	}
	return shadow_cr_outcome(vcpu, shadow_set_cr(&vcpu->shadow, val,
						      p->cr4, efer));
}

static int set_cr4(struct vcpu *vcpu, uint64_t val)
{
	const struct guest_paging *p = &vcpu->shadow.paging;

	if ((val & ~cr4_allowed()) ||
	    ((p->efer & EFER_LMA) && !(val & CR4_PAE)) ||
	    (!(p->cr4 & CR4_PCIDE) && (val & CR4_PCIDE) &&
	     (!(p->efer & EFER_LMA) || (p->cr3 & 0xfff))))
		return 1;
	return shadow_cr_outcome(vcpu, shadow_set_cr(&vcpu->shadow, p->cr0,
						      val, p->efer));
}

/*
 * MOV to CR3. With PCIDs, bit 63 asks to keep the PCID's translations;
 * the shadow MMU reloads (and resyncs) the root either way, which is the
 * stronger of the two, and bit 63 is not part of CR3. In long mode the
 * bits above MAXPHYADDR are reserved (#GP); outside it the operand is 32
 * bits.
 */
static int set_cr3(struct vcpu *vcpu, uint64_t val)
{
	const struct guest_paging *p = &vcpu->shadow.paging;

	if (p->cr4 & CR4_PCIDE)
		val &= ~CR3_PCID_NOFLUSH;
	if ((p->efer & EFER_LMA) && (val >> maxphyaddr(vcpu)))
		return 1;
	if (!(p->efer & EFER_LMA))
		val = (uint32_t)val;
	return shadow_cr_outcome(vcpu, shadow_new_cr3(&vcpu->shadow, val));
}

int shadow_cr_write(struct vcpu *vcpu, unsigned cr, uint64_t value)
{
	switch (cr) {
	case 0:
		return set_cr0(vcpu, value);
	case 3:
		return set_cr3(vcpu, value);
	case 4:
		return set_cr4(vcpu, value);
	}
	stop_with_dump(vcpu, "an intercepted write to a control register "
		       "other than CR0, CR3 and CR4");
	return -1;
}

int shadow_cr_read(struct vcpu *vcpu, unsigned cr, uint64_t *value)
{
	const struct guest_paging *p = &vcpu->shadow.paging;

	switch (cr) {
	case 0:
		*value = p->cr0;
		return 0;
	case 2:
		*value = vcpu->sregs.cr2;
		return 0;
	case 3:
		*value = p->cr3;
		return 0;
	case 4:
		*value = p->cr4;
		return 0;
	}
	stop_with_dump(vcpu, "an intercepted read of a control register "
		       "other than CR0, CR2, CR3 and CR4");
	return -1;
}

/* WRMSR EFER: LMA is the CPU's to change (it follows CR0.PG), and LME
 * may not change while paging is on. */
int shadow_efer_write(struct vcpu *vcpu, uint64_t value)
{
	const struct guest_paging *p = &vcpu->shadow.paging;

	if ((value & ~efer_allowed()) ||
	    ((p->cr0 & CR0_PG) && ((value ^ p->efer) & EFER_LME)))
		return 1;
	value = (value & ~EFER_LMA) | (p->efer & EFER_LMA);
	return shadow_cr_outcome(vcpu, shadow_set_cr(&vcpu->shadow, p->cr0,
						      p->cr4, value));
}

/* INVLPG: the MMU brings an unsync entry back in sync, and this vCPU's
 * TLB must drop whatever it cached for the page (the whole guest TLB:
 * the backends have no single-address flush yet). */
void shadow_vcpu_invlpg(struct vcpu *vcpu, uint64_t gva)
{
	vcpu->invlpg_count++;
	shadow_invlpg(&vcpu->shadow, gva);
	virt->flush_guest_tlb(vcpu);
}
