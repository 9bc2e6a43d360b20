; Long mode for test guests: entering and leaving IA-32e mode, the 64-bit
; exception handlers, and small 64-bit routines that 32-bit C code calls.
;
; Guest C code stays 32-bit: in IA-32e mode it runs in compatibility mode
; (CS = SEL_CODE32, a 32-bit segment), still translated by the 4-level
; tables, and its exceptions go through the 64-bit IDT below. A far call to
; SEL_CODE64 runs one of the lm_* routines in 64-bit mode; their 32-bit
; far return (RETF without REX.W) comes back to compatibility mode.
;
; The 64-bit handlers resume an expect_fault() with IRETQ to its recovery
; point in compatibility mode (fault_call_recovered in traps32.asm).

%include "tests/guest/lib/traps.inc"

CR0_PG          equ 0x80000000
CR4_PAE         equ 0x20
MSR_EFER        equ 0xc0000080
EFER_LME        equ 0x100
EFER_NXE        equ 0x800
TSS_BUSY        equ 0x02            ; in the access byte (byte 5)

extern trap_last, trap_armed, recover_esp, recover_eip
extern emergency_stack_top, trap_unexpected32
extern idt32_ptr, idt64_ptr, gdt

section .text

; ---------------------------------------------------------------------------
; void lm_enter(uint32_t pml4, uint32_t efer_bits, uint32_t cr0_bits)
; Paging must be off. Sets CR4.PAE, CR3, EFER.LME (| efer_bits), then
; CR0.PG (| cr0_bits): the CPU is then in compatibility mode. Loads the
; 64-bit IDT and TSS from 64-bit code and returns to the caller.
bits 32
global lm_enter
lm_enter:
	mov eax, cr4
	or eax, CR4_PAE
	mov cr4, eax
	mov eax, [esp + 4]
	mov cr3, eax
	mov ecx, MSR_EFER
	rdmsr
	or eax, EFER_LME
	or eax, [esp + 8]
	wrmsr
	mov eax, cr0
	or eax, [esp + 12]
	or eax, CR0_PG
	mov cr0, eax
	call SEL_CODE64:lm_enter_64
	ret

bits 64
lm_enter_64:
	lidt [rel idt64_ptr]
	and byte [rel gdt + SEL_TSS64 + 5], ~TSS_BUSY
	mov ax, SEL_TSS64
	ltr ax
	retf

; void lm_leave(void): from compatibility mode back to 32-bit protected
; mode without paging; clears EFER.LME and NXE and CR4.PAE, loads the
; 32-bit IDT and TSS.
bits 32
global lm_leave
lm_leave:
	mov eax, cr0
	and eax, ~CR0_PG
	mov cr0, eax
	mov ecx, MSR_EFER
	rdmsr
	and eax, ~(EFER_LME | EFER_NXE)
	wrmsr
	mov eax, cr4
	and eax, ~CR4_PAE
	mov cr4, eax
	lidt [idt32_ptr]
	and byte [gdt + SEL_TSS32 + 5], ~TSS_BUSY
	mov ax, SEL_TSS32
	ltr ax
	ret

; ---------------------------------------------------------------------------
; 64-bit routines for compatibility-mode callers. A 64-bit argument comes
; as two stack words; the 64-bit side rebuilds it (upper halves of the
; registers are undefined after the mode switch: never trust them).

; uint64_t lm_read64(uint64_t va)
global lm_read64
lm_read64:
	mov ecx, [esp + 4]
	mov edx, [esp + 8]
	call SEL_CODE64:.body
	ret
bits 64
.body:
	shl rdx, 32
	mov ecx, ecx
	or rcx, rdx
	mov rax, [rcx]
	mov rdx, rax
	shr rdx, 32
	retf

; void lm_write64(uint64_t va, uint64_t value)
bits 32
global lm_write64
lm_write64:
	push ebx
	mov ecx, [esp + 8]
	mov edx, [esp + 12]
	mov eax, [esp + 16]
	mov ebx, [esp + 20]
	call SEL_CODE64:.body
	pop ebx
	ret
bits 64
.body:
	shl rdx, 32
	mov ecx, ecx
	or rcx, rdx
	shl rbx, 32
	mov eax, eax
	or rax, rbx
	mov [rcx], rax
	retf

; void lm_call64(uint64_t va): CALL va in 64-bit mode (it must RET).
bits 32
global lm_call64
lm_call64:
	mov ecx, [esp + 4]
	mov edx, [esp + 8]
	call SEL_CODE64:.body
	ret
bits 64
.body:
	shl rdx, 32
	mov ecx, ecx
	or rcx, rdx
	call rcx
	retf

; void lm_invlpg(uint64_t va)
bits 32
global lm_invlpg
lm_invlpg:
	mov ecx, [esp + 4]
	mov edx, [esp + 8]
	call SEL_CODE64:.body
	ret
bits 64
.body:
	shl rdx, 32
	mov ecx, ecx
	or rcx, rdx
	invlpg [rcx]
	retf

; uint32_t lm_code_bits(void): 64 when the far call really ran 64-bit
; code (in 64-bit mode 0x48 is REX.W; in 32-bit code it would be DEC EAX).
bits 32
global lm_code_bits
lm_code_bits:
	call SEL_CODE64:.body
	ret
bits 64
.body:
	mov rax, 0x4000000000           ; a 64-bit immediate: bit 38
	shr rax, 32                     ; EAX = 0x40 = 64
	retf

; ---------------------------------------------------------------------------
; 64-bit exception handlers.

%macro STUB64 1
trap64_%1:
%if (%1 == 8) || (%1 >= 10 && %1 <= 14) || (%1 == 17) || (%1 == 21) || (%1 == 29) || (%1 == 30)
%else
	push 0
%endif
	push %1
	jmp trap64_common
%endmacro

bits 64
%assign v 0
%rep 32
STUB64 v
%assign v v + 1
%endrep
STUB64 VEC_USER_RETURN

; Stack: vector, error code, RIP, CS, RFLAGS, RSP, SS (IA-32e always
; pushes SS:RSP).
trap64_common:
	mov [rel trap_last + TR_EAX], eax
	mov [rel trap_last + TR_EBX], ebx
	mov [rel trap_last + TR_ECX], ecx
	mov [rel trap_last + TR_EDX], edx
	mov [rel trap_last + TR_ESI], esi
	mov [rel trap_last + TR_EDI], edi
	mov [rel trap_last + TR_EBP], ebp
	mov rax, [rsp]
	mov [rel trap_last + TR_VECTOR], eax
	mov rax, [rsp + 8]
	mov [rel trap_last + TR_ERROR], eax
	mov rax, [rsp + 16]
	mov [rel trap_last + TR_IP], rax
	mov rax, [rsp + 24]
	mov [rel trap_last + TR_CS], eax
	mov rax, [rsp + 32]
	mov [rel trap_last + TR_FLAGS], eax
	mov rax, [rsp + 40]
	mov [rel trap_last + TR_SP], rax
	mov rax, cr2
	mov [rel trap_last + TR_CR2], rax
	mov dword [rel trap_last + TR_BITS], 64

	cmp dword [rel trap_armed], 0
	je .unexpected
	mov dword [rel trap_armed], 0
	xor eax, eax                    ; 1: faulted, 0: ring-3 return
	cmp dword [rel trap_last + TR_VECTOR], VEC_USER_RETURN
	setne al
	mov ecx, [rel recover_eip]
	mov edx, [rel recover_esp]
	jmp .resume
.unexpected:
	mov ecx, trap_unexpected32
	mov edx, emergency_stack_top
.resume:
	; Rewrite the frame into an IRETQ to 32-bit ring-0 code.
	mov [rsp + 16], rcx
	mov qword [rsp + 24], SEL_CODE32
	mov qword [rsp + 32], 2
	mov [rsp + 40], rdx
	mov qword [rsp + 48], SEL_DATA
	add rsp, 16
	iretq

section .rodata
global trap64_entries
trap64_entries:
%assign v 0
%rep 32
	dd trap64_ %+ v
%assign v v + 1
%endrep
	dd trap64_ %+ VEC_USER_RETURN
