/*
 * The VMCB: the 4 KiB page that describes a guest to VMRUN (AMD APM vol. 2,
 * appendix B). The control area (0x000-0x3ff) says what to intercept and
 * how to enter; the state save area (0x400-) holds the guest's registers,
 * written back by the CPU on every #VMEXIT.
 *
 * Only this folder includes this header. Fields hv does not use are
 * reserved padding here; the offsets that matter are checked below, so a
 * padding slip fails the build instead of corrupting a field. Every field
 * is naturally aligned, so the structs need no packing (and their fields
 * can be passed by pointer).
 */
#ifndef ARCH_X86_SVM_VMCB_H
#define ARCH_X86_SVM_VMCB_H

#include <stddef.h>
#include <stdint.h>
#include "kernel/compiler.h"

/* ---- Control area ------------------------------------------------------ */

/* Intercept vector 3 (offset 0x0c). */
#define VMCB_INTERCEPT_INTR		(1u << 0)
#define VMCB_INTERCEPT_NMI		(1u << 1)
#define VMCB_INTERCEPT_SMI		(1u << 2)
#define VMCB_INTERCEPT_INIT		(1u << 3)
#define VMCB_INTERCEPT_CPUID		(1u << 18)
#define VMCB_INTERCEPT_INVD		(1u << 22)
#define VMCB_INTERCEPT_HLT		(1u << 24)
#define VMCB_INTERCEPT_INVLPG		(1u << 25)
#define VMCB_INTERCEPT_INVLPGA		(1u << 26)
#define VMCB_INTERCEPT_IOIO_PROT	(1u << 27)
#define VMCB_INTERCEPT_MSR_PROT		(1u << 28)
#define VMCB_INTERCEPT_TASK_SWITCH	(1u << 29)
#define VMCB_INTERCEPT_SHUTDOWN		(1u << 31)

/* Intercept vector 4 (offset 0x10). */
#define VMCB_INTERCEPT_VMRUN		(1u << 0)	/* must be set */
#define VMCB_INTERCEPT_VMMCALL		(1u << 1)
#define VMCB_INTERCEPT_VMLOAD		(1u << 2)
#define VMCB_INTERCEPT_VMSAVE		(1u << 3)
#define VMCB_INTERCEPT_STGI		(1u << 4)
#define VMCB_INTERCEPT_CLGI		(1u << 5)
#define VMCB_INTERCEPT_SKINIT		(1u << 6)
#define VMCB_INTERCEPT_MONITOR		(1u << 10)
#define VMCB_INTERCEPT_MWAIT		(1u << 11)
#define VMCB_INTERCEPT_MWAIT_ARMED	(1u << 12)
#define VMCB_INTERCEPT_XSETBV		(1u << 13)

/* TLB_CONTROL (offset 0x5c). 3 and 7 need flush-by-ASID. */
#define VMCB_TLB_NOTHING		0
#define VMCB_TLB_FLUSH_ALL		1	/* every ASID, host's too */
#define VMCB_TLB_FLUSH_ASID		3	/* this guest's ASID only */

/* Virtual interrupt control (offset 0x60). */
#define VMCB_V_INTR_MASKING		(1ull << 24)

/* Offset 0x90. */
#define VMCB_NP_ENABLE			(1ull << 0)

/* VMCB clean bits (offset 0xc0): a set bit says "unchanged since the last
 * VMRUN of this VMCB on this CPU", so the CPU may use a cached copy. */
#define VMCB_CLEAN_INTERCEPTS		(1u << 0)	/* + TSC offset */
#define VMCB_CLEAN_IOPM			(1u << 1)	/* IOPM, MSRPM bases */
#define VMCB_CLEAN_ASID			(1u << 2)
#define VMCB_CLEAN_TPR			(1u << 3)	/* V_INTR fields */
#define VMCB_CLEAN_NP			(1u << 4)	/* NP_ENABLE, N_CR3, G_PAT */
#define VMCB_CLEAN_CRX			(1u << 5)	/* CR0, CR3, CR4, EFER */
#define VMCB_CLEAN_DRX			(1u << 6)	/* DR6, DR7 */
#define VMCB_CLEAN_DT			(1u << 7)	/* GDTR, IDTR */
#define VMCB_CLEAN_SEG			(1u << 8)	/* ES CS SS DS, CPL */
#define VMCB_CLEAN_CR2			(1u << 9)
#define VMCB_CLEAN_LBR			(1u << 10)
#define VMCB_CLEAN_ALL			0x7ffu

/*
 * EVENTINJ (offset 0xa8) and EXITINTINFO (offset 0x88) share a format:
 * vector 7:0, type 10:8, error code valid 11, valid 31, error code 63:32.
 */
#define VMCB_EVENT_VECTOR_MASK		0xffull
#define VMCB_EVENT_TYPE_SHIFT		8
#define VMCB_EVENT_TYPE_MASK		(7ull << VMCB_EVENT_TYPE_SHIFT)
#define VMCB_EVENT_TYPE_INTR		(0ull << VMCB_EVENT_TYPE_SHIFT)
#define VMCB_EVENT_TYPE_NMI		(2ull << VMCB_EVENT_TYPE_SHIFT)
#define VMCB_EVENT_TYPE_EXCEPTION	(3ull << VMCB_EVENT_TYPE_SHIFT)
#define VMCB_EVENT_TYPE_SOFT_INT	(4ull << VMCB_EVENT_TYPE_SHIFT)
#define VMCB_EVENT_ERROR_VALID		(1ull << 11)
#define VMCB_EVENT_VALID		(1ull << 31)
#define VMCB_EVENT_ERROR_SHIFT		32

/* ---- Exit codes (appendix C) ------------------------------------------- */

#define SVM_EXIT_READ_CR0		0x00	/* + n: MOV from CRn (SMSW: CR0) */
#define SVM_EXIT_WRITE_CR0		0x10	/* + n: MOV to CRn, CLTS, LMSW */
#define SVM_EXIT_EXCEPTION_BASE		0x40	/* + vector, to 0x5f */
#define SVM_EXIT_INTR			0x60
#define SVM_EXIT_NMI			0x61
#define SVM_EXIT_SMI			0x62
#define SVM_EXIT_INIT			0x63
#define SVM_EXIT_CPUID			0x72
#define SVM_EXIT_INVD			0x76
#define SVM_EXIT_HLT			0x78
#define SVM_EXIT_INVLPG			0x79
#define SVM_EXIT_INVLPGA		0x7a
#define SVM_EXIT_IOIO			0x7b
#define SVM_EXIT_MSR			0x7c
#define SVM_EXIT_TASK_SWITCH		0x7d
#define SVM_EXIT_SHUTDOWN		0x7f
#define SVM_EXIT_VMRUN			0x80
#define SVM_EXIT_VMMCALL		0x81
#define SVM_EXIT_VMLOAD			0x82
#define SVM_EXIT_VMSAVE			0x83
#define SVM_EXIT_STGI			0x84
#define SVM_EXIT_CLGI			0x85
#define SVM_EXIT_SKINIT			0x86
#define SVM_EXIT_MONITOR		0x8a
#define SVM_EXIT_MWAIT			0x8b
#define SVM_EXIT_MWAIT_ARMED		0x8c
#define SVM_EXIT_XSETBV			0x8d
#define SVM_EXIT_NPF			0x400
/* VMRUN refused the VMCB. The APM defines it as -1; QEMU 7.2 stores it as
 * a 32-bit value (0x00000000ffffffff): compare the low 32 bits only. */
#define SVM_EXIT_INVALID		0xffffffffu

/* EXITINFO1 of an IOIO exit. */
#define SVM_IOIO_IN			(1ull << 0)
#define SVM_IOIO_STRING			(1ull << 2)
#define SVM_IOIO_REP			(1ull << 3)
#define SVM_IOIO_SIZE_SHIFT		4	/* 4: 8-bit, 5: 16, 6: 32 */
#define SVM_IOIO_SIZE_MASK		(7ull << SVM_IOIO_SIZE_SHIFT)
#define SVM_IOIO_PORT_SHIFT		16

/* EXITINFO1 of a nested page fault: a #PF error code plus two flags. */
#define SVM_NPF_PRESENT			(1ull << 0)
#define SVM_NPF_WRITE			(1ull << 1)
#define SVM_NPF_USER			(1ull << 2)
#define SVM_NPF_RESERVED		(1ull << 3)
#define SVM_NPF_FETCH			(1ull << 4)
#define SVM_NPF_FINAL_GPA		(1ull << 32)	/* the access itself */
#define SVM_NPF_PAGE_WALK		(1ull << 33)	/* the guest's walk */

struct vmcb_control {
	uint32_t intercept_cr;			/* 0x000 */
	uint32_t intercept_dr;			/* 0x004 */
	uint32_t intercept_exceptions;		/* 0x008 */
	uint32_t intercept_misc1;		/* 0x00c: vector 3 */
	uint32_t intercept_misc2;		/* 0x010: vector 4 */
	uint32_t intercept_misc3;		/* 0x014: vector 5 */
	uint8_t reserved_018[0x03c - 0x018];
	uint16_t pause_filter_threshold;	/* 0x03c */
	uint16_t pause_filter_count;		/* 0x03e */
	uint64_t iopm_base_pa;			/* 0x040 */
	uint64_t msrpm_base_pa;			/* 0x048 */
	uint64_t tsc_offset;			/* 0x050 */
	uint32_t guest_asid;			/* 0x058 */
	uint8_t tlb_control;			/* 0x05c */
	uint8_t reserved_05d[3];
	uint64_t int_control;			/* 0x060: V_TPR ... V_INTR_VECTOR */
	uint64_t int_state;			/* 0x068: interrupt shadow */
	uint64_t exit_code;			/* 0x070 */
	uint64_t exit_info1;			/* 0x078 */
	uint64_t exit_info2;			/* 0x080 */
	uint64_t exit_int_info;			/* 0x088 */
	uint64_t np_control;			/* 0x090: NP_ENABLE, SEV */
	uint64_t avic_apic_bar;			/* 0x098 */
	uint64_t ghcb_pa;			/* 0x0a0 */
	uint64_t event_inj;			/* 0x0a8 */
	uint64_t n_cr3;				/* 0x0b0 */
	uint64_t virt_ext;			/* 0x0b8: LBR virt, VMSAVE virt */
	uint32_t clean;				/* 0x0c0 */
	uint32_t reserved_0c4;
	uint64_t next_rip;			/* 0x0c8: with NRIPS */
	uint8_t insn_bytes_fetched;		/* 0x0d0: with decode assists */
	uint8_t insn_bytes[15];			/* 0x0d1 */
	uint8_t reserved_0e0[0x400 - 0x0e0];
};

/* ---- State save area (offset 0x400) ------------------------------------ */

/*
 * A segment as the VMCB keeps it. 'attrib' packs the descriptor's access
 * byte (bits 7:0 = descriptor bits 47:40: type, S, DPL, P) and its flags
 * (bits 11:8 = descriptor bits 55:52: AVL, L, D/B, G).
 */
struct vmcb_seg {
	uint16_t selector;
	uint16_t attrib;
	uint32_t limit;
	uint64_t base;
};

#define VMCB_ATTR_TYPE_MASK		0x00fu
#define VMCB_ATTR_S			(1u << 4)
#define VMCB_ATTR_DPL_SHIFT		5
#define VMCB_ATTR_P			(1u << 7)
#define VMCB_ATTR_AVL			(1u << 8)
#define VMCB_ATTR_L			(1u << 9)
#define VMCB_ATTR_DB			(1u << 10)
#define VMCB_ATTR_G			(1u << 11)

struct vmcb_save {
	struct vmcb_seg es;			/* 0x000 */
	struct vmcb_seg cs;			/* 0x010 */
	struct vmcb_seg ss;			/* 0x020 */
	struct vmcb_seg ds;			/* 0x030 */
	struct vmcb_seg fs;			/* 0x040 */
	struct vmcb_seg gs;			/* 0x050 */
	struct vmcb_seg gdtr;			/* 0x060: base and limit only */
	struct vmcb_seg ldtr;			/* 0x070 */
	struct vmcb_seg idtr;			/* 0x080: base and limit only */
	struct vmcb_seg tr;			/* 0x090 */
	uint8_t reserved_0a0[0x0cb - 0x0a0];
	uint8_t cpl;				/* 0x0cb */
	uint32_t reserved_0cc;
	uint64_t efer;				/* 0x0d0 */
	uint8_t reserved_0d8[0x148 - 0x0d8];
	uint64_t cr4;				/* 0x148 */
	uint64_t cr3;				/* 0x150 */
	uint64_t cr0;				/* 0x158 */
	uint64_t dr7;				/* 0x160 */
	uint64_t dr6;				/* 0x168 */
	uint64_t rflags;			/* 0x170 */
	uint64_t rip;				/* 0x178 */
	uint8_t reserved_180[0x1d8 - 0x180];
	uint64_t rsp;				/* 0x1d8 */
	uint64_t s_cet;				/* 0x1e0 */
	uint64_t ssp;				/* 0x1e8 */
	uint64_t isst_addr;			/* 0x1f0 */
	uint64_t rax;				/* 0x1f8 */
	uint64_t star;				/* 0x200 */
	uint64_t lstar;				/* 0x208 */
	uint64_t cstar;				/* 0x210 */
	uint64_t sfmask;			/* 0x218 */
	uint64_t kernel_gs_base;		/* 0x220 */
	uint64_t sysenter_cs;			/* 0x228 */
	uint64_t sysenter_esp;			/* 0x230 */
	uint64_t sysenter_eip;			/* 0x238 */
	uint64_t cr2;				/* 0x240 */
	uint8_t reserved_248[0x268 - 0x248];
	uint64_t g_pat;				/* 0x268: guest PAT with NPT */
	uint64_t dbgctl;			/* 0x270 */
	uint64_t br_from;			/* 0x278 */
	uint64_t br_to;				/* 0x280 */
	uint64_t last_excp_from;		/* 0x288 */
	uint64_t last_excp_to;			/* 0x290 */
	uint8_t reserved_298[0xc00 - 0x298];
};

struct vmcb {
	struct vmcb_control control;
	struct vmcb_save save;
};

#define VMCB_CTL(f)	offsetof(struct vmcb, control.f)
#define VMCB_SAVE(f)	offsetof(struct vmcb, save.f)

_Static_assert(sizeof(struct vmcb_seg) == 16, "VMCB segment is 16 bytes");
_Static_assert(sizeof(struct vmcb) == 4096, "the VMCB is one page");
_Static_assert(VMCB_CTL(intercept_misc1) == 0x00c, "intercept vector 3");
_Static_assert(VMCB_CTL(intercept_misc2) == 0x010, "intercept vector 4");
_Static_assert(VMCB_CTL(pause_filter_threshold) == 0x03c, "pause filter");
_Static_assert(VMCB_CTL(iopm_base_pa) == 0x040, "IOPM base");
_Static_assert(VMCB_CTL(msrpm_base_pa) == 0x048, "MSRPM base");
_Static_assert(VMCB_CTL(guest_asid) == 0x058, "ASID");
_Static_assert(VMCB_CTL(tlb_control) == 0x05c, "TLB_CONTROL");
_Static_assert(VMCB_CTL(int_control) == 0x060, "V_INTR control");
_Static_assert(VMCB_CTL(int_state) == 0x068, "interrupt shadow");
_Static_assert(VMCB_CTL(exit_code) == 0x070, "EXITCODE");
_Static_assert(VMCB_CTL(exit_info1) == 0x078, "EXITINFO1");
_Static_assert(VMCB_CTL(exit_info2) == 0x080, "EXITINFO2");
_Static_assert(VMCB_CTL(exit_int_info) == 0x088, "EXITINTINFO");
_Static_assert(VMCB_CTL(np_control) == 0x090, "NP_ENABLE");
_Static_assert(VMCB_CTL(event_inj) == 0x0a8, "EVENTINJ");
_Static_assert(VMCB_CTL(n_cr3) == 0x0b0, "N_CR3");
_Static_assert(VMCB_CTL(clean) == 0x0c0, "VMCB clean bits");
_Static_assert(VMCB_CTL(next_rip) == 0x0c8, "nRIP");
_Static_assert(VMCB_CTL(insn_bytes) == 0x0d1, "guest instruction bytes");
_Static_assert(offsetof(struct vmcb, save) == 0x400, "state save area");
_Static_assert(VMCB_SAVE(cs) == 0x400 + 0x010, "CS");
_Static_assert(VMCB_SAVE(gdtr) == 0x400 + 0x060, "GDTR");
_Static_assert(VMCB_SAVE(tr) == 0x400 + 0x090, "TR");
_Static_assert(VMCB_SAVE(cpl) == 0x400 + 0x0cb, "CPL");
_Static_assert(VMCB_SAVE(efer) == 0x400 + 0x0d0, "EFER");
_Static_assert(VMCB_SAVE(cr4) == 0x400 + 0x148, "CR4");
_Static_assert(VMCB_SAVE(cr0) == 0x400 + 0x158, "CR0");
_Static_assert(VMCB_SAVE(dr6) == 0x400 + 0x168, "DR6");
_Static_assert(VMCB_SAVE(rflags) == 0x400 + 0x170, "RFLAGS");
_Static_assert(VMCB_SAVE(rip) == 0x400 + 0x178, "RIP");
_Static_assert(VMCB_SAVE(rsp) == 0x400 + 0x1d8, "RSP");
_Static_assert(VMCB_SAVE(rax) == 0x400 + 0x1f8, "RAX");
_Static_assert(VMCB_SAVE(star) == 0x400 + 0x200, "STAR");
_Static_assert(VMCB_SAVE(kernel_gs_base) == 0x400 + 0x220, "KernelGSBase");
_Static_assert(VMCB_SAVE(sysenter_eip) == 0x400 + 0x238, "SYSENTER_EIP");
_Static_assert(VMCB_SAVE(cr2) == 0x400 + 0x240, "CR2");
_Static_assert(VMCB_SAVE(g_pat) == 0x400 + 0x268, "G_PAT");
_Static_assert(VMCB_SAVE(dbgctl) == 0x400 + 0x270, "DBGCTL");

/* The permission maps: every bit set intercepts every port and MSR. */
#define SVM_IOPM_PAGES			3	/* 12 KiB: 64K ports + 3 bits */
#define SVM_MSRPM_PAGES			2	/* 8 KiB: 3 ranges x 8K MSRs x 2 */

#endif
