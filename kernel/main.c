/*
 * Boot sequence of the boot CPU. Order matters:
 *  1. descriptor tables, so any fault from here on is reported;
 *  2. boot information, then the command line (it names the console);
 *  3. the console, which replays what was logged before it existed;
 *  4. ACPI (under the boot page tables, which map 0-4 GiB) and the frame
 *     allocator, which keeps out of everything found so far;
 *  5. the final page tables, the heap;
 *  6. hardware virtualization (VMX or SVM) on, or a clean stop saying why;
 *  7. the work.
 */
#include <stdint.h>
#include "arch/x86/acpi_boot.h"
#include "arch/x86/apic.h"
#include "arch/x86/tsc.h"
#include "arch/x86/cpu.h"
#include "arch/x86/desc.h"
#include "arch/x86/platform.h"
#include "drivers/serial/uart16550.h"
#include "kernel/bootinfo.h"
#include "kernel/cmdline.h"
#include "kernel/console.h"
#include "kernel/kmalloc.h"
#include "kernel/mm.h"
#include "kernel/printk.h"
#include "kernel/selftest.h"
#include "kernel/string.h"
#include "smp/percpu.h"
#include "smp/selftest.h"
#include "smp/smp.h"
#include "smp/tlb.h"
#include "virt/run.h"
#include "virt/virt.h"

#define HV_VERSION "0.1"
#define HV_BANNER "hv " HV_VERSION ": x86_64 hypervisor"

void kmain(uint32_t magic, uint32_t info_phys);

static struct cpu_tables bsp_tables;
static struct boot_info boot_info;
static struct cmdline_opts opts;

static const void *early_map(uint64_t pa, uint64_t len, void *ctx)
{
	(void)ctx;
	if (pa >= EARLY_MAP_LIMIT || len > EARLY_MAP_LIMIT - pa)
		return NULL;
	return phys_to_virt(pa);
}

static void start_console(void)
{
	if (console_init(opts.serial_port, opts.serial_baud, opts.loglevel))
		return;
	console_init(UART_DEFAULT_PORT, UART_DEFAULT_BAUD, opts.loglevel);
	pr_warn("console: no UART answers at port 0x%x; using 0x%x\n",
		opts.serial_port, UART_DEFAULT_PORT);
}

static void print_memory_map(void)
{
	pr_info("memory map (%u ranges%s):\n", boot_info.memmap_count,
		boot_info.memmap_from_basic ? ", from mem_lower/mem_upper" : "");
	for (unsigned i = 0; i < boot_info.memmap_count; i++) {
		const struct mem_range *r = &boot_info.memmap[i];

		pr_info("  [%016lx-%016lx) %-13s %8lu KiB\n",
			(unsigned long)r->base, (unsigned long)r->end,
			mem_type_name(r->type),
			(unsigned long)((r->end - r->base) >> 10));
	}
	pr_info("  usable: %lu MiB\n",
		(unsigned long)(memmap_total(boot_info.memmap,
					     boot_info.memmap_count,
					     MEM_USABLE) >> 20));
}

static void print_modules(void)
{
	pr_info("modules: %u\n", boot_info.module_count);
	for (unsigned i = 0; i < boot_info.module_count; i++) {
		const struct boot_module *m = &boot_info.modules[i];

		pr_info("  module %u: [%08lx-%08lx) %lu bytes, '%s'\n", i,
			(unsigned long)m->start, (unsigned long)m->end,
			(unsigned long)(m->end - m->start), m->cmdline);
	}
}

void kmain(uint32_t magic, uint32_t info_phys)
{
	const struct phys_reader reader = { early_map, NULL };
	const struct acpi_info *acpi;
	struct mem_range acpi_ranges[ACPI_MAX_TABLES];
	unsigned acpi_range_count;
	int rc;

	/* Tables first: loading the GS selector resets the GS base. */
	cpu_tables_load(&bsp_tables);
	bsp_percpu.tables = &bsp_tables;
	percpu_install(&bsp_percpu);
	bsp_percpu.apic_id = boot_cpu_apic_id();
	idt_init();
	idt_load();
	/* First line in the log: runners cut firmware and loader text here. */
	pr_info("\n" HV_BANNER "\n");

	rc = bootinfo_parse(magic, info_phys, &reader, &boot_info);
	cmdline_defaults(&opts);
	if (rc == BOOTINFO_OK)
		cmdline_parse(boot_info.cmdline, &opts);
	start_console();
	machine_set_exit_mode(opts.exit_mode);

	pr_info("booted by %s (multiboot%d)\n",
		boot_info.loader_name[0] ? boot_info.loader_name : "a loader",
		boot_info.protocol);
	if (rc != BOOTINFO_OK) {
		pr_err("hv: cannot use the boot information: %s; stopping\n",
		       bootinfo_strerror(rc));
		machine_exit(false);
	}
	pr_info("command line: '%s'\n", boot_info.cmdline);
	if (boot_info.warnings)
		pr_warn("boot information: %u problems, worked around "
			"(see above)\n", boot_info.warnings);
	print_memory_map();
	print_modules();

	acpi = acpi_boot_init(&boot_info);
	acpi_range_count = acpi_table_ranges(acpi, acpi_ranges,
					     ARRAY_SIZE(acpi_ranges));
	mm_init(&boot_info, acpi_ranges, acpi_range_count);
	paging_init();
	/* Stops the machine with the reason if it cannot virtualize. */
	virt_init();
	if (!virt_enable_this_cpu()) {
		pr_err("hv: the boot CPU cannot run guests; stopping\n");
		machine_exit(false);
	}

	tsc_calibrate();
	apic_init_boot(acpi->lapic_addr);
	apic_init_this_cpu();
	bsp_percpu.apic_id = apic_id();
	apic_timer_calibrate();
	smp_call_init();
	smp_kick_init();
	irq_enable();
	printk_enable_cpu_prefix();
	if (!strcmp(opts.test, "phantom-cpu"))
		smp_add_phantom_cpu(0xfe);
	smp_boot_cpus(acpi, &boot_info);

	if (opts.bench[0]) {
		if (!strcmp(opts.bench, "ipi")) {
			smp_bench_ipi();
		} else {
			pr_err("bench: unknown benchmark '%s' (known: ipi)\n",
			       opts.bench);
			machine_exit(false);
		}
	}
	if (opts.test[0]) {
		bool ok = selftest_run(opts.test);

		pr_info("selftest %s: %s\n", opts.test, ok ? "PASS" : "FAIL");
		machine_exit(ok);
	}
	pr_info("hv: boot complete\n");
	if (boot_info.module_count) {
		guest_timeout_s = opts.guest_timeout_s;
		machine_exit(run_guests(&boot_info));
	}
	machine_exit(true);
}
