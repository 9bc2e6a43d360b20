/*
 * Host tests of the emulator's addressing: every ModRM/SIB form in
 * 64-bit mode (scales, no base, no index, REX.X/REX.B, RIP-relative, 67),
 * the 16-bit forms and their wraps, segment bases and overrides in 16-,
 * 32- and 64-bit mode, operand/address-size prefixes per mode; and the
 * faults: non-canonical #GP/#SS, #PF from each callback, instruction
 * fetches across pages.
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

/* ------------------------------------------------ addressing (64-bit) */

struct ea_case {
	const char *name;
	uint8_t code[12];
	unsigned len;
	uint64_t expect;	/* linear address of the dword read */
};

/* Registers for the table: each a distinct small value. */
static void ea_regs(void)
{
	fake.regs.rax = 0x10000;
	fake.regs.rcx = 0x100;
	fake.regs.rdx = 0x20000;
	fake.regs.rbx = 0x30000;
	fake.regs.rsp = 0x40000;
	fake.regs.rbp = 0x50000;
	fake.regs.rsi = 0x60000;
	fake.regs.rdi = 0x70000;
	fake.regs.r12 = 0x2000;
	fake.regs.r13 = 0x90000;
}

static void test_addressing_64(void **state)
{
	static const struct ea_case cases[] = {
		{ "[rbx]", { 0x8b, 0x03 }, 2, 0x30000 },
		{ "[rbx-8]", { 0x8b, 0x43, 0xf8 }, 3, 0x30000 - 8 },
		{ "[rbx+disp32]", { 0x8b, 0x83, 0x00, 0x10, 0, 0 }, 6,
		  0x31000 },
		{ "[rbp+8]", { 0x8b, 0x45, 0x08 }, 3, 0x50008 },
		{ "[rsp]", { 0x8b, 0x04, 0x24 }, 3, 0x40000 },
		{ "[rsp+8]", { 0x8b, 0x44, 0x24, 0x08 }, 4, 0x40008 },
		{ "[rax+rcx*4+0x10]", { 0x8b, 0x44, 0x88, 0x10 }, 4,
		  0x10410 },
		{ "[rax+rcx*1]", { 0x8b, 0x04, 0x08 }, 3, 0x10100 },
		{ "[rax+rcx*2]", { 0x8b, 0x04, 0x48 }, 3, 0x10200 },
		{ "[rax+rcx*8-0x100]",
		  { 0x8b, 0x84, 0xc8, 0x00, 0xff, 0xff, 0xff }, 7, 0x10700 },
		{ "[disp32] (SIB, no base, no index)",
		  { 0x8b, 0x04, 0x25, 0x00, 0x80, 0, 0 }, 7, 0x8000 },
		{ "[rcx*8+disp32] (SIB, no base)",
		  { 0x8b, 0x04, 0xcd, 0x00, 0x80, 0, 0 }, 7, 0x8800 },
		{ "[rbp+rcx] (SIB base rbp mod 1)",
		  { 0x8b, 0x44, 0x0d, 0x00 }, 4, 0x50100 },
		{ "[rbx] (SIB index 4 = none)", { 0x8b, 0x04, 0x63 }, 3,
		  0x30000 },
		{ "[rbx+r12*2] (REX.X)", { 0x42, 0x8b, 0x04, 0x63 }, 4,
		  0x34000 },
		{ "[r12] (REX.B, SIB)", { 0x41, 0x8b, 0x04, 0x24 }, 4,
		  0x2000 },
		{ "[r13+0] (REX.B, mod 1)", { 0x41, 0x8b, 0x45, 0x00 }, 4,
		  0x90000 },
		{ "[disp32] (SIB base 5 with REX.B: no r13)",
		  { 0x41, 0x8b, 0x04, 0x25, 0x00, 0x80, 0, 0 }, 8, 0x8000 },
		{ "[r12+r12*1] (REX.X+B)", { 0x43, 0x8b, 0x04, 0x24 }, 4,
		  0x4000 },
		{ "[rip+0x100]", { 0x8b, 0x05, 0x00, 0x01, 0, 0 }, 6,
		  FAKE_CODE + 6 + 0x100 },
		{ "[rip-0x10] (REX.B ignored)",
		  { 0x41, 0x8b, 0x05, 0xf0, 0xff, 0xff, 0xff }, 7,
		  FAKE_CODE + 7 - 0x10 },
		{ "67 [eax+ecx]", { 0x67, 0x8b, 0x04, 0x08 }, 4, 0x10100 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fake_reset64();
		ea_regs();
		fake_put(cases[i].expect, 0xc0ffee00 + i, 4);
		case_name(cases[i].name);
		assert_done(fake_run(cases[i].code, cases[i].len));
		assert_int_equal(fake.regs.rax, 0xc0ffee00 + i);
		assert_access(cases[i].expect, 4, false);
		assert_int_equal(fake.ctxt.insn_len, cases[i].len);
		assert_int_equal(fake.regs.rip, FAKE_CODE + cases[i].len);
	}
}

static void test_rip_relative_with_immediate(void **state)
{
	(void)state;
	/* mov dword [rip+0x10], 0x12345678: RIP is the next instruction's,
	 * after the immediate. */
	assert_done(RUN(0xc7, 0x05, 0x10, 0, 0, 0, 0x78, 0x56, 0x34, 0x12));
	assert_int_equal(fake_get(FAKE_CODE + 10 + 0x10, 4), 0x12345678);
	/* add byte [rip+0], 1 (80 05 disp32 ib) */
	fake.regs.rip = FAKE_CODE;
	assert_done(RUN(0x80, 0x05, 0, 0, 0, 0, 0x01));
	assert_access(FAKE_CODE + 7, 1, true);
	/* 67: EIP-relative, wrapped to 32 bits. */
	fake.regs.rip = FAKE_CODE;
	fake_put(FAKE_CODE + 7 + 0x20, 0x99, 4);
	assert_done(RUN(0x67, 0x8b, 0x05, 0x20, 0, 0, 0));
	assert_int_equal(fake.regs.rax, 0x99);
	/* mov eax, [rip-0x2000]: below 0 in 64 bits, near 4G with 67 */
	fake.regs.rip = FAKE_CODE;
	assert_fault(RUN(0x8b, 0x05, 0x00, 0xe0, 0xff, 0xff), EMU_VEC_PF, 0);
	assert_int_equal(fake.ctxt.fault_linear,
			 FAKE_CODE + 6 - 0x2000);
	assert_fault(RUN(0x67, 0x8b, 0x05, 0x00, 0xe0, 0xff, 0xff),
		     EMU_VEC_PF, 0);
	assert_int_equal(fake.ctxt.fault_linear,
			 (FAKE_CODE + 7 - 0x2000) & 0xffffffffull);
}

static void test_addr32_wraps(void **state)
{
	(void)state;
	/* 67 mov eax, [ebx+0x10] with EBX near 4G: wraps to 0xf; the
	 * upper half of RBX is ignored. */
	fake.regs.rbx = 0xabcd0000ffffffffull;
	fake_put(0xf, 0x77, 4);
	assert_done(RUN(0x67, 0x8b, 0x43, 0x10));
	assert_access(0xf, 4, false);
	assert_int_equal(fake.regs.rax, 0x77);
	/* 64-bit addressing does not wrap there. */
	fake.regs.rbx = 0xffffffffull;
	assert_fault(RUN(0x8b, 0x43, 0x10), EMU_VEC_PF, 0);
	assert_int_equal(fake.ctxt.fault_linear, 0x10000000full);
}

static void test_segments_64(void **state)
{
	(void)state;
	fake.sregs.ds_base = 0x1000;
	fake.sregs.es_base = 0x2000;
	fake.sregs.ss_base = 0x3000;
	fake.sregs.cs_base = 0x4000;
	fake.sregs.fs_base = 0x100;
	fake.sregs.gs_base = 0x200;
	fake.regs.rbx = FAKE_DATA;

	assert_done(RUN(0x8b, 0x03));			/* mov eax, [rbx] */
	assert_access(FAKE_DATA, 4, false);
	assert_done(RUN(0x26, 0x8b, 0x03));		/* es: ignored */
	assert_access(FAKE_DATA, 4, false);
	assert_done(RUN(0x2e, 0x8b, 0x03));		/* cs: ignored */
	assert_access(FAKE_DATA, 4, false);
	assert_done(RUN(0x36, 0x8b, 0x03));		/* ss: ignored */
	assert_access(FAKE_DATA, 4, false);
	assert_done(RUN(0x64, 0x8b, 0x03));		/* fs: */
	assert_access(FAKE_DATA + 0x100, 4, false);
	assert_done(RUN(0x65, 0x8b, 0x03));		/* gs: */
	assert_access(FAKE_DATA + 0x200, 4, false);
	assert_done(RUN(0x64, 0x65, 0x8b, 0x03));	/* the last one wins */
	assert_access(FAKE_DATA + 0x200, 4, false);
	assert_done(RUN(0x65, 0x3e, 0x8b, 0x03));	/* ds after gs: ignored */
	assert_access(FAKE_DATA, 4, false);
	/* An FS base far away: the sum is what counts. */
	fake.sregs.fs_base = 0xffff800000000000ull;
	fake.regs.rbx = FAKE_MMIO_BASE - 0xffff800000000000ull;
	assert_done(RUN(0x64, 0x8b, 0x03));
	assert_access(FAKE_MMIO_BASE, 4, false);
	assert_int_equal(fake.log_count, 1);
}

static void test_segments_32(void **state)
{
	(void)state;
	fake_reset32();
	fake.sregs.ds_base = 0x1000;
	fake.sregs.es_base = 0x2000;
	fake.sregs.ss_base = 0x3000;
	fake.sregs.cs_base = 0x100;
	fake.sregs.fs_base = 0x5000;
	fake.sregs.gs_base = 0x6000;
	fake.regs.rbx = FAKE_DATA;
	fake.regs.rbp = FAKE_DATA;
	fake.regs.rsp = FAKE_DATA;
	fake.regs.rip = FAKE_CODE - 0x100;	/* CS base + EIP = FAKE_CODE */

	assert_done(RUN(0x8b, 0x03));			/* mov eax, [ebx] */
	assert_access(0x1000 + FAKE_DATA, 4, false);
	assert_int_equal(fake.regs.rip, FAKE_CODE - 0x100 + 2);
	fake.regs.rip = FAKE_CODE - 0x100;
	assert_done(RUN(0x8b, 0x45, 0x00));		/* [ebp+0]: SS */
	assert_access(0x3000 + FAKE_DATA, 4, false);
	fake.regs.rip = FAKE_CODE - 0x100;
	assert_done(RUN(0x8b, 0x04, 0x24));		/* [esp]: SS */
	assert_access(0x3000 + FAKE_DATA, 4, false);
	fake.regs.rip = FAKE_CODE - 0x100;
	assert_done(RUN(0x3e, 0x8b, 0x45, 0x00));	/* ds:[ebp] */
	assert_access(0x1000 + FAKE_DATA, 4, false);
	fake.regs.rip = FAKE_CODE - 0x100;
	assert_done(RUN(0x26, 0x8b, 0x03));		/* es:[ebx] */
	assert_access(0x2000 + FAKE_DATA, 4, false);
	fake.regs.rip = FAKE_CODE - 0x100;
	assert_done(RUN(0x2e, 0x8b, 0x03));		/* cs:[ebx] */
	assert_access(0x100 + FAKE_DATA, 4, false);
	fake.regs.rip = FAKE_CODE - 0x100;
	assert_done(RUN(0x36, 0x8b, 0x03));		/* ss:[ebx] */
	assert_access(0x3000 + FAKE_DATA, 4, false);
	fake.regs.rip = FAKE_CODE - 0x100;
	assert_done(RUN(0x64, 0x8b, 0x03));		/* fs:[ebx] */
	assert_access(0x5000 + FAKE_DATA, 4, false);
	fake.regs.rip = FAKE_CODE - 0x100;
	assert_done(RUN(0x65, 0x8b, 0x03));		/* gs:[ebx] */
	assert_access(0x6000 + FAKE_DATA, 4, false);

	/* Base + offset wraps at 4 GiB. */
	fake.sregs.ds_base = 0xfffff000ull;
	fake.regs.rbx = 0x1000 + FAKE_DATA;
	fake.regs.rip = FAKE_CODE - 0x100;
	assert_done(RUN(0x8b, 0x03));
	assert_access(FAKE_DATA, 4, false);

	/* Upper halves of registers do not matter in 32-bit mode. */
	fake.sregs.ds_base = 0;
	fake.regs.rbx = 0xffffffff00000000ull | FAKE_DATA;
	fake.regs.rip = FAKE_CODE - 0x100;
	assert_done(RUN(0x8b, 0x03));
	assert_access(FAKE_DATA, 4, false);
}

static void test_sizes_32bit_mode(void **state)
{
	(void)state;
	fake_reset32();
	fake.regs.rbx = FAKE_DATA;
	fake.regs.rcx = 0xaabbccdd;
	fake_put(FAKE_DATA, 0, 8);
	assert_done(RUN(0x89, 0x0b));			/* mov [ebx], ecx */
	assert_access(FAKE_DATA, 4, true);
	fake.regs.rip = FAKE_CODE;
	assert_done(RUN(0x66, 0x89, 0x0b));		/* mov [ebx], cx */
	assert_access(FAKE_DATA, 2, true);
	/* 67: 16-bit addressing. mov eax, [bx+si] */
	fake.regs.rbx = 0x10000 + 0x100;		/* BX = 0x100 */
	fake.regs.rsi = 0x20;
	fake_put(0x120, 0x4321, 4);
	fake.regs.rip = FAKE_CODE;
	assert_done(RUN(0x67, 0x8b, 0x00));
	assert_access(0x120, 4, false);
	assert_int_equal(fake.regs.rax, 0x4321);
	/* 0x48 is DEC EAX outside 64-bit mode. */
	fake.regs.rip = FAKE_CODE;
	assert_int_equal(RUN(0x48, 0x89, 0x0b), EMU_UNHANDLED);
}

/* ------------------------------------------------------ 16-bit forms */

static void test_addressing_16(void **state)
{
	static const struct {
		const char *name;
		uint8_t code[4];
		unsigned len;
		uint16_t offset;
		bool ss;
	} cases[] = {
		{ "[bx+si]", { 0x8b, 0x00 }, 2, 0x1000 + 0x30, false },
		{ "[bx+di]", { 0x8b, 0x01 }, 2, 0x1000 + 0x40, false },
		{ "[bp+si]", { 0x8b, 0x02 }, 2, 0x2000 + 0x30, true },
		{ "[bp+di]", { 0x8b, 0x03 }, 2, 0x2000 + 0x40, true },
		{ "[si]", { 0x8b, 0x04 }, 2, 0x30, false },
		{ "[di]", { 0x8b, 0x05 }, 2, 0x40, false },
		{ "[disp16]", { 0x8b, 0x06, 0x34, 0x12 }, 4, 0x1234, false },
		{ "[bx]", { 0x8b, 0x07 }, 2, 0x1000, false },
		{ "[bx+si-1]", { 0x8b, 0x40, 0xff }, 3, 0x102f, false },
		{ "[bp+8]", { 0x8b, 0x46, 0x08 }, 3, 0x2008, true },
		{ "[di+disp16]", { 0x8b, 0x85, 0x00, 0x01 }, 4, 0x140, false },
		{ "[bp+di+disp16]", { 0x8b, 0x83, 0x10, 0x00 }, 4, 0x2050,
		  true },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t base = cases[i].ss ? 0x30000 : 0x20000;

		fake_reset16();
		fake.sregs.cs_base = 0;
		fake.sregs.ds_base = 0x20000;
		fake.sregs.ss_base = 0x30000;
		fake.regs.rbx = 0xffff0000ull | 0x1000; /* upper bits ignored */
		fake.regs.rbp = 0x2000;
		fake.regs.rsi = 0x30;
		fake.regs.rdi = 0x40;
		fake.regs.rax = 0xffffffff00000000ull;
		fake_put(base + cases[i].offset, 0xbeef + i, 2);
		case_name(cases[i].name);
		assert_done(fake_run(cases[i].code, cases[i].len));
		assert_access(base + cases[i].offset, 2, false);
		assert_int_equal(fake.regs.rax, 0xffffffff00000000ull |
						(0xbeef + i));
		assert_int_equal(fake.ctxt.insn_len, cases[i].len);
		assert_int_equal(fake.regs.rip, FAKE_CODE + cases[i].len);
	}
}

static void test_16bit_wraps_and_prefixes(void **state)
{
	(void)state;
	fake_reset16();
	fake.sregs.ds_base = 0x20000;
	/* BX + SI wraps at 64 KiB. */
	fake.regs.rbx = 0xffff;
	fake.regs.rsi = 0x2;
	assert_done(RUN(0x89, 0x00));			/* mov [bx+si], ax */
	assert_access(0x20001, 2, true);

	/* 66: 32-bit operand; 67: 32-bit addressing with SIB. */
	fake.regs.rip = FAKE_CODE;
	fake.regs.rax = 0x11223344;
	fake.regs.rbx = 0x100;
	fake.regs.rcx = 0x10000;
	assert_done(RUN(0x66, 0x67, 0x89, 0x04, 0x8b));	/* mov [ebx+ecx*4], eax */
	assert_access(0x20000 + 0x40100, 4, true);
	assert_int_equal(fake_get(0x60100, 4), 0x11223344);

	/* IP wraps at 64 KiB: a 3-byte instruction at IP 0xfffe. */
	fake_reset16();
	fake.sregs.cs_base = 0x10000;
	fake.sregs.ds_base = 0;
	fake.regs.rip = 0xfffe;
	fake.regs.rbx = FAKE_DATA;
	fake.regs.rax = 0x5678;
	fake.ram[0x1fffe] = 0x89;			/* mov [bx+2], ax */
	fake.ram[0x1ffff] = 0x47;
	fake.ram[0x10000] = 0x02;
	assert_done(emulate_one(&fake.ctxt));
	assert_int_equal(fake.regs.rip, 1);
	assert_int_equal(fake_get(FAKE_DATA + 2, 2), 0x5678);
}

/* ------------------------------------------------------- faults */

static void test_noncanonical(void **state)
{
	struct vcpu_regs before;

	(void)state;
	fake.regs.rbx = 0x0000800000000000ull;
	fake.regs.rsp = 0x0000800000000000ull;
	fake.regs.rbp = 0xfff0000000000000ull;
	before = fake.regs;
	assert_fault(RUN(0x89, 0x03), EMU_VEC_GP, 0);	/* mov [rbx], eax */
	assert_regs_unchanged(&before);
	assert_int_equal(fake.reads + fake.writes, 0);
	assert_fault(RUN(0x8b, 0x04, 0x24), EMU_VEC_SS, 0);	/* [rsp] */
	assert_fault(RUN(0x8b, 0x45, 0x00), EMU_VEC_SS, 0);	/* [rbp] */
	assert_fault(RUN(0x8b, 0x44, 0x25, 0x00), EMU_VEC_SS, 0); /* [rbp+riz] */
	assert_fault(RUN(0x64, 0x8b, 0x04, 0x24), EMU_VEC_GP, 0); /* fs:[rsp] */
	assert_fault(RUN(0x8b, 0x04, 0x1c), EMU_VEC_SS, 0); /* [rsp+rbx] */
	assert_fault(RUN(0x8b, 0x04, 0x2b), EMU_VEC_GP, 0); /* [rbx+rbp] */
	assert_regs_unchanged(&before);

	/* The last byte counts: 8 bytes from 0x7ffffffffffc. */
	fake.regs.rbx = 0x00007ffffffffffcull;
	assert_fault(RUN(0x48, 0x89, 0x03), EMU_VEC_GP, 0);
	/* 4 bytes fit: not canonical-faulting (the callback fails). */
	assert_fault(RUN(0x89, 0x03), EMU_VEC_PF, EMU_PF_WRITE);
	assert_int_equal(fake.ctxt.fault_linear, 0x00007ffffffffffcull);

	/* FS base + offset is what is checked. */
	fake.sregs.fs_base = 0x00007ffffffff000ull;
	fake.regs.rbx = 0x1000;
	assert_fault(RUN(0x64, 0x8b, 0x03), EMU_VEC_GP, 0);

	/* With CR4.LA57 the boundary moves to bit 56. */
	fake.sregs.cr4 |= 1ull << 12;
	fake.regs.rbx = 0x0000800000000000ull;
	assert_fault(RUN(0x89, 0x03), EMU_VEC_PF, EMU_PF_WRITE);
	fake.regs.rbx = 0x0100000000000000ull;
	assert_fault(RUN(0x89, 0x03), EMU_VEC_GP, 0);
	fake.regs.rbx = 0xff00000000000000ull;
	assert_fault(RUN(0x89, 0x03), EMU_VEC_PF, EMU_PF_WRITE);

	/* A non-canonical RIP cannot be fetched from. */
	fake.sregs.cr4 &= ~(1ull << 12);
	fake.regs.rip = 0x0000800000000000ull;
	fake.fetches = 0;
	assert_fault(emulate_one(&fake.ctxt), EMU_VEC_GP, 0);
	assert_int_equal(fake.fetches, 0);
}

static void test_callback_faults(void **state)
{
	struct vcpu_regs before;

	(void)state;
	fake.regs.rbx = 0x40000000;			/* nothing there */
	fake.regs.rax = 0x55;
	before = fake.regs;
	assert_fault(RUN(0x8b, 0x03), EMU_VEC_PF, 0);	/* read */
	assert_int_equal(fake.ctxt.fault_linear, 0x40000000);
	assert_regs_unchanged(&before);
	assert_int_equal(fake.ctxt.insn_len, 2);
	assert_access(0x40000000, 4, false);
	assert_fault(RUN(0x89, 0x03), EMU_VEC_PF, EMU_PF_WRITE);
	assert_access(0x40000000, 4, true);
	assert_regs_unchanged(&before);

	/* The read of a read-modify-write succeeds, the write fails: no
	 * register (RFLAGS included) changes, with or without cmpxchg. */
	fake.regs.rbx = FAKE_DATA;
	fake.regs.rflags = 0x2;
	fake.ro_page = FAKE_DATA;
	before = fake.regs;
	assert_fault(RUN(0x01, 0x03), EMU_VEC_PF, EMU_PF_WRITE); /* add */
	assert_fault(RUN(0xf0, 0x01, 0x03), EMU_VEC_PF, EMU_PF_WRITE);
	assert_fault(RUN(0x87, 0x03), EMU_VEC_PF, EMU_PF_WRITE); /* xchg */
	assert_int_equal(fake.ctxt.fault_linear, FAKE_DATA);
	assert_regs_unchanged(&before);
	fake_no_cmpxchg();
	assert_fault(RUN(0xf0, 0x01, 0x03), EMU_VEC_PF, EMU_PF_WRITE);
	assert_regs_unchanged(&before);
	fake.ro_page = 0;

	/* A straddling access fails as one access. */
	fake.regs.rbx = FAKE_RAM_SIZE - 2;
	before = fake.regs;
	assert_fault(RUN(0x89, 0x03), EMU_VEC_PF, EMU_PF_WRITE);
	assert_int_equal(fake.ctxt.fault_linear, FAKE_RAM_SIZE - 2);
	assert_regs_unchanged(&before);

	/* CMPXCHG and CMPXCHG8B without the callback: the compare is equal
	 * and the write fails, or the read fails; nothing changes. */
	fake.regs.rbx = FAKE_DATA;
	fake.regs.rax = 0;
	fake.regs.rdx = 0;
	fake_put(FAKE_DATA, 0, 8);
	fake.ro_page = FAKE_DATA;
	before = fake.regs;
	assert_fault(RUN(0x0f, 0xb1, 0x0b), EMU_VEC_PF, EMU_PF_WRITE);
	assert_fault(RUN(0x0f, 0xc7, 0x0b), EMU_VEC_PF, EMU_PF_WRITE);
	assert_regs_unchanged(&before);
	fake.ro_page = 0;
	fake.regs.rbx = 0x40000000;
	before = fake.regs;
	assert_fault(RUN(0x0f, 0xc7, 0x0b), EMU_VEC_PF, 0);
	assert_int_equal(fake.ctxt.fault_linear, 0x40000000);
	assert_regs_unchanged(&before);
}

static void test_fetch_faults(void **state)
{
	(void)state;
	/* RIP outside RAM. */
	fake.regs.rip = 0x40000000;
	assert_fault(emulate_one(&fake.ctxt), EMU_VEC_PF, EMU_PF_FETCH);
	assert_int_equal(fake.ctxt.fault_linear, 0x40000000);
	assert_int_equal(fake.regs.rip, 0x40000000);

	/* An instruction ending on the last byte of a page before a page
	 * that faults: fine, the next page is not needed. */
	fake_reset64();
	fake.fail_addr = 0x3000;
	fake.fail_enabled = true;
	fake.regs.rip = 0x3000 - 2;
	fake.regs.rbx = FAKE_DATA;
	assert_done(RUN(0x89, 0x03));
	assert_int_equal(fake.regs.rip, 0x3000);

	/* One that crosses into it faults there. */
	fake.regs.rip = 0x3000 - 2;
	assert_fault(RUN(0x89, 0x43, 0x08), EMU_VEC_PF, EMU_PF_FETCH);
	assert_int_equal(fake.ctxt.fault_linear, 0x3000);
	assert_int_equal(fake.regs.rip, 0x3000 - 2);

	/* Crossing into a good page works (two fetches). */
	fake.fail_enabled = false;
	fake.fetches = 0;
	fake.regs.rip = 0x3000 - 2;
	assert_done(RUN(0x89, 0x43, 0x08));
	assert_access(FAKE_DATA + 8, 4, true);
	assert_int_equal(fake.fetches, 2);
}


int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup64, teardown)
	const struct CMUnitTest tests[] = {
		T(test_addressing_64),
		T(test_rip_relative_with_immediate),
		T(test_addr32_wraps),
		T(test_segments_64),
		T(test_segments_32),
		T(test_sizes_32bit_mode),
		T(test_addressing_16),
		T(test_16bit_wraps_and_prefixes),
		T(test_noncanonical),
		T(test_callback_faults),
		T(test_fetch_faults),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
