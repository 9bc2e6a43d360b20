#ifndef SMP_SELFTEST_H
#define SMP_SELFTEST_H

#include <stdbool.h>

/* test=ipi: pings between every pair of CPUs, call-function, TLB-flush
 * requests. Returns the verdict. */
bool smp_selftest(void);

/* bench=ipi: IPI round trip and kick-and-wait medians. */
void smp_bench_ipi(void);

#endif
