#include "smp/percpu.h"
#include "arch/x86/cpu.h"
#include "kernel/panic.h"
#include "smp/spinlock.h"

struct percpu bsp_percpu;
struct percpu *percpu_of[MAX_CPUS];
unsigned cpus_online;
unsigned cpus_possible = 1;

void percpu_install(struct percpu *p)
{
	p->self = p;
	percpu_of[p->cpu] = p;
	wrmsr(MSR_GS_BASE, (uint64_t)p);
	wrmsr(MSR_KERNEL_GS_BASE, 0);
}

void spin_bug(struct spinlock *l, const char *what)
{
	panic("spinlock '%s' %s (cpu%u, owner %d)", l->name ? l->name : "?",
	      what, this_cpu_id(), (int)l->owner);
}
