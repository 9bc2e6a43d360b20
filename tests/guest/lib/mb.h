/* The multiboot1 information block, copied at start-up (guests may then
 * overwrite any memory outside their image), and the command line as
 * key=value options: "seed=7 n=2000 verbose". QEMU's -kernel puts the
 * kernel's file name first; the hypervisor passes the module's options. */
#ifndef TESTS_GUEST_LIB_MB_H
#define TESTS_GUEST_LIB_MB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MB1_BOOT_MAGIC	0x2BADB002u
#define MB1_INFO_MEM	(1u << 0)
#define MB1_INFO_CMDLINE (1u << 2)
#define MB1_INFO_MMAP	(1u << 6)
#define MB_RAM		1	/* memory map type: usable RAM */

struct mb1_info {
	uint32_t flags;
	uint32_t mem_lower, mem_upper;
	uint32_t boot_device;
	uint32_t cmdline;
	uint32_t mods_count, mods_addr;
	uint32_t syms[4];
	uint32_t mmap_length, mmap_addr;
} __attribute__((packed));

struct mem_range {
	uint64_t base, len;
	uint32_t type;
};

#define MB_MAX_RANGES	32
#define MB_CMDLINE_MAX	512

struct boot_info {
	uint32_t magic;
	bool magic_ok;
	uint32_t info_addr;	/* where the loader put the block */
	uint32_t flags;
	uint32_t mem_lower, mem_upper;	/* KiB, when MB1_INFO_MEM */
	bool has_mmap;
	unsigned nr_ranges;	/* from the map, else from mem_lower/upper */
	struct mem_range ranges[MB_MAX_RANGES];
	char cmdline[MB_CMDLINE_MAX];
};

extern struct boot_info boot;

void mb_parse(uint32_t magic, const struct mb1_info *info);

/* The value of "key=value" into buf; false when the key is absent. */
bool opt_get(const char *key, char *buf, size_t size);
/* A number (decimal or 0x hex, optional K/M/G suffix); def when absent or
 * malformed. */
uint64_t opt_u64(const char *key, uint64_t def);
/* A bare word or a key=... */
bool opt_present(const char *word);

/* Usable RAM per the boot information: the i-th range of type MB_RAM.
 * False past the last one. */
bool mb_ram_range(unsigned i, uint64_t *base, uint64_t *len);
/* The end of the highest usable RAM range. */
uint64_t mb_ram_end(void);

#endif
