/* triplefault: an empty IDT (limit 0), then INT3: the #BP cannot be
 * delivered (#GP), nor can the #GP (#DF), nor the #DF: shutdown.
 *
 * No PASS verdict by design: the runner expects the stop. Bare QEMU with
 * -no-reboot exits with status 0; the hypervisor stops the VM and reports
 * a triple fault. If INT3 returns, the guest says so and fails.
 */
#include "tests/guest/lib/guest.h"

const char guest_name[] = "triplefault";

bool guest_test(uint32_t magic, const struct mb1_info *info)
{
	(void)magic, (void)info;
	guest_printf("triplefault: empty IDT, then INT3: this must be the "
		     "last line\n");
	serial_drain();
	idt_load_empty();
	__asm__ volatile("int3");
	guest_printf("triplefault: still running after INT3 with an empty "
		     "IDT\n");
	return false;
}
