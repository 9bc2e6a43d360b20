/*
 * The emulator's arithmetic: results and RFLAGS for the ALU, INC/DEC,
 * NOT/NEG and bit-test operations, written from the SDM vol. 2
 * descriptions of each instruction.
 *
 * Flags the SDM leaves undefined get what an Intel host CPU was seen to
 * produce: AND/OR/XOR/TEST clear AF; BT/BTS/BTR/BTC leave OF, SF, AF and
 * PF as they were (and ZF, which the SDM now calls unaffected).
 * tests/host/test_emulate_alu.c compares the defined flags with the host
 * CPU, and checks these choices by hand.
 */
#include "virt/emulate_internal.h"

/* PF: set when the low byte of the result has an even number of ones. */
static uint64_t parity_flag(uint64_t result)
{
	uint8_t b = (uint8_t)result;

	b ^= b >> 4;
	b ^= b >> 2;
	b ^= b >> 1;
	return (b & 1) ? 0 : RFLAGS_PF;
}

/* SF, ZF and PF of a result. */
static uint64_t szp_flags(unsigned size, uint64_t result)
{
	uint64_t flags = parity_flag(result);

	if ((result & emu_size_mask(size)) == 0)
		flags |= RFLAGS_ZF;
	if (result & emu_sign_bit(size))
		flags |= RFLAGS_SF;
	return flags;
}

/*
 * dst + src + carry_in. The carry out of the top bit is the top bit of
 * (dst & src) | ((dst | src) & ~result): a bit position carries when both
 * inputs are 1, or one is 1 and the sum bit came out 0 (a carry came in).
 * Overflow: both inputs have the same sign and the result the other one.
 */
static uint64_t add_flags(unsigned size, uint64_t dst, uint64_t src,
			  uint64_t result)
{
	uint64_t sign = emu_sign_bit(size);
	uint64_t flags = szp_flags(size, result);

	if (((dst & src) | ((dst | src) & ~result)) & sign)
		flags |= RFLAGS_CF;
	if ((dst ^ result) & (src ^ result) & sign)
		flags |= RFLAGS_OF;
	if ((dst ^ src ^ result) & 0x10)
		flags |= RFLAGS_AF;
	return flags;
}

/*
 * dst - src - borrow_in. A bit position borrows when it takes 1 from 0,
 * or when equal bits meet a borrow (the difference bit is then 1):
 * (~dst & src) | (~(dst ^ src) & result). Overflow: the inputs have
 * different signs and the result has the sign of src.
 */
static uint64_t sub_flags(unsigned size, uint64_t dst, uint64_t src,
			  uint64_t result)
{
	uint64_t sign = emu_sign_bit(size);
	uint64_t flags = szp_flags(size, result);

	if (((~dst & src) | (~(dst ^ src) & result)) & sign)
		flags |= RFLAGS_CF;
	if ((dst ^ src) & (dst ^ result) & sign)
		flags |= RFLAGS_OF;
	if ((dst ^ src ^ result) & 0x10)
		flags |= RFLAGS_AF;
	return flags;
}

static uint64_t set_flags(uint64_t rflags, uint64_t mask, uint64_t flags)
{
	return (rflags & ~mask) | (flags & mask);
}

uint64_t emu_alu(enum emu_op op, unsigned size, uint64_t dst, uint64_t src,
		 uint64_t *rflags)
{
	uint64_t mask = emu_size_mask(size);
	uint64_t carry = (*rflags & RFLAGS_CF) ? 1 : 0;
	uint64_t result;

	dst &= mask;
	src &= mask;
	switch (op) {
	case OP_ADD:
	case OP_XADD:
	case OP_ADC:
		result = (dst + src + (op == OP_ADC ? carry : 0)) & mask;
		*rflags = set_flags(*rflags, RFLAGS_ARITH,
				    add_flags(size, dst, src, result));
		return result;
	case OP_SUB:
	case OP_CMP:
	case OP_SBB:
		result = (dst - src - (op == OP_SBB ? carry : 0)) & mask;
		*rflags = set_flags(*rflags, RFLAGS_ARITH,
				    sub_flags(size, dst, src, result));
		return op == OP_CMP ? dst : result;
	case OP_AND:
	case OP_TEST:
	case OP_OR:
	case OP_XOR:
		result = op == OP_OR ? dst | src :
			 op == OP_XOR ? dst ^ src : dst & src;
		*rflags = set_flags(*rflags, RFLAGS_ARITH,
				    szp_flags(size, result));
		return op == OP_TEST ? dst : result;
	case OP_INC:		/* CF is not affected */
		result = (dst + 1) & mask;
		*rflags = set_flags(*rflags, RFLAGS_ARITH & ~RFLAGS_CF,
				    add_flags(size, dst, 1, result));
		return result;
	case OP_DEC:
		result = (dst - 1) & mask;
		*rflags = set_flags(*rflags, RFLAGS_ARITH & ~RFLAGS_CF,
				    sub_flags(size, dst, 1, result));
		return result;
	case OP_NOT:		/* no flags */
		return ~dst & mask;
	case OP_NEG:		/* 0 - dst: CF is set unless dst is 0 */
		result = (0 - dst) & mask;
		*rflags = set_flags(*rflags, RFLAGS_ARITH,
				    sub_flags(size, 0, dst, result));
		return result;
	case OP_BT:
	case OP_BTS:
	case OP_BTR:
	case OP_BTC: {
		uint64_t bit = 1ull << (src & (size * 8 - 1));

		*rflags = set_flags(*rflags, RFLAGS_CF,
				    (dst & bit) ? RFLAGS_CF : 0);
		if (op == OP_BTS)
			return dst | bit;
		if (op == OP_BTR)
			return dst & ~bit;
		if (op == OP_BTC)
			return dst ^ bit;
		return dst;
	}
	case OP_MOV:
		return src;
	}
	return dst;
}
