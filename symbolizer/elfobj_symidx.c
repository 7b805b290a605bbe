// SPDX-License-Identifier: MIT
/* The ELF symbol covering an address, as dwfl_module_addrinfo() chooses
 * it, through an index built once per object.
 *
 * libdwfl looks at every symbol of the module for each address (elfutils'
 * libdwfl/dwfl_module_addrsym.c): a few microseconds in a library's
 * .dynsym, tens in libc's, and the whole of symbolizing a C frame when
 * the object has no DWARF. Here the symbols libdwfl would consider and
 * that have a size are sorted by address, each table apart (libdwfl
 * searches the global symbols first, and the locals only when no global
 * fits). For an address, the sized symbols that contain it are found by
 * a binary search and a walk back that stops where no earlier symbol
 * reaches the address; libdwfl's rule (closest start, then binding, then
 * size, else the first in table order) is then applied to them alone, in
 * table order, so the result is the symbol libdwfl returns. Where no
 * sized symbol contains the address (assembly labels without a size, or
 * nothing), libdwfl's choice depends on the sizeless symbols and on
 * section bounds: libdwfl is asked. tests/unit/test_symidx.c compares
 * the two over every few bytes of real libraries. */
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cgoprof/elfobj.h"
#include "elfobj_internal.h"

struct sym_ent {
	uint64_t value, end;	/* dwfl addresses: [value, end) */
	uint32_t ndx;		/* in libdwfl's table: its order */
};

struct sym_table {
	struct sym_ent *e;	/* sized, by value */
	uint64_t *reach;	/* reach[i]: the highest end of e[0..i] */
	size_t n;
	uint64_t *sizeless;	/* the values of those without a size, sorted */
	size_t nsizeless;
};

struct sym_index {
	struct sym_table global, local;
	int first_global;
};

void sym_index__free(struct sym_index *x)
{
	if (!x)
		return;
	free(x->global.e);
	free(x->global.reach);
	free(x->global.sizeless);
	free(x->local.e);
	free(x->local.reach);
	free(x->local.sizeless);
	free(x);
}

int sort_by_u64_key(void *base, size_t n, size_t size)
{
	size_t (*count)[256];
	unsigned char *src = base, *dst, *tmp;
	uint64_t first;

	if (n < 2)
		return 0;
	count = calloc(8, sizeof(*count));
	tmp = malloc(n * size);
	if (!count || !tmp) {
		free(count);
		free(tmp);
		return -ENOMEM;
	}
	memcpy(&first, src, sizeof(first));
	for (size_t i = 0; i < n; i++) {
		uint64_t key;

		memcpy(&key, src + i * size, sizeof(key));
		for (int d = 0; d < 8; d++)
			count[d][(key >> (8 * d)) & 0xff]++;
	}
	dst = tmp;
	/* least significant byte first; a byte all keys share moves nothing
	 * (a library's addresses differ in their low three or four) */
	for (int d = 0; d < 8; d++) {
		size_t at = 0;

		if (count[d][(first >> (8 * d)) & 0xff] == n)
			continue;
		for (int b = 0; b < 256; b++) {
			size_t c = count[d][b];

			count[d][b] = at;
			at += c;
		}
		for (size_t i = 0; i < n; i++) {
			uint64_t key;

			memcpy(&key, src + i * size, sizeof(key));
			memcpy(dst + count[d][(key >> (8 * d)) & 0xff]++ * size,
			       src + i * size, size);
		}
		dst = src;
		src = src == base ? tmp : base;
	}
	if (src != base)
		memcpy(base, src, n * size);
	free(tmp);
	free(count);
	return 0;
}

/* What libdwfl's search_table() considers at all. */
static bool eligible(const char *name, const GElf_Sym *sym)
{
	int type = GELF_ST_TYPE(sym->st_info);

	return name && name[0] && sym->st_shndx != SHN_UNDEF &&
	       type != STT_SECTION && type != STT_FILE && type != STT_TLS;
}

static int table_finish(struct sym_table *t)
{
	uint64_t reach = 0;

	/* by value; of one value, in table order (the order they were
	 * added in), as libdwfl's rule needs */
	if (sort_by_u64_key(t->sizeless, t->nsizeless, sizeof(*t->sizeless)))
		return -ENOMEM;
	if (!t->n)
		return 0;
	if (sort_by_u64_key(t->e, t->n, sizeof(*t->e)))
		return -ENOMEM;
	t->reach = malloc(t->n * sizeof(*t->reach));
	if (!t->reach)
		return -ENOMEM;
	for (size_t i = 0; i < t->n; i++) {
		if (t->e[i].end > reach)
			reach = t->e[i].end;
		t->reach[i] = reach;
	}
	return 0;
}

static struct sym_index *index_build(Dwfl_Module *mod)
{
	int n = dwfl_module_getsymtab(mod);
	int first_global = dwfl_module_getsymtab_first_global(mod);
	struct sym_index *x;
	size_t cap;

	if (n < 0 || first_global < 0)
		return NULL;
	x = calloc(1, sizeof(*x));
	cap = (size_t)n + 1;
	if (!x || !(x->global.e = malloc(cap * sizeof(*x->global.e))) ||
	    !(x->local.e = malloc(cap * sizeof(*x->local.e))) ||
	    !(x->global.sizeless = malloc(cap * sizeof(uint64_t))) ||
	    !(x->local.sizeless = malloc(cap * sizeof(uint64_t))))
		goto fail;
	x->first_global = first_global;
	for (int i = 1; i < n; i++) {
		bool global = first_global == 0 || i >= first_global;
		struct sym_table *t = global ? &x->global : &x->local;
		GElf_Addr value;
		GElf_Sym sym;
		const char *name = dwfl_module_getsym_info(mod, i, &sym, &value,
							   NULL, NULL, NULL);

		if (!eligible(name, &sym))
			continue;
		if (!sym.st_size) {
			t->sizeless[t->nsizeless++] = value;
			continue;
		}
		/* libdwfl's test is addr - value < st_size: one that
		 * wraps contains every address from its start */
		t->e[t->n++] = (struct sym_ent){
			.value = value,
			.end = value + sym.st_size < value ? UINT64_MAX
							   : value + sym.st_size,
			.ndx = (uint32_t)i };
	}
	if (table_finish(&x->global) || table_finish(&x->local))
		goto fail;
	return x;
fail:
	sym_index__free(x);
	return NULL;
}

static int binding_value(const GElf_Sym *s)
{
	switch (GELF_ST_BIND(s->st_info)) {
	case STB_GLOBAL:
		return 3;
	case STB_WEAK:
		return 2;
	case STB_LOCAL:
		return 1;
	default:
		return 0;
	}
}

static int ndx_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* How many of @t's sized symbols start at or below @addr (a prefix). */
static size_t ents_le(const struct sym_table *t, uint64_t addr)
{
	size_t lo = 0, hi = t->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (t->e[mid].value <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* libdwfl's choice among the sized symbols of @t that contain @addr; NULL
 * when none does. */
static const char *table_lookup(Dwfl_Module *mod, const struct sym_table *t,
				uint64_t addr, uint64_t *value, GElf_Sym *best)
{
	uint32_t hits[64];
	size_t nhits = 0;
	const char *name = NULL;

	for (size_t i = ents_le(t, addr); i > 0 && t->reach[i - 1] > addr; i--) {
		if (t->e[i - 1].end <= addr)
			continue;
		if (nhits == sizeof(hits) / sizeof(hits[0]))
			return (const char *)-1;	/* libdwfl decides */
		hits[nhits++] = t->e[i - 1].ndx;
	}
	if (!nhits)
		return NULL;
	qsort(hits, nhits, sizeof(hits[0]), ndx_cmp);
	/* try_sym_value() for sized symbols containing addr */
	for (size_t k = 0; k < nhits; k++) {
		GElf_Addr v;
		GElf_Sym s;
		const char *nm = dwfl_module_getsym_info(mod, (int)hits[k], &s,
							 &v, NULL, NULL, NULL);

		if (!nm)
			continue;
		if (!name || *value < v ||
		    binding_value(best) < binding_value(&s) ||
		    (*value == v &&
		     ((best->st_size > s.st_size &&
		       binding_value(best) <= binding_value(&s)) ||
		      (best->st_size >= s.st_size &&
		       binding_value(best) < binding_value(&s))))) {
			*best = s;
			*value = v;
			name = nm;
		}
	}
	return name;
}

/* How many of the sorted @v[0..@n) are at most @addr. */
static size_t count_le(const uint64_t *v, size_t n, uint64_t addr)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v[mid] <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static bool sizeless_at(const struct sym_table *t, uint64_t addr)
{
	size_t k = count_le(t->sizeless, t->nsizeless, addr);

	return k && t->sizeless[k - 1] == addr;
}

/* The highest end (value + size) of @t's symbols that start at or below
 * @addr: libdwfl's min_label after its search of @t. */
static uint64_t table_reach(const struct sym_table *t, uint64_t addr)
{
	size_t lo = ents_le(t, addr), k;
	uint64_t m = lo ? t->reach[lo - 1] : 0;

	k = count_le(t->sizeless, t->nsizeless, addr);
	if (k && t->sizeless[k - 1] > m)
		m = t->sizeless[k - 1];
	return m;
}

const char *elf_obj__addrsym(struct elf_obj *o, uint64_t addr, uint64_t *off,
			     GElf_Sym *sym)
{
	const struct sym_index *x;
	const char *name;
	uint64_t value = 0, label;
	bool locals;

	/* libdwfl hands out names from a dynamic string table without its
	 * NUL unbounded: none are read from it */
	if (obj_dwfl(o) || o->dynstr_bad)
		return NULL;
	if (!o->syms_tried) {
		o->syms_tried = true;
		o->syms = index_build(o->mod);
	}
	if (!(x = o->syms))
		goto ask;
	name = table_lookup(o->mod, &x->global, addr, &value, sym);
	if (name == (const char *)-1)
		goto ask;
	/* libdwfl searches the locals when no global contains addr, unless
	 * a global without a size starts there */
	locals = !name && x->first_global > 1 &&
		 !sizeless_at(&x->global, addr);
	if (locals) {
		name = table_lookup(o->mod, &x->local, addr, &value, sym);
		if (name == (const char *)-1)
			goto ask;
	}
	if (name) {
		*off = addr - value;
		return name;
	}
	/* No sized symbol contains addr. libdwfl then takes a symbol without
	 * a size, but only one that starts at or past the end of every
	 * symbol it looked at (min_label): at none unless one starts exactly
	 * there. */
	label = table_reach(&x->global, addr);
	if (locals && table_reach(&x->local, addr) > label)
		label = table_reach(&x->local, addr);
	if (!sizeless_at(&x->global, label) &&
	    !(locals && sizeless_at(&x->local, label)))
		return NULL;
ask:
	o->syms_asked++;
	return dwfl_module_addrinfo(o->mod, addr, off, sym, NULL, NULL, NULL);
}
