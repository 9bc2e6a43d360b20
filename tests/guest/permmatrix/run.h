/* permmatrix: test pages, controls, and running one access against the
 * model (run.c), for the groups in permmatrix.c. */
#ifndef TESTS_GUEST_PERMMATRIX_RUN_H
#define TESTS_GUEST_PERMMATRIX_RUN_H

#include "tests/guest/permmatrix/permmatrix.h"

/* What the test frame holds where a read looks. Its byte 0 is a RET (the
 * fetch target), a write goes to offset 0x80. */
#define TEST_MARKER	0x600dda7au

/* A test page and the entries that translate it, top level first. */
struct path {
	const char *name;		/* "4K", "4M", "2M", "1G" */
	uint64_t size;
	uint64_t va;			/* the test frame's address through it */
	unsigned levels;
	struct pte_ref ref[4];
	uint64_t addr[4];		/* each entry's address bits and PS */
	uint64_t original[4];
	bool rights[4];			/* false: a PAE PDPTE (P only) */
	unsigned level_of[4];		/* 4 PML4E ... 1 PTE */
	const char *entry_name[4];
};

/* What a group puts in the entries of a path. */
struct assignment {
	struct pm_entry e[4];
	uint64_t extra[4];		/* reserved or ignored bits to add */
	bool preset_ad;			/* A already set in every entry, D in
					   the leaf */
};

struct group {
	const struct path *path;
	const char *name;
	unsigned checks, faults, mismatches;
};

/* The mode being tested. */
struct mode_state {
	enum paging_mode mode;
	const char *name;
	unsigned checks, mismatches;
	unsigned rsvd_with_p, rsvd_without_p;
};
extern struct mode_state cur;

/* Control sets: every combination the CPU has (full), the ones the error
 * code's I/D bit depends on (small), and the ones protection keys meet. */
extern struct pm_controls full_controls[32], small_controls[4],
			  pkey_controls[8];
extern unsigned nr_full_controls, nr_small_controls, nr_pkey_controls;

void run_setup(uint32_t frame, uint32_t user_win);
void mode_begin(enum paging_mode mode);
void mode_end(void);
void run_summary(void);

/* The test pages of the current mode: returns how many. */
unsigned build_paths(struct page_table *pt, struct path *paths,
		     uint32_t area, uint32_t frame);
void restore_path(const struct path *p);
/* The lowest address bit above MAXPHYADDR (0 if there is none below 52). */
uint64_t reserved_address_bit(void);

void apply_controls(const struct pm_controls *c);
/* Read what the CPU has now: after paging_enter(). */
void controls_sync(void);
void controls_reset(void);

void group_start(struct group *g, const struct path *p, const char *name);
void group_end(struct group *g);
/* Read, write and fetch at CPL 0 and CPL 3 with the entries set as a says,
 * under the controls applied last. */
void run_all_accesses(struct group *g, const struct path *p,
		      const struct assignment *a);
/* The A/D sequences an OS relies on, with the entries open, at CPL 0 and 3. */
void run_ad_sequences(struct group *g, const struct path *p);

#endif
