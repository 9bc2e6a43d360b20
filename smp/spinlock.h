/*
 * Ticket spinlock. Fair (FIFO), so a CPU spinning on the MMU lock cannot be
 * starved by two others passing it back and forth. The owner CPU is
 * recorded so code can assert it holds a lock (assert_spin_locked), and a
 * CPU that takes a lock it already holds, or releases one it does not
 * hold, stops with a report instead of hanging or corrupting the lock.
 */
#ifndef SMP_SPINLOCK_H
#define SMP_SPINLOCK_H

#include <stdbool.h>
#include <stdint.h>
#include "arch/x86/cpu.h"
#include "kernel/compiler.h"
#include "smp/percpu.h"

struct spinlock {
	uint16_t next;		/* ticket handed to the next arrival */
	uint16_t serving;	/* ticket allowed in */
	int32_t owner;		/* logical CPU holding it, -1 if none */
	const char *name;
};

#define SPINLOCK_INIT(n) { .next = 0, .serving = 0, .owner = -1, .name = (n) }

__noreturn void spin_bug(struct spinlock *l, const char *what);

static inline bool spin_is_locked(struct spinlock *l)
{
	return __atomic_load_n(&l->next, __ATOMIC_RELAXED) !=
	       __atomic_load_n(&l->serving, __ATOMIC_RELAXED);
}

/* Only this CPU ever writes its own number into 'owner', so seeing it
 * there while the lock is held means this CPU holds it. */
static inline bool spin_held_by_me(struct spinlock *l)
{
	return spin_is_locked(l) &&
	       __atomic_load_n(&l->owner, __ATOMIC_RELAXED) ==
	       (int32_t)this_cpu_id();
}

#define assert_spin_locked(l)						\
	do {								\
		if (unlikely(!spin_held_by_me(l)))			\
			spin_bug((l), "not held by this CPU");		\
	} while (0)

static inline void spin_lock(struct spinlock *l)
{
	if (unlikely(spin_held_by_me(l)))
		spin_bug(l, "taken again by the CPU that holds it");
	uint16_t ticket = __atomic_fetch_add(&l->next, 1, __ATOMIC_RELAXED);

	while (__atomic_load_n(&l->serving, __ATOMIC_ACQUIRE) != ticket)
		cpu_relax();
	__atomic_store_n(&l->owner, (int32_t)this_cpu_id(), __ATOMIC_RELAXED);
}

static inline bool spin_trylock(struct spinlock *l)
{
	uint16_t serving = __atomic_load_n(&l->serving, __ATOMIC_RELAXED);
	uint16_t expected = serving;

	if (!__atomic_compare_exchange_n(&l->next, &expected,
					 (uint16_t)(serving + 1), false,
					 __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
		return false;
	__atomic_store_n(&l->owner, (int32_t)this_cpu_id(), __ATOMIC_RELAXED);
	return true;
}

static inline void spin_unlock(struct spinlock *l)
{
	if (unlikely(!spin_held_by_me(l)))
		spin_bug(l, "released by a CPU that does not hold it");
	__atomic_store_n(&l->owner, -1, __ATOMIC_RELAXED);
	__atomic_store_n(&l->serving, (uint16_t)(l->serving + 1),
			 __ATOMIC_RELEASE);
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
