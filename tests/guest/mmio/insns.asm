; mmio: the instructions under test, each a stub that ends in RET, and the
; harnesses that run one with registers and flags from a struct mm_regs
; and store them back (mmio.h).
;
; The stubs take their memory operands at ESI/RSI (a source) and EDI/RDI
; (a destination), so the same stub runs on RAM (the reference, which the
; CPU executes itself) and on MMIO (which the hypervisor emulates).

%include "tests/guest/lib/traps.inc"

; struct mm_regs
R_RAX   equ 0
R_RBX   equ 8
R_RCX   equ 16
R_RDX   equ 24
R_RSI   equ 32
R_RDI   equ 40
R_FLAGS equ 48

section .text

; void mm_run32(struct mm_regs *r, void (*stub)(void)): 32-bit code (also
; compatibility mode); the high halves of the registers come back as 0.
bits 32
global mm_run32
mm_run32:
	push ebp
	push ebx
	push esi
	push edi
	mov ebp, [esp + 20]
	mov eax, [esp + 24]
	mov [mm_stub], eax
	push dword [ebp + R_FLAGS]
	mov eax, [ebp + R_RAX]
	mov ebx, [ebp + R_RBX]
	mov ecx, [ebp + R_RCX]
	mov edx, [ebp + R_RDX]
	mov esi, [ebp + R_RSI]
	mov edi, [ebp + R_RDI]
	popfd
	call [mm_stub]
	pushfd
	mov [ebp + R_RAX], eax
	mov [ebp + R_RBX], ebx
	mov [ebp + R_RCX], ecx
	mov [ebp + R_RDX], edx
	mov [ebp + R_RSI], esi
	mov [ebp + R_RDI], edi
	pop dword [ebp + R_FLAGS]
	xor eax, eax
	mov [ebp + R_RAX + 4], eax
	mov [ebp + R_RBX + 4], eax
	mov [ebp + R_RCX + 4], eax
	mov [ebp + R_RDX + 4], eax
	mov [ebp + R_RSI + 4], eax
	mov [ebp + R_RDI + 4], eax
	mov [ebp + R_FLAGS + 4], eax
	cld
	pop edi
	pop esi
	pop ebx
	pop ebp
	ret

; void mm_run64(struct mm_regs *r, void (*stub)(void)): the stub is 64-bit
; code, run with all 64 bits of the registers (long mode only).
global mm_run64
mm_run64:
	push ebp
	push ebx
	push esi
	push edi
	mov ebp, [esp + 20]
	mov eax, [esp + 24]
	mov [mm_stub], eax
	call SEL_CODE64:.body
	cld
	pop edi
	pop esi
	pop ebx
	pop ebp
	ret
bits 64
.body:
	mov ebp, ebp
	mov r8d, [rel mm_stub]
	push qword [rbp + R_FLAGS]
	mov rax, [rbp + R_RAX]
	mov rbx, [rbp + R_RBX]
	mov rcx, [rbp + R_RCX]
	mov rdx, [rbp + R_RDX]
	mov rsi, [rbp + R_RSI]
	mov rdi, [rbp + R_RDI]
	popfq
	call r8
	pushfq
	mov [rbp + R_RAX], rax
	mov [rbp + R_RBX], rbx
	mov [rbp + R_RCX], rcx
	mov [rbp + R_RDX], rdx
	mov [rbp + R_RSI], rsi
	mov [rbp + R_RDI], rdi
	pop qword [rbp + R_FLAGS]
	cld
	retf

; ---------------------------------------------------------------------------
; 32-bit stubs (mmio.c's table names them).
bits 32
%macro STUB32 2+
global mm_%1
mm_%1:
	%2
	ret
%endmacro

STUB32 load8,		mov al, [esi]
STUB32 load8h,		mov ah, [esi]
STUB32 load16,		mov ax, [esi]
STUB32 load32,		mov eax, [esi]
STUB32 movzx8,		movzx eax, byte [esi]
STUB32 movsx16,		movsx eax, word [esi]
STUB32 store8,		mov [edi], bl
STUB32 store16,		mov [edi], bx
STUB32 store32,		mov [edi], ebx
STUB32 store8i,		mov byte [edi], 0x5a
STUB32 store32i,	mov dword [edi], 0x12345678
STUB32 movsb,		movsb
STUB32 movsd,		movsd
STUB32 rep_movsb,	rep movsb
STUB32 rep_movsw,	rep movsw
STUB32 rep_movsd,	rep movsd
STUB32 rep_stosb,	rep stosb
STUB32 rep_stosd,	rep stosd
STUB32 lodsb,		lodsb
STUB32 lodsd,		lodsd
STUB32 xchg8,		xchg [edi], bl
STUB32 xchg32,		xchg [edi], ebx
STUB32 cmpxchg32,	cmpxchg [edi], ebx
STUB32 lock_cmpxchg8,	lock cmpxchg [edi], bl
STUB32 lock_cmpxchg32,	lock cmpxchg [edi], ebx
STUB32 lock_cmpxchg8b,	lock cmpxchg8b [edi]
STUB32 lock_or32,	lock or [edi], ebx
STUB32 lock_and32,	lock and [edi], ebx
STUB32 lock_add32,	lock add [edi], ebx
STUB32 lock_or8i,	lock or byte [edi], 0x81
STUB32 lock_add16i,	lock add word [edi], byte 0x7f
STUB32 lock_xadd32,	lock xadd [edi], ebx
STUB32 lock_inc32,	lock inc dword [edi]
STUB32 dec8,		dec byte [edi]
STUB32 not32,		not dword [edi]
STUB32 lock_neg32,	lock neg dword [edi]
STUB32 sub32,		sub [edi], ebx
STUB32 xor16,		xor [edi], bx
STUB32 bts32,		bts [edi], ebx
STUB32 lock_bts32i,	lock bts dword [edi], 5
STUB32 btr32,		btr [edi], ebx
STUB32 lock_btc32,	lock btc [edi], ebx
STUB32 bt32,		bt [edi], ebx
STUB32 test32,		test [edi], ebx
STUB32 cmp32,		cmp [edi], ebx
STUB32 add_load32,	add eax, [esi]
STUB32 or_load16,	or ax, [esi]

; 64-bit stubs.
bits 64
%macro STUB64 2+
global mm64_%1
mm64_%1:
	%2
	ret
%endmacro

STUB64 load64,		mov rax, [rsi]
STUB64 load32,		mov eax, [rsi]
STUB64 movzx16,		movzx rax, word [rsi]
STUB64 store64,		mov [rdi], rbx
STUB64 rep_movsq,	rep movsq
STUB64 rep_stosq,	rep stosq
STUB64 xchg64,		xchg [rdi], rbx
STUB64 lock_cmpxchg64,	lock cmpxchg [rdi], rbx
STUB64 lock_cmpxchg16b,	lock cmpxchg16b [rdi]
STUB64 lock_or64,	lock or [rdi], rbx
STUB64 lock_add64,	lock add [rdi], rbx
STUB64 bts64,		bts [rdi], rbx

section .data
mm_stub: dd 0
