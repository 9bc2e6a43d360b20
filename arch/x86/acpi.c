/*
 * ACPI: find the RSDP, walk the XSDT or RSDT, read the MADT.
 *
 * Everything firmware hands us is untrusted. A table is reached through the
 * phys_reader with an explicit length: its 36-byte header is mapped first,
 * its length is believed only if it is sane, and its contents are read only
 * after the whole length was mapped and the checksum holds. ACPI structures
 * are packed, so multi-byte fields are assembled a byte at a time rather
 * than read through a cast pointer.
 *
 * At most one mapping is in use at a time (SDT entries are re-mapped one by
 * one instead of holding the SDT while the tables it lists are mapped), so a
 * reader built on a single temporary mapping window works too.
 *
 * Layouts and field meanings follow the ACPI specification 6.5, sections
 * 5.2.5 (RSDP), 5.2.6 (table header), 5.2.7/5.2.8 (RSDT/XSDT), 5.2.12 (MADT).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "arch/x86/acpi.h"
#include "kernel/compiler.h"
#include "kernel/printk.h"

/* Root System Description Pointer. */
#define RSDP_SIGNATURE		"RSD PTR "
#define RSDP_SIGNATURE_LEN	8
#define RSDP_OEM_ID_OFF		9
#define RSDP_OEM_ID_LEN		6
#define RSDP_REVISION_OFF	15
#define RSDP_RSDT_OFF		16
#define RSDP_LENGTH_OFF		20
#define RSDP_XSDT_OFF		24
#define RSDP_V1_LEN		20	/* what the first checksum covers */
#define RSDP_V2_LEN		36	/* the whole ACPI 2.0+ structure */
#define RSDP_MAX_LEN		1024	/* a longer length field is garbage */
#define RSDP_FIRST_V2_REVISION	2

/* Header common to every system description table. */
#define SDT_SIGNATURE_LEN	4
#define SDT_LENGTH_OFF		4
#define SDT_CHECKSUM_OFF	9
#define SDT_HEADER_LEN		36
#define SDT_MAX_LEN		MiB(1)	/* real tables are KiBs; more is garbage */
#define XSDT_ENTRY_LEN		8
#define RSDT_ENTRY_LEN		4

/* MADT body, after the common header. */
#define MADT_LAPIC_ADDR_OFF	36
#define MADT_FLAGS_OFF		40
#define MADT_ENTRIES_OFF	44
#define MADT_FLAG_PCAT_COMPAT	(1u << 0)

/* MADT entry types we use, with the length each needs. */
#define MADT_LAPIC		0
#define MADT_IOAPIC		1
#define MADT_LAPIC_OVERRIDE	5
#define MADT_X2APIC		9
#define MADT_ENTRY_HEADER_LEN	2	/* u8 type, u8 length */
#define MADT_LAPIC_LEN		8
#define MADT_IOAPIC_LEN		12
#define MADT_LAPIC_OVERRIDE_LEN	12
#define MADT_X2APIC_LEN		16

/* Processor entry flags (types 0 and 9). */
#define MADT_CPU_ENABLED	(1u << 0)
#define MADT_CPU_ONLINE_CAPABLE	(1u << 1)

/* Where a legacy BIOS may put the RSDP. */
#define BDA_EBDA_SEGMENT_PHYS	0x40E
#define EBDA_SCAN_LEN		KiB(1)
#define BIOS_AREA_START		0xE0000
#define BIOS_AREA_END		0x100000	/* exclusive */
#define RSDP_SCAN_STEP		16

static uint16_t get_u16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 |
	       (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get_u64(const uint8_t *p)
{
	return (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32;
}

static bool bytes_equal(const uint8_t *bytes, const char *str, unsigned len)
{
	for (unsigned i = 0; i < len; i++)
		if (bytes[i] != (uint8_t)str[i])
			return false;
	return true;
}

static bool str_equal(const char *a, const char *b)
{
	while (*a && *a == *b) {
		a++;
		b++;
	}
	return *a == *b;
}

/*
 * Firmware identifiers end up in log lines and in strings other code
 * compares, so a byte that is not printable ASCII (a NUL included) becomes
 * '?' rather than cutting the string short or garbling the console.
 */
static void copy_ident(char *dst, const uint8_t *src, unsigned len)
{
	for (unsigned i = 0; i < len; i++)
		dst[i] = (src[i] >= 0x20 && src[i] < 0x7f) ? (char)src[i] : '?';
	dst[len] = '\0';
}

static unsigned long long ull(uint64_t v)
{
	return (unsigned long long)v;
}

/* A range that wraps past the top of the address space is never readable;
 * checked here so no reader has to get that right. */
static const uint8_t *map_phys(const struct phys_reader *mem, uint64_t phys,
			       uint64_t len)
{
	if (phys + len < phys)
		return NULL;
	return phys_read(mem, phys, len);
}

uint8_t acpi_checksum(const void *p, uint64_t len)
{
	const uint8_t *bytes = p;
	uint8_t sum = 0;

	for (uint64_t i = 0; i < len; i++)
		sum += bytes[i];
	return sum;
}

/* ------------------------------------------------------------------ RSDP */

/*
 * Why an RSDP of which 'avail' bytes are at hand is unacceptable, or NULL.
 * The extended checksum can only be checked when all 'length' bytes are at
 * hand; when they are not, the caller decides what that means.
 */
static const char *rsdp_problem(const uint8_t *rsdp, uint32_t avail)
{
	uint32_t length;

	if (avail < RSDP_V1_LEN)
		return "shorter than 20 bytes";
	if (!bytes_equal(rsdp, RSDP_SIGNATURE, RSDP_SIGNATURE_LEN))
		return "no \"RSD PTR \" signature";
	if (acpi_checksum(rsdp, RSDP_V1_LEN) != 0)
		return "bad checksum";
	if (rsdp[RSDP_REVISION_OFF] < RSDP_FIRST_V2_REVISION ||
	    avail < RSDP_V2_LEN)
		return NULL;
	length = get_u32(rsdp + RSDP_LENGTH_OFF);
	if (length < RSDP_V2_LEN || length > RSDP_MAX_LEN)
		return "implausible length field";
	if (length <= avail && acpi_checksum(rsdp, length) != 0)
		return "bad extended checksum";
	return NULL;
}

/* The RSDP at 'phys' if it is valid; a signature with bad contents is
 * reported, since it may be the one the firmware meant. */
static bool rsdp_candidate_valid(const struct phys_reader *mem, uint64_t phys)
{
	const uint8_t *rsdp = map_phys(mem, phys, RSDP_SIGNATURE_LEN);
	const char *problem;
	uint32_t avail = RSDP_V1_LEN;

	if (!rsdp || !bytes_equal(rsdp, RSDP_SIGNATURE, RSDP_SIGNATURE_LEN))
		return false;

	rsdp = map_phys(mem, phys, RSDP_V1_LEN);
	if (rsdp && rsdp[RSDP_REVISION_OFF] >= RSDP_FIRST_V2_REVISION) {
		rsdp = map_phys(mem, phys, RSDP_V2_LEN);
		avail = RSDP_V2_LEN;
		if (rsdp) {
			uint32_t length = get_u32(rsdp + RSDP_LENGTH_OFF);

			if (length > RSDP_V2_LEN && length <= RSDP_MAX_LEN) {
				rsdp = map_phys(mem, phys, length);
				avail = length;
			}
		}
	}
	if (!rsdp) {
		pr_warn("ACPI: RSDP candidate at 0x%llx cannot be read whole; skipped\n",
			ull(phys));
		return false;
	}
	problem = rsdp_problem(rsdp, avail);
	if (problem) {
		pr_warn("ACPI: RSDP candidate at 0x%llx: %s; skipped\n",
			ull(phys), problem);
		return false;
	}
	return true;
}

static bool scan_for_rsdp(const struct phys_reader *mem, uint64_t start,
			  uint64_t len, uint64_t *rsdp_phys)
{
	for (uint64_t off = 0; off < len; off += RSDP_SCAN_STEP) {
		if (rsdp_candidate_valid(mem, start + off)) {
			*rsdp_phys = start + off;
			return true;
		}
	}
	return false;
}

/* The BIOS data area holds the EBDA's real-mode segment; 0 means none. */
static uint64_t ebda_phys(const struct phys_reader *mem)
{
	const uint8_t *segment = map_phys(mem, BDA_EBDA_SEGMENT_PHYS, 2);

	return segment ? (uint64_t)get_u16(segment) << 4 : 0;
}

int acpi_find_rsdp_bios(const struct phys_reader *mem, uint64_t *rsdp_phys)
{
	uint64_t ebda = ebda_phys(mem);

	if ((ebda && scan_for_rsdp(mem, ebda, EBDA_SCAN_LEN, rsdp_phys)) ||
	    scan_for_rsdp(mem, BIOS_AREA_START,
			  BIOS_AREA_END - BIOS_AREA_START, rsdp_phys)) {
		pr_info("ACPI: RSDP at 0x%llx\n", ull(*rsdp_phys));
		return ACPI_OK;
	}
	pr_warn("ACPI: no valid RSDP in the EBDA or in 0xE0000-0xFFFFF\n");
	return ACPI_NO_RSDP;
}

/* What the RSDP says about where to go next. */
struct rsdp_view {
	uint32_t rsdt_phys;
	uint64_t xsdt_phys;	/* 0 when there is none or it cannot be trusted */
};

static int parse_rsdp(const uint8_t *rsdp, uint32_t rsdp_len,
		      struct acpi_info *out, struct rsdp_view *view)
{
	const char *problem = rsdp_problem(rsdp, rsdp_len);

	if (problem) {
		pr_err("ACPI: RSDP rejected: %s\n", problem);
		return ACPI_BAD_RSDP;
	}
	out->revision = rsdp[RSDP_REVISION_OFF];
	copy_ident(out->oem_id, rsdp + RSDP_OEM_ID_OFF, RSDP_OEM_ID_LEN);
	view->rsdt_phys = get_u32(rsdp + RSDP_RSDT_OFF);
	view->xsdt_phys = 0;
	if (out->revision < RSDP_FIRST_V2_REVISION)
		return ACPI_OK;

	if (rsdp_len < RSDP_V2_LEN) {
		pr_warn("ACPI: RSDP revision %u but only %u bytes given; using the RSDT\n",
			out->revision, rsdp_len);
		return ACPI_OK;
	}
	if (get_u32(rsdp + RSDP_LENGTH_OFF) > rsdp_len)
		pr_warn("ACPI: RSDP length %u exceeds the %u bytes given; extended checksum not checked\n",
			get_u32(rsdp + RSDP_LENGTH_OFF), rsdp_len);
	view->xsdt_phys = get_u64(rsdp + RSDP_XSDT_OFF);
	if (!view->xsdt_phys)
		pr_warn("ACPI: RSDP revision %u has no XSDT address; using the RSDT\n",
			out->revision);
	return ACPI_OK;
}

/* ---------------------------------------------------------- table checks */

enum table_status {
	TABLE_OK,
	TABLE_UNREADABLE,	/* the header cannot be mapped */
	TABLE_BAD_LENGTH,	/* shorter than its header or absurdly long */
	TABLE_TRUNCATED,	/* runs past readable memory */
	TABLE_BAD_CHECKSUM,
};

/* One table as found at a physical address, and how far it checked out. */
struct table_view {
	uint64_t phys;
	enum table_status status;
	char signature[SDT_SIGNATURE_LEN + 1];	/* unless TABLE_UNREADABLE */
	uint32_t length;			/* unless TABLE_UNREADABLE */
	const uint8_t *bytes;		/* the whole table, if TABLE_OK */
	uint8_t checksum_found;		/* if TABLE_BAD_CHECKSUM */
	uint8_t checksum_expected;
};

static enum table_status inspect_table(const struct phys_reader *mem,
				       uint64_t phys, struct table_view *t)
{
	const uint8_t *header = map_phys(mem, phys, SDT_HEADER_LEN);
	const uint8_t *bytes;
	uint8_t sum;

	*t = (struct table_view){ .phys = phys, .status = TABLE_OK };
	if (!header)
		return t->status = TABLE_UNREADABLE;
	copy_ident(t->signature, header, SDT_SIGNATURE_LEN);
	t->length = get_u32(header + SDT_LENGTH_OFF);
	if (t->length < SDT_HEADER_LEN || t->length > SDT_MAX_LEN)
		return t->status = TABLE_BAD_LENGTH;

	bytes = map_phys(mem, phys, t->length);
	if (!bytes)
		return t->status = TABLE_TRUNCATED;
	sum = acpi_checksum(bytes, t->length);
	if (sum != 0) {
		/* The byte that would have made the sum zero. */
		t->checksum_found = bytes[SDT_CHECKSUM_OFF];
		t->checksum_expected = (uint8_t)(t->checksum_found - sum);
		return t->status = TABLE_BAD_CHECKSUM;
	}
	t->bytes = bytes;
	return TABLE_OK;
}

/* Say why table 'what' is unusable and, after a ';', what happens now. */
static void report_table(int level, const char *what,
			 const struct table_view *t, const char *outcome)
{
	switch (t->status) {
	case TABLE_OK:
		break;
	case TABLE_UNREADABLE:
		printk(level, "ACPI: %s at 0x%llx cannot be read; %s\n",
		       what, ull(t->phys), outcome);
		break;
	case TABLE_BAD_LENGTH:
		printk(level, "ACPI: %s '%s' at 0x%llx has implausible length %u; %s\n",
		       what, t->signature, ull(t->phys), t->length, outcome);
		break;
	case TABLE_TRUNCATED:
		printk(level, "ACPI: %s '%s' at 0x%llx (length %u) runs past readable memory; %s\n",
		       what, t->signature, ull(t->phys), t->length, outcome);
		break;
	case TABLE_BAD_CHECKSUM:
		printk(level, "ACPI: %s '%s' at 0x%llx has a bad checksum: found 0x%02x, expected 0x%02x; %s\n",
		       what, t->signature, ull(t->phys), t->checksum_found,
		       t->checksum_expected, outcome);
		break;
	}
}

static void record_table(struct acpi_info *out, const struct table_view *t)
{
	struct acpi_table_ref *ref;

	if (out->table_count == ACPI_MAX_TABLES) {
		pr_warn("ACPI: more than %u tables; '%s' at 0x%llx not recorded\n",
			ACPI_MAX_TABLES, t->signature, ull(t->phys));
		return;
	}
	ref = &out->tables[out->table_count++];
	for (unsigned i = 0; i <= SDT_SIGNATURE_LEN; i++)
		ref->signature[i] = t->signature[i];
	ref->phys = t->phys;
	ref->length = t->length;
}

/* ----------------------------------------------------------- XSDT / RSDT */

struct sdt {
	const char *name;	/* "XSDT" or "RSDT" */
	uint64_t phys;
	uint32_t length;
	unsigned entry_len;
};

static bool load_sdt(const struct phys_reader *mem, const char *name,
		     uint64_t phys, unsigned entry_len, const char *outcome,
		     struct sdt *sdt, struct acpi_info *out)
{
	struct table_view t;

	inspect_table(mem, phys, &t);
	if (t.status != TABLE_UNREADABLE && !str_equal(t.signature, name)) {
		pr_warn("ACPI: %s at 0x%llx has signature '%s'; %s\n",
			name, ull(phys), t.signature, outcome);
		return false;
	}
	if (t.status != TABLE_OK) {
		report_table(LOG_WARN, name, &t, outcome);
		return false;
	}
	*sdt = (struct sdt){
		.name = name,
		.phys = phys,
		.length = t.length,
		.entry_len = entry_len,
	};
	out->sdt_phys = phys;
	record_table(out, &t);
	return true;
}

/* The XSDT when the RSDP offers one and it checks out, else the RSDT. */
static int choose_sdt(const struct phys_reader *mem,
		      const struct rsdp_view *rsdp, struct sdt *sdt,
		      struct acpi_info *out)
{
	if (rsdp->xsdt_phys &&
	    load_sdt(mem, "XSDT", rsdp->xsdt_phys, XSDT_ENTRY_LEN,
		     "falling back to the RSDT", sdt, out)) {
		out->used_xsdt = true;
		return ACPI_OK;
	}
	if (rsdp->rsdt_phys &&
	    load_sdt(mem, "RSDT", rsdp->rsdt_phys, RSDT_ENTRY_LEN,
		     "no fallback left", sdt, out))
		return ACPI_OK;

	pr_err("ACPI: neither an XSDT nor an RSDT is usable (RSDT address 0x%x, XSDT address 0x%llx)\n",
	       rsdp->rsdt_phys, ull(rsdp->xsdt_phys));
	return ACPI_BAD_SDT;
}

/* Physical address in entry 'index' of the SDT; 0 if it cannot be read. */
static uint64_t sdt_entry(const struct phys_reader *mem, const struct sdt *sdt,
			  unsigned index)
{
	uint64_t entry_phys = sdt->phys + SDT_HEADER_LEN +
			      (uint64_t)index * sdt->entry_len;
	const uint8_t *entry = map_phys(mem, entry_phys, sdt->entry_len);

	if (!entry)
		return 0;
	return sdt->entry_len == XSDT_ENTRY_LEN ? get_u64(entry) :
						  get_u32(entry);
}

/*
 * Record every listed table that checks out, and return where the MADT
 * ("APIC") is, 0 if none is listed. The first listed MADT whose header can
 * be read is the one used; parse_madt() reports its problems, if any, so
 * they are not reported here.
 */
static uint64_t walk_sdt(const struct phys_reader *mem, const struct sdt *sdt,
			 struct acpi_info *out)
{
	uint32_t body_len = sdt->length - SDT_HEADER_LEN;
	unsigned entries = body_len / sdt->entry_len;
	uint64_t madt_phys = 0;
	struct table_view t;
	char what[32];

	if (body_len % sdt->entry_len)
		pr_warn("ACPI: %s length %u leaves a partial entry; ignored\n",
			sdt->name, sdt->length);

	for (unsigned i = 0; i < entries; i++) {
		uint64_t phys = sdt_entry(mem, sdt, i);

		snprintf(what, sizeof(what), "%s entry %u", sdt->name, i);
		if (!phys) {
			pr_warn("ACPI: %s is null or unreadable; skipped\n", what);
			continue;
		}
		inspect_table(mem, phys, &t);
		if (t.status != TABLE_UNREADABLE && str_equal(t.signature, "APIC")) {
			if (!madt_phys) {
				madt_phys = phys;
				if (t.status == TABLE_OK)
					record_table(out, &t);
				continue;
			}
			pr_warn("ACPI: %s is a second MADT, at 0x%llx; ignored\n",
				what, ull(phys));
		}
		if (t.status != TABLE_OK) {
			report_table(LOG_WARN, what, &t, "skipped");
			continue;
		}
		record_table(out, &t);
	}
	return madt_phys;
}

/* ------------------------------------------------------------------ MADT */

/* Counts that only matter for the messages once the MADT has been read. */
struct madt_tally {
	unsigned dropped_cpus;		/* past ACPI_MAX_CPUS */
	unsigned dropped_ioapics;	/* past ACPI_MAX_IOAPICS */
	bool have_lapic_override;
};

static bool cpu_listed(const struct acpi_info *out, uint32_t apic_id)
{
	for (unsigned i = 0; i < out->cpu_count; i++)
		if (out->cpus[i].apic_id == apic_id)
			return true;
	return false;
}

static void add_cpu(struct acpi_info *out, struct madt_tally *tally,
		    uint32_t apic_id, uint32_t uid, uint32_t flags,
		    bool x2apic_entry)
{
	struct acpi_cpu *cpu;

	if (cpu_listed(out, apic_id)) {
		pr_warn("ACPI: MADT lists APIC ID %u twice; keeping the first entry\n",
			apic_id);
		return;
	}
	if (out->cpu_count == ACPI_MAX_CPUS) {
		tally->dropped_cpus++;
		return;
	}
	cpu = &out->cpus[out->cpu_count++];
	cpu->apic_id = apic_id;
	cpu->acpi_uid = uid;
	cpu->enabled = flags & MADT_CPU_ENABLED;
	cpu->online_capable = flags & MADT_CPU_ONLINE_CAPABLE;
	cpu->x2apic_entry = x2apic_entry;
	/* Disabled but online-capable: firmware left it off, the OS may
	 * start it. Neither bit: the processor is not usable at all. */
	if (cpu->enabled || cpu->online_capable)
		out->usable_cpu_count++;
}

static void add_ioapic(struct acpi_info *out, struct madt_tally *tally,
		       const uint8_t *entry)
{
	struct acpi_ioapic *ioapic;

	if (out->ioapic_count == ACPI_MAX_IOAPICS) {
		tally->dropped_ioapics++;
		return;
	}
	ioapic = &out->ioapics[out->ioapic_count++];
	ioapic->id = entry[2];
	ioapic->addr = get_u32(entry + 4);
	ioapic->gsi_base = get_u32(entry + 8);
}

static void override_lapic_addr(struct acpi_info *out,
				struct madt_tally *tally, const uint8_t *entry)
{
	uint64_t addr = get_u64(entry + 4);

	/* The specification allows one; with several, trust the first. */
	if (tally->have_lapic_override) {
		pr_warn("ACPI: MADT has another local APIC address override (0x%llx); ignored\n",
			ull(addr));
		return;
	}
	tally->have_lapic_override = true;
	out->lapic_addr = addr;
}

static unsigned madt_entry_min_len(uint8_t type)
{
	switch (type) {
	case MADT_LAPIC:		return MADT_LAPIC_LEN;
	case MADT_IOAPIC:		return MADT_IOAPIC_LEN;
	case MADT_LAPIC_OVERRIDE:	return MADT_LAPIC_OVERRIDE_LEN;
	case MADT_X2APIC:		return MADT_X2APIC_LEN;
	default:			return MADT_ENTRY_HEADER_LEN;
	}
}

/* One well-framed entry: its length byte fits inside the table. */
static void handle_madt_entry(struct acpi_info *out, struct madt_tally *tally,
			      const uint8_t *entry, uint32_t offset)
{
	uint8_t type = entry[0];
	uint8_t len = entry[1];

	if (len < madt_entry_min_len(type)) {
		pr_warn("ACPI: MADT entry at offset %u (type %u) has length %u, needs %u; skipped\n",
			offset, type, len, madt_entry_min_len(type));
		return;
	}
	switch (type) {
	case MADT_LAPIC:	/* u8 uid, u8 APIC ID, u32 flags */
		add_cpu(out, tally, entry[3], entry[2], get_u32(entry + 4),
			false);
		break;
	case MADT_X2APIC:	/* u16 reserved, u32 x2APIC ID, flags, uid */
		add_cpu(out, tally, get_u32(entry + 4), get_u32(entry + 12),
			get_u32(entry + 8), true);
		break;
	case MADT_IOAPIC:
		add_ioapic(out, tally, entry);
		break;
	case MADT_LAPIC_OVERRIDE:
		override_lapic_addr(out, tally, entry);
		break;
	default:
		break;	/* not needed here: skipped by its length */
	}
}

/*
 * Entries are framed only by their own length byte, so one bad length
 * makes everything after it meaningless: stop there. What came before was
 * covered by the checksum and is kept, unless it held no processor at all.
 */
static int walk_madt_entries(const uint8_t *madt, uint32_t length,
			     struct acpi_info *out, struct madt_tally *tally)
{
	uint32_t offset = MADT_ENTRIES_OFF;

	while (offset < length) {
		uint32_t left = length - offset;
		uint8_t type = madt[offset];
		unsigned len = left >= MADT_ENTRY_HEADER_LEN ? madt[offset + 1] : 0;

		if (len >= MADT_ENTRY_HEADER_LEN && len <= left) {
			handle_madt_entry(out, tally, madt + offset, offset);
			offset += len;
			continue;
		}
		if (out->cpu_count == 0) {
			pr_err("ACPI: MADT entry at offset %u (type %u, length %u, %u bytes left) is malformed and no processor came before it\n",
			       offset, type, len, left);
			return ACPI_BAD_MADT;
		}
		pr_warn("ACPI: MADT entry at offset %u (type %u, length %u, %u bytes left) is malformed; ignoring the rest, keeping %u processors\n",
			offset, type, len, left, out->cpu_count);
		break;
	}
	return ACPI_OK;
}

static int parse_madt(const struct phys_reader *mem, uint64_t phys,
		      struct acpi_info *out)
{
	struct madt_tally tally = { 0 };
	struct table_view t;
	unsigned listed;
	int err;

	if (inspect_table(mem, phys, &t) != TABLE_OK) {
		report_table(LOG_ERR, "MADT", &t, "processors unknown");
		return ACPI_BAD_MADT;
	}
	if (t.length < MADT_ENTRIES_OFF) {
		pr_err("ACPI: MADT at 0x%llx is %u bytes, shorter than its %u-byte fixed part\n",
		       ull(phys), t.length, MADT_ENTRIES_OFF);
		return ACPI_BAD_MADT;
	}
	out->have_madt = true;
	out->lapic_addr = get_u32(t.bytes + MADT_LAPIC_ADDR_OFF);
	out->pcat_compat = get_u32(t.bytes + MADT_FLAGS_OFF) &
			   MADT_FLAG_PCAT_COMPAT;

	err = walk_madt_entries(t.bytes, t.length, out, &tally);
	if (err)
		return err;

	listed = out->cpu_count + tally.dropped_cpus;
	if (tally.dropped_cpus)
		pr_warn("ACPI: MADT lists %u processors; only the first %u are kept\n",
			listed, ACPI_MAX_CPUS);
	if (tally.dropped_ioapics)
		pr_warn("ACPI: MADT lists %u I/O APICs; only the first %u are kept\n",
			out->ioapic_count + tally.dropped_ioapics,
			ACPI_MAX_IOAPICS);
	pr_info("ACPI: MADT: %u processors (%u usable), %u I/O APICs, local APIC at 0x%llx\n",
		out->cpu_count, out->usable_cpu_count, out->ioapic_count,
		ull(out->lapic_addr));
	if (out->usable_cpu_count == 0) {
		pr_err("ACPI: MADT lists %u processors but none is enabled or online-capable\n",
		       listed);
		return ACPI_NO_USABLE_CPU;
	}
	return ACPI_OK;
}

/* ------------------------------------------------------------- interface */

int acpi_parse(const void *rsdp, uint32_t rsdp_len,
	       const struct phys_reader *mem, struct acpi_info *out)
{
	struct rsdp_view rsdp_view;
	struct sdt sdt;
	uint64_t madt_phys;
	int err;

	*out = (struct acpi_info){ 0 };
	if (!rsdp || rsdp_len == 0) {
		pr_err("ACPI: no RSDP given\n");
		return ACPI_NO_RSDP;
	}
	err = parse_rsdp(rsdp, rsdp_len, out, &rsdp_view);
	if (err)
		return err;
	err = choose_sdt(mem, &rsdp_view, &sdt, out);
	if (err)
		return err;
	pr_info("ACPI: revision %u, OEM '%s', %s at 0x%llx\n", out->revision,
		out->oem_id, sdt.name, ull(sdt.phys));

	madt_phys = walk_sdt(mem, &sdt, out);
	if (!madt_phys) {
		pr_err("ACPI: the %s lists no MADT (\"APIC\"); processors unknown\n",
		       sdt.name);
		return ACPI_NO_MADT;
	}
	return parse_madt(mem, madt_phys, out);
}

const char *acpi_strerror(int err)
{
	switch (err) {
	case ACPI_OK:			return "no error";
	case ACPI_NO_RSDP:		return "no RSDP found";
	case ACPI_BAD_RSDP:		return "RSDP invalid";
	case ACPI_BAD_SDT:		return "XSDT and RSDT both unusable";
	case ACPI_NO_MADT:		return "no MADT";
	case ACPI_BAD_MADT:		return "MADT invalid";
	case ACPI_NO_USABLE_CPU:	return "MADT lists no usable processor";
	default:			return "unknown ACPI error";
	}
}
