/* hello: the smallest guest. Checks that it was entered as a multiboot1
 * kernel and prints its command line. */
#include "tests/guest/lib/guest.h"

const char guest_name[] = "hello";

bool guest_test(uint32_t magic, const struct mb1_info *info)
{
	bool magic_ok = magic == MB1_BOOT_MAGIC;
	const char *cmdline = magic_ok && (info->flags & 4) ?
			      (const char *)info->cmdline : "";

	guest_printf("hello: hello from a test guest\n");
	guest_printf("hello: check entry magic 0x%08x: %s\n", magic,
		     magic_ok ? "ok" : "WRONG");
	guest_printf("hello: command line '%s'\n", cmdline);
	return magic_ok;
}
