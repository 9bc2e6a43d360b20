/*
 * kmalloc: power-of-two size classes from 32 bytes to 2 KiB, carved from
 * 4 KiB frames, with a 16-byte header per block; anything bigger gets
 * whole contiguous frames. The header's magic catches double frees and
 * frees of pointers kmalloc never returned.
 */
#include <stdint.h>
#include "kernel/kmalloc.h"
#include "kernel/compiler.h"
#include "kernel/mm.h"
#include "kernel/panic.h"
#include "kernel/string.h"
#include "smp/spinlock.h"

#define HEADER_SIZE	16
#define MIN_SHIFT	5	/* 32 bytes, header included */
#define MAX_SHIFT	11	/* 2 KiB */
#define CLASS_COUNT	(MAX_SHIFT - MIN_SHIFT + 1)
#define MAGIC_USED	0x6b6d616c6c6f6321ull	/* "kmalloc!" */
#define MAGIC_FREE	0x66726565626c6b21ull	/* "freeblk!" */
#define CLASS_LARGE	0xff

struct block_header {
	uint64_t magic;
	uint32_t class;		/* size class, or CLASS_LARGE */
	uint32_t frames;	/* for large blocks */
};
_Static_assert(sizeof(struct block_header) == HEADER_SIZE, "header size");

struct free_block {
	struct block_header header;
	struct free_block *next;
};

static struct free_block *free_lists[CLASS_COUNT];
static struct spinlock heap_lock = SPINLOCK_INIT("kmalloc");

static unsigned size_class(size_t total)
{
	unsigned shift = MIN_SHIFT;

	while ((1ul << shift) < total)
		shift++;
	return shift - MIN_SHIFT;
}

/* Split a fresh frame into blocks of one class. Lock held. */
static bool refill(unsigned class)
{
	uint64_t pa = alloc_frame();
	size_t block = 1ul << (class + MIN_SHIFT);
	char *page;

	if (pa == FRAME_NONE)
		return false;
	page = phys_to_virt(pa);
	for (size_t off = 0; off + block <= PAGE_SIZE; off += block) {
		struct free_block *b = (struct free_block *)(page + off);

		b->header = (struct block_header){ MAGIC_FREE, class, 0 };
		b->next = free_lists[class];
		free_lists[class] = b;
	}
	return true;
}

static void *alloc_large(size_t total)
{
	uint64_t frames = ALIGN_UP(total, PAGE_SIZE) / PAGE_SIZE;
	uint64_t pa = alloc_frames(frames, 1);
	struct block_header *h;

	if (pa == FRAME_NONE)
		return NULL;
	h = phys_to_virt(pa);
	*h = (struct block_header){ MAGIC_USED, CLASS_LARGE, (uint32_t)frames };
	return (char *)h + HEADER_SIZE;
}

void *kmalloc(size_t size)
{
	size_t total = size + HEADER_SIZE;
	struct free_block *b;
	unsigned class;
	bool irq_was_on;

	if (size > (1ull << 32) * PAGE_SIZE)
		return NULL;
	if (total > (1ul << MAX_SHIFT))
		return alloc_large(total);
	class = size_class(total);
	irq_was_on = spin_lock_irqsave(&heap_lock);
	if (!free_lists[class] && !refill(class)) {
		spin_unlock_irqrestore(&heap_lock, irq_was_on);
		return NULL;
	}
	b = free_lists[class];
	free_lists[class] = b->next;
	spin_unlock_irqrestore(&heap_lock, irq_was_on);

	b->header.magic = MAGIC_USED;
	memset((char *)b + HEADER_SIZE, 0, (1ul << (class + MIN_SHIFT)) - HEADER_SIZE);
	return (char *)b + HEADER_SIZE;
}

void kfree(void *p)
{
	struct block_header *h;
	bool irq_was_on;

	if (!p)
		return;
	h = (struct block_header *)((char *)p - HEADER_SIZE);
	if (h->magic != MAGIC_USED)
		panic("kfree(%p): %s", p, h->magic == MAGIC_FREE ?
		      "double free" : "not a kmalloc block");
	if (h->class == CLASS_LARGE) {
		h->magic = MAGIC_FREE;
		free_frames(virt_to_phys(h), h->frames);
		return;
	}
	if (h->class >= CLASS_COUNT)
		panic("kfree(%p): corrupt header (class %u)", p, h->class);
	h->magic = MAGIC_FREE;
	irq_was_on = spin_lock_irqsave(&heap_lock);
	((struct free_block *)h)->next = free_lists[h->class];
	free_lists[h->class] = (struct free_block *)h;
	spin_unlock_irqrestore(&heap_lock, irq_was_on);
}
