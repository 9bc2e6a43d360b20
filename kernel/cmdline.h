/*
 * The hypervisor's own command line (GRUB's "multiboot2 /boot/hv.elf ..."
 * line, or QEMU's -append). Options are word=value pairs separated by
 * spaces. Unknown options and bad values are reported and ignored: the
 * hypervisor still boots, with defaults, and says which word it skipped.
 */
#ifndef KERNEL_CMDLINE_H
#define KERNEL_CMDLINE_H

#include <stdbool.h>
#include <stdint.h>

enum exit_mode {
	EXIT_AUTO,	/* tell an emulator the verdict (QEMU, Bochs), then halt */
	EXIT_HALT,	/* bare metal: only halt */
};

#define CMDLINE_WORD_MAX 32

struct cmdline_opts {
	uint16_t serial_port;
	uint32_t serial_baud;
	int loglevel;
	enum exit_mode exit_mode;
	char test[CMDLINE_WORD_MAX];	/* self-test to run, "" for none */
	char bench[CMDLINE_WORD_MAX];	/* benchmark to run, "" for none */
	unsigned guest_timeout_s;	/* a VM running longer is stopped */
	unsigned errors;		/* options reported and ignored */
};

void cmdline_defaults(struct cmdline_opts *opts);

/* Parse 'line' into 'opts' (which holds defaults). A leading word that is
 * the image's path (loaders put it there) is skipped. Returns the number
 * of options that were reported and ignored. */
unsigned cmdline_parse(const char *line, struct cmdline_opts *opts);

/* Parse an unsigned number: decimal, 0x hex, with an optional K/M/G suffix
 * when 'allow_suffix'. Returns false on junk or overflow. */
bool parse_u64(const char *s, unsigned len, bool allow_suffix, uint64_t *out);

#endif
