#include "arch/x86/apic.h"
#include "arch/x86/cpu.h"
#include "arch/x86/desc.h"
#include "arch/x86/paging.h"
#include "arch/x86/tsc.h"
#include "kernel/compiler.h"
#include "kernel/panic.h"
#include "kernel/printk.h"

#define APIC_BASE_BSP		(1ull << 8)
#define APIC_BASE_EXTD		(1ull << 10)	/* x2APIC mode */
#define APIC_BASE_ENABLE	(1ull << 11)
#define APIC_BASE_ADDR_MASK	0x000ffffffffff000ull

enum apic_reg {
	APIC_ID = 0x20,
	APIC_TPR = 0x80,
	APIC_EOI = 0xb0,
	APIC_SVR = 0xf0,
	APIC_ESR = 0x280,
	APIC_ICR_LOW = 0x300,
	APIC_ICR_HIGH = 0x310,
	APIC_LVT_TIMER = 0x320,
	APIC_LVT_PERF = 0x340,
	APIC_LVT_LINT0 = 0x350,
	APIC_LVT_LINT1 = 0x360,
	APIC_LVT_ERROR = 0x370,
	APIC_TIMER_INIT = 0x380,
	APIC_TIMER_CURRENT = 0x390,
	APIC_TIMER_DIVIDE = 0x3e0,
};

#define X2APIC_MSR_BASE		0x800
#define X2APIC_MSR_ICR		0x830
#define SVR_ENABLE		(1u << 8)
#define LVT_MASKED		(1u << 16)
#define ICR_DELIVERY_PENDING	(1u << 12)
#define ICR_LEVEL_ASSERT	(1u << 14)
#define ICR_INIT		(5u << 8)
#define ICR_STARTUP		(6u << 8)

bool apic_x2apic_mode;
uint64_t apic_timer_ticks_per_ms;
static volatile uint32_t *xapic_regs;

static uint32_t apic_read(enum apic_reg reg)
{
	if (apic_x2apic_mode)
		return (uint32_t)rdmsr(X2APIC_MSR_BASE + (reg >> 4));
	return xapic_regs[reg / 4];
}

static void apic_write(enum apic_reg reg, uint32_t val)
{
	if (apic_x2apic_mode)
		wrmsr(X2APIC_MSR_BASE + (reg >> 4), val);
	else
		xapic_regs[reg / 4] = val;
}

/* Remap the 8259s away from the exception vectors, then mask them: a
 * stray legacy IRQ must not look like a #DF. */
static void pic_disable(void)
{
	outb(0x20, 0x11);
	outb(0xa0, 0x11);
	outb(0x21, VECTOR_PIC_BASE);
	outb(0xa1, VECTOR_PIC_BASE + 8);
	outb(0x21, 0x04);
	outb(0xa1, 0x02);
	outb(0x21, 0x01);
	outb(0xa1, 0x01);
	outb(0x21, 0xff);
	outb(0xa1, 0xff);
}

/* The tick only has to interrupt a running guest (virt/run.c). */
static void timer_tick(struct trap_frame *frame)
{
	(void)frame;
}

void apic_init_boot(uint64_t madt_lapic_addr)
{
	bool has_x2apic = cpuid(1).ecx & (1u << 21);
	uint64_t base = rdmsr(MSR_APIC_BASE) & APIC_BASE_ADDR_MASK;

	pic_disable();
	idt_set_handler(VECTOR_TIMER, timer_tick);
	apic_x2apic_mode = has_x2apic;
	if (!has_x2apic) {
		if (madt_lapic_addr && madt_lapic_addr != base)
			pr_warn("apic: MADT says the local APIC is at 0x%lx, "
				"the MSR says 0x%lx; using the MSR\n",
				(unsigned long)madt_lapic_addr,
				(unsigned long)base);
		xapic_regs = paging_map_mmio(base, PAGE_SIZE_4K);
	}
	pr_info("apic: %s mode%s\n", has_x2apic ? "x2APIC" : "xAPIC",
		has_x2apic ? "" : " (the CPU has no x2APIC)");
}

void apic_init_this_cpu(void)
{
	uint64_t base = rdmsr(MSR_APIC_BASE) | APIC_BASE_ENABLE;

	if (apic_x2apic_mode) {
		if (!(cpuid(1).ecx & (1u << 21)))
			panic("apic: this CPU has no x2APIC but the boot CPU "
			      "chose x2APIC mode");
		base |= APIC_BASE_EXTD;
	}
	wrmsr(MSR_APIC_BASE, base);
	apic_write(APIC_TPR, 0);
	apic_write(APIC_LVT_TIMER, LVT_MASKED | VECTOR_TIMER);
	apic_write(APIC_LVT_LINT0, LVT_MASKED);
	apic_write(APIC_LVT_LINT1, LVT_MASKED);
	apic_write(APIC_LVT_ERROR, LVT_MASKED);
	apic_write(APIC_SVR, SVR_ENABLE | VECTOR_SPURIOUS);
	if (!apic_x2apic_mode)
		apic_write(APIC_ESR, 0);
}

uint32_t apic_id(void)
{
	if (apic_x2apic_mode)
		return (uint32_t)rdmsr(X2APIC_MSR_BASE + (APIC_ID >> 4));
	return xapic_regs[APIC_ID / 4] >> 24;
}

void apic_eoi(void)
{
	apic_write(APIC_EOI, 0);
}

static void send_icr(uint32_t dest, uint32_t icr)
{
	if (apic_x2apic_mode) {
		wrmsr(X2APIC_MSR_ICR, ((uint64_t)dest << 32) | icr);
		return;
	}
	/* One ICR per CPU: callers hold interrupts off so an IPI sent
	 * from a handler cannot interleave with this write pair. */
	bool irq_was_on = irq_save();

	while (xapic_regs[APIC_ICR_LOW / 4] & ICR_DELIVERY_PENDING)
		cpu_relax();
	xapic_regs[APIC_ICR_HIGH / 4] = dest << 24;
	xapic_regs[APIC_ICR_LOW / 4] = icr;
	irq_restore(irq_was_on);
}

void apic_send_ipi(uint32_t dest_apic_id, uint8_t vector)
{
	send_icr(dest_apic_id, ICR_LEVEL_ASSERT | vector);
}

void apic_send_init(uint32_t dest_apic_id)
{
	send_icr(dest_apic_id, ICR_LEVEL_ASSERT | ICR_INIT);
}

void apic_send_sipi(uint32_t dest_apic_id, uint8_t page)
{
	send_icr(dest_apic_id, ICR_STARTUP | page);
}

void apic_timer_calibrate(void)
{
	uint64_t start;

	apic_write(APIC_TIMER_DIVIDE, 0x3);		/* divide by 16 */
	apic_write(APIC_LVT_TIMER, LVT_MASKED | VECTOR_TIMER);
	apic_write(APIC_TIMER_INIT, 0xffffffff);
	start = rdtsc();
	udelay(10000);
	uint32_t elapsed = 0xffffffff - apic_read(APIC_TIMER_CURRENT);
	uint64_t cycles = rdtsc() - start;
	apic_write(APIC_TIMER_INIT, 0);

	apic_timer_ticks_per_ms = cycles ? (uint64_t)elapsed * tsc_khz / cycles : 0;
	pr_info("apic: timer runs at %lu kHz (divide by 16), measured "
		"against the TSC\n", (unsigned long)apic_timer_ticks_per_ms);
}

#define LVT_TIMER_PERIODIC (1u << 17)

void apic_timer_periodic(unsigned ms)
{
	if (ms == 0) {
		apic_write(APIC_TIMER_INIT, 0);
		apic_write(APIC_LVT_TIMER, LVT_MASKED | VECTOR_TIMER);
		return;
	}
	apic_write(APIC_TIMER_DIVIDE, 0x3);
	apic_write(APIC_LVT_TIMER, LVT_TIMER_PERIODIC | VECTOR_TIMER);
	apic_write(APIC_TIMER_INIT, (uint32_t)MIN(apic_timer_ticks_per_ms * ms,
						   0xffffffffull));
}
