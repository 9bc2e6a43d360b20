#include "arch/x86/tsc.h"
#include "arch/x86/cpu.h"
#include "kernel/printk.h"

#define PIT_HZ		1193182ull
#define PIT_CH2_DATA	0x42
#define PIT_MODE	0x43
#define PIT_GATE	0x61	/* bit 0: channel 2 gate, bit 5: its output */
#define WINDOW_MS	10

uint64_t tsc_khz;

/* TSC cycles in one PIT window, or 0 if the PIT output never rose. */
static uint64_t measure_window(void)
{
	uint16_t count = PIT_HZ * WINDOW_MS / 1000;
	uint64_t start, end;
	unsigned spins = 0;

	outb(PIT_GATE, (inb(PIT_GATE) & ~0x02) | 0x01);	/* gate on, no beep */
	outb(PIT_MODE, 0xb0);	/* channel 2, lo/hi byte, mode 0, binary */
	outb(PIT_CH2_DATA, count & 0xff);
	outb(PIT_CH2_DATA, count >> 8);
	start = rdtsc();
	while (!(inb(PIT_GATE) & 0x20)) {
		if (++spins > 50000000)
			return 0;
	}
	end = rdtsc();
	return end - start;
}

void tsc_calibrate(void)
{
	uint64_t w[3];

	for (int i = 0; i < 3; i++)
		w[i] = measure_window();
	/* median of three */
	uint64_t lo = w[0] < w[1] ? w[0] : w[1];
	uint64_t hi = w[0] < w[1] ? w[1] : w[0];
	uint64_t mid = w[2] < lo ? lo : (w[2] > hi ? hi : w[2]);

	if (mid) {
		tsc_khz = mid / WINDOW_MS;
		pr_info("time: TSC runs at %lu.%03lu MHz (PIT calibration)\n",
			(unsigned long)(tsc_khz / 1000),
			(unsigned long)(tsc_khz % 1000));
		return;
	}
	if (cpuid(0).eax >= 0x16 && (cpuid(0x16).eax & 0xffff)) {
		tsc_khz = (uint64_t)(cpuid(0x16).eax & 0xffff) * 1000;
		pr_warn("time: the PIT does not count; TSC rate %lu MHz from "
			"CPUID 0x16\n", (unsigned long)(tsc_khz / 1000));
		return;
	}
	tsc_khz = 1000000;
	pr_warn("time: the PIT does not count and CPUID has no frequency; "
		"assuming a 1 GHz TSC (delays will be off)\n");
}

void udelay(uint64_t us)
{
	uint64_t end = rdtsc() + us * tsc_khz / 1000;

	while (rdtsc() < end)
		cpu_relax();
}

uint64_t tsc_to_ns(uint64_t cycles)
{
	return tsc_khz ? cycles * 1000000 / tsc_khz : cycles;
}
