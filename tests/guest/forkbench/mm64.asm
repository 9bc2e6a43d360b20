; forkbench's 64-bit pieces: the page-table stores an x86-64 OS makes (one
; 8-byte MOV to set an entry, XCHG to clear one and learn its old value,
; LOCK BTR of R/W to write-protect one), page zeroing and copying with REP
; STOSQ / MOVSQ, and the #PF handler.
;
; The guest's C code runs in compatibility mode, where no single store is
; 8 bytes wide: each helper is a far call into 64-bit code and a 32-bit
; far return (the pattern of lib/long64.asm). Everything they touch is
; below 4 GiB.

%include "tests/guest/lib/traps.inc"

extern fb_page_fault, trap64_entries

section .text

; void fb_pte_store(uint32_t addr, uint64_t value): MOV [addr], value
bits 32
global fb_pte_store
fb_pte_store:
	mov ecx, [esp + 4]
	mov eax, [esp + 8]
	mov edx, [esp + 12]
	call SEL_CODE64:.body
	ret
bits 64
.body:
	mov ecx, ecx
	shl rdx, 32
	mov eax, eax
	or rax, rdx
	mov [rcx], rax
	retf

; uint64_t fb_pte_xchg(uint32_t addr, uint64_t value): XCHG, the old value
bits 32
global fb_pte_xchg
fb_pte_xchg:
	mov ecx, [esp + 4]
	mov eax, [esp + 8]
	mov edx, [esp + 12]
	call SEL_CODE64:.body
	ret
bits 64
.body:
	mov ecx, ecx
	shl rdx, 32
	mov eax, eax
	or rax, rdx
	xchg [rcx], rax
	mov rdx, rax
	shr rdx, 32
	retf

; void fb_pte_wrprotect(uint32_t addr): LOCK BTR qword [addr], 1 (R/W)
bits 32
global fb_pte_wrprotect
fb_pte_wrprotect:
	mov ecx, [esp + 4]
	call SEL_CODE64:.body
	ret
bits 64
.body:
	mov ecx, ecx
	lock btr qword [rcx], 1
	retf

; void fb_zero_page(uint32_t page): REP STOSQ, 512 quadwords
bits 32
global fb_zero_page
fb_zero_page:
	push edi
	mov edx, [esp + 8]
	call SEL_CODE64:.body
	pop edi
	ret
bits 64
.body:
	mov edi, edx
	xor eax, eax
	mov ecx, 512
	rep stosq
	retf

; void fb_copy_page(uint32_t dst, uint32_t src): REP MOVSQ, 512 quadwords
bits 32
global fb_copy_page
fb_copy_page:
	push esi
	push edi
	mov edx, [esp + 12]
	mov eax, [esp + 16]
	call SEL_CODE64:.body
	pop edi
	pop esi
	ret
bits 64
.body:
	mov edi, edx
	mov esi, eax
	mov ecx, 512
	rep movsq
	retf

; ---------------------------------------------------------------------------
; The #PF handler (vector 14 of the 64-bit IDT while the workload runs).
; fb_page_fault (C, compatibility mode, through a 32-bit trampoline: see
; ptwriter's pfhandler.asm) resolves copy-on-write and demand-zero faults
; and returns 1: the faulting instruction runs again. 0: the runtime's
; handler has the fault (reported as unexpected: the verdict is FAIL).
bits 64
global fb_pf64
fb_pf64:
	PUSH_GPRS64
	mov rcx, cr2                    ; the workload runs below 4 GiB
	mov edx, [rsp + 15 * 8]         ; the error code
	call far dword [rel tramp_ptr]
	mov [rel pf64_result], eax
	POP_GPRS64
	cmp dword [rel pf64_result], 0
	je .not_ours
	add rsp, 8                      ; the error code
	iretq
.not_ours:
	push rax
	mov eax, [rel trap64_entries + 14 * 4]
	xchg rax, [rsp]
	ret

bits 32
fb_tramp32:                             ; ECX = CR2, EDX = error code
	push edx
	push ecx
	call fb_page_fault
	add esp, 8
	retf

section .data
align 8
tramp_ptr:
	dd fb_tramp32
	dw SEL_CODE32
pf64_result:
	dd 0
