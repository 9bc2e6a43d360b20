/* Bringing up the other CPUs and giving them work. */
#ifndef SMP_SMP_H
#define SMP_SMP_H

#include <stdbool.h>
#include "arch/x86/acpi.h"
#include "kernel/bootinfo.h"
#include "smp/cpumask.h"

struct percpu;

extern struct cpumask cpu_online_mask;

/*
 * Start every CPU of the list with INIT-SIPI-SIPI, one at a time. A CPU
 * that does not come up in time is reported, put back to sleep with INIT
 * and left out; the others go on. Returns the number of CPUs online.
 */
unsigned smp_boot_cpus(const struct acpi_info *acpi, const struct boot_info *bi);

/* test=phantom-cpu: list a CPU that does not exist, so the start-up
 * timeout path runs for real. Call before smp_boot_cpus. */
void smp_add_phantom_cpu(uint32_t apic_id);

/*
 * Run fn(arg) on 'cpu' in its idle loop, with interrupts on (so it may
 * itself send IPIs and wait). smp_run_on does not wait; smp_wait_work
 * waits until the CPU has finished everything it was given.
 */
void smp_run_on(unsigned cpu, void (*fn)(void *), void *arg);
void smp_wait_work(unsigned cpu);

/*
 * Call fn(arg) on every online CPU in 'mask' from an IPI handler
 * (interrupts off there; fn must not wait for other CPUs). The calling
 * CPU runs it directly if it is in the mask. Must be called with
 * interrupts on: two CPUs calling each other must each be able to take
 * the other's IPI while waiting.
 */
void smp_call_function(const struct cpumask *mask, void (*fn)(void *),
		       void *arg, bool wait);

/* Install the IPI handler for smp_call_function and smp_run_on. */
void smp_call_init(void);

/* The AP side, entered from the trampoline. */
void ap_entry(struct percpu *self);

#endif
