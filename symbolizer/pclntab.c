// SPDX-License-Identifier: MIT
/* Go pclntab reader (include/cgoprof/pclntab.h; pclntab_locate.c finds
 * the table in the binary): a pcHeader (magic, PC quantum, pointer size,
 * function count, sub-table offsets), then the function name, compilation
 * unit, file name, pc-value and function tables as runtime/symtab.go lays
 * them out for each format. Layouts were checked on real binaries built
 * by Go 1.17, 1.19, 1.20, 1.21, 1.22 and 1.26 (tests/unit/pclntab-bins.sh).
 *
 * Everything read from the binary goes through the span and region checks
 * below: a table offset is checked against the end of its sub-table, a
 * virtual address against the section that holds it. Nothing is allocated
 * after pclntab__new(). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pclntab_internal.h"

int pcln_read_uvarint(const uint8_t *data, uint64_t *pos, uint64_t end,
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

/* *fn = function @f, slot @index of the table; its name checked. */
static int func_fill(const struct pclntab *tab, const struct func_rec *f,
		     uint32_t index, struct go_func *fn)
{
	const char *name = func_name(tab, f->name_off);

	if (!name)
		return -EINVAL;
	fn->entry = f->entry;
	fn->end = f->end;
	fn->name = name;
	fn->flag = f->flag;
	fn->index = index;
	fn->cu = f->cu_offset;
	fn->host = !f->pcsp && !f->pcfile && !f->pcln;
	fn->runtime = !strncmp(name, "runtime.", 8);
	/* The ELF entry's trampolines, where the kernel starts the main
	 * thread ([rsp] is argc, not a return address), are its root as
	 * much as runtime.rt0_go, which they jump to and which the linker
	 * marks; they are not marked (samples at the first instruction, in
	 * its page fault or a probe there, ended "[truncated: unmapped
	 * return address]") */
	if (name[0] == '_' && (!strcmp(name, "_rt0_amd64_linux") ||
			       !strcmp(name, "_rt0_amd64")))
		fn->flag |= CGOPROF_GO_FUNCFLAG_TOPFRAME;
	return 0;
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
int pcln_func_at(const struct pclntab *tab, uint32_t i, struct func_rec *f)
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
			if (pcln_read_uvarint(tab->data, &pos, end, &uvdelta) ||
			    pcln_read_uvarint(tab->data, &pos, end, &pcdelta))
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

/* Each header magic's format and layout: the header's size, where in it
 * the sub-tables' offsets start, the size of a functab entry and of a
 * func record's fixed part. */
static const struct pcln_layout {
	uint32_t magic;
	enum pclntab_format format;
	uint8_t hdrsize, offs_at, functab_entsize, func_hdrsize;
} pcln_layouts[] = {
	{ PCLN_MAGIC_116, PCLNTAB_GO116, 64, 24, 16, 44 },
	{ PCLN_MAGIC_118, PCLNTAB_GO118, 72, 32, 8, 40 },
	{ PCLN_MAGIC_120, PCLNTAB_GO120, 72, 32, 8, 44 },
};

/* Checks the header at @data (@size bytes, at @vaddr) and fills the table
 * layout of @tab. @strict (scan hits) also wants the sub-tables in the
 * order the linker writes them. */
int pcln_header_parse(struct pclntab *tab, const uint8_t *data, uint64_t size,
			uint64_t vaddr, bool strict)
{
	struct span *spans[5] = {&tab->funcnametab, &tab->cutab, &tab->filetab,
				 &tab->pctab, &tab->pclntable};
	const struct pcln_layout *l = NULL;
	uint64_t hdrsize, offs_at, nfunc, avail;

	if (size < 64)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(pcln_layouts) / sizeof(*l); i++)
		if (pcln_layouts[i].magic == le32(data))
			l = &pcln_layouts[i];
	if (!l)
		return -EINVAL;
	tab->format = l->format;
	hdrsize = l->hdrsize;
	offs_at = l->offs_at;
	tab->functab_entsize = l->functab_entsize;
	tab->func_hdrsize = l->func_hdrsize;
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
	    (pcln_tab_read_ptr(tab, tab->md + MODULEDATA_MINPC, &minpc) ||
	     pcln_tab_read_ptr(tab, tab->md + MODULEDATA_MAXPC, &maxpc) ||
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

struct pclntab *pclntab__new(Elf *elf)
{
	return pclntab__new_fd(elf, -1);
}

struct pclntab *pclntab__new_fd(Elf *elf, int fd)
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
	err = pcln_regions_collect(elf, fd, &tab->regions, &tab->nregions,
				   &tab->buf);
	if (err)
		goto out;
	err = pcln_locate(tab, &syms);
	if (!err && !tab->scanned)
		err = pcln_moduledata_locate(tab, &syms);
	if (err)
		goto out;
	if (tab->format != PCLNTAB_GO116) {
		uint64_t start = le64(tab->data + 24);

		if (start == 0)
			pcln_reloc_addend(elf, tab->vaddr + 24, &start);
		tab->text_start = start;
		err = pcln_module_addrs(tab, &syms);
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
	pcln_region_buf_free(&tab->buf);
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

/* The unwinder looks up the same return addresses sample after sample,
 * each a function and then its frame's size: a direct-mapped cache of
 * exact pcs, per thread, keyed by table id, with the pcsp value once
 * pclntab__sp_delta() has decoded it. Deep recursive stacks (a parser's)
 * hold thousands of distinct return addresses: 1 024 entries missed on
 * most of them. */
#define FIND_CACHE 8192
struct find_cache_ent {
	uint64_t id, pc;
	struct go_func fn;
	int32_t sp_delta;
	int16_t sp_err;		/* pclntab__sp_delta()'s result */
	bool sp_known;
};

static __thread struct find_cache_ent find_cache[FIND_CACHE];

static struct find_cache_ent *find_cache_slot(uint64_t pc)
{
	return &find_cache[((pc * 0x9e3779b97f4a7c15ULL) >> 51) &
			   (FIND_CACHE - 1)];
}

/* Whether the file the table is read from in place lost pages since
 * (they read as zeroes now: no name or table is taken from them, the
 * lookup cache's included). Asked before a lookup (the cache) and
 * after its reads, before anything is returned or cached: a lost page
 * is marked when it is read, so a lookup that read one fails itself. */
static bool tab_lost(const struct pclntab *tab)
{
	return filemap__shrank(&tab->buf.file);
}

/* pclntab__find_func()'s search, uncached */
static int find_read(const struct pclntab *tab, uint64_t pc,
		     struct go_func *fn)
{
	uint32_t lo = 0, hi = tab->nfunc;
	struct func_rec f;
	int err;

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
	err = pcln_func_at(tab, lo, &f);
	if (err)
		return err;
	if (pc < f.entry || pc >= f.end)
		return -EINVAL; /* functab not sorted */
	return func_fill(tab, &f, lo, fn);
}

int pclntab__find_func(const struct pclntab *tab, uint64_t pc,
		       struct go_func *fn)
{
	struct find_cache_ent *c = find_cache_slot(pc);
	int err;

	if (pc < tab->text_lo || pc >= tab->text_hi)
		return -ENOENT;
	if (tab_lost(tab))
		return -EIO;
	if (c->id == tab->id && c->pc == pc) {
		*fn = c->fn;
		return 0;
	}
	err = find_read(tab, pc, fn);
	if (tab_lost(tab))
		return -EIO;
	if (err)
		return err;
	*c = (struct find_cache_ent){ .id = tab->id, .pc = pc, .fn = *fn };
	return 0;
}

uint32_t pclntab__nfuncs(const struct pclntab *tab)
{
	return tab->nfunc;
}

int pclntab__func_by_index(const struct pclntab *tab, uint32_t i,
			   struct go_func *fn)
{
	struct func_rec f;
	int err;

	err = pcln_func_at(tab, i, &f);
	if (!err)
		err = func_fill(tab, &f, i, fn);
	return tab_lost(tab) ? -EIO : err;
}

void pclntab__extent(const struct pclntab *tab, uint64_t *vaddr,
		     uint64_t *size)
{
	uint64_t end = tab->pclntable.off +
		       ((uint64_t)tab->nfunc + 1) * tab->functab_entsize;

	*vaddr = tab->vaddr;
	if (!tab->scanned) {
		*size = tab->size;
		return;
	}
	/* the _func records follow the functab: the table ends after the
	 * last of them (pcln_func_at checked each fits) */
	for (uint32_t i = 0; i < tab->nfunc; i++) {
		struct func_rec f;
		uint64_t rec_end;

		if (pcln_func_at(tab, i, &f))
			continue;
		rec_end = (uint64_t)(f.p - tab->data) + tab->func_hdrsize +
			  (uint64_t)f.npcdata * 4 +
			  (uint64_t)f.nfuncdata *
			      (tab->format == PCLNTAB_GO116 ? 12 : 4);
		if (rec_end > end)
			end = rec_end;
	}
	*size = end < tab->size ? end : tab->size;
}

/* Re-decodes @fn (it comes from the caller) and checks @pc is inside it. */
static int func_of(const struct pclntab *tab, const struct go_func *fn,
		   uint64_t pc, struct func_rec *f)
{
	int err = pcln_func_at(tab, fn->index, f);

	if (err)
		return err;
	if (pc < f->entry || pc >= f->end)
		return -EINVAL;
	return 0;
}

static int sp_delta_decode(const struct pclntab *tab,
			   const struct go_func *fn, uint64_t pc,
			   int32_t *delta)
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

int pclntab__sp_delta(const struct pclntab *tab, const struct go_func *fn,
		      uint64_t pc, int32_t *delta)
{
	struct find_cache_ent *c = find_cache_slot(pc);
	bool mine = c->id == tab->id && c->pc == pc &&
		    c->fn.index == fn->index;
	int err;

	if (tab_lost(tab))
		return -EIO;
	if (mine && c->sp_known) {
		*delta = c->sp_delta;
		return c->sp_err;
	}
	*delta = 0;
	err = sp_delta_decode(tab, fn, pc, delta);
	if (tab_lost(tab)) {
		*delta = 0;
		return -EIO;
	}
	if (mine) {
		c->sp_delta = *delta;
		c->sp_err = (int16_t)err;
		c->sp_known = true;
	}
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
	p = pcln_tab_ptr(tab, tree + (uint64_t)ix * size, size);
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

static int frames_read(const struct pclntab *tab, const struct go_func *fn,
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

int pclntab__frames(const struct pclntab *tab, const struct go_func *fn,
		    uint64_t pc, struct go_frame *frames, int max)
{
	int n;

	if (tab_lost(tab))
		return -EIO;
	n = frames_read(tab, fn, pc, frames, max);
	return tab_lost(tab) ? -EIO : n;
}
