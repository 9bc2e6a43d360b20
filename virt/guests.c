/*
 * Guests from boot modules: check each module and its options, create its
 * VM, load it like a multiboot1 kernel, give its vCPUs physical CPUs, run
 * all VMs at once, then print the summary table. A guest that cannot be
 * started is reported and skipped; the others run.
 */
#include "virt/run.h"
#include "arch/x86/cpu.h"
#include "kernel/kmalloc.h"
#include "kernel/mm.h"
#include "kernel/printk.h"
#include "kernel/string.h"
#include "smp/percpu.h"
#include "smp/smp.h"
#include "virt/loader.h"
#include "virt/shadow_vm.h"
#include "virt/virt.h"
#include "virt/vm.h"

#define MB1_MAGIC	0x2BADB002u
#define MBI_FLAG_MEM	(1u << 0)
#define MBI_FLAG_CMDLINE (1u << 2)
#define MBI_FLAG_MMAP	(1u << 6)
#define MBI_FLAG_LOADER	(1u << 9)
#define MEM_RESERVE	(8ull << 20)	/* kept for the hypervisor itself */

struct mb1_info {
	uint32_t flags, mem_lower, mem_upper, boot_device, cmdline;
	uint32_t mods_count, mods_addr, syms[4], mmap_length, mmap_addr;
	uint32_t drives_length, drives_addr, config_table, boot_loader_name;
} __attribute__((packed));

struct mb1_mmap_entry {
	uint32_t size;
	uint64_t base, length;
	uint32_t type;
} __attribute__((packed));

static bool pcpu_taken[MAX_CPUS];

static unsigned free_pcpus(void)
{
	unsigned n = 0;

	for (unsigned c = 0; c < cpus_online; c++)
		n += !pcpu_taken[c] && percpu_of[c];
	return n;
}

static unsigned take_pcpu(void)
{
	for (unsigned c = 0; c < cpus_online; c++)
		if (!pcpu_taken[c] && percpu_of[c]) {
			pcpu_taken[c] = true;
			return c;
		}
	return 0;
}

/* The multiboot info page QEMU would give a -kernel guest. */
static void build_mbi(struct vm *vm)
{
	uint8_t page[GUEST_MBI_SIZE];
	struct mb1_info *mbi = (struct mb1_info *)page;
	struct mb1_mmap_entry *mm = (struct mb1_mmap_entry *)(page + 0x100);
	const struct mb1_mmap_entry map[] = {
		{ 20, 0, GUEST_LOW_MEM_END, 1 },
		{ 20, GUEST_BIOS_START, 0x100000 - GUEST_BIOS_START, 2 },
		{ 20, 0x100000, vm->mem_bytes - 0x100000, 1 },
	};

	memset(page, 0, sizeof(page));
	memcpy(mm, map, sizeof(map));
	snprintf((char *)page + 0x200, 0x200, "%s", vm->guest_cmdline);
	snprintf((char *)page + 0x400, 0x40, "hv");
	*mbi = (struct mb1_info){
		.flags = MBI_FLAG_MEM | MBI_FLAG_CMDLINE | MBI_FLAG_MMAP |
			 MBI_FLAG_LOADER,
		.mem_lower = GUEST_LOW_MEM_END >> 10,
		.mem_upper = (uint32_t)((vm->mem_bytes - 0x100000) >> 10),
		.cmdline = GUEST_MBI_GPA + 0x200,
		.mmap_length = sizeof(map),
		.mmap_addr = GUEST_MBI_GPA + 0x100,
		.boot_loader_name = GUEST_MBI_GPA + 0x400,
	};
	vm_write_gpa(vm, GUEST_MBI_GPA, page, sizeof(page));
}

static void load_segments(struct vm *vm, const uint8_t *file,
			  const struct elf_image *image)
{
	for (unsigned i = 0; i < image->seg_count; i++) {
		const struct elf_segment *s = &image->seg[i];

		/* RAM starts zeroed: only the file part is copied. */
		vm_write_gpa(vm, s->paddr, file + s->offset, s->filesz);
	}
}

static bool add_vcpus(struct vm *vm, unsigned count, uint64_t entry)
{
	for (unsigned i = 0; i < count; i++) {
		struct vcpu *v = kmalloc(sizeof(*v));

		if (!v)
			return false;
		v->vm = vm;
		v->id = i;
		v->pcpu = take_pcpu();
		v->state = i == 0 ? VCPU_RUNNING : VCPU_WAIT_START;
		v->regs.rip = entry;
		v->regs.rax = MB1_MAGIC;
		v->regs.rbx = GUEST_MBI_GPA;
		v->regs.rflags = 0x2;
		vm->vcpus[vm->vcpu_count++] = v;
	}
	return true;
}

static void start_guest(const struct boot_module *m, unsigned index)
{
	struct guest_opts opts;
	struct elf_image image;
	char err[GUEST_ERR_MAX], default_name[16], mmu[48];
	const uint8_t *file = phys_to_virt(m->start);
	uint64_t size = m->end - m->start, free_bytes;
	struct vm_config config;
	struct vm *vm;

	snprintf(default_name, sizeof(default_name), "guest%u", index);
	if (guest_opts_parse(m->cmdline, default_name, &opts, err, sizeof(err))) {
		pr_err("guest %u: %s; not started\n", index, err);
		return;
	}
	if (elf_check(file, size, opts.mem_bytes, &image, err, sizeof(err))) {
		pr_err("guest %s: module %u: %s; not started\n", opts.name,
		       index, err);
		return;
	}
	if (opts.vcpus > free_pcpus()) {
		pr_err("guest %s: needs %u vCPUs but only %u CPUs are free; "
		       "not started\n", opts.name, opts.vcpus, free_pcpus());
		return;
	}
	free_bytes = mm_free_frames() * PAGE_SIZE;
	if (opts.mem_bytes + MEM_RESERVE > free_bytes) {
		pr_err("guest %s: needs %lu MiB of memory but only %lu MiB are "
		       "free; not started\n", opts.name,
		       (unsigned long)(opts.mem_bytes >> 20),
		       (unsigned long)((free_bytes - MIN(free_bytes, MEM_RESERVE)) >> 20));
		return;
	}
	config = (struct vm_config){
		.mem_bytes = opts.mem_bytes, .mmu = opts.mmu,
		.shadow_unsync = opts.unsync, .shadow_flood = opts.flood,
	};
	vm = vm_create(opts.name, &config);
	if (!vm)
		return;
	snprintf(vm->guest_cmdline, sizeof(vm->guest_cmdline), "%s",
		 opts.cmdline);
	load_segments(vm, file, &image);
	build_mbi(vm);
	if (!add_vcpus(vm, opts.vcpus, image.entry)) {
		pr_err("guest %s: out of memory for its vCPUs; not started\n",
		       opts.name);
		vm_destroy(vm);
		return;
	}
	if (vm_is_shadow(vm))
		snprintf(mmu, sizeof(mmu), "shadow (unsync %s, flooding %s)",
			 opts.unsync ? "on" : "off", opts.flood ? "on" : "off");
	else
		snprintf(mmu, sizeof(mmu), "tdp (%s)", virt->tdp_format->name);
	pr_info("guest %s: %u vCPU%s on cpu%u%s, %lu MiB, mmu=%s, "
		"entry 0x%lx, command line '%s'\n", vm->name, vm->vcpu_count,
		vm->vcpu_count > 1 ? "s" : "", vm->vcpus[0]->pcpu,
		vm->vcpu_count > 1 ? "+" : "",
		(unsigned long)(vm->mem_bytes >> 20), mmu,
		(unsigned long)image.entry, vm->guest_cmdline);
}

static void print_exits(const struct vm *vm)
{
	char buf[200];
	int len = 0;

	for (unsigned r = 1; r < EXIT_REASON_COUNT; r++) {
		uint64_t n = 0;

		for (unsigned i = 0; i < vm->vcpu_count; i++)
			n += vm->vcpus[i]->exits[r];
		if (n && len < (int)sizeof(buf))
			len += snprintf(buf + len, sizeof(buf) - len, " %s=%lu",
					exit_reason_name(r), (unsigned long)n);
	}
	pr_info("  %-12s exits:%s\n", "", len ? buf : " none");
}

static void print_summary(void)
{
	pr_info("guest summary:\n");
	pr_info("  %-12s %5s %-6s %6s  %s\n", "guest", "vcpus", "mmu", "mem",
		"result");
	for (unsigned i = 0; i < vm_count; i++) {
		const struct vm *vm = vms[i];
		char result[160];

		if (vm->state == VM_FINISHED)
			snprintf(result, sizeof(result), "%s (exit value 0x%x)",
				 vm->verdict == VERDICT_PASS ? "PASS" : "FAIL",
				 vm->exit_value);
		else
			snprintf(result, sizeof(result), "stopped: %s",
				 vm->stop_reason);
		pr_info("  %-12s %5u %-6s %5luM  %s\n", vm->name, vm->vcpu_count,
			vm->mmu_mode == MMU_MODE_TDP ? "tdp" : "shadow",
			(unsigned long)(vm->mem_bytes >> 20), result);
		print_exits(vm);
		if (vm_is_shadow(vm)) {
			vm_shadow_print_stats(vm);
			continue;
		}
		pr_info("  %-12s mmu: %lu faults, %lu 4K and %lu 2M mappings, "
			"%lu tables, %lu unassigned-address faults\n", "",
			(unsigned long)vm->mmu.stats.faults,
			(unsigned long)vm->mmu.stats.mapped_4k,
			(unsigned long)vm->mmu.stats.mapped_2m,
			(unsigned long)vm->mmu.stats.tables,
			(unsigned long)vm->mmu.stats.mmio);
	}
}

bool run_guests(const struct boot_info *bi)
{
	struct vcpu *mine = NULL;

	if (!virt->vcpu_create || !virt->vcpu_run) {
		pr_err("guests: the %s backend cannot run guests yet\n",
		       virt->name);
		return false;
	}
	for (unsigned i = 0; i < bi->module_count; i++)
		start_guest(&bi->modules[i], i);
	if (vm_count == 0) {
		pr_err("guests: none could be started\n");
		return false;
	}
	for (unsigned i = 0; i < vm_count; i++)
		for (unsigned j = 0; j < vms[i]->vcpu_count; j++) {
			struct vcpu *v = vms[i]->vcpus[j];

			if (v->pcpu == this_cpu_id())
				mine = v;
			else
				smp_run_on(v->pcpu, vcpu_run_loop, v);
		}
	if (mine)
		vcpu_run_loop(mine);
	for (unsigned c = 0; c < cpus_online; c++)
		if (pcpu_taken[c] && c != this_cpu_id())
			smp_wait_work(c);
	print_summary();
	for (unsigned i = 0; i < vm_count; i++)
		vm_destroy(vms[i]);
	return true;
}
