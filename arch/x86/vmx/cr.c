/*
 * Control registers under VMX (SDM vol. 3C, 25.6.6 and 26.1.3).
 *
 * The guest runs with its own CR0/CR3/CR4 in the VMCS, except for the
 * bits the host owns (vcpu.c: those VMX operation fixes, CR4.VMXE, and
 * bits the CPU does not allow). For those the guest reads its own values
 * from the read shadows, and a MOV to CR0/CR4, CLTS or LMSW that would
 * change one exits here and is emulated: the checks the CPU would make
 * (#GP), the long-mode switch (EFER.LMA, which the CPU makes itself only
 * for the writes that do not exit), the PAE page-directory pointers that
 * EPT makes the VMCS hold, and the TLB flush the instruction implies.
 *
 * CR8 always exits (else the guest would write the host's TPR): it reads
 * and writes a per-vCPU value until there is a virtual local APIC. CR3
 * exits only on CPUs that force CR3 exiting.
 */
#include "arch/x86/vmx/vmcs.h"
#include "arch/x86/vmx/vmx.h"
#include "arch/x86/cpu.h"
#include "kernel/printk.h"
#include "virt/emulate.h"
#include "virt/vcpu.h"
#include "virt/vm.h"

#define VECTOR_GP	13
#define CR4_SMXE	(1ull << 14)
#define CR3_PCID_NOFLUSH (1ull << 63)

uint64_t vmx_guest_cr0(const struct vmx_vcpu *vmx)
{
	return (vmcs_read(VMCS_GUEST_CR0) & ~vmx->cr0_mask) |
	       (vmcs_read(VMCS_CR0_READ_SHADOW) & vmx->cr0_mask);
}

uint64_t vmx_guest_cr4(const struct vmx_vcpu *vmx)
{
	return (vmcs_read(VMCS_GUEST_CR4) & ~vmx->cr4_mask) |
	       (vmcs_read(VMCS_CR4_READ_SHADOW) & vmx->cr4_mask);
}

static unsigned max_phys_bits(void)
{
	static unsigned bits;

	if (!bits)
		bits = cpu_phys_addr_bits();
	return bits;
}

static bool in_64bit_mode(const struct vcpu *vcpu)
{
	return (vcpu->sregs.efer & EFER_LMA) && vcpu->sregs.cs_long;
}

static bool pae_paging(uint64_t cr0, uint64_t cr4, uint64_t efer)
{
	return (cr0 & CR0_PG) && (cr4 & CR4_PAE) && !(efer & EFER_LMA);
}

/*
 * PAE paging keeps its four PDPTEs in registers, loaded by MOV to CR0,
 * CR3 or CR4; with EPT, VM entry loads them from the VMCS, so an
 * emulated load must put them there. A present entry with a reserved bit
 * (2:1, 8:5, above MAXPHYADDR) makes the MOV fault with #GP.
 */
static bool load_pdptes(struct vmx_vcpu *vmx, uint64_t cr3)
{
	uint64_t pdpte[4];
	uint64_t reserved = 0x1e6ull | ~((1ull << max_phys_bits()) - 1);

	if (!vm_read_gpa(vmx->vcpu->vm, cr3 & 0xffffffe0ull, pdpte,
			 sizeof(pdpte)))
		return false;
	for (unsigned i = 0; i < 4; i++)
		if ((pdpte[i] & 1) && (pdpte[i] & reserved))
			return false;
	for (unsigned i = 0; i < 4; i++)
		vmcs_write(VMCS_GUEST_PDPTE0 + 2 * i, pdpte[i]);
	return true;
}

/* MOV to CR0 (also CLTS, LMSW). False: #GP, nothing changed. */
static bool set_cr0(struct vmx_vcpu *vmx, uint64_t val)
{
	struct vcpu *vcpu = vmx->vcpu;
	uint64_t old = vmx_guest_cr0(vmx), cr4 = vmx_guest_cr4(vmx);
	uint64_t efer = vmcs_read(VMCS_GUEST_EFER);
	uint64_t force = vmx_caps.cr0_fixed0 & ~(CR0_PE | CR0_PG);

	val |= CR0_ET;			/* hardwired to 1 since the 486DX */
	if ((val >> 32) || ((val & CR0_PG) && !(val & CR0_PE)) ||
	    ((val & CR0_NW) && !(val & CR0_CD)) ||
	    (val & ~vmx_caps.cr0_fixed1 & ~(CR0_PE | CR0_PG)))
		return false;
	if (!(old & CR0_PG) && (val & CR0_PG) && (efer & EFER_LME)) {
		/* Entering IA-32e mode: needs PAE, and CS.L clear. */
		if (!(cr4 & CR4_PAE) || vcpu->sregs.cs_long)
			return false;
		efer |= EFER_LMA;
	}
	if ((old & CR0_PG) && !(val & CR0_PG)) {
		if (in_64bit_mode(vcpu))
			return false;	/* only from compatibility mode */
		efer &= ~EFER_LMA;
	}
	if (pae_paging(val, cr4, efer) && ((old ^ val) & (CR0_PG | CR0_CD |
							  CR0_NW)) &&
	    !load_pdptes(vmx, vmcs_read(VMCS_GUEST_CR3)))
		return false;
	vmcs_write(VMCS_GUEST_CR0, val | force);
	vmcs_write(VMCS_CR0_READ_SHADOW, val);
	vmcs_write(VMCS_GUEST_EFER, efer);
	vcpu->sregs.cr0 = val;
	vcpu->sregs.efer = efer;
	if ((old ^ val) & (CR0_PG | CR0_PE | CR0_WP | CR0_CD | CR0_NW))
		vmx->flush_vpid = true;
	return true;
}

/* MOV to CR4. VMX and SMX are hidden from the guest: their enable bits
 * are reserved as far as it knows. */
static bool set_cr4(struct vmx_vcpu *vmx, uint64_t val)
{
	struct vcpu *vcpu = vmx->vcpu;
	uint64_t old = vmx_guest_cr4(vmx), cr0 = vmx_guest_cr0(vmx);
	uint64_t efer = vmcs_read(VMCS_GUEST_EFER);
	uint64_t reserved = ~vmx_caps.cr4_fixed1 | CR4_VMXE | CR4_SMXE;
	uint64_t paging_bits = CR4_PGE | CR4_PAE | CR4_PSE | CR4_PCIDE |
			       CR4_SMEP | CR4_SMAP | CR4_PKE;

	if ((val & reserved) ||
	    ((efer & EFER_LMA) && !(val & CR4_PAE)) ||
	    (!(old & CR4_PCIDE) && (val & CR4_PCIDE) &&
	     (!(efer & EFER_LMA) || (vmcs_read(VMCS_GUEST_CR3) & 0xfff))))
		return false;
	if (pae_paging(cr0, val, efer) &&
	    ((old ^ val) & (CR4_PAE | CR4_PSE | CR4_PGE | CR4_SMEP)) &&
	    !load_pdptes(vmx, vmcs_read(VMCS_GUEST_CR3)))
		return false;
	vmcs_write(VMCS_GUEST_CR4, val | vmx_caps.cr4_fixed0 | CR4_VMXE);
	vmcs_write(VMCS_CR4_READ_SHADOW, val);
	vcpu->sregs.cr4 = val;
	if ((old ^ val) & paging_bits)
		vmx->flush_vpid = true;
	return true;
}

/* MOV to CR3 (only on CPUs that force CR3-load exiting). */
static bool set_cr3(struct vmx_vcpu *vmx, uint64_t val)
{
	uint64_t cr0 = vmx_guest_cr0(vmx), cr4 = vmx_guest_cr4(vmx);
	uint64_t efer = vmcs_read(VMCS_GUEST_EFER);
	bool flush = true;

	if ((cr4 & CR4_PCIDE) && (val & CR3_PCID_NOFLUSH)) {
		val &= ~CR3_PCID_NOFLUSH;
		flush = false;
	}
	if ((efer & EFER_LMA) && (val >> max_phys_bits()))
		return false;
	if (pae_paging(cr0, cr4, efer) && !load_pdptes(vmx, val))
		return false;
	vmcs_write(VMCS_GUEST_CR3, val);
	vmx->vcpu->sregs.cr3 = val;
	if (flush)
		vmx->flush_vpid = true;
	return true;
}

static bool mov_to_cr(struct vmx_vcpu *vmx, unsigned cr, uint64_t val)
{
	switch (cr) {
	case 0:
		return set_cr0(vmx, val);
	case 3:
		return set_cr3(vmx, val);
	case 4:
		return set_cr4(vmx, val);
	case 8:
		if (val & ~0xfull)
			return false;
		vmx->cr8 = (uint8_t)val;
		return true;
	}
	return false;
}

static uint64_t mov_from_cr(struct vmx_vcpu *vmx, unsigned cr)
{
	return cr == 3 ? vmcs_read(VMCS_GUEST_CR3) : vmx->cr8;
}

bool vmx_cr_access(struct vmx_vcpu *vmx)
{
	struct vcpu *vcpu = vmx->vcpu;
	uint64_t q = vcpu->exit.qualification;
	unsigned cr = q & CR_QUAL_NUMBER_MASK;
	unsigned type = (q & CR_QUAL_TYPE_MASK) >> CR_QUAL_TYPE_SHIFT;
	uint64_t *reg = emu_gpr(&vcpu->regs, (q & CR_QUAL_GPR_MASK) >>
				       CR_QUAL_GPR_SHIFT);
	uint64_t old_cr0 = vmx_guest_cr0(vmx);
	uint64_t val, lmsw;
	bool ok;

	switch (type) {
	case CR_MOV_TO:
		val = in_64bit_mode(vcpu) ? *reg : (uint32_t)*reg;
		ok = mov_to_cr(vmx, cr, val);
		break;
	case CR_MOV_FROM:
		if (cr != 3 && cr != 8)
			return false;	/* CR0/CR4 reads never exit */
		val = mov_from_cr(vmx, cr);
		*reg = in_64bit_mode(vcpu) ? val : (uint32_t)val;
		ok = true;
		break;
	case CR_CLTS:
		ok = set_cr0(vmx, old_cr0 & ~CR0_TS);
		break;
	default:	/* LMSW: the low four bits; it can set PE, not clear it */
		lmsw = (q >> CR_QUAL_LMSW_DATA_SHIFT) & 0xf;
		ok = set_cr0(vmx, (old_cr0 & ~0xeull) | lmsw);
		break;
	}
	if (!ok) {
		vmx_queue_exception(vmx, VECTOR_GP, true, 0);
		return true;		/* RIP stays: the fault is the MOV's */
	}
	vcpu->regs.rip += vcpu->exit.insn_len;
	return true;
}
