/*
 * Port I/O: the guest's 16550 at 0x3f8 (transmit only, always ready), the
 * isa-debug-exit port 0xf4 (the guest's verdict), and every other port as
 * on a PC with nothing behind it: reads return all ones, writes vanish.
 */
#include "virt/exits.h"
#include "kernel/printk.h"
#include "virt/vm.h"

#define COM1		0x3f8
#define DEBUG_EXIT_PORT	0xf4
#define DEBUG_EXIT_PASS	0x10	/* what tests/guest/lib writes on success */

enum { THR = 0, IER = 1, IIR = 2, LCR = 3, MCR = 4, LSR = 5, MSR = 6, SCR = 7 };
#define LCR_DLAB 0x80

static void flush_line(struct vcpu *vcpu)
{
	vcpu->line[vcpu->line_len] = '\0';
	pr_info("[%s/%u] %s\n", vcpu->vm->name, vcpu->id, vcpu->line);
	vcpu->line_len = 0;
}

static void uart_put(struct vcpu *vcpu, char c)
{
	if (c == '\r')
		return;
	if (c == '\n') {
		flush_line(vcpu);
		return;
	}
	if (c < 0x20 || c > 0x7e)
		c = '?';	/* a guest's bytes never reach the host raw */
	vcpu->line[vcpu->line_len++] = c;
	if (vcpu->line_len == sizeof(vcpu->line) - 1)
		flush_line(vcpu);
}

static void uart_write(struct vcpu *vcpu, unsigned reg, uint8_t v)
{
	struct vm *vm = vcpu->vm;
	bool dlab = vm->uart_lcr & LCR_DLAB;

	switch (reg) {
	case THR: if (dlab) vm->uart_dll = v; else uart_put(vcpu, (char)v); break;
	case IER: if (dlab) vm->uart_dlm = v; else vm->uart_ier = v & 0x0f; break;
	case LCR: vm->uart_lcr = v; break;
	case MCR: vm->uart_mcr = v & 0x1f; break;
	case SCR: vm->uart_scr = v; break;
	default: break;		/* FCR, and the read-only LSR/MSR */
	}
}

static uint8_t uart_read(struct vcpu *vcpu, unsigned reg)
{
	struct vm *vm = vcpu->vm;
	bool dlab = vm->uart_lcr & LCR_DLAB;

	switch (reg) {
	case THR: return dlab ? vm->uart_dll : 0;	/* nothing received */
	case IER: return dlab ? vm->uart_dlm : vm->uart_ier;
	case IIR: return 0xc1;		/* FIFOs on, no interrupt pending */
	case LCR: return vm->uart_lcr;
	case MCR: return vm->uart_mcr;
	case LSR: return 0x60;		/* transmitter empty and idle */
	case MSR: return 0xb0;		/* CTS, DSR, DCD */
	default: return vm->uart_scr;
	}
}

bool handle_io(struct vcpu *vcpu)
{
	const struct vcpu_exit *e = &vcpu->exit;
	uint16_t port = e->io.port;
	uint64_t mask = e->io.size == 4 ? 0xffffffffull :
			((1ull << (8 * e->io.size)) - 1);

	if (e->io.string) {
		vm_stop(vcpu->vm, "string I/O (INS/OUTS) to port 0x%x is not "
			"emulated", port);
		return false;
	}
	if (e->io.in) {
		uint64_t v = mask;	/* nothing there: all ones */

		if (port >= COM1 && port < COM1 + 8 && e->io.size == 1)
			v = uart_read(vcpu, port - COM1);
		/* IN to AL/AX keeps the rest of RAX; to EAX zero-extends. */
		vcpu->regs.rax = e->io.size == 4 ? v :
				 (vcpu->regs.rax & ~mask) | (v & mask);
	} else {
		uint32_t v = (uint32_t)(vcpu->regs.rax & mask);

		if (port >= COM1 && port < COM1 + 8 && e->io.size == 1)
			uart_write(vcpu, port - COM1, (uint8_t)v);
		else if (port == DEBUG_EXIT_PORT) {
			if (vcpu->line_len)
				flush_line(vcpu);
			vm_finish(vcpu->vm, v == DEBUG_EXIT_PASS ? VERDICT_PASS
							   : VERDICT_FAIL, v);
		}
	}
	skip_instruction(vcpu);
	return true;
}
