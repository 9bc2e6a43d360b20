/* COM1 output and a small printf: enough for test output, and nothing
 * a 16550 emulation would not see on real hardware (THR writes after LSR
 * polls). */
#include "tests/guest/lib/guest.h"
#include "tests/guest/lib/util.h"

#define COM1		0x3f8
#define COM1_LSR	(COM1 + 5)
#define LSR_THRE	0x20
#define LSR_TEMT	0x40

static void serial_putc(char c)
{
	for (int spins = 0; spins < 100000 && !(inb(COM1_LSR) & LSR_THRE); spins++)
		;
	outb(COM1, (uint8_t)c);
}

void serial_drain(void)
{
	for (int spins = 0; spins < 1000000 &&
	     (inb(COM1_LSR) & (LSR_THRE | LSR_TEMT)) != (LSR_THRE | LSR_TEMT);
	     spins++)
		;
}

struct sink {
	char *buf;		/* NULL: the serial port */
	size_t size, len;
};

static void put(struct sink *s, char c)
{
	if (!s->buf) {
		if (c == '\n')
			serial_putc('\r');
		serial_putc(c);
	} else if (s->len + 1 < s->size) {
		s->buf[s->len] = c;
	}
	s->len++;
}

static void put_padded(struct sink *s, const char *str, size_t n, int width,
		       bool left, char pad)
{
	int fill = width > (int)n ? width - (int)n : 0;

	if (!left)
		while (fill-- > 0)
			put(s, pad);
	while (n--)
		put(s, *str++);
	if (left)
		while (fill-- > 0)
			put(s, ' ');
}

static void put_number(struct sink *s, uint64_t v, unsigned base, bool neg,
		       int width, bool left, char pad, bool upper)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char buf[24];
	int n = sizeof(buf);

	do {
		uint32_t r;

		v = udiv64(v, base, &r);
		buf[--n] = digits[r];
	} while (v);
	if (neg) {
		if (pad == '0') {
			put(s, '-');
			width--;
		} else {
			buf[--n] = '-';
		}
	}
	put_padded(s, buf + n, sizeof(buf) - n, width, left, pad);
}

/* %[-][0][width][l|ll](d|i|u|x|X|s|c|p|%) */
static void vformat(struct sink *s, const char *fmt, va_list ap)
{
	for (; *fmt; fmt++) {
		int width = 0, longs = 0;
		bool left = false;
		char pad = ' ';

		if (*fmt != '%') {
			put(s, *fmt);
			continue;
		}
		fmt++;
		for (;; fmt++) {
			if (*fmt == '-')
				left = true;
			else if (*fmt == '0')
				pad = '0';
			else
				break;
		}
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (*fmt++ - '0');
		while (*fmt == 'l')
			longs++, fmt++;
		switch (*fmt) {
		case 'd':
		case 'i': {
			int64_t v = longs >= 2 ? va_arg(ap, int64_t) :
				    longs ? va_arg(ap, long) : va_arg(ap, int);
			put_number(s, v < 0 ? -(uint64_t)v : (uint64_t)v, 10,
				   v < 0, width, left, pad, false);
			break;
		}
		case 'u':
		case 'x':
		case 'X': {
			uint64_t v = longs >= 2 ? va_arg(ap, uint64_t) :
				     longs ? va_arg(ap, unsigned long) :
				     va_arg(ap, unsigned int);
			put_number(s, v, *fmt == 'u' ? 10 : 16, false, width,
				   left, pad, *fmt == 'X');
			break;
		}
		case 'p':
			put(s, '0');
			put(s, 'x');
			put_number(s, (uintptr_t)va_arg(ap, void *), 16, false,
				   8, false, '0', false);
			break;
		case 's': {
			const char *str = va_arg(ap, const char *);

			if (!str)
				str = "(null)";
			put_padded(s, str, strlen(str), width, left, ' ');
			break;
		}
		case 'c':
			put(s, (char)va_arg(ap, int));
			break;
		case '\0':
			return;
		default:
			put(s, *fmt);
			break;
		}
	}
}

void guest_vprintf(const char *fmt, va_list ap)
{
	struct sink s = { 0 };

	vformat(&s, fmt, ap);
}

void guest_printf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	guest_vprintf(fmt, ap);
	va_end(ap);
}

int guest_snprintf(char *buf, size_t size, const char *fmt, ...)
{
	struct sink s = { .buf = buf, .size = size };
	va_list ap;

	va_start(ap, fmt);
	vformat(&s, fmt, ap);
	va_end(ap);
	if (size)
		buf[s.len < size ? s.len : size - 1] = 0;
	return (int)s.len;
}
