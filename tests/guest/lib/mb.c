/* Multiboot1 information and command-line options (mb.h). */
#include "tests/guest/lib/guest.h"
#include "tests/guest/lib/util.h"

struct boot_info boot;

static void add_range(uint64_t base, uint64_t len, uint32_t type)
{
	if (boot.nr_ranges < MB_MAX_RANGES)
		boot.ranges[boot.nr_ranges++] =
			(struct mem_range){ base, len, type };
}

void mb_parse(uint32_t magic, const struct mb1_info *info)
{
	boot.magic = magic;
	boot.magic_ok = magic == MB1_BOOT_MAGIC;
	if (!boot.magic_ok)
		return;
	boot.info_addr = (uint32_t)info;
	boot.flags = info->flags;
	if (info->flags & MB1_INFO_CMDLINE) {
		const char *s = (const char *)info->cmdline;
		size_t n = 0;

		while (s[n] && n + 1 < sizeof(boot.cmdline)) {
			boot.cmdline[n] = s[n];
			n++;
		}
		boot.cmdline[n] = 0;
	}
	if (info->flags & MB1_INFO_MEM) {
		boot.mem_lower = info->mem_lower;
		boot.mem_upper = info->mem_upper;
	}
	if (info->flags & MB1_INFO_MMAP) {
		uint32_t p = info->mmap_addr, end = p + info->mmap_length;

		boot.has_mmap = true;
		/* Entry: size (not counting itself), base, length, type. */
		while (p + 24 <= end) {
			const uint32_t *e = (const uint32_t *)p;

			add_range((uint64_t)e[2] << 32 | e[1],
				  (uint64_t)e[4] << 32 | e[3], e[5]);
			p += e[0] + 4;
		}
	} else if (info->flags & MB1_INFO_MEM) {
		add_range(0, (uint64_t)boot.mem_lower << 10, MB_RAM);
		add_range(0x100000, (uint64_t)boot.mem_upper << 10, MB_RAM);
	}
}

/* Finds key=... as a whole word; returns the value's start or NULL.
 * A key of a bare word matches the word too (value ""). */
static const char *find_option(const char *key)
{
	size_t klen = strlen(key);

	for (const char *p = boot.cmdline; *p;) {
		while (*p == ' ')
			p++;
		if (!strncmp(p, key, klen) &&
		    (p[klen] == '=' || p[klen] == ' ' || !p[klen]))
			return p[klen] == '=' ? p + klen + 1 : p + klen;
		while (*p && *p != ' ')
			p++;
	}
	return NULL;
}

bool opt_get(const char *key, char *buf, size_t size)
{
	const char *v = find_option(key);
	size_t n = 0;

	if (!v)
		return false;
	while (v[n] && v[n] != ' ' && n + 1 < size) {
		buf[n] = v[n];
		n++;
	}
	if (size)
		buf[n] = 0;
	return true;
}

uint64_t opt_u64(const char *key, uint64_t def)
{
	char buf[32];
	const char *p = buf;
	uint64_t v = 0;
	unsigned base = 10;

	if (!opt_get(key, buf, sizeof(buf)) || !*p)
		return def;
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
		base = 16, p += 2;
	if (!*p)
		return def;
	for (; *p; p++) {
		unsigned d;

		if (*p >= '0' && *p <= '9')
			d = *p - '0';
		else if (base == 16 && *p >= 'a' && *p <= 'f')
			d = *p - 'a' + 10;
		else if (base == 16 && *p >= 'A' && *p <= 'F')
			d = *p - 'A' + 10;
		else
			break;
		v = v * base + d;
	}
	switch (*p) {
	case 0:			return v;
	case 'K': case 'k':	v <<= 10; break;
	case 'M': case 'm':	v <<= 20; break;
	case 'G': case 'g':	v <<= 30; break;
	default:		return def;
	}
	return p[1] ? def : v;
}

bool opt_present(const char *word)
{
	return find_option(word) != NULL;
}

bool mb_ram_range(unsigned i, uint64_t *base, uint64_t *len)
{
	for (unsigned r = 0; r < boot.nr_ranges; r++) {
		if (boot.ranges[r].type != MB_RAM || !boot.ranges[r].len)
			continue;
		if (i-- == 0) {
			*base = boot.ranges[r].base;
			*len = boot.ranges[r].len;
			return true;
		}
	}
	return false;
}

uint64_t mb_ram_end(void)
{
	uint64_t base, len, end = 0;

	for (unsigned i = 0; mb_ram_range(i, &base, &len); i++)
		if (base + len > end)
			end = base + len;
	return end;
}
