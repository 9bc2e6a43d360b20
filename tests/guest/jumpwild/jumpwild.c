/* jumpwild: jumps to WILD_ADDR, a guest-physical address that is neither
 * RAM nor ROM, with paging off.
 *
 * Under the hypervisor the fetch cannot be served from guest memory: the
 * VM must be stopped and the reason reported. Bare QEMU TCG executes the
 * unassigned memory (it reads as zeros: ADD [EAX], AL over and over) up
 * to the top of the address space, through MMIO and the BIOS ROM, wraps
 * to 0 and soon faults; with the empty IDT loaded here the first fault is
 * a triple fault, and -no-reboot makes QEMU exit with status 0 ("reset"),
 * within about a second (docs/testing.md). No PASS verdict by design.
 */
#include "tests/guest/lib/guest.h"

const char guest_name[] = "jumpwild";

#define WILD_ADDR	0xd0000000u

bool guest_test(uint32_t magic, const struct mb1_info *info)
{
	(void)magic, (void)info;
	guest_printf("jumpwild: jumping to 0x%08x (not memory), paging off, "
		     "empty IDT: this must be the last line\n", WILD_ADDR);
	serial_drain();
	idt_load_empty();
	/* Known registers, so that a run of the zeros is always the same:
	 * EAX = 0 makes ADD [EAX], AL add 0 to address 0. */
	__asm__ volatile("xor %%eax, %%eax\n\t"
			 "xor %%ebx, %%ebx\n\t"
			 "xor %%edx, %%edx\n\t"
			 "xor %%esi, %%esi\n\t"
			 "xor %%edi, %%edi\n\t"
			 "jmp *%0"
			 : : "c"(WILD_ADDR) : "eax", "ebx", "edx", "esi",
			     "edi", "memory");
	__builtin_unreachable();
}
