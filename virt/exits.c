/*
 * What happens on each exit. Anything the hypervisor cannot make sense of
 * stops that VM with the reason and a register dump; the host and the
 * other guests go on.
 */
#include "virt/exits.h"
#include "kernel/printk.h"
#include "mmu/tdp.h"
#include "virt/guest_emulate.h"
#include "virt/shadow_vm.h"
#include "virt/virt.h"
#include "virt/vm.h"

static const char *const reason_names[EXIT_REASON_COUNT] = {
	[EXIT_NONE] = "none",
	[EXIT_IO] = "io",
	[EXIT_CPUID] = "cpuid",
	[EXIT_MSR_READ] = "rdmsr",
	[EXIT_MSR_WRITE] = "wrmsr",
	[EXIT_HLT] = "hlt",
	[EXIT_HYPERCALL] = "hypercall",
	[EXIT_NPF] = "npf",
	[EXIT_EXCEPTION] = "exception",
	[EXIT_EXTERNAL_INTR] = "intr",
	[EXIT_TRIPLE_FAULT] = "triple-fault",
	[EXIT_INVALID_STATE] = "invalid-state",
	[EXIT_CR_ACCESS] = "cr",
	[EXIT_INVLPG] = "invlpg",
	[EXIT_UNHANDLED] = "unhandled",
};

const char *exit_reason_name(enum exit_reason reason)
{
	return reason < EXIT_REASON_COUNT ? reason_names[reason] : "?";
}

void vcpu_dump(struct vcpu *vcpu)
{
	const struct vcpu_regs *r = &vcpu->regs;
	const struct vcpu_sregs *s = &vcpu->sregs;
	const char *n = vcpu->vm->name;
	unsigned id = vcpu->id;

	pr_info("[%s/%u] register dump after exit %s (vendor code 0x%lx, "
		"qualification 0x%lx):\n", n, id,
		exit_reason_name(vcpu->exit.reason),
		(unsigned long)vcpu->exit.vendor_code,
		(unsigned long)vcpu->exit.qualification);
	pr_info("[%s/%u]   RIP %016lx RFLAGS %016lx RSP %016lx\n", n, id,
		r->rip, r->rflags, r->rsp);
	pr_info("[%s/%u]   RAX %016lx RBX %016lx RCX %016lx RDX %016lx\n", n,
		id, r->rax, r->rbx, r->rcx, r->rdx);
	pr_info("[%s/%u]   RSI %016lx RDI %016lx RBP %016lx\n", n, id, r->rsi,
		r->rdi, r->rbp);
	pr_info("[%s/%u]   R8  %016lx R9  %016lx R10 %016lx R11 %016lx\n", n,
		id, r->r8, r->r9, r->r10, r->r11);
	pr_info("[%s/%u]   R12 %016lx R13 %016lx R14 %016lx R15 %016lx\n", n,
		id, r->r12, r->r13, r->r14, r->r15);
	pr_info("[%s/%u]   CR0 %016lx CR2 %016lx CR3 %016lx CR4 %016lx "
		"EFER %016lx\n", n, id, s->cr0, s->cr2, s->cr3, s->cr4, s->efer);
	virt->dump_state(vcpu);
}

bool stop_with_dump(struct vcpu *vcpu, const char *why)
{
	vm_stop(vcpu->vm, "%s", why);
	pr_err("[%s/%u] stopped: %s\n", vcpu->vm->name, vcpu->id, why);
	vcpu_dump(vcpu);
	return false;
}

static bool handle_npf(struct vcpu *vcpu)
{
	const struct vcpu_exit *e = &vcpu->exit;
	char why[96];

	switch (tdp_mmu_fault(&vcpu->vm->mmu, e->npf.gpa, e->npf.access)) {
	case TDP_FIXED:
	case TDP_SPURIOUS:
		return true;
	case TDP_NOMEM:
		return stop_with_dump(vcpu, "out of memory for nested page "
				      "tables");
	case TDP_MMIO:
		break;
	}
	if (e->npf.access & NPF_FETCH) {
		snprintf(why, sizeof(why), "executed from unassigned "
			 "guest-physical address 0x%lx",
			 (unsigned long)e->npf.gpa);
		return stop_with_dump(vcpu, why);
	}
	return handle_mmio(vcpu);
}

static bool handle_hlt(struct vcpu *vcpu)
{
	/* No virtual interrupt sources yet: a halted vCPU stays halted. The
	 * first vCPU halting ends its VM; another one just ends itself. */
	skip_instruction(vcpu);
	if (vcpu->id == 0) {
		vm_stop(vcpu->vm, "vCPU 0 halted (HLT with %s) before giving "
			"a verdict", vcpu->regs.rflags & (1u << 9) ?
			"no interrupt to wait for" : "interrupts off");
	}
	return false;
}

bool handle_exit(struct vcpu *vcpu)
{
	char why[96];

	switch (vcpu->exit.reason) {
	case EXIT_IO:
		return handle_io(vcpu);
	case EXIT_CPUID:
		return handle_cpuid(vcpu);
	case EXIT_MSR_READ:
	case EXIT_MSR_WRITE:
		return handle_msr(vcpu);
	case EXIT_HLT:
		return handle_hlt(vcpu);
	case EXIT_HYPERCALL:
		return handle_hypercall(vcpu);
	case EXIT_NPF:
		return handle_npf(vcpu);
	case EXIT_EXTERNAL_INTR:
		return true;
	case EXIT_TRIPLE_FAULT:
		return stop_with_dump(vcpu, "triple fault (shutdown)");
	case EXIT_INVALID_STATE:
		return stop_with_dump(vcpu, "the CPU refused the guest state "
				      "(invalid guest state)");
	case EXIT_CR_ACCESS:
		return handle_cr_access(vcpu);
	case EXIT_INVLPG:
		return handle_invlpg(vcpu);
	case EXIT_EXCEPTION:
		if (vcpu->exit.exception.vector == 14 && vm_is_shadow(vcpu->vm))
			return handle_shadow_pf(vcpu);
		snprintf(why, sizeof(why), "unexpected intercepted exception "
			 "vector %u", vcpu->exit.exception.vector);
		return stop_with_dump(vcpu, why);
	default:
		snprintf(why, sizeof(why), "exit the hypervisor does not "
			 "handle (vendor code 0x%lx)",
			 (unsigned long)vcpu->exit.vendor_code);
		return stop_with_dump(vcpu, why);
	}
}
