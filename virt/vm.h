/*
 * A virtual machine: name, guest memory (memslots backed by host frames),
 * vCPUs pinned one per physical CPU, its MMU, its devices, its verdict.
 */
#ifndef VIRT_VM_H
#define VIRT_VM_H

#include <stdbool.h>
#include <stdint.h>
#include "mmu/memslot.h"
#include "mmu/shadow.h"
#include "mmu/tdp.h"
#include "smp/spinlock.h"
#include "virt/vcpu.h"

#define VM_NAME_MAX		24
#define VM_CMDLINE_MAX		256
#define VM_MAX_VCPUS		8
#define VM_MAX			16

enum mmu_mode {
	MMU_MODE_TDP,		/* EPT / NPT */
	MMU_MODE_SHADOW,	/* shadow page tables (mmu/shadow.h) */
};

/* What a VM is made with (virt/loader.c's guest options). */
struct vm_config {
	uint64_t mem_bytes;
	enum mmu_mode mmu;
	bool shadow_unsync;		/* level-1 shadow pages may go unsync */
	bool shadow_flood;		/* zap write-flooded shadow pages */
	uint32_t shadow_max_pages;	/* 0: the default for the memory */
};

enum vm_state {
	VM_RUNNING,
	VM_FINISHED,		/* the guest gave its verdict */
	VM_STOPPED,		/* stopped by the hypervisor: see stop_reason */
};

enum vm_verdict {
	VERDICT_NONE,
	VERDICT_PASS,
	VERDICT_FAIL,
};

struct vm {
	char name[VM_NAME_MAX];
	unsigned id;
	char guest_cmdline[VM_CMDLINE_MAX];
	enum mmu_mode mmu_mode;
	uint64_t mem_bytes;

	struct memslots slots;
	struct tdp_mmu mmu;		/* MMU_MODE_TDP */
	struct shadow_mmu shadow;	/* MMU_MODE_SHADOW */
	uint64_t tlb_flush_requests;	/* shadow MMU flushes of the VM */
	uint64_t tlb_flush_ipis;	/* ... and the kicks they sent */

	struct vcpu *vcpus[VM_MAX_VCPUS];
	unsigned vcpu_count;

	struct spinlock lock;		/* state, verdict, stop reason */
	enum vm_state state;
	enum vm_verdict verdict;
	uint32_t exit_value;		/* what the guest wrote to port 0xf4 */
	char stop_reason[128];

	/* The virtual 16550's registers that a guest can read back. */
	uint8_t uart_lcr, uart_ier, uart_mcr, uart_scr, uart_dll, uart_dlm;
};

extern struct vm *vms[VM_MAX];
extern unsigned vm_count;

/* Guest-physical layout every VM gets (as QEMU gives a multiboot kernel). */
#define GUEST_LOW_MEM_END	0x9fc00ull	/* usable [0, here) */
#define GUEST_BIOS_START	0xf0000ull	/* reserved [here, 1 MiB) */
#define GUEST_MBI_GPA		0x9000ull	/* multiboot info, built by us */
#define GUEST_MBI_SIZE		0x1000ull

/* Allocate a VM with config->mem_bytes of RAM at guest-physical 0 (backed by
 * 2 MiB-aligned host chunks where possible, 4 KiB frames otherwise). NULL
 * with a message when memory runs out. */
struct vm *vm_create(const char *name, const struct vm_config *config);
void vm_destroy(struct vm *vm);

/* Host pointer to guest-physical [gpa, gpa + len) if it lies in one page
 * of RAM, else NULL. */
void *vm_gpa_to_hva(struct vm *vm, uint64_t gpa, uint64_t len);

/* Copy to / from guest RAM; false if any byte is not RAM. */
bool vm_write_gpa(struct vm *vm, uint64_t gpa, const void *src, uint64_t len);
bool vm_read_gpa(struct vm *vm, uint64_t gpa, void *dst, uint64_t len);

/* End the VM: with the guest's verdict, or stopped with a reason. The
 * first call wins; all its vCPUs leave their run loops. */
void vm_finish(struct vm *vm, enum vm_verdict verdict, uint32_t value);
void vm_stop(struct vm *vm, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
bool vm_is_running(const struct vm *vm);

#endif
