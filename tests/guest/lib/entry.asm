; Guest entry as a multiboot1 kernel: 32-bit protected mode, paging off,
; EAX = 0x2BADB002, EBX = multiboot info. Calls guest_main(magic, info).

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
guest_entry:
	cli
	cld
	mov esp, guest_stack_top
	xor ebp, ebp
	push ebx
	push eax
	call guest_main
.halt:
	hlt
	jmp .halt

section .bss
align 16
guest_stack:    resb 16384
guest_stack_top:
