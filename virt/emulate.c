/*
 * The emulator's executor: runs one decoded instruction (emulate_decode.c)
 * against the guest's registers and, through the caller's callbacks, its
 * memory (the system instructions are in emulate_sys.c). See
 * virt/emulate.h for the contract and docs/emulator.md for what is
 * covered.
 *
 * Every instruction does its memory accesses first and changes registers
 * only after they all succeeded, so a fault leaves the guest as it was
 * and re-executing the instruction after the fault is handled is right.
 * REP string instructions are the exception the CPU makes too: completed
 * iterations stay completed.
 */
#include <stddef.h>
#include "virt/emulate_internal.h"

/* A LOCK'd update that loses its compare-exchange this many times in a
 * row gives up and lets the guest re-execute the instruction. */
#define CMPXCHG_RETRIES	64

/* ------------------------------------------------------------ faults */

static enum emu_result page_fault(struct emu_ctxt *ctxt, uint64_t linear,
				  bool write)
{
	ctxt->fault_linear = linear;
	return emu_fault(ctxt, EMU_VEC_PF, write ? EMU_PF_WRITE : 0);
}

/* ----------------------------------------------------- memory accesses */

static uint64_t le_get(const uint8_t *buf, unsigned size)
{
	uint64_t val = 0;

	for (unsigned i = 0; i < size && i < 8; i++)
		val |= (uint64_t)buf[i] << (8 * i);
	return val;
}

static void le_put(uint8_t *buf, uint64_t val, unsigned size)
{
	for (unsigned i = 0; i < size && i < 8; i++)
		buf[i] = (uint8_t)(val >> (8 * i));
}

static uint64_t segment_base(const struct vcpu_sregs *sregs,
			     enum emu_seg seg)
{
	switch (seg) {
	case SEG_ES:	return sregs->es_base;
	case SEG_CS:	return sregs->cs_base;
	case SEG_SS:	return sregs->ss_base;
	case SEG_FS:	return sregs->fs_base;
	case SEG_GS:	return sregs->gs_base;
	default:	return sregs->ds_base;
	}
}

/* 64-bit mode: only FS and GS have a base. 16/32-bit mode: base +
 * offset, wrapped at 4 GiB; limits are not checked (flat segments). */
uint64_t emu_linear(const struct emu_ctxt *ctxt, const struct emu_insn *in,
		    enum emu_seg seg, uint64_t offset)
{
	if (in->mode != 8)
		return (segment_base(ctxt->sregs, seg) + offset) &
		       0xffffffffull;
	if (seg == SEG_FS || seg == SEG_GS)
		return offset + segment_base(ctxt->sregs, seg);
	return offset;
}

/*
 * Segment:offset to a linear address (emu_linear), checked: in 64-bit
 * mode the first and last byte must be canonical (#SS for stack
 * references, #GP otherwise).
 */
static enum emu_result linear_address(struct emu_ctxt *ctxt,
				      const struct emu_insn *in,
				      enum emu_seg seg, uint64_t offset,
				      unsigned size, uint64_t *linear)
{
	*linear = emu_linear(ctxt, in, seg, offset);
	if (in->mode != 8)
		return EMU_DONE;
	if (!emu_canonical(ctxt, *linear) ||
	    !emu_canonical(ctxt, *linear + size - 1))
		return emu_fault(ctxt, seg == SEG_SS ? EMU_VEC_SS : EMU_VEC_GP,
				 0);
	return EMU_DONE;
}

static void note_access(struct emu_ctxt *ctxt, uint64_t linear,
			unsigned size, bool write)
{
	ctxt->mem_linear = linear;
	ctxt->mem_size = size;
	ctxt->mem_write = write;
}

static enum emu_result mem_read(struct emu_ctxt *ctxt,
				const struct emu_insn *in, enum emu_seg seg,
				uint64_t offset, void *buf, unsigned size)
{
	uint64_t linear;
	enum emu_result r = linear_address(ctxt, in, seg, offset, size,
					   &linear);

	if (r != EMU_DONE)
		return r;
	note_access(ctxt, linear, size, false);
	if (ctxt->ops->read(ctxt->opaque, linear, buf, size) != 0)
		return page_fault(ctxt, linear, false);
	return EMU_DONE;
}

static enum emu_result mem_write(struct emu_ctxt *ctxt,
				 const struct emu_insn *in, enum emu_seg seg,
				 uint64_t offset, const void *buf,
				 unsigned size)
{
	uint64_t linear;
	enum emu_result r = linear_address(ctxt, in, seg, offset, size,
					   &linear);

	if (r != EMU_DONE)
		return r;
	note_access(ctxt, linear, size, true);
	if (ctxt->ops->write(ctxt->opaque, linear, buf, size) != 0)
		return page_fault(ctxt, linear, true);
	return EMU_DONE;
}

/* Compare-exchange through ops->cmpxchg, which the caller has checked is
 * there. 'expected' gets the value found. */
static enum emu_result mem_cmpxchg(struct emu_ctxt *ctxt,
				   const struct emu_insn *in,
				   enum emu_seg seg, uint64_t offset,
				   void *expected, const void *new,
				   unsigned size)
{
	uint64_t linear;
	enum emu_result r = linear_address(ctxt, in, seg, offset, size,
					   &linear);

	if (r != EMU_DONE)
		return r;
	note_access(ctxt, linear, size, true);
	if (ctxt->ops->cmpxchg(ctxt->opaque, linear, expected, new, size) != 0)
		return page_fault(ctxt, linear, true);
	return EMU_DONE;
}

/* ----------------------------------------------------------- operands */

/* General register 'n' as a 'size'-byte operand. Without REX, byte
 * registers 4-7 are AH, CH, DH, BH; with any REX they are SPL, BPL, SIL,
 * DIL. */
static struct emu_operand reg_operand(const struct emu_insn *in,
				      unsigned n, unsigned size)
{
	struct emu_operand o = { .size = size, .reg = n };

	if (size == 1 && !in->rex && n >= 4 && n < 8) {
		o.reg = n - 4;
		o.shift = 8;
	}
	return o;
}

/* The ModRM r/m operand: the memory operand, or the register. */
struct emu_operand emu_rm_operand(const struct emu_insn *in, unsigned size)
{
	if (!in->mem)
		return reg_operand(in, in->rm, size);
	return (struct emu_operand){ .is_mem = true, .size = size,
				     .seg = in->ea_seg, .offset = in->ea };
}

static uint64_t reg_get(struct emu_ctxt *ctxt, const struct emu_operand *o)
{
	return (*emu_gpr(ctxt->regs, o->reg) >> o->shift) &
	       emu_size_mask(o->size);
}

/* Byte and word writes keep the rest of the register; a dword write
 * zero-extends to 64 bits (the 64-bit-mode rule; outside it the upper
 * half is not visible to the guest). */
static void reg_set(struct emu_ctxt *ctxt, const struct emu_operand *o,
		    uint64_t val)
{
	uint64_t *gpr = emu_gpr(ctxt->regs, o->reg);
	uint64_t mask;

	if (o->size >= 4) {
		*gpr = val & emu_size_mask(o->size);
		return;
	}
	mask = emu_size_mask(o->size) << o->shift;
	*gpr = (*gpr & ~mask) | ((val << o->shift) & mask);
}

enum emu_result emu_operand_read(struct emu_ctxt *ctxt,
				 const struct emu_insn *in,
				 const struct emu_operand *o, uint64_t *val)
{
	uint8_t buf[8];
	enum emu_result r;

	if (!o->is_mem) {
		*val = reg_get(ctxt, o);
		return EMU_DONE;
	}
	r = mem_read(ctxt, in, o->seg, o->offset, buf, o->size);
	*val = r == EMU_DONE ? le_get(buf, o->size) : 0;
	return r;
}

enum emu_result emu_operand_write(struct emu_ctxt *ctxt,
				  const struct emu_insn *in,
				  const struct emu_operand *o, uint64_t val)
{
	uint8_t buf[8];

	if (!o->is_mem) {
		reg_set(ctxt, o, val);
		return EMU_DONE;
	}
	le_put(buf, val, o->size);
	return mem_write(ctxt, in, o->seg, o->offset, buf, o->size);
}

/* ------------------------------------------------ read-modify-write */

/*
 * dst = dst 'op' src, with the flags 'op' sets. 'writes' is false for
 * CMP, TEST and BT, which only read. 'atomic' (LOCK, or XCHG's implicit
 * lock) with a memory destination and ops->cmpxchg: read the old value,
 * compute, compare-exchange, and on a mismatch compute again from the
 * value found, as a locked CPU access would have seen it. Without
 * ops->cmpxchg, and when not atomic: a read, then a write.
 * *old_out gets the value the result was computed from (XCHG, XADD).
 * Registers (RFLAGS included) change only once memory is done.
 */
static enum emu_result modify(struct emu_ctxt *ctxt, const struct emu_insn *in,
			      const struct emu_operand *dst, enum emu_op op,
			      uint64_t src, bool writes, bool atomic,
			      uint64_t *old_out)
{
	uint64_t old, result, flags;
	enum emu_result r;
	uint8_t expected[8], new[8];

	r = emu_operand_read(ctxt, in, dst, &old);
	if (r != EMU_DONE)
		return r;
	for (unsigned tries = 0;; tries++) {
		flags = ctxt->regs->rflags;
		result = emu_alu(op, dst->size, old, src, &flags);
		if (!writes)
			break;
		if (!dst->is_mem || !atomic || !ctxt->ops->cmpxchg) {
			r = emu_operand_write(ctxt, in, dst, result);
			if (r != EMU_DONE)
				return r;
			break;
		}
		le_put(expected, old, dst->size);
		le_put(new, result, dst->size);
		r = mem_cmpxchg(ctxt, in, dst->seg, dst->offset, expected, new,
				dst->size);
		if (r != EMU_DONE)
			return r;
		if (le_get(expected, dst->size) == old)
			break;
		if (tries == CMPXCHG_RETRIES) {
			ctxt->restart = true;
			return EMU_DONE;
		}
		old = le_get(expected, dst->size);
	}
	ctxt->regs->rflags = flags;
	if (old_out)
		*old_out = old;
	return EMU_DONE;
}

/* ------------------------------------------------------- instructions */

static enum emu_result exec_alu(struct emu_ctxt *ctxt,
				const struct emu_insn *in)
{
	enum emu_op op = (enum emu_op)(in->opcode >> 3);
	unsigned size = in->op_size;
	bool writes = op != OP_CMP;
	struct emu_operand rm = emu_rm_operand(in, size);
	struct emu_operand reg = reg_operand(in, in->reg, size);
	struct emu_operand acc = reg_operand(in, GPR_AX, size);
	uint64_t src;
	enum emu_result r;

	switch (in->opcode & 7) {
	case 0: case 1:		/* r/m op= reg */
		return modify(ctxt, in, &rm, op, reg_get(ctxt, &reg), writes,
			      in->lock, NULL);
	case 2: case 3:		/* reg op= r/m */
		r = emu_operand_read(ctxt, in, &rm, &src);
		if (r != EMU_DONE)
			return r;
		return modify(ctxt, in, &reg, op, src, writes, false, NULL);
	default:		/* AL/rAX op= imm */
		return modify(ctxt, in, &acc, op, in->imm, writes, false,
			      NULL);
	}
}

static enum emu_result exec_test(struct emu_ctxt *ctxt,
				 const struct emu_insn *in)
{
	struct emu_operand rm = emu_rm_operand(in, in->op_size);
	struct emu_operand reg = reg_operand(in, in->reg, in->op_size);

	switch (in->kind) {
	case K_TEST:
		return modify(ctxt, in, &rm, OP_TEST, reg_get(ctxt, &reg),
			      false, false, NULL);
	case K_TEST_ACC:
		rm = reg_operand(in, GPR_AX, in->op_size);
		/* fall through */
	default:		/* F6/F7 /0 */
		return modify(ctxt, in, &rm, OP_TEST, in->imm, false, false,
			      NULL);
	}
}

static enum emu_result exec_unary(struct emu_ctxt *ctxt,
				  const struct emu_insn *in)
{
	static const enum emu_op grp3[4] = { OP_TEST, OP_TEST, OP_NOT,
					     OP_NEG };
	struct emu_operand rm = emu_rm_operand(in, in->op_size);
	enum emu_op op;

	if (in->kind == K_INCDEC)
		op = in->modrm_reg == 0 ? OP_INC : OP_DEC;
	else
		op = grp3[in->modrm_reg & 3];
	return modify(ctxt, in, &rm, op, 0, true, in->lock, NULL);
}

/* XCHG and XADD: the register gets the old destination value. */
static enum emu_result exec_exchange(struct emu_ctxt *ctxt,
				     const struct emu_insn *in)
{
	struct emu_operand rm = emu_rm_operand(in, in->op_size);
	struct emu_operand reg = reg_operand(in, in->reg, in->op_size);
	uint64_t src = reg_get(ctxt, &reg);
	uint64_t old = 0;
	enum emu_op op = in->kind == K_XADD ? OP_XADD : OP_MOV;
	enum emu_result r;

	if (!rm.is_mem && op == OP_XADD) {
		/* SRC = DEST, then DEST = sum: the sum wins when both are
		 * the same register. */
		uint64_t flags = ctxt->regs->rflags;
		uint64_t dst = reg_get(ctxt, &rm);
		uint64_t sum = emu_alu(OP_ADD, in->op_size, dst, src, &flags);

		reg_set(ctxt, &reg, dst);
		reg_set(ctxt, &rm, sum);
		ctxt->regs->rflags = flags;
		return EMU_DONE;
	}
	r = modify(ctxt, in, &rm, op, src, true,
		   in->kind == K_XCHG || in->lock, &old);
	if (r == EMU_DONE && !ctxt->restart)
		reg_set(ctxt, &reg, old);
	return r;
}

static enum emu_result exec_mov(struct emu_ctxt *ctxt,
				const struct emu_insn *in)
{
	struct emu_operand rm = emu_rm_operand(in, in->op_size);
	struct emu_operand reg = reg_operand(in, in->reg, in->op_size);
	struct emu_operand acc = reg_operand(in, GPR_AX, in->op_size);
	struct emu_operand src;
	uint64_t val;
	enum emu_result r;

	switch (in->kind) {
	case K_MOV:
		if (in->opcode & 2) {		/* 8A/8B: reg = r/m */
			r = emu_operand_read(ctxt, in, &rm, &val);
			if (r == EMU_DONE)
				reg_set(ctxt, &reg, val);
			return r;
		}
		return emu_operand_write(ctxt, in, &rm, reg_get(ctxt, &reg));
	case K_MOV_IMM:
		return emu_operand_write(ctxt, in, &rm, in->imm);
	case K_MOV_MOFFS:
		if (in->opcode & 2)		/* A2/A3: moffs = acc */
			return emu_operand_write(ctxt, in, &rm,
						 reg_get(ctxt, &acc));
		r = emu_operand_read(ctxt, in, &rm, &val);
		if (r == EMU_DONE)
			reg_set(ctxt, &acc, val);
		return r;
	default:			/* MOVZX, MOVSX, MOVSXD */
		src = emu_rm_operand(in, in->src_size);
		r = emu_operand_read(ctxt, in, &src, &val);
		if (r != EMU_DONE)
			return r;
		if (in->kind != K_MOVZX)
			val = emu_sign_extend(val, in->src_size);
		reg_set(ctxt, &reg, val);
		return EMU_DONE;
	}
}

/*
 * CMPXCHG: compare the accumulator with the destination; equal: ZF = 1
 * and destination = source; else ZF = 0 and accumulator = destination.
 * Flags as CMP accumulator, destination. With ops->cmpxchg a memory
 * destination takes one compare-exchange (LOCK or not); without it a
 * read, and a write only when equal (the CPU writes the old value back
 * on a mismatch; a device is better off without that write).
 */
static enum emu_result exec_cmpxchg(struct emu_ctxt *ctxt,
				    const struct emu_insn *in)
{
	unsigned size = in->op_size;
	struct emu_operand rm = emu_rm_operand(in, size);
	struct emu_operand reg = reg_operand(in, in->reg, size);
	struct emu_operand acc = reg_operand(in, GPR_AX, size);
	uint64_t expected = reg_get(ctxt, &acc);
	uint64_t src = reg_get(ctxt, &reg);
	uint64_t found, flags = ctxt->regs->rflags;
	enum emu_result r;

	if (rm.is_mem && ctxt->ops->cmpxchg) {
		uint8_t old_buf[8], new_buf[8];

		le_put(old_buf, expected, size);
		le_put(new_buf, src, size);
		r = mem_cmpxchg(ctxt, in, rm.seg, rm.offset, old_buf, new_buf,
				size);
		if (r != EMU_DONE)
			return r;
		found = le_get(old_buf, size);
	} else {
		r = emu_operand_read(ctxt, in, &rm, &found);
		if (r != EMU_DONE)
			return r;
		if (found == expected) {
			r = emu_operand_write(ctxt, in, &rm, src);
			if (r != EMU_DONE)
				return r;
		}
	}
	emu_cmp_flags(size, expected, found, &flags);
	ctxt->regs->rflags = flags;
	if (found != expected)
		reg_set(ctxt, &acc, found);
	return EMU_DONE;
}

/*
 * CMPXCHG8B m64 (EDX:EAX against memory, ECX:EBX in) and, with REX.W,
 * CMPXCHG16B m128 (RDX:RAX, RCX:RBX; the operand must be 16-byte
 * aligned). Only ZF changes.
 */
static enum emu_result exec_cmpxchg_double(struct emu_ctxt *ctxt,
					   const struct emu_insn *in)
{
	struct vcpu_regs *regs = ctxt->regs;
	unsigned half = (in->rex & 0x08) ? 8 : 4;
	unsigned size = 2 * half;
	uint8_t expected[16], new[16], found[16];
	uint64_t linear;
	bool equal = true;
	enum emu_result r;

	r = linear_address(ctxt, in, in->ea_seg, in->ea, size, &linear);
	if (r != EMU_DONE)
		return r;
	if (size == 16 && (linear & 15))
		return emu_fault(ctxt, EMU_VEC_GP, 0);
	le_put(expected, regs->rax, half);
	le_put(expected + half, regs->rdx, half);
	le_put(new, regs->rbx, half);
	le_put(new + half, regs->rcx, half);

	if (ctxt->ops->cmpxchg) {
		for (unsigned i = 0; i < size; i++)
			found[i] = expected[i];
		r = mem_cmpxchg(ctxt, in, in->ea_seg, in->ea, found, new,
				size);
		if (r != EMU_DONE)
			return r;
	} else {
		r = mem_read(ctxt, in, in->ea_seg, in->ea, found, size);
		if (r != EMU_DONE)
			return r;
	}
	for (unsigned i = 0; i < size; i++)
		equal = equal && found[i] == expected[i];
	if (equal && !ctxt->ops->cmpxchg) {
		r = mem_write(ctxt, in, in->ea_seg, in->ea, new, size);
		if (r != EMU_DONE)
			return r;
	}
	if (equal) {
		regs->rflags |= RFLAGS_ZF;
	} else {
		regs->rflags &= ~RFLAGS_ZF;
		regs->rax = le_get(found, half);
		regs->rdx = le_get(found + half, half);
	}
	return EMU_DONE;
}

/*
 * BT, BTS, BTR, BTC. With the bit offset in a register and a memory
 * operand, the offset is signed and may reach outside the operand: the
 * CPU accesses the operand-size unit at offset + size * floor(bit / width)
 * and tests bit (bit mod width) in it. An imm8 offset, or a register
 * operand, is taken modulo the width.
 */
static enum emu_result exec_bt(struct emu_ctxt *ctxt,
			       const struct emu_insn *in)
{
	static const enum emu_op twobyte_op[4] = { OP_BT, OP_BTS, OP_BTR,
						   OP_BTC };
	unsigned size = in->op_size;
	unsigned width = size * 8;
	struct emu_operand rm = emu_rm_operand(in, size);
	uint64_t bit;
	enum emu_op op;

	if (in->kind == K_BT_IMM) {
		op = twobyte_op[in->modrm_reg & 3];
		bit = in->imm & (width - 1);
	} else {
		struct emu_operand reg = reg_operand(in, in->reg, size);
		int64_t offset = (int64_t)emu_sign_extend(reg_get(ctxt, &reg),
							  size);

		op = twobyte_op[(in->opcode >> 3) & 3];
		bit = (uint64_t)offset & (width - 1);
		if (rm.is_mem) {
			unsigned shift = size == 2 ? 4 : size == 4 ? 5 : 6;

			/* An arithmetic shift: floor division by the width. */
			rm.offset += (uint64_t)((offset >> shift) * (int64_t)size);
			rm.offset &= emu_size_mask(in->addr_size);
		}
	}
	return modify(ctxt, in, &rm, op, bit, op != OP_BT, in->lock, NULL);
}

/* ---------------------------------------------------- string instructions */

/* Write an address-size-wide register (the count, RSI, RDI): a 16-bit
 * address size changes only the low word. */
static void set_addr_reg(struct emu_ctxt *ctxt, const struct emu_insn *in,
			 unsigned n, uint64_t val)
{
	struct emu_operand o = { .reg = n, .size = in->addr_size };

	reg_set(ctxt, &o, val);
}

/*
 * MOVS (DS:rSI to ES:rDI), STOS (accumulator to ES:rDI) and LODS (DS:rSI
 * to the accumulator); DS may be overridden, ES may not. With F2/F3 the
 * count is CX/ECX/RCX by address size; at most rep_limit iterations run
 * per call, then RIP stays on the instruction (ctxt->restart) and the
 * guest or the caller runs it again for the rest. mem_* describe the
 * last access (for MOVS, the write).
 */
static enum emu_result exec_string(struct emu_ctxt *ctxt,
				   const struct emu_insn *in)
{
	struct vcpu_regs *regs = ctxt->regs;
	uint64_t addr_mask = emu_size_mask(in->addr_size);
	unsigned size = in->op_size;
	uint64_t step = (regs->rflags & RFLAGS_DF) ? (uint64_t)0 - size : size;
	enum emu_seg src_seg = in->seg_override != SEG_NONE ? in->seg_override
							     : SEG_DS;
	struct emu_operand acc = reg_operand(in, GPR_AX, size);
	unsigned limit = ctxt->rep_limit ? ctxt->rep_limit : EMU_REP_MAX;
	uint64_t count = in->rep ? regs->rcx & addr_mask : 1;
	uint8_t buf[8];
	enum emu_result r;

	for (unsigned done = 0; count != 0; done++) {
		uint64_t si = regs->rsi & addr_mask;
		uint64_t di = regs->rdi & addr_mask;

		if (done == limit) {
			ctxt->restart = true;
			return EMU_DONE;
		}
		if (in->kind != K_STOS) {
			r = mem_read(ctxt, in, src_seg, si, buf, size);
			if (r != EMU_DONE)
				return r;
		} else {
			le_put(buf, reg_get(ctxt, &acc), size);
		}
		if (in->kind != K_LODS) {
			r = mem_write(ctxt, in, SEG_ES, di, buf, size);
			if (r != EMU_DONE)
				return r;
		} else {
			reg_set(ctxt, &acc, le_get(buf, size));
		}
		if (in->kind != K_STOS)
			set_addr_reg(ctxt, in, GPR_SI, si + step);
		if (in->kind != K_LODS)
			set_addr_reg(ctxt, in, GPR_DI, di + step);
		count--;
		if (in->rep)
			set_addr_reg(ctxt, in, GPR_CX, count);
	}
	return EMU_DONE;
}

/* ------------------------------------------------------------- the entry */

static enum emu_result execute(struct emu_ctxt *ctxt, struct emu_insn *in)
{
	switch (in->kind) {
	case K_ALU:
		return exec_alu(ctxt, in);
	case K_GRP1: {
		struct emu_operand rm = emu_rm_operand(in, in->op_size);
		enum emu_op op = (enum emu_op)in->modrm_reg;

		return modify(ctxt, in, &rm, op, in->imm, op != OP_CMP,
			      in->lock, NULL);
	}
	case K_TEST:
	case K_TEST_ACC:
		return exec_test(ctxt, in);
	case K_GRP3:
		if (in->modrm_reg == 0)
			return exec_test(ctxt, in);
		return exec_unary(ctxt, in);
	case K_INCDEC:
		return exec_unary(ctxt, in);
	case K_XCHG:
	case K_XADD:
		return exec_exchange(ctxt, in);
	case K_MOV:
	case K_MOV_IMM:
	case K_MOV_MOFFS:
	case K_MOVZX:
	case K_MOVSX:
		return exec_mov(ctxt, in);
	case K_MOVSXD:
		/* Sign-extends a dword only into a 64-bit register; without
		 * REX.W it is a plain 16/32-bit move. */
		in->src_size = in->op_size == 8 ? 4 : in->op_size;
		return exec_mov(ctxt, in);
	case K_CMPXCHG:
		return exec_cmpxchg(ctxt, in);
	case K_CMPXCHG8B:
		return exec_cmpxchg_double(ctxt, in);
	case K_BT:
	case K_BT_IMM:
		return exec_bt(ctxt, in);
	case K_MOVS:
	case K_STOS:
	case K_LODS:
		return exec_string(ctxt, in);
	case K_MOV_CR:
	case K_CLTS:
	case K_SMSW:
	case K_LMSW:
	case K_INVLPG:
		return emu_exec_sys(ctxt, in);
	case K_GRP7:		/* resolved by the decoder */
		break;
	}
	return EMU_UNHANDLED;
}

enum emu_result emulate_one(struct emu_ctxt *ctxt)
{
	struct emu_insn in;
	enum emu_result r;

	ctxt->insn_len = 0;
	ctxt->mem_linear = 0;
	ctxt->mem_size = 0;
	ctxt->mem_write = false;
	ctxt->restart = false;
	ctxt->fault_vector = 0;
	ctxt->fault_error_code = 0;
	ctxt->fault_linear = 0;

	r = emu_decode(ctxt, &in);
	if (r == EMU_FAULT && ctxt->fault_vector == EMU_VEC_UD)
		ctxt->insn_len = (uint8_t)in.len;	/* decoded in full */
	if (r != EMU_DONE)
		return r;
	ctxt->insn_len = (uint8_t)in.len;
	r = execute(ctxt, &in);
	if (r == EMU_DONE && !ctxt->restart)
		ctxt->regs->rip = (ctxt->regs->rip + in.len) &
				  emu_size_mask(in.mode);
	return r;
}
