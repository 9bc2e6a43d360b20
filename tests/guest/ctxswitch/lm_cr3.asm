; ctxswitch: what only 64-bit code can do for a compatibility-mode
; caller: MOV to CR3 with bit 63 (with CR4.PCIDE = 1: keep the PCID's
; translations), and INVPCID.

%include "tests/guest/lib/traps.inc"

section .text

; void cs_write_cr3(uint32_t lo, uint32_t hi)
bits 32
global cs_write_cr3
cs_write_cr3:
	mov eax, [esp + 4]
	mov edx, [esp + 8]
	call SEL_CODE64:.body
	ret
bits 64
.body:
	shl rdx, 32
	mov eax, eax
	or rax, rdx
	mov cr3, rax
	retf

; void cs_invpcid(uint32_t type, const struct invpcid_desc *desc)
bits 32
global cs_invpcid
cs_invpcid:
	mov eax, [esp + 4]
	mov ecx, [esp + 8]
	call SEL_CODE64:.body
	ret
bits 64
.body:
	mov eax, eax
	mov ecx, ecx
	invpcid rax, [rcx]
	retf
