/* Time: the TSC, calibrated once against the PIT. */
#ifndef ARCH_X86_TSC_H
#define ARCH_X86_TSC_H

#include <stdint.h>

extern uint64_t tsc_khz;

/* Measure the TSC rate against PIT channel 2 (median of three 10 ms
 * windows). Without a working PIT, falls back to CPUID leaf 0x16 or
 * assumes 1 GHz, with a warning. */
void tsc_calibrate(void);

void udelay(uint64_t us);
uint64_t tsc_to_ns(uint64_t cycles);

#endif
