/* memwalk: every 4K page of the guest's RAM holds what was written to it.
 *
 * The RAM is what the boot information says (the memory map, else
 * mem_lower/mem_upper), from 1 MiB up to 4 GiB (paging is off), without
 * the guest's own image (code, data, stack). First pass: every 32-bit word
 * gets a value made from its address and the seed (command line seed=N,
 * default 1); second pass: every word is read back and compared. A second
 * seed would give other values, so stale memory from an earlier run cannot
 * pass. The boot information was copied at start-up, so it may be
 * overwritten.
 */
#include "tests/guest/lib/guest.h"
#include "tests/guest/lib/util.h"

const char guest_name[] = "memwalk";

#define LOW_LIMIT	0x100000u
#define MAX_REPORTED	8

struct span {
	uint32_t start, end;	/* [start, end), page-aligned */
};

static uint32_t seed;

/* A value for each address: a multiply-xorshift mix, so that neighbouring
 * words, pages and seeds all differ. */
static inline uint32_t pattern(uint32_t addr)
{
	uint32_t x = addr * 0x9e3779b1u ^ seed;

	x ^= x >> 16;
	x *= 0x85ebca6bu;
	x ^= x >> 13;
	return x;
}

/* The parts of the RAM range [base, base + len) the walk may touch. */
static unsigned spans_of(uint64_t base, uint64_t len, struct span out[2])
{
	uint64_t end = base + len;
	uint32_t img_start = (uint32_t)__image_start, img_end = (uint32_t)__image_end;
	uint32_t s, e;
	unsigned n = 0;

	if (base < LOW_LIMIT)
		base = LOW_LIMIT;
	if (end > 0x100000000ull)
		end = 0x100000000ull - 0x1000;	/* stay below 4 GiB */
	if (end <= base)
		return 0;
	s = ((uint32_t)base + 0xfff) & ~0xfffu;
	e = (uint32_t)end & ~0xfffu;
	if (s < img_start && e > s)
		out[n++] = (struct span){ s, e < img_start ? e : img_start };
	if (e > img_end) {
		uint32_t s2 = s > img_end ? s : img_end;

		if (e > s2)
			out[n++] = (struct span){ s2, e };
	}
	return n;
}

static void fill(const struct span *sp)
{
	for (uint32_t a = sp->start; a != sp->end; a += 4)
		*(volatile uint32_t *)a = pattern(a);
}

static uint32_t verify(const struct span *sp, unsigned *reported)
{
	uint32_t bad = 0;

	for (uint32_t a = sp->start; a != sp->end; a += 4) {
		uint32_t got = *(volatile uint32_t *)a, want = pattern(a);

		if (got == want)
			continue;
		if (++bad, (*reported)++ < MAX_REPORTED)
			guest_printf("memwalk: mismatch at 0x%08x: read 0x%08x, "
				     "wrote 0x%08x\n", a, got, want);
	}
	return bad;
}

bool guest_test(uint32_t magic, const struct mb1_info *info)
{
	struct span spans[2 * MB_MAX_RANGES];
	unsigned nr_spans = 0, reported = 0;
	uint64_t base, len, above_4g = 0, pages = 0, bad = 0;

	(void)magic, (void)info;
	seed = (uint32_t)opt_u64("seed", 1);
	guest_printf("memwalk: seed %u, image 0x%x-0x%x, memory map: %s\n",
		     seed, (uint32_t)__image_start, (uint32_t)__image_end,
		     boot.has_mmap ? "yes" : "no (mem_lower/mem_upper)");
	if (!check(boot.nr_ranges > 0, "boot information describes memory"))
		return false;
	for (unsigned i = 0; mb_ram_range(i, &base, &len); i++) {
		guest_printf("memwalk: RAM 0x%llx-0x%llx (%llu KiB)\n", base,
			     base + len, len >> 10);
		if (base + len > 0x100000000ull)
			above_4g += base + len - (base > 0x100000000ull ?
						  base : 0x100000000ull);
		nr_spans += spans_of(base, len, spans + nr_spans);
	}
	if (boot.flags & MB1_INFO_MEM) {
		/* mem_upper: KiB of RAM from 1 MiB to the first hole. */
		uint64_t upper_end = LOW_LIMIT + ((uint64_t)boot.mem_upper << 10);
		bool found = false;

		for (unsigned i = 0; mb_ram_range(i, &base, &len); i++)
			found |= base <= LOW_LIMIT && base + len == upper_end;
		check(found, "mem_upper %u KiB agrees with the memory map",
		      boot.mem_upper);
	}
	if (above_4g)
		guest_printf("memwalk: %llu MiB above 4 GiB not walked "
			     "(paging off)\n", above_4g >> 20);

	for (unsigned i = 0; i < nr_spans; i++) {
		fill(&spans[i]);
		pages += (spans[i].end - spans[i].start) >> 12;
	}
	guest_printf("memwalk: wrote %llu pages in %u spans\n", pages, nr_spans);
	for (unsigned i = 0; i < nr_spans; i++)
		bad += verify(&spans[i], &reported);
	check(pages > 0, "%llu MiB checked", pages >> 8);
	check(bad == 0, "%llu words differ", bad);
	return boot.magic_ok;
}
