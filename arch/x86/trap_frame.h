/* What arch/x86/trap_entry.asm pushes, lowest address first. */
#ifndef ARCH_X86_TRAP_FRAME_H
#define ARCH_X86_TRAP_FRAME_H

#include <stdint.h>

struct trap_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector;
	uint64_t error_code;	/* 0 for vectors without one */
	/* pushed by the CPU */
	uint64_t rip, cs, rflags, rsp, ss;
};

_Static_assert(sizeof(struct trap_frame) == 22 * 8, "trap frame layout");

void trap_dispatch(struct trap_frame *frame);

#endif
