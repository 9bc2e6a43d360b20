/* Small-object heap on top of the frame allocator. */
#ifndef KERNEL_KMALLOC_H
#define KERNEL_KMALLOC_H

#include <stddef.h>

/* Zeroed memory, 16-byte aligned; NULL when out of memory. */
void *kmalloc(size_t size);
void kfree(void *p);

#endif
