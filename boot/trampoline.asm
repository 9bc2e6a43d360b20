; Application-processor trampoline. smp/boot.c copies the bytes between
; trampoline_start and trampoline_end to a free page below 1 MiB, fills in
; the parameters at the end, and sends INIT-SIPI-SIPI with that page's
; number as the vector. The AP starts here in real mode with CS = page << 8
; and IP = 0, so everything is addressed relative to the page: EBX holds
; its linear base from the first instructions on.
;
; Real mode -> 32-bit protected mode -> long mode with the parameters'
; page tables (the kernel's upper half plus an identity map of the first
; 2 MiB, so this page stays reachable while paging turns on) -> the
; kernel's ap_entry(percpu) on the AP's own stack.

CR0_PE          equ 1 << 0
CR0_MP          equ 1 << 1
CR0_ET          equ 1 << 4
CR0_NE          equ 1 << 5
CR0_WP          equ 1 << 16
CR0_PG          equ 1 << 31
CR4_PAE         equ 1 << 5
MSR_EFER        equ 0xC0000080

%define OFF(label) ((label) - trampoline_start)

global trampoline_start, trampoline_end, trampoline_params

section .rodata
align 16
trampoline_start:
bits 16
	cli
	cld
	mov ax, cs
	mov ds, ax
	xor ebx, ebx
	mov bx, ax
	shl ebx, 4                      ; linear base of this page

	lea eax, [ebx + OFF(tramp_gdt)]
	mov [OFF(tramp_gdt_ptr) + 2], eax
	lgdt [OFF(tramp_gdt_ptr)]
	lea eax, [ebx + OFF(protected_mode)]
	mov [OFF(protected_mode_ptr)], eax

	mov eax, CR0_PE
	mov cr0, eax
	o32 jmp far [OFF(protected_mode_ptr)]

bits 32
protected_mode:
	mov ax, 0x10
	mov ds, ax
	mov es, ax
	mov ss, ax
	mov eax, CR4_PAE
	mov cr4, eax
	mov eax, [ebx + OFF(param_cr3)]
	mov cr3, eax
	mov ecx, MSR_EFER
	mov eax, [ebx + OFF(param_efer)]
	xor edx, edx
	wrmsr
	mov eax, CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG
	mov cr0, eax
	lea eax, [ebx + OFF(long_mode)]
	mov [ebx + OFF(long_mode_ptr)], eax
	jmp far [ebx + OFF(long_mode_ptr)]

bits 64
long_mode:
	mov rsp, [rbx + OFF(param_stack)]
	mov rdi, [rbx + OFF(param_percpu)]
	mov rax, [rbx + OFF(param_entry)]
	xor ebp, ebp                    ; ends the stack trace
	push rbp                        ; a return address of 0
	jmp rax

align 8
tramp_gdt:
	dq 0
	dq 0x00CF9A000000FFFF           ; 0x08: 32-bit code
	dq 0x00CF92000000FFFF           ; 0x10: data
	dq 0x00AF9A000000FFFF           ; 0x18: 64-bit code
tramp_gdt_ptr:
	dw 4 * 8 - 1
	dd 0                            ; base: filled in at run time
protected_mode_ptr:
	dd 0
	dw 0x08
long_mode_ptr:
	dd 0
	dw 0x18

; struct trampoline_params in smp/boot.c
align 8
trampoline_params:
param_cr3:      dd 0                ; page tables, below 4 GiB
param_efer:     dd 0                ; LME, and NXE if the CPU has it
param_stack:    dq 0
param_percpu:   dq 0
param_entry:    dq 0
trampoline_end:
