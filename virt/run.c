/*
 * The vCPU run loop. Each vCPU runs on its own physical CPU: enter the
 * guest with interrupts off, take the exit, let pending host interrupts
 * (kicks, the timer) in, handle the exit, repeat until the VM ends.
 *
 * A periodic APIC timer makes every vCPU exit now and then, so a guest
 * spinning without exits still sees its VM stopped (by another vCPU, or
 * by its time limit) within a tick.
 */
#include "virt/run.h"
#include "arch/x86/apic.h"
#include "arch/x86/cpu.h"
#include "arch/x86/tsc.h"
#include "kernel/printk.h"
#include "smp/percpu.h"
#include "virt/exits.h"
#include "virt/shadow_vm.h"
#include "virt/virt.h"
#include "virt/vm.h"

#define RUN_TICK_MS 20

unsigned guest_timeout_s = 60;

void vcpu_wake(struct vcpu *vcpu)
{
	if (vcpu->pcpu != this_cpu_id())
		apic_send_ipi(percpu_of[vcpu->pcpu]->apic_id, VECTOR_CALL);
}

static void wait_for_start(struct vcpu *vcpu)
{
	while (vm_is_running(vcpu->vm) &&
	       __atomic_load_n(&vcpu->state, __ATOMIC_ACQUIRE) == VCPU_WAIT_START) {
		irq_disable();
		if (__atomic_load_n(&vcpu->state, __ATOMIC_ACQUIRE) ==
		    VCPU_WAIT_START && vm_is_running(vcpu->vm))
			__asm__ volatile("sti; hlt" ::: "memory");
		irq_enable();
	}
}

void vcpu_run_loop(void *arg)
{
	struct vcpu *vcpu = arg;
	struct vm *vm = vcpu->vm;
	uint64_t deadline = rdtsc() + (uint64_t)guest_timeout_s * tsc_khz * 1000;

	if (vm_is_shadow(vm) && !vcpu_shadow_init(vcpu)) {
		vm_stop(vm, "vCPU %u: no memory for its shadow page-table "
			"roots", vcpu->id);
		goto out;
	}
	if (!virt->vcpu_create(vcpu)) {
		vm_stop(vm, "vCPU %u could not be created on cpu%u", vcpu->id,
			vcpu->pcpu);
		if (vm_is_shadow(vm))
			vcpu_shadow_destroy(vcpu);
		goto out;
	}
	if (!vm_is_shadow(vm))
		virt->load_mmu_root(vcpu, vm->mmu.root_hpa);
	apic_timer_periodic(RUN_TICK_MS);
	while (vm_is_running(vm)) {
		if (__atomic_load_n(&vcpu->state, __ATOMIC_ACQUIRE) ==
		    VCPU_WAIT_START) {
			wait_for_start(vcpu);
			continue;
		}
		if (rdtsc() > deadline) {
			vm_stop(vm, "still running after its %u s time limit",
				guest_timeout_s);
			break;
		}
		if (vm_is_shadow(vm) && !vcpu_shadow_prepare_entry(vcpu))
			break;
		irq_disable();
		virt->vcpu_run(vcpu);
		irq_enable();	/* pending host interrupts are taken here */
		vcpu->entries++;
		vcpu->exits[vcpu->exit.reason]++;
		if (!handle_exit(vcpu))
			break;
	}
	apic_timer_periodic(0);
	virt->vcpu_destroy(vcpu);
	if (vm_is_shadow(vm))
		vcpu_shadow_destroy(vcpu);
out:
	/* Wake the VM's other vCPUs: they must see it has ended. */
	for (unsigned i = 0; i < vm->vcpu_count; i++)
		if (vm->vcpus[i] != vcpu)
			vcpu_wake(vm->vcpus[i]);
	__atomic_store_n(&vcpu->state, VCPU_DONE, __ATOMIC_RELEASE);
}
