/*
 * #VMEXIT decode: the VMCB's exit code and EXITINFO1/2 into the
 * vendor-neutral struct vcpu_exit, the guest's control state into
 * struct vcpu_sregs, the event an exit interrupted back into EVENTINJ,
 * and the few exits the backend completes itself (AMD APM vol. 2, 15.6,
 * 15.7, 15.10, 15.25.6 and appendix C).
 */
#include "arch/x86/svm/svm.h"
#include "arch/x86/cpu.h"
#include "arch/x86/svm/vmcb.h"
#include "virt/guest_walk.h"
#include "virt/shadow_vm.h"
#include "virt/vcpu.h"
#include "virt/vm.h"

#define VECTOR_UD		6
#define VECTOR_AC		17

#define MAX_INSN_LEN		15

void svm_read_sregs(struct vcpu *vcpu)
{
	struct svm_vcpu *svm = vcpu->arch;
	const struct vmcb_save *save = &svm->vmcb->save;
	struct vcpu_sregs *s = &vcpu->sregs;

	s->cr0 = save->cr0;
	s->cr2 = save->cr2;
	s->cr3 = save->cr3;
	s->cr4 = save->cr4;
	s->efer = save->efer & ~EFER_SVME;	/* as the guest sees it */
	s->cs_base = save->cs.base;
	s->ds_base = save->ds.base;
	s->ss_base = save->ss.base;
	s->es_base = save->es.base;
	s->fs_base = save->fs.base;
	s->gs_base = save->gs.base;
	s->cs_sel = save->cs.selector;
	s->cs_long = save->cs.attrib & VMCB_ATTR_L;
	s->cs_db = save->cs.attrib & VMCB_ATTR_DB;
	s->cpl = save->cpl;
	if (vm_is_shadow(vcpu->vm))
		vcpu_shadow_view(vcpu, s);
}

/*
 * APM 15.7.2: when an intercept ends the guest in the middle of
 * delivering an event (an NPF on the IDT or the stack, a physical
 * interrupt), EXITINTINFO holds that event, and it is lost unless it is
 * injected again. EVENTINJ has the same format. Whatever was in EVENTINJ
 * has been delivered by now, or is the event EXITINTINFO names.
 *
 * INTn, INT3 and INTO are not injected again: the guest's RIP still
 * points at the instruction, which raises them again when it runs.
 */
static void requeue_interrupted_event(struct vmcb_control *c)
{
	uint64_t info = c->exit_int_info;
	uint64_t type = info & VMCB_EVENT_TYPE_MASK;
	uint8_t vector = info & VMCB_EVENT_VECTOR_MASK;

	c->event_inj = 0;
	if (!(info & VMCB_EVENT_VALID))
		return;
	if (type == VMCB_EVENT_TYPE_SOFT_INT ||
	    (type == VMCB_EVENT_TYPE_EXCEPTION && (vector == 3 || vector == 4)))
		return;
	c->event_inj = info & (VMCB_EVENT_VECTOR_MASK | VMCB_EVENT_TYPE_MASK |
			       VMCB_EVENT_ERROR_VALID | VMCB_EVENT_VALID |
			       0xffffffff00000000ull);
}

/* Guest code bytes at CS:RIP; how many of 'len' could be read. */
static unsigned fetch_code(struct vcpu *vcpu, uint8_t *buf, unsigned len)
{
	uint64_t linear = vcpu->sregs.cs_long ? vcpu->regs.rip :
			  (vcpu->sregs.cs_base + vcpu->regs.rip) & 0xffffffff;
	unsigned done = 0;

	while (done < len) {
		uint64_t at = linear + done, gpa;
		unsigned chunk = MIN(len - done, 4096 - (unsigned)(at & 4095));

		if (!guest_translate(vcpu, at, &gpa) ||
		    !vm_read_gpa(vcpu->vm, gpa, buf + done, chunk))
			break;
		done += chunk;
	}
	return done;
}

static bool is_prefix(uint8_t byte, bool long_mode)
{
	switch (byte) {
	case 0x26: case 0x2e: case 0x36: case 0x3e: case 0x64: case 0x65:
	case 0x66: case 0x67: case 0xf0: case 0xf2: case 0xf3:
		return true;
	}
	return long_mode && (byte & 0xf0) == 0x40;	/* REX */
}

/*
 * Length of the instruction that exited, whose opcode (without prefixes)
 * is 'opcode_len' bytes. With NRIPS the CPU says where the next one
 * starts. Without it (QEMU's TCG) the opcode is known from the exit code,
 * but redundant prefixes may stand before it: count them from the code
 * bytes. If the code cannot be read, assume none.
 */
static uint8_t insn_len(struct vcpu *vcpu, unsigned opcode_len)
{
	struct svm_vcpu *svm = vcpu->arch;
	uint8_t code[MAX_INSN_LEN];
	unsigned n, prefixes = 0;

	if (svm_caps.nrips)
		return (uint8_t)(svm->vmcb->control.next_rip - vcpu->regs.rip);
	n = fetch_code(vcpu, code, MAX_INSN_LEN - opcode_len);
	while (prefixes < n && is_prefix(code[prefixes], vcpu->sregs.cs_long))
		prefixes++;
	return (uint8_t)(prefixes + opcode_len);
}

/* #DF, #TS, #NP, #SS, #GP, #PF, #AC, #CP, #VC, #SX push an error code. */
static bool has_error_code(uint8_t vector)
{
	return vector == 8 || (vector >= 10 && vector <= 14) ||
	       vector == 17 || vector == 21 || vector == 29 || vector == 30;
}

static void decode_ioio(struct vcpu *vcpu, uint64_t info1, uint64_t info2)
{
	struct vcpu_exit *e = &vcpu->exit;
	unsigned size_bits = (info1 & SVM_IOIO_SIZE_MASK) >> SVM_IOIO_SIZE_SHIFT;

	e->reason = EXIT_IO;
	e->io.port = info1 >> SVM_IOIO_PORT_SHIFT;
	e->io.size = size_bits & 4 ? 4 : size_bits & 2 ? 2 : 1;
	e->io.in = info1 & SVM_IOIO_IN;
	e->io.string = info1 & SVM_IOIO_STRING;
	e->io.rep = info1 & SVM_IOIO_REP;
	/* EXITINFO2 is the next RIP, with or without NRIPS. */
	e->insn_len = (uint8_t)(info2 - vcpu->regs.rip);
}

/*
 * EXITINFO1 is a #PF-style error code. An NPF while the CPU walks the
 * guest's own page tables (PAGE_WALK rather than FINAL_GPA) is still a
 * read or an A/D-bit write of guest RAM at EXITINFO2, and is handled the
 * same way.
 */
static void decode_npf(struct vcpu *vcpu, uint64_t info1, uint64_t info2)
{
	struct vcpu_exit *e = &vcpu->exit;

	e->reason = EXIT_NPF;
	e->npf.gpa = info2;
	if (info1 & SVM_NPF_FETCH)
		e->npf.access = NPF_FETCH;
	else if (info1 & SVM_NPF_WRITE)
		e->npf.access = NPF_WRITE;
	else
		e->npf.access = NPF_READ;
	if (info1 & SVM_NPF_PRESENT)
		e->npf.access |= NPF_PRESENT;
	e->insn_len = 0;	/* the emulator decodes it if it must */
}

void svm_decode_exit(struct vcpu *vcpu)
{
	struct svm_vcpu *svm = vcpu->arch;
	struct vmcb_control *c = &svm->vmcb->control;
	struct vcpu_exit *e = &vcpu->exit;
	uint64_t code = c->exit_code, info1 = c->exit_info1;

	svm_read_sregs(vcpu);
	requeue_interrupted_event(c);
	*e = (struct vcpu_exit){ .reason = EXIT_UNHANDLED,
				 .vendor_code = code, .qualification = info1 };
	e->in_event_delivery = c->exit_int_info & VMCB_EVENT_VALID;

	if ((uint32_t)code == SVM_EXIT_INVALID) {
		e->reason = EXIT_INVALID_STATE;
		return;
	}
	if (code >= SVM_EXIT_EXCEPTION_BASE &&
	    code < SVM_EXIT_EXCEPTION_BASE + 32) {
		e->reason = EXIT_EXCEPTION;
		e->exception.vector = code - SVM_EXIT_EXCEPTION_BASE;
		/* EXITINFO1 is the error code if the exception has one. */
		e->exception.error_code = (uint32_t)info1;
		e->exception.has_error_code =
			has_error_code(e->exception.vector);
		e->exception.cr2 = c->exit_info2;
		return;
	}
	switch (code) {
	case SVM_EXIT_INTR:
	case SVM_EXIT_NMI:
	case SVM_EXIT_SMI:
	case SVM_EXIT_INIT:
		/* Held pending while GIF = 0; the host takes it after STGI
		 * (NMI, SMI, INIT) or when it turns interrupts on. */
		e->reason = EXIT_EXTERNAL_INTR;
		break;
	case SVM_EXIT_IOIO:
		decode_ioio(vcpu, info1, c->exit_info2);
		break;
	case SVM_EXIT_CPUID:
		e->reason = EXIT_CPUID;
		e->insn_len = insn_len(vcpu, 2);	/* 0f a2 */
		break;
	case SVM_EXIT_MSR:
		e->reason = info1 & 1 ? EXIT_MSR_WRITE : EXIT_MSR_READ;
		e->msr.index = (uint32_t)vcpu->regs.rcx;
		e->insn_len = insn_len(vcpu, 2);	/* 0f 32, 0f 30 */
		break;
	case SVM_EXIT_HLT:
		e->reason = EXIT_HLT;
		e->insn_len = insn_len(vcpu, 1);	/* f4 */
		break;
	case SVM_EXIT_VMMCALL:
		e->reason = EXIT_HYPERCALL;
		e->insn_len = insn_len(vcpu, 3);	/* 0f 01 d9 */
		break;
	case SVM_EXIT_INVD:
		e->insn_len = insn_len(vcpu, 2);	/* 0f 08 */
		break;
	case SVM_EXIT_NPF:
		decode_npf(vcpu, info1, c->exit_info2);
		break;
	case SVM_EXIT_SHUTDOWN:
		e->reason = EXIT_TRIPLE_FAULT;
		break;
	case SVM_EXIT_READ_CR0 + 0:
	case SVM_EXIT_READ_CR0 + 3:
	case SVM_EXIT_READ_CR0 + 4:
	case SVM_EXIT_WRITE_CR0 + 0:
	case SVM_EXIT_WRITE_CR0 + 3:
	case SVM_EXIT_WRITE_CR0 + 4:
		/* Shadow paging. Without decode assists nothing says which
		 * instruction it was: virt/ emulates it. */
		e->reason = EXIT_CR_ACCESS;
		e->cr.decoded = false;
		break;
	case SVM_EXIT_INVLPG:
		e->reason = EXIT_INVLPG;
		e->invlpg.decoded = false;
		break;
	}
}

static void inject_ud(struct vcpu *vcpu)
{
	svm_inject_exception(vcpu, VECTOR_UD, false, 0);
}

/*
 * Exits whose answer is fixed by what the guest was told, so the
 * vendor-neutral code never sees them:
 *  - the SVM instructions: the guest's CPUID has no SVM and its EFER.SVME
 *    reads 0, and there they raise #UD;
 *  - MONITOR/MWAIT: its CPUID has no MONITOR, so #UD;
 *  - XSETBV: its CPUID has no XSAVE, so #UD;
 *  - INVD would drop the host's dirty cache lines: done as a no-op,
 *    which is what WBINVD-then-INVD looks like to a guest on WB memory;
 *  - #AC (intercepted only to avoid a delivery loop, vcpu.c): given back
 *    to the guest, error code 0.
 */
bool svm_handle_exit_here(struct vcpu *vcpu)
{
	switch (vcpu->exit.vendor_code) {
	case SVM_EXIT_VMRUN:
	case SVM_EXIT_VMLOAD:
	case SVM_EXIT_VMSAVE:
	case SVM_EXIT_STGI:
	case SVM_EXIT_CLGI:
	case SVM_EXIT_SKINIT:
	case SVM_EXIT_INVLPGA:
	case SVM_EXIT_MONITOR:
	case SVM_EXIT_MWAIT:
	case SVM_EXIT_MWAIT_ARMED:
	case SVM_EXIT_XSETBV:
		inject_ud(vcpu);
		return true;
	case SVM_EXIT_INVD:
		vcpu->regs.rip += vcpu->exit.insn_len;
		return true;
	case SVM_EXIT_EXCEPTION_BASE + VECTOR_AC:
		svm_inject_exception(vcpu, VECTOR_AC, true, 0);
		return true;
	}
	return false;
}
