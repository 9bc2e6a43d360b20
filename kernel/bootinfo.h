/*
 * One description of the machine, whichever protocol booted us.
 *
 * Multiboot1 (QEMU -kernel, GRUB "multiboot") and multiboot2 (GRUB
 * "multiboot2", BIOS and UEFI) are both parsed into struct boot_info. Strings
 * are copied out, so the loader's info block may be overwritten afterwards;
 * module contents stay where the loader put them and must be reserved.
 */
#ifndef KERNEL_BOOTINFO_H
#define KERNEL_BOOTINFO_H

#include <stdbool.h>
#include <stdint.h>
#include "kernel/memmap.h"
#include "kernel/phys_map.h"

#define MB1_BOOT_MAGIC 0x2BADB002u
#define MB2_BOOT_MAGIC 0x36d76289u

#define BOOT_CMDLINE_MAX	512
#define BOOT_MODULE_CMDLINE_MAX	256
#define BOOT_MODULES_MAX	32
#define BOOT_LOADER_NAME_MAX	64

struct boot_module {
	uint64_t start;		/* physical, inclusive */
	uint64_t end;		/* physical, exclusive */
	char cmdline[BOOT_MODULE_CMDLINE_MAX];
};

struct boot_info {
	int protocol;			/* 1 or 2 */
	uint64_t info_phys;		/* the loader's info block */
	uint64_t info_size;		/* bytes (mb2: total_size; mb1: the fixed part) */
	char cmdline[BOOT_CMDLINE_MAX];
	char loader_name[BOOT_LOADER_NAME_MAX];

	struct mem_range memmap[MEMMAP_MAX];	/* normalised */
	unsigned memmap_count;
	bool memmap_from_basic;		/* only mem_lower/mem_upper were given */

	struct boot_module modules[BOOT_MODULES_MAX];
	unsigned module_count;

	/* The RSDP itself, copied from multiboot2 tag 14 (v1) or 15 (v2).
	 * Multiboot1 carries none: the ACPI code then scans the BIOS area. */
	uint8_t rsdp[36];
	uint32_t rsdp_len;		/* 0: none given */

	unsigned warnings;		/* problems that had a safe fallback */
};

/* Why parsing stopped. A stop means no usable memory map could be built:
 * the caller prints the message's reason and halts. */
enum bootinfo_error {
	BOOTINFO_OK = 0,
	BOOTINFO_BAD_MAGIC = -1,	/* not loaded by a multiboot loader */
	BOOTINFO_UNREADABLE = -2,	/* info block cannot be mapped */
	BOOTINFO_MALFORMED = -3,	/* header sizes make no sense */
	BOOTINFO_NO_MEMMAP = -4,	/* no memory information at all */
};

/*
 * Parse the block the loader passed in EBX. 'magic' is the loader's EAX.
 * Every problem is logged with printk in words a user can act on. Problems
 * with a safe fallback (a truncated tag list that still held a memory map,
 * a missing end tag, a zero-length or inverted module, an over-long string,
 * too many modules, an overlapping memory map) increment 'warnings' and
 * parsing goes on; the rest return an error.
 */
int bootinfo_parse(uint32_t magic, uint64_t info_phys,
		   const struct phys_reader *mem, struct boot_info *out);

const char *bootinfo_strerror(int err);

#endif
