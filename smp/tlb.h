/*
 * Cross-CPU requests: the primitive the MMU's TLB shootdown is built on.
 * A request is a bit in the target's kick_target; the kick is an IPI whose
 * handler takes the bits, handles them and acknowledges (smp/kick.h has
 * the protocol and why it is safe).
 */
#ifndef SMP_TLB_H
#define SMP_TLB_H

#include <stdint.h>
#include "smp/cpumask.h"

enum cpu_request {
	CPU_REQ_TLB_FLUSH = 1u << 0,	/* flush this CPU's host TLB */
};

struct kick_stats {
	uint64_t ipis_sent;		/* kick IPIs sent */
	uint64_t acks_waited;		/* acknowledgements waited for */
	uint64_t local;			/* requests handled on the sender */
};

extern struct kick_stats kick_stats;

/* Post 'requests' to every CPU in 'mask', kick them, wait until each has
 * handled them. The calling CPU handles its own share directly. */
void kick_cpus_and_wait(const struct cpumask *mask, uint64_t requests);
void kick_cpu_and_wait(unsigned cpu, uint64_t requests);

void smp_kick_init(void);

#endif
