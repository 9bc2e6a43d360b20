/*
 * smpmmu: the MMU with several vCPUs on one address space, as threads of
 * one process: every vCPU in long mode on the same CR3, changing entries
 * the others use, with a guest-level TLB shootdown (a generation counter
 * in shared memory, INVLPG or a CR3 load on each vCPU, an acknowledgement;
 * guests cannot send IPIs: there is no virtual local APIC).
 *
 *   1. remap under readers: vCPU 0 points a shared PTE at another page;
 *      after the shootdown no vCPU may read the old page;
 *   2. write protection under writers: vCPU 0 clears R/W under vCPUs that
 *      write the page all the time; after the shootdown no write lands,
 *      and each writer's next write faults with error code 0x3;
 *   3. concurrent PTE writes: each vCPU remaps its own entries of one
 *      shared table page and reads its frames back, A and D in each PTE
 *      after a write; and all vCPUs toggle their own ignored bit in the
 *      same entries with LOCK BTS/BTR/BTC while reading and writing
 *      through them: no A/D update lost, no bit lost;
 *   4. a table page recycled as data (a write flood) while the others
 *      work through the directory's other tables; and a data page made a
 *      table while another vCPU writes it through an alias (a shadow MMU
 *      must take that alias's writable translation away from the other
 *      vCPU's TLB: a shootdown the guest does not do itself).
 *
 * Under the hypervisor with mmu=shadow each of these is a path where the
 * shadow MMU must flush the other vCPUs' TLBs (virt/shadow_vm.c
 * flush_remote_tlbs), emulate page-table writes atomically, or sync an
 * unsync table page at the right time. With mmu=tdp the CPU does it all
 * and the guest checks the same rules.
 *
 * The vCPU count is CPUID.1:EBX[23:16] under the hypervisor (module option
 * vcpus=N, at most 8, cpus= on the command line lowers it). Bare QEMU has
 * no HC_START_VCPU (starting APs there would need INIT-SIPI through the
 * local APIC, and tests/run/guests-bare.sh boots one CPU anyway): the
 * guest runs on one CPU and each scenario makes its single-CPU checks.
 *
 * Options: seed=N; n=N scales every count (default 128): remaps=,
 * wprounds=, ptwrites=, adrounds=, recycles=, flood=, aliasrounds= set one;
 * only=DIGITS runs some of the six parts (1 remap, 2 write protection,
 * 3 PTE writes, 4 A/D and ignored bits, 5 recycled table, 6 data made a
 * table); cpus=N uses fewer vCPUs; cli keeps EFLAGS.IF = 0 under the
 * hypervisor (smp.c says why it is set).
 */
#include "tests/guest/smpmmu/smpmmu.h"

const char guest_name[] = "smpmmu";

/* With mmu=shadow about 12 s in QEMU TCG -smp 4 on two host cores (each
 * shootdown waits for the other vCPUs' host threads to be scheduled:
 * three times that on a busy host), 12 s in Bochs with 2 CPUs. */
#define N_DEFAULT	128

static unsigned scaled(const char *key, uint64_t n, uint64_t num,
		       uint64_t den, unsigned min)
{
	uint64_t v = opt_u64(key, 0);

	if (v)
		return (unsigned)v;
	v = udiv64(n * num, (uint32_t)den, NULL);
	return v < min ? min : (unsigned)v;
}

static bool recycle_part(unsigned rounds)
{
	uint64_t n = opt_u64("n", N_DEFAULT);

	return table_recycled(rounds, (unsigned)opt_u64("flood", n < 32 ? 1024
							: n * 32));
}

/* The parts in order; only=LIST (digits 1-6) runs some of them. */
static const struct {
	const char *key;
	bool (*run)(unsigned count);
	unsigned num, den, min;
} parts[] = {
	{ "remaps", remap_under_readers, 1, 1, 4 },
	{ "wprounds", wp_under_writers, 1, 2, 2 },
	{ "ptwrites", concurrent_pte_writes, 1, 1, 4 },
	{ "adrounds", ad_and_avl_bits, 1, 16, 2 },
	{ "recycles", recycle_part, 1, 32, 2 },
	{ "aliasrounds", data_made_table, 1, 1, 2 },
};

static unsigned only_mask(void)
{
	char buf[16];
	unsigned mask = 0;

	if (!opt_get("only", buf, sizeof(buf)))
		return 0;
	for (char *p = buf; *p; p++)
		if (*p >= '1' && *p <= '6')
			mask |= 1u << (*p - '0');
	return mask;
}

static unsigned vcpu_count(void)
{
	unsigned n = cpuid(1, 0).ebx >> 16 & 0xff, cap = opt_u64("cpus", 0);

	if (n == 0)
		n = 1;
	if (n > MAX_CPUS)
		n = MAX_CPUS;
	if (cap && cap < n)
		n = cap;
	return n;
}

bool guest_test(uint32_t magic, const struct mb1_info *info)
{
	struct page_table pt;
	struct pte_ref ref;
	uint64_t n = opt_u64("n", N_DEFAULT), seed = opt_u64("seed", 1);
	unsigned want = hv_present() ? vcpu_count() : 1;
	bool ok = true;
	unsigned only = only_mask();
	uint64_t times[ARRAY_SIZE(parts)] = { 0 };

	(void)magic;
	(void)info;
	guest_printf("smpmmu: seed %u, n=%u, platform %s\n", (unsigned)seed,
		     (unsigned)n, platform_name());
	for (unsigned i = 0; i < MAX_CPUS; i++)
		cpus[i].rng = (uint32_t)seed * 2654435761u + i * 40503u + 1;

	pt_pool_set(PT_POOL_BASE, PT_POOL_PAGES);
	if (!check(pt_init(&pt, PAGING_LONG) &&
		   pt_map_range(&pt, 0, 0, IDENTITY_END, PAGE_2M, PTE_P | PTE_W) &&
		   pt_entry(&pt, WIN_BASE, 3, &ref),
		   "long mode tables: identity map of 0-%u MiB in 2M pages",
		   IDENTITY_END >> 20))
		return false;
	pd_win = frame_alloc();
	pte_set(&ref, pd_win | PTE_P | PTE_W);
	paging_enter(&pt, PAGING_WP);
	keep_if_clear = opt_present("cli");
	if (!check(smp_init(pt.root), "per-vCPU IDTs with the #PF handler"))
		return false;

	if (want > 1) {
		ok = check(smp_start(want), "vCPUs 1-%u started by HC_START_VCPU, "
			   "each in long mode on CR3 0x%x", want - 1, pt.root);
		if (!ok)
			return false;
	} else if (!hv_present()) {
		guest_printf("smpmmu: one CPU: skipped: no hypervisor to start "
			     "vCPUs (bare: no INIT-SIPI here); the single-CPU "
			     "part of each scenario runs\n");
	} else {
		guest_printf("smpmmu: one vCPU (vcpus=1): the single-CPU part of "
			     "each scenario runs\n");
	}
	guest_printf("smpmmu: %u vCPU%s on one address space\n", ncpus,
		     ncpus == 1 ? "" : "s");
	scenarios_init();

	for (unsigned k = 0; k < ARRAY_SIZE(parts); k++) {
		uint64_t t0;

		if (only && !(only >> (k + 1) & 1))
			continue;
		abort_all = 0;		/* an error ends only its part */
		t0 = rdtsc();
		ok &= parts[k].run(scaled(parts[k].key, n, parts[k].num,
					  parts[k].den, parts[k].min));
		times[k] = rdtsc() - t0;
	}
	guest_printf("smpmmu: TSC kcycles per part:");
	for (unsigned k = 0; k < ARRAY_SIZE(parts); k++)
		guest_printf(" %s=%u", parts[k].key,
			     (unsigned)udiv64(times[k], 1000, NULL));
	guest_printf("\n");

	run_job(NULL, NULL);		/* the other vCPUs stop (HLT) */
	return ok;
}
