/* mmio: what its files share (mmio.c: the instruction table against RAM;
 * probes.c: A/D bits, faults and page-crossing accesses; insns.asm: the
 * instructions and their harness). */
#ifndef TESTS_GUEST_MMIO_H
#define TESTS_GUEST_MMIO_H

#include "tests/guest/lib/guest.h"

/* Guest-physical: an absent PCIe bus in q35's MMCONFIG window (bus 254),
 * all ones on bare QEMU and outside RAM under the hypervisor. */
#define MMIO_GPA	0xbfe00000u
#define MMIO_GPA_1G	0x80000000u	/* the 1G page around it */

/* RAM, identity-mapped (12 MiB on). */
#define REF_SRC		0x00c00000u	/* the reference runs' operands */
#define REF_DST		0x00c01000u
#define RUN_SRC		0x00c02000u	/* RAM operands of the MMIO runs */
#define RUN_DST		0x00c03000u
#define PROBE_RAM	0x00c04000u	/* made read-only / not present */
#define BOUND_RAM	0x00c05000u	/* the RAM page before an MMIO page */
#define IDENTITY_END	0x01000000u
#define USED_END	(BOUND_RAM + 0x1000u)	/* fits in 16 MiB of RAM */

/* Virtual. */
#define VA_MMIO_4K	0x40000000u	/* 2 pages -> MMIO_GPA */
#define VA_MMIO_2M	0x40200000u	/* a 2M page -> MMIO_GPA */
#define VA_MMIO_1G	0xc0000000u	/* long mode: 1G page -> MMIO_GPA_1G */
#define VA_MMIO_HIGH	0x0000008000000000ull	/* long mode: 4K -> MMIO_GPA */
#define VA_RAMWIN	0x40600000u	/* RUN_SRC, RUN_DST, PROBE_RAM */
#define VA_BOUND	0x40800000u	/* BOUND_RAM, then MMIO_GPA + 0x2000 */
#define VA_MMIO_RO	0x40a00000u	/* MMIO_GPA, read-only */
#define VA_MMIO_NP	0x40a01000u	/* not present */

struct mm_regs {
	uint64_t rax, rbx, rcx, rdx, rsi, rdi, rflags;
};

void mm_run32(struct mm_regs *r, void (*stub)(void));
void mm_run64(struct mm_regs *r, void (*stub)(void));

extern const char *mode_name;
extern struct page_table pt;

/* probes.c */
void run_probes(void);
void run_last_probe(void);

#endif
