/*
 * ACPI tables the hypervisor needs at boot: RSDP, XSDT/RSDT, MADT.
 *
 * Parsing is portable: tables are read through a phys_reader, so host tests
 * can hand in crafted tables (bad checksums, truncation, no usable CPU).
 * Every rejected table is reported with printk; the caller decides the
 * fallback (no MADT: run on the boot CPU only).
 */
#ifndef ARCH_X86_ACPI_H
#define ARCH_X86_ACPI_H

#include <stdbool.h>
#include <stdint.h>
#include "kernel/phys_map.h"

#define ACPI_MAX_CPUS		256
#define ACPI_MAX_IOAPICS	16
#define ACPI_MAX_TABLES		64

struct acpi_cpu {
	uint32_t apic_id;
	uint32_t acpi_uid;
	bool enabled;		/* MADT flags bit 0 */
	bool online_capable;	/* MADT flags bit 1 (ACPI 6.3+) */
	bool x2apic_entry;	/* came from a type 9 entry */
};

struct acpi_ioapic {
	uint32_t id;
	uint64_t addr;
	uint32_t gsi_base;
};

/* A table's physical extent, so the frame allocator can keep out of it. */
struct acpi_table_ref {
	char signature[5];
	uint64_t phys;
	uint32_t length;
};

struct acpi_info {
	uint8_t revision;		/* RSDP revision: 0 = ACPI 1.0 */
	char oem_id[7];
	bool used_xsdt;
	uint64_t sdt_phys;		/* XSDT or RSDT */

	struct acpi_table_ref tables[ACPI_MAX_TABLES];	/* the SDT itself and
							   every table it lists
							   with a valid header */
	unsigned table_count;

	bool have_madt;
	uint64_t lapic_addr;		/* MADT field, or the type 5 override */
	bool pcat_compat;		/* MADT flags bit 0: dual 8259s present */
	struct acpi_cpu cpus[ACPI_MAX_CPUS];
	unsigned cpu_count;		/* entries kept, usable or not */
	unsigned usable_cpu_count;	/* enabled or online-capable */
	struct acpi_ioapic ioapics[ACPI_MAX_IOAPICS];
	unsigned ioapic_count;
};

enum acpi_error {
	ACPI_OK = 0,
	ACPI_NO_RSDP = -1,
	ACPI_BAD_RSDP = -2,		/* signature, checksum or length */
	ACPI_BAD_SDT = -3,		/* XSDT and RSDT both unusable */
	ACPI_NO_MADT = -4,
	ACPI_BAD_MADT = -5,		/* checksum, truncation, bad entry */
	ACPI_NO_USABLE_CPU = -6,	/* MADT lists no enabled/online-capable CPU */
};

/* Sum of 'len' bytes mod 256; a valid ACPI structure sums to 0. */
uint8_t acpi_checksum(const void *p, uint64_t len);

/*
 * Look for "RSD PTR " on 16-byte boundaries in the first KiB of the EBDA
 * (segment at 0x40E) and in 0xE0000-0xFFFFF, accepting only a candidate
 * whose checksum (and extended checksum for revision >= 2) is valid.
 */
int acpi_find_rsdp_bios(const struct phys_reader *mem, uint64_t *rsdp_phys);

/*
 * Parse from an RSDP given as bytes (a copy from multiboot2, or mapped from
 * the BIOS area). Prefers the XSDT when the revision is >= 2 and it is valid,
 * falls back to the RSDT with a message otherwise. Fills 'out' as far as it
 * got; returns ACPI_OK or the first fatal error for the CPU table.
 */
int acpi_parse(const void *rsdp, uint32_t rsdp_len,
	       const struct phys_reader *mem, struct acpi_info *out);

const char *acpi_strerror(int err);

#endif
