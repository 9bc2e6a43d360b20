/*
 * Intel VMX: the capability MSRs and their bits (Intel SDM vol. 3, appendix
 * A), IA32_FEATURE_CONTROL, and what this CPU reported, parsed once on the
 * boot CPU by vmx_ops.probe and kept in vmx_caps for the VMCS, EPT and VPID
 * code.
 *
 * The parsing and the decisions (feature control, CR0/CR4 fixed bits) are
 * portable functions in vmx_caps.c, tested on the host with MSR values of
 * real and imagined CPUs; vmx.c does the MSR reads and VMXON.
 */
#ifndef ARCH_X86_VMX_VMX_H
#define ARCH_X86_VMX_VMX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CPUID_1_ECX_VMX		(1u << 5)

/* IA32_FEATURE_CONTROL (MSR_FEATURE_CONTROL, 0x3a). Once LOCK is set,
 * writes #GP until the next reset: only the firmware can change it then. */
#define FEATURE_CONTROL_LOCK		(1ull << 0)
#define FEATURE_CONTROL_VMX_INSIDE_SMX	(1ull << 1)
#define FEATURE_CONTROL_VMX_OUTSIDE_SMX	(1ull << 2)

#define MSR_IA32_VMX_BASIC		0x480
#define MSR_IA32_VMX_PINBASED_CTLS	0x481
#define MSR_IA32_VMX_PROCBASED_CTLS	0x482
#define MSR_IA32_VMX_EXIT_CTLS		0x483
#define MSR_IA32_VMX_ENTRY_CTLS		0x484
#define MSR_IA32_VMX_MISC		0x485
#define MSR_IA32_VMX_CR0_FIXED0		0x486
#define MSR_IA32_VMX_CR0_FIXED1		0x487
#define MSR_IA32_VMX_CR4_FIXED0		0x488
#define MSR_IA32_VMX_CR4_FIXED1		0x489
#define MSR_IA32_VMX_PROCBASED_CTLS2	0x48b	/* if proc may set bit 31 */
#define MSR_IA32_VMX_EPT_VPID_CAP	0x48c	/* if proc2 may set EPT or VPID */
#define MSR_IA32_VMX_TRUE_PINBASED_CTLS	0x48d	/* these four: if BASIC[55] */
#define MSR_IA32_VMX_TRUE_PROCBASED_CTLS 0x48e
#define MSR_IA32_VMX_TRUE_EXIT_CTLS	0x48f
#define MSR_IA32_VMX_TRUE_ENTRY_CTLS	0x490

/* IA32_VMX_BASIC */
#define VMX_BASIC_REVISION_MASK		0x7fffffffull	/* bits 30:0 */
#define VMX_BASIC_REGION_SIZE_SHIFT	32		/* bits 44:32 */
#define VMX_BASIC_REGION_SIZE_MASK	0x1fffull
#define VMX_BASIC_ADDR_32BIT		(1ull << 48)
#define VMX_BASIC_MEMTYPE_SHIFT		50		/* bits 53:50 */
#define VMX_BASIC_MEMTYPE_MASK		0xfull
#define VMX_BASIC_TRUE_CTLS		(1ull << 55)

#define VMX_MEMTYPE_UC			0
#define VMX_MEMTYPE_WB			6

/* Primary processor-based VM-execution controls. */
#define VMX_PROC_ACTIVATE_SECONDARY	(1u << 31)

/* Secondary processor-based VM-execution controls. */
#define VMX_PROC2_EPT			(1u << 1)
#define VMX_PROC2_VPID			(1u << 5)
#define VMX_PROC2_UNRESTRICTED_GUEST	(1u << 7)

/* IA32_VMX_EPT_VPID_CAP */
#define VMX_EPT_EXEC_ONLY		(1ull << 0)
#define VMX_EPT_WALK_4			(1ull << 6)
#define VMX_EPT_WALK_5			(1ull << 7)
#define VMX_EPT_MEMTYPE_UC		(1ull << 8)
#define VMX_EPT_MEMTYPE_WB		(1ull << 14)
#define VMX_EPT_PAGE_2M			(1ull << 16)
#define VMX_EPT_PAGE_1G			(1ull << 17)
#define VMX_EPT_INVEPT			(1ull << 20)
#define VMX_EPT_AD_BITS			(1ull << 21)
#define VMX_EPT_INVEPT_SINGLE		(1ull << 25)
#define VMX_EPT_INVEPT_ALL		(1ull << 26)
#define VMX_VPID_INVVPID		(1ull << 32)
#define VMX_VPID_INVVPID_ADDR		(1ull << 40)
#define VMX_VPID_INVVPID_SINGLE		(1ull << 41)
#define VMX_VPID_INVVPID_ALL		(1ull << 42)
#define VMX_VPID_INVVPID_SINGLE_GLOBALS	(1ull << 43)

/*
 * One VM-execution/exit/entry control MSR: the low half has a 1 for each
 * control that must be 1 (its allowed 0-setting is "no"), the high half a 1
 * for each control that may be 1.
 */
struct vmx_ctl_caps {
	uint32_t must_be_one;
	uint32_t may_be_one;
};

struct vmx_caps {
	uint32_t vmcs_revision;		/* first dword of VMXON region, VMCS */
	uint32_t vmcs_region_size;	/* bytes, at most 4096 */
	unsigned vmcs_memtype;		/* VMX_MEMTYPE_* */
	bool region_addr_32bit;		/* regions must sit below 4 GiB */
	bool true_ctls;			/* ctls below come from TRUE_* MSRs */

	struct vmx_ctl_caps pin, proc, proc2, exit, entry;
	uint64_t misc;			/* IA32_VMX_MISC, raw */
	uint64_t cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1;

	/* Secondary controls; all false without them. */
	bool ept, vpid, unrestricted_guest;

	/* IA32_VMX_EPT_VPID_CAP, raw; 0 when the MSR does not exist. */
	uint64_t ept_vpid_cap;
	/* EPT: only true when ept is. */
	bool ept_walk_4, ept_walk_5, ept_exec_only, ept_uc, ept_wb;
	bool ept_2m, ept_1g, ept_ad;
	bool invept, invept_single, invept_all;
	/* VPID: only true when vpid is. */
	bool invvpid, invvpid_addr, invvpid_single, invvpid_all;
	bool invvpid_single_globals;
};

/* Filled by vmx_ops.probe on the boot CPU; read-only afterwards. */
extern struct vmx_caps vmx_caps;

/* ---- Portable parsing and decisions (vmx_caps.c) ------------------------ */

/* Reads one MSR; the kernel's is rdmsr(), host tests use a table. */
typedef uint64_t (*vmx_msr_reader)(uint32_t msr, void *ctx);

/*
 * Read and parse every capability MSR. Reads only MSRs that exist on this
 * CPU (an absent one would #GP): the TRUE_* controls only if BASIC says
 * so, PROCBASED_CTLS2 only with secondary controls, EPT_VPID_CAP only with
 * EPT or VPID. The CPU must report VMX in CPUID.
 */
void vmx_caps_read(struct vmx_caps *caps, vmx_msr_reader read_msr,
		   void *ctx);

/* The one-line feature list ("VMCS rev 0x2b, TRUE controls, EPT ...").
 * Returns the length it would have, as snprintf does. */
size_t vmx_caps_format(const struct vmx_caps *caps, char *buf, size_t size);

enum vmx_feature_control {
	VMX_FC_READY,		/* locked with VMX outside SMX allowed */
	VMX_FC_UNLOCKED,	/* hv sets VMX-outside-SMX and locks it */
	VMX_FC_DISABLED,	/* locked by the firmware with VMX off */
};

/* What IA32_FEATURE_CONTROL = 'fc' means for VMXON outside SMX; for
 * VMX_FC_DISABLED writes the sentence for the user into 'why'. */
enum vmx_feature_control vmx_feature_control_check(uint64_t fc, char *why,
						   size_t why_size);

/* The value to write when the check said VMX_FC_UNLOCKED. */
uint64_t vmx_feature_control_enable(uint64_t fc);

/*
 * The value a control register ('cr_name': "CR0", "CR4") must take for
 * VMXON: 'cur' plus 'want_set', plus those of 'may_set' that FIXED0
 * requires; any other bit FIXED0 requires, or FIXED1 forbids, refuses with
 * a sentence in 'why'. Returns false then and leaves *out alone.
 */
bool vmx_fixed_cr_value(const char *cr_name, uint64_t cur, uint64_t want_set,
			uint64_t may_set, uint64_t fixed0, uint64_t fixed1,
			uint64_t *out, char *why, size_t why_size);

/* ---- vCPUs (vcpu.c, exit.c, cr.c, msr.c) --------------------------------- */

struct vcpu;
struct vcpu_regs;

/* An event for the next VM entry, in the VM-entry interruption-information
 * layout (vmcs.h INTR_INFO_*); info 0 = none. */
struct vmx_event {
	uint32_t info;
	uint32_t error_code;
	uint32_t insn_len;	/* software interrupts and exceptions */
};

/* Guest MSRs that have no VMCS field: SWAPGS and SYSCALL use the real
 * ones (see msr.c for who owns them when). */
enum vmx_syscall_msr {
	VMX_MSR_KERNEL_GS_BASE,
	VMX_MSR_STAR,
	VMX_MSR_LSTAR,
	VMX_MSR_CSTAR,
	VMX_MSR_SFMASK,
	VMX_SYSCALL_MSR_COUNT
};

/* The backend's half of a vCPU (vcpu->arch). */
struct vmx_vcpu {
	struct vcpu *vcpu;
	uint64_t vmcs_pa;
	unsigned cpu;			/* the physical CPU it lives on */
	uint16_t vpid;			/* 0: VPID off (every entry flushes) */
	uint64_t eptp;			/* 0 until load_mmu_root */
	bool launched;			/* VMRESUME from now on */
	bool shadow;			/* shadow paging: no EPT, CR0/CR3/CR4,
					   INVLPG and #PF exit to virt/ */
	bool flush_ept, flush_vpid;	/* before the next entry */
	bool triple_fault;		/* event merging gave up: shut down */
	uint32_t entry_controls;	/* without "IA-32e mode guest", which
					   follows the guest's EFER.LMA */

	/* CR0/CR4 bits the host owns; the guest sees its own values of
	 * these in the read shadows. */
	uint64_t cr0_mask, cr4_mask;
	uint64_t guest_cr2;		/* VMX keeps no CR2: entry.asm does */
	uint8_t cr8;			/* the guest's TPR (no virtual APIC) */

	struct vmx_event event;		/* injected at the next entry */
	uint64_t rip_at_exit;		/* to see if the host moved RIP */

	uint64_t syscall_msrs[VMX_SYSCALL_MSR_COUNT];

	/* The last exit, raw. */
	uint32_t exit_reason;
	uint32_t idt_vectoring_info;
	uint64_t exit_qualification;
	uint64_t internal_exits;	/* exits the backend resolved itself */
};

/* entry.asm: enter the guest with 'regs' (RSP, RIP, RFLAGS are in the
 * VMCS) and CR2 = *guest_cr2, VMRESUME if 'resume', else VMLAUNCH. On a
 * VM exit stores the guest's registers and CR2 back and returns
 * VMX_SUCCEED; if the instruction itself failed, VMX_FAIL_*. */
int vmx_enter_guest(struct vcpu_regs *regs, uint64_t *guest_cr2,
		    bool resume);
void vmx_exit_point(void);	/* the VMCS host RIP; not a C function */

/* vcpu.c: the virt_ops vCPU operations. */
bool vmx_vcpu_create(struct vcpu *vcpu);
void vmx_load_shadow_state(struct vcpu *vcpu, bool flush);
void vmx_vcpu_destroy(struct vcpu *vcpu);
void vmx_vcpu_run(struct vcpu *vcpu);
void vmx_set_cr2(struct vcpu *vcpu, uint64_t cr2);
void vmx_inject_exception(struct vcpu *vcpu, uint8_t vector,
			  bool has_error_code, uint32_t error_code);
void vmx_load_mmu_root(struct vcpu *vcpu, uint64_t root_hpa);
void vmx_flush_guest_tlb(struct vcpu *vcpu);

/* exit.c: decode the exit that just happened into vcpu->exit. True if
 * the backend resolved it itself (the guest can go on at once), false
 * if the caller must handle it. */
bool vmx_handle_exit(struct vmx_vcpu *vmx);
void vmx_dump_state(struct vcpu *vcpu);

/* cr.c: a MOV to/from CR0/CR3/CR4/CR8, CLTS or LMSW that exited. True
 * when done (emulated, or a fault injected). */
bool vmx_cr_access(struct vmx_vcpu *vmx);
/* The guest's view of CR0/CR4: its bits, and the shadow's where the host
 * owns them. */
uint64_t vmx_guest_cr0(const struct vmx_vcpu *vmx);
uint64_t vmx_guest_cr4(const struct vmx_vcpu *vmx);

/* msr.c */
bool vmx_guest_msr(struct vcpu *vcpu, bool write, uint32_t index,
		   uint64_t *value, bool *gp);
/* Make this vCPU's SYSCALL/SWAPGS MSRs the real ones on its CPU. */
void vmx_load_syscall_msrs(struct vmx_vcpu *vmx);
/* Give them back to the host (vCPU destroyed). */
void vmx_put_syscall_msrs(struct vmx_vcpu *vmx);

/* Queue an event for the next entry, merging it with one already queued
 * as the CPU would (two contributory faults make #DF, a fault while
 * delivering #DF shuts down). */
void vmx_queue_exception(struct vmx_vcpu *vmx, uint8_t vector,
			 bool has_error_code, uint32_t error_code);

#endif
