/* A set of logical CPU indices (portable). */
#ifndef SMP_CPUMASK_H
#define SMP_CPUMASK_H

#include <stdbool.h>
#include <stdint.h>

#define CPUMASK_BITS 256

struct cpumask {
	uint64_t bits[CPUMASK_BITS / 64];
};

static inline void cpumask_clear(struct cpumask *m)
{
	for (unsigned i = 0; i < CPUMASK_BITS / 64; i++)
		m->bits[i] = 0;
}

static inline void cpumask_set(struct cpumask *m, unsigned cpu)
{
	__atomic_fetch_or(&m->bits[cpu / 64], 1ull << (cpu % 64),
			  __ATOMIC_SEQ_CST);
}

static inline void cpumask_unset(struct cpumask *m, unsigned cpu)
{
	__atomic_fetch_and(&m->bits[cpu / 64], ~(1ull << (cpu % 64)),
			   __ATOMIC_SEQ_CST);
}

static inline bool cpumask_test(const struct cpumask *m, unsigned cpu)
{
	return __atomic_load_n(&m->bits[cpu / 64], __ATOMIC_SEQ_CST) &
	       (1ull << (cpu % 64));
}

static inline unsigned cpumask_weight(const struct cpumask *m)
{
	unsigned n = 0;

	for (unsigned i = 0; i < CPUMASK_BITS / 64; i++)
		n += (unsigned)__builtin_popcountll(m->bits[i]);
	return n;
}

/* Next set bit at or after 'cpu', or CPUMASK_BITS. */
static inline unsigned cpumask_next(const struct cpumask *m, unsigned cpu)
{
	for (; cpu < CPUMASK_BITS; cpu++)
		if (cpumask_test(m, cpu))
			return cpu;
	return CPUMASK_BITS;
}

#define for_each_cpu(cpu, mask)						\
	for ((cpu) = cpumask_next((mask), 0); (cpu) < CPUMASK_BITS;	\
	     (cpu) = cpumask_next((mask), (cpu) + 1))

#endif
