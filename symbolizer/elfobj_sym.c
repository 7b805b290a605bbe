// SPDX-License-Identifier: MIT
/* Names for addresses of a cached ELF object: Go's from its pclntab, C's
 * from DWARF (with inline frames and source lines), .symtab, .dynsym and
 * the debug files libdwfl finds; the vdso's from its own symbol table. */
#include <dwarf.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cgoprof/elfobj.h"
#include "cgoprof/log.h"
#include "elfobj_internal.h"

static const char *die_name(Dwarf_Die *die)
{
	Dwarf_Attribute attr;
	const char *name;

	name = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_linkage_name,
						     &attr));
	if (!name)
		name = dwarf_formstring(dwarf_attr_integrate(
			die, DW_AT_MIPS_linkage_name, &attr));
	if (!name)
		name = dwarf_diename(die);
	if (!name)
		name = dwarf_formstring(
			dwarf_attr_integrate(die, DW_AT_name, &attr));
	return name;
}

static char *xstrdup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static int symbolize_go(struct elf_obj *o, uint64_t pc, struct sym_frame *fr,
			int max)
{
	struct go_frame gf[32];
	struct go_func fn;
	int n;

	if (pclntab__find_func(o->go, pc, &fn))
		return 0;
	n = pclntab__frames(o->go, &fn, pc, gf, max < 32 ? max : 32);
	if (n <= 0) {
		fr[0] = (struct sym_frame){ .name = strdup(fn.name) };
		fr[0].kind = frame_kind__classify(fn.name, o->cls, true);
		return fr[0].name ? 1 : -ENOMEM;
	}
	for (int i = 0; i < n; i++) {
		fr[i].name = strdup(gf[i].name);
		fr[i].file = xstrdup_or_null(gf[i].file);
		fr[i].line = gf[i].line;
		fr[i].inlined = gf[i].inlined;
		fr[i].kind = frame_kind__classify(gf[i].name, o->cls, true);
	}
	return n;
}

/* Whether @o's DWARF may be read: libdw would open some files itself
 * (dwz, .dwo) where cgoprof cannot check them (elfobj_safe.c). */
static bool obj_dwarf_ok(struct elf_obj *o)
{
	if (!o->dwarf_tried) {
		Dwarf_Addr bias;
		Dwarf *dw = dwfl_module_getdwarf(o->mod, &bias);

		o->dwarf_tried = true;
		o->dwarf_ok = dw && dwarf_safe(o, dw);
	}
	return o->dwarf_ok;
}

/* The ELF symbol covering @addr (a dwfl address), without version suffix. */
static const char *elf_symbol(struct elf_obj *o, Dwarf_Addr addr)
{
	GElf_Off off;
	GElf_Sym sym;
	const char *name;

	if (o->dynstr_bad)
		return NULL;
	name = elf_obj__addrsym(o, addr, &off, &sym);
	if (!name || !*name)
		return NULL;
	/* a symbol with a size must cover the address */
	if (sym.st_size && off >= sym.st_size)
		return NULL;
	return name;
}

int elf_obj__func_range(struct elf_obj *o, uint64_t vaddr, uint64_t *start,
			uint64_t *size)
{
	GElf_Off off;
	GElf_Sym sym;
	const char *name;

	if (obj_dwfl(o) || o->dynstr_bad)
		return -ENOENT;
	name = elf_obj__addrsym(o, vaddr + o->mod_bias, &off, &sym);
	if (!name || GELF_ST_TYPE(sym.st_info) != STT_FUNC || !sym.st_size ||
	    off >= sym.st_size || off > vaddr)
		return -ENOENT;
	*start = vaddr - off;
	*size = sym.st_size;
	return 0;
}

/* Copies @name without a symbol version ("memcpy@@GLIBC_2.14"). */
static char *strdup_unversioned(const char *name)
{
	const char *at = strchr(name, '@');

	return at && at != name ? strndup(name, (size_t)(at - name))
				: strdup(name);
}

int elf_obj__symbolize(struct elf_obj *o, uint64_t vaddr, bool is_leaf,
		       struct sym_frame *fr, int max)
{
	uint64_t pc = is_leaf ? vaddr : vaddr - 1;
	Dwarf_Addr addr, cu_bias;
	Dwarf_Die *cu, chain[32];
	const char *sym, *file = NULL;
	int nchain, n = 0, lineno = 0;
	bool by_ranges = false;

	if (max <= 0)
		return 0;
	if (elf_obj__is_go_pc(o, pc)) {
		n = symbolize_go(o, pc, fr, max);
		if (n)
			return n;
	}
	if (o->image) {
		/* vdso: its own symbol table through libelf */
		if (obj_dwfl(o) == -ENODATA && !o->mod) {
			uint32_t types = 1u << SHT_DYNSYM | 1u << SHT_SYMTAB;
			Elf_Scn *scn = NULL;
			const char *best = NULL;
			uint64_t best_val = 0;
			GElf_Shdr sh;
			Elf_Data *d;

			while ((d = elf__next_table(o->elf, &scn, &sh, types,
						    0))) {
				size_t nsym = sh.sh_size / sh.sh_entsize;

				for (size_t i = 0; i < nsym; i++) {
					GElf_Sym s;

					if (!gelf_getsym(d, (int)i, &s) ||
					    GELF_ST_TYPE(s.st_info) != STT_FUNC)
						continue;
					if (s.st_value <= pc &&
					    pc < s.st_value + (s.st_size ? s.st_size : 1) &&
					    s.st_value >= best_val) {
						best = elf_strptr(o->elf, sh.sh_link, s.st_name);
						best_val = s.st_value;
					}
				}
			}
			if (!best)
				return 0;
			fr[0] = (struct sym_frame){ .name = strdup(best),
						    .kind = FRAME_KIND_VDSO };
			return fr[0].name ? 1 : -ENOMEM;
		}
	}
	if (obj_dwfl(o))
		return 0;
	addr = pc + o->mod_bias;
	sym = elf_symbol(o, addr);

	cu = obj_dwarf_ok(o) ? obj_addrdie(o, addr, &cu_bias, &by_ranges)
			     : NULL;
	if (cu) {
		/* the unit's line table, searched as dwfl_module_getsrc()
		 * searches it (the same search as dwarf_getsrc_die's); its
		 * line as dwfl_lineinfo() gives it, even without a file. A
		 * unit found by its own ranges: a line only with its file. */
		Dwarf_Line *dl = dwarf_getsrc_die(cu, addr - cu_bias);
		int ln = 0;

		if (dl && !dwarf_lineno(dl, &ln) && !by_ranges)
			lineno = ln;
		if (dl && (file = dwarf_linesrc(dl, NULL, NULL)))
			lineno = ln;
	}
	nchain = cu ? obj_func_chain(o, cu, addr - cu_bias, chain,
					 max < 32 ? max : 32) : 0;
	/* innermost first: each inlined instance is called from the next
	 * DIE of the chain, at its call site (DW_AT_call_file/line) */
	for (int i = 0; i < nchain; i++) {
		Dwarf_Die *die = &chain[i];
		Dwarf_Attribute attr;
		Dwarf_Word call_file = 0, call_line = 0;
		Dwarf_Files *files;
		const char *name = die_name(die);
		size_t nfiles;

		if (dwarf_tag(die) == DW_TAG_subprogram) {
			/* the outermost: the ELF symbol, as perf */
			fr[n].name = strdup_unversioned(sym ? sym : name ? name : "??");
			fr[n].file = xstrdup_or_null(file);
			fr[n].line = (uint32_t)lineno;
			fr[n].inlined = false;
			n++;
			break;
		}
		fr[n].name = strdup(name ? name : "??");
		fr[n].file = xstrdup_or_null(file);
		fr[n].line = (uint32_t)lineno;
		fr[n].inlined = true;
		n++;
		dwarf_formudata(dwarf_attr(die, DW_AT_call_file, &attr),
				&call_file);
		dwarf_formudata(dwarf_attr(die, DW_AT_call_line, &attr),
				&call_line);
		file = NULL;
		if (call_file && !dwarf_getsrcfiles(cu, &files, &nfiles) &&
		    call_file < nfiles)
			file = dwarf_filesrc(files, call_file, NULL, NULL);
		lineno = (int)call_line;
	}
	if (!n && sym) {
		fr[0] = (struct sym_frame){ .name = strdup_unversioned(sym),
					    .file = xstrdup_or_null(file),
					    .line = (uint32_t)lineno };
		n = 1;
	}
	for (int i = 0; i < n; i++) {
		if (!fr[i].name)
			return -ENOMEM;
		fr[i].kind = frame_kind__classify(fr[i].name, o->cls, false);
	}
	return n;
}
