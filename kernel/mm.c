/* The global frame allocator behind its lock, with zeroing. */
#include "kernel/mm.h"
#include "arch/x86/platform.h"
#include "kernel/panic.h"
#include "kernel/printk.h"
#include "kernel/string.h"
#include "smp/spinlock.h"

extern char _image_start_phys[], _image_end_phys[];

static struct frame_allocator frames;
static struct spinlock frames_lock = SPINLOCK_INIT("frames");
static uint64_t max_phys;

uint64_t image_phys_start(void)
{
	return (uint64_t)_image_start_phys;
}

uint64_t image_phys_end(void)
{
	return (uint64_t)_image_end_phys;
}

static void *early_phys_to_virt(uint64_t pa, void *ctx)
{
	(void)ctx;
	return phys_to_virt(pa);
}

void mm_init(const struct boot_info *bi, const struct mem_range *extra,
	     unsigned extra_count)
{
	struct mem_range reserved[BOOT_MODULES_MAX + 8];
	unsigned n = 0;

	reserved[n++] = (struct mem_range){ image_phys_start(),
					    image_phys_end(), MEM_RESERVED };
	for (unsigned i = 0; i < bi->module_count; i++)
		reserved[n++] = (struct mem_range){ bi->modules[i].start,
						    bi->modules[i].end,
						    MEM_RESERVED };
	for (unsigned i = 0; i < extra_count && n < ARRAY_SIZE(reserved); i++)
		reserved[n++] = extra[i];

	/* RAM and firmware tables only: reserved ranges far up (QEMU lists
	 * one just below 1 TiB) are device space, mapped when needed. */
	for (unsigned i = 0; i < bi->memmap_count; i++)
		if (bi->memmap[i].type == MEM_USABLE ||
		    bi->memmap[i].type == MEM_ACPI_RECLAIM ||
		    bi->memmap[i].type == MEM_ACPI_NVS)
			max_phys = MAX(max_phys, bi->memmap[i].end);

	if (!frame_alloc_init(&frames, bi->memmap, bi->memmap_count,
			      reserved, n, EARLY_MAP_LIMIT,
			      early_phys_to_virt, NULL)) {
		pr_err("hv: cannot manage physical memory; stopping\n");
		machine_exit(false);
	}
	pr_info("memory: %lu MiB free for the hypervisor and guests "
		"(bitmap at 0x%lx, %lu KiB)\n",
		(unsigned long)(frames.free_frames * FRAME_SIZE >> 20),
		(unsigned long)frames.bitmap_phys,
		(unsigned long)(2 * frames.bitmap_bytes >> 10));
}

uint64_t alloc_frames(uint64_t count, uint64_t align)
{
	bool irq_was_on = spin_lock_irqsave(&frames_lock);
	uint64_t pa = count == 1 && align == 1 ?
		      frame_alloc(&frames) :
		      frame_alloc_contig(&frames, count, align);

	spin_unlock_irqrestore(&frames_lock, irq_was_on);
	if (pa != FRAME_NONE)
		memset(phys_to_virt(pa), 0, count * FRAME_SIZE);
	return pa;
}

uint64_t alloc_frame(void)
{
	return alloc_frames(1, 1);
}

void free_frames(uint64_t pa, uint64_t count)
{
	bool irq_was_on = spin_lock_irqsave(&frames_lock);
	bool ok = frame_free_contig(&frames, pa, count);

	spin_unlock_irqrestore(&frames_lock, irq_was_on);
	if (!ok)
		panic("bad free of %lu frames at 0x%lx", (unsigned long)count,
		      (unsigned long)pa);
}

void free_frame(uint64_t pa)
{
	free_frames(pa, 1);
}

uint64_t mm_free_frames(void)
{
	return __atomic_load_n(&frames.free_frames, __ATOMIC_RELAXED);
}

uint64_t mm_managed_frames(void)
{
	return frames.managed_frames;
}

uint64_t mm_max_phys(void)
{
	return max_phys;
}
