/* hello: the smallest guest. Checks that it was entered as a multiboot1
 * kernel and prints its command line. */
#include "tests/guest/lib/guest.h"

const char guest_name[] = "hello";

bool guest_test(uint32_t magic, const struct mb1_info *info)
{
	(void)info;
	guest_printf("hello: hello from a test guest\n");
	guest_printf("hello: check entry magic 0x%08x: %s\n", magic,
		     boot.magic_ok ? "ok" : "WRONG");
	guest_printf("hello: command line '%s'\n", boot.cmdline);
	return boot.magic_ok;
}
