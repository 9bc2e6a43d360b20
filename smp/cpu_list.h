/* Which CPUs to start, from the MADT (portable). */
#ifndef SMP_CPU_LIST_H
#define SMP_CPU_LIST_H

#include <stdint.h>
#include "arch/x86/acpi.h"

/*
 * Fill apic_ids[] with the boot CPU first, then every other enabled or
 * online-capable CPU in MADT order, each APIC ID once, at most 'cap'.
 * A boot CPU missing from the MADT is still listed first, with a warning.
 * CPUs left out for lack of room are reported. Returns the count (>= 1).
 */
unsigned cpu_list_build(const struct acpi_info *acpi, uint32_t boot_apic_id,
			uint32_t *apic_ids, unsigned cap);

#endif
