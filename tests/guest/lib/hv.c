/* Hypervisor detection and hypercalls (hv.h). */
#include "tests/guest/lib/guest.h"
#include "tests/guest/lib/util.h"

static struct hv_info info;
static bool detected;

const struct hv_info *hv_detect(void)
{
	struct cpuid_regs r;

	if (detected)
		return &info;
	detected = true;
	info.vmmcall = cpu_is_amd();
	info.hv_bit = cpuid(1, 0).ecx >> 31 & 1;
	if (!info.hv_bit)
		return &info;
	r = cpuid(HV_CPUID_BASE, 0);
	info.max_leaf = r.eax;
	memcpy(info.signature, &r.ebx, 4);
	memcpy(info.signature + 4, &r.ecx, 4);
	memcpy(info.signature + 8, &r.edx, 4);
	info.signature[12] = 0;
	info.present = strcmp(info.signature, HV_CPUID_SIGNATURE) == 0;
	info.tcg = strcmp(info.signature, "TCGTCGTCGTCG") == 0;
	if (info.present && info.max_leaf >= HV_CPUID_FEATURES)
		info.abi_version = cpuid(HV_CPUID_FEATURES, 0).eax;
	return &info;
}

bool hv_present(void)
{
	return hv_detect()->present;
}

const char *platform_name(void)
{
	const struct hv_info *hv = hv_detect();

	if (hv->present)
		return "hv";
	if (hv->tcg)
		return "QEMU TCG";
	return hv->hv_bit ? "another hypervisor" : "no hypervisor";
}

int32_t hypercall(uint32_t nr, uint32_t a, uint32_t b, uint32_t c)
{
	uint32_t ret = nr;

	if (!hv_present())
		return HC_ENOSYS;
	if (hv_detect()->vmmcall)
		__asm__ volatile(".byte 0x0f, 0x01, 0xd9"	/* VMMCALL */
				 : "+a"(ret) : "b"(a), "c"(b), "d"(c)
				 : "memory");
	else
		__asm__ volatile(".byte 0x0f, 0x01, 0xc1"	/* VMCALL */
				 : "+a"(ret) : "b"(a), "c"(b), "d"(c)
				 : "memory");
	return (int32_t)ret;
}
