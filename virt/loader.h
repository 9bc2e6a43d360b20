/*
 * Guest loading, the portable half: a module's option string and its ELF
 * image are checked here (tests/host/test_loader.c); virt/guests.c does
 * the rest (memory, multiboot info, vCPUs).
 *
 * A module's command line: hypervisor options first, then "--", then the
 * guest's own command line, which the guest gets in its multiboot info:
 *   [path] name=hello vcpus=2 mem=64M mmu=tdp -- verbose seed=7
 * mmu=shadow takes unsync=on|off and flood=on|off (both on by default):
 * whether last-level shadow pages may go unsync, and whether write-flooded
 * shadow pages are zapped (to measure what each saves).
 * (QEMU's -initrd keeps the file's path in front; GRUB's module2 does not.)
 */
#ifndef VIRT_LOADER_H
#define VIRT_LOADER_H

#include <stddef.h>
#include <stdint.h>
#include "virt/vm.h"

#define GUEST_MEM_MIN		(2ull << 20)
#define GUEST_MEM_MAX		(3ull << 30)	/* below the 32-bit PCI hole */
#define GUEST_MEM_DEFAULT	(16ull << 20)
#define GUEST_ERR_MAX		160

struct guest_opts {
	char name[VM_NAME_MAX];
	unsigned vcpus;
	uint64_t mem_bytes;
	enum mmu_mode mmu;
	bool unsync;			/* unsync=on|off (shadow; default on) */
	bool flood;			/* flood=on|off (shadow; default on) */
	char cmdline[VM_CMDLINE_MAX];	/* after "--" */
};

/* Parse 'line'. On error returns -1 with a sentence in 'err' naming the
 * option and what is wrong; 'default_name' is used without name=. */
int guest_opts_parse(const char *line, const char *default_name,
		     struct guest_opts *opts, char *err, size_t err_size);

#define ELF_MAX_SEGMENTS 16

struct elf_segment {
	uint64_t paddr;
	uint64_t offset;
	uint64_t filesz;
	uint64_t memsz;
};

struct elf_image {
	uint64_t entry;
	struct elf_segment seg[ELF_MAX_SEGMENTS];
	unsigned seg_count;
};

/*
 * Check an ELF image for a guest with 'mem_bytes' of RAM: a 32-bit
 * little-endian i386 executable whose program headers lie in the file and
 * whose loadable segments lie in guest RAM (below 640 KiB or from 1 MiB
 * up, clear of the multiboot info page) with the entry point inside one.
 * Returns -1 with the reason in 'err'.
 */
int elf_check(const void *data, uint64_t size, uint64_t mem_bytes,
	      struct elf_image *image, char *err, size_t err_size);

#endif
