; Interrupt and exception entry: one stub per vector pushes a dummy error
; code where the CPU pushes none, then the vector, and joins the common
; path, which saves the general registers in struct trap_frame order
; (arch/x86/trap_frame.h) and calls trap_dispatch(frame).
;
; Stack at the call: 5 CPU words + error + vector + 15 registers = 22
; words = 176 bytes, and the CPU aligned RSP to 16 before its pushes, so
; the call is made with RSP 16-byte aligned as the ABI wants.

bits 64
default rel

extern trap_dispatch
global trap_stub_table

section .text

; Vectors for which the CPU pushes an error code.
%define HAS_ERROR(v) ((v) == 8 || ((v) >= 10 && (v) <= 14) || (v) == 17 || (v) == 21 || (v) == 29 || (v) == 30)

%macro TRAP_STUB 1
align 16
trap_stub_%1:
%if !HAS_ERROR(%1)
	push 0
%endif
	push %1
	jmp trap_common
%endmacro

%assign v 0
%rep 256
	TRAP_STUB v
%assign v v + 1
%endrep

trap_common:
	push rax
	push rbx
	push rcx
	push rdx
	push rsi
	push rdi
	push rbp
	push r8
	push r9
	push r10
	push r11
	push r12
	push r13
	push r14
	push r15
	cld
	mov rdi, rsp
	call trap_dispatch
	pop r15
	pop r14
	pop r13
	pop r12
	pop r11
	pop r10
	pop r9
	pop r8
	pop rbp
	pop rdi
	pop rsi
	pop rdx
	pop rcx
	pop rbx
	pop rax
	add rsp, 16                     ; vector and error code
	iretq

section .rodata
align 8
trap_stub_table:
%assign v 0
%rep 256
	dq trap_stub_ %+ v
%assign v v + 1
%endrep
