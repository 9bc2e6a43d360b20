/*
 * The VMCS: the field encodings hv uses (Intel SDM vol. 3D, appendix B),
 * the control bits it sets (vol. 3C, chapter 25), the exit-information
 * layouts it decodes (chapter 28), and inline wrappers for the VMX
 * instructions that work on a VMCS or on the TLBs.
 *
 * Every VMX instruction reports failure in RFLAGS: CF=1 is VMfailInvalid
 * (no current VMCS to hold an error number), ZF=1 is VMfailValid (the
 * number is in the current VMCS's VM-instruction error field). VMREAD and
 * VMWRITE fail only when hv asks for something the CPU does not have or
 * writes a read-only field: a hypervisor bug, so those two panic with
 * the field and the error number rather than return an error code that
 * every caller would have to check.
 */
#ifndef ARCH_X86_VMX_VMCS_H
#define ARCH_X86_VMX_VMCS_H

#include <stdbool.h>
#include <stdint.h>
#include "kernel/compiler.h"

/* ---- Field encodings ---------------------------------------------------- */

/* 16-bit control and guest/host selector fields. */
#define VMCS_VPID			0x0000
#define VMCS_GUEST_ES_SEL		0x0800	/* +2 per segment: ES CS SS */
#define VMCS_GUEST_CS_SEL		0x0802	/* DS FS GS LDTR TR */
#define VMCS_GUEST_SS_SEL		0x0804
#define VMCS_GUEST_DS_SEL		0x0806
#define VMCS_GUEST_FS_SEL		0x0808
#define VMCS_GUEST_GS_SEL		0x080a
#define VMCS_GUEST_LDTR_SEL		0x080c
#define VMCS_GUEST_TR_SEL		0x080e
#define VMCS_HOST_ES_SEL		0x0c00
#define VMCS_HOST_CS_SEL		0x0c02
#define VMCS_HOST_SS_SEL		0x0c04
#define VMCS_HOST_DS_SEL		0x0c06
#define VMCS_HOST_FS_SEL		0x0c08
#define VMCS_HOST_GS_SEL		0x0c0a
#define VMCS_HOST_TR_SEL		0x0c0c

/* 64-bit fields. */
#define VMCS_EPT_POINTER		0x201a
#define VMCS_GUEST_PHYSICAL_ADDRESS	0x2400	/* read-only */
#define VMCS_LINK_POINTER		0x2800
#define VMCS_GUEST_DEBUGCTL		0x2802
#define VMCS_GUEST_PAT			0x2804
#define VMCS_GUEST_EFER			0x2806
#define VMCS_GUEST_PDPTE0		0x280a	/* +2 per PDPTE, 0..3 */
#define VMCS_HOST_PAT			0x2c00
#define VMCS_HOST_EFER			0x2c02

/* 32-bit control fields. */
#define VMCS_PIN_CONTROLS		0x4000
#define VMCS_PROC_CONTROLS		0x4002
#define VMCS_EXCEPTION_BITMAP		0x4004
#define VMCS_PF_ERROR_MASK		0x4006
#define VMCS_PF_ERROR_MATCH		0x4008
#define VMCS_CR3_TARGET_COUNT		0x400a
#define VMCS_EXIT_CONTROLS		0x400c
#define VMCS_EXIT_MSR_STORE_COUNT	0x400e
#define VMCS_EXIT_MSR_LOAD_COUNT	0x4010
#define VMCS_ENTRY_CONTROLS		0x4012
#define VMCS_ENTRY_MSR_LOAD_COUNT	0x4014
#define VMCS_ENTRY_INTR_INFO		0x4016
#define VMCS_ENTRY_EXCEPTION_ERROR	0x4018
#define VMCS_ENTRY_INSN_LEN		0x401a
#define VMCS_PROC2_CONTROLS		0x401e

/* 32-bit read-only exit information. */
#define VMCS_VM_INSTRUCTION_ERROR	0x4400
#define VMCS_EXIT_REASON		0x4402
#define VMCS_EXIT_INTR_INFO		0x4404
#define VMCS_EXIT_INTR_ERROR		0x4406
#define VMCS_IDT_VECTORING_INFO		0x4408
#define VMCS_IDT_VECTORING_ERROR	0x440a
#define VMCS_EXIT_INSN_LEN		0x440c
#define VMCS_EXIT_INSN_INFO		0x440e

/* 32-bit guest fields. */
#define VMCS_GUEST_ES_LIMIT		0x4800	/* +2 per segment, as above */
#define VMCS_GUEST_CS_LIMIT		0x4802
#define VMCS_GUEST_SS_LIMIT		0x4804
#define VMCS_GUEST_DS_LIMIT		0x4806
#define VMCS_GUEST_FS_LIMIT		0x4808
#define VMCS_GUEST_GS_LIMIT		0x480a
#define VMCS_GUEST_LDTR_LIMIT		0x480c
#define VMCS_GUEST_TR_LIMIT		0x480e
#define VMCS_GUEST_GDTR_LIMIT		0x4810
#define VMCS_GUEST_IDTR_LIMIT		0x4812
#define VMCS_GUEST_ES_AR		0x4814	/* +2 per segment, as above */
#define VMCS_GUEST_CS_AR		0x4816
#define VMCS_GUEST_SS_AR		0x4818
#define VMCS_GUEST_DS_AR		0x481a
#define VMCS_GUEST_FS_AR		0x481c
#define VMCS_GUEST_GS_AR		0x481e
#define VMCS_GUEST_LDTR_AR		0x4820
#define VMCS_GUEST_TR_AR		0x4822
#define VMCS_GUEST_INTERRUPTIBILITY	0x4824
#define VMCS_GUEST_ACTIVITY_STATE	0x4826
#define VMCS_GUEST_SYSENTER_CS		0x482a
#define VMCS_HOST_SYSENTER_CS		0x4c00

/* Natural-width control fields. */
#define VMCS_CR0_GUEST_HOST_MASK	0x6000
#define VMCS_CR4_GUEST_HOST_MASK	0x6002
#define VMCS_CR0_READ_SHADOW		0x6004
#define VMCS_CR4_READ_SHADOW		0x6006

/* Natural-width read-only exit information. */
#define VMCS_EXIT_QUALIFICATION		0x6400
#define VMCS_GUEST_LINEAR_ADDRESS	0x640a

/* Natural-width guest fields. */
#define VMCS_GUEST_CR0			0x6800
#define VMCS_GUEST_CR3			0x6802
#define VMCS_GUEST_CR4			0x6804
#define VMCS_GUEST_ES_BASE		0x6806	/* +2 per segment, as above */
#define VMCS_GUEST_CS_BASE		0x6808
#define VMCS_GUEST_SS_BASE		0x680a
#define VMCS_GUEST_DS_BASE		0x680c
#define VMCS_GUEST_FS_BASE		0x680e
#define VMCS_GUEST_GS_BASE		0x6810
#define VMCS_GUEST_LDTR_BASE		0x6812
#define VMCS_GUEST_TR_BASE		0x6814
#define VMCS_GUEST_GDTR_BASE		0x6816
#define VMCS_GUEST_IDTR_BASE		0x6818
#define VMCS_GUEST_DR7			0x681a
#define VMCS_GUEST_RSP			0x681c
#define VMCS_GUEST_RIP			0x681e
#define VMCS_GUEST_RFLAGS		0x6820
#define VMCS_GUEST_PENDING_DBG		0x6822
#define VMCS_GUEST_SYSENTER_ESP		0x6824
#define VMCS_GUEST_SYSENTER_EIP		0x6826

/* Natural-width host fields. */
#define VMCS_HOST_CR0			0x6c00
#define VMCS_HOST_CR3			0x6c02
#define VMCS_HOST_CR4			0x6c04
#define VMCS_HOST_FS_BASE		0x6c06
#define VMCS_HOST_GS_BASE		0x6c08
#define VMCS_HOST_TR_BASE		0x6c0a
#define VMCS_HOST_GDTR_BASE		0x6c0c
#define VMCS_HOST_IDTR_BASE		0x6c0e
#define VMCS_HOST_SYSENTER_ESP		0x6c10
#define VMCS_HOST_SYSENTER_EIP		0x6c12
#define VMCS_HOST_RSP			0x6c14	/* written by entry.asm */
#define VMCS_HOST_RIP			0x6c16

/* The segment registers in the VMCS's order (ES CS SS DS FS GS LDTR TR):
 * each field of segment i is its ES field + 2 * i. */
enum vmcs_seg { SEG_ES, SEG_CS, SEG_SS, SEG_DS, SEG_FS, SEG_GS, SEG_LDTR,
		SEG_TR, SEG_COUNT };
#define VMCS_SEG_FIELD(es_field, seg)	((es_field) + 2 * (seg))

/* ---- Controls (the ones hv sets or must know about) --------------------- */

/* Pin-based. */
#define PIN_EXTERNAL_INTR_EXITING	(1u << 0)
#define PIN_NMI_EXITING			(1u << 3)
#define PIN_VIRTUAL_NMIS		(1u << 5)

/* Primary processor-based (VMX_PROC_ACTIVATE_SECONDARY is in vmx.h). */
#define PROC_HLT_EXITING		(1u << 7)
#define PROC_INVLPG_EXITING		(1u << 9)
#define PROC_MWAIT_EXITING		(1u << 10)
#define PROC_RDPMC_EXITING		(1u << 11)
#define PROC_RDTSC_EXITING		(1u << 12)
#define PROC_CR3_LOAD_EXITING		(1u << 15)
#define PROC_CR3_STORE_EXITING		(1u << 16)
#define PROC_CR8_LOAD_EXITING		(1u << 19)
#define PROC_CR8_STORE_EXITING		(1u << 20)
#define PROC_TPR_SHADOW			(1u << 21)
#define PROC_MOV_DR_EXITING		(1u << 23)
#define PROC_UNCOND_IO_EXITING		(1u << 24)
#define PROC_USE_IO_BITMAPS		(1u << 25)
#define PROC_USE_MSR_BITMAPS		(1u << 28)
#define PROC_MONITOR_EXITING		(1u << 29)

/* Secondary processor-based (EPT, VPID, unrestricted guest: vmx.h). */
#define PROC2_ENABLE_RDTSCP		(1u << 3)
#define PROC2_ENABLE_INVPCID		(1u << 12)

/* VM-exit controls. */
#define EXIT_SAVE_DEBUG_CONTROLS	(1u << 2)
#define EXIT_HOST_ADDR_SPACE_SIZE	(1u << 9)
#define EXIT_ACK_INTR_ON_EXIT		(1u << 15)
#define EXIT_SAVE_PAT			(1u << 18)
#define EXIT_LOAD_PAT			(1u << 19)
#define EXIT_SAVE_EFER			(1u << 20)
#define EXIT_LOAD_EFER			(1u << 21)

/* VM-entry controls. */
#define ENTRY_LOAD_DEBUG_CONTROLS	(1u << 2)
#define ENTRY_IA32E_MODE_GUEST		(1u << 9)
#define ENTRY_LOAD_PAT			(1u << 14)
#define ENTRY_LOAD_EFER			(1u << 15)

/* EPT pointer: memory type WB, page-walk length - 1 in bits 5:3. */
#define EPTP_MEMTYPE_WB			6ull
#define EPTP_WALK_4			(3ull << 3)

/* ---- Exit information --------------------------------------------------- */

/* Exit reason: basic reason in bits 15:0; bit 31 = VM-entry failure. */
#define EXIT_REASON_BASIC_MASK		0xffffu
#define EXIT_REASON_ENTRY_FAILURE	(1u << 31)

/* Basic exit reasons (SDM vol. 3D, appendix C). */
enum vmx_exit_basic {
	VMX_EXIT_EXCEPTION_NMI = 0,
	VMX_EXIT_EXTERNAL_INTR = 1,
	VMX_EXIT_TRIPLE_FAULT = 2,
	VMX_EXIT_INIT = 3,
	VMX_EXIT_SIPI = 4,
	VMX_EXIT_TASK_SWITCH = 9,
	VMX_EXIT_CPUID = 10,
	VMX_EXIT_GETSEC = 11,
	VMX_EXIT_HLT = 12,
	VMX_EXIT_INVD = 13,
	VMX_EXIT_INVLPG = 14,
	VMX_EXIT_RDPMC = 15,
	VMX_EXIT_RDTSC = 16,
	VMX_EXIT_VMCALL = 18,
	VMX_EXIT_VMCLEAR = 19,
	VMX_EXIT_VMLAUNCH = 20,
	VMX_EXIT_VMPTRLD = 21,
	VMX_EXIT_VMPTRST = 22,
	VMX_EXIT_VMREAD = 23,
	VMX_EXIT_VMRESUME = 24,
	VMX_EXIT_VMWRITE = 25,
	VMX_EXIT_VMXOFF = 26,
	VMX_EXIT_VMXON = 27,
	VMX_EXIT_CR_ACCESS = 28,
	VMX_EXIT_DR_ACCESS = 29,
	VMX_EXIT_IO = 30,
	VMX_EXIT_RDMSR = 31,
	VMX_EXIT_WRMSR = 32,
	VMX_EXIT_INVALID_GUEST_STATE = 33,	/* with ENTRY_FAILURE */
	VMX_EXIT_MSR_LOADING = 34,		/* with ENTRY_FAILURE */
	VMX_EXIT_MWAIT = 36,
	VMX_EXIT_MONITOR = 39,
	VMX_EXIT_MACHINE_CHECK = 41,		/* with ENTRY_FAILURE */
	VMX_EXIT_EPT_VIOLATION = 48,
	VMX_EXIT_EPT_MISCONFIG = 49,
	VMX_EXIT_INVEPT = 50,
	VMX_EXIT_INVVPID = 53,
	VMX_EXIT_XSETBV = 55,
	VMX_EXIT_VMFUNC = 59,
};

/*
 * Interruption information: VM-exit interruption info, IDT-vectoring
 * info and VM-entry interruption info share this layout.
 */
#define INTR_INFO_VECTOR_MASK		0xffu
#define INTR_INFO_TYPE_SHIFT		8
#define INTR_INFO_TYPE_MASK		(7u << 8)
#define INTR_INFO_ERROR_CODE		(1u << 11)
#define INTR_INFO_NMI_UNBLOCKED_IRET	(1u << 12)	/* exit info only */
#define INTR_INFO_VALID			(1u << 31)

enum intr_type {
	INTR_TYPE_EXTERNAL = 0,
	INTR_TYPE_NMI = 2,
	INTR_TYPE_HW_EXCEPTION = 3,
	INTR_TYPE_SW_INTERRUPT = 4,
	INTR_TYPE_PRIV_SW_EXCEPTION = 5,	/* INT1 */
	INTR_TYPE_SW_EXCEPTION = 6,		/* INT3, INTO */
};

static inline unsigned intr_info_type(uint32_t info)
{
	return (info & INTR_INFO_TYPE_MASK) >> INTR_INFO_TYPE_SHIFT;
}

/* Guest interruptibility state. */
#define INTERRUPTIBILITY_STI		(1u << 0)
#define INTERRUPTIBILITY_MOV_SS		(1u << 1)

/* Exit qualification of an I/O instruction (reason 30). */
#define IO_QUAL_SIZE_MASK		0x7u	/* size - 1 */
#define IO_QUAL_IN			(1u << 3)
#define IO_QUAL_STRING			(1u << 4)
#define IO_QUAL_REP			(1u << 5)
#define IO_QUAL_PORT_SHIFT		16

/* Exit qualification of a control-register access (reason 28). */
#define CR_QUAL_NUMBER_MASK		0xfu
#define CR_QUAL_TYPE_SHIFT		4
#define CR_QUAL_TYPE_MASK		(3u << 4)
#define CR_QUAL_GPR_SHIFT		8
#define CR_QUAL_GPR_MASK		(0xfu << 8)
#define CR_QUAL_LMSW_DATA_SHIFT		16
enum cr_access_type { CR_MOV_TO = 0, CR_MOV_FROM = 1, CR_CLTS = 2,
		      CR_LMSW = 3 };

/* Exit qualification of an EPT violation (reason 48). */
#define EPT_QUAL_READ			(1u << 0)
#define EPT_QUAL_WRITE			(1u << 1)
#define EPT_QUAL_FETCH			(1u << 2)
#define EPT_QUAL_READABLE		(1u << 3)	/* what the entry */
#define EPT_QUAL_WRITABLE		(1u << 4)	/* allowed */
#define EPT_QUAL_EXECUTABLE		(1u << 5)
#define EPT_QUAL_LINEAR_VALID		(1u << 7)

/* Segment access rights as the VMCS holds them. */
#define AR_TYPE_MASK			0xfu
#define AR_DPL_SHIFT			5
#define AR_DPL_MASK			(3u << 5)
#define AR_LONG				(1u << 13)	/* CS.L */
#define AR_DB				(1u << 14)	/* D/B */
#define AR_UNUSABLE			(1u << 16)

/* INVEPT / INVVPID types. */
#define INVEPT_SINGLE_CONTEXT		1
#define INVEPT_ALL_CONTEXT		2
#define INVVPID_ADDRESS			0
#define INVVPID_SINGLE_CONTEXT		1
#define INVVPID_ALL_CONTEXT		2

/* ---- Instructions ------------------------------------------------------- */

enum vmx_status {
	VMX_SUCCEED,
	VMX_FAIL_INVALID,	/* CF=1: no current VMCS to hold an error */
	VMX_FAIL_VALID,		/* ZF=1: error number in the current VMCS */
};

/* "setc; setz" after a VMX instruction into a status. */
static inline enum vmx_status vmx_status_of(bool cf, bool zf)
{
	if (cf)
		return VMX_FAIL_INVALID;
	return zf ? VMX_FAIL_VALID : VMX_SUCCEED;
}

#define VMX_INSN_STATUS(insn, ...)					\
	({								\
		bool cf_, zf_;						\
		__asm__ volatile(insn "\n\tsetc %0\n\tsetz %1"		\
				 : "=qm"(cf_), "=qm"(zf_)		\
				 : __VA_ARGS__ : "cc", "memory");	\
		vmx_status_of(cf_, zf_);				\
	})

static inline enum vmx_status vmx_vmclear(uint64_t vmcs_pa)
{
	return VMX_INSN_STATUS("vmclear %2", "m"(vmcs_pa));
}

static inline enum vmx_status vmx_vmptrld(uint64_t vmcs_pa)
{
	return VMX_INSN_STATUS("vmptrld %2", "m"(vmcs_pa));
}

/* The reason of a failed VMREAD/VMWRITE; never returns. */
__noreturn void vmcs_access_failed(const char *insn, uint64_t field,
				   enum vmx_status status);

static inline bool vmcs_read_checked(uint64_t field, uint64_t *value)
{
	bool cf, zf;

	__asm__ volatile("vmread %[field], %[value]\n\t"
			 "setc %[cf]\n\tsetz %[zf]"
			 : [value] "=rm"(*value), [cf] "=qm"(cf), [zf] "=qm"(zf)
			 : [field] "r"(field)
			 : "cc");
	return vmx_status_of(cf, zf) == VMX_SUCCEED;
}

static inline uint64_t vmcs_read(uint64_t field)
{
	uint64_t value;
	bool cf, zf;

	__asm__ volatile("vmread %[field], %[value]\n\t"
			 "setc %[cf]\n\tsetz %[zf]"
			 : [value] "=r"(value), [cf] "=qm"(cf), [zf] "=qm"(zf)
			 : [field] "r"(field)
			 : "cc");
	if (unlikely(cf || zf))
		vmcs_access_failed("VMREAD", field, vmx_status_of(cf, zf));
	return value;
}

static inline uint32_t vmcs_read32(uint64_t field)
{
	return (uint32_t)vmcs_read(field);
}

static inline void vmcs_write(uint64_t field, uint64_t value)
{
	bool cf, zf;

	__asm__ volatile("vmwrite %[value], %[field]\n\t"
			 "setc %[cf]\n\tsetz %[zf]"
			 : [cf] "=qm"(cf), [zf] "=qm"(zf)
			 : [field] "r"(field), [value] "rm"(value)
			 : "cc", "memory");
	if (unlikely(cf || zf))
		vmcs_access_failed("VMWRITE", field, vmx_status_of(cf, zf));
}

struct vmx_invept_desc {
	uint64_t eptp;
	uint64_t reserved;
};

struct vmx_invvpid_desc {
	uint64_t vpid;		/* bits 15:0; the rest must be zero */
	uint64_t linear;
};

static inline enum vmx_status vmx_invept(uint64_t type, uint64_t eptp)
{
	struct vmx_invept_desc desc = { eptp, 0 };

	return VMX_INSN_STATUS("invept %2, %3", "m"(desc), "r"(type));
}

static inline enum vmx_status vmx_invvpid(uint64_t type, uint16_t vpid,
					  uint64_t linear)
{
	struct vmx_invvpid_desc desc = { vpid, linear };

	return VMX_INSN_STATUS("invvpid %2, %3", "m"(desc), "r"(type));
}

/* The VM-instruction error numbers' meanings (SDM vol. 3C, 31.4), for
 * messages; "?" for numbers it does not know. */
const char *vmx_instruction_error_name(uint32_t error);

#endif
