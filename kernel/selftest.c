/*
 * Boot self-tests, chosen with test=NAME. The fatal ones prove that a bug
 * in the hypervisor produces a report (register dump, symbolised stack
 * trace) and a clean stop; tests/run checks the lines they print.
 */
#include "kernel/selftest.h"
#include "arch/x86/cpu.h"
#include "kernel/frame_alloc.h"
#include "kernel/kmalloc.h"
#include "kernel/mm.h"
#include "kernel/panic.h"
#include "kernel/printk.h"
#include "kernel/string.h"
#include "smp/selftest.h"
#include "smp/percpu.h"
#include "virt/virt.h"

/* noinline keeps these frames in the stack trace the runner looks for. */
static __attribute__((noinline)) void selftest_ud(void)
{
	__asm__ volatile("ud2");
}

static __attribute__((noinline)) void selftest_page_fault(void)
{
	/* Lower half: nothing is mapped there after paging_init(). */
	*(volatile uint64_t *)0x1000 = 0xdead;
}

static __attribute__((noinline)) void selftest_write_text(void)
{
	/* Text is mapped read-only. */
	*(volatile uint8_t *)(uintptr_t)&selftest_ud = 0xcc;
}

static __attribute__((noinline)) void selftest_exec_data(void)
{
	static uint8_t ret_insn = 0xc3;	/* in .data: mapped NX */

	((void (*)(void))(uintptr_t)&ret_insn)();
}

static __attribute__((noinline)) uint64_t selftest_recurse(uint64_t depth)
{
	volatile uint8_t pad[512];

	if (depth == UINT64_MAX)	/* never: keeps the compiler content */
		return 0;
	pad[0] = (uint8_t)depth;
	return selftest_recurse(depth + 1) + pad[0];
}

static __attribute__((noinline)) void selftest_panic(void)
{
	panic("self-test panic (test=panic)");
}

/* Allocate until exhausted in chunks, check contents, free everything. */
static bool selftest_memory(void)
{
	uint64_t before = mm_free_frames(), count = 0;
	uint64_t head = FRAME_NONE, pa;
	bool ok = true;

	/* Chain every free frame through its first word. */
	while ((pa = alloc_frame()) != FRAME_NONE) {
		uint64_t *p = phys_to_virt(pa);

		if (p[1] != 0 || p[511] != 0)
			ok = false;	/* alloc_frame must zero */
		p[0] = head;
		p[1] = pa ^ 0x5a5a5a5a5a5a5a5aull;
		head = pa;
		count++;
	}
	pr_info("selftest: allocated all %lu free frames (%lu MiB)\n",
		(unsigned long)count, (unsigned long)(count * FRAME_SIZE >> 20));
	while (head != FRAME_NONE) {
		uint64_t *p = phys_to_virt(head);
		uint64_t next = p[0];

		if (p[1] != (head ^ 0x5a5a5a5a5a5a5a5aull))
			ok = false;
		free_frame(head);
		head = next;
	}
	if (count != before || mm_free_frames() != before)
		ok = false;

	void *small[64];
	for (unsigned i = 0; i < 64; i++) {
		small[i] = kmalloc(8 + i * 61);
		if (!small[i])
			ok = false;
		else
			memset(small[i], (int)i, 8 + i * 61);
	}
	void *big = kmalloc(3 * 4096 + 5);
	ok = ok && big;
	for (unsigned i = 0; i < 64; i++)
		if (small[i] && ((uint8_t *)small[i])[8 + i * 61 - 1] != i)
			ok = false;
	for (unsigned i = 0; i < 64; i++)
		kfree(small[i]);
	kfree(big);
	pr_info("selftest: memory: %lu frames handed out and verified, "
		"kmalloc 65 blocks: %s\n", (unsigned long)count,
		ok ? "PASS" : "FAIL");
	return ok;
}

/*
 * Virtualization off and on again on this CPU, a few times. VMXON inside
 * VMX operation fails and clearing CR4.VMXE there faults, so a clean second
 * round proves disable_cpu really left VMX; no frame may leak either.
 */
static bool selftest_virt_toggle(void)
{
	struct percpu *cpu = this_cpu();
	uint64_t free_before = mm_free_frames();
	bool ok = cpu->virt_on;

	for (unsigned round = 0; round < 3 && ok; round++) {
		virt->disable_cpu(cpu);
		if (cpu->virt_on || cpu->vmxon_pa || cpu->hsave_pa)
			ok = false;
		else if (mm_free_frames() != free_before + 1)
			ok = false;	/* its one frame must be back */
		ok = virt_enable_this_cpu() && ok;
	}
	if (mm_free_frames() != free_before)
		ok = false;
	pr_info("selftest: %s turned off and on 3 times on cpu%u: %s\n",
		virt->name, cpu->cpu, ok ? "PASS" : "FAIL");
	return ok;
}

bool selftest_run(const char *name)
{
	pr_info("selftest: running '%s'\n", name);
	if (!strcmp(name, "ud"))
		selftest_ud();
	else if (!strcmp(name, "pagefault"))
		selftest_page_fault();
	else if (!strcmp(name, "write-text"))
		selftest_write_text();
	else if (!strcmp(name, "exec-data"))
		selftest_exec_data();
	else if (!strcmp(name, "stack-overflow"))
		selftest_recurse(0);
	else if (!strcmp(name, "panic"))
		selftest_panic();
	else if (!strcmp(name, "memory"))
		return selftest_memory();
	else if (!strcmp(name, "ipi"))
		return smp_selftest();
	else if (!strcmp(name, "phantom-cpu"))
		return cpus_online == cpus_possible - 1 && smp_selftest();
	else if (!strcmp(name, "virt-toggle"))
		return selftest_virt_toggle();
	else
		pr_err("selftest: unknown test '%s' (known: ud pagefault "
		       "write-text exec-data stack-overflow panic memory ipi "
		       "phantom-cpu "
		       "virt-toggle)\n",
		       name);
	return false;
}
