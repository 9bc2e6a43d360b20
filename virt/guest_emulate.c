/*
 * One guest instruction emulated against guest memory (virt/emulate.c
 * decodes and executes; virt/guest_emulate.h says when). The callbacks
 * route each linear address through the guest's page tables to RAM or to
 * "nothing" (unassigned: reads give all ones, writes vanish). Under
 * shadow paging the walks are the shadow MMU's (they set A/D bits and
 * keep its shadows right about them) and every write to guest RAM is
 * reported to it, so a store into a write-protected page table updates
 * the shadow pages.
 */
#include "virt/guest_emulate.h"
#include "kernel/printk.h"
#include "kernel/string.h"
#include "virt/emulate.h"
#include "virt/exits.h"
#include "arch/x86/cpu.h"
#include "mmu/guest_walk.h"
#include "virt/shadow_vm.h"
#include "virt/virt.h"
#include "virt/vm.h"

/* One emulated instruction's view of the guest's paging. */
struct mmio_access {
	struct vcpu *vcpu;
	struct shadow_vcpu *shadow;	/* NULL under nested paging */
	struct guest_paging paging;	/* nested paging: the walker's state */
	int cr_result;			/* -1: a CR access stopped the VM */
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
		__atomic_store_n(&cached_gbpages, cpu_has_1g_pages(),
				 __ATOMIC_RELAXED);
		m = cpu_phys_addr_bits();
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

	enum guest_walk_result r;

	if (a->vcpu->sregs.cpl == 3)
		access |= ACCESS_USER;
	if (a->shadow)
		r = shadow_guest_walk(a->shadow, linear, access, &walk);
	else
		r = guest_walk(&a->paging, linear, access, &walk_mem, a->vcpu,
			       &walk);
	switch (r) {
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

		if (hva && write) {
			memcpy(hva, p, chunk);
			if (a->shadow)
				shadow_guest_pte_written(&a->vcpu->vm->shadow,
							 gpa, chunk);
		} else if (hva)
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

/* An atomic compare-exchange on host memory; true if it swapped. */
#define CMPXCHG_AS(type)						\
	__atomic_compare_exchange((type *)hva, (type *)old, (type *)new,	\
				  false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)

static bool cmpxchg_hva(void *hva, void *old, const void *new, unsigned size)
{
	switch (size) {
	case 1:
		return CMPXCHG_AS(uint8_t);
	case 2:
		return CMPXCHG_AS(uint16_t);
	case 4:
		return CMPXCHG_AS(uint32_t);
	case 8:
		return CMPXCHG_AS(uint64_t);
	}
	/* 16: CMPXCHG16B, whose operand the emulator checked is aligned. */
	uint64_t *o = old;
	const uint64_t *n = new;
	bool swapped;

	__asm__ volatile("lock cmpxchg16b %1"
			 : "=@ccz"(swapped), "+m"(*(__int128 *)hva),
			   "+a"(o[0]), "+d"(o[1])
			 : "b"(n[0]), "c"(n[1])
			 : "memory");
	return swapped;
}

/*
 * Under shadow paging a guest's LOCK'd update of a page-table entry
 * (setting or clearing A, D, P...) races with its other vCPUs and with
 * the walker's own A/D stores: it must be atomic on RAM. Unassigned
 * memory, and an operand that crosses a page, get read-compare-write.
 */
static int emu_cmpxchg(void *opaque, uint64_t linear, void *old,
		       const void *new, unsigned size)
{
	struct mmio_access *a = opaque;
	uint8_t cur[16];
	uint64_t gpa;
	void *hva;

	if ((linear & 4095) + size <= 4096) {
		if (translate(a, linear, ACCESS_WRITE, &gpa))
			return -1;
		hva = vm_gpa_to_hva(a->vcpu->vm, gpa, size);
		if (hva) {
			if (cmpxchg_hva(hva, old, new, size))
				shadow_guest_pte_written(&a->vcpu->vm->shadow,
							 gpa, size);
			return 0;
		}
	}
	/* As the CPU does, write in either case (the old value back when
	 * the comparison fails): the write's rights checks and D bits. */
	if (access(a, linear, cur, size, 0) ||
	    access(a, linear, memcmp(cur, old, size) ? cur : (void *)new, size,
		   ACCESS_WRITE))
		return -1;
	memcpy(old, cur, size);
	return 0;
}

/* The system instructions (EMULATE_SYSTEM): the architectural rules are
 * virt/shadow_cr.c's. */
static int emu_read_cr(void *opaque, unsigned cr, uint64_t *value)
{
	struct mmio_access *a = opaque;

	if (shadow_cr_read(a->vcpu, cr, value) < 0) {
		a->cr_result = -1;
		return -1;
	}
	return 0;
}

static int emu_write_cr(void *opaque, unsigned cr, uint64_t value)
{
	struct mmio_access *a = opaque;
	int r = shadow_cr_write(a->vcpu, cr, value);

	if (r < 0)
		a->cr_result = -1;
	return r;
}

static int emu_invlpg(void *opaque, uint64_t linear)
{
	struct mmio_access *a = opaque;

	shadow_vcpu_invlpg(a->vcpu, linear);
	return 0;
}

/* Nested paging: only MMIO is emulated, and unassigned memory has no
 * other writer to race with: read then write. */
static const struct emu_ops tdp_ops = {
	.fetch = emu_fetch,
	.read = emu_read,
	.write = emu_write,
};

static const struct emu_ops shadow_ops = {
	.fetch = emu_fetch,
	.read = emu_read,
	.write = emu_write,
	.cmpxchg = emu_cmpxchg,
	.read_cr = emu_read_cr,
	.write_cr = emu_write_cr,
	.invlpg = emu_invlpg,
};

static const char *const why_names[] = {
	[EMULATE_MMIO] = "access to unassigned guest-physical address",
	[EMULATE_PT_WRITE] = "write to the shadowed page table at",
	[EMULATE_SYSTEM] = "intercepted system instruction",
};

/* The instruction is one the emulator does not know. */
static bool unhandled(struct vcpu *vcpu, enum emulate_why why, uint64_t gpa)
{
	char msg[160];

	/* A page-table write: stop shadowing that page and let the guest
	 * make the write itself (it faults again only if the MMU must
	 * shadow the page again). Not for a CR0.WP = 0 write, which is
	 * emulated because the guest's tables forbid it. */
	if (why == EMULATE_PT_WRITE &&
	    shadow_gfn_write_protected(&vcpu->vm->shadow, gpa >> 12)) {
		shadow_unprotect_gfn(&vcpu->vm->shadow, gpa >> 12);
		return true;
	}
	if (why == EMULATE_SYSTEM)
		snprintf(msg, sizeof(msg), "an intercepted MOV CR, CLTS, LMSW, "
			 "SMSW or INVLPG the emulator could not decode");
	else
		snprintf(msg, sizeof(msg), "%s 0x%lx by an instruction the "
			 "emulator does not handle", why_names[why],
			 (unsigned long)gpa);
	return stop_with_dump(vcpu, msg);
}

bool emulate_guest_insn(struct vcpu *vcpu, enum emulate_why why, uint64_t gpa)
{
	bool shadow = vm_is_shadow(vcpu->vm);
	struct mmio_access a = {
		.vcpu = vcpu,
		.shadow = shadow ? &vcpu->shadow : NULL,
	};
	struct emu_ctxt ctxt = {
		.regs = &vcpu->regs,
		.sregs = &vcpu->sregs,
		.ops = shadow ? &shadow_ops : &tdp_ops,
		.opaque = &a,
	};
	char msg[160];

	if (!shadow)
		paging_of(vcpu, &a.paging);
	switch (emulate_one(&ctxt)) {
	case EMU_DONE:
		return true;
	case EMU_FAULT:
		if (a.cr_result < 0)
			return false;	/* shadow_cr.c stopped the VM */
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
		snprintf(msg, sizeof(msg), "the guest's page tables for an "
			 "emulated access lie outside its RAM (%s 0x%lx)",
			 why_names[why], (unsigned long)gpa);
		return stop_with_dump(vcpu, msg);
	case EMU_UNHANDLED:
	default:
		if (a.cr_result < 0)
			return false;
		return unhandled(vcpu, why, gpa);
	}
}

bool handle_mmio(struct vcpu *vcpu)
{
	return emulate_guest_insn(vcpu, EMULATE_MMIO, vcpu->exit.npf.gpa);
}
