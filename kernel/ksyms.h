/* Kernel text symbols, for stack traces. The table is generated from the
 * first link (tools/gen-ksyms.sh) and linked into the second. */
#ifndef KERNEL_KSYMS_H
#define KERNEL_KSYMS_H

#include <stdint.h>

struct ksym {
	uint64_t addr;
	uint64_t size;
	const char *name;
};

extern const struct ksym ksyms[];
extern const unsigned ksym_count;

/* The symbol containing 'addr', or NULL. */
const struct ksym *ksym_lookup(uint64_t addr);

/* "name+0xoff/0xsize" or "?" into buf. */
void ksym_format(uint64_t addr, char *buf, unsigned size);

#endif
