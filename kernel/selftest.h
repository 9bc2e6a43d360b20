#ifndef KERNEL_SELFTEST_H
#define KERNEL_SELFTEST_H

#include <stdbool.h>

/* Run the self-test named on the command line (test=NAME). Tests that
 * exercise the fatal paths (exceptions, panic) do not return. Returns the
 * verdict of the others; false also for an unknown name. */
bool selftest_run(const char *name);

#endif
