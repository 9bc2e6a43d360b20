/*
 * Call a function on other CPUs from their IPI handlers.
 *
 * Each CPU has one call slot. A sender takes call_lock (serialising
 * senders keeps the slots simple), waits for each target's slot to be
 * free, fills it, raises 'pending', sends the IPI, and with 'wait' spins
 * until every target cleared 'pending' after running the function. The
 * sender spins with interrupts on, so a CPU that is itself waiting for
 * call_lock still takes our IPI: no deadlock between two callers.
 */
#include "smp/smp.h"
#include "arch/x86/apic.h"
#include "arch/x86/cpu.h"
#include "arch/x86/desc.h"
#include "kernel/panic.h"
#include "smp/percpu.h"
#include "smp/spinlock.h"

static struct spinlock call_lock = SPINLOCK_INIT("call function");

static void call_handler(struct trap_frame *frame)
{
	struct percpu *self = this_cpu();
	void (*fn)(void *) = __atomic_load_n(&self->call_fn, __ATOMIC_ACQUIRE);

	(void)frame;
	self->ipis_received++;
	/* The same vector wakes an idle CPU for smp_run_on work: then there
	 * is no call pending and nothing to do here. */
	if (!__atomic_load_n(&self->call_pending, __ATOMIC_ACQUIRE) || !fn)
		return;
	fn(self->call_arg);
	__atomic_store_n(&self->call_pending, 0, __ATOMIC_RELEASE);
}

void smp_call_function(const struct cpumask *mask, void (*fn)(void *),
		       void *arg, bool wait)
{
	unsigned self = this_cpu_id(), cpu;

	BUG_ON(!(read_rflags() & RFLAGS_IF));
	spin_lock(&call_lock);
	for_each_cpu(cpu, mask) {
		struct percpu *p = percpu_of[cpu];

		if (cpu == self || !p || !p->online)
			continue;
		while (__atomic_load_n(&p->call_pending, __ATOMIC_ACQUIRE))
			cpu_relax();
		p->call_fn = fn;
		p->call_arg = arg;
		__atomic_store_n(&p->call_pending, 1, __ATOMIC_RELEASE);
		apic_send_ipi(p->apic_id, VECTOR_CALL);
	}
	if (cpumask_test(mask, self)) {
		bool irq_was_on = irq_save();

		fn(arg);
		irq_restore(irq_was_on);
	}
	if (wait) {
		for_each_cpu(cpu, mask) {
			struct percpu *p = percpu_of[cpu];

			if (cpu == self || !p || !p->online)
				continue;
			while (__atomic_load_n(&p->call_pending, __ATOMIC_ACQUIRE))
				cpu_relax();
		}
	}
	spin_unlock(&call_lock);
}

void smp_call_init(void)
{
	idt_set_handler(VECTOR_CALL, call_handler);
}
