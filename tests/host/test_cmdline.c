/*
 * The hypervisor's command line (kernel/cmdline.c): every option, the
 * values each accepts and refuses, what a refused word does (reported,
 * counted, default kept), the loader's image path, and parse_u64().
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "kernel/cmdline.h"
#include "kernel/compiler.h"
#include "kernel/printk.h"
#include "tests/host/capture.h"

/* ---- Helpers -------------------------------------------------------------- */

/* Parse 'line' over fresh defaults, with an empty log; returns the errors. */
static unsigned parse(const char *line, struct cmdline_opts *opts)
{
	cmdline_defaults(opts);
	capture_reset();
	return cmdline_parse(line, opts);
}

static void assert_defaults(const struct cmdline_opts *opts)
{
	assert_int_equal(opts->serial_port, 0x3f8);
	assert_int_equal(opts->serial_baud, 115200);
	assert_int_equal(opts->loglevel, LOG_INFO);
	assert_int_equal(opts->exit_mode, EXIT_AUTO);
	assert_string_equal(opts->test, "");
	assert_string_equal(opts->bench, "");
}

/* 'line' holds one word that must be refused as a bad value: one error,
 * the defaults kept, and a message naming the word. */
static void assert_bad_value(const char *line, const char *word)
{
	struct cmdline_opts opts;
	char msg[128];

	assert_int_equal(parse(line, &opts), 1);
	assert_int_equal(opts.errors, 1);
	assert_defaults(&opts);
	snprintf(msg, sizeof(msg), "bad value in '%s' ignored", word);
	if (!capture_contains(msg)) {
		print_error("line \"%s\": no \"%s\" in log \"%s\"\n", line,
			    msg, capture_log());
		fail();
	}
	assert_true(capture_contains("keeping the default"));
}

static void assert_unknown(const char *line, const char *word)
{
	struct cmdline_opts opts;
	char msg[128];

	assert_int_equal(parse(line, &opts), 1);
	assert_int_equal(opts.errors, 1);
	assert_defaults(&opts);
	snprintf(msg, sizeof(msg), "unknown option '%s' ignored", word);
	if (!capture_contains(msg)) {
		print_error("line \"%s\": no \"%s\" in log \"%s\"\n", line,
			    msg, capture_log());
		fail();
	}
}

/* A string of 'len' copies of 'c' after 'prefix'. */
static void make_word(char *buf, size_t size, const char *prefix, char c,
		      unsigned len)
{
	size_t at = strlen(prefix);

	assert_true(at + len < size);
	memcpy(buf, prefix, at);
	memset(buf + at, c, len);
	buf[at + len] = '\0';
}

/* ---- Defaults and empty lines ---------------------------------------------- */

static void test_defaults(void **state)
{
	struct cmdline_opts opts;

	(void)state;
	memset(&opts, 0xa5, sizeof(opts));
	cmdline_defaults(&opts);
	assert_defaults(&opts);
	assert_int_equal(opts.errors, 0);
}

static void test_empty_and_blank_lines(void **state)
{
	static const char *const lines[] = { "", " ", "\t", "  \t  \t " };
	struct cmdline_opts opts;

	(void)state;
	for (unsigned i = 0; i < ARRAY_SIZE(lines); i++) {
		assert_int_equal(parse(lines[i], &opts), 0);
		assert_defaults(&opts);
		assert_int_equal(opts.errors, 0);
		assert_string_equal(capture_log(), "");
	}
}

/* ---- serial= ------------------------------------------------------------------ */

static void test_serial_port_number(void **state)
{
	struct cmdline_opts opts;

	(void)state;
	assert_int_equal(parse("serial=0x2f8", &opts), 0);
	assert_int_equal(opts.serial_port, 0x2f8);
	assert_int_equal(opts.serial_baud, 115200);

	assert_int_equal(parse("serial=760", &opts), 0);	/* decimal */
	assert_int_equal(opts.serial_port, 0x2f8);

	assert_int_equal(parse("serial=0xfff8", &opts), 0);	/* 8 ports fit */
	assert_int_equal(opts.serial_port, 0xfff8);
	assert_string_equal(capture_log(), "");
}

static void test_serial_com_names(void **state)
{
	static const struct { const char *line; uint16_t port; } cases[] = {
		{ "serial=com1", 0x3f8 },
		{ "serial=com2", 0x2f8 },
		{ "serial=com3", 0x3e8 },
		{ "serial=com4", 0x2e8 },
	};
	struct cmdline_opts opts;

	(void)state;
	for (unsigned i = 0; i < ARRAY_SIZE(cases); i++) {
		assert_int_equal(parse(cases[i].line, &opts), 0);
		assert_int_equal(opts.serial_port, cases[i].port);
		assert_int_equal(opts.serial_baud, 115200);
	}
}

static void test_serial_with_baud(void **state)
{
	struct cmdline_opts opts;

	(void)state;
	assert_int_equal(parse("serial=0x3f8,9600", &opts), 0);
	assert_int_equal(opts.serial_port, 0x3f8);
	assert_int_equal(opts.serial_baud, 9600);

	assert_int_equal(parse("serial=com2,38400", &opts), 0);
	assert_int_equal(opts.serial_port, 0x2f8);
	assert_int_equal(opts.serial_baud, 38400);

	assert_int_equal(parse("serial=com1,50", &opts), 0);	/* slowest */
	assert_int_equal(opts.serial_baud, 50);
	assert_int_equal(parse("serial=com1,115200", &opts), 0);
	assert_int_equal(opts.serial_baud, 115200);
	assert_string_equal(capture_log(), "");
}

static void test_serial_bad_values(void **state)
{
	static const char *const words[] = {
		"serial=0",		/* no port 0 */
		"serial=0x10000",	/* not a 16-bit port */
		"serial=0xfff9",	/* its 8 registers would wrap */
		"serial=com0",
		"serial=com5",
		"serial=comx",
		"serial=com",
		"serial=com12",
		"serial=0x3f8,9600x",	/* junk after the baud */
		"serial=0x3f8,",	/* empty baud */
		"serial=,",		/* ',' alone */
		"serial=,9600",		/* empty port */
		"serial=0x3f8,49",	/* too slow */
		"serial=0x3f8,115201",	/* faster than the UART's clock */
		"serial=0x3f8,9600,1",
		"serial=0x3f8x",
		"serial=-1",
		"serial=",
		"serial",		/* no '=' at all */
		"serial=18446744073709551616",
	};

	(void)state;
	for (unsigned i = 0; i < ARRAY_SIZE(words); i++)
		assert_bad_value(words[i], words[i]);
}

/* A bad baud refuses the whole option: the port stays at its default. */
static void test_serial_bad_baud_keeps_port(void **state)
{
	struct cmdline_opts opts;

	(void)state;
	assert_int_equal(parse("serial=com2,9600x", &opts), 1);
	assert_int_equal(opts.serial_port, 0x3f8);
	assert_int_equal(opts.serial_baud, 115200);
}

/* ---- loglevel=, exit= ------------------------------------------------------- */

static void test_loglevel(void **state)
{
	struct cmdline_opts opts;
	char line[32];

	(void)state;
	for (int level = 0; level <= 7; level++) {
		snprintf(line, sizeof(line), "loglevel=%d", level);
		assert_int_equal(parse(line, &opts), 0);
		assert_int_equal(opts.loglevel, level);
	}
	assert_int_equal(parse("loglevel=0x3", &opts), 0);
	assert_int_equal(opts.loglevel, 3);

	assert_bad_value("loglevel=8", "loglevel=8");
	assert_bad_value("loglevel=x", "loglevel=x");
	assert_bad_value("loglevel=", "loglevel=");
	assert_bad_value("loglevel=-1", "loglevel=-1");
	assert_bad_value("loglevel=1K", "loglevel=1K");	/* no suffixes */
	assert_bad_value("loglevel=4294967302", "loglevel=4294967302");
}

static void test_exit_mode(void **state)
{
	struct cmdline_opts opts;

	(void)state;
	assert_int_equal(parse("exit=halt", &opts), 0);
	assert_int_equal(opts.exit_mode, EXIT_HALT);
	assert_int_equal(parse("exit=halt exit=auto", &opts), 0);
	assert_int_equal(opts.exit_mode, EXIT_AUTO);

	assert_bad_value("exit=other", "exit=other");
	assert_bad_value("exit=", "exit=");
	assert_bad_value("exit=haltx", "exit=haltx");
	assert_bad_value("exit=hal", "exit=hal");
	assert_bad_value("exit", "exit");
}

/* ---- test=, bench= ---------------------------------------------------------- */

static void check_name_option(const char *key, size_t field)
{
	struct cmdline_opts opts;
	char line[96], prefix[16];
	const char *value;

	snprintf(prefix, sizeof(prefix), "%s=", key);

	snprintf(line, sizeof(line), "%smmu_walk", prefix);
	assert_int_equal(parse(line, &opts), 0);
	assert_string_equal((char *)&opts + field, "mmu_walk");

	/* The longest name that fits, with its NUL. */
	make_word(line, sizeof(line), prefix, 'n', CMDLINE_WORD_MAX - 1);
	value = line + strlen(prefix);
	assert_int_equal(parse(line, &opts), 0);
	assert_string_equal((char *)&opts + field, value);

	/* One longer: refused whole, not cut. */
	make_word(line, sizeof(line), prefix, 'n', CMDLINE_WORD_MAX);
	assert_bad_value(line, line);
	make_word(line, sizeof(line), prefix, 'n', 80);
	assert_bad_value(line, line);

	assert_bad_value(prefix, prefix);	/* empty name */
}

static void test_test_option(void **state)
{
	struct cmdline_opts opts;

	(void)state;
	check_name_option("test", offsetof(struct cmdline_opts, test));
	/* The value is everything after the first '='. */
	assert_int_equal(parse("test=a=b", &opts), 0);
	assert_string_equal(opts.test, "a=b");
	assert_string_equal(opts.bench, "");
}

static void test_bench_option(void **state)
{
	struct cmdline_opts opts;

	(void)state;
	check_name_option("bench", offsetof(struct cmdline_opts, bench));
	assert_int_equal(parse("bench=vmexit test=smp", &opts), 0);
	assert_string_equal(opts.bench, "vmexit");
	assert_string_equal(opts.test, "smp");
}

/* ---- Unknown options, counting ---------------------------------------------- */

static void test_unknown_options(void **state)
{
	(void)state;
	assert_unknown("foo", "foo");
	assert_unknown("foo=bar", "foo=bar");
	assert_unknown("=5", "=5");
	assert_unknown("=", "=");
	assert_unknown("serialx=com2", "serialx=com2");
	assert_unknown("seria=com2", "seria=com2");
	assert_unknown("Serial=com2", "Serial=com2");	/* keys are exact */
	assert_unknown("quiet", "quiet");
	/* The message lists what is known, so the fix is in the log. */
	assert_true(capture_contains("serial= loglevel= exit= test= bench="));
}

/* Errors are counted per call and added to opts->errors; the good options
 * around a bad one still take effect, and a later option wins. */
static void test_error_counting(void **state)
{
	struct cmdline_opts opts;

	(void)state;
	assert_int_equal(parse("foo serial=com2 loglevel=9 bar=1 exit=halt "
			       "loglevel=2 loglevel=5", &opts), 3);
	assert_int_equal(opts.errors, 3);
	assert_int_equal(opts.serial_port, 0x2f8);
	assert_int_equal(opts.exit_mode, EXIT_HALT);
	assert_int_equal(opts.loglevel, 5);
	assert_true(capture_contains("unknown option 'foo' ignored"));
	assert_true(capture_contains("bad value in 'loglevel=9' ignored"));
	assert_true(capture_contains("unknown option 'bar=1' ignored"));

	/* A second call returns its own count, and adds to the total. */
	capture_reset();
	assert_int_equal(cmdline_parse("x y", &opts), 2);
	assert_int_equal(opts.errors, 5);
	assert_int_equal(cmdline_parse("loglevel=1", &opts), 0);
	assert_int_equal(opts.errors, 5);
	assert_int_equal(opts.loglevel, 1);
}

/* ---- The loader's image path -------------------------------------------------- */

static void test_image_path_skipped(void **state)
{
	static const char *const lines[] = {
		"/boot/hv.elf serial=com2",
		"build/hv.elf serial=com2",
		"  /boot/hv.elf\tserial=com2",
		"(hd0,msdos1)/boot/hv.elf serial=com2",
	};
	struct cmdline_opts opts;

	(void)state;
	for (unsigned i = 0; i < ARRAY_SIZE(lines); i++) {
		assert_int_equal(parse(lines[i], &opts), 0);
		assert_int_equal(opts.serial_port, 0x2f8);
		assert_string_equal(capture_log(), "");
	}
	assert_int_equal(parse("/boot/hv.elf", &opts), 0);
	assert_defaults(&opts);
}

/* Only a leading word without '=' counts as the path: an option with a '/'
 * in it is still an option, and a path later on is an unknown word. */
static void test_image_path_only_first(void **state)
{
	struct cmdline_opts opts;

	(void)state;
	assert_int_equal(parse("serial=com2 loglevel=3", &opts), 0);
	assert_int_equal(opts.serial_port, 0x2f8);
	assert_int_equal(opts.loglevel, 3);

	assert_int_equal(parse("test=a/b", &opts), 0);
	assert_string_equal(opts.test, "a/b");

	assert_unknown("hv.elf", "hv.elf");	/* no '/': not a path */
	assert_int_equal(parse("loglevel=3 /boot/hv.elf", &opts), 1);
	assert_true(capture_contains("unknown option '/boot/hv.elf'"));
	assert_int_equal(parse("/boot/hv.elf /boot/other.elf", &opts), 1);
	assert_true(capture_contains("unknown option '/boot/other.elf'"));
}

/* ---- Separators ---------------------------------------------------------------- */

static void test_tabs_and_spaces(void **state)
{
	struct cmdline_opts opts;

	(void)state;
	assert_int_equal(parse("\t serial=com3  \t\tloglevel=7   exit=halt\t",
			       &opts), 0);
	assert_int_equal(opts.serial_port, 0x3e8);
	assert_int_equal(opts.loglevel, 7);
	assert_int_equal(opts.exit_mode, EXIT_HALT);

	/* The word a message names ends at the separator. */
	assert_int_equal(parse("loglevel=9\tfoo  bar", &opts), 3);
	assert_true(capture_contains("'loglevel=9' ignored"));
	assert_true(capture_contains("'foo' ignored"));
	assert_true(capture_contains("'bar' ignored"));
}

/* A whole line that is reused by the caller: nothing past the NUL is read. */
static void test_line_is_not_modified(void **state)
{
	char line[] = "/boot/hv.elf serial=com2,9600 test=smp";
	struct cmdline_opts opts;

	(void)state;
	assert_int_equal(parse(line, &opts), 0);
	assert_string_equal(line, "/boot/hv.elf serial=com2,9600 test=smp");
	assert_int_equal(opts.serial_baud, 9600);
	assert_string_equal(opts.test, "smp");
}

/* ---- parse_u64 ------------------------------------------------------------------ */

static bool u64(const char *s, bool suffix, uint64_t *out)
{
	return parse_u64(s, (unsigned)strlen(s), suffix, out);
}

static void assert_u64(const char *s, bool suffix, uint64_t want)
{
	uint64_t got = 0xdeadbeef;

	if (!u64(s, suffix, &got)) {
		print_error("parse_u64(\"%s\") refused\n", s);
		fail();
	}
	assert_int_equal(got, want);
}

static void assert_u64_refused(const char *s, bool suffix)
{
	uint64_t got;

	if (u64(s, suffix, &got)) {
		print_error("parse_u64(\"%s\") gave %llu\n", s,
			    (unsigned long long)got);
		fail();
	}
}

static void test_parse_u64_decimal(void **state)
{
	(void)state;
	assert_u64("0", false, 0);
	assert_u64("7", false, 7);
	assert_u64("08", false, 8);		/* no octal */
	assert_u64("1234567890", false, 1234567890);
	assert_u64("18446744073709551615", false, UINT64_MAX);
	assert_u64("000000000000000000000018446744073709551615", false,
		   UINT64_MAX);
}

static void test_parse_u64_hex(void **state)
{
	(void)state;
	assert_u64("0x0", false, 0);
	assert_u64("0x1f", false, 0x1f);
	assert_u64("0X1F", false, 0x1f);
	assert_u64("0xdeadBEEF", false, 0xdeadbeef);
	assert_u64("0xffffffffffffffff", false, UINT64_MAX);
	assert_u64("0x00000000000000000001", false, 1);
	assert_u64_refused("0x", false);
	assert_u64_refused("0x", true);
	assert_u64_refused("0xg", false);
	assert_u64_refused("1f", false);	/* hex needs its 0x */
	assert_u64_refused("x1", false);
	assert_u64_refused("0x0x1", false);
}

static void test_parse_u64_suffixes(void **state)
{
	(void)state;
	assert_u64("4K", true, 4096);
	assert_u64("4k", true, 4096);
	assert_u64("2M", true, 2ull << 20);
	assert_u64("2m", true, 2ull << 20);
	assert_u64("3G", true, 3ull << 30);
	assert_u64("3g", true, 3ull << 30);
	assert_u64("0K", true, 0);
	assert_u64("0x10K", true, 0x4000);
	assert_u64("0x1G", true, 1ull << 30);
	assert_u64("123", true, 123);		/* the suffix is optional */
	/* 2^24 GiB is 2^54 bytes (16 PiB): fits. */
	assert_u64("16777216G", true, 1ull << 54);
	assert_u64("17179869183G", true, 17179869183ull << 30);
	assert_u64("17592186044415M", true, 17592186044415ull << 20);
	assert_u64("18014398509481983K", true, 18014398509481983ull << 10);

	assert_u64_refused("4K", false);	/* only when allowed */
	assert_u64_refused("K", true);		/* a suffix needs a number */
	assert_u64_refused("0xK", true);
	assert_u64_refused("4KK", true);
	assert_u64_refused("4KB", true);
	assert_u64_refused("4T", true);
	assert_u64_refused("4 K", true);
}

/* Too big for 64 bits, before or after the suffix: refused, not wrapped. */
static void test_parse_u64_overflow(void **state)
{
	(void)state;
	assert_u64_refused("18446744073709551616", false);
	assert_u64_refused("18446744073709551620", false);
	assert_u64_refused("99999999999999999999", false);
	assert_u64_refused("184467440737095516150", false);
	assert_u64_refused("0x10000000000000000", false);
	assert_u64_refused("0x1_0000_0000_0000_0000", false);
	assert_u64_refused("0x1ffffffffffffffff", false);
	assert_u64_refused("17179869184G", true);	/* 2^64 */
	assert_u64_refused("17592186044416M", true);
	assert_u64_refused("18014398509481984K", true);
	assert_u64_refused("18446744073709551615K", true);
	assert_u64_refused("0xffffffffffffffffG", true);
	assert_u64_refused("18446744073709551616G", true);
}

static void test_parse_u64_junk(void **state)
{
	static const char *const junk[] = {
		"", " 1", "1 ", "-1", "+1", "12a", "1.5", "1,000", "one",
		"\t", "0b101",
	};

	(void)state;
	for (unsigned i = 0; i < ARRAY_SIZE(junk); i++) {
		assert_u64_refused(junk[i], false);
		assert_u64_refused(junk[i], true);
	}
}

/* 'len' bounds the read: the string need not end there, or at all. */
static void test_parse_u64_length_bound(void **state)
{
	static const char digits[4] = { '1', '2', '3', '4' };
	uint64_t v;

	(void)state;
	assert_true(parse_u64("123456", 3, false, &v));
	assert_int_equal(v, 123);
	assert_true(parse_u64("0x1fzz", 4, false, &v));
	assert_int_equal(v, 0x1f);
	assert_true(parse_u64("2Mjunk", 2, true, &v));
	assert_int_equal(v, 2ull << 20);
	assert_true(parse_u64(digits, sizeof(digits), false, &v));
	assert_int_equal(v, 1234);
	assert_false(parse_u64("123", 0, false, &v));
	assert_false(parse_u64("123", 0, true, &v));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_empty_and_blank_lines),
		cmocka_unit_test(test_serial_port_number),
		cmocka_unit_test(test_serial_com_names),
		cmocka_unit_test(test_serial_with_baud),
		cmocka_unit_test(test_serial_bad_values),
		cmocka_unit_test(test_serial_bad_baud_keeps_port),
		cmocka_unit_test(test_loglevel),
		cmocka_unit_test(test_exit_mode),
		cmocka_unit_test(test_test_option),
		cmocka_unit_test(test_bench_option),
		cmocka_unit_test(test_unknown_options),
		cmocka_unit_test(test_error_counting),
		cmocka_unit_test(test_image_path_skipped),
		cmocka_unit_test(test_image_path_only_first),
		cmocka_unit_test(test_tabs_and_spaces),
		cmocka_unit_test(test_line_is_not_modified),
		cmocka_unit_test(test_parse_u64_decimal),
		cmocka_unit_test(test_parse_u64_hex),
		cmocka_unit_test(test_parse_u64_suffixes),
		cmocka_unit_test(test_parse_u64_overflow),
		cmocka_unit_test(test_parse_u64_junk),
		cmocka_unit_test(test_parse_u64_length_bound),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
