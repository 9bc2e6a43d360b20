/*
 * Differential tests of the emulator's arithmetic: the same operation,
 * on random operands and random input flags, run by the host CPU (inline
 * asm, 64-bit mode; tests/host/emu_check.h) and by the emulator on the
 * fake guest; results, registers and the flags the SDM defines must
 * match. Every ALU op (ADD..CMP), in every operand size and encoding form
 * (r/m,r  r,r/m  register-register  80/81/83 immediates  accumulator),
 * with and without LOCK, with and without the cmpxchg callback, and with
 * the cmpxchg losing races to a simulated second CPU; INC, DEC, NOT, NEG
 * and TEST likewise. CMPXCHG, XADD, XCHG and the bit tests are in
 * test_emulate_atomic.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "tests/host/emu_check.h"

#define ITERATIONS	300	/* per op, size and form */

static int setup64(void **state)
{
	(void)state;
	fake_reset64();
	fake_srand(0x5eed0001);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	fake_free();
	return 0;
}

HOST_BINARY(host_add, "add")
HOST_BINARY(host_or, "or")
HOST_BINARY(host_adc, "adc")
HOST_BINARY(host_sbb, "sbb")
HOST_BINARY(host_and, "and")
HOST_BINARY(host_sub, "sub")
HOST_BINARY(host_xor, "xor")
HOST_BINARY(host_cmp, "cmp")
HOST_BINARY(host_test, "test")
HOST_UNARY(host_inc, "inc")
HOST_UNARY(host_dec, "dec")
HOST_UNARY(host_not, "not")
HOST_UNARY(host_neg, "neg")

/* In the order of the opcode rows and of the 80-83 /digit. */
static const host_fn host_alu[8] = {
	host_add, host_or, host_adc, host_sbb,
	host_and, host_sub, host_xor, host_cmp,
};
static const char *const alu_name[8] = {
	"add", "or", "adc", "sbb", "and", "sub", "xor", "cmp",
};

/* ------------------------------------------------------ ALU rows */

enum form { F_MEM_DST, F_REG_DST, F_REG_REG, F_IMM8, F_IMMZ, F_ACC,
	    F_COUNT };
static const char *const form_name[F_COUNT] = {
	"r/m,r", "r,r/m", "reg,reg", "r/m,imm8", "r/m,imm", "acc,imm",
};

/*
 * One ADD..CMP case. Memory operand [rbx] = FAKE_DATA; source register
 * RCX; register destination RCX (r,r/m), RDX (reg,reg) or RAX.
 */
static void alu_case(unsigned op, unsigned size, enum form form)
{
	bool mem_dst = form == F_MEM_DST || form == F_IMM8 || form == F_IMMZ;
	bool writes = op != 7;
	bool lock = mem_dst && writes && fake_rand() % 3 == 0;
	bool use_cx = !lock || fake_rand() % 4 != 0;
	unsigned times = lock && use_cx && fake_rand() % 3 == 0 ?
			 1 + fake_rand() % 2 : 0;
	uint8_t delta = (uint8_t)(1 + fake_rand() % 255);
	uint64_t dst = fake_rand_operand(size), src = fake_rand_operand(size);
	uint64_t flags_in = random_flags(), hflags = flags_in;
	uint64_t noise = fake_rand(), hi, before, result, eff_dst;
	uint64_t mem_val, imm;
	unsigned isize;
	struct enc e = { .n = 0 };

	fake_rearm();
	if (!use_cx)
		fake_no_cmpxchg();
	fake.interfere = times;
	fake.interfere_delta = delta;
	fake.regs.rflags = flags_in;
	fake.regs.rbx = FAKE_DATA;
	emit_prefixes(&e, lock, size);
	switch (form) {
	case F_MEM_DST:
		emit(&e, (uint8_t)(op * 8 + (size == 1 ? 0 : 1)));
		emit(&e, 0x0b);				/* [rbx], rcx */
		break;
	case F_REG_DST:
		emit(&e, (uint8_t)(op * 8 + (size == 1 ? 2 : 3)));
		emit(&e, 0x0b);				/* rcx, [rbx] */
		break;
	case F_REG_REG:
		emit(&e, (uint8_t)(op * 8 + (size == 1 ? 0 : 1)));
		emit(&e, 0xca);				/* rdx, rcx */
		break;
	case F_IMM8:
	case F_IMMZ:
		isize = form == F_IMM8 || size == 1 ? 1 : size == 2 ? 2 : 4;
		emit(&e, size == 1 ? 0x80 : form == F_IMM8 ? 0x83 : 0x81);
		emit(&e, (uint8_t)(op << 3 | 3));	/* [rbx], imm */
		imm = fake_rand_operand(isize);
		emit_imm(&e, imm, isize);
		src = sext(imm, isize) & mask_of(size);
		break;
	default:
		isize = size == 1 ? 1 : size == 2 ? 2 : 4;
		emit(&e, (uint8_t)(op * 8 + (size == 1 ? 4 : 5)));
		imm = fake_rand_operand(isize);
		emit_imm(&e, imm, isize);
		src = sext(imm, isize) & mask_of(size);
		break;
	}
	snprintf(emu_what, sizeof(emu_what),
		 "%s%s size %u %s dst %#llx src %#llx flags %#llx cx %d race %u",
		 lock ? "lock " : "", alu_name[op], size, form_name[form],
		 (unsigned long long)dst, (unsigned long long)src,
		 (unsigned long long)flags_in, use_cx, times);

	/* Place the operands. */
	mem_val = mem_dst ? dst : src;
	fill_data(mem_val, size, &hi);
	before = fake_get(FAKE_DATA, 8);
	fake.regs.rcx = merge(noise, form == F_REG_DST ? dst : src, size);
	if (form == F_REG_REG)
		fake.regs.rdx = merge(~noise, dst, size);
	if (form == F_ACC)
		fake.regs.rax = merge(noise ^ 0x5555, dst, size);

	eff_dst = mem_dst ? interfered(dst, times, delta) : dst;
	if (times)
		before = interfered(before, times, delta);
	result = host_alu[op](size, eff_dst, src, &hflags);
	run_check(&e, flags_in, hflags, defined_flags(alu_name[op]));

	switch (form) {
	case F_MEM_DST:
	case F_IMM8:
	case F_IMMZ:
		check_data(before, result, size, hi);
		check(fake.ctxt.mem_linear, FAKE_DATA, "mem_linear");
		check(fake.ctxt.mem_size, size, "mem_size");
		check(fake.ctxt.mem_write, writes, "mem_write");
		check(fake.reads, 1, "reads");
		if (lock && use_cx) {
			check(fake.cmpxchgs, 1 + times, "cmpxchgs");
			check(fake.writes, 0, "writes");
		} else {
			check(fake.cmpxchgs, 0, "cmpxchgs");
			check(fake.writes, writes, "writes");
		}
		break;
	case F_REG_DST:
		check(fake.regs.rcx, merge(noise, result, size), "rcx");
		check_data(before, mem_val, size, hi);
		check(fake.writes + fake.cmpxchgs, 0, "writes");
		break;
	case F_REG_REG:
		check(fake.regs.rdx, merge(~noise, result, size), "rdx");
		check(fake.reads + fake.writes + fake.cmpxchgs, 0, "accesses");
		break;
	default:
		check(fake.regs.rax, merge(noise ^ 0x5555, result, size),
		      "rax");
		break;
	}
}

static void test_alu_differential(void **state)
{
	static const unsigned sizes[] = { 1, 2, 4, 8 };

	(void)state;
	for (unsigned op = 0; op < 8; op++)
		for (unsigned s = 0; s < 4; s++)
			for (unsigned form = 0; form < F_COUNT; form++)
				for (unsigned i = 0; i < ITERATIONS; i++)
					alu_case(op, sizes[s], form);
}

/* ------------------------------------ INC DEC NOT NEG and TEST */

static void unary_case(unsigned which, unsigned size, bool mem)
{
	static const host_fn host[4] = { host_inc, host_dec, host_not,
					 host_neg };
	static const char *const name[4] = { "inc", "dec", "not", "neg" };
	/* FE/FF /0 /1, F6/F7 /2 /3 */
	uint8_t opcode = which < 2 ? 0xfe : 0xf6;
	uint8_t digit = (uint8_t)which;
	bool lock = mem && fake_rand() % 3 == 0;
	bool use_cx = fake_rand() % 4 != 0;
	unsigned times = lock && use_cx && fake_rand() % 3 == 0 ? 1 : 0;
	uint8_t delta = (uint8_t)(1 + fake_rand() % 255);
	uint64_t dst = fake_rand_operand(size), noise = fake_rand();
	uint64_t flags_in = random_flags(), hflags = flags_in;
	uint64_t hi, before, result, rdx;
	struct enc e = { .n = 0 };

	fake_rearm();
	if (!use_cx)
		fake_no_cmpxchg();
	fake.interfere = times;
	fake.interfere_delta = delta;
	fake.regs.rflags = flags_in;
	fake.regs.rbx = FAKE_DATA;
	emit_prefixes(&e, lock, size);
	emit(&e, (uint8_t)(opcode + (size == 1 ? 0 : 1)));
	emit(&e, (uint8_t)((mem ? 0x03 : 0xc2) | digit << 3));
	snprintf(emu_what, sizeof(emu_what), "%s%s size %u %s dst %#llx flags %#llx",
		 lock ? "lock " : "", name[which], size, mem ? "mem" : "reg",
		 (unsigned long long)dst, (unsigned long long)flags_in);

	fill_data(dst, size, &hi);
	before = fake_get(FAKE_DATA, 8);
	fake.regs.rdx = merge(noise, dst, size);
	rdx = fake.regs.rdx;
	if (mem && times) {
		dst = interfered(dst, times, delta);
		before = interfered(before, times, delta);
	}
	result = host[which](size, dst, 0, &hflags);
	run_check(&e, flags_in, hflags, ARITH);
	if (mem) {
		check_data(before, result, size, hi);
		check(fake.regs.rdx, rdx, "rdx");
		check(fake.cmpxchgs, lock && use_cx ? 1 + times : 0,
		      "cmpxchgs");
	} else {
		check(fake.regs.rdx, merge(noise, result, size), "rdx");
	}
}

static void test_unary_differential(void **state)
{
	static const unsigned sizes[] = { 1, 2, 4, 8 };

	(void)state;
	for (unsigned which = 0; which < 4; which++)
		for (unsigned s = 0; s < 4; s++)
			for (unsigned i = 0; i < ITERATIONS; i++) {
				unary_case(which, sizes[s], true);
				unary_case(which, sizes[s], false);
			}
}

static void test_case(unsigned size, unsigned form)
{
	uint64_t dst = fake_rand_operand(size), src = fake_rand_operand(size);
	uint64_t flags_in = random_flags(), hflags = flags_in;
	uint64_t hi, before, imm;
	unsigned isize = size == 1 ? 1 : size == 2 ? 2 : 4;
	struct enc e = { .n = 0 };

	fake_rearm();
	fake.regs.rflags = flags_in;
	fake.regs.rbx = FAKE_DATA;
	emit_prefixes(&e, false, size);
	switch (form) {
	case 0:					/* test [rbx], rcx */
		emit(&e, size == 1 ? 0x84 : 0x85);
		emit(&e, 0x0b);
		break;
	case 1:					/* test rdx, rcx */
		emit(&e, size == 1 ? 0x84 : 0x85);
		emit(&e, 0xca);
		break;
	case 2:					/* test [rbx], imm */
		emit(&e, size == 1 ? 0xf6 : 0xf7);
		emit(&e, 0x03);
		imm = fake_rand_operand(isize);
		emit_imm(&e, imm, isize);
		src = sext(imm, isize) & mask_of(size);
		break;
	default:				/* test acc, imm */
		emit(&e, size == 1 ? 0xa8 : 0xa9);
		imm = fake_rand_operand(isize);
		emit_imm(&e, imm, isize);
		src = sext(imm, isize) & mask_of(size);
		break;
	}
	snprintf(emu_what, sizeof(emu_what), "test size %u form %u dst %#llx src %#llx",
		 size, form, (unsigned long long)dst, (unsigned long long)src);
	fill_data(dst, size, &hi);
	before = fake_get(FAKE_DATA, 8);
	fake.regs.rcx = src;
	fake.regs.rdx = dst;
	fake.regs.rax = dst;
	host_test(size, dst, src, &hflags);
	run_check(&e, flags_in, hflags, defined_flags("test"));
	check_data(before, dst, size, hi);
	check(fake.regs.rdx, dst, "rdx");
	check(fake.regs.rax, dst, "rax");
	check(fake.writes + fake.cmpxchgs, 0, "writes");
	check(fake.ctxt.mem_write, false, "mem_write");
}

static void test_test_differential(void **state)
{
	static const unsigned sizes[] = { 1, 2, 4, 8 };

	(void)state;
	for (unsigned s = 0; s < 4; s++)
		for (unsigned form = 0; form < 4; form++)
			for (unsigned i = 0; i < ITERATIONS; i++)
				test_case(sizes[s], form);
}

/* Hand-checked flag cases, independent of the host. */
static void test_flags_by_hand(void **state)
{
	(void)state;
	fake.regs.rbx = FAKE_DATA;

	/* add byte [rbx], 1 with 0x7f: OF SF AF, no CF, no ZF, PF (0x80
	 * has one bit set: odd parity, PF clear). */
	fake_put(FAKE_DATA, 0x7f, 1);
	assert_int_equal(RUN(0x80, 0x03, 0x01), EMU_DONE);
	assert_int_equal(fake_get(FAKE_DATA, 1), 0x80);
	assert_int_equal(fake.regs.rflags & ARITH, OF | SF | AF);

	/* sub dword [rbx], 1 with 0: CF SF AF PF (0xffffffff: 8 ones in
	 * the low byte, even), no OF. */
	fake_rearm();
	fake.regs.rbx = FAKE_DATA;
	fake_put(FAKE_DATA, 0, 4);
	assert_int_equal(RUN(0x83, 0x2b, 0x01), EMU_DONE);
	assert_int_equal(fake_get(FAKE_DATA, 4), 0xffffffff);
	assert_int_equal(fake.regs.rflags & ARITH, CF | SF | AF | PF);

	/* inc qword [rbx] from all ones: ZF PF AF, CF kept (set). */
	fake_rearm();
	fake.regs.rbx = FAKE_DATA;
	fake.regs.rflags = 0x2 | CF;
	fake_put(FAKE_DATA, ~0ull, 8);
	assert_int_equal(RUN(0x48, 0xff, 0x03), EMU_DONE);
	assert_int_equal(fake_get(FAKE_DATA, 8), 0);
	assert_int_equal(fake.regs.rflags & ARITH, CF | ZF | PF | AF);

	/* neg word [rbx] of 0x8000: stays 0x8000, OF CF SF PF. */
	fake_rearm();
	fake.regs.rbx = FAKE_DATA;
	fake_put(FAKE_DATA, 0x8000, 2);
	assert_int_equal(RUN(0x66, 0xf7, 0x1b), EMU_DONE);
	assert_int_equal(fake_get(FAKE_DATA, 2), 0x8000);
	assert_int_equal(fake.regs.rflags & ARITH, OF | CF | SF | PF);

	/* and [rbx], ecx clears AF (the documented choice) and OF/CF. */
	fake_rearm();
	fake.regs.rbx = FAKE_DATA;
	fake.regs.rflags = 0x2 | ARITH;
	fake.regs.rcx = 0x0f;
	fake_put(FAKE_DATA, 0xf3, 4);
	assert_int_equal(RUN(0x21, 0x0b), EMU_DONE);
	assert_int_equal(fake_get(FAKE_DATA, 4), 0x03);
	assert_int_equal(fake.regs.rflags & ARITH, PF);

	/* adc with CF in, and the high-byte source: adc [rbx], ah */
	fake_rearm();
	fake.regs.rbx = FAKE_DATA;
	fake.regs.rflags = 0x2 | CF;
	fake.regs.rax = 0x0f00;
	fake_put(FAKE_DATA, 0xf0, 1);
	assert_int_equal(RUN(0x10, 0x23), EMU_DONE);
	assert_int_equal(fake_get(FAKE_DATA, 1), 0x00);
	assert_int_equal(fake.regs.rflags & ARITH, CF | ZF | PF | AF);

	/* not leaves every flag alone. */
	fake_rearm();
	fake.regs.rbx = FAKE_DATA;
	fake.regs.rflags = 0x2 | OF | ZF;
	assert_int_equal(RUN(0xf6, 0x13), EMU_DONE);
	assert_int_equal(fake_get(FAKE_DATA, 1), 0xff);
	assert_int_equal(fake.regs.rflags, 0x2 | OF | ZF);
}


int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup64, teardown)
	const struct CMUnitTest tests[] = {
		T(test_alu_differential),
		T(test_unary_differential),
		T(test_test_differential),
		T(test_flags_by_hand),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
