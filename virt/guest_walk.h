/* Linear to guest-physical, for the emulator's fetches and accesses. */
#ifndef VIRT_GUEST_WALK_H
#define VIRT_GUEST_WALK_H

#include <stdbool.h>
#include <stdint.h>
#include "virt/vcpu.h"

/*
 * Translate through the guest's own page tables (paging off, 32-bit with
 * 4M pages, PAE, 4- and 5-level). No permission checks and no A/D updates:
 * the hardware already did those for the access that exited; the shadow
 * MMU's walker (mmu/) does the exact ones. False if not mapped.
 */
bool guest_translate(struct vcpu *vcpu, uint64_t linear, uint64_t *gpa);

#endif
