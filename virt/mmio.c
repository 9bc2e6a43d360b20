/*
 * Unassigned guest-physical addresses, emulated instruction by instruction
 * (virt/emulate.c): reads give all ones, writes vanish. The callbacks
 * route each linear address through the guest's page tables to RAM or to
 * "nothing".
 */
#include "virt/mmio.h"
#include "kernel/printk.h"
#include "kernel/string.h"
#include "virt/emulate.h"
#include "virt/exits.h"
#include "arch/x86/cpu.h"
#include "mmu/guest_walk.h"
#include "virt/virt.h"
#include "virt/vm.h"

/* One emulated instruction's view of the guest's paging. */
struct mmio_access {
	struct vcpu *vcpu;
	struct guest_paging paging;
	uint32_t pf_error_code;		/* a #PF the walker found */
	uint64_t pf_linear;
	bool pf;
	bool mem_error;
};

static int walk_read(void *ctx, uint64_t gpa, void *buf, unsigned size)
{
	struct vcpu *vcpu = ctx;

	return vm_read_gpa(vcpu->vm, gpa, buf, size) ? 0 : -1;
}

/* A/D updates: atomic, as the CPU's are, against the guest's own writes
 * from its other vCPUs. */
static int walk_cmpxchg(void *ctx, uint64_t gpa, uint64_t *old, uint64_t new,
			unsigned size)
{
	struct vcpu *vcpu = ctx;
	void *hva = vm_gpa_to_hva(vcpu->vm, gpa, size);
	bool swapped;

	if (!hva)
		return -1;
	if (size == 4) {
		uint32_t expected = (uint32_t)*old;

		swapped = __atomic_compare_exchange_n((uint32_t *)hva, &expected,
						      (uint32_t)new, false,
						      __ATOMIC_SEQ_CST,
						      __ATOMIC_SEQ_CST);
		*old = expected;
	} else {
		swapped = __atomic_compare_exchange_n((uint64_t *)hva, old, new,
						      false, __ATOMIC_SEQ_CST,
						      __ATOMIC_SEQ_CST);
	}
	return swapped ? 0 : 1;
}

static const struct guest_mem_ops walk_mem = {
	.read = walk_read,
	.cmpxchg = walk_cmpxchg,
};

/*
 * PAE PDPTEs as the CPU that runs the guest uses them. Under nested paging
 * they are read from guest memory during the walk (AMD NPT does so; QEMU's
 * TCG even sets the accessed bit there, a reserved bit of a PDPTE), so the
 * entries in memory, with the bits a walk may set cleared, are the ones
 * that translated the guest's access: the strict load (a #GP at MOV CR3)
 * belongs to shadow paging, where the hypervisor itself loads CR3.
 */
static void load_pdptes(struct vcpu *vcpu, struct guest_paging *p)
{
	const uint64_t walk_set_bits = (1ull << 5) | (1ull << 6);
	uint64_t pdptes[4];

	if (guest_load_pdptes(p, &walk_mem, vcpu) == PDPTE_LOAD_OK ||
	    !vm_read_gpa(vcpu->vm, p->cr3 & 0xffffffe0ull, pdptes,
			 sizeof(pdptes)))
		return;
	for (unsigned i = 0; i < 4; i++)
		pdptes[i] &= ~walk_set_bits;
	if (guest_pdptes_valid(p, pdptes))
		for (unsigned i = 0; i < 4; i++)
			p->pdptes[i] = pdptes[i];
}

/*
 * The paging state for the walker. PKRU is taken as 0 (all keys allowed;
 * the guest's PKRU is not saved by the backends yet): documented in
 * docs/emulator.md.
 */
/* The CPU's physical-address width and 1 GiB pages, read once: CPUID is
 * itself an exit under nested virtualization, too dear for every access.
 * Racing first readers store the same values. */
static void cpu_paging_facts(unsigned *maxphyaddr, bool *gbpages)
{
	static unsigned cached_maxphyaddr;	/* 0: not read yet */
	static bool cached_gbpages;
	unsigned m = __atomic_load_n(&cached_maxphyaddr, __ATOMIC_ACQUIRE);

	if (!m) {
		uint32_t ext = cpuid_max_ext();

		__atomic_store_n(&cached_gbpages, cpu_has_1g_pages(),
				 __ATOMIC_RELAXED);
		m = ext >= 0x80000008 ? cpuid(0x80000008).eax & 0xff : 36;
		__atomic_store_n(&cached_maxphyaddr, m, __ATOMIC_RELEASE);
	}
	*maxphyaddr = m;
	*gbpages = __atomic_load_n(&cached_gbpages, __ATOMIC_RELAXED);
}

static void paging_of(struct vcpu *vcpu, struct guest_paging *p)
{
	const struct vcpu_sregs *s = &vcpu->sregs;

	*p = (struct guest_paging){
		.cr0 = s->cr0, .cr3 = s->cr3, .cr4 = s->cr4, .efer = s->efer,
		.rflags_ac = vcpu->regs.rflags & (1u << 18),
	};
	cpu_paging_facts(&p->maxphyaddr, &p->gbpages);
	if ((s->cr0 & CR0_PG) && (s->cr4 & CR4_PAE) && !(s->efer & EFER_LMA))
		load_pdptes(vcpu, p);
}

/* Linear to guest-physical for one access, with the rights checks and the
 * A/D updates the CPU would make. */
static int translate(struct mmio_access *a, uint64_t linear, uint32_t access,
		     uint64_t *gpa)
{
	struct guest_walk walk;

	if (a->vcpu->sregs.cpl == 3)
		access |= ACCESS_USER;
	switch (guest_walk(&a->paging, linear, access, &walk_mem, a->vcpu,
			   &walk)) {
	case WALK_OK:
		*gpa = walk.gpa;
		return 0;
	case WALK_FAULT:
		a->pf = true;
		a->pf_error_code = walk.error_code;
		a->pf_linear = linear;
		return -1;
	default:
		a->mem_error = true;
		return -1;
	}
}

/* Split at page boundaries: each piece is RAM or not on its own. */
static int access(struct mmio_access *a, uint64_t linear, void *buf,
		  unsigned size, uint32_t kind)
{
	bool write = kind & ACCESS_WRITE;
	uint8_t *p = buf;

	while (size) {
		unsigned chunk = MIN(size, 4096 - (unsigned)(linear & 4095));
		uint64_t gpa;

		if (translate(a, linear, kind, &gpa))
			return -1;
		void *hva = vm_gpa_to_hva(a->vcpu->vm, gpa, chunk);

		if (hva && write)
			memcpy(hva, p, chunk);
		else if (hva)
			memcpy(p, hva, chunk);
		else if (!write)
			memset(p, 0xff, chunk);	/* unassigned: all ones */
		linear += chunk, p += chunk, size -= chunk;
	}
	return 0;
}

static int emu_fetch(void *opaque, uint64_t linear, void *buf, unsigned len)
{
	return access(opaque, linear, buf, len, ACCESS_FETCH);
}

static int emu_read(void *opaque, uint64_t linear, void *buf, unsigned size)
{
	return access(opaque, linear, buf, size, 0);
}

static int emu_write(void *opaque, uint64_t linear, const void *buf,
		     unsigned size)
{
	return access(opaque, linear, (void *)buf, size, ACCESS_WRITE);
}

static const struct emu_ops mmio_ops = {
	.fetch = emu_fetch,
	.read = emu_read,
	.write = emu_write,
	.cmpxchg = NULL,	/* read then write: unassigned memory has no
				   other writer to race with */
};

bool handle_mmio(struct vcpu *vcpu)
{
	struct mmio_access a = { .vcpu = vcpu };
	struct emu_ctxt ctxt = {
		.regs = &vcpu->regs,
		.sregs = &vcpu->sregs,
		.ops = &mmio_ops,
		.opaque = &a,
	};
	char why[128];

	paging_of(vcpu, &a.paging);
	switch (emulate_one(&ctxt)) {
	case EMU_DONE:
		return true;
	case EMU_FAULT:
		/* A #PF from the walker, exact (error code and CR2), as the
		 * CPU would raise it for this operand; #GP/#SS/#UD from the
		 * emulator's own checks. */
		if (a.pf) {
			virt->set_cr2(vcpu, a.pf_linear);
			virt->inject_exception(vcpu, 14, true, a.pf_error_code);
			return true;
		}
		if (!a.mem_error && ctxt.fault_vector != 14) {
			virt->inject_exception(vcpu, ctxt.fault_vector,
					       ctxt.fault_vector != 6,
					       ctxt.fault_error_code);
			return true;
		}
		snprintf(why, sizeof(why), "the guest's page tables for an "
			 "emulated access lie outside its RAM (unassigned "
			 "address 0x%lx)", (unsigned long)vcpu->exit.npf.gpa);
		break;
	case EMU_UNHANDLED:
	default:
		snprintf(why, sizeof(why), "access to unassigned guest-physical "
			 "address 0x%lx by an instruction the emulator does "
			 "not handle", (unsigned long)vcpu->exit.npf.gpa);
		break;
	}
	vm_stop(vcpu->vm, "%s", why);
	pr_err("[%s/%u] stopped: %s\n", vcpu->vm->name, vcpu->id, why);
	vcpu_dump(vcpu);
	return false;
}
