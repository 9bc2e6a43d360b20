/*
 * Host tests of the emulator's string instructions: MOVS, STOS and LODS
 * in every operand size, with and without REP (F3, and F2, which acts
 * the same on these), DF clear and set, counts 0, 1 and many, the
 * per-call iteration limit and its restart, a fault part-way, 16/32/64-bit
 * address sizes (count and index registers wrap and keep their upper
 * bits as the address size says), segment overrides, and the MMIO window
 * seeing one access per element.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "tests/host/emu_fake.h"

#define DF	(1ull << 10)
#define SRC	0x10000ull
#define DST	0x20000ull

static int setup64(void **state)
{
	(void)state;
	fake_reset64();
	fake_srand(0x5eed0002);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	fake_free();
	return 0;
}

#define assert_done(r) assert_int_equal((r), EMU_DONE)

static const unsigned sizes[] = { 1, 2, 4, 8 };

/* The opcode for a size: 'byte_op' (A4, AA, AC) or the next one, with
 * the 66 / REX.W prefix in front. Returns the length. */
static unsigned encode(uint8_t *code, uint8_t rep, uint8_t byte_op,
		       unsigned size)
{
	unsigned n = 0;

	if (rep)
		code[n++] = rep;
	if (size == 2)
		code[n++] = 0x66;
	if (size == 8)
		code[n++] = 0x48;
	code[n++] = size == 1 ? byte_op : (uint8_t)(byte_op + 1);
	return n;
}

static void fill_pattern(uint64_t at, unsigned len, uint8_t seed)
{
	for (unsigned i = 0; i < len; i++)
		fake.ram[at + i] = (uint8_t)(seed + i * 7);
}

static void test_stos_single(void **state)
{
	(void)state;
	for (unsigned s = 0; s < 4; s++)
		for (int df = 0; df < 2; df++) {
			unsigned size = sizes[s];
			uint8_t code[4];
			unsigned len = encode(code, 0, 0xaa, size);

			fake_rearm();
			memset(fake.ram + DST - 16, 0xee, 32);
			fake.regs.rax = 0x8877665544332211ull;
			fake.regs.rdi = DST;
			fake.regs.rcx = 5;	/* no REP: not a count */
			fake.regs.rflags = 0x2 | (df ? DF : 0);
			assert_done(fake_run(code, len));
			assert_int_equal(fake.regs.rdi,
					 df ? DST - size : DST + size);
			assert_int_equal(fake.regs.rcx, 5);
			assert_int_equal(fake.regs.rip, FAKE_CODE + len);
			assert_memory_equal(fake.ram + DST, &fake.regs.rax, size);
			assert_int_equal(fake.ram[DST + size], 0xee);
			assert_int_equal(fake.ram[DST - 1], 0xee);
			assert_int_equal(fake.ctxt.mem_linear, DST);
			assert_int_equal(fake.ctxt.mem_size, size);
			assert_true(fake.ctxt.mem_write);
		}
}

static void test_rep_stos_counts(void **state)
{
	static const unsigned counts[] = { 0, 1, 2, 17, 64 };

	(void)state;
	for (unsigned s = 0; s < 4; s++)
		for (unsigned c = 0; c < 5; c++)
			for (int df = 0; df < 2; df++) {
				unsigned size = sizes[s], count = counts[c];
				uint64_t start = DST + 0x1000;
				uint64_t low = df ? start - (count - 1) * size
						  : start;
				uint8_t code[4];
				unsigned len = encode(code, 0xf3, 0xaa, size);

				fake_rearm();
				memset(fake.ram + DST, 0xee, 0x2000);
				fake.regs.rax = 0xa5a5a5a5a5a5a5a5ull;
				fake.regs.rdi = start;
				fake.regs.rcx = count;
				fake.regs.rflags = 0x2 | (df ? DF : 0);
				assert_done(fake_run(code, len));
				assert_false(fake.ctxt.restart);
				assert_int_equal(fake.regs.rcx, 0);
				assert_int_equal(fake.regs.rip, FAKE_CODE + len);
				assert_int_equal(fake.regs.rdi,
						 df ? start - count * size
						    : start + count * size);
				assert_int_equal(fake.writes, count);
				for (uint64_t a = DST; a < DST + 0x2000; a++) {
					bool in = count && a >= low &&
						  a < low + count * size;

					assert_int_equal(fake.ram[a],
							 in ? 0xa5 : 0xee);
				}
				if (count) {	/* the last element */
					assert_int_equal(fake.ctxt.mem_linear,
						df ? low : low + (count - 1) * size);
					assert_int_equal(fake.ctxt.mem_size, size);
				} else {
					assert_int_equal(fake.ctxt.mem_size, 0);
				}
			}
}

static void test_rep_movs(void **state)
{
	static const unsigned counts[] = { 0, 1, 3, 40 };

	(void)state;
	for (unsigned s = 0; s < 4; s++)
		for (unsigned c = 0; c < 4; c++)
			for (int df = 0; df < 2; df++) {
				unsigned size = sizes[s], count = counts[c];
				unsigned bytes = count * size;
				uint64_t src = SRC + 0x800, dst = DST + 0x800;
				uint64_t src_low = df && count ?
					src - (count - 1) * size : src;
				uint64_t dst_low = df && count ?
					dst - (count - 1) * size : dst;
				uint8_t code[4];
				unsigned len = encode(code, 0xf3, 0xa4, size);

				fake_rearm();
				fill_pattern(SRC, 0x1000, (uint8_t)(s + c));
				memset(fake.ram + DST, 0xee, 0x1000);
				fake.regs.rsi = src;
				fake.regs.rdi = dst;
				fake.regs.rcx = count;
				fake.regs.rflags = 0x2 | (df ? DF : 0);
				assert_done(fake_run(code, len));
				assert_int_equal(fake.regs.rcx, 0);
				assert_int_equal(fake.regs.rsi,
						 df ? src - bytes : src + bytes);
				assert_int_equal(fake.regs.rdi,
						 df ? dst - bytes : dst + bytes);
				assert_memory_equal(fake.ram + dst_low,
						    fake.ram + src_low, bytes);
				assert_int_equal(fake.ram[dst_low - 1], 0xee);
				assert_int_equal(fake.ram[dst_low + bytes], 0xee);
				assert_int_equal(fake.reads, count);
				assert_int_equal(fake.writes, count);
				if (count) {	/* the last access: a write */
					assert_true(fake.ctxt.mem_write);
					assert_int_equal(fake.ctxt.mem_linear,
						df ? dst_low
						   : dst_low + bytes - size);
				}
			}
}

static void test_lods(void **state)
{
	(void)state;
	fake_put(SRC, 0x8877665544332211ull, 8);
	fake_put(SRC + 8, 0xffeeddccbbaa9988ull, 8);

	for (unsigned s = 0; s < 4; s++) {
		uint8_t code[4];
		unsigned len = encode(code, 0, 0xac, sizes[s]);
		uint64_t want = fake_get(SRC, sizes[s]);

		fake_rearm();
		fake.regs.rax = 0xdeaddeaddeaddeadull;
		fake.regs.rsi = SRC;
		assert_done(fake_run(code, len));
		if (sizes[s] < 4) {
			uint64_t mask = (1ull << (sizes[s] * 8)) - 1;

			want |= 0xdeaddeaddeaddeadull & ~mask;
		}
		assert_int_equal(fake.regs.rax, want);
		assert_int_equal(fake.regs.rsi, SRC + sizes[s]);
		assert_false(fake.ctxt.mem_write);
	}

	/* rep lodsw: the accumulator ends with the last element. */
	fake_rearm();
	fake.regs.rsi = SRC + 14;
	fake.regs.rcx = 3;
	fake.regs.rflags = 0x2 | DF;
	assert_done(RUN(0xf3, 0x66, 0xad));
	assert_int_equal(fake.regs.rax, 0xbbaa);	/* from SRC + 10 */
	assert_int_equal(fake.regs.rsi, SRC + 8);
	assert_int_equal(fake.regs.rcx, 0);
	assert_int_equal(fake.reads, 3);
}

static void test_repne_acts_as_rep(void **state)
{
	(void)state;
	fake.regs.rdi = DST;
	fake.regs.rcx = 4;
	fake.regs.rax = 0x41;
	assert_done(RUN(0xf2, 0xaa));			/* repne stosb */
	assert_int_equal(fake.regs.rcx, 0);
	assert_int_equal(fake_get(DST, 4), 0x41414141);
}

static void test_rep_limit_and_restart(void **state)
{
	unsigned calls = 0;

	(void)state;
	fill_pattern(SRC, 0x1000, 3);
	fake.regs.rsi = SRC;
	fake.regs.rdi = DST;
	fake.regs.rcx = 200;
	memcpy(fake.ram + FAKE_CODE, (uint8_t[]){ 0xf3, 0x48, 0xa5 }, 3);

	/* 64 per call: 64, 64, 64, then the last 8 complete it. */
	for (;;) {
		uint64_t rcx = fake.regs.rcx;

		assert_done(emulate_one(&fake.ctxt));
		calls++;
		assert_int_equal(fake.ctxt.insn_len, 3);
		if (!fake.ctxt.restart)
			break;
		assert_int_equal(fake.regs.rip, FAKE_CODE);
		assert_int_equal(fake.regs.rcx, rcx - EMU_REP_MAX);
		assert_int_equal(fake.regs.rdi,
				 DST + (200 - fake.regs.rcx) * 8);
	}
	assert_int_equal(calls, 4);
	assert_int_equal(fake.regs.rip, FAKE_CODE + 3);
	assert_int_equal(fake.regs.rcx, 0);
	assert_memory_equal(fake.ram + DST, fake.ram + SRC, 200 * 8);

	/* A limit of one element per call. */
	fake_rearm();
	fake.ctxt.rep_limit = 1;
	fake.regs.rdi = DST;
	fake.regs.rcx = 2;
	memcpy(fake.ram + FAKE_CODE, (uint8_t[]){ 0xf3, 0xaa }, 2);
	assert_done(emulate_one(&fake.ctxt));
	assert_true(fake.ctxt.restart);
	assert_int_equal(fake.regs.rcx, 1);
	assert_int_equal(fake.regs.rip, FAKE_CODE);
	assert_done(emulate_one(&fake.ctxt));
	assert_false(fake.ctxt.restart);
	assert_int_equal(fake.regs.rcx, 0);
	assert_int_equal(fake.regs.rip, FAKE_CODE + 2);

	/* Exactly the limit: done in one call, no restart. */
	fake_rearm();
	fake.regs.rdi = DST;
	fake.regs.rcx = EMU_REP_MAX;
	assert_done(RUN(0xf3, 0xaa));
	assert_false(fake.ctxt.restart);
	assert_int_equal(fake.regs.rcx, 0);
}

static void test_rep_fault_part_way(void **state)
{
	(void)state;
	/* rep stosd over a page whose writes fail: 4 elements land, the
	 * fifth faults; RCX/RDI count the four, RIP stays. */
	fake.ro_page = DST + 0x1000;
	fake.regs.rdi = DST + 0x1000 - 16;
	fake.regs.rcx = 10;
	fake.regs.rax = 0x01020304;
	assert_int_equal(RUN(0xf3, 0xab), EMU_FAULT);
	assert_int_equal(fake.ctxt.fault_vector, EMU_VEC_PF);
	assert_int_equal(fake.ctxt.fault_error_code, EMU_PF_WRITE);
	assert_int_equal(fake.ctxt.fault_linear, DST + 0x1000);
	assert_int_equal(fake.regs.rcx, 6);
	assert_int_equal(fake.regs.rdi, DST + 0x1000);
	assert_int_equal(fake.regs.rip, FAKE_CODE);
	assert_int_equal(fake_get(DST + 0x1000 - 4, 4), 0x01020304);
	/* The fault handled, the guest re-executes the rest. */
	fake.ro_page = 0;
	assert_done(emulate_one(&fake.ctxt));
	assert_int_equal(fake.regs.rcx, 0);
	assert_int_equal(fake.regs.rdi, DST + 0x1000 + 24);
	assert_int_equal(fake.regs.rip, FAKE_CODE + 2);

	/* A source read failing on the first element changes nothing. */
	fake_rearm();
	fake.regs.rsi = 0x50000000;
	fake.regs.rdi = DST;
	fake.regs.rcx = 3;
	assert_int_equal(RUN(0xf3, 0xa4), EMU_FAULT);
	assert_int_equal(fake.ctxt.fault_error_code, 0);
	assert_int_equal(fake.regs.rcx, 3);
	assert_int_equal(fake.regs.rsi, 0x50000000);

	/* Non-canonical RDI: #GP, not ES-based so not #SS. */
	fake_rearm();
	fake.regs.rdi = 0x8000000000000000ull;
	fake.regs.rcx = 3;
	assert_int_equal(RUN(0xf3, 0xaa), EMU_FAULT);
	assert_int_equal(fake.ctxt.fault_vector, EMU_VEC_GP);
	assert_int_equal(fake.regs.rcx, 3);
	/* ...unless the count is 0: nothing is accessed. */
	fake.regs.rcx = 0;
	assert_done(RUN(0xf3, 0xaa));
	assert_int_equal(fake.regs.rip, FAKE_CODE + 2);
}

static void test_address_size_32_in_64bit_mode(void **state)
{
	(void)state;
	/* 67 rep stosb: ECX is the count (the upper half of RCX is not),
	 * EDI the index; both are written back zero-extended. */
	fake.regs.rcx = 0x0000000500000003ull;
	fake.regs.rdi = 0xffffffff00000000ull | DST;
	fake.regs.rax = 0x77;
	assert_done(RUN(0x67, 0xf3, 0xaa));
	assert_int_equal(fake.regs.rcx, 0);
	assert_int_equal(fake.regs.rdi, DST + 3);
	assert_int_equal(fake_get(DST, 4), 0x777777);

	/* EDI wraps at 4 GiB going down. */
	fake_rearm();
	fake.regs.rdi = 0;
	fake.regs.rflags = 0x2 | DF;
	fake.regs.rax = 0x99;
	assert_done(RUN(0x67, 0xaa));
	assert_int_equal(fake.ram[0], 0x99);
	assert_int_equal(fake.regs.rdi, 0xffffffffull);
}

static void test_address_size_16(void **state)
{
	(void)state;
	fake_reset16();
	fake.sregs.ds_base = 0x10000;
	fake.sregs.es_base = 0x20000;
	fill_pattern(0x10000 + 0xfffe, 2, 0x40);
	fill_pattern(0x10000, 2, 0x50);
	/* rep movsb with SI = 0xfffe: SI wraps to 0 within DS; CX, SI and
	 * DI change only in their low word. */
	fake.regs.rsi = 0xabcd0000fffeull;
	fake.regs.rdi = 0x1111000000100ull;
	fake.regs.rcx = 0xffff0004ull;
	assert_done(RUN(0xf3, 0xa4));
	assert_int_equal(fake.regs.rcx, 0xffff0000ull);
	assert_int_equal(fake.regs.rsi, 0xabcd00000002ull);
	assert_int_equal(fake.regs.rdi, 0x1111000000104ull);
	assert_int_equal(fake_get(0x20100, 4), fake_get(0x1fffe, 2) |
					       fake_get(0x10000, 2) << 16);

	/* 66: 32-bit elements; 67: ECX/ESI/EDI. */
	fake.regs.rip = FAKE_CODE;
	fake.regs.rcx = 0x100000002ull;
	fake.regs.rdi = 0x200;
	fake.regs.rax = 0xcafebabe;
	assert_done(RUN(0x67, 0x66, 0xf3, 0xab));
	assert_int_equal(fake.regs.rcx, 0);
	assert_int_equal(fake.regs.rdi, 0x208);
	assert_int_equal(fake_get(0x20200, 8), 0xcafebabecafebabeull);
}

static void test_segments(void **state)
{
	(void)state;
	/* 64-bit mode: fs: applies to the source of MOVS; ES is the
	 * destination whatever the prefix, with no base. */
	fake.sregs.fs_base = 0x100;
	fake.sregs.es_base = 0x5000;	/* ignored in 64-bit mode */
	fill_pattern(SRC, 0x200, 9);
	fake.regs.rsi = SRC;
	fake.regs.rdi = DST;
	assert_done(RUN(0x64, 0x48, 0xa5));		/* movsq rdi, fs:[rsi] */
	assert_int_equal(fake_get(DST, 8), fake_get(SRC + 0x100, 8));
	assert_int_equal(fake.ctxt.mem_linear, DST);

	/* 32-bit mode: DS source, ES destination, overrides on the
	 * source only. */
	fake_reset32();
	fake.sregs.ds_base = 0x1000;
	fake.sregs.es_base = 0x2000;
	fake.sregs.cs_base = 0;
	fake.sregs.ss_base = 0x3000;
	fill_pattern(SRC, 0x4000, 1);
	fake.regs.rsi = SRC;
	fake.regs.rdi = DST;
	assert_done(RUN(0xa5));				/* movsd */
	assert_int_equal(fake_get(DST + 0x2000, 4), fake_get(SRC + 0x1000, 4));
	fake.regs.rip = FAKE_CODE;
	fake.regs.rsi = SRC;
	fake.regs.rdi = DST;
	assert_done(RUN(0x36, 0xa5));			/* ss: source */
	assert_int_equal(fake_get(DST + 0x2000, 4), fake_get(SRC + 0x3000, 4));
	fake.regs.rip = FAKE_CODE;
	fake.regs.rdi = DST + 0x10;
	assert_done(RUN(0x36, 0xab));			/* stos: ES anyway */
	assert_int_equal(fake.ctxt.mem_linear, DST + 0x2010);
	fake.regs.rip = FAKE_CODE;
	fake.regs.rsi = SRC;
	assert_done(RUN(0x26, 0xad));			/* es: lodsd */
	assert_int_equal(fake.ctxt.mem_linear, SRC + 0x2000);
	assert_int_equal(fake.regs.rax, fake_get(SRC + 0x2000, 4));
}

static void test_mmio_one_access_per_element(void **state)
{
	(void)state;
	/* rep stosd into the device: four 4-byte writes in order. */
	fake.regs.rdi = FAKE_MMIO_BASE + 0x100;
	fake.regs.rcx = 4;
	fake.regs.rax = 0xfeedf00d;
	assert_done(RUN(0xf3, 0xab));
	assert_int_equal(fake.log_count, 4);
	for (unsigned i = 0; i < 4; i++) {
		assert_int_equal(fake.log[i].kind, 'w');
		assert_int_equal(fake.log[i].size, 4);
		assert_int_equal(fake.log[i].linear, FAKE_MMIO_BASE + 0x100 +
						     4 * i);
	}
	assert_int_equal(fake.ctxt.mem_linear, FAKE_MMIO_BASE + 0x10c);

	/* rep movsw from RAM to the device with DF = 1: the reads are RAM,
	 * only the writes reach the log, walking down. */
	fake_rearm();
	fill_pattern(SRC, 16, 0x30);
	fake.regs.rsi = SRC + 6;
	fake.regs.rdi = FAKE_MMIO_BASE + 0x200;
	fake.regs.rcx = 4;
	fake.regs.rflags = 0x2 | DF;
	assert_done(RUN(0xf3, 0x66, 0xa5));
	assert_int_equal(fake.log_count, 4);
	assert_int_equal(fake.log[0].linear, FAKE_MMIO_BASE + 0x200);
	assert_int_equal(fake.log[3].linear, FAKE_MMIO_BASE + 0x200 - 6);
	assert_memory_equal(fake.log[3].data, fake.ram + SRC, 2);

	/* rep lodsb from the device: reads logged. */
	fake_rearm();
	fake.regs.rsi = FAKE_MMIO_BASE + 0x100;
	fake.regs.rcx = 3;
	assert_done(RUN(0xf3, 0xac));
	assert_int_equal(fake.log_count, 3);
	assert_int_equal(fake.log[2].kind, 'r');
	assert_int_equal(fake.log[2].size, 1);
	assert_int_equal(fake.regs.rax, 0xed);		/* 0xfeedf00d byte 2 */
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup64, teardown)
	const struct CMUnitTest tests[] = {
		T(test_stos_single),
		T(test_rep_stos_counts),
		T(test_rep_movs),
		T(test_lods),
		T(test_repne_acts_as_rep),
		T(test_rep_limit_and_restart),
		T(test_rep_fault_part_way),
		T(test_address_size_32_in_64bit_mode),
		T(test_address_size_16),
		T(test_segments),
		T(test_mmio_one_access_per_element),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
