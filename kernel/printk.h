/*
 * Kernel log. Every message goes to a ring buffer first and to the console
 * once one is registered, so lines logged before the serial port is set up
 * (its port comes from the command line) are replayed, not lost.
 *
 * Portable code (boot-info, ACPI, allocator parsers) reports through these
 * calls too; host tests link a capturing printk so they can assert that a
 * bad input produced a clear message.
 */
#ifndef KERNEL_PRINTK_H
#define KERNEL_PRINTK_H

#include <stdarg.h>
#include <stddef.h>
#include "kernel/compiler.h"

enum log_level {
	LOG_EMERG = 0,	/* panic, exception dump */
	LOG_ERR = 3,
	LOG_WARN = 4,
	LOG_INFO = 6,
	LOG_DEBUG = 7,
};

/* Messages are whole lines or line pieces; a line ends with '\n'. */
void printk(int level, const char *fmt, ...) __printf(2, 3);
void vprintk(int level, const char *fmt, va_list ap);

/* From the first AP on, every line starts with "[cpuN] ". */
void printk_enable_cpu_prefix(void);

#define pr_emerg(...) printk(LOG_EMERG, __VA_ARGS__)
#define pr_err(...)   printk(LOG_ERR, __VA_ARGS__)
#define pr_warn(...)  printk(LOG_WARN, __VA_ARGS__)
#define pr_info(...)  printk(LOG_INFO, __VA_ARGS__)
#define pr_debug(...) printk(LOG_DEBUG, __VA_ARGS__)

/* Formatter (kernel/format.c): C99 subset used by the kernel.
 * Supports %d %i %u %x %X %o %c %s %p %% with flags '-' '0' '+' ' ' '#',
 * width and precision (also '*'), and length modifiers hh h l ll z t j. */
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...) __printf(3, 4);

#endif
