; Guest entry as a multiboot1 kernel: 32-bit protected mode, paging off,
; EAX = 0x2BADB002, EBX = multiboot info. Clears .bss (which holds the
; stack), then calls guest_main(magic, info).

MB1_MAGIC equ 0x1BADB002
MB1_FLAGS equ 0x00000003        ; page-aligned modules, memory info

bits 32
section .multiboot
align 4
	dd MB1_MAGIC
	dd MB1_FLAGS
	dd -(MB1_MAGIC + MB1_FLAGS)

section .text
global guest_entry
extern guest_main
extern __bss_start, __bss_end
guest_entry:
	cli
	cld
	mov esi, eax                    ; keep magic and info across the clear
	mov edx, ebx
	mov edi, __bss_start
	mov ecx, __bss_end
	sub ecx, edi
	shr ecx, 2
	xor eax, eax
	rep stosd
	mov esp, guest_stack_top
	xor ebp, ebp
	push edx
	push esi
	call guest_main
.halt:
	hlt
	jmp .halt

section .bss
align 16
global guest_stack, guest_stack_top
guest_stack:    resb 16384
guest_stack_top:
