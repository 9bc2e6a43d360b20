/*
 * Per-CPU state. Each CPU's GS base points at its struct percpu, whose
 * first field points at itself, so this_cpu() is one load from %gs:0.
 * The boot CPU's block is static and set up first thing in kmain; the
 * application processors' blocks are allocated by smp/boot.c.
 */
#ifndef SMP_PERCPU_H
#define SMP_PERCPU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "smp/kick.h"

#define MAX_CPUS 256

struct cpu_tables;

struct percpu {
	struct percpu *self;		/* must stay first: this_cpu() */
	unsigned cpu;			/* logical index, boot CPU = 0 */
	uint32_t apic_id;
	bool online;			/* running in ap_main / kmain */
	struct cpu_tables *tables;	/* GDT, TSS, IST stacks */
	uint64_t stack_top;

	/* Cross-CPU requests and their acknowledgement (smp/tlb.c). */
	struct kick_target kick;
	uint64_t ipis_received;
	uint64_t tlb_flushes;		/* CPU_REQ_TLB_FLUSH handled */

	/* Work for this CPU's idle loop (smp/boot.c: smp_run_on). */
	void (*work_fn)(void *arg);
	void *work_arg;
	uint64_t work_done;		/* completed work items */

	/* Call-function slot (smp/call.c). */
	void (*call_fn)(void *arg);
	void *call_arg;
	uint32_t call_pending;

	/* Virtualization (arch/x86/vmx or svm). */
	bool virt_on;
	char virt_why[96];		/* why it is off */
	uint64_t vmxon_pa;		/* VMX: the VMXON region */
	uint64_t hsave_pa;		/* SVM: the host save area */
};

extern struct percpu *percpu_of[MAX_CPUS];	/* by logical index */
extern unsigned cpus_online;			/* CPUs that reached online */
extern unsigned cpus_possible;			/* CPUs in the CPU list */

static inline struct percpu *this_cpu(void)
{
	struct percpu *p;

	__asm__ volatile("movq %%gs:0, %0" : "=r"(p));
	return p;
}

static inline unsigned this_cpu_id(void)
{
	unsigned id;

	__asm__ volatile("movl %%gs:%c1, %0"
			 : "=r"(id) : "i"(offsetof(struct percpu, cpu)));
	return id;
}

/* Point GS at 'p' on the calling CPU. */
void percpu_install(struct percpu *p);

/* The boot CPU's block, set up by kmain before anything else runs. */
extern struct percpu bsp_percpu;

#endif
