/* VM creation, guest memory, and the end of a VM's life. */
#include <stdarg.h>
#include "virt/vm.h"
#include "kernel/kmalloc.h"
#include "kernel/mm.h"
#include "kernel/printk.h"
#include "kernel/string.h"
#include "virt/shadow_vm.h"
#include "virt/virt.h"

struct vm *vms[VM_MAX];
unsigned vm_count;

/* Back the slot with 2 MiB-aligned chunks where the allocator has them,
 * so the MMU can map large pages; 4 KiB frames for the rest. */
static bool back_slot(struct memslot *slot)
{
	uint64_t done = 0;

	while (done < slot->npages) {
		uint64_t left = slot->npages - done, pa = FRAME_NONE;

		if (left >= PAGES_PER_2M && (done % PAGES_PER_2M) == 0)
			pa = alloc_frames(PAGES_PER_2M, PAGES_PER_2M);
		if (pa != FRAME_NONE) {
			for (unsigned i = 0; i < PAGES_PER_2M; i++)
				slot->hpa[done + i] = pa + i * PAGE_SIZE;
			done += PAGES_PER_2M;
			continue;
		}
		pa = alloc_frame();
		if (pa == FRAME_NONE)
			return false;
		slot->hpa[done++] = pa;
	}
	return true;
}

static void free_slot(struct memslot *slot)
{
	for (uint64_t i = 0; slot->hpa && i < slot->npages; i++)
		if (slot->hpa[i])
			free_frame(slot->hpa[i]);
	kfree(slot->hpa);
	kfree(slot->large_ok);
}

static bool mmu_init(struct vm *vm, const struct vm_config *config)
{
	if (config->mmu == MMU_MODE_SHADOW)
		return vm_shadow_init(vm, config);
	return tdp_mmu_init(&vm->mmu, virt->tdp_format, &vm->slots);
}

struct vm *vm_create(const char *name, const struct vm_config *config)
{
	struct vm *vm = kmalloc(sizeof(*vm));
	uint64_t mem_bytes = config->mem_bytes;
	struct memslot *slot;

	if (!vm || vm_count >= VM_MAX) {
		kfree(vm);
		pr_err("vm %s: no room for another VM\n", name);
		return NULL;
	}
	snprintf(vm->name, sizeof(vm->name), "%s", name);
	vm->mem_bytes = mem_bytes;
	vm->mmu_mode = config->mmu;
	vm->lock = (struct spinlock)SPINLOCK_INIT("vm");
	vm->state = VM_RUNNING;

	slot = &vm->slots.slot[0];
	slot->base_gfn = 0;
	slot->npages = mem_bytes / PAGE_SIZE;
	slot->hpa = kmalloc(slot->npages * sizeof(uint64_t));
	slot->large_ok = kmalloc(memslot_chunk_count(slot));
	vm->slots.count = 1;
	if (!slot->hpa || !slot->large_ok || !back_slot(slot)) {
		pr_err("vm %s: out of memory for %lu MiB of guest RAM\n", name,
		       (unsigned long)(mem_bytes >> 20));
		free_slot(slot);
		kfree(vm);
		return NULL;
	}
	memslot_compute_large(slot);
	if (!mmu_init(vm, config)) {
		pr_err("vm %s: out of memory for its MMU\n", name);
		free_slot(slot);
		kfree(vm);
		return NULL;
	}
	vm->id = vm_count;
	vms[vm_count++] = vm;
	return vm;
}

void vm_destroy(struct vm *vm)
{
	if (vm->mmu_mode == MMU_MODE_SHADOW)
		shadow_mmu_destroy(&vm->shadow);
	else
		tdp_mmu_destroy(&vm->mmu);
	for (unsigned i = 0; i < vm->slots.count; i++)
		free_slot(&vm->slots.slot[i]);
	for (unsigned i = 0; i < vm->vcpu_count; i++)
		kfree(vm->vcpus[i]);
	vms[vm->id] = NULL;
	kfree(vm);
}

void *vm_gpa_to_hva(struct vm *vm, uint64_t gpa, uint64_t len)
{
	const struct memslot *slot = memslot_find(&vm->slots, gpa >> 12);

	if (!slot || len == 0 || (gpa & (PAGE_SIZE - 1)) + len > PAGE_SIZE)
		return NULL;
	return (char *)phys_to_virt(slot->hpa[(gpa >> 12) - slot->base_gfn]) +
	       (gpa & (PAGE_SIZE - 1));
}

static bool copy_gpa(struct vm *vm, uint64_t gpa, void *buf, uint64_t len,
		     bool to_guest)
{
	char *p = buf;

	while (len) {
		uint64_t chunk = MIN(len, PAGE_SIZE - (gpa & (PAGE_SIZE - 1)));
		char *hva = vm_gpa_to_hva(vm, gpa, chunk);

		if (!hva)
			return false;
		if (to_guest)
			memcpy(hva, p, chunk);
		else
			memcpy(p, hva, chunk);
		gpa += chunk, p += chunk, len -= chunk;
	}
	return true;
}

bool vm_write_gpa(struct vm *vm, uint64_t gpa, const void *src, uint64_t len)
{
	return copy_gpa(vm, gpa, (void *)src, len, true);
}

bool vm_read_gpa(struct vm *vm, uint64_t gpa, void *dst, uint64_t len)
{
	return copy_gpa(vm, gpa, dst, len, false);
}

void vm_finish(struct vm *vm, enum vm_verdict verdict, uint32_t value)
{
	bool irq_was_on = spin_lock_irqsave(&vm->lock);

	if (vm->state == VM_RUNNING) {
		vm->state = VM_FINISHED;
		vm->verdict = verdict;
		vm->exit_value = value;
	}
	spin_unlock_irqrestore(&vm->lock, irq_was_on);
}

void vm_stop(struct vm *vm, const char *fmt, ...)
{
	bool irq_was_on = spin_lock_irqsave(&vm->lock);
	va_list ap;

	if (vm->state == VM_RUNNING) {
		vm->state = VM_STOPPED;
		va_start(ap, fmt);
		vsnprintf(vm->stop_reason, sizeof(vm->stop_reason), fmt, ap);
		va_end(ap);
	}
	spin_unlock_irqrestore(&vm->lock, irq_was_on);
}

bool vm_is_running(const struct vm *vm)
{
	return __atomic_load_n(&vm->state, __ATOMIC_ACQUIRE) == VM_RUNNING;
}
