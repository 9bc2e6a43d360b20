#include "smp/tlb.h"
#include "arch/x86/apic.h"
#include "arch/x86/cpu.h"
#include "arch/x86/desc.h"
#include "kernel/panic.h"
#include "smp/kick.h"
#include "smp/percpu.h"

struct kick_stats kick_stats;

static void handle_requests(uint64_t bits)
{
	if (bits & CPU_REQ_TLB_FLUSH) {
		write_cr3(read_cr3());
		this_cpu()->tlb_flushes++;
	}
}

static void kick_handler(struct trap_frame *frame)
{
	struct percpu *self = this_cpu();
	uint64_t posted, bits;

	(void)frame;
	self->ipis_received++;
	bits = kick_receive(&self->kick, &posted);
	handle_requests(bits);
	kick_ack(&self->kick, posted);
}

static void handle_locally(struct percpu *self, uint64_t requests)
{
	bool irq_was_on = irq_save();
	uint64_t posted, bits;

	kick_post(&self->kick, requests);
	bits = kick_receive(&self->kick, &posted);
	handle_requests(bits);
	kick_ack(&self->kick, posted);
	irq_restore(irq_was_on);
	__atomic_fetch_add(&kick_stats.local, 1, __ATOMIC_RELAXED);
}

/* While waiting for others, answer kicks aimed at us: two CPUs that kick
 * each other with interrupts off would otherwise wait forever. */
static void serve_own_kicks(struct percpu *self)
{
	if (__atomic_load_n(&self->kick.posted, __ATOMIC_ACQUIRE) ==
	    __atomic_load_n(&self->kick.seen, __ATOMIC_ACQUIRE))
		return;
	bool irq_was_on = irq_save();
	uint64_t posted, bits = kick_receive(&self->kick, &posted);

	handle_requests(bits);
	kick_ack(&self->kick, posted);
	irq_restore(irq_was_on);
}

/* Post to every target first, then wait: the targets handle their
 * requests in parallel. */
void kick_cpus_and_wait(const struct cpumask *mask, uint64_t requests)
{
	uint64_t seq[MAX_CPUS];
	unsigned self = this_cpu_id(), cpu;

	for_each_cpu(cpu, mask) {
		struct percpu *p = percpu_of[cpu];

		if (cpu == self || !p || !p->online)
			continue;
		seq[cpu] = kick_post(&p->kick, requests);
		apic_send_ipi(p->apic_id, VECTOR_KICK);
		__atomic_fetch_add(&kick_stats.ipis_sent, 1, __ATOMIC_RELAXED);
	}
	if (cpumask_test(mask, self))
		handle_locally(percpu_of[self], requests);
	for_each_cpu(cpu, mask) {
		struct percpu *p = percpu_of[cpu];

		if (cpu == self || !p || !p->online)
			continue;
		while (!kick_done(&p->kick, seq[cpu])) {
			serve_own_kicks(percpu_of[self]);
			cpu_relax();
		}
		__atomic_fetch_add(&kick_stats.acks_waited, 1, __ATOMIC_RELAXED);
	}
}

void kick_cpu_and_wait(unsigned cpu, uint64_t requests)
{
	struct cpumask one;

	cpumask_clear(&one);
	cpumask_set(&one, cpu);
	kick_cpus_and_wait(&one, requests);
}

void smp_kick_init(void)
{
	idt_set_handler(VECTOR_KICK, kick_handler);
}
