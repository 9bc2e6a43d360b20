/*
 * The fake guest behind the emulator's host tests: see emu_fake.h.
 * Callbacks copy exactly the bytes asked for, so ASan catches the
 * emulator reading past what it fetched or was given.
 */
#include <stdlib.h>
#include <string.h>
#include "tests/host/emu_fake.h"

struct fake_guest fake;
char emu_what[160];

/* Where [linear, linear + len) lives: a pointer, or NULL if nowhere. */
static uint8_t *backing(uint64_t linear, uint64_t len, bool *is_mmio)
{
	*is_mmio = false;
	if (len == 0 || linear + len < linear)
		return NULL;
	if (linear + len <= FAKE_RAM_SIZE)
		return fake.ram + linear;
	if (linear >= FAKE_MMIO_BASE &&
	    linear + len <= FAKE_MMIO_BASE + FAKE_MMIO_SIZE) {
		*is_mmio = true;
		return fake.mmio + (linear - FAKE_MMIO_BASE);
	}
	return NULL;
}

static bool failing(uint64_t linear, uint64_t len)
{
	return fake.fail_enabled && fake.fail_addr >= linear &&
	       fake.fail_addr - linear < len;
}

static bool read_only(uint64_t linear, uint64_t len)
{
	return fake.ro_page && linear < fake.ro_page + 4096 &&
	       linear + len > fake.ro_page;
}

static void log_access(uint64_t linear, unsigned size, char kind,
		       const void *data)
{
	struct fake_access *a;

	if (fake.log_count == FAKE_LOG_MAX)
		return;
	a = &fake.log[fake.log_count++];
	a->linear = linear;
	a->size = size;
	a->kind = kind;
	memset(a->data, 0, sizeof(a->data));
	if (data)
		memcpy(a->data, data, size > 16 ? 16 : size);
}

static int fake_fetch(void *opaque, uint64_t linear, void *buf, unsigned len)
{
	(void)opaque;
	fake.fetches++;
	if (len == 0 || len > 15 || linear >= FAKE_RAM_SIZE ||
	    len > FAKE_RAM_SIZE - linear || failing(linear, len))
		return -1;
	memcpy(buf, fake.ram + linear, len);
	return 0;
}

static bool valid_size(unsigned size)
{
	return size == 1 || size == 2 || size == 4 || size == 8 ||
	       size == 16;
}

static int fake_read(void *opaque, uint64_t linear, void *buf, unsigned size)
{
	bool mmio;
	uint8_t *p = backing(linear, size, &mmio);

	(void)opaque;
	fake.reads++;
	if (!p || !valid_size(size) || failing(linear, size))
		return -1;
	memcpy(buf, p, size);
	if (mmio)
		log_access(linear, size, 'r', buf);
	return 0;
}

static int fake_write(void *opaque, uint64_t linear, const void *buf,
		      unsigned size)
{
	bool mmio;
	uint8_t *p = backing(linear, size, &mmio);

	(void)opaque;
	fake.writes++;
	if (!p || !valid_size(size) || failing(linear, size) ||
	    read_only(linear, size))
		return -1;
	memcpy(p, buf, size);
	if (mmio)
		log_access(linear, size, 'w', buf);
	return 0;
}

static int fake_cmpxchg(void *opaque, uint64_t linear, void *old,
			const void *new, unsigned size)
{
	bool mmio, equal;
	uint8_t *p = backing(linear, size, &mmio);

	(void)opaque;
	fake.cmpxchgs++;
	if (!p || !valid_size(size) || failing(linear, size) ||
	    read_only(linear, size))
		return -1;
	if (fake.interfere) {
		fake.interfere--;
		p[0] = (uint8_t)(p[0] + fake.interfere_delta);
	}
	equal = memcmp(p, old, size) == 0;
	if (equal)
		memcpy(p, new, size);
	else
		memcpy(old, p, size);
	if (mmio)
		log_access(linear, size, 'x', equal ? new : NULL);
	return 0;
}

static bool fake_cr_exists(unsigned cr)
{
	return cr == 0 || cr == 2 || cr == 3 || cr == 4 || cr == 8;
}

static int fake_read_cr(void *opaque, unsigned cr, uint64_t *value)
{
	(void)opaque;
	fake.cr_reads++;
	if (!fake_cr_exists(cr) || fake.read_cr_fail)
		return -1;
	fake.cr_read_mask |= 1u << cr;
	*value = fake.cr[cr];
	return 0;
}

static int fake_write_cr(void *opaque, unsigned cr, uint64_t value)
{
	(void)opaque;
	fake.cr_writes++;
	if (!fake_cr_exists(cr))
		return -1;
	fake.last_cr = cr;
	fake.last_cr_value = value;
	if (fake.write_cr_result == 0)
		fake.cr[cr] = value;
	return fake.write_cr_result;
}

static int fake_invlpg(void *opaque, uint64_t linear)
{
	(void)opaque;
	fake.invlpgs++;
	fake.invlpg_linear = linear;
	return fake.invlpg_result;
}

static void set_ops(void)
{
	fake.ops = (struct emu_ops){ .fetch = fake_fetch, .read = fake_read,
				     .write = fake_write,
				     .cmpxchg = fake_cmpxchg,
				     .read_cr = fake_read_cr,
				     .write_cr = fake_write_cr,
				     .invlpg = fake_invlpg };
}

/* The control registers the callbacks see, from the mode's sregs. */
static void reset_crs(void)
{
	memset(fake.cr, 0, sizeof(fake.cr));
	fake.cr[0] = fake.sregs.cr0;
	fake.cr[2] = FAKE_CR2;
	fake.cr[3] = FAKE_CR3;
	fake.cr[4] = fake.sregs.cr4;
	fake.cr[8] = FAKE_CR8;
}

static void reset_common(void)
{
	uint8_t *ram = fake.ram;

	if (!ram)
		ram = malloc(FAKE_RAM_SIZE);
	memset(ram, 0, FAKE_RAM_SIZE);
	memset(&fake, 0, sizeof(fake));
	fake.ram = ram;
	set_ops();
	fake.ctxt.regs = &fake.regs;
	fake.ctxt.sregs = &fake.sregs;
	fake.ctxt.ops = &fake.ops;
	fake.ctxt.opaque = &fake;
	fake.regs.rip = FAKE_CODE;
	fake.regs.rflags = 0x2;
}

void fake_reset64(void)
{
	reset_common();
	fake.sregs.cr0 = 0x80000011;		/* PG, ET, PE */
	fake.sregs.cr4 = 0x20;			/* PAE */
	fake.sregs.efer = 0x500;		/* LMA, LME */
	fake.sregs.cs_long = true;
	fake.sregs.cs_sel = 0x08;
	reset_crs();
}

void fake_reset32(void)
{
	reset_common();
	fake.sregs.cr0 = 0x11;
	fake.sregs.cs_db = true;
	fake.sregs.cs_sel = 0x08;
	reset_crs();
}

void fake_reset16(void)
{
	reset_common();
	fake.sregs.cr0 = 0x10;
	reset_crs();
}

void fake_rearm(void)
{
	memset(&fake.regs, 0, sizeof(fake.regs));
	fake.regs.rip = FAKE_CODE;
	fake.regs.rflags = 0x2;
	fake.log_count = 0;
	fake.fetches = fake.reads = fake.writes = fake.cmpxchgs = 0;
	fake.fail_enabled = false;
	fake.ro_page = 0;
	fake.interfere = 0;
	fake.ctxt.rep_limit = 0;
	fake.write_cr_result = 0;
	fake.read_cr_fail = false;
	fake.invlpg_result = 0;
	fake.cr_reads = fake.cr_writes = fake.invlpgs = 0;
	fake.cr_read_mask = 0;
	fake.last_cr = 0;
	fake.last_cr_value = 0;
	fake.invlpg_linear = 0;
	fake.ops.cmpxchg = fake_cmpxchg;
	fake.ops.read_cr = fake_read_cr;
	fake.ops.write_cr = fake_write_cr;
	fake.ops.invlpg = fake_invlpg;
}

void fake_free(void)
{
	free(fake.ram);
	fake.ram = NULL;
}

void fake_no_cmpxchg(void)
{
	fake.ops.cmpxchg = NULL;
}

enum emu_result fake_run(const uint8_t *code, size_t len)
{
	uint64_t at = fake.sregs.cs_long ? fake.regs.rip
					 : fake.sregs.cs_base + fake.regs.rip;

	if (at < FAKE_RAM_SIZE && len <= FAKE_RAM_SIZE - at)
		memcpy(fake.ram + at, code, len);
	return emulate_one(&fake.ctxt);
}

uint64_t fake_get(uint64_t linear, unsigned size)
{
	bool mmio;
	uint8_t *p = backing(linear, size, &mmio);
	uint64_t val = 0;

	for (unsigned i = 0; p && i < size && i < 8; i++)
		val |= (uint64_t)p[i] << (8 * i);
	return val;
}

void fake_put(uint64_t linear, uint64_t val, unsigned size)
{
	bool mmio;
	uint8_t *p = backing(linear, size, &mmio);

	for (unsigned i = 0; p && i < size && i < 8; i++)
		p[i] = (uint8_t)(val >> (8 * i));
}

static uint64_t rand_state = 0x9e3779b97f4a7c15ull;

void fake_srand(uint64_t seed)
{
	rand_state = seed ? seed : 1;
}

uint64_t fake_rand(void)
{
	rand_state ^= rand_state >> 12;
	rand_state ^= rand_state << 25;
	rand_state ^= rand_state >> 27;
	return rand_state * 0x2545f4914f6cdd1dull;
}

uint64_t fake_rand_operand(unsigned size)
{
	uint64_t mask = size >= 8 ? ~0ull : (1ull << (size * 8)) - 1;
	uint64_t sign = 1ull << (size * 8 - 1);

	switch (fake_rand() % 10) {
	case 0: return 0;
	case 1: return 1;
	case 2: return mask;
	case 3: return sign;
	case 4: return sign - 1;
	case 5: return sign + 1;
	case 6: return fake_rand() & 0xff;	/* small: AF, PF cases */
	default: return fake_rand() & mask;
	}
}
