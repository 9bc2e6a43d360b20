/* Host tests: printk captured into a buffer so a test can assert that a bad
 * input was reported, and with what words. */
#ifndef TESTS_HOST_CAPTURE_H
#define TESTS_HOST_CAPTURE_H

#include <stdbool.h>

void capture_reset(void);
const char *capture_log(void);
bool capture_contains(const char *needle);

#endif
