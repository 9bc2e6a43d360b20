; The VMRUN stub (AMD APM vol. 2, 15.5 and 15.17):
;
;   void svm_vmrun(struct vcpu_regs *regs, uint64_t vmcb_pa,
;                  uint64_t host_vmcb_pa);
;
; VMRUN saves and restores only part of the host (RIP, RSP, RAX, RFLAGS,
; CR0/3/4, EFER, GDTR, IDTR, ES/CS/SS/DS); the rest of the state that
; VMLOAD/VMSAVE move (FS, GS, TR, LDTR with their hidden parts,
; KernelGSBase, STAR/LSTAR/CSTAR/SFMASK, SYSENTER_*) the host keeps in its
; own page (host_vmcb_pa) and the guest in its VMCB. All general registers
; but RAX and RSP are the guest's in the guest, so the host's callee-saved
; ones go on the stack.
;
; GIF and IF. The caller has interrupts off. CLGI holds every interrupt,
; NMI and SMI from here to the STGI at the end, so nothing runs on the
; guest's GS base between VMLOAD and VMRUN, nor between #VMEXIT and the
; host's VMLOAD. STI inside that window changes nothing at once, but VMRUN
; saves the host's RFLAGS.IF = 1, and with V_INTR_MASKING that saved IF is
; what lets a physical interrupt end the guest with an INTR intercept.
; #VMEXIT restores IF = 1 with GIF = 0; CLI before STGI leaves the
; interrupt pending until the caller turns interrupts on (an NMI is taken
; at STGI).

; struct vcpu_regs offsets (checked by _Static_assert in vcpu.c).
REGS_RBX equ 8
REGS_RCX equ 16
REGS_RDX equ 24
REGS_RSI equ 32
REGS_RDI equ 40
REGS_RBP equ 48
REGS_R8  equ 64
REGS_R9  equ 72
REGS_R10 equ 80
REGS_R11 equ 88
REGS_R12 equ 96
REGS_R13 equ 104
REGS_R14 equ 112
REGS_R15 equ 120

bits 64
section .text
global svm_vmrun
svm_vmrun:
	push rbp
	mov rbp, rsp
	push rbx
	push r12
	push r13
	push r14
	push r15
	push rdi			; [rsp+16] regs
	push rdx			; [rsp+8]  host state page
	push rsi			; [rsp]    guest VMCB

	clgi
	sti				; see above: held by GIF = 0
	mov rax, rdx
	vmsave				; host FS/GS/TR/LDTR/... -> host page
	mov rax, rsi
	vmload				; guest's from its VMCB

	mov rbx, [rdi + REGS_RBX]
	mov rcx, [rdi + REGS_RCX]
	mov rdx, [rdi + REGS_RDX]
	mov rsi, [rdi + REGS_RSI]
	mov rbp, [rdi + REGS_RBP]
	mov r8,  [rdi + REGS_R8]
	mov r9,  [rdi + REGS_R9]
	mov r10, [rdi + REGS_R10]
	mov r11, [rdi + REGS_R11]
	mov r12, [rdi + REGS_R12]
	mov r13, [rdi + REGS_R13]
	mov r14, [rdi + REGS_R14]
	mov r15, [rdi + REGS_R15]
	mov rdi, [rdi + REGS_RDI]

	vmrun				; RAX = guest VMCB

	; #VMEXIT: RSP, RAX (= guest VMCB) and RFLAGS are the host's again;
	; every other GPR still holds the guest's value. GIF = 0.
	mov rax, [rsp + 16]
	mov [rax + REGS_RBX], rbx
	mov [rax + REGS_RCX], rcx
	mov [rax + REGS_RDX], rdx
	mov [rax + REGS_RSI], rsi
	mov [rax + REGS_RDI], rdi
	mov [rax + REGS_RBP], rbp
	mov [rax + REGS_R8],  r8
	mov [rax + REGS_R9],  r9
	mov [rax + REGS_R10], r10
	mov [rax + REGS_R11], r11
	mov [rax + REGS_R12], r12
	mov [rax + REGS_R13], r13
	mov [rax + REGS_R14], r14
	mov [rax + REGS_R15], r15

	pop rax
	vmsave				; guest's FS/GS/TR/... back into its VMCB
	pop rax
	vmload				; host's: GS base = per-CPU block again
	cli
	stgi

	pop rdi
	pop r15
	pop r14
	pop r13
	pop r12
	pop rbx
	pop rbp
	ret
