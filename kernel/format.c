/*
 * vsnprintf for the kernel: the subset of C99 the hypervisor uses. Portable
 * (no hardware access), so it is unit-tested on the host against the C
 * library's printf.
 */
#include <stdbool.h>
#include <stdint.h>
#include "kernel/printk.h"

struct out {
	char *buf;
	size_t size;
	size_t len;		/* would-be length, may exceed size */
};

static void put(struct out *o, char c)
{
	if (o->len + 1 < o->size)
		o->buf[o->len] = c;
	o->len++;
}

static void pad(struct out *o, char c, int n)
{
	while (n-- > 0)
		put(o, c);
}

struct spec {
	bool left;
	bool zero;
	bool plus;
	bool space;
	bool alt;
	int width;
	int precision;		/* -1: none */
};

static void emit_str(struct out *o, const char *s, const struct spec *sp)
{
	int len = 0;

	if (!s)
		s = "(null)";
	/* Precision first: the bytes past it need not exist. */
	while ((sp->precision < 0 || len < sp->precision) && s[len])
		len++;
	if (!sp->left)
		pad(o, ' ', sp->width - len);
	for (int i = 0; i < len; i++)
		put(o, s[i]);
	if (sp->left)
		pad(o, ' ', sp->width - len);
}

static void emit_num(struct out *o, uint64_t v, bool negative, unsigned base,
		     bool upper, const char *prefix, const struct spec *sp)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24];
	int n = 0, prefix_len = 0, zeros = 0, body;
	char sign = 0;

	if (v == 0 && sp->precision == 0)
		n = 0;
	else
		do {
			tmp[n++] = digits[v % base];
			v /= base;
		} while (v);

	if (negative)
		sign = '-';
	else if (sp->plus)
		sign = '+';
	else if (sp->space)
		sign = ' ';
	if (prefix)
		while (prefix[prefix_len])
			prefix_len++;
	if (sp->precision > n)
		zeros = sp->precision - n;
	body = n + zeros + prefix_len + (sign ? 1 : 0);
	if (sp->zero && !sp->left && sp->precision < 0 && sp->width > body)
		zeros += sp->width - body, body = sp->width;

	if (!sp->left)
		pad(o, ' ', sp->width - body);
	if (sign)
		put(o, sign);
	for (int i = 0; i < prefix_len; i++)
		put(o, prefix[i]);
	pad(o, '0', zeros);
	while (n)
		put(o, tmp[--n]);
	if (sp->left)
		pad(o, ' ', sp->width - body);
}

/* '#' makes an octal number start with 0: add one unless the digits (or
 * the zeros the precision asks for) already do. */
static const char *octal_prefix(uint64_t v, const struct spec *sp)
{
	int digits = 0;

	if (!sp->alt || (v == 0 && sp->precision != 0))
		return NULL;
	for (; v; v >>= 3)
		digits++;
	return sp->precision > digits ? NULL : "0";
}

enum length { LEN_INT, LEN_CHAR, LEN_SHORT, LEN_LONG, LEN_LLONG, LEN_SIZE };

static const char *parse_spec(const char *f, struct spec *sp, va_list *ap)
{
	*sp = (struct spec){ .precision = -1 };
	for (;; f++) {
		if (*f == '-')
			sp->left = true;
		else if (*f == '0')
			sp->zero = true;
		else if (*f == '+')
			sp->plus = true;
		else if (*f == ' ')
			sp->space = true;
		else if (*f == '#')
			sp->alt = true;
		else
			break;
	}
	if (*f == '*') {
		sp->width = va_arg(*ap, int);
		if (sp->width < 0)
			sp->left = true, sp->width = -sp->width;
		f++;
	} else {
		while (*f >= '0' && *f <= '9')
			sp->width = sp->width * 10 + (*f++ - '0');
	}
	if (*f == '.') {
		f++;
		sp->precision = 0;
		if (*f == '*') {
			sp->precision = va_arg(*ap, int);
			f++;
		} else {
			while (*f >= '0' && *f <= '9')
				sp->precision = sp->precision * 10 + (*f++ - '0');
		}
	}
	return f;
}

static const char *parse_length(const char *f, enum length *len)
{
	*len = LEN_INT;
	if (f[0] == 'h' && f[1] == 'h')
		*len = LEN_CHAR, f += 2;
	else if (f[0] == 'h')
		*len = LEN_SHORT, f++;
	else if (f[0] == 'l' && f[1] == 'l')
		*len = LEN_LLONG, f += 2;
	else if (f[0] == 'l')
		*len = LEN_LONG, f++;
	else if (f[0] == 'z' || f[0] == 't' || f[0] == 'j')
		*len = LEN_SIZE, f++;
	return f;
}

static int64_t signed_arg(enum length len, va_list *ap)
{
	switch (len) {
	case LEN_CHAR: return (signed char)va_arg(*ap, int);
	case LEN_SHORT: return (short)va_arg(*ap, int);
	case LEN_LONG: return va_arg(*ap, long);
	case LEN_LLONG: return va_arg(*ap, long long);
	case LEN_SIZE: return va_arg(*ap, long);
	default: return va_arg(*ap, int);
	}
}

static uint64_t unsigned_arg(enum length len, va_list *ap)
{
	switch (len) {
	case LEN_CHAR: return (unsigned char)va_arg(*ap, unsigned);
	case LEN_SHORT: return (unsigned short)va_arg(*ap, unsigned);
	case LEN_LONG: return va_arg(*ap, unsigned long);
	case LEN_LLONG: return va_arg(*ap, unsigned long long);
	case LEN_SIZE: return va_arg(*ap, size_t);
	default: return va_arg(*ap, unsigned);
	}
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap_in)
{
	struct out o = { .buf = buf, .size = size };
	struct spec sp;
	enum length len;
	va_list ap;

	va_copy(ap, ap_in);
	for (const char *f = fmt; *f; f++) {
		if (*f != '%') {
			put(&o, *f);
			continue;
		}
		f = parse_spec(f + 1, &sp, &ap);
		f = parse_length(f, &len);
		/* '+' and ' ' are for signed conversions: no sign on %u. */
		if (*f == 'u' || *f == 'x' || *f == 'X' || *f == 'o')
			sp.plus = sp.space = false;
		switch (*f) {
		case 'd':
		case 'i': {
			int64_t v = signed_arg(len, &ap);
			uint64_t mag = v < 0 ? -(uint64_t)v : (uint64_t)v;
			emit_num(&o, mag, v < 0, 10, false, NULL, &sp);
			break;
		}
		case 'u':
			emit_num(&o, unsigned_arg(len, &ap), false, 10, false,
				 NULL, &sp);
			break;
		case 'x':
		case 'X': {
			uint64_t v = unsigned_arg(len, &ap);
			const char *pre = sp.alt && v ? (*f == 'x' ? "0x" : "0X")
						      : NULL;
			emit_num(&o, v, false, 16, *f == 'X', pre, &sp);
			break;
		}
		case 'o': {
			uint64_t v = unsigned_arg(len, &ap);
			emit_num(&o, v, false, 8, false, octal_prefix(v, &sp),
				 &sp);
			break;
		}
		case 'p':
			sp.alt = false;
			emit_num(&o, (uintptr_t)va_arg(ap, void *), false, 16,
				 false, "0x", &sp);
			break;
		case 'c': {
			char c = (char)va_arg(ap, int);
			if (!sp.left)
				pad(&o, ' ', sp.width - 1);
			put(&o, c);
			if (sp.left)
				pad(&o, ' ', sp.width - 1);
			break;
		}
		case 's':
			emit_str(&o, va_arg(ap, const char *), &sp);
			break;
		case '%':
			put(&o, '%');
			break;
		case '\0':
			f--;	/* lone '%' at the end: stop */
			break;
		default:	/* unknown conversion: print it as is */
			put(&o, '%');
			put(&o, *f);
			break;
		}
	}
	va_end(ap);
	if (size)
		buf[o.len < size ? o.len : size - 1] = '\0';
	return (int)o.len;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}
