/* permmatrix: the model of the SDM's paging access rules (model.c), the
 * access engine (access.asm) and what they share with permmatrix.c. */
#ifndef TESTS_GUEST_PERMMATRIX_H
#define TESTS_GUEST_PERMMATRIX_H

#include "tests/guest/lib/guest.h"

#define PF_PK		(1u << 5)	/* #PF error code: protection key */

enum pm_kind {
	PM_READ,
	PM_WRITE,
	PM_FETCH,
};

/* One paging-structure entry on the walk, as the model sees it. */
struct pm_entry {
	bool p, w, u, nx;	/* P, R/W, U/S, XD (bit 63) */
	bool rsvd;		/* a reserved bit (other than XD) is set */
	bool rights;		/* has R/W, U/S, XD: not a PAE PDPTE */
	unsigned pkey;		/* the leaf's protection key (long mode) */
};

/* The controls the rules read. */
struct pm_controls {
	bool wp, nxe, smep, smap, ac, pke;
	uint32_t pkru;
};

struct pm_case {
	enum paging_mode mode;
	unsigned levels;		/* entries on the walk */
	struct pm_entry e[4];		/* e[0] the top level, e[levels-1] the leaf */
	struct pm_controls c;
	enum pm_kind kind;
	bool user;			/* CPL 3 */
};

struct pm_outcome {
	bool fault;
	uint32_t error;		/* #PF error code, when fault */
	uint32_t dont_care;	/* error-code bits the rules leave open */
	const char *why;	/* the rule that decided */
};

/* The SDM (vol. 3A 4.6, 4.7): does the access fault, with which error
 * code. amd: the CPU is an AMD one (only for what the two vendors
 * document differently: see model.c). */
struct pm_outcome pm_model(const struct pm_case *pc, bool amd);

/* access.asm */
struct pm_req {
	uint32_t kind;
	uint32_t va_lo, va_hi;
	uint32_t value;
	uint32_t flags;
	uint32_t user_eip, user_esp;
	uint32_t result;
};

#define PM_F_USER	1u
#define PM_F_64		2u
#define PM_F_AC		4u

int pm_access(struct pm_req *req);
extern uint8_t pm_user_page[];
extern uint8_t pm_user_read32[], pm_user_write32[], pm_user_fetch32[];
extern uint8_t pm_user_read64[], pm_user_write64[], pm_user_fetch64[];

#endif
