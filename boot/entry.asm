; 32-bit entry for both multiboot protocols, then long mode, then C.
;
; In:  EAX = loader magic, EBX = physical address of its info block,
;      32-bit protected mode, paging off, interrupts in an unknown state.
; Out: kmain(magic, info_phys) on the boot stack, running at -2 GiB,
;      with early page tables that map physical 0-4 GiB three times:
;      identity (for this code), the direct map at 0xFFFF800000000000, and
;      the kernel window at 0xFFFFFFFF80000000 (first GiB).
;
; Loaders leave different control-register state (GRUB-EFI sets EFER.NXE,
; for one), so CR0, CR4 and EFER are written whole, never read-modify-write.

bits 32

KERNEL_VMA      equ 0xFFFFFFFF80000000
COM1            equ 0x3f8

PTE_P           equ 1 << 0
PTE_W           equ 1 << 1
PTE_PS          equ 1 << 7

CR0_PE          equ 1 << 0
CR0_MP          equ 1 << 1
CR0_ET          equ 1 << 4
CR0_NE          equ 1 << 5
CR0_WP          equ 1 << 16
CR0_PG          equ 1 << 31
CR4_PAE         equ 1 << 5
MSR_EFER        equ 0xC0000080
EFER_LME        equ 1 << 8

global _start32
extern kmain
extern boot_pml4_phys, boot_pdpt_low_phys, boot_pdpt_high_phys, boot_pd_phys
extern boot_stack_top_phys

section .boot.text progbits alloc exec nowrite align=16
_start32:
	cli
	cld
	mov edi, eax                    ; magic: kmain's first argument
	mov esi, ebx                    ; info:  kmain's second argument
	mov esp, boot_stack_top_phys

	call check_long_mode

	; Zero the early tables: 1 PML4 + 2 PDPT + 4 PD = 7 pages, contiguous.
	push edi
	mov edi, boot_pml4_phys
	mov ecx, 7 * 4096 / 4
	xor eax, eax
	rep stosd
	pop edi

	; Four page directories of 2 MiB pages: physical 0-4 GiB.
	mov ebx, boot_pd_phys
	xor ecx, ecx
.fill_pd:
	mov eax, ecx
	shl eax, 21
	or eax, PTE_P | PTE_W | PTE_PS
	mov [ebx + ecx * 8], eax
	mov eax, ecx
	shr eax, 11                     ; high 32 bits of (ecx << 21)
	mov [ebx + ecx * 8 + 4], eax
	inc ecx
	cmp ecx, 4 * 512
	jne .fill_pd

	; PDPT low: four entries, one per page directory.
	mov ebx, boot_pdpt_low_phys
	mov eax, boot_pd_phys
	or eax, PTE_P | PTE_W
	mov ecx, 0
.fill_pdpt:
	mov [ebx + ecx * 8], eax
	add eax, 4096
	inc ecx
	cmp ecx, 4
	jne .fill_pdpt

	; PDPT high: entry 510 (-2 GiB) -> first page directory (0-1 GiB).
	mov ebx, boot_pdpt_high_phys
	mov eax, boot_pd_phys
	or eax, PTE_P | PTE_W
	mov [ebx + 510 * 8], eax

	; PML4: 0 (identity) and 256 (direct map) share the low PDPT.
	mov ebx, boot_pml4_phys
	mov eax, boot_pdpt_low_phys
	or eax, PTE_P | PTE_W
	mov [ebx], eax
	mov [ebx + 256 * 8], eax
	mov eax, boot_pdpt_high_phys
	or eax, PTE_P | PTE_W
	mov [ebx + 511 * 8], eax

	mov eax, CR4_PAE
	mov cr4, eax
	mov eax, boot_pml4_phys
	mov cr3, eax
	mov ecx, MSR_EFER
	mov eax, EFER_LME
	xor edx, edx
	wrmsr
	mov eax, CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG
	mov cr0, eax

	lgdt [boot_gdt_ptr]
	jmp 0x08:long_mode_low

; Stop with a message on COM1 if this CPU cannot run 64-bit code. The port
; is the default one: the command line has not been read yet.
check_long_mode:
	pushfd                          ; CPUID exists if EFLAGS.ID toggles
	pop eax
	mov ecx, eax
	xor eax, 1 << 21
	push eax
	popfd
	pushfd
	pop eax
	push ecx
	popfd
	cmp eax, ecx
	je .no_long_mode
	mov eax, 0x80000000
	cpuid
	cmp eax, 0x80000001
	jb .no_long_mode
	mov eax, 0x80000001
	cpuid
	test edx, 1 << 29
	jz .no_long_mode
	ret
.no_long_mode:
	mov esi, no_long_mode_msg
.next_char:
	lodsb
	test al, al
	jz .halt
	mov ah, al
	mov dx, COM1 + 5
.wait_tx:
	in al, dx
	test al, 0x20
	jz .wait_tx
	mov dx, COM1
	mov al, ah
	out dx, al
	jmp .next_char
.halt:
	mov dx, 0xf4                    ; QEMU isa-debug-exit: failure
	mov al, 0x11
	out dx, al
.hang:
	hlt
	jmp .hang

bits 64
long_mode_low:
	mov ax, 0x10
	mov ds, ax
	mov es, ax
	mov ss, ax
	xor ax, ax
	mov fs, ax
	mov gs, ax
	mov rax, long_mode_high
	jmp rax

section .boot.data progbits alloc noexec write align=16
no_long_mode_msg:
	db 13, 10, "hv: x86_64 hypervisor: FATAL: this CPU does not support"
	db " 64-bit long mode; the hypervisor cannot start. Halted.", 13, 10, 0

align 16
boot_gdt:
	dq 0
	dq 0x00AF9A000000FFFF           ; 0x08: 64-bit code
	dq 0x00CF92000000FFFF           ; 0x10: data
boot_gdt_end:
boot_gdt_ptr:
	dw boot_gdt_end - boot_gdt - 1
	dd boot_gdt

section .text.entry64 progbits alloc exec nowrite align=16
long_mode_high:
	mov rsp, boot_stack_top
	xor ebp, ebp                    ; ends the frame-pointer chain
	; edi = magic, esi = info (zero-extended by the 32-bit moves above)
	call kmain
.hang:
	cli
	hlt
	jmp .hang

section .bss nobits alloc noexec write align=4096
global boot_pml4, boot_pdpt_low, boot_pdpt_high, boot_pd
boot_pml4:      resb 4096
boot_pdpt_low:  resb 4096
boot_pdpt_high: resb 4096
boot_pd:        resb 4 * 4096

; The boot CPU's stack. 16 KiB; the page below it is left unmapped by the
; host page tables (kernel/paging.c) so an overflow faults instead of
; corrupting .bss.
global boot_stack_guard, boot_stack_top
alignb 4096
boot_stack_guard: resb 4096
boot_stack:       resb 16384
boot_stack_top:
