/*
 * Local APIC, in x2APIC mode (MSRs) when every CPU has it, else xAPIC
 * (MMIO, mapped uncached). One mode for the whole machine, chosen on the
 * boot CPU.
 */
#ifndef ARCH_X86_APIC_H
#define ARCH_X86_APIC_H

#include <stdbool.h>
#include <stdint.h>

/* Interrupt vectors the hypervisor uses. */
#define VECTOR_PIC_BASE		0x20	/* legacy PICs, remapped and masked */
#define VECTOR_TIMER		0xec
#define VECTOR_PING		0xed	/* IPI test and benchmark */
#define VECTOR_KICK		0xee	/* requests / TLB shootdown */
#define VECTOR_CALL		0xef	/* call function on CPUs */
#define VECTOR_SPURIOUS		0xff

extern bool apic_x2apic_mode;
extern uint64_t apic_timer_ticks_per_ms;

/* Boot CPU: choose the mode, map the xAPIC page, mask the 8259s. */
void apic_init_boot(uint64_t madt_lapic_addr);
/* Every CPU (the boot CPU too): enable its APIC in the chosen mode. */
void apic_init_this_cpu(void);

uint32_t apic_id(void);
void apic_eoi(void);

void apic_send_ipi(uint32_t dest_apic_id, uint8_t vector);
void apic_send_init(uint32_t dest_apic_id);
void apic_send_sipi(uint32_t dest_apic_id, uint8_t page);

/* A periodic timer interrupt every 'ms' milliseconds on this CPU; 0 stops
 * it. Calibrate first. */
void apic_timer_periodic(unsigned ms);

/* Measure the APIC timer against the TSC (tsc_calibrate first). */
void apic_timer_calibrate(void);

#endif
