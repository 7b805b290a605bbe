/* Inside the pclntab reader (symbolizer/pclntab.c decodes the table,
 * symbolizer/pclntab_locate.c finds it and its moduledata in the binary):
 * the table's layout, the regions of the binary it is read through and
 * the bounds checks both use. */
#ifndef CGOPROF_PCLNTAB_INTERNAL_H
#define CGOPROF_PCLNTAB_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "cgoprof/filemap.h"
#include "cgoprof/pclntab.h"

#define PCLN_MAGIC_116 0xfffffffau
#define PCLN_MAGIC_118 0xfffffff0u
#define PCLN_MAGIC_120 0xfffffff1u

#define PCDATA_INLTREEINDEX 2
#define FUNCDATA_INLTREE 3

/* moduledata (runtime/symtab.go) field offsets on 64-bit targets, the same
 * from Go 1.16 to 1.26: pcHeader (at 0), funcnametab and cutab slices, ...
 * text. */
#define MODULEDATA_FUNCNAMETAB 8
#define MODULEDATA_CUTAB 32
#define MODULEDATA_FILETAB 56
#define MODULEDATA_PCTAB 80
#define MODULEDATA_PCLNTABLE 104
#define MODULEDATA_FTAB 128
#define MODULEDATA_MINPC 160
#define MODULEDATA_MAXPC 168
#define MODULEDATA_TEXT 176
/* gofunc: after end, gcdata, gcbss, types, etypes, rodata; Go 1.20 added
 * covctrs/ecovctrs before end. */
#define MODULEDATA_GOFUNC_118 304
#define MODULEDATA_GOFUNC_120 320

#define BUILDINFO_MAGIC "\xff Go buildinf:"
#define BUILDINFO_MAGIC_LEN 14
#define BUILDINFO_HEADER_LEN 32
#define BUILDINFO_ALIGN 16
#define BUILDINFO_MAX_VERSION 1024

#ifndef R_X86_64_RELATIVE
#define R_X86_64_RELATIVE 8
#endif

/* A readable piece of the binary's address space: an allocated,
 * non-executable section with file contents (or a PT_LOAD segment when the
 * binary has no section headers). */
struct region {
	uint64_t vaddr;
	uint64_t size;
	const uint8_t *bytes;
	const char *name; /* section name; "" for segments */
	uint64_t off;	  /* in the file, while it is read */
};

/* The bytes regions point into when read from the file, not by libelf:
 * the file mapped (@file), else a copy: a mapping of @len bytes, or
 * malloc's when @len is 0. */
struct region_buf {
	struct filemap file;
	void *map;
	size_t len;
};

/* [off, end) of one sub-table, relative to the pcHeader. */
struct span {
	uint64_t off;
	uint64_t end;
};

struct pclntab {
	Elf *elf;
	enum pclntab_format format;
	const uint8_t *data; /* the pcHeader */
	uint64_t size;
	uint64_t vaddr;
	uint32_t quantum;
	uint32_t nfunc;
	uint64_t text_start; /* 1.18+: functab and _func offsets are from it */
	uint64_t text_lo;
	uint64_t text_hi;
	struct span funcnametab;
	struct span cutab;
	struct span filetab;
	struct span pctab;
	struct span pclntable; /* functab, then the _func records */
	size_t functab_entsize;
	size_t func_hdrsize;
	const uint8_t *names; /* funcnametab, or a copy without ABI suffixes */
	uint8_t *names_copy;
	bool has_gofunc; /* 1.18+: funcdata offsets are from gofunc */
	uint64_t gofunc;
	struct region *regions; /* sorted by vaddr */
	struct region_buf buf;	/* what they point into, when not libelf's */
	size_t nregions;
	uint64_t id; /* unique per table made: the lookup cache's key */
	bool scanned; /* found by its magic, not by a section or symbol */
	bool has_md;  /* the moduledata that refers to it was found */
	uint64_t md;
};

/* One decoded _func record. */
struct func_rec {
	const uint8_t *p;
	uint64_t entry;
	uint64_t end;
	uint32_t name_off;
	uint32_t pcsp;
	uint32_t pcfile;
	uint32_t pcln;
	uint32_t npcdata;
	uint32_t cu_offset;
	uint8_t flag;
	uint8_t nfuncdata;
};

/* Symbols of .symtab the lookup may fall back to, read on first need. */
struct go_syms {
	Elf *elf;
	bool loaded;
	uint64_t pclntab;
	uint64_t epclntab;
	uint64_t text;
	uint64_t gofunc;
	uint64_t firstmoduledata;
	bool has_firstmoduledata;
	bool has_pclntab;
	bool has_epclntab;
	bool has_text;
	bool has_gofunc;
};

static inline uint32_t le32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap32(v);
#endif
	return v;
}

static inline uint64_t le64(const uint8_t *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

/* True when [off, off + len) lies inside [0, end). */
static inline bool span_fits(uint64_t off, uint64_t len, uint64_t end)
{
	return off <= end && len <= end - off;
}

/* Shared by the two halves of the reader. */
int pcln_header_parse(struct pclntab *tab, const uint8_t *data, uint64_t size,
			uint64_t vaddr, bool strict);
int pcln_func_at(const struct pclntab *tab, uint32_t i, struct func_rec *f);
int pcln_read_uvarint(const uint8_t *data, uint64_t *pos, uint64_t end,
			uint32_t *value);
int pcln_tab_read_ptr(const struct pclntab *tab, uint64_t vaddr,
			uint64_t *value);
/* Collects the readable non-executable regions of @elf, sorted by vaddr:
 * read by libelf when @fd is -1, else from @fd (the file @elf reads) into
 * @buf. Caller frees *@out with free() and @buf with
 * pcln_region_buf_free(), once done with the regions; on error there is
 * nothing to free. */
int pcln_regions_collect(Elf *elf, int fd, struct region **out,
			 size_t *count, struct region_buf *buf);
void pcln_region_buf_free(struct region_buf *buf);
/* The build info's header among @regions: its section, else the first
 * 16-aligned magic; -EINVAL when the section has none, -ENODATA. */
int pcln_buildinfo_find(const struct region *regions, size_t nregions,
			const struct region **found, uint64_t *off);
int pcln_locate(struct pclntab *tab, struct go_syms *lazy);
int pcln_moduledata_locate(struct pclntab *tab, struct go_syms *lazy);
bool pcln_reloc_addend(Elf *elf, uint64_t vaddr, uint64_t *value);
int pcln_module_addrs(struct pclntab *tab, struct go_syms *lazy);
/* Bytes [vaddr, vaddr + len) when one of @regions holds them all. */
const uint8_t *pcln_regions_ptr(const struct region *regions, size_t n,
				uint64_t vaddr, uint64_t len);
const uint8_t *pcln_tab_ptr(const struct pclntab *tab, uint64_t vaddr,
			      uint64_t len);

#endif
