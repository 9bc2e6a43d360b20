/*
 * Trap dispatch. Exceptions in the hypervisor are bugs: each is reported
 * with every register, the control registers and a stack trace, and the
 * machine stops. Vectors 32-255 go to registered handlers.
 */
#include "arch/x86/apic.h"
#include "arch/x86/cpu.h"
#include "arch/x86/desc.h"
#include "arch/x86/platform.h"
#include "arch/x86/trap_frame.h"
#include "kernel/console.h"
#include "kernel/ksyms.h"
#include "kernel/panic.h"
#include "kernel/printk.h"

static const char *const exception_names[32] = {
	"#DE divide error", "#DB debug", "NMI", "#BP breakpoint",
	"#OF overflow", "#BR bound range", "#UD invalid opcode",
	"#NM device not available", "#DF double fault",
	"coprocessor segment overrun", "#TS invalid TSS",
	"#NP segment not present", "#SS stack fault",
	"#GP general protection", "#PF page fault", "reserved (15)",
	"#MF x87 error", "#AC alignment check", "#MC machine check",
	"#XM SIMD error", "#VE virtualization exception",
	"#CP control protection", "reserved (22)", "reserved (23)",
	"reserved (24)", "reserved (25)", "reserved (26)", "reserved (27)",
	"#HV hypervisor injection", "#VC VMM communication",
	"#SX security exception", "reserved (31)",
};

static volatile int exceptions_in_progress;

static void print_pf_error(uint64_t err)
{
	pr_emerg("  page fault: %s, %s, %s%s%s%s (CR2 is the address)\n",
		 err & 1 ? "protection violation" : "not present",
		 err & 2 ? "write" : "read",
		 err & 4 ? "user" : "supervisor",
		 err & 8 ? ", reserved bit set" : "",
		 err & 16 ? ", instruction fetch" : "",
		 err & 32 ? ", protection key" : "");
}

static __noreturn void report_exception(struct trap_frame *f)
{
	/* A fault while reporting a fault: say so and stop at once, the
	 * state is beyond describing. */
	if (__atomic_fetch_add(&exceptions_in_progress, 1, __ATOMIC_SEQ_CST)) {
		console_raw_write("\r\nPANIC: exception while reporting an "
				  "exception; stopped\r\n");
		machine_stop(false);
	}
	console_emergency();
	pr_emerg("\nPANIC: CPU exception %s (vector %lu), error code 0x%lx\n",
		 exception_names[f->vector], f->vector, f->error_code);
	if (f->vector == 14)
		print_pf_error(f->error_code);
	dump_registers(f);
	stack_trace_print(f->rip, false, f->rbp);
	machine_exit(false);
}

void trap_dispatch(struct trap_frame *frame)
{
	irq_handler_fn handler;

	if (frame->vector < 32)
		report_exception(frame);
	if (frame->vector == VECTOR_SPURIOUS)
		return;		/* no EOI for a spurious interrupt */
	handler = idt_get_handler((uint8_t)frame->vector);
	if (handler)
		handler(frame);
	else
		pr_warn("interrupt vector %lu with no handler ignored\n",
			frame->vector);
	/* The 8259s are masked; their spurious IRQ 7/15 needs no EOI. */
	if (frame->vector >= VECTOR_PIC_BASE + 16)
		apic_eoi();
}
