/* Command-line options of the hypervisor itself (portable). */
#include "kernel/cmdline.h"
#include "kernel/compiler.h"
#include "kernel/printk.h"

void cmdline_defaults(struct cmdline_opts *opts)
{
	*opts = (struct cmdline_opts){
		.serial_port = 0x3f8,
		.serial_baud = 115200,
		.loglevel = LOG_INFO,
		.exit_mode = EXIT_AUTO,
		.guest_timeout_s = 60,
	};
}

static bool word_eq(const char *s, unsigned len, const char *lit)
{
	unsigned i = 0;

	for (; i < len && lit[i]; i++)
		if (s[i] != lit[i])
			return false;
	return i == len && lit[i] == '\0';
}

static int digit_value(char c, unsigned base)
{
	int v;

	if (c >= '0' && c <= '9')
		v = c - '0';
	else if (c >= 'a' && c <= 'f')
		v = c - 'a' + 10;
	else if (c >= 'A' && c <= 'F')
		v = c - 'A' + 10;
	else
		return -1;
	return (unsigned)v < base ? v : -1;
}

bool parse_u64(const char *s, unsigned len, bool allow_suffix, uint64_t *out)
{
	unsigned base = 10, shift = 0;
	uint64_t v = 0;

	if (len > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		base = 16, s += 2, len -= 2;
	if (allow_suffix && len > 1) {
		switch (s[len - 1]) {
		case 'k': case 'K': shift = 10; break;
		case 'm': case 'M': shift = 20; break;
		case 'g': case 'G': shift = 30; break;
		}
		if (shift)
			len--;
	}
	if (len == 0)
		return false;
	for (unsigned i = 0; i < len; i++) {
		int d = digit_value(s[i], base);

		if (d < 0 || v > (UINT64_MAX - (unsigned)d) / base)
			return false;
		v = v * base + (unsigned)d;
	}
	if (shift && v > (UINT64_MAX >> shift))
		return false;
	*out = v << shift;
	return true;
}

static void copy_word(char *dst, const char *src, unsigned len)
{
	unsigned n = MIN(len, (unsigned)CMDLINE_WORD_MAX - 1);

	for (unsigned i = 0; i < n; i++)
		dst[i] = src[i];
	dst[n] = '\0';
}

/* serial=PORT[,BAUD]; PORT is a number or com1..com4. */
static bool parse_serial(const char *v, unsigned len, struct cmdline_opts *o)
{
	static const uint16_t com_ports[] = { 0x3f8, 0x2f8, 0x3e8, 0x2e8 };
	unsigned port_len = 0;
	uint64_t port, baud = o->serial_baud;

	while (port_len < len && v[port_len] != ',')
		port_len++;
	if (port_len == 4 && (v[0] == 'c' || v[0] == 'C') &&
	    v[3] >= '1' && v[3] <= '4' && word_eq(v + 1, 2, "om"))
		port = com_ports[v[3] - '1'];
	else if (!parse_u64(v, port_len, false, &port) || port == 0 ||
		 port > 0xfff8)
		return false;
	if (port_len < len &&
	    (!parse_u64(v + port_len + 1, len - port_len - 1, false, &baud) ||
	     baud < 50 || baud > 115200))
		return false;
	o->serial_port = (uint16_t)port;
	o->serial_baud = (uint32_t)baud;
	return true;
}

static bool parse_option(const char *key, unsigned key_len, const char *val,
			 unsigned val_len, struct cmdline_opts *o)
{
	uint64_t n;

	if (word_eq(key, key_len, "serial"))
		return parse_serial(val, val_len, o);
	if (word_eq(key, key_len, "loglevel")) {
		if (!parse_u64(val, val_len, false, &n) || n > LOG_DEBUG)
			return false;
		o->loglevel = (int)n;
		return true;
	}
	if (word_eq(key, key_len, "exit")) {
		if (word_eq(val, val_len, "auto"))
			o->exit_mode = EXIT_AUTO;
		else if (word_eq(val, val_len, "halt"))
			o->exit_mode = EXIT_HALT;
		else
			return false;
		return true;
	}
	if (word_eq(key, key_len, "guest_timeout")) {
		if (!parse_u64(val, val_len, false, &n) || n == 0 || n > 86400)
			return false;
		o->guest_timeout_s = (unsigned)n;
		return true;
	}
	if (word_eq(key, key_len, "test") && val_len > 0 &&
	    val_len < CMDLINE_WORD_MAX) {
		copy_word(o->test, val, val_len);
		return true;
	}
	if (word_eq(key, key_len, "bench") && val_len > 0 &&
	    val_len < CMDLINE_WORD_MAX) {
		copy_word(o->bench, val, val_len);
		return true;
	}
	return false;
}

static bool is_known_key(const char *key, unsigned key_len)
{
	static const char *const keys[] = {
		"serial", "loglevel", "exit", "test", "bench", "guest_timeout",
	};

	for (unsigned i = 0; i < ARRAY_SIZE(keys); i++)
		if (word_eq(key, key_len, keys[i]))
			return true;
	return false;
}

/* The loader's path to the image ("/boot/hv.elf"): no '=', has a '/'. */
static bool is_image_path(const char *w, unsigned len)
{
	bool slash = false;

	for (unsigned i = 0; i < len; i++) {
		if (w[i] == '=')
			return false;
		if (w[i] == '/')
			slash = true;
	}
	return slash;
}

unsigned cmdline_parse(const char *line, struct cmdline_opts *opts)
{
	unsigned before = opts->errors;
	bool first = true;

	for (const char *p = line; *p;) {
		const char *word;
		unsigned len = 0, key_len = 0;

		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		word = p;
		while (word[len] && word[len] != ' ' && word[len] != '\t')
			len++;
		p += len;
		if (first && is_image_path(word, len)) {
			first = false;
			continue;
		}
		first = false;
		while (key_len < len && word[key_len] != '=')
			key_len++;
		if (!is_known_key(word, key_len)) {
			pr_warn("cmdline: unknown option '%.*s' ignored "
				"(known: serial= loglevel= exit= test= bench= "
				"guest_timeout=)\n",
				(int)len, word);
			opts->errors++;
		} else if (key_len == len ||
			   !parse_option(word, key_len, word + key_len + 1,
					 len - key_len - 1, opts)) {
			pr_warn("cmdline: bad value in '%.*s' ignored; "
				"keeping the default\n", (int)len, word);
			opts->errors++;
		}
	}
	return opts->errors - before;
}
