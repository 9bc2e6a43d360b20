/* Exit handling, vendor-neutral. */
#ifndef VIRT_EXITS_H
#define VIRT_EXITS_H

#include <stdbool.h>
#include "virt/vcpu.h"

/* Handle vcpu->exit. False when this vCPU must leave its run loop. */
bool handle_exit(struct vcpu *vcpu);

bool handle_io(struct vcpu *vcpu);
bool handle_cpuid(struct vcpu *vcpu);
bool handle_msr(struct vcpu *vcpu);
bool handle_hypercall(struct vcpu *vcpu);

/* Stop the VM with 'why', log it and dump the registers; false. */
bool stop_with_dump(struct vcpu *vcpu, const char *why);

/* Print the vCPU's registers and the backend's view of its state. */
void vcpu_dump(struct vcpu *vcpu);

/* Advance RIP past the instruction that exited. */
static inline void skip_instruction(struct vcpu *vcpu)
{
	vcpu->regs.rip += vcpu->exit.insn_len;
}

#endif
