/* ctxswitch: what its files share (ctxswitch.c: the address spaces, the
 * round-robin switches, global pages; pcid.c: PCIDs and INVPCID). */
#ifndef TESTS_GUEST_CTXSWITCH_H
#define TESTS_GUEST_CTXSWITCH_H

#include "tests/guest/lib/guest.h"

#define NR_SPACES	16u
#define NR_WIN		8u		/* window pages in each space */
#define NR_GLOBAL	4u		/* global pages, shared by all spaces */
#define VA_WIN		0x40000000u	/* the same range in every space */
#define VA_GLOBAL	0x50000000u

#define IDENTITY_END	0x01000000u	/* 0-16 MiB, supervisor, large pages */
#define POOL_BASE	0x00800000u	/* page tables */
#define POOL_PAGES	256u
#define FRAMES_BASE	0x00900000u	/* data frames: 9-12 MiB */
#define FRAMES_END	0x00c00000u
#define USED_END	FRAMES_END		/* fits in 16 MiB of RAM */

#define ADDR_MASK	0x000ffffffffff000ull
#define CR3_NOFLUSH	(1ull << 63)

struct space {
	struct page_table pt;
	uint32_t frame[NR_WIN];		/* what each window page maps now */
	struct pte_ref pte[NR_WIN];
};

extern enum paging_mode mode;
extern const char *mode_name;
extern struct space spaces[NR_SPACES];
extern unsigned cur_space;
extern uint32_t global_frame[NR_GLOBAL], global_alt[NR_GLOBAL];
extern struct pte_ref global_pte[NR_GLOBAL];
extern uint32_t rng_state;
extern unsigned nr_switches;

/* What a frame holds in its first word: a function of its address. */
static inline uint32_t frame_tag(uint32_t frame)
{
	return 0xc5000000u ^ frame;
}

static inline uint32_t win_va(unsigned page)
{
	return VA_WIN + page * 0x1000u;
}

static inline uint32_t global_va(unsigned page)
{
	return VA_GLOBAL + page * 0x1000u;
}

/* What a read through va gives now. */
static inline uint32_t read_tag(uint32_t va)
{
	return *(volatile uint32_t *)va;
}

/* The translations of space i as the model says, after a switch to it
 * (it: the switch's number, picks the pages): the number of wrong ones. */
unsigned verify_space(unsigned i, unsigned it);
/* Swap two window pages of space k in its page table (no invalidation). */
void swap_pages(unsigned k, unsigned a, unsigned b);
void report(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* pcid.c */
void run_pcid(void);

/* lm_cr3.asm */
void cs_write_cr3(uint32_t lo, uint32_t hi);
struct invpcid_desc {
	uint64_t pcid;
	uint64_t linear;
};
void cs_invpcid(uint32_t type, const struct invpcid_desc *desc);

#endif
