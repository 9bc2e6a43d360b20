; smpmmu's assembly: the secondary vCPUs' entry, the #PF handler's entry
; (one stub per vCPU: each vCPU has its own IDT, whose vector 14 says which
; vCPU took the fault), the probe routines and a 64-bit LIDT.
;
; The #PF handler calls smp_pf (C, compatibility mode) through a 32-bit
; trampoline, as ptwriter's pfhandler.asm does; smp_pf returns 0 (not
; ours: the runtime's handler gets the fault as the CPU delivered it), 1
; (run the faulting instruction again) or an address to resume at. Nothing
; here is shared between vCPUs but the code: the result travels on the
; vCPU's own stack.

%include "tests/guest/lib/traps.inc"

extern smp_pf, trap64_entries, ap_main

section .text

; ---------------------------------------------------------------------------
; A secondary vCPU starts here (HC_START_VCPU): 32-bit protected mode,
; paging off, EAX = its index, ESP = its stack.
bits 32
global ap_entry
ap_entry:
	cli
	cld
	push eax
	push eax                        ; ap_main(index); it does not return
	call ap_main
.halt:
	hlt
	jmp .halt

; ---------------------------------------------------------------------------
; void lm_lidt(const void *pd): LIDT with a 10-byte pseudo-descriptor, from
; 64-bit code (the 64-bit base is only read there).
global lm_lidt
lm_lidt:
	mov ecx, [esp + 4]
	call SEL_CODE64:.body
	ret
bits 64
.body:
	mov ecx, ecx
	lidt [rcx]
	retf

; ---------------------------------------------------------------------------
; uint32_t probe_read(uint32_t va), void probe_write(uint32_t va, uint32_t v)
bits 32
global probe_read, probe_read_insn, probe_read_fix
probe_read:
	mov ecx, [esp + 4]
probe_read_insn:
	mov eax, [ecx]
	ret
probe_read_fix:
	xor eax, eax
	ret

global probe_write, probe_write_insn, probe_write_fix
probe_write:
	mov ecx, [esp + 4]
	mov edx, [esp + 8]
probe_write_insn:
	mov [ecx], edx
probe_write_fix:
	ret

; ---------------------------------------------------------------------------
; The #PF entry: vCPU n's IDT has pf_stub_n at vector 14.
bits 64
%macro PFSTUB 1
global pf_stub_%1
pf_stub_%1:
	push %1
	jmp pf_common
%endmacro
%assign n 0
%rep 8
PFSTUB n
%assign n n + 1
%endrep

; Stack: vCPU index, error code, RIP, CS, RFLAGS, RSP, SS.
pf_common:
	PUSH_GPRS64
	mov esi, [rsp + 15 * 8]         ; the vCPU
	mov edx, [rsp + 16 * 8]         ; the error code
	mov edi, [rsp + 17 * 8]         ; RIP (the test runs below 4 GiB)
	mov rcx, cr2
	call far dword [rel tramp_ptr]
	mov eax, eax
	mov [rsp + 15 * 8], rax         ; the result replaces the index
	POP_GPRS64
	cmp qword [rsp], 0
	je .not_ours
	cmp qword [rsp], 1
	je .again
	push rax
	mov rax, [rsp + 8]              ; the address to resume at
	mov [rsp + 24], rax             ; the frame's RIP
	pop rax
.again:
	add rsp, 16                     ; the result and the error code
	iretq
.not_ours:
	add rsp, 8                      ; the frame as the CPU pushed it
	push rax
	mov eax, [rel trap64_entries + 14 * 4]
	xchg rax, [rsp]
	ret

bits 32
pf_tramp32:                             ; ESI vCPU, ECX CR2, EDX error, EDI RIP
	push edi
	push edx
	push ecx
	push esi
	call smp_pf                     ; uint32_t smp_pf(cpu, cr2, err, rip)
	add esp, 16
	retf

section .data
align 8
tramp_ptr:
	dd pf_tramp32
	dw SEL_CODE32
