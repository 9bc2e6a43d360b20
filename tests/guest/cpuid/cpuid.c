/* cpuid: what the CPU says about itself, and MSR access.
 *
 * Every run: the vendor string, leaf 1 family/model and the features the
 * runtime relies on, the maximum basic and extended leaves; EFER, PAT and
 * the TSC MSR; RDMSR at CPL 3 raises #GP(0); RDMSR and WRMSR of an MSR
 * that exists nowhere (UNKNOWN_MSR) raise #GP(0).
 *
 * Under the hypervisor (signature found): VMX and SVM are hidden, the
 * hypervisor bit is set, leaves 0x40000000/1 give the signature and the ABI
 * version, and the hypercalls NOP, VCPU_ID and an unknown number answer as
 * virt/hypercall.h says.
 *
 * Bare QEMU TCG (signature "TCGTCGTCGTCG") reads an unknown MSR as 0 and
 * ignores a write to it, without #GP, and reads IA32_TSC as 0: accepted
 * there only, and printed.
 */
#include "tests/guest/lib/guest.h"
#include "tests/guest/lib/util.h"

const char guest_name[] = "cpuid";

#define UNKNOWN_MSR	0x00001234u
#define CPUID1_ECX_VMX	(1u << 5)
#define CPUID1_ECX_HV	(1u << 31)
#define EXT1_ECX_SVM	(1u << 2)

static void check_basics(void)
{
	struct cpuid_regs l0 = cpuid(0, 0), l1, e0;
	uint32_t family, model, need_edx;
	char vendor[13];

	cpu_vendor(vendor);
	check(!strcmp(vendor, "GenuineIntel") || !strcmp(vendor, "AuthenticAMD"),
	      "vendor '%s' is GenuineIntel or AuthenticAMD", vendor);
	check(l0.eax >= 1 && l0.eax < 0x100,
	      "max basic leaf 0x%x in [1, 0xff]", l0.eax);

	l1 = cpuid(1, 0);
	family = l1.eax >> 8 & 0xf;
	model = l1.eax >> 4 & 0xf;
	if (family == 0xf)
		family += l1.eax >> 20 & 0xff;
	if (family >= 6)
		model |= (l1.eax >> 16 & 0xf) << 4;
	check(family >= 6, "leaf 1: family 0x%x model 0x%x stepping %u "
	      "(family >= 6: a 64-bit CPU)", family, model, l1.eax & 0xf);
	/* FPU, PSE, TSC, MSR, PAE, CX8: what this runtime uses. */
	need_edx = 1u << 0 | 1u << 3 | 1u << 4 | 1u << 5 | 1u << 6 | 1u << 8;
	check((l1.edx & need_edx) == need_edx,
	      "leaf 1 EDX 0x%08x has FPU PSE TSC MSR PAE CX8", l1.edx);

	e0 = cpuid(0x80000000u, 0);
	check(e0.eax >= 0x80000001u && e0.eax < 0x80000100u,
	      "max extended leaf 0x%x in [0x80000001, 0x800000ff]", e0.eax);
	check(cpu_has_long_mode(), "0x80000001 EDX: long mode");
	guest_printf("cpuid: NX %s, 1G pages %s, %u physical address bits\n",
		     cpu_has_nx() ? "yes" : "no",
		     cpu_has_1g_pages() ? "yes" : "no", cpu_phys_addr_bits());
}

static void check_hypervisor(void)
{
	const struct hv_info *hv = hv_detect();
	struct cpuid_regs l1 = cpuid(1, 0), e1 = cpuid(0x80000001u, 0);

	guest_printf("cpuid: CPUID.1:ECX[31] = %u, leaf 0x40000000 "
		     "signature '%s': %s\n", hv->hv_bit, hv->signature,
		     platform_name());
	if (!hv->present) {
		guest_printf("cpuid: no hypervisor: skipping hypervisor checks\n");
		return;
	}
	check(l1.ecx & CPUID1_ECX_HV, "hypervisor bit set");
	check(!(l1.ecx & CPUID1_ECX_VMX), "VMX hidden (leaf 1 ECX bit 5 clear)");
	check(!(e1.ecx & EXT1_ECX_SVM),
	      "SVM hidden (0x80000001 ECX bit 2 clear)");
	check(hv->max_leaf >= HV_CPUID_FEATURES,
	      "leaf 0x40000000: max leaf 0x%x >= 0x%x", hv->max_leaf,
	      HV_CPUID_FEATURES);
	check(hv->abi_version == HV_ABI_VERSION,
	      "leaf 0x40000001: ABI version %u == %u", hv->abi_version,
	      HV_ABI_VERSION);
	check(hypercall(HC_NOP, 0, 0, 0) == HC_OK, "hypercall NOP: HC_OK");
	check(hypercall(HC_VCPU_ID, 0, 0, 0) == 0, "hypercall VCPU_ID: 0");
	check(hypercall(HC_COUNT, 0, 0, 0) == HC_ENOSYS,
	      "hypercall %u (unknown): HC_ENOSYS", HC_COUNT);
}

static uint64_t msr_value;

static void do_rdmsr(void *msr)
{
	msr_value = rdmsr((uint32_t)msr);
}

static void do_wrmsr(void *msr)
{
	wrmsr((uint32_t)msr, msr_value);
}

static bool is_gp0(const struct fault_info *fi)
{
	return fi->faulted && fi->vector == EXC_GP && fi->error_code == 0;
}

static void describe(char *buf, size_t size, const struct fault_info *fi)
{
	if (fi->faulted)
		guest_snprintf(buf, size, "%s(%u) at %x:%llx",
			       exception_name(fi->vector), fi->error_code,
			       fi->cs, fi->ip);
	else
		guest_snprintf(buf, size, "no fault");
}

/* RDMSR/WRMSR of an MSR that no CPU has: #GP(0). */
static void check_unknown_msr(void)
{
	struct fault_info fi;
	bool tcg = hv_detect()->tcg && !hv_present();
	char what[64];

	msr_value = 0x5a5a5a5a;
	expect_fault(do_rdmsr, (void *)UNKNOWN_MSR, &fi);
	describe(what, sizeof(what), &fi);
	if (!fi.faulted && tcg)
		guest_printf("cpuid: rdmsr 0x%x: no fault, read 0x%llx "
			     "(QEMU TCG deviation: unknown MSRs read 0, "
			     "accepted on bare TCG only)\n", UNKNOWN_MSR,
			     msr_value);
	else
		check(is_gp0(&fi), "rdmsr 0x%x: %s, want #GP(0)", UNKNOWN_MSR,
		      what);

	msr_value = 1;
	expect_fault(do_wrmsr, (void *)UNKNOWN_MSR, &fi);
	describe(what, sizeof(what), &fi);
	if (!fi.faulted && tcg)
		guest_printf("cpuid: wrmsr 0x%x: no fault (QEMU TCG deviation: "
			     "writes to unknown MSRs are ignored, accepted on "
			     "bare TCG only)\n", UNKNOWN_MSR);
	else
		check(is_gp0(&fi), "wrmsr 0x%x: %s, want #GP(0)", UNKNOWN_MSR,
		      what);
}

static void check_msrs(void)
{
	uint64_t efer = rdmsr(MSR_EFER), pat = rdmsr(MSR_PAT), t0, tsc, t1;
	struct fault_info fi;
	char what[64];

	check(!(efer & (EFER_LME | EFER_LMA)),
	      "EFER 0x%llx: LME and LMA clear at entry", efer);
	if (cpu_has_nx()) {
		wrmsr(MSR_EFER, efer | EFER_NXE);
		check(rdmsr(MSR_EFER) & EFER_NXE, "EFER.NXE set: reads back");
		wrmsr(MSR_EFER, efer);
		check(rdmsr(MSR_EFER) == efer, "EFER restored to 0x%llx", efer);
	}
	check(pat == PAT_RESET_VALUE, "PAT 0x%016llx is the reset value", pat);

	t0 = rdtsc();
	tsc = rdmsr(MSR_TSC);
	t1 = rdtsc();
	if (tsc == 0 && hv_detect()->tcg && !hv_present())
		guest_printf("cpuid: TSC MSR reads 0 (QEMU TCG deviation: "
			     "IA32_TSC is not implemented, accepted on bare "
			     "TCG only)\n");
	else
		check(t0 <= tsc && tsc <= t1, "TSC MSR between two RDTSCs "
		      "(%llu <= %llu <= %llu)", t0, tsc, t1);

	/* The privilege check comes before any MSR lookup: everywhere. */
	expect_fault_user(do_rdmsr, (void *)MSR_EFER, &fi);
	describe(what, sizeof(what), &fi);
	check(is_gp0(&fi) && (fi.cs & 3) == 3,
	      "rdmsr EFER at CPL 3: %s, want #GP(0)", what);

	check_unknown_msr();
}

bool guest_test(uint32_t magic, const struct mb1_info *info)
{
	(void)magic, (void)info;
	guest_printf("cpuid: platform: %s\n", platform_name());
	check_basics();
	check_hypervisor();
	check_msrs();
	return boot.magic_ok;
}
