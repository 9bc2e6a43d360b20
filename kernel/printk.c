/*
 * printk: format, store in the log ring, print to the console.
 *
 * Each message is stored with a one-byte level marker in front, so lines
 * logged before the console existed can be replayed at the console's
 * level. The ring keeps the most recent 64 KiB.
 */
#include "kernel/printk.h"
#include "kernel/console.h"
#include "drivers/serial/uart16550.h"
#include "smp/percpu.h"
#include "smp/spinlock.h"

#define LOG_RING_SIZE (64 * 1024)
#define LEVEL_MARK_BASE 0x10	/* marker byte = base + level: not text */

static char log_ring[LOG_RING_SIZE];
static uint64_t log_written;		/* bytes ever written */
static struct spinlock log_lock = SPINLOCK_INIT("log");

static struct {
	bool ready;
	bool emergency;
	uint16_t port;
	int loglevel;
	bool at_line_start;
	bool cpu_prefix;
} con = { .loglevel = LOG_INFO, .at_line_start = true };

void printk_enable_cpu_prefix(void)
{
	con.cpu_prefix = true;
}

static const char *level_prefix(int level)
{
	switch (level) {
	case LOG_ERR: return "ERROR: ";
	case LOG_WARN: return "WARNING: ";
	default: return "";
	}
}

static void console_put(char c)
{
	if (c == '\n')
		uart_putc(con.port, '\r');
	uart_putc(con.port, c);
}

static void console_write(int level, const char *s)
{
	if (!con.ready || level > con.loglevel)
		return;
	for (; *s; s++) {
		if (con.at_line_start) {
			if (con.cpu_prefix) {
				char tag[12];

				snprintf(tag, sizeof(tag), "[cpu%u] ",
					 this_cpu_id());
				for (const char *p = tag; *p; p++)
					console_put(*p);
			}
			for (const char *p = level_prefix(level); *p; p++)
				console_put(*p);
			con.at_line_start = false;
		}
		console_put(*s);
		if (*s == '\n')
			con.at_line_start = true;
	}
}

static void ring_put(char c)
{
	log_ring[log_written++ % LOG_RING_SIZE] = c;
}

static void ring_store(int level, const char *s)
{
	ring_put((char)(LEVEL_MARK_BASE + level));
	while (*s)
		ring_put(*s++);
}

/* In an emergency the lock holder may be the CPU that faulted: wait a
 * little, then go ahead without the lock. */
static bool log_lock_acquire(void)
{
	if (!con.emergency) {
		spin_lock(&log_lock);
		return true;
	}
	for (unsigned spins = 0; spins < 10000000; spins++) {
		if (spin_trylock(&log_lock))
			return true;
		cpu_relax();
	}
	return false;
}

void vprintk(int level, const char *fmt, va_list ap)
{
	char text[512];
	bool irq_was_on, locked;

	vsnprintf(text, sizeof(text), fmt, ap);
	irq_was_on = irq_save();
	locked = log_lock_acquire();
	ring_store(level, text);
	console_write(level, text);
	if (locked)
		spin_unlock(&log_lock);
	irq_restore(irq_was_on);
}

void printk(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintk(level, fmt, ap);
	va_end(ap);
}

/* Replay the ring (from its oldest byte still held) at the console level. */
static void replay_ring(void)
{
	uint64_t start = log_written > LOG_RING_SIZE ?
			 log_written - LOG_RING_SIZE : 0;
	int level = LOG_INFO;
	char piece[2] = { 0, 0 };

	for (uint64_t i = start; i < log_written; i++) {
		char c = log_ring[i % LOG_RING_SIZE];

		if ((unsigned char)c >= LEVEL_MARK_BASE &&
		    (unsigned char)c <= LEVEL_MARK_BASE + LOG_DEBUG) {
			level = c - LEVEL_MARK_BASE;
			continue;
		}
		piece[0] = c;
		console_write(level, piece);
	}
}

bool console_init(uint16_t port, uint32_t baud, int loglevel)
{
	bool irq_was_on;

	if (!uart_init(port, baud))
		return false;
	irq_was_on = spin_lock_irqsave(&log_lock);
	con.port = port;
	con.loglevel = loglevel;
	con.ready = true;
	replay_ring();
	spin_unlock_irqrestore(&log_lock, irq_was_on);
	return true;
}

void console_emergency(void)
{
	con.emergency = true;
	if (con.ready)
		return;
	uart_init(UART_DEFAULT_PORT, UART_DEFAULT_BAUD);
	con.port = UART_DEFAULT_PORT;
	con.ready = true;
	replay_ring();
}

void console_drain(void)
{
	if (con.ready)
		uart_drain(con.port);
}

uint16_t console_port(void)
{
	return con.port;
}

void console_raw_write(const char *s)
{
	uint16_t port = con.ready ? con.port : UART_DEFAULT_PORT;

	while (*s)
		uart_putc(port, *s++);
}
