/* CPUID-based feature tests (declared in cpu.h). */
#include "tests/guest/lib/cpu.h"
#include "tests/guest/lib/util.h"

void cpu_vendor(char buf[13])
{
	struct cpuid_regs r = cpuid(0, 0);

	memcpy(buf, &r.ebx, 4);
	memcpy(buf + 4, &r.edx, 4);
	memcpy(buf + 8, &r.ecx, 4);
	buf[12] = 0;
}

bool cpu_is_intel(void)
{
	char v[13];

	cpu_vendor(v);
	return strcmp(v, "GenuineIntel") == 0;
}

bool cpu_is_amd(void)
{
	char v[13];

	cpu_vendor(v);
	return strcmp(v, "AuthenticAMD") == 0;
}

static uint32_t max_ext_leaf(void)
{
	return cpuid(0x80000000u, 0).eax;
}

static bool ext_edx_bit(unsigned bit)
{
	return max_ext_leaf() >= 0x80000001u &&
	       (cpuid(0x80000001u, 0).edx >> bit & 1);
}

bool cpu_has_nx(void)		{ return ext_edx_bit(20); }
bool cpu_has_1g_pages(void)	{ return ext_edx_bit(26); }
bool cpu_has_long_mode(void)	{ return ext_edx_bit(29); }
bool cpu_has_pse(void)		{ return cpuid(1, 0).edx >> 3 & 1; }
bool cpu_has_pae(void)		{ return cpuid(1, 0).edx >> 6 & 1; }

unsigned cpu_phys_addr_bits(void)
{
	if (max_ext_leaf() >= 0x80000008u)
		return cpuid(0x80000008u, 0).eax & 0xff;
	return 36;
}

static bool leaf7_bit(unsigned reg, unsigned bit)
{
	struct cpuid_regs r;

	if (cpuid(0, 0).eax < 7)
		return false;
	r = cpuid(7, 0);
	return (reg == 'b' ? r.ebx : r.ecx) >> bit & 1;
}

bool cpu_has_pge(void)		{ return cpuid(1, 0).edx >> 13 & 1; }
bool cpu_has_pcid(void)		{ return cpuid(1, 0).ecx >> 17 & 1; }
bool cpu_has_smep(void)		{ return leaf7_bit('b', 7); }
bool cpu_has_invpcid(void)	{ return leaf7_bit('b', 10); }
bool cpu_has_smap(void)		{ return leaf7_bit('b', 20); }
bool cpu_has_pku(void)		{ return leaf7_bit('c', 3); }

void cpu_brand(char buf[49])
{
	char raw[49];
	unsigned skip = 0;

	buf[0] = 0;
	if (max_ext_leaf() < 0x80000004u)
		return;
	for (unsigned i = 0; i < 3; i++) {
		struct cpuid_regs r = cpuid(0x80000002u + i, 0);

		memcpy(raw + 16 * i, &r, 16);
	}
	raw[48] = 0;
	while (raw[skip] == ' ')
		skip++;
	memcpy(buf, raw + skip, 49 - skip);
}
