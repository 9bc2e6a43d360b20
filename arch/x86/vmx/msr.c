/*
 * Guest MSRs under VMX. Every RDMSR/WRMSR exits (no MSR bitmap); virt/msr.c
 * asks here first, for the MSRs whose guest value the backend keeps:
 *
 *  - in the VMCS, loaded and saved by VM entry and exit: EFER, PAT,
 *    FS/GS base, SYSENTER_CS/ESP/EIP;
 *  - in the real MSRs: KERNEL_GS_BASE, STAR, LSTAR, CSTAR, SFMASK, which
 *    have no VMCS field. SWAPGS and SYSCALL/SYSRET use them without an
 *    exit, so the guest's values must be in the real MSRs while it runs.
 *    The host itself never uses them (no user mode, no SWAPGS), so they
 *    are not swapped at every exit: a vCPU takes them over when it runs
 *    on its CPU (vmx_load_syscall_msrs saves the previous owner's
 *    KERNEL_GS_BASE, the one value the guest changes without an exit)
 *    and gives the host's values back when it is destroyed.
 */
#include "arch/x86/vmx/vmcs.h"
#include "arch/x86/vmx/vmx.h"
#include "arch/x86/cpu.h"
#include "smp/percpu.h"
#include "virt/vcpu.h"

static const uint32_t syscall_msr_index[VMX_SYSCALL_MSR_COUNT] = {
	[VMX_MSR_KERNEL_GS_BASE] = MSR_KERNEL_GS_BASE,
	[VMX_MSR_STAR] = MSR_STAR,
	[VMX_MSR_LSTAR] = MSR_LSTAR,
	[VMX_MSR_CSTAR] = MSR_CSTAR,
	[VMX_MSR_SFMASK] = MSR_SFMASK,
};

/* Per CPU: which vCPU's values are in the real MSRs (NULL: the host's),
 * and the host's, kept while a vCPU holds them. */
static struct vmx_vcpu *syscall_msr_owner[MAX_CPUS];
static uint64_t host_syscall_msrs[MAX_CPUS][VMX_SYSCALL_MSR_COUNT];

void vmx_load_syscall_msrs(struct vmx_vcpu *vmx)
{
	struct vmx_vcpu *owner = syscall_msr_owner[vmx->cpu];

	if (owner == vmx)
		return;
	if (owner)
		owner->syscall_msrs[VMX_MSR_KERNEL_GS_BASE] =
			rdmsr(MSR_KERNEL_GS_BASE);
	else
		for (unsigned i = 0; i < VMX_SYSCALL_MSR_COUNT; i++)
			host_syscall_msrs[vmx->cpu][i] =
				rdmsr(syscall_msr_index[i]);
	for (unsigned i = 0; i < VMX_SYSCALL_MSR_COUNT; i++)
		wrmsr(syscall_msr_index[i], vmx->syscall_msrs[i]);
	syscall_msr_owner[vmx->cpu] = vmx;
}

void vmx_put_syscall_msrs(struct vmx_vcpu *vmx)
{
	if (syscall_msr_owner[vmx->cpu] != vmx)
		return;
	for (unsigned i = 0; i < VMX_SYSCALL_MSR_COUNT; i++)
		wrmsr(syscall_msr_index[i], host_syscall_msrs[vmx->cpu][i]);
	syscall_msr_owner[vmx->cpu] = NULL;
}

static int syscall_msr_slot(uint32_t index)
{
	for (int i = 0; i < VMX_SYSCALL_MSR_COUNT; i++)
		if (syscall_msr_index[i] == index)
			return i;
	return -1;
}

static bool is_canonical(uint64_t va)
{
	static unsigned bits;

	if (!bits)
		bits = cpuid_max_ext() >= 0x80000008
		       ? ((cpuid(0x80000008).eax >> 8) & 0xff) : 48;
	return (uint64_t)((int64_t)(va << (64 - bits)) >> (64 - bits)) == va;
}

/* Each byte a memory type: UC WC WT WP WB UC- (0 1 4 5 6 7). */
static bool pat_valid(uint64_t pat)
{
	for (unsigned i = 0; i < 8; i++) {
		uint8_t type = (uint8_t)(pat >> (8 * i));

		if (type > 7 || type == 2 || type == 3)
			return false;
	}
	return true;
}

/*
 * EFER: SCE, LME, NXE (if the CPU has NX) may be written; LMA is the
 * CPU's: a write keeps its current value. LME cannot change while paging
 * is on. The "IA-32e mode guest" entry control follows LMA (vcpu.c sets
 * it before each entry), so it stays consistent by construction.
 */
static bool write_efer(struct vmx_vcpu *vmx, uint64_t val)
{
	uint64_t old = vmcs_read(VMCS_GUEST_EFER);
	uint64_t allowed = EFER_SCE | EFER_LME | EFER_LMA |
			   (cpu_has_nx() ? EFER_NXE : 0);

	if ((val & ~allowed) ||
	    ((vmx_guest_cr0(vmx) & CR0_PG) && ((old ^ val) & EFER_LME)))
		return false;
	val = (val & ~EFER_LMA) | (old & EFER_LMA);
	vmcs_write(VMCS_GUEST_EFER, val);
	vmx->vcpu->sregs.efer = val;
	return true;
}

/* The VMCS field holding an MSR, or 0. */
static uint64_t vmcs_field_of(uint32_t index)
{
	switch (index) {
	case MSR_PAT: return VMCS_GUEST_PAT;
	case MSR_FS_BASE: return VMCS_GUEST_FS_BASE;
	case MSR_GS_BASE: return VMCS_GUEST_GS_BASE;
	case MSR_SYSENTER_CS: return VMCS_GUEST_SYSENTER_CS;
	case MSR_SYSENTER_ESP: return VMCS_GUEST_SYSENTER_ESP;
	case MSR_SYSENTER_EIP: return VMCS_GUEST_SYSENTER_EIP;
	}
	return 0;
}

static bool write_ok(uint32_t index, uint64_t val)
{
	switch (index) {
	case MSR_PAT:
		return pat_valid(val);
	case MSR_SYSENTER_CS:
		return (val >> 32) == 0;
	case MSR_STAR:
		return true;
	case MSR_SFMASK:
		return (val >> 32) == 0;
	}
	return is_canonical(val);	/* bases and entry points */
}

bool vmx_guest_msr(struct vcpu *vcpu, bool write, uint32_t index,
		   uint64_t *value, bool *gp)
{
	struct vmx_vcpu *vmx = vcpu->arch;
	uint64_t field = vmcs_field_of(index);
	int slot = syscall_msr_slot(index);

	if (index == MSR_EFER) {
		if (!write)
			*value = vmcs_read(VMCS_GUEST_EFER);
		else if (!write_efer(vmx, *value))
			*gp = true;
		return true;
	}
	if (!field && slot < 0)
		return false;
	if (write && !write_ok(index, *value)) {
		*gp = true;
		return true;
	}
	if (field) {
		if (write)
			vmcs_write(field, *value);
		else
			*value = vmcs_read(field);
		return true;
	}
	/* vcpu_run made this vCPU the owner; the real MSR is current. */
	vmx_load_syscall_msrs(vmx);
	if (write) {
		wrmsr(index, *value);
		vmx->syscall_msrs[slot] = *value;
	} else {
		*value = rdmsr(index);
	}
	return true;
}
