/*
 * Emulating one guest instruction (virt/emulate.h) against the guest's
 * memory: for accesses to unassigned guest-physical addresses (MMIO), for
 * writes to page tables the shadow MMU write-protects, and for the system
 * instructions shadow paging intercepts when the CPU does not decode them
 * (MOV CR, CLTS, LMSW, SMSW, INVLPG on SVM without decode assists).
 */
#ifndef VIRT_GUEST_EMULATE_H
#define VIRT_GUEST_EMULATE_H

#include <stdbool.h>
#include <stdint.h>
#include "virt/vcpu.h"

enum emulate_why {
	EMULATE_MMIO,		/* the access went to 'gpa', unassigned */
	EMULATE_PT_WRITE,	/* a write to a shadowed page table at 'gpa' */
	EMULATE_SYSTEM,		/* an intercepted system instruction */
};

/*
 * Emulate the instruction at RIP. Unassigned addresses read all ones and
 * writes there vanish, as on a PC with nothing there; RAM operands work
 * normally (under shadow paging through the shadow MMU, which sees every
 * write to guest RAM). Faults the instruction raises go to the guest.
 * False when the VM was stopped (an instruction the emulator does not
 * know, except for a page-table write: that page is unshadowed and the
 * guest runs the instruction itself).
 */
bool emulate_guest_insn(struct vcpu *vcpu, enum emulate_why why,
			uint64_t gpa);

/* EXIT_NPF to an unassigned address (nested paging). */
bool handle_mmio(struct vcpu *vcpu);

#endif
