/*
 * The shadow MMU: the page tables a guest runs on when the CPU has no (or
 * is not given) nested paging. The guest's own tables are walked with the
 * exact walker (mmu/guest_walk.h); each guest table the walk uses gets a
 * "shadow page" that the hardware walks instead, built on demand, one
 * fault at a time, and kept in sync by write-protecting the guest's table
 * (or, for last-level tables, by letting it go "unsync" until the guest's
 * next INVLPG or CR3 load). The design is KVM's (Documentation/virt/kvm/
 * x86/mmu.rst); docs/mmu.md ("Shadow MMU") describes it and docs/locking.md
 * the lock and the TLB rule. The spte bits are in mmu/shadow_spte.h.
 * Portable: memory and the lock come from mmu/platform.h, guest memory is
 * read through the memslots, and the flushes go through struct shadow_ops.
 *
 * ---- What the backend (SVM/VMX) must do -------------------------------
 *
 * Run the guest with hardware paging on the shadow tables:
 *   hardware CR3   = v->root_hpa  (4-level: a shadow PML4; PAE: the vCPU's
 *                    PAE root, a page below 4 GiB holding 4 PDPTEs)
 *   hardware CR0   = shadow_hw_cr0(v), CR4 = shadow_hw_cr4(v),
 *   EFER           = shadow_hw_efer(v)  (PG, WP, PAE and NXE always on;
 *                    LME/LMA only while the guest really is in long mode;
 *                    SMEP/SMAP/PKE the guest's while its paging is on)
 *   hardware PAT   = the guest's PAT, and PKRU the guest's
 * and reflect to the guest its own view of CR0/CR3/CR4/EFER (read shadows /
 * intercepted reads). Intercept and call:
 *
 *   #PF                 shadow_page_fault(v, CR2, error code, CPL, &f), then
 *                       by f.result: re-enter (FIXED, RETRY), inject
 *                       #PF(f.error_code) with CR2 = gva (INJECT), emulate
 *                       the instruction (EMULATE, MMIO), stop the VM
 *                       (MEM_ERROR, NOMEM). Every #PF is intercepted (the
 *                       guest's own ones too: the MMU decides).
 *   MOV to CR3          shadow_new_cr3(v, value)       (#GP on SHADOW_CR_GP)
 *   MOV to CR0/CR4,     shadow_set_cr(v, cr0, cr4, efer) with the new
 *   WRMSR EFER,         values, after the architectural checks the
 *   CLTS, LMSW          backend makes (reserved bits, PG without PE, ...);
 *                       on SHADOW_CR_GP inject #GP and keep the old values;
 *                       SHADOW_CR_UNSUPPORTED etc.: stop the VM
 *   INVLPG (INVPCID)    shadow_invlpg(v, gva), then flush that address from
 *                       this vCPU's hardware TLB (INVVPID / INVLPGA)
 *   every VM entry      shadow_vcpu_load_root(v); if v->root_version is not
 *                       the one loaded: load v->root_hpa into CR3 (PAE: the
 *                       CPU reloads the PDPTEs from it) and flush this
 *                       vCPU's guest TLB (VPID/ASID)
 *   emulator's walks    shadow_guest_walk (sets A/D, keeps shadows right)
 *   every emulated      shadow_guest_pte_written(mmu, gpa, len) after the
 *   write to guest RAM  bytes are in memory (cheap when nothing is shadowed
 *                       there); an emulator that cannot emulate the write
 *                       calls shadow_unprotect_gfn and retries instead
 *   memslot change      shadow_memslots_changed (see there)
 * Before a fault is handled, make v->paging.rflags_ac and .pkru current
 * (shadow_set_user_state): the walk checks SMAP and protection keys with
 * them. A pending flush request (flush_remote_tlbs) is handled before the
 * next entry, and that entry too calls shadow_vcpu_load_root first.
 *
 * And fill struct shadow_ops: flush_remote_tlbs is the TLB shootdown (and
 * the grace period for freeing shadow pages), lockless_begin/end bracket
 * the lockless MMIO lookup (interrupts off in the hypervisor).
 *
 * ---- Decisions ----------------------------------------------------------
 *
 * - Rights in hardware: every leaf spte carries the guest's effective U/S,
 *   R/W (only when the guest leaf is dirty) and NX, and hardware CR4.SMEP,
 *   SMAP, PKE, EFLAGS.AC and PKRU are the guest's, so the CPU itself
 *   enforces them exactly; CR0.WP, SMEP, SMAP and PKE are therefore not
 *   part of a shadow page's role (pages are shared across their values).
 *   Hardware CR0.WP is always 1: a supervisor write the guest allows only
 *   because its CR0.WP = 0 faults, and shadow_page_fault answers EMULATE
 *   (exact, and rare: OSes run with WP = 1), instead of KVM's trick of
 *   mapping the page writable but supervisor-only. The same holds for a
 *   supervisor write to a user page whose key PKRU write-disables: with
 *   WP = 0 the guest allows it, the CPU (WP = 1) does not.
 * - The role holds what changes how guest entries become sptes: the paging
 *   mode (32-bit, PAE, 4-level), EFER.NXE (PAE and 4-level), CR4.PSE
 *   (32-bit), the level, the 32-bit quadrant, the rights of the levels
 *   above (as KVM: sptes of a table reached with different rights differ),
 *   and for direct pages the rights, PAT index and key of the guest large
 *   page they split. A change of mode, NXE or PSE loads a different root.
 * - Guests with 5-level paging (CR4.LA57) are not supported
 *   (SHADOW_CR_UNSUPPORTED). Guest large pages map with a 2 MiB spte when
 *   the memslot allows it (memslot_large_ok) and no guest page table lies
 *   inside, else through direct shadow pages; 1 GiB guest pages always split.
 * - Unsync: last-level (level 1) shadow pages go unsync on a write fault
 *   instead of making the guest emulate every PTE store; they are synced
 *   whenever a root is loaded (a CR3 load, a mode change, a reload after a
 *   zap: the pages it reaches), one entry on INVLPG, and the whole page
 *   whenever it is linked into a new parent entry. Upper levels stay write-protected; writes there are
 *   emulated and zap the affected sptes (no prefetch); a page that takes
 *   more than SHADOW_FLOOD_THRESHOLD emulated writes without being used by
 *   a walk is unshadowed (write flooding).
 * - Every path that removes or narrows a present spte sets a flag; the lock
 *   is only ever released through a commit that calls flush_remote_tlbs
 *   first if the flag is set, then frees the pages zapped meanwhile.
 *   Write-protecting a guest table for shadowing flushes at once, before
 *   the guest entries are read again (another vCPU may still write through
 *   a stale writable TLB entry until then).
 * - The MMU lock serializes everything except the MMIO fast path, which
 *   walks the shadow tables without it (between lockless_begin/end), and
 *   the check in shadow_vcpu_load_root.
 */
#ifndef MMU_SHADOW_H
#define MMU_SHADOW_H

#include <stdbool.h>
#include <stdint.h>
#include "mmu/guest_walk.h"
#include "mmu/memslot.h"
#include "mmu/platform.h"
#include "mmu/shadow_spte.h"

struct shadow_page;

/* Emulated writes a shadowed upper-level table takes before it is zapped. */
#define SHADOW_FLOOD_THRESHOLD	3
/* The smallest cap on shadow pages (each vCPU may pin 4 roots, and a fault
 * needs up to 5 new pages). */
#define SHADOW_MIN_PAGES	64
/* Pages zapped by shadow_zap_all between two lock breaks. */
#define SHADOW_ZAP_BATCH	32

struct shadow_ops {
	/*
	 * Make every vCPU of the VM drop the translations it may have cached
	 * from the shadow tables (TLB and paging-structure caches) before it
	 * next runs guest code, and return only when each one that is in
	 * guest mode or inside lockless_begin/end has acknowledged (the
	 * others handle the request before their next entry). Called with the
	 * MMU lock held. It is also the grace period: table pages unlinked
	 * before the call are freed after it returns.
	 */
	void (*flush_remote_tlbs)(void *vm_ctx);
	/* Bracket a lockless walk of the shadow tables by this vCPU (in the
	 * hypervisor: interrupts off, so the flush IPI waits for the walk).
	 * May be NULL. */
	void (*lockless_begin)(void *vcpu_ctx);
	void (*lockless_end)(void *vcpu_ctx);
};

struct shadow_config {
	uint32_t max_pages;		/* cap on shadow pages, >= SHADOW_MIN_PAGES
					   (and >= 8 per vCPU + 16); the oldest
					   non-root pages are zapped at the cap */
	unsigned guest_maxphyaddr;	/* the guest's CPUID MAXPHYADDR */
	bool guest_gbpages;		/* CPUID PDPE1GB given to the guest */
	unsigned host_maxphyaddr;	/* <= 51: MMIO sptes fault with RSVD */
	bool unsync;			/* let level-1 pages go unsync */
	bool no_flood_zap;		/* never zap for write flooding (to
					   measure what the heuristic saves) */
};

/* Counters, relaxed atomic adds (the MMIO fast path runs without the
 * lock); consistent with each other only while nothing runs. */
struct shadow_stats {
	uint64_t faults;		/* shadow_page_fault calls */
	uint64_t fixed, retried, injected, emulated, mmio, mem_errors, nomem;
	uint64_t mmio_fast;		/* ... MMIO answered without a walk */
	uint64_t mmio_stale;		/* MMIO sptes of an old generation */
	uint64_t gpte_changed;		/* guest entry changed under a fault */
	uint64_t emulate_wp0;		/* EMULATE for a CR0.WP = 0 write */
	uint64_t pages;			/* shadow pages held */
	uint64_t pages_created, pages_zapped;
	uint64_t reclaimed;		/* zapped to stay under the cap */
	uint64_t leaves_4k, leaves_2m, mmio_sptes;	/* present now */
	uint64_t write_protects;	/* leaves write-protected for shadowing */
	uint64_t unsynced;		/* pages that went unsync */
	uint64_t synced;		/* unsync pages brought back in sync */
	uint64_t sync_entries;		/* entries re-read by syncs */
	uint64_t invlpg, invlpg_synced;
	uint64_t cr3_loads, root_loads, root_reloads;
	uint64_t pte_writes;		/* shadow_guest_pte_written calls on a
					   shadowed gfn */
	uint64_t pte_write_zaps;	/* sptes zapped by them */
	uint64_t flooded;		/* pages zapped for write flooding */
	uint64_t zap_all, obsolete_zapped, lock_breaks;
	uint64_t flush_requests;	/* sptes removed or narrowed */
	uint64_t remote_flushes;	/* flush_remote_tlbs calls */
};

struct shadow_mmu {
	mmu_lock_t lock;		/* the VM's MMU lock */
	const struct memslots *slots;
	const struct shadow_ops *ops;
	void *vm_ctx;			/* for ops */
	struct shadow_config cfg;
	uint64_t valid_gen;		/* zap-all generation */
	bool mmio_rsvd;			/* MMIO sptes fault with RSVD */
	uint64_t mmio_gen_seen;		/* slots->generation at the last
					   shadow_memslots_changed */

	/* Shadow page descriptors: a directory page of descriptor pages,
	 * index 0 unused; free ones chained by lru_next. */
	void *pool_dir;
	uint64_t pool_dir_hpa;
	uint32_t pool_allocated;	/* descriptor pages made so far */
	uint32_t pool_free;		/* first free descriptor, 0: none */
	uint32_t pages;			/* descriptors in use */

	uint32_t *sp_hash;		/* by gfn: shadow pages */
	uint64_t sp_hash_hpa;
	uint32_t *rmap_hash;		/* by gfn: leaf sptes (refs) */
	uint64_t rmap_hash_hpa;

	uint32_t lru_newest, lru_oldest;	/* valid pages, by age */
	uint32_t to_free;		/* zapped, freed at the next commit */
	uint32_t zombie_roots;		/* zapped while a vCPU still uses it
					   as a root: freed when released */
	bool flush_pending;		/* an spte was removed or narrowed */

	/* Zeroed table pages kept for allocations under the lock. */
	uint64_t cache_hpa[12];
	unsigned cache_count;

	struct shadow_stats stats;
};

/* Which hardware paging mode the shadow tables are built for. */
enum shadow_hw_mode {
	SHADOW_HW_PAE = 3,		/* CR4.PAE, EFER.LMA = 0 */
	SHADOW_HW_4LEVEL = 4,		/* EFER.LMA = 1 */
};

struct shadow_vcpu {
	struct shadow_mmu *mmu;
	void *ctx;			/* for ops->lockless_* */
	/* The guest's control state as the guest sees it. cr0/cr3/cr4/efer
	 * and pdptes are kept by shadow_new_cr3/shadow_set_cr;
	 * rflags_ac/pkru by the backend (shadow_set_user_state). */
	struct guest_paging paging;

	/* For the backend (see the top of this file). */
	uint64_t root_hpa;
	enum shadow_hw_mode hw_mode;
	uint64_t root_version;

	/* Private to the MMU (written under the lock by this vCPU only). */
	struct shadow_page *root;	/* 4-level root */
	struct shadow_page *pae_sp[4];	/* PAE root entries' pages */
	uint64_t *pae_root;		/* the PAE root page */
	uint64_t pae_root_hpa;
	uint64_t root_gen;		/* mmu->valid_gen when loaded */
};

enum shadow_fault_result {
	SHADOW_FAULT_FIXED,	/* an spte was installed: re-enter */
	SHADOW_FAULT_RETRY,	/* nothing to change (spurious, a race, a
				   root reloaded): re-enter */
	SHADOW_FAULT_INJECT,	/* the guest's own #PF: inject error_code,
				   CR2 = gva */
	SHADOW_FAULT_EMULATE,	/* emulate the instruction: a write to a
				   write-protected guest page table, or a
				   supervisor write only CR0.WP = 0 allows */
	SHADOW_FAULT_MMIO,	/* emulate the instruction: MMIO at gpa */
	SHADOW_FAULT_MEM_ERROR,	/* a guest table is not in RAM: stop the VM */
	SHADOW_FAULT_NOMEM,	/* no host page for a shadow table: stop */
};

struct shadow_fault {
	enum shadow_fault_result result;
	uint32_t error_code;	/* INJECT: PFERR_* for the guest */
	uint64_t gpa;		/* EMULATE, MMIO: where the access goes */
};

enum shadow_cr_result {
	SHADOW_CR_OK,
	SHADOW_CR_GP,		/* PAE PDPTEs with reserved bits: #GP(0),
				   nothing changed */
	SHADOW_CR_UNSUPPORTED,	/* 5-level paging: stop the VM */
	SHADOW_CR_MEM_ERROR,	/* PDPTEs not in RAM: stop the VM */
	SHADOW_CR_NOMEM,	/* no page for a root: stop the VM */
};

/* ---- VM and vCPU lifetime ----------------------------------------------- */

/* Set up an MMU with no shadow pages. False if a page for its hash tables
 * is missing or the config is invalid. */
bool shadow_mmu_init(struct shadow_mmu *mmu, const struct memslots *slots,
		     const struct shadow_ops *ops, void *vm_ctx,
		     const struct shadow_config *cfg);
/* Free everything. Every vCPU must have been destroyed. */
void shadow_mmu_destroy(struct shadow_mmu *mmu);

/* A vCPU in the reset state (paging off) with its root loaded. False if no
 * page is left (for the PAE root, which must lie below 4 GiB). */
bool shadow_vcpu_init(struct shadow_vcpu *v, struct shadow_mmu *mmu,
		      void *ctx);
void shadow_vcpu_destroy(struct shadow_vcpu *v);

/* ---- Guest events -------------------------------------------------------- */

/*
 * A #PF intercepted in the guest: 'error_code' as the CPU gave it (from the
 * shadow tables), 'cpl' the guest's CPL (an access with U = 0 at CPL 3 is
 * an implicit supervisor access). Walks the guest's tables (setting their
 * A/D bits as the CPU would) and mirrors the result into the shadow tables.
 */
void shadow_page_fault(struct shadow_vcpu *v, uint64_t gva,
		       uint32_t error_code, unsigned cpl,
		       struct shadow_fault *out);

/* MOV to CR3 (and a task switch): load the root for the new CR3, bring
 * every unsync page it reaches in sync; root_version changes. */
enum shadow_cr_result shadow_new_cr3(struct shadow_vcpu *v, uint64_t cr3);

/* The guest changed CR0, CR4 or EFER (any of them; pass all three). Reloads
 * the PAE PDPTEs where the SDM says the CPU does, and the root (syncing as
 * for a CR3 load) when the mode, NXE or PSE changed or the change flushes
 * the TLB architecturally (CR0.PG, CR4.PAE/PSE/PGE/SMEP/PCIDE, EFER.LMA);
 * root_version then changes. WP, SMAP, PKE alone need nothing. */
enum shadow_cr_result shadow_set_cr(struct shadow_vcpu *v, uint64_t cr0,
				    uint64_t cr4, uint64_t efer);

static inline void shadow_set_user_state(struct shadow_vcpu *v,
					 bool rflags_ac, uint32_t pkru)
{
	v->paging.rflags_ac = rflags_ac;
	v->paging.pkru = pkru;
}

/* INVLPG: bring the one entry for gva in sync if its page is unsync. */
void shadow_invlpg(struct shadow_vcpu *v, uint64_t gva);

/* Before every VM entry: reload the root if it was zapped (by zap-all, the
 * page cap, write flooding...). Lockless when nothing changed. */
enum shadow_cr_result shadow_vcpu_load_root(struct shadow_vcpu *v);

/* The emulator wrote 'len' bytes at 'gpa' (within one page) of guest RAM:
 * zap the sptes that shadow what changed. Takes the lock only when a
 * shadow page exists for that gfn. */
void shadow_guest_pte_written(struct shadow_mmu *mmu, uint64_t gpa,
			      unsigned len);

/*
 * The guest walk the emulator must use under shadow paging: guest_walk on
 * v->paging through the memslots, setting A/D bits as the CPU would, and
 * keeping the shadow pages right about those stores (a 32-bit table's A/D
 * bits are address bits of a PAE/4-level entry at the same place).
 */
enum guest_walk_result shadow_guest_walk(struct shadow_vcpu *v, uint64_t gva,
					 uint32_t access,
					 struct guest_walk *walk);

/* Does the MMU write-protect this gfn (a synced shadow page shadows it)?
 * A guest write there traps and must be emulated. */
bool shadow_gfn_write_protected(struct shadow_mmu *mmu, uint64_t gfn);

/* Zap every shadow page of this gfn: the guest may write it freely again. */
void shadow_unprotect_gfn(struct shadow_mmu *mmu, uint64_t gfn);

/* ---- VM-wide ------------------------------------------------------------- */

/*
 * Zap everything: bump the valid generation (lookups skip older pages, every
 * vCPU reloads its root before its next entry), flush, then zap the obsolete
 * pages oldest first, dropping the lock every SHADOW_ZAP_BATCH pages.
 */
void shadow_zap_all(struct shadow_mmu *mmu);

/*
 * The memslots changed. The caller bumps slots->generation before the
 * change is visible and again after it (so MMIO sptes made meanwhile do not
 * match either), then calls this. 'removed': a slot went away, moved or
 * changed its backing: everything is zapped (zap-all). Only added: nothing
 * to zap (the MMIO sptes of the old generation no longer match), unless the
 * MMIO generation bits wrapped, then zap-all too.
 */
void shadow_memslots_changed(struct shadow_mmu *mmu, bool removed);

void shadow_mmu_get_stats(const struct shadow_mmu *mmu,
			  struct shadow_stats *out);

/*
 * Check every invariant of the shadow pages (docs/mmu.md, "Audit"): parent
 * links, reverse maps, write protection, unsync marks, synced pages equal to
 * the guest's entries, spte bits. Takes the lock. Returns the number of
 * problems and describes the first in 'msg'. For tests and debugging.
 */
unsigned shadow_audit(struct shadow_mmu *mmu, char *msg, unsigned msg_size);

/* ---- Hardware control values for the backend ----------------------------- */

uint64_t shadow_hw_cr0(const struct shadow_vcpu *v);
uint64_t shadow_hw_cr4(const struct shadow_vcpu *v);
uint64_t shadow_hw_efer(const struct shadow_vcpu *v);

/* Guest memory through the memslots (the MMU's own accessor), for the
 * emulator and tests: ctx is the struct shadow_mmu. */
extern const struct guest_mem_ops shadow_guest_mem_ops;

#endif
