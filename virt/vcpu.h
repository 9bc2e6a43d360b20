/*
 * A virtual CPU as the vendor-neutral code sees it: general registers, the
 * last exit decoded into one vendor-neutral form, counters. The backend
 * (arch/x86/svm or vmx) keeps its VMCB/VMCS behind 'arch' and translates
 * between it and these fields on every entry and exit.
 */
#ifndef VIRT_VCPU_H
#define VIRT_VCPU_H

#include <stdbool.h>
#include <stdint.h>
#include "mmu/shadow.h"

struct vm;

/* The guest's general registers and the few others every exit handler
 * needs. Canonical between exits: the backend loads them into its
 * VMCB/VMCS before entry and stores them back after the exit. */
struct vcpu_regs {
	uint64_t rax, rbx, rcx, rdx, rsi, rdi, rbp, rsp;
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t rip, rflags;
};

/* Guest control state, read by the backend after each exit (for register
 * dumps, the emulator and the shadow MMU later). Read-only here. */
struct vcpu_sregs {
	uint64_t cr0, cr2, cr3, cr4, efer;
	uint64_t cs_base, ds_base, ss_base;
	/* ES for string destinations; FS/GS are the only bases that still
	 * apply in 64-bit mode (the instruction emulator reads them). */
	uint64_t es_base, fs_base, gs_base;
	uint16_t cs_sel;
	bool cs_long;		/* CS.L: 64-bit code */
	bool cs_db;		/* CS.D/B: 32-bit default operand size */
	uint8_t cpl;
};

enum exit_reason {
	EXIT_NONE = 0,
	EXIT_IO,		/* IN/OUT (also INS/OUTS: io.string) */
	EXIT_CPUID,
	EXIT_MSR_READ,
	EXIT_MSR_WRITE,
	EXIT_HLT,
	EXIT_HYPERCALL,		/* VMCALL / VMMCALL */
	EXIT_NPF,		/* EPT violation / NPT fault */
	EXIT_EXCEPTION,		/* an intercepted guest exception */
	EXIT_EXTERNAL_INTR,	/* a host interrupt arrived (IPI, timer) */
	EXIT_TRIPLE_FAULT,	/* VMX triple fault / SVM SHUTDOWN */
	EXIT_INVALID_STATE,	/* VM entry refused the guest state */
	EXIT_CR_ACCESS,		/* MOV to/from CR0/CR3/CR4, CLTS, LMSW
				   (shadow paging) */
	EXIT_INVLPG,		/* INVLPG (shadow paging) */
	EXIT_UNHANDLED,		/* anything else: vendor_code says what */
	EXIT_REASON_COUNT
};

/* exit.cr.kind */
enum cr_access_kind {
	CR_ACCESS_MOV_TO,
	CR_ACCESS_MOV_FROM,
	CR_ACCESS_CLTS,
	CR_ACCESS_LMSW,
};

#define NPF_READ	(1u << 0)
#define NPF_WRITE	(1u << 1)
#define NPF_FETCH	(1u << 2)
#define NPF_PRESENT	(1u << 3)	/* a translation existed (permission) */

struct vcpu_exit {
	enum exit_reason reason;
	uint64_t vendor_code;	/* raw SVM exit code / VMX basic reason */
	uint64_t qualification;	/* raw EXITINFO1 / exit qualification */
	/*
	 * Length of the exiting instruction when the backend knows it
	 * (VMX always; SVM with NRIPS, or by instruction for IOIO, CPUID,
	 * RDMSR/WRMSR, HLT, VMMCALL); 0 when unknown (then the emulator
	 * decodes it).
	 */
	uint8_t insn_len;
	/* The exit interrupted the delivery of an event (an exception or
	 * interrupt whose IDT entry, stack or handler faulted): the backend
	 * delivers it again at the next entry, and the instruction at RIP
	 * is not the one that made the access. */
	bool in_event_delivery;
	union {
		struct {
			uint16_t port;
			uint8_t size;		/* 1, 2 or 4 */
			bool in;
			bool string;
			bool rep;
		} io;
		struct {
			uint32_t index;		/* ECX */
		} msr;
		struct {
			uint64_t gpa;
			uint32_t access;	/* NPF_* */
		} npf;
		struct {
			/* decoded false: the backend does not know the
			 * operands (SVM without decode assists): the
			 * instruction at RIP is emulated. */
			bool decoded;
			uint8_t cr;		/* 0, 3 or 4 */
			uint8_t kind;		/* enum cr_access_kind */
			uint8_t gpr;		/* MOV: 0 RAX .. 15 R15 */
			uint16_t lmsw_source;	/* LMSW: the operand */
		} cr;
		struct {
			bool decoded;		/* as for cr */
			uint64_t gva;
		} invlpg;
		struct {
			uint8_t vector;
			bool has_error_code;
			uint32_t error_code;
			uint64_t cr2;		/* for #PF */
		} exception;
	};
};

const char *exit_reason_name(enum exit_reason reason);

enum vcpu_state {
	VCPU_CREATED,
	VCPU_RUNNING,
	VCPU_WAIT_START,	/* a secondary vCPU not started by the guest */
	VCPU_DONE,
};

struct vcpu {
	struct vm *vm;
	unsigned id;			/* within the VM */
	unsigned pcpu;			/* the physical CPU it is pinned to */
	enum vcpu_state state;

	struct vcpu_regs regs;
	struct vcpu_sregs sregs;
	struct vcpu_exit exit;

	void *arch;			/* backend state (VMCB/VMCS and more) */
	uint32_t asid;			/* SVM ASID or VMX VPID, 0 = none */

	/* UART output collects here until a newline. */
	char line[160];
	unsigned line_len;

	uint64_t exits[EXIT_REASON_COUNT];
	uint64_t entries;

	/* Shadow paging (vm->mmu_mode == MMU_MODE_SHADOW; virt/shadow_vm.c). */
	struct shadow_vcpu shadow;
	/* Set by another CPU's shadow MMU flush, taken by the backend before
	 * the next entry: flush this vCPU's guest TLB (ASID/VPID). */
	bool tlb_flush_pending;
	/* What the backend was last told to run with. */
	uint64_t shadow_loaded_version, shadow_loaded_root;
	uint64_t shadow_loaded_cr0, shadow_loaded_cr4, shadow_loaded_efer;
	bool shadow_loaded;
	bool lockless_irq_was_on;	/* shadow_ops.lockless_begin/end */
	uint64_t invlpg_count, cr_exits;
};

/* The backend's part of a pending shadow MMU flush: true once per
 * request, before an entry (interrupts off). */
static inline bool vcpu_take_flush_request(struct vcpu *vcpu)
{
	return __atomic_load_n(&vcpu->tlb_flush_pending, __ATOMIC_ACQUIRE) &&
	       __atomic_exchange_n(&vcpu->tlb_flush_pending, false,
				   __ATOMIC_SEQ_CST);
}

#endif
