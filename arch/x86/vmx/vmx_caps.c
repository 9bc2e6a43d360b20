/*
 * VMX capabilities: parse the IA32_VMX_* MSRs, describe them in one line,
 * and decide whether IA32_FEATURE_CONTROL and CR0/CR4 allow VMXON.
 * Portable: no hardware access (MSRs come through a reader callback), so
 * tests/host/test_vmx_caps.c runs it with the values of real CPUs.
 */
#include "arch/x86/vmx/vmx.h"
#include "kernel/printk.h"
#include "virt/feature_list.h"

static struct vmx_ctl_caps ctl_caps(uint64_t msr_value)
{
	return (struct vmx_ctl_caps){
		.must_be_one = (uint32_t)msr_value,
		.may_be_one = (uint32_t)(msr_value >> 32),
	};
}

static void parse_basic(struct vmx_caps *caps, uint64_t basic)
{
	caps->vmcs_revision = (uint32_t)(basic & VMX_BASIC_REVISION_MASK);
	caps->vmcs_region_size = (uint32_t)((basic >> VMX_BASIC_REGION_SIZE_SHIFT)
					    & VMX_BASIC_REGION_SIZE_MASK);
	caps->vmcs_memtype = (unsigned)((basic >> VMX_BASIC_MEMTYPE_SHIFT)
					& VMX_BASIC_MEMTYPE_MASK);
	caps->region_addr_32bit = basic & VMX_BASIC_ADDR_32BIT;
	caps->true_ctls = basic & VMX_BASIC_TRUE_CTLS;
}

/*
 * The TRUE_* MSRs report the same may-be-one bits but clear some of the
 * "default1" must-be-one bits the older MSRs report (SDM A.2): read them
 * when they exist, so later code can clear those controls.
 */
static void read_controls(struct vmx_caps *caps, vmx_msr_reader read_msr,
			  void *ctx)
{
	bool t = caps->true_ctls;

	caps->pin = ctl_caps(read_msr(t ? MSR_IA32_VMX_TRUE_PINBASED_CTLS
					: MSR_IA32_VMX_PINBASED_CTLS, ctx));
	caps->proc = ctl_caps(read_msr(t ? MSR_IA32_VMX_TRUE_PROCBASED_CTLS
					 : MSR_IA32_VMX_PROCBASED_CTLS, ctx));
	caps->exit = ctl_caps(read_msr(t ? MSR_IA32_VMX_TRUE_EXIT_CTLS
					 : MSR_IA32_VMX_EXIT_CTLS, ctx));
	caps->entry = ctl_caps(read_msr(t ? MSR_IA32_VMX_TRUE_ENTRY_CTLS
					  : MSR_IA32_VMX_ENTRY_CTLS, ctx));
	caps->proc2 = (struct vmx_ctl_caps){ 0, 0 };
	if (caps->proc.may_be_one & VMX_PROC_ACTIVATE_SECONDARY)
		caps->proc2 = ctl_caps(read_msr(MSR_IA32_VMX_PROCBASED_CTLS2,
						ctx));
	caps->ept = caps->proc2.may_be_one & VMX_PROC2_EPT;
	caps->vpid = caps->proc2.may_be_one & VMX_PROC2_VPID;
	caps->unrestricted_guest =
		caps->proc2.may_be_one & VMX_PROC2_UNRESTRICTED_GUEST;
}

/* EPT bits mean nothing without EPT, INVVPID bits nothing without VPID. */
static void parse_ept_vpid_cap(struct vmx_caps *caps, uint64_t cap)
{
	uint64_t ept = caps->ept ? cap : 0;
	uint64_t vpid = caps->vpid ? cap : 0;

	caps->ept_vpid_cap = cap;
	caps->ept_exec_only = ept & VMX_EPT_EXEC_ONLY;
	caps->ept_walk_4 = ept & VMX_EPT_WALK_4;
	caps->ept_walk_5 = ept & VMX_EPT_WALK_5;
	caps->ept_uc = ept & VMX_EPT_MEMTYPE_UC;
	caps->ept_wb = ept & VMX_EPT_MEMTYPE_WB;
	caps->ept_2m = ept & VMX_EPT_PAGE_2M;
	caps->ept_1g = ept & VMX_EPT_PAGE_1G;
	caps->ept_ad = ept & VMX_EPT_AD_BITS;
	caps->invept = ept & VMX_EPT_INVEPT;
	caps->invept_single = caps->invept && (ept & VMX_EPT_INVEPT_SINGLE);
	caps->invept_all = caps->invept && (ept & VMX_EPT_INVEPT_ALL);
	caps->invvpid = vpid & VMX_VPID_INVVPID;
	caps->invvpid_addr = caps->invvpid && (vpid & VMX_VPID_INVVPID_ADDR);
	caps->invvpid_single = caps->invvpid &&
			       (vpid & VMX_VPID_INVVPID_SINGLE);
	caps->invvpid_all = caps->invvpid && (vpid & VMX_VPID_INVVPID_ALL);
	caps->invvpid_single_globals =
		caps->invvpid && (vpid & VMX_VPID_INVVPID_SINGLE_GLOBALS);
}

void vmx_caps_read(struct vmx_caps *caps, vmx_msr_reader read_msr, void *ctx)
{
	parse_basic(caps, read_msr(MSR_IA32_VMX_BASIC, ctx));
	read_controls(caps, read_msr, ctx);
	caps->misc = read_msr(MSR_IA32_VMX_MISC, ctx);
	caps->cr0_fixed0 = read_msr(MSR_IA32_VMX_CR0_FIXED0, ctx);
	caps->cr0_fixed1 = read_msr(MSR_IA32_VMX_CR0_FIXED1, ctx);
	caps->cr4_fixed0 = read_msr(MSR_IA32_VMX_CR4_FIXED0, ctx);
	caps->cr4_fixed1 = read_msr(MSR_IA32_VMX_CR4_FIXED1, ctx);
	/* SDM A.10: the MSR exists only if EPT or VPID may be enabled. */
	parse_ept_vpid_cap(caps, caps->ept || caps->vpid
			   ? read_msr(MSR_IA32_VMX_EPT_VPID_CAP, ctx) : 0);
}

/* "single+all": the names of the set flags joined by '+'. */
static const char *plus_list(char *buf, size_t size, const bool *flags,
			     const char *const *names, unsigned count)
{
	size_t len = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < count; i++)
		if (flags[i] && len < size)
			len += snprintf(buf + len, size - len, "%s%s",
					len ? "+" : "", names[i]);
	return buf;
}

static void format_ept(const struct vmx_caps *caps, struct feature_list *fl)
{
	static const char *const invept_names[] = { "single", "all" };
	const bool invept_flags[] = { caps->invept_single, caps->invept_all };
	char kinds[32];

	if (!caps->ept) {
		feature_list_add(fl, "no EPT");
		return;
	}
	feature_list_add(fl, "EPT%s%s%s%s%s%s%s",
			 caps->ept_walk_4 ? " 4-level" : "",
			 caps->ept_walk_5 ? " 5-level" : "",
			 caps->ept_wb ? " WB" : "",
			 caps->ept_uc && !caps->ept_wb ? " UC" : "",
			 caps->ept_2m ? " 2M" : "",
			 caps->ept_1g ? " 1G" : "",
			 caps->ept_ad ? " A/D" : "");
	if (!caps->invept)
		feature_list_add(fl, "no INVEPT");
	else
		feature_list_add(fl, "INVEPT %s",
				 plus_list(kinds, sizeof(kinds), invept_flags,
					   invept_names, 2));
}

static void format_vpid(const struct vmx_caps *caps, struct feature_list *fl)
{
	static const char *const invvpid_names[] = {
		"addr", "single", "all", "single-globals",
	};
	const bool invvpid_flags[] = {
		caps->invvpid_addr, caps->invvpid_single, caps->invvpid_all,
		caps->invvpid_single_globals,
	};
	char kinds[48];

	if (!caps->vpid) {
		feature_list_add(fl, "no VPID");
		return;
	}
	feature_list_add(fl, "VPID");
	if (!caps->invvpid)
		feature_list_add(fl, "no INVVPID");
	else
		feature_list_add(fl, "INVVPID %s",
				 plus_list(kinds, sizeof(kinds), invvpid_flags,
					   invvpid_names, 4));
}

size_t vmx_caps_format(const struct vmx_caps *caps, char *buf, size_t size)
{
	struct feature_list fl;

	feature_list_init(&fl, buf, size);
	feature_list_add(&fl, "VMCS rev 0x%x", caps->vmcs_revision);
	if (caps->vmcs_memtype != VMX_MEMTYPE_WB)
		feature_list_add(&fl, "VMCS memory type %u",
				 caps->vmcs_memtype);
	if (caps->true_ctls)
		feature_list_add(&fl, "TRUE controls");
	format_ept(caps, &fl);
	format_vpid(caps, &fl);
	feature_list_add(&fl, caps->unrestricted_guest ? "unrestricted guest"
						      : "no unrestricted guest");
	return fl.len;
}

enum vmx_feature_control vmx_feature_control_check(uint64_t fc, char *why,
						   size_t why_size)
{
	if (!(fc & FEATURE_CONTROL_LOCK))
		return VMX_FC_UNLOCKED;
	if (fc & FEATURE_CONTROL_VMX_OUTSIDE_SMX)
		return VMX_FC_READY;
	snprintf(why, why_size,
		 "Intel VT-x is disabled by the firmware (IA32_FEATURE_CONTROL "
		 "is locked with VMX off); enable 'Intel Virtualization "
		 "Technology' (VT-x) in the firmware setup");
	return VMX_FC_DISABLED;
}

uint64_t vmx_feature_control_enable(uint64_t fc)
{
	return fc | FEATURE_CONTROL_VMX_OUTSIDE_SMX | FEATURE_CONTROL_LOCK;
}

bool vmx_fixed_cr_value(const char *cr_name, uint64_t cur, uint64_t want_set,
			uint64_t may_set, uint64_t fixed0, uint64_t fixed1,
			uint64_t *out, char *why, size_t why_size)
{
	uint64_t value = cur | want_set | (fixed0 & may_set);
	uint64_t missing = fixed0 & ~value;	/* must be 1, are 0 */
	uint64_t forbidden = value & ~fixed1;	/* must be 0, are 1 */

	if (missing) {
		snprintf(why, why_size,
			 "VMX needs %s bits 0x%lx set (IA32_VMX_%s_FIXED0), "
			 "which hv does not change", cr_name,
			 (unsigned long)missing, cr_name);
		return false;
	}
	if (forbidden) {
		snprintf(why, why_size,
			 "VMX needs %s bits 0x%lx clear (IA32_VMX_%s_FIXED1), "
			 "which hv %s", cr_name, (unsigned long)forbidden,
			 cr_name, (forbidden & want_set) ? "needs set"
							  : "does not change");
		return false;
	}
	*out = value;
	return true;
}
