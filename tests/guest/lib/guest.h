/* Runtime for test guests: serial output, the verdict, multiboot info. */
#ifndef TESTS_GUEST_LIB_GUEST_H
#define TESTS_GUEST_LIB_GUEST_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#define MB1_BOOT_MAGIC 0x2BADB002u

struct mb1_info {
	uint32_t flags;
	uint32_t mem_lower, mem_upper;
	uint32_t boot_device;
	uint32_t cmdline;
	uint32_t mods_count, mods_addr;
	uint32_t syms[4];
	uint32_t mmap_length, mmap_addr;
} __attribute__((packed));

void guest_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Print the verdict line the runner checks, then stop the machine:
 * isa-debug-exit on QEMU (exit code 33 pass, 35 fail). */
__attribute__((noreturn)) void guest_exit(bool pass);

/* The guest's own name, for its output lines. */
extern const char guest_name[];

/* Each guest defines this; returns its verdict. */
bool guest_test(uint32_t magic, const struct mb1_info *info);

static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;

	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

#endif
