/*
 * Fuzzing the emulator: random byte strings (fixed seeds, tens of
 * thousands per mode) and random mutations of valid instructions, with
 * random registers that point into RAM, into the MMIO window or
 * anywhere. The instruction bytes sit in a heap buffer of exactly their
 * length and the fetch callback refuses anything outside it, so
 * AddressSanitizer and the callback together catch a read past what the
 * emulator was given. Every run must end in a defined result:
 *
 *   EMU_DONE       1 <= insn_len <= the bytes given, RIP advanced by it
 *                  (or left, with restart set), mem_size 0/1/2/4/8/16
 *   EMU_UNHANDLED  registers and control registers untouched, nothing
 *                  written
 *   EMU_FAULT      #UD, #SS, #GP or #PF with a sensible error code, RIP
 *                  and control registers untouched; #UD before any
 *                  callback but the fetch
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tests/host/emu_fake.h"

#define RUNS_PER_MODE	20000

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

/* The instruction under test: 'len' bytes at linear 'at'. */
static struct {
	uint8_t *bytes;
	size_t len;
	uint64_t at;
} code;

static int fuzz_fetch(void *opaque, uint64_t linear, void *buf, unsigned len)
{
	(void)opaque;
	fake.fetches++;
	if (linear < code.at || linear - code.at > code.len ||
	    len > code.len - (linear - code.at))
		return -1;
	memcpy(buf, code.bytes + (linear - code.at), len);
	return 0;
}

/* Bytes that steer the decoder somewhere interesting. */
static const uint8_t interesting[] = {
	0x66, 0x67, 0xf0, 0xf2, 0xf3, 0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65,
	0x40, 0x41, 0x44, 0x48, 0x49, 0x4c, 0x4f, 0x0f, 0x0f, 0x0f,
	0x00, 0x01, 0x03, 0x29, 0x31, 0x39, 0x63, 0x80, 0x81, 0x83,
	0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8b, 0xa0, 0xa1, 0xa2,
	0xa3, 0xa4, 0xa5, 0xaa, 0xab, 0xac, 0xad, 0xb0, 0xb1, 0xb6, 0xb7,
	0xba, 0xbb, 0xbe, 0xbf, 0xc0, 0xc1, 0xc6, 0xc7, 0xf6, 0xf7, 0xfe,
	0xff, 0x04, 0x05, 0x24, 0x25, 0x44, 0x84, 0x0b, 0xc8,
	0x06, 0x20, 0x22, 0x01, 0x3b, 0x33, 0xf8,
};

static uint8_t fuzz_byte(void)
{
	if (fake_rand() % 3 == 0)
		return interesting[fake_rand() % sizeof(interesting)];
	return (uint8_t)fake_rand();
}

static uint64_t fuzz_register(void)
{
	switch (fake_rand() % 6) {
	case 0: return 0;
	case 1: return FAKE_DATA + (fake_rand() % 0x1000);
	case 2: return FAKE_MMIO_BASE + (fake_rand() % FAKE_MMIO_SIZE);
	case 3: return fake_rand() % 16;
	case 4: return (uint64_t)-(int64_t)(fake_rand() % 0x100);
	default: return fake_rand();
	}
}

/* The system instructions' inputs: CPL, CR4.UMIP, refusing callbacks,
 * missing callbacks. */
static void randomize_system(void)
{
	static const int write_results[4] = { 0, 0, 1, -1 };

	fake.sregs.cpl = fake_rand() % 4 == 0 ? 3 : 0;
	fake.cr[4] = (fake.cr[4] & ~(1ull << 11)) |
		     (fake_rand() % 2 ? 1ull << 11 : 0);
	fake.write_cr_result = write_results[fake_rand() % 4];
	fake.read_cr_fail = fake_rand() % 8 == 0;
	fake.invlpg_result = fake_rand() % 8 == 0 ? -1 : 0;
	if (fake_rand() % 8 == 0)
		fake.ops.read_cr = NULL;
	if (fake_rand() % 8 == 0)
		fake.ops.write_cr = NULL;
	if (fake_rand() % 8 == 0)
		fake.ops.invlpg = NULL;
}

static void randomize_state(void)
{
	uint64_t *gpr = &fake.regs.rax;

	fake_rearm();
	for (unsigned i = 0; i < 16; i++)
		gpr[i] = fuzz_register();
	fake.regs.rflags = 0x2 | (fake_rand() & 0xcd5);
	fake.ctxt.rep_limit = (unsigned)(fake_rand() % 8);
	if (fake_rand() % 4 == 0)
		fake.ops.cmpxchg = NULL;
	if (fake_rand() % 8 == 0) {
		fake.fail_addr = FAKE_DATA + fake_rand() % 0x1000;
		fake.fail_enabled = true;
	}
	randomize_system();
	/* Sometimes near a page end, to cross pages mid-instruction. */
	fake.regs.rip = fake_rand() % 2 ? FAKE_CODE
					: 0x2000 - fake_rand() % 16;
	code.at = fake.sregs.cs_long ? fake.regs.rip
				     : fake.sregs.cs_base + fake.regs.rip;
}

static char what[200];
static enum emu_result result;
static unsigned sys_runs;	/* runs that reached a system callback */

static void describe(void)
{
	int n = snprintf(what, sizeof(what), "mode %s bytes",
			 fake.sregs.cs_long ? "64" :
			 fake.sregs.cs_db ? "32" : "16");

	for (size_t i = 0; i < code.len && n > 0 && n < 150; i++)
		n += snprintf(what + n, sizeof(what) - (size_t)n, " %02x",
			      code.bytes[i]);
}

static void expect(bool ok, const char *why)
{
	if (!ok) {
		describe();
		print_error("%s: %s (result %d len %u vector %u)\n", what, why,
			    (int)result, fake.ctxt.insn_len,
			    fake.ctxt.fault_vector);
		fail();
	}
}

/* Run code.bytes and check the outcome is one of the defined ones. */
static void run_and_check(unsigned *counts)
{
	struct vcpu_regs before = fake.regs;
	uint64_t cr_before[16];
	enum emu_result r;

	memcpy(cr_before, fake.cr, sizeof(cr_before));
	r = emulate_one(&fake.ctxt);
	unsigned size = fake.ctxt.mem_size;

	result = r;
	if (fake.cr_reads + fake.cr_writes + fake.invlpgs)
		sys_runs++;
	expect(r == EMU_DONE || r == EMU_UNHANDLED || r == EMU_FAULT,
	       "result out of range");
	counts[r]++;
	expect(fake.ctxt.insn_len <= 15, "insn_len > 15");
	expect(size == 0 || size == 1 || size == 2 || size == 4 ||
	       size == 8 || size == 16, "mem_size");
	switch (r) {
	case EMU_DONE:
		expect(fake.ctxt.insn_len >= 1 &&
		       fake.ctxt.insn_len <= code.len, "insn_len");
		if (fake.ctxt.restart)
			expect(fake.regs.rip == before.rip, "restart moved RIP");
		else if (fake.sregs.cs_long)
			expect(fake.regs.rip == before.rip + fake.ctxt.insn_len,
			       "RIP not advanced by insn_len");
		break;
	case EMU_UNHANDLED:
		expect(!memcmp(&fake.regs, &before, sizeof(before)),
		       "UNHANDLED changed registers");
		expect(fake.writes == 0 && fake.cmpxchgs == 0,
		       "UNHANDLED wrote memory");
		expect(!memcmp(fake.cr, cr_before, sizeof(cr_before)),
		       "UNHANDLED changed a control register");
		break;
	default:
		expect(fake.regs.rip == before.rip, "FAULT moved RIP");
		expect(!memcmp(fake.cr, cr_before, sizeof(cr_before)),
		       "FAULT changed a control register");
		switch (fake.ctxt.fault_vector) {
		case EMU_VEC_UD:
			expect(fake.reads + fake.writes + fake.cmpxchgs +
			       fake.cr_reads + fake.cr_writes +
			       fake.invlpgs == 0, "#UD after an access");
			/* fall through */
		case EMU_VEC_SS:
		case EMU_VEC_GP:
			expect(fake.ctxt.fault_error_code == 0, "error code");
			break;
		case EMU_VEC_PF:
			expect(fake.ctxt.fault_error_code == 0 ||
			       fake.ctxt.fault_error_code == EMU_PF_WRITE ||
			       fake.ctxt.fault_error_code == EMU_PF_FETCH,
			       "#PF error code");
			break;
		default:
			expect(false, "unexpected vector");
		}
		break;
	}
}

static void fuzz_mode(void (*reset)(void), uint64_t seed)
{
	unsigned counts[3] = { 0 };

	reset();
	fake.ops.fetch = fuzz_fetch;
	fake_srand(seed);
	for (unsigned i = 0; i < RUNS_PER_MODE; i++) {
		code.len = 1 + fake_rand() % 16;
		code.bytes = malloc(code.len);
		assert_non_null(code.bytes);
		for (size_t j = 0; j < code.len; j++)
			code.bytes[j] = fuzz_byte();
		randomize_state();
		fake.ops.fetch = fuzz_fetch;
		run_and_check(counts);
		free(code.bytes);
	}
	/* The mix must reach all three outcomes, or the fuzzer is blind. */
	assert_true(counts[EMU_DONE] > RUNS_PER_MODE / 50);
	assert_true(counts[EMU_UNHANDLED] > 0);
	assert_true(counts[EMU_FAULT] > 0);
	if (getenv("HV_TEST_VERBOSE"))
		print_message("  done %u unhandled %u fault %u\n",
			      counts[EMU_DONE], counts[EMU_UNHANDLED],
			      counts[EMU_FAULT]);
}

static void test_fuzz_random_64(void **state)
{
	(void)state;
	fuzz_mode(fake_reset64, 0xf0220064);
}

static void test_fuzz_random_32(void **state)
{
	(void)state;
	fuzz_mode(fake_reset32, 0xf0220032);
}

static void test_fuzz_random_16(void **state)
{
	(void)state;
	fuzz_mode(fake_reset16, 0xf0220016);
}

/* Valid instructions to mutate: one of each kind the emulator does. */
static const struct {
	uint8_t b[15];
	unsigned len;
} corpus[] = {
	{ { 0x48, 0x89, 0x0b }, 3 },
	{ { 0x8b, 0x44, 0x88, 0x10 }, 4 },
	{ { 0xc7, 0x05, 0x10, 0, 0, 0, 0x78, 0x56, 0x34, 0x12 }, 10 },
	{ { 0x66, 0x81, 0x0b, 0x34, 0x12 }, 5 },
	{ { 0xf0, 0x48, 0x83, 0x03, 0x01 }, 5 },
	{ { 0xf0, 0x0f, 0xb1, 0x0b }, 4 },
	{ { 0xf0, 0x48, 0x0f, 0xc7, 0x0b }, 5 },
	{ { 0x0f, 0xba, 0x2b, 0x05 }, 4 },
	{ { 0x48, 0x0f, 0xab, 0x0b }, 4 },
	{ { 0xf3, 0x48, 0xa5 }, 3 },
	{ { 0xf3, 0xaa }, 2 },
	{ { 0x67, 0xac }, 2 },
	{ { 0xa1, 0x00, 0x80, 0, 0, 0, 0, 0, 0 }, 9 },
	{ { 0x48, 0x63, 0x03 }, 3 },
	{ { 0x0f, 0xbf, 0x03 }, 3 },
	{ { 0x86, 0x23 }, 2 },
	{ { 0xf6, 0x1b }, 2 },
	{ { 0xff, 0x0b }, 2 },
	{ { 0x66, 0x67, 0x89, 0x04, 0x8b }, 5 },
	{ { 0x64, 0x41, 0x8b, 0x84, 0x24, 0, 0x10, 0, 0 }, 9 },
	{ { 0x0f, 0x20, 0xd8 }, 3 },			/* mov rax, cr3 */
	{ { 0x44, 0x0f, 0x22, 0xc1 }, 4 },		/* mov cr8, rcx */
	{ { 0x0f, 0x06 }, 2 },				/* clts */
	{ { 0x0f, 0x01, 0x33 }, 3 },			/* lmsw [rbx] */
	{ { 0x48, 0x0f, 0x01, 0xe0 }, 4 },		/* smsw rax */
	{ { 0x65, 0x0f, 0x01, 0x7c, 0x8b, 0x10 }, 6 },	/* invlpg gs:[..] */
};

static void test_fuzz_mutations(void **state)
{
	unsigned counts[3] = { 0 };
	void (*const resets[3])(void) = { fake_reset64, fake_reset32,
					  fake_reset16 };

	(void)state;
	sys_runs = 0;
	fake_srand(0xf022aaaa);
	for (unsigned m = 0; m < 3; m++) {
		resets[m]();
		for (unsigned i = 0; i < RUNS_PER_MODE; i++) {
			unsigned pick = (unsigned)(fake_rand() %
				(sizeof(corpus) / sizeof(corpus[0])));
			unsigned flips = 1 + (unsigned)(fake_rand() % 3);

			code.len = corpus[pick].len;
			/* Sometimes cut short or with a byte more. */
			if (fake_rand() % 8 == 0)
				code.len = 1 + fake_rand() % code.len;
			else if (fake_rand() % 8 == 0)
				code.len++;
			code.bytes = malloc(code.len);
			assert_non_null(code.bytes);
			for (size_t j = 0; j < code.len; j++)
				code.bytes[j] = fuzz_byte();
			memcpy(code.bytes, corpus[pick].b,
			       code.len < corpus[pick].len ? code.len
							   : corpus[pick].len);
			for (unsigned f = 0; f < flips; f++) {
				size_t at = fake_rand() % code.len;

				if (fake_rand() % 2)
					code.bytes[at] ^=
						(uint8_t)(1u << (fake_rand() % 8));
				else
					code.bytes[at] = fuzz_byte();
			}
			randomize_state();
			fake.ops.fetch = fuzz_fetch;
			run_and_check(counts);
			free(code.bytes);
		}
	}
	assert_true(counts[EMU_DONE] > RUNS_PER_MODE / 10);
	/* The system instructions must be reached too. */
	assert_true(sys_runs > RUNS_PER_MODE / 50);
	if (getenv("HV_TEST_VERBOSE"))
		print_message("  done %u unhandled %u fault %u system %u\n",
			      counts[EMU_DONE], counts[EMU_UNHANDLED],
			      counts[EMU_FAULT], sys_runs);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup64, teardown)
	const struct CMUnitTest tests[] = {
		T(test_fuzz_random_64),
		T(test_fuzz_random_32),
		T(test_fuzz_random_16),
		T(test_fuzz_mutations),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
