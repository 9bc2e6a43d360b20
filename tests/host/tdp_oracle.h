/*
 * Shared by the TDP MMU host tests: fake guest memory and an oracle.
 *
 * Memslots are backed by made-up host addresses (the MMU never touches a
 * backing page, only its table pages). The oracle knows the two entry
 * formats from the manuals, written out here as plain numbers rather than
 * taken from mmu/tdp_spte.h, walks every table the MMU built and checks
 * each entry against the memslots and, if kept, a model of which guest
 * pages must be mapped.
 */
#ifndef TESTS_HOST_TDP_ORACLE_H
#define TESTS_HOST_TDP_ORACLE_H

#include <stdbool.h>
#include <stdint.h>
#include "mmu/tdp.h"

/* How a slot's pages are backed, per 2 MiB chunk. */
enum backing {
	BACK_LARGE,		/* contiguous, 2 MiB aligned: large pages */
	BACK_MISALIGNED,	/* contiguous, 4 KiB off a 2 MiB boundary */
	BACK_SCATTERED,		/* descending: never contiguous */
	BACK_BROKEN,		/* contiguous and aligned but one page */
	BACK_MIXED,		/* each chunk at random, half of them large */
};

struct tdp_env {
	struct memslots slots;
	struct tdp_mmu mmu;
	const struct tdp_format *fmt;
	bool model;			/* keep 'mapped' */
	uint8_t *mapped[MEMSLOTS_MAX];	/* per page: must be mapped */
	uint8_t *large[MEMSLOTS_MAX];	/* per chunk: oracle_large */
	uint64_t mapped_pages;
};

/* What the oracle's walk found. */
struct ref_count {
	uint64_t tables, leaves_4k, leaves_2m;
};

uint64_t rng_next(uint64_t *state);	/* xorshift64*, state != 0 */
uint64_t rng_below(uint64_t *state, uint64_t n);

/* A zeroed env with an MMU (asserts tdp_mmu_init succeeded). */
void env_init(struct tdp_env *env, const struct tdp_format *fmt, bool model);
/* Destroy the MMU, free the slots; asserts that no table page is left. */
void env_free(struct tdp_env *env);
/* Add a slot (keeping slots sorted is not required). */
struct memslot *env_add_slot(struct tdp_env *env, uint64_t base_gfn,
			     uint64_t npages, enum backing how,
			     uint64_t *rng);

/* Oracle: the slot holding gfn, by a linear search. */
const struct memslot *oracle_find(const struct tdp_env *env, uint64_t gfn);
/* Oracle: may gfn's chunk be a 2 MiB leaf? (Worked out from the slot's
 * hpa array by brute force when the slot was added.) */
bool oracle_large(const struct tdp_env *env, const struct memslot *slot,
		  uint64_t gfn);
/* The host address the guest address must translate to. */
uint64_t oracle_hpa(const struct memslot *slot, uint64_t gpa);

/* Model: what a fault at gpa must return, and the level it maps at. */
enum tdp_fault_result model_expect(const struct tdp_env *env, uint64_t gpa,
				   unsigned *level);
/* Model: record a fault at gpa that fixed or found the mapping. */
void model_mark(struct tdp_env *env, uint64_t gpa);

/* Fault at gpa; assert the model's result and the lookup afterwards. */
void fault_and_check(struct tdp_env *env, uint64_t gpa);

/* Walk all tables: every entry's bits exact, every leaf backed as the
 * slots say, every page the model holds mapped and no other; then the
 * stats agree with the walk and the live table count. */
void ref_check(struct tdp_env *env, struct ref_count *out);

/* Expected raw entries, by the manuals. */
uint64_t expect_table_flags(const struct tdp_format *fmt);
uint64_t expect_leaf_flags(const struct tdp_format *fmt, unsigned level);
/* The raw entry at 'level' on gpa's path, or 0 if the walk stops above. */
uint64_t raw_entry(const struct tdp_env *env, uint64_t gpa, unsigned level);

#endif
