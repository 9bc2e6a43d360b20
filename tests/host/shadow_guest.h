/*
 * The random guest of the shadow MMU property test (test_shadow_prop.c):
 * its table frames, the entries it writes, and the map of its table
 * frames ("physmap") through which it writes them, as an OS does.
 *
 * The table pool: 48 frames, each meant for one level ("class": 0 = PT,
 * 1 = PD, 2 = PDPT, 3 = PML4), whose entries mostly point at frames of the
 * class below; but any entry may point anywhere, so frames end up used at
 * several levels, in several modes, and as data. Walks go through a few
 * "hot" indices per level, which populate fills and the test's stores hit.
 */
#ifndef TESTS_HOST_SHADOW_GUEST_H
#define TESTS_HOST_SHADOW_GUEST_H

#include <stdbool.h>
#include <stdint.h>
#include "tests/host/shadow_sim.h"

/* The test's random stream (xorshift64*), seeded by the test. */
extern uint64_t sg_rng;
uint64_t sg_rnd(void);
uint64_t sg_below(uint64_t n);
bool sg_chance(unsigned percent);

/* "Tidy" entries: mostly present, writable, user, few reserved bits. */
extern bool sg_tidy;

extern const unsigned sg_class_first[4];
extern const unsigned sg_class_count[4];
extern const unsigned sg_hot64[4][5];	/* [class][k]: 8-byte entries */
extern const unsigned sg_hot32[2][7];	/* [class][k]: 4-byte entries */

uint64_t sg_pool_frame(unsigned class);
uint64_t sg_any_pool_frame(void);
uint64_t sg_data_frame(void);		/* RAM, slot C or MMIO */
/* A random entry for a table of 'class', 8 bytes or 4 (32-bit). */
uint64_t sg_random_entry(unsigned class, unsigned size);
uint64_t sg_random_pdpte(void);

/* Fill every hot index of every pool frame. */
void sg_populate_tables(struct sim *sim);

/*
 * The physmap:
 *   4-level   PML4 entry 300 of every PML4 frame -> PM_PDPT -> PM_PD ->
 *             PM_PT64, whose entry k maps pool frame k
 *   PAE       PD entry 400 of every PD frame -> PM_PT64
 *   32-bit    PD entry 900 of every PD frame -> PM_PT32
 * Random stores may clobber these entries; the test then falls back to
 * the hypervisor's view of the store (emulated if write-protected).
 */
#define PM_PT64		60
#define PM_PT32		61
#define PM_PD		62
#define PM_PDPT		63
#define PM_PML4_IDX	300
#define PM_PD64_IDX	400
#define PM_PD32_IDX	900

/* Pool frame index k of gfn, or -1. */
int sg_pool_index(uint64_t gfn);
void sg_populate_physmap(struct sim *sim);

#endif
