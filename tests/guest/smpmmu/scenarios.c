/* smpmmu: the scenarios. Each runs on every vCPU at once through
 * run_job(): vCPU 0 drives it (its part is the *_main function), the
 * others run the *_ap function. With one vCPU (bare QEMU) each scenario
 * runs vCPU 0's part alone, which still checks what one CPU must see. */
#include "tests/guest/smpmmu/smpmmu.h"

#define A_D		((uint32_t)(PTE_A | PTE_D))
#define P_W		((uint32_t)(PTE_P | PTE_W))

static uint32_t pt_s, pt_c, pt_d, pt_f, pt_o, t_page;
uint32_t pd_win;

/* Rounds the running part started (fewer than asked when it stopped at
 * an error). */
static uint32_t rounds_run;

static uint32_t sum_counts(const uint32_t *v, unsigned stride_words)
{
	uint32_t s = 0;

	for (unsigned i = 0; i < ncpus; i++)
		s += v[i * stride_words];
	return s;
}

static volatile uint32_t *word_at(uint32_t va)
{
	return (volatile uint32_t *)va;
}

/* INVLPG va, or (one time in "every") load CR3; true for CR3. */
static bool flush_one(struct cpu *c, uint32_t va, unsigned every)
{
	if (rnd(c) % every == 0) {
		reload_cr3();
		return true;
	}
	invlpg(va);
	return false;
}

/* ======================================================================
 * 1. Remap under readers. vCPU 0 points the PTE of VA_R at another of
 * four pages (each with its own pattern), then runs a guest shootdown:
 * a new generation in shared memory; each other vCPU sees it, flushes
 * (INVLPG, or one time in eight a CR3 reload), reads through VA_R (which
 * must be the new page) and acknowledges. Between two generations the
 * readers read VA_R all the time: after their acknowledgement only the
 * current page is right, or the next one once vCPU 0 has announced that
 * it is writing the PTE. The old page after the acknowledgement is a
 * missed or late shootdown (or a stale shadow entry).
 * ====================================================================== */
#define R_PAGES		4

static uint32_t r_frames[R_PAGES];
static volatile uint32_t r_gen, r_writing, r_stop;
static volatile uint32_t r_ring[4];	/* page of generation g: [g & 3] */
static volatile uint32_t r_acks[MAX_CPUS], r_first[MAX_CPUS];
static struct {
	uint32_t reads, invlpgs, cr3s, pad[5];
} r_stats[MAX_CPUS];
static unsigned r_rounds;

static uint32_t r_tag(uint32_t page)
{
	return 0x5100 + page;
}

static void r_reader(struct cpu *c)
{
	unsigned i = c->index;
	uint32_t seen = 0;

	while (!load_acq(&r_stop) && !abort_all) {
		uint32_t g = load_acq(&r_gen), w = rnd(c) & 1023, v, want;

		if (g != seen) {
			if (flush_one(c, VA_R, 8))
				r_stats[i].cr3s++;
			else
				r_stats[i].invlpgs++;
			v = *word_at(VA_R + w * 4);
			want = pattern(r_tag(r_ring[g & 3]), w);
			r_first[i] = v;
			if (v != want)
				cpu_error(c, "remap %u: first read after the "
					  "flush: 0x%x, want 0x%x", g, v, want);
			seen = g;
			store_rel(&r_acks[i], g);
			continue;
		}
		v = *word_at(VA_R + w * 4);
		r_stats[i].reads++;
		if (v == pattern(r_tag(r_ring[seen & 3]), w))
			continue;
		if (load_acq(&r_writing) == seen + 1 &&
		    v == pattern(r_tag(r_ring[(seen + 1) & 3]), w))
			continue;
		cpu_error(c, "remap %u: read 0x%x after the acknowledgement, "
			  "want 0x%x (page %u)", seen, v,
			  pattern(r_tag(r_ring[seen & 3]), w), r_ring[seen & 3]);
	}
}

static void r_main(struct cpu *c)
{
	volatile uint32_t *pte = pte_lo(pt_s, VA_R >> 12 & 511);
	uint32_t cur = 0;

	for (uint32_t g = 1; g <= r_rounds && !abort_all; g++) {
		uint32_t p = (cur + 1 + rnd(c) % (R_PAGES - 1)) % R_PAGES;
		uint32_t w = rnd(c) & 1023, v;

		rounds_run = g;
		r_ring[g & 3] = p;
		store_rel(&r_writing, g);
		pte_store(c, pte, r_frames[p] | P_W);
		if (flush_one(c, VA_R, 8))
			r_stats[0].cr3s++;
		else
			r_stats[0].invlpgs++;
		v = *word_at(VA_R + w * 4);
		if (v != pattern(r_tag(p), w))
			cpu_error(c, "remap %u: own read after the flush: 0x%x, "
				  "want 0x%x", g, v, pattern(r_tag(p), w));
		store_rel(&r_gen, g);
		if (!wait_acks(c, r_acks, g, "remap acknowledgements"))
			break;
		for (unsigned i = 1; i < ncpus; i++)
			if (r_first[i] >> 16 != r_tag(p))
				cpu_error(c, "remap %u: vCPU %u read 0x%x through "
					  "the address after its flush, want page "
					  "%u", g, i, r_first[i], p);
		cur = p;
	}
	store_rel(&r_stop, 1);
}

bool remap_under_readers(unsigned rounds)
{
	uint32_t errors, reads, invlpgs, cr3s;

	r_rounds = rounds;
	rounds_run = 0;
	run_job(r_reader, r_main);
	errors = report_errors("remap under readers");
	reads = sum_counts(&r_stats[0].reads, 8);
	invlpgs = sum_counts(&r_stats[0].invlpgs, 8);
	cr3s = sum_counts(&r_stats[0].cr3s, 8);
	if (ncpus == 1)
		guest_printf("smpmmu: remap under readers: no other vCPU: "
			     "skipped: no hypervisor to start vCPUs\n");
	guest_printf("smpmmu: remap under readers: %u remaps by vCPU 0, %u "
		     "reader%s, %u acknowledged flushes (%u INVLPG, %u CR3 "
		     "loads)\n", rounds_run, ncpus - 1, ncpus == 2 ? "" : "s",
		     rounds_run * (ncpus - 1), invlpgs, cr3s);
	return check(errors == 0 && !abort_all,
		     "remap under readers: %u reads checked, after each "
		     "acknowledgement only the new page", reads);
}

/* ======================================================================
 * 2. Write protection under writers. The other vCPUs write their own
 * slots of the page at VA_W all the time. vCPU 0 clears R/W in its PTE,
 * flushes, checks that its own write faults, and runs the guest
 * shootdown: each writer INVLPGs and acknowledges with the last value it
 * wrote. After all acknowledgements every slot must hold exactly that
 * value (no write lost, none landed after), every writer's next write
 * must fault with error code 0x3 and CR2 its slot (the #PF handler
 * records it and waits for R/W to come back, acknowledging meanwhile),
 * and after all of them have faulted the slots must still be as they
 * were. Then vCPU 0 sets R/W again and the writes go on.
 * ====================================================================== */
static uint32_t w_frame;
static volatile uint32_t w_gen, w_round, w_stop;
static volatile uint32_t w_acks[MAX_CPUS];
static unsigned w_rounds;

static uint32_t w_slot_off(unsigned i)
{
	return i * 64;
}

static void w_poll_ack(struct cpu *c)
{
	uint32_t g = load_acq(&w_gen);

	if (g == c->wp_seen)
		return;
	invlpg(VA_W);
	c->wp_acked_value = c->wp_last_written;
	c->wp_seen = g;
	store_rel(&w_acks[c->index], g);
}

/* The #PF handler's part (smp_pf): a write to VA_W while R/W is clear. */
uint32_t wp_fault(struct cpu *c, uint32_t cr2, uint32_t err)
{
	volatile uint32_t *pte = pte_lo(pt_s, VA_W >> 12 & 511);
	uint32_t round = load_acq(&w_round);

	if (*pte & PTE_W) {
		c->wp_spurious++;
		return 1;
	}
	c->wp_faults++;
	store_rel(&c->wp_fault_round, round);
	if (err != (PF_P | PF_W) || cr2 != VA_W + w_slot_off(c->index))
		cpu_error(c, "write-protect round %u: #PF err 0x%x cr2 0x%x, "
			  "want err 0x3 cr2 0x%x", round, err, cr2,
			  VA_W + w_slot_off(c->index));
	for (uint32_t spins = 0; !(*pte & PTE_W); spins++) {
		w_poll_ack(c);
		if (abort_all || spins == SPIN_LIMIT) {
			if (!abort_all)
				cpu_error(c, "write-protect round %u: R/W never "
					  "came back", round);
			store_rel(&abort_all, 1);
			lock_bts(pte, 1);
			invlpg(VA_W);
			break;
		}
		cpu_relax();
	}
	return 1;
}

static void w_writer(struct cpu *c)
{
	volatile uint32_t *slot = word_at(VA_W + w_slot_off(c->index));
	uint32_t v = c->index << 24;

	c->wp_seen = 0;
	c->wp_mode = 1;
	while (!load_acq(&w_stop) && !abort_all) {
		*slot = ++v;		/* faults while R/W is clear */
		c->wp_last_written = v;
		c->wp_writes++;
		w_poll_ack(c);
	}
	c->wp_mode = 0;
}

static void w_main(struct cpu *c)
{
	volatile uint32_t *pte = pte_lo(pt_s, VA_W >> 12 & 511);
	volatile uint32_t *mem = word_at(w_frame);	/* the identity map */
	uint32_t snap[MAX_CPUS], before[MAX_CPUS];

	for (uint32_t g = 1; g <= w_rounds && !abort_all; g++) {
		uint32_t own = VA_W + w_slot_off(0);

		rounds_run = g;
		/* The writers are writing (with a writable translation). */
		for (unsigned i = 1; i < ncpus; i++)
			before[i] = cpus[i].wp_writes;
		for (unsigned i = 1; i < ncpus && !abort_all; i++)
			for (uint32_t s = 0; cpus[i].wp_writes - before[i] < 8;
			     s++) {
				if (s == SPIN_LIMIT) {
					cpu_error(c, "write-protect round %u: "
						  "vCPU %u does not write", g, i);
					store_rel(&abort_all, 1);
					break;
				}
				cpu_relax();
			}
		store_rel(&w_round, g);
		switch (rnd(c) % 3) {
		case 0:
			lock_btr(pte, 1);
			break;
		case 1:
			__atomic_fetch_and(pte, ~(uint32_t)PTE_W,
					   __ATOMIC_SEQ_CST);
			break;
		default:
			pte_store(c, pte, *pte & ~(uint32_t)PTE_W);
			break;
		}
		flush_one(c, VA_W, 8);
		c->probe_faulted = 0;
		probe_write(own, 0xdead0000 | g);
		if (!c->probe_faulted || c->pf_err != (PF_P | PF_W) ||
		    c->pf_cr2 != own)
			cpu_error(c, "write-protect round %u: own write: %s err "
				  "0x%x cr2 0x%x, want #PF err 0x3 cr2 0x%x", g,
				  c->probe_faulted ? "#PF" : "no fault",
				  c->pf_err, c->pf_cr2, own);
		store_rel(&w_gen, g);
		if (!wait_acks(c, w_acks, g, "write-protect acknowledgements"))
			break;
		for (unsigned i = 1; i < ncpus; i++) {
			snap[i] = mem[w_slot_off(i) / 4];
			if (snap[i] != cpus[i].wp_acked_value)
				cpu_error(c, "write-protect round %u: vCPU %u's "
					  "slot 0x%x after its acknowledgement, "
					  "its last write 0x%x", g, i, snap[i],
					  cpus[i].wp_acked_value);
		}
		for (unsigned i = 1; i < ncpus; i++)
			if (!wait_eq(c, &cpus[i].wp_fault_round, g,
				     "a writer's fault"))
				break;
		for (unsigned s = 0; s < 2000; s++)
			cpu_relax();
		for (unsigned i = 1; i < ncpus; i++)
			if (mem[w_slot_off(i) / 4] != snap[i])
				cpu_error(c, "write-protect round %u: vCPU %u "
					  "wrote 0x%x after its acknowledgement "
					  "(was 0x%x): a write through a stale "
					  "writable translation", g, i,
					  mem[w_slot_off(i) / 4], snap[i]);
		if (mem[0] == (0xdead0000 | g))
			cpu_error(c, "write-protect round %u: own faulting "
				  "write landed", g);
		if (rnd(c) & 1)
			lock_bts(pte, 1);
		else
			pte_store(c, pte, *pte | PTE_W);
	}
	store_rel(&w_stop, 1);
}

bool wp_under_writers(unsigned rounds)
{
	uint32_t errors, faults = 0, spurious = 0, writes = 0;
	bool counts_ok = true;

	w_rounds = rounds;
	rounds_run = 0;
	run_job(w_writer, w_main);
	for (unsigned i = 1; i < ncpus; i++) {
		faults += cpus[i].wp_faults;
		spurious += cpus[i].wp_spurious;
		writes += cpus[i].wp_writes;
		if (cpus[i].wp_faults != rounds) {
			guest_printf("smpmmu: write protection: vCPU %u took %u "
				     "faults, want %u\n", i, cpus[i].wp_faults,
				     rounds);
			counts_ok = false;
		}
	}
	errors = report_errors("write protection under writers");
	if (ncpus == 1)
		guest_printf("smpmmu: write protection under writers: no other "
			     "vCPU: skipped: no hypervisor to start vCPUs\n");
	guest_printf("smpmmu: write protection under writers: %u rounds, "
		     "vCPU 0's own write faulted in each; %u writer%s, %u "
		     "writes, %u spurious faults (allowed)\n", rounds_run,
		     ncpus - 1,
		     ncpus == 2 ? "" : "s", writes, spurious);
	return check(errors == 0 && counts_ok && !abort_all,
		     "write protection under writers: %u faults (one per writer "
		     "and round, err 0x3, CR2 the slot), no write after the "
		     "acknowledgement", faults);
}

/* ======================================================================
 * 3a. Concurrent PTE writes: every vCPU maps and unmaps its own 8
 * entries of one shared page table (PT_C) with its own 8 frames, storing
 * with MOV, XCHG or LOCK CMPXCHG, flushes with INVLPG (or a CR3 load), and
 * reads through the entry: the frame it mapped, and after a write A and D
 * in the PTE; a cleared entry must fault as not present.
 * ====================================================================== */
#define C_PER_CPU	8
#define C_FRAMES	8

static uint32_t c_frames[MAX_CPUS][C_FRAMES];
static struct {
	uint32_t maps, unmaps, reads, dchecks, npf, cr3s, pad[2];
} c_stats[MAX_CPUS];
static unsigned c_iters;

static uint32_t c_tag(unsigned cpu, unsigned f)
{
	return 0x3000 + cpu * 16 + f;
}

static void c_run(struct cpu *c)
{
	unsigned i = c->index;

	for (unsigned it = 0; it < c_iters && !abort_all; it++) {
		unsigned idx = i * C_PER_CPU + rnd(c) % C_PER_CPU;
		uint32_t va = PDE_VA(PDE_C) + idx * 4096, f = rnd(c) % C_FRAMES;
		volatile uint32_t *pte = pte_lo(pt_c, idx);
		bool map = rnd(c) % 4 != 0;
		uint32_t v = map ? c_frames[i][f] | P_W | (rnd(c) % 4 ? 0 : A_D)
				 : 0;
		uint32_t w = rnd(c) & 1023, got;

		pte_store(c, pte, v);
		if (flush_one(c, va, 16))
			c_stats[i].cr3s++;
		if (!map) {
			c_stats[i].unmaps++;
			c->probe_faulted = 0;
			got = probe_read(va + w * 4);
			if (!c->probe_faulted || c->pf_err != 0 ||
			    c->pf_cr2 != va + w * 4)
				cpu_error(c, "entry %u cleared: read of 0x%x: %s "
					  "(0x%x) err 0x%x cr2 0x%x, want #PF err "
					  "0x0", idx, va + w * 4,
					  c->probe_faulted ? "#PF" : "no fault",
					  got, c->pf_err, c->pf_cr2);
			else
				c_stats[i].npf++;
			continue;
		}
		c_stats[i].maps++;
		got = *word_at(va + w * 4);
		c_stats[i].reads++;
		if (got != pattern(c_tag(i, f), w))
			cpu_error(c, "entry %u mapped to frame 0x%x: read 0x%x, "
				  "want 0x%x", idx, c_frames[i][f], got,
				  pattern(c_tag(i, f), w));
		w = rnd(c) & 1023;
		*word_at(va + w * 4) = pattern(c_tag(i, f), w);
		got = *pte;
		c_stats[i].dchecks++;
		if ((got & (PTE_ADDR32 | P_W | A_D)) != (c_frames[i][f] | P_W |
							A_D))
			cpu_error(c, "entry %u after a read and a write through "
				  "it: 0x%x, want 0x%x (A and D set)", idx, got,
				  c_frames[i][f] | P_W | A_D);
	}
}

bool concurrent_pte_writes(unsigned iters)
{
	uint32_t errors;

	c_iters = iters;
	run_job(c_run, c_run);
	errors = report_errors("concurrent PTE writes");
	guest_printf("smpmmu: concurrent PTE writes: %u vCPU%s x %u remaps of "
		     "their own entries in one table page (%u done), %u "
		     "flushes by CR3 loads\n", ncpus, ncpus == 1 ? "" : "s",
		     iters, sum_counts(&c_stats[0].maps, 8) +
		     sum_counts(&c_stats[0].unmaps, 8),
		     sum_counts(&c_stats[0].cr3s, 8));
	return check(errors == 0 && !abort_all,
		     "concurrent PTE writes: %u reads of the frame mapped, %u "
		     "PTEs with A and D, %u not-present faults",
		     sum_counts(&c_stats[0].reads, 8),
		     sum_counts(&c_stats[0].dchecks, 8),
		     sum_counts(&c_stats[0].npf, 8));
}

/* ======================================================================
 * 3b. A/D bits against LOCK'd bit operations. 8 PTEs of PT_D and one
 * 2 MiB PDE per vCPU. Each round vCPU 0 clears A and D in all of them and
 * runs the guest shootdown; then all vCPUs at once, in 8 passes (2 for
 * the PDEs, whose stores a shadow MMU emulates):
 * toggle their own ignored bit (9, 10, 11, then 52..56) in every entry
 * with LOCK BTS/BTR/BTC (the bit's old value must be the one it left
 * there), read through every entry, and write through the ones they own
 * once; in the first 4 passes the owner of a PTE also clears its A and D,
 * INVLPGs, reads and writes through it, and both must be set right away.
 * At the end of the round: A and D set in every entry, each vCPU's bit as
 * it left it, nothing else changed. A lost A/D update, or a
 * read-modify-write of an entry that is not atomic, shows there.
 * ====================================================================== */
#define D_PTES		8
#define D_MAX		(D_PTES + MAX_CPUS)
#define D_PASSES	8
#define D_BIG_PASSES	2	/* PDE writes are emulated: fewer of them */
#define D_LOCAL_PASSES	4	/* the owner's own A/D cycles (d_local) */

static const uint8_t avl_bit[MAX_CPUS] = { 9, 10, 11, 52, 53, 54, 55, 56 };
static uint32_t d_frames[D_PTES];
static unsigned d_n, d_passes, d_rounds;
static volatile uint32_t *d_entry[D_MAX];
static uint32_t d_va[D_MAX], d_want[D_MAX], d_owner[D_MAX];
static volatile uint32_t d_gen, d_go, d_stop, d_method;
static volatile uint32_t d_acks[MAX_CPUS], d_done[MAX_CPUS];
static uint8_t d_avl[MAX_CPUS][D_MAX];
static struct {
	uint32_t toggles, reads, writes, local, pad[4];
} d_stats[MAX_CPUS];

static uint32_t d_tag(unsigned j)
{
	return 0x3d00 + j;
}

static void d_flush(void)
{
	if (d_method) {
		reload_cr3();
		return;
	}
	for (unsigned x = 0; x < d_n; x++)
		invlpg(d_va[x]);
}

static void d_toggle(struct cpu *c, unsigned x)
{
	unsigned i = c->index, b = avl_bit[i];
	volatile uint32_t *p = d_entry[x] + (b >= 32);
	bool want = d_avl[i][x], old, now;

	switch (rnd(c) % 3) {
	case 0:
		old = lock_bts(p, b & 31);
		now = true;
		break;
	case 1:
		old = lock_btr(p, b & 31);
		now = false;
		break;
	default:
		old = lock_btc(p, b & 31);
		now = !old;
		break;
	}
	if (old != want)
		cpu_error(c, "bit %u of entry %u (va 0x%x) was %u, want %u as "
			  "this vCPU left it", b, x, d_va[x], old, want);
	d_avl[i][x] = now;
	d_stats[i].toggles++;
}

/* The owner of PTE x clears its A and D, INVLPGs, reads and writes
 * through it: both must be set in the PTE right away, whatever the other
 * vCPUs' LOCK'd operations on the same entry meanwhile. */
static void d_local(struct cpu *c, unsigned x)
{
	volatile uint32_t *p = d_entry[x];
	uint32_t w = rnd(c) & 1023, got;

	if (rnd(c) & 1) {
		__atomic_fetch_and(p, ~A_D, __ATOMIC_SEQ_CST);
	} else {
		lock_btr(p, 5);
		lock_btr(p, 6);
	}
	invlpg(d_va[x]);
	got = *word_at(d_va[x] + w * 4);
	*word_at(d_va[x] + w * 4) = got;
	got = *p;
	d_stats[c->index].local++;
	if ((got & A_D) != A_D)
		cpu_error(c, "entry %u (va 0x%x) is 0x%x right after a read and "
			  "a write through it: %s%slost", x, d_va[x], got,
			  got & PTE_A ? "" : "A ", got & PTE_D ? "" : "D ");
}

static void d_work(struct cpu *c)
{
	unsigned i = c->index;
	uint8_t write_pass[D_MAX];

	for (unsigned x = 0; x < d_n; x++)
		write_pass[x] = (uint8_t)(rnd(c) % (x < D_PTES ? d_passes :
						    D_BIG_PASSES));
	for (unsigned pass = 0; pass < d_passes; pass++) {
		unsigned start = rnd(c) % D_PTES, nbig = d_n - D_PTES;

		/* The PDEs first, in the same order on every vCPU (they
		 * start together: their emulated stores meet), then the
		 * PTEs from a random one. */
		for (unsigned k = 0; k < d_n; k++) {
			unsigned x = k < nbig ? D_PTES + (pass + k) % nbig :
				     (start + k - nbig) % D_PTES;
			bool big = x >= D_PTES;
			uint32_t w = big ? 1024 * (i + 1) + x : rnd(c) & 1023;
			uint32_t want = big ? 0 : pattern(d_tag(x), w), got;

			if (big && pass >= D_BIG_PASSES)
				continue;
			d_toggle(c, x);
			if (d_owner[x] == i && pass == write_pass[x]) {
				*word_at(d_va[x] + w * 4) = big ? 0 : want;
				d_stats[i].writes++;
			}
			got = *word_at(d_va[x] + w * 4);
			d_stats[i].reads++;
			if (got != want)
				cpu_error(c, "read 0x%x through entry %u (va "
					  "0x%x), want 0x%x", got, x,
					  d_va[x] + w * 4, want);
			if (!big && d_owner[x] == i && pass < D_LOCAL_PASSES)
				d_local(c, x);
		}
	}
}

static void d_ap(struct cpu *c)
{
	unsigned i = c->index;
	uint32_t seen = 0;

	for (;;) {
		uint32_t g;

		while ((g = load_acq(&d_gen)) == seen && !load_acq(&d_stop) &&
		       !abort_all)
			cpu_relax();
		if (g == seen)
			return;
		seen = g;
		d_flush();
		store_rel(&d_acks[i], g);
		if (!wait_eq(c, &d_go, g, "the A/D round to start"))
			return;
		d_work(c);
		store_rel(&d_done[i], g);
	}
}

static void d_check(struct cpu *c, uint32_t g)
{
	for (unsigned x = 0; x < d_n; x++) {
		uint32_t lo = d_entry[x][0], hi = d_entry[x][1];
		uint32_t lo_avl = 0, hi_avl = 0;

		for (unsigned k = 0; k < ncpus; k++) {
			unsigned b = avl_bit[k];
			uint32_t have = (b >= 32 ? hi : lo) >> (b & 31) & 1;

			if (b >= 32)
				hi_avl |= 1u << (b & 31);
			else
				lo_avl |= 1u << b;
			if (have != d_avl[k][x])
				cpu_error(c, "round %u: entry %u (0x%x%08x): "
					  "vCPU %u's bit %u is %u, it left %u", g,
					  x, hi, lo, k, b, have, d_avl[k][x]);
		}
		if ((lo & A_D) != A_D)
			cpu_error(c, "round %u: entry %u (va 0x%x) is 0x%x%08x "
				  "after reads and a write through it: %s%s "
				  "lost", g, x, d_va[x], hi, lo,
				  lo & PTE_A ? "" : "A ",
				  lo & PTE_D ? "" : "D");
		if ((lo & ~(A_D | lo_avl)) != d_want[x] || (hi & ~hi_avl))
			cpu_error(c, "round %u: entry %u is 0x%x%08x, want "
				  "0x%x and the bits", g, x, hi, lo, d_want[x]);
	}
}

static void d_main(struct cpu *c)
{
	for (uint32_t g = 1; g <= d_rounds && !abort_all; g++) {
		rounds_run = g;
		for (unsigned x = 0; x < d_n; x++) {
			volatile uint32_t *p = d_entry[x];

			switch (rnd(c) % 3) {
			case 0:
				__atomic_fetch_and(p, ~A_D, __ATOMIC_SEQ_CST);
				break;
			case 1:
				lock_btr(p, 5);
				lock_btr(p, 6);
				break;
			default:
				pte_store(c, p, *p & ~A_D);
				break;
			}
		}
		d_method = rnd(c) & 1;
		store_rel(&d_gen, g);
		d_flush();
		if (!wait_acks(c, d_acks, g, "A/D flush acknowledgements"))
			break;
		store_rel(&d_go, g);
		d_work(c);
		if (!wait_acks(c, d_done, g, "the A/D round to end"))
			break;
		d_check(c, g);
	}
	store_rel(&d_stop, 1);
}

bool ad_and_avl_bits(unsigned rounds)
{
	uint32_t errors;

	d_rounds = rounds;
	rounds_run = 0;
	run_job(d_ap, d_main);
	errors = report_errors("A/D and ignored bits");
	guest_printf("smpmmu: A/D and ignored bits: %u rounds x %u entries "
		     "(%u PTEs, one 2M PDE per vCPU), %u vCPU%s, %u reads, %u "
		     "writes\n", rounds_run, d_n, D_PTES, ncpus,
		     ncpus == 1 ? "" : "s",
		     sum_counts(&d_stats[0].reads, 8),
		     sum_counts(&d_stats[0].writes, 8));
	guest_printf("smpmmu: A/D and ignored bits: %u times an owner cleared "
		     "A and D, INVLPG, read and write: both set again\n",
		     sum_counts(&d_stats[0].local, 8));
	return check(errors == 0 && !abort_all,
		     "A/D and ignored bits: %u LOCK BTS/BTR/BTC found their bit "
		     "as left; A, D and all bits right after each round",
		     sum_counts(&d_stats[0].toggles, 8));
}

/* ======================================================================
 * 4a. A page table recycled as data while the other vCPUs work on other
 * mappings. PT_F (16 pages, PDE_F) is read by everyone, unlinked (guest
 * shootdown), then vCPU 0 maps it as data at VA_FD and floods it with
 * values that look like present entries to a secret page; meanwhile the
 * others read and write their slots in PT_O's pages (another table of the
 * same directory) and probe PT_F's range, which must fault as not
 * present. Then PT_F gets entries for the other set of 16 frames and is
 * linked again: everyone must read the new frames.
 * ====================================================================== */
#define F_PAGES		16
#define O_SLOT		1000	/* words 1000..1007 of PT_O's pages: slots */

static uint32_t f_set[2][F_PAGES], o_frames[F_PAGES], f_secret;
static volatile uint32_t f_phase, f_set_now, f_stop;
static volatile uint32_t f_acks[MAX_CPUS];
static struct {
	uint32_t reads, other, probes, pad[5];
} f_stats[MAX_CPUS];
static unsigned f_rounds, f_flood;

static uint32_t f_tag(unsigned set, unsigned e)
{
	return (set ? 0x4c00 : 0x4a00) + e;
}

static void f_read_all(struct cpu *c, unsigned set)
{
	for (unsigned e = 0; e < F_PAGES; e++) {
		uint32_t w = rnd(c) & 1023;
		uint32_t got = *word_at(PDE_VA(PDE_F) + e * 4096 + w * 4);

		f_stats[c->index].reads++;
		if (got != pattern(f_tag(set, e), w))
			cpu_error(c, "recycled table: page %u of set %u: read "
				  "0x%x, want 0x%x%s", e, set, got,
				  pattern(f_tag(set, e), w),
				  got >> 16 == 0x5ec0 ? " (the secret page: "
				  "a flood value used as an entry)" : "");
	}
}

static void f_probe(struct cpu *c)
{
	uint32_t va = PDE_VA(PDE_F) + (rnd(c) % F_PAGES) * 4096 +
		      (rnd(c) & 1023) * 4, got;

	c->probe_faulted = 0;
	got = probe_read(va);
	f_stats[c->index].probes++;
	if (!c->probe_faulted || c->pf_err != 0 || c->pf_cr2 != va)
		cpu_error(c, "recycled table: read of 0x%x while unlinked: %s "
			  "(0x%x) err 0x%x cr2 0x%x, want #PF err 0x0", va,
			  c->probe_faulted ? "#PF" : "no fault", got,
			  c->pf_err, c->pf_cr2);
}

/* Reads and writes through PT_O while the phase lasts. */
static void f_other(struct cpu *c, uint32_t phase)
{
	unsigned i = c->index;
	uint32_t n = 0;

	while (load_acq(&f_phase) == phase && !abort_all) {
		unsigned e = rnd(c) % F_PAGES;
		uint32_t base = PDE_VA(PDE_O) + e * 4096, w = rnd(c) % O_SLOT;
		uint32_t got;

		*word_at(base + (O_SLOT + i) * 4) = ++n;
		got = *word_at(base + (O_SLOT + i) * 4);
		if (got != n)
			cpu_error(c, "other mappings: slot of page %u: 0x%x after "
				  "writing 0x%x", e, got, n);
		got = *word_at(base + w * 4);
		if (got != pattern(0x4b00 + e, w))
			cpu_error(c, "other mappings: page %u: read 0x%x, want "
				  "0x%x", e, got, pattern(0x4b00 + e, w));
		f_stats[i].other++;
		if (n % 16 == 0)
			f_probe(c);
	}
}

static void f_ap(struct cpu *c)
{
	uint32_t seen = 0;

	for (;;) {
		uint32_t ph;

		while ((ph = load_acq(&f_phase)) == seen && !load_acq(&f_stop) &&
		       !abort_all)
			cpu_relax();
		if (ph == seen)
			return;
		seen = ph;
		switch (ph % 3) {
		case 1:			/* linked: read the current set */
			f_read_all(c, f_set_now);
			store_rel(&f_acks[c->index], ph);
			break;
		case 2:			/* unlinked: flush, then other work */
			if (rnd(c) % 4 == 0) {
				reload_cr3();
			} else {
				for (unsigned e = 0; e < F_PAGES; e++)
					invlpg(PDE_VA(PDE_F) + e * 4096);
			}
			store_rel(&f_acks[c->index], ph);
			f_other(c, ph);
			break;
		default:		/* about to be linked: stop probing */
			store_rel(&f_acks[c->index], ph);
			break;
		}
	}
}

static uint32_t lookalike(unsigned pass, unsigned w)
{
	return (w & 1) ? 0 : f_secret | P_W | (pass & 7) << 9;
}

static void f_main(struct cpu *c)
{
	volatile uint32_t *pde = pte_lo(pd_win, PDE_F);
	volatile uint32_t *fd_pte = pte_lo(pt_s, IDX_FD);
	volatile uint32_t *as_data = word_at(VA_FD);
	unsigned set = 0, passes = (f_flood + 1023) / 1024;

	for (uint32_t r = 0; r <= f_rounds && !abort_all; r++) {
		uint32_t ph = 3 * r + 1, bad = 0;

		if (r < f_rounds)
			rounds_run = r + 1;
		/* Linked with the current set: everyone reads it. */
		f_set_now = set;
		store_rel(&f_phase, ph);
		f_read_all(c, set);
		if (!wait_acks(c, f_acks, ph, "recycled-table reads") ||
		    r == f_rounds)
			break;
		/* Unlinked: the guest shootdown, then the flood. */
		pte_store(c, pde, 0);
		reload_cr3();
		store_rel(&f_phase, ph + 1);
		if (!wait_acks(c, f_acks, ph + 1, "recycled-table flushes"))
			break;
		f_probe(c);
		pte_store(c, fd_pte, pt_f | P_W);
		invlpg(VA_FD);
		for (unsigned p = 0; p < passes; p++)
			for (unsigned w = 0; w < 1024; w++)
				as_data[w] = lookalike(p, w);
		for (unsigned w = 0; w < 1024; w++)
			bad += as_data[w] != lookalike(passes - 1, w);
		if (bad)
			cpu_error(c, "recycled table: %u of 1024 words written "
				  "as data read back wrong", bad);
		f_probe(c);
		pte_store(c, fd_pte, 0);
		invlpg(VA_FD);
		/* Real entries for the other set; the others stop probing;
		 * linked again. */
		set ^= 1;
		memset((void *)pt_f, 0, 4096);
		for (unsigned e = 0; e < F_PAGES; e++)
			*pte_lo(pt_f, e) = f_set[set][e] | P_W;
		store_rel(&f_phase, ph + 2);
		if (!wait_acks(c, f_acks, ph + 2, "recycled-table quiet"))
			break;
		pte_store(c, pde, pt_f | P_W);
	}
	store_rel(&f_stop, 1);
}

bool table_recycled(unsigned rounds, unsigned flood_writes)
{
	uint32_t errors;

	f_rounds = rounds;
	rounds_run = 0;
	f_flood = flood_writes;
	run_job(f_ap, f_main);
	errors = report_errors("table page recycled as data");
	guest_printf("smpmmu: table page recycled as data: %u rounds of %u "
		     "writes of entry-like values, %u other vCPU%s on other "
		     "mappings\n", rounds_run,
		     (flood_writes + 1023) / 1024 * 1024, ncpus - 1,
		     ncpus == 2 ? "" : "s");
	return check(errors == 0 && !abort_all,
		     "table page recycled as data: %u reads of the relinked "
		     "frames, %u other accesses, %u not-present faults",
		     sum_counts(&f_stats[0].reads, 8),
		     sum_counts(&f_stats[0].other, 8),
		     sum_counts(&f_stats[0].probes, 8));
}

/* ======================================================================
 * 4b. A data page made a page table while another vCPU writes it through
 * an alias. T is mapped as data at VA_ALIAS; a writer vCPU stores into
 * its last entry (not present values) all the time, so it holds a
 * writable translation for VA_ALIAS. vCPU 0 links T in PDE_T and reads
 * through it (a shadow MMU now shadows T and must take the writable
 * translations away from every vCPU: a shootdown the guest knows nothing
 * of). Every other round it waits for more of the writer's stores and
 * loads CR3 (a shadow MMU syncs T again: the same shootdown). Then the
 * writer changes one of T's entries through the alias, INVLPGs and reads
 * the new frame; vCPU 0 INVLPGs and must read the new frame too. A
 * translation left writable by a missing shootdown lets the store past
 * the MMU, and the old frame shows.
 * ====================================================================== */
#define T_ENTRIES	8
#define T_SCRATCH	511

static uint32_t t_a[T_ENTRIES], t_b[T_ENTRIES];
static volatile uint32_t t_hot, t_cmd, t_done, t_entry, t_writer, t_stop;
static volatile uint32_t t_count;
static unsigned t_rounds;
static uint32_t t_sync_rounds;

static uint32_t t_tag(bool b, unsigned e)
{
	return (b ? 0x4e00 : 0x4d00) + e;
}

static uint32_t t_read(unsigned e, uint32_t w)
{
	return *word_at(PDE_VA(PDE_T) + e * 4096 + w * 4);
}

/* The writer's side of round r: hot until the command, then the store. */
static void t_write(struct cpu *c, uint32_t r)
{
	volatile uint32_t *scratch = word_at(VA_ALIAS + T_SCRATCH * 8);
	uint32_t n = load_acq(&t_count), e, w, got;

	while (load_acq(&t_cmd) != r) {
		*scratch = ++n << 1;		/* P clear */
		store_rel(&t_count, n);
		if (abort_all)
			return;
	}
	e = t_entry;
	pte_store(c, word_at(VA_ALIAS + e * 8), t_b[e] | P_W);
	invlpg(PDE_VA(PDE_T) + e * 4096);
	w = rnd(c) & 1023;
	got = t_read(e, w);
	if (got != pattern(t_tag(true, e), w))
		cpu_error(c, "data made a table, round %u: the writer read 0x%x "
			  "through entry %u after its store and INVLPG, want "
			  "0x%x", r, got, e, pattern(t_tag(true, e), w));
	store_rel(&t_done, r);
}

static void t_ap(struct cpu *c)
{
	uint32_t seen = 0;

	for (;;) {
		uint32_t r;

		while ((r = load_acq(&t_hot)) == seen && !load_acq(&t_stop) &&
		       !abort_all)
			cpu_relax();
		if (r == seen)
			return;
		seen = r;
		if (t_writer == c->index)
			t_write(c, r);
	}
}

static bool t_wait_count(struct cpu *c, uint32_t from, uint32_t more)
{
	for (uint32_t s = 0; load_acq(&t_count) - from < more; s++) {
		if (abort_all)
			return false;
		if (s == SPIN_LIMIT) {
			cpu_error(c, "data made a table: the writer does not "
				  "write");
			store_rel(&abort_all, 1);
			return false;
		}
		cpu_relax();
	}
	return true;
}

static void t_main(struct cpu *c)
{
	volatile uint32_t *pde = pte_lo(pd_win, PDE_T);
	volatile uint32_t *scratch = word_at(VA_ALIAS + T_SCRATCH * 8);

	for (uint32_t r = 1; r <= t_rounds && !abort_all; r++) {
		bool sync = r % 2 == 0, alone = ncpus == 1;
		uint32_t e = rnd(c) % T_ENTRIES, w, got;

		rounds_run = r;
		/* T as data: its entries, written through the identity map. */
		memset((void *)t_page, 0, 4096);
		for (unsigned k = 0; k < T_ENTRIES; k++)
			*pte_lo(t_page, k) = t_a[k] | P_W;
		t_writer = alone ? 0 : 1 + (r - 1) % (ncpus - 1);
		if (alone) {
			*scratch = 2;
		} else {
			uint32_t from = load_acq(&t_count);

			store_rel(&t_hot, r);
			if (!t_wait_count(c, from, 16))
				break;
		}
		/* T becomes a table. */
		pte_store(c, pde, t_page | P_W);
		for (unsigned k = 0; k < T_ENTRIES; k++) {
			w = rnd(c) & 1023;
			got = t_read(k, w);
			if (got != pattern(t_tag(false, k), w))
				cpu_error(c, "data made a table, round %u: "
					  "entry %u: read 0x%x, want 0x%x", r, k,
					  got, pattern(t_tag(false, k), w));
		}
		if (sync) {
			t_sync_rounds++;
			if (alone) {
				*scratch = 4;
			} else if (!t_wait_count(c, load_acq(&t_count), 16)) {
				break;
			}
			reload_cr3();
			w = rnd(c) & 1023;
			got = t_read(e, w);
			if (got != pattern(t_tag(false, e), w))
				cpu_error(c, "data made a table, round %u: after "
					  "the CR3 load entry %u: read 0x%x, "
					  "want 0x%x", r, e, got,
					  pattern(t_tag(false, e), w));
		}
		/* The store through the alias. */
		t_entry = e;
		if (alone) {
			pte_store(c, word_at(VA_ALIAS + e * 8), t_b[e] | P_W);
		} else {
			store_rel(&t_cmd, r);
			if (!wait_eq(c, &t_done, r, "the alias store"))
				break;
		}
		invlpg(PDE_VA(PDE_T) + e * 4096);
		w = rnd(c) & 1023;
		got = t_read(e, w);
		if (got != pattern(t_tag(true, e), w))
			cpu_error(c, "data made a table, round %u (%s): entry %u "
				  "changed through the alias by vCPU %u: read "
				  "0x%x after INVLPG, want 0x%x%s", r,
				  sync ? "after a sync" : "after shadowing", e,
				  t_writer, got, pattern(t_tag(true, e), w),
				  got >> 16 == t_tag(false, e) ?
				  " (the old frame: a stale translation)" : "");
		/* Unlinked again. */
		pte_store(c, pde, 0);
		reload_cr3();
	}
	store_rel(&t_stop, 1);
}

bool data_made_table(unsigned rounds)
{
	uint32_t errors;

	t_rounds = rounds;
	rounds_run = 0;
	run_job(t_ap, t_main);
	errors = report_errors("data page made a table");
	return check(errors == 0 && !abort_all,
		     "data page made a table: %u rounds (%u after a CR3 load), "
		     "%s: new entry seen after INVLPG", rounds_run, t_sync_rounds,
		     ncpus > 1 ? "alias writer another vCPU" : "one vCPU");
}

/* ---- The tables --------------------------------------------------------- */

static uint32_t new_table(unsigned pde)
{
	uint32_t t = frame_alloc();

	*pte_lo(pd_win, pde) = t | P_W;
	return t;
}

static uint32_t data_frame(uint32_t tag)
{
	uint32_t f = frame_alloc();

	fill_page(f, tag);
	return f;
}

void scenarios_init(void)
{
	pt_s = new_table(PDE_S);
	pt_c = new_table(PDE_C);
	pt_d = new_table(PDE_D);
	pt_f = new_table(PDE_F);
	pt_o = new_table(PDE_O);
	t_page = frame_alloc();

	for (unsigned p = 0; p < R_PAGES; p++)
		r_frames[p] = data_frame(r_tag(p));
	*pte_lo(pt_s, VA_R >> 12 & 511) = r_frames[0] | P_W;
	r_ring[0] = 0;

	w_frame = frame_alloc();
	*pte_lo(pt_s, VA_W >> 12 & 511) = w_frame | P_W | A_D;

	for (unsigned i = 0; i < ncpus; i++)
		for (unsigned f = 0; f < C_FRAMES; f++)
			c_frames[i][f] = data_frame(c_tag(i, f));

	for (unsigned j = 0; j < D_PTES; j++) {
		d_frames[j] = data_frame(d_tag(j));
		d_want[j] = d_frames[j] | P_W;
		*pte_lo(pt_d, j) = d_want[j];
		d_entry[j] = pte_lo(pt_d, j);
		d_va[j] = PDE_VA(PDE_D) + j * 4096;
		d_owner[j] = j % ncpus;
	}
	memset((void *)BIG_FRAME, 0, 0x10000);
	for (unsigned i = 0; i < ncpus; i++) {
		unsigned x = D_PTES + i;

		d_want[x] = BIG_FRAME | P_W | (uint32_t)PTE_PS;
		*pte_lo(pd_win, PDE_BIG + i) = d_want[x];
		d_entry[x] = pte_lo(pd_win, PDE_BIG + i);
		d_va[x] = PDE_VA(PDE_BIG + i);
		d_owner[x] = i;
	}
	d_n = D_PTES + ncpus;
	d_passes = D_PASSES;

	f_secret = data_frame(0x5ec0);
	for (unsigned e = 0; e < F_PAGES; e++) {
		f_set[0][e] = data_frame(f_tag(0, e));
		f_set[1][e] = data_frame(f_tag(1, e));
		o_frames[e] = data_frame(0x4b00 + e);
		*pte_lo(pt_f, e) = f_set[0][e] | P_W;
		*pte_lo(pt_o, e) = o_frames[e] | P_W;
	}

	for (unsigned e = 0; e < T_ENTRIES; e++) {
		t_a[e] = data_frame(t_tag(false, e));
		t_b[e] = data_frame(t_tag(true, e));
	}
	*pte_lo(pt_s, IDX_ALIAS) = t_page | P_W | A_D;
}
