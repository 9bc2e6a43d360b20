/* panic() and the frame-pointer stack trace used by every fatal report. */
#include <stdarg.h>
#include "kernel/panic.h"
#include "arch/x86/cpu.h"
#include "arch/x86/platform.h"
#include "kernel/console.h"
#include "kernel/ksyms.h"
#include "kernel/printk.h"
#include "arch/x86/trap_frame.h"

#define STACK_TRACE_MAX_FRAMES 32
#define KERNEL_SPACE_START 0xffff800000000000ull

/*
 * Walk saved-RBP links. Each frame is [saved rbp][return address]. Stop at
 * rbp == 0 (the entry code clears it), at a misaligned or non-kernel
 * pointer, or when the chain stops moving up the stack.
 */
void stack_trace_print(uint64_t rip, bool rip_is_return, uint64_t rbp)
{
	char sym[96];

	pr_emerg("  Stack trace:\n");
	ksym_format(rip, rip_is_return, sym, sizeof(sym));
	pr_emerg("    [<%016lx>] %s\n", rip, sym);
	for (int depth = 0; depth < STACK_TRACE_MAX_FRAMES; depth++) {
		const uint64_t *frame = (const uint64_t *)rbp;
		uint64_t ret, next;

		if (rbp < KERNEL_SPACE_START || (rbp & 7))
			break;
		next = frame[0];
		ret = frame[1];
		if (ret < KERNEL_SPACE_START)
			break;
		ksym_format(ret, true, sym, sizeof(sym));
		pr_emerg("    [<%016lx>] %s\n", ret, sym);
		if (next <= rbp)
			break;
		rbp = next;
	}
}

void dump_registers(const struct trap_frame *f)
{
	char sym[96];

	ksym_format(f->rip, f->vector == PANIC_PSEUDO_VECTOR, sym, sizeof(sym));
	pr_emerg("  RIP: %04lx:%016lx <%s>\n", f->cs, f->rip, sym);
	pr_emerg("  RSP: %04lx:%016lx  RFLAGS: %016lx\n", f->ss, f->rsp,
		 f->rflags);
	pr_emerg("  RAX: %016lx  RBX: %016lx  RCX: %016lx\n", f->rax, f->rbx,
		 f->rcx);
	pr_emerg("  RDX: %016lx  RSI: %016lx  RDI: %016lx\n", f->rdx, f->rsi,
		 f->rdi);
	pr_emerg("  RBP: %016lx  R8:  %016lx  R9:  %016lx\n", f->rbp, f->r8,
		 f->r9);
	pr_emerg("  R10: %016lx  R11: %016lx  R12: %016lx\n", f->r10, f->r11,
		 f->r12);
	pr_emerg("  R13: %016lx  R14: %016lx  R15: %016lx\n", f->r13, f->r14,
		 f->r15);
	pr_emerg("  CR0: %016lx  CR2: %016lx  CR3: %016lx\n", read_cr0(),
		 read_cr2(), read_cr3());
	pr_emerg("  CR4: %016lx  EFER: %016lx\n", read_cr4(), rdmsr(MSR_EFER));
}

/* The registers as they are now, for a panic's dump. */
static void capture_registers(struct trap_frame *f)
{
	__asm__ volatile(
		"movq %%r15, 0(%0)\n\t"  "movq %%r14, 8(%0)\n\t"
		"movq %%r13, 16(%0)\n\t" "movq %%r12, 24(%0)\n\t"
		"movq %%r11, 32(%0)\n\t" "movq %%r10, 40(%0)\n\t"
		"movq %%r9, 48(%0)\n\t"  "movq %%r8, 56(%0)\n\t"
		"movq %%rbp, 64(%0)\n\t" "movq %%rdi, 72(%0)\n\t"
		"movq %%rsi, 80(%0)\n\t" "movq %%rdx, 88(%0)\n\t"
		"movq %%rcx, 96(%0)\n\t" "movq %%rbx, 104(%0)\n\t"
		"movq %%rax, 112(%0)\n\t"
		"movq %%rsp, 160(%0)\n\t"
		"movw %%cs, 144(%0)\n\t" "movw %%ss, 168(%0)"
		: : "r"(f) : "memory");
	f->rflags = read_rflags();
}

void panic(const char *fmt, ...)
{
	static volatile int panicking;
	struct trap_frame regs = { 0 };
	char msg[256];
	va_list ap;

	irq_disable();
	console_emergency();
	if (__atomic_fetch_add(&panicking, 1, __ATOMIC_SEQ_CST)) {
		pr_emerg("PANIC: nested panic\n");
		machine_exit(false);
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pr_emerg("\nPANIC: %s\n", msg);
	capture_registers(&regs);
	regs.rip = (uint64_t)__builtin_return_address(0);
	regs.vector = PANIC_PSEUDO_VECTOR;
	dump_registers(&regs);
	/* Start at panic's caller: its return address and its frame. */
	stack_trace_print(regs.rip, true,
			  *(const uint64_t *)__builtin_frame_address(0));
	machine_exit(false);
}
