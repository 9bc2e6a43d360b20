/*
 * x86 instruction emulator for the memory-touching instructions guests
 * use on MMIO and on page tables (portable; tests/host/test_emulate.c).
 *
 * It decodes one instruction at CS:RIP, computes its memory operand's
 * linear address, performs the access through the caller's callbacks, and
 * updates registers, RFLAGS and RIP. The caller's callbacks turn linear
 * addresses into guest-physical ones and route them to RAM, a device or
 * the unassigned-address behaviour.
 */
#ifndef VIRT_EMULATE_H
#define VIRT_EMULATE_H

#include <stdbool.h>
#include <stdint.h>
#include "virt/vcpu.h"

enum emu_result {
	EMU_DONE,		/* emulated; registers and RIP updated */
	EMU_UNHANDLED,		/* an instruction the emulator does not do */
	EMU_FAULT,		/* a callback failed, or a segment/canonical
				   check: fault_vector/error_code say which
				   exception the guest should get */
};

struct emu_ops {
	/* Instruction bytes at a linear address: 0 or -1. */
	int (*fetch)(void *opaque, uint64_t linear, void *buf, unsigned len);
	/* Data at a linear address: 0, or -1 (the access faults). 'size'
	 * is 1, 2, 4, 8 or 16 and the access is one access for the device. */
	int (*read)(void *opaque, uint64_t linear, void *buf, unsigned size);
	int (*write)(void *opaque, uint64_t linear, const void *buf,
		     unsigned size);
	/* Atomic compare-exchange at a linear address (CMPXCHG*, LOCK'd
	 * read-modify-writes): writes 'new' if memory holds 'old', returns
	 * 0 and the value found in *old; -1 on a fault. May be NULL: then a
	 * read followed by a write is used. */
	int (*cmpxchg)(void *opaque, uint64_t linear, void *old,
		       const void *new, unsigned size);
};

struct emu_ctxt {
	struct vcpu_regs *regs;		/* GPRs, RIP, RFLAGS: updated in place */
	const struct vcpu_sregs *sregs;	/* mode (CS.L, CS.D), segment bases */
	const struct emu_ops *ops;
	void *opaque;

	/* Out: what was done, for statistics and for the MMU. */
	uint8_t insn_len;
	uint64_t mem_linear;		/* the memory operand's address */
	unsigned mem_size;
	bool mem_write;
	uint8_t fault_vector;		/* EMU_FAULT: #GP, #SS, #PF, #UD */
	uint32_t fault_error_code;
};

enum emu_result emulate_one(struct emu_ctxt *ctxt);

#endif
