/*
 * printk for host tests: appends to a buffer (and echoes to stderr when
 * HV_TEST_VERBOSE is set). Uses the C library's formatter; the kernel's own
 * formatter has its own test.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kernel/printk.h"
#include "tests/host/capture.h"

static char log_buf[1 << 16];
static size_t log_len;

void capture_reset(void)
{
	log_len = 0;
	log_buf[0] = '\0';
}

const char *capture_log(void)
{
	return log_buf;
}

bool capture_contains(const char *needle)
{
	return strstr(log_buf, needle) != NULL;
}

void vprintk(int level, const char *fmt, va_list ap)
{
	char line[1024];
	va_list copy;

	(void)level;
	va_copy(copy, ap);
	vsnprintf(line, sizeof(line), fmt, copy);
	va_end(copy);
	if (getenv("HV_TEST_VERBOSE"))
		fputs(line, stderr);
	size_t n = strlen(line);
	if (log_len + n + 1 > sizeof(log_buf))
		log_len = 0;	/* a test that logs 64 KiB resets; fine */
	memcpy(log_buf + log_len, line, n + 1);
	log_len += n;
}

void printk(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintk(level, fmt, ap);
	va_end(ap);
}
