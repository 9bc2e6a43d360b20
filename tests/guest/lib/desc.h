/* Descriptor tables and exceptions for test guests.
 *
 * The runtime loads its own GDT (flat 32-bit code and data for rings 0 and
 * 3, 64-bit code, a 32-bit and a 64-bit TSS) and an IDT whose 32 exception
 * handlers record what happened (vector, error code, CR2, faulting CS:IP)
 * in trap_last. There are two handler sets: 32-bit ones (traps32.asm) for
 * protected mode with or without paging, and 64-bit ones (long64.asm) that
 * paging.c installs while IA-32e mode is on. Guest C code keeps running as
 * 32-bit code in both: in long mode it runs in compatibility mode (the
 * 32-bit code segment), and long64.asm has small 64-bit routines for what
 * only 64-bit code can do (addresses above 4 GiB, 64-bit fetches).
 *
 * A test "expects" a fault by running a function under expect_fault(): if
 * the function faults, the handler records the fault and resumes at the
 * point where expect_fault() called it (stack and callee-saved registers
 * restored), which then returns true. A fault nobody expects prints
 * everything it recorded and ends the guest with a FAIL verdict.
 */
#ifndef TESTS_GUEST_LIB_DESC_H
#define TESTS_GUEST_LIB_DESC_H

#include <stdbool.h>
#include <stdint.h>

/* GDT selectors; traps32.asm and long64.asm use the same numbers. */
#define SEL_CODE32	0x08
#define SEL_DATA	0x10
#define SEL_CODE64	0x18
#define SEL_UCODE32	0x23	/* ring 3 */
#define SEL_UDATA	0x2b
#define SEL_UCODE64	0x33
#define SEL_TSS32	0x38
#define SEL_TSS64	0x40	/* 16 bytes: 0x40 and 0x48 */
#define GDT_ENTRIES	10

/* A ring-3 function returns to ring 0 with INT 0x30 (a DPL-3 gate). */
#define VEC_USER_RETURN	0x30

enum exception_vector {
	EXC_DE = 0, EXC_DB = 1, EXC_NMI = 2, EXC_BP = 3, EXC_OF = 4,
	EXC_BR = 5, EXC_UD = 6, EXC_NM = 7, EXC_DF = 8, EXC_TS = 10,
	EXC_NP = 11, EXC_SS = 12, EXC_GP = 13, EXC_PF = 14, EXC_MF = 16,
	EXC_AC = 17, EXC_MC = 18, EXC_XM = 19, EXC_VE = 20, EXC_CP = 21,
};

/* #PF error code bits. */
#define PF_P	(1u << 0)	/* protection violation (else not present) */
#define PF_W	(1u << 1)	/* write */
#define PF_U	(1u << 2)	/* CPL 3 */
#define PF_RSVD	(1u << 3)	/* reserved bit set in an entry */
#define PF_I	(1u << 4)	/* instruction fetch */

struct fault_info {
	bool faulted;
	uint8_t vector;
	uint32_t error_code;	/* 0 for vectors that push none */
	uint64_t cr2;		/* as read in the handler */
	uint64_t ip;		/* EIP/RIP of the faulting instruction */
	uint16_t cs;		/* its code segment: says the mode and ring */
};

/* What the last exception left, filled in by the assembly handlers. The
 * offsets are fixed: traps32.asm and long64.asm use them (desc.c checks). */
struct trap_record {
	uint32_t vector;	/*  0 */
	uint32_t error_code;	/*  4 */
	uint64_t cr2;		/*  8 */
	uint64_t ip;		/* 16 */
	uint64_t sp;		/* 24 */
	uint32_t cs;		/* 32 */
	uint32_t flags;		/* 36 */
	uint32_t eax, ebx, ecx, edx, esi, edi, ebp;	/* 40..64 */
	uint32_t handler_bits;	/* 68: 32 or 64, which handler set ran */
} __attribute__((packed));

extern struct trap_record trap_last;

/* GDT, TSSs and the 32-bit IDT; guest_main calls it before guest_test. */
void desc_init(void);

/* Run fn(arg) at CPL 0. True if it faulted (fi says how), false if it
 * returned. Works with paging off, in 32-bit paging, PAE and long mode. */
bool expect_fault(void (*fn)(void *), void *arg, struct fault_info *fi);

/* The same at CPL 3 (IOPL 0: no port I/O; its code, data and stack must be
 * user-accessible when paging is on: see paging.h). fn's return brings the
 * CPU back to CPL 0 through INT 0x30. */
bool expect_fault_user(void (*fn)(void *), void *arg, struct fault_info *fi);

/* "#PF" and the like; "#14?" style text for unnamed vectors. */
const char *exception_name(unsigned vector);

/* Load an IDT with limit 0: any exception after this shuts the CPU down. */
void idt_load_empty(void);

/* For paging.c: the pseudo-descriptors long64.asm loads on mode changes,
 * and the GDT (the TSS busy bits are cleared before each LTR). */
struct desc_ptr {
	uint16_t limit;
	uint64_t base;		/* LIDT outside 64-bit mode reads 32 bits */
} __attribute__((packed));
extern struct desc_ptr idt32_ptr, idt64_ptr, gdt_ptr;
extern uint64_t gdt[GDT_ENTRIES];

/* The ring-3 stack expect_fault_user() runs on. */
extern uint8_t user_stack[], user_stack_top[];

#endif
