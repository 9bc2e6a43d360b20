/* Hypercalls (virt/hypercall.h, docs/hypercalls.md). */
#include "virt/hypercall.h"
#include "kernel/printk.h"
#include "virt/exits.h"
#include "virt/run.h"
#include "virt/vm.h"

static int64_t start_vcpu(struct vcpu *caller, uint64_t index, uint64_t eip,
			  uint64_t esp)
{
	struct vm *vm = caller->vm;
	struct vcpu *target;

	if (index >= vm->vcpu_count || index == caller->id)
		return HC_EINVAL;
	target = vm->vcpus[index];
	if (__atomic_load_n(&target->state, __ATOMIC_ACQUIRE) != VCPU_WAIT_START)
		return HC_EINVAL;
	target->regs.rip = (uint32_t)eip;
	target->regs.rsp = (uint32_t)esp;
	target->regs.rax = index;
	__atomic_store_n(&target->state, VCPU_RUNNING, __ATOMIC_RELEASE);
	vcpu_wake(target);
	return HC_OK;
}

static int64_t guest_puts(struct vcpu *vcpu, uint64_t gpa, uint64_t len)
{
	char text[257];

	if (len > 256 || !vm_read_gpa(vcpu->vm, gpa, text, len))
		return HC_EINVAL;
	text[len] = '\0';
	for (uint64_t i = 0; i < len; i++)
		if (text[i] < 0x20 || text[i] > 0x7e)
			text[i] = '?';
	pr_info("[%s/%u] %s\n", vcpu->vm->name, vcpu->id, text);
	return HC_OK;
}

bool handle_hypercall(struct vcpu *vcpu)
{
	struct vcpu_regs *r = &vcpu->regs;
	int64_t ret;

	switch (r->rax) {
	case HC_NOP:
		ret = HC_OK;
		break;
	case HC_EXIT:
		vm_finish(vcpu->vm, r->rbx == 0 ? VERDICT_PASS : VERDICT_FAIL,
			  (uint32_t)r->rbx);
		ret = HC_OK;
		break;
	case HC_VCPU_ID:
		ret = vcpu->id;
		break;
	case HC_START_VCPU:
		ret = start_vcpu(vcpu, r->rbx, r->rcx, r->rdx);
		break;
	case HC_PUTS:
		ret = guest_puts(vcpu, r->rbx, r->rcx);
		break;
	default:
		ret = HC_ENOSYS;
		break;
	}
	r->rax = (uint64_t)ret;
	skip_instruction(vcpu);
	return true;
}
