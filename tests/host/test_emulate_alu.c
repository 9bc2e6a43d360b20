/*
 * Differential tests of the emulator's arithmetic: the same operation,
 * on random operands and random input flags, run by the host CPU (inline
 * asm, 64-bit mode) and by the emulator on the fake guest; results,
 * registers and the flags the SDM defines must match. Every ALU op, in
 * every operand size and encoding form (r/m,r  r,r/m  register-register
 * 80/81/83 immediates, accumulator), with and without LOCK, with and
 * without the cmpxchg callback, and with the cmpxchg losing races to a
 * simulated second CPU.
 *
 * Then CMPXCHG, CMPXCHG8B/16B, XADD, XCHG and the bit tests, whose
 * memory forms with a register bit offset reach outside the operand:
 * those run on a host buffer and the fake memory side by side.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "tests/host/emu_fake.h"

#define CF	0x001ull
#define PF	0x004ull
#define AF	0x010ull
#define ZF	0x040ull
#define SF	0x080ull
#define OF	0x800ull
#define ARITH	(CF | PF | AF | ZF | SF | OF)

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

/* ------------------------------------------------ the host's answers */

/* Load RFLAGS, run one instruction, store RFLAGS. The stack pointer
 * steps over the red zone first: the compiler may keep data there. */
#define FLAGS_IN	"sub $128, %%rsp\n\tpush %[f]\n\tpopfq\n\t"
#define FLAGS_OUT	"\n\tpushfq\n\tpop %[f]\n\tadd $128, %%rsp"

#define HOST_BINARY(name, insn)						\
static uint64_t name(unsigned size, uint64_t dst, uint64_t src,		\
		     uint64_t *flags)					\
{									\
	uint64_t f = *flags;						\
									\
	switch (size) {							\
	case 1: {							\
		uint8_t d = (uint8_t)dst, s = (uint8_t)src;		\
		asm volatile(FLAGS_IN insn "b %[s], %[d]" FLAGS_OUT	\
			     : [d] "+q"(d), [f] "+r"(f) : [s] "q"(s)	\
			     : "cc", "memory");				\
		dst = d;						\
		break;							\
	}								\
	case 2: {							\
		uint16_t d = (uint16_t)dst, s = (uint16_t)src;		\
		asm volatile(FLAGS_IN insn "w %[s], %[d]" FLAGS_OUT	\
			     : [d] "+r"(d), [f] "+r"(f) : [s] "r"(s)	\
			     : "cc", "memory");				\
		dst = d;						\
		break;							\
	}								\
	case 4: {							\
		uint32_t d = (uint32_t)dst, s = (uint32_t)src;		\
		asm volatile(FLAGS_IN insn "l %[s], %[d]" FLAGS_OUT	\
			     : [d] "+r"(d), [f] "+r"(f) : [s] "r"(s)	\
			     : "cc", "memory");				\
		dst = d;						\
		break;							\
	}								\
	default:							\
		asm volatile(FLAGS_IN insn "q %[s], %[d]" FLAGS_OUT	\
			     : [d] "+r"(dst), [f] "+r"(f) : [s] "r"(src)\
			     : "cc", "memory");				\
		break;							\
	}								\
	*flags = f;							\
	return dst;							\
}

#define HOST_UNARY(name, insn)						\
static uint64_t name(unsigned size, uint64_t dst, uint64_t src,		\
		     uint64_t *flags)					\
{									\
	uint64_t f = *flags;						\
									\
	(void)src;							\
	switch (size) {							\
	case 1: {							\
		uint8_t d = (uint8_t)dst;				\
		asm volatile(FLAGS_IN insn "b %[d]" FLAGS_OUT		\
			     : [d] "+q"(d), [f] "+r"(f) : : "cc", "memory"); \
		dst = d;						\
		break;							\
	}								\
	case 2: {							\
		uint16_t d = (uint16_t)dst;				\
		asm volatile(FLAGS_IN insn "w %[d]" FLAGS_OUT		\
			     : [d] "+r"(d), [f] "+r"(f) : : "cc", "memory"); \
		dst = d;						\
		break;							\
	}								\
	case 4: {							\
		uint32_t d = (uint32_t)dst;				\
		asm volatile(FLAGS_IN insn "l %[d]" FLAGS_OUT		\
			     : [d] "+r"(d), [f] "+r"(f) : : "cc", "memory"); \
		dst = d;						\
		break;							\
	}								\
	default:							\
		asm volatile(FLAGS_IN insn "q %[d]" FLAGS_OUT		\
			     : [d] "+r"(dst), [f] "+r"(f) : : "cc", "memory"); \
		break;							\
	}								\
	*flags = f;							\
	return dst;							\
}

/* Bit tests on memory at 'p' with a register offset (16/32/64-bit). */
#define HOST_BITOP(name, insn)						\
static void name(unsigned size, void *p, uint64_t bit, uint64_t *flags) \
{									\
	uint64_t f = *flags;						\
									\
	switch (size) {							\
	case 2: {							\
		uint16_t s = (uint16_t)bit;				\
		asm volatile(FLAGS_IN insn "w %[s], (%[p])" FLAGS_OUT	\
			     : [f] "+r"(f) : [s] "r"(s), [p] "r"(p)	\
			     : "cc", "memory");				\
		break;							\
	}								\
	case 4: {							\
		uint32_t s = (uint32_t)bit;				\
		asm volatile(FLAGS_IN insn "l %[s], (%[p])" FLAGS_OUT	\
			     : [f] "+r"(f) : [s] "r"(s), [p] "r"(p)	\
			     : "cc", "memory");				\
		break;							\
	}								\
	default:							\
		asm volatile(FLAGS_IN insn "q %[s], (%[p])" FLAGS_OUT	\
			     : [f] "+r"(f) : [s] "r"(bit), [p] "r"(p)	\
			     : "cc", "memory");				\
		break;							\
	}								\
	*flags = f;							\
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
HOST_BITOP(host_bt, "bt")
HOST_BITOP(host_bts, "bts")
HOST_BITOP(host_btr, "btr")
HOST_BITOP(host_btc, "btc")

typedef uint64_t (*host_fn)(unsigned size, uint64_t dst, uint64_t src,
			    uint64_t *flags);
typedef void (*host_bit_fn)(unsigned size, void *p, uint64_t bit,
			    uint64_t *flags);

/* In the order of the opcode rows and of the 80-83 /digit. */
static const host_fn host_alu[8] = {
	host_add, host_or, host_adc, host_sbb,
	host_and, host_sub, host_xor, host_cmp,
};
static const char *const alu_name[8] = {
	"add", "or", "adc", "sbb", "and", "sub", "xor", "cmp",
};

/* Flags the SDM defines for each op (AF is undefined after logic ops;
 * only CF and ZF are defined after bit tests). Flags an op leaves alone
 * count as defined: they must come out unchanged. */
static uint64_t defined_flags(const char *op)
{
	if (!strcmp(op, "and") || !strcmp(op, "or") || !strcmp(op, "xor") ||
	    !strcmp(op, "test"))
		return ARITH & ~AF;
	if (!strncmp(op, "bt", 2))
		return CF | ZF;
	return ARITH;
}

/* -------------------------------------------------------- helpers */

static uint64_t mask_of(unsigned size)
{
	return size == 8 ? ~0ull : (1ull << (size * 8)) - 1;
}

static uint64_t sext(uint64_t val, unsigned size)
{
	uint64_t sign = 1ull << (size * 8 - 1);

	val &= mask_of(size);
	return (val ^ sign) - sign;
}

/* A register after a 'size'-byte write of 'val' (64-bit mode). */
static uint64_t merge(uint64_t old, uint64_t val, unsigned size)
{
	if (size >= 4)
		return val & mask_of(size);
	return (old & ~mask_of(size)) | (val & mask_of(size));
}

/* 'val' with its low byte bumped 'times' times by 'delta', as the fake
 * cmpxchg's interference does to memory. */
static uint64_t interfered(uint64_t val, unsigned times, uint8_t delta)
{
	return (val & ~0xffull) | ((val + times * delta) & 0xff);
}

struct enc {
	uint8_t b[16];
	unsigned n;
};

static void emit(struct enc *e, uint8_t byte)
{
	e->b[e->n++] = byte;
}

static void emit_imm(struct enc *e, uint64_t val, unsigned size)
{
	for (unsigned i = 0; i < size; i++)
		emit(e, (uint8_t)(val >> (8 * i)));
}

static void emit_prefixes(struct enc *e, bool lock, unsigned size)
{
	if (lock)
		emit(e, 0xf0);
	if (size == 2)
		emit(e, 0x66);
	if (size == 8)
		emit(e, 0x48);
}

/* What the current case is, for the failure message. */
static char what[160];

static void check(uint64_t got, uint64_t want, const char *field)
{
	if (got != want) {
		print_error("%s: %s: got %#llx, want %#llx\n", what, field,
			    (unsigned long long)got, (unsigned long long)want);
		fail();
	}
}

/* Run and check the common outcome: EMU_DONE, length, RIP, and the
 * flags outside 'defined' as they were (in 'checked' as the host's). */
static void run_check(const struct enc *e, uint64_t flags_in,
		      uint64_t host_flags, uint64_t defined)
{
	enum emu_result r = fake_run(e->b, e->n);

	check(r, EMU_DONE, "result");
	check(fake.ctxt.insn_len, e->n, "insn_len");
	check(fake.regs.rip, FAKE_CODE + e->n, "rip");
	check(fake.regs.rflags & defined, host_flags & defined, "flags");
	check(fake.regs.rflags & ~ARITH, flags_in & ~ARITH, "other flags");
}

static uint64_t random_flags(void)
{
	return 0x202 | (fake_rand() & ARITH);
}

/* Memory at FAKE_DATA: random, with 'val' in the first 'size' bytes.
 * Returns the 16 bytes' first qword, for checking the rest later. */
static void fill_data(uint64_t val, unsigned size, uint64_t *hi)
{
	uint64_t lo = (fake_rand() & ~mask_of(size)) | (val & mask_of(size));

	*hi = fake_rand();
	fake_put(FAKE_DATA, lo, 8);
	fake_put(FAKE_DATA + 8, *hi, 8);
}

static void check_data(uint64_t before, uint64_t val, unsigned size,
		       uint64_t hi)
{
	check(fake_get(FAKE_DATA, 8),
	      (before & ~mask_of(size)) | (val & mask_of(size)), "memory");
	check(fake_get(FAKE_DATA + 8, 8), hi, "memory after the operand");
}

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
	snprintf(what, sizeof(what),
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
	snprintf(what, sizeof(what), "%s%s size %u %s dst %#llx flags %#llx",
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
	snprintf(what, sizeof(what), "test size %u form %u dst %#llx src %#llx",
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

/* ----------------------------------------- CMPXCHG, XADD, XCHG */

static void host_cmpxchg(unsigned size, uint64_t *dst, uint64_t src,
			 uint64_t *acc, uint64_t *flags)
{
	uint64_t f = *flags;

	switch (size) {
	case 1: {
		uint8_t d = (uint8_t)*dst, s = (uint8_t)src, a = (uint8_t)*acc;
		asm volatile(FLAGS_IN "cmpxchgb %[s], %[d]" FLAGS_OUT
			     : [d] "+q"(d), [f] "+r"(f), "+a"(a) : [s] "q"(s)
			     : "cc", "memory");
		*dst = d;
		*acc = a;
		break;
	}
	case 2: {
		uint16_t d = (uint16_t)*dst, s = (uint16_t)src;
		uint16_t a = (uint16_t)*acc;
		asm volatile(FLAGS_IN "cmpxchgw %[s], %[d]" FLAGS_OUT
			     : [d] "+r"(d), [f] "+r"(f), "+a"(a) : [s] "r"(s)
			     : "cc", "memory");
		*dst = d;
		*acc = a;
		break;
	}
	case 4: {
		uint32_t d = (uint32_t)*dst, s = (uint32_t)src;
		uint32_t a = (uint32_t)*acc;
		asm volatile(FLAGS_IN "cmpxchgl %[s], %[d]" FLAGS_OUT
			     : [d] "+r"(d), [f] "+r"(f), "+a"(a) : [s] "r"(s)
			     : "cc", "memory");
		*dst = d;
		*acc = a;
		break;
	}
	default:
		asm volatile(FLAGS_IN "cmpxchgq %[s], %[d]" FLAGS_OUT
			     : [d] "+r"(*dst), [f] "+r"(f), "+a"(*acc)
			     : [s] "r"(src) : "cc", "memory");
		break;
	}
	*flags = f;
}

static void cmpxchg_case(unsigned size, bool mem)
{
	bool lock = mem && fake_rand() % 2;
	bool use_cx = fake_rand() % 4 != 0;
	unsigned times = mem && use_cx && fake_rand() % 4 == 0 ? 1 : 0;
	uint8_t delta = (uint8_t)(1 + fake_rand() % 255);
	uint64_t dst = fake_rand_operand(size), src = fake_rand_operand(size);
	uint64_t acc = fake_rand() % 2 ? dst : fake_rand_operand(size);
	uint64_t flags_in = random_flags(), hflags = flags_in;
	uint64_t noise = fake_rand(), hi, before, hdst, hacc;
	struct enc e = { .n = 0 };

	fake_rearm();
	if (!use_cx)
		fake_no_cmpxchg();
	fake.interfere = times;
	fake.interfere_delta = delta;
	fake.regs.rflags = flags_in;
	fake.regs.rbx = FAKE_DATA;
	emit_prefixes(&e, lock, size);
	emit(&e, 0x0f);
	emit(&e, size == 1 ? 0xb0 : 0xb1);
	emit(&e, mem ? 0x0b : 0xca);		/* [rbx] or rdx, with rcx */
	snprintf(what, sizeof(what),
		 "%scmpxchg size %u %s dst %#llx src %#llx acc %#llx cx %d race %u",
		 lock ? "lock " : "", size, mem ? "mem" : "reg",
		 (unsigned long long)dst, (unsigned long long)src,
		 (unsigned long long)acc, use_cx, times);
	fill_data(dst, size, &hi);
	before = fake_get(FAKE_DATA, 8);
	fake.regs.rcx = merge(noise, src, size);
	fake.regs.rdx = merge(~noise, dst, size);
	fake.regs.rax = merge(noise ^ 0xaaaa, acc, size);
	if (times) {
		dst = interfered(dst, times, delta);
		before = interfered(before, times, delta);
	}
	hdst = dst;
	hacc = acc;
	host_cmpxchg(size, &hdst, src, &hacc, &hflags);
	run_check(&e, flags_in, hflags, ARITH);
	if (mem) {
		check_data(before, hdst, size, hi);
		check(fake.cmpxchgs, use_cx ? 1 : 0, "cmpxchgs");
	} else {
		check(fake.regs.rdx, merge(~noise, hdst, size), "rdx");
	}
	/* Equal: RAX untouched; different: loaded (a dword zero-extends). */
	if ((acc & mask_of(size)) == (dst & mask_of(size)))
		check(fake.regs.rax, merge(noise ^ 0xaaaa, acc, size), "rax");
	else
		check(fake.regs.rax, merge(noise ^ 0xaaaa, hacc, size), "rax");
	check(fake.regs.rcx, merge(noise, src, size), "rcx");
}

static void test_cmpxchg_differential(void **state)
{
	static const unsigned sizes[] = { 1, 2, 4, 8 };

	(void)state;
	for (unsigned s = 0; s < 4; s++)
		for (unsigned i = 0; i < ITERATIONS; i++) {
			cmpxchg_case(sizes[s], true);
			cmpxchg_case(sizes[s], false);
		}
}

static void test_cmpxchg_mmio_single_access(void **state)
{
	(void)state;
	/* lock cmpxchg [rbx], ecx on the MMIO window: one compare-exchange
	 * for the device, no separate read. */
	fake.regs.rbx = FAKE_MMIO_BASE + 0x40;
	fake_put(FAKE_MMIO_BASE + 0x40, 7, 4);
	fake.regs.rax = 7;
	fake.regs.rcx = 9;
	assert_int_equal(RUN(0xf0, 0x0f, 0xb1, 0x0b), EMU_DONE);
	assert_int_equal(fake.log_count, 1);
	assert_int_equal(fake.log[0].kind, 'x');
	assert_int_equal(fake.log[0].size, 4);
	assert_int_equal(fake_get(FAKE_MMIO_BASE + 0x40, 4), 9);
	assert_true(fake.regs.rflags & ZF);
	assert_true(fake.ctxt.mem_write);

	/* Without the callback: a read, and no write when different. */
	fake_rearm();
	fake_no_cmpxchg();
	fake.regs.rbx = FAKE_MMIO_BASE + 0x40;
	fake.regs.rax = 7;
	fake.regs.rcx = 1;
	assert_int_equal(RUN(0x0f, 0xb1, 0x0b), EMU_DONE);
	assert_int_equal(fake.log_count, 1);
	assert_int_equal(fake.log[0].kind, 'r');
	assert_int_equal(fake.regs.rax, 9);
	assert_false(fake.regs.rflags & ZF);
}

static void xadd_xchg_case(unsigned size, bool mem, bool xadd)
{
	bool lock = mem && fake_rand() % 2;
	bool use_cx = fake_rand() % 4 != 0;
	bool atomic = mem && use_cx && (lock || !xadd);
	unsigned times = atomic && fake_rand() % 3 == 0 ? 1 + fake_rand() % 2
						      : 0;
	uint8_t delta = (uint8_t)(1 + fake_rand() % 255);
	uint64_t dst = fake_rand_operand(size), src = fake_rand_operand(size);
	uint64_t flags_in = random_flags(), hflags = flags_in;
	uint64_t noise = fake_rand(), hi, before, sum;
	struct enc e = { .n = 0 };

	fake_rearm();
	if (!use_cx)
		fake_no_cmpxchg();
	fake.interfere = times;
	fake.interfere_delta = delta;
	fake.regs.rflags = flags_in;
	fake.regs.rbx = FAKE_DATA;
	emit_prefixes(&e, lock, size);
	if (xadd) {
		emit(&e, 0x0f);
		emit(&e, size == 1 ? 0xc0 : 0xc1);
	} else {
		emit(&e, size == 1 ? 0x86 : 0x87);
	}
	emit(&e, mem ? 0x0b : 0xca);
	snprintf(what, sizeof(what),
		 "%s%s size %u %s dst %#llx src %#llx cx %d race %u",
		 lock ? "lock " : "", xadd ? "xadd" : "xchg", size,
		 mem ? "mem" : "reg", (unsigned long long)dst,
		 (unsigned long long)src, use_cx, times);
	fill_data(dst, size, &hi);
	before = fake_get(FAKE_DATA, 8);
	fake.regs.rcx = merge(noise, src, size);
	fake.regs.rdx = merge(~noise, dst, size);
	if (times) {
		dst = interfered(dst, times, delta);
		before = interfered(before, times, delta);
	}
	sum = xadd ? host_add(size, dst, src, &hflags) : src;
	run_check(&e, flags_in, hflags, ARITH);
	if (mem) {
		check_data(before, sum, size, hi);
		check(fake.cmpxchgs, atomic ? 1 + times : 0, "cmpxchgs");
	} else {
		check(fake.regs.rdx, merge(~noise, sum, size), "rdx");
	}
	check(fake.regs.rcx, merge(noise, dst, size), "rcx");
}

static void test_xadd_xchg_differential(void **state)
{
	static const unsigned sizes[] = { 1, 2, 4, 8 };

	(void)state;
	for (unsigned s = 0; s < 4; s++)
		for (unsigned i = 0; i < ITERATIONS; i++) {
			xadd_xchg_case(sizes[s], true, true);
			xadd_xchg_case(sizes[s], false, true);
			xadd_xchg_case(sizes[s], true, false);
			xadd_xchg_case(sizes[s], false, false);
		}
}

static void test_xadd_xchg_same_register(void **state)
{
	(void)state;
	/* xadd ecx, ecx: the sum wins. xchg ecx, ecx zero-extends. */
	fake.regs.rcx = 0xffffffff00000003ull;
	assert_int_equal(RUN(0x0f, 0xc1, 0xc9), EMU_DONE);
	assert_int_equal(fake.regs.rcx, 6);
	fake.regs.rcx = 0xffffffff00000003ull;
	assert_int_equal(RUN(0x87, 0xc9), EMU_DONE);
	assert_int_equal(fake.regs.rcx, 3);
	/* xchg ah, al */
	fake.regs.rax = 0x1234;
	assert_int_equal(RUN(0x86, 0xc4), EMU_DONE);
	assert_int_equal(fake.regs.rax, 0x3412);
}

static void test_lock_gives_up_after_many_races(void **state)
{
	(void)state;
	/* Another CPU wins every compare-exchange: the emulator stops,
	 * leaves RIP and the registers, and asks for a restart. */
	fake.regs.rbx = FAKE_DATA;
	fake.regs.rflags = 0x2;
	fake.interfere = 1000;
	fake.interfere_delta = 1;
	assert_int_equal(RUN(0xf0, 0x83, 0x03, 0x01), EMU_DONE);
	assert_true(fake.ctxt.restart);
	assert_int_equal(fake.regs.rip, FAKE_CODE);
	assert_int_equal(fake.regs.rflags, 0x2);
	assert_true(fake.cmpxchgs > 1 && fake.cmpxchgs < 1000);
	/* The next try, uncontended, completes. */
	fake.interfere = 0;
	assert_int_equal(emulate_one(&fake.ctxt), EMU_DONE);
	assert_false(fake.ctxt.restart);
	assert_int_equal(fake.regs.rip, FAKE_CODE + 4);
}

static void test_cmpxchg8b_16b(void **state)
{
	(void)state;
	fake.regs.rbx = FAKE_DATA;
	fake_put(FAKE_DATA, 0x1111111122222222ull, 8);

	/* cmpxchg8b [rbx]: equal, ECX:EBX is stored. */
	fake.regs.rdx = 0x11111111;
	fake.regs.rax = 0x22222222;
	fake.regs.rcx = 0x33333333;
	fake.regs.rbx = FAKE_DATA;
	fake.regs.rflags = 0x2 | CF;
	assert_int_equal(RUN(0x0f, 0xc7, 0x0b), EMU_DONE);
	assert_int_equal(fake_get(FAKE_DATA, 8),
			 0x33333333ull << 32 | FAKE_DATA);
	assert_int_equal(fake.regs.rflags, 0x2 | CF | ZF);
	assert_int_equal(fake.ctxt.mem_size, 8);
	assert_int_equal(fake.cmpxchgs, 1);

	/* Not equal: EDX:EAX loaded (zero-extended), ZF clear, memory kept. */
	fake.regs.rdx = ~0ull;
	fake.regs.rax = ~0ull;
	assert_int_equal(RUN(0xf0, 0x0f, 0xc7, 0x0b), EMU_DONE);
	assert_int_equal(fake.regs.rdx, 0x33333333);
	assert_int_equal(fake.regs.rax, FAKE_DATA);
	assert_int_equal(fake.regs.rflags, 0x2 | CF);

	/* Without the callback: read, compare, write. */
	fake_no_cmpxchg();
	fake.regs.rcx = 0x44;
	fake.regs.rbx = FAKE_DATA;
	fake.reads = fake.writes = 0;
	assert_int_equal(RUN(0x0f, 0xc7, 0x0b), EMU_DONE);
	assert_int_equal(fake_get(FAKE_DATA, 8), 0x44ull << 32 | FAKE_DATA);
	assert_int_equal(fake.reads, 1);
	assert_int_equal(fake.writes, 1);

	/* cmpxchg16b [rbx] (REX.W). */
	fake_rearm();
	fake.regs.rbx = FAKE_DATA;
	fake_put(FAKE_DATA, 0xaaaa, 8);
	fake_put(FAKE_DATA + 8, 0xbbbb, 8);
	fake.regs.rax = 0xaaaa;
	fake.regs.rdx = 0xbbbb;
	fake.regs.rcx = 0xdddd000000000000ull;
	assert_int_equal(RUN(0xf0, 0x48, 0x0f, 0xc7, 0x0b), EMU_DONE);
	assert_int_equal(fake_get(FAKE_DATA, 8), FAKE_DATA);
	assert_int_equal(fake_get(FAKE_DATA + 8, 8), 0xdddd000000000000ull);
	assert_true(fake.regs.rflags & ZF);
	assert_int_equal(fake.ctxt.mem_size, 16);
	/* mismatch loads RDX:RAX */
	assert_int_equal(RUN(0x48, 0x0f, 0xc7, 0x0b), EMU_DONE);
	assert_false(fake.regs.rflags & ZF);
	assert_int_equal(fake.regs.rax, FAKE_DATA);
	assert_int_equal(fake.regs.rdx, 0xdddd000000000000ull);

	/* Misaligned 16-byte operand: #GP(0), nothing accessed. */
	fake_rearm();
	fake.regs.rbx = FAKE_DATA + 8;
	assert_int_equal(RUN(0x48, 0x0f, 0xc7, 0x0b), EMU_FAULT);
	assert_int_equal(fake.ctxt.fault_vector, 13);
	assert_int_equal(fake.cmpxchgs + fake.reads, 0);
	assert_int_equal(fake.regs.rip, FAKE_CODE);
	/* ... which cmpxchg8b does not require. */
	assert_int_equal(RUN(0x0f, 0xc7, 0x0b), EMU_DONE);
}

/* ------------------------------------------------------- bit tests */

#define BT_SPAN	128	/* bytes mirrored on host and guest */

static void bt_case(unsigned which, unsigned size, unsigned form)
{
	static const host_bit_fn host[4] = { host_bt, host_bts, host_btr,
					     host_btc };
	static const char *const name[4] = { "bt", "bts", "btr", "btc" };
	static const uint8_t opcode[4] = { 0xa3, 0xab, 0xb3, 0xbb };
	uint64_t buf[BT_SPAN / 8];
	uint8_t *middle = (uint8_t *)buf + BT_SPAN / 2;
	unsigned width = size * 8;
	bool lock = which != 0 && form != 2 && fake_rand() % 3 == 0;
	uint64_t flags_in = random_flags(), hflags = flags_in;
	uint64_t offset, host_bit, imm = fake_rand() & 0xff;
	struct enc e = { .n = 0 };

	fake_rearm();
	fake.regs.rflags = flags_in;
	for (unsigned i = 0; i < BT_SPAN / 8; i++)
		buf[i] = fake_rand();
	memcpy(fake.ram + FAKE_DATA, buf, BT_SPAN);
	fake.regs.rbx = FAKE_DATA + BT_SPAN / 2;
	/* Offsets reach 256 bits either way: up to 32 bytes away. */
	offset = (uint64_t)((int64_t)(fake_rand() % 512) - 256);
	if (fake_rand() % 2)
		offset = fake_rand() % width;
	emit_prefixes(&e, lock, size);
	emit(&e, 0x0f);
	switch (form) {
	case 0:			/* bt [rbx], rcx: offset may leave the operand */
		emit(&e, opcode[which]);
		emit(&e, 0x0b);
		host_bit = offset;
		break;
	case 1:			/* bt [rbx], imm8: modulo the width */
		emit(&e, 0xba);
		emit(&e, (uint8_t)(0x03 | (4 + which) << 3));
		emit(&e, (uint8_t)imm);
		host_bit = imm % width;
		break;
	default:		/* bt rdx, rcx: modulo the width */
		emit(&e, opcode[which]);
		emit(&e, 0xca);
		host_bit = offset % width;
		break;
	}
	fake.regs.rcx = offset;
	fake.regs.rdx = 0;
	memcpy(&fake.regs.rdx, middle, size);
	snprintf(what, sizeof(what), "%s%s size %u form %u offset %lld imm %llu",
		 lock ? "lock " : "", name[which], size, form,
		 (long long)offset, (unsigned long long)imm);

	host[which](size, middle, host_bit, &hflags);
	run_check(&e, flags_in, hflags, defined_flags(name[which]));
	if (form == 2) {
		uint64_t want = 0;

		memcpy(&want, middle, size);
		check(fake.regs.rdx, want, "rdx");
		memcpy(middle, fake.ram + FAKE_DATA + BT_SPAN / 2, size);
	}
	if (memcmp(buf, fake.ram + FAKE_DATA, BT_SPAN) != 0) {
		print_error("%s: memory differs\n", what);
		fail();
	}
	check(fake.regs.rcx, offset, "rcx");
	if (form != 2)
		check(fake.ctxt.mem_write, which != 0, "mem_write");
}

static void test_bt_differential(void **state)
{
	static const unsigned sizes[] = { 2, 4, 8 };

	(void)state;
	for (unsigned which = 0; which < 4; which++)
		for (unsigned s = 0; s < 3; s++)
			for (unsigned form = 0; form < 3; form++)
				for (unsigned i = 0; i < ITERATIONS; i++)
					bt_case(which, sizes[s], form);
}

static void test_bt_far_offsets(void **state)
{
	(void)state;
	/* bt dword [rbx], ecx with ECX = 0x7fffffff: the dword at
	 * rbx + 4 * (0x7fffffff >> 5), bit 31. */
	fake.regs.rbx = FAKE_DATA;
	fake.regs.rcx = 0x7fffffff;
	assert_int_equal(RUN(0x0f, 0xa3, 0x0b), EMU_FAULT);
	assert_int_equal(fake.ctxt.fault_vector, 14);
	assert_int_equal(fake.ctxt.fault_linear,
			 FAKE_DATA + 4ull * (0x7fffffff >> 5));
	/* ECX = 0x80000000 (negative): 2^26 dwords below. */
	fake.regs.rbx = 0x100000000ull;
	fake.regs.rcx = 0xffffffff80000000ull;	/* upper half ignored */
	assert_int_equal(RUN(0x0f, 0xa3, 0x0b), EMU_FAULT);
	assert_int_equal(fake.ctxt.fault_linear, 0x100000000ull - 0x10000000);
	/* bts word [rbx], cx with CX = -1: the word below, bit 15. */
	fake.regs.rbx = FAKE_DATA;
	fake.regs.rcx = 0xffff;
	fake_put(FAKE_DATA - 2, 0, 2);
	assert_int_equal(RUN(0x66, 0x0f, 0xab, 0x0b), EMU_DONE);
	assert_int_equal(fake_get(FAKE_DATA - 2, 2), 0x8000);
	assert_int_equal(fake.ctxt.mem_linear, FAKE_DATA - 2);
	/* btc qword [rbx], rcx with RCX = -65: the qword 16 bytes below,
	 * bit 63. */
	fake.regs.rcx = (uint64_t)-65;
	fake_put(FAKE_DATA - 16, 0, 8);
	assert_int_equal(RUN(0x48, 0x0f, 0xbb, 0x0b), EMU_DONE);
	assert_int_equal(fake_get(FAKE_DATA - 16, 8), 1ull << 63);
	/* A far offset pushing the address non-canonical: #GP. */
	fake.regs.rbx = 0x00007ffffffffff8ull;
	fake.regs.rcx = 64;
	assert_int_equal(RUN(0x48, 0x0f, 0xa3, 0x0b), EMU_FAULT);
	assert_int_equal(fake.ctxt.fault_vector, 13);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup64, teardown)
	const struct CMUnitTest tests[] = {
		T(test_alu_differential),
		T(test_unary_differential),
		T(test_test_differential),
		T(test_flags_by_hand),
		T(test_cmpxchg_differential),
		T(test_cmpxchg_mmio_single_access),
		T(test_xadd_xchg_differential),
		T(test_xadd_xchg_same_register),
		T(test_lock_gives_up_after_many_races),
		T(test_cmpxchg8b_16b),
		T(test_bt_differential),
		T(test_bt_far_offsets),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
