/*
 * ACPI at boot: find the RSDP (the multiboot2 copy, else the BIOS-area
 * scan), parse the tables, print the CPU table, and fall back to the boot
 * CPU alone when the tables are missing or broken.
 */
#include "arch/x86/acpi_boot.h"
#include "arch/x86/cpu.h"
#include "kernel/compiler.h"
#include "kernel/mm.h"
#include "kernel/printk.h"

static struct acpi_info acpi;

static const void *early_map(uint64_t pa, uint64_t len, void *ctx)
{
	(void)ctx;
	if (pa >= EARLY_MAP_LIMIT || len > EARLY_MAP_LIMIT - pa)
		return NULL;
	return phys_to_virt(pa);
}

static const struct phys_reader early_reader = { early_map, NULL };

uint32_t boot_cpu_apic_id(void)
{
	if (cpuid(0).eax >= 0xb && cpuid_count(0xb, 0).ebx != 0)
		return cpuid_count(0xb, 0).edx;	/* x2APIC ID */
	return cpuid(1).ebx >> 24;
}

static void fallback_to_boot_cpu(const char *why)
{
	pr_warn("ACPI: %s; running on the boot CPU only\n", why);
	acpi.cpu_count = 1;
	acpi.usable_cpu_count = 1;
	acpi.cpus[0] = (struct acpi_cpu){
		.apic_id = boot_cpu_apic_id(), .enabled = true,
	};
	acpi.have_madt = false;
}

static void print_cpu_table(void)
{
	uint32_t bsp = boot_cpu_apic_id();

	pr_info("CPU table: %u CPUs listed, %u usable\n", acpi.cpu_count,
		acpi.usable_cpu_count);
	for (unsigned i = 0; i < acpi.cpu_count; i++) {
		const struct acpi_cpu *c = &acpi.cpus[i];

		pr_info("  cpu%-3u APIC ID %-4u uid %-4u %-6s %s%s\n", i,
			c->apic_id, c->acpi_uid,
			c->x2apic_entry ? "x2APIC" : "xAPIC",
			c->enabled ? "enabled" :
			c->online_capable ? "online-capable" : "disabled",
			c->apic_id == bsp ? " (boot CPU)" : "");
	}
	for (unsigned i = 0; i < acpi.ioapic_count; i++)
		pr_info("  IOAPIC id %u at 0x%lx, GSI base %u\n",
			acpi.ioapics[i].id, (unsigned long)acpi.ioapics[i].addr,
			acpi.ioapics[i].gsi_base);
	if (acpi.have_madt)
		pr_info("  local APIC at 0x%lx%s\n",
			(unsigned long)acpi.lapic_addr,
			acpi.pcat_compat ? ", legacy 8259 PICs present" : "");
}

const struct acpi_info *acpi_boot_init(const struct boot_info *bi)
{
	const void *rsdp = NULL;
	uint32_t rsdp_len = 0;
	uint64_t rsdp_phys;
	int rc;

	if (bi->rsdp_len) {
		rsdp = bi->rsdp;
		rsdp_len = bi->rsdp_len;
		pr_info("ACPI: RSDP from the boot loader (multiboot2 tag)\n");
	} else if (acpi_find_rsdp_bios(&early_reader, &rsdp_phys) == ACPI_OK) {
		rsdp_len = 36;
		rsdp = early_map(rsdp_phys, rsdp_len, NULL);
	}
	if (!rsdp) {
		fallback_to_boot_cpu("no RSDP (the loader gave none and the "
				     "BIOS area has none)");
		print_cpu_table();
		return &acpi;
	}
	rc = acpi_parse(rsdp, rsdp_len, &early_reader, &acpi);
	if (rc != ACPI_OK)
		fallback_to_boot_cpu(acpi_strerror(rc));
	print_cpu_table();
	return &acpi;
}

unsigned acpi_table_ranges(const struct acpi_info *info,
			   struct mem_range *out, unsigned cap)
{
	unsigned n = 0;

	for (unsigned i = 0; i < info->table_count && n < cap; i++)
		out[n++] = (struct mem_range){
			info->tables[i].phys,
			info->tables[i].phys + info->tables[i].length,
			MEM_RESERVED,
		};
	return n;
}
