/* Guest module options and ELF checks (virt/loader.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include "virt/loader.h"
#include "tests/host/capture.h"

#define MEG (1ull << 20)

static struct guest_opts o;
static char err[GUEST_ERR_MAX];

static int parse(const char *line)
{
	err[0] = '\0';
	return guest_opts_parse(line, "guest0", &o, err, sizeof(err));
}

static void test_defaults(void **state)
{
	(void)state;
	assert_int_equal(parse(""), 0);
	assert_string_equal(o.name, "guest0");
	assert_int_equal(o.vcpus, 1);
	assert_int_equal(o.mem_bytes, GUEST_MEM_DEFAULT);
	assert_int_equal(o.mmu, MMU_MODE_TDP);
	assert_true(o.unsync);
	assert_true(o.flood);
	assert_string_equal(o.cmdline, "");
}

static void test_shadow_switches(void **state)
{
	(void)state;
	assert_int_equal(parse("mmu=shadow unsync=off"), 0);
	assert_false(o.unsync);
	assert_true(o.flood);
	assert_int_equal(parse("mmu=shadow flood=off unsync=on"), 0);
	assert_true(o.unsync);
	assert_false(o.flood);
}

static void test_full_line_with_guest_words(void **state)
{
	(void)state;
	assert_int_equal(parse("name=hello vcpus=2 mem=64M mmu=shadow -- "
			       "verbose seed=7  x=--"), 0);
	assert_string_equal(o.name, "hello");
	assert_int_equal(o.vcpus, 2);
	assert_int_equal(o.mem_bytes, 64 * MEG);
	assert_int_equal(o.mmu, MMU_MODE_SHADOW);
	assert_string_equal(o.cmdline, "verbose seed=7  x=--");
}

static void test_qemu_path_first_is_skipped(void **state)
{
	(void)state;
	assert_int_equal(parse("build/guests/hello.elf name=a -- z"), 0);
	assert_string_equal(o.name, "a");
	assert_string_equal(o.cmdline, "z");
	/* a bare word that is no path is an error, not a name */
	assert_int_equal(parse("hello name=a"), -1);
	assert_non_null(strstr(err, "'hello' is not an option"));
}

static void test_unknown_option(void **state)
{
	(void)state;
	assert_int_equal(parse("name=a colour=blue"), -1);
	assert_non_null(strstr(err, "unknown option 'colour=blue'"));
}

static void test_bad_values(void **state)
{
	static const char *const bad[] = {
		"vcpus=0", "vcpus=9", "vcpus=x", "mem=1M", "mem=4G",
		"mem=2097153", "mem=", "mmu=ept", "name=", "name=a/b",
		"name=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "unsync=yes", "flood=",
	};

	(void)state;
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(parse(bad[i]), -1);
		assert_non_null(strstr(err, "bad value"));
	}
}

/* A minimal i386 ELF: header, program headers, then segment bytes. */
static uint8_t elf[4096];

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = v, p[1] = v >> 8, p[2] = v >> 16, p[3] = v >> 24;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v, p[1] = v >> 8;
}

static void make_elf(uint32_t entry, uint32_t paddr, uint32_t filesz,
		     uint32_t memsz)
{
	memset(elf, 0, sizeof(elf));
	memcpy(elf, "\x7f" "ELF", 4);
	elf[4] = 1, elf[5] = 1, elf[6] = 1;
	put16(elf + 16, 2);		/* ET_EXEC */
	put16(elf + 18, 3);		/* EM_386 */
	put32(elf + 24, entry);
	put32(elf + 28, 52);		/* phoff */
	put16(elf + 42, 32);
	put16(elf + 44, 1);
	uint8_t *ph = elf + 52;
	put32(ph, 1);			/* PT_LOAD */
	put32(ph + 4, 0x100);		/* offset */
	put32(ph + 12, paddr);
	put32(ph + 16, filesz);
	put32(ph + 20, memsz);
}

static int check(uint64_t size, uint64_t mem)
{
	struct elf_image img;

	err[0] = '\0';
	return elf_check(elf, size, mem, &img, err, sizeof(err));
}

static void test_valid_elf(void **state)
{
	struct elf_image img;

	(void)state;
	make_elf(0x100010, 0x100000, 0x200, 0x3000);
	assert_int_equal(elf_check(elf, sizeof(elf), 16 * MEG, &img, err,
				   sizeof(err)), 0);
	assert_int_equal(img.seg_count, 1);
	assert_int_equal(img.entry, 0x100010);
	assert_int_equal(img.seg[0].memsz, 0x3000);
}

static void test_not_elf(void **state)
{
	(void)state;
	memset(elf, 'x', sizeof(elf));
	assert_int_equal(check(sizeof(elf), 16 * MEG), -1);
	assert_non_null(strstr(err, "not an ELF"));
	assert_int_equal(check(2, 16 * MEG), -1);
}

static void test_elf64_refused(void **state)
{
	(void)state;
	make_elf(0x100000, 0x100000, 0x10, 0x10);
	elf[4] = 2;
	assert_int_equal(check(sizeof(elf), 16 * MEG), -1);
	assert_non_null(strstr(err, "32-bit little-endian i386"));
}

static void test_segment_outside_memory(void **state)
{
	(void)state;
	make_elf(0x100000, 0x100000, 0x10, 16 * MEG);	/* ends at 17 MiB */
	assert_int_equal(check(sizeof(elf), 16 * MEG), -1);
	assert_non_null(strstr(err, "outside the guest's 16 MiB"));
	make_elf(0xfffff000, 0xfffff000, 0x10, 0x2000);	/* wraps */
	assert_int_equal(check(sizeof(elf), 16 * MEG), -1);
}

static void test_segment_over_mbi_or_hole(void **state)
{
	(void)state;
	make_elf(0x9000, 0x8000, 0x10, 0x2000);		/* over 0x9000 */
	assert_int_equal(check(sizeof(elf), 16 * MEG), -1);
	make_elf(0xa0000, 0xa0000, 0x10, 0x1000);	/* VGA hole */
	assert_int_equal(check(sizeof(elf), 16 * MEG), -1);
	make_elf(0x2000, 0x1000, 0x10, 0x2000);		/* low RAM is fine */
	assert_int_equal(check(sizeof(elf), 16 * MEG), 0);
}

static void test_file_part_outside_file(void **state)
{
	(void)state;
	make_elf(0x100000, 0x100000, 0x2000, 0x3000);	/* offset 0x100 + 8K */
	assert_int_equal(check(sizeof(elf), 16 * MEG), -1);
	assert_non_null(strstr(err, "outside the file"));
	make_elf(0x100000, 0x100000, 0x20, 0x10);	/* filesz > memsz */
	assert_int_equal(check(sizeof(elf), 16 * MEG), -1);
}

static void test_phdrs_outside_file_and_bad_entry(void **state)
{
	(void)state;
	make_elf(0x100000, 0x100000, 0x10, 0x10);
	put16(elf + 44, 200);
	assert_int_equal(check(sizeof(elf), 16 * MEG), -1);
	assert_non_null(strstr(err, "program headers"));
	make_elf(0x200000, 0x100000, 0x10, 0x10);
	assert_int_equal(check(sizeof(elf), 16 * MEG), -1);
	assert_non_null(strstr(err, "entry point"));
}

static void test_fuzzed_headers_never_crash(void **state)
{
	uint64_t seed = 0x10adu;
	struct elf_image img;

	(void)state;
	for (int i = 0; i < 20000; i++) {
		make_elf(0x100010, 0x100000, 0x200, 0x3000);
		for (int k = 0; k < 4; k++) {
			seed = seed * 6364136223846793005ull + 1442695040888963407ull;
			elf[(seed >> 33) % 96] = (uint8_t)(seed >> 17);
		}
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		uint64_t size = (seed >> 33) % sizeof(elf);
		int rc = elf_check(elf, size, 16 * MEG, &img, err, sizeof(err));
		assert_true(rc == 0 || rc == -1);
		if (rc == 0)
			for (unsigned s = 0; s < img.seg_count; s++)
				assert_true(img.seg[s].offset + img.seg[s].filesz <= size);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_full_line_with_guest_words),
		cmocka_unit_test(test_qemu_path_first_is_skipped),
		cmocka_unit_test(test_unknown_option),
		cmocka_unit_test(test_shadow_switches),
		cmocka_unit_test(test_bad_values),
		cmocka_unit_test(test_valid_elf),
		cmocka_unit_test(test_not_elf),
		cmocka_unit_test(test_elf64_refused),
		cmocka_unit_test(test_segment_outside_memory),
		cmocka_unit_test(test_segment_over_mbi_or_hole),
		cmocka_unit_test(test_file_part_outside_file),
		cmocka_unit_test(test_phdrs_outside_file_and_bad_entry),
		cmocka_unit_test(test_fuzzed_headers_never_crash),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
