/*
 * Multiboot1 and multiboot2 boot information, parsed into struct boot_info.
 *
 * The loader's block is input we cannot trust: a buggy loader, a corrupted
 * block or a guest-built one can hold any bytes. So every read goes through
 * the phys_reader with an explicit length, every field is loaded byte by
 * byte (a block may sit at any alignment), and every length is checked
 * against the bytes that were actually mapped before it is followed. The
 * worst a bad length can do is make us ignore the rest of the block, with
 * a message that says where and why.
 *
 * A problem with a safe fallback is logged with parse_warn(), which also
 * counts it in out->warnings; a problem without one (no memory map at all,
 * an unreadable or absurd header) is logged with pr_err() and returned.
 */
#include "kernel/bootinfo.h"
#include "kernel/compiler.h"
#include "kernel/printk.h"
#include "kernel/strutil.h"

/* Multiboot1 info structure: the fields we read and their offsets. */
#define MB1_FLAGS		0
#define MB1_MEM_LOWER		4
#define MB1_MEM_UPPER		8
#define MB1_CMDLINE		16
#define MB1_MODS_COUNT		20
#define MB1_MODS_ADDR		24
#define MB1_MMAP_LENGTH		44
#define MB1_MMAP_ADDR		48
#define MB1_LOADER_NAME		64
/* We read through boot_loader_name and no further: the VBE and framebuffer
 * fields after it are optional, and QEMU's block ends before some of them. */
#define MB1_INFO_READ_SIZE	68

#define MB1_FLAG_MEM		(1u << 0)
#define MB1_FLAG_CMDLINE	(1u << 2)
#define MB1_FLAG_MODS		(1u << 3)
#define MB1_FLAG_MMAP		(1u << 6)
#define MB1_FLAG_LOADER_NAME	(1u << 9)

/* Module entry: u32 mod_start, mod_end, string, reserved. */
#define MB1_MODULE_SIZE		16
/* Memory map entry: u32 size (not counting itself), then u64 base_addr,
 * u64 length, u32 type: 'size' is at least 20. */
#define MB1_MMAP_SIZE_FIELD	4
#define MB1_MMAP_ENTRY_MIN	20

/* Multiboot2: u32 total_size, u32 reserved, then 8-byte aligned tags, each
 * starting with u32 type, u32 size (size includes this header). */
#define MB2_INFO_HEADER		8
#define MB2_INFO_MAX		MiB(1)
#define MB2_TAG_HEADER		8
#define MB2_TAG_ALIGN		8
#define MB2_MODULE_HEADER	16	/* tag header, mod_start, mod_end */
#define MB2_MEMINFO_SIZE	16	/* tag header, mem_lower, mem_upper */
#define MB2_MMAP_HEADER		16	/* tag header, entry_size, entry_version */
#define MB2_MMAP_ENTRY_MIN	24	/* u64 base, u64 length, u32 type, u32 */
#define RSDP_V1_SIZE		20
#define RSDP_V2_SIZE		36

enum mb2_tag_type {
	MB2_TAG_END = 0,
	MB2_TAG_CMDLINE = 1,
	MB2_TAG_LOADER_NAME = 2,
	MB2_TAG_MODULE = 3,
	MB2_TAG_BASIC_MEMINFO = 4,
	MB2_TAG_MMAP = 6,
	MB2_TAG_ACPI_OLD = 14,
	MB2_TAG_ACPI_NEW = 15,
};

_Static_assert(sizeof(((struct boot_info *)0)->rsdp) == RSDP_V2_SIZE,
	       "boot_info.rsdp holds exactly one ACPI 2.0 RSDP");

/* What one parse has seen so far, beyond what goes into boot_info. */
struct boot_parse {
	struct boot_info *out;
	const struct phys_reader *mem;
	const char *protocol;		/* "multiboot1"/"multiboot2" */
	bool have_basic;		/* mem_lower/mem_upper were given */
	uint32_t mem_lower_kib;		/* from 0 */
	uint32_t mem_upper_kib;		/* from 1 MiB */
	bool have_mmap;			/* a memory map was given */
	bool memmap_full;		/* MEMMAP_MAX entries collected */
	unsigned modules_seen;		/* given by the loader, kept or not */
	bool rsdp_is_v2;
};

static void __printf(2, 3) parse_warn(struct boot_parse *bp,
				      const char *fmt, ...)
{
	va_list ap;

	bp->out->warnings++;
	va_start(ap, fmt);
	vprintk(LOG_WARN, fmt, ap);
	va_end(ap);
}

static uint32_t load_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 |
	       (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t load_le64(const uint8_t *p)
{
	return (uint64_t)load_le32(p) | (uint64_t)load_le32(p + 4) << 32;
}

/* Map [phys, phys + len), refusing a range that wraps past the top of the
 * address space before the reader ever sees it. */
static const uint8_t *map_block(const struct boot_parse *bp, uint64_t phys,
				uint64_t len)
{
	if (len > UINT64_MAX - phys)
		return NULL;
	return phys_read(bp->mem, phys, len);
}

/* ---- Pieces both protocols share ---------------------------------------- */

static void add_mem_range(struct boot_parse *bp, uint64_t base,
			  uint64_t length, uint32_t type)
{
	struct boot_info *out = bp->out;
	uint64_t end = base + length;

	if (length == 0)
		return;
	if (length > UINT64_MAX - base) {
		end = UINT64_MAX;
		parse_warn(bp, "bootinfo: %s memory map entry at 0x%llx with length 0x%llx runs past the top of the address space; clamped it to end at 0x%llx\n",
			   bp->protocol, (unsigned long long)base,
			   (unsigned long long)length, (unsigned long long)end);
	}
	if (out->memmap_count == MEMMAP_MAX) {
		if (!bp->memmap_full)
			parse_warn(bp, "bootinfo: the memory map has more than %u entries; ignoring the rest, their memory will not be used\n",
				   MEMMAP_MAX);
		bp->memmap_full = true;
		return;
	}
	out->memmap[out->memmap_count++] = (struct mem_range){
		.base = base, .end = end, .type = type,
	};
}

/*
 * The module in the next free slot has its command line copied in already
 * (so the messages can name it); keep it if its range makes sense.
 * 'number' counts from 1, as a user counts the module lines in grub.cfg.
 */
static void commit_module(struct boot_parse *bp, unsigned number,
			  uint64_t start, uint64_t end)
{
	struct boot_info *out = bp->out;
	struct boot_module *module = &out->modules[out->module_count];

	if (end == start) {
		parse_warn(bp, "bootinfo: module %u '%s' is empty (starts and ends at 0x%llx); skipping it\n",
			   number, module->cmdline, (unsigned long long)start);
	} else if (end < start) {
		parse_warn(bp, "bootinfo: module %u '%s' ends at 0x%llx, before its start at 0x%llx; skipping it\n",
			   number, module->cmdline, (unsigned long long)end,
			   (unsigned long long)start);
	} else {
		module->start = start;
		module->end = end;
		out->module_count++;
		return;
	}
	mem_zero(module, sizeof(*module));
}

static void warn_extra_modules(struct boot_parse *bp)
{
	if (bp->modules_seen > BOOT_MODULES_MAX)
		parse_warn(bp, "bootinfo: the loader passed %u modules but at most %u are supported; ignoring the ones after module %u\n",
			   bp->modules_seen, BOOT_MODULES_MAX,
			   BOOT_MODULES_MAX);
}

/* A string of 'len' bytes was copied into dst[dst_size]; say so if it did
 * not fit, showing how it starts so the user can tell which one it was. */
static void check_truncated(struct boot_parse *bp, const char *what,
			    const char *dst, size_t len, size_t dst_size)
{
	if (len >= dst_size)
		parse_warn(bp, "bootinfo: the %s '%.40s...' is longer than the %zu bytes kept; truncated it\n",
			   what, dst, dst_size - 1);
}

static void add_basic_memory(struct boot_parse *bp)
{
	add_mem_range(bp, 0, KiB(bp->mem_lower_kib), MEM_USABLE);
	add_mem_range(bp, MiB(1), KiB(bp->mem_upper_kib), MEM_USABLE);
	bp->out->memmap_from_basic = true;
}

/* Turn what was collected into the normalised map, falling back to the
 * basic memory sizes if the loader gave no map we could use. */
static int finish_memmap(struct boot_parse *bp)
{
	struct boot_info *out = bp->out;
	int overlaps;

	if (out->memmap_count == 0) {
		const char *why = bp->have_mmap ?
			"the loader's memory map held no entry that could be used" :
			"the loader passed no memory map";

		if (!bp->have_basic) {
			pr_err("bootinfo: %s, and no basic memory sizes either (%s); cannot tell which memory is usable\n",
			       why, bp->protocol);
			return BOOTINFO_NO_MEMMAP;
		}
		pr_info("bootinfo: %s; using the basic memory sizes instead: %u KiB at 0 and %u KiB at 1 MiB\n",
			why, bp->mem_lower_kib, bp->mem_upper_kib);
		add_basic_memory(bp);
	}
	overlaps = memmap_normalize(out->memmap, &out->memmap_count,
				    MEMMAP_MAX);
	/* memmap_normalize() has said what it did; here it is only counted. */
	out->warnings += overlaps < 0 ? 1 : (unsigned)overlaps;
	if (out->memmap_count == 0) {
		pr_err("bootinfo: the %s memory information describes no memory at all; cannot tell which memory is usable\n",
		       bp->protocol);
		return BOOTINFO_NO_MEMMAP;
	}
	return BOOTINFO_OK;
}

/* ---- Multiboot1 ----------------------------------------------------------- */

struct mb1_info {
	uint32_t flags;
	uint32_t mem_lower;
	uint32_t mem_upper;
	uint32_t cmdline;
	uint32_t mods_count;
	uint32_t mods_addr;
	uint32_t mmap_length;
	uint32_t mmap_addr;
	uint32_t loader_name;
};

static void mb1_load_info(struct mb1_info *info, const uint8_t *raw)
{
	info->flags = load_le32(raw + MB1_FLAGS);
	info->mem_lower = load_le32(raw + MB1_MEM_LOWER);
	info->mem_upper = load_le32(raw + MB1_MEM_UPPER);
	info->cmdline = load_le32(raw + MB1_CMDLINE);
	info->mods_count = load_le32(raw + MB1_MODS_COUNT);
	info->mods_addr = load_le32(raw + MB1_MODS_ADDR);
	info->mmap_length = load_le32(raw + MB1_MMAP_LENGTH);
	info->mmap_addr = load_le32(raw + MB1_MMAP_ADDR);
	info->loader_name = load_le32(raw + MB1_LOADER_NAME);
}

/*
 * Copy the C string at 'phys' into dst. Multiboot1 gives no length, so read
 * a byte at a time: a string that ends just before unreadable memory is
 * fine, and one that runs into it is cut there.
 */
static void mb1_read_string(struct boot_parse *bp, uint64_t phys, char *dst,
			    size_t dst_size, const char *what)
{
	const uint8_t *c;
	size_t i;

	for (i = 0; i + 1 < dst_size; i++) {
		c = map_block(bp, phys + i, 1);
		if (!c) {
			dst[i] = '\0';
			if (i == 0)
				parse_warn(bp, "bootinfo: the multiboot1 %s at 0x%llx cannot be read; using an empty one\n",
					   what, (unsigned long long)phys);
			else
				parse_warn(bp, "bootinfo: the multiboot1 %s at 0x%llx runs into unreadable memory after %zu bytes without ending; using those bytes\n",
					   what, (unsigned long long)phys, i);
			return;
		}
		dst[i] = (char)*c;
		if (*c == '\0')
			return;
	}
	dst[i] = '\0';
	/* dst is full: the string fitted only if its next byte ends it. */
	c = map_block(bp, phys + i, 1);
	if (!c || *c != '\0')
		check_truncated(bp, what, dst, dst_size, dst_size);
}

static void mb1_read_modules(struct boot_parse *bp, uint32_t mods_addr,
			     uint32_t mods_count)
{
	struct boot_info *out = bp->out;
	unsigned n = MIN(mods_count, BOOT_MODULES_MAX);

	bp->modules_seen = mods_count;
	for (unsigned i = 0; i < n; i++) {
		uint64_t entry_phys = (uint64_t)mods_addr + i * MB1_MODULE_SIZE;
		const uint8_t *entry = map_block(bp, entry_phys, MB1_MODULE_SIZE);
		char *cmdline = out->modules[out->module_count].cmdline;
		uint32_t string;
		char what[48];

		if (!entry) {
			parse_warn(bp, "bootinfo: multiboot1 module %u's entry at 0x%llx cannot be read; ignoring it and the modules after it\n",
				   i + 1, (unsigned long long)entry_phys);
			return;
		}
		string = load_le32(entry + 8);
		/* No loader passes a string at address 0: it means "none". */
		if (string) {
			snprintf(what, sizeof(what), "module %u command line",
				 i + 1);
			mb1_read_string(bp, string, cmdline,
					BOOT_MODULE_CMDLINE_MAX, what);
		}
		commit_module(bp, i + 1, load_le32(entry), load_le32(entry + 4));
	}
	warn_extra_modules(bp);
}

/* Entries are u32 size, then 'size' bytes; the next entry follows those. */
static void mb1_read_mmap(struct boot_parse *bp, uint32_t mmap_addr,
			  uint32_t mmap_length)
{
	const uint64_t entry_min = MB1_MMAP_SIZE_FIELD + MB1_MMAP_ENTRY_MIN;
	uint64_t off = 0;
	unsigned index = 0;

	bp->have_mmap = true;
	for (; off < mmap_length && !bp->memmap_full; index++) {
		uint64_t entry_phys = (uint64_t)mmap_addr + off;
		const uint8_t *entry;
		uint32_t size;

		if (mmap_length - off < entry_min) {
			parse_warn(bp, "bootinfo: multiboot1 memory map entry %u at 0x%llx runs past the end of the 0x%x-byte map; ignoring it\n",
				   index, (unsigned long long)entry_phys,
				   mmap_length);
			return;
		}
		entry = map_block(bp, entry_phys, entry_min);
		if (!entry) {
			parse_warn(bp, "bootinfo: multiboot1 memory map entry %u at 0x%llx cannot be read; ignoring it and the rest of the map\n",
				   index, (unsigned long long)entry_phys);
			return;
		}
		size = load_le32(entry);
		if (size < MB1_MMAP_ENTRY_MIN) {
			parse_warn(bp, "bootinfo: multiboot1 memory map entry %u at 0x%llx has size %u, less than the %u bytes of an entry; ignoring it and the rest of the map\n",
				   index, (unsigned long long)entry_phys, size,
				   MB1_MMAP_ENTRY_MIN);
			return;
		}
		add_mem_range(bp, load_le64(entry + 4), load_le64(entry + 12),
			      load_le32(entry + 20));
		off += MB1_MMAP_SIZE_FIELD + (uint64_t)size;
	}
}

static int mb1_parse(struct boot_parse *bp, uint64_t info_phys)
{
	const uint8_t *raw = map_block(bp, info_phys, MB1_INFO_READ_SIZE);
	struct boot_info *out = bp->out;
	struct mb1_info info;

	if (!raw) {
		pr_err("bootinfo: cannot read the multiboot1 info block at 0x%llx (%u bytes)\n",
		       (unsigned long long)info_phys, MB1_INFO_READ_SIZE);
		return BOOTINFO_UNREADABLE;
	}
	/* Copied out: the reader need not keep 'raw' valid across calls. */
	mb1_load_info(&info, raw);
	out->protocol = 1;
	out->info_size = MB1_INFO_READ_SIZE;

	if (info.flags & MB1_FLAG_CMDLINE)
		mb1_read_string(bp, info.cmdline, out->cmdline,
				sizeof(out->cmdline), "kernel command line");
	if (info.flags & MB1_FLAG_LOADER_NAME)
		mb1_read_string(bp, info.loader_name, out->loader_name,
				sizeof(out->loader_name), "boot loader name");
	if (info.flags & MB1_FLAG_MODS)
		mb1_read_modules(bp, info.mods_addr, info.mods_count);
	if (info.flags & MB1_FLAG_MEM) {
		bp->have_basic = true;
		bp->mem_lower_kib = info.mem_lower;
		bp->mem_upper_kib = info.mem_upper;
	}
	if (info.flags & MB1_FLAG_MMAP)
		mb1_read_mmap(bp, info.mmap_addr, info.mmap_length);
	return BOOTINFO_OK;
}

/* ---- Multiboot2 ----------------------------------------------------------- */

/* A tag as found in the block: its payload is [data, data + len). */
struct mb2_tag {
	uint32_t type;
	uint32_t offset;	/* in the info block, for messages */
	const uint8_t *data;
	uint32_t len;
};

/* Copy a string that fills the rest of a tag. Nothing but the tag's size
 * bounds it, so it may lack its NUL. */
static void mb2_copy_string(struct boot_parse *bp, const struct mb2_tag *tag,
			    const uint8_t *src, uint32_t src_len, char *dst,
			    size_t dst_size, const char *what)
{
	size_t len = str_copy_bounded(dst, dst_size, (const char *)src,
				      src_len);

	if (len == src_len)
		parse_warn(bp, "bootinfo: the multiboot2 %s in tag type %u at offset 0x%x does not end within its tag; using its %u bytes\n",
			   what, tag->type, tag->offset, src_len);
	check_truncated(bp, what, dst, len, dst_size);
}

static bool mb2_tag_too_short(struct boot_parse *bp, const struct mb2_tag *tag,
			      uint32_t need, const char *what)
{
	if (tag->len >= need)
		return false;
	parse_warn(bp, "bootinfo: multiboot2 %s tag (type %u) at offset 0x%x holds %u bytes, less than the %u it needs; ignoring it\n",
		   what, tag->type, tag->offset, tag->len, need);
	return true;
}

static void mb2_module(struct boot_parse *bp, const struct mb2_tag *tag)
{
	const uint32_t fields = MB2_MODULE_HEADER - MB2_TAG_HEADER;
	struct boot_info *out = bp->out;
	char what[48];

	if (mb2_tag_too_short(bp, tag, fields, "module"))
		return;
	if (++bp->modules_seen > BOOT_MODULES_MAX)
		return;		/* counted; warn_extra_modules() says so */
	snprintf(what, sizeof(what), "module %u command line",
		 bp->modules_seen);
	mb2_copy_string(bp, tag, tag->data + fields, tag->len - fields,
			out->modules[out->module_count].cmdline,
			BOOT_MODULE_CMDLINE_MAX, what);
	commit_module(bp, bp->modules_seen, load_le32(tag->data),
		      load_le32(tag->data + 4));
}

static void mb2_basic_meminfo(struct boot_parse *bp, const struct mb2_tag *tag)
{
	if (mb2_tag_too_short(bp, tag, MB2_MEMINFO_SIZE - MB2_TAG_HEADER,
			      "basic memory information"))
		return;
	bp->have_basic = true;
	bp->mem_lower_kib = load_le32(tag->data);
	bp->mem_upper_kib = load_le32(tag->data + 4);
}

static void mb2_mmap(struct boot_parse *bp, const struct mb2_tag *tag)
{
	const uint32_t fields = MB2_MMAP_HEADER - MB2_TAG_HEADER;
	uint32_t entry_size, entries_len, off;

	if (bp->have_mmap) {
		parse_warn(bp, "bootinfo: a second multiboot2 memory map tag at offset 0x%x; ignoring it and keeping the first\n",
			   tag->offset);
		return;
	}
	if (mb2_tag_too_short(bp, tag, fields, "memory map"))
		return;
	bp->have_mmap = true;
	entry_size = load_le32(tag->data);
	if (entry_size < MB2_MMAP_ENTRY_MIN) {
		parse_warn(bp, "bootinfo: multiboot2 memory map tag at offset 0x%x has entry size %u, less than the %u bytes of an entry; ignoring the map\n",
			   tag->offset, entry_size, MB2_MMAP_ENTRY_MIN);
		return;
	}
	entries_len = tag->len - fields;
	for (off = 0; entries_len - off >= entry_size; off += entry_size) {
		const uint8_t *entry = tag->data + fields + off;

		add_mem_range(bp, load_le64(entry), load_le64(entry + 8),
			      load_le32(entry + 16));
	}
	if (off != entries_len)
		parse_warn(bp, "bootinfo: multiboot2 memory map tag at offset 0x%x ends with %u bytes that are not a whole %u-byte entry; ignoring them\n",
			   tag->offset, entries_len - off, entry_size);
}

/* Tag 14 holds a copy of the ACPI 1.0 RSDP, tag 15 of the 2.0 one. The
 * 2.0 one leads to the XSDT and its 64-bit pointers, so it wins whatever
 * order the tags come in. */
static void mb2_acpi_rsdp(struct boot_parse *bp, const struct mb2_tag *tag)
{
	bool is_v2 = tag->type == MB2_TAG_ACPI_NEW;
	uint32_t rsdp_len = is_v2 ? RSDP_V2_SIZE : RSDP_V1_SIZE;
	struct boot_info *out = bp->out;

	if (mb2_tag_too_short(bp, tag, rsdp_len, "ACPI RSDP"))
		return;
	if (bp->rsdp_is_v2 && !is_v2)
		return;
	mem_copy(out->rsdp, tag->data, rsdp_len);
	out->rsdp_len = rsdp_len;
	bp->rsdp_is_v2 = is_v2;
}

static void mb2_handle_tag(struct boot_parse *bp, const struct mb2_tag *tag)
{
	struct boot_info *out = bp->out;

	switch (tag->type) {
	case MB2_TAG_CMDLINE:
		mb2_copy_string(bp, tag, tag->data, tag->len, out->cmdline,
				sizeof(out->cmdline), "kernel command line");
		break;
	case MB2_TAG_LOADER_NAME:
		mb2_copy_string(bp, tag, tag->data, tag->len,
				out->loader_name, sizeof(out->loader_name),
				"boot loader name");
		break;
	case MB2_TAG_MODULE:
		mb2_module(bp, tag);
		break;
	case MB2_TAG_BASIC_MEMINFO:
		mb2_basic_meminfo(bp, tag);
		break;
	case MB2_TAG_MMAP:
		mb2_mmap(bp, tag);
		break;
	case MB2_TAG_ACPI_OLD:
	case MB2_TAG_ACPI_NEW:
		mb2_acpi_rsdp(bp, tag);
		break;
	default:
		break;	/* framebuffer, EFI, ELF sections...: not ours */
	}
}

/* Walk the tags of the block [info, info + total). A bad tag header stops
 * the walk: its size is the only way to find the next tag. */
static void mb2_walk_tags(struct boot_parse *bp, const uint8_t *info,
			  uint32_t total)
{
	uint32_t off = MB2_INFO_HEADER;

	while (off < total) {
		struct mb2_tag tag;
		uint32_t size;

		if (total - off < MB2_TAG_HEADER) {
			parse_warn(bp, "bootinfo: the 0x%x-byte multiboot2 info block ends inside the tag header at offset 0x%x; ignoring the rest\n",
				   total, off);
			return;
		}
		tag.type = load_le32(info + off);
		size = load_le32(info + off + 4);
		if (size < MB2_TAG_HEADER) {
			parse_warn(bp, "bootinfo: multiboot2 tag type %u at offset 0x%x has size 0x%x, less than its %u-byte header; ignoring it and the rest\n",
				   tag.type, off, size, MB2_TAG_HEADER);
			return;
		}
		if (size > total - off) {
			parse_warn(bp, "bootinfo: multiboot2 tag type %u at offset 0x%x has size 0x%x, past the end of the 0x%x-byte info block; ignoring the rest\n",
				   tag.type, off, size, total);
			return;
		}
		if (tag.type == MB2_TAG_END)
			return;
		tag.offset = off;
		tag.data = info + off + MB2_TAG_HEADER;
		tag.len = size - MB2_TAG_HEADER;
		mb2_handle_tag(bp, &tag);
		/* total <= 1 MiB, so this cannot wrap. */
		off += ALIGN_UP(size, MB2_TAG_ALIGN);
	}
	parse_warn(bp, "bootinfo: the 0x%x-byte multiboot2 info block has no end tag; it may have been cut short, using the tags found before its end\n",
		   total);
}

static int mb2_parse(struct boot_parse *bp, uint64_t info_phys)
{
	const uint8_t *info = map_block(bp, info_phys, MB2_INFO_HEADER);
	uint32_t total;

	if (!info) {
		pr_err("bootinfo: cannot read the multiboot2 info block header at 0x%llx\n",
		       (unsigned long long)info_phys);
		return BOOTINFO_UNREADABLE;
	}
	total = load_le32(info);
	if (total < MB2_INFO_HEADER || total > MB2_INFO_MAX) {
		pr_err("bootinfo: the multiboot2 info block at 0x%llx claims a total size of 0x%x bytes, outside the sane 0x%x to 0x%llx; it is corrupt\n",
		       (unsigned long long)info_phys, total, MB2_INFO_HEADER,
		       (unsigned long long)MB2_INFO_MAX);
		return BOOTINFO_MALFORMED;
	}
	info = map_block(bp, info_phys, total);
	if (!info) {
		pr_err("bootinfo: cannot read the 0x%x-byte multiboot2 info block at 0x%llx\n",
		       total, (unsigned long long)info_phys);
		return BOOTINFO_UNREADABLE;
	}
	bp->out->protocol = 2;
	bp->out->info_size = total;
	mb2_walk_tags(bp, info, total);
	warn_extra_modules(bp);
	return BOOTINFO_OK;
}

/* ---- Entry points --------------------------------------------------------- */

int bootinfo_parse(uint32_t magic, uint64_t info_phys,
		   const struct phys_reader *mem, struct boot_info *out)
{
	struct boot_parse bp = { .out = out, .mem = mem };
	int err;

	mem_zero(out, sizeof(*out));
	out->info_phys = info_phys;
	if (magic == MB1_BOOT_MAGIC) {
		bp.protocol = "multiboot1";
		err = mb1_parse(&bp, info_phys);
	} else if (magic == MB2_BOOT_MAGIC) {
		bp.protocol = "multiboot2";
		err = mb2_parse(&bp, info_phys);
	} else {
		pr_err("bootinfo: boot magic 0x%x is neither multiboot1 (0x%x) nor multiboot2 (0x%x); the kernel must be loaded by a multiboot loader such as GRUB or QEMU -kernel\n",
		       magic, MB1_BOOT_MAGIC, MB2_BOOT_MAGIC);
		return BOOTINFO_BAD_MAGIC;
	}
	if (err)
		return err;
	return finish_memmap(&bp);
}

const char *bootinfo_strerror(int err)
{
	switch (err) {
	case BOOTINFO_OK:
		return "no error";
	case BOOTINFO_BAD_MAGIC:
		return "not loaded by a multiboot loader";
	case BOOTINFO_UNREADABLE:
		return "the loader's boot information cannot be read";
	case BOOTINFO_MALFORMED:
		return "the loader's boot information is malformed";
	case BOOTINFO_NO_MEMMAP:
		return "the loader gave no memory information";
	}
	return "unknown boot information error";
}
