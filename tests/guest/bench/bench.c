/* bench: what an exit costs. N times each (command line n=N, default
 * 2000): CPUID leaf 0, OUT to port 0x80, IN from COM1's LSR, and under the
 * hypervisor the NOP hypercall; each one timed alone with RDTSC. Prints
 * the median, mean and minimum in TSC cycles per operation, and RDTSC's
 * own cost, which is in every number.
 *
 * Under the hypervisor every one of these is an exit; on bare QEMU none is
 * (no hypercalls there: skipped), so the two runs together give the cost
 * of an exit against the instruction itself. The verdict is PASS if it
 * ran (and, under the hypervisor, the hypercall answered HC_OK).
 */
#include "tests/guest/lib/guest.h"
#include "tests/guest/lib/util.h"

const char guest_name[] = "bench";

#define DEFAULT_N	2000
#define MAX_N		20000
#define COM1_LSR	0x3fd

static uint32_t samples[MAX_N];
static uint32_t n;
static int32_t hc_result;

static void op_nothing(void)
{
}

static void op_cpuid(void)
{
	(void)cpuid(0, 0);
}

static void op_out80(void)
{
	outb(0x80, 0);
}

static void op_in_lsr(void)
{
	(void)inb(COM1_LSR);
}

static void op_hypercall(void)
{
	int32_t r = hypercall(HC_NOP, 0, 0, 0);

	if (r != HC_OK)
		hc_result = r;
}

static void measure(const char *name, void (*op)(void))
{
	uint64_t sum = 0;

	for (uint32_t i = 0; i < n; i++) {
		uint64_t t0 = rdtsc();

		op();
		samples[i] = (uint32_t)(rdtsc() - t0);
	}
	for (uint32_t i = 0; i < n; i++)
		sum += samples[i];
	sort_u32(samples, n);
	guest_printf("bench: %-14s median %6u  mean %6llu  min %6u cycles "
		     "(n=%u)\n", name, samples[n / 2], udiv64(sum, n, NULL),
		     samples[0], n);
}

bool guest_test(uint32_t magic, const struct mb1_info *info)
{
	uint64_t want = opt_u64("n", DEFAULT_N);

	(void)magic, (void)info;
	n = want < 1 ? 1 : want > MAX_N ? MAX_N : (uint32_t)want;
	guest_printf("bench: platform %s, %u of each, TSC cycles per "
		     "operation\n", platform_name(), n);
	measure("rdtsc alone", op_nothing);
	measure("cpuid 0", op_cpuid);
	measure("out 0x80", op_out80);
	measure("in COM1 LSR", op_in_lsr);
	if (hv_present()) {
		measure("hypercall NOP", op_hypercall);
		check(hc_result == HC_OK, "every NOP hypercall returned HC_OK");
	} else {
		guest_printf("bench: no hypervisor: hypercalls skipped\n");
	}
	guest_printf("bench: done\n");
	return boot.magic_ok;
}
