/* Runtime for test guests. Each guest defines guest_name[] and
 * guest_test(); guest_main (exit.c) sets up the descriptor tables, copies
 * the boot information, runs guest_test() and ends with the verdict.
 *
 *   serial.c   COM1 output, printf
 *   exit.c     checks, the verdict, guest_main
 *   desc.c     GDT, IDT, TSS; expect_fault()      (desc.h)
 *   traps32.asm, long64.asm   exception handlers, long-mode helpers
 *   paging.c   page-table builders, paging modes  (paging.h)
 *   hv.c       hypervisor detection, hypercalls   (hv.h)
 *   mb.c       multiboot info, command line       (mb.h)
 *   cpu.c      CPUID features                     (cpu.h)
 *   util.c     string functions, udiv64, sorting  (util.h)
 */
#ifndef TESTS_GUEST_LIB_GUEST_H
#define TESTS_GUEST_LIB_GUEST_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tests/guest/lib/cpu.h"
#include "tests/guest/lib/desc.h"
#include "tests/guest/lib/hv.h"
#include "tests/guest/lib/mb.h"
#include "tests/guest/lib/paging.h"

/* The guest's own name, for its output lines. */
extern const char guest_name[];

/* Each guest defines this; returns its verdict (ANDed with check()s). */
bool guest_test(uint32_t magic, const struct mb1_info *info);

void guest_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void guest_vprintf(const char *fmt, va_list ap);
int guest_snprintf(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Wait until the UART has sent everything. */
void serial_drain(void);

/* Print "NAME: <what>: ok" or "NAME: <what>: FAIL"; a failed check fails
 * the guest. Returns ok. */
bool check(bool ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
unsigned checks_failed(void);

/* Print the verdict line the runner checks, then stop the machine:
 * isa-debug-exit on QEMU (exit code 33 pass, 35 fail), the debug-exit
 * port the hypervisor emulates. */
__attribute__((noreturn)) void guest_exit(bool pass);

/* The image's extent (guest.ld): memwalk and the page tables need it. */
extern uint8_t __image_start[], __image_end[];

#endif
