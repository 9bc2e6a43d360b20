/* ptwriter: what its two files share (ptwriter.c: the address spaces,
 * fork and copy-on-write; recycle.c: a page-table page used as data). */
#ifndef TESTS_GUEST_PTWRITER_H
#define TESTS_GUEST_PTWRITER_H

#include "tests/guest/lib/guest.h"

/* Guest-physical layout: all below USED_END, in 16 MiB of RAM. */
#define IDENTITY_END	0x01000000u	/* 0-16 MiB, supervisor, large pages */
#define POOL_BASE	0x00800000u	/* page tables: 8-9 MiB */
#define POOL_PAGES	256u
#define FRAMES_BASE	0x00900000u	/* data frames: 9-12 MiB */
#define FRAMES_END	0x00c00000u
#define MODEL_BASE	0x00c00000u	/* expected contents: 384 KiB */
#define USED_END	(MODEL_BASE + NR_SPACES * NR_PAGES * 4096u)

/* The data pages: group A in one page table, group B (the one whose table
 * is recycled) in another; RECYCLE_VA maps that table as data. */
#define NR_A		32u
#define NR_B		16u
#define NR_PAGES	(NR_A + NR_B)
#define VA_A		0x40000000u
#define VA_B		0x40800000u
#define RECYCLE_VA	0x41000000u
#define DATA_START	0x40000000ull	/* the range fork copies tables for */
#define DATA_END	0x42000000ull

#define NR_SPACES	2u		/* 0 parent, 1 child */

struct space {
	struct page_table pt;
	const char *name;
};

/* Per mode. */
extern enum paging_mode mode;
extern const char *mode_name;
extern struct space spaces[NR_SPACES];
extern unsigned cur_space;
extern uint32_t (*model)[NR_PAGES][1024];	/* [space][page][word] */
extern bool written[NR_SPACES][NR_PAGES];	/* writable in that space */

uint32_t page_va(unsigned page);
void switch_space(unsigned s);
uint32_t frame_alloc(void);
/* Fill a frame with the pattern of (tag, page) and the model with it. */
void fill_pattern(uint32_t frame, uint32_t *expect, uint32_t tag,
		  unsigned page);
/* Every byte of every data page of space s against the model. */
bool verify_space(unsigned s, uint32_t *bytes);
void report(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* recycle.c */
void recycle_table_page(void);

/* pfhandler.asm */
void pw_pf32(void);
void pw_pf64(void);

#endif
