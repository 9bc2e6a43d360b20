/* smpmmu: what its files share. smp.c starts the vCPUs and has the
 * per-CPU state, the barriers, the error records and the #PF handler's C
 * side; smp64.asm the #PF entry stubs and the probe routines; scenarios.c
 * the four scenarios; smpmmu.c the address space and guest_test. */
#ifndef TESTS_GUEST_SMPMMU_H
#define TESTS_GUEST_SMPMMU_H

#include "tests/guest/lib/guest.h"
#include "tests/guest/lib/util.h"

#define MAX_CPUS	8	/* the hypervisor's VM_MAX_VCPUS */
/* Pause loops before a wait gives up: about 14 s in QEMU TCG (where PAUSE
 * leaves the translated code: about 1.4 us each), 6 s of Bochs's time. */
#define SPIN_LIMIT	10000000u

/* Guest-physical layout (everything identity-mapped with 2 MiB pages). */
#define PT_POOL_BASE	0x00400000u	/* the runtime's table pool */
#define PT_POOL_PAGES	64u
#define FRAMES_BASE	0x00500000u	/* our tables and data frames */
#define FRAMES_END	0x01000000u
#define BIG_FRAME	0x01000000u	/* the 2 MiB page of scenario 3 */
#define IDENTITY_END	0x01400000u

/* The test window: one page directory (PD_WIN) for 1-2 GiB. */
#define WIN_BASE	0x40000000u
#define PDE_VA(k)	(WIN_BASE + (uint32_t)(k) * 0x200000u)
#define PDE_S		0	/* PT_S: scenario 1, 2 and the aliases of 4 */
#define PDE_C		1	/* PT_C: scenario 3, own entries */
#define PDE_D		2	/* PT_D: scenario 3, A/D and AVL bits */
#define PDE_F		3	/* PT_F: scenario 4, recycled as data */
#define PDE_O		4	/* PT_O: scenario 4, the others' mappings */
#define PDE_T		5	/* T: scenario 4, data made a table */
#define PDE_BIG		8	/* 8..8+N-1: 2 MiB pages of scenario 3 */

#define VA_R		(PDE_VA(PDE_S) + 0x0000u)	/* remapped page */
#define VA_W		(PDE_VA(PDE_S) + 0x1000u)	/* write-protected */
#define IDX_FD		16u	/* PT_S entry: PT_F as data */
#define IDX_ALIAS	17u	/* PT_S entry: T as data */
#define VA_FD		(PDE_VA(PDE_S) + IDX_FD * 0x1000u)
#define VA_ALIAS	(PDE_VA(PDE_S) + IDX_ALIAS * 0x1000u)

#define PTE_AVL_MASK	0x00000e00u	/* bits 9-11 */
#define PTE_ADDR32	0xfffff000u

/* A page's words: tag in the high half, word index in the low half. */
static inline uint32_t pattern(uint32_t tag, uint32_t w)
{
	return tag << 16 | w;
}

/* The entry at index idx of a table page (physical = virtual). Frames
 * are below 4 GiB: the low dword holds P, the flags and the address. */
static inline volatile uint32_t *pte_lo(uint32_t table, unsigned idx)
{
	return (volatile uint32_t *)(table + idx * 8u);
}

/* Per-CPU state. The #PF handler (smp.c) writes the fault fields. */
struct cpu {
	uint32_t index;
	uint32_t rng;
	volatile uint32_t started;	/* set by the vCPU itself */
	/* the last #PF */
	volatile uint32_t pf_count, pf_err, pf_cr2;
	volatile uint32_t probe_faulted;
	/* scenario 2 (write protection): the handler's share */
	volatile uint32_t wp_mode;	/* faults on VA_W are expected */
	volatile uint32_t wp_faults, wp_spurious, wp_fault_round;
	volatile uint32_t wp_seen, wp_last_written, wp_acked_value;
	volatile uint32_t wp_writes;
	/* errors found on this vCPU: vCPU 0 prints them */
	volatile uint32_t errors;
	char first_error[144];
};

extern struct cpu cpus[MAX_CPUS];
extern unsigned ncpus;
extern uint32_t pml4_root;
extern uint32_t pd_win;		/* the window's page directory */
extern volatile uint32_t abort_all;
extern bool keep_if_clear;		/* option "cli" */

/* smp.c */
bool smp_init(uint32_t root);		/* per-CPU IDTs; vCPU 0 too */
bool smp_start(unsigned want);		/* starts vCPUs 1..want-1 */
/* Run job on vCPUs 1..N-1 (ap(c) on each) while vCPU 0 runs self(),
 * then wait until every vCPU finished it. */
void run_job(void (*ap)(struct cpu *c), void (*self)(struct cpu *c));
/* Record an error found on vCPU c (the first one's text is kept) and end
 * the part: every vCPU stops at its next abort_all check. */
#define cpu_error(c, ...)						\
	do {								\
		struct cpu *c_ = (c);					\
		if (c_->errors++ == 0)					\
			guest_snprintf(c_->first_error,			\
				       sizeof(c_->first_error),		\
				       __VA_ARGS__);			\
		__atomic_store_n(&abort_all, 1, __ATOMIC_RELEASE);	\
	} while (0)
/* Print the errors vCPUs recorded since the last call; returns how many. */
unsigned report_errors(const char *scenario);
/* Spin until *p == v (or abort_all); false on timeout (an error). */
bool wait_eq(struct cpu *c, volatile uint32_t *p, uint32_t v,
	     const char *what);
/* Spin until every vCPU 1..N-1's acks[i] == v. */
bool wait_acks(struct cpu *c, volatile uint32_t *acks, uint32_t v,
	       const char *what);
uint32_t frame_alloc(void);		/* a zeroed 4K frame */
void fill_page(uint32_t page, uint32_t tag);
void reload_cr3(void);
void lm_lidt(const void *pseudo_descriptor);

static inline uint32_t rnd(struct cpu *c)
{
	return xorshift32(&c->rng);
}

static inline uint32_t load_acq(volatile uint32_t *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static inline void store_rel(volatile uint32_t *p, uint32_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

static inline void cpu_relax(void)
{
	__asm__ volatile("pause" ::: "memory");
}

static inline bool lock_bts(volatile uint32_t *p, unsigned bit)
{
	bool old;

	__asm__ volatile("lock btsl %2, %0" : "+m"(*p), "=@ccc"(old)
			 : "Ir"(bit) : "memory");
	return old;
}

static inline bool lock_btr(volatile uint32_t *p, unsigned bit)
{
	bool old;

	__asm__ volatile("lock btrl %2, %0" : "+m"(*p), "=@ccc"(old)
			 : "Ir"(bit) : "memory");
	return old;
}

static inline bool lock_btc(volatile uint32_t *p, unsigned bit)
{
	bool old;

	__asm__ volatile("lock btcl %2, %0" : "+m"(*p), "=@ccc"(old)
			 : "Ir"(bit) : "memory");
	return old;
}

/* Store a PTE's low dword in one of the ways an OS does: MOV, XCHG or
 * LOCK CMPXCHG (which retries until it wins). */
void pte_store(struct cpu *c, volatile uint32_t *p, uint32_t v);

/* smp64.asm: a read or write that may fault; the handler resumes after
 * it with cpus[].probe_faulted set. */
uint32_t probe_read(uint32_t va);
void probe_write(uint32_t va, uint32_t value);

/* scenarios.c: each prints its lines; false on a failure. */
void scenarios_init(void);
bool remap_under_readers(unsigned rounds);
bool wp_under_writers(unsigned rounds);
bool concurrent_pte_writes(unsigned iters);
bool ad_and_avl_bits(unsigned rounds);
bool table_recycled(unsigned rounds, unsigned flood_writes);
bool data_made_table(unsigned rounds);
uint32_t wp_fault(struct cpu *c, uint32_t cr2, uint32_t err);

#endif
