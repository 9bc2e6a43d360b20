#include "smp/cpu_list.h"
#include "kernel/printk.h"

static bool listed(const uint32_t *ids, unsigned n, uint32_t id)
{
	for (unsigned i = 0; i < n; i++)
		if (ids[i] == id)
			return true;
	return false;
}

unsigned cpu_list_build(const struct acpi_info *acpi, uint32_t boot_apic_id,
			uint32_t *apic_ids, unsigned cap)
{
	unsigned n = 0, left_out = 0;
	bool boot_in_madt = false;

	if (cap == 0)
		return 0;
	apic_ids[n++] = boot_apic_id;
	for (unsigned i = 0; i < acpi->cpu_count; i++) {
		const struct acpi_cpu *c = &acpi->cpus[i];

		if (c->apic_id == boot_apic_id) {
			boot_in_madt = true;
			continue;
		}
		if (!c->enabled && !c->online_capable)
			continue;
		if (listed(apic_ids, n, c->apic_id))
			continue;
		if (n == cap) {
			left_out++;
			continue;
		}
		apic_ids[n++] = c->apic_id;
	}
	if (acpi->cpu_count && !boot_in_madt)
		pr_warn("smp: the boot CPU (APIC ID %u) is not in the MADT; "
			"listing it anyway\n", boot_apic_id);
	if (left_out)
		pr_warn("smp: %u CPUs left out: at most %u are supported\n",
			left_out, cap);
	return n;
}
