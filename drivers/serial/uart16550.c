/* 16550 UART driver: polled transmit only; the console never blocks on
 * interrupts, so it works in panic and exception paths. */
#include "drivers/serial/uart16550.h"
#include "arch/x86/cpu.h"

enum {
	UART_THR = 0,	/* transmit holding (DLAB=0) */
	UART_DLL = 0,	/* divisor low (DLAB=1) */
	UART_IER = 1,
	UART_DLM = 1,
	UART_FCR = 2,
	UART_LCR = 3,
	UART_MCR = 4,
	UART_LSR = 5,
	UART_SCR = 7,
};

#define LSR_THRE 0x20	/* holding register empty */
#define LSR_TEMT 0x40	/* transmitter completely empty */
#define UART_CLOCK 115200

/* A bounded wait: with no UART behind the port, LSR reads 0xff, which
 * looks ready; a stuck UART must not hang the kernel forever either. */
static void wait_lsr(uint16_t port, uint8_t bits)
{
	for (unsigned spins = 0; spins < 1000000; spins++) {
		if ((inb(port + UART_LSR) & bits) == bits)
			return;
		cpu_relax();
	}
}

bool uart_init(uint16_t port, uint32_t baud)
{
	uint16_t divisor;

	if (baud == 0 || baud > UART_CLOCK)
		baud = UART_DEFAULT_BAUD;
	divisor = UART_CLOCK / baud;

	outb(port + UART_SCR, 0x5a);
	if (inb(port + UART_SCR) != 0x5a)
		return false;
	outb(port + UART_IER, 0x00);		/* polled */
	outb(port + UART_LCR, 0x80);		/* DLAB */
	outb(port + UART_DLL, divisor & 0xff);
	outb(port + UART_DLM, divisor >> 8);
	outb(port + UART_LCR, 0x03);		/* 8N1 */
	outb(port + UART_FCR, 0x07);		/* FIFO on, cleared */
	outb(port + UART_MCR, 0x03);		/* DTR, RTS */
	return true;
}

void uart_putc(uint16_t port, char c)
{
	wait_lsr(port, LSR_THRE);
	outb(port + UART_THR, (uint8_t)c);
}

void uart_drain(uint16_t port)
{
	wait_lsr(port, LSR_THRE | LSR_TEMT);
}
