/* Kernel text symbols, for stack traces. The table is generated from the
 * first link (tools/gen-ksyms.sh) and linked into the second. */
#ifndef KERNEL_KSYMS_H
#define KERNEL_KSYMS_H

#include <stdbool.h>
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

/* "name+0xoff/0xsize" or "?" into buf. A return address is looked up one
 * byte back: after a call to a noreturn function it points past the end
 * of the caller. */
void ksym_format(uint64_t addr, bool is_return, char *buf, unsigned size);

#endif
