/* GDT, TSSs, both IDTs, expect_fault() and the report of a fault nobody
 * expected (desc.h). */
#include <stddef.h>

#include "tests/guest/lib/guest.h"
#include "tests/guest/lib/util.h"

#define NR_EXCEPTIONS	32
#define IDT_VECTORS	(VEC_USER_RETURN + 1)

_Static_assert(offsetof(struct trap_record, error_code) == 4, "traps asm");
_Static_assert(offsetof(struct trap_record, cr2) == 8, "traps asm");
_Static_assert(offsetof(struct trap_record, ip) == 16, "traps asm");
_Static_assert(offsetof(struct trap_record, sp) == 24, "traps asm");
_Static_assert(offsetof(struct trap_record, cs) == 32, "traps asm");
_Static_assert(offsetof(struct trap_record, flags) == 36, "traps asm");
_Static_assert(offsetof(struct trap_record, eax) == 40, "traps asm");
_Static_assert(offsetof(struct trap_record, ebp) == 64, "traps asm");
_Static_assert(offsetof(struct trap_record, handler_bits) == 68, "traps asm");
_Static_assert(SEL_TSS64 / 8 + 2 == GDT_ENTRIES, "GDT size");

/* From traps32.asm / long64.asm: the entry points, index = vector for
 * 0..31, then VEC_USER_RETURN last. */
extern const uint32_t trap32_entries[NR_EXCEPTIONS + 1];
extern const uint32_t trap64_entries[NR_EXCEPTIONS + 1];
extern uint8_t trap_stack_top[];
int fault_call(void (*fn)(void *), void *arg, int user);

struct trap_record trap_last;
uint64_t gdt[GDT_ENTRIES] __attribute__((aligned(16)));
struct desc_ptr gdt_ptr, idt32_ptr, idt64_ptr;

static uint64_t idt32[IDT_VECTORS] __attribute__((aligned(16)));
static struct { uint64_t lo, hi; } idt64[IDT_VECTORS] __attribute__((aligned(16)));

/* Only the fields the CPU reads for a ring 3 -> 0 switch; the rest of
 * each TSS stays zero (no I/O bitmap: the map base points past the end). */
static struct {
	uint32_t link, esp0, ss0, unused[22];
	uint16_t trap, iomap_base;
} tss32 __attribute__((aligned(128)));

static struct {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t ist[8];	/* ist[0] is reserved */
	uint64_t reserved1;
	uint16_t reserved2, iomap_base;
} __attribute__((packed)) tss64 __attribute__((aligned(128)));

_Static_assert(sizeof(tss32) == 104, "32-bit TSS layout");
_Static_assert(sizeof(tss64) == 104, "64-bit TSS layout");

/* A flat segment: base 0, limit 4 GiB, 4K granularity. type = access
 * byte (P, DPL, S, type), flags = the high nibble (G, D/B, L). */
static uint64_t seg_desc(uint8_t access, uint8_t flags)
{
	return 0xffffull | (uint64_t)access << 40 |
	       (uint64_t)(0xf | flags << 4) << 48;
}

static void set_tss_desc(unsigned index, uint32_t base, uint32_t limit,
			 bool wide)
{
	gdt[index] = (limit & 0xffff) | (uint64_t)(base & 0xffffff) << 16 |
		     (uint64_t)0x89 << 40 |	/* present, available TSS */
		     (uint64_t)(limit >> 16 & 0xf) << 48 |
		     (uint64_t)(base >> 24) << 56;
	if (wide)
		gdt[index + 1] = 0;	/* base bits 63:32 */
}

static void set_gates(void)
{
	for (unsigned v = 0; v < IDT_VECTORS; v++) {
		unsigned slot = v < NR_EXCEPTIONS ? v : NR_EXCEPTIONS;
		uint32_t h32 = trap32_entries[slot], h64 = trap64_entries[slot];
		/* Interrupt gates; DPL 3 only for the ring-3 return. */
		uint8_t type = v == VEC_USER_RETURN ? 0xee : 0x8e;

		if (v >= NR_EXCEPTIONS && v != VEC_USER_RETURN)
			continue;
		idt32[v] = (h32 & 0xffff) | (uint64_t)SEL_CODE32 << 16 |
			   (uint64_t)type << 40 | (uint64_t)(h32 >> 16) << 48;
		idt64[v].lo = (h64 & 0xffff) | (uint64_t)SEL_CODE64 << 16 |
			      (uint64_t)type << 40 |
			      (uint64_t)(h64 >> 16) << 48;
		idt64[v].hi = 0;
	}
}

void desc_init(void)
{
	gdt[0] = 0;
	gdt[SEL_CODE32 / 8] = seg_desc(0x9a, 0xc);	/* G, D */
	gdt[SEL_DATA / 8] = seg_desc(0x92, 0xc);
	gdt[SEL_CODE64 / 8] = seg_desc(0x9a, 0xa);	/* G, L */
	gdt[SEL_UCODE32 / 8] = seg_desc(0xfa, 0xc);
	gdt[SEL_UDATA / 8] = seg_desc(0xf2, 0xc);
	gdt[SEL_UCODE64 / 8] = seg_desc(0xfa, 0xa);

	tss32.esp0 = (uint32_t)trap_stack_top;
	tss32.ss0 = SEL_DATA;
	tss32.iomap_base = sizeof(tss32);
	tss64.rsp[0] = (uint32_t)trap_stack_top;
	tss64.iomap_base = sizeof(tss64);
	set_tss_desc(SEL_TSS32 / 8, (uint32_t)&tss32, sizeof(tss32) - 1, false);
	set_tss_desc(SEL_TSS64 / 8, (uint32_t)&tss64, sizeof(tss64) - 1, true);

	set_gates();
	gdt_ptr.limit = sizeof(gdt) - 1;
	gdt_ptr.base = (uint32_t)gdt;
	idt32_ptr.limit = sizeof(idt32) - 1;
	idt32_ptr.base = (uint32_t)idt32;
	idt64_ptr.limit = sizeof(idt64) - 1;
	idt64_ptr.base = (uint32_t)idt64;

	__asm__ volatile("lgdt %0\n\t"
			 "ljmp %1, $1f\n"
			 "1:\n\t"
			 "mov %2, %%eax\n\t"
			 "mov %%eax, %%ds\n\t"
			 "mov %%eax, %%es\n\t"
			 "mov %%eax, %%fs\n\t"
			 "mov %%eax, %%gs\n\t"
			 "mov %%eax, %%ss\n\t"
			 "lidt %3\n\t"
			 "ltr %w4"
			 : : "m"(gdt_ptr), "i"(SEL_CODE32), "i"(SEL_DATA),
			     "m"(idt32_ptr), "r"(SEL_TSS32)
			 : "eax", "memory");
}

void idt_load_empty(void)
{
	static struct desc_ptr empty;

	__asm__ volatile("lidt %0" : : "m"(empty));
}

static bool run_expecting(void (*fn)(void *), void *arg,
			  struct fault_info *fi, int user)
{
	struct fault_info local;

	if (!fi)
		fi = &local;
	memset(fi, 0, sizeof(*fi));
	if (!fault_call(fn, arg, user))
		return false;
	fi->faulted = true;
	fi->vector = (uint8_t)trap_last.vector;
	fi->error_code = trap_last.error_code;
	fi->cr2 = trap_last.cr2;
	fi->ip = trap_last.ip;
	fi->cs = (uint16_t)trap_last.cs;
	return true;
}

bool expect_fault(void (*fn)(void *), void *arg, struct fault_info *fi)
{
	return run_expecting(fn, arg, fi, 0);
}

bool expect_fault_user(void (*fn)(void *), void *arg, struct fault_info *fi)
{
	return run_expecting(fn, arg, fi, 1);
}

const char *exception_name(unsigned vector)
{
	static const char *const names[NR_EXCEPTIONS] = {
		"#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM",
		"#DF", "#09", "#TS", "#NP", "#SS", "#GP", "#PF", "#15",
		"#MF", "#AC", "#MC", "#XM", "#VE", "#CP", "#22", "#23",
		"#24", "#25", "#26", "#27", "#HV", "#VC", "#SX", "#31",
	};

	if (vector < NR_EXCEPTIONS)
		return names[vector];
	return vector == VEC_USER_RETURN ? "INT 0x30" : "#?";
}

/* Both handler sets come here, in 32-bit code on the emergency stack,
 * when no expect_fault() was waiting. */
__attribute__((noreturn)) void trap_unexpected(void);
void trap_unexpected(void)
{
	const struct trap_record *t = &trap_last;

	guest_printf("%s: unexpected exception %s (vector %u) error 0x%x "
		     "(%u-bit handler)\n", guest_name, exception_name(t->vector),
		     t->vector, t->error_code, t->handler_bits);
	guest_printf("%s:   at %04x:%llx flags %x sp %llx cr2 %llx\n",
		     guest_name, t->cs, t->ip, t->flags, t->sp, t->cr2);
	guest_printf("%s:   eax %08x ebx %08x ecx %08x edx %08x\n", guest_name,
		     t->eax, t->ebx, t->ecx, t->edx);
	guest_printf("%s:   esi %08x edi %08x ebp %08x\n", guest_name,
		     t->esi, t->edi, t->ebp);
	guest_exit(false);
}
