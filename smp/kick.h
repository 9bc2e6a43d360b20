/*
 * Kick and acknowledge: how one CPU makes others handle requests (flush
 * the TLB, reload the MMU root, ...) and waits until they have. Portable,
 * so tests/host/test_kick.c runs it with threads under ThreadSanitizer.
 *
 * Protocol, for a target T:
 *   sender:   set request bits in T->requests;       (1)
 *             seq = ++T->posted;                      (2)
 *             send an IPI to T;                       (3)
 *             wait until T->seen >= seq.              (4)
 *   receiver (T's IPI handler, interrupts off):
 *             p = T->posted;                          (a)
 *             bits = exchange(T->requests, 0);        (b)
 *             handle bits;                            (c)
 *             T->seen = max(T->seen, p).              (d)
 *
 * Why it is safe: if the receiver read p >= seq in (a), the sender's (1)
 * came before its (2), all sequentially consistent, so (b) sees the bits
 * and (c) handles them before (d) publishes p. If it read p < seq, the
 * sender waits on: its IPI (3) was sent after (2), hence after (a), so it
 * either finds the handler in service (the APIC holds it pending in IRR
 * and delivers it after EOI) or arrives later; either way the handler runs
 * again and reads p >= seq. Two senders whose IPIs merge into one
 * delivery are both covered by the one run that reads both increments.
 */
#ifndef SMP_KICK_H
#define SMP_KICK_H

#include <stdbool.h>
#include <stdint.h>

struct kick_target {
	uint64_t posted;	/* kicks posted so far */
	uint64_t seen;		/* 'posted' as read by the last handler run */
	uint64_t requests;	/* request bits not yet handled */
};

/* Sender (1)+(2): returns the sequence number to wait for. */
static inline uint64_t kick_post(struct kick_target *t, uint64_t request_bits)
{
	if (request_bits)
		__atomic_fetch_or(&t->requests, request_bits, __ATOMIC_SEQ_CST);
	return __atomic_add_fetch(&t->posted, 1, __ATOMIC_SEQ_CST);
}

/* Sender (4): has the target handled everything posted up to 'seq'? */
static inline bool kick_done(const struct kick_target *t, uint64_t seq)
{
	return __atomic_load_n(&t->seen, __ATOMIC_ACQUIRE) >= seq;
}

/* Receiver (a)+(b): returns the bits to handle and, in *posted, the value
 * to pass to kick_ack once they are handled. */
static inline uint64_t kick_receive(struct kick_target *t, uint64_t *posted)
{
	*posted = __atomic_load_n(&t->posted, __ATOMIC_SEQ_CST);
	return __atomic_exchange_n(&t->requests, 0, __ATOMIC_SEQ_CST);
}

/* Receiver (d). Monotonic, in case two paths acknowledge out of order. */
static inline void kick_ack(struct kick_target *t, uint64_t posted)
{
	uint64_t seen = __atomic_load_n(&t->seen, __ATOMIC_RELAXED);

	while (seen < posted &&
	       !__atomic_compare_exchange_n(&t->seen, &seen, posted, true,
					    __ATOMIC_RELEASE, __ATOMIC_RELAXED))
		;
}

#endif
