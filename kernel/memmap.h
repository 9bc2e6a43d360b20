/* Physical memory map, as the boot loader reported it, then normalised. */
#ifndef KERNEL_MEMMAP_H
#define KERNEL_MEMMAP_H

#include <stdbool.h>
#include <stdint.h>

/* The multiboot type numbers, which are also the ACPI/E820 ones. */
enum mem_type {
	MEM_USABLE = 1,
	MEM_RESERVED = 2,
	MEM_ACPI_RECLAIM = 3,
	MEM_ACPI_NVS = 4,
	MEM_BAD = 5,
};

/* [base, end): end is exclusive so an empty range has base == end. */
struct mem_range {
	uint64_t base;
	uint64_t end;
	uint32_t type;
};

#define MEMMAP_MAX 160

/*
 * Sort ranges by base, drop empty ones, resolve overlaps so the more
 * restrictive type wins (BAD > ACPI_NVS > RESERVED > ACPI_RECLAIM > USABLE;
 * an unknown type counts as RESERVED), merge neighbours of equal type, and
 * shrink usable ranges inward to 4 KiB boundaries. Works in place on
 * ranges[0..*count); may need up to 'cap' slots because resolving an overlap
 * can split a range. Logs a warning for each overlap it resolved and returns
 * the number of overlaps, or -1 if 'cap' was too small (the map is then left
 * sorted, with the overflow ranges dropped and a message logged).
 */
int memmap_normalize(struct mem_range *ranges, unsigned *count, unsigned cap);

const char *mem_type_name(uint32_t type);

/* Total bytes of the given type. */
uint64_t memmap_total(const struct mem_range *ranges, unsigned count,
		      uint32_t type);

#endif
