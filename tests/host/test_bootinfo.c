/*
 * bootinfo_parse(): multiboot1 and multiboot2 blocks crafted in a buffer
 * that stands for physical memory, good ones and broken ones, then random
 * mutations of good ones.
 *
 * The reader hands out a fresh heap copy of exactly the bytes asked for, so
 * AddressSanitizer stops the test if the parser reads one byte past what it
 * mapped, not only past the end of the buffer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "kernel/bootinfo.h"
#include "kernel/compiler.h"
#include "tests/host/capture.h"

/* ---- Physical memory ------------------------------------------------------ */

#define PHYS_BASE	0x100000ull
#define PHYS_SIZE	0x40000ull
#define PHYS_END	(PHYS_BASE + PHYS_SIZE)

static uint8_t *phys_mem;
static void **maps;
static size_t maps_count, maps_cap;

static const void *test_phys_map(uint64_t phys, uint64_t len, void *ctx)
{
	void *copy;

	(void)ctx;
	if (phys < PHYS_BASE || len > PHYS_SIZE ||
	    phys - PHYS_BASE > PHYS_SIZE - len)
		return NULL;
	copy = malloc(len ? len : 1);
	assert_non_null(copy);
	memcpy(copy, phys_mem + (phys - PHYS_BASE), len);
	if (maps_count == maps_cap) {
		maps_cap = maps_cap ? 2 * maps_cap : 256;
		maps = realloc(maps, maps_cap * sizeof(*maps));
		assert_non_null(maps);
	}
	maps[maps_count++] = copy;
	return copy;
}

static void release_maps(void)
{
	for (size_t i = 0; i < maps_count; i++)
		free(maps[i]);
	maps_count = 0;
}

static const struct phys_reader reader = { .map = test_phys_map };
static struct boot_info bi;

static int parse(uint32_t magic, uint64_t info_phys)
{
	int ret = bootinfo_parse(magic, info_phys, &reader, &bi);

	release_maps();
	return ret;
}

static uint8_t *at(uint64_t phys, size_t len)
{
	assert_true(phys >= PHYS_BASE && phys + len <= PHYS_END);
	return phys_mem + (phys - PHYS_BASE);
}

static void put32(uint64_t phys, uint32_t v)
{
	memcpy(at(phys, 4), &v, 4);	/* the host is little endian too */
}

static void put64(uint64_t phys, uint64_t v)
{
	memcpy(at(phys, 8), &v, 8);
}

static void put_str(uint64_t phys, const char *s)
{
	memcpy(at(phys, strlen(s) + 1), s, strlen(s) + 1);
}

static int setup(void **state)
{
	(void)state;
	memset(phys_mem, 0, PHYS_SIZE);
	memset(&bi, 0x5a, sizeof(bi));	/* the parser must clear it */
	capture_reset();
	return 0;
}

static int group_setup(void **state)
{
	(void)state;
	phys_mem = malloc(PHYS_SIZE);
	return phys_mem ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	release_maps();
	free(maps);
	free(phys_mem);
	return 0;
}

struct entry {
	uint64_t base;
	uint64_t len;
	uint32_t type;
};

static void assert_range(const struct mem_range *r, uint64_t base,
			 uint64_t end, uint32_t type)
{
	assert_int_equal(r->base, base);
	assert_int_equal(r->end, end);
	assert_int_equal(r->type, type);
}

/* capture_contains() with a formatted needle. */
static bool __printf(1, 2) logged(const char *fmt, ...)
{
	char needle[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(needle, sizeof(needle), fmt, ap);
	va_end(ap);
	if (capture_contains(needle))
		return true;
	print_error("expected in the log: \"%s\"\nlog:\n%s\n", needle,
		    capture_log());
	return false;
}

/* A machine with 128 MiB, as QEMU describes it. */
static const struct entry std_map[] = {
	{ 0x0, 0x9fc00, MEM_USABLE },
	{ 0x9fc00, 0x400, MEM_RESERVED },
	{ 0xf0000, 0x10000, MEM_RESERVED },
	{ 0x100000, 0x7ee0000, MEM_USABLE },
	{ 0x7fe0000, 0x20000, MEM_RESERVED },
	{ 0xfffc0000, 0x40000, MEM_RESERVED },
};

static void assert_std_map(void)
{
	assert_int_equal(bi.memmap_count, 6);
	assert_false(bi.memmap_from_basic);
	assert_range(&bi.memmap[0], 0x0, 0x9f000, MEM_USABLE);
	assert_range(&bi.memmap[1], 0x9fc00, 0xa0000, MEM_RESERVED);
	assert_range(&bi.memmap[2], 0xf0000, 0x100000, MEM_RESERVED);
	assert_range(&bi.memmap[3], 0x100000, 0x7fe0000, MEM_USABLE);
	assert_range(&bi.memmap[4], 0x7fe0000, 0x8000000, MEM_RESERVED);
	assert_range(&bi.memmap[5], 0xfffc0000, 0x100000000, MEM_RESERVED);
}

/* ---- Multiboot1 blocks ---------------------------------------------------- */

#define MB1_INFO	(PHYS_BASE + 0x0000)
#define MB1_CMDLINE	(PHYS_BASE + 0x1000)
#define MB1_LOADER	(PHYS_BASE + 0x1800)
#define MB1_MODS	(PHYS_BASE + 0x2000)
#define MB1_MOD_STRS	(PHYS_BASE + 0x3000)	/* 0x100 apart */
#define MB1_MMAP	(PHYS_BASE + 0x6000)

#define F_MEM		(1u << 0)
#define F_CMDLINE	(1u << 2)
#define F_MODS		(1u << 3)
#define F_MMAP		(1u << 6)
#define F_LOADER	(1u << 9)

static void mb1_set(unsigned offset, uint32_t v)
{
	put32(MB1_INFO + offset, v);
}

static void mb1_module(unsigned i, uint32_t start, uint32_t end,
		       const char *cmdline)
{
	uint64_t entry = MB1_MODS + 16 * i;

	put32(entry, start);
	put32(entry + 4, end);
	put32(entry + 8, (uint32_t)(MB1_MOD_STRS + 0x100 * i));
	put_str(MB1_MOD_STRS + 0x100 * i, cmdline);
}

/* Writes entries with the given size field; returns the map's length. */
static uint32_t mb1_mmap(const struct entry *e, unsigned n, uint32_t size)
{
	uint64_t p = MB1_MMAP;

	for (unsigned i = 0; i < n; i++) {
		put32(p, size);
		put64(p + 4, e[i].base);
		put64(p + 12, e[i].len);
		put32(p + 20, e[i].type);
		p += 4 + size;
	}
	return (uint32_t)(p - MB1_MMAP);
}

static void mb1_build_full(void)
{
	mb1_set(0, F_MEM | F_CMDLINE | F_MODS | F_MMAP | F_LOADER);
	mb1_set(4, 639);
	mb1_set(8, 0x1fb80);
	mb1_set(16, (uint32_t)MB1_CMDLINE);
	put_str(MB1_CMDLINE, "serial=0x3f8 loglevel=7");
	mb1_set(20, 2);
	mb1_set(24, (uint32_t)MB1_MODS);
	mb1_module(0, 0x200000, 0x280000, "guest1.elf name=a mem=64M");
	mb1_module(1, 0x300000, 0x300800, "guest2.elf");
	mb1_set(44, mb1_mmap(std_map, ARRAY_SIZE(std_map), 20));
	mb1_set(48, (uint32_t)MB1_MMAP);
	mb1_set(64, (uint32_t)MB1_LOADER);
	put_str(MB1_LOADER, "qemu");
}

static void test_mb1_full(void **state)
{
	(void)state;
	mb1_build_full();
	assert_int_equal(parse(MB1_BOOT_MAGIC, MB1_INFO), BOOTINFO_OK);
	assert_int_equal(bi.protocol, 1);
	assert_int_equal(bi.info_phys, MB1_INFO);
	assert_int_equal(bi.info_size, 68);
	assert_string_equal(bi.cmdline, "serial=0x3f8 loglevel=7");
	assert_string_equal(bi.loader_name, "qemu");
	assert_int_equal(bi.module_count, 2);
	assert_int_equal(bi.modules[0].start, 0x200000);
	assert_int_equal(bi.modules[0].end, 0x280000);
	assert_string_equal(bi.modules[0].cmdline, "guest1.elf name=a mem=64M");
	assert_int_equal(bi.modules[1].start, 0x300000);
	assert_int_equal(bi.modules[1].end, 0x300800);
	assert_string_equal(bi.modules[1].cmdline, "guest2.elf");
	assert_std_map();
	assert_int_equal(bi.rsdp_len, 0);
	assert_int_equal(bi.warnings, 0);
	assert_false(capture_contains("bootinfo"));
}

static void test_mb1_basic_memory_only(void **state)
{
	(void)state;
	mb1_set(0, F_MEM);
	mb1_set(4, 639);
	mb1_set(8, 0x1fb80);
	assert_int_equal(parse(MB1_BOOT_MAGIC, MB1_INFO), BOOTINFO_OK);
	assert_true(bi.memmap_from_basic);
	assert_int_equal(bi.memmap_count, 2);
	assert_range(&bi.memmap[0], 0x0, 0x9f000, MEM_USABLE);
	assert_range(&bi.memmap[1], 0x100000, 0x100000 + 0x1fb80 * 1024ull,
		     MEM_USABLE);
	assert_int_equal(bi.module_count, 0);
	assert_string_equal(bi.cmdline, "");
	assert_int_equal(bi.warnings, 0);
	assert_true(logged("the loader passed no memory map; using the basic memory sizes instead: 639 KiB at 0 and 129920 KiB at 1 MiB"));
}

static void test_mb1_module_string_unreadable(void **state)
{
	(void)state;
	mb1_build_full();
	put32(MB1_MODS + 16 + 8, 0xf0000000);	/* module 2's string */
	assert_int_equal(parse(MB1_BOOT_MAGIC, MB1_INFO), BOOTINFO_OK);
	assert_int_equal(bi.module_count, 2);
	assert_string_equal(bi.modules[0].cmdline, "guest1.elf name=a mem=64M");
	assert_string_equal(bi.modules[1].cmdline, "");
	assert_int_equal(bi.modules[1].start, 0x300000);
	assert_int_equal(bi.warnings, 1);
	assert_true(logged("multiboot1 module 2 command line at 0xf0000000 cannot be read; using an empty one"));
}

static void test_mb1_module_list_unreadable(void **state)
{
	(void)state;
	mb1_build_full();
	mb1_set(24, 0x10);
	assert_int_equal(parse(MB1_BOOT_MAGIC, MB1_INFO), BOOTINFO_OK);
	assert_int_equal(bi.module_count, 0);
	assert_int_equal(bi.warnings, 1);
	assert_true(logged("multiboot1 module 1's entry at 0x10 cannot be read"));
}

static void test_mb1_mmap_entry_size_too_small(void **state)
{
	(void)state;
	mb1_build_full();
	put32(MB1_MMAP + 24, 12);	/* entry 1's size field */
	assert_int_equal(parse(MB1_BOOT_MAGIC, MB1_INFO), BOOTINFO_OK);
	assert_false(bi.memmap_from_basic);
	assert_int_equal(bi.memmap_count, 1);
	assert_range(&bi.memmap[0], 0x0, 0x9f000, MEM_USABLE);
	assert_int_equal(bi.warnings, 1);
	assert_true(logged("multiboot1 memory map entry 1 at 0x%llx has size 12, less than the 20 bytes of an entry; ignoring it and the rest of the map",
			   (unsigned long long)MB1_MMAP + 24));
}

static void test_mb1_first_mmap_entry_bad_falls_back(void **state)
{
	(void)state;
	mb1_build_full();
	put32(MB1_MMAP, 19);
	assert_int_equal(parse(MB1_BOOT_MAGIC, MB1_INFO), BOOTINFO_OK);
	assert_true(bi.memmap_from_basic);
	assert_int_equal(bi.memmap_count, 2);
	assert_range(&bi.memmap[1], 0x100000, 0x100000 + 0x1fb80 * 1024ull,
		     MEM_USABLE);
	assert_int_equal(bi.warnings, 1);
	assert_true(logged("has size 19, less than the 20 bytes"));
	assert_true(logged("the loader's memory map held no entry that could be used; using the basic memory sizes instead"));

	/* Without the basic sizes there is nothing to fall back to. */
	setup(NULL);
	mb1_build_full();
	put32(MB1_MMAP, 0);
	mb1_set(0, F_MMAP);
	assert_int_equal(parse(MB1_BOOT_MAGIC, MB1_INFO), BOOTINFO_NO_MEMMAP);
	assert_true(logged("has size 0, less than the 20 bytes"));
	assert_true(logged("the loader's memory map held no entry that could be used, and no basic memory sizes either (multiboot1); cannot tell which memory is usable"));
}

static void test_mb1_mmap_cut_short(void **state)
{
	(void)state;
	mb1_build_full();
	mb1_set(44, 2 * 24 + 10);	/* two entries and a piece */
	assert_int_equal(parse(MB1_BOOT_MAGIC, MB1_INFO), BOOTINFO_OK);
	assert_int_equal(bi.memmap_count, 2);
	assert_int_equal(bi.warnings, 1);
	assert_true(logged("memory map entry 2 at 0x%llx runs past the end of the 0x3a-byte map",
			   (unsigned long long)MB1_MMAP + 48));
}

static void test_mb1_mmap_entry_wraps(void **state)
{
	static const struct entry wrap[] = {
		{ 0x100000, 0x100000, MEM_USABLE },
		{ 0xfffffffffffff000ull, 0x2000, MEM_RESERVED },
	};

	(void)state;
	mb1_build_full();
	mb1_set(44, mb1_mmap(wrap, 2, 20));
	assert_int_equal(parse(MB1_BOOT_MAGIC, MB1_INFO), BOOTINFO_OK);
	assert_int_equal(bi.memmap_count, 2);
	assert_range(&bi.memmap[1], 0xfffffffffffff000ull, UINT64_MAX,
		     MEM_RESERVED);
	assert_int_equal(bi.warnings, 1);
	assert_true(logged("multiboot1 memory map entry at 0xfffffffffffff000 with length 0x2000 runs past the top of the address space; clamped it to end at 0xffffffffffffffff"));
}

static void test_mb1_strings(void **state)
{
	char long_line[700];
	uint64_t name = PHYS_END - 10;

	(void)state;
	mb1_build_full();
	memset(long_line, 'x', sizeof(long_line) - 1);
	long_line[sizeof(long_line) - 1] = '\0';
	put_str(MB1_CMDLINE, long_line);
	/* The loader name runs off the end of readable memory. */
	memset(at(name, 10), 'n', 10);
	mb1_set(64, (uint32_t)name);
	assert_int_equal(parse(MB1_BOOT_MAGIC, MB1_INFO), BOOTINFO_OK);
	assert_int_equal(strlen(bi.cmdline), BOOT_CMDLINE_MAX - 1);
	assert_string_equal(bi.loader_name, "nnnnnnnnnn");
	assert_int_equal(bi.warnings, 2);
	assert_true(logged("the kernel command line 'xxxxxxxxxx"));
	assert_true(logged("is longer than the 511 bytes kept; truncated it"));
	assert_true(logged("the multiboot1 boot loader name at 0x%llx runs into unreadable memory after 10 bytes without ending",
			   (unsigned long long)name));
}

static void test_mb1_string_exactly_fits(void **state)
{
	char line[BOOT_CMDLINE_MAX];

	(void)state;
	mb1_build_full();
	memset(line, 'y', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\0';
	put_str(MB1_CMDLINE, line);
	assert_int_equal(parse(MB1_BOOT_MAGIC, MB1_INFO), BOOTINFO_OK);
	assert_string_equal(bi.cmdline, line);
	assert_int_equal(bi.warnings, 0);
}

static void test_mb1_info_unreadable(void **state)
{
	(void)state;
	assert_int_equal(parse(MB1_BOOT_MAGIC, PHYS_END - 64),
			 BOOTINFO_UNREADABLE);
	assert_true(logged("cannot read the multiboot1 info block at 0x%llx (68 bytes)",
			   (unsigned long long)PHYS_END - 64));
	assert_int_equal(parse(MB1_BOOT_MAGIC, UINT64_MAX - 8),
			 BOOTINFO_UNREADABLE);
}

static void test_mb1_bad_modules(void **state)
{
	(void)state;
	mb1_build_full();
	mb1_set(20, 4);
	mb1_module(1, 0x300000, 0x300000, "empty.elf");
	mb1_module(2, 0x400000, 0x3ff000, "inverted.elf arg=1");
	mb1_module(3, 0x500000, 0x501000, "last.elf");
	assert_int_equal(parse(MB1_BOOT_MAGIC, MB1_INFO), BOOTINFO_OK);
	assert_int_equal(bi.module_count, 2);
	assert_string_equal(bi.modules[0].cmdline, "guest1.elf name=a mem=64M");
	assert_string_equal(bi.modules[1].cmdline, "last.elf");
	assert_int_equal(bi.modules[1].start, 0x500000);
	assert_int_equal(bi.warnings, 2);
	assert_true(logged("module 2 'empty.elf' is empty (starts and ends at 0x300000); skipping it"));
	assert_true(logged("module 3 'inverted.elf arg=1' ends at 0x3ff000, before its start at 0x400000; skipping it"));
}

static void test_mb1_too_many_modules(void **state)
{
	(void)state;
	mb1_build_full();
	mb1_set(20, 40);
	for (unsigned i = 0; i < 40; i++) {
		char name[32];

		snprintf(name, sizeof(name), "m%u", i);
		mb1_module(i, 0x200000 + i * 0x1000, 0x201000 + i * 0x1000,
			   name);
	}
	assert_int_equal(parse(MB1_BOOT_MAGIC, MB1_INFO), BOOTINFO_OK);
	assert_int_equal(bi.module_count, BOOT_MODULES_MAX);
	assert_string_equal(bi.modules[31].cmdline, "m31");
	assert_int_equal(bi.warnings, 1);
	assert_true(logged("the loader passed 40 modules but at most 32 are supported; ignoring the ones after module 32"));
}

static void test_mb1_no_memory_info(void **state)
{
	(void)state;
	mb1_build_full();
	mb1_set(0, F_CMDLINE);
	assert_int_equal(parse(MB1_BOOT_MAGIC, MB1_INFO), BOOTINFO_NO_MEMMAP);
	assert_true(logged("the loader passed no memory map, and no basic memory sizes either (multiboot1); cannot tell which memory is usable"));
}

/* ---- Multiboot2 blocks ---------------------------------------------------- */

#define MB2_INFO	(PHYS_BASE + 0x8000)

struct mb2 {
	uint64_t phys;
	uint32_t off;
};

static void mb2_begin(struct mb2 *b, uint64_t phys)
{
	b->phys = phys;
	b->off = 8;
	put32(phys + 4, 0);
}

/* Appends a tag; returns its offset in the block. */
static uint32_t mb2_tag(struct mb2 *b, uint32_t type, const void *payload,
			uint32_t len)
{
	uint32_t off = b->off;

	put32(b->phys + off, type);
	put32(b->phys + off + 4, 8 + len);
	if (len)
		memcpy(at(b->phys + off + 8, len), payload, len);
	b->off += ALIGN_UP(8 + len, 8u);
	return off;
}

static uint32_t mb2_finish(struct mb2 *b, bool end_tag)
{
	if (end_tag)
		mb2_tag(b, 0, NULL, 0);
	put32(b->phys, b->off);
	return b->off;
}

static uint32_t mb2_string(struct mb2 *b, uint32_t type, const char *s)
{
	return mb2_tag(b, type, s, (uint32_t)strlen(s) + 1);
}

static uint32_t mb2_module(struct mb2 *b, uint32_t start, uint32_t end,
			   const char *cmdline)
{
	uint8_t payload[512];
	size_t len = strlen(cmdline) + 1;

	memcpy(payload, &start, 4);
	memcpy(payload + 4, &end, 4);
	memcpy(payload + 8, cmdline, len);
	return mb2_tag(b, 3, payload, (uint32_t)(8 + len));
}

static uint32_t mb2_basic(struct mb2 *b, uint32_t lower, uint32_t upper)
{
	uint32_t payload[2] = { lower, upper };

	return mb2_tag(b, 4, payload, sizeof(payload));
}

static uint32_t mb2_mmap(struct mb2 *b, const struct entry *e, unsigned n,
			 uint32_t entry_size)
{
	uint8_t payload[8 + 64 * 32] = { 0 };
	uint32_t version = 0;

	assert_true(n <= 64 && entry_size <= 32 && entry_size >= 24);
	memcpy(payload, &entry_size, 4);
	memcpy(payload + 4, &version, 4);
	for (unsigned i = 0; i < n; i++) {
		uint8_t *p = payload + 8 + i * entry_size;

		memcpy(p, &e[i].base, 8);
		memcpy(p + 8, &e[i].len, 8);
		memcpy(p + 16, &e[i].type, 4);
	}
	return mb2_tag(b, 6, payload, 8 + n * entry_size);
}

/* An RSDP copy whose bytes say which tag it came from. */
static uint32_t mb2_rsdp(struct mb2 *b, uint32_t type, uint32_t len)
{
	uint8_t rsdp[36];

	for (unsigned i = 0; i < sizeof(rsdp); i++)
		rsdp[i] = (uint8_t)(type * 16 + i);
	return mb2_tag(b, type, rsdp, len);
}

static void assert_rsdp_from(uint32_t type, uint32_t len)
{
	assert_int_equal(bi.rsdp_len, len);
	for (unsigned i = 0; i < len; i++)
		assert_int_equal(bi.rsdp[i], (uint8_t)(type * 16 + i));
}

/* Offsets of the tags mb2_build_full() writes, for the tests that break
 * one of them. */
struct mb2_layout {
	uint32_t cmdline, loader, module1, module2, basic, mmap, framebuffer,
		 acpi_old, acpi_new, end, total;
};

static struct mb2_layout mb2_build_full(uint64_t phys)
{
	static const uint8_t framebuffer[24] = { 0 };
	struct mb2_layout l;
	struct mb2 b;

	mb2_begin(&b, phys);
	l.cmdline = mb2_string(&b, 1, "console=com1 loglevel=7");
	l.loader = mb2_string(&b, 2, "GRUB 2.06");
	l.module1 = mb2_module(&b, 0x200000, 0x280000,
			       "guest1.elf name=a mem=64M");
	l.module2 = mb2_module(&b, 0x300000, 0x300800, "guest2.elf");
	l.basic = mb2_basic(&b, 639, 0x1fb80);
	l.mmap = mb2_mmap(&b, std_map, ARRAY_SIZE(std_map), 24);
	l.framebuffer = mb2_tag(&b, 8, framebuffer, sizeof(framebuffer));
	l.acpi_old = mb2_rsdp(&b, 14, 20);
	l.acpi_new = mb2_rsdp(&b, 15, 36);
	l.end = b.off;
	l.total = mb2_finish(&b, true);
	return l;
}

static void test_mb2_full(void **state)
{
	struct mb2_layout l;

	(void)state;
	l = mb2_build_full(MB2_INFO);
	assert_int_equal(parse(MB2_BOOT_MAGIC, MB2_INFO), BOOTINFO_OK);
	assert_int_equal(bi.protocol, 2);
	assert_int_equal(bi.info_phys, MB2_INFO);
	assert_int_equal(bi.info_size, l.total);
	assert_string_equal(bi.cmdline, "console=com1 loglevel=7");
	assert_string_equal(bi.loader_name, "GRUB 2.06");
	assert_int_equal(bi.module_count, 2);
	assert_int_equal(bi.modules[0].start, 0x200000);
	assert_int_equal(bi.modules[0].end, 0x280000);
	assert_string_equal(bi.modules[0].cmdline, "guest1.elf name=a mem=64M");
	assert_int_equal(bi.modules[1].start, 0x300000);
	assert_int_equal(bi.modules[1].end, 0x300800);
	assert_string_equal(bi.modules[1].cmdline, "guest2.elf");
	assert_std_map();
	assert_rsdp_from(15, 36);
	assert_int_equal(bi.warnings, 0);
	assert_false(capture_contains("bootinfo"));
}

static void test_mb2_acpi_tag_choice(void **state)
{
	struct mb2 b;

	(void)state;
	/* 15 before 14: 15 still wins. */
	mb2_begin(&b, MB2_INFO);
	mb2_basic(&b, 639, 0x1000);
	mb2_rsdp(&b, 15, 36);
	mb2_rsdp(&b, 14, 20);
	mb2_finish(&b, true);
	assert_int_equal(parse(MB2_BOOT_MAGIC, MB2_INFO), BOOTINFO_OK);
	assert_rsdp_from(15, 36);
	assert_int_equal(bi.warnings, 0);

	/* 14 alone. */
	setup(NULL);
	mb2_begin(&b, MB2_INFO);
	mb2_basic(&b, 639, 0x1000);
	mb2_rsdp(&b, 14, 20);
	mb2_finish(&b, true);
	assert_int_equal(parse(MB2_BOOT_MAGIC, MB2_INFO), BOOTINFO_OK);
	assert_rsdp_from(14, 20);

	/* A 15 too short to hold an RSDP 2.0 is ignored; 14 is used. */
	setup(NULL);
	mb2_begin(&b, MB2_INFO);
	mb2_basic(&b, 639, 0x1000);
	mb2_rsdp(&b, 14, 20);
	uint32_t off = mb2_rsdp(&b, 15, 20);
	mb2_finish(&b, true);
	assert_int_equal(parse(MB2_BOOT_MAGIC, MB2_INFO), BOOTINFO_OK);
	assert_rsdp_from(14, 20);
	assert_int_equal(bi.warnings, 1);
	assert_true(logged("multiboot2 ACPI RSDP tag (type 15) at offset 0x%x holds 20 bytes, less than the 36 it needs; ignoring it",
			   off));
}

static void test_mb2_tag_past_total_size(void **state)
{
	struct mb2 b;
	uint32_t off, total;

	(void)state;
	mb2_begin(&b, MB2_INFO);
	mb2_string(&b, 1, "console=com1");
	mb2_basic(&b, 639, 0x1000);
	off = mb2_mmap(&b, std_map, 1, 24);
	mb2_module(&b, 0x200000, 0x201000, "after.elf");
	total = mb2_finish(&b, true);
	put32(MB2_INFO + off + 4, 0x1000);
	assert_int_equal(parse(MB2_BOOT_MAGIC, MB2_INFO), BOOTINFO_OK);
	assert_string_equal(bi.cmdline, "console=com1");
	assert_int_equal(bi.module_count, 0);
	assert_true(bi.memmap_from_basic);
	assert_int_equal(bi.warnings, 1);
	assert_true(logged("bootinfo: multiboot2 tag type 6 at offset 0x%x has size 0x1000, past the end of the 0x%x-byte info block; ignoring the rest",
			   off, total));
	assert_false(capture_contains("no end tag"));
}

static void test_mb2_tag_smaller_than_header(void **state)
{
	struct mb2 b;
	uint32_t off;

	(void)state;
	mb2_begin(&b, MB2_INFO);
	mb2_mmap(&b, std_map, ARRAY_SIZE(std_map), 24);
	off = mb2_string(&b, 1, "console=com1");
	mb2_module(&b, 0x200000, 0x201000, "after.elf");
	mb2_finish(&b, true);
	put32(MB2_INFO + off + 4, 4);
	assert_int_equal(parse(MB2_BOOT_MAGIC, MB2_INFO), BOOTINFO_OK);
	assert_std_map();
	assert_string_equal(bi.cmdline, "");
	assert_int_equal(bi.module_count, 0);
	assert_int_equal(bi.warnings, 1);
	assert_true(logged("multiboot2 tag type 1 at offset 0x%x has size 0x4, less than its 8-byte header; ignoring it and the rest",
			   off));
}

static void test_mb2_missing_end_tag(void **state)
{
	struct mb2 b;
	uint32_t total;

	(void)state;
	mb2_begin(&b, MB2_INFO);
	mb2_string(&b, 1, "console=com1");
	mb2_mmap(&b, std_map, ARRAY_SIZE(std_map), 24);
	total = mb2_finish(&b, false);
	assert_int_equal(parse(MB2_BOOT_MAGIC, MB2_INFO), BOOTINFO_OK);
	assert_string_equal(bi.cmdline, "console=com1");
	assert_std_map();
	assert_int_equal(bi.warnings, 1);
	assert_true(logged("the 0x%x-byte multiboot2 info block has no end tag; it may have been cut short",
			   total));

	/* The block ends 4 bytes into a tag header. */
	setup(NULL);
	mb2_begin(&b, MB2_INFO);
	mb2_mmap(&b, std_map, ARRAY_SIZE(std_map), 24);
	total = mb2_finish(&b, false) + 4;
	put32(MB2_INFO, total);
	assert_int_equal(parse(MB2_BOOT_MAGIC, MB2_INFO), BOOTINFO_OK);
	assert_std_map();
	assert_int_equal(bi.warnings, 1);
	assert_true(logged("the 0x%x-byte multiboot2 info block ends inside the tag header at offset 0x%x",
			   total, total - 4));
}

static void test_mb2_total_size_absurd(void **state)
{
	(void)state;
	mb2_build_full(MB2_INFO);
	put32(MB2_INFO, 4);
	assert_int_equal(parse(MB2_BOOT_MAGIC, MB2_INFO), BOOTINFO_MALFORMED);
	assert_true(logged("the multiboot2 info block at 0x%llx claims a total size of 0x4 bytes, outside the sane 0x8 to 0x100000; it is corrupt",
			   (unsigned long long)MB2_INFO));

	capture_reset();
	put32(MB2_INFO, 0x80000000);
	assert_int_equal(parse(MB2_BOOT_MAGIC, MB2_INFO), BOOTINFO_MALFORMED);
	assert_true(logged("claims a total size of 0x80000000 bytes"));

	/* Sane, but larger than the memory that is there. */
	capture_reset();
	put32(MB2_INFO, 0x100000);
	assert_int_equal(parse(MB2_BOOT_MAGIC, MB2_INFO), BOOTINFO_UNREADABLE);
	assert_true(logged("cannot read the 0x100000-byte multiboot2 info block at 0x%llx",
			   (unsigned long long)MB2_INFO));

	capture_reset();
	assert_int_equal(parse(MB2_BOOT_MAGIC, PHYS_END - 4),
			 BOOTINFO_UNREADABLE);
	assert_true(logged("cannot read the multiboot2 info block header"));
}

static void test_mb2_bad_modules(void **state)
{
	struct mb2 b;

	(void)state;
	mb2_begin(&b, MB2_INFO);
	mb2_mmap(&b, std_map, ARRAY_SIZE(std_map), 24);
	mb2_module(&b, 0x200000, 0x200000, "empty.elf");
	mb2_module(&b, 0x300000, 0x2ff000, "inverted.elf");
	mb2_module(&b, 0x400000, 0x401000, "good.elf");
	mb2_module(&b, 0x7fffffff, 0, "");
	mb2_finish(&b, true);
	assert_int_equal(parse(MB2_BOOT_MAGIC, MB2_INFO), BOOTINFO_OK);
	assert_int_equal(bi.module_count, 1);
	assert_string_equal(bi.modules[0].cmdline, "good.elf");
	assert_int_equal(bi.modules[0].start, 0x400000);
	assert_int_equal(bi.modules[0].end, 0x401000);
	assert_string_equal(bi.modules[1].cmdline, "");	/* slot cleared */
	assert_int_equal(bi.warnings, 3);
	assert_true(logged("module 1 'empty.elf' is empty (starts and ends at 0x200000); skipping it"));
	assert_true(logged("module 2 'inverted.elf' ends at 0x2ff000, before its start at 0x300000; skipping it"));
	assert_true(logged("module 4 '' ends at 0x0, before its start at 0x7fffffff"));
}

static void test_mb2_module_tag_too_short(void **state)
{
	struct mb2 b;
	uint32_t off;

	(void)state;
	mb2_begin(&b, MB2_INFO);
	mb2_mmap(&b, std_map, ARRAY_SIZE(std_map), 24);
	off = mb2_tag(&b, 3, "\1\2\3\4", 4);
	mb2_module(&b, 0x400000, 0x401000, "good.elf");
	mb2_finish(&b, true);
	assert_int_equal(parse(MB2_BOOT_MAGIC, MB2_INFO), BOOTINFO_OK);
	assert_int_equal(bi.module_count, 1);
	assert_string_equal(bi.modules[0].cmdline, "good.elf");
	assert_int_equal(bi.warnings, 1);
	assert_true(logged("multiboot2 module tag (type 3) at offset 0x%x holds 4 bytes, less than the 8 it needs; ignoring it",
			   off));
}

static void test_mb2_too_many_modules(void **state)
{
	struct mb2 b;

	(void)state;
	mb2_begin(&b, MB2_INFO);
	mb2_mmap(&b, std_map, ARRAY_SIZE(std_map), 24);
	for (unsigned i = 0; i < 34; i++) {
		char name[32];

		snprintf(name, sizeof(name), "guest%u.elf", i);
		mb2_module(&b, 0x200000 + i * 0x1000, 0x201000 + i * 0x1000,
			   name);
	}
	mb2_finish(&b, true);
	assert_int_equal(parse(MB2_BOOT_MAGIC, MB2_INFO), BOOTINFO_OK);
	assert_int_equal(bi.module_count, BOOT_MODULES_MAX);
	assert_string_equal(bi.modules[0].cmdline, "guest0.elf");
	assert_string_equal(bi.modules[31].cmdline, "guest31.elf");
	assert_int_equal(bi.modules[31].start, 0x200000 + 31 * 0x1000);
	assert_int_equal(bi.warnings, 1);
	assert_true(logged("the loader passed 34 modules but at most 32 are supported; ignoring the ones after module 32"));
}

static void test_mb2_overlapping_memmap(void **state)
{
	static const struct entry overlapping[] = {
		{ 0x100000, 0x3f00000, MEM_USABLE },
		{ 0x3000000, 0x100000, MEM_RESERVED },	/* inside usable */
		{ 0x200000, 0x100000, MEM_USABLE },	/* repeated */
		{ 0x3800000, 0x1000, MEM_BAD },		/* inside usable */
		{ 0x0, 0x9fc00, MEM_USABLE },
	};
	struct mb2 b;

	(void)state;
	mb2_begin(&b, MB2_INFO);
	mb2_mmap(&b, overlapping, ARRAY_SIZE(overlapping), 24);
	mb2_finish(&b, true);
	assert_int_equal(parse(MB2_BOOT_MAGIC, MB2_INFO), BOOTINFO_OK);
	assert_int_equal(bi.memmap_count, 6);
	assert_range(&bi.memmap[0], 0x0, 0x9f000, MEM_USABLE);
	assert_range(&bi.memmap[1], 0x100000, 0x3000000, MEM_USABLE);
	assert_range(&bi.memmap[2], 0x3000000, 0x3100000, MEM_RESERVED);
	assert_range(&bi.memmap[3], 0x3100000, 0x3800000, MEM_USABLE);
	assert_range(&bi.memmap[4], 0x3800000, 0x3801000, MEM_BAD);
	assert_range(&bi.memmap[5], 0x3801000, 0x4000000, MEM_USABLE);
	assert_int_equal(bi.warnings, 3);
	assert_true(logged("usable ranges [0x100000-0x4000000) and [0x200000-0x300000) overlap; merged them"));
	assert_true(logged("usable range [0x100000-0x4000000) overlaps reserved range [0x3000000-0x3100000); treating the overlap as reserved"));
	assert_true(logged("overlaps bad range [0x3800000-0x3801000); treating the overlap as bad"));
}

static void test_mb2_mmap_problems(void **state)
{
	struct mb2 b;
	uint8_t payload[8 + 2 * 24 + 5] = { 0 };
	uint32_t off, entry_size = 24;

	(void)state;
	/* Entries too small to hold their fields: fall back to basic. */
	mb2_begin(&b, MB2_INFO);
	mb2_basic(&b, 639, 0x1000);
	off = mb2_mmap(&b, std_map, 2, 24);
	mb2_finish(&b, true);
	put32(MB2_INFO + off + 8, 16);
	assert_int_equal(parse(MB2_BOOT_MAGIC, MB2_INFO), BOOTINFO_OK);
	assert_true(bi.memmap_from_basic);
	assert_int_equal(bi.warnings, 1);
	assert_true(logged("multiboot2 memory map tag at offset 0x%x has entry size 16, less than the 24 bytes of an entry; ignoring the map",
			   off));

	/* Two entries and 5 bytes of a third; a second map tag. */
	setup(NULL);
	memcpy(payload, &entry_size, 4);
	memcpy(payload + 8, &std_map[3].base, 8);
	memcpy(payload + 16, &std_map[3].len, 8);
	memcpy(payload + 24, &std_map[3].type, 4);
	memcpy(payload + 32, &std_map[4].base, 8);
	memcpy(payload + 40, &std_map[4].len, 8);
	memcpy(payload + 48, &std_map[4].type, 4);
	mb2_begin(&b, MB2_INFO);
	off = mb2_tag(&b, 6, payload, sizeof(payload));
	uint32_t second = mb2_mmap(&b, std_map, 1, 24);
	mb2_finish(&b, true);
	assert_int_equal(parse(MB2_BOOT_MAGIC, MB2_INFO), BOOTINFO_OK);
	assert_int_equal(bi.memmap_count, 2);
	assert_range(&bi.memmap[0], 0x100000, 0x7fe0000, MEM_USABLE);
	assert_range(&bi.memmap[1], 0x7fe0000, 0x8000000, MEM_RESERVED);
	assert_int_equal(bi.warnings, 2);
	assert_true(logged("multiboot2 memory map tag at offset 0x%x ends with 5 bytes that are not a whole 24-byte entry; ignoring them",
			   off));
	assert_true(logged("a second multiboot2 memory map tag at offset 0x%x; ignoring it",
			   second));
}

static void test_mb2_strings(void **state)
{
	char long_name[100];
	struct mb2 b;
	uint32_t off_cmd, off_mod;
	uint8_t module[8 + 6];
	uint32_t start = 0x200000, end = 0x201000;

	(void)state;
	memset(long_name, 'L', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	memcpy(module, &start, 4);
	memcpy(module + 4, &end, 4);
	memcpy(module + 8, "g1.elf", 6);	/* no NUL */

	mb2_begin(&b, MB2_INFO);
	mb2_mmap(&b, std_map, ARRAY_SIZE(std_map), 24);
	off_cmd = mb2_tag(&b, 1, "abc", 3);		/* no NUL */
	mb2_string(&b, 2, long_name);
	off_mod = mb2_tag(&b, 3, module, sizeof(module));
	/* The padding after the unterminated strings is not zero. */
	memset(at(MB2_INFO + off_cmd + 11, 5), 'P', 5);
	memset(at(MB2_INFO + off_mod + 22, 2), 'P', 2);
	mb2_finish(&b, true);

	assert_int_equal(parse(MB2_BOOT_MAGIC, MB2_INFO), BOOTINFO_OK);
	assert_string_equal(bi.cmdline, "abc");
	assert_int_equal(strlen(bi.loader_name), BOOT_LOADER_NAME_MAX - 1);
	assert_int_equal(bi.module_count, 1);
	assert_string_equal(bi.modules[0].cmdline, "g1.elf");
	assert_int_equal(bi.warnings, 3);
	assert_true(logged("the multiboot2 kernel command line in tag type 1 at offset 0x%x does not end within its tag; using its 3 bytes",
			   off_cmd));
	assert_true(logged("the boot loader name 'LLLL"));
	assert_true(logged("is longer than the 63 bytes kept; truncated it"));
	assert_true(logged("the multiboot2 module 1 command line in tag type 3 at offset 0x%x does not end within its tag; using its 6 bytes",
			   off_mod));
}

static void test_mb2_misaligned_block(void **state)
{
	(void)state;
	/* The spec wants 8-byte alignment; a block without it still parses,
	 * and UBSan checks that no field is loaded misaligned. */
	mb2_build_full(MB2_INFO + 3);
	assert_int_equal(parse(MB2_BOOT_MAGIC, MB2_INFO + 3), BOOTINFO_OK);
	assert_std_map();
	assert_int_equal(bi.module_count, 2);
	assert_int_equal(bi.warnings, 0);
}

static void test_mb2_no_memory_info(void **state)
{
	struct mb2 b;

	(void)state;
	mb2_begin(&b, MB2_INFO);
	mb2_string(&b, 1, "console=com1");
	mb2_finish(&b, true);
	assert_int_equal(parse(MB2_BOOT_MAGIC, MB2_INFO), BOOTINFO_NO_MEMMAP);
	assert_true(logged("the loader passed no memory map, and no basic memory sizes either (multiboot2); cannot tell which memory is usable"));

	/* A map of only empty entries, and basic sizes of zero. */
	static const struct entry empty[] = { { 0x100000, 0, MEM_USABLE } };
	setup(NULL);
	mb2_begin(&b, MB2_INFO);
	mb2_mmap(&b, empty, 1, 24);
	mb2_basic(&b, 0, 0);
	mb2_finish(&b, true);
	assert_int_equal(parse(MB2_BOOT_MAGIC, MB2_INFO), BOOTINFO_NO_MEMMAP);
	assert_true(logged("the multiboot2 memory information describes no memory at all"));
}

static void test_bad_magic(void **state)
{
	(void)state;
	mb2_build_full(MB2_INFO);
	assert_int_equal(parse(0x12345678, MB2_INFO), BOOTINFO_BAD_MAGIC);
	assert_true(logged("boot magic 0x12345678 is neither multiboot1 (0x2badb002) nor multiboot2 (0x36d76289); the kernel must be loaded by a multiboot loader"));
	assert_int_equal(bi.module_count, 0);
	assert_int_equal(bi.memmap_count, 0);
}

static void test_strerror(void **state)
{
	static const int codes[] = {
		BOOTINFO_OK, BOOTINFO_BAD_MAGIC, BOOTINFO_UNREADABLE,
		BOOTINFO_MALFORMED, BOOTINFO_NO_MEMMAP, 42,
	};

	(void)state;
	for (unsigned i = 0; i < ARRAY_SIZE(codes); i++) {
		assert_non_null(bootinfo_strerror(codes[i]));
		assert_true(strlen(bootinfo_strerror(codes[i])) > 0);
		for (unsigned j = 0; j < i; j++)
			assert_string_not_equal(bootinfo_strerror(codes[i]),
						bootinfo_strerror(codes[j]));
	}
	assert_string_equal(bootinfo_strerror(BOOTINFO_BAD_MAGIC),
			    "not loaded by a multiboot loader");
}

/* ---- Fuzzing -------------------------------------------------------------- */

#define FUZZ_ITERATIONS 6000

static uint64_t rng_state;

static uint64_t rng_next(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1Dull;
}

static uint64_t rng_below(uint64_t n)
{
	return n ? rng_next() % n : 0;
}

/* Values that sit on the edges the parser checks. */
static uint32_t interesting_u32(uint32_t total)
{
	static const uint32_t values[] = {
		0, 1, 4, 7, 8, 9, 15, 16, 19, 20, 23, 24, 25, 35, 36, 37, 0x40,
		0xff, 0x1000, 0x100000, 0x100001, 0x7fffffff, 0x80000000,
		0xfffffff8, 0xfffffffc, 0xffffffff,
		(uint32_t)PHYS_BASE, (uint32_t)PHYS_END - 1,
		(uint32_t)PHYS_END - 24,
	};
	uint64_t pick = rng_below(ARRAY_SIZE(values) + 4);

	if (pick < ARRAY_SIZE(values))
		return values[pick];
	if (pick == ARRAY_SIZE(values))
		return total + (uint32_t)rng_below(17) - 8;
	return (uint32_t)rng_next();
}

static void mutate(uint64_t phys, uint32_t len, uint32_t total)
{
	uint32_t off = (uint32_t)rng_below(len);

	switch (rng_below(4)) {
	case 0:
		*at(phys + off, 1) = (uint8_t)rng_next();
		break;
	case 1:
		*at(phys + off, 1) ^= (uint8_t)(1u << rng_below(8));
		break;
	default:	/* a whole field, where fields are */
		off = (uint32_t)ALIGN_DOWN(off, 4u);
		if (off + 4 <= len)
			put32(phys + off, interesting_u32(total));
		break;
	}
}

/* Whatever the input, the result is one of the defined ones, a failure or
 * a warning was explained, and the output holds together. */
static void check_outcome(int ret, int protocol)
{
	assert_true(ret == BOOTINFO_OK || ret == BOOTINFO_UNREADABLE ||
		    ret == BOOTINFO_MALFORMED || ret == BOOTINFO_NO_MEMMAP);
	if (ret != BOOTINFO_OK || bi.warnings)
		assert_true(capture_contains("bootinfo: ") ||
			    capture_contains("memmap: "));
	if (ret != BOOTINFO_OK)
		return;
	assert_int_equal(bi.protocol, protocol);
	assert_true(bi.memmap_count >= 1 && bi.memmap_count <= MEMMAP_MAX);
	for (unsigned i = 0; i < bi.memmap_count; i++) {
		const struct mem_range *r = &bi.memmap[i];

		assert_true(r->base < r->end);
		if (i + 1 < bi.memmap_count)
			assert_true(r->end <= bi.memmap[i + 1].base);
		if (r->type == MEM_USABLE)
			assert_true(r->base % 0x1000 == 0 && r->end % 0x1000 == 0);
	}
	assert_true(bi.module_count <= BOOT_MODULES_MAX);
	for (unsigned i = 0; i < bi.module_count; i++) {
		assert_true(bi.modules[i].start < bi.modules[i].end);
		assert_non_null(memchr(bi.modules[i].cmdline, 0,
				       BOOT_MODULE_CMDLINE_MAX));
	}
	assert_non_null(memchr(bi.cmdline, 0, sizeof(bi.cmdline)));
	assert_non_null(memchr(bi.loader_name, 0, sizeof(bi.loader_name)));
	assert_true(bi.rsdp_len == 0 || bi.rsdp_len == 20 ||
		    bi.rsdp_len == 36);
}

static void test_fuzz_mb2(void **state)
{
	static uint8_t pristine[PHYS_SIZE];
	struct mb2_layout l;
	unsigned ok = 0;

	(void)state;
	rng_state = 0x853c49e6748fea9bull;
	l = mb2_build_full(MB2_INFO);
	memcpy(pristine, phys_mem, PHYS_SIZE);
	for (int iter = 0; iter < FUZZ_ITERATIONS; iter++) {
		unsigned mutations = 1 + (unsigned)rng_below(8);
		uint64_t info = MB2_INFO;
		int ret;

		memcpy(phys_mem, pristine, PHYS_SIZE);
		for (unsigned m = 0; m < mutations; m++)
			mutate(MB2_INFO, l.total + 16, l.total);
		if (rng_below(8) == 0)
			info += rng_below(16);
		capture_reset();
		ret = parse(MB2_BOOT_MAGIC, info);
		check_outcome(ret, 2);
		ok += ret == BOOTINFO_OK;
	}
	/* Most mutations leave something to parse: the good paths ran too. */
	assert_true(ok > FUZZ_ITERATIONS / 4);
}

static void test_fuzz_mb1(void **state)
{
	static uint8_t pristine[PHYS_SIZE];
	/* The parts of the block that a mutation may hit. */
	static const struct { uint64_t phys; uint32_t len; } parts[] = {
		{ MB1_INFO, 72 },
		{ MB1_MODS, 2 * 16 },
		{ MB1_MMAP, 6 * 24 + 8 },
		{ MB1_CMDLINE, 32 },
		{ MB1_MOD_STRS, 0x120 },
	};
	unsigned ok = 0;

	(void)state;
	rng_state = 0xda3e39cb94b95bdbull;
	mb1_build_full();
	memcpy(pristine, phys_mem, PHYS_SIZE);
	for (int iter = 0; iter < FUZZ_ITERATIONS; iter++) {
		unsigned mutations = 1 + (unsigned)rng_below(6);
		int ret;

		memcpy(phys_mem, pristine, PHYS_SIZE);
		for (unsigned m = 0; m < mutations; m++) {
			unsigned p = (unsigned)rng_below(ARRAY_SIZE(parts));

			mutate(parts[p].phys, parts[p].len, 0);
		}
		capture_reset();
		ret = parse(MB1_BOOT_MAGIC, MB1_INFO);
		check_outcome(ret, 1);
		ok += ret == BOOTINFO_OK;
	}
	assert_true(ok > FUZZ_ITERATIONS / 4);
}

#define T(fn) cmocka_unit_test_setup(fn, setup)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_mb1_full),
		T(test_mb1_basic_memory_only),
		T(test_mb1_module_string_unreadable),
		T(test_mb1_module_list_unreadable),
		T(test_mb1_mmap_entry_size_too_small),
		T(test_mb1_first_mmap_entry_bad_falls_back),
		T(test_mb1_mmap_cut_short),
		T(test_mb1_mmap_entry_wraps),
		T(test_mb1_strings),
		T(test_mb1_string_exactly_fits),
		T(test_mb1_info_unreadable),
		T(test_mb1_bad_modules),
		T(test_mb1_too_many_modules),
		T(test_mb1_no_memory_info),
		T(test_mb2_full),
		T(test_mb2_acpi_tag_choice),
		T(test_mb2_tag_past_total_size),
		T(test_mb2_tag_smaller_than_header),
		T(test_mb2_missing_end_tag),
		T(test_mb2_total_size_absurd),
		T(test_mb2_bad_modules),
		T(test_mb2_module_tag_too_short),
		T(test_mb2_too_many_modules),
		T(test_mb2_overlapping_memmap),
		T(test_mb2_mmap_problems),
		T(test_mb2_strings),
		T(test_mb2_misaligned_block),
		T(test_mb2_no_memory_info),
		T(test_bad_magic),
		T(test_strerror),
		T(test_fuzz_mb2),
		T(test_fuzz_mb1),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
