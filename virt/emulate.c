/*
 * FIRST VERSION: the decoder and the instructions arrive with the
 * emulator work (virt/emulate.h); until then every instruction is
 * reported as not handled, and the VM that needs one is stopped with
 * that reason.
 */
#include "virt/emulate.h"

enum emu_result emulate_one(struct emu_ctxt *ctxt)
{
	(void)ctxt;
	return EMU_UNHANDLED;
}
