/*
 * VMX capabilities (arch/x86/vmx/vmx_caps.c): parsing the IA32_VMX_* MSRs
 * of real and imagined CPUs, the feature line, and the decisions that
 * cannot be tried in an emulator (a firmware that locked VMX off, CR0/CR4
 * fixed bits hv cannot satisfy).
 *
 * The MSR reader fails the test on any MSR the CPU model does not list:
 * on hardware, reading an MSR that does not exist is a #GP.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "arch/x86/cpu.h"
#include "arch/x86/vmx/vmx.h"
#include "kernel/compiler.h"

/* ---- CPU models: the MSRs each one has -------------------------------- */

struct msr_value {
	uint32_t msr;
	uint64_t value;
};

struct cpu_model {
	const char *name;
	struct msr_value msrs[16];
};

static uint64_t model_read_msr(uint32_t msr, void *ctx)
{
	const struct cpu_model *model = ctx;

	for (unsigned i = 0; i < ARRAY_SIZE(model->msrs); i++)
		if (model->msrs[i].msr == msr)
			return model->msrs[i].value;
	fail_msg("%s: read of MSR 0x%x, which this CPU does not have (#GP)",
		 model->name, msr);
	return 0;
}

#define CTLS(may_be_one, must_be_one) \
	(((uint64_t)(may_be_one) << 32) | (must_be_one))

#define FIXED_MSRS \
	{ MSR_IA32_VMX_CR0_FIXED0, 0x80000021 },	\
	{ MSR_IA32_VMX_CR0_FIXED1, 0xffffffff },	\
	{ MSR_IA32_VMX_CR4_FIXED0, 0x2000 },		\
	{ MSR_IA32_VMX_CR4_FIXED1, 0x3727ff }

/* Bochs 2.7 corei7_skylake_x, as the hypervisor's debug line printed it.
 * No non-TRUE control MSRs listed: with BASIC[55] set they must not be
 * the ones used. */
static const struct cpu_model bochs_skylake_x = {
	"bochs skylake-x",
	{
		{ MSR_IA32_VMX_BASIC, 0x00d810000000002bull },
		{ MSR_IA32_VMX_TRUE_PINBASED_CTLS, CTLS(0x7f, 0x16) },
		{ MSR_IA32_VMX_TRUE_PROCBASED_CTLS, CTLS(0xf7f9fffe, 0x04006172) },
		{ MSR_IA32_VMX_PROCBASED_CTLS2, CTLS(0x02177fff, 0) },
		{ MSR_IA32_VMX_TRUE_EXIT_CTLS, CTLS(0x007fffff, 0x00036dfb) },
		{ MSR_IA32_VMX_TRUE_ENTRY_CTLS, CTLS(0x0000ffff, 0x000011fb) },
		{ MSR_IA32_VMX_EPT_VPID_CAP, 0xf0106334141ull },
		{ MSR_IA32_VMX_MISC, 0x600401e0 },
		FIXED_MSRS,
	},
};

/* An early VMX CPU: no TRUE controls, no secondary controls. It has
 * neither PROCBASED_CTLS2 nor EPT_VPID_CAP nor the TRUE_* MSRs. */
static const struct cpu_model early_vmx = {
	"early vmx",
	{
		{ MSR_IA32_VMX_BASIC, 0x005a08000000000dull },
		{ MSR_IA32_VMX_PINBASED_CTLS, CTLS(0x3f, 0x16) },
		{ MSR_IA32_VMX_PROCBASED_CTLS, CTLS(0x7ff9fffe, 0x0401e172) },
		{ MSR_IA32_VMX_EXIT_CTLS, CTLS(0x003fffff, 0x00036dff) },
		{ MSR_IA32_VMX_ENTRY_CTLS, CTLS(0x00003fff, 0x000011ff) },
		{ MSR_IA32_VMX_MISC, 0x403c0 },
		FIXED_MSRS,
	},
};

/* Secondary controls, but neither EPT nor VPID (only "virtualize APIC
 * accesses"): no EPT_VPID_CAP MSR. */
static const struct cpu_model secondary_no_ept = {
	"secondary, no ept/vpid",
	{
		{ MSR_IA32_VMX_BASIC, 0x00da04000000000dull },
		{ MSR_IA32_VMX_TRUE_PINBASED_CTLS, CTLS(0x3f, 0x16) },
		{ MSR_IA32_VMX_TRUE_PROCBASED_CTLS, CTLS(0xfff9fffe, 0x04006172) },
		{ MSR_IA32_VMX_PROCBASED_CTLS2, CTLS(0x1, 0) },
		{ MSR_IA32_VMX_TRUE_EXIT_CTLS, CTLS(0x003fffff, 0x00036dfb) },
		{ MSR_IA32_VMX_TRUE_ENTRY_CTLS, CTLS(0x00003fff, 0x000011fb) },
		{ MSR_IA32_VMX_MISC, 0x403c0 },
		FIXED_MSRS,
	},
};

/* EPT without VPID, uncacheable VMCS; its EPT_VPID_CAP also sets INVVPID
 * bits, which mean nothing without VPID. Only 2M pages, single INVEPT. */
static const struct cpu_model ept_no_vpid = {
	"ept, no vpid",
	{
		{ MSR_IA32_VMX_BASIC, 0x0080100000000010ull },
		{ MSR_IA32_VMX_TRUE_PINBASED_CTLS, CTLS(0x3f, 0x16) },
		{ MSR_IA32_VMX_TRUE_PROCBASED_CTLS, CTLS(0xfff9fffe, 0x04006172) },
		{ MSR_IA32_VMX_PROCBASED_CTLS2, CTLS(VMX_PROC2_EPT, 0) },
		{ MSR_IA32_VMX_TRUE_EXIT_CTLS, CTLS(0x003fffff, 0x00036dfb) },
		{ MSR_IA32_VMX_TRUE_ENTRY_CTLS, CTLS(0x00003fff, 0x000011fb) },
		{ MSR_IA32_VMX_EPT_VPID_CAP,
		  VMX_EPT_WALK_4 | VMX_EPT_MEMTYPE_WB | VMX_EPT_PAGE_2M |
		  VMX_EPT_INVEPT | VMX_EPT_INVEPT_SINGLE |
		  VMX_VPID_INVVPID | VMX_VPID_INVVPID_ALL },
		{ MSR_IA32_VMX_MISC, 0x403c0 },
		FIXED_MSRS,
	},
};

static struct vmx_caps read_model(const struct cpu_model *model)
{
	struct vmx_caps caps;

	memset(&caps, 0xa5, sizeof(caps));	/* every field must be set */
	vmx_caps_read(&caps, model_read_msr, (void *)model);
	return caps;
}

static void assert_line(const struct vmx_caps *caps, const char *want)
{
	char line[256];
	size_t len = vmx_caps_format(caps, line, sizeof(line));

	assert_string_equal(line, want);
	assert_int_equal(len, strlen(want));
}

/* ---- Parsing ------------------------------------------------------------ */

static void test_bochs_skylake_x(void **state)
{
	struct vmx_caps c = read_model(&bochs_skylake_x);

	(void)state;
	assert_int_equal(c.vmcs_revision, 0x2b);
	assert_int_equal(c.vmcs_region_size, 4096);
	assert_int_equal(c.vmcs_memtype, VMX_MEMTYPE_WB);
	assert_false(c.region_addr_32bit);
	assert_true(c.true_ctls);
	assert_int_equal(c.pin.must_be_one, 0x16);
	assert_int_equal(c.pin.may_be_one, 0x7f);
	assert_int_equal(c.proc.must_be_one, 0x04006172);
	assert_int_equal(c.proc2.may_be_one, 0x02177fff);
	assert_int_equal(c.entry.may_be_one, 0xffff);
	assert_int_equal(c.misc, 0x600401e0);
	assert_int_equal(c.cr4_fixed1, 0x3727ff);
	assert_true(c.ept && c.vpid && c.unrestricted_guest);
	assert_true(c.ept_walk_4 && c.ept_wb && c.ept_2m && c.ept_1g);
	assert_true(c.ept_ad && c.ept_exec_only && c.ept_uc);
	assert_false(c.ept_walk_5);
	assert_true(c.invept && c.invept_single && c.invept_all);
	assert_true(c.invvpid && c.invvpid_addr && c.invvpid_single);
	assert_true(c.invvpid_all && c.invvpid_single_globals);
	assert_line(&c, "VMCS rev 0x2b, TRUE controls, EPT 4-level WB 2M 1G "
		    "A/D, INVEPT single+all, VPID, INVVPID "
		    "addr+single+all+single-globals, unrestricted guest");
}

static void test_early_cpu_reads_no_absent_msr(void **state)
{
	struct vmx_caps c = read_model(&early_vmx);

	(void)state;
	assert_int_equal(c.vmcs_revision, 0xd);
	assert_false(c.true_ctls);
	assert_int_equal(c.proc.may_be_one, 0x7ff9fffe);
	assert_int_equal(c.proc2.may_be_one, 0);
	assert_false(c.ept || c.vpid || c.unrestricted_guest);
	assert_int_equal(c.ept_vpid_cap, 0);
	assert_false(c.invept || c.invvpid || c.ept_2m);
	assert_line(&c, "VMCS rev 0xd, no EPT, no VPID, no unrestricted guest");
}

static void test_secondary_without_ept_or_vpid(void **state)
{
	struct vmx_caps c = read_model(&secondary_no_ept);

	(void)state;
	assert_int_equal(c.proc2.may_be_one, 1);
	assert_false(c.ept || c.vpid || c.unrestricted_guest);
	assert_int_equal(c.ept_vpid_cap, 0);
	assert_line(&c, "VMCS rev 0xd, TRUE controls, no EPT, no VPID, "
		    "no unrestricted guest");
}

static void test_ept_without_vpid(void **state)
{
	struct vmx_caps c = read_model(&ept_no_vpid);

	(void)state;
	assert_int_equal(c.vmcs_memtype, VMX_MEMTYPE_UC);
	assert_true(c.ept && !c.vpid);
	assert_true(c.invept_single && !c.invept_all);
	/* Reported, but meaningless without VPID. */
	assert_false(c.invvpid || c.invvpid_all);
	assert_line(&c, "VMCS rev 0x10, VMCS memory type 0, TRUE controls, "
		    "EPT 4-level WB 2M, INVEPT single, no VPID, "
		    "no unrestricted guest");
}

static void test_region_below_4g_flag(void **state)
{
	struct cpu_model m = early_vmx;
	struct vmx_caps c;

	(void)state;
	m.msrs[0].value |= VMX_BASIC_ADDR_32BIT;
	c = read_model(&m);
	assert_true(c.region_addr_32bit);
}

static void test_format_truncates_safely(void **state)
{
	struct vmx_caps c = read_model(&bochs_skylake_x);
	char full[256], small[24];
	size_t full_len = vmx_caps_format(&c, full, sizeof(full));

	(void)state;
	for (size_t size = 1; size <= sizeof(small); size++) {
		memset(small, 'x', sizeof(small));
		assert_int_equal(vmx_caps_format(&c, small, size), full_len);
		assert_int_equal(strlen(small), size - 1);
		assert_memory_equal(small, full, size - 1);
	}
}

/* ---- IA32_FEATURE_CONTROL ----------------------------------------------- */

static void test_feature_control_locked_on(void **state)
{
	char why[256] = "";

	(void)state;
	/* What the Bochs BIOS leaves: locked, VMX outside SMX. */
	assert_int_equal(vmx_feature_control_check(5, why, sizeof(why)),
			 VMX_FC_READY);
	assert_int_equal(vmx_feature_control_check(7, why, sizeof(why)),
			 VMX_FC_READY);
	assert_string_equal(why, "");
}

static void test_feature_control_unlocked(void **state)
{
	char why[256] = "";

	(void)state;
	/* No BIOS (Bochs without one reads 0): hv sets and locks it. */
	assert_int_equal(vmx_feature_control_check(0, why, sizeof(why)),
			 VMX_FC_UNLOCKED);
	assert_int_equal(vmx_feature_control_enable(0), 5);
	/* Other bits the firmware set are kept. */
	assert_int_equal(vmx_feature_control_check(0x40000, why, sizeof(why)),
			 VMX_FC_UNLOCKED);
	assert_int_equal(vmx_feature_control_enable(0x40000), 0x40005);
	assert_string_equal(why, "");
}

static void test_feature_control_disabled_by_firmware(void **state)
{
	static const uint64_t disabled[] = { 1, 3, 0x40001 };
	char why[256];

	(void)state;
	for (unsigned i = 0; i < ARRAY_SIZE(disabled); i++) {
		why[0] = '\0';
		assert_int_equal(vmx_feature_control_check(disabled[i], why,
							   sizeof(why)),
				 VMX_FC_DISABLED);
		assert_string_equal(why,
			"Intel VT-x is disabled by the firmware "
			"(IA32_FEATURE_CONTROL is locked with VMX off); enable "
			"'Intel Virtualization Technology' (VT-x) in the "
			"firmware setup");
	}
}

/* ---- CR0/CR4 fixed bits ------------------------------------------------- */

static void test_fixed_cr_sets_vmxe(void **state)
{
	uint64_t out = 0;
	char why[256] = "";

	(void)state;
	assert_true(vmx_fixed_cr_value("CR4", CR4_PAE | CR4_PGE, CR4_VMXE, 0,
				       0x2000, 0x3727ff, &out, why,
				       sizeof(why)));
	assert_int_equal(out, CR4_PAE | CR4_PGE | CR4_VMXE);
	assert_string_equal(why, "");
}

static void test_fixed_cr_adds_allowed_bit(void **state)
{
	uint64_t cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_WP | CR0_PG, out = 0;
	char why[256] = "";

	(void)state;
	/* NE missing, FIXED0 wants it, hv may set it. */
	assert_true(vmx_fixed_cr_value("CR0", cr0, 0, CR0_NE, 0x80000021,
				       0xffffffff, &out, why, sizeof(why)));
	assert_int_equal(out, cr0 | CR0_NE);
}

static void test_fixed_cr_refuses_missing_bit(void **state)
{
	uint64_t out = 0x1234;
	char why[256] = "";

	(void)state;
	/* Paging off: FIXED0 wants PG, which hv will not flip. */
	assert_false(vmx_fixed_cr_value("CR0", CR0_PE | CR0_NE, 0, CR0_NE,
					0x80000021, 0xffffffff, &out, why,
					sizeof(why)));
	assert_int_equal(out, 0x1234);
	assert_string_equal(why, "VMX needs CR0 bits 0x80000000 set "
			    "(IA32_VMX_CR0_FIXED0), which hv does not change");
}

static void test_fixed_cr_refuses_forbidden_bit(void **state)
{
	uint64_t out = 0;
	char why[256] = "";

	(void)state;
	/* CR4.PKE set, but this CPU's FIXED1 does not allow it in VMX. */
	assert_false(vmx_fixed_cr_value("CR4", CR4_PAE | CR4_PKE, CR4_VMXE, 0,
					0x2000, 0x3727ff & ~CR4_PKE, &out,
					why, sizeof(why)));
	assert_string_equal(why, "VMX needs CR4 bits 0x400000 clear "
			    "(IA32_VMX_CR4_FIXED1), which hv does not change");
	/* A FIXED1 that forbids VMXE itself: hv cannot do without it. */
	assert_false(vmx_fixed_cr_value("CR4", CR4_PAE, CR4_VMXE, 0, 0,
					0x3727ff & ~CR4_VMXE, &out, why,
					sizeof(why)));
	assert_string_equal(why, "VMX needs CR4 bits 0x2000 clear "
			    "(IA32_VMX_CR4_FIXED1), which hv needs set");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bochs_skylake_x),
		cmocka_unit_test(test_early_cpu_reads_no_absent_msr),
		cmocka_unit_test(test_secondary_without_ept_or_vpid),
		cmocka_unit_test(test_ept_without_vpid),
		cmocka_unit_test(test_region_below_4g_flag),
		cmocka_unit_test(test_format_truncates_safely),
		cmocka_unit_test(test_feature_control_locked_on),
		cmocka_unit_test(test_feature_control_unlocked),
		cmocka_unit_test(test_feature_control_disabled_by_firmware),
		cmocka_unit_test(test_fixed_cr_sets_vmxe),
		cmocka_unit_test(test_fixed_cr_adds_allowed_bit),
		cmocka_unit_test(test_fixed_cr_refuses_missing_bit),
		cmocka_unit_test(test_fixed_cr_refuses_forbidden_bit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
