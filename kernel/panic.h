/* Fatal errors: a message, registers, a stack trace, then a clean stop. */
#ifndef KERNEL_PANIC_H
#define KERNEL_PANIC_H

#include <stdbool.h>
#include <stdint.h>
#include "kernel/compiler.h"

__noreturn void panic(const char *fmt, ...) __printf(1, 2);

struct trap_frame;
/* Every general and control register of a frame, with RIP symbolised. */
void dump_registers(const struct trap_frame *f);

/* Print a frame-pointer stack trace starting at 'rip' with frame 'rbp'.
 * 'rip_is_return': rip is a return address (panic), not a faulting one. */
void stack_trace_print(uint64_t rip, bool rip_is_return, uint64_t rbp);

/* dump_registers() of a panic: RIP is panic()'s return address. */
#define PANIC_PSEUDO_VECTOR 256

#define BUG_ON(cond)							\
	do {								\
		if (unlikely(cond))					\
			panic("BUG_ON(%s) at %s:%d", #cond, __FILE__,	\
			      __LINE__);				\
	} while (0)

#endif
