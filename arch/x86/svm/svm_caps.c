/*
 * SVM capabilities: parse CPUID Fn8000_000A, describe it in one line, and
 * decide whether VM_CR allows EFER.SVME. Portable: no hardware access
 * (CPUID comes through a reader callback), so tests/host/test_svm_caps.c
 * runs it with the values of real and emulated CPUs.
 */
#include "arch/x86/svm/svm.h"
#include "arch/x86/cpu.h"
#include "kernel/printk.h"
#include "virt/feature_list.h"

bool svm_caps_read(struct svm_caps *caps, svm_cpuid_reader cpuid_fn,
		   void *ctx)
{
	struct cpuid_regs leaf;
	uint32_t edx;

	if (cpuid_fn(0x80000000, ctx).eax < CPUID_SVM_FEATURES)
		return false;
	leaf = cpuid_fn(CPUID_SVM_FEATURES, ctx);
	edx = leaf.edx;
	caps->revision = leaf.eax & 0xff;
	caps->nr_asids = leaf.ebx;
	caps->features = edx;
	caps->npt = edx & SVM_FEAT_NP;
	caps->lbr_virt = edx & SVM_FEAT_LBR_VIRT;
	caps->svm_lock = edx & SVM_FEAT_SVM_LOCK;
	caps->nrips = edx & SVM_FEAT_NRIPS;
	caps->tsc_rate_msr = edx & SVM_FEAT_TSC_RATE_MSR;
	caps->vmcb_clean = edx & SVM_FEAT_VMCB_CLEAN;
	caps->flush_by_asid = edx & SVM_FEAT_FLUSH_BY_ASID;
	caps->decode_assists = edx & SVM_FEAT_DECODE_ASSISTS;
	caps->pause_filter = edx & SVM_FEAT_PAUSE_FILTER;
	caps->pause_filter_threshold = edx & SVM_FEAT_PAUSE_FILTER_THRESHOLD;
	caps->avic = edx & SVM_FEAT_AVIC;
	caps->vmsave_virt = edx & SVM_FEAT_VMSAVE_VIRT;
	caps->vgif = edx & SVM_FEAT_VGIF;
	return true;
}

/*
 * The features later code branches on are always listed, present or not,
 * so a log shows at once which paths a run takes; the optional ones only
 * when present.
 */
size_t svm_caps_format(const struct svm_caps *caps, char *buf, size_t size)
{
	struct feature_list fl;

	feature_list_init(&fl, buf, size);
	feature_list_add(&fl, "rev %u", caps->revision);
	feature_list_add(&fl, "%u ASIDs", caps->nr_asids);
	feature_list_add(&fl, "%s", caps->npt ? "NPT"
				 : "no NPT (shadow paging only)");
	feature_list_add(&fl, "NRIPS %s", caps->nrips ? "yes" : "no");
	feature_list_add(&fl, "flush-by-ASID %s",
			 caps->flush_by_asid ? "yes" : "no");
	feature_list_add(&fl, "VMCB clean bits %s",
			 caps->vmcb_clean ? "yes" : "no");
	feature_list_add(&fl, "decode assists %s",
			 caps->decode_assists ? "yes" : "no");
	if (caps->vgif)
		feature_list_add(&fl, "VGIF");
	if (caps->lbr_virt)
		feature_list_add(&fl, "LBR virtualization");
	if (caps->tsc_rate_msr)
		feature_list_add(&fl, "TSC ratio");
	if (caps->pause_filter)
		feature_list_add(&fl, "pause filter%s",
				 caps->pause_filter_threshold ? "+threshold"
							      : "");
	if (caps->avic)
		feature_list_add(&fl, "AVIC");
	if (caps->vmsave_virt)
		feature_list_add(&fl, "VMSAVE virtualization");
	if (caps->svm_lock)
		feature_list_add(&fl, "SVM lock");
	return fl.len;
}

bool svm_vm_cr_check(uint64_t vm_cr, char *why, size_t why_size)
{
	if (!(vm_cr & VM_CR_SVMDIS))
		return true;
	snprintf(why, why_size,
		 "AMD SVM is disabled by the firmware (VM_CR.SVMDIS%s); "
		 "enable 'SVM Mode' (AMD-V) in the firmware setup",
		 (vm_cr & VM_CR_LOCK) ? ", and VM_CR.LOCK is set: only the "
					"firmware can change it"
				      : "");
	return false;
}
