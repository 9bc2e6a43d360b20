/*
 * The kernel's formatter (kernel/format.c, built as kfmt_*) against the C
 * library's: for every supported conversion, flag, width, precision and
 * length modifier the two must print the same bytes and return the same
 * would-be length, also when the buffer is too small. The few places where
 * the kernel differs on purpose (%p of NULL, lone '%', unknown conversions)
 * are tested on their own.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "kernel/compiler.h"

int kfmt_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int kfmt_snprintf(char *buf, size_t size, const char *fmt, ...) __printf(3, 4);

#define OUT_MAX 512
#define CANARY 0x5a

/* ---- Comparing with the C library ---------------------------------------- */

/*
 * Format with both, into a buffer of 'size' bytes inside a larger canary-
 * filled one, so a write past 'size' is seen. The kernel must return what
 * the C library returns, write the same bytes, and nothing beyond 'size'.
 */
static void compare_sized(size_t size, const char *fmt, va_list ap)
{
	char want[OUT_MAX + 16], got[OUT_MAX + 16];
	va_list ap_want, ap_got;
	int want_len, got_len;

	assert_true(size <= OUT_MAX);
	memset(want, CANARY, sizeof(want));
	memset(got, CANARY, sizeof(got));
	va_copy(ap_want, ap);
	va_copy(ap_got, ap);
	want_len = vsnprintf(size ? want : NULL, size, fmt, ap_want);
	got_len = kfmt_vsnprintf(size ? got : NULL, size, fmt, ap_got);
	va_end(ap_want);
	va_end(ap_got);

	if (want_len != got_len || memcmp(want, got, sizeof(want)) != 0) {
		print_error("format \"%s\", size %zu: libc %d \"%.*s\", "
			    "kernel %d \"%.*s\"\n", fmt, size, want_len,
			    (int)(size ? MIN(strlen(want), size) : 0), want,
			    got_len, (int)(size ? MIN(strlen(got), size) : 0),
			    got);
		fail();
	}
}

/* Full buffer, then truncated to every interesting size. */
static void vcompare(const char *fmt, va_list ap)
{
	char probe[OUT_MAX];
	va_list ap_probe;
	int full;

	va_copy(ap_probe, ap);
	full = vsnprintf(probe, sizeof(probe), fmt, ap_probe);
	va_end(ap_probe);
	assert_true(full >= 0 && full < OUT_MAX);

	compare_sized(OUT_MAX, fmt, ap);
	compare_sized((size_t)full + 1, fmt, ap);	/* exactly fits */
	compare_sized((size_t)full, fmt, ap);		/* last byte cut */
	compare_sized(1, fmt, ap);			/* just the NUL */
	compare_sized(0, fmt, ap);			/* nothing */
	if (full > 2)
		compare_sized((size_t)full / 2, fmt, ap);
}

/* For literal formats: the compiler checks the arguments. */
static void __printf(1, 2) same(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vcompare(fmt, ap);
	va_end(ap);
}

/*
 * The same, for formats that C defines but that the compiler warns about
 * as redundant ("'0' flag ignored with precision"): the point is to check
 * that the kernel ignores the flag too.
 */
static void same_unchecked(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vcompare(fmt, ap);
	va_end(ap);
}

/* The kernel's output alone, for the cases where it differs from the C
 * library on purpose. */
static void __printf(2, 3) expect(const char *want, const char *fmt, ...)
{
	char got[OUT_MAX];
	va_list ap;
	int len;

	va_start(ap, fmt);
	len = kfmt_vsnprintf(got, sizeof(got), fmt, ap);
	va_end(ap);
	assert_string_equal(got, want);
	assert_int_equal(len, strlen(want));
}

/* ---- Worked cases ---------------------------------------------------------- */

static void test_plain_text(void **state)
{
	(void)state;
	same("%s", "");
	same("hello, world");
	same("100%% sure, %%%%");
	same("tab\there\n");
	same("%d%s%c", 1, "two", '3');
}

static void test_signed_decimal(void **state)
{
	static const int values[] = {
		0, 1, -1, 7, -7, 42, 100, -100, 65535, INT_MAX, INT_MIN,
	};

	(void)state;
	for (unsigned i = 0; i < ARRAY_SIZE(values); i++) {
		int v = values[i];

		same("%d", v);
		same("%i", v);
		same("[%8d]", v);
		same("[%-8d]", v);
		same("[%08d]", v);
		same("[%+d]", v);
		same("[% d]", v);
		same("[%+08d]", v);
		same("[% 08d]", v);
		same("[%-+8d]", v);
		same("[%- 8d]", v);
		same_unchecked("[% +d]", v);
		same("[%.0d]", v);
		same("[%.5d]", v);
		same("[%10.5d]", v);
		same("[%-10.5d]", v);
		same_unchecked("[%010.5d]", v);
		same("[%+.3i]", v);
		same("[%*d]", 6, v);
		same("[%*d]", -6, v);
		same("[%-*d]", 6, v);
		same("[%.*d]", 4, v);
		same("[%.*d]", -4, v);
		same_unchecked("[%0*.*d]", 12, -1, v);
		same("[%*.*d]", 9, 0, v);
		same("[%1d]", v);
		same("[%40.30d]", v);
	}
}

static void test_unsigned_conversions(void **state)
{
	static const unsigned values[] = {
		0, 1, 7, 8, 9, 10, 15, 16, 255, 0x1234, 0xdeadbeef, UINT_MAX,
	};

	(void)state;
	for (unsigned i = 0; i < ARRAY_SIZE(values); i++) {
		unsigned v = values[i];

		same("%u %x %X %o", v, v, v, v);
		same("[%12u|%-12x|%012X|%12o]", v, v, v, v);
		same("[%#x|%#X|%#o]", v, v, v);
		same("[%#12x|%#-12X|%#012x|%#012o]", v, v, v, v);
		same("[%.0u|%.0x|%.0X|%.0o]", v, v, v, v);
		same("[%#.0x|%#.0o]", v, v);
		same("[%.6u|%.6x|%.6X|%.6o]", v, v, v, v);
		same("[%#.6x|%#.6o|%#.1o]", v, v, v);
		same_unchecked("[%#10.6x|%-#10.6o|%010.6u]", v, v, v);
		same("[%*x|%-*o|%.*u]", 9, v, 9, v, 3, v);
	}
}

/* '+' and ' ' make a sign, and only signed conversions have one. */
static void test_sign_flags_ignored_for_unsigned(void **state)
{
	static const char *const fmts[] = {
		"[%+u]", "[% u]", "[%+x]", "[% X]", "[%+o]", "[% o]",
		"[%+08u]", "[% #x]", "[%+#o]", "[%+.3u]", "[% -6x]",
	};

	(void)state;
	for (unsigned i = 0; i < ARRAY_SIZE(fmts); i++) {
		same_unchecked(fmts[i], 0u);
		same_unchecked(fmts[i], 42u);
		same_unchecked(fmts[i], UINT_MAX);
	}
}

static void test_length_modifiers(void **state)
{
	(void)state;
	same("%hhd %hhd %hhd %hhd", 0, 127, -128, 300);
	same("%hhu %hhx %hho %hhX", 255, 256 + 0x7f, 0777, -1);
	same("%hd %hd %hd %hd", 0, 32767, -32768, 70000);
	same("%hu %hx %ho %hX", 65535, 65536 + 0x1234, 0177777, -1);
	same("%ld %ld %ld", 0L, LONG_MAX, LONG_MIN);
	same("%lu %lx %lo %lX", ULONG_MAX, 0xfedcba9876543210ul, 01777ul,
	     0xabcul);
	same("%lld %lld %lli", 0LL, LLONG_MAX, LLONG_MIN);
	same("%llu %llx %llo %llX", ULLONG_MAX, ULLONG_MAX, ULLONG_MAX,
	     0x8000000000000000ull);
	same("%zu %zx %zd %zd", (size_t)0, SIZE_MAX, (ssize_t)-5,
	     (ssize_t)SSIZE_MAX);
	same("%td %tu %tx %td", (ptrdiff_t)-1, (size_t)PTRDIFF_MAX,
	     (size_t)PTRDIFF_MAX, PTRDIFF_MIN);
	same("%jd %ju %jx", INTMAX_MIN, UINTMAX_MAX, UINTMAX_MAX);
	same("[%+25lld|%-25llu|%025llx|%#25llo]", LLONG_MIN, ULLONG_MAX,
	     ULLONG_MAX, ULLONG_MAX);
}

/* The 64-bit extremes, which a formatter that negates before widening or
 * counts digits into too small a buffer gets wrong. */
static void test_64bit_extremes(void **state)
{
	(void)state;
	same("%lld", (long long)INT64_MIN);
	same("%lld", (long long)INT64_MAX);
	same("%llu", (unsigned long long)UINT64_MAX);
	same("%llo", (unsigned long long)UINT64_MAX);	/* 22 digits */
	same("%#llo", (unsigned long long)UINT64_MAX);
	same("%#llx", (unsigned long long)UINT64_MAX);
	same("%+.30lld", (long long)INT64_MIN);
	same("%ld %lu", (long)INT64_MIN, (unsigned long)UINT64_MAX);
	same("%zd %zu", (ssize_t)INT64_MIN, (size_t)UINT64_MAX);
}

static void test_char(void **state)
{
	(void)state;
	same("%c", 'a');
	same("[%c]", '\0');		/* counts, and is written */
	same("[%5c]", 'x');
	same("[%-5c]", 'x');
	same("[%*c]", -3, 'y');
	same("%c%c%c", 'a' + 256, 255, -1);	/* converted to char */
}

static void test_string(void **state)
{
	(void)state;
	same("%s", "hello");
	same("[%10s]", "hello");
	same("[%-10s]", "hello");
	same("[%3s]", "hello");
	same("[%.3s]", "hello");
	same("[%.0s]", "hello");
	same("[%.10s]", "hello");
	same("[%8.3s]", "hello");
	same("[%-8.3s]", "hello");
	same("[%*.*s]", 7, 2, "hello");
	same("[%*.*s]", -7, 2, "hello");
	same("[%.*s]", -1, "hello");	/* negative: as if none */
	same("[%s|%s]", "", "x");
	/* Precision stops the read: the bytes after it need not exist. */
	static const char unterminated[3] = { 'a', 'b', 'c' };
	same("[%.3s]", unterminated);
	same("[%.*s]", 2, unterminated);
}

static void test_percent(void **state)
{
	(void)state;
	same("%%");
	same("%d%%", 50);
	same("%%%d%%", 50);
}

/* Returns the would-be length, writes at most size - 1 bytes plus a NUL,
 * and with size 0 writes nothing at all (even to a NULL buffer). */
static void test_truncation(void **state)
{
	char buf[16];
	int len;

	(void)state;
	memset(buf, CANARY, sizeof(buf));
	len = kfmt_snprintf(buf, 6, "%s-%d", "abcdef", 12345);
	assert_int_equal(len, 12);
	assert_string_equal(buf, "abcde");
	assert_int_equal((unsigned char)buf[6], CANARY);

	memset(buf, CANARY, sizeof(buf));
	len = kfmt_snprintf(buf, 0, "%d", 1234);
	assert_int_equal(len, 4);
	for (unsigned i = 0; i < sizeof(buf); i++)
		assert_int_equal((unsigned char)buf[i], CANARY);

	assert_int_equal(kfmt_snprintf(NULL, 0, "%s%50d", "x", 1), 51);

	memset(buf, CANARY, sizeof(buf));
	len = kfmt_snprintf(buf, 1, "%s", "abc");
	assert_int_equal(len, 3);
	assert_int_equal(buf[0], '\0');
	assert_int_equal((unsigned char)buf[1], CANARY);

	memset(buf, CANARY, sizeof(buf));
	len = kfmt_snprintf(buf, 4, "abc");
	assert_int_equal(len, 3);
	assert_string_equal(buf, "abc");

	len = kfmt_snprintf(buf, sizeof(buf), "%s", "");
	assert_int_equal(len, 0);
	assert_string_equal(buf, "");
}

/* kfmt_vsnprintf() leaves the caller's va_list usable (it works on a copy),
 * as the printk path formats the same arguments twice. */
static void __printf(1, 2) format_twice(const char *fmt, ...)
{
	char first[64], second[64];
	va_list ap;

	va_start(ap, fmt);
	kfmt_vsnprintf(first, sizeof(first), fmt, ap);
	kfmt_vsnprintf(second, sizeof(second), fmt, ap);
	va_end(ap);
	assert_string_equal(first, second);
}

static void test_va_list_reuse(void **state)
{
	(void)state;
	format_twice("%d %s %llx", -3, "abc", 0x123456789abcull);
}

/* ---- Where the kernel differs on purpose ------------------------------------ */

/* %p is "0x" and lower-case hex, NULL included (glibc prints "(nil)"). */
static void test_pointer(void **state)
{
	void *p = (void *)(uintptr_t)0xffff800000123abcull;
	const char *hash_p = "%#p";	/* non-literal: the compiler objects */
	char want[64];
	int on_stack;

	(void)state;
	expect("0x0", "%p", NULL);
	expect("[     0x0]", "[%8p]", NULL);
	expect("[0x0     ]", "[%-8p]", NULL);
	expect("0xffff800000123abc", "%p", p);
	expect("0x1000", "%p", (void *)(uintptr_t)0x1000);
	expect("[  0xabc]", "[%7p]", (void *)(uintptr_t)0xabc);
	expect("[0xabc  ]", "[%-7p]", (void *)(uintptr_t)0xabc);
	/* '#' must not double the prefix. */
	expect("0xabc", hash_p, (void *)(uintptr_t)0xabc);

	/* For non-NULL, the same as the C library. */
	snprintf(want, sizeof(want), "[%20p|%-20p]", p, p);
	expect(want, "[%20p|%-20p]", p, p);
	snprintf(want, sizeof(want), "%p", (void *)&on_stack);
	expect(want, "%p", (void *)&on_stack);
}

/* NULL for %s prints "(null)", cut by the precision like any string. */
static void test_null_string(void **state)
{
	/* Volatile: the compiler rightly objects to a NULL it can see. */
	const char *volatile null = NULL;

	(void)state;
	expect("(null)", "%s", null);
	expect("[  (null)]", "[%8s]", null);
	expect("[(nu]", "[%.3s]", null);
}

/* A '%' at the very end prints nothing and stops; an unknown conversion is
 * printed as is, so a typo shows in the log rather than eating arguments. */
static void test_malformed(void **state)
{
	const char *lone = "abc%", *unknown = "[%q]", *wide = "[%5y]";

	(void)state;
	expect("abc", lone);
	expect("[%q]", unknown);
	expect("[%y]", wide);
}

/* ---- Randomized comparison -------------------------------------------------- */

/* xorshift64*: a fixed seed gives the same cases on every run and machine. */
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

/* Values that find edge cases more often than uniform ones do. */
static uint64_t random_value(void)
{
	static const uint64_t special[] = {
		0, 1, 7, 8, 9, 10, 15, 16, 127, 128, 255, 256, 32767, 32768,
		65535, 65536, 0x7fffffff, 0x80000000, 0xffffffff,
		0x100000000ull, 0x7fffffffffffffffull, 0x8000000000000000ull,
		0xffffffffffffffffull, 0xfffffffffffffffeull,
	};

	switch (rng_below(4)) {
	case 0:
		return special[rng_below(ARRAY_SIZE(special))];
	case 1:
		return rng_below(1000);
	case 2:
		return -rng_below(1000);
	default:
		return rng_next() >> rng_below(64);
	}
}

enum arg_kind {
	ARG_INT, ARG_UINT, ARG_LONG, ARG_ULONG, ARG_LLONG, ARG_ULLONG,
	ARG_SIZE, ARG_SSIZE, ARG_PTRDIFF, ARG_STR,
};

struct random_spec {
	char fmt[64];
	enum arg_kind kind;
	bool star_width, star_precision;
	int width, precision;
};

static void append(char *buf, size_t size, const char *s)
{
	size_t len = strlen(buf);

	assert_true(len + strlen(s) < size);
	memcpy(buf + len, s, strlen(s) + 1);
}

/* The argument type that the length modifier and conversion call for. */
static enum arg_kind arg_kind_of(const char *length, char conv)
{
	bool is_signed = conv == 'd' || conv == 'i';

	if (conv == 's')
		return ARG_STR;
	if (!strcmp(length, "l"))
		return is_signed ? ARG_LONG : ARG_ULONG;
	if (!strcmp(length, "ll"))
		return is_signed ? ARG_LLONG : ARG_ULLONG;
	if (!strcmp(length, "z"))
		return is_signed ? ARG_SSIZE : ARG_SIZE;
	if (!strcmp(length, "t"))
		return is_signed ? ARG_PTRDIFF : ARG_SIZE;
	return is_signed ? ARG_INT : ARG_UINT;	/* hh, h, none, and %c */
}

/*
 * One conversion with random flags, width, precision and length, from the
 * combinations C defines: no '#' on decimal, %c or %s; no '0' on %c or %s;
 * no precision on %c; no length modifier on %c or %s.
 */
static void random_spec(struct random_spec *rs)
{
	static const char convs[] = "diuxXocs";
	static const char *const lengths[] = { "", "hh", "h", "l", "ll", "z", "t" };
	char conv = convs[rng_below(sizeof(convs) - 1)];
	bool textual = conv == 'c' || conv == 's';
	const char *length = textual ? "" : lengths[rng_below(ARRAY_SIZE(lengths))];
	char piece[16];

	memset(rs, 0, sizeof(*rs));
	if (rng_below(3) == 0)
		append(rs->fmt, sizeof(rs->fmt), "<");
	append(rs->fmt, sizeof(rs->fmt), "%");
	for (unsigned i = rng_below(4); i > 0; i--) {
		static const char flags[] = "-0+ #";
		char flag = flags[rng_below(sizeof(flags) - 1)];

		if (flag == '#' && conv != 'x' && conv != 'X' && conv != 'o')
			continue;
		if (flag == '0' && textual)
			continue;
		piece[0] = flag, piece[1] = '\0';
		append(rs->fmt, sizeof(rs->fmt), piece);
	}
	switch (rng_below(4)) {
	case 0:
		break;
	case 1:
		rs->star_width = true;
		rs->width = (int)rng_below(61) - 30;
		append(rs->fmt, sizeof(rs->fmt), "*");
		break;
	default:
		snprintf(piece, sizeof(piece), "%u", (unsigned)rng_below(40));
		append(rs->fmt, sizeof(rs->fmt), piece);
		break;
	}
	if (conv != 'c') {
		switch (rng_below(4)) {
		case 0:
			break;
		case 1:
			rs->star_precision = true;
			rs->precision = (int)rng_below(41) - 5;
			append(rs->fmt, sizeof(rs->fmt), ".*");
			break;
		case 2:
			append(rs->fmt, sizeof(rs->fmt), ".");	/* means .0 */
			break;
		default:
			snprintf(piece, sizeof(piece), ".%u",
				 (unsigned)rng_below(30));
			append(rs->fmt, sizeof(rs->fmt), piece);
			break;
		}
	}
	append(rs->fmt, sizeof(rs->fmt), length);
	piece[0] = conv, piece[1] = '\0';
	append(rs->fmt, sizeof(rs->fmt), piece);
	if (rng_below(3) == 0)
		append(rs->fmt, sizeof(rs->fmt), ">");
	rs->kind = arg_kind_of(length, conv);
}

/* Call 'same' with the '*' arguments the spec asked for, then 'value'. */
#define SAME_WITH_STARS(rs, value)					\
	do {								\
		if ((rs)->star_width && (rs)->star_precision)		\
			same((rs)->fmt, (rs)->width, (rs)->precision,	\
			     value);					\
		else if ((rs)->star_width)				\
			same((rs)->fmt, (rs)->width, value);		\
		else if ((rs)->star_precision)				\
			same((rs)->fmt, (rs)->precision, value);	\
		else							\
			same((rs)->fmt, value);				\
	} while (0)

static const char *random_string(void)
{
	static const char *const strings[] = {
		"", "a", "hello", "with space", "0123456789abcdefghij",
		"%d is not a conversion here",
	};

	return strings[rng_below(ARRAY_SIZE(strings))];
}

static void run_random_spec(const struct random_spec *rs, uint64_t v)
{
	switch (rs->kind) {
	case ARG_INT:	  SAME_WITH_STARS(rs, (int)v); break;
	case ARG_UINT:	  SAME_WITH_STARS(rs, (unsigned)v); break;
	case ARG_LONG:	  SAME_WITH_STARS(rs, (long)v); break;
	case ARG_ULONG:	  SAME_WITH_STARS(rs, (unsigned long)v); break;
	case ARG_LLONG:	  SAME_WITH_STARS(rs, (long long)v); break;
	case ARG_ULLONG:  SAME_WITH_STARS(rs, (unsigned long long)v); break;
	case ARG_SIZE:	  SAME_WITH_STARS(rs, (size_t)v); break;
	case ARG_SSIZE:	  SAME_WITH_STARS(rs, (ssize_t)v); break;
	case ARG_PTRDIFF: SAME_WITH_STARS(rs, (ptrdiff_t)v); break;
	case ARG_STR:	  SAME_WITH_STARS(rs, random_string()); break;
	}
}

#define RANDOM_CASES 20000

static void test_random_against_libc(void **state)
{
	struct random_spec rs;

	(void)state;
	rng_state = 0xF0F0F00DF0F0F00Dull;
	for (unsigned i = 0; i < RANDOM_CASES; i++) {
		random_spec(&rs);
		run_random_spec(&rs, random_value());
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_text),
		cmocka_unit_test(test_signed_decimal),
		cmocka_unit_test(test_unsigned_conversions),
		cmocka_unit_test(test_sign_flags_ignored_for_unsigned),
		cmocka_unit_test(test_length_modifiers),
		cmocka_unit_test(test_64bit_extremes),
		cmocka_unit_test(test_char),
		cmocka_unit_test(test_string),
		cmocka_unit_test(test_percent),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_va_list_reuse),
		cmocka_unit_test(test_pointer),
		cmocka_unit_test(test_null_string),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_random_against_libc),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
