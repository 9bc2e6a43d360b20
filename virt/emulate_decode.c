/*
 * The emulator's decoder: instruction bytes at CS:RIP to a struct
 * emu_insn (prefixes, opcode, ModRM/SIB, displacement, immediate) and the
 * memory operand's offset in its segment. Written from the SDM vol. 2,
 * chapter 2 (instruction format) and appendix A (opcode map).
 *
 * Bytes are fetched on demand, so a short instruction at the end of a
 * mapped page never touches the next page, and an index into bytes[] is
 * always checked against what was fetched (need()) before it is read.
 */
#include <stddef.h>
#include "virt/emulate_internal.h"

uint64_t *emu_gpr(struct vcpu_regs *regs, unsigned n)
{
	switch (n & 15) {
	case GPR_AX:	return &regs->rax;
	case GPR_CX:	return &regs->rcx;
	case GPR_DX:	return &regs->rdx;
	case GPR_BX:	return &regs->rbx;
	case GPR_SP:	return &regs->rsp;
	case GPR_BP:	return &regs->rbp;
	case GPR_SI:	return &regs->rsi;
	case GPR_DI:	return &regs->rdi;
	case GPR_R8:	return &regs->r8;
	case GPR_R9:	return &regs->r9;
	case GPR_R10:	return &regs->r10;
	case GPR_R11:	return &regs->r11;
	case GPR_R12:	return &regs->r12;
	case GPR_R13:	return &regs->r13;
	case GPR_R14:	return &regs->r14;
	default:	return &regs->r15;
	}
}

enum emu_result emu_fault(struct emu_ctxt *ctxt, uint8_t vector,
			  uint32_t error_code)
{
	ctxt->fault_vector = vector;
	ctxt->fault_error_code = error_code;
	return EMU_FAULT;
}

/* RIP's width: IP, EIP or RIP. */
static uint64_t ip_mask(const struct emu_insn *in)
{
	return emu_size_mask(in->mode);
}

bool emu_canonical(const struct emu_ctxt *ctxt, uint64_t linear)
{
	unsigned bits = (ctxt->sregs->cr4 & (1ull << 12)) ? 57 : 48;
	uint64_t top = (uint64_t)((int64_t)(linear << (64 - bits)) >>
				  (64 - bits));

	return top == linear;
}

/*
 * Make bytes[0, count) valid. The first try fetches up to the end of the
 * page (and of the 15 bytes), so most instructions take one callback; if
 * that fails, only the bytes needed now are asked for, which succeeds
 * when the instruction ends before whatever made the longer fetch fail.
 */
static enum emu_result need(struct emu_ctxt *ctxt, struct emu_insn *in,
			    unsigned count)
{
	if (count > EMU_MAX_INSN_LEN)
		return emu_fault(ctxt, EMU_VEC_GP, 0);
	while (in->fetched < count) {
		uint64_t ip = (ctxt->regs->rip + in->fetched) & ip_mask(in);
		uint64_t linear;
		unsigned chunk = EMU_MAX_INSN_LEN - in->fetched;
		unsigned page_left;

		if (in->mode == 8) {
			linear = ip;
			if (!emu_canonical(ctxt, linear))
				return emu_fault(ctxt, EMU_VEC_GP, 0);
		} else {
			linear = (ctxt->sregs->cs_base + ip) & 0xffffffffull;
			/* IP/EIP wraps: fetch up to the wrap only. */
			if (chunk > ip_mask(in) - ip + 1)
				chunk = (unsigned)(ip_mask(in) - ip + 1);
		}
		page_left = 4096 - (unsigned)(linear & 4095);
		if (chunk > page_left)
			chunk = page_left;
		if (ctxt->ops->fetch(ctxt->opaque, linear,
				     in->bytes + in->fetched, chunk) != 0) {
			unsigned want = count - in->fetched;

			if (want < chunk &&
			    ctxt->ops->fetch(ctxt->opaque, linear,
					     in->bytes + in->fetched,
					     want) == 0) {
				chunk = want;
			} else {
				ctxt->fault_linear = linear;
				return emu_fault(ctxt, EMU_VEC_PF,
						 EMU_PF_FETCH);
			}
		}
		in->fetched += chunk;
	}
	return EMU_DONE;
}

/* Take 'size' bytes (1, 2, 4 or 8) as a little-endian number. */
static enum emu_result take(struct emu_ctxt *ctxt, struct emu_insn *in,
			    unsigned size, uint64_t *val)
{
	enum emu_result r = need(ctxt, in, in->len + size);

	if (r != EMU_DONE)
		return r;
	*val = 0;
	for (unsigned i = 0; i < size; i++)
		*val |= (uint64_t)in->bytes[in->len + i] << (8 * i);
	in->len += size;
	return EMU_DONE;
}

/*
 * Legacy prefixes and REX. A REX byte counts only right before the
 * opcode: a legacy prefix after it cancels it. In 64-bit mode the CS, DS,
 * ES and SS overrides are accepted and ignored.
 */
static enum emu_result decode_prefixes(struct emu_ctxt *ctxt,
				       struct emu_insn *in)
{
	for (;;) {
		enum emu_result r = need(ctxt, in, in->len + 1);
		uint8_t b;

		if (r != EMU_DONE)
			return r;
		b = in->bytes[in->len];
		switch (b) {
		case 0x66: in->prefix_opsize = true; break;
		case 0x67: in->prefix_addrsize = true; break;
		case 0xf0: in->lock = true; break;
		case 0xf2:
		case 0xf3: in->rep = b; break;
		case 0x26: in->seg_override = SEG_ES; break;
		case 0x2e: in->seg_override = SEG_CS; break;
		case 0x36: in->seg_override = SEG_SS; break;
		case 0x3e: in->seg_override = SEG_DS; break;
		case 0x64: in->seg_override = SEG_FS; break;
		case 0x65: in->seg_override = SEG_GS; break;
		default:
			if (in->mode == 8 && (b & 0xf0) == 0x40) {
				in->rex = b;
				in->len++;
				continue;
			}
			if (in->mode == 8 && in->seg_override < SEG_FS)
				in->seg_override = SEG_NONE;
			return EMU_DONE;
		}
		in->rex = 0;
		in->len++;
	}
}

static void set_sizes(struct emu_insn *in)
{
	if (in->mode == 8) {
		in->op_size = (in->rex & 0x08) ? 8 : in->prefix_opsize ? 2 : 4;
		in->addr_size = in->prefix_addrsize ? 4 : 8;
	} else {
		bool big = (in->mode == 4) != in->prefix_opsize;

		in->op_size = big ? 4 : 2;
		big = (in->mode == 4) != in->prefix_addrsize;
		in->addr_size = big ? 4 : 2;
	}
}

/* How an opcode continues: ModRM or not, and its immediate. */
enum imm_kind {
	IMM_NONE,
	IMM_B,		/* imm8, sign-extended */
	IMM_Z,		/* imm16/imm32 by operand size, sign-extended */
	IMM_MOFFS,	/* an address-size offset (A0-A3) */
};

struct opcode_info {
	bool modrm;
	bool mod_ignored;	/* ModRM is always a register form (MOV CR) */
	bool byte;		/* 8-bit operands */
	enum imm_kind imm;
};

/* Look up a one-byte opcode; false if the emulator does not do it. */
static bool lookup_onebyte(struct emu_insn *in, struct opcode_info *info)
{
	uint8_t op = in->opcode;

	if (op < 0x40 && (op & 7) < 6) {
		/* ADD OR ADC SBB AND SUB XOR CMP: Eb,Gb Ev,Gv Gb,Eb Gv,Ev
		 * AL,Ib rAX,Iz. The destination may be locked when it is
		 * memory (forms 0 and 1) and the op writes it (not CMP). */
		unsigned form = op & 7;

		in->kind = K_ALU;
		info->modrm = form < 4;
		info->byte = !(form & 1);
		info->imm = form == 4 ? IMM_B : form == 5 ? IMM_Z : IMM_NONE;
		in->lockable = form < 2 && (op >> 3) != OP_CMP;
		return true;
	}
	info->byte = !(op & 1);
	switch (op) {
	case 0x63:
		if (in->mode != 8)
			return false;	/* ARPL */
		in->kind = K_MOVSXD;
		info->modrm = true;
		info->byte = false;
		return true;
	case 0x82:			/* 80 again, outside 64-bit mode */
		if (in->mode == 8)
			return false;
		/* fall through */
	case 0x80: case 0x81: case 0x83:
		in->kind = K_GRP1;
		info->modrm = true;
		info->byte = op != 0x81 && op != 0x83;
		info->imm = op == 0x81 ? IMM_Z : IMM_B;
		return true;
	case 0x84: case 0x85:
		in->kind = K_TEST;
		info->modrm = true;
		return true;
	case 0x86: case 0x87:
		in->kind = K_XCHG;
		info->modrm = true;
		in->lockable = true;
		return true;
	case 0x88: case 0x89: case 0x8a: case 0x8b:
		in->kind = K_MOV;
		info->modrm = true;
		return true;
	case 0xa0: case 0xa1: case 0xa2: case 0xa3:
		in->kind = K_MOV_MOFFS;
		info->imm = IMM_MOFFS;
		return true;
	case 0xa4: case 0xa5:
		in->kind = K_MOVS;
		return true;
	case 0xa8: case 0xa9:
		in->kind = K_TEST_ACC;
		info->imm = op == 0xa8 ? IMM_B : IMM_Z;
		return true;
	case 0xaa: case 0xab:
		in->kind = K_STOS;
		return true;
	case 0xac: case 0xad:
		in->kind = K_LODS;
		return true;
	case 0xc6: case 0xc7:
		in->kind = K_MOV_IMM;
		info->modrm = true;
		info->imm = op == 0xc6 ? IMM_B : IMM_Z;
		return true;
	case 0xf6: case 0xf7:
		in->kind = K_GRP3;	/* immediate only for /0: see below */
		info->modrm = true;
		return true;
	case 0xfe: case 0xff:
		in->kind = K_INCDEC;
		info->modrm = true;
		return true;
	}
	return false;
}

static bool lookup_twobyte(struct emu_insn *in, struct opcode_info *info)
{
	uint8_t op = in->opcode;

	info->modrm = true;
	info->byte = false;
	switch (op) {
	case 0xa3:
		in->kind = K_BT;
		return true;
	case 0xab: case 0xb3: case 0xbb:
		in->kind = K_BT;
		in->lockable = true;
		return true;
	case 0xba:
		in->kind = K_BT_IMM;
		info->imm = IMM_B;
		return true;
	case 0xb0: case 0xb1:
		in->kind = K_CMPXCHG;
		info->byte = op == 0xb0;
		in->lockable = true;
		return true;
	case 0xc0: case 0xc1:
		in->kind = K_XADD;
		info->byte = op == 0xc0;
		in->lockable = true;
		return true;
	case 0xb6: case 0xb7:
		in->kind = K_MOVZX;
		in->src_size = op == 0xb6 ? 1 : 2;
		return true;
	case 0xbe: case 0xbf:
		in->kind = K_MOVSX;
		in->src_size = op == 0xbe ? 1 : 2;
		return true;
	case 0xc7:
		in->kind = K_CMPXCHG8B;
		in->lockable = true;
		return true;
	case 0x01:
		in->kind = K_GRP7;
		return true;
	case 0x06:
		in->kind = K_CLTS;
		info->modrm = false;
		return true;
	case 0x20: case 0x22:
		/* The SDM: "The 2 bits in the mod field are ignored", so no
		 * SIB or displacement follows, whatever mod says. */
		in->kind = K_MOV_CR;
		info->mod_ignored = true;
		return true;
	}
	return false;
}

/* Memory operand parts, before the registers are read. */
struct ea_parts {
	int base;		/* enum emu_gpr or GPR_NONE */
	int index;
	unsigned scale;		/* shift: 0-3 */
	int64_t disp;
	bool rip_relative;
	enum emu_seg seg;	/* default segment */
};

/* 16-bit forms: BX+SI, BX+DI, BP+SI, BP+DI, SI, DI, BP (or disp16), BX. */
static enum emu_result decode_ea16(struct emu_ctxt *ctxt, struct emu_insn *in,
				   unsigned mod, unsigned rm,
				   struct ea_parts *ea)
{
	static const int8_t base[8] = { GPR_BX, GPR_BX, GPR_BP, GPR_BP,
					GPR_NONE, GPR_NONE, GPR_BP, GPR_BX };
	static const int8_t index[8] = { GPR_SI, GPR_DI, GPR_SI, GPR_DI,
					 GPR_SI, GPR_DI, GPR_NONE, GPR_NONE };
	enum emu_result r = EMU_DONE;
	uint64_t disp = 0;

	if (mod == 0 && rm == 6) {
		ea->base = ea->index = GPR_NONE;
		ea->seg = SEG_DS;
		r = take(ctxt, in, 2, &disp);
		ea->disp = (int16_t)disp;
		return r;
	}
	ea->base = base[rm];
	ea->index = index[rm];
	ea->seg = ea->base == GPR_BP ? SEG_SS : SEG_DS;
	if (mod == 1) {
		r = take(ctxt, in, 1, &disp);
		ea->disp = (int8_t)disp;
	} else if (mod == 2) {
		r = take(ctxt, in, 2, &disp);
		ea->disp = (int16_t)disp;
	}
	return r;
}

/* 32/64-bit forms: SIB, disp32 without base, RIP-relative in 64-bit
 * mode. rBP and rSP as base default to SS. */
static enum emu_result decode_ea32(struct emu_ctxt *ctxt, struct emu_insn *in,
				   unsigned mod, unsigned rm,
				   struct ea_parts *ea)
{
	unsigned rex_b = (in->rex & 0x01) ? 8 : 0;
	unsigned rex_x = (in->rex & 0x02) ? 8 : 0;
	bool disp32 = mod == 2;
	enum emu_result r;
	uint64_t val;

	ea->index = GPR_NONE;
	if (rm == 4) {
		unsigned idx, base;

		r = take(ctxt, in, 1, &val);
		if (r != EMU_DONE)
			return r;
		ea->scale = (unsigned)val >> 6;
		idx = (((unsigned)val >> 3) & 7) | rex_x;
		base = (unsigned)val & 7;
		ea->index = idx == GPR_SP ? GPR_NONE : (int)idx;
		if (base == 5 && mod == 0) {
			ea->base = GPR_NONE;
			disp32 = true;
		} else {
			ea->base = (int)(base | rex_b);
		}
	} else if (rm == 5 && mod == 0) {
		ea->base = GPR_NONE;
		ea->rip_relative = in->mode == 8;
		disp32 = true;
	} else {
		ea->base = (int)(rm | rex_b);
	}
	ea->seg = (ea->base == GPR_SP || ea->base == GPR_BP) ? SEG_SS : SEG_DS;
	if (mod == 1) {
		r = take(ctxt, in, 1, &val);
		ea->disp = (int8_t)val;
		return r;
	}
	if (disp32) {
		r = take(ctxt, in, 4, &val);
		ea->disp = (int32_t)val;
		return r;
	}
	return EMU_DONE;
}

static enum emu_result decode_modrm(struct emu_ctxt *ctxt, struct emu_insn *in,
				    struct ea_parts *ea, bool mod_ignored)
{
	enum emu_result r;
	uint64_t modrm;
	unsigned mod, rm;

	r = take(ctxt, in, 1, &modrm);
	if (r != EMU_DONE)
		return r;
	in->has_modrm = true;
	mod = (unsigned)modrm >> 6;
	rm = (unsigned)modrm & 7;
	in->modrm_reg = (uint8_t)((modrm >> 3) & 7);
	in->reg = (uint8_t)(in->modrm_reg | ((in->rex & 0x04) ? 8 : 0));
	if (mod == 3 || mod_ignored) {
		in->rm = (uint8_t)(rm | ((in->rex & 0x01) ? 8 : 0));
		return EMU_DONE;
	}
	in->mem = true;
	if (in->addr_size == 2)
		return decode_ea16(ctxt, in, mod, rm, ea);
	return decode_ea32(ctxt, in, mod, rm, ea);
}

/*
 * 0F 01 is SGDT, SIDT, LGDT, LIDT, SMSW, LMSW and INVLPG by /digit with a
 * memory operand; its register forms are mostly other instructions
 * (VMCALL, MONITOR, XGETBV, VMRUN, SWAPGS, RDTSCP, CLZERO, ...), except
 * /4 (SMSW r) and /6 (LMSW r). /7 with mod 11 is never INVLPG: which
 * instruction it is depends on the CPU (on AMD all eight encodings are
 * taken), so it is left to the caller rather than called #UD.
 */
static bool check_group7(struct emu_insn *in)
{
	switch (in->modrm_reg) {
	case 4:
		in->kind = K_SMSW;
		return true;
	case 6:
		in->kind = K_LMSW;
		return true;
	case 7:
		in->kind = K_INVLPG;
		return in->mem;
	default:
		return false;
	}
}

/* The /digit a group opcode needs; false for the ones not emulated. */
static bool check_group(struct emu_insn *in, struct opcode_info *info)
{
	switch (in->kind) {
	case K_GRP1:
		in->lockable = in->modrm_reg != OP_CMP;
		return true;
	case K_GRP3:
		if (in->modrm_reg == 0) {
			info->imm = info->byte ? IMM_B : IMM_Z;
			return true;
		}
		in->lockable = true;
		return in->modrm_reg == 2 || in->modrm_reg == 3;
	case K_INCDEC:
		in->lockable = true;
		return in->modrm_reg <= 1;
	case K_MOV_IMM:
		return in->modrm_reg == 0;
	case K_BT_IMM:
		in->lockable = in->modrm_reg != 4;
		return in->modrm_reg >= 4;
	case K_CMPXCHG8B:
		return in->modrm_reg == 1;
	case K_GRP7:
		return check_group7(in);
	default:
		return true;
	}
}

/*
 * The system instructions need the callbacks that reach the guest's
 * control registers and TLB; a caller that has none does not get them
 * emulated at all, as before they existed.
 */
static bool have_sys_ops(const struct emu_ctxt *ctxt,
			 const struct emu_insn *in)
{
	const struct emu_ops *ops = ctxt->ops;

	switch (in->kind) {
	case K_MOV_CR:
		if (in->opcode == 0x20)
			return ops->read_cr != NULL;
		return ops->write_cr != NULL;
	case K_CLTS:
	case K_LMSW:
		return ops->read_cr && ops->write_cr;
	case K_SMSW:
		return ops->read_cr != NULL;
	case K_INVLPG:
		return ops->invlpg != NULL;
	default:
		return true;
	}
}

static enum emu_result decode_imm(struct emu_ctxt *ctxt, struct emu_insn *in,
				  enum imm_kind kind)
{
	enum emu_result r = EMU_DONE;
	unsigned size;

	switch (kind) {
	case IMM_NONE:
		break;
	case IMM_B:
		r = take(ctxt, in, 1, &in->imm);
		in->imm = emu_sign_extend(in->imm, 1);
		break;
	case IMM_Z:
		size = in->op_size == 2 ? 2 : 4;
		r = take(ctxt, in, size, &in->imm);
		in->imm = emu_sign_extend(in->imm, size);
		break;
	case IMM_MOFFS:
		r = take(ctxt, in, in->addr_size, &in->imm);
		break;
	}
	return r;
}

/* The operand's offset: base + index * scale + displacement, or the
 * next instruction's RIP + displacement, wrapped to the address size. */
static void compute_ea(struct emu_ctxt *ctxt, struct emu_insn *in,
		       const struct ea_parts *ea)
{
	uint64_t offset = (uint64_t)ea->disp;

	if (ea->rip_relative) {
		offset += ctxt->regs->rip + in->len;
	} else {
		if (ea->base != GPR_NONE)
			offset += *emu_gpr(ctxt->regs, (unsigned)ea->base);
		if (ea->index != GPR_NONE)
			offset += *emu_gpr(ctxt->regs, (unsigned)ea->index)
				  << ea->scale;
	}
	in->ea = offset & emu_size_mask(in->addr_size);
	in->ea_seg = in->seg_override != SEG_NONE ? in->seg_override : ea->seg;
}

enum emu_result emu_decode(struct emu_ctxt *ctxt, struct emu_insn *in)
{
	const struct vcpu_sregs *sregs = ctxt->sregs;
	struct opcode_info info = { 0 };
	struct ea_parts ea = { .base = GPR_NONE, .index = GPR_NONE,
			       .seg = SEG_DS };
	enum emu_result r;
	uint64_t val;
	bool known;

	*in = (struct emu_insn){ .seg_override = SEG_NONE,
				 .ea_seg = SEG_DS };
	in->mode = sregs->cs_long ? 8 : sregs->cs_db ? 4 : 2;

	r = decode_prefixes(ctxt, in);
	if (r != EMU_DONE)
		return r;
	set_sizes(in);
	r = take(ctxt, in, 1, &val);
	if (r != EMU_DONE)
		return r;
	in->opcode = (uint8_t)val;
	if (in->opcode == 0x0f) {
		r = take(ctxt, in, 1, &val);
		if (r != EMU_DONE)
			return r;
		in->twobyte = true;
		in->opcode = (uint8_t)val;
		known = lookup_twobyte(in, &info);
	} else {
		known = lookup_onebyte(in, &info);
	}
	if (!known)
		return EMU_UNHANDLED;
	if (info.byte)
		in->op_size = 1;

	if (info.modrm) {
		r = decode_modrm(ctxt, in, &ea, info.mod_ignored);
		if (r != EMU_DONE)
			return r;
		if (!check_group(in, &info))
			return EMU_UNHANDLED;
	}
	if (!have_sys_ops(ctxt, in))
		return EMU_UNHANDLED;
	r = decode_imm(ctxt, in, info.imm);
	if (r != EMU_DONE)
		return r;

	if (in->lock && (!in->lockable || !in->mem))
		return emu_fault(ctxt, EMU_VEC_UD, 0);
	if (in->kind == K_CMPXCHG8B && !in->mem)
		return emu_fault(ctxt, EMU_VEC_UD, 0);

	if (in->mem) {
		compute_ea(ctxt, in, &ea);
	} else if (in->kind == K_MOV_MOFFS) {
		in->mem = true;
		in->ea = in->imm;
		in->ea_seg = in->seg_override != SEG_NONE ? in->seg_override
							  : SEG_DS;
	}
	return EMU_DONE;
}
