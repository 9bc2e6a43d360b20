/* MADT CPU entries to the list of CPUs to start (smp/cpu_list.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include "smp/cpu_list.h"
#include "tests/host/capture.h"

static struct acpi_info acpi;

static void add_cpu(uint32_t apic_id, bool enabled, bool online_capable)
{
	acpi.cpus[acpi.cpu_count++] = (struct acpi_cpu){
		.apic_id = apic_id, .enabled = enabled,
		.online_capable = online_capable,
	};
}

static int setup(void **state)
{
	(void)state;
	memset(&acpi, 0, sizeof(acpi));
	capture_reset();
	return 0;
}

static void test_boot_cpu_first_then_madt_order(void **state)
{
	uint32_t ids[8];

	(void)state;
	add_cpu(0, true, false);
	add_cpu(1, true, false);
	add_cpu(2, true, false);
	add_cpu(3, true, false);
	assert_int_equal(cpu_list_build(&acpi, 2, ids, 8), 4);
	assert_int_equal(ids[0], 2);
	assert_int_equal(ids[1], 0);
	assert_int_equal(ids[2], 1);
	assert_int_equal(ids[3], 3);
	assert_false(capture_contains("WARNING"));
}

static void test_disabled_skipped_online_capable_kept(void **state)
{
	uint32_t ids[8];

	(void)state;
	add_cpu(0, true, false);
	add_cpu(4, false, false);	/* disabled, not online-capable */
	add_cpu(6, false, true);	/* hot-pluggable: may be started */
	assert_int_equal(cpu_list_build(&acpi, 0, ids, 8), 2);
	assert_int_equal(ids[1], 6);
}

static void test_duplicates_listed_once(void **state)
{
	uint32_t ids[8];

	(void)state;
	add_cpu(0, true, false);
	add_cpu(1, true, false);
	add_cpu(1, true, false);
	add_cpu(0, true, false);
	assert_int_equal(cpu_list_build(&acpi, 0, ids, 8), 2);
}

static void test_boot_cpu_missing_from_madt(void **state)
{
	uint32_t ids[8];

	(void)state;
	add_cpu(1, true, false);
	assert_int_equal(cpu_list_build(&acpi, 7, ids, 8), 2);
	assert_int_equal(ids[0], 7);
	assert_true(capture_contains("boot CPU (APIC ID 7) is not in the MADT"));
}

static void test_no_madt_cpus_gives_boot_cpu(void **state)
{
	uint32_t ids[8];

	(void)state;
	assert_int_equal(cpu_list_build(&acpi, 3, ids, 8), 1);
	assert_int_equal(ids[0], 3);
	assert_false(capture_contains("not in the MADT"));
}

static void test_cap_reports_left_out(void **state)
{
	uint32_t ids[4];

	(void)state;
	for (uint32_t i = 0; i < 10; i++)
		add_cpu(i, true, false);
	assert_int_equal(cpu_list_build(&acpi, 0, ids, 4), 4);
	assert_true(capture_contains("6 CPUs left out: at most 4"));
}

static void test_x2apic_ids(void **state)
{
	uint32_t ids[4];

	(void)state;
	add_cpu(0, true, false);
	add_cpu(300, true, false);	/* only an x2APIC can address it */
	assert_int_equal(cpu_list_build(&acpi, 0, ids, 4), 2);
	assert_int_equal(ids[1], 300);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_boot_cpu_first_then_madt_order, setup),
		cmocka_unit_test_setup(test_disabled_skipped_online_capable_kept, setup),
		cmocka_unit_test_setup(test_duplicates_listed_once, setup),
		cmocka_unit_test_setup(test_boot_cpu_missing_from_madt, setup),
		cmocka_unit_test_setup(test_no_madt_cpus_gives_boot_cpu, setup),
		cmocka_unit_test_setup(test_cap_reports_left_out, setup),
		cmocka_unit_test_setup(test_x2apic_ids, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
