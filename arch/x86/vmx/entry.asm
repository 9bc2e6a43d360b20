; VM entry and exit (Intel SDM vol. 3C, chapters 27 and 28).
;
; int vmx_enter_guest(struct vcpu_regs *regs, uint64_t *guest_cr2,
;                     bool resume)
;
; Saves the host's callee-saved registers on this stack, writes the stack
; pointer into the VMCS host RSP, loads CR2 and the guest's general
; registers, and runs VMLAUNCH or VMRESUME. RSP, RIP and RFLAGS of the
; guest live in the VMCS (vcpu.c writes and reads them).
;
; A VM exit lands on vmx_exit_point (the VMCS host RIP) with the host's
; RSP, CR0/3/4, segments, EFER, PAT and RFLAGS = 2 (interrupts off),
; everything else still the guest's: the guest's registers go back into
; *regs, its CR2 into *guest_cr2 (VMX does not save CR2, and nothing on
; the host may fault before it is read), and the function returns 0.
;
; If VMLAUNCH/VMRESUME itself fails, execution falls through with CF=1
; (VMfailInvalid: returns 1) or ZF=1 (VMfailValid: returns 2; the number
; is in the VM-instruction error field). A VM-entry failure that the CPU
; reports as an exit (reason bit 31) comes back through vmx_exit_point.
;
; Stack while the guest runs, from the VMCS host RSP up:
;   [rsp]      guest_cr2 pointer
;   [rsp+8]    regs pointer
;   [rsp+16]   r15 r14 r13 r12 rbx rbp, return address

bits 64
default rel

VMCS_HOST_RSP   equ 0x6c14

; struct vcpu_regs offsets (virt/vcpu.h; checked by vcpu.c).
REGS_RAX        equ 0
REGS_RBX        equ 8
REGS_RCX        equ 16
REGS_RDX        equ 24
REGS_RSI        equ 32
REGS_RDI        equ 40
REGS_RBP        equ 48
REGS_R8         equ 64
REGS_R9         equ 72
REGS_R10        equ 80
REGS_R11        equ 88
REGS_R12        equ 96
REGS_R13        equ 104
REGS_R14        equ 112
REGS_R15        equ 120

VMX_SUCCEED      equ 0
VMX_FAIL_INVALID equ 1
VMX_FAIL_VALID   equ 2

section .text

global vmx_enter_guest
global vmx_exit_point

vmx_enter_guest:
	push rbp
	mov rbp, rsp
	push rbx
	push r12
	push r13
	push r14
	push r15
	push rdi			; regs
	push rsi			; guest_cr2

	; The guest's CR2, if the host's differs (a write costs more than
	; a read on real CPUs).
	mov rax, [rsi]
	mov rcx, cr2
	cmp rax, rcx
	je .cr2_loaded
	mov cr2, rax
.cr2_loaded:

	mov rax, VMCS_HOST_RSP
	vmwrite rax, rsp
	jc .fail_invalid
	jz .fail_valid

	test dl, dl			; resume? (MOVs below keep the flags)
	mov rax, [rdi + REGS_RAX]
	mov rbx, [rdi + REGS_RBX]
	mov rcx, [rdi + REGS_RCX]
	mov rdx, [rdi + REGS_RDX]
	mov rsi, [rdi + REGS_RSI]
	mov rbp, [rdi + REGS_RBP]
	mov r8, [rdi + REGS_R8]
	mov r9, [rdi + REGS_R9]
	mov r10, [rdi + REGS_R10]
	mov r11, [rdi + REGS_R11]
	mov r12, [rdi + REGS_R12]
	mov r13, [rdi + REGS_R13]
	mov r14, [rdi + REGS_R14]
	mov r15, [rdi + REGS_R15]
	mov rdi, [rdi + REGS_RDI]
	jnz .resume
	vmlaunch
	jmp .entry_failed
.resume:
	vmresume
.entry_failed:
	; Still on the host's stack; the registers hold guest values.
	jc .fail_invalid
.fail_valid:
	mov eax, VMX_FAIL_VALID
	jmp .out
.fail_invalid:
	mov eax, VMX_FAIL_INVALID
.out:
	add rsp, 16			; guest_cr2, regs
	pop r15
	pop r14
	pop r13
	pop r12
	pop rbx
	pop rbp
	ret

; VM exit. RSP is the VMCS host RSP written above.
align 16
vmx_exit_point:
	push rdi			; the guest's
	mov rdi, [rsp + 16]		; regs
	mov [rdi + REGS_RAX], rax
	mov [rdi + REGS_RBX], rbx
	mov [rdi + REGS_RCX], rcx
	mov [rdi + REGS_RDX], rdx
	mov [rdi + REGS_RSI], rsi
	mov [rdi + REGS_RBP], rbp
	mov [rdi + REGS_R8], r8
	mov [rdi + REGS_R9], r9
	mov [rdi + REGS_R10], r10
	mov [rdi + REGS_R11], r11
	mov [rdi + REGS_R12], r12
	mov [rdi + REGS_R13], r13
	mov [rdi + REGS_R14], r14
	mov [rdi + REGS_R15], r15
	pop qword [rdi + REGS_RDI]
	mov rax, cr2
	mov rsi, [rsp]			; guest_cr2
	mov [rsi], rax
	add rsp, 16
	pop r15
	pop r14
	pop r13
	pop r12
	pop rbx
	pop rbp
	xor eax, eax			; VMX_SUCCEED
	ret
