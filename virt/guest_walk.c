#include "virt/guest_walk.h"
#include "arch/x86/cpu.h"
#include "virt/vm.h"

#define PTE_P		1ull
#define PTE_PS		(1ull << 7)
#define ADDR_MASK	0x000ffffffffff000ull
#define CR4_LA57	(1ull << 12)

static bool read_entry(struct vm *vm, uint64_t gpa, unsigned size,
		       uint64_t *entry)
{
	*entry = 0;
	return vm_read_gpa(vm, gpa, entry, size);
}

/* 32-bit paging: 2 levels of 4-byte entries, 4 MiB pages with PSE. */
static bool walk_32(struct vcpu *vcpu, uint64_t linear, uint64_t *gpa)
{
	uint64_t pde, pte;

	if (!read_entry(vcpu->vm, (vcpu->sregs.cr3 & 0xfffff000) +
			((linear >> 22) & 0x3ff) * 4, 4, &pde) || !(pde & PTE_P))
		return false;
	if ((pde & PTE_PS) && (vcpu->sregs.cr4 & CR4_PSE)) {
		*gpa = (pde & 0xffc00000) | ((pde & 0x1fe000) << 19) |
		       (linear & 0x3fffff);
		return true;
	}
	if (!read_entry(vcpu->vm, (pde & 0xfffff000) +
			((linear >> 12) & 0x3ff) * 4, 4, &pte) || !(pte & PTE_P))
		return false;
	*gpa = (pte & 0xfffff000) | (linear & 0xfff);
	return true;
}

/* PAE and 4/5-level: 8-byte entries, 9 bits a level. */
static bool walk_64(struct vcpu *vcpu, uint64_t linear, uint64_t *gpa,
		    unsigned levels)
{
	uint64_t table, entry;

	if (levels == 3) {	/* PAE: 4 PDPTEs, 2 bits of index */
		if (!read_entry(vcpu->vm, (vcpu->sregs.cr3 & 0xffffffe0) +
				((linear >> 30) & 3) * 8, 8, &entry) ||
		    !(entry & PTE_P))
			return false;
		table = entry & ADDR_MASK;
		levels = 2;
	} else {
		table = vcpu->sregs.cr3 & ADDR_MASK;
	}
	for (unsigned level = levels; level >= 1; level--) {
		unsigned shift = 12 + 9 * (level - 1);

		if (!read_entry(vcpu->vm, table + ((linear >> shift) & 511) * 8,
				8, &entry) || !(entry & PTE_P))
			return false;
		if (level == 1 || (level <= 3 && (entry & PTE_PS))) {
			uint64_t size = 1ull << shift;

			*gpa = (entry & ADDR_MASK & ~(size - 1)) |
			       (linear & (size - 1));
			return true;
		}
		table = entry & ADDR_MASK;
	}
	return false;
}

bool guest_translate(struct vcpu *vcpu, uint64_t linear, uint64_t *gpa)
{
	const struct vcpu_sregs *s = &vcpu->sregs;

	if (!(s->cr0 & CR0_PG)) {
		*gpa = linear & 0xffffffffull;
		return true;
	}
	if (s->efer & EFER_LMA)
		return walk_64(vcpu, linear, gpa, s->cr4 & CR4_LA57 ? 5 : 4);
	if (s->cr4 & CR4_PAE)
		return walk_64(vcpu, linear & 0xffffffff, gpa, 3);
	return walk_32(vcpu, linear & 0xffffffff, gpa);
}
