/* The paging access rules of the Intel SDM vol. 3A (4.6 access rights, 4.6.2
 * protection keys, 4.7 page-fault error code), as a table a reader can
 * check line by line against the manual. The AMD APM vol. 2 (5.6, 8.4.2)
 * says the same, except where model() notes otherwise.
 *
 * The walk first: an entry with P = 0 ends it with a not-present fault;
 * a present entry with a reserved bit (XD with EFER.NXE = 0 included) ends
 * it with a reserved-bit fault. Then the rights of the whole walk: a page is
 * a user page if U/S = 1 in every entry, writable if R/W = 1 in every
 * entry, executable unless XD = 1 in some entry (EFER.NXE = 1); the rules
 * below say which accesses fault.
 */
#include "tests/guest/permmatrix/permmatrix.h"
#include "tests/guest/lib/util.h"

#define K_R	(1u << PM_READ)
#define K_W	(1u << PM_WRITE)
#define K_X	(1u << PM_FETCH)

enum cpl_set { CPL_SUP = 1, CPL_USER = 2, CPL_ANY = 3 };
enum page_set { PAGE_ANY, PAGE_USER, PAGE_SUP };

/* When a rule applies, beyond its CPL, access and page kind. */
enum condition {
	ALWAYS,
	NOT_WRITABLE,		/* R/W = 0 in some entry */
	NOT_WRITABLE_WP,	/* ... and CR0.WP = 1 */
	NO_EXECUTE,		/* XD = 1 in some entry, EFER.NXE = 1 */
	SMAP_AC_CLEAR,		/* CR4.SMAP = 1, EFLAGS.AC = 0 */
	SMEP_ON,		/* CR4.SMEP = 1 */
	PK_ACCESS_DISABLED,	/* CR4.PKE = 1, PKRU.AD[key] = 1 */
	PK_WRITE_DISABLED,	/* CR4.PKE = 1, PKRU.WD[key] = 1 */
	PK_WRITE_DISABLED_WP,	/* ... and CR0.WP = 1 */
};

struct rule {
	enum cpl_set cpl;
	unsigned kinds;
	enum page_set page;
	enum condition when;
	bool pk;		/* a protection-key rule: error code bit PK */
	const char *why;
};

/* A fault if any rule applies (SDM 4.6.1 and 4.6.2). Explicit accesses
 * only: the guest makes no implicit supervisor access to its test pages. */
static const struct rule rules[] = {
	/* User-mode accesses (CPL 3). */
	{ CPL_USER, K_R | K_W | K_X, PAGE_SUP, ALWAYS, false,
	  "CPL 3 access to a supervisor page" },
	{ CPL_USER, K_W, PAGE_ANY, NOT_WRITABLE, false,
	  "CPL 3 write, R/W = 0" },
	{ CPL_USER, K_X, PAGE_ANY, NO_EXECUTE, false,
	  "CPL 3 fetch, XD = 1" },
	/* Supervisor-mode accesses (CPL 0). */
	{ CPL_SUP, K_R | K_W, PAGE_USER, SMAP_AC_CLEAR, false,
	  "SMAP: supervisor data access to a user page, AC = 0" },
	{ CPL_SUP, K_W, PAGE_ANY, NOT_WRITABLE_WP, false,
	  "supervisor write, R/W = 0, CR0.WP = 1" },
	{ CPL_SUP, K_X, PAGE_ANY, NO_EXECUTE, false,
	  "supervisor fetch, XD = 1" },
	{ CPL_SUP, K_X, PAGE_USER, SMEP_ON, false,
	  "SMEP: supervisor fetch from a user page" },
	/* Protection keys: data accesses to user pages, 4-level paging. */
	{ CPL_ANY, K_R | K_W, PAGE_USER, PK_ACCESS_DISABLED, true,
	  "PKRU access-disable" },
	{ CPL_USER, K_W, PAGE_USER, PK_WRITE_DISABLED, true,
	  "PKRU write-disable, CPL 3 write" },
	{ CPL_SUP, K_W, PAGE_USER, PK_WRITE_DISABLED_WP, true,
	  "PKRU write-disable, supervisor write, CR0.WP = 1" },
};

struct walk_rights {
	bool user_page, writable, executable;
	unsigned pkey;
};

static bool holds(enum condition when, const struct pm_case *pc,
		  const struct walk_rights *r)
{
	const struct pm_controls *c = &pc->c;
	bool pkeys = c->pke && pc->mode == PAGING_LONG;
	uint32_t pk_bits = c->pkru >> (2 * r->pkey) & 3;

	switch (when) {
	case ALWAYS:			return true;
	case NOT_WRITABLE:		return !r->writable;
	case NOT_WRITABLE_WP:		return !r->writable && c->wp;
	case NO_EXECUTE:		return !r->executable;
	case SMAP_AC_CLEAR:		return c->smap && !c->ac;
	case SMEP_ON:			return c->smep;
	case PK_ACCESS_DISABLED:	return pkeys && (pk_bits & 1);
	case PK_WRITE_DISABLED:		return pkeys && (pk_bits & 2);
	case PK_WRITE_DISABLED_WP:	return pkeys && (pk_bits & 2) && c->wp;
	}
	return false;
}

static bool rule_applies(const struct rule *rule, const struct pm_case *pc,
			 const struct walk_rights *r)
{
	if (!(rule->cpl & (pc->user ? CPL_USER : CPL_SUP)) ||
	    !(rule->kinds & (1u << pc->kind)))
		return false;
	if ((rule->page == PAGE_USER && !r->user_page) ||
	    (rule->page == PAGE_SUP && r->user_page))
		return false;
	return holds(rule->when, pc, r);
}

/* The error code's access bits (SDM 4.7): W/R for writes, U/S for CPL 3,
 * I/D for fetches when CR4.SMEP = 1 or (PAE or 4-level paging and
 * EFER.NXE = 1). The AMD APM defines I/D only with EFER.NXE = 1 and
 * CR4.PAE = 1: with SMEP alone it is left open on AMD CPUs. */
static void access_bits(const struct pm_case *pc, bool amd,
			struct pm_outcome *out)
{
	bool nx_paging = pc->c.nxe && pc->mode != PAGING_32;

	if (pc->kind == PM_WRITE)
		out->error |= PF_W;
	if (pc->user)
		out->error |= PF_U;
	if (pc->kind == PM_FETCH && (pc->c.smep || nx_paging)) {
		out->error |= PF_I;
		if (amd && !nx_paging)
			out->dont_care |= PF_I;
	}
}

struct pm_outcome pm_model(const struct pm_case *pc, bool amd)
{
	struct pm_outcome out = { false, 0, 0, "allowed" };
	struct walk_rights r = { true, true, true, 0 };
	bool pk_fault = false, other_fault = false;

	for (unsigned i = 0; i < pc->levels; i++) {
		const struct pm_entry *e = &pc->e[i];

		if (!e->p) {
			out.fault = true;
			out.why = "not present";
			access_bits(pc, amd, &out);
			return out;
		}
		/* XD is a reserved bit while EFER.NXE = 0 (PAE, 4-level). */
		if (e->rsvd || (e->nx && !pc->c.nxe)) {
			out.fault = true;
			out.why = "reserved bit";
			out.error = PF_P | PF_RSVD;
			access_bits(pc, amd, &out);
			return out;
		}
		if (!e->rights)
			continue;
		r.user_page &= e->u;
		r.writable &= e->w;
		r.executable &= !(e->nx && pc->c.nxe);
	}
	r.pkey = pc->e[pc->levels - 1].pkey;

	for (unsigned i = 0; i < ARRAY_SIZE(rules); i++) {
		if (!rule_applies(&rules[i], pc, &r))
			continue;
		if (!out.fault)
			out.why = rules[i].why;
		out.fault = true;
		if (rules[i].pk)
			pk_fault = true;
		else
			other_fault = true;
	}
	if (!out.fault)
		return out;
	out.error = PF_P | (pk_fault ? PF_PK : 0);
	/* SDM 4.7 sets PK whenever the key forbids the access, even if the
	 * rights forbid it too; an implementation that checks the rights
	 * first reports that violation alone. Either is accepted then. */
	if (pk_fault && other_fault)
		out.dont_care |= PF_PK;
	access_bits(pc, amd, &out);
	return out;
}
