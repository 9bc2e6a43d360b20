/*
 * Shadow paging in the hypervisor: the vendor-neutral glue between the
 * portable shadow MMU (mmu/shadow.h, whose top comment is the contract)
 * and the SVM/VMX backends. docs/mmu.md ("Shadow paging in the
 * hypervisor") describes the flow of each event.
 *
 *   virt/shadow_vm.c   VM and vCPU set-up, the TLB shootdown, the state
 *                      loaded before each entry, #PF, INVLPG, counters
 *   virt/shadow_cr.c   MOV to/from CR0/CR3/CR4, CLTS, LMSW, EFER: the
 *                      architectural checks, then the MMU
 *
 * The guest's own view of CR0/CR3/CR4/EFER lives in vcpu->shadow.paging;
 * the hardware runs with shadow_hw_*() and CR3 = the shadow root.
 */
#ifndef VIRT_SHADOW_VM_H
#define VIRT_SHADOW_VM_H

#include <stdbool.h>
#include <stdint.h>
#include "virt/vcpu.h"
#include "virt/vm.h"

bool vm_shadow_init(struct vm *vm, const struct vm_config *config);

/* On the vCPU's CPU, before virt->vcpu_create: its roots, and the entry
 * state (protected mode, paging off). False with a message. */
bool vcpu_shadow_init(struct vcpu *vcpu);
void vcpu_shadow_destroy(struct vcpu *vcpu);

/* Before each entry, interrupts on (it may take the MMU lock): reload a
 * zapped root, and hand the backend new hardware state if anything
 * changed. False when the VM was stopped. */
bool vcpu_shadow_prepare_entry(struct vcpu *vcpu);

/* Exit handlers (virt/exits.c). False when the vCPU must stop. */
bool handle_shadow_pf(struct vcpu *vcpu);
bool handle_cr_access(struct vcpu *vcpu);
bool handle_invlpg(struct vcpu *vcpu);

/* The guest's view of its control registers, for vcpu->sregs: called by
 * the backends after each exit in shadow mode. */
static inline void vcpu_shadow_view(const struct vcpu *vcpu,
				    struct vcpu_sregs *s)
{
	const struct guest_paging *p = &vcpu->shadow.paging;

	s->cr0 = p->cr0;
	s->cr3 = p->cr3;
	s->cr4 = p->cr4;
	s->efer = p->efer;
}

static inline bool vm_is_shadow(const struct vm *vm)
{
	return vm->mmu_mode == MMU_MODE_SHADOW;
}

/* ---- virt/shadow_cr.c ------------------------------------------------- */

/* The shadow MMU's answer to a CR write or root load as those results:
 * 0, 1 (#GP), or -1 after stopping the VM with the reason. */
int shadow_cr_outcome(struct vcpu *vcpu, enum shadow_cr_result r);

/* Results of the writes: 0 done, 1 refused (#GP(0) for the guest, nothing
 * changed), -1 the VM was stopped (with a message). */
int shadow_cr_read(struct vcpu *vcpu, unsigned cr, uint64_t *value);
int shadow_cr_write(struct vcpu *vcpu, unsigned cr, uint64_t value);
int shadow_efer_write(struct vcpu *vcpu, uint64_t value);
void shadow_vcpu_invlpg(struct vcpu *vcpu, uint64_t gva);

/* One summary line of the VM's shadow MMU counters. */
void vm_shadow_print_stats(const struct vm *vm);

#endif
