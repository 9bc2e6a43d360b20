/* The console: where printk's lines go once it is up. */
#ifndef KERNEL_CONSOLE_H
#define KERNEL_CONSOLE_H

#include <stdbool.h>
#include <stdint.h>

/* Bring up the serial console and replay everything logged so far.
 * Returns false if no UART answered at 'port'. */
bool console_init(uint16_t port, uint32_t baud, int loglevel);
/* For panic and exceptions: a console at the default port if none is up,
 * and the log lock ignored if its holder will never come back. */
void console_emergency(void);
void console_drain(void);
/* Straight to the UART: no formatting, no lock, no log. */
void console_raw_write(const char *s);
uint16_t console_port(void);

#endif
