/*
 * x86 instruction emulator for the memory-touching instructions guests
 * use on MMIO and on page tables (portable; tests/host/test_emulate*.c,
 * docs/emulator.md).
 *
 * It decodes one instruction at CS:RIP, computes its memory operand's
 * linear address, performs the access through the caller's callbacks, and
 * updates registers, RFLAGS and RIP. The caller's callbacks turn linear
 * addresses into guest-physical ones and route them to RAM, a device or
 * the unassigned-address behaviour.
 *
 * Modes: 16-bit (CS.D = 0), 32-bit (CS.D = 1), 64-bit (CS.L = 1; the
 * backend reports CS.L only while EFER.LMA is set). Segment limits and
 * access rights are not checked: 16/32-bit segments are taken as flat
 * from their base. In 64-bit mode only the FS/GS bases apply and every
 * access is checked for a canonical address.
 */
#ifndef VIRT_EMULATE_H
#define VIRT_EMULATE_H

#include <stdbool.h>
#include <stdint.h>
#include "virt/vcpu.h"

enum emu_result {
	EMU_DONE,		/* emulated; registers and RIP updated */
	EMU_UNHANDLED,		/* an instruction the emulator does not do */
	EMU_FAULT,		/* a callback failed, or a segment/canonical
				   check: fault_vector/error_code say which
				   exception the guest should get */
};

/* fault_vector values the emulator produces. */
#define EMU_VEC_UD	6	/* LOCK where not allowed, CMPXCHG8B reg,
				   MOV CR of a CR that does not exist */
#define EMU_VEC_SS	12	/* non-canonical SS-based address */
#define EMU_VEC_GP	13	/* non-canonical address, > 15 bytes,
				   misaligned CMPXCHG16B, a system
				   instruction at CPL > 0 or refused by
				   read_cr/write_cr */
#define EMU_VEC_PF	14	/* a callback returned -1 */

/*
 * On EMU_VEC_PF the emulator only knows which access failed: the address
 * is in fault_linear and fault_error_code holds the W (bit 1) and I/D
 * (bit 4) bits of a page-fault error code. The caller, which walked the
 * guest's page tables in its callback, adds P, U/S, RSVD and PK, sets CR2
 * to fault_linear and injects the #PF (or does what an unassigned
 * address needs instead).
 */
#define EMU_PF_WRITE	(1u << 1)
#define EMU_PF_FETCH	(1u << 4)

/* REP string instructions run at most this many iterations per call
 * unless emu_ctxt.rep_limit says otherwise. */
#define EMU_REP_MAX	64

struct emu_ops {
	/* Instruction bytes at a linear address: 0 or -1. The emulator asks
	 * for the rest of the page (up to 15 bytes) first and, if that
	 * fails, for only the bytes it needs. */
	int (*fetch)(void *opaque, uint64_t linear, void *buf, unsigned len);
	/* Data at a linear address: 0, or -1 (the access faults). 'size'
	 * is 1, 2, 4, 8 or 16 and the access is one access for the device. */
	int (*read)(void *opaque, uint64_t linear, void *buf, unsigned size);
	int (*write)(void *opaque, uint64_t linear, const void *buf,
		     unsigned size);
	/* Atomic compare-exchange at a linear address (CMPXCHG*, LOCK'd
	 * read-modify-writes): writes 'new' if memory holds 'old', returns
	 * 0 and the value found in *old; -1 on a fault. May be NULL: then a
	 * read followed by a write is used. */
	int (*cmpxchg)(void *opaque, uint64_t linear, void *old,
		       const void *new, unsigned size);

	/*
	 * System instructions, for a hypervisor that intercepts them without
	 * being told their operands (SVM without decode assists, and shadow
	 * paging): MOV from/to CR0, CR2, CR3, CR4, CR8; CLTS; LMSW; SMSW;
	 * INVLPG. The emulator makes the instruction's own checks (CPL 0,
	 * a valid CR number, INVLPG with a memory operand) and the operand
	 * size (64-bit in 64-bit mode, else 32), and calls:
	 *   read_cr:  0, or -1 for #GP(0)
	 *   write_cr: 0, or 1 for #GP(0) (the value is refused; nothing
	 *             changed), or -1 for EMU_UNHANDLED (the caller stopped
	 *             the guest)
	 *   invlpg:   the linear address (segment base + offset, not
	 *             checked for canonical form), never faults: 0, or -1
	 *             for EMU_UNHANDLED as write_cr
	 * CLTS is read_cr(0) then write_cr(0) without TS; LMSW writes CR0
	 * bits 3:0 (it can set PE, not clear it); SMSW stores CR0's low 16
	 * bits (a register gets the operand size's worth). Any of them NULL:
	 * the instructions that need it are EMU_UNHANDLED.
	 */
	int (*read_cr)(void *opaque, unsigned cr, uint64_t *value);
	int (*write_cr)(void *opaque, unsigned cr, uint64_t value);
	int (*invlpg)(void *opaque, uint64_t linear);
};

struct emu_ctxt {
	struct vcpu_regs *regs;		/* GPRs, RIP, RFLAGS: updated in place */
	const struct vcpu_sregs *sregs;	/* mode (CS.L, CS.D), segment bases,
					   CR4.LA57 for the canonical check */
	const struct emu_ops *ops;
	void *opaque;
	unsigned rep_limit;		/* In: REP iterations per call; 0 means
					   EMU_REP_MAX */

	/*
	 * Out: what was done, for statistics and for the MMU. mem_* describe
	 * the last memory access made (or refused, on #PF): for a
	 * read-modify-write its write, for REP string instructions the last
	 * element (for MOVS its write). mem_size 0: no memory was accessed.
	 */
	uint8_t insn_len;		/* once decoded (also on EMU_FAULT) */
	uint64_t mem_linear;
	unsigned mem_size;
	bool mem_write;
	/*
	 * EMU_DONE with RIP left on this instruction on purpose: a REP
	 * string instruction stopped after rep_limit iterations with its
	 * count (and RSI/RDI) updated, or a LOCK'd update lost its
	 * compare-exchange race too often. Nothing is half done: entering
	 * the guest re-executes the rest (and exits again for MMIO), or
	 * the caller may call emulate_one() again at once.
	 */
	bool restart;
	uint8_t fault_vector;		/* EMU_FAULT: #GP, #SS, #PF, #UD */
	uint32_t fault_error_code;
	uint64_t fault_linear;		/* #PF: the address that failed */
};

/* General register 'n' in 'regs', numbered as the ModRM/REX encodings
 * and the VMX exit qualifications number them: RAX RCX RDX RBX RSP RBP
 * RSI RDI R8-R15 (only bits 3:0 of 'n' count). */
uint64_t *emu_gpr(struct vcpu_regs *regs, unsigned n);

/*
 * Emulate the instruction at CS:RIP. On EMU_FAULT and EMU_UNHANDLED the
 * registers are as they were, except after some iterations of a REP
 * string instruction: those are complete (RCX/RSI/RDI count them) and
 * RIP stays on the instruction, as the CPU leaves them.
 */
enum emu_result emulate_one(struct emu_ctxt *ctxt);

#endif
