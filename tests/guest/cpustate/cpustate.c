/*
 * cpustate: the processor state a hypervisor keeps or emulates for its
 * guest, checked from inside. Each check prints one line; any failure
 * fails the verdict.
 *
 *  - control registers: CR0/CR4 read back what the guest wrote (under VMX
 *    the hypervisor owns CR0.NE and CR4.VMXE, so a write that changes
 *    them is emulated), the #GP cases, CR4.VMXE hidden;
 *  - VMX instructions give #UD (the guest has no VMX), INVD goes on;
 *  - MSRs: EFER, PAT, SYSENTER, STAR/LSTAR, FS/GS/KERNEL_GS bases;
 *  - events delivered on a stack page the hypervisor has not mapped yet
 *    (the exit in the middle of delivery must re-deliver the event):
 *    INT3, INT n, #UD, and a single-step #DB trap, which is lost if the
 *    event is not re-delivered;
 *  - PAE paging and long mode entered and left twice: with a CR0 write
 *    that also flips CR0.NE (emulated under VMX: PDPTE loading, EFER.LMA)
 *    and with one that does not (done by the CPU); in 64-bit mode CR8 and
 *    SWAPGS with the guest's KERNEL_GS_BASE;
 *  - with the command line "smp": vCPU 1 started by hypercall.
 *
 * Self-contained (its own GDT, IDT and fault recovery) on the common
 * runtime's printf and verdict. Written to the SDM: bare QEMU TCG does not
 * make the #GP checks on EFER, PAT, LSTAR and PAE PDPTEs, so those fail
 * there (see docs/platforms facts on TCG's deviations).
 */
#include "tests/guest/lib/guest.h"
#include "virt/hypercall.h"

const char guest_name[] = "cpustate";

#define NO_FAULT	0xffu
#define VEC_DB		1
#define VEC_BP		3
#define VEC_UD		6
#define VEC_GP		13
#define VEC_INT_TEST	0x21
#define CR0_ET		0x10u
#define CR0_NE		0x20u
#define CR0_PG		(1u << 31)
#define CR4_VMXE	(1u << 13)
#define MSR_SYSENTER_CS	0x174
#define MSR_STAR	0xc0000081
#define MSR_LSTAR	0xc0000082
#define MSR_GS_BASE	0xc0000101
#define MSR_KERNEL_GS	0xc0000102
#define PAT_DEFAULT	0x0007040600070406ull

/* What the exception stubs push, then the CPU's frame. */
struct frame {
	uint32_t edi, esi, ebp, esp, ebx, edx, ecx, eax;
	uint32_t vector, error, eip, cs, eflags;
};

/* A faulting instruction resumes at 'fixup' (then cleared); the fault's
 * vector is kept in fault_vector. */
volatile uint32_t fixup, fault_vector, trap_count, trap_eip;
static bool all_ok = true;

void trap(struct frame *f);
void trap(struct frame *f)
{
	trap_count++;
	fault_vector = f->vector;
	trap_eip = f->eip;
	if (fixup) {
		f->eip = fixup;
		fixup = 0;
	} else if (f->vector == VEC_DB) {
		f->eflags &= ~0x100u;		/* one step is enough */
	} else if (f->vector != VEC_BP && f->vector != VEC_INT_TEST) {
		guest_printf("cpustate: unexpected exception %u at 0x%x\n",
			     f->vector, f->eip);
		guest_exit(false);
	}
}

/* ---- Tables, stubs and the long-mode round trip (asm) -------------------- */

void load_tables(void);
uint32_t long_round_trip(uint32_t pml4, uint32_t cr0_extra, uint32_t *res);
uint32_t int3_on_stack(uint32_t top);
uint32_t int_n_on_stack(uint32_t top);
uint32_t single_step_on_stack(uint32_t top);

__asm__(
	".pushsection .data\n"
	".balign 8\n"
	"gdt:\n"
	"	.quad 0\n"
	"	.quad 0x00cf9a000000ffff\n"	/* 0x08 code, 32-bit */
	"	.quad 0x00cf92000000ffff\n"	/* 0x10 data */
	"	.quad 0x00af9a000000ffff\n"	/* 0x18 code, 64-bit */
	"gdt_end:\n"
	"gdtr:	.word gdt_end - gdt - 1\n"
	"	.long gdt\n"
	"idtr:	.word 48 * 8 - 1\n"
	"	.long idt\n"
	"stub_table:\n"
	".popsection\n"
	".pushsection .bss\n"
	".balign 8\n"
	"idt:	.skip 48 * 8\n"
	".popsection\n"

	/* One stub per vector 0..47: a dummy error code where the CPU
	 * pushes none, the vector, then the common path. */
	".altmacro\n"
	".macro stub v\n"
	"stub_\\v:\n"
	".if (\\v <> 8) && ((\\v < 10) || (\\v > 14)) && (\\v <> 17)\n"
	"	pushl $0\n"
	".endif\n"
	"	pushl $\\v\n"
	"	jmp trap_common\n"
	"	.pushsection .data\n"
	"	.long stub_\\v\n"
	"	.popsection\n"
	".endm\n"
	".macro stubs from, to\n"
	"	stub \\from\n"
	"	.if \\to - \\from\n"
	"	stubs %(\\from + 1), \\to\n"
	"	.endif\n"
	".endm\n"
	".text\n"
	"stubs 0, 47\n"
	".noaltmacro\n"
	"trap_common:\n"
	"	pushal\n"
	"	pushl %esp\n"
	"	call trap\n"
	"	addl $4, %esp\n"
	"	popal\n"
	"	addl $8, %esp\n"
	"	iretl\n"

	".globl load_tables\n"
	"load_tables:\n"
	"	lgdt gdtr\n"
	"	ljmp $0x08, $1f\n"
	"1:	movw $0x10, %ax\n"
	"	movw %ax, %ds\n"
	"	movw %ax, %es\n"
	"	movw %ax, %ss\n"
	"	movw %ax, %fs\n"
	"	movw %ax, %gs\n"
	"	xorl %ecx, %ecx\n"
	"2:	movl stub_table(,%ecx,4), %eax\n"
	"	movw %ax, idt(,%ecx,8)\n"
	"	movw $0x08, idt+2(,%ecx,8)\n"
	"	movw $0x8e00, idt+4(,%ecx,8)\n"
	"	shrl $16, %eax\n"
	"	movw %ax, idt+6(,%ecx,8)\n"
	"	incl %ecx\n"
	"	cmpl $48, %ecx\n"
	"	jb 2b\n"
	"	lidt idtr\n"
	"	ret\n"

	/* long_round_trip(pml4, cr0_extra, res): EFER.LME, CR4.PAE, CR3,
	 * CR0.PG|cr0_extra, far jump to 64-bit code; there CR8, EFER,
	 * SWAPGS with the bases read by RDMSR, an I/O exit, CR0; far return
	 * to compatibility mode, paging and cr0_extra off, LME off.
	 * res: [0] CR8, [1] EFER in 64-bit mode, [2] GS base and [3]
	 * KERNEL_GS_BASE after SWAPGS, [4] CR0, [5] EFER in compatibility
	 * mode, [6] EFER after paging is off. */
	".globl long_round_trip\n"
	"long_round_trip:\n"
	"	pushl %ebp\n"
	"	movl %esp, %ebp\n"
	"	pushl %ebx\n"
	"	pushl %edi\n"
	"	movl 16(%ebp), %edi\n"
	"	movl 12(%ebp), %ebx\n"
	"	movl $0xc0000080, %ecx\n"
	"	rdmsr\n"
	"	orl $0x100, %eax\n"
	"	wrmsr\n"
	"	movl %cr4, %eax\n"
	"	orl $0x20, %eax\n"
	"	movl %eax, %cr4\n"
	"	movl 8(%ebp), %eax\n"
	"	movl %eax, %cr3\n"
	"	movl %cr0, %eax\n"
	"	orl $0x80000000, %eax\n"
	"	orl %ebx, %eax\n"
	"	movl %eax, %cr0\n"
	"	movl $0xc0000080, %ecx\n"
	"	rdmsr\n"
	"	movl %eax, 20(%edi)\n"
	"	ljmp $0x18, $3f\n"
	".code64\n"
	"3:	movl $5, %eax\n"
	"	movq %rax, %cr8\n"
	"	xorl %eax, %eax\n"
	"	movq %cr8, %rax\n"
	"	movl %eax, (%rdi)\n"
	"	movl $0xc0000080, %ecx\n"
	"	rdmsr\n"
	"	movl %eax, 4(%rdi)\n"
	"	swapgs\n"
	"	movl $0xc0000101, %ecx\n"
	"	rdmsr\n"
	"	movl %eax, 8(%rdi)\n"
	"	movl $0xc0000102, %ecx\n"
	"	rdmsr\n"
	"	movl %eax, 12(%rdi)\n"
	"	swapgs\n"
	"	movb $0x55, %al\n"
	"	outb %al, $0x80\n"
	"	movq %cr0, %rax\n"
	"	movl %eax, 16(%rdi)\n"
	"	xorl %eax, %eax\n"
	"	movq %rax, %cr8\n"
	"	pushq $0x08\n"
	"	leaq 4f(%rip), %rax\n"
	"	pushq %rax\n"
	"	lretq\n"
	".code32\n"
	"4:	movl %cr0, %eax\n"
	"	andl $0x7fffffff, %eax\n"
	"	notl %ebx\n"
	"	andl %ebx, %eax\n"
	"	movl %eax, %cr0\n"
	"	movl $0xc0000080, %ecx\n"
	"	rdmsr\n"
	"	movl %eax, 24(%edi)\n"
	"	andl $~0x100, %eax\n"
	"	wrmsr\n"
	"	movl %cr4, %eax\n"
	"	andl $~0x20, %eax\n"
	"	movl %eax, %cr4\n"
	"	popl %edi\n"
	"	popl %ebx\n"
	"	popl %ebp\n"
	"	ret\n"

	/* The three below run one instruction with ESP on a page nothing
	 * has touched, and return the EIP the handler saw minus the one
	 * expected (0 = right). */
	".globl int3_on_stack\n"
	"int3_on_stack:\n"
	"	movl %esp, %ecx\n"
	"	movl 4(%esp), %esp\n"
	"	int3\n"
	"5:	movl %ecx, %esp\n"
	"	movl trap_eip, %eax\n"
	"	subl $5b, %eax\n"
	"	ret\n"
	".globl int_n_on_stack\n"
	"int_n_on_stack:\n"
	"	movl %esp, %ecx\n"
	"	movl 4(%esp), %esp\n"
	"	int $0x21\n"
	"6:	movl %ecx, %esp\n"
	"	movl trap_eip, %eax\n"
	"	subl $6b, %eax\n"
	"	ret\n"
	/* TF on, then the MOV that switches stacks: the #DB trap after it
	 * is pushed on the new stack. */
	".globl single_step_on_stack\n"
	"single_step_on_stack:\n"
	"	movl 4(%esp), %eax\n"
	"	movl %esp, %ecx\n"
	"	pushfl\n"
	"	orl $0x100, (%esp)\n"
	"	popfl\n"
	"	movl %eax, %esp\n"
	"7:	nop\n"
	"	nop\n"
	"	movl %ecx, %esp\n"
	"	movl trap_eip, %eax\n"
	"	subl $7b, %eax\n"
	"	ret\n");

/* ---- Helpers ------------------------------------------------------------ */

static void cs_check(const char *what, bool ok)
{
	guest_printf("cpustate: check %s: %s\n", what, ok ? "ok" : "FAILED");
	all_ok &= ok;
}

/* Run one instruction; the vector it faulted with, or NO_FAULT. */
#define TRY(insn, ...)							\
	({								\
		fault_vector = NO_FAULT;				\
		__asm__ volatile("movl $1f, fixup\n\t" insn "\n1:\n\t"	\
				 "movl $0, fixup"			\
				 : : __VA_ARGS__ : "memory");		\
		fault_vector;						\
	})

static uint32_t try_cr0(uint32_t v)
{
	return TRY("mov %0, %%cr0", "r"(v));
}

static uint32_t try_cr4(uint32_t v)
{
	return TRY("mov %0, %%cr4", "r"(v));
}

static uint32_t try_wrmsr(uint32_t msr, uint64_t v)
{
	return TRY("wrmsr", "c"(msr), "a"((uint32_t)v),
		   "d"((uint32_t)(v >> 32)));
}

static bool under_hv(void)
{
	uint32_t sig[3];
	const char *want = HV_CPUID_SIGNATURE;

	__asm__ volatile("cpuid" : "=b"(sig[0]), "=c"(sig[1]), "=d"(sig[2])
			 : "a"(HV_CPUID_BASE) : "memory");
	for (unsigned i = 0; i < 12; i++)
		if (((const char *)sig)[i] != want[i])
			return false;
	return true;
}

/* Identity map of the first 16 MiB with 2 MiB pages. */
static uint64_t pd[512] __attribute__((aligned(4096)));
static uint64_t pdpt_pae[4] __attribute__((aligned(32)));
static uint64_t pdpt_long[512] __attribute__((aligned(4096)));
static uint64_t pml4[512] __attribute__((aligned(4096)));
static uint64_t scratch[512] __attribute__((aligned(4096)));

static void fill_pd(void)
{
	for (uint32_t i = 0; i < 8; i++)
		pd[i] = (uint64_t)i * 0x200000 | 0x83;	/* P RW PS */
}

/* ---- Checks ------------------------------------------------------------- */

static void check_control_registers(void)
{
	uint32_t cr0 = read_cr0();

	guest_printf("cpustate: CR0 0x%x CR4 0x%x at entry\n", cr0,
		     read_cr4());
	cs_check("CR0 = PE|ET at entry", cr0 == (CR0_PE | CR0_ET));
	cs_check("CR4 = 0 at entry", read_cr4() == 0);
	cs_check("CR0.NE set", try_cr0(cr0 | CR0_NE) == NO_FAULT &&
	      read_cr0() == (cr0 | CR0_NE));
	cs_check("CR0.NE clear", try_cr0(cr0) == NO_FAULT && read_cr0() == cr0);
	/* hv hides VMX, so CR4.VMXE is reserved. Elsewhere the CPU may
	 * have VMX (and QEMU TCG hangs on the write): not checked. */
	if (under_hv())
		cs_check("CR4.VMXE: #GP", try_cr4(CR4_VMXE) == VEC_GP &&
		      read_cr4() == 0);
	cs_check("CR4.PSE set", try_cr4(CR4_PSE) == NO_FAULT &&
	      read_cr4() == CR4_PSE);
	try_cr4(0);
}

static void check_instructions(void)
{
	uint64_t pa = (uint32_t)scratch;

	cs_check("VMXON: #UD", TRY("vmxon %0", "m"(pa)) == VEC_UD);
	cs_check("VMREAD: #UD", TRY("vmread %%eax, %%ebx", "a"(0)) == VEC_UD);
	cs_check("VMPTRST: #UD", TRY("vmptrst %0", "m"(pa)) == VEC_UD);
	cs_check("INVD goes on", TRY("invd", "a"(0)) == NO_FAULT);
}

static void check_msrs(void)
{
	cs_check("EFER = 0 at entry", rdmsr(MSR_EFER) == 0);
	cs_check("EFER.SCE|NXE", try_wrmsr(MSR_EFER, 0x801) == NO_FAULT &&
	      rdmsr(MSR_EFER) == 0x801);
	cs_check("EFER reserved bit: #GP", try_wrmsr(MSR_EFER, 0x4) == VEC_GP);
	try_wrmsr(MSR_EFER, 0);
	cs_check("PAT power-on value", rdmsr(MSR_PAT) == PAT_DEFAULT);
	cs_check("PAT type 2: #GP", try_wrmsr(MSR_PAT, 0x2) == VEC_GP);
	cs_check("PAT all WB", try_wrmsr(MSR_PAT, 0x0606060606060606ull) ==
	      NO_FAULT && rdmsr(MSR_PAT) == 0x0606060606060606ull);
	try_wrmsr(MSR_PAT, PAT_DEFAULT);
	cs_check("SYSENTER_CS", try_wrmsr(MSR_SYSENTER_CS, 0x10) == NO_FAULT &&
	      rdmsr(MSR_SYSENTER_CS) == 0x10);
	cs_check("STAR", try_wrmsr(MSR_STAR, 0x0013000800000000ull) ==
	      NO_FAULT && rdmsr(MSR_STAR) == 0x0013000800000000ull);
	cs_check("LSTAR not canonical: #GP",
	      try_wrmsr(MSR_LSTAR, 0x8000000000000000ull) == VEC_GP);
	cs_check("KERNEL_GS_BASE", try_wrmsr(MSR_KERNEL_GS, 0x2000) ==
	      NO_FAULT && rdmsr(MSR_KERNEL_GS) == 0x2000);
	cs_check("GS_BASE", try_wrmsr(MSR_GS_BASE, 0x3000) == NO_FAULT &&
	      rdmsr(MSR_GS_BASE) == 0x3000);
}

/* Stacks at 3 MiB and up: pages nothing touched before. */
static void check_event_delivery(void)
{
	uint32_t d;

	trap_count = 0;
	d = int3_on_stack(0x300000);
	cs_check("INT3 on a fresh stack page: once, EIP after it",
	      trap_count == 1 && d == 0);
	trap_count = 0;
	d = int_n_on_stack(0x310000);
	cs_check("INT 0x21 on a fresh stack page: once, EIP after it",
	      trap_count == 1 && d == 0);
	trap_count = 0;
	__asm__ volatile("mov %%esp, %%ecx\n\tmov $0x320000, %%esp\n\t"
			 "movl $1f, fixup\n\tud2\n1:\n\tmov %%ecx, %%esp"
			 : : : "ecx", "memory");
	cs_check("UD2 on a fresh stack page: #UD once",
	      trap_count == 1 && fault_vector == VEC_UD);
	trap_count = 0;
	d = single_step_on_stack(0x330000);
	cs_check("single-step #DB on a fresh stack page: after the right "
	      "instruction", trap_count == 1 && d == 0);
}

/* cr0_extra = CR0_NE: the CR0 writes also flip NE. */
static void check_pae(uint32_t cr0_extra, const char *how)
{
	uint32_t cr0 = read_cr0(), fault, on;

	fill_pd();
	pdpt_pae[0] = (uint32_t)pd | 1;
	pdpt_pae[3] = 0x7;		/* P and reserved bits 2:1 */
	__asm__ volatile("mov %0, %%cr3" : : "r"((uint32_t)pdpt_pae));
	try_cr4(CR4_PAE);
	fault = try_cr0(cr0 | CR0_PG | cr0_extra);
	guest_printf("cpustate: PAE paging (%s):\n", how);
	cs_check("  PDPTE with reserved bits: #GP", fault == VEC_GP &&
	      read_cr0() == cr0);
	pdpt_pae[3] = 0;
	fault = try_cr0(cr0 | CR0_PG | cr0_extra);
	on = read_cr0();
	cs_check("  on", fault == NO_FAULT && on == (cr0 | CR0_PG | cr0_extra) &&
	      *(volatile uint32_t *)0x100000 != 0);
	try_cr0(cr0);
	try_cr4(0);
	cs_check("  off again", read_cr0() == cr0 && read_cr4() == 0);
}

static void check_long_mode(uint32_t cr0_extra, const char *how)
{
	uint32_t res[8] = { 0 };
	uint32_t cr0 = read_cr0();

	fill_pd();
	pdpt_long[0] = (uint32_t)pd | 3;
	pml4[0] = (uint32_t)pdpt_long | 3;
	try_wrmsr(MSR_KERNEL_GS, 0x1000);
	try_wrmsr(MSR_GS_BASE, 0x7000);
	long_round_trip((uint32_t)pml4, cr0_extra, res);
	guest_printf("cpustate: long mode (%s): CR0 0x%x CR8 %u\n", how,
		     res[4], res[0]);
	guest_printf("cpustate:   EFER 0x%x in compatibility mode, 0x%x in "
		     "64-bit mode, 0x%x after\n", res[5], res[1], res[6]);
	guest_printf("cpustate:   after SWAPGS: GS base 0x%x, "
		     "KERNEL_GS_BASE 0x%x\n", res[2], res[3]);
	cs_check("  CR8 written and read", res[0] == 5);
	cs_check("  EFER.LMA in compatibility mode", res[5] == 0x500);
	cs_check("  EFER.LMA in 64-bit mode", res[1] == 0x500);
	cs_check("  SWAPGS swapped the guest's bases",
	      res[2] == 0x1000 && res[3] == 0x7000);
	cs_check("  CR0", res[4] == (cr0 | CR0_PG | cr0_extra));
	cs_check("  left: EFER.LMA clear", res[6] == 0x100);
	cs_check("  back in 32-bit mode", rdmsr(MSR_EFER) == 0 &&
	      read_cr0() == cr0 && read_cr4() == 0);
}

static volatile uint32_t ap_flag;
static uint8_t ap_stack[4096] __attribute__((aligned(16)));

void ap_main(uint32_t index);
void ap_main(uint32_t index)
{
	uint32_t id;

	__asm__ volatile("vmcall" : "=a"(id) : "a"(HC_VCPU_ID) : "memory");
	ap_flag = 0x100 | (index << 4) | id;
	for (;;)
		__asm__ volatile("cli; hlt");
}

/* vCPU 1 starts here with EAX = its index. */
void ap_entry(void);
__asm__(".globl ap_entry\n"
	"ap_entry:\n"
	"	pushl %eax\n"
	"	pushl %eax\n"
	"	call ap_main\n");

static void check_second_vcpu(void)
{
	int32_t ret;

	__asm__ volatile("vmcall"
			 : "=a"(ret)
			 : "a"(HC_START_VCPU), "b"(1), "c"((uint32_t)ap_entry),
			   "d"((uint32_t)(ap_stack + sizeof(ap_stack)))
			 : "memory");
	for (uint32_t spins = 0; spins < 100000000 && !ap_flag; spins++)
		__asm__ volatile("pause");
	cs_check("vCPU 1 started, ran, knew its index", ret == HC_OK &&
	      ap_flag == 0x111);
}

bool guest_test(uint32_t magic, const struct mb1_info *info)
{
	const char *cmdline = magic == MB1_BOOT_MAGIC && (info->flags & 4)
			      ? (const char *)info->cmdline : "";

	load_tables();
	check_control_registers();
	check_instructions();
	check_msrs();
	check_event_delivery();
	check_pae(CR0_NE, "CR0 writes that flip NE");
	check_pae(0, "plain CR0 writes");
	check_long_mode(CR0_NE, "CR0 writes that flip NE");
	check_long_mode(0, "plain CR0 writes");
	if (cmdline[0] == 's' && cmdline[1] == 'm' && cmdline[2] == 'p')
		check_second_vcpu();
	return all_ok;
}
