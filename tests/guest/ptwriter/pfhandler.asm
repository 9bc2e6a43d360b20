; ptwriter's page-fault handlers, as an OS has them: a write to a
; copy-on-write page is resolved (pw_cow_fault, in C: copy the page, map
; it writable, INVLPG) and the faulting instruction is executed again by
; returning to it; any other fault goes on to the runtime's handler
; (trap32_entries / trap64_entries), which records it for expect_fault()
; or reports it as unexpected.
;
; ptwriter.c puts them in the IDTs' vector 14 while it runs and puts the
; runtime's back afterwards.

%include "tests/guest/lib/traps.inc"

extern pw_cow_fault, trap32_entries, trap64_entries

section .text

; 32-bit paging and PAE: ring 0 only (DS is the kernel's).
bits 32
global pw_pf32
pw_pf32:
	pushad
	mov eax, cr2
	push dword [esp + 32]           ; the error code
	push eax
	call pw_cow_fault               ; int pw_cow_fault(uint32_t cr2, uint32_t err)
	add esp, 8
	test eax, eax
	jz .not_ours
	popad
	add esp, 4                      ; the error code
	iretd                           ; the write runs again
.not_ours:
	popad
	jmp [trap32_entries + 14 * 4]   ; the frame is as the CPU pushed it

; Long mode: the guest's C code runs in compatibility mode, so the 64-bit
; handler calls pw_cow_fault through a 32-bit trampoline with a far call
; (m16:32: it pushes CS and EIP, 4 bytes each; the trampoline's RETF pops
; them). Compatibility-mode code leaves the upper halves of the registers
; undefined, and R8-R15 unreachable: all of them are saved.
bits 64
global pw_pf64
pw_pf64:
	PUSH_GPRS64
	mov rcx, cr2                    ; below 4 GiB: the test runs there
	mov edx, [rsp + 15 * 8]         ; the error code
	call far dword [rel tramp_ptr]
	mov [rel pf64_result], eax
	POP_GPRS64
	cmp dword [rel pf64_result], 0
	je .not_ours
	add rsp, 8                      ; the error code
	iretq
.not_ours:
	push rax                        ; jump to the runtime's handler with
	mov eax, [rel trap64_entries + 14 * 4]  ; every register as it was
	xchg rax, [rsp]
	ret

bits 32
pw_tramp32:                             ; ECX = CR2, EDX = error code
	push edx
	push ecx
	call pw_cow_fault
	add esp, 8
	retf

section .data
align 8
tramp_ptr:
	dd pw_tramp32
	dw SEL_CODE32
pf64_result:
	dd 0
