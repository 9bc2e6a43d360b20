/*
 * Ticket spinlock. Fair (FIFO), so a CPU spinning on the MMU lock cannot be
 * starved by two others passing it back and forth. The SMP issue adds the
 * owner-CPU assertions; until then the owner is recorded as "some CPU".
 */
#ifndef SMP_SPINLOCK_H
#define SMP_SPINLOCK_H

#include <stdbool.h>
#include <stdint.h>
#include "arch/x86/cpu.h"

struct spinlock {
	uint16_t next;		/* ticket handed to the next arrival */
	uint16_t serving;	/* ticket allowed in */
	const char *name;
};

#define SPINLOCK_INIT(n) { .next = 0, .serving = 0, .name = (n) }

static inline void spin_lock(struct spinlock *l)
{
	uint16_t ticket = __atomic_fetch_add(&l->next, 1, __ATOMIC_RELAXED);

	while (__atomic_load_n(&l->serving, __ATOMIC_ACQUIRE) != ticket)
		cpu_relax();
}

static inline bool spin_trylock(struct spinlock *l)
{
	uint16_t serving = __atomic_load_n(&l->serving, __ATOMIC_RELAXED);
	uint16_t expected = serving;

	return __atomic_compare_exchange_n(&l->next, &expected,
					   (uint16_t)(serving + 1), false,
					   __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
}

static inline void spin_unlock(struct spinlock *l)
{
	__atomic_store_n(&l->serving, (uint16_t)(l->serving + 1),
			 __ATOMIC_RELEASE);
}

static inline bool spin_is_locked(struct spinlock *l)
{
	return __atomic_load_n(&l->next, __ATOMIC_RELAXED) !=
	       __atomic_load_n(&l->serving, __ATOMIC_RELAXED);
}

/* Interrupts off while held: an IPI handler that takes the same lock on
 * this CPU would otherwise deadlock. */
static inline bool spin_lock_irqsave(struct spinlock *l)
{
	bool irq_was_on = irq_save();

	spin_lock(l);
	return irq_was_on;
}

static inline void spin_unlock_irqrestore(struct spinlock *l, bool irq_was_on)
{
	spin_unlock(l);
	irq_restore(irq_was_on);
}

#endif
