/*
 * The shadow MMU with concurrent vCPUs, under ThreadSanitizer: the lock
 * rules of docs/locking.md. Four vCPU threads run on one MMU, each in its
 * own address space over shared guest page tables: they fault (reads,
 * writes, MMIO with RSVD so the lockless MMIO walk runs), write guest page
 * table entries (emulated through shadow_guest_walk and
 * shadow_guest_pte_written, or straight into RAM when the MMU does not
 * write-protect the table: unsync pages), INVLPG, reload CR3 and check
 * their roots as a backend does before each entry. A fifth thread zaps
 * everything and bumps the memslot generation now and then.
 *
 * flush_remote_tlbs implements the grace period for real: each vCPU counts
 * its lockless walks with a sequence number (odd while inside one), and the
 * flush waits until no vCPU is inside a walk that began before it. So a
 * table page freed after the flush is one no walker can still read, and
 * TSan (with the allocator's reuse) catches any walk that could.
 *
 * Afterwards: shadow_audit finds nothing, and destroying everything frees
 * every table page. No result is compared with a reference here: the
 * property test (test_shadow_prop) does that, single-threaded.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "mmu/shadow.h"
#include "tests/host/mmu_platform_host.h"

#define NVCPUS		4
#define ITERATIONS	40000
#define RAM_PAGES	512		/* 2 MiB at gpa 0 */
#define TABLE		(GPTE_P | GPTE_RW | GPTE_US | GPTE_A)
#define LEAF		(TABLE | GPTE_D)
#define CR0_PE		(1ull << 0)
#define EFER_LME	(1ull << 8)

/* Guest layout: PML4 at gfn 1 + i for vCPU i (entry 0 -> PDPT 8), PDPT 8
 * -> PD 9, PD 9 entries 0..59 -> PTs 16..75 (more shadow pages than the
 * cap: reclaim), PT entries map data pages 80.., the tables themselves
 * (writes through them are emulated or make a PT unsync) or MMIO (gfn
 * 0x900..). */
#define PDPT_GFN	8
#define PD_GFN		9
#define PT_GFN		16
#define NPT		60

static struct {
	struct memslots slots;
	uint8_t *ram;
	struct shadow_mmu mmu;
	struct shadow_ops ops;
	struct shadow_vcpu vcpu[NVCPUS];
	uint64_t walk_seq[NVCPUS];
	int stop;
	uint64_t flushes;
} m;

static uint64_t *ram64(uint64_t gpa)
{
	return (uint64_t *)(m.ram + gpa);
}

static void guest_store(uint64_t gpa, uint64_t value)
{
	__atomic_store_n(ram64(gpa), value, __ATOMIC_SEQ_CST);
}

/* ---- ops: the grace period ------------------------------------------------ */

static void flush_remote(void *vm_ctx)
{
	uint64_t seen[NVCPUS];

	(void)vm_ctx;
	__atomic_fetch_add(&m.flushes, 1, __ATOMIC_RELAXED);
	for (unsigned i = 0; i < NVCPUS; i++)
		seen[i] = __atomic_load_n(&m.walk_seq[i], __ATOMIC_SEQ_CST);
	for (unsigned i = 0; i < NVCPUS; i++)
		if (seen[i] & 1)
			while (__atomic_load_n(&m.walk_seq[i],
					       __ATOMIC_SEQ_CST) == seen[i])
				;
}

static void walk_begin(void *vcpu_ctx)
{
	__atomic_fetch_add((uint64_t *)vcpu_ctx, 1, __ATOMIC_SEQ_CST);
}

static void walk_end(void *vcpu_ctx)
{
	__atomic_fetch_add((uint64_t *)vcpu_ctx, 1, __ATOMIC_SEQ_CST);
}

/* ---- setup ---------------------------------------------------------------- */

static uint64_t rnd(uint64_t *state)
{
	*state ^= *state >> 12;
	*state ^= *state << 25;
	*state ^= *state >> 27;
	return *state * 0x2545f4914f6cdd1dull;
}

static uint64_t random_pte(uint64_t *state)
{
	uint64_t r = rnd(state);

	if (r % 20 < 2)
		return (0x900ull + r % 16) << 12 | LEAF;	/* MMIO */
	if (r % 20 < 4)
		return (PT_GFN + (r >> 8) % NPT) << 12 | LEAF;	/* a PT */
	if (r % 20 == 4)
		return ((r & 0x200 ? PD_GFN : PDPT_GFN) << 12) | LEAF;
	return (80 + (r >> 8) % (RAM_PAGES - 80)) << 12 |
	       (r & 0x100 ? LEAF : TABLE);
}

static void setup(void)
{
	struct shadow_config cfg = {
		.max_pages = SHADOW_MIN_PAGES, .guest_maxphyaddr = 40,
		.host_maxphyaddr = 48, .unsync = true,
	};
	struct memslot *slot = &m.slots.slot[0];
	uint64_t seed = 0x1234567;

	memset(&m, 0, sizeof(m));
	m.ram = aligned_alloc(2 << 20, RAM_PAGES * 4096);
	memset(m.ram, 0, RAM_PAGES * 4096);
	slot->base_gfn = 0;
	slot->npages = RAM_PAGES;
	slot->hpa = calloc(RAM_PAGES, sizeof(uint64_t));
	slot->large_ok = calloc(memslot_chunk_count(slot), 1);
	for (unsigned i = 0; i < RAM_PAGES; i++)
		slot->hpa[i] = (uint64_t)(uintptr_t)(m.ram + i * 4096);
	memslot_compute_large(slot);
	m.slots.count = 1;
	m.slots.generation = 2;
	for (unsigned i = 0; i < NVCPUS; i++)
		guest_store((1ull + i) << 12, PDPT_GFN << 12 | TABLE);
	guest_store(PDPT_GFN << 12, PD_GFN << 12 | TABLE);
	for (unsigned t = 0; t < NPT; t++) {
		guest_store((PD_GFN << 12) + 8 * t, (PT_GFN + t) << 12 | TABLE);
		for (unsigned e = 0; e < 16; e++)
			guest_store(((PT_GFN + t) << 12) + 8 * e,
				    random_pte(&seed));
	}
	m.ops = (struct shadow_ops){
		.flush_remote_tlbs = flush_remote,
		.lockless_begin = walk_begin, .lockless_end = walk_end,
	};
	assert_true(shadow_mmu_init(&m.mmu, &m.slots, &m.ops, NULL, &cfg));
	for (unsigned i = 0; i < NVCPUS; i++) {
		struct shadow_vcpu *v = &m.vcpu[i];

		assert_true(shadow_vcpu_init(v, &m.mmu, &m.walk_seq[i]));
		assert_int_equal(shadow_new_cr3(v, (1ull + i) << 12),
				 SHADOW_CR_OK);
		assert_int_equal(shadow_set_cr(v, CR0_PE | GUEST_CR0_PG |
					       GUEST_CR0_WP, GUEST_CR4_PAE,
					       EFER_LME | GUEST_EFER_LMA),
				 SHADOW_CR_OK);
	}
}

/* ---- the threads ---------------------------------------------------------- */

/* A guest store the way the hypervisor sees it: emulated if the MMU
 * write-protects the table, else straight into RAM (an unsync page). */
static void table_store(uint64_t gpa, uint64_t value)
{
	if (shadow_gfn_write_protected(&m.mmu, gpa >> 12)) {
		guest_store(gpa, value);
		shadow_guest_pte_written(&m.mmu, gpa, 8);
	} else {
		guest_store(gpa, value);
	}
}

static void fault(struct shadow_vcpu *v, uint64_t gva, uint32_t ec,
		  uint64_t *state)
{
	struct shadow_fault f;
	struct guest_walk w;

	assert_int_equal(shadow_vcpu_load_root(v), SHADOW_CR_OK);
	shadow_page_fault(v, gva, ec, 0, &f);
	/* (MEM_ERROR is possible: stores into the PD make tables of MMIO.) */
	assert_true(f.result != SHADOW_FAULT_NOMEM);
	if (f.result != SHADOW_FAULT_EMULATE)
		return;
	/* The emulator: walk again, store, tell the MMU. */
	if (shadow_guest_walk(v, gva, ACCESS_WRITE, &w) == WALK_OK &&
	    w.gpa < RAM_PAGES * 4096ull) {
		guest_store(w.gpa & ~7ull, random_pte(state));
		shadow_guest_pte_written(&m.mmu, w.gpa & ~7ull, 8);
	}
}

static void *vcpu_thread(void *arg)
{
	unsigned id = (unsigned)(uintptr_t)arg;
	struct shadow_vcpu *v = &m.vcpu[id];
	uint64_t state = 0x9e3779b97f4a7c15ull * (id + 1);

	for (unsigned n = 0; n < ITERATIONS; n++) {
		uint64_t r = rnd(&state);
		uint64_t gva = (r >> 8) % NPT << 21 | (r >> 16) % 16 << 12 |
			       (r >> 24) % 512 * 8;

		switch (r % 16) {
		case 0: case 1: case 2: case 3: case 4:
			fault(v, gva, 0, &state);
			break;
		case 5: case 6: case 7:
			fault(v, gva, PFERR_WRITE | PFERR_PRESENT, &state);
			break;
		case 8: case 9:
			/* As if the spte were an MMIO spte: RSVD. */
			fault(v, gva, PFERR_RSVD | PFERR_PRESENT, &state);
			break;
		case 10: case 11:
			table_store(((PT_GFN + (r >> 8) % NPT) << 12) +
				    (r >> 16) % 16 * 8, random_pte(&state));
			break;
		case 12:
			shadow_invlpg(v, gva);
			break;
		case 13:
			assert_int_equal(shadow_new_cr3(v, (1ull + (r >> 8) %
							     NVCPUS) << 12),
					 SHADOW_CR_OK);
			break;
		default:
			assert_int_equal(shadow_vcpu_load_root(v),
					 SHADOW_CR_OK);
			break;
		}
	}
	return NULL;
}

static void *hypervisor_thread(void *arg)
{
	(void)arg;
	for (unsigned n = 0; !__atomic_load_n(&m.stop, __ATOMIC_ACQUIRE);
	     n++) {
		if (n % 3 == 0) {
			shadow_zap_all(&m.mmu);
		} else {
			__atomic_fetch_add(&m.slots.generation, 2,
					   __ATOMIC_SEQ_CST);
			shadow_memslots_changed(&m.mmu, false);
		}
		for (volatile unsigned spin = 0; spin < 200000; spin++)
			;
	}
	return NULL;
}

static void test_concurrent_vcpus(void **state)
{
	pthread_t vcpus[NVCPUS], hv;
	struct shadow_stats st;
	char msg[256];
	long tables_before = mmu_host_live_tables();

	(void)state;
	setup();
	assert_int_equal(pthread_create(&hv, NULL, hypervisor_thread, NULL),
			 0);
	for (unsigned i = 0; i < NVCPUS; i++)
		assert_int_equal(pthread_create(&vcpus[i], NULL, vcpu_thread,
						(void *)(uintptr_t)i), 0);
	for (unsigned i = 0; i < NVCPUS; i++)
		pthread_join(vcpus[i], NULL);
	__atomic_store_n(&m.stop, 1, __ATOMIC_RELEASE);
	pthread_join(hv, NULL);

	if (shadow_audit(&m.mmu, msg, sizeof(msg)))
		fail_msg("audit: %s", msg);
	shadow_mmu_get_stats(&m.mmu, &st);
	print_message("  %llu faults (%llu fixed, %llu emulated, %llu MMIO, "
		      "%llu fast), %llu unsynced, %llu synced, %llu zap-all, "
		      "%llu reclaimed, %llu remote flushes\n",
		      (unsigned long long)st.faults,
		      (unsigned long long)st.fixed,
		      (unsigned long long)st.emulated,
		      (unsigned long long)st.mmio,
		      (unsigned long long)st.mmio_fast,
		      (unsigned long long)st.unsynced,
		      (unsigned long long)st.synced,
		      (unsigned long long)st.zap_all,
		      (unsigned long long)st.reclaimed,
		      (unsigned long long)st.remote_flushes);
	assert_true(st.mmio_fast > 0 && st.unsynced > 0 && st.zap_all > 0);
	for (unsigned i = 0; i < NVCPUS; i++)
		shadow_vcpu_destroy(&m.vcpu[i]);
	shadow_mmu_destroy(&m.mmu);
	assert_int_equal(mmu_host_live_tables(), tables_before);
	free(m.slots.slot[0].hpa);
	free(m.slots.slot[0].large_ok);
	free(m.ram);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_concurrent_vcpus),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
