/* GDT/TSS per CPU, one IDT for all. */
#include "arch/x86/desc.h"
#include "arch/x86/trap_frame.h"
#include "kernel/string.h"

#define SEG_CODE64	0x00af9a000000ffffull	/* present, DPL0, L=1 */
#define SEG_DATA	0x00cf92000000ffffull	/* present, DPL0, writable */
#define TSS_TYPE_AVAIL	0x9ull

struct idt_entry {
	uint16_t offset_low;
	uint16_t selector;
	uint8_t ist;
	uint8_t type_attr;
	uint16_t offset_mid;
	uint32_t offset_high;
	uint32_t reserved;
} __packed;

struct desc_ptr {
	uint16_t limit;
	uint64_t base;
} __packed;

extern const uint64_t trap_stub_table[256];

static struct idt_entry idt[256] __aligned(16);
static irq_handler_fn irq_handlers[256];

static void set_tss_descriptor(uint64_t *slot, const struct tss *tss)
{
	uint64_t base = (uint64_t)tss;
	uint64_t limit = sizeof(*tss) - 1;

	slot[0] = (limit & 0xffff) | ((base & 0xffffff) << 16) |
		  (TSS_TYPE_AVAIL << 40) | (1ull << 47) |
		  (((limit >> 16) & 0xf) << 48) | (((base >> 24) & 0xff) << 56);
	slot[1] = base >> 32;
}

void cpu_tables_load(struct cpu_tables *t)
{
	struct desc_ptr gdtr = { sizeof(t->gdt) - 1, (uint64_t)t->gdt };

	memset(&t->tss, 0, sizeof(t->tss));
	for (int i = 0; i < IST_COUNT; i++)
		t->tss.ist[i] = (uint64_t)&t->ist_stacks[i][IST_STACK_SIZE];
	t->tss.iomap_base = sizeof(t->tss);	/* no I/O bitmap */

	t->gdt[0] = 0;
	t->gdt[GDT_KERNEL_CS / 8] = SEG_CODE64;
	t->gdt[GDT_KERNEL_DS / 8] = SEG_DATA;
	set_tss_descriptor(&t->gdt[GDT_TSS / 8], &t->tss);

	__asm__ volatile(
		"lgdt %0\n\t"
		"pushq %1\n\t"
		"leaq 1f(%%rip), %%rax\n\t"
		"pushq %%rax\n\t"
		"lretq\n"
		"1:\n\t"
		"movl %2, %%eax\n\t"
		"movl %%eax, %%ds\n\t"
		"movl %%eax, %%es\n\t"
		"movl %%eax, %%ss\n\t"
		"xorl %%eax, %%eax\n\t"
		"movl %%eax, %%fs\n\t"
		"movl %%eax, %%gs\n\t"
		"ltr %w3"
		: : "m"(gdtr), "i"(GDT_KERNEL_CS), "i"(GDT_KERNEL_DS),
		    "r"((uint16_t)GDT_TSS)
		: "rax", "memory");
}

static uint8_t ist_for_vector(unsigned vector)
{
	switch (vector) {
	case 2: return IST_NMI;
	case 8: return IST_DOUBLE_FAULT;
	case 18: return IST_MACHINE_CHECK;
	default: return 0;
	}
}

void idt_init(void)
{
	for (unsigned v = 0; v < 256; v++) {
		uint64_t addr = trap_stub_table[v];

		idt[v] = (struct idt_entry){
			.offset_low = addr & 0xffff,
			.selector = GDT_KERNEL_CS,
			.ist = ist_for_vector(v),
			.type_attr = 0x8e,	/* present, DPL0, interrupt gate */
			.offset_mid = (addr >> 16) & 0xffff,
			.offset_high = addr >> 32,
		};
	}
}

void idt_load(void)
{
	struct desc_ptr idtr = { sizeof(idt) - 1, (uint64_t)idt };

	__asm__ volatile("lidt %0" : : "m"(idtr));
}

void idt_set_handler(uint8_t vector, irq_handler_fn handler)
{
	__atomic_store_n(&irq_handlers[vector], handler, __ATOMIC_RELEASE);
}

irq_handler_fn idt_get_handler(uint8_t vector)
{
	return __atomic_load_n(&irq_handlers[vector], __ATOMIC_ACQUIRE);
}
