/*
 * Host tests of the emulator's 0F 01 group (virt/emulate_sys.c): LMSW
 * from a register and from memory (bits 3:0 only, PE never cleared),
 * SMSW to a register at each operand size and to memory (always 16
 * bits), with CR4.UMIP at CPL 3, INVLPG with the addressing forms and
 * segments of each mode (the linear address reaches the callback), and
 * the 0F 01 forms the emulator leaves EMU_UNHANDLED: SGDT, LGDT, VMCALL,
 * SWAPGS, RDTSCP and the other register forms of /7. MOV CR, CLTS and
 * the faults common to all are in test_emulate_sys.c.
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

/* ------------------------------------------------------------- LMSW */

static void test_lmsw_register(void **state)
{
	(void)state;
	/* Bits 3:1 from the source, PE kept although the source clears
	 * it, ET and the rest of CR0 kept, source bits 15:4 ignored. */
	fake.cr[0] = 0x80000011;
	fake.regs.rax = 0xffffffffffff0ffeull;
	assert_done(RUN(0x0f, 0x01, 0xf0));		/* lmsw ax */
	assert_int_equal(fake.cr[0], 0x8000001f);
	assert_int_equal(fake.ctxt.insn_len, 3);
	assert_int_equal(fake.regs.rip, FAKE_CODE + 3);
	assert_int_equal(fake.regs.rax, 0xffffffffffff0ffeull);
	assert_int_equal(fake.ctxt.mem_size, 0);

	/* Clearing MP, EM and TS touches nothing else. */
	fake_rearm();
	fake.cr[0] = ~0ull;
	fake.regs.rax = 0;
	assert_done(RUN(0x0f, 0x01, 0xf0));
	assert_int_equal(fake.cr[0], ~0ull & ~0xeull);

	/* r/m 100 is SP, not AH; REX.B reaches r9w. */
	fake_rearm();
	fake.cr[0] = 0x80000011;
	fake.regs.rsp = 0x0006;
	fake.regs.rax = 0x0800;
	assert_done(RUN(0x0f, 0x01, 0xf4));		/* lmsw sp */
	assert_int_equal(fake.cr[0], 0x80000017);
	fake_rearm();
	fake.cr[0] = 0x80000010;
	fake.regs.r9 = 0x10008;
	assert_done(RUN(0x41, 0x0f, 0x01, 0xf1));	/* lmsw r9w */
	assert_int_equal(fake.cr[0], 0x80000018);	/* sets TS */
	assert_int_equal(fake.ctxt.insn_len, 4);

	/* Real mode: LMSW can set PE, the 286 way into protected mode. */
	fake_reset16();
	fake.cr[0] = 0x60000010;
	fake.regs.rax = 1;
	assert_done(RUN(0x0f, 0x01, 0xf0));
	assert_int_equal(fake.cr[0], 0x60000011);
}

static void test_lmsw_memory(void **state)
{
	static const uint8_t wider[2] = { 0x48, 0x66 };

	(void)state;
	fake.cr[0] = 0x80000011;
	fake.regs.rbx = FAKE_DATA;
	fake_put(FAKE_DATA, 0xffffffffffff0008ull, 8);
	assert_done(RUN(0x0f, 0x01, 0x33));		/* lmsw [rbx] */
	assert_int_equal(fake.cr[0], 0x80000019);
	assert_access(FAKE_DATA, 2, false);
	assert_int_equal(fake.reads, 1);
	assert_int_equal(fake.writes, 0);

	/* REX.W and 66 do not widen it. */
	for (unsigned i = 0; i < 2; i++) {
		fake_rearm();
		fake.regs.rbx = FAKE_DATA;
		fake.cr[0] = 0x80000011;
		fake_put(FAKE_DATA, 0x0004, 2);
		assert_done(fake_run((const uint8_t[]){ wider[i], 0x0f, 0x01,
							0x33 }, 4));
		assert_int_equal(fake.cr[0], 0x80000015);
		assert_access(FAKE_DATA, 2, false);
	}

	/* A displacement and the MMIO window: one 2-byte read there. */
	fake_rearm();
	fake.cr[0] = 0x80000011;
	fake.regs.rbx = FAKE_MMIO_BASE;
	fake_put(FAKE_MMIO_BASE + 0x10, 0x0002, 2);
	assert_done(RUN(0x0f, 0x01, 0x73, 0x10));	/* lmsw [rbx+0x10] */
	assert_int_equal(fake.cr[0], 0x80000013);
	assert_int_equal(fake.log_count, 1);
	assert_int_equal(fake.log[0].size, 2);
	assert_int_equal(fake.log[0].kind, 'r');

	/* A failing read: #PF, CR0 not written. */
	fake_rearm();
	fake.regs.rbx = FAKE_DATA;
	fake.fail_addr = FAKE_DATA + 1;
	fake.fail_enabled = true;
	assert_fault(RUN(0x0f, 0x01, 0x33), EMU_VEC_PF, 0);
	assert_int_equal(fake.ctxt.fault_linear, FAKE_DATA);
	assert_int_equal(fake.cr_writes, 0);
	assert_int_equal(fake.regs.rip, FAKE_CODE);

	/* 32-bit mode: DS base applies. */
	fake_reset32();
	fake.sregs.ds_base = 0x1000;
	fake.regs.rbx = FAKE_DATA;
	fake_put(0x1000 + FAKE_DATA, 0x000f, 2);
	assert_done(RUN(0x0f, 0x01, 0x33));		/* lmsw [ebx] */
	assert_int_equal(fake.cr[0], 0x1f);
	assert_access(0x1000 + FAKE_DATA, 2, false);
}

/* ------------------------------------------------------------- SMSW */

static void test_smsw_register(void **state)
{
	(void)state;
	/* Bit 32 only to tell r32 from r64 (CR0[63:32] are reserved). */
	fake.cr[0] = 0x180050033ull;
	fake.regs.rax = 0x1122334455667788ull;
	assert_done(RUN(0x66, 0x0f, 0x01, 0xe0));	/* smsw ax */
	assert_int_equal(fake.regs.rax, 0x1122334455660033ull);
	assert_int_equal(fake.ctxt.insn_len, 4);
	assert_int_equal(fake.ctxt.mem_size, 0);
	assert_int_equal(fake.cr_read_mask, 1);		/* CPL 0: no CR4 */

	fake_rearm();
	fake.regs.rax = ~0ull;
	assert_done(RUN(0x0f, 0x01, 0xe0));		/* smsw eax */
	assert_int_equal(fake.regs.rax, 0x80050033);
	fake_rearm();
	assert_done(RUN(0x48, 0x0f, 0x01, 0xe0));	/* smsw rax */
	assert_int_equal(fake.regs.rax, 0x180050033ull);
	fake_rearm();
	assert_done(RUN(0x49, 0x0f, 0x01, 0xe1));	/* smsw r9 */
	assert_int_equal(fake.regs.r9, 0x180050033ull);
	assert_int_equal(fake.regs.rcx, 0);
	fake_rearm();
	fake.regs.r12 = ~0ull;
	assert_done(RUN(0x41, 0x0f, 0x01, 0xe4));	/* smsw r12d */
	assert_int_equal(fake.regs.r12, 0x80050033);
	fake_rearm();
	fake.regs.rax = 0;
	fake.regs.rsp = ~0ull;
	assert_done(RUN(0x66, 0x0f, 0x01, 0xe4));	/* smsw sp, not ah */
	assert_int_equal(fake.regs.rsp, 0xffffffffffff0033ull);
	assert_int_equal(fake.regs.rax, 0);

	/* 32-bit mode: r32 gets CR0[31:0] (the SDM: bits 31:16
	 * undefined; CPUs store CR0's), 66 a word. */
	fake_reset32();
	fake.cr[0] = 0x80000011;
	fake.regs.rcx = ~0ull;
	assert_done(RUN(0x0f, 0x01, 0xe1));		/* smsw ecx */
	assert_int_equal(fake.regs.rcx, 0x80000011);
	fake_rearm();
	fake.regs.rcx = ~0ull;
	assert_done(RUN(0x66, 0x0f, 0x01, 0xe1));	/* smsw cx */
	assert_int_equal(fake.regs.rcx, 0xffffffffffff0011ull);

	/* 16-bit mode: a word, 66 for a dword. */
	fake_reset16();
	fake.cr[0] = 0x60000010;
	fake.regs.rax = 0xaaaaaaaaaaaaaaaaull;
	assert_done(RUN(0x0f, 0x01, 0xe0));		/* smsw ax */
	assert_int_equal(fake.regs.rax, 0xaaaaaaaaaaaa0010ull);
	fake_rearm();
	assert_done(RUN(0x66, 0x0f, 0x01, 0xe0));	/* smsw eax */
	assert_int_equal(fake.regs.rax, 0x60000010);
}

/* Memory always gets 16 bits, whatever the operand size. */
static void test_smsw_memory(void **state)
{
	static const struct sys_case cases[] = {
		{ "smsw [rbx]", { 0x0f, 0x01, 0x23 }, 3 },
		{ "66 smsw [rbx]", { 0x66, 0x0f, 0x01, 0x23 }, 4 },
		{ "rex.w smsw [rbx]", { 0x48, 0x0f, 0x01, 0x23 }, 4 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct enc e = enc_of(cases[i].code, cases[i].len);

		name_case(cases[i].name, 0, 0);
		fake_reset64();
		fake.cr[0] = 0x180050033ull;
		fake.regs.rbx = FAKE_DATA;
		fake_put(FAKE_DATA, 0xaaaaaaaaaaaaaaaaull, 8);
		run_done(&e);
		check(fake_get(FAKE_DATA, 8), 0xaaaaaaaaaaaa0033ull, "memory");
		assert_access(FAKE_DATA, 2, true);
		check(fake.writes, 1, "writes");
	}

	/* One 2-byte write to a device. */
	fake_rearm();
	fake.regs.rbx = FAKE_MMIO_BASE;
	assert_done(RUN(0x0f, 0x01, 0x23));
	assert_int_equal(fake.log_count, 1);
	assert_int_equal(fake.log[0].kind, 'w');
	assert_int_equal(fake.log[0].size, 2);
	assert_int_equal(fake.log[0].data[0], 0x33);
	assert_int_equal(fake.log[0].data[1], 0x00);

	/* A refused write: #PF with W, nothing else changed. */
	fake_rearm();
	fake.regs.rbx = FAKE_DATA;
	fake.ro_page = FAKE_DATA;
	assert_fault(RUN(0x0f, 0x01, 0x23), EMU_VEC_PF, EMU_PF_WRITE);
	assert_int_equal(fake.ctxt.fault_linear, FAKE_DATA);
	assert_int_equal(fake.regs.rip, FAKE_CODE);
}

/* Not privileged, except that CR4.UMIP makes it CPL 0 only. */
static void test_smsw_umip(void **state)
{
	struct enc reg = ENC(0x0f, 0x01, 0xe0);		/* smsw eax */
	struct enc mem = ENC(0x0f, 0x01, 0x23);		/* smsw [rbx] */

	(void)state;
	fake.sregs.cpl = 3;
	fake.cr[0] = 0x80050033;
	run_done(&reg);
	assert_int_equal(fake.regs.rax, 0x80050033);
	assert_int_equal(fake.cr_read_mask, (1u << 0) | (1u << 4));

	fake_rearm();
	fake.cr[4] |= CR4_UMIP;
	fake.regs.rbx = FAKE_DATA;
	run_refused(&reg, EMU_VEC_GP);
	run_refused(&mem, EMU_VEC_GP);
	check(fake.cr_read_mask, 1u << 4, "only CR4 read");

	/* CPL 0 ignores UMIP and does not ask for CR4. */
	fake_rearm();
	fake.sregs.cpl = 0;
	run_done(&reg);
	assert_int_equal(fake.regs.rax, 0x80050033);
	assert_int_equal(fake.cr_read_mask, 1);
}

/* ----------------------------------------------------------- INVLPG */

struct invlpg_case {
	const char *name;
	uint8_t code[10];
	unsigned len;
	uint64_t linear;
};

/* Each case after fake_rearm() and set_up(), in the current mode. */
static void run_invlpg_cases(const struct invlpg_case *cases, size_t n,
			     void (*set_up)(void))
{
	for (size_t i = 0; i < n; i++) {
		struct enc e = enc_of(cases[i].code, cases[i].len);
		struct vcpu_regs want;

		name_case(cases[i].name, 0, 0);
		fake_rearm();
		set_up();
		want = fake.regs;
		want.rip += e.n;
		run_done(&e);
		assert_memory_equal(&fake.regs, &want, sizeof(want));
		check(fake.invlpgs, 1, "invlpg calls");
		check(fake.invlpg_linear, cases[i].linear, "linear");
		no_memory();
	}
}

static void invlpg_regs64(void)
{
	fake.regs.rax = 0x7000;
	fake.regs.rbx = 0x30000;
	fake.regs.rcx = 0x100;
	fake.regs.r15 = 0xffff888000001000ull;
	fake.regs.rdx = 0x8000000000000000ull;
	fake.regs.rsi = 0xffffffff00001000ull;
	fake.sregs.ds_base = 0x5000;		/* ignored in 64-bit mode */
	fake.sregs.es_base = 0x6000;
	fake.sregs.fs_base = 0x100000000ull;
	fake.sregs.gs_base = 0xffff880000000000ull;
}

static void test_invlpg_64(void **state)
{
	static const struct invlpg_case cases[] = {
		{ "[rax]", { 0x0f, 0x01, 0x38 }, 3, 0x7000 },
		{ "[rbx+rcx*4+0x10]", { 0x0f, 0x01, 0x7c, 0x8b, 0x10 }, 5,
		  0x30410 },
		{ "[rip+0x100]", { 0x0f, 0x01, 0x3d, 0x00, 0x01, 0, 0 }, 7,
		  FAKE_CODE + 7 + 0x100 },
		{ "[0x12345678]", { 0x0f, 0x01, 0x3c, 0x25, 0x78, 0x56, 0x34,
				    0x12 }, 8, 0x12345678 },
		{ "[r15]", { 0x41, 0x0f, 0x01, 0x3f }, 4,
		  0xffff888000001000ull },
		{ "[esi] (67)", { 0x67, 0x0f, 0x01, 0x3e }, 4, 0x1000 },
		{ "fs:[rax]", { 0x64, 0x0f, 0x01, 0x38 }, 4, 0x100007000ull },
		{ "gs:[rax]", { 0x65, 0x0f, 0x01, 0x38 }, 4,
		  0xffff880000007000ull },
		{ "ds:[rax]", { 0x3e, 0x0f, 0x01, 0x38 }, 4, 0x7000 },
		{ "es:[rax]", { 0x26, 0x0f, 0x01, 0x38 }, 4, 0x7000 },
		/* Non-canonical: a no-op on the CPU, no fault here. */
		{ "[rdx]", { 0x0f, 0x01, 0x3a }, 3, 0x8000000000000000ull },
	};

	(void)state;
	run_invlpg_cases(cases, sizeof(cases) / sizeof(cases[0]),
			 invlpg_regs64);
}

static void invlpg_regs32(void)
{
	fake.regs.rbx = 0x2000;
	fake.regs.rbp = 0x300;
	fake.sregs.ds_base = 0x10000;
	fake.sregs.ss_base = 0x20000;
	fake.sregs.es_base = 0x30000;
	fake.sregs.fs_base = 0xfffff000;
}

static void invlpg_regs16(void)
{
	fake.regs.rbx = 0x2000;
	fake.regs.rsi = 0x10;
	fake.regs.rdi = 0x10;
	fake.sregs.ds_base = 0x20000;
	fake.sregs.ss_base = 0x30000;
}

static void test_invlpg_32_16(void **state)
{
	static const struct invlpg_case cases32[] = {
		{ "[ebx]", { 0x0f, 0x01, 0x3b }, 3, 0x12000 },
		{ "[ebp+8]", { 0x0f, 0x01, 0x7d, 0x08 }, 4, 0x20308 },
		{ "es:[ebx]", { 0x26, 0x0f, 0x01, 0x3b }, 4, 0x32000 },
		{ "fs:[ebx] wraps", { 0x64, 0x0f, 0x01, 0x3b }, 4, 0x1000 },
	};
	static const struct invlpg_case cases16[] = {
		{ "[bx+si]", { 0x0f, 0x01, 0x38 }, 3, 0x20000 + 0x2010 },
		{ "[bp+di-1]", { 0x0f, 0x01, 0x7b, 0xff }, 4,
		  0x30000 + 0x0f },
		{ "[bx+si+0xffff] wraps", { 0x0f, 0x01, 0xb8, 0xff, 0xff }, 5,
		  0x20000 + 0x200f },
	};

	(void)state;
	fake_reset32();
	run_invlpg_cases(cases32, sizeof(cases32) / sizeof(cases32[0]),
			 invlpg_regs32);

	fake_reset16();
	run_invlpg_cases(cases16, sizeof(cases16) / sizeof(cases16[0]),
			 invlpg_regs16);
}

/* invlpg returning -1: EMU_UNHANDLED, RIP stays. */
static void test_invlpg_stop(void **state)
{
	struct enc e = ENC(0x0f, 0x01, 0x38);		/* invlpg [rax] */

	(void)state;
	fake.invlpg_result = -1;
	run_refused(&e, 0);
	assert_int_equal(fake.invlpgs, 1);
}

/* ---------------------------------- what stays EMU_UNHANDLED in 0F 01 */

/*
 * 0F 01 /7 with a register operand is not INVLPG: SWAPGS, RDTSCP, and on
 * AMD MONITORX, MWAITX, CLZERO, RDPRU, INVLPGB, TLBSYNC. Which of them the
 * CPU has is the caller's to know, so none is #UD here. The other 0F 01
 * forms and MOV DR are not emulated either.
 */
static void test_group7_unhandled(void **state)
{
	static const struct sys_case cases[] = {
		{ "swapgs", { 0x0f, 0x01, 0xf8 }, 3 },
		{ "rdtscp", { 0x0f, 0x01, 0xf9 }, 3 },
		{ "monitorx", { 0x0f, 0x01, 0xfa }, 3 },
		{ "mwaitx", { 0x0f, 0x01, 0xfb }, 3 },
		{ "clzero", { 0x0f, 0x01, 0xfc }, 3 },
		{ "rdpru", { 0x0f, 0x01, 0xfd }, 3 },
		{ "invlpgb", { 0x0f, 0x01, 0xfe }, 3 },
		{ "tlbsync", { 0x0f, 0x01, 0xff }, 3 },
		{ "rex.b 0f 01 f8", { 0x41, 0x0f, 0x01, 0xf8 }, 4 },
		{ "sgdt [rbx]", { 0x0f, 0x01, 0x03 }, 3 },
		{ "sidt [rbx]", { 0x0f, 0x01, 0x0b }, 3 },
		{ "lgdt [rbx]", { 0x0f, 0x01, 0x13 }, 3 },
		{ "lidt [rbx]", { 0x0f, 0x01, 0x1b }, 3 },
		{ "0f 01 /5 [rbx]", { 0x0f, 0x01, 0x2b }, 3 },
		{ "vmcall", { 0x0f, 0x01, 0xc1 }, 3 },
		{ "monitor", { 0x0f, 0x01, 0xc8 }, 3 },
		{ "stac", { 0x0f, 0x01, 0xcb }, 3 },
		{ "xgetbv", { 0x0f, 0x01, 0xd0 }, 3 },
		{ "vmrun", { 0x0f, 0x01, 0xd8 }, 3 },
		{ "vmmcall", { 0x0f, 0x01, 0xd9 }, 3 },
		{ "serialize", { 0x0f, 0x01, 0xe8 }, 3 },
		{ "rdpkru", { 0x0f, 0x01, 0xee }, 3 },
		{ "mov rax, dr0", { 0x0f, 0x21, 0xc0 }, 3 },
		{ "mov dr7, rax", { 0x0f, 0x23, 0xf8 }, 3 },
		{ "lock swapgs", { 0xf0, 0x0f, 0x01, 0xf8 }, 4 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct enc e = enc_of(cases[i].code, cases[i].len);

		for (unsigned mode = 0; mode < 2; mode++) {
			if (mode && cases[i].code[0] == 0x41)
				continue;	/* inc ecx outside 64-bit */
			name_case(cases[i].name, mode, 0);
			if (mode)
				fake_reset32();
			else
				fake_reset64();
			fake.regs.rbx = FAKE_DATA;
			run_refused(&e, 0);
			check(fake.cr_reads + fake.cr_writes + fake.invlpgs +
			      fake.reads, 0, "callbacks");
		}
	}
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup64, teardown)
	const struct CMUnitTest tests[] = {
		T(test_lmsw_register),
		T(test_lmsw_memory),
		T(test_smsw_register),
		T(test_smsw_memory),
		T(test_smsw_umip),
		T(test_invlpg_64),
		T(test_invlpg_32_16),
		T(test_invlpg_stop),
		T(test_group7_unhandled),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
