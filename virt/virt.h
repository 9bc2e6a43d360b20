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
#include <stdint.h>

struct percpu;
struct vcpu;
struct tdp_format;

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

	/* ---- vCPUs (all called on the vCPU's own physical CPU) ---- */

	/*
	 * Allocate the VMCB/VMCS and set the guest's entry state: 32-bit
	 * protected mode, paging off, flat 4 GiB CS/DS/ES/SS (CS 0x08, data
	 * 0x10), interrupts off, vcpu->regs as given (EIP, EAX = multiboot
	 * magic, EBX = info address). Intercepts: IN/OUT (all ports),
	 * CPUID, RDMSR/WRMSR (all MSRs), HLT, VMCALL/VMMCALL, INVD,
	 * shutdown/triple fault, the other VMX/SVM instructions, physical
	 * interrupts (so kicks reach the host). Nested paging on, root from
	 * vm->mmu (load_mmu_root). Returns false with a message if the CPU
	 * cannot run it (e.g. VMX without unrestricted guest).
	 */
	bool (*vcpu_create)(struct vcpu *vcpu);
	void (*vcpu_destroy)(struct vcpu *vcpu);

	/*
	 * Enter the guest with vcpu->regs, run until the next exit, store
	 * the registers back into vcpu->regs and vcpu->sregs, and decode the
	 * exit into vcpu->exit. Called with host interrupts off; a host
	 * interrupt that arrives in the guest ends the run with
	 * EXIT_EXTERNAL_INTR and stays pending until the caller enables
	 * interrupts again.
	 */
	void (*vcpu_run)(struct vcpu *vcpu);

	/* Queue an exception for the next entry (e.g. #GP for an MSR). */
	void (*inject_exception)(struct vcpu *vcpu, uint8_t vector,
				 bool has_error_code, uint32_t error_code);

	/* Set the guest's CR2, for a #PF the hypervisor injects (the CPU
	 * sets CR2 only for faults it raises itself). */
	void (*set_cr2)(struct vcpu *vcpu, uint64_t cr2);

	/* Use this nested-paging root (NPT CR3 / EPT pointer) from the next
	 * entry on. */
	void (*load_mmu_root)(struct vcpu *vcpu, uint64_t root_hpa);

	/*
	 * Shadow paging (virt/shadow_vm.h): from the next entry on, run with
	 * hardware CR0/CR4/EFER = shadow_hw_*(&vcpu->shadow) and CR3 =
	 * vcpu->shadow.root_hpa, while the guest reads its own values
	 * (vcpu->shadow.paging; read shadows or intercepted reads); 'flush':
	 * flush this vCPU's guest TLB too. In shadow mode the backend also
	 * intercepts #PF, CR0/CR3/CR4 writes (and reads where the hardware
	 * value would show), INVLPG, and takes vcpu_take_flush_request()
	 * before every entry.
	 */
	void (*load_shadow_state)(struct vcpu *vcpu, bool flush);

	/* Flush this vCPU's guest translations (ASID/VPID and, for EPT,
	 * the combined ones) before the next entry. */
	void (*flush_guest_tlb)(struct vcpu *vcpu);

	/* Print the vendor's view of the guest state (for a stopped VM's
	 * register dump): segment registers, control registers, the raw
	 * exit information. */
	void (*dump_state)(struct vcpu *vcpu);

	/*
	 * MSRs whose guest value lives in the VMCB/VMCS (EFER, PAT, ...):
	 * the backend reads or writes the guest's value and returns true;
	 * false for any other MSR (virt/msr.c decides). EFER writes must
	 * keep what the hardware requires (SVM: SVME; VMX: the IA-32e mode
	 * entry control follows EFER.LMA). A value the guest may not write
	 * returns true with *gp set: the caller injects #GP(0).
	 */
	bool (*guest_msr)(struct vcpu *vcpu, bool write, uint32_t index,
			  uint64_t *value, bool *gp);

	/* Which nested-paging format this vendor's MMU must build. */
	const struct tdp_format *tdp_format;
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
