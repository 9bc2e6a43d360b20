/* Guest accesses to guest-physical addresses outside RAM. */
#ifndef VIRT_MMIO_H
#define VIRT_MMIO_H

#include <stdbool.h>
#include "virt/vcpu.h"

/*
 * Emulate the instruction that touched an unassigned address: reads give
 * all ones and writes vanish, as on a PC with nothing there. Guest RAM
 * operands of the same instruction (a MOVS from RAM, say) work normally.
 */
bool handle_mmio(struct vcpu *vcpu);

#endif
