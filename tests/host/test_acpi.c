/*
 * Host tests of the ACPI parser: crafted RSDP/RSDT/XSDT/MADT images laid
 * out in a buffer that stands for physical memory.
 *
 * The reader hands the parser a fresh heap copy of exactly the range it
 * asked for, so AddressSanitizer catches any byte read past a mapped
 * length, not just past the end of the buffer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "arch/x86/acpi.h"
#include "tests/host/capture.h"

/* ------------------------------------------------------ simulated memory */

#define MEM_SIZE	0x120000ull	/* 1 MiB of low memory and a bit more */

struct test_mem {
	uint8_t *bytes;
	uint64_t deny_start;	/* [deny_start, deny_end) cannot be read */
	uint64_t deny_end;
	void **copies;		/* handed out by mem_map, freed by mem_release */
	size_t copy_count;
	size_t copy_cap;
};

static struct test_mem mem;

static const void *mem_map(uint64_t phys, uint64_t len, void *ctx)
{
	struct test_mem *m = ctx;
	void *copy;

	if (len == 0 || phys >= MEM_SIZE || len > MEM_SIZE - phys)
		return NULL;
	if (phys < m->deny_end && phys + len > m->deny_start)
		return NULL;
	if (m->copy_count == m->copy_cap) {
		m->copy_cap = m->copy_cap ? m->copy_cap * 2 : 64;
		m->copies = realloc(m->copies, m->copy_cap * sizeof(void *));
		assert_non_null(m->copies);
	}
	copy = malloc(len);
	assert_non_null(copy);
	memcpy(copy, m->bytes + phys, len);
	m->copies[m->copy_count++] = copy;
	return copy;
}

static const struct phys_reader reader = { .map = mem_map, .ctx = &mem };

static void mem_release(void)
{
	for (size_t i = 0; i < mem.copy_count; i++)
		free(mem.copies[i]);
	mem.copy_count = 0;
}

static int setup(void **state)
{
	(void)state;
	mem = (struct test_mem){ .bytes = calloc(1, MEM_SIZE) };
	capture_reset();
	return mem.bytes ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	mem_release();
	free(mem.copies);
	free(mem.bytes);
	return 0;
}

static void put8(uint64_t phys, uint8_t v)
{
	mem.bytes[phys] = v;
}

static void put16(uint64_t phys, uint16_t v)
{
	put8(phys, (uint8_t)v);
	put8(phys + 1, (uint8_t)(v >> 8));
}

static void put32(uint64_t phys, uint32_t v)
{
	put16(phys, (uint16_t)v);
	put16(phys + 2, (uint16_t)(v >> 16));
}

static void put64(uint64_t phys, uint64_t v)
{
	put32(phys, (uint32_t)v);
	put32(phys + 4, (uint32_t)(v >> 32));
}

static uint32_t get32(uint64_t phys)
{
	return mem.bytes[phys] | mem.bytes[phys + 1] << 8 |
	       mem.bytes[phys + 2] << 16 | (uint32_t)mem.bytes[phys + 3] << 24;
}

/* Written independently of acpi_checksum() so the two check each other. */
static uint8_t sum_bytes(const uint8_t *p, size_t len)
{
	unsigned sum = 0;

	while (len--)
		sum += *p++;
	return (uint8_t)sum;
}

/* --------------------------------------------------------- table layout */

#define SDT_HEADER_LEN	36

static void sdt_fix_checksum(uint64_t phys)
{
	uint32_t len = get32(phys + 4);

	put8(phys + 9, 0);
	put8(phys + 9, (uint8_t)-sum_bytes(mem.bytes + phys, len));
}

static void sdt_header(uint64_t phys, const char *sig, uint32_t len)
{
	memset(mem.bytes + phys, 0, SDT_HEADER_LEN);
	memcpy(mem.bytes + phys, sig, 4);
	put32(phys + 4, len);
	put8(phys + 8, 1);			/* revision */
	memcpy(mem.bytes + phys + 10, "HVTEST", 6);	/* OEM ID */
	memcpy(mem.bytes + phys + 16, "HVTABLES", 8);	/* OEM table ID */
}

/* A table we do not parse, only record: header and zeroed body. */
static void make_table(uint64_t phys, const char *sig, uint32_t len)
{
	memset(mem.bytes + phys, 0, len);
	sdt_header(phys, sig, len);
	sdt_fix_checksum(phys);
}

static void make_rsdt(uint64_t phys, const uint32_t *entries, unsigned n)
{
	sdt_header(phys, "RSDT", SDT_HEADER_LEN + 4 * n);
	for (unsigned i = 0; i < n; i++)
		put32(phys + SDT_HEADER_LEN + 4 * i, entries[i]);
	sdt_fix_checksum(phys);
}

static void make_xsdt(uint64_t phys, const uint64_t *entries, unsigned n)
{
	sdt_header(phys, "XSDT", SDT_HEADER_LEN + 8 * n);
	for (unsigned i = 0; i < n; i++)
		put64(phys + SDT_HEADER_LEN + 8 * i, entries[i]);
	sdt_fix_checksum(phys);
}

/* An RSDP as the loader would copy it: 20 bytes for revision 0, else 36. */
static void make_rsdp(uint8_t *p, uint8_t revision, uint32_t rsdt,
		      uint64_t xsdt)
{
	memset(p, 0, 36);
	memcpy(p, "RSD PTR ", 8);
	memcpy(p + 9, "HVOEM1", 6);
	p[15] = revision;
	for (int i = 0; i < 4; i++)
		p[16 + i] = (uint8_t)(rsdt >> (8 * i));
	p[8] = (uint8_t)-sum_bytes(p, 20);
	if (revision < 2)
		return;
	p[20] = 36;
	for (int i = 0; i < 8; i++)
		p[24 + i] = (uint8_t)(xsdt >> (8 * i));
	p[32] = (uint8_t)-sum_bytes(p, 36);
}

static void rsdp_fix_checksums(uint8_t *p)
{
	p[8] = 0;
	p[8] = (uint8_t)-sum_bytes(p, 20);
	p[32] = 0;
	p[32] = (uint8_t)-sum_bytes(p, 36);
}

/* MADT under construction: entries are appended, madt_end() seals it. */
struct madt {
	uint64_t phys;
	uint32_t len;
};

#define MADT_PCAT_COMPAT	1u
#define CPU_ENABLED		1u
#define CPU_ONLINE_CAPABLE	2u
#define LAPIC_DEFAULT		0xFEE00000u
#define IOAPIC_DEFAULT		0xFEC00000u

static struct madt madt_begin(uint64_t phys, uint32_t lapic, uint32_t flags)
{
	sdt_header(phys, "APIC", 0);
	put32(phys + 36, lapic);
	put32(phys + 40, flags);
	return (struct madt){ .phys = phys, .len = 44 };
}

static uint64_t madt_entry(struct madt *m, uint8_t type, uint8_t len)
{
	uint64_t entry = m->phys + m->len;

	memset(mem.bytes + entry, 0, len < 2 ? 2 : len);
	put8(entry, type);
	put8(entry + 1, len);
	m->len += len < 2 ? 2 : len;
	return entry;
}

static void madt_lapic(struct madt *m, uint8_t uid, uint8_t apic_id,
		       uint32_t flags)
{
	uint64_t e = madt_entry(m, 0, 8);

	put8(e + 2, uid);
	put8(e + 3, apic_id);
	put32(e + 4, flags);
}

static void madt_x2apic(struct madt *m, uint32_t x2apic_id, uint32_t flags,
			uint32_t uid)
{
	uint64_t e = madt_entry(m, 9, 16);

	put32(e + 4, x2apic_id);
	put32(e + 8, flags);
	put32(e + 12, uid);
}

static void madt_ioapic(struct madt *m, uint8_t id, uint32_t addr,
			uint32_t gsi_base)
{
	uint64_t e = madt_entry(m, 1, 12);

	put8(e + 2, id);
	put32(e + 4, addr);
	put32(e + 8, gsi_base);
}

static void madt_lapic_override(struct madt *m, uint64_t addr)
{
	uint64_t e = madt_entry(m, 5, 12);

	put64(e + 4, addr);
}

/* An interrupt source override (type 2), which the parser skips. */
static void madt_iso(struct madt *m)
{
	uint64_t e = madt_entry(m, 2, 10);

	put8(e + 3, 0);
	put32(e + 4, 2);
}

static void madt_end(struct madt *m)
{
	put32(m->phys + 4, m->len);
	sdt_fix_checksum(m->phys);
}

/* Four ordinary processors, APIC IDs 0-3, and one I/O APIC. */
static void madt_add_four_cpus(struct madt *m)
{
	for (uint8_t i = 0; i < 4; i++)
		madt_lapic(m, i, i, CPU_ENABLED);
	madt_ioapic(m, 8, IOAPIC_DEFAULT, 0);
	madt_iso(m);
}

/* Where the standard image lives: everything between TABLES_START/END. */
#define TABLES_START	0x10000ull
#define FACP_PHYS	0x10000ull
#define FACP_LEN	244
#define MADT_PHYS	0x10100ull
#define HPET_PHYS	0x10800ull
#define HPET_LEN	56
#define RSDT_PHYS	0x10A00ull
#define XSDT_PHYS	0x10B00ull
#define TABLES_END	0x10C00ull

static void make_std_madt(void)
{
	struct madt m = madt_begin(MADT_PHYS, LAPIC_DEFAULT, MADT_PCAT_COMPAT);

	madt_add_four_cpus(&m);
	madt_end(&m);
}

/* FACP, MADT, HPET listed by both an RSDT and an XSDT. */
static void make_std_tables(void)
{
	const uint32_t rsdt[] = { FACP_PHYS, MADT_PHYS, HPET_PHYS };
	const uint64_t xsdt[] = { FACP_PHYS, MADT_PHYS, HPET_PHYS };

	make_table(FACP_PHYS, "FACP", FACP_LEN);
	make_std_madt();
	make_table(HPET_PHYS, "HPET", HPET_LEN);
	make_rsdt(RSDT_PHYS, rsdt, 3);
	make_xsdt(XSDT_PHYS, xsdt, 3);
}

static struct acpi_info info;

static int parse_v2(const uint8_t *rsdp)
{
	return acpi_parse(rsdp, 36, &reader, &info);
}

static bool has_table(const char *sig, uint64_t phys)
{
	for (unsigned i = 0; i < info.table_count; i++)
		if (!strcmp(info.tables[i].signature, sig) &&
		    info.tables[i].phys == phys)
			return true;
	return false;
}

static void assert_logged(const char *needle)
{
	if (!capture_contains(needle))
		fail_msg("expected \"%s\" in the log:\n%s", needle,
			 capture_log());
}

/* ------------------------------------------------------------ good paths */

static void test_checksum(void **state)
{
	const uint8_t bytes[] = { 0x10, 0x20, 0xf0, 0x01 };

	(void)state;
	assert_int_equal(acpi_checksum(bytes, 0), 0);
	assert_int_equal(acpi_checksum(bytes, 3), 0x20);
	assert_int_equal(acpi_checksum(bytes, 4), 0x21);
}

static void test_valid_v1_rsdt(void **state)
{
	uint8_t rsdp[36];

	(void)state;
	make_std_tables();
	make_rsdp(rsdp, 0, RSDT_PHYS, 0);
	assert_int_equal(acpi_parse(rsdp, 20, &reader, &info), ACPI_OK);

	assert_int_equal(info.revision, 0);
	assert_string_equal(info.oem_id, "HVOEM1");
	assert_false(info.used_xsdt);
	assert_int_equal(info.sdt_phys, RSDT_PHYS);
	assert_int_equal(info.table_count, 4);
	assert_true(has_table("RSDT", RSDT_PHYS));
	assert_true(has_table("FACP", FACP_PHYS));
	assert_true(has_table("APIC", MADT_PHYS));
	assert_true(has_table("HPET", HPET_PHYS));
	assert_int_equal(info.tables[1].length, FACP_LEN);

	assert_true(info.have_madt);
	assert_int_equal(info.lapic_addr, LAPIC_DEFAULT);
	assert_true(info.pcat_compat);
	assert_int_equal(info.cpu_count, 4);
	assert_int_equal(info.usable_cpu_count, 4);
	for (unsigned i = 0; i < 4; i++) {
		assert_int_equal(info.cpus[i].apic_id, i);
		assert_int_equal(info.cpus[i].acpi_uid, i);
		assert_true(info.cpus[i].enabled);
		assert_false(info.cpus[i].online_capable);
		assert_false(info.cpus[i].x2apic_entry);
	}
	assert_int_equal(info.ioapic_count, 1);
	assert_int_equal(info.ioapics[0].id, 8);
	assert_int_equal(info.ioapics[0].addr, IOAPIC_DEFAULT);
	assert_int_equal(info.ioapics[0].gsi_base, 0);
}

static void test_valid_v2_xsdt_x2apic_override(void **state)
{
	struct madt m;
	uint8_t rsdp[36];

	(void)state;
	make_std_tables();
	m = madt_begin(MADT_PHYS, LAPIC_DEFAULT, 0);
	madt_add_four_cpus(&m);
	madt_x2apic(&m, 300, CPU_ENABLED, 40);
	madt_x2apic(&m, 0x12345, CPU_ENABLED, 41);
	madt_ioapic(&m, 9, 0xFEC01000u, 24);
	madt_lapic_override(&m, 0x1FEE00000ull);
	madt_end(&m);
	make_rsdp(rsdp, 2, RSDT_PHYS, XSDT_PHYS);

	assert_int_equal(parse_v2(rsdp), ACPI_OK);
	assert_int_equal(info.revision, 2);
	assert_true(info.used_xsdt);
	assert_int_equal(info.sdt_phys, XSDT_PHYS);
	assert_true(has_table("XSDT", XSDT_PHYS));
	assert_false(has_table("RSDT", RSDT_PHYS));
	assert_int_equal(info.table_count, 4);

	assert_false(info.pcat_compat);
	assert_int_equal(info.lapic_addr, 0x1FEE00000ull);
	assert_int_equal(info.cpu_count, 6);
	assert_int_equal(info.usable_cpu_count, 6);
	assert_int_equal(info.cpus[4].apic_id, 300);
	assert_int_equal(info.cpus[4].acpi_uid, 40);
	assert_true(info.cpus[4].x2apic_entry);
	assert_int_equal(info.cpus[5].apic_id, 0x12345);
	assert_int_equal(info.cpus[5].acpi_uid, 41);
	assert_int_equal(info.ioapic_count, 2);
	assert_int_equal(info.ioapics[1].id, 9);
	assert_int_equal(info.ioapics[1].addr, 0xFEC01000u);
	assert_int_equal(info.ioapics[1].gsi_base, 24);
}

/* A table in the XSDT above 4 GiB (not in our memory) is skipped. */
static void test_xsdt_entry_above_4g(void **state)
{
	const uint64_t xsdt[] = { 0x100000000ull, MADT_PHYS };
	uint8_t rsdp[36];

	(void)state;
	make_std_tables();
	make_xsdt(XSDT_PHYS, xsdt, 2);
	make_rsdp(rsdp, 2, RSDT_PHYS, XSDT_PHYS);
	assert_int_equal(parse_v2(rsdp), ACPI_OK);
	assert_int_equal(info.table_count, 2);
	assert_logged("XSDT entry 0 at 0x100000000 cannot be read");
}

/* -------------------------------------------------------------- the RSDP */

static void test_no_rsdp_given(void **state)
{
	(void)state;
	assert_int_equal(acpi_parse(NULL, 0, &reader, &info), ACPI_NO_RSDP);
	assert_logged("no RSDP");
}

static void test_rsdp_bad_checksum(void **state)
{
	uint8_t rsdp[36];

	(void)state;
	make_std_tables();
	make_rsdp(rsdp, 0, RSDT_PHYS, 0);
	rsdp[8]++;
	assert_int_equal(acpi_parse(rsdp, 20, &reader, &info), ACPI_BAD_RSDP);
	assert_logged("RSDP rejected: bad checksum");
}

static void test_rsdp_bad_signature(void **state)
{
	uint8_t rsdp[36];

	(void)state;
	make_std_tables();
	make_rsdp(rsdp, 2, RSDT_PHYS, XSDT_PHYS);
	rsdp[3] = 'X';
	rsdp_fix_checksums(rsdp);
	assert_int_equal(parse_v2(rsdp), ACPI_BAD_RSDP);
	assert_logged("signature");
}

static void test_rsdp_too_short(void **state)
{
	uint8_t rsdp[36];

	(void)state;
	make_rsdp(rsdp, 0, RSDT_PHYS, 0);
	assert_int_equal(acpi_parse(rsdp, 19, &reader, &info), ACPI_BAD_RSDP);
	assert_logged("shorter than 20 bytes");
}

static void test_rsdp_v2_bad_extended_checksum(void **state)
{
	uint8_t rsdp[36];

	(void)state;
	make_std_tables();
	make_rsdp(rsdp, 2, RSDT_PHYS, XSDT_PHYS);
	rsdp[24] ^= 0x10;	/* XSDT address: only the extended sum covers it */
	assert_int_equal(parse_v2(rsdp), ACPI_BAD_RSDP);
	assert_logged("bad extended checksum");
}

static void test_rsdp_v2_bad_length(void **state)
{
	uint8_t rsdp[36];

	(void)state;
	make_std_tables();
	make_rsdp(rsdp, 2, RSDT_PHYS, XSDT_PHYS);
	rsdp[20] = 20;
	rsdp_fix_checksums(rsdp);
	assert_int_equal(parse_v2(rsdp), ACPI_BAD_RSDP);
	assert_logged("implausible length");
}

/* Revision 2 but only the 20-byte part was copied: the RSDT is all we
 * have an address for. */
static void test_rsdp_v2_short_copy_uses_rsdt(void **state)
{
	uint8_t rsdp[36];

	(void)state;
	make_std_tables();
	make_rsdp(rsdp, 2, RSDT_PHYS, XSDT_PHYS);
	assert_int_equal(acpi_parse(rsdp, 20, &reader, &info), ACPI_OK);
	assert_false(info.used_xsdt);
	assert_int_equal(info.sdt_phys, RSDT_PHYS);
	assert_logged("only 20 bytes given; using the RSDT");
}

/* A length beyond what the loader copied cannot be summed; say so. */
static void test_rsdp_v2_longer_than_copy(void **state)
{
	uint8_t rsdp[36];

	(void)state;
	make_std_tables();
	make_rsdp(rsdp, 2, RSDT_PHYS, XSDT_PHYS);
	rsdp[20] = 40;
	rsdp_fix_checksums(rsdp);
	assert_int_equal(parse_v2(rsdp), ACPI_OK);
	assert_true(info.used_xsdt);
	assert_logged("extended checksum not checked");
}

static void test_rsdp_v2_null_xsdt_uses_rsdt(void **state)
{
	uint8_t rsdp[36];

	(void)state;
	make_std_tables();
	make_rsdp(rsdp, 2, RSDT_PHYS, 0);
	assert_int_equal(parse_v2(rsdp), ACPI_OK);
	assert_false(info.used_xsdt);
	assert_logged("no XSDT address");
}

/* ---------------------------------------------------------- XSDT / RSDT */

static void test_xsdt_bad_checksum_falls_back(void **state)
{
	uint8_t rsdp[36];

	(void)state;
	make_std_tables();
	put8(XSDT_PHYS + 9, mem.bytes[XSDT_PHYS + 9] + 1);
	make_rsdp(rsdp, 2, RSDT_PHYS, XSDT_PHYS);
	assert_int_equal(parse_v2(rsdp), ACPI_OK);
	assert_false(info.used_xsdt);
	assert_int_equal(info.sdt_phys, RSDT_PHYS);
	assert_true(has_table("RSDT", RSDT_PHYS));
	assert_false(has_table("XSDT", XSDT_PHYS));
	assert_int_equal(info.cpu_count, 4);
	assert_logged("XSDT 'XSDT' at 0x10b00 has a bad checksum");
	assert_logged("falling back to the RSDT");
}

static void test_xsdt_wrong_signature_falls_back(void **state)
{
	uint8_t rsdp[36];

	(void)state;
	make_std_tables();
	make_rsdp(rsdp, 2, RSDT_PHYS, FACP_PHYS);
	assert_int_equal(parse_v2(rsdp), ACPI_OK);
	assert_false(info.used_xsdt);
	assert_logged("XSDT at 0x10000 has signature 'FACP'; falling back to the RSDT");
}

static void test_xsdt_unreadable_falls_back(void **state)
{
	uint8_t rsdp[36];

	(void)state;
	make_std_tables();
	make_rsdp(rsdp, 2, RSDT_PHYS, 0xFFFFFFFFFFFFFFF0ull);
	assert_int_equal(parse_v2(rsdp), ACPI_OK);
	assert_false(info.used_xsdt);
	assert_logged("cannot be read; falling back to the RSDT");
}

static void test_xsdt_and_rsdt_bad(void **state)
{
	uint8_t rsdp[36];

	(void)state;
	make_std_tables();
	put8(XSDT_PHYS + 9, mem.bytes[XSDT_PHYS + 9] + 1);
	put8(RSDT_PHYS + 9, mem.bytes[RSDT_PHYS + 9] + 1);
	make_rsdp(rsdp, 2, RSDT_PHYS, XSDT_PHYS);
	assert_int_equal(parse_v2(rsdp), ACPI_BAD_SDT);
	assert_false(info.have_madt);
	assert_logged("falling back to the RSDT");
	assert_logged("neither an XSDT nor an RSDT is usable");
}

static void test_rsdt_bad_v1(void **state)
{
	uint8_t rsdp[36];

	(void)state;
	make_std_tables();
	put32(RSDT_PHYS + 4, 10);	/* shorter than a header */
	make_rsdp(rsdp, 0, RSDT_PHYS, 0);
	assert_int_equal(acpi_parse(rsdp, 20, &reader, &info), ACPI_BAD_SDT);
	assert_logged("implausible length 10");
}

static void test_sdt_entry_outside_memory(void **state)
{
	const uint32_t rsdt[] = { FACP_PHYS, 0x7FFF0000u, 0, MADT_PHYS };
	uint8_t rsdp[36];

	(void)state;
	make_std_tables();
	make_rsdt(RSDT_PHYS, rsdt, 4);
	make_rsdp(rsdp, 0, RSDT_PHYS, 0);
	assert_int_equal(acpi_parse(rsdp, 20, &reader, &info), ACPI_OK);
	assert_int_equal(info.table_count, 3);
	assert_true(has_table("FACP", FACP_PHYS));
	assert_true(has_table("APIC", MADT_PHYS));
	assert_logged("RSDT entry 1 at 0x7fff0000 cannot be read; skipped");
	assert_logged("RSDT entry 2 is null");
}

/* The header is readable but the length runs past the end of memory. */
static void test_table_truncated(void **state)
{
	const uint64_t tail = MEM_SIZE - 0x40;
	const uint32_t rsdt[] = { FACP_PHYS, tail, MADT_PHYS };
	uint8_t rsdp[36];

	(void)state;
	make_std_tables();
	sdt_header(tail, "SSDT", 0x100);
	make_rsdt(RSDT_PHYS, rsdt, 3);
	make_rsdp(rsdp, 0, RSDT_PHYS, 0);
	assert_int_equal(acpi_parse(rsdp, 20, &reader, &info), ACPI_OK);
	assert_false(has_table("SSDT", tail));
	assert_int_equal(info.table_count, 3);
	assert_logged("'SSDT' at 0x11ffc0 (length 256) runs past readable memory; skipped");
}

static void test_listed_table_bad_checksum_skipped(void **state)
{
	uint8_t rsdp[36];

	(void)state;
	make_std_tables();
	put8(HPET_PHYS + 20, 0x55);
	make_rsdp(rsdp, 2, RSDT_PHYS, XSDT_PHYS);
	assert_int_equal(parse_v2(rsdp), ACPI_OK);
	assert_false(has_table("HPET", HPET_PHYS));
	assert_int_equal(info.table_count, 3);
	assert_logged("XSDT entry 2 'HPET' at 0x10800 has a bad checksum");
}

static void test_sdt_partial_entry(void **state)
{
	uint8_t rsdp[36];

	(void)state;
	make_std_tables();
	put32(XSDT_PHYS + 4, SDT_HEADER_LEN + 8 * 2 + 4);	/* 2.5 entries */
	sdt_fix_checksum(XSDT_PHYS);
	make_rsdp(rsdp, 2, RSDT_PHYS, XSDT_PHYS);
	assert_int_equal(parse_v2(rsdp), ACPI_OK);
	assert_false(has_table("HPET", HPET_PHYS));
	assert_logged("partial entry");
}

/* More tables than ACPI_MAX_TABLES: the extra are not recorded, but the
 * MADT listed last is still found. */
static void test_too_many_tables(void **state)
{
	uint32_t rsdt[80];
	uint8_t rsdp[36];

	(void)state;
	make_std_madt();
	for (unsigned i = 0; i < 79; i++) {
		rsdt[i] = 0x20000 + 0x40 * i;
		make_table(rsdt[i], "SSDT", 0x40);
	}
	rsdt[79] = MADT_PHYS;
	make_rsdt(RSDT_PHYS, rsdt, 80);
	make_rsdp(rsdp, 0, RSDT_PHYS, 0);
	assert_int_equal(acpi_parse(rsdp, 20, &reader, &info), ACPI_OK);
	assert_int_equal(info.table_count, ACPI_MAX_TABLES);
	assert_true(info.have_madt);
	assert_int_equal(info.cpu_count, 4);
	assert_logged("more than 64 tables");
}

/* ------------------------------------------------------------------ MADT */

static void test_no_madt(void **state)
{
	const uint32_t rsdt[] = { FACP_PHYS, HPET_PHYS };
	uint8_t rsdp[36];

	(void)state;
	make_std_tables();
	make_rsdt(RSDT_PHYS, rsdt, 2);
	make_rsdp(rsdp, 0, RSDT_PHYS, 0);
	assert_int_equal(acpi_parse(rsdp, 20, &reader, &info), ACPI_NO_MADT);
	assert_false(info.have_madt);
	assert_int_equal(info.table_count, 3);
	assert_logged("RSDT lists no MADT");
}

static void test_madt_bad_checksum(void **state)
{
	uint8_t rsdp[36];
	uint8_t good;

	(void)state;
	make_std_tables();
	good = mem.bytes[MADT_PHYS + 9];
	put8(MADT_PHYS + 9, (uint8_t)(good + 3));
	make_rsdp(rsdp, 2, RSDT_PHYS, XSDT_PHYS);
	assert_int_equal(parse_v2(rsdp), ACPI_BAD_MADT);
	assert_false(info.have_madt);
	assert_false(has_table("APIC", MADT_PHYS));

	char expect[128];

	snprintf(expect, sizeof(expect),
		 "bad checksum: found 0x%02x, expected 0x%02x",
		 (uint8_t)(good + 3), good);
	assert_logged("MADT 'APIC' at 0x10100");
	assert_logged(expect);
}

static void test_madt_truncated(void **state)
{
	const uint64_t tail = MEM_SIZE - 0x80;
	struct madt m;
	const uint32_t rsdt[] = { FACP_PHYS, tail };
	uint8_t rsdp[36];

	(void)state;
	make_std_tables();
	m = madt_begin(tail, LAPIC_DEFAULT, 0);
	madt_lapic(&m, 0, 0, CPU_ENABLED);
	madt_end(&m);
	put32(tail + 4, 0x200);	/* claims more than memory holds */
	make_rsdt(RSDT_PHYS, rsdt, 2);
	make_rsdp(rsdp, 0, RSDT_PHYS, 0);
	assert_int_equal(acpi_parse(rsdp, 20, &reader, &info), ACPI_BAD_MADT);
	assert_logged("runs past readable memory");
}

static void test_madt_shorter_than_fixed_part(void **state)
{
	uint8_t rsdp[36];

	(void)state;
	make_std_tables();
	put32(MADT_PHYS + 4, 40);
	sdt_fix_checksum(MADT_PHYS);
	make_rsdp(rsdp, 2, RSDT_PHYS, XSDT_PHYS);
	assert_int_equal(parse_v2(rsdp), ACPI_BAD_MADT);
	assert_logged("shorter than its 44-byte fixed part");
}

/* A zero length would loop forever if it were stepped over. */
static void test_madt_zero_length_entry_after_cpus(void **state)
{
	struct madt m;
	uint8_t rsdp[36];

	(void)state;
	make_std_tables();
	m = madt_begin(MADT_PHYS, LAPIC_DEFAULT, 0);
	madt_lapic(&m, 0, 0, CPU_ENABLED);
	madt_lapic(&m, 1, 1, CPU_ENABLED);
	madt_entry(&m, 0, 0);
	madt_lapic(&m, 2, 2, CPU_ENABLED);	/* beyond the bad entry */
	madt_end(&m);
	make_rsdp(rsdp, 2, RSDT_PHYS, XSDT_PHYS);
	assert_int_equal(parse_v2(rsdp), ACPI_OK);
	assert_int_equal(info.cpu_count, 2);
	assert_logged("MADT entry at offset 60 (type 0, length 0, 10 bytes left) is malformed; ignoring the rest, keeping 2 processors");
}

static void test_madt_zero_length_entry_first(void **state)
{
	struct madt m;
	uint8_t rsdp[36];

	(void)state;
	make_std_tables();
	m = madt_begin(MADT_PHYS, LAPIC_DEFAULT, 0);
	madt_ioapic(&m, 1, IOAPIC_DEFAULT, 0);
	madt_entry(&m, 1, 1);
	madt_lapic(&m, 0, 0, CPU_ENABLED);
	madt_end(&m);
	make_rsdp(rsdp, 2, RSDT_PHYS, XSDT_PHYS);
	assert_int_equal(parse_v2(rsdp), ACPI_BAD_MADT);
	assert_logged("malformed and no processor came before it");
}

static void test_madt_entry_past_end(void **state)
{
	struct madt m;
	uint8_t rsdp[36];

	(void)state;
	make_std_tables();
	m = madt_begin(MADT_PHYS, LAPIC_DEFAULT, 0);
	madt_lapic(&m, 0, 0, CPU_ENABLED);
	madt_lapic(&m, 1, 1, CPU_ENABLED);
	madt_end(&m);
	/* The last entry claims 16 bytes where 8 are left. */
	put8(MADT_PHYS + m.len - 8 + 1, 16);
	sdt_fix_checksum(MADT_PHYS);
	make_rsdp(rsdp, 2, RSDT_PHYS, XSDT_PHYS);
	assert_int_equal(parse_v2(rsdp), ACPI_OK);
	assert_int_equal(info.cpu_count, 1);
	assert_logged("(type 0, length 16, 8 bytes left) is malformed");
}

/* One odd trailing byte: not even a type and a length fit. */
static void test_madt_trailing_byte(void **state)
{
	struct madt m;
	uint8_t rsdp[36];

	(void)state;
	make_std_tables();
	m = madt_begin(MADT_PHYS, LAPIC_DEFAULT, 0);
	madt_lapic(&m, 0, 0, CPU_ENABLED);
	madt_end(&m);
	put32(MADT_PHYS + 4, m.len + 1);
	put8(MADT_PHYS + m.len, 0x7f);
	sdt_fix_checksum(MADT_PHYS);
	make_rsdp(rsdp, 2, RSDT_PHYS, XSDT_PHYS);
	assert_int_equal(parse_v2(rsdp), ACPI_OK);
	assert_int_equal(info.cpu_count, 1);
	assert_logged("1 bytes left) is malformed");
}

static void test_madt_entry_too_short_for_type(void **state)
{
	struct madt m;
	uint8_t rsdp[36];

	(void)state;
	make_std_tables();
	m = madt_begin(MADT_PHYS, LAPIC_DEFAULT, 0);
	madt_entry(&m, 0, 6);		/* processor, needs 8 */
	madt_entry(&m, 9, 12);		/* x2APIC, needs 16 */
	madt_entry(&m, 1, 8);		/* I/O APIC, needs 12 */
	madt_entry(&m, 5, 4);		/* override, needs 12 */
	madt_lapic(&m, 0, 7, CPU_ENABLED);
	madt_end(&m);
	make_rsdp(rsdp, 2, RSDT_PHYS, XSDT_PHYS);
	assert_int_equal(parse_v2(rsdp), ACPI_OK);
	assert_int_equal(info.cpu_count, 1);
	assert_int_equal(info.cpus[0].apic_id, 7);
	assert_int_equal(info.ioapic_count, 0);
	assert_int_equal(info.lapic_addr, LAPIC_DEFAULT);
	assert_logged("(type 0) has length 6, needs 8; skipped");
	assert_logged("(type 9) has length 12, needs 16; skipped");
	assert_logged("(type 1) has length 8, needs 12; skipped");
	assert_logged("(type 5) has length 4, needs 12; skipped");
}

/* Longer-than-needed entries (a later spec revision) and unknown types are
 * stepped over by their length. */
static void test_madt_unknown_and_long_entries(void **state)
{
	struct madt m;
	uint8_t rsdp[36];
	uint64_t e;

	(void)state;
	make_std_tables();
	m = madt_begin(MADT_PHYS, LAPIC_DEFAULT, 0);
	madt_entry(&m, 0x7f, 30);
	madt_entry(&m, 0x11, 2);
	e = madt_entry(&m, 0, 12);	/* processor with 4 extra bytes */
	put8(e + 2, 5);
	put8(e + 3, 6);
	put32(e + 4, CPU_ENABLED);
	put32(e + 8, 0xFFFFFFFF);
	madt_end(&m);
	make_rsdp(rsdp, 2, RSDT_PHYS, XSDT_PHYS);
	assert_int_equal(parse_v2(rsdp), ACPI_OK);
	assert_int_equal(info.cpu_count, 1);
	assert_int_equal(info.cpus[0].apic_id, 6);
	assert_int_equal(info.cpus[0].acpi_uid, 5);
}

static void test_madt_no_usable_cpu(void **state)
{
	struct madt m;
	uint8_t rsdp[36];

	(void)state;
	make_std_tables();
	m = madt_begin(MADT_PHYS, LAPIC_DEFAULT, 0);
	for (uint8_t i = 0; i < 3; i++)
		madt_lapic(&m, i, i, 0);
	madt_x2apic(&m, 400, 0, 3);
	madt_end(&m);
	make_rsdp(rsdp, 2, RSDT_PHYS, XSDT_PHYS);
	assert_int_equal(parse_v2(rsdp), ACPI_NO_USABLE_CPU);
	assert_true(info.have_madt);
	assert_int_equal(info.cpu_count, 4);
	assert_int_equal(info.usable_cpu_count, 0);
	assert_false(info.cpus[0].enabled);
	assert_logged("MADT lists 4 processors but none is enabled or online-capable");
}

static void test_madt_online_capable_is_usable(void **state)
{
	struct madt m;
	uint8_t rsdp[36];

	(void)state;
	make_std_tables();
	m = madt_begin(MADT_PHYS, LAPIC_DEFAULT, 0);
	madt_lapic(&m, 0, 0, 0);			/* unusable */
	madt_lapic(&m, 1, 1, CPU_ONLINE_CAPABLE);	/* hot-pluggable */
	madt_x2apic(&m, 500, CPU_ONLINE_CAPABLE, 2);
	madt_end(&m);
	make_rsdp(rsdp, 2, RSDT_PHYS, XSDT_PHYS);
	assert_int_equal(parse_v2(rsdp), ACPI_OK);
	assert_int_equal(info.cpu_count, 3);
	assert_int_equal(info.usable_cpu_count, 2);
	assert_false(info.cpus[1].enabled);
	assert_true(info.cpus[1].online_capable);
	assert_true(info.cpus[2].online_capable);
}

static void test_madt_duplicate_apic_ids(void **state)
{
	struct madt m;
	uint8_t rsdp[36];

	(void)state;
	make_std_tables();
	m = madt_begin(MADT_PHYS, LAPIC_DEFAULT, 0);
	madt_lapic(&m, 0, 0, CPU_ENABLED);
	madt_lapic(&m, 1, 3, CPU_ENABLED);
	madt_lapic(&m, 2, 3, CPU_ENABLED);	/* same APIC ID */
	madt_x2apic(&m, 0, CPU_ENABLED, 9);	/* same ID as type 0 entry */
	madt_end(&m);
	make_rsdp(rsdp, 2, RSDT_PHYS, XSDT_PHYS);
	assert_int_equal(parse_v2(rsdp), ACPI_OK);
	assert_int_equal(info.cpu_count, 2);
	assert_int_equal(info.usable_cpu_count, 2);
	assert_int_equal(info.cpus[1].apic_id, 3);
	assert_int_equal(info.cpus[1].acpi_uid, 1);
	assert_false(info.cpus[0].x2apic_entry);
	assert_logged("MADT lists APIC ID 3 twice; keeping the first entry");
	assert_logged("MADT lists APIC ID 0 twice");
}

static void test_madt_more_than_max_cpus(void **state)
{
	struct madt m = madt_begin(MADT_PHYS, LAPIC_DEFAULT, 0);
	const uint32_t rsdt[] = { MADT_PHYS };
	uint8_t rsdp[36];

	(void)state;
	for (uint32_t i = 0; i < 300; i++)
		madt_x2apic(&m, 1000 + i, CPU_ENABLED, i);
	madt_end(&m);
	make_rsdt(RSDT_PHYS + 0x2000, rsdt, 1);
	make_rsdp(rsdp, 0, RSDT_PHYS + 0x2000, 0);
	assert_int_equal(acpi_parse(rsdp, 20, &reader, &info), ACPI_OK);
	assert_int_equal(info.cpu_count, ACPI_MAX_CPUS);
	assert_int_equal(info.usable_cpu_count, ACPI_MAX_CPUS);
	assert_int_equal(info.cpus[ACPI_MAX_CPUS - 1].apic_id,
			 1000 + ACPI_MAX_CPUS - 1);
	assert_logged("MADT lists 300 processors; only the first 256 are kept");
}

static void test_madt_more_than_max_ioapics(void **state)
{
	struct madt m;
	uint8_t rsdp[36];

	(void)state;
	make_std_tables();
	m = madt_begin(MADT_PHYS, LAPIC_DEFAULT, 0);
	madt_lapic(&m, 0, 0, CPU_ENABLED);
	for (uint8_t i = 0; i < 20; i++)
		madt_ioapic(&m, i, IOAPIC_DEFAULT + 0x1000u * i, 24u * i);
	madt_end(&m);
	make_rsdp(rsdp, 2, RSDT_PHYS, XSDT_PHYS);
	assert_int_equal(parse_v2(rsdp), ACPI_OK);
	assert_int_equal(info.ioapic_count, ACPI_MAX_IOAPICS);
	assert_int_equal(info.ioapics[15].gsi_base, 24 * 15);
	assert_logged("MADT lists 20 I/O APICs; only the first 16 are kept");
}

static void test_madt_second_override_ignored(void **state)
{
	struct madt m;
	uint8_t rsdp[36];

	(void)state;
	make_std_tables();
	m = madt_begin(MADT_PHYS, LAPIC_DEFAULT, 0);
	madt_lapic(&m, 0, 0, CPU_ENABLED);
	madt_lapic_override(&m, 0xAAAA0000ull);
	madt_lapic_override(&m, 0xBBBB0000ull);
	madt_end(&m);
	make_rsdp(rsdp, 2, RSDT_PHYS, XSDT_PHYS);
	assert_int_equal(parse_v2(rsdp), ACPI_OK);
	assert_int_equal(info.lapic_addr, 0xAAAA0000ull);
	assert_logged("another local APIC address override (0xbbbb0000)");
}

/* --------------------------------------------------- BIOS-area RSDP scan */

#define EBDA_SEGMENT	0x9FC0
#define EBDA_PHYS	0x9FC00ull

static void place_rsdp(uint64_t phys, uint8_t revision)
{
	make_rsdp(mem.bytes + phys, revision, RSDT_PHYS, XSDT_PHYS);
}

static void test_bios_rsdp_in_ebda(void **state)
{
	uint64_t found = 0;

	(void)state;
	put16(0x40E, EBDA_SEGMENT);
	place_rsdp(EBDA_PHYS + 0x40, 2);
	place_rsdp(0xF0000, 2);
	assert_int_equal(acpi_find_rsdp_bios(&reader, &found), ACPI_OK);
	assert_int_equal(found, EBDA_PHYS + 0x40);
}

/* Only the first KiB of the EBDA is searched. */
static void test_bios_rsdp_past_ebda_first_kib(void **state)
{
	uint64_t found = 0;

	(void)state;
	put16(0x40E, EBDA_SEGMENT);
	place_rsdp(EBDA_PHYS + 0x400, 2);
	place_rsdp(0xFFF00, 0);
	assert_int_equal(acpi_find_rsdp_bios(&reader, &found), ACPI_OK);
	assert_int_equal(found, 0xFFF00);
}

static void test_bios_rsdp_in_e0000_area(void **state)
{
	uint64_t found = 0;

	(void)state;
	place_rsdp(0xF5A30, 0);		/* EBDA pointer is 0: skipped */
	assert_int_equal(acpi_find_rsdp_bios(&reader, &found), ACPI_OK);
	assert_int_equal(found, 0xF5A30);
	assert_logged("RSDP at 0xf5a30");
}

static void test_bios_skips_bad_candidates(void **state)
{
	uint64_t found = 0;

	(void)state;
	put16(0x40E, EBDA_SEGMENT);
	place_rsdp(EBDA_PHYS + 0x10, 0);
	mem.bytes[EBDA_PHYS + 0x10 + 8]++;		/* bad checksum */
	place_rsdp(0xE1000, 2);
	mem.bytes[0xE1000 + 30]++;			/* bad extended sum */
	place_rsdp(0xE2008, 0);				/* not 16-aligned */
	place_rsdp(0xE3000, 2);
	assert_int_equal(acpi_find_rsdp_bios(&reader, &found), ACPI_OK);
	assert_int_equal(found, 0xE3000);
	assert_logged("RSDP candidate at 0x9fc10: bad checksum; skipped");
	assert_logged("RSDP candidate at 0xe1000: bad extended checksum; skipped");
}

static void test_bios_no_rsdp(void **state)
{
	uint64_t found = 0;

	(void)state;
	put16(0x40E, EBDA_SEGMENT);
	memcpy(mem.bytes + 0xE0000, "RSD PTR ", 8);	/* signature only */
	assert_int_equal(acpi_find_rsdp_bios(&reader, &found), ACPI_NO_RSDP);
	assert_logged("RSDP candidate at 0xe0000: bad checksum");
	assert_logged("no valid RSDP in the EBDA or in 0xE0000-0xFFFFF");
}

static void test_bios_ebda_pointer_unreadable(void **state)
{
	uint64_t found = 0;

	(void)state;
	put16(0x40E, EBDA_SEGMENT);
	place_rsdp(EBDA_PHYS, 0);
	place_rsdp(0xE0010, 0);
	mem.deny_start = 0;
	mem.deny_end = 0x1000;
	assert_int_equal(acpi_find_rsdp_bios(&reader, &found), ACPI_OK);
	assert_int_equal(found, 0xE0010);
}

/* From the BIOS scan to the MADT, as a multiboot1 boot would go. */
static void test_bios_scan_then_parse(void **state)
{
	uint64_t found = 0;

	(void)state;
	make_std_tables();
	place_rsdp(0xE8000, 2);
	assert_int_equal(acpi_find_rsdp_bios(&reader, &found), ACPI_OK);
	assert_int_equal(acpi_parse(mem.bytes + found, 36, &reader, &info),
			 ACPI_OK);
	assert_true(info.used_xsdt);
	assert_int_equal(info.usable_cpu_count, 4);
}

static void test_strerror(void **state)
{
	const int codes[] = { ACPI_OK, ACPI_NO_RSDP, ACPI_BAD_RSDP, ACPI_BAD_SDT,
			      ACPI_NO_MADT, ACPI_BAD_MADT, ACPI_NO_USABLE_CPU };

	(void)state;
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		assert_non_null(acpi_strerror(codes[i]));
		for (size_t j = 0; j < i; j++)
			assert_string_not_equal(acpi_strerror(codes[i]),
						acpi_strerror(codes[j]));
	}
	assert_string_equal(acpi_strerror(-99), "unknown ACPI error");
}

/* ------------------------------------------------------------------ fuzz */

static uint64_t rng_state;

static uint32_t rng(void)
{
	/* xorshift64*: reproducible from the fixed seed, no libc state. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 0x2545F4914F6CDD1Dull) >> 32);
}

static const struct {
	uint64_t phys;
	uint32_t len;
} fuzz_regions[] = {
	{ FACP_PHYS, 64 }, { MADT_PHYS, 0x100 }, { HPET_PHYS, HPET_LEN },
	{ RSDT_PHYS, 48 }, { XSDT_PHYS, 60 },
};

#define ARRAY_SIZE_REGIONS (sizeof(fuzz_regions) / sizeof(fuzz_regions[0]))

static void make_fuzz_madt(void)
{
	struct madt m = madt_begin(MADT_PHYS, LAPIC_DEFAULT, MADT_PCAT_COMPAT);

	madt_add_four_cpus(&m);
	madt_x2apic(&m, 300, CPU_ONLINE_CAPABLE, 4);
	madt_lapic_override(&m, 0xFEE00000ull);
	madt_ioapic(&m, 9, 0xFEC01000u, 24);
	madt_end(&m);
}

static void fuzz_mutate(uint8_t *rsdp)
{
	unsigned mutations = 1 + rng() % 6;

	for (unsigned i = 0; i < mutations; i++) {
		uint8_t value = (rng() & 1) ? (uint8_t)rng() :
					      (uint8_t)(1u << (rng() % 8));
		unsigned which = rng() % (ARRAY_SIZE_REGIONS + 1);

		if (which == ARRAY_SIZE_REGIONS) {
			rsdp[rng() % 36] ^= value;
			continue;
		}
		mem.bytes[fuzz_regions[which].phys +
			  rng() % fuzz_regions[which].len] ^= value;
	}
}

/* Re-seal every table as firmware would, so the mutation reaches the
 * parsing past the checksum checks. */
static void fuzz_fix_checksums(uint8_t *rsdp)
{
	for (unsigned i = 0; i < ARRAY_SIZE_REGIONS; i++) {
		uint64_t phys = fuzz_regions[i].phys;
		uint32_t len = get32(phys + 4);

		if (len >= 10 && len <= MEM_SIZE - phys)
			sdt_fix_checksum(phys);
	}
	rsdp_fix_checksums(rsdp);
}

static void assert_info_sane(int err)
{
	assert_true(err <= 0 && err >= ACPI_NO_USABLE_CPU);
	assert_string_not_equal(acpi_strerror(err), "unknown ACPI error");
	assert_true(info.table_count <= ACPI_MAX_TABLES);
	assert_true(info.cpu_count <= ACPI_MAX_CPUS);
	assert_true(info.usable_cpu_count <= info.cpu_count);
	assert_true(info.ioapic_count <= ACPI_MAX_IOAPICS);
	assert_true(memchr(info.oem_id, 0, sizeof(info.oem_id)) != NULL);
	for (unsigned i = 0; i < info.table_count; i++) {
		assert_int_equal(strlen(info.tables[i].signature), 4);
		assert_true(info.tables[i].length >= SDT_HEADER_LEN);
	}
	if (err == ACPI_OK)
		assert_true(info.have_madt && info.usable_cpu_count > 0);
}

#define FUZZ_ITERATIONS		20000
#define BIOS_FUZZ_ITERATIONS	200

static void test_fuzz_parse(void **state)
{
	unsigned outcomes[7] = { 0 };
	uint8_t rsdp[36];

	(void)state;
	rng_state = 0x5EEDACB1DEADBEEFull;
	for (unsigned iter = 0; iter < FUZZ_ITERATIONS; iter++) {
		int err;

		memset(mem.bytes + TABLES_START, 0, TABLES_END - TABLES_START);
		make_std_tables();
		make_fuzz_madt();
		make_rsdp(rsdp, (rng() & 3) ? 2 : 0, RSDT_PHYS, XSDT_PHYS);
		fuzz_mutate(rsdp);
		if (rng() % 4)
			fuzz_fix_checksums(rsdp);

		capture_reset();
		err = acpi_parse(rsdp, (rng() % 8) ? 36 : rng() % 37, &reader,
				 &info);
		assert_info_sane(err);
		outcomes[-err]++;
		mem_release();
	}
	/* The mutations must reach past the checksums, not only fail them. */
	assert_true(outcomes[0] > FUZZ_ITERATIONS / 10);
	assert_true(outcomes[-ACPI_BAD_MADT] > 0);
	assert_true(outcomes[-ACPI_BAD_RSDP] > 0);
}

static void test_fuzz_bios_scan(void **state)
{
	const uint64_t spots[] = { EBDA_PHYS, EBDA_PHYS + 0x3F0, 0xE0000,
				   0xF1230, 0xFFFF0 };
	enum { SPOT_COUNT = sizeof(spots) / sizeof(spots[0]) };
	unsigned found_count = 0;

	(void)state;
	rng_state = 0xB105B105B105ull;
	for (unsigned iter = 0; iter < BIOS_FUZZ_ITERATIONS; iter++) {
		uint64_t found = 0;
		int err;

		memset(mem.bytes, 0, 0x100100);
		put16(0x40E, (rng() & 1) ? EBDA_SEGMENT : (uint16_t)rng());
		for (unsigned i = 0; i < SPOT_COUNT; i++) {
			uint64_t spot = spots[i];

			place_rsdp(spot, (uint8_t)(rng() % 4));
			mem.bytes[spot + rng() % 36] ^= (uint8_t)rng();
			if (rng() & 1)
				mem.bytes[spot + 20] = (uint8_t)rng();
			if (rng() & 1)
				rsdp_fix_checksums(mem.bytes + spot);
		}
		capture_reset();
		err = acpi_find_rsdp_bios(&reader, &found);
		assert_true(err == ACPI_OK || err == ACPI_NO_RSDP);
		if (err == ACPI_OK) {
			bool at_a_spot = false;

			for (unsigned i = 0; i < SPOT_COUNT; i++)
				at_a_spot |= found == spots[i];
			assert_true(at_a_spot);
			found_count++;
		}
		mem_release();
	}
	assert_true(found_count > 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_checksum),
		T(test_valid_v1_rsdt),
		T(test_valid_v2_xsdt_x2apic_override),
		T(test_xsdt_entry_above_4g),
		T(test_no_rsdp_given),
		T(test_rsdp_bad_checksum),
		T(test_rsdp_bad_signature),
		T(test_rsdp_too_short),
		T(test_rsdp_v2_bad_extended_checksum),
		T(test_rsdp_v2_bad_length),
		T(test_rsdp_v2_short_copy_uses_rsdt),
		T(test_rsdp_v2_longer_than_copy),
		T(test_rsdp_v2_null_xsdt_uses_rsdt),
		T(test_xsdt_bad_checksum_falls_back),
		T(test_xsdt_wrong_signature_falls_back),
		T(test_xsdt_unreadable_falls_back),
		T(test_xsdt_and_rsdt_bad),
		T(test_rsdt_bad_v1),
		T(test_sdt_entry_outside_memory),
		T(test_table_truncated),
		T(test_listed_table_bad_checksum_skipped),
		T(test_sdt_partial_entry),
		T(test_too_many_tables),
		T(test_no_madt),
		T(test_madt_bad_checksum),
		T(test_madt_truncated),
		T(test_madt_shorter_than_fixed_part),
		T(test_madt_zero_length_entry_after_cpus),
		T(test_madt_zero_length_entry_first),
		T(test_madt_entry_past_end),
		T(test_madt_trailing_byte),
		T(test_madt_entry_too_short_for_type),
		T(test_madt_unknown_and_long_entries),
		T(test_madt_no_usable_cpu),
		T(test_madt_online_capable_is_usable),
		T(test_madt_duplicate_apic_ids),
		T(test_madt_more_than_max_cpus),
		T(test_madt_more_than_max_ioapics),
		T(test_madt_second_override_ignored),
		T(test_bios_rsdp_in_ebda),
		T(test_bios_rsdp_past_ebda_first_kib),
		T(test_bios_rsdp_in_e0000_area),
		T(test_bios_skips_bad_candidates),
		T(test_bios_no_rsdp),
		T(test_bios_ebda_pointer_unreadable),
		T(test_bios_scan_then_parse),
		T(test_strerror),
		T(test_fuzz_parse),
		T(test_fuzz_bios_scan),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
