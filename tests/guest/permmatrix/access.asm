; permmatrix's access engine: one read, write or instruction fetch at a
; test address, at CPL 0 or CPL 3, from 32-bit code (32-bit paging, PAE)
; or from 64-bit code (long mode: the test addresses are above 4 GiB), with
; a fault recorded as expect_fault() records it (trap_last) and the same
; recovery protocol (trap_armed, recover_esp, recover_eip: traps32.asm).
;
; CPL 3 runs stubs from pm_user_page, a page the C side maps a second time
; as a user page (the identity map is supervisor-only, so that SMEP and
; SMAP can be on while the runtime runs). They take everything in
; registers and touch no memory but the test address and their stack (a
; user page too): CR4.SMAP forbids the kernel to write a user stack for
; them, CR4.SMEP to run them.

%include "tests/guest/lib/traps.inc"

EFLAGS_AC       equ 0x40000

; struct pm_req (permmatrix.h)
REQ_KIND        equ 0               ; 0 read, 1 write, 2 fetch
REQ_VA_LO       equ 4
REQ_VA_HI       equ 8
REQ_VALUE       equ 12              ; what a write stores
REQ_FLAGS       equ 16
REQ_USER_EIP    equ 20              ; CPL 3: the stub, in the user window
REQ_USER_ESP    equ 24              ; CPL 3: the stack, in the user window
REQ_RESULT      equ 28              ; what a CPL 0 read loaded

F_USER          equ 1               ; CPL 3
F_64            equ 2               ; from 64-bit code
F_AC            equ 4               ; CPL 0 with EFLAGS.AC = 1

extern trap_armed, recover_esp, recover_eip

section .text
bits 32

; int pm_access(struct pm_req *req): 1 if the access faulted (trap_last
; says how), 0 if it completed (a CPL 3 read's value is then in
; trap_last.eax, which INT 0x30 recorded).
global pm_access
pm_access:
	push ebp
	mov ebp, esp
	push ebx
	push esi
	push edi
	mov esi, [ebp + 8]
	mov [recover_esp], esp
	mov dword [recover_eip], pm_recovered
	test dword [esi + REQ_FLAGS], F_USER
	jnz .user
	test dword [esi + REQ_FLAGS], F_AC
	jz .registers
	pushfd
	or dword [esp], EFLAGS_AC
	popfd
.registers:
	mov ebx, [esi + REQ_KIND]
	mov ecx, [esi + REQ_VA_LO]
	mov edx, [esi + REQ_VA_HI]
	mov eax, [esi + REQ_VALUE]
	mov dword [trap_armed], 1
	test dword [esi + REQ_FLAGS], F_64
	jnz .sup64
	cmp ebx, 1
	jb .read32
	je .write32
	call ecx                        ; a RET at the test address
	jmp .done
.read32:
	mov eax, [ecx]
	jmp .done
.write32:
	mov [ecx], eax
	jmp .done
.sup64:
	call SEL_CODE64:sup_access64
.done:
	mov dword [trap_armed], 0
	mov [esi + REQ_RESULT], eax
	xor eax, eax
	jmp pm_out

.user:
	mov eax, SEL_UCODE32
	test dword [esi + REQ_FLAGS], F_64
	jz .frame
	mov eax, SEL_UCODE64            ; IRETD may enter 64-bit code
.frame:
	push SEL_UDATA                  ; SS
	push dword [esi + REQ_USER_ESP] ; ESP
	push 0x2                        ; EFLAGS: IF = 0, IOPL = 0, AC = 0
	push eax                        ; CS
	push dword [esi + REQ_USER_EIP] ; EIP
	mov ecx, [esi + REQ_VA_LO]
	mov edx, [esi + REQ_VA_HI]
	mov eax, [esi + REQ_VALUE]
	mov dword [trap_armed], 1
	mov bx, SEL_UDATA
	mov ds, bx
	mov es, bx
	iretd

; A handler resumes here: ESP = recover_esp, EAX = 1 (fault) or 0 (the
; CPL 3 stub's INT 0x30). The 32-bit handlers keep EFLAGS.AC as it was.
pm_recovered:
	mov cx, SEL_DATA
	mov ds, cx
	mov es, cx
	mov fs, cx
	mov gs, cx
pm_out:
	pushfd
	and dword [esp], ~EFLAGS_AC
	popfd
	pop edi
	pop esi
	pop ebx
	pop ebp
	ret

; CPL 0, 64-bit: EBX = kind, EDX:ECX = address, EAX = value.
bits 64
sup_access64:
	shl rdx, 32
	mov ecx, ecx
	or rcx, rdx
	cmp ebx, 1
	jb .read
	je .write
	call rcx
	retf
.read:
	mov eax, [rcx]
	retf
.write:
	mov [rcx], eax
	retf

; ---------------------------------------------------------------------------
; The CPL 3 stubs: one page, position-independent, mapped as a user page.
; EDX:ECX = address, EAX = value; INT 0x30 brings the CPU back to CPL 0.
section .text.pmuser progbits alloc exec nowrite align=4096
global pm_user_page, pm_user_read32, pm_user_write32, pm_user_fetch32
global pm_user_read64, pm_user_write64, pm_user_fetch64
pm_user_page:

bits 32
pm_user_read32:
	mov eax, [ecx]
	int VEC_USER_RETURN
pm_user_write32:
	mov [ecx], eax
	int VEC_USER_RETURN
pm_user_fetch32:
	call ecx
	int VEC_USER_RETURN

bits 64
pm_user_read64:
	shl rdx, 32
	mov ecx, ecx
	or rcx, rdx
	mov eax, [rcx]
	int VEC_USER_RETURN
pm_user_write64:
	shl rdx, 32
	mov ecx, ecx
	or rcx, rdx
	mov [rcx], eax
	int VEC_USER_RETURN
pm_user_fetch64:
	shl rdx, 32
	mov ecx, ecx
	or rcx, rdx
	call rcx
	int VEC_USER_RETURN

	align 4096, db 0xcc             ; the rest of the page: INT3
