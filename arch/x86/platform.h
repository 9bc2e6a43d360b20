/* Ending a run: tell an emulator the verdict, or halt on bare metal. */
#ifndef ARCH_X86_PLATFORM_H
#define ARCH_X86_PLATFORM_H

#include <stdbool.h>
#include "kernel/cmdline.h"
#include "kernel/compiler.h"

/* Exit codes seen by the host (QEMU isa-debug-exit: (value << 1) | 1). */
#define QEMU_EXIT_PASS_VALUE	0x10	/* qemu exits 33 */
#define QEMU_EXIT_FAIL_VALUE	0x11	/* qemu exits 35 */
#define QEMU_DEBUG_EXIT_PORT	0xf4
#define BOCHS_SHUTDOWN_PORT	0x8900

void machine_set_exit_mode(enum exit_mode mode);

/*
 * Stop this machine. With exit=auto: QEMU's isa-debug-exit gets the
 * verdict (QEMU ends there); then a Bochs magic breakpoint (pass: Bochs
 * ends with 0) or the Bochs "Shutdown" port (fail: Bochs ends with 1).
 * On real hardware those ports are unused and the CPU halts.
 */
__noreturn void machine_exit(bool success);

/* The same without printing: for a fault inside the reporting path. */
__noreturn void machine_stop(bool success);

#endif
