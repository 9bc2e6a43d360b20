/* Small freestanding pieces: string functions (gcc may also call memset
 * and memcpy on its own), 64-bit division without libgcc, sorting. */
#ifndef TESTS_GUEST_LIB_UTIL_H
#define TESTS_GUEST_LIB_UTIL_H

#include <stddef.h>
#include <stdint.h>

void *memset(void *dst, int c, size_t n);
void *memcpy(void *dst, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);

/* n / d for a 32-bit divisor (there is no 32-bit libgcc for __udivdi3);
 * the remainder goes to *rem when rem is not NULL. */
uint64_t udiv64(uint64_t n, uint32_t d, uint32_t *rem);

void sort_u32(uint32_t *v, size_t n);

/* A small pseudo-random generator (xorshift32): state must not be 0. */
static inline uint32_t xorshift32(uint32_t *state)
{
	uint32_t x = *state;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return *state = x;
}

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif
