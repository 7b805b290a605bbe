// SPDX-License-Identifier: MIT
/* cgoprof audit's size attribution (include/cgoprof/audit.h): every byte
 * of the file in one part. The sections with file contents (else the
 * PT_LOADs) are laid out by file offset, overlaps clipped (hostile files),
 * each given to a part by its type, flags and name; executable bytes are
 * Go text where the pclntab has a function and C text elsewhere; the
 * pclntab is carved out of the section that holds it when it has none of
 * its own; what no section covers (headers, padding) is "other". The sum
 * is the file size by construction. Also the Go text per package and the
 * C text per symbol. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cgoprof/audit.h"
#include "cgoprof/pclntab.h"
#include "audit_internal.h"

#define AUDIT_TOP_C_SYMBOLS 20

enum piece_kind {
	PIECE_TEXT,
	PIECE_RODATA,
	PIECE_DATA,
	PIECE_SYMDBG,
	PIECE_OTHER,
	PIECE_PCLNTAB,
};

struct piece {
	uint64_t off, len, vaddr;
	enum piece_kind kind;
	bool alloc;
};

static const char *const part_names[AUDIT_PART__COUNT] = {
	"go_text", "c_text", "rodata", "pclntab", "data", "symbols_debug",
	"other",
};

const char *audit_part__name(enum audit_part part)
{
	return part < AUDIT_PART__COUNT ? part_names[part] : "?";
}

static bool starts(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

static enum piece_kind section_kind(const GElf_Shdr *sh, const char *name)
{
	if (!strcmp(name, ".gopclntab") ||
	    !strcmp(name, ".data.rel.ro.gopclntab"))
		return PIECE_PCLNTAB;
	if (!(sh->sh_flags & SHF_ALLOC)) {
		if (sh->sh_type == SHT_SYMTAB || !strcmp(name, ".strtab") ||
		    starts(name, ".debug") || starts(name, ".zdebug") ||
		    !strcmp(name, ".gosymtab"))
			return PIECE_SYMDBG;
		return PIECE_OTHER;
	}
	if (sh->sh_flags & SHF_EXECINSTR)
		return PIECE_TEXT;
	switch (sh->sh_type) {
	case SHT_DYNSYM:
	case SHT_STRTAB:
	case SHT_RELA:
	case SHT_REL:
	case SHT_HASH:
	case SHT_GNU_HASH:
	case SHT_GNU_versym:
	case SHT_GNU_verneed:
	case SHT_GNU_verdef:
	case SHT_DYNAMIC:
	case SHT_NOTE:
		return PIECE_OTHER;
	default:
		break;
	}
	if (!strcmp(name, ".interp") || starts(name, ".relr"))
		return PIECE_OTHER;
	if (sh->sh_flags & SHF_WRITE)
		return PIECE_DATA;
	return PIECE_RODATA;
}

static int piece_cmp(const void *a, const void *b)
{
	const struct piece *x = a, *y = b;

	if (x->off != y->off)
		return x->off < y->off ? -1 : 1;
	return 0;
}

/* The file's pieces: its sections with contents, or its PT_LOADs. */
static int pieces_collect(Elf *elf, struct piece **out, size_t *count)
{
	size_t nscn = 0, shstrndx = 0, nphdr = 0, n = 0;
	struct piece *p = NULL;
	Elf_Scn *scn = NULL;

	if (elf_getshdrnum(elf, &nscn) || elf_getshdrstrndx(elf, &shstrndx))
		nscn = 0;
	if (nscn > 1) {
		p = calloc(nscn, sizeof(*p));
		if (!p)
			return -ENOMEM;
		while ((scn = elf_nextscn(elf, scn)) && n < nscn) {
			const char *name;
			GElf_Shdr sh;

			if (!gelf_getshdr(scn, &sh) || sh.sh_type == SHT_NOBITS ||
			    sh.sh_type == SHT_NULL || sh.sh_size == 0)
				continue;
			name = elf_strptr(elf, shstrndx, sh.sh_name);
			p[n].off = sh.sh_offset;
			p[n].len = sh.sh_size;
			p[n].vaddr = sh.sh_addr;
			p[n].alloc = sh.sh_flags & SHF_ALLOC;
			p[n].kind = section_kind(&sh, name ? name : "");
			n++;
		}
	}
	if (n == 0 && !elf_getphdrnum(elf, &nphdr) && nphdr) {
		free(p);
		p = calloc(nphdr, sizeof(*p));
		if (!p)
			return -ENOMEM;
		for (size_t i = 0; i < nphdr; i++) {
			GElf_Phdr ph;

			if (!gelf_getphdr(elf, (int)i, &ph) ||
			    ph.p_type != PT_LOAD || ph.p_filesz == 0)
				continue;
			p[n].off = ph.p_offset;
			p[n].len = ph.p_filesz;
			p[n].vaddr = ph.p_vaddr;
			p[n].alloc = true;
			p[n].kind = ph.p_flags & PF_X	? PIECE_TEXT
				    : ph.p_flags & PF_W ? PIECE_DATA
							: PIECE_RODATA;
			n++;
		}
	}
	if (n)
		qsort(p, n, sizeof(*p), piece_cmp);
	*out = p;
	*count = n;
	return 0;
}

/* A C function the internal linker described in the pclntab: runtime/cgo's
 * gcc_*.c (x_cgo_*). */
static bool c_in_pclntab(const char *name)
{
	return !strncmp(name, "x_cgo_", 6);
}

/* Bytes of [lo, hi) the Go functions cover. */
static uint64_t go_overlap(const struct pclntab *tab, uint64_t lo, uint64_t hi)
{
	uint32_t n = pclntab__nfuncs(tab);
	uint64_t sum = 0, prev_end = 0;

	for (uint32_t i = 0; i < n; i++) {
		struct go_func fn;
		uint64_t a, b;

		if (pclntab__func_by_index(tab, i, &fn) || c_in_pclntab(fn.name))
			continue;
		a = fn.entry > lo ? fn.entry : lo;
		a = a > prev_end ? a : prev_end; /* unsorted: count once */
		b = fn.end < hi ? fn.end : hi;
		if (b > a) {
			sum += b - a;
			prev_end = b;
		}
	}
	return sum;
}

static void parts_add(const struct piece *pc, uint64_t len, uint64_t vaddr,
		      const struct pclntab *tab, uint64_t pcln_va,
		      uint64_t pcln_size, struct audit_report *r)
{
	uint64_t go, carve = 0;

	switch (pc->kind) {
	case PIECE_TEXT:
		go = tab && pc->alloc ? go_overlap(tab, vaddr, vaddr + len) : 0;
		r->parts[AUDIT_GO_TEXT] += go;
		r->parts[AUDIT_C_TEXT] += len - go;
		return;
	case PIECE_PCLNTAB:
		r->parts[AUDIT_PCLNTAB] += len;
		return;
	case PIECE_SYMDBG:
		r->parts[AUDIT_SYMBOLS_DEBUG] += len;
		return;
	case PIECE_OTHER:
		r->parts[AUDIT_OTHER] += len;
		return;
	case PIECE_RODATA:
	case PIECE_DATA:
		/* a pclntab with no section of its own lies in this one */
		if (pcln_size && pc->alloc) {
			uint64_t a = pcln_va > vaddr ? pcln_va : vaddr;
			uint64_t b = pcln_va + pcln_size < vaddr + len
					 ? pcln_va + pcln_size
					 : vaddr + len;

			carve = b > a ? b - a : 0;
		}
		r->parts[AUDIT_PCLNTAB] += carve;
		r->parts[pc->kind == PIECE_DATA ? AUDIT_DATA : AUDIT_RODATA] +=
			len - carve;
		return;
	}
}

struct named_size {
	const char *name;
	size_t len;
	uint64_t bytes;
};

static int named_cmp(const void *a, const void *b)
{
	const struct named_size *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->name, y->name, n);

	if (c)
		return c;
	return x->len < y->len ? -1 : x->len > y->len;
}

static int size_desc(const void *a, const void *b)
{
	const struct audit_size *x = a, *y = b;

	if (x->bytes != y->bytes)
		return x->bytes > y->bytes ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* Equal names summed into @out (caller frees), largest first, at most
 * @max (0: all). */
static int named_merge(struct named_size *v, size_t n, size_t max,
		       struct audit_size **out, size_t *count)
{
	struct audit_size *s;
	size_t k = 0;

	if (n)
		qsort(v, n, sizeof(*v), named_cmp);
	s = calloc(n ? n : 1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (k && s[k - 1].name && strlen(s[k - 1].name) == v[i].len &&
		    !memcmp(s[k - 1].name, v[i].name, v[i].len)) {
			s[k - 1].bytes += v[i].bytes;
			continue;
		}
		s[k].name = strndup(v[i].name, v[i].len);
		if (!s[k].name) {
			for (size_t j = 0; j < k; j++)
				free(s[j].name);
			free(s);
			return -ENOMEM;
		}
		s[k++].bytes = v[i].bytes;
	}
	qsort(s, k, sizeof(*s), size_desc);
	if (max && k > max) {
		for (size_t j = max; j < k; j++)
			free(s[j].name);
		k = max;
	}
	*out = s;
	*count = k;
	return 0;
}

static int go_packages(const struct pclntab *tab, struct audit_report *r)
{
	uint32_t n = pclntab__nfuncs(tab);
	struct named_size *v = calloc(n ? n : 1, sizeof(*v));
	size_t k = 0;
	int err;

	if (!v)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++) {
		struct go_func fn;

		if (pclntab__func_by_index(tab, i, &fn) || c_in_pclntab(fn.name))
			continue;
		v[k].name = fn.name;
		v[k].len = audit__package_len(fn.name);
		v[k].bytes = fn.end - fn.entry;
		k++;
	}
	err = named_merge(v, k, 0, &r->go_packages, &r->ngo_packages);
	free(v);
	return err;
}

/* C text by .symtab function symbol (outside the Go functions). */
static int c_symbols(Elf *elf, const struct pclntab *tab,
		     struct audit_report *r)
{
	struct named_size *v = NULL;
	Elf_Scn *scn = NULL;
	size_t k = 0;
	int err;

	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *data;
		size_t count;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_SYMTAB ||
		    sh.sh_entsize == 0)
			continue;
		data = elf_getdata(scn, NULL);
		if (!data)
			continue;
		count = data->d_size / sh.sh_entsize;
		v = calloc(count ? count : 1, sizeof(*v));
		if (!v)
			return -ENOMEM;
		for (size_t i = 0; i < count; i++) {
			struct go_func fn;
			const char *name;
			GElf_Sym sym;

			if (!gelf_getsym(data, (int)i, &sym))
				break;
			if (GELF_ST_TYPE(sym.st_info) != STT_FUNC ||
			    sym.st_size == 0 || sym.st_shndx == SHN_UNDEF)
				continue;
			if (tab && !pclntab__find_func(tab, sym.st_value, &fn) &&
			    !c_in_pclntab(fn.name))
				continue;
			name = elf_strptr(elf, sh.sh_link, sym.st_name);
			if (!name || !*name)
				continue;
			v[k].name = name;
			v[k].len = strlen(name);
			v[k].bytes = sym.st_size;
			k++;
		}
		break;
	}
	err = named_merge(v, k, AUDIT_TOP_C_SYMBOLS, &r->c_symbols,
			  &r->nc_symbols);
	free(v);
	return err;
}

int audit__sizes(Elf *elf, uint64_t size, const struct pclntab *tab,
		 struct audit_report *r)
{
	uint64_t pos = 0, sum = 0, pcln_va = 0, pcln_size = 0;
	struct piece *p = NULL;
	size_t n = 0;
	int err;

	memset(r->parts, 0, sizeof(r->parts));
	err = pieces_collect(elf, &p, &n);
	if (err)
		return err;
	if (tab) {
		bool own = false;

		for (size_t i = 0; i < n; i++)
			own |= p[i].kind == PIECE_PCLNTAB;
		if (!own)
			pclntab__extent(tab, &pcln_va, &pcln_size);
	}
	for (size_t i = 0; i < n; i++) {
		uint64_t start = p[i].off, end;

		if (start >= size)
			continue;
		end = p[i].len > size - start ? size : start + p[i].len;
		if (start < pos)
			start = pos; /* overlaps the one before */
		if (end <= start)
			continue;
		parts_add(&p[i], end - start, p[i].vaddr + (start - p[i].off),
			  tab, pcln_va, pcln_size, r);
		pos = end;
	}
	free(p);
	for (int i = 0; i < AUDIT_PART__COUNT; i++)
		if (i != AUDIT_OTHER)
			sum += r->parts[i];
	r->parts[AUDIT_OTHER] = size - sum; /* other pieces, headers, gaps */
	if (tab) {
		err = go_packages(tab, r);
		if (err)
			return err;
	}
	return c_symbols(elf, tab, r);
}
