/*
 * A fake guest for the emulator's host tests (tests/host/emu_fake.c):
 * registers, segment state, and a linear address space where
 *
 *   [0, FAKE_RAM_SIZE)                     is RAM (a byte array),
 *   [FAKE_MMIO_BASE, + FAKE_MMIO_SIZE)     is an "MMIO window" that logs
 *                                          every access with its size and
 *                                          value, and keeps what is
 *                                          written like a register file,
 *
 * and everything else faults (the callbacks return -1), as does any
 * access that straddles a region's end or touches fake.fail_addr.
 * Instructions are copied into RAM at CS base + RIP and fetched from
 * there; a fetch outside RAM faults.
 */
#ifndef TESTS_HOST_EMU_FAKE_H
#define TESTS_HOST_EMU_FAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "virt/emulate.h"

#define FAKE_RAM_SIZE	0x200000ull
#define FAKE_MMIO_BASE	0xc0000000ull
#define FAKE_MMIO_SIZE	0x1000ull
#define FAKE_CODE	0x1000ull	/* default CS base + RIP */
#define FAKE_DATA	0x8000ull	/* a handy data address in RAM */
#define FAKE_LOG_MAX	256
#define FAKE_CR2	0xffffffffc0de0000ull
#define FAKE_CR3	0x0000000123456000ull
#define FAKE_CR8	0x5ull

struct fake_access {
	uint64_t linear;
	unsigned size;
	char kind;		/* 'r', 'w' or 'x' (cmpxchg) */
	uint8_t data[16];	/* read: the value returned; write and
				   cmpxchg: the value written (if any) */
};

struct fake_guest {
	struct vcpu_regs regs;
	struct vcpu_sregs sregs;
	struct emu_ctxt ctxt;
	struct emu_ops ops;		/* ctxt.ops points here */
	uint8_t *ram;
	uint8_t mmio[FAKE_MMIO_SIZE];

	struct fake_access log[FAKE_LOG_MAX];	/* MMIO accesses */
	unsigned log_count;
	unsigned fetches, reads, writes, cmpxchgs;	/* all callbacks */

	uint64_t fail_addr;		/* accesses touching it fail... */
	bool fail_enabled;		/* ...when set */
	uint64_t ro_page;		/* writes to this page fail (0: none) */
	/* The next 'interfere' cmpxchg calls first add 'interfere_delta' to
	 * the memory's first byte, as another CPU's write would. */
	unsigned interfere;
	uint8_t interfere_delta;

	/*
	 * Control registers behind read_cr/write_cr: CR0, CR2, CR3, CR4 and
	 * CR8 (others make the callbacks fail the test: the emulator must
	 * #UD them without asking). write_cr returns write_cr_result and
	 * stores the value only when that is 0; read_cr fails with -1 when
	 * read_cr_fail is set. invlpg records its address and returns
	 * invlpg_result.
	 */
	uint64_t cr[16];
	int write_cr_result;
	bool read_cr_fail;
	int invlpg_result;
	unsigned cr_reads, cr_writes, invlpgs;
	unsigned cr_read_mask;		/* bit n: CR n was read */
	unsigned last_cr;		/* the CR of the last write_cr */
	uint64_t last_cr_value;		/* and its value */
	uint64_t invlpg_linear;		/* the last invlpg address */
};

extern struct fake_guest fake;

/* Allocate RAM (once) and reset everything: 64-bit, 32-bit protected or
 * 16-bit real mode, zeroed registers, RIP = FAKE_CODE, CS base 0, RFLAGS
 * 0x2, CPL 0, the cmpxchg and system callbacks present, fake.cr[] from
 * the mode's CR0 and CR4 (FAKE_CR2, FAKE_CR3, FAKE_CR8 for the others). */
void fake_reset64(void);
void fake_reset32(void);
void fake_reset16(void);
void fake_free(void);

/* Between runs of a loop: registers zeroed (RIP = FAKE_CODE, RFLAGS
 * 0x2), counters, log and injections cleared, the cmpxchg and system
 * callbacks back; mode, segment state, control registers and memory
 * kept. */
void fake_rearm(void);

/* Without the cmpxchg callback (read then write). */
void fake_no_cmpxchg(void);

/* Copy 'code' to CS base + RIP and emulate it. */
enum emu_result fake_run(const uint8_t *code, size_t len);
#define RUN(...) fake_run((const uint8_t[]){ __VA_ARGS__ }, \
			  sizeof((const uint8_t[]){ __VA_ARGS__ }))

/* Little-endian values in the fake address space (RAM or MMIO), outside
 * the callbacks: nothing is logged. */
uint64_t fake_get(uint64_t linear, unsigned size);
void fake_put(uint64_t linear, uint64_t val, unsigned size);

/* A tiny deterministic PRNG (xorshift64*) so runs repeat exactly. */
uint64_t fake_rand(void);
void fake_srand(uint64_t seed);
/* A random value that favours edge cases (0, 1, all ones, sign bits). */
uint64_t fake_rand_operand(unsigned size);

#endif
