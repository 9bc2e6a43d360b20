; 32-bit exception handlers, fault_call() (the heart of expect_fault) and
; the ring-3 entry. See desc.h for the design; long64.asm has the 64-bit
; handler set, which shares the recovery point and trap_last.

%include "tests/guest/lib/traps.inc"

bits 32
section .text

; One stub per vector: vectors without an error code push a 0 so that the
; frame is the same for all. Then the vector number.
%macro STUB 1
trap32_%1:
%if (%1 == 8) || (%1 >= 10 && %1 <= 14) || (%1 == 17) || (%1 == 21) || (%1 == 29) || (%1 == 30)
%else
	push 0
%endif
	push %1
	jmp trap32_common
%endmacro

%assign v 0
%rep 32
STUB v
%assign v v + 1
%endrep
STUB VEC_USER_RETURN

section .rodata
global trap32_entries
trap32_entries:
%assign v 0
%rep 32
	dd trap32_ %+ v
%assign v v + 1
%endrep
	dd trap32_ %+ VEC_USER_RETURN

section .text
extern trap_last, trap_unexpected

; Stack: vector, error code, EIP, CS, EFLAGS, and ESP, SS when the CPU
; came from ring 3.
trap32_common:
	push eax
	mov ax, SEL_DATA                ; DS may be the ring-3 data segment
	mov ds, ax
	mov es, ax
	pop eax
	mov [trap_last + TR_EAX], eax
	mov [trap_last + TR_EBX], ebx
	mov [trap_last + TR_ECX], ecx
	mov [trap_last + TR_EDX], edx
	mov [trap_last + TR_ESI], esi
	mov [trap_last + TR_EDI], edi
	mov [trap_last + TR_EBP], ebp
	mov eax, [esp]
	mov [trap_last + TR_VECTOR], eax
	mov eax, [esp + 4]
	mov [trap_last + TR_ERROR], eax
	mov eax, [esp + 8]
	mov [trap_last + TR_IP], eax
	mov dword [trap_last + TR_IP + 4], 0
	mov eax, [esp + 12]
	mov [trap_last + TR_CS], eax
	mov ecx, [esp + 16]
	mov [trap_last + TR_FLAGS], ecx
	lea ecx, [esp + 20]             ; ESP before the exception, same ring
	test eax, 3
	jz .same_ring
	mov ecx, [esp + 20]
.same_ring:
	mov [trap_last + TR_SP], ecx
	mov dword [trap_last + TR_SP + 4], 0
	mov eax, cr2
	mov [trap_last + TR_CR2], eax
	mov dword [trap_last + TR_CR2 + 4], 0
	mov dword [trap_last + TR_BITS], 32

	cmp dword [trap_armed], 0
	je .unexpected
	mov dword [trap_armed], 0
	xor eax, eax                    ; 1: faulted, 0: ring-3 return
	cmp dword [trap_last + TR_VECTOR], VEC_USER_RETURN
	setne al
	mov esp, [recover_esp]
	jmp [recover_eip]
.unexpected:
	mov esp, emergency_stack_top
	call trap_unexpected            ; does not return

; int fault_call(void (*fn)(void *), void *arg, int user)
; Calls fn(arg) at CPL 0 (user = 0) or CPL 3; returns 1 if it faulted (a
; handler resumed at .recovered with EAX = 1), else 0.
global fault_call
fault_call:
	push ebp
	mov ebp, esp
	push ebx
	push esi
	push edi
	mov [recover_esp], esp
	mov dword [recover_eip], fault_call_recovered
	mov dword [trap_armed], 1
	cmp dword [ebp + 16], 0
	jne .user
	push dword [ebp + 12]
	call [ebp + 8]
	add esp, 4
	mov dword [trap_armed], 0
	xor eax, eax
	jmp fault_call_out
.user:
	; The ring-3 stack: arg, and a return address that comes back here.
	mov eax, user_stack_top - 8
	mov ecx, [ebp + 12]
	mov [eax + 4], ecx
	mov dword [eax], user_return
	push SEL_UDATA                  ; SS
	push eax                        ; ESP
	push 0x2                        ; EFLAGS: IF = 0, IOPL = 0
	push SEL_UCODE32                ; CS
	push dword [ebp + 8]            ; EIP
	mov cx, SEL_UDATA
	mov ds, cx
	mov es, cx
	iretd

; Both handler sets resume here: ESP = recover_esp, EAX = result. The
; 64-bit set arrives through IRETQ in compatibility mode.
global fault_call_recovered
fault_call_recovered:
	mov cx, SEL_DATA
	mov ds, cx
	mov es, cx
	mov fs, cx
	mov gs, cx
fault_call_out:
	pop edi
	pop esi
	pop ebx
	pop ebp
	ret

; Ring-3 code: fn's return address.
user_return:
	int VEC_USER_RETURN
	ud2

; The 64-bit handlers switch to compatibility mode and come here when no
; fault was expected.
global trap_unexpected32
trap_unexpected32:
	mov ax, SEL_DATA
	mov ds, ax
	mov es, ax
	call trap_unexpected

section .data
global trap_armed, recover_esp, recover_eip
trap_armed:     dd 0
recover_esp:    dd 0
recover_eip:    dd 0

section .bss
align 16
global trap_stack_top, emergency_stack_top, user_stack, user_stack_top
trap_stack:     resb 8192           ; ring 3 -> 0 (TSS ESP0 / RSP0)
trap_stack_top:
emergency_stack: resb 8192          ; reporting an unexpected fault
emergency_stack_top:
align 4096
user_stack:     resb 8192           ; ring 3, page-aligned for paging tests
user_stack_top:
