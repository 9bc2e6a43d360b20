/*
 * Host tests of the instruction emulator (virt/emulate*.c): the MOV
 * family in every size and register kind, prefixes, the 15-byte limit,
 * LOCK where it is not allowed, opcodes the emulator does not do, and
 * what the MMIO window sees. Addressing forms, modes and faults are in
 * test_emulate_addr.c, the ALU in test_emulate_alu.c, CMPXCHG/XADD/XCHG
 * and bit tests in test_emulate_atomic.c, string instructions in
 * test_emulate_string.c, random byte strings in test_emulate_fuzz.c, the
 * system instructions in test_emulate_sys.c and test_emulate_group7.c.
 *
 * Instructions are written as bytes, with the assembly in a comment;
 * tests/host/emu_fake.h describes the fake guest they run in.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "tests/host/emu_check.h"

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

/* ------------------------------------------------------------ MOV */

static void test_mov_store_sizes(void **state)
{
	static const struct {
		uint8_t code[3];
		unsigned len, size;
	} cases[] = {
		{ { 0x88, 0x0b }, 2, 1 },		/* mov [rbx], cl */
		{ { 0x66, 0x89, 0x0b }, 3, 2 },		/* mov [rbx], cx */
		{ { 0x89, 0x0b }, 2, 4 },		/* mov [rbx], ecx */
		{ { 0x48, 0x89, 0x0b }, 3, 8 },		/* mov [rbx], rcx */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fake_reset64();
		fake.regs.rbx = FAKE_DATA;
		fake.regs.rcx = 0x1122334455667788ull;
		fake_put(FAKE_DATA, 0xaaaaaaaaaaaaaaaaull, 8);
		fake_put(FAKE_DATA + 8, 0xaa, 1);
		assert_done(fake_run(cases[i].code, cases[i].len));
		assert_int_equal(fake_get(FAKE_DATA, 8),
				 (0xaaaaaaaaaaaaaaaaull &
				  ~(cases[i].size == 8 ? ~0ull :
				    (1ull << (cases[i].size * 8)) - 1)) |
				 (0x1122334455667788ull &
				  (cases[i].size == 8 ? ~0ull :
				   (1ull << (cases[i].size * 8)) - 1)));
		assert_int_equal(fake_get(FAKE_DATA + 8, 1), 0xaa);
		assert_int_equal(fake.ctxt.insn_len, cases[i].len);
		assert_int_equal(fake.regs.rip, FAKE_CODE + cases[i].len);
		assert_access(FAKE_DATA, cases[i].size, true);
		assert_int_equal(fake.writes, 1);
		assert_int_equal(fake.reads, 0);
	}
}

static void test_mov_load_sizes(void **state)
{
	(void)state;
	fake.regs.rbx = FAKE_DATA;
	fake_put(FAKE_DATA, 0x8899aabbccddeeffull, 8);

	fake.regs.rcx = 0x1111111111111111ull;
	assert_done(RUN(0x8a, 0x0b));			/* mov cl, [rbx] */
	assert_int_equal(fake.regs.rcx, 0x11111111111111ffull);
	assert_access(FAKE_DATA, 1, false);

	assert_done(RUN(0x66, 0x8b, 0x0b));		/* mov cx, [rbx] */
	assert_int_equal(fake.regs.rcx, 0x111111111111eeffull);

	assert_done(RUN(0x8b, 0x0b));			/* mov ecx, [rbx] */
	assert_int_equal(fake.regs.rcx, 0xccddeeffull);	/* zero-extended */

	assert_done(RUN(0x48, 0x8b, 0x0b));		/* mov rcx, [rbx] */
	assert_int_equal(fake.regs.rcx, 0x8899aabbccddeeffull);
	assert_access(FAKE_DATA, 8, false);
}

static void test_mov_high_byte_registers(void **state)
{
	(void)state;
	fake.regs.rbx = FAKE_DATA;
	fake.regs.rax = 0x1234;
	fake.regs.rsp = 0x5678;

	assert_done(RUN(0x88, 0x23));			/* mov [rbx], ah */
	assert_int_equal(fake_get(FAKE_DATA, 1), 0x12);
	assert_done(RUN(0x40, 0x88, 0x23));		/* mov [rbx], spl */
	assert_int_equal(fake_get(FAKE_DATA, 1), 0x78);

	fake_put(FAKE_DATA, 0x9c, 1);
	fake.regs.rdi = 0xffff;
	assert_done(RUN(0x8a, 0x3b));			/* mov bh, [rbx] */
	assert_int_equal(fake.regs.rbx, (FAKE_DATA & ~0xff00ull) | 0x9c00);
	fake.regs.rbx = FAKE_DATA;
	assert_done(RUN(0x40, 0x8a, 0x3b));		/* mov dil, [rbx] */
	assert_int_equal(fake.regs.rdi, 0xff9c);
	assert_int_equal(fake.regs.rbx, FAKE_DATA);

	/* REX.R reaches r8b-r15b: mov r12b, [rbx] */
	fake.regs.r12 = 0x7700;
	assert_done(RUN(0x44, 0x8a, 0x23));
	assert_int_equal(fake.regs.r12, 0x779c);
}

static void test_mov_extended_registers(void **state)
{
	(void)state;
	fake.regs.r13 = FAKE_DATA;
	fake.regs.r9 = 0x0102030405060708ull;
	assert_done(RUN(0x4d, 0x89, 0x4d, 0x00));	/* mov [r13+0], r9 */
	assert_int_equal(fake_get(FAKE_DATA, 8), 0x0102030405060708ull);
	assert_int_equal(fake.ctxt.insn_len, 4);

	fake.regs.r15 = 0;
	fake.regs.r8 = FAKE_DATA;
	assert_done(RUN(0x4d, 0x8b, 0x38));		/* mov r15, [r8] */
	assert_int_equal(fake.regs.r15, 0x0102030405060708ull);

	/* 32-bit write to r11d zero-extends. */
	fake.regs.r11 = ~0ull;
	assert_done(RUN(0x45, 0x8b, 0x18));		/* mov r11d, [r8] */
	assert_int_equal(fake.regs.r11, 0x05060708ull);
}

static void test_mov_imm(void **state)
{
	(void)state;
	fake.regs.rbx = FAKE_DATA;
	fake_put(FAKE_DATA, ~0ull, 8);
	assert_done(RUN(0xc6, 0x03, 0x5a));		/* mov byte [rbx], 0x5a */
	assert_int_equal(fake_get(FAKE_DATA, 8), 0xffffffffffffff5aull);
	assert_done(RUN(0x66, 0xc7, 0x03, 0x34, 0x12));	/* mov word [rbx], 0x1234 */
	assert_int_equal(fake_get(FAKE_DATA, 8), 0xffffffffffff1234ull);
	assert_int_equal(fake.ctxt.insn_len, 5);
	assert_done(RUN(0xc7, 0x03, 0x78, 0x56, 0x34, 0x12));
	assert_int_equal(fake_get(FAKE_DATA, 8), 0xffffffff12345678ull);
	/* mov qword [rbx], -2: imm32 sign-extended */
	assert_done(RUN(0x48, 0xc7, 0x03, 0xfe, 0xff, 0xff, 0xff));
	assert_int_equal(fake_get(FAKE_DATA, 8), 0xfffffffffffffffeull);
	assert_access(FAKE_DATA, 8, true);
	/* mov qword [rbx], 0x7fffffff: positive stays positive */
	assert_done(RUN(0x48, 0xc7, 0x03, 0xff, 0xff, 0xff, 0x7f));
	assert_int_equal(fake_get(FAKE_DATA, 8), 0x7fffffffull);
}

static void test_mov_moffs(void **state)
{
	(void)state;
	fake_put(FAKE_DATA, 0x1122334455667788ull, 8);
	/* mov eax, [moffs64] */
	assert_done(RUN(0xa1, 0x00, 0x80, 0, 0, 0, 0, 0, 0));
	assert_int_equal(fake.regs.rax, 0x55667788ull);
	assert_int_equal(fake.ctxt.insn_len, 9);
	/* mov al, [moffs64] keeps the rest of RAX */
	assert_done(RUN(0xa0, 0x01, 0x80, 0, 0, 0, 0, 0, 0));
	assert_int_equal(fake.regs.rax, 0x55667777ull);
	/* mov [moffs64], rax */
	fake.regs.rax = 0xdeadbeefcafef00dull;
	assert_done(RUN(0x48, 0xa3, 0x10, 0x80, 0, 0, 0, 0, 0, 0));
	assert_int_equal(fake_get(FAKE_DATA + 0x10, 8), 0xdeadbeefcafef00dull);
	assert_access(FAKE_DATA + 0x10, 8, true);
	/* 67: a 4-byte offset. mov [moffs32], al */
	assert_done(RUN(0x67, 0xa2, 0x20, 0x80, 0, 0));
	assert_int_equal(fake.ctxt.insn_len, 6);
	assert_int_equal(fake_get(FAKE_DATA + 0x20, 1), 0x0d);
	/* FS override applies its base: mov ax, fs:[moffs] */
	fake.sregs.fs_base = 0x10;
	assert_done(RUN(0x64, 0x66, 0xa1, 0x10, 0x80, 0, 0, 0, 0, 0, 0));
	assert_int_equal(fake.regs.rax, 0xdeadbeefcafe000dull);
	assert_access(FAKE_DATA + 0x20, 2, false);

	/* 32-bit mode: 4-byte offset, DS base */
	fake_reset32();
	fake.sregs.ds_base = 0x100;
	fake_put(FAKE_DATA + 0x100, 0xabcd1234, 4);
	assert_done(RUN(0xa1, 0x00, 0x80, 0, 0));	/* mov eax, [0x8000] */
	assert_int_equal(fake.regs.rax, 0xabcd1234);
	assert_int_equal(fake.ctxt.insn_len, 5);

	/* 16-bit mode: 2-byte offset */
	fake_reset16();
	fake.sregs.ds_base = 0x20000;
	fake_put(0x20000 + 0x1234, 0x5a5a, 2);
	assert_done(RUN(0xa1, 0x34, 0x12));		/* mov ax, [0x1234] */
	assert_int_equal(fake.regs.rax, 0x5a5a);
	assert_int_equal(fake.ctxt.insn_len, 3);
}

static void test_movzx_movsx(void **state)
{
	(void)state;
	fake.regs.rbx = FAKE_DATA;
	fake_put(FAKE_DATA, 0x8180, 2);

	fake.regs.rax = ~0ull;
	assert_done(RUN(0x0f, 0xb6, 0x03));		/* movzx eax, byte [rbx] */
	assert_int_equal(fake.regs.rax, 0x80);
	assert_access(FAKE_DATA, 1, false);
	fake.regs.rax = ~0ull;
	assert_done(RUN(0x66, 0x0f, 0xb6, 0x03));	/* movzx ax, byte [rbx] */
	assert_int_equal(fake.regs.rax, 0xffffffffffff0080ull);
	assert_done(RUN(0x48, 0x0f, 0xb7, 0x03));	/* movzx rax, word [rbx] */
	assert_int_equal(fake.regs.rax, 0x8180);
	assert_access(FAKE_DATA, 2, false);

	assert_done(RUN(0x0f, 0xbe, 0x03));		/* movsx eax, byte [rbx] */
	assert_int_equal(fake.regs.rax, 0xffffff80ull);
	assert_done(RUN(0x48, 0x0f, 0xbe, 0x03));	/* movsx rax, byte [rbx] */
	assert_int_equal(fake.regs.rax, 0xffffffffffffff80ull);
	fake.regs.rax = 0;
	assert_done(RUN(0x66, 0x0f, 0xbe, 0x03));	/* movsx ax, byte [rbx] */
	assert_int_equal(fake.regs.rax, 0xff80);
	assert_done(RUN(0x48, 0x0f, 0xbf, 0x03));	/* movsx rax, word [rbx] */
	assert_int_equal(fake.regs.rax, 0xffffffffffff8180ull);
	assert_done(RUN(0x0f, 0xbf, 0x03));		/* movsx eax, word [rbx] */
	assert_int_equal(fake.regs.rax, 0xffff8180ull);

	fake_put(FAKE_DATA, 0x7f, 1);
	assert_done(RUN(0x48, 0x0f, 0xbe, 0x03));	/* positive byte */
	assert_int_equal(fake.regs.rax, 0x7f);

	/* movzx r9d, byte [rbx]; movsx r10w, byte [rbx] */
	fake.regs.r9 = ~0ull;
	fake.regs.r10 = ~0ull;
	assert_done(RUN(0x44, 0x0f, 0xb6, 0x0b));
	assert_int_equal(fake.regs.r9, 0x7f);
	assert_done(RUN(0x66, 0x44, 0x0f, 0xbe, 0x13));
	assert_int_equal(fake.regs.r10, 0xffffffffffff007full);
}

static void test_movsxd(void **state)
{
	(void)state;
	fake.regs.rbx = FAKE_DATA;
	fake_put(FAKE_DATA, 0x80000001, 4);

	assert_done(RUN(0x48, 0x63, 0x03));		/* movsxd rax, [rbx] */
	assert_int_equal(fake.regs.rax, 0xffffffff80000001ull);
	assert_access(FAKE_DATA, 4, false);
	assert_done(RUN(0x4c, 0x63, 0x03));		/* movsxd r8, [rbx] */
	assert_int_equal(fake.regs.r8, 0xffffffff80000001ull);
	fake.regs.rax = ~0ull;
	assert_done(RUN(0x63, 0x03));			/* movsxd eax: a move */
	assert_int_equal(fake.regs.rax, 0x80000001ull);
	fake.regs.rax = ~0ull;
	assert_done(RUN(0x66, 0x63, 0x03));		/* 16-bit form */
	assert_int_equal(fake.regs.rax, 0xffffffffffff0001ull);
	assert_access(FAKE_DATA, 2, false);

	/* Outside 64-bit mode 63 is ARPL. */
	fake_reset32();
	assert_int_equal(RUN(0x63, 0x03), EMU_UNHANDLED);
}

static void test_register_forms(void **state)
{
	(void)state;
	/* mov eax, ecx (89 c8): no memory access, still right. */
	fake.regs.rax = ~0ull;
	fake.regs.rcx = 0x123456789ull;
	assert_done(RUN(0x89, 0xc8));
	assert_int_equal(fake.regs.rax, 0x23456789ull);
	assert_int_equal(fake.ctxt.mem_size, 0);
	assert_int_equal(fake.reads + fake.writes + fake.cmpxchgs, 0);
	/* mov ah, cl (88 cc) and mov r9b, spl (41 88 e1) */
	fake.regs.rax = 0;
	assert_done(RUN(0x88, 0xcc));
	assert_int_equal(fake.regs.rax, 0x8900);
	fake.regs.rsp = 0x42;
	assert_done(RUN(0x41, 0x88, 0xe1));
	assert_int_equal(fake.regs.r9, 0x42);
	/* movzx eax, ch (0f b6 c5) */
	fake.regs.rcx = 0xfe00;
	assert_done(RUN(0x0f, 0xb6, 0xc5));
	assert_int_equal(fake.regs.rax, 0xfe);
	assert_int_equal(fake.reads + fake.writes + fake.cmpxchgs, 0);
}

/* ------------------------------------------------------- prefixes */

static void test_rex_position(void **state)
{
	(void)state;
	fake.regs.rbx = FAKE_DATA;
	fake.regs.rcx = 0x1122334455667788ull;
	/* REX then 66: the REX is cancelled, the store is 16-bit. */
	assert_done(RUN(0x48, 0x66, 0x89, 0x0b));
	assert_access(FAKE_DATA, 2, true);
	/* 66 then REX.W: REX.W wins, 64-bit. */
	assert_done(RUN(0x66, 0x48, 0x89, 0x0b));
	assert_access(FAKE_DATA, 8, true);
	/* Two REX bytes: the last one counts (41: [r11], not [rbx]). */
	fake.regs.r11 = FAKE_DATA + 0x40;
	assert_done(RUN(0x48, 0x41, 0x89, 0x0b));
	assert_access(FAKE_DATA + 0x40, 4, true);
	/* A REX cancelled by a segment prefix no longer selects SPL. */
	fake.regs.rsp = 0x99;
	fake.regs.rax = 0x4200;
	assert_done(RUN(0x40, 0x3e, 0x88, 0x23));	/* mov [rbx], ah */
	assert_int_equal(fake_get(FAKE_DATA, 1), 0x42);
	/* F2/F3 on a MOV are ignored. */
	assert_done(RUN(0xf3, 0x89, 0x0b));
	assert_access(FAKE_DATA, 4, true);
	assert_done(RUN(0xf2, 0x88, 0x0b));
	assert_access(FAKE_DATA, 1, true);
}

static void test_longest_instruction(void **state)
{
	static const uint8_t fifteen[] = {
		0x66, 0x66, 0x66,		/* three prefixes */
		0x48, 0xc7, 0x84, 0x24,		/* mov qword [rsp+disp32], */
		0x00, 0x80, 0x00, 0x00,		/*   0x8000 */
		0x78, 0x56, 0x34, 0x12,		/*   0x12345678 */
	};
	uint8_t sixteen[16];

	(void)state;
	assert_done(fake_run(fifteen, sizeof(fifteen)));
	assert_int_equal(fake.ctxt.insn_len, 15);
	assert_int_equal(fake_get(0x8000, 8), 0x12345678);

	fake_reset64();
	sixteen[0] = 0x66;
	memcpy(sixteen + 1, fifteen, sizeof(fifteen));
	assert_fault(fake_run(sixteen, sizeof(sixteen)), EMU_VEC_GP, 0);
	assert_int_equal(fake.regs.rip, FAKE_CODE);
	assert_int_equal(fake_get(0x8000, 8), 0);

	/* Prefixes only: the 16th byte is never reached. */
	fake_reset64();
	memset(sixteen, 0xf3, sizeof(sixteen));
	assert_fault(fake_run(sixteen, sizeof(sixteen)), EMU_VEC_GP, 0);

	/* 32-bit mode too. */
	fake_reset32();
	memset(sixteen, 0x26, sizeof(sixteen));
	assert_fault(fake_run(sixteen, sizeof(sixteen)), EMU_VEC_GP, 0);
}

static void test_lock_ud(void **state)
{
	static const struct {
		const char *name;
		uint8_t code[8];
		unsigned len;
	} cases[] = {
		{ "lock mov [rbx], eax", { 0xf0, 0x89, 0x03 }, 3 },
		{ "lock mov eax, [rbx]", { 0xf0, 0x8b, 0x03 }, 3 },
		{ "lock cmp [rbx], eax", { 0xf0, 0x39, 0x03 }, 3 },
		{ "lock cmp dword [rbx], 1", { 0xf0, 0x83, 0x3b, 0x01 }, 4 },
		{ "lock add eax, ecx", { 0xf0, 0x01, 0xc8 }, 3 },
		{ "lock add eax, [rbx]", { 0xf0, 0x03, 0x03 }, 3 },
		{ "lock add al, 1", { 0xf0, 0x04, 0x01 }, 3 },
		{ "lock test [rbx], eax", { 0xf0, 0x85, 0x03 }, 3 },
		{ "lock test byte [rbx], 1", { 0xf0, 0xf6, 0x03, 0x01 }, 4 },
		{ "lock bt [rbx], eax", { 0xf0, 0x0f, 0xa3, 0x03 }, 4 },
		{ "lock bt dword [rbx], 5", { 0xf0, 0x0f, 0xba, 0x23, 0x05 },
		  5 },
		{ "lock bts eax, ecx", { 0xf0, 0x0f, 0xab, 0xc8 }, 4 },
		{ "lock movzx eax, byte [rbx]", { 0xf0, 0x0f, 0xb6, 0x03 },
		  4 },
		{ "lock stosd", { 0xf0, 0xab }, 2 },
		{ "lock movsb", { 0xf0, 0xa4 }, 2 },
		{ "lock mov dword [rbx], 0", { 0xf0, 0xc7, 0x03, 0, 0, 0, 0 },
		  7 },
		{ "lock inc eax", { 0xf0, 0xff, 0xc0 }, 3 },
		{ "lock xchg eax, ecx", { 0xf0, 0x87, 0xc8 }, 3 },
		{ "lock cmpxchg ecx, eax", { 0xf0, 0x0f, 0xb1, 0xc1 }, 4 },
		{ "cmpxchg8b eax", { 0x0f, 0xc7, 0xc8 }, 3 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct vcpu_regs before;

		fake_reset64();
		fake.regs.rbx = FAKE_DATA;
		before = fake.regs;
		case_name(cases[i].name);
		assert_fault(fake_run(cases[i].code, cases[i].len), EMU_VEC_UD,
			     0);
		assert_regs_unchanged(&before);
		assert_int_equal(fake.ctxt.insn_len, cases[i].len);
		assert_int_equal(fake.reads + fake.writes + fake.cmpxchgs, 0);
	}
}

static void test_unknown_opcodes(void **state)
{
	static const struct {
		const char *name;
		uint8_t code[5];
		unsigned len;
	} cases[] = {
		{ "nop", { 0x90 }, 1 },
		{ "ud2", { 0x0f, 0x0b }, 2 },
		{ "mul byte [rbx]", { 0xf6, 0x23 }, 2 },
		{ "test alias f7 /1", { 0xf7, 0x0b, 0, 0, 0 }, 5 },
		{ "div dword [rbx]", { 0xf7, 0x33 }, 2 },
		{ "call [rbx]", { 0xff, 0x13 }, 2 },
		{ "push [rbx]", { 0xff, 0x33 }, 2 },
		{ "c6 /1", { 0xc6, 0x0b, 0x00 }, 3 },
		{ "0f ba /0", { 0x0f, 0xba, 0x03, 0x00 }, 4 },
		{ "82 in 64-bit mode", { 0x82, 0x03, 0x01 }, 3 },
		{ "cmpsb", { 0xa6 }, 1 },
		{ "scasd", { 0xaf }, 1 },
		{ "mov [rbx], es", { 0x8c, 0x03 }, 2 },
		{ "pop [rbx]", { 0x8f, 0x03 }, 2 },
		{ "vex", { 0xc5, 0xf8, 0x77 }, 3 },
		{ "0f 38 map", { 0x0f, 0x38, 0x00, 0x03 }, 4 },
		{ "cmpxchg8b /2", { 0x0f, 0xc7, 0x13 }, 3 },
		{ "lock nop", { 0xf0, 0x90 }, 2 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct vcpu_regs before;

		fake_reset64();
		fake.regs.rbx = FAKE_DATA;
		before = fake.regs;
		case_name(cases[i].name);
		assert_int_equal(fake_run(cases[i].code, cases[i].len),
				 EMU_UNHANDLED);
		assert_regs_unchanged(&before);
		assert_int_equal(fake.reads + fake.writes + fake.cmpxchgs, 0);
	}

	/* 82 is 80 outside 64-bit mode: add byte [ebx], 1 */
	fake_reset32();
	fake.regs.rbx = FAKE_DATA;
	assert_done(RUN(0x82, 0x03, 0x01));
	assert_int_equal(fake_get(FAKE_DATA, 1), 1);
}

/* ----------------------------------------------------- MMIO window */

static void test_mmio_accesses_logged(void **state)
{
	(void)state;
	fake.regs.rbx = FAKE_MMIO_BASE + 0x30;
	fake.regs.rax = 0x0102030405060708ull;

	assert_done(RUN(0x48, 0x89, 0x03));		/* mov [rbx], rax */
	assert_int_equal(fake.log_count, 1);
	assert_int_equal(fake.log[0].kind, 'w');
	assert_int_equal(fake.log[0].size, 8);
	assert_int_equal(fake.log[0].linear, FAKE_MMIO_BASE + 0x30);
	assert_memory_equal(fake.log[0].data,
			    ((uint8_t[]){ 8, 7, 6, 5, 4, 3, 2, 1 }), 8);

	/* A device register read is one access of the operand's size. */
	assert_done(RUN(0x0f, 0xb7, 0x4b, 0x02));	/* movzx ecx, word [rbx+2] */
	assert_int_equal(fake.log_count, 2);
	assert_int_equal(fake.log[1].kind, 'r');
	assert_int_equal(fake.log[1].size, 2);
	assert_int_equal(fake.log[1].linear, FAKE_MMIO_BASE + 0x32);
	assert_int_equal(fake.regs.rcx, 0x0506);

	/* OR [rbx], 0x100 without LOCK: a read, then a write. */
	assert_done(RUN(0x81, 0x0b, 0x00, 0x01, 0x00, 0x00));
	assert_int_equal(fake.log_count, 4);
	assert_int_equal(fake.log[2].kind, 'r');
	assert_int_equal(fake.log[3].kind, 'w');
	assert_int_equal(fake.log[3].size, 4);
	assert_int_equal(fake_get(FAKE_MMIO_BASE + 0x30, 4), 0x05060708 |
							      0x100);
	/* CMP only reads. */
	assert_done(RUN(0x83, 0x3b, 0x01));
	assert_int_equal(fake.log_count, 5);
	assert_int_equal(fake.log[4].kind, 'r');
	assert_false(fake.ctxt.mem_write);
}


int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup64, teardown)
	const struct CMUnitTest tests[] = {
		T(test_mov_store_sizes),
		T(test_mov_load_sizes),
		T(test_mov_high_byte_registers),
		T(test_mov_extended_registers),
		T(test_mov_imm),
		T(test_mov_moffs),
		T(test_movzx_movsx),
		T(test_movsxd),
		T(test_register_forms),
		T(test_rex_position),
		T(test_longest_instruction),
		T(test_lock_ud),
		T(test_unknown_opcodes),
		T(test_mmio_accesses_logged),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
