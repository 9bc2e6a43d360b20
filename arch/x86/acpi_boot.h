#ifndef ARCH_X86_ACPI_BOOT_H
#define ARCH_X86_ACPI_BOOT_H

#include "arch/x86/acpi.h"
#include "kernel/bootinfo.h"

/* Never fails: without usable tables the result lists the boot CPU. */
const struct acpi_info *acpi_boot_init(const struct boot_info *bi);

/* The tables' physical ranges, for the frame allocator to keep out of. */
unsigned acpi_table_ranges(const struct acpi_info *info,
			   struct mem_range *out, unsigned cap);

uint32_t boot_cpu_apic_id(void);

#endif
