// SPDX-License-Identifier: MIT
/* The function-like DIEs that contain an address (the inlined instances,
 * then the subprogram), innermost first, as dwarf_getscopes() and then
 * dwarf_getscopes_die() find them, through an index of each compilation
 * unit's top-level DIEs built once.
 *
 * dwarf_getscopes() walks a unit's top-level DIEs for every address,
 * decoding each one's ranges to skip it: SQLite's amalgamation is one
 * unit of thousands of functions, and naming its addresses was a tenth
 * of a recording of a cgo program that calls it (dwarf_getscopes_die(),
 * which walks the unit again for each inlined instance, another 2%).
 * Here a unit's top-level DIEs with addresses are listed once, by
 * address; an address's DIE is found by a binary search, and the walk
 * goes down from it only: at each level the first child whose ranges hold
 * the address (dwarf_getscopes' first match: a DIE whose ranges do not
 * hold it is pruned), into the kinds of DIE it descends into, until none
 * holds it. The path found is the one libdw's walk records, and the
 * function-like DIEs on it are the ones libdw's two calls give.
 *
 * Units the index does not model are left to libdw: those that import
 * partial units (dwz), and those where a DIE's ranges cannot be read
 * (libdw's walk takes some of those errors for "no address" and fails on
 * the others). tests/unit/test_scopes.c compares the names both give
 * over libc, cgoprof's own code and the C of cgo binaries.
 *
 * The unit of an address is found the way dwfl_module_addrdie() finds
 * it, by .debug_aranges, but from the section read once: libdw's
 * dwarf_getaranges() allocates each of libc's 12 000 entries and looks up
 * its unit in a tree (7 ms before the first name in libc, a twentieth
 * of an attach to esbuild, whose shell and awk call libc). The section is
 * parsed with every check of libdw's, in its order, the entries sorted
 * as libdw sorts them and gathered into runs of one unit as libdwfl
 * gathers them, and searched with libdwfl's search, quirks included.
 * Where libdw would fail, or cannot be told (.zdebug, .dwo or LTO
 * sections), libdwfl is asked. The line of an address is then its unit's line table
 * searched as dwfl_module_getsrc() searches it (dwarf_getsrc_die()), so
 * libdwfl's ranges are never built. An address no .debug_aranges entry
 * holds is looked up in the units' own ranges, read once (obj_cus_load). */
#include <dwarf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <elfutils/libdwfl.h>

#include "cgoprof/arena.h"
#include "cgoprof/htab.h"
#include "elfobj_internal.h"

#define PATH_MAX_DEPTH 64

struct top_die {
	Dwarf_Addr lo, hi;	/* one of its ranges */
	Dwarf_Off off;		/* its offset: document order */
};

struct cu_scopes {
	Dwarf_Off cu_off;
	bool slow;		/* left to libdw */
	struct top_die *e;	/* by lo */
	Dwarf_Addr *reach;	/* reach[i]: the highest hi of e[0..i] */
	size_t n;
};

/* A run of .debug_aranges entries of one unit, in address order: the
 * addresses from its start to the next run's are that unit's (libdwfl's
 * struct dwfl_arange). */
struct arange_run {
	Dwarf_Addr start;
	Dwarf_Off die_off;	/* the unit's DIE */
	bool have_die;
	Dwarf_Die die;		/* dwarf_offdie()'s, once asked */
};

struct scope_index {
	struct cu_scopes *cus;	/* in the order first asked */
	size_t n, cap;
	struct htab by_off;	/* cu_off -> index in cus */
	/* units by address, read from .debug_aranges as libdw reads it */
	bool aranges_tried, aranges_ok;
	struct arange_run *runs;
	size_t nruns;
	Dwarf_Addr last_end;	/* the last entry's address + length */
	Dwarf *dw;
	Dwarf_Addr bias;	/* dwfl address - DWARF address */
};

void scope_index__free(struct scope_index *x)
{
	if (!x)
		return;
	for (size_t i = 0; i < x->n; i++) {
		free(x->cus[i].e);
		free(x->cus[i].reach);
	}
	free(x->cus);
	htab__release(&x->by_off);
	free(x->runs);
	free(x);
}

static struct scope_index *index_of(struct elf_obj *o)
{
	if (!o->scopes)
		o->scopes = calloc(1, sizeof(*o->scopes));
	return o->scopes;
}

/* ---- units by address ---- */

/* The data of @dw's section @name as libdw has it (it inflated what was
 * compressed when it opened them); *@absent when there is none. false:
 * what libdw reads cannot be told (.zdebug, .dwo or LTO sections, a
 * section still compressed). */
static bool debug_section(Dwarf *dw, const char *name, Elf_Data **out,
			  bool *absent)
{
	Elf *elf = dwarf_getelf(dw);
	Elf_Scn *scn = NULL;
	size_t shstrndx;

	*out = NULL;
	*absent = true;
	if (!elf || elf_getshdrstrndx(elf, &shstrndx))
		return false;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		const char *nm;

		if (!gelf_getshdr(scn, &sh) ||
		    !(nm = elf_strptr(elf, shstrndx, sh.sh_name)))
			return false;
		/* libdw's other names for its sections: GNU-compressed,
		 * split (.dwo) and LTO ones */
		if (!strncmp(nm, ".zdebug", 7) ||
		    !strncmp(nm, ".gnu.debuglto_", 14) ||
		    (strlen(nm) > 4 && !strcmp(nm + strlen(nm) - 4, ".dwo")))
			return false;
		if (strcmp(nm, name) || !*absent)
			continue;	/* libdw takes the first */
		if (sh.sh_type == SHT_NOBITS)
			continue;
		if (sh.sh_flags & SHF_COMPRESSED)
			return false;
		*out = elf_getdata(scn, NULL);
		if (!*out)
			return false;
		*absent = false;
	}
	return true;
}

struct unit_hdr {
	Dwarf_Off start, die_off;
};

struct arange_ent {
	Dwarf_Addr addr, len;	/* addr first: the sort's key */
	Dwarf_Off die_off;
};

static uint64_t rd(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	memcpy(&v, p, n);	/* little-endian: x86-64 only */
	return v;
}

/* The unit that holds offset @off (libdw's __libdw_findcu): its DIE's
 * offset, or 0. */
static Dwarf_Off unit_die_at(const struct unit_hdr *u, size_t n,
			     Dwarf_Off off, Dwarf_Off end)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (u[mid].start <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo || (lo < n ? off >= u[lo].start : off >= end))
		return 0;
	return u[lo - 1].die_off;
}

/* .debug_aranges parsed as elfutils 0.188's dwarf_getaranges() parses it
 * (every check of its, in its order), into @x's runs as libdwfl's
 * addrarange() makes them. false where libdw would fail, or where what
 * it does cannot be told: libdwfl's own lookup then. */
static bool aranges_build(struct scope_index *x, Dwarf *dw)
{
	Elf_Data *ar, *info;
	bool no_ar, no_info, ok = false;
	struct unit_hdr *u = NULL;
	struct arange_ent *e = NULL;
	size_t nu = 0, capu = 0, ne = 0, cape = 0, at = 0;
	Dwarf_Off off = 0, next;	/* off: then the end of the units */
	size_t hsize;
	int rc;

	if (!debug_section(dw, ".debug_aranges", &ar, &no_ar) ||
	    !debug_section(dw, ".debug_info", &info, &no_info) || no_info)
		return false;
	if (no_ar || !ar->d_size)
		return true;	/* no runs: nothing found, as libdwfl */
	/* the units, each header read (libdw interns them as it looks) */
	while ((rc = dwarf_next_unit(dw, off, &next, &hsize, NULL, NULL, NULL,
				     NULL, NULL, NULL)) == 0) {
		if (next <= off ||
		    array__grow((void **)&u, &capu, nu + 1, sizeof(*u), 256))
			goto out;
		u[nu++] = (struct unit_hdr){ off, off + hsize };
		off = next;
	}
	if (rc < 0)
		goto out;
	while (at < ar->d_size) {
		const uint8_t *b = ar->d_buf;
		size_t hdr = at, left, lb = 4, as;
		uint64_t len, uoff;
		Dwarf_Off die;

#define NEED(n) do { if (ar->d_size - at < (n)) goto out; } while (0)
		NEED(4);
		len = rd(b + at, 4);
		at += 4;
		if (len == 0xffffffffu) {
			NEED(8);
			len = rd(b + at, 8);
			at += 8;
			lb = 8;
		} else if (len >= 0xfffffff0u) {
			goto out;
		}
		NEED(2);
		if (rd(b + at, 2) != 2)
			goto out;
		at += 2;
		NEED(lb);
		uoff = rd(b + at, (unsigned)lb);
		at += lb;
		if (uoff > info->d_size || info->d_size - uoff < 4)
			goto out;
		NEED(2);
		as = b[at];
		if ((as != 4 && as != 8) || b[at + 1] != 0)
			goto out;
		at += 2;
		left = (2 * as - (at - hdr) % (2 * as)) % (2 * as);
		NEED(left);
		at += left;
		die = unit_die_at(u, nu, uoff, off);
		for (;;) {
			Dwarf_Addr a, l;

			NEED(as);
			a = rd(b + at, (unsigned)as);
			at += as;
			NEED(as);
			l = rd(b + at, (unsigned)as);
			at += as;
			if (!a && !l)
				break;
			/* libdwfl takes a unit DIE within 4 bytes of the end
			 * for the end of the units */
			if (!die || die + 4 >= info->d_size ||
			    array__grow((void **)&e, &cape, ne + 1, sizeof(*e),
					256))
				goto out;
			e[ne] = (struct arange_ent){ a, l, die };
			ne++;
		}
#undef NEED
		(void)len;
	}
	if (ne) {
		Dwarf_Off last = 0;

		/* by address, then in the order read (stable) */
		if (sort_by_u64_key(e, ne, sizeof(*e)))
			goto out;
		x->runs = calloc(ne, sizeof(*x->runs));
		if (!x->runs)
			goto out;
		for (size_t i = 0; i < ne; i++) {
			if (i && e[i].die_off == last)
				continue;
			x->runs[x->nruns++] = (struct arange_run){
				.start = e[i].addr, .die_off = e[i].die_off };
			last = e[i].die_off;
		}
		x->last_end = e[ne - 1].addr + e[ne - 1].len;
	}
	ok = true;
out:
	free(u);
	free(e);
	return ok;
}

/* libdwfl's addrarange(): the run of @x that DWARF address @a is in. */
static struct arange_run *run_at(struct scope_index *x, Dwarf_Addr a)
{
	size_t l = 0, u = x->nruns;

	while (l < u) {
		size_t idx = (l + u) / 2;
		Dwarf_Addr start = x->runs[idx].start;

		if (a < start) {
			u = idx;
			continue;
		}
		if (a > start) {
			if (idx + 1 < x->nruns) {
				if (a >= x->runs[idx + 1].start) {
					l = idx + 1;
					continue;
				}
			} else if (a > x->last_end) {
				break;
			}
		}
		return &x->runs[idx];
	}
	return NULL;
}

/* The unit whose .debug_aranges hold dwfl address @addr, as
 * dwfl_module_addrdie() finds it, and its bias; NULL: none. */
static Dwarf_Die *unit_by_aranges(struct elf_obj *o, Dwarf_Addr addr,
				  Dwarf_Addr *bias)
{
	struct scope_index *x = o->no_scope_index ? NULL : index_of(o);
	struct arange_run *r;

	if (x && !x->aranges_tried) {
		x->dw = dwfl_module_getdwarf(o->mod, &x->bias);
		x->aranges_tried = true;
		x->aranges_ok = x->dw && aranges_build(x, x->dw);
		if (!x->aranges_ok) {
			free(x->runs);
			x->runs = NULL;
			x->nruns = 0;
		}
	}
	if (!x || !x->aranges_ok) {
		o->units_asked++;
		return dwfl_module_addrdie(o->mod, addr, bias);
	}
	r = run_at(x, addr - x->bias);
	if (!r)
		return NULL;
	if (!r->have_die) {
		if (!dwarf_offdie(x->dw, r->die_off, &r->die))
			return NULL;
		r->have_die = true;
	}
	*bias = x->bias;
	return &r->die;
}

/* An address range of a compilation unit (dwfl addresses). */
struct obj_cu {
	Dwarf_Addr lo, hi;
	Dwarf_Addr bias;	/* dwfl address - CU address */
	Dwarf_Die die;
};

static int obj_cu_cmp(const void *a, const void *b)
{
	const struct obj_cu *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* Every CU's ranges, sorted: read once per object, when a lookup through
 * .debug_aranges fails. Go's linker writes .debug_aranges only for the
 * objects that had one, and clang writes none: its CUs (cgo code compiled
 * with CC=clang) are found only by their own ranges. */
static void obj_cus_load(struct elf_obj *o)
{
	Dwarf_Die *cu = NULL;
	Dwarf_Addr bias;
	size_t cap = 0;

	o->cus_tried = true;
	while ((cu = dwfl_module_nextcu(o->mod, cu, &bias))) {
		Dwarf_Addr base, lo, hi;
		ptrdiff_t off = 0;

		while ((off = dwarf_ranges(cu, off, &base, &lo, &hi)) > 0) {
			if (hi <= lo)
				continue;
			if (o->ncus == cap) {
				size_t ncap = cap ? 2 * cap : 64;
				struct obj_cu *n =
				    realloc(o->cus, ncap * sizeof(*n));

				if (!n)
					return;
				o->cus = n;
				cap = ncap;
			}
			o->cus[o->ncus++] = (struct obj_cu){
			    .lo = lo + bias, .hi = hi + bias, .bias = bias,
			    .die = *cu};
		}
	}
	if (o->ncus)
		qsort(o->cus, o->ncus, sizeof(*o->cus), obj_cu_cmp);
}

Dwarf_Die *obj_addrdie(struct elf_obj *o, Dwarf_Addr addr, Dwarf_Addr *bias,
		       bool *by_ranges)
{
	Dwarf_Die *cu = unit_by_aranges(o, addr, bias);
	size_t lo = 0, hi;

	*by_ranges = false;
	if (cu)
		return cu;
	*by_ranges = true;
	if (!o->cus_tried)
		obj_cus_load(o);
	/* last range starting at or below addr, then a few before it
	 * (ranges of different CUs may nest) */
	hi = o->ncus;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (o->cus[mid].lo <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; i > 0 && lo - i < 8; i--) {
		struct obj_cu *c = &o->cus[i - 1];

		if (addr >= c->lo && addr < c->hi) {
			*bias = c->bias;
			return &c->die;
		}
	}
	return NULL;
}

/* ---- inline chains ---- */

/* The tags whose children dwarf_getscopes() looks into (elfutils'
 * libdw_visit_scopes.c, may_have_scopes). */
static bool may_have_scopes(Dwarf_Die *die)
{
	switch (dwarf_tag(die)) {
	case DW_TAG_compile_unit:
	case DW_TAG_module:
	case DW_TAG_lexical_block:
	case DW_TAG_with_stmt:
	case DW_TAG_catch_block:
	case DW_TAG_try_block:
	case DW_TAG_entry_point:
	case DW_TAG_inlined_subroutine:
	case DW_TAG_subprogram:
	case DW_TAG_namespace:
	case DW_TAG_class_type:
	case DW_TAG_structure_type:
		return true;
	default:
		return false;
	}
}

static int top_cmp(const void *a, const void *b)
{
	const struct top_die *x = a, *y = b;

	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	return x->off < y->off ? -1 : x->off > y->off;
}

static bool add_top(struct cu_scopes *s, size_t *cap, Dwarf_Addr lo,
		    Dwarf_Addr hi, Dwarf_Off off)
{
	if (array__grow((void **)&s->e, cap, s->n + 1, sizeof(*s->e), 64))
		return false;
	s->e[s->n++] = (struct top_die){ lo, hi, off };
	return true;
}

/* Lists @cu's top-level DIEs with addresses; s->slow where libdw's walk
 * would meet what the index does not model. */
static void build(struct cu_scopes *s, Dwarf_Die *cu)
{
	Dwarf_Die child;
	size_t cap = 0;
	int rc = dwarf_child(cu, &child);

	if (rc < 0)
		s->slow = true;
	while (rc == 0 && !s->slow) {
		Dwarf_Addr base, lo, hi;
		ptrdiff_t off = 0;

		if (dwarf_tag(&child) == DW_TAG_imported_unit) {
			s->slow = true;
			break;
		}
		while ((off = dwarf_ranges(&child, off, &base, &lo, &hi)) > 0)
			if (lo < hi &&
			    !add_top(s, &cap, lo, hi, dwarf_dieoffset(&child)))
				s->slow = true;
		/* libdw's walk takes some errors for "no address" and fails
		 * on others: libdw tells */
		if (off < 0)
			s->slow = true;
		rc = dwarf_siblingof(&child, &child);
	}
	if (rc < 0)
		s->slow = true;
	if (s->slow || !s->n)
		return;
	qsort(s->e, s->n, sizeof(*s->e), top_cmp);
	s->reach = malloc(s->n * sizeof(*s->reach));
	if (!s->reach) {
		s->slow = true;
		return;
	}
	for (size_t i = 0; i < s->n; i++)
		s->reach[i] = i && s->reach[i - 1] > s->e[i].hi ? s->reach[i - 1]
								 : s->e[i].hi;
}

static uint32_t off_hash(Dwarf_Off off)
{
	return (uint32_t)htab__mix64(off);
}

static bool off_eq(const void *ctx, uint32_t idx, const void *key)
{
	const struct scope_index *x = ctx;

	return x->cus[idx].cu_off == *(const Dwarf_Off *)key;
}

/* @cu's index, built on first need; NULL: out of memory. */
static struct cu_scopes *cu_scopes_of(struct elf_obj *o, Dwarf_Die *cu)
{
	struct scope_index *x = o->scopes;
	Dwarf_Off off = dwarf_dieoffset(cu);
	struct cu_scopes *s;
	uint32_t idx;

	if (!x && !(x = index_of(o)))
		return NULL;
	idx = htab__find(&x->by_off, off_hash(off), off_eq, x, &off);
	if (idx != HTAB_NONE)
		return &x->cus[idx];
	if (array__grow((void **)&x->cus, &x->cap, x->n + 1, sizeof(*x->cus),
			16) ||
	    htab__insert(&x->by_off, off_hash(off), (uint32_t)x->n))
		return NULL;
	s = &x->cus[x->n++];
	*s = (struct cu_scopes){ .cu_off = off };
	build(s, cu);
	return s;
}

/* The first top-level DIE (in document order) whose ranges hold @addr:
 * its offset, or 0. */
static Dwarf_Off top_at(const struct cu_scopes *s, Dwarf_Addr addr)
{
	size_t lo = 0, hi = s->n;
	Dwarf_Off best = 0;

	while (lo < hi) {	/* the first entry starting above addr */
		size_t mid = lo + (hi - lo) / 2;

		if (s->e[mid].lo <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; i > 0 && s->reach[i - 1] > addr; i--) {
		const struct top_die *e = &s->e[i - 1];

		if (addr < e->hi && (!best || e->off < best))
			best = e->off;
	}
	return best;
}

/* The path of DIEs holding @addr down from top-level DIE @off, into
 * @path: its length, or -ENOTSUP where libdw's walk is needed. */
static int descend(Dwarf_Die *cu, Dwarf_Off off, Dwarf_Addr addr,
		   Dwarf_Die *path)
{
	int n = 0;

	if (!dwarf_offdie(dwarf_cu_getdwarf(cu->cu), off, &path[0]))
		return -ENOTSUP;
	n = 1;
	while (may_have_scopes(&path[n - 1])) {
		Dwarf_Die child;
		int rc = dwarf_child(&path[n - 1], &child), in = 0;

		while (rc == 0) {
			if (dwarf_tag(&child) == DW_TAG_imported_unit)
				return -ENOTSUP;
			in = dwarf_haspc(&child, addr);
			if (in < 0)
				return -ENOTSUP;
			if (in > 0)
				break;
			rc = dwarf_siblingof(&child, &child);
		}
		if (rc < 0)
			return -ENOTSUP;
		if (in <= 0)
			break;
		if (n == PATH_MAX_DEPTH)
			return -ENOTSUP;
		path[n++] = child;
	}
	return n;
}

static bool function_like(Dwarf_Die *die)
{
	int tag = dwarf_tag(die);

	return tag == DW_TAG_inlined_subroutine || tag == DW_TAG_subprogram;
}

/* libdw's answer: dwarf_getscopes(), then dwarf_getscopes_die() for each
 * inlined instance's caller. */
static int chain_libdw(Dwarf_Die *cu, Dwarf_Addr addr, Dwarf_Die *chain,
		       int max)
{
	Dwarf_Die *scopes = NULL;
	int nscopes = dwarf_getscopes(cu, addr, &scopes), n = 0;
	bool have = false;

	for (int i = 0; i < nscopes && !have; i++)
		if ((have = function_like(&scopes[i])))
			chain[n++] = scopes[i];
	free(scopes);
	while (have && n < max &&
	       dwarf_tag(&chain[n - 1]) != DW_TAG_subprogram) {
		Dwarf_Die *outer = NULL;
		int nouter = dwarf_getscopes_die(&chain[n - 1], &outer);

		have = false;
		/* [0] is the DIE itself */
		for (int i = 1; i < nouter && !have; i++)
			if ((have = function_like(&outer[i])))
				chain[n++] = outer[i];
		free(outer);
	}
	return n;
}

int obj_func_chain(struct elf_obj *o, Dwarf_Die *cu, Dwarf_Addr addr,
		   Dwarf_Die *chain, int max)
{
	Dwarf_Die path[PATH_MAX_DEPTH];
	struct cu_scopes *s;
	Dwarf_Off top;
	int depth, n = 0;

	if (max <= 0)
		return 0;
	s = o->no_scope_index ? NULL : cu_scopes_of(o, cu);
	if (!s || s->slow) {
		o->scopes_asked++;
		return chain_libdw(cu, addr, chain, max);
	}
	top = s->n ? top_at(s, addr) : 0;
	if (!top)
		return 0;
	depth = descend(cu, top, addr, path);
	if (depth < 0) {
		o->scopes_asked++;
		return chain_libdw(cu, addr, chain, max);
	}
	/* innermost first, up to the subprogram */
	for (int i = depth - 1; i >= 0 && n < max; i--) {
		if (!function_like(&path[i]))
			continue;
		chain[n++] = path[i];
		if (dwarf_tag(&path[i]) == DW_TAG_subprogram)
			break;
	}
	return n;
}
