/*
 * The vendor-neutral face of hardware virtualization. arch/x86/vmx and
 * arch/x86/svm each fill one struct virt_ops; nothing outside those two
 * folders knows a VMCS field, a VMCB offset or a vendor MSR.
 *
 * This part: find out whether the machine can virtualize, say so
 * clearly when it cannot (naming the firmware setting to change), and turn
 * it on on every CPU. Later issues add the vCPU operations.
 */
#ifndef VIRT_VIRT_H
#define VIRT_VIRT_H

#include <stdbool.h>
#include <stddef.h>

struct percpu;

struct virt_ops {
	const char *name;		/* "Intel VMX", "AMD SVM" */

	/*
	 * On the boot CPU, before the others start: does this CPU support the
	 * extension, and did the firmware leave it usable? Reads the
	 * capability MSRs/CPUID leaves once and keeps them. On failure writes
	 * a sentence for the user into 'why' (what is missing, and which
	 * firmware setting to change if that is the cause) and returns false.
	 */
	bool (*probe)(char *why, size_t why_size);

	/* Print the features found by probe, once, as a short list. */
	void (*print_features)(void);

	/*
	 * On each CPU (the boot CPU too), after probe succeeded: turn it on
	 * for the calling CPU (VMX: feature control, CR0/CR4 fixed bits,
	 * VMXON; SVM: VM_CR check, EFER.SVME, VM_HSAVE_PA). Allocates what
	 * the CPU needs (cpu->vmxon_pa / hsave_pa). Returns false with a
	 * reason in cpu->virt_why.
	 */
	bool (*enable_cpu)(struct percpu *cpu);

	/* Undo enable_cpu on the calling CPU. */
	void (*disable_cpu)(struct percpu *cpu);
};

extern const struct virt_ops vmx_ops;
extern const struct virt_ops svm_ops;

/*
 * Choose the vendor by CPUID, probe, print the feature list. Without a
 * usable extension: print the reason and stop the machine cleanly
 * (machine_exit(false)); this function returns only on success.
 */
const struct virt_ops *virt_init(void);

/* The ops chosen by virt_init(), or NULL before. */
extern const struct virt_ops *virt;

/* Turn virtualization on for the calling CPU; logs one line either way:
 * "virt: cpuN APIC ID A: AMD SVM on" or "...: off: <why>". */
bool virt_enable_this_cpu(void);

#endif
