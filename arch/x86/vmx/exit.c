/*
 * VMX exits: decode the basic exit reason and its qualification into the
 * vendor-neutral struct vcpu_exit (SDM vol. 3C, chapter 28; appendix C
 * for the reasons), or resolve the exit here when it concerns only VMX
 * state: control-register accesses (cr.c), INVD, VMX instructions and
 * MONITOR/MWAIT (hidden from the guest: #UD).
 *
 * Also the register dump's VMX half and the error-number names.
 */
#include "arch/x86/vmx/vmcs.h"
#include "arch/x86/vmx/vmx.h"
#include "arch/x86/cpu.h"
#include "kernel/panic.h"
#include "kernel/printk.h"
#include "virt/vcpu.h"
#include "virt/vm.h"

#define VECTOR_UD	6
#define VECTOR_PF	14

const char *vmx_instruction_error_name(uint32_t error)
{
	static const char *const names[] = {
		[1] = "VMCALL in VMX root operation",
		[2] = "VMCLEAR with an invalid physical address",
		[3] = "VMCLEAR with the VMXON pointer",
		[4] = "VMLAUNCH with a VMCS that is not clear",
		[5] = "VMRESUME with a VMCS that is not launched",
		[6] = "VMRESUME after VMXOFF",
		[7] = "VM entry with invalid control fields",
		[8] = "VM entry with invalid host-state fields",
		[9] = "VMPTRLD with an invalid physical address",
		[10] = "VMPTRLD with the VMXON pointer",
		[11] = "VMPTRLD with a wrong VMCS revision",
		[12] = "VMREAD/VMWRITE of an unsupported field",
		[13] = "VMWRITE to a read-only field",
		[15] = "VMXON in VMX root operation",
		[26] = "VM entry with events blocked by MOV SS",
		[28] = "invalid operand to INVEPT/INVVPID",
	};

	return error < ARRAY_SIZE(names) && names[error] ? names[error] : "?";
}

void vmcs_access_failed(const char *insn, uint64_t field,
			enum vmx_status status)
{
	uint64_t error = 0;

	if (status == VMX_FAIL_VALID)
		vmcs_read_checked(VMCS_VM_INSTRUCTION_ERROR, &error);
	panic("vmx: %s of VMCS field 0x%lx failed: %s, VM-instruction error "
	      "%lu (%s)", insn, (unsigned long)field,
	      status == VMX_FAIL_VALID ? "VMfailValid" : "VMfailInvalid",
	      (unsigned long)error, vmx_instruction_error_name((uint32_t)error));
}

/* Advance RIP past the exiting instruction (the VM-exit instruction
 * length is valid for every exit resolved here). */
static void skip(struct vmx_vcpu *vmx)
{
	vmx->vcpu->regs.rip += vmx->vcpu->exit.insn_len;
}

static void decode_io(struct vcpu_exit *e)
{
	uint64_t q = e->qualification;

	e->reason = EXIT_IO;
	e->io.port = (uint16_t)(q >> IO_QUAL_PORT_SHIFT);
	e->io.size = (uint8_t)((q & IO_QUAL_SIZE_MASK) + 1);
	e->io.in = q & IO_QUAL_IN;
	e->io.string = q & IO_QUAL_STRING;
	e->io.rep = q & IO_QUAL_REP;
}

static void decode_ept_violation(struct vcpu_exit *e)
{
	uint64_t q = e->qualification;

	e->reason = EXIT_NPF;
	e->npf.gpa = vmcs_read(VMCS_GUEST_PHYSICAL_ADDRESS);
	e->npf.access = (q & EPT_QUAL_READ ? NPF_READ : 0) |
			(q & EPT_QUAL_WRITE ? NPF_WRITE : 0) |
			(q & EPT_QUAL_FETCH ? NPF_FETCH : 0) |
			(q & (EPT_QUAL_READABLE | EPT_QUAL_WRITABLE |
			      EPT_QUAL_EXECUTABLE) ? NPF_PRESENT : 0);
}

/*
 * Exception or NMI (reason 0). With an empty exception bitmap only a
 * host NMI gets here; it was meant for the host, which would have taken
 * it through its IDT: raise it there (its handler ends with IRET, which
 * also ends the NMI blocking that the exit left in place).
 */
static void decode_exception_or_nmi(struct vcpu_exit *e)
{
	uint32_t info = vmcs_read32(VMCS_EXIT_INTR_INFO);

	if (intr_info_type(info) == INTR_TYPE_NMI) {
		__asm__ volatile("int $2" ::: "memory");
		e->reason = EXIT_EXTERNAL_INTR;
		return;
	}
	e->reason = EXIT_EXCEPTION;
	e->exception.vector = info & INTR_INFO_VECTOR_MASK;
	e->exception.has_error_code = info & INTR_INFO_ERROR_CODE;
	if (e->exception.has_error_code)
		e->exception.error_code = vmcs_read32(VMCS_EXIT_INTR_ERROR);
	if (e->exception.vector == VECTOR_PF)
		e->exception.cr2 = e->qualification;
}

static void entry_failed(struct vmx_vcpu *vmx)
{
	struct vcpu *vcpu = vmx->vcpu;
	uint32_t basic = vmx->exit_reason & EXIT_REASON_BASIC_MASK;
	const char *what = basic == VMX_EXIT_INVALID_GUEST_STATE
			   ? "invalid guest state"
			   : basic == VMX_EXIT_MSR_LOADING
			   ? "MSR loading" : basic == VMX_EXIT_MACHINE_CHECK
			   ? "machine check" : "?";

	/* Qualification for invalid guest state: 2 = a PDPTE, 3 = NMI
	 * injection while blocked, 4 = the VMCS link pointer; for MSR
	 * loading the failing entry's index. */
	pr_err("[%s/%u] vmx: VM entry failed: %s (exit reason %u, "
	       "qualification %lu)\n", vcpu->vm->name, vcpu->id, what, basic,
	       (unsigned long)vmx->exit_qualification);
	vcpu->exit.reason = EXIT_INVALID_STATE;
}

/* The guest's VMX instructions and MONITOR/MWAIT: CPUID tells it it has
 * neither, and CR4.VMXE reads 0, so it gets what such a CPU gives. */
static bool is_hidden_instruction(uint32_t basic)
{
	switch (basic) {
	case VMX_EXIT_VMCLEAR: case VMX_EXIT_VMLAUNCH: case VMX_EXIT_VMPTRLD:
	case VMX_EXIT_VMPTRST: case VMX_EXIT_VMREAD: case VMX_EXIT_VMRESUME:
	case VMX_EXIT_VMWRITE: case VMX_EXIT_VMXOFF: case VMX_EXIT_VMXON:
	case VMX_EXIT_INVEPT: case VMX_EXIT_INVVPID: case VMX_EXIT_VMFUNC:
	case VMX_EXIT_MONITOR: case VMX_EXIT_MWAIT:
		return true;
	}
	return false;
}

/* INVLPG exits only if a CPU forces INVLPG exiting: drop the guest's
 * linear translations for its VPID (all of them: the simplest superset). */
static void emulate_invlpg(struct vmx_vcpu *vmx)
{
	vmx->flush_vpid = true;
	skip(vmx);
}

/*
 * Shadow paging: MOV to/from CR0, CR3, CR4, CLTS and LMSW go to virt/
 * (virt/shadow_cr.c), with the operands the qualification gives (SDM
 * table 28-3). CR8 stays here. True if it is one of those.
 */
static bool decode_shadow_cr_access(struct vcpu_exit *e)
{
	uint64_t q = e->qualification;
	unsigned cr = q & CR_QUAL_NUMBER_MASK;
	unsigned type = (q & CR_QUAL_TYPE_MASK) >> CR_QUAL_TYPE_SHIFT;

	if (cr != 0 && cr != 3 && cr != 4)
		return false;
	e->reason = EXIT_CR_ACCESS;
	e->cr.decoded = true;
	e->cr.cr = (uint8_t)cr;
	e->cr.gpr = (q & CR_QUAL_GPR_MASK) >> CR_QUAL_GPR_SHIFT;
	e->cr.lmsw_source = (uint16_t)(q >> CR_QUAL_LMSW_DATA_SHIFT);
	switch (type) {
	case CR_MOV_TO:
		e->cr.kind = CR_ACCESS_MOV_TO;
		break;
	case CR_MOV_FROM:
		e->cr.kind = CR_ACCESS_MOV_FROM;
		break;
	case CR_CLTS:
		e->cr.kind = CR_ACCESS_CLTS;
		break;
	default:
		e->cr.kind = CR_ACCESS_LMSW;
		break;
	}
	return true;
}

bool vmx_handle_exit(struct vmx_vcpu *vmx)
{
	struct vcpu_exit *e = &vmx->vcpu->exit;
	uint32_t basic = vmx->exit_reason & EXIT_REASON_BASIC_MASK;

	*e = (struct vcpu_exit){
		.reason = EXIT_UNHANDLED,
		.vendor_code = vmx->exit_reason,
		.qualification = vmx->exit_qualification,
	};
	if (vmx->exit_reason & EXIT_REASON_ENTRY_FAILURE) {
		entry_failed(vmx);
		return false;
	}
	e->insn_len = (uint8_t)vmcs_read32(VMCS_EXIT_INSN_LEN);
	e->in_event_delivery = vmx->idt_vectoring_info & INTR_INFO_VALID;
	switch (basic) {
	case VMX_EXIT_EXCEPTION_NMI:
		decode_exception_or_nmi(e);
		return false;
	case VMX_EXIT_EXTERNAL_INTR:
		e->reason = EXIT_EXTERNAL_INTR;
		return false;
	case VMX_EXIT_TRIPLE_FAULT:
		e->reason = EXIT_TRIPLE_FAULT;
		return false;
	case VMX_EXIT_CPUID:
		e->reason = EXIT_CPUID;
		return false;
	case VMX_EXIT_HLT:
		e->reason = EXIT_HLT;
		return false;
	case VMX_EXIT_VMCALL:
		e->reason = EXIT_HYPERCALL;
		return false;
	case VMX_EXIT_IO:
		decode_io(e);
		return false;
	case VMX_EXIT_RDMSR:
	case VMX_EXIT_WRMSR:
		e->reason = basic == VMX_EXIT_RDMSR ? EXIT_MSR_READ
						    : EXIT_MSR_WRITE;
		e->msr.index = (uint32_t)vmx->vcpu->regs.rcx;
		return false;
	case VMX_EXIT_EPT_VIOLATION:
		decode_ept_violation(e);
		return false;
	case VMX_EXIT_EPT_MISCONFIG:
		pr_err("[%s/%u] vmx: EPT misconfiguration at guest-physical "
		       "0x%lx: an entry the MMU built is invalid (MMU bug)\n",
		       vmx->vcpu->vm->name, vmx->vcpu->id,
		       (unsigned long)vmcs_read(VMCS_GUEST_PHYSICAL_ADDRESS));
		return false;
	case VMX_EXIT_CR_ACCESS:
		if (vmx->shadow && decode_shadow_cr_access(e))
			return false;
		vmx->internal_exits++;
		return vmx_cr_access(vmx);
	case VMX_EXIT_INVD:
		/* Nothing of the guest's is in a cache the host would lose:
		 * treat it as the WBINVD it safely is. */
		vmx->internal_exits++;
		skip(vmx);
		return true;
	case VMX_EXIT_INVLPG:
		if (vmx->shadow) {
			e->reason = EXIT_INVLPG;
			e->invlpg.decoded = true;
			e->invlpg.gva = e->qualification;
			return false;
		}
		vmx->internal_exits++;
		emulate_invlpg(vmx);
		return true;
	}
	if (is_hidden_instruction(basic)) {
		vmx->internal_exits++;
		vmx_queue_exception(vmx, VECTOR_UD, false, 0);
		return true;
	}
	/* Task switch, XSETBV, INIT, GETSEC, ...: EXIT_UNHANDLED. */
	return false;
}

/* ---- Register dump ------------------------------------------------------ */

static void dump_segment(struct vcpu *vcpu, const char *name,
			 enum vmcs_seg seg)
{
	pr_info("[%s/%u]   %-4s %04lx base %016lx limit %08lx ar %05lx\n",
		vcpu->vm->name, vcpu->id, name,
		(unsigned long)vmcs_read(VMCS_SEG_FIELD(VMCS_GUEST_ES_SEL, seg)),
		(unsigned long)vmcs_read(VMCS_SEG_FIELD(VMCS_GUEST_ES_BASE, seg)),
		(unsigned long)vmcs_read(VMCS_SEG_FIELD(VMCS_GUEST_ES_LIMIT, seg)),
		(unsigned long)vmcs_read(VMCS_SEG_FIELD(VMCS_GUEST_ES_AR, seg)));
}

void vmx_dump_state(struct vcpu *vcpu)
{
	static const char *const seg_names[SEG_COUNT] = {
		"ES", "CS", "SS", "DS", "FS", "GS", "LDTR", "TR",
	};
	struct vmx_vcpu *vmx = vcpu->arch;
	const char *n = vcpu->vm->name;
	unsigned id = vcpu->id;

	if (!vmx)
		return;
	for (unsigned s = 0; s < SEG_COUNT; s++)
		dump_segment(vcpu, seg_names[s], s);
	pr_info("[%s/%u]   GDTR %016lx/%04lx IDTR %016lx/%04lx\n", n, id,
		(unsigned long)vmcs_read(VMCS_GUEST_GDTR_BASE),
		(unsigned long)vmcs_read(VMCS_GUEST_GDTR_LIMIT),
		(unsigned long)vmcs_read(VMCS_GUEST_IDTR_BASE),
		(unsigned long)vmcs_read(VMCS_GUEST_IDTR_LIMIT));
	pr_info("[%s/%u]   vmx: CR0 real %lx shadow %lx mask %lx; CR4 real %lx "
		"shadow %lx mask %lx; PAT %lx\n", n, id,
		(unsigned long)vmcs_read(VMCS_GUEST_CR0),
		(unsigned long)vmcs_read(VMCS_CR0_READ_SHADOW),
		(unsigned long)vmx->cr0_mask,
		(unsigned long)vmcs_read(VMCS_GUEST_CR4),
		(unsigned long)vmcs_read(VMCS_CR4_READ_SHADOW),
		(unsigned long)vmx->cr4_mask,
		(unsigned long)vmcs_read(VMCS_GUEST_PAT));
	pr_info("[%s/%u]   vmx: exit reason 0x%x qualification 0x%lx, "
		"guest-linear 0x%lx guest-physical 0x%lx, VM-instruction "
		"error %lu\n", n, id, vmx->exit_reason,
		(unsigned long)vmx->exit_qualification,
		(unsigned long)vmcs_read(VMCS_GUEST_LINEAR_ADDRESS),
		(unsigned long)vmcs_read(VMCS_GUEST_PHYSICAL_ADDRESS),
		(unsigned long)vmcs_read(VMCS_VM_INSTRUCTION_ERROR));
	pr_info("[%s/%u]   vmx: IDT-vectoring info 0x%x error 0x%lx, exit "
		"interruption info 0x%lx error 0x%lx, interruptibility 0x%lx, "
		"activity %lu\n", n, id, vmx->idt_vectoring_info,
		(unsigned long)vmcs_read(VMCS_IDT_VECTORING_ERROR),
		(unsigned long)vmcs_read(VMCS_EXIT_INTR_INFO),
		(unsigned long)vmcs_read(VMCS_EXIT_INTR_ERROR),
		(unsigned long)vmcs_read(VMCS_GUEST_INTERRUPTIBILITY),
		(unsigned long)vmcs_read(VMCS_GUEST_ACTIVITY_STATE));
	pr_info("[%s/%u]   vmx: controls pin %lx proc %lx proc2 %lx exit %lx "
		"entry %lx, EPTP %lx, VPID %u, %lu exits resolved in the "
		"backend\n", n, id,
		(unsigned long)vmcs_read(VMCS_PIN_CONTROLS),
		(unsigned long)vmcs_read(VMCS_PROC_CONTROLS),
		(unsigned long)vmcs_read(VMCS_PROC2_CONTROLS),
		(unsigned long)vmcs_read(VMCS_EXIT_CONTROLS),
		(unsigned long)vmcs_read(VMCS_ENTRY_CONTROLS),
		(unsigned long)vmx->eptp, vmx->vpid,
		(unsigned long)vmx->internal_exits);
}
