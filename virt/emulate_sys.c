/*
 * The emulator's system instructions: MOV from/to CR0, CR2, CR3, CR4 and
 * CR8, CLTS, LMSW, SMSW and INVLPG. A hypervisor needs them when it
 * intercepts them without being told their operands (SVM without decode
 * assists) and when shadow paging owns CR3 and the TLB. Written from the
 * SDM vol. 2 entries of each; the control registers and the TLB are the
 * caller's (ops->read_cr, ops->write_cr, ops->invlpg: virt/emulate.h).
 *
 * Checks come in the CPU's order (SDM vol. 3, "Priority among concurrent
 * exceptions": decoding faults before execution faults): #UD for what
 * cannot be decoded (LOCK, in the decoder; a control register the CPU
 * does not have), then #GP(0) for CPL > 0, then the memory operand.
 * Nothing changes unless every step succeeded.
 */
#include <stddef.h>
#include "virt/emulate_internal.h"

#define CR0_PE		(1ull << 0)
#define CR0_TS		(1ull << 3)
#define CR0_MSW_LOAD	0xfull		/* PE MP EM TS: what LMSW loads */
#define CR4_UMIP	(1ull << 11)

#define OPCODE_MOV_TO_CR	0x22

static enum emu_result gp0(struct emu_ctxt *ctxt)
{
	return emu_fault(ctxt, EMU_VEC_GP, 0);
}

/* In protected and virtual-8086 mode only CPL 0 may; real mode is CPL 0
 * (the backends report it so). */
static bool privileged(const struct emu_ctxt *ctxt)
{
	return ctxt->sregs->cpl == 0;
}

/* The caller refuses a read with #GP(0). */
static enum emu_result read_cr(struct emu_ctxt *ctxt, unsigned cr,
			       uint64_t *val)
{
	*val = 0;
	if (ctxt->ops->read_cr(ctxt->opaque, cr, val) != 0)
		return gp0(ctxt);
	return EMU_DONE;
}

/* 1: the value is refused (#GP(0)); -1: the caller stopped the guest. */
static enum emu_result write_cr(struct emu_ctxt *ctxt, unsigned cr,
				uint64_t val)
{
	int r = ctxt->ops->write_cr(ctxt->opaque, cr, val);

	if (r == 0)
		return EMU_DONE;
	return r > 0 ? gp0(ctxt) : EMU_UNHANDLED;
}

/* CR1, CR5-CR7 and CR9-CR15 do not exist: #UD. CR8 needs REX.R, so only
 * 64-bit mode reaches it (AMD's LOCK MOV CR0 alias for it is not done:
 * a caller must not report CPUID AltMovCr8). */
static bool cr_exists(unsigned cr)
{
	return cr == 0 || cr == 2 || cr == 3 || cr == 4 || cr == 8;
}

/*
 * 0F 20 /r MOV r, CRn and 0F 22 /r MOV CRn, r: CRn is ModRM.reg with
 * REX.R, the register ModRM.rm with REX.B (the decoder took mod as 11).
 * The operand size is 64 bits in 64-bit mode and 32 bits elsewhere,
 * whatever 66 or REX.W say; a 32-bit read zero-extends like any 32-bit
 * register write, and a 32-bit write hands the caller the low half.
 */
static enum emu_result exec_mov_cr(struct emu_ctxt *ctxt,
				   const struct emu_insn *in)
{
	struct emu_operand gpr = { .reg = in->rm,
				   .size = in->mode == 8 ? 8 : 4 };
	unsigned cr = in->reg;
	uint64_t val;
	enum emu_result r;

	if (!cr_exists(cr))
		return emu_fault(ctxt, EMU_VEC_UD, 0);
	if (!privileged(ctxt))
		return gp0(ctxt);
	if (in->opcode == OPCODE_MOV_TO_CR) {
		r = emu_operand_read(ctxt, in, &gpr, &val);
		return r == EMU_DONE ? write_cr(ctxt, cr, val) : r;
	}
	r = read_cr(ctxt, cr, &val);
	return r == EMU_DONE ? emu_operand_write(ctxt, in, &gpr, val) : r;
}

/* 0F 06 CLTS: CR0.TS = 0, the rest of CR0 as it is. */
static enum emu_result exec_clts(struct emu_ctxt *ctxt)
{
	uint64_t cr0;
	enum emu_result r;

	if (!privileged(ctxt))
		return gp0(ctxt);
	r = read_cr(ctxt, 0, &cr0);
	return r == EMU_DONE ? write_cr(ctxt, 0, cr0 & ~CR0_TS) : r;
}

/*
 * 0F 01 /6 LMSW r/m16: loads CR0 bits 3:0 (PE, MP, EM, TS) from a 16-bit
 * operand whatever the operand size; bits 4 and up, ET and NE included,
 * stay. It can set PE but not clear it (the way back to real mode is MOV
 * CR0), so the old PE is kept.
 */
static enum emu_result exec_lmsw(struct emu_ctxt *ctxt,
				 const struct emu_insn *in)
{
	struct emu_operand src = emu_rm_operand(in, 2);
	uint64_t msw, cr0;
	enum emu_result r;

	if (!privileged(ctxt))
		return gp0(ctxt);
	r = emu_operand_read(ctxt, in, &src, &msw);
	if (r != EMU_DONE)
		return r;
	r = read_cr(ctxt, 0, &cr0);
	if (r != EMU_DONE)
		return r;
	return write_cr(ctxt, 0, (cr0 & ~CR0_MSW_LOAD) |
				 (msw & CR0_MSW_LOAD) | (cr0 & CR0_PE));
}

/*
 * 0F 01 /4 SMSW r/m: memory gets CR0[15:0] as 16 bits whatever the
 * operand size; a register gets CR0 at the operand size, so r32 gets
 * CR0[31:0] zero-extended and r64 all of CR0 (the SDM's 64-bit-mode
 * examples; outside 64-bit mode it calls bits 31:16 of r32 undefined, and
 * CPUs store CR0's there too). Any CPL may, unless CR4.UMIP is set.
 */
static enum emu_result exec_smsw(struct emu_ctxt *ctxt,
				 const struct emu_insn *in)
{
	struct emu_operand dst = emu_rm_operand(in, in->mem ? 2 : in->op_size);
	uint64_t cr0, cr4;
	enum emu_result r;

	if (!privileged(ctxt)) {
		r = read_cr(ctxt, 4, &cr4);
		if (r != EMU_DONE)
			return r;
		if (cr4 & CR4_UMIP)
			return gp0(ctxt);
	}
	r = read_cr(ctxt, 0, &cr0);
	return r == EMU_DONE ? emu_operand_write(ctxt, in, &dst, cr0) : r;
}

/*
 * 0F 01 /7 INVLPG m: the linear address of the operand, which is not
 * accessed (mem_size stays 0). A non-canonical address is not a fault
 * but a no-op on the CPU; the caller gets it anyway and may ignore it.
 * The decoder has already left the register forms (SWAPGS, RDTSCP, ...)
 * unhandled.
 */
static enum emu_result exec_invlpg(struct emu_ctxt *ctxt,
				   const struct emu_insn *in)
{
	uint64_t linear;

	if (!privileged(ctxt))
		return gp0(ctxt);
	linear = emu_linear(ctxt, in, in->ea_seg, in->ea);
	if (ctxt->ops->invlpg(ctxt->opaque, linear) != 0)
		return EMU_UNHANDLED;
	return EMU_DONE;
}

enum emu_result emu_exec_sys(struct emu_ctxt *ctxt,
			     const struct emu_insn *in)
{
	switch (in->kind) {
	case K_MOV_CR:
		return exec_mov_cr(ctxt, in);
	case K_CLTS:
		return exec_clts(ctxt);
	case K_LMSW:
		return exec_lmsw(ctxt, in);
	case K_SMSW:
		return exec_smsw(ctxt, in);
	case K_INVLPG:
		return exec_invlpg(ctxt, in);
	default:
		return EMU_UNHANDLED;
	}
}
