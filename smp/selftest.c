/*
 * SMP self-tests and the IPI benchmark (test=ipi, bench=ipi).
 *
 * The ping test has every CPU kick every other CPU at the same time, from
 * its idle loop with interrupts on, and wait for each acknowledgement:
 * N * (N - 1) * rounds kicks in flight together exercise the kick
 * protocol's merged-IPI and crossing-kick cases.
 */
#include "smp/selftest.h"
#include "arch/x86/cpu.h"
#include "arch/x86/tsc.h"
#include "kernel/printk.h"
#include "kernel/sort.h"
#include "smp/percpu.h"
#include "smp/smp.h"
#include "smp/tlb.h"

#define PING_ROUNDS	50
#define BENCH_SAMPLES	2000

static uint64_t pings_acked[MAX_CPUS];

static void ping_all_others(void *arg)
{
	unsigned self = this_cpu_id(), rounds = (unsigned)(uintptr_t)arg, cpu;

	for (unsigned r = 0; r < rounds; r++) {
		for_each_cpu(cpu, &cpu_online_mask) {
			if (cpu == self)
				continue;
			kick_cpu_and_wait(cpu, 0);
			pings_acked[self]++;
		}
	}
}

static bool test_pings(void)
{
	unsigned n = cpus_online, cpu;
	uint64_t acks_before = kick_stats.acks_waited;
	bool ok = true;

	for_each_cpu(cpu, &cpu_online_mask) {
		pings_acked[cpu] = 0;
		if (cpu != this_cpu_id())
			smp_run_on(cpu, ping_all_others,
				   (void *)(uintptr_t)PING_ROUNDS);
	}
	ping_all_others((void *)(uintptr_t)PING_ROUNDS);
	for_each_cpu(cpu, &cpu_online_mask) {
		if (cpu != this_cpu_id())
			smp_wait_work(cpu);
		if (pings_acked[cpu] != (uint64_t)PING_ROUNDS * (n - 1))
			ok = false;
		pr_info("smp test: cpu%u pinged the other %u CPUs %u times: "
			"%lu acknowledged\n", cpu, n - 1, PING_ROUNDS,
			(unsigned long)pings_acked[cpu]);
	}
	uint64_t acks = kick_stats.acks_waited - acks_before;
	pr_info("smp test: pings: %u CPUs, %lu sent, %lu acknowledged: %s\n",
		n, (unsigned long)((uint64_t)n * (n - 1) * PING_ROUNDS),
		(unsigned long)acks, ok ? "PASS" : "FAIL");
	return ok && acks == (uint64_t)n * (n - 1) * PING_ROUNDS;
}

static void count_call(void *arg)
{
	__atomic_fetch_add((uint64_t *)arg, 1, __ATOMIC_SEQ_CST);
}

static bool test_call_function(void)
{
	uint64_t calls = 0;
	const unsigned rounds = 100;

	for (unsigned r = 0; r < rounds; r++)
		smp_call_function(&cpu_online_mask, count_call, &calls, true);
	bool ok = calls == (uint64_t)rounds * cpus_online;
	pr_info("smp test: call function on all %u CPUs x %u: %lu calls: %s\n",
		cpus_online, rounds, (unsigned long)calls, ok ? "PASS" : "FAIL");
	return ok;
}

static bool test_tlb_request(void)
{
	uint64_t before[MAX_CPUS];
	unsigned cpu;
	bool ok = true;

	for_each_cpu(cpu, &cpu_online_mask)
		before[cpu] = percpu_of[cpu]->tlb_flushes;
	kick_cpus_and_wait(&cpu_online_mask, CPU_REQ_TLB_FLUSH);
	for_each_cpu(cpu, &cpu_online_mask)
		if (percpu_of[cpu]->tlb_flushes != before[cpu] + 1)
			ok = false;
	pr_info("smp test: TLB flush request to all %u CPUs handled by each "
		"before the sender went on: %s\n", cpus_online,
		ok ? "PASS" : "FAIL");
	return ok;
}

bool smp_selftest(void)
{
	bool ok = true;

	ok &= test_pings();
	ok &= test_call_function();
	ok &= test_tlb_request();
	pr_info("smp test: IPI counters: %lu kick IPIs sent, %lu "
		"acknowledgements waited for\n",
		(unsigned long)kick_stats.ipis_sent,
		(unsigned long)kick_stats.acks_waited);
	return ok;
}

static uint64_t samples[BENCH_SAMPLES];

static uint64_t median_cycles_of(void (*op)(void))
{
	for (unsigned i = 0; i < BENCH_SAMPLES; i++) {
		uint64_t t0 = rdtsc();

		op();
		samples[i] = rdtsc() - t0;
	}
	return median_u64(samples, BENCH_SAMPLES);
}

static void round_trip_to_cpu1(void)
{
	kick_cpu_and_wait(1, 0);
}

static struct cpumask others;

static void kick_all_others(void)
{
	kick_cpus_and_wait(&others, 0);
}

static void local_request(void)
{
	kick_cpu_and_wait(this_cpu_id(), 0);
}

void smp_bench_ipi(void)
{
	unsigned cpu;

	if (cpus_online < 2) {
		pr_info("bench ipi: needs at least 2 CPUs online; skipped\n");
		return;
	}
	cpumask_clear(&others);
	for_each_cpu(cpu, &cpu_online_mask)
		if (cpu != this_cpu_id())
			cpumask_set(&others, cpu);

	uint64_t local = median_cycles_of(local_request);
	uint64_t one = median_cycles_of(round_trip_to_cpu1);
	uint64_t all = median_cycles_of(kick_all_others);

	pr_info("bench ipi: %u samples each, medians in TSC cycles (%lu MHz)\n",
		BENCH_SAMPLES, (unsigned long)(tsc_khz / 1000));
	pr_info("bench ipi: request handled locally (no IPI):   %8lu cycles\n",
		(unsigned long)local);
	pr_info("bench ipi: round trip cpu0 -> cpu1 -> ack:      %8lu cycles "
		"(%lu ns)\n", (unsigned long)one,
		(unsigned long)tsc_to_ns(one));
	pr_info("bench ipi: kick-and-wait of %u other CPUs:       %8lu cycles "
		"(%lu ns)\n", cpus_online - 1, (unsigned long)all,
		(unsigned long)tsc_to_ns(all));
	pr_info("bench ipi: kick-all / round trip = %lu.%02lu; round trip / "
		"local = %lu\n", (unsigned long)(all / one),
		(unsigned long)(all * 100 / one % 100),
		(unsigned long)(local ? one / local : 0));
}
