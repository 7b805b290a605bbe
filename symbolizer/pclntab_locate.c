// SPDX-License-Identifier: MIT
/* Finding a Go binary's pclntab and moduledata wherever a linker put
 * them: its own section, inside .data.rel.ro or .rodata, by the
 * runtime.pclntab / runtime.firstmoduledata symbols, or by scanning a
 * stripped binary for the header, then validated by the moduledata that
 * refers to it. Also the build info's Go version. Every address read goes
 * through the region checks here. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cgoprof/elfobj.h"
#include "pclntab_internal.h"

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

const uint8_t *pcln_regions_ptr(const struct region *regions, size_t n,
				uint64_t vaddr, uint64_t len)
{
	return regions_ptr(regions, n, vaddr, len);
}

const uint8_t *pcln_tab_ptr(const struct pclntab *tab, uint64_t vaddr,
			      uint64_t len)
{
	return regions_ptr(tab->regions, tab->nregions, vaddr, len);
}

/* Calls @fn for each R_X86_64_RELATIVE relocation of @elf's allocated
 * RELA sections, in file order, until it returns true: true then, false
 * when none did (or @elf is not x86-64). */
static bool relative_relocs(Elf *elf,
			    bool (*fn)(void *ctx, const GElf_Rela *rela),
			    void *ctx)
{
	GElf_Ehdr ehdr;
	GElf_Shdr shdr;
	Elf_Scn *scn = NULL;
	Elf_Data *data;

	if (!gelf_getehdr(elf, &ehdr) || ehdr.e_machine != EM_X86_64)
		return false;
	while ((data = elf__next_table(elf, &scn, &shdr, 1u << SHT_RELA,
				       SHF_ALLOC))) {
		size_t nrel = data->d_size / shdr.sh_entsize;

		for (size_t i = 0; i < nrel; i++) {
			GElf_Rela rela;

			if (!gelf_getrela(data, (int)i, &rela))
				break;
			if (GELF_R_TYPE(rela.r_info) == R_X86_64_RELATIVE &&
			    fn(ctx, &rela))
				return true;
		}
	}
	return false;
}

struct reloc_at {
	uint64_t vaddr, addend;
};

static bool reloc_at_vaddr(void *ctx, const GElf_Rela *rela)
{
	struct reloc_at *at = ctx;

	if (rela->r_offset != at->vaddr)
		return false;
	at->addend = (uint64_t)rela->r_addend;
	return true;
}

/* Addend of the R_X86_64_RELATIVE relocation at @vaddr: linkers that do
 * not write link-time values into relocated words (lld) leave 0 there. */
bool pcln_reloc_addend(Elf *elf, uint64_t vaddr, uint64_t *value)
{
	struct reloc_at at = { .vaddr = vaddr };

	if (!relative_relocs(elf, reloc_at_vaddr, &at))
		return false;
	*value = at.addend;
	return true;
}

/* Link-time value of the pointer at @vaddr. */
int pcln_tab_read_ptr(const struct pclntab *tab, uint64_t vaddr,
			uint64_t *value)
{
	const uint8_t *p = pcln_tab_ptr(tab, vaddr, 8);

	if (!p)
		return -EFAULT;
	*value = le64(p);
	if (*value == 0)
		pcln_reloc_addend(tab->elf, vaddr, value);
	return 0;
}

static const struct go_syms *syms_get(struct go_syms *syms)
{
	Elf *elf = syms->elf;
	Elf_Scn *scn = NULL;
	GElf_Shdr shdr;
	Elf_Data *data;

	if (syms->loaded)
		return syms;
	memset(syms, 0, sizeof(*syms));
	syms->elf = elf;
	syms->loaded = true;
	/* the first symbol table only */
	data = elf__next_table(elf, &scn, &shdr, 1u << SHT_SYMTAB, 0);
	if (data) {
		size_t nsym = data->d_size / shdr.sh_entsize;

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
	}
	return syms;
}

/* Reads a uvarint of at most 32 bits at *@pos, below @end. */
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

	if (pcln_tab_read_ptr(tab, md, &v) || v != tab->vaddr)
		return false;
	for (size_t i = 0; i < sizeof(field) / sizeof(field[0]); i++) {
		const uint8_t *len = pcln_tab_ptr(tab, md + field[i] + 8, 8);

		if (pcln_tab_read_ptr(tab, md + field[i], &v) ||
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

struct reloc_md {
	const struct pclntab *tab;
	uint64_t md;
};

static bool reloc_to_moduledata(void *ctx, const GElf_Rela *rela)
{
	struct reloc_md *m = ctx;

	if ((uint64_t)rela->r_addend != m->tab->vaddr ||
	    !moduledata_refers(m->tab, rela->r_offset))
		return false;
	m->md = rela->r_offset;
	return true;
}

/* Same, for binaries linked without link-time values in relocated words:
 * the moduledata is where a relocation with the pcHeader as addend
 * points. */
static int moduledata_find_reloc(const struct pclntab *tab, uint64_t *md)
{
	struct reloc_md m = { .tab = tab };

	if (!relative_relocs(tab->elf, reloc_to_moduledata, &m))
		return -ENODATA;
	*md = m.md;
	return 0;
}

/* The moduledata of @tab, by runtime.firstmoduledata or a search; a table
 * found by scanning must have one. */
int pcln_moduledata_locate(struct pclntab *tab, struct go_syms *lazy)
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
int pcln_module_addrs(struct pclntab *tab, struct go_syms *lazy)
{
	const struct go_syms *syms;
	uint64_t text = 0, gofunc = 0;

	if (tab->has_md && tab->text_start == 0 &&
	    pcln_tab_read_ptr(tab, tab->md + MODULEDATA_TEXT, &text) == 0)
		tab->text_start = text;
	if (tab->text_start == 0 && syms_get(lazy)->has_text)
		tab->text_start = lazy->text;
	if (tab->text_start == 0)
		return -ENODATA;

	if (tab->has_md &&
	    pcln_tab_read_ptr(tab,
			 tab->md + (tab->format == PCLNTAB_GO118
					? MODULEDATA_GOFUNC_118
					: MODULEDATA_GOFUNC_120),
			 &gofunc) == 0 &&
	    pcln_tab_ptr(tab, gofunc, 1)) {
		tab->gofunc = gofunc;
		tab->has_gofunc = true;
	} else if ((syms = syms_get(lazy))->has_gofunc &&
		   pcln_tab_ptr(tab, syms->gofunc, 1)) {
		tab->gofunc = syms->gofunc;
		tab->has_gofunc = true;
	}
	return 0;
}

/* Text range: from the first entry to the end of the last function. */
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
		return pcln_header_parse(tab, r->bytes + off, size, vaddr, false);
	}
	return -ENODATA;
}

/* Locates the pcHeader: its section (.gopclntab; .data.rel.ro.gopclntab
 * in PIEs before Go 1.21, which lld merges into .data.rel.ro), symbol
 * runtime.pclntab, runtime.firstmoduledata's pcHeader, or a scan of the
 * read-only data for the magic (stripped binaries), then checked against
 * the moduledata that must refer to it. */
int pcln_locate(struct pclntab *tab, struct go_syms *lazy)
{
	const struct go_syms *syms;

	for (size_t i = 0; i < tab->nregions; i++) {
		const struct region *r = &tab->regions[i];

		if (strcmp(r->name, ".gopclntab") &&
		    strcmp(r->name, ".data.rel.ro.gopclntab"))
			continue;
		return pcln_header_parse(tab, r->bytes, r->size, r->vaddr, false);
	}
	syms = syms_get(lazy);
	if (syms->has_pclntab &&
	    !header_at(tab, syms->pclntab,
		       syms->has_epclntab ? syms->epclntab : 0))
		return 0;
	if (syms->has_firstmoduledata) {
		uint64_t hdr;
		const uint8_t *p = pcln_tab_ptr(tab, syms->firstmoduledata, 8);

		hdr = p ? le64(p) : 0;
		if (p && hdr == 0)
			pcln_reloc_addend(tab->elf, syms->firstmoduledata, &hdr);
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
			if (pcln_header_parse(tab, p, r->size - off, r->vaddr + off,
					 true))
				continue;
			/* entries are only comparable before text_start is
			 * known: the first _func must match its slot, and a
			 * moduledata must refer to the table */
			if (pcln_func_at(tab, 0, &f) == 0 &&
			    pcln_moduledata_locate(tab, lazy) == 0)
				return 0;
		}
	}
	return -ENODATA;
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

		if (pcln_read_uvarint(p, &pos, avail, &n) ||
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

int pcln_buildinfo_find(const struct region *regions, size_t nregions,
			const struct region **found, uint64_t *off)
{
	for (size_t i = 0; i < nregions; i++) {
		const struct region *r = &regions[i];

		if (strcmp(r->name, ".go.buildinfo"))
			continue;
		if (r->size < BUILDINFO_MAGIC_LEN ||
		    memcmp(r->bytes, BUILDINFO_MAGIC, BUILDINFO_MAGIC_LEN))
			return -EINVAL;
		*found = r;
		*off = 0;
		return 0;
	}
	/* no section (or no section headers): the linker aligns it to 16.
	 * memmem, not a compare at each aligned offset: a binary built
	 * without it (esbuild's) is searched whole, megabytes. */
	for (size_t i = 0; i < nregions; i++) {
		const struct region *r = &regions[i];
		const uint8_t *p = r->bytes, *end = r->bytes + r->size;

		if (r->size < BUILDINFO_HEADER_LEN)
			continue;
		while ((p = memmem(p, (size_t)(end - p), BUILDINFO_MAGIC,
				   BUILDINFO_MAGIC_LEN))) {
			uint64_t o = (uint64_t)(p - r->bytes);

			if (o > r->size - BUILDINFO_HEADER_LEN)
				break;
			if (((r->vaddr + o) & (BUILDINFO_ALIGN - 1)) == 0) {
				*found = r;
				*off = o;
				return 0;
			}
			p++;
		}
	}
	return -ENODATA;
}

static int version_in(const struct region *regions, size_t nregions,
		      char *buf, size_t size)
{
	const struct region *r;
	uint64_t off;
	int err;

	err = pcln_buildinfo_find(regions, nregions, &r, &off);
	if (!err)
		err = buildinfo_parse(regions, nregions, r->bytes + off,
				      r->size - off, buf, size);
	return err;
}

int go_buildinfo__version(Elf *elf, char *buf, size_t size)
{
	struct region *regions = NULL;
	struct region_buf rbuf;
	size_t nregions = 0;
	int err;

	if (!elf || !buf || size == 0)
		return -EINVAL;
	err = pcln_regions_collect(elf, -1, &regions, &nregions, &rbuf);
	if (err)
		return err;
	err = version_in(regions, nregions, buf, size);
	free(regions);
	pcln_region_buf_free(&rbuf);
	return err;
}

int pclntab__go_version(const struct pclntab *tab, char *buf, size_t size)
{
	if (!tab || !buf || size == 0)
		return -EINVAL;
	return version_in(tab->regions, tab->nregions, buf, size);
}
