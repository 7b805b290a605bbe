// SPDX-License-Identifier: MIT
/* Go pclntab reader (include/cgoprof/pclntab.h): a pcHeader (magic, PC
 * quantum, pointer size, function count, sub-table offsets), then the
 * function name, compilation unit, file name, pc-value and function tables
 * as runtime/symtab.go lays them out for each format. Layouts were checked
 * on real binaries built by Go 1.17, 1.19, 1.20, 1.21, 1.22 and 1.26
 * (tests/unit/pclntab-bins.sh).
 *
 * Everything read from the binary goes through the span and region checks
 * below: a table offset is checked against the end of its sub-table, a
 * virtual address against the section that holds it. Nothing is allocated
 * after pclntab__new(). */
#include <cgoprof/pclntab.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

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
	uint64_t v;

	memcpy(&v, p, sizeof(v));
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	return v;
}

/* True when [off, off + len) lies inside [0, end). */
static bool span_fits(uint64_t off, uint64_t len, uint64_t end)
{
	return off <= end && len <= end - off;
}

static int region_cmp(const void *a, const void *b)
{
	const struct region *ra = a, *rb = b;

	if (ra->vaddr != rb->vaddr)
		return ra->vaddr < rb->vaddr ? -1 : 1;
	return 0;
}

/* Collects the readable non-executable regions of @elf, sorted by vaddr.
 * Caller frees *@out with free(). */
static int regions_collect(Elf *elf, struct region **out, size_t *count)
{
	struct region *regions = NULL;
	size_t nscn = 0, nphdr = 0, n = 0, shstrndx = 0;
	Elf_Scn *scn = NULL;
	int err = 0;

	*out = NULL;
	*count = 0;
	if (elf_getshdrnum(elf, &nscn) != 0)
		nscn = 0;
	if (nscn > 1 && elf_getshdrstrndx(elf, &shstrndx) != 0)
		shstrndx = 0;
	if (nscn > 1) {
		regions = calloc(nscn, sizeof(*regions));
		if (!regions)
			return -ENOMEM;
		while ((scn = elf_nextscn(elf, scn)) && n < nscn) {
			GElf_Shdr shdr;
			Elf_Data *data;
			const char *name = NULL;

			if (!gelf_getshdr(scn, &shdr))
				continue;
			if (!(shdr.sh_flags & SHF_ALLOC) ||
			    (shdr.sh_flags & SHF_EXECINSTR) ||
			    shdr.sh_type == SHT_NOBITS || shdr.sh_size == 0)
				continue;
			data = elf_rawdata(scn, NULL);
			if (!data || !data->d_buf || data->d_size == 0)
				continue;
			if (shstrndx)
				name = elf_strptr(elf, shstrndx, shdr.sh_name);
			regions[n].vaddr = shdr.sh_addr;
			regions[n].size = data->d_size < shdr.sh_size
					      ? data->d_size
					      : shdr.sh_size;
			regions[n].bytes = data->d_buf;
			regions[n].name = name ? name : "";
			n++;
		}
	}
	if (n == 0 && elf_getphdrnum(elf, &nphdr) == 0 && nphdr > 0) {
		const uint8_t *raw;
		size_t rawsize = 0;

		free(regions);
		regions = calloc(nphdr, sizeof(*regions));
		if (!regions)
			return -ENOMEM;
		raw = (const uint8_t *)elf_rawfile(elf, &rawsize);
		for (size_t i = 0; raw && i < nphdr; i++) {
			GElf_Phdr phdr;

			if (!gelf_getphdr(elf, (int)i, &phdr))
				continue;
			if (phdr.p_type != PT_LOAD || (phdr.p_flags & PF_X) ||
			    phdr.p_filesz == 0)
				continue;
			if (!span_fits(phdr.p_offset, phdr.p_filesz, rawsize))
				continue;
			regions[n].vaddr = phdr.p_vaddr;
			regions[n].size = phdr.p_filesz;
			regions[n].bytes = raw + phdr.p_offset;
			regions[n].name = "";
			n++;
		}
	}
	if (n == 0) {
		err = -ENODATA;
		goto out;
	}
	qsort(regions, n, sizeof(*regions), region_cmp);
	*out = regions;
	*count = n;
	regions = NULL;
out:
	free(regions);
	return err;
}

/* Bytes [vaddr, vaddr + len) when one region holds them all, else NULL. */
static const uint8_t *regions_ptr(const struct region *regions, size_t n,
				  uint64_t vaddr, uint64_t len)
{
	size_t lo = 0, hi = n;

	/* last region with start <= vaddr */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (regions[mid].vaddr <= vaddr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return NULL;
	/* overlapping (hostile) regions: try the few before as well */
	for (size_t i = lo; i > 0 && lo - i < 4; i--) {
		const struct region *r = &regions[i - 1];

		if (vaddr >= r->vaddr &&
		    span_fits(vaddr - r->vaddr, len, r->size))
			return r->bytes + (vaddr - r->vaddr);
	}
	return NULL;
}

static const uint8_t *tab_ptr(const struct pclntab *tab, uint64_t vaddr,
			      uint64_t len)
{
	return regions_ptr(tab->regions, tab->nregions, vaddr, len);
}

/* Addend of the R_X86_64_RELATIVE relocation at @vaddr: linkers that do
 * not write link-time values into relocated words (lld) leave 0 there. */
static bool reloc_addend(Elf *elf, uint64_t vaddr, uint64_t *value)
{
	GElf_Ehdr ehdr;
	Elf_Scn *scn = NULL;

	if (!gelf_getehdr(elf, &ehdr) || ehdr.e_machine != EM_X86_64)
		return false;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr shdr;
		Elf_Data *data;
		size_t nrel;

		if (!gelf_getshdr(scn, &shdr) || shdr.sh_type != SHT_RELA ||
		    !(shdr.sh_flags & SHF_ALLOC) || shdr.sh_entsize == 0)
			continue;
		data = elf_getdata(scn, NULL);
		if (!data)
			continue;
		nrel = data->d_size / shdr.sh_entsize;
		for (size_t i = 0; i < nrel; i++) {
			GElf_Rela rela;

			if (!gelf_getrela(data, (int)i, &rela))
				break;
			if (rela.r_offset == vaddr &&
			    GELF_R_TYPE(rela.r_info) == R_X86_64_RELATIVE) {
				*value = (uint64_t)rela.r_addend;
				return true;
			}
		}
	}
	return false;
}

/* Link-time value of the pointer at @vaddr. */
static int tab_read_ptr(const struct pclntab *tab, uint64_t vaddr,
			uint64_t *value)
{
	const uint8_t *p = tab_ptr(tab, vaddr, 8);

	if (!p)
		return -EFAULT;
	*value = le64(p);
	if (*value == 0)
		reloc_addend(tab->elf, vaddr, value);
	return 0;
}

static const struct go_syms *syms_get(struct go_syms *syms)
{
	Elf *elf = syms->elf;
	Elf_Scn *scn = NULL;

	if (syms->loaded)
		return syms;
	memset(syms, 0, sizeof(*syms));
	syms->elf = elf;
	syms->loaded = true;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr shdr;
		Elf_Data *data;
		size_t nsym;

		if (!gelf_getshdr(scn, &shdr) || shdr.sh_type != SHT_SYMTAB ||
		    shdr.sh_entsize == 0)
			continue;
		data = elf_getdata(scn, NULL);
		if (!data)
			continue;
		nsym = data->d_size / shdr.sh_entsize;
		for (size_t i = 1; i < nsym; i++) {
			GElf_Sym sym;
			const char *name;

			if (!gelf_getsym(data, (int)i, &sym))
				break;
			if (sym.st_name == 0 || sym.st_shndx == SHN_UNDEF)
				continue;
			name = elf_strptr(elf, shdr.sh_link, sym.st_name);
			if (!name || strncmp(name, "runtime.", 8) != 0) {
				if (name && (!strcmp(name, "go:func.*") ||
					     !strcmp(name, "go.func.*"))) {
					syms->gofunc = sym.st_value;
					syms->has_gofunc = true;
				}
				continue;
			}
			if (!strcmp(name, "runtime.pclntab")) {
				syms->pclntab = sym.st_value;
				syms->has_pclntab = true;
			} else if (!strcmp(name, "runtime.epclntab")) {
				syms->epclntab = sym.st_value;
				syms->has_epclntab = true;
			} else if (!strcmp(name, "runtime.firstmoduledata")) {
				syms->firstmoduledata = sym.st_value;
				syms->has_firstmoduledata = true;
			} else if (!strcmp(name, "runtime.text")) {
				syms->text = sym.st_value;
				syms->has_text = true;
			}
		}
		break;
	}
	return syms;
}

/* Reads a uvarint of at most 32 bits at *@pos, below @end. */
static int read_uvarint(const uint8_t *data, uint64_t *pos, uint64_t end,
			uint32_t *value)
{
	uint32_t v = 0;

	for (unsigned int shift = 0; shift < 35; shift += 7) {
		uint8_t b;

		if (*pos >= end)
			return -EFAULT;
		b = data[(*pos)++];
		v |= (uint32_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*value = v;
			return 0;
		}
	}
	return -EINVAL;
}

/* NUL-terminated string at @off of @span (relative to @base), or NULL. */
static const char *span_string(const uint8_t *base, const struct span *span,
			       uint64_t off)
{
	uint64_t pos;

	if (off >= span->end - span->off)
		return NULL;
	pos = span->off + off;
	if (!memchr(base + pos, 0, span->end - pos))
		return NULL;
	return (const char *)base + pos;
}

static const char *func_name(const struct pclntab *tab, uint64_t name_off)
{
	const char *name;

	name = span_string(tab->data, &tab->funcnametab, name_off);
	if (!name)
		return NULL;
	return (const char *)tab->names + name_off;
}

/* Entry of functab slot @i (i <= nfunc) and its _func offset. */
static void functab_entry(const struct pclntab *tab, uint32_t i,
			  uint64_t *entry, uint64_t *funcoff)
{
	const uint8_t *p =
	    tab->data + tab->pclntable.off + (uint64_t)i * tab->functab_entsize;

	if (tab->format == PCLNTAB_GO116) {
		*entry = le64(p);
		*funcoff = le64(p + 8);
	} else {
		*entry = tab->text_start + le32(p);
		*funcoff = le32(p + 4);
	}
}

/* Decodes the _func of functab slot @i (< nfunc): 0 or -EINVAL. */
static int func_at(const struct pclntab *tab, uint32_t i, struct func_rec *f)
{
	uint64_t funcoff, next_off, func_entry, tail;
	const uint8_t *p;

	if (i >= tab->nfunc)
		return -EINVAL;
	functab_entry(tab, i, &f->entry, &funcoff);
	functab_entry(tab, i + 1, &f->end, &next_off);
	if (f->end <= f->entry)
		return -EINVAL;
	if (!span_fits(funcoff, tab->func_hdrsize,
		       tab->pclntable.end - tab->pclntable.off))
		return -EINVAL;
	p = tab->data + tab->pclntable.off + funcoff;
	f->p = p;
	if (tab->format == PCLNTAB_GO116) {
		func_entry = le64(p);
		p += 4;
	} else {
		func_entry = tab->text_start + le32(p);
	}
	/* from here on the 1.16 fields are shifted by 4 */
	f->name_off = le32(p + 4);
	f->pcsp = le32(p + 16);
	f->pcfile = le32(p + 20);
	f->pcln = le32(p + 24);
	f->npcdata = le32(p + 28);
	f->cu_offset = le32(p + 32);
	if (tab->format == PCLNTAB_GO120) {
		f->flag = p[41];
		f->nfuncdata = p[43];
	} else {
		f->flag = p[37];
		f->nfuncdata = p[39];
	}
	if (func_entry != f->entry)
		return -EINVAL;
	/* pcdata u32s, then funcdata (u32 offsets, or 8-aligned pointers) */
	tail = (uint64_t)f->npcdata * 4;
	if (tab->format == PCLNTAB_GO116)
		tail = ((tab->func_hdrsize + tail + 7) & ~(uint64_t)7) -
		       tab->func_hdrsize + (uint64_t)f->nfuncdata * 8;
	else
		tail += (uint64_t)f->nfuncdata * 4;
	if (!span_fits(funcoff, tab->func_hdrsize + tail,
		       tab->pclntable.end - tab->pclntable.off))
		return -EINVAL;
	return 0;
}

static uint32_t func_pcdata(const struct pclntab *tab, const struct func_rec *f,
			    uint32_t i)
{
	if (i >= f->npcdata)
		return 0;
	return le32(f->p + tab->func_hdrsize + (uint64_t)i * 4);
}

/* Virtual address of funcdata @i, or 0 when there is none. */
static uint64_t func_funcdata(const struct pclntab *tab,
			      const struct func_rec *f, uint32_t i)
{
	uint64_t off = tab->func_hdrsize + (uint64_t)f->npcdata * 4;
	uint32_t rel;

	if (i >= f->nfuncdata)
		return 0;
	if (tab->format == PCLNTAB_GO116) {
		off = (off + 7) & ~(uint64_t)7;
		return le64(f->p + off + (uint64_t)i * 8);
	}
	rel = le32(f->p + off + (uint64_t)i * 4);
	if (rel == UINT32_MAX || !tab->has_gofunc)
		return 0;
	return tab->gofunc + rel;
}

/* Value of the pc-value table at @table_off (from pctab) at @pc: 0,
 * -ENOENT when the function has no such table, -EINVAL when the table is
 * malformed or ends before @pc. */
static int pcvalue(const struct pclntab *tab, const struct func_rec *f,
		   uint32_t table_off, uint64_t pc, int32_t *value)
{
	uint64_t pos, end = tab->pctab.end, cur = f->entry;
	uint32_t val = (uint32_t)-1;
	bool first = true;

	if (table_off == 0)
		return -ENOENT;
	if (table_off >= end - tab->pctab.off)
		return -EINVAL;
	pos = tab->pctab.off + table_off;
	/* Each step eats at least two bytes and moves forward in the function:
	 * bounded by the table and the function size. */
	for (;;) {
		uint32_t uvdelta, pcdelta;

		/* most deltas fit in one byte each */
		if (end - pos >= 2 &&
		    !((tab->data[pos] | tab->data[pos + 1]) & 0x80)) {
			uvdelta = tab->data[pos];
			pcdelta = tab->data[pos + 1];
			pos += 2;
			if (uvdelta == 0 && !first)
				return -EINVAL; /* end of table before @pc */
		} else {
			if (pos >= end || (tab->data[pos] == 0 && !first))
				return -EINVAL;
			if (read_uvarint(tab->data, &pos, end, &uvdelta) ||
			    read_uvarint(tab->data, &pos, end, &pcdelta))
				return -EINVAL;
		}
		val += (uvdelta >> 1) ^ (uint32_t) - (uvdelta & 1);
		cur += (uint64_t)pcdelta * tab->quantum;
		if (pc < cur) {
			*value = (int32_t)val;
			return 0;
		}
		if (cur >= f->end)
			return -EINVAL;
		first = cur == f->entry;
	}
}

static const char *file_at(const struct pclntab *tab, const struct func_rec *f,
			   uint64_t pc)
{
	uint64_t idx, pos;
	int32_t fileno;
	uint32_t file_off;

	if (pcvalue(tab, f, f->pcfile, pc, &fileno) || fileno < 0)
		return NULL;
	idx = (uint64_t)f->cu_offset + (uint32_t)fileno;
	if (idx >= (tab->cutab.end - tab->cutab.off) / 4)
		return NULL;
	pos = tab->cutab.off + idx * 4;
	file_off = le32(tab->data + pos);
	if (file_off == UINT32_MAX)
		return NULL;
	return span_string(tab->data, &tab->filetab, file_off);
}

static uint32_t line_at(const struct pclntab *tab, const struct func_rec *f,
			uint64_t pc)
{
	int32_t line;

	if (pcvalue(tab, f, f->pcln, pc, &line) || line < 0)
		return 0;
	return (uint32_t)line;
}

/* Checks the header at @data (@size bytes, at @vaddr) and fills the table
 * layout of @tab. @strict (scan hits) also wants the sub-tables in the
 * order the linker writes them. */
static int header_parse(struct pclntab *tab, const uint8_t *data, uint64_t size,
			uint64_t vaddr, bool strict)
{
	struct span *spans[5] = {&tab->funcnametab, &tab->cutab, &tab->filetab,
				 &tab->pctab, &tab->pclntable};
	uint64_t hdrsize, offs_at, nfunc, avail;
	uint32_t magic;

	if (size < 64)
		return -EINVAL;
	magic = le32(data);
	switch (magic) {
	case PCLN_MAGIC_116:
		tab->format = PCLNTAB_GO116;
		hdrsize = 64;
		offs_at = 24;
		tab->functab_entsize = 16;
		tab->func_hdrsize = 44;
		break;
	case PCLN_MAGIC_118:
		tab->format = PCLNTAB_GO118;
		hdrsize = 72;
		offs_at = 32;
		tab->functab_entsize = 8;
		tab->func_hdrsize = 40;
		break;
	case PCLN_MAGIC_120:
		tab->format = PCLNTAB_GO120;
		hdrsize = 72;
		offs_at = 32;
		tab->functab_entsize = 8;
		tab->func_hdrsize = 44;
		break;
	default:
		return -EINVAL;
	}
	if (size < hdrsize || data[4] != 0 || data[5] != 0 || data[7] != 8)
		return -EINVAL;
	if (data[6] != 1 && data[6] != 2 && data[6] != 4)
		return -EINVAL;
	tab->quantum = data[6];
	tab->data = data;
	tab->size = size;
	tab->vaddr = vaddr;
	for (int i = 0; i < 5; i++) {
		spans[i]->off = le64(data + offs_at + 8 * i);
		if (spans[i]->off < hdrsize || spans[i]->off >= size)
			return -EINVAL;
		if (strict && i > 0 && spans[i]->off <= spans[i - 1]->off)
			return -EINVAL;
	}
	/* each sub-table ends where the next one starts */
	for (int i = 0; i < 5; i++) {
		spans[i]->end = size;
		for (int j = 0; j < 5; j++)
			if (spans[j]->off > spans[i]->off &&
			    spans[j]->off < spans[i]->end)
				spans[i]->end = spans[j]->off;
	}
	nfunc = le64(data + 8);
	avail =
	    (tab->pclntable.end - tab->pclntable.off) / tab->functab_entsize;
	if (nfunc == 0 || nfunc >= avail || nfunc >= UINT32_MAX)
		return -EINVAL;
	tab->nfunc = (uint32_t)nfunc;
	return 0;
}

/* Search order for the moduledata: its own section (Go 1.26), the section
 * runtime.firstmoduledata lives in before, then everything else. */
static int moduledata_pass(const char *name)
{
	if (!strcmp(name, ".go.module"))
		return 0;
	if (!strcmp(name, ".noptrdata"))
		return 1;
	return 2;
}

/* Whether the moduledata at @md describes @tab: its pcHeader, and its
 * funcnametab, cutab, filetab, pctab, pclntable and ftab slices start where
 * the header puts them and are no longer than their sub-tables. A table
 * found by its magic alone is believed only with such a moduledata. */
static bool moduledata_refers(const struct pclntab *tab, uint64_t md)
{
	static const uint32_t field[] = {
	    MODULEDATA_FUNCNAMETAB, MODULEDATA_CUTAB,	  MODULEDATA_FILETAB,
	    MODULEDATA_PCTAB,	    MODULEDATA_PCLNTABLE, MODULEDATA_FTAB};
	const struct span *spans[] = {&tab->funcnametab, &tab->cutab,
				      &tab->filetab,	 &tab->pctab,
				      &tab->pclntable,	 &tab->pclntable};
	uint64_t v;

	if (tab_read_ptr(tab, md, &v) || v != tab->vaddr)
		return false;
	for (size_t i = 0; i < sizeof(field) / sizeof(field[0]); i++) {
		const uint8_t *len = tab_ptr(tab, md + field[i] + 8, 8);

		if (tab_read_ptr(tab, md + field[i], &v) ||
		    v != tab->vaddr + spans[i]->off || !len)
			return false;
		/* ftab counts entries; the others bytes (the linker writes
		 * cutab's length in bytes too) */
		v = le64(len);
		if (field[i] == MODULEDATA_FTAB)
			v *= tab->functab_entsize;
		if (v > spans[i]->end - spans[i]->off)
			return false;
	}
	return true;
}

/* Finds the moduledata that points at the pcHeader. */
static int moduledata_find(const struct pclntab *tab, uint64_t *md)
{
	uint8_t want[8];

	for (int i = 0; i < 8; i++)
		want[i] = (uint8_t)(tab->vaddr >> (8 * i));
	for (int pass = 0; pass < 3; pass++) {
		for (size_t i = 0; i < tab->nregions; i++) {
			const struct region *r = &tab->regions[i];

			if (moduledata_pass(r->name) != pass || r->size < 8)
				continue;
			for (uint64_t off = (8 - (r->vaddr & 7)) & 7;
			     off <= r->size - 8; off += 8) {
				if (memcmp(r->bytes + off, want, 8))
					continue;
				if (moduledata_refers(tab, r->vaddr + off)) {
					*md = r->vaddr + off;
					return 0;
				}
			}
		}
	}
	return -ENODATA;
}

/* Same, for binaries linked without link-time values in relocated words:
 * the moduledata is where a relocation with the pcHeader as addend
 * points. */
static int moduledata_find_reloc(const struct pclntab *tab, uint64_t *md)
{
	GElf_Ehdr ehdr;
	Elf_Scn *scn = NULL;

	if (!gelf_getehdr(tab->elf, &ehdr) || ehdr.e_machine != EM_X86_64)
		return -ENODATA;
	while ((scn = elf_nextscn(tab->elf, scn))) {
		GElf_Shdr shdr;
		Elf_Data *data;
		size_t nrel;

		if (!gelf_getshdr(scn, &shdr) || shdr.sh_type != SHT_RELA ||
		    !(shdr.sh_flags & SHF_ALLOC) || shdr.sh_entsize == 0)
			continue;
		data = elf_getdata(scn, NULL);
		if (!data)
			continue;
		nrel = data->d_size / shdr.sh_entsize;
		for (size_t i = 0; i < nrel; i++) {
			GElf_Rela rela;

			if (!gelf_getrela(data, (int)i, &rela))
				break;
			if (GELF_R_TYPE(rela.r_info) != R_X86_64_RELATIVE ||
			    (uint64_t)rela.r_addend != tab->vaddr)
				continue;
			if (moduledata_refers(tab, rela.r_offset)) {
				*md = rela.r_offset;
				return 0;
			}
		}
	}
	return -ENODATA;
}

/* The moduledata of @tab, by runtime.firstmoduledata or a search; a table
 * found by scanning must have one. */
static int moduledata_locate(struct pclntab *tab, struct go_syms *lazy)
{
	const struct go_syms *syms = syms_get(lazy);

	if ((syms->has_firstmoduledata &&
	     moduledata_refers(tab, syms->firstmoduledata) &&
	     (tab->md = syms->firstmoduledata, true)) ||
	    moduledata_find(tab, &tab->md) == 0 ||
	    moduledata_find_reloc(tab, &tab->md) == 0)
		tab->has_md = true;
	return tab->has_md || !tab->scanned ? 0 : -ENODATA;
}

/* Text start (1.18+, when the header has none) and gofunc (1.18+). */
static int module_addrs(struct pclntab *tab, struct go_syms *lazy)
{
	const struct go_syms *syms;
	uint64_t text = 0, gofunc = 0;

	if (tab->has_md && tab->text_start == 0 &&
	    tab_read_ptr(tab, tab->md + MODULEDATA_TEXT, &text) == 0)
		tab->text_start = text;
	if (tab->text_start == 0 && syms_get(lazy)->has_text)
		tab->text_start = lazy->text;
	if (tab->text_start == 0)
		return -ENODATA;

	if (tab->has_md &&
	    tab_read_ptr(tab,
			 tab->md + (tab->format == PCLNTAB_GO118
					? MODULEDATA_GOFUNC_118
					: MODULEDATA_GOFUNC_120),
			 &gofunc) == 0 &&
	    tab_ptr(tab, gofunc, 1)) {
		tab->gofunc = gofunc;
		tab->has_gofunc = true;
	} else if ((syms = syms_get(lazy))->has_gofunc &&
		   tab_ptr(tab, syms->gofunc, 1)) {
		tab->gofunc = syms->gofunc;
		tab->has_gofunc = true;
	}
	return 0;
}

/* Text range: from the first entry to the end of the last function. */
static int table_check(struct pclntab *tab)
{
	uint64_t off;

	uint64_t minpc, maxpc;

	functab_entry(tab, 0, &tab->text_lo, &off);
	functab_entry(tab, tab->nfunc, &tab->text_hi, &off);
	if (tab->text_hi <= tab->text_lo)
		return -EINVAL;
	/* the moduledata's minpc and maxpc are the first function's entry
	 * and the last one's end: a table found by scanning must agree */
	if (tab->scanned &&
	    (tab_read_ptr(tab, tab->md + MODULEDATA_MINPC, &minpc) ||
	     tab_read_ptr(tab, tab->md + MODULEDATA_MAXPC, &maxpc) ||
	     minpc != tab->text_lo || maxpc != tab->text_hi))
		return -EINVAL;
	return 0;
}

/* Names in pclntab carry no ABI suffix; if some do anyway, the names are
 * read from a copy of funcnametab where the suffixes are cut off. */
static int names_prepare(struct pclntab *tab)
{
	const uint8_t *names = tab->data + tab->funcnametab.off;
	uint64_t len = tab->funcnametab.end - tab->funcnametab.off;
	uint64_t pos = 0;
	const uint8_t *hit;

	tab->names = names;
	/* one pass over the names; ".abi" is rare, suffixes rarer */
	while ((hit = memmem(names + pos, len - pos, ".abi", 4))) {
		uint64_t at = (uint64_t)(hit - names), rest = len - at;

		if ((rest >= 6 && !memcmp(hit, ".abi0", 6)) ||
		    (rest >= 13 && !memcmp(hit, ".abiinternal", 13))) {
			if (!tab->names_copy) {
				tab->names_copy = malloc(len);
				if (!tab->names_copy)
					return -ENOMEM;
				memcpy(tab->names_copy, names, len);
			}
			tab->names_copy[at] = 0;
		}
		pos = at + 4;
	}
	if (tab->names_copy)
		tab->names = tab->names_copy;
	return 0;
}

/* The table at link-time @vaddr, inside one region. */
static int header_at(struct pclntab *tab, uint64_t vaddr, uint64_t end)
{
	for (size_t i = 0; i < tab->nregions; i++) {
		const struct region *r = &tab->regions[i];
		uint64_t off, size;

		if (vaddr < r->vaddr || vaddr - r->vaddr >= r->size)
			continue;
		off = vaddr - r->vaddr;
		size = r->size - off;
		if (end > vaddr && end - vaddr < size)
			size = end - vaddr;
		return header_parse(tab, r->bytes + off, size, vaddr, false);
	}
	return -ENODATA;
}

/* Locates the pcHeader: its section (.gopclntab; .data.rel.ro.gopclntab
 * in PIEs before Go 1.21, which lld merges into .data.rel.ro), symbol
 * runtime.pclntab, runtime.firstmoduledata's pcHeader, or a scan of the
 * read-only data for the magic (stripped binaries), then checked against
 * the moduledata that must refer to it. */
static int pclntab_locate(struct pclntab *tab, struct go_syms *lazy)
{
	const struct go_syms *syms;

	for (size_t i = 0; i < tab->nregions; i++) {
		const struct region *r = &tab->regions[i];

		if (strcmp(r->name, ".gopclntab") &&
		    strcmp(r->name, ".data.rel.ro.gopclntab"))
			continue;
		return header_parse(tab, r->bytes, r->size, r->vaddr, false);
	}
	syms = syms_get(lazy);
	if (syms->has_pclntab &&
	    !header_at(tab, syms->pclntab,
		       syms->has_epclntab ? syms->epclntab : 0))
		return 0;
	if (syms->has_firstmoduledata) {
		uint64_t hdr;
		const uint8_t *p = tab_ptr(tab, syms->firstmoduledata, 8);

		hdr = p ? le64(p) : 0;
		if (p && hdr == 0)
			reloc_addend(tab->elf, syms->firstmoduledata, &hdr);
		if (hdr && !header_at(tab, hdr, 0))
			return 0;
	}
	tab->scanned = true;
	for (size_t i = 0; i < tab->nregions; i++) {
		const struct region *r = &tab->regions[i];

		if (r->size < 8)
			continue;
		for (uint64_t off = (8 - (r->vaddr & 7)) & 7;
		     off <= r->size - 8; off += 8) {
			const uint8_t *p = r->bytes + off;
			struct func_rec f;

			if (p[1] != 0xff || p[2] != 0xff || p[3] != 0xff ||
			    p[4] != 0 || p[5] != 0 || p[7] != 8)
				continue;
			if (header_parse(tab, p, r->size - off, r->vaddr + off,
					 true))
				continue;
			/* entries are only comparable before text_start is
			 * known: the first _func must match its slot, and a
			 * moduledata must refer to the table */
			if (func_at(tab, 0, &f) == 0 &&
			    moduledata_locate(tab, lazy) == 0)
				return 0;
		}
	}
	return -ENODATA;
}

struct pclntab *pclntab__new(Elf *elf)
{
	struct pclntab *tab;
	struct go_syms syms = {.elf = elf};
	GElf_Ehdr ehdr;
	int err;

	if (!elf || !gelf_getehdr(elf, &ehdr)) {
		errno = EINVAL;
		return NULL;
	}
	if (ehdr.e_ident[EI_CLASS] != ELFCLASS64 ||
	    ehdr.e_ident[EI_DATA] != ELFDATA2LSB) {
		errno = ENODATA;
		return NULL;
	}
	tab = calloc(1, sizeof(*tab));
	if (!tab) {
		errno = ENOMEM;
		return NULL;
	}
	{
		static uint64_t next_id;

		tab->id = __atomic_add_fetch(&next_id, 1, __ATOMIC_RELAXED);
	}
	tab->elf = elf;
	err = regions_collect(elf, &tab->regions, &tab->nregions);
	if (err)
		goto out;
	err = pclntab_locate(tab, &syms);
	if (!err && !tab->scanned)
		err = moduledata_locate(tab, &syms);
	if (err)
		goto out;
	if (tab->format != PCLNTAB_GO116) {
		uint64_t start = le64(tab->data + 24);

		if (start == 0)
			reloc_addend(elf, tab->vaddr + 24, &start);
		tab->text_start = start;
		err = module_addrs(tab, &syms);
		if (err)
			goto out;
	}
	err = table_check(tab);
	if (err)
		goto out;
	err = names_prepare(tab);
out:
	if (err) {
		pclntab__free(tab);
		errno = -err;
		return NULL;
	}
	return tab;
}

void pclntab__free(struct pclntab *tab)
{
	if (!tab)
		return;
	free(tab->names_copy);
	free(tab->regions);
	free(tab);
}

enum pclntab_format pclntab__format(const struct pclntab *tab)
{
	return tab->format;
}

void pclntab__text_range(const struct pclntab *tab, uint64_t *lo, uint64_t *hi)
{
	*lo = tab->text_lo;
	*hi = tab->text_hi;
}

/* The unwinder looks up the same return addresses sample after sample: a
 * direct-mapped cache of exact pcs, per thread, keyed by table id. */
#define FIND_CACHE 1024
struct find_cache_ent {
	uint64_t id, pc;
	struct go_func fn;
};

int pclntab__find_func(const struct pclntab *tab, uint64_t pc,
		       struct go_func *fn)
{
	static __thread struct find_cache_ent cache[FIND_CACHE];
	struct find_cache_ent *c =
		&cache[((pc * 0x9e3779b97f4a7c15ULL) >> 54) & (FIND_CACHE - 1)];
	uint32_t lo = 0, hi = tab->nfunc;
	struct func_rec f;
	const char *name;
	int err;

	if (pc < tab->text_lo || pc >= tab->text_hi)
		return -ENOENT;
	if (c->id == tab->id && c->pc == pc) {
		*fn = c->fn;
		return 0;
	}
	/* last slot whose entry <= pc */
	while (hi - lo > 1) {
		uint32_t mid = lo + (hi - lo) / 2;
		uint64_t entry, off;

		functab_entry(tab, mid, &entry, &off);
		if (entry <= pc)
			lo = mid;
		else
			hi = mid;
	}
	err = func_at(tab, lo, &f);
	if (err)
		return err;
	if (pc < f.entry || pc >= f.end)
		return -EINVAL; /* functab not sorted */
	name = func_name(tab, f.name_off);
	if (!name)
		return -EINVAL;
	fn->entry = f.entry;
	fn->end = f.end;
	fn->name = name;
	fn->flag = f.flag;
	fn->index = lo;
	c->id = tab->id;
	c->pc = pc;
	c->fn = *fn;
	return 0;
}

/* Re-decodes @fn (it comes from the caller) and checks @pc is inside it. */
static int func_of(const struct pclntab *tab, const struct go_func *fn,
		   uint64_t pc, struct func_rec *f)
{
	int err = func_at(tab, fn->index, f);

	if (err)
		return err;
	if (pc < f->entry || pc >= f->end)
		return -EINVAL;
	return 0;
}

int pclntab__sp_delta(const struct pclntab *tab, const struct go_func *fn,
		      uint64_t pc, int32_t *delta)
{
	struct func_rec f;
	int err = func_of(tab, fn, pc, &f);

	if (err)
		return err;
	err = pcvalue(tab, &f, f.pcsp, pc, delta);
	if (err == -ENOENT) {
		/* no table: the linker writes none for frameless code */
		*delta = 0;
		return 0;
	}
	if (err == 0 && *delta < 0)
		return -EINVAL;
	return err;
}

/* Inline tree entry @ix of @f: name offset and parent pc (from entry). */
static int inline_entry(const struct pclntab *tab, const struct func_rec *f,
			int32_t ix, uint32_t *name_off, uint64_t *parent_pc)
{
	uint64_t tree = func_funcdata(tab, f, FUNCDATA_INLTREE);
	uint64_t size = tab->format == PCLNTAB_GO120 ? 16 : 20;
	const uint8_t *p;
	int32_t name, parent;

	if (tree == 0)
		return -ENOENT;
	if ((uint64_t)ix > (UINT64_MAX - tree) / size - 1)
		return -EINVAL;
	p = tab_ptr(tab, tree + (uint64_t)ix * size, size);
	if (!p)
		return -EINVAL;
	if (tab->format == PCLNTAB_GO120) {
		name = (int32_t)le32(p + 4);
		parent = (int32_t)le32(p + 8);
	} else {
		name = (int32_t)le32(p + 12);
		parent = (int32_t)le32(p + 16);
	}
	if (name < 0 || parent < 0 || (uint64_t)parent >= f->end - f->entry)
		return -EINVAL;
	*name_off = (uint32_t)name;
	*parent_pc = f->entry + (uint64_t)parent;
	return 0;
}

/* Inline tree index at @pc, -1 outside inlined code. Like the runtime's
 * non-strict lookup, a table that does not cover @pc (the padding after
 * the code) means no inlining. */
static int32_t inline_index(const struct pclntab *tab, const struct func_rec *f,
			    uint64_t pc)
{
	uint32_t table = func_pcdata(tab, f, PCDATA_INLTREEINDEX);
	int32_t ix;

	if (table == 0 || func_funcdata(tab, f, FUNCDATA_INLTREE) == 0)
		return -1;
	if (pcvalue(tab, f, table, pc, &ix))
		return -1;
	return ix;
}

int pclntab__frames(const struct pclntab *tab, const struct go_func *fn,
		    uint64_t pc, struct go_frame *frames, int max)
{
	struct func_rec f;
	const char *fname;
	int32_t ix;
	int n = 0, err;

	err = func_of(tab, fn, pc, &f);
	if (err)
		return err;
	fname = func_name(tab, f.name_off);
	if (!fname)
		return -EINVAL;
	ix = inline_index(tab, &f, pc);
	/* every loop writes a frame: at most @max iterations */
	while (n < max) {
		struct go_frame *fr = &frames[n++];
		uint32_t name_off;
		uint64_t parent_pc;

		fr->file = file_at(tab, &f, pc);
		fr->line = line_at(tab, &f, pc);
		if (ix < 0) {
			fr->name = fname;
			fr->inlined = false;
			break;
		}
		err = inline_entry(tab, &f, ix, &name_off, &parent_pc);
		if (err)
			return -EINVAL;
		fr->name = func_name(tab, name_off);
		if (!fr->name)
			return -EINVAL;
		fr->inlined = true;
		pc = parent_pc;
		ix = inline_index(tab, &f, pc);
	}
	return n;
}

/* Copies @len bytes at @src into @buf as a string. */
static int version_copy(const uint8_t *src, uint64_t len, char *buf,
			size_t size)
{
	if (len == 0)
		return -ENODATA;
	if (len > BUILDINFO_MAX_VERSION || memchr(src, 0, len))
		return -EINVAL;
	if (len >= size)
		return -ERANGE;
	memcpy(buf, src, len);
	buf[len] = 0;
	return 0;
}

/* Version from the build info header at @p (@avail bytes to the end of its
 * region). */
static int buildinfo_parse(const struct region *regions, size_t nregions,
			   const uint8_t *p, uint64_t avail, char *buf,
			   size_t size)
{
	uint64_t str_hdr, str, len;
	const uint8_t *q;

	if (avail < BUILDINFO_HEADER_LEN)
		return -EINVAL;
	if (p[15] & 2) {
		/* Go 1.18+: varint length, then the bytes, at +32 */
		uint64_t pos = BUILDINFO_HEADER_LEN;
		uint32_t n;

		if (read_uvarint(p, &pos, avail, &n) ||
		    !span_fits(pos, n, avail))
			return -EINVAL;
		return version_copy(p + pos, n, buf, size);
	}
	/* older: pointer to a Go string header {data, len} */
	if (p[14] != 8 || (p[15] & 1))
		return -EINVAL; /* only 64-bit little endian */
	str_hdr = le64(p + 16);
	q = regions_ptr(regions, nregions, str_hdr, 16);
	if (!q)
		return -EINVAL;
	str = le64(q);
	len = le64(q + 8);
	if (len == 0)
		return -ENODATA;
	if (len > BUILDINFO_MAX_VERSION)
		return -EINVAL;
	q = regions_ptr(regions, nregions, str, len);
	if (!q)
		return -EINVAL;
	return version_copy(q, len, buf, size);
}

int go_buildinfo__version(Elf *elf, char *buf, size_t size)
{
	struct region *regions = NULL;
	size_t nregions = 0;
	int err;

	if (!elf || !buf || size == 0)
		return -EINVAL;
	err = regions_collect(elf, &regions, &nregions);
	if (err)
		return err;
	err = -ENODATA;
	for (size_t i = 0; i < nregions; i++) {
		const struct region *r = &regions[i];

		if (strcmp(r->name, ".go.buildinfo"))
			continue;
		if (r->size >= BUILDINFO_MAGIC_LEN &&
		    !memcmp(r->bytes, BUILDINFO_MAGIC, BUILDINFO_MAGIC_LEN))
			err = buildinfo_parse(regions, nregions, r->bytes,
					      r->size, buf, size);
		else
			err = -EINVAL;
		goto out;
	}
	/* no section (or no section headers): the linker aligns it to 16 */
	for (size_t i = 0; i < nregions; i++) {
		const struct region *r = &regions[i];

		if (r->size < BUILDINFO_HEADER_LEN)
			continue;
		for (uint64_t off = (BUILDINFO_ALIGN - (r->vaddr & 15)) & 15;
		     off <= r->size - BUILDINFO_HEADER_LEN;
		     off += BUILDINFO_ALIGN) {
			if (memcmp(r->bytes + off, BUILDINFO_MAGIC,
				   BUILDINFO_MAGIC_LEN))
				continue;
			err = buildinfo_parse(regions, nregions, r->bytes + off,
					      r->size - off, buf, size);
			goto out;
		}
	}
out:
	free(regions);
	return err;
}
