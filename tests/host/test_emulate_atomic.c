/*
 * Tests of the emulator's exchanging and bit-test instructions:
 * CMPXCHG, XADD and XCHG differentially against the host CPU (random
 * operands and flags, memory and register forms, LOCK, with and without
 * the cmpxchg callback, lost races), CMPXCHG8B/16B, giving up after too
 * many lost races, and BT/BTS/BTR/BTC, whose memory forms with a
 * register bit offset reach outside the operand: those run on a host
 * buffer and the fake memory side by side.
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
	fake_srand(0x5eed0003);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	fake_free();
	return 0;
}

HOST_BINARY(host_add, "add")
HOST_BITOP(host_bt, "bt")
HOST_BITOP(host_bts, "bts")
HOST_BITOP(host_btr, "btr")
HOST_BITOP(host_btc, "btc")

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
	snprintf(emu_what, sizeof(emu_what),
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
	snprintf(emu_what, sizeof(emu_what),
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
	snprintf(emu_what, sizeof(emu_what), "%s%s size %u form %u offset %lld imm %llu",
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
		print_error("%s: memory differs\n", emu_what);
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
