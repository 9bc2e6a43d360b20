/* Checks, the verdict, and guest_main. */
#include "tests/guest/lib/guest.h"

#define DEBUG_EXIT_PORT	0xf4
#define DEBUG_EXIT_PASS	0x10	/* QEMU exits with (v << 1) | 1 = 33 */
#define DEBUG_EXIT_FAIL	0x11	/* 35 */

void guest_main(uint32_t magic, const struct mb1_info *info);

static unsigned failed;

bool check(bool ok, const char *fmt, ...)
{
	va_list ap;

	guest_printf("%s: ", guest_name);
	va_start(ap, fmt);
	guest_vprintf(fmt, ap);
	va_end(ap);
	guest_printf(": %s\n", ok ? "ok" : "FAIL");
	if (!ok)
		failed++;
	return ok;
}

unsigned checks_failed(void)
{
	return failed;
}

void guest_exit(bool pass)
{
	guest_printf("%s: verdict: %s\n", guest_name, pass ? "PASS" : "FAIL");
	/* Let the UART drain, or the last bytes are lost. */
	serial_drain();
	outb(DEBUG_EXIT_PORT, pass ? DEBUG_EXIT_PASS : DEBUG_EXIT_FAIL);
	cpu_halt_forever();
	__builtin_unreachable();
}

void guest_main(uint32_t magic, const struct mb1_info *info)
{
	bool pass;

	desc_init();
	mb_parse(magic, info);
	pass = guest_test(magic, info);
	guest_exit(pass && failed == 0);
}
