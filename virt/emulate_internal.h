/*
 * Pieces shared by the emulator's files: the decoded instruction, the
 * decoder (emulate_decode.c), the operands and memory accesses of the
 * executor (emulate.c), the arithmetic with its flags (emulate_alu.c) and
 * the system instructions (emulate_sys.c). Only virt/emulate*.c include
 * this.
 */
#ifndef VIRT_EMULATE_INTERNAL_H
#define VIRT_EMULATE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include "virt/emulate.h"

#define EMU_MAX_INSN_LEN	15

/* Segment registers, numbered as the Sreg field of MOV Sreg encodes them. */
enum emu_seg { SEG_ES, SEG_CS, SEG_SS, SEG_DS, SEG_FS, SEG_GS, SEG_NONE };

/* General registers, numbered as ModRM/SIB encode them (with REX). */
enum emu_gpr {
	GPR_AX, GPR_CX, GPR_DX, GPR_BX, GPR_SP, GPR_BP, GPR_SI, GPR_DI,
	GPR_R8, GPR_R9, GPR_R10, GPR_R11, GPR_R12, GPR_R13, GPR_R14, GPR_R15,
	GPR_NONE = -1
};

/* RFLAGS bits the emulator reads or writes. */
#define RFLAGS_CF	(1ull << 0)
#define RFLAGS_PF	(1ull << 2)
#define RFLAGS_AF	(1ull << 4)
#define RFLAGS_ZF	(1ull << 6)
#define RFLAGS_SF	(1ull << 7)
#define RFLAGS_DF	(1ull << 10)
#define RFLAGS_OF	(1ull << 11)
#define RFLAGS_ARITH	(RFLAGS_CF | RFLAGS_PF | RFLAGS_AF | RFLAGS_ZF | \
			 RFLAGS_SF | RFLAGS_OF)

/*
 * Operations on a destination value. The first eight are in the order of
 * the 00-3F opcode rows and of the /digit of 80-83, so 'opcode >> 3' and
 * the ModRM reg field index them directly.
 */
enum emu_op {
	OP_ADD, OP_OR, OP_ADC, OP_SBB, OP_AND, OP_SUB, OP_XOR, OP_CMP,
	OP_TEST, OP_INC, OP_DEC, OP_NOT, OP_NEG,
	OP_BT, OP_BTS, OP_BTR, OP_BTC,
	OP_MOV,			/* result = src: MOV stores, XCHG */
	OP_XADD,		/* ADD; the caller hands the old value back */
};

/* What the decoder found; the executor in emulate.c switches on it. */
enum emu_kind {
	K_ALU,		/* 00-3F rows: form = opcode & 7 */
	K_GRP1,		/* 80-83: ALU op = ModRM reg, immediate source */
	K_TEST,		/* 84/85 */
	K_TEST_ACC,	/* A8/A9 */
	K_GRP3,		/* F6/F7: /0 TEST imm, /2 NOT, /3 NEG */
	K_INCDEC,	/* FE/FF /0 /1 */
	K_XCHG,		/* 86/87 */
	K_MOV,		/* 88-8B */
	K_MOV_IMM,	/* C6/C7 /0 */
	K_MOV_MOFFS,	/* A0-A3 */
	K_MOVZX,	/* 0F B6/B7 */
	K_MOVSX,	/* 0F BE/BF */
	K_MOVSXD,	/* 63 in 64-bit mode */
	K_CMPXCHG,	/* 0F B0/B1 */
	K_CMPXCHG8B,	/* 0F C7 /1: CMPXCHG8B, CMPXCHG16B with REX.W */
	K_XADD,		/* 0F C0/C1 */
	K_BT,		/* 0F A3/AB/B3/BB: bit offset in a register */
	K_BT_IMM,	/* 0F BA /4-/7: bit offset in imm8 */
	K_MOVS,		/* A4/A5 */
	K_STOS,		/* AA/AB */
	K_LODS,		/* AC/AD */
	K_MOV_CR,	/* 0F 20 (from CR), 0F 22 (to CR): register forms */
	K_CLTS,		/* 0F 06 */
	K_GRP7,		/* 0F 01 until the /digit says which of: */
	K_SMSW,		/* 0F 01 /4 */
	K_LMSW,		/* 0F 01 /6 */
	K_INVLPG,	/* 0F 01 /7, memory forms only */
};

struct emu_insn {
	uint8_t bytes[EMU_MAX_INSN_LEN];
	unsigned fetched;	/* bytes[0, fetched) hold instruction bytes */
	unsigned len;		/* bytes decoded so far; the length at the end */

	unsigned mode;		/* code size in bytes: 2, 4 or 8 */
	unsigned op_size;	/* operand size in bytes: 1, 2, 4 or 8 */
	unsigned addr_size;	/* address size in bytes: 2, 4 or 8 */
	bool prefix_opsize;	/* 66 */
	bool prefix_addrsize;	/* 67 */
	bool lock;		/* F0 */
	uint8_t rep;		/* 0, or the last of F2/F3 */
	uint8_t rex;		/* 0 = none, else 40-4F */
	enum emu_seg seg_override;

	bool twobyte;		/* 0F map */
	uint8_t opcode;
	enum emu_kind kind;
	bool lockable;		/* LOCK allowed (with a memory destination) */

	bool has_modrm;
	uint8_t modrm_reg;	/* ModRM bits 5:3 alone: the /digit */
	uint8_t reg;		/* ModRM reg with REX.R: a register number */
	uint8_t rm;		/* mod = 3: ModRM r/m with REX.B */
	bool mem;		/* the r/m operand (or moffs) is memory */

	/* The memory operand, once emu_decode() returns EMU_DONE. */
	enum emu_seg ea_seg;
	uint64_t ea;		/* offset in the segment, address-size wide */

	unsigned src_size;	/* MOVZX/MOVSX/MOVSXD source size */
	uint64_t imm;		/* sign-extended to 64 bits (moffs: zero) */
};

/* Decode the instruction at CS:RIP into 'in', fetching its bytes through
 * ctxt->ops->fetch, and compute its memory operand's offset.
 * EMU_DONE: decoded. EMU_UNHANDLED: an opcode the emulator does not do,
 * or a system instruction whose callbacks are NULL. EMU_FAULT: #GP
 * (> 15 bytes, non-canonical RIP), #PF (fetch failed), #UD (LOCK not
 * allowed). */
enum emu_result emu_decode(struct emu_ctxt *ctxt, struct emu_insn *in);

/* Run a system instruction (K_MOV_CR to K_INVLPG): emulate_sys.c. */
enum emu_result emu_exec_sys(struct emu_ctxt *ctxt,
			     const struct emu_insn *in);

/* A register or memory operand of 'size' bytes (emulate.c). */
struct emu_operand {
	bool is_mem;
	unsigned size;
	unsigned reg;		/* register: enum emu_gpr */
	unsigned shift;		/* register: 8 for AH, CH, DH, BH */
	enum emu_seg seg;	/* memory */
	uint64_t offset;
};

/* The ModRM r/m operand: the memory operand, or the register. */
struct emu_operand emu_rm_operand(const struct emu_insn *in, unsigned size);

/* Read or write an operand; memory goes through the callbacks and sets
 * ctxt->mem_*. EMU_FAULT for #GP/#SS (non-canonical) and #PF. */
enum emu_result emu_operand_read(struct emu_ctxt *ctxt,
				 const struct emu_insn *in,
				 const struct emu_operand *o, uint64_t *val);
enum emu_result emu_operand_write(struct emu_ctxt *ctxt,
				  const struct emu_insn *in,
				  const struct emu_operand *o, uint64_t val);

/* Segment 'seg' : 'offset' as a linear address, unchecked (no canonical
 * check in 64-bit mode, where only FS and GS have a base). */
uint64_t emu_linear(const struct emu_ctxt *ctxt, const struct emu_insn *in,
		    enum emu_seg seg, uint64_t offset);

/* Report an exception for the guest: returns EMU_FAULT. */
enum emu_result emu_fault(struct emu_ctxt *ctxt, uint8_t vector,
			  uint32_t error_code);

/* A 48-bit (or, with CR4.LA57, 57-bit) canonical address. */
bool emu_canonical(const struct emu_ctxt *ctxt, uint64_t linear);


/* The width of a 'size'-byte operand as a mask, and its sign bit. */
static inline uint64_t emu_size_mask(unsigned size)
{
	return size >= 8 ? ~0ull : (1ull << (size * 8)) - 1;
}

static inline uint64_t emu_sign_bit(unsigned size)
{
	return 1ull << (size * 8 - 1);
}

/* 'val' truncated to 'size' bytes and sign-extended to 64 bits. */
static inline uint64_t emu_sign_extend(uint64_t val, unsigned size)
{
	uint64_t sign = emu_sign_bit(size);

	val &= emu_size_mask(size);
	return (val ^ sign) - sign;
}

/*
 * Compute 'dst op src' on 'size'-byte operands. Returns the result
 * (truncated to 'size'; for CMP, TEST and BT the value that would be
 * written, which is not) and updates the arithmetic flags in *rflags as
 * the SDM defines them for 'op'; flags the SDM leaves undefined are
 * documented in emulate_alu.c. For the bit ops 'src' is the bit number,
 * already reduced modulo the operand width.
 */
uint64_t emu_alu(enum emu_op op, unsigned size, uint64_t dst, uint64_t src,
		 uint64_t *rflags);

/* Flags of the comparison 'a - b' (CMP, CMPXCHG). */
static inline void emu_cmp_flags(unsigned size, uint64_t a, uint64_t b,
				 uint64_t *rflags)
{
	(void)emu_alu(OP_CMP, size, a, b, rflags);
}

#endif
