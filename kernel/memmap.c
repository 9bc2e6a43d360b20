/*
 * Normalising the loader's physical memory map.
 *
 * Loaders pass on what the firmware said, and firmware maps overlap, repeat
 * themselves, list ranges out of order and split usable memory at odd
 * addresses. The rest of the kernel wants one sorted list of disjoint
 * ranges, each with one type, and usable ranges in whole 4 KiB pages, so
 * that is what memmap_normalize() makes.
 *
 * Where ranges overlap, the more restrictive type wins: handing out a page
 * that firmware also called reserved, ACPI NVS or bad would corrupt
 * firmware state or the data put there, while losing a page of usable
 * memory costs nothing. The same reasoning picks what to drop when the array
 * runs out of room: the least restrictive range goes first, so the result
 * may describe less memory than the loader did but never calls a byte
 * usable that the loader did not.
 *
 * The work is done in place, with no scratch memory: the kernel runs this
 * before it has an allocator.
 */
#include "kernel/memmap.h"
#include "kernel/compiler.h"
#include "kernel/printk.h"

#define MEMMAP_PAGE 0x1000ull

/* How restrictive a type is: a higher rank wins an overlap. */
static unsigned type_rank(uint32_t type)
{
	switch (type) {
	case MEM_USABLE:
		return 0;
	case MEM_ACPI_RECLAIM:
		return 1;
	case MEM_RESERVED:
		return 2;
	case MEM_ACPI_NVS:
		return 3;
	case MEM_BAD:
		return 4;
	}
	return 2;	/* unknown types are treated as reserved */
}

static bool type_is_known(uint32_t type)
{
	return type >= MEM_USABLE && type <= MEM_BAD;
}

const char *mem_type_name(uint32_t type)
{
	switch (type) {
	case MEM_USABLE:
		return "usable";
	case MEM_RESERVED:
		return "reserved";
	case MEM_ACPI_RECLAIM:
		return "ACPI reclaimable";
	case MEM_ACPI_NVS:
		return "ACPI NVS";
	case MEM_BAD:
		return "bad";
	}
	return "unknown";
}

uint64_t memmap_total(const struct mem_range *ranges, unsigned count,
		      uint32_t type)
{
	uint64_t total = 0;

	for (unsigned i = 0; i < count; i++) {
		uint64_t len;

		if (ranges[i].type != type || ranges[i].end <= ranges[i].base)
			continue;
		len = ranges[i].end - ranges[i].base;
		/* Only an unnormalised, overlapping map can get here. */
		total = len > UINT64_MAX - total ? UINT64_MAX : total + len;
	}
	return total;
}

/* The ranges being normalised and what happened to them so far. */
struct memmap_work {
	struct mem_range *ranges;
	unsigned count;
	unsigned cap;
	unsigned overlaps;	/* overlaps resolved */
	unsigned dropped;	/* ranges dropped for lack of room */
};

static void remove_at(struct memmap_work *w, unsigned idx)
{
	for (unsigned i = idx; i + 1 < w->count; i++)
		w->ranges[i] = w->ranges[i + 1];
	w->count--;
}

/* Insertion sort by base: the map is short, often nearly sorted already,
 * and this needs no scratch memory. Equal bases are ordered by end and
 * type only so that the warnings come out the same on every run. */
static bool sorts_before(const struct mem_range *a, const struct mem_range *b)
{
	if (a->base != b->base)
		return a->base < b->base;
	if (a->end != b->end)
		return a->end < b->end;
	return a->type < b->type;
}

static void sort_by_base(struct memmap_work *w)
{
	for (unsigned i = 1; i < w->count; i++) {
		struct mem_range range = w->ranges[i];
		unsigned j = i;

		while (j > 0 && sorts_before(&range, &w->ranges[j - 1])) {
			w->ranges[j] = w->ranges[j - 1];
			j--;
		}
		w->ranges[j] = range;
	}
}

/* ranges[idx].base has grown: move it back to its sorted place. */
static void move_forward(struct memmap_work *w, unsigned idx)
{
	while (idx + 1 < w->count &&
	       w->ranges[idx + 1].base < w->ranges[idx].base) {
		struct mem_range tmp = w->ranges[idx];

		w->ranges[idx] = w->ranges[idx + 1];
		w->ranges[idx + 1] = tmp;
		idx++;
	}
}

/* Insert at its sorted place, searching from 'from': the caller knows that
 * nothing before 'from' has a larger base. There must be room. */
static void insert_sorted(struct memmap_work *w, unsigned from,
			  struct mem_range range)
{
	unsigned pos = from;

	while (pos < w->count && w->ranges[pos].base <= range.base)
		pos++;
	for (unsigned i = w->count; i > pos; i--)
		w->ranges[i] = w->ranges[i - 1];
	w->ranges[pos] = range;
	w->count++;
}

static void report_dropped(const struct mem_range *range)
{
	pr_warn("memmap: no room left in the memory map; dropped %s range [0x%llx-0x%llx)\n",
		mem_type_name(range->type),
		(unsigned long long)range->base,
		(unsigned long long)range->end);
}

/*
 * Make room for 'fragment' in a full array by dropping the least restrictive
 * range, which may be the fragment itself. Returns false if the fragment was
 * the one dropped. *cur, the index the caller is working at, is kept
 * pointing at the same range.
 *
 * The fragment has the rank of ranges[*cur] and ranges[*cur + 1] outranks
 * it, so neither of those two is ever chosen here.
 */
static bool make_room(struct memmap_work *w, unsigned *cur,
		      const struct mem_range *fragment)
{
	unsigned lowest_rank = type_rank(fragment->type);
	unsigned victim = w->count;	/* count: the fragment */

	for (unsigned i = 0; i < w->count; i++) {
		if (type_rank(w->ranges[i].type) < lowest_rank ||
		    (victim != w->count &&
		     type_rank(w->ranges[i].type) == lowest_rank)) {
			lowest_rank = type_rank(w->ranges[i].type);
			victim = i;
		}
	}
	w->dropped++;
	if (victim == w->count) {
		report_dropped(fragment);
		return false;
	}
	report_dropped(&w->ranges[victim]);
	remove_at(w, victim);
	if (victim < *cur)
		(*cur)--;
	return true;
}

static void report_overlap(const struct mem_range *a, const struct mem_range *b)
{
	const struct mem_range *winner = type_rank(b->type) > type_rank(a->type) ?
					 b : a;

	if (a->type == b->type)
		pr_warn("memmap: %s ranges [0x%llx-0x%llx) and [0x%llx-0x%llx) overlap; merged them\n",
			mem_type_name(a->type),
			(unsigned long long)a->base, (unsigned long long)a->end,
			(unsigned long long)b->base, (unsigned long long)b->end);
	else
		pr_warn("memmap: %s range [0x%llx-0x%llx) overlaps %s range [0x%llx-0x%llx); treating the overlap as %s\n",
			mem_type_name(a->type),
			(unsigned long long)a->base, (unsigned long long)a->end,
			mem_type_name(b->type),
			(unsigned long long)b->base, (unsigned long long)b->end,
			mem_type_name(winner->type));
}

/* ranges[idx] lost everything below new_base to a range that outranks it. */
static void trim_front(struct memmap_work *w, unsigned idx, uint64_t new_base)
{
	if (w->ranges[idx].end <= new_base) {
		remove_at(w, idx);
		return;
	}
	w->ranges[idx].base = new_base;
	move_forward(w, idx);
}

/* ranges[*cur] lost [hole_base, hole_end) to ranges[*cur + 1], which
 * outranks it; what is left of it on each side stays. */
static void cut_hole(struct memmap_work *w, unsigned *cur, uint64_t hole_base,
		     uint64_t hole_end)
{
	struct mem_range *range = &w->ranges[*cur];
	struct mem_range right = *range;
	bool has_left = range->base < hole_base;
	bool has_right = range->end > hole_end;

	right.base = hole_end;
	if (!has_left && !has_right) {
		remove_at(w, *cur);
	} else if (!has_left) {
		trim_front(w, *cur, hole_end);
	} else {
		range->end = hole_base;
		if (!has_right)
			return;
		if (w->count == w->cap && !make_room(w, cur, &right))
			return;
		insert_sorted(w, *cur + 1, right);
	}
}

/*
 * ranges[*cur + 1] starts inside ranges[*cur]: settle who owns the overlap.
 * Whatever changes, every range from *cur on keeps a base at or above the
 * old ranges[*cur].base, so the ranges before *cur stay settled.
 */
static void resolve_overlap(struct memmap_work *w, unsigned *cur)
{
	struct mem_range *a = &w->ranges[*cur];
	struct mem_range *b = &w->ranges[*cur + 1];

	report_overlap(a, b);
	w->overlaps++;
	if (a->type == b->type) {
		a->end = MAX(a->end, b->end);
		remove_at(w, *cur + 1);
	} else if (type_rank(a->type) > type_rank(b->type)) {
		trim_front(w, *cur + 1, a->end);
	} else {
		cut_hole(w, cur, b->base, b->end);
	}
}

/*
 * Sweep the sorted ranges once. Once ranges[cur] does not overlap
 * ranges[cur + 1], no later range (their bases are larger still) overlaps
 * it, so it is settled for good. Each resolution takes at least one piece
 * between two of the original boundaries away from one range, so the sweep
 * ends.
 */
static void resolve_overlaps(struct memmap_work *w)
{
	unsigned cur = 0;

	while (cur + 1 < w->count) {
		if (w->ranges[cur + 1].base >= w->ranges[cur].end)
			cur++;
		else
			resolve_overlap(w, &cur);
	}
}

/* Drop empty and inverted ranges and give unknown types the type they are
 * treated as, so that from here on equal rank means equal type. */
static void drop_empty_and_retype(struct memmap_work *w)
{
	unsigned kept = 0;

	for (unsigned i = 0; i < w->count; i++) {
		struct mem_range range = w->ranges[i];

		if (range.end < range.base)
			pr_warn("memmap: range [0x%llx-0x%llx) ends before it starts; ignoring it\n",
				(unsigned long long)range.base,
				(unsigned long long)range.end);
		if (range.end <= range.base)
			continue;
		if (!type_is_known(range.type)) {
			pr_info("memmap: range [0x%llx-0x%llx) has unknown type %u; treating it as reserved\n",
				(unsigned long long)range.base,
				(unsigned long long)range.end, range.type);
			range.type = MEM_RESERVED;
		}
		w->ranges[kept++] = range;
	}
	w->count = kept;
}

static void merge_neighbours(struct memmap_work *w)
{
	unsigned i = 0;

	while (i + 1 < w->count) {
		struct mem_range *range = &w->ranges[i];
		const struct mem_range *next = &w->ranges[i + 1];

		if (range->end == next->base && range->type == next->type) {
			range->end = next->end;
			remove_at(w, i + 1);
		} else {
			i++;
		}
	}
}

/* Usable memory is handed out in pages: a page that is only partly usable
 * is not usable at all. Runs after merging, so a page split between two
 * usable entries is kept. */
static void shrink_usable_to_pages(struct memmap_work *w)
{
	unsigned i = 0;

	while (i < w->count) {
		struct mem_range *range = &w->ranges[i];

		if (range->type == MEM_USABLE) {
			uint64_t last_page = ALIGN_DOWN(UINT64_MAX, MEMMAP_PAGE);

			/* ALIGN_UP would wrap to 0 in the last page. */
			range->base = range->base > last_page ?
				      UINT64_MAX : ALIGN_UP(range->base, MEMMAP_PAGE);
			range->end = ALIGN_DOWN(range->end, MEMMAP_PAGE);
			if (range->end <= range->base) {
				remove_at(w, i);
				continue;
			}
		}
		i++;
	}
}

int memmap_normalize(struct mem_range *ranges, unsigned *count, unsigned cap)
{
	struct memmap_work w = {
		.ranges = ranges, .count = *count, .cap = cap,
	};

	if (w.count > cap) {
		pr_err("memmap: %u ranges passed in an array of only %u; not touching them\n",
		       w.count, cap);
		return -1;
	}
	drop_empty_and_retype(&w);
	sort_by_base(&w);
	resolve_overlaps(&w);
	merge_neighbours(&w);
	shrink_usable_to_pages(&w);
	*count = w.count;
	if (w.dropped) {
		pr_err("memmap: the memory map needs more than %u entries once its overlaps are split; dropped %u ranges (listed above), their memory will not be used\n",
		       cap, w.dropped);
		return -1;
	}
	return (int)w.overlaps;
}
