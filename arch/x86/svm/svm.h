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

/* ---- vCPUs (kernel only: vcpu.c, exit.c, entry.asm) --------------------- */

struct vcpu;
struct vcpu_regs;
struct vmcb;

/* What the backend keeps behind vcpu->arch. */
struct svm_vcpu {
	struct vmcb *vmcb;
	uint64_t vmcb_pa;
	uint64_t iopm_pa;		/* SVM_IOPM_PAGES, all ones */
	uint64_t msrpm_pa;		/* SVM_MSRPM_PAGES, all ones */
	uint32_t dirty;			/* VMCB_CLEAN_* areas changed since
					   the last VMRUN */
	uint64_t asid_generation;	/* of asid_cpu's ASID pool; 0: none */
	unsigned asid_cpu;		/* where vcpu->asid was handed out */
	bool flush_tlb;			/* flush the guest's TLB at next VMRUN */
	bool shutdown_pending;		/* an injected exception met a #DF:
					   the guest triple-faulted */
};

/* The page a CPU VMSAVEs its own FS/GS/TR/LDTR/SYSCALL/SYSENTER state
 * into around VMRUN (svm.c). svm_host_vmcb_alloc gives the CPU one if it
 * has none yet (false when memory is out); disable_cpu frees it. */
uint64_t svm_host_vmcb_pa(unsigned cpu);
bool svm_host_vmcb_alloc(unsigned cpu);

/* entry.asm: VMSAVE host, VMLOAD guest, VMRUN, VMSAVE guest, VMLOAD host,
 * with the guest's GPRs (all but RAX and RSP, which live in the VMCB)
 * loaded from and stored back to 'regs'. Called with interrupts off;
 * returns with interrupts off and GIF set. */
void svm_vmrun(struct vcpu_regs *regs, uint64_t vmcb_pa, uint64_t host_vmcb_pa);

/* vcpu.c: the vCPU operations of svm_ops. */
bool svm_vcpu_create(struct vcpu *vcpu);
void svm_vcpu_destroy(struct vcpu *vcpu);
void svm_vcpu_run(struct vcpu *vcpu);
void svm_set_cr2(struct vcpu *vcpu, uint64_t cr2);
void svm_inject_exception(struct vcpu *vcpu, uint8_t vector,
			  bool has_error_code, uint32_t error_code);
void svm_load_mmu_root(struct vcpu *vcpu, uint64_t root_hpa);
void svm_flush_guest_tlb(struct vcpu *vcpu);
void svm_load_shadow_state(struct vcpu *vcpu, bool flush);
void svm_dump_state(struct vcpu *vcpu);
bool svm_guest_msr(struct vcpu *vcpu, bool write, uint32_t index,
		   uint64_t *value, bool *gp);

/* exit.c: after each #VMEXIT, fill vcpu->sregs and vcpu->exit from the
 * VMCB and queue an event whose delivery the exit interrupted. */
void svm_decode_exit(struct vcpu *vcpu);

/* exit.c: exits the backend completes itself (SVM instructions in the
 * guest, INVD, reflected #AC): true when the guest can simply be entered
 * again without the vendor-neutral code seeing the exit. */
bool svm_handle_exit_here(struct vcpu *vcpu);

/* exit.c: guest control registers and segments into vcpu->sregs. */
void svm_read_sregs(struct vcpu *vcpu);

#endif
