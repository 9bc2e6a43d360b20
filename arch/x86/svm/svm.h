/*
 * AMD SVM: the MSRs and CPUID bits (AMD APM vol. 2, chapter 15, and CPUID
 * Fn8000_000A), and what this CPU reported, parsed once on the boot CPU by
 * svm_ops.probe and kept in svm_caps for the VMCB, NPT and ASID code.
 *
 * Later code must test a feature here before using it: QEMU's TCG, the
 * SVM test platform, has no NRIPS, no flush-by-ASID, no VMCB clean bits
 * and no decode assists.
 *
 * The parsing and the VM_CR decision are portable functions in svm_caps.c,
 * tested on the host; svm.c does the MSR accesses.
 */
#ifndef ARCH_X86_SVM_SVM_H
#define ARCH_X86_SVM_SVM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CPUID_80000001_ECX_SVM	(1u << 2)
#define CPUID_SVM_FEATURES	0x8000000a

/* VM_CR: the firmware's SVM switch. Once LOCK is set, writes to LOCK and
 * SVMDIS are ignored until reset. */
#define MSR_VM_CR		0xc0010114
#define VM_CR_LOCK		(1ull << 3)
#define VM_CR_SVMDIS		(1ull << 4)

/* Physical address of the 4 KiB area where VMRUN saves host state. */
#define MSR_VM_HSAVE_PA		0xc0010117

/* CPUID Fn8000_000A EDX. */
#define SVM_FEAT_NP			(1u << 0)
#define SVM_FEAT_LBR_VIRT		(1u << 1)
#define SVM_FEAT_SVM_LOCK		(1u << 2)
#define SVM_FEAT_NRIPS			(1u << 3)
#define SVM_FEAT_TSC_RATE_MSR		(1u << 4)
#define SVM_FEAT_VMCB_CLEAN		(1u << 5)
#define SVM_FEAT_FLUSH_BY_ASID		(1u << 6)
#define SVM_FEAT_DECODE_ASSISTS		(1u << 7)
#define SVM_FEAT_PAUSE_FILTER		(1u << 10)
#define SVM_FEAT_PAUSE_FILTER_THRESHOLD	(1u << 12)
#define SVM_FEAT_AVIC			(1u << 13)
#define SVM_FEAT_VMSAVE_VIRT		(1u << 15)
#define SVM_FEAT_VGIF			(1u << 16)

struct svm_caps {
	uint32_t revision;		/* Fn8000_000A EAX[7:0] */
	uint32_t nr_asids;		/* EBX; ASID 0 is the host's */
	uint32_t features;		/* EDX, raw */

	bool npt;			/* nested paging */
	bool lbr_virt;
	bool svm_lock;			/* VM_CR.LOCK can be opened by key */
	bool nrips;			/* VMCB nRIP on exits */
	bool tsc_rate_msr;
	bool vmcb_clean;		/* VMCB clean bits */
	bool flush_by_asid;		/* TLB_CONTROL 3 and 7 */
	bool decode_assists;
	bool pause_filter, pause_filter_threshold;
	bool avic;
	bool vmsave_virt;
	bool vgif;
};

/* Filled by svm_ops.probe on the boot CPU; read-only afterwards. */
extern struct svm_caps svm_caps;

/* ---- Portable parsing and decisions (svm_caps.c) ------------------------ */

struct cpuid_regs;

/* Runs CPUID for a leaf (subleaf 0); the kernel's is cpuid(), host tests
 * use a table. */
typedef struct cpuid_regs (*svm_cpuid_reader)(uint32_t leaf, void *ctx);

/* Read and parse CPUID Fn8000_000A. The CPU must report SVM in CPUID.
 * False if the leaf is missing: then there is nothing to go on. */
bool svm_caps_read(struct svm_caps *caps, svm_cpuid_reader cpuid_fn,
		   void *ctx);

/* The one-line feature list ("rev 1, 16 ASIDs, NPT, NRIPS no, ...").
 * Returns the length it would have, as snprintf does. */
size_t svm_caps_format(const struct svm_caps *caps, char *buf, size_t size);

/* Does VM_CR = 'vm_cr' allow EFER.SVME? If not, writes the sentence for
 * the user (naming the firmware setting) into 'why'. */
bool svm_vm_cr_check(uint64_t vm_cr, char *why, size_t why_size);

#endif
