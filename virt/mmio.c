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
#include "virt/guest_walk.h"
#include "virt/virt.h"
#include "virt/vm.h"

/* Split at page boundaries: each piece is RAM or not on its own. */
static int access(struct vcpu *vcpu, uint64_t linear, void *buf,
		  unsigned size, bool write)
{
	uint8_t *p = buf;

	while (size) {
		unsigned chunk = MIN(size, 4096 - (unsigned)(linear & 4095));
		uint64_t gpa;

		if (!guest_translate(vcpu, linear, &gpa))
			return -1;
		void *hva = vm_gpa_to_hva(vcpu->vm, gpa, chunk);

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
	return access(opaque, linear, buf, len, false);
}

static int emu_read(void *opaque, uint64_t linear, void *buf, unsigned size)
{
	return access(opaque, linear, buf, size, false);
}

static int emu_write(void *opaque, uint64_t linear, const void *buf,
		     unsigned size)
{
	return access(opaque, linear, (void *)buf, size, true);
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
	struct emu_ctxt ctxt = {
		.regs = &vcpu->regs,
		.sregs = &vcpu->sregs,
		.ops = &mmio_ops,
		.opaque = vcpu,
	};
	char why[128];

	switch (emulate_one(&ctxt)) {
	case EMU_DONE:
		return true;
	case EMU_FAULT:
		/* The hardware just translated this access, so a page-table
		 * miss here means the guest changed its tables under us:
		 * not worth a guessed #PF. #GP/#SS/#UD are exact. */
		if (ctxt.fault_vector != 14) {
			virt->inject_exception(vcpu, ctxt.fault_vector,
					       ctxt.fault_vector != 6,
					       ctxt.fault_error_code);
			return true;
		}
		snprintf(why, sizeof(why), "guest page tables changed under an "
			 "emulated access at 0x%lx",
			 (unsigned long)vcpu->exit.npf.gpa);
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
