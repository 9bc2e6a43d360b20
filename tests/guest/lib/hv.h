/* Finding the hypervisor and calling it (the ABI is virt/hypercall.h).
 *
 * The hypervisor is present when CPUID.1:ECX bit 31 ("hypervisor") is set
 * and leaf 0x40000000 spells HV_CPUID_SIGNATURE. Bare QEMU TCG also sets
 * bit 31 and answers leaf 0x40000000 with "TCGTCGTCGTCG": that is how a
 * guest knows it runs on bare TCG and may accept TCG's documented
 * deviations (docs/testing.md). Without the hypervisor no hypercall is
 * made: hypercall() returns HC_ENOSYS at once.
 */
#ifndef TESTS_GUEST_LIB_HV_H
#define TESTS_GUEST_LIB_HV_H

#include <stdbool.h>
#include <stdint.h>

#include "virt/hypercall.h"

struct hv_info {
	bool hv_bit;		/* CPUID.1:ECX[31] */
	uint32_t max_leaf;	/* CPUID 0x40000000 EAX, when hv_bit */
	char signature[13];	/* its EBX, ECX, EDX; "" without hv_bit */
	bool present;		/* signature == HV_CPUID_SIGNATURE */
	bool tcg;		/* signature == "TCGTCGTCGTCG" */
	uint32_t abi_version;	/* CPUID 0x40000001 EAX, when present */
	bool vmmcall;		/* AMD: VMMCALL, else VMCALL */
};

/* Reads CPUID once; later calls return the same answer. */
const struct hv_info *hv_detect(void);
bool hv_present(void);
/* "hv", "QEMU TCG" or "no hypervisor"/another signature: for output. */
const char *platform_name(void);

/* RAX = nr, RBX, RCX, RDX = a, b, c; returns RAX (HC_OK or HC_E*). */
int32_t hypercall(uint32_t nr, uint32_t a, uint32_t b, uint32_t c);

#endif
