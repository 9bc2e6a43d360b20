; Multiboot headers. One image boots by both protocols:
;  - multiboot1 with the a.out kludge (flag 16), because QEMU's -kernel
;    refuses a 64-bit ELF but honours explicit load addresses;
;  - multiboot2 (GRUB on BIOS and UEFI), which loads the ELF by its
;    program headers' physical addresses.
; Both end up at _start32 in 32-bit protected mode with paging off.

extern _start32
extern _image_start_phys, _load_end_phys, _bss_end_phys

MB1_MAGIC       equ 0x1BADB002
MB1_PAGE_ALIGN  equ 1 << 0      ; modules on 4 KiB boundaries
MB1_MEMINFO     equ 1 << 1      ; memory map please
MB1_AOUT_KLUDGE equ 1 << 16     ; use the addresses below, not the ELF
MB1_FLAGS       equ MB1_PAGE_ALIGN | MB1_MEMINFO | MB1_AOUT_KLUDGE

section .multiboot1 progbits alloc noexec nowrite align=4
mb1_header:
	dd MB1_MAGIC
	dd MB1_FLAGS
	dd -(MB1_MAGIC + MB1_FLAGS)
	dd mb1_header           ; header_addr (physical: .boot runs where loaded)
	dd _image_start_phys    ; load_addr
	dd _load_end_phys       ; load_end_addr
	dd _bss_end_phys        ; bss_end_addr: the loader zeroes up to here
	dd _start32             ; entry_addr

MB2_MAGIC       equ 0xE85250D6
MB2_ARCH_I386   equ 0

section .multiboot2 progbits alloc noexec nowrite align=8
mb2_header:
	dd MB2_MAGIC
	dd MB2_ARCH_I386
	dd mb2_header_end - mb2_header
	dd -(MB2_MAGIC + MB2_ARCH_I386 + (mb2_header_end - mb2_header))
	; module alignment tag: page-aligned modules
	align 8
	dw 6, 0
	dd 8
	; end tag
	align 8
	dw 0, 0
	dd 8
mb2_header_end:
