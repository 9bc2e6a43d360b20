/* CPU helpers for test guests: CPUID, MSRs, control registers, TSC, port
 * I/O. Plain instructions, nothing cached: a guest checks what the CPU (or
 * the hypervisor under it) answers each time. */
#ifndef TESTS_GUEST_LIB_CPU_H
#define TESTS_GUEST_LIB_CPU_H

#include <stdbool.h>
#include <stdint.h>

#define CR0_PE		(1u << 0)
#define CR0_WP		(1u << 16)
#define CR0_PG		(1u << 31)
#define CR4_PSE		(1u << 4)
#define CR4_PAE		(1u << 5)
#define CR4_PGE		(1u << 7)
#define CR4_PCIDE	(1u << 17)
#define CR4_SMEP	(1u << 20)
#define CR4_SMAP	(1u << 21)
#define CR4_PKE		(1u << 22)

#define EFLAGS_AC	(1u << 18)

#define MSR_TSC		0x00000010u
#define MSR_PAT		0x00000277u
#define MSR_EFER	0xc0000080u
#define EFER_LME	(1u << 8)
#define EFER_LMA	(1u << 10)
#define EFER_NXE	(1u << 11)

/* The PAT value after reset (SDM 11.12.4, APM 7.8.2): WB WT UC- UC twice. */
#define PAT_RESET_VALUE	0x0007040600070406ull

struct cpuid_regs {
	uint32_t eax, ebx, ecx, edx;
};

static inline struct cpuid_regs cpuid(uint32_t leaf, uint32_t subleaf)
{
	struct cpuid_regs r;

	__asm__ volatile("cpuid"
			 : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx)
			 : "a"(leaf), "c"(subleaf));
	return r;
}

/* Leaf 0's vendor string, NUL-terminated, into buf[13]. */
void cpu_vendor(char buf[13]);
bool cpu_is_intel(void);
bool cpu_is_amd(void);
/* The CPUID feature tests the runtime and guests need. */
bool cpu_has_nx(void);		/* 0x80000001 EDX bit 20 */
bool cpu_has_pse(void);		/* 1 EDX bit 3 */
bool cpu_has_pae(void);		/* 1 EDX bit 6 */
bool cpu_has_long_mode(void);	/* 0x80000001 EDX bit 29 */
bool cpu_has_1g_pages(void);	/* 0x80000001 EDX bit 26 */
unsigned cpu_phys_addr_bits(void);	/* 0x80000008 EAX[7:0], or 36 */
bool cpu_has_pge(void);		/* 1 EDX bit 13 */
bool cpu_has_pcid(void);	/* 1 ECX bit 17 */
bool cpu_has_smep(void);	/* 7.0 EBX bit 7 */
bool cpu_has_invpcid(void);	/* 7.0 EBX bit 10 */
bool cpu_has_smap(void);	/* 7.0 EBX bit 20 */
bool cpu_has_pku(void);		/* 7.0 ECX bit 3 */
/* The brand string of leaves 0x80000002-4 (leading blanks dropped), or
 * "" without them, into buf[49]. */
void cpu_brand(char buf[49]);

static inline uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;

	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return (uint64_t)hi << 32 | lo;
}

static inline void wrmsr(uint32_t msr, uint64_t value)
{
	__asm__ volatile("wrmsr"
			 : : "c"(msr), "a"((uint32_t)value),
			     "d"((uint32_t)(value >> 32))
			 : "memory");
}

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

#define DEFINE_CR(n)							\
static inline uint32_t read_cr##n(void)					\
{									\
	uint32_t v;							\
	__asm__ volatile("mov %%cr" #n ", %0" : "=r"(v));		\
	return v;							\
}									\
static inline void write_cr##n(uint32_t v)				\
{									\
	__asm__ volatile("mov %0, %%cr" #n : : "r"(v) : "memory");	\
}
DEFINE_CR(0)
DEFINE_CR(2)
DEFINE_CR(3)
DEFINE_CR(4)
#undef DEFINE_CR

static inline void invlpg(uint32_t va)
{
	__asm__ volatile("invlpg (%0)" : : "r"(va) : "memory");
}

static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;

	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline void cpu_halt_forever(void)
{
	for (;;)
		__asm__ volatile("cli; hlt");
}

#endif
