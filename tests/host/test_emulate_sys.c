/*
 * Host tests of the emulator's MOV from/to CR0, CR2, CR3, CR4 and CR8
 * (virt/emulate_sys.c) in 16-, 32- and 64-bit mode with every general
 * register, prefixes and the ignored mod bits; CLTS; and the faults and
 * refusals all system instructions share: #UD for a CR that does not
 * exist and for LOCK, #GP(0) at CPL > 0 and when read_cr/write_cr refuse,
 * EMU_UNHANDLED when write_cr stops the guest or a callback is missing.
 * LMSW, SMSW, INVLPG and the rest of 0F 01 are in test_emulate_group7.c.
 *
 * The control registers live in fake.cr[] (tests/host/emu_fake.h), which
 * the fake's read_cr/write_cr use; instructions are written as bytes with
 * the assembly in a comment, or built by mov_cr().
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "tests/host/emu_sys_check.h"

static int setup64(void **state)
{
	(void)state;
	fake_reset64();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	fake_free();
	return 0;
}

static const unsigned valid_crs[] = { 0, 2, 3, 4, 8 };
#define NVALID (sizeof(valid_crs) / sizeof(valid_crs[0]))

/* --------------------------------------------------- MOV CR, 64-bit */

/* Each CR into each register: the value, that register only, 64 bits. */
static void test_mov_from_cr_64(void **state)
{
	(void)state;
	for (unsigned i = 0; i < NVALID; i++) {
		unsigned cr = valid_crs[i];

		for (unsigned reg = 0; reg < 16; reg++) {
			struct enc e = mov_cr(false, cr, reg);
			struct vcpu_regs want;

			name_case("mov reg, cr", reg, cr);
			fake_rearm();
			fill_gprs();
			fake.cr[cr] = 0xfedcba9876543210ull + cr;
			want = fake.regs;
			*gpr(&want, reg) = fake.cr[cr];
			want.rip += e.n;
			run_done(&e);
			assert_memory_equal(&fake.regs, &want, sizeof(want));
			check(fake.cr_reads, 1, "cr reads");
			check(fake.cr_read_mask, 1u << cr, "cr read");
			check(fake.cr_writes, 0, "cr writes");
			no_memory();
		}
	}
}

static void test_mov_to_cr_64(void **state)
{
	(void)state;
	for (unsigned i = 0; i < NVALID; i++) {
		unsigned cr = valid_crs[i];

		for (unsigned reg = 0; reg < 16; reg++) {
			struct enc e = mov_cr(true, cr, reg);
			struct vcpu_regs want;

			name_case("mov cr, reg", cr, reg);
			fake_rearm();
			fill_gprs();
			want = fake.regs;
			want.rip += e.n;
			run_done(&e);
			assert_memory_equal(&fake.regs, &want, sizeof(want));
			check(fake.cr_writes, 1, "cr writes");
			check(fake.last_cr, cr, "cr written");
			check(fake.last_cr_value, *gpr(&want, reg), "value");
			check(fake.cr[cr], *gpr(&want, reg), "cr");
			check(fake.cr_reads, 0, "cr reads");
			no_memory();
		}
	}
}

/* 66 and REX.W change nothing; the mod bits are ignored, so what would
 * be a SIB byte or a displacement is not part of the instruction. */
static void test_mov_cr_prefixes_and_mod(void **state)
{
	struct enc e;

	(void)state;
	fake.cr[3] = 0x00000abcdef12000ull;
	fake.regs.rax = ~0ull;
	e = ENC(0x66, 0x0f, 0x20, 0xd8);		/* mov rax, cr3 */
	run_done(&e);
	assert_int_equal(fake.regs.rax, 0x00000abcdef12000ull);

	fake_rearm();
	fake.regs.rax = 0x1122334455667788ull;
	e = ENC(0x66, 0x0f, 0x22, 0xd8);		/* mov cr3, rax */
	run_done(&e);
	assert_int_equal(fake.cr[3], 0x1122334455667788ull);
	e = ENC(0x48, 0x0f, 0x20, 0xd9);		/* mov rcx, cr3 */
	fake.regs.rip = FAKE_CODE;
	run_done(&e);
	assert_int_equal(fake.regs.rcx, 0x1122334455667788ull);

	/* mod 00, rm 100: no SIB: mov rsp, cr3 */
	fake_rearm();
	e = ENC(0x0f, 0x20, 0x1c, 0x24);
	e.n = 3;
	run_done(&e);
	assert_int_equal(fake.regs.rsp, 0x1122334455667788ull);
	/* mod 01, rm 101: no disp8: mov cr0, rbp */
	fake_rearm();
	fake.regs.rbp = 0x80050033;
	e = ENC(0x0f, 0x22, 0x45, 0x08);
	e.n = 3;
	run_done(&e);
	assert_int_equal(fake.cr[0], 0x80050033);
	/* mod 10, rm 101, REX.B: no disp32: mov r13, cr3 */
	fake_rearm();
	e = ENC(0x41, 0x0f, 0x20, 0x9d, 0x44, 0x33, 0x22, 0x11);
	e.n = 4;
	run_done(&e);
	assert_int_equal(fake.regs.r13, 0x1122334455667788ull);
	no_memory();
}

/* ------------------------------------------- MOV CR, 32/16-bit mode */

static void test_mov_cr_32(void **state)
{
	(void)state;
	fake_reset32();
	for (unsigned i = 0; i < NVALID - 1; i++) {	/* no CR8 */
		unsigned cr = valid_crs[i];

		for (unsigned reg = 0; reg < 8; reg++) {
			struct enc e = mov_cr(false, cr, reg);
			struct vcpu_regs want;

			/* 32 bits, zero-extended, even with a CR value
			 * wider than that. */
			name_case("mov r32, cr", reg, cr);
			fake_rearm();
			fill_gprs();
			fake.cr[cr] = 0xa5a5a5a580000011ull + cr;
			want = fake.regs;
			*gpr(&want, reg) = 0x80000011ull + cr;
			want.rip += e.n;
			run_done(&e);
			assert_memory_equal(&fake.regs, &want, sizeof(want));

			/* The low 32 bits of the register are written. */
			name_case("mov cr, r32", cr, reg);
			e = mov_cr(true, cr, reg);
			fake_rearm();
			fill_gprs();
			want = fake.regs;
			want.rip += e.n;
			run_done(&e);
			assert_memory_equal(&fake.regs, &want, sizeof(want));
			check(fake.last_cr, cr, "cr written");
			check(fake.last_cr_value, *gpr(&want, reg) & 0xffffffff,
			      "value");
		}
	}

	/* 66 does not make it 16 bits. */
	fake_rearm();
	fake.cr[0] = 0x80000011;
	fake.regs.rcx = ~0ull;
	assert_done(RUN(0x66, 0x0f, 0x20, 0xc1));	/* mov ecx, cr0 */
	assert_int_equal(fake.regs.rcx, 0x80000011);
	assert_int_equal(fake.ctxt.insn_len, 4);
	fake.regs.rip = FAKE_CODE;
	fake.regs.rdx = 0xffffffff12345678ull;
	assert_done(RUN(0x66, 0x0f, 0x22, 0xda));	/* mov cr3, edx */
	assert_int_equal(fake.cr[3], 0x12345678);
}

/* Real mode is CPL 0 and 32-bit operands: how a boot loader turns PE on. */
static void test_mov_cr_16(void **state)
{
	(void)state;
	fake_reset16();
	fake.cr[0] = 0x60000010;
	fake.regs.rax = 0xffffffff00000000ull;
	assert_done(RUN(0x0f, 0x20, 0xc0));		/* mov eax, cr0 */
	assert_int_equal(fake.regs.rax, 0x60000010);
	assert_int_equal(fake.regs.rip, FAKE_CODE + 3);
	fake.regs.rip = FAKE_CODE;
	fake.regs.rax = 0xffff000060000011ull;
	assert_done(RUN(0x0f, 0x22, 0xc0));		/* mov cr0, eax */
	assert_int_equal(fake.cr[0], 0x60000011);
	assert_int_equal(fake.ctxt.insn_len, 3);
}

/* ---------------------------------------------------------- faults */

/* CR1, CR5-7, CR9-15: #UD before any callback, at any CPL. */
static void test_invalid_cr_ud(void **state)
{
	static const unsigned bad[] = { 1, 5, 6, 7, 9, 10, 11, 12, 13, 14,
					15 };

	(void)state;
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		for (unsigned dir = 0; dir < 4; dir++) {
			struct enc e = mov_cr(dir & 1, bad[i], 0);

			name_case("bad cr, dir", bad[i], dir);
			fake_reset64();
			fake.sregs.cpl = (dir & 2) ? 3 : 0;
			run_refused(&e, EMU_VEC_UD);
			check(fake.cr_reads + fake.cr_writes, 0, "callbacks");
			if (bad[i] > 7)
				continue;
			fake_reset32();
			fake.sregs.cpl = (dir & 2) ? 3 : 0;
			run_refused(&e, EMU_VEC_UD);
			check(fake.cr_reads + fake.cr_writes, 0, "callbacks");
		}
	}
}

/* Every privileged form at CPL 1, 2 and 3: #GP(0), and no callback or
 * memory access was made. */
static void test_cpl_gp(void **state)
{
	static const struct sys_case cases[] = {
		{ "mov rax, cr0", { 0x0f, 0x20, 0xc0 }, 3 },
		{ "mov cr3, rax", { 0x0f, 0x22, 0xd8 }, 3 },
		{ "mov rax, cr8", { 0x44, 0x0f, 0x20, 0xc0 }, 4 },
		{ "mov cr8, rax", { 0x44, 0x0f, 0x22, 0xc0 }, 4 },
		{ "clts", { 0x0f, 0x06 }, 2 },
		{ "lmsw ax", { 0x0f, 0x01, 0xf0 }, 3 },
		{ "lmsw [rbx]", { 0x0f, 0x01, 0x33 }, 3 },
		{ "invlpg [rbx]", { 0x0f, 0x01, 0x3b }, 3 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (uint8_t cpl = 1; cpl <= 3; cpl++) {
			struct enc e = enc_of(cases[i].code, cases[i].len);

			name_case(cases[i].name, cpl, 0);
			fake_reset64();
			fake.sregs.cpl = cpl;
			fake.regs.rbx = FAKE_DATA;
			fake.regs.rax = 1;
			run_refused(&e, EMU_VEC_GP);
			check(fake.cr_reads + fake.cr_writes + fake.invlpgs, 0,
			      "callbacks");
			check(fake.reads, 0, "reads");
		}
	}
	/* 32-bit mode too. */
	fake_reset32();
	fake.sregs.cpl = 3;
	assert_fault(RUN(0x0f, 0x20, 0xd8), EMU_VEC_GP, 0);
	assert_int_equal(fake.regs.rip, FAKE_CODE);
}

/* write_cr: 1 refuses (#GP(0), nothing changed), -1 is EMU_UNHANDLED;
 * read_cr: -1 is #GP(0). */
static void test_callbacks_refuse(void **state)
{
	static const struct sys_case writers[] = {
		{ "mov cr3, rax", { 0x0f, 0x22, 0xd8 }, 3 },
		{ "mov cr4, r9", { 0x41, 0x0f, 0x22, 0xe1 }, 4 },
		{ "mov cr8, rax", { 0x44, 0x0f, 0x22, 0xc0 }, 4 },
		{ "clts", { 0x0f, 0x06 }, 2 },
		{ "lmsw ax", { 0x0f, 0x01, 0xf0 }, 3 },
		{ "lmsw [rbx]", { 0x0f, 0x01, 0x33 }, 3 },
	};
	static const struct sys_case readers[] = {
		{ "mov rax, cr0", { 0x0f, 0x20, 0xc0 }, 3 },
		{ "mov r10, cr2", { 0x41, 0x0f, 0x20, 0xd2 }, 4 },
		{ "clts", { 0x0f, 0x06 }, 2 },
		{ "lmsw ax", { 0x0f, 0x01, 0xf0 }, 3 },
		{ "smsw eax", { 0x0f, 0x01, 0xe0 }, 3 },
		{ "smsw [rbx]", { 0x0f, 0x01, 0x23 }, 3 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(writers) / sizeof(writers[0]); i++) {
		struct enc e = enc_of(writers[i].code, writers[i].len);

		name_case(writers[i].name, 1, 0);
		fake_reset64();
		fake.regs.rax = fake.regs.r9 = 0xe;
		fake.regs.rbx = FAKE_DATA;
		fake.cr[0] = 0x8005003b;
		fake.write_cr_result = 1;
		run_refused(&e, EMU_VEC_GP);
		check(fake.cr_writes, 1, "write attempts");

		name_case(writers[i].name, -1u, 0);
		fake.write_cr_result = -1;
		fake.cr_writes = 0;
		run_refused(&e, 0);
		check(fake.cr_writes, 1, "write attempts");
	}
	for (size_t i = 0; i < sizeof(readers) / sizeof(readers[0]); i++) {
		struct enc e = enc_of(readers[i].code, readers[i].len);

		name_case(readers[i].name, 0, 0);
		fake_reset64();
		fake.regs.rbx = FAKE_DATA;
		fake.read_cr_fail = true;
		run_refused(&e, EMU_VEC_GP);
		check(fake.cr_writes, 0, "cr writes");
	}
}

/* Each callback missing: the instructions that need it are unhandled
 * (LOCK and a bad CR included: the emulator does not know them then),
 * the others still work. */
static void test_null_callbacks(void **state)
{
	struct enc e;

	(void)state;
	fake.ops.read_cr = NULL;
	fake.regs.rbx = FAKE_DATA;
	e = ENC(0x0f, 0x20, 0xc0);			/* mov rax, cr0 */
	run_refused(&e, 0);
	e = ENC(0x0f, 0x06);				/* clts */
	run_refused(&e, 0);
	e = ENC(0x0f, 0x01, 0x33);			/* lmsw [rbx] */
	run_refused(&e, 0);
	check(fake.reads, 0, "reads");
	e = ENC(0x0f, 0x01, 0xe0);			/* smsw eax */
	run_refused(&e, 0);
	e = ENC(0xf0, 0x0f, 0x20, 0xc0);		/* lock mov eax, cr0 */
	run_refused(&e, 0);
	e = ENC(0x0f, 0x20, 0xc8);			/* mov rax, cr1 */
	run_refused(&e, 0);
	fake.regs.rax = 0x33;
	e = ENC(0x0f, 0x22, 0xd8);			/* mov cr3, rax */
	run_done(&e);
	assert_int_equal(fake.cr[3], 0x33);

	fake_rearm();
	fake.ops.write_cr = NULL;
	e = ENC(0x0f, 0x22, 0xd8);			/* mov cr3, rax */
	run_refused(&e, 0);
	e = ENC(0x0f, 0x06);				/* clts */
	run_refused(&e, 0);
	e = ENC(0x0f, 0x01, 0xf0);			/* lmsw ax */
	run_refused(&e, 0);
	check(fake.cr_reads, 0, "cr reads");
	e = ENC(0x0f, 0x20, 0xd8);			/* mov rax, cr3 */
	run_done(&e);
	assert_int_equal(fake.regs.rax, 0x33);
	fake.regs.rip = FAKE_CODE;
	e = ENC(0x0f, 0x01, 0xe0);			/* smsw eax */
	run_done(&e);
	assert_int_equal(fake.regs.rax, 0x80000011);

	fake_rearm();
	fake.ops.invlpg = NULL;
	fake.regs.rbx = FAKE_DATA;
	e = ENC(0x0f, 0x01, 0x3b);			/* invlpg [rbx] */
	run_refused(&e, 0);
	e = ENC(0x0f, 0x06);				/* clts */
	run_done(&e);
}

/* LOCK on any of them: #UD (not AMD's LOCK MOV CR0 = CR8). */
static void test_lock_ud(void **state)
{
	static const struct sys_case cases[] = {
		{ "lock mov eax, cr0", { 0xf0, 0x0f, 0x20, 0xc0 }, 4 },
		{ "lock mov cr0, eax", { 0xf0, 0x0f, 0x22, 0xc0 }, 4 },
		{ "lock clts", { 0xf0, 0x0f, 0x06 }, 3 },
		{ "lock lmsw [rbx]", { 0xf0, 0x0f, 0x01, 0x33 }, 4 },
		{ "lock smsw [rbx]", { 0xf0, 0x0f, 0x01, 0x23 }, 4 },
		{ "lock invlpg [rbx]", { 0xf0, 0x0f, 0x01, 0x3b }, 4 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct enc e = enc_of(cases[i].code, cases[i].len);

		for (unsigned mode = 0; mode < 2; mode++) {
			name_case(cases[i].name, mode, 0);
			if (mode)
				fake_reset32();
			else
				fake_reset64();
			fake.regs.rbx = FAKE_DATA;
			run_refused(&e, EMU_VEC_UD);
			check(fake.cr_reads + fake.cr_writes + fake.invlpgs +
			      fake.reads, 0, "callbacks");
		}
	}
}

/* ------------------------------------------------------------- CLTS */

static void test_clts(void **state)
{
	static const uint64_t cr0s[] = { 0x8005003b, 0x80050033, ~0ull,
					 CR0_TS };
	void (*const resets[3])(void) = { fake_reset64, fake_reset32,
					  fake_reset16 };

	(void)state;
	for (unsigned m = 0; m < 3; m++) {
		for (size_t i = 0; i < sizeof(cr0s) / sizeof(cr0s[0]); i++) {
			struct enc e = ENC(0x0f, 0x06);
			struct vcpu_regs want;

			name_case("clts mode, cr0", m, (unsigned)i);
			resets[m]();
			fill_gprs();
			fake.cr[0] = cr0s[i];
			want = fake.regs;
			want.rip += 2;
			run_done(&e);
			assert_memory_equal(&fake.regs, &want, sizeof(want));
			check(fake.cr[0], cr0s[i] & ~CR0_TS, "cr0");
			check(fake.cr_writes, 1, "cr writes");
			check(fake.last_cr, 0, "cr written");
			no_memory();
		}
	}
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup64, teardown)
	const struct CMUnitTest tests[] = {
		T(test_mov_from_cr_64),
		T(test_mov_to_cr_64),
		T(test_mov_cr_prefixes_and_mod),
		T(test_mov_cr_32),
		T(test_mov_cr_16),
		T(test_invalid_cr_ud),
		T(test_cpl_gp),
		T(test_callbacks_refuse),
		T(test_null_callbacks),
		T(test_lock_ud),
		T(test_clts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
