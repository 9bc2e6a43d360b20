/* Module options and ELF checks (portable; see loader.h). */
#include "virt/loader.h"
#include "kernel/cmdline.h"
#include "kernel/compiler.h"
#include "kernel/printk.h"

static bool word_is(const char *w, unsigned len, const char *lit)
{
	unsigned i = 0;

	while (i < len && lit[i] && w[i] == lit[i])
		i++;
	return i == len && lit[i] == '\0';
}

static void copy_bounded(char *dst, size_t size, const char *src, unsigned len)
{
	unsigned n = len < size - 1 ? len : (unsigned)size - 1;

	for (unsigned i = 0; i < n; i++)
		dst[i] = src[i];
	dst[n] = '\0';
}

static bool valid_name(const char *v, unsigned len)
{
	if (len == 0 || len >= VM_NAME_MAX)
		return false;
	for (unsigned i = 0; i < len; i++) {
		char c = v[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return false;
	}
	return true;
}

static int option(const char *key, unsigned klen, const char *val,
		  unsigned vlen, struct guest_opts *o, char *err,
		  size_t err_size)
{
	uint64_t n;

	if (word_is(key, klen, "name")) {
		if (!valid_name(val, vlen))
			goto bad;
		copy_bounded(o->name, sizeof(o->name), val, vlen);
	} else if (word_is(key, klen, "vcpus")) {
		if (!parse_u64(val, vlen, false, &n) || n < 1 ||
		    n > VM_MAX_VCPUS)
			goto bad;
		o->vcpus = (unsigned)n;
	} else if (word_is(key, klen, "mem")) {
		if (!parse_u64(val, vlen, true, &n) || n < GUEST_MEM_MIN ||
		    n > GUEST_MEM_MAX || (n & 0xfff))
			goto bad;
		o->mem_bytes = n;
	} else if (word_is(key, klen, "mmu")) {
		if (word_is(val, vlen, "tdp"))
			o->mmu = MMU_MODE_TDP;
		else if (word_is(val, vlen, "shadow"))
			o->mmu = MMU_MODE_SHADOW;
		else
			goto bad;
	} else if (word_is(key, klen, "unsync") ||
		   word_is(key, klen, "flood")) {
		bool on = word_is(val, vlen, "on");

		if (!on && !word_is(val, vlen, "off"))
			goto bad;
		if (word_is(key, klen, "unsync"))
			o->unsync = on;
		else
			o->flood = on;
	} else {
		snprintf(err, err_size, "unknown option '%.*s' (known: name= "
			 "vcpus= mem= mmu= unsync= flood=, then -- and the "
			 "guest's own command line)",
			 (int)(klen + (val ? vlen + 1 : 0)),
			 key);
		return -1;
	}
	return 0;
bad:
	snprintf(err, err_size, "bad value in '%.*s' (name: letters, digits, "
		 "- _; vcpus: 1-%u; mem: %lluM-%lluG, a multiple of 4K; "
		 "mmu: tdp or shadow; unsync, flood: on or off)",
		 (int)(klen + 1 + vlen), key,
		 VM_MAX_VCPUS, (unsigned long long)(GUEST_MEM_MIN >> 20),
		 (unsigned long long)(GUEST_MEM_MAX >> 30));
	return -1;
}

int guest_opts_parse(const char *line, const char *default_name,
		     struct guest_opts *o, char *err, size_t err_size)
{
	bool first = true;
	const char *p = line;

	*o = (struct guest_opts){ .vcpus = 1, .mem_bytes = GUEST_MEM_DEFAULT,
				  .mmu = MMU_MODE_TDP, .unsync = true,
				  .flood = true };
	snprintf(o->name, sizeof(o->name), "%s", default_name);
	for (;;) {
		unsigned len = 0, klen = 0;

		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		while (p[len] && p[len] != ' ' && p[len] != '\t')
			len++;
		if (len == 2 && p[0] == '-' && p[1] == '-') {
			p += 2;
			while (*p == ' ' || *p == '\t')
				p++;
			snprintf(o->cmdline, sizeof(o->cmdline), "%s", p);
			break;
		}
		while (klen < len && p[klen] != '=')
			klen++;
		/* QEMU puts the module's path first. */
		if (first && klen == len) {
			bool path = false;

			for (unsigned i = 0; i < len; i++)
				path |= p[i] == '/' || p[i] == '.';
			if (path) {
				first = false;
				p += len;
				continue;
			}
		}
		first = false;
		if (klen == len) {
			snprintf(err, err_size, "'%.*s' is not an option "
				 "(options are word=value; the guest's own "
				 "words go after --)", (int)len, p);
			return -1;
		}
		if (option(p, klen, p + klen + 1, len - klen - 1, o, err,
			   err_size))
			return -1;
		p += len;
	}
	return 0;
}

/* ELF32 fields, read byte by byte: the module may be unaligned. */
static uint32_t le32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

#define ELF_HEADER_SIZE	52
#define ELF_PHDR_SIZE	32
#define PT_LOAD		1

static bool range_in_ram(uint64_t start, uint64_t len, uint64_t mem)
{
	uint64_t end = start + len;

	if (end < start || end > mem)
		return false;
	if (start < GUEST_MBI_GPA + GUEST_MBI_SIZE && GUEST_MBI_GPA < end)
		return false;		/* the multiboot info page */
	return end <= GUEST_LOW_MEM_END || start >= 0x100000;
}

int elf_check(const void *data, uint64_t size, uint64_t mem_bytes,
	      struct elf_image *image, char *err, size_t err_size)
{
	const uint8_t *b = data;
	uint32_t phoff;
	uint16_t phnum, phentsize;
	bool entry_ok = false;

	*image = (struct elf_image){ 0 };
	if (size < 4 || b[0] != 0x7f || b[1] != 'E' || b[2] != 'L' || b[3] != 'F') {
		snprintf(err, err_size, "not an ELF file (no \\x7fELF magic)");
		return -1;
	}
	if (size < ELF_HEADER_SIZE || b[4] != 1 || b[5] != 1 ||
	    le16(b + 18) != 3 || le16(b + 16) != 2) {
		snprintf(err, err_size, "not a 32-bit little-endian i386 "
			 "executable ELF (a guest is a multiboot1 kernel)");
		return -1;
	}
	image->entry = le32(b + 24);
	phoff = le32(b + 28);
	phentsize = le16(b + 42);
	phnum = le16(b + 44);
	if (phentsize != ELF_PHDR_SIZE || phnum == 0 ||
	    (uint64_t)phoff + (uint64_t)phnum * ELF_PHDR_SIZE > size) {
		snprintf(err, err_size, "program headers (%u at offset 0x%x) "
			 "lie outside the %llu-byte file", phnum, phoff,
			 (unsigned long long)size);
		return -1;
	}
	for (unsigned i = 0; i < phnum; i++) {
		const uint8_t *ph = b + phoff + i * ELF_PHDR_SIZE;
		struct elf_segment s = {
			.offset = le32(ph + 4), .paddr = le32(ph + 12),
			.filesz = le32(ph + 16), .memsz = le32(ph + 20),
		};

		if (le32(ph) != PT_LOAD || s.memsz == 0)
			continue;
		if (image->seg_count == ELF_MAX_SEGMENTS) {
			snprintf(err, err_size, "more than %u loadable "
				 "segments", ELF_MAX_SEGMENTS);
			return -1;
		}
		if (s.filesz > s.memsz || s.offset + s.filesz > size) {
			snprintf(err, err_size, "segment %u: file part "
				 "(offset 0x%llx, 0x%llx bytes) outside the "
				 "file or larger than the segment", i,
				 (unsigned long long)s.offset,
				 (unsigned long long)s.filesz);
			return -1;
		}
		if (!range_in_ram(s.paddr, s.memsz, mem_bytes)) {
			snprintf(err, err_size, "segment %u at guest-physical "
				 "0x%llx-0x%llx is outside the guest's %llu "
				 "MiB of RAM (or over the multiboot info page "
				 "or the 640K-1M hole)", i,
				 (unsigned long long)s.paddr,
				 (unsigned long long)(s.paddr + s.memsz),
				 (unsigned long long)(mem_bytes >> 20));
			return -1;
		}
		if (image->entry >= s.paddr && image->entry < s.paddr + s.memsz)
			entry_ok = true;
		image->seg[image->seg_count++] = s;
	}
	if (image->seg_count == 0) {
		snprintf(err, err_size, "no loadable segment");
		return -1;
	}
	if (!entry_ok) {
		snprintf(err, err_size, "entry point 0x%llx is not in a "
			 "loadable segment", (unsigned long long)image->entry);
		return -1;
	}
	return 0;
}
