/*
 * Starting the application processors.
 *
 * The boot CPU starts them one at a time: it fills the trampoline's
 * parameters (page tables, stack, per-CPU block), sends INIT, waits 10 ms,
 * sends a start-up IPI, waits 200 us, sends a second one if the CPU has
 * not yet shown up (the sequence of the SDM's MP initialisation protocol,
 * which the APM follows for xAPIC too), then waits for the CPU to mark
 * itself online. Only then are the parameters reused for the next CPU, so
 * no two CPUs can ever take the same stack.
 */
#include "smp/smp.h"
#include "arch/x86/apic.h"
#include "arch/x86/cpu.h"
#include "arch/x86/desc.h"
#include "arch/x86/paging.h"
#include "arch/x86/tsc.h"
#include "kernel/kmalloc.h"
#include "kernel/mm.h"
#include "kernel/panic.h"
#include "kernel/printk.h"
#include "kernel/string.h"
#include "smp/cpu_list.h"
#include "smp/percpu.h"
#include "virt/virt.h"

#define AP_STACK_PAGES		4
#define AP_START_TIMEOUT_US	200000

struct trampoline_params {
	uint32_t cr3;
	uint32_t efer;
	uint64_t stack;
	uint64_t percpu;
	uint64_t entry;
} __attribute__((packed));

extern const char trampoline_start[], trampoline_end[], trampoline_params[];

struct cpumask cpu_online_mask;
static struct trampoline_params *params;
static uint32_t phantom_apic_id = UINT32_MAX;

void smp_add_phantom_cpu(uint32_t apic_id)
{
	phantom_apic_id = apic_id;
}

/* A page below 1 MiB that the memory map calls usable and that holds no
 * module (GRUB-EFI puts modules down there). */
static uint64_t find_trampoline_page(const struct boot_info *bi)
{
	for (uint64_t pa = 0x1000; pa < 0x100000; pa += PAGE_SIZE) {
		bool usable = false, taken = false;

		for (unsigned i = 0; i < bi->memmap_count; i++)
			if (bi->memmap[i].type == MEM_USABLE &&
			    bi->memmap[i].base <= pa &&
			    pa + PAGE_SIZE <= bi->memmap[i].end)
				usable = true;
		for (unsigned i = 0; i < bi->module_count; i++)
			if (bi->modules[i].start < pa + PAGE_SIZE &&
			    pa < bi->modules[i].end)
				taken = true;
		if (usable && !taken)
			return pa;
	}
	return 0;
}

/* An identity map of the first 2 MiB (the upper half is added by
 * refresh_trampoline_tables): the
 * trampoline runs from low memory while paging turns on. CR3 is loaded in
 * 32-bit mode, so every table must lie below 4 GiB. */
static uint64_t build_trampoline_tables(void)
{
	uint64_t pml4_pa = alloc_frame(), pdpt_pa = alloc_frame();
	uint64_t pd_pa = alloc_frame();
	uint64_t *pml4 = phys_to_virt(pml4_pa);

	if (pml4_pa == FRAME_NONE || pdpt_pa == FRAME_NONE || pd_pa == FRAME_NONE)
		panic("smp: out of memory for the trampoline page tables");
	if (pml4_pa >= EARLY_MAP_LIMIT || pdpt_pa >= EARLY_MAP_LIMIT ||
	    pd_pa >= EARLY_MAP_LIMIT)
		panic("smp: trampoline page tables above 4 GiB");
	pml4[0] = pdpt_pa | 0x3;
	((uint64_t *)phys_to_virt(pdpt_pa))[0] = pd_pa | 0x3;
	((uint64_t *)phys_to_virt(pd_pa))[0] = 0x83;	/* 2 MiB at 0, RW */
	return pml4_pa;
}

/* The kernel's upper half, copied again before each start: the new CPU's
 * stack may sit under a PML4 entry made after the last copy. */
static void refresh_trampoline_tables(uint64_t pml4_pa)
{
	uint64_t *pml4 = phys_to_virt(pml4_pa);
	const uint64_t *kernel_pml4 = phys_to_virt(kernel_pml4_pa);

	for (unsigned i = 256; i < 512; i++)
		pml4[i] = kernel_pml4[i];
}

static struct percpu *new_percpu(unsigned cpu, uint32_t apic_id)
{
	struct percpu *p = kmalloc(sizeof(*p));

	if (!p || !(p->tables = kmalloc(sizeof(struct cpu_tables))))
		panic("smp: out of memory for CPU %u", cpu);
	p->cpu = cpu;
	p->apic_id = apic_id;
	p->stack_top = paging_alloc_stack(AP_STACK_PAGES);
	return p;
}

static bool wait_online(struct percpu *p, uint64_t us)
{
	uint64_t end = rdtsc() + us * tsc_khz / 1000;

	while (rdtsc() < end) {
		if (__atomic_load_n(&p->online, __ATOMIC_ACQUIRE))
			return true;
		cpu_relax();
	}
	return __atomic_load_n(&p->online, __ATOMIC_ACQUIRE);
}

static bool start_cpu(struct percpu *p, uint64_t tramp_pa)
{
	refresh_trampoline_tables(params->cr3);
	params->stack = p->stack_top;
	params->percpu = (uint64_t)p;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);

	apic_send_init(p->apic_id);
	udelay(10000);
	apic_send_sipi(p->apic_id, (uint8_t)(tramp_pa >> 12));
	udelay(200);
	if (!wait_online(p, 0)) {
		apic_send_sipi(p->apic_id, (uint8_t)(tramp_pa >> 12));
		if (!wait_online(p, AP_START_TIMEOUT_US)) {
			/* Park it: a late start would find the next CPU's
			 * parameters. */
			apic_send_init(p->apic_id);
			return false;
		}
	}
	return true;
}

unsigned smp_boot_cpus(const struct acpi_info *acpi, const struct boot_info *bi)
{
	static uint32_t apic_ids[MAX_CPUS];
	unsigned count = cpu_list_build(acpi, bsp_percpu.apic_id, apic_ids,
					MAX_CPUS);
	uint64_t tramp_pa = find_trampoline_page(bi);
	unsigned failed = 0;

	if (phantom_apic_id != UINT32_MAX && count < MAX_CPUS) {
		pr_info("smp: test: adding a CPU with APIC ID %u that does not "
			"exist\n", phantom_apic_id);
		apic_ids[count++] = phantom_apic_id;
	}

	bsp_percpu.online = true;
	cpumask_set(&cpu_online_mask, 0);
	cpus_online = 1;
	cpus_possible = count;
	if (count == 1) {
		pr_info("smp: 1 of 1 CPUs online\n");
		return 1;
	}
	if (!tramp_pa) {
		pr_err("smp: no free page below 1 MiB for the start-up code; "
		       "running on the boot CPU only\n");
		return 1;
	}
	memcpy(phys_to_virt(tramp_pa), trampoline_start,
	       (size_t)(trampoline_end - trampoline_start));
	params = (struct trampoline_params *)((char *)phys_to_virt(tramp_pa) +
					      (trampoline_params - trampoline_start));
	params->cr3 = (uint32_t)build_trampoline_tables();
	params->efer = (uint32_t)(EFER_LME | (rdmsr(MSR_EFER) & EFER_NXE));
	params->entry = (uint64_t)ap_entry;
	pr_info("smp: starting %u more CPUs (start-up code at 0x%lx)\n",
		count - 1, (unsigned long)tramp_pa);

	for (unsigned i = 1; i < count; i++) {
		struct percpu *p = new_percpu(cpus_online, apic_ids[i]);

		if (start_cpu(p, tramp_pa))
			continue;
		pr_err("smp: CPU with APIC ID %u did not answer INIT-SIPI-SIPI "
		       "within %u ms; continuing without it\n", p->apic_id,
		       AP_START_TIMEOUT_US / 1000);
		percpu_of[p->cpu] = NULL;
		failed++;
	}
	pr_info("smp: %u of %u CPUs online%s\n", cpus_online, count,
		failed ? " (see the errors above)" : "");
	return cpus_online;
}

/* Work posted by smp_run_on runs here with interrupts on; otherwise the
 * CPU sleeps until an interrupt. "sti; hlt" is atomic with respect to
 * interrupts: one arriving between the check and the halt wakes it. */
static __noreturn void idle_loop(struct percpu *self)
{
	for (;;) {
		irq_disable();
		void (*fn)(void *) = __atomic_load_n(&self->work_fn,
						     __ATOMIC_ACQUIRE);
		if (fn) {
			irq_enable();
			fn(self->work_arg);
			__atomic_store_n(&self->work_fn, NULL, __ATOMIC_RELEASE);
			__atomic_fetch_add(&self->work_done, 1, __ATOMIC_RELEASE);
			continue;
		}
		__asm__ volatile("sti; hlt" ::: "memory");
	}
}

void ap_entry(struct percpu *self)
{
	write_cr3(kernel_pml4_pa);	/* leave the trampoline's tables */
	if (cpu_has_pge())
		write_cr4(read_cr4() | CR4_PGE);
	cpu_tables_load(self->tables);	/* resets the GS base: first */
	percpu_install(self);
	idt_load();
	apic_init_this_cpu();
	if (apic_id() != self->apic_id)
		pr_warn("smp: cpu%u reports APIC ID %u, the MADT said %u\n",
			self->cpu, apic_id(), self->apic_id);
	virt_enable_this_cpu();

	cpumask_set(&cpu_online_mask, self->cpu);
	__atomic_fetch_add(&cpus_online, 1, __ATOMIC_SEQ_CST);
	__atomic_store_n(&self->online, true, __ATOMIC_RELEASE);
	idle_loop(self);
}

void smp_run_on(unsigned cpu, void (*fn)(void *), void *arg)
{
	struct percpu *p = percpu_of[cpu];

	BUG_ON(!p || cpu == this_cpu_id());
	smp_wait_work(cpu);
	p->work_arg = arg;
	__atomic_store_n(&p->work_fn, fn, __ATOMIC_RELEASE);
	apic_send_ipi(p->apic_id, VECTOR_CALL);	/* wakes it from hlt */
}

void smp_wait_work(unsigned cpu)
{
	struct percpu *p = percpu_of[cpu];

	while (__atomic_load_n(&p->work_fn, __ATOMIC_ACQUIRE))
		cpu_relax();
}
