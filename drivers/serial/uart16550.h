/* 16550 UART on an I/O port: the host console. */
#ifndef DRIVERS_SERIAL_UART16550_H
#define DRIVERS_SERIAL_UART16550_H

#include <stdbool.h>
#include <stdint.h>

#define UART_DEFAULT_PORT 0x3f8
#define UART_DEFAULT_BAUD 115200

/* Program the UART; returns false if nothing answers at 'port' (the
 * scratch register does not hold a value), so the caller can say so. */
bool uart_init(uint16_t port, uint32_t baud);
void uart_putc(uint16_t port, char c);
/* Wait until the transmitter is empty: emulators and real cables lose the
 * last bytes if the machine stops before they leave. */
void uart_drain(uint16_t port);

#endif
