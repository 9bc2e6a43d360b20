/* The vCPU run loop, and starting the guests given as boot modules. */
#ifndef VIRT_RUN_H
#define VIRT_RUN_H

#include "kernel/bootinfo.h"
#include "virt/vcpu.h"

/* The loop that runs a vCPU on its pinned physical CPU until its VM ends
 * (smp_run_on's function: the argument is the struct vcpu). */
void vcpu_run_loop(void *vcpu);

/* Make a vCPU's physical CPU look at it again (started, or its VM ended). */
void vcpu_wake(struct vcpu *vcpu);

/* Seconds a VM may run before it is stopped (guest_timeout=). */
extern unsigned guest_timeout_s;

/* Load every module as a guest, run them all, print the summary table.
 * Returns false if no guest could be started. */
bool run_guests(const struct boot_info *bi);

#endif
