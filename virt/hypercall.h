/*
 * The hypercall ABI (docs/hypercalls.md). Plain constants: test guests
 * include this file too.
 *
 * A guest finds the hypervisor with CPUID leaf 0x40000000 (EBX, ECX, EDX
 * spell HV_CPUID_SIGNATURE; EAX is the highest hypervisor leaf) and calls
 * it with VMCALL on Intel CPUs, VMMCALL on AMD ones (CPUID leaf 0's vendor
 * string says which): RAX = number, RBX, RCX, RDX = arguments; the result
 * comes back in RAX (HC_OK or a negative HC_E*); other registers are kept.
 */
#ifndef VIRT_HYPERCALL_H
#define VIRT_HYPERCALL_H

#define HV_CPUID_BASE		0x40000000u
#define HV_CPUID_FEATURES	0x40000001u	/* EAX = ABI version */
#define HV_CPUID_SIGNATURE	"hvHYPERVISOR"	/* EBX, ECX, EDX */
#define HV_ABI_VERSION		1

enum hypercall_number {
	HC_NOP = 0,		/* nothing; for the exit benchmark */
	HC_EXIT = 1,		/* RBX = 0 pass, else fail: ends the VM */
	HC_VCPU_ID = 2,		/* returns this vCPU's index */
	HC_START_VCPU = 3,	/* RBX = vCPU index, RCX = EIP, RDX = ESP:
				   start a secondary vCPU there (32-bit
				   protected mode, paging off, EAX = index) */
	HC_PUTS = 4,		/* RBX = guest-physical address, RCX = length
				   (at most 256): print it as the guest's line */
	HC_COUNT
};

#define HC_OK		0
#define HC_ENOSYS	(-1)	/* unknown number */
#define HC_EINVAL	(-2)	/* bad argument */

#endif
