/*
 * Helpers shared by the host tests of the emulator's system instructions
 * (test_emulate_sys.c, test_emulate_group7.c; include after cmocka.h):
 * encoders, register patterns, and the checks for an instruction that
 * completed or was refused.
 */
#ifndef TESTS_HOST_EMU_SYS_CHECK_H
#define TESTS_HOST_EMU_SYS_CHECK_H

#include <stdio.h>
#include "tests/host/emu_check.h"

/* Control register bits, written out here rather than taken from the
 * emulator. */
#define CR0_TS		0x8ull
#define CR4_UMIP	(1ull << 11)

/* An instruction of a table, with its assembly. */
struct sys_case {
	const char *name;
	uint8_t code[8];
	unsigned len;
};

/* General register 'n' as the instruction encodes it (with REX), written
 * out here rather than taken from the emulator. */
static inline uint64_t *gpr(struct vcpu_regs *r, unsigned n)
{
	uint64_t *const map[16] = {
		&r->rax, &r->rcx, &r->rdx, &r->rbx,
		&r->rsp, &r->rbp, &r->rsi, &r->rdi,
		&r->r8, &r->r9, &r->r10, &r->r11,
		&r->r12, &r->r13, &r->r14, &r->r15,
	};

	return map[n & 15];
}

/* Every GPR a distinct value with all bytes nonzero, so a write to the
 * wrong register, or of the wrong width, shows. */
static inline void fill_gprs(void)
{
	for (unsigned n = 0; n < 16; n++)
		*gpr(&fake.regs, n) = 0x8877665544332211ull ^
				      (0x0101010101010101ull * (n + 1) << 4);
}

/* MOV r, CRn (0F 20) or MOV CRn, r (0F 22) with mod 11, with a REX for
 * CR8-15 or r8-r15 when needed. */
static inline struct enc mov_cr(bool to_cr, unsigned cr, unsigned reg)
{
	struct enc e = { .n = 0 };

	if ((cr | reg) & 8)
		emit(&e, (uint8_t)(0x40 | ((cr & 8) ? 4 : 0) |
				   ((reg & 8) ? 1 : 0)));
	emit(&e, 0x0f);
	emit(&e, to_cr ? 0x22 : 0x20);
	emit(&e, (uint8_t)(0xc0 | (cr & 7) << 3 | (reg & 7)));
	return e;
}

static inline struct enc enc_of(const uint8_t *b, unsigned n)
{
	struct enc e = { .n = n };

	memcpy(e.b, b, n);
	return e;
}

#define ENC(...) enc_of((const uint8_t[]){ __VA_ARGS__ }, \
			sizeof((const uint8_t[]){ __VA_ARGS__ }))

/* Run 'e' and expect EMU_DONE with RIP past it. */
static inline void run_done(const struct enc *e)
{
	check(fake_run(e->b, e->n), EMU_DONE, "result");
	check(fake.ctxt.insn_len, e->n, "insn_len");
	check(fake.regs.rip, FAKE_CODE + e->n, "rip");
}

static inline void no_memory(void)
{
	check(fake.ctxt.mem_size, 0, "mem_size");
	check(fake.reads + fake.writes + fake.cmpxchgs, 0, "accesses");
}

/* Run 'e' and expect 'vector' with error code 0 (or, for 'vector' 0,
 * EMU_UNHANDLED), and nothing changed: registers, RIP, control
 * registers, memory writes. */
static inline void run_refused(const struct enc *e, uint8_t vector)
{
	struct vcpu_regs before = fake.regs;
	uint64_t cr_before[16];
	enum emu_result r;

	memcpy(cr_before, fake.cr, sizeof(cr_before));
	r = fake_run(e->b, e->n);
	if (vector) {
		check(r, EMU_FAULT, "result");
		check(fake.ctxt.fault_vector, vector, "vector");
		check(fake.ctxt.fault_error_code, 0, "error code");
		check(fake.ctxt.insn_len, e->n, "insn_len");
	} else {
		check(r, EMU_UNHANDLED, "result");
	}
	assert_regs_unchanged(&before);
	assert_memory_equal(fake.cr, cr_before, sizeof(cr_before));
	check(fake.writes + fake.cmpxchgs, 0, "writes");
}

static inline void name_case(const char *what, unsigned a, unsigned b)
{
	snprintf(emu_what, sizeof(emu_what), "%s %u %u", what, a, b);
}

#endif
