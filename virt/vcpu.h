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
	EXIT_UNHANDLED,		/* anything else: vendor_code says what */
	EXIT_REASON_COUNT
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
};

#endif
