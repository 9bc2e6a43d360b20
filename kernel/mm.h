/*
 * The hypervisor's address space and memory:
 *   0xFFFF800000000000  direct map of all physical memory (RW, NX)
 *   0xFFFFFFFF80000000  the image (text RX, rodata R, data/bss RW+NX)
 * Nothing is mapped in the lower half once paging_init() has run.
 */
#ifndef KERNEL_MM_H
#define KERNEL_MM_H

#include <stdbool.h>
#include <stdint.h>
#include "kernel/bootinfo.h"
#include "kernel/frame_alloc.h"

#define DIRECT_MAP_BASE	0xffff800000000000ull
#define KERNEL_VMA	0xffffffff80000000ull
#define PAGE_SIZE	4096ull

/* The boot page tables map 0-4 GiB; nothing beyond is reachable before
 * paging_init() builds the full direct map. */
#define EARLY_MAP_LIMIT	0x100000000ull

static inline void *phys_to_virt(uint64_t pa)
{
	return (void *)(pa + DIRECT_MAP_BASE);
}

static inline uint64_t virt_to_phys(const void *va)
{
	uint64_t v = (uint64_t)va;

	return v >= KERNEL_VMA ? v - KERNEL_VMA : v - DIRECT_MAP_BASE;
}

/* Physical extent of the image, from linker.ld. */
uint64_t image_phys_start(void);
uint64_t image_phys_end(void);

/* Set up the frame allocator, keeping out of the image, the modules and
 * the 'extra' ranges (ACPI tables). Stops the machine with a message if
 * there is no usable memory. */
void mm_init(const struct boot_info *bi, const struct mem_range *extra,
	     unsigned extra_count);

/* Zeroed frames; FRAME_NONE when memory is exhausted. */
uint64_t alloc_frame(void);
uint64_t alloc_frames(uint64_t count, uint64_t align);
void free_frame(uint64_t pa);
void free_frames(uint64_t pa, uint64_t count);

uint64_t mm_free_frames(void);
uint64_t mm_managed_frames(void);

/* Highest physical address of RAM or ACPI memory in the memory map. */
uint64_t mm_max_phys(void);

/* Build the final host page tables (direct map + image with
 * permissions) and switch to them. */
void paging_init(void);

#endif
