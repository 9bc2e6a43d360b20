/* Symbol lookup: binary search over the sorted generated table. */
#include "kernel/ksyms.h"
#include "kernel/printk.h"

const struct ksym *ksym_lookup(uint64_t addr)
{
	unsigned lo = 0, hi = ksym_count;

	/* Find the last symbol starting at or below addr. */
	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;

		if (ksyms[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return NULL;
	const struct ksym *s = &ksyms[lo - 1];
	/* A symbol without a size covers up to the next one. */
	if (s->size ? addr - s->addr < s->size
		    : (lo < ksym_count ? addr < ksyms[lo].addr : false))
		return s;
	return NULL;
}

void ksym_format(uint64_t addr, bool is_return, char *buf, unsigned size)
{
	const struct ksym *s = ksym_lookup(is_return ? addr - 1 : addr);

	if (!s)
		snprintf(buf, size, "?");
	else
		snprintf(buf, size, "%s+0x%lx/0x%lx", s->name,
			 (unsigned long)(addr - s->addr),
			 (unsigned long)s->size);
}
