/* Guest runtime: COM1 output, a tiny printf, and the verdict. */
#include "tests/guest/lib/guest.h"

#define COM1 0x3f8
#define DEBUG_EXIT_PORT 0xf4

void guest_main(uint32_t magic, const struct mb1_info *info);

static void serial_putc(char c)
{
	for (int spins = 0; spins < 100000 && !(inb(COM1 + 5) & 0x20); spins++)
		;
	outb(COM1, (uint8_t)c);
}

static void put_str(const char *s)
{
	while (*s) {
		if (*s == '\n')
			serial_putc('\r');
		serial_putc(*s++);
	}
}

static void put_uint(uint32_t v, unsigned base, int width, char pad)
{
	char buf[12];
	int n = 0;

	do {
		buf[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	while (width-- > n)
		serial_putc(pad);
	while (n)
		serial_putc(buf[--n]);
}

/* %s %c %d %u %x with optional zero-pad width: enough for test output. */
void guest_printf(const char *fmt, ...)
{
	va_list ap;
	char one[2] = { 0, 0 };

	va_start(ap, fmt);
	for (; *fmt; fmt++) {
		int width = 0;
		char pad = ' ';

		if (*fmt != '%') {
			one[0] = *fmt;
			put_str(one);
			continue;
		}
		fmt++;
		if (*fmt == '0')
			pad = '0', fmt++;
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (*fmt++ - '0');
		switch (*fmt) {
		case 's': put_str(va_arg(ap, const char *)); break;
		case 'c': one[0] = (char)va_arg(ap, int); put_str(one); break;
		case 'u': put_uint(va_arg(ap, uint32_t), 10, width, pad); break;
		case 'x': put_uint(va_arg(ap, uint32_t), 16, width, pad); break;
		case 'd': {
			int32_t v = va_arg(ap, int32_t);
			if (v < 0) {
				serial_putc('-');
				v = -v;
			}
			put_uint((uint32_t)v, 10, width, pad);
			break;
		}
		default: one[0] = *fmt; put_str(one); break;
		}
	}
	va_end(ap);
}

void guest_exit(bool pass)
{
	guest_printf("%s: verdict: %s\n", guest_name, pass ? "PASS" : "FAIL");
	/* Let the UART drain, or the last bytes are lost. */
	for (int spins = 0; spins < 1000000 && (inb(COM1 + 5) & 0x60) != 0x60;
	     spins++)
		;
	outb(DEBUG_EXIT_PORT, pass ? 0x10 : 0x11);
	for (;;)
		__asm__ volatile("cli; hlt");
}

void guest_main(uint32_t magic, const struct mb1_info *info)
{
	guest_exit(guest_test(magic, info));
}
