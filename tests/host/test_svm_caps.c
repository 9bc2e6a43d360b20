/*
 * SVM capabilities (arch/x86/svm/svm_caps.c): parsing CPUID Fn8000_000A
 * of real and emulated CPUs, the feature line, and the VM_CR decision that
 * cannot be tried in an emulator (a firmware that disabled SVM).
 *
 * The CPUID reader fails the test on a leaf beyond the model's highest
 * extended leaf: real CPUs answer those with unrelated data.
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
#include "arch/x86/svm/svm.h"

struct cpu_model {
	const char *name;
	uint32_t max_ext_leaf;		/* CPUID 0x80000000 EAX */
	struct cpuid_regs svm_leaf;	/* CPUID 0x8000000A */
};

static struct cpuid_regs model_cpuid(uint32_t leaf, void *ctx)
{
	const struct cpu_model *model = ctx;

	if (leaf == 0x80000000)
		return (struct cpuid_regs){ .eax = model->max_ext_leaf };
	if (leaf > model->max_ext_leaf)
		fail_msg("%s: CPUID leaf 0x%x is beyond the highest (0x%x)",
			 model->name, leaf, model->max_ext_leaf);
	if (leaf == CPUID_SVM_FEATURES)
		return model->svm_leaf;
	fail_msg("%s: unexpected CPUID leaf 0x%x", model->name, leaf);
	return (struct cpuid_regs){ 0 };
}

/* QEMU 7.2 TCG -cpu max: NP, VGIF and svme-addr-chk (bit 28). */
static const struct cpu_model qemu_tcg_max = {
	"qemu tcg max", 0x80000021, { 1, 16, 0, 0x10010001 },
};

/* QEMU 7.2 TCG -cpu qemu64: SVM without NPT. */
static const struct cpu_model qemu_tcg_qemu64 = {
	"qemu tcg qemu64", 0x8000000a, { 1, 16, 0, 0 },
};

/* A Zen-like CPU with everything this code knows about. */
static const struct cpu_model zen_like = {
	"zen-like", 0x80000020, { 1, 0x8000, 0, 0x0001bcff },
};

/* SVM in CPUID.80000001 but too few extended leaves to describe it. */
static const struct cpu_model no_svm_leaf = {
	"no svm leaf", 0x80000008, { 0, 0, 0, 0 },
};

static struct svm_caps read_model(const struct cpu_model *model)
{
	struct svm_caps caps;

	memset(&caps, 0xa5, sizeof(caps));	/* every field must be set */
	assert_true(svm_caps_read(&caps, model_cpuid, (void *)model));
	return caps;
}

static void assert_line(const struct svm_caps *caps, const char *want)
{
	char line[256];
	size_t len = svm_caps_format(caps, line, sizeof(line));

	assert_string_equal(line, want);
	assert_int_equal(len, strlen(want));
}

static void test_qemu_tcg_max(void **state)
{
	struct svm_caps c = read_model(&qemu_tcg_max);

	(void)state;
	assert_int_equal(c.revision, 1);
	assert_int_equal(c.nr_asids, 16);
	assert_int_equal(c.features, 0x10010001);
	assert_true(c.npt && c.vgif);
	/* What TCG lacks, and later code must not assume. */
	assert_false(c.nrips || c.flush_by_asid || c.vmcb_clean);
	assert_false(c.decode_assists || c.pause_filter || c.avic);
	assert_line(&c, "rev 1, 16 ASIDs, NPT, NRIPS no, flush-by-ASID no, "
		    "VMCB clean bits no, decode assists no, VGIF");
}

static void test_qemu_tcg_qemu64_no_npt(void **state)
{
	struct svm_caps c = read_model(&qemu_tcg_qemu64);

	(void)state;
	assert_false(c.npt);
	assert_line(&c, "rev 1, 16 ASIDs, no NPT (shadow paging only), "
		    "NRIPS no, flush-by-ASID no, VMCB clean bits no, "
		    "decode assists no");
}

static void test_every_feature(void **state)
{
	struct svm_caps c = read_model(&zen_like);

	(void)state;
	assert_true(c.npt && c.lbr_virt && c.svm_lock && c.nrips);
	assert_true(c.tsc_rate_msr && c.vmcb_clean && c.flush_by_asid);
	assert_true(c.decode_assists && c.pause_filter);
	assert_true(c.pause_filter_threshold && c.avic && c.vmsave_virt);
	assert_true(c.vgif);
	assert_line(&c, "rev 1, 32768 ASIDs, NPT, NRIPS yes, flush-by-ASID yes, "
		    "VMCB clean bits yes, decode assists yes, VGIF, "
		    "LBR virtualization, TSC ratio, pause filter+threshold, "
		    "AVIC, VMSAVE virtualization, SVM lock");
}

static void test_missing_leaf(void **state)
{
	struct svm_caps caps;

	(void)state;
	assert_false(svm_caps_read(&caps, model_cpuid, (void *)&no_svm_leaf));
}

static void test_format_truncates_safely(void **state)
{
	struct svm_caps c = read_model(&zen_like);
	char full[256], small[24];
	size_t full_len = svm_caps_format(&c, full, sizeof(full));

	(void)state;
	for (size_t size = 1; size <= sizeof(small); size++) {
		memset(small, 'x', sizeof(small));
		assert_int_equal(svm_caps_format(&c, small, size), full_len);
		assert_int_equal(strlen(small), size - 1);
		assert_memory_equal(small, full, size - 1);
	}
}

static void test_vm_cr_allows(void **state)
{
	char why[256] = "";

	(void)state;
	assert_true(svm_vm_cr_check(0, why, sizeof(why)));
	/* Locked with SVM enabled: fine, hv never writes VM_CR. */
	assert_true(svm_vm_cr_check(VM_CR_LOCK, why, sizeof(why)));
	assert_string_equal(why, "");
}

static void test_vm_cr_disabled_by_firmware(void **state)
{
	char why[256] = "";

	(void)state;
	assert_false(svm_vm_cr_check(VM_CR_SVMDIS, why, sizeof(why)));
	assert_string_equal(why, "AMD SVM is disabled by the firmware "
			    "(VM_CR.SVMDIS); enable 'SVM Mode' (AMD-V) in the "
			    "firmware setup");
	assert_false(svm_vm_cr_check(VM_CR_SVMDIS | VM_CR_LOCK, why,
				     sizeof(why)));
	assert_string_equal(why, "AMD SVM is disabled by the firmware "
			    "(VM_CR.SVMDIS, and VM_CR.LOCK is set: only the "
			    "firmware can change it); enable 'SVM Mode' "
			    "(AMD-V) in the firmware setup");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_qemu_tcg_max),
		cmocka_unit_test(test_qemu_tcg_qemu64_no_npt),
		cmocka_unit_test(test_every_feature),
		cmocka_unit_test(test_missing_leaf),
		cmocka_unit_test(test_format_truncates_safely),
		cmocka_unit_test(test_vm_cr_allows),
		cmocka_unit_test(test_vm_cr_disabled_by_firmware),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
