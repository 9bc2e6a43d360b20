/* GDT, TSS and IDT: descriptor tables every CPU loads. */
#ifndef ARCH_X86_DESC_H
#define ARCH_X86_DESC_H

#include <stdint.h>
#include "kernel/compiler.h"

#define GDT_KERNEL_CS	0x08
#define GDT_KERNEL_DS	0x10
#define GDT_TSS		0x18
#define GDT_ENTRIES	5	/* null, code, data, TSS (two slots) */

/* Interrupt stack table slots: these exceptions get a known-good stack,
 * so a kernel stack overflow still produces a report (#DF on IST). */
#define IST_DOUBLE_FAULT	1
#define IST_NMI			2
#define IST_MACHINE_CHECK	3
#define IST_COUNT		3
#define IST_STACK_SIZE		8192

struct tss {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomap_base;
} __packed;

/* One per CPU: the SMP code allocates these for application processors. */
struct cpu_tables {
	uint64_t gdt[GDT_ENTRIES] __aligned(16);
	struct tss tss __aligned(16);
	uint8_t ist_stacks[IST_COUNT][IST_STACK_SIZE] __aligned(16);
};

/* Fill and load this CPU's GDT and TSS, and reload the segment registers. */
void cpu_tables_load(struct cpu_tables *t);

/* Build the shared IDT once; load it on each CPU. */
void idt_init(void);
void idt_load(void);

/* Handler for an interrupt vector >= 32 (IPIs, timer). */
struct trap_frame;
typedef void (*irq_handler_fn)(struct trap_frame *frame);
void idt_set_handler(uint8_t vector, irq_handler_fn handler);
irq_handler_fn idt_get_handler(uint8_t vector);

#endif
