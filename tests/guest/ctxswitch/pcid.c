/* ctxswitch: process-context identifiers (long mode, CPUID PCID) and
 * INVPCID (CPUID INVPCID).
 *
 * With CR4.PCIDE = 1 each space runs with its own PCID (1-16) and the
 * switches set CR3 bit 63: the CPU may keep every space's translations
 * across the switches, so a space must never see another's. A page
 * remapped in an inactive space must be seen after one of: a switch
 * without bit 63, INVPCID individual-address, single-context, all-context
 * (with or without globals). Remapped and switched to with bit 63 and no
 * invalidation, the old frame may or may not be seen (the output says
 * which). A remapped global page must be seen after INVPCID all-context
 * with globals, may survive all-context without them.
 */
#include "tests/guest/ctxswitch/ctxswitch.h"
#include "tests/guest/lib/util.h"

#define ROUNDS		16

enum invpcid_type {
	INVPCID_ADDRESS = 0,
	INVPCID_CONTEXT = 1,
	INVPCID_ALL_GLOBAL = 2,
	INVPCID_ALL = 3,
};

static const char *const method_names[] = {
	"MOV CR3 without bit 63", "INVPCID address", "INVPCID single-context",
	"INVPCID all but global", "INVPCID all with global",
};

static bool needs_flush[NR_SPACES];
static bool have_invpcid;

static uint32_t pcid_of(unsigned i)
{
	return i + 1;
}

static void switch_pcid(unsigned i)
{
	uint64_t cr3 = spaces[i].pt.root | pcid_of(i);

	if (!needs_flush[i])
		cr3 |= CR3_NOFLUSH;
	needs_flush[i] = false;
	cur_space = i;
	cs_write_cr3((uint32_t)cr3, (uint32_t)(cr3 >> 32));
}

static void invpcid(enum invpcid_type type, unsigned space, uint32_t va)
{
	struct invpcid_desc d = { space < NR_SPACES ? pcid_of(space) : 0, va };

	cs_invpcid(type, &d);
}

/* Remap two pages of inactive space k and make it visible with method m
 * (method_names): the invalidation now, or a flushing switch later. */
static void remap_inactive(unsigned k, unsigned m, unsigned a, unsigned b)
{
	swap_pages(k, a, b);
	switch (m) {
	case 0:
		needs_flush[k] = true;
		break;
	case 1:
		invpcid(INVPCID_ADDRESS, k, win_va(a));
		invpcid(INVPCID_ADDRESS, k, win_va(b));
		break;
	case 2:
		invpcid(INVPCID_CONTEXT, k, 0);
		break;
	case 3:
		invpcid(INVPCID_ALL, NR_SPACES, 0);
		break;
	default:
		invpcid(INVPCID_ALL_GLOBAL, NR_SPACES, 0);
		break;
	}
}

static void round_robin_pcid(void)
{
	unsigned bad = 0, used[5] = { 0 }, methods = have_invpcid ? 5 : 1;
	unsigned local = 0;

	for (unsigned it = 0; it < nr_switches; it++) {
		unsigned i = it % NR_SPACES, next = (i + 1) % NR_SPACES;
		uint32_t r = xorshift32(&rng_state);
		unsigned a = r % NR_WIN, b = (a + 1 + (r >> 8) % (NR_WIN - 1)) %
					     NR_WIN;

		switch_pcid(i);
		bad += verify_space(i, it);
		if (it % 61 == 60) {
			unsigned m = (it / 61) % methods;

			remap_inactive(next, m, a, b);
			used[m]++;
		}
		if (it % 53 == 52) {
			swap_pages(i, a, b);
			invlpg(win_va(a));
			invlpg(win_va(b));
			local++;
			bad += read_tag(win_va(a)) != frame_tag(spaces[i].frame[a]);
		}
	}
	check(bad == 0, "%s: PCIDs 1-%u: %u MOV CR3 with bit 63, %u remaps in "
	      "inactive spaces, %u with INVLPG: %u wrong", mode_name,
	      NR_SPACES, nr_switches, used[0] + used[1] + used[2] + used[3] +
	      used[4], local, bad);
	for (unsigned m = 0; m < methods; m++)
		guest_printf("ctxswitch: %s:   %u remaps made visible by %s\n",
			     mode_name, used[m], method_names[m]);
}

/* Make a remapped page of the current space k visible. */
static void invalidate_page(unsigned k, uint32_t va)
{
	if (have_invpcid) {
		invpcid(INVPCID_ADDRESS, k, va);
	} else {
		needs_flush[k] = true;
		switch_pcid(k);
	}
}

/* Remap a page of space k while another space runs, switch back with bit
 * 63 and no invalidation (the old frame may be seen), then invalidate. */
static void check_stale_pcid(void)
{
	unsigned kept = 0, bad = 0, k = 3, other = 9;

	for (unsigned n = 0; n < ROUNDS; n++) {
		unsigned a = n % NR_WIN, b = (a + 5) % NR_WIN;
		uint32_t old = spaces[k].frame[a];

		switch_pcid(k);
		(void)read_tag(win_va(a));		/* cached for PCID k */
		switch_pcid(other);
		swap_pages(k, a, b);
		switch_pcid(k);
		kept += read_tag(win_va(a)) == frame_tag(old);
		invalidate_page(k, win_va(a));
		bad += read_tag(win_va(a)) != frame_tag(spaces[k].frame[a]);
		invalidate_page(k, win_va(b));
	}
	guest_printf("ctxswitch: %s: remapped while another PCID ran: the old "
		     "frame read after MOV CR3 with bit 63 in %u of %u rounds "
		     "(%s; the SDM allows both)\n", mode_name, kept, ROUNDS,
		     kept ? "kept" : "not kept");
	check(bad == 0, "%s: ... and the new frame after %s (%u rounds)",
	      mode_name, have_invpcid ? "INVPCID address" :
	      "MOV CR3 without bit 63", ROUNDS);
}

static void check_global_invpcid(void)
{
	struct pte_ref *pte = &global_pte[1];
	uint32_t va = global_va(1);
	unsigned kept = 0, bad = 0;

	write_cr4(read_cr4() | CR4_PGE);
	for (unsigned n = 0; n < ROUNDS; n++) {
		(void)read_tag(va);
		pte_set(pte, (pte_get(pte) & ~ADDR_MASK) | global_alt[1]);
		invpcid(INVPCID_ALL, NR_SPACES, 0);
		kept += read_tag(va) == frame_tag(global_frame[1]);
		invpcid(INVPCID_ALL_GLOBAL, NR_SPACES, 0);
		bad += read_tag(va) != frame_tag(global_alt[1]);
		pte_set(pte, (pte_get(pte) & ~ADDR_MASK) | global_frame[1]);
		invlpg(va);
	}
	write_cr4(read_cr4() & ~CR4_PGE);
	guest_printf("ctxswitch: %s: a remapped global page read its old frame "
		     "after INVPCID all-but-global in %u of %u rounds (the SDM "
		     "allows both)\n", mode_name, kept, ROUNDS);
	check(bad == 0, "%s: remapped global page seen after INVPCID "
	      "all-with-global (%u rounds)", mode_name, ROUNDS);
}

void run_pcid(void)
{
	have_invpcid = cpu_has_invpcid();
	if (!cpu_has_pcid()) {
		guest_printf("ctxswitch: skipped: no PCID%s\n", have_invpcid ?
			     "" : ", no INVPCID");
		return;
	}
	if (!have_invpcid)
		guest_printf("ctxswitch: skipped: no INVPCID\n");
	memset(needs_flush, 0, sizeof(needs_flush));
	write_cr3(spaces[cur_space].pt.root);	/* CR3[11:0] = 0 */
	write_cr4(read_cr4() | CR4_PCIDE);
	if (!check(read_cr4() & CR4_PCIDE, "%s: CR4.PCIDE set", mode_name))
		return;
	for (unsigned i = 0; i < NR_SPACES; i++)
		needs_flush[i] = true;		/* first use of each PCID */
	round_robin_pcid();
	check_stale_pcid();
	if (have_invpcid)
		check_global_invpcid();
	cs_write_cr3(spaces[0].pt.root, 0);	/* PCID 0, flushing */
	cur_space = 0;
	write_cr4(read_cr4() & ~CR4_PCIDE);
	check(!(read_cr4() & CR4_PCIDE), "%s: CR4.PCIDE clear again",
	      mode_name);
}
