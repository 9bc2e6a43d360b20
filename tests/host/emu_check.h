/*
 * Checks shared by the emulator's host tests (include after cmocka.h):
 * assertions on an emu_ctxt outcome, and for the differential tests the
 * host CPU's reference (inline asm that runs the real instruction with
 * given RFLAGS and returns the RFLAGS it produced), instruction encoders
 * and value helpers.
 */
#ifndef TESTS_HOST_EMU_CHECK_H
#define TESTS_HOST_EMU_CHECK_H

#include <stdlib.h>
#include <string.h>
#include "tests/host/emu_fake.h"

/* What the current case is, for failure messages (emu_fake.c). */
extern char emu_what[160];

/* Table-driven tests name each case when HV_TEST_VERBOSE is set, so a
 * failure can be traced to its row. */
static inline void case_name(const char *name)
{
	if (getenv("HV_TEST_VERBOSE"))
		print_message("  %s\n", name);
}

#define assert_done(r) assert_int_equal((r), EMU_DONE)

static inline void assert_fault(enum emu_result r, uint8_t vector,
				uint32_t error)
{
	assert_int_equal(r, EMU_FAULT);
	assert_int_equal(fake.ctxt.fault_vector, vector);
	assert_int_equal(fake.ctxt.fault_error_code, error);
}

/* Registers other than RIP as they were before a failed instruction. */
static inline void assert_regs_unchanged(const struct vcpu_regs *before)
{
	assert_memory_equal(&fake.regs, before, sizeof(*before));
}

static inline void assert_access(uint64_t linear, unsigned size, bool write)
{
	assert_int_equal(fake.ctxt.mem_linear, linear);
	assert_int_equal(fake.ctxt.mem_size, size);
	assert_int_equal(fake.ctxt.mem_write, write);
}

/* ------------------------------------------------ the host's answers */

/* RFLAGS bits, written out here so the tests do not share the
 * emulator's own definitions. */
#define CF	0x001ull
#define PF	0x004ull
#define AF	0x010ull
#define ZF	0x040ull
#define SF	0x080ull
#define OF	0x800ull
#define ARITH	(CF | PF | AF | ZF | SF | OF)

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

typedef uint64_t (*host_fn)(unsigned size, uint64_t dst, uint64_t src,
			    uint64_t *flags);
typedef void (*host_bit_fn)(unsigned size, void *p, uint64_t bit,
			    uint64_t *flags);

/* Flags the SDM defines for each op (AF is undefined after logic ops;
 * only CF and ZF are defined after bit tests). Flags an op leaves alone
 * count as defined: they must come out unchanged. */
static inline uint64_t defined_flags(const char *op)
{
	if (!strcmp(op, "and") || !strcmp(op, "or") || !strcmp(op, "xor") ||
	    !strcmp(op, "test"))
		return ARITH & ~AF;
	if (!strncmp(op, "bt", 2))
		return CF | ZF;
	return ARITH;
}

/* -------------------------------------------------------- helpers */

static inline uint64_t mask_of(unsigned size)
{
	return size == 8 ? ~0ull : (1ull << (size * 8)) - 1;
}

static inline uint64_t sext(uint64_t val, unsigned size)
{
	uint64_t sign = 1ull << (size * 8 - 1);

	val &= mask_of(size);
	return (val ^ sign) - sign;
}

/* A register after a 'size'-byte write of 'val' (64-bit mode). */
static inline uint64_t merge(uint64_t old, uint64_t val, unsigned size)
{
	if (size >= 4)
		return val & mask_of(size);
	return (old & ~mask_of(size)) | (val & mask_of(size));
}

/* 'val' with its low byte bumped 'times' times by 'delta', as the fake
 * cmpxchg's interference does to memory. */
static inline uint64_t interfered(uint64_t val, unsigned times,
				  uint8_t delta)
{
	return (val & ~0xffull) | ((val + times * delta) & 0xff);
}

struct enc {
	uint8_t b[16];
	unsigned n;
};

static inline void emit(struct enc *e, uint8_t byte)
{
	e->b[e->n++] = byte;
}

static inline void emit_imm(struct enc *e, uint64_t val, unsigned size)
{
	for (unsigned i = 0; i < size; i++)
		emit(e, (uint8_t)(val >> (8 * i)));
}

static inline void emit_prefixes(struct enc *e, bool lock, unsigned size)
{
	if (lock)
		emit(e, 0xf0);
	if (size == 2)
		emit(e, 0x66);
	if (size == 8)
		emit(e, 0x48);
}

static inline void check(uint64_t got, uint64_t want, const char *field)
{
	if (got != want) {
		print_error("%s: %s: got %#llx, want %#llx\n", emu_what, field,
			    (unsigned long long)got, (unsigned long long)want);
		fail();
	}
}

/* Run and check the common outcome: EMU_DONE, length, RIP, and the
 * flags outside 'defined' as they were (in 'checked' as the host's). */
static inline void run_check(const struct enc *e, uint64_t flags_in,
			     uint64_t host_flags, uint64_t defined)
{
	enum emu_result r = fake_run(e->b, e->n);

	check(r, EMU_DONE, "result");
	check(fake.ctxt.insn_len, e->n, "insn_len");
	check(fake.regs.rip, FAKE_CODE + e->n, "rip");
	check(fake.regs.rflags & defined, host_flags & defined, "flags");
	check(fake.regs.rflags & ~ARITH, flags_in & ~ARITH, "other flags");
}

static inline uint64_t random_flags(void)
{
	return 0x202 | (fake_rand() & ARITH);
}

/* 16 random bytes at FAKE_DATA with 'val' in the first 'size'; *hi gets
 * the second qword, for check_data() to see nothing past the operand
 * was touched. */
static inline void fill_data(uint64_t val, unsigned size, uint64_t *hi)
{
	uint64_t lo = (fake_rand() & ~mask_of(size)) | (val & mask_of(size));

	*hi = fake_rand();
	fake_put(FAKE_DATA, lo, 8);
	fake_put(FAKE_DATA + 8, *hi, 8);
}

static inline void check_data(uint64_t before, uint64_t val, unsigned size,
			      uint64_t hi)
{
	check(fake_get(FAKE_DATA, 8),
	      (before & ~mask_of(size)) | (val & mask_of(size)), "memory");
	check(fake_get(FAKE_DATA + 8, 8), hi, "memory after the operand");
}

#endif
