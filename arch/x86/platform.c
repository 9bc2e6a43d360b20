#include "arch/x86/platform.h"
#include "arch/x86/cpu.h"
#include "kernel/console.h"
#include "kernel/printk.h"

static enum exit_mode exit_mode = EXIT_AUTO;

void machine_set_exit_mode(enum exit_mode mode)
{
	exit_mode = mode;
}

static void bochs_shutdown(void)
{
	for (const char *p = "Shutdown"; *p; p++)
		outb(BOCHS_SHUTDOWN_PORT, (uint8_t)*p);
}

void machine_exit(bool success)
{
	irq_disable();
	printk(LOG_EMERG, "hv: %s; system halted\n",
	       success ? "finished" : "stopped on an error");
	machine_stop(success);
}

void machine_stop(bool success)
{
	irq_disable();
	console_drain();
	if (exit_mode == EXIT_AUTO) {
		outb(QEMU_DEBUG_EXIT_PORT, success ? QEMU_EXIT_PASS_VALUE
						   : QEMU_EXIT_FAIL_VALUE);
		if (success)
			__asm__ volatile("xchg %bx, %bx");	/* Bochs magic break */
		else
			bochs_shutdown();
	}
	cpu_halt_forever();
}
