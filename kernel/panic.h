/* Fatal errors: a message, registers, a stack trace, then a clean stop. */
#ifndef KERNEL_PANIC_H
#define KERNEL_PANIC_H

#include <stdint.h>
#include "kernel/compiler.h"

__noreturn void panic(const char *fmt, ...) __printf(1, 2);

struct trap_frame;
/* Every general and control register of a frame, with RIP symbolised. */
void dump_registers(const struct trap_frame *f);

/* Print a frame-pointer stack trace starting at 'rip' with frame 'rbp'. */
void stack_trace_print(uint64_t rip, uint64_t rbp);

#define BUG_ON(cond)							\
	do {								\
		if (unlikely(cond))					\
			panic("BUG_ON(%s) at %s:%d", #cond, __FILE__,	\
			      __LINE__);				\
	} while (0)

#endif
